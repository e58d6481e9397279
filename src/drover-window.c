/* drover-window.c: the main window
 *
 * A welcome page while no farm is configured, the fleet, one printer up
 * close, and the farm's alerts. The window only binds to the model:
 * everything it shows comes from the DroverFleet it was given and from the
 * running farm's DroverAudit.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-window"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "drover-alerts-page.h"
#include "drover-diagnostics-window.h"
#include "drover-printer-card.h"
#include "drover-printer-page.h"
#include "drover-send-job-window.h"
#include "drover-window.h"

struct _DroverWindow
{
  AdwApplicationWindow  parent_instance;

  DroverFleet          *fleet;
  DroverAudit          *audit;             /* the running farm's, or NULL */
  GSettings            *settings;
  GtkNoSelection       *selection;

  /* Template widgets */
  AdwWindowTitle       *window_title;
  AdwToastOverlay      *toast_overlay;
  GtkStack             *main_stack;
  GtkGridView          *fleet_grid;
  GtkWidget            *demo_bar;
  GtkWidget            *ledger_bar;
  GtkLabel             *ledger_label;
  DroverLedger         *ledger;            /* the audit's, followed */
  GtkSpinner           *starting_spinner;
  AdwStatusPage        *failed_page;
  GtkSearchEntry       *search_entry;
  GtkDropDown          *state_filter;
  GtkDropDown          *connector_filter;
  GtkDropDown          *sort_order;
  GtkLabel             *counts_label;
  GtkLabel             *node_label;
  GPtrArray            *cluster_links;     /* the farm's links with several nodes */
  DroverFarm           *followed_farm;     /* a weak pointer: compared only */
  GtkStack             *fleet_stack;
  GtkWidget            *back_button;
  GtkWidget            *send_job_button;
  DroverPrinterPage    *printer_page;
  GtkWidget            *alerts_button;
  GtkLabel             *alerts_count;
  DroverAlertsPage     *alerts_page;

  GtkCustomFilter      *filter;
  GtkCustomSorter      *sorter;
  GtkFilterListModel   *filtered;
  char                 *search_text;       /* casefolded */
  guint                 refresh_source;

  GCancellable         *starting;
  gboolean              showing_demo;
  char                 *page_before_alerts;
};

G_DEFINE_FINAL_TYPE (DroverWindow, drover_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_FLEET,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
update_title (DroverWindow *self)
{
  g_autofree char *subtitle = NULL;
  guint n_printers;

  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "printer") == 0)
    {
      DroverPrinter *printer = drover_printer_page_get_printer (self->printer_page);

      adw_window_title_set_subtitle (self->window_title, printer != NULL ? drover_printer_get_display_name (printer) : NULL);
      return;
    }

  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "alerts") == 0)
    {
      adw_window_title_set_subtitle (self->window_title, _("Alerts"));
      return;
    }

  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "fleet") != 0)
    {
      adw_window_title_set_subtitle (self->window_title, NULL);
      return;
    }

  n_printers = drover_fleet_get_n_printers (self->fleet);

  if (self->showing_demo)
    /* Translators: the window's subtitle over the demo farm; %u is how many printers */
    subtitle = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Demo farm · %u printer", "Demo farm · %u printers", n_printers),
                                n_printers);
  else
    /* Translators: the window's subtitle over the operator's farm; %u is how many printers */
    subtitle = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u printer", "%u printers", n_printers), n_printers);
  adw_window_title_set_subtitle (self->window_title, subtitle);
}

/* The state filter's rows, in the order of DroverPrinterState, after "All". */
static gboolean
printer_matches (gpointer item,
                 gpointer user_data)
{
  DroverWindow *self = user_data;
  DroverPrinter *printer = item;
  guint state = gtk_drop_down_get_selected (self->state_filter);
  guint connector = gtk_drop_down_get_selected (self->connector_filter);

  if (state != 0 && drover_printer_get_state (printer) != state - 1)
    return FALSE;

  if (connector != 0 && drover_printer_get_connector (printer) != connector - 1)
    return FALSE;

  if (self->search_text != NULL)
    {
      const char *fields[] = { drover_printer_get_display_name (printer), drover_printer_get_id (printer),
                               drover_printer_get_current_file (printer) };

      for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
        {
          g_autofree char *folded = fields[i] != NULL ? g_utf8_casefold (fields[i], -1) : NULL;

          if (folded != NULL && strstr (folded, self->search_text) != NULL)
            return TRUE;
        }
      return FALSE;
    }

  return TRUE;
}

/* Problems first: error, then offline, paused, printing, idle. */
static int
state_rank (DroverPrinterState state)
{
  switch (state)
    {
    case DROVER_PRINTER_STATE_ERROR: return 0;
    case DROVER_PRINTER_STATE_OFFLINE: return 1;
    case DROVER_PRINTER_STATE_PAUSED: return 2;
    case DROVER_PRINTER_STATE_PRINTING: return 3;
    case DROVER_PRINTER_STATE_IDLE: return 4;
    default: return 5;
    }
}

static int
compare_printers (gconstpointer a,
                  gconstpointer b,
                  gpointer      user_data)
{
  DroverWindow *self = user_data;
  DroverPrinter *printer_a = (DroverPrinter *)a;
  DroverPrinter *printer_b = (DroverPrinter *)b;
  int order = 0;

  switch (gtk_drop_down_get_selected (self->sort_order))
    {
    case 1:
      order = state_rank (drover_printer_get_state (printer_a)) - state_rank (drover_printer_get_state (printer_b));
      break;

    case 2:
      {
        /* Soonest done first; unknown times last. */
        gint64 left_a = drover_printer_get_time_left (printer_a);
        gint64 left_b = drover_printer_get_time_left (printer_b);

        if (left_a < 0)
          left_a = G_MAXINT64;
        if (left_b < 0)
          left_b = G_MAXINT64;
        order = (left_a > left_b) - (left_a < left_b);
      }
      break;

    default:
      break;
    }

  if (order == 0)
    order = g_utf8_collate (drover_printer_get_display_name (printer_a), drover_printer_get_display_name (printer_b));

  return order;
}

static void
update_counts (DroverWindow *self)
{
  static const DroverPrinterState order[] = {
    DROVER_PRINTER_STATE_PRINTING, DROVER_PRINTER_STATE_IDLE, DROVER_PRINTER_STATE_PAUSED,
    DROVER_PRINTER_STATE_ERROR, DROVER_PRINTER_STATE_OFFLINE,
  };
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      guint count = drover_fleet_count_in_state (self->fleet, order[i]);
      g_autofree char *state = NULL;

      if (count == 0)
        continue;

      state = g_utf8_strdown (drover_printer_state_to_string (order[i]), -1);
      /* Translators: a count of printers in a state, such as "5 printing" */
      g_string_append_printf (text, "%s%u %s", text->len > 0 ? " · " : "", count, state);
    }

  gtk_label_set_label (self->counts_label, text->str);
  g_string_free (text, TRUE);
}

/* A farm on a broker cluster: which node Drover is on, and when it last
 * had to move. */
static void
update_node_label (DroverWindow *self)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  for (guint i = 0; self->cluster_links != NULL && i < self->cluster_links->len; i++)
    {
      DroverMqttLink *link = g_ptr_array_index (self->cluster_links, i);
      const char *node = drover_mqtt_link_get_node (link);
      GDateTime *failover = drover_mqtt_link_get_last_failover (link);

      if (text->len > 0)
        g_string_append (text, "; ");
      if (node == NULL)
        {
          g_string_append (text, _("Connecting to the broker cluster…"));
          continue;
        }
      if (drover_mqtt_link_get_state (link) == DROVER_LINK_STATE_CONNECTED)
        /* Translators: the broker node Drover is connected to, in a cluster */
        g_string_append_printf (text, _("On node %s"), node);
      else
        /* Translators: the broker node Drover lost, while it looks for another */
        g_string_append_printf (text, _("Lost node %s, trying the others"), node);
      if (failover != NULL)
        {
          g_autofree char *since = drover_format_since (failover, now);

          /* Translators: after the node, when Drover last moved to another node, such as "2 min ago" */
          g_string_append_printf (text, _(" · failed over %s"), since);
        }
    }

  gtk_label_set_label (self->node_label, text->str);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->node_label), text->len > 0 ? text->str : NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->node_label), text->len > 0);
}

static void
follow_cluster_links (DroverWindow *self,
                      DroverFarm   *farm)
{
  GPtrArray *links = farm != NULL ? drover_farm_get_links (farm) : NULL;

  if (self->cluster_links != NULL)
    {
      for (guint i = 0; i < self->cluster_links->len; i++)
        g_signal_handlers_disconnect_by_data (g_ptr_array_index (self->cluster_links, i), self);
      g_clear_pointer (&self->cluster_links, g_ptr_array_unref);
    }

  for (guint i = 0; links != NULL && i < links->len; i++)
    {
      DroverMqttLink *link = g_ptr_array_index (links, i);

      if (drover_mqtt_link_get_n_nodes (link) < 2)
        continue;
      if (self->cluster_links == NULL)
        self->cluster_links = g_ptr_array_new_with_free_func (g_object_unref);
      g_ptr_array_add (self->cluster_links, g_object_ref (link));
      g_signal_connect_object (link, "notify::node", G_CALLBACK (update_node_label), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (link, "notify::state", G_CALLBACK (update_node_label), self, G_CONNECT_SWAPPED);
    }

  update_node_label (self);
}

static void
update_no_match (DroverWindow *self)
{
  gboolean empty = g_list_model_get_n_items (G_LIST_MODEL (self->filtered)) == 0 &&
                   drover_fleet_get_n_printers (self->fleet) > 0;

  gtk_stack_set_visible_child_name (self->fleet_stack, empty ? "no-match" : "grid");
}

/* States and times change all day: refilter and resort at most twice a
 * second, not on every message, or 10,000 printers would stall the frame. */
static gboolean
refresh_cb (gpointer data)
{
  DroverWindow *self = data;

  self->refresh_source = 0;
  if (gtk_drop_down_get_selected (self->state_filter) != 0)
    gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  if (gtk_drop_down_get_selected (self->sort_order) != 0)
    gtk_sorter_changed (GTK_SORTER (self->sorter), GTK_SORTER_CHANGE_DIFFERENT);
  update_no_match (self);

  return G_SOURCE_REMOVE;
}

static void
state_counts_changed_cb (DroverWindow *self)
{
  update_counts (self);
  /* "failed over 2 min ago" grows older with the farm's news. */
  if (self->cluster_links != NULL)
    update_node_label (self);

  if (self->refresh_source == 0)
    self->refresh_source = g_timeout_add (500, refresh_cb, self);
}

static void
search_changed_cb (DroverWindow *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));

  g_clear_pointer (&self->search_text, g_free);
  if (text != NULL && text[0] != '\0')
    self->search_text = g_utf8_casefold (text, -1);

  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  update_no_match (self);
}

static void
filter_changed_cb (DroverWindow *self)
{
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  update_no_match (self);
}

static void
sort_changed_cb (DroverWindow *self)
{
  gtk_sorter_changed (GTK_SORTER (self->sorter), GTK_SORTER_CHANGE_DIFFERENT);
}

/* The count of open alerts that need attention, and red while a critical
 * one is open. Notices (a print started at the printer, say) stay in the
 * list: counted, they would keep the number up all day, as they raise no
 * desktop notification either. */
static void
update_alerts_button (DroverWindow *self)
{
  gboolean critical = FALSE;
  guint n_open = 0;

  gtk_widget_set_visible (self->alerts_button, self->audit != NULL);
  if (self->audit != NULL)
    {
      GListModel *alerts = drover_audit_get_alerts (self->audit);

      for (guint i = 0; i < g_list_model_get_n_items (alerts); i++)
        {
          g_autoptr(DroverAlert) alert = g_list_model_get_item (alerts, i);
          DroverAlertSeverity severity = drover_alert_get_severity (alert);

          if (drover_alert_get_acknowledged (alert) || severity < DROVER_ALERT_WARNING)
            continue;
          n_open++;
          critical |= severity == DROVER_ALERT_CRITICAL;
        }
    }

  if (n_open > 0)
    {
      g_autofree char *count = g_strdup_printf ("%u", n_open);
      /* Translators: read out for the header bar's Alerts button */
      g_autofree char *description = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u open alert needs attention",
                                                                   "%u open alerts need attention", n_open),
                                                      n_open);

      gtk_label_set_label (self->alerts_count, count);
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->alerts_button),
                                      GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description, -1);
    }
  else
    {
      gtk_label_set_label (self->alerts_count, "");
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->alerts_button),
                                      GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, _("No open alert needs attention"), -1);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->alerts_count), n_open > 0);

  /* Raised and red while something critical waits: it has to stand out
   * from the header bar's other buttons. */
  if (critical)
    {
      gtk_widget_add_css_class (self->alerts_button, "error");
      gtk_widget_remove_css_class (self->alerts_button, "flat");
    }
  else
    {
      gtk_widget_remove_css_class (self->alerts_button, "error");
      gtk_widget_add_css_class (self->alerts_button, "flat");
    }
}

static DroverApplication *
get_application (DroverWindow *self)
{
  return DROVER_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
}

/* The ledger's trouble stays in sight on every page until it is over:
 * records wait in memory meanwhile, and quitting would lose them. */
static void
update_ledger_bar (DroverWindow *self)
{
  DroverApplication *app = get_application (self);
  DroverLedger *ledger = self->audit != NULL ? drover_audit_get_ledger (self->audit) : NULL;
  g_autofree char *text = NULL;

  if (ledger != self->ledger)
    {
      if (self->ledger != NULL)
        g_signal_handlers_disconnect_by_data (self->ledger, self);
      g_set_object (&self->ledger, ledger);
      if (ledger != NULL)
        {
          g_signal_connect_object (ledger, "notify::problem", G_CALLBACK (update_ledger_bar), self, G_CONNECT_SWAPPED);
          g_signal_connect_object (ledger, "notify::held", G_CALLBACK (update_ledger_bar), self, G_CONNECT_SWAPPED);
        }
    }

  if (ledger != NULL && drover_ledger_get_problem (ledger) != NULL)
    {
      guint64 lost = 0;
      guint held = drover_ledger_get_n_held (ledger, &lost);
      g_autoptr(GString) message = g_string_new (drover_ledger_get_problem (ledger));

      if (held > 0)
        {
          g_string_append_c (message, ' ');
          g_string_append_printf (message,
                                  g_dngettext (GETTEXT_PACKAGE,
                                               "%u record waits in memory and is written as soon as the ledger "
                                               "takes it again; quitting Drover now would lose it.",
                                               "%u records wait in memory and are written as soon as the ledger "
                                               "takes them again; quitting Drover now would lose them.",
                                               held),
                                  held);
        }
      if (lost > 0)
        {
          g_string_append_c (message, ' ');
          g_string_append_printf (message,
                                  g_dngettext (GETTEXT_PACKAGE,
                                               "%" G_GUINT64_FORMAT " record was lost: too many waited.",
                                               "%" G_GUINT64_FORMAT " records were lost: too many waited.",
                                               (gulong)lost),
                                  lost);
        }
      text = g_string_free (g_steal_pointer (&message), FALSE);
    }
  else if (self->audit != NULL && ledger == NULL && drover_audit_get_ready (self->audit) &&
           app != NULL && drover_application_get_ledger_error (app) != NULL)
    {
      text = g_strdup_printf (_("%s Drover keeps watching the farm, but records nothing: no history, no "
                                "alerts kept for later."),
                              drover_application_get_ledger_error (app));
    }

  gtk_label_set_label (self->ledger_label, text != NULL ? text : "");
  gtk_widget_set_visible (self->ledger_bar, text != NULL);
}

/* The application makes an audit when a farm starts and drops it when the
 * farm stops; every change of page follows it. */
static void
follow_audit (DroverWindow *self)
{
  DroverApplication *app = get_application (self);
  DroverAudit *audit = app != NULL ? drover_application_get_audit (app) : NULL;
  DroverFarm *farm = app != NULL ? drover_application_get_farm (app) : NULL;

  if (audit != self->audit)
    {
      if (self->audit != NULL)
        {
          g_signal_handlers_disconnect_by_data (self->audit, self);
          g_signal_handlers_disconnect_by_data (drover_audit_get_alerts (self->audit), self);
        }
      g_set_object (&self->audit, audit);
      if (audit != NULL)
        {
          g_signal_connect_object (audit, "alert-raised", G_CALLBACK (update_alerts_button), self, G_CONNECT_SWAPPED);
          g_signal_connect_object (audit, "alert-changed", G_CALLBACK (update_alerts_button), self, G_CONNECT_SWAPPED);
          g_signal_connect_object (audit, "ready", G_CALLBACK (update_alerts_button), self, G_CONNECT_SWAPPED);
          g_signal_connect_object (audit, "ready", G_CALLBACK (update_ledger_bar), self, G_CONNECT_SWAPPED);
          g_signal_connect_object (drover_audit_get_alerts (audit), "items-changed",
                                   G_CALLBACK (update_alerts_button), self, G_CONNECT_SWAPPED);
        }
      g_object_set (self->printer_page, "audit", audit, NULL);
    }

  drover_alerts_page_set_audit (self->alerts_page, audit, audit != NULL ? farm : NULL);
  update_alerts_button (self);
  update_ledger_bar (self);
  if (farm != self->followed_farm)
    {
      g_set_weak_pointer (&self->followed_farm, farm);
      follow_cluster_links (self, farm);
    }

  /* A job goes to a running farm's printers: none, no sending. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.send-job", farm != NULL);
  gtk_widget_set_tooltip_text (self->send_job_button,
                               farm != NULL ? _("Send a signed G-code file to the farm’s printers (Ctrl+O)")
                                            : _("Open your farm or the demo farm first: a job goes to the printers "
                                                "of a running farm"));
}

static void
show_page (DroverWindow *self,
           const char   *name)
{
  gboolean fleet = g_str_equal (name, "fleet");
  gboolean starting = g_str_equal (name, "starting");
  gboolean alerts = g_str_equal (name, "alerts");
  gboolean can_go_back = g_str_equal (name, "printer") || alerts;

  follow_audit (self);
  gtk_stack_set_visible_child_name (self->main_stack, name);
  gtk_spinner_set_spinning (self->starting_spinner, starting);
  gtk_widget_set_visible (self->demo_bar, self->showing_demo);
  gtk_widget_set_visible (self->back_button, can_go_back);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.back", can_go_back);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.close-demo",
                                 self->showing_demo && (fleet || starting || g_str_equal (name, "failed")));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.open-demo", !fleet && !starting);
  update_title (self);
}

static void
demo_started_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(DroverWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!drover_application_start_demo_finish (DROVER_APPLICATION (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      g_clear_object (&self->starting);
      adw_status_page_set_title (self->failed_page, _("The Demo Farm Did Not Start"));
      adw_status_page_set_description (self->failed_page, error->message);
      show_page (self, "failed");
      return;
    }

  g_clear_object (&self->starting);
  show_page (self, "fleet");
  gtk_widget_grab_focus (GTK_WIDGET (self->fleet_grid));
}

static void
open_demo_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  DroverWindow *self = DROVER_WINDOW (widget);
  DroverApplication *app = get_application (self);

  g_settings_set_boolean (self->settings, "demo-farm", TRUE);

  if (app == NULL)
    return;

  if (drover_application_get_demo_running (app))
    {
      self->showing_demo = drover_application_get_farm_is_demo (app);
      show_page (self, "fleet");
      return;
    }

  g_cancellable_cancel (self->starting);
  g_clear_object (&self->starting);
  self->starting = g_cancellable_new ();
  self->showing_demo = TRUE;
  show_page (self, "starting");
  drover_application_start_demo_async (app, self->starting, demo_started_cb, g_object_ref (self));
}

static void
farm_opened_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(DroverWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (drover_application_open_farm_finish (DROVER_APPLICATION (source), result, &error))
    {
      self->showing_demo = FALSE;
      show_page (self, "fleet");
      return;
    }

  /* No farm described yet: the welcome, or the demo if it was open. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      if (g_settings_get_boolean (self->settings, "demo-farm") &&
          g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "welcome") == 0)
        gtk_widget_activate_action (GTK_WIDGET (self), "win.open-demo", NULL);
      return;
    }

  self->showing_demo = FALSE;
  adw_status_page_set_title (self->failed_page, _("The Farm Could Not Be Opened"));
  adw_status_page_set_description (self->failed_page, error->message);
  show_page (self, "failed");
}

static void
close_demo_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  DroverWindow *self = DROVER_WINDOW (widget);
  DroverApplication *app = get_application (self);

  g_cancellable_cancel (self->starting);
  g_clear_object (&self->starting);
  if (app != NULL)
    drover_application_stop_demo (app);
  g_settings_set_boolean (self->settings, "demo-farm", FALSE);
  show_page (self, "welcome");
}

static void
n_printers_changed_cb (DroverWindow *self)
{
  update_title (self);
  update_no_match (self);
}

static void
printer_activated_cb (DroverWindow *self,
                      guint         position)
{
  g_autoptr(DroverPrinter) printer = g_list_model_get_item (G_LIST_MODEL (self->selection), position);
  DroverApplication *app = get_application (self);

  if (printer == NULL)
    return;

  drover_printer_page_set_printer (self->printer_page, printer,
                                   app != NULL ? drover_application_get_farm (app) : NULL);
  show_page (self, "printer");
}

static void
back_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  DroverWindow *self = DROVER_WINDOW (widget);
  g_autofree char *previous = g_steal_pointer (&self->page_before_alerts);

  drover_printer_page_set_printer (self->printer_page, NULL, NULL);

  /* From the alerts to the fleet; with no farm running there is none,
   * and the operator goes back to the welcome, or to the demo starting. */
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "alerts") == 0 && self->audit == NULL)
    {
      show_page (self, previous != NULL && !g_str_equal (previous, "fleet") && !g_str_equal (previous, "printer")
                       ? previous : "welcome");
      return;
    }

  show_page (self, "fleet");
  gtk_widget_grab_focus (GTK_WIDGET (self->fleet_grid));
}

static void
show_alerts_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  DroverWindow *self = DROVER_WINDOW (widget);
  const char *current = gtk_stack_get_visible_child_name (self->main_stack);

  if (g_strcmp0 (current, "alerts") != 0)
    {
      g_free (self->page_before_alerts);
      self->page_before_alerts = g_strdup (current);
    }

  show_page (self, "alerts");
  gtk_widget_grab_focus (GTK_WIDGET (self->alerts_page));
}

static void
reload_farm_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  DroverWindow *self = DROVER_WINDOW (widget);
  DroverApplication *app = get_application (self);

  if (app == NULL)
    return;

  g_cancellable_cancel (self->starting);
  g_clear_object (&self->starting);
  drover_printer_page_set_printer (self->printer_page, NULL, NULL);
  /* Whatever runs (the old farm, or the demo) gives way to the file's farm. */
  drover_application_stop_demo (app);
  self->showing_demo = FALSE;
  show_page (self, "welcome");
  drover_application_open_farm_async (app, NULL, farm_opened_cb, g_object_ref (self));
}

static void
diagnostics_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  DroverWindow *self = DROVER_WINDOW (widget);
  DroverApplication *app = get_application (self);

  gtk_window_present (GTK_WINDOW (drover_diagnostics_window_new (GTK_WINDOW (self),
                                                                 app != NULL ? drover_application_get_farm (app) : NULL)));
}

static void
send_job_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  DroverWindow *self = DROVER_WINDOW (widget);
  DroverApplication *app = get_application (self);

  if (app == NULL || drover_application_get_farm (app) == NULL)
    return;

  /* The window shows once a file is chosen. */
  drover_send_job_window_choose_file (drover_send_job_window_new (GTK_WINDOW (self), app));
}

static void
find_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  DroverWindow *self = DROVER_WINDOW (widget);

  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "fleet") == 0)
    gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

static gboolean
drover_window_close_request (GtkWindow *window)
{
  DroverWindow *self = DROVER_WINDOW (window);
  int width;
  int height;

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));

  return GTK_WINDOW_CLASS (drover_window_parent_class)->close_request (window);
}

static void
drover_window_constructed (GObject *object)
{
  DroverWindow *self = (DroverWindow *)object;

  G_OBJECT_CLASS (drover_window_parent_class)->constructed (object);

  if (self->fleet == NULL)
    self->fleet = drover_fleet_new ();

  /* fleet → filter (state, kind, search) → sort → grid */
  self->filter = gtk_custom_filter_new (printer_matches, self, NULL);
  self->sorter = gtk_custom_sorter_new (compare_printers, self, NULL);
  self->filtered = gtk_filter_list_model_new (g_object_ref (G_LIST_MODEL (self->fleet)),
                                              g_object_ref (GTK_FILTER (self->filter)));
  self->selection = gtk_no_selection_new (G_LIST_MODEL (gtk_sort_list_model_new (g_object_ref (G_LIST_MODEL (self->filtered)),
                                                                                 g_object_ref (GTK_SORTER (self->sorter)))));
  gtk_grid_view_set_model (self->fleet_grid, GTK_SELECTION_MODEL (self->selection));
  g_signal_connect_object (self->fleet, "notify::n-printers",
                           G_CALLBACK (n_printers_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->fleet, "state-counts-changed",
                           G_CALLBACK (state_counts_changed_cb), self, G_CONNECT_SWAPPED);
  update_counts (self);
  drover_alerts_page_set_fleet (self->alerts_page, self->fleet);

  show_page (self, "welcome");
}

static void
drover_window_dispose (GObject *object)
{
  DroverWindow *self = (DroverWindow *)object;

  if (self->ledger != NULL)
    g_signal_handlers_disconnect_by_data (self->ledger, self);
  g_clear_object (&self->ledger);
  follow_cluster_links (self, NULL);
  g_clear_weak_pointer (&self->followed_farm);
  gtk_widget_dispose_template (GTK_WIDGET (self), DROVER_TYPE_WINDOW);

  g_cancellable_cancel (self->starting);
  g_clear_object (&self->starting);
  g_clear_handle_id (&self->refresh_source, g_source_remove);
  if (self->audit != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->audit, self);
      g_signal_handlers_disconnect_by_data (drover_audit_get_alerts (self->audit), self);
    }
  g_clear_object (&self->audit);
  g_clear_pointer (&self->page_before_alerts, g_free);
  g_clear_object (&self->selection);
  g_clear_object (&self->filtered);
  g_clear_object (&self->filter);
  g_clear_object (&self->sorter);
  g_clear_pointer (&self->search_text, g_free);
  g_clear_object (&self->fleet);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (drover_window_parent_class)->dispose (object);
}

static void
drover_window_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  DroverWindow *self = DROVER_WINDOW (object);

  switch (prop_id)
    {
    case PROP_FLEET:
      g_value_set_object (value, self->fleet);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_window_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  DroverWindow *self = DROVER_WINDOW (object);

  switch (prop_id)
    {
    case PROP_FLEET:
      self->fleet = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_window_class_init (DroverWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = drover_window_constructed;
  object_class->dispose = drover_window_dispose;
  object_class->get_property = drover_window_get_property;
  object_class->set_property = drover_window_set_property;

  window_class->close_request = drover_window_close_request;

  /**
   * DroverWindow:fleet:
   *
   * The printers the window shows.
   */
  properties[PROP_FLEET] =
    g_param_spec_object ("fleet", NULL, NULL,
                         DROVER_TYPE_FLEET,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The list item factory and the template build these by type name. */
  g_type_ensure (DROVER_TYPE_PRINTER_CARD);
  g_type_ensure (DROVER_TYPE_PRINTER_PAGE);
  g_type_ensure (DROVER_TYPE_ALERTS_PAGE);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/drover/Drover/drover-window.ui");
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, fleet_grid);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, demo_bar);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, ledger_bar);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, ledger_label);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, starting_spinner);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, failed_page);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, state_filter);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, connector_filter);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, sort_order);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, counts_label);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, node_label);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, fleet_stack);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, filter_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, sort_changed_cb);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, back_button);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, send_job_button);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, printer_page);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, alerts_button);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, alerts_count);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, alerts_page);
  gtk_widget_class_bind_template_callback (widget_class, printer_activated_cb);
  gtk_widget_class_install_action (widget_class, "win.back", NULL, back_action);
  gtk_widget_class_install_action (widget_class, "win.diagnostics", NULL, diagnostics_action);
  gtk_widget_class_install_action (widget_class, "win.reload-farm", NULL, reload_farm_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, GDK_ALT_MASK, "win.back", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "win.back", NULL);

  gtk_widget_class_install_action (widget_class, "win.open-demo", NULL, open_demo_action);
  gtk_widget_class_install_action (widget_class, "win.close-demo", NULL, close_demo_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_d, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.open-demo", NULL);
  gtk_widget_class_install_action (widget_class, "win.show-alerts", NULL, show_alerts_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_a, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.show-alerts", NULL);
  gtk_widget_class_install_action (widget_class, "win.send-job", NULL, send_job_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.send-job", NULL);
  gtk_widget_class_install_action (widget_class, "win.find", NULL, find_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "win.find", NULL);
}

static void
drover_window_init (DroverWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new (APPLICATION_ID);

  g_settings_bind (self->settings, "window-width", self, "default-width", G_SETTINGS_BIND_GET_NO_CHANGES | G_SETTINGS_BIND_GET);
  g_settings_bind (self->settings, "window-height", self, "default-height", G_SETTINGS_BIND_GET_NO_CHANGES | G_SETTINGS_BIND_GET);
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
}

/**
 * drover_window_new:
 * @application: the application, whose fleet the window shows
 *
 * Returns: (transfer full): a new main window
 */
DroverWindow *
drover_window_new (DroverApplication *application)
{
  DroverWindow *self;

  g_return_val_if_fail (DROVER_IS_APPLICATION (application), NULL);

  self = g_object_new (DROVER_TYPE_WINDOW,
                       "application", application,
                       "fleet", drover_application_get_fleet (application),
                       NULL);

  /* Only now is the application set. The operator's farm first; with
   * none, the demo if it was open last time. */
  if (drover_application_get_demo_running (application))
    {
      self->showing_demo = drover_application_get_farm_is_demo (application);
      show_page (self, "fleet");
    }
  else
    drover_application_open_farm_async (application, NULL, farm_opened_cb, g_object_ref (self));

  return self;
}

DroverFleet *
drover_window_get_fleet (DroverWindow *self)
{
  g_return_val_if_fail (DROVER_IS_WINDOW (self), NULL);

  return self->fleet;
}

/**
 * drover_window_get_visible_page_name:
 * @self: a #DroverWindow
 *
 * Returns: (transfer none): "welcome", "starting", "failed", "fleet",
 *   "printer" or "alerts"
 */
const char *
drover_window_get_visible_page_name (DroverWindow *self)
{
  g_return_val_if_fail (DROVER_IS_WINDOW (self), NULL);

  return gtk_stack_get_visible_child_name (self->main_stack);
}

/**
 * drover_window_get_n_shown:
 * @self: a #DroverWindow
 *
 * Returns: how many printers pass the search and the filters
 */
guint
drover_window_get_n_shown (DroverWindow *self)
{
  g_return_val_if_fail (DROVER_IS_WINDOW (self), 0);

  return g_list_model_get_n_items (G_LIST_MODEL (self->filtered));
}
