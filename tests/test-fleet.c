/* test-fleet.c: DroverFleet
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "drover-core.h"

typedef struct
{
  guint position;
  guint removed;
  guint added;
  guint emissions;
} ItemsChanged;

static void
items_changed_cb (GListModel   *model,
                  guint         position,
                  guint         removed,
                  guint         added,
                  ItemsChanged *last)
{
  last->position = position;
  last->removed = removed;
  last->added = added;
  last->emissions++;
}

static void
count_cb (GObject    *object,
          GParamSpec *pspec,
          guint      *count)
{
  (*count)++;
}

static DroverPrinter *
make_printer (const char         *id,
              DroverPrinterState  state)
{
  DroverPrinter *printer = drover_printer_new (id, DROVER_CONNECTOR_NATIVE);

  drover_printer_set_state (printer, state);

  return printer;
}

static void
test_fleet_add_find_remove (void)
{
  g_autoptr(DroverFleet) fleet = drover_fleet_new ();
  g_autoptr(DroverPrinter) a = make_printer ("a", DROVER_PRINTER_STATE_IDLE);
  g_autoptr(DroverPrinter) b = make_printer ("b", DROVER_PRINTER_STATE_PRINTING);
  g_autoptr(DroverPrinter) c = make_printer ("c", DROVER_PRINTER_STATE_PRINTING);
  g_autoptr(DroverPrinter) b_again = make_printer ("b", DROVER_PRINTER_STATE_ERROR);
  g_autoptr(DroverPrinter) item = NULL;
  ItemsChanged last = { 0 };

  g_signal_connect (fleet, "items-changed", G_CALLBACK (items_changed_cb), &last);

  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (fleet)) == DROVER_TYPE_PRINTER);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (fleet)), ==, 0);

  g_assert_true (drover_fleet_add_printer (fleet, a));
  g_assert_true (drover_fleet_add_printer (fleet, b));
  g_assert_true (drover_fleet_add_printer (fleet, c));
  g_assert_cmpuint (last.emissions, ==, 3);
  g_assert_cmpuint (last.position, ==, 2);
  g_assert_cmpuint (last.added, ==, 1);

  /* An id is one printer: a second "b" is refused and the first kept. */
  g_assert_false (drover_fleet_add_printer (fleet, b_again));
  g_assert_cmpuint (last.emissions, ==, 3);
  g_assert_true (drover_fleet_find_printer (fleet, "b") == b);

  g_assert_cmpuint (drover_fleet_get_n_printers (fleet), ==, 3);
  g_assert_cmpuint (drover_fleet_count_in_state (fleet, DROVER_PRINTER_STATE_PRINTING), ==, 2);
  g_assert_cmpuint (drover_fleet_count_in_state (fleet, DROVER_PRINTER_STATE_ERROR), ==, 0);
  g_assert_null (drover_fleet_find_printer (fleet, "zzz"));
  g_assert_null (drover_fleet_find_printer (fleet, NULL));

  item = g_list_model_get_item (G_LIST_MODEL (fleet), 1);
  g_assert_true (item == b);
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (fleet), 3));

  /* Removing from the middle says where, and the rest moves up. */
  g_assert_true (drover_fleet_remove_printer (fleet, "b"));
  g_assert_cmpuint (drover_fleet_count_in_state (fleet, DROVER_PRINTER_STATE_PRINTING), ==, 1);
  /* A printer out of the fleet no longer moves its counts. */
  drover_printer_set_state (b, DROVER_PRINTER_STATE_IDLE);
  g_assert_cmpuint (drover_fleet_count_in_state (fleet, DROVER_PRINTER_STATE_IDLE), ==, 1);
  g_assert_cmpuint (last.position, ==, 1);
  g_assert_cmpuint (last.removed, ==, 1);
  g_assert_cmpuint (last.added, ==, 0);
  g_assert_null (drover_fleet_find_printer (fleet, "b"));
  g_assert_false (drover_fleet_remove_printer (fleet, "b"));
  g_clear_object (&item);
  item = g_list_model_get_item (G_LIST_MODEL (fleet), 1);
  g_assert_true (item == c);

  /* Now the id is free again. */
  g_assert_true (drover_fleet_add_printer (fleet, b_again));
  g_assert_true (drover_fleet_find_printer (fleet, "b") == b_again);

  g_signal_handlers_disconnect_by_data (fleet, &last);
  g_clear_object (&item);
  g_assert_finalize_object (g_steal_pointer (&fleet));
}

static void
test_fleet_bulk (void)
{
  g_autoptr(DroverFleet) fleet = drover_fleet_new ();
  g_autoptr(GPtrArray) printers = g_ptr_array_new_with_free_func (g_object_unref);
  ItemsChanged last = { 0 };
  guint notified = 0;

  for (guint i = 0; i < 10000; i++)
    {
      g_autofree char *id = g_strdup_printf ("farm/p-%05u", i);

      g_ptr_array_add (printers, make_printer (id, i % DROVER_PRINTER_STATE_LAST));
    }
  /* A duplicate inside one batch is skipped like any other. */
  g_ptr_array_add (printers, make_printer ("farm/p-00007", DROVER_PRINTER_STATE_IDLE));

  g_signal_connect (fleet, "items-changed", G_CALLBACK (items_changed_cb), &last);
  g_signal_connect (fleet, "notify::n-printers", G_CALLBACK (count_cb), &notified);

  g_assert_cmpuint (drover_fleet_add_printers (fleet, (DroverPrinter **)printers->pdata, printers->len), ==, 10000);

  /* One change for the whole batch: a view of 10,000 printers rebuilds once. */
  g_assert_cmpuint (last.emissions, ==, 1);
  g_assert_cmpuint (last.position, ==, 0);
  g_assert_cmpuint (last.added, ==, 10000);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_cmpuint (drover_fleet_count_in_state (fleet, DROVER_PRINTER_STATE_PAUSED), ==, 2000);
  g_assert_true (drover_fleet_find_printer (fleet, "farm/p-09999") == printers->pdata[9999]);
  g_assert_true (drover_fleet_find_printer (fleet, "farm/p-00007") == printers->pdata[7]);

  /* Counts follow the printers as they change, and cost nothing to read. */
  drover_printer_set_state (printers->pdata[3], DROVER_PRINTER_STATE_ERROR);
  drover_printer_set_state (printers->pdata[4], DROVER_PRINTER_STATE_ERROR);
  g_assert_cmpuint (drover_fleet_count_in_state (fleet, DROVER_PRINTER_STATE_PAUSED), ==, 1999);
  g_assert_cmpuint (drover_fleet_count_in_state (fleet, DROVER_PRINTER_STATE_ERROR), ==, 2001);
  /* The duplicate that was refused is not counted, and not followed. */
  drover_printer_set_state (printers->pdata[10000], DROVER_PRINTER_STATE_OFFLINE);
  g_assert_cmpuint (drover_fleet_count_in_state (fleet, DROVER_PRINTER_STATE_OFFLINE), ==, 2000);

  drover_fleet_remove_all (fleet);
  g_assert_cmpuint (drover_fleet_count_in_state (fleet, DROVER_PRINTER_STATE_ERROR), ==, 0);
  g_assert_cmpuint (last.emissions, ==, 2);
  g_assert_cmpuint (last.removed, ==, 10000);
  g_assert_cmpuint (drover_fleet_get_n_printers (fleet), ==, 0);
  g_assert_null (drover_fleet_find_printer (fleet, "farm/p-00001"));

  /* Emptying an empty fleet changes nothing. */
  drover_fleet_remove_all (fleet);
  g_assert_cmpuint (last.emissions, ==, 2);

  g_signal_handlers_disconnect_by_data (fleet, &last);
  g_signal_handlers_disconnect_by_data (fleet, &notified);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/fleet/add-find-remove", test_fleet_add_find_remove);
  g_test_add_func ("/fleet/bulk", test_fleet_bulk);

  return g_test_run ();
}
