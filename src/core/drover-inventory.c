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
 * Passwords and access codes do not belong here: they live in the desktop
 * keyring (drover-secrets.c), and saving never writes them. Saving keeps
 * what Drover does not know of a hand-edited file: other keys, comments,
 * the order of the groups.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-inventory"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <errno.h>
#include <string.h>

#include "drover-inventory.h"

#define PRINTER_GROUP "printer "
#define BROKER_GROUP  "broker "

struct _DroverInventory
{
  GPtrArray *brokers;   /* DroverBrokerEntry */
  GPtrArray *printers;  /* DroverPrinterEntry */
  GKeyFile  *key_file;  /* the file as read, kept in step, for saving */
};

G_DEFINE_QUARK (drover-inventory-error-quark, drover_inventory_error)

/**
 * drover_inventory_dup_printer_value:
 * @printer_id: a printer of the inventory
 * @key: a key of its group that Drover's entry does not hold, such as an
 *   Anycubic printer's `model-id`
 *
 * Returns: (transfer full) (nullable): the value, or %NULL
 */
char *
drover_inventory_dup_printer_value (DroverInventory *self,
                                    const char      *printer_id,
                                    const char      *key)
{
  g_autofree char *group = NULL;

  g_return_val_if_fail (self != NULL, NULL);

  group = g_strconcat (PRINTER_GROUP, printer_id, NULL);
  return g_key_file_get_string (self->key_file, group, key, NULL);
}

/**
 * drover_inventory_dup_job_hosts:
 *
 * The `[farm]` group's `job-hosts`: the hosts this farm's jobs are
 * downloaded from. An order to download from any other is an alert.
 *
 * Returns: (transfer full) (array zero-terminated=1) (nullable): the
 *   hosts, or %NULL when the farm names none
 */
char **
drover_inventory_dup_job_hosts (DroverInventory *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_key_file_get_string_list (self->key_file, "farm", "job-hosts", NULL, NULL);
}

static const char * const connector_names[] = {
  [DROVER_CONNECTOR_NATIVE] = "native",
  [DROVER_CONNECTOR_MOONRAKER] = "moonraker",
  [DROVER_CONNECTOR_OCTOPRINT] = "octoprint",
  [DROVER_CONNECTOR_BAMBU] = "bambu",
  [DROVER_CONNECTOR_ANYCUBIC] = "anycubic",
  [DROVER_CONNECTOR_SERIAL] = "serial",
};

/* Where each connector keeps how its messages name the printer. */
static const char * const key_fields[] = {
  [DROVER_CONNECTOR_NATIVE] = NULL,
  [DROVER_CONNECTOR_MOONRAKER] = "instance",
  [DROVER_CONNECTOR_OCTOPRINT] = "base-topic",
  [DROVER_CONNECTOR_BAMBU] = "serial",
  [DROVER_CONNECTOR_ANYCUBIC] = "device-id",
  [DROVER_CONNECTOR_SERIAL] = "port",
};

/**
 * drover_broker_entry_new:
 * @name: how printers name the broker
 *
 * Returns: (transfer full): an entry that checks host names
 */
DroverBrokerEntry *
drover_broker_entry_new (const char *name)
{
  DroverBrokerEntry *entry = g_new0 (DroverBrokerEntry, 1);

  entry->name = g_strdup (name);
  entry->verify_host_name = TRUE;

  return entry;
}

DroverBrokerEntry *
drover_broker_entry_copy (const DroverBrokerEntry *entry)
{
  DroverBrokerEntry *copy = g_new0 (DroverBrokerEntry, 1);

  copy->name = g_strdup (entry->name);
  copy->uri = g_strdup (entry->uri);
  copy->client_id = g_strdup (entry->client_id);
  copy->username = g_strdup (entry->username);
  copy->ca_file = g_strdup (entry->ca_file);
  copy->certificate_file = g_strdup (entry->certificate_file);
  copy->key_file = g_strdup (entry->key_file);
  copy->verify_host_name = entry->verify_host_name;

  return copy;
}

void
drover_broker_entry_free (DroverBrokerEntry *entry)
{
  if (entry == NULL)
    return;

  g_free (entry->name);
  g_free (entry->uri);
  g_free (entry->client_id);
  g_free (entry->username);
  g_free (entry->ca_file);
  g_free (entry->certificate_file);
  g_free (entry->key_file);
  g_free (entry);
}

DroverPrinterEntry *
drover_printer_entry_new (const char          *id,
                          DroverConnectorKind  connector)
{
  DroverPrinterEntry *entry = g_new0 (DroverPrinterEntry, 1);

  entry->id = g_strdup (id);
  entry->connector = connector;

  return entry;
}

DroverPrinterEntry *
drover_printer_entry_copy (const DroverPrinterEntry *entry)
{
  DroverPrinterEntry *copy = g_new0 (DroverPrinterEntry, 1);

  copy->id = g_strdup (entry->id);
  copy->name = g_strdup (entry->name);
  copy->connector = entry->connector;
  copy->broker = g_strdup (entry->broker);
  copy->key = g_strdup (entry->key);
  copy->uri = g_strdup (entry->uri);
  copy->ca_file = g_strdup (entry->ca_file);
  copy->access_code = g_strdup (entry->access_code);
  copy->username = g_strdup (entry->username);
  copy->http_url = g_strdup (entry->http_url);
  copy->api_key = g_strdup (entry->api_key);

  return copy;
}

void
drover_printer_entry_free (DroverPrinterEntry *entry)
{
  if (entry == NULL)
    return;

  g_free (entry->id);
  g_free (entry->name);
  g_free (entry->broker);
  g_free (entry->key);
  g_free (entry->uri);
  g_free (entry->ca_file);
  if (entry->access_code != NULL)
    memset (entry->access_code, 0, strlen (entry->access_code));
  g_free (entry->access_code);
  g_free (entry->username);
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
  for (guint i = 0; i < G_N_ELEMENTS (connector_names); i++)
    {
      if (g_strcmp0 (text, connector_names[i]) == 0)
        {
          *kind = i;
          return TRUE;
        }
    }

  return FALSE;
}

/**
 * drover_connector_kind_to_key:
 *
 * Returns: the connector's name in the inventory file, the inverse of
 *   drover_connector_kind_from_string()
 */
const char *
drover_connector_kind_to_key (DroverConnectorKind kind)
{
  g_return_val_if_fail (kind < G_N_ELEMENTS (connector_names), NULL);

  return connector_names[kind];
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

static void
set_or_remove (GKeyFile   *key_file,
               const char *group,
               const char *key,
               const char *value)
{
  if (value != NULL && value[0] != '\0')
    g_key_file_set_string (key_file, group, key, value);
  else
    g_key_file_remove_key (key_file, group, key, NULL);
}

/* A topic level must not hold wildcards or separators. */
static gboolean
valid_topic_level (const char *text)
{
  return text != NULL && text[0] != '\0' && strpbrk (text, "+#/") == NULL && g_utf8_validate (text, -1, NULL);
}

/* A name that is also a key file group name and a topic level. */
static gboolean
valid_name (const char *text)
{
  if (!valid_topic_level (text) || strpbrk (text, "[]") != NULL)
    return FALSE;

  for (const char *p = text; *p != '\0'; p++)
    {
      if (g_ascii_iscntrl (*p))
        return FALSE;
    }

  return !g_ascii_isspace (text[0]) && !g_ascii_isspace (text[strlen (text) - 1]);
}

static gboolean
valid_broker_uri (const char *uri)
{
  static const char * const schemes[] = { "tcp://", "ssl://", "mqtt://", "mqtts://", "ws://", "wss://" };

  if (uri == NULL)
    return FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    {
      if (g_str_has_prefix (uri, schemes[i]) && uri[strlen (schemes[i])] != '\0')
        return TRUE;
    }

  return FALSE;
}

/**
 * drover_broker_entry_dup_nodes:
 *
 * A broker's `uri` may name several nodes of a cluster, separated by
 * commas: `tcp://mqtt-a:1883, tcp://mqtt-b:1883`.
 *
 * Returns: (transfer full): each node's address, in order, at least one
 *   when the entry has a uri
 */
char **
drover_broker_entry_dup_nodes (const DroverBrokerEntry *entry)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) parts = NULL;

  g_return_val_if_fail (entry != NULL, NULL);

  if (entry->uri == NULL)
    return g_strv_builder_end (builder);

  parts = g_strsplit (entry->uri, ",", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_strstrip (parts[i]);
      if (parts[i][0] != '\0')
        g_strv_builder_add (builder, parts[i]);
    }

  return g_strv_builder_end (builder);
}

static gboolean
check_broker_fields (const DroverBrokerEntry  *entry,
                     GError                  **error)
{
  g_auto(GStrv) nodes = NULL;

  if (!valid_name (entry->name))
    {
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                   _("A broker needs a name without “/”, “+”, “#”, “[” or “]”."));
      return FALSE;
    }

  nodes = drover_broker_entry_dup_nodes (entry);
  if (nodes[0] == NULL || (nodes[1] == NULL && !valid_broker_uri (nodes[0])))
    {
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                   _("Broker “%s” needs a uri such as tcp://host:1883 or ssl://host:8883."), entry->name);
      return FALSE;
    }
  for (guint i = 0; nodes[i] != NULL; i++)
    {
      if (!valid_broker_uri (nodes[i]))
        {
          g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                       _("Broker “%s”: “%s” is not an address such as tcp://host:1883 or ssl://host:8883 (a "
                         "cluster's nodes are separated by commas)."),
                       entry->name, nodes[i]);
          return FALSE;
        }
      /* One cluster speaks one way: TLS on every node or on none. */
      if (g_str_has_prefix (nodes[i], "ssl://") != g_str_has_prefix (nodes[0], "ssl://") ||
          g_str_has_prefix (nodes[i], "mqtts://") != g_str_has_prefix (nodes[0], "mqtts://"))
        {
          g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                       _("Broker “%s”: its nodes must all use TLS or all not."), entry->name);
          return FALSE;
        }
    }

  return TRUE;
}

static DroverBrokerEntry *
parse_broker (GKeyFile    *key_file,
              const char  *group,
              GError     **error)
{
  g_autoptr(DroverBrokerEntry) entry = drover_broker_entry_new (group + strlen (BROKER_GROUP));
  g_autoptr(GError) local_error = NULL;

  entry->uri = get_string (key_file, group, "uri");
  entry->client_id = get_string (key_file, group, "client-id");
  entry->username = get_string (key_file, group, "username");
  entry->ca_file = get_string (key_file, group, "ca-file");
  entry->certificate_file = get_string (key_file, group, "certificate-file");
  entry->key_file = get_string (key_file, group, "key-file");
  if (g_key_file_has_key (key_file, group, "verify-host-name", NULL))
    {
      entry->verify_host_name = g_key_file_get_boolean (key_file, group, "verify-host-name", &local_error);
      if (local_error != NULL)
        {
          /* The group name is not checked yet: it may not be UTF-8. */
          g_autofree char *name = g_utf8_make_valid (entry->name, -1);

          g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                       _("Broker “%s”: verify-host-name must be true or false."), name);
          return NULL;
        }
    }

  if (!check_broker_fields (entry, error))
    return NULL;

  return g_steal_pointer (&entry);
}

static gboolean
check_printer_fields (const DroverPrinterEntry  *entry,
                      GError                   **error)
{
  if (!valid_name (entry->id) || entry->connector >= G_N_ELEMENTS (connector_names))
    {
      /* A group name of the file: it may not be UTF-8. */
      g_autofree char *id = g_utf8_make_valid (entry->id != NULL ? entry->id : "", -1);

      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                   _("Printer “%s” needs an id without “/”, “+”, “#”, “[” or “]”, and a connector: "
                     "native, moonraker, octoprint, bambu, anycubic or serial."),
                   id);
      return FALSE;
    }

  if (entry->connector != DROVER_CONNECTOR_SERIAL && entry->connector != DROVER_CONNECTOR_NATIVE &&
      !valid_topic_level (entry->key))
    {
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                   _("Printer “%s”: its instance, base topic, serial or device id is missing or holds “/”, “+” or “#”."),
                   entry->id);
      return FALSE;
    }

  return TRUE;
}

static DroverPrinterEntry *
parse_printer (GKeyFile    *key_file,
               const char  *group,
               GError     **error)
{
  g_autoptr(DroverPrinterEntry) entry = drover_printer_entry_new (group + strlen (PRINTER_GROUP), 0);
  g_autofree char *connector = get_string (key_file, group, "connector");
  g_autofree char *base_topic = NULL;

  entry->name = get_string (key_file, group, "name");
  entry->broker = get_string (key_file, group, "broker");
  entry->uri = get_string (key_file, group, "uri");
  entry->ca_file = get_string (key_file, group, "ca-file");
  entry->access_code = get_string (key_file, group, "access-code");
  entry->username = get_string (key_file, group, "username");
  entry->http_url = get_string (key_file, group, "http");
  entry->api_key = get_string (key_file, group, "api-key");

  if (!drover_connector_kind_from_string (connector, &entry->connector))
    entry->connector = G_N_ELEMENTS (connector_names);

  switch ((int)entry->connector)
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
      /* "octoPrint/" alone: its one "/" both begins and ends it. */
      if (base_topic != NULL && strlen (base_topic) > strlen ("octoPrint/") &&
          g_str_has_prefix (base_topic, "octoPrint/") && g_str_has_suffix (base_topic, "/"))
        entry->key = g_strndup (base_topic + strlen ("octoPrint/"), strlen (base_topic) - strlen ("octoPrint/") - 1);
      else if (base_topic == NULL)
        entry->key = g_strdup (entry->id);
      break;

    case DROVER_CONNECTOR_BAMBU:
    case DROVER_CONNECTOR_ANYCUBIC:
    case DROVER_CONNECTOR_SERIAL:
      entry->key = get_string (key_file, group, key_fields[entry->connector]);
      break;

    default:
      break;
    }

  if (!check_printer_fields (entry, error))
    return NULL;

  return g_steal_pointer (&entry);
}

/**
 * drover_inventory_new:
 *
 * Returns: (transfer full): a farm with no brokers and no printers
 */
DroverInventory *
drover_inventory_new (void)
{
  DroverInventory *self = g_new0 (DroverInventory, 1);

  self->brokers = g_ptr_array_new_with_free_func ((GDestroyNotify)drover_broker_entry_free);
  self->printers = g_ptr_array_new_with_free_func ((GDestroyNotify)drover_printer_entry_free);
  self->key_file = g_key_file_new ();

  return self;
}

/* Whether @printer can join: its broker is known, or it is its own. */
static gboolean
check_printer_links (DroverInventory           *self,
                     const DroverPrinterEntry  *printer,
                     GError                   **error)
{
  if (printer->broker != NULL && drover_inventory_find_broker (self, printer->broker) == NULL)
    {
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                   _("Printer “%s” uses broker “%s”, which the file does not describe."),
                   printer->id, printer->broker);
      return FALSE;
    }

  if (printer->broker == NULL && printer->uri == NULL && printer->connector != DROVER_CONNECTOR_SERIAL)
    {
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                   _("Printer “%s” needs a broker (or, for a printer that is its own broker, a uri)."),
                   printer->id);
      return FALSE;
    }

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
  g_autoptr(DroverInventory) self = drover_inventory_new ();
  g_auto(GStrv) groups = NULL;
  g_autoptr(GError) key_file_error = NULL;

  if (!g_key_file_load_from_data (self->key_file, data, length, G_KEY_FILE_KEEP_COMMENTS, &key_file_error))
    {
      /* GKeyFile quotes a line it cannot read as it is, UTF-8 or not. */
      g_autofree char *message = g_utf8_make_valid (key_file_error->message, -1);

      g_set_error_literal (error, key_file_error->domain, key_file_error->code, message);
      return NULL;
    }

  groups = g_key_file_get_groups (self->key_file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      DroverBrokerEntry *entry;

      if (!g_str_has_prefix (groups[i], BROKER_GROUP))
        continue;
      if ((entry = parse_broker (self->key_file, groups[i], error)) == NULL)
        return NULL;
      g_ptr_array_add (self->brokers, entry);
    }

  for (guint i = 0; groups[i] != NULL; i++)
    {
      DroverPrinterEntry *entry;

      if (!g_str_has_prefix (groups[i], PRINTER_GROUP))
        continue;
      if ((entry = parse_printer (self->key_file, groups[i], error)) == NULL)
        return NULL;
      g_ptr_array_add (self->printers, entry);
    }

  for (guint i = 0; i < self->printers->len; i++)
    {
      if (!check_printer_links (self, g_ptr_array_index (self->printers, i), error))
        return NULL;
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

/**
 * drover_inventory_get_brokers:
 *
 * Returns: (transfer none) (element-type DroverBrokerEntry): the brokers
 */
GPtrArray *
drover_inventory_get_brokers (DroverInventory *self)
{
  return self->brokers;
}

/**
 * drover_inventory_get_printers:
 *
 * Returns: (transfer none) (element-type DroverPrinterEntry): the printers
 */
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

DroverPrinterEntry *
drover_inventory_find_printer (DroverInventory *self,
                               const char      *id)
{
  for (guint i = 0; i < self->printers->len; i++)
    {
      DroverPrinterEntry *entry = g_ptr_array_index (self->printers, i);

      if (g_strcmp0 (entry->id, id) == 0)
        return entry;
    }

  return NULL;
}

/* Moves a group with its keys, unknown ones included, and its comment. */
static void
rename_group (GKeyFile   *key_file,
              const char *old_group,
              const char *new_group)
{
  g_auto(GStrv) keys = g_key_file_get_keys (key_file, old_group, NULL, NULL);
  g_autofree char *comment = g_key_file_get_comment (key_file, old_group, NULL, NULL);

  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      g_autofree char *value = g_key_file_get_value (key_file, old_group, keys[i], NULL);

      if (value != NULL)
        g_key_file_set_value (key_file, new_group, keys[i], value);
    }
  if (comment != NULL && comment[0] != '\0')
    g_key_file_set_comment (key_file, new_group, NULL, comment, NULL);

  g_key_file_remove_group (key_file, old_group, NULL);
}

static void
write_broker (GKeyFile                *key_file,
              const DroverBrokerEntry *entry)
{
  g_autofree char *group = g_strconcat (BROKER_GROUP, entry->name, NULL);

  set_or_remove (key_file, group, "uri", entry->uri);
  set_or_remove (key_file, group, "client-id", entry->client_id);
  set_or_remove (key_file, group, "username", entry->username);
  set_or_remove (key_file, group, "ca-file", entry->ca_file);
  set_or_remove (key_file, group, "certificate-file", entry->certificate_file);
  set_or_remove (key_file, group, "key-file", entry->key_file);
  /* On is the default and needs no line; off must be there to read. */
  if (!entry->verify_host_name || g_key_file_has_key (key_file, group, "verify-host-name", NULL))
    g_key_file_set_boolean (key_file, group, "verify-host-name", entry->verify_host_name);
}

static void
write_printer (GKeyFile                 *key_file,
               const DroverPrinterEntry *entry)
{
  g_autofree char *group = g_strconcat (PRINTER_GROUP, entry->id, NULL);
  const char *field = key_fields[entry->connector];

  set_or_remove (key_file, group, "name", entry->name);
  g_key_file_set_string (key_file, group, "connector", connector_names[entry->connector]);
  set_or_remove (key_file, group, "broker", entry->broker);
  set_or_remove (key_file, group, "uri", entry->uri);
  set_or_remove (key_file, group, "ca-file", entry->ca_file);
  set_or_remove (key_file, group, "http", entry->http_url);
  set_or_remove (key_file, group, "api-key", entry->api_key);
  set_or_remove (key_file, group, "username", entry->username);

  /* A change of connector leaves no stale key of the old one behind. */
  for (guint i = 0; i < G_N_ELEMENTS (key_fields); i++)
    {
      if (key_fields[i] != NULL && g_strcmp0 (key_fields[i], field) != 0)
        g_key_file_remove_key (key_file, group, key_fields[i], NULL);
    }

  switch (entry->connector)
    {
    case DROVER_CONNECTOR_MOONRAKER:
    case DROVER_CONNECTOR_OCTOPRINT:
      /* The id is the default: write it only if the file did. */
      if (g_strcmp0 (entry->key, entry->id) == 0 && !g_key_file_has_key (key_file, group, field, NULL))
        break;
      if (entry->connector == DROVER_CONNECTOR_OCTOPRINT)
        {
          g_autofree char *base_topic = g_strconcat ("octoPrint/", entry->key, "/", NULL);

          g_key_file_set_string (key_file, group, field, base_topic);
        }
      else
        g_key_file_set_string (key_file, group, field, entry->key);
      break;

    case DROVER_CONNECTOR_BAMBU:
    case DROVER_CONNECTOR_ANYCUBIC:
    case DROVER_CONNECTOR_SERIAL:
      set_or_remove (key_file, group, field, entry->key);
      break;

    case DROVER_CONNECTOR_NATIVE:
    default:
      break;
    }
}

/**
 * drover_inventory_check_broker:
 * @old_name: (nullable): the broker @entry replaces, or %NULL for a new one
 * @entry: the broker as it would be
 *
 * Returns: %TRUE if drover_inventory_set_broker() would take @entry
 */
gboolean
drover_inventory_check_broker (DroverInventory          *self,
                               const char               *old_name,
                               const DroverBrokerEntry  *entry,
                               GError                  **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (entry != NULL, FALSE);

  if (!check_broker_fields (entry, error))
    return FALSE;

  if (old_name != NULL && drover_inventory_find_broker (self, old_name) == NULL)
    {
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_NOT_FOUND,
                   _("The farm has no broker “%s”."), old_name);
      return FALSE;
    }

  if (g_strcmp0 (old_name, entry->name) != 0 && drover_inventory_find_broker (self, entry->name) != NULL)
    {
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_DUPLICATE,
                   _("The farm already has a broker named “%s”."), entry->name);
      return FALSE;
    }

  return TRUE;
}

/**
 * drover_inventory_set_broker:
 * @old_name: (nullable): the broker @entry replaces, or %NULL to add it
 * @entry: the broker; copied
 *
 * Adds or changes a broker. A renamed broker takes its printers along.
 * Nothing changes when @entry is refused.
 *
 * Returns: %TRUE if the inventory took @entry
 */
gboolean
drover_inventory_set_broker (DroverInventory          *self,
                             const char               *old_name,
                             const DroverBrokerEntry  *entry,
                             GError                  **error)
{
  DroverBrokerEntry *copy;

  if (!drover_inventory_check_broker (self, old_name, entry, error))
    return FALSE;

  copy = drover_broker_entry_copy (entry);

  if (old_name != NULL)
    {
      DroverBrokerEntry *old = drover_inventory_find_broker (self, old_name);
      guint index = 0;

      g_ptr_array_find (self->brokers, old, &index);
      if (g_strcmp0 (old_name, entry->name) != 0)
        {
          g_autofree char *old_group = g_strconcat (BROKER_GROUP, old_name, NULL);
          g_autofree char *new_group = g_strconcat (BROKER_GROUP, entry->name, NULL);

          rename_group (self->key_file, old_group, new_group);

          for (guint i = 0; i < self->printers->len; i++)
            {
              DroverPrinterEntry *printer = g_ptr_array_index (self->printers, i);

              if (g_strcmp0 (printer->broker, old_name) == 0)
                {
                  g_autofree char *group = g_strconcat (PRINTER_GROUP, printer->id, NULL);

                  g_free (printer->broker);
                  printer->broker = g_strdup (entry->name);
                  g_key_file_set_string (self->key_file, group, "broker", entry->name);
                }
            }
        }

      drover_broker_entry_free (g_ptr_array_steal_index (self->brokers, index));
      g_ptr_array_insert (self->brokers, index, copy);
    }
  else
    g_ptr_array_add (self->brokers, copy);

  write_broker (self->key_file, copy);

  return TRUE;
}

/**
 * drover_inventory_remove_broker:
 *
 * Removes a broker no printer uses.
 *
 * Returns: %TRUE if it was removed
 */
gboolean
drover_inventory_remove_broker (DroverInventory  *self,
                                const char       *name,
                                GError          **error)
{
  DroverBrokerEntry *entry;
  g_autofree char *group = NULL;
  guint users = 0;

  g_return_val_if_fail (self != NULL, FALSE);

  entry = drover_inventory_find_broker (self, name);
  if (entry == NULL)
    {
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_NOT_FOUND,
                   _("The farm has no broker “%s”."), name);
      return FALSE;
    }

  for (guint i = 0; i < self->printers->len; i++)
    {
      DroverPrinterEntry *printer = g_ptr_array_index (self->printers, i);

      users += g_strcmp0 (printer->broker, name) == 0;
    }

  if (users > 0)
    {
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_IN_USE,
                   g_dngettext (GETTEXT_PACKAGE,
                                "Broker “%s” is used by %u printer: move it to another broker or remove it first.",
                                "Broker “%s” is used by %u printers: move them to another broker or remove them first.",
                                users),
                   name, users);
      return FALSE;
    }

  group = g_strconcat (BROKER_GROUP, name, NULL);
  g_key_file_remove_group (self->key_file, group, NULL);
  g_ptr_array_remove (self->brokers, entry);

  return TRUE;
}

/**
 * drover_inventory_check_printer:
 * @old_id: (nullable): the printer @entry replaces, or %NULL for a new one
 * @entry: the printer as it would be
 *
 * Returns: %TRUE if drover_inventory_set_printer() would take @entry
 */
gboolean
drover_inventory_check_printer (DroverInventory           *self,
                                const char                *old_id,
                                const DroverPrinterEntry  *entry,
                                GError                   **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (entry != NULL, FALSE);

  if (!check_printer_fields (entry, error))
    return FALSE;

  if (old_id != NULL && drover_inventory_find_printer (self, old_id) == NULL)
    {
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_NOT_FOUND,
                   _("The farm has no printer “%s”."), old_id);
      return FALSE;
    }

  if (g_strcmp0 (old_id, entry->id) != 0 && drover_inventory_find_printer (self, entry->id) != NULL)
    {
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_DUPLICATE,
                   _("The farm already has a printer with the id “%s”."), entry->id);
      return FALSE;
    }

  return check_printer_links (self, entry, error);
}

/**
 * drover_inventory_set_printer:
 * @old_id: (nullable): the printer @entry replaces, or %NULL to add it
 * @entry: the printer; copied
 *
 * Adds or changes a printer. Nothing changes when @entry is refused.
 *
 * Returns: %TRUE if the inventory took @entry
 */
gboolean
drover_inventory_set_printer (DroverInventory           *self,
                              const char                *old_id,
                              const DroverPrinterEntry  *entry,
                              GError                   **error)
{
  DroverPrinterEntry *copy;

  if (!drover_inventory_check_printer (self, old_id, entry, error))
    return FALSE;

  copy = drover_printer_entry_copy (entry);
  /* Native printers are named on the broker by their id. */
  if (copy->connector == DROVER_CONNECTOR_NATIVE)
    {
      g_free (copy->key);
      copy->key = g_strdup (copy->id);
    }

  if (old_id != NULL)
    {
      DroverPrinterEntry *old = drover_inventory_find_printer (self, old_id);
      guint index = 0;

      g_ptr_array_find (self->printers, old, &index);
      if (g_strcmp0 (old_id, entry->id) != 0)
        {
          g_autofree char *old_group = g_strconcat (PRINTER_GROUP, old_id, NULL);
          g_autofree char *new_group = g_strconcat (PRINTER_GROUP, entry->id, NULL);

          rename_group (self->key_file, old_group, new_group);
        }

      drover_printer_entry_free (g_ptr_array_steal_index (self->printers, index));
      g_ptr_array_insert (self->printers, index, copy);
    }
  else
    g_ptr_array_add (self->printers, copy);

  write_printer (self->key_file, copy);

  return TRUE;
}

/**
 * drover_inventory_remove_printer:
 *
 * Returns: %TRUE if the printer was there and is gone
 */
gboolean
drover_inventory_remove_printer (DroverInventory  *self,
                                 const char       *id,
                                 GError          **error)
{
  DroverPrinterEntry *entry;
  g_autofree char *group = NULL;

  g_return_val_if_fail (self != NULL, FALSE);

  entry = drover_inventory_find_printer (self, id);
  if (entry == NULL)
    {
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_NOT_FOUND,
                   _("The farm has no printer “%s”."), id);
      return FALSE;
    }

  group = g_strconcat (PRINTER_GROUP, id, NULL);
  g_key_file_remove_group (self->key_file, group, NULL);
  g_ptr_array_remove (self->printers, entry);

  return TRUE;
}

/* CSV */

typedef struct
{
  guint      line;     /* where the record starts, from 1 */
  GPtrArray *fields;   /* char * */
} CsvRecord;

static void
csv_record_free (CsvRecord *record)
{
  g_ptr_array_unref (record->fields);
  g_free (record);
}

/* RFC 4180, as spreadsheets write it: commas, quoted fields that may hold
 * commas, line breaks and doubled quotes, CRLF or LF line ends. */
static GPtrArray *
parse_csv (const char  *text,
           gsize        length,
           GError     **error)
{
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify)csv_record_free);
  g_autoptr(GString) field = g_string_new (NULL);
  CsvRecord *record = NULL;
  const char *end = text + length;
  const char *p = text;
  guint line = 1;

  while (p < end)
    {
      gboolean quoted = FALSE;

      if (record == NULL)
        {
          record = g_new0 (CsvRecord, 1);
          record->line = line;
          record->fields = g_ptr_array_new_with_free_func (g_free);
          g_ptr_array_add (records, record);
        }

      g_string_truncate (field, 0);

      if (*p == '"')
        {
          guint opened = line;

          quoted = TRUE;
          p++;
          for (;;)
            {
              if (p >= end)
                {
                  g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                               _("Line %u: a quoted field is never closed."), opened);
                  return NULL;
                }
              if (*p == '"' && p + 1 < end && p[1] == '"')
                {
                  g_string_append_c (field, '"');
                  p += 2;
                }
              else if (*p == '"')
                {
                  p++;
                  break;
                }
              else
                {
                  line += *p == '\n';
                  g_string_append_c (field, *p++);
                }
            }

          if (p < end && *p != ',' && *p != '\n' && *p != '\r')
            {
              g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                           _("Line %u: there is text after a closing quote; a quote inside a quoted field is written twice (\"\")."),
                           line);
              return NULL;
            }
        }
      else
        {
          while (p < end && *p != ',' && *p != '\n' && *p != '\r')
            g_string_append_c (field, *p++);
        }

      g_ptr_array_add (record->fields, quoted ? g_strdup (field->str) : g_strstrip (g_strdup (field->str)));

      if (p < end && *p == ',')
        {
          p++;
          /* A comma at the very end still opens one last, empty field. */
          if (p == end)
            g_ptr_array_add (record->fields, g_strdup (""));
          continue;
        }

      if (p < end && *p == '\r')
        p++;
      if (p < end && *p == '\n')
        p++;
      line++;
      record = NULL;
    }

  /* Blank lines are no records. */
  for (guint i = records->len; i > 0; i--)
    {
      CsvRecord *r = g_ptr_array_index (records, i - 1);

      if (r->fields->len == 1 && ((char *)g_ptr_array_index (r->fields, 0))[0] == '\0')
        g_ptr_array_remove_index (records, i - 1);
    }

  return g_steal_pointer (&records);
}

static const char * const csv_columns[] = {
  "id", "name", "connector", "broker", "instance", "base-topic", "serial", "device-id", "port",
  "uri", "ca-file", "http",
};

static char *
normalise_column (const char *title)
{
  char *name = g_ascii_strdown (title, -1);

  g_strstrip (name);
  g_strdelimit (name, "_ ", '-');

  return name;
}

/**
 * drover_inventory_import_csv:
 * @csv_text: a CSV file's text: a header row naming the columns (id, name,
 *   connector, broker, instance, base-topic, serial, device-id, port, uri,
 *   ca-file, http, api-key; id and connector are needed), then a printer a row
 * @length: its length in bytes
 *
 * Adds every printer of @csv_text, or none: a row that cannot be used
 * fails the import with the line and what is wrong, and the inventory
 * stays as it was. Ids the farm already has are refused, never replaced.
 *
 * Returns: how many printers were added; 0 with @error on failure
 */
guint
drover_inventory_import_csv (DroverInventory  *self,
                             const char       *csv_text,
                             gsize             length,
                             GError          **error)
{
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GPtrArray) columns = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) added = g_ptr_array_new_with_free_func ((GDestroyNotify)drover_printer_entry_free);
  g_autoptr(GKeyFile) rows = g_key_file_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  CsvRecord *header;
  const char *invalid_end = NULL;
  gint id_column = -1;
  gboolean has_connector = FALSE;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (csv_text != NULL || length == 0, 0);

  /* Spreadsheets on Windows start UTF-8 files with a byte order mark. */
  if (length >= 3 && memcmp (csv_text, "\xef\xbb\xbf", 3) == 0)
    {
      csv_text += 3;
      length -= 3;
    }

  if (!g_utf8_validate_len (csv_text, length, &invalid_end))
    {
      guint line = 1;

      for (const char *p = csv_text; p < invalid_end; p++)
        line += *p == '\n';
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                   _("Line %u is not UTF-8 text: save the file as CSV UTF-8."), line);
      return 0;
    }

  records = parse_csv (csv_text, length, error);
  if (records == NULL)
    return 0;

  if (records->len == 0)
    {
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                   _("The file is empty: the first line must name the columns, such as id,name,connector,broker."));
      return 0;
    }

  header = g_ptr_array_index (records, 0);
  if (header->fields->len == 1 && strpbrk (g_ptr_array_index (header->fields, 0), ";\t") != NULL)
    {
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                   _("Line %u: Drover reads columns separated by commas, and this line has none."), header->line);
      return 0;
    }

  for (guint i = 0; i < header->fields->len; i++)
    {
      g_autofree char *name = normalise_column (g_ptr_array_index (header->fields, i));
      gboolean known = FALSE;

      if (g_str_equal (name, "access-code") || g_str_equal (name, "password") || g_str_equal (name, "api-key"))
        {
          g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                       _("Line %u: column “%s” holds secrets, which Drover keeps in the keyring and never in "
                         "its files; remove the column and enter them in Preferences."),
                       header->line, (char *)g_ptr_array_index (header->fields, i));
          return 0;
        }

      for (guint j = 0; j < G_N_ELEMENTS (csv_columns); j++)
        known |= g_str_equal (name, csv_columns[j]);
      if (!known)
        {
          g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                       _("Line %u: Drover does not know the column “%s”. It knows id, name, connector, broker, "
                         "instance, base-topic, serial, device-id, port, uri, ca-file and http."),
                       header->line, (char *)g_ptr_array_index (header->fields, i));
          return 0;
        }

      for (guint j = 0; j < columns->len; j++)
        {
          if (g_str_equal (name, g_ptr_array_index (columns, j)))
            {
              g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                           _("Line %u: the column “%s” appears twice."), header->line, name);
              return 0;
            }
        }

      if (g_str_equal (name, "id"))
        id_column = i;
      has_connector |= g_str_equal (name, "connector");
      g_ptr_array_add (columns, g_steal_pointer (&name));
    }

  if (id_column < 0 || !has_connector)
    {
      g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                   _("Line %u: the columns “id” and “connector” are needed."), header->line);
      return 0;
    }

  for (guint r = 1; r < records->len; r++)
    {
      CsvRecord *record = g_ptr_array_index (records, r);
      const char *id;
      g_autofree char *group = NULL;
      g_autoptr(GError) local_error = NULL;
      g_autoptr(DroverPrinterEntry) entry = NULL;
      gpointer first_line;

      if (record->fields->len != columns->len)
        {
          g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                       _("Line %u has %u fields where the first line names %u columns."),
                       record->line, record->fields->len, columns->len);
          return 0;
        }

      id = g_ptr_array_index (record->fields, id_column);
      if (!valid_name (id))
        {
          g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID,
                       _("Line %u: the id “%s” is empty or holds “/”, “+”, “#”, “[”, “]” or control characters."),
                       record->line, id);
          return 0;
        }

      if (g_hash_table_lookup_extended (seen, id, NULL, &first_line))
        {
          g_set_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_DUPLICATE,
                       _("Line %u: the id “%s” is already on line %u."),
                       record->line, id, GPOINTER_TO_UINT (first_line));
          return 0;
        }
      g_hash_table_insert (seen, (gpointer)id, GUINT_TO_POINTER (record->line));

      group = g_strconcat (PRINTER_GROUP, id, NULL);
      for (guint c = 0; c < columns->len; c++)
        {
          const char *value = g_ptr_array_index (record->fields, c);

          if (c != (guint)id_column && value[0] != '\0')
            g_key_file_set_string (rows, group, g_ptr_array_index (columns, c), value);
        }

      entry = parse_printer (rows, group, &local_error);
      if (entry == NULL || !drover_inventory_check_printer (self, NULL, entry, &local_error))
        {
          g_set_error (error, DROVER_INVENTORY_ERROR, local_error->code,
                       _("Line %u: %s"), record->line, local_error->message);
          return 0;
        }

      g_ptr_array_add (added, g_steal_pointer (&entry));
    }

  /* Every row is good: only now does the farm change. */
  for (guint i = 0; i < added->len; i++)
    {
      DroverPrinterEntry *entry = g_ptr_array_index (added, i);
      g_autofree char *group = g_strconcat (PRINTER_GROUP, entry->id, NULL);
      g_auto(GStrv) keys = g_key_file_get_keys (rows, group, NULL, NULL);

      for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
        {
          g_autofree char *value = g_key_file_get_value (rows, group, keys[k], NULL);

          g_key_file_set_value (self->key_file, group, keys[k], value);
        }
      g_ptr_array_add (self->printers, drover_printer_entry_copy (entry));
    }

  return added->len;
}

/* Saving */

/**
 * drover_inventory_to_data:
 * @length: (out) (optional): the length of the text
 *
 * Writes the inventory as its key file, with what Drover does not know of
 * the file it was read from, and without a password or access code even
 * if the file it was read from held one.
 *
 * Returns: (transfer full): the text
 */
char *
drover_inventory_to_data (DroverInventory *self,
                          gsize           *length)
{
  static const char * const secrets[] = { "access-code", "api-key", "password" };
  g_auto(GStrv) groups = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  guint kept = 0;
  char *data;

  g_return_val_if_fail (self != NULL, NULL);

  groups = g_key_file_get_groups (self->key_file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      for (guint s = 0; s < G_N_ELEMENTS (secrets); s++)
        g_key_file_remove_key (self->key_file, groups[i], secrets[s], NULL);
    }

  /* A key that a hand-edited file holds twice GKeyFile keeps twice, and
   * g_key_file_remove_key() removes only the last: no line of a secret
   * goes out. */
  text = g_key_file_to_data (self->key_file, NULL, NULL);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      gboolean secret = FALSE;

      for (guint s = 0; s < G_N_ELEMENTS (secrets); s++)
        {
          gsize n = strlen (secrets[s]);

          secret |= strncmp (lines[i], secrets[s], n) == 0 && (lines[i][n] == '=' || lines[i][n] == '[');
        }
      if (secret)
        g_free (lines[i]);
      else
        lines[kept++] = lines[i];
    }
  lines[kept] = NULL;

  data = g_strjoinv ("\n", lines);
  if (length != NULL)
    *length = strlen (data);
  return data;
}

typedef struct
{
  char   *path;
  char   *data;
  gsize   length;
} SaveData;

static void
save_data_free (SaveData *data)
{
  g_free (data->path);
  g_free (data->data);
  g_free (data);
}

static void
save_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  SaveData *data = task_data;
  g_autofree char *dir = g_path_get_dirname (data->path);
  g_autoptr(GError) error = NULL;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_task_return_new_error (task, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                               _("Drover could not save the farm: the folder %s cannot be made (%s)."),
                               dir, g_strerror (saved_errno));
      return;
    }

  /* A new file beside the old one, then renamed over it: a crash leaves
   * the old farm or the new one, never half of one. */
  if (!g_file_set_contents_full (data->path, data->data, data->length,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, &error))
    {
      g_task_return_new_error (task, error->domain, error->code,
                               _("Drover could not save the farm: %s"), error->message);
      return;
    }

  g_task_return_boolean (task, TRUE);
}

/**
 * drover_inventory_save_async:
 * @path: where the farm is kept
 *
 * Writes drover_inventory_to_data() to @path off the main thread,
 * atomically, readable by its owner only.
 */
void
drover_inventory_save_async (DroverInventory     *self,
                             const char          *path,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  SaveData *data;

  g_return_if_fail (self != NULL);
  g_return_if_fail (path != NULL);

  data = g_new0 (SaveData, 1);
  data->path = g_strdup (path);
  data->data = drover_inventory_to_data (self, &data->length);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, drover_inventory_save_async);
  g_task_set_task_data (task, data, (GDestroyNotify)save_data_free);
  g_task_run_in_thread (task, save_thread);
}

gboolean
drover_inventory_save_finish (GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
drover_inventory_free (DroverInventory *self)
{
  if (self == NULL)
    return;

  g_clear_pointer (&self->brokers, g_ptr_array_unref);
  g_clear_pointer (&self->printers, g_ptr_array_unref);
  g_clear_pointer (&self->key_file, g_key_file_unref);
  g_free (self);
}
