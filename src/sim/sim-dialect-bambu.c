/* sim-dialect-bambu.c: a Bambu Lab printer in LAN mode
 *
 * As the printers speak, per shared/reference/bambu-anycubic.md part A:
 * - `device/<serial>/report` carries `{"print":{…,"command":"push_status",
 *   "msg":0|1,"sequence_id":"<n>"}}`: X1 printers send the full object
 *   each time, the others a full one on `pushall` and then only the fields
 *   that changed (`msg` 1);
 * - `device/<serial>/request` takes `pushing.pushall`, `pushing.start`,
 *   `info.get_version`, `print.stop|pause|resume`, `print.gcode_line` and
 *   `print.project_file`; each is acknowledged on `report` with the same
 *   envelope, the request's `sequence_id` and `"result":"success"`;
 * - temperatures in °C, `mc_remaining_time` in minutes, `mc_percent` 0–100,
 *   `sequence_id` a string in push_status.
 *
 * The printer is its own broker (MQTT over TLS, user `bblp`, the access
 * code as password): drover-sim starts one mosquitto per Bambu printer
 * (sim-bambu-broker.c) and the firmware publishes into it from inside;
 * with --bambu-on-farm-broker it publishes on the farm's broker instead.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "sim-farm.h"

typedef struct
{
  gboolean full_each_time;   /* X1 series */
  double   nozzle;
  double   nozzle_target;
  double   bed;
  double   bed_target;
  int      percent;
  int      remaining;
  char    *state;
  char    *file;
  guint    layer;
  guint    layers;
} Bambu;

static void
bambu_free (gpointer data)
{
  Bambu *self = data;

  g_free (self->state);
  g_free (self->file);
  g_free (self);
}

static Bambu *
get (SimPrinter *printer)
{
  return printer->dialect_data;
}

static char *
topic_for (SimPrinter *printer,
           const char *leaf)
{
  return g_strconcat ("device/", printer->serial, "/", leaf, NULL);
}

static void
bambu_setup (SimPrinter     *printer,
             SimMqttOptions *options)
{
  Bambu *self = g_new0 (Bambu, 1);

  self->full_each_time = strstr (printer->name, "X1") != NULL;
  printer->dialect_data = self;
  printer->dialect_data_free = bambu_free;

}

static const char *
gcode_state (SimPrinter *printer)
{
  switch (printer->state)
    {
    case SIM_STATE_HEATING:
      return "PREPARE";
    case SIM_STATE_PRINTING:
      return "RUNNING";
    case SIM_STATE_PAUSED:
      return "PAUSE";
    case SIM_STATE_FINISHED:
      return "FINISH";
    case SIM_STATE_ERROR:
    case SIM_STATE_CANCELLED:
      return "FAILED";
    case SIM_STATE_IDLE:
    case SIM_STATE_OFFLINE:
    default:
      return "IDLE";
    }
}

static void
append_number (GString    *out,
               guint      *n,
               const char *name,
               double      value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append_printf (out, "%s\"%s\":%s", (*n)++ > 0 ? "," : "", name,
                          g_ascii_formatd (buffer, sizeof buffer, "%.5g", value));
}

static void
append_string (GString    *out,
               guint      *n,
               const char *name,
               const char *value)
{
  g_autofree char *json = sim_json_string (value);

  g_string_append_printf (out, "%s\"%s\":%s", (*n)++ > 0 ? "," : "", name, json);
}

static void
publish_report (SimPrinter *printer,
                gboolean    full)
{
  Bambu *self = get (printer);
  g_autofree char *topic = topic_for (printer, "report");
  GString *out = g_string_new ("{\"print\":{");
  gboolean busy = printer->job_file != NULL && printer->state != SIM_STATE_IDLE;
  int percent = busy ? (int)floor (sim_printer_get_progress (printer) * 100) : 0;
  gint64 remaining_s = sim_printer_get_remaining (printer);
  int remaining = remaining_s >= 0 ? (int)((remaining_s + 59) / 60) : 0;
  double nozzle = round (printer->hotend * 4) / 4;
  double bed = round (printer->bed * 32) / 32;
  const char *state = gcode_state (printer);
  const char *file = busy ? printer->job_file : "";
  guint n = 0;

  full = full || self->full_each_time;

  if (full || nozzle != self->nozzle)
    append_number (out, &n, "nozzle_temper", self->nozzle = nozzle);
  if (full || printer->hotend_target != self->nozzle_target)
    append_number (out, &n, "nozzle_target_temper", self->nozzle_target = printer->hotend_target);
  if (full || bed != self->bed)
    append_number (out, &n, "bed_temper", self->bed = bed);
  if (full || printer->bed_target != self->bed_target)
    append_number (out, &n, "bed_target_temper", self->bed_target = printer->bed_target);
  if (full)
    append_number (out, &n, "chamber_temper", 24);
  if (full || g_strcmp0 (state, self->state) != 0)
    {
      g_free (self->state);
      self->state = g_strdup (state);
      append_string (out, &n, "gcode_state", state);
      append_string (out, &n, "mc_print_stage", printer->state == SIM_STATE_PRINTING ? "2" : "1");
      append_string (out, &n, "print_type", busy ? "local" : "idle");
      append_number (out, &n, "print_error", printer->state == SIM_STATE_CANCELLED ? 50348044 : 0);
    }
  if (full || percent != self->percent)
    append_number (out, &n, "mc_percent", self->percent = percent);
  if (full || remaining != self->remaining)
    append_number (out, &n, "mc_remaining_time", self->remaining = remaining);
  if (full || g_strcmp0 (file, self->file) != 0)
    {
      g_free (self->file);
      self->file = g_strdup (file);
      append_string (out, &n, "gcode_file", file);
      append_string (out, &n, "subtask_name", busy ? printer->job_file : "");
    }
  if (full || printer->layer != self->layer || printer->layers != self->layers)
    {
      append_number (out, &n, "layer_num", self->layer = printer->layer);
      append_number (out, &n, "total_layer_num", self->layers = printer->layers);
    }
  if (full)
    {
      g_string_append (out, ",\"hms\":[],\"wifi_signal\":\"-53dBm\",\"sdcard\":true,\"home_flag\":224478464");
    }

  /* A P1 with nothing new still sends an empty delta now and then: skip it. */
  if (n == 0)
    {
      g_string_free (out, TRUE);
      return;
    }

  g_string_append_printf (out, ",\"command\":\"push_status\",\"msg\":%d,\"sequence_id\":\"%u\"}}",
                          full ? 0 : 1, ++printer->sequence);
  sim_printer_publish (printer, topic, out->str, 0, FALSE);
  g_string_free (out, TRUE);
}

static void
bambu_publish_status (SimPrinter *printer,
                      gboolean    full)
{
  publish_report (printer, full);
}

static void
bambu_online (SimPrinter *printer)
{
  g_autofree char *request = topic_for (printer, "request");

  sim_mqtt_subscribe (printer->mqtt, request, 0);
}

static void
acknowledge (SimPrinter *printer,
             const char *type,
             JsonObject *request,
             GError     *error)
{
  g_autofree char *topic = topic_for (printer, "report");
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonObject) reply = json_object_new ();
  g_autoptr(JsonObject) body = json_object_new ();
  g_autofree char *payload = NULL;
  GList *members = json_object_get_members (request);

  /* "All parameters from the original command", then the verdict. */
  for (GList *l = members; l != NULL; l = l->next)
    json_object_set_member (body, l->data, json_node_copy (json_object_get_member (request, l->data)));
  g_list_free (members);

  json_object_set_string_member (body, "result", error == NULL ? "success" : "failed");
  if (error != NULL)
    json_object_set_string_member (body, "reason", error->message);

  json_object_set_object_member (reply, type, g_steal_pointer (&body));
  json_node_set_object (node, reply);
  payload = json_to_string (node, FALSE);

  sim_printer_publish (printer, topic, payload, 0, FALSE);
}

static char *
file_from_project (JsonObject *request)
{
  const char *url = json_object_get_string_member_with_default (request, "url", "");
  const char *subtask = json_object_get_string_member_with_default (request, "subtask_name", "");

  if (g_str_has_prefix (url, "file:///sdcard/"))
    return g_strdup (url + strlen ("file:///sdcard/"));
  if (g_str_has_prefix (url, "ftp:///"))
    return g_strdup (url + strlen ("ftp:///"));
  if (subtask[0] != '\0')
    return g_strdup (subtask);

  return NULL;
}

static gboolean
bambu_handle_message (SimPrinter *printer,
                      const char *topic,
                      GBytes     *payload)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root;
  JsonObject *request;
  const char *command;

  if (!json_parser_load_from_data (parser, g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return FALSE;

  root = json_node_get_object (json_parser_get_root (parser));

  if (json_object_has_member (root, "pushing") &&
      (request = json_object_get_object_member (root, "pushing")) != NULL)
    {
      command = json_object_get_string_member_with_default (request, "command", "");
      if (g_str_equal (command, "pushall") || g_str_equal (command, "start"))
        publish_report (printer, TRUE);
      return TRUE;
    }

  if (json_object_has_member (root, "info") &&
      (request = json_object_get_object_member (root, "info")) != NULL)
    {
      g_autofree char *report = topic_for (printer, "report");
      g_autofree char *sn = sim_json_string (printer->serial);
      g_autofree char *product = sim_json_string (printer->name);
      g_autofree char *reply = g_strdup_printf ("{\"info\":{\"command\":\"get_version\",\"sequence_id\":\"0\","
                                                "\"module\":[{\"name\":\"ota\",\"project_name\":\"C12\",\"sw_ver\":\"01.08.02.00\","
                                                "\"hw_ver\":\"OTA\",\"sn\":%s,\"product_name\":%s},"
                                                "{\"name\":\"mc\",\"sw_ver\":\"00.00.30.24\",\"hw_ver\":\"MC07\",\"sn\":%s}],"
                                                "\"result\":\"success\",\"reason\":\"\"}}",
                                                sn, product, sn);

      sim_printer_publish (printer, report, reply, 0, FALSE);
      return TRUE;
    }

  if (!json_object_has_member (root, "print") ||
      (request = json_object_get_object_member (root, "print")) == NULL)
    return FALSE;

  command = json_object_get_string_member_with_default (request, "command", "");
  if (g_str_equal (command, "pause"))
    sim_printer_pause (printer, &error);
  else if (g_str_equal (command, "resume"))
    sim_printer_resume (printer, &error);
  else if (g_str_equal (command, "stop"))
    sim_printer_cancel (printer, &error);
  else if (g_str_equal (command, "gcode_line"))
    sim_printer_run_gcode (printer, json_object_get_string_member_with_default (request, "param", ""));
  else if (g_str_equal (command, "project_file") || g_str_equal (command, "gcode_file"))
    {
      g_autofree char *file = g_str_equal (command, "gcode_file")
                              ? g_strdup (json_object_get_string_member_with_default (request, "param", ""))
                              : file_from_project (request);

      if (file == NULL || !sim_printer_start_job (printer, file, &error))
        {
          if (error == NULL)
            g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no file named");
        }
    }
  else
    return FALSE;

  acknowledge (printer, "print", request, error);
  return TRUE;
}

const SimDialectClass sim_dialect_bambu = {
  .name = "bambu",
  .setup = bambu_setup,
  .online = bambu_online,
  .publish_status = bambu_publish_status,
  .handle_message = bambu_handle_message,
};
