/* drover-preferences-window.c: the farm's brokers and printers, and the signers it trusts
 *
 * Reads the operator's farm file, lists its brokers and printers, and
 * opens an editor page for each (DroverBrokerEditor, DroverPrinterEditor).
 * A change is saved at once: secrets to the keyring first, then the file,
 * written whole and atomically. A file Drover cannot read is never
 * overwritten from here: the window says what is wrong and edits nothing.
 * "Import CSV…" adds a whole list of printers, or none.
 *
 * The Signing page lists the trust store's keys: adding one trusts the
 * jobs it signs, revoking one refuses them for good. Each change reads the
 * store afresh, changes it and saves it in a worker, so that a key
 * droverctl added meanwhile is kept.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-preferences"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "drover-broker-editor.h"
#include "drover-preferences-window.h"
#include "drover-printer-editor.h"

struct _DroverPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  AdwPreferencesGroup  *problem_group;
  AdwActionRow         *problem_row;
  AdwPreferencesGroup  *brokers_group;
  AdwPreferencesGroup  *printers_group;
  GtkListBox           *brokers_list;
  GtkListBox           *printers_list;

  GtkStringList        *broker_names;
  GtkStringList        *printer_ids;
  char                 *farm_path;
  DroverInventory      *inventory;     /* NULL until read, or when unreadable */
  GCancellable         *cancellable;
  GtkNativeDialog      *chooser;
  GtkWidget            *editor;          /* the last editor shown; weak */
  GtkWidget            *pending_editor;  /* waits for the last one to go */
  AdwToast             *toast;           /* the last toast shown; weak */
  AdwToast             *pending_toast;   /* the next one */
  gint64                toast_time;
  guint                 toast_source;
  gboolean              busy;

  AdwPreferencesGroup  *keys_group;
  GtkListBox           *keys_list;
  GtkLabel             *keys_placeholder;
  GtkStringList        *key_ids;
  GPtrArray            *keys;            /* DroverTrustedKey, as last read */
  char                 *trust_path;
  gboolean              trust_usable;    /* read, and readable */
  gboolean              trust_busy;
  GtkNativeDialog      *key_chooser;
};

G_DEFINE_FINAL_TYPE (DroverPreferencesWindow, drover_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

enum {
  FARM_SAVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
update_actions (DroverPreferencesWindow *self)
{
  gboolean can_edit = self->inventory != NULL && !self->busy;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "prefs.add-broker", can_edit);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "prefs.add-printer", can_edit);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "prefs.import-csv", can_edit);
  gtk_widget_set_sensitive (GTK_WIDGET (self->brokers_list), can_edit);
  gtk_widget_set_sensitive (GTK_WIDGET (self->printers_list), can_edit);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "prefs.add-key", self->trust_usable && !self->trust_busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "prefs.add-key-file", self->trust_usable && !self->trust_busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "prefs.revoke-key", self->trust_usable && !self->trust_busy);
}

/* libadwaita 1.2 frees a toast dismissed while it still slides in, and
 * then crashes when the slide ends (up to 500 ms): a newer toast waits
 * until the last one has settled. */
#define TOAST_SETTLE_US (600 * 1000)

static gboolean
flush_toast_cb (gpointer user_data)
{
  DroverPreferencesWindow *self = user_data;

  self->toast_source = 0;
  if (self->pending_toast == NULL)
    return G_SOURCE_REMOVE;

  /* The newest news goes first, never behind a queue of old ones. */
  if (self->toast != NULL)
    adw_toast_dismiss (self->toast);
  g_set_weak_pointer (&self->toast, self->pending_toast);
  self->toast_time = g_get_monotonic_time ();
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), g_steal_pointer (&self->pending_toast));

  return G_SOURCE_REMOVE;
}

static void
show_toast (DroverPreferencesWindow *self,
            const char              *text,
            gboolean                 is_error)
{
  g_autofree char *escaped = g_markup_escape_text (text, -1);
  gint64 age = g_get_monotonic_time () - self->toast_time;

  g_clear_object (&self->pending_toast);
  self->pending_toast = adw_toast_new (escaped);
  /* An error stays until read, or until the next action says how it went. */
  if (is_error)
    adw_toast_set_timeout (self->pending_toast, 0);

  if (self->toast != NULL && age < TOAST_SETTLE_US)
    {
      if (self->toast_source == 0)
        self->toast_source = g_timeout_add ((TOAST_SETTLE_US - age) / 1000 + 1, flush_toast_cb, self);
      return;
    }

  flush_toast_cb (self);
}

static void
refresh_lists (DroverPreferencesWindow *self)
{
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
  g_autoptr(GStrvBuilder) ids = g_strv_builder_new ();
  g_auto(GStrv) name_list = NULL;
  g_auto(GStrv) id_list = NULL;

  if (self->inventory != NULL)
    {
      GPtrArray *brokers = drover_inventory_get_brokers (self->inventory);
      GPtrArray *printers = drover_inventory_get_printers (self->inventory);

      for (guint i = 0; i < brokers->len; i++)
        g_strv_builder_add (names, ((DroverBrokerEntry *)g_ptr_array_index (brokers, i))->name);
      for (guint i = 0; i < printers->len; i++)
        g_strv_builder_add (ids, ((DroverPrinterEntry *)g_ptr_array_index (printers, i))->id);
    }

  name_list = g_strv_builder_end (names);
  id_list = g_strv_builder_end (ids);
  gtk_string_list_splice (self->broker_names, 0, g_list_model_get_n_items (G_LIST_MODEL (self->broker_names)),
                          (const char * const *)name_list);
  gtk_string_list_splice (self->printer_ids, 0, g_list_model_get_n_items (G_LIST_MODEL (self->printer_ids)),
                          (const char * const *)id_list);
}

static GtkWidget *
new_list_row (const char *title,
              const char *subtitle)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), gtk_image_new_from_icon_name ("go-next-symbolic"));

  return row;
}

static GtkWidget *
create_broker_row (gpointer item,
                   gpointer user_data)
{
  DroverPreferencesWindow *self = user_data;
  const char *name = gtk_string_object_get_string (item);
  DroverBrokerEntry *entry = drover_inventory_find_broker (self->inventory, name);
  g_autoptr(GString) subtitle = g_string_new (entry->uri);
  GtkWidget *row;

  if (entry->username != NULL)
    /* Translators: after a broker's address, the user name Drover signs in with */
    g_string_append_printf (subtitle, _(" · as %s"), entry->username);
  if (!entry->verify_host_name)
    g_string_append (subtitle, _(" · host name not checked"));

  row = new_list_row (name, subtitle->str);
  if (!entry->verify_host_name)
    {
      GtkWidget *warning = gtk_image_new_from_icon_name ("dialog-warning-symbolic");

      gtk_widget_add_css_class (warning, "warning");
      gtk_widget_set_tooltip_text (warning, _("Any server with a certificate from this broker's CA can pose as it"));
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), warning);
    }

  return row;
}

static GtkWidget *
create_printer_row (gpointer item,
                    gpointer user_data)
{
  DroverPreferencesWindow *self = user_data;
  const char *id = gtk_string_object_get_string (item);
  DroverPrinterEntry *entry = drover_inventory_find_printer (self->inventory, id);
  g_autofree char *subtitle = NULL;
  const char *where = entry->broker != NULL ? entry->broker : entry->uri;

  if (where != NULL)
    /* Translators: a printer's id, its kind, and its broker or address */
    subtitle = g_strdup_printf (_("%s · %s · %s"), entry->id, drover_connector_kind_to_string (entry->connector), where);
  else
    subtitle = g_strdup_printf ("%s · %s", entry->id, drover_connector_kind_to_string (entry->connector));

  return new_list_row (entry->name != NULL ? entry->name : entry->id, subtitle);
}

/* Saving: secrets, the inventory, then the file */

typedef struct
{
  DroverPreferencesWindow *self;
  GtkWidget               *editor;       /* closed when all went well */
  DroverSecretKind         kind;
  char                    *name;         /* whose secret */
  char                    *secret;       /* to keep, or NULL */
  gboolean                 clear;        /* forget the secret of @name */
  char                    *clear_old;    /* forget the secret of a renamed entry */
  DroverBrokerEntry       *broker;       /* to set, with @old_name */
  DroverPrinterEntry      *printer;
  char                    *old_name;
  char                    *migrating;    /* the printer whose code moves to the keyring */
  char                    *done_message;
} SaveOp;

static void step_clear (SaveOp *op);
static void step_clear_old (SaveOp *op);
static void step_apply (SaveOp *op);
static void step_migrate (SaveOp *op);

static void
save_op_free (SaveOp *op)
{
  g_clear_object (&op->self);
  g_clear_object (&op->editor);
  g_free (op->name);
  drover_secrets_free (op->secret);
  g_free (op->clear_old);
  g_clear_pointer (&op->broker, drover_broker_entry_free);
  g_clear_pointer (&op->printer, drover_printer_entry_free);
  g_free (op->old_name);
  g_free (op->migrating);
  g_free (op->done_message);
  g_free (op);
}

static void
set_busy (DroverPreferencesWindow *self,
          GtkWidget               *editor,
          gboolean                 busy)
{
  self->busy = busy;
  update_actions (self);

  if (DROVER_IS_BROKER_EDITOR (editor))
    drover_broker_editor_set_busy (DROVER_BROKER_EDITOR (editor), busy);
  else if (DROVER_IS_PRINTER_EDITOR (editor))
    drover_printer_editor_set_busy (DROVER_PRINTER_EDITOR (editor), busy);
}

static void
op_fail (SaveOp *op,
         GError *error)
{
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      set_busy (op->self, op->editor, FALSE);
      refresh_lists (op->self);
      show_toast (op->self, error->message, TRUE);
    }
  save_op_free (op);
}

static void
written_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  SaveOp *op = user_data;
  g_autoptr(GError) error = NULL;

  if (!drover_inventory_save_finish (result, &error))
    {
      op_fail (op, error);
      return;
    }

  set_busy (op->self, op->editor, FALSE);
  refresh_lists (op->self);
  if (op->editor != NULL && gtk_widget_get_parent (op->editor) != NULL)
    adw_preferences_window_close_subpage (ADW_PREFERENCES_WINDOW (op->self));
  show_toast (op->self, op->done_message, FALSE);
  g_signal_emit (op->self, signals[FARM_SAVED], 0);
  save_op_free (op);
}

static void
step_write (SaveOp *op)
{
  drover_inventory_save_async (op->self->inventory, op->self->farm_path, op->self->cancellable, written_cb, op);
}

static void
migrated_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  SaveOp *op = user_data;
  g_autoptr(GError) error = NULL;
  DroverPrinterEntry *entry;

  if (!drover_secrets_store_finish (result, &error))
    {
      op_fail (op, error);
      return;
    }

  /* In the keyring now: the file need not keep it. */
  entry = drover_inventory_find_printer (op->self->inventory, op->migrating);
  if (entry != NULL && entry->access_code != NULL)
    {
      memset (entry->access_code, 0, strlen (entry->access_code));
      g_clear_pointer (&entry->access_code, g_free);
    }
  if (entry != NULL && entry->api_key != NULL)
    {
      memset (entry->api_key, 0, strlen (entry->api_key));
      g_clear_pointer (&entry->api_key, g_free);
    }

  step_migrate (op);
}

/* An access code that came in the file (drover-sim writes them) moves to
 * the keyring before the file is written without it; without a keyring
 * the file stays as it is, code and all. */
static void
step_migrate (SaveOp *op)
{
  GPtrArray *printers = drover_inventory_get_printers (op->self->inventory);

  for (guint i = 0; i < printers->len; i++)
    {
      DroverPrinterEntry *entry = g_ptr_array_index (printers, i);

      const char *secret = entry->access_code != NULL ? entry->access_code : entry->api_key;

      if (secret == NULL)
        continue;

      g_free (op->migrating);
      op->migrating = g_strdup (entry->id);
      drover_secrets_store_async (DROVER_SECRET_PRINTER, entry->id, secret, op->self->cancellable,
                                  migrated_cb, op);
      return;
    }

  step_write (op);
}

static void
step_apply (SaveOp *op)
{
  g_autoptr(GError) error = NULL;

  if (op->broker != NULL && !drover_inventory_set_broker (op->self->inventory, op->old_name, op->broker, &error))
    {
      op_fail (op, error);
      return;
    }

  if (op->printer != NULL && !drover_inventory_set_printer (op->self->inventory, op->old_name, op->printer, &error))
    {
      op_fail (op, error);
      return;
    }

  step_migrate (op);
}

static void
cleared_old_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  SaveOp *op = user_data;
  g_autoptr(GError) error = NULL;

  /* A stale secret under the old name harms nothing: go on. */
  if (!drover_secrets_clear_finish (result, &error))
    g_message ("%s", error->message);

  step_apply (op);
}

static void
step_clear_old (SaveOp *op)
{
  if (op->clear_old == NULL)
    {
      step_apply (op);
      return;
    }

  drover_secrets_clear_async (op->kind, op->clear_old, op->self->cancellable, cleared_old_cb, op);
}

static void
cleared_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  SaveOp *op = user_data;
  g_autoptr(GError) error = NULL;

  if (!drover_secrets_clear_finish (result, &error))
    {
      op_fail (op, error);
      return;
    }

  step_clear_old (op);
}

static void
step_clear (SaveOp *op)
{
  if (!op->clear)
    {
      step_clear_old (op);
      return;
    }

  drover_secrets_clear_async (op->kind, op->name, op->self->cancellable, cleared_cb, op);
}

static void
stored_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  SaveOp *op = user_data;
  g_autoptr(GError) error = NULL;

  if (!drover_secrets_store_finish (result, &error))
    {
      op_fail (op, error);
      return;
    }

  step_clear (op);
}

static void
op_start (SaveOp *op)
{
  set_busy (op->self, op->editor, TRUE);

  if (op->secret == NULL)
    {
      step_clear (op);
      return;
    }

  drover_secrets_store_async (op->kind, op->name, op->secret, op->self->cancellable, stored_cb, op);
}

static SaveOp *
save_op_new (DroverPreferencesWindow *self,
             GtkWidget               *editor)
{
  SaveOp *op = g_new0 (SaveOp, 1);

  op->self = g_object_ref (self);
  op->editor = editor != NULL ? g_object_ref (editor) : NULL;

  return op;
}

/* Editors */

static void
broker_save_cb (DroverPreferencesWindow *self,
                DroverBrokerEditor      *editor)
{
  g_autoptr(DroverBrokerEntry) entry = drover_broker_editor_dup_entry (editor);
  const char *old_name = drover_broker_editor_get_old_name (editor);
  const char *password = drover_broker_editor_get_password (editor);
  gboolean renamed = old_name != NULL && g_strcmp0 (old_name, entry->name) != 0;
  g_autoptr(GError) error = NULL;
  SaveOp *op;

  if (self->busy)
    return;

  /* Refused before anything reaches the keyring. */
  if (!drover_inventory_check_broker (self->inventory, old_name, entry, &error))
    {
      show_toast (self, error->message, TRUE);
      return;
    }

  op = save_op_new (self, GTK_WIDGET (editor));
  op->kind = DROVER_SECRET_BROKER;
  op->name = g_strdup (entry->name);
  if (password[0] != '\0' && (renamed || drover_broker_editor_get_password_changed (editor)))
    op->secret = g_strdup (password);
  else if (password[0] == '\0' && drover_broker_editor_get_had_password (editor))
    op->clear = TRUE;
  if (renamed && drover_broker_editor_get_had_password (editor))
    op->clear_old = g_strdup (old_name);
  op->old_name = g_strdup (old_name);
  op->broker = g_steal_pointer (&entry);
  op->done_message = g_strdup_printf (_("Broker “%s” saved"), op->name);

  op_start (op);
}

/* Removing loses what the operator typed: ask first (libadwaita 1.2:
 * AdwMessageDialog and its response signal). */
typedef void (*RemoveFunc) (DroverPreferencesWindow *self,
                            GtkWidget               *editor);

typedef struct
{
  DroverPreferencesWindow *self;
  GtkWidget               *editor;
  RemoveFunc               remove;
} RemoveConfirmation;

static void
remove_confirmation_free (gpointer  data,
                          GClosure *closure)
{
  RemoveConfirmation *confirmation = data;

  g_object_unref (confirmation->self);
  g_object_unref (confirmation->editor);
  g_free (confirmation);
}

static void
remove_response_cb (AdwMessageDialog   *dialog,
                    const char         *response,
                    RemoveConfirmation *confirmation)
{
  if (g_str_equal (response, "remove"))
    confirmation->remove (confirmation->self, confirmation->editor);
}

static void
confirm_removal (DroverPreferencesWindow *self,
                 GtkWidget               *editor,
                 const char              *heading,
                 const char              *body,
                 RemoveFunc               remove)
{
  RemoveConfirmation *confirmation = g_new0 (RemoveConfirmation, 1);
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, body);

  confirmation->self = g_object_ref (self);
  confirmation->editor = g_object_ref (editor);
  confirmation->remove = remove;

  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "remove", _("_Remove"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "remove", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_data (dialog, "response", G_CALLBACK (remove_response_cb), confirmation,
                         remove_confirmation_free, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
broker_remove_now (DroverPreferencesWindow *self,
                   GtkWidget               *widget)
{
  DroverBrokerEditor *editor = DROVER_BROKER_EDITOR (widget);
  const char *name = drover_broker_editor_get_old_name (editor);
  g_autoptr(GError) error = NULL;
  SaveOp *op;

  if (self->busy || name == NULL)
    return;

  if (!drover_inventory_remove_broker (self->inventory, name, &error))
    {
      show_toast (self, error->message, TRUE);
      return;
    }

  op = save_op_new (self, GTK_WIDGET (editor));
  op->kind = DROVER_SECRET_BROKER;
  op->name = g_strdup (name);
  op->clear = TRUE;
  op->done_message = g_strdup_printf (_("Broker “%s” removed"), name);
  op_start (op);
}

static void
broker_remove_cb (DroverPreferencesWindow *self,
                  DroverBrokerEditor      *editor)
{
  const char *name = drover_broker_editor_get_old_name (editor);
  g_autofree char *heading = NULL;

  if (self->busy || name == NULL)
    return;

  heading = g_strdup_printf (_("Remove Broker “%s”?"), name);
  confirm_removal (self, GTK_WIDGET (editor), heading,
                   _("Drover forgets how to reach it and its password. The broker itself is not changed."),
                   broker_remove_now);
}

static void
printer_save_cb (DroverPreferencesWindow *self,
                 DroverPrinterEditor     *editor)
{
  g_autoptr(DroverPrinterEntry) entry = drover_printer_editor_dup_entry (editor);
  const char *old_id = drover_printer_editor_get_old_id (editor);
  const char *code = drover_printer_editor_get_access_code (editor);
  gboolean renamed = old_id != NULL && g_strcmp0 (old_id, entry->id) != 0;
  g_autoptr(GError) error = NULL;
  SaveOp *op;

  if (self->busy)
    return;

  if (!drover_inventory_check_printer (self->inventory, old_id, entry, &error))
    {
      show_toast (self, error->message, TRUE);
      return;
    }

  op = save_op_new (self, GTK_WIDGET (editor));
  op->kind = DROVER_SECRET_PRINTER;
  op->name = g_strdup (entry->id);
  if (code[0] != '\0' && (renamed || drover_printer_editor_get_access_code_changed (editor)))
    op->secret = g_strdup (code);
  else if (code[0] == '\0' && drover_printer_editor_get_had_access_code (editor))
    op->clear = TRUE;
  if (renamed && drover_printer_editor_get_had_access_code (editor))
    op->clear_old = g_strdup (old_id);
  op->old_name = g_strdup (old_id);
  op->printer = g_steal_pointer (&entry);
  op->done_message = g_strdup_printf (_("Printer “%s” saved"), op->name);

  op_start (op);
}

static void
printer_remove_now (DroverPreferencesWindow *self,
                    GtkWidget               *widget)
{
  DroverPrinterEditor *editor = DROVER_PRINTER_EDITOR (widget);
  const char *id = drover_printer_editor_get_old_id (editor);
  g_autoptr(GError) error = NULL;
  SaveOp *op;

  if (self->busy || id == NULL)
    return;

  if (!drover_inventory_remove_printer (self->inventory, id, &error))
    {
      show_toast (self, error->message, TRUE);
      return;
    }

  op = save_op_new (self, GTK_WIDGET (editor));
  op->kind = DROVER_SECRET_PRINTER;
  op->name = g_strdup (id);
  op->clear = TRUE;
  op->done_message = g_strdup_printf (_("Printer “%s” removed"), id);
  op_start (op);
}

static void
printer_remove_cb (DroverPreferencesWindow *self,
                   DroverPrinterEditor     *editor)
{
  const char *id = drover_printer_editor_get_old_id (editor);
  g_autofree char *heading = NULL;

  if (self->busy || id == NULL)
    return;

  heading = g_strdup_printf (_("Remove Printer “%s”?"), id);
  confirm_removal (self, GTK_WIDGET (editor), heading,
                   _("Drover stops watching it and forgets its access code. The printer itself is not changed."),
                   printer_remove_now);
}

/* libadwaita 1.2's leaflet loses track of a subpage removed while another
 * is presented during its closing transition, and crashes; so the next
 * editor waits until the last one has left. */
static gboolean
editor_is_leaving (GtkWidget *editor)
{
  GtkWidget *parent = editor != NULL ? gtk_widget_get_parent (editor) : NULL;

  return parent != NULL && ADW_IS_LEAFLET (parent) && adw_leaflet_get_visible_child (ADW_LEAFLET (parent)) != editor;
}

static void present_editor (DroverPreferencesWindow *self,
                            GtkWidget               *editor);

static void
editor_left_cb (DroverPreferencesWindow *self,
                GParamSpec              *pspec,
                GtkWidget               *editor)
{
  g_autoptr(GtkWidget) pending = NULL;

  if (gtk_widget_get_parent (editor) != NULL)
    return;

  g_signal_handlers_disconnect_by_func (editor, editor_left_cb, self);
  pending = g_steal_pointer (&self->pending_editor);
  if (pending != NULL)
    present_editor (self, pending);
}

static void
present_editor (DroverPreferencesWindow *self,
                GtkWidget               *editor)
{
  if (editor_is_leaving (self->editor))
    {
      if (self->pending_editor == NULL)
        g_signal_connect_object (self->editor, "notify::parent", G_CALLBACK (editor_left_cb), self, G_CONNECT_SWAPPED);
      g_clear_object (&self->pending_editor);
      self->pending_editor = g_object_ref_sink (editor);
      return;
    }

  g_set_weak_pointer (&self->editor, editor);
  adw_preferences_window_present_subpage (ADW_PREFERENCES_WINDOW (self), editor);
}

static void
open_broker_editor (DroverPreferencesWindow *self,
                    DroverBrokerEntry       *entry)
{
  GtkWidget *editor = drover_broker_editor_new (entry);

  g_signal_connect_object (editor, "save", G_CALLBACK (broker_save_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (editor, "remove", G_CALLBACK (broker_remove_cb), self, G_CONNECT_SWAPPED);
  present_editor (self, editor);
}

static void
open_printer_editor (DroverPreferencesWindow *self,
                     DroverPrinterEntry      *entry)
{
  GtkWidget *editor = drover_printer_editor_new (entry, drover_inventory_get_brokers (self->inventory));

  g_signal_connect_object (editor, "save", G_CALLBACK (printer_save_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (editor, "remove", G_CALLBACK (printer_remove_cb), self, G_CONNECT_SWAPPED);
  present_editor (self, editor);
}

static void
broker_activated_cb (DroverPreferencesWindow *self,
                     GtkListBoxRow           *row)
{
  g_autoptr(GtkStringObject) item = NULL;

  if (self->inventory == NULL || self->busy)
    return;

  item = g_list_model_get_item (G_LIST_MODEL (self->broker_names), gtk_list_box_row_get_index (row));
  if (item != NULL)
    open_broker_editor (self, drover_inventory_find_broker (self->inventory, gtk_string_object_get_string (item)));
}

static void
printer_activated_cb (DroverPreferencesWindow *self,
                      GtkListBoxRow           *row)
{
  g_autoptr(GtkStringObject) item = NULL;

  if (self->inventory == NULL || self->busy)
    return;

  item = g_list_model_get_item (G_LIST_MODEL (self->printer_ids), gtk_list_box_row_get_index (row));
  if (item != NULL)
    open_printer_editor (self, drover_inventory_find_printer (self->inventory, gtk_string_object_get_string (item)));
}

static void
add_broker_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  open_broker_editor (DROVER_PREFERENCES_WINDOW (widget), NULL);
}

static void
add_printer_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  open_printer_editor (DROVER_PREFERENCES_WINDOW (widget), NULL);
}

/* CSV import */

static void
csv_read_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(DroverPreferencesWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *basename = g_file_get_basename (G_FILE (source));
  gsize length;
  guint added;
  SaveOp *op;

  if (!g_file_load_contents_finish (G_FILE (source), result, &contents, &length, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *message = g_strdup_printf (_("%s cannot be read: %s"), basename, error->message);

          set_busy (self, NULL, FALSE);
          show_toast (self, message, TRUE);
        }
      return;
    }

  added = drover_inventory_import_csv (self->inventory, contents, length, &error);
  if (error != NULL)
    {
      /* Translators: the CSV file's name, then what is wrong on which line */
      g_autofree char *message = g_strdup_printf (_("Nothing was imported from %s. %s"), basename, error->message);

      set_busy (self, NULL, FALSE);
      show_toast (self, message, TRUE);
      return;
    }

  if (added == 0)
    {
      g_autofree char *message = g_strdup_printf (_("%s lists no printers."), basename);

      set_busy (self, NULL, FALSE);
      show_toast (self, message, FALSE);
      return;
    }

  op = save_op_new (self, NULL);
  op->done_message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Added %u printer", "Added %u printers", added), added);
  step_migrate (op);
}

/**
 * drover_preferences_window_import_csv_file:
 * @file: a CSV list of printers
 *
 * Adds every printer @file lists, or none, saves the farm, and says how it
 * went in a toast.
 */
void
drover_preferences_window_import_csv_file (DroverPreferencesWindow *self,
                                           GFile                   *file)
{
  g_return_if_fail (DROVER_IS_PREFERENCES_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  if (self->inventory == NULL || self->busy)
    return;

  set_busy (self, NULL, TRUE);
  g_file_load_contents_async (file, self->cancellable, csv_read_cb, g_object_ref (self));
}

static void
csv_chosen_cb (DroverPreferencesWindow *self,
               int                      response,
               GtkNativeDialog         *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      if (file != NULL)
        drover_preferences_window_import_csv_file (self, file);
    }

  g_clear_object (&self->chooser);
}

static void
import_csv_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  DroverPreferencesWindow *self = DROVER_PREFERENCES_WINDOW (widget);
  g_autoptr(GtkFileFilter) csv = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) everything = gtk_file_filter_new ();
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_("Import Printers from a CSV File"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Import"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_filter_set_name (csv, _("CSV Files"));
  gtk_file_filter_add_pattern (csv, "*.csv");
  gtk_file_filter_add_pattern (csv, "*.CSV");
  gtk_file_filter_add_mime_type (csv, "text/csv");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), csv);
  gtk_file_filter_set_name (everything, _("All Files"));
  gtk_file_filter_add_pattern (everything, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), everything);

  g_clear_object (&self->chooser);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  g_signal_connect_object (chooser, "response", G_CALLBACK (csv_chosen_cb), self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (self->chooser);
}

/* Trusted keys */

static char *
format_day (gint64 unix_seconds)
{
  g_autoptr(GDateTime) date = g_date_time_new_from_unix_local (unix_seconds);

  if (date == NULL)
    return g_strdup ("?");

  /* Translators: the day a key was trusted or revoked, see strftime(3) */
  return g_date_time_format (date, _("%-d %b %Y"));
}

static const DroverTrustedKey *
find_trusted_key (DroverPreferencesWindow *self,
                  const char              *key_id)
{
  for (guint i = 0; self->keys != NULL && i < self->keys->len; i++)
    {
      const DroverTrustedKey *key = g_ptr_array_index (self->keys, i);

      if (g_str_equal (key->id, key_id))
        return key;
    }

  return NULL;
}

static GtkWidget *
create_key_row (gpointer item,
                gpointer user_data)
{
  DroverPreferencesWindow *self = user_data;
  const DroverTrustedKey *key = find_trusted_key (self, gtk_string_object_get_string (item));
  g_autofree char *added = format_day (key->added);
  g_autofree char *subtitle = NULL;
  GtkWidget *row = adw_action_row_new ();

  /* The operator typed the name; it is text, not markup. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), key->name);

  if (key->revoked != 0)
    {
      g_autofree char *revoked = format_day (key->revoked);
      GtkWidget *label = gtk_label_new (_("Revoked"));

      /* Translators: a trusted key's id, when it was added and when revoked */
      subtitle = g_strdup_printf (_("Key %s · added %s · revoked %s: its jobs are refused"), key->id, added, revoked);
      gtk_widget_add_css_class (label, "error");
      gtk_widget_add_css_class (label, "heading");
      gtk_widget_set_valign (label, GTK_ALIGN_CENTER);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), label);
    }
  else
    {
      GtkWidget *button = gtk_button_new_with_mnemonic (_("_Revoke…"));
      /* Translators: read out for a trusted key's Revoke button; %s is who signs with it */
      g_autofree char *description = g_strdup_printf (_("Revoke the key of %s"), key->name);

      /* Translators: a trusted key's id and when it was added */
      subtitle = g_strdup_printf (_("Key %s · added %s"), key->id, added);
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      gtk_widget_set_tooltip_text (button, _("Refuse the jobs this key signs, from now on"));
      gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "prefs.revoke-key");
      gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "s", key->id);
      gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, description, -1);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
    }
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);

  return row;
}

typedef enum
{
  TRUST_READ,
  TRUST_ADD,
  TRUST_REVOKE,
} TrustOpKind;

typedef struct
{
  TrustOpKind      kind;
  char            *path;
  char            *name;
  DroverPublicKey *key;
  char            *key_id;
} TrustOp;

static void
trust_op_free (TrustOp *op)
{
  g_free (op->path);
  g_free (op->name);
  g_clear_pointer (&op->key, drover_public_key_free);
  g_free (op->key_id);
  g_free (op);
}

/* In a worker: read the store, change it, save it, and hand back its keys. */
static void
trust_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  TrustOp *op = task_data;
  g_autoptr(DroverTrustStore) store = NULL;
  g_autoptr(GPtrArray) keys = NULL;
  GPtrArray *stored;
  GError *error = NULL;

  store = drover_trust_store_load (op->path, &error);
  if (store == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  if ((op->kind == TRUST_ADD && !drover_trust_store_add (store, op->name, op->key, &error)) ||
      (op->kind == TRUST_REVOKE && !drover_trust_store_revoke (store, op->key_id, &error)) ||
      (op->kind != TRUST_READ && !drover_trust_store_save (store, &error)))
    {
      g_task_return_error (task, error);
      return;
    }

  stored = drover_trust_store_get_keys (store);
  keys = g_ptr_array_new_full (stored->len, (GDestroyNotify)drover_trusted_key_free);
  for (guint i = 0; i < stored->len; i++)
    g_ptr_array_add (keys, drover_trusted_key_copy (g_ptr_array_index (stored, i)));
  g_task_return_pointer (task, g_steal_pointer (&keys), (GDestroyNotify)g_ptr_array_unref);
}

static void
show_keys (DroverPreferencesWindow *self,
           GPtrArray               *keys)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) ids = NULL;

  g_clear_pointer (&self->keys, g_ptr_array_unref);
  self->keys = keys != NULL ? g_ptr_array_ref (keys) : NULL;
  for (guint i = 0; keys != NULL && i < keys->len; i++)
    g_strv_builder_add (builder, ((DroverTrustedKey *)g_ptr_array_index (keys, i))->id);
  ids = g_strv_builder_end (builder);
  gtk_string_list_splice (self->key_ids, 0, g_list_model_get_n_items (G_LIST_MODEL (self->key_ids)),
                          (const char * const *)ids);
}

static void
trust_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  DroverPreferencesWindow *self = DROVER_PREFERENCES_WINDOW (source);
  TrustOp *op = g_task_get_task_data (G_TASK (result));
  g_autofree char *done = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) keys = g_task_propagate_pointer (G_TASK (result), &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self->trust_busy = FALSE;
  if (keys == NULL && op->kind == TRUST_READ)
    {
      /* No key can be trusted from here until the file is fixed. */
      self->trust_usable = FALSE;
      gtk_label_set_label (self->keys_placeholder, error->message);
      gtk_widget_add_css_class (GTK_WIDGET (self->keys_placeholder), "error");
      show_keys (self, NULL);
    }
  else if (keys == NULL)
    show_toast (self, error->message, TRUE);
  else
    {
      self->trust_usable = TRUE;
      gtk_label_set_label (self->keys_placeholder, _("No trusted keys yet. Until a signer’s key is added here, Drover "
                                                     "sends no job."));
      show_keys (self, keys);
      if (done != NULL)
        show_toast (self, done, FALSE);
    }

  update_actions (self);
}

static void
trust_op_start (DroverPreferencesWindow *self,
                TrustOp                 *op,
                char                    *done_message)
{
  g_autoptr(GTask) task = g_task_new (self, self->cancellable, trust_done_cb, done_message);

  op->path = g_strdup (self->trust_path);
  self->trust_busy = TRUE;
  update_actions (self);
  g_task_set_source_tag (task, trust_op_start);
  g_task_set_task_data (task, op, (GDestroyNotify)trust_op_free);
  g_task_run_in_thread (task, trust_thread);
}

#define DIALOG_KEY_KEY   "drover-key"
#define DIALOG_ENTRY_KEY "drover-entry"

static void
name_changed_cb (GtkEditable      *entry,
                 AdwMessageDialog *dialog)
{
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (entry)));

  adw_message_dialog_set_response_enabled (dialog, "add", name[0] != '\0');
}

static void
add_key_response_cb (AdwMessageDialog        *dialog,
                     const char              *response,
                     DroverPreferencesWindow *self)
{
  GtkEditable *entry = g_object_get_data (G_OBJECT (dialog), DIALOG_ENTRY_KEY);
  DroverPublicKey *key = g_object_get_data (G_OBJECT (dialog), DIALOG_KEY_KEY);
  g_autofree char *name = NULL;
  TrustOp *op;

  if (!g_str_equal (response, "add") || self->trust_busy || !self->trust_usable)
    return;

  name = g_strstrip (g_strdup (gtk_editable_get_text (entry)));
  op = g_new0 (TrustOp, 1);
  op->kind = TRUST_ADD;
  op->name = g_strdup (name);
  op->key = drover_public_key_copy (key);
  /* Translators: a toast once a key is trusted; %s is who signs with it */
  trust_op_start (self, op, g_strdup_printf (_("Jobs signed by “%s” are trusted"), name));
}

static void
ask_key_name (DroverPreferencesWindow *self,
              DroverPublicKey         *key,
              const char              *basename)
{
  g_autofree char *id = drover_public_key_dup_id (key);
  g_autofree char *body = NULL;
  GtkWidget *dialog;
  GtkWidget *entry = gtk_entry_new ();

  /* Translators: %s are the key's id and the file it came from */
  body = g_strdup_printf (_("Key %s, from %s. Drover will send the jobs it signs to your printers. Name who signs with "
                            "it, so that every job and every row of the ledger says whose it is."),
                          id, basename);
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Trust This Key?"), body);
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), _("Such as “Alice (slicer PC)”"));
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Who signs with this key"), -1);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "add", _("_Trust Key"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "add", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_response_enabled (ADW_MESSAGE_DIALOG (dialog), "add", FALSE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "add");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), DIALOG_KEY_KEY, drover_public_key_copy (key),
                          (GDestroyNotify)drover_public_key_free);
  g_object_set_data (G_OBJECT (dialog), DIALOG_ENTRY_KEY, entry);
  g_signal_connect_object (entry, "changed", G_CALLBACK (name_changed_cb), dialog, 0);
  g_signal_connect_object (dialog, "response", G_CALLBACK (add_key_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (entry);
}

static void
key_file_read_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(DroverPreferencesWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverPublicKey) key = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *basename = g_file_get_basename (G_FILE (source));
  g_autofree char *id = NULL;
  const DroverTrustedKey *known;

  if (!g_file_load_contents_finish (G_FILE (source), result, &contents, NULL, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *message = g_strdup_printf (_("%s cannot be read: %s"), basename, error->message);

          show_toast (self, message, TRUE);
        }
      return;
    }

  key = drover_public_key_new_from_data (contents, &error);
  if (key == NULL)
    {
      /* Translators: a file that should hold a signer's public key, and what is wrong with it */
      g_autofree char *message = g_strdup_printf (_("%s is not a minisign public key: %s"), basename, error->message);

      show_toast (self, message, TRUE);
      return;
    }

  /* Said before the operator types a name for nothing. */
  id = drover_public_key_dup_id (key);
  known = find_trusted_key (self, id);
  if (known != NULL)
    {
      g_autofree char *message = NULL;

      if (known->revoked != 0)
        message = g_strdup_printf (_("Key %s (“%s”) was revoked and cannot be trusted again; the signer needs a new "
                                     "key pair."), id, known->name);
      else
        message = g_strdup_printf (_("Key %s is already trusted, as “%s”."), id, known->name);
      show_toast (self, message, TRUE);
      return;
    }

  ask_key_name (self, key, basename);
}

static void
add_key_file (DroverPreferencesWindow *self,
              GFile                   *file)
{
  if (!self->trust_usable || self->trust_busy)
    return;

  g_file_load_contents_async (file, self->cancellable, key_file_read_cb, g_object_ref (self));
}

/* prefs.add-key-file: a .pub file by its path, as the file chooser gives it. */
static void
add_key_file_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  g_autoptr(GFile) file = g_file_new_for_path (g_variant_get_string (parameter, NULL));

  add_key_file (DROVER_PREFERENCES_WINDOW (widget), file);
}

static void
key_chosen_cb (DroverPreferencesWindow *self,
               int                      response,
               GtkNativeDialog         *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      if (file != NULL)
        add_key_file (self, file);
    }

  g_clear_object (&self->key_chooser);
}

static void
add_key_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  DroverPreferencesWindow *self = DROVER_PREFERENCES_WINDOW (widget);
  g_autoptr(GtkFileFilter) keys = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) everything = gtk_file_filter_new ();
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_("Choose a Signer’s Public Key"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_filter_set_name (keys, _("Public Keys (.pub)"));
  gtk_file_filter_add_suffix (keys, "pub");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), keys);
  gtk_file_filter_set_name (everything, _("All Files"));
  gtk_file_filter_add_pattern (everything, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), everything);

  if (self->key_chooser != NULL)
    gtk_native_dialog_destroy (self->key_chooser);
  g_clear_object (&self->key_chooser);
  self->key_chooser = GTK_NATIVE_DIALOG (chooser);
  g_signal_connect_object (chooser, "response", G_CALLBACK (key_chosen_cb), self, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (self->key_chooser);
}

static void
revoke_response_cb (AdwMessageDialog        *dialog,
                    const char              *response,
                    DroverPreferencesWindow *self)
{
  const char *key_id = g_object_get_data (G_OBJECT (dialog), DIALOG_KEY_KEY);
  TrustOp *op;

  if (!g_str_equal (response, "revoke") || self->trust_busy || !self->trust_usable)
    return;

  op = g_new0 (TrustOp, 1);
  op->kind = TRUST_REVOKE;
  op->key_id = g_strdup (key_id);
  /* Translators: a toast once a key is revoked; %s is its id */
  trust_op_start (self, op, g_strdup_printf (_("Key %s revoked: its jobs are refused"), key_id));
}

static void
revoke_key_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  DroverPreferencesWindow *self = DROVER_PREFERENCES_WINDOW (widget);
  const DroverTrustedKey *key = find_trusted_key (self, g_variant_get_string (parameter, NULL));
  g_autofree char *heading = NULL;
  g_autofree char *body = NULL;
  GtkWidget *dialog;

  if (key == NULL || key->revoked != 0)
    return;

  /* Translators: %s is who signs with the key */
  heading = g_strdup_printf (_("Revoke the Key of “%s”?"), key->name);
  /* Translators: %s is the key's id */
  body = g_strdup_printf (_("Jobs signed with key %s will be refused from now on, even those signed before. A revoked "
                            "key cannot be trusted again: the signer will need a new key pair."), key->id);
  dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "revoke", _("_Revoke"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "revoke", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), DIALOG_KEY_KEY, g_strdup (key->id), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (revoke_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Reading the farm */

static void
show_problem (DroverPreferencesWindow *self,
              const char              *message)
{
  adw_action_row_set_subtitle (self->problem_row, message);
  gtk_widget_set_visible (GTK_WIDGET (self->problem_group), TRUE);
}

static void
farm_read_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(DroverPreferencesWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length;

  if (!g_file_load_contents_finish (G_FILE (source), result, &contents, &length, NULL, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        /* No farm yet: this is where it starts. */
        self->inventory = drover_inventory_new ();
      else
        {
          g_autofree char *message = g_strdup_printf (_("Drover cannot read %s: %s"), self->farm_path, error->message);

          show_problem (self, message);
        }
    }
  else
    {
      self->inventory = drover_inventory_load_from_data (contents, length, &error);
      if (self->inventory == NULL)
        {
          g_autofree char *message = g_strdup_printf (_("%s: %s Fix the file in a text editor; Preferences will not "
                                                        "overwrite it."), self->farm_path, error->message);

          show_problem (self, message);
        }
    }

  refresh_lists (self);
  update_actions (self);
}

static void
drover_preferences_window_dispose (GObject *object)
{
  DroverPreferencesWindow *self = (DroverPreferencesWindow *)object;

  g_cancellable_cancel (self->cancellable);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  if (self->key_chooser != NULL)
    gtk_native_dialog_destroy (self->key_chooser);
  g_clear_object (&self->key_chooser);
  g_clear_object (&self->pending_editor);
  g_clear_weak_pointer (&self->editor);
  g_clear_weak_pointer (&self->toast);
  g_clear_object (&self->pending_toast);
  g_clear_handle_id (&self->toast_source, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), DROVER_TYPE_PREFERENCES_WINDOW);

  G_OBJECT_CLASS (drover_preferences_window_parent_class)->dispose (object);
}

static void
drover_preferences_window_finalize (GObject *object)
{
  DroverPreferencesWindow *self = (DroverPreferencesWindow *)object;

  g_clear_object (&self->cancellable);
  g_clear_object (&self->broker_names);
  g_clear_object (&self->printer_ids);
  g_clear_pointer (&self->inventory, drover_inventory_free);
  g_free (self->farm_path);
  g_clear_object (&self->key_ids);
  g_clear_pointer (&self->keys, g_ptr_array_unref);
  g_free (self->trust_path);

  G_OBJECT_CLASS (drover_preferences_window_parent_class)->finalize (object);
}

static void
drover_preferences_window_class_init (DroverPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = drover_preferences_window_dispose;
  object_class->finalize = drover_preferences_window_finalize;

  /**
   * DroverPreferencesWindow::farm-saved:
   *
   * The farm file was written; a running farm may want to read it again.
   */
  signals[FARM_SAVED] = g_signal_new ("farm-saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                      0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/drover/Drover/drover-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, DroverPreferencesWindow, problem_group);
  gtk_widget_class_bind_template_child (widget_class, DroverPreferencesWindow, problem_row);
  gtk_widget_class_bind_template_child (widget_class, DroverPreferencesWindow, brokers_group);
  gtk_widget_class_bind_template_child (widget_class, DroverPreferencesWindow, printers_group);
  gtk_widget_class_bind_template_child (widget_class, DroverPreferencesWindow, brokers_list);
  gtk_widget_class_bind_template_child (widget_class, DroverPreferencesWindow, printers_list);
  gtk_widget_class_bind_template_child (widget_class, DroverPreferencesWindow, keys_group);
  gtk_widget_class_bind_template_child (widget_class, DroverPreferencesWindow, keys_list);
  gtk_widget_class_bind_template_callback (widget_class, broker_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, printer_activated_cb);

  gtk_widget_class_install_action (widget_class, "prefs.add-broker", NULL, add_broker_action);
  gtk_widget_class_install_action (widget_class, "prefs.add-printer", NULL, add_printer_action);
  gtk_widget_class_install_action (widget_class, "prefs.import-csv", NULL, import_csv_action);
  gtk_widget_class_install_action (widget_class, "prefs.add-key", NULL, add_key_action);
  gtk_widget_class_install_action (widget_class, "prefs.add-key-file", "s", add_key_file_action);
  gtk_widget_class_install_action (widget_class, "prefs.revoke-key", "s", revoke_key_action);
}

static GtkWidget *
new_placeholder (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_widget_set_margin_top (label, 18);
  gtk_widget_set_margin_bottom (label, 18);
  gtk_widget_set_margin_start (label, 12);
  gtk_widget_set_margin_end (label, 12);

  return label;
}

static void
drover_preferences_window_init (DroverPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->broker_names = gtk_string_list_new (NULL);
  self->printer_ids = gtk_string_list_new (NULL);

  gtk_list_box_bind_model (self->brokers_list, G_LIST_MODEL (self->broker_names), create_broker_row, self, NULL);
  gtk_list_box_bind_model (self->printers_list, G_LIST_MODEL (self->printer_ids), create_printer_row, self, NULL);
  gtk_list_box_set_placeholder (self->brokers_list, new_placeholder (_("No brokers yet")));
  gtk_list_box_set_placeholder (self->printers_list, new_placeholder (_("No printers yet: add one, or import a CSV list")));

  self->key_ids = gtk_string_list_new (NULL);
  gtk_list_box_bind_model (self->keys_list, G_LIST_MODEL (self->key_ids), create_key_row, self, NULL);
  self->keys_placeholder = GTK_LABEL (new_placeholder (_("Reading the trusted keys…")));
  gtk_list_box_set_placeholder (self->keys_list, GTK_WIDGET (self->keys_placeholder));

  /* The store is small, but it is disk: read in a worker. */
  self->trust_path = drover_trust_store_dup_default_path ();
  {
    g_autofree char *where = g_markup_printf_escaped (_("Drover sends a job to a printer only when one of these keys "
                                                        "signed it. Add the public key (.pub) of each person or machine "
                                                        "that signs jobs, such as a slicer PC. Kept in %s."),
                                                      self->trust_path);
    TrustOp *op = g_new0 (TrustOp, 1);

    adw_preferences_group_set_description (self->keys_group, where);
    op->kind = TRUST_READ;
    trust_op_start (self, op, NULL);
  }

  update_actions (self);
}

/**
 * drover_preferences_window_new:
 * @parent: (nullable): the window it belongs to
 * @farm_path: the operator's farm file; it need not exist yet
 *
 * Returns: (transfer full): the window, reading the farm
 */
GtkWidget *
drover_preferences_window_new (GtkWindow  *parent,
                               const char *farm_path)
{
  DroverPreferencesWindow *self = g_object_new (DROVER_TYPE_PREFERENCES_WINDOW,
                                                "transient-for", parent,
                                                "modal", FALSE,
                                                NULL);
  g_autoptr(GFile) file = g_file_new_for_path (farm_path);
  g_autofree char *where = NULL;

  self->farm_path = g_strdup (farm_path);
  where = g_markup_printf_escaped (_("Kept in %s; an editor or a script may change it too."), farm_path);
  adw_preferences_group_set_description (self->printers_group, where);
  g_file_load_contents_async (file, self->cancellable, farm_read_cb, g_object_ref (self));

  return GTK_WIDGET (self);
}

/**
 * drover_preferences_window_get_inventory:
 *
 * Returns: (transfer none) (nullable): the farm as the window holds it;
 *   %NULL while it is read or when it cannot be
 */
DroverInventory *
drover_preferences_window_get_inventory (DroverPreferencesWindow *self)
{
  g_return_val_if_fail (DROVER_IS_PREFERENCES_WINDOW (self), NULL);

  return self->inventory;
}
