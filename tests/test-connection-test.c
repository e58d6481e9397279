/* test-connection-test.c: "Test connection" against real brokers
 *
 * A real mosquitto with a password file, TLS listeners with a generated CA,
 * a port nobody listens on, and a listener that accepts and never answers.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "drover-core.h"
#include "drover-test-broker.h"
#include "drover-test-tls.h"

#define WAIT_US (20 * G_USEC_PER_SEC)

typedef struct
{
  gboolean                done;
  DroverConnectionResult  result;
  char                   *message;
  GError                 *error;
} Outcome;

static void
tested_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Outcome *outcome = user_data;

  outcome->result = drover_connection_test_finish (result, &outcome->message, &outcome->error);
  outcome->done = TRUE;
}

/* Runs one test and returns its sentence, which says @expected. */
static char *
run_test (const DroverBrokerEntry *broker,
          const char              *password,
          guint                    timeout_seconds,
          DroverConnectionResult   expected)
{
  Outcome outcome = { 0 };
  gint64 deadline = g_get_monotonic_time () + WAIT_US;

  drover_connection_test_async (broker, password, timeout_seconds, NULL, tested_cb, &outcome);
  while (!outcome.done)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }

  g_assert_no_error (outcome.error);
  g_assert_nonnull (outcome.message);
  g_test_message ("%s: %s", broker->uri, outcome.message);
  if (outcome.result != expected)
    g_error ("%s: expected result %d, got %d: %s", broker->uri, expected, outcome.result, outcome.message);

  return outcome.message;
}

static DroverBrokerEntry *
new_broker (const char *format,
            ...) G_GNUC_PRINTF (1, 2);

static DroverBrokerEntry *
new_broker (const char *format,
            ...)
{
  DroverBrokerEntry *broker = drover_broker_entry_new ("farm");
  va_list args;

  va_start (args, format);
  broker->uri = g_strdup_vprintf (format, args);
  va_end (args);

  return broker;
}

static void
test_connection_credentials (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("drover-auth-XXXXXX", &error);
  g_autofree char *passwords = g_build_filename (dir, "passwd", NULL);
  g_autofree char *config = NULL;
  g_autoptr(DroverTestBroker) broker = NULL;
  g_autoptr(GSubprocess) passwd = NULL;
  g_autoptr(DroverBrokerEntry) entry = NULL;
  g_autofree char *right = NULL;
  g_autofree char *wrong = NULL;
  g_autofree char *nobody = NULL;

  g_assert_no_error (error);
  passwd = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error,
                             "mosquitto_passwd", "-c", "-b", passwords, "drover", "right-password", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (passwd, NULL, NULL));

  config = g_strdup_printf ("allow_anonymous false\npassword_file %s\n", passwords);
  broker = drover_test_broker_start (config, &error);
  g_assert_no_error (error);

  entry = new_broker ("tcp://127.0.0.1:%u", drover_test_broker_get_port (broker));
  entry->username = g_strdup ("drover");

  right = run_test (entry, "right-password", 5, DROVER_CONNECTION_CONNECTED);
  g_assert_nonnull (strstr (right, "Connected to tcp://127.0.0.1:"));
  g_assert_nonnull (strstr (right, "(MQTT 5)"));

  /* mosquitto answers a wrong password with "not authorised". */
  wrong = run_test (entry, "wrong-password", 5, DROVER_CONNECTION_NOT_AUTHORISED);
  g_assert_nonnull (strstr (wrong, "refused this client: check the user name and password"));

  /* Nobody at all, on a broker that wants a name. */
  g_clear_pointer (&entry->username, g_free);
  nobody = run_test (entry, NULL, 5, DROVER_CONNECTION_NOT_AUTHORISED);

  g_unlink (passwords);
  g_rmdir (dir);
}

static void
test_connection_tls (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("drover-tls-XXXXXX", &error);
  g_autofree char *other_dir = NULL;
  g_autofree char *ca = NULL;
  g_autofree char *other_ca = NULL;
  g_autoptr(DroverTestBroker) broker = NULL;
  g_autoptr(DroverTestBroker) wrong_name = NULL;
  g_autoptr(DroverBrokerEntry) entry = NULL;
  guint16 port;
  guint16 wrong_port;
  g_autofree char *good = NULL;
  g_autofree char *untrusted = NULL;
  g_autofree char *mismatch = NULL;
  g_autofree char *unchecked = NULL;
  g_autofree char *system_ca = NULL;
  g_autofree char *not_tls = NULL;

  g_assert_no_error (error);
  drover_test_make_certificates (dir, "right", "IP:127.0.0.1");
  drover_test_make_certificates (dir, "elsewhere", "DNS:broker.elsewhere.example");
  ca = g_build_filename (dir, "ca.pem", NULL);
  other_dir = g_build_filename (dir, "other", NULL);
  g_mkdir (other_dir, 0700);
  drover_test_make_certificates (other_dir, "unused", "IP:127.0.0.1");
  other_ca = g_build_filename (other_dir, "ca.pem", NULL);

  broker = drover_test_start_tls_broker (dir, "right", &port);
  wrong_name = drover_test_start_tls_broker (dir, "elsewhere", &wrong_port);

  /* The right CA, a certificate naming 127.0.0.1. */
  entry = new_broker ("ssl://127.0.0.1:%u", port);
  entry->ca_file = g_strdup (ca);
  good = run_test (entry, NULL, 5, DROVER_CONNECTION_CONNECTED);

  /* Another CA. */
  g_free (entry->ca_file);
  entry->ca_file = g_strdup (other_ca);
  untrusted = run_test (entry, NULL, 5, DROVER_CONNECTION_CERTIFICATE_UNTRUSTED);
  g_assert_nonnull (strstr (untrusted, "is not trusted: it is not signed by the CA in"));

  /* No CA file: the system's authorities never signed a test CA. */
  g_clear_pointer (&entry->ca_file, g_free);
  system_ca = run_test (entry, NULL, 5, DROVER_CONNECTION_CERTIFICATE_UNTRUSTED);
  g_assert_nonnull (strstr (system_ca, "Choose the broker's CA file"));

  /* The right CA, a certificate for another host. */
  g_free (entry->uri);
  entry->uri = g_strdup_printf ("ssl://127.0.0.1:%u", wrong_port);
  entry->ca_file = g_strdup (ca);
  mismatch = run_test (entry, NULL, 5, DROVER_CONNECTION_CERTIFICATE_WRONG_HOST);
  g_assert_nonnull (strstr (mismatch, "does not name the host “127.0.0.1”"));

  /* Only the operator's visible choice lifts the host name check. */
  entry->verify_host_name = FALSE;
  unchecked = run_test (entry, NULL, 5, DROVER_CONNECTION_CONNECTED);

  /* TLS asked of a port that speaks plain MQTT. */
  {
    g_autoptr(DroverTestBroker) plain = drover_test_broker_start (NULL, &error);
    g_autoptr(DroverBrokerEntry) plain_entry = NULL;

    g_assert_no_error (error);
    plain_entry = new_broker ("ssl://127.0.0.1:%u", drover_test_broker_get_port (plain));
    plain_entry->ca_file = g_strdup (ca);
    not_tls = run_test (plain_entry, NULL, 5, DROVER_CONNECTION_FAILED);
  }
}

static void
test_connection_unreachable (void)
{
  guint16 port = drover_test_free_port ();
  g_autoptr(DroverBrokerEntry) entry = new_broker ("tcp://127.0.0.1:%u", port);
  g_autoptr(DroverBrokerEntry) bad = new_broker ("http://127.0.0.1:%u", port);
  g_autofree char *refused = NULL;
  g_autofree char *malformed = NULL;
  g_autofree char *where = g_strdup_printf ("127.0.0.1:%u", port);

  g_assert_cmpuint (port, !=, 0);
  refused = run_test (entry, NULL, 5, DROVER_CONNECTION_UNREACHABLE);
  g_assert_nonnull (strstr (refused, "the connection was refused"));
  g_assert_nonnull (strstr (refused, where));

  malformed = run_test (bad, NULL, 5, DROVER_CONNECTION_FAILED);
  g_assert_nonnull (strstr (malformed, "is not a broker address Drover understands"));
}

static void
accepted_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GPtrArray *kept = user_data;
  GSocketConnection *connection;

  connection = g_socket_listener_accept_finish (G_SOCKET_LISTENER (source), result, NULL, NULL);
  if (connection == NULL)
    return;

  /* Accepted, and never a word back. */
  g_ptr_array_add (kept, connection);
  g_socket_listener_accept_async (G_SOCKET_LISTENER (source), NULL, accepted_cb, kept);
}

static void
test_connection_timeout (void)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverBrokerEntry) plain = NULL;
  g_autoptr(DroverBrokerEntry) tls = NULL;
  g_autofree char *plain_message = NULL;
  g_autofree char *tls_message = NULL;
  guint16 port;

  g_assert_true (g_socket_listener_add_address (listener, address, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                                NULL, &bound, &error));
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_listener_accept_async (listener, NULL, accepted_cb, kept);

  /* MQTT: CONNECT sent, no CONNACK ever. */
  plain = new_broker ("tcp://127.0.0.1:%u", port);
  plain_message = run_test (plain, NULL, 2, DROVER_CONNECTION_TIMED_OUT);
  g_assert_nonnull (strstr (plain_message, "did not answer within 2 seconds"));

  /* TLS: ClientHello sent, no ServerHello ever. */
  tls = new_broker ("ssl://127.0.0.1:%u", port);
  tls_message = run_test (tls, NULL, 2, DROVER_CONNECTION_TIMED_OUT);

  g_socket_listener_close (listener);
}

static void
test_connection_cancel (void)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverBrokerEntry) entry = NULL;
  Outcome outcome = { 0 };
  gint64 deadline = g_get_monotonic_time () + WAIT_US;
  guint16 port;

  port = g_socket_listener_add_any_inet_port (listener, NULL, &error);
  g_assert_no_error (error);
  g_socket_listener_accept_async (listener, NULL, accepted_cb, kept);

  /* The window closed while the test ran: it ends, cancelled. */
  entry = new_broker ("tcp://127.0.0.1:%u", port);
  drover_connection_test_async (entry, NULL, 10, cancellable, tested_cb, &outcome);
  for (guint i = 0; i < 50; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_cancellable_cancel (cancellable);
  while (!outcome.done)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_error (outcome.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (outcome.message);
  g_clear_error (&outcome.error);

  g_socket_listener_close (listener);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/connection-test/credentials", test_connection_credentials);
  g_test_add_func ("/connection-test/tls", test_connection_tls);
  g_test_add_func ("/connection-test/unreachable", test_connection_unreachable);
  g_test_add_func ("/connection-test/timeout", test_connection_timeout);
  g_test_add_func ("/connection-test/cancel", test_connection_cancel);

  return g_test_run ();
}
