/* sim-dialect-octoprint.c: OctoPrint with the OctoPrint-MQTT plugin
 *
 * As the plugin (octoprint_mqtt/__init__.py) publishes, per
 * shared/reference/octoprint.md §1:
 * - Python's json.dumps: ", " and ": " separators, `_event` then
 *   `_timestamp` (whole Unix seconds) after the event's own keys;
 * - `<base>mqtt`: plain text `connected` / `disconnected` (the will), QoS 1,
 *   retained;
 * - `<base>event/<Event>`: not retained, QoS 0;
 * - `<base>progress/printing`: always retained, an integer percentage,
 *   published only when it changed, at most every 5 s;
 * - `<base>temperature/<tool0|bed>`: retained, when actual moved by 0.1 or
 *   more, or the target changed;
 * - it takes no commands over MQTT: jobs and files go through REST (sim-http.c).
 *
 * The base topic is `octoPrint/<instance>/`: the plugin's default is
 * `octoPrint/`, which a farm must change per instance (`publish.baseTopic`)
 * or every OctoPrint would publish on the same topics.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include "sim-farm.h"

typedef struct
{
  char   *will_topic;
  double  tool0_actual;
  double  tool0_target;
  double  bed_actual;
  double  bed_target;
  int     progress;
  char   *progress_path;
  double  progress_published_at;
} OctoPrint;

static void
octoprint_free (gpointer data)
{
  OctoPrint *self = data;

  g_free (self->will_topic);
  g_free (self->progress_path);
  g_free (self);
}

static OctoPrint *
get (SimPrinter *printer)
{
  return printer->dialect_data;
}

static char *
topic_for (SimPrinter *printer,
           const char *leaf)
{
  return g_strconcat ("octoPrint/", printer->id, "/", leaf, NULL);
}

static gint64
timestamp (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* Python's repr of a float: shortest form, always with a decimal point. */
static char *
py_float (double value)
{
  return sim_json_number (round (value * 100) / 100);
}

static void
octoprint_setup (SimPrinter     *printer,
                 SimMqttOptions *options)
{
  OctoPrint *self = g_new0 (OctoPrint, 1);

  self->will_topic = topic_for (printer, "mqtt");
  self->progress = -1;
  printer->dialect_data = self;
  printer->dialect_data_free = octoprint_free;

  options->will_topic = self->will_topic;
  options->will_payload = "disconnected";
  options->will_retained = TRUE;
  options->will_qos = 1;
}

static void
publish_event (SimPrinter *printer,
               const char *event,
               const char *fields)
{
  g_autofree char *leaf = g_strconcat ("event/", event, NULL);
  g_autofree char *topic = topic_for (printer, leaf);
  g_autofree char *payload = g_strdup_printf ("{%s%s\"_event\": \"%s\", \"_timestamp\": %" G_GINT64_FORMAT "}",
                                              fields != NULL ? fields : "", fields != NULL ? ", " : "",
                                              event, timestamp ());

  sim_printer_publish (printer, topic, payload, 0, FALSE);
}

static void
publish_progress (SimPrinter *printer,
                  const char *location,
                  const char *path,
                  int         progress)
{
  OctoPrint *self = get (printer);
  g_autofree char *topic = topic_for (printer, "progress/printing");
  g_autofree char *path_json = sim_json_string (path);
  g_autofree char *payload = g_strdup_printf ("{\"location\": \"%s\", \"path\": %s, \"progress\": %d, \"_timestamp\": %" G_GINT64_FORMAT "}",
                                              location, path_json, progress, timestamp ());

  self->progress = progress;
  g_free (self->progress_path);
  self->progress_path = g_strdup (path);
  self->progress_published_at = sim_farm_get_time (printer->farm);

  sim_printer_publish (printer, topic, payload, 0, TRUE);
}

static void
octoprint_online (SimPrinter *printer)
{
  OctoPrint *self = get (printer);

  sim_printer_publish (printer, self->will_topic, "connected", 1, TRUE);
  /* On the first connection the plugin publishes an idle progress. */
  publish_progress (printer, "", "", 0);
  self->tool0_actual = self->bed_actual = -1000;
}

static void
octoprint_offline (SimPrinter *printer)
{
  sim_printer_publish (printer, get (printer)->will_topic, "disconnected", 1, TRUE);
}

static void
publish_temperature (SimPrinter *printer,
                     const char *key,
                     double     *last_actual,
                     double     *last_target,
                     double      actual,
                     double      target)
{
  g_autofree char *leaf = NULL;
  g_autofree char *topic = NULL;
  g_autofree char *actual_text = NULL;
  g_autofree char *target_text = NULL;
  g_autofree char *payload = NULL;

  actual = round (actual * 100) / 100;
  if (fabs (actual - *last_actual) < 0.1 && fabs (target - *last_target) < 0.1)
    return;
  *last_actual = actual;
  *last_target = target;

  leaf = g_strconcat ("temperature/", key, NULL);
  topic = topic_for (printer, leaf);
  actual_text = py_float (actual);
  target_text = py_float (target);
  payload = g_strdup_printf ("{\"actual\": %s, \"target\": %s, \"_timestamp\": %" G_GINT64_FORMAT "}",
                             actual_text, target_text, timestamp ());
  sim_printer_publish (printer, topic, payload, 0, TRUE);
}

static void
octoprint_publish_status (SimPrinter *printer,
                          gboolean    full)
{
  OctoPrint *self = get (printer);

  if (full)
    self->tool0_actual = self->bed_actual = -1000;

  publish_temperature (printer, "tool0", &self->tool0_actual, &self->tool0_target,
                       printer->hotend, printer->hotend_target);
  publish_temperature (printer, "bed", &self->bed_actual, &self->bed_target,
                       printer->bed, printer->bed_target);

  /* The plugin's progress timer ticks every 5 s while a job runs. */
  if (printer->state == SIM_STATE_PRINTING &&
      sim_farm_get_time (printer->farm) - self->progress_published_at >= 5.0)
    {
      int progress = (int)round (sim_printer_get_progress (printer) * 100);

      if (progress != self->progress || g_strcmp0 (self->progress_path, printer->job_file) != 0)
        publish_progress (printer, "local", printer->job_file, progress);
    }
}

static gboolean
octoprint_handle_message (SimPrinter *printer,
                          const char *topic,
                          GBytes     *payload)
{
  /* The plugin subscribes to nothing of its own. */
  return FALSE;
}

static char *
job_fields (SimPrinter *printer)
{
  SimFile *file = printer->job_file != NULL ? sim_printer_find_file (printer, printer->job_file) : NULL;
  g_autofree char *name = sim_json_string (printer->job_file);

  return g_strdup_printf ("\"name\": %s, \"path\": %s, \"origin\": \"local\", \"size\": %" G_GSIZE_FORMAT
                          ", \"owner\": \"admin\", \"user\": \"admin\"",
                          name, name, file != NULL ? g_bytes_get_size (file->content) : 0);
}

static void
octoprint_job_event (SimPrinter *printer,
                     const char *event)
{
  g_autofree char *fields = job_fields (printer);
  g_autofree char *with_time = NULL;
  g_autofree char *time_text = py_float (printer->total_elapsed);

  if (g_str_equal (event, "started"))
    publish_event (printer, "PrintStarted", fields);
  else if (g_str_equal (event, "paused"))
    publish_event (printer, "PrintPaused", fields);
  else if (g_str_equal (event, "resumed"))
    publish_event (printer, "PrintResumed", fields);
  else if (g_str_equal (event, "done"))
    {
      with_time = g_strdup_printf ("%s, \"time\": %s", fields, time_text);
      publish_event (printer, "PrintDone", with_time);
      publish_progress (printer, "local", printer->job_file, 100);
    }
  else if (g_str_equal (event, "cancelled"))
    {
      with_time = g_strdup_printf ("%s, \"time\": %s", fields, time_text);
      publish_event (printer, "PrintCancelled", with_time);
      g_free (with_time);
      with_time = g_strdup_printf ("%s, \"time\": %s, \"reason\": \"cancelled\"", fields, time_text);
      publish_event (printer, "PrintFailed", with_time);
    }
  else if (g_str_equal (event, "failed"))
    {
      g_autofree char *error = sim_json_string (printer->error_text);

      with_time = g_strdup_printf ("%s, \"time\": %s, \"reason\": \"error\", \"error\": %s", fields, time_text, error);
      publish_event (printer, "PrintFailed", with_time);
    }
}

static void
octoprint_files_changed (SimPrinter *printer,
                         const char *action,
                         SimFile    *file)
{
  g_autofree char *name = sim_json_string (file->name);
  gboolean removed = g_str_equal (action, "delete_file");
  g_autofree char *fields = g_strdup_printf ("\"storage\": \"local\", \"path\": %s, \"name\": %s, "
                                             "\"type\": [\"machinecode\", \"gcode\"], \"operation\": \"%s\"",
                                             name, name, removed ? "remove" : "add");

  publish_event (printer, removed ? "FileRemoved" : "FileAdded", fields);
  publish_event (printer, "UpdatedFiles", "\"type\": \"printables\"");
}

const SimDialectClass sim_dialect_octoprint = {
  .name = "octoprint",
  .setup = octoprint_setup,
  .online = octoprint_online,
  .offline = octoprint_offline,
  .publish_status = octoprint_publish_status,
  .handle_message = octoprint_handle_message,
  .files_changed = octoprint_files_changed,
  .job_event = octoprint_job_event,
};
