/* test-window.c: the main window, in a real window on an X display
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/resource.h>
#include <string.h>

#include "drover-alerts-page.h"
#include "drover-application.h"
#include "drover-diagnostics-window.h"
#include "drover-preferences-window.h"
#include "drover-test-broker.h"
#include "drover-test-ui.h"
#include "drover-printer-card.h"
#include "drover-printer-page.h"
#include "drover-send-job-window.h"
#include "drover-test-display.h"
#include "drover-window.h"

#define WAIT_US (5 * G_USEC_PER_SEC)

typedef gboolean (*WidgetMatch) (GtkWidget *widget, gconstpointer data);
static GtkWidget *find_descendant (GtkWidget *widget, WidgetMatch match, gconstpointer data);
static gboolean is_of_type (GtkWidget *widget, gconstpointer data);

typedef struct
{
  DroverPrinter      *printer;
  DroverPrinterState  state;
} StateWait;

static gboolean
printer_in_state (gpointer data)
{
  StateWait *wait = data;

  return drover_printer_get_state (wait->printer) == wait->state;
}

/* The first card of the overview, sorted by name. */
static DroverPrinter *
first_by_name (DroverFleet *fleet)
{
  DroverPrinter *first = NULL;

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (fleet)); i++)
    {
      g_autoptr(DroverPrinter) printer = g_list_model_get_item (G_LIST_MODEL (fleet), i);

      if (first == NULL || g_utf8_collate (drover_printer_get_display_name (printer),
                                           drover_printer_get_display_name (first)) < 0)
        first = printer;   /* the fleet keeps it */
    }

  return first;
}

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

    /* Pause and resume from the page, when the printer is printing. */
    {
      GtkWidget *page = find_descendant (GTK_WIDGET (window), is_of_type, GSIZE_TO_POINTER (DROVER_TYPE_PRINTER_PAGE));
      DroverPrinter *shown = first_by_name (fleet);
      StateWait paused = { shown, DROVER_PRINTER_STATE_PAUSED };
      StateWait printing = { shown, DROVER_PRINTER_STATE_PRINTING };

      if (drover_printer_get_state (shown) == DROVER_PRINTER_STATE_PRINTING)
        {
          g_assert_true (gtk_widget_activate_action (page, "printer.pause", NULL));
          g_assert_true (iterate_until (printer_in_state, &paused));
          g_free (page_text);
          page_text = drover_test_visible_text (GTK_WIDGET (window));
          g_assert_nonnull (strstr (page_text, "Asked the printer to pause."));
          g_assert_true (gtk_widget_activate_action (page, "printer.resume", NULL));
          g_assert_true (iterate_until (printer_in_state, &printing));
        }
      else
        g_test_message ("%s is not printing now: pause and resume not tried", drover_printer_get_display_name (shown));
    }

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

/* Alerts */

#define PLANTED_FILE "hacked_machine_readme.gcode"

typedef gboolean (*WidgetMatch) (GtkWidget     *widget,
                                 gconstpointer  data);

static GtkWidget *
find_descendant (GtkWidget     *widget,
                 WidgetMatch    match,
                 gconstpointer  data)
{
  if (match (widget, data))
    return widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_descendant (child, match, data);

      if (found != NULL)
        return found;
    }

  return NULL;
}

static gboolean
widget_has_size (gpointer widget)
{
  return gtk_widget_get_mapped (widget) && gtk_widget_get_width (widget) > 0 && gtk_widget_get_height (widget) > 0;
}

/* The window's pages cross-fade: a screenshot waits for the fade to end. */
static gboolean
page_settled (gpointer page)
{
  GtkWidget *stack = gtk_widget_get_parent (page);

  return gtk_widget_get_mapped (page) && !gtk_stack_get_transition_running (GTK_STACK (stack));
}

static gboolean
is_of_type (GtkWidget     *widget,
            gconstpointer  type)
{
  return G_TYPE_CHECK_INSTANCE_TYPE (widget, GPOINTER_TO_SIZE (type));
}

static gboolean
is_alerts_button (GtkWidget     *widget,
                  gconstpointer  data)
{
  return GTK_IS_BUTTON (widget) &&
         g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (widget)), "win.show-alerts") == 0;
}

static gboolean
is_visible_button_labelled (GtkWidget     *widget,
                            gconstpointer  label)
{
  return GTK_IS_BUTTON (widget) && gtk_widget_get_visible (widget) &&
         g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), label) == 0;
}

static gboolean
is_row_titled (GtkWidget     *widget,
               gconstpointer  title)
{
  return ADW_IS_ACTION_ROW (widget) && g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)), title) == 0;
}

typedef struct
{
  DroverWindow *window;
  GtkWidget    *alerts_button;
  GtkWidget    *alerts_page;
  GtkWidget    *printer_page;
  GtkWidget    *row;            /* the planted file's alert, once shown */
  DroverAlert  *alert;          /* and the alert itself */
} AlertsFixture;

/* The rows of the alerts list about the planted file turning up. A victim
 * that then prints it raises an alert of its own, about the print. */
static guint
count_planted_rows (AlertsFixture *fixture,
                    GtkWidget    **last)
{
  GtkWidget *list = find_descendant (fixture->alerts_page, is_of_type, GSIZE_TO_POINTER (GTK_TYPE_LIST_BOX));
  guint count = 0;

  for (GtkWidget *row = gtk_widget_get_first_child (list); row != NULL; row = gtk_widget_get_next_sibling (row))
    {
      g_autofree char *text = GTK_IS_LIST_BOX_ROW (row) ? drover_test_visible_text (row) : NULL;

      if (text != NULL && strstr (text, "Unexpected file “" PLANTED_FILE "”") != NULL)
        {
          count++;
          *last = row;
        }
    }

  return count;
}

/* The button counts one open alert that needs attention (the demo's
 * printers also start jobs on their own: notices, not counted), and one
 * row shows the planted file on five printers: one incident, not five
 * alerts. */
static gboolean
incident_shown (gpointer data)
{
  AlertsFixture *fixture = data;
  g_autofree char *count = drover_test_visible_text (fixture->alerts_button);
  g_autofree char *text = NULL;
  GtkWidget *row = NULL;

  if (g_strcmp0 (count, "1\n") != 0 || count_planted_rows (fixture, &row) != 1)
    return FALSE;

  text = drover_test_visible_text (row);
  if (strstr (text, "Unexpected file “" PLANTED_FILE "” on 5 printers") == NULL)
    return FALSE;

  fixture->row = row;
  for (guint i = 0; i < g_list_model_get_n_items (drover_audit_get_alerts (drover_application_get_audit (app))); i++)
    {
      g_autoptr(DroverAlert) alert = g_list_model_get_item (drover_audit_get_alerts (drover_application_get_audit (app)), i);

      if (strstr (drover_alert_get_title (alert), "Unexpected file") != NULL)
        g_set_object (&fixture->alert, alert);
    }

  return fixture->alert != NULL;
}

static gboolean
incident_acknowledged (gpointer data)
{
  AlertsFixture *fixture = data;
  g_autofree char *count = drover_test_visible_text (fixture->alerts_button);
  g_autofree char *text = drover_test_visible_text (fixture->row);

  return g_strcmp0 (count, "") == 0 && strstr (text, "Acknowledged by ") != NULL;
}

static gboolean
audit_ready (gpointer data)
{
  DroverAudit *audit = drover_application_get_audit (app);

  return audit != NULL && drover_audit_get_ready (audit);
}

/* Drover has listed the files of every printer whose files it can list
 * (not Bambu Lab's, which keep them behind FTPS): what turns up next is
 * news, not the baseline. */
static gboolean
files_baselined (gpointer data)
{
  DroverFleet *fleet = drover_application_get_fleet (app);
  DroverAudit *audit = drover_application_get_audit (app);

  for (guint i = 0; i < drover_fleet_get_n_printers (fleet); i++)
    {
      g_autoptr(DroverPrinter) printer = g_list_model_get_item (G_LIST_MODEL (fleet), i);

      if (drover_printer_get_connector (printer) != DROVER_CONNECTOR_BAMBU &&
          g_list_model_get_n_items (drover_audit_get_files (audit, drover_printer_get_id (printer))) == 0)
        return FALSE;
    }

  return TRUE;
}

static gboolean
planted_file_listed (gpointer data)
{
  AlertsFixture *fixture = data;
  GtkWidget *row = find_descendant (fixture->printer_page, is_row_titled, PLANTED_FILE);
  g_autofree char *text = row != NULL ? drover_test_visible_text (row) : NULL;

  return text != NULL && strstr (text, "Unexpected") != NULL &&
         strstr (text, "Drover did not send it and no operator approved it") != NULL;
}

/* Looks the planted file up on each of the alert's printers. */
static gboolean
planted_file_is (AlertsFixture        *fixture,
                 gboolean              present,
                 DroverFileProvenance  provenance)
{
  const char * const *printers = drover_alert_get_printers (fixture->alert);

  for (guint i = 0; printers[i] != NULL; i++)
    {
      GListModel *files = drover_audit_get_files (drover_application_get_audit (app), printers[i]);
      gboolean found = FALSE;

      for (guint j = 0; j < g_list_model_get_n_items (files); j++)
        {
          g_autoptr(DroverFileItem) item = g_list_model_get_item (files, j);

          if (g_str_equal (drover_file_item_get_name (item), PLANTED_FILE))
            {
              if (present && drover_file_item_get_provenance (item) != provenance)
                return FALSE;
              found = TRUE;
            }
        }

      if (found != present)
        return FALSE;
    }

  return TRUE;
}

static gboolean
planted_file_approved (gpointer data)
{
  return planted_file_is (data, TRUE, DROVER_FILE_APPROVED);
}

static gboolean
planted_file_gone (gpointer data)
{
  AlertsFixture *fixture = data;

  /* And the alert offers no delete for a file that is not there. */
  return planted_file_is (fixture, FALSE, 0) &&
         find_descendant (fixture->row, is_visible_button_labelled, "_Delete from Printers…") == NULL;
}

static gboolean
deletion_reported (gpointer data)
{
  AlertsFixture *fixture = data;
  g_autofree char *text = drover_test_visible_text (fixture->alerts_page);

  return strstr (text, "Told 5 printers to delete “" PLANTED_FILE "”") != NULL;
}

static gboolean
history_shows_planted_file (gpointer data)
{
  AlertsFixture *fixture = data;
  GtkWidget *stack = find_descendant (fixture->printer_page, is_of_type, GSIZE_TO_POINTER (ADW_TYPE_VIEW_STACK));
  GtkWidget *history = adw_view_stack_get_visible_child (ADW_VIEW_STACK (stack));
  g_autofree char *text = drover_test_visible_text (history);

  return strstr (text, PLANTED_FILE) != NULL && strstr (text, "File appeared") != NULL &&
         strstr (text, "newest first") != NULL;
}

static char *
history_text (AlertsFixture *fixture)
{
  GtkWidget *stack = find_descendant (fixture->printer_page, is_of_type, GSIZE_TO_POINTER (ADW_TYPE_VIEW_STACK));

  return drover_test_visible_text (adw_view_stack_get_visible_child (ADW_VIEW_STACK (stack)));
}

static gboolean
history_shows_live_row (gpointer data)
{
  g_autofree char *text = history_text (data);

  return strstr (text, "live.gcode\nFile approved · by ") != NULL;
}

/* Only the broker's order holds "download": the files' rows are gone. */
static gboolean
history_shows_search (gpointer data)
{
  g_autofree char *text = history_text (data);

  return strstr (text, "1 row holds “DOWNLOAD”") != NULL && strstr (text, "File appeared") == NULL &&
         strstr (text, "Command that Drover did not send") != NULL;
}

static void
test_window_alerts (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APPLICATION_ID);
  g_autoptr(GError) error = NULL;
  DroverFleet *fleet = drover_application_get_fleet (app);
  AlertsFixture fixture = { 0 };
  g_autofree char *text = NULL;
  const char *victim;

  g_settings_reset (settings, "demo-farm");
  fixture.window = open_window ();
  fixture.alerts_button = find_descendant (GTK_WIDGET (fixture.window), is_alerts_button, NULL);
  fixture.alerts_page = find_descendant (GTK_WIDGET (fixture.window), is_of_type, GSIZE_TO_POINTER (DROVER_TYPE_ALERTS_PAGE));
  fixture.printer_page = find_descendant (GTK_WIDGET (fixture.window), is_of_type, GSIZE_TO_POINTER (DROVER_TYPE_PRINTER_PAGE));
  g_assert_nonnull (fixture.alerts_button);
  g_assert_nonnull (fixture.alerts_page);
  g_assert_nonnull (fixture.printer_page);

  /* No farm: nothing to count, and the page says Drover is not watching. */
  g_assert_false (gtk_widget_get_visible (fixture.alerts_button));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture.window), "win.show-alerts", NULL));
  g_assert_cmpstr (drover_window_get_visible_page_name (fixture.window), ==, "alerts");
  text = drover_test_visible_text (fixture.alerts_page);
  g_assert_nonnull (strstr (text, "Not Watching Yet"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture.window), "win.back", NULL));
  g_assert_cmpstr (drover_window_get_visible_page_name (fixture.window), ==, "welcome");

  /* The demo farm runs; the window follows its audit. Drover must have
   * seen every printer's files before the attack, or they would be the
   * baseline. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture.window), "win.open-demo", NULL));
  g_assert_true (drover_test_iterate_until (page_is_fleet, fixture.window, 40000));
  g_assert_true (drover_test_iterate_until (audit_ready, NULL, 20000));
  g_assert_true (drover_test_iterate_until (every_connector_heard, fleet, 40000));
  g_assert_true (drover_test_iterate_until (files_baselined, NULL, 20000));
  g_assert_true (gtk_widget_get_visible (fixture.alerts_button));
  g_assert_true (drover_alerts_page_get_audit (DROVER_ALERTS_PAGE (fixture.alerts_page)) == drover_application_get_audit (app));

  /* The 2024 attack: a stranger's client plants the readme on five printers. */
  g_assert_true (drover_demo_farm_send_control (drover_application_get_demo (app), "incident readme 5", &error));
  g_assert_no_error (error);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture.window), "win.show-alerts", NULL));
  if (!drover_test_iterate_until (incident_shown, &fixture, 20000))
    {
      g_autofree char *button = drover_test_visible_text (fixture.alerts_button);
      g_autofree char *page = drover_test_visible_text (fixture.alerts_page);

      g_error ("The incident did not show as one alert. The button says “%s”; the page:\n%s", button, page);
    }
  g_assert_true (gtk_widget_has_css_class (fixture.alerts_button, "error"));
  g_free (text);
  text = drover_test_visible_text (fixture.row);
  g_assert_nonnull (strstr (text, "Critical"));
  g_assert_nonnull (strstr (text, "2024 broker attack"));
  g_assert_nonnull (strstr (text, "and 3 more"));
  g_assert_nonnull (strstr (text, "All 5 Printers"));
  g_assert_nonnull (strstr (text, "Raised "));
  g_assert_true (iterate_until (page_settled, fixture.alerts_page));
  drover_test_save_screenshot (adw_application_window_get_content (ADW_APPLICATION_WINDOW (fixture.window)), "alerts");

  /* Deleting asks first, and Cancel deletes nothing. */
  {
    GtkWidget *delete = find_descendant (fixture.row, is_visible_button_labelled, "_Delete from Printers…");
    GtkWidget *dialog;

    g_assert_nonnull (delete);
    g_signal_emit_by_name (delete, "clicked");
    g_assert_true (iterate_until (has_toplevel_of_type, GSIZE_TO_POINTER (ADW_TYPE_MESSAGE_DIALOG)));
    dialog = drover_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG);
    g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==,
                     "Delete “" PLANTED_FILE "” from 5 Printers?");
    g_assert_cmpstr (adw_message_dialog_get_default_response (ADW_MESSAGE_DIALOG (dialog)), ==, "cancel");
    g_assert_nonnull (strstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)), "and "));
    g_assert_true (iterate_until (widget_has_size, dialog));
    drover_test_save_screenshot (dialog, "alerts-delete");
    adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
    gtk_window_destroy (GTK_WINDOW (dialog));
    g_assert_false (drover_alert_get_acknowledged (fixture.alert));
    g_assert_cmpuint (g_list_model_get_n_items (drover_audit_get_files (drover_application_get_audit (app),
                                                                        drover_alert_get_printers (fixture.alert)[0])), >, 0);
  }

  /* Acknowledged with the row's button: the count goes, the name shows.
   * The keyboard gets there too: Tab from the row reaches the button. */
  {
    GtkWidget *acknowledge = find_descendant (fixture.row, is_visible_button_labelled, "_Acknowledge");
    gboolean reached = FALSE;

    g_assert_nonnull (acknowledge);
    g_assert_true (gtk_widget_grab_focus (fixture.row));
    for (guint i = 0; i < 10 && !reached; i++)
      {
        g_assert_true (gtk_widget_child_focus (GTK_WIDGET (fixture.window), GTK_DIR_TAB_FORWARD));
        reached = gtk_root_get_focus (GTK_ROOT (fixture.window)) == acknowledge;
      }
    g_assert_true (reached);
    g_signal_emit_by_name (acknowledge, "clicked");
    g_assert_true (iterate_until (incident_acknowledged, &fixture));
    g_assert_true (drover_alert_get_acknowledged (fixture.alert));
    g_assert_false (gtk_widget_has_css_class (fixture.alerts_button, "error"));
    g_assert_null (find_descendant (fixture.row, is_visible_button_labelled, "_Acknowledge"));
  }

  /* One of the printers, Files tab: the planted file, unexpected. */
  {
    GtkWidget *grid;
    GListModel *shown;
    GtkWidget *stack;
    guint position = G_MAXUINT;

    victim = drover_alert_get_printers (fixture.alert)[0];
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture.window), "win.back", NULL));
    g_assert_cmpstr (drover_window_get_visible_page_name (fixture.window), ==, "fleet");
    grid = find_grid (GTK_WIDGET (fixture.window));
    shown = G_LIST_MODEL (gtk_grid_view_get_model (GTK_GRID_VIEW (grid)));
    for (guint i = 0; i < g_list_model_get_n_items (shown); i++)
      {
        g_autoptr(DroverPrinter) printer = g_list_model_get_item (shown, i);

        if (g_str_equal (drover_printer_get_id (printer), victim))
          position = i;
      }
    g_assert_cmpuint (position, !=, G_MAXUINT);
    g_signal_emit_by_name (grid, "activate", position);
    g_assert_cmpstr (drover_window_get_visible_page_name (fixture.window), ==, "printer");

    stack = find_descendant (fixture.printer_page, is_of_type, GSIZE_TO_POINTER (ADW_TYPE_VIEW_STACK));
    adw_view_stack_set_visible_child_name (ADW_VIEW_STACK (stack), "files");
    g_assert_true (iterate_until (planted_file_listed, &fixture));
    g_assert_true (iterate_until (page_settled, fixture.printer_page));
    drover_test_save_screenshot (adw_application_window_get_content (ADW_APPLICATION_WINDOW (fixture.window)),
                                 "printer-files");

    /* History: the ledger's rows for the printer, the file among them. */
    adw_view_stack_set_visible_child_name (ADW_VIEW_STACK (stack), "history");
    g_assert_true (iterate_until (history_shows_planted_file, &fixture));
    drover_test_save_screenshot (adw_application_window_get_content (ADW_APPLICATION_WINDOW (fixture.window)),
                                 "printer-history");

    /* It follows the ledger: a row about the printer shows as it is
     * written. */
    drover_audit_approve_file (drover_application_get_audit (app), victim, "live.gcode");
    g_assert_true (iterate_until (history_shows_live_row, &fixture));

    /* The search asks the ledger again, for rows holding the text. */
    gtk_editable_set_text (GTK_EDITABLE (find_descendant (fixture.printer_page, is_of_type,
                                                          GSIZE_TO_POINTER (GTK_TYPE_SEARCH_ENTRY))),
                           "DOWNLOAD");
    g_assert_true (iterate_until (history_shows_search, &fixture));
    adw_view_stack_set_visible_child_name (ADW_VIEW_STACK (stack), "status");
  }

  /* Approving vouches for the file on every printer of the alert. */
  {
    GtkWidget *approve;

    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture.window), "win.show-alerts", NULL));
    g_assert_true (iterate_until (incident_acknowledged, &fixture));
    approve = find_descendant (fixture.row, is_visible_button_labelled, "A_pprove File");
    g_assert_nonnull (approve);
    g_signal_emit_by_name (approve, "clicked");
    g_assert_true (iterate_until (planted_file_approved, &fixture));
    g_assert_null (find_descendant (fixture.row, is_visible_button_labelled, "A_pprove File"));
  }

  /* Deleting, confirmed: each printer is told, the toast says so, and the
   * file lists show it gone. */
  {
    GtkWidget *delete = find_descendant (fixture.row, is_visible_button_labelled, "_Delete from Printers…");
    GtkWidget *dialog;

    g_assert_nonnull (delete);
    g_signal_emit_by_name (delete, "clicked");
    g_assert_true (iterate_until (has_toplevel_of_type, GSIZE_TO_POINTER (ADW_TYPE_MESSAGE_DIALOG)));
    dialog = drover_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG);
    adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "delete");
    gtk_window_destroy (GTK_WINDOW (dialog));
    g_assert_true (iterate_until (deletion_reported, &fixture));
    g_assert_true (drover_test_iterate_until (planted_file_gone, &fixture, 20000));
    g_assert_true (iterate_until (page_settled, fixture.alerts_page));
    drover_test_save_screenshot (adw_application_window_get_content (ADW_APPLICATION_WINDOW (fixture.window)),
                                 "alerts-deleted");
  }

  /* Closing the demo drops its audit. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture.window), "win.back", NULL));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture.window), "win.close-demo", NULL));
  g_assert_false (gtk_widget_get_visible (fixture.alerts_button));
  g_assert_null (drover_alerts_page_get_audit (DROVER_ALERTS_PAGE (fixture.alerts_page)));
  g_clear_object (&fixture.alert);
  close_window (fixture.window);
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

/* The operator's farm: one native printer that drover-sim plays and
 * describes in the inventory file where Drover looks for it. */
static GSubprocess *
start_one_printer_farm (DroverTestBroker *broker,
                        const char       *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = drover_test_broker_dup_uri (broker);
  g_autofree char *dir = g_path_get_dirname (path);
  GSubprocess *sim;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  sim = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDIN_PIPE, &error,
                          g_getenv ("DROVER_SIM_BIN"), "--broker", uri, "--printers", "1", "--mix", "native=1",
                          "--http-port", "-1", "--inventory", path, "--control", NULL);
  g_assert_no_error (error);
  for (guint i = 0; i < 500 && !g_file_test (path, G_FILE_TEST_EXISTS); i++)
    g_usleep (10 * 1000);
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));

  return sim;
}

static void
test_window_configured_farm (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) broker = drover_test_broker_start (NULL, &error);
  g_autofree char *path = drover_application_dup_farm_path ();
  g_autoptr(GSubprocess) sim = NULL;
  g_autofree char *text = NULL;
  DroverWindow *window;

  g_assert_no_error (error);
  sim = start_one_printer_farm (broker, path);

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

static gboolean
has_class (GtkWidget     *widget,
           gconstpointer  name)
{
  return gtk_widget_has_css_class (widget, name);
}

static gboolean
three_held (gpointer ledger)
{
  return drover_ledger_get_n_held (ledger, NULL) == 3;
}

static gboolean
widget_visible (gpointer widget)
{
  return gtk_widget_get_visible (widget);
}

static gboolean
widget_hidden (gpointer widget)
{
  return !gtk_widget_get_visible (widget);
}

/* The ledger in trouble: the window says so on every page, how many
 * records wait, and that they are written once it can. */
static void
test_window_ledger_trouble (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) broker = drover_test_broker_start (NULL, &error);
  g_autofree char *path = drover_application_dup_farm_path ();
  g_autofree char *ledger_dir = g_dir_make_tmp ("drover-window-ledger-XXXXXX", NULL);
  g_autofree char *ledger_path = g_build_filename (ledger_dir, "ledger.sqlite", NULL);
  g_autoptr(GSubprocess) sim = NULL;
  struct rlimit limit;
  struct rlimit full = { 1, RLIM_INFINITY };
  DroverWindow *window;
  GtkWidget *bar;
  const char *text;

  g_assert_no_error (error);
  sim = start_one_printer_farm (broker, path);

  /* A ledger that cannot be opened at all: here a folder. */
  g_setenv ("DROVER_LEDGER", ledger_dir, TRUE);
  window = open_window ();
  g_assert_true (drover_test_iterate_until (page_is_fleet, window, 40000));
  g_assert_true (iterate_until (audit_ready, app));
  bar = find_descendant (GTK_WIDGET (window), has_class, "ledger-bar");
  g_assert_nonnull (bar);
  g_assert_true (iterate_until (widget_visible, bar));
  text = gtk_label_get_label (GTK_LABEL (find_descendant (bar, is_of_type, GSIZE_TO_POINTER (GTK_TYPE_LABEL))));
  g_assert_nonnull (strstr (text, "it is a folder, not a file"));
  g_assert_nonnull (strstr (text, "records nothing"));
  g_assert_true (iterate_until (widget_has_size, bar));
  drover_test_save_screenshot (GTK_WIDGET (window), "ledger-trouble");
  close_window (window);
  drover_application_stop_demo (app);

  /* A ledger whose disk fills up while Drover runs. */
  g_setenv ("DROVER_LEDGER", ledger_path, TRUE);
  window = open_window ();
  g_assert_true (drover_test_iterate_until (page_is_fleet, window, 40000));
  g_assert_true (iterate_until (audit_ready, app));
  bar = find_descendant (GTK_WIDGET (window), has_class, "ledger-bar");
  g_assert_false (gtk_widget_get_visible (bar));

  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  full.rlim_max = limit.rlim_max;
  signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &full), ==, 0);
  for (guint i = 0; i < 3; i++)
    drover_ledger_append (drover_audit_get_ledger (drover_application_get_audit (app)),
                          DROVER_LEDGER_KIND_ALERT, "p-0001", "while-full", NULL);
  g_assert_true (iterate_until (widget_visible, bar));
  g_assert_true (iterate_until (three_held, drover_audit_get_ledger (drover_application_get_audit (app))));
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  text = gtk_label_get_label (GTK_LABEL (find_descendant (bar, is_of_type, GSIZE_TO_POINTER (GTK_TYPE_LABEL))));
  g_assert_nonnull (strstr (text, "refused the write"));
  g_assert_nonnull (strstr (text, "3 records wait in memory"));
  /* No screenshot here: under the size limit X's shared-memory images
   * fail too, which is the test's doing, not the window's. */

  /* Space again: the next record writes them all, and the bar goes. */
  drover_ledger_append (drover_audit_get_ledger (drover_application_get_audit (app)),
                        DROVER_LEDGER_KIND_ALERT, "p-0001", "after", NULL);
  g_assert_true (iterate_until (widget_hidden, bar));
  close_window (window);

  drover_application_stop_demo (app);
  g_unsetenv ("DROVER_LEDGER");
  g_subprocess_force_exit (sim);
  g_subprocess_wait (sim, NULL, NULL);
  g_unlink (path);
  g_unlink (ledger_path);
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *extra = g_strconcat (ledger_path, i == 0 ? "-wal" : "-shm", NULL);

      g_unlink (extra);
    }
  g_rmdir (ledger_dir);
}

/* Hostile names: what a stranger can name a file on a printer. */
#define RLO_NAME "readme\342\200\256edocg.exe"
#define CONTROL_NAME "ok.gcode\\nDrover:\\040approved\\033[2J"

static gboolean
alerts_at_least (gpointer data)
{
  DroverAudit *audit = drover_application_get_audit (app);

  return audit != NULL && g_list_model_get_n_items (drover_audit_get_alerts (audit)) >= GPOINTER_TO_UINT (data);
}

static gboolean
is_row_containing (GtkWidget     *widget,
                   gconstpointer  text)
{
  return ADW_IS_ACTION_ROW (widget) &&
         strstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)), text) != NULL;
}

static gboolean
files_tab_shows_hostile (gpointer page)
{
  return find_descendant (page, is_row_containing, "readme<U+202E>edocg.exe") != NULL &&
         find_descendant (page, is_row_containing, "ok.gcode<U+000A>Drover: approved<U+001B>[2J") != NULL &&
         find_descendant (page, is_row_containing, "…") != NULL;
}

/* Every label and row title under @widget: no raw override, no control
 * character, nothing of 10,000 characters. */
static void
assert_shown_safely (GtkWidget *widget)
{
  const char *text = NULL;

  if (GTK_IS_LABEL (widget))
    text = gtk_label_get_label (GTK_LABEL (widget));
  else if (ADW_IS_PREFERENCES_ROW (widget))
    text = adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget));

  if (text != NULL)
    {
      g_assert_true (g_utf8_validate (text, -1, NULL));
      g_assert_null (strstr (text, "\342\200\256"));
      g_assert_null (strchr (text, '\033'));
      g_assert_cmpint (g_utf8_strlen (text, -1), <, 1000);
    }

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    assert_shown_safely (child);
}

static void
test_window_hostile_names (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) broker = drover_test_broker_start (NULL, &error);
  g_autofree char *path = drover_application_dup_farm_path ();
  g_autoptr(GSubprocess) sim = NULL;
  g_autoptr(GString) commands = g_string_new (NULL);
  g_autoptr(GString) long_name = g_string_new (NULL);
  GOutputStream *in;
  DroverWindow *window;
  GtkWidget *page;
  GtkWidget *stack;
  GtkWidget *grid;

  g_assert_no_error (error);
  sim = start_one_printer_farm (broker, path);
  window = open_window ();
  g_assert_true (drover_test_iterate_until (page_is_fleet, window, 40000));
  g_assert_true (drover_test_iterate_until (first_printer_heard, drover_application_get_fleet (app), 40000));
  g_assert_true (iterate_until (audit_ready, app));
  g_assert_true (drover_test_iterate_until (files_baselined, NULL, 40000));

  /* Three files turn up: a right-to-left override that makes an .exe
   * look like G-code, control characters that fake a second line and
   * clear a terminal, and a name of 10,000 characters. */
  for (guint i = 0; i < 10000; i++)
    g_string_append_c (long_name, (char)('a' + i % 26));
  g_string_append (long_name, ".gcode");
  g_string_append_printf (commands, "add-file p-0001 %s\n", RLO_NAME);
  g_string_append_printf (commands, "add-file p-0001 %s\n", CONTROL_NAME);
  g_string_append_printf (commands, "add-file p-0001 %s\n", long_name->str);
  in = g_subprocess_get_stdin_pipe (sim);
  g_assert_true (g_output_stream_write_all (in, commands->str, commands->len, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_output_stream_flush (in, NULL, &error));
  g_assert_true (drover_test_iterate_until (alerts_at_least, GUINT_TO_POINTER (3), 40000));

  /* The alerts name them visibly, and the override is evidence. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.show-alerts", NULL));
  g_assert_true (iterate_until (page_settled, find_descendant (GTK_WIDGET (window), is_of_type,
                                                               GSIZE_TO_POINTER (DROVER_TYPE_ALERTS_PAGE))));
  {
    g_autofree char *text = drover_test_visible_text (GTK_WIDGET (window));

    g_assert_nonnull (strstr (text, "Unexpected file “readme<U+202E>edocg.exe” on"));
    g_assert_nonnull (strstr (text, "right-to-left"));
    g_assert_nonnull (strstr (text, "ok.gcode<U+000A>Drover: approved<U+001B>[2J"));
  }
  assert_shown_safely (GTK_WIDGET (window));

  /* The printer's Files tab too. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.back", NULL));
  grid = find_grid (GTK_WIDGET (window));
  g_signal_emit_by_name (grid, "activate", 0);
  page = find_descendant (GTK_WIDGET (window), is_of_type, GSIZE_TO_POINTER (DROVER_TYPE_PRINTER_PAGE));
  stack = find_descendant (page, is_of_type, GSIZE_TO_POINTER (ADW_TYPE_VIEW_STACK));
  adw_view_stack_set_visible_child_name (ADW_VIEW_STACK (stack), "files");
  g_assert_true (iterate_until (files_tab_shows_hostile, page));
  assert_shown_safely (page);
  g_assert_true (iterate_until (page_settled, page));
  drover_test_save_screenshot (adw_application_window_get_content (ADW_APPLICATION_WINDOW (window)),
                               "hostile-names");

  close_window (window);
  drover_application_stop_demo (app);
  g_subprocess_force_exit (sim);
  g_subprocess_wait (sim, NULL, NULL);
  g_unlink (path);
}

static gboolean
is_warning_image (GtkWidget     *widget,
                  gconstpointer  tooltip_part)
{
  return GTK_IS_IMAGE (widget) && gtk_widget_has_css_class (widget, "warning") && gtk_widget_get_visible (widget) &&
         gtk_widget_get_tooltip_text (widget) != NULL && strstr (gtk_widget_get_tooltip_text (widget), tooltip_part) != NULL;
}

static guint
count_descendants (GtkWidget     *widget,
                   WidgetMatch    match,
                   gconstpointer  data)
{
  guint n = match (widget, data) ? 1 : 0;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    n += count_descendants (child, match, data);

  return n;
}

static gboolean
card_shows_warning (gpointer window)
{
  GtkWidget *grid = find_grid (window);

  return grid != NULL && find_descendant (grid, is_warning_image, "not checked against its host name") != NULL;
}

/* A broker whose host name the operator chose not to check: every printer
 * on it carries the warning, on its card and on its page. */
static void
test_window_security_badge (void)
{
  g_autofree char *path = drover_application_dup_farm_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *ca = g_build_filename (dir, "ca.pem", NULL);
  g_autofree char *farm = NULL;
  g_autofree char *text = NULL;
  DroverWindow *window;
  GtkWidget *page;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (ca, "", -1, NULL));
  farm = g_strdup_printf ("[broker lab]\nuri=ssl://127.0.0.1:%u\nca-file=%s\nverify-host-name=false\n\n"
                          "[broker checked]\nuri=ssl://127.0.0.1:%u\nca-file=%s\n\n"
                          "[printer p-1]\nname=Unchecked\nconnector=native\nbroker=lab\n\n"
                          "[printer p-2]\nname=Checked\nconnector=native\nbroker=checked\n",
                          drover_test_free_port (), ca, drover_test_free_port (), ca);
  g_assert_true (g_file_set_contents (path, farm, -1, NULL));

  window = open_window ();
  g_assert_true (drover_test_iterate_until (page_is_fleet, window, 40000));
  g_assert_true (iterate_until (card_shows_warning, window));
  {
    GtkWidget *grid = find_grid (GTK_WIDGET (window));
    GListModel *shown = G_LIST_MODEL (gtk_grid_view_get_model (GTK_GRID_VIEW (grid)));
    guint position = G_MAXUINT;

    /* Exactly one card warns: the printer on the unchecked broker. */
    g_assert_cmpuint (count_descendants (grid, is_warning_image, "not checked against its host name"), ==, 1);
    g_assert_true (iterate_until (widget_has_size, grid));
    drover_test_save_screenshot (GTK_WIDGET (window), "security-badge");

    /* The printer's page says it in words. */
    for (guint i = 0; i < g_list_model_get_n_items (shown); i++)
      {
        g_autoptr(DroverPrinter) printer = g_list_model_get_item (shown, i);

        if (g_str_equal (drover_printer_get_id (printer), "p-1"))
          position = i;
      }
    g_assert_cmpuint (position, !=, G_MAXUINT);
    g_signal_emit_by_name (grid, "activate", position);
  }
  page = find_descendant (GTK_WIDGET (window), is_of_type, GSIZE_TO_POINTER (DROVER_TYPE_PRINTER_PAGE));
  g_assert_true (iterate_until (page_settled, page));
  text = drover_test_visible_text (page);
  g_assert_nonnull (strstr (text, "Security Check Turned Off"));
  g_assert_nonnull (strstr (text, "The certificate of the broker “lab” is not checked against its host name"));
  drover_test_save_screenshot (GTK_WIDGET (window), "security-badge-page");

  close_window (window);
  drover_application_stop_demo (app);
  g_unlink (path);
  g_unlink (ca);
}

static gboolean
node_label_says (gpointer data)
{
  const char * const *expected = data;
  GtkWidget *label = find_descendant (GTK_WIDGET (expected[0]), has_class, "cluster-node");
  const char *text;

  if (label == NULL || !gtk_widget_get_visible (label))
    return FALSE;
  text = gtk_label_get_label (GTK_LABEL (label));
  return strstr (text, expected[1]) != NULL && (expected[2] == NULL || strstr (text, expected[2]) != NULL);
}

/* A farm on a broker cluster: the overview says which node Drover is on,
 * and after the node dies, the one it moved to and when. */
static void
test_window_cluster_node (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) first = drover_test_broker_start (NULL, &error);
  g_autoptr(DroverTestBroker) second = NULL;
  g_autofree char *path = drover_application_dup_farm_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *first_uri = NULL;
  g_autofree char *second_uri = NULL;
  g_autofree char *farm = NULL;
  g_autofree char *on_first = NULL;
  g_autofree char *on_second = NULL;
  const char *expected[3];
  DroverWindow *window;

  g_assert_no_error (error);
  second = drover_test_broker_start (NULL, &error);
  g_assert_no_error (error);
  first_uri = drover_test_broker_dup_uri (first);
  second_uri = drover_test_broker_dup_uri (second);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  farm = g_strdup_printf ("[broker cluster]\nuri=%s, %s\n\n[printer p-1]\nname=One\nconnector=native\nbroker=cluster\n",
                          first_uri, second_uri);
  g_assert_true (g_file_set_contents (path, farm, -1, NULL));

  window = open_window ();
  g_assert_true (drover_test_iterate_until (page_is_fleet, window, 40000));
  on_first = g_strdup_printf ("On node %s", first_uri);
  expected[0] = (const char *)window;
  expected[1] = on_first;
  expected[2] = NULL;
  g_assert_true (iterate_until (node_label_says, expected));

  g_assert_true (drover_test_broker_kill (first));
  on_second = g_strdup_printf ("On node %s", second_uri);
  expected[1] = on_second;
  expected[2] = "failed over just now";
  g_assert_true (drover_test_iterate_until (node_label_says, expected, 40000));
  drover_test_save_screenshot (GTK_WIDGET (window), "cluster-node");

  close_window (window);
  drover_application_stop_demo (app);
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

/* Signed jobs: a key made with the real minisign, trusted through the
 * trust store's API (the test's config folder is its own), a job signed
 * for the whole fleet, and the Send Job window sending it to one printer
 * Drover reaches over HTTP. An unsigned file is refused with the gate's
 * sentence. */

static const char send_gcode[] =
  ";FLAVOR:Marlin\n"
  ";LAYER:0\n"
  "M140 S60\n"
  "M104 S210\n"
  "G28\n"
  "G1 Z0.2 F3000\n"
  "G1 X10 Y10 E0.5 F1500\n"
  "G1 X50 Y10 E2.0\n"
  ";LAYER:1\n"
  "G1 Z0.4\n"
  "G1 X50 Y50 E3.5\n"
  "M104 S0\n"
  "M140 S0\n";

static void
run_minisign (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) process = NULL;

  /* No terminal: minisign must not wait for a password. */
  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error);
  g_assert_no_error (error);
  g_output_stream_close (g_subprocess_get_stdin_pipe (process), NULL, NULL);
  g_assert_true (g_subprocess_wait_check (process, NULL, &error));
  g_assert_no_error (error);
}

static char *
iso_time (gint64 unix_seconds)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (unix_seconds);

  return g_date_time_format (time, "%Y-%m-%dT%H:%M:%SZ");
}

static gboolean
ledger_open (gpointer data)
{
  DroverAudit *audit = drover_application_get_audit (app);

  return audit != NULL && drover_audit_get_ready (audit) && drover_audit_get_ledger (audit) != NULL;
}

typedef struct
{
  DroverSendJobWindow *window;
  const char          *page;
} PageWait;

static gboolean
send_page_is (gpointer data)
{
  PageWait *wait = data;

  return g_strcmp0 (drover_send_job_window_get_page_name (wait->window), wait->page) == 0;
}

static void
wait_for_send_page (DroverSendJobWindow *window,
                    const char          *page)
{
  PageWait wait = { window, page };

  if (!drover_test_iterate_until (send_page_is, &wait, 20000))
    {
      g_autofree char *text = drover_test_visible_text (GTK_WIDGET (window));

      g_error ("The Send Job window never showed “%s”; it shows:\n%s", page, text);
    }
}

typedef struct
{
  DroverSendJobWindow *window;
  char                *picked;     /* the printer picked, once one may take the job */
} PickWait;

/* An idle printer Drover reaches over HTTP: the demo's printers start
 * jobs of their own, so the one picked is whichever is free. */
static gboolean
picked_http_printer (gpointer data)
{
  PickWait *wait = data;
  DroverFleet *fleet = drover_application_get_fleet (app);

  for (guint i = 0; i < drover_fleet_get_n_printers (fleet); i++)
    {
      g_autoptr(DroverPrinter) printer = g_list_model_get_item (G_LIST_MODEL (fleet), i);
      DroverConnectorKind connector = drover_printer_get_connector (printer);

      if ((connector == DROVER_CONNECTOR_MOONRAKER || connector == DROVER_CONNECTOR_OCTOPRINT) &&
          drover_send_job_window_pick_printer (wait->window, drover_printer_get_id (printer), TRUE))
        {
          wait->picked = g_strdup (drover_printer_get_id (printer));
          return TRUE;
        }
    }

  return FALSE;
}

static gboolean
is_plate_check (GtkWidget     *widget,
                gconstpointer  data)
{
  return GTK_IS_CHECK_BUTTON (widget) && gtk_check_button_get_label (GTK_CHECK_BUTTON (widget)) != NULL &&
         g_str_has_prefix (gtk_check_button_get_label (GTK_CHECK_BUTTON (widget)), "I have checked");
}

static gboolean
is_action_button (GtkWidget     *widget,
                  gconstpointer  action)
{
  return GTK_IS_BUTTON (widget) && g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (widget)), action) == 0;
}

static gboolean
widget_is_sensitive (gpointer widget)
{
  return gtk_widget_is_sensitive (widget);
}

typedef struct
{
  GtkWidget  *widget;
  const char *needle;
} TextWait;

static gboolean
shows_text (gpointer data)
{
  TextWait *wait = data;
  g_autofree char *text = drover_test_visible_text (wait->widget);

  return strstr (text, wait->needle) != NULL;
}

static void
wait_for_text (GtkWidget  *widget,
               const char *needle,
               guint       timeout_ms)
{
  TextWait wait = { widget, needle };

  if (!drover_test_iterate_until (shows_text, &wait, timeout_ms))
    {
      g_autofree char *text = drover_test_visible_text (widget);

      g_error ("“%s” never showed; the window shows:\n%s", needle, text);
    }
}

static gboolean
send_window_settled (gpointer window)
{
  GtkWidget *stack = find_descendant (window, is_of_type, GSIZE_TO_POINTER (GTK_TYPE_STACK));

  return gtk_widget_get_mapped (window) && stack != NULL && !gtk_stack_get_transition_running (GTK_STACK (stack));
}

static void
test_window_send_job (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APPLICATION_ID);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("drover-send-XXXXXX", &error);
  g_autofree char *public_path = g_build_filename (dir, "signer.pub", NULL);
  g_autofree char *secret_path = g_build_filename (dir, "signer.key", NULL);
  g_autofree char *job_path = g_build_filename (dir, "bracket.gcode", NULL);
  g_autofree char *signature_path = g_strconcat (job_path, ".minisig", NULL);
  g_autofree char *unsigned_path = g_build_filename (dir, "unsigned.gcode", NULL);
  g_autofree char *minisign = g_find_program_in_path ("minisign");
  g_autofree char *job_id = g_uuid_string_random ();
  g_autofree char *not_before = iso_time (g_get_real_time () / G_USEC_PER_SEC - 60);
  g_autofree char *not_after = iso_time (g_get_real_time () / G_USEC_PER_SEC + 3600);
  g_autofree char *manifest = NULL;
  g_autofree char *text = NULL;
  g_autofree char *key_id = NULL;
  g_autoptr(GFile) job_file = g_file_new_for_path (job_path);
  g_autoptr(GFile) unsigned_file = g_file_new_for_path (unsigned_path);
  DroverWindow *window;
  DroverSendJobWindow *send;
  GtkWidget *button;
  PickWait pick = { 0 };

  g_assert_no_error (error);
  if (minisign == NULL)
    {
      g_test_skip ("minisign is not installed (apt install minisign)");
      return;
    }

  g_settings_reset (settings, "demo-farm");
  window = open_window ();

  /* No farm: nothing to send to, and the button says so. */
  button = find_descendant (GTK_WIDGET (window), is_action_button, "win.send-job");
  g_assert_nonnull (button);
  g_assert_false (gtk_widget_is_sensitive (button));
  g_assert_nonnull (strstr (gtk_widget_get_tooltip_text (button), "Open your farm or the demo farm first"));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.open-demo", NULL));
  if (!drover_test_iterate_until (page_is_fleet, window, 40000))
    {
      g_autofree char *shown = drover_test_visible_text (GTK_WIDGET (window));

      g_error ("The demo farm did not open; the window shows “%s”:\n%s", drover_window_get_visible_page_name (window), shown);
    }
  g_assert_true (drover_test_iterate_until (ledger_open, NULL, 20000));
  g_assert_true (drover_test_iterate_until (every_connector_heard, drover_application_get_fleet (app), 40000));
  g_assert_true (gtk_widget_is_sensitive (button));

  /* A signer's key, made by minisign, and trusted. */
  run_minisign ((const char * const[]) { minisign, "-G", "-W", "-p", public_path, "-s", secret_path, NULL });
  {
    g_autoptr(DroverTrustStore) trust = drover_trust_store_load (NULL, &error);
    g_autoptr(DroverPublicKey) key = NULL;

    g_assert_no_error (error);
    key = drover_public_key_new_from_file (public_path, &error);
    g_assert_no_error (error);
    key_id = drover_public_key_dup_id (key);
    g_assert_true (drover_trust_store_add (trust, "Test Signer (CI)", key, &error));
    g_assert_no_error (error);
    g_assert_true (drover_trust_store_save (trust, &error));
    g_assert_no_error (error);
  }

  /* A job for the whole fleet, valid for the next hour. */
  g_assert_true (g_file_set_contents (job_path, send_gcode, -1, NULL));
  manifest = g_strdup_printf ("{\"drover\":1,\"job\":\"%s\",\"printers\":[\"*\"],\"not_before\":\"%s\",\"not_after\":\"%s\"}",
                              job_id, not_before, not_after);
  run_minisign ((const char * const[]) { minisign, "-S", "-s", secret_path, "-m", job_path, "-t", manifest, NULL });
  g_assert_true (g_file_test (signature_path, G_FILE_TEST_EXISTS));

  send = drover_send_job_window_new (GTK_WINDOW (window), app);
  drover_send_job_window_load_file (send, job_file);
  gtk_window_present (GTK_WINDOW (send));
  wait_for_send_page (send, "review");

  /* The verdict in words: who signed it, which job, for whom. */
  text = drover_test_visible_text (GTK_WIDGET (send));
  g_assert_nonnull (strstr (text, "Signed by Test Signer (CI)"));
  g_assert_nonnull (strstr (text, key_id));
  g_assert_nonnull (strstr (text, job_id));
  g_assert_nonnull (strstr (text, "any printer of the farm"));
  g_assert_nonnull (strstr (text, "Signed and Checked"));

  /* A fleet job picks nobody by itself; nothing goes until a printer is
   * picked and the plate confirmed. */
  button = find_descendant (GTK_WIDGET (send), is_action_button, "send.send");
  g_assert_nonnull (button);
  g_assert_false (gtk_widget_is_sensitive (button));
  g_assert_nonnull (strstr (text, "Pick the printers to send the job to"));

  pick.window = send;
  if (!drover_test_iterate_until (picked_http_printer, &pick, 60000))
    {
      g_autofree char *shown = drover_test_visible_text (GTK_WIDGET (send));

      g_error ("No Klipper or OctoPrint printer could take the job; the window shows:\n%s", shown);
    }
  g_test_message ("sending to %s", pick.picked);
  wait_for_text (GTK_WIDGET (send), "Confirm that the plates are clear", 5000);
  g_assert_false (gtk_widget_is_sensitive (button));

  gtk_check_button_set_active (GTK_CHECK_BUTTON (find_descendant (GTK_WIDGET (send), is_plate_check, NULL)), TRUE);
  g_assert_true (drover_test_iterate_until (widget_is_sensitive, button, 5000));
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (button)), ==, "_Send to 1 Printer");
  g_assert_true (drover_test_iterate_until (send_window_settled, send, 5000));
  drover_test_save_screenshot (adw_window_get_content (ADW_WINDOW (send)), "send-job-review");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (send), "send.send", NULL));
  wait_for_send_page (send, "sending");
  wait_for_text (GTK_WIDGET (send), "Sent to 1 printer.", 30000);
  wait_for_text (GTK_WIDGET (send), "Sent; the printer starts it", 5000);
  g_assert_true (drover_test_iterate_until (send_window_settled, send, 5000));
  drover_test_save_screenshot (adw_window_get_content (ADW_WINDOW (send)), "send-job");

  gtk_window_close (GTK_WINDOW (send));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_null (drover_test_find_toplevel (DROVER_TYPE_SEND_JOB_WINDOW));

  /* The printer's Jobs tab lists it, from the ledger. */
  {
    GtkWidget *grid = find_grid (GTK_WIDGET (window));
    GListModel *model = G_LIST_MODEL (gtk_grid_view_get_model (GTK_GRID_VIEW (grid)));
    GtkWidget *page = find_descendant (GTK_WIDGET (window), is_of_type, GSIZE_TO_POINTER (DROVER_TYPE_PRINTER_PAGE));
    GtkWidget *stack = find_descendant (page, is_of_type, GSIZE_TO_POINTER (ADW_TYPE_VIEW_STACK));
    GtkWidget *jobs;
    guint position = G_MAXUINT;

    for (guint i = 0; i < g_list_model_get_n_items (model) && position == G_MAXUINT; i++)
      {
        g_autoptr(DroverPrinter) printer = g_list_model_get_item (model, i);

        if (g_str_equal (drover_printer_get_id (printer), pick.picked))
          position = i;
      }
    g_assert_cmpuint (position, !=, G_MAXUINT);
    g_signal_emit_by_name (grid, "activate", position);
    adw_view_stack_set_visible_child_name (ADW_VIEW_STACK (stack), "jobs");
    jobs = adw_view_stack_get_child_by_name (ADW_VIEW_STACK (stack), "jobs");
    wait_for_text (jobs, "bracket.gcode", 10000);
    wait_for_text (jobs, job_id, 5000);
    wait_for_text (jobs, "signed by Test Signer (CI)", 5000);
    wait_for_text (jobs, "Sent\n", 5000);
    g_assert_true (drover_test_iterate_until (page_settled, page, 5000));
    drover_test_save_screenshot (adw_application_window_get_content (ADW_APPLICATION_WINDOW (window)), "printer-jobs");
    adw_view_stack_set_visible_child_name (ADW_VIEW_STACK (stack), "status");
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.back", NULL));
  }

  /* A file without a signature: refused, in the gate's words. */
  g_assert_true (g_file_set_contents (unsigned_path, send_gcode, -1, NULL));
  send = drover_send_job_window_new (GTK_WINDOW (window), app);
  drover_send_job_window_load_file (send, unsigned_file);
  gtk_window_present (GTK_WINDOW (send));
  wait_for_send_page (send, "refused");
  g_free (text);
  text = drover_test_visible_text (GTK_WIDGET (send));
  g_assert_nonnull (strstr (text, "The Job Is Not Signed"));
  g_assert_nonnull (strstr (text, "“unsigned.gcode” is not signed: there is no “unsigned.gcode.minisig” beside it."));
  g_assert_nonnull (strstr (text, "Choose _Another File…"));
  g_assert_true (drover_test_iterate_until (send_window_settled, send, 5000));
  drover_test_save_screenshot (adw_window_get_content (ADW_WINDOW (send)), "send-job-unsigned");

  /* Signed by a key the farm does not trust: its id, and where to trust
   * it; once trusted, the same file checks out. */
  {
    g_autofree char *stranger_public = g_build_filename (dir, "stranger.pub", NULL);
    g_autofree char *stranger_secret = g_build_filename (dir, "stranger.key", NULL);
    g_autofree char *stranger_path = g_build_filename (dir, "stranger.gcode", NULL);
    g_autofree char *stranger_signature = g_strconcat (stranger_path, ".minisig", NULL);
    g_autofree char *stranger_id = NULL;
    g_autofree char *stranger_job = g_uuid_string_random ();
    g_autofree char *stranger_manifest = NULL;
    g_autoptr(GFile) stranger_file = g_file_new_for_path (stranger_path);
    g_autoptr(DroverPublicKey) stranger_key = NULL;
    GtkWidget *preferences;

    run_minisign ((const char * const[]) { minisign, "-G", "-W", "-p", stranger_public, "-s", stranger_secret, NULL });
    stranger_key = drover_public_key_new_from_file (stranger_public, &error);
    g_assert_no_error (error);
    stranger_id = drover_public_key_dup_id (stranger_key);
    g_assert_true (g_file_set_contents (stranger_path, send_gcode, -1, NULL));
    stranger_manifest = g_strdup_printf ("{\"drover\":1,\"job\":\"%s\",\"printers\":[\"*\"],\"not_before\":\"%s\","
                                         "\"not_after\":\"%s\"}", stranger_job, not_before, not_after);
    run_minisign ((const char * const[]) { minisign, "-S", "-s", stranger_secret, "-m", stranger_path,
                                           "-t", stranger_manifest, NULL });

    drover_send_job_window_load_file (send, stranger_file);
    wait_for_send_page (send, "refused");
    g_free (text);
    text = drover_test_visible_text (GTK_WIDGET (send));
    g_assert_nonnull (strstr (text, "Signed by an Untrusted Key"));
    g_assert_nonnull (strstr (text, stranger_id));
    g_assert_nonnull (strstr (text, "Trusted _Keys…"));
    g_assert_true (drover_test_iterate_until (send_window_settled, send, 5000));
    drover_test_save_screenshot (adw_window_get_content (ADW_WINDOW (send)), "send-job-untrusted");

    /* Preferences opens where keys are trusted. */
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (send), "send.trusted-keys", NULL));
    g_assert_true (iterate_until (has_toplevel_of_type, GSIZE_TO_POINTER (DROVER_TYPE_PREFERENCES_WINDOW)));
    preferences = drover_test_find_toplevel (DROVER_TYPE_PREFERENCES_WINDOW);
    g_assert_cmpstr (adw_preferences_window_get_visible_page_name (ADW_PREFERENCES_WINDOW (preferences)), ==, "signing");
    gtk_window_destroy (GTK_WINDOW (preferences));

    {
      g_autoptr(DroverTrustStore) trust = drover_trust_store_load (NULL, &error);

      g_assert_no_error (error);
      g_assert_true (drover_trust_store_add (trust, "Stranger", stranger_key, &error));
      g_assert_true (drover_trust_store_save (trust, &error));
      g_assert_no_error (error);
    }
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (send), "send.check-again", NULL));
    wait_for_send_page (send, "review");
    wait_for_text (GTK_WIDGET (send), "Signed by Stranger", 5000);

    g_unlink (stranger_public);
    g_unlink (stranger_secret);
    g_unlink (stranger_path);
    g_unlink (stranger_signature);
  }

  /* Escape closes it. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (send), "window.close", NULL));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_null (drover_test_find_toplevel (DROVER_TYPE_SEND_JOB_WINDOW));

  /* The farm gone, sending is off again. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.close-demo", NULL));
  button = find_descendant (GTK_WIDGET (window), is_action_button, "win.send-job");
  g_assert_false (gtk_widget_is_sensitive (button));

  close_window (window);
  g_free (pick.picked);
  g_unlink (public_path);
  g_unlink (secret_path);
  g_unlink (job_path);
  g_unlink (signature_path);
  g_unlink (unsigned_path);
  g_rmdir (dir);
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

/* A notification server on the test's session bus: the alerts raise
 * desktop notifications, and GIO warns (fatally, in a test) when nobody
 * takes them. It counts what it is sent. */
static const char notifications_xml[] =
  "<node>"
  "  <interface name='org.freedesktop.Notifications'>"
  "    <method name='Notify'>"
  "      <arg type='s' direction='in'/><arg type='u' direction='in'/><arg type='s' direction='in'/>"
  "      <arg type='s' direction='in'/><arg type='s' direction='in'/><arg type='as' direction='in'/>"
  "      <arg type='a{sv}' direction='in'/><arg type='i' direction='in'/><arg type='u' direction='out'/>"
  "    </method>"
  "    <method name='CloseNotification'><arg type='u' direction='in'/></method>"
  "    <method name='GetCapabilities'><arg type='as' direction='out'/></method>"
  "    <method name='GetServerInformation'>"
  "      <arg type='s' direction='out'/><arg type='s' direction='out'/>"
  "      <arg type='s' direction='out'/><arg type='s' direction='out'/>"
  "    </method>"
  "  </interface>"
  "</node>";

static guint n_notifications;
static gboolean notifications_owned;

static void
notifications_method_cb (GDBusConnection       *connection,
                         const char            *sender,
                         const char            *object_path,
                         const char            *interface_name,
                         const char            *method_name,
                         GVariant              *parameters,
                         GDBusMethodInvocation *invocation,
                         gpointer               user_data)
{
  if (g_str_equal (method_name, "Notify"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(u)", ++n_notifications));
  else if (g_str_equal (method_name, "GetCapabilities"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new_parsed ("(@as [],)"));
  else if (g_str_equal (method_name, "GetServerInformation"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(ssss)", "test", "drover", "1", "1.2"));
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static void
notifications_acquired_cb (GDBusConnection *connection,
                           const char      *name,
                           gpointer         user_data)
{
  notifications_owned = TRUE;
}

static gboolean
notifications_ready (gpointer data)
{
  return notifications_owned;
}

static void
start_notification_server (void)
{
  static const GDBusInterfaceVTable vtable = { notifications_method_cb, NULL, NULL, { 0 } };
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_autoptr(GDBusNodeInfo) info = NULL;

  /* No session bus: GIO sends no notifications, and has nothing to say. */
  if (bus == NULL)
    return;

  info = g_dbus_node_info_new_for_xml (notifications_xml, &error);
  g_assert_no_error (error);
  g_dbus_connection_register_object (bus, "/org/freedesktop/Notifications", info->interfaces[0], &vtable,
                                     NULL, NULL, &error);
  g_assert_no_error (error);
  g_bus_own_name_on_connection (bus, "org.freedesktop.Notifications", G_BUS_NAME_OWNER_FLAGS_NONE,
                                notifications_acquired_cb, NULL, NULL, NULL);
  g_assert_true (iterate_until (notifications_ready, NULL));
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
  start_notification_server ();
  g_assert_true (drover_core_init (NULL));

  app = drover_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  g_test_add_func ("/window/first-run", test_window_first_run);
  g_test_add_func ("/window/demo-farm", test_window_demo_farm);
  g_test_add_func ("/window/alerts", test_window_alerts);
  g_test_add_func ("/window/send-job", test_window_send_job);
  g_test_add_func ("/window/card-follows-printer", test_window_card_follows_printer);
  g_test_add_func ("/window/about-and-shortcuts", test_window_about_and_shortcuts);
  g_test_add_func ("/window/configured-farm", test_window_configured_farm);
  g_test_add_func ("/window/broken-farm", test_window_broken_farm);
  g_test_add_func ("/window/ledger-trouble", test_window_ledger_trouble);
  g_test_add_func ("/window/hostile-names", test_window_hostile_names);
  g_test_add_func ("/window/security-badge", test_window_security_badge);
  g_test_add_func ("/window/cluster-node", test_window_cluster_node);

  status = g_test_run ();

  g_clear_object (&app);
  drover_test_display_stop ();

  return status;
}
