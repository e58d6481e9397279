/* drover-printer-editor.c: a printer's settings, in a page of Preferences
 *
 * Id, name and kind; the broker it reports to and how its messages name
 * it (Moonraker or OctoPrint instance, Bambu serial, Anycubic device id,
 * serial port); for a printer that is a broker of its own (Bambu Lab in
 * LAN mode), its address, CA and access code, the code kept in the
 * keyring, and a connection test. Rows that do not apply to the chosen
 * kind are hidden. Saving and removing are the Preferences window's.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-printer-editor"

#include "config.h"

#include <glib/gi18n.h>

#include "drover-editor-private.h"

#include "drover-printer-editor.h"

struct _DroverPrinterEditor
{
  GtkBox                parent_instance;

  AdwWindowTitle       *window_title;
  AdwEntryRow          *id_row;
  AdwEntryRow          *name_row;
  AdwComboRow          *kind_row;
  AdwComboRow          *broker_row;
  AdwEntryRow          *key_row;
  AdwEntryRow          *http_row;
  AdwPreferencesGroup  *own_group;
  AdwEntryRow          *uri_row;
  AdwPasswordEntryRow  *access_row;
  AdwEntryRow          *username_row;
  AdwPasswordEntryRow  *api_key_row;
  AdwActionRow         *ca_row;
  AdwActionRow         *test_row;
  GtkSpinner           *test_spinner;
  AdwPreferencesGroup  *remove_group;

  DroverPrinterEntry   *original;        /* NULL for a new printer */
  GtkStringList        *broker_names;    /* item 0: none, its own broker */
  char                 *ca_file;
  char                 *kept_code;       /* what the keyring (or the file) had */
  gboolean              code_edited;
  gboolean              busy;
  gboolean              testing;
  GCancellable         *cancellable;
  GtkNativeDialog      *chooser;
};

G_DEFINE_FINAL_TYPE (DroverPrinterEditor, drover_printer_editor, GTK_TYPE_BOX)

enum {
  SAVE,
  REMOVE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static DroverConnectorKind
get_connector (DroverPrinterEditor *self)
{
  guint selected = adw_combo_row_get_selected (self->kind_row);

  return selected < DROVER_CONNECTOR_LAST ? (DroverConnectorKind)selected : DROVER_CONNECTOR_NATIVE;
}

static gboolean
get_own_broker (DroverPrinterEditor *self)
{
  return adw_combo_row_get_selected (self->broker_row) == 0 && get_connector (self) != DROVER_CONNECTOR_SERIAL;
}

static void
update_actions (DroverPrinterEditor *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.save", !self->busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.remove", !self->busy && self->original != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.test", !self->testing);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.clear-ca", self->ca_file != NULL);
}

static void
update_ca_row (DroverPrinterEditor *self)
{
  adw_action_row_set_subtitle (self->ca_row, self->ca_file != NULL ? self->ca_file
                                                                    : _("The system's certificate authorities"));
  update_actions (self);
}

/* Only the rows that mean something for this kind of printer. */
static void
update_rows (DroverPrinterEditor *self)
{
  DroverConnectorKind connector = get_connector (self);
  const char *key_title = NULL;

  switch (connector)
    {
    case DROVER_CONNECTOR_MOONRAKER:
      key_title = _("_Moonraker Instance");
      break;
    case DROVER_CONNECTOR_OCTOPRINT:
      key_title = _("_OctoPrint Instance (in octoPrint/…/)");
      break;
    case DROVER_CONNECTOR_BAMBU:
      key_title = _("Seria_l Number");
      break;
    case DROVER_CONNECTOR_ANYCUBIC:
      key_title = _("_Device Id");
      break;
    case DROVER_CONNECTOR_SERIAL:
      key_title = _("Serial _Port");
      break;
    case DROVER_CONNECTOR_NATIVE:
    default:
      break;
    }

  gtk_widget_set_visible (GTK_WIDGET (self->key_row), key_title != NULL);
  if (key_title != NULL)
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->key_row), key_title);

  gtk_widget_set_visible (GTK_WIDGET (self->http_row),
                          connector == DROVER_CONNECTOR_MOONRAKER || connector == DROVER_CONNECTOR_OCTOPRINT);
  gtk_widget_set_visible (GTK_WIDGET (self->broker_row), connector != DROVER_CONNECTOR_SERIAL);
  gtk_widget_set_visible (GTK_WIDGET (self->own_group), get_own_broker (self));
  gtk_widget_set_visible (GTK_WIDGET (self->access_row),
                          connector == DROVER_CONNECTOR_BAMBU || connector == DROVER_CONNECTOR_ANYCUBIC);
  gtk_widget_set_visible (GTK_WIDGET (self->username_row), connector == DROVER_CONNECTOR_ANYCUBIC);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->access_row),
                                 connector == DROVER_CONNECTOR_ANYCUBIC ? _("Pass_word") : _("Acc_ess Code"));
  gtk_widget_set_visible (GTK_WIDGET (self->api_key_row),
                          connector == DROVER_CONNECTOR_OCTOPRINT || connector == DROVER_CONNECTOR_MOONRAKER);

  if (connector == DROVER_CONNECTOR_ANYCUBIC)
    adw_preferences_group_set_description (self->own_group,
                                           _("An Anycubic Kobra 3 or S1 in LAN mode is an MQTT 5 broker of its own, "
                                             "usually ssl://address:9883, with the account of its device_account.json. "
                                             "The password is kept in your keyring, never in the farm file."));
  else if (connector == DROVER_CONNECTOR_BAMBU)
    adw_preferences_group_set_description (self->own_group,
                                           _("A Bambu Lab printer in LAN mode is a broker of its own: Drover signs in "
                                             "as bblp with the access code on the printer's screen. The code is kept "
                                             "in your keyring, never in the farm file. Its certificate names its serial "
                                             "number, not its address: Drover checks it against the CA only."));
  else
    adw_preferences_group_set_description (self->own_group,
                                           _("A printer that reports to no shared broker is reached at its own "
                                             "address, such as tcp://host:1883 or ssl://host:8883."));
}

static void
rows_changed_cb (DroverPrinterEditor *self)
{
  update_rows (self);
}

static void
code_changed_cb (DroverPrinterEditor *self)
{
  self->code_edited = TRUE;
}

static void
save_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  g_signal_emit (widget, signals[SAVE], 0);
}

static void
remove_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  g_signal_emit (widget, signals[REMOVE], 0);
}

static void
cancel_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  _drover_editor_close_subpage (widget);
}

static void
chooser_response_cb (DroverPrinterEditor *self,
                     int                  response,
                     GtkNativeDialog     *chooser)
{
  char *path = _drover_editor_dup_chosen_path (chooser, response);

  if (path != NULL)
    {
      g_free (self->ca_file);
      self->ca_file = path;
      update_ca_row (self);
    }

  g_clear_object (&self->chooser);
}

static void
choose_ca_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  DroverPrinterEditor *self = DROVER_PRINTER_EDITOR (widget);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  self->chooser = _drover_editor_choose_ca_file (widget, _("Choose the Printer's CA Certificate"), G_CALLBACK (chooser_response_cb));
}

static void
clear_ca_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  DroverPrinterEditor *self = DROVER_PRINTER_EDITOR (widget);

  g_clear_pointer (&self->ca_file, g_free);
  update_ca_row (self);
}

static void
tested_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(DroverPrinterEditor) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  drover_connection_test_finish (result, &message, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self->testing = FALSE;
  _drover_editor_show_tested (self->test_spinner, self->test_row, message != NULL ? message : error->message);
  update_actions (self);
}

static void
test_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  DroverPrinterEditor *self = DROVER_PRINTER_EDITOR (widget);
  g_autoptr(DroverBrokerEntry) broker = drover_broker_entry_new (NULL);
  const char *code = drover_printer_editor_get_access_code (self);
  gboolean bambu = get_connector (self) == DROVER_CONNECTOR_BAMBU;

  /* The settings a link to this printer would use (drover-farm.c). */
  broker->uri = _drover_editor_dup_text (self->uri_row);
  broker->ca_file = g_strdup (self->ca_file);
  if (bambu)
    {
      broker->username = g_strdup ("bblp");
      broker->verify_host_name = FALSE;
    }

  self->testing = TRUE;
  _drover_editor_show_testing (self->test_spinner);
  adw_action_row_set_subtitle (self->test_row, _("Connecting…"));
  update_actions (self);

  drover_connection_test_async (broker, bambu && code[0] != '\0' ? code : NULL, 0, self->cancellable,
                                tested_cb, g_object_ref (self));
}

static void
drover_printer_editor_dispose (GObject *object)
{
  DroverPrinterEditor *self = (DroverPrinterEditor *)object;

  g_cancellable_cancel (self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), DROVER_TYPE_PRINTER_EDITOR);

  G_OBJECT_CLASS (drover_printer_editor_parent_class)->dispose (object);
}

static void
drover_printer_editor_finalize (GObject *object)
{
  DroverPrinterEditor *self = (DroverPrinterEditor *)object;

  g_clear_object (&self->cancellable);
  g_clear_object (&self->broker_names);
  g_clear_pointer (&self->original, drover_printer_entry_free);
  g_free (self->ca_file);
  drover_secrets_free (self->kept_code);

  G_OBJECT_CLASS (drover_printer_editor_parent_class)->finalize (object);
}

static void
drover_printer_editor_class_init (DroverPrinterEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = drover_printer_editor_dispose;
  object_class->finalize = drover_printer_editor_finalize;

  /**
   * DroverPrinterEditor::save:
   *
   * The operator asked to save the printer as the editor shows it.
   */
  signals[SAVE] = g_signal_new ("save", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * DroverPrinterEditor::remove:
   *
   * The operator asked to remove the printer.
   */
  signals[REMOVE] = g_signal_new ("remove", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/drover/Drover/drover-printer-editor.ui");
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterEditor, window_title);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterEditor, id_row);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterEditor, name_row);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterEditor, kind_row);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterEditor, broker_row);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterEditor, key_row);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterEditor, http_row);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterEditor, own_group);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterEditor, uri_row);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterEditor, access_row);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterEditor, username_row);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterEditor, api_key_row);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterEditor, ca_row);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterEditor, test_row);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterEditor, test_spinner);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterEditor, remove_group);

  gtk_widget_class_install_action (widget_class, "editor.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "editor.remove", NULL, remove_action);
  gtk_widget_class_install_action (widget_class, "editor.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "editor.choose-ca", NULL, choose_ca_action);
  gtk_widget_class_install_action (widget_class, "editor.clear-ca", NULL, clear_ca_action);
  gtk_widget_class_install_action (widget_class, "editor.test", NULL, test_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "editor.save", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "editor.cancel", NULL);
}

static void
drover_printer_editor_init (DroverPrinterEditor *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
}

static void
code_found_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(DroverPrinterEditor) self = user_data;
  g_autoptr(GError) error = NULL;
  char *code = drover_secrets_lookup_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (error != NULL)
    {
      g_autofree char *escaped = g_markup_escape_text (error->message, -1);

      adw_preferences_group_set_description (self->own_group, escaped);
      return;
    }

  if (code == NULL)
    return;

  drover_secrets_free (self->kept_code);
  self->kept_code = code;
  /* Typed meanwhile: the operator's text wins. */
  if (!self->code_edited)
    {
      gtk_editable_set_text (GTK_EDITABLE (self->access_row), code);
      gtk_editable_set_text (GTK_EDITABLE (self->api_key_row), code);
      self->code_edited = FALSE;
    }
}

/**
 * drover_printer_editor_new:
 * @entry: (nullable): the printer to edit, or %NULL to add one
 * @brokers: (element-type DroverBrokerEntry): the farm's brokers
 *
 * Returns: (transfer floating): the editor
 */
GtkWidget *
drover_printer_editor_new (const DroverPrinterEntry *entry,
                           GPtrArray                *brokers)
{
  DroverPrinterEditor *self = g_object_new (DROVER_TYPE_PRINTER_EDITOR, NULL);
  guint broker_index = 0;

  self->broker_names = gtk_string_list_new (NULL);
  gtk_string_list_append (self->broker_names, _("None: the printer is its own broker"));
  for (guint i = 0; i < brokers->len; i++)
    {
      DroverBrokerEntry *broker = g_ptr_array_index (brokers, i);

      gtk_string_list_append (self->broker_names, broker->name);
      if (entry != NULL && g_strcmp0 (entry->broker, broker->name) == 0)
        broker_index = i + 1;
    }
  adw_combo_row_set_model (self->broker_row, G_LIST_MODEL (self->broker_names));

  if (entry != NULL)
    {
      self->original = drover_printer_entry_copy (entry);
      adw_window_title_set_title (self->window_title, _("Edit Printer"));
      adw_window_title_set_subtitle (self->window_title, entry->name != NULL ? entry->name : entry->id);
      gtk_editable_set_text (GTK_EDITABLE (self->id_row), entry->id);
      gtk_editable_set_text (GTK_EDITABLE (self->name_row), entry->name != NULL ? entry->name : "");
      adw_combo_row_set_selected (self->kind_row, entry->connector);
      adw_combo_row_set_selected (self->broker_row, broker_index);
      if (entry->connector != DROVER_CONNECTOR_NATIVE)
        gtk_editable_set_text (GTK_EDITABLE (self->key_row), entry->key != NULL ? entry->key : "");
      gtk_editable_set_text (GTK_EDITABLE (self->http_row), entry->http_url != NULL ? entry->http_url : "");
      gtk_editable_set_text (GTK_EDITABLE (self->uri_row), entry->uri != NULL ? entry->uri : "");
      gtk_editable_set_text (GTK_EDITABLE (self->username_row), entry->username != NULL ? entry->username : "");
      self->ca_file = g_strdup (entry->ca_file);
      gtk_widget_set_visible (GTK_WIDGET (self->remove_group), TRUE);

      /* drover-sim's inventory carries the code in the file; Preferences
       * moves it to the keyring on the next save. */
      if (entry->access_code != NULL || entry->api_key != NULL)
        {
          const char *secret = entry->access_code != NULL ? entry->access_code : entry->api_key;

          self->kept_code = g_strdup (secret);
          gtk_editable_set_text (GTK_EDITABLE (self->access_row), secret);
          gtk_editable_set_text (GTK_EDITABLE (self->api_key_row), secret);
        }
      else if (entry->connector == DROVER_CONNECTOR_BAMBU || entry->connector == DROVER_CONNECTOR_OCTOPRINT ||
               entry->connector == DROVER_CONNECTOR_MOONRAKER || entry->connector == DROVER_CONNECTOR_ANYCUBIC)
        drover_secrets_lookup_async (DROVER_SECRET_PRINTER, entry->id, self->cancellable,
                                     code_found_cb, g_object_ref (self));
    }
  else
    {
      adw_window_title_set_title (self->window_title, _("Add Printer"));
      /* Most farms run Klipper on a shared broker. */
      adw_combo_row_set_selected (self->kind_row, DROVER_CONNECTOR_MOONRAKER);
      adw_combo_row_set_selected (self->broker_row, brokers->len > 0 ? 1 : 0);
    }

  g_signal_connect_object (self->access_row, "changed", G_CALLBACK (code_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->api_key_row, "changed", G_CALLBACK (code_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->kind_row, "notify::selected", G_CALLBACK (rows_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->broker_row, "notify::selected", G_CALLBACK (rows_changed_cb), self, G_CONNECT_SWAPPED);
  update_rows (self);
  update_ca_row (self);

  return GTK_WIDGET (self);
}

/**
 * drover_printer_editor_get_old_id:
 *
 * Returns: (nullable): the id of the printer being edited; %NULL when adding
 */
const char *
drover_printer_editor_get_old_id (DroverPrinterEditor *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER_EDITOR (self), NULL);

  return self->original != NULL ? self->original->id : NULL;
}

/**
 * drover_printer_editor_dup_entry:
 *
 * Returns: (transfer full): the printer as the editor shows it, without
 *   its access code
 */
DroverPrinterEntry *
drover_printer_editor_dup_entry (DroverPrinterEditor *self)
{
  DroverConnectorKind connector;
  DroverPrinterEntry *entry;
  gboolean own_broker;
  guint broker_index;

  g_return_val_if_fail (DROVER_IS_PRINTER_EDITOR (self), NULL);

  connector = get_connector (self);
  own_broker = get_own_broker (self);
  broker_index = adw_combo_row_get_selected (self->broker_row);

  /* A copy keeps what the editor does not show; the secret goes to the
   * keyring, not into the entry. */
  entry = self->original != NULL ? drover_printer_entry_copy (self->original) : drover_printer_entry_new (NULL, 0);
  g_clear_pointer (&entry->access_code, g_free);
  g_clear_pointer (&entry->api_key, g_free);
  g_free (entry->id);
  entry->id = _drover_editor_dup_text (self->id_row);
  g_free (entry->name);
  entry->name = _drover_editor_dup_text (self->name_row);
  entry->connector = connector;

  g_clear_pointer (&entry->broker, g_free);
  if (!own_broker && connector != DROVER_CONNECTOR_SERIAL && broker_index > 0 && broker_index != GTK_INVALID_LIST_POSITION)
    entry->broker = g_strdup (gtk_string_list_get_string (self->broker_names, broker_index));

  g_clear_pointer (&entry->key, g_free);
  if (connector == DROVER_CONNECTOR_NATIVE)
    entry->key = g_strdup (entry->id);
  else
    entry->key = _drover_editor_dup_text (self->key_row);
  /* Moonraker and OctoPrint name a printer by its id unless told otherwise. */
  if (entry->key == NULL && (connector == DROVER_CONNECTOR_MOONRAKER || connector == DROVER_CONNECTOR_OCTOPRINT))
    entry->key = g_strdup (entry->id);

  g_clear_pointer (&entry->http_url, g_free);
  if (connector == DROVER_CONNECTOR_MOONRAKER || connector == DROVER_CONNECTOR_OCTOPRINT)
    entry->http_url = _drover_editor_dup_text (self->http_row);

  g_clear_pointer (&entry->uri, g_free);
  g_clear_pointer (&entry->ca_file, g_free);
  g_clear_pointer (&entry->username, g_free);
  if (own_broker)
    {
      entry->uri = _drover_editor_dup_text (self->uri_row);
      entry->ca_file = g_strdup (self->ca_file);
      if (connector == DROVER_CONNECTOR_ANYCUBIC)
        entry->username = _drover_editor_dup_text (self->username_row);
    }

  return entry;
}

/**
 * drover_printer_editor_get_access_code:
 *
 * The printer's secret: a Bambu printer's access code, or the API key of
 * its OctoPrint or Moonraker server.
 *
 * Returns: the secret as typed or as kept; empty for none
 */
const char *
drover_printer_editor_get_access_code (DroverPrinterEditor *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER_EDITOR (self), NULL);

  switch (get_connector (self))
    {
    case DROVER_CONNECTOR_BAMBU:
    case DROVER_CONNECTOR_ANYCUBIC:
      return gtk_editable_get_text (GTK_EDITABLE (self->access_row));
    case DROVER_CONNECTOR_OCTOPRINT:
    case DROVER_CONNECTOR_MOONRAKER:
      return gtk_editable_get_text (GTK_EDITABLE (self->api_key_row));
    default:
      return "";
    }
}

/**
 * drover_printer_editor_get_access_code_changed:
 *
 * Returns: whether the access code differs from what was kept
 */
gboolean
drover_printer_editor_get_access_code_changed (DroverPrinterEditor *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER_EDITOR (self), FALSE);

  return g_strcmp0 (drover_printer_editor_get_access_code (self),
                    self->kept_code != NULL ? self->kept_code : "") != 0;
}

/**
 * drover_printer_editor_get_had_access_code:
 *
 * Returns: whether an access code was kept for the printer as it was
 */
gboolean
drover_printer_editor_get_had_access_code (DroverPrinterEditor *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER_EDITOR (self), FALSE);

  return self->kept_code != NULL;
}

/**
 * drover_printer_editor_set_busy:
 *
 * While saving, the editor takes no second save or remove.
 */
void
drover_printer_editor_set_busy (DroverPrinterEditor *self,
                                gboolean             busy)
{
  g_return_if_fail (DROVER_IS_PRINTER_EDITOR (self));

  self->busy = busy;
  update_actions (self);
}
