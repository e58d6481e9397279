/* sim-dialect-moonraker.c: Klipper through Moonraker's [mqtt] component
 *
 * As Moonraker (Arksine/moonraker d5ee171) does it, per
 * shared/reference/moonraker.md:
 * - `{instance}/moonraker/status` retained, `{"server":"online"}`, with
 *   `{"server":"offline"}` as the will and on a clean shutdown;
 * - `{instance}/klipper/status`: the full subscription result first, then
 *   diffs of only the fields that changed, compact JSON, Klipper's
 *   monotonic `eventtime`;
 * - JSON-RPC 2.0 on `{instance}/moonraker/api/request`, answers on the
 *   shared `{instance}/moonraker/api/response`, matched by id; no answer
 *   to a request without id; `mqtt_timestamp` de-duplication over the last
 *   20; methods that Moonraker keeps off MQTT answer -32601;
 * - no notify_* over MQTT: those go to WebSocket clients (sim-http.c).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "sim-farm.h"

#define EVENTTIME_BASE 578243.57824499
#define N_TIMESTAMPS   20

/* What was published last, to send only what changed */
typedef struct
{
  char    *webhooks_state;
  char    *print_state;
  char    *filename;
  char    *message;
  double   extruder_temperature;
  double   extruder_target;
  double   bed_temperature;
  double   bed_target;
  double   progress;
  double   print_duration;
  double   total_duration;
  guint    current_layer;
  guint    total_layer;
  gboolean is_active;
} Published;

typedef struct
{
  char      *status_topic;     /* {instance}/moonraker/status: the will */
  Published  last;
  gint64     timestamps[N_TIMESTAMPS];
  guint      n_timestamps;
} Moonraker;

static void
published_clear (Published *published)
{
  g_free (published->webhooks_state);
  g_free (published->print_state);
  g_free (published->filename);
  g_free (published->message);
  memset (published, 0, sizeof *published);
}

static void
moonraker_free (gpointer data)
{
  Moonraker *self = data;

  g_free (self->status_topic);
  published_clear (&self->last);
  g_free (self);
}

static Moonraker *
get (SimPrinter *printer)
{
  return printer->dialect_data;
}

static char *
topic_for (SimPrinter *printer,
           const char *leaf)
{
  /* instance_name is the printer's id */
  return g_strconcat (printer->id, "/", leaf, NULL);
}

static void
moonraker_setup (SimPrinter     *printer,
                 SimMqttOptions *options)
{
  Moonraker *self = g_new0 (Moonraker, 1);

  self->status_topic = topic_for (printer, "moonraker/status");
  printer->dialect_data = self;
  printer->dialect_data_free = moonraker_free;

  options->will_topic = self->status_topic;
  options->will_payload = "{\"server\":\"offline\"}";
  options->will_retained = TRUE;
  options->will_qos = 0;
}

static double
eventtime (SimPrinter *printer)
{
  return EVENTTIME_BASE + sim_farm_get_time (printer->farm);
}

static const char *
print_stats_state (SimPrinter *printer)
{
  switch (printer->state)
    {
    case SIM_STATE_HEATING:
    case SIM_STATE_PRINTING:
      return "printing";
    case SIM_STATE_PAUSED:
      return "paused";
    case SIM_STATE_FINISHED:
      return "complete";
    case SIM_STATE_CANCELLED:
      return "cancelled";
    case SIM_STATE_ERROR:
      return "error";
    case SIM_STATE_IDLE:
    case SIM_STATE_OFFLINE:
    default:
      return "standby";
    }
}

static double
round2 (double value)
{
  return round (value * 100.0) / 100.0;
}

/* Appends `"obj":{…}` with the fields that changed, if any. */
typedef struct
{
  GString  *out;
  gboolean  full;
  guint     n_objects;
  guint     n_fields;
} Diff;

static void
begin_object (Diff       *diff,
              const char *name)
{
  g_string_append_printf (diff->out, "%s\"%s\":{", diff->n_objects > 0 ? "," : "", name);
  diff->n_fields = 0;
}

static void
end_object (Diff  *diff,
            gsize  start)
{
  if (diff->n_fields == 0)
    g_string_truncate (diff->out, start);
  else
    {
      g_string_append_c (diff->out, '}');
      diff->n_objects++;
    }
}

static void
field_double (Diff       *diff,
              const char *name,
              double     *last,
              double      value)
{
  g_autofree char *text = NULL;

  value = round2 (value);
  if (!diff->full && *last == value)
    return;
  *last = value;

  text = sim_json_number (value);
  g_string_append_printf (diff->out, "%s\"%s\":%s", diff->n_fields++ > 0 ? "," : "", name, text);
}

static void
field_string (Diff        *diff,
              const char  *name,
              char       **last,
              const char  *value)
{
  g_autofree char *json = NULL;

  if (!diff->full && g_strcmp0 (*last, value) == 0)
    return;
  g_free (*last);
  *last = g_strdup (value);

  json = sim_json_string (value);
  g_string_append_printf (diff->out, "%s\"%s\":%s", diff->n_fields++ > 0 ? "," : "", name, json);
}

static void
field_bool (Diff       *diff,
            const char *name,
            gboolean   *last,
            gboolean    value)
{
  if (!diff->full && *last == value)
    return;
  *last = value;

  g_string_append_printf (diff->out, "%s\"%s\":%s", diff->n_fields++ > 0 ? "," : "", name, value ? "true" : "false");
}

static char *
build_status (SimPrinter *printer,
              Published  *self,
              gboolean    full)
{
  gboolean active = printer->state == SIM_STATE_PRINTING || printer->state == SIM_STATE_HEATING;
  double progress = sim_printer_get_progress (printer);
  const char *filename = printer->job_file != NULL && printer->state != SIM_STATE_IDLE ? printer->job_file : "";
  Diff diff = { g_string_new (NULL), full, 0, 0 };
  gsize start;
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append_printf (diff.out, "{\"eventtime\":%s,\"status\":{",
                          g_ascii_formatd (buffer, sizeof buffer, "%.8f", eventtime (printer)));

  start = diff.out->len;
  begin_object (&diff, "webhooks");
  field_string (&diff, "state", &self->webhooks_state, printer->state == SIM_STATE_ERROR ? "shutdown" : "ready");
  if (diff.n_fields > 0)
    g_string_append_printf (diff.out, ",\"state_message\":\"%s\"",
                            printer->state == SIM_STATE_ERROR ? "Shutdown due to webhooks request" : "Printer is ready");
  end_object (&diff, start);

  start = diff.out->len;
  begin_object (&diff, "print_stats");
  field_string (&diff, "filename", &self->filename, filename);
  field_double (&diff, "total_duration", &self->total_duration, printer->total_elapsed);
  field_double (&diff, "print_duration", &self->print_duration, printer->job_elapsed);
  field_string (&diff, "state", &self->print_state, print_stats_state (printer));
  field_string (&diff, "message", &self->message, printer->error_text != NULL ? printer->error_text : "");
  if (full || self->current_layer != printer->layer || self->total_layer != printer->layers)
    {
      self->current_layer = printer->layer;
      self->total_layer = printer->layers;
      if (printer->job_file != NULL)
        g_string_append_printf (diff.out, "%s\"info\":{\"total_layer\":%u,\"current_layer\":%u}",
                                diff.n_fields++ > 0 ? "," : "", printer->layers, printer->layer);
      else
        g_string_append_printf (diff.out, "%s\"info\":{\"total_layer\":null,\"current_layer\":null}",
                                diff.n_fields++ > 0 ? "," : "");
    }
  end_object (&diff, start);

  start = diff.out->len;
  begin_object (&diff, "extruder");
  field_double (&diff, "temperature", &self->extruder_temperature, printer->hotend);
  field_double (&diff, "target", &self->extruder_target, printer->hotend_target);
  end_object (&diff, start);

  start = diff.out->len;
  begin_object (&diff, "heater_bed");
  field_double (&diff, "temperature", &self->bed_temperature, printer->bed);
  field_double (&diff, "target", &self->bed_target, printer->bed_target);
  end_object (&diff, start);

  start = diff.out->len;
  begin_object (&diff, "virtual_sdcard");
  field_double (&diff, "progress", &self->progress, progress);
  field_bool (&diff, "is_active", &self->is_active, active);
  end_object (&diff, start);

  g_string_append (diff.out, "}}");

  if (diff.n_objects == 0)
    {
      g_string_free (diff.out, TRUE);
      return NULL;
    }

  return g_string_free (diff.out, FALSE);
}

static void
moonraker_publish_status (SimPrinter *printer,
                          gboolean    full)
{
  g_autofree char *payload = build_status (printer, &get (printer)->last, full);
  g_autofree char *topic = NULL;

  /* Klipper pushes only when something changed. */
  if (payload == NULL)
    return;

  topic = topic_for (printer, "klipper/status");
  sim_printer_publish (printer, topic, payload, 0, FALSE);
}

static void
moonraker_online (SimPrinter *printer)
{
  g_autofree char *request = topic_for (printer, "moonraker/api/request");

  sim_printer_publish (printer, get (printer)->status_topic, "{\"server\":\"online\"}", 0, TRUE);
  sim_mqtt_subscribe (printer->mqtt, request, 0);
}

static void
moonraker_offline (SimPrinter *printer)
{
  sim_printer_publish (printer, get (printer)->status_topic, "{\"server\":\"offline\"}", 0, TRUE);
}

/* JSON-RPC */

static int
compare_paths (gconstpointer a,
               gconstpointer b)
{
  const SimFile *file_a = *(SimFile * const *)a;
  const SimFile *file_b = *(SimFile * const *)b;
  g_autofree char *fold_a = g_utf8_casefold (file_a->name, -1);
  g_autofree char *fold_b = g_utf8_casefold (file_b->name, -1);

  return strcmp (fold_a, fold_b);
}

static char *
files_list_json (SimPrinter *printer)
{
  g_autoptr(GPtrArray) sorted = g_ptr_array_copy (printer->files, NULL, NULL);
  GString *out = g_string_new ("[");

  /* The copy would inherit the free function: it only borrows. */
  g_ptr_array_set_free_func (sorted, NULL);
  g_ptr_array_sort (sorted, compare_paths);
  for (guint i = 0; i < sorted->len; i++)
    {
      SimFile *file = g_ptr_array_index (sorted, i);
      g_autofree char *path = sim_json_string (file->name);

      g_string_append_printf (out, "%s{\"path\":%s,\"modified\":%" G_GINT64_FORMAT ".0,\"size\":%" G_GSIZE_FORMAT
                              ",\"permissions\":\"rw\"}",
                              i > 0 ? "," : "", path, file->modified, g_bytes_get_size (file->content));
    }
  g_string_append_c (out, ']');

  return g_string_free (out, FALSE);
}

static char *
gcode_store_json (SimPrinter *printer,
                  gint64      count)
{
  GString *out = g_string_new ("{\"gcode_store\":[");
  guint first = 0;

  if (count >= 0 && (guint64)count < printer->gcode_store->len)
    first = printer->gcode_store->len - (guint)count;

  for (guint i = first; i < printer->gcode_store->len; i++)
    {
      SimGcodeEntry *entry = g_ptr_array_index (printer->gcode_store, i);
      g_autofree char *message = sim_json_string (entry->message);
      char buffer[G_ASCII_DTOSTR_BUF_SIZE];

      g_string_append_printf (out, "%s{\"message\":%s,\"time\":%s,\"type\":\"%s\"}",
                              i > first ? "," : "", message,
                              g_ascii_formatd (buffer, sizeof buffer, "%.3f", entry->time), entry->type);
    }
  g_string_append (out, "]}");

  return g_string_free (out, FALSE);
}

static gboolean
seen_timestamp (Moonraker *self,
                gint64     timestamp)
{
  guint n = MIN (self->n_timestamps, N_TIMESTAMPS);

  for (guint i = 0; i < n; i++)
    {
      if (self->timestamps[i] == timestamp)
        return TRUE;
    }

  self->timestamps[self->n_timestamps++ % N_TIMESTAMPS] = timestamp;
  return FALSE;
}

static char *
call_method (SimPrinter *printer,
             const char *method,
             JsonObject *params,
             JsonNode   *id)
{
  g_autoptr(GError) error = NULL;

  if (g_str_equal (method, "server.files.list"))
    {
      const char *root = params != NULL ? json_object_get_string_member_with_default (params, "root", "gcodes") : "gcodes";
      g_autofree char *list = NULL;

      if (!g_str_equal (root, "gcodes"))
        return sim_jsonrpc_result (id, "[]");
      list = files_list_json (printer);
      return sim_jsonrpc_result (id, list);
    }

  if (g_str_equal (method, "server.gcode_store"))
    {
      gint64 count = params != NULL ? json_object_get_int_member_with_default (params, "count", -1) : -1;
      g_autofree char *store = gcode_store_json (printer, count);

      return sim_jsonrpc_result (id, store);
    }

  if (g_str_equal (method, "printer.gcode.script"))
    {
      const char *script = params != NULL ? json_object_get_string_member_with_default (params, "script", NULL) : NULL;

      if (script == NULL)
        return sim_jsonrpc_error (id, -32602, "Invalid params: script");
      sim_printer_run_gcode (printer, script);
      return sim_jsonrpc_result (id, "\"ok\"");
    }

  if (g_str_equal (method, "printer.print.start"))
    {
      const char *filename = params != NULL ? json_object_get_string_member_with_default (params, "filename", NULL) : NULL;

      if (filename == NULL)
        return sim_jsonrpc_error (id, -32602, "Invalid params: filename");
      while (*filename == '/')
        filename++;
      if (!sim_printer_start_job (printer, filename, &error))
        return sim_jsonrpc_error (id, 400, error->message);
      return sim_jsonrpc_result (id, "\"ok\"");
    }

  if (g_str_equal (method, "printer.print.pause") ||
      g_str_equal (method, "printer.print.resume") ||
      g_str_equal (method, "printer.print.cancel"))
    {
      gboolean ok;

      if (g_str_has_suffix (method, "pause"))
        ok = sim_printer_pause (printer, &error);
      else if (g_str_has_suffix (method, "resume"))
        ok = sim_printer_resume (printer, &error);
      else
        ok = sim_printer_cancel (printer, &error);

      if (!ok)
        return sim_jsonrpc_error (id, 400, error->message);
      return sim_jsonrpc_result (id, "\"ok\"");
    }

  if (g_str_equal (method, "printer.emergency_stop"))
    {
      sim_printer_run_gcode (printer, "M112");
      printer->hotend_target = 0;
      printer->bed_target = 0;
      printer->state = SIM_STATE_ERROR;
      g_free (printer->error_text);
      printer->error_text = g_strdup ("Shutdown due to webhooks request");
      return sim_jsonrpc_result (id, "\"ok\"");
    }

  if (g_str_equal (method, "printer.objects.query"))
    {
      /* The same shape as the status topic: the whole current state. */
      Published scratch = { 0 };
      g_autofree char *status = build_status (printer, &scratch, TRUE);

      published_clear (&scratch);
      return sim_jsonrpc_result (id, status);
    }

  /* Registered for WebSocket and HTTP only (file_manager.py, authorization.py, mqtt.py). */
  if (g_str_equal (method, "server.files.delete_file") ||
      g_str_has_prefix (method, "access.") ||
      g_str_equal (method, "server.mqtt.publish") ||
      g_str_equal (method, "server.mqtt.subscribe") ||
      g_str_equal (method, "server.connection.identify") ||
      g_str_equal (method, "server.websocket.id"))
    return sim_jsonrpc_error (id, -32601, "Method not found for transport MQTT");

  return sim_jsonrpc_error (id, -32601, "Method not found");
}

static char *
process_request (SimPrinter *printer,
                 JsonNode   *request)
{
  JsonObject *object;
  JsonNode *id;
  JsonNode *params_node;
  JsonObject *params = NULL;
  const char *method;

  if (!JSON_NODE_HOLDS_OBJECT (request))
    return sim_jsonrpc_error (NULL, -32600, "Invalid Request");

  object = json_node_get_object (request);
  id = json_object_get_member (object, "id");

  if (g_strcmp0 (json_object_get_string_member_with_default (object, "jsonrpc", NULL), "2.0") != 0)
    return sim_jsonrpc_error (id, -32600, "Invalid Request");

  method = json_object_get_string_member_with_default (object, "method", NULL);
  if (method == NULL)
    return sim_jsonrpc_error (id, -32600, "Invalid Request");

  params_node = json_object_get_member (object, "params");
  if (params_node != NULL)
    {
      if (!JSON_NODE_HOLDS_OBJECT (params_node))
        return sim_jsonrpc_error (id, -32602, "Invalid params:");
      params = json_node_get_object (params_node);

      if (json_object_has_member (params, "mqtt_timestamp"))
        {
          gint64 timestamp = json_object_get_int_member (params, "mqtt_timestamp");

          json_object_remove_member (params, "mqtt_timestamp");
          if (seen_timestamp (get (printer), timestamp))
            return sim_jsonrpc_error (id, -10000, "Duplicate MQTT Request");
        }
    }

  {
    char *response = call_method (printer, method, params, id);

    /* A request without an id is run, and answered by nothing. */
    if (id == NULL)
      {
        g_free (response);
        return NULL;
      }

    return response;
  }
}

static gboolean
moonraker_handle_message (SimPrinter *printer,
                          const char *topic,
                          GBytes     *payload)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *response_topic = topic_for (printer, "moonraker/api/response");
  g_autofree char *response = NULL;
  JsonNode *root;

  if (!json_parser_load_from_data (parser, g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), NULL))
    response = sim_jsonrpc_error (NULL, -32700, "Parse error");
  else if (JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)))
    {
      JsonArray *batch = json_node_get_array (json_parser_get_root (parser));
      GString *out = g_string_new ("[");
      guint n = 0;

      for (guint i = 0; i < json_array_get_length (batch); i++)
        {
          g_autofree char *one = process_request (printer, json_array_get_element (batch, i));

          if (one != NULL)
            g_string_append_printf (out, "%s%s", n++ > 0 ? "," : "", one);
        }
      g_string_append_c (out, ']');
      response = g_string_free (out, FALSE);
    }
  else
    {
      root = json_parser_get_root (parser);
      response = process_request (printer, root);
    }

  if (response != NULL)
    sim_printer_publish (printer, response_topic, response, 0, FALSE);

  return TRUE;
}

/* WebSocket notifications */

static void
moonraker_files_changed (SimPrinter *printer,
                         const char *action,
                         SimFile    *file)
{
  g_autofree char *path = sim_json_string (file->name);
  g_autofree char *modified = NULL;
  g_autofree char *json = NULL;
  gboolean deleted = g_str_equal (action, "delete_file");

  /* An upload over an existing file is still "create_file" for Moonraker;
   * the item's keys in the order get_path_info builds them, modified a float. */
  if (g_str_equal (action, "modify_file"))
    action = "create_file";
  modified = sim_json_number (deleted ? 0.0 : (double)file->modified);

  json = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"method\":\"notify_filelist_changed\",\"params\":"
                          "[{\"action\":\"%s\",\"item\":{\"modified\":%s,\"size\":%" G_GSIZE_FORMAT
                          ",\"permissions\":\"%s\",\"path\":%s,\"root\":\"gcodes\"}}]}",
                          action, modified,
                          deleted ? 0 : g_bytes_get_size (file->content),
                          deleted ? "" : "rw", path);
  sim_printer_notify (printer, json);
}

static void
moonraker_gcode (SimPrinter *printer,
                 const char *type,
                 const char *message)
{
  g_autofree char *text = NULL;
  g_autofree char *json = NULL;

  if (!g_str_equal (type, "response"))
    return;

  text = sim_json_string (message);
  json = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"method\":\"notify_gcode_response\",\"params\":[%s]}", text);
  sim_printer_notify (printer, json);
}

const SimDialectClass sim_dialect_moonraker = {
  .name = "moonraker",
  .setup = moonraker_setup,
  .online = moonraker_online,
  .offline = moonraker_offline,
  .publish_status = moonraker_publish_status,
  .handle_message = moonraker_handle_message,
  .files_changed = moonraker_files_changed,
  .gcode = moonraker_gcode,
};
