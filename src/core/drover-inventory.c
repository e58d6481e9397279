/* drover-inventory.c: the farm's brokers and printers, from a key file
 *
 * Hand-editable, so that a farm can add 200 printers with a script:
 *
 *   [broker farm]
 *   uri=ssl://mqtt.farm.lan:8883
 *   username=drover
 *   ca-file=/etc/drover/farm-ca.pem
 *
 *   [printer p-0001]
 *   name=Voron 2.4 #1
 *   connector=moonraker
 *   broker=farm
 *   instance=p-0001
 *
 * Passwords do not belong here: they live in the desktop keyring.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-inventory"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "drover-inventory.h"

struct _DroverInventory
{
  GPtrArray *brokers;   /* DroverBrokerEntry */
  GPtrArray *printers;  /* DroverPrinterEntry */
};

G_DEFINE_QUARK (drover-inventory-error-quark, drover_inventory_error)

static void
broker_entry_free (DroverBrokerEntry *entry)
{
  g_free (entry->name);
  g_free (entry->uri);
  g_free (entry->client_id);
  g_free (entry->username);
  g_free (entry->ca_file);
  g_free (entry->certificate_file);
  g_free (entry->key_file);
  g_free (entry);
}

static void
printer_entry_free (DroverPrinterEntry *entry)
{
  g_free (entry->id);
  g_free (entry->name);
  g_free (entry->broker);
  g_free (entry->key);
  g_free (entry->uri);
  g_free (entry->ca_file);
  g_free (entry->access_code);
  g_free (entry->http_url);
  g_free (entry->api_key);
  g_free (entry);
}

/**
 * drover_connector_kind_from_string:
 *
 * Returns: %TRUE if @text names a connector: native, moonraker, octoprint,
 *   bambu, anycubic or serial
 */
gboolean
drover_connector_kind_from_string (const char          *text,
                                   DroverConnectorKind *kind)
{
  static const char * const names[] = {
    [DROVER_CONNECTOR_NATIVE] = "native",
    [DROVER_CONNECTOR_MOONRAKER] = "moonraker",
    [DROVER_CONNECTOR_OCTOPRINT] = "octoprint",
    [DROVER_CONNECTOR_BAMBU] = "bambu",
    [DROVER_CONNECTOR_ANYCUBIC] = "anycubic",
    [DROVER_CONNECTOR_SERIAL] = "serial",
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      if (g_strcmp0 (text, names[i]) == 0)
        {
          *kind = i;
          return TRUE;
        }
    }

  return FALSE;
}

static char *
get_string (GKeyFile   *key_file,
            const char *group,
            const char *key)
{
  char *value = g_key_file_get_string (key_file, group, key, NULL);

  if (value != NULL && g_strstrip (value)[0] == '\0')
    g_clear_pointer (&value, g_free);

  return value;
}

/* A topic level must not hold wildcards or separators. */
static gboolean
valid_topic_level (const char *text)
{
  return text != NULL && text[0] != '\0' && strpbrk (text, "+#/") == NULL && g_utf8_validate (text, -1, NULL);
}

static gboolean
load_broker (DroverInventory  *self,
             GKeyFile         *key_file,
             const char       *group,
             GError          **error)
{
  DroverBrokerEntry *entry = g_new0 (DroverBrokerEntry, 1);
  g_autoptr(GError) local_error = NULL;

  entry->name = g_strdup (group + strlen ("broker "));
  entry->uri = get_string (key_file, group, "uri");
  entry->client_id = get_string (key_file, group, "client-id");
  entry->username = get_string (key_file, group, "username");
  entry->ca_file = get_string (key_file, group, "ca-file");
  entry->certificate_file = get_string (key_file, group, "certificate-file");
  entry->key_file = get_string (key_file, group, "key-file");
  entry->verify_host_name = TRUE;
  if (g_key_file_has_key (key_file, group, "verify-host-name", NULL))
    {
      entry->verify_host_name = g_key_file_get_boolean (key_file, group, "verify-host-name", &local_error);
      if (local_error != NULL)
        {
          g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                       _("Broker “%s”: verify-host-name must be true or false."), entry->name);
          broker_entry_free (entry);
          return FALSE;
        }
    }

  if (entry->uri == NULL ||
      !(g_str_has_prefix (entry->uri, "tcp://") || g_str_has_prefix (entry->uri, "ssl://") ||
        g_str_has_prefix (entry->uri, "mqtt://") || g_str_has_prefix (entry->uri, "mqtts://") ||
        g_str_has_prefix (entry->uri, "ws://") || g_str_has_prefix (entry->uri, "wss://")))
    {
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                   _("Broker “%s” needs a uri such as tcp://host:1883 or ssl://host:8883."), entry->name);
      broker_entry_free (entry);
      return FALSE;
    }

  g_ptr_array_add (self->brokers, entry);
  return TRUE;
}

static gboolean
load_printer (DroverInventory  *self,
              GKeyFile         *key_file,
              const char       *group,
              GError          **error)
{
  DroverPrinterEntry *entry = g_new0 (DroverPrinterEntry, 1);
  g_autofree char *connector = get_string (key_file, group, "connector");
  g_autofree char *base_topic = NULL;

  entry->id = g_strdup (group + strlen ("printer "));
  entry->name = get_string (key_file, group, "name");
  entry->broker = get_string (key_file, group, "broker");
  entry->uri = get_string (key_file, group, "uri");
  entry->ca_file = get_string (key_file, group, "ca-file");
  entry->access_code = get_string (key_file, group, "access-code");
  entry->http_url = get_string (key_file, group, "http");
  entry->api_key = get_string (key_file, group, "api-key");

  if (!valid_topic_level (entry->id) || !drover_connector_kind_from_string (connector, &entry->connector))
    {
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                   _("Printer “%s” needs an id without “/”, “+” or “#”, and a connector: "
                     "native, moonraker, octoprint, bambu, anycubic or serial."), entry->id);
      printer_entry_free (entry);
      return FALSE;
    }

  switch (entry->connector)
    {
    case DROVER_CONNECTOR_NATIVE:
      entry->key = g_strdup (entry->id);
      break;

    case DROVER_CONNECTOR_MOONRAKER:
      entry->key = get_string (key_file, group, "instance");
      if (entry->key == NULL)
        entry->key = g_strdup (entry->id);
      break;

    case DROVER_CONNECTOR_OCTOPRINT:
      /* base-topic=octoPrint/<instance>/ */
      base_topic = get_string (key_file, group, "base-topic");
      if (base_topic != NULL && g_str_has_prefix (base_topic, "octoPrint/") && g_str_has_suffix (base_topic, "/"))
        entry->key = g_strndup (base_topic + strlen ("octoPrint/"), strlen (base_topic) - strlen ("octoPrint/") - 1);
      else if (base_topic == NULL)
        entry->key = g_strdup (entry->id);
      break;

    case DROVER_CONNECTOR_BAMBU:
      entry->key = get_string (key_file, group, "serial");
      break;

    case DROVER_CONNECTOR_ANYCUBIC:
      entry->key = get_string (key_file, group, "device-id");
      break;

    case DROVER_CONNECTOR_SERIAL:
      entry->key = get_string (key_file, group, "port");
      break;

    default:
      g_assert_not_reached ();
    }

  if (entry->connector != DROVER_CONNECTOR_SERIAL && !valid_topic_level (entry->key))
    {
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                   _("Printer “%s”: its instance, base topic, serial or device id is missing or holds “/”, “+” or “#”."),
                   entry->id);
      printer_entry_free (entry);
      return FALSE;
    }

  g_ptr_array_add (self->printers, entry);
  return TRUE;
}

/**
 * drover_inventory_load_from_data:
 *
 * Returns: (transfer full) (nullable): the inventory, or %NULL with @error
 *   naming the first problem and where it is
 */
DroverInventory *
drover_inventory_load_from_data (const char  *data,
                                 gsize        length,
                                 GError     **error)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(DroverInventory) self = g_new0 (DroverInventory, 1);
  g_auto(GStrv) groups = NULL;

  self->brokers = g_ptr_array_new_with_free_func ((GDestroyNotify)broker_entry_free);
  self->printers = g_ptr_array_new_with_free_func ((GDestroyNotify)printer_entry_free);

  if (!g_key_file_load_from_data (key_file, data, length, G_KEY_FILE_NONE, error))
    return NULL;

  groups = g_key_file_get_groups (key_file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      if (g_str_has_prefix (groups[i], "broker ") && !load_broker (self, key_file, groups[i], error))
        return NULL;
    }

  for (guint i = 0; groups[i] != NULL; i++)
    {
      if (g_str_has_prefix (groups[i], "printer ") && !load_printer (self, key_file, groups[i], error))
        return NULL;
    }

  for (guint i = 0; i < self->printers->len; i++)
    {
      DroverPrinterEntry *printer = g_ptr_array_index (self->printers, i);

      if (printer->broker != NULL && drover_inventory_find_broker (self, printer->broker) == NULL)
        {
          g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                       _("Printer “%s” uses broker “%s”, which the file does not describe."),
                       printer->id, printer->broker);
          return NULL;
        }

      if (printer->broker == NULL && printer->uri == NULL && printer->connector != DROVER_CONNECTOR_SERIAL)
        {
          g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                       _("Printer “%s” needs a broker (or, for a printer that is its own broker, a uri)."),
                       printer->id);
          return NULL;
        }
    }

  return g_steal_pointer (&self);
}

/**
 * drover_inventory_load:
 * @path: a key file
 *
 * Returns: (transfer full) (nullable): the inventory
 */
DroverInventory *
drover_inventory_load (const char  *path,
                       GError     **error)
{
  g_autofree char *data = NULL;
  gsize length;

  if (!g_file_get_contents (path, &data, &length, error))
    return NULL;

  return drover_inventory_load_from_data (data, length, error);
}

GPtrArray *
drover_inventory_get_brokers (DroverInventory *self)
{
  return self->brokers;
}

GPtrArray *
drover_inventory_get_printers (DroverInventory *self)
{
  return self->printers;
}

DroverBrokerEntry *
drover_inventory_find_broker (DroverInventory *self,
                              const char      *name)
{
  for (guint i = 0; i < self->brokers->len; i++)
    {
      DroverBrokerEntry *entry = g_ptr_array_index (self->brokers, i);

      if (g_strcmp0 (entry->name, name) == 0)
        return entry;
    }

  return NULL;
}

void
drover_inventory_free (DroverInventory *self)
{
  if (self == NULL)
    return;

  g_clear_pointer (&self->brokers, g_ptr_array_unref);
  g_clear_pointer (&self->printers, g_ptr_array_unref);
  g_free (self);
}
