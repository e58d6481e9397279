/* drover-farm.c: an inventory brought to life
 *
 * Puts the inventory's printers into the fleet, routes each printer's
 * messages to it, and connects: one link per broker the printers share,
 * and one per printer that is a broker of its own (Bambu Lab in LAN mode;
 * such a printer takes few clients, so never two links to one printer).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-farm"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "drover-decode.h"
#include "drover-farm.h"
#include "drover-http-transport.h"
#include "drover-mqtt-transport.h"
#include "drover-serial-transport.h"
#include "drover-secrets.h"

/* OctoPrint's plugin is silent about a job that ran before it connected
 * and publishes temperatures only on change: ask its REST API now and then. */
#define OCTOPRINT_POLL_SECONDS 15

struct _DroverFarm
{
  GObject          parent_instance;

  DroverFleet     *fleet;
  DroverInventory *inventory;
  DroverTelemetry *telemetry;
  GPtrArray       *links;      /* DroverMqttLink */
  GPtrArray       *added;      /* printer ids this farm put in the fleet */
  SoupSession     *http;
  GCancellable    *cancellable;
  guint            poll_source;
  guint            first_poll_source;
  GHashTable      *api_keys;   /* printer id → OctoPrint API key from the keyring */
  DroverAudit     *audit;
  GPtrArray       *watches;    /* Watch: Moonraker WebSockets */
  GPtrArray       *serial_printers;  /* SerialPrinter */
  guint            files_source;
  guint            anycubic_source;
  guint            anycubic_first_source;
};

typedef struct _Watch Watch;
static void watch_free (Watch *watch);
typedef struct _SerialPrinter SerialPrinter;
static void serial_printer_free (SerialPrinter *serial);
static void start_serial_printers (DroverFarm *self);
static DroverSerialStream *find_serial_stream (DroverFarm *self, const char *printer_id);
static void start_anycubic_lists (DroverFarm *self);
static gboolean ask_anycubic_files_cb (gpointer user_data);

static gboolean
ask_anycubic_first_cb (gpointer user_data)
{
  DroverFarm *self = user_data;

  self->anycubic_first_source = 0;
  ask_anycubic_files_cb (self);
  return G_SOURCE_REMOVE;
}
static gboolean start_file_channels_cb (gpointer user_data);

G_DEFINE_FINAL_TYPE (DroverFarm, drover_farm, G_TYPE_OBJECT)

static void
drover_farm_dispose (GObject *object)
{
  DroverFarm *self = (DroverFarm *)object;

  drover_farm_stop (self);
  if (self->audit != NULL)
    drover_farm_set_audit (self, NULL);
  g_clear_object (&self->http);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->telemetry);
  g_clear_object (&self->fleet);

  G_OBJECT_CLASS (drover_farm_parent_class)->dispose (object);
}

static void
drover_farm_finalize (GObject *object)
{
  DroverFarm *self = (DroverFarm *)object;

  g_clear_pointer (&self->inventory, drover_inventory_free);
  g_clear_pointer (&self->links, g_ptr_array_unref);
  g_clear_pointer (&self->added, g_ptr_array_unref);
  g_clear_pointer (&self->api_keys, g_hash_table_unref);
  g_clear_pointer (&self->watches, g_ptr_array_unref);
  g_clear_pointer (&self->serial_printers, g_ptr_array_unref);

  G_OBJECT_CLASS (drover_farm_parent_class)->finalize (object);
}

static void
drover_farm_class_init (DroverFarmClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = drover_farm_dispose;
  object_class->finalize = drover_farm_finalize;
}

static void
drover_farm_init (DroverFarm *self)
{
  self->links = g_ptr_array_new_with_free_func (g_object_unref);
  self->added = g_ptr_array_new_with_free_func (g_free);
  self->watches = g_ptr_array_new_with_free_func ((GDestroyNotify)watch_free);
  self->serial_printers = g_ptr_array_new_with_free_func ((GDestroyNotify)serial_printer_free);
  self->api_keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)drover_secrets_free);
}

/**
 * drover_farm_new:
 * @fleet: where the printers go
 * @inventory: (transfer full): what the farm holds
 *
 * Returns: (transfer full): a farm, not yet connected
 */
DroverFarm *
drover_farm_new (DroverFleet     *fleet,
                 DroverInventory *inventory)
{
  DroverFarm *self;

  g_return_val_if_fail (DROVER_IS_FLEET (fleet), NULL);
  g_return_val_if_fail (inventory != NULL, NULL);

  self = g_object_new (DROVER_TYPE_FARM, NULL);
  self->fleet = g_object_ref (fleet);
  self->inventory = inventory;
  self->telemetry = drover_telemetry_new (fleet);

  return self;
}

typedef struct
{
  DroverTelemetry *telemetry;
  char            *printer_id;
} PollData;

static void
poll_data_free (PollData *data)
{
  g_clear_object (&data->telemetry);
  g_free (data->printer_id);
  g_free (data);
}

static void
job_answered_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  PollData *data = user_data;
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, NULL);
  DroverUpdate update = { 0 };

  if (body != NULL && message != NULL && soup_message_get_status (message) == SOUP_STATUS_OK &&
      drover_decode_octoprint_job (g_bytes_get_data (body, NULL), g_bytes_get_size (body), &update) == DROVER_DECODE_OK)
    drover_telemetry_queue_update (data->telemetry, data->printer_id, &update);

  drover_update_clear (&update);
  poll_data_free (data);
}

static gboolean
poll_octoprint_cb (gpointer user_data)
{
  DroverFarm *self = user_data;
  GPtrArray *printers = drover_inventory_get_printers (self->inventory);

  for (guint i = 0; i < printers->len; i++)
    {
      DroverPrinterEntry *entry = g_ptr_array_index (printers, i);
      g_autofree char *url = NULL;
      g_autoptr(SoupMessage) message = NULL;
      PollData *data;

      const char *api_key;

      if (entry->connector != DROVER_CONNECTOR_OCTOPRINT || entry->http_url == NULL)
        continue;
      /* drover-sim's demo writes the key into its inventory; an
       * operator's farm keeps it in the keyring. */
      api_key = entry->api_key != NULL ? entry->api_key : g_hash_table_lookup (self->api_keys, entry->id);
      if (api_key == NULL)
        continue;

      url = g_strconcat (entry->http_url, "/api/job", NULL);
      message = soup_message_new (SOUP_METHOD_GET, url);
      if (message == NULL)
        continue;
      soup_message_headers_replace (soup_message_get_request_headers (message), "X-Api-Key", api_key);

      data = g_new0 (PollData, 1);
      data->telemetry = g_object_ref (self->telemetry);
      data->printer_id = g_strdup (entry->id);
      soup_session_send_and_read_async (self->http, message, G_PRIORITY_DEFAULT, self->cancellable,
                                        job_answered_cb, data);
    }

  return G_SOURCE_CONTINUE;
}

static gboolean
first_poll_cb (gpointer user_data)
{
  DroverFarm *self = user_data;

  self->first_poll_source = 0;
  poll_octoprint_cb (self);
  self->poll_source = g_timeout_add_seconds (OCTOPRINT_POLL_SECONDS, poll_octoprint_cb, self);

  return G_SOURCE_REMOVE;
}

typedef struct
{
  DroverFarm *farm;
  char       *printer_id;
} KeyWait;

static void
api_key_found_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  KeyWait *wait = user_data;
  g_autoptr(GError) error = NULL;
  char *key = drover_secrets_lookup_finish (result, &error);

  if (key != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_hash_table_replace (wait->farm->api_keys, g_steal_pointer (&wait->printer_id), key);
  else
    {
      if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("%s: %s", wait->printer_id, error->message);
      drover_secrets_free (key);
    }

  g_object_unref (wait->farm);
  g_free (wait->printer_id);
  g_free (wait);
}

typedef struct
{
  DroverMqttLink *link;
  char           *username;
} SecretWait;

static void
secret_found_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  SecretWait *wait = user_data;
  g_autoptr(GError) error = NULL;
  char *secret = drover_secrets_lookup_finish (result, &error);

  /* Stopped meanwhile: the link stays stopped. */
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_autoptr(GError) start_error = NULL;

      /* No keyring, or a locked one: say so on the link, rather than let
       * the broker refuse a sign-in without a password, and never look
       * for the password anywhere else. */
      if (error != NULL)
        {
          g_autofree char *message = g_strdup_printf (_("%s Drover cannot sign in as “%s” without it."),
                                                      error->message, wait->username);

          g_message ("%s: %s", drover_mqtt_link_get_uri (wait->link), error->message);
          drover_mqtt_link_refuse (wait->link, message);
        }
      else
        {
          drover_mqtt_link_set_credentials (wait->link, wait->username, secret);
          if (!drover_mqtt_link_start (wait->link, &start_error))
            g_debug ("%s", start_error->message);
        }
    }

  drover_secrets_free (secret);
  g_object_unref (wait->link);
  g_free (wait->username);
  g_free (wait);
}

/* Passwords and access codes come from the keyring: the link starts once
 * the keyring answered, never before and never with a guess. */
static void
start_after_secret (DroverFarm       *self,
                    DroverMqttLink   *link,
                    DroverSecretKind  kind,
                    const char       *name,
                    const char       *username)
{
  SecretWait *wait = g_new0 (SecretWait, 1);

  wait->link = g_object_ref (link);
  wait->username = g_strdup (username);
  drover_secrets_lookup_async (kind, name, self->cancellable, secret_found_cb, wait);
}

/* A Bambu printer sends a full report only when asked; afterwards only
 * what changed (P1, A1). A console that connects later must ask, or it
 * sees deltas of a state it never had. Not more than every 5 minutes:
 * the P1P lags when asked more often (reference: bambu-anycubic.md A2). */
#define PUSHALL_MIN_INTERVAL (5 * 60 * G_USEC_PER_SEC)

static void
free_serial (gpointer  data,
             GClosure *closure)
{
  g_free (data);
}

static void
bambu_link_state_cb (DroverMqttLink *link,
                     GParamSpec     *pspec,
                     gpointer        user_data)
{
  const char *serial = user_data;
  gint64 *last = g_object_get_data (G_OBJECT (link), "drover-last-pushall");
  gint64 now = g_get_monotonic_time ();
  g_autofree char *topic = NULL;
  static const char pushall[] = "{\"pushing\": {\"sequence_id\": \"0\", \"command\": \"pushall\", "
                                "\"version\": 1, \"push_target\": 1}}";

  if (drover_mqtt_link_get_state (link) != DROVER_LINK_STATE_CONNECTED)
    return;
  if (last != NULL && now - *last < PUSHALL_MIN_INTERVAL)
    return;

  topic = g_strconcat ("device/", serial, "/request", NULL);
  if (drover_mqtt_link_publish (link, topic, pushall, strlen (pushall), 0, FALSE, NULL))
    {
      last = g_new (gint64, 1);
      *last = now;
      g_object_set_data_full (G_OBJECT (link), "drover-last-pushall", last, g_free);
    }
}

static char *
client_id (const char *suffix)
{
  /* Unique per running Drover: two consoles on one broker must not kick
   * each other off. */
  return g_strdup_printf ("drover-%s-%08x", suffix, g_random_int ());
}

/**
 * drover_farm_start:
 *
 * Adds the printers to the fleet and starts connecting. A link whose
 * password or access code is in the keyring starts when the keyring has
 * answered.
 *
 * Returns: %FALSE if a broker's address cannot even be tried
 */
/* After a reconnection, or on a cluster, native printers are asked to
 * report again and Moonraker printers for their state: a cluster may not hand over their retained topics (RabbitMQ keeps
 * them per node and never sends them to a wildcard subscription), and what
 * changed while Drover was away, files planted during a failover included,
 * must still come to the audit. */
static void
ask_native_printers_cb (DroverMqttLink *link,
                        GParamSpec     *pspec,
                        DroverFarm     *self)
{
  GPtrArray *printers = drover_inventory_get_printers (self->inventory);

  /* A single broker hands over the retained topics on the first
   * connection; a cluster may not, and after any reconnection news may
   * have been missed. */
  if (drover_mqtt_link_get_state (link) != DROVER_LINK_STATE_CONNECTED ||
      (drover_mqtt_link_get_n_connects (link) < 2 && drover_mqtt_link_get_n_nodes (link) < 2))
    return;

  for (guint i = 0; i < printers->len; i++)
    {
      DroverPrinterEntry *entry = g_ptr_array_index (printers, i);
      g_autofree char *id = NULL;
      g_autofree char *topic = NULL;
      g_autofree char *payload = NULL;

      if ((entry->connector != DROVER_CONNECTOR_NATIVE && entry->connector != DROVER_CONNECTOR_MOONRAKER) ||
          drover_farm_find_link (self, entry->id) != link)
        continue;

      id = g_uuid_string_random ();
      if (entry->connector == DROVER_CONNECTOR_NATIVE)
        {
          topic = g_strconcat ("drover/v1/", entry->key != NULL ? entry->key : entry->id, "/cmd", NULL);
          payload = g_strdup_printf ("{\"v\":1,\"id\":\"%s\",\"command\":\"report\"}", id);
        }
      else
        {
          /* Moonraker answers a JSON-RPC query on its MQTT API with the
           * whole state, in the status topic's shape. */
          topic = g_strconcat (entry->key != NULL ? entry->key : entry->id, "/moonraker/api/request", NULL);
          payload = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"method\":\"printer.objects.query\",\"params\":"
                                     "{\"objects\":{\"webhooks\":null,\"print_stats\":null,\"virtual_sdcard\":null,"
                                     "\"display_status\":null,\"extruder\":null,\"heater_bed\":null}},\"id\":\"%s\"}",
                                     id);
        }
      if (self->audit != NULL)
        drover_audit_note_own_request (self->audit, id);
      drover_mqtt_link_publish (link, topic, payload, strlen (payload), 1, FALSE, NULL);
    }
}

/* A check the operator turned off stays in sight on every printer it
 * concerns. */
static void
set_security_note (DroverFarm         *self,
                   DroverPrinter      *printer,
                   DroverPrinterEntry *entry)
{
  DroverBrokerEntry *broker = entry->broker != NULL ? drover_inventory_find_broker (self->inventory, entry->broker)
                                                    : NULL;

  if (broker != NULL && !broker->verify_host_name && g_str_has_prefix (broker->uri, "ssl://"))
    {
      g_autofree char *note = g_strdup_printf (_("The certificate of the broker “%s” is not checked against its "
                                                 "host name (Preferences): any server with a certificate from "
                                                 "its CA can pose as it."),
                                               broker->name);

      drover_printer_set_security_note (printer, note);
    }
}

gboolean
drover_farm_start (DroverFarm  *self,
                   GError     **error)
{
  GPtrArray *printers = drover_inventory_get_printers (self->inventory);
  GPtrArray *brokers = drover_inventory_get_brokers (self->inventory);
  g_autoptr(GPtrArray) new_printers = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) waiting = g_ptr_array_new ();   /* links that start after the keyring */

  g_return_val_if_fail (DROVER_IS_FARM (self), FALSE);

  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  for (guint i = 0; i < printers->len; i++)
    {
      DroverPrinterEntry *entry = g_ptr_array_index (printers, i);
      DroverPrinter *printer = drover_printer_new (entry->id, entry->connector);

      drover_printer_set_display_name (printer, entry->name);
      set_security_note (self, printer, entry);
      g_ptr_array_add (new_printers, printer);
      g_ptr_array_add (self->added, g_strdup (entry->id));

      if (entry->key != NULL)
        drover_telemetry_add_route (self->telemetry, entry->connector, entry->key, entry->id);
    }
  drover_fleet_add_printers (self->fleet, (DroverPrinter **)new_printers->pdata, new_printers->len);

  for (guint i = 0; i < brokers->len; i++)
    {
      DroverBrokerEntry *entry = g_ptr_array_index (brokers, i);
      g_autofree char *id = client_id (entry->name);
      g_auto(GStrv) nodes = drover_broker_entry_dup_nodes (entry);
      g_autoptr(DroverMqttLink) link = drover_mqtt_link_new (nodes[0], entry->client_id != NULL ? entry->client_id : id);

      drover_mqtt_link_set_nodes (link, (const char * const *)nodes);

      drover_mqtt_link_set_tls (link, entry->ca_file, entry->certificate_file, entry->key_file, entry->verify_host_name);
      drover_telemetry_attach_link (self->telemetry, link);
      g_signal_connect_object (link, "notify::state", G_CALLBACK (ask_native_printers_cb), self, 0);
      if (entry->username != NULL)
        {
          start_after_secret (self, link, DROVER_SECRET_BROKER, entry->name, entry->username);
          g_ptr_array_add (waiting, link);
        }
      g_ptr_array_add (self->links, g_steal_pointer (&link));
    }

  for (guint i = 0; i < printers->len; i++)
    {
      DroverPrinterEntry *entry = g_ptr_array_index (printers, i);
      g_autofree char *id = NULL;
      g_autoptr(DroverMqttLink) link = NULL;

      if (entry->broker != NULL || entry->uri == NULL)
        continue;

      id = client_id (entry->id);
      link = drover_mqtt_link_new (entry->uri, id);
      drover_telemetry_attach_link (self->telemetry, link);
      if (entry->connector == DROVER_CONNECTOR_BAMBU)
        {
          /* A Bambu certificate names the printer's serial, not its
           * address: the chain is checked against the printer's CA and
           * the name against the serial, before Paho connects. */
          drover_mqtt_link_set_tls (link, entry->ca_file, NULL, NULL, FALSE);
          drover_mqtt_link_set_tls_server_name (link, entry->key);
          g_signal_connect_data (link, "notify::state", G_CALLBACK (bambu_link_state_cb),
                                 g_strdup (entry->key), free_serial, 0);
          /* drover-sim's demo writes the access code into its inventory;
           * an operator's farm keeps it in the keyring. */
          if (entry->access_code != NULL)
            drover_mqtt_link_set_credentials (link, "bblp", entry->access_code);
          else
            {
              start_after_secret (self, link, DROVER_SECRET_PRINTER, entry->id, "bblp");
              g_ptr_array_add (waiting, link);
            }
        }
      else if (entry->connector == DROVER_CONNECTOR_ANYCUBIC)
        {
          /* Kobra 3 / S1 in LAN mode: the printer is an MQTT 5 broker with
           * an account of its own (device_account.json); the password is
           * kept like an access code. */
          const char *username = entry->username;

          if (entry->ca_file != NULL)
            drover_mqtt_link_set_tls (link, entry->ca_file, NULL, NULL, TRUE);
          if (entry->access_code != NULL)
            drover_mqtt_link_set_credentials (link, username, entry->access_code);
          else if (username != NULL)
            {
              start_after_secret (self, link, DROVER_SECRET_PRINTER, entry->id, username);
              g_ptr_array_add (waiting, link);
            }
        }
      g_ptr_array_add (self->links, g_steal_pointer (&link));
    }

  for (guint i = 0; i < self->links->len; i++)
    {
      DroverMqttLink *link = g_ptr_array_index (self->links, i);

      if (!g_ptr_array_find (waiting, link, NULL) && !drover_mqtt_link_start (link, error))
        return FALSE;
    }

  /* OctoPrint's REST API wants the printer's API key, and Moonraker's may:
   * kept in the keyring. */
  for (guint i = 0; i < printers->len; i++)
    {
      DroverPrinterEntry *entry = g_ptr_array_index (printers, i);
      KeyWait *wait;

      if ((entry->connector != DROVER_CONNECTOR_OCTOPRINT && entry->connector != DROVER_CONNECTOR_MOONRAKER) ||
          entry->http_url == NULL || entry->api_key != NULL)
        continue;

      wait = g_new0 (KeyWait, 1);
      wait->farm = g_object_ref (self);
      wait->printer_id = g_strdup (entry->id);
      drover_secrets_lookup_async (DROVER_SECRET_PRINTER, entry->id, self->cancellable, api_key_found_cb, wait);
    }

  /* Printers sit on the farm's own network: straight to them, never
   * through the desktop's web proxy. */
  self->http = soup_session_new_with_options ("timeout", 10, "user-agent", "Drover/" PACKAGE_VERSION,
                                              "proxy-resolver", NULL, NULL);
  /* The first answer must land after the plugin's retained "idle"
   * progress, which arrives as soon as the link subscribes. */
  self->first_poll_source = g_timeout_add_seconds (2, first_poll_cb, self);
  /* After the keyring had its chance to answer with the API keys. */
  if (self->audit != NULL)
    self->files_source = g_timeout_add (500, start_file_channels_cb, self);
  start_serial_printers (self);
  if (self->audit != NULL)
    start_anycubic_lists (self);

  return TRUE;
}

/**
 * drover_farm_stop:
 *
 * Disconnects and takes this farm's printers out of the fleet.
 */
void
drover_farm_stop (DroverFarm *self)
{
  g_return_if_fail (DROVER_IS_FARM (self));

  g_clear_handle_id (&self->poll_source, g_source_remove);
  g_clear_handle_id (&self->first_poll_source, g_source_remove);
  g_clear_handle_id (&self->files_source, g_source_remove);
  g_clear_handle_id (&self->anycubic_source, g_source_remove);
  g_clear_handle_id (&self->anycubic_first_source, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  if (self->watches != NULL)
    g_ptr_array_set_size (self->watches, 0);
  if (self->serial_printers != NULL)
    g_ptr_array_set_size (self->serial_printers, 0);

  for (guint i = 0; self->links != NULL && i < self->links->len; i++)
    drover_mqtt_link_stop (g_ptr_array_index (self->links, i));

  if (self->fleet != NULL)
    {
      for (guint i = 0; i < self->added->len; i++)
        drover_fleet_remove_printer (self->fleet, g_ptr_array_index (self->added, i));
    }
  g_ptr_array_set_size (self->added, 0);
}

/**
 * drover_farm_get_links:
 *
 * Returns: (transfer none) (element-type DroverMqttLink): the connections
 */
GPtrArray *
drover_farm_get_links (DroverFarm *self)
{
  g_return_val_if_fail (DROVER_IS_FARM (self), NULL);

  return self->links;
}

DroverTelemetry *
drover_farm_get_telemetry (DroverFarm *self)
{
  g_return_val_if_fail (DROVER_IS_FARM (self), NULL);

  return self->telemetry;
}

/**
 * drover_farm_find_entry:
 * @printer_id: a printer of this farm
 *
 * Returns: (transfer none) (nullable): how the inventory describes it
 */
DroverPrinterEntry *
drover_farm_find_entry (DroverFarm *self,
                        const char *printer_id)
{
  GPtrArray *printers;

  g_return_val_if_fail (DROVER_IS_FARM (self), NULL);

  printers = drover_inventory_get_printers (self->inventory);
  for (guint i = 0; i < printers->len; i++)
    {
      DroverPrinterEntry *entry = g_ptr_array_index (printers, i);

      if (g_strcmp0 (entry->id, printer_id) == 0)
        return entry;
    }

  return NULL;
}

/**
 * drover_farm_find_link:
 * @printer_id: a printer of this farm
 *
 * Returns: (transfer none) (nullable): the connection its messages come on
 */
DroverMqttLink *
drover_farm_find_link (DroverFarm *self,
                       const char *printer_id)
{
  DroverPrinterEntry *entry;

  g_return_val_if_fail (DROVER_IS_FARM (self), NULL);

  entry = drover_farm_find_entry (self, printer_id);
  if (entry == NULL)
    return NULL;

  for (guint i = 0; i < self->links->len; i++)
    {
      DroverMqttLink *link = g_ptr_array_index (self->links, i);
      const char *uri = drover_mqtt_link_get_uri (link);

      if (entry->broker == NULL && g_strcmp0 (uri, entry->uri) == 0)
        return link;

      if (entry->broker != NULL)
        {
          DroverBrokerEntry *broker = drover_inventory_find_broker (self->inventory, entry->broker);

          g_auto(GStrv) nodes = broker != NULL ? drover_broker_entry_dup_nodes (broker) : NULL;

          if (nodes != NULL && g_strcmp0 (uri, nodes[0]) == 0)
            return link;
        }
    }

  return NULL;
}

/* Files: lists over HTTP, Moonraker's notifications over its WebSocket,
 * content for the audit's scanner. */

static const char *
printer_api_key (DroverFarm         *self,
                 DroverPrinterEntry *entry)
{
  return entry->api_key != NULL ? entry->api_key : g_hash_table_lookup (self->api_keys, entry->id);
}

static SoupMessage *
printer_request (DroverFarm         *self,
                 DroverPrinterEntry *entry,
                 const char         *method,
                 const char         *path)
{
  g_autofree char *url = g_strconcat (entry->http_url, path, NULL);
  SoupMessage *message = soup_message_new (method, url);
  const char *key = printer_api_key (self, entry);

  if (message != NULL && key != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (message), "X-Api-Key", key);

  return message;
}

static char *
escape_file_path (const char *name)
{
  return g_uri_escape_string (name, "/", FALSE);
}

typedef struct
{
  DroverTelemetry     *telemetry;
  char                *printer_id;
  DroverConnectorKind  connector;
} ListData;

static void
list_data_free (ListData *data)
{
  g_object_unref (data->telemetry);
  g_free (data->printer_id);
  g_free (data);
}

static gint64
json_int (JsonObject *object,
          const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return -1;
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64: return json_node_get_int (node);
    case G_TYPE_DOUBLE: return (gint64)json_node_get_double (node);
    default: return -1;
    }
}

static const char *
json_string (JsonObject *object,
             const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

/* OctoPrint's /api/files?recursive=true nests folders' children. */
static void
add_octoprint_files (JsonArray   *files,
                     DroverEvent *event)
{
  for (guint i = 0; files != NULL && i < json_array_get_length (files); i++)
    {
      JsonNode *node = json_array_get_element (files, i);
      JsonObject *file;
      const char *path;
      JsonNode *children;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      file = json_node_get_object (node);
      children = json_object_get_member (file, "children");
      if (g_strcmp0 (json_string (file, "type"), "folder") == 0)
        {
          if (children != NULL && JSON_NODE_HOLDS_ARRAY (children))
            add_octoprint_files (json_node_get_array (children), event);
          continue;
        }
      path = json_string (file, "path");
      if (path != NULL)
        g_ptr_array_add (event->files, drover_file_info_new (path, json_int (file, "size"), json_int (file, "date"), NULL));
    }
}

static void
file_list_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  ListData *data = user_data;
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(DroverEvent) event = drover_event_new (DROVER_EVENT_FILE_LIST);
  JsonNode *root;
  JsonNode *list;

  if (body == NULL || message == NULL || soup_message_get_status (message) != SOUP_STATUS_OK ||
      !json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body), NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("%s: the file list: %s", data->printer_id, error->message);
      list_data_free (data);
      return;
    }

  root = json_parser_get_root (parser);
  if (data->connector == DROVER_CONNECTOR_MOONRAKER)
    {
      list = json_object_get_member (json_node_get_object (root), "result");
      for (guint i = 0; list != NULL && JSON_NODE_HOLDS_ARRAY (list) && i < json_array_get_length (json_node_get_array (list)); i++)
        {
          JsonNode *node = json_array_get_element (json_node_get_array (list), i);
          const char *path;

          if (!JSON_NODE_HOLDS_OBJECT (node) || (path = json_string (json_node_get_object (node), "path")) == NULL)
            continue;
          g_ptr_array_add (event->files, drover_file_info_new (path, json_int (json_node_get_object (node), "size"),
                                                               json_int (json_node_get_object (node), "modified"), NULL));
        }
    }
  else
    {
      list = json_object_get_member (json_node_get_object (root), "files");
      add_octoprint_files (list != NULL && JSON_NODE_HOLDS_ARRAY (list) ? json_node_get_array (list) : NULL, event);
    }

  drover_telemetry_queue_event (data->telemetry, data->printer_id, event);
  list_data_free (data);
}

static void
request_file_list (DroverFarm         *self,
                   DroverPrinterEntry *entry)
{
  g_autoptr(SoupMessage) message = NULL;
  ListData *data;

  message = printer_request (self, entry, SOUP_METHOD_GET,
                             entry->connector == DROVER_CONNECTOR_MOONRAKER ? "/server/files/list?root=gcodes"
                                                                            : "/api/files?recursive=true");
  if (message == NULL)
    return;

  data = g_new0 (ListData, 1);
  data->telemetry = g_object_ref (self->telemetry);
  data->printer_id = g_strdup (entry->id);
  data->connector = entry->connector;
  soup_session_send_and_read_async (self->http, message, G_PRIORITY_LOW, self->cancellable, file_list_cb, data);
}

/* Moonraker tells file changes only on its WebSocket (never on MQTT). */

struct _Watch
{
  DroverFarm                *farm;       /* the farm frees its watches when it stops */
  char                      *printer_id;
  SoupWebsocketConnection   *connection;
  guint                      retry_source;
  guint                      retries;
};

static void watch_connect (Watch *watch);

static void
watch_free (Watch *watch)
{
  g_clear_handle_id (&watch->retry_source, g_source_remove);
  if (watch->connection != NULL)
    {
      g_signal_handlers_disconnect_by_data (watch->connection, watch);
      if (soup_websocket_connection_get_state (watch->connection) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (watch->connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
      g_clear_object (&watch->connection);
    }
  g_free (watch->printer_id);
  g_free (watch);
}

static void
watch_message_cb (SoupWebsocketConnection *connection,
                  int                      type,
                  GBytes                  *message,
                  gpointer                 user_data)
{
  Watch *watch = user_data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root;
  JsonNode *params;

  if (type != SOUP_WEBSOCKET_DATA_TEXT ||
      !json_parser_load_from_data (parser, g_bytes_get_data (message, NULL), g_bytes_get_size (message), NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return;
  root = json_node_get_object (json_parser_get_root (parser));
  if (g_strcmp0 (json_string (root, "method"), "notify_filelist_changed") != 0)
    return;

  params = json_object_get_member (root, "params");
  for (guint i = 0; params != NULL && JSON_NODE_HOLDS_ARRAY (params) && i < json_array_get_length (json_node_get_array (params)); i++)
    {
      JsonNode *node = json_array_get_element (json_node_get_array (params), i);
      const char *action;
      JsonNode *item;
      const char *path;
      g_autoptr(DroverEvent) event = NULL;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      action = json_string (json_node_get_object (node), "action");
      item = json_object_get_member (json_node_get_object (node), "item");
      if (action == NULL || item == NULL || !JSON_NODE_HOLDS_OBJECT (item) ||
          g_strcmp0 (json_string (json_node_get_object (item), "root"), "gcodes") != 0 ||
          (path = json_string (json_node_get_object (item), "path")) == NULL)
        continue;

      if (g_str_equal (action, "create_file") || g_str_equal (action, "modify_file") || g_str_equal (action, "move_file"))
        event = drover_event_new (DROVER_EVENT_FILE_ADDED);
      else if (g_str_equal (action, "delete_file"))
        event = drover_event_new (DROVER_EVENT_FILE_REMOVED);
      else
        continue;
      event->file = g_strdup (path);
      event->size = event->kind == DROVER_EVENT_FILE_ADDED ? json_int (json_node_get_object (item), "size") : -1;
      drover_telemetry_queue_event (watch->farm->telemetry, watch->printer_id, event);
    }
}

static gboolean
watch_retry_cb (gpointer user_data)
{
  Watch *watch = user_data;

  watch->retry_source = 0;
  watch_connect (watch);
  return G_SOURCE_REMOVE;
}

static void
watch_retry (Watch *watch)
{
  /* 2, 4, 8 … seconds, at most a minute: a Moonraker that restarts is back soon. */
  guint delay = MIN (60u, 2u << MIN (watch->retries, 5u));

  watch->retries++;
  if (watch->retry_source == 0 && !g_cancellable_is_cancelled (watch->farm->cancellable))
    watch->retry_source = g_timeout_add_seconds (delay, watch_retry_cb, watch);
}

static void
watch_closed_cb (SoupWebsocketConnection *connection,
                 gpointer                 user_data)
{
  Watch *watch = user_data;

  g_signal_handlers_disconnect_by_data (connection, watch);
  g_clear_object (&watch->connection);
  watch_retry (watch);
}

static void
watch_connected_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Watch *watch = user_data;
  g_autoptr(GError) error = NULL;
  SoupWebsocketConnection *connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  DroverPrinterEntry *entry;
  const char *key;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* the farm stopped; it frees the watch */
  if (connection == NULL)
    {
      g_debug ("%s: Moonraker's WebSocket: %s", watch->printer_id, error->message);
      watch_retry (watch);
      return;
    }

  watch->connection = connection;
  watch->retries = 0;
  g_signal_connect (connection, "message", G_CALLBACK (watch_message_cb), watch);
  g_signal_connect (connection, "closed", G_CALLBACK (watch_closed_cb), watch);

  /* Moonraker sends notifications to identified, authorised clients. */
  entry = drover_inventory_find_printer (watch->farm->inventory, watch->printer_id);
  key = entry != NULL ? printer_api_key (watch->farm, entry) : NULL;
  {
    g_autoptr(JsonBuilder) builder = json_builder_new ();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *text = NULL;

    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "jsonrpc");
    json_builder_add_string_value (builder, "2.0");
    json_builder_set_member_name (builder, "method");
    json_builder_add_string_value (builder, "server.connection.identify");
    json_builder_set_member_name (builder, "params");
    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "client_name");
    json_builder_add_string_value (builder, "Drover");
    json_builder_set_member_name (builder, "version");
    json_builder_add_string_value (builder, PACKAGE_VERSION);
    json_builder_set_member_name (builder, "type");
    json_builder_add_string_value (builder, "desktop");
    json_builder_set_member_name (builder, "url");
    json_builder_add_string_value (builder, "https://github.com/drover/drover");
    if (key != NULL)
      {
        json_builder_set_member_name (builder, "api_key");
        json_builder_add_string_value (builder, key);
      }
    json_builder_end_object (builder);
    json_builder_set_member_name (builder, "id");
    json_builder_add_int_value (builder, 1);
    json_builder_end_object (builder);
    root = json_builder_get_root (builder);
    text = json_to_string (root, FALSE);
    soup_websocket_connection_send_text (connection, text);
  }

  /* Whatever changed while the socket was down shows in a fresh list. */
  if (entry != NULL)
    request_file_list (watch->farm, entry);
}

static void
watch_connect (Watch *watch)
{
  DroverPrinterEntry *entry = drover_inventory_find_printer (watch->farm->inventory, watch->printer_id);
  g_autoptr(SoupMessage) message = NULL;

  if (entry == NULL || entry->http_url == NULL)
    return;
  message = printer_request (watch->farm, entry, SOUP_METHOD_GET, "/websocket");
  if (message == NULL)
    return;
  soup_session_websocket_connect_async (watch->farm->http, message, NULL, NULL, G_PRIORITY_LOW,
                                        watch->farm->cancellable, watch_connected_cb, watch);
}

static gboolean
start_file_channels_cb (gpointer user_data)
{
  DroverFarm *self = user_data;
  GPtrArray *printers = drover_inventory_get_printers (self->inventory);

  self->files_source = 0;
  for (guint i = 0; i < printers->len; i++)
    {
      DroverPrinterEntry *entry = g_ptr_array_index (printers, i);

      if (entry->http_url == NULL)
        continue;
      if (entry->connector == DROVER_CONNECTOR_MOONRAKER)
        {
          Watch *watch = g_new0 (Watch, 1);

          watch->farm = self;
          watch->printer_id = g_strdup (entry->id);
          g_ptr_array_add (self->watches, watch);
          watch_connect (watch);
        }
      else if (entry->connector == DROVER_CONNECTOR_OCTOPRINT)
        request_file_list (self, entry);
    }

  return G_SOURCE_REMOVE;
}

/* Content, for the scanner */

typedef struct
{
  GFile        *destination;
  GCancellable *cancellable;
} FetchData;

static void
fetch_data_free (FetchData *data)
{
  g_clear_object (&data->destination);
  g_clear_object (&data->cancellable);
  g_free (data);
}

static void
fetch_spliced_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, &error) < 0)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
fetch_replaced_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GInputStream *body = g_object_get_data (G_OBJECT (task), "body");
  GError *error = NULL;
  g_autoptr(GFileOutputStream) out = g_file_replace_finish (G_FILE (source), result, &error);

  if (out == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_output_stream_splice_async (G_OUTPUT_STREAM (out), body,
                                G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                G_PRIORITY_LOW, g_task_get_cancellable (task), fetch_spliced_cb, g_object_ref (task));
}

static void
fetch_sent_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  FetchData *data = g_task_get_task_data (task);
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  GError *error = NULL;
  g_autoptr(GInputStream) body = soup_session_send_finish (SOUP_SESSION (source), result, &error);

  if (body == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (message == NULL || !SOUP_STATUS_IS_SUCCESSFUL (soup_message_get_status (message)))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, _("The printer answered %u %s."),
                               message != NULL ? soup_message_get_status (message) : 0,
                               message != NULL ? soup_message_get_reason_phrase (message) : "");
      return;
    }

  g_object_set_data_full (G_OBJECT (task), "body", g_steal_pointer (&body), g_object_unref);
  g_file_replace_async (data->destination, NULL, FALSE, G_FILE_CREATE_PRIVATE, G_PRIORITY_LOW,
                        data->cancellable, fetch_replaced_cb, g_object_ref (task));
}

/* DroverAuditFetchFunc: Moonraker and OctoPrint serve their files over HTTP. */
static void
fetch_file (DroverPrinter       *printer,
            const char          *file,
            GFile               *destination,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data,
            gpointer             func_data)
{
  DroverFarm *self = func_data;
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  DroverPrinterEntry *entry = drover_inventory_find_printer (self->inventory, drover_printer_get_id (printer));
  g_autofree char *escaped = escape_file_path (file);
  g_autofree char *path = NULL;
  g_autoptr(SoupMessage) message = NULL;
  FetchData *data;

  if (entry == NULL || entry->http_url == NULL || self->http == NULL ||
      (entry->connector != DROVER_CONNECTOR_MOONRAKER && entry->connector != DROVER_CONNECTOR_OCTOPRINT))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("Drover cannot read files from this printer."));
      return;
    }

  path = entry->connector == DROVER_CONNECTOR_MOONRAKER ? g_strconcat ("/server/files/gcodes/", escaped, NULL)
                                                         : g_strconcat ("/downloads/files/local/", escaped, NULL);
  message = printer_request (self, entry, SOUP_METHOD_GET, path);
  if (message == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("The file's address is not valid."));
      return;
    }

  data = g_new0 (FetchData, 1);
  data->destination = g_object_ref (destination);
  data->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  g_task_set_task_data (task, data, (GDestroyNotify)fetch_data_free);
  soup_session_send_async (self->http, message, G_PRIORITY_LOW, cancellable, fetch_sent_cb, g_steal_pointer (&task));
}

static void
printer_event_cb (DroverTelemetry *telemetry,
                  DroverPrinter   *printer,
                  DroverEvent     *event,
                  DroverAudit     *audit)
{
  drover_audit_handle_event (audit, printer, event);
}

/**
 * drover_farm_set_audit:
 * @audit: (nullable): what judges the farm's files, jobs and orders
 *
 * Hands every event of the farm's printers to @audit, and lets it fetch
 * files from the printers that serve them (Moonraker, OctoPrint). Call
 * before drover_farm_start().
 */
void
drover_farm_set_audit (DroverFarm  *self,
                       DroverAudit *audit)
{
  g_return_if_fail (DROVER_IS_FARM (self));
  g_return_if_fail (audit == NULL || DROVER_IS_AUDIT (audit));

  if (self->audit != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->telemetry, self->audit);
      drover_audit_set_fetch_func (self->audit, NULL, NULL, NULL);
    }
  g_set_object (&self->audit, audit);
  if (audit != NULL)
    {
      g_auto(GStrv) hosts = drover_inventory_dup_job_hosts (self->inventory);

      drover_audit_set_allowed_hosts (audit, (const char * const *)hosts);
      g_signal_connect_object (self->telemetry, "printer-event", G_CALLBACK (printer_event_cb), audit, 0);
      drover_audit_set_fetch_func (audit, fetch_file, self, NULL);
    }
}

/* One HTTP request to a printer (delete, upload, pause…): done when it
 * answered 2xx, refused with its status otherwise. */
static void
printer_answered_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  GError *error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);

  if (body == NULL)
    g_task_return_error (task, error);
  else if (message == NULL || !SOUP_STATUS_IS_SUCCESSFUL (soup_message_get_status (message)))
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, _("The printer refused: %u %s."),
                             message != NULL ? soup_message_get_status (message) : 0,
                             message != NULL ? soup_message_get_reason_phrase (message) : "");
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * drover_farm_delete_file_async:
 * @printer_id: the printer
 * @name: the file's name on it
 *
 * Deletes a file from a printer the way its connector does (Moonraker and
 * OctoPrint over HTTP, Drover's native dialect with a `delete` command),
 * and records in the ledger who had it deleted. The file list then shows
 * it gone when the printer says so.
 */
void
drover_farm_delete_file_async (DroverFarm          *self,
                               const char          *printer_id,
                               const char          *name,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  DroverPrinterEntry *entry;
  g_autofree char *escaped = NULL;
  g_autofree char *path = NULL;
  g_autoptr(SoupMessage) message = NULL;

  g_return_if_fail (DROVER_IS_FARM (self));
  g_return_if_fail (printer_id != NULL && name != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, drover_farm_delete_file_async);
  entry = drover_inventory_find_printer (self->inventory, printer_id);
  if (entry == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("The farm has no printer “%s”."), printer_id);
      return;
    }

  if (self->audit != NULL)
    drover_audit_note_file_deleted (self->audit, printer_id, name);

  if (entry->connector == DROVER_CONNECTOR_NATIVE)
    {
      DroverMqttLink *link = drover_farm_find_link (self, printer_id);
      g_autofree char *id = g_uuid_string_random ();
      g_autofree char *topic = g_strconcat ("drover/v1/", entry->id, "/cmd", NULL);
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *payload = NULL;
      GError *error = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "v");
      json_builder_add_int_value (builder, 1);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, id);
      json_builder_set_member_name (builder, "command");
      json_builder_add_string_value (builder, "delete");
      json_builder_set_member_name (builder, "file");
      json_builder_add_string_value (builder, name);
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      payload = json_to_string (root, FALSE);

      if (self->audit != NULL)
        drover_audit_note_own_request (self->audit, id);
      if (link == NULL || !drover_mqtt_link_publish (link, topic, payload, strlen (payload), 1, FALSE, &error))
        {
          if (error == NULL)
            g_set_error (&error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, _("The printer's broker is not connected."));
          g_task_return_error (task, error);
          return;
        }
      g_task_return_boolean (task, TRUE);
      return;
    }

  if (entry->http_url == NULL || self->http == NULL ||
      (entry->connector != DROVER_CONNECTOR_MOONRAKER && entry->connector != DROVER_CONNECTOR_OCTOPRINT))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("Drover cannot delete files on this printer yet; delete it on the printer."));
      return;
    }

  escaped = escape_file_path (name);
  path = entry->connector == DROVER_CONNECTOR_MOONRAKER ? g_strconcat ("/server/files/gcodes/", escaped, NULL)
                                                         : g_strconcat ("/api/files/local/", escaped, NULL);
  message = printer_request (self, entry, SOUP_METHOD_DELETE, path);
  if (message == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("The file's address is not valid."));
      return;
    }
  soup_session_send_and_read_async (self->http, message, G_PRIORITY_DEFAULT, cancellable, printer_answered_cb,
                                    g_steal_pointer (&task));
}

gboolean
drover_farm_delete_file_finish (DroverFarm    *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

typedef struct
{
  char   *printer_id;
  char   *name;
  GBytes *content;
  char   *sha256;
} UploadData;

static void
upload_data_free (UploadData *data)
{
  g_free (data->printer_id);
  g_free (data->name);
  g_bytes_unref (data->content);
  g_free (data->sha256);
  g_free (data);
}

static void
hash_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  UploadData *data = task_data;

  data->sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, data->content);
  g_task_return_boolean (task, TRUE);
}

static void
hashed_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  DroverFarm *self = g_task_get_source_object (task);
  UploadData *data = g_task_get_task_data (task);
  DroverPrinterEntry *entry = drover_inventory_find_printer (self->inventory, data->printer_id);
  g_autoptr(SoupMultipart) multipart = soup_multipart_new (SOUP_FORM_MIME_TYPE_MULTIPART);
  g_autoptr(SoupMessage) message = NULL;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error) || entry == NULL || self->http == NULL)
    {
      if (error == NULL)
        g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The farm stopped."));
      g_task_return_error (task, error);
      return;
    }

  soup_multipart_append_form_file (multipart, "file", data->name, "application/octet-stream", data->content);
  if (entry->connector == DROVER_CONNECTOR_MOONRAKER)
    {
      soup_multipart_append_form_string (multipart, "root", "gcodes");
      soup_multipart_append_form_string (multipart, "checksum", data->sha256);
    }
  message = printer_request (self, entry, SOUP_METHOD_POST,
                             entry->connector == DROVER_CONNECTOR_MOONRAKER ? "/server/files/upload" : "/api/files/local");
  if (message == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("The printer's address is not valid."));
      return;
    }
  {
    GBytes *form = NULL;

    soup_multipart_to_message (multipart, soup_message_get_request_headers (message), &form);
    soup_message_set_request_body_from_bytes (message, NULL, form);
    g_bytes_unref (form);
  }

  /* Recorded before the printer has it: its arrival is then expected. */
  if (self->audit != NULL)
    drover_audit_note_sent_file (self->audit, data->printer_id, data->name, (gint64)g_bytes_get_size (data->content),
                                 data->sha256, NULL, NULL);

  soup_session_send_and_read_async (self->http, message, G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                                    printer_answered_cb, g_object_ref (task));
}

/**
 * drover_farm_upload_file_async:
 * @printer_id: a networked printer (Moonraker or OctoPrint)
 * @name: the file's name on the printer
 * @content: the file
 *
 * Uploads a file to a printer's storage, after recording in the ledger
 * that Drover sent it (name, size, SHA-256): when it appears on the
 * printer, it is expected. The hash is computed in a worker.
 */
void
drover_farm_upload_file_async (DroverFarm          *self,
                               const char          *printer_id,
                               const char          *name,
                               GBytes              *content,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) hash = NULL;
  DroverPrinterEntry *entry;
  UploadData *data;

  g_return_if_fail (DROVER_IS_FARM (self));
  g_return_if_fail (printer_id != NULL && name != NULL && content != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, drover_farm_upload_file_async);
  entry = drover_inventory_find_printer (self->inventory, printer_id);
  if (entry == NULL || entry->http_url == NULL ||
      (entry->connector != DROVER_CONNECTOR_MOONRAKER && entry->connector != DROVER_CONNECTOR_OCTOPRINT))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("Drover uploads files to Moonraker and OctoPrint printers only, so far."));
      return;
    }

  data = g_new0 (UploadData, 1);
  data->printer_id = g_strdup (printer_id);
  data->name = g_strdup (name);
  data->content = g_bytes_ref (content);
  g_task_set_task_data (task, data, (GDestroyNotify)upload_data_free);

  hash = g_task_new (self, cancellable, hashed_cb, g_steal_pointer (&task));
  g_task_set_task_data (hash, data, NULL);
  g_task_run_in_thread (hash, hash_thread);
}

gboolean
drover_farm_upload_file_finish (DroverFarm    *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
note_request (const char *request_id,
              gpointer    user_data)
{
  DroverFarm *self = user_data;

  if (self->audit != NULL)
    drover_audit_note_own_request (self->audit, request_id);
}

/**
 * drover_farm_dup_transport:
 * @printer_id: a printer of this farm
 *
 * How a signed job reaches the printer: an upload to Moonraker or
 * OctoPrint, a job command over the printer's MQTT link.
 *
 * Returns: (transfer full) (nullable): the transport, or %NULL when Drover
 *   cannot send jobs to this printer (yet)
 */
DroverTransport *
drover_farm_dup_transport (DroverFarm *self,
                           const char *printer_id)
{
  DroverPrinterEntry *entry;

  g_return_val_if_fail (DROVER_IS_FARM (self), NULL);
  g_return_val_if_fail (printer_id != NULL, NULL);

  entry = drover_inventory_find_printer (self->inventory, printer_id);
  if (entry == NULL)
    return NULL;

  switch (entry->connector)
    {
    case DROVER_CONNECTOR_MOONRAKER:
    case DROVER_CONNECTOR_OCTOPRINT:
      if (entry->http_url == NULL || self->http == NULL)
        return NULL;
      return DROVER_TRANSPORT (drover_http_transport_new (self->http, entry->connector, entry->http_url,
                                                          printer_api_key (self, entry)));
    case DROVER_CONNECTOR_NATIVE:
      {
        DroverMqttLink *link = drover_farm_find_link (self, printer_id);

        if (link == NULL)
          return NULL;
        return DROVER_TRANSPORT (drover_mqtt_transport_new (link, entry->key != NULL ? entry->key : entry->id,
                                                            note_request, self));
      }
    case DROVER_CONNECTOR_SERIAL:
      {
        DroverSerialStream *stream = find_serial_stream (self, printer_id);

        if (stream == NULL || drover_serial_stream_get_state (stream) != DROVER_SERIAL_STATE_IDLE)
          return NULL;
        return DROVER_TRANSPORT (drover_serial_transport_new (stream, self->audit != NULL ?
                                                              drover_audit_get_ledger (self->audit) : NULL));
      }
    case DROVER_CONNECTOR_BAMBU:
    case DROVER_CONNECTOR_ANYCUBIC:
    default:
      return NULL;
    }
}

/* USB serial printers: one stream each, opened at start and again after
 * the cable comes back. */

#define SERIAL_BAUD          115200
#define SERIAL_RETRY_SECONDS 5

struct _SerialPrinter
{
  DroverFarm         *farm;      /* the farm frees its serial printers when it stops */
  char               *printer_id;
  DroverSerialStream *stream;
  guint               retry_source;
  DroverSerialState   last_state;
};

static void serial_open (SerialPrinter *serial);

static gboolean
serial_retry_cb (gpointer user_data)
{
  serial_open (user_data);
  return G_SOURCE_REMOVE;
}

static void
serial_printer_free (SerialPrinter *serial)
{
  g_clear_handle_id (&serial->retry_source, g_source_remove);
  if (serial->stream != NULL)
    {
      g_signal_handlers_disconnect_by_data (serial->stream, serial);
      drover_serial_stream_close (serial->stream);
      g_clear_object (&serial->stream);
    }
  g_free (serial->printer_id);
  g_free (serial);
}

static DroverPrinterState
printer_state_for (DroverSerialState state)
{
  switch (state)
    {
    case DROVER_SERIAL_STATE_IDLE: return DROVER_PRINTER_STATE_IDLE;
    case DROVER_SERIAL_STATE_PRINTING: return DROVER_PRINTER_STATE_PRINTING;
    case DROVER_SERIAL_STATE_PAUSED: return DROVER_PRINTER_STATE_PAUSED;
    case DROVER_SERIAL_STATE_ERROR: return DROVER_PRINTER_STATE_ERROR;
    case DROVER_SERIAL_STATE_CLOSED:
    case DROVER_SERIAL_STATE_OPENING:
    default: return DROVER_PRINTER_STATE_OFFLINE;
    }
}

/* Marlin's M20: "Begin file list", "NAME SIZE" lines, "End file list". */
static DroverEvent *
parse_sd_listing (const char *reply)
{
  g_auto(GStrv) lines = g_strsplit (reply != NULL ? reply : "", "\n", -1);
  DroverEvent *event = drover_event_new (DROVER_EVENT_FILE_LIST);
  gboolean in_list = FALSE;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      g_auto(GStrv) words = NULL;

      if (g_str_has_prefix (line, "Begin file list"))
        in_list = TRUE;
      else if (g_str_has_prefix (line, "End file list"))
        in_list = FALSE;
      else if (in_list && *line != '\0')
        {
          words = g_strsplit (line, " ", 3);
          if (words[0] != NULL && *words[0] != '\0' && g_utf8_validate (words[0], -1, NULL))
            g_ptr_array_add (event->files,
                             drover_file_info_new (words[0],
                                                   words[1] != NULL ? MAX (g_ascii_strtoll (words[1], NULL, 10), -1) : -1,
                                                   -1, NULL));
        }
    }

  return event;
}

static void
listed_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  SerialPrinter *serial = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = drover_serial_stream_send_command_finish (DROVER_SERIAL_STREAM (source), result, &error);

  if (reply == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("%s: M20: %s", serial->printer_id, error->message);
      return;
    }
  if (strstr (reply, "Begin file list") != NULL)
    {
      g_autoptr(DroverEvent) event = parse_sd_listing (reply);

      drover_telemetry_queue_event (serial->farm->telemetry, serial->printer_id, event);
    }
}

static void
serial_changed_cb (GObject       *object,
                   GParamSpec    *pspec,
                   SerialPrinter *serial)
{
  DroverSerialStream *stream = DROVER_SERIAL_STREAM (object);
  DroverSerialState state = drover_serial_stream_get_state (stream);
  DroverUpdate update = { 0 };

  update.fields = DROVER_UPDATE_STATE | DROVER_UPDATE_HOTEND_TEMPERATURE | DROVER_UPDATE_HOTEND_TARGET |
                  DROVER_UPDATE_BED_TEMPERATURE | DROVER_UPDATE_BED_TARGET | DROVER_UPDATE_ONLINE;
  update.state = printer_state_for (state);
  update.online = state != DROVER_SERIAL_STATE_CLOSED;
  update.hotend_temperature = drover_serial_stream_get_hotend_temperature (stream);
  update.hotend_target = drover_serial_stream_get_hotend_target (stream);
  update.bed_temperature = drover_serial_stream_get_bed_temperature (stream);
  update.bed_target = drover_serial_stream_get_bed_target (stream);
  update.time_left = -1;
  if (state == DROVER_SERIAL_STATE_PRINTING || state == DROVER_SERIAL_STATE_PAUSED)
    {
      update.fields |= DROVER_UPDATE_PROGRESS | DROVER_UPDATE_TIME_LEFT;
      update.progress = CLAMP (drover_serial_stream_get_progress (stream), 0.0, 1.0);
      update.time_left = drover_serial_stream_get_time_left (stream);
    }
  drover_telemetry_queue_update (serial->farm->telemetry, serial->printer_id, &update);

  /* The SD card's files, after each print and when the printer is back. */
  if (state == DROVER_SERIAL_STATE_IDLE && serial->last_state != DROVER_SERIAL_STATE_IDLE)
    drover_serial_stream_send_command_async (stream, "M20", serial->farm->cancellable, listed_cb, serial);

  /* The cable was pulled or the board reset: try again soon. */
  if ((state == DROVER_SERIAL_STATE_CLOSED || state == DROVER_SERIAL_STATE_ERROR) &&
      serial->retry_source == 0 && !g_cancellable_is_cancelled (serial->farm->cancellable))
    serial->retry_source = g_timeout_add_seconds (SERIAL_RETRY_SECONDS, serial_retry_cb, serial);

  serial->last_state = state;
}

static void
serial_opened_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  SerialPrinter *serial = user_data;
  g_autoptr(GError) error = NULL;

  if (!drover_serial_stream_open_finish (DROVER_SERIAL_STREAM (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_debug ("%s: %s", serial->printer_id, error->message);
      if (serial->retry_source == 0 && !g_cancellable_is_cancelled (serial->farm->cancellable))
        serial->retry_source = g_timeout_add_seconds (SERIAL_RETRY_SECONDS, serial_retry_cb, serial);
    }
}

static void
serial_open (SerialPrinter *serial)
{
  DroverPrinterEntry *entry = drover_inventory_find_printer (serial->farm->inventory, serial->printer_id);

  serial->retry_source = 0;
  if (entry == NULL || entry->key == NULL)
    return;

  if (serial->stream != NULL)
    {
      g_signal_handlers_disconnect_by_data (serial->stream, serial);
      drover_serial_stream_close (serial->stream);
      g_clear_object (&serial->stream);
    }
  serial->stream = drover_serial_stream_new (entry->key, SERIAL_BAUD);
  serial->last_state = DROVER_SERIAL_STATE_CLOSED;
  g_signal_connect (serial->stream, "notify", G_CALLBACK (serial_changed_cb), serial);
  drover_serial_stream_open_async (serial->stream, serial->farm->cancellable, serial_opened_cb, serial);
}

static void
start_serial_printers (DroverFarm *self)
{
  GPtrArray *printers = drover_inventory_get_printers (self->inventory);

  for (guint i = 0; i < printers->len; i++)
    {
      DroverPrinterEntry *entry = g_ptr_array_index (printers, i);
      SerialPrinter *serial;

      if (entry->connector != DROVER_CONNECTOR_SERIAL || entry->key == NULL)
        continue;

      serial = g_new0 (SerialPrinter, 1);
      serial->farm = self;
      serial->printer_id = g_strdup (entry->id);
      g_ptr_array_add (self->serial_printers, serial);
      serial_open (serial);
    }
}

static DroverSerialStream *
find_serial_stream (DroverFarm *self,
                    const char *printer_id)
{
  for (guint i = 0; self->serial_printers != NULL && i < self->serial_printers->len; i++)
    {
      SerialPrinter *serial = g_ptr_array_index (self->serial_printers, i);

      if (g_str_equal (serial->printer_id, printer_id))
        return serial->stream;
    }

  return NULL;
}

/* Anycubic printers never push their file list: it is asked for, on the
 * command topic, as Anycubic's own apps do (docs: reference Part B). */

#define ANYCUBIC_LIST_SECONDS 10

static gboolean
ask_anycubic_files_cb (gpointer user_data)
{
  DroverFarm *self = user_data;
  GPtrArray *printers = drover_inventory_get_printers (self->inventory);

  for (guint i = 0; i < printers->len; i++)
    {
      DroverPrinterEntry *entry = g_ptr_array_index (printers, i);
      DroverMqttLink *link;
      g_autofree char *model = NULL;
      g_autofree char *topic = NULL;
      g_autofree char *payload = NULL;
      g_autofree char *msgid = NULL;

      if (entry->connector != DROVER_CONNECTOR_ANYCUBIC || entry->key == NULL || entry->uri != NULL)
        continue;
      model = drover_inventory_dup_printer_value (self->inventory, entry->id, "model-id");
      link = drover_farm_find_link (self, entry->id);
      if (model == NULL || link == NULL)
        continue;

      msgid = g_uuid_string_random ();
      if (self->audit != NULL)
        drover_audit_note_own_request (self->audit, msgid);
      topic = g_strdup_printf ("anycubic/anycubicCloud/v1/server/printer/%s/%s/file", model, entry->key);
      payload = g_strdup_printf ("{\"type\":\"file\",\"action\":\"listLocal\",\"msgid\":\"%s\","
                                 "\"timestamp\":%" G_GINT64_FORMAT ",\"data\":{\"path\":\"/\"}}",
                                 msgid, g_get_real_time () / 1000);
      drover_mqtt_link_publish (link, topic, payload, strlen (payload), 1, FALSE, NULL);
    }

  return G_SOURCE_CONTINUE;
}

static void
start_anycubic_lists (DroverFarm *self)
{
  GPtrArray *printers = drover_inventory_get_printers (self->inventory);

  for (guint i = 0; i < printers->len; i++)
    {
      DroverPrinterEntry *entry = g_ptr_array_index (printers, i);

      if (entry->connector == DROVER_CONNECTOR_ANYCUBIC)
        {
          self->anycubic_source = g_timeout_add_seconds (ANYCUBIC_LIST_SECONDS, ask_anycubic_files_cb, self);
          /* The first list soon, for the baseline. */
          self->anycubic_first_source = g_timeout_add (1500, ask_anycubic_first_cb, self);
          return;
        }
    }
}

/* Pause, resume, cancel, heaters off: never blocked by the gate or by a
 * job that is going out. */

static const char *
action_word (DroverPrinterAction action)
{
  switch (action)
    {
    case DROVER_PRINTER_ACTION_PAUSE: return "pause";
    case DROVER_PRINTER_ACTION_RESUME: return "resume";
    case DROVER_PRINTER_ACTION_CANCEL: return "cancel";
    case DROVER_PRINTER_ACTION_HEATERS_OFF: return "heaters_off";
    default: return "?";
    }
}

static SoupMessage *
json_request (DroverFarm         *self,
              DroverPrinterEntry *entry,
              const char         *path,
              const char         *json)
{
  SoupMessage *message = printer_request (self, entry, SOUP_METHOD_POST, path);
  g_autoptr(GBytes) body = NULL;

  if (message == NULL)
    return NULL;
  if (json != NULL)
    {
      body = g_bytes_new (json, strlen (json));
      soup_message_set_request_body_from_bytes (message, "application/json", body);
    }
  return message;
}

static void
ignore_reply_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_free (drover_serial_stream_send_command_finish (DROVER_SERIAL_STREAM (source), result, NULL));
}

static void
serial_command_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  g_autofree char *reply = drover_serial_stream_send_command_finish (DROVER_SERIAL_STREAM (source), result, &error);

  if (reply == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * drover_farm_control_async:
 * @printer_id: a printer of this farm
 * @action: what to do
 *
 * Pauses, resumes or cancels the printer's job, or turns its heaters off,
 * the way its connector does. These are never held back by the gate or by
 * a job being sent. The ledger records who asked.
 */
void
drover_farm_control_async (DroverFarm          *self,
                           const char          *printer_id,
                           DroverPrinterAction  action,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  DroverPrinterEntry *entry;

  g_return_if_fail (DROVER_IS_FARM (self));
  g_return_if_fail (printer_id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, drover_farm_control_async);
  entry = drover_inventory_find_printer (self->inventory, printer_id);
  if (entry == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("The farm has no printer “%s”."), printer_id);
      return;
    }

  if (self->audit != NULL && drover_audit_get_ledger (self->audit) != NULL)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *body = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "action");
      json_builder_add_string_value (builder, action_word (action));
      json_builder_set_member_name (builder, "operator");
      json_builder_add_string_value (builder, drover_audit_get_operator (self->audit));
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      body = json_to_string (root, FALSE);

      drover_ledger_append (drover_audit_get_ledger (self->audit), DROVER_LEDGER_KIND_COMMAND_SENT, printer_id,
                            action_word (action), body);
    }

  switch (entry->connector)
    {
    case DROVER_CONNECTOR_NATIVE:
      {
        DroverMqttLink *link = drover_farm_find_link (self, printer_id);
        g_autofree char *id = g_uuid_string_random ();
        g_autofree char *topic = g_strconcat ("drover/v1/", entry->key != NULL ? entry->key : entry->id, "/cmd", NULL);
        g_autofree char *payload = g_strdup_printf ("{\"v\":1,\"id\":\"%s\",\"command\":\"%s\"}", id, action_word (action));
        GError *error = NULL;

        if (self->audit != NULL)
          drover_audit_note_own_request (self->audit, id);
        if (link == NULL || !drover_mqtt_link_publish (link, topic, payload, strlen (payload), 1, FALSE, &error))
          {
            if (error == NULL)
              g_set_error (&error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, _("The printer's broker is not connected."));
            g_task_return_error (task, error);
            return;
          }
        g_task_return_boolean (task, TRUE);
        return;
      }

    case DROVER_CONNECTOR_MOONRAKER:
    case DROVER_CONNECTOR_OCTOPRINT:
      {
        g_autoptr(SoupMessage) message = NULL;
        gboolean moonraker = entry->connector == DROVER_CONNECTOR_MOONRAKER;

        if (entry->http_url == NULL || self->http == NULL)
          break;
        switch (action)
          {
          case DROVER_PRINTER_ACTION_PAUSE:
            message = moonraker ? json_request (self, entry, "/printer/print/pause", NULL)
                                : json_request (self, entry, "/api/job", "{\"command\":\"pause\",\"action\":\"pause\"}");
            break;
          case DROVER_PRINTER_ACTION_RESUME:
            message = moonraker ? json_request (self, entry, "/printer/print/resume", NULL)
                                : json_request (self, entry, "/api/job", "{\"command\":\"pause\",\"action\":\"resume\"}");
            break;
          case DROVER_PRINTER_ACTION_CANCEL:
            message = moonraker ? json_request (self, entry, "/printer/print/cancel", NULL)
                                : json_request (self, entry, "/api/job", "{\"command\":\"cancel\"}");
            break;
          case DROVER_PRINTER_ACTION_HEATERS_OFF:
          default:
            message = moonraker ? json_request (self, entry, "/printer/gcode/script?script=M104%20S0%0AM140%20S0", NULL)
                                : json_request (self, entry, "/api/printer/command", "{\"commands\":[\"M104 S0\",\"M140 S0\"]}");
            break;
          }
        if (message == NULL)
          break;
        soup_session_send_and_read_async (self->http, message, G_PRIORITY_HIGH, cancellable, printer_answered_cb,
                                          g_steal_pointer (&task));
        return;
      }

    case DROVER_CONNECTOR_SERIAL:
      {
        DroverSerialStream *stream = find_serial_stream (self, printer_id);

        if (stream == NULL)
          break;
        switch (action)
          {
          case DROVER_PRINTER_ACTION_PAUSE:
            drover_serial_stream_pause (stream);
            break;
          case DROVER_PRINTER_ACTION_RESUME:
            drover_serial_stream_resume (stream);
            break;
          case DROVER_PRINTER_ACTION_CANCEL:
            drover_serial_stream_cancel (stream);
            break;
          case DROVER_PRINTER_ACTION_HEATERS_OFF:
          default:
            /* M104 first: the hotend is the one that burns. */
            drover_serial_stream_send_command_async (stream, "M140 S0", NULL, ignore_reply_cb, NULL);
            drover_serial_stream_send_command_async (stream, "M104 S0", cancellable, serial_command_cb,
                                                     g_steal_pointer (&task));
            return;
          }
        g_task_return_boolean (task, TRUE);
        return;
      }

    case DROVER_CONNECTOR_BAMBU:
    case DROVER_CONNECTOR_ANYCUBIC:
    default:
      break;
    }

  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           _("Drover cannot control this printer yet; use its own screen."));
}

gboolean
drover_farm_control_finish (DroverFarm    *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
