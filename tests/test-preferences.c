/* test-preferences.c: brokers and printers in Preferences, on a real
 * display, with a real keyring and a real broker
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "drover-application.h"
#include "drover-broker-editor.h"
#include "drover-preferences-window.h"
#include "drover-printer-editor.h"
#include "drover-test-broker.h"
#include "drover-test-display.h"
#include "drover-test-keyring.h"
#include "drover-test-ui.h"
#include "drover-window.h"

#define WAIT_MS 15000

static DroverApplication *app;
static DroverTestKeyring *keyring;

static gboolean
iterate_until (gboolean (*done) (gpointer data),
               gpointer   data)
{
  return drover_test_iterate_until (done, data, WAIT_MS);
}

static GtkWidget *
find_of_type (GtkWidget *widget,
              GType      type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_of_type (child, type);

      if (found != NULL)
        return found;
    }

  return NULL;
}

/* A row as the operator sees it: by its title, mnemonic and all. */
static GtkWidget *
find_row (GtkWidget  *widget,
          const char *title)
{
  if (ADW_IS_PREFERENCES_ROW (widget) && gtk_widget_get_visible (widget) &&
      g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)), title) == 0)
    return widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_row (child, title);

      if (found != NULL)
        return found;
    }

  return NULL;
}

static void
type_into (GtkWidget  *editor,
           const char *title,
           const char *text)
{
  GtkWidget *row = find_row (editor, title);

  if (row == NULL)
    g_error ("no visible row “%s”", title);
  g_assert_true (GTK_IS_EDITABLE (row));
  gtk_editable_set_text (GTK_EDITABLE (row), text);
}

static void
choose (GtkWidget  *editor,
        const char *title,
        guint       position)
{
  GtkWidget *row = find_row (editor, title);

  if (row == NULL)
    g_error ("no visible row “%s”", title);
  adw_combo_row_set_selected (ADW_COMBO_ROW (row), position);
}

static gboolean
preferences_shown (gpointer data)
{
  return drover_test_find_toplevel (DROVER_TYPE_PREFERENCES_WINDOW) != NULL;
}

static gboolean
farm_read (gpointer preferences)
{
  return drover_preferences_window_get_inventory (preferences) != NULL;
}

typedef struct
{
  GtkWidget *root;
  GType      type;
} Lookup;

static gboolean
editor_shown (gpointer data)
{
  Lookup *lookup = data;
  GtkWidget *editor = find_of_type (lookup->root, lookup->type);

  return editor != NULL && gtk_widget_get_mapped (editor);
}

static gboolean
editor_gone (gpointer data)
{
  Lookup *lookup = data;
  GtkWidget *editor = find_of_type (lookup->root, lookup->type);

  return editor == NULL || !gtk_widget_get_mapped (editor);
}

static gboolean
no_editor (gpointer data)
{
  Lookup *lookup = data;

  return find_of_type (lookup->root, lookup->type) == NULL;
}

static GtkWidget *
open_editor (GtkWidget  *preferences,
             const char *action,
             GType       type)
{
  Lookup lookup = { preferences, type };

  /* So that the editor found is the new one, not the last one leaving. */
  g_assert_true (iterate_until (no_editor, &lookup));

  g_assert_true (gtk_widget_activate_action (preferences, action, NULL));
  g_assert_true (iterate_until (editor_shown, &lookup));

  return find_of_type (preferences, type);
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
               const char *needle)
{
  TextWait wait = { widget, needle };

  if (!iterate_until (shows_text, &wait))
    {
      g_autofree char *text = drover_test_visible_text (widget);

      g_error ("“%s” never showed; the window shows:\n%s", needle, text);
    }
}

typedef struct
{
  const char *path;
  const char *needle;
} FileWait;

static gboolean
file_has (gpointer data)
{
  FileWait *wait = data;
  g_autofree char *contents = NULL;

  return g_file_get_contents (wait->path, &contents, NULL, NULL) && strstr (contents, wait->needle) != NULL;
}

static char *
wait_for_file (const char *path,
               const char *needle)
{
  FileWait wait = { path, needle };
  char *contents = NULL;

  if (!iterate_until (file_has, &wait))
    {
      g_file_get_contents (path, &contents, NULL, NULL);
      g_error ("%s never held “%s”:\n%s", path, needle, contents != NULL ? contents : "(no file)");
    }
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));

  return contents;
}

static void
looked_up_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  char **secret = user_data;
  g_autoptr(GError) error = NULL;

  *secret = drover_secrets_lookup_finish (result, &error);
  g_assert_no_error (error);
  if (*secret == NULL)
    *secret = g_strdup ("(none)");
}

static gboolean
is_set (gpointer data)
{
  return *(char **)data != NULL;
}

static char *
keyring_lookup (DroverSecretKind  kind,
                const char       *name)
{
  char *secret = NULL;

  drover_secrets_lookup_async (kind, name, NULL, looked_up_cb, &secret);
  g_assert_true (iterate_until (is_set, &secret));

  return secret;
}

static gboolean
editable_is (gpointer data)
{
  TextWait *wait = data;

  return g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (wait->widget)), wait->needle) == 0;
}

static void
activate_row (GtkWidget  *preferences,
              const char *title)
{
  GtkWidget *row = find_row (preferences, title);
  GtkWidget *list;

  g_assert_nonnull (row);
  list = gtk_widget_get_ancestor (row, GTK_TYPE_LIST_BOX);
  g_signal_emit_by_name (list, "row-activated", row);
}

static gboolean
message_dialog_shown (gpointer data)
{
  return drover_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG) != NULL;
}

static void
test_preferences_farm (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("drover-prefs-XXXXXX", &error);
  g_autofree char *passwords = g_build_filename (dir, "passwd", NULL);
  g_autofree char *csv_path = g_build_filename (dir, "printers.csv", NULL);
  g_autofree char *bad_csv_path = g_build_filename (dir, "bad.csv", NULL);
  g_autofree char *path = drover_application_dup_farm_path ();
  g_autofree char *config = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(DroverTestBroker) broker = NULL;
  g_autoptr(GSubprocess) passwd = NULL;
  DroverWindow *window;
  GtkWidget *preferences;
  GtkWidget *editor;
  char *secret;

  g_assert_no_error (error);
  passwd = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error,
                             "mosquitto_passwd", "-c", "-b", passwords, "drover", "farm-secret", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (passwd, NULL, NULL));
  config = g_strdup_printf ("allow_anonymous false\npassword_file %s\n", passwords);
  broker = drover_test_broker_start (config, &error);
  g_assert_no_error (error);
  uri = drover_test_broker_dup_uri (broker);

  g_test_message ("farm file: %s", path);
  /* Ctrl+comma, or the main menu: Preferences, on a farm not yet described. */
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  window = drover_window_new (app);
  gtk_window_present (GTK_WINDOW (window));
  g_action_group_activate_action (G_ACTION_GROUP (app), "preferences", NULL);
  g_assert_true (iterate_until (preferences_shown, NULL));
  preferences = drover_test_find_toplevel (DROVER_TYPE_PREFERENCES_WINDOW);
  g_assert_true (iterate_until (farm_read, preferences));
  wait_for_text (preferences, "No brokers yet");

  /* A broker, through its editor's rows. */
  editor = open_editor (preferences, "prefs.add-broker", DROVER_TYPE_BROKER_EDITOR);
  type_into (editor, "_Name", "farm");
  type_into (editor, "_Address", uri);
  type_into (editor, "_User Name", "drover");
  type_into (editor, "_Password", "wrong-secret");

  /* Turning the host name check off says what it allows. */
  gtk_switch_set_active (GTK_SWITCH (find_of_type (find_row (editor, "Check the _Host Name"), GTK_TYPE_SWITCH)), FALSE);
  wait_for_text (editor, "Off: any server with a certificate from this CA can pose as this broker");

  /* Test Connection says in words what happened. */
  g_assert_true (gtk_widget_activate_action (editor, "editor.test", NULL));
  wait_for_text (editor, "refused this client: check the user name and password");
  type_into (editor, "_Password", "farm-secret");
  g_assert_true (gtk_widget_activate_action (editor, "editor.test", NULL));
  wait_for_text (editor, "Connected to tcp://127.0.0.1:");

  /* The security check says, in words, what a stranger could do here:
   * this test broker takes passwords but no encryption and no ACL. */
  g_assert_true (gtk_widget_activate_action (editor, "editor.check", NULL));
  wait_for_text (editor, "is not encrypted");
  wait_for_text (editor, "Fine: The broker at");
  drover_test_save_screenshot (adw_window_get_content (ADW_WINDOW (preferences)), "preferences-broker");

  g_assert_true (gtk_widget_activate_action (editor, "editor.save", NULL));
  contents = wait_for_file (path, "[broker farm]");
  g_assert_nonnull (strstr (contents, "uri=tcp://127.0.0.1:"));
  g_assert_nonnull (strstr (contents, "username=drover"));
  g_assert_nonnull (strstr (contents, "verify-host-name=false"));
  g_assert_null (strstr (contents, "farm-secret"));
  g_assert_null (strstr (contents, "password"));
  secret = keyring_lookup (DROVER_SECRET_BROKER, "farm");
  g_assert_cmpstr (secret, ==, "farm-secret");
  g_free (secret);
  wait_for_text (preferences, "Broker “farm” saved");
  {
    Lookup lookup = { preferences, DROVER_TYPE_BROKER_EDITOR };

    g_assert_true (iterate_until (editor_gone, &lookup));
  }

  /* A Bambu Lab printer, its own broker, its access code in the keyring. */
  editor = open_editor (preferences, "prefs.add-printer", DROVER_TYPE_PRINTER_EDITOR);
  type_into (editor, "_Id", "x1c");
  type_into (editor, "_Name", "X1 Carbon");
  choose (editor, "_Kind", DROVER_CONNECTOR_BAMBU);
  choose (editor, "_Broker", 0);
  type_into (editor, "Seria_l Number", "01S00A000000001");
  type_into (editor, "_Address", "ssl://127.0.0.1:8883");
  type_into (editor, "Acc_ess Code", "12345678");
  g_assert_true (gtk_widget_activate_action (editor, "editor.save", NULL));
  g_free (contents);
  contents = wait_for_file (path, "[printer x1c]");
  g_assert_nonnull (strstr (contents, "name=X1 Carbon\nconnector=bambu\nuri=ssl://127.0.0.1:8883\nserial=01S00A000000001\n"));
  g_assert_null (strstr (contents, "12345678"));
  g_assert_null (strstr (contents, "access-code"));
  secret = keyring_lookup (DROVER_SECRET_PRINTER, "x1c");
  g_assert_cmpstr (secret, ==, "12345678");
  g_free (secret);

  /* An OctoPrint server on the broker: its API key goes to the keyring too. */
  editor = open_editor (preferences, "prefs.add-printer", DROVER_TYPE_PRINTER_EDITOR);
  type_into (editor, "_Id", "octo-1");
  type_into (editor, "_Name", "Prusa MK4");
  choose (editor, "_Kind", DROVER_CONNECTOR_OCTOPRINT);
  type_into (editor, "_Web Address", "http://127.0.0.1:5000");
  type_into (editor, "API _Key", "0123456789ABCDEF0123456789ABCDEF");
  g_assert_true (gtk_widget_activate_action (editor, "editor.save", NULL));
  g_free (contents);
  contents = wait_for_file (path, "[printer octo-1]");
  g_assert_nonnull (strstr (contents, "http=http://127.0.0.1:5000"));
  g_assert_null (strstr (contents, "0123456789ABCDEF"));
  g_assert_null (strstr (contents, "api-key"));
  secret = keyring_lookup (DROVER_SECRET_PRINTER, "octo-1");
  g_assert_cmpstr (secret, ==, "0123456789ABCDEF0123456789ABCDEF");
  g_free (secret);

  /* An Anycubic Kobra 3 in LAN mode: its own broker, its account; the
   * password goes to the keyring, the user name to the file. */
  editor = open_editor (preferences, "prefs.add-printer", DROVER_TYPE_PRINTER_EDITOR);
  type_into (editor, "_Id", "kobra-3");
  type_into (editor, "_Name", "Kobra 3");
  choose (editor, "_Kind", DROVER_CONNECTOR_ANYCUBIC);
  choose (editor, "_Broker", 0);
  type_into (editor, "_Device Id", "9347a110c5423fe412ce45533bfc10e6");
  type_into (editor, "_Address", "ssl://127.0.0.1:9883");
  type_into (editor, "_User Name", "userIvQ3mFvK");
  type_into (editor, "Pass_word", "kobra-secret");
  g_assert_true (gtk_widget_activate_action (editor, "editor.save", NULL));
  g_free (contents);
  contents = wait_for_file (path, "[printer kobra-3]");
  g_assert_nonnull (strstr (contents, "username=userIvQ3mFvK"));
  g_assert_null (strstr (contents, "kobra-secret"));
  secret = keyring_lookup (DROVER_SECRET_PRINTER, "kobra-3");
  g_assert_cmpstr (secret, ==, "kobra-secret");
  g_free (secret);

  /* A Klipper printer on the broker. */
  editor = open_editor (preferences, "prefs.add-printer", DROVER_TYPE_PRINTER_EDITOR);
  type_into (editor, "_Id", "k-1");
  type_into (editor, "_Name", "Voron");
  type_into (editor, "_Moonraker Instance", "voron-1");
  g_assert_true (gtk_widget_activate_action (editor, "editor.save", NULL));
  g_free (contents);
  contents = wait_for_file (path, "[printer k-1]");
  g_assert_nonnull (strstr (contents, "[printer k-1]\nname=Voron\nconnector=moonraker\nbroker=farm\ninstance=voron-1\n"));

  /* A wrong entry is refused with a reason, and nothing is written. */
  editor = open_editor (preferences, "prefs.add-printer", DROVER_TYPE_PRINTER_EDITOR);
  type_into (editor, "_Id", "k-1");
  g_assert_true (gtk_widget_activate_action (editor, "editor.save", NULL));
  wait_for_text (preferences, "The farm already has a printer with the id “k-1”.");
  g_assert_true (gtk_widget_activate_action (editor, "editor.cancel", NULL));

  /* Renaming the broker moves its password and its printers. */
  {
    TextWait password_loaded = { NULL, "farm-secret" };

    activate_row (preferences, "farm");
    {
      Lookup lookup = { preferences, DROVER_TYPE_BROKER_EDITOR };

      g_assert_true (iterate_until (editor_shown, &lookup));
    }
    editor = find_of_type (preferences, DROVER_TYPE_BROKER_EDITOR);
    password_loaded.widget = find_row (editor, "_Password");
    g_assert_true (iterate_until (editable_is, &password_loaded));
    type_into (editor, "_Name", "hall");
    g_assert_true (gtk_widget_activate_action (editor, "editor.save", NULL));
    g_free (contents);
    contents = wait_for_file (path, "[broker hall]");
    g_assert_null (strstr (contents, "[broker farm]"));
    g_assert_nonnull (strstr (contents, "broker=hall"));
    secret = keyring_lookup (DROVER_SECRET_BROKER, "hall");
    g_assert_cmpstr (secret, ==, "farm-secret");
    g_free (secret);
    secret = keyring_lookup (DROVER_SECRET_BROKER, "farm");
    g_assert_cmpstr (secret, ==, "(none)");
    g_free (secret);
  }

  /* A CSV list: all of it, said in a toast. */
  {
    g_autoptr(GFile) csv = g_file_new_for_path (csv_path);
    g_autoptr(GFile) bad_csv = g_file_new_for_path (bad_csv_path);
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;

    g_assert_true (g_file_set_contents (csv_path,
                                        "id,name,connector,broker,instance\n"
                                        "k-2,\"Voron, second\",moonraker,hall,voron-2\n"
                                        "k-3,Ender,moonraker,hall,\n"
                                        "n-1,Native,native,hall,\n", -1, NULL));
    drover_preferences_window_import_csv_file (DROVER_PREFERENCES_WINDOW (preferences), csv);
    wait_for_text (preferences, "Added 3 printers");
    adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (preferences), "printers");
    drover_test_save_screenshot (adw_window_get_content (ADW_WINDOW (preferences)), "preferences-printers");
    g_free (contents);
    contents = wait_for_file (path, "[printer n-1]");
    g_assert_nonnull (strstr (contents, "name=Voron, second"));

    /* A bad line: nothing imported, the line named. */
    g_assert_true (g_file_set_contents (bad_csv_path,
                                        "id,name,connector,broker\n"
                                        "k-4,Fine,moonraker,hall\n"
                                        "k-5,Broken,toaster,hall\n", -1, NULL));
    g_assert_true (g_file_get_contents (path, &before, NULL, NULL));
    drover_preferences_window_import_csv_file (DROVER_PREFERENCES_WINDOW (preferences), bad_csv);
    wait_for_text (preferences, "Nothing was imported from bad.csv. Line 3: Printer “k-5” needs");
    g_assert_true (g_file_get_contents (path, &after, NULL, NULL));
    g_assert_cmpstr (after, ==, before);
  }

  /* Removing asks first: Cancel keeps the printer, Remove takes it out. */
  {
    Lookup lookup = { preferences, DROVER_TYPE_PRINTER_EDITOR };
    AdwMessageDialog *dialog;

    activate_row (preferences, "Ender");
    g_assert_true (iterate_until (editor_shown, &lookup));
    editor = find_of_type (preferences, DROVER_TYPE_PRINTER_EDITOR);

    g_assert_true (gtk_widget_activate_action (editor, "editor.remove", NULL));
    g_assert_true (iterate_until (message_dialog_shown, NULL));
    dialog = ADW_MESSAGE_DIALOG (drover_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG));
    g_assert_nonnull (strstr (adw_message_dialog_get_heading (dialog), "k-3"));
    adw_message_dialog_response (dialog, "cancel");
    gtk_window_destroy (GTK_WINDOW (dialog));
    g_free (contents);
    g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
    g_assert_nonnull (strstr (contents, "[printer k-3]"));

    g_assert_true (gtk_widget_activate_action (editor, "editor.remove", NULL));
    g_assert_true (iterate_until (message_dialog_shown, NULL));
    dialog = ADW_MESSAGE_DIALOG (drover_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG));
    adw_message_dialog_response (dialog, "remove");
    gtk_window_destroy (GTK_WINDOW (dialog));
    wait_for_text (preferences, "Printer “k-3” removed");
    g_free (contents);
    g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
    g_assert_null (strstr (contents, "[printer k-3]"));
  }

  /* Whatever happened, no secret ever reached the file. */
  g_free (contents);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_null (strstr (contents, "farm-secret"));
  g_assert_null (strstr (contents, "wrong-secret"));
  g_assert_null (strstr (contents, "12345678"));

  gtk_window_destroy (GTK_WINDOW (preferences));
  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_unlink (passwords);
  g_unlink (csv_path);
  g_unlink (bad_csv_path);
  g_rmdir (dir);
}

/* A farm file Drover cannot read is never overwritten from Preferences. */
static void
test_preferences_broken_farm (void)
{
  g_autofree char *path = drover_application_dup_farm_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *after = NULL;
  static const char broken[] = "[printer p-1]\nconnector=moonraker\nbroker=nowhere\n";
  GtkWidget *preferences;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, broken, -1, NULL));

  preferences = drover_preferences_window_new (NULL, path);
  gtk_window_present (GTK_WINDOW (preferences));
  wait_for_text (preferences, "uses broker “nowhere”");
  wait_for_text (preferences, "Preferences will not overwrite it");
  g_assert_null (drover_preferences_window_get_inventory (DROVER_PREFERENCES_WINDOW (preferences)));
  g_assert_false (gtk_widget_activate_action (preferences, "prefs.add-broker", NULL) &&
                  find_of_type (preferences, DROVER_TYPE_BROKER_EDITOR) != NULL);

  gtk_window_destroy (GTK_WINDOW (preferences));
  g_assert_true (g_file_get_contents (path, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, broken);
  g_unlink (path);
}

static gboolean
is_revoke_button (GtkWidget *widget)
{
  return GTK_IS_BUTTON (widget) && gtk_widget_get_visible (widget) &&
         g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (widget)), "prefs.revoke-key") == 0;
}

static GtkWidget *
find_revoke_button (GtkWidget *widget)
{
  if (is_revoke_button (widget))
    return widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_revoke_button (child);

      if (found != NULL)
        return found;
    }

  return NULL;
}

static void
run_minisign (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) process = NULL;

  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error);
  g_assert_no_error (error);
  g_output_stream_close (g_subprocess_get_stdin_pipe (process), NULL, NULL);
  g_assert_true (g_subprocess_wait_check (process, NULL, &error));
  g_assert_no_error (error);
}

static gboolean
has_size (gpointer widget)
{
  return gtk_widget_get_mapped (widget) && gtk_widget_get_width (widget) > 0 && gtk_widget_get_height (widget) > 0;
}

static AdwMessageDialog *
wait_for_message_dialog (void)
{
  g_assert_true (iterate_until (message_dialog_shown, NULL));

  return ADW_MESSAGE_DIALOG (drover_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG));
}

static void
answer (AdwMessageDialog *dialog,
        const char       *response)
{
  adw_message_dialog_response (dialog, response);
  gtk_window_destroy (GTK_WINDOW (dialog));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* Signing: a key from minisign's .pub file, named, trusted and saved; then
 * revoked, after a question whose default is Cancel. */
static void
test_preferences_trusted_keys (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("drover-prefs-keys-XXXXXX", &error);
  g_autofree char *public_path = g_build_filename (dir, "alice.pub", NULL);
  g_autofree char *secret_path = g_build_filename (dir, "alice.key", NULL);
  g_autofree char *not_a_key = g_build_filename (dir, "notes.pub", NULL);
  g_autofree char *minisign = g_find_program_in_path ("minisign");
  g_autofree char *store_path = drover_trust_store_dup_default_path ();
  g_autofree char *farm_path = drover_application_dup_farm_path ();
  g_autofree char *key_id = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *group = NULL;
  AdwMessageDialog *dialog;
  GtkWidget *preferences;
  GtkWidget *entry;
  GtkWidget *button;

  g_assert_no_error (error);
  if (minisign == NULL)
    {
      g_test_skip ("minisign is not installed (apt install minisign)");
      return;
    }

  run_minisign ((const char * const[]) { minisign, "-G", "-W", "-p", public_path, "-s", secret_path, NULL });
  {
    g_autoptr(DroverPublicKey) key = drover_public_key_new_from_file (public_path, &error);

    g_assert_no_error (error);
    key_id = drover_public_key_dup_id (key);
  }

  preferences = drover_preferences_window_new (NULL, farm_path);
  adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (preferences), "signing");
  gtk_window_present (GTK_WINDOW (preferences));
  wait_for_text (preferences, "No trusted keys yet");
  wait_for_text (preferences, store_path);

  /* Not a key: said in words, nothing asked. */
  g_assert_true (g_file_set_contents (not_a_key, "remember to buy filament\n", -1, NULL));
  g_assert_true (gtk_widget_activate_action (preferences, "prefs.add-key-file", "s", not_a_key));
  wait_for_text (preferences, "notes.pub is not a minisign public key");
  g_assert_null (drover_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG));

  /* The key: the dialog names it and asks who signs with it. */
  g_assert_true (gtk_widget_activate_action (preferences, "prefs.add-key-file", "s", public_path));
  dialog = wait_for_message_dialog ();
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), key_id));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "alice.pub"));
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "add"));
  entry = find_of_type (GTK_WIDGET (dialog), GTK_TYPE_EDITABLE);
  g_assert_nonnull (entry);
  gtk_editable_set_text (GTK_EDITABLE (entry), "  Alice (slicer PC) ");
  g_assert_true (adw_message_dialog_get_response_enabled (dialog, "add"));
  g_assert_true (iterate_until (has_size, dialog));
  drover_test_save_screenshot (GTK_WIDGET (dialog), "preferences-trust-key");
  answer (dialog, "add");

  wait_for_text (preferences, "Jobs signed by “Alice (slicer PC)” are trusted");
  wait_for_text (preferences, "Alice (slicer PC)\n");
  wait_for_text (preferences, key_id);
  group = g_strdup_printf ("[key %s]", key_id);
  g_free (wait_for_file (store_path, group));
  contents = wait_for_file (store_path, "name=Alice (slicer PC)\n");
  g_assert_null (strstr (contents, "revoked="));
  drover_test_save_screenshot (adw_window_get_content (ADW_WINDOW (preferences)), "preferences-signing");

  /* Twice: refused before a name is asked. */
  g_assert_true (gtk_widget_activate_action (preferences, "prefs.add-key-file", "s", public_path));
  wait_for_text (preferences, "is already trusted, as “Alice (slicer PC)”");
  g_assert_null (drover_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG));

  /* Revoking asks first; Cancel is the default and changes nothing. */
  button = find_revoke_button (preferences);
  g_assert_nonnull (button);
  gtk_widget_activate (button);
  dialog = wait_for_message_dialog ();
  g_assert_nonnull (strstr (adw_message_dialog_get_heading (dialog), "Alice (slicer PC)"));
  g_assert_cmpstr (adw_message_dialog_get_default_response (dialog), ==, "cancel");
  answer (dialog, "cancel");
  g_free (contents);
  g_assert_true (g_file_get_contents (store_path, &contents, NULL, NULL));
  g_assert_null (strstr (contents, "revoked="));

  button = find_revoke_button (preferences);
  gtk_widget_activate (button);
  dialog = wait_for_message_dialog ();
  answer (dialog, "revoke");
  wait_for_text (preferences, "Revoked\n");
  wait_for_text (preferences, "its jobs are refused");
  g_free (contents);
  contents = wait_for_file (store_path, "revoked=");
  g_assert_null (find_revoke_button (preferences));
  drover_test_save_screenshot (adw_window_get_content (ADW_WINDOW (preferences)), "preferences-signing-revoked");

  /* A revoked key stays revoked. */
  g_assert_true (gtk_widget_activate_action (preferences, "prefs.add-key-file", "s", public_path));
  wait_for_text (preferences, "was revoked and cannot be trusted again");

  gtk_window_destroy (GTK_WINDOW (preferences));
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_unlink (public_path);
  g_unlink (secret_path);
  g_unlink (not_a_key);
  g_unlink (store_path);
  g_rmdir (dir);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }

  g_rmdir (path);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *home = NULL;
  int status;

  if (!drover_test_display_ensure (&error))
    g_error ("No display for the UI tests: %s", error->message);

  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);

  home = drover_test_isolate_user_dirs ("preferences");
  gtk_test_init (&argc, &argv, NULL);
  g_assert_true (drover_core_init (NULL));

  /* Before anything talks to the session bus: it is the keyring's. */
  keyring = drover_test_keyring_start (&error);
  if (keyring == NULL)
    g_error ("No keyring for the tests: %s", error->message);

  app = drover_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);

  g_test_add_func ("/preferences/farm", test_preferences_farm);
  g_test_add_func ("/preferences/broken-farm", test_preferences_broken_farm);
  g_test_add_func ("/preferences/trusted-keys", test_preferences_trusted_keys);

  status = g_test_run ();

  g_clear_object (&app);
  g_clear_pointer (&keyring, drover_test_keyring_free);
  drover_test_display_stop ();
  remove_tree (home);

  return status;
}
