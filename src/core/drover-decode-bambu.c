/* drover-decode-bambu.c: a Bambu Lab printer in LAN mode, read
 *
 * shared/reference/bambu-anycubic.md A2-A3: the printer reports on
 * `device/<serial>/report`. State comes only in `print` objects whose
 * command is `push_status`; the X1 sends the whole object each time, the P1
 * only what changed (and now and then an empty `{}`), so absent means
 * unchanged, as in ha-bambulab's `data.get("x", self.x)`. Other `print`
 * commands are acknowledgements of requests; `info`, `system`, `mc_print`
 * say nothing about the printer's state.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "drover-decode-private.h"

/* print_error when the user cancelled: the printer says FAILED, but nothing
 * failed (ha-bambulab models.py). */
#define BAMBU_ERROR_USER_CANCELLED 50348044

/* An optional member of a given type: absent is fine, null or another type
 * is not. The P1's diffs leave members out; they never null them. */
static gboolean
bambu_member_ok (DroverMember member)
{
  return member == DROVER_MEMBER_ABSENT || member == DROVER_MEMBER_VALUE;
}

/*
 * bambu_unpack_temperature:
 *
 * Newer firmware (H2D, X1 updates) packs a heater into one int: the low 16
 * bits are the current temperature, the high 16 the target, in whole °C.
 */
static gboolean
bambu_unpack_temperature (gint64  packed,
                          double *current,
                          double *target)
{
  if (packed < 0 || packed > G_MAXUINT32)
    return FALSE;

  *current = (double) (packed & 0xFFFF);
  *target = (double) ((packed >> 16) & 0xFFFF);

  return _drover_temperature_is_valid (*current) && _drover_temperature_is_valid (*target);
}

/* `device.bed.info.temp`; @found is FALSE when some level is missing. */
static gboolean
bambu_read_packed_bed (JsonObject *device,
                       gint64     *packed,
                       gboolean   *found)
{
  JsonObject *bed = NULL;
  JsonObject *info = NULL;
  DroverMember member;

  *found = FALSE;

  member = _drover_read_object (device, "bed", &bed);
  if (member == DROVER_MEMBER_ABSENT)
    return TRUE;
  if (member != DROVER_MEMBER_VALUE)
    return FALSE;

  member = _drover_read_object (bed, "info", &info);
  if (member == DROVER_MEMBER_ABSENT)
    return TRUE;
  if (member != DROVER_MEMBER_VALUE)
    return FALSE;

  member = _drover_read_integer (info, "temp", packed);
  if (!bambu_member_ok (member))
    return FALSE;

  *found = member == DROVER_MEMBER_VALUE;
  return TRUE;
}

/*
 * bambu_read_packed_extruder:
 *
 * `device.extruder.info[]` holds one entry per nozzle, each with an `id`
 * (the H2D has two; id 0 is the one the flat `nozzle_temper` stands for on
 * single-nozzle printers). Entry 0 is taken when the entries carry no id.
 */
static gboolean
bambu_read_packed_extruder (JsonObject *device,
                            gint64     *packed,
                            gboolean   *found)
{
  JsonObject *extruder = NULL;
  JsonArray *info = NULL;
  JsonObject *nozzle = NULL;
  DroverMember member;
  guint n_entries;
  gboolean any_id = FALSE;

  *found = FALSE;

  member = _drover_read_object (device, "extruder", &extruder);
  if (member == DROVER_MEMBER_ABSENT)
    return TRUE;
  if (member != DROVER_MEMBER_VALUE)
    return FALSE;

  member = _drover_read_array (extruder, "info", &info);
  if (member == DROVER_MEMBER_ABSENT)
    return TRUE;
  if (member != DROVER_MEMBER_VALUE)
    return FALSE;

  n_entries = json_array_get_length (info);
  for (guint i = 0; i < n_entries; i++)
    {
      JsonNode *node = json_array_get_element (info, i);
      JsonObject *entry;
      gint64 id = -1;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        return FALSE;
      entry = json_node_get_object (node);

      member = _drover_read_integer (entry, "id", &id);
      if (!bambu_member_ok (member))
        return FALSE;
      if (member == DROVER_MEMBER_VALUE)
        {
          any_id = TRUE;
          if (id == 0 && nozzle == NULL)
            nozzle = entry;
        }
    }

  if (nozzle == NULL && !any_id && n_entries > 0)
    nozzle = json_array_get_object_element (info, 0);
  if (nozzle == NULL)
    return TRUE;

  member = _drover_read_integer (nozzle, "temp", packed);
  if (!bambu_member_ok (member))
    return FALSE;

  *found = member == DROVER_MEMBER_VALUE;
  return TRUE;
}

static gboolean
bambu_read_temperatures (JsonObject   *print,
                         DroverUpdate *update)
{
  JsonObject *device = NULL;
  gboolean packed_hotend = FALSE;
  gboolean packed_bed = FALSE;
  gint64 packed = 0;

  if (!bambu_member_ok (_drover_read_object (print, "device", &device)))
    return FALSE;

  if (device != NULL)
    {
      if (!bambu_read_packed_extruder (device, &packed, &packed_hotend))
        return FALSE;
      if (packed_hotend)
        {
          if (!bambu_unpack_temperature (packed, &update->hotend_temperature, &update->hotend_target))
            return FALSE;
          update->fields |= DROVER_UPDATE_HOTEND_TEMPERATURE | DROVER_UPDATE_HOTEND_TARGET;
        }

      if (!bambu_read_packed_bed (device, &packed, &packed_bed))
        return FALSE;
      if (packed_bed)
        {
          if (!bambu_unpack_temperature (packed, &update->bed_temperature, &update->bed_target))
            return FALSE;
          update->fields |= DROVER_UPDATE_BED_TEMPERATURE | DROVER_UPDATE_BED_TARGET;
        }
    }

  if (!packed_hotend &&
      (!_drover_read_temperature (print, "nozzle_temper", update, DROVER_UPDATE_HOTEND_TEMPERATURE,
                                  &update->hotend_temperature, DROVER_NULL_IS_MALFORMED) ||
       !_drover_read_temperature (print, "nozzle_target_temper", update, DROVER_UPDATE_HOTEND_TARGET,
                                  &update->hotend_target, DROVER_NULL_IS_MALFORMED)))
    return FALSE;

  if (!packed_bed &&
      (!_drover_read_temperature (print, "bed_temper", update, DROVER_UPDATE_BED_TEMPERATURE,
                                  &update->bed_temperature, DROVER_NULL_IS_MALFORMED) ||
       !_drover_read_temperature (print, "bed_target_temper", update, DROVER_UPDATE_BED_TARGET,
                                  &update->bed_target, DROVER_NULL_IS_MALFORMED)))
    return FALSE;

  return TRUE;
}

/* gcode_state (ha-bambulab const.py GCODE_STATE_OPTIONS). FAILED is
 * decided with print_error, by the caller. */
static gboolean
bambu_state_from_gcode_state (const char         *text,
                              DroverPrinterState *state)
{
  static const struct {
    const char         *name;
    DroverPrinterState  state;
  } states[] = {
    { "IDLE",    DROVER_PRINTER_STATE_IDLE },
    { "FINISH",  DROVER_PRINTER_STATE_IDLE },
    { "PREPARE", DROVER_PRINTER_STATE_PRINTING },
    { "RUNNING", DROVER_PRINTER_STATE_PRINTING },
    { "SLICING", DROVER_PRINTER_STATE_PRINTING },
    { "INIT",    DROVER_PRINTER_STATE_PRINTING },
    { "PAUSE",   DROVER_PRINTER_STATE_PAUSED },
    { "FAILED",  DROVER_PRINTER_STATE_ERROR },
    { "OFFLINE", DROVER_PRINTER_STATE_OFFLINE },
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

static gboolean
bambu_read_state (JsonObject   *print,
                  DroverUpdate *update)
{
  const char *gcode_state = NULL;
  gint64 print_error = 0;
  DroverMember has_error;
  DroverPrinterState state;

  if (!bambu_member_ok (_drover_read_string (print, "gcode_state", &gcode_state)))
    return FALSE;

  has_error = _drover_read_integer (print, "print_error", &print_error);
  if (!bambu_member_ok (has_error))
    return FALSE;
  if (has_error == DROVER_MEMBER_VALUE && (print_error < 0 || print_error > G_MAXUINT32))
    return FALSE;

  /* An unknown gcode_state (a newer firmware's) leaves the state as it was. */
  if (gcode_state == NULL || !bambu_state_from_gcode_state (gcode_state, &state))
    return TRUE;

  if (state == DROVER_PRINTER_STATE_ERROR && has_error == DROVER_MEMBER_VALUE)
    {
      if (print_error == BAMBU_ERROR_USER_CANCELLED)
        state = DROVER_PRINTER_STATE_IDLE;
      else if (print_error != 0)
        {
          /* As ha-bambulab and Bambu's wiki write it: 0300_400C. */
          g_autofree char *text = g_strdup_printf ("Bambu error %04X_%04X",
                                                   (guint) ((print_error >> 16) & 0xFFFF),
                                                   (guint) (print_error & 0xFFFF));

          _drover_update_set_error (update, text);
        }
    }

  _drover_update_set_state (update, state);
  _drover_update_clear_stale_error (update);

  return TRUE;
}

static gboolean
bambu_read_job (JsonObject   *print,
                DroverUpdate *update)
{
  DroverMember member;
  double percent = 0;
  double minutes = 0;
  const char *file = NULL;

  member = _drover_read_number (print, "mc_percent", &percent);
  if (!bambu_member_ok (member))
    return FALSE;
  if (member == DROVER_MEMBER_VALUE)
    {
      if (!_drover_progress_is_valid (percent / 100.0))
        return FALSE;
      update->progress = percent / 100.0;
      update->fields |= DROVER_UPDATE_PROGRESS;
    }

  member = _drover_read_number (print, "mc_remaining_time", &minutes);
  if (!bambu_member_ok (member))
    return FALSE;
  if (member == DROVER_MEMBER_VALUE)
    {
      /* Minutes (ha-bambulab: timedelta(minutes=…)). A negative count is
       * taken as "unknown" rather than as a reason to drop the report. */
      if (minutes < 0)
        update->time_left = -1;
      else if (_drover_duration_is_valid (minutes * 60.0))
        update->time_left = _drover_seconds_from_double (minutes * 60.0);
      else
        return FALSE;
      update->fields |= DROVER_UPDATE_TIME_LEFT;
    }

  /* subtask_name is the job as the operator named it; gcode_file is a
   * path inside the 3MF on the X1 ("/data/Metadata/plate_1.gcode"). */
  member = _drover_read_string (print, "subtask_name", &file);
  if (!bambu_member_ok (member))
    return FALSE;
  if (member == DROVER_MEMBER_ABSENT)
    {
      member = _drover_read_string (print, "gcode_file", &file);
      if (!bambu_member_ok (member))
        return FALSE;
    }
  if (member == DROVER_MEMBER_VALUE)
    _drover_update_set_file (update, file);

  return TRUE;
}

static DroverDecodeStatus
bambu_read (const guint8 *payload,
            gsize         length,
            DroverUpdate *update)
{
  g_autoptr(JsonParser) parser = NULL;
  DroverDecodeStatus status;
  JsonObject *root;
  JsonObject *print = NULL;
  const char *command = NULL;
  DroverMember member;

  parser = _drover_decode_parse (payload, length, &status);
  if (parser == NULL)
    return status;

  root = _drover_decode_root_object (parser);
  if (root == NULL)
    return DROVER_DECODE_MALFORMED;

  member = _drover_read_object (root, "print", &print);
  if (member == DROVER_MEMBER_ABSENT)
    return DROVER_DECODE_IGNORED;
  if (member != DROVER_MEMBER_VALUE)
    return DROVER_DECODE_MALFORMED;

  member = _drover_read_string (print, "command", &command);
  if (!bambu_member_ok (member))
    return DROVER_DECODE_MALFORMED;
  if (member == DROVER_MEMBER_ABSENT || !g_str_equal (command, "push_status"))
    return DROVER_DECODE_IGNORED;

  if (!bambu_read_temperatures (print, update) ||
      !bambu_read_state (print, update) ||
      !bambu_read_job (print, update))
    return DROVER_DECODE_MALFORMED;

  return DROVER_DECODE_OK;
}

/* `device/<serial>/request`: orders to the printer from any client of its
 * broker (Bambu Studio, Handy, Drover's own pushall). A print, G-code or a
 * firmware upgrade is an order the audit judges; asking for a report is
 * not. */
static DroverDecodeStatus
bambu_read_request (const guint8 *payload,
                    gsize         length,
                    DroverUpdate *update)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(DroverEvent) event = NULL;
  DroverDecodeStatus status;
  JsonObject *root;
  JsonObject *print = NULL;
  JsonObject *upgrade = NULL;
  const char *command = NULL;
  const char *text = NULL;

  parser = _drover_decode_parse (payload, length, &status);
  if (parser == NULL)
    return status;
  root = _drover_decode_root_object (parser);
  if (root == NULL)
    return DROVER_DECODE_MALFORMED;

  event = drover_event_new (DROVER_EVENT_ORDER);
  if (_drover_read_object (root, "upgrade", &upgrade) == DROVER_MEMBER_VALUE)
    {
      event->command = g_strdup ("upgrade");
      if (_drover_read_string (upgrade, "url", &text) == DROVER_MEMBER_VALUE)
        event->url = g_strdup (text);
      drover_update_add_event (update, event);
      return DROVER_DECODE_OK;
    }

  if (_drover_read_object (root, "print", &print) != DROVER_MEMBER_VALUE ||
      _drover_read_string (print, "command", &command) != DROVER_MEMBER_VALUE)
    return DROVER_DECODE_IGNORED;
  if (_drover_read_string (print, "sequence_id", &text) == DROVER_MEMBER_VALUE)
    event->request_id = g_strdup (text);

  if (g_str_equal (command, "project_file"))
    {
      event->command = g_strdup ("start");
      if (_drover_read_string (print, "subtask_name", &text) == DROVER_MEMBER_VALUE && text[0] != '\0')
        event->file = g_strdup (text);
      if (_drover_read_string (print, "url", &text) == DROVER_MEMBER_VALUE)
        event->url = g_strdup (text);
      if (event->file == NULL)
        return DROVER_DECODE_MALFORMED;
    }
  else if (g_str_equal (command, "gcode_line"))
    {
      if (_drover_read_string (print, "param", &text) != DROVER_MEMBER_VALUE)
        return DROVER_DECODE_MALFORMED;
      event->command = g_strdup (text);
    }
  else if (g_str_equal (command, "pause") || g_str_equal (command, "resume") || g_str_equal (command, "stop"))
    event->command = g_strdup (command);
  else
    return DROVER_DECODE_IGNORED;

  drover_update_add_event (update, event);
  return DROVER_DECODE_OK;
}

/**
 * drover_decode_bambu:
 * @topic: the topic the message came on
 * @payload: (array length=length): the message's bytes
 * @length: how many
 * @key: (out) (transfer full): the printer's serial, set only on
 *   %DROVER_DECODE_OK; %NULL otherwise
 * @update: (out caller-allocates): an empty update (zero-filled or
 *   cleared), filled only on %DROVER_DECODE_OK
 *
 * Reads a report of a Bambu Lab printer (`device/<serial>/report`). P1
 * printers send diffs: the update names only what the report holds. Safe
 * to call from any thread.
 *
 * Returns: what came of it
 */
DroverDecodeStatus
drover_decode_bambu (const char    *topic,
                     const guint8  *payload,
                     gsize          length,
                     char         **key,
                     DroverUpdate  *update)
{
  DroverUpdate decoded = DROVER_UPDATE_INIT;
  DroverTopicLevel levels[3];
  DroverDecodeStatus status;

  _DROVER_DECODE_CHECK_ARGUMENTS (key, update);

  if (_drover_decode_split_topic (topic, levels, G_N_ELEMENTS (levels)) != 3 ||
      !_drover_topic_level_is (&levels[0], "device") ||
      levels[1].length == 0)
    return DROVER_DECODE_IGNORED;

  if (_drover_topic_level_is (&levels[2], "report"))
    status = bambu_read (payload, length, &decoded);
  else if (_drover_topic_level_is (&levels[2], "request"))
    status = bambu_read_request (payload, length, &decoded);
  else
    return DROVER_DECODE_IGNORED;

  return _drover_decode_finish (status, &decoded,
                                status == DROVER_DECODE_OK ? _drover_topic_level_dup (&levels[1]) : NULL,
                                key, update);
}
