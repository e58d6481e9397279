/* test-printer.c: DroverPrinter
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>

#include "drover-core.h"

typedef struct
{
  GHashTable *counts;
} NotifyLog;

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           NotifyLog  *log)
{
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (log->counts, pspec->name));

  g_hash_table_insert (log->counts, (gpointer)pspec->name, GUINT_TO_POINTER (count + 1));
}

static guint
notifications (NotifyLog  *log,
               const char *name)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (log->counts, name));
}

static void
test_printer_defaults (void)
{
  g_autoptr(DroverPrinter) printer = drover_printer_new ("farm/p-042", DROVER_CONNECTOR_MOONRAKER);

  g_assert_cmpstr (drover_printer_get_id (printer), ==, "farm/p-042");
  g_assert_cmpint (drover_printer_get_connector (printer), ==, DROVER_CONNECTOR_MOONRAKER);
  /* Unheard-of printers are offline, with nothing known about them. */
  g_assert_cmpint (drover_printer_get_state (printer), ==, DROVER_PRINTER_STATE_OFFLINE);
  g_assert_cmpint (drover_printer_get_time_left (printer), ==, -1);
  g_assert_null (drover_printer_get_current_file (printer));
  g_assert_null (drover_printer_get_last_seen (printer));
  /* Without a display name the operator sees the id. */
  g_assert_cmpstr (drover_printer_get_display_name (printer), ==, "farm/p-042");

  drover_printer_set_display_name (printer, "Voron #42");
  g_assert_cmpstr (drover_printer_get_display_name (printer), ==, "Voron #42");
  drover_printer_set_display_name (printer, "");
  g_assert_cmpstr (drover_printer_get_display_name (printer), ==, "farm/p-042");

  g_assert_finalize_object (g_steal_pointer (&printer));
}

static void
test_printer_notifies_only_on_change (void)
{
  g_autoptr(DroverPrinter) printer = drover_printer_new ("p1", DROVER_CONNECTOR_NATIVE);
  g_autoptr(GHashTable) counts = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GDateTime) seen = g_date_time_new_utc (2026, 11, 25, 10, 0, 0);
  g_autoptr(GDateTime) same_seen = g_date_time_new_utc (2026, 11, 25, 10, 0, 0);
  NotifyLog log = { counts };

  g_signal_connect (printer, "notify", G_CALLBACK (notify_cb), &log);

  drover_printer_set_state (printer, DROVER_PRINTER_STATE_PRINTING);
  drover_printer_set_state (printer, DROVER_PRINTER_STATE_PRINTING);
  g_assert_cmpuint (notifications (&log, "state"), ==, 1);

  drover_printer_set_hotend_temperature (printer, 215.5);
  drover_printer_set_hotend_temperature (printer, 215.5);
  drover_printer_set_hotend_target (printer, 215);
  drover_printer_set_bed_temperature (printer, 60);
  drover_printer_set_bed_target (printer, 60);
  drover_printer_set_bed_target (printer, 60);
  g_assert_cmpuint (notifications (&log, "hotend-temperature"), ==, 1);
  g_assert_cmpuint (notifications (&log, "hotend-target"), ==, 1);
  g_assert_cmpuint (notifications (&log, "bed-temperature"), ==, 1);
  g_assert_cmpuint (notifications (&log, "bed-target"), ==, 1);

  drover_printer_set_current_file (printer, "part.gcode");
  drover_printer_set_current_file (printer, "part.gcode");
  g_assert_cmpuint (notifications (&log, "current-file"), ==, 1);
  g_assert_cmpstr (drover_printer_get_current_file (printer), ==, "part.gcode");

  drover_printer_set_last_seen (printer, seen);
  drover_printer_set_last_seen (printer, same_seen);
  g_assert_cmpuint (notifications (&log, "last-seen"), ==, 1);
  g_assert_true (g_date_time_equal (drover_printer_get_last_seen (printer), seen));

  drover_printer_set_time_left (printer, 600);
  drover_printer_set_time_left (printer, 600);
  g_assert_cmpuint (notifications (&log, "time-left"), ==, 1);

  /* Through the generic property interface too. */
  g_object_set (printer, "state", DROVER_PRINTER_STATE_PRINTING, "display-name", "A", NULL);
  g_assert_cmpuint (notifications (&log, "state"), ==, 1);
  g_assert_cmpuint (notifications (&log, "display-name"), ==, 1);

  g_signal_handlers_disconnect_by_data (printer, &log);
  g_assert_finalize_object (g_steal_pointer (&printer));
}

static void
test_printer_rejects_bad_values (void)
{
  g_autoptr(DroverPrinter) printer = drover_printer_new ("p1", DROVER_CONNECTOR_SERIAL);

  drover_printer_set_hotend_temperature (printer, 200.0);
  /* A garbled sensor reading leaves the last good value. */
  drover_printer_set_hotend_temperature (printer, NAN);
  g_assert_cmpfloat (drover_printer_get_hotend_temperature (printer), ==, 200.0);

  /* Progress stays within 0..1, whatever a connector reports. */
  drover_printer_set_progress (printer, 1.7);
  g_assert_cmpfloat (drover_printer_get_progress (printer), ==, 1.0);
  drover_printer_set_progress (printer, -0.2);
  g_assert_cmpfloat (drover_printer_get_progress (printer), ==, 0.0);

  /* Any negative time left means "unknown". */
  drover_printer_set_time_left (printer, -57);
  g_assert_cmpint (drover_printer_get_time_left (printer), ==, -1);

  /* An empty file name is no file. */
  drover_printer_set_current_file (printer, "");
  g_assert_null (drover_printer_get_current_file (printer));
}

static void
test_printer_words (void)
{
  for (guint state = 0; state < DROVER_PRINTER_STATE_LAST; state++)
    {
      g_assert_nonnull (drover_printer_state_to_string (state));
      g_assert_true (g_str_has_suffix (drover_printer_state_get_icon_name (state), "-symbolic"));
    }

  for (guint kind = 0; kind < DROVER_CONNECTOR_LAST; kind++)
    g_assert_nonnull (drover_connector_kind_to_string (kind));

  g_assert_cmpstr (drover_printer_state_to_string (DROVER_PRINTER_STATE_PAUSED), ==, "Paused");

  /* The enum types exist for GObject properties and GSettings. */
  g_assert_true (G_TYPE_IS_ENUM (DROVER_TYPE_PRINTER_STATE));
  g_assert_true (G_TYPE_IS_ENUM (DROVER_TYPE_CONNECTOR_KIND));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/printer/defaults", test_printer_defaults);
  g_test_add_func ("/printer/notifies-only-on-change", test_printer_notifies_only_on_change);
  g_test_add_func ("/printer/rejects-bad-values", test_printer_rejects_bad_values);
  g_test_add_func ("/printer/words", test_printer_words);

  return g_test_run ();
}
