/* sim-marlin.h: a simulated Marlin printer on a pseudo-terminal
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SIM_MARLIN_ERROR (sim_marlin_error_quark ())

typedef enum {
  SIM_MARLIN_ERROR_PTY,
  SIM_MARLIN_ERROR_THREAD,
} SimMarlinError;

/* A file on the simulated SD card. @name is the long name as a host would
 * have copied it ("cube.gcode", or "parts/cube.gcode" inside a folder); the
 * card gives it a DOS 8.3 name of its own ("CUBE~1.GCO"), as FAT does. */
typedef struct {
  char   *name;
  GBytes *content;
} SimMarlinFile;

typedef struct {
  /* The link: bytes are paced at baud/10 per second in each direction
   * (start, 8 data and stop bits). sim_marlin_options_init() and NULL
   * options give 115200; 0 = unpaced, and then nothing is ever lost from
   * the receive buffer either. Other fields: 0 means Marlin's default. */
  guint      baud;
  /* Marlin's BUFSIZE: commands taken from serial before they run. 0 = 4. */
  guint      buffer_size;
  /* Marlin's RX_BUFFER_SIZE in bytes (one byte of it is never used, as in
   * the AVR ring). Bytes that arrive while it is full are lost. 0 = 128. */
  guint      rx_buffer_bytes;
  /* BLOCK_BUFFER_SIZE: planner blocks. 0 = 16. */
  guint      planner_blocks;
  /* ADVANCED_OK: "ok N<n> P<planner free> B<buffer free>". */
  gboolean   advanced_ok;
  /* Behave like Marlin 2.0.8 (2021): no "ok" after "Resend:", and a repeated
   * line number is an error instead of being dropped silently. */
  gboolean   legacy_resend;
  /* Faults, thrown with dice seeded by @seed so a run can be repeated.
   * corrupt_one_in: flip a bit in 1 of N received numbered lines (those
   * with "*cs"), as line noise would. drop_ok_one_in: lose 1 in N lines
   * that begin with "ok". */
  guint      corrupt_one_in;
  guint      drop_ok_one_in;
  guint32    seed;
  /* Firmware time runs this many times faster than the wall clock: moves,
   * dwells, heating, busy and temperature reports. The link speed is not
   * scaled. 0 = 1.0. */
  double     time_scale;
  /* M115's FIRMWARE_NAME; NULL = "Marlin bugfix-2.1.x (drover-sim)". */
  char      *firmware_name;
  /* Optional: a symbolic link to the pseudo-terminal, made at start and
   * removed on unplug and free (like /dev/serial/by-id/…). */
  char      *link_path;
  /* Optional: SimMarlinFile* to put on the SD card at start (copied). */
  GPtrArray *sd_files;
} SimMarlinOptions;

/* What a farm shows about one printer, copied out under the lock. */
typedef struct {
  double   hotend_temperature;
  double   hotend_target;
  double   bed_temperature;
  double   bed_target;
  double   x, y, z, e;
  gboolean printing;          /* an SD print is running (not paused) */
  gboolean paused;            /* an SD print is paused (M25) */
  guint64  sd_position;       /* bytes read from the file so far */
  guint64  sd_size;
  char     current_file[256]; /* DOS name of the open SD file, "" if none */
  gboolean busy;              /* a command is blocking (M109, M400, G4, a full planner…) */
  guint    queue_length;      /* commands in the BUFSIZE queue, including the running one */
  guint    planner_moves;     /* blocks in the planner, including the one moving */
  guint    rx_waiting;        /* bytes waiting in the receive buffer */
  guint64  rx_dropped;        /* bytes lost because the receive buffer was full */
  guint64  lines_accepted;    /* serial lines taken into the queue */
  guint64  lines_corrupted;   /* lines hit by the corrupt_one_in fault */
  guint64  line_errors;       /* Error:… replies to bad lines */
  guint64  oks_dropped;       /* "ok" lines lost to the drop faults */
  gboolean killed;            /* M112: halted until freed */
  gboolean unplugged;
} SimMarlinStatus;

typedef struct _SimMarlin SimMarlin;

GQuark         sim_marlin_error_quark     (void);

void           sim_marlin_options_init    (SimMarlinOptions       *options);

SimMarlinFile *sim_marlin_file_new        (const char             *name,
                                           GBytes                 *content);
void           sim_marlin_file_free       (SimMarlinFile          *file);

SimMarlin     *sim_marlin_new             (const SimMarlinOptions *options,
                                           GError                **error);
const char    *sim_marlin_get_path        (SimMarlin              *self);
char         **sim_marlin_dup_accepted    (SimMarlin              *self);
void           sim_marlin_unplug          (SimMarlin              *self);
void           sim_marlin_drop_next_ok    (SimMarlin              *self);
void           sim_marlin_add_sd_file     (SimMarlin              *self,
                                           const char             *name,
                                           GBytes                 *content);
void           sim_marlin_get_status      (SimMarlin              *self,
                                           SimMarlinStatus        *status);
void           sim_marlin_free            (SimMarlin              *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SimMarlin, sim_marlin_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SimMarlinFile, sim_marlin_file_free)

G_END_DECLS
