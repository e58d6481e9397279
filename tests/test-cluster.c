/* test-cluster.c: a real two-node RabbitMQ cluster, exercised with Paho
 *
 * Proves tests/fixtures/drover-test-rabbitmq.c: the cluster routes between
 * its nodes, outlives one node's clean stop and another's crash, and takes
 * each back. It also pins down what RabbitMQ 3.10 does with retained
 * messages, persistent sessions and client IDs across nodes, which Drover's
 * resync relies on (the findings are summed up at the top of the fixture),
 * so that a newer RabbitMQ that behaves otherwise shows up here. One
 * cluster serves every test, in order, each leaving both nodes running.
 * Skipped where rabbitmq-server is not installed.
 *
 * Paho's asynchronous client takes up to two seconds to connect while
 * another client of the process is connected (its I/O thread polls once a
 * second), so each phase connects all its clients at once.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <MQTTAsync.h>
#include <string.h>

#include "drover-core.h"
#include "drover-test-broker.h"
#include "drover-test-rabbitmq.h"

#define N_NODES     2
#define WAIT_MS     10000
/* How long we wait for a message that must not come: retained messages
 * come within milliseconds of the subscription. */
#define SILENCE_MS  1500

static DroverTestCluster *cluster;
static GError *cluster_error;
static gboolean cluster_tried;

typedef struct
{
  MQTTAsync    client;
  char        *id;
  guint        node;
  gboolean     clean_session;
  /* Events from Paho's threads, as strings: "connected", "failed CODE",
   * "lost", "subscribed QOS", "disconnected", "message TOPIC PAYLOAD", and
   * "retained TOPIC PAYLOAD" for a message with the retain flag. */
  GAsyncQueue *events;
} Client;

static gint64 phase_start;

/* Times each phase of a test, for the log. */
static void
phase (const char *what)
{
  gint64 now = g_get_monotonic_time ();

  if (phase_start != 0)
    g_test_message ("  ... %.1f s", (now - phase_start) / (double)G_USEC_PER_SEC);
  if (what != NULL)
    g_test_message ("%s", what);
  phase_start = what != NULL ? now : 0;
}

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
  push (context, "%s %s %.*s", message->retained ? "retained" : "message",
        topic, message->payloadlen, (const char *)message->payload);

  MQTTAsync_freeMessage (&message);
  MQTTAsync_free (topic);

  return 1;
}

static void
connection_lost_cb (void *context,
                    char *cause)
{
  push (context, "lost");
}

static void
connected_cb (void                  *context,
              MQTTAsync_successData *response)
{
  if (response != NULL && response->alt.connect.sessionPresent)
    push (context, "connected, session present");
  else
    push (context, "connected");
}

static void
connect_failed_cb (void                  *context,
                   MQTTAsync_failureData *response)
{
  push (context, "failed %d", response != NULL ? response->code : 0);
}

static void
subscribed_cb (void                  *context,
               MQTTAsync_successData *response)
{
  /* The granted QoS; 128 is a refusal. */
  push (context, "subscribed %d", response != NULL ? response->alt.qos : -1);
}

static void
subscribe_failed_cb (void                  *context,
                     MQTTAsync_failureData *response)
{
  push (context, "subscribe-failed %d", response != NULL ? response->code : 0);
}

static void
disconnected_cb (void                  *context,
                 MQTTAsync_successData *response)
{
  push (context, "disconnected");
}

static char *
next_event (Client *client,
            guint   timeout_ms)
{
  return g_async_queue_timeout_pop (client->events, (guint64)timeout_ms * 1000);
}

static Client *
client_new (DroverTestCluster *c,
            guint              node,
            const char        *name,
            gboolean           clean_session)
{
  g_autofree char *uri = drover_test_cluster_dup_uri (c, node);
  Client *client = g_new0 (Client, 1);
  int rc;

  client->events = g_async_queue_new_full (g_free);
  client->id = g_strdup_printf ("drover-test-%s", name);
  client->node = node;
  client->clean_session = clean_session;

  rc = MQTTAsync_create (&client->client, uri, client->id, MQTTCLIENT_PERSISTENCE_NONE, NULL);
  g_assert_cmpint (rc, ==, MQTTASYNC_SUCCESS);

  rc = MQTTAsync_setCallbacks (client->client, client, connection_lost_cb, message_arrived_cb, NULL);
  g_assert_cmpint (rc, ==, MQTTASYNC_SUCCESS);

  return client;
}

static void
client_free (Client *client)
{
  MQTTAsync_destroy (&client->client);
  g_async_queue_unref (client->events);
  g_free (client->id);
  g_free (client);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free)

static void
client_start_connect (Client *client)
{
  MQTTAsync_connectOptions options = MQTTAsync_connectOptions_initializer;

  /* Debian 12's RabbitMQ 3.10 speaks MQTT 3.1.1, not 5. */
  options.MQTTVersion = MQTTVERSION_3_1_1;
  options.cleansession = client->clean_session;
  options.keepAliveInterval = 30;
  options.onSuccess = connected_cb;
  options.onFailure = connect_failed_cb;
  options.context = client;
  options.connectTimeout = 5;

  g_assert_cmpint (MQTTAsync_connect (client->client, &options), ==, MQTTASYNC_SUCCESS);
}

/* Connects every client of the NULL-terminated @clients at once. */
static void
connect_all (Client **clients)
{
  for (guint i = 0; clients[i] != NULL; i++)
    client_start_connect (clients[i]);

  for (guint i = 0; clients[i] != NULL; i++)
    {
      g_autofree char *event = next_event (clients[i], WAIT_MS);

      g_assert_cmpstr (event, ==, "connected");
    }
}

static void
client_disconnect (Client *client)
{
  MQTTAsync_disconnectOptions options = MQTTAsync_disconnectOptions_initializer;
  g_autofree char *event = NULL;

  options.timeout = 2000;
  options.onSuccess = disconnected_cb;
  options.context = client;
  g_assert_cmpint (MQTTAsync_disconnect (client->client, &options), ==, MQTTASYNC_SUCCESS);
  event = next_event (client, WAIT_MS);
  g_assert_cmpstr (event, ==, "disconnected");
}

/* QoS 1, granted QoS 1. */
static void
client_subscribe (Client     *client,
                  const char *filter)
{
  MQTTAsync_responseOptions options = MQTTAsync_responseOptions_initializer;
  g_autofree char *event = NULL;

  options.onSuccess = subscribed_cb;
  options.onFailure = subscribe_failed_cb;
  options.context = client;

  g_assert_cmpint (MQTTAsync_subscribe (client->client, filter, 1, &options), ==, MQTTASYNC_SUCCESS);
  event = next_event (client, WAIT_MS);
  g_assert_cmpstr (event, ==, "subscribed 1");
}

/* QoS 1: returns once the broker has acknowledged it. */
static void
client_publish (Client     *client,
                const char *topic,
                const char *payload,
                gboolean    retained)
{
  MQTTAsync_message message = MQTTAsync_message_initializer;
  MQTTAsync_responseOptions options = MQTTAsync_responseOptions_initializer;

  message.payload = (void *)payload;
  message.payloadlen = strlen (payload);
  message.qos = 1;
  message.retained = retained;

  g_assert_cmpint (MQTTAsync_sendMessage (client->client, topic, &message, &options), ==, MQTTASYNC_SUCCESS);
  g_assert_cmpint (MQTTAsync_waitForCompletion (client->client, options.token, WAIT_MS), ==, MQTTASYNC_SUCCESS);
}

/* The next event must be @expected, within WAIT_MS. */
static void
expect_event (Client     *client,
              const char *expected)
{
  g_autofree char *event = next_event (client, WAIT_MS);

  g_assert_cmpstr (event, ==, expected);
}

/* Nothing more reaches any client of the NULL-terminated @clients within
 * SILENCE_MS. */
static void
expect_silence (Client **clients)
{
  g_usleep (SILENCE_MS * 1000);

  for (guint i = 0; clients[i] != NULL; i++)
    {
      g_autofree char *event = g_async_queue_try_pop (clients[i]->events);

      if (event != NULL)
        g_test_message ("%s (on node %u) got: %s", clients[i]->id, clients[i]->node, event);
      g_assert_null (event);
    }
}

/* A publisher on each running node and a subscriber on each: every
 * subscriber gets every publisher's message, once, in order. */
static void
assert_routes (DroverTestCluster *c,
               const char        *tag)
{
  g_autofree char *topic = g_strdup_printf ("drover/cluster/%s", tag);
  Client *publishers[N_NODES + 1] = { NULL, };
  Client *subscribers[N_NODES + 1] = { NULL, };
  Client *all[2 * N_NODES + 1] = { NULL, };
  guint n = 0;

  for (guint node = 0; node < N_NODES; node++)
    {
      g_autofree char *pub_name = NULL;
      g_autofree char *sub_name = NULL;

      if (!drover_test_cluster_is_running (c, node))
        continue;

      pub_name = g_strdup_printf ("%s-pub-%u", tag, node);
      sub_name = g_strdup_printf ("%s-sub-%u", tag, node);
      publishers[n] = client_new (c, node, pub_name, TRUE);
      subscribers[n] = client_new (c, node, sub_name, TRUE);
      all[2 * n] = publishers[n];
      all[2 * n + 1] = subscribers[n];
      n++;
    }

  connect_all (all);
  for (guint i = 0; i < n; i++)
    client_subscribe (subscribers[i], topic);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *payload = g_strdup_printf ("from node %u", publishers[i]->node);

      client_publish (publishers[i], topic, payload, FALSE);
    }

  for (guint j = 0; j < n; j++)
    for (guint i = 0; i < n; i++)
      {
        g_autofree char *expected = g_strdup_printf ("message %s from node %u", topic, publishers[i]->node);

        expect_event (subscribers[j], expected);
      }

  for (guint i = 0; i < n; i++)
    g_assert_null (g_async_queue_try_pop (subscribers[i]->events));

  for (guint i = 0; all[i] != NULL; i++)
    client_free (all[i]);
}

static DroverTestCluster *
get_cluster (void)
{
  if (!cluster_tried)
    {
      gint64 start = g_get_monotonic_time ();

      cluster_tried = TRUE;
      cluster = drover_test_cluster_start (N_NODES, &cluster_error);
      if (cluster != NULL)
        g_test_message ("a cluster of %u nodes started in %.1f s: %s", N_NODES,
                        (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC,
                        drover_test_cluster_get_node_name (cluster, 0));
    }

  if (g_error_matches (cluster_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_test_skip (cluster_error->message);
      return NULL;
    }

  g_assert_no_error (cluster_error);
  return cluster;
}

static void
test_cluster_start (void)
{
  DroverTestCluster *c = get_cluster ();
  g_autofree char *uris = NULL;
  g_autofree char *expected = NULL;

  if (c == NULL)
    return;

  g_assert_cmpuint (drover_test_cluster_get_n_nodes (c), ==, N_NODES);
  g_assert_cmpuint (drover_test_cluster_get_mqtt_port (c, 0), !=, drover_test_cluster_get_mqtt_port (c, 1));

  uris = drover_test_cluster_dup_uris (c);
  expected = g_strdup_printf ("tcp://127.0.0.1:%u,tcp://127.0.0.1:%u",
                              drover_test_cluster_get_mqtt_port (c, 0),
                              drover_test_cluster_get_mqtt_port (c, 1));
  g_assert_cmpstr (uris, ==, expected);

  for (guint i = 0; i < N_NODES; i++)
    {
      g_assert_true (drover_test_cluster_is_running (c, i));
      g_assert_true (g_str_has_suffix (drover_test_cluster_get_node_name (c, i), "@localhost"));
    }
}

static void
test_cluster_cross_node (void)
{
  DroverTestCluster *c = get_cluster ();
  g_autoptr(Client) first = NULL;
  g_autoptr(Client) second = NULL;

  if (c == NULL)
    return;

  /* Published through node 0, received on node 1, and the other way. */
  phase ("node 0 to node 1, and back");
  assert_routes (c, "cross");

  /* The cluster knows its client IDs: a second connection with the same
   * ID, on the other node, takes over and the first is dropped. */
  phase ("one client ID on both nodes");
  first = client_new (c, 0, "cross-same-id", TRUE);
  second = client_new (c, 1, "cross-same-id", TRUE);
  connect_all ((Client *[]) { first, NULL });
  connect_all ((Client *[]) { second, NULL });
  expect_event (first, "lost");
  expect_silence ((Client *[]) { second, NULL });
  phase (NULL);
}

static void
test_cluster_retained (void)
{
  DroverTestCluster *c = get_cluster ();
  g_autoptr(Client) live = NULL;
  g_autoptr(Client) publisher_0 = NULL;
  g_autoptr(Client) publisher_1 = NULL;
  g_autoptr(Client) exact_0 = NULL;
  g_autoptr(Client) wildcard_0 = NULL;
  g_autoptr(Client) exact_1 = NULL;
  g_autoptr(Client) later_0 = NULL;
  g_autoptr(Client) later_1 = NULL;
  const char *topic = "drover/cluster/retained/p1";

  if (c == NULL)
    return;

  phase ("a retained message published through node 0");
  live = client_new (c, 1, "retained-live-1", TRUE);
  publisher_0 = client_new (c, 0, "retained-pub-0", TRUE);
  publisher_1 = client_new (c, 1, "retained-pub-1", TRUE);
  connect_all ((Client *[]) { live, publisher_0, publisher_1, NULL });
  client_subscribe (live, "drover/cluster/retained/+");

  client_publish (publisher_0, topic, "idle", TRUE);
  /* A subscriber already there gets it as it happens, wherever it is, and
   * as MQTT says, without the retain flag. */
  expect_event (live, "message drover/cluster/retained/p1 idle");

  phase ("subscribers that come later: exact topic and wildcard on node 0, exact topic on node 1");
  exact_0 = client_new (c, 0, "retained-exact-0", TRUE);
  wildcard_0 = client_new (c, 0, "retained-wildcard-0", TRUE);
  exact_1 = client_new (c, 1, "retained-exact-1", TRUE);
  connect_all ((Client *[]) { exact_0, wildcard_0, exact_1, NULL });
  client_subscribe (exact_0, topic);
  client_subscribe (wildcard_0, "drover/cluster/retained/+");
  client_subscribe (exact_1, topic);

  /* On node 0, a subscription to the very topic gets it, retained… */
  expect_event (exact_0, "retained drover/cluster/retained/p1 idle");
  /* …but RabbitMQ 3.10 sends no retained message to a subscription with a
   * wildcard (such as Drover's drover/v1/+/state), on any node. And node
   * 1 has none at all: each node keeps retained messages in a store of its
   * own that the others never see. */
  expect_silence ((Client *[]) { exact_0, wildcard_0, exact_1, NULL });

  /* A newer state through node 1 reaches every subscriber as it happens,
   * but is retained on node 1 only: node 0 goes on handing out the old. */
  phase ("a newer retained message through node 1");
  client_publish (publisher_1, topic, "printing", TRUE);
  expect_event (live, "message drover/cluster/retained/p1 printing");
  expect_event (exact_0, "message drover/cluster/retained/p1 printing");
  expect_event (wildcard_0, "message drover/cluster/retained/p1 printing");
  expect_event (exact_1, "message drover/cluster/retained/p1 printing");

  later_0 = client_new (c, 0, "retained-later-0", TRUE);
  later_1 = client_new (c, 1, "retained-later-1", TRUE);
  connect_all ((Client *[]) { later_0, later_1, NULL });
  client_subscribe (later_0, topic);
  client_subscribe (later_1, topic);
  expect_event (later_0, "retained drover/cluster/retained/p1 idle");
  expect_event (later_1, "retained drover/cluster/retained/p1 printing");
  expect_silence ((Client *[]) { live, exact_0, wildcard_0, exact_1, later_0, later_1, NULL });

  /* Cleared, each through the node that holds it. */
  client_publish (publisher_0, topic, "", TRUE);
  client_publish (publisher_1, topic, "", TRUE);
  phase (NULL);
}

static void
test_cluster_stop_node (void)
{
  DroverTestCluster *c = get_cluster ();
  g_autoptr(GError) error = NULL;
  g_autoptr(Client) on_0 = NULL;
  g_autoptr(Client) stays_1 = NULL;
  g_autoptr(Client) session = NULL;
  g_autoptr(Client) publisher = NULL;
  g_autoptr(Client) publisher_0 = NULL;
  g_autoptr(Client) retained_0 = NULL;
  g_autoptr(Client) first = NULL;
  g_autoptr(Client) second = NULL;
  gint64 start;

  if (c == NULL)
    return;

  phase ("clients on both nodes; node 0 holds a retained message and a persistent session with one message waiting");
  on_0 = client_new (c, 0, "stop-on-0", TRUE);
  stays_1 = client_new (c, 1, "stop-stays-1", TRUE);
  /* Clean session off: its QoS 1 subscription is a durable queue on
   * node 0, where the client subscribed. */
  session = client_new (c, 0, "stop-session", FALSE);
  publisher = client_new (c, 1, "stop-pub-1", TRUE);
  connect_all ((Client *[]) { on_0, stays_1, session, publisher, NULL });
  client_subscribe (on_0, "drover/cluster/stop/#");
  client_subscribe (stays_1, "drover/cluster/stop/#");
  client_subscribe (session, "drover/cluster/session/#");
  client_disconnect (session);
  client_free (g_steal_pointer (&session));
  client_publish (publisher, "drover/cluster/session/p1", "queued", FALSE);
  client_publish (on_0, "drover/cluster/stop/retained", "kept", TRUE);
  expect_event (on_0, "message drover/cluster/stop/retained kept");
  expect_event (stays_1, "message drover/cluster/stop/retained kept");

  phase ("node 0 stops cleanly");
  start = g_get_monotonic_time ();
  g_assert_true (drover_test_cluster_stop_node (c, 0, &error));
  g_assert_no_error (error);
  g_test_message ("node 0 stopped in %.1f s", (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC);
  g_assert_false (drover_test_cluster_is_running (c, 0));
  g_assert_false (drover_test_wait_for_port (drover_test_cluster_get_mqtt_port (c, 0), 200));
  /* Its client is dropped; a second stop is an error. */
  expect_event (on_0, "lost");
  g_assert_false (drover_test_cluster_stop_node (c, 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  g_clear_error (&error);

  /* Node 1 goes on: its clients, old and new, still talk. RabbitMQ says
   * the MQTT plugin wants a majority of the nodes; with one of two, 3.10
   * still accepts connections (see the fixture). */
  phase ("node 1 alone: its old client and new ones");
  client_publish (publisher, "drover/cluster/stop/p1", "alone", FALSE);
  expect_event (stays_1, "message drover/cluster/stop/p1 alone");
  assert_routes (c, "alone");

  /* But without a majority, the client IDs are not tracked: a second
   * connection with the same ID does not take over, both stay. */
  phase ("one client ID twice on node 1 alone");
  first = client_new (c, 1, "alone-same-id", TRUE);
  second = client_new (c, 1, "alone-same-id", TRUE);
  connect_all ((Client *[]) { first, second, NULL });
  expect_silence ((Client *[]) { first, second, NULL });
  client_free (g_steal_pointer (&first));
  client_free (g_steal_pointer (&second));

  /* The session's queue lives on node 0, which is down: through node 1
   * the client is told it has no session, and subscribing again (as it
   * then must) costs it the connection. A client with clean session off
   * depends on the node it first subscribed through. */
  phase ("resuming node 0's persistent session through node 1, node 0 down");
  session = client_new (c, 1, "stop-session", FALSE);
  connect_all ((Client *[]) { session, NULL });
  {
    MQTTAsync_responseOptions options = MQTTAsync_responseOptions_initializer;
    gboolean lost = FALSE;

    options.onSuccess = subscribed_cb;
    options.onFailure = subscribe_failed_cb;
    options.context = session;
    g_assert_cmpint (MQTTAsync_subscribe (session->client, "drover/cluster/session/#", 1, &options), ==,
                     MQTTASYNC_SUCCESS);

    for (guint i = 0; i < 3 && !lost; i++)
      {
        g_autofree char *next = next_event (session, WAIT_MS);

        g_assert_nonnull (next);
        g_assert_false (g_str_has_prefix (next, "subscribed"));
        lost = g_str_equal (next, "lost");
      }
    g_assert_true (lost);
  }
  client_free (g_steal_pointer (&session));

  phase ("node 0 starts again and rejoins");
  start = g_get_monotonic_time ();
  g_assert_true (drover_test_cluster_start_node (c, 0, &error));
  g_assert_no_error (error);
  g_test_message ("node 0 was back in %.1f s", (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC);
  g_assert_true (drover_test_cluster_is_running (c, 0));
  g_assert_false (drover_test_cluster_start_node (c, 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);

  phase ("node 0 delivers again, both ways; node 1's old client never noticed");
  assert_routes (c, "rejoined");
  publisher_0 = client_new (c, 0, "stop-pub-0", TRUE);
  retained_0 = client_new (c, 0, "stop-retained-0", TRUE);
  session = client_new (c, 1, "stop-session", FALSE);
  connect_all ((Client *[]) { publisher_0, retained_0, NULL });
  client_publish (publisher_0, "drover/cluster/stop/p1", "back", FALSE);
  expect_event (stays_1, "message drover/cluster/stop/p1 back");

  /* Node 0's retained messages are on its disk: they outlive its restart. */
  client_subscribe (retained_0, "drover/cluster/stop/retained");
  expect_event (retained_0, "retained drover/cluster/stop/retained kept");
  client_publish (retained_0, "drover/cluster/stop/retained", "", TRUE);

  /* With node 0 back, the session resumes through node 1 and gets what
   * waited in its queue on node 0, kept through node 0's restart. */
  phase ("resuming node 0's persistent session through node 1, node 0 back");
  client_start_connect (session);
  expect_event (session, "connected, session present");
  expect_event (session, "message drover/cluster/session/p1 queued");
  client_disconnect (session);
  phase (NULL);
}

static void
test_cluster_kill_node (void)
{
  DroverTestCluster *c = get_cluster ();
  g_autoptr(GError) error = NULL;
  g_autoptr(Client) on_1 = NULL;
  gint64 start;

  if (c == NULL)
    return;

  phase ("node 1 is killed");
  on_1 = client_new (c, 1, "kill-on-1", TRUE);
  connect_all ((Client *[]) { on_1, NULL });
  client_subscribe (on_1, "drover/cluster/kill/#");

  g_assert_true (drover_test_cluster_kill_node (c, 1));
  g_assert_false (drover_test_cluster_kill_node (c, 1));
  g_assert_false (drover_test_cluster_is_running (c, 1));
  g_assert_false (drover_test_wait_for_port (drover_test_cluster_get_mqtt_port (c, 1), 200));
  expect_event (on_1, "lost");

  phase ("node 0 alone delivers between its clients");
  assert_routes (c, "survivor");

  phase ("node 1 starts again and rejoins");
  start = g_get_monotonic_time ();
  g_assert_true (drover_test_cluster_start_node (c, 1, &error));
  g_assert_no_error (error);
  g_test_message ("node 1 was back in %.1f s", (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC);

  phase ("node 1 delivers again, both ways");
  assert_routes (c, "revived");
  phase (NULL);
}

/* Drover on the cluster */

typedef struct
{
  GSubprocess      *sim;
  GDataInputStream *out;
  GPtrArray        *lines;
} Sim;

static void
sim_line_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Sim *sim = user_data;
  char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL, NULL);

  if (line == NULL)
    return;
  g_ptr_array_add (sim->lines, line);
  g_data_input_stream_read_line_async (sim->out, G_PRIORITY_DEFAULT, NULL, sim_line_cb, sim);
}

/* Runs the main context until @done, at most @seconds. */
static gboolean
spin_until (gboolean (*done) (gconstpointer a, gconstpointer b),
            gconstpointer a,
            gconstpointer b,
            double        seconds)
{
  gint64 deadline = g_get_monotonic_time () + (gint64)(seconds * G_USEC_PER_SEC);

  while (!done (a, b))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }

  return TRUE;
}

static gboolean
never (gconstpointer a,
       gconstpointer b)
{
  return FALSE;
}

static gboolean
line_starting (gconstpointer sim,
               gconstpointer prefix)
{
  const Sim *s = sim;

  for (guint i = 0; i < s->lines->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (s->lines, i), prefix))
      return TRUE;

  return FALSE;
}

static const char *
find_line (Sim        *sim,
           const char *prefix)
{
  g_assert_true (spin_until (line_starting, sim, prefix, 30));
  for (guint i = 0; i < sim->lines->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (sim->lines, i), prefix))
      return g_ptr_array_index (sim->lines, i);

  g_assert_not_reached ();
}

static void
sim_control (Sim        *sim,
             const char *command)
{
  g_autofree char *line = g_strconcat (command, "\n", NULL);
  GOutputStream *in = g_subprocess_get_stdin_pipe (sim->sim);

  g_assert_true (g_output_stream_write_all (in, line, strlen (line), NULL, NULL, NULL));
  g_assert_true (g_output_stream_flush (in, NULL, NULL));
}

static guint
alerts_about (DroverAudit *audit,
              const char  *subject,
              guint       *n_printers)
{
  GListModel *alerts = drover_audit_get_alerts (audit);
  guint n = 0;

  for (guint i = 0; i < g_list_model_get_n_items (alerts); i++)
    {
      g_autoptr(DroverAlert) alert = g_list_model_get_item (alerts, i);

      if (g_strcmp0 (drover_alert_get_subject (alert), subject) == 0)
        {
          n++;
          if (n_printers != NULL)
            *n_printers = drover_alert_get_n_printers (alert);
        }
    }

  return n;
}

static gboolean
alert_on_printers (gconstpointer audit,
                   gconstpointer wanted)
{
  const char * const *w = wanted;
  guint n_printers = 0;

  return alerts_about ((DroverAudit *)audit, w[0], &n_printers) == 1 &&
         n_printers >= (guint)g_ascii_strtoull (w[1], NULL, 10);
}

static gboolean
on_node (gconstpointer link,
         gconstpointer uri)
{
  return g_strcmp0 (drover_mqtt_link_get_node ((DroverMqttLink *)link), uri) == 0 &&
         drover_mqtt_link_get_state ((DroverMqttLink *)link) == DROVER_LINK_STATE_CONNECTED;
}

static gboolean
audit_is_ready (gconstpointer audit,
                gconstpointer unused)
{
  return drover_audit_get_ready ((DroverAudit *)audit);
}

/* drover-sim's printers publish through node 0; Drover listens on node 1.
 * An incident is raised; node 1 stops; Drover moves to node 0. The
 * incident is not raised again, and a file planted while Drover moved is
 * caught. */
static void
test_cluster_drover_fails_over (void)
{
  DroverTestCluster *c = get_cluster ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *inventory_path = NULL;
  g_autofree char *ledger_path = NULL;
  g_autofree char *node0 = NULL;
  g_autofree char *node1 = NULL;
  g_autofree char *command = NULL;
  g_autoptr(DroverFleet) fleet = NULL;
  g_autoptr(DroverFarm) farm = NULL;
  g_autoptr(DroverAudit) audit = NULL;
  g_autoptr(DroverLedger) ledger = NULL;
  g_auto(GStrv) victims = NULL;
  DroverInventory *inventory;
  DroverMqttLink *link;
  Sim sim = { 0 };
  const char *incident[] = { "hacked_machine_readme.gcode", "3" };
  const char *during[] = { "during-failover.gcode", "1" };
  guint n_printers = 0;

  if (c == NULL)
    return;

  phase ("drover-sim publishes through node 0");
  node0 = drover_test_cluster_dup_uri (c, 0);
  node1 = drover_test_cluster_dup_uri (c, 1);
  dir = g_dir_make_tmp ("drover-cluster-farm-XXXXXX", &error);
  g_assert_no_error (error);
  inventory_path = g_build_filename (dir, "farm.conf", NULL);
  sim.lines = g_ptr_array_new_with_free_func (g_free);
  sim.sim = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                              g_getenv ("DROVER_SIM_BIN"), "--broker", node0, "--mqtt-version", "3",
                              "--printers", "6", "--mix", "native=1", "--no-random-jobs", "--seed", "3",
                              "--http-port", "-1", "--inventory", inventory_path, "--control", NULL);
  g_assert_no_error (error);
  sim.out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (sim.sim));
  g_data_input_stream_read_line_async (sim.out, G_PRIORITY_DEFAULT, NULL, sim_line_cb, &sim);
  find_line (&sim, "ready ");

  phase ("Drover listens on node 1, then node 0");
  {
    g_autofree char *contents = NULL;
    GPtrArray *brokers;

    g_assert_true (g_file_get_contents (inventory_path, &contents, NULL, &error));
    inventory = drover_inventory_load_from_data (contents, -1, &error);
    g_assert_no_error (error);
    brokers = drover_inventory_get_brokers (inventory);
    g_assert_cmpuint (brokers->len, ==, 1);
    g_free (((DroverBrokerEntry *)g_ptr_array_index (brokers, 0))->uri);
    ((DroverBrokerEntry *)g_ptr_array_index (brokers, 0))->uri = g_strdup_printf ("%s, %s", node1, node0);
  }
  ledger_path = g_build_filename (dir, "ledger.sqlite", NULL);
  ledger = drover_ledger_open (ledger_path, &error);
  g_assert_no_error (error);
  fleet = drover_fleet_new ();
  farm = drover_farm_new (fleet, inventory);
  audit = drover_audit_new (fleet);
  drover_farm_set_audit (farm, audit);
  drover_audit_set_ledger (audit, ledger);
  g_assert_true (drover_farm_start (farm, &error));
  g_assert_no_error (error);
  link = g_ptr_array_index (drover_farm_get_links (farm), 0);
  g_assert_true (spin_until (audit_is_ready, audit, NULL, 10));
  g_assert_true (spin_until (on_node, link, node1, 30));
  /* The printers' retained file lists never reach a wildcard subscription
   * on RabbitMQ; their next report is what Drover knows them by. */
  spin_until (never, NULL, NULL, 2.0);

  /* RabbitMQ speaks MQTT 3.1.1: a native job's expiry cannot travel, so
   * Drover refuses to send rather than send without it. */
  {
    g_autoptr(GError) refused = NULL;
    gboolean expires = TRUE;

    g_assert_cmpint (drover_mqtt_link_get_mqtt_version (link), ==, MQTTVERSION_3_1_1);
    g_assert_false (drover_mqtt_link_publish_expiring (link, "drover/v1/nobody/cmd", "{}", 2, 1, 600,
                                                       &expires, &refused));
    g_assert_error (refused, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
    g_assert_nonnull (strstr (refused->message, "MQTT 3.1.1"));
    g_assert_false (expires);
  }

  phase ("the incident, through node 0 to Drover on node 1");
  sim_control (&sim, "incident readme 3");
  victims = g_strsplit (find_line (&sim, "incident "), " ", -1);
  g_assert_true (spin_until (alert_on_printers, audit, incident, 30));

  phase ("node 1 stops; a file is planted while Drover moves");
  g_assert_true (drover_test_cluster_stop_node (c, 1, &error));
  g_assert_no_error (error);
  {
    g_autoptr(DroverPrinter) first = g_list_model_get_item (G_LIST_MODEL (fleet), 0);

    command = g_strdup_printf ("add-file %s during-failover.gcode", drover_printer_get_id (first));
  }
  sim_control (&sim, command);
  g_assert_true (spin_until (on_node, link, node0, 60));
  g_assert_nonnull (drover_mqtt_link_get_last_failover (link));

  phase ("after the failover: caught once, nothing raised twice");
  g_assert_true (spin_until (alert_on_printers, audit, during, 60));
  spin_until (never, NULL, NULL, 3.0);
  g_assert_cmpuint (alerts_about (audit, "hacked_machine_readme.gcode", &n_printers), ==, 1);
  g_assert_cmpuint (n_printers, ==, 3);
  g_assert_cmpuint (alerts_about (audit, "during-failover.gcode", NULL), ==, 1);

  phase ("node 1 comes back");
  g_assert_true (drover_test_cluster_start_node (c, 1, &error));
  g_assert_no_error (error);
  phase (NULL);

  drover_farm_stop (farm);
  drover_farm_set_audit (farm, NULL);
  sim_control (&sim, "quit");
  g_subprocess_wait (sim.sim, NULL, NULL);
  g_clear_object (&sim.out);
  g_clear_object (&sim.sim);
  g_ptr_array_unref (sim.lines);
  g_clear_object (&farm);
  g_clear_object (&audit);
  g_clear_object (&ledger);
  {
    static const char * const names[] = { "farm.conf", "ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm" };

    for (guint i = 0; i < G_N_ELEMENTS (names); i++)
      {
        g_autofree char *path = g_build_filename (dir, names[i], NULL);

        g_unlink (path);
      }
    g_rmdir (dir);
  }
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  /* In this order, on one cluster: each test leaves both nodes running. */
  g_test_add_func ("/cluster/start", test_cluster_start);
  g_test_add_func ("/cluster/cross-node", test_cluster_cross_node);
  g_test_add_func ("/cluster/retained", test_cluster_retained);
  g_test_add_func ("/cluster/stop-node", test_cluster_stop_node);
  g_test_add_func ("/cluster/kill-node", test_cluster_kill_node);
  g_test_add_func ("/cluster/drover-fails-over", test_cluster_drover_fails_over);

  status = g_test_run ();

  if (cluster != NULL)
    {
      gint64 start = g_get_monotonic_time ();

      drover_test_cluster_free (cluster);
      g_test_message ("the cluster stopped in %.1f s",
                      (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC);
    }
  g_clear_error (&cluster_error);

  return status;
}
