/* drover-broker-editor.c: a broker's settings, in a page of Preferences
 *
 * Name, address, user name, password (from and to the keyring, never the
 * farm file), CA certificate and the host name check, whose switch says
 * plainly what turning it off allows. "Test Connection" tries the
 * settings as they stand, before anything is saved. Saving and removing
 * are the Preferences window's: the editor says "save" and "remove".
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-broker-editor"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "drover-editor-private.h"

#include "drover-broker-editor.h"

struct _DroverBrokerEditor
{
  GtkBox                parent_instance;

  AdwWindowTitle       *window_title;
  AdwEntryRow          *name_row;
  AdwEntryRow          *uri_row;
  AdwPreferencesGroup  *sign_in_group;
  AdwEntryRow          *username_row;
  AdwPasswordEntryRow  *password_row;
  AdwActionRow         *ca_row;
  AdwActionRow         *verify_row;
  GtkImage             *verify_warning;
  GtkSwitch            *verify_switch;
  AdwActionRow         *test_row;
  GtkSpinner           *test_spinner;
  AdwActionRow         *check_row;
  GtkSpinner           *check_spinner;
  gboolean              checking;
  AdwPreferencesGroup  *remove_group;

  DroverBrokerEntry    *original;         /* NULL for a new broker */
  char                 *ca_file;
  char                 *kept_password;    /* what the keyring had */
  gboolean              password_edited;
  gboolean              busy;
  gboolean              testing;
  GCancellable         *cancellable;
  GtkNativeDialog      *chooser;
};

G_DEFINE_FINAL_TYPE (DroverBrokerEditor, drover_broker_editor, GTK_TYPE_BOX)

enum {
  SAVE,
  REMOVE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
update_actions (DroverBrokerEditor *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.save", !self->busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.remove", !self->busy && self->original != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.test", !self->testing);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.check", !self->checking);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.clear-ca", self->ca_file != NULL);
}

static void
update_ca_row (DroverBrokerEditor *self)
{
  adw_action_row_set_subtitle (self->ca_row, self->ca_file != NULL ? self->ca_file
                                                                    : _("The system's certificate authorities"));
  update_actions (self);
}

static void
update_verify_row (DroverBrokerEditor *self)
{
  gboolean verify = gtk_switch_get_active (self->verify_switch);

  adw_action_row_set_subtitle (self->verify_row,
                               verify ? _("The broker's certificate must name the host in its address")
                                      : _("Off: any server with a certificate from this CA can pose as this broker"));
  gtk_widget_set_visible (GTK_WIDGET (self->verify_warning), !verify);
  if (verify)
    gtk_widget_remove_css_class (GTK_WIDGET (self->verify_row), "warning");
  else
    gtk_widget_add_css_class (GTK_WIDGET (self->verify_row), "warning");
}

static void
verify_changed_cb (DroverBrokerEditor *self)
{
  update_verify_row (self);
}

static void
password_changed_cb (DroverBrokerEditor *self)
{
  self->password_edited = TRUE;
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
chooser_response_cb (DroverBrokerEditor *self,
                     int                 response,
                     GtkNativeDialog    *chooser)
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
  DroverBrokerEditor *self = DROVER_BROKER_EDITOR (widget);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  self->chooser = _drover_editor_choose_ca_file (widget, _("Choose the Broker's CA Certificate"), G_CALLBACK (chooser_response_cb));
}

static void
clear_ca_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  DroverBrokerEditor *self = DROVER_BROKER_EDITOR (widget);

  g_clear_pointer (&self->ca_file, g_free);
  update_ca_row (self);
}

static void
tested_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(DroverBrokerEditor) self = user_data;
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
  DroverBrokerEditor *self = DROVER_BROKER_EDITOR (widget);
  g_autoptr(DroverBrokerEntry) entry = drover_broker_editor_dup_entry (self);
  const char *password = drover_broker_editor_get_password (self);

  self->testing = TRUE;
  _drover_editor_show_testing (self->test_spinner);
  adw_action_row_set_subtitle (self->test_row, _("Connecting…"));
  update_actions (self);

  drover_connection_test_async (entry, password[0] != '\0' ? password : NULL, 0, self->cancellable,
                                tested_cb, g_object_ref (self));
}

static void
checked_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(DroverBrokerEditor) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) findings = drover_broker_check_finish (result, &error);
  g_autoptr(GString) text = g_string_new (NULL);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self->checking = FALSE;
  for (guint i = 0; findings != NULL && i < findings->len; i++)
    {
      DroverBrokerFinding *finding = g_ptr_array_index (findings, i);
      const char *word = finding->verdict == DROVER_BROKER_VERDICT_PROBLEM ? _("Problem") :
                         finding->verdict == DROVER_BROKER_VERDICT_OK ? _("Fine") : _("Unknown");

      /* The word first: the verdict must not rest on colour alone. */
      g_string_append_printf (text, "%s%s: %s", text->len > 0 ? "\n" : "", word, finding->sentence);
    }
  _drover_editor_show_tested (self->check_spinner, self->check_row, error != NULL ? error->message : text->str);
  update_actions (self);
}

static void
check_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  DroverBrokerEditor *self = DROVER_BROKER_EDITOR (widget);
  g_autoptr(DroverBrokerEntry) entry = drover_broker_editor_dup_entry (self);
  const char *password = drover_broker_editor_get_password (self);
  g_auto(GStrv) nodes = NULL;

  if (entry->uri == NULL || entry->uri[strspn (entry->uri, ", ")] == '\0')
    {
      adw_action_row_set_subtitle (self->check_row, _("Enter the broker's address first."));
      return;
    }

  self->checking = TRUE;
  _drover_editor_show_testing (self->check_spinner);
  adw_action_row_set_subtitle (self->check_row, _("Checking: this takes a few seconds…"));
  update_actions (self);

  /* A cluster: the first node's rules are the cluster's. */
  nodes = drover_broker_entry_dup_nodes (entry);
  drover_broker_check_async (nodes[0], entry->username, password[0] != '\0' ? password : NULL, entry->ca_file,
                             self->cancellable, checked_cb, g_object_ref (self));
}

static void
drover_broker_editor_dispose (GObject *object)
{
  DroverBrokerEditor *self = (DroverBrokerEditor *)object;

  g_cancellable_cancel (self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), DROVER_TYPE_BROKER_EDITOR);

  G_OBJECT_CLASS (drover_broker_editor_parent_class)->dispose (object);
}

static void
drover_broker_editor_finalize (GObject *object)
{
  DroverBrokerEditor *self = (DroverBrokerEditor *)object;

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->original, drover_broker_entry_free);
  g_free (self->ca_file);
  drover_secrets_free (self->kept_password);

  G_OBJECT_CLASS (drover_broker_editor_parent_class)->finalize (object);
}

static void
drover_broker_editor_class_init (DroverBrokerEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = drover_broker_editor_dispose;
  object_class->finalize = drover_broker_editor_finalize;

  /**
   * DroverBrokerEditor::save:
   *
   * The operator asked to save the broker as the editor shows it.
   */
  signals[SAVE] = g_signal_new ("save", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * DroverBrokerEditor::remove:
   *
   * The operator asked to remove the broker.
   */
  signals[REMOVE] = g_signal_new ("remove", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/drover/Drover/drover-broker-editor.ui");
  gtk_widget_class_bind_template_child (widget_class, DroverBrokerEditor, window_title);
  gtk_widget_class_bind_template_child (widget_class, DroverBrokerEditor, name_row);
  gtk_widget_class_bind_template_child (widget_class, DroverBrokerEditor, uri_row);
  gtk_widget_class_bind_template_child (widget_class, DroverBrokerEditor, sign_in_group);
  gtk_widget_class_bind_template_child (widget_class, DroverBrokerEditor, username_row);
  gtk_widget_class_bind_template_child (widget_class, DroverBrokerEditor, password_row);
  gtk_widget_class_bind_template_child (widget_class, DroverBrokerEditor, ca_row);
  gtk_widget_class_bind_template_child (widget_class, DroverBrokerEditor, verify_row);
  gtk_widget_class_bind_template_child (widget_class, DroverBrokerEditor, verify_warning);
  gtk_widget_class_bind_template_child (widget_class, DroverBrokerEditor, verify_switch);
  gtk_widget_class_bind_template_child (widget_class, DroverBrokerEditor, test_row);
  gtk_widget_class_bind_template_child (widget_class, DroverBrokerEditor, test_spinner);
  gtk_widget_class_bind_template_child (widget_class, DroverBrokerEditor, check_row);
  gtk_widget_class_bind_template_child (widget_class, DroverBrokerEditor, check_spinner);
  gtk_widget_class_bind_template_child (widget_class, DroverBrokerEditor, remove_group);

  gtk_widget_class_install_action (widget_class, "editor.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "editor.remove", NULL, remove_action);
  gtk_widget_class_install_action (widget_class, "editor.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "editor.choose-ca", NULL, choose_ca_action);
  gtk_widget_class_install_action (widget_class, "editor.clear-ca", NULL, clear_ca_action);
  gtk_widget_class_install_action (widget_class, "editor.test", NULL, test_action);
  gtk_widget_class_install_action (widget_class, "editor.check", NULL, check_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "editor.save", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "editor.cancel", NULL);
}

static void
drover_broker_editor_init (DroverBrokerEditor *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  g_signal_connect_object (self->verify_switch, "notify::active", G_CALLBACK (verify_changed_cb),
                           self, G_CONNECT_SWAPPED);
  update_verify_row (self);
}

static void
password_found_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(DroverBrokerEditor) self = user_data;
  g_autoptr(GError) error = NULL;
  char *password = drover_secrets_lookup_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (error != NULL)
    {
      g_autofree char *escaped = g_markup_escape_text (error->message, -1);

      adw_preferences_group_set_description (self->sign_in_group, escaped);
      return;
    }

  self->kept_password = password;
  /* Typed meanwhile: the operator's text wins. */
  if (password != NULL && !self->password_edited)
    {
      gtk_editable_set_text (GTK_EDITABLE (self->password_row), password);
      self->password_edited = FALSE;
    }
}

/**
 * drover_broker_editor_new:
 * @entry: (nullable): the broker to edit, or %NULL to add one
 *
 * Returns: (transfer floating): the editor
 */
GtkWidget *
drover_broker_editor_new (const DroverBrokerEntry *entry)
{
  DroverBrokerEditor *self = g_object_new (DROVER_TYPE_BROKER_EDITOR, NULL);

  if (entry != NULL)
    {
      self->original = drover_broker_entry_copy (entry);
      adw_window_title_set_title (self->window_title, _("Edit Broker"));
      adw_window_title_set_subtitle (self->window_title, entry->name);
      gtk_editable_set_text (GTK_EDITABLE (self->name_row), entry->name);
      gtk_editable_set_text (GTK_EDITABLE (self->uri_row), entry->uri != NULL ? entry->uri : "");
      gtk_editable_set_text (GTK_EDITABLE (self->username_row), entry->username != NULL ? entry->username : "");
      gtk_switch_set_active (self->verify_switch, entry->verify_host_name);
      self->ca_file = g_strdup (entry->ca_file);
      gtk_widget_set_visible (GTK_WIDGET (self->remove_group), TRUE);

      drover_secrets_lookup_async (DROVER_SECRET_BROKER, entry->name, self->cancellable,
                                   password_found_cb, g_object_ref (self));
    }
  else
    adw_window_title_set_title (self->window_title, _("Add Broker"));

  g_signal_connect_object (self->password_row, "changed", G_CALLBACK (password_changed_cb), self, G_CONNECT_SWAPPED);
  update_ca_row (self);
  update_verify_row (self);

  return GTK_WIDGET (self);
}

/**
 * drover_broker_editor_get_old_name:
 *
 * Returns: (nullable): the name of the broker being edited; %NULL when adding
 */
const char *
drover_broker_editor_get_old_name (DroverBrokerEditor *self)
{
  g_return_val_if_fail (DROVER_IS_BROKER_EDITOR (self), NULL);

  return self->original != NULL ? self->original->name : NULL;
}

/**
 * drover_broker_editor_dup_entry:
 *
 * Returns: (transfer full): the broker as the editor shows it
 */
DroverBrokerEntry *
drover_broker_editor_dup_entry (DroverBrokerEditor *self)
{
  g_autofree char *name = NULL;
  DroverBrokerEntry *entry;

  g_return_val_if_fail (DROVER_IS_BROKER_EDITOR (self), NULL);

  name = _drover_editor_dup_text (self->name_row);
  entry = self->original != NULL ? drover_broker_entry_copy (self->original) : drover_broker_entry_new (NULL);
  g_free (entry->name);
  entry->name = g_steal_pointer (&name);
  g_free (entry->uri);
  entry->uri = _drover_editor_dup_text (self->uri_row);
  g_free (entry->username);
  entry->username = _drover_editor_dup_text (self->username_row);
  g_free (entry->ca_file);
  entry->ca_file = g_strdup (self->ca_file);
  entry->verify_host_name = gtk_switch_get_active (self->verify_switch);

  return entry;
}

/**
 * drover_broker_editor_get_password:
 *
 * Returns: the password as typed or as the keyring had it; empty for none
 */
const char *
drover_broker_editor_get_password (DroverBrokerEditor *self)
{
  g_return_val_if_fail (DROVER_IS_BROKER_EDITOR (self), NULL);

  return gtk_editable_get_text (GTK_EDITABLE (self->password_row));
}

/**
 * drover_broker_editor_get_password_changed:
 *
 * Returns: whether the password differs from what the keyring keeps
 */
gboolean
drover_broker_editor_get_password_changed (DroverBrokerEditor *self)
{
  g_return_val_if_fail (DROVER_IS_BROKER_EDITOR (self), FALSE);

  return g_strcmp0 (drover_broker_editor_get_password (self),
                    self->kept_password != NULL ? self->kept_password : "") != 0;
}

/**
 * drover_broker_editor_get_had_password:
 *
 * Returns: whether the keyring keeps a password for the broker as it was
 */
gboolean
drover_broker_editor_get_had_password (DroverBrokerEditor *self)
{
  g_return_val_if_fail (DROVER_IS_BROKER_EDITOR (self), FALSE);

  return self->kept_password != NULL;
}

/**
 * drover_broker_editor_set_busy:
 *
 * While saving, the editor takes no second save or remove.
 */
void
drover_broker_editor_set_busy (DroverBrokerEditor *self,
                               gboolean            busy)
{
  g_return_if_fail (DROVER_IS_BROKER_EDITOR (self));

  self->busy = busy;
  update_actions (self);
}
