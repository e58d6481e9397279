/* drover-update.c: what one message says about one printer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "drover-update.h"

/**
 * drover_update_clear:
 * @update: an update
 *
 * Frees what @update holds and empties it.
 */
void
drover_update_clear (DroverUpdate *update)
{
  g_clear_pointer (&update->current_file, g_free);
  g_clear_pointer (&update->error_text, g_free);
  g_clear_pointer (&update->events, g_ptr_array_unref);
  update->fields = 0;
}

/**
 * drover_update_merge:
 * @into: the older update, changed in place
 * @newer: the newer one
 *
 * Coalesces two updates of one printer: whatever @newer names wins, the
 * rest of @into stays. The fleet applies at most one merged update per
 * printer per frame.
 */
void
drover_update_merge (DroverUpdate       *into,
                     const DroverUpdate *newer)
{
  DroverUpdateFields fields = newer->fields;

  if (fields & DROVER_UPDATE_STATE)
    into->state = newer->state;
  if (fields & DROVER_UPDATE_ONLINE)
    into->online = newer->online;
  if (fields & DROVER_UPDATE_HOTEND_TEMPERATURE)
    into->hotend_temperature = newer->hotend_temperature;
  if (fields & DROVER_UPDATE_HOTEND_TARGET)
    into->hotend_target = newer->hotend_target;
  if (fields & DROVER_UPDATE_BED_TEMPERATURE)
    into->bed_temperature = newer->bed_temperature;
  if (fields & DROVER_UPDATE_BED_TARGET)
    into->bed_target = newer->bed_target;
  if (fields & DROVER_UPDATE_PROGRESS)
    into->progress = newer->progress;
  if (fields & DROVER_UPDATE_TIME_LEFT)
    into->time_left = newer->time_left;
  if (fields & DROVER_UPDATE_CURRENT_FILE)
    {
      g_free (into->current_file);
      into->current_file = g_strdup (newer->current_file);
    }
  if (fields & DROVER_UPDATE_ERROR_TEXT)
    {
      g_free (into->error_text);
      into->error_text = g_strdup (newer->error_text);
    }

  into->fields |= fields;

  /* Events are never merged away: each one is kept, in order. */
  for (guint i = 0; newer->events != NULL && i < newer->events->len; i++)
    drover_update_add_event (into, g_ptr_array_index (newer->events, i));
}

/**
 * drover_update_add_event:
 * @event: (transfer none): what happened
 *
 * Adds @event after the update's other events.
 */
void
drover_update_add_event (DroverUpdate *update,
                         DroverEvent  *event)
{
  if (update->events == NULL)
    update->events = g_ptr_array_new_with_free_func ((GDestroyNotify)drover_event_unref);
  g_ptr_array_add (update->events, drover_event_ref (event));
}
