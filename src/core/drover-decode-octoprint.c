/* drover-decode-octoprint.c: OctoPrint with the OctoPrint-MQTT plugin, read
 *
 * shared/reference/octoprint.md §1-2. Each OctoPrint publishes under its
 * own base topic `octoPrint/<instance>/` (the plugin's default `octoPrint/`
 * cannot tell two instances apart):
 * - `mqtt`: plain text `connected` / `disconnected` (the will);
 * - `temperature/<heater>`: `{"actual": …, "target": …, "_timestamp": …}`;
 * - `progress/printing`: `{"location": …, "path": …, "progress": <int %>, …}`;
 * - `event/<Event>`: the event's payload plus `_event` and `_timestamp`.
 * Python's json.dumps spacing; key order never matters.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "drover-decode-private.h"

typedef enum
{
  OCTOPRINT_EVENT_PRINT_STARTED,
  OCTOPRINT_EVENT_PRINT_PAUSED,
  OCTOPRINT_EVENT_PRINT_RESUMED,
  OCTOPRINT_EVENT_PRINT_DONE,
  OCTOPRINT_EVENT_PRINT_CANCELLED,
  OCTOPRINT_EVENT_PRINT_FAILED,
  OCTOPRINT_EVENT_DISCONNECTED,
  OCTOPRINT_EVENT_ERROR,
  OCTOPRINT_EVENT_FILE_ADDED,
  OCTOPRINT_EVENT_FILE_REMOVED,
} OctoPrintEvent;

static const struct {
  const char     *name;
  OctoPrintEvent  event;
} octoprint_events[] = {
  { "PrintStarted",   OCTOPRINT_EVENT_PRINT_STARTED },
  { "PrintPaused",    OCTOPRINT_EVENT_PRINT_PAUSED },
  { "PrintResumed",   OCTOPRINT_EVENT_PRINT_RESUMED },
  { "PrintDone",      OCTOPRINT_EVENT_PRINT_DONE },
  { "PrintCancelled", OCTOPRINT_EVENT_PRINT_CANCELLED },
  { "PrintFailed",    OCTOPRINT_EVENT_PRINT_FAILED },
  { "Disconnected",   OCTOPRINT_EVENT_DISCONNECTED },
  { "Error",          OCTOPRINT_EVENT_ERROR },
  { "FileAdded",      OCTOPRINT_EVENT_FILE_ADDED },
  { "FileRemoved",    OCTOPRINT_EVENT_FILE_REMOVED },
};

static gboolean
octoprint_event_from_level (const DroverTopicLevel *level,
                            OctoPrintEvent         *event)
{
  for (guint i = 0; i < G_N_ELEMENTS (octoprint_events); i++)
    {
      if (_drover_topic_level_is (level, octoprint_events[i].name))
        {
          *event = octoprint_events[i].event;
          return TRUE;
        }
    }

  return FALSE;
}

/* A string member that may also be null or absent. */
static gboolean
octoprint_read_optional_string (JsonObject  *object,
                                const char  *name,
                                const char **value)
{
  *value = NULL;

  switch (_drover_read_string (object, name, value))
    {
    case DROVER_MEMBER_ABSENT:
    case DROVER_MEMBER_NULL:
      *value = NULL;
      return TRUE;
    case DROVER_MEMBER_VALUE:
      return TRUE;
    case DROVER_MEMBER_WRONG_TYPE:
    default:
      return FALSE;
    }
}

/* `mqtt`: the plugin's connection status, and its last will. */
static DroverDecodeStatus
octoprint_read_connection (const guint8 *payload,
                           gsize         length,
                           DroverUpdate *update)
{
  static const char connected[] = "connected";
  static const char disconnected[] = "disconnected";

  if (length > DROVER_DECODE_MAX_PAYLOAD)
    return DROVER_DECODE_OVERSIZED;

  if (length == strlen (connected) && memcmp (payload, connected, length) == 0)
    {
      update->online = TRUE;
      update->fields |= DROVER_UPDATE_ONLINE;
      return DROVER_DECODE_OK;
    }

  if (length == strlen (disconnected) && memcmp (payload, disconnected, length) == 0)
    {
      update->online = FALSE;
      update->fields |= DROVER_UPDATE_ONLINE;
      _drover_update_set_state (update, DROVER_PRINTER_STATE_OFFLINE);
      return DROVER_DECODE_OK;
    }

  return DROVER_DECODE_MALFORMED;
}

/* `temperature/tool0`, `temperature/bed`: a null target is no target. */
static DroverDecodeStatus
octoprint_read_temperature (JsonObject             *root,
                            const DroverTopicLevel *heater,
                            DroverUpdate           *update)
{
  gboolean ok;

  if (_drover_topic_level_is (heater, "tool0"))
    ok = _drover_read_temperature (root, "actual", update, DROVER_UPDATE_HOTEND_TEMPERATURE,
                                   &update->hotend_temperature, DROVER_NULL_IS_UNSET) &&
         _drover_read_temperature (root, "target", update, DROVER_UPDATE_HOTEND_TARGET,
                                   &update->hotend_target, DROVER_NULL_IS_ZERO);
  else
    ok = _drover_read_temperature (root, "actual", update, DROVER_UPDATE_BED_TEMPERATURE,
                                   &update->bed_temperature, DROVER_NULL_IS_UNSET) &&
         _drover_read_temperature (root, "target", update, DROVER_UPDATE_BED_TARGET,
                                   &update->bed_target, DROVER_NULL_IS_ZERO);

  return ok ? DROVER_DECODE_OK : DROVER_DECODE_MALFORMED;
}

/* `progress/printing`: an integer percentage of the file at `path`. When
 * idle the plugin publishes `"path": ""` and 0. */
static DroverDecodeStatus
octoprint_read_progress (JsonObject   *root,
                         DroverUpdate *update)
{
  const char *path = NULL;
  double percent = 0;

  switch (_drover_read_number (root, "progress", &percent))
    {
    case DROVER_MEMBER_ABSENT:
    case DROVER_MEMBER_NULL:
      break;
    case DROVER_MEMBER_VALUE:
      if (!_drover_progress_is_valid (percent / 100.0))
        return DROVER_DECODE_MALFORMED;
      update->progress = percent / 100.0;
      update->fields |= DROVER_UPDATE_PROGRESS;
      break;
    case DROVER_MEMBER_WRONG_TYPE:
    default:
      return DROVER_DECODE_MALFORMED;
    }

  if (json_object_has_member (root, "path"))
    {
      if (!octoprint_read_optional_string (root, "path", &path))
        return DROVER_DECODE_MALFORMED;
      _drover_update_set_file (update, path);
    }

  return DROVER_DECODE_OK;
}

/* The job's file: `path` inside its storage, the name progress/printing
 * also uses, so that the file does not flip between the two spellings. */
static gboolean
octoprint_read_job_file (JsonObject   *root,
                         DroverUpdate *update)
{
  const char *path = NULL;
  const char *name = NULL;

  if (!octoprint_read_optional_string (root, "path", &path) ||
      !octoprint_read_optional_string (root, "name", &name))
    return FALSE;

  if (path != NULL || name != NULL)
    _drover_update_set_file (update, path != NULL ? path : name);

  return TRUE;
}

static DroverDecodeStatus
octoprint_read_event (JsonObject     *root,
                      OctoPrintEvent  event,
                      DroverUpdate   *update)
{
  const char *reason = NULL;
  const char *error = NULL;

  switch (event)
    {
    case OCTOPRINT_EVENT_PRINT_STARTED:
      if (!octoprint_read_job_file (root, update))
        return DROVER_DECODE_MALFORMED;
      if (update->current_file != NULL)
        {
          g_autoptr(DroverEvent) started = drover_event_new (DROVER_EVENT_JOB_STARTED);
          const char *origin = NULL;

          if (!octoprint_read_optional_string (root, "origin", &origin))
            return DROVER_DECODE_MALFORMED;
          started->file = g_strdup (update->current_file);
          started->origin = g_strdup (origin);
          drover_update_add_event (update, started);
        }
      _drover_update_set_state (update, DROVER_PRINTER_STATE_PRINTING);
      /* A new job starts from nothing; the plugin's first progress comes 5 s later. */
      update->progress = 0;
      update->fields |= DROVER_UPDATE_PROGRESS;
      break;

    case OCTOPRINT_EVENT_PRINT_PAUSED:
      _drover_update_set_state (update, DROVER_PRINTER_STATE_PAUSED);
      break;

    case OCTOPRINT_EVENT_PRINT_RESUMED:
      _drover_update_set_state (update, DROVER_PRINTER_STATE_PRINTING);
      break;

    case OCTOPRINT_EVENT_PRINT_DONE:
      _drover_update_set_state (update, DROVER_PRINTER_STATE_IDLE);
      /* The plugin's timer stops at 100 % and may never publish it. */
      update->progress = 1;
      update->fields |= DROVER_UPDATE_PROGRESS;
      break;

    case OCTOPRINT_EVENT_PRINT_CANCELLED:
      _drover_update_set_state (update, DROVER_PRINTER_STATE_IDLE);
      break;

    case OCTOPRINT_EVENT_PRINT_FAILED:
      /* A cancel also fires PrintFailed, with reason "cancelled". */
      if (_drover_read_string (root, "reason", &reason) != DROVER_MEMBER_VALUE ||
          !octoprint_read_optional_string (root, "error", &error))
        return DROVER_DECODE_MALFORMED;
      if (g_str_equal (reason, "cancelled"))
        _drover_update_set_state (update, DROVER_PRINTER_STATE_IDLE);
      else if (g_str_equal (reason, "error"))
        {
          _drover_update_set_state (update, DROVER_PRINTER_STATE_ERROR);
          if (error != NULL)
            _drover_update_set_error (update, error);
        }
      else
        return DROVER_DECODE_IGNORED;
      break;

    case OCTOPRINT_EVENT_DISCONNECTED:
      /* OctoPrint lost the printer. The text stays as it was: an Error
       * event with the reason often comes just before. */
      _drover_update_set_state (update, DROVER_PRINTER_STATE_ERROR);
      break;

    case OCTOPRINT_EVENT_ERROR:
      if (!octoprint_read_optional_string (root, "error", &error))
        return DROVER_DECODE_MALFORMED;
      _drover_update_set_state (update, DROVER_PRINTER_STATE_ERROR);
      if (error != NULL)
        _drover_update_set_error (update, error);
      break;

    case OCTOPRINT_EVENT_FILE_ADDED:
    case OCTOPRINT_EVENT_FILE_REMOVED:
      {
        g_autoptr(DroverEvent) file_event = drover_event_new (event == OCTOPRINT_EVENT_FILE_ADDED ?
                                                              DROVER_EVENT_FILE_ADDED : DROVER_EVENT_FILE_REMOVED);
        const char *storage = NULL;
        const char *path = NULL;

        /* Folders come and go too; the audit is about files. */
        if (!octoprint_read_optional_string (root, "storage", &storage) ||
            _drover_read_string (root, "path", &path) != DROVER_MEMBER_VALUE || path[0] == '\0')
          return DROVER_DECODE_MALFORMED;
        file_event->file = g_strdup (path);
        file_event->origin = g_strdup (storage);
        drover_update_add_event (update, file_event);
        return DROVER_DECODE_OK;
      }

    default:
      g_assert_not_reached ();
    }

  _drover_update_clear_stale_error (update);

  return DROVER_DECODE_OK;
}

typedef enum
{
  OCTOPRINT_TOPIC_TEMPERATURE,
  OCTOPRINT_TOPIC_PROGRESS,
  OCTOPRINT_TOPIC_EVENT,
} OctoPrintTopic;

static DroverDecodeStatus
octoprint_read_json (OctoPrintTopic          kind,
                     const DroverTopicLevel *detail,
                     OctoPrintEvent          event,
                     const guint8           *payload,
                     gsize                   length,
                     DroverUpdate           *update)
{
  g_autoptr(JsonParser) parser = NULL;
  DroverDecodeStatus status;
  JsonObject *root;

  parser = _drover_decode_parse (payload, length, &status);
  if (parser == NULL)
    return status;

  root = _drover_decode_root_object (parser);
  if (root == NULL)
    return DROVER_DECODE_MALFORMED;

  switch (kind)
    {
    case OCTOPRINT_TOPIC_TEMPERATURE:
      return octoprint_read_temperature (root, detail, update);
    case OCTOPRINT_TOPIC_PROGRESS:
      return octoprint_read_progress (root, update);
    case OCTOPRINT_TOPIC_EVENT:
      return octoprint_read_event (root, event, update);
    default:
      g_assert_not_reached ();
    }
}

static DroverDecodeStatus
octoprint_read (const DroverTopicLevel *levels,
                guint                   n_levels,
                const guint8           *payload,
                gsize                   length,
                DroverUpdate           *update)
{
  OctoPrintEvent event = OCTOPRINT_EVENT_PRINT_STARTED;

  if (n_levels == 3 && _drover_topic_level_is (&levels[2], "mqtt"))
    return octoprint_read_connection (payload, length, update);

  if (n_levels != 4)
    return DROVER_DECODE_IGNORED;

  if (length > DROVER_DECODE_MAX_PAYLOAD)
    return DROVER_DECODE_OVERSIZED;

  if (_drover_topic_level_is (&levels[2], "temperature"))
    {
      /* Other tools, the chamber and custom heaters have no place in the
       * printer's state yet. */
      if (!_drover_topic_level_is (&levels[3], "tool0") &&
          !_drover_topic_level_is (&levels[3], "bed"))
        return DROVER_DECODE_IGNORED;
      return octoprint_read_json (OCTOPRINT_TOPIC_TEMPERATURE, &levels[3], event,
                                  payload, length, update);
    }

  if (_drover_topic_level_is (&levels[2], "progress"))
    {
      if (!_drover_topic_level_is (&levels[3], "printing"))
        return DROVER_DECODE_IGNORED;
      return octoprint_read_json (OCTOPRINT_TOPIC_PROGRESS, &levels[3], event,
                                  payload, length, update);
    }

  if (_drover_topic_level_is (&levels[2], "event"))
    {
      if (!octoprint_event_from_level (&levels[3], &event))
        return DROVER_DECODE_IGNORED;
      return octoprint_read_json (OCTOPRINT_TOPIC_EVENT, &levels[3], event,
                                  payload, length, update);
    }

  return DROVER_DECODE_IGNORED;
}

/**
 * drover_decode_octoprint:
 * @topic: the topic the message came on
 * @payload: (array length=length): the message's bytes
 * @length: how many
 * @key: (out) (transfer full): the OctoPrint instance (the level after
 *   `octoPrint/`), set only on %DROVER_DECODE_OK; %NULL otherwise
 * @update: (out caller-allocates): an empty update (zero-filled or
 *   cleared), filled only on %DROVER_DECODE_OK
 *
 * Reads a message the OctoPrint-MQTT plugin published under the base
 * topic `octoPrint/<instance>/`. Each topic carries one part of the
 * state, so the update names only that part. Safe to call from any thread.
 *
 * Returns: what came of it
 */
DroverDecodeStatus
drover_decode_octoprint (const char    *topic,
                         const guint8  *payload,
                         gsize          length,
                         char         **key,
                         DroverUpdate  *update)
{
  DroverUpdate decoded = DROVER_UPDATE_INIT;
  DroverTopicLevel levels[4];
  DroverDecodeStatus status;
  guint n_levels;

  _DROVER_DECODE_CHECK_ARGUMENTS (key, update);

  n_levels = _drover_decode_split_topic (topic, levels, G_N_ELEMENTS (levels));
  if (n_levels < 3 || n_levels > G_N_ELEMENTS (levels) ||
      !_drover_topic_level_is (&levels[0], "octoPrint") ||
      levels[1].length == 0)
    return DROVER_DECODE_IGNORED;

  status = octoprint_read (levels, n_levels, payload, length, &decoded);

  return _drover_decode_finish (status, &decoded,
                                status == DROVER_DECODE_OK ? _drover_topic_level_dup (&levels[1]) : NULL,
                                key, update);
}

/**
 * drover_decode_octoprint_job:
 * @payload: the body of OctoPrint's `GET /api/job`
 * @length: its length
 * @update: (out caller-allocates): an empty update to fill
 *
 * The MQTT plugin says nothing about a job that was running before it
 * connected, so Drover asks the REST API (octoprint.md §3.6): `state` is
 * the state's text ("Operational", "Printing", "Paused", "Offline after
 * error", …), `progress.completion` a percentage or null,
 * `progress.printTimeLeft` seconds or null, `job.file.path` the file.
 *
 * Returns: %DROVER_DECODE_OK when @update holds the job's state
 */
DroverDecodeStatus
drover_decode_octoprint_job (const guint8 *payload,
                             gsize         length,
                             DroverUpdate *update)
{
  DroverDecodeStatus status;
  g_autoptr(JsonParser) parser = _drover_decode_parse (payload, length, &status);
  JsonObject *root;
  JsonObject *progress = NULL;
  JsonObject *job = NULL;
  JsonObject *file = NULL;
  const char *state = NULL;
  const char *path = NULL;
  double completion;
  double left;

  if (parser == NULL)
    return status;

  root = _drover_decode_root_object (parser);
  if (root == NULL || _drover_read_string (root, "state", &state) != DROVER_MEMBER_VALUE)
    return DROVER_DECODE_MALFORMED;

  if (g_str_has_prefix (state, "Printing") || g_str_has_prefix (state, "Starting") ||
      g_str_equal (state, "Resuming") || g_str_equal (state, "Finishing") ||
      g_str_equal (state, "Cancelling") || g_str_equal (state, "Sending file to SD"))
    update->state = DROVER_PRINTER_STATE_PRINTING;
  else if (g_str_equal (state, "Paused") || g_str_equal (state, "Pausing"))
    update->state = DROVER_PRINTER_STATE_PAUSED;
  else if (g_str_equal (state, "Operational"))
    update->state = DROVER_PRINTER_STATE_IDLE;
  else if (g_str_has_prefix (state, "Offline after error") || g_str_equal (state, "Error"))
    update->state = DROVER_PRINTER_STATE_ERROR;
  else if (g_str_equal (state, "Offline") || g_str_equal (state, "Closed"))
    update->state = DROVER_PRINTER_STATE_OFFLINE;
  else
    return DROVER_DECODE_IGNORED;
  update->fields |= DROVER_UPDATE_STATE;

  if (update->state == DROVER_PRINTER_STATE_ERROR &&
      _drover_read_string (root, "error", &path) == DROVER_MEMBER_VALUE)
    {
      update->error_text = g_strdup (path);
      update->fields |= DROVER_UPDATE_ERROR_TEXT;
    }
  path = NULL;

  if (_drover_read_object (root, "progress", &progress) == DROVER_MEMBER_VALUE)
    {
      if (_drover_read_number (progress, "completion", &completion) == DROVER_MEMBER_VALUE &&
          completion >= 0 && completion <= 100)
        {
          update->progress = completion / 100.0;
          update->fields |= DROVER_UPDATE_PROGRESS;
        }
      if (_drover_read_number (progress, "printTimeLeft", &left) == DROVER_MEMBER_VALUE && left >= 0)
        {
          update->time_left = (gint64)left;
          update->fields |= DROVER_UPDATE_TIME_LEFT;
        }
    }

  if (_drover_read_object (root, "job", &job) == DROVER_MEMBER_VALUE &&
      _drover_read_object (job, "file", &file) == DROVER_MEMBER_VALUE &&
      _drover_read_string (file, "path", &path) == DROVER_MEMBER_VALUE)
    {
      update->current_file = g_strdup (path);
      update->fields |= DROVER_UPDATE_CURRENT_FILE;
    }
  else if (update->state == DROVER_PRINTER_STATE_IDLE)
    {
      update->current_file = NULL;
      update->fields |= DROVER_UPDATE_CURRENT_FILE;
    }

  return DROVER_DECODE_OK;
}
