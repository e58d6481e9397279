/* drover-sim.c: a simulated print farm
 *
 * The simulator writes each printer dialect from its own templates and never
 * through src/core's decoders or encoders, so that a bug in Drover's
 * decoders cannot hide behind the same bug here.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "sim-anycubic-broker.h"
#include "sim-bambu-broker.h"
#include "sim-farm.h"
#include "sim-gcode.h"
#include "sim-http.h"
#include "sim-marlin.h"

typedef struct
{
  SimFarm          *farm;
  GMainLoop        *loop;
  gint64            last_tick;      /* monotonic µs */
  double            time_scale;
  double            started;        /* monotonic s */
  double            duration;
  double            incident_at;
  SimIncidentKind   incident_kind;
  guint             incident_printers;
  gboolean          incident_done;
  double            silent_after;
  gboolean          silent_done;
  GDataInputStream *control;
  SimBambuBrokers  *bambu;
  SimAnycubicBrokers *anycubic;
  SimHttp          *http;
  GPtrArray        *serial;         /* SimMarlin */
  double            unplug_after;
  gboolean          unplug_done;
  int               status;
} Sim;

/* Options */
static char *opt_broker;
static char *opt_username;
static char *opt_password;
static char *opt_ca_file;
static int opt_printers = 12;
static char *opt_mix;
static int opt_seed = 1;
static double opt_time_scale = 1.0;
static int opt_tick_ms = 1000;
static int opt_burst = 1;
static int opt_mqtt_version = 5;
static int opt_offline_one_in;
static gboolean opt_no_random_jobs;
static char *opt_incident;
static double opt_incident_at = -1;
static int opt_incident_printers = 3;
static double opt_silent_after = -1;
static double opt_duration;
static char *opt_inventory;
static gboolean opt_control;
static int opt_http_port;
static int opt_serial;
static int opt_baud = 115200;
static int opt_serial_buffer = 4;
static gboolean opt_advanced_ok;
static int opt_corrupt_one_in;
static int opt_drop_ok_one_in;
static double opt_unplug_after = -1;
static char *opt_serial_link_dir;
static gboolean opt_bambu_on_farm_broker;
static int opt_bambu_max_clients = 4;
static gboolean opt_anycubic_lan;
static gboolean opt_anycubic_lan_plain;
static int opt_incident_store_percent = 12;
static gboolean opt_version;

static const GOptionEntry entries[] = {
  { "broker", 'b', 0, G_OPTION_ARG_STRING, &opt_broker,
    N_("The farm's MQTT broker, as tcp://HOST:PORT or ssl://HOST:PORT (required)"), N_("URI") },
  { "username", 'u', 0, G_OPTION_ARG_STRING, &opt_username, N_("User name on the broker"), N_("NAME") },
  { "password", 'P', 0, G_OPTION_ARG_STRING, &opt_password,
    N_("Password on the broker (or set DROVER_SIM_PASSWORD)"), N_("PASSWORD") },
  { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &opt_ca_file, N_("CA certificate for an ssl:// broker"), N_("FILE") },
  { "mqtt-version", 0, 0, G_OPTION_ARG_INT, &opt_mqtt_version, N_("MQTT protocol: 5 (default) or 3 for 3.1.1"), N_("5|3") },
  { "printers", 'n', 0, G_OPTION_ARG_INT, &opt_printers, N_("How many printers (default 12, at most 10000)"), N_("N") },
  { "mix", 0, 0, G_OPTION_ARG_STRING, &opt_mix,
    N_("Weights of the connectors, such as moonraker=3,octoprint=3,bambu=2,native=3 (the default); "
       "also anycubic and anycubic-lan"), N_("LIST") },
  { "seed", 0, 0, G_OPTION_ARG_INT, &opt_seed, N_("Seed of the farm's dice: the same seed gives the same farm (default 1)"), N_("N") },
  { "time-scale", 0, 0, G_OPTION_ARG_DOUBLE, &opt_time_scale,
    N_("Simulated seconds per real second (default 1; 60 makes an hour a minute)"), N_("X") },
  { "tick-ms", 0, 0, G_OPTION_ARG_INT, &opt_tick_ms, N_("How often printers report, in milliseconds (default 1000)"), N_("MS") },
  { "burst", 0, 0, G_OPTION_ARG_INT, &opt_burst, N_("Reports per printer per tick, for benchmarks (default 1, at most 100)"), N_("N") },
  { "no-random-jobs", 0, 0, G_OPTION_ARG_NONE, &opt_no_random_jobs,
    N_("Printers print only what they are told: none starts mid-job or on its own (for tests)"), NULL },
  { "offline-one-in", 0, 0, G_OPTION_ARG_INT, &opt_offline_one_in,
    N_("Each printer goes offline about once in N simulated minutes, half of the time by dying (0: never)"), N_("N") },
  { "incident", 0, 0, G_OPTION_ARG_STRING, &opt_incident,
    N_("Stage an attack: readme (a text file named hacked_machine_readme.gcode, as in 2024), "
       "gcode (G-code with M502, M500 and a 320 °C target) or print (a print nobody asked for)"), N_("KIND") },
  { "incident-at", 0, 0, G_OPTION_ARG_DOUBLE, &opt_incident_at,
    N_("When the attack comes, in real seconds after start (default 10)"), N_("SECONDS") },
  { "incident-printers", 0, 0, G_OPTION_ARG_INT, &opt_incident_printers,
    N_("How many printers the attack reaches (default 3)"), N_("K") },
  { "incident-store-percent", 0, 0, G_OPTION_ARG_INT, &opt_incident_store_percent,
    N_("Of the Anycubic printers the readme reaches, the share that store it (default 12, as 237 of "
       "over 2,000 in 2024; at least one when above 0)"), N_("PERCENT") },
  { "silent-after", 0, 0, G_OPTION_ARG_DOUBLE, &opt_silent_after,
    N_("Stop answering MQTT after this many real seconds, connections kept open"), N_("SECONDS") },
  { "duration", 0, 0, G_OPTION_ARG_DOUBLE, &opt_duration,
    N_("Stop after this many real seconds (default: run until interrupted)"), N_("SECONDS") },
  { "inventory", 0, 0, G_OPTION_ARG_FILENAME, &opt_inventory,
    N_("Write the farm's inventory (a key file: brokers and printers) to FILE"), N_("FILE") },
  { "bambu-on-farm-broker", 0, 0, G_OPTION_ARG_NONE, &opt_bambu_on_farm_broker,
    N_("Publish Bambu printers on the farm's broker instead of a TLS broker of their own each"), NULL },
  { "bambu-max-clients", 0, 0, G_OPTION_ARG_INT, &opt_bambu_max_clients,
    N_("How many clients a Bambu printer's broker accepts (default 4; firmware allows 1 to 5)"), N_("N") },
  { "anycubic-lan", 0, 0, G_OPTION_ARG_NONE, &opt_anycubic_lan,
    N_("Run the Anycubic printers of --mix in LAN mode (Kobra 3 / S1, each its own MQTT 5 broker), "
       "as if --mix named them anycubic-lan"), NULL },
  { "anycubic-lan-plain", 0, 0, G_OPTION_ARG_NONE, &opt_anycubic_lan_plain,
    N_("Anycubic LAN brokers take clients over plain TCP (as port 2883) instead of TLS (as port 9883)"), NULL },
  { "serial", 0, 0, G_OPTION_ARG_INT, &opt_serial,
    N_("How many Marlin printers on pseudo-terminals, besides the broker's printers (default 0)"), N_("N") },
  { "baud", 0, 0, G_OPTION_ARG_INT, &opt_baud,
    N_("The serial link's speed, emulated by pacing bytes: 115200 (default) or 250000; 0 unpaced"), N_("BAUD") },
  { "serial-buffer", 0, 0, G_OPTION_ARG_INT, &opt_serial_buffer,
    N_("Marlin's command buffer (BUFSIZE), in commands (default 4)"), N_("N") },
  { "advanced-ok", 0, 0, G_OPTION_ARG_NONE, &opt_advanced_ok,
    N_("Answer “ok N<line> P<planner> B<buffer>” as firmware built with ADVANCED_OK"), NULL },
  { "corrupt-one-in", 0, 0, G_OPTION_ARG_INT, &opt_corrupt_one_in,
    N_("Line noise: corrupt 1 in N numbered lines the printer receives (0: never)"), N_("N") },
  { "drop-ok-one-in", 0, 0, G_OPTION_ARG_INT, &opt_drop_ok_one_in,
    N_("Lose 1 in N “ok” replies (0: never)"), N_("N") },
  { "unplug-after", 0, 0, G_OPTION_ARG_DOUBLE, &opt_unplug_after,
    N_("Unplug every serial printer after this many real seconds"), N_("SECONDS") },
  { "serial-link-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_serial_link_dir,
    N_("Also make a stable link DIR/<id> to each printer's pseudo-terminal"), N_("DIR") },
  { "http-port", 0, 0, G_OPTION_ARG_INT, &opt_http_port,
    N_("Serve the Moonraker and OctoPrint printers' HTTP APIs on this loopback port, each under "
       "/<id>/ (default 0: any free port; -1: no HTTP)"), N_("PORT") },
  { "control", 0, 0, G_OPTION_ARG_NONE, &opt_control,
    N_("Read commands from standard input, one per line (see below)"), NULL },
  { "version", 'V', 0, G_OPTION_ARG_NONE, &opt_version, N_("Print the version, then exit"), NULL },
  { NULL }
};

static gboolean
parse_mix (const char  *text,
           guint        mix[SIM_N_DIALECTS],
           GError     **error)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);
  guint total = 0;

  memset (mix, 0, sizeof (guint) * SIM_N_DIALECTS);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_auto(GStrv) pair = g_strsplit (g_strstrip (parts[i]), "=", 2);
      gboolean known = FALSE;
      guint64 weight;

      if (pair[0] == NULL || pair[1] == NULL ||
          !g_ascii_string_to_unsigned (pair[1], 10, 0, 1000, &weight, NULL))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("“%s” is not CONNECTOR=WEIGHT"), parts[i]);
          return FALSE;
        }

      for (guint d = 0; d < SIM_N_DIALECTS; d++)
        {
          if (g_str_equal (pair[0], sim_dialect_to_string (d)))
            {
              mix[d] = (guint)weight;
              total += (guint)weight;
              known = TRUE;
            }
        }

      if (!known || g_str_equal (pair[0], "serial"))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _("Unknown connector “%s”: use native, moonraker, octoprint, bambu, anycubic or anycubic-lan"),
                       pair[0]);
          return FALSE;
        }
    }

  if (total == 0)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, _("The mix has no printers in it"));
      return FALSE;
    }

  return TRUE;
}

static gboolean
parse_incident (const char       *text,
                SimIncidentKind  *kind)
{
  if (g_strcmp0 (text, "readme") == 0)
    *kind = SIM_INCIDENT_README;
  else if (g_strcmp0 (text, "gcode") == 0)
    *kind = SIM_INCIDENT_GCODE;
  else if (g_strcmp0 (text, "print") == 0)
    *kind = SIM_INCIDENT_PRINT;
  else
    return FALSE;

  return TRUE;
}

static double
monotonic_seconds (void)
{
  return g_get_monotonic_time () / (double)G_USEC_PER_SEC;
}

static void
say (const char *format,
     ...) G_GNUC_PRINTF (1, 2);

/* Lines on standard output are for programs: one fact per line, flushed. */
static void
say (const char *format,
     ...)
{
  va_list args;

  va_start (args, format);
  vprintf (format, args);
  va_end (args);
  putchar ('\n');
  fflush (stdout);
}

static void
run_incident (Sim             *sim,
              SimIncidentKind  kind,
              guint            n_printers)
{
  g_autoptr(GPtrArray) victims = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *list = NULL;
  static const char * const names[] = { "readme", "gcode", "print" };

  sim_farm_incident (sim->farm, kind, n_printers, victims);
  g_ptr_array_add (victims, NULL);
  list = g_strjoinv (",", (char **)victims->pdata);
  say ("incident %s %s", names[kind], list);
}

static gboolean
tick_cb (gpointer data)
{
  Sim *sim = data;
  gint64 now = g_get_monotonic_time ();
  double elapsed = (now - sim->last_tick) / (double)G_USEC_PER_SEC;
  double since_start = monotonic_seconds () - sim->started;

  sim->last_tick = now;
  /* A burst splits the tick into steps, each with its own report: a
   * benchmark's way to publish faster than one report per printer per
   * 10 ms without a timer per step. */
  for (int step = 0; step < opt_burst; step++)
    sim_farm_tick (sim->farm, elapsed * sim->time_scale / opt_burst);

  if (!sim->incident_done && sim->incident_at >= 0 && since_start >= sim->incident_at)
    {
      sim->incident_done = TRUE;
      run_incident (sim, sim->incident_kind, sim->incident_printers);
    }

  if (!sim->silent_done && sim->silent_after >= 0 && since_start >= sim->silent_after)
    {
      sim->silent_done = TRUE;
      sim_farm_set_silent (sim->farm, TRUE);
      say ("silent");
    }

  if (!sim->unplug_done && sim->unplug_after >= 0 && since_start >= sim->unplug_after && sim->serial != NULL)
    {
      sim->unplug_done = TRUE;
      for (guint i = 0; i < sim->serial->len; i++)
        sim_marlin_unplug (g_ptr_array_index (sim->serial, i));
      say ("unplugged");
    }

  if (sim->duration > 0 && since_start >= sim->duration)
    g_main_loop_quit (sim->loop);

  return G_SOURCE_CONTINUE;
}

static gboolean
quit_cb (gpointer data)
{
  Sim *sim = data;

  g_main_loop_quit (sim->loop);
  return G_SOURCE_REMOVE;
}

/* Serial printers are named s-0001, s-0002…, in the order they were made. */
static SimMarlin *
find_serial (Sim        *sim,
             const char *id)
{
  guint64 index;

  if (sim->serial == NULL || !g_str_has_prefix (id, "s-") ||
      !g_ascii_string_to_unsigned (id + 2, 10, 1, sim->serial->len, &index, NULL))
    return NULL;

  return g_ptr_array_index (sim->serial, index - 1);
}

static gboolean
start_serial_printers (Sim     *sim,
                       GError **error)
{
  sim->serial = g_ptr_array_new_with_free_func ((GDestroyNotify)sim_marlin_free);

  for (int i = 0; i < opt_serial; i++)
    {
      g_autofree char *id = g_strdup_printf ("s-%04d", i + 1);
      g_autofree char *link = opt_serial_link_dir != NULL ? g_build_filename (opt_serial_link_dir, id, NULL) : NULL;
      g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify)sim_marlin_file_free);
      g_autoptr(GBytes) cube = sim_gcode_generate ("cube.gcode", 30, 205, 60, (guint32)(opt_seed + i));
      SimMarlinOptions options;
      SimMarlin *marlin;

      g_ptr_array_add (files, sim_marlin_file_new ("cube.gcode", cube));

      sim_marlin_options_init (&options);
      options.baud = (guint)opt_baud;
      options.buffer_size = (guint)opt_serial_buffer;
      options.advanced_ok = opt_advanced_ok;
      options.corrupt_one_in = (guint)MAX (opt_corrupt_one_in, 0);
      options.drop_ok_one_in = (guint)MAX (opt_drop_ok_one_in, 0);
      options.seed = (guint32)(opt_seed + i);
      options.time_scale = opt_time_scale;
      options.link_path = link;
      options.sd_files = files;

      marlin = sim_marlin_new (&options, error);
      if (marlin == NULL)
        return FALSE;

      g_ptr_array_add (sim->serial, marlin);
      say ("serial %s %s", id, link != NULL ? link : sim_marlin_get_path (marlin));
    }

  return TRUE;
}

static void
handle_control_line (Sim  *sim,
                     char *line)
{
  g_auto(GStrv) words = g_strsplit_set (g_strstrip (line), " \t", -1);
  SimIncidentKind kind;
  SimPrinter *printer = NULL;

  if (words[0] == NULL || words[0][0] == '\0')
    return;

  if (words[1] != NULL)
    printer = sim_farm_find_printer (sim->farm, words[1]);

  if (g_str_equal (words[0], "incident") && words[1] != NULL && parse_incident (words[1], &kind))
    run_incident (sim, kind, words[2] != NULL ? (guint)g_ascii_strtoull (words[2], NULL, 10) : 3);
  else if (g_str_equal (words[0], "silent"))
    {
      gboolean on = words[1] == NULL || !g_str_equal (words[1], "off");

      sim_farm_set_silent (sim->farm, on);
      say (on ? "silent" : "talking");
    }
  else if ((g_str_equal (words[0], "offline") || g_str_equal (words[0], "die")) && printer != NULL)
    {
      sim_printer_go_offline (printer, g_str_equal (words[0], "offline"), 0);
      say ("%s %s", words[0], printer->id);
    }
  else if (g_str_equal (words[0], "online") && printer != NULL)
    {
      sim_printer_come_back (printer);
      say ("online %s", printer->id);
    }
  else if (g_str_equal (words[0], "start") && printer != NULL && words[2] != NULL)
    {
      g_autoptr(GError) error = NULL;

      if (sim_printer_start_job (printer, words[2], &error))
        say ("started %s %s", printer->id, words[2]);
      else
        say ("error %s", error->message);
    }
  else if (g_str_equal (words[0], "add-file") && printer != NULL && words[2] != NULL)
    {
      /* C escapes, so a test can give names with spaces, newlines,
       * invisible characters and bytes that are not UTF-8. */
      g_autofree char *name = g_strcompress (words[2]);
      g_autoptr(GBytes) content = sim_gcode_generate ("added.gcode", 5, 205, 20, 1);

      sim_printer_add_file (printer, name, content);
      say ("added %s %s", printer->id, words[2]);
    }
  else if (g_str_equal (words[0], "status") && printer != NULL)
    say ("status %s %s %.1f/%.1f %.1f/%.1f %.3f %s", printer->id, sim_state_to_string (printer->state),
         printer->hotend, printer->hotend_target, printer->bed, printer->bed_target,
         sim_printer_get_progress (printer), printer->job_file != NULL ? printer->job_file : "-");
  else if (g_str_equal (words[0], "files") && printer != NULL)
    {
      GString *names = g_string_new (NULL);

      for (guint i = 0; i < printer->files->len; i++)
        g_string_append_printf (names, "%s%s", i > 0 ? "," : "", ((SimFile *)printer->files->pdata[i])->name);
      say ("files %s %s", printer->id, names->str);
      g_string_free (names, TRUE);
    }
  else if (g_str_equal (words[0], "commands") && printer != NULL)
    {
      for (guint i = 0; i < printer->command_log->len; i++)
        say ("command %s %s", printer->id, (char *)printer->command_log->pdata[i]);
      say ("commands-end %s", printer->id);
    }
  else if (g_str_has_prefix (words[0], "serial-") && words[1] != NULL)
    {
      SimMarlin *marlin = find_serial (sim, words[1]);

      if (marlin == NULL)
        say ("error no serial printer %s", words[1]);
      else if (g_str_equal (words[0], "serial-unplug"))
        {
          sim_marlin_unplug (marlin);
          say ("unplugged %s", words[1]);
        }
      else if (g_str_equal (words[0], "serial-drop-ok"))
        {
          sim_marlin_drop_next_ok (marlin);
          say ("drop-ok %s", words[1]);
        }
      else if (g_str_equal (words[0], "serial-accepted"))
        {
          g_auto(GStrv) accepted = sim_marlin_dup_accepted (marlin);

          for (guint i = 0; accepted[i] != NULL; i++)
            say ("accepted %s %s", words[1], accepted[i]);
          say ("accepted-end %s", words[1]);
        }
      else
        say ("error unknown command: %s", line);
    }
  else if (g_str_equal (words[0], "quit"))
    g_main_loop_quit (sim->loop);
  else
    say ("error unknown command: %s", line);
}

static void read_control (Sim *sim);



static void
control_line_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  Sim *sim = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_finish_utf8 (sim->control, result, NULL, &error);

  if (line == NULL)
    {
      /* Whoever drove us has gone: stop, as a pipeline would. */
      g_main_loop_quit (sim->loop);
      return;
    }

  handle_control_line (sim, line);
  read_control (sim);
}

static void
read_control (Sim *sim)
{
  g_data_input_stream_read_line_async (sim->control, G_PRIORITY_DEFAULT, NULL, control_line_cb, sim);
}

/* An Anycubic printer in LAN mode is a broker of its own, with the account
 * of its device_account.json. */
static gboolean
prepare_anycubic_lan (Sim         *sim,
                      SimPrinter  *printer,
                      GError     **error)
{
  if (sim->anycubic == NULL &&
      (sim->anycubic = sim_anycubic_brokers_new (!opt_anycubic_lan_plain, error)) == NULL)
    return FALSE;

  if (!sim_anycubic_brokers_add (sim->anycubic, printer->serial, printer->username, printer->access_code,
                                 &printer->broker_uri, &printer->internal_uri, error))
    return FALSE;

  printer->ca_file = g_strdup (sim_anycubic_brokers_get_ca_file (sim->anycubic));
  return TRUE;
}

/* A Bambu printer is a broker of its own: start it before the printer connects. */
static gboolean
prepare_printer_cb (SimPrinter  *printer,
                    gpointer     data,
                    GError     **error)
{
  Sim *sim = data;

  if (printer->dialect == SIM_DIALECT_ANYCUBIC_LAN)
    return prepare_anycubic_lan (sim, printer, error);

  if (printer->dialect != SIM_DIALECT_BAMBU || opt_bambu_on_farm_broker)
    return TRUE;

  if (sim->bambu == NULL &&
      (sim->bambu = sim_bambu_brokers_new ((guint)MAX (opt_bambu_max_clients, 1) + 1, error)) == NULL)
    return FALSE;

  /* One more connection than clients: the firmware's own. */
  if (!sim_bambu_brokers_add (sim->bambu, printer->serial, printer->access_code,
                              &printer->broker_uri, &printer->internal_uri, error))
    return FALSE;

  printer->ca_file = g_strdup (sim_bambu_brokers_get_ca_file (sim->bambu));
  return TRUE;
}

static void
power_printer_cb (SimPrinter *printer,
                  gboolean    on,
                  gpointer    data)
{
  Sim *sim = data;
  g_autoptr(GError) error = NULL;

  if (printer->dialect == SIM_DIALECT_ANYCUBIC_LAN)
    {
      if (sim->anycubic != NULL && !sim_anycubic_brokers_power (sim->anycubic, printer->serial, on, &error))
        g_printerr ("drover-sim: %s\n", error->message);
    }
  else if (sim->bambu != NULL && !sim_bambu_brokers_power (sim->bambu, printer->serial, on, &error))
    g_printerr ("drover-sim: %s\n", error->message);
}

static void
raise_file_limit (void)
{
  struct rlimit limit;

  /* One connection per printer: 10,000 printers need 10,000 sockets. */
  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      setrlimit (RLIMIT_NOFILE, &limit);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  SimFarmOptions options = { 0 };
  Sim sim = { 0 };

  setlocale (LC_ALL, "");
  /* Everything the simulator writes is a protocol: JSON, G-code, Marlin's
   * replies. Decimal points are dots whatever the user's language. */
  setlocale (LC_NUMERIC, "C");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                _("Run a simulated print farm that speaks the real printers' protocols, "
                                  "for Drover's demo farm, its tests and its benchmarks."));
  g_option_context_set_description (context,
                                    _("Connectors:\n"
                                      "  moonraker  Klipper through Moonraker's [mqtt] component: <id>/klipper/status,\n"
                                      "             <id>/moonraker/status, JSON-RPC on <id>/moonraker/api/request\n"
                                      "  octoprint  OctoPrint-MQTT plugin with base topic octoPrint/<id>/\n"
                                      "  bambu      Bambu Lab LAN mode: device/<serial>/report and /request, each printer\n"
                                      "             its own mosquitto over TLS (user bblp, the access code), with a\n"
                                      "             certificate for CN=<serial>: “bambu ID SERIAL URI CODE CA-FILE”\n"
                                      "  anycubic   Anycubic Kobra 2 on the farm's broker, as on Anycubic's cloud: reports on\n"
                                      "             anycubic/anycubicCloud/v1/printer/public/<model>/<device-id>/<type>/report\n"
                                      "             (lastWill, status, tempature, print, file, info), orders on\n"
                                      "             anycubic/anycubicCloud/v1/server/printer/<model>/<device-id>/…; a print\n"
                                      "             start with a url is fetched over HTTP (loopback only) and stored\n"
                                      "  anycubic-lan  Kobra 3 / S1 in LAN mode: orders on …/slicer/printer/… and\n"
                                      "             …/web/printer/…; each printer its own mosquitto, MQTT 5, with the user\n"
                                      "             and password of its device_account.json, over TLS (--anycubic-lan-plain:\n"
                                      "             plain TCP): “anycubic ID DEVICE-ID MODEL URI USER PASSWORD CA-FILE|-”\n"
                                      "  native     Drover's own dialect: drover/v1/<id>/… (docs/protocol.md)\n"
                                      "  serial     (--serial N) Marlin on a pseudo-terminal each: “serial S-ID PATH”;\n"
                                      "             numbered lines with checksums, Resend, busy, M105/M155/M115/M20–M27\n"
                                      "\n"
                                      "Standard output, one line each: “ready N”, “printer ID CONNECTOR NAME”,\n"
                                      "“http BASE”, “incident KIND ID,ID,…”, “silent”, and the answers to control commands.\n"
                                      "\n"
                                      "The readme incident on a farm with Anycubic printers on its broker is the 2024 one:\n"
                                      "a client that is not Drover (mqttx_…) orders K Anycubic printers to print a url on a\n"
                                      "web server of its own (127.0.0.9, or 127.0.0.1 where that cannot be bound), named\n"
                                      "hacked_machine_readme.gcode; --incident-store-percent of them store it (which ones\n"
                                      "follows --seed), the others report the download failed.\n"
                                      "\n"
                                      "The inventory (--inventory) has a [broker farm] group and a [printer ID] group each:\n"
                                      "name, connector and how to reach it: broker, instance, base-topic, serial, uri,\n"
                                      "ca-file, access-code, http and api-key as docs/inventory.md says; Anycubic printers\n"
                                      "device-id and model-id, and in LAN mode uri, ca-file, username and access-code\n"
                                      "(the password). Secrets are written only because the farm is a demo.\n"
                                      "\n"
                                      "Control commands (with --control), one per line on standard input:\n"
                                      "  incident readme|gcode|print [K]   stage the attack on K printers now\n"
                                      "  silent [off]                       stop (or resume) answering MQTT\n"
                                      "  offline ID | die ID | online ID    leave cleanly, die (the broker sends\n"
                                      "                                     the will), come back\n"
                                      "  start ID FILE                      start a job as the printer's own panel would\n"
                                      "  add-file ID NAME                   a file turns up on the printer; NAME takes C\n"
                                      "                                     escapes (\\040 for a space, \\n, \\342\\200\\256)\n"
                                      "  serial-unplug S | serial-drop-ok S pull a serial printer's cable, lose its next ok\n"
                                      "  serial-accepted S                  every command serial printer S accepted, in order\n"
                                      "  status ID | files ID | commands ID what the printer has and was told\n"
                                      "  quit\n"
                                      "\n"
                                      "Exit status: 0 when stopped by time, signal or quit; 1 when the farm could\n"
                                      "not start; 2 when the command line was wrong.\n"
                                      "\n"
                                      "Report bugs at https://github.com/drover/drover/issues"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("drover-sim: %s\n", error->message);
      return 2;
    }

  if (opt_version)
    {
      g_print ("drover-sim %s\n", PACKAGE_VERSION);
      return 0;
    }

  if (opt_broker == NULL)
    {
      g_printerr (_("drover-sim: say which broker to use with --broker, such as --broker tcp://127.0.0.1:1883\n"));
      return 2;
    }
  if (opt_printers < 1 || opt_printers > 10000)
    {
      g_printerr (_("drover-sim: --printers must be between 1 and 10000\n"));
      return 2;
    }
  if (opt_burst < 1 || opt_burst > 100)
    {
      g_printerr (_("drover-sim: --burst must be between 1 and 100\n"));
      return 2;
    }

  if (opt_time_scale <= 0 || opt_tick_ms < 10)
    {
      g_printerr (_("drover-sim: --time-scale must be above 0 and --tick-ms at least 10\n"));
      return 2;
    }
  if (opt_serial < 0 || opt_serial > 256 || (opt_baud != 0 && opt_baud != 115200 && opt_baud != 250000 &&
                                              opt_baud != 57600 && opt_baud != 500000 && opt_baud != 1000000))
    {
      g_printerr (_("drover-sim: --serial is 0 to 256 printers, --baud one of 57600, 115200, 250000, 500000, 1000000 or 0\n"));
      return 2;
    }
  if (opt_mqtt_version != 3 && opt_mqtt_version != 5)
    {
      g_printerr (_("drover-sim: --mqtt-version is 5 or 3\n"));
      return 2;
    }
  if (opt_http_port < -1 || opt_http_port > 65535)
    {
      g_printerr (_("drover-sim: --http-port is a port number, 0 for any free port or -1 for no HTTP\n"));
      return 2;
    }

  options.mix[SIM_DIALECT_MOONRAKER] = 3;
  options.mix[SIM_DIALECT_OCTOPRINT] = 3;
  options.mix[SIM_DIALECT_BAMBU] = 2;
  options.mix[SIM_DIALECT_NATIVE] = 3;
  if (opt_mix != NULL && !parse_mix (opt_mix, options.mix, &error))
    {
      g_printerr ("drover-sim: %s\n", error->message);
      return 2;
    }
  if (opt_anycubic_lan)
    {
      options.mix[SIM_DIALECT_ANYCUBIC_LAN] += options.mix[SIM_DIALECT_ANYCUBIC];
      options.mix[SIM_DIALECT_ANYCUBIC] = 0;
    }
  if (opt_incident_store_percent < 0 || opt_incident_store_percent > 100)
    {
      g_printerr (_("drover-sim: --incident-store-percent is between 0 and 100\n"));
      return 2;
    }

  if (opt_incident != NULL && !parse_incident (opt_incident, &sim.incident_kind))
    {
      g_printerr (_("drover-sim: --incident is readme, gcode or print\n"));
      return 2;
    }

  raise_file_limit ();

  options.broker_uri = opt_broker;
  options.username = opt_username;
  options.password = opt_password != NULL ? opt_password : (char *)g_getenv ("DROVER_SIM_PASSWORD");
  options.ca_file = opt_ca_file;
  options.n_printers = (guint)opt_printers;
  options.seed = (guint32)opt_seed;
  options.time_scale = opt_time_scale;
  options.tick_ms = (guint)opt_tick_ms;
  options.mqtt5 = opt_mqtt_version == 5;
  options.offline_one_in = (guint)MAX (opt_offline_one_in, 0);
  options.no_random_jobs = opt_no_random_jobs;
  options.incident_store_percent = (guint)opt_incident_store_percent;
  options.prepare = prepare_printer_cb;
  options.power = power_printer_cb;
  options.hook_data = &sim;

  sim.loop = g_main_loop_new (NULL, FALSE);
  sim.time_scale = opt_time_scale;
  sim.duration = opt_duration;
  sim.incident_at = opt_incident != NULL ? (opt_incident_at >= 0 ? opt_incident_at : 10.0) : -1;
  sim.incident_printers = (guint)MAX (opt_incident_printers, 0);
  sim.silent_after = opt_silent_after;
  sim.unplug_after = opt_unplug_after;

  sim.farm = sim_farm_new (&options, &error);
  if (sim.farm == NULL)
    {
      g_printerr ("drover-sim: %s\n", error->message);
      sim_bambu_brokers_free (sim.bambu);
      sim_anycubic_brokers_free (sim.anycubic);
      return 1;
    }

  /* Before the inventory, which names each printer's HTTP address */
  if (opt_http_port >= 0)
    {
      sim.http = sim_http_new (sim.farm, (guint16)opt_http_port, &error);
      if (sim.http == NULL)
        {
          g_printerr ("drover-sim: %s\n", error->message);
          sim_farm_free (sim.farm);
          sim_bambu_brokers_free (sim.bambu);
          sim_anycubic_brokers_free (sim.anycubic);
          return 1;
        }
      sim_farm_set_http_base (sim.farm, sim_http_get_base (sim.http));
      say ("http %s", sim_http_get_base (sim.http));
    }

  /* The stranger connects ahead of time, so that an incident ordered
   * later (by --incident-at or on the control channel) travels over the
   * broker as the real one did. */
  if (opt_incident != NULL || opt_control)
    sim_farm_prepare_intruder (sim.farm);

  if (!start_serial_printers (&sim, &error))
    {
      g_printerr ("drover-sim: %s\n", error->message);
      g_clear_pointer (&sim.serial, g_ptr_array_unref);
      g_clear_pointer (&sim.http, sim_http_free);
      sim_farm_free (sim.farm);
      sim_bambu_brokers_free (sim.bambu);
      sim_anycubic_brokers_free (sim.anycubic);
      return 1;
    }

  for (guint i = 0; i < sim_farm_get_printers (sim.farm)->len; i++)
    {
      SimPrinter *printer = g_ptr_array_index (sim_farm_get_printers (sim.farm), i);

      say ("printer %s %s %s", printer->id, sim_dialect_to_string (printer->dialect), printer->name);
      if (printer->broker_uri != NULL && printer->dialect == SIM_DIALECT_BAMBU)
        say ("bambu %s %s %s %s %s", printer->id, printer->serial, printer->broker_uri,
             printer->access_code, printer->ca_file);
      else if (printer->broker_uri != NULL && printer->dialect == SIM_DIALECT_ANYCUBIC_LAN)
        say ("anycubic %s %s %u %s %s %s %s", printer->id, printer->serial, printer->model_id, printer->broker_uri,
             printer->username, printer->access_code, printer->ca_file != NULL ? printer->ca_file : "-");
    }

  if (opt_inventory != NULL)
    {
      g_autofree char *farm_inventory = sim_farm_dup_inventory (sim.farm);
      GString *inventory = g_string_new (farm_inventory);
      gboolean written;

      for (guint i = 0; i < sim.serial->len; i++)
        {
          g_autofree char *link = opt_serial_link_dir != NULL ? g_strdup_printf ("%s/s-%04u", opt_serial_link_dir, i + 1) : NULL;

          g_string_append_printf (inventory, "\n[printer s-%04u]\nname=Marlin (USB) #%u\nconnector=serial\nport=%s\n",
                                  i + 1, i + 1,
                                  link != NULL ? link : sim_marlin_get_path (g_ptr_array_index (sim.serial, i)));
        }
      written = g_file_set_contents (opt_inventory, inventory->str, -1, &error);
      g_string_free (inventory, TRUE);

      if (!written)
        {
          g_printerr ("drover-sim: %s\n", error->message);
          g_clear_pointer (&sim.serial, g_ptr_array_unref);
          g_clear_pointer (&sim.http, sim_http_free);
          sim_farm_free (sim.farm);
          sim_bambu_brokers_free (sim.bambu);
          sim_anycubic_brokers_free (sim.anycubic);
          return 1;
        }
    }

  if (opt_control)
    {
      g_autoptr(GInputStream) in = g_unix_input_stream_new (0, FALSE);

      sim.control = g_data_input_stream_new (in);
      read_control (&sim);
    }

  sim.started = monotonic_seconds ();
  sim.last_tick = g_get_monotonic_time ();
  g_timeout_add (options.tick_ms, tick_cb, &sim);
  g_unix_signal_add (SIGINT, quit_cb, &sim);
  g_unix_signal_add (SIGTERM, quit_cb, &sim);

  say ("ready %u", options.n_printers + (guint)opt_serial);
  g_main_loop_run (sim.loop);

  /* Leave as a farm does at closing time: every printer says goodbye. */
  g_clear_pointer (&sim.serial, g_ptr_array_unref);
  g_clear_pointer (&sim.http, sim_http_free);
  sim_farm_free (sim.farm);
  sim_farm_release_intruder ();
  sim_bambu_brokers_free (sim.bambu);
  sim_anycubic_brokers_free (sim.anycubic);
  g_clear_object (&sim.control);
  g_main_loop_unref (sim.loop);
  g_usleep (100 * 1000);

  return sim.status;
}
