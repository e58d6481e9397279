/* test-broker.c: the mosquitto fixture, exercised with Paho as Drover uses it
 *
 * Later issues build every MQTT test on this fixture; this proves it starts
 * a broker that Paho's asynchronous client (MQTT 5) can talk to, and that it
 * stops, restarts on the same port and keeps retained messages.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <MQTTAsync.h>
#include <string.h>

#include "drover-test-broker.h"

#define WAIT_US (5 * G_USEC_PER_SEC)

typedef struct
{
  MQTTAsync    client;
  /* Events from Paho's threads, as strings: "connected", "failed", "message <topic> <payload>". */
  GAsyncQueue *events;
} Client;

static void
push (Client     *client,
      const char *format,
      ...) G_GNUC_PRINTF (2, 3);

static void
push (Client     *client,
      const char *format,
      ...)
{
  va_list args;

  va_start (args, format);
  g_async_queue_push (client->events, g_strdup_vprintf (format, args));
  va_end (args);
}

static int
message_arrived_cb (void              *context,
                    char              *topic,
                    int                topic_length,
                    MQTTAsync_message *message)
{
  push (context, "message %s %.*s", topic, message->payloadlen, (const char *)message->payload);

  MQTTAsync_freeMessage (&message);
  MQTTAsync_free (topic);

  return 1;
}

static void
connected_cb (void                   *context,
              MQTTAsync_successData5 *response)
{
  push (context, "connected");
}

static void
connect_failed_cb (void                   *context,
                   MQTTAsync_failureData5 *response)
{
  push (context, "failed %d", response != NULL ? response->code : 0);
}

static void
subscribed_cb (void                   *context,
               MQTTAsync_successData5 *response)
{
  push (context, "subscribed");
}

static char *
next_event (Client *client)
{
  return g_async_queue_timeout_pop (client->events, WAIT_US);
}

static Client *
client_new (const char *uri,
            const char *client_id)
{
  MQTTAsync_createOptions create_options = MQTTAsync_createOptions_initializer5;
  Client *client = g_new0 (Client, 1);
  int rc;

  client->events = g_async_queue_new_full (g_free);

  rc = MQTTAsync_createWithOptions (&client->client, uri, client_id,
                                    MQTTCLIENT_PERSISTENCE_NONE, NULL, &create_options);
  g_assert_cmpint (rc, ==, MQTTASYNC_SUCCESS);

  rc = MQTTAsync_setCallbacks (client->client, client, NULL, message_arrived_cb, NULL);
  g_assert_cmpint (rc, ==, MQTTASYNC_SUCCESS);

  return client;
}

static void
client_free (Client *client)
{
  MQTTAsync_destroy (&client->client);
  g_async_queue_unref (client->events);
  g_free (client);
}

static gboolean
client_connect (Client *client)
{
  MQTTAsync_connectOptions options = MQTTAsync_connectOptions_initializer5;
  g_autofree char *event = NULL;

  options.cleanstart = 1;
  options.onSuccess5 = connected_cb;
  options.onFailure5 = connect_failed_cb;
  options.context = client;
  options.connectTimeout = 5;

  if (MQTTAsync_connect (client->client, &options) != MQTTASYNC_SUCCESS)
    return FALSE;

  event = next_event (client);
  return g_strcmp0 (event, "connected") == 0;
}

static void
client_subscribe (Client     *client,
                  const char *filter)
{
  MQTTAsync_responseOptions options = MQTTAsync_responseOptions_initializer;
  g_autofree char *event = NULL;

  options.onSuccess5 = subscribed_cb;
  options.context = client;

  g_assert_cmpint (MQTTAsync_subscribe (client->client, filter, 1, &options), ==, MQTTASYNC_SUCCESS);
  event = next_event (client);
  g_assert_cmpstr (event, ==, "subscribed");
}

static void
client_publish (Client     *client,
                const char *topic,
                const char *payload,
                gboolean    retained)
{
  MQTTAsync_message message = MQTTAsync_message_initializer;
  MQTTAsync_responseOptions options = MQTTAsync_responseOptions_initializer;
  MQTTAsync_token token;

  message.payload = (void *)payload;
  message.payloadlen = strlen (payload);
  message.qos = 1;
  message.retained = retained;

  g_assert_cmpint (MQTTAsync_sendMessage (client->client, topic, &message, &options), ==, MQTTASYNC_SUCCESS);
  token = options.token;
  g_assert_cmpint (MQTTAsync_waitForCompletion (client->client, token, 5000), ==, MQTTASYNC_SUCCESS);
}

static void
test_broker_roundtrip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) broker = drover_test_broker_start (NULL, &error);
  g_autofree char *uri = NULL;
  g_autofree char *event = NULL;
  Client *subscriber;
  Client *publisher;

  g_assert_no_error (error);
  g_assert_cmpuint (drover_test_broker_get_port (broker), >, 0);

  uri = drover_test_broker_dup_uri (broker);
  g_assert_true (g_str_has_prefix (uri, "tcp://127.0.0.1:"));

  subscriber = client_new (uri, "drover-test-sub");
  publisher = client_new (uri, "drover-test-pub");
  g_assert_true (client_connect (subscriber));
  g_assert_true (client_connect (publisher));

  client_subscribe (subscriber, "drover/test/#");
  client_publish (publisher, "drover/test/p1/status", "{\"state\":\"idle\"}", FALSE);

  event = next_event (subscriber);
  g_assert_cmpstr (event, ==, "message drover/test/p1/status {\"state\":\"idle\"}");

  client_free (publisher);
  client_free (subscriber);

  /* Stopped, the port refuses connections: a dead broker looks dead. */
  g_assert_true (drover_test_broker_stop (broker));
  g_assert_false (drover_test_wait_for_port (drover_test_broker_get_port (broker), 200));
  g_assert_false (drover_test_broker_stop (broker));
}

static void
test_broker_two_at_once (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) first = drover_test_broker_start (NULL, &error);
  g_autoptr(DroverTestBroker) second = NULL;

  g_assert_no_error (error);
  second = drover_test_broker_start (NULL, &error);
  g_assert_no_error (error);

  /* Tests run in parallel: each broker has its own port and directory. */
  g_assert_cmpuint (drover_test_broker_get_port (first), !=, drover_test_broker_get_port (second));
  g_assert_cmpstr (drover_test_broker_get_dir (first), !=, drover_test_broker_get_dir (second));
}

static void
test_broker_bad_config (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) broker = NULL;

  /* A configuration mosquitto refuses is a clear failure, not a hang. */
  broker = drover_test_broker_start ("this_is_not_a_mosquitto_option 1", &error);
  g_assert_null (broker);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  /* mosquitto's own words reach the test's failure message. */
  g_assert_nonnull (strstr (error->message, "this_is_not_a_mosquitto_option"));
}

static void
test_broker_restart_keeps_retained (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) broker = drover_test_broker_start (NULL, &error);
  g_autofree char *uri = NULL;
  g_autofree char *event = NULL;
  guint16 port;
  Client *client;

  g_assert_no_error (error);
  uri = drover_test_broker_dup_uri (broker);
  port = drover_test_broker_get_port (broker);

  client = client_new (uri, "drover-test-retain");
  g_assert_true (client_connect (client));
  client_publish (client, "drover/test/p7/state", "printing", TRUE);
  client_free (client);

  g_assert_true (drover_test_broker_restart (broker, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (drover_test_broker_get_port (broker), ==, port);

  /* A printer's retained state survives the broker's restart, as it must
   * for Drover to resynchronise after one. */
  client = client_new (uri, "drover-test-after");
  g_assert_true (client_connect (client));
  client_subscribe (client, "drover/test/#");
  event = next_event (client);
  g_assert_cmpstr (event, ==, "message drover/test/p7/state printing");
  client_free (client);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  if (argc > 1 && g_str_equal (argv[1], "--slow"))
    g_test_add_func ("/broker/restart-keeps-retained", test_broker_restart_keeps_retained);
  else
    {
      g_test_add_func ("/broker/roundtrip", test_broker_roundtrip);
      g_test_add_func ("/broker/two-at-once", test_broker_two_at_once);
      g_test_add_func ("/broker/bad-config", test_broker_bad_config);
    }

  return g_test_run ();
}
