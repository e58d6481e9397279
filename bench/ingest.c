/* ingest.c: how fast Drover's core takes in telemetry
 *
 * A private mosquitto, drover-sim publishing as fast as its tick allows,
 * and two listeners in turn over the same load: `mosquitto_sub` alone (the
 * reference: what the broker delivers to a client that only counts), then
 * Drover's core alone (Paho link, decoders, per-frame coalescing, applied
 * to a DroverFleet). Prints messages/s for each, the ratio, and the
 * latency from the printer's publish (the `ts` in native state messages)
 * to the update being applied. Then the same through a two-node RabbitMQ
 * cluster (when rabbitmq-server is installed): drover-sim publishes through
 * one node, mosquitto_sub and Drover listen on the other. Figures, never
 * pass/fail.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "drover-core.h"
#include "drover-test-broker.h"
#include "drover-test-rabbitmq.h"

static int opt_printers = 1000;
static int opt_tick_ms = 10;
static int opt_burst = 1;
static double opt_seconds = 8.0;
static char *opt_mix;
static gboolean opt_no_cluster;

static const GOptionEntry entries[] = {
  { "printers", 'n', 0, G_OPTION_ARG_INT, &opt_printers, "Simulated printers (default 1000)", "N" },
  { "tick-ms", 0, 0, G_OPTION_ARG_INT, &opt_tick_ms, "drover-sim's tick: every printer publishes once per tick (default 10)", "MS" },
  { "burst", 0, 0, G_OPTION_ARG_INT, &opt_burst, "drover-sim's --burst: reports per printer per tick (default 1)", "N" },
  { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &opt_seconds, "How long each listener listens (default 8)", "S" },
  { "mix", 0, 0, G_OPTION_ARG_STRING, &opt_mix, "drover-sim's --mix (default native=1,moonraker=1)", "LIST" },
  { "no-cluster", 0, 0, G_OPTION_ARG_NONE, &opt_no_cluster, "Only mosquitto, not also a two-node RabbitMQ cluster", NULL },
  { NULL }
};

typedef struct
{
  DroverTelemetry *telemetry;
  gint64          *published_us;   /* per printer index: the newest publish time seen, µs */
  guint            n_printers;
  GMutex           lock;
  GPtrArray       *recorded_topics;   /* a sample of the live stream, for the replay */
  GPtrArray       *recorded_payloads; /* GBytes */
} Probe;

#define RECORD_MAX 20000

typedef struct
{
  Probe *probe;
  guint  rounds;
} Replay;

/* Feeds the recorded stream through decode and queue as fast as a thread can. */
static gpointer
replay_thread (gpointer data)
{
  Replay *replay = data;
  Probe *probe = replay->probe;

  for (guint round = 0; round < replay->rounds; round++)
    for (guint i = 0; i < probe->recorded_topics->len; i++)
      {
        GBytes *payload = g_ptr_array_index (probe->recorded_payloads, i);

        drover_telemetry_feed (probe->telemetry, g_ptr_array_index (probe->recorded_topics, i),
                               g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
      }

  return NULL;
}

/* Paho's thread: note when the printer said it published, then decode. */
static void
message_cb (const char   *topic,
            const guint8 *payload,
            gsize         length,
            gboolean      retained,
            gpointer      user_data)
{
  Probe *probe = user_data;

  if (!retained && g_str_has_prefix (topic, "drover/v1/p-") && g_str_has_suffix (topic, "/state") && length < 4096)
    {
      guint index = (guint)g_ascii_strtoull (topic + strlen ("drover/v1/p-"), NULL, 10);
      g_autofree char *text = g_strndup ((const char *)payload, length);
      const char *ts = strstr (text, "\"ts\":\"");

      if (ts != NULL && index >= 1 && index <= probe->n_printers)
        {
          g_autofree char *iso = g_strndup (ts + 6, 27);
          g_autoptr(GDateTime) when = g_date_time_new_from_iso8601 (iso, NULL);

          if (when != NULL)
            g_atomic_pointer_set ((gpointer *)&probe->published_us[index - 1],
                                  GSIZE_TO_POINTER ((gsize)(g_date_time_to_unix (when) * G_USEC_PER_SEC +
                                                            g_date_time_get_microsecond (when))));
        }
    }

  g_mutex_lock (&probe->lock);
  if (probe->recorded_topics->len < RECORD_MAX)
    {
      g_ptr_array_add (probe->recorded_topics, g_strdup (topic));
      g_ptr_array_add (probe->recorded_payloads, g_bytes_new (payload, length));
    }
  g_mutex_unlock (&probe->lock);

  drover_telemetry_feed (probe->telemetry, topic, payload, length);
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *)a;
  double y = *(const double *)b;

  return (x > y) - (x < y);
}

typedef struct
{
  Probe  *probe;
  GArray *latencies_ms;
  gboolean measuring;
} Watch;

static void
last_seen_cb (DroverPrinter *printer,
              GParamSpec    *pspec,
              Watch         *watch)
{
  guint index;
  gint64 published;

  if (!watch->measuring)
    return;

  index = (guint)g_ascii_strtoull (drover_printer_get_id (printer) + 2, NULL, 10);
  published = (gint64)GPOINTER_TO_SIZE (g_atomic_pointer_get ((gpointer *)&watch->probe->published_us[index - 1]));
  if (published > 0)
    {
      double ms = (g_get_real_time () - published) / 1000.0;

      g_array_append_val (watch->latencies_ms, ms);
    }
}

static double
percentile (GArray *sorted,
            double  p)
{
  if (sorted->len == 0)
    return 0.0;

  return g_array_index (sorted, double, MIN ((guint)(p * sorted->len), sorted->len - 1));
}

static void
spin (double seconds)
{
  gint64 until = g_get_monotonic_time () + (gint64)(seconds * G_USEC_PER_SEC);

  while (g_get_monotonic_time () < until)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (500);
    }
}

static guint64
run_mosquitto_sub (guint16 port)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  /* Bounded even when nothing arrives: mosquitto_sub leaves after -W. */
  g_autofree char *timeout = g_strdup_printf ("%d", (int)(opt_seconds + 0.999));
  g_autoptr(GSubprocess) sub = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  guint64 lines = 0;
  gint64 deadline;

  sub = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                          "mosquitto_sub", "-h", "127.0.0.1", "-p", port_text, "-t", "#", "-F", "x",
                          "-W", timeout, NULL);
  if (sub == NULL)
    g_error ("mosquitto_sub: %s", error->message);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (sub));
  g_buffered_input_stream_set_buffer_size (G_BUFFERED_INPUT_STREAM (out), 1 << 20);


  deadline = g_get_monotonic_time () + (gint64)(opt_seconds * G_USEC_PER_SEC);
  while (g_get_monotonic_time () < deadline)
    {
      g_autofree char *line = g_data_input_stream_read_line (out, NULL, NULL, NULL);

      if (line == NULL)
        break;
      lines++;
    }

  g_subprocess_force_exit (sub);
  g_subprocess_wait (sub, NULL, NULL);

  return lines;
}

/* One broker (or cluster) under test: drover-sim publishes to @sim_uri,
 * the listeners listen at @listen_port / @listen_uri. */
static void
measure (const char *label,
         const char *mqtt_version,
         const char *sim_uri,
         guint16     listen_port,
         const char *listen_uri,
         gboolean    replay)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) sim = NULL;
  g_autoptr(DroverFleet) fleet = drover_fleet_new ();
  g_autoptr(DroverFarm) farm = NULL;
  g_autoptr(GArray) latencies = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *dir = NULL;
  g_autofree char *inventory_path = NULL;
  g_autofree char *sim_path = drover_demo_farm_find_program ("drover-sim");
  g_autofree char *printers = NULL;
  g_autofree char *tick = NULL;
  g_autofree char *burst = NULL;
  DroverInventory *inventory;
  GPtrArray *brokers;
  DroverTelemetryCounts before, after;
  Probe probe = { 0 };
  Watch watch = { &probe, latencies, FALSE };
  guint64 reference;
  double drover_rate, reference_rate;

  dir = g_dir_make_tmp ("drover-bench-XXXXXX", NULL);
  inventory_path = g_build_filename (dir, "farm.conf", NULL);
  printers = g_strdup_printf ("%d", opt_printers);
  tick = g_strdup_printf ("%d", opt_tick_ms);
  burst = g_strdup_printf ("%d", opt_burst);

  sim = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDIN_PIPE, &error,
                          sim_path, "--broker", sim_uri, "--mqtt-version", mqtt_version,
                          "--printers", printers, "--tick-ms", tick, "--burst", burst,
                          "--mix", opt_mix != NULL ? opt_mix : "native=1,moonraker=1",
                          "--http-port", "-1", "--inventory", inventory_path, "--control", NULL);
  if (sim == NULL)
    g_error ("drover-sim: %s", error->message);
  for (guint i = 0; i < 3000 && !g_file_test (inventory_path, G_FILE_TEST_EXISTS); i++)
    g_usleep (10 * 1000);
  if (!g_file_test (inventory_path, G_FILE_TEST_EXISTS))
    g_error ("drover-sim wrote no inventory in 30 s: is the broker at %s up?", sim_uri);
  /* Let every printer connect and settle into its tick. */
  spin (MAX (2.0, opt_printers / 1000.0));

  printf ("\n%s\n", label);

  /* 1. The reference: mosquitto_sub alone. */
  reference = run_mosquitto_sub (listen_port);
  reference_rate = reference / opt_seconds;
  printf ("mosquitto_sub alone       %10.0f messages/s\n", reference_rate);

  /* 2. Drover's core alone, on the same load, listening where told. */
  inventory = drover_inventory_load (inventory_path, &error);
  if (inventory == NULL)
    g_error ("inventory: %s", error->message);
  brokers = drover_inventory_get_brokers (inventory);
  for (guint i = 0; i < brokers->len; i++)
    {
      DroverBrokerEntry *entry = g_ptr_array_index (brokers, i);

      g_free (entry->uri);
      entry->uri = g_strdup (listen_uri);
    }
  farm = drover_farm_new (fleet, inventory);
  probe.telemetry = drover_farm_get_telemetry (farm);
  probe.n_printers = (guint)opt_printers;
  probe.published_us = g_new0 (gint64, opt_printers);
  g_mutex_init (&probe.lock);
  probe.recorded_topics = g_ptr_array_new_with_free_func (g_free);
  probe.recorded_payloads = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  if (!drover_farm_start (farm, &error))
    g_error ("farm: %s", error->message);
  /* Measure with the bench's probe in front of the decoders. */
  for (guint i = 0; i < drover_farm_get_links (farm)->len; i++)
    {
      DroverMqttLink *link = g_ptr_array_index (drover_farm_get_links (farm), i);

      drover_mqtt_link_stop (link);
      drover_mqtt_link_set_message_func (link, message_cb, &probe);
      drover_mqtt_link_start (link, NULL);
    }
  for (guint i = 0; i < drover_fleet_get_n_printers (fleet); i++)
    {
      g_autoptr(DroverPrinter) printer = g_list_model_get_item (G_LIST_MODEL (fleet), i);

      g_signal_connect (printer, "notify::last-seen", G_CALLBACK (last_seen_cb), &watch);
    }

  /* Connected and subscribed (a 3.1.1 broker costs a second try) before
   * the count starts. */
  spin (3.0);
  drover_telemetry_get_counts (probe.telemetry, &before);
  watch.measuring = TRUE;
  spin (opt_seconds);
  watch.measuring = FALSE;
  drover_telemetry_get_counts (probe.telemetry, &after);

  drover_rate = (after.received - before.received) / opt_seconds;
  g_array_sort (latencies, compare_doubles);

  printf ("Drover core (decode+apply) %10.0f messages/s   (%" G_GUINT64_FORMAT " decoded, %" G_GUINT64_FORMAT " malformed, "
          "%" G_GUINT64_FORMAT " updates applied in %" G_GUINT64_FORMAT " frames)\n",
          drover_rate, after.decoded - before.decoded, after.malformed - before.malformed,
          after.applied - before.applied, after.flushes - before.flushes);
  printf ("ratio Drover / mosquitto_sub  %.2f   (target >= 0.5; target rate >= 50000/s)\n",
          reference_rate > 0 ? drover_rate / reference_rate : 0.0);
  printf ("latency publish -> applied   p50 %.1f ms   p90 %.1f ms   p99 %.1f ms   max %.1f ms   (%u samples)\n",
          percentile (latencies, 0.50), percentile (latencies, 0.90), percentile (latencies, 0.99),
          percentile (latencies, 1.0), latencies->len);

  /* 3. Drover's capacity without a broker: the recorded stream replayed
   * into decode and queue from two threads, applied once a frame. */
  drover_farm_stop (farm);
  if (replay && probe.recorded_topics->len > 0)
    {
      Replay job = { &probe, MAX (1, 400000 / probe.recorded_topics->len) };
      GThread *threads[2];
      gint64 start = g_get_monotonic_time ();
      double seconds;
      guint64 fed;

      drover_telemetry_get_counts (probe.telemetry, &before);
      for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
        threads[i] = g_thread_new ("replay", replay_thread, &job);
      for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
        g_thread_join (threads[i]);
      drover_telemetry_flush (probe.telemetry);
      seconds = (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC;
      drover_telemetry_get_counts (probe.telemetry, &after);
      fed = after.received - before.received;

      printf ("Drover core, replayed      %10.0f messages/s   (%" G_GUINT64_FORMAT " recorded messages from the run, 2 threads, no broker)\n",
              fed / seconds, fed);
    }

  g_clear_object (&farm);
  {
    GOutputStream *in = g_subprocess_get_stdin_pipe (sim);

    g_output_stream_write_all (in, "quit\n", 5, NULL, NULL, NULL);
    g_subprocess_wait (sim, NULL, NULL);
  }
  g_unlink (inventory_path);
  g_rmdir (dir);
  g_free (probe.published_us);
  g_ptr_array_unref (probe.recorded_topics);
  g_ptr_array_unref (probe.recorded_payloads);
  g_mutex_clear (&probe.lock);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) broker = NULL;
  g_autofree char *uri = NULL;

  g_option_context_set_summary (context, "Measure telemetry ingest: Drover's core against mosquitto_sub, on the same "
                                         "drover-sim load, through mosquitto and through a two-node RabbitMQ cluster.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("ingest: %s\n", error->message);
      return 2;
    }
  if (!drover_core_init (&error))
    g_error ("%s", error->message);

  printf ("drover ingest benchmark: %d printers, tick %d ms, %d report(s) per printer per tick, %.0f s per listener, %s\n",
          opt_printers, opt_tick_ms, opt_burst, opt_seconds, opt_mix != NULL ? opt_mix : "native=1,moonraker=1");

  broker = drover_test_broker_start ("max_connections -1\nmax_queued_messages 100000", &error);
  if (broker == NULL)
    g_error ("mosquitto: %s", error->message);
  uri = drover_test_broker_dup_uri (broker);
  measure ("mosquitto (one broker)", "5", uri, drover_test_broker_get_port (broker), uri, TRUE);
  g_clear_pointer (&broker, drover_test_broker_free);

  if (!opt_no_cluster)
    {
      g_autoptr(DroverTestCluster) cluster = NULL;
      g_autofree char *publish_uri = NULL;
      g_autofree char *listen_uri = NULL;
      gint64 start = g_get_monotonic_time ();

      cluster = drover_test_cluster_start (2, &error);
      if (cluster == NULL)
        {
          printf ("\nRabbitMQ cluster: not measured (%s)\n", error->message);
          return 0;
        }
      printf ("\n(two-node RabbitMQ cluster started in %.0f s)\n", (g_get_monotonic_time () - start) / 1e6);
      publish_uri = drover_test_cluster_dup_uri (cluster, 0);
      listen_uri = drover_test_cluster_dup_uri (cluster, 1);
      /* RabbitMQ 3.10's MQTT plugin speaks 3.1.1 only. */
      measure ("RabbitMQ cluster, 2 nodes (drover-sim publishes to node 0; mosquitto_sub and Drover listen on node 1)",
               "3", publish_uri, drover_test_cluster_get_mqtt_port (cluster, 1), listen_uri, FALSE);
    }

  return 0;
}
