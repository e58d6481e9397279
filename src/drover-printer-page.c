/* drover-printer-page.c: one printer, up close
 *
 * Four tabs. Status: live values, how Drover reaches the printer, and the
 * newest message it sent, as it arrived: what an operator needs to tell a
 * printer's fault from a connection's. Files: what is on the printer and
 * where each file came from, from the audit. Jobs: the signed jobs sent to
 * it or refused, and the jobs it started that Drover did not send, from
 * the ledger, live. History: the ledger's rows about the printer, newest
 * first, searchable, and live.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-printer-page"

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "drover-printer-page.h"

/* The History tab shows this many rows at most; a search finds older ones. */
#define HISTORY_LIMIT 500
/* And the Jobs tab. */
#define JOBS_LIMIT 500

struct _DroverPrinterPage
{
  AdwBin          parent_instance;

  DroverPrinter  *printer;
  DroverFarm     *farm;
  GtkLabel       *control_label;
  DroverAudit    *audit;
  GSignalGroup   *printer_signals;
  guint           refresh_source;

  GListModel     *files;               /* the audit's list of the printer's files */
  GtkSortListModel *sorted_files;      /* unexpected first, then by name */
  GtkCustomSorter *files_sorter;
  guint           files_source;        /* catching up with provenances that changed */

  DroverLedger   *ledger;
  GCancellable   *history_cancellable; /* the query under way */
  GPtrArray      *history_waiting;     /* DroverLedgerEntry committed while a query ran */
  char           *history_printer_id;  /* whose rows show; NULL until the tab is first shown */
  char           *history_text;        /* the search, or NULL */
  gint64          history_last_seq;    /* the newest row shown, or known to be in the query */
  guint           history_n_rows;
  gboolean        history_more;        /* older rows exist beyond the limit */
  gboolean        history_loading;

  AdwViewStack   *view_stack;
  AdwViewStackPage *files_page;
  GtkListBox     *files_list;
  GtkLabel       *files_placeholder;
  GtkSearchEntry *history_search;
  GtkLabel       *history_status;
  GtkListBox     *history_list;
  GtkLabel       *history_more_label;

  GCancellable   *jobs_cancellable;    /* the query under way */
  GPtrArray      *jobs_waiting;        /* DroverLedgerEntry committed while a query ran */
  GHashTable     *signers;             /* key id → who signs with it, from the trust store */
  char           *jobs_printer_id;     /* whose jobs show; NULL until the tab is first shown */
  gint64          jobs_last_seq;
  guint           jobs_n_rows;
  gboolean        jobs_more;
  gboolean        jobs_loading;
  GtkLabel       *jobs_status;
  GtkListBox     *jobs_list;

  GtkLabel       *state_value;
  GtkLabel       *hotend_value;
  GtkLabel       *bed_value;
  GtkLabel       *job_value;
  GtkLabel       *progress_value;
  GtkLabel       *seen_value;
  GtkLabel       *connector_value;
  GtkLabel       *id_value;
  GtkLabel       *key_value;
  GtkLabel       *broker_value;
  AdwActionRow   *state_row;
  AdwActionRow   *broker_row;
  AdwActionRow   *security_row;
  GtkLabel       *message_topic;
  GtkTextView    *message_view;
};

G_DEFINE_FINAL_TYPE (DroverPrinterPage, drover_printer_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_AUDIT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* What each button may do now: pause while printing, resume while
 * paused, cancel either; heaters off whenever the printer is there. */
static void
update_controls (DroverPrinterPage *self)
{
  DroverPrinterState state = self->printer != NULL ? drover_printer_get_state (self->printer) : DROVER_PRINTER_STATE_OFFLINE;
  gboolean farm = self->farm != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "printer.pause", farm && state == DROVER_PRINTER_STATE_PRINTING);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "printer.resume", farm && state == DROVER_PRINTER_STATE_PAUSED);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "printer.cancel",
                                 farm && (state == DROVER_PRINTER_STATE_PRINTING || state == DROVER_PRINTER_STATE_PAUSED));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "printer.heaters-off", farm && state != DROVER_PRINTER_STATE_OFFLINE);
}

static void
controlled_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(DroverPrinterPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!drover_farm_control_finish (DROVER_FARM (source), result, &error))
    {
      gtk_label_set_text (self->control_label, error->message);
      gtk_widget_set_visible (GTK_WIDGET (self->control_label), TRUE);
    }
}

static void
control (DroverPrinterPage   *self,
         DroverPrinterAction  action,
         const char          *sent)
{
  if (self->farm == NULL || self->printer == NULL)
    return;

  gtk_label_set_text (self->control_label, sent);
  gtk_widget_set_visible (GTK_WIDGET (self->control_label), TRUE);
  drover_farm_control_async (self->farm, drover_printer_get_id (self->printer), action, NULL,
                             controlled_cb, g_object_ref (self));
}

static void
pause_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  control (DROVER_PRINTER_PAGE (widget), DROVER_PRINTER_ACTION_PAUSE, _("Asked the printer to pause."));
}

static void
resume_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  control (DROVER_PRINTER_PAGE (widget), DROVER_PRINTER_ACTION_RESUME, _("Asked the printer to resume."));
}

static void
heaters_off_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  control (DROVER_PRINTER_PAGE (widget), DROVER_PRINTER_ACTION_HEATERS_OFF, _("Asked the printer to turn its heaters off."));
}

static void
cancel_response_cb (AdwMessageDialog  *dialog,
                    const char        *response,
                    DroverPrinterPage *self)
{
  if (g_str_equal (response, "cancel-job"))
    control (self, DROVER_PRINTER_ACTION_CANCEL, _("Asked the printer to cancel the job."));
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  DroverPrinterPage *self = DROVER_PRINTER_PAGE (widget);
  g_autofree char *job = NULL;
  GtkWidget *dialog;

  if (self->printer == NULL)
    return;

  job = drover_printer_get_current_file (self->printer) != NULL
          ? drover_format_untrusted (drover_printer_get_current_file (self->printer), 120)
          : g_strdup (_("its job"));
  dialog = adw_message_dialog_new (GTK_WINDOW (gtk_widget_get_root (widget)), _("Cancel the Job?"), NULL);
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  _("%s stops printing “%s”. The part on the plate cannot be finished."),
                                  drover_printer_get_display_name (self->printer), job);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "keep", _("_Keep Printing"),
                                    "cancel-job", _("_Cancel Job"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "cancel-job", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "keep");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "keep");
  g_signal_connect_object (dialog, "response", G_CALLBACK (cancel_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
update_values (DroverPrinterPage *self)
{
  DroverPrinter *printer = self->printer;
  g_autofree char *hotend = NULL;
  g_autofree char *bed = NULL;
  g_autofree char *progress = NULL;
  g_autofree char *left = NULL;
  g_autofree char *seen = NULL;
  g_autofree char *job = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  update_controls (self);

  if (printer == NULL)
    return;

  gtk_label_set_label (self->state_value, drover_printer_state_to_string (drover_printer_get_state (printer)));
  adw_action_row_set_subtitle (self->state_row, drover_printer_get_error_text (printer));
  hotend = drover_format_temperature (drover_printer_get_hotend_temperature (printer), drover_printer_get_hotend_target (printer));
  bed = drover_format_temperature (drover_printer_get_bed_temperature (printer), drover_printer_get_bed_target (printer));
  gtk_label_set_label (self->hotend_value, hotend);
  gtk_label_set_label (self->bed_value, bed);
  job = drover_format_untrusted (drover_printer_get_current_file (printer), 120);
  gtk_label_set_label (self->job_value, drover_printer_get_current_file (printer) != NULL ? job : _("None"));

  left = drover_format_time_left (drover_printer_get_time_left (printer));
  /* Translators: a job's progress and, if known, its time left */
  progress = g_strdup_printf (_("%.0f %%%s%s"), drover_printer_get_progress (printer) * 100.0,
                              left != NULL ? " · " : "", left != NULL ? left : "");
  gtk_label_set_label (self->progress_value, progress);

  seen = drover_format_since (drover_printer_get_last_seen (printer), now);
  gtk_label_set_label (self->seen_value, seen);
}

static void
update_message (DroverPrinterPage *self)
{
  g_autofree char *topic = NULL;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GDateTime) received = NULL;
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->message_view);
  DroverTelemetry *telemetry;

  if (self->printer == NULL || self->farm == NULL)
    return;

  telemetry = drover_farm_get_telemetry (self->farm);
  if (!drover_telemetry_dup_last_message (telemetry, drover_printer_get_id (self->printer), &topic, &payload, &received))
    {
      gtk_label_set_label (self->message_topic, _("Nothing received yet."));
      gtk_text_buffer_set_text (buffer, "", -1);
      return;
    }

  {
    g_autofree char *when = g_date_time_format (received, "%X");
    /* Translators: the topic a message came on and the time it came */
    g_autofree char *header = g_strdup_printf (_("%s at %s"), topic, when);
    gsize length;
    const char *data = g_bytes_get_data (payload, &length);
    /* Printers' bytes are not trusted to be text: show what is safe. */
    g_autofree char *text = g_utf8_make_valid (data, length);

    gtk_label_set_label (self->message_topic, header);
    gtk_text_buffer_set_text (buffer, text, -1);
  }
}

static void
update_connection (DroverPrinterPage *self)
{
  DroverPrinterEntry *entry = NULL;
  DroverMqttLink *link = NULL;

  if (self->printer == NULL)
    return;

  gtk_label_set_label (self->connector_value, drover_connector_kind_to_string (drover_printer_get_connector (self->printer)));
  gtk_label_set_label (self->id_value, drover_printer_get_id (self->printer));

  if (self->farm != NULL)
    {
      entry = drover_farm_find_entry (self->farm, drover_printer_get_id (self->printer));
      link = drover_farm_find_link (self->farm, drover_printer_get_id (self->printer));
    }

  adw_action_row_set_subtitle (self->security_row, drover_printer_get_security_note (self->printer));
  gtk_widget_set_visible (GTK_WIDGET (self->security_row), drover_printer_get_security_note (self->printer) != NULL);
  gtk_label_set_label (self->key_value, entry != NULL && entry->key != NULL ? entry->key : "—");
  gtk_label_set_label (self->broker_value, link != NULL ? drover_mqtt_link_get_uri (link) : "—");

  if (link == NULL)
    adw_action_row_set_subtitle (self->broker_row, NULL);
  else if (drover_mqtt_link_get_state (link) == DROVER_LINK_STATE_CONNECTED)
    adw_action_row_set_subtitle (self->broker_row, _("Connected"));
  else
    adw_action_row_set_subtitle (self->broker_row, drover_mqtt_link_get_status_message (link) != NULL
                                                   ? drover_mqtt_link_get_status_message (link) : _("Connecting…"));
}

/* Files */

static const char *
provenance_icon_name (DroverFileProvenance provenance)
{
  switch (provenance)
    {
    case DROVER_FILE_SENT: return "send-to-symbolic";
    case DROVER_FILE_APPROVED: return "emblem-ok-symbolic";
    case DROVER_FILE_BASELINE: return "document-open-recent-symbolic";
    case DROVER_FILE_UNEXPECTED:
    default: return "dialog-warning-symbolic";
    }
}

static const char *
provenance_word (DroverFileProvenance provenance)
{
  switch (provenance)
    {
    /* Translators: where a file on a printer came from: Drover sent it */
    case DROVER_FILE_SENT: return _("Sent");
    /* Translators: where a file on a printer came from: an operator vouched for it */
    case DROVER_FILE_APPROVED: return _("Approved");
    /* Translators: where a file on a printer came from: it was there before Drover watched */
    case DROVER_FILE_BASELINE: return _("Already There");
    /* Translators: where a file on a printer came from: nobody knows */
    case DROVER_FILE_UNEXPECTED:
    default: return _("Unexpected");
    }
}

static char *
format_file_date (gint64 modified)
{
  g_autoptr(GDateTime) date = NULL;

  if (modified < 0)
    return g_strdup (_("date unknown"));

  date = g_date_time_new_from_unix_local (modified);
  if (date == NULL)
    return g_strdup (_("date unknown"));

  /* Translators: when a file on a printer was last written, see strftime(3) */
  return g_date_time_format (date, _("%-d %b %Y, %H:%M"));
}

#define FILE_ROW_ICON_KEY "drover-file-row-icon"
#define FILE_ROW_WORD_KEY "drover-file-row-word"

static void files_changed_soon (DroverPrinterPage *self);

static void
update_file_row (AdwActionRow   *row,
                 GParamSpec     *pspec,
                 DroverFileItem *item)
{
  GtkWidget *icon = g_object_get_data (G_OBJECT (row), FILE_ROW_ICON_KEY);
  GtkWidget *word = g_object_get_data (G_OBJECT (row), FILE_ROW_WORD_KEY);
  DroverFileProvenance provenance = drover_file_item_get_provenance (item);
  gboolean unexpected = provenance == DROVER_FILE_UNEXPECTED;
  gint64 size = drover_file_item_get_size (item);
  g_autofree char *size_text = size >= 0 ? g_format_size ((guint64)size) : g_strdup (_("size unknown"));
  g_autofree char *date = format_file_date (drover_file_item_get_modified (item));
  const char *detail = drover_file_item_get_detail (item);
  g_autofree char *subtitle = NULL;

  /* The sentence says who sent or approved it, or why it is unexpected;
   * the tag on the right says the rest, and the group's description what
   * "Already There" means. */
  if (provenance == DROVER_FILE_BASELINE || detail == NULL || detail[0] == '\0')
    /* Translators: a file's size and date */
    subtitle = g_strdup_printf (_("%s · %s"), size_text, date);
  else
    /* Translators: a file's size and date, then where it came from, on a second line */
    subtitle = g_strdup_printf (_("%s · %s\n%s"), size_text, date, detail);
  adw_action_row_set_subtitle (row, subtitle);
  gtk_widget_set_tooltip_text (word, provenance == DROVER_FILE_BASELINE
                                     ? _("Already there when Drover first looked") : NULL);

  gtk_image_set_from_icon_name (GTK_IMAGE (icon), provenance_icon_name (provenance));
  gtk_label_set_label (GTK_LABEL (word), provenance_word (provenance));
  if (unexpected)
    {
      gtk_widget_add_css_class (icon, "error");
      gtk_widget_add_css_class (word, "error");
      gtk_widget_remove_css_class (word, "dim-label");
    }
  else
    {
      gtk_widget_remove_css_class (icon, "error");
      gtk_widget_remove_css_class (word, "error");
      gtk_widget_add_css_class (word, "dim-label");
    }

  if (pspec != NULL && g_str_equal (pspec->name, "provenance"))
    {
      GtkWidget *page = gtk_widget_get_ancestor (GTK_WIDGET (row), DROVER_TYPE_PRINTER_PAGE);

      if (page != NULL)
        files_changed_soon (DROVER_PRINTER_PAGE (page));
    }
}

static GtkWidget *
create_file_row (gpointer item,
                 gpointer user_data)
{
  DroverFileItem *file = item;
  g_autofree char *shown_name = drover_format_untrusted (drover_file_item_get_name (file), 120);
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *icon = gtk_image_new ();
  GtkWidget *word = gtk_label_new (NULL);

  /* Names come from printers: never markup. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), shown_name);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 4);

  gtk_accessible_update_property (GTK_ACCESSIBLE (icon), GTK_ACCESSIBLE_PROPERTY_LABEL, "", -1);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);
  gtk_widget_add_css_class (word, "heading");
  gtk_widget_set_valign (word, GTK_ALIGN_CENTER);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), word);
  g_object_set_data (G_OBJECT (row), FILE_ROW_ICON_KEY, icon);
  g_object_set_data (G_OBJECT (row), FILE_ROW_WORD_KEY, word);

  update_file_row (ADW_ACTION_ROW (row), NULL, file);
  g_signal_connect_object (file, "notify", G_CALLBACK (update_file_row), row, G_CONNECT_SWAPPED);

  return row;
}

/* The Files tab's badge: how many files nobody can account for. */
static void
update_files_badge (DroverPrinterPage *self)
{
  guint n_unexpected = 0;

  if (self->files != NULL)
    for (guint i = 0; i < g_list_model_get_n_items (self->files); i++)
      {
        g_autoptr(DroverFileItem) item = g_list_model_get_item (self->files, i);

        n_unexpected += drover_file_item_get_provenance (item) == DROVER_FILE_UNEXPECTED;
      }

  adw_view_stack_page_set_badge_number (self->files_page, n_unexpected);
  adw_view_stack_page_set_needs_attention (self->files_page, n_unexpected > 0);
}

static gboolean
files_changed_cb (gpointer data)
{
  DroverPrinterPage *self = data;

  self->files_source = 0;
  gtk_sorter_changed (GTK_SORTER (self->files_sorter), GTK_SORTER_CHANGE_DIFFERENT);
  update_files_badge (self);

  return G_SOURCE_REMOVE;
}

/* An approval moves a file down the list: not while its row is being
 * told about it. */
static void
files_changed_soon (DroverPrinterPage *self)
{
  if (self->files_source == 0)
    self->files_source = g_idle_add (files_changed_cb, self);
}

/* What nobody can account for comes first: in a printer's hundred files,
 * the one planted there must not hide in the middle. */
static int
compare_files (gconstpointer a,
               gconstpointer b,
               gpointer      user_data)
{
  DroverFileItem *file_a = (DroverFileItem *)a;
  DroverFileItem *file_b = (DroverFileItem *)b;
  gboolean unexpected_a = drover_file_item_get_provenance (file_a) == DROVER_FILE_UNEXPECTED;
  gboolean unexpected_b = drover_file_item_get_provenance (file_b) == DROVER_FILE_UNEXPECTED;

  if (unexpected_a != unexpected_b)
    return unexpected_a ? -1 : 1;

  return g_utf8_collate (drover_file_item_get_name (file_a), drover_file_item_get_name (file_b));
}

static void
bind_files (DroverPrinterPage *self)
{
  GListModel *files = NULL;

  if (self->audit != NULL && self->printer != NULL)
    files = drover_audit_get_files (self->audit, drover_printer_get_id (self->printer));

  if (files != self->files)
    {
      if (self->files != NULL)
        g_signal_handlers_disconnect_by_data (self->files, self);
      g_set_object (&self->files, files);
      gtk_sort_list_model_set_model (self->sorted_files, files);
      gtk_list_box_bind_model (self->files_list, files != NULL ? G_LIST_MODEL (self->sorted_files) : NULL,
                               files != NULL ? create_file_row : NULL, self, NULL);
      if (files != NULL)
        g_signal_connect_object (files, "items-changed", G_CALLBACK (update_files_badge), self, G_CONNECT_SWAPPED);
    }

  gtk_label_set_label (self->files_placeholder,
                       self->audit == NULL ? _("Drover is not watching this printer’s files.")
                                           : _("No files. Either the printer holds none, or it has not listed them "
                                               "yet: some printers only do so when asked, or when a file changes."));
  update_files_badge (self);
}

/* History */

typedef enum
{
  ORIGIN_DROVER,
  ORIGIN_FOREIGN,
  ORIGIN_FILES,
  ORIGIN_OPERATOR,
  ORIGIN_ALERT,
  ORIGIN_OTHER,
} Origin;

static Origin
origin_of (const char *kind)
{
  if (g_str_equal (kind, DROVER_LEDGER_KIND_COMMAND_SENT) || g_str_equal (kind, DROVER_LEDGER_KIND_JOB_SENT) ||
      g_str_equal (kind, DROVER_LEDGER_KIND_JOB_REFUSED))
    return ORIGIN_DROVER;
  if (g_str_equal (kind, DROVER_LEDGER_KIND_COMMAND_OBSERVED) || g_str_equal (kind, DROVER_LEDGER_KIND_JOB_OBSERVED))
    return ORIGIN_FOREIGN;
  if (g_str_equal (kind, DROVER_LEDGER_KIND_FILE_DIFF) || g_str_equal (kind, DROVER_LEDGER_KIND_FILE_SNAPSHOT))
    return ORIGIN_FILES;
  if (g_str_equal (kind, DROVER_LEDGER_KIND_FILE_APPROVED) || g_str_equal (kind, DROVER_LEDGER_KIND_FILE_DELETED) ||
      g_str_equal (kind, DROVER_LEDGER_KIND_ALERT_ACK))
    return ORIGIN_OPERATOR;
  if (g_str_equal (kind, DROVER_LEDGER_KIND_ALERT))
    return ORIGIN_ALERT;
  return ORIGIN_OTHER;
}

static const char *
origin_word (Origin origin)
{
  switch (origin)
    {
    /* Translators: who a row of a printer's history came from: Drover sent it */
    case ORIGIN_DROVER: return _("Drover");
    /* Translators: who a row of a printer's history came from: someone else, seen on the printer or broker */
    case ORIGIN_FOREIGN: return _("Not Drover");
    /* Translators: a row of a printer's history about its files */
    case ORIGIN_FILES: return _("Files");
    /* Translators: who a row of a printer's history came from: an operator in Drover */
    case ORIGIN_OPERATOR: return _("Operator");
    /* Translators: a row of a printer's history that is an alert */
    case ORIGIN_ALERT: return _("Alert");
    case ORIGIN_OTHER:
    default: return _("Other");
    }
}

static const char *
origin_icon_name (Origin origin)
{
  switch (origin)
    {
    case ORIGIN_DROVER: return "send-to-symbolic";
    case ORIGIN_FOREIGN: return "dialog-warning-symbolic";
    case ORIGIN_FILES: return "folder-documents-symbolic";
    case ORIGIN_OPERATOR: return "system-users-symbolic";
    case ORIGIN_ALERT: return "dialog-warning-symbolic";
    case ORIGIN_OTHER:
    default: return "dialog-information-symbolic";
    }
}

static const char *
member_string (JsonObject *object,
               const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

static gboolean
member_int (JsonObject *object,
            const char *name,
            gint64     *value)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;

  *value = json_node_get_int (node);
  return TRUE;
}

static const char *
kind_words (const char *kind,
            JsonObject *body)
{
  const char *change = member_string (body, "change");

  if (g_str_equal (kind, DROVER_LEDGER_KIND_JOB_SENT))
    return _("Job sent");
  if (g_str_equal (kind, DROVER_LEDGER_KIND_JOB_REFUSED))
    return _("Job refused");
  if (g_str_equal (kind, DROVER_LEDGER_KIND_COMMAND_SENT))
    return _("Command sent");
  if (g_str_equal (kind, DROVER_LEDGER_KIND_COMMAND_OBSERVED))
    return _("Command that Drover did not send");
  if (g_str_equal (kind, DROVER_LEDGER_KIND_JOB_OBSERVED))
    return _("Job that Drover did not start");
  if (g_str_equal (kind, DROVER_LEDGER_KIND_FILE_SNAPSHOT))
    /* Translators: a row of a printer's history: the printer listed its files */
    return _("Listed");
  if (g_str_equal (kind, DROVER_LEDGER_KIND_FILE_DIFF))
    return g_strcmp0 (change, "added") == 0 ? _("File appeared")
           : g_strcmp0 (change, "removed") == 0 ? _("File gone") : _("File changed");
  if (g_str_equal (kind, DROVER_LEDGER_KIND_FILE_APPROVED))
    return _("File approved");
  if (g_str_equal (kind, DROVER_LEDGER_KIND_FILE_DELETED))
    return _("File deleted");
  if (g_str_equal (kind, DROVER_LEDGER_KIND_ALERT))
    return _("Alert");
  if (g_str_equal (kind, DROVER_LEDGER_KIND_ALERT_ACK))
    return _("Alert acknowledged");

  return kind;
}

static const char *
provenance_value_words (const char *value)
{
  if (g_strcmp0 (value, "sent") == 0)
    return _("sent by Drover");
  if (g_strcmp0 (value, "approved") == 0)
    return _("approved by an operator");
  if (g_strcmp0 (value, "baseline") == 0)
    return _("already there when Drover first looked");
  if (g_strcmp0 (value, "unexpected") == 0)
    return _("unexpected");
  return value;
}

/* The body's fields an operator reads, in words; the rest (hashes, ids)
 * stays in the ledger for droverctl. */
static char *
format_details (const char *kind,
                const char *subject,
                JsonObject *body)
{
  g_autoptr(GString) text = g_string_new (kind_words (kind, body));
  const char *value;
  const char *provenance = member_string (body, "provenance");
  gint64 size;

  if (provenance != NULL)
    g_string_append_printf (text, " · %s", provenance_value_words (provenance));

  if (member_int (body, "size", &size) && size >= 0)
    {
      g_autofree char *formatted = g_format_size ((guint64)size);

      g_string_append_printf (text, " · %s", formatted);
    }

  if (body != NULL && json_object_has_member (body, "files") &&
      JSON_NODE_HOLDS_ARRAY (json_object_get_member (body, "files")))
    {
      guint n = json_array_get_length (json_object_get_array_member (body, "files"));

      g_string_append (text, " · ");
      /* Translators: how many files a printer listed */
      g_string_append_printf (text, g_dngettext (GETTEXT_PACKAGE, "%u file", "%u files", n), n);
    }

#define APPEND_DETAIL(member, format) \
  G_STMT_START { \
    if ((value = member_string (body, member)) != NULL && value[0] != '\0') \
      { \
        g_autofree char *shown = drover_format_untrusted (value, 200); \
        g_string_append (text, " · "); \
        g_string_append_printf (text, format, shown); \
      } \
  } G_STMT_END

  if (g_strcmp0 (member_string (body, "file"), subject) != 0)
    {
      /* Translators: a detail of a row of a printer's history: the file an order was about */
      APPEND_DETAIL ("file", _("file %s"));
    }
  /* Translators: a detail of a row of a printer's history */
  APPEND_DETAIL ("reply", _("reply: %s"));
  /* Translators: a detail of a row of a printer's history */
  APPEND_DETAIL ("result", _("result: %s"));
  /* Translators: a detail of a row of a printer's history: where a file was to come from */
  APPEND_DETAIL ("url", _("from %s"));
  /* Translators: a detail of a row of a printer's history: the signed job's id */
  APPEND_DETAIL ("job", _("job %s"));
  /* Translators: a detail of a row of a printer's history: the key that signed a job */
  APPEND_DETAIL ("signer", _("signed by key %s"));
  /* Translators: a detail of a row of a printer's history: who did it */
  APPEND_DETAIL ("operator", _("by %s"));
  /* Translators: a detail of a row of a printer's history */
  APPEND_DETAIL ("reason", _("because %s"));
  /* Translators: a detail of a row of a printer's history: the operator's note */
  APPEND_DETAIL ("note", _("note: %s"));

#undef APPEND_DETAIL

  return g_string_free (g_steal_pointer (&text), FALSE);
}

static GtkWidget *
create_history_row (const DroverLedgerEntry *entry)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *body = NULL;
  Origin origin = origin_of (entry->kind);
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_local (entry->time_us / G_USEC_PER_SEC);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *clock = NULL;
  g_autofree char *full = NULL;
  g_autofree char *details = NULL;
  g_autofree char *accessible = NULL;
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *origin_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *origin_icon = gtk_image_new_from_icon_name (origin_icon_name (origin));
  GtkWidget *origin_label = gtk_label_new (origin_word (origin));
  GtkWidget *what_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *time_label;
  GtkWidget *what_label;
  GtkWidget *details_label;
  g_autofree char *shown_subject = NULL;
  const char *subject;

  if (json_parser_load_from_data (parser, entry->body, -1, NULL) && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    body = json_node_get_object (json_parser_get_root (parser));

  if (g_date_time_get_year (when) == g_date_time_get_year (now) &&
      g_date_time_get_day_of_year (when) == g_date_time_get_day_of_year (now))
    clock = g_date_time_format (when, "%X");
  else
    /* Translators: when a row of a printer's history was recorded, on another day, see strftime(3) */
    clock = g_date_time_format (when, _("%e %b\n%X"));
  /* Translators: the full date and time of a row of a printer's history, see strftime(3) */
  full = g_date_time_format (when, _("%A %e %B %Y, %X"));

  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_set_margin_top (box, 8);
  gtk_widget_set_margin_bottom (box, 8);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);

  time_label = gtk_label_new (clock);
  gtk_label_set_xalign (GTK_LABEL (time_label), 0.0f);
  gtk_label_set_width_chars (GTK_LABEL (time_label), 8);
  gtk_widget_set_valign (time_label, GTK_ALIGN_START);
  gtk_widget_set_tooltip_text (time_label, full);
  gtk_widget_add_css_class (time_label, "numeric");
  gtk_widget_add_css_class (time_label, "dim-label");
  gtk_box_append (GTK_BOX (box), time_label);

  gtk_widget_set_size_request (origin_box, 110, -1);
  gtk_widget_set_valign (origin_box, GTK_ALIGN_START);
  gtk_accessible_update_property (GTK_ACCESSIBLE (origin_icon), GTK_ACCESSIBLE_PROPERTY_LABEL, "", -1);
  gtk_box_append (GTK_BOX (origin_box), origin_icon);
  gtk_box_append (GTK_BOX (origin_box), origin_label);
  if (origin == ORIGIN_FOREIGN || origin == ORIGIN_ALERT ||
      g_strcmp0 (member_string (body, "provenance"), "unexpected") == 0)
    gtk_widget_add_css_class (origin_box, "warning");
  gtk_box_append (GTK_BOX (box), origin_box);

  /* A file name, a command line, a URL: from printers, shown safely. */
  shown_subject = entry->subject != NULL ? drover_format_untrusted (entry->subject, 200) : NULL;
  subject = shown_subject;
  if (subject == NULL)
    subject = g_str_equal (entry->kind, DROVER_LEDGER_KIND_FILE_SNAPSHOT) ? _("The printer’s file list") : "—";
  what_label = gtk_label_new (subject);
  gtk_label_set_xalign (GTK_LABEL (what_label), 0.0f);
  gtk_label_set_wrap (GTK_LABEL (what_label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (what_label), PANGO_WRAP_WORD_CHAR);
  gtk_box_append (GTK_BOX (what_box), what_label);

  details = format_details (entry->kind, entry->subject, body);
  details_label = gtk_label_new (details);
  gtk_label_set_xalign (GTK_LABEL (details_label), 0.0f);
  gtk_label_set_wrap (GTK_LABEL (details_label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (details_label), PANGO_WRAP_WORD_CHAR);
  gtk_widget_add_css_class (details_label, "dim-label");
  gtk_widget_add_css_class (details_label, "caption");
  gtk_box_append (GTK_BOX (what_box), details_label);
  gtk_widget_set_hexpand (what_box, TRUE);
  gtk_box_append (GTK_BOX (box), what_box);

  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);

  /* Translators: a row of a printer's history for a screen reader: time, origin, what, details */
  accessible = g_strdup_printf (_("%s, %s: %s. %s"), full, origin_word (origin), subject, details);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, accessible, -1);

  return row;
}

static void
remove_history_rows (DroverPrinterPage *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->history_list))) != NULL)
    gtk_list_box_remove (self->history_list, child);
  self->history_n_rows = 0;
}

static void
update_history_status (DroverPrinterPage *self)
{
  g_autofree char *text = NULL;
  g_autofree char *more = NULL;

  if (self->history_loading)
    text = g_strdup (_("Reading the ledger…"));
  else if (self->audit == NULL)
    text = g_strdup (_("Drover keeps a history only while it watches the farm."));
  else if (self->ledger == NULL)
    text = g_strdup (_("The ledger is not open yet, or could not be opened: nothing is recorded."));
  else if (self->history_n_rows == 0 && self->history_text != NULL)
    /* Translators: the History tab, when the search finds nothing */
    text = g_strdup_printf (_("No rows hold “%s”."), self->history_text);
  else if (self->history_n_rows == 0)
    text = g_strdup (_("Nothing recorded about this printer yet."));
  else if (self->history_text != NULL)
    /* Translators: the History tab, over the rows a search found */
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u row holds “%s”, newest first", "%u rows hold “%s”, newest first",
                                         self->history_n_rows),
                            self->history_n_rows, self->history_text);
  else
    /* Translators: the History tab, over its rows */
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u row, newest first", "%u rows, newest first",
                                         self->history_n_rows),
                            self->history_n_rows);
  gtk_label_set_label (self->history_status, text);

  gtk_widget_set_visible (GTK_WIDGET (self->history_more_label), self->history_more && !self->history_loading);
  /* Translators: under the History tab's rows, when the ledger holds more */
  more = g_strdup_printf (_("Only the newest %u rows show; the ledger holds older ones. Search to find them."),
                          HISTORY_LIMIT);
  gtk_label_set_label (self->history_more_label, more);
}

static gboolean
entry_matches (DroverPrinterPage       *self,
               const DroverLedgerEntry *entry)
{
  g_autofree char *needle = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *body = NULL;

  if (self->history_printer_id == NULL || g_strcmp0 (entry->printer, self->history_printer_id) != 0)
    return FALSE;
  if (self->history_text == NULL)
    return TRUE;

  /* As the ledger's own search: ASCII letters match either case. */
  needle = g_ascii_strdown (self->history_text, -1);
  subject = entry->subject != NULL ? g_ascii_strdown (entry->subject, -1) : NULL;
  body = g_ascii_strdown (entry->body, -1);

  return (subject != NULL && strstr (subject, needle) != NULL) || strstr (body, needle) != NULL;
}

/* A newer row on top; the oldest goes when the limit is reached. */
static void
prepend_history_row (DroverPrinterPage       *self,
                     const DroverLedgerEntry *entry)
{
  if (entry->seq <= self->history_last_seq)
    return;
  self->history_last_seq = entry->seq;

  gtk_list_box_prepend (self->history_list, create_history_row (entry));
  if (++self->history_n_rows > HISTORY_LIMIT)
    {
      GtkListBoxRow *last = gtk_list_box_get_row_at_index (self->history_list, HISTORY_LIMIT);

      if (last != NULL)
        gtk_list_box_remove (self->history_list, GTK_WIDGET (last));
      self->history_n_rows = HISTORY_LIMIT;
      self->history_more = TRUE;
    }
}

/* Jobs */

static gboolean
is_job_row (const char *kind,
            const char *subject,
            const char *body)
{
  /* The signature that travels beside a job is not a job of its own. */
  if (subject != NULL && g_str_has_suffix (subject, ".minisig"))
    return FALSE;

  if (g_str_equal (kind, DROVER_LEDGER_KIND_JOB_SENT) || g_str_equal (kind, DROVER_LEDGER_KIND_JOB_REFUSED) ||
      g_str_equal (kind, DROVER_LEDGER_KIND_JOB_OBSERVED))
    return TRUE;

  /* The upload's outcome: a command-sent row that names a job. */
  return g_str_equal (kind, DROVER_LEDGER_KIND_COMMAND_SENT) && body != NULL && strstr (body, "\"job\"") != NULL;
}

typedef enum
{
  JOB_SENDING,
  JOB_SENT,
  JOB_FAILED,
  JOB_REFUSED,
  JOB_STARTED,
  JOB_FOREIGN,
} JobOutcome;

static JobOutcome
job_outcome (const char *kind,
             JsonObject *body)
{
  JsonNode *by_drover;

  if (g_str_equal (kind, DROVER_LEDGER_KIND_JOB_SENT))
    return JOB_SENDING;
  if (g_str_equal (kind, DROVER_LEDGER_KIND_JOB_REFUSED))
    return JOB_REFUSED;
  if (g_str_equal (kind, DROVER_LEDGER_KIND_COMMAND_SENT))
    return g_strcmp0 (member_string (body, "result"), "sent") == 0 ? JOB_SENT : JOB_FAILED;

  by_drover = body != NULL ? json_object_get_member (body, "by_drover") : NULL;
  if (by_drover != NULL && JSON_NODE_HOLDS_VALUE (by_drover) &&
      json_node_get_value_type (by_drover) == G_TYPE_BOOLEAN && json_node_get_boolean (by_drover))
    return JOB_STARTED;

  return JOB_FOREIGN;
}

static const char *
job_outcome_word (JobOutcome outcome)
{
  switch (outcome)
    {
    /* Translators: a row of a printer's jobs: Drover began to send it */
    case JOB_SENDING: return _("Sending");
    /* Translators: a row of a printer's jobs: the printer took it */
    case JOB_SENT: return _("Sent");
    /* Translators: a row of a printer's jobs: it could not be sent */
    case JOB_FAILED: return _("Failed");
    /* Translators: a row of a printer's jobs: the gate refused it */
    case JOB_REFUSED: return _("Refused");
    /* Translators: a row of a printer's jobs: the printer started a job Drover sent */
    case JOB_STARTED: return _("Started");
    /* Translators: a row of a printer's jobs: the printer started a job Drover did not send */
    case JOB_FOREIGN:
    default: return _("Not Drover’s");
    }
}

static const char *
job_outcome_icon_name (JobOutcome outcome)
{
  switch (outcome)
    {
    case JOB_SENDING: return "document-send-symbolic";
    case JOB_SENT: return "emblem-ok-symbolic";
    case JOB_FAILED: return "dialog-error-symbolic";
    case JOB_REFUSED: return "action-unavailable-symbolic";
    case JOB_STARTED: return "media-playback-start-symbolic";
    case JOB_FOREIGN:
    default: return "dialog-warning-symbolic";
    }
}

static char *
format_job_details (DroverPrinterPage *self,
                    const char        *kind,
                    JsonObject        *body,
                    JobOutcome         outcome)
{
  g_autoptr(GString) text = g_string_new (NULL);
  const char *job = member_string (body, "job");
  const char *signer = member_string (body, "signer");
  const char *transport = member_string (body, "transport");
  const char *result = member_string (body, "result");
  const char *reason = member_string (body, "reason");
  const char *origin = member_string (body, "origin");
  const char *signer_name = signer != NULL && self->signers != NULL ? g_hash_table_lookup (self->signers, signer) : NULL;

#define APPEND(...) \
  G_STMT_START { \
    if (text->len > 0) \
      g_string_append (text, " · "); \
    g_string_append_printf (text, __VA_ARGS__); \
  } G_STMT_END

  if (job != NULL)
    /* Translators: a detail of a row of a printer's jobs: the signed job's id */
    APPEND (_("job %s"), job);
  if (signer_name != NULL)
    /* Translators: a detail of a row of a printer's jobs: who signed it, and the key's id */
    APPEND (_("signed by %s (key %s)"), signer_name, signer);
  else if (signer != NULL)
    /* Translators: a detail of a row of a printer's jobs: the key that signed it */
    APPEND (_("signed by key %s"), signer);
  if (transport != NULL)
    /* Translators: a detail of a row of a printer's jobs: how it went to the printer */
    APPEND (_("via %s"), transport);
  if (origin != NULL)
    /* Translators: a detail of a row of a printer's jobs: where the printer says the job came from */
    APPEND (_("from %s"), origin);

  /* The reason, in the words it was recorded with. */
  if (reason != NULL)
    APPEND ("%s", reason);
  else if ((outcome == JOB_FAILED || outcome == JOB_REFUSED) && result != NULL)
    APPEND ("%s", result);

  if (outcome == JOB_SENDING)
    APPEND ("%s", _("the upload began; its job id is spent"));
  else if (outcome == JOB_STARTED)
    APPEND ("%s", _("the printer started it"));
  else if (outcome == JOB_FOREIGN)
    APPEND ("%s", _("the printer started a job Drover did not send"));

#undef APPEND

  return g_string_free (g_steal_pointer (&text), FALSE);
}

static GtkWidget *
create_job_row (DroverPrinterPage       *self,
                const DroverLedgerEntry *entry)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *body = NULL;
  JobOutcome outcome;
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_local (entry->time_us / G_USEC_PER_SEC);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *clock = NULL;
  g_autofree char *full = NULL;
  g_autofree char *details = NULL;
  g_autofree char *accessible = NULL;
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *outcome_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *outcome_icon;
  GtkWidget *outcome_label;
  GtkWidget *what_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *time_label;
  GtkWidget *file_label;
  GtkWidget *details_label;
  g_autofree char *file = drover_format_untrusted (entry->subject != NULL ? entry->subject : "—", 120);

  if (json_parser_load_from_data (parser, entry->body, -1, NULL) && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    body = json_node_get_object (json_parser_get_root (parser));
  outcome = job_outcome (entry->kind, body);

  if (g_date_time_get_year (when) == g_date_time_get_year (now) &&
      g_date_time_get_day_of_year (when) == g_date_time_get_day_of_year (now))
    clock = g_date_time_format (when, "%X");
  else
    /* Translators: when a row of a printer's jobs was recorded, on another day, see strftime(3) */
    clock = g_date_time_format (when, _("%e %b\n%X"));
  /* Translators: the full date and time of a row of a printer's jobs, see strftime(3) */
  full = g_date_time_format (when, _("%A %e %B %Y, %X"));

  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_set_margin_top (box, 8);
  gtk_widget_set_margin_bottom (box, 8);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);

  time_label = gtk_label_new (clock);
  gtk_label_set_xalign (GTK_LABEL (time_label), 0.0f);
  gtk_label_set_width_chars (GTK_LABEL (time_label), 8);
  gtk_widget_set_valign (time_label, GTK_ALIGN_START);
  gtk_widget_set_tooltip_text (time_label, full);
  gtk_widget_add_css_class (time_label, "numeric");
  gtk_widget_add_css_class (time_label, "dim-label");
  gtk_box_append (GTK_BOX (box), time_label);

  outcome_icon = gtk_image_new_from_icon_name (job_outcome_icon_name (outcome));
  outcome_label = gtk_label_new (job_outcome_word (outcome));
  gtk_accessible_update_property (GTK_ACCESSIBLE (outcome_icon), GTK_ACCESSIBLE_PROPERTY_LABEL, "", -1);
  gtk_widget_set_size_request (outcome_box, 110, -1);
  gtk_widget_set_valign (outcome_box, GTK_ALIGN_START);
  gtk_box_append (GTK_BOX (outcome_box), outcome_icon);
  gtk_box_append (GTK_BOX (outcome_box), outcome_label);
  if (outcome == JOB_FAILED || outcome == JOB_REFUSED)
    gtk_widget_add_css_class (outcome_box, "error");
  else if (outcome == JOB_FOREIGN)
    gtk_widget_add_css_class (outcome_box, "warning");
  else if (outcome == JOB_SENT)
    gtk_widget_add_css_class (outcome_box, "success");
  gtk_box_append (GTK_BOX (box), outcome_box);

  file_label = gtk_label_new (file);
  gtk_label_set_xalign (GTK_LABEL (file_label), 0.0f);
  gtk_label_set_wrap (GTK_LABEL (file_label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (file_label), PANGO_WRAP_WORD_CHAR);
  gtk_box_append (GTK_BOX (what_box), file_label);

  details = format_job_details (self, entry->kind, body, outcome);
  details_label = gtk_label_new (details);
  gtk_label_set_xalign (GTK_LABEL (details_label), 0.0f);
  gtk_label_set_wrap (GTK_LABEL (details_label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (details_label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (GTK_LABEL (details_label), TRUE);
  gtk_widget_add_css_class (details_label, "dim-label");
  gtk_widget_add_css_class (details_label, "caption");
  gtk_box_append (GTK_BOX (what_box), details_label);
  gtk_widget_set_hexpand (what_box, TRUE);
  gtk_box_append (GTK_BOX (box), what_box);

  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);

  /* Translators: a row of a printer's jobs for a screen reader: time, outcome, file, details */
  accessible = g_strdup_printf (_("%s, %s: %s. %s"), full, job_outcome_word (outcome), file, details);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, accessible, -1);

  return row;
}

static void
remove_jobs_rows (DroverPrinterPage *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->jobs_list))) != NULL)
    gtk_list_box_remove (self->jobs_list, child);
  self->jobs_n_rows = 0;
}

static void
update_jobs_status (DroverPrinterPage *self)
{
  g_autofree char *text = NULL;

  if (self->jobs_loading)
    text = g_strdup (_("Reading the ledger…"));
  else if (self->audit == NULL)
    text = g_strdup (_("Drover keeps a record of jobs only while it watches the farm."));
  else if (self->ledger == NULL)
    text = g_strdup (_("The ledger is not open yet, or could not be opened: nothing is recorded."));
  else if (self->jobs_n_rows == 0)
    text = g_strdup (_("No job was sent to this printer, refused, or seen starting on it yet."));
  else if (self->jobs_more)
    /* Translators: the Jobs tab, over its rows, when the ledger holds older ones */
    text = g_strdup_printf (_("The newest %u rows, newest first; the ledger holds older ones."), self->jobs_n_rows);
  else
    /* Translators: the Jobs tab, over its rows */
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u row, newest first", "%u rows, newest first",
                                         self->jobs_n_rows),
                            self->jobs_n_rows);
  gtk_label_set_label (self->jobs_status, text);
}

static void
prepend_job_row (DroverPrinterPage       *self,
                 const DroverLedgerEntry *entry)
{
  if (entry->seq <= self->jobs_last_seq)
    return;
  self->jobs_last_seq = entry->seq;

  gtk_list_box_prepend (self->jobs_list, create_job_row (self, entry));
  if (++self->jobs_n_rows > JOBS_LIMIT)
    {
      GtkListBoxRow *last = gtk_list_box_get_row_at_index (self->jobs_list, JOBS_LIMIT);

      if (last != NULL)
        gtk_list_box_remove (self->jobs_list, GTK_WIDGET (last));
      self->jobs_n_rows = JOBS_LIMIT;
      self->jobs_more = TRUE;
    }
}

static void
jobs_committed (DroverPrinterPage       *self,
                const DroverLedgerEntry *entry)
{
  if (self->jobs_printer_id == NULL || g_strcmp0 (entry->printer, self->jobs_printer_id) != 0 ||
      !is_job_row (entry->kind, entry->subject, entry->body))
    return;

  /* The query under way may or may not hold it: decide when it is back. */
  if (self->jobs_loading)
    {
      g_ptr_array_add (self->jobs_waiting, drover_ledger_entry_copy (entry));
      return;
    }

  prepend_job_row (self, entry);
  update_jobs_status (self);
}

typedef struct
{
  DroverLedger *ledger;
  char         *printer_id;
  GPtrArray    *entries;    /* out: DroverLedgerEntry, newest first */
  GHashTable   *signers;    /* out: key id → name */
} JobsQuery;

static void
jobs_query_free (JobsQuery *query)
{
  g_clear_object (&query->ledger);
  g_free (query->printer_id);
  g_clear_pointer (&query->entries, g_ptr_array_unref);
  g_clear_pointer (&query->signers, g_hash_table_unref);
  g_free (query);
}

static int
compare_newest_first (gconstpointer a,
                      gconstpointer b)
{
  const DroverLedgerEntry *entry_a = *(const DroverLedgerEntry * const *)a;
  const DroverLedgerEntry *entry_b = *(const DroverLedgerEntry * const *)b;

  return (entry_b->seq > entry_a->seq) - (entry_b->seq < entry_a->seq);
}

/* In a worker: one query a kind (the ledger's index is by printer and
 * kind), merged newest first; and the signers' names, for the rows. */
static void
jobs_query_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  static const char * const kinds[] = {
    DROVER_LEDGER_KIND_JOB_SENT, DROVER_LEDGER_KIND_JOB_REFUSED,
    DROVER_LEDGER_KIND_JOB_OBSERVED, DROVER_LEDGER_KIND_COMMAND_SENT,
  };
  JobsQuery *data = task_data;
  g_autoptr(DroverTrustStore) trust = NULL;
  g_autoptr(GError) trust_error = NULL;

  data->entries = g_ptr_array_new_with_free_func ((GDestroyNotify)drover_ledger_entry_free);
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      DroverLedgerQuery query = { 0 };
      g_autoptr(GPtrArray) rows = NULL;
      GError *error = NULL;

      query.kind = kinds[i];
      query.printer = data->printer_id;
      query.newest_first = TRUE;
      query.limit = JOBS_LIMIT + 1;
      if (g_str_equal (kinds[i], DROVER_LEDGER_KIND_COMMAND_SENT))
        query.text = "\"job\"";

      rows = drover_ledger_query (data->ledger, &query, &error);
      if (rows == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      for (guint j = 0; j < rows->len; j++)
        {
          DroverLedgerEntry *entry = g_ptr_array_index (rows, j);

          if (is_job_row (entry->kind, entry->subject, entry->body))
            g_ptr_array_add (data->entries, drover_ledger_entry_copy (entry));
        }

      if (g_task_return_error_if_cancelled (task))
        return;
    }
  g_ptr_array_sort (data->entries, compare_newest_first);
  if (data->entries->len > JOBS_LIMIT + 1)
    g_ptr_array_set_size (data->entries, JOBS_LIMIT + 1);

  /* Names make the rows readable; without the store, key ids do. */
  data->signers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  trust = drover_trust_store_load (NULL, &trust_error);
  if (trust != NULL)
    {
      GPtrArray *keys = drover_trust_store_get_keys (trust);

      for (guint i = 0; i < keys->len; i++)
        {
          const DroverTrustedKey *key = g_ptr_array_index (keys, i);

          g_hash_table_replace (data->signers, g_strdup (key->id), g_strdup (key->name));
        }
    }

  g_task_return_boolean (task, TRUE);
}

static void
jobs_queried_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  DroverPrinterPage *self = DROVER_PRINTER_PAGE (source);
  JobsQuery *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) waiting = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (g_task_get_cancellable (G_TASK (result)) != self->jobs_cancellable)
    return;

  g_clear_object (&self->jobs_cancellable);
  self->jobs_loading = FALSE;
  waiting = g_steal_pointer (&self->jobs_waiting);
  self->jobs_waiting = g_ptr_array_new_with_free_func ((GDestroyNotify)drover_ledger_entry_free);

  if (error != NULL)
    {
      gtk_label_set_label (self->jobs_status, error->message);
      return;
    }

  g_clear_pointer (&self->signers, g_hash_table_unref);
  self->signers = g_steal_pointer (&data->signers);

  self->jobs_more = data->entries->len > JOBS_LIMIT;
  for (guint i = 0; i < data->entries->len && i < JOBS_LIMIT; i++)
    {
      DroverLedgerEntry *entry = g_ptr_array_index (data->entries, i);

      gtk_list_box_append (self->jobs_list, create_job_row (self, entry));
      self->jobs_n_rows++;
      self->jobs_last_seq = MAX (self->jobs_last_seq, entry->seq);
    }

  for (guint i = 0; i < waiting->len; i++)
    prepend_job_row (self, g_ptr_array_index (waiting, i));

  update_jobs_status (self);
}

static void
load_jobs (DroverPrinterPage *self)
{
  g_cancellable_cancel (self->jobs_cancellable);
  g_clear_object (&self->jobs_cancellable);
  g_ptr_array_set_size (self->jobs_waiting, 0);
  remove_jobs_rows (self);
  self->jobs_more = FALSE;
  self->jobs_last_seq = 0;
  self->jobs_loading = FALSE;

  g_clear_pointer (&self->jobs_printer_id, g_free);
  if (self->printer != NULL)
    self->jobs_printer_id = g_strdup (drover_printer_get_id (self->printer));

  if (self->ledger != NULL && self->jobs_printer_id != NULL)
    {
      g_autoptr(GTask) task = NULL;
      JobsQuery *data = g_new0 (JobsQuery, 1);

      data->ledger = g_object_ref (self->ledger);
      data->printer_id = g_strdup (self->jobs_printer_id);
      self->jobs_loading = TRUE;
      self->jobs_cancellable = g_cancellable_new ();
      task = g_task_new (self, self->jobs_cancellable, jobs_queried_cb, NULL);
      g_task_set_source_tag (task, load_jobs);
      g_task_set_task_data (task, data, (GDestroyNotify)jobs_query_free);
      g_task_run_in_thread (task, jobs_query_thread);
    }

  update_jobs_status (self);
}

static gboolean
jobs_visible (DroverPrinterPage *self)
{
  return g_strcmp0 (adw_view_stack_get_visible_child_name (self->view_stack), "jobs") == 0;
}

static void
forget_jobs (DroverPrinterPage *self)
{
  g_cancellable_cancel (self->jobs_cancellable);
  g_clear_object (&self->jobs_cancellable);
  self->jobs_loading = FALSE;
  remove_jobs_rows (self);
  g_clear_pointer (&self->jobs_printer_id, g_free);
}

static void
committed_cb (DroverPrinterPage       *self,
              const DroverLedgerEntry *entry)
{
  jobs_committed (self, entry);
  if (!entry_matches (self, entry))
    return;

  /* The query under way may or may not hold it: decide when it is back. */
  if (self->history_loading)
    {
      g_ptr_array_add (self->history_waiting, drover_ledger_entry_copy (entry));
      return;
    }

  prepend_history_row (self, entry);
  update_history_status (self);
}

static void
history_queried_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(DroverPrinterPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = drover_ledger_query_finish (DROVER_LEDGER (source), result, &error);
  g_autoptr(GPtrArray) waiting = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  g_clear_object (&self->history_cancellable);
  self->history_loading = FALSE;
  waiting = g_steal_pointer (&self->history_waiting);
  self->history_waiting = g_ptr_array_new_with_free_func ((GDestroyNotify)drover_ledger_entry_free);

  if (entries == NULL)
    {
      gtk_label_set_label (self->history_status, error->message);
      return;
    }

  /* Newest first; one more than the limit says whether older ones exist. */
  self->history_more = entries->len > HISTORY_LIMIT;
  for (guint i = 0; i < entries->len && i < HISTORY_LIMIT; i++)
    {
      DroverLedgerEntry *entry = g_ptr_array_index (entries, i);

      gtk_list_box_append (self->history_list, create_history_row (entry));
      self->history_n_rows++;
      self->history_last_seq = MAX (self->history_last_seq, entry->seq);
    }

  for (guint i = 0; i < waiting->len; i++)
    prepend_history_row (self, g_ptr_array_index (waiting, i));

  update_history_status (self);
}

static void
load_history (DroverPrinterPage *self)
{
  DroverLedgerQuery query = { 0 };

  g_cancellable_cancel (self->history_cancellable);
  g_clear_object (&self->history_cancellable);
  g_ptr_array_set_size (self->history_waiting, 0);
  remove_history_rows (self);
  self->history_more = FALSE;
  self->history_last_seq = 0;
  self->history_loading = FALSE;

  g_clear_pointer (&self->history_printer_id, g_free);
  if (self->printer != NULL)
    self->history_printer_id = g_strdup (drover_printer_get_id (self->printer));

  if (self->ledger != NULL && self->history_printer_id != NULL)
    {
      query.printer = self->history_printer_id;
      query.text = self->history_text;
      query.limit = HISTORY_LIMIT + 1;
      query.newest_first = TRUE;

      self->history_loading = TRUE;
      self->history_cancellable = g_cancellable_new ();
      drover_ledger_query_async (self->ledger, &query, self->history_cancellable, history_queried_cb,
                                 g_object_ref (self));
    }

  update_history_status (self);
}

static gboolean
history_visible (DroverPrinterPage *self)
{
  return g_strcmp0 (adw_view_stack_get_visible_child_name (self->view_stack), "history") == 0;
}

/* The ledger comes a moment after the audit: it is opened in a worker. */
static void
follow_ledger (DroverPrinterPage *self)
{
  DroverLedger *ledger = self->audit != NULL ? drover_audit_get_ledger (self->audit) : NULL;

  if (ledger == self->ledger)
    return;

  if (self->ledger != NULL)
    g_signal_handlers_disconnect_by_data (self->ledger, self);
  g_set_object (&self->ledger, ledger);
  if (ledger != NULL)
    g_signal_connect_object (ledger, "committed", G_CALLBACK (committed_cb), self, G_CONNECT_SWAPPED);

  if (history_visible (self))
    load_history (self);
  else
    g_clear_pointer (&self->history_printer_id, g_free);

  if (jobs_visible (self))
    load_jobs (self);
  else
    forget_jobs (self);
}

static void
audit_ready_cb (DroverPrinterPage *self)
{
  follow_ledger (self);
}

static void
tab_changed_cb (DroverPrinterPage *self)
{
  const char *printer_id = self->printer != NULL ? drover_printer_get_id (self->printer) : NULL;

  follow_ledger (self);
  if (history_visible (self) && (self->history_printer_id == NULL || g_strcmp0 (self->history_printer_id, printer_id) != 0))
    load_history (self);
  if (jobs_visible (self) && (self->jobs_printer_id == NULL || g_strcmp0 (self->jobs_printer_id, printer_id) != 0))
    load_jobs (self);
}

static void
history_search_changed_cb (DroverPrinterPage *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->history_search));

  g_clear_pointer (&self->history_text, g_free);
  if (text != NULL && text[0] != '\0')
    self->history_text = g_strdup (text);

  load_history (self);
}

static void
set_audit (DroverPrinterPage *self,
           DroverAudit       *audit)
{
  if (self->audit == audit)
    return;

  if (self->audit != NULL)
    g_signal_handlers_disconnect_by_data (self->audit, self);
  g_set_object (&self->audit, audit);
  if (audit != NULL)
    g_signal_connect_object (audit, "ready", G_CALLBACK (audit_ready_cb), self, G_CONNECT_SWAPPED);

  bind_files (self);
  follow_ledger (self);
  update_history_status (self);
  update_jobs_status (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AUDIT]);
}

static gboolean
refresh_cb (gpointer data)
{
  DroverPrinterPage *self = data;

  update_values (self);
  update_connection (self);
  update_message (self);

  return G_SOURCE_CONTINUE;
}

static void
drover_printer_page_map (GtkWidget *widget)
{
  DroverPrinterPage *self = DROVER_PRINTER_PAGE (widget);

  GTK_WIDGET_CLASS (drover_printer_page_parent_class)->map (widget);

  /* "Last heard", the link and the raw message change without notifying:
   * look once a second while the page is on screen. */
  refresh_cb (self);
  if (self->refresh_source == 0)
    self->refresh_source = g_timeout_add_seconds (1, refresh_cb, self);
}

static void
drover_printer_page_unmap (GtkWidget *widget)
{
  DroverPrinterPage *self = DROVER_PRINTER_PAGE (widget);

  g_clear_handle_id (&self->refresh_source, g_source_remove);

  GTK_WIDGET_CLASS (drover_printer_page_parent_class)->unmap (widget);
}

static void
drover_printer_page_dispose (GObject *object)
{
  DroverPrinterPage *self = (DroverPrinterPage *)object;

  g_clear_handle_id (&self->refresh_source, g_source_remove);
  g_clear_handle_id (&self->files_source, g_source_remove);
  g_cancellable_cancel (self->history_cancellable);
  g_clear_object (&self->history_cancellable);
  g_cancellable_cancel (self->jobs_cancellable);
  g_clear_object (&self->jobs_cancellable);
  if (self->files_list != NULL)
    gtk_list_box_bind_model (self->files_list, NULL, NULL, NULL, NULL);
  if (self->files != NULL)
    g_signal_handlers_disconnect_by_data (self->files, self);
  g_clear_object (&self->files);
  g_clear_object (&self->sorted_files);
  g_clear_object (&self->files_sorter);
  if (self->ledger != NULL)
    g_signal_handlers_disconnect_by_data (self->ledger, self);
  g_clear_object (&self->ledger);
  if (self->audit != NULL)
    g_signal_handlers_disconnect_by_data (self->audit, self);
  g_clear_object (&self->audit);
  gtk_widget_dispose_template (GTK_WIDGET (self), DROVER_TYPE_PRINTER_PAGE);
  g_clear_object (&self->printer_signals);
  g_clear_object (&self->printer);
  g_clear_object (&self->farm);

  G_OBJECT_CLASS (drover_printer_page_parent_class)->dispose (object);
}

static void
drover_printer_page_finalize (GObject *object)
{
  DroverPrinterPage *self = (DroverPrinterPage *)object;

  g_clear_pointer (&self->history_waiting, g_ptr_array_unref);
  g_free (self->history_printer_id);
  g_clear_pointer (&self->jobs_waiting, g_ptr_array_unref);
  g_clear_pointer (&self->signers, g_hash_table_unref);
  g_free (self->jobs_printer_id);
  g_free (self->history_text);

  G_OBJECT_CLASS (drover_printer_page_parent_class)->finalize (object);
}

static void
drover_printer_page_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  DroverPrinterPage *self = DROVER_PRINTER_PAGE (object);

  switch (prop_id)
    {
    case PROP_AUDIT:
      g_value_set_object (value, self->audit);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_printer_page_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  DroverPrinterPage *self = DROVER_PRINTER_PAGE (object);

  switch (prop_id)
    {
    case PROP_AUDIT:
      set_audit (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_printer_page_class_init (DroverPrinterPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = drover_printer_page_dispose;
  object_class->finalize = drover_printer_page_finalize;
  object_class->get_property = drover_printer_page_get_property;
  object_class->set_property = drover_printer_page_set_property;
  widget_class->map = drover_printer_page_map;
  widget_class->unmap = drover_printer_page_unmap;

  gtk_widget_class_install_action (widget_class, "printer.pause", NULL, pause_action);
  gtk_widget_class_install_action (widget_class, "printer.resume", NULL, resume_action);
  gtk_widget_class_install_action (widget_class, "printer.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "printer.heaters-off", NULL, heaters_off_action);

  /**
   * DroverPrinterPage:audit:
   *
   * The running farm's audit, for the Files and History tabs; %NULL when
   * no farm runs.
   */
  properties[PROP_AUDIT] =
    g_param_spec_object ("audit", NULL, NULL,
                         DROVER_TYPE_AUDIT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/drover/Drover/drover-printer-page.ui");
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, control_label);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, state_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, hotend_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, bed_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, job_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, progress_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, seen_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, connector_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, id_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, key_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, broker_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, state_row);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, broker_row);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, security_row);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, message_topic);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, message_view);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, view_stack);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, files_page);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, files_list);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, history_search);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, history_status);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, history_list);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, history_more_label);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, jobs_status);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, jobs_list);
  gtk_widget_class_bind_template_callback (widget_class, tab_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, history_search_changed_cb);
}

static void
drover_printer_page_init (DroverPrinterPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->history_waiting = g_ptr_array_new_with_free_func ((GDestroyNotify)drover_ledger_entry_free);
  self->jobs_waiting = g_ptr_array_new_with_free_func ((GDestroyNotify)drover_ledger_entry_free);
  self->files_sorter = gtk_custom_sorter_new (compare_files, NULL, NULL);
  self->sorted_files = gtk_sort_list_model_new (NULL, g_object_ref (GTK_SORTER (self->files_sorter)));
  self->files_placeholder = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->files_placeholder, TRUE);
  gtk_widget_set_margin_top (GTK_WIDGET (self->files_placeholder), 18);
  gtk_widget_set_margin_bottom (GTK_WIDGET (self->files_placeholder), 18);
  gtk_widget_set_margin_start (GTK_WIDGET (self->files_placeholder), 12);
  gtk_widget_set_margin_end (GTK_WIDGET (self->files_placeholder), 12);
  gtk_widget_add_css_class (GTK_WIDGET (self->files_placeholder), "dim-label");
  gtk_list_box_set_placeholder (self->files_list, GTK_WIDGET (self->files_placeholder));
  bind_files (self);
  update_history_status (self);
  update_jobs_status (self);

  self->printer_signals = g_signal_group_new (DROVER_TYPE_PRINTER);
  g_signal_group_connect_swapped (self->printer_signals, "notify", G_CALLBACK (update_values), self);
}

GtkWidget *
drover_printer_page_new (void)
{
  return g_object_new (DROVER_TYPE_PRINTER_PAGE, NULL);
}

/**
 * drover_printer_page_set_printer:
 * @printer: (nullable): the printer to show
 * @farm: (nullable): the farm it belongs to, for its connection and messages
 */
void
drover_printer_page_set_printer (DroverPrinterPage *self,
                                 DroverPrinter     *printer,
                                 DroverFarm        *farm)
{
  g_return_if_fail (DROVER_IS_PRINTER_PAGE (self));

  /* Another printer's history starts unfiltered. */
  if (printer != self->printer && self->history_text != NULL)
    {
      g_clear_pointer (&self->history_text, g_free);
      gtk_editable_set_text (GTK_EDITABLE (self->history_search), "");
    }

  g_set_object (&self->printer, printer);
  g_set_object (&self->farm, farm);
  gtk_widget_set_visible (GTK_WIDGET (self->control_label), FALSE);
  update_controls (self);
  g_signal_group_set_target (self->printer_signals, printer);
  refresh_cb (self);

  bind_files (self);
  follow_ledger (self);
  /* A new printer's history is read when its tab shows. */
  if (history_visible (self) && printer != NULL)
    load_history (self);
  else
    {
      g_cancellable_cancel (self->history_cancellable);
      g_clear_object (&self->history_cancellable);
      self->history_loading = FALSE;
      remove_history_rows (self);
      g_clear_pointer (&self->history_printer_id, g_free);
    }
  if (jobs_visible (self) && printer != NULL)
    load_jobs (self);
  else
    forget_jobs (self);
}

DroverPrinter *
drover_printer_page_get_printer (DroverPrinterPage *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER_PAGE (self), NULL);

  return self->printer;
}
