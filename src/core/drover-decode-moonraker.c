/* drover-decode-moonraker.c: Klipper through Moonraker's [mqtt], read
 *
 * shared/reference/moonraker.md §1.2-1.3, §2:
 * - `<instance>/klipper/status`: `{"eventtime":…,"status":{obj:{field:val}}}`,
 *   the full subscription once, then diffs naming only what changed;
 * - `<instance>/moonraker/status`: `{"server":"online"|"offline"}`, retained,
 *   and the will;
 * - `<instance>/moonraker/api/…` is JSON-RPC, `<instance>/klipper/state/…`
 *   the split mode: neither is read here.
 *
 * The instance is `instance_name` (any characters but + and #), taken as the
 * topic's first level.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "drover-decode-private.h"

/* Below this a progress says too little for an estimate: 0.1 % into a
 * job, print_duration / progress is mostly noise. */
#define MOONRAKER_ESTIMATE_MIN_PROGRESS 0.001

typedef enum
{
  MOONRAKER_TOPIC_KLIPPER_STATUS,
  MOONRAKER_TOPIC_SERVER_STATUS,
  MOONRAKER_TOPIC_API_REQUEST,
  MOONRAKER_TOPIC_API_RESPONSE,
} MoonrakerTopic;

/* `<instance>/moonraker/api/request`: a JSON-RPC 2.0 request from any
 * client of the broker. Drover's own carry ids it knows; the audit tells
 * them apart. Only what an operator would call an order is an event. */
static DroverDecodeStatus
moonraker_read_request (JsonObject   *root,
                        DroverUpdate *update)
{
  g_autoptr(DroverEvent) event = drover_event_new (DROVER_EVENT_ORDER);
  const char *method = NULL;
  const char *text = NULL;
  JsonObject *params = NULL;
  JsonNode *id;

  if (_drover_read_string (root, "method", &method) != DROVER_MEMBER_VALUE)
    return DROVER_DECODE_MALFORMED;
  switch (_drover_read_object (root, "params", &params))
    {
    case DROVER_MEMBER_ABSENT:
    case DROVER_MEMBER_NULL:
      params = NULL;
      break;
    case DROVER_MEMBER_VALUE:
      break;
    case DROVER_MEMBER_WRONG_TYPE:
    default:
      return DROVER_DECODE_MALFORMED;
    }

  id = json_object_get_member (root, "id");
  if (id != NULL && JSON_NODE_HOLDS_VALUE (id))
    event->request_id = json_node_get_value_type (id) == G_TYPE_STRING ?
                        g_strdup (json_node_get_string (id)) :
                        g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (id));

  if (g_str_equal (method, "printer.print.start"))
    {
      if (params == NULL || _drover_read_string (params, "filename", &text) != DROVER_MEMBER_VALUE)
        return DROVER_DECODE_MALFORMED;
      event->command = g_strdup ("start");
      event->file = g_strdup (text);
    }
  else if (g_str_equal (method, "printer.gcode.script"))
    {
      if (params == NULL || _drover_read_string (params, "script", &text) != DROVER_MEMBER_VALUE)
        return DROVER_DECODE_MALFORMED;
      event->command = g_strdup (text);
    }
  else if (g_str_equal (method, "server.files.delete_file"))
    {
      if (params == NULL || _drover_read_string (params, "path", &text) != DROVER_MEMBER_VALUE)
        return DROVER_DECODE_MALFORMED;
      event->command = g_strdup ("delete");
      event->file = g_strdup (text);
    }
  else if (g_str_equal (method, "printer.firmware_restart") || g_str_equal (method, "machine.update.full") ||
           g_str_equal (method, "machine.update.client") || g_str_equal (method, "machine.reboot"))
    event->command = g_strdup (method);
  else
    return DROVER_DECODE_IGNORED;

  drover_update_add_event (update, event);
  return DROVER_DECODE_OK;
}

/* A printer.objects sub-object, checked for type. */
static gboolean
moonraker_read_section (JsonObject  *status,
                        const char  *name,
                        JsonObject **section)
{
  *section = NULL;

  switch (_drover_read_object (status, name, section))
    {
    case DROVER_MEMBER_ABSENT:
      return TRUE;
    case DROVER_MEMBER_VALUE:
      return TRUE;
    case DROVER_MEMBER_NULL:
    case DROVER_MEMBER_WRONG_TYPE:
    default:
      return FALSE;
    }
}

/* An optional number of a section: absent is fine, null or a string not. */
static gboolean
moonraker_read_number (JsonObject *section,
                       const char *name,
                       double     *value,
                       gboolean   *present)
{
  *present = FALSE;

  if (section == NULL)
    return TRUE;

  switch (_drover_read_number (section, name, value))
    {
    case DROVER_MEMBER_ABSENT:
      return TRUE;
    case DROVER_MEMBER_VALUE:
      *present = TRUE;
      return TRUE;
    case DROVER_MEMBER_NULL:
    case DROVER_MEMBER_WRONG_TYPE:
    default:
      return FALSE;
    }
}

static gboolean
moonraker_read_string (JsonObject  *section,
                       const char  *name,
                       const char **value)
{
  *value = NULL;

  if (section == NULL)
    return TRUE;

  switch (_drover_read_string (section, name, value))
    {
    case DROVER_MEMBER_ABSENT:
    case DROVER_MEMBER_VALUE:
      return TRUE;
    case DROVER_MEMBER_NULL:
    case DROVER_MEMBER_WRONG_TYPE:
    default:
      return FALSE;
    }
}

static gboolean
moonraker_read_heater (JsonObject         *status,
                       const char         *name,
                       DroverUpdate       *update,
                       DroverUpdateFields  actual_field,
                       double             *actual,
                       DroverUpdateFields  target_field,
                       double             *target)
{
  JsonObject *heater;

  if (!moonraker_read_section (status, name, &heater))
    return FALSE;
  if (heater == NULL)
    return TRUE;

  /* Klipper never sends null for these: null is as wrong as a string. */
  return _drover_read_temperature (heater, "temperature", update, actual_field, actual,
                                   DROVER_NULL_IS_MALFORMED) &&
         _drover_read_temperature (heater, "target", update, target_field, target,
                                   DROVER_NULL_IS_MALFORMED);
}

/* print_stats.state (printer_objects.md): standby, printing, paused,
 * complete, cancelled, error. A finished or cancelled job leaves the
 * printer idle; the values persist until the next job. */
static gboolean
moonraker_state_from_print_stats (const char         *text,
                                  DroverPrinterState *state)
{
  static const struct {
    const char         *name;
    DroverPrinterState  state;
  } states[] = {
    { "standby",   DROVER_PRINTER_STATE_IDLE },
    { "printing",  DROVER_PRINTER_STATE_PRINTING },
    { "paused",    DROVER_PRINTER_STATE_PAUSED },
    { "complete",  DROVER_PRINTER_STATE_IDLE },
    { "cancelled", DROVER_PRINTER_STATE_IDLE },
    { "error",     DROVER_PRINTER_STATE_ERROR },
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

static DroverDecodeStatus
moonraker_read_klipper_status (JsonObject   *root,
                               DroverUpdate *update)
{
  JsonObject *status = NULL;
  JsonObject *webhooks, *print_stats, *virtual_sdcard, *display_status;
  const char *klippy_state, *klippy_message;
  const char *job_state, *job_message, *filename;
  double progress = 0, print_duration = 0;
  gboolean has_progress, has_duration;
  DroverPrinterState state;

  if (_drover_read_object (root, "status", &status) != DROVER_MEMBER_VALUE)
    return DROVER_DECODE_MALFORMED;

  if (!moonraker_read_section (status, "webhooks", &webhooks) ||
      !moonraker_read_section (status, "print_stats", &print_stats) ||
      !moonraker_read_section (status, "virtual_sdcard", &virtual_sdcard) ||
      !moonraker_read_section (status, "display_status", &display_status))
    return DROVER_DECODE_MALFORMED;

  if (!moonraker_read_heater (status, "extruder", update,
                              DROVER_UPDATE_HOTEND_TEMPERATURE, &update->hotend_temperature,
                              DROVER_UPDATE_HOTEND_TARGET, &update->hotend_target) ||
      !moonraker_read_heater (status, "heater_bed", update,
                              DROVER_UPDATE_BED_TEMPERATURE, &update->bed_temperature,
                              DROVER_UPDATE_BED_TARGET, &update->bed_target))
    return DROVER_DECODE_MALFORMED;

  if (!moonraker_read_string (print_stats, "state", &job_state) ||
      !moonraker_read_string (print_stats, "message", &job_message) ||
      !moonraker_read_string (print_stats, "filename", &filename) ||
      !moonraker_read_number (print_stats, "print_duration", &print_duration, &has_duration) ||
      !moonraker_read_string (webhooks, "state", &klippy_state) ||
      !moonraker_read_string (webhooks, "state_message", &klippy_message))
    return DROVER_DECODE_MALFORMED;

  /* An unknown job state (a newer Klipper's) leaves the state as it was. */
  if (job_state != NULL && moonraker_state_from_print_stats (job_state, &state))
    {
      _drover_update_set_state (update, state);
      if (state == DROVER_PRINTER_STATE_ERROR && job_message != NULL)
        _drover_update_set_error (update, job_message);
    }

  /* Klippy's own fault outranks the job's state: after a shutdown
   * print_stats may still say "printing". */
  if (klippy_state != NULL &&
      (g_str_equal (klippy_state, "shutdown") || g_str_equal (klippy_state, "error")))
    {
      _drover_update_set_state (update, DROVER_PRINTER_STATE_ERROR);
      if (klippy_message != NULL)
        _drover_update_set_error (update, klippy_message);
    }

  _drover_update_clear_stale_error (update);

  if (filename != NULL)
    _drover_update_set_file (update, filename);

  /* virtual_sdcard.progress is the file position; display_status.progress
   * is M73's, read only when the message has no file position. */
  if (!moonraker_read_number (virtual_sdcard, "progress", &progress, &has_progress))
    return DROVER_DECODE_MALFORMED;
  if (!has_progress &&
      !moonraker_read_number (display_status, "progress", &progress, &has_progress))
    return DROVER_DECODE_MALFORMED;

  if (has_progress)
    {
      if (!_drover_progress_is_valid (progress))
        return DROVER_DECODE_MALFORMED;
      update->progress = progress;
      update->fields |= DROVER_UPDATE_PROGRESS;
    }

  if (has_duration && !_drover_duration_is_valid (print_duration))
    return DROVER_DECODE_MALFORMED;

  /* Mainsail's "file" estimate, only from figures of one instant: a
   * duration and a progress from different messages do not belong together. */
  if (has_duration && has_progress && progress > MOONRAKER_ESTIMATE_MIN_PROGRESS)
    {
      double left = print_duration / progress - print_duration;

      if (!_drover_duration_is_valid (left))
        return DROVER_DECODE_MALFORMED;
      update->time_left = _drover_seconds_from_double (left);
      update->fields |= DROVER_UPDATE_TIME_LEFT;
    }

  return DROVER_DECODE_OK;
}

static DroverDecodeStatus
moonraker_read_server_status (JsonObject   *root,
                              DroverUpdate *update)
{
  const char *server = NULL;

  if (_drover_read_string (root, "server", &server) != DROVER_MEMBER_VALUE)
    return DROVER_DECODE_MALFORMED;

  if (g_str_equal (server, "online"))
    {
      update->online = TRUE;
      update->fields |= DROVER_UPDATE_ONLINE;
    }
  else if (g_str_equal (server, "offline"))
    {
      update->online = FALSE;
      update->fields |= DROVER_UPDATE_ONLINE;
      _drover_update_set_state (update, DROVER_PRINTER_STATE_OFFLINE);
    }
  else
    return DROVER_DECODE_MALFORMED;

  return DROVER_DECODE_OK;
}

static DroverDecodeStatus
moonraker_read (MoonrakerTopic  topic,
                const guint8   *payload,
                gsize           length,
                DroverUpdate   *update)
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

  if (topic == MOONRAKER_TOPIC_KLIPPER_STATUS)
    return moonraker_read_klipper_status (root, update);
  else if (topic == MOONRAKER_TOPIC_API_RESPONSE)
    {
      /* The answer to a printer.objects.query (Drover asks after each
       * connection): its result has the status topic's shape. Answers to
       * anything else say nothing about the printer's state. */
      JsonObject *result = NULL;
      JsonObject *objects = NULL;

      if (_drover_read_object (root, "result", &result) != DROVER_MEMBER_VALUE ||
          _drover_read_object (result, "status", &objects) != DROVER_MEMBER_VALUE)
        return DROVER_DECODE_IGNORED;
      return moonraker_read_klipper_status (result, update);
    }
  else if (topic == MOONRAKER_TOPIC_API_REQUEST)
    return moonraker_read_request (root, update);
  else
    return moonraker_read_server_status (root, update);
}

/**
 * drover_decode_moonraker:
 * @topic: the topic the message came on
 * @payload: (array length=length): the message's bytes
 * @length: how many
 * @key: (out) (transfer full): the Moonraker instance, set only on
 *   %DROVER_DECODE_OK; %NULL otherwise
 * @update: (out caller-allocates): an empty update (zero-filled or
 *   cleared), filled only on %DROVER_DECODE_OK
 *
 * Reads a message Moonraker's `[mqtt]` component published. Status
 * messages after the first are diffs: the update names only what the
 * message holds. Safe to call from any thread.
 *
 * Returns: what came of it
 */
DroverDecodeStatus
drover_decode_moonraker (const char    *topic,
                         const guint8  *payload,
                         gsize          length,
                         char         **key,
                         DroverUpdate  *update)
{
  DroverUpdate decoded = DROVER_UPDATE_INIT;
  DroverTopicLevel levels[4];
  MoonrakerTopic kind;
  DroverDecodeStatus status;
  guint n_levels;

  _DROVER_DECODE_CHECK_ARGUMENTS (key, update);

  n_levels = _drover_decode_split_topic (topic, levels, G_N_ELEMENTS (levels));
  if (n_levels == 4 && levels[0].length > 0 &&
      _drover_topic_level_is (&levels[1], "moonraker") &&
      _drover_topic_level_is (&levels[2], "api") &&
      _drover_topic_level_is (&levels[3], "request"))
    kind = MOONRAKER_TOPIC_API_REQUEST;
  else if (n_levels == 4 && levels[0].length > 0 &&
           _drover_topic_level_is (&levels[1], "moonraker") &&
           _drover_topic_level_is (&levels[2], "api") &&
           _drover_topic_level_is (&levels[3], "response"))
    kind = MOONRAKER_TOPIC_API_RESPONSE;
  else if (n_levels != 3 || levels[0].length == 0 ||
           !_drover_topic_level_is (&levels[2], "status"))
    return DROVER_DECODE_IGNORED;
  else if (_drover_topic_level_is (&levels[1], "klipper"))
    kind = MOONRAKER_TOPIC_KLIPPER_STATUS;
  else if (_drover_topic_level_is (&levels[1], "moonraker"))
    kind = MOONRAKER_TOPIC_SERVER_STATUS;
  else
    return DROVER_DECODE_IGNORED;

  status = moonraker_read (kind, payload, length, &decoded);

  return _drover_decode_finish (status, &decoded,
                                status == DROVER_DECODE_OK ? _drover_topic_level_dup (&levels[0]) : NULL,
                                key, update);
}
