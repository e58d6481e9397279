/* test-broker-check.c: the broker security check against an open and a
 * locked mosquitto, and droverctl audit broker's exit status
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "drover-core.h"
#include "drover-test-broker.h"
#include "drover-test-tls.h"

#define WAIT_US (60 * G_USEC_PER_SEC)

static gboolean
something_listens_on_1883 (void)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;

  g_socket_client_set_timeout (client, 2);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", 1883, NULL, NULL);
  return connection != NULL;
}

static void
check_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GPtrArray *
run_check (const char  *uri,
           const char  *username,
           const char  *password,
           const char  *ca_file,
           GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  gint64 deadline = g_get_monotonic_time () + WAIT_US;

  drover_broker_check_async (uri, username, password, ca_file, NULL, check_done_cb, &result);
  while (result == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }

  return drover_broker_check_finish (result, error);
}

static DroverBrokerFinding *
find (GPtrArray         *findings,
      DroverBrokerCheck  check)
{
  for (guint i = 0; i < findings->len; i++)
    {
      DroverBrokerFinding *finding = g_ptr_array_index (findings, i);

      if (finding->check == check)
        return finding;
    }

  g_assert_not_reached ();
}

static void
log_findings (GPtrArray *findings)
{
  for (guint i = 0; i < findings->len; i++)
    {
      DroverBrokerFinding *finding = g_ptr_array_index (findings, i);

      g_test_message ("check %d, verdict %d: %s", finding->check, finding->verdict, finding->sentence);
      g_assert_nonnull (finding->sentence);
    }
}

/* A printer leaves a retained status, as real printers do. */
static void
publish_status (const char *uri,
                const char *username,
                const char *password,
                const char *ca_file,
                const char *topic)
{
  g_autoptr(DroverMqttLink) link = drover_mqtt_link_new (uri, "test-printer");
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  if (username != NULL)
    drover_mqtt_link_set_credentials (link, username, password);
  if (ca_file != NULL)
    drover_mqtt_link_set_tls (link, ca_file, NULL, NULL, TRUE);
  g_assert_true (drover_mqtt_link_start (link, NULL));
  while (drover_mqtt_link_get_state (link) != DROVER_LINK_STATE_CONNECTED)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }

  g_assert_true (drover_mqtt_link_publish (link, topic, "{\"state\":\"idle\"}", 16, 1, TRUE, &error));
  g_assert_no_error (error);
  /* Let the publish leave before disconnecting. */
  deadline = g_get_monotonic_time () + 300 * 1000;
  while (g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  drover_mqtt_link_stop (link);
}

static int
run_droverctl (const char * const *args,
               const char         *password)
{
  const char *droverctl = g_getenv ("DROVERCTL_BIN");
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;

  g_assert_nonnull (droverctl);
  g_ptr_array_add (argv, (char *)droverctl);
  g_ptr_array_add (argv, (char *)"audit");
  g_ptr_array_add (argv, (char *)"broker");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *)args[i]);
  g_ptr_array_add (argv, NULL);

  if (password != NULL)
    g_subprocess_launcher_setenv (launcher, "TEST_BROKER_PASSWORD", password, TRUE);
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *)argv->pdata, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("droverctl said:\n%s", out);
  g_assert_true (g_subprocess_get_if_exited (process));

  return g_subprocess_get_exit_status (process);
}

static void
test_broker_check_open (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) broker = drover_test_broker_start (NULL, &error);
  g_autofree char *uri = NULL;
  g_autoptr(GPtrArray) findings = NULL;

  g_assert_no_error (error);
  uri = drover_test_broker_dup_uri (broker);
  publish_status (uri, NULL, NULL, NULL, "drover/v1/printer-2/status");

  findings = run_check (uri, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  log_findings (findings);
  g_assert_cmpuint (findings->len, ==, 4);
  g_assert_cmpint (find (findings, DROVER_BROKER_CHECK_ANONYMOUS)->verdict, ==, DROVER_BROKER_VERDICT_PROBLEM);
  g_assert_cmpint (find (findings, DROVER_BROKER_CHECK_UNENCRYPTED)->verdict, ==, DROVER_BROKER_VERDICT_PROBLEM);
  g_assert_cmpint (find (findings, DROVER_BROKER_CHECK_READ_ALL)->verdict, ==, DROVER_BROKER_VERDICT_PROBLEM);
  g_assert_nonnull (strstr (find (findings, DROVER_BROKER_CHECK_READ_ALL)->sentence, "drover/v1/printer-2/status"));
  g_assert_cmpint (find (findings, DROVER_BROKER_CHECK_COMMAND_OTHERS)->verdict, ==, DROVER_BROKER_VERDICT_PROBLEM);

  {
    const char *args[] = { uri, NULL };

    g_assert_cmpint (run_droverctl (args, NULL), ==, 1);
  }
}

static void
test_broker_check_locked (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("drover-broker-check-XXXXXX", &error);
  g_autofree char *passwords = NULL;
  g_autofree char *acl = NULL;
  g_autofree char *ca = NULL;
  g_autofree char *config = NULL;
  g_autofree char *uri = NULL;
  g_autoptr(DroverTestBroker) broker = NULL;
  g_autoptr(GPtrArray) findings = NULL;
  const char *users[][2] = { { "printer-1", "secret-1" }, { "printer-2", "secret-2" } };
  guint16 tls_port = drover_test_free_port ();
  gboolean port_1883_taken;

  g_assert_no_error (error);
  passwords = g_build_filename (dir, "passwd", NULL);
  acl = g_build_filename (dir, "acl", NULL);
  ca = g_build_filename (dir, "ca.pem", NULL);
  drover_test_make_certificates (dir, "broker", "IP:127.0.0.1");

  for (guint i = 0; i < G_N_ELEMENTS (users); i++)
    {
      g_autoptr(GSubprocess) passwd = NULL;

      /* The first call creates the file. */
      passwd = i == 0
        ? g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, "mosquitto_passwd", "-c", "-b",
                            passwords, users[i][0], users[i][1], NULL)
        : g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, "mosquitto_passwd", "-b",
                            passwords, users[i][0], users[i][1], NULL);
      g_assert_no_error (error);
      g_assert_true (g_subprocess_wait_check (passwd, NULL, NULL));
    }

  /* Each printer reads its own commands and writes its own status; no
   * account may read “#” or write another printer's cmd. */
  g_assert_true (g_file_set_contents (acl,
                                      "pattern read drover/v1/%u/cmd\n"
                                      "pattern readwrite drover/v1/%u/status\n",
                                      -1, &error));
  g_assert_no_error (error);

  config = g_strdup_printf ("listener %u 127.0.0.1\n"
                            "cafile %s\ncertfile %s/broker.pem\nkeyfile %s/broker.key\n"
                            "allow_anonymous false\n"
                            "password_file %s\n"
                            "acl_file %s\n",
                            tls_port, ca, dir, dir, passwords, acl);
  port_1883_taken = something_listens_on_1883 ();
  broker = drover_test_broker_start (config, &error);
  g_assert_no_error (error);
  g_assert_true (drover_test_wait_for_port (tls_port, 5000));
  uri = g_strdup_printf ("ssl://127.0.0.1:%u", tls_port);

  publish_status (uri, "printer-2", "secret-2", ca, "drover/v1/printer-2/status");

  findings = run_check (uri, "printer-1", "secret-1", ca, &error);
  g_assert_no_error (error);
  log_findings (findings);
  g_assert_cmpuint (findings->len, ==, 4);
  g_assert_cmpint (find (findings, DROVER_BROKER_CHECK_ANONYMOUS)->verdict, ==, DROVER_BROKER_VERDICT_OK);
  /* The check tries the unencrypted port 1883 of the same host: a system
   * mosquitto that apt-get started on this machine would answer there. */
  if (!port_1883_taken)
    g_assert_cmpint (find (findings, DROVER_BROKER_CHECK_UNENCRYPTED)->verdict, !=, DROVER_BROKER_VERDICT_PROBLEM);
  else
    g_test_message ("127.0.0.1:1883 answers on this machine: the unencrypted verdict is not checked");
  g_assert_cmpint (find (findings, DROVER_BROKER_CHECK_READ_ALL)->verdict, !=, DROVER_BROKER_VERDICT_PROBLEM);
  g_assert_cmpint (find (findings, DROVER_BROKER_CHECK_COMMAND_OTHERS)->verdict, ==, DROVER_BROKER_VERDICT_OK);

  {
    const char *args[] = { uri, "--username", "printer-1", "--password-env", "TEST_BROKER_PASSWORD",
                           "--ca-file", ca, NULL };
    const char *wrong_password[] = { uri, "--username", "printer-1", "--password-env", "TEST_BROKER_PASSWORD",
                                     "--ca-file", ca, NULL };
    const char *no_uri[] = { "--username", "printer-1", NULL };
    const char *unset_env[] = { uri, "--password-env", "DROVER_TEST_SURELY_UNSET", NULL };

    g_assert_cmpint (run_droverctl (args, "secret-1"), ==, 0);
    g_assert_cmpint (run_droverctl (wrong_password, "wrong"), ==, 2);
    g_assert_cmpint (run_droverctl (no_uri, NULL), ==, 2);
    g_assert_cmpint (run_droverctl (unset_env, NULL), ==, 2);
  }
}

static void
test_broker_check_unreachable (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = g_strdup_printf ("tcp://127.0.0.1:%u", drover_test_free_port ());
  g_autoptr(GPtrArray) findings = run_check (uri, NULL, NULL, NULL, &error);
  const char *args[] = { uri, NULL };

  g_assert_null (findings);
  g_assert_error (error, DROVER_BROKER_CHECK_ERROR, DROVER_BROKER_CHECK_ERROR_CONNECT);
  g_test_message ("%s", error->message);
  g_assert_cmpint (run_droverctl (args, NULL), ==, 2);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/broker-check/open", test_broker_check_open);
  g_test_add_func ("/broker-check/locked", test_broker_check_locked);
  g_test_add_func ("/broker-check/unreachable", test_broker_check_unreachable);

  return g_test_run ();
}
