/* sim-farm.c: the simulated print farm
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "sim-farm.h"
#include "sim-gcode.h"

#define AMBIENT          22.0
#define GCODE_STORE_SIZE 1000
#define HOTEND_TAU       25.0   /* seconds to close 63 % of the gap */
#define BED_TAU          70.0

struct _SimFarm
{
  SimFarmOptions  options;
  GPtrArray      *printers;     /* SimPrinter */
  GHashTable     *by_id;        /* id -> SimPrinter */
  GRand          *rand;
  double          now;          /* simulated seconds since start */
  SimNotifyFunc   notify_func;
  gpointer        notify_data;
  gint64          wall_start;   /* Unix µs */
};

static const char * const dialect_names[SIM_N_DIALECTS] = {
  [SIM_DIALECT_NATIVE] = "native",
  [SIM_DIALECT_MOONRAKER] = "moonraker",
  [SIM_DIALECT_OCTOPRINT] = "octoprint",
  [SIM_DIALECT_BAMBU] = "bambu",
  [SIM_DIALECT_SERIAL] = "serial",
  [SIM_DIALECT_ANYCUBIC] = "anycubic",
  [SIM_DIALECT_ANYCUBIC_LAN] = "anycubic-lan",
};

#define MAX_MODELS 5

/* Up to MAX_MODELS a dialect, the rest NULL. */
static const char * const model_names[SIM_N_DIALECTS][MAX_MODELS] = {
  [SIM_DIALECT_NATIVE] = { "DIY CoreXY", "RatRig V-Core", "Voron 0.2", "Annex K3" },
  [SIM_DIALECT_MOONRAKER] = { "Voron 2.4", "Voron Trident", "Sovol SV08", "Creality K1" },
  [SIM_DIALECT_OCTOPRINT] = { "Prusa MK4", "Prusa MINI+", "Ender 3 V3", "Prusa MK3S+" },
  [SIM_DIALECT_BAMBU] = { "Bambu P1S", "Bambu X1C", "Bambu A1", "Bambu P1P" },
  [SIM_DIALECT_SERIAL] = { "Ender 3 (USB)", "Prusa i3 (USB)", "Anet A8 (USB)", "CR-10 (USB)" },
  /* The cloud's Kobra 2 family and the LAN-mode printers, each with its
   * model id below (shared/reference/bambu-anycubic.md B2). */
  [SIM_DIALECT_ANYCUBIC] = { "Kobra 2 Pro", "Kobra 2 Plus", "Kobra 2 Max" },
  [SIM_DIALECT_ANYCUBIC_LAN] = { "Kobra 3", "Kobra S1", "Kobra 3 Max", "Kobra 3 V2", "Kobra S1 Max" },
};

static const struct {
  const char *name;
  guint       model_id;
} anycubic_models[] = {
  { "Kobra 2 Pro", 20021 },
  { "Kobra 2 Plus", 20022 },
  { "Kobra 2 Max", 20023 },
  { "Kobra 3", 20024 },
  { "Kobra S1", 20025 },
  { "Kobra 3 Max", 20026 },
  { "Kobra 3 V2", 20027 },
  { "Kobra S1 Max", 20029 },
};

static const char * const part_names[] = {
  "bracket_v3_ASA", "gridfinity_3x3_PLA", "cable_clips_PETG", "fan_duct_ABS", "enclosure_hinge",
  "spool_holder", "calibration_cube", "benchy", "gear_housing", "camera_mount", "pcb_case",
  "drawer_handle", "belt_tensioner", "filament_guide", "nozzle_wiper",
};

const char *
sim_dialect_to_string (SimDialect dialect)
{
  g_return_val_if_fail (dialect < SIM_N_DIALECTS, NULL);

  return dialect_names[dialect];
}

/* The inventory's connector: both Anycubic set-ups are one connector. */
const char *
sim_dialect_get_connector (SimDialect dialect)
{
  g_return_val_if_fail (dialect < SIM_N_DIALECTS, NULL);

  return sim_dialect_is_anycubic (dialect) ? "anycubic" : dialect_names[dialect];
}

gboolean
sim_dialect_is_anycubic (SimDialect dialect)
{
  return dialect == SIM_DIALECT_ANYCUBIC || dialect == SIM_DIALECT_ANYCUBIC_LAN;
}

const char *
sim_state_to_string (SimState state)
{
  switch (state)
    {
    case SIM_STATE_IDLE: return "idle";
    case SIM_STATE_HEATING: return "heating";
    case SIM_STATE_PRINTING: return "printing";
    case SIM_STATE_PAUSED: return "paused";
    case SIM_STATE_FINISHED: return "finished";
    case SIM_STATE_CANCELLED: return "cancelled";
    case SIM_STATE_ERROR: return "error";
    case SIM_STATE_OFFLINE: return "offline";
    default: g_return_val_if_reached (NULL);
    }
}

/**
 * sim_json_string:
 * @text: (nullable): UTF-8 text
 *
 * Returns: (transfer full): @text as a JSON string literal with its quotes,
 *   or `null`
 */
char *
sim_json_string (const char *text)
{
  GString *out;

  if (text == NULL)
    return g_strdup ("null");

  out = g_string_sized_new (strlen (text) + 2);
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      unsigned char c = *p;

      switch (c)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (c < 0x20)
            g_string_append_printf (out, "\\u%04x", c);
          else
            g_string_append_c (out, c);
        }
    }
  g_string_append_c (out, '"');

  return g_string_free (out, FALSE);
}

/**
 * sim_json_number:
 * @value: a finite number
 *
 * Writes @value as Python's json.dumps and msgspec do: the shortest text
 * that reads back as the same double, always with a decimal point
 * (`215.0`, `23.07`).
 *
 * Returns: (transfer full): the number's text
 */
char *
sim_json_number (double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  /* Fixed notation, as Python writes numbers of a printer's range; the
   * fewest decimals (at least one) that read back as the same double. */
  for (int decimals = 1; decimals <= 17; decimals++)
    {
      char format[8];

      g_snprintf (format, sizeof format, "%%.%df", decimals);
      g_ascii_formatd (buffer, sizeof buffer, format, value);
      if (g_ascii_strtod (buffer, NULL) == value)
        break;
    }

  return g_strdup (buffer);
}

static char *
jsonrpc_id (JsonNode *id)
{
  return id != NULL ? json_to_string (id, FALSE) : g_strdup ("null");
}

/**
 * sim_jsonrpc_error:
 * @id: (nullable): the request's id
 *
 * Returns: (transfer full): a JSON-RPC 2.0 error response, compact as
 *   Moonraker writes it
 */
char *
sim_jsonrpc_error (JsonNode   *id,
                   int         code,
                   const char *message)
{
  g_autofree char *id_text = jsonrpc_id (id);
  g_autofree char *message_json = sim_json_string (message);

  return g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":%d,\"message\":%s},\"id\":%s}",
                          code, message_json, id_text);
}

/**
 * sim_jsonrpc_result:
 * @result_json: the result, already JSON
 *
 * Returns: (transfer full): a JSON-RPC 2.0 result response
 */
char *
sim_jsonrpc_result (JsonNode   *id,
                    const char *result_json)
{
  g_autofree char *id_text = jsonrpc_id (id);

  return g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"result\":%s,\"id\":%s}", result_json, id_text);
}

char *
sim_iso8601_now (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  return g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");
}

static void
sim_file_free (SimFile *file)
{
  g_free (file->name);
  g_bytes_unref (file->content);
  g_free (file->sha256);
  g_free (file);
}

static void
gcode_entry_free (SimGcodeEntry *entry)
{
  g_free (entry->type);
  g_free (entry->message);
  g_free (entry);
}

static void
sim_printer_free (SimPrinter *printer)
{
  if (printer->dialect_data_free != NULL)
    printer->dialect_data_free (printer->dialect_data);
  if (printer->own_mqtt)
    sim_mqtt_free (printer->mqtt);
  g_free (printer->id);
  g_free (printer->name);
  g_free (printer->serial);
  g_free (printer->access_code);
  g_free (printer->username);
  g_free (printer->api_key);
  g_free (printer->job_file);
  g_free (printer->error_text);
  g_free (printer->broker_uri);
  g_free (printer->ca_file);
  g_free (printer->internal_uri);
  g_ptr_array_unref (printer->files);
  g_ptr_array_unref (printer->gcode_store);
  g_ptr_array_unref (printer->command_log);
  g_free (printer);
}

static double
wall_time (SimFarm *farm)
{
  return g_get_real_time () / (double)G_USEC_PER_SEC;
}

static void
set_state (SimPrinter *printer,
           SimState    state)
{
  printer->state = state;
  printer->state_since = printer->farm->now;
}

/* Files */

SimFile *
sim_printer_find_file (SimPrinter *printer,
                       const char *name)
{
  for (guint i = 0; i < printer->files->len; i++)
    {
      SimFile *file = g_ptr_array_index (printer->files, i);

      if (g_str_equal (file->name, name))
        return file;
    }

  return NULL;
}

/**
 * sim_printer_add_file:
 *
 * Stores a file, replacing one of the same name, and tells the dialect.
 *
 * Returns: (transfer none): the stored file
 */
SimFile *
sim_printer_add_file (SimPrinter *printer,
                      const char *name,
                      GBytes     *content)
{
  SimFile *file = sim_printer_find_file (printer, name);
  gboolean existed = file != NULL;

  if (file == NULL)
    {
      file = g_new0 (SimFile, 1);
      file->name = g_strdup (name);
      g_ptr_array_add (printer->files, file);
    }
  else
    {
      g_clear_pointer (&file->content, g_bytes_unref);
      g_clear_pointer (&file->sha256, g_free);
    }

  file->content = g_bytes_ref (content);
  file->modified = (gint64)wall_time (printer->farm);
  file->sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, content);

  if (printer->klass->files_changed != NULL)
    printer->klass->files_changed (printer, existed ? "modify_file" : "create_file", file);

  return file;
}

gboolean
sim_printer_delete_file (SimPrinter  *printer,
                         const char  *name,
                         GError     **error)
{
  SimFile *file = sim_printer_find_file (printer, name);

  if (file == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "File %s does not exist", name);
      return FALSE;
    }

  if (sim_printer_is_busy (printer) && g_strcmp0 (printer->job_file, name) == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY, "File currently in use");
      return FALSE;
    }

  {
    /* The array frees the file: keep its name for the dialect. */
    g_autofree char *gone = g_strdup (file->name);
    SimFile shell = { gone, NULL, 0, NULL };

    g_ptr_array_remove_fast (printer->files, file);
    if (printer->klass->files_changed != NULL)
      printer->klass->files_changed (printer, "delete_file", &shell);
  }

  return TRUE;
}

/* G-code and jobs */

static void
record_gcode (SimPrinter *printer,
              const char *type,
              const char *message)
{
  SimGcodeEntry *entry = g_new0 (SimGcodeEntry, 1);

  entry->time = wall_time (printer->farm);
  entry->type = g_strdup (type);
  entry->message = g_strdup (message);
  g_ptr_array_add (printer->gcode_store, entry);
  if (printer->gcode_store->len > GCODE_STORE_SIZE)
    g_ptr_array_remove_index (printer->gcode_store, 0);

  if (g_str_equal (type, "command"))
    g_ptr_array_add (printer->command_log, g_strdup (message));

  if (printer->klass->gcode != NULL)
    printer->klass->gcode (printer, type, message);
}

static double
parse_s_word (const char *line)
{
  const char *s = strstr (line, " S");

  return s != NULL ? g_ascii_strtod (s + 2, NULL) : 0.0;
}

/**
 * sim_printer_run_gcode:
 * @script: one or more lines of G-code
 *
 * Records the script as one command, as Moonraker's gcode store does, and
 * obeys what a fleet would notice: heater targets.
 */
void
sim_printer_run_gcode (SimPrinter *printer,
                       const char *script)
{
  g_auto(GStrv) lines = g_strsplit (script, "\n", -1);

  record_gcode (printer, "command", script);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = g_strstrip (lines[i]);

      if (g_str_has_prefix (line, "M104") || g_str_has_prefix (line, "M109"))
        printer->hotend_target = parse_s_word (line);
      else if (g_str_has_prefix (line, "M140") || g_str_has_prefix (line, "M190"))
        printer->bed_target = parse_s_word (line);
    }

  record_gcode (printer, "response", "ok");
}

gboolean
sim_printer_is_busy (SimPrinter *printer)
{
  return printer->state == SIM_STATE_HEATING ||
         printer->state == SIM_STATE_PRINTING ||
         printer->state == SIM_STATE_PAUSED;
}

static void
job_event (SimPrinter *printer,
           const char *event)
{
  if (printer->klass->job_event != NULL)
    printer->klass->job_event (printer, event);
}

/* The job's temperatures come from its file's header, as a slicer wrote them. */
static void
targets_from_file (SimFile *file,
                   double  *hotend,
                   double  *bed)
{
  gsize size;
  const char *data = g_bytes_get_data (file->content, &size);
  g_autofree char *head = g_strndup (data, MIN (size, 4096));
  const char *m104 = strstr (head, "M104 S");
  const char *m140 = strstr (head, "M140 S");

  *hotend = m104 != NULL ? g_ascii_strtod (m104 + 6, NULL) : 210.0;
  *bed = m140 != NULL ? g_ascii_strtod (m140 + 6, NULL) : 60.0;
}

gboolean
sim_printer_start_job (SimPrinter  *printer,
                       const char  *name,
                       GError     **error)
{
  SimFile *file = sim_printer_find_file (printer, name);
  GRand *rand = printer->farm->rand;
  g_autofree char *command = NULL;

  if (printer->state == SIM_STATE_OFFLINE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "Printer is not operational");
      return FALSE;
    }

  if (sim_printer_is_busy (printer))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY, "Printer is already printing");
      return FALSE;
    }

  if (file == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "File %s does not exist", name);
      return FALSE;
    }

  g_free (printer->job_file);
  printer->job_file = g_strdup (name);
  g_clear_pointer (&printer->error_text, g_free);
  targets_from_file (file, &printer->hotend_target, &printer->bed_target);
  printer->job_elapsed = 0;
  printer->total_elapsed = 0;
  printer->job_total = g_rand_double_range (rand, 20 * 60, 4 * 3600);
  printer->layers = (guint)g_rand_int_range (rand, 40, 400);
  printer->layer = 0;

  command = g_strdup_printf ("SDCARD_PRINT_FILE FILENAME=\"%s\"", name);
  record_gcode (printer, "command", command);

  set_state (printer, SIM_STATE_HEATING);
  job_event (printer, "started");

  return TRUE;
}

gboolean
sim_printer_pause (SimPrinter  *printer,
                   GError     **error)
{
  if (printer->state != SIM_STATE_PRINTING && printer->state != SIM_STATE_HEATING)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Print is not running");
      return FALSE;
    }

  set_state (printer, SIM_STATE_PAUSED);
  job_event (printer, "paused");
  return TRUE;
}

gboolean
sim_printer_resume (SimPrinter  *printer,
                    GError     **error)
{
  if (printer->state != SIM_STATE_PAUSED)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Print is not paused");
      return FALSE;
    }

  set_state (printer, SIM_STATE_PRINTING);
  job_event (printer, "resumed");
  return TRUE;
}

gboolean
sim_printer_cancel (SimPrinter  *printer,
                    GError     **error)
{
  if (!sim_printer_is_busy (printer))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "No job to cancel");
      return FALSE;
    }

  printer->hotend_target = 0;
  printer->bed_target = 0;
  set_state (printer, SIM_STATE_CANCELLED);
  job_event (printer, "cancelled");
  return TRUE;
}

double
sim_printer_get_progress (SimPrinter *printer)
{
  if (printer->job_total <= 0)
    return 0.0;

  return CLAMP (printer->job_elapsed / printer->job_total, 0.0, 1.0);
}

/**
 * sim_printer_get_remaining:
 *
 * Returns: seconds left of the job, or -1 with no job
 */
gint64
sim_printer_get_remaining (SimPrinter *printer)
{
  if (printer->job_file == NULL || printer->job_total <= 0 ||
      printer->state == SIM_STATE_FINISHED || printer->state == SIM_STATE_CANCELLED ||
      printer->state == SIM_STATE_IDLE)
    return -1;

  return (gint64)MAX (printer->job_total - printer->job_elapsed, 0);
}

gboolean
sim_printer_publish (SimPrinter *printer,
                     const char *topic,
                     const char *payload,
                     int         qos,
                     gboolean    retained)
{
  if (printer->silent || printer->state == SIM_STATE_OFFLINE || printer->mqtt == NULL)
    return FALSE;

  return sim_mqtt_publish (printer->mqtt, topic, payload, -1, qos, retained);
}

/* Presence */

static void printer_connected_cb (SimMqtt *mqtt, gpointer user_data);
static void printer_message_cb (const char *topic, GBytes *payload, gboolean retained, gpointer user_data);

/**
 * sim_printer_go_offline:
 * @cleanly: leave as on a shutdown (offline presence, DISCONNECT), or die
 *   (the broker sends the will)
 * @seconds: simulated seconds before it comes back; 0 stays away
 */
void
sim_printer_go_offline (SimPrinter *printer,
                        gboolean    cleanly,
                        double      seconds)
{
  if (printer->state == SIM_STATE_OFFLINE)
    return;

  if (cleanly && printer->klass->offline != NULL)
    printer->klass->offline (printer);

  if (printer->own_mqtt)
    {
      if (cleanly)
        sim_mqtt_disconnect (printer->mqtt);
      else
        sim_mqtt_drop (printer->mqtt);
    }

  /* A printer that is its own broker takes the broker with it. */
  if (printer->internal_uri != NULL && printer->farm->options.power != NULL)
    printer->farm->options.power (printer, FALSE, printer->farm->options.hook_data);

  printer->state_before_offline = sim_printer_is_busy (printer) ? SIM_STATE_ERROR : SIM_STATE_IDLE;
  if (printer->state_before_offline == SIM_STATE_ERROR)
    {
      g_free (printer->error_text);
      printer->error_text = g_strdup ("Lost power during a print");
    }
  printer->hotend_target = 0;
  printer->bed_target = 0;
  set_state (printer, SIM_STATE_OFFLINE);
  printer->offline_until = seconds > 0 ? printer->farm->now + seconds : G_MAXDOUBLE;
}

void
sim_printer_come_back (SimPrinter *printer)
{
  if (printer->state != SIM_STATE_OFFLINE)
    return;

  set_state (printer, printer->state_before_offline);
  printer->sent_full = FALSE;

  if (printer->internal_uri != NULL && printer->farm->options.power != NULL)
    printer->farm->options.power (printer, TRUE, printer->farm->options.hook_data);

  if (printer->own_mqtt)
    sim_mqtt_reconnect (printer->mqtt);
  else if (printer->klass->online != NULL)
    printer->klass->online (printer);
}

static void
printer_connected_cb (SimMqtt  *mqtt,
                      gpointer  user_data)
{
  SimPrinter *printer = user_data;

  if (printer->state == SIM_STATE_OFFLINE)
    return;

  printer->sent_full = FALSE;
  if (printer->klass->online != NULL)
    printer->klass->online (printer);
}

static void
printer_message_cb (const char *topic,
                    GBytes     *payload,
                    gboolean    retained,
                    gpointer    user_data)
{
  SimPrinter *printer = user_data;

  if (printer->state == SIM_STATE_OFFLINE || printer->silent)
    return;

  printer->klass->handle_message (printer, topic, payload);
}

/* Dynamics */

static double
approach (double  value,
          double  target,
          double  tau,
          double  dt)
{
  double goal = target > 0 ? target : AMBIENT;

  return goal + (value - goal) * exp (-dt / tau);
}

static gboolean
chance (SimFarm *farm,
        double   per_minute,
        double   dt)
{
  return g_rand_double (farm->rand) < 1.0 - exp (-per_minute * dt / 60.0);
}

static void
start_random_job (SimPrinter *printer)
{
  SimFile *file;

  if (printer->files->len == 0)
    return;

  file = g_ptr_array_index (printer->files, g_rand_int_range (printer->farm->rand, 0, printer->files->len));
  sim_printer_start_job (printer, file->name, NULL);
}

static void
step_printer (SimPrinter *printer,
              double      dt)
{
  SimFarm *farm = printer->farm;
  double in_state = farm->now - printer->state_since;

  if (printer->state == SIM_STATE_OFFLINE)
    {
      if (farm->now >= printer->offline_until)
        sim_printer_come_back (printer);
      return;
    }

  /* Heaters follow their targets whatever the state. */
  printer->hotend = approach (printer->hotend, printer->hotend_target, HOTEND_TAU, dt)
                    + g_rand_double_range (farm->rand, -0.05, 0.05);
  printer->bed = approach (printer->bed, printer->bed_target, BED_TAU, dt)
                 + g_rand_double_range (farm->rand, -0.03, 0.03);

  switch (printer->state)
    {
    case SIM_STATE_IDLE:
      if (!farm->options.no_random_jobs && chance (farm, 0.15, dt))
        start_random_job (printer);
      break;

    case SIM_STATE_HEATING:
      printer->total_elapsed += dt;
      if (fabs (printer->hotend - printer->hotend_target) < 3.0 && fabs (printer->bed - printer->bed_target) < 2.0)
        set_state (printer, SIM_STATE_PRINTING);
      break;

    case SIM_STATE_PRINTING:
      printer->job_elapsed += dt;
      printer->total_elapsed += dt;
      printer->layer = (guint)MIN (printer->layers, 1 + sim_printer_get_progress (printer) * printer->layers);
      if (printer->job_elapsed >= printer->job_total)
        {
          printer->job_elapsed = printer->job_total;
          printer->hotend_target = 0;
          printer->bed_target = 0;
          set_state (printer, SIM_STATE_FINISHED);
          job_event (printer, "done");
        }
      else if (chance (farm, 0.004, dt))
        sim_printer_pause (printer, NULL);
      else if (chance (farm, 0.0005, dt))
        {
          printer->error_text = g_strdup ("Heater extruder not heating at expected rate");
          printer->hotend_target = 0;
          printer->bed_target = 0;
          set_state (printer, SIM_STATE_ERROR);
          job_event (printer, "failed");
        }
      break;

    case SIM_STATE_PAUSED:
      printer->total_elapsed += dt;
      if (in_state > 90)
        sim_printer_resume (printer, NULL);
      break;

    case SIM_STATE_FINISHED:
    case SIM_STATE_CANCELLED:
      if (in_state > 180)
        set_state (printer, SIM_STATE_IDLE);
      break;

    case SIM_STATE_ERROR:
      if (in_state > 600)
        {
          g_clear_pointer (&printer->error_text, g_free);
          set_state (printer, SIM_STATE_IDLE);
        }
      break;

    case SIM_STATE_OFFLINE:
    default:
      break;
    }

  if (farm->options.offline_one_in > 0 && chance (farm, 1.0 / farm->options.offline_one_in, dt))
    sim_printer_go_offline (printer, g_rand_boolean (farm->rand), g_rand_double_range (farm->rand, 30, 300));
}

/**
 * sim_farm_tick:
 * @seconds: simulated seconds that passed
 *
 * Moves every printer on, then lets each dialect publish what changed.
 */
void
sim_farm_tick (SimFarm *farm,
               double   seconds)
{
  farm->now += seconds;

  for (guint i = 0; i < farm->printers->len; i++)
    {
      SimPrinter *printer = g_ptr_array_index (farm->printers, i);

      step_printer (printer, seconds);

      if (printer->state != SIM_STATE_OFFLINE && !printer->silent &&
          printer->mqtt != NULL && sim_mqtt_is_connected (printer->mqtt) &&
          printer->klass->publish_status != NULL)
        {
          gboolean full = !printer->sent_full;

          printer->klass->publish_status (printer, full);
          printer->sent_full = TRUE;
        }
    }
}

/* Set-up */

static const SimDialectClass *
class_for (SimDialect dialect)
{
  switch (dialect)
    {
    case SIM_DIALECT_NATIVE: return &sim_dialect_native;
    case SIM_DIALECT_MOONRAKER: return &sim_dialect_moonraker;
    case SIM_DIALECT_OCTOPRINT: return &sim_dialect_octoprint;
    case SIM_DIALECT_BAMBU: return &sim_dialect_bambu;
    case SIM_DIALECT_ANYCUBIC:
    case SIM_DIALECT_ANYCUBIC_LAN: return &sim_dialect_anycubic;
    case SIM_DIALECT_SERIAL:
    case SIM_N_DIALECTS:
    default: return NULL;
    }
}

static SimDialect
pick_dialect (SimFarm *farm,
              guint    index)
{
  guint total = 0;
  guint slot;

  for (guint d = 0; d < SIM_N_DIALECTS; d++)
    total += farm->options.mix[d];

  /* Deterministic round-robin by weight: the first printers show the mix. */
  slot = index % MAX (total, 1);
  for (guint d = 0; d < SIM_N_DIALECTS; d++)
    {
      if (slot < farm->options.mix[d])
        return d;
      slot -= farm->options.mix[d];
    }

  return SIM_DIALECT_NATIVE;
}

static char *
random_hex (GRand *rand,
            guint  digits)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < digits; i++)
    g_string_append_c (out, "0123456789abcdef"[g_rand_int_range (rand, 0, 16)]);

  return g_string_free (out, FALSE);
}

static guint
count_models (SimDialect dialect)
{
  guint n = 0;

  while (n < MAX_MODELS && model_names[dialect][n] != NULL)
    n++;

  return MAX (n, 1);
}

static char *
alphanumeric (const char *hex,
              guint       length)
{
  static const char letters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < length && hex[2 * i] != '\0' && hex[2 * i + 1] != '\0'; i++)
    {
      guint byte = (guint)(g_ascii_xdigit_value (hex[2 * i]) << 4 | g_ascii_xdigit_value (hex[2 * i + 1]));

      g_string_append_c (out, letters[byte % (sizeof letters - 1)]);
    }

  return g_string_free (out, FALSE);
}

/*
 * name_anycubic:
 *
 * A device id of 32 hex digits (the shape of /user/ac_mqtt_connect_info's
 * and /useremain/dev/device_id's), and for LAN mode the user and password
 * of device_account.json, in the shape Rinkhals documents. Derived from
 * the seed and the printer's place, not drawn from the farm's dice, so that
 * adding Anycubic printers leaves every other printer of a seed as it was.
 */
static void
name_anycubic (SimPrinter *printer,
               const char *model,
               guint       index)
{
  g_autofree char *seed = g_strdup_printf ("drover-sim/anycubic/%u/%u", printer->farm->options.seed, index);
  g_autofree char *secret = g_compute_checksum_for_string (G_CHECKSUM_SHA256, seed, -1);
  g_autofree char *user = alphanumeric (secret, 8);

  g_free (printer->serial);
  printer->serial = g_compute_checksum_for_string (G_CHECKSUM_MD5, seed, -1);
  g_free (printer->access_code);
  printer->access_code = alphanumeric (secret + 16, 15);
  printer->username = g_strconcat ("user", user, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (anycubic_models); i++)
    if (g_str_equal (model, anycubic_models[i].name))
      printer->model_id = anycubic_models[i].model_id;
}

static void
seed_printer (SimPrinter *printer,
              guint       index)
{
  GRand *rand = printer->farm->rand;
  guint n_files = g_rand_int_range (rand, 2, 6);

  for (guint i = 0; i < n_files; i++)
    {
      const char *part = part_names[g_rand_int_range (rand, 0, G_N_ELEMENTS (part_names))];
      g_autofree char *name = g_strdup_printf ("%s.gcode", part);
      g_autoptr(GBytes) content = NULL;
      double hotend = 200 + 5 * g_rand_int_range (rand, 0, 10);
      double bed = 55 + 5 * g_rand_int_range (rand, 0, 10);
      SimFile *file;

      if (sim_printer_find_file (printer, name) != NULL)
        continue;

      content = sim_gcode_generate (name, g_rand_int_range (rand, 20, 80), hotend, bed, g_rand_int (rand));
      file = g_new0 (SimFile, 1);
      file->name = g_steal_pointer (&name);
      file->content = g_steal_pointer (&content);
      file->modified = (gint64)wall_time (printer->farm) - g_rand_int_range (rand, 3600, 30 * 86400);
      file->sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, file->content);
      g_ptr_array_add (printer->files, file);
    }

  printer->hotend = AMBIENT + g_rand_double_range (rand, 0, 2);
  printer->bed = AMBIENT + g_rand_double_range (rand, 0, 2);

  /* A farm seen at any moment: a third of the printers are mid-job,
   * unless they only print what they are told. The draw is made either
   * way, so a seed gives the same files and names. */
  if (g_rand_int_range (rand, 0, 3) == 0 && !printer->farm->options.no_random_jobs)
    {
      SimFile *file = g_ptr_array_index (printer->files, 0);

      printer->job_file = g_strdup (file->name);
      targets_from_file (file, &printer->hotend_target, &printer->bed_target);
      printer->hotend = printer->hotend_target;
      printer->bed = printer->bed_target;
      printer->job_total = g_rand_double_range (rand, 30 * 60, 4 * 3600);
      printer->job_elapsed = g_rand_double_range (rand, 0.05, 0.9) * printer->job_total;
      printer->total_elapsed = printer->job_elapsed;
      printer->layers = (guint)g_rand_int_range (rand, 40, 400);
      printer->layer = (guint)(sim_printer_get_progress (printer) * printer->layers) + 1;
      printer->state = SIM_STATE_PRINTING;
    }
}

static gboolean
connect_printer (SimFarm     *farm,
                 SimPrinter  *printer,
                 GError     **error)
{
  SimMqttOptions options = { 0 };
  g_autofree char *client_id = g_strdup_printf ("drover-sim-%s", printer->id);

  options.uri = farm->options.broker_uri;
  options.client_id = client_id;
  options.username = farm->options.username;
  options.password = farm->options.password;
  options.ca_file = farm->options.ca_file;
  /* A printer that is its own broker publishes into it from inside. */
  if (printer->internal_uri != NULL)
    {
      options.uri = printer->internal_uri;
      options.username = NULL;
      options.password = NULL;
      options.ca_file = NULL;
    }
  options.mqtt5 = farm->options.mqtt5;
  options.keepalive = 30;

  if (printer->klass->setup != NULL)
    printer->klass->setup (printer, &options);

  printer->mqtt = sim_mqtt_new (&options, printer_message_cb, printer_connected_cb, printer, error);
  printer->own_mqtt = TRUE;

  return printer->mqtt != NULL;
}

/**
 * sim_farm_new:
 *
 * Makes the printers and starts connecting them to the broker.
 */
SimFarm *
sim_farm_new (const SimFarmOptions  *options,
              GError               **error)
{
  SimFarm *farm = g_new0 (SimFarm, 1);
  guint per_dialect[SIM_N_DIALECTS] = { 0 };

  farm->options = *options;
  farm->options.broker_uri = g_strdup (options->broker_uri);
  farm->options.username = g_strdup (options->username);
  farm->options.password = g_strdup (options->password);
  farm->options.ca_file = g_strdup (options->ca_file);
  farm->options.http_base = g_strdup (options->http_base);
  farm->printers = g_ptr_array_new_with_free_func ((GDestroyNotify)sim_printer_free);
  farm->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  farm->rand = g_rand_new_with_seed (options->seed);
  farm->wall_start = g_get_real_time ();

  for (guint i = 0; i < options->n_printers; i++)
    {
      SimPrinter *printer = g_new0 (SimPrinter, 1);
      SimDialect dialect = pick_dialect (farm, i);
      guint n = ++per_dialect[dialect];
      guint n_models = count_models (dialect);

      printer->farm = farm;
      printer->dialect = dialect;
      printer->klass = class_for (dialect);
      printer->id = g_strdup_printf ("p-%04u", i + 1);
      printer->name = g_strdup_printf ("%s #%u", model_names[dialect][n % n_models], (n + n_models - 1) / n_models);
      printer->serial = g_strdup_printf ("01P00A%09u", 400000 + i);
      printer->access_code = g_strdup_printf ("%08u", g_rand_int_range (farm->rand, 0, 100000000));
      printer->api_key = random_hex (farm->rand, 32);
      printer->files = g_ptr_array_new_with_free_func ((GDestroyNotify)sim_file_free);
      printer->gcode_store = g_ptr_array_new_with_free_func ((GDestroyNotify)gcode_entry_free);
      printer->command_log = g_ptr_array_new_with_free_func (g_free);
      printer->state = SIM_STATE_IDLE;
      if (sim_dialect_is_anycubic (dialect))
        name_anycubic (printer, model_names[dialect][n % n_models], i);
      seed_printer (printer, i);

      g_ptr_array_add (farm->printers, printer);
      g_hash_table_insert (farm->by_id, printer->id, printer);
    }

  for (guint i = 0; i < farm->printers->len; i++)
    {
      SimPrinter *printer = g_ptr_array_index (farm->printers, i);

      /* Serial printers live on a pseudo-terminal, not on the broker. */
      if (printer->klass == NULL)
        continue;

      if ((options->prepare != NULL && !options->prepare (printer, options->hook_data, error)) ||
          !connect_printer (farm, printer, error))
        {
          sim_farm_free (farm);
          return NULL;
        }
    }

  return farm;
}

void
sim_farm_free (SimFarm *farm)
{
  if (farm == NULL)
    return;

  /* Leave as a farm that is shut down does: each printer says goodbye. */
  for (guint i = 0; i < farm->printers->len; i++)
    {
      SimPrinter *printer = g_ptr_array_index (farm->printers, i);

      if (printer->klass != NULL && printer->klass->offline != NULL &&
          printer->state != SIM_STATE_OFFLINE && printer->mqtt != NULL)
        printer->klass->offline (printer);
    }

  g_ptr_array_unref (farm->printers);
  g_hash_table_unref (farm->by_id);
  g_rand_free (farm->rand);
  g_free (farm->options.broker_uri);
  g_free (farm->options.username);
  g_free (farm->options.password);
  g_free (farm->options.ca_file);
  g_free (farm->options.http_base);
  g_free (farm);
}

void
sim_farm_set_notify_func (SimFarm       *farm,
                          SimNotifyFunc  func,
                          gpointer       user_data)
{
  farm->notify_func = func;
  farm->notify_data = user_data;
}

void
sim_printer_notify (SimPrinter *printer,
                    const char *json)
{
  SimFarm *farm = printer->farm;

  if (farm->notify_func != NULL && printer->state != SIM_STATE_OFFLINE)
    farm->notify_func (printer, json, farm->notify_data);
}

GPtrArray *
sim_farm_get_printers (SimFarm *farm)
{
  return farm->printers;
}

SimPrinter *
sim_farm_find_printer (SimFarm    *farm,
                       const char *id)
{
  return g_hash_table_lookup (farm->by_id, id);
}

double
sim_farm_get_time (SimFarm *farm)
{
  return farm->now;
}

GRand *
sim_farm_get_rand (SimFarm *farm)
{
  return farm->rand;
}

const SimFarmOptions *
sim_farm_get_options (SimFarm *farm)
{
  return &farm->options;
}

/**
 * sim_farm_set_http_base:
 * @http_base: (nullable): where sim-http serves the printers, such as
 *   http://127.0.0.1:7125, for the inventory
 */
void
sim_farm_set_http_base (SimFarm    *farm,
                        const char *http_base)
{
  g_free (farm->options.http_base);
  farm->options.http_base = g_strdup (http_base);
}

void
sim_farm_set_silent (SimFarm  *farm,
                     gboolean  silent)
{
  for (guint i = 0; i < farm->printers->len; i++)
    {
      SimPrinter *printer = g_ptr_array_index (farm->printers, i);

      printer->silent = silent;
      if (printer->mqtt != NULL)
        sim_mqtt_set_paused (printer->mqtt, silent);
    }
}

guint64
sim_farm_get_n_published (SimFarm *farm)
{
  guint64 total = 0;

  for (guint i = 0; i < farm->printers->len; i++)
    {
      SimPrinter *printer = g_ptr_array_index (farm->printers, i);

      if (printer->own_mqtt)
        total += sim_mqtt_get_n_published (printer->mqtt);
    }

  return total;
}
