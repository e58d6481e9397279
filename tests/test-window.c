/* test-window.c: the main window, in a real window on an X display
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "drover-application.h"
#include "drover-diagnostics-window.h"
#include "drover-test-broker.h"
#include "drover-test-ui.h"
#include "drover-printer-card.h"
#include "drover-test-display.h"
#include "drover-window.h"

#define WAIT_US (5 * G_USEC_PER_SEC)

static DroverApplication *app;

static gboolean
iterate_until (gboolean (*done) (gpointer data),
               gpointer   data)
{
  return drover_test_iterate_until (done, data, 5000);
}

static gboolean
has_toplevel_of_type (gpointer type)
{
  return drover_test_find_toplevel (GPOINTER_TO_SIZE (type)) != NULL;
}

static gboolean
widget_is_mapped (gpointer widget)
{
  return gtk_widget_get_mapped (widget);
}

static guint
count_cards (GtkWidget *widget)
{
  guint count = DROVER_IS_PRINTER_CARD (widget) && gtk_widget_get_mapped (widget) ? 1 : 0;

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    count += count_cards (child);

  return count;
}

static gboolean
window_shows_cards (gpointer window)
{
  return count_cards (window) > 0;
}

static DroverWindow *
open_window (void)
{
  DroverWindow *window = drover_window_new (app);

  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (iterate_until (widget_is_mapped, window));

  return window;
}

static void
close_window (DroverWindow *window)
{
  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_window_first_run (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APPLICATION_ID);
  DroverWindow *window;
  g_autofree char *text = NULL;

  g_settings_reset (settings, "demo-farm");
  window = open_window ();

  /* No farm configured: the welcome page, saying what Drover is and
   * offering the demo farm. */
  g_assert_cmpstr (drover_window_get_visible_page_name (window), ==, "welcome");
  text = drover_test_visible_text (GTK_WIDGET (window));
  g_assert_nonnull (strstr (text, "Welcome to Drover"));
  g_assert_nonnull (strstr (text, "raises an alarm when a file or a job appears that you never sent"));
  g_assert_nonnull (strstr (text, "_Open the Demo Farm"));

  close_window (window);
}

static gboolean
page_is_fleet (gpointer window)
{
  return g_strcmp0 (drover_window_get_visible_page_name (window), "fleet") == 0;
}

/* Every kind of printer in the demo has been heard from. */
static gboolean
every_connector_heard (gpointer data)
{
  DroverFleet *fleet = data;
  guint kinds = 0;
  guint heard = 0;

  for (guint i = 0; i < drover_fleet_get_n_printers (fleet); i++)
    {
      g_autoptr(DroverPrinter) printer = g_list_model_get_item (G_LIST_MODEL (fleet), i);
      guint bit = 1u << drover_printer_get_connector (printer);

      kinds |= bit;
      if (drover_printer_get_last_seen (printer) != NULL &&
          drover_printer_get_state (printer) != DROVER_PRINTER_STATE_OFFLINE)
        heard |= bit;
    }

  return kinds != 0 && heard == kinds;
}

static gboolean
bambu_beds_known (gpointer data)
{
  DroverFleet *fleet = data;

  for (guint i = 0; i < drover_fleet_get_n_printers (fleet); i++)
    {
      g_autoptr(DroverPrinter) printer = g_list_model_get_item (G_LIST_MODEL (fleet), i);

      if (drover_printer_get_connector (printer) == DROVER_CONNECTOR_BAMBU &&
          (drover_printer_get_bed_temperature (printer) < 5.0 || drover_printer_get_hotend_temperature (printer) < 5.0))
        return FALSE;
    }

  return TRUE;
}

static guint16 broker_port;

static void
find_widgets (GtkWidget  *widget,
              GPtrArray  *drop_downs,
              GtkWidget **search)
{
  /* Not inside a drop-down: its popover holds a search entry of its own. */
  if (GTK_IS_DROP_DOWN (widget))
    {
      g_ptr_array_add (drop_downs, widget);
      return;
    }
  if (GTK_IS_SEARCH_ENTRY (widget) && *search == NULL)
    *search = widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    find_widgets (child, drop_downs, search);
}

static GtkWidget *
find_grid (GtkWidget *widget)
{
  if (GTK_IS_GRID_VIEW (widget))
    return widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_grid (child);

      if (found != NULL)
        return found;
    }

  return NULL;
}

/* The page shows a topic once a message about the printer came in. */
static gboolean
page_shows_message (gpointer window)
{
  g_autofree char *text = drover_test_visible_text (window);

  return strstr (text, " at ") != NULL && strstr (text, "Nothing received yet") == NULL;
}

/* The search entry reports after a short delay: wait for it. */
static gboolean
shown_is_two (gpointer window)
{
  return drover_window_get_n_shown (window) == 2;
}

static gboolean
shown_is_none (gpointer window)
{
  return drover_window_get_n_shown (window) == 0;
}

static gboolean
shown_is_all (gpointer window)
{
  return drover_window_get_n_shown (window) == 12;
}

static gboolean
broker_port_closed (gpointer data)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;

  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", broker_port, NULL, NULL);

  return connection == NULL;
}

static void
test_window_demo_farm (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APPLICATION_ID);
  DroverFleet *fleet = drover_application_get_fleet (app);
  DroverWindow *window;
  g_autofree char *text = NULL;

  g_settings_reset (settings, "demo-farm");
  window = open_window ();

  /* A private broker and drover-sim start; Drover connects to both. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.open-demo", NULL));
  g_assert_cmpstr (drover_window_get_visible_page_name (window), ==, "starting");
  g_assert_true (drover_test_iterate_until (page_is_fleet, window, 40000));
  g_assert_cmpuint (drover_fleet_get_n_printers (fleet), ==, 12);
  g_assert_true (g_settings_get_boolean (settings, "demo-farm"));
  g_assert_true (iterate_until (window_shows_cards, window));

  /* Klipper, OctoPrint, Bambu Lab (over TLS, its own broker) and native
   * printers all report to their cards. */
  g_assert_true (drover_test_iterate_until (every_connector_heard, fleet, 40000));
  /* Bambu printers that send only deltas were asked for a full report
   * (pushall) when Drover connected: every field is there, not just the
   * ones that changed since. */
  g_assert_true (drover_test_iterate_until (bambu_beds_known, fleet, 40000));

  text = drover_test_visible_text (GTK_WIDGET (window));
  g_assert_nonnull (strstr (text, "Demo farm · 12 printers"));
  g_assert_nonnull (strstr (text, "Klipper"));
  g_assert_nonnull (strstr (text, "Bambu Lab"));
  /* Counts per state in the toolbar. */
  g_assert_true (g_regex_match_simple ("[0-9]+ idle", text, 0, 0));
  drover_test_save_screenshot (adw_application_window_get_content (ADW_APPLICATION_WINDOW (window)), "demo-farm");

  /* Filters and search narrow the grid; nothing left says so. */
  {
    g_autoptr(GPtrArray) drop_downs = g_ptr_array_new ();
    GtkWidget *search = NULL;

    find_widgets (GTK_WIDGET (window), drop_downs, &search);
    g_assert_cmpuint (drop_downs->len, ==, 3);
    g_assert_nonnull (search);

    /* Kind: Bambu Lab (the demo has two). */
    gtk_drop_down_set_selected (drop_downs->pdata[1], 4);
    g_assert_cmpuint (drover_window_get_n_shown (window), ==, 2);
    gtk_drop_down_set_selected (drop_downs->pdata[1], 0);
    g_assert_cmpuint (drover_window_get_n_shown (window), ==, 12);

    /* Search is by name, id or file, whatever the case. */
    gtk_editable_set_text (GTK_EDITABLE (search), "VORON");
    g_assert_true (iterate_until (shown_is_two, window));
    gtk_editable_set_text (GTK_EDITABLE (search), "no such printer");
    g_assert_true (iterate_until (shown_is_none, window));
    g_free (text);
    text = drover_test_visible_text (GTK_WIDGET (window));
    g_assert_nonnull (strstr (text, "No Printers Match"));
    gtk_editable_set_text (GTK_EDITABLE (search), "");
    g_assert_true (iterate_until (shown_is_all, window));
  }

  /* A card opens the printer's page: live values, connection, its last
   * message as it arrived; Back returns to the farm. */
  {
    GtkWidget *grid = find_grid (GTK_WIDGET (window));
    g_autofree char *page_text = NULL;

    g_assert_nonnull (grid);
    g_signal_emit_by_name (grid, "activate", 0);
    g_assert_cmpstr (drover_window_get_visible_page_name (window), ==, "printer");
    g_assert_true (iterate_until (page_shows_message, window));
    page_text = drover_test_visible_text (GTK_WIDGET (window));
    drover_test_save_screenshot (adw_application_window_get_content (ADW_APPLICATION_WINDOW (window)), "printer-page");
    g_assert_nonnull (strstr (page_text, "Known on the Broker As"));
    g_assert_nonnull (strstr (page_text, "tcp://127.0.0.1:"));
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.back", NULL));
    g_assert_cmpstr (drover_window_get_visible_page_name (window), ==, "fleet");
  }

  /* Diagnostics: each connection in words, and the message counts. */
  {
    GtkWidget *diagnostics = NULL;
    g_autofree char *diagnostics_text = NULL;

    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.diagnostics", NULL));
    g_assert_true (iterate_until (has_toplevel_of_type, GSIZE_TO_POINTER (DROVER_TYPE_DIAGNOSTICS_WINDOW)));
    diagnostics = drover_test_find_toplevel (DROVER_TYPE_DIAGNOSTICS_WINDOW);
    diagnostics_text = drover_test_visible_text (diagnostics);
    g_assert_nonnull (strstr (diagnostics_text, "Connected (MQTT 5)"));
    g_assert_nonnull (strstr (diagnostics_text, "Malformed"));
    gtk_window_destroy (GTK_WINDOW (diagnostics));
  }
  close_window (window);

  /* The choice is remembered: the next window opens on the demo farm. */
  window = open_window ();
  g_assert_cmpstr (drover_window_get_visible_page_name (window), ==, "fleet");

  /* Closing the demo stops it, empties the fleet, and brings the welcome back. */
  {
    const char *uri = drover_demo_farm_get_broker_uri (drover_application_get_demo (app));

    broker_port = (guint16)g_ascii_strtoull (strrchr (uri, ':') + 1, NULL, 10);
  }
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.close-demo", NULL));
  g_assert_cmpstr (drover_window_get_visible_page_name (window), ==, "welcome");
  g_assert_cmpuint (drover_fleet_get_n_printers (fleet), ==, 0);
  g_assert_false (drover_application_get_demo_running (app));
  g_assert_false (g_settings_get_boolean (settings, "demo-farm"));
  close_window (window);

  /* The demo's broker is gone too: nothing left running. */
  g_assert_true (iterate_until (broker_port_closed, NULL));
}

static gboolean
card_shows_printing (gpointer card)
{
  g_autofree char *text = drover_test_visible_text (card);

  return strstr (text, "benchy.gcode") != NULL;
}

static void
test_window_card_follows_printer (void)
{
  g_autoptr(DroverPrinter) printer = drover_printer_new ("farm/p-001", DROVER_CONNECTOR_OCTOPRINT);
  GtkWidget *window = gtk_window_new ();
  GtkWidget *card = drover_printer_card_new ();
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  drover_printer_set_display_name (printer, "Prusa #1");
  drover_printer_set_state (printer, DROVER_PRINTER_STATE_IDLE);
  drover_printer_card_set_printer (DROVER_PRINTER_CARD (card), printer);
  gtk_window_set_child (GTK_WINDOW (window), card);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (iterate_until (widget_is_mapped, card));

  before = drover_test_visible_text (card);
  g_assert_nonnull (strstr (before, "Prusa #1"));
  g_assert_nonnull (strstr (before, "Idle"));
  g_assert_nonnull (strstr (before, "OctoPrint"));
  g_assert_null (strstr (before, "min left"));

  /* A change of the model shows without anyone telling the card. */
  g_object_set (printer,
                "state", DROVER_PRINTER_STATE_PRINTING,
                "current-file", "benchy.gcode",
                "progress", 0.25,
                "time-left", (gint64)1800,
                "hotend-temperature", 214.6,
                "hotend-target", 215.0,
                NULL);
  /* Cards catch up once a frame, not once a property. */
  g_assert_true (iterate_until (card_shows_printing, card));
  after = drover_test_visible_text (card);
  g_assert_nonnull (strstr (after, "Printing"));
  g_assert_nonnull (strstr (after, "benchy.gcode"));
  g_assert_nonnull (strstr (after, "25 % · 30 min left"));
  g_assert_nonnull (strstr (after, "215 / 215 °C"));
  g_assert_null (strstr (after, "Idle"));

  gtk_window_destroy (GTK_WINDOW (window));
}

static gboolean
page_is_failed (gpointer window)
{
  return g_strcmp0 (drover_window_get_visible_page_name (window), "failed") == 0;
}

static gboolean
first_printer_heard (gpointer data)
{
  DroverFleet *fleet = data;
  DroverPrinter *printer = drover_fleet_find_printer (fleet, "p-0001");

  return printer != NULL && drover_printer_get_last_seen (printer) != NULL &&
         drover_printer_get_state (printer) != DROVER_PRINTER_STATE_OFFLINE;
}

static gboolean
fleet_shows_renamed (gpointer data)
{
  DroverPrinter *printer = drover_fleet_find_printer (data, "p-0001");

  return printer != NULL && g_str_has_prefix (drover_printer_get_display_name (printer), "Renamed ");
}

static void
test_window_configured_farm (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) broker = drover_test_broker_start (NULL, &error);
  g_autofree char *uri = NULL;
  g_autofree char *path = drover_application_dup_farm_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GSubprocess) sim = NULL;
  g_autofree char *text = NULL;
  DroverWindow *window;

  g_assert_no_error (error);
  uri = drover_test_broker_dup_uri (broker);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);

  /* The operator's farm: here, one native printer that drover-sim plays
   * and describes in the inventory file where Drover looks for it. */
  sim = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDIN_PIPE, &error,
                          g_getenv ("DROVER_SIM_BIN"), "--broker", uri, "--printers", "1", "--mix", "native=1",
                          "--http-port", "-1", "--inventory", path, "--control", NULL);
  g_assert_no_error (error);
  for (guint i = 0; i < 500 && !g_file_test (path, G_FILE_TEST_EXISTS); i++)
    g_usleep (10 * 1000);
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));

  window = open_window ();
  g_assert_true (drover_test_iterate_until (page_is_fleet, window, 40000));
  g_assert_true (drover_test_iterate_until (first_printer_heard, drover_application_get_fleet (app), 40000));

  /* Not the demo: no demo bar, and the subtitle counts the farm's printers. */
  text = drover_test_visible_text (GTK_WIDGET (window));
  g_assert_nonnull (strstr (text, "1 printer"));
  g_assert_null (strstr (text, "Demo farm"));
  g_assert_null (strstr (text, "This is the demo farm"));

  /* The farm file changes (Preferences saved it): the window shows the
   * farm as it now is. */
  {
    g_autofree char *contents = NULL;
    g_autoptr(GString) renamed = NULL;

    g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
    renamed = g_string_new (contents);
    g_string_replace (renamed, "name=", "name=Renamed ", 1);
    g_assert_true (g_file_set_contents (path, renamed->str, -1, NULL));
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.reload-farm", NULL));
    g_assert_true (drover_test_iterate_until (page_is_fleet, window, 40000));
    g_assert_true (iterate_until (fleet_shows_renamed, drover_application_get_fleet (app)));
    g_assert_cmpuint (drover_fleet_get_n_printers (drover_application_get_fleet (app)), ==, 1);
  }
  close_window (window);

  drover_application_stop_demo (app);
  g_subprocess_force_exit (sim);
  g_subprocess_wait (sim, NULL, NULL);
  g_unlink (path);
}

static void
test_window_broken_farm (void)
{
  g_autofree char *path = drover_application_dup_farm_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *text = NULL;
  DroverWindow *window;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, "[printer p-1]\nconnector=moonraker\nbroker=nowhere\n", -1, NULL));

  /* A farm file Drover cannot use says what is wrong and where. */
  window = open_window ();
  g_assert_true (drover_test_iterate_until (page_is_failed, window, 40000));
  text = drover_test_visible_text (GTK_WIDGET (window));
  g_assert_nonnull (strstr (text, "The Farm Could Not Be Opened"));
  g_assert_nonnull (strstr (text, path));
  g_assert_nonnull (strstr (text, "broker “nowhere”"));
  g_assert_cmpuint (drover_fleet_get_n_printers (drover_application_get_fleet (app)), ==, 0);
  close_window (window);
  g_unlink (path);
}

static void
test_window_about_and_shortcuts (void)
{
  DroverWindow *window = open_window ();

  g_action_group_activate_action (G_ACTION_GROUP (app), "about", NULL);
  g_assert_true (iterate_until (has_toplevel_of_type, GSIZE_TO_POINTER (ADW_TYPE_ABOUT_WINDOW)));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-help-overlay", NULL));
  g_assert_true (iterate_until (has_toplevel_of_type, GSIZE_TO_POINTER (GTK_TYPE_SHORTCUTS_WINDOW)));

  close_window (window);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  if (!drover_test_display_ensure (&error))
    g_error ("No display for the UI tests: %s", error->message);

  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);

  g_free (drover_test_isolate_user_dirs ("window"));
  gtk_test_init (&argc, &argv, NULL);
  g_assert_true (drover_core_init (NULL));

  app = drover_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  g_test_add_func ("/window/first-run", test_window_first_run);
  g_test_add_func ("/window/demo-farm", test_window_demo_farm);
  g_test_add_func ("/window/card-follows-printer", test_window_card_follows_printer);
  g_test_add_func ("/window/about-and-shortcuts", test_window_about_and_shortcuts);
  g_test_add_func ("/window/configured-farm", test_window_configured_farm);
  g_test_add_func ("/window/broken-farm", test_window_broken_farm);

  status = g_test_run ();

  g_clear_object (&app);
  drover_test_display_stop ();

  return status;
}
