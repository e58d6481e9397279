/* drover-update.h: what one message says about one printer
 *
 * A decoder turns a message's bytes into a DroverUpdate on whichever
 * thread received it; the fleet applies updates on the main thread. A
 * plain struct, so it can cross threads and be merged cheaply.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "drover-enums.h"
#include "drover-event.h"

G_BEGIN_DECLS

/**
 * DroverUpdateFields:
 *
 * Which members of a #DroverUpdate hold news. Absent means unchanged:
 * dialects that send diffs (Moonraker, Bambu P1) name only what changed.
 */
typedef enum
{
  DROVER_UPDATE_STATE              = 1 << 0,
  DROVER_UPDATE_HOTEND_TEMPERATURE = 1 << 1,
  DROVER_UPDATE_HOTEND_TARGET      = 1 << 2,
  DROVER_UPDATE_BED_TEMPERATURE    = 1 << 3,
  DROVER_UPDATE_BED_TARGET         = 1 << 4,
  DROVER_UPDATE_PROGRESS           = 1 << 5,
  DROVER_UPDATE_TIME_LEFT          = 1 << 6,
  DROVER_UPDATE_CURRENT_FILE       = 1 << 7,
  DROVER_UPDATE_ERROR_TEXT         = 1 << 8,
  DROVER_UPDATE_ONLINE             = 1 << 9,   /* presence: online says the printer is there */
} DroverUpdateFields;

typedef struct
{
  DroverUpdateFields  fields;
  DroverPrinterState  state;
  gboolean            online;
  double              hotend_temperature;
  double              hotend_target;
  double              bed_temperature;
  double              bed_target;
  double              progress;       /* 0..1 */
  gint64              time_left;      /* seconds, -1 unknown */
  char               *current_file;   /* NULL: no file */
  char               *error_text;     /* NULL: no error */
  GPtrArray          *events;         /* DroverEvent, oldest first; NULL: none */
} DroverUpdate;

/**
 * DroverDecodeStatus:
 * @DROVER_DECODE_OK: @update holds news for the printer
 * @DROVER_DECODE_IGNORED: a message of the dialect that says nothing about
 *   the printer's state (a request, a response, an event not handled yet)
 * @DROVER_DECODE_MALFORMED: not what the dialect sends: bad JSON, wrong
 *   types, out-of-range values; nothing was taken from it
 * @DROVER_DECODE_OVERSIZED: larger than DROVER_DECODE_MAX_PAYLOAD; not read
 */
typedef enum
{
  DROVER_DECODE_OK,
  DROVER_DECODE_IGNORED,
  DROVER_DECODE_MALFORMED,
  DROVER_DECODE_OVERSIZED,
} DroverDecodeStatus;

/* Real status payloads are a few kilobytes; a Bambu full report about 6 KiB. */
#define DROVER_DECODE_MAX_PAYLOAD (256 * 1024)
/* A whole file list (a printer with thousands of files) and a signed job
 * command with its G-code inline are larger by nature. */
#define DROVER_DECODE_MAX_FILE_LIST (8 * 1024 * 1024)
#define DROVER_DECODE_MAX_JOB       (DROVER_JOB_MAX_INLINE)
#define DROVER_JOB_MAX_INLINE       (96 * 1024 * 1024)

void          drover_update_clear      (DroverUpdate       *update);
void          drover_update_merge      (DroverUpdate       *into,
                                        const DroverUpdate *newer);
void          drover_update_add_event  (DroverUpdate       *update,
                                        DroverEvent        *event);

G_END_DECLS
