/* sim-dialect-anycubic.c: an Anycubic printer, on the cloud or in LAN mode
 *
 * As the printers speak, per shared/reference/bambu-anycubic.md part B:
 * - reports on `anycubic/anycubicCloud/v1/printer/public/<model>/<id>/<type>/report`,
 *   each the envelope `{"type","action","msgid","state","timestamp","code",
 *   "msg","data"}` in kobra-unleashed's order (B3);
 * - `lastWill`/`onlineReport` `online` on connecting and `offline` as the
 *   will and on a clean shutdown; `status`/`workReport` `free`/`busy`;
 *   `tempature` (sic)/`auto`/`done` with the four whole-degree temperatures;
 *   `print` through `downloading`, `checking`, `preheating`, `printing`,
 *   `paused`/`resumed`, `finished`, `stoped` (sic) and `failed` (the reason
 *   in the top-level `msg`), with `progress` (%), `curr_layer`,
 *   `total_layers`, `print_time` and `remain_time` (minutes) (B4);
 * - `file`/`listLocal` and `listUdisk` replies with `records[]` of
 *   `{filename, timestamp, size, is_dir}`, `deleteLocal`/`deleteUdisk`
 *   answered `success`;
 * - orders on `anycubic/anycubicCloud/v1/server/printer/<model>/<id>/…`
 *   (Kobra 2 on the cloud: kobra-unleashed adds `<type>/<action>`,
 *   K2T's MQTT_API.md only the action) or, in LAN mode,
 *   `…/slicer/printer/<model>/<id>/<type>` and `…/web/printer/…` (B2);
 *   the envelope `{"type","action","msgid","timestamp","data"}` (B5).
 *
 * A `print`/`start` with a `url` makes the printer fetch the file over HTTP,
 * store it under `filename`, check it and print it (B5, B6). The simulator
 * fetches with libsoup and only from loopback addresses: it never reaches
 * outside the machine. An `ota`/`update` is refused by the simulated
 * firmware; the order itself is what a broker shows.
 *
 * Decisions where the sources say nothing (the simulator's own):
 * - replies to an order carry the order's `msgid`; other reports a new one;
 * - `timestamp` is Unix milliseconds on the cloud (kobra-unleashed's
 *   capture) and milliseconds since the printer started in LAN mode
 *   (Rinkhals' `100107`);
 * - `status` is published before the `print` report of the same change,
 *   so that a reader that takes `free` as idle ends on the print's own
 *   verdict (`failed` stays an error);
 * - failure codes: 10101 ("task still active", Rinkhals' kobra.py) when a
 *   print is ordered on a busy printer; 200 and a sentence in `msg`
 *   otherwise;
 * - the presence reports are not retained.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <math.h>
#include <string.h>

#include "sim-farm.h"

#define ROOT "anycubic/anycubicCloud/v1/"

/* Rinkhals' kobra.py: a print ordered while another runs. */
#define CODE_TASK_ACTIVE 10101

typedef enum
{
  REPORTED_NONE,        /* no job reported since idle */
  REPORTED_CHECKING,
  REPORTED_RESUMED,
  REPORTED_STATE,       /* the sim state in reported_state */
} Reported;

typedef struct
{
  char         *report_root;   /* …/printer/public/<model>/<id>/ */
  char         *will_topic;
  char         *will_payload;
  char         *taskid;
  gboolean      taskid_ordered; /* the next job's taskid came with its order */
  gint64        started_us;    /* monotonic, for LAN timestamps */
  const char   *status;        /* last `status` published */
  int           nozzle;
  int           nozzle_target;
  int           bed;
  int           bed_target;
  Reported      reported;
  SimState      reported_state;
  int           percent;
  int           remain;
  guint         layer;
  GPtrArray    *udisk;         /* char*, the names on the USB stick */
  SoupSession  *session;       /* made on the first download */
  GCancellable *cancellable;
  guint         downloads;     /* in flight */
  gboolean      subscribed;    /* sim-mqtt subscribes again after each reconnect */
} Anycubic;

typedef struct
{
  SimPrinter  *printer;
  SoupMessage *message;
  char        *filename;
  char        *msgid;
} Download;

static void
anycubic_free (gpointer data)
{
  Anycubic *self = data;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->session);
  g_free (self->report_root);
  g_free (self->will_topic);
  g_free (self->will_payload);
  g_free (self->taskid);
  g_ptr_array_unref (self->udisk);
  g_free (self);
}

static Anycubic *
get (SimPrinter *printer)
{
  return printer->dialect_data;
}

static gboolean
is_lan (SimPrinter *printer)
{
  return printer->dialect == SIM_DIALECT_ANYCUBIC_LAN;
}

static gint64
timestamp (SimPrinter *printer)
{
  if (is_lan (printer))
    return (g_get_monotonic_time () - get (printer)->started_us) / 1000;

  return g_get_real_time () / 1000;
}

/* The report envelope, in kobra-unleashed's order. */
static char *
envelope (SimPrinter *printer,
          const char *type,
          const char *action,
          const char *msgid,
          const char *state,
          int         code,
          const char *msg,
          const char *data_json)
{
  g_autofree char *uuid = msgid == NULL ? g_uuid_string_random () : NULL;
  g_autofree char *msgid_json = sim_json_string (msgid != NULL ? msgid : uuid);
  g_autofree char *msg_json = sim_json_string (msg != NULL ? msg : "");

  return g_strdup_printf ("{\"type\":\"%s\",\"action\":\"%s\",\"msgid\":%s,\"state\":\"%s\","
                          "\"timestamp\":%" G_GINT64_FORMAT ",\"code\":%d,\"msg\":%s,\"data\":%s}",
                          type, action, msgid_json, state, timestamp (printer), code, msg_json,
                          data_json != NULL ? data_json : "null");
}

static void
report (SimPrinter *printer,
        const char *type,
        const char *action,
        const char *msgid,
        const char *state,
        int         code,
        const char *msg,
        const char *data_json)
{
  g_autofree char *topic = g_strconcat (get (printer)->report_root, type, "/report", NULL);
  g_autofree char *payload = envelope (printer, type, action, msgid, state, code, msg, data_json);

  sim_printer_publish (printer, topic, payload, 1, FALSE);
}

static void
anycubic_setup (SimPrinter     *printer,
                SimMqttOptions *options)
{
  Anycubic *self = g_new0 (Anycubic, 1);

  printer->dialect_data = self;
  printer->dialect_data_free = anycubic_free;

  self->report_root = g_strdup_printf (ROOT "printer/public/%u/%s/", printer->model_id, printer->serial);
  self->started_us = g_get_monotonic_time ();
  self->status = NULL;
  self->nozzle = self->nozzle_target = self->bed = self->bed_target = G_MININT;
  self->percent = self->remain = -1;
  self->cancellable = g_cancellable_new ();
  self->udisk = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->udisk, g_strdup ("Kobra_test_cube.gcode"));

  /* The will must outlive the options: keep it here. */
  self->will_topic = g_strconcat (self->report_root, "lastWill/report", NULL);
  self->will_payload = envelope (printer, "lastWill", "onlineReport", NULL, "offline", 200, "", NULL);
  options->will_topic = self->will_topic;
  options->will_payload = self->will_payload;
  options->will_retained = FALSE;
  options->will_qos = 1;

  /* In LAN mode the firmware logs into its own broker with the account of
   * device_account.json, as Rinkhals' tools do, over MQTT 5. */
  if (is_lan (printer) && printer->internal_uri != NULL)
    {
      options->username = printer->username;
      options->password = printer->access_code;
      options->mqtt5 = TRUE;
    }
}

static void
anycubic_online (SimPrinter *printer)
{
  static const char * const cloud_roots[] = { "server", NULL };
  static const char * const lan_roots[] = { "slicer", "web", NULL };
  const char * const *roots = is_lan (printer) ? lan_roots : cloud_roots;

  for (guint i = 0; !get (printer)->subscribed && roots[i] != NULL; i++)
    {
      g_autofree char *filter = g_strdup_printf (ROOT "%s/printer/%u/%s/#", roots[i], printer->model_id, printer->serial);

      sim_mqtt_subscribe (printer->mqtt, filter, 1);
    }
  get (printer)->subscribed = TRUE;

  report (printer, "lastWill", "onlineReport", NULL, "online", 200, "", NULL);
  get (printer)->status = NULL;
  get (printer)->reported = REPORTED_NONE;
}

static void
anycubic_offline (SimPrinter *printer)
{
  report (printer, "lastWill", "onlineReport", NULL, "offline", 200, "", NULL);
}

/* Status */

static gboolean
is_busy (SimPrinter *printer)
{
  return sim_printer_is_busy (printer) || get (printer)->downloads > 0;
}

static void
publish_work_report (SimPrinter *printer,
                     gboolean    always)
{
  Anycubic *self = get (printer);
  const char *status = is_busy (printer) ? "busy" : "free";

  if (!always && g_strcmp0 (status, self->status) == 0)
    return;

  self->status = status;
  report (printer, "status", "workReport", NULL, status, 200, "", NULL);
}

static void
publish_temperatures (SimPrinter *printer,
                      gboolean    always)
{
  Anycubic *self = get (printer);
  int nozzle = (int)lround (printer->hotend);
  int nozzle_target = (int)lround (printer->hotend_target);
  int bed = (int)lround (printer->bed);
  int bed_target = (int)lround (printer->bed_target);
  g_autofree char *data = NULL;

  if (!always && nozzle == self->nozzle && nozzle_target == self->nozzle_target &&
      bed == self->bed && bed_target == self->bed_target)
    return;

  self->nozzle = nozzle;
  self->nozzle_target = nozzle_target;
  self->bed = bed;
  self->bed_target = bed_target;

  /* kobra-unleashed's capture: whole degrees, bed first. */
  data = g_strdup_printf ("{\"curr_hotbed_temp\":%d,\"curr_nozzle_temp\":%d,"
                          "\"target_hotbed_temp\":%d,\"target_nozzle_temp\":%d}",
                          bed, nozzle, bed_target, nozzle_target);
  report (printer, "tempature", "auto", NULL, "done", 200, "", data);
}

static const char *
ensure_taskid (SimPrinter *printer)
{
  Anycubic *self = get (printer);

  if (self->taskid == NULL)
    self->taskid = g_strdup_printf ("%d", g_random_int_range (100000, 1000000000));

  return self->taskid;
}

static int
job_percent (SimPrinter *printer)
{
  if (printer->state == SIM_STATE_FINISHED)
    return 100;

  return (int)floor (sim_printer_get_progress (printer) * 100);
}

static int
job_remain (SimPrinter *printer)
{
  gint64 seconds = sim_printer_get_remaining (printer);

  return seconds >= 0 ? (int)((seconds + 59) / 60) : 0;
}

static char *
job_data (SimPrinter *printer)
{
  g_autofree char *taskid = sim_json_string (ensure_taskid (printer));
  g_autofree char *filename = sim_json_string (printer->job_file != NULL ? printer->job_file : "");
  int percent = job_percent (printer);

  return g_strdup_printf ("{\"taskid\":%s,\"filename\":%s,\"filepath\":\"/\",\"progress\":%d,"
                          "\"curr_layer\":%u,\"total_layers\":%u,\"print_time\":%d,\"remain_time\":%d,"
                          "\"supplies_usage\":%d}",
                          taskid, filename, percent, printer->layer, printer->layers,
                          (int)(printer->total_elapsed / 60), job_remain (printer),
                          (int)(percent * printer->layers / 10));
}

/* The report that says what the job is doing now, or %FALSE with none. */
static gboolean
print_words (SimPrinter  *printer,
             const char **action,
             const char **state)
{
  switch (printer->state)
    {
    case SIM_STATE_HEATING:
      *action = "start";
      *state = "preheating";
      return TRUE;
    case SIM_STATE_PRINTING:
      *action = "start";
      *state = "printing";
      return TRUE;
    case SIM_STATE_PAUSED:
      *action = "pause";
      *state = "paused";
      return TRUE;
    case SIM_STATE_FINISHED:
      *action = "start";
      *state = "finished";
      return TRUE;
    case SIM_STATE_CANCELLED:
      *action = "stop";
      *state = "stoped";
      return TRUE;
    case SIM_STATE_ERROR:
      *action = "start";
      *state = "failed";
      return printer->job_file != NULL;
    case SIM_STATE_IDLE:
    case SIM_STATE_OFFLINE:
    default:
      return FALSE;
    }
}

static void
publish_print (SimPrinter *printer,
               const char *msgid,
               const char *action,
               const char *state)
{
  Anycubic *self = get (printer);
  g_autofree char *data = job_data (printer);
  const char *msg = "";

  if (g_str_equal (state, "failed") && printer->error_text != NULL)
    msg = printer->error_text;

  self->percent = job_percent (printer);
  self->remain = job_remain (printer);
  self->layer = printer->layer;
  report (printer, "print", action, msgid, state, 200, msg, data);
}

static void
publish_job (SimPrinter *printer,
             gboolean    always)
{
  Anycubic *self = get (printer);
  const char *action;
  const char *state;
  gboolean running = printer->state == SIM_STATE_HEATING || printer->state == SIM_STATE_PRINTING;

  if (!print_words (printer, &action, &state))
    {
      /* A download in flight keeps the task its order numbered. */
      if (printer->state == SIM_STATE_IDLE && self->downloads == 0)
        {
          self->reported = REPORTED_NONE;
          g_clear_pointer (&self->taskid, g_free);
          self->taskid_ordered = FALSE;
        }
      return;
    }

  /* Once per state, and while running whenever the numbers move. */
  if (always || self->reported != REPORTED_STATE || self->reported_state != printer->state ||
      (running && (job_percent (printer) != self->percent || job_remain (printer) != self->remain ||
                   printer->layer != self->layer)))
    {
      self->reported = REPORTED_STATE;
      self->reported_state = printer->state;
      publish_print (printer, NULL, action, state);
    }
}

static void
anycubic_publish_status (SimPrinter *printer,
                         gboolean    full)
{
  publish_work_report (printer, full);
  publish_job (printer, full);
  publish_temperatures (printer, full);
}

static void
anycubic_job_event (SimPrinter *printer,
                    const char *event)
{
  Anycubic *self = get (printer);

  publish_work_report (printer, FALSE);

  if (g_str_equal (event, "started"))
    {
      /* A job from the panel (or the farm's dice) gets a number of its own. */
      if (!self->taskid_ordered)
        g_clear_pointer (&self->taskid, g_free);
      self->taskid_ordered = FALSE;
      /* The firmware checks the file before it heats. */
      self->reported = REPORTED_CHECKING;
      publish_print (printer, NULL, "start", "checking");
    }
  else if (g_str_equal (event, "resumed"))
    {
      self->reported = REPORTED_RESUMED;
      publish_print (printer, NULL, "resume", "resumed");
    }
  else
    publish_job (printer, FALSE);
}

/* Orders */

/* Members of an order, read without trusting their types. */
static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

static JsonObject *
member_object (JsonObject *object,
               const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static gboolean
member_number (JsonObject *object,
               const char *name,
               double     *value)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      (json_node_get_value_type (node) != G_TYPE_INT64 && json_node_get_value_type (node) != G_TYPE_DOUBLE))
    return FALSE;

  *value = json_node_get_double (node);
  return isfinite (*value);
}

static char *
records_json (GPtrArray *names,
              GPtrArray *files)
{
  GString *out = g_string_new ("{\"records\":[");

  for (guint i = 0; files != NULL && i < files->len; i++)
    {
      SimFile *file = g_ptr_array_index (files, i);
      g_autofree char *name = sim_json_string (file->name);

      g_string_append_printf (out, "%s{\"filename\":%s,\"timestamp\":%" G_GINT64_FORMAT ",\"size\":%" G_GSIZE_FORMAT
                              ",\"is_dir\":false}",
                              i > 0 ? "," : "", name, file->modified, g_bytes_get_size (file->content));
    }

  /* The USB stick of the simulated printer: what a farm finds plugged in. */
  for (guint i = 0; names != NULL && i < names->len; i++)
    {
      g_autofree char *name = sim_json_string (g_ptr_array_index (names, i));

      g_string_append_printf (out, "%s{\"filename\":%s,\"timestamp\":1709251200,\"size\":482133,\"is_dir\":false}",
                              i > 0 ? "," : "", name);
    }

  g_string_append (out, "]}");
  return g_string_free (out, FALSE);
}

static void
fail (SimPrinter *printer,
      const char *type,
      const char *action,
      const char *msgid,
      int         code,
      const char *message)
{
  report (printer, type, action, msgid, "failed", code, message, NULL);
}

/* A name to store a file under: relative, no "..", no empty parts. */
static gboolean
filename_is_safe (const char *name)
{
  g_auto(GStrv) parts = NULL;

  if (name == NULL || name[0] == '\0' || name[0] == '/' || strchr (name, '\\') != NULL)
    return FALSE;

  parts = g_strsplit (name, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (parts[i][0] == '\0' || g_str_equal (parts[i], ".") || g_str_equal (parts[i], ".."))
      return FALSE;

  return TRUE;
}

/* Whether the URL's host is this machine: the simulator reaches nothing else. */
static gboolean
url_is_loopback (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  g_autoptr(GInetAddress) address = NULL;
  const char *host;

  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "http") != 0 || (host = g_uri_get_host (uri)) == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (host, "localhost") == 0)
    return TRUE;

  address = g_inet_address_new_from_string (host);
  return address != NULL && g_inet_address_get_is_loopback (address);
}

/* The firmware's check: a file that holds no G-code command is not printed. */
static gboolean
looks_like_gcode (GBytes *content)
{
  gsize size;
  const char *data = g_bytes_get_data (content, &size);
  g_autofree char *head = g_strndup (data, MIN (size, 65536));
  g_auto(GStrv) lines = g_strsplit (head, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = g_strstrip (lines[i]);

      if (line[0] == '\0' || line[0] == ';')
        continue;
      return (line[0] == 'G' || line[0] == 'M' || line[0] == 'T') && g_ascii_isdigit (line[1]);
    }

  return FALSE;
}

/* An ordered task that came to nothing. */
static void
forget_task (SimPrinter *printer)
{
  g_clear_pointer (&get (printer)->taskid, g_free);
  get (printer)->taskid_ordered = FALSE;
}

static void
start_stored (SimPrinter *printer,
              const char *msgid,
              const char *filename)
{
  g_autoptr(GError) error = NULL;
  SimFile *file = sim_printer_find_file (printer, filename);

  if (file != NULL && !looks_like_gcode (file->content))
    {
      g_autofree char *data = NULL;
      g_autofree char *taskid = sim_json_string (ensure_taskid (printer));
      g_autofree char *name = sim_json_string (filename);

      data = g_strdup_printf ("{\"taskid\":%s,\"filename\":%s}", taskid, name);
      report (printer, "print", "start", msgid, "checking", 200, "", data);
      report (printer, "print", "start", msgid, "failed", 200, "The file is not G-code: check failed", data);
      forget_task (printer);
      return;
    }

  if (!sim_printer_start_job (printer, filename, &error))
    {
      fail (printer, "print", "start", msgid,
            g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY) ? CODE_TASK_ACTIVE : 200, error->message);
      forget_task (printer);
    }
}

static void
download_free (Download *download)
{
  g_clear_object (&download->message);
  g_free (download->filename);
  g_free (download->msgid);
  g_free (download);
}

static void
downloaded_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Download *download = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  SimPrinter *printer = download->printer;
  Anycubic *self;
  g_autofree char *taskid = NULL;
  g_autofree char *data = NULL;

  /* The printer is gone (cancelled in anycubic_free): touch nothing of it. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      download_free (download);
      return;
    }

  self = get (printer);
  self->downloads--;

  if (printer->state == SIM_STATE_OFFLINE)
    {
      download_free (download);
      return;
    }

  if (body == NULL || soup_message_get_status (download->message) != SOUP_STATUS_OK)
    {
      g_autofree char *reason = NULL;

      if (error != NULL)
        reason = g_strdup_printf ("Download failed: %s", error->message);
      else
        reason = g_strdup_printf ("Download failed: HTTP %u", soup_message_get_status (download->message));
      fail (printer, "print", "start", download->msgid, 200, reason);
      forget_task (printer);
      publish_work_report (printer, FALSE);
      download_free (download);
      return;
    }

  taskid = sim_json_string (ensure_taskid (printer));
  data = g_strdup_printf ("{\"taskid\":%s,\"progress\":100}", taskid);
  report (printer, "print", "start", download->msgid, "downloading", 200, "", data);

  sim_printer_add_file (printer, download->filename, body);
  g_ptr_array_add (printer->command_log, g_strdup_printf ("stored %s (%" G_GSIZE_FORMAT " bytes)",
                                                          download->filename, g_bytes_get_size (body)));
  start_stored (printer, download->msgid, download->filename);
  publish_work_report (printer, FALSE);
  download_free (download);
}

static void
fetch (SimPrinter *printer,
       const char *msgid,
       const char *url,
       const char *filename)
{
  Anycubic *self = get (printer);
  Download *download;
  g_autofree char *taskid = NULL;
  g_autofree char *data = NULL;

  if (!url_is_loopback (url))
    {
      fail (printer, "print", "start", msgid, 200, "Download failed: the simulator only fetches from loopback http:// addresses");
      forget_task (printer);
      return;
    }

  if (self->session == NULL)
    {
      /* Straight to the address, never through a proxy (a NULL resolver
       * turns proxies off in libsoup 3). */
      self->session = soup_session_new_with_options ("proxy-resolver", NULL, "timeout", 30, NULL);
    }

  download = g_new0 (Download, 1);
  download->printer = printer;
  download->message = soup_message_new ("GET", url);
  download->filename = g_strdup (filename);
  download->msgid = g_strdup (msgid);
  if (download->message == NULL)
    {
      fail (printer, "print", "start", msgid, 200, "Download failed: not a URL");
      forget_task (printer);
      download_free (download);
      return;
    }

  self->downloads++;
  publish_work_report (printer, FALSE);
  taskid = sim_json_string (ensure_taskid (printer));
  data = g_strdup_printf ("{\"taskid\":%s,\"progress\":0}", taskid);
  report (printer, "print", "start", msgid, "downloading", 200, "", data);

  soup_session_send_and_read_async (self->session, download->message, G_PRIORITY_DEFAULT, self->cancellable,
                                    downloaded_cb, download);
}

static void
order_start (SimPrinter *printer,
             const char *msgid,
             JsonObject *data)
{
  Anycubic *self = get (printer);
  const char *filename = member_string (data, "filename");
  const char *url = member_string (data, "url");
  const char *taskid = member_string (data, "taskid");

  if (!filename_is_safe (filename))
    {
      fail (printer, "print", "start", msgid, 200, "No file named, or a name the printer cannot store");
      return;
    }

  if (is_busy (printer))
    {
      fail (printer, "print", "start", msgid, CODE_TASK_ACTIVE, "task still active");
      return;
    }

  /* "-1" (Rinkhals) asks the printer to number the task itself. */
  g_free (self->taskid);
  self->taskid = taskid != NULL && !g_str_equal (taskid, "-1") && taskid[0] != '\0' ? g_strdup (taskid) : NULL;
  self->taskid_ordered = TRUE;

  if (url != NULL && url[0] != '\0')
    fetch (printer, msgid, url, filename);
  else
    start_stored (printer, msgid, filename);
}

static void
order_print (SimPrinter *printer,
             const char *action,
             const char *msgid,
             JsonObject *data)
{
  g_autoptr(GError) error = NULL;

  if (g_str_equal (action, "start"))
    order_start (printer, msgid, data);
  else if (g_str_equal (action, "pause"))
    sim_printer_pause (printer, &error);
  else if (g_str_equal (action, "resume"))
    sim_printer_resume (printer, &error);
  else if (g_str_equal (action, "stop") || g_str_equal (action, "cancel"))
    sim_printer_cancel (printer, &error);
  else if (g_str_equal (action, "query"))
    {
      const char *words_action;
      const char *state;

      if (print_words (printer, &words_action, &state))
        publish_print (printer, msgid, words_action, state);
      else
        report (printer, "print", "query", msgid, "free", 200, "", NULL);
    }
  else if (g_str_equal (action, "update"))
    {
      JsonObject *settings = member_object (data, "settings");
      g_autofree char *taskid = sim_json_string (get (printer)->taskid != NULL ? get (printer)->taskid : "-1");
      g_autofree char *reply = NULL;
      double celsius;

      if (member_number (settings, "target_nozzle_temp", &celsius) && celsius >= 0 && celsius < 1000)
        {
          g_autofree char *gcode = g_strdup_printf ("M104 S%d", (int)celsius);

          sim_printer_run_gcode (printer, gcode);
        }
      if (member_number (settings, "target_hotbed_temp", &celsius) && celsius >= 0 && celsius < 1000)
        {
          g_autofree char *gcode = g_strdup_printf ("M140 S%d", (int)celsius);

          sim_printer_run_gcode (printer, gcode);
        }

      reply = g_strdup_printf ("{\"taskid\":%s,\"curr_hotbed_temp\":%d,\"curr_nozzle_temp\":%d,"
                               "\"settings\":{\"target_hotbed_temp\":%d,\"target_nozzle_temp\":%d,"
                               "\"fan_speed_pct\":100,\"print_speed_pct\":100,\"print_speed_mode\":2}}",
                               taskid,
                               (int)lround (printer->bed), (int)lround (printer->hotend),
                               (int)lround (printer->bed_target), (int)lround (printer->hotend_target));
      report (printer, "print", "update", msgid, "updated", 200, "", reply);
    }
  else
    return;

  if (error != NULL)
    fail (printer, "print", action, msgid, 200, error->message);
}

static void
order_file (SimPrinter *printer,
            const char *action,
            const char *msgid,
            JsonObject *data)
{
  Anycubic *self = get (printer);
  const char *filename = member_string (data, "filename");

  if (g_str_equal (action, "listLocal") || g_str_equal (action, "listUdisk"))
    {
      gboolean local = g_str_equal (action, "listLocal");
      g_autofree char *records = records_json (local ? NULL : self->udisk, local ? printer->files : NULL);

      report (printer, "file", action, msgid, "done", 200, "", records);
    }
  else if (g_str_equal (action, "deleteLocal"))
    {
      g_autoptr(GError) error = NULL;

      if (filename == NULL)
        fail (printer, "file", action, msgid, 200, "No file named");
      else if (!sim_printer_delete_file (printer, filename, &error))
        fail (printer, "file", action, msgid, 200, error->message);
      else
        report (printer, "file", action, msgid, "success", 200, "", NULL);
    }
  else if (g_str_equal (action, "deleteUdisk"))
    {
      gboolean removed = FALSE;

      for (guint i = 0; filename != NULL && i < self->udisk->len && !removed; i++)
        if (g_str_equal (g_ptr_array_index (self->udisk, i), filename))
          removed = g_ptr_array_remove_index (self->udisk, i) != NULL;

      if (removed)
        report (printer, "file", action, msgid, "success", 200, "", NULL);
      else
        fail (printer, "file", action, msgid, 200, "No such file on the USB drive");
    }
}

static void
publish_info (SimPrinter *printer,
              const char *msgid)
{
  g_autofree char *name = sim_json_string (printer->name);
  g_autofree char *model = g_strdup_printf ("Anycubic %s", printer->name);
  g_autofree char *model_json = NULL;
  g_autofree char *data = NULL;
  char *hash = strrchr (model, '#');

  /* "Kobra 3 #2" is the printer's name; its model is "Anycubic Kobra 3". */
  if (hash != NULL && hash > model)
    hash[-1] = '\0';
  model_json = sim_json_string (model);

  data = g_strdup_printf ("{\"printerName\":%s,\"model\":%s,\"ip\":\"127.0.0.1\",\"version\":\"2.3.5.3\","
                          "\"state\":\"%s\",\"temp\":{\"curr_hotbed_temp\":%d,\"curr_nozzle_temp\":%d,"
                          "\"target_hotbed_temp\":%d,\"target_nozzle_temp\":%d},"
                          "\"print_speed_mode\":2,\"fan_speed_pct\":0}",
                          name, model_json, is_busy (printer) ? "busy" : "free",
                          (int)lround (printer->bed), (int)lround (printer->hotend),
                          (int)lround (printer->bed_target), (int)lround (printer->hotend_target));
  report (printer, "info", "report", msgid, "done", 200, "done", data);
}

static gboolean
anycubic_handle_message (SimPrinter *printer,
                         const char *topic,
                         GBytes     *payload)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *logged = NULL;
  JsonObject *root;
  JsonObject *data = NULL;
  const char *type;
  const char *action;
  const char *msgid;

  if (!json_parser_load_from_data (parser, g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return FALSE;

  root = json_node_get_object (json_parser_get_root (parser));
  type = member_string (root, "type");
  action = member_string (root, "action");
  msgid = member_string (root, "msgid");
  data = member_object (root, "data");

  if (type == NULL || action == NULL)
    return FALSE;

  /* What the printer was told, for the `commands` control command. */
  logged = g_strdup_printf ("%s/%s %.*s", type, action,
                            (int)MIN (g_bytes_get_size (payload), 400), (const char *)g_bytes_get_data (payload, NULL));
  g_ptr_array_add (printer->command_log, g_steal_pointer (&logged));

  if (g_str_equal (type, "print"))
    order_print (printer, action, msgid, data);
  else if (g_str_equal (type, "file"))
    order_file (printer, action, msgid, data);
  else if (g_str_equal (type, "status") && g_str_equal (action, "query"))
    publish_work_report (printer, TRUE);
  else if (g_str_equal (type, "info") && g_str_equal (action, "query"))
    publish_info (printer, msgid);
  else if (g_str_equal (type, "ota") && g_str_equal (action, "update"))
    /* The simulated firmware takes no firmware: the order is what matters. */
    fail (printer, "ota", "update", msgid, 200, "Firmware update refused by the simulated printer");
  else
    return FALSE;

  return TRUE;
}

const SimDialectClass sim_dialect_anycubic = {
  .name = "anycubic",
  .setup = anycubic_setup,
  .online = anycubic_online,
  .offline = anycubic_offline,
  .publish_status = anycubic_publish_status,
  .handle_message = anycubic_handle_message,
  .job_event = anycubic_job_event,
};
