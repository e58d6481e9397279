/* drover-gcode-scan.c: is a file G-code, and is it safe to print?
 *
 * One pass over the bytes, in chunks of any size, without holding the file:
 * a print job can be gigabytes, and a farm checks every job before it
 * reaches a printer. The 2024 Anycubic incident put a text file named
 * `hacked_machine_readme.gcode` onto thousands of printers; this scanner
 * says such a file is not G-code, and names the commands a print job has
 * no business sending (see DroverGcodeFindingKind for the list).
 *
 * Speed matters as much as the checks (bench/scan.c): lines are parsed in
 * place in the caller's buffer, numbers are read by hand instead of with
 * strtod(), and nothing is allocated per line. Only a line that spans two
 * chunks is copied, and only its first 64 KiB: a longer line is flagged and
 * the rest of it skipped, whatever the chunking, so that feeding a file one
 * byte at a time gives the same report as feeding it whole.
 *
 * Lines end with "\n", "\r\n" or a lone "\r", as firmware reads them: a
 * file with only carriage returns must not hide its commands in one long
 * line.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-gcode-scan"

/* memrchr() */
#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

/* SSE2 is part of x86-64: with it, most lines are parsed without a
 * branch per byte (parse_simple_line()); elsewhere every line takes the
 * byte by byte path, which gives the same results. */
#if defined(__SSE2__)
# include <emmintrin.h>
# define HAVE_SIMPLE_LINES 1
#endif

#include "drover-gcode-scan.h"

/* Longer lines are flagged and only this much of them is read. Firmware
 * line buffers hold 96 (Marlin) to a few hundred bytes; slicers write
 * thumbnails in lines of under 100. */
#define MAX_LINE          (64 * 1024)
#define READ_SIZE         (1024 * 1024)
#define COMMAND_TEXT_MAX  80
#define SNIPPET_MAX       60
#define ACTION_TEXT_MAX   40
/* How far past the start of a line parse_simple_line() reads. */
#define SIMPLE_READ_AHEAD 80
/* A line of up to MAX_LINE bytes, its terminator, and what
 * parse_simple_line() reads past it. */
#define CARRY_SIZE        (MAX_LINE + 1 + SIMPLE_READ_AHEAD)
/* How far outside the volume a move may end from rounding alone. */
#define VOLUME_TOLERANCE  0.001
/* How much the height must change between extruding moves to count as a
 * new layer, when the file has no layer comments. */
#define LAYER_TOLERANCE   0.0001

enum
{
  CLASS_OTHER  = 0,
  CLASS_LETTER = 1 << 0,
  CLASS_DIGIT  = 1 << 1,
  CLASS_SPACE  = 1 << 2,
  CLASS_EOL    = 1 << 3,
  CLASS_ODD    = 1 << 4,  /* a control byte or not ASCII: the line is checked closely */
};

static const guint8 byte_class[256] = {
  [0x00 ... 0x08] = CLASS_ODD,
  ['\t'] = CLASS_SPACE,
  ['\n'] = CLASS_EOL,
  [0x0b ... 0x0c] = CLASS_ODD,
  ['\r'] = CLASS_EOL,
  [0x0e ... 0x1f] = CLASS_ODD,
  [' '] = CLASS_SPACE,
  ['0' ... '9'] = CLASS_DIGIT,
  ['A' ... 'Z'] = CLASS_LETTER,
  ['a' ... 'z'] = CLASS_LETTER,
  [0x7f ... 0xff] = CLASS_ODD,
};

static const double powers_of_ten[] = {
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
  1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
};

#define LETTER_BIT(c) (1u << ((c) - 'A'))

typedef enum
{
  LINE_BLANK,
  LINE_COMMENT,
  LINE_COMMAND,
  LINE_WORDS,     /* parameters without a command, as "X10 Y5": G-code, but does nothing */
  LINE_PROSE,
} LineKind;

/* One line as parsed, before it changes anything: a line found too long
 * after parsing is parsed again from its first 64 KiB. The pointers point
 * into the line's bytes, which end with a terminator. */
typedef struct
{
  LineKind      kind;
  gboolean      odd;        /* holds control or non-ASCII bytes */
  char          letter;     /* 'G', 'M', 'T'; 'K' for a Klipper command */
  guint         code;
  const guint8 *text;       /* the command, from its letter */
  const guint8 *text_end;   /* before checksum and comment */
  const guint8 *args;       /* after the code or a Klipper command's name */
  const guint8 *comment;    /* after ';', or NULL */
  const guint8 *end;        /* the terminator */
  guint32       present;    /* letters given, with or without a value */
  guint32       valued;     /* letters given with a number */
  double        values[26];
} Line;

typedef struct
{
  DroverGcodeFindingKind  kind;
  char                    key[24];
  guint64                 line;
  guint64                 count;
  char                   *command;
  char                   *detail;
  double                  value;
  double                  limit;
  int                     tool;
  int                     axis;
  gboolean                dangerous;
} Record;

enum
{
  LAYER_COMMENT_CURA,       /* ;LAYER:3 */
  LAYER_COMMENT_PRUSA,      /* ;LAYER_CHANGE (PrusaSlicer, OrcaSlicer, SuperSlicer) */
  LAYER_COMMENT_BAMBU,      /* ; CHANGE_LAYER (Bambu Studio) */
  N_LAYER_COMMENTS
};

struct _DroverGcodeScan
{
  DroverGcodeLimits  limits;

  /* Reading lines */
  guint8            *carry;         /* a line that spans chunks, CARRY_SIZE bytes */
  gsize              carry_len;
  gboolean           skipping;      /* past the first 64 KiB of a long line */
  gboolean           pending_cr;    /* the last chunk ended with "\r": a "\n" next is its pair */
  gboolean           finished;
  guint64            line_number;   /* of the line being read, from 1 */
  guint8             head[4];
  gsize              head_len;

  /* What the file is */
  guint64            bytes;
  guint64            lines;
  guint64            commands;
  guint64            comment_lines;
  guint64            word_lines;
  guint64            prose_lines;
  guint64            text_lines;    /* lines that are not blank */
  guint64            nul_bytes;
  guint64            control_bytes;
  guint64            first_nul_line;
  guint64            first_prose_line;
  char              *first_prose;
  guint64            layer_comments[N_LAYER_COMMENTS];

  /* The printer as the file drives it */
  double             position[3];   /* in the printer's coordinates */
  double             offset[3];     /* G92: the printer's coordinates minus the file's */
  double             extruder;      /* E as the file counts it */
  gboolean           relative;
  gboolean           extruder_relative;
  double             filament;
  guint64            height_layers;
  double             last_extruding_z;
  gboolean           volume_checked;
  gboolean           bounds_valid;
  double             min[3];
  double             max[3];
  double             max_hotend_seen;
  double             max_bed_seen;

  GPtrArray         *records;       /* Record, in order of first line */
};

static void
record_free (Record *record)
{
  g_free (record->command);
  g_free (record->detail);
  g_free (record);
}

static void
finding_free (DroverGcodeFinding *finding)
{
  g_free (finding->command);
  g_free (finding->reason);
  g_free (finding);
}

/**
 * drover_gcode_limits_init_default:
 * @limits: (out caller-allocates): the limits to fill
 *
 * Sets limits any common printer can take: hotends up to 300 °C, beds up to
 * 120 °C, and no build volume (moves are not checked).
 */
void
drover_gcode_limits_init_default (DroverGcodeLimits *limits)
{
  g_return_if_fail (limits != NULL);

  limits->max_hotend = 300;
  limits->max_bed = 120;
  limits->volume_x = 0;
  limits->volume_y = 0;
  limits->volume_z = 0;
}

/**
 * drover_gcode_verdict_to_string:
 *
 * Returns: the verdict's name in JSON: "gcode", "empty", "not-gcode" or
 *   "binary"
 */
const char *
drover_gcode_verdict_to_string (DroverGcodeVerdict verdict)
{
  switch (verdict)
    {
    case DROVER_GCODE_VERDICT_GCODE:
      return "gcode";
    case DROVER_GCODE_VERDICT_EMPTY:
      return "empty";
    case DROVER_GCODE_VERDICT_NOT_GCODE:
      return "not-gcode";
    case DROVER_GCODE_VERDICT_BINARY:
      return "binary";
    default:
      g_return_val_if_reached (NULL);
    }
}

/**
 * drover_gcode_finding_kind_to_string:
 *
 * Returns: the kind's name in JSON, as "eeprom" or "hotend-limit"
 */
const char *
drover_gcode_finding_kind_to_string (DroverGcodeFindingKind kind)
{
  static const char * const names[] = {
    [DROVER_GCODE_FINDING_EEPROM] = "eeprom",
    [DROVER_GCODE_FINDING_FIRMWARE] = "firmware",
    [DROVER_GCODE_FINDING_SD_WRITE] = "sd-write",
    [DROVER_GCODE_FINDING_PID_TUNE] = "pid-tune",
    [DROVER_GCODE_FINDING_COLD_EXTRUSION] = "cold-extrusion",
    [DROVER_GCODE_FINDING_ENDSTOPS_OFF] = "endstops-off",
    [DROVER_GCODE_FINDING_PIN_WRITE] = "pin-write",
    [DROVER_GCODE_FINDING_HOST_ACTION] = "host-action",
    [DROVER_GCODE_FINDING_EMERGENCY] = "emergency",
    [DROVER_GCODE_FINDING_HOTEND_LIMIT] = "hotend-limit",
    [DROVER_GCODE_FINDING_BED_LIMIT] = "bed-limit",
    [DROVER_GCODE_FINDING_OUT_OF_VOLUME] = "out-of-volume",
    [DROVER_GCODE_FINDING_HUGE_LINE] = "huge-line",
    [DROVER_GCODE_FINDING_NOT_UTF8] = "not-utf8",
  };

  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (names), NULL);

  return names[kind];
}

/* Text fit to show: valid UTF-8, no control characters, at most
 * @max_bytes bytes, "…" when cut. */
static char *
make_display_text (const guint8 *text,
                   gsize         length,
                   gsize         max_bytes)
{
  gboolean cut = FALSE;
  char *valid;
  gsize valid_len;

  while (length > 0 && (text[0] == ' ' || text[0] == '\t'))
    {
      text++;
      length--;
    }
  while (length > 0 && (text[length - 1] == ' ' || text[length - 1] == '\t'))
    length--;

  if (length > max_bytes)
    {
      /* Not in the middle of a character. */
      length = max_bytes;
      while (length > 0 && (text[length] & 0xc0) == 0x80)
        length--;
      cut = TRUE;
    }

  valid = g_utf8_make_valid ((const char *) text, length);
  for (char *p = valid; *p != '\0'; p++)
    {
      if ((guchar) *p < 0x20 || *p == 0x7f)
        *p = ' ';
    }

  /* Replacement characters can make it longer than it was. */
  valid_len = strlen (valid);
  if (valid_len > max_bytes)
    {
      cut = TRUE;
      valid_len = max_bytes;
    }
  if (cut)
    {
      const char *ellipsis = "…";
      gsize keep = MIN (valid_len, max_bytes - strlen (ellipsis));
      char *shown;

      while (keep > 0 && ((guchar) valid[keep] & 0xc0) == 0x80)
        keep--;
      shown = g_strdup_printf ("%.*s%s", (int) keep, valid, ellipsis);
      g_free (valid);
      valid = shown;
    }

  return valid;
}

/* A number as an operator reads it: "320", "220.5", never "2.2e+02". */
static char *
format_number (double value)
{
  char *text;
  char *dot;
  char *p;

  if (isinf (value))
    return g_strdup (value > 0 ? "∞" : "−∞");
  if (isnan (value))
    return g_strdup ("?");

  text = g_strdup_printf ("%.3f", value);
  dot = strpbrk (text, ".,");
  if (dot != NULL)
    {
      for (p = text + strlen (text) - 1; p > dot && *p == '0'; p--)
        *p = '\0';
      if (p == dot)
        *p = '\0';
    }

  return text;
}

/* Numbers */

/* Past 18 digits a number cannot be read exactly by hand; it cannot be a
 * sensible value either, but it must end where parse_number() says. */
static const guint8 *
parse_long_number (const guint8 *start,
                   double       *value)
{
  const guint8 *p = start;
  const guint8 *end;
  gboolean negative = FALSE;
  gboolean point = FALSE;
  guint integer_digits = 0;

  if (*p == '-' || *p == '+')
    negative = *p++ == '-';
  for (end = p; g_ascii_isdigit (*end) || (*end == '.' && !point); end++)
    point |= *end == '.';

  while (*p == '0')
    p++;
  for (const guint8 *q = p; g_ascii_isdigit (*q); q++)
    integer_digits++;

  if (integer_digits > 18)
    {
      *value = negative ? -INFINITY : INFINITY;
    }
  else
    {
      /* Digits past the 60th change nothing a printer could tell. */
      char copy[64];
      gsize n = 0;

      copy[n++] = negative ? '-' : '+';
      for (; p < end && n < sizeof copy - 1; p++)
        copy[n++] = *p;
      copy[n] = '\0';
      *value = g_ascii_strtod (copy, NULL);
    }

  return end;
}

/*
 * Reads a decimal number, as "-12.345", at @p; the bytes after it are read
 * until one that is not part of it, so the line's terminator stops it.
 *
 * Returns: past the number, or %NULL if there is none
 */
static inline const guint8 *
parse_number (const guint8 *p,
              double       *value)
{
  const guint8 *start = p;
  const guint8 *digits;
  const guint8 *dot = NULL;
  gboolean negative = FALSE;
  guint64 mantissa = 0;
  gsize count;
  double result;

  if (*p == '-')
    {
      negative = TRUE;
      p++;
    }
  else if (*p == '+')
    {
      p++;
    }

  digits = p;
  for (;;)
    {
      guint digit = (guint) *p - '0';

      if (digit < 10)
        mantissa = mantissa * 10 + digit;
      else if (*p == '.' && dot == NULL)
        dot = p;
      else
        break;
      p++;
    }

  count = (gsize) (p - digits) - (dot != NULL);
  if (count == 0)
    return NULL;
  if (G_UNLIKELY (count > 18))
    return parse_long_number (start, value);

  result = (double) mantissa;
  if (dot != NULL && p - dot > 1)
    result /= powers_of_ten[p - dot - 1];
  *value = negative ? -result : result;

  return p;
}

#define SWAR_ONES(byte) (G_GUINT64_CONSTANT (0x0101010101010101) * (byte))

static inline guint64
load_word (const guint8 *p)
{
  guint64 word;

  memcpy (&word, p, sizeof word);
  return GUINT64_FROM_LE (word);
}

static inline guint
count_trailing_zeros (guint64 word)
{
#if defined(__GNUC__)
  return __builtin_ctzll (word);
#else
  guint count = 0;

  while (!(word & 1))
    {
      word >>= 1;
      count++;
    }
  return count;
#endif
}

/*
 * How many of the eight bytes in @word (the first in the lowest byte) are
 * decimal digits before one that is not, and their value: eight bytes at
 * once, without a branch per digit that the processor would mispredict
 * on numbers of varying length.
 */
static inline guint
read_digits (guint64  word,
             guint64 *value)
{
  guint64 digits = word ^ SWAR_ONES (0x30);
  /* The top bit of each byte that is not 0 to 9 after the XOR; the 0x7f
   * mask keeps the addition from carrying into the next byte. */
  guint64 others = (((digits & SWAR_ONES (0x7f)) + SWAR_ONES (0x76)) | digits) & SWAR_ONES (0x80);
  guint count = others != 0 ? count_trailing_zeros (others) / 8 : 8;

  if (count == 0)
    {
      *value = 0;
      return 0;
    }

  /* Push the digits to the top: the bytes below become leading zeros. */
  digits <<= (8 - count) * 8;
  digits = ((digits & SWAR_ONES (0x0f)) * 2561) >> 8;
  digits = ((digits & G_GUINT64_CONSTANT (0x00ff00ff00ff00ff)) * 6553601) >> 16;
  *value = ((digits & G_GUINT64_CONSTANT (0x0000ffff0000ffff)) * G_GUINT64_CONSTANT (42949672960001)) >> 32;

  return count;
}

/* What strtod() reads where parse_number() stops: Marlin reads values with
 * strtof(), so "S0x1F4" heats to 500 °C and "Sinf" as hot as it can.
 * @after is where parse_number() stopped, %NULL if it found no digits. */
static const guint8 *
parse_unusual_number (const guint8 *p,
                      const guint8 *after,
                      double       *value)
{
  if (after != NULL)
    {
      const guint8 *digits = (*p == '-' || *p == '+') ? p + 1 : p;
      const guint8 *q;
      guint64 hex = 0;
      guint count = 0;

      /* Only a lone zero before "x" and a hexadecimal digit. */
      if (after - digits != 1 || *digits != '0' || (*after | 0x20) != 'x' || !g_ascii_isxdigit (after[1]))
        return after;

      for (q = after + 1; g_ascii_isxdigit (*q); q++)
        {
          if (count++ < 15)
            hex = hex * 16 + g_ascii_xdigit_value (*q);
        }
      *value = count > 15 ? INFINITY : (double) hex;
      if (*p == '-')
        *value = -*value;
      return q;
    }

  if ((p[0] | 0x20) == 'i' && (p[1] | 0x20) == 'n' && (p[2] | 0x20) == 'f')
    {
      *value = INFINITY;
      return p + 3;
    }
  if ((p[0] | 0x20) == 'n' && (p[1] | 0x20) == 'a' && (p[2] | 0x20) == 'n')
    {
      /* Whatever a firmware makes of it, it is not a safe value. */
      *value = INFINITY;
      return p + 3;
    }

  return NULL;
}

/* Lines */

static inline const guint8 *
skip_spaces (const guint8 *p)
{
  while (byte_class[*p] == CLASS_SPACE)
    p++;
  return p;
}

/* To the terminator, noting control and non-ASCII bytes. */
static inline const guint8 *
skip_to_end (const guint8 *p,
             Line         *line)
{
  for (;;)
    {
      guint8 class;

      while ((byte_class[*p] & (CLASS_EOL | CLASS_ODD)) == 0)
        p++;
      class = byte_class[*p];
      if (class & CLASS_EOL)
        return p;
      line->odd = TRUE;
      p++;
    }
}

/* A "( … )" comment; firmware with PAREN_COMMENTS reads on after it. */
static const guint8 *
skip_parenthesis (const guint8 *p,
                  Line         *line)
{
  for (p++; *p != ')'; p++)
    {
      guint8 class = byte_class[*p];

      if (class & CLASS_EOL)
        return p;
      if (class & CLASS_ODD)
        line->odd = TRUE;
    }

  return p + 1;
}

/* The commands whose argument is text, not parameters: M23, M28, M30,
 * M32, M117, M118, M928. A file name or a message is not a move. */
static inline gboolean
takes_text (char  letter,
            guint code)
{
  return letter == 'M' && (code == 23 || code == 28 || code == 30 || code == 32 ||
                           code == 117 || code == 118 || code == 928);
}

static const guint8 *
parse_parameters (const guint8 *p,
                  Line         *line)
{
  for (;;)
    {
      guint8 c = *p;
      guint8 class = byte_class[c];

      if (class == CLASS_SPACE)
        {
          p++;
        }
      else if (class == CLASS_LETTER)
        {
          guint index = (c | 0x20) - 'a';
          guint32 bit = 1u << index;
          const guint8 *after;
          double value;

          p++;
          line->present |= bit;
          after = parse_number (p, &value);
          if (G_UNLIKELY (after == NULL || (*after | 0x20) == 'x'))
            after = parse_unusual_number (p, after, &value);
          if (after != NULL)
            {
              /* Marlin reads a letter given twice from its first
               * occurrence, Klipper from its last: keep the one further
               * from zero, the worse for every check. */
              if (!(line->valued & bit) || fabs (value) > fabs (line->values[index]))
                line->values[index] = value;
              line->valued |= bit;
              p = after;
            }
        }
      else if (class & CLASS_EOL)
        {
          line->text_end = p;
          return p;
        }
      else if (c == ';')
        {
          line->text_end = p;
          line->comment = p + 1;
          return skip_to_end (p + 1, line);
        }
      else if (c == '*')
        {
          /* A checksum; firmware ignores everything from the asterisk. */
          line->text_end = p;
          return skip_to_end (p + 1, line);
        }
      else if (c == '(')
        {
          p = skip_parenthesis (p, line);
        }
      else
        {
          if (class & CLASS_ODD)
            line->odd = TRUE;
          p++;
        }
    }
}

static const guint8 *
parse_text_argument (const guint8 *p,
                     Line         *line)
{
  for (;;)
    {
      guint8 class = byte_class[*p];

      if (class & CLASS_EOL)
        {
          line->text_end = p;
          return p;
        }
      if (*p == ';')
        {
          line->text_end = p;
          line->comment = p + 1;
          return skip_to_end (p + 1, line);
        }
      if (*p == '*')
        {
          line->text_end = p;
          return skip_to_end (p + 1, line);
        }
      if (class & CLASS_ODD)
        line->odd = TRUE;
      p++;
    }
}

static inline gboolean
is_name_byte (guint8 c)
{
  return (byte_class[c] & (CLASS_LETTER | CLASS_DIGIT)) != 0 || c == '_';
}

/*
 * A Klipper command, as "SET_HEATER_TEMPERATURE HEATER=extruder TARGET=200",
 * "PRINT_START" or "_PURGE": a name in capitals or with an underscore, then
 * only KEY=VALUE parameters. "Hello, your printer has been hacked" is not.
 */
static gboolean
parse_extended (const guint8 *p,
                Line         *line)
{
  const guint8 *name = p;
  gboolean lower = FALSE;
  gboolean underscore = FALSE;

  for (; is_name_byte (*p); p++)
    {
      if (*p >= 'a' && *p <= 'z')
        lower = TRUE;
      else if (*p == '_')
        underscore = TRUE;
    }
  if (p - name < 2 || (lower && !underscore))
    return FALSE;

  line->text = name;
  line->args = p;
  for (;;)
    {
      gboolean equals = FALSE;

      if (*p != ';' && !(byte_class[*p] & (CLASS_SPACE | CLASS_EOL)))
        return FALSE;
      p = skip_spaces (p);
      if (*p == ';' || (byte_class[*p] & CLASS_EOL))
        break;

      for (; *p != ';' && !(byte_class[*p] & (CLASS_SPACE | CLASS_EOL)); p++)
        {
          if (byte_class[*p] & CLASS_ODD)
            line->odd = TRUE;
          if (*p == '=' && !equals)
            {
              equals = TRUE;
              if (p[1] == '"')
                {
                  for (p += 2; *p != '"' && !(byte_class[*p] & CLASS_EOL); p++)
                    {
                      if (byte_class[*p] & CLASS_ODD)
                        line->odd = TRUE;
                    }
                  if (*p != '"')
                    return FALSE;
                }
            }
        }
      if (!equals)
        return FALSE;
    }

  line->text_end = p;
  line->letter = 'K';
  line->kind = LINE_COMMAND;
  if (*p == ';')
    line->comment = p + 1;

  return TRUE;
}

#ifdef HAVE_SIMPLE_LINES

/* Which of the 16 bytes at @p are spaces, line ends and points, as bits
 * from @shift on. */
static inline void
classify_bytes (const guint8 *p,
                guint         shift,
                guint64      *spaces,
                guint64      *ends,
                guint64      *points)
{
  __m128i bytes = _mm_loadu_si128 ((const __m128i *) p);
  __m128i newline = _mm_cmpeq_epi8 (bytes, _mm_set1_epi8 ('\n'));
  __m128i carriage_return = _mm_cmpeq_epi8 (bytes, _mm_set1_epi8 ('\r'));

  *spaces |= (guint64) (guint) _mm_movemask_epi8 (_mm_cmpeq_epi8 (bytes, _mm_set1_epi8 (' '))) << shift;
  *ends |= (guint64) (guint) _mm_movemask_epi8 (_mm_or_si128 (newline, carriage_return)) << shift;
  *points |= (guint64) (guint) _mm_movemask_epi8 (_mm_cmpeq_epi8 (bytes, _mm_set1_epi8 ('.'))) << shift;
}

/*
 * The value of a number of at most eight bytes, digits and perhaps a
 * point, held in @word with the first byte lowest; @point_bits has the
 * point's bit, if any.
 *
 * Returns: %FALSE if a byte is not a digit, or there is no digit
 */
static inline gboolean
read_short_number (guint64  word,
                   guint    length,
                   guint64  point_bits,
                   double  *value)
{
  guint64 digits = word ^ SWAR_ONES (0x30);
  guint fraction_digits = 0;
  guint count = length;
  guint64 mantissa;

  if (point_bits != 0)
    {
      guint at = count_trailing_zeros (point_bits);
      guint64 low = digits & ((G_GUINT64_CONSTANT (1) << (8 * at)) - 1);

      /* Take the point out: the digits after it move down a byte. */
      digits = low | (((digits >> (8 * at)) >> 8) << (8 * at));
      count = length - 1;
      fraction_digits = length - 1 - at;
    }
  if (count == 0)
    return FALSE;

  /* To the top, so the bytes below are leading zeros; past the number
   * falls out. */
  digits <<= 8 * (8 - count);
  if (((((digits & SWAR_ONES (0x7f)) + SWAR_ONES (0x76)) | digits) & SWAR_ONES (0x80)) != 0)
    return FALSE;

  digits = ((digits & SWAR_ONES (0x0f)) * 2561) >> 8;
  digits = ((digits & G_GUINT64_CONSTANT (0x00ff00ff00ff00ff)) * 6553601) >> 16;
  mantissa = ((digits & G_GUINT64_CONSTANT (0x0000ffff0000ffff)) * G_GUINT64_CONSTANT (42949672960001)) >> 32;

  /* As parse_number() computes it, to the last bit. */
  *value = (double) mantissa;
  if (fraction_digits > 0)
    *value /= powers_of_ten[fraction_digits];

  return TRUE;
}

/*
 * The common line, fast: "G1 X84.381 Y139.541 E.04033", a command and its
 * parameters, each given once, with spaces between them, in under 64
 * bytes. Where each word starts and ends is known from bit masks before
 * any number is read, so the processor reads the numbers side by side
 * instead of one after the other, and no branch depends on how many digits
 * a number has: the whole scan takes a fifth less time than byte by byte
 * (bench/scan).
 *
 * Returns: %FALSE for any other line, which parse_line() then reads byte
 *   by byte, with the same results
 */
G_ALWAYS_INLINE static inline gboolean
parse_simple_line (const guint8 *p,
                   Line         *line)
{
  guint8 letter = p[0] & ~0x20;
  guint64 spaces = 0;
  guint64 ends = 0;
  guint64 points = 0;
  guint64 inside;
  guint64 bounds;
  guint64 starts;
  guint64 code;
  guint32 present = 0;
  guint length;
  guint code_digits;

  if (letter != 'G' && letter != 'M' && letter != 'T')
    return FALSE;

  classify_bytes (p, 0, &spaces, &ends, &points);
  classify_bytes (p + 16, 16, &spaces, &ends, &points);
  if (ends == 0)
    {
      classify_bytes (p + 32, 32, &spaces, &ends, &points);
      classify_bytes (p + 48, 48, &spaces, &ends, &points);
      if (ends == 0)
        return FALSE;
    }

  length = count_trailing_zeros (ends);
  inside = (G_GUINT64_CONSTANT (1) << length) - 1;
  spaces &= inside;
  points &= inside;
  bounds = spaces | (G_GUINT64_CONSTANT (1) << length);

  /* G0, G1: most lines. No command of one digit takes text. */
  if (byte_class[p[1]] == CLASS_DIGIT && (bounds & 4) != 0)
    {
      code_digits = 1;
      code = p[1] - '0';
    }
  else
    {
      code_digits = read_digits (load_word (p + 1), &code);
      if (code_digits == 0 || code_digits > 5 || code_digits + 1 != count_trailing_zeros (bounds) ||
          takes_text (letter, code))
        return FALSE;
    }

  /* Each word after the command: a letter, a sign perhaps, a number. */
  starts = ~spaces & (spaces << 1) & inside;
  while (starts != 0)
    {
      guint start = count_trailing_zeros (starts);
      guint end = start + count_trailing_zeros (bounds >> start);
      guint index = (p[start] | 0x20) - 'a';
      guint first = start + 1;
      gboolean negative = p[first] == '-';
      guint number_length;
      double value;

      first += negative || p[first] == '+';
      number_length = end - first;
      if (index >= 26 || (present & (1u << index)) != 0 || number_length == 0)
        return FALSE;

      if (G_LIKELY (number_length <= 8))
        {
          guint64 point_bits = (points >> first) & ((G_GUINT64_CONSTANT (1) << number_length) - 1);

          if (!read_short_number (load_word (p + first), number_length, point_bits, &value))
            return FALSE;
          if (negative)
            value = -value;
        }
      else if (parse_number (p + start + 1, &value) != p + end)
        {
          return FALSE;
        }

      line->values[index] = value;
      present |= 1u << index;
      starts &= starts - 1;
    }

  line->kind = LINE_COMMAND;
  line->odd = FALSE;
  line->letter = letter;
  line->code = code;
  line->text = p;
  line->args = p + 1 + code_digits;
  line->text_end = p + length;
  line->comment = NULL;
  line->end = p + length;
  line->present = present;
  line->valued = present;

  return TRUE;
}

#endif

/*
 * Parses the line at @p byte by byte, whatever it holds; a terminator ends
 * it somewhere after, and it changes nothing but @line.
 *
 * Returns: the terminator
 */
G_NO_INLINE static const guint8 *
parse_any_line (const guint8 *p,
                Line         *line)
{
  const guint8 *start;
  guint8 c;

  line->kind = LINE_BLANK;
  line->odd = FALSE;
  line->text = NULL;
  line->comment = NULL;
  line->present = 0;
  line->valued = 0;

  p = skip_spaces (p);
  if ((*p | 0x20) == 'n' && byte_class[p[1]] == CLASS_DIGIT)
    {
      for (p += 2; byte_class[*p] == CLASS_DIGIT; p++)
        ;
      p = skip_spaces (p);
    }

  for (;;)
    {
      c = *p;
      if (c == '(')
        {
          line->kind = LINE_COMMENT;
          p = skip_spaces (skip_parenthesis (p, line));
        }
      else
        {
          break;
        }
    }

  if (byte_class[c] & CLASS_EOL)
    {
      line->end = p;
      return p;
    }

  if (c == ';')
    {
      line->kind = LINE_COMMENT;
      line->comment = p + 1;
      line->end = skip_to_end (p + 1, line);
      return line->end;
    }

  start = p;
  if (byte_class[c] == CLASS_LETTER)
    {
      guint8 letter = c & ~0x20;
      const guint8 *q = p + 1;

      /* Marlin reads "M 500" as M500. */
      while (*q == ' ')
        q++;

      if ((letter == 'G' || letter == 'M' || letter == 'T') && byte_class[*q] == CLASS_DIGIT)
        {
          guint code = 0;

          for (; byte_class[*q] == CLASS_DIGIT; q++)
            code = code < 100000 ? code * 10 + (*q - '0') : code;
          if (*q == '.' && byte_class[q[1]] == CLASS_DIGIT)
            for (q++; byte_class[*q] == CLASS_DIGIT; q++)
              ;

          line->kind = LINE_COMMAND;
          line->letter = letter;
          line->code = code;
          line->text = start;
          line->args = q;
          if (G_UNLIKELY (takes_text (letter, code)))
            line->end = parse_text_argument (q, line);
          else
            line->end = parse_parameters (q, line);
          return line->end;
        }

      if (byte_class[p[1]] == CLASS_DIGIT || p[1] == '-' || p[1] == '+' || p[1] == '.')
        {
          line->kind = LINE_WORDS;
          line->text = start;
          line->end = parse_parameters (p, line);
          return line->end;
        }

    }

  /* Klipper's own commands; those of macros can start with "_". */
  if ((byte_class[c] == CLASS_LETTER || c == '_') && parse_extended (p, line))
    {
      line->end = skip_to_end (line->text_end, line);
      return line->end;
    }

  line->kind = LINE_PROSE;
  line->text = start;
  line->end = skip_to_end (p, line);
  line->text_end = line->end;

  return line->end;
}

/*
 * Parses the line at @p, which a terminator ends somewhere after it, and
 * changes nothing but @line. Bytes up to @limit can be read, even past
 * the terminator.
 *
 * Returns: the terminator
 */
G_ALWAYS_INLINE static inline const guint8 *
parse_line (const guint8 *p,
            const guint8 *limit,
            Line         *line)
{
#ifdef HAVE_SIMPLE_LINES
  if (G_LIKELY (p + SIMPLE_READ_AHEAD <= limit) && parse_simple_line (p, line))
    return line->end;
#endif

  return parse_any_line (p, line);
}

/* Findings */

static Record *
add_record (DroverGcodeScan        *self,
            DroverGcodeFindingKind  kind,
            const char             *key,
            const Line             *line)
{
  Record *record;

  for (guint i = 0; i < self->records->len; i++)
    {
      record = g_ptr_array_index (self->records, i);
      if (record->kind == kind && strcmp (record->key, key) == 0)
        {
          record->count++;
          return NULL;
        }
    }

  record = g_new0 (Record, 1);
  record->kind = kind;
  g_strlcpy (record->key, key, sizeof record->key);
  record->line = self->line_number;
  record->count = 1;
  record->tool = -1;
  record->dangerous = kind != DROVER_GCODE_FINDING_HUGE_LINE && kind != DROVER_GCODE_FINDING_NOT_UTF8;
  if (line != NULL && line->text != NULL)
    record->command = make_display_text (line->text, line->text_end - line->text, COMMAND_TEXT_MAX);
  g_ptr_array_add (self->records, record);

  return record;
}

/* The key of a finding about @line's command: "M104", "SAVE_CONFIG". */
static void
command_key (const Line *line,
             char        key[24])
{
  if (line->letter == 'K')
    {
      gsize length = MIN ((gsize) (line->args - line->text), 23);

      for (gsize i = 0; i < length; i++)
        key[i] = g_ascii_toupper (line->text[i]);
      key[length] = '\0';
    }
  else
    {
      g_snprintf (key, 24, "%c%u", line->letter, line->code);
    }
}

static void
note_command (DroverGcodeScan        *self,
              DroverGcodeFindingKind  kind,
              const Line             *line)
{
  char key[24];

  command_key (line, key);
  add_record (self, kind, key, line);
}

static void
note_temperature (DroverGcodeScan        *self,
                  DroverGcodeFindingKind  kind,
                  const Line             *line,
                  double                  target,
                  int                     tool)
{
  double limit;
  Record *record;
  char key[24];

  if (kind == DROVER_GCODE_FINDING_HOTEND_LIMIT)
    {
      self->max_hotend_seen = MAX (self->max_hotend_seen, target);
      limit = self->limits.max_hotend;
    }
  else
    {
      self->max_bed_seen = MAX (self->max_bed_seen, target);
      limit = self->limits.max_bed;
    }

  if (limit <= 0 || !(target > limit))
    return;

  command_key (line, key);
  record = add_record (self, kind, key, line);
  if (record != NULL)
    {
      record->value = target;
      record->limit = limit;
      record->tool = tool;
    }
}

static inline double
line_value (const Line *line,
            char        letter)
{
  return line->values[letter - 'A'];
}

static inline gboolean
line_has_value (const Line *line,
                char        letter)
{
  return (line->valued & LETTER_BIT (letter)) != 0;
}

/* The hottest of the targets a heating command sets: S, R (M109, M190:
 * wait for cooling), B (Marlin's autotemp maximum). */
static void
check_heater (DroverGcodeScan        *self,
              DroverGcodeFindingKind  kind,
              const Line             *line,
              int                     tool)
{
  static const char letters[] = { 'S', 'R', 'B' };
  gboolean any = FALSE;
  double target = -INFINITY;

  for (guint i = 0; i < G_N_ELEMENTS (letters); i++)
    {
      if (line_has_value (line, letters[i]))
        {
          target = MAX (target, line_value (line, letters[i]));
          any = TRUE;
        }
    }

  if (any)
    note_temperature (self, kind, line, target, tool);
}

static int
tool_index (const Line *line,
            char        letter)
{
  double value;

  if (!line_has_value (line, letter))
    return -1;
  value = line_value (line, letter);

  return value >= 0 && value < 1000 ? (int) value : -1;
}

/* Bounded, case-blind search in the line's bytes. */
static const guint8 *
find_ascii_case (const guint8 *text,
                 const guint8 *end,
                 const char   *needle)
{
  gsize length = strlen (needle);

  for (const guint8 *p = text; p + length <= end; p++)
    {
      if (g_ascii_strncasecmp ((const char *) p, needle, length) == 0)
        return p;
    }

  return NULL;
}

static gboolean
name_is (const Line *line,
         const char *name)
{
  gsize length = strlen (name);

  return (gsize) (line->args - line->text) == length &&
         g_ascii_strncasecmp ((const char *) line->text, name, length) == 0;
}

/* The value of a Klipper parameter, as TARGET in "TARGET=200". */
static gboolean
extended_parameter (const Line    *line,
                    const char    *key,
                    const guint8 **value)
{
  gsize length = strlen (key);

  for (const guint8 *p = line->args; p < line->text_end; p++)
    {
      if ((p == line->args || byte_class[p[-1]] == CLASS_SPACE) &&
          p + length < line->text_end && p[length] == '=' &&
          g_ascii_strncasecmp ((const char *) p, key, length) == 0)
        {
          *value = p + length + 1;
          return TRUE;
        }
    }

  return FALSE;
}

static void
scan_extended (DroverGcodeScan *self,
               const Line      *line)
{
  const guint8 *heater;
  const guint8 *target_text;
  double target;

  if (name_is (line, "SAVE_CONFIG"))
    note_command (self, DROVER_GCODE_FINDING_EEPROM, line);
  else if (name_is (line, "FIRMWARE_RESTART") || name_is (line, "RESTART"))
    note_command (self, DROVER_GCODE_FINDING_EMERGENCY, line);
  else if (name_is (line, "SET_HEATER_TEMPERATURE") &&
           extended_parameter (line, "HEATER", &heater) &&
           extended_parameter (line, "TARGET", &target_text) &&
           parse_number (target_text, &target) != NULL)
    {
      if (g_ascii_strncasecmp ((const char *) heater, "extruder", strlen ("extruder")) == 0)
        note_temperature (self, DROVER_GCODE_FINDING_HOTEND_LIMIT, line, target, -1);
      else if (g_ascii_strncasecmp ((const char *) heater, "heater_bed", strlen ("heater_bed")) == 0)
        note_temperature (self, DROVER_GCODE_FINDING_BED_LIMIT, line, target, -1);
    }
}

static void
scan_host_action (DroverGcodeScan *self,
                  const Line      *line)
{
  const guint8 *action = find_ascii_case (line->args, line->text_end, "action:");
  Record *record;

  if (action == NULL)
    return;

  record = add_record (self, DROVER_GCODE_FINDING_HOST_ACTION, "M118", line);
  if (record != NULL)
    {
      action += strlen ("action:");
      record->detail = make_display_text (action, line->text_end - action, ACTION_TEXT_MAX);
    }
}

/* Moves */

/* Where an arc from @start to @end around @center reaches, in X and Y. */
static void
arc_extent (const double start[3],
            const double end[3],
            const double center[2],
            gboolean     clockwise,
            double       low[3],
            double       high[3])
{
  double radius = hypot (start[0] - center[0], start[1] - center[1]);
  double from = atan2 (start[1] - center[1], start[0] - center[0]);
  double to = atan2 (end[1] - center[1], end[0] - center[0]);
  double sweep;

  /* Counterclockwise from @from to @to; a clockwise arc is the same arc
   * counterclockwise from its end. */
  if (clockwise)
    {
      double swap = from;

      from = to;
      to = swap;
    }
  sweep = fmod (to - from + 4 * G_PI, 2 * G_PI);
  if (fabs (start[0] - end[0]) < 1e-9 && fabs (start[1] - end[1]) < 1e-9)
    sweep = 2 * G_PI;

  for (guint quarter = 0; quarter < 4; quarter++)
    {
      double angle = quarter * G_PI / 2;
      double along = fmod (angle - from + 4 * G_PI, 2 * G_PI);

      if (along <= sweep)
        {
          double x = center[0] + radius * cos (angle);
          double y = center[1] + radius * sin (angle);

          low[0] = MIN (low[0], x);
          high[0] = MAX (high[0], x);
          low[1] = MIN (low[1], y);
          high[1] = MAX (high[1], y);
        }
    }
}

/* The centre of an arc given by its radius, as Marlin computes it. */
static gboolean
arc_center_from_radius (const double start[3],
                        const double end[3],
                        double       radius,
                        gboolean     clockwise,
                        double       center[2])
{
  double dx = end[0] - start[0];
  double dy = end[1] - start[1];
  double distance = hypot (dx, dy);
  double sign = (clockwise != (radius < 0)) ? -1 : 1;
  double h2;
  double h;

  if (radius == 0 || distance == 0)
    return FALSE;

  h2 = (radius - 0.5 * distance) * (radius + 0.5 * distance);
  h = h2 >= 0 ? sqrt (h2) : 0;
  center[0] = (start[0] + end[0]) / 2 + sign * h * -dy / distance;
  center[1] = (start[1] + end[1]) / 2 + sign * h * dx / distance;

  return TRUE;
}

static void
note_out_of_volume (DroverGcodeScan *self,
                    const Line      *line,
                    int              axis,
                    double           value,
                    double           size)
{
  char key[24];
  Record *record;

  command_key (line, key);
  record = add_record (self, DROVER_GCODE_FINDING_OUT_OF_VOLUME, key, line);
  if (record != NULL)
    {
      record->axis = axis;
      record->value = value;
      record->limit = size;
    }
}

/* Whether a move leaves the volume, @low to @high being where it goes
 * after its start, on the @axes it moves (bits 0 to 2 for X, Y, Z): the
 * start was checked as the end of the move before, and a move back into
 * the volume, or along an axis already outside, is not a new problem. One
 * finding per move at most. */
static void
check_volume (DroverGcodeScan *self,
              const Line      *line,
              const double     low[3],
              const double     high[3],
              guint            axes)
{
  const double volume[3] = { self->limits.volume_x, self->limits.volume_y, self->limits.volume_z };

  for (guint i = 0; i < 3; i++)
    {
      if (volume[i] > 0 && (axes & (1u << i)))
        {
          if (low[i] < -VOLUME_TOLERANCE)
            {
              note_out_of_volume (self, line, i, low[i], volume[i]);
              return;
            }
          if (high[i] > volume[i] + VOLUME_TOLERANCE)
            {
              note_out_of_volume (self, line, i, high[i], volume[i]);
              return;
            }
        }
    }
}

/* What a move reaches, from @low to @high, and whether it extruded. */
G_ALWAYS_INLINE static inline void
note_move (DroverGcodeScan *self,
           const Line      *line,
           const double     low[3],
           const double     high[3],
           gboolean         extruding)
{
  if (extruding)
    {
      for (guint i = 0; i < 3; i++)
        {
          self->min[i] = MIN (self->min[i], low[i]);
          self->max[i] = MAX (self->max[i], high[i]);
        }
      self->bounds_valid = TRUE;

      /* last_extruding_z starts at -∞: the first extruding move is a
       * layer. */
      if (fabs (self->position[2] - self->last_extruding_z) > LAYER_TOLERANCE)
        {
          self->height_layers++;
          self->last_extruding_z = self->position[2];
        }
    }
}

static void
scan_arc (DroverGcodeScan *self,
          const Line      *line,
          const double     start[3],
          gboolean         extruding)
{
  const double *end = self->position;
  gboolean clockwise = line->code == 2;
  double low[3];
  double high[3];
  double center[2];
  gboolean arc = FALSE;
  gboolean moved = FALSE;

  for (guint i = 0; i < 3; i++)
    {
      low[i] = MIN (start[i], end[i]);
      high[i] = MAX (start[i], end[i]);
      moved |= start[i] != end[i];
    }

  if (line->valued & (LETTER_BIT ('I') | LETTER_BIT ('J')))
    {
      center[0] = start[0] + ((line->valued & LETTER_BIT ('I')) ? line_value (line, 'I') : 0);
      center[1] = start[1] + ((line->valued & LETTER_BIT ('J')) ? line_value (line, 'J') : 0);
      /* With I and J, an arc back to its start is a full circle. */
      arc = TRUE;
      moved = TRUE;
    }
  else if (line->valued & LETTER_BIT ('R'))
    {
      arc = arc_center_from_radius (start, end, line_value (line, 'R'), clockwise, center);
    }
  if (G_UNLIKELY (self->volume_checked))
    {
      guint axes = (start[0] != end[0] || arc) | (start[1] != end[1] || arc) << 1 | (start[2] != end[2]) << 2;
      double reach_low[3];
      double reach_high[3];

      memcpy (reach_low, end, sizeof reach_low);
      memcpy (reach_high, end, sizeof reach_high);
      if (arc)
        arc_extent (start, end, center, clockwise, reach_low, reach_high);
      check_volume (self, line, reach_low, reach_high, axes);
    }

  if (arc)
    arc_extent (start, end, center, clockwise, low, high);
  note_move (self, line, low, high, extruding && moved);
}

/* G0 to G3, most lines of a file. */
G_ALWAYS_INLINE static inline void
scan_move (DroverGcodeScan *self,
           const Line      *line)
{
  guint32 valued = line->valued;
  double start[3];
  double extruded = 0;

  memcpy (start, self->position, sizeof start);

  if (valued & LETTER_BIT ('X'))
    self->position[0] = line_value (line, 'X') + (self->relative ? start[0] : self->offset[0]);
  if (valued & LETTER_BIT ('Y'))
    self->position[1] = line_value (line, 'Y') + (self->relative ? start[1] : self->offset[1]);
  if (valued & LETTER_BIT ('Z'))
    self->position[2] = line_value (line, 'Z') + (self->relative ? start[2] : self->offset[2]);

  if (valued & LETTER_BIT ('E'))
    {
      double value = line_value (line, 'E');

      extruded = self->extruder_relative ? value : value - self->extruder;
      self->extruder = self->extruder_relative ? self->extruder + value : value;
      self->filament += extruded;
    }

  if (G_UNLIKELY (line->code >= 2))
    {
      scan_arc (self, line, start, extruded > 0);
    }
  else
    {
      const double *end = self->position;

      if (G_UNLIKELY (self->volume_checked))
        check_volume (self, line, end, end,
                      (start[0] != end[0]) | (start[1] != end[1]) << 1 | (start[2] != end[2]) << 2);

      /* Travels and retractions change no bounds. */
      if (extruded > 0 && (start[0] != end[0] || start[1] != end[1] || start[2] != end[2]))
        {
          double low[3] = { MIN (start[0], end[0]), MIN (start[1], end[1]), MIN (start[2], end[2]) };
          double high[3] = { MAX (start[0], end[0]), MAX (start[1], end[1]), MAX (start[2], end[2]) };

          note_move (self, line, low, high, TRUE);
        }
    }
}

/* G28: homed axes are at 0 (where endstops usually sit), and homing drops
 * their G92 offsets, as Marlin does. */
static void
scan_home (DroverGcodeScan *self,
           const Line      *line)
{
  static const char axes[3] = { 'X', 'Y', 'Z' };
  gboolean all = (line->present & (LETTER_BIT ('X') | LETTER_BIT ('Y') | LETTER_BIT ('Z'))) == 0;

  for (guint i = 0; i < 3; i++)
    {
      if (all || (line->present & LETTER_BIT (axes[i])))
        {
          self->position[i] = 0;
          self->offset[i] = 0;
        }
    }
}

/* G92: the file's coordinates change, the nozzle does not move. */
static void
scan_set_position (DroverGcodeScan *self,
                   const Line      *line)
{
  static const char axes[3] = { 'X', 'Y', 'Z' };

  for (guint i = 0; i < 3; i++)
    {
      if (line->valued & LETTER_BIT (axes[i]))
        self->offset[i] = self->position[i] - line_value (line, axes[i]);
    }
  if (line->valued & LETTER_BIT ('E'))
    self->extruder = line_value (line, 'E');
}

static void
scan_g (DroverGcodeScan *self,
        const Line      *line)
{
  switch (line->code)
    {
    case 0:
    case 1:
    case 2:
    case 3:
      scan_move (self, line);
      break;

    case 10:
      /* RepRapFirmware sets tool temperatures with G10 P S R; Marlin's
       * G10 (retract) has no parameters. */
      if (line->valued & LETTER_BIT ('P'))
        check_heater (self, DROVER_GCODE_FINDING_HOTEND_LIMIT, line, tool_index (line, 'P'));
      break;

    case 28:
      scan_home (self, line);
      break;

    /* Marlin: G90 and G91 set E too; M82 and M83 set E alone. */
    case 90:
      self->relative = FALSE;
      self->extruder_relative = FALSE;
      break;

    case 91:
      self->relative = TRUE;
      self->extruder_relative = TRUE;
      break;

    case 92:
      scan_set_position (self, line);
      break;

    default:
      break;
    }
}

static void
scan_m (DroverGcodeScan *self,
        const Line      *line)
{
  switch (line->code)
    {
    case 82:
      self->extruder_relative = FALSE;
      break;

    case 83:
      self->extruder_relative = TRUE;
      break;

    case 104:
    case 109:
      check_heater (self, DROVER_GCODE_FINDING_HOTEND_LIMIT, line, tool_index (line, 'T'));
      break;

    case 568:
      check_heater (self, DROVER_GCODE_FINDING_HOTEND_LIMIT, line, tool_index (line, 'P'));
      break;

    case 140:
    case 190:
      check_heater (self, DROVER_GCODE_FINDING_BED_LIMIT, line, -1);
      break;

    case 500:
    case 501:
    case 502:
      note_command (self, DROVER_GCODE_FINDING_EEPROM, line);
      break;

    case 997:
      note_command (self, DROVER_GCODE_FINDING_FIRMWARE, line);
      break;

    case 28:
    case 29:
    case 30:
    case 928:
      note_command (self, DROVER_GCODE_FINDING_SD_WRITE, line);
      break;

    case 301:
    case 303:
    case 304:
      note_command (self, DROVER_GCODE_FINDING_PID_TUNE, line);
      break;

    case 306:
      /* M306 T autotunes Marlin's heater model; without T it sets it. */
      if (line->present & LETTER_BIT ('T'))
        note_command (self, DROVER_GCODE_FINDING_PID_TUNE, line);
      break;

    case 302:
      /* "M302 P0" forbids cold extrusion again; everything else allows it
       * or lowers the limit (plain M302 allows it on Prusa firmware). */
      if (!(line_has_value (line, 'P') && line_value (line, 'P') == 0 && !(line->present & LETTER_BIT ('S'))))
        note_command (self, DROVER_GCODE_FINDING_COLD_EXTRUSION, line);
      break;

    case 211:
      if (line_has_value (line, 'S') && line_value (line, 'S') == 0)
        note_command (self, DROVER_GCODE_FINDING_ENDSTOPS_OFF, line);
      break;

    case 121:
      note_command (self, DROVER_GCODE_FINDING_ENDSTOPS_OFF, line);
      break;

    case 42:
    case 43:
    case 260:
      note_command (self, DROVER_GCODE_FINDING_PIN_WRITE, line);
      break;

    case 118:
      scan_host_action (self, line);
      break;

    case 112:
    case 410:
    case 999:
      note_command (self, DROVER_GCODE_FINDING_EMERGENCY, line);
      break;

    default:
      break;
    }
}

static void
scan_layer_comment (DroverGcodeScan *self,
                    const Line      *line)
{
  const guint8 *p = line->comment;
  gsize length;

  while (*p == ' ')
    p++;
  length = line->end - p;

  if (length >= 6 && memcmp (p, "LAYER:", 6) == 0)
    self->layer_comments[LAYER_COMMENT_CURA]++;
  else if (length >= 12 && memcmp (p, "LAYER_CHANGE", 12) == 0)
    self->layer_comments[LAYER_COMMENT_PRUSA]++;
  else if (length >= 12 && memcmp (p, "CHANGE_LAYER", 12) == 0)
    self->layer_comments[LAYER_COMMENT_BAMBU]++;
}

static gboolean
is_control_byte (guint8 c)
{
  return (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f') || c == 0x7f;
}

static void
count_control_bytes (DroverGcodeScan *self,
                     const guint8    *p,
                     const guint8    *end)
{
  for (; p < end; p++)
    {
      if (G_UNLIKELY (is_control_byte (*p)))
        {
          self->control_bytes++;
          if (*p == '\0')
            {
              self->nul_bytes++;
              if (self->first_nul_line == 0)
                self->first_nul_line = self->line_number;
            }
        }
    }
}

/* Whether the bytes from @p to @end are a UTF-8 sequence that the cut at
 * 64 KiB left incomplete. */
static gboolean
is_cut_sequence (const guint8 *p,
                 const guint8 *end)
{
  gsize expected;

  if (*p >= 0xc2 && *p <= 0xdf)
    expected = 2;
  else if (*p >= 0xe0 && *p <= 0xef)
    expected = 3;
  else if (*p >= 0xf0 && *p <= 0xf4)
    expected = 4;
  else
    return FALSE;

  if ((gsize) (end - p) >= expected)
    return FALSE;
  for (p++; p < end; p++)
    {
      if ((*p & 0xc0) != 0x80)
        return FALSE;
    }

  return TRUE;
}

/* A line with control or non-ASCII bytes: count them for the verdict, and
 * is it UTF-8? NUL bytes count as control bytes, not as broken text. */
static void
check_line_bytes (DroverGcodeScan *self,
                  const guint8    *start,
                  const guint8    *end,
                  gboolean         cut)
{
  const guint8 *p = start;

  count_control_bytes (self, start, end);

  while (p < end)
    {
      const guint8 *nul = memchr (p, '\0', end - p);
      const guint8 *stop = nul != NULL ? nul : end;
      const char *invalid;

      if (!g_utf8_validate_len ((const char *) p, stop - p, &invalid) &&
          !(cut && stop == end && is_cut_sequence ((const guint8 *) invalid, end)))
        {
          Record *record = add_record (self, DROVER_GCODE_FINDING_NOT_UTF8, "", NULL);

          if (record != NULL)
            record->command = make_display_text (start, end - start, COMMAND_TEXT_MAX);
          return;
        }
      p = stop + 1;
    }
}

/* What a parsed line does to the printer and to the counts. @start is the
 * line's first byte, @huge says it is the first 64 KiB of a longer one. */
static void
scan_line (DroverGcodeScan *self,
           const Line      *line,
           const guint8    *start,
           gboolean         huge)
{
  if (G_UNLIKELY (line->odd))
    check_line_bytes (self, start, line->end, huge);

  switch (line->kind)
    {
    case LINE_COMMAND:
      self->commands++;
      self->text_lines++;
      if (G_LIKELY (line->letter == 'G'))
        scan_g (self, line);
      else if (line->letter == 'M')
        scan_m (self, line);
      else if (line->letter == 'K')
        scan_extended (self, line);
      break;

    case LINE_COMMENT:
      self->comment_lines++;
      self->text_lines++;
      break;

    case LINE_WORDS:
      self->word_lines++;
      self->text_lines++;
      break;

    case LINE_PROSE:
      self->text_lines++;
      /* The start of a long line says little about what it is. */
      if (huge)
        break;
      self->prose_lines++;
      if (self->first_prose_line == 0)
        {
          self->first_prose_line = self->line_number;
          self->first_prose = make_display_text (line->text, line->end - line->text, SNIPPET_MAX);
        }
      break;

    case LINE_BLANK:
    default:
      break;
    }

  if (line->comment != NULL)
    scan_layer_comment (self, line);

  if (G_UNLIKELY (huge))
    {
      gboolean command = line->kind == LINE_COMMAND;
      Record *record;

      self->text_lines++;
      record = add_record (self, DROVER_GCODE_FINDING_HUGE_LINE, command ? "command" : "text", NULL);
      if (record != NULL)
        {
          record->dangerous = command;
          record->command = make_display_text (start, line->end - start, COMMAND_TEXT_MAX);
        }
    }
}

/* A UTF-8 byte order mark opens some files saved on Windows; firmware
 * would stumble on it, but it is not what the line means. */
static inline const guint8 *
skip_byte_order_mark (DroverGcodeScan *self,
                      const guint8    *p)
{
  if (G_UNLIKELY (self->line_number == 1) && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
    return p + 3;
  return p;
}

/* Parses and applies a line that a terminator ends before @limit. */
static void
scan_line_at (DroverGcodeScan *self,
              const guint8    *start,
              const guint8    *limit,
              gboolean         huge)
{
  Line line;

  parse_line (skip_byte_order_mark (self, start), limit, &line);
  scan_line (self, &line, start, huge);
}

/* The line in the carry buffer, @length bytes. */
static void
scan_carried_line (DroverGcodeScan *self,
                   gsize            length,
                   gboolean         huge)
{
  self->carry[length] = '\n';
  self->carry_len = 0;
  scan_line_at (self, self->carry, self->carry + CARRY_SIZE, huge);
}

static inline const guint8 *
end_line (DroverGcodeScan *self,
          const guint8    *terminator,
          const guint8    *end)
{
  self->lines++;
  self->line_number++;

  if (*terminator == '\r')
    {
      if (terminator + 1 == end)
        {
          self->pending_cr = TRUE;
          return end;
        }
      if (terminator[1] == '\n')
        return terminator + 2;
    }

  return terminator + 1;
}

/* The first "\n" or "\r" from @p, or @end. It looks for "\r" first:
 * lines that end with "\n" alone are read by scan_lines(), so here a "\r"
 * is near or there is none in the chunk. */
static const guint8 *
find_terminator (const guint8 *p,
                 const guint8 *end)
{
  const guint8 *cr = memchr (p, '\r', end - p);
  const guint8 *stop = cr != NULL ? cr : end;
  const guint8 *newline = memchr (p, '\n', stop - p);

  return newline != NULL ? newline : stop;
}

/* The lines from @p up to @last, a "\n", parsed in place; the chunk goes
 * on to @limit. */
static const guint8 *
scan_lines (DroverGcodeScan *self,
            const guint8    *p,
            const guint8    *last,
            const guint8    *limit)
{
  const guint8 *end = last + 1;
  Line line;

  while (p < end)
    {
      const guint8 *terminator = parse_line (skip_byte_order_mark (self, p), limit, &line);

      if (G_LIKELY (terminator - p <= MAX_LINE))
        {
          /* Most lines are plain moves: straight to scan_move(). */
          if (line.kind == LINE_COMMAND && line.letter == 'G' && line.code <= 1 &&
              !line.odd && line.comment == NULL)
            {
              self->commands++;
              self->text_lines++;
              scan_move (self, &line);
            }
          else
            {
              scan_line (self, &line, p, FALSE);
            }
        }
      else
        {
          memcpy (self->carry, p, MAX_LINE);
          scan_carried_line (self, MAX_LINE, TRUE);
          count_control_bytes (self, p + MAX_LINE, terminator);
        }
      p = end_line (self, terminator, end);
    }

  return p;
}

/* A line that may not end in this chunk, or began in the last one. */
static const guint8 *
scan_partial_line (DroverGcodeScan *self,
                   const guint8    *p,
                   const guint8    *end)
{
  const guint8 *terminator = find_terminator (p, end);
  gsize length = terminator - p;

  if (self->carry_len + length > MAX_LINE)
    {
      gsize taken = MAX_LINE - self->carry_len;

      memcpy (self->carry + self->carry_len, p, taken);
      scan_carried_line (self, MAX_LINE, TRUE);
      count_control_bytes (self, p + taken, terminator);
      if (terminator == end)
        {
          self->skipping = TRUE;
          return end;
        }
      return end_line (self, terminator, end);
    }

  if (terminator == end)
    {
      memcpy (self->carry + self->carry_len, p, length);
      self->carry_len += length;
      return end;
    }

  if (self->carry_len == 0)
    {
      scan_line_at (self, p, end, FALSE);
    }
  else
    {
      memcpy (self->carry + self->carry_len, p, length);
      scan_carried_line (self, self->carry_len + length, FALSE);
    }

  return end_line (self, terminator, end);
}

static const guint8 *
skip_huge_line (DroverGcodeScan *self,
                const guint8    *p,
                const guint8    *end)
{
  const guint8 *terminator = find_terminator (p, end);

  count_control_bytes (self, p, terminator);
  if (terminator == end)
    return end;

  self->skipping = FALSE;
  return end_line (self, terminator, end);
}

/**
 * drover_gcode_scan_new:
 * @limits: (nullable): what the printer can take; %NULL for
 *   drover_gcode_limits_init_default()
 *
 * Starts a scan: feed it the file's bytes with drover_gcode_scan_feed(),
 * then get the report with drover_gcode_scan_finish().
 *
 * Returns: (transfer full): a scan, for one thread at a time
 */
DroverGcodeScan *
drover_gcode_scan_new (const DroverGcodeLimits *limits)
{
  DroverGcodeScan *self = g_new0 (DroverGcodeScan, 1);

  if (limits != NULL)
    self->limits = *limits;
  else
    drover_gcode_limits_init_default (&self->limits);

  self->carry = g_malloc0 (CARRY_SIZE);
  self->line_number = 1;
  self->last_extruding_z = -INFINITY;
  self->volume_checked = self->limits.volume_x > 0 || self->limits.volume_y > 0 || self->limits.volume_z > 0;
  for (guint i = 0; i < 3; i++)
    {
      self->min[i] = INFINITY;
      self->max[i] = -INFINITY;
    }
  self->records = g_ptr_array_new_with_free_func ((GDestroyNotify) record_free);

  return self;
}

/**
 * drover_gcode_scan_free:
 * @scan: (nullable): a scan
 *
 * Frees a scan, finished or not.
 */
void
drover_gcode_scan_free (DroverGcodeScan *scan)
{
  if (scan == NULL)
    return;

  g_free (scan->carry);
  g_free (scan->first_prose);
  g_ptr_array_unref (scan->records);
  g_free (scan);
}

/**
 * drover_gcode_scan_feed:
 * @scan: a scan not finished yet
 * @data: (array length=length): the file's next bytes
 * @length: how many
 *
 * Scans the next bytes of the file. Chunks can be of any size and split
 * lines anywhere: the report is the same as for the file in one piece.
 * Nothing of @data is kept after it returns.
 */
void
drover_gcode_scan_feed (DroverGcodeScan *scan,
                        const guint8    *data,
                        gsize            length)
{
  DroverGcodeScan *self = scan;
  const guint8 *p = data;
  const guint8 *end = data + length;

  g_return_if_fail (self != NULL);
  g_return_if_fail (data != NULL || length == 0);
  g_return_if_fail (!self->finished);

  if (length == 0)
    return;

  while (self->head_len < sizeof self->head && p < end)
    self->head[self->head_len++] = *p++;
  p = data;
  self->bytes += length;

  if (self->pending_cr)
    {
      self->pending_cr = FALSE;
      if (*p == '\n')
        p++;
    }

  /* The end of a line from the last chunk. */
  while (p < end && (self->skipping || self->carry_len > 0))
    {
      if (self->skipping)
        p = skip_huge_line (self, p, end);
      else
        p = scan_partial_line (self, p, end);
    }

  if (p < end)
    {
      const guint8 *last = memrchr (p, '\n', end - p);

      /* Whole lines in place, then what follows the last "\n": lines
       * ended by "\r", and the start of one for the next chunk. */
      if (last != NULL)
        p = scan_lines (self, p, last, end);
      while (p < end)
        {
          if (self->skipping)
            p = skip_huge_line (self, p, end);
          else
            p = scan_partial_line (self, p, end);
        }
    }
}

static char *
describe_record (const Record *record)
{
  g_autofree char *line = g_strdup_printf ("%" G_GUINT64_FORMAT, record->line);
  const char *key = record->key;

  switch (record->kind)
    {
    case DROVER_GCODE_FINDING_EEPROM:
      if (g_str_equal (key, "M500"))
        return g_strdup_printf (_("Line %s saves the printer’s settings for good (M500): a print job must not change them."), line);
      if (g_str_equal (key, "M501"))
        return g_strdup_printf (_("Line %s reloads the printer’s saved settings, dropping the ones in use (M501)."), line);
      if (g_str_equal (key, "M502"))
        return g_strdup_printf (_("Line %s resets the printer’s settings to factory defaults (M502), losing its calibration once saved."), line);
      return g_strdup_printf (_("Line %s saves Klipper’s configuration and restarts it (%s)."), line, key);

    case DROVER_GCODE_FINDING_FIRMWARE:
      return g_strdup_printf (_("Line %s starts a firmware update (%s)."), line, key);

    case DROVER_GCODE_FINDING_SD_WRITE:
      if (g_str_equal (key, "M28"))
        return g_strdup_printf (_("Line %s writes a file onto the printer’s SD card (M28)."), line);
      if (g_str_equal (key, "M29"))
        return g_strdup_printf (_("Line %s ends writing a file onto the printer’s SD card (M29)."), line);
      if (g_str_equal (key, "M30"))
        return g_strdup_printf (_("Line %s deletes a file from the printer’s SD card (M30)."), line);
      return g_strdup_printf (_("Line %s starts logging to a file on the printer’s SD card (%s)."), line, key);

    case DROVER_GCODE_FINDING_PID_TUNE:
      if (g_str_equal (key, "M301"))
        return g_strdup_printf (_("Line %s changes how the hotend heater is controlled (M301)."), line);
      if (g_str_equal (key, "M304"))
        return g_strdup_printf (_("Line %s changes how the bed heater is controlled (M304)."), line);
      return g_strdup_printf (_("Line %s runs a heater autotune, which heats and cools on its own (%s)."), line, key);

    case DROVER_GCODE_FINDING_COLD_EXTRUSION:
      return g_strdup_printf (_("Line %s allows extruding with a cold hotend, which grinds or jams the filament (%s)."), line, key);

    case DROVER_GCODE_FINDING_ENDSTOPS_OFF:
      if (g_str_equal (key, "M211"))
        return g_strdup_printf (_("Line %s turns the software endstops off, so moves can run into the frame (M211 S0)."), line);
      return g_strdup_printf (_("Line %s turns the endstops off (%s)."), line, key);

    case DROVER_GCODE_FINDING_PIN_WRITE:
      if (g_str_equal (key, "M260"))
        return g_strdup_printf (_("Line %s sends data on the controller board’s I²C bus (M260)."), line);
      return g_strdup_printf (_("Line %s sets or toggles the controller board’s pins directly (%s)."), line, key);

    case DROVER_GCODE_FINDING_HOST_ACTION:
      return g_strdup_printf (_("Line %s tells the print server to do “%s” (M118 action), which can pause or cancel jobs."),
                              line, record->detail != NULL ? record->detail : "");

    case DROVER_GCODE_FINDING_EMERGENCY:
      if (g_str_equal (key, "M112"))
        return g_strdup_printf (_("Line %s stops the printer at once, as the emergency stop does (M112)."), line);
      if (g_str_equal (key, "M410"))
        return g_strdup_printf (_("Line %s stops all motors at once and loses their position (M410)."), line);
      if (g_str_equal (key, "M999"))
        return g_strdup_printf (_("Line %s restarts the printer after it stopped for an error, such as a heater fault (M999)."), line);
      return g_strdup_printf (_("Line %s restarts the printer’s firmware (%s)."), line, key);

    case DROVER_GCODE_FINDING_HOTEND_LIMIT:
      {
        g_autofree char *value = format_number (record->value);
        g_autofree char *limit = format_number (record->limit);

        if (record->tool >= 0)
          return g_strdup_printf (_("Line %s heats tool %d to %s °C, over this printer’s limit of %s °C."),
                                  line, record->tool, value, limit);
        return g_strdup_printf (_("Line %s heats the hotend to %s °C, over this printer’s limit of %s °C."),
                                line, value, limit);
      }

    case DROVER_GCODE_FINDING_BED_LIMIT:
      {
        g_autofree char *value = format_number (record->value);
        g_autofree char *limit = format_number (record->limit);

        return g_strdup_printf (_("Line %s heats the bed to %s °C, over this printer’s limit of %s °C."),
                                line, value, limit);
      }

    case DROVER_GCODE_FINDING_OUT_OF_VOLUME:
      {
        g_autofree char *value = format_number (record->value);
        g_autofree char *size = format_number (record->limit);
        const char *axis = record->axis == 0 ? "X" : record->axis == 1 ? "Y" : "Z";

        return g_strdup_printf (_("Line %s moves %s to %s mm, outside the build volume (0 to %s mm)."),
                                line, axis, value, size);
      }

    case DROVER_GCODE_FINDING_HUGE_LINE:
      if (record->dangerous)
        return g_strdup_printf (_("Line %s is a command longer than 64 KiB; only its first 64 KiB were checked."), line);
      return g_strdup_printf (_("Line %s is longer than 64 KiB; only its first 64 KiB were checked."), line);

    case DROVER_GCODE_FINDING_NOT_UTF8:
      return g_strdup_printf (_("Line %s holds bytes that are not UTF-8 text."), line);

    default:
      g_return_val_if_reached (NULL);
    }
}

static int
compare_records (gconstpointer a,
                 gconstpointer b)
{
  const Record *record_a = *(const Record * const *) a;
  const Record *record_b = *(const Record * const *) b;

  return (record_a->line > record_b->line) - (record_a->line < record_b->line);
}

static void
decide_verdict (DroverGcodeScan   *self,
                DroverGcodeReport *report)
{
  if (self->bytes == 0)
    {
      report->verdict = DROVER_GCODE_VERDICT_EMPTY;
      report->verdict_reason = g_strdup (_("The file is empty."));
    }
  else if (self->head_len == 4 && memcmp (self->head, "GCDE", 4) == 0)
    {
      report->verdict = DROVER_GCODE_VERDICT_BINARY;
      report->verdict_reason = g_strdup (_("This is binary G-code (bgcode), which cannot be checked: export it as plain G-code."));
    }
  else if (self->nul_bytes > 0)
    {
      g_autofree char *line = g_strdup_printf ("%" G_GUINT64_FORMAT, self->first_nul_line);

      report->verdict = DROVER_GCODE_VERDICT_BINARY;
      report->verdict_reason = g_strdup_printf (_("Line %s holds NUL bytes: this is a binary file, not G-code."), line);
    }
  else if (self->control_bytes * 100 > self->bytes)
    {
      report->verdict = DROVER_GCODE_VERDICT_BINARY;
      report->verdict_reason = g_strdup (_("Over one byte in a hundred is a control character: this is a binary file, not G-code."));
    }
  else if (self->text_lines == 0)
    {
      report->verdict = DROVER_GCODE_VERDICT_EMPTY;
      report->verdict_reason = g_strdup (_("The file holds only whitespace."));
    }
  /* A few odd lines do not make a sliced file prose; one in twenty does. */
  else if (self->prose_lines > 0 &&
           self->prose_lines * 20 > self->commands + self->word_lines + self->prose_lines)
    {
      g_autofree char *line = g_strdup_printf ("%" G_GUINT64_FORMAT, self->first_prose_line);
      g_autofree char *first = g_strdup_printf (_("Line %s is text, not G-code: “%s”"), line, self->first_prose);

      report->verdict = DROVER_GCODE_VERDICT_NOT_GCODE;
      if (self->prose_lines > 1)
        {
          guint64 more = self->prose_lines - 1;
          g_autofree char *count = g_strdup_printf ("%" G_GUINT64_FORMAT, more);
          g_autofree char *rest = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                                "%s more line is not G-code either.",
                                                                "%s more lines are not G-code either.",
                                                                (gulong) MIN (more, G_MAXULONG)),
                                                   count);

          report->verdict_reason = g_strconcat (first, " ", rest, NULL);
        }
      else
        {
          report->verdict_reason = g_steal_pointer (&first);
        }
    }
  else if (self->commands == 0)
    {
      report->verdict = DROVER_GCODE_VERDICT_NOT_GCODE;
      report->verdict_reason = g_strdup (_("The file has no G-code commands, only comments."));
    }
  else
    {
      g_autofree char *commands = g_strdup_printf ("%" G_GUINT64_FORMAT, self->commands);
      g_autofree char *lines = g_strdup_printf ("%" G_GUINT64_FORMAT, self->lines);

      report->verdict = DROVER_GCODE_VERDICT_GCODE;
      report->verdict_reason = g_strdup_printf (_("G-code: %s commands in %s lines."), commands, lines);
    }
}

/**
 * drover_gcode_scan_finish:
 * @scan: a scan
 *
 * Ends the scan: the bytes fed so far are the whole file. Free @scan with
 * drover_gcode_scan_free() afterwards; it takes no more bytes.
 *
 * Returns: (transfer full): the report
 */
DroverGcodeReport *
drover_gcode_scan_finish (DroverGcodeScan *scan)
{
  DroverGcodeScan *self = scan;
  DroverGcodeReport *report;
  guint64 layer_comments = 0;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (!self->finished, NULL);

  /* The last line, if no terminator ended it. */
  if (self->skipping)
    {
      self->skipping = FALSE;
      self->lines++;
    }
  else if (self->carry_len > 0)
    {
      scan_carried_line (self, self->carry_len, FALSE);
      self->lines++;
    }
  self->finished = TRUE;

  report = g_new0 (DroverGcodeReport, 1);
  report->bytes = self->bytes;
  report->lines = self->lines;
  report->commands = self->commands;
  for (guint i = 0; i < N_LAYER_COMMENTS; i++)
    layer_comments = MAX (layer_comments, self->layer_comments[i]);
  report->layers = layer_comments > 0 ? layer_comments : self->height_layers;
  report->filament_mm = self->filament;
  report->bounds_valid = self->bounds_valid;
  if (self->bounds_valid)
    {
      report->min_x = self->min[0];
      report->min_y = self->min[1];
      report->min_z = self->min[2];
      report->max_x = self->max[0];
      report->max_y = self->max[1];
      report->max_z = self->max[2];
    }
  report->max_hotend_seen = self->max_hotend_seen;
  report->max_bed_seen = self->max_bed_seen;

  decide_verdict (self, report);

  g_ptr_array_sort (self->records, compare_records);
  report->findings = g_ptr_array_new_with_free_func ((GDestroyNotify) finding_free);
  for (guint i = 0; i < self->records->len; i++)
    {
      Record *record = g_ptr_array_index (self->records, i);
      DroverGcodeFinding *finding = g_new0 (DroverGcodeFinding, 1);

      finding->kind = record->kind;
      finding->line = record->line;
      finding->command = g_strdup (record->command != NULL ? record->command : "");
      finding->reason = describe_record (record);
      finding->count = record->count;
      finding->dangerous = record->dangerous;
      g_ptr_array_add (report->findings, finding);
    }

  return report;
}

/**
 * drover_gcode_report_free:
 * @report: (nullable): a report
 */
void
drover_gcode_report_free (DroverGcodeReport *report)
{
  if (report == NULL)
    return;

  g_free (report->verdict_reason);
  g_clear_pointer (&report->findings, g_ptr_array_unref);
  g_free (report);
}

/**
 * drover_gcode_report_is_dangerous:
 * @report: a report
 *
 * Whether a finding makes the file unsafe to print: any command of the
 * kinds up to %DROVER_GCODE_FINDING_OUT_OF_VOLUME, or a command longer than
 * 64 KiB. A long comment or bytes that are not UTF-8 are not dangerous by
 * themselves. The verdict is apart: a file that is not G-code is not
 * dangerous, it is not a print job.
 *
 * Returns: %TRUE if the file should not be printed as it is
 */
gboolean
drover_gcode_report_is_dangerous (const DroverGcodeReport *report)
{
  g_return_val_if_fail (report != NULL, FALSE);

  for (guint i = 0; i < report->findings->len; i++)
    {
      const DroverGcodeFinding *finding = g_ptr_array_index (report->findings, i);

      if (finding->dangerous)
        return TRUE;
    }

  return FALSE;
}

/* JSON has no infinity: a value that is not finite is null. */
static void
add_double (JsonBuilder *builder,
            const char  *name,
            double       value)
{
  if (name != NULL)
    json_builder_set_member_name (builder, name);
  if (isfinite (value))
    json_builder_add_double_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static void
add_int (JsonBuilder *builder,
         const char  *name,
         guint64      value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_int_value (builder, (gint64) MIN (value, (guint64) G_MAXINT64));
}

static void
add_string (JsonBuilder *builder,
            const char  *name,
            const char  *value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

/**
 * drover_gcode_report_to_json:
 * @report: a report
 *
 * The report as one JSON object on one line, for scripts: `verdict`
 * ("gcode", "empty", "not-gcode", "binary"), `verdict_reason`,
 * `dangerous`, `bytes`, `lines`, `commands`, `layers`, `filament_mm`,
 * `bounds` (`{"min": [x, y, z], "max": [x, y, z]}` or null),
 * `max_hotend_seen`, `max_bed_seen` and `findings`, each with `kind` (as
 * drover_gcode_finding_kind_to_string()), `line`, `command`, `reason`,
 * `count` and `dangerous`.
 *
 * Returns: (transfer full): the JSON text
 */
char *
drover_gcode_report_to_json (const DroverGcodeReport *report)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (report != NULL, NULL);

  json_builder_begin_object (builder);
  add_string (builder, "verdict", drover_gcode_verdict_to_string (report->verdict));
  add_string (builder, "verdict_reason", report->verdict_reason);
  json_builder_set_member_name (builder, "dangerous");
  json_builder_add_boolean_value (builder, drover_gcode_report_is_dangerous (report));
  add_int (builder, "bytes", report->bytes);
  add_int (builder, "lines", report->lines);
  add_int (builder, "commands", report->commands);
  add_int (builder, "layers", report->layers);
  add_double (builder, "filament_mm", report->filament_mm);

  json_builder_set_member_name (builder, "bounds");
  if (report->bounds_valid)
    {
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "min");
      json_builder_begin_array (builder);
      add_double (builder, NULL, report->min_x);
      add_double (builder, NULL, report->min_y);
      add_double (builder, NULL, report->min_z);
      json_builder_end_array (builder);
      json_builder_set_member_name (builder, "max");
      json_builder_begin_array (builder);
      add_double (builder, NULL, report->max_x);
      add_double (builder, NULL, report->max_y);
      add_double (builder, NULL, report->max_z);
      json_builder_end_array (builder);
      json_builder_end_object (builder);
    }
  else
    {
      json_builder_add_null_value (builder);
    }

  add_double (builder, "max_hotend_seen", report->max_hotend_seen);
  add_double (builder, "max_bed_seen", report->max_bed_seen);

  json_builder_set_member_name (builder, "findings");
  json_builder_begin_array (builder);
  for (guint i = 0; i < report->findings->len; i++)
    {
      const DroverGcodeFinding *finding = g_ptr_array_index (report->findings, i);

      json_builder_begin_object (builder);
      add_string (builder, "kind", drover_gcode_finding_kind_to_string (finding->kind));
      add_int (builder, "line", finding->line);
      add_string (builder, "command", finding->command);
      add_string (builder, "reason", finding->reason);
      add_int (builder, "count", finding->count);
      json_builder_set_member_name (builder, "dangerous");
      json_builder_add_boolean_value (builder, finding->dangerous);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);

  return json_generator_to_data (generator, NULL);
}

/**
 * drover_gcode_report_describe:
 * @report: a report
 *
 * A summary for a row or a toast: why a file is not G-code, the first
 * reason it is unsafe, or what it prints.
 *
 * Returns: (transfer full): one or two translated sentences
 */
char *
drover_gcode_report_describe (const DroverGcodeReport *report)
{
  const DroverGcodeFinding *first = NULL;
  guint dangerous = 0;

  g_return_val_if_fail (report != NULL, NULL);

  if (report->verdict != DROVER_GCODE_VERDICT_GCODE)
    return g_strdup (report->verdict_reason);

  for (guint i = 0; i < report->findings->len; i++)
    {
      const DroverGcodeFinding *finding = g_ptr_array_index (report->findings, i);

      if (finding->dangerous)
        {
          if (first == NULL)
            first = finding;
          dangerous++;
        }
    }

  if (first != NULL)
    {
      if (dangerous == 1)
        return g_strdup_printf (_("Unsafe to print. %s"), first->reason);
      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                           "Unsafe to print. %s There is %u more problem.",
                                           "Unsafe to print. %s There are %u more problems.",
                                           dangerous - 1),
                              first->reason, dangerous - 1);
    }
  else
    {
      g_autofree char *layers = g_strdup_printf ("%" G_GUINT64_FORMAT, report->layers);
      g_autofree char *metres = g_strdup_printf ("%.2f", report->filament_mm / 1000);

      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                           "G-code for %s layer and %s m of filament; nothing unsafe found.",
                                           "G-code for %s layers and %s m of filament; nothing unsafe found.",
                                           (gulong) MIN (report->layers, G_MAXULONG)),
                              layers, metres);
    }
}

/**
 * drover_gcode_scan_stream:
 * @stream: the file's bytes, read to the end
 * @limits: (nullable): what the printer can take; %NULL for the defaults
 * @cancellable: (nullable): to stop between reads
 * @error: the reading error
 *
 * Scans a stream in one pass, 1 MiB at a time. It blocks: call it from a
 * worker thread, or use drover_gcode_scan_file_async().
 *
 * Returns: (transfer full): the report, or %NULL with @error set (the
 *   stream's #GIOError, %G_IO_ERROR_CANCELLED when cancelled)
 */
DroverGcodeReport *
drover_gcode_scan_stream (GInputStream             *stream,
                          const DroverGcodeLimits  *limits,
                          GCancellable             *cancellable,
                          GError                  **error)
{
  g_autoptr(DroverGcodeScan) scan = NULL;
  g_autofree guint8 *buffer = NULL;

  g_return_val_if_fail (G_IS_INPUT_STREAM (stream), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  scan = drover_gcode_scan_new (limits);
  buffer = g_malloc (READ_SIZE);

  for (;;)
    {
      gssize n;

      /* Not every stream checks @cancellable itself (memory streams do not). */
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      n = g_input_stream_read (stream, buffer, READ_SIZE, cancellable, error);
      if (n < 0)
        return NULL;
      if (n == 0)
        break;
      drover_gcode_scan_feed (scan, buffer, n);
    }

  return drover_gcode_scan_finish (scan);
}

static void
scan_file_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  GFile *file = g_object_get_data (G_OBJECT (task), "drover-file");
  const DroverGcodeLimits *limits = task_data;
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  DroverGcodeReport *report;

  stream = g_file_read (file, cancellable, &error);
  if (stream == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  report = drover_gcode_scan_stream (G_INPUT_STREAM (stream), limits, cancellable, &error);
  if (report == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, report, (GDestroyNotify) drover_gcode_report_free);
}

/**
 * drover_gcode_scan_file_async:
 * @file: the G-code file
 * @limits: (nullable): what the printer can take; %NULL for the defaults
 * @cancellable: (nullable): to stop the scan
 * @callback: called in the thread-default main context when done
 * @user_data: for @callback
 *
 * Scans a file in a worker thread; get the report with
 * drover_gcode_scan_file_finish().
 */
void
drover_gcode_scan_file_async (GFile                   *file,
                              const DroverGcodeLimits *limits,
                              GCancellable            *cancellable,
                              GAsyncReadyCallback      callback,
                              gpointer                 user_data)
{
  g_autoptr(GTask) task = NULL;
  DroverGcodeLimits *copy = g_new0 (DroverGcodeLimits, 1);

  g_return_if_fail (G_IS_FILE (file));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (limits != NULL)
    *copy = *limits;
  else
    drover_gcode_limits_init_default (copy);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, drover_gcode_scan_file_async);
  g_task_set_task_data (task, copy, g_free);
  g_object_set_data_full (G_OBJECT (task), "drover-file", g_object_ref (file), g_object_unref);
  g_task_run_in_thread (task, scan_file_thread);
}

/**
 * drover_gcode_scan_file_finish:
 * @result: the result given to the callback
 * @error: why the file could not be read (a #GIOError: not found, no
 *   permission, cancelled)
 *
 * Returns: (transfer full): the report, or %NULL with @error set
 */
DroverGcodeReport *
drover_gcode_scan_file_finish (GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == drover_gcode_scan_file_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
