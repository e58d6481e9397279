/* sim-marlin.c: a simulated Marlin printer on a pseudo-terminal
 *
 * It says, byte for byte, what Marlin bugfix-2.1.x says on its serial port
 * (docs: reference/marlin-serial.md, which cites the Marlin source for every
 * reply). The replies come from this file's own templates, never from
 * src/core, so a mistake in Drover's decoders cannot hide behind the same
 * mistake here.
 *
 * The model follows Marlin's own structure, because that is what decides
 * when "ok" comes and what gets lost:
 *  - the link: bytes travel at baud/10 per second in each direction;
 *  - the receive buffer: RX_BUFFER_SIZE bytes (one never used), bytes that
 *    arrive while it is full are dropped, as the AVR serial ring does;
 *  - the command queue: BUFSIZE slots, filled from the receive buffer only
 *    while a slot is free (GCodeQueue::get_serial_commands), also while a
 *    command blocks (idle() reads serial too);
 *  - "ok" after a command has run (ok_to_send after the handler); a move
 *    has run once it is in the planner, which holds BLOCK_BUFFER_SIZE-1
 *    blocks and empties at the moves' own speed;
 *  - writing blocks Marlin (TX_BUFFER_SIZE 0): nothing else happens until
 *    the last reply has left.
 *
 * Everything runs in one thread with a plain poll loop on the pty master, so
 * the pacing does not depend on anybody else's main loop.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif

#define G_LOG_DOMAIN "drover-sim-marlin"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <glib-unix.h>

#include "sim-marlin.h"

/* Configuration.h / Configuration_adv.h defaults (reference §4, §2.2). */
#define MAX_CMD_SIZE              96
#define DEFAULT_BUFSIZE           4
#define DEFAULT_RX_BUFFER_SIZE    128
#define DEFAULT_BLOCK_BUFFER_SIZE 16
#define DEFAULT_KEEPALIVE_SECONDS 2
#define TEMP_RESIDENCY_SECONDS    10.0
#define TEMP_WINDOW               1.0
#define TEMP_HYSTERESIS           3.0
#define MIN_COOLING_SLOPE_DEG     1.50
#define MIN_COOLING_SLOPE_DEG_BED 1.00
#define MIN_COOLING_SLOPE_SECONDS 60.0
#define EXTRUDE_MINTEMP           170

/* Inference, not from the reference: the simulator's own physics. */
#define MOVE_SECONDS_MAX          600.0  /* one block never takes longer */
#define THERMAL_STEP              0.05   /* seconds per integration step */
#define HEAT_WAIT_TICK            0.1    /* M109/M190 check the temperature this often */
#define WIRE_IN_MAX               4096   /* host bytes read ahead of the wire */

#define SHORT_BUILD_VERSION       "bugfix-2.1.x"
#define DEFAULT_FIRMWARE_NAME     "Marlin " SHORT_BUILD_VERSION " (drover-sim)"

/* Serial input states, as in queue.cpp (no PAREN_COMMENTS, no quoted strings). */
#define PS_NORMAL 0
#define PS_EOL    1
#define PS_ESC    4

#define STR_ERR_LINE_NO           "Line Number is not Last Line Number+1, Last Line: "
#define STR_ERR_CHECKSUM_MISMATCH "checksum mismatch, Last Line: "
#define STR_ERR_NO_CHECKSUM       "No Checksum with line number, Last Line: "

typedef struct {
  char     text[MAX_CMD_SIZE];
  gboolean skip_ok;
} QueuedCommand;

typedef struct {
  char    *parent;     /* DOS path of the folder, "" for the root */
  char    *dos_name;   /* "CUBE~1.GCO" */
  char    *long_name;  /* "cube.gcode" */
  gboolean is_dir;
  GBytes  *content;
} SdEntry;

typedef struct {
  double current;
  double target;
  double ambient;
  double max_rate;   /* °C/s at full power */
  double tau_heat;   /* s, the approach to the target */
  double tau_cool;   /* s, losses when off */
} Heater;

typedef enum {
  WAIT_NONE,
  WAIT_PLANNER_ROOM, /* G0-G3 with a full planner */
  WAIT_SYNC,         /* planner.synchronize(): G4, G28, M400, M1001 */
  WAIT_UNTIL,        /* G4's dwell, G28's homing */
  WAIT_HEATER,       /* M109, M190 */
} WaitKind;

typedef enum {
  AFTER_SYNC_NONE,
  AFTER_SYNC_DWELL,
  AFTER_SYNC_HOME,
  AFTER_SYNC_SD_DONE,
} AfterSync;

typedef struct {
  gboolean is_bed;
  gboolean no_wait_for_cooling;
  gboolean wants_to_cool;
  double   target_temp;
  double   old_temp;
  double   next_report;
  double   cool_check;
  gboolean cool_check_set;
  double   residency_start;
  gboolean residency_started;
  gboolean first_loop;
} HeatWait;

typedef struct {
  char        letter;   /* 'G', 'M', 'T', or '?' for anything else */
  int         code;
  const char *command;  /* from the command letter on, without "*cs" */
  const char *args;     /* after the code */
} ParsedCommand;

struct _SimMarlin
{
  GMutex       mutex;
  GThread     *thread;
  int          master_fd;
  int          slave_fd;
  int          wake_fds[2];
  char        *path;
  char        *link_path;
  GCond        cond;
  gboolean     quit;
  gboolean     unplug_requested;
  gboolean     unplugged;

  /* Options */
  guint        baud;
  guint        bufsize;
  guint        block_buffer_size;
  gboolean     advanced_ok;
  gboolean     legacy_resend;
  guint        corrupt_one_in;
  guint        drop_ok_one_in;
  double       time_scale;
  char        *firmware_name;
  GRand       *corrupt_dice;
  GRand       *drop_dice;
  guint        drop_next_ok;

  gint64       start_us;

  /* Host → Marlin: read from the pty but still "on the wire" */
  GByteArray  *wire_in;
  gint64       rx_since_us;
  guint64      rx_arrived;
  /* Marlin's receive ring */
  guint8      *rx_ring;
  guint        rx_capacity;
  guint        rx_head;
  guint        rx_length;

  /* Marlin → host */
  GByteArray  *tx;
  gint64       tx_since_us;
  guint64      tx_sent;
  gboolean     tx_blocked;

  /* The serial line being read */
  char         line[MAX_CMD_SIZE];
  int          line_length;
  int          input_state;
  long         last_n;
  gboolean     pending_resend;

  /* The BUFSIZE command ring */
  QueuedCommand *ring;
  guint        ring_r;
  guint        ring_length;

  /* The command at ring_r, while it runs */
  gboolean     in_handler;
  gboolean     no_ok;
  WaitKind     wait;
  AfterSync    after_sync;
  double       wait_until;
  double       pending_move_seconds;
  HeatWait     heat;
  gboolean     wait_for_heatup;

  /* Planner: a ring of block durations; the first one is moving */
  double      *blocks;
  guint        block_r;
  guint        block_count;
  double       head_started;

  double       position[4];
  gboolean     relative;
  gboolean     relative_e;
  double       feedrate_mm_s;
  gboolean     allow_cold_extrude;
  int          extrude_min_temp;

  Heater       hotend;
  Heater       bed;
  double       thermal_time;

  guint        keepalive_interval;
  double       next_busy;
  guint        autoreport_interval;
  double       next_autoreport;

  /* SD card */
  gboolean     mounted;
  GPtrArray   *sd_entries;
  GBytes      *sd_file;         /* the open file, or NULL */
  char        *sd_dos_name;
  char        *sd_long_name;
  gsize        sd_position;
  gsize        sd_size;
  gboolean     sd_printing;     /* card.flag.sdprinting */
  gboolean     sd_print_done;   /* card.flag.sdprintdone */
  gboolean     sd_complete;     /* MarlinState::MF_SD_COMPLETE */
  int          sd_input_state;
  gboolean     saving;
  char        *save_parent;
  char        *save_dos_name;
  char        *save_long_name;
  GByteArray  *save_data;

  /* print_job_timer */
  gboolean     job_running;
  gboolean     job_paused;
  double       job_started;
  double       job_accumulated;

  gboolean     killed;

  GPtrArray   *accepted;
  guint64      lines_corrupted;
  guint64      line_errors;
  guint64      oks_dropped;
  guint64      rx_dropped;
};

G_DEFINE_QUARK (sim-marlin-error-quark, sim_marlin_error)

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */

static gboolean
is_numeric (char c)
{
  return c >= '0' && c <= '9';
}

static gboolean
is_numeric_signed (char c)
{
  return is_numeric (c) || c == '-' || c == '+';
}

static double
sim_marlin_now (SimMarlin *self,
                gint64     wall_us)
{
  return (double) (wall_us - self->start_us) / G_USEC_PER_SEC * self->time_scale;
}

static gint64
sim_marlin_wall_time (SimMarlin *self,
                      double     sim_seconds)
{
  double us = sim_seconds / self->time_scale * G_USEC_PER_SEC;

  if (us > (double) (G_MAXINT64 / 2))
    return G_MAXINT64;
  return self->start_us + (gint64) ceil (us);
}

/* Marlin prints temperatures with 2 decimals (HEATER_STATE_FLOAT_PRECISION),
 * in the C locale whatever the host's. */
static const char *
format_2 (char   *buf,
          double  value)
{
  return g_ascii_formatd (buf, G_ASCII_DTOSTR_BUF_SIZE, "%.2f", value);
}

/* ------------------------------------------------------------------------ */
/* Output                                                                    */

static void
out_raw (SimMarlin  *self,
         const char *text)
{
  if (self->unplugged)
    return;
  if (self->tx->len == 0 && !self->tx_blocked)
    {
      self->tx_since_us = g_get_monotonic_time ();
      self->tx_sent = 0;
    }
  g_byte_array_append (self->tx, (const guint8 *) text, strlen (text));
}

static void out_line (SimMarlin  *self,
                      const char *format,
                      ...) G_GNUC_PRINTF (2, 3);

static void
out_line (SimMarlin  *self,
          const char *format,
          ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);

  out_raw (self, text);
  out_raw (self, "\n");
}

/* Every line that begins with "ok" goes through here, so the drop faults
 * can lose it as line noise on the way back would. */
static void
out_ok_line (SimMarlin  *self,
             const char *text)
{
  if (self->drop_next_ok > 0)
    {
      self->drop_next_ok--;
      self->oks_dropped++;
      return;
    }
  if (self->drop_ok_one_in > 0 &&
      g_rand_int_range (self->drop_dice, 0, (gint32) self->drop_ok_one_in) == 0)
    {
      self->oks_dropped++;
      return;
    }
  out_raw (self, text);
  out_raw (self, "\n");
}

/* " T:21.30 /0.00 B:20.90 /0.00 @:0 B@:0" (Temperature::print_heater_states) */
static int
heater_power (const Heater *heater,
              gboolean      is_bed)
{
  double gap;

  if (heater->target <= 0)
    return 0;
  gap = heater->target - heater->current;
  /* The bed is bang-bang (PIDTEMPBED is off by default): full or nothing. */
  if (is_bed)
    return gap > 0 ? 127 : 0;
  /* PID_FUNCTIONAL_RANGE is 10 °C: full power outside it. */
  if (gap > 10)
    return 127;
  return (int) CLAMP (25 + gap * 10, 0, 127);
}

static void
append_heater_states (SimMarlin *self,
                      GString   *line)
{
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
  char c[G_ASCII_DTOSTR_BUF_SIZE], d[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append_printf (line, " T:%s /%s B:%s /%s @:%d B@:%d",
                          format_2 (a, self->hotend.current),
                          format_2 (b, self->hotend.target),
                          format_2 (c, self->bed.current),
                          format_2 (d, self->bed.target),
                          heater_power (&self->hotend, FALSE),
                          heater_power (&self->bed, TRUE));
}

/* ------------------------------------------------------------------------ */
/* Time-driven parts: heaters, planner, print job timer                      */

static void
heater_step (Heater *heater,
             double  dt)
{
  if (heater->target > heater->current)
    {
      double rate = MIN (heater->max_rate, (heater->target - heater->current) / heater->tau_heat);

      heater->current += rate * dt;
      if (heater->target - heater->current < 0.005)
        heater->current = heater->target;
    }
  else
    {
      double floor_temperature = MAX (heater->target, heater->ambient);

      if (heater->current > floor_temperature)
        {
          heater->current -= (heater->current - floor_temperature) / heater->tau_cool * dt;
          if (heater->current - floor_temperature < 0.005)
            heater->current = floor_temperature;
        }
    }
}

static gboolean
heater_settled (const Heater *heater)
{
  return heater->current == heater->target ||
         (heater->target < heater->current && heater->current <= heater->ambient);
}

/* A fixed step keeps the temperatures independent of when the loop wakes. */
static void
thermal_update (SimMarlin *self,
                double     now)
{
  if (heater_settled (&self->hotend) && heater_settled (&self->bed))
    {
      if (now > self->thermal_time)
        self->thermal_time += floor ((now - self->thermal_time) / THERMAL_STEP) * THERMAL_STEP;
      return;
    }

  while (self->thermal_time + THERMAL_STEP <= now)
    {
      heater_step (&self->hotend, THERMAL_STEP);
      heater_step (&self->bed, THERMAL_STEP);
      self->thermal_time += THERMAL_STEP;
    }
}

static void
planner_advance (SimMarlin *self,
                 double     now)
{
  while (self->block_count > 0 &&
         self->head_started + self->blocks[self->block_r] <= now)
    {
      self->head_started += self->blocks[self->block_r];
      self->block_r = (self->block_r + 1) % self->block_buffer_size;
      self->block_count--;
    }
}

/* Planner::moves_free(): BLOCK_BUFFER_SIZE - 1 - movesplanned() */
static guint
planner_moves_free (SimMarlin *self)
{
  return self->block_buffer_size - 1 - self->block_count;
}

static void
planner_add (SimMarlin *self,
             double     now,
             double     seconds)
{
  if (self->block_count == 0)
    self->head_started = now;
  self->blocks[(self->block_r + self->block_count) % self->block_buffer_size] = seconds;
  self->block_count++;
}

static void
planner_clear (SimMarlin *self)
{
  self->block_count = 0;
}

static double
job_duration (SimMarlin *self,
              double     now)
{
  if (self->job_running && !self->job_paused)
    return self->job_accumulated + (now - self->job_started);
  return self->job_accumulated;
}

static void
job_start (SimMarlin *self,
           double     now)
{
  if (self->job_running && !self->job_paused)
    return;
  if (!self->job_running)
    self->job_accumulated = 0;
  self->job_running = TRUE;
  self->job_paused = FALSE;
  self->job_started = now;
}

static void
job_pause (SimMarlin *self,
           double     now)
{
  if (!self->job_running || self->job_paused)
    return;
  self->job_accumulated += now - self->job_started;
  self->job_paused = TRUE;
}

static void
job_stop (SimMarlin *self,
          double     now)
{
  job_pause (self, now);
  self->job_running = FALSE;
  self->job_paused = FALSE;
}

/* duration_t::toString */
static char *
format_duration (double seconds)
{
  guint64 total = (guint64) seconds;
  guint64 y = total / (365 * 86400);
  guint64 d = (total / 86400) % 365;
  guint64 h = (total / 3600) % 24;
  guint64 m = (total / 60) % 60;
  guint64 s = total % 60;

  if (y)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "y %" G_GUINT64_FORMAT "d %" G_GUINT64_FORMAT "h %"
                            G_GUINT64_FORMAT "m %" G_GUINT64_FORMAT "s", y, d, h, m, s);
  if (d)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "d %" G_GUINT64_FORMAT "h %" G_GUINT64_FORMAT "m %"
                            G_GUINT64_FORMAT "s", d, h, m, s);
  if (h)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "h %" G_GUINT64_FORMAT "m %" G_GUINT64_FORMAT "s",
                            h, m, s);
  if (m)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "m %" G_GUINT64_FORMAT "s", m, s);
  return g_strdup_printf ("%" G_GUINT64_FORMAT "s", s);
}

/* ------------------------------------------------------------------------ */
/* SD card: FAT short names, lookups                                         */

static void
sd_entry_free (gpointer data)
{
  SdEntry *entry = data;

  g_free (entry->parent);
  g_free (entry->dos_name);
  g_free (entry->long_name);
  g_clear_pointer (&entry->content, g_bytes_unref);
  g_free (entry);
}

static SdEntry *
sd_find (SimMarlin  *self,
         const char *parent,
         const char *dos_name)
{
  for (guint i = 0; i < self->sd_entries->len; i++)
    {
      SdEntry *entry = g_ptr_array_index (self->sd_entries, i);

      if (g_ascii_strcasecmp (entry->parent, parent) == 0 &&
          g_ascii_strcasecmp (entry->dos_name, dos_name) == 0)
        return entry;
    }
  return NULL;
}

static SdEntry *
sd_find_long (SimMarlin  *self,
              const char *parent,
              const char *long_name)
{
  for (guint i = 0; i < self->sd_entries->len; i++)
    {
      SdEntry *entry = g_ptr_array_index (self->sd_entries, i);

      if (g_ascii_strcasecmp (entry->parent, parent) == 0 &&
          strcmp (entry->long_name, long_name) == 0)
        return entry;
    }
  return NULL;
}

static gboolean
is_dos_char (char c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("$%'-_@~`!(){}^#&", c) != NULL);
}

/* What FAT would call a long name: "cube.gcode" → "CUBE~1.GCO", while
 * "TEST.GCO" keeps its name. */
static char *
sd_make_dos_name (SimMarlin  *self,
                  const char *parent,
                  const char *long_name)
{
  g_autoptr(GString) base = g_string_new (NULL);
  g_autoptr(GString) ext = g_string_new (NULL);
  const char *dot = strrchr (long_name, '.');
  gboolean lossy = FALSE;
  gsize base_length = dot && dot != long_name ? (gsize) (dot - long_name) : strlen (long_name);

  if (dot == long_name)
    dot = NULL;

  for (gsize i = 0; i < base_length; i++)
    {
      char c = long_name[i];

      if (is_dos_char (c))
        g_string_append_c (base, g_ascii_toupper (c));
      else
        lossy = TRUE;
    }
  if (dot != NULL)
    for (const char *p = dot + 1; *p; p++)
      {
        if (is_dos_char (*p))
          g_string_append_c (ext, g_ascii_toupper (*p));
        else
          lossy = TRUE;
      }

  if (base->len == 0)
    {
      g_string_assign (base, "FILE");
      lossy = TRUE;
    }
  if (base->len > 8)
    lossy = TRUE;
  if (ext->len > 3)
    {
      g_string_truncate (ext, 3);
      lossy = TRUE;
    }

  if (!lossy)
    {
      g_autofree char *name = ext->len ? g_strdup_printf ("%s.%s", base->str, ext->str)
                                       : g_strdup (base->str);
      if (sd_find (self, parent, name) == NULL)
        return g_steal_pointer (&name);
    }

  for (guint n = 1; n < 1000000; n++)
    {
      g_autofree char *tail = g_strdup_printf ("~%u", n);
      g_autofree char *stem = g_strndup (base->str, MIN (base->len, 8 - strlen (tail)));
      g_autofree char *name = ext->len ? g_strdup_printf ("%s%s.%s", stem, tail, ext->str)
                                       : g_strdup_printf ("%s%s", stem, tail);

      if (sd_find (self, parent, name) == NULL)
        return g_steal_pointer (&name);
    }
  g_return_val_if_reached (g_strdup ("FILE~0"));
}

static void
sd_add_file (SimMarlin  *self,
             const char *name,
             GBytes     *content)
{
  g_auto(GStrv) segments = g_strsplit (name, "/", -1);
  g_autofree char *parent = g_strdup ("");
  guint n_segments = g_strv_length (segments);

  for (guint i = 0; i < n_segments; i++)
    {
      const char *segment = segments[i];
      gboolean last = i + 1 == n_segments;
      SdEntry *entry;

      if (*segment == '\0')
        continue;

      entry = sd_find_long (self, parent, segment);
      if (entry == NULL)
        {
          entry = g_new0 (SdEntry, 1);
          entry->parent = g_strdup (parent);
          entry->dos_name = sd_make_dos_name (self, parent, segment);
          entry->long_name = g_strdup (segment);
          entry->is_dir = !last;
          g_ptr_array_add (self->sd_entries, entry);
        }

      if (last)
        {
          g_clear_pointer (&entry->content, g_bytes_unref);
          entry->content = g_bytes_ref (content);
          entry->is_dir = FALSE;
        }
      else
        {
          char *next = *parent ? g_strdup_printf ("%s/%s", parent, entry->dos_name)
                               : g_strdup (entry->dos_name);
          g_free (parent);
          parent = next;
        }
    }
}

/* CardReader::diveToFile(): walks the folders of @path (DOS names, case
 * does not matter) and returns the last segment as the host typed it. */
static const char *
sd_dive (SimMarlin   *self,
         const char  *path,
         char       **parent_out)
{
  g_auto(GStrv) segments = g_strsplit (path, "/", -1);
  g_autofree char *parent = g_strdup ("");
  guint n_segments = g_strv_length (segments);
  const char *last = strrchr (path, '/');

  for (guint i = 0; i + 1 < n_segments; i++)
    {
      SdEntry *entry;
      char *next;

      if (*segments[i] == '\0')
        continue;
      entry = sd_find (self, parent, segments[i]);
      if (entry == NULL || !entry->is_dir)
        return NULL;
      next = *parent ? g_strdup_printf ("%s/%s", parent, entry->dos_name) : g_strdup (entry->dos_name);
      g_free (parent);
      parent = next;
    }

  *parent_out = g_steal_pointer (&parent);
  return last ? last + 1 : path;
}

/* CardReader::is_visible_entity(): G-code files only (*.G*, not *.G~*). */
static gboolean
sd_is_visible (const SdEntry *entry)
{
  const char *dot = strrchr (entry->dos_name, '.');

  return dot != NULL && dot[1] == 'G' && dot[2] != '~';
}

/* CardReader::printListing() */
static void
sd_print_listing (SimMarlin  *self,
                  const char *parent,
                  const char *parent_long,
                  gboolean    include_long)
{
  for (guint i = 0; i < self->sd_entries->len; i++)
    {
      SdEntry *entry = g_ptr_array_index (self->sd_entries, i);

      if (strcmp (entry->parent, parent) != 0)
        continue;

      if (entry->is_dir)
        {
          g_autofree char *path = *parent ? g_strdup_printf ("%s/%s", parent, entry->dos_name)
                                          : g_strdup (entry->dos_name);
          g_autofree char *path_long = *parent ? g_strdup_printf ("%s/%s", parent_long, entry->long_name)
                                               : g_strdup (entry->long_name);

          sd_print_listing (self, path, path_long, include_long);
        }
      else if (sd_is_visible (entry))
        {
          g_autoptr(GString) line = g_string_new (NULL);

          if (*parent)
            g_string_append_printf (line, "%s/", parent);
          g_string_append_printf (line, "%s %" G_GSIZE_FORMAT, entry->dos_name,
                                  g_bytes_get_size (entry->content));
          if (include_long)
            {
              g_string_append_c (line, ' ');
              if (*parent)
                g_string_append_printf (line, "%s/", parent_long);
              g_string_append (line, entry->long_name);
            }
          out_line (self, "%s", line->str);
        }
    }
}

static void
sd_close_file (SimMarlin *self)
{
  g_clear_pointer (&self->sd_file, g_bytes_unref);
}

/* ------------------------------------------------------------------------ */
/* The serial reader: GCodeQueue::get_serial_commands()                      */

static guint8
rx_pop (SimMarlin *self)
{
  guint8 c = self->rx_ring[self->rx_head];

  self->rx_head = (self->rx_head + 1) % self->rx_capacity;
  self->rx_length--;
  return c;
}

static void
rx_push (SimMarlin *self,
         guint8     c)
{
  self->rx_ring[(self->rx_head + self->rx_length) % self->rx_capacity] = c;
  self->rx_length++;
}

static void
process_stream_char (char   c,
                     int   *state,
                     char  *buffer,
                     int   *length)
{
  if (*state == PS_EOL)
    return;                       /* a ';' comment or an overflow */
  else if (*state >= PS_ESC)
    *state -= PS_ESC;             /* the escaped character is kept */
  else if (c == '\\')
    {
      *state += PS_ESC;
      if (*state == PS_ESC)
        return;
    }
  else if (c == ';')
    {
      *state = PS_EOL;
      return;
    }

  if (c == 0x08)
    {
      if (*length)
        buffer[--(*length)] = '\0';
    }
  else
    {
      buffer[(*length)++] = c;
      if (*length >= MAX_CMD_SIZE - 1)
        *state = PS_EOL;          /* the rest of the line is dropped */
    }
}

/* process_line_done(): TRUE for an empty line */
static gboolean
process_line_done (int  *state,
                   char *buffer,
                   int  *length)
{
  gboolean empty = *length == 0;

  *state = PS_NORMAL;
  buffer[*length] = '\0';
  if (!empty)
    *length = 0;
  return empty;
}

static void
ring_enqueue (SimMarlin  *self,
              const char *text,
              gboolean    skip_ok)
{
  QueuedCommand *slot = &self->ring[(self->ring_r + self->ring_length) % self->bufsize];

  g_strlcpy (slot->text, text, sizeof slot->text);
  slot->skip_ok = skip_ok;
  self->ring_length++;
}

/* The command as GCodeParser sees it: no leading spaces, no N<n>, nothing
 * from the first '*' on, no trailing spaces. */
static char *
strip_command (const char *text)
{
  const char *p = text;
  const char *star;
  gsize length;

  while (*p == ' ')
    p++;
  if (*p == 'N' && is_numeric_signed (p[1]))
    {
      p += 2;
      while (is_numeric (*p))
        p++;
      while (*p == ' ')
        p++;
    }
  star = strchr (p, '*');
  length = star ? (gsize) (star - p) : strlen (p);
  while (length > 0 && p[length - 1] == ' ')
    length--;
  return g_strndup (p, length);
}

static gboolean
is_m29 (const char *command)
{
  const char *m29 = strstr (command, "M29");

  return m29 != NULL && !is_numeric (m29[3]);
}

static void
line_error (SimMarlin  *self,
            const char *message)
{
  /* The rest (drain the receive buffer, "Resend:", "ok") happens once this
   * line has left: Marlin's writes block, so bytes arriving meanwhile are
   * drained too. */
  out_line (self, "Error:%s%ld", message, self->last_n);
  self->pending_resend = TRUE;
  self->line_errors++;
}

static void
kill_printer (SimMarlin  *self,
              const char *reason)
{
  self->hotend.target = 0;
  self->bed.target = 0;
  out_line (self, "echo:%s", reason);
  out_line (self, "Error:Printer halted. kill() called!");
  self->killed = TRUE;
}

/* Line noise on the way in: one bit of one byte between the line number and
 * the checksum, chosen so that the byte is still an ordinary character. The
 * XOR of the line then differs from its checksum, always. */
static void
corrupt_line (SimMarlin *self,
              char      *command)
{
  char *start = command + 1;
  char *star = strrchr (command, '*');
  char *target;
  static const guint8 masks[] = { 0x01, 0x02, 0x04, 0x08, 0x10 };

  while (is_numeric_signed (*start))
    start++;
  if (star == NULL)
    return;
  if (star > start)
    target = start + g_rand_int_range (self->corrupt_dice, 0, (gint32) (star - start));
  else if (star[1] != '\0')
    target = star + 1;
  else
    return;

  for (guint i = 0; i < G_N_ELEMENTS (masks); i++)
    {
      char c = (char) (*target ^ masks[i]);

      if (c >= 0x20 && c < 0x7f && c != ';' && c != '*' && c != '\\')
        {
          *target = c;
          self->lines_corrupted++;
          return;
        }
    }
}

static void
handle_serial_line (SimMarlin *self)
{
  char *command = self->line;

  while (*command == ' ')
    command++;

  if (*command == 'N')
    {
      char *npos = command;
      char *star;
      gboolean m110;
      long n;

      if (self->corrupt_one_in > 0 && strrchr (command, '*') != NULL &&
          g_rand_int_range (self->corrupt_dice, 0, (gint32) self->corrupt_one_in) == 0)
        corrupt_line (self, command);

      m110 = strstr (command, "M110") != NULL;
      if (m110)
        {
          char *n2 = strchr (command + 4, 'N');
          if (n2 != NULL)
            npos = n2;
        }

      n = strtol (npos + 1, NULL, 10);
      if (n != self->last_n + 1 && !m110)
        {
          /* bugfix-2.1.x: "A request-for-resend line was already in transit
           * so we got two - oops!" */
          if (!self->legacy_resend && n >= self->last_n - 1 && n <= self->last_n)
            return;
          line_error (self, STR_ERR_LINE_NO);
          return;
        }

      star = strrchr (command, '*');
      if (star != NULL)
        {
          guint8 checksum = 0;

          for (const char *p = command; p < star; p++)
            checksum ^= (guint8) *p;
          if (strtol (star + 1, NULL, 10) != checksum)
            {
              line_error (self, STR_ERR_CHECKSUM_MISMATCH);
              return;
            }
        }
      else
        {
          line_error (self, STR_ERR_NO_CHECKSUM);
          return;
        }

      self->last_n = n;
    }
  else if (self->saving && !is_m29 (command))
    {
      line_error (self, STR_ERR_NO_CHECKSUM);
      return;
    }

  g_ptr_array_add (self->accepted, strip_command (self->line));

  /* Without EMERGENCY_PARSER, M108, M112 and M410 act as they are read. */
  if (command[0] == 'M')
    switch (command[3])
      {
      case '8':
        if (command[2] == '0' && command[1] == '1')
          self->wait_for_heatup = FALSE;
        break;
      case '2':
        if (command[2] == '1' && command[1] == '1')
          {
            kill_printer (self, "M112 Shutdown");
            return;
          }
        break;
      case '0':
        if (command[1] == '4' && command[2] == '1')
          planner_clear (self);
        break;
      default:
        break;
      }

  ring_enqueue (self, self->line, FALSE);
}

static gboolean
firmware_can_read (SimMarlin *self)
{
  return !self->killed && !self->pending_resend && self->tx->len == 0;
}

static gboolean
read_serial_commands (SimMarlin *self)
{
  gboolean progress = FALSE;

  while (self->ring_length < self->bufsize && self->rx_length > 0 && firmware_can_read (self))
    {
      char c = (char) rx_pop (self);

      progress = TRUE;
      if (c == '\n' || c == '\r')
        {
          if (process_line_done (&self->input_state, self->line, &self->line_length))
            continue;
          handle_serial_line (self);
        }
      else
        process_stream_char (c, &self->input_state, self->line, &self->line_length);
    }

  return progress;
}

/* GCodeQueue::get_sdcard_commands() */
static gboolean
read_sd_commands (SimMarlin *self)
{
  const char *data;
  char buffer[MAX_CMD_SIZE];
  int length = 0;
  gboolean progress = FALSE;

  if (!self->sd_printing || self->sd_print_done || self->sd_file == NULL)
    return FALSE;

  data = g_bytes_get_data (self->sd_file, NULL);
  while (self->ring_length < self->bufsize && self->sd_position < self->sd_size)
    {
      char c = data[self->sd_position++];
      gboolean eof = self->sd_position >= self->sd_size;
      gboolean eol = c == '\n' || c == '\r';

      progress = TRUE;
      if (!eol)
        process_stream_char (c, &self->sd_input_state, buffer, &length);
      if (eol || eof)
        {
          if (!process_line_done (&self->sd_input_state, buffer, &length))
            {
              /* Without PARK_HEAD_ON_PAUSE an M25 in the file pauses as it is read. */
              if (buffer[0] == 'M' && buffer[1] == '2' && buffer[2] == '5' && !is_numeric (buffer[3]))
                self->sd_printing = FALSE;
              ring_enqueue (self, buffer, TRUE);
            }
          if (eof)
            {
              /* CardReader::fileHasFinished() */
              sd_close_file (self);
              self->sd_print_done = TRUE;
              self->sd_complete = TRUE;
              break;
            }
        }
    }

  return progress;
}

/* ------------------------------------------------------------------------ */
/* Command handlers                                                          */

static void
parse_command (char          *buffer,
               ParsedCommand *parsed)
{
  char *p = buffer;
  char *star;

  parsed->letter = '?';
  parsed->code = -1;
  parsed->args = "";

  while (*p == ' ')
    p++;
  if (*p == 'N' && is_numeric_signed (p[1]))
    {
      p += 2;
      while (is_numeric (*p))
        p++;
      while (*p == ' ')
        p++;
    }

  parsed->command = p;
  if (*p == '\0')
    return;

  star = strchr (p + 1, '*');
  if (star != NULL)
    {
      star--;
      while (*star == ' ')
        star--;
      star[1] = '\0';
    }

  if (*p != 'G' && *p != 'M' && *p != 'T')
    return;

  {
    char letter = *p++;

    while (*p == ' ')
      p++;
    if (!is_numeric (*p))
      return;
    parsed->letter = letter;
    parsed->code = (int) strtol (p, &p, 10);
    if (*p == '.' && is_numeric (p[1]))
      {
        p++;
        while (is_numeric (*p))
          p++;
      }
    while (*p == ' ')
      p++;
    parsed->args = p;
  }
}

/* FASTER_GCODE_PARSER style: a parameter is a capital letter at the start
 * of a word, its value whatever number follows. */
static gboolean
param_seen (const ParsedCommand *parsed,
            char                 letter,
            double              *value)
{
  const char *args = parsed->args;

  for (const char *p = args; *p; p++)
    {
      if (*p == letter && (p == args || p[-1] == ' '))
        {
          const char *v = p + 1;

          while (*v == ' ')
            v++;
          if (value != NULL)
            {
              if (!(is_numeric_signed (*v) || *v == '.'))
                return FALSE;
              *value = g_ascii_strtod (v, NULL);
            }
          return TRUE;
        }
    }
  return FALSE;
}

/* GCodeParser::boolval(): present without a value, or not zero */
static gboolean
param_bool (const ParsedCommand *parsed,
            char                 letter)
{
  double value = 1;

  if (!param_seen (parsed, letter, NULL))
    return FALSE;
  if (!param_seen (parsed, letter, &value))
    return TRUE;
  return value != 0;
}

static void
ok_to_send (SimMarlin *self)
{
  QueuedCommand *command = &self->ring[self->ring_r];
  g_autoptr(GString) line = NULL;

  if (command->skip_ok)
    return;

  line = g_string_new ("ok");
  if (self->advanced_ok)
    {
      const char *p = command->text;

      if (*p == 'N')
        {
          g_string_append_c (line, ' ');
          g_string_append_c (line, *p++);
          while (is_numeric_signed (*p))
            g_string_append_c (line, *p++);
        }
      g_string_append_printf (line, " P%u B%u", planner_moves_free (self),
                              self->bufsize - self->ring_length);
    }
  out_ok_line (self, line->str);
}

/* Queue::flush_and_request_resend() */
static void
request_resend (SimMarlin *self)
{
  out_line (self, "Resend: %ld", self->last_n + 1);
  if (!self->legacy_resend)
    out_ok_line (self, "ok");
}

static void
unknown_command (SimMarlin           *self,
                 const ParsedCommand *parsed)
{
  out_line (self, "echo:Unknown command: \"%s\"", parsed->command);
}

static double
move_seconds (const double from[4],
              const double to[4],
              double       feedrate_mm_s)
{
  /* DEFAULT_MAX_FEEDRATE { 300, 300, 5, 25 }; 1/DEFAULT_AXIS_STEPS_PER_UNIT { 80, 80, 400, 500 } */
  static const double max_feedrate[4] = { 300, 300, 5, 25 };
  static const double one_step[4] = { 1.0 / 80, 1.0 / 80, 1.0 / 400, 1.0 / 500 };
  double delta[4];
  double millimeters, seconds;
  gboolean any_step = FALSE;

  for (guint i = 0; i < 4; i++)
    {
      delta[i] = fabs (to[i] - from[i]);
      if (delta[i] >= one_step[i])
        any_step = TRUE;
    }
  if (!any_step)
    return 0;

  millimeters = sqrt (delta[0] * delta[0] + delta[1] * delta[1] + delta[2] * delta[2]);
  if (millimeters < 1e-6)
    millimeters = delta[3];
  seconds = millimeters / MAX (feedrate_mm_s, 0.01);
  for (guint i = 0; i < 4; i++)
    seconds = MAX (seconds, delta[i] / max_feedrate[i]);

  return MIN (seconds, MOVE_SECONDS_MAX);
}

static gboolean
handle_move (SimMarlin           *self,
             const ParsedCommand *parsed,
             double               now)
{
  static const char axes[4] = { 'X', 'Y', 'Z', 'E' };
  double target[4];
  double value;

  memcpy (target, self->position, sizeof target);
  for (guint i = 0; i < 4; i++)
    if (param_seen (parsed, axes[i], &value))
      {
        gboolean relative = i == 3 ? self->relative_e : self->relative;
        target[i] = relative ? self->position[i] + value : value;
      }
  if (param_seen (parsed, 'F', &value) && value > 0)
    self->feedrate_mm_s = value / 60.0;

  /* PREVENT_COLD_EXTRUSION: the planner drops the E part of the move. */
  if (target[3] != self->position[3] && !self->allow_cold_extrude &&
      self->hotend.current < self->extrude_min_temp)
    {
      out_line (self, "echo: cold extrusion prevented");
      self->position[3] = target[3];
    }

  self->pending_move_seconds = move_seconds (self->position, target, self->feedrate_mm_s);
  memcpy (self->position, target, sizeof target);

  if (self->pending_move_seconds <= 0)
    return TRUE;

  planner_advance (self, now);
  if (self->block_count < self->block_buffer_size - 1)
    {
      planner_add (self, now, self->pending_move_seconds);
      return TRUE;
    }
  self->wait = WAIT_PLANNER_ROOM;
  return FALSE;
}

static gboolean
start_sync (SimMarlin *self,
            double     now,
            AfterSync  after)
{
  self->wait = WAIT_SYNC;
  self->after_sync = after;
  return FALSE;
}

static gboolean
start_heat_wait (SimMarlin *self,
                 gboolean   is_bed,
                 gboolean   no_wait_for_cooling)
{
  HeatWait *heat = &self->heat;

  memset (heat, 0, sizeof *heat);
  heat->is_bed = is_bed;
  heat->no_wait_for_cooling = no_wait_for_cooling;
  heat->target_temp = -1.0;
  heat->old_temp = 9999.0;
  heat->first_loop = TRUE;
  self->wait_for_heatup = TRUE;
  self->wait = WAIT_HEATER;
  return FALSE;
}

static gboolean
handle_temperature (SimMarlin           *self,
                    const ParsedCommand *parsed,
                    gboolean             is_bed,
                    gboolean             wait)
{
  Heater *heater = is_bed ? &self->bed : &self->hotend;
  gboolean no_wait_for_cooling;
  gboolean got_temp;
  double value = 0;

  no_wait_for_cooling = param_seen (parsed, 'S', &value);
  got_temp = no_wait_for_cooling || (wait && param_seen (parsed, 'R', &value));
  if (!got_temp)
    return TRUE;

  /* celsius_t is an integer */
  heater->target = MAX (0, (int) value);

  if (wait)
    return start_heat_wait (self, is_bed, no_wait_for_cooling);
  return TRUE;
}

static void
report_sd_status (SimMarlin *self)
{
  gboolean file_open = self->sd_file != NULL;

  if (self->sd_printing || (file_open && !self->sd_printing))
    out_line (self, "SD printing byte %" G_GSIZE_FORMAT "/%" G_GSIZE_FORMAT,
              self->sd_position, self->sd_size);
  else
    out_line (self, "Not SD printing");
}

static void
handle_m23 (SimMarlin           *self,
            const ParsedCommand *parsed,
            double               now)
{
  g_autofree char *path = g_strdup (parsed->args);
  g_autofree char *parent = NULL;
  const char *fname;
  char *space = strchr (path, ' ');
  SdEntry *entry;

  if (space != NULL)
    *space = '\0';
  if (!self->mounted)
    {
      out_line (self, "open failed, File: %s.", path);
      return;
    }

  out_line (self, "echo:Now fresh file: %s", path);
  /* abortFilePrintNow() */
  sd_close_file (self);
  self->sd_printing = FALSE;
  self->sd_print_done = FALSE;

  fname = sd_dive (self, path, &parent);
  if (fname == NULL)
    {
      out_line (self, "open failed, File: %s.", path);
      return;
    }
  entry = sd_find (self, parent, fname);
  if (entry == NULL || entry->is_dir)
    {
      out_line (self, "open failed, File: %s.", fname);
      return;
    }

  self->sd_file = g_bytes_ref (entry->content);
  self->sd_size = g_bytes_get_size (entry->content);
  self->sd_position = 0;
  self->sd_input_state = PS_NORMAL;
  g_free (self->sd_dos_name);
  self->sd_dos_name = g_strdup (entry->dos_name);
  g_free (self->sd_long_name);
  self->sd_long_name = strcmp (entry->long_name, entry->dos_name) != 0 ? g_strdup (entry->long_name) : NULL;

  out_line (self, "File opened: %s Size: %" G_GSIZE_FORMAT, fname, self->sd_size);
  out_line (self, "File selected");
}

static void
handle_m28 (SimMarlin           *self,
            const ParsedCommand *parsed)
{
  g_autofree char *parent = NULL;
  const char *path = parsed->args;
  const char *fname;
  SdEntry *entry;

  if (!self->mounted)
    return;

  out_line (self, "echo:Now fresh file: %s", path);
  sd_close_file (self);
  self->sd_printing = FALSE;
  self->sd_print_done = FALSE;

  fname = sd_dive (self, path, &parent);
  if (fname == NULL || *fname == '\0')
    {
      out_line (self, "open failed, File: %s.", path);
      return;
    }

  entry = sd_find (self, parent, fname);
  if (entry != NULL && entry->is_dir)
    {
      out_line (self, "open failed, File: %s.", fname);
      return;
    }

  g_clear_pointer (&self->save_parent, g_free);
  g_clear_pointer (&self->save_dos_name, g_free);
  g_clear_pointer (&self->save_long_name, g_free);
  self->save_parent = g_steal_pointer (&parent);
  if (entry != NULL)
    {
      self->save_dos_name = g_strdup (entry->dos_name);
      self->save_long_name = g_strdup (entry->long_name);
    }
  else
    {
      /* A name typed in M28 is a DOS name already (no LONG_FILENAME_WRITE_SUPPORT). */
      self->save_dos_name = g_ascii_strup (fname, -1);
      self->save_long_name = g_strdup (self->save_dos_name);
    }
  g_byte_array_set_size (self->save_data, 0);
  self->saving = TRUE;
  out_line (self, "Writing to file: %s", fname);
}

/* CardReader::write_command() */
static void
save_command (SimMarlin  *self,
              const char *text)
{
  const char *begin = text;
  const char *end = text + strlen (text);
  const char *npos = strchr (text, 'N');

  if (npos != NULL)
    {
      const char *space = strchr (npos, ' ');
      const char *star = strchr (npos, '*');

      if (space != NULL)
        begin = space + 1;
      if (star != NULL && star >= begin)
        end = star;
    }
  g_byte_array_append (self->save_data, (const guint8 *) begin, end - begin);
  g_byte_array_append (self->save_data, (const guint8 *) "\r\n", 2);
}

static void
finish_save (SimMarlin *self)
{
  SdEntry *entry = sd_find (self, self->save_parent, self->save_dos_name);
  g_autoptr(GBytes) content = g_bytes_new (self->save_data->data, self->save_data->len);

  if (entry == NULL)
    {
      entry = g_new0 (SdEntry, 1);
      entry->parent = g_strdup (self->save_parent);
      entry->dos_name = g_strdup (self->save_dos_name);
      entry->long_name = g_strdup (self->save_long_name);
      g_ptr_array_add (self->sd_entries, entry);
    }
  g_clear_pointer (&entry->content, g_bytes_unref);
  entry->content = g_bytes_ref (content);
  self->saving = FALSE;
}

static void
handle_m30 (SimMarlin           *self,
            const ParsedCommand *parsed)
{
  g_autofree char *parent = NULL;
  const char *fname;
  SdEntry *entry;

  if (!self->mounted)
    return;
  sd_close_file (self);

  fname = sd_dive (self, parsed->args, &parent);
  if (fname == NULL)
    return;
  entry = sd_find (self, parent, fname);
  if (entry != NULL && !entry->is_dir)
    {
      g_ptr_array_remove (self->sd_entries, entry);
      self->sd_position = 0;
      out_line (self, "File deleted:%s", fname);
    }
  else
    out_line (self, "Deletion failed, File: %s.", fname);
}

static void
handle_m115 (SimMarlin *self)
{
  static const struct { const char *name; gboolean enabled; } caps[] = {
    { "SERIAL_XON_XOFF", FALSE },
    { "BINARY_FILE_TRANSFER", FALSE },
    { "EEPROM", FALSE },
    { "VOLUMETRIC", TRUE },
    { "AUTOREPORT_POS", FALSE },
    { "AUTOREPORT_TEMP", TRUE },
    { "PROGRESS", FALSE },
    { "PRINT_JOB", TRUE },
    { "AUTOLEVEL", FALSE },
    { "RUNOUT", FALSE },
    { "Z_PROBE", FALSE },
    { "LEVELING_DATA", FALSE },
    { "BUILD_PERCENT", FALSE },
    { "SOFTWARE_POWER", FALSE },
    { "TOGGLE_LIGHTS", FALSE },
    { "CASE_LIGHT_BRIGHTNESS", FALSE },
    { "EMERGENCY_PARSER", FALSE },
    { "HOST_ACTION_COMMANDS", FALSE },
    { "PROMPT_SUPPORT", FALSE },
    { "SDCARD", TRUE },
    { "MULTI_VOLUME", FALSE },
    { "REPEAT", FALSE },
    { "SD_WRITE", TRUE },
    { "AUTOREPORT_SD_STATUS", FALSE },
    { "LONG_FILENAME", TRUE },
    { "LFN_WRITE", FALSE },
    { "CUSTOM_FIRMWARE_UPLOAD", FALSE },
    { "EXTENDED_M20", TRUE },
    { "THERMAL_PROTECTION", TRUE },
    { "MOTION_MODES", FALSE },
    { "ARCS", TRUE },
    { "BABYSTEPPING", FALSE },
    { "EP_BABYSTEP", FALSE },
    { "CHAMBER_TEMPERATURE", FALSE },
    { "COOLER_TEMPERATURE", FALSE },
    { "MEATPACK", FALSE },
    { "CONFIG_EXPORT", FALSE },
  };

  out_line (self, "FIRMWARE_NAME:%s SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin "
            "PROTOCOL_VERSION:1.0 MACHINE_TYPE:3D Printer KINEMATICS:Cartesian EXTRUDER_COUNT:1 "
            "UUID:cede2a2f-41a2-4748-9b12-c55c62f367ff",
            self->firmware_name);
  for (guint i = 0; i < G_N_ELEMENTS (caps); i++)
    out_line (self, "Cap:%s:%c", caps[i].name, caps[i].enabled ? '1' : '0');
}

static gboolean
handle_g (SimMarlin           *self,
          const ParsedCommand *parsed,
          double               now)
{
  double value;

  switch (parsed->code)
    {
    case 0: case 1: case 2: case 3:
      return handle_move (self, parsed, now);

    case 4:
      self->wait_until = 0;
      if (param_seen (parsed, 'P', &value))
        self->wait_until = value / 1000.0;
      if (param_seen (parsed, 'S', &value))
        self->wait_until = value;
      return start_sync (self, now, AFTER_SYNC_DWELL);

    case 21:
      return TRUE;

    case 28:
      return start_sync (self, now, AFTER_SYNC_HOME);

    case 90:
      self->relative = FALSE;
      self->relative_e = FALSE;
      return TRUE;

    case 91:
      self->relative = TRUE;
      self->relative_e = TRUE;
      return TRUE;

    case 92:
      {
        static const char axes[4] = { 'X', 'Y', 'Z', 'E' };

        for (guint i = 0; i < 4; i++)
          if (param_seen (parsed, axes[i], &value))
            self->position[i] = value;
        return TRUE;
      }

    default:
      unknown_command (self, parsed);
      return TRUE;
    }
}

static gboolean
handle_m (SimMarlin           *self,
          const ParsedCommand *parsed,
          double               now)
{
  double value;

  switch (parsed->code)
    {
    /* Accepted without a word: steppers, fans, LCD, limits, percentages. */
    case 17: case 18: case 84: case 85: case 81:
    case 106: case 107: case 117: case 120: case 121:
    case 200: case 201: case 203: case 204: case 205:
    case 220: case 221:
      return TRUE;

    case 20:
      if (self->mounted)
        {
          out_line (self, "Begin file list");
          sd_print_listing (self, "", "", param_bool (parsed, 'L'));
          out_line (self, "End file list");
        }
      else
        out_line (self, "echo:No media");
      return TRUE;

    case 21:
      self->mounted = TRUE;
      out_line (self, "echo:SD card ok");
      return TRUE;

    case 22:
      if (self->mounted && !self->sd_printing)
        {
          sd_close_file (self);
          self->mounted = FALSE;
          out_line (self, "echo:SD card released");
        }
      return TRUE;

    case 23:
      handle_m23 (self, parsed, now);
      return TRUE;

    case 24:
      if (self->sd_file != NULL)
        {
          if (self->mounted)
            {
              self->sd_printing = TRUE;
              self->sd_print_done = FALSE;
            }
          job_start (self, now);
        }
      return TRUE;

    case 25:
      if (self->sd_printing)
        self->sd_printing = FALSE;
      job_pause (self, now);
      return TRUE;

    case 26:
      if (self->mounted && param_seen (parsed, 'S', &value) && value >= 0)
        self->sd_position = MIN ((gsize) value, self->sd_size);
      return TRUE;

    case 27:
      if (param_seen (parsed, 'C', NULL))
        {
          if (self->sd_file != NULL)
            out_line (self, "Current file: %s%s%s", self->sd_dos_name,
                      self->sd_long_name ? " " : "", self->sd_long_name ? self->sd_long_name : "");
          else
            out_line (self, "Current file: (no file)");
          return TRUE;
        }
      report_sd_status (self);
      return TRUE;

    case 28:
      handle_m28 (self, parsed);
      return TRUE;

    case 29:
      self->saving = FALSE;
      return TRUE;

    case 30:
      handle_m30 (self, parsed);
      return TRUE;

    case 31:
      {
        g_autofree char *duration = format_duration (job_duration (self, now));
        out_line (self, "echo:Print time: %s", duration);
        return TRUE;
      }

    case 75:
      job_start (self, now);
      return TRUE;

    case 76:
      job_pause (self, now);
      return TRUE;

    case 77:
      job_stop (self, now);
      return TRUE;

    case 82:
      self->relative_e = FALSE;
      return TRUE;

    case 83:
      self->relative_e = TRUE;
      return TRUE;

    case 104:
      return handle_temperature (self, parsed, FALSE, FALSE);

    case 109:
      return handle_temperature (self, parsed, FALSE, TRUE);

    case 140:
      return handle_temperature (self, parsed, TRUE, FALSE);

    case 190:
      return handle_temperature (self, parsed, TRUE, TRUE);

    case 105:
      {
        g_autoptr(GString) line = g_string_new ("ok");

        append_heater_states (self, line);
        out_ok_line (self, line->str);
        self->no_ok = TRUE;
        return TRUE;
      }

    case 108:
      self->wait_for_heatup = FALSE;
      return TRUE;

    case 110:
      if (param_seen (parsed, 'N', &value))
        self->last_n = (long) value;
      else
        out_line (self, "Line: %ld", self->last_n);
      return TRUE;

    case 111:
      out_line (self, "echo:DEBUG:off");
      return TRUE;

    case 112:
      kill_printer (self, "M112 Shutdown");
      return FALSE;

    case 113:
      if (param_seen (parsed, 'S', &value))
        self->keepalive_interval = (guint) CLAMP (value, 0, 60);
      else
        out_line (self, "echo:M113 S%u", self->keepalive_interval);
      return TRUE;

    case 114:
      {
        char x[G_ASCII_DTOSTR_BUF_SIZE], y[G_ASCII_DTOSTR_BUF_SIZE];
        char z[G_ASCII_DTOSTR_BUF_SIZE], e[G_ASCII_DTOSTR_BUF_SIZE];

        out_line (self, "X:%s Y:%s Z:%s E:%s Count X:%ld Y:%ld Z:%ld",
                  format_2 (x, self->position[0]), format_2 (y, self->position[1]),
                  format_2 (z, self->position[2]), format_2 (e, self->position[3]),
                  lround (self->position[0] * 80), lround (self->position[1] * 80),
                  lround (self->position[2] * 400));
        return TRUE;
      }

    case 115:
      handle_m115 (self);
      return TRUE;

    case 118:
      {
        const char *p = parsed->args;
        gboolean has_e = FALSE, has_a = FALSE;

        for (guint i = 0; i < 3; i++)
          {
            if (!(((p[0] == 'A' || p[0] == 'E') && p[1] == '1') || (p[0] == 'P' && is_numeric (p[1]))))
              break;
            if (p[0] == 'A')
              has_a = TRUE;
            else if (p[0] == 'E')
              has_e = TRUE;
            p += 2;
            while (*p == ' ')
              p++;
          }
        out_line (self, "%s%s%s", has_e ? "echo:" : "", has_a ? "//" : "", p);
        return TRUE;
      }

    case 119:
      out_line (self, "Reporting endstop status");
      out_line (self, "x_min: open");
      out_line (self, "y_min: open");
      out_line (self, "z_min: open");
      return TRUE;

    case 155:
      if (param_seen (parsed, 'S', &value))
        {
          guint seconds = (guint) CLAMP (value, 0, 255);

          self->autoreport_interval = MIN (seconds, 60);
          self->next_autoreport = now + seconds;
        }
      return TRUE;

    case 302:
      {
        gboolean seen_s = param_seen (parsed, 'S', NULL);
        gboolean seen_p = param_seen (parsed, 'P', NULL);

        if (seen_s)
          {
            value = 0;
            param_seen (parsed, 'S', &value);
            self->extrude_min_temp = (int) value;
          }
        if (seen_p || seen_s)
          self->allow_cold_extrude = self->extrude_min_temp == 0 || (seen_p && param_bool (parsed, 'P'));
        else
          out_line (self, "echo:Cold extrudes are %sabled (min temp %dC)",
                    self->allow_cold_extrude ? "en" : "dis", self->extrude_min_temp);
        return TRUE;
      }

    case 400:
      return start_sync (self, now, AFTER_SYNC_NONE);

    case 410:
      planner_clear (self);
      return TRUE;

    case 524:
      if (self->sd_printing || self->sd_file != NULL)
        {
          sd_close_file (self);
          self->sd_printing = FALSE;
          self->sd_print_done = FALSE;
          self->sd_complete = FALSE;
          planner_clear (self);
          job_stop (self, now);
        }
      return TRUE;

    case 999:
      if (param_bool (parsed, 'S'))
        return TRUE;
      request_resend (self);
      return TRUE;

    case 1001:
      return start_sync (self, now, AFTER_SYNC_SD_DONE);

    default:
      unknown_command (self, parsed);
      return TRUE;
    }
}

/* GcodeSuite::process_next_command(), or the M28 file writer. TRUE when
 * the command has finished. */
static gboolean
start_command (SimMarlin *self,
               double     now)
{
  QueuedCommand *command = &self->ring[self->ring_r];
  char buffer[MAX_CMD_SIZE];
  ParsedCommand parsed;

  self->in_handler = TRUE;
  self->no_ok = FALSE;
  self->wait = WAIT_NONE;
  self->after_sync = AFTER_SYNC_NONE;

  if (self->saving)
    {
      if (is_m29 (command->text))
        {
          finish_save (self);
          out_line (self, "Done saving file.");
        }
      else
        save_command (self, command->text);
      return TRUE;
    }

  g_strlcpy (buffer, command->text, sizeof buffer);
  parse_command (buffer, &parsed);

  switch (parsed.letter)
    {
    case 'G':
      return handle_g (self, &parsed, now);
    case 'M':
      return handle_m (self, &parsed, now);
    case 'T':
      return TRUE;
    default:
      unknown_command (self, &parsed);
      return TRUE;
    }
}

static double
homing_seconds (SimMarlin *self)
{
  /* HOMING_FEEDRATE_MM_M { 50*60, 50*60, 4*60 }, plus a bump per axis. */
  return fabs (self->position[0]) / 50 + 0.5 +
         fabs (self->position[1]) / 50 + 0.5 +
         fabs (self->position[2]) / 4 + 0.5;
}

/* One pass of Temperature::wait_for_hotend()/wait_for_bed(); TRUE when the
 * wait is over. */
static gboolean
heat_wait_step (SimMarlin *self,
                double     now)
{
  HeatWait *heat = &self->heat;
  Heater *heater = heat->is_bed ? &self->bed : &self->hotend;
  double temp_diff;

  if (!self->wait_for_heatup)
    return TRUE;

  if (heat->target_temp != heater->target)
    {
      heat->wants_to_cool = heater->target < heater->current;
      heat->target_temp = heater->target;
      if (heat->no_wait_for_cooling && heat->wants_to_cool)
        {
          self->wait_for_heatup = FALSE;
          return TRUE;
        }
    }

  /* Marlin checks this continuously; a late wake-up here must not print a
   * report from after the wait has ended. */
  if (heat->residency_started && now >= heat->residency_start + TEMP_RESIDENCY_SECONDS)
    {
      self->wait_for_heatup = FALSE;
      return TRUE;
    }

  if (now >= heat->next_report)
    {
      g_autoptr(GString) line = g_string_new (NULL);

      heat->next_report = now + 1.0;
      append_heater_states (self, line);
      if (heat->residency_started)
        g_string_append_printf (line, " W:%ld",
                                (long) floor (TEMP_RESIDENCY_SECONDS - (now - heat->residency_start)));
      else
        g_string_append (line, " W:?");
      out_line (self, "%s", line->str);
    }

  temp_diff = fabs (heat->target_temp - heater->current);
  if (!heat->residency_started)
    {
      if (temp_diff < TEMP_WINDOW)
        {
          heat->residency_started = TRUE;
          heat->residency_start = now + (heat->first_loop ? TEMP_RESIDENCY_SECONDS / 3 : 0);
        }
    }
  else if (temp_diff > TEMP_HYSTERESIS)
    heat->residency_start = now;
  heat->first_loop = FALSE;

  if (heat->wants_to_cool)
    {
      if (!heat->cool_check_set || now >= heat->cool_check)
        {
          double slope = heat->is_bed ? MIN_COOLING_SLOPE_DEG_BED : MIN_COOLING_SLOPE_DEG;

          if (heat->old_temp - heater->current < slope)
            {
              self->wait_for_heatup = FALSE;
              return TRUE;
            }
          heat->cool_check = now + MIN_COOLING_SLOPE_SECONDS;
          heat->cool_check_set = TRUE;
          heat->old_temp = heater->current;
        }
    }

  if (heat->residency_started && now >= heat->residency_start + TEMP_RESIDENCY_SECONDS)
    {
      self->wait_for_heatup = FALSE;
      return TRUE;
    }
  return FALSE;
}

/* TRUE when the running command has finished. */
static gboolean
continue_command (SimMarlin *self,
                  double     now)
{
  switch (self->wait)
    {
    case WAIT_NONE:
      return TRUE;

    case WAIT_PLANNER_ROOM:
      if (self->block_count < self->block_buffer_size - 1)
        {
          planner_add (self, now, self->pending_move_seconds);
          return TRUE;
        }
      return FALSE;

    case WAIT_SYNC:
      if (self->block_count > 0)
        return FALSE;
      switch (self->after_sync)
        {
        case AFTER_SYNC_DWELL:
          self->wait = WAIT_UNTIL;
          self->wait_until += now;
          return continue_command (self, now);
        case AFTER_SYNC_HOME:
          self->wait = WAIT_UNTIL;
          self->wait_until = now + homing_seconds (self);
          self->position[0] = self->position[1] = self->position[2] = 0;
          return FALSE;
        case AFTER_SYNC_SD_DONE:
          /* M1001 */
          self->sd_printing = FALSE;
          self->sd_print_done = FALSE;
          if (job_duration (self, now) > 60)
            {
              g_autofree char *duration = format_duration (job_duration (self, now));
              out_line (self, "echo:Print time: %s", duration);
            }
          job_stop (self, now);
          out_line (self, "Done printing file");
          return TRUE;
        case AFTER_SYNC_NONE:
        default:
          return TRUE;
        }

    case WAIT_UNTIL:
      return now >= self->wait_until;

    case WAIT_HEATER:
      return heat_wait_step (self, now);

    default:
      return TRUE;
    }
}

static void
finish_command (SimMarlin *self)
{
  if (!self->no_ok)
    ok_to_send (self);
  self->ring_r = (self->ring_r + 1) % self->bufsize;
  self->ring_length--;
  self->in_handler = FALSE;
  self->wait = WAIT_NONE;
}

/* GcodeSuite::host_keepalive() */
static void
host_keepalive (SimMarlin *self,
                double     now)
{
  gboolean busy = self->in_handler && self->wait != WAIT_NONE;

  if (self->keepalive_interval && busy)
    {
      if (now < self->next_busy)
        return;
      out_line (self, "echo:busy: processing");
    }
  self->next_busy = now + self->keepalive_interval;
}

static void
autoreport_temperatures (SimMarlin *self,
                         double     now)
{
  g_autoptr(GString) line = NULL;

  if (!self->autoreport_interval || now < self->next_autoreport)
    return;
  self->next_autoreport = now + self->autoreport_interval;
  if (self->wait_for_heatup)
    return;
  line = g_string_new (NULL);
  append_heater_states (self, line);
  out_line (self, "%s", line->str);
}

/* Marlin's loop() and idle(), for as long as something happens. Returns
 * whether anything did. */
static gboolean
firmware_run (SimMarlin *self,
              double     now)
{
  for (guint pass = 0; pass < 100000; pass++)
    {
      if (self->killed || self->unplugged)
        {
          thermal_update (self, now);
          return pass > 0;
        }
      if (self->tx->len > 0)
        return pass > 0;

      if (self->pending_resend)
        {
          /* gcode_line_error(): "while (read_serial() != -1)" drains what
           * arrived, then "Resend:" and "ok". */
          self->rx_head = 0;
          self->rx_length = 0;
          self->line_length = 0;
          self->pending_resend = FALSE;
          request_resend (self);
          continue;
        }

      /* idle() */
      planner_advance (self, now);
      thermal_update (self, now);
      if (read_serial_commands (self))
        continue;
      if (self->tx->len > 0 || self->killed)
        continue;
      if (read_sd_commands (self))
        continue;
      host_keepalive (self, now);
      autoreport_temperatures (self, now);
      if (self->tx->len > 0)
        continue;

      if (self->in_handler)
        {
          if (!continue_command (self, now))
            return pass > 0;
          finish_command (self);
          continue;
        }

      /* loop(): finishSDPrinting(), then queue.advance() */
      if (self->sd_complete && self->ring_length < self->bufsize)
        {
          ring_enqueue (self, "M1001", TRUE);
          self->sd_complete = FALSE;
        }
      if (self->ring_length == 0)
        return pass > 0;
      if (start_command (self, now))
        finish_command (self);
    }
  g_warning ("Marlin simulator: the firmware loop did not settle");
  return TRUE;
}

/* When the firmware next needs to look at the clock, in its own seconds. */
static double
firmware_next_event (SimMarlin *self,
                     double     now)
{
  double next = G_MAXDOUBLE;

  if (self->killed || self->unplugged)
    return next;

  if (self->block_count > 0)
    next = MIN (next, self->head_started + self->blocks[self->block_r]);
  if (self->autoreport_interval)
    next = MIN (next, self->next_autoreport);
  if (self->in_handler && self->wait != WAIT_NONE)
    {
      if (self->keepalive_interval)
        next = MIN (next, self->next_busy);
      if (self->wait == WAIT_UNTIL)
        next = MIN (next, self->wait_until);
      else if (self->wait == WAIT_HEATER)
        next = MIN (next, MIN (self->heat.next_report, now + HEAT_WAIT_TICK));
    }
  return next;
}

/* ------------------------------------------------------------------------ */
/* The link                                                                  */

static double
byte_us (SimMarlin *self)
{
  /* 10 bits a byte: start, 8 data, stop */
  return 10.0 * G_USEC_PER_SEC / self->baud;
}

/* Bytes reach the receive ring at the line's speed; whatever does not fit
 * is lost. With baud 0 the bytes wait on the host's side instead. */
static gboolean
rx_deliver (SimMarlin *self,
            gint64     now_us)
{
  guint64 due;
  guint delivered = 0;

  if (self->wire_in->len == 0)
    return FALSE;

  if (self->baud == 0)
    due = self->wire_in->len;
  else
    {
      guint64 arrived = (guint64) ((double) (now_us - self->rx_since_us) / byte_us (self));
      due = arrived > self->rx_arrived ? arrived - self->rx_arrived : 0;
      due = MIN (due, self->wire_in->len);
    }

  while (delivered < due)
    {
      guint8 c = self->wire_in->data[delivered];

      if (self->rx_length >= self->rx_capacity)
        read_serial_commands (self);
      if (self->rx_length < self->rx_capacity)
        rx_push (self, c);
      else if (self->baud == 0)
        break;
      else
        self->rx_dropped++;
      delivered++;
    }

  if (delivered > 0)
    {
      g_byte_array_remove_range (self->wire_in, 0, delivered);
      self->rx_arrived += delivered;
    }
  return delivered > 0;
}

static void
pump_input (SimMarlin *self,
            gint64     now_us)
{
  while (self->wire_in->len < WIRE_IN_MAX)
    {
      guint8 buffer[WIRE_IN_MAX];
      gssize n = read (self->master_fd, buffer, WIRE_IN_MAX - self->wire_in->len);

      if (n <= 0)
        break;
      if (self->wire_in->len == 0)
        {
          self->rx_since_us = now_us;
          self->rx_arrived = 0;
        }
      g_byte_array_append (self->wire_in, buffer, n);
    }
}

static gboolean
tx_pump (SimMarlin *self,
         gint64     now_us)
{
  guint64 due;
  gssize written;

  if (self->tx->len == 0)
    return FALSE;

  if (self->baud == 0)
    due = self->tx->len;
  else
    {
      /* A "now" taken before the burst began (a slow loop iteration) is
       * no time at all, not a huge unsigned one that sends everything. */
      gint64 elapsed = MAX (now_us - self->tx_since_us, 0);
      guint64 sent = (guint64) ((double) elapsed / byte_us (self));
      due = sent > self->tx_sent ? sent - self->tx_sent : 0;
      due = MIN (due, self->tx->len);
    }
  if (due == 0)
    return FALSE;

  written = write (self->master_fd, self->tx->data, due);
  if (written < 0)
    {
      if (errno == EAGAIN || errno == EINTR)
        written = 0;
      else
        {
          g_byte_array_set_size (self->tx, 0);
          return FALSE;
        }
    }

  if (written > 0)
    {
      g_byte_array_remove_range (self->tx, 0, written);
      self->tx_sent += written;
    }
  if ((guint64) written < due)
    {
      /* The pty is full: the host is not reading. Marlin's writes block. */
      self->tx_blocked = TRUE;
      self->tx_since_us = now_us;
      self->tx_sent = 0;
    }
  else
    self->tx_blocked = FALSE;

  return written > 0;
}

static gint64
link_next_event (SimMarlin *self)
{
  gint64 next = G_MAXINT64;

  if (self->baud == 0)
    {
      if (self->tx->len > 0 && !self->tx_blocked)
        next = 0;
      return next;
    }

  if (self->wire_in->len > 0)
    {
      /* Wake when the next line end (or the last byte) has arrived. */
      guint index = self->wire_in->len - 1;

      for (guint i = 0; i < self->wire_in->len; i++)
        if (self->wire_in->data[i] == '\n' || self->wire_in->data[i] == '\r')
          {
            index = i;
            break;
          }
      next = self->rx_since_us + (gint64) ceil ((self->rx_arrived + index + 1) * byte_us (self));
    }

  if (self->tx->len > 0 && !self->tx_blocked)
    {
      /* A few bytes at a time: fine enough, and not a wake-up per byte. */
      guint chunk = MIN (self->tx->len, 16);
      gint64 when = self->tx_since_us + (gint64) ceil ((self->tx_sent + chunk) * byte_us (self));

      next = MIN (next, when);
    }

  return next;
}

/* ------------------------------------------------------------------------ */
/* The thread                                                                */

static void
drain_wake_pipe (SimMarlin *self)
{
  char buffer[64];

  while (read (self->wake_fds[0], buffer, sizeof buffer) > 0)
    ;
}

static void
wake_thread (SimMarlin *self)
{
  char c = 'x';

  if (write (self->wake_fds[1], &c, 1) < 0 && errno != EAGAIN)
    g_warning ("Marlin simulator: cannot wake its thread: %s", g_strerror (errno));
}

static void
remove_link (SimMarlin *self)
{
  if (self->link_path != NULL && g_file_test (self->link_path, G_FILE_TEST_IS_SYMLINK))
    g_unlink (self->link_path);
}

/* Closing the master is what the host notices as a hang-up. It happens on
 * this thread, never under a poll() that still watches the descriptor. */
static void
pull_the_plug (SimMarlin *self)
{
  self->unplugged = TRUE;
  if (self->master_fd >= 0)
    close (self->master_fd);
  if (self->slave_fd >= 0)
    close (self->slave_fd);
  self->master_fd = self->slave_fd = -1;
  g_byte_array_set_size (self->tx, 0);
  g_byte_array_set_size (self->wire_in, 0);
  self->tx_blocked = FALSE;
  remove_link (self);
  g_cond_broadcast (&self->cond);
}

static gpointer
sim_marlin_thread (gpointer data)
{
  SimMarlin *self = data;

  g_mutex_lock (&self->mutex);

  while (!self->quit)
    {
      struct pollfd fds[2];
      nfds_t n_fds = 1;
      gint64 now_us = g_get_monotonic_time ();
      gint64 next_us;
      double next_sim;
      struct timespec timeout;
      struct timespec *timeout_p = NULL;

      if (self->unplug_requested && !self->unplugged)
        pull_the_plug (self);

      if (!self->unplugged)
        {
          pump_input (self, now_us);
          for (guint round = 0; round < 1000; round++)
            {
              gboolean progress = FALSE;

              progress |= rx_deliver (self, now_us);
              progress |= firmware_run (self, sim_marlin_now (self, now_us));
              progress |= tx_pump (self, now_us);
              if (!progress)
                break;
            }
        }

      next_us = self->unplugged ? G_MAXINT64 : link_next_event (self);
      /* While a reply is still leaving, Marlin is stuck in its write: its
       * timers wait for the link, not the other way round. */
      if (self->tx->len == 0)
        {
          next_sim = firmware_next_event (self, sim_marlin_now (self, now_us));
          if (next_sim < G_MAXDOUBLE)
            next_us = MIN (next_us, sim_marlin_wall_time (self, next_sim));
        }

      fds[0].fd = self->wake_fds[0];
      fds[0].events = POLLIN;
      if (!self->unplugged)
        {
          fds[1].fd = self->master_fd;
          fds[1].events = 0;
          if (self->wire_in->len < WIRE_IN_MAX)
            fds[1].events |= POLLIN;
          if (self->tx_blocked)
            fds[1].events |= POLLOUT;
          n_fds = 2;
        }

      if (next_us != G_MAXINT64)
        {
          gint64 delta = next_us - g_get_monotonic_time ();

          delta = CLAMP (delta, 0, 60 * G_USEC_PER_SEC);
          timeout.tv_sec = delta / G_USEC_PER_SEC;
          timeout.tv_nsec = (delta % G_USEC_PER_SEC) * 1000;
          timeout_p = &timeout;
        }

      g_mutex_unlock (&self->mutex);
      /* ppoll: microseconds matter, a byte takes 87 µs at 115200 baud */
      if (ppoll (fds, n_fds, timeout_p, NULL) < 0 && errno != EINTR)
        g_warning ("Marlin simulator: poll failed: %s", g_strerror (errno));
      g_mutex_lock (&self->mutex);

      drain_wake_pipe (self);
      if (n_fds == 2 && (fds[1].revents & POLLOUT))
        self->tx_blocked = FALSE;
    }

  g_mutex_unlock (&self->mutex);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Public API                                                                */

/**
 * sim_marlin_options_init:
 * @options: options to fill with Marlin's defaults
 *
 * 115200 baud, BUFSIZE 4, a 128-byte receive buffer, 16 planner blocks,
 * no faults, real time.
 */
void
sim_marlin_options_init (SimMarlinOptions *options)
{
  g_return_if_fail (options != NULL);

  memset (options, 0, sizeof *options);
  options->baud = 115200;
  options->buffer_size = DEFAULT_BUFSIZE;
  options->rx_buffer_bytes = DEFAULT_RX_BUFFER_SIZE;
  options->planner_blocks = DEFAULT_BLOCK_BUFFER_SIZE;
  options->time_scale = 1.0;
}

SimMarlinFile *
sim_marlin_file_new (const char *name,
                     GBytes     *content)
{
  SimMarlinFile *file;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (content != NULL, NULL);

  file = g_new0 (SimMarlinFile, 1);
  file->name = g_strdup (name);
  file->content = g_bytes_ref (content);
  return file;
}

void
sim_marlin_file_free (SimMarlinFile *file)
{
  if (file == NULL)
    return;
  g_free (file->name);
  g_clear_pointer (&file->content, g_bytes_unref);
  g_free (file);
}

static gboolean
open_pty (SimMarlin  *self,
          GError    **error)
{
  char name[128];
  struct termios tio;
  int saved_errno;

  self->master_fd = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (self->master_fd < 0 ||
      grantpt (self->master_fd) != 0 ||
      unlockpt (self->master_fd) != 0 ||
      ptsname_r (self->master_fd, name, sizeof name) != 0)
    goto failed;

  /* Held open so the master never reads EIO before a host opens the port;
   * raw, so the host's bytes arrive unchanged and nothing is echoed. */
  self->slave_fd = open (name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (self->slave_fd < 0 || tcgetattr (self->slave_fd, &tio) != 0)
    goto failed;
  cfmakeraw (&tio);
  cfsetispeed (&tio, B115200);
  cfsetospeed (&tio, B115200);
  if (tcsetattr (self->slave_fd, TCSANOW, &tio) != 0)
    goto failed;

  if (!g_unix_set_fd_nonblocking (self->master_fd, TRUE, error))
    return FALSE;

  self->path = g_strdup (name);
  return TRUE;

failed:
  saved_errno = errno;
  g_set_error (error, SIM_MARLIN_ERROR, SIM_MARLIN_ERROR_PTY,
               "Cannot open a pseudo-terminal for the simulated printer: %s",
               g_strerror (saved_errno));
  return FALSE;
}

static void
boot (SimMarlin *self)
{
  out_line (self, "start");
  out_line (self, "PowerUp");
  out_line (self, "Marlin " SHORT_BUILD_VERSION);
  out_line (self, "echo: Last Updated: 2025-10-05 | Author: (none, default config)");
  out_line (self, "echo: Compiled: Oct  5 2025");
  out_line (self, "echo: Free Memory: 4523  PlannerBufferBytes: %u", 72 * self->block_buffer_size);
  out_line (self, "echo:SD card ok");
}

/**
 * sim_marlin_new:
 * @options: (nullable): options, or %NULL for sim_marlin_options_init()'s
 * @error: return location for a #GError
 *
 * Opens a pseudo-terminal, boots a Marlin on it (its "start" banner waits
 * for the host in the terminal) and runs it in a thread of its own.
 *
 * Returns: (transfer full): the printer, or %NULL with @error set
 */
SimMarlin *
sim_marlin_new (const SimMarlinOptions  *options,
                GError                 **error)
{
  g_autoptr(SimMarlin) self = NULL;
  SimMarlinOptions defaults;

  if (options == NULL)
    {
      sim_marlin_options_init (&defaults);
      options = &defaults;
    }

  self = g_new0 (SimMarlin, 1);
  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
  self->master_fd = -1;
  self->slave_fd = -1;
  self->wake_fds[0] = self->wake_fds[1] = -1;

  self->baud = options->baud;
  self->bufsize = options->buffer_size ? options->buffer_size : DEFAULT_BUFSIZE;
  self->rx_capacity = (options->rx_buffer_bytes ? options->rx_buffer_bytes : DEFAULT_RX_BUFFER_SIZE);
  /* The AVR ring keeps a byte only if head+1 != tail. */
  self->rx_capacity = MAX (self->rx_capacity, 2) - 1;
  self->block_buffer_size = MAX (options->planner_blocks ? options->planner_blocks : DEFAULT_BLOCK_BUFFER_SIZE, 2);
  self->advanced_ok = options->advanced_ok;
  self->legacy_resend = options->legacy_resend;
  self->corrupt_one_in = options->corrupt_one_in;
  self->drop_ok_one_in = options->drop_ok_one_in;
  self->time_scale = options->time_scale > 0 ? options->time_scale : 1.0;
  self->firmware_name = g_strdup (options->firmware_name ? options->firmware_name : DEFAULT_FIRMWARE_NAME);
  self->link_path = g_strdup (options->link_path);
  self->corrupt_dice = g_rand_new_with_seed (options->seed);
  self->drop_dice = g_rand_new_with_seed (options->seed ^ 0x9e3779b9u);

  self->wire_in = g_byte_array_new ();
  self->rx_ring = g_new0 (guint8, self->rx_capacity);
  self->tx = g_byte_array_new ();
  self->ring = g_new0 (QueuedCommand, self->bufsize);
  self->blocks = g_new0 (double, self->block_buffer_size);
  self->save_data = g_byte_array_new ();
  self->accepted = g_ptr_array_new_with_free_func (g_free);
  self->sd_entries = g_ptr_array_new_with_free_func (sd_entry_free);

  self->feedrate_mm_s = 1500.0 / 60;   /* Marlin's initial feedrate_mm_s */
  self->extrude_min_temp = EXTRUDE_MINTEMP;
  self->keepalive_interval = DEFAULT_KEEPALIVE_SECONDS;
  self->mounted = TRUE;
  self->last_n = 0;
  self->hotend = (Heater) { 21.3, 0, 21.3, 2.5, 2.0, 40.0 };
  self->bed = (Heater) { 20.9, 0, 20.9, 0.8, 4.0, 150.0 };

  if (options->sd_files != NULL)
    for (guint i = 0; i < options->sd_files->len; i++)
      {
        const SimMarlinFile *file = g_ptr_array_index (options->sd_files, i);
        sd_add_file (self, file->name, file->content);
      }

  if (!g_unix_open_pipe (self->wake_fds, FD_CLOEXEC, error) ||
      !g_unix_set_fd_nonblocking (self->wake_fds[0], TRUE, error) ||
      !g_unix_set_fd_nonblocking (self->wake_fds[1], TRUE, error))
    return NULL;

  if (!open_pty (self, error))
    return NULL;

  if (self->link_path != NULL)
    {
      if (g_file_test (self->link_path, G_FILE_TEST_IS_SYMLINK))
        g_unlink (self->link_path);
      if (symlink (self->path, self->link_path) != 0)
        {
          int saved_errno = errno;
          g_set_error (error, SIM_MARLIN_ERROR, SIM_MARLIN_ERROR_PTY,
                       "Cannot link %s to the simulated printer: %s",
                       self->link_path, g_strerror (saved_errno));
          g_clear_pointer (&self->link_path, g_free);
          return NULL;
        }
    }

  self->start_us = g_get_monotonic_time ();
  boot (self);

  self->thread = g_thread_try_new ("sim-marlin", sim_marlin_thread, self, error);
  if (self->thread == NULL)
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * sim_marlin_get_path:
 * @self: a #SimMarlin
 *
 * Returns: the pseudo-terminal a host opens, like /dev/pts/7
 */
const char *
sim_marlin_get_path (SimMarlin *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->path;
}

/**
 * sim_marlin_dup_accepted:
 * @self: a #SimMarlin
 *
 * Every serial line the printer took into its command queue, in order, as
 * the G-code parser sees it: without the line number and the checksum.
 * Lines with a wrong number or checksum are not in it; a line sent again
 * after a "Resend:" is in it once.
 *
 * Returns: (transfer full): a %NULL-terminated array; free with g_strfreev()
 */
char **
sim_marlin_dup_accepted (SimMarlin *self)
{
  GStrvBuilder *builder;
  char **result;

  g_return_val_if_fail (self != NULL, NULL);

  builder = g_strv_builder_new ();
  g_mutex_lock (&self->mutex);
  for (guint i = 0; i < self->accepted->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (self->accepted, i));
  g_mutex_unlock (&self->mutex);
  result = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return result;
}

/**
 * sim_marlin_unplug:
 * @self: a #SimMarlin
 *
 * Pulls the USB cable: the pty master closes, so the host's reads fail
 * (EIO or end of file, POLLHUP). The printer stays unplugged.
 */
void
sim_marlin_unplug (SimMarlin *self)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->mutex);
  self->unplug_requested = TRUE;
  wake_thread (self);
  while (!self->unplugged)
    g_cond_wait (&self->cond, &self->mutex);
  g_mutex_unlock (&self->mutex);
}

/**
 * sim_marlin_drop_next_ok:
 * @self: a #SimMarlin
 *
 * Loses the next line that begins with "ok" (a plain "ok", the "ok" after
 * "Resend:", or M105's "ok T:…" line as a whole).
 */
void
sim_marlin_drop_next_ok (SimMarlin *self)
{
  g_return_if_fail (self != NULL);

  g_mutex_lock (&self->mutex);
  self->drop_next_ok++;
  g_mutex_unlock (&self->mutex);
}

/**
 * sim_marlin_add_sd_file:
 * @self: a #SimMarlin
 * @name: the long name, folders separated by '/'
 * @content: the file's bytes
 *
 * Puts a file on the SD card (replacing one of the same name). M20 lists it
 * under a DOS 8.3 name; M23 opens it by that name.
 */
void
sim_marlin_add_sd_file (SimMarlin  *self,
                        const char *name,
                        GBytes     *content)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (name != NULL);
  g_return_if_fail (content != NULL);

  g_mutex_lock (&self->mutex);
  sd_add_file (self, name, content);
  g_mutex_unlock (&self->mutex);
}

/**
 * sim_marlin_get_status:
 * @self: a #SimMarlin
 * @status: (out caller-allocates): where to copy the state
 */
void
sim_marlin_get_status (SimMarlin       *self,
                       SimMarlinStatus *status)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (status != NULL);

  memset (status, 0, sizeof *status);

  g_mutex_lock (&self->mutex);
  thermal_update (self, sim_marlin_now (self, g_get_monotonic_time ()));
  status->hotend_temperature = self->hotend.current;
  status->hotend_target = self->hotend.target;
  status->bed_temperature = self->bed.current;
  status->bed_target = self->bed.target;
  status->x = self->position[0];
  status->y = self->position[1];
  status->z = self->position[2];
  status->e = self->position[3];
  status->printing = self->sd_printing;
  status->paused = self->sd_file != NULL && !self->sd_printing && self->sd_position > 0;
  status->sd_position = self->sd_position;
  status->sd_size = self->sd_size;
  if (self->sd_dos_name != NULL)
    g_strlcpy (status->current_file, self->sd_dos_name, sizeof status->current_file);
  status->busy = self->in_handler && self->wait != WAIT_NONE;
  status->queue_length = self->ring_length;
  status->planner_moves = self->block_count;
  status->rx_waiting = self->rx_length;
  status->rx_dropped = self->rx_dropped;
  status->lines_accepted = self->accepted->len;
  status->lines_corrupted = self->lines_corrupted;
  status->line_errors = self->line_errors;
  status->oks_dropped = self->oks_dropped;
  status->killed = self->killed;
  status->unplugged = self->unplugged;
  g_mutex_unlock (&self->mutex);
}

/**
 * sim_marlin_free:
 * @self: (transfer full) (nullable): a #SimMarlin
 *
 * Stops the printer's thread and closes its pseudo-terminal.
 */
void
sim_marlin_free (SimMarlin *self)
{
  if (self == NULL)
    return;

  if (self->thread != NULL)
    {
      g_mutex_lock (&self->mutex);
      self->quit = TRUE;
      g_mutex_unlock (&self->mutex);
      wake_thread (self);
      g_thread_join (self->thread);
    }

  remove_link (self);
  if (self->master_fd >= 0)
    close (self->master_fd);
  if (self->slave_fd >= 0)
    close (self->slave_fd);
  for (guint i = 0; i < 2; i++)
    if (self->wake_fds[i] >= 0)
      close (self->wake_fds[i]);

  g_free (self->path);
  g_free (self->link_path);
  g_free (self->firmware_name);
  g_rand_free (self->corrupt_dice);
  g_rand_free (self->drop_dice);
  g_byte_array_unref (self->wire_in);
  g_free (self->rx_ring);
  g_byte_array_unref (self->tx);
  g_free (self->ring);
  g_free (self->blocks);
  g_byte_array_unref (self->save_data);
  g_ptr_array_unref (self->accepted);
  g_ptr_array_unref (self->sd_entries);
  g_clear_pointer (&self->sd_file, g_bytes_unref);
  g_free (self->sd_dos_name);
  g_free (self->sd_long_name);
  g_free (self->save_parent);
  g_free (self->save_dos_name);
  g_free (self->save_long_name);
  g_cond_clear (&self->cond);
  g_mutex_clear (&self->mutex);
  g_free (self);
}
