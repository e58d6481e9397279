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
 * Reading a line and applying it are apart: parse_lines() turns lines into
 * Parsed records without touching the scan, apply_lines() then moves the
 * printer in order. drover_gcode_scan_stream() uses that to parse the
 * blocks it reads in several threads at once, applying each block after the
 * one before it, with the same results as one thread.
 *
 * Two environment variables force a path, for the tests and the benchmark:
 * DROVER_GCODE_SCAN_SIMD ("avx2", "sse2" or "none": byte by byte) and
 * DROVER_GCODE_SCAN_THREADS (1 for one thread).
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
 * branch per byte (parse_simple_line(), parse_move_sse2()). AVX2 reads the
 * common line, a move, with a fifth fewer instructions (parse_move_avx2()),
 * where the processor has it: chosen at run time, as Debian builds for the
 * x86-64 baseline. Elsewhere every line takes the byte by byte path, which
 * gives the same results. */
#if defined(__x86_64__) || defined(__i386__)
# include <immintrin.h>
# if defined(__SSE2__)
#  define HAVE_SIMPLE_LINES 1
# endif
# if defined(__GNUC__)
#  define HAVE_AVX2_LINES 1
# endif
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
/* How far past the start of a line parse_simple_line(), parse_move_sse2()
 * and parse_move_avx2() read. */
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

/* How lines are read; each gives the same results. */
typedef enum
{
  SIMD_NONE,  /* byte by byte */
  SIMD_SSE2,
  SIMD_AVX2,
} SimdLevel;

/* A line read ahead of applying it (parse_lines(), apply_lines()): a plain
 * G0 or G1, or any other line, to be read again when its turn comes. A
 * record takes 40 bytes, where a Line takes 280. */
enum
{
  PARSED_X       = 1 << 0,
  PARSED_Y       = 1 << 1,
  PARSED_Z       = 1 << 2,
  PARSED_E       = 1 << 3,
  PARSED_AXES    = 0x0f,
  PARSED_G1      = 1 << 4,   /* G1, not G0 */
  PARSED_OTHER   = 1 << 5,   /* not a plain move */
  PARSED_LENGTH_SHIFT = 8,   /* the command's length, to its checksum or terminator */
};

typedef struct
{
  guint32 start;      /* a move's command, any other line's first byte, from the block's start */
  guint32 info;       /* PARSED_ flags and length */
  double  values[4];  /* X, Y, Z, E, those given */
} Parsed;

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

/* Where the file takes the printer. Apart from the rest of the scan so
 * that apply_moves() can keep it in registers for a run of moves: this
 * project builds without strict aliasing, so the compiler would otherwise
 * reload every field after each store to another. */
typedef struct
{
  double   position[3];   /* in the printer's coordinates */
  double   offset[3];     /* G92: the printer's coordinates minus the file's */
  double   extruder;      /* E as the file counts it */
  gboolean relative;
  gboolean extruder_relative;
  double   filament;
  guint64  height_layers;
  double   last_extruding_z;
  gboolean bounds_valid;
  double   min[3];
  double   max[3];
} Motion;

struct _DroverGcodeScan
{
  DroverGcodeLimits  limits;
  SimdLevel          simd;

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
  Motion             motion;
  gboolean           volume_checked;
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

/* Plain moves */

#ifdef HAVE_SIMPLE_LINES

/*
 * parse_simple_line() for the most common line, a G0 or G1, straight into
 * its record: without filling a Line only to copy four of its values. Each
 * word is checked as parse_simple_line() checks it; only X, Y, Z and E are
 * kept, each given once, as they are all a move reads.
 *
 * Returns: the line's length to its terminator, or 0 for any other line
 */
G_ALWAYS_INLINE static inline guint
parse_move_sse2 (const guint8 *p,
                 Parsed       *parsed)
{
  guint64 spaces = 0;
  guint64 ends = 0;
  guint64 points = 0;
  guint64 inside;
  guint64 bounds;
  guint64 starts;
  guint axes = 0;
  guint length;

  if ((p[0] | 0x20) != 'g' || (p[1] != '0' && p[1] != '1'))
    return 0;

  classify_bytes (p, 0, &spaces, &ends, &points);
  classify_bytes (p + 16, 16, &spaces, &ends, &points);
  if (ends == 0)
    {
      classify_bytes (p + 32, 32, &spaces, &ends, &points);
      classify_bytes (p + 48, 48, &spaces, &ends, &points);
      if (ends == 0)
        return 0;
    }

  length = count_trailing_zeros (ends);
  inside = (G_GUINT64_CONSTANT (1) << length) - 1;
  spaces &= inside;
  points &= inside;
  bounds = spaces | (G_GUINT64_CONSTANT (1) << length);
  /* "G1" and a space or the end: not "G10" or "G1.5". */
  if ((bounds & 4) == 0)
    return 0;

  for (starts = ~spaces & (spaces << 1) & inside; starts != 0; starts &= starts - 1)
    {
      guint start = count_trailing_zeros (starts);
      guint end = start + count_trailing_zeros (bounds >> start);
      guint index = (p[start] | 0x20) - 'a';
      guint first = start + 1;
      gboolean negative = p[first] == '-';
      guint number_length;
      guint axis;
      double value;

      first += negative || p[first] == '+';
      number_length = end - first;
      if (index >= 26 || number_length == 0)
        return 0;

      if (G_LIKELY (number_length <= 8))
        {
          guint64 point_bits = (points >> first) & ((G_GUINT64_CONSTANT (1) << number_length) - 1);

          if (!read_short_number (load_word (p + first), number_length, point_bits, &value))
            return 0;
          if (negative)
            value = -value;
        }
      else if (parse_number (p + start + 1, &value) != p + end)
        {
          return 0;
        }

      axis = index == 'x' - 'a' ? 0 : index == 'y' - 'a' ? 1 : index == 'z' - 'a' ? 2 : index == 'e' - 'a' ? 3 : 4;
      if (axis < 4)
        {
          if (axes & (1u << axis))
            return 0;
          axes |= 1u << axis;
          parsed->values[axis] = value;
        }
    }

  parsed->info = axes | (p[1] == '1' ? PARSED_G1 : 0) | length << PARSED_LENGTH_SHIFT;

  return length;
}

#endif

#ifdef HAVE_AVX2_LINES

#define AVX2_TARGET __attribute__ ((target ("avx2,bmi,bmi2")))

/* Where the first 64 bytes of a line hold which bytes, a bit per byte;
 * its end is known beforehand (index_lines_avx2()). */
typedef struct
{
  guint64 spaces;
  guint64 points;
  guint64 signs;    /* "-", "+" */
  guint64 letters;
  guint64 plain;    /* spaces, points, signs, letters and digits */
  guint64 axes[4];  /* "X", "Y", "Z", "E", in either case */
} MoveMasks;

/*
 * Where the number of the word at @start is: it begins at @first and is
 * @length bytes long, with its first point at @at (@length when it has
 * none). Its bytes are digits and points (check_move()); whether it has
 * digits and at most one point is checked on its gathered digits.
 *
 * Returns: 1 for a number of one to eight bytes; 2 for a longer one,
 *   whose value parse_number() then puts in @value; 0 for anything else
 */
G_ALWAYS_INLINE static inline guint
locate_number (const guint8    *p,
               const MoveMasks *masks,
               guint64          bounds,
               guint            start,
               guint           *first,
               guint           *length,
               guint           *at,
               double          *value)
{
  guint end = start + count_trailing_zeros (bounds >> start);

  *first = start + 1 + ((masks->signs >> (start + 1)) & 1);
  *length = end - *first;
  if (G_UNLIKELY (*length - 1 >= 8))
    return *length != 0 && parse_number (p + start + 1, value) == p + end ? 2 : 0;
  *at = count_trailing_zeros (masks->points >> *first | G_GUINT64_CONSTANT (1) << *length);

  return 1;
}

/*
 * Whether the line at @p, @length bytes before its terminator (under 64),
 * is a plain move, "G1 X84.381 Y139.541 E.04033": a G0 or G1 of words each
 * made of a letter, perhaps a sign and a number, with spaces between them.
 * The masks check the whole line at once: only those bytes, letters only
 * where words start, signs only after them, X, Y, Z and E at most once.
 * Those four are all a move reads; the others (F) need no reading.
 *
 * Returns: %FALSE for any other line, which parse_any_line() then reads
 *   with the same results
 */
G_ALWAYS_INLINE static inline gboolean
check_move (const guint8    *p,
            guint            length,
            const MoveMasks *masks,
            guint64         *bounds)
{
  guint64 inside = (G_GUINT64_CONSTANT (1) << length) - 1;
  guint64 spaces = masks->spaces & inside;
  guint64 starts = inside & ~spaces & (spaces << 1 | 1);
  guint64 x = masks->axes[0] & starts;
  guint64 y = masks->axes[1] & starts;
  guint64 z = masks->axes[2] & starts;
  guint64 e = masks->axes[3] & starts;
  guint64 twice = (x & (x - 1)) | (y & (y - 1)) | (z & (z - 1)) | (e & (e - 1));

  /* "G0" or "G1" alone: "G10" and "G1.5" are not moves, "G01" is left to
   * parse_any_line(). */
  *bounds = spaces | G_GUINT64_CONSTANT (1) << length;

  return (masks->plain & inside) == inside && (masks->letters & inside) == starts &&
         (masks->signs & inside & ~(starts << 1)) == 0 && twice == 0 &&
         (p[1] == '0' || p[1] == '1') && (*bounds & 4) != 0;
}

/* For a number by its length (1 to 8 bytes) and where its point is (the
 * length when it has none): the pshufb control that keeps its digits, the
 * last at byte 7, zeros before them (a control byte of 0x80 gives a zero);
 * and what to divide it by, 10 to the number of decimals. Rows of 16, so
 * that finding an entry takes a shift. Set once by init_number_tables(). */
typedef struct
{
  guint64 control;
  double  divisor;
} NumberShape;

static NumberShape number_shapes[9][16];

/* The sign bits of four doubles, for each set of negative ones: flipping
 * the sign negates exactly, as parse_number() does. */
#define SIGN_BIT G_GUINT64_CONSTANT (0x8000000000000000)
#define SIGNS(n) { ((n) & 1) ? SIGN_BIT : 0, ((n) & 2) ? SIGN_BIT : 0, ((n) & 4) ? SIGN_BIT : 0, ((n) & 8) ? SIGN_BIT : 0 }

static const guint64 sign_masks[16][4] = {
  SIGNS (0), SIGNS (1), SIGNS (2), SIGNS (3), SIGNS (4), SIGNS (5), SIGNS (6), SIGNS (7),
  SIGNS (8), SIGNS (9), SIGNS (10), SIGNS (11), SIGNS (12), SIGNS (13), SIGNS (14), SIGNS (15),
};

#undef SIGNS
#undef SIGN_BIT

static void
init_number_tables (void)
{
  static gsize done = 0;

  if (!g_once_init_enter (&done))
    return;

  for (guint length = 1; length <= 8; length++)
    {
      for (guint at = 0; at <= length; at++)
        {
          guint count = length - (at < length);
          guint8 control[8];

          for (guint i = 0; i < 8; i++)
            {
              /* Which digit byte i holds, from the first; past the point
               * they come a byte later. */
              int digit = (int) i - (int) (8 - count);

              control[i] = digit < 0 ? 0x80 : digit + (digit >= (int) at);
            }
          /* A point alone is no number: gathering the point makes
           * parse_move_avx2() refuse the line, as it does a second point
           * among the digits. */
          if (count == 0)
            control[7] = 0;
          memcpy (&number_shapes[length][at].control, control, sizeof control);
          number_shapes[length][at].divisor = powers_of_ten[count - at];
        }
    }

  g_once_init_leave (&done, 1);
}

/*
 * Classes of bytes by their two halves: a byte is in a class when both its
 * low and its high nibble have the class's bit in these tables, so one
 * lookup in each gives all classes at once, with few constants (each one
 * costs three instructions a line when the compiler runs out of
 * registers). First: space (0x20), point (0x2e), sign (0x2b, 0x2d), digit,
 * letters A-O and a-o, letters P-Z and p-z; then X, Y, Z and E, either
 * case.
 */
enum
{
  BYTE_SPACE      = 1 << 0,
  BYTE_POINT      = 1 << 1,
  BYTE_SIGN       = 1 << 2,
  BYTE_DIGIT      = 1 << 3,
  BYTE_LETTER_A_O = 1 << 4,
  BYTE_LETTER_P_Z = 1 << 5,
};

static const guint8 byte_classes_low[32] = {
#define LOW_NIBBLES \
  BYTE_SPACE | BYTE_DIGIT | BYTE_LETTER_P_Z, \
  BYTE_DIGIT | BYTE_LETTER_A_O | BYTE_LETTER_P_Z, \
  BYTE_DIGIT | BYTE_LETTER_A_O | BYTE_LETTER_P_Z, \
  BYTE_DIGIT | BYTE_LETTER_A_O | BYTE_LETTER_P_Z, \
  BYTE_DIGIT | BYTE_LETTER_A_O | BYTE_LETTER_P_Z, \
  BYTE_DIGIT | BYTE_LETTER_A_O | BYTE_LETTER_P_Z, \
  BYTE_DIGIT | BYTE_LETTER_A_O | BYTE_LETTER_P_Z, \
  BYTE_DIGIT | BYTE_LETTER_A_O | BYTE_LETTER_P_Z, \
  BYTE_DIGIT | BYTE_LETTER_A_O | BYTE_LETTER_P_Z, \
  BYTE_DIGIT | BYTE_LETTER_A_O | BYTE_LETTER_P_Z, \
  BYTE_LETTER_A_O | BYTE_LETTER_P_Z, \
  BYTE_SIGN | BYTE_LETTER_A_O, \
  BYTE_LETTER_A_O, \
  BYTE_SIGN | BYTE_LETTER_A_O, \
  BYTE_POINT | BYTE_LETTER_A_O, \
  BYTE_LETTER_A_O
  LOW_NIBBLES, LOW_NIBBLES
#undef LOW_NIBBLES
};

static const guint8 byte_classes_high[32] = {
#define HIGH_NIBBLES \
  0, 0, BYTE_SPACE | BYTE_POINT | BYTE_SIGN, BYTE_DIGIT, \
  BYTE_LETTER_A_O, BYTE_LETTER_P_Z, BYTE_LETTER_A_O, BYTE_LETTER_P_Z, \
  0, 0, 0, 0, 0, 0, 0, 0
  HIGH_NIBBLES, HIGH_NIBBLES
#undef HIGH_NIBBLES
};

static const guint8 axis_letters_low[32] = {
#define LOW_NIBBLES 0, 0, 0, 0, 0, 1 << 3, 0, 0, 1 << 0, 1 << 1, 1 << 2, 0, 0, 0, 0, 0
  LOW_NIBBLES, LOW_NIBBLES
#undef LOW_NIBBLES
};

static const guint8 axis_letters_high[32] = {
#define HIGH_NIBBLES 0, 0, 0, 0, 1 << 3, 7, 1 << 3, 7, 0, 0, 0, 0, 0, 0, 0, 0
  HIGH_NIBBLES, HIGH_NIBBLES
#undef HIGH_NIBBLES
};

/* Bit @bit of each byte of @classes, a bit per byte: shifted to the top
 * of its byte for movemask (a shift of 16-bit lanes moves nothing across
 * bytes into a top bit). */
#define CLASS_BITS_AVX2(classes, bit) \
  ((guint64) (guint) _mm256_movemask_epi8 (_mm256_slli_epi16 ((classes), 7 - (bit))))

/* The masks of the 32 bytes at @p, as bits from @shift on. */
AVX2_TARGET static inline void
classify_move_bytes_avx2 (const guint8 *p,
                          guint         shift,
                          MoveMasks    *masks)
{
  __m256i bytes = _mm256_loadu_si256 ((const __m256i *) p);
  __m256i nibble = _mm256_set1_epi8 (0x0f);
  __m256i low = _mm256_and_si256 (bytes, nibble);
  __m256i high = _mm256_and_si256 (_mm256_srli_epi16 (bytes, 4), nibble);
  __m256i classes = _mm256_and_si256 (_mm256_shuffle_epi8 (_mm256_loadu_si256 ((const __m256i *) byte_classes_low), low),
                                      _mm256_shuffle_epi8 (_mm256_loadu_si256 ((const __m256i *) byte_classes_high), high));
  __m256i axes = _mm256_and_si256 (_mm256_shuffle_epi8 (_mm256_loadu_si256 ((const __m256i *) axis_letters_low), low),
                                   _mm256_shuffle_epi8 (_mm256_loadu_si256 ((const __m256i *) axis_letters_high), high));
  guint64 others = (guint) _mm256_movemask_epi8 (_mm256_cmpeq_epi8 (classes, _mm256_setzero_si256 ()));

  masks->spaces |= CLASS_BITS_AVX2 (classes, 0) << shift;
  masks->points |= CLASS_BITS_AVX2 (classes, 1) << shift;
  masks->signs |= CLASS_BITS_AVX2 (classes, 2) << shift;
  masks->letters |= (CLASS_BITS_AVX2 (classes, 4) | CLASS_BITS_AVX2 (classes, 5)) << shift;
  masks->plain |= (~others & 0xffffffff) << shift;
  masks->axes[0] |= CLASS_BITS_AVX2 (axes, 0) << shift;
  masks->axes[1] |= CLASS_BITS_AVX2 (axes, 1) << shift;
  masks->axes[2] |= CLASS_BITS_AVX2 (axes, 2) << shift;
  masks->axes[3] |= CLASS_BITS_AVX2 (axes, 3) << shift;
}

/* The digits of the number of the word at the bit of @word, if any, in
 * @digits (the last at byte 7), its divisor in @divisor, its bit in @axes
 * and whether it is negative in @negatives; a number over eight bytes goes
 * to @long_values instead. Returns %FALSE for a line to read otherwise. */
AVX2_TARGET G_ALWAYS_INLINE static inline gboolean
gather_axis_avx2 (const guint8    *p,
                  const MoveMasks *masks,
                  guint64          bounds,
                  guint64          word,
                  guint            axis,
                  __m128i         *digits,
                  __m128d         *divisor,
                  guint           *axes,
                  guint           *negatives,
                  guint           *long_axes,
                  double           long_values[4])
{
  guint start;
  guint first;
  guint length;
  guint at;

  if (word == 0)
    return TRUE;

  start = count_trailing_zeros (word);
  switch (locate_number (p, masks, bounds, start, &first, &length, &at, &long_values[axis]))
    {
    case 1:
      {
        const NumberShape *shape = &number_shapes[length][at];

        *digits = _mm_shuffle_epi8 (_mm_loadl_epi64 ((const __m128i *) (p + first)),
                                    _mm_loadl_epi64 ((const __m128i *) &shape->control));
        *divisor = _mm_load_sd (&shape->divisor);
        *negatives |= (p[start + 1] == '-') << axis;
        *axes |= 1u << axis;
        return TRUE;
      }
    case 2:
      *axes |= 1u << axis;
      *long_axes |= 1u << axis;
      return TRUE;
    default:
      return FALSE;
    }
}

/*
 * A plain move into @parsed, its four numbers read together: each one's
 * digits are gathered with a pshufb into eight bytes of a register, the
 * four turned into integers in three multiply-adds, then into doubles
 * divided by their powers of ten in one division, rounded as
 * parse_number()'s. Absent axes read as 0, which nothing uses.
 */
AVX2_TARGET G_ALWAYS_INLINE static inline gboolean
parse_move_avx2 (const guint8 *p,
                 guint         length,
                 Parsed       *parsed)
{
  guint64 inside = (G_GUINT64_CONSTANT (1) << length) - 1;
  MoveMasks masks = { 0 };
  guint64 bounds;
  __m128i x = _mm_setzero_si128 ();
  __m128i y = _mm_setzero_si128 ();
  __m128i z = _mm_setzero_si128 ();
  __m128i e = _mm_setzero_si128 ();
  __m128d x_divisor = _mm_set_sd (1);
  __m128d y_divisor = _mm_set_sd (1);
  __m128d z_divisor = _mm_set_sd (1);
  __m128d e_divisor = _mm_set_sd (1);
  guint axes = 0;
  guint negatives = 0;
  guint long_axes = 0;
  double long_values[4];
  __m256i digits;
  __m256i values_or_not;
  __m256i twos;
  __m256i fours;
  __m256i eights;
  __m128i mantissas;
  __m256d values;

  classify_move_bytes_avx2 (p, 0, &masks);
  if (length >= 32)
    classify_move_bytes_avx2 (p + 32, 32, &masks);

  if (!check_move (p, length, &masks, &bounds) ||
      !gather_axis_avx2 (p, &masks, bounds, masks.axes[0] & inside, 0, &x, &x_divisor, &axes, &negatives,
                         &long_axes, long_values) ||
      !gather_axis_avx2 (p, &masks, bounds, masks.axes[1] & inside, 1, &y, &y_divisor, &axes, &negatives,
                         &long_axes, long_values) ||
      !gather_axis_avx2 (p, &masks, bounds, masks.axes[2] & inside, 2, &z, &z_divisor, &axes, &negatives,
                         &long_axes, long_values) ||
      !gather_axis_avx2 (p, &masks, bounds, masks.axes[3] & inside, 3, &e, &e_divisor, &axes, &negatives,
                         &long_axes, long_values))
    return FALSE;

  /* Only digits, and the zeros before them: a point gathered means two
   * points, or a point alone. */
  digits = _mm256_set_m128i (_mm_unpacklo_epi64 (z, e), _mm_unpacklo_epi64 (x, y));
  values_or_not = _mm256_sub_epi8 (digits, _mm256_set1_epi8 ('0'));
  if (_mm256_movemask_epi8 (_mm256_or_si256 (_mm256_cmpeq_epi8 (_mm256_min_epu8 (values_or_not, _mm256_set1_epi8 (9)), values_or_not),
                                             _mm256_cmpeq_epi8 (digits, _mm256_setzero_si256 ()))) != -1)
    return FALSE;
  digits = _mm256_subs_epu8 (digits, _mm256_set1_epi8 ('0'));

  /* Pairs of digits times 10 and 1, pairs of those times 100 and 1, then
   * halves of eight digits times 10000 and 1: X and Y end in the first
   * quarter, Z and E in the third. */
  twos = _mm256_maddubs_epi16 (digits, _mm256_set1_epi16 (0x010a));
  fours = _mm256_madd_epi16 (twos, _mm256_set1_epi32 (0x00010064));
  eights = _mm256_madd_epi16 (_mm256_packus_epi32 (fours, fours), _mm256_set1_epi32 (0x00012710));
  mantissas = _mm256_castsi256_si128 (_mm256_permute4x64_epi64 (eights, _MM_SHUFFLE (3, 1, 2, 0)));
  values = _mm256_div_pd (_mm256_cvtepi32_pd (mantissas),
                          _mm256_set_m128d (_mm_unpacklo_pd (z_divisor, e_divisor), _mm_unpacklo_pd (x_divisor, y_divisor)));
  values = _mm256_xor_pd (values, _mm256_loadu_pd ((const double *) sign_masks[negatives]));
  _mm256_storeu_pd (parsed->values, values);

  for (; long_axes != 0; long_axes &= long_axes - 1)
    {
      guint axis = count_trailing_zeros (long_axes);

      parsed->values[axis] = long_values[axis];
    }
  parsed->info = axes | length << PARSED_LENGTH_SHIFT | (p[1] == '1' ? PARSED_G1 : 0);

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
 * the terminator; with @simd at SIMD_NONE, none is.
 *
 * Returns: the terminator
 */
G_ALWAYS_INLINE static inline const guint8 *
parse_line (const guint8 *p,
            const guint8 *limit,
            SimdLevel     simd,
            Line         *line)
{
#ifdef HAVE_SIMPLE_LINES
  if (simd != SIMD_NONE && G_LIKELY (p + SIMPLE_READ_AHEAD <= limit) && parse_simple_line (p, line))
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

  /* An offset too long to read is infinite, and so is the reach of an
   * arc about it: say so, rather than NaN. */
  if (!isfinite (radius) || !isfinite (center[0]) || !isfinite (center[1]))
    {
      low[0] = low[1] = -INFINITY;
      high[0] = high[1] = INFINITY;
      return;
    }

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
note_move (Motion       *motion,
           const double  low[3],
           const double  high[3],
           gboolean      extruding)
{
  if (extruding)
    {
      motion->min[0] = MIN (motion->min[0], low[0]);
      motion->min[1] = MIN (motion->min[1], low[1]);
      motion->min[2] = MIN (motion->min[2], low[2]);
      motion->max[0] = MAX (motion->max[0], high[0]);
      motion->max[1] = MAX (motion->max[1], high[1]);
      motion->max[2] = MAX (motion->max[2], high[2]);
      motion->bounds_valid = TRUE;

      /* last_extruding_z starts at -∞: the first extruding move is a
       * layer. */
      if (fabs (motion->position[2] - motion->last_extruding_z) > LAYER_TOLERANCE)
        {
          motion->height_layers++;
          motion->last_extruding_z = motion->position[2];
        }
    }
}

static void
scan_arc (DroverGcodeScan *self,
          const Line      *line,
          const double     start[3],
          gboolean         extruding)
{
  const double *end = self->motion.position;
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
  note_move (&self->motion, low, high, extruding && moved);
}

/* Moves the position as a G0 to G3 with @axes (PARSED_X to PARSED_E)
 * given in @values (X, Y, Z, E) does, and keeps where it started in
 * @start. Returns the filament it pushed, negative for a retraction. */
G_ALWAYS_INLINE static inline double
move_position (Motion       *motion,
               guint         axes,
               const double  values[4],
               double        start[3])
{
  double extruded = 0;

  start[0] = motion->position[0];
  start[1] = motion->position[1];
  start[2] = motion->position[2];

  if (axes & PARSED_X)
    motion->position[0] = values[0] + (motion->relative ? start[0] : motion->offset[0]);
  if (axes & PARSED_Y)
    motion->position[1] = values[1] + (motion->relative ? start[1] : motion->offset[1]);
  if (axes & PARSED_Z)
    motion->position[2] = values[2] + (motion->relative ? start[2] : motion->offset[2]);

  if (axes & PARSED_E)
    {
      double value = values[3];

      extruded = motion->extruder_relative ? value : value - motion->extruder;
      motion->extruder = motion->extruder_relative ? motion->extruder + value : value;
      motion->filament += extruded;
    }

  return extruded;
}

/* The axes a straight move from @start to @end moves, as check_volume()
 * takes them. */
static inline guint
moved_axes (const double start[3],
            const double end[3])
{
  return (start[0] != end[0]) | (start[1] != end[1]) << 1 | (start[2] != end[2]) << 2;
}

/* Whether check_volume() finds that a move along an axis of @size ends
 * outside it, at @value. */
static inline gboolean
leaves_axis (double size,
             double value)
{
  return size > 0 && (value < -VOLUME_TOLERANCE || value > size + VOLUME_TOLERANCE);
}

/* Whether check_volume() finds that a straight move to @end, along
 * @axes, leaves the volume; without a loop or an array, so that the
 * position stays in registers. */
G_ALWAYS_INLINE static inline gboolean
leaves_volume (const double volume[3],
               double       x,
               double       y,
               double       z,
               guint        axes)
{
  return ((axes & 1) && leaves_axis (volume[0], x)) || ((axes & 2) && leaves_axis (volume[1], y)) ||
         ((axes & 4) && leaves_axis (volume[2], z));
}

/* A G0 or G1 that moved from @start: travels and retractions change no
 * bounds. */
G_ALWAYS_INLINE static inline void
note_straight_move (Motion       *motion,
                    const double  start[3],
                    double        extruded)
{
  const double *end = motion->position;

  if (extruded > 0 && (start[0] != end[0] || start[1] != end[1] || start[2] != end[2]))
    {
      double low[3] = { MIN (start[0], end[0]), MIN (start[1], end[1]), MIN (start[2], end[2]) };
      double high[3] = { MAX (start[0], end[0]), MAX (start[1], end[1]), MAX (start[2], end[2]) };

      note_move (motion, low, high, TRUE);
    }
}

/* G0 to G3 as parsed into a Line. */
static void
scan_move (DroverGcodeScan *self,
           const Line      *line)
{
  guint32 valued = line->valued;
  guint axes = ((valued & LETTER_BIT ('X')) ? PARSED_X : 0) | ((valued & LETTER_BIT ('Y')) ? PARSED_Y : 0) |
               ((valued & LETTER_BIT ('Z')) ? PARSED_Z : 0) | ((valued & LETTER_BIT ('E')) ? PARSED_E : 0);
  const double values[4] = {
    line_value (line, 'X'), line_value (line, 'Y'), line_value (line, 'Z'), line_value (line, 'E'),
  };
  double start[3];
  double extruded = move_position (&self->motion, axes, values, start);

  if (G_UNLIKELY (line->code >= 2))
    {
      scan_arc (self, line, start, extruded > 0);
    }
  else
    {
      const double *end = self->motion.position;

      if (G_UNLIKELY (self->volume_checked))
        check_volume (self, line, end, end, moved_axes (start, end));
      note_straight_move (&self->motion, start, extruded);
    }
}

/*
 * A run of plain moves from parse_lines(), in the block at @base, from
 * @i: most of a file. The motion is copied into a local for the run, so
 * that the compiler keeps it in registers.
 *
 * Returns: the index of the first record that is not a plain move
 */
static gsize
apply_moves (DroverGcodeScan *self,
             const guint8    *base,
             const Parsed    *parsed,
             gsize            i,
             gsize            count)
{
  const double volume[3] = { self->limits.volume_x, self->limits.volume_y, self->limits.volume_z };
  gboolean volume_checked = self->volume_checked;
  guint64 first_line = self->line_number;
  gsize first = i;
  Motion motion = self->motion;

  for (; i < count && !(parsed[i].info & PARSED_OTHER); i++)
    {
      const Parsed *record = &parsed[i];
      double start[3];
      double extruded = move_position (&motion, record->info & PARSED_AXES, record->values, start);

      if (G_UNLIKELY (volume_checked) &&
          leaves_volume (volume, motion.position[0], motion.position[1], motion.position[2],
                         (start[0] != motion.position[0]) | (start[1] != motion.position[1]) << 1 |
                         (start[2] != motion.position[2]) << 2))
        {
          const double end[3] = { motion.position[0], motion.position[1], motion.position[2] };
          /* What the finding shows of the line. */
          Line line;

          line.letter = 'G';
          line.code = (record->info & PARSED_G1) != 0;
          line.text = base + record->start;
          line.text_end = line.text + (record->info >> PARSED_LENGTH_SHIFT);
          self->line_number = first_line + (i - first);
          check_volume (self, &line, end, end, moved_axes (start, end));
        }
      note_straight_move (&motion, start, extruded);
    }

  self->motion = motion;
  self->commands += i - first;
  self->text_lines += i - first;
  self->lines += i - first;
  self->line_number = first_line + (i - first);

  return i;
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
          self->motion.position[i] = 0;
          self->motion.offset[i] = 0;
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
        self->motion.offset[i] = self->motion.position[i] - line_value (line, axes[i]);
    }
  if (line->valued & LETTER_BIT ('E'))
    self->motion.extruder = line_value (line, 'E');
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
      self->motion.relative = FALSE;
      self->motion.extruder_relative = FALSE;
      break;

    case 91:
      self->motion.relative = TRUE;
      self->motion.extruder_relative = TRUE;
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
      self->motion.extruder_relative = FALSE;
      break;

    case 83:
      self->motion.extruder_relative = TRUE;
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

  parse_line (skip_byte_order_mark (self, start), limit, self->simd, &line);
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

/* Past the terminator at @terminator, in a chunk that goes on after it. */
static inline const guint8 *
next_line (const guint8 *terminator)
{
  return terminator + 1 + (*terminator == '\r' && terminator[1] == '\n');
}

/* Whether a parsed line does nothing but move: most lines of a file. */
static inline gboolean
is_plain_move (const Line *line)
{
  return line->kind == LINE_COMMAND && line->letter == 'G' && line->code <= 1 && !line->odd && line->comment == NULL;
}

/* A line that parse_move_sse2() or parse_move_avx2() did not take, or any
 * line read byte by byte, at @p, into @record; bytes up to @limit can be
 * read. Returns the next line's start. */
static const guint8 *
parse_other_line (SimdLevel     simd,
                  const guint8 *base,
                  const guint8 *p,
                  const guint8 *limit,
                  Parsed       *record)
{
  Line line;
  const guint8 *terminator = parse_line (p, limit, simd, &line);

  if (G_LIKELY (terminator - p <= MAX_LINE) && is_plain_move (&line))
    {
      record->start = line.text - base;
      record->info = ((line.valued & LETTER_BIT ('X')) ? PARSED_X : 0) |
                     ((line.valued & LETTER_BIT ('Y')) ? PARSED_Y : 0) |
                     ((line.valued & LETTER_BIT ('Z')) ? PARSED_Z : 0) |
                     ((line.valued & LETTER_BIT ('E')) ? PARSED_E : 0) |
                     (line.code == 1 ? PARSED_G1 : 0) |
                     (guint32) (line.text_end - line.text) << PARSED_LENGTH_SHIFT;
      record->values[0] = line_value (&line, 'X');
      record->values[1] = line_value (&line, 'Y');
      record->values[2] = line_value (&line, 'Z');
      record->values[3] = line_value (&line, 'E');
    }
  else
    {
      /* Read again when applied: findings need the scan. */
      record->start = p - base;
      record->info = PARSED_OTHER;
    }

  return next_line (terminator);
}

/*
 * Reads the whole lines from @p up to @end, just after a "\n", into
 * @parsed, as many as @capacity holds; offsets count from @base, and bytes
 * up to @limit can be read. It changes nothing but @parsed, so that
 * several threads can parse blocks at once; the first line of the file is
 * not for it (its byte order mark). There is one loop for each way of
 * reading lines, so that each inlines its own.
 *
 * Returns: how many lines it read, with @stop set after the last one
 */
static gsize
parse_lines_simple (SimdLevel      simd,
                    const guint8  *base,
                    const guint8  *p,
                    const guint8  *end,
                    const guint8  *limit,
                    Parsed        *parsed,
                    gsize          capacity,
                    const guint8 **stop)
{
  gsize count = 0;

  while (p < end && count < capacity)
    p = parse_other_line (simd, base, p, limit, &parsed[count++]);

  *stop = p;
  return count;
}

#ifdef HAVE_SIMPLE_LINES
/* The lines as parse_line() reads them with SSE2, plain moves straight
 * into their records. */
static gsize
parse_lines_sse2 (const guint8  *base,
                  const guint8  *p,
                  const guint8  *end,
                  const guint8  *limit,
                  Parsed        *parsed,
                  gsize          capacity,
                  const guint8 **stop)
{
  gsize count = 0;

  while (p < end && count < capacity)
    {
      Parsed *record = &parsed[count++];
      guint length = 0;

      if (G_LIKELY (p + SIMPLE_READ_AHEAD <= limit))
        length = parse_move_sse2 (p, record);
      if (G_LIKELY (length != 0))
        {
          record->start = p - base;
          p = next_line (p + length);
        }
      else
        {
          p = parse_other_line (SIMD_SSE2, base, p, limit, record);
        }
    }

  *stop = p;
  return count;
}

#endif

#ifdef HAVE_AVX2_LINES

/* Which of the 64 bytes at @p are "\n" and "\r". */
AVX2_TARGET static inline void
line_end_masks_avx2 (const guint8 *p,
                     guint64      *newlines,
                     guint64      *returns)
{
  __m256i low = _mm256_loadu_si256 ((const __m256i *) p);
  __m256i high = _mm256_loadu_si256 ((const __m256i *) (p + 32));
  __m256i newline = _mm256_set1_epi8 ('\n');
  __m256i carriage_return = _mm256_set1_epi8 ('\r');

  *newlines = (guint64) (guint) _mm256_movemask_epi8 (_mm256_cmpeq_epi8 (low, newline)) |
              (guint64) (guint) _mm256_movemask_epi8 (_mm256_cmpeq_epi8 (high, newline)) << 32;
  *returns = (guint64) (guint) _mm256_movemask_epi8 (_mm256_cmpeq_epi8 (low, carriage_return)) |
             (guint64) (guint) _mm256_movemask_epi8 (_mm256_cmpeq_epi8 (high, carriage_return)) << 32;
}

/*
 * Where the lines from @p end, up to @end or @capacity lines: each record
 * gets its line's start and length, as a line to read when applied
 * (PARSED_OTHER) until parse_lines_avx2() parses it. The terminators of 64
 * bytes are found at once, as `wc -l` counts lines, so that parsing a line
 * does not wait for the line before it to find its end: the processor
 * parses several lines side by side.
 *
 * Returns: how many lines, with @stop set after the last one
 */
AVX2_TARGET static inline gsize
index_lines_avx2 (const guint8  *base,
                  const guint8  *p,
                  const guint8  *end,
                  const guint8  *limit,
                  Parsed        *parsed,
                  gsize          capacity,
                  const guint8 **stop)
{
  guint32 line_start = p - base;
  guint64 after_return = 0;
  gsize count = 0;

  for (const guint8 *chunk = p; chunk < end && count < capacity; chunk += 64)
    {
      guint64 newlines = 0;
      guint64 returns = 0;
      guint64 terminators;

      if (G_LIKELY (chunk + 64 <= limit))
        {
          line_end_masks_avx2 (chunk, &newlines, &returns);
        }
      else
        {
          for (guint i = 0; chunk + i < limit && i < 64; i++)
            {
              newlines |= (guint64) (chunk[i] == '\n') << i;
              returns |= (guint64) (chunk[i] == '\r') << i;
            }
        }

      /* A "\n" right after a "\r" ends no line: the "\r" did. */
      terminators = returns | (newlines & ~(returns << 1 | after_return));
      after_return = returns >> 63;
      if (end - chunk < 64)
        terminators &= (G_GUINT64_CONSTANT (1) << (end - chunk)) - 1;

      for (; terminators != 0 && count < capacity; terminators &= terminators - 1)
        {
          guint32 terminator = chunk - base + count_trailing_zeros (terminators);

          parsed[count].start = line_start;
          parsed[count].info = PARSED_OTHER | (terminator - line_start) << PARSED_LENGTH_SHIFT;
          count++;
          /* Without "\r" in these bytes, each line starts after the
           * terminator of the one before. */
          line_start = G_LIKELY (returns == 0) ? terminator + 1 : (guint32) (next_line (base + terminator) - base);
        }
    }

  *stop = base + line_start;
  return count;
}

/* Plain moves that parse_move_avx2() did not take, as "G01 X1" or a move
 * of 64 bytes or more; other lines are only read when applied. */
static void
parse_other_moves (const guint8 *base,
                   const guint8 *limit,
                   Parsed       *parsed,
                   gsize         count)
{
  for (gsize i = 0; i < count; i++)
    {
      const guint8 *line = base + parsed[i].start;

      if ((parsed[i].info & PARSED_OTHER) && (line[0] | 0x20) == 'g' && (line[1] == '0' || line[1] == '1'))
        parse_other_line (SIMD_AVX2, base, line, limit, &parsed[i]);
    }
}

/* Where the lines end, then the plain moves, in a loop of their own: it
 * makes no call (lines that are not plain moves are left for
 * parse_other_moves()), so that its constants stay in registers, and it
 * has few variables, so that the masks of a line do too. */
AVX2_TARGET static gsize
parse_lines_avx2 (const guint8  *base,
                  const guint8  *p,
                  const guint8  *end,
                  const guint8  *limit,
                  Parsed        *parsed,
                  gsize          capacity,
                  const guint8 **stop)
{
  gsize count = index_lines_avx2 (base, p, end, limit, parsed, capacity, stop);
  gboolean other_moves = FALSE;

  for (Parsed *record = parsed; record < parsed + count; record++)
    {
      const guint8 *line = base + record->start;
      guint length = record->info >> PARSED_LENGTH_SHIFT;

      if ((line[0] | 0x20) == 'g' &&
          (length >= 64 || limit - line < SIMPLE_READ_AHEAD || !parse_move_avx2 (line, length, record)))
        other_moves = TRUE;
    }
  if (other_moves)
    parse_other_moves (base, limit, parsed, count);

  return count;
}

#endif

static gsize
parse_lines (SimdLevel      simd,
             const guint8  *base,
             const guint8  *p,
             const guint8  *end,
             const guint8  *limit,
             Parsed        *parsed,
             gsize          capacity,
             const guint8 **stop)
{
#ifdef HAVE_AVX2_LINES
  if (simd == SIMD_AVX2)
    return parse_lines_avx2 (base, p, end, limit, parsed, capacity, stop);
#endif
#ifdef HAVE_SIMPLE_LINES
  if (simd == SIMD_SSE2)
    return parse_lines_sse2 (base, p, end, limit, parsed, capacity, stop);
#endif
  return parse_lines_simple (simd, base, p, end, limit, parsed, capacity, stop);
}

/* The whole line at @p, parsed in place and applied; the chunk ends at
 * @end and can be read to @limit. Returns the next line's start. */
static const guint8 *
scan_line_in_place (DroverGcodeScan *self,
                    const guint8    *p,
                    const guint8    *end,
                    const guint8    *limit)
{
  Line line;
  const guint8 *terminator = parse_line (skip_byte_order_mark (self, p), limit, self->simd, &line);

  if (G_LIKELY (terminator - p <= MAX_LINE))
    {
      scan_line (self, &line, p, FALSE);
    }
  else
    {
      memcpy (self->carry, p, MAX_LINE);
      scan_carried_line (self, MAX_LINE, TRUE);
      count_control_bytes (self, p + MAX_LINE, terminator);
    }

  return end_line (self, terminator, end);
}

/* What parse_lines() read, in order, from the block at @base; its lines
 * end before @end, and it can be read to @limit. */
static void
apply_lines (DroverGcodeScan *self,
             const guint8    *base,
             const Parsed    *parsed,
             gsize            count,
             const guint8    *end,
             const guint8    *limit)
{
  gsize i = 0;

  while (i < count)
    {
      if (G_LIKELY (!(parsed[i].info & PARSED_OTHER)))
        {
          i = apply_moves (self, base, parsed, i, count);
        }
      else
        {
          scan_line_in_place (self, base + parsed[i].start, end, limit);
          i++;
        }
    }
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
  /* A few at a time, in the cache. */
  Parsed parsed[64];

  if (G_UNLIKELY (self->line_number == 1))
    p = scan_line_in_place (self, p, end, limit);

  while (p < end)
    {
      const guint8 *stop;
      gsize count = parse_lines (self->simd, p, p, end, limit, parsed, G_N_ELEMENTS (parsed), &stop);

      apply_lines (self, p, parsed, count, end, limit);
      p = stop;
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

/* The fastest way to read lines this processor has, or the one
 * DROVER_GCODE_SCAN_SIMD asks for, if it has it. */
static SimdLevel
choose_simd_level (void)
{
  const char *wanted = g_getenv ("DROVER_GCODE_SCAN_SIMD");
  SimdLevel level = SIMD_NONE;

#if defined(HAVE_SIMPLE_LINES)
  level = SIMD_SSE2;
#endif
#if defined(HAVE_AVX2_LINES)
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("bmi") && __builtin_cpu_supports ("bmi2"))
    {
      init_number_tables ();
      level = SIMD_AVX2;
    }
#endif

  if (wanted != NULL && g_str_equal (wanted, "none"))
    level = SIMD_NONE;
  else if (wanted != NULL && g_str_equal (wanted, "sse2") && level > SIMD_SSE2)
    level = SIMD_SSE2;

  return level;
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

  self->simd = choose_simd_level ();
  self->carry = g_malloc0 (CARRY_SIZE);
  self->line_number = 1;
  self->motion.last_extruding_z = -INFINITY;
  self->volume_checked = self->limits.volume_x > 0 || self->limits.volume_y > 0 || self->limits.volume_z > 0;
  for (guint i = 0; i < 3; i++)
    {
      self->motion.min[i] = INFINITY;
      self->motion.max[i] = -INFINITY;
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

/* The file's size, and its first bytes for the verdict. */
static inline void
note_bytes (DroverGcodeScan *self,
            const guint8    *data,
            gsize            length)
{
  for (gsize i = 0; self->head_len < sizeof self->head && i < length; i++)
    self->head[self->head_len++] = data[i];
  self->bytes += length;
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

  note_bytes (self, data, length);

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
  report->layers = layer_comments > 0 ? layer_comments : self->motion.height_layers;
  report->filament_mm = self->motion.filament;
  report->bounds_valid = self->motion.bounds_valid;
  if (self->motion.bounds_valid)
    {
      report->min_x = self->motion.min[0];
      report->min_y = self->motion.min[1];
      report->min_z = self->motion.min[2];
      report->max_x = self->motion.max[0];
      report->max_y = self->motion.max[1];
      report->max_z = self->motion.max[2];
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
    {
      char text[G_ASCII_DTOSTR_BUF_SIZE];

      /* json-glib 1.6 (Debian 12's) appends ".0" to a double written
       * without a point, exponents too: 1e-08 becomes "1e-08.0", which is
       * not JSON. The double next to it is written with a point. */
      g_ascii_dtostr (text, sizeof text, value);
      if (strchr (text, '.') == NULL && strpbrk (text, "eE") != NULL)
        value = nextafter (value, 0.0);
      json_builder_add_double_value (builder, value);
    }
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

/* drover_gcode_scan_stream() in threads */

/* Parsing takes about four fifths of the time and goes as fast as there
 * are threads; applying, in order, does not. Each thread holds a block and
 * its records. */
#define STREAM_MAX_THREADS 4
#define BLOCK_SIZE         (512 * 1024)
/* Enough for lines of 20 bytes on average; the lines of a block of shorter
 * ones that do not fit are parsed as it is applied. */
#define PARSED_PER_BLOCK   (BLOCK_SIZE / 20)

/* One read: the start of its first line may have come in the block
 * before, the end of its last one in the next; the whole lines between are
 * parsed ahead. */
typedef struct
{
  guint8 *buffer;
  gsize   length;
  gsize   middle;      /* after its first "\n" */
  gsize   middle_end;  /* after its last "\n" */
  Parsed *parsed;
  gsize   count;
  gsize   stop;        /* where parsing ahead stopped */
} Block;

typedef struct
{
  DroverGcodeScan *scan;
  GInputStream    *stream;
  GCancellable    *cancellable;
  guint            max_threads;
  GPtrArray       *threads;         /* GThread, but the caller's */

  GMutex           mutex;
  GCond            cond;
  guint64          blocks_read;
  guint64          blocks_applied;
  gboolean         ended;           /* nothing more to read: the end, an error or cancelled */
  GError          *error;
} StreamScan;

static guint
stream_thread_count (void)
{
  const char *wanted = g_getenv ("DROVER_GCODE_SCAN_THREADS");
  guint64 count;

  if (wanted != NULL && g_ascii_string_to_unsigned (wanted, 10, 1, STREAM_MAX_THREADS, &count, NULL))
    return count;

  return CLAMP (g_get_num_processors (), 1, STREAM_MAX_THREADS);
}

/* Changes nothing but @block: threads parse their blocks at once. */
static void
parse_block (SimdLevel  simd,
             Block     *block)
{
  const guint8 *buffer = block->buffer;
  const guint8 *first = memchr (buffer, '\n', block->length);
  const guint8 *last;
  const guint8 *stop;

  if (first == NULL)
    {
      block->middle = block->middle_end = block->stop = block->length;
      block->count = 0;
      return;
    }

  last = memrchr (first, '\n', buffer + block->length - first);
  block->middle = first + 1 - buffer;
  block->middle_end = last + 1 - buffer;
  block->count = 0;
  /* A thousand lines at a time, so that their records are still in the
   * cache between finding their ends and parsing them. */
  for (stop = first + 1; stop <= last && block->count < PARSED_PER_BLOCK;)
    block->count += parse_lines (simd, buffer, stop, last + 1, buffer + block->length, block->parsed + block->count,
                                 MIN (1024, PARSED_PER_BLOCK - block->count), &stop);
  block->stop = stop - buffer;
}

/* Scans a parsed block as drover_gcode_scan_feed() scans the same bytes. */
static void
apply_block (DroverGcodeScan *self,
             const Block     *block)
{
  const guint8 *buffer = block->buffer;
  const guint8 *limit = buffer + block->length;

  /* To the first "\n", which ends whatever line came before. */
  drover_gcode_scan_feed (self, buffer, block->middle);

  if (block->middle < block->middle_end)
    {
      g_assert (self->carry_len == 0 && !self->skipping && !self->pending_cr && self->line_number > 1);

      note_bytes (self, buffer + block->middle, block->middle_end - block->middle);
      apply_lines (self, buffer, block->parsed, block->count, buffer + block->middle_end, limit);
      if (block->stop < block->middle_end)
        scan_lines (self, buffer + block->stop, buffer + block->middle_end - 1, limit);
    }

  drover_gcode_scan_feed (self, buffer + block->middle_end, block->length - block->middle_end);
}

static gpointer stream_scan_thread (gpointer data);

/*
 * What each thread does until the stream ends: read a block, in turn with
 * the others so that blocks are numbered in the file's order; parse it
 * while the others parse theirs; wait until the block before it has been
 * applied, and apply it. The caller's thread @starts the others once the
 * file proves longer than a block: most files checked are small.
 */
static void
stream_scan_run (StreamScan *shared,
                 gboolean    starts)
{
  Block block = { 0 };

  block.buffer = g_malloc (BLOCK_SIZE);
  block.parsed = g_new (Parsed, PARSED_PER_BLOCK);

  for (;;)
    {
      GError *read_error = NULL;
      guint64 number;
      gssize n = -1;
      gboolean failed;

      g_mutex_lock (&shared->mutex);
      if (shared->ended)
        {
          g_mutex_unlock (&shared->mutex);
          break;
        }
      /* Not every stream checks the cancellable itself (memory streams do not). */
      if (!g_cancellable_set_error_if_cancelled (shared->cancellable, &read_error))
        n = g_input_stream_read (shared->stream, block.buffer, BLOCK_SIZE, shared->cancellable, &read_error);
      if (n <= 0)
        {
          shared->ended = TRUE;
          shared->error = read_error;
          g_cond_broadcast (&shared->cond);
          g_mutex_unlock (&shared->mutex);
          break;
        }
      number = shared->blocks_read++;
      g_mutex_unlock (&shared->mutex);

      if (starts && n == BLOCK_SIZE)
        {
          starts = FALSE;
          for (guint i = 1; i < shared->max_threads; i++)
            {
              GThread *thread = g_thread_try_new ("drover-gcode-scan", stream_scan_thread, shared, NULL);

              /* Fewer threads give the same report. */
              if (thread == NULL)
                break;
              g_ptr_array_add (shared->threads, thread);
            }
        }

      block.length = n;
      parse_block (shared->scan->simd, &block);

      g_mutex_lock (&shared->mutex);
      while (shared->blocks_applied != number && shared->error == NULL)
        g_cond_wait (&shared->cond, &shared->mutex);
      failed = shared->error != NULL;
      g_mutex_unlock (&shared->mutex);
      if (failed)
        break;

      apply_block (shared->scan, &block);

      g_mutex_lock (&shared->mutex);
      shared->blocks_applied++;
      g_cond_broadcast (&shared->cond);
      g_mutex_unlock (&shared->mutex);
    }

  g_free (block.parsed);
  g_free (block.buffer);
}

static gpointer
stream_scan_thread (gpointer data)
{
  stream_scan_run (data, FALSE);

  return NULL;
}

/**
 * drover_gcode_scan_stream:
 * @stream: the file's bytes, read to the end
 * @limits: (nullable): what the printer can take; %NULL for the defaults
 * @cancellable: (nullable): to stop between reads
 * @error: the reading error
 *
 * Scans a stream in one pass, 1 MiB at a time, or half a megabyte at a
 * time in each of several threads for a longer file: up to 4, as many as
 * the processor has cores. It blocks: call it from a worker thread, or use
 * drover_gcode_scan_file_async(). The stream is read from one thread at a
 * time, but not always the caller's.
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
  StreamScan shared = { 0 };

  g_return_val_if_fail (G_IS_INPUT_STREAM (stream), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  scan = drover_gcode_scan_new (limits);

  shared.max_threads = stream_thread_count ();
  if (shared.max_threads <= 1)
    {
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

  shared.scan = scan;
  shared.stream = stream;
  shared.cancellable = cancellable;
  shared.threads = g_ptr_array_new ();
  g_mutex_init (&shared.mutex);
  g_cond_init (&shared.cond);

  stream_scan_run (&shared, TRUE);
  for (guint i = 0; i < shared.threads->len; i++)
    g_thread_join (g_ptr_array_index (shared.threads, i));

  g_ptr_array_unref (shared.threads);
  g_cond_clear (&shared.cond);
  g_mutex_clear (&shared.mutex);

  if (shared.error != NULL)
    {
      g_propagate_error (error, shared.error);
      return NULL;
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
