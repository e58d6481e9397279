/* fuzz-inventory.c: the farm file (farm.conf) and the CSV import
 *
 * The input is read both ways, by the real entry points:
 *
 *  - as a farm file, drover_inventory_load_from_data() (what
 *    drover_inventory_load() does after reading the file). A farm that
 *    loads keeps what drover-inventory.c checks: brokers with a name that
 *    is a topic level and a group name, and a uri (or a cluster's, one a
 *    node) of a known scheme;
 *    printers with such an id, a known connector, the topic level their
 *    messages are named by, and a broker the farm has (or a uri of their
 *    own, or a serial port); no name or id twice. Saved with
 *    drover_inventory_to_data(), it holds no secret and loads again as the
 *    same farm;
 *  - as a CSV file imported into a fixed farm (that of test-inventory.c),
 *    drover_inventory_import_csv(): all or nothing. Refused, the farm is
 *    byte for byte what it was, and the error names the line in UTF-8;
 *    taken, it has that many more printers, each as above, and saved it
 *    loads again as the same farm.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "drover-inventory.h"

#include "fuzz-common.h"

static const char base_farm[] =
  "# The farm of the east hall\n"
  "[broker farm]\n"
  "uri=ssl://mqtt.farm.lan:8883\n"
  "username=drover\n"
  "ca-file=/etc/drover/farm-ca.pem\n"
  "keepalive-note=ask Sam before changing\n"
  "\n"
  "[farm]\n"
  "job-hosts=jobs.farm.lan;192.168.1.5\n"
  "\n"
  "# Klipper printers\n"
  "[printer p-0001]\n"
  "name=Voron 2.4 #1\n"
  "connector=moonraker\n"
  "broker=farm\n"
  "instance=voron-1\n"
  "shelf=3\n"
  "\n"
  "[printer x1c]\n"
  "name=X1 Carbon\n"
  "connector=bambu\n"
  "uri=ssl://192.168.1.20:8883\n"
  "serial=01S00A000000001\n"
  "access-code=12345678\n"
  "\n"
  "[printer octo]\n"
  "connector=octoprint\n"
  "broker=farm\n"
  "base-topic=octoPrint/prusa/\n"
  "http=http://127.0.0.1:5000\n"
  "api-key=0123456789ABCDEF0123456789ABCDEF\n";

static gboolean
is_topic_level (const char *text)
{
  return text != NULL && *text != '\0' && strpbrk (text, "+#/") == NULL && g_utf8_validate (text, -1, NULL);
}

static gboolean
is_name (const char *text)
{
  if (!is_topic_level (text) || strpbrk (text, "[]") != NULL)
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (g_ascii_iscntrl (*p))
      return FALSE;
  return !g_ascii_isspace (text[0]) && !g_ascii_isspace (text[strlen (text) - 1]);
}

static gboolean
is_broker_uri (const char *uri)
{
  static const char * const schemes[] = { "tcp://", "ssl://", "mqtt://", "mqtts://", "ws://", "wss://" };

  for (guint i = 0; uri != NULL && i < G_N_ELEMENTS (schemes); i++)
    if (g_str_has_prefix (uri, schemes[i]) && uri[strlen (schemes[i])] != '\0')
      return TRUE;
  return FALSE;
}

/* A value read from the file: absent, or text with no blank around it. */
static gboolean
is_value (const char *text)
{
  return text == NULL || (*text != '\0' && !g_ascii_isspace (text[0]) &&
                          !g_ascii_isspace (text[strlen (text) - 1]));
}

static void
check_farm (DroverInventory *inventory)
{
  GPtrArray *brokers = drover_inventory_get_brokers (inventory);
  GPtrArray *printers = drover_inventory_get_printers (inventory);
  g_auto(GStrv) hosts = drover_inventory_dup_job_hosts (inventory);

  for (guint i = 0; i < brokers->len; i++)
    {
      const DroverBrokerEntry *broker = g_ptr_array_index (brokers, i);

      g_auto(GStrv) nodes = drover_broker_entry_dup_nodes (broker);

      FUZZ_CHECK (is_name (broker->name));
      /* One address, or a cluster's, separated by commas. */
      FUZZ_CHECK (is_value (broker->uri) && nodes[0] != NULL);
      for (guint n = 0; nodes[n] != NULL; n++)
        FUZZ_CHECK (is_broker_uri (nodes[n]));
      FUZZ_CHECK (is_value (broker->client_id) && is_value (broker->username) && is_value (broker->ca_file) &&
                  is_value (broker->certificate_file) && is_value (broker->key_file));
      FUZZ_CHECK (drover_inventory_find_broker (inventory, broker->name) == broker);
    }

  for (guint i = 0; i < printers->len; i++)
    {
      const DroverPrinterEntry *printer = g_ptr_array_index (printers, i);

      FUZZ_CHECK (is_name (printer->id));
      FUZZ_CHECK ((int) printer->connector >= DROVER_CONNECTOR_NATIVE &&
                  printer->connector <= DROVER_CONNECTOR_SERIAL);
      FUZZ_CHECK (drover_connector_kind_to_key (printer->connector) != NULL);
      if (printer->connector == DROVER_CONNECTOR_NATIVE)
        FUZZ_CHECK (g_strcmp0 (printer->key, printer->id) == 0);
      else if (printer->connector != DROVER_CONNECTOR_SERIAL)
        FUZZ_CHECK (is_topic_level (printer->key));
      if (printer->broker != NULL)
        FUZZ_CHECK (drover_inventory_find_broker (inventory, printer->broker) != NULL);
      else
        FUZZ_CHECK (printer->uri != NULL || printer->connector == DROVER_CONNECTOR_SERIAL);
      FUZZ_CHECK (is_value (printer->name) && is_value (printer->uri) && is_value (printer->ca_file) &&
                  is_value (printer->http_url) && is_value (printer->username));
      FUZZ_CHECK (drover_inventory_find_printer (inventory, printer->id) == printer);
      g_free (drover_inventory_dup_printer_value (inventory, printer->id, "model-id"));
    }

  /* The [farm] group's hosts are read as the alerts read them. */
  FUZZ_CHECK (hosts == NULL || g_strv_length (hosts) < G_MAXUINT);
}

static void
check_same_broker (const DroverBrokerEntry *a,
                   const DroverBrokerEntry *b)
{
  FUZZ_CHECK (g_strcmp0 (a->name, b->name) == 0);
  FUZZ_CHECK (g_strcmp0 (a->uri, b->uri) == 0);
  FUZZ_CHECK (g_strcmp0 (a->client_id, b->client_id) == 0);
  FUZZ_CHECK (g_strcmp0 (a->username, b->username) == 0);
  FUZZ_CHECK (g_strcmp0 (a->ca_file, b->ca_file) == 0);
  FUZZ_CHECK (g_strcmp0 (a->certificate_file, b->certificate_file) == 0);
  FUZZ_CHECK (g_strcmp0 (a->key_file, b->key_file) == 0);
  FUZZ_CHECK (a->verify_host_name == b->verify_host_name);
}

/* The secrets are not saved: they go to the keyring. */
static void
check_same_printer (const DroverPrinterEntry *a,
                    const DroverPrinterEntry *b)
{
  FUZZ_CHECK (g_strcmp0 (a->id, b->id) == 0);
  FUZZ_CHECK (g_strcmp0 (a->name, b->name) == 0);
  FUZZ_CHECK (a->connector == b->connector);
  FUZZ_CHECK (g_strcmp0 (a->broker, b->broker) == 0);
  FUZZ_CHECK (g_strcmp0 (a->key, b->key) == 0);
  FUZZ_CHECK (g_strcmp0 (a->uri, b->uri) == 0);
  FUZZ_CHECK (g_strcmp0 (a->ca_file, b->ca_file) == 0);
  FUZZ_CHECK (g_strcmp0 (a->http_url, b->http_url) == 0);
  FUZZ_CHECK (g_strcmp0 (a->username, b->username) == 0);
  FUZZ_CHECK (b->access_code == NULL && b->api_key == NULL);
}

/* Saved and loaded again: the same farm, and no secret in the text. */
static void
check_saved (DroverInventory *inventory)
{
  gsize length = 0;
  g_autofree char *text = drover_inventory_to_data (inventory, &length);
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverInventory) again = NULL;
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_auto(GStrv) groups = NULL;
  GPtrArray *brokers = drover_inventory_get_brokers (inventory);
  GPtrArray *printers = drover_inventory_get_printers (inventory);

  FUZZ_CHECK (text != NULL && strlen (text) == length);
  again = drover_inventory_load_from_data (text, length, &error);
  if (again == NULL)
    fprintf (stderr, "saved farm does not load: %s\n", error->message);
  FUZZ_CHECK (again != NULL);

  FUZZ_CHECK (drover_inventory_get_brokers (again)->len == brokers->len);
  for (guint i = 0; i < brokers->len; i++)
    check_same_broker (g_ptr_array_index (brokers, i), g_ptr_array_index (drover_inventory_get_brokers (again), i));
  FUZZ_CHECK (drover_inventory_get_printers (again)->len == printers->len);
  for (guint i = 0; i < printers->len; i++)
    {
      const DroverPrinterEntry *printer = g_ptr_array_index (printers, i);

      check_same_printer (printer, drover_inventory_find_printer (again, printer->id));
    }

  FUZZ_CHECK (g_key_file_load_from_data (key_file, text, length, G_KEY_FILE_NONE, NULL));
  groups = g_key_file_get_groups (key_file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    FUZZ_CHECK (!g_key_file_has_key (key_file, groups[i], "access-code", NULL) &&
                !g_key_file_has_key (key_file, groups[i], "api-key", NULL) &&
                !g_key_file_has_key (key_file, groups[i], "password", NULL));
}

static void
fuzz_farm_file (const uint8_t *data,
                size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverInventory) inventory = drover_inventory_load_from_data ((const char *) data, size, &error);

  if (inventory == NULL)
    {
      FUZZ_CHECK (error != NULL && fuzz_is_text (error->message, 0));
      return;
    }
  FUZZ_CHECK (error == NULL);

  check_farm (inventory);
  check_saved (inventory);
}

static void
fuzz_csv (const uint8_t *data,
          size_t         size)
{
  g_autoptr(DroverInventory) inventory = drover_inventory_load_from_data (base_farm, strlen (base_farm), NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL;
  guint printers_before;
  guint added;

  FUZZ_CHECK (inventory != NULL);
  before = drover_inventory_to_data (inventory, NULL);
  printers_before = drover_inventory_get_printers (inventory)->len;

  added = drover_inventory_import_csv (inventory, (const char *) data, size, &error);
  if (added == 0)
    {
      g_autofree char *after = drover_inventory_to_data (inventory, NULL);

      /* All or nothing: the farm is as it was. */
      FUZZ_CHECK (g_str_equal (before, after));
      FUZZ_CHECK (drover_inventory_get_printers (inventory)->len == printers_before);
      if (error != NULL)
        FUZZ_CHECK (error->domain == DROVER_INVENTORY_ERROR && fuzz_is_text (error->message, 0));
      return;
    }

  FUZZ_CHECK (error == NULL);
  FUZZ_CHECK (drover_inventory_get_printers (inventory)->len == printers_before + added);
  check_farm (inventory);
  check_saved (inventory);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  /* A copy of exactly the input, so AddressSanitizer sees a read past it. */
  g_autofree guint8 *copy = size > 0 ? g_memdup2 (data, size) : g_malloc (1);

  fuzz_farm_file (copy, size);
  fuzz_csv (copy, size);
  return 0;
}
