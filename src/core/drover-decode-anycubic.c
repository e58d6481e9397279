/* drover-decode-anycubic.c: an Anycubic printer, read
 *
 * shared/reference/bambu-anycubic.md B2-B5. A Kobra 2 on Anycubic's cloud
 * (or on a farm's broker standing in for it) and a Kobra 3 / S1 in LAN
 * mode speak alike:
 * - reports on `anycubic/anycubicCloud/v1/printer/public/<model>/<id>/<type>/report`,
 *   each `{"type","action","msgid","state","timestamp","code","msg","data"}`,
 *   `type` the topic's: `lastWill` (online/offline), `status` (free/busy),
 *   `tempature` (sic: the API's spelling), `print` (the job), `file` (the
 *   lists), `info` (LAN mode); a report of another type says nothing Drover
 *   shows;
 * - orders on `anycubic/anycubicCloud/v1/<server|slicer|web>/printer/<model>/<id>/…`
 *   (kobra-unleashed ends the topic in `<type>/<action>`, K2T's MQTT_API.md
 *   in the action, Rinkhals in the type), each
 *   `{"type","action","msgid","timestamp","data"}`: whoever may publish
 *   there may start a print of a file fetched from any `url`, delete files
 *   or push firmware, so these become order events for the audit.
 *
 * The key is the device id, level 6 of both topics (kobra-unleashed and
 * hass-anycubic_cloud read it there).
 *
 * What is refused, and how:
 * - not JSON, not an object, a member of the envelope or a value Drover
 *   reads that has the wrong type or is out of range, a report whose `type`
 *   is not its topic's: MALFORMED, nothing taken;
 * - a type, action or state this decoder does not know (a newer firmware's,
 *   or a misspelling such as `temperature`): IGNORED, since reading half of
 *   a message Drover does not understand would be guessing;
 * - a report that names nothing Drover shows (`busy`, a list that failed,
 *   a deletion answered): IGNORED.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "drover-decode-private.h"

#define ANYCUBIC_LEVELS_MAX 9
#define ANYCUBIC_ID_MAX     64
#define ANYCUBIC_MODEL_MAX  10
#define ANYCUBIC_CODE_OK    200

/* Past about 2001-09-09 in milliseconds: list timestamps that large are
 * milliseconds, smaller ones seconds (the sources do not say which). */
#define ANYCUBIC_MILLISECONDS_FROM G_GINT64_CONSTANT (100000000000)

typedef enum
{
  ANYCUBIC_TOPIC_REPORT,
  ANYCUBIC_TOPIC_ORDER,
} AnycubicTopic;

static gboolean
anycubic_model_is_valid (const DroverTopicLevel *level)
{
  if (level->length == 0 || level->length > ANYCUBIC_MODEL_MAX)
    return FALSE;

  for (gsize i = 0; i < level->length; i++)
    if (!g_ascii_isdigit (level->start[i]))
      return FALSE;

  return TRUE;
}

/* 32 hex digits on the printers seen; any short alphanumeric id is taken. */
static gboolean
anycubic_id_is_valid (const DroverTopicLevel *level)
{
  if (level->length == 0 || level->length > ANYCUBIC_ID_MAX)
    return FALSE;

  for (gsize i = 0; i < level->length; i++)
    if (!g_ascii_isalnum (level->start[i]))
      return FALSE;

  return TRUE;
}

/* An optional member: absent or null is fine, another type is not. */
static gboolean
anycubic_optional_ok (DroverMember member)
{
  return member != DROVER_MEMBER_WRONG_TYPE;
}

typedef struct
{
  const char *type;
  const char *action;
  const char *state;     /* reports only */
  const char *msgid;
  const char *msg;
  gint64      code;
  gboolean    has_code;
  JsonObject *data;      /* NULL when absent or null */
} AnycubicEnvelope;

static gboolean
anycubic_read_envelope (JsonObject       *root,
                        gboolean          is_report,
                        AnycubicEnvelope *envelope)
{
  gint64 timestamp = 0;
  DroverMember member;

  memset (envelope, 0, sizeof *envelope);

  if (_drover_read_string (root, "type", &envelope->type) != DROVER_MEMBER_VALUE ||
      _drover_read_string (root, "action", &envelope->action) != DROVER_MEMBER_VALUE)
    return FALSE;

  if (is_report && _drover_read_string (root, "state", &envelope->state) != DROVER_MEMBER_VALUE)
    return FALSE;

  if (!anycubic_optional_ok (_drover_read_string (root, "msgid", &envelope->msgid)) ||
      !anycubic_optional_ok (_drover_read_string (root, "msg", &envelope->msg)) ||
      !anycubic_optional_ok (_drover_read_object (root, "data", &envelope->data)))
    return FALSE;

  /* Epoch milliseconds from the cloud, milliseconds since boot in LAN mode. */
  member = _drover_read_integer (root, "timestamp", &timestamp);
  if (!anycubic_optional_ok (member) || (member == DROVER_MEMBER_VALUE && timestamp < 0))
    return FALSE;

  member = _drover_read_integer (root, "code", &envelope->code);
  if (!anycubic_optional_ok (member))
    return FALSE;
  envelope->has_code = member == DROVER_MEMBER_VALUE;

  return TRUE;
}

/* Reports */

static DroverDecodeStatus
anycubic_read_last_will (const AnycubicEnvelope *envelope,
                         DroverUpdate           *update)
{
  if (!g_str_equal (envelope->action, "onlineReport"))
    return DROVER_DECODE_IGNORED;

  if (g_str_equal (envelope->state, "online"))
    {
      update->online = TRUE;
      update->fields |= DROVER_UPDATE_ONLINE;
    }
  else if (g_str_equal (envelope->state, "offline"))
    {
      update->online = FALSE;
      update->fields |= DROVER_UPDATE_ONLINE;
      _drover_update_set_state (update, DROVER_PRINTER_STATE_OFFLINE);
    }
  else
    return DROVER_DECODE_IGNORED;

  return DROVER_DECODE_OK;
}

/* `free` is idle; `busy` says less than the print reports that come with
 * it (printing, paused, downloading?), so it is left to them. */
static void
anycubic_read_work_state (const char   *state,
                          DroverUpdate *update)
{
  if (g_str_equal (state, "free"))
    {
      _drover_update_set_state (update, DROVER_PRINTER_STATE_IDLE);
      _drover_update_clear_stale_error (update);
    }
}

static DroverDecodeStatus
anycubic_read_status (const AnycubicEnvelope *envelope,
                      DroverUpdate           *update)
{
  if (!g_str_equal (envelope->action, "workReport"))
    return DROVER_DECODE_IGNORED;

  anycubic_read_work_state (envelope->state, update);
  return DROVER_DECODE_OK;
}

/* `curr_hotbed_temp`, `curr_nozzle_temp`, `target_hotbed_temp`,
 * `target_nozzle_temp`: whole °C in every capture; a real number is taken too. */
static gboolean
anycubic_read_temperatures (JsonObject   *current,
                            JsonObject   *targets,
                            DroverUpdate *update)
{
  return _drover_read_temperature (current, "curr_nozzle_temp", update, DROVER_UPDATE_HOTEND_TEMPERATURE,
                                   &update->hotend_temperature, DROVER_NULL_IS_MALFORMED) &&
         _drover_read_temperature (current, "curr_hotbed_temp", update, DROVER_UPDATE_BED_TEMPERATURE,
                                   &update->bed_temperature, DROVER_NULL_IS_MALFORMED) &&
         _drover_read_temperature (targets, "target_nozzle_temp", update, DROVER_UPDATE_HOTEND_TARGET,
                                   &update->hotend_target, DROVER_NULL_IS_MALFORMED) &&
         _drover_read_temperature (targets, "target_hotbed_temp", update, DROVER_UPDATE_BED_TARGET,
                                   &update->bed_target, DROVER_NULL_IS_MALFORMED);
}

static DroverDecodeStatus
anycubic_read_tempature (const AnycubicEnvelope *envelope,
                         DroverUpdate           *update)
{
  if (!g_str_equal (envelope->action, "auto") || !g_str_equal (envelope->state, "done"))
    return DROVER_DECODE_IGNORED;
  if (envelope->data == NULL)
    return DROVER_DECODE_MALFORMED;

  if (!anycubic_read_temperatures (envelope->data, envelope->data, update))
    return DROVER_DECODE_MALFORMED;

  return DROVER_DECODE_OK;
}

/* `progress` (%), `remain_time` (minutes: hass-anycubic_cloud's
 * print_time_remaining_minutes), `filename`. */
static gboolean
anycubic_read_job (JsonObject   *data,
                   gboolean      with_progress,
                   DroverUpdate *update)
{
  const char *filename = NULL;
  double percent = 0;
  double minutes = 0;
  DroverMember member;

  if (data == NULL)
    return TRUE;

  member = _drover_read_string (data, "filename", &filename);
  if (!anycubic_optional_ok (member))
    return FALSE;
  if (member == DROVER_MEMBER_VALUE)
    _drover_update_set_file (update, filename);

  /* While downloading, `progress` is the download's, not the print's. */
  if (!with_progress)
    return TRUE;

  member = _drover_read_number (data, "progress", &percent);
  if (!anycubic_optional_ok (member))
    return FALSE;
  if (member == DROVER_MEMBER_VALUE)
    {
      if (!_drover_progress_is_valid (percent / 100.0))
        return FALSE;
      update->progress = percent / 100.0;
      update->fields |= DROVER_UPDATE_PROGRESS;
    }

  member = _drover_read_number (data, "remain_time", &minutes);
  if (!anycubic_optional_ok (member))
    return FALSE;
  if (member == DROVER_MEMBER_VALUE)
    {
      /* kobra-unleashed starts at -1: unknown. */
      if (minutes < 0)
        update->time_left = -1;
      else if (_drover_duration_is_valid (minutes * 60.0))
        update->time_left = _drover_seconds_from_double (minutes * 60.0);
      else
        return FALSE;
      update->fields |= DROVER_UPDATE_TIME_LEFT;
    }

  return TRUE;
}

/* `print`/`start|update` `updated`: the temperatures now and the new
 * targets under `settings` (hass-anycubic_cloud's reading). */
static DroverDecodeStatus
anycubic_read_print_updated (JsonObject   *data,
                             DroverUpdate *update)
{
  JsonObject *settings = NULL;

  if (data == NULL)
    return DROVER_DECODE_MALFORMED;
  if (!anycubic_optional_ok (_drover_read_object (data, "settings", &settings)))
    return DROVER_DECODE_MALFORMED;

  if (!_drover_read_temperature (data, "curr_nozzle_temp", update, DROVER_UPDATE_HOTEND_TEMPERATURE,
                                 &update->hotend_temperature, DROVER_NULL_IS_MALFORMED) ||
      !_drover_read_temperature (data, "curr_hotbed_temp", update, DROVER_UPDATE_BED_TEMPERATURE,
                                 &update->bed_temperature, DROVER_NULL_IS_MALFORMED))
    return DROVER_DECODE_MALFORMED;

  if (settings != NULL &&
      (!_drover_read_temperature (settings, "target_nozzle_temp", update, DROVER_UPDATE_HOTEND_TARGET,
                                  &update->hotend_target, DROVER_NULL_IS_MALFORMED) ||
       !_drover_read_temperature (settings, "target_hotbed_temp", update, DROVER_UPDATE_BED_TARGET,
                                  &update->bed_target, DROVER_NULL_IS_MALFORMED)))
    return DROVER_DECODE_MALFORMED;

  return DROVER_DECODE_OK;
}

/* The job's states (hass-anycubic_cloud `_process_mqtt_update_print`;
 * `stoped` is the firmware's spelling). */
static const struct {
  const char         *name;
  DroverPrinterState  state;
  gboolean            with_progress;
} anycubic_print_states[] = {
  { "downloading", DROVER_PRINTER_STATE_PRINTING, FALSE },
  { "checking",    DROVER_PRINTER_STATE_PRINTING, TRUE },
  { "preheating",  DROVER_PRINTER_STATE_PRINTING, TRUE },
  { "printing",    DROVER_PRINTER_STATE_PRINTING, TRUE },
  { "resuming",    DROVER_PRINTER_STATE_PRINTING, TRUE },
  { "resumed",     DROVER_PRINTER_STATE_PRINTING, TRUE },
  { "pausing",     DROVER_PRINTER_STATE_PAUSED,   TRUE },
  { "paused",      DROVER_PRINTER_STATE_PAUSED,   TRUE },
  { "finished",    DROVER_PRINTER_STATE_IDLE,     TRUE },
  { "stopping",    DROVER_PRINTER_STATE_IDLE,     TRUE },
  { "stoped",      DROVER_PRINTER_STATE_IDLE,     TRUE },
  { "failed",      DROVER_PRINTER_STATE_ERROR,    TRUE },
};

static DroverDecodeStatus
anycubic_read_print (const AnycubicEnvelope *envelope,
                     DroverUpdate           *update)
{
  const char *state = envelope->state;

  if (g_str_equal (state, "updated"))
    return anycubic_read_print_updated (envelope->data, update);

  for (guint i = 0; i < G_N_ELEMENTS (anycubic_print_states); i++)
    {
      if (!g_str_equal (state, anycubic_print_states[i].name))
        continue;

      if (!anycubic_read_job (envelope->data, anycubic_print_states[i].with_progress, update))
        return DROVER_DECODE_MALFORMED;

      /* The reason of a failure is the envelope's `msg`; Rinkhals reads
       * codes such as 10107 (filament broken) beside it. */
      if (anycubic_print_states[i].state == DROVER_PRINTER_STATE_ERROR)
        {
          g_autofree char *text = NULL;

          if (envelope->msg != NULL && envelope->msg[0] != '\0')
            text = g_strdup (envelope->msg);
          else if (envelope->has_code && envelope->code != ANYCUBIC_CODE_OK)
            text = g_strdup_printf ("Anycubic error %" G_GINT64_FORMAT, envelope->code);
          else
            text = g_strdup ("Print failed");
          _drover_update_set_error (update, text);
        }

      _drover_update_set_state (update, anycubic_print_states[i].state);
      _drover_update_clear_stale_error (update);
      return DROVER_DECODE_OK;
    }

  return DROVER_DECODE_IGNORED;
}

/* `records[]` of `{filename, timestamp, size, is_dir}`: filename and
 * is_dir needed, the others optional (hass-anycubic_cloud files.py). */
static gboolean
anycubic_read_record (JsonObject *record,
                      GPtrArray  *files)
{
  const char *filename = NULL;
  gint64 timestamp = -1;
  gint64 size = -1;
  gint64 flag = 0;
  gboolean is_dir = FALSE;
  DroverMember member;

  if (_drover_read_string (record, "filename", &filename) != DROVER_MEMBER_VALUE || filename[0] == '\0')
    return FALSE;

  /* A boolean in the sources; a 0 or 1 is taken too (bool(is_dir)). */
  member = _drover_read_boolean (record, "is_dir", &is_dir);
  if (member == DROVER_MEMBER_WRONG_TYPE)
    {
      if (_drover_read_integer (record, "is_dir", &flag) != DROVER_MEMBER_VALUE || (flag != 0 && flag != 1))
        return FALSE;
      is_dir = flag == 1;
    }
  else if (member != DROVER_MEMBER_VALUE)
    return FALSE;

  member = _drover_read_integer (record, "timestamp", &timestamp);
  if (!anycubic_optional_ok (member) || (member == DROVER_MEMBER_VALUE && timestamp < 0))
    return FALSE;
  if (member != DROVER_MEMBER_VALUE)
    timestamp = -1;
  else if (timestamp >= ANYCUBIC_MILLISECONDS_FROM)
    timestamp /= 1000;

  member = _drover_read_integer (record, "size", &size);
  if (!anycubic_optional_ok (member) || (member == DROVER_MEMBER_VALUE && size < 0))
    return FALSE;
  if (member != DROVER_MEMBER_VALUE)
    size = -1;

  /* Folders are not files: the audit looks at what could be printed. */
  if (!is_dir)
    g_ptr_array_add (files, drover_file_info_new (filename, size, timestamp, NULL));

  return TRUE;
}

static DroverDecodeStatus
anycubic_read_file (const AnycubicEnvelope *envelope,
                    DroverUpdate           *update)
{
  g_autoptr(DroverEvent) event = NULL;
  JsonArray *records = NULL;
  gboolean local = g_str_equal (envelope->action, "listLocal");

  if (!local && !g_str_equal (envelope->action, "listUdisk"))
    return DROVER_DECODE_IGNORED;
  if (!g_str_equal (envelope->state, "done"))
    return DROVER_DECODE_IGNORED;

  if (envelope->data == NULL || _drover_read_array (envelope->data, "records", &records) != DROVER_MEMBER_VALUE)
    return DROVER_DECODE_MALFORMED;

  event = drover_event_new (DROVER_EVENT_FILE_LIST);
  /* Two lists, the printer's storage and its USB drive: one must not
   * replace the other. */
  event->origin = g_strdup (local ? "local" : "udisk");

  for (guint i = 0; i < json_array_get_length (records); i++)
    {
      JsonNode *node = json_array_get_element (records, i);

      if (!JSON_NODE_HOLDS_OBJECT (node) || !anycubic_read_record (json_node_get_object (node), event->files))
        return DROVER_DECODE_MALFORMED;
    }

  drover_update_add_event (update, event);
  return DROVER_DECODE_OK;
}

/* `info`/`report` (Kobra 3 in LAN mode, Rinkhals): the state and the
 * temperatures under `temp`. */
static DroverDecodeStatus
anycubic_read_info (const AnycubicEnvelope *envelope,
                    DroverUpdate           *update)
{
  JsonObject *temp = NULL;
  const char *state = NULL;

  if (!g_str_equal (envelope->action, "report") || !g_str_equal (envelope->state, "done"))
    return DROVER_DECODE_IGNORED;
  if (envelope->data == NULL)
    return DROVER_DECODE_MALFORMED;

  if (!anycubic_optional_ok (_drover_read_object (envelope->data, "temp", &temp)) ||
      !anycubic_optional_ok (_drover_read_string (envelope->data, "state", &state)))
    return DROVER_DECODE_MALFORMED;

  if (temp != NULL && !anycubic_read_temperatures (temp, temp, update))
    return DROVER_DECODE_MALFORMED;
  if (state != NULL)
    anycubic_read_work_state (state, update);

  return DROVER_DECODE_OK;
}

static DroverDecodeStatus
anycubic_read_report (const DroverTopicLevel *type_level,
                      JsonObject             *root,
                      DroverUpdate           *update)
{
  AnycubicEnvelope envelope;

  if (!anycubic_read_envelope (root, TRUE, &envelope))
    return DROVER_DECODE_MALFORMED;

  /* kobra-unleashed reads the type from the topic, hass-anycubic_cloud from
   * the payload: a report on which they disagree is not one to act on. */
  if (!_drover_topic_level_is (type_level, envelope.type))
    return DROVER_DECODE_MALFORMED;

  if (g_str_equal (envelope.type, "lastWill"))
    return anycubic_read_last_will (&envelope, update);
  if (g_str_equal (envelope.type, "status"))
    return anycubic_read_status (&envelope, update);
  if (g_str_equal (envelope.type, "tempature"))
    return anycubic_read_tempature (&envelope, update);
  if (g_str_equal (envelope.type, "print"))
    return anycubic_read_print (&envelope, update);
  if (g_str_equal (envelope.type, "file"))
    return anycubic_read_file (&envelope, update);
  if (g_str_equal (envelope.type, "info"))
    return anycubic_read_info (&envelope, update);

  return DROVER_DECODE_IGNORED;
}

/* Orders */

/* A string of `data` that may be absent, null or ""; FALSE for a wrong type. */
static gboolean
anycubic_optional_text (JsonObject  *data,
                        const char  *name,
                        char       **value)
{
  const char *text = NULL;
  DroverMember member = data != NULL ? _drover_read_string (data, name, &text) : DROVER_MEMBER_ABSENT;

  if (member == DROVER_MEMBER_WRONG_TYPE)
    return FALSE;
  if (member == DROVER_MEMBER_VALUE && text[0] != '\0')
    *value = g_strdup (text);

  return TRUE;
}

/* K2T: `{"path": "dir", "filename": "filename"}`; the file as a path
 * without a leading "/", as file lists name files. */
static char *
anycubic_join_path (const char *path,
                    const char *filename)
{
  g_autofree char *folder = g_strdup (path != NULL ? path : "");
  const char *start = folder;
  gsize length;

  while (*start == '/')
    start++;
  length = strlen (start);
  while (length > 0 && start[length - 1] == '/')
    length--;

  if (length == 0)
    return g_strdup (filename);

  return g_strdup_printf ("%.*s/%s", (int) length, start, filename);
}

static DroverDecodeStatus
anycubic_read_order (JsonObject   *root,
                     DroverUpdate *update)
{
  g_autoptr(DroverEvent) event = drover_event_new (DROVER_EVENT_ORDER);
  AnycubicEnvelope envelope;
  const char *type;
  const char *action;

  if (!anycubic_read_envelope (root, FALSE, &envelope))
    return DROVER_DECODE_MALFORMED;
  type = envelope.type;
  action = envelope.action;

  if (envelope.msgid != NULL && envelope.msgid[0] != '\0')
    event->request_id = g_strdup (envelope.msgid);

  if (g_str_equal (type, "print") && g_str_equal (action, "start"))
    {
      /* Rinkhals: filename is mandatory, url optional (KU's download form). */
      event->command = g_strdup ("start");
      if (!anycubic_optional_text (envelope.data, "filename", &event->file) ||
          !anycubic_optional_text (envelope.data, "url", &event->url))
        return DROVER_DECODE_MALFORMED;
      if (event->file == NULL)
        return DROVER_DECODE_MALFORMED;
    }
  else if (g_str_equal (type, "print") &&
           (g_str_equal (action, "pause") || g_str_equal (action, "resume") || g_str_equal (action, "stop") ||
            g_str_equal (action, "update")))
    event->command = g_strdup (action);
  else if (g_str_equal (type, "print") && g_str_equal (action, "cancel"))
    event->command = g_strdup ("stop");
  else if (g_str_equal (type, "ota") && g_str_equal (action, "update"))
    {
      /* K2T: the second URL-fetch primitive. */
      event->command = g_strdup ("ota");
      if (!anycubic_optional_text (envelope.data, "firmware_url", &event->url))
        return DROVER_DECODE_MALFORMED;
    }
  else if (g_str_equal (type, "file") && (g_str_equal (action, "deleteLocal") || g_str_equal (action, "deleteUdisk")))
    {
      g_autofree char *path = NULL;
      g_autofree char *filename = NULL;

      event->command = g_strdup ("delete");
      event->origin = g_strdup (g_str_equal (action, "deleteLocal") ? "local" : "udisk");
      if (!anycubic_optional_text (envelope.data, "path", &path) ||
          !anycubic_optional_text (envelope.data, "filename", &filename))
        return DROVER_DECODE_MALFORMED;
      if (filename == NULL)
        return DROVER_DECODE_MALFORMED;
      event->file = anycubic_join_path (path, filename);
    }
  else
    /* Asking for lists, reports, lights, video: not orders the audit judges. */
    return DROVER_DECODE_IGNORED;

  drover_update_add_event (update, event);
  return DROVER_DECODE_OK;
}

static DroverDecodeStatus
anycubic_read (AnycubicTopic           kind,
               const DroverTopicLevel *type_level,
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

  if (kind == ANYCUBIC_TOPIC_REPORT)
    return anycubic_read_report (type_level, root, update);

  return anycubic_read_order (root, update);
}

/**
 * drover_decode_anycubic:
 * @topic: the topic the message came on
 * @payload: (array length=length): the message's bytes
 * @length: how many
 * @key: (out) (transfer full): the printer's device id, set only on
 *   %DROVER_DECODE_OK; %NULL otherwise
 * @update: (out caller-allocates): an empty update (zero-filled or
 *   cleared), filled only on %DROVER_DECODE_OK
 *
 * Reads a report of an Anycubic printer
 * (`anycubic/anycubicCloud/v1/printer/public/<model>/<id>/<type>/report`)
 * or an order someone published to it
 * (`anycubic/anycubicCloud/v1/<server|slicer|web>/printer/<model>/<id>/…`).
 * Reports name only what they hold; file lists and orders become events.
 * Safe to call from any thread.
 *
 * Returns: what came of it
 */
DroverDecodeStatus
drover_decode_anycubic (const char    *topic,
                        const guint8  *payload,
                        gsize          length,
                        char         **key,
                        DroverUpdate  *update)
{
  DroverUpdate decoded = DROVER_UPDATE_INIT;
  DroverTopicLevel levels[ANYCUBIC_LEVELS_MAX];
  DroverDecodeStatus status;
  AnycubicTopic kind;
  guint n_levels;

  _DROVER_DECODE_CHECK_ARGUMENTS (key, update);

  n_levels = _drover_decode_split_topic (topic, levels, G_N_ELEMENTS (levels));
  if (n_levels < 8 || n_levels > ANYCUBIC_LEVELS_MAX ||
      !_drover_topic_level_is (&levels[0], "anycubic") ||
      !_drover_topic_level_is (&levels[1], "anycubicCloud") ||
      !_drover_topic_level_is (&levels[2], "v1") ||
      !anycubic_model_is_valid (&levels[5]) ||
      !anycubic_id_is_valid (&levels[6]))
    return DROVER_DECODE_IGNORED;

  if (_drover_topic_level_is (&levels[3], "printer") && _drover_topic_level_is (&levels[4], "public") &&
      n_levels == 9 && _drover_topic_level_is (&levels[8], "report"))
    kind = ANYCUBIC_TOPIC_REPORT;
  else if ((_drover_topic_level_is (&levels[3], "server") || _drover_topic_level_is (&levels[3], "slicer") ||
            _drover_topic_level_is (&levels[3], "web")) &&
           _drover_topic_level_is (&levels[4], "printer"))
    kind = ANYCUBIC_TOPIC_ORDER;
  else
    return DROVER_DECODE_IGNORED;

  status = anycubic_read (kind, &levels[7], payload, length, &decoded);

  return _drover_decode_finish (status, &decoded,
                                status == DROVER_DECODE_OK ? _drover_topic_level_dup (&levels[6]) : NULL,
                                key, update);
}
