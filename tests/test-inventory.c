/* test-inventory.c: the farm file: reading, changing, saving, CSV import
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#include "drover-core.h"

static const char farm_text[] =
  "# The farm of the east hall\n"
  "[broker farm]\n"
  "uri=ssl://mqtt.farm.lan:8883\n"
  "username=drover\n"
  "ca-file=/etc/drover/farm-ca.pem\n"
  "keepalive-note=ask Sam before changing\n"
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

static DroverInventory *
load (const char *text)
{
  g_autoptr(GError) error = NULL;
  DroverInventory *inventory = drover_inventory_load_from_data (text, strlen (text), &error);

  g_assert_no_error (error);
  g_assert_nonnull (inventory);

  return inventory;
}

static void
assert_load_fails (const char *text,
                   const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverInventory) inventory = drover_inventory_load_from_data (text, strlen (text), &error);

  g_assert_null (inventory);
  g_assert_nonnull (error);
  if (strstr (error->message, expected) == NULL)
    g_error ("“%s” does not say “%s”", error->message, expected);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}

static void
test_inventory_load (void)
{
  g_autoptr(DroverInventory) inventory = load (farm_text);
  DroverBrokerEntry *broker;
  DroverPrinterEntry *printer;

  g_assert_cmpuint (drover_inventory_get_brokers (inventory)->len, ==, 1);
  g_assert_cmpuint (drover_inventory_get_printers (inventory)->len, ==, 3);

  broker = drover_inventory_find_broker (inventory, "farm");
  g_assert_nonnull (broker);
  g_assert_cmpstr (broker->uri, ==, "ssl://mqtt.farm.lan:8883");
  g_assert_cmpstr (broker->username, ==, "drover");
  g_assert_true (broker->verify_host_name);

  printer = drover_inventory_find_printer (inventory, "p-0001");
  g_assert_cmpint (printer->connector, ==, DROVER_CONNECTOR_MOONRAKER);
  g_assert_cmpstr (printer->key, ==, "voron-1");
  g_assert_cmpstr (printer->name, ==, "Voron 2.4 #1");

  printer = drover_inventory_find_printer (inventory, "octo");
  g_assert_cmpstr (printer->key, ==, "prusa");
  g_assert_cmpstr (printer->api_key, ==, "0123456789ABCDEF0123456789ABCDEF");

  printer = drover_inventory_find_printer (inventory, "x1c");
  g_assert_cmpstr (printer->key, ==, "01S00A000000001");
  g_assert_cmpstr (printer->access_code, ==, "12345678");
  g_assert_null (drover_inventory_find_printer (inventory, "nope"));
}

static void
test_inventory_load_errors (void)
{
  assert_load_fails ("[broker farm\nuri=tcp://a:1883\n", "");
  assert_load_fails ("[broker farm]\nusername=x\n", "Broker “farm” needs a uri");
  assert_load_fails ("[broker farm]\nuri=http://a\n", "Broker “farm” needs a uri");
  assert_load_fails ("[broker farm]\nuri=tcp://a:1883\nverify-host-name=maybe\n", "verify-host-name must be true or false");
  assert_load_fails ("[printer p-1]\nconnector=toaster\nbroker=x\n", "Printer “p-1” needs an id");
  assert_load_fails ("[printer p+1]\nconnector=native\nuri=tcp://a:1883\n", "Printer “p+1” needs an id");
  assert_load_fails ("[printer p-1]\nconnector=moonraker\nbroker=nowhere\n", "uses broker “nowhere”");
  assert_load_fails ("[printer p-1]\nconnector=native\n", "needs a broker");
  assert_load_fails ("[printer p-1]\nconnector=bambu\nuri=ssl://a:8883\n", "serial or device id is missing");
  assert_load_fails ("[printer p-1]\nconnector=octoprint\nuri=tcp://a:1883\nbase-topic=octo/x\n",
                     "serial or device id is missing");
  /* Found by fuzz-inventory: a group name need not be UTF-8; the message must be. */
  assert_load_fails ("[printer p-\xc6\xc6]\nconnector=native\nbroker=x\n", "needs an id");
  assert_load_fails ("[broker f\xff]\nuri=tcp://a:1883\nverify-host-name=maybe\n", "verify-host-name must be true or false");
  assert_load_fails ("[broker farm]\nuri=tcp://a:1883\nconne\xff]ctor=native\n", "Invalid key name");
  /* Found by fuzz-inventory: its one "/" began and ended "octoPrint/", and
   * the instance between them was -1 bytes long. */
  assert_load_fails ("[printer o-1]\nconnector=octoprint\nuri=tcp://a:1883\nbase-topic=octoPrint/\n",
                     "serial or device id is missing");
}

static void
test_inventory_edit (void)
{
  g_autoptr(DroverInventory) inventory = load (farm_text);
  g_autoptr(DroverBrokerEntry) broker = drover_broker_entry_new ("lab");
  g_autoptr(DroverPrinterEntry) printer = drover_printer_entry_new ("k-1", DROVER_CONNECTOR_MOONRAKER);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  /* A broker needs an address Paho understands. */
  g_assert_false (drover_inventory_set_broker (inventory, NULL, broker, &error));
  g_assert_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpuint (drover_inventory_get_brokers (inventory)->len, ==, 1);

  broker->uri = g_strdup ("tcp://10.0.0.2:1883");
  broker->verify_host_name = FALSE;
  g_assert_true (drover_inventory_set_broker (inventory, NULL, broker, &error));
  g_assert_no_error (error);

  /* No two brokers of one name; no name that breaks the file. */
  g_assert_false (drover_inventory_set_broker (inventory, NULL, broker, &error));
  g_assert_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_DUPLICATE);
  g_clear_error (&error);
  g_free (broker->name);
  broker->name = g_strdup ("hall [2]");
  g_assert_false (drover_inventory_set_broker (inventory, NULL, broker, &error));
  g_assert_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID);
  g_clear_error (&error);

  printer->broker = g_strdup ("lab");
  printer->key = g_strdup ("k-1");
  printer->name = g_strdup ("Klipper #1");
  g_assert_true (drover_inventory_set_printer (inventory, NULL, printer, &error));
  g_assert_no_error (error);
  g_assert_false (drover_inventory_set_printer (inventory, NULL, printer, &error));
  g_assert_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_DUPLICATE);
  g_clear_error (&error);

  /* A printer on a broker the farm does not have is refused, unchanged. */
  g_free (printer->broker);
  printer->broker = g_strdup ("elsewhere");
  g_assert_false (drover_inventory_set_printer (inventory, "k-1", printer, &error));
  g_assert_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_cmpstr (drover_inventory_find_printer (inventory, "k-1")->broker, ==, "lab");

  /* A broker in use stays; renamed, it takes its printers along. */
  g_assert_false (drover_inventory_remove_broker (inventory, "lab", &error));
  g_assert_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_IN_USE);
  g_assert_nonnull (strstr (error->message, "used by 1 printer"));
  g_clear_error (&error);

  g_free (broker->name);
  broker->name = g_strdup ("lab-2");
  g_assert_true (drover_inventory_set_broker (inventory, "lab", broker, &error));
  g_assert_no_error (error);
  g_assert_null (drover_inventory_find_broker (inventory, "lab"));
  g_assert_cmpstr (drover_inventory_find_printer (inventory, "k-1")->broker, ==, "lab-2");

  /* Renaming a printer keeps what Drover does not know of it. */
  {
    g_autoptr(DroverPrinterEntry) renamed = drover_printer_entry_copy (drover_inventory_find_printer (inventory, "p-0001"));

    g_free (renamed->id);
    renamed->id = g_strdup ("p-0100");
    g_assert_true (drover_inventory_set_printer (inventory, "p-0001", renamed, &error));
    g_assert_no_error (error);
  }

  g_assert_true (drover_inventory_remove_printer (inventory, "k-1", &error));
  g_assert_no_error (error);
  g_assert_false (drover_inventory_remove_printer (inventory, "k-1", &error));
  g_assert_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (drover_inventory_remove_broker (inventory, "lab-2", &error));
  g_assert_no_error (error);

  text = drover_inventory_to_data (inventory, NULL);
  g_assert_null (strstr (text, "lab"));
  g_assert_null (strstr (text, "[printer p-0001]"));
  g_assert_nonnull (strstr (text, "[printer p-0100]\nname=Voron 2.4 #1"));
  g_assert_nonnull (strstr (text, "shelf=3"));
  g_assert_nonnull (strstr (text, "# Klipper printers"));
}

static void
saved_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  GError **error = user_data;

  if (!drover_inventory_save_finish (result, error))
    g_assert_nonnull (*error);
  else
    *error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_EXISTS, "saved");
}

static void
save (DroverInventory *inventory,
      const char      *path)
{
  GError *error = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  drover_inventory_save_async (inventory, path, NULL, saved_cb, &error);
  while (error == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);

  g_assert_nonnull (error);
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    g_error ("saving: %s", error->message);
  g_error_free (error);
}

static void
test_inventory_round_trip (void)
{
  g_autoptr(DroverInventory) inventory = load (farm_text);
  g_autoptr(DroverInventory) again = NULL;
  g_autoptr(DroverPrinterEntry) printer = drover_printer_entry_new ("b-2", DROVER_CONNECTOR_BAMBU);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("drover-inventory-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "drover", "farm.conf", NULL);
  g_autofree char *text = NULL;
  g_autofree char *once = NULL;
  GStatBuf info;

  g_assert_no_error (error);

  /* Unchanged, the text comes back as it was read, less the secret. */
  once = drover_inventory_to_data (inventory, NULL);
  g_assert_nonnull (strstr (once, "# The farm of the east hall\n"));
  g_assert_nonnull (strstr (once, "# Klipper printers\n"));
  g_assert_nonnull (strstr (once, "keepalive-note=ask Sam before changing"));
  g_assert_nonnull (strstr (once, "base-topic=octoPrint/prusa/"));
  g_assert_null (strstr (once, "access-code"));
  g_assert_null (strstr (once, "12345678"));
  /* An OctoPrint API key is a secret too: read, used, never written. */
  g_assert_null (strstr (once, "api-key"));
  g_assert_null (strstr (once, "0123456789ABCDEF"));
  g_assert_nonnull (strstr (once, "http=http://127.0.0.1:5000"));

  /* Found by fuzz-inventory: a hand-edited file may hold a key twice, or a
   * group twice; GKeyFile keeps both and removed only the last. */
  {
    static const char twice[] =
      "[printer x1c]\nconnector=bambu\nuri=ssl://192.168.1.20:8883\nserial=01S00A000000001\n"
      "access-code=11111111\naccess-code=22222222\n"
      "[printer octo]\nconnector=octoprint\nuri=tcp://a:1883\napi-key=AAAA\n"
      "[printer octo]\napi-key=BBBB\napi-key[de]=CCCC\n";
    g_autoptr(DroverInventory) doubled = load (twice);
    g_autofree char *saved = drover_inventory_to_data (doubled, NULL);

    g_assert_null (strstr (saved, "access-code"));
    g_assert_null (strstr (saved, "api-key"));
    g_assert_nonnull (strstr (saved, "serial=01S00A000000001\n"));
  }

  /* A new printer with its access code: the code is not written. */
  printer->name = g_strdup ("P1S");
  printer->uri = g_strdup ("ssl://192.168.1.21:8883");
  printer->key = g_strdup ("01P00A000000002");
  printer->access_code = g_strdup ("87654321");
  g_assert_true (drover_inventory_set_printer (inventory, NULL, printer, &error));
  g_assert_no_error (error);

  /* Saved into a folder that does not exist yet, for its owner only. */
  save (inventory, path);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_null (strstr (text, "87654321"));
  g_assert_null (strstr (text, "12345678"));
  g_assert_nonnull (strstr (text, "[printer b-2]\nname=P1S\nconnector=bambu\nuri=ssl://192.168.1.21:8883\nserial=01P00A000000002\n"));
  g_assert_cmpint (g_stat (path, &info), ==, 0);
  g_assert_cmpint (info.st_mode & 0777, ==, 0600);

  again = drover_inventory_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drover_inventory_get_printers (again)->len, ==, 4);
  g_assert_cmpstr (drover_inventory_find_printer (again, "b-2")->key, ==, "01P00A000000002");
  g_assert_null (drover_inventory_find_printer (again, "b-2")->access_code);
  g_assert_cmpstr (drover_inventory_find_printer (again, "p-0001")->key, ==, "voron-1");
  g_assert_cmpstr (drover_inventory_find_broker (again, "farm")->ca_file, ==, "/etc/drover/farm-ca.pem");

  /* Saving what was read gives the same file. */
  {
    g_autofree char *second = drover_inventory_to_data (again, NULL);

    g_assert_cmpstr (second, ==, text);
  }

  /* A new farm, from nothing. */
  {
    g_autoptr(DroverInventory) fresh = drover_inventory_new ();
    g_autoptr(DroverBrokerEntry) broker = drover_broker_entry_new ("farm");
    g_autofree char *fresh_text = NULL;

    broker->uri = g_strdup ("tcp://127.0.0.1:1883");
    broker->verify_host_name = FALSE;
    g_assert_true (drover_inventory_set_broker (fresh, NULL, broker, &error));
    fresh_text = drover_inventory_to_data (fresh, NULL);
    g_assert_cmpstr (fresh_text, ==, "[broker farm]\nuri=tcp://127.0.0.1:1883\nverify-host-name=false\n");
  }

  g_unlink (path);
  {
    g_autofree char *parent = g_path_get_dirname (path);

    g_rmdir (parent);
  }
  g_rmdir (dir);
}

static void
test_inventory_save_error (void)
{
  g_autoptr(DroverInventory) inventory = load (farm_text);
  GError *error = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  /* A path under a file cannot be written; the error says so. */
  drover_inventory_save_async (inventory, "/dev/null/farm.conf", NULL, saved_cb, &error);
  while (error == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  g_assert_nonnull (error);
  g_assert_false (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS));
  g_assert_nonnull (strstr (error->message, "Drover could not save the farm"));
  g_error_free (error);
}

static void
assert_import_fails (const char *csv,
                     const char *expected)
{
  g_autoptr(DroverInventory) inventory = load (farm_text);
  g_autoptr(GError) error = NULL;
  g_autofree char *before = drover_inventory_to_data (inventory, NULL);
  g_autofree char *after = NULL;

  g_assert_cmpuint (drover_inventory_import_csv (inventory, csv, strlen (csv), &error), ==, 0);
  g_assert_nonnull (error);
  if (strstr (error->message, expected) == NULL)
    g_error ("“%s” does not say “%s”", error->message, expected);

  /* All or nothing: the farm is as it was. */
  after = drover_inventory_to_data (inventory, NULL);
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpuint (drover_inventory_get_printers (inventory)->len, ==, 3);
}

static void
test_inventory_csv (void)
{
  g_autoptr(DroverInventory) inventory = load (farm_text);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  DroverPrinterEntry *printer;
  static const char csv[] =
    "\xef\xbb\xbfid,name,connector,broker,instance,serial,http,uri\r\n"
    "k-1,\"Voron, the big one\",moonraker,farm,voron-big,,http://10.0.0.5,\r\n"
    "\r\n"
    "k-2,\"The \"\"Ender\"\"\",moonraker,farm,,,,\r\n"
    "b-1,\"Bambu\nwith a line break\",bambu,,,01S00A000000009,,ssl://10.0.0.9:8883\r\n"
    "n-1,  Native one  ,native,farm,,,,\n";

  g_assert_cmpuint (drover_inventory_import_csv (inventory, csv, strlen (csv), &error), ==, 4);
  g_assert_no_error (error);
  g_assert_cmpuint (drover_inventory_get_printers (inventory)->len, ==, 7);

  printer = drover_inventory_find_printer (inventory, "k-1");
  g_assert_cmpstr (printer->name, ==, "Voron, the big one");
  g_assert_cmpstr (printer->key, ==, "voron-big");
  g_assert_cmpstr (printer->http_url, ==, "http://10.0.0.5");
  g_assert_cmpstr (printer->broker, ==, "farm");
  printer = drover_inventory_find_printer (inventory, "k-2");
  g_assert_cmpstr (printer->name, ==, "The \"Ender\"");
  g_assert_cmpstr (printer->key, ==, "k-2");
  printer = drover_inventory_find_printer (inventory, "b-1");
  g_assert_cmpstr (printer->name, ==, "Bambu\nwith a line break");
  g_assert_cmpint (printer->connector, ==, DROVER_CONNECTOR_BAMBU);
  g_assert_cmpstr (printer->uri, ==, "ssl://10.0.0.9:8883");
  printer = drover_inventory_find_printer (inventory, "n-1");
  g_assert_cmpstr (printer->name, ==, "Native one");

  /* What was imported is saved and read back the same. */
  text = drover_inventory_to_data (inventory, NULL);
  {
    g_autoptr(DroverInventory) again = load (text);

    g_assert_cmpstr (drover_inventory_find_printer (again, "b-1")->name, ==, "Bambu\nwith a line break");
    g_assert_cmpstr (drover_inventory_find_printer (again, "k-2")->name, ==, "The \"Ender\"");
  }

  /* The same ids again: refused, line named. */
  g_assert_cmpuint (drover_inventory_import_csv (inventory, csv, strlen (csv), &error), ==, 0);
  g_assert_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_DUPLICATE);
  g_assert_cmpstr (error->message, ==, "Line 2: The farm already has a printer with the id “k-1”.");
}

static void
test_inventory_csv_errors (void)
{
  assert_import_fails ("", "The file is empty");
  assert_import_fails ("id;name;connector\np-1;x;native\n", "Line 1: Drover reads columns separated by commas");
  assert_import_fails ("id,name\np-1,x\n", "Line 1: the columns “id” and “connector” are needed.");
  assert_import_fails ("id,connector,colour\n", "Line 1: Drover does not know the column “colour”");
  assert_import_fails ("id,connector,id\n", "Line 1: the column “id” appears twice.");
  assert_import_fails ("id,connector,broker,access-code\np,bambu,,1\n", "Line 1: column “access-code” holds secrets");
  assert_import_fails ("id,connector,broker,http,api-key\np,octoprint,farm,http://127.0.0.1:5000,K\n",
                       "Line 1: column “api-key” holds secrets");
  assert_import_fails ("id,connector,broker\np-1,native,farm\np-2,native\n",
                       "Line 3 has 2 fields where the first line names 3 columns.");
  assert_import_fails ("id,connector,broker\np-1,native,farm\np-2,toaster,farm\n", "Line 3: Printer “p-2” needs");
  assert_import_fails ("id,connector,broker\np-1,native,farm\np-1,native,farm\n",
                       "Line 3: the id “p-1” is already on line 2.");
  assert_import_fails ("id,connector,broker\np-1,native,farm\np-0001,native,farm\n",
                       "Line 3: The farm already has a printer with the id “p-0001”.");
  assert_import_fails ("id,connector,broker\np/1,native,farm\n", "Line 2: the id “p/1” is empty or holds");
  assert_import_fails ("id,connector,broker\n,native,farm\n", "Line 2: the id “” is empty");
  assert_import_fails ("id,connector,broker\np-1,native,nowhere\n", "Line 2: Printer “p-1” uses broker “nowhere”");
  assert_import_fails ("id,connector,broker\np-1,moonraker,farm\n\"p-2,native,farm\n",
                       "Line 3: a quoted field is never closed.");
  assert_import_fails ("id,connector,broker\n\"p-1\"x,native,farm\n", "Line 2: there is text after a closing quote");
  assert_import_fails ("id,connector,name,broker\np-1,native,\"two\nlines\",farm\np-2,native,x,farm,extra\n",
                       "Line 4 has 5 fields");
  assert_import_fails ("id,connector,broker\np-1,native,farm\np-2,native,f\xff\n", "Line 3 is not UTF-8 text");
  assert_import_fails ("id,connector,broker\np-1,bambu,farm\n", "Line 2: Printer “p-1”: its instance, base topic, serial");
  assert_import_fails ("id,connector,broker,base-topic\np-1,octoprint,farm,octoPrint/\n",
                       "Line 2: Printer “p-1”: its instance, base topic, serial");
}

static void
test_inventory_csv_many (void)
{
  g_autoptr(DroverInventory) inventory = load (farm_text);
  g_autoptr(GString) csv = g_string_new ("id,name,connector,broker,instance\n");
  g_autoptr(GError) error = NULL;

  for (guint i = 1; i <= 200; i++)
    g_string_append_printf (csv, "k-%03u,Klipper %u,moonraker,farm,k%03u\n", i, i, i);

  g_assert_cmpuint (drover_inventory_import_csv (inventory, csv->str, csv->len, &error), ==, 200);
  g_assert_no_error (error);
  g_assert_cmpuint (drover_inventory_get_printers (inventory)->len, ==, 203);
  g_assert_cmpstr (drover_inventory_find_printer (inventory, "k-200")->key, ==, "k200");
}

/* A cluster: one broker, several nodes in its uri. */
static void
test_inventory_cluster_nodes (void)
{
  static const char cluster[] =
    "[broker cluster]\nuri=tcp://127.0.0.1:1883, tcp://127.0.0.2:1883 ,tcp://127.0.0.3:1883\n\n"
    "[printer p1]\nconnector=native\nbroker=cluster\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverInventory) inventory = drover_inventory_load_from_data (cluster, -1, &error);
  g_autoptr(DroverInventory) mixed = NULL;
  g_autoptr(DroverInventory) bad = NULL;
  g_auto(GStrv) nodes = NULL;
  DroverBrokerEntry *entry;

  g_assert_no_error (error);
  entry = drover_inventory_find_broker (inventory, "cluster");
  nodes = drover_broker_entry_dup_nodes (entry);
  g_assert_cmpuint (g_strv_length (nodes), ==, 3);
  g_assert_cmpstr (nodes[0], ==, "tcp://127.0.0.1:1883");
  g_assert_cmpstr (nodes[1], ==, "tcp://127.0.0.2:1883");
  g_assert_cmpstr (nodes[2], ==, "tcp://127.0.0.3:1883");

  /* TLS on some nodes only: a mistake, said as one. */
  mixed = drover_inventory_load_from_data ("[broker c]\nuri=ssl://127.0.0.1:8883, tcp://127.0.0.2:1883\n", -1, &error);
  g_assert_null (mixed);
  g_assert_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "all use TLS or all not"));
  g_clear_error (&error);

  /* A node that is not an address is named. */
  bad = drover_inventory_load_from_data ("[broker c]\nuri=tcp://127.0.0.1:1883, 127.0.0.2:1883\n", -1, &error);
  g_assert_null (bad);
  g_assert_error (error, DROVER_INVENTORY_ERROR, DROVER_INVENTORY_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "“127.0.0.2:1883”"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/inventory/load", test_inventory_load);
  g_test_add_func ("/inventory/load-errors", test_inventory_load_errors);
  g_test_add_func ("/inventory/edit", test_inventory_edit);
  g_test_add_func ("/inventory/round-trip", test_inventory_round_trip);
  g_test_add_func ("/inventory/cluster-nodes", test_inventory_cluster_nodes);
  g_test_add_func ("/inventory/save-error", test_inventory_save_error);
  g_test_add_func ("/inventory/csv", test_inventory_csv);
  g_test_add_func ("/inventory/csv-errors", test_inventory_csv_errors);
  g_test_add_func ("/inventory/csv-many", test_inventory_csv_many);

  return g_test_run ();
}
