/* test-secrets.c: passwords and access codes in a real keyring
 *
 * gnome-keyring-daemon on a private session bus (the keyring fixture);
 * and, in a child process, no keyring at all.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define _GNU_SOURCE

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "drover-core.h"
#include "drover-test-broker.h"
#include "drover-test-keyring.h"

#define WAIT_US (10 * G_USEC_PER_SEC)

static DroverTestKeyring *keyring;

typedef struct
{
  gboolean  done;
  gboolean  ok;
  char     *secret;
  GError   *error;
} Result;

static void
result_clear (Result *result)
{
  drover_secrets_free (result->secret);
  g_clear_error (&result->error);
  memset (result, 0, sizeof *result);
}

static void
wait_for (Result *result)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_US;

  while (!result->done)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static void
stored_cb (GObject      *source,
           GAsyncResult *async_result,
           gpointer      user_data)
{
  Result *result = user_data;

  result->ok = drover_secrets_store_finish (async_result, &result->error);
  result->done = TRUE;
}

static void
looked_up_cb (GObject      *source,
              GAsyncResult *async_result,
              gpointer      user_data)
{
  Result *result = user_data;

  result->secret = drover_secrets_lookup_finish (async_result, &result->error);
  result->ok = result->error == NULL;
  result->done = TRUE;
}

static void
cleared_cb (GObject      *source,
            GAsyncResult *async_result,
            gpointer      user_data)
{
  Result *result = user_data;

  result->ok = drover_secrets_clear_finish (async_result, &result->error);
  result->done = TRUE;
}

static void
store (DroverSecretKind  kind,
       const char       *name,
       const char       *secret)
{
  Result result = { 0 };

  drover_secrets_store_async (kind, name, secret, NULL, stored_cb, &result);
  wait_for (&result);
  g_assert_no_error (result.error);
  g_assert_true (result.ok);
  result_clear (&result);
}

static char *
lookup (DroverSecretKind  kind,
        const char       *name)
{
  Result result = { 0 };
  char *secret;

  drover_secrets_lookup_async (kind, name, NULL, looked_up_cb, &result);
  wait_for (&result);
  g_assert_no_error (result.error);
  secret = g_steal_pointer (&result.secret);
  result_clear (&result);

  return secret;
}

static void
clear (DroverSecretKind  kind,
       const char       *name)
{
  Result result = { 0 };

  drover_secrets_clear_async (kind, name, NULL, cleared_cb, &result);
  wait_for (&result);
  g_assert_no_error (result.error);
  g_assert_true (result.ok);
  result_clear (&result);
}

/* Whether @needle is in any file under @dir. */
static gboolean
found_in_files (const char *dir,
                const char *needle)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *contents = NULL;
      gsize length;

      if (g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        continue;
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (found_in_files (path, needle))
            return TRUE;
        }
      else if (g_file_get_contents (path, &contents, &length, NULL) &&
               memmem (contents, length, needle, strlen (needle)) != NULL)
        return TRUE;
    }

  return FALSE;
}

static void
test_secrets_round_trip (void)
{
  g_autofree char *keyrings = g_build_filename (drover_test_keyring_get_dir (keyring), "data", "keyrings", NULL);
  char *secret;

  /* Nothing kept is no error. */
  secret = lookup (DROVER_SECRET_BROKER, "farm");
  g_assert_null (secret);

  store (DROVER_SECRET_BROKER, "farm", "correct horse battery staple");
  store (DROVER_SECRET_PRINTER, "farm", "12345678");

  /* Broker and printer of one name are two secrets. */
  secret = lookup (DROVER_SECRET_BROKER, "farm");
  g_assert_cmpstr (secret, ==, "correct horse battery staple");
  drover_secrets_free (secret);
  secret = lookup (DROVER_SECRET_PRINTER, "farm");
  g_assert_cmpstr (secret, ==, "12345678");
  drover_secrets_free (secret);
  g_assert_null (lookup (DROVER_SECRET_BROKER, "farm-2"));

  /* Storing again replaces. */
  store (DROVER_SECRET_BROKER, "farm", "tr0ub4dor&3");
  secret = lookup (DROVER_SECRET_BROKER, "farm");
  g_assert_cmpstr (secret, ==, "tr0ub4dor&3");
  drover_secrets_free (secret);

  /* The keyring keeps them encrypted on disk. */
  g_assert_true (g_file_test (keyrings, G_FILE_TEST_IS_DIR));
  g_assert_false (found_in_files (keyrings, "tr0ub4dor&3"));

  clear (DROVER_SECRET_BROKER, "farm");
  g_assert_null (lookup (DROVER_SECRET_BROKER, "farm"));
  secret = lookup (DROVER_SECRET_PRINTER, "farm");
  g_assert_cmpstr (secret, ==, "12345678");
  drover_secrets_free (secret);
  /* Clearing what is not there is fine. */
  clear (DROVER_SECRET_BROKER, "farm");
  clear (DROVER_SECRET_PRINTER, "farm");
}

static void
test_secrets_no_keyring (void)
{
  if (g_test_subprocess ())
    {
      Result result = { 0 };
      const char *home = g_get_home_dir ();

      /* A session bus that is not there: no Secret Service either. */
      g_setenv ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/drover-no-bus", TRUE);
      g_unsetenv ("DISPLAY");

      drover_secrets_store_async (DROVER_SECRET_BROKER, "farm", "plain-text-never", NULL, stored_cb, &result);
      wait_for (&result);
      g_assert_false (result.ok);
      g_assert_error (result.error, DROVER_SECRETS_ERROR, DROVER_SECRETS_ERROR_NO_KEYRING);
      g_assert_cmpstr (result.error->message, ==,
                       "No keyring is available: Drover will not store passwords in plain text. "
                       "Start GNOME Keyring or another Secret Service.");
      result_clear (&result);

      drover_secrets_lookup_async (DROVER_SECRET_BROKER, "farm", NULL, looked_up_cb, &result);
      wait_for (&result);
      g_assert_error (result.error, DROVER_SECRETS_ERROR, DROVER_SECRETS_ERROR_NO_KEYRING);
      result_clear (&result);

      /* Nothing written anywhere this process may write. */
      g_assert_false (found_in_files (home, "plain-text-never"));
      g_assert_false (found_in_files (g_get_user_data_dir (), "plain-text-never"));
      g_assert_false (found_in_files (g_get_user_config_dir (), "plain-text-never"));
      g_assert_false (found_in_files (g_get_user_cache_dir (), "plain-text-never"));
      g_assert_false (found_in_files (g_get_user_runtime_dir (), "plain-text-never"));
      return;
    }

  g_test_trap_subprocess (NULL, 20 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static gboolean
all_connected (gpointer data)
{
  GPtrArray *links = data;

  for (guint i = 0; i < links->len; i++)
    {
      if (drover_mqtt_link_get_state (g_ptr_array_index (links, i)) != DROVER_LINK_STATE_CONNECTED)
        return FALSE;
    }

  return TRUE;
}

static gboolean
run_openssl (const char *first,
             ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  const char *arg;
  va_list args;

  g_ptr_array_add (argv, (gpointer)"openssl");
  g_ptr_array_add (argv, (gpointer)first);
  va_start (args, first);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer)arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_newv ((const char * const *)argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, NULL);
  return process != NULL && g_subprocess_wait_check (process, NULL, NULL);
}

/* A CA, and a certificate for a Bambu printer: it names the serial. */
static void
make_printer_certificate (const char *dir,
                          const char *serial)
{
  g_autofree char *ca_key = g_build_filename (dir, "ca.key", NULL);
  g_autofree char *ca = g_build_filename (dir, "ca.pem", NULL);
  g_autofree char *key = g_build_filename (dir, "printer.key", NULL);
  g_autofree char *csr = g_build_filename (dir, "printer.csr", NULL);
  g_autofree char *cert = g_build_filename (dir, "printer.pem", NULL);
  g_autofree char *ext = g_build_filename (dir, "printer.ext", NULL);
  g_autofree char *ext_text = g_strdup_printf ("subjectAltName=DNS:%s\n", serial);
  g_autofree char *subject = g_strdup_printf ("/CN=%s", serial);

  g_assert_true (run_openssl ("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                              "-keyout", ca_key, "-out", ca, "-days", "30", "-subj", "/CN=Drover Test CA", NULL));
  g_assert_true (g_file_set_contents (ext, ext_text, -1, NULL));
  g_assert_true (run_openssl ("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                              "-keyout", key, "-out", csr, "-subj", subject, NULL));
  g_assert_true (run_openssl ("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                              "-out", cert, "-days", "30", "-extfile", ext, NULL));
}

/* A farm takes a broker's password and a Bambu printer's access code
 * from the keyring, and connects with them. */
static void
test_secrets_farm (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("drover-secrets-XXXXXX", &error);
  g_autofree char *passwords = g_build_filename (dir, "passwd", NULL);
  g_autofree char *config = NULL;
  g_autofree char *text = NULL;
  g_autoptr(DroverTestBroker) broker = NULL;
  g_autoptr(GSubprocess) passwd = NULL;
  g_autoptr(DroverFleet) fleet = drover_fleet_new ();
  g_autoptr(DroverFarm) farm = NULL;
  DroverInventory *inventory;
  GPtrArray *links;
  gint64 deadline;
  guint16 tls_port = drover_test_free_port ();

  g_assert_no_error (error);
  passwd = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error,
                             "mosquitto_passwd", "-c", "-b", passwords, "drover", "farm-password", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (passwd, NULL, NULL));
  g_clear_object (&passwd);
  passwd = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error,
                             "mosquitto_passwd", "-b", passwords, "bblp", "87654321", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (passwd, NULL, NULL));

  /* The farm's broker, and on a TLS port of the same mosquitto, a Bambu
   * printer as drover-sim plays one: user bblp, its certificate for its
   * serial. */
  make_printer_certificate (dir, "01S00A000000001");
  config = g_strdup_printf ("allow_anonymous false\npassword_file %s\n"
                            "listener %u 127.0.0.1\ncafile %s/ca.pem\ncertfile %s/printer.pem\nkeyfile %s/printer.key\n",
                            passwords, tls_port, dir, dir, dir);
  broker = drover_test_broker_start (config, &error);
  g_assert_no_error (error);
  g_assert_true (drover_test_wait_for_port (tls_port, 5000));

  store (DROVER_SECRET_BROKER, "farm", "farm-password");
  store (DROVER_SECRET_PRINTER, "x1c", "87654321");

  text = g_strdup_printf ("[broker farm]\nuri=tcp://127.0.0.1:%u\nusername=drover\n\n"
                          "[printer p-1]\nconnector=native\nbroker=farm\n\n"
                          "[printer x1c]\nconnector=bambu\nuri=ssl://127.0.0.1:%u\nca-file=%s/ca.pem\n"
                          "serial=01S00A000000001\n",
                          drover_test_broker_get_port (broker), tls_port, dir);
  inventory = drover_inventory_load_from_data (text, strlen (text), &error);
  g_assert_no_error (error);

  farm = drover_farm_new (fleet, inventory);
  g_assert_true (drover_farm_start (farm, &error));
  g_assert_no_error (error);
  links = drover_farm_get_links (farm);
  g_assert_cmpuint (links->len, ==, 2);

  deadline = g_get_monotonic_time () + WAIT_US;
  while (!all_connected (links))
    {
      if (g_get_monotonic_time () > deadline)
        {
          g_autofree char *log = drover_test_broker_dup_log (broker);

          g_error ("not connected: %s / %s\n%s",
                   drover_mqtt_link_get_status_message (g_ptr_array_index (links, 0)),
                   drover_mqtt_link_get_status_message (g_ptr_array_index (links, 1)), log);
        }
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }

  drover_farm_stop (farm);

  /* Stopped before the keyring answered: the links stay stopped. */
  g_clear_object (&farm);
  inventory = drover_inventory_load_from_data (text, strlen (text), &error);
  farm = drover_farm_new (fleet, inventory);
  g_assert_true (drover_farm_start (farm, &error));
  drover_farm_stop (farm);
  deadline = g_get_monotonic_time () + G_USEC_PER_SEC / 2;
  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  links = drover_farm_get_links (farm);
  for (guint i = 0; i < links->len; i++)
    g_assert_cmpint (drover_mqtt_link_get_state (g_ptr_array_index (links, i)), ==, DROVER_LINK_STATE_STOPPED);

  clear (DROVER_SECRET_BROKER, "farm");
  clear (DROVER_SECRET_PRINTER, "x1c");
  {
    static const char * const files[] = { "passwd", "ca.key", "ca.pem", "ca.srl", "printer.key", "printer.csr",
                                          "printer.pem", "printer.ext" };

    for (guint i = 0; i < G_N_ELEMENTS (files); i++)
      {
        g_autofree char *file = g_build_filename (dir, files[i], NULL);

        g_unlink (file);
      }
  }
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  /* The child of the no-keyring test must find none. */
  if (!g_test_subprocess ())
    {
      keyring = drover_test_keyring_start (&error);
      if (keyring == NULL)
        g_error ("No keyring for the tests: %s", error->message);
    }

  g_test_add_func ("/secrets/round-trip", test_secrets_round_trip);
  g_test_add_func ("/secrets/no-keyring", test_secrets_no_keyring);
  g_test_add_func ("/secrets/farm", test_secrets_farm);

  status = g_test_run ();

  g_clear_pointer (&keyring, drover_test_keyring_free);

  return status;
}
