/* test-link.c: DroverMqttLink and the telemetry pipeline on a real broker
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <MQTTAsync.h>
#include <string.h>

#include "drover-core.h"
#include "drover-test-broker.h"
#include "drover-test-tls.h"

#define WAIT_US (10 * G_USEC_PER_SEC)

/* Runs the main context until @done says so, for at most @timeout_us. */
static gboolean
iterate_until (gboolean (*done) (gconstpointer a, gconstpointer b),
               gconstpointer a,
               gconstpointer b,
               gint64        timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;

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
link_in_state (gconstpointer link,
               gconstpointer state)
{
  return drover_mqtt_link_get_state ((DroverMqttLink *)link) == (DroverLinkState)GPOINTER_TO_INT (state);
}

static gboolean
wait_for_state (DroverMqttLink  *link,
                DroverLinkState  state)
{
  return iterate_until (link_in_state, link, GINT_TO_POINTER (state), WAIT_US);
}

/* Lets the main context run for a while, bounded. */
static void
spin (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static void
test_link_tls (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("drover-tls-XXXXXX", &error);
  g_autofree char *ca = NULL;
  g_autofree char *other_ca = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *wrong_name_uri = NULL;
  g_autoptr(DroverTestBroker) broker = NULL;
  g_autoptr(DroverTestBroker) wrong_name = NULL;
  g_autoptr(DroverMqttLink) good = NULL;
  g_autoptr(DroverMqttLink) untrusted = NULL;
  g_autoptr(DroverMqttLink) mismatch = NULL;
  g_autoptr(DroverMqttLink) unchecked = NULL;
  g_autofree char *other_dir = NULL;
  guint16 port;
  guint16 wrong_port;

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
  uri = g_strdup_printf ("ssl://127.0.0.1:%u", port);
  wrong_name_uri = g_strdup_printf ("ssl://127.0.0.1:%u", wrong_port);

  /* The right CA, a certificate naming 127.0.0.1: connected. */
  good = drover_mqtt_link_new (uri, "test-good");
  drover_mqtt_link_set_tls (good, ca, NULL, NULL, TRUE);
  g_assert_true (drover_mqtt_link_start (good, NULL));
  g_assert_true (wait_for_state (good, DROVER_LINK_STATE_CONNECTED));
  g_assert_null (drover_mqtt_link_get_status_message (good));

  /* Another CA: refused, and the operator is told about the certificate. */
  untrusted = drover_mqtt_link_new (uri, "test-untrusted");
  drover_mqtt_link_set_tls (untrusted, other_ca, NULL, NULL, TRUE);
  g_assert_true (drover_mqtt_link_start (untrusted, NULL));
  g_assert_true (wait_for_state (untrusted, DROVER_LINK_STATE_RETRYING));
  g_assert_nonnull (strstr (drover_mqtt_link_get_status_message (untrusted), "certificate is not trusted"));

  /* The right CA, but a certificate for another host: refused too. */
  mismatch = drover_mqtt_link_new (wrong_name_uri, "test-mismatch");
  drover_mqtt_link_set_tls (mismatch, ca, NULL, NULL, TRUE);
  g_assert_true (drover_mqtt_link_start (mismatch, NULL));
  g_assert_true (wait_for_state (mismatch, DROVER_LINK_STATE_RETRYING));
  g_assert_nonnull (strstr (drover_mqtt_link_get_status_message (mismatch), "does not name this host"));

  /* Only the operator's explicit choice lifts the host-name check. */
  unchecked = drover_mqtt_link_new (wrong_name_uri, "test-unchecked");
  drover_mqtt_link_set_tls (unchecked, ca, NULL, NULL, FALSE);
  g_assert_true (drover_mqtt_link_start (unchecked, NULL));
  g_assert_true (wait_for_state (unchecked, DROVER_LINK_STATE_CONNECTED));

  /* A Bambu printer's certificate names its serial, not its address: the
   * link checks it against the serial it expects. */
  {
    g_autoptr(DroverTestBroker) printer_broker = NULL;
    g_autoptr(DroverMqttLink) right_serial = NULL;
    g_autoptr(DroverMqttLink) other_serial = NULL;
    g_autofree char *printer_uri = NULL;
    guint16 printer_port;

    drover_test_make_certificates (dir, "printer", "DNS:01P00A000400001");
    printer_broker = drover_test_start_tls_broker (dir, "printer", &printer_port);
    printer_uri = g_strdup_printf ("ssl://127.0.0.1:%u", printer_port);

    right_serial = drover_mqtt_link_new (printer_uri, "test-serial");
    drover_mqtt_link_set_tls (right_serial, ca, NULL, NULL, TRUE);
    drover_mqtt_link_set_tls_server_name (right_serial, "01P00A000400001");
    g_assert_true (drover_mqtt_link_start (right_serial, NULL));
    g_assert_true (wait_for_state (right_serial, DROVER_LINK_STATE_CONNECTED));

    other_serial = drover_mqtt_link_new (printer_uri, "test-other-serial");
    drover_mqtt_link_set_tls (other_serial, ca, NULL, NULL, TRUE);
    drover_mqtt_link_set_tls_server_name (other_serial, "01P00A000499999");
    g_assert_true (drover_mqtt_link_start (other_serial, NULL));
    g_assert_true (wait_for_state (other_serial, DROVER_LINK_STATE_RETRYING));
    g_assert_nonnull (strstr (drover_mqtt_link_get_status_message (other_serial), "does not name “01P00A000499999”"));

    drover_mqtt_link_stop (right_serial);
    drover_mqtt_link_stop (other_serial);
  }

  drover_mqtt_link_stop (good);
  drover_mqtt_link_stop (untrusted);
  drover_mqtt_link_stop (mismatch);
  drover_mqtt_link_stop (unchecked);
}

static void
test_link_refused_credentials (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("drover-auth-XXXXXX", &error);
  g_autofree char *passwords = g_build_filename (dir, "passwd", NULL);
  g_autofree char *config = NULL;
  g_autofree char *uri = NULL;
  g_autoptr(DroverTestBroker) broker = NULL;
  g_autoptr(DroverMqttLink) link = NULL;
  g_autoptr(GSubprocess) passwd = NULL;

  g_assert_no_error (error);
  passwd = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error,
                             "mosquitto_passwd", "-c", "-b", passwords, "drover", "right-password", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (passwd, NULL, NULL));

  config = g_strdup_printf ("allow_anonymous false\npassword_file %s\n", passwords);
  broker = drover_test_broker_start (config, &error);
  g_assert_no_error (error);
  uri = drover_test_broker_dup_uri (broker);

  link = drover_mqtt_link_new (uri, "test-refused");
  drover_mqtt_link_set_credentials (link, "drover", "wrong-password");
  g_assert_true (drover_mqtt_link_start (link, NULL));
  g_assert_true (wait_for_state (link, DROVER_LINK_STATE_REFUSED));
  g_test_message ("%s", drover_mqtt_link_get_status_message (link));
  g_assert_nonnull (strstr (drover_mqtt_link_get_status_message (link), "refused"));
  g_assert_nonnull (strstr (drover_mqtt_link_get_status_message (link), "password"));

  /* No retry storm: it stays refused and never connects. */
  spin (2500);
  g_assert_cmpint (drover_mqtt_link_get_state (link), ==, DROVER_LINK_STATE_REFUSED);
  g_assert_cmpuint (drover_mqtt_link_get_n_connects (link), ==, 0);
}

/* A plain Paho publisher, as a printer. */
static void
publish (const char *uri,
         const char *topic,
         const char *payload,
         gboolean    retained)
{
  MQTTAsync client;
  MQTTAsync_connectOptions options = MQTTAsync_connectOptions_initializer;
  MQTTAsync_message message = MQTTAsync_message_initializer;
  MQTTAsync_responseOptions response = MQTTAsync_responseOptions_initializer;
  gint64 deadline = g_get_monotonic_time () + WAIT_US;

  g_assert_cmpint (MQTTAsync_create (&client, uri, "test-printer", MQTTCLIENT_PERSISTENCE_NONE, NULL), ==, MQTTASYNC_SUCCESS);
  options.cleansession = 1;
  g_assert_cmpint (MQTTAsync_connect (client, &options), ==, MQTTASYNC_SUCCESS);
  while (!MQTTAsync_isConnected (client) && g_get_monotonic_time () < deadline)
    g_usleep (5000);
  g_assert_true (MQTTAsync_isConnected (client));

  message.payload = (void *)payload;
  message.payloadlen = strlen (payload);
  message.qos = 1;
  message.retained = retained;
  g_assert_cmpint (MQTTAsync_sendMessage (client, topic, &message, &response), ==, MQTTASYNC_SUCCESS);
  g_assert_cmpint (MQTTAsync_waitForCompletion (client, response.token, 5000), ==, MQTTASYNC_SUCCESS);
  MQTTAsync_destroy (&client);
}

static gboolean
hotend_at (gconstpointer printer,
           gconstpointer celsius)
{
  return drover_printer_get_hotend_temperature ((DroverPrinter *)printer) == *(const double *)celsius;
}

static gboolean
printer_hotend_is (DroverPrinter *printer,
                   double         celsius)
{
  return iterate_until (hotend_at, printer, &celsius, WAIT_US);
}

static void
test_link_reconnects_and_resyncs (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) broker = drover_test_broker_start (NULL, &error);
  g_autoptr(DroverFleet) fleet = drover_fleet_new ();
  g_autoptr(DroverPrinter) printer = drover_printer_new ("p1", DROVER_CONNECTOR_NATIVE);
  g_autoptr(DroverTelemetry) telemetry = drover_telemetry_new (fleet);
  g_autoptr(DroverMqttLink) link = NULL;
  g_autofree char *uri = NULL;

  g_assert_no_error (error);
  uri = drover_test_broker_dup_uri (broker);
  drover_fleet_add_printer (fleet, printer);
  drover_telemetry_add_route (telemetry, DROVER_CONNECTOR_NATIVE, "p1", "p1");

  link = drover_mqtt_link_new (uri, "test-resync");
  drover_telemetry_attach_link (telemetry, link);
  g_assert_true (drover_mqtt_link_start (link, NULL));
  g_assert_true (wait_for_state (link, DROVER_LINK_STATE_CONNECTED));

  publish (uri, "drover/v1/p1/state",
           "{\"v\":1,\"ts\":\"2026-11-25T10:00:00Z\",\"state\":\"printing\",\"hotend\":{\"actual\":200.0,\"target\":210.0},"
           "\"bed\":{\"actual\":60.0,\"target\":60.0},\"job\":null,\"error\":null}", TRUE);
  g_assert_true (printer_hotend_is (printer, 200.0));
  g_assert_cmpint (drover_printer_get_state (printer), ==, DROVER_PRINTER_STATE_PRINTING);

  /* The broker dies and comes back with its retained state. */
  g_assert_true (drover_test_broker_restart (broker, &error));
  g_assert_no_error (error);
  g_assert_true (wait_for_state (link, DROVER_LINK_STATE_RETRYING));
  g_assert_nonnull (drover_mqtt_link_get_status_message (link));
  g_assert_true (wait_for_state (link, DROVER_LINK_STATE_CONNECTED));
  g_assert_cmpuint (drover_mqtt_link_get_n_connects (link), ==, 2);

  /* Subscribed again: news published after the restart arrives. */
  publish (uri, "drover/v1/p1/state",
           "{\"v\":1,\"ts\":\"2026-11-25T10:00:05Z\",\"state\":\"printing\",\"hotend\":{\"actual\":209.5,\"target\":210.0},"
           "\"bed\":{\"actual\":60.0,\"target\":60.0},\"job\":null,\"error\":null}", TRUE);
  g_assert_true (printer_hotend_is (printer, 209.5));

  drover_mqtt_link_stop (link);
}

static void
test_telemetry_malformed_storm (void)
{
  g_autoptr(DroverFleet) fleet = drover_fleet_new ();
  g_autoptr(DroverPrinter) printer = drover_printer_new ("p1", DROVER_CONNECTOR_NATIVE);
  g_autoptr(DroverTelemetry) telemetry = drover_telemetry_new (fleet);
  g_autofree guint8 *huge = g_malloc0 (DROVER_DECODE_MAX_PAYLOAD + 1);
  static const char good[] =
    "{\"v\":1,\"ts\":\"2026-11-25T10:00:00Z\",\"state\":\"paused\",\"hotend\":{\"actual\":180.0,\"target\":200.0},"
    "\"bed\":{\"actual\":55.0,\"target\":60.0},\"job\":null,\"error\":null}";
  static const char * const bad[] = {
    "", "{", "null", "[1,2,3]", "{\"v\":1,\"state\":42}", "{\"v\":1,\"hotend\":{\"actual\":\"hot\"}}",
    "{\"v\":1,\"hotend\":{\"actual\":1e308}}", "{\"v\":99,\"state\":\"idle\"}", "\xff\xfe\x00garbage",
  };
  DroverTelemetryCounts counts;

  drover_fleet_add_printer (fleet, printer);
  drover_telemetry_add_route (telemetry, DROVER_CONNECTOR_NATIVE, "p1", "p1");

  drover_telemetry_feed (telemetry, "drover/v1/p1/state", (const guint8 *)good, strlen (good));
  drover_telemetry_flush (telemetry);
  g_assert_cmpfloat (drover_printer_get_hotend_temperature (printer), ==, 180.0);

  /* Ten thousand bad messages, and a few oversized ones. */
  for (guint i = 0; i < 10000; i++)
    {
      const char *payload = bad[i % G_N_ELEMENTS (bad)];

      drover_telemetry_feed (telemetry, "drover/v1/p1/state", (const guint8 *)payload, strlen (payload));
    }
  for (guint i = 0; i < 10; i++)
    drover_telemetry_feed (telemetry, "drover/v1/p1/state", huge, DROVER_DECODE_MAX_PAYLOAD + 1);
  drover_telemetry_flush (telemetry);

  /* Counted, and the printer's state untouched. */
  drover_telemetry_get_counts (telemetry, &counts);
  g_assert_cmpuint (counts.received, ==, 10011);
  g_assert_cmpuint (counts.oversized, ==, 10);
  g_assert_cmpuint (counts.malformed, ==, 10000);
  g_assert_cmpuint (counts.decoded, ==, 1);
  g_assert_cmpfloat (drover_printer_get_hotend_temperature (printer), ==, 180.0);
  g_assert_cmpfloat (drover_printer_get_hotend_target (printer), ==, 200.0);
  g_assert_cmpint (drover_printer_get_state (printer), ==, DROVER_PRINTER_STATE_PAUSED);

  /* A message about a printer nobody listed is counted, not invented. */
  drover_telemetry_feed (telemetry, "drover/v1/stranger/state", (const guint8 *)good, strlen (good));
  drover_telemetry_get_counts (telemetry, &counts);
  g_assert_cmpuint (counts.unknown_printer, ==, 1);
  g_assert_cmpuint (drover_fleet_get_n_printers (fleet), ==, 1);
}

static void
count_cb (GObject    *object,
          GParamSpec *pspec,
          guint      *count)
{
  (*count)++;
}

/* Resident memory, in bytes, from /proc. */
static gsize
resident_bytes (void)
{
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, "VmRSS:");
  g_assert_nonnull (line);
  return (gsize)g_ascii_strtoull (line + strlen ("VmRSS:"), NULL, 10) * 1024;
}

static gboolean
oversized_counted (gconstpointer telemetry,
                   gconstpointer n)
{
  DroverTelemetryCounts counts;

  drover_telemetry_get_counts ((DroverTelemetry *)telemetry, &counts);
  return counts.oversized >= *(const guint64 *)n;
}

/* Publishes with mosquitto_pub, another process, as a printer or anyone
 * with access to its topic would: `-f PATH` a file's bytes, `-m TEXT`. */
static void
publish_with_tool (guint16     port,
                   const char *topic,
                   const char *option,
                   const char *value)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  g_autoptr(GSubprocess) pub = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error,
                                                 "mosquitto_pub", "-h", "127.0.0.1", "-p", port_text,
                                                 "-t", topic, "-q", "1", option, value, NULL);

  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (pub, NULL, &error));
  g_assert_no_error (error);
}

/* A printer (or anyone on its topic) floods 10 MB payloads through a real
 * broker: each is counted and dropped unread, the printer's real reports
 * still get through, and memory does not grow with the flood. */
static void
test_telemetry_payload_flood (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) broker = drover_test_broker_start (NULL, &error);
  g_autoptr(DroverFleet) fleet = drover_fleet_new ();
  g_autoptr(DroverPrinter) printer = drover_printer_new ("p1", DROVER_CONNECTOR_NATIVE);
  g_autoptr(DroverTelemetry) telemetry = drover_telemetry_new (fleet);
  g_autoptr(DroverMqttLink) link = NULL;
  g_autofree char *uri = NULL;
  g_autofree guint8 *huge = g_malloc (10 * 1024 * 1024);
  g_autofree char *huge_path = g_build_filename (drover_test_broker_get_dir (broker), "huge.json", NULL);
  guint64 oversized;
  DroverTelemetryCounts counts;
  gsize warm = 0;
  guint sent = 0;

  g_assert_no_error (error);
  uri = drover_test_broker_dup_uri (broker);
  memset (huge, '{', 10 * 1024 * 1024);
  g_assert_true (g_file_set_contents (huge_path, (const char *)huge, 10 * 1024 * 1024, &error));
  drover_fleet_add_printer (fleet, printer);
  drover_telemetry_add_route (telemetry, DROVER_CONNECTOR_NATIVE, "p1", "p1");

  link = drover_mqtt_link_new (uri, "test-flood-drover");
  drover_telemetry_attach_link (telemetry, link);
  g_assert_true (drover_mqtt_link_start (link, NULL));
  g_assert_true (wait_for_state (link, DROVER_LINK_STATE_CONNECTED));

  for (guint round = 0; round < 2; round++)
    {
      /* 5 payloads of 10 MB to warm up, then 20 more. */
      guint n = round == 0 ? 5 : 20;

      for (guint i = 0; i < n; i++)
        {
          g_autofree char *good = g_strdup_printf ("{\"v\":1,\"ts\":\"2026-11-25T10:00:00Z\",\"state\":\"printing\","
                                                   "\"hotend\":{\"actual\":%u.0,\"target\":250.0},"
                                                   "\"bed\":{\"actual\":60.0,\"target\":60.0},\"job\":null,\"error\":null}",
                                                   100 + sent);

          publish_with_tool (drover_test_broker_get_port (broker), "drover/v1/p1/state", "-f", huge_path);
          publish_with_tool (drover_test_broker_get_port (broker), "drover/v1/p1/state", "-m", good);
          sent++;
        }

      oversized = sent;
      g_assert_true (iterate_until (oversized_counted, telemetry, &oversized, 60 * G_USEC_PER_SEC));
      g_assert_true (printer_hotend_is (printer, 100.0 + sent - 1));
      if (round == 0)
        warm = resident_bytes ();
    }

  drover_telemetry_flush (telemetry);
  drover_telemetry_get_counts (telemetry, &counts);
  g_assert_cmpuint (counts.oversized, ==, 25);
  g_assert_cmpuint (counts.decoded, ==, 25);
  g_assert_cmpint (drover_printer_get_state (printer), ==, DROVER_PRINTER_STATE_PRINTING);

#if !defined(__SANITIZE_ADDRESS__)
  /* 200 MB went through after the warm-up: resident memory grew by less
   * than two payloads. (AddressSanitizer holds freed memory in quarantine,
   * so the figure means nothing there.) */
  g_test_message ("resident after warm-up %zu MB, after 20 more payloads %zu MB", warm >> 20, resident_bytes () >> 20);
  g_assert_cmpuint (resident_bytes (), <, warm + 20 * 1024 * 1024);
#else
  (void)warm;
#endif

  drover_mqtt_link_stop (link);
}

static gboolean
connected_to_node (gconstpointer link,
                   gconstpointer uri)
{
  return g_strcmp0 (drover_mqtt_link_get_node ((DroverMqttLink *)link), uri) == 0 &&
         drover_mqtt_link_get_state ((DroverMqttLink *)link) == DROVER_LINK_STATE_CONNECTED;
}

static gboolean
wait_for_node (DroverMqttLink *link,
               const char     *uri)
{
  return iterate_until (connected_to_node, link, uri, 3 * WAIT_US);
}

/* Two nodes: the link is on the first, which dies; it comes back on the
 * second, subscribes there, gets the retained state again, and says which
 * node it is on and when it failed over. */
static void
test_link_fails_over (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) first = drover_test_broker_start (NULL, &error);
  g_autoptr(DroverTestBroker) second = NULL;
  g_autoptr(DroverFleet) fleet = drover_fleet_new ();
  g_autoptr(DroverPrinter) printer = drover_printer_new ("p1", DROVER_CONNECTOR_NATIVE);
  g_autoptr(DroverTelemetry) telemetry = drover_telemetry_new (fleet);
  g_autoptr(DroverMqttLink) link = NULL;
  g_autofree char *first_uri = NULL;
  g_autofree char *second_uri = NULL;
  const char *nodes[3];
  static const char state_on_second[] =
    "{\"v\":1,\"ts\":\"2026-11-25T10:00:05Z\",\"state\":\"printing\",\"hotend\":{\"actual\":215.0,\"target\":215.0},"
    "\"bed\":{\"actual\":60.0,\"target\":60.0},\"job\":null,\"error\":null}";

  g_assert_no_error (error);
  second = drover_test_broker_start (NULL, &error);
  g_assert_no_error (error);
  first_uri = drover_test_broker_dup_uri (first);
  second_uri = drover_test_broker_dup_uri (second);
  drover_fleet_add_printer (fleet, printer);
  drover_telemetry_add_route (telemetry, DROVER_CONNECTOR_NATIVE, "p1", "p1");

  /* In a cluster every node has the printer's retained state; here the
   * printer told both. */
  publish (first_uri, "drover/v1/p1/state",
           "{\"v\":1,\"ts\":\"2026-11-25T10:00:00Z\",\"state\":\"idle\",\"hotend\":{\"actual\":25.0,\"target\":0.0},"
           "\"bed\":{\"actual\":22.0,\"target\":0.0},\"job\":null,\"error\":null}", TRUE);
  publish (second_uri, "drover/v1/p1/state", state_on_second, TRUE);

  nodes[0] = first_uri;
  nodes[1] = second_uri;
  nodes[2] = NULL;
  link = drover_mqtt_link_new (first_uri, "test-failover");
  drover_mqtt_link_set_nodes (link, nodes);
  g_assert_cmpuint (drover_mqtt_link_get_n_nodes (link), ==, 2);
  drover_telemetry_attach_link (telemetry, link);
  g_assert_true (drover_mqtt_link_start (link, NULL));
  g_assert_true (wait_for_node (link, first_uri));
  g_assert_null (drover_mqtt_link_get_last_failover (link));
  g_assert_true (printer_hotend_is (printer, 25.0));

  /* The first node dies: the link moves to the second and resyncs. */
  g_assert_true (drover_test_broker_kill (first));
  g_assert_true (wait_for_node (link, second_uri));
  g_assert_nonnull (drover_mqtt_link_get_last_failover (link));
  g_assert_cmpuint (drover_mqtt_link_get_n_connects (link), ==, 2);
  g_assert_true (printer_hotend_is (printer, 215.0));
  g_assert_cmpint (drover_printer_get_state (printer), ==, DROVER_PRINTER_STATE_PRINTING);

  drover_mqtt_link_stop (link);
}

/* A broker that needs a password, and no keyring to keep it: the link
 * says so in words and does not try to sign in without it. */
static void
test_farm_no_keyring (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) broker = drover_test_broker_start (NULL, &error);
  g_autoptr(DroverFleet) fleet = drover_fleet_new ();
  g_autoptr(DroverFarm) farm = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *text = NULL;
  g_autofree char *log = NULL;
  DroverInventory *inventory;
  DroverMqttLink *link;

  g_assert_no_error (error);
  uri = drover_test_broker_dup_uri (broker);
  /* No session bus, so no Secret Service: as on a headless box. */
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/drover-test-bus", TRUE);

  text = g_strdup_printf ("[broker farm]\nuri=%s\nusername=drover\n\n[printer p1]\nconnector=native\nbroker=farm\n", uri);
  inventory = drover_inventory_load_from_data (text, -1, &error);
  g_assert_no_error (error);
  farm = drover_farm_new (fleet, inventory);
  g_assert_true (drover_farm_start (farm, &error));
  g_assert_no_error (error);

  link = g_ptr_array_index (drover_farm_get_links (farm), 0);
  g_assert_true (wait_for_state (link, DROVER_LINK_STATE_REFUSED));
  g_assert_nonnull (strstr (drover_mqtt_link_get_status_message (link), "No keyring is available"));
  g_assert_nonnull (strstr (drover_mqtt_link_get_status_message (link), "“drover”"));
  spin (500);
  g_assert_cmpuint (drover_mqtt_link_get_n_connects (link), ==, 0);
  log = drover_test_broker_dup_log (broker);
  g_assert_null (strstr (log, "New client connected"));

  drover_farm_stop (farm);
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
}

static void
test_telemetry_coalesces (void)
{
  g_autoptr(DroverFleet) fleet = drover_fleet_new ();
  g_autoptr(DroverPrinter) printer = drover_printer_new ("k1", DROVER_CONNECTOR_MOONRAKER);
  g_autoptr(DroverTelemetry) telemetry = drover_telemetry_new (fleet);
  DroverTelemetryCounts counts;
  guint notifications = 0;

  drover_fleet_add_printer (fleet, printer);
  drover_telemetry_add_route (telemetry, DROVER_CONNECTOR_MOONRAKER, "k1", "k1");

  /* 100 diffs in one frame: one update applied, the newest value wins,
   * fields from earlier diffs that later ones do not name are kept. */
  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *diff = g_strdup_printf ("{\"eventtime\":%u.5,\"status\":{\"extruder\":{\"temperature\":%u.0}%s}}",
                                               i, 100 + i, i == 0 ? ",\"heater_bed\":{\"target\":60.0}" : "");

      drover_telemetry_feed (telemetry, "k1/klipper/status", (const guint8 *)diff, strlen (diff));
    }

  g_signal_connect (printer, "notify::hotend-temperature", G_CALLBACK (count_cb), &notifications);
  drover_telemetry_flush (telemetry);
  g_signal_handlers_disconnect_by_data (printer, &notifications);

  drover_telemetry_get_counts (telemetry, &counts);
  g_assert_cmpuint (counts.decoded, ==, 100);
  g_assert_cmpuint (counts.applied, ==, 1);
  g_assert_cmpuint (notifications, ==, 1);
  g_assert_cmpfloat (drover_printer_get_hotend_temperature (printer), ==, 199.0);
  g_assert_cmpfloat (drover_printer_get_bed_target (printer), ==, 60.0);
}

static void
test_telemetry_offline_after_silence (void)
{
  g_autoptr(DroverFleet) fleet = drover_fleet_new ();
  g_autoptr(DroverPrinter) native = drover_printer_new ("n1", DROVER_CONNECTOR_NATIVE);
  g_autoptr(DroverPrinter) octoprint = drover_printer_new ("o1", DROVER_CONNECTOR_OCTOPRINT);
  g_autoptr(DroverTelemetry) telemetry = drover_telemetry_new (fleet);
  g_autoptr(GDateTime) now = NULL;
  static const char state[] =
    "{\"v\":1,\"ts\":\"2026-11-25T10:00:00Z\",\"state\":\"idle\",\"hotend\":{\"actual\":22.0,\"target\":0.0},"
    "\"bed\":{\"actual\":22.0,\"target\":0.0},\"job\":null,\"error\":null}";
  static const char temperature[] = "{\"actual\": 22.0, \"target\": 0.0, \"_timestamp\": 1795580634}";

  drover_fleet_add_printer (fleet, native);
  drover_fleet_add_printer (fleet, octoprint);
  drover_telemetry_add_route (telemetry, DROVER_CONNECTOR_NATIVE, "n1", "n1");
  drover_telemetry_add_route (telemetry, DROVER_CONNECTOR_OCTOPRINT, "o1", "o1");
  drover_telemetry_set_offline_timeout (telemetry, 1);

  drover_telemetry_feed (telemetry, "drover/v1/n1/state", (const guint8 *)state, strlen (state));
  drover_telemetry_feed (telemetry, "octoPrint/o1/temperature/tool0", (const guint8 *)temperature, strlen (temperature));
  drover_telemetry_flush (telemetry);
  g_assert_cmpint (drover_printer_get_state (native), ==, DROVER_PRINTER_STATE_IDLE);
  g_assert_cmpint (drover_printer_get_state (octoprint), ==, DROVER_PRINTER_STATE_IDLE);
  g_assert_nonnull (drover_printer_get_last_seen (native));

  /* A printer that reports periodically and falls silent is offline, and
   * says since when; OctoPrint's plugin publishes only on change, so its
   * silence proves nothing: only its will counts. */
  spin (1200);
  now = g_date_time_new_now_utc ();
  drover_telemetry_check_offline (telemetry, now);
  g_assert_cmpint (drover_printer_get_state (native), ==, DROVER_PRINTER_STATE_OFFLINE);
  g_assert_nonnull (drover_printer_get_last_seen (native));
  g_assert_cmpint (drover_printer_get_state (octoprint), ==, DROVER_PRINTER_STATE_IDLE);

  /* It speaks again: back. */
  drover_telemetry_feed (telemetry, "drover/v1/n1/state", (const guint8 *)state, strlen (state));
  drover_telemetry_flush (telemetry);
  g_assert_cmpint (drover_printer_get_state (native), ==, DROVER_PRINTER_STATE_IDLE);
}

/* Received on the plain listener of the printer's broker, by a bystander. */
static GAsyncQueue *requests;

static int
request_arrived_cb (void              *context,
                    char              *topic,
                    int                topic_length,
                    MQTTAsync_message *message)
{
  g_async_queue_push (requests, g_strdup_printf ("%s %.*s", topic, message->payloadlen, (char *)message->payload));
  MQTTAsync_freeMessage (&message);
  MQTTAsync_free (topic);
  return 1;
}

/* A client that records what is published on @filter into `requests`:
 * the printer's side of a request Drover sends. */
static MQTTAsync
start_watcher (const char *uri,
               const char *client_id,
               const char *filter)
{
  MQTTAsync watcher;
  MQTTAsync_connectOptions options = MQTTAsync_connectOptions_initializer;
  MQTTAsync_responseOptions response = MQTTAsync_responseOptions_initializer;
  gint64 deadline;

  requests = g_async_queue_new_full (g_free);
  g_assert_cmpint (MQTTAsync_create (&watcher, uri, client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL), ==, MQTTASYNC_SUCCESS);
  MQTTAsync_setCallbacks (watcher, NULL, NULL, request_arrived_cb, NULL);
  options.cleansession = 1;
  g_assert_cmpint (MQTTAsync_connect (watcher, &options), ==, MQTTASYNC_SUCCESS);
  deadline = g_get_monotonic_time () + WAIT_US;
  while (!MQTTAsync_isConnected (watcher) && g_get_monotonic_time () < deadline)
    g_usleep (5000);
  g_assert_true (MQTTAsync_isConnected (watcher));
  g_assert_cmpint (MQTTAsync_subscribe (watcher, filter, 1, &response), ==, MQTTASYNC_SUCCESS);
  g_assert_cmpint (MQTTAsync_waitForCompletion (watcher, response.token, 5000), ==, MQTTASYNC_SUCCESS);

  return watcher;
}

static void
test_farm_asks_bambu_for_full_report (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("drover-bambu-XXXXXX", &error);
  g_autofree char *ca = NULL;
  g_autofree char *plain_uri = NULL;
  g_autofree char *inventory_text = NULL;
  g_autofree char *request = NULL;
  g_autoptr(DroverTestBroker) broker = NULL;
  g_autoptr(DroverFleet) fleet = drover_fleet_new ();
  g_autoptr(DroverFarm) farm = NULL;
  MQTTAsync watcher;
  gint64 deadline;
  DroverInventory *inventory;
  guint16 tls_port;

  g_assert_no_error (error);
  drover_test_make_certificates (dir, "printer", "DNS:01P00A000400001");
  ca = g_build_filename (dir, "ca.pem", NULL);
  broker = drover_test_start_tls_broker (dir, "printer", &tls_port);
  plain_uri = drover_test_broker_dup_uri (broker);

  /* Somebody watches what the printer is asked. */
  watcher = start_watcher (plain_uri, "watcher", "device/+/request");

  inventory_text = g_strdup_printf ("[printer x1]\nconnector=bambu\nserial=01P00A000400001\n"
                                    "uri=ssl://127.0.0.1:%u\nca-file=%s\naccess-code=12345678\n", tls_port, ca);
  inventory = drover_inventory_load_from_data (inventory_text, -1, &error);
  g_assert_no_error (error);
  farm = drover_farm_new (fleet, inventory);
  g_assert_true (drover_farm_start (farm, &error));
  g_assert_no_error (error);

  /* P1 and A1 printers send only what changed: a console that connects
   * must ask for everything once, on the printer's request topic. */
  deadline = g_get_monotonic_time () + WAIT_US;
  while (request == NULL && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      request = g_async_queue_try_pop (requests);
      g_usleep (1000);
    }
  g_assert_nonnull (request);
  g_assert_true (g_str_has_prefix (request, "device/01P00A000400001/request "));
  g_assert_nonnull (strstr (request, "\"command\": \"pushall\""));

  drover_farm_stop (farm);
  MQTTAsync_destroy (&watcher);
  g_clear_pointer (&requests, g_async_queue_unref);
}

/* On a cluster (retained status may never come) Drover asks each Moonraker
 * printer for its whole state, and takes the answer as the printer's. */
static gboolean
printer_known (gconstpointer printer,
               gconstpointer unused)
{
  return drover_printer_get_state ((DroverPrinter *)printer) == DROVER_PRINTER_STATE_PRINTING &&
         g_strcmp0 (drover_printer_get_current_file ((DroverPrinter *)printer), "benchy.gcode") == 0;
}

static void
test_farm_queries_moonraker (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) first = drover_test_broker_start (NULL, &error);
  g_autoptr(DroverTestBroker) second = NULL;
  g_autoptr(DroverFleet) fleet = drover_fleet_new ();
  g_autoptr(DroverFarm) farm = NULL;
  g_autofree char *first_uri = NULL;
  g_autofree char *second_uri = NULL;
  g_autofree char *text = NULL;
  g_autofree char *request = NULL;
  g_autofree char *answer = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  MQTTAsync watcher;
  gint64 deadline;
  DroverInventory *inventory;
  DroverPrinter *printer;
  JsonObject *root;

  g_assert_no_error (error);
  second = drover_test_broker_start (NULL, &error);
  g_assert_no_error (error);
  first_uri = drover_test_broker_dup_uri (first);
  second_uri = drover_test_broker_dup_uri (second);

  /* The printer's side: whatever Moonraker is asked on node 0. */
  watcher = start_watcher (first_uri, "moonraker-1", "voron/moonraker/api/request");

  text = g_strdup_printf ("[broker cluster]\nuri=%s, %s\n\n[printer p1]\nconnector=moonraker\nbroker=cluster\ninstance=voron\n",
                          first_uri, second_uri);
  inventory = drover_inventory_load_from_data (text, -1, &error);
  g_assert_no_error (error);
  farm = drover_farm_new (fleet, inventory);
  g_assert_true (drover_farm_start (farm, &error));
  g_assert_no_error (error);
  printer = drover_fleet_find_printer (fleet, "p1");
  g_assert_nonnull (printer);

  /* Asked: a JSON-RPC printer.objects.query on the printer's API topic. */
  deadline = g_get_monotonic_time () + WAIT_US;
  while (request == NULL && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      request = g_async_queue_try_pop (requests);
      g_usleep (1000);
    }
  g_assert_nonnull (request);
  g_assert_true (g_str_has_prefix (request, "voron/moonraker/api/request "));
  g_assert_true (json_parser_load_from_data (parser, strchr (request, ' ') + 1, -1, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "method"), ==, "printer.objects.query");

  /* Answered as Moonraker does: the printer's state comes from it alone. */
  g_assert_cmpint (drover_printer_get_state (printer), ==, DROVER_PRINTER_STATE_OFFLINE);
  answer = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"result\":{\"eventtime\":1.0,\"status\":{"
                            "\"webhooks\":{\"state\":\"ready\"},\"print_stats\":{\"filename\":\"benchy.gcode\","
                            "\"state\":\"printing\",\"print_duration\":10.0},\"extruder\":{\"temperature\":214.8,"
                            "\"target\":215.0},\"heater_bed\":{\"temperature\":59.9,\"target\":60.0}}},\"id\":\"%s\"}",
                            json_object_get_string_member (root, "id"));
  publish (first_uri, "voron/moonraker/api/response", answer, FALSE);
  g_assert_true (iterate_until (printer_known, printer, NULL, WAIT_US));
  g_assert_cmpfloat (drover_printer_get_hotend_temperature (printer), ==, 214.8);

  drover_farm_stop (farm);
  MQTTAsync_destroy (&watcher);
  g_clear_pointer (&requests, g_async_queue_unref);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_assert_true (drover_core_init (NULL));

  g_test_add_func ("/farm/no-keyring", test_farm_no_keyring);
  g_test_add_func ("/link/tls", test_link_tls);
  g_test_add_func ("/link/refused-credentials", test_link_refused_credentials);
  g_test_add_func ("/link/reconnects-and-resyncs", test_link_reconnects_and_resyncs);
  g_test_add_func ("/link/fails-over", test_link_fails_over);
  g_test_add_func ("/telemetry/malformed-storm", test_telemetry_malformed_storm);
  g_test_add_func ("/telemetry/coalesces", test_telemetry_coalesces);
  g_test_add_func ("/telemetry/payload-flood", test_telemetry_payload_flood);
  g_test_add_func ("/telemetry/offline-after-silence", test_telemetry_offline_after_silence);
  g_test_add_func ("/farm/asks-bambu-for-full-report", test_farm_asks_bambu_for_full_report);
  g_test_add_func ("/farm/queries-moonraker", test_farm_queries_moonraker);

  return g_test_run ();
}
