/* test-audit.c: files, jobs and orders nobody sent, against a real farm
 *
 * A real mosquitto on a loopback port, drover-sim's printers speaking the
 * native, Moonraker and OctoPrint dialects (with Moonraker's HTTP and
 * WebSocket and OctoPrint's REST API on a loopback port), Drover's farm,
 * audit and a ledger in a temporary folder. drover-sim's incident switch
 * is a stranger's client on the broker, as in 2024.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "drover-core.h"
#include "drover-test-broker.h"

typedef struct
{
  DroverTestBroker *broker;
  GSubprocess      *sim;
  GDataInputStream *sim_out;
  GPtrArray        *sim_lines;
  char             *dir;
  DroverFleet      *fleet;
  DroverFarm       *farm;
  DroverAudit      *audit;
  DroverLedger     *ledger;
  guint             raised;
} Farm;

/* Slower machines and sanitizers stretch the bounded waits, never the
 * figures a test checks. */
static double
scale (void)
{
  const char *text = g_getenv ("DROVER_TEST_TIME_SCALE");

  return text != NULL ? MAX (1.0, g_ascii_strtod (text, NULL)) : 1.0;
}

static gboolean
iterate_until (gboolean (*done) (gpointer),
               gpointer   data,
               double     seconds)
{
  gint64 until = g_get_monotonic_time () + (gint64)(seconds * scale () * G_USEC_PER_SEC);

  while (!done (data))
    {
      if (g_get_monotonic_time () > until)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }

  return TRUE;
}

static void
sim_line_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Farm *farm = user_data;
  char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL, NULL);

  if (line == NULL)
    return;
  g_test_message ("drover-sim: %s", line);
  g_ptr_array_add (farm->sim_lines, line);
  g_data_input_stream_read_line_async (farm->sim_out, G_PRIORITY_DEFAULT, NULL, sim_line_cb, farm);
}

typedef struct
{
  Farm       *farm;
  const char *prefix;
  char       *line;
} LineWait;

static gboolean
line_seen (gpointer data)
{
  LineWait *wait = data;

  for (guint i = 0; i < wait->farm->sim_lines->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (wait->farm->sim_lines, i), wait->prefix))
      {
        wait->line = g_strdup (g_ptr_array_index (wait->farm->sim_lines, i));
        g_ptr_array_remove_index (wait->farm->sim_lines, i);
        return TRUE;
      }

  return FALSE;
}

static char *
wait_for_line (Farm       *farm,
               const char *prefix)
{
  LineWait wait = { farm, prefix, NULL };

  g_assert_true (iterate_until (line_seen, &wait, 30));
  return wait.line;
}

static void
send_control (Farm       *farm,
              const char *line)
{
  g_autofree char *text = g_strconcat (line, "\n", NULL);
  GOutputStream *in = g_subprocess_get_stdin_pipe (farm->sim);

  g_assert_true (g_output_stream_write_all (in, text, strlen (text), NULL, NULL, NULL));
  g_assert_true (g_output_stream_flush (in, NULL, NULL));
}

static void
raised_cb (DroverAudit *audit,
           DroverAlert *alert,
           Farm        *farm)
{
  farm->raised++;
}

static gboolean
audit_ready (gpointer data)
{
  return drover_audit_get_ready (((Farm *)data)->audit);
}

/* Every printer's first file list has arrived: the baseline. */
static gboolean
files_listed (gpointer data)
{
  Farm *farm = data;

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (farm->fleet)); i++)
    {
      g_autoptr(DroverPrinter) printer = g_list_model_get_item (G_LIST_MODEL (farm->fleet), i);

      if (g_list_model_get_n_items (drover_audit_get_files (farm->audit, drover_printer_get_id (printer))) == 0)
        return FALSE;
    }

  return TRUE;
}

static Farm *
farm_start_full (const char *mix,
                 gboolean    wait_for_files)
{
  Farm *farm = g_new0 (Farm, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *inventory_path = NULL;
  g_autofree char *ledger_path = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *ready = NULL;
  DroverInventory *inventory;
  gsize length;

  farm->broker = drover_test_broker_start (NULL, &error);
  g_assert_no_error (error);
  uri = drover_test_broker_dup_uri (farm->broker);
  farm->dir = g_dir_make_tmp ("drover-audit-XXXXXX", &error);
  g_assert_no_error (error);
  inventory_path = g_build_filename (farm->dir, "farm.conf", NULL);

  farm->sim = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                                g_getenv ("DROVER_SIM_BIN"), "--broker", uri, "--printers", "12", "--mix", mix,
                                "--seed", "7", "--http-port", "0", "--inventory", inventory_path, "--control", NULL);
  g_assert_no_error (error);
  farm->sim_lines = g_ptr_array_new_with_free_func (g_free);
  farm->sim_out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (farm->sim));
  g_data_input_stream_read_line_async (farm->sim_out, G_PRIORITY_DEFAULT, NULL, sim_line_cb, farm);
  ready = wait_for_line (farm, "ready ");

  g_assert_true (g_file_get_contents (inventory_path, &contents, &length, &error));
  inventory = drover_inventory_load_from_data (contents, length, &error);
  g_assert_no_error (error);

  ledger_path = g_build_filename (farm->dir, "ledger.sqlite", NULL);
  farm->ledger = drover_ledger_open (ledger_path, &error);
  g_assert_no_error (error);
  farm->fleet = drover_fleet_new ();
  farm->farm = drover_farm_new (farm->fleet, inventory);
  farm->audit = drover_audit_new (farm->fleet);
  g_signal_connect (farm->audit, "alert-raised", G_CALLBACK (raised_cb), farm);
  drover_farm_set_audit (farm->farm, farm->audit);
  drover_audit_set_ledger (farm->audit, farm->ledger);
  g_assert_true (drover_farm_start (farm->farm, &error));
  g_assert_no_error (error);

  g_assert_true (iterate_until (audit_ready, farm, 10));
  if (wait_for_files)
    g_assert_true (iterate_until (files_listed, farm, 30));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (farm->fleet)), ==, 12);

  return farm;
}

static Farm *
farm_start (const char *mix)
{
  return farm_start_full (mix, TRUE);
}

static void
farm_free (Farm *farm)
{
  send_control (farm, "quit");
  g_subprocess_wait (farm->sim, NULL, NULL);
  drover_farm_stop (farm->farm);
  drover_farm_set_audit (farm->farm, NULL);
  g_clear_object (&farm->farm);
  g_clear_object (&farm->audit);
  g_clear_object (&farm->ledger);
  g_clear_object (&farm->fleet);
  g_clear_object (&farm->sim_out);
  g_clear_object (&farm->sim);
  g_ptr_array_unref (farm->sim_lines);
  drover_test_broker_free (farm->broker);
  {
    g_autoptr(GDir) dir = g_dir_open (farm->dir, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *path = g_build_filename (farm->dir, name, NULL);

        g_unlink (path);
      }
    g_rmdir (farm->dir);
  }
  g_free (farm->dir);
  g_free (farm);
}

static char **
victims_of (const char *incident_line)
{
  g_auto(GStrv) words = g_strsplit (incident_line, " ", 3);

  g_assert_cmpuint (g_strv_length (words), ==, 3);
  return g_strsplit (words[2], ",", -1);
}

typedef struct
{
  Farm       *farm;
  const char *subject;
  guint       printers;
} AlertWait;

static DroverAlert *
find_alert (Farm       *farm,
            const char *subject)
{
  GListModel *alerts = drover_audit_get_alerts (farm->audit);

  for (guint i = 0; i < g_list_model_get_n_items (alerts); i++)
    {
      g_autoptr(DroverAlert) alert = g_list_model_get_item (alerts, i);

      if (g_str_equal (drover_alert_get_subject (alert), subject))
        return alert;   /* the model keeps it */
    }

  return NULL;
}

static guint
count_alerts_about (Farm       *farm,
                    const char *subject)
{
  GListModel *alerts = drover_audit_get_alerts (farm->audit);
  guint n = 0;

  for (guint i = 0; i < g_list_model_get_n_items (alerts); i++)
    {
      g_autoptr(DroverAlert) alert = g_list_model_get_item (alerts, i);

      n += g_str_equal (drover_alert_get_subject (alert), subject);
    }

  return n;
}

/* Alerts about files, as opposed to jobs drover-sim's people start. */
static guint
count_file_alerts (Farm *farm)
{
  GListModel *alerts = drover_audit_get_alerts (farm->audit);
  guint n = 0;

  for (guint i = 0; i < g_list_model_get_n_items (alerts); i++)
    {
      g_autoptr(DroverAlert) alert = g_list_model_get_item (alerts, i);

      n += strstr (drover_alert_get_title (alert), "Unexpected file") != NULL;
      g_test_message ("alert: %s", drover_alert_get_title (alert));
    }

  return n;
}

static gboolean
alert_reaches (gpointer data)
{
  AlertWait *wait = data;
  DroverAlert *alert = find_alert (wait->farm, wait->subject);

  return alert != NULL && drover_alert_get_n_printers (alert) >= wait->printers;
}

static gboolean
evidence_has (DroverAlert *alert,
              const char  *text)
{
  const char * const *evidence = drover_alert_get_evidence (alert);

  for (guint i = 0; evidence[i] != NULL; i++)
    if (strstr (evidence[i], text) != NULL)
      return TRUE;

  return FALSE;
}

typedef struct
{
  DroverAlert *alert;
  const char  *text;
} EvidenceWait;

static gboolean
evidence_arrives (gpointer data)
{
  EvidenceWait *wait = data;

  return evidence_has (wait->alert, wait->text);
}

static void
assert_same_printers (DroverAlert        *alert,
                      const char * const *expected)
{
  const char * const *printers = drover_alert_get_printers (alert);

  g_assert_cmpuint (g_strv_length ((char **)printers), ==, g_strv_length ((char **)expected));
  for (guint i = 0; expected[i] != NULL; i++)
    g_assert_true (g_strv_contains (printers, expected[i]));
}

static void
spin (double seconds)
{
  gint64 until = g_get_monotonic_time () + (gint64)(seconds * G_USEC_PER_SEC);

  while (g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static gboolean
task_done (gpointer data)
{
  return *(GAsyncResult **)data != NULL;
}

static void
store_result_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  *(GAsyncResult **)user_data = g_object_ref (result);
}

/* The incident: the readme planted on 5 of 12 printers is ONE alert. */
static void
test_audit_incident (void)
{
  Farm *farm = farm_start ("native=1,moonraker=1,octoprint=1");
  g_autofree char *line = NULL;
  g_auto(GStrv) victims = NULL;
  AlertWait wait = { farm, "hacked_machine_readme.gcode", 5 };
  EvidenceWait prose;
  DroverAlert *alert;
  guint raised;
  gint64 start;

  g_assert_cmpuint (farm->raised, ==, 0);

  send_control (farm, "incident readme 5");
  start = g_get_monotonic_time ();
  line = wait_for_line (farm, "incident ");
  victims = victims_of (line);
  g_assert_cmpuint (g_strv_length (victims), ==, 5);

  /* The figure: one fleet incident within 2 s of the order. */
  g_assert_true (iterate_until (alert_reaches, &wait, 2.0));
  g_test_message ("incident gathered 5 printers after %.0f ms", (g_get_monotonic_time () - start) / 1000.0);

  /* Stragglers (a second event for the same file) join, never split. */
  spin (1.0);
  alert = find_alert (farm, "hacked_machine_readme.gcode");
  g_assert_nonnull (alert);
  assert_same_printers (alert, (const char * const *)victims);
  g_assert_true (drover_alert_get_incident (alert));
  g_assert_cmpint (drover_alert_get_severity (alert), ==, DROVER_ALERT_CRITICAL);
  g_assert_nonnull (strstr (drover_alert_get_title (alert), "5 printers"));
  g_assert_true (evidence_has (alert, "2024 broker attack"));
  /* One alert for the file; drover-sim's people may start jobs meanwhile,
   * which are alerts of their own. */
  raised = count_alerts_about (farm, "hacked_machine_readme.gcode");
  g_assert_cmpuint (raised, ==, 1);

  /* The content is fetched from the printers that serve files and read:
   * it is prose, not G-code. */
  prose.alert = alert;
  prose.text = "not G-code";
  g_assert_true (iterate_until (evidence_arrives, &prose, 15));

  /* On each victim the file is listed, as unexpected. */
  for (guint i = 0; victims[i] != NULL; i++)
    {
      GListModel *files = drover_audit_get_files (farm->audit, victims[i]);
      gboolean found = FALSE;

      for (guint j = 0; j < g_list_model_get_n_items (files); j++)
        {
          g_autoptr(DroverFileItem) item = g_list_model_get_item (files, j);

          if (g_str_equal (drover_file_item_get_name (item), "hacked_machine_readme.gcode"))
            {
              g_assert_cmpint (drover_file_item_get_provenance (item), ==, DROVER_FILE_UNEXPECTED);
              found = TRUE;
            }
        }
      g_assert_true (found);
    }

  /* Acknowledged, it is in the ledger with the operator's name. */
  drover_audit_set_operator (farm->audit, "sam");
  drover_audit_acknowledge (farm->audit, alert);
  g_assert_true (drover_alert_get_acknowledged (alert));
  g_assert_cmpstr (drover_alert_get_acknowledged_by (alert), ==, "sam");
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) acks = NULL;
    g_autoptr(GPtrArray) diffs = NULL;
    DroverLedgerQuery query = { 0 };
    GAsyncResult *flushed = NULL;
    DroverLedgerVerdict verdict = { 0 };

    drover_ledger_flush_async (farm->ledger, NULL, store_result_cb, &flushed);
    g_assert_true (iterate_until (task_done, &flushed, 10));
    g_assert_true (drover_ledger_flush_finish (farm->ledger, flushed, &error));
    g_clear_object (&flushed);
    query.kind = DROVER_LEDGER_KIND_ALERT_ACK;
    acks = drover_ledger_query (farm->ledger, &query, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (acks->len, ==, 1);
    g_assert_nonnull (strstr (((DroverLedgerEntry *)g_ptr_array_index (acks, 0))->body, "sam"));

    query.kind = DROVER_LEDGER_KIND_FILE_DIFF;
    query.subject = "hacked_machine_readme.gcode";
    diffs = drover_ledger_query (farm->ledger, &query, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (diffs->len, >=, 5);

    g_assert_true (drover_ledger_verify_file (drover_ledger_get_path (farm->ledger), &verdict, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpint (verdict.first_broken_seq, ==, 0);
    drover_ledger_verdict_clear (&verdict);
  }

  farm_free (farm);
}

typedef struct
{
  Farm       *farm;
  const char *printer_id;
  const char *name;
} FileWait;

static gboolean
file_listed (gpointer data)
{
  FileWait *wait = data;
  GListModel *files = drover_audit_get_files (wait->farm->audit, wait->printer_id);

  for (guint i = 0; i < g_list_model_get_n_items (files); i++)
    {
      g_autoptr(DroverFileItem) item = g_list_model_get_item (files, i);

      if (g_str_equal (drover_file_item_get_name (item), wait->name))
        return TRUE;
    }

  return FALSE;
}

static DroverFileItem *
find_file (Farm       *farm,
           const char *printer_id,
           const char *name)
{
  GListModel *files = drover_audit_get_files (farm->audit, printer_id);

  for (guint i = 0; i < g_list_model_get_n_items (files); i++)
    {
      g_autoptr(DroverFileItem) item = g_list_model_get_item (files, i);

      if (g_str_equal (drover_file_item_get_name (item), name))
        return item;
    }

  return NULL;
}

/* A job Drover sends is expected: no alert. The same upload by someone
 * else is not. */
static void
test_audit_sent_by_drover (void)
{
  Farm *farm = farm_start ("moonraker=1,octoprint=1");
  static const char benign[] = ";FLAVOR:Marlin\nG28\nM104 S200\nG1 X10 Y10 Z0.2 E1 F1200\nG1 X20 Y10 E2\nM104 S0\n";
  g_autoptr(GBytes) content = g_bytes_new_static (benign, sizeof benign - 1);
  GAsyncResult *result = NULL;
  g_autoptr(GError) error = NULL;
  FileWait wait = { farm, "p-0001", "drover_benign.gcode" };
  DroverFileItem *item;

  drover_farm_upload_file_async (farm->farm, "p-0001", "drover_benign.gcode", content, NULL, store_result_cb, &result);
  g_assert_true (iterate_until (task_done, &result, 10));
  g_assert_true (drover_farm_upload_file_finish (farm->farm, result, &error));
  g_assert_no_error (error);
  g_clear_object (&result);

  g_assert_true (iterate_until (file_listed, &wait, 10));
  spin (1.0);
  item = find_file (farm, "p-0001", "drover_benign.gcode");
  g_assert_cmpint (drover_file_item_get_provenance (item), ==, DROVER_FILE_SENT);
  g_assert_cmpuint (count_file_alerts (farm), ==, 0);

  /* An operator's approval makes a stranger's file expected too. */
  drover_audit_approve_file (farm->audit, "p-0002", "later.gcode");
  {
    g_autoptr(GBytes) other = g_bytes_new_static ("G28\n", 4);
    FileWait later = { farm, "p-0002", "later.gcode" };

    drover_farm_upload_file_async (farm->farm, "p-0002", "later.gcode", other, NULL, store_result_cb, &result);
    g_assert_true (iterate_until (task_done, &result, 10));
    g_assert_true (drover_farm_upload_file_finish (farm->farm, result, &error));
    g_clear_object (&result);
    g_assert_true (iterate_until (file_listed, &later, 10));
    spin (0.5);
    /* Sent by Drover wins over approved: the ledger knows more. */
    g_assert_cmpint (drover_file_item_get_provenance (find_file (farm, "p-0002", "later.gcode")), !=, DROVER_FILE_UNEXPECTED);
    g_assert_cmpuint (count_file_alerts (farm), ==, 0);
  }

  farm_free (farm);
}

/* The G-code variant: the reasons are named. */
static void
test_audit_dangerous_gcode (void)
{
  Farm *farm = farm_start ("moonraker=1,octoprint=1");
  g_autofree char *line = NULL;
  g_auto(GStrv) victims = NULL;
  AlertWait wait = { farm, "firmware_fix.gcode", 3 };
  EvidenceWait scanned;
  DroverAlert *alert;

  send_control (farm, "incident gcode 3");
  line = wait_for_line (farm, "incident ");
  victims = victims_of (line);
  g_assert_true (iterate_until (alert_reaches, &wait, 5));
  alert = find_alert (farm, "firmware_fix.gcode");
  assert_same_printers (alert, (const char * const *)victims);

  scanned.alert = alert;
  scanned.text = "M502";
  g_assert_true (iterate_until (evidence_arrives, &scanned, 15));
  g_assert_true (evidence_has (alert, "M500"));
  g_assert_true (evidence_has (alert, "320"));
  g_assert_cmpint (drover_alert_get_severity (alert), ==, DROVER_ALERT_CRITICAL);
  g_assert_cmpuint (count_alerts_about (farm, "firmware_fix.gcode"), ==, 1);

  farm_free (farm);
}

static gboolean
alert_for_printer (GListModel *alerts,
                   const char *printer_id)
{
  for (guint i = 0; i < g_list_model_get_n_items (alerts); i++)
    {
      g_autoptr(DroverAlert) alert = g_list_model_get_item (alerts, i);

      if (drover_alert_has_printer (alert, printer_id) && evidence_has (alert, "ordered the print"))
        return TRUE;
    }

  return FALSE;
}

/* A print started by someone else, on the broker. */
static void
test_audit_foreign_start (void)
{
  Farm *farm = farm_start ("native=1,moonraker=1,octoprint=1");
  g_autofree char *line = NULL;
  g_auto(GStrv) victims = NULL;
  GListModel *alerts = drover_audit_get_alerts (farm->audit);
  g_autoptr(DroverAlert) alert = NULL;

  send_control (farm, "incident print 1");
  line = wait_for_line (farm, "incident ");
  victims = victims_of (line);
  g_assert_cmpuint (g_strv_length (victims), ==, 1);

  {
    gint64 until = g_get_monotonic_time () + (gint64)(10 * scale () * G_USEC_PER_SEC);

    while (!alert_for_printer (alerts, victims[0]) && g_get_monotonic_time () < until)
      {
        g_main_context_iteration (NULL, FALSE);
        g_usleep (1000);
      }
  }
  /* drover-sim's printers also start jobs on their own, as people at the
   * printers do: find the alert for the printer the stranger ordered. */
  for (guint i = 0; i < g_list_model_get_n_items (alerts) && alert == NULL; i++)
    {
      g_autoptr(DroverAlert) candidate = g_list_model_get_item (alerts, i);

      if (drover_alert_has_printer (candidate, victims[0]))
        alert = g_steal_pointer (&candidate);
    }
  if (alert == NULL)
    {
      DroverTelemetryCounts counts;

      drover_telemetry_get_counts (drover_farm_get_telemetry (farm->farm), &counts);
      g_test_message ("received %" G_GUINT64_FORMAT ", ignored %" G_GUINT64_FORMAT ", malformed %" G_GUINT64_FORMAT,
                      counts.received, counts.ignored, counts.malformed);
      for (guint i = 0; i < g_list_model_get_n_items (alerts); i++)
        {
          g_autoptr(DroverAlert) other = g_list_model_get_item (alerts, i);

          g_test_message ("alert: %s", drover_alert_get_title (other));
        }
    }
  g_assert_nonnull (alert);
  g_assert_nonnull (strstr (drover_alert_get_title (alert), "Drover did not start it"));
  assert_same_printers (alert, (const char * const *)victims);
  /* Ordered on the broker by a client that is not Drover. */
  g_assert_true (evidence_has (alert, "ordered the print"));
  g_assert_cmpint (drover_alert_get_severity (alert), >=, DROVER_ALERT_WARNING);

  farm_free (farm);
}

static gboolean
fleet_online (gpointer data)
{
  Farm *farm = data;

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (farm->fleet)); i++)
    {
      g_autoptr(DroverPrinter) printer = g_list_model_get_item (G_LIST_MODEL (farm->fleet), i);

      if (drover_printer_get_state (printer) == DROVER_PRINTER_STATE_OFFLINE)
        return FALSE;
    }

  return TRUE;
}

/* The 2024 incident as it happened, on Anycubic printers: a stranger on
 * the broker orders 5 of 12 printers to print a file from a server that
 * is not the farm's. One incident, before any printer has the file. */
static void
test_audit_anycubic_incident (void)
{
  /* Drover's first look at each printer's files comes before the order. */
  Farm *farm = farm_start_full ("anycubic=1", TRUE);
  g_autofree char *line = NULL;
  g_auto(GStrv) victims = NULL;
  AlertWait wait = { farm, "hacked_machine_readme.gcode", 5 };
  DroverAlert *alert;

  g_assert_true (iterate_until (fleet_online, farm, 30));
  send_control (farm, "incident readme 5");
  line = wait_for_line (farm, "incident ");
  victims = victims_of (line);
  g_assert_cmpuint (g_strv_length (victims), ==, 5);

  g_assert_true (iterate_until (alert_reaches, &wait, 2.0));
  spin (1.0);
  alert = find_alert (farm, "hacked_machine_readme.gcode");
  assert_same_printers (alert, (const char * const *)victims);
  g_assert_cmpuint (count_alerts_about (farm, "hacked_machine_readme.gcode"), ==, 1);
  g_assert_cmpint (drover_alert_get_severity (alert), ==, DROVER_ALERT_CRITICAL);
  g_assert_true (evidence_has (alert, "ordered it printed from 127.0.0."));
  g_test_message ("%s", drover_alert_get_title (alert));
  g_assert_nonnull (strstr (drover_alert_get_title (alert), "5 printers were told to download"));

  /* Later, the file turns up on the printers that stored it (drover-sim
   * stores it on 12 %, at least one): it joins the same incident, which
   * then says how many have it. Drover asks for the lists every 10 s. */
  {
    EvidenceWait arrived = { alert, "Drover did not send this file" };

    g_assert_true (iterate_until (evidence_arrives, &arrived, 30));
    g_test_message ("%s", drover_alert_get_title (alert));
    g_assert_nonnull (strstr (drover_alert_get_title (alert), "have it") != NULL ?
                      strstr (drover_alert_get_title (alert), "have it") : strstr (drover_alert_get_title (alert), "has it"));
    g_assert_cmpuint (count_alerts_about (farm, "hacked_machine_readme.gcode"), ==, 1);
    assert_same_printers (alert, (const char * const *)victims);
  }

  farm_free (farm);
}

/* The same order from a host the farm's jobs come from is no alert. */
static void
test_audit_anycubic_allowed_host (void)
{
  Farm *farm = farm_start_full ("anycubic=1", FALSE);
  const char * const hosts[] = { "127.0.0.9", "127.0.0.1", NULL };
  g_autofree char *line = NULL;

  drover_audit_set_allowed_hosts (farm->audit, hosts);
  g_assert_true (iterate_until (fleet_online, farm, 30));
  send_control (farm, "incident readme 3");
  line = wait_for_line (farm, "incident ");
  spin (2.0);
  g_assert_cmpuint (count_alerts_about (farm, "hacked_machine_readme.gcode"), ==, 0);

  farm_free (farm);
}

typedef struct
{
  DroverFarm  *farm;
  const char  *printer_id;
} LinkWait;

static gboolean
link_settled (gpointer data)
{
  LinkWait *wait = data;
  DroverMqttLink *link = drover_farm_find_link (wait->farm, wait->printer_id);
  DroverLinkState state = link != NULL ? drover_mqtt_link_get_state (link) : DROVER_LINK_STATE_STOPPED;

  return state == DROVER_LINK_STATE_CONNECTED || state == DROVER_LINK_STATE_REFUSED;
}

/* Kobra 3 / S1 in LAN mode: each printer its own MQTT 5 broker with an
 * account. The right password connects and the printer reports; a wrong
 * one is refused with words, once, no retry storm. */
static void
test_audit_anycubic_lan (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) broker = drover_test_broker_start (NULL, &error);
  g_autofree char *uri = drover_test_broker_dup_uri (broker);
  g_autofree char *dir = g_dir_make_tmp ("drover-lan-XXXXXX", NULL);
  g_autofree char *inventory_path = g_build_filename (dir, "farm.conf", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GSubprocess) sim = NULL;
  g_autoptr(GRegex) code = NULL;
  g_autofree char *wrong = NULL;
  gsize length = 0;

  g_assert_no_error (error);
  sim = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                          g_getenv ("DROVER_SIM_BIN"), "--broker", uri, "--printers", "1", "--mix", "anycubic-lan=1",
                          "--http-port", "-1", "--inventory", inventory_path, "--control", NULL);
  g_assert_no_error (error);
  for (guint i = 0; i < 3000 && !g_file_get_contents (inventory_path, &contents, &length, NULL); i++)
    g_usleep (10 * 1000);
  g_assert_nonnull (contents);

  /* The right account. */
  {
    g_autoptr(DroverFleet) fleet = drover_fleet_new ();
    DroverInventory *inventory = drover_inventory_load_from_data (contents, length, &error);
    g_autoptr(DroverFarm) farm = NULL;
    LinkWait wait;
    Farm view = { 0 };

    g_assert_no_error (error);
    farm = drover_farm_new (fleet, inventory);
    g_assert_true (drover_farm_start (farm, &error));
    wait.farm = farm;
    wait.printer_id = "p-0001";
    g_assert_true (iterate_until (link_settled, &wait, 30));
    g_assert_cmpint (drover_mqtt_link_get_state (drover_farm_find_link (farm, "p-0001")), ==, DROVER_LINK_STATE_CONNECTED);
    view.fleet = fleet;
    g_assert_true (iterate_until (fleet_online, &view, 30));
    drover_farm_stop (farm);
  }

  /* A wrong password. */
  code = g_regex_new ("access-code=.*", 0, 0, NULL);
  wrong = g_regex_replace (code, contents, -1, 0, "access-code=not-the-password", 0, NULL);
  {
    g_autoptr(DroverFleet) fleet = drover_fleet_new ();
    DroverInventory *inventory = drover_inventory_load_from_data (wrong, -1, &error);
    g_autoptr(DroverFarm) farm = NULL;
    LinkWait wait;
    DroverMqttLink *link;

    g_assert_no_error (error);
    farm = drover_farm_new (fleet, inventory);
    g_assert_true (drover_farm_start (farm, &error));
    wait.farm = farm;
    wait.printer_id = "p-0001";
    g_assert_true (iterate_until (link_settled, &wait, 30));
    link = drover_farm_find_link (farm, "p-0001");
    g_test_message ("%s", drover_mqtt_link_get_status_message (link));
    g_assert_cmpint (drover_mqtt_link_get_state (link), ==, DROVER_LINK_STATE_REFUSED);
    g_assert_nonnull (strstr (drover_mqtt_link_get_status_message (link), "user name and password"));
    drover_farm_stop (farm);
  }

  g_output_stream_write_all (g_subprocess_get_stdin_pipe (sim), "quit\n", 5, NULL, NULL, NULL);
  g_subprocess_wait (sim, NULL, NULL);
  g_unlink (inventory_path);
  g_rmdir (dir);
}

/* Events that come before the ledger was read wait; nothing is lost. */
static gboolean
links_reconnected (gpointer data)
{
  Farm *farm = data;
  GPtrArray *links = drover_farm_get_links (farm->farm);

  for (guint i = 0; i < links->len; i++)
    {
      DroverMqttLink *link = g_ptr_array_index (links, i);

      if (drover_mqtt_link_get_n_connects (link) < 2 || drover_mqtt_link_get_state (link) != DROVER_LINK_STATE_CONNECTED)
        return FALSE;
    }

  return links->len > 0;
}

static guint
count_ledger_rows (Farm       *farm,
                   const char *kind,
                   const char *subject)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  DroverLedgerQuery query = { 0 };
  GAsyncResult *flushed = NULL;

  drover_ledger_flush_async (farm->ledger, NULL, store_result_cb, &flushed);
  g_assert_true (iterate_until (task_done, &flushed, 10));
  g_assert_true (drover_ledger_flush_finish (farm->ledger, flushed, &error));
  g_clear_object (&flushed);
  query.kind = kind;
  query.subject = subject;
  query.limit = 10000;
  rows = drover_ledger_query (farm->ledger, &query, &error);
  g_assert_no_error (error);

  return rows->len;
}

static const char *
first_native_printer (Farm *farm)
{
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (farm->fleet)); i++)
    {
      g_autoptr(DroverPrinter) printer = g_list_model_get_item (G_LIST_MODEL (farm->fleet), i);

      if (drover_printer_get_connector (printer) == DROVER_CONNECTOR_NATIVE)
        return drover_printer_get_id (printer);   /* the fleet keeps it */
    }

  g_assert_not_reached ();
}

/* The broker dies (SIGKILL: retained messages lost) and comes back: the
 * farm reconnects, every printer's state and files come again, and what
 * was already raised is not raised twice; a file that came during the
 * outage is still caught. */
static void
test_audit_broker_killed (void)
{
  Farm *farm = farm_start ("native=1,moonraker=1,octoprint=1");
  AlertWait wait = { farm, "hacked_machine_readme.gcode", 4 };
  AlertWait during = { farm, "during-outage.gcode", 1 };
  g_autofree char *line = NULL;
  g_autofree char *command = NULL;
  g_autoptr(GError) error = NULL;
  EvidenceWait prose;
  DroverAlert *alert;
  guint n_evidence;
  guint n_diffs;

  send_control (farm, "incident readme 4");
  line = wait_for_line (farm, "incident ");
  g_assert_true (iterate_until (alert_reaches, &wait, 10));
  alert = find_alert (farm, "hacked_machine_readme.gcode");
  prose.alert = alert;
  prose.text = "not G-code";
  g_assert_true (iterate_until (evidence_arrives, &prose, 15));
  spin (1.0);
  n_evidence = g_strv_length ((char **)drover_alert_get_evidence (alert));
  n_diffs = count_ledger_rows (farm, DROVER_LEDGER_KIND_FILE_DIFF, "hacked_machine_readme.gcode");

  /* Killed mid-stream; a file turns up on a printer meanwhile. */
  g_assert_true (drover_test_broker_kill (farm->broker));
  command = g_strdup_printf ("add-file %s during-outage.gcode", first_native_printer (farm));
  send_control (farm, command);
  g_free (wait_for_line (farm, "added "));
  spin (1.0);
  g_assert_true (drover_test_broker_restart (farm->broker, &error));
  g_assert_no_error (error);

  g_assert_true (iterate_until (links_reconnected, farm, 60));
  g_assert_true (iterate_until (alert_reaches, &during, 30));
  spin (3.0);

  /* The incident is still one alert, with the same printers and the same
   * evidence, and the ledger did not record the file twice. */
  g_assert_cmpuint (count_alerts_about (farm, "hacked_machine_readme.gcode"), ==, 1);
  g_assert_true (find_alert (farm, "hacked_machine_readme.gcode") == alert);
  g_assert_cmpuint (drover_alert_get_n_printers (alert), ==, 4);
  g_assert_cmpuint (g_strv_length ((char **)drover_alert_get_evidence (alert)), ==, n_evidence);
  g_assert_cmpuint (count_ledger_rows (farm, DROVER_LEDGER_KIND_FILE_DIFF, "hacked_machine_readme.gcode"), ==, n_diffs);
  g_assert_cmpuint (count_alerts_about (farm, "during-outage.gcode"), ==, 1);
  farm_free (farm);
}

static void
test_audit_events_wait_for_ledger (void)
{
  g_autoptr(DroverFleet) fleet = drover_fleet_new ();
  g_autoptr(DroverAudit) audit = drover_audit_new (fleet);
  g_autoptr(DroverPrinter) printer = drover_printer_new ("p-1", DROVER_CONNECTOR_NATIVE);
  g_autoptr(DroverEvent) list = drover_event_new (DROVER_EVENT_FILE_LIST);
  g_autoptr(DroverEvent) added = drover_event_new (DROVER_EVENT_FILE_ADDED);

  drover_fleet_add_printers (fleet, &printer, 1);
  g_ptr_array_add (list->files, drover_file_info_new ("old.gcode", 10, -1, NULL));
  added->file = g_strdup ("hacked_machine_readme.gcode");
  added->size = 40;

  drover_audit_handle_event (audit, printer, list);
  drover_audit_handle_event (audit, printer, added);
  g_assert_cmpuint (g_list_model_get_n_items (drover_audit_get_alerts (audit)), ==, 0);

  drover_audit_set_ledger (audit, NULL);
  g_assert_true (drover_audit_get_ready (audit));
  g_assert_cmpuint (g_list_model_get_n_items (drover_audit_get_files (audit, "p-1")), ==, 2);
  g_assert_cmpuint (g_list_model_get_n_items (drover_audit_get_alerts (audit)), ==, 1);
  {
    g_autoptr(DroverAlert) alert = g_list_model_get_item (drover_audit_get_alerts (audit), 0);

    g_assert_cmpint (drover_alert_get_severity (alert), ==, DROVER_ALERT_CRITICAL);
    g_assert_false (drover_alert_get_incident (alert));
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  drover_core_init (NULL);

  g_test_add_func ("/audit/events-wait-for-ledger", test_audit_events_wait_for_ledger);
  g_test_add_func ("/audit/incident", test_audit_incident);
  g_test_add_func ("/audit/broker-killed", test_audit_broker_killed);
  g_test_add_func ("/audit/sent-by-drover", test_audit_sent_by_drover);
  g_test_add_func ("/audit/dangerous-gcode", test_audit_dangerous_gcode);
  g_test_add_func ("/audit/foreign-start", test_audit_foreign_start);
  g_test_add_func ("/audit/anycubic-incident", test_audit_anycubic_incident);
  g_test_add_func ("/audit/anycubic-allowed-host", test_audit_anycubic_allowed_host);
  g_test_add_func ("/audit/anycubic-lan", test_audit_anycubic_lan);

  return g_test_run ();
}
