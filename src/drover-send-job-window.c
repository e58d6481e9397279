/* drover-send-job-window.c: a signed job, checked, to the printers the operator picks
 *
 * The farm's most asked-for feature, in one modal window: choose a G-code
 * file; the gate checks it in a worker (size, a signature by a trusted key,
 * the manifest, the G-code scan); the verdict shows in words, with each of
 * the farm's printers and whether it may take the job now, and why not;
 * the operator picks printers, confirms their plates are clear, and
 * watches each upload.
 *
 * Nothing goes into a DroverDispatch before Send: adding a printer runs
 * its gate and records a refusal in the ledger, so only the operator's
 * picks go in. Until then each printer's eligibility comes from
 * drover_job_check_printer(), which has no side effects, and follows the
 * printer's state as it changes.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-send-job"

#include "config.h"

#include <glib/gi18n.h>

#include "drover-preferences-window.h"
#include "drover-send-job-window.h"

/* A printer the job could go to: one row of the list to pick from. */

#define DROVER_TYPE_SEND_CANDIDATE (drover_send_candidate_get_type ())

G_DECLARE_FINAL_TYPE (DroverSendCandidate, drover_send_candidate, DROVER, SEND_CANDIDATE, GObject)

struct _DroverSendCandidate
{
  GObject        parent_instance;

  DroverPrinter *printer;
  char          *detail;     /* why not, or what it is */
  gboolean       eligible;
  gboolean       picked;
  gboolean       named;      /* the manifest names it */
};

G_DEFINE_FINAL_TYPE (DroverSendCandidate, drover_send_candidate, G_TYPE_OBJECT)

enum {
  CANDIDATE_PROP_0,
  CANDIDATE_PROP_DETAIL,
  CANDIDATE_PROP_ELIGIBLE,
  CANDIDATE_PROP_PICKED,
  CANDIDATE_N_PROPS
};

static GParamSpec *candidate_properties[CANDIDATE_N_PROPS];

static void
drover_send_candidate_set_picked (DroverSendCandidate *self,
                                  gboolean             picked)
{
  /* A printer that may not take the job is never picked. */
  picked = picked && self->eligible;
  if (self->picked == picked)
    return;

  self->picked = picked;
  g_object_notify_by_pspec (G_OBJECT (self), candidate_properties[CANDIDATE_PROP_PICKED]);
}

static void
drover_send_candidate_update (DroverSendCandidate *self,
                              gboolean             eligible,
                              const char          *detail)
{
  if (g_strcmp0 (self->detail, detail) != 0)
    {
      g_free (self->detail);
      self->detail = g_strdup (detail);
      g_object_notify_by_pspec (G_OBJECT (self), candidate_properties[CANDIDATE_PROP_DETAIL]);
    }

  if (self->eligible != eligible)
    {
      self->eligible = eligible;
      g_object_notify_by_pspec (G_OBJECT (self), candidate_properties[CANDIDATE_PROP_ELIGIBLE]);
    }

  if (!eligible)
    drover_send_candidate_set_picked (self, FALSE);
}

static void
drover_send_candidate_finalize (GObject *object)
{
  DroverSendCandidate *self = (DroverSendCandidate *)object;

  g_clear_object (&self->printer);
  g_free (self->detail);

  G_OBJECT_CLASS (drover_send_candidate_parent_class)->finalize (object);
}

static void
drover_send_candidate_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  DroverSendCandidate *self = DROVER_SEND_CANDIDATE (object);

  switch (prop_id)
    {
    case CANDIDATE_PROP_DETAIL:
      g_value_set_string (value, self->detail);
      break;

    case CANDIDATE_PROP_ELIGIBLE:
      g_value_set_boolean (value, self->eligible);
      break;

    case CANDIDATE_PROP_PICKED:
      g_value_set_boolean (value, self->picked);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_send_candidate_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  DroverSendCandidate *self = DROVER_SEND_CANDIDATE (object);

  switch (prop_id)
    {
    case CANDIDATE_PROP_PICKED:
      drover_send_candidate_set_picked (self, g_value_get_boolean (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_send_candidate_class_init (DroverSendCandidateClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = drover_send_candidate_finalize;
  object_class->get_property = drover_send_candidate_get_property;
  object_class->set_property = drover_send_candidate_set_property;

  candidate_properties[CANDIDATE_PROP_DETAIL] =
    g_param_spec_string ("detail", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  candidate_properties[CANDIDATE_PROP_ELIGIBLE] =
    g_param_spec_boolean ("eligible", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  candidate_properties[CANDIDATE_PROP_PICKED] =
    g_param_spec_boolean ("picked", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, CANDIDATE_N_PROPS, candidate_properties);
}

static void
drover_send_candidate_init (DroverSendCandidate *self)
{
}

/* The window */

struct _DroverSendJobWindow
{
  AdwWindow             parent_instance;

  DroverApplication    *application;
  DroverFarm           *farm;          /* the farm the job was loaded for */
  DroverAudit          *audit;
  GFile                *file;
  DroverJob            *job;
  GCancellable         *cancellable;   /* the load or the send under way */
  GtkNativeDialog      *chooser;
  GListStore           *candidates;    /* DroverSendCandidate */
  GtkSortListModel     *sorted_candidates;
  DroverDispatch       *dispatch;
  GtkWidget            *stop_dialog;   /* weak */
  guint                 n_picked;
  guint                 update_source;
  gboolean              sending;
  gboolean              stopped;

  /* Template widgets */
  AdwWindowTitle       *window_title;
  GtkStack             *stack;
  GtkSpinner           *loading_spinner;
  GtkLabel             *loading_label;
  AdwStatusPage        *refused_page;
  GtkWidget            *refused_choose_button;
  GtkWidget            *trust_button;
  GtkImage             *verdict_icon;
  GtkLabel             *verdict_title;
  GtkLabel             *verdict_problem;
  GtkListBox           *verdict_list;
  GtkLabel             *printers_summary;
  GtkListView          *printers_view;
  GtkCheckButton       *plate_check;
  GtkLabel             *send_hint;
  GtkButton            *send_button;
  GtkStack             *progress_icon_stack;
  GtkSpinner           *sending_spinner;
  GtkImage             *result_icon;
  GtkLabel             *progress_title;
  GtkLabel             *summary_label;
  GtkListView          *targets_view;
  GtkWidget            *stop_button;
  GtkWidget            *another_button;
  GtkWidget            *close_button;
};

G_DEFINE_FINAL_TYPE (DroverSendJobWindow, drover_send_job_window, ADW_TYPE_WINDOW)

/* Where the operator last found a job, for the next one this session. */
static GFile *last_folder;

static void
show_page (DroverSendJobWindow *self,
           const char          *name)
{
  gboolean loading = g_str_equal (name, "loading");
  gboolean review = g_str_equal (name, "review");
  gboolean sending = g_str_equal (name, "sending");

  gtk_stack_set_visible_child_name (self->stack, name);
  gtk_spinner_set_spinning (self->loading_spinner, loading);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "send.choose", !self->sending);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "send.check-again", g_str_equal (name, "refused") && self->file != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "send.cancel", loading);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "send.select-all", review);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "send.stop", sending && self->sending && !self->stopped);
  if (!review)
    gtk_widget_action_set_enabled (GTK_WIDGET (self), "send.send", FALSE);
}

static DroverLedger *
get_ledger (DroverSendJobWindow *self)
{
  return self->audit != NULL ? drover_audit_get_ledger (self->audit) : NULL;
}

/* Picking printers */

static char *
dup_refusal (DroverSendJobWindow *self,
             DroverPrinter       *printer)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTransport) transport = NULL;
  const char *printer_id = drover_printer_get_id (printer);

  /* The gate's own steps first: they hold whatever the printer does. */
  if (!drover_job_check_printer (self->job, printer_id, NULL, g_get_real_time () / G_USEC_PER_SEC, &error))
    return g_strdup (error->message);

  transport = self->farm != NULL ? drover_farm_dup_transport (self->farm, printer_id) : NULL;
  if (transport == NULL)
    return g_strdup (_("Drover cannot send jobs to this printer yet."));

  switch (drover_printer_get_state (printer))
    {
    case DROVER_PRINTER_STATE_OFFLINE:
      return g_strdup (_("The printer is offline; a job is never queued for later."));

    case DROVER_PRINTER_STATE_PRINTING:
    case DROVER_PRINTER_STATE_PAUSED:
      if (drover_printer_get_current_file (printer) != NULL)
        /* Translators: why a printer cannot take a job now; %s is the file it prints */
        return g_strdup_printf (_("The printer is busy with “%s”."), drover_printer_get_current_file (printer));
      return g_strdup (_("The printer is busy with another job."));

    case DROVER_PRINTER_STATE_ERROR:
      if (drover_printer_get_error_text (printer) != NULL)
        /* Translators: why a printer cannot take a job now; %s is what the printer reported */
        return g_strdup_printf (_("The printer reports a fault: %s"), drover_printer_get_error_text (printer));
      return g_strdup (_("The printer reports a fault; clear it first."));

    case DROVER_PRINTER_STATE_IDLE:
    default:
      return NULL;
    }
}

static void
update_candidate (DroverSendJobWindow *self,
                  DroverSendCandidate *candidate)
{
  g_autofree char *refusal = dup_refusal (self, candidate->printer);
  g_autofree char *detail = NULL;
  const char *kind = drover_connector_kind_to_string (drover_printer_get_connector (candidate->printer));
  const char *state = drover_printer_state_to_string (drover_printer_get_state (candidate->printer));

  if (refusal != NULL)
    {
      drover_send_candidate_update (candidate, FALSE, refusal);
      return;
    }

  if (candidate->named)
    /* Translators: an eligible printer: its kind, its state, and that the job names it */
    detail = g_strdup_printf (_("%s · %s · named in the job"), kind, state);
  else
    /* Translators: an eligible printer: its kind and its state */
    detail = g_strdup_printf (_("%s · %s"), kind, state);
  drover_send_candidate_update (candidate, TRUE, detail);
}

static void
update_send_state (DroverSendJobWindow *self)
{
  guint n_items = g_list_model_get_n_items (G_LIST_MODEL (self->candidates));
  guint n_eligible = 0;
  gboolean plate_clear = gtk_check_button_get_active (self->plate_check);
  gboolean can_send;
  g_autofree char *summary = NULL;
  g_autofree char *label = NULL;
  g_autofree char *hint = NULL;
  g_autoptr(GString) picked = g_string_new (NULL);

  self->n_picked = 0;
  for (guint i = 0; i < n_items; i++)
    {
      g_autoptr(DroverSendCandidate) candidate = g_list_model_get_item (G_LIST_MODEL (self->sorted_candidates), i);

      n_eligible += candidate->eligible;
      if (!candidate->picked)
        continue;

      /* The picked printers by name: they may be scrolled out of sight. */
      if (++self->n_picked <= 3)
        g_string_append_printf (picked, "%s%s", picked->len > 0 ? ", " : "",
                                drover_printer_get_display_name (candidate->printer));
    }
  if (self->n_picked > 3)
    /* Translators: after the first three names of the printers a job goes to */
    g_string_append_printf (picked, g_dngettext (GETTEXT_PACKAGE, " and %u more", " and %u more", self->n_picked - 3),
                            self->n_picked - 3);

  if (n_items == 0)
    summary = g_strdup (_("The farm has no printers."));
  else
    /* Translators: over the list of printers: how many may take the job, of how many */
    summary = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u of %u printer may take this job now",
                                            "%u of %u printers may take this job now", n_items),
                               n_eligible, n_items);
  gtk_label_set_label (self->printers_summary, summary);

  if (self->n_picked == 0)
    label = g_strdup (_("_Send"));
  else
    /* Translators: the Send button, with how many printers are picked */
    label = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "_Send to %u Printer", "_Send to %u Printers",
                                          self->n_picked),
                             self->n_picked);
  gtk_button_set_label (self->send_button, label);

  /* Say what is missing, not only grey the button out. */
  if (n_eligible == 0)
    hint = g_strdup (_("No printer may take this job now."));
  else if (self->n_picked == 0)
    hint = g_strdup (_("Pick the printers to send the job to."));
  else if (!plate_clear)
    /* Translators: %s names the printers picked */
    hint = g_strdup_printf (_("For %s. Confirm that the plates are clear to send."), picked->str);
  else
    /* Translators: %s names the printers picked */
    hint = g_strdup_printf (_("For %s. Each printer starts the job as soon as it has it."), picked->str);
  gtk_label_set_label (self->send_hint, hint);

  can_send = self->job != NULL && !self->sending && self->n_picked > 0 && plate_clear &&
             g_strcmp0 (gtk_stack_get_visible_child_name (self->stack), "review") == 0;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "send.send", can_send);
}

static gboolean
update_send_state_cb (gpointer data)
{
  DroverSendJobWindow *self = data;

  self->update_source = 0;
  update_send_state (self);

  return G_SOURCE_REMOVE;
}

/* "Select All Eligible" on a farm of thousands changes thousands of rows:
 * count once after them, not once each. */
static void
candidate_changed_cb (DroverSendJobWindow *self)
{
  if (self->update_source == 0)
    self->update_source = g_idle_add (update_send_state_cb, self);
}

static void
printer_state_changed_cb (DroverSendCandidate *candidate,
                          GParamSpec          *pspec,
                          DroverPrinter       *printer)
{
  DroverSendJobWindow *self = g_object_get_data (G_OBJECT (candidate), "drover-window");

  if (self != NULL)
    update_candidate (self, candidate);
}

static void
disconnect_candidates (DroverSendJobWindow *self)
{
  guint n_items = g_list_model_get_n_items (G_LIST_MODEL (self->candidates));

  for (guint i = 0; i < n_items; i++)
    {
      g_autoptr(DroverSendCandidate) candidate = g_list_model_get_item (G_LIST_MODEL (self->candidates), i);

      g_signal_handlers_disconnect_by_data (candidate->printer, candidate);
      g_signal_handlers_disconnect_by_data (candidate, self);
      g_object_set_data (G_OBJECT (candidate), "drover-window", NULL);
    }
  g_list_store_remove_all (self->candidates);
}

/* Eligible first, then the printers the job names, then by name: the
 * order is set once, so that rows do not jump under the pointer when a
 * printer's state changes. */
static int
compare_candidates (gconstpointer a,
                    gconstpointer b,
                    gpointer      user_data)
{
  const DroverSendCandidate *candidate_a = a;
  const DroverSendCandidate *candidate_b = b;

  if (candidate_a->eligible != candidate_b->eligible)
    return candidate_a->eligible ? -1 : 1;
  if (candidate_a->named != candidate_b->named)
    return candidate_a->named ? -1 : 1;

  return g_utf8_collate (drover_printer_get_display_name (candidate_a->printer),
                         drover_printer_get_display_name (candidate_b->printer));
}

static void
fill_candidates (DroverSendJobWindow *self)
{
  DroverFleet *fleet = drover_application_get_fleet (self->application);
  const DroverManifest *manifest = drover_job_get_manifest (self->job);
  guint n_printers = g_list_model_get_n_items (G_LIST_MODEL (fleet));
  g_autoptr(GPtrArray) items = g_ptr_array_new_full (n_printers, g_object_unref);

  disconnect_candidates (self);

  for (guint i = 0; i < n_printers; i++)
    {
      g_autoptr(DroverPrinter) printer = g_list_model_get_item (G_LIST_MODEL (fleet), i);
      DroverSendCandidate *candidate = g_object_new (DROVER_TYPE_SEND_CANDIDATE, NULL);

      candidate->printer = g_object_ref (printer);
      /* A job for the whole fleet picks nobody by itself: the operator does. */
      candidate->named = !manifest->fleet && drover_manifest_names_printer (manifest, drover_printer_get_id (printer));
      update_candidate (self, candidate);
      drover_send_candidate_set_picked (candidate, candidate->named);

      g_object_set_data (G_OBJECT (candidate), "drover-window", self);
      g_signal_connect_object (printer, "notify::state", G_CALLBACK (printer_state_changed_cb), candidate,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (candidate, "notify", G_CALLBACK (candidate_changed_cb), self, G_CONNECT_SWAPPED);
      g_ptr_array_add (items, candidate);
    }

  g_list_store_splice (self->candidates, 0, 0, items->pdata, items->len);
}

#define ROW_CHECK_KEY    "drover-row-check"
#define ROW_NAME_KEY     "drover-row-name"
#define ROW_DETAIL_KEY   "drover-row-detail"
#define ROW_BINDINGS_KEY "drover-row-bindings"

static void
setup_printer_row_cb (GtkSignalListItemFactory *factory,
                      GtkListItem              *item,
                      gpointer                  user_data)
{
  GtkWidget *check = gtk_check_button_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *name = gtk_label_new (NULL);
  GtkWidget *detail = gtk_label_new (NULL);

  /* The name and the reason both inside the check button: a click on
   * either picks the printer, and a greyed-out row reads as one. */
  gtk_label_set_xalign (GTK_LABEL (name), 0.0f);
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
  gtk_label_set_xalign (GTK_LABEL (detail), 0.0f);
  gtk_label_set_wrap (GTK_LABEL (detail), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (detail), PANGO_WRAP_WORD_CHAR);
  gtk_widget_add_css_class (detail, "dim-label");
  gtk_widget_add_css_class (detail, "caption");
  gtk_widget_set_margin_start (box, 6);
  gtk_box_append (GTK_BOX (box), name);
  gtk_box_append (GTK_BOX (box), detail);
  gtk_check_button_set_child (GTK_CHECK_BUTTON (check), box);

  g_object_set_data (G_OBJECT (item), ROW_CHECK_KEY, check);
  g_object_set_data (G_OBJECT (item), ROW_NAME_KEY, name);
  g_object_set_data (G_OBJECT (item), ROW_DETAIL_KEY, detail);
  gtk_list_item_set_child (item, check);
}

/* Held, so that unbinding is safe even once the candidate is gone. */
static void
binding_release (GBinding *binding)
{
  g_binding_unbind (binding);
  g_object_unref (binding);
}

static void
update_check_description (GtkWidget           *check,
                          GParamSpec          *pspec,
                          DroverSendCandidate *candidate)
{
  gtk_accessible_update_property (GTK_ACCESSIBLE (check), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  candidate->detail != NULL ? candidate->detail : "", -1);
}

static void
bind_printer_row_cb (GtkSignalListItemFactory *factory,
                     GtkListItem              *item,
                     gpointer                  user_data)
{
  DroverSendCandidate *candidate = gtk_list_item_get_item (item);
  GtkWidget *check = g_object_get_data (G_OBJECT (item), ROW_CHECK_KEY);
  GtkWidget *name = g_object_get_data (G_OBJECT (item), ROW_NAME_KEY);
  GtkWidget *detail = g_object_get_data (G_OBJECT (item), ROW_DETAIL_KEY);
  GPtrArray *bindings = g_ptr_array_new_with_free_func ((GDestroyNotify)binding_release);

  gtk_label_set_label (GTK_LABEL (name), drover_printer_get_display_name (candidate->printer));
  gtk_accessible_update_property (GTK_ACCESSIBLE (check), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  drover_printer_get_display_name (candidate->printer), -1);
  g_ptr_array_add (bindings, g_object_ref (g_object_bind_property (candidate, "picked", check, "active",
                                                                   G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE)));
  g_ptr_array_add (bindings, g_object_ref (g_object_bind_property (candidate, "eligible", check, "sensitive",
                                                                   G_BINDING_SYNC_CREATE)));
  g_ptr_array_add (bindings, g_object_ref (g_object_bind_property (candidate, "detail", detail, "label",
                                                                   G_BINDING_SYNC_CREATE)));
  g_object_set_data_full (G_OBJECT (item), ROW_BINDINGS_KEY, bindings, (GDestroyNotify)g_ptr_array_unref);

  update_check_description (check, NULL, candidate);
  g_signal_connect_object (candidate, "notify::detail", G_CALLBACK (update_check_description), check,
                           G_CONNECT_SWAPPED);
  gtk_list_item_set_activatable (item, candidate->eligible);
}

static void
unbind_printer_row_cb (GtkSignalListItemFactory *factory,
                       GtkListItem              *item,
                       gpointer                  user_data)
{
  DroverSendCandidate *candidate = gtk_list_item_get_item (item);
  GtkWidget *check = g_object_get_data (G_OBJECT (item), ROW_CHECK_KEY);

  g_object_set_data (G_OBJECT (item), ROW_BINDINGS_KEY, NULL);
  if (candidate != NULL)
    g_signal_handlers_disconnect_by_func (candidate, update_check_description, check);
}

/* Enter on a row picks it, or leaves it. */
static void
printer_activated_cb (DroverSendJobWindow *self,
                      guint                position)
{
  g_autoptr(DroverSendCandidate) candidate = g_list_model_get_item (G_LIST_MODEL (self->sorted_candidates), position);

  if (candidate != NULL)
    drover_send_candidate_set_picked (candidate, !candidate->picked);
}

static void
plate_toggled_cb (DroverSendJobWindow *self)
{
  update_send_state (self);
}

static void
select_all_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  DroverSendJobWindow *self = DROVER_SEND_JOB_WINDOW (widget);
  guint n_items = g_list_model_get_n_items (G_LIST_MODEL (self->candidates));

  for (guint i = 0; i < n_items; i++)
    {
      g_autoptr(DroverSendCandidate) candidate = g_list_model_get_item (G_LIST_MODEL (self->candidates), i);

      drover_send_candidate_set_picked (candidate, TRUE);
    }
}

/* The verdict */

static const char *
verdict_line_icon (guint line,
                   guint n_lines,
                   gboolean safe)
{
  /* drover_job_describe(): signer; job and printers; validity; the scan. */
  if (n_lines != 4)
    return NULL;

  switch (line)
    {
    case 0: return "security-high-symbolic";
    case 1: return "printer-symbolic";
    case 2: return "alarm-symbolic";
    case 3: return safe ? "emblem-ok-symbolic" : "dialog-warning-symbolic";
    default: return NULL;
    }
}

static gboolean
scan_is_safe (const DroverGcodeReport *report)
{
  if (report->verdict != DROVER_GCODE_VERDICT_GCODE)
    return FALSE;

  for (guint i = 0; report->findings != NULL && i < report->findings->len; i++)
    if (((const DroverGcodeFinding *)g_ptr_array_index (report->findings, i))->dangerous)
      return FALSE;

  return TRUE;
}

static void
show_verdict (DroverSendJobWindow *self)
{
  g_autofree char *description = drover_job_describe (self->job);
  g_auto(GStrv) lines = g_strsplit (description, "\n", -1);
  g_autoptr(GError) problem = NULL;
  gboolean safe = scan_is_safe (drover_job_get_report (self->job));
  const char *title;
  GtkWidget *child;
  guint n_lines = g_strv_length (lines);

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->verdict_list))) != NULL)
    gtk_list_box_remove (self->verdict_list, child);

  for (guint i = 0; i < n_lines; i++)
    {
      GtkWidget *row;
      GtkWidget *box;
      GtkWidget *label;
      const char *icon_name;

      if (lines[i][0] == '\0')
        continue;

      /* Compact rows: the verdict must leave room for the printers. */
      row = gtk_list_box_row_new ();
      box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
      gtk_widget_set_margin_top (box, 8);
      gtk_widget_set_margin_bottom (box, 8);
      gtk_widget_set_margin_start (box, 12);
      gtk_widget_set_margin_end (box, 12);
      icon_name = verdict_line_icon (i, n_lines, safe);
      if (icon_name != NULL)
        {
          GtkWidget *icon = gtk_image_new_from_icon_name (icon_name);

          gtk_accessible_update_property (GTK_ACCESSIBLE (icon), GTK_ACCESSIBLE_PROPERTY_LABEL, "", -1);
          gtk_widget_set_valign (icon, GTK_ALIGN_START);
          if (i == 3 && !safe)
            gtk_widget_add_css_class (icon, "warning");
          gtk_box_append (GTK_BOX (box), icon);
        }
      /* The manifest and the G-code are the signer's words: plain text. */
      label = gtk_label_new (lines[i]);
      gtk_label_set_xalign (GTK_LABEL (label), 0.0f);
      gtk_label_set_wrap (GTK_LABEL (label), TRUE);
      gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
      gtk_widget_set_hexpand (label, TRUE);
      gtk_box_append (GTK_BOX (box), label);
      gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
      gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
      gtk_widget_set_focusable (row, FALSE);
      gtk_list_box_append (self->verdict_list, row);
    }

  /* The signature holds; what stops the job everywhere is said first,
   * once, not only on every printer's row. */
  if (!drover_job_check_replay (self->job, &problem))
    title = _("Already Sent");
  else if (!drover_manifest_check_time (drover_job_get_manifest (self->job), g_get_real_time () / G_USEC_PER_SEC,
                                        DROVER_JOB_CLOCK_SKEW_S, &problem))
    title = _("Not Valid Now");
  else if (!safe)
    title = _("Signed, but Unsafe to Print");
  else
    title = _("Signed and Checked");

  gtk_label_set_label (self->verdict_title, title);
  gtk_label_set_label (self->verdict_problem, problem != NULL ? problem->message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->verdict_problem), problem != NULL);
  gtk_image_set_from_icon_name (self->verdict_icon, problem == NULL && safe ? "security-high-symbolic"
                                                                            : "dialog-warning-symbolic");
  if (problem == NULL && safe)
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->verdict_icon), "success");
      gtk_widget_remove_css_class (GTK_WIDGET (self->verdict_icon), "warning");
    }
  else
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->verdict_icon), "warning");
      gtk_widget_remove_css_class (GTK_WIDGET (self->verdict_icon), "success");
    }
}

static void
show_refusal (DroverSendJobWindow *self,
              const char          *title,
              const char          *message,
              gboolean             offer_trust)
{
  adw_status_page_set_title (self->refused_page, title);
  adw_status_page_set_description (self->refused_page, message);
  gtk_widget_set_visible (self->trust_button, offer_trust);
  show_page (self, "refused");
  gtk_widget_grab_focus (self->refused_choose_button);
}

static const char *
refusal_title (const GError *error)
{
  if (error->domain == DROVER_TRUST_STORE_ERROR)
    return _("The Trusted Keys Cannot Be Read");

  if (error->domain != DROVER_JOB_ERROR)
    return _("The Job Cannot Be Checked");

  switch (error->code)
    {
    case DROVER_JOB_ERROR_READ: return _("The File Cannot Be Read");
    case DROVER_JOB_ERROR_TOO_LARGE: return _("The File Is Too Large");
    case DROVER_JOB_ERROR_UNSIGNED: return _("The Job Is Not Signed");
    case DROVER_JOB_ERROR_UNTRUSTED_KEY: return _("Signed by an Untrusted Key");
    case DROVER_JOB_ERROR_REVOKED_KEY: return _("Signed by a Revoked Key");
    case DROVER_JOB_ERROR_BAD_SIGNATURE: return _("The Signature Does Not Match");
    case DROVER_JOB_ERROR_MANIFEST: return _("The Job’s Manifest Is Not Valid");
    default: return _("The Job Cannot Be Sent");
    }
}

/* Loading: the trust store and the job, both from disk, in a worker */

typedef struct
{
  GFile        *file;
  DroverLedger *ledger;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_clear_object (&data->file);
  g_clear_object (&data->ledger);
  g_free (data);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *data = task_data;
  g_autoptr(DroverTrustStore) trust = NULL;
  GError *error = NULL;
  DroverJob *job;

  /* Read afresh for every job: a key revoked a minute ago counts. */
  trust = drover_trust_store_load (NULL, &error);
  if (trust == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  job = drover_job_load (data->file, NULL, trust, data->ledger, cancellable, &error);
  if (job == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, job, g_object_unref);
}

static void
loaded_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  DroverSendJobWindow *self = DROVER_SEND_JOB_WINDOW (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverJob) job = g_task_propagate_pointer (G_TASK (result), &error);

  /* A newer file took its place. */
  if (g_task_get_cancellable (G_TASK (result)) != self->cancellable)
    return;

  g_clear_object (&self->cancellable);

  if (job == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          show_page (self, "choose");
          return;
        }

      show_refusal (self, refusal_title (error), error->message,
                    g_error_matches (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_UNTRUSTED_KEY) ||
                    g_error_matches (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_REVOKED_KEY) ||
                    error->domain == DROVER_TRUST_STORE_ERROR);
      return;
    }

  self->job = g_steal_pointer (&job);
  show_verdict (self);
  fill_candidates (self);
  gtk_check_button_set_active (self->plate_check, FALSE);
  show_page (self, "review");
  update_send_state (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->printers_view));
}

/**
 * drover_send_job_window_load_file:
 * @file: a G-code file, its signature beside it
 *
 * Checks @file in a worker and shows the verdict and the printers it may
 * go to, or why it may go nowhere.
 */
void
drover_send_job_window_load_file (DroverSendJobWindow *self,
                                  GFile               *file)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *basename = NULL;
  g_autofree char *loading = NULL;
  LoadData *data;

  g_return_if_fail (DROVER_IS_SEND_JOB_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));
  g_return_if_fail (!self->sending);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  disconnect_candidates (self);
  gtk_list_view_set_model (self->targets_view, NULL);
  g_clear_object (&self->dispatch);
  g_clear_object (&self->job);
  self->stopped = FALSE;
  g_set_object (&self->file, file);

  basename = g_file_get_basename (file);
  adw_window_title_set_subtitle (self->window_title, basename);

  /* The farm of the moment: the job goes to its printers, its audit
   * expects the file, its ledger says whether the job id was spent. */
  g_set_object (&self->farm, drover_application_get_farm (self->application));
  g_set_object (&self->audit, drover_application_get_audit (self->application));
  if (self->farm == NULL || self->audit == NULL)
    {
      show_refusal (self, _("No Farm Is Running"),
                    _("Open your farm or the demo farm first: a job goes to the printers of a running farm."), FALSE);
      return;
    }
  if (get_ledger (self) == NULL)
    {
      show_refusal (self, _("The Ledger Is Not Open"),
                    _("Drover records every job in its ledger and checks there that a job is never sent twice. "
                      "The ledger is not open yet, or could not be opened: wait a moment and try again, or see "
                      "Diagnostics."), FALSE);
      return;
    }

  /* Translators: while a job is checked; %s is its file name */
  loading = g_strdup_printf (_("Checking “%s”: its signature, who signed it, its manifest, and what its G-code does…"),
                             basename);
  gtk_label_set_label (self->loading_label, loading);
  show_page (self, "loading");

  self->cancellable = g_cancellable_new ();
  data = g_new0 (LoadData, 1);
  data->file = g_object_ref (file);
  data->ledger = g_object_ref (get_ledger (self));
  task = g_task_new (self, self->cancellable, loaded_cb, NULL);
  g_task_set_source_tag (task, drover_send_job_window_load_file);
  g_task_set_task_data (task, data, (GDestroyNotify)load_data_free);
  g_task_run_in_thread (task, load_thread);
}

static void
check_again_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  DroverSendJobWindow *self = DROVER_SEND_JOB_WINDOW (widget);
  g_autoptr(GFile) file = self->file != NULL ? g_object_ref (self->file) : NULL;

  if (file != NULL)
    drover_send_job_window_load_file (self, file);
}

/* Preferences, on its Signing page: where an untrusted key gets trusted. */
static void
trusted_keys_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  DroverSendJobWindow *self = DROVER_SEND_JOB_WINDOW (widget);
  GListModel *toplevels = gtk_window_get_toplevels ();
  g_autoptr(GtkWindow) preferences = NULL;

  g_action_group_activate_action (G_ACTION_GROUP (self->application), "preferences", NULL);

  /* The newest Preferences window is the one just opened. */
  for (guint i = g_list_model_get_n_items (toplevels); i > 0 && preferences == NULL; i--)
    {
      g_autoptr(GtkWindow) toplevel = g_list_model_get_item (toplevels, i - 1);

      if (DROVER_IS_PREFERENCES_WINDOW (toplevel))
        preferences = g_steal_pointer (&toplevel);
    }
  if (preferences != NULL)
    adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (preferences), "signing");
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  DroverSendJobWindow *self = DROVER_SEND_JOB_WINDOW (widget);

  g_cancellable_cancel (self->cancellable);
}

/* Choosing the file */

static void
chosen_cb (DroverSendJobWindow *self,
           int                  response,
           GtkNativeDialog     *chooser)
{
  g_autoptr(GFile) file = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  if (self->chooser == chooser)
    g_clear_object (&self->chooser);

  if (file == NULL)
    {
      /* Changed their mind before the window was even shown. */
      if (self->file == NULL && !gtk_widget_get_visible (GTK_WIDGET (self)))
        gtk_window_destroy (GTK_WINDOW (self));
      return;
    }

  g_clear_object (&last_folder);
  last_folder = g_file_get_parent (file);

  gtk_window_present (GTK_WINDOW (self));
  drover_send_job_window_load_file (self, file);
}

/**
 * drover_send_job_window_choose_file:
 *
 * Asks for a G-code file, in the folder of the last one, and loads it.
 * The window shows once a file is chosen; cancelled before that, it goes.
 */
void
drover_send_job_window_choose_file (DroverSendJobWindow *self)
{
  g_autoptr(GtkFileFilter) gcode = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) everything = gtk_file_filter_new ();
  GtkWindow *parent;
  GtkFileChooserNative *chooser;

  g_return_if_fail (DROVER_IS_SEND_JOB_WINDOW (self));

  if (self->sending)
    return;

  parent = gtk_widget_get_visible (GTK_WIDGET (self)) ? GTK_WINDOW (self)
                                                      : gtk_window_get_transient_for (GTK_WINDOW (self));
  chooser = gtk_file_chooser_native_new (_("Choose a Signed G-code File"), parent, GTK_FILE_CHOOSER_ACTION_OPEN,
                                         _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_filter_set_name (gcode, _("G-code Files"));
  gtk_file_filter_add_suffix (gcode, "gcode");
  gtk_file_filter_add_suffix (gcode, "gco");
  gtk_file_filter_add_suffix (gcode, "g");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), gcode);
  gtk_file_filter_set_name (everything, _("All Files"));
  gtk_file_filter_add_pattern (everything, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), everything);
  if (last_folder != NULL)
    gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), last_folder, NULL);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  g_signal_connect_object (chooser, "response", G_CALLBACK (chosen_cb), self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (self->chooser);
}

static void
choose_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  drover_send_job_window_choose_file (DROVER_SEND_JOB_WINDOW (widget));
}

/* Sending */

static const char *
target_state_word (DroverDispatchState state)
{
  switch (state)
    {
    /* Translators: a printer's part in sending a job: it passed the gate */
    case DROVER_DISPATCH_ELIGIBLE: return _("Ready");
    /* Translators: a printer's part in sending a job: the gate refused it */
    case DROVER_DISPATCH_REFUSED: return _("Refused");
    /* Translators: a printer's part in sending a job: waiting for an upload slot */
    case DROVER_DISPATCH_WAITING: return _("Waiting");
    /* Translators: a printer's part in sending a job: going out */
    case DROVER_DISPATCH_SENDING: return _("Sending");
    /* Translators: a printer's part in sending a job: the printer has it */
    case DROVER_DISPATCH_SENT: return _("Sent");
    /* Translators: a printer's part in sending a job: it could not be sent */
    case DROVER_DISPATCH_FAILED:
    default: return _("Failed");
    }
}

static const char *
target_state_icon (DroverDispatchState state)
{
  switch (state)
    {
    case DROVER_DISPATCH_ELIGIBLE: return "emblem-ok-symbolic";
    case DROVER_DISPATCH_REFUSED: return "action-unavailable-symbolic";
    case DROVER_DISPATCH_WAITING: return "content-loading-symbolic";
    case DROVER_DISPATCH_SENDING: return "document-send-symbolic";
    case DROVER_DISPATCH_SENT: return "emblem-ok-symbolic";
    case DROVER_DISPATCH_FAILED:
    default: return "dialog-error-symbolic";
    }
}

#define TARGET_ICON_KEY     "drover-target-icon"
#define TARGET_NAME_KEY     "drover-target-name"
#define TARGET_WORD_KEY     "drover-target-word"
#define TARGET_STATUS_KEY   "drover-target-status"
#define TARGET_PROGRESS_KEY "drover-target-progress"

static void
setup_target_row_cb (GtkSignalListItemFactory *factory,
                     GtkListItem              *item,
                     gpointer                  user_data)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *icon = gtk_image_new ();
  GtkWidget *name = gtk_label_new (NULL);
  GtkWidget *word = gtk_label_new (NULL);
  GtkWidget *status = gtk_label_new (NULL);
  GtkWidget *progress = gtk_progress_bar_new ();

  gtk_accessible_update_property (GTK_ACCESSIBLE (icon), GTK_ACCESSIBLE_PROPERTY_LABEL, "", -1);
  gtk_label_set_xalign (GTK_LABEL (name), 0.0f);
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (name, TRUE);
  gtk_widget_add_css_class (word, "heading");
  gtk_box_append (GTK_BOX (top), icon);
  gtk_box_append (GTK_BOX (top), name);
  gtk_box_append (GTK_BOX (top), word);

  gtk_label_set_xalign (GTK_LABEL (status), 0.0f);
  gtk_label_set_wrap (GTK_LABEL (status), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (status), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (GTK_LABEL (status), TRUE);
  gtk_widget_add_css_class (status, "dim-label");
  gtk_widget_add_css_class (status, "caption");

  gtk_box_append (GTK_BOX (box), top);
  gtk_box_append (GTK_BOX (box), status);
  gtk_box_append (GTK_BOX (box), progress);

  g_object_set_data (G_OBJECT (item), TARGET_ICON_KEY, icon);
  g_object_set_data (G_OBJECT (item), TARGET_NAME_KEY, name);
  g_object_set_data (G_OBJECT (item), TARGET_WORD_KEY, word);
  g_object_set_data (G_OBJECT (item), TARGET_STATUS_KEY, status);
  g_object_set_data (G_OBJECT (item), TARGET_PROGRESS_KEY, progress);
  gtk_list_item_set_activatable (item, FALSE);
  gtk_list_item_set_child (item, box);
}

static void
update_target_row (GtkListItem *item)
{
  DroverDispatchTarget *target = gtk_list_item_get_item (item);
  GtkWidget *icon = g_object_get_data (G_OBJECT (item), TARGET_ICON_KEY);
  GtkWidget *word = g_object_get_data (G_OBJECT (item), TARGET_WORD_KEY);
  GtkWidget *status = g_object_get_data (G_OBJECT (item), TARGET_STATUS_KEY);
  GtkWidget *progress = g_object_get_data (G_OBJECT (item), TARGET_PROGRESS_KEY);
  DroverDispatchState state;
  gboolean bad;
  gboolean good;
  g_autofree char *description = NULL;
  g_autofree char *percent = NULL;

  if (target == NULL)
    return;

  state = drover_dispatch_target_get_state (target);
  bad = state == DROVER_DISPATCH_FAILED || state == DROVER_DISPATCH_REFUSED;
  good = state == DROVER_DISPATCH_SENT;

  gtk_image_set_from_icon_name (GTK_IMAGE (icon), target_state_icon (state));
  gtk_label_set_label (GTK_LABEL (word), target_state_word (state));
  gtk_label_set_label (GTK_LABEL (status), drover_dispatch_target_get_status (target));
  gtk_widget_set_visible (status, drover_dispatch_target_get_status (target) != NULL);
  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (progress), drover_dispatch_target_get_progress (target));
  /* A bar only where there is something to measure. */
  gtk_widget_set_visible (progress, state == DROVER_DISPATCH_SENDING || state == DROVER_DISPATCH_WAITING);

  if (bad)
    {
      gtk_widget_add_css_class (icon, "error");
      gtk_widget_add_css_class (word, "error");
    }
  else
    {
      gtk_widget_remove_css_class (icon, "error");
      gtk_widget_remove_css_class (word, "error");
    }
  if (good)
    {
      gtk_widget_add_css_class (icon, "success");
      gtk_widget_add_css_class (word, "success");
    }
  else
    {
      gtk_widget_remove_css_class (icon, "success");
      gtk_widget_remove_css_class (word, "success");
    }

  percent = g_strdup_printf ("%.0f %%", drover_dispatch_target_get_progress (target) * 100.0);
  gtk_accessible_update_property (GTK_ACCESSIBLE (progress), GTK_ACCESSIBLE_PROPERTY_VALUE_TEXT, percent, -1);

  /* Translators: a printer's row while a job is sent, for a screen reader: name, state, what it said */
  description = g_strdup_printf (_("%s: %s. %s"), drover_dispatch_target_get_name (target), target_state_word (state),
                                 drover_dispatch_target_get_status (target) != NULL
                                 ? drover_dispatch_target_get_status (target) : "");
  gtk_accessible_update_property (GTK_ACCESSIBLE (gtk_list_item_get_child (item)),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, description, -1);
}

static void
bind_target_row_cb (GtkSignalListItemFactory *factory,
                    GtkListItem              *item,
                    gpointer                  user_data)
{
  DroverDispatchTarget *target = gtk_list_item_get_item (item);
  GtkWidget *name = g_object_get_data (G_OBJECT (item), TARGET_NAME_KEY);

  gtk_label_set_label (GTK_LABEL (name), drover_dispatch_target_get_name (target));
  g_signal_connect_object (target, "notify", G_CALLBACK (update_target_row), item, G_CONNECT_SWAPPED);
  update_target_row (item);
}

static void
unbind_target_row_cb (GtkSignalListItemFactory *factory,
                      GtkListItem              *item,
                      gpointer                  user_data)
{
  DroverDispatchTarget *target = gtk_list_item_get_item (item);

  if (target != NULL)
    g_signal_handlers_disconnect_by_func (target, update_target_row, item);
}

/* "Sent to 3 printers; 1 failed: Prusa 2: the printer refused the upload." */
static char *
summarize (DroverSendJobWindow *self,
           guint                n_sent)
{
  GListModel *targets = drover_dispatch_get_targets (self->dispatch);
  guint n_targets = g_list_model_get_n_items (targets);
  g_autoptr(GString) failed = g_string_new (NULL);
  g_autoptr(GString) refused = g_string_new (NULL);
  g_autoptr(GString) text = g_string_new (NULL);
  guint n_failed = 0;
  guint n_refused = 0;

  for (guint i = 0; i < n_targets; i++)
    {
      g_autoptr(DroverDispatchTarget) target = g_list_model_get_item (targets, i);
      DroverDispatchState state = drover_dispatch_target_get_state (target);
      GString *list = state == DROVER_DISPATCH_REFUSED ? refused : failed;

      if (state == DROVER_DISPATCH_SENT)
        continue;

      if (state == DROVER_DISPATCH_REFUSED)
        n_refused++;
      else
        n_failed++;

      /* A few reasons, not a wall of them: each row says its own. */
      if ((state == DROVER_DISPATCH_REFUSED ? n_refused : n_failed) <= 3 && !self->stopped)
        {
          if (list->len > 0)
            g_string_append (list, "; ");
          /* Translators: a printer and why the job did not reach it */
          g_string_append_printf (list, _("%s: %s"), drover_dispatch_target_get_name (target),
                                  drover_dispatch_target_get_status (target) != NULL
                                  ? drover_dispatch_target_get_status (target) : "");
        }
    }

  if (self->stopped)
    g_string_append (text, _("Stopped. "));

  if (n_sent > 0)
    /* Translators: the summary after sending a job */
    g_string_append_printf (text, g_dngettext (GETTEXT_PACKAGE, "Sent to %u printer", "Sent to %u printers", n_sent),
                            n_sent);
  else
    g_string_append (text, _("Nothing was sent"));

  if (self->stopped && n_failed + n_refused > 0)
    {
      g_string_append (text, "; ");
      /* Translators: the summary after the operator stopped sending a job */
      g_string_append_printf (text, g_dngettext (GETTEXT_PACKAGE, "%u printer did not get it", "%u printers did not get it",
                                                 n_failed + n_refused),
                              n_failed + n_refused);
    }
  else
    {
      if (n_failed > 0)
        {
          g_string_append (text, "; ");
          /* Translators: the summary after sending a job; %s lists printers and reasons */
          g_string_append_printf (text, g_dngettext (GETTEXT_PACKAGE, "%u failed: %s", "%u failed: %s", n_failed),
                                  n_failed, failed->str);
          if (n_failed > 3)
            g_string_append (text, _("; and more"));
        }
      if (n_refused > 0)
        {
          g_string_append (text, "; ");
          /* Translators: the summary after sending a job; %s lists printers and reasons */
          g_string_append_printf (text, g_dngettext (GETTEXT_PACKAGE, "%u refused: %s", "%u refused: %s", n_refused),
                                  n_refused, refused->str);
          if (n_refused > 3)
            g_string_append (text, _("; and more"));
        }
    }

  if (text->len > 0 && text->str[text->len - 1] != '.')
    g_string_append_c (text, '.');

  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
sent_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(DroverSendJobWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *summary = NULL;
  guint n_sent = 0;
  gboolean all_sent;
  gboolean ok;

  ok = drover_dispatch_send_finish (DROVER_DISPATCH (source), result, &n_sent, &error);
  if (DROVER_DISPATCH (source) != self->dispatch)
    return;

  self->sending = FALSE;
  g_clear_object (&self->cancellable);
  if (self->stop_dialog != NULL)
    gtk_window_destroy (GTK_WINDOW (self->stop_dialog));

  summary = ok ? summarize (self, n_sent) : g_strdup (error->message);
  gtk_label_set_label (self->summary_label, summary);
  if (n_sent > 0)
    gtk_label_set_label (self->progress_title, self->stopped ? _("Sending Stopped") : _("Job Sent"));
  else
    gtk_label_set_label (self->progress_title, _("The Job Was Not Sent"));

  all_sent = !self->stopped && n_sent == g_list_model_get_n_items (drover_dispatch_get_targets (self->dispatch));
  gtk_spinner_set_spinning (self->sending_spinner, FALSE);
  gtk_image_set_from_icon_name (self->result_icon, all_sent ? "emblem-ok-symbolic" : "dialog-warning-symbolic");
  if (all_sent)
    gtk_widget_add_css_class (GTK_WIDGET (self->result_icon), "success");
  else
    gtk_widget_add_css_class (GTK_WIDGET (self->result_icon), "warning");
  gtk_stack_set_visible_child_name (self->progress_icon_stack, "icon");

  gtk_widget_set_visible (self->stop_button, FALSE);
  gtk_widget_set_visible (self->another_button, TRUE);
  gtk_widget_set_visible (self->close_button, TRUE);
  show_page (self, "sending");
  gtk_window_set_default_widget (GTK_WINDOW (self), self->close_button);
  gtk_widget_grab_focus (self->close_button);
}

static void
send_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  DroverSendJobWindow *self = DROVER_SEND_JOB_WINDOW (widget);
  guint n_items = g_list_model_get_n_items (G_LIST_MODEL (self->sorted_candidates));
  g_autoptr(GtkSelectionModel) selection = NULL;
  g_autofree char *title = NULL;
  guint n_targets;

  if (self->job == NULL || self->sending || self->n_picked == 0 || !gtk_check_button_get_active (self->plate_check))
    return;

  g_clear_object (&self->dispatch);
  self->dispatch = drover_dispatch_new (self->job, self->audit, get_ledger (self));
  /* Only the picked printers: adding one runs its gate and records a refusal. */
  for (guint i = 0; i < n_items; i++)
    {
      g_autoptr(DroverSendCandidate) candidate = g_list_model_get_item (G_LIST_MODEL (self->sorted_candidates), i);
      g_autoptr(DroverTransport) transport = NULL;

      if (!candidate->picked)
        continue;

      transport = drover_farm_dup_transport (self->farm, drover_printer_get_id (candidate->printer));
      drover_dispatch_add_target (self->dispatch, candidate->printer, transport, NULL);
    }

  n_targets = g_list_model_get_n_items (drover_dispatch_get_targets (self->dispatch));
  selection = GTK_SELECTION_MODEL (gtk_no_selection_new (g_object_ref (drover_dispatch_get_targets (self->dispatch))));
  gtk_list_view_set_model (self->targets_view, selection);

  /* Translators: while a job goes out; %s is its file name */
  title = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Sending “%s” to %u Printer", "Sending “%s” to %u Printers",
                                        n_targets),
                           drover_job_get_name (self->job), n_targets);
  gtk_label_set_label (self->progress_title, title);
  gtk_label_set_label (self->summary_label, _("Each printer’s upload shows below. Closing the window asks first."));
  gtk_stack_set_visible_child_name (self->progress_icon_stack, "spinner");
  gtk_spinner_set_spinning (self->sending_spinner, TRUE);
  gtk_widget_set_visible (self->stop_button, TRUE);
  gtk_widget_set_visible (self->another_button, FALSE);
  gtk_widget_set_visible (self->close_button, FALSE);

  self->sending = TRUE;
  self->stopped = FALSE;
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  show_page (self, "sending");
  gtk_widget_grab_focus (self->stop_button);

  drover_dispatch_send_async (self->dispatch, gtk_check_button_get_active (self->plate_check), self->cancellable,
                              sent_cb, g_object_ref (self));
}

/* Stopping, asked first */

static void
stop_response_cb (DroverSendJobWindow *self,
                  const char          *response)
{
  if (!g_str_equal (response, "stop") || !self->sending)
    return;

  self->stopped = TRUE;
  g_cancellable_cancel (self->cancellable);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "send.stop", FALSE);
  gtk_label_set_label (self->summary_label, _("Stopping: uploads under way are being cancelled…"));
}

static void
ask_to_stop (DroverSendJobWindow *self)
{
  GtkWidget *dialog;

  if (self->stop_dialog != NULL)
    {
      gtk_window_present (GTK_WINDOW (self->stop_dialog));
      return;
    }

  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Stop Sending?"),
                                   _("Printers that have the job already keep it and start it. The others get "
                                     "nothing, and the job cannot be sent to them again: its id is spent."));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "continue", _("_Keep Sending"),
                                    "stop", _("_Stop Sending"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "stop", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "continue");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "continue");
  g_signal_connect_object (dialog, "response", G_CALLBACK (stop_response_cb), self, G_CONNECT_SWAPPED);
  g_set_weak_pointer (&self->stop_dialog, dialog);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
stop_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  DroverSendJobWindow *self = DROVER_SEND_JOB_WINDOW (widget);

  if (self->sending && !self->stopped)
    ask_to_stop (self);
}

static gboolean
drover_send_job_window_close_request (GtkWindow *window)
{
  DroverSendJobWindow *self = DROVER_SEND_JOB_WINDOW (window);

  /* Uploads under way are not dropped by a stray Escape. */
  if (self->sending)
    {
      if (!self->stopped)
        ask_to_stop (self);
      return TRUE;
    }

  g_cancellable_cancel (self->cancellable);

  return GTK_WINDOW_CLASS (drover_send_job_window_parent_class)->close_request (window);
}

static void
drover_send_job_window_dispose (GObject *object)
{
  DroverSendJobWindow *self = (DroverSendJobWindow *)object;

  /* Cleared, so that a worker's late answer finds nothing to show. */
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->update_source, g_source_remove);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  g_clear_weak_pointer (&self->stop_dialog);
  if (self->candidates != NULL)
    disconnect_candidates (self);

  gtk_widget_dispose_template (GTK_WIDGET (self), DROVER_TYPE_SEND_JOB_WINDOW);

  g_clear_object (&self->sorted_candidates);
  g_clear_object (&self->candidates);
  g_clear_object (&self->dispatch);
  g_clear_object (&self->job);
  g_clear_object (&self->file);
  g_clear_object (&self->audit);
  g_clear_object (&self->farm);
  g_clear_object (&self->application);

  G_OBJECT_CLASS (drover_send_job_window_parent_class)->dispose (object);
}

static void
drover_send_job_window_class_init (DroverSendJobWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = drover_send_job_window_dispose;
  window_class->close_request = drover_send_job_window_close_request;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/drover/Drover/drover-send-job-window.ui");
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, loading_label);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, refused_page);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, refused_choose_button);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, trust_button);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, verdict_icon);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, verdict_title);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, verdict_problem);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, verdict_list);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, printers_summary);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, printers_view);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, plate_check);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, send_hint);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, send_button);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, progress_icon_stack);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, sending_spinner);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, result_icon);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, progress_title);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, summary_label);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, targets_view);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, stop_button);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, another_button);
  gtk_widget_class_bind_template_child (widget_class, DroverSendJobWindow, close_button);
  gtk_widget_class_bind_template_callback (widget_class, printer_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, plate_toggled_cb);

  gtk_widget_class_install_action (widget_class, "send.choose", NULL, choose_action);
  gtk_widget_class_install_action (widget_class, "send.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "send.check-again", NULL, check_again_action);
  gtk_widget_class_install_action (widget_class, "send.trusted-keys", NULL, trusted_keys_action);
  gtk_widget_class_install_action (widget_class, "send.select-all", NULL, select_all_action);
  gtk_widget_class_install_action (widget_class, "send.send", NULL, send_action);
  gtk_widget_class_install_action (widget_class, "send.stop", NULL, stop_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
drover_send_job_window_init (DroverSendJobWindow *self)
{
  g_autoptr(GtkListItemFactory) printer_factory = gtk_signal_list_item_factory_new ();
  g_autoptr(GtkListItemFactory) target_factory = gtk_signal_list_item_factory_new ();
  g_autoptr(GtkSelectionModel) selection = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->candidates = g_list_store_new (DROVER_TYPE_SEND_CANDIDATE);
  self->sorted_candidates = gtk_sort_list_model_new (g_object_ref (G_LIST_MODEL (self->candidates)),
                                                     GTK_SORTER (gtk_custom_sorter_new (compare_candidates, NULL, NULL)));
  selection = GTK_SELECTION_MODEL (gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->sorted_candidates))));

  g_signal_connect (printer_factory, "setup", G_CALLBACK (setup_printer_row_cb), NULL);
  g_signal_connect (printer_factory, "bind", G_CALLBACK (bind_printer_row_cb), NULL);
  g_signal_connect (printer_factory, "unbind", G_CALLBACK (unbind_printer_row_cb), NULL);
  gtk_list_view_set_factory (self->printers_view, printer_factory);
  gtk_list_view_set_model (self->printers_view, selection);

  g_signal_connect (target_factory, "setup", G_CALLBACK (setup_target_row_cb), NULL);
  g_signal_connect (target_factory, "bind", G_CALLBACK (bind_target_row_cb), NULL);
  g_signal_connect (target_factory, "unbind", G_CALLBACK (unbind_target_row_cb), NULL);
  gtk_list_view_set_factory (self->targets_view, target_factory);

  show_page (self, "choose");
}

/**
 * drover_send_job_window_new:
 * @parent: the main window
 * @application: the application, whose farm the job goes to
 *
 * Returns: (transfer none): a new window, not shown yet: choose a file
 *   (drover_send_job_window_choose_file()) or give one
 *   (drover_send_job_window_load_file()), then present it
 */
DroverSendJobWindow *
drover_send_job_window_new (GtkWindow         *parent,
                            DroverApplication *application)
{
  DroverSendJobWindow *self;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (DROVER_IS_APPLICATION (application), NULL);

  self = g_object_new (DROVER_TYPE_SEND_JOB_WINDOW,
                       "transient-for", parent,
                       "application", application,
                       NULL);
  self->application = g_object_ref (application);

  return self;
}

/**
 * drover_send_job_window_get_page_name:
 *
 * Returns: "choose", "loading", "refused", "review" or "sending"
 */
const char *
drover_send_job_window_get_page_name (DroverSendJobWindow *self)
{
  g_return_val_if_fail (DROVER_IS_SEND_JOB_WINDOW (self), NULL);

  return gtk_stack_get_visible_child_name (self->stack);
}

/**
 * drover_send_job_window_pick_printer:
 * @printer_id: a printer of the farm
 * @picked: whether the job should go to it
 *
 * Picks a printer as its check box does.
 *
 * Returns: %TRUE when the printer is in the list and, to be picked, may
 *   take the job now
 */
gboolean
drover_send_job_window_pick_printer (DroverSendJobWindow *self,
                                     const char          *printer_id,
                                     gboolean             picked)
{
  guint n_items;

  g_return_val_if_fail (DROVER_IS_SEND_JOB_WINDOW (self), FALSE);
  g_return_val_if_fail (printer_id != NULL, FALSE);

  n_items = g_list_model_get_n_items (G_LIST_MODEL (self->candidates));
  for (guint i = 0; i < n_items; i++)
    {
      g_autoptr(DroverSendCandidate) candidate = g_list_model_get_item (G_LIST_MODEL (self->candidates), i);

      if (!g_str_equal (drover_printer_get_id (candidate->printer), printer_id))
        continue;

      drover_send_candidate_set_picked (candidate, picked);
      return candidate->picked == picked;
    }

  return FALSE;
}
