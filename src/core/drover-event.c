/* drover-event.c: what happened on a printer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "drover-event.h"

G_DEFINE_BOXED_TYPE (DroverEvent, drover_event, drover_event_ref, drover_event_unref)

static void
event_clear (DroverEvent *event)
{
  g_free (event->file);
  g_free (event->sha256);
  g_free (event->command);
  g_free (event->url);
  g_free (event->request_id);
  g_free (event->origin);
  g_clear_pointer (&event->files, g_ptr_array_unref);
}

/**
 * drover_event_new:
 *
 * Returns: (transfer full): an empty event of @kind, stamped now
 */
DroverEvent *
drover_event_new (DroverEventKind kind)
{
  DroverEvent *event = g_atomic_rc_box_new0 (DroverEvent);

  event->kind = kind;
  event->time_us = g_get_real_time ();
  event->size = -1;
  if (kind == DROVER_EVENT_FILE_LIST)
    event->files = g_ptr_array_new_with_free_func ((GDestroyNotify)drover_file_info_free);

  return event;
}

DroverEvent *
drover_event_ref (DroverEvent *event)
{
  return g_atomic_rc_box_acquire (event);
}

void
drover_event_unref (DroverEvent *event)
{
  g_atomic_rc_box_release_full (event, (GDestroyNotify)event_clear);
}

/**
 * drover_event_kind_to_string:
 *
 * Returns: a stable name for @kind, as the ledger stores it
 */
const char *
drover_event_kind_to_string (DroverEventKind kind)
{
  switch (kind)
    {
    case DROVER_EVENT_FILE_LIST: return "file-list";
    case DROVER_EVENT_FILE_ADDED: return "file-added";
    case DROVER_EVENT_FILE_REMOVED: return "file-removed";
    case DROVER_EVENT_JOB_STARTED: return "job-started";
    case DROVER_EVENT_COMMAND: return "command";
    case DROVER_EVENT_ORDER: return "order";
    default: return "unknown";
    }
}

/**
 * drover_file_info_new:
 *
 * Returns: (transfer full): a file as a printer lists it
 */
DroverFileInfo *
drover_file_info_new (const char *name,
                      gint64      size,
                      gint64      modified,
                      const char *sha256)
{
  DroverFileInfo *info = g_new0 (DroverFileInfo, 1);

  info->name = g_strdup (name);
  info->size = size;
  info->modified = modified;
  info->sha256 = g_strdup (sha256);

  return info;
}

DroverFileInfo *
drover_file_info_copy (const DroverFileInfo *info)
{
  return drover_file_info_new (info->name, info->size, info->modified, info->sha256);
}

void
drover_file_info_free (DroverFileInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->sha256);
  g_free (info);
}
