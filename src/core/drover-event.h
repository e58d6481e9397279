/* drover-event.h: what happened on a printer, as opposed to its state
 *
 * Telemetry is state: the newest wins and older values are merged away.
 * Events are not: a file that appeared, a job that started, a command
 * someone gave. Decoders produce them on Paho's threads beside the state;
 * they travel with the printer's update, in order, and none is merged away.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * DroverEventKind:
 * @DROVER_EVENT_FILE_LIST: the printer's whole file list, as it is now
 * @DROVER_EVENT_FILE_ADDED: a file appeared (or was written over)
 * @DROVER_EVENT_FILE_REMOVED: a file went away
 * @DROVER_EVENT_JOB_STARTED: the printer started printing @file
 * @DROVER_EVENT_COMMAND: the printer ran @command (G-code)
 * @DROVER_EVENT_ORDER: a client published an order to the printer on the
 *   broker (@command names it; @file, @url as the order says); seen
 *   before the printer acts on it
 */
typedef enum
{
  DROVER_EVENT_FILE_LIST,
  DROVER_EVENT_FILE_ADDED,
  DROVER_EVENT_FILE_REMOVED,
  DROVER_EVENT_JOB_STARTED,
  DROVER_EVENT_COMMAND,
  DROVER_EVENT_ORDER,
} DroverEventKind;

typedef struct
{
  char   *name;       /* the path on the printer, "/" between folders */
  gint64  size;       /* bytes, -1 unknown */
  gint64  modified;   /* Unix seconds, -1 unknown */
  char   *sha256;     /* hex, NULL when the printer does not say */
} DroverFileInfo;

typedef struct
{
  DroverEventKind  kind;
  gint64           time_us;      /* when Drover received it, g_get_real_time () */
  char            *file;         /* FILE_ADDED, FILE_REMOVED, JOB_STARTED, ORDER */
  gint64           size;         /* FILE_ADDED; -1 unknown */
  char            *sha256;       /* FILE_ADDED when the printer says */
  char            *command;      /* COMMAND: the G-code; ORDER: the order's name */
  char            *url;          /* ORDER: where the printer is told to fetch from */
  char            *request_id;   /* ORDER: the order's own id, to tell Drover's own */
  char            *origin;       /* who, when the dialect says (OctoPrint's origin) */
  GPtrArray       *files;        /* FILE_LIST: DroverFileInfo */
} DroverEvent;

#define DROVER_TYPE_EVENT (drover_event_get_type ())

GType            drover_event_get_type          (void) G_GNUC_CONST;
DroverEvent     *drover_event_new               (DroverEventKind       kind);
DroverEvent     *drover_event_ref               (DroverEvent          *event);
void             drover_event_unref             (DroverEvent          *event);
const char      *drover_event_kind_to_string    (DroverEventKind       kind);

DroverFileInfo  *drover_file_info_new           (const char           *name,
                                                 gint64                size,
                                                 gint64                modified,
                                                 const char           *sha256);
DroverFileInfo  *drover_file_info_copy          (const DroverFileInfo *info);
void             drover_file_info_free          (DroverFileInfo       *info);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DroverEvent, drover_event_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DroverFileInfo, drover_file_info_free)

G_END_DECLS
