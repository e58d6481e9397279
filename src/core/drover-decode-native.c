/* drover-decode-native.c: Drover's own dialect, read
 *
 * docs/protocol.md: `drover/v1/<printer>/<leaf>`, JSON objects with
 * `"v": 1`. `state` carries the whole state each time, `presence` whether
 * the printer is connected. `files`, `events`, `reply` (and Drover's own
 * `cmd`) carry events for the audit (drover-event.h), not state.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "drover-decode-private.h"

#define NATIVE_ID_MAX 64

/* docs/protocol.md: one topic level of [A-Za-z0-9._-], at most 64 bytes. */
static gboolean
native_id_is_valid (const DroverTopicLevel *level)
{
  if (level->length == 0 || level->length > NATIVE_ID_MAX)
    return FALSE;

  for (gsize i = 0; i < level->length; i++)
    {
      char c = level->start[i];

      if (!g_ascii_isalnum (c) && c != '.' && c != '_' && c != '-')
        return FALSE;
    }

  return TRUE;
}

static gboolean
native_state_from_string (const char         *text,
                          DroverPrinterState *state)
{
  static const struct {
    const char         *name;
    DroverPrinterState  state;
  } states[] = {
    { "idle",     DROVER_PRINTER_STATE_IDLE },
    { "printing", DROVER_PRINTER_STATE_PRINTING },
    { "paused",   DROVER_PRINTER_STATE_PAUSED },
    { "error",    DROVER_PRINTER_STATE_ERROR },
    { "offline",  DROVER_PRINTER_STATE_OFFLINE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (states); i++)
    {
      if (g_str_equal (text, states[i].name))
        {
          *state = states[i].state;
          return TRUE;
        }
    }

  return FALSE;
}

/* `hotend` and `bed`: {"actual": °C, "target": °C}. */
static gboolean
native_read_heater (JsonObject         *root,
                    const char         *name,
                    DroverUpdate       *update,
                    DroverUpdateFields  actual_field,
                    double             *actual,
                    DroverUpdateFields  target_field,
                    double             *target)
{
  JsonObject *heater = NULL;

  switch (_drover_read_object (root, name, &heater))
    {
    case DROVER_MEMBER_ABSENT:
    case DROVER_MEMBER_NULL:
      return TRUE;
    case DROVER_MEMBER_VALUE:
      return _drover_read_temperature (heater, "actual", update, actual_field, actual,
                                       DROVER_NULL_IS_UNSET) &&
             _drover_read_temperature (heater, "target", update, target_field, target,
                                       DROVER_NULL_IS_UNSET);
    case DROVER_MEMBER_WRONG_TYPE:
    default:
      return FALSE;
    }
}

static gboolean
native_read_job (JsonObject   *root,
                 DroverUpdate *update)
{
  JsonObject *job = NULL;
  const char *file = NULL;
  double progress = 0;
  double remaining = 0;

  switch (_drover_read_object (root, "job", &job))
    {
    case DROVER_MEMBER_ABSENT:
      return TRUE;
    case DROVER_MEMBER_NULL:
      /* No job: nothing loaded, nothing done, nothing left. */
      _drover_update_set_file (update, NULL);
      update->progress = 0;
      update->time_left = -1;
      update->fields |= DROVER_UPDATE_PROGRESS | DROVER_UPDATE_TIME_LEFT;
      return TRUE;
    case DROVER_MEMBER_VALUE:
      break;
    case DROVER_MEMBER_WRONG_TYPE:
    default:
      return FALSE;
    }

  switch (_drover_read_string (job, "file", &file))
    {
    case DROVER_MEMBER_ABSENT:
      break;
    case DROVER_MEMBER_NULL:
      _drover_update_set_file (update, NULL);
      break;
    case DROVER_MEMBER_VALUE:
      _drover_update_set_file (update, file);
      break;
    case DROVER_MEMBER_WRONG_TYPE:
    default:
      return FALSE;
    }

  switch (_drover_read_number (job, "progress", &progress))
    {
    case DROVER_MEMBER_ABSENT:
    case DROVER_MEMBER_NULL:
      break;
    case DROVER_MEMBER_VALUE:
      if (!_drover_progress_is_valid (progress))
        return FALSE;
      update->progress = progress;
      update->fields |= DROVER_UPDATE_PROGRESS;
      break;
    case DROVER_MEMBER_WRONG_TYPE:
    default:
      return FALSE;
    }

  switch (_drover_read_number (job, "remaining_s", &remaining))
    {
    case DROVER_MEMBER_ABSENT:
      break;
    case DROVER_MEMBER_NULL:
      update->time_left = -1;
      update->fields |= DROVER_UPDATE_TIME_LEFT;
      break;
    case DROVER_MEMBER_VALUE:
      /* -1 is the protocol's "unknown"; any other negative is nonsense. */
      if (remaining == -1)
        update->time_left = -1;
      else if (_drover_duration_is_valid (remaining))
        update->time_left = _drover_seconds_from_double (remaining);
      else
        return FALSE;
      update->fields |= DROVER_UPDATE_TIME_LEFT;
      break;
    case DROVER_MEMBER_WRONG_TYPE:
    default:
      return FALSE;
    }

  return TRUE;
}

static DroverDecodeStatus
native_read_state (JsonObject   *root,
                   DroverUpdate *update)
{
  const char *text = NULL;
  DroverPrinterState state;

  switch (_drover_read_string (root, "state", &text))
    {
    case DROVER_MEMBER_ABSENT:
      break;
    case DROVER_MEMBER_VALUE:
      /* The set of states is the protocol's: a new one comes with a new `v`. */
      if (!native_state_from_string (text, &state))
        return DROVER_DECODE_MALFORMED;
      _drover_update_set_state (update, state);
      break;
    case DROVER_MEMBER_NULL:
    case DROVER_MEMBER_WRONG_TYPE:
    default:
      return DROVER_DECODE_MALFORMED;
    }

  if (!native_read_heater (root, "hotend", update,
                           DROVER_UPDATE_HOTEND_TEMPERATURE, &update->hotend_temperature,
                           DROVER_UPDATE_HOTEND_TARGET, &update->hotend_target) ||
      !native_read_heater (root, "bed", update,
                           DROVER_UPDATE_BED_TEMPERATURE, &update->bed_temperature,
                           DROVER_UPDATE_BED_TARGET, &update->bed_target) ||
      !native_read_job (root, update))
    return DROVER_DECODE_MALFORMED;

  text = NULL;
  switch (_drover_read_string (root, "error", &text))
    {
    case DROVER_MEMBER_ABSENT:
      break;
    case DROVER_MEMBER_NULL:
    case DROVER_MEMBER_VALUE:
      _drover_update_set_error (update, text);
      break;
    case DROVER_MEMBER_WRONG_TYPE:
    default:
      return DROVER_DECODE_MALFORMED;
    }

  return DROVER_DECODE_OK;
}

static DroverDecodeStatus
native_read_presence (JsonObject   *root,
                      DroverUpdate *update)
{
  gboolean online = FALSE;

  if (_drover_read_boolean (root, "online", &online) != DROVER_MEMBER_VALUE)
    return DROVER_DECODE_MALFORMED;

  update->online = online;
  update->fields |= DROVER_UPDATE_ONLINE;

  /* A printer that said goodbye (or whose will the broker sent) is not
   * printing as far as anyone can tell. */
  if (!online)
    _drover_update_set_state (update, DROVER_PRINTER_STATE_OFFLINE);

  return DROVER_DECODE_OK;
}

/* A string member that may be absent or null; FALSE for a wrong type. */
static gboolean
native_optional_string (JsonObject  *object,
                        const char  *name,
                        char       **value)
{
  const char *text = NULL;

  switch (_drover_read_string (object, name, &text))
    {
    case DROVER_MEMBER_ABSENT:
    case DROVER_MEMBER_NULL:
      return TRUE;
    case DROVER_MEMBER_VALUE:
      /* "" names nothing, as in the other dialects. */
      *value = text[0] != '\0' ? g_strdup (text) : NULL;
      return TRUE;
    case DROVER_MEMBER_WRONG_TYPE:
    default:
      return FALSE;
    }
}

static gint64
native_parse_time (const char *text)
{
  g_autoptr(GDateTime) time = text != NULL ? g_date_time_new_from_iso8601 (text, NULL) : NULL;

  return time != NULL ? g_date_time_to_unix (time) : -1;
}

/* `files`: {"files":[{"name","size","modified","sha256"}…]}, the whole list. */
static DroverDecodeStatus
native_read_files (JsonObject   *root,
                   DroverUpdate *update)
{
  g_autoptr(DroverEvent) event = drover_event_new (DROVER_EVENT_FILE_LIST);
  JsonArray *files = NULL;

  if (_drover_read_array (root, "files", &files) != DROVER_MEMBER_VALUE)
    return DROVER_DECODE_MALFORMED;

  for (guint i = 0; i < json_array_get_length (files); i++)
    {
      JsonNode *node = json_array_get_element (files, i);
      JsonObject *file;
      const char *name = NULL;
      g_autofree char *modified = NULL;
      g_autofree char *sha256 = NULL;
      gint64 size = -1;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        return DROVER_DECODE_MALFORMED;
      file = json_node_get_object (node);
      if (_drover_read_string (file, "name", &name) != DROVER_MEMBER_VALUE || name[0] == '\0' ||
          _drover_read_integer (file, "size", &size) != DROVER_MEMBER_VALUE || size < 0 ||
          !native_optional_string (file, "modified", &modified) ||
          !native_optional_string (file, "sha256", &sha256))
        return DROVER_DECODE_MALFORMED;

      g_ptr_array_add (event->files, drover_file_info_new (name, size, native_parse_time (modified), sha256));
    }

  drover_update_add_event (update, event);
  return DROVER_DECODE_OK;
}

/* `events`: file_added, file_removed, job_started, command; the rest are
 * state the `state` topic carries anyway. */
static DroverDecodeStatus
native_read_event (JsonObject   *root,
                   DroverUpdate *update)
{
  const char *type = NULL;
  g_autoptr(DroverEvent) event = NULL;
  g_autofree char *file = NULL;
  g_autofree char *sha256 = NULL;
  g_autofree char *gcode = NULL;

  if (_drover_read_string (root, "type", &type) != DROVER_MEMBER_VALUE ||
      !native_optional_string (root, "file", &file) ||
      !native_optional_string (root, "sha256", &sha256) ||
      !native_optional_string (root, "gcode", &gcode))
    return DROVER_DECODE_MALFORMED;

  if (g_str_equal (type, "file_added"))
    event = drover_event_new (DROVER_EVENT_FILE_ADDED);
  else if (g_str_equal (type, "file_removed"))
    event = drover_event_new (DROVER_EVENT_FILE_REMOVED);
  else if (g_str_equal (type, "job_started"))
    event = drover_event_new (DROVER_EVENT_JOB_STARTED);
  else if (g_str_equal (type, "command"))
    event = drover_event_new (DROVER_EVENT_COMMAND);
  else
    return DROVER_DECODE_IGNORED;

  if (event->kind == DROVER_EVENT_COMMAND ? gcode == NULL : file == NULL)
    return DROVER_DECODE_MALFORMED;

  event->file = g_steal_pointer (&file);
  event->sha256 = g_steal_pointer (&sha256);
  event->command = g_steal_pointer (&gcode);
  drover_update_add_event (update, event);
  return DROVER_DECODE_OK;
}

/* `cmd`: an order someone published to the printer (Drover among them). */
static DroverDecodeStatus
native_read_order (JsonObject   *root,
                   DroverUpdate *update)
{
  g_autoptr(DroverEvent) event = drover_event_new (DROVER_EVENT_ORDER);
  const char *command = NULL;

  if (_drover_read_string (root, "command", &command) != DROVER_MEMBER_VALUE ||
      !native_optional_string (root, "id", &event->request_id) ||
      !native_optional_string (root, "file", &event->file) ||
      !native_optional_string (root, "url", &event->url) ||
      !native_optional_string (root, "gcode", &event->command))
    return DROVER_DECODE_MALFORMED;

  /* A gcode order carries its lines; every other order is named. */
  if (!g_str_equal (command, "gcode"))
    {
      g_free (event->command);
      event->command = g_strdup (command);
    }
  else if (event->command == NULL)
    return DROVER_DECODE_MALFORMED;

  drover_update_add_event (update, event);
  return DROVER_DECODE_OK;
}

static DroverDecodeStatus
native_read (const DroverTopicLevel *leaf,
             const guint8           *payload,
             gsize                   length,
             DroverUpdate           *update)
{
  g_autoptr(JsonParser) parser = NULL;
  DroverDecodeStatus status;
  JsonObject *root;
  gint64 version = 0;
  gsize max_length = _drover_topic_level_is (leaf, "files") ? DROVER_DECODE_MAX_FILE_LIST :
                     _drover_topic_level_is (leaf, "cmd") ? DROVER_DECODE_MAX_JOB : DROVER_DECODE_MAX_PAYLOAD;

  if (length > max_length)
    return DROVER_DECODE_OVERSIZED;

  if (!_drover_topic_level_is (leaf, "state") && !_drover_topic_level_is (leaf, "presence") &&
      !_drover_topic_level_is (leaf, "files") && !_drover_topic_level_is (leaf, "events") &&
      !_drover_topic_level_is (leaf, "cmd"))
    return DROVER_DECODE_IGNORED;

  parser = _drover_decode_parse_limited (payload, length, max_length, &status);
  if (parser == NULL)
    return status;

  root = _drover_decode_root_object (parser);
  if (root == NULL)
    return DROVER_DECODE_MALFORMED;

  /* "A reader refuses a payload whose `v` it does not know." */
  if (_drover_read_integer (root, "v", &version) != DROVER_MEMBER_VALUE || version != 1)
    return DROVER_DECODE_MALFORMED;

  if (_drover_topic_level_is (leaf, "state"))
    return native_read_state (root, update);
  else if (_drover_topic_level_is (leaf, "files"))
    return native_read_files (root, update);
  else if (_drover_topic_level_is (leaf, "events"))
    return native_read_event (root, update);
  else if (_drover_topic_level_is (leaf, "cmd"))
    return native_read_order (root, update);
  else
    return native_read_presence (root, update);
}

/**
 * drover_decode_native:
 * @topic: the topic the message came on
 * @payload: (array length=length): the message's bytes
 * @length: how many
 * @key: (out) (transfer full): the printer's id, set only on
 *   %DROVER_DECODE_OK; %NULL otherwise
 * @update: (out caller-allocates): an empty update (zero-filled or
 *   cleared), filled only on %DROVER_DECODE_OK
 *
 * Reads a message of Drover's native dialect (docs/protocol.md). Safe to
 * call from any thread.
 *
 * Returns: what came of it
 */
DroverDecodeStatus
drover_decode_native (const char    *topic,
                      const guint8  *payload,
                      gsize          length,
                      char         **key,
                      DroverUpdate  *update)
{
  DroverUpdate decoded = DROVER_UPDATE_INIT;
  DroverTopicLevel levels[4];
  DroverDecodeStatus status;

  _DROVER_DECODE_CHECK_ARGUMENTS (key, update);

  if (_drover_decode_split_topic (topic, levels, G_N_ELEMENTS (levels)) != 4 ||
      !_drover_topic_level_is (&levels[0], "drover") ||
      !_drover_topic_level_is (&levels[1], "v1") ||
      !native_id_is_valid (&levels[2]))
    return DROVER_DECODE_IGNORED;

  status = native_read (&levels[3], payload, length, &decoded);

  return _drover_decode_finish (status, &decoded,
                                status == DROVER_DECODE_OK ? _drover_topic_level_dup (&levels[2]) : NULL,
                                key, update);
}
