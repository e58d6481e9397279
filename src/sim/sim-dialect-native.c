/* sim-dialect-native.c: Drover's own MQTT dialect (docs/protocol.md)
 *
 * Written from docs/protocol.md, not from src/core: if the two disagree,
 * the tests say so.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "sim-farm.h"
#include "sim-gcode.h"

#define ROOT "drover/v1/"

static char *
topic_for (SimPrinter *printer,
           const char *leaf)
{
  return g_strconcat (ROOT, printer->id, "/", leaf, NULL);
}

static const char *
native_state (SimPrinter *printer)
{
  switch (printer->state)
    {
    case SIM_STATE_HEATING:
    case SIM_STATE_PRINTING:
      return "printing";
    case SIM_STATE_PAUSED:
      return "paused";
    case SIM_STATE_ERROR:
      return "error";
    case SIM_STATE_OFFLINE:
      return "offline";
    case SIM_STATE_IDLE:
    case SIM_STATE_FINISHED:
    case SIM_STATE_CANCELLED:
    default:
      return "idle";
    }
}

static void
native_setup (SimPrinter     *printer,
              SimMqttOptions *options)
{
  char *will_topic;

  /* The will must outlive the options struct: keep it on the printer. */
  will_topic = topic_for (printer, "presence");
  printer->dialect_data = will_topic;
  printer->dialect_data_free = g_free;

  options->will_topic = will_topic;
  options->will_payload = "{\"v\":1,\"online\":false,\"reason\":\"lost\"}";
  options->will_retained = TRUE;
  options->will_qos = 1;
}

static void
publish_presence (SimPrinter *printer,
                  gboolean    online,
                  const char *reason)
{
  g_autofree char *topic = topic_for (printer, "presence");
  g_autofree char *ts = sim_iso8601_now ();
  g_autofree char *name = sim_json_string (printer->name);
  g_autofree char *payload = NULL;

  if (online)
    payload = g_strdup_printf ("{\"v\":1,\"online\":true,\"since\":\"%s\",\"name\":%s,"
                               "\"agent\":\"drover-sim " PACKAGE_VERSION "\"}",
                               ts, name);
  else
    payload = g_strdup_printf ("{\"v\":1,\"online\":false,\"reason\":\"%s\",\"since\":\"%s\"}", reason, ts);

  sim_printer_publish (printer, topic, payload, 1, TRUE);
}

static void
publish_files (SimPrinter *printer)
{
  g_autofree char *topic = topic_for (printer, "files");
  g_autofree char *ts = sim_iso8601_now ();
  GString *payload = g_string_new (NULL);

  g_string_append_printf (payload, "{\"v\":1,\"ts\":\"%s\",\"files\":[", ts);
  for (guint i = 0; i < printer->files->len; i++)
    {
      SimFile *file = g_ptr_array_index (printer->files, i);
      g_autofree char *name = sim_json_string (file->name);
      g_autoptr(GDateTime) modified = g_date_time_new_from_unix_utc (file->modified);
      g_autofree char *when = g_date_time_format_iso8601 (modified);

      g_string_append_printf (payload, "%s{\"name\":%s,\"size\":%" G_GSIZE_FORMAT ",\"modified\":\"%s\",\"sha256\":\"%s\"}",
                              i > 0 ? "," : "", name, g_bytes_get_size (file->content), when, file->sha256);
    }
  g_string_append (payload, "]}");

  sim_printer_publish (printer, topic, payload->str, 1, TRUE);
  g_string_free (payload, TRUE);
}

static void
native_publish_status (SimPrinter *printer,
                       gboolean    full)
{
  g_autofree char *topic = topic_for (printer, "state");
  g_autofree char *ts = sim_iso8601_now ();
  g_autofree char *job = NULL;
  g_autofree char *error = sim_json_string (printer->error_text);
  g_autofree char *payload = NULL;
  g_autofree char *hotend = NULL;
  g_autofree char *hotend_target = NULL;
  g_autofree char *bed = NULL;
  g_autofree char *bed_target = NULL;

  if (printer->job_file != NULL && sim_printer_is_busy (printer))
    {
      g_autofree char *file = sim_json_string (printer->job_file);
      gint64 remaining = sim_printer_get_remaining (printer);

      g_autofree char *progress = sim_json_number (round (sim_printer_get_progress (printer) * 10000) / 10000);

      job = g_strdup_printf ("{\"file\":%s,\"progress\":%s,\"elapsed_s\":%" G_GINT64_FORMAT ",\"remaining_s\":%" G_GINT64_FORMAT
                             ",\"layer\":%u,\"layers\":%u}",
                             file, progress, (gint64)printer->total_elapsed,
                             remaining, printer->layer, printer->layers);
    }

  /* The whole state every time, retained: telemetry is state, not a log. */
  /* Numbers through sim_json_number: a comma-decimal locale must not leak in. */
  hotend = sim_json_number (round (printer->hotend * 10) / 10);
  hotend_target = sim_json_number (printer->hotend_target);
  bed = sim_json_number (round (printer->bed * 10) / 10);
  bed_target = sim_json_number (printer->bed_target);
  payload = g_strdup_printf ("{\"v\":1,\"ts\":\"%s\",\"state\":\"%s\","
                             "\"hotend\":{\"actual\":%s,\"target\":%s},"
                             "\"bed\":{\"actual\":%s,\"target\":%s},"
                             "\"job\":%s,\"error\":%s}",
                             ts, native_state (printer),
                             hotend, hotend_target, bed, bed_target,
                             job != NULL ? job : "null", error);

  sim_printer_publish (printer, topic, payload, 0, TRUE);
}

static void
publish_event (SimPrinter *printer,
               const char *type,
               const char *file,
               const char *detail_key,
               const char *detail_value)
{
  g_autofree char *topic = topic_for (printer, "events");
  g_autofree char *ts = sim_iso8601_now ();
  g_autofree char *file_json = sim_json_string (file);
  g_autofree char *detail = NULL;
  g_autofree char *payload = NULL;

  if (detail_key != NULL)
    {
      g_autofree char *value = sim_json_string (detail_value);

      detail = g_strdup_printf (",\"%s\":%s", detail_key, value);
    }

  payload = g_strdup_printf ("{\"v\":1,\"ts\":\"%s\",\"seq\":%u,\"type\":\"%s\",\"file\":%s%s}",
                             ts, ++printer->sequence, type, file_json, detail != NULL ? detail : "");
  sim_printer_publish (printer, topic, payload, 1, FALSE);
}

static void
native_online (SimPrinter *printer)
{
  g_autofree char *cmd = topic_for (printer, "cmd");

  sim_mqtt_subscribe (printer->mqtt, cmd, 1);
  publish_presence (printer, TRUE, NULL);
  publish_files (printer);
}

static void
native_offline (SimPrinter *printer)
{
  publish_presence (printer, FALSE, "shutdown");
}

static void
reply (SimPrinter *printer,
       const char *id,
       GError     *error)
{
  g_autofree char *topic = topic_for (printer, "reply");
  g_autofree char *id_json = sim_json_string (id);
  g_autofree char *error_json = sim_json_string (error != NULL ? error->message : NULL);
  g_autofree char *payload = g_strdup_printf ("{\"v\":1,\"id\":%s,\"ok\":%s,\"error\":%s}",
                                              id_json, error == NULL ? "true" : "false", error_json);

  sim_printer_publish (printer, topic, payload, 1, FALSE);
}

/* The incident's "download": the real attack told printers to fetch a file
 * from a server that was not the vendor's. The simulator's printers do not
 * reach outside; the content comes with the order (see sim-farm.c). */
static GBytes *
content_for_download (const char *url)
{
  if (url != NULL && strstr (url, "message.txt") != NULL)
    return sim_gcode_incident_readme ();

  return sim_gcode_incident_gcode ();
}

static gboolean
native_handle_message (SimPrinter *printer,
                       const char *topic,
                       GBytes     *payload)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *object;
  const char *command;
  const char *id;
  const char *file;

  if (!json_parser_load_from_data (parser, g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), &error) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_clear_error (&error);
      g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "The command is not a JSON object");
      reply (printer, NULL, error);
      return FALSE;
    }

  object = json_node_get_object (json_parser_get_root (parser));
  command = json_object_get_string_member_with_default (object, "command", "");
  id = json_object_get_string_member_with_default (object, "id", NULL);
  file = json_object_get_string_member_with_default (object, "file", NULL);

  if (g_str_equal (command, "pause"))
    sim_printer_pause (printer, &error);
  else if (g_str_equal (command, "resume"))
    sim_printer_resume (printer, &error);
  else if (g_str_equal (command, "cancel"))
    sim_printer_cancel (printer, &error);
  else if (g_str_equal (command, "report"))
    {
      /* docs/protocol.md: everything retained, again, for a console that
       * could not get it from the broker. */
      publish_presence (printer, TRUE, NULL);
      native_publish_status (printer, TRUE);
      publish_files (printer);
    }
  else if (g_str_equal (command, "heaters_off"))
    sim_printer_run_gcode (printer, "M104 S0\nM140 S0");
  else if (g_str_equal (command, "gcode"))
    sim_printer_run_gcode (printer, json_object_get_string_member_with_default (object, "gcode", ""));
  else if (g_str_equal (command, "start") && file != NULL)
    sim_printer_start_job (printer, file, &error);
  else if (g_str_equal (command, "delete") && file != NULL)
    sim_printer_delete_file (printer, file, &error);
  else if (g_str_equal (command, "job") && file != NULL)
    {
      /* docs/protocol.md: a signed job, its content inline in base64. A
       * real printer verifies it again; the simulator stores and prints. */
      const char *content = json_object_get_string_member_with_default (object, "content", NULL);
      gsize length = 0;
      g_autofree guchar *data = content != NULL ? g_base64_decode (content, &length) : NULL;

      if (data == NULL || length == 0 ||
          json_object_get_string_member_with_default (object, "signature", NULL) == NULL)
        g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "A job needs its content and its signature");
      else if (sim_printer_is_busy (printer))
        g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_BUSY, "The printer is busy");
      else
        {
          g_autoptr(GBytes) bytes = g_bytes_new_take (g_steal_pointer (&data), length);

          sim_printer_add_file (printer, file, bytes);
          sim_printer_start_job (printer, file, &error);
        }
    }
  else if (g_str_equal (command, "download") && file != NULL)
    {
      g_autoptr(GBytes) content = content_for_download (json_object_get_string_member_with_default (object, "url", NULL));

      sim_printer_add_file (printer, file, content);
    }
  else
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "Unknown command “%s”", command);

  reply (printer, id, error);
  return error == NULL;
}

static void
native_files_changed (SimPrinter *printer,
                      const char *action,
                      SimFile    *file)
{
  publish_event (printer, g_str_equal (action, "delete_file") ? "file_removed" : "file_added",
                 file->name, file->sha256 != NULL ? "sha256" : NULL, file->sha256);
  publish_files (printer);
}

static void
native_job_event (SimPrinter *printer,
                  const char *event)
{
  g_autofree char *type = g_strconcat ("job_", event, NULL);

  publish_event (printer, type, printer->job_file, NULL, NULL);
}

static void
native_gcode (SimPrinter *printer,
              const char *type,
              const char *message)
{
  if (g_str_equal (type, "command"))
    publish_event (printer, "command", NULL, "gcode", message);
}

const SimDialectClass sim_dialect_native = {
  .name = "native",
  .setup = native_setup,
  .online = native_online,
  .offline = native_offline,
  .publish_status = native_publish_status,
  .handle_message = native_handle_message,
  .files_changed = native_files_changed,
  .job_event = native_job_event,
  .gcode = native_gcode,
};
