/* test-job.c: the gate for signed jobs, and jobs reaching printers
 *
 * Keys and signatures are made by Debian's real `minisign`; the printers
 * are drover-sim's (Moonraker and OctoPrint over HTTP on a loopback port,
 * Drover's native dialect over a real mosquitto).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "drover-core.h"
#include "drover-test-broker.h"

static const char good_gcode[] =
  ";FLAVOR:Marlin\n"
  ";LAYER:0\n"
  "M140 S60\n"
  "M104 S210\n"
  "G28\n"
  "G1 Z0.2 F3000\n"
  "G1 X10 Y10 E0.5 F1500\n"
  "G1 X50 Y10 E2.0\n"
  ";LAYER:1\n"
  "G1 Z0.4\n"
  "G1 X50 Y50 E3.5\n"
  "M104 S0\n"
  "M140 S0\n";

typedef struct
{
  char             *dir;
  char             *public_key;
  char             *secret_key;
  char             *other_public;
  char             *other_secret;
  DroverTrustStore *trust;
  DroverLedger     *ledger;
} Keys;

static char *
run (const char * const *argv,
     const char         *input)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                     G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, input, NULL, &out, &err, &error));
  g_assert_no_error (error);
  if (!g_subprocess_get_successful (process))
    g_error ("%s failed: %s%s", argv[0], out, err);

  return g_steal_pointer (&out);
}

static void
keys_init (Keys *keys)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *trust_path = NULL;
  g_autofree char *ledger_path = NULL;
  g_autoptr(DroverPublicKey) key = NULL;

  keys->dir = g_dir_make_tmp ("drover-job-XXXXXX", &error);
  g_assert_no_error (error);
  keys->public_key = g_build_filename (keys->dir, "farm.pub", NULL);
  keys->secret_key = g_build_filename (keys->dir, "farm.key", NULL);
  keys->other_public = g_build_filename (keys->dir, "stranger.pub", NULL);
  keys->other_secret = g_build_filename (keys->dir, "stranger.key", NULL);
  {
    const char *argv[] = { "minisign", "-G", "-W", "-p", keys->public_key, "-s", keys->secret_key, NULL };
    const char *other[] = { "minisign", "-G", "-W", "-p", keys->other_public, "-s", keys->other_secret, NULL };

    g_free (run (argv, NULL));
    g_free (run (other, NULL));
  }

  trust_path = g_build_filename (keys->dir, "trusted-keys.conf", NULL);
  keys->trust = drover_trust_store_load (trust_path, &error);
  g_assert_no_error (error);
  key = drover_public_key_new_from_file (keys->public_key, &error);
  g_assert_no_error (error);
  g_assert_true (drover_trust_store_add (keys->trust, "Farm office", key, &error));
  g_assert_no_error (error);

  ledger_path = g_build_filename (keys->dir, "ledger.sqlite", NULL);
  keys->ledger = drover_ledger_open (ledger_path, &error);
  g_assert_no_error (error);
}

static void
keys_clear (Keys *keys)
{
  g_autoptr(GDir) dir = g_dir_open (keys->dir, 0, NULL);
  const char *name;

  g_clear_object (&keys->ledger);
  g_clear_pointer (&keys->trust, drover_trust_store_free);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (keys->dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (keys->dir);
  g_free (keys->dir);
  g_free (keys->public_key);
  g_free (keys->secret_key);
  g_free (keys->other_public);
  g_free (keys->other_secret);
}

static char *
iso (gint64 unix_seconds)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (unix_seconds);

  return g_date_time_format_iso8601 (time);
}

static char *
manifest_for (const char *printers_json,
              gint64      not_before,
              gint64      not_after,
              const char *job_id)
{
  g_autofree char *from = iso (not_before);
  g_autofree char *until = iso (not_after);
  g_autofree char *uuid = job_id != NULL ? g_strdup (job_id) : g_uuid_string_random ();

  return g_strdup_printf ("{\"drover\":1,\"job\":\"%s\",\"printers\":%s,\"not_before\":\"%s\",\"not_after\":\"%s\","
                          "\"max_hotend\":260,\"max_bed\":110}",
                          uuid, printers_json, from, until);
}

/* A job file signed by minisign with @manifest as its trusted comment. */
static GFile *
make_job (Keys       *keys,
          const char *name,
          const char *content,
          const char *manifest,
          const char *secret_key)
{
  g_autofree char *path = g_build_filename (keys->dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, content, -1, &error));
  g_assert_no_error (error);
  if (manifest != NULL)
    {
      const char *argv[] = { "minisign", "-S", "-s", secret_key != NULL ? secret_key : keys->secret_key,
                             "-m", path, "-t", manifest, NULL };

      g_free (run (argv, NULL));
    }

  return g_file_new_for_path (path);
}

static DroverJob *
load (Keys   *keys,
      GFile  *file,
      GError **error)
{
  return drover_job_load (file, NULL, keys->trust, keys->ledger, NULL, error);
}

static void
assert_refused_at_load (Keys          *keys,
                        GFile         *file,
                        DroverJobError code,
                        const char    *words)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverJob) job = load (keys, file, &error);

  g_assert_null (job);
  g_assert_error (error, DROVER_JOB_ERROR, (int)code);
  g_test_message ("refused: %s", error->message);
  g_assert_nonnull (strstr (error->message, words));
}

static void
assert_refused_for (Keys          *keys,
                    GFile         *file,
                    const char    *printer_id,
                    DroverJobError code,
                    const char    *words)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverJob) job = load (keys, file, &error);

  g_assert_no_error (error);
  g_assert_false (drover_job_check_printer (job, printer_id, NULL, g_get_real_time () / G_USEC_PER_SEC, &error));
  g_assert_error (error, DROVER_JOB_ERROR, (int)code);
  g_test_message ("refused: %s", error->message);
  g_assert_nonnull (strstr (error->message, words));
}

static void
store_result_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  *(GAsyncResult **)user_data = g_object_ref (result);
}

/* Ten bad jobs, each refused at the right step with the right reason. */
static void
test_job_gate (void)
{
  Keys keys = { 0 };
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *good = manifest_for ("[\"p-0001\"]", now - 60, now + 3600, NULL);
  g_autofree char *expired = manifest_for ("[\"p-0001\"]", now - 7200, now - 3600, NULL);
  g_autofree char *early = manifest_for ("[\"p-0001\"]", now + 3600, now + 7200, NULL);
  g_autofree char *replayed_id = g_uuid_string_random ();
  g_autofree char *replay = manifest_for ("[\"p-0001\"]", now - 60, now + 3600, replayed_id);
  g_autoptr(GError) error = NULL;

  keys_init (&keys);

  /* 1. Unsigned. */
  {
    g_autoptr(GFile) file = make_job (&keys, "unsigned.gcode", good_gcode, NULL, NULL);

    assert_refused_at_load (&keys, file, DROVER_JOB_ERROR_UNSIGNED, "is not signed");
  }
  /* 2. One byte changed after signing. */
  {
    g_autoptr(GFile) file = make_job (&keys, "changed.gcode", good_gcode, good, NULL);
    g_autofree char *path = g_file_get_path (file);
    g_autofree char *changed = g_strdup (good_gcode);

    changed[strlen (changed) - 3] = '5';   /* M140 S0 → M140 S5 */
    g_assert_true (g_file_set_contents (path, changed, -1, NULL));
    assert_refused_at_load (&keys, file, DROVER_JOB_ERROR_BAD_SIGNATURE, "does not match");
  }
  /* 3. Signed by a key the farm does not trust. */
  {
    g_autoptr(GFile) file = make_job (&keys, "stranger.gcode", good_gcode, good, keys.other_secret);

    assert_refused_at_load (&keys, file, DROVER_JOB_ERROR_UNTRUSTED_KEY, "does not trust");
  }
  /* 4. A trusted comment that is no manifest. */
  {
    g_autoptr(GFile) file = make_job (&keys, "malformed.gcode", good_gcode, "{\"drover\":1,\"job\":42}", NULL);

    assert_refused_at_load (&keys, file, DROVER_JOB_ERROR_MANIFEST, "manifest");
  }
  /* 5. Expired. */
  {
    g_autoptr(GFile) file = make_job (&keys, "expired.gcode", good_gcode, expired, NULL);

    assert_refused_for (&keys, file, "p-0001", DROVER_JOB_ERROR_EXPIRED, "expired");
  }
  /* 6. Not yet valid. */
  {
    g_autoptr(GFile) file = make_job (&keys, "early.gcode", good_gcode, early, NULL);

    assert_refused_for (&keys, file, "p-0001", DROVER_JOB_ERROR_NOT_YET_VALID, "may not be printed before");
  }
  /* 7. Another printer. */
  {
    g_autoptr(GFile) file = make_job (&keys, "elsewhere.gcode", good_gcode, good, NULL);

    assert_refused_for (&keys, file, "p-0002", DROVER_JOB_ERROR_WRONG_PRINTER, "not for p-0002");
  }
  /* 8. A job id that was sent before. */
  {
    g_autoptr(GFile) file = make_job (&keys, "replay.gcode", good_gcode, replay, NULL);
    g_autofree char *body = g_strdup_printf ("{\"job\":\"%s\",\"size\":10}", replayed_id);
    GAsyncResult *result = NULL;

    drover_ledger_append (keys.ledger, DROVER_LEDGER_KIND_JOB_SENT, "p-0001", "replay.gcode", body);
    drover_ledger_flush_async (keys.ledger, NULL, store_result_cb, &result);
    {
      gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

      while (result == NULL && g_get_monotonic_time () < until)
        g_main_context_iteration (NULL, FALSE);
    }
    g_assert_nonnull (result);
    g_assert_true (drover_ledger_flush_finish (keys.ledger, result, NULL));
    g_object_unref (result);
    assert_refused_for (&keys, file, "p-0001", DROVER_JOB_ERROR_REPLAYED, "was sent before");
  }
  /* 9. A command a print job may not send. */
  {
    g_autofree char *gcode = g_strconcat (good_gcode, "M502\nM500\n", NULL);
    g_autoptr(GFile) file = make_job (&keys, "eeprom.gcode", gcode, good, NULL);

    assert_refused_for (&keys, file, "p-0001", DROVER_JOB_ERROR_BLOCKED_COMMAND, "M502");
  }
  /* 10. Over the manifest's temperature limit (260 °C). */
  {
    g_autofree char *gcode = g_strconcat (good_gcode, "M104 S320\n", NULL);
    g_autoptr(GFile) file = make_job (&keys, "hot.gcode", gcode, good, NULL);

    assert_refused_for (&keys, file, "p-0001", DROVER_JOB_ERROR_OVER_LIMIT, "320");
  }

  /* And the good one passes, for its printer, and says so in words. */
  {
    g_autoptr(GFile) file = make_job (&keys, "good.gcode", good_gcode, good, NULL);
    g_autoptr(DroverJob) job = load (&keys, file, &error);
    g_autofree char *words = NULL;

    g_assert_no_error (error);
    g_assert_true (drover_job_check_printer (job, "p-0001", NULL, now, &error));
    g_assert_no_error (error);
    words = drover_job_describe (job);
    g_assert_nonnull (strstr (words, "Signed by Farm office"));
    g_assert_cmpstr (drover_job_get_signer (job), ==, "Farm office");
    /* The bytes kept are the bytes verified, whatever the disk says now. */
    {
      g_autofree char *path = g_file_get_path (file);

      g_assert_true (g_file_set_contents (path, "M502\n", -1, NULL));
      g_assert_cmpmem (g_bytes_get_data (drover_job_get_content (job), NULL),
                       g_bytes_get_size (drover_job_get_content (job)), good_gcode, strlen (good_gcode));
    }
  }

  /* Each refusal is in the ledger with its reason. */
  {
    GAsyncResult *flushed = NULL;
    DroverLedgerQuery query = { 0 };
    g_autoptr(GPtrArray) rows = NULL;

    drover_ledger_flush_async (keys.ledger, NULL, store_result_cb, &flushed);
    for (guint i = 0; i < 10000 && flushed == NULL; i++)
      {
        g_main_context_iteration (NULL, FALSE);
        g_usleep (1000);
      }
    g_assert_nonnull (flushed);
    g_object_unref (flushed);
    query.kind = DROVER_LEDGER_KIND_JOB_REFUSED;
    query.subject = "unsigned.gcode";
    rows = drover_ledger_query (keys.ledger, &query, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (rows->len, ==, 1);
    g_assert_nonnull (strstr (((DroverLedgerEntry *)g_ptr_array_index (rows, 0))->body, "is not signed"));
  }

  keys_clear (&keys);
}

static gboolean
result_arrived (gpointer data)
{
  return *(GAsyncResult **)data != NULL;
}

/* A small farm of drover-sim printers, one of each networked kind. */
typedef struct
{
  DroverTestBroker *broker;
  GSubprocess      *sim;
  DroverFleet      *fleet;
  DroverFarm       *farm;
  DroverAudit      *audit;
} Farm;

static gboolean
spin_until (gboolean (*done) (gpointer),
            gpointer   data,
            double     seconds)
{
  gint64 until = g_get_monotonic_time () + (gint64)(seconds * G_USEC_PER_SEC);

  while (!done (data))
    {
      if (g_get_monotonic_time () > until)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }

  return TRUE;
}

static gboolean
all_idle (gpointer data)
{
  Farm *farm = data;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (farm->fleet));

  if (!drover_audit_get_ready (farm->audit) || n != 3)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(DroverPrinter) printer = g_list_model_get_item (G_LIST_MODEL (farm->fleet), i);

      if (drover_printer_get_state (printer) != DROVER_PRINTER_STATE_IDLE ||
          g_list_model_get_n_items (drover_audit_get_files (farm->audit, drover_printer_get_id (printer))) == 0)
        return FALSE;
    }

  return TRUE;
}

static void
farm_start (Farm *farm,
            Keys *keys)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *inventory_path = g_build_filename (keys->dir, "farm.conf", NULL);
  g_autofree char *contents = NULL;
  DroverInventory *inventory;
  gsize length = 0;

  farm->broker = drover_test_broker_start (NULL, &error);
  g_assert_no_error (error);
  uri = drover_test_broker_dup_uri (farm->broker);
  farm->sim = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                                g_getenv ("DROVER_SIM_BIN"), "--broker", uri, "--printers", "3",
                                "--mix", "native=1,moonraker=1,octoprint=1", "--no-random-jobs", "--seed", "3",
                                "--http-port", "0", "--inventory", inventory_path, "--control", NULL);
  g_assert_no_error (error);
  for (guint i = 0; i < 3000 && !g_file_get_contents (inventory_path, &contents, &length, NULL); i++)
    g_usleep (10 * 1000);
  g_assert_nonnull (contents);
  inventory = drover_inventory_load_from_data (contents, length, &error);
  g_assert_no_error (error);

  farm->fleet = drover_fleet_new ();
  farm->farm = drover_farm_new (farm->fleet, inventory);
  farm->audit = drover_audit_new (farm->fleet);
  drover_farm_set_audit (farm->farm, farm->audit);
  drover_audit_set_ledger (farm->audit, keys->ledger);
  g_assert_true (drover_farm_start (farm->farm, &error));
  g_assert_true (spin_until (all_idle, farm, 30));
}

static void
farm_stop (Farm *farm)
{
  g_autoptr(GError) error = NULL;
  GOutputStream *in = g_subprocess_get_stdin_pipe (farm->sim);

  g_output_stream_write_all (in, "quit\n", 5, NULL, NULL, NULL);
  g_subprocess_wait (farm->sim, NULL, NULL);
  drover_farm_stop (farm->farm);
  drover_farm_set_audit (farm->farm, NULL);
  g_clear_object (&farm->farm);
  g_clear_object (&farm->audit);
  g_clear_object (&farm->fleet);
  g_clear_object (&farm->sim);
  drover_test_broker_free (farm->broker);
}

static DroverDispatch *
dispatch_to_all (Farm      *farm,
                 Keys      *keys,
                 DroverJob *job)
{
  DroverDispatch *dispatch = drover_dispatch_new (job, farm->audit, keys->ledger);

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (farm->fleet)); i++)
    {
      g_autoptr(DroverPrinter) printer = g_list_model_get_item (G_LIST_MODEL (farm->fleet), i);
      g_autoptr(DroverTransport) transport = drover_farm_dup_transport (farm->farm, drover_printer_get_id (printer));

      drover_dispatch_add_target (dispatch, printer, transport, NULL);
    }

  return dispatch;
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

typedef struct
{
  Farm       *farm;
  const char *file;
} PrintWait;

static gboolean
all_print (gpointer data)
{
  PrintWait *wait = data;

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (wait->farm->fleet)); i++)
    {
      g_autoptr(DroverPrinter) printer = g_list_model_get_item (G_LIST_MODEL (wait->farm->fleet), i);
      DroverPrinterState state = drover_printer_get_state (printer);

      if ((state != DROVER_PRINTER_STATE_PRINTING && state != DROVER_PRINTER_STATE_PAUSED) ||
          g_strcmp0 (drover_printer_get_current_file (printer), wait->file) != 0 ||
          find_file (wait->farm, drover_printer_get_id (printer), wait->file) == NULL)
        return FALSE;
    }

  return TRUE;
}

typedef struct
{
  DroverPrinter      *printer;
  DroverPrinterState  state;
} ControlWait;

static gboolean
printer_reaches (gpointer data)
{
  ControlWait *wait = data;

  return drover_printer_get_state (wait->printer) == wait->state;
}

/* A good job to three printers at once, over HTTP and MQTT: each gets the
 * verified bytes, the signature goes with them, and the audit calls the
 * file Drover's. Without the operator's confirmation, nothing goes. */
static void
test_job_send (void)
{
  Keys keys = { 0 };
  Farm farm = { 0 };
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *manifest = manifest_for ("[\"p-0001\",\"p-0002\",\"p-0003\"]", now - 60, now + 3600, NULL);
  g_autoptr(GFile) file = NULL;
  g_autoptr(DroverJob) job = NULL;
  g_autoptr(GError) error = NULL;
  GAsyncResult *result = NULL;
  PrintWait printing;
  guint n_sent = 0;

  keys_init (&keys);
  farm_start (&farm, &keys);
  file = make_job (&keys, "drover_part.gcode", good_gcode, manifest, NULL);
  job = load (&keys, file, &error);
  g_assert_no_error (error);

  /* The plate not confirmed: refused, in the ledger, nothing sent. */
  {
    g_autoptr(DroverDispatch) dispatch = dispatch_to_all (&farm, &keys, job);

    g_assert_cmpuint (drover_dispatch_get_n_eligible (dispatch), ==, 3);
    drover_dispatch_send_async (dispatch, FALSE, NULL, store_result_cb, &result);
    g_assert_true (spin_until (result_arrived, &result, 10));
    g_assert_false (drover_dispatch_send_finish (dispatch, result, NULL, &error));
    g_assert_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_PLATE_NOT_CLEAR);
    g_clear_error (&error);
    g_clear_object (&result);
  }

  /* Confirmed: all three, at once. */
  {
    g_autoptr(DroverDispatch) dispatch = dispatch_to_all (&farm, &keys, job);
    GListModel *targets = drover_dispatch_get_targets (dispatch);

    drover_dispatch_send_async (dispatch, TRUE, NULL, store_result_cb, &result);
    g_assert_true (spin_until (result_arrived, &result, 20));
    g_assert_true (drover_dispatch_send_finish (dispatch, result, &n_sent, &error));
    g_assert_no_error (error);
    g_clear_object (&result);
    for (guint i = 0; i < g_list_model_get_n_items (targets); i++)
      {
        g_autoptr(DroverDispatchTarget) target = g_list_model_get_item (targets, i);

        g_test_message ("%s: %s", drover_dispatch_target_get_name (target), drover_dispatch_target_get_status (target));
        g_assert_cmpint (drover_dispatch_target_get_state (target), ==, DROVER_DISPATCH_SENT);
      }
    g_assert_cmpuint (n_sent, ==, 3);
  }

  printing.farm = &farm;
  printing.file = "drover_part.gcode";
  if (!spin_until (all_print, &printing, 20))
    for (guint i = 0; i < 3; i++)
      {
        g_autoptr(DroverPrinter) printer = g_list_model_get_item (G_LIST_MODEL (farm.fleet), i);

        g_test_message ("%s: state %d, file %s, listed %d", drover_printer_get_id (printer),
                        drover_printer_get_state (printer), drover_printer_get_current_file (printer),
                        find_file (&farm, drover_printer_get_id (printer), "drover_part.gcode") != NULL);
      }
  g_assert_true (all_print (&printing));

  /* Drover's own: expected, no alert; the signature beside it too. */
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(DroverPrinter) printer = g_list_model_get_item (G_LIST_MODEL (farm.fleet), i);

      g_assert_cmpint (drover_file_item_get_provenance (find_file (&farm, drover_printer_get_id (printer), "drover_part.gcode")),
                       ==, DROVER_FILE_SENT);
    }
  g_assert_nonnull (find_file (&farm, "p-0002", "drover_part.gcode.minisig"));
  for (guint i = 0; i < g_list_model_get_n_items (drover_audit_get_alerts (farm.audit)); i++)
    {
      g_autoptr(DroverAlert) alert = g_list_model_get_item (drover_audit_get_alerts (farm.audit), i);

      g_test_message ("alert: %s", drover_alert_get_title (alert));
      g_assert_cmpint (drover_alert_get_severity (alert), ==, DROVER_ALERT_NOTICE);
    }

  /* Pause, resume, heaters off and cancel reach each kind of printer. */
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(DroverPrinter) printer = g_list_model_get_item (G_LIST_MODEL (farm.fleet), i);
      const char *id = drover_printer_get_id (printer);
      static const struct { DroverPrinterAction action; DroverPrinterState state; } steps[] = {
        { DROVER_PRINTER_ACTION_PAUSE, DROVER_PRINTER_STATE_PAUSED },
        { DROVER_PRINTER_ACTION_RESUME, DROVER_PRINTER_STATE_PRINTING },
        { DROVER_PRINTER_ACTION_CANCEL, DROVER_PRINTER_STATE_IDLE },
      };

      for (guint j = 0; j < G_N_ELEMENTS (steps); j++)
        {
          ControlWait wait = { printer, steps[j].state };

          drover_farm_control_async (farm.farm, id, steps[j].action, NULL, store_result_cb, &result);
          g_assert_true (spin_until (result_arrived, &result, 10));
          if (!drover_farm_control_finish (farm.farm, result, &error))
            g_error ("%s, action %d: %s", id, steps[j].action, error->message);
          g_clear_object (&result);
          if (!spin_until (printer_reaches, &wait, 15))
            g_error ("%s did not reach state %d after action %d (it is %d)", id, steps[j].state, steps[j].action,
                     drover_printer_get_state (printer));
        }

      drover_farm_control_async (farm.farm, id, DROVER_PRINTER_ACTION_HEATERS_OFF, NULL, store_result_cb, &result);
      g_assert_true (spin_until (result_arrived, &result, 10));
      if (!drover_farm_control_finish (farm.farm, result, &error))
        g_error ("%s, heaters off: %s", id, error->message);
      g_clear_object (&result);
    }

  /* The same job again is a replay. */
  {
    g_autoptr(DroverJob) again = NULL;
    GAsyncResult *flushed = NULL;

    drover_ledger_flush_async (keys.ledger, NULL, store_result_cb, &flushed);
    g_assert_true (spin_until (result_arrived, &flushed, 10));
    g_clear_object (&flushed);
    again = load (&keys, file, &error);
    g_assert_no_error (error);
    g_assert_false (drover_job_check_printer (again, "p-0001", NULL, now, &error));
    g_assert_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_REPLAYED);
    g_clear_error (&error);
  }

  farm_stop (&farm);
  keys_clear (&keys);
}

typedef struct
{
  DroverFleet *fleet;
  const char  *printer_id;
  DroverPrinterState state;
} StateWait;

static gboolean
printer_in_state (gpointer data)
{
  StateWait *wait = data;
  DroverPrinter *printer = drover_fleet_find_printer (wait->fleet, wait->printer_id);

  return printer != NULL && drover_printer_get_state (printer) == wait->state;
}

typedef struct
{
  DroverLedger *ledger;
  const char   *result;
} OutcomeWait;

static gboolean
outcome_recorded (gpointer data)
{
  OutcomeWait *wait = data;
  DroverLedgerQuery query = { 0 };
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *needle = g_strdup_printf ("\"result\":\"%s\"", wait->result);

  query.kind = DROVER_LEDGER_KIND_JOB_OBSERVED;
  query.text = needle;
  rows = drover_ledger_query (wait->ledger, &query, NULL);
  return rows != NULL && rows->len > 0;
}

/* A job streamed to a USB printer (drover-sim's Marlin on a pty): the
 * gate, then the stream, then "completed" in the ledger. */
static void
test_job_serial (void)
{
  Keys keys = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) broker = NULL;
  g_autoptr(GSubprocess) sim = NULL;
  g_autoptr(DroverFleet) fleet = drover_fleet_new ();
  g_autoptr(DroverFarm) farm = NULL;
  g_autoptr(DroverAudit) audit = NULL;
  g_autoptr(DroverJob) job = NULL;
  g_autoptr(DroverDispatch) dispatch = NULL;
  g_autoptr(DroverTransport) transport = NULL;
  g_autoptr(GFile) file = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *inventory_path = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *manifest = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  GAsyncResult *result = NULL;
  DroverInventory *inventory;
  StateWait idle;
  OutcomeWait completed;
  gsize length = 0;
  guint n_sent = 0;

  keys_init (&keys);
  broker = drover_test_broker_start (NULL, &error);
  g_assert_no_error (error);
  uri = drover_test_broker_dup_uri (broker);
  inventory_path = g_build_filename (keys.dir, "farm.conf", NULL);
  sim = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                          g_getenv ("DROVER_SIM_BIN"), "--broker", uri, "--printers", "1", "--mix", "native=1",
                          "--serial", "1", "--baud", "0", "--no-random-jobs", "--http-port", "-1",
                          "--inventory", inventory_path, "--control", NULL);
  g_assert_no_error (error);
  for (guint i = 0; i < 3000 && !g_file_get_contents (inventory_path, &contents, &length, NULL); i++)
    g_usleep (10 * 1000);
  g_assert_nonnull (contents);
  inventory = drover_inventory_load_from_data (contents, length, &error);
  g_assert_no_error (error);

  farm = drover_farm_new (fleet, inventory);
  audit = drover_audit_new (fleet);
  drover_farm_set_audit (farm, audit);
  drover_audit_set_ledger (audit, keys.ledger);
  g_assert_true (drover_farm_start (farm, &error));
  idle.fleet = fleet;
  idle.printer_id = "s-0001";
  idle.state = DROVER_PRINTER_STATE_IDLE;
  g_assert_true (spin_until (printer_in_state, &idle, 30));

  manifest = manifest_for ("[\"s-0001\"]", now - 60, now + 3600, NULL);
  file = make_job (&keys, "usb_part.gcode", good_gcode, manifest, NULL);
  job = load (&keys, file, &error);
  g_assert_no_error (error);
  dispatch = drover_dispatch_new (job, audit, keys.ledger);
  transport = drover_farm_dup_transport (farm, "s-0001");
  g_assert_nonnull (transport);
  g_assert_cmpstr (drover_transport_get_name (transport), ==, "serial");
  drover_dispatch_add_target (dispatch, drover_fleet_find_printer (fleet, "s-0001"), transport, NULL);
  g_assert_cmpuint (drover_dispatch_get_n_eligible (dispatch), ==, 1);
  drover_dispatch_send_async (dispatch, TRUE, NULL, store_result_cb, &result);
  g_assert_true (spin_until (result_arrived, &result, 30));
  g_assert_true (drover_dispatch_send_finish (dispatch, result, &n_sent, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_sent, ==, 1);
  g_clear_object (&result);

  /* The whole job went through, and the ledger says how it ended. */
  completed.ledger = keys.ledger;
  completed.result = "completed";
  g_assert_true (spin_until (outcome_recorded, &completed, 60));

  /* droverctl stream, on the same printer once the farm let go of it. */
  drover_farm_stop (farm);
  drover_farm_set_audit (farm, NULL);
  g_assert_true (drover_trust_store_save (keys.trust, &error));
  g_assert_no_error (error);
  {
    g_autofree char *again = manifest_for ("[\"s-0001\"]", now - 60, now + 3600, NULL);
    g_autoptr(GFile) second = make_job (&keys, "headless.gcode", good_gcode, again, NULL);
    g_autoptr(GFile) unsigned_file = make_job (&keys, "headless_unsigned.gcode", good_gcode, NULL, NULL);
    g_autofree char *second_path = g_file_get_path (second);
    g_autofree char *unsigned_path = g_file_get_path (unsigned_file);
    const char *port = drover_farm_find_entry (farm, "s-0001")->key;
    const char *good_argv[] = { g_getenv ("DROVERCTL_BIN"), "stream", "--port", port, "--baud", "115200",
                                "--printer", "s-0001", "--trust-store", drover_trust_store_get_path (keys.trust),
                                "--ledger", drover_ledger_get_path (keys.ledger), "--plate-is-clear", second_path, NULL };
    const char *bad_argv[] = { g_getenv ("DROVERCTL_BIN"), "stream", "--port", port, "--printer", "s-0001",
                               "--trust-store", drover_trust_store_get_path (keys.trust),
                               "--ledger", drover_ledger_get_path (keys.ledger), "--plate-is-clear", unsigned_path, NULL };
    g_autoptr(GSubprocess) good = g_subprocess_newv (good_argv, G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
    g_autoptr(GSubprocess) bad = NULL;
    g_autofree char *good_err = NULL;
    g_autofree char *bad_err = NULL;

    g_assert_no_error (error);
    g_assert_true (g_subprocess_communicate_utf8 (good, NULL, NULL, NULL, &good_err, &error));
    g_test_message ("droverctl stream: %s", good_err);
    g_assert_cmpint (g_subprocess_get_exit_status (good), ==, 0);
    g_assert_nonnull (strstr (good_err, "The print completed"));

    bad = g_subprocess_newv (bad_argv, G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
    g_assert_no_error (error);
    g_assert_true (g_subprocess_communicate_utf8 (bad, NULL, NULL, NULL, &bad_err, &error));
    g_assert_cmpint (g_subprocess_get_exit_status (bad), ==, 1);
    g_assert_nonnull (strstr (bad_err, "Refused: "));
    g_assert_nonnull (strstr (bad_err, "is not signed"));
  }

  g_output_stream_write_all (g_subprocess_get_stdin_pipe (sim), "quit\n", 5, NULL, NULL, NULL);
  g_subprocess_wait (sim, NULL, NULL);
  keys_clear (&keys);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  drover_core_init (NULL);

  g_test_add_func ("/job/gate", test_job_gate);
  g_test_add_func ("/job/send", test_job_send);
  g_test_add_func ("/job/serial", test_job_serial);

  return g_test_run ();
}
