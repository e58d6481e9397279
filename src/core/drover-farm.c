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

#include <libsoup/soup.h>
#include <string.h>

#include "drover-decode.h"
#include "drover-farm.h"
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
};

G_DEFINE_FINAL_TYPE (DroverFarm, drover_farm, G_TYPE_OBJECT)

static void
drover_farm_dispose (GObject *object)
{
  DroverFarm *self = (DroverFarm *)object;

  drover_farm_stop (self);
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

      /* Without the keyring the broker will refuse, and the link says so. */
      if (error != NULL)
        g_message ("%s: %s", drover_mqtt_link_get_uri (wait->link), error->message);
      drover_mqtt_link_set_credentials (wait->link, wait->username, secret);
      if (!drover_mqtt_link_start (wait->link, &start_error))
        g_debug ("%s", start_error->message);
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
      g_autoptr(DroverMqttLink) link = drover_mqtt_link_new (entry->uri, entry->client_id != NULL ? entry->client_id : id);

      drover_mqtt_link_set_tls (link, entry->ca_file, entry->certificate_file, entry->key_file, entry->verify_host_name);
      drover_telemetry_attach_link (self->telemetry, link);
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
      g_ptr_array_add (self->links, g_steal_pointer (&link));
    }

  for (guint i = 0; i < self->links->len; i++)
    {
      DroverMqttLink *link = g_ptr_array_index (self->links, i);

      if (!g_ptr_array_find (waiting, link, NULL) && !drover_mqtt_link_start (link, error))
        return FALSE;
    }

  /* OctoPrint's REST API wants the printer's API key, kept in the keyring. */
  for (guint i = 0; i < printers->len; i++)
    {
      DroverPrinterEntry *entry = g_ptr_array_index (printers, i);
      KeyWait *wait;

      if (entry->connector != DROVER_CONNECTOR_OCTOPRINT || entry->http_url == NULL || entry->api_key != NULL)
        continue;

      wait = g_new0 (KeyWait, 1);
      wait->farm = g_object_ref (self);
      wait->printer_id = g_strdup (entry->id);
      drover_secrets_lookup_async (DROVER_SECRET_PRINTER, entry->id, self->cancellable, api_key_found_cb, wait);
    }

  self->http = soup_session_new_with_options ("timeout", 10, "user-agent", "Drover/" PACKAGE_VERSION, NULL);
  /* The first answer must land after the plugin's retained "idle"
   * progress, which arrives as soon as the link subscribes. */
  self->first_poll_source = g_timeout_add_seconds (2, first_poll_cb, self);

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
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);

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

          if (broker != NULL && g_strcmp0 (uri, broker->uri) == 0)
            return link;
        }
    }

  return NULL;
}
