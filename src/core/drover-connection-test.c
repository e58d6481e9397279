/* drover-connection-test.c: one attempt to reach a broker, told in words
 *
 * Preferences' "Test connection": connect once, no retries, within a
 * time limit, and say what went wrong in a way the operator can act on.
 *
 * Paho reports every TLS failure the same way, so a pre-flight over GIO
 * comes first: a TCP connection (refused, no route, unknown name, no
 * answer) and, for TLS, a handshake checked against the broker's CA file
 * and host name, which tells an unknown CA from a certificate for another
 * host. Only then does Paho connect with the same settings a link uses,
 * and the broker's CONNACK says whether it takes the credentials.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-connection-test"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <MQTTAsync.h>
#include <string.h>

#include "drover-connection-test.h"

typedef struct
{
  DroverConnectionResult  result;
  char                   *message;
} Outcome;

/* Paho's side: lives until Paho's one callback came back, which its own
 * connect timeout guarantees, even when the test finished before. */
typedef struct
{
  MQTTAsync      client;
  GMainContext  *context;
  GTask         *task;      /* main thread only; NULL once the test is over */
  int            version;
  char          *uri;
  char          *username;
  char          *password;
  char          *ca_file;
  char          *certificate_file;
  char          *key_file;
  gboolean       tls;
  gboolean       verify_host_name;
  int            timeout_seconds;
} Attempt;

typedef struct
{
  DroverBrokerEntry     *broker;
  char                  *password;
  char                  *host;
  guint16                port;
  gboolean               tls;
  guint                  timeout_seconds;
  gboolean               done;
  GSource               *timeout_source;
  GCancellable          *preflight_cancellable;
  GCancellable          *cancellable;
  gulong                 cancelled_id;
  GIOStream             *preflight;
  GTlsCertificateFlags   certificate_errors;
} TestData;

static void attempt_connect (Attempt *attempt);

static void
outcome_free (Outcome *outcome)
{
  g_free (outcome->message);
  g_free (outcome);
}

static void
attempt_clear (Attempt *attempt)
{
  g_clear_pointer (&attempt->context, g_main_context_unref);
  g_clear_object (&attempt->task);
  g_free (attempt->uri);
  g_free (attempt->username);
  if (attempt->password != NULL)
    memset (attempt->password, 0, strlen (attempt->password));
  g_free (attempt->password);
  g_free (attempt->ca_file);
  g_free (attempt->certificate_file);
  g_free (attempt->key_file);
}

static void
attempt_unref (Attempt *attempt)
{
  g_atomic_rc_box_release_full (attempt, (GDestroyNotify)attempt_clear);
}

static void
test_data_free (TestData *data)
{
  drover_broker_entry_free (data->broker);
  if (data->password != NULL)
    memset (data->password, 0, strlen (data->password));
  g_free (data->password);
  g_free (data->host);
  if (data->timeout_source != NULL)
    g_source_destroy (data->timeout_source);
  g_clear_pointer (&data->timeout_source, g_source_unref);
  g_clear_object (&data->preflight_cancellable);
  g_clear_object (&data->cancellable);
  g_clear_object (&data->preflight);
  g_free (data);
}

/* Ends the test once, whatever comes later. */
static void
finish (GTask                  *task,
        DroverConnectionResult  result,
        char                   *message)
{
  TestData *data = g_task_get_task_data (task);
  Outcome *outcome;

  if (data->done)
    {
      g_free (message);
      return;
    }
  data->done = TRUE;

  if (data->timeout_source != NULL)
    g_source_destroy (data->timeout_source);
  g_cancellable_cancel (data->preflight_cancellable);
  if (data->cancelled_id != 0)
    g_cancellable_disconnect (data->cancellable, data->cancelled_id);
  data->cancelled_id = 0;
  if (data->preflight != NULL)
    g_io_stream_close_async (data->preflight, G_PRIORITY_DEFAULT, NULL, NULL, NULL);

  if (g_cancellable_is_cancelled (data->cancellable))
    {
      g_free (message);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The connection test was cancelled."));
      return;
    }

  outcome = g_new0 (Outcome, 1);
  outcome->result = result;
  outcome->message = message;
  g_task_return_pointer (task, outcome, (GDestroyNotify)outcome_free);
}

static char *
host_and_port (TestData *data)
{
  if (strchr (data->host, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", data->host, data->port);

  return g_strdup_printf ("%s:%u", data->host, data->port);
}

static gboolean
timed_out_cb (gpointer user_data)
{
  GTask *task = user_data;
  TestData *data = g_task_get_task_data (task);
  g_autofree char *where = host_and_port (data);

  finish (task, DROVER_CONNECTION_TIMED_OUT,
          g_strdup_printf (_("%s did not answer within %u seconds: check the address and port, "
                             "and that a firewall lets the connection through."),
                           where, data->timeout_seconds));

  return G_SOURCE_REMOVE;
}

static gboolean
cancelled_idle_cb (gpointer user_data)
{
  finish (user_data, DROVER_CONNECTION_FAILED, NULL);

  return G_SOURCE_REMOVE;
}

static void
cancelled_cb (GCancellable *cancellable,
              gpointer      user_data)
{
  GTask *task = user_data;
  GSource *source = g_idle_source_new ();

  /* "cancelled" may come on any thread; the task ends on its own. */
  g_source_set_callback (source, cancelled_idle_cb, g_object_ref (task), g_object_unref);
  g_source_attach (source, g_task_get_context (task));
  g_source_unref (source);
}

/* Paho: its threads, then the main context */

typedef struct
{
  Attempt  *attempt;
  gboolean  success;
  int       code;
  char     *message;
} PahoReport;

static char *
describe_refusal (const char *uri,
                  int         code,
                  const char *paho_message,
                  DroverConnectionResult *result)
{
  switch (code)
    {
    case 4:   /* 3.1.1 CONNACK: bad user name or password */
    case MQTTREASONCODE_BAD_USER_NAME_OR_PASSWORD:
      *result = DROVER_CONNECTION_REFUSED_CREDENTIALS;
      return g_strdup_printf (_("The broker at %s refused the user name or password."), uri);

    case 5:   /* 3.1.1 CONNACK: not authorised */
    case MQTTREASONCODE_NOT_AUTHORIZED:
      *result = DROVER_CONNECTION_NOT_AUTHORISED;
      /* mosquitto answers a wrong password this way too. */
      return g_strdup_printf (_("The broker at %s refused this client: check the user name and password, "
                                "and the broker's access rules."), uri);

    case 2:
    case MQTTREASONCODE_CLIENT_IDENTIFIER_NOT_VALID:
      *result = DROVER_CONNECTION_NOT_AUTHORISED;
      return g_strdup_printf (_("The broker at %s refused Drover's client id."), uri);

    case 3:
    case MQTTREASONCODE_SERVER_UNAVAILABLE:
    case MQTTREASONCODE_SERVER_BUSY:
      *result = DROVER_CONNECTION_FAILED;
      return g_strdup_printf (_("The broker at %s is unavailable or busy."), uri);

    default:
      *result = DROVER_CONNECTION_FAILED;
      if (paho_message != NULL && strstr (paho_message, "timeout") != NULL)
        {
          *result = DROVER_CONNECTION_TIMED_OUT;
          return g_strdup_printf (_("The broker at %s did not answer in time."), uri);
        }
      if (paho_message != NULL)
        return g_strdup_printf (_("The broker at %s did not take the connection: %s (code %d)."),
                                uri, paho_message, code);
      return g_strdup_printf (_("The broker at %s did not take the connection (code %d)."), uri, code);
    }
}

static gboolean
paho_report_cb (gpointer user_data)
{
  PahoReport *report = user_data;
  Attempt *attempt = report->attempt;
  gboolean retry_in_3_1_1;

  retry_in_3_1_1 = !report->success && attempt->version == MQTTVERSION_5 &&
                   (report->code == MQTTREASONCODE_UNSUPPORTED_PROTOCOL_VERSION || report->code == 1);

  if (report->success)
    {
      MQTTAsync_disconnectOptions options = MQTTAsync_disconnectOptions_initializer;

      options.timeout = 0;
      MQTTAsync_disconnect (attempt->client, &options);
    }
  /* After this no callback of this client runs. */
  MQTTAsync_destroy (&attempt->client);

  if (attempt->task != NULL)
    {
      if (retry_in_3_1_1)
        {
          /* The broker speaks only 3.1.1: ask in its language, once. */
          attempt->version = MQTTVERSION_3_1_1;
          attempt_connect (g_atomic_rc_box_acquire (attempt));
          return G_SOURCE_REMOVE;
        }

      if (report->success)
        finish (attempt->task, DROVER_CONNECTION_CONNECTED,
                g_strdup_printf (_("Connected to %s (MQTT %s)."), attempt->uri,
                                 attempt->version == MQTTVERSION_5 ? "5" : "3.1.1"));
      else
        {
          DroverConnectionResult result;
          char *message = describe_refusal (attempt->uri, report->code, report->message, &result);

          finish (attempt->task, result, message);
        }
      g_clear_object (&attempt->task);
    }

  return G_SOURCE_REMOVE;
}

static void
paho_report_free (PahoReport *report)
{
  attempt_unref (report->attempt);
  g_free (report->message);
  g_free (report);
}

static void
post_report (Attempt    *attempt,
             gboolean    success,
             int         code,
             const char *message)
{
  PahoReport *report = g_new0 (PahoReport, 1);
  GSource *source = g_idle_source_new ();

  /* Paho's own reference travels with the report. */
  report->attempt = attempt;
  report->success = success;
  report->code = code;
  report->message = g_strdup (message);
  g_source_set_callback (source, paho_report_cb, report, (GDestroyNotify)paho_report_free);
  g_source_attach (source, attempt->context);
  g_source_unref (source);
}

static void
connected5_cb (void                   *context,
               MQTTAsync_successData5 *response)
{
  post_report (context, TRUE, 0, NULL);
}

static void
failed5_cb (void                   *context,
            MQTTAsync_failureData5 *response)
{
  int code = MQTTASYNC_FAILURE;

  if (response != NULL)
    code = response->reasonCode != 0 ? (int)response->reasonCode : response->code;

  post_report (context, FALSE, code, response != NULL ? response->message : NULL);
}

static void
connected_cb (void                  *context,
              MQTTAsync_successData *response)
{
  post_report (context, TRUE, 0, NULL);
}

static void
failed_cb (void                  *context,
           MQTTAsync_failureData *response)
{
  post_report (context, FALSE, response != NULL ? response->code : MQTTASYNC_FAILURE,
               response != NULL ? response->message : NULL);
}

static void
attempt_connect (Attempt *attempt)
{
  MQTTAsync_createOptions create_options = MQTTAsync_createOptions_initializer;
  MQTTAsync_connectOptions options = MQTTAsync_connectOptions_initializer;
  MQTTAsync_connectOptions options5 = MQTTAsync_connectOptions_initializer5;
  MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
  MQTTAsync_connectOptions *chosen;
  g_autofree char *client_id = g_strdup_printf ("drover-test-%08x", g_random_int ());
  int rc;

  create_options.MQTTVersion = attempt->version;
  rc = MQTTAsync_createWithOptions (&attempt->client, attempt->uri, client_id,
                                    MQTTCLIENT_PERSISTENCE_NONE, NULL, &create_options);
  if (rc != MQTTASYNC_SUCCESS)
    {
      attempt->client = NULL;
      finish (attempt->task, DROVER_CONNECTION_FAILED,
              g_strdup_printf (_("“%s” is not a broker address Drover understands."), attempt->uri));
      g_clear_object (&attempt->task);
      attempt_unref (attempt);
      return;
    }

  chosen = attempt->version == MQTTVERSION_5 ? &options5 : &options;
  if (attempt->version == MQTTVERSION_5)
    {
      chosen->cleanstart = 1;
      chosen->onSuccess5 = connected5_cb;
      chosen->onFailure5 = failed5_cb;
    }
  else
    {
      chosen->cleansession = 1;
      chosen->onSuccess = connected_cb;
      chosen->onFailure = failed_cb;
      chosen->MQTTVersion = MQTTVERSION_3_1_1;
    }
  chosen->keepAliveInterval = 30;
  chosen->automaticReconnect = 0;
  /* Longer than the test's own limit, so the test says "timed out"
   * itself; Paho's limit only makes sure its callback comes. */
  chosen->connectTimeout = attempt->timeout_seconds + 2;
  chosen->context = attempt;
  chosen->username = attempt->username;
  chosen->password = attempt->password;

  if (attempt->tls)
    {
      ssl.trustStore = attempt->ca_file;
      ssl.keyStore = attempt->certificate_file;
      ssl.privateKey = attempt->key_file;
      ssl.enableServerCertAuth = 1;
      ssl.verify = attempt->verify_host_name ? 1 : 0;
      ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
      chosen->ssl = &ssl;
    }

  rc = MQTTAsync_connect (attempt->client, chosen);
  if (rc != MQTTASYNC_SUCCESS)
    {
      MQTTAsync_destroy (&attempt->client);
      finish (attempt->task, DROVER_CONNECTION_FAILED,
              g_strdup_printf (_("Drover could not start connecting to %s (Paho error %d)."), attempt->uri, rc));
      g_clear_object (&attempt->task);
      attempt_unref (attempt);
    }
}

static void
start_mqtt (GTask *task)
{
  TestData *data = g_task_get_task_data (task);
  Attempt *attempt = g_atomic_rc_box_new0 (Attempt);

  attempt->context = g_main_context_ref (g_task_get_context (task));
  attempt->task = g_object_ref (task);
  attempt->version = MQTTVERSION_5;
  attempt->uri = g_strdup (data->broker->uri);
  attempt->username = g_strdup (data->broker->username);
  attempt->password = g_strdup (data->password);
  attempt->ca_file = g_strdup (data->broker->ca_file);
  attempt->certificate_file = g_strdup (data->broker->certificate_file);
  attempt->key_file = g_strdup (data->broker->key_file);
  attempt->tls = data->tls;
  attempt->verify_host_name = data->broker->verify_host_name;
  attempt->timeout_seconds = (int)data->timeout_seconds;

  /* The reference is Paho's until its callback is handled. */
  attempt_connect (attempt);
}

/* The GIO pre-flight */

static char *
describe_certificate (TestData             *data,
                      GTlsCertificateFlags  flags,
                      DroverConnectionResult *result)
{
  g_autofree char *where = host_and_port (data);

  *result = DROVER_CONNECTION_CERTIFICATE_UNTRUSTED;

  if (flags & G_TLS_CERTIFICATE_UNKNOWN_CA)
    {
      if (data->broker->ca_file != NULL)
        return g_strdup_printf (_("The certificate of %s is not trusted: it is not signed by the CA in %s."),
                                where, data->broker->ca_file);
      return g_strdup_printf (_("The certificate of %s is not trusted: no authority this computer trusts "
                                "signed it. Choose the broker's CA file."), where);
    }

  if (flags & G_TLS_CERTIFICATE_BAD_IDENTITY)
    {
      *result = DROVER_CONNECTION_CERTIFICATE_WRONG_HOST;
      return g_strdup_printf (_("The certificate of %s does not name the host “%s”: use the name it was "
                                "issued for, or turn off the host name check for this broker."),
                              where, data->host);
    }

  if (flags & G_TLS_CERTIFICATE_EXPIRED)
    return g_strdup_printf (_("The certificate of %s has expired."), where);

  if (flags & G_TLS_CERTIFICATE_NOT_ACTIVATED)
    return g_strdup_printf (_("The certificate of %s is not valid yet: check this computer's clock."), where);

  if (flags & G_TLS_CERTIFICATE_REVOKED)
    return g_strdup_printf (_("The certificate of %s has been revoked."), where);

  if (flags & G_TLS_CERTIFICATE_INSECURE)
    return g_strdup_printf (_("The certificate of %s uses an insecure algorithm."), where);

  return g_strdup_printf (_("The certificate of %s is not trusted."), where);
}

static gboolean
accept_certificate_cb (GTlsConnection       *connection,
                       GTlsCertificate      *peer_certificate,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  TestData *data = user_data;

  data->certificate_errors = errors;

  /* The operator's visible choice for this broker lifts the name check only. */
  return !data->broker->verify_host_name && errors == G_TLS_CERTIFICATE_BAD_IDENTITY;
}

static void
handshake_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TestData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *where = NULL;

  if (g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    {
      if (!data->done)
        start_mqtt (task);
      return;
    }

  if (data->done)
    return;

  where = host_and_port (data);

  if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE) || data->certificate_errors != 0)
    {
      GTlsCertificateFlags flags = data->certificate_errors;
      DroverConnectionResult outcome;
      char *message;

      if (flags == 0)
        flags = g_tls_connection_get_peer_certificate_errors (G_TLS_CONNECTION (source));
      message = describe_certificate (data, flags, &outcome);
      finish (task, outcome, message);
    }
  else if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS))
    finish (task, DROVER_CONNECTION_FAILED,
            g_strdup_printf (_("%s does not speak TLS: use a tcp:// address, or the broker's TLS port."), where));
  else if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED))
    finish (task, DROVER_CONNECTION_FAILED,
            g_strdup_printf (_("%s asks for a client certificate: choose one for this broker."), where));
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    timed_out_cb (task);
  else
    finish (task, DROVER_CONNECTION_FAILED,
            g_strdup_printf (_("The TLS handshake with %s failed: %s"), where, error->message));
}

static void
start_tls (GTask             *task,
           GSocketConnection *connection)
{
  TestData *data = g_task_get_task_data (task);
  g_autoptr(GSocketConnectable) identity = g_network_address_new (data->host, data->port);
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GError) error = NULL;

  tls = g_tls_client_connection_new (G_IO_STREAM (connection), identity, &error);
  if (tls == NULL)
    {
      finish (task, DROVER_CONNECTION_FAILED,
              g_strdup_printf (_("TLS is not available on this computer: %s"), error->message));
      return;
    }

  if (data->broker->ca_file != NULL)
    {
      g_autoptr(GTlsDatabase) database = g_tls_file_database_new (data->broker->ca_file, &error);

      if (database == NULL)
        {
          finish (task, DROVER_CONNECTION_FAILED,
                  g_strdup_printf (_("The CA file %s cannot be read: %s"), data->broker->ca_file, error->message));
          return;
        }
      g_tls_connection_set_database (G_TLS_CONNECTION (tls), database);
    }

  if (data->broker->certificate_file != NULL)
    {
      g_autoptr(GTlsCertificate) certificate = NULL;

      certificate = g_tls_certificate_new_from_files (data->broker->certificate_file,
                                                      data->broker->key_file != NULL ? data->broker->key_file
                                                                                     : data->broker->certificate_file,
                                                      &error);
      if (certificate == NULL)
        {
          finish (task, DROVER_CONNECTION_FAILED,
                  g_strdup_printf (_("The client certificate %s cannot be used: %s"),
                                   data->broker->certificate_file, error->message));
          return;
        }
      g_tls_connection_set_certificate (G_TLS_CONNECTION (tls), certificate);
    }

  g_signal_connect (tls, "accept-certificate", G_CALLBACK (accept_certificate_cb), data);
  g_set_object (&data->preflight, tls);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, data->preflight_cancellable,
                                    handshake_cb, g_object_ref (task));
}

static void
connected_socket_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  TestData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autofree char *where = NULL;

  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  if (data->done)
    return;

  where = host_and_port (data);

  if (connection == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
        finish (task, DROVER_CONNECTION_UNREACHABLE,
                g_strdup_printf (_("Nothing answers at %s: the connection was refused. "
                                   "Check the address and port, and that the broker runs."), where));
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE) ||
               g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
        finish (task, DROVER_CONNECTION_UNREACHABLE,
                g_strdup_printf (_("%s cannot be reached: there is no route to it. "
                                   "Check the address and the network."), where));
      else if (error->domain == G_RESOLVER_ERROR)
        finish (task, DROVER_CONNECTION_UNREACHABLE,
                g_strdup_printf (_("The name “%s” cannot be found: check the address."), data->host));
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        timed_out_cb (task);
      else
        finish (task, DROVER_CONNECTION_UNREACHABLE,
                g_strdup_printf (_("%s cannot be reached: %s"), where, error->message));
      return;
    }

  if (data->tls)
    {
      start_tls (task, connection);
      return;
    }

  g_set_object (&data->preflight, G_IO_STREAM (connection));
  start_mqtt (task);
}

static gboolean
parse_uri (TestData   *data,
           const char *uri)
{
  g_autoptr(GUri) parsed = g_uri_parse (uri, G_URI_FLAGS_NON_DNS, NULL);
  const char *scheme;
  int port;

  if (parsed == NULL || g_uri_get_host (parsed) == NULL || g_uri_get_host (parsed)[0] == '\0')
    return FALSE;

  scheme = g_uri_get_scheme (parsed);
  port = g_uri_get_port (parsed);
  data->tls = g_str_equal (scheme, "ssl") || g_str_equal (scheme, "mqtts") || g_str_equal (scheme, "wss");
  if (g_str_equal (scheme, "tcp") || g_str_equal (scheme, "mqtt"))
    data->port = port > 0 ? port : 1883;
  else if (g_str_equal (scheme, "ssl") || g_str_equal (scheme, "mqtts"))
    data->port = port > 0 ? port : 8883;
  else if (g_str_equal (scheme, "ws"))
    data->port = port > 0 ? port : 80;
  else if (g_str_equal (scheme, "wss"))
    data->port = port > 0 ? port : 443;
  else
    return FALSE;

  data->host = g_strdup (g_uri_get_host (parsed));

  return TRUE;
}

/**
 * drover_connection_test_async:
 * @broker: the broker as the operator describes it
 * @password: (nullable): its password
 * @timeout_seconds: how long to wait at most, 0 for
 *   %DROVER_CONNECTION_TEST_TIMEOUT_S
 *
 * Connects to @broker once, without retries, and disconnects.
 */
void
drover_connection_test_async (const DroverBrokerEntry *broker,
                              const char              *password,
                              guint                    timeout_seconds,
                              GCancellable            *cancellable,
                              GAsyncReadyCallback      callback,
                              gpointer                 user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GSocketClient) client = NULL;
  g_autoptr(GSocketConnectable) address = NULL;
  TestData *data;

  g_return_if_fail (broker != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, drover_connection_test_async);

  data = g_new0 (TestData, 1);
  data->broker = drover_broker_entry_copy (broker);
  {
    /* A cluster: its first node answers for it. */
    g_auto(GStrv) nodes = drover_broker_entry_dup_nodes (broker);

    if (nodes[0] != NULL)
      {
        g_free (data->broker->uri);
        data->broker->uri = g_strdup (nodes[0]);
      }
  }
  data->password = g_strdup (password);
  data->timeout_seconds = timeout_seconds > 0 ? timeout_seconds : DROVER_CONNECTION_TEST_TIMEOUT_S;
  data->preflight_cancellable = g_cancellable_new ();
  data->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  g_task_set_task_data (task, data, (GDestroyNotify)test_data_free);

  if (data->broker->uri == NULL || !parse_uri (data, data->broker->uri))
    {
      finish (task, DROVER_CONNECTION_FAILED,
              g_strdup_printf (_("“%s” is not a broker address Drover understands: use tcp://host:1883 "
                                 "or ssl://host:8883."), broker->uri != NULL ? broker->uri : ""));
      return;
    }

  if (cancellable != NULL)
    data->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb),
                                                g_object_ref (task), g_object_unref);

  /* Not g_timeout_source_new_seconds(): that one may fire a second late. */
  data->timeout_source = g_timeout_source_new (data->timeout_seconds * 1000);
  g_source_set_callback (data->timeout_source, timed_out_cb, task, NULL);
  g_source_attach (data->timeout_source, g_task_get_context (task));

  client = g_socket_client_new ();
  /* A broker on the farm's network is never reached through a web proxy. */
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_set_timeout (client, data->timeout_seconds);
  address = g_network_address_new (data->host, data->port);
  g_socket_client_connect_async (client, address, data->preflight_cancellable,
                                 connected_socket_cb, g_object_ref (task));
}

/**
 * drover_connection_test_finish:
 * @message: (out) (optional) (transfer full): what happened, in a sentence
 *   for the operator
 *
 * Returns: what happened; %DROVER_CONNECTION_FAILED with @error only when
 *   the test was cancelled
 */
DroverConnectionResult
drover_connection_test_finish (GAsyncResult  *result,
                               char         **message,
                               GError       **error)
{
  Outcome *outcome;
  DroverConnectionResult value;

  g_return_val_if_fail (g_task_is_valid (result, NULL), DROVER_CONNECTION_FAILED);

  outcome = g_task_propagate_pointer (G_TASK (result), error);
  if (outcome == NULL)
    {
      if (message != NULL)
        *message = NULL;
      return DROVER_CONNECTION_FAILED;
    }

  value = outcome->result;
  if (message != NULL)
    *message = g_steal_pointer (&outcome->message);
  outcome_free (outcome);

  return value;
}
