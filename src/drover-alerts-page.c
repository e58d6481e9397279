/* drover-alerts-page.c: the farm's alerts, newest first
 *
 * One row per alert, with everything an operator needs to decide what to
 * do about it: how bad it is (an icon and a word, never colour alone),
 * when it was raised, which printers, the evidence, and who acknowledged
 * it. The buttons act on the audit; deleting a file asks first, since a
 * deleted file cannot be looked at again.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-alerts-page"

#include "config.h"

#include <glib/gi18n.h>

#include "drover-alerts-page.h"

/* How often "2 min ago" is brought up to date while the page shows. */
#define REFRESH_SECONDS 30

/* A row names this many printers, then says how many more. */
#define NAMES_IN_ROW 2

/* The delete dialog names this many printers, then says how many more. */
#define NAMES_IN_DIALOG 10

struct _DroverAlertsPage
{
  AdwBin            parent_instance;

  DroverFleet      *fleet;
  DroverAudit      *audit;
  DroverFarm       *farm;
  GPtrArray        *watched_files;     /* GListModel: a printer's files, which decide the file buttons */
  GHashTable       *watched_printers;  /* printer ids whose files are watched */
  GHashTable       *delete_errors;     /* alert id → the printers a delete failed on, a line each */
  GCancellable     *cancellable;
  guint             refresh_source;
  guint             update_source;

  /* Template widgets */
  AdwToastOverlay  *toast_overlay;
  GtkStack         *stack;
  GtkSpinner       *loading_spinner;
  GtkLabel         *summary_label;
  GtkListBox       *list_box;
};

G_DEFINE_FINAL_TYPE (DroverAlertsPage, drover_alerts_page, ADW_TYPE_BIN)

/* What a row shows, kept with the row. */
typedef struct
{
  DroverAlert *alert;
  GtkWidget   *severity_icon;
  GtkWidget   *severity_label;
  GtkWidget   *title_label;
  GtkWidget   *when_label;
  GtkWidget   *printers_label;
  GtkWidget   *all_printers_expander;
  GtkWidget   *all_printers_label;
  GtkWidget   *evidence_label;
  GtkWidget   *acknowledged_box;
  GtkWidget   *acknowledged_label;
  GtkWidget   *error_label;
  GtkWidget   *acknowledge_button;
  GtkWidget   *approve_button;
  GtkWidget   *delete_button;
} AlertRow;

#define ALERT_ROW_KEY "drover-alert-row"

static void
alert_row_free (AlertRow *row)
{
  g_clear_object (&row->alert);
  g_free (row);
}

static AlertRow *
alert_row_get (GtkWidget *widget)
{
  return g_object_get_data (G_OBJECT (widget), ALERT_ROW_KEY);
}

/* Words */

static const char *
severity_icon_name (DroverAlertSeverity severity)
{
  switch (severity)
    {
    case DROVER_ALERT_CRITICAL: return "dialog-error-symbolic";
    case DROVER_ALERT_WARNING: return "dialog-warning-symbolic";
    case DROVER_ALERT_NOTICE:
    default: return "dialog-information-symbolic";
    }
}

static const char *
severity_word (DroverAlertSeverity severity)
{
  switch (severity)
    {
    /* Translators: how bad an alert is */
    case DROVER_ALERT_CRITICAL: return _("Critical");
    /* Translators: how bad an alert is */
    case DROVER_ALERT_WARNING: return _("Warning");
    /* Translators: how bad an alert is */
    case DROVER_ALERT_NOTICE:
    default: return _("Notice");
    }
}

static void
set_severity_style (GtkWidget           *widget,
                    DroverAlertSeverity  severity)
{
  gtk_widget_remove_css_class (widget, "error");
  gtk_widget_remove_css_class (widget, "warning");
  gtk_widget_remove_css_class (widget, "dim-label");

  switch (severity)
    {
    case DROVER_ALERT_CRITICAL:
      gtk_widget_add_css_class (widget, "error");
      break;

    case DROVER_ALERT_WARNING:
      gtk_widget_add_css_class (widget, "warning");
      break;

    case DROVER_ALERT_NOTICE:
    default:
      gtk_widget_add_css_class (widget, "dim-label");
      break;
    }
}

static const char *
printer_name (DroverAlertsPage *self,
              const char       *printer_id)
{
  DroverPrinter *printer = self->fleet != NULL ? drover_fleet_find_printer (self->fleet, printer_id) : NULL;
  const char *name = printer != NULL ? drover_printer_get_display_name (printer) : NULL;

  return name != NULL && name[0] != '\0' ? name : printer_id;
}

/* "Voron 0.2 #1, Prusa MK3S+ #1 and 3 more": the first @shown by name. */
static char *
join_printer_names (DroverAlertsPage   *self,
                    const char * const *ids,
                    guint               shown)
{
  guint n = g_strv_length ((char **)ids);
  g_autoptr(GString) names = g_string_new (NULL);
  guint named = n <= shown + 1 ? n : shown;

  if (n == 0)
    return g_strdup ("");
  if (n == 1)
    return g_strdup (printer_name (self, ids[0]));

  for (guint i = 0; i + 1 < named; i++)
    {
      if (i > 0)
        /* Translators: between printer names in a list */
        g_string_append (names, _(", "));
      g_string_append (names, printer_name (self, ids[i]));
    }

  if (named == n)
    /* Translators: the end of a list of printer names, such as "Voron, Prusa and Bambu" */
    return g_strdup_printf (_("%s and %s"), names->str, printer_name (self, ids[n - 1]));

  if (names->len > 0)
    g_string_append (names, _(", "));
  g_string_append (names, printer_name (self, ids[named - 1]));
  /* Translators: a list of printer names cut short, such as "Voron, Prusa and 3 more" */
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s and %u more", "%s and %u more", n - named),
                          names->str, n - named);
}

static char *
format_clock (GDateTime *then,
              GDateTime *now)
{
  if (g_date_time_get_year (then) == g_date_time_get_year (now) &&
      g_date_time_get_day_of_year (then) == g_date_time_get_day_of_year (now))
    return g_date_time_format (then, "%X");

  /* Translators: a date and time, see strftime(3); for an alert raised on another day */
  return g_date_time_format (then, _("%e %b %Y, %X"));
}

static char *
format_when (DroverAlert *alert)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autoptr(GDateTime) created = g_date_time_new_from_unix_local (drover_alert_get_created (alert) / G_USEC_PER_SEC);
  g_autofree char *since = drover_format_since (created, now);
  g_autofree char *clock = format_clock (created, now);
  g_autofree char *raised = NULL;
  gint64 updated_us = drover_alert_get_updated (alert);

  /* Translators: when an alert was raised: how long ago, and the local time */
  raised = g_strdup_printf (_("Raised %s (%s)"), since, clock);

  if (updated_us - drover_alert_get_created (alert) >= 60 * G_USEC_PER_SEC)
    {
      g_autoptr(GDateTime) updated = g_date_time_new_from_unix_local (updated_us / G_USEC_PER_SEC);
      g_autofree char *updated_since = drover_format_since (updated, now);

      /* Translators: when an alert was raised, then when it last gathered evidence or a printer */
      return g_strdup_printf (_("%s · last changed %s"), raised, updated_since);
    }

  return g_steal_pointer (&raised);
}

/* Files */

static void schedule_update (DroverAlertsPage *self);

static void
watch_files (DroverAlertsPage *self,
             const char       *printer_id,
             GListModel       *files)
{
  if (g_hash_table_contains (self->watched_printers, printer_id))
    return;

  g_hash_table_add (self->watched_printers, g_strdup (printer_id));
  g_ptr_array_add (self->watched_files, g_object_ref (files));
  g_signal_connect_object (files, "items-changed", G_CALLBACK (schedule_update), self, G_CONNECT_SWAPPED);
}

static void
unwatch_files (DroverAlertsPage *self)
{
  for (guint i = 0; i < self->watched_files->len; i++)
    g_signal_handlers_disconnect_by_data (g_ptr_array_index (self->watched_files, i), self);
  g_ptr_array_set_size (self->watched_files, 0);
  g_hash_table_remove_all (self->watched_printers);
}

/*
 * The alert's printers that list its subject as a file, how many of those
 * copies are still unexpected, and how many an operator approved. An
 * alert about a command or an order names no file, and gets no file
 * buttons; nor does a print of a file Drover sent or found there.
 */
static GPtrArray *
printers_with_file (DroverAlertsPage *self,
                    DroverAlert      *alert,
                    guint            *n_unexpected,
                    guint            *n_approved)
{
  const char * const *printers = drover_alert_get_printers (alert);
  const char *subject = drover_alert_get_subject (alert);
  GPtrArray *found = g_ptr_array_new_with_free_func (g_free);

  if (n_unexpected != NULL)
    *n_unexpected = 0;
  if (n_approved != NULL)
    *n_approved = 0;

  if (self->audit == NULL || subject == NULL)
    return found;

  for (guint i = 0; printers[i] != NULL; i++)
    {
      GListModel *files = drover_audit_get_files (self->audit, printers[i]);
      guint n = g_list_model_get_n_items (files);

      watch_files (self, printers[i], files);
      for (guint j = 0; j < n; j++)
        {
          g_autoptr(DroverFileItem) item = g_list_model_get_item (files, j);

          if (g_strcmp0 (drover_file_item_get_name (item), subject) != 0)
            continue;

          g_ptr_array_add (found, g_strdup (printers[i]));
          if (n_unexpected != NULL && drover_file_item_get_provenance (item) == DROVER_FILE_UNEXPECTED)
            (*n_unexpected)++;
          if (n_approved != NULL && drover_file_item_get_provenance (item) == DROVER_FILE_APPROVED)
            (*n_approved)++;
          break;
        }
    }

  return found;
}

/* Rows */

/* Buttons sit in a flow box, which wraps them on a narrow window: the
 * box's child goes, or the gap would stay. */
static void
set_button_visible (GtkWidget *button,
                    gboolean   visible)
{
  gtk_widget_set_visible (button, visible);
  gtk_widget_set_visible (gtk_widget_get_parent (button), visible);
}

static void
update_row (DroverAlertsPage *self,
            GtkWidget        *widget)
{
  AlertRow *row = alert_row_get (widget);
  DroverAlert *alert = row->alert;
  DroverAlertSeverity severity = drover_alert_get_severity (alert);
  const char * const *printers = drover_alert_get_printers (alert);
  const char * const *evidence = drover_alert_get_evidence (alert);
  guint n_printers = drover_alert_get_n_printers (alert);
  gboolean acknowledged = drover_alert_get_acknowledged (alert);
  const char *error = g_hash_table_lookup (self->delete_errors, drover_alert_get_id (alert));
  g_autoptr(GPtrArray) with_file = NULL;
  g_autoptr(GString) lines = g_string_new (NULL);
  g_autofree char *when = format_when (alert);
  g_autofree char *names = join_printer_names (self, printers, NAMES_IN_ROW);
  g_autofree char *accessible = NULL;
  guint n_unexpected = 0;
  guint n_approved = 0;

  gtk_image_set_from_icon_name (GTK_IMAGE (row->severity_icon), severity_icon_name (severity));
  gtk_label_set_label (GTK_LABEL (row->severity_label), severity_word (severity));
  set_severity_style (row->severity_icon, severity);
  set_severity_style (row->severity_label, severity);

  gtk_label_set_label (GTK_LABEL (row->title_label), drover_alert_get_title (alert));
  gtk_label_set_label (GTK_LABEL (row->when_label), when);
  gtk_label_set_label (GTK_LABEL (row->printers_label), names);

  /* The whole list, when the row could not name them all. */
  gtk_widget_set_visible (row->all_printers_expander, n_printers > NAMES_IN_ROW + 1);
  if (n_printers > NAMES_IN_ROW + 1)
    {
      g_autofree char *expander = NULL;

      for (guint i = 0; printers[i] != NULL; i++)
        g_string_append_printf (lines, "%s%s", i > 0 ? "\n" : "", printer_name (self, printers[i]));
      gtk_label_set_label (GTK_LABEL (row->all_printers_label), lines->str);
      /* Translators: the expander under an alert that lists every printer it concerns */
      expander = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "All %u Printer", "All %u Printers", n_printers),
                                  n_printers);
      gtk_expander_set_label (GTK_EXPANDER (row->all_printers_expander), expander);
      g_string_truncate (lines, 0);
    }

  for (guint i = 0; evidence[i] != NULL; i++)
    g_string_append_printf (lines, "%s• %s", i > 0 ? "\n" : "", evidence[i]);
  gtk_label_set_label (GTK_LABEL (row->evidence_label), lines->str);
  gtk_widget_set_visible (row->evidence_label, lines->len > 0);

  gtk_widget_set_visible (row->acknowledged_box, acknowledged);
  if (acknowledged)
    {
      g_autofree char *by = NULL;

      /* Translators: who saw an alert and said so */
      by = g_strdup_printf (_("Acknowledged by %s"), drover_alert_get_acknowledged_by (alert) != NULL
                                                     ? drover_alert_get_acknowledged_by (alert) : _("an operator"));
      gtk_label_set_label (GTK_LABEL (row->acknowledged_label), by);
    }

  gtk_label_set_label (GTK_LABEL (row->error_label), error != NULL ? error : "");
  gtk_widget_set_visible (row->error_label, error != NULL);

  /* Deleting is for a file that turned up, approved since or not; a
   * notice that a printer started one of its own files offers none. */
  with_file = printers_with_file (self, alert, &n_unexpected, &n_approved);
  set_button_visible (row->acknowledge_button, !acknowledged);
  set_button_visible (row->approve_button, n_unexpected > 0);
  set_button_visible (row->delete_button, n_unexpected + n_approved > 0 && self->farm != NULL);
  gtk_button_set_label (GTK_BUTTON (row->delete_button),
                        with_file->len > 1 ? _("_Delete from Printers…") : _("_Delete from Printer…"));

  /* Translators: what a screen reader says for an alert: how bad, and what */
  accessible = g_strdup_printf (_("%s: %s"), severity_word (severity), drover_alert_get_title (alert));
  gtk_accessible_update_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL, accessible, -1);
}

static GtkWidget *
new_label (const char *css_class,
           gboolean    wrap)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0.0f);
  gtk_label_set_wrap (GTK_LABEL (label), wrap);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);

  return label;
}

static GtkWidget *
new_button (const char *label,
            const char *action_name,
            const char *alert_id,
            const char *css_class)
{
  GtkWidget *button = gtk_button_new_with_mnemonic (label);

  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action_name);
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (button), g_variant_new_string (alert_id));
  if (css_class != NULL)
    gtk_widget_add_css_class (button, css_class);

  return button;
}

static GtkWidget *
new_icon_line (const char  *icon_name,
               GtkWidget  **label)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *icon = gtk_image_new_from_icon_name (icon_name);

  gtk_accessible_update_property (GTK_ACCESSIBLE (icon), GTK_ACCESSIBLE_PROPERTY_LABEL, "", -1);
  gtk_widget_set_valign (icon, GTK_ALIGN_START);
  gtk_widget_set_margin_top (icon, 1);
  *label = new_label (NULL, TRUE);
  gtk_widget_set_hexpand (*label, TRUE);
  gtk_box_append (GTK_BOX (box), icon);
  gtk_box_append (GTK_BOX (box), *label);

  return box;
}

static GtkWidget *
create_row (gpointer item,
            gpointer user_data)
{
  DroverAlertsPage *self = user_data;
  DroverAlert *alert = item;
  const char *id = drover_alert_get_id (alert);
  AlertRow *row = g_new0 (AlertRow, 1);
  GtkWidget *widget = gtk_list_box_row_new ();
  GtkWidget *outer = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *severity = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *content = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *printers_line;
  GtkWidget *buttons = gtk_flow_box_new ();

  row->alert = g_object_ref (alert);
  g_object_set_data_full (G_OBJECT (widget), ALERT_ROW_KEY, row, (GDestroyNotify)alert_row_free);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (widget), FALSE);

  gtk_widget_set_margin_top (outer, 12);
  gtk_widget_set_margin_bottom (outer, 12);
  gtk_widget_set_margin_start (outer, 12);
  gtk_widget_set_margin_end (outer, 12);

  /* How bad: an icon over a word, the same colour. */
  gtk_widget_set_size_request (severity, 64, -1);
  gtk_widget_set_valign (severity, GTK_ALIGN_START);
  row->severity_icon = gtk_image_new ();
  gtk_image_set_pixel_size (GTK_IMAGE (row->severity_icon), 24);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row->severity_icon), GTK_ACCESSIBLE_PROPERTY_LABEL, "", -1);
  row->severity_label = gtk_label_new (NULL);
  gtk_widget_add_css_class (row->severity_label, "caption-heading");
  gtk_box_append (GTK_BOX (severity), row->severity_icon);
  gtk_box_append (GTK_BOX (severity), row->severity_label);
  gtk_box_append (GTK_BOX (outer), severity);

  gtk_widget_set_hexpand (content, TRUE);
  row->title_label = new_label ("heading", TRUE);
  gtk_box_append (GTK_BOX (content), row->title_label);

  row->when_label = new_label ("dim-label", TRUE);
  gtk_widget_add_css_class (row->when_label, "caption");
  gtk_box_append (GTK_BOX (content), row->when_label);

  printers_line = new_icon_line ("printer-symbolic", &row->printers_label);
  gtk_widget_set_tooltip_text (printers_line, _("The printers concerned"));
  gtk_box_append (GTK_BOX (content), printers_line);

  row->all_printers_expander = gtk_expander_new (NULL);
  row->all_printers_label = new_label (NULL, TRUE);
  gtk_widget_set_margin_start (row->all_printers_label, 22);
  gtk_widget_set_margin_top (row->all_printers_label, 4);
  gtk_expander_set_child (GTK_EXPANDER (row->all_printers_expander), row->all_printers_label);
  gtk_box_append (GTK_BOX (content), row->all_printers_expander);

  row->evidence_label = new_label (NULL, TRUE);
  gtk_widget_set_margin_top (row->evidence_label, 4);
  gtk_box_append (GTK_BOX (content), row->evidence_label);

  row->acknowledged_box = new_icon_line ("emblem-ok-symbolic", &row->acknowledged_label);
  gtk_widget_add_css_class (row->acknowledged_box, "success");
  gtk_box_append (GTK_BOX (content), row->acknowledged_box);

  row->error_label = new_label ("error", TRUE);
  gtk_box_append (GTK_BOX (content), row->error_label);

  gtk_widget_set_margin_top (buttons, 6);
  gtk_flow_box_set_selection_mode (GTK_FLOW_BOX (buttons), GTK_SELECTION_NONE);
  gtk_flow_box_set_column_spacing (GTK_FLOW_BOX (buttons), 6);
  gtk_flow_box_set_row_spacing (GTK_FLOW_BOX (buttons), 6);
  gtk_flow_box_set_max_children_per_line (GTK_FLOW_BOX (buttons), 3);
  /* Equal cells keep the flow box's height for a width the same as it
   * measured; unequal ones wrap differently once placed at the start. */
  gtk_flow_box_set_homogeneous (GTK_FLOW_BOX (buttons), TRUE);
  gtk_widget_set_halign (buttons, GTK_ALIGN_START);
  row->acknowledge_button = new_button (_("_Acknowledge"), "alerts.acknowledge", id, "suggested-action");
  gtk_widget_set_tooltip_text (row->acknowledge_button, _("Say you have seen this alert; Drover records your name"));
  row->approve_button = new_button (_("A_pprove File"), "alerts.approve-file", id, NULL);
  gtk_widget_set_tooltip_text (row->approve_button,
                               _("Vouch for this file on the alert’s printers, and acknowledge the alert"));
  /* Not red here: the question that follows is, and a list of red
   * buttons would shout over the alerts. */
  row->delete_button = new_button (_("_Delete from Printers…"), "alerts.delete-file", id, NULL);
  gtk_widget_set_tooltip_text (row->delete_button, _("Ask the printers to delete this file"));
  gtk_flow_box_append (GTK_FLOW_BOX (buttons), row->acknowledge_button);
  gtk_flow_box_append (GTK_FLOW_BOX (buttons), row->approve_button);
  gtk_flow_box_append (GTK_FLOW_BOX (buttons), row->delete_button);
  /* Tab goes to the buttons, not to the flow box's cells around them. */
  for (GtkWidget *child = gtk_widget_get_first_child (buttons); child != NULL; child = gtk_widget_get_next_sibling (child))
    gtk_widget_set_focusable (child, FALSE);
  gtk_box_append (GTK_BOX (content), buttons);

  gtk_box_append (GTK_BOX (outer), content);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (widget), outer);

  update_row (self, widget);

  return widget;
}

static GtkWidget *
find_row (DroverAlertsPage *self,
          DroverAlert      *alert)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->list_box));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      AlertRow *row = GTK_IS_LIST_BOX_ROW (child) ? alert_row_get (child) : NULL;

      if (row != NULL && row->alert == alert)
        return child;
    }

  return NULL;
}

static void
update_summary (DroverAlertsPage *self)
{
  GListModel *alerts;
  guint n_alerts;
  guint n_open;
  g_autofree char *open = NULL;
  g_autofree char *text = NULL;

  if (self->audit == NULL)
    return;

  alerts = drover_audit_get_alerts (self->audit);
  n_alerts = g_list_model_get_n_items (alerts);
  n_open = drover_audit_get_n_open_alerts (self->audit);

  if (n_open == 0)
    text = g_strdup (_("Every alert has been acknowledged."));
  else if (n_open == n_alerts)
    /* Translators: over the alerts list */
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u alert to look at", "%u alerts to look at", n_open), n_open);
  else
    {
      /* Translators: over the alerts list; the rest are acknowledged */
      open = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u alert to look at", "%u alerts to look at", n_open), n_open);
      /* Translators: over the alerts list: "2 alerts to look at · 3 acknowledged" */
      text = g_strdup_printf (_("%s · %u acknowledged"), open, n_alerts - n_open);
    }

  gtk_label_set_label (self->summary_label, text);
}

static void
update_all_rows (DroverAlertsPage *self)
{
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->list_box));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (GTK_IS_LIST_BOX_ROW (child) && alert_row_get (child) != NULL)
      update_row (self, child);

  update_summary (self);
}

static gboolean
update_cb (gpointer data)
{
  DroverAlertsPage *self = data;

  self->update_source = 0;
  update_all_rows (self);

  return G_SOURCE_REMOVE;
}

/* A file list changes many files at once: catch up once, afterwards. */
static void
schedule_update (DroverAlertsPage *self)
{
  if (self->update_source == 0)
    self->update_source = g_idle_add (update_cb, self);
}

static void
update_stack (DroverAlertsPage *self)
{
  const char *page;

  if (self->audit == NULL)
    page = "not-watching";
  else if (g_list_model_get_n_items (drover_audit_get_alerts (self->audit)) > 0)
    page = "list";
  else if (!drover_audit_get_ready (self->audit))
    page = "loading";
  else
    page = "empty";

  gtk_stack_set_visible_child_name (self->stack, page);
  gtk_spinner_set_spinning (self->loading_spinner, g_str_equal (page, "loading"));
  update_summary (self);
}

static void
alert_changed_cb (DroverAlertsPage *self,
                  DroverAlert      *alert)
{
  GtkWidget *row = find_row (self, alert);

  if (row != NULL)
    update_row (self, row);
  update_summary (self);
}

static void
add_toast (DroverAlertsPage *self,
           const char       *text)
{
  /* A toast's title is markup; names come from printers. */
  g_autofree char *escaped = g_markup_escape_text (text, -1);

  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (escaped));
}

/* Actions */

static DroverAlert *
lookup_alert (DroverAlertsPage *self,
              GVariant         *parameter)
{
  if (self->audit == NULL || parameter == NULL)
    return NULL;

  return drover_audit_find_alert (self->audit, g_variant_get_string (parameter, NULL));
}

/* The button that had focus goes away: keep the keyboard on the row. */
static void
focus_row (DroverAlertsPage *self,
           DroverAlert      *alert)
{
  GtkWidget *row = find_row (self, alert);

  if (row != NULL)
    gtk_widget_grab_focus (row);
}

static void
acknowledge_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  DroverAlertsPage *self = DROVER_ALERTS_PAGE (widget);
  DroverAlert *alert = lookup_alert (self, parameter);

  if (alert == NULL)
    return;

  focus_row (self, alert);
  drover_audit_acknowledge (self->audit, alert);
}

static void
approve_file_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  DroverAlertsPage *self = DROVER_ALERTS_PAGE (widget);
  DroverAlert *alert = lookup_alert (self, parameter);
  const char * const *printers;
  const char *name;
  g_autofree char *text = NULL;
  g_autofree char *shown = NULL;
  guint n;

  if (alert == NULL || drover_alert_get_subject (alert) == NULL)
    return;

  printers = drover_alert_get_printers (alert);
  name = drover_alert_get_subject (alert);
  n = drover_alert_get_n_printers (alert);

  focus_row (self, alert);
  for (guint i = 0; printers[i] != NULL; i++)
    drover_audit_approve_file (self->audit, printers[i], name);
  drover_audit_acknowledge (self->audit, alert);

  /* Translators: a toast after approving a file; %s is its name */
  shown = drover_format_untrusted (name, 80);
  text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Approved “%s” on %u printer", "Approved “%s” on %u printers", n),
                          shown, n);
  add_toast (self, text);
  /* Other alerts may name the same file on the same printers. */
  update_all_rows (self);
}

typedef struct
{
  DroverAlertsPage *self;
  DroverAlert      *alert;
  char             *name;
  guint             n_printers;
  guint             n_pending;
  guint             n_deleted;
  GString          *errors;
} DeleteOperation;

typedef struct
{
  DeleteOperation *operation;
  char            *printer_id;
} DeleteCall;

static void
delete_operation_free (DeleteOperation *operation)
{
  g_clear_object (&operation->self);
  g_clear_object (&operation->alert);
  g_free (operation->name);
  g_string_free (operation->errors, TRUE);
  g_free (operation);
}

static void
delete_operation_done (DeleteOperation *operation)
{
  DroverAlertsPage *self = operation->self;
  const char *id = drover_alert_get_id (operation->alert);
  g_autofree char *text = NULL;
  g_autofree char *shown = drover_format_untrusted (operation->name, 80);
  GtkWidget *row;

  if (operation->errors->len > 0)
    g_hash_table_replace (self->delete_errors, g_strdup (id), g_strdup (operation->errors->str));
  else
    g_hash_table_remove (self->delete_errors, id);

  if (operation->n_deleted == operation->n_printers)
    /* Translators: a toast; the file lists show the file gone once the printers confirm */
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Told %u printer to delete “%s”", "Told %u printers to delete “%s”",
                                         operation->n_printers),
                            operation->n_printers, shown);
  else if (operation->n_deleted > 0)
    /* Translators: a toast; the alert then says why the others failed */
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Told %u of %u printer to delete “%s”; the alert says why not the others",
                                         "Told %u of %u printers to delete “%s”; the alert says why not the others",
                                         operation->n_printers),
                            operation->n_deleted, operation->n_printers, shown);
  else
    /* Translators: a toast; the alert then says why */
    text = g_strdup_printf (_("“%s” could not be deleted; the alert says why"), shown);
  add_toast (self, text);

  row = find_row (self, operation->alert);
  if (row != NULL)
    update_row (self, row);

  delete_operation_free (operation);
}

static void
file_deleted_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  DeleteCall *call = user_data;
  DeleteOperation *operation = call->operation;
  g_autoptr(GError) error = NULL;

  if (drover_farm_delete_file_finish (DROVER_FARM (source), result, &error))
    operation->n_deleted++;
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      if (operation->errors->len > 0)
        g_string_append_c (operation->errors, '\n');
      /* Translators: under an alert, one line per printer a file could not be deleted from */
      g_string_append_printf (operation->errors, _("Not deleted from %s: %s"),
                              printer_name (operation->self, call->printer_id), error->message);
    }

  g_free (call->printer_id);
  g_free (call);

  if (--operation->n_pending > 0)
    return;

  if (g_cancellable_is_cancelled (operation->self->cancellable))
    delete_operation_free (operation);
  else
    delete_operation_done (operation);
}

typedef struct
{
  DroverAlertsPage  *self;
  DroverAlert       *alert;
  char             **printers;   /* the ones the operator was asked about */
} DeleteQuestion;

static void
delete_question_free (gpointer data,
                      GClosure *closure)
{
  DeleteQuestion *question = data;

  g_clear_object (&question->self);
  g_clear_object (&question->alert);
  g_strfreev (question->printers);
  g_free (question);
}

static void
delete_response_cb (AdwMessageDialog *dialog,
                    const char       *response,
                    DeleteQuestion   *question)
{
  DroverAlertsPage *self = question->self;
  DeleteOperation *operation;

  if (!g_str_equal (response, "delete") || self->farm == NULL || self->audit == NULL)
    return;

  operation = g_new0 (DeleteOperation, 1);
  operation->self = g_object_ref (self);
  operation->alert = g_object_ref (question->alert);
  operation->name = g_strdup (drover_alert_get_subject (question->alert));
  operation->errors = g_string_new (NULL);
  operation->n_printers = g_strv_length (question->printers);
  operation->n_pending = operation->n_printers;

  g_hash_table_remove (self->delete_errors, drover_alert_get_id (question->alert));
  for (guint i = 0; question->printers[i] != NULL; i++)
    {
      DeleteCall *call = g_new0 (DeleteCall, 1);

      call->operation = operation;
      call->printer_id = g_strdup (question->printers[i]);
      drover_farm_delete_file_async (self->farm, question->printers[i], operation->name, self->cancellable,
                                     file_deleted_cb, call);
    }
}

static void
delete_file_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  DroverAlertsPage *self = DROVER_ALERTS_PAGE (widget);
  DroverAlert *alert = lookup_alert (self, parameter);
  g_autoptr(GPtrArray) printers = NULL;
  g_autofree char *names = NULL;
  g_autofree char *shown = NULL;
  DeleteQuestion *question;
  GtkWidget *dialog;
  const char *name;
  GtkRoot *root;
  guint n_printers;

  if (alert == NULL || self->farm == NULL)
    return;

  printers = printers_with_file (self, alert, NULL, NULL);
  if (printers->len == 0)
    return;
  g_ptr_array_add (printers, NULL);

  name = shown = drover_format_untrusted (drover_alert_get_subject (alert), 120);
  names = join_printer_names (self, (const char * const *)printers->pdata, NAMES_IN_DIALOG);
  root = gtk_widget_get_root (widget);

  n_printers = printers->len - 1;

  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, NULL, NULL);
  if (n_printers == 1)
    /* Translators: the question before deleting a file from one printer: the file, then the printer */
    adw_message_dialog_format_heading (ADW_MESSAGE_DIALOG (dialog), _("Delete “%s” from %s?"), name, names);
  else
    /* Translators: the question before deleting a file from several printers */
    adw_message_dialog_format_heading (ADW_MESSAGE_DIALOG (dialog),
                                       g_dngettext (GETTEXT_PACKAGE, "Delete “%s” from %u Printer?",
                                                    "Delete “%s” from %u Printers?", n_printers),
                                       name, n_printers);

  /* Translators: the body of the question before deleting a file; the first %s names the printers */
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  _("Drover will ask %s to delete “%s”. Once deleted, the file cannot be "
                                    "looked at again; the ledger records that you had it deleted."),
                                  names, name);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "delete", _("_Delete"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "delete", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");

  question = g_new0 (DeleteQuestion, 1);
  question->self = g_object_ref (self);
  question->alert = g_object_ref (alert);
  question->printers = g_new0 (char *, n_printers + 1);
  for (guint i = 0; i < n_printers; i++)
    question->printers[i] = g_strdup (g_ptr_array_index (printers, i));
  g_signal_connect_data (dialog, "response", G_CALLBACK (delete_response_cb), question, delete_question_free, 0);

  gtk_window_present (GTK_WINDOW (dialog));
}

/* GtkWidget */

static gboolean
refresh_cb (gpointer data)
{
  update_all_rows (DROVER_ALERTS_PAGE (data));

  return G_SOURCE_CONTINUE;
}

static void
drover_alerts_page_map (GtkWidget *widget)
{
  DroverAlertsPage *self = DROVER_ALERTS_PAGE (widget);

  GTK_WIDGET_CLASS (drover_alerts_page_parent_class)->map (widget);

  update_all_rows (self);
  if (self->refresh_source == 0)
    self->refresh_source = g_timeout_add_seconds (REFRESH_SECONDS, refresh_cb, self);
}

static void
drover_alerts_page_unmap (GtkWidget *widget)
{
  DroverAlertsPage *self = DROVER_ALERTS_PAGE (widget);

  g_clear_handle_id (&self->refresh_source, g_source_remove);

  GTK_WIDGET_CLASS (drover_alerts_page_parent_class)->unmap (widget);
}

static gboolean
drover_alerts_page_grab_focus (GtkWidget *widget)
{
  DroverAlertsPage *self = DROVER_ALERTS_PAGE (widget);
  GtkListBoxRow *first = gtk_list_box_get_row_at_index (self->list_box, 0);

  if (first != NULL && gtk_widget_get_mapped (GTK_WIDGET (first)))
    return gtk_widget_grab_focus (GTK_WIDGET (first));

  return GTK_WIDGET_CLASS (drover_alerts_page_parent_class)->grab_focus (widget);
}

static void
drover_alerts_page_dispose (GObject *object)
{
  DroverAlertsPage *self = (DroverAlertsPage *)object;

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->refresh_source, g_source_remove);
  g_clear_handle_id (&self->update_source, g_source_remove);
  if (self->list_box != NULL)
    gtk_list_box_bind_model (self->list_box, NULL, NULL, NULL, NULL);
  unwatch_files (self);
  if (self->audit != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->audit, self);
      g_signal_handlers_disconnect_by_data (drover_audit_get_alerts (self->audit), self);
    }
  g_clear_object (&self->audit);
  g_clear_object (&self->farm);
  g_clear_object (&self->fleet);

  /* The bin's child is a template child: let the bin let go of it first. */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), DROVER_TYPE_ALERTS_PAGE);

  G_OBJECT_CLASS (drover_alerts_page_parent_class)->dispose (object);
}

static void
drover_alerts_page_finalize (GObject *object)
{
  DroverAlertsPage *self = (DroverAlertsPage *)object;

  g_clear_pointer (&self->watched_files, g_ptr_array_unref);
  g_clear_pointer (&self->watched_printers, g_hash_table_unref);
  g_clear_pointer (&self->delete_errors, g_hash_table_unref);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (drover_alerts_page_parent_class)->finalize (object);
}

static void
drover_alerts_page_class_init (DroverAlertsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = drover_alerts_page_dispose;
  object_class->finalize = drover_alerts_page_finalize;
  widget_class->map = drover_alerts_page_map;
  widget_class->unmap = drover_alerts_page_unmap;
  widget_class->grab_focus = drover_alerts_page_grab_focus;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/drover/Drover/drover-alerts-page.ui");
  gtk_widget_class_bind_template_child (widget_class, DroverAlertsPage, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, DroverAlertsPage, stack);
  gtk_widget_class_bind_template_child (widget_class, DroverAlertsPage, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, DroverAlertsPage, summary_label);
  gtk_widget_class_bind_template_child (widget_class, DroverAlertsPage, list_box);

  /* Each takes the alert's id. */
  gtk_widget_class_install_action (widget_class, "alerts.acknowledge", "s", acknowledge_action);
  gtk_widget_class_install_action (widget_class, "alerts.approve-file", "s", approve_file_action);
  gtk_widget_class_install_action (widget_class, "alerts.delete-file", "s", delete_file_action);
}

static void
drover_alerts_page_init (DroverAlertsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->watched_files = g_ptr_array_new_with_free_func (g_object_unref);
  self->watched_printers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->delete_errors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  update_stack (self);
}

GtkWidget *
drover_alerts_page_new (void)
{
  return g_object_new (DROVER_TYPE_ALERTS_PAGE, NULL);
}

/**
 * drover_alerts_page_set_fleet:
 * @fleet: (nullable): the printers, for their names
 */
void
drover_alerts_page_set_fleet (DroverAlertsPage *self,
                              DroverFleet      *fleet)
{
  g_return_if_fail (DROVER_IS_ALERTS_PAGE (self));
  g_return_if_fail (fleet == NULL || DROVER_IS_FLEET (fleet));

  if (g_set_object (&self->fleet, fleet))
    update_all_rows (self);
}

/**
 * drover_alerts_page_set_audit:
 * @audit: (nullable): the running farm's audit; %NULL when no farm runs
 * @farm: (nullable): the farm, to delete files with
 *
 * Shows @audit's alerts, or says that Drover is not watching yet.
 */
void
drover_alerts_page_set_audit (DroverAlertsPage *self,
                              DroverAudit      *audit,
                              DroverFarm       *farm)
{
  g_return_if_fail (DROVER_IS_ALERTS_PAGE (self));
  g_return_if_fail (audit == NULL || DROVER_IS_AUDIT (audit));
  g_return_if_fail (farm == NULL || DROVER_IS_FARM (farm));

  g_set_object (&self->farm, farm);
  if (audit == self->audit)
    return;

  /* Deletes under way belong to the farm that is going. */
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_hash_table_remove_all (self->delete_errors);

  gtk_list_box_bind_model (self->list_box, NULL, NULL, NULL, NULL);
  unwatch_files (self);
  if (self->audit != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->audit, self);
      g_signal_handlers_disconnect_by_data (drover_audit_get_alerts (self->audit), self);
    }
  g_set_object (&self->audit, audit);

  if (audit != NULL)
    {
      g_signal_connect_object (audit, "alert-changed", G_CALLBACK (alert_changed_cb), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (audit, "ready", G_CALLBACK (update_stack), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (drover_audit_get_alerts (audit), "items-changed", G_CALLBACK (update_stack), self,
                               G_CONNECT_SWAPPED);
      gtk_list_box_bind_model (self->list_box, drover_audit_get_alerts (audit), create_row, self, NULL);
    }

  update_stack (self);
}

/**
 * drover_alerts_page_get_audit:
 *
 * Returns: (transfer none) (nullable): the audit whose alerts show
 */
DroverAudit *
drover_alerts_page_get_audit (DroverAlertsPage *self)
{
  g_return_val_if_fail (DROVER_IS_ALERTS_PAGE (self), NULL);

  return self->audit;
}
