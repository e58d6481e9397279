/* drover-editor.c: what the broker and printer editors share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "drover-editor-private.h"

/**
 * _drover_editor_dup_text:
 *
 * Returns: (transfer full) (nullable): the row's text without surrounding
 *   blanks, or %NULL when nothing is left
 */
char *
_drover_editor_dup_text (AdwEntryRow *row)
{
  g_autofree char *text = g_strdup (gtk_editable_get_text (GTK_EDITABLE (row)));

  g_strstrip (text);
  if (text[0] == '\0')
    return NULL;

  return g_steal_pointer (&text);
}

/**
 * _drover_editor_close_subpage:
 *
 * Leaves the editor's subpage of the preferences window, if it is in one.
 */
void
_drover_editor_close_subpage (GtkWidget *editor)
{
  GtkRoot *root = gtk_widget_get_root (editor);

  if (ADW_IS_PREFERENCES_WINDOW (root))
    adw_preferences_window_close_subpage (ADW_PREFERENCES_WINDOW (root));
}

/**
 * _drover_editor_choose_ca_file:
 * @editor: the editor, which gets the chooser's response swapped
 * @title: the chooser's title
 * @response_cb: `void (*) (Editor *, int response, GtkNativeDialog *)`
 *
 * Opens a file chooser for a PEM CA certificate (GtkFileChooserNative:
 * GtkFileDialog is newer than Debian 12's GTK).
 *
 * Returns: (transfer full): the chooser, for the editor to keep and drop
 */
GtkNativeDialog *
_drover_editor_choose_ca_file (GtkWidget  *editor,
                               const char *title,
                               GCallback   response_cb)
{
  g_autoptr(GtkFileFilter) certificates = gtk_file_filter_new ();
  g_autoptr(GtkFileFilter) everything = gtk_file_filter_new ();
  GtkRoot *root = gtk_widget_get_root (editor);
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (title, GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _("_Choose"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);

  gtk_file_filter_set_name (certificates, _("PEM Certificates"));
  gtk_file_filter_add_pattern (certificates, "*.pem");
  gtk_file_filter_add_pattern (certificates, "*.crt");
  gtk_file_filter_add_pattern (certificates, "*.cer");
  gtk_file_filter_add_mime_type (certificates, "application/x-x509-ca-cert");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), certificates);
  gtk_file_filter_set_name (everything, _("All Files"));
  gtk_file_filter_add_pattern (everything, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), everything);

  g_signal_connect_object (chooser, "response", response_cb, editor, G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));

  return GTK_NATIVE_DIALOG (chooser);
}

/**
 * _drover_editor_dup_chosen_path:
 *
 * Returns: (transfer full) (nullable): the local file chosen, if accepted
 */
char *
_drover_editor_dup_chosen_path (GtkNativeDialog *chooser,
                                int              response)
{
  g_autoptr(GFile) file = NULL;

  if (response != GTK_RESPONSE_ACCEPT)
    return NULL;

  file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  if (file == NULL || g_file_peek_path (file) == NULL)
    return NULL;

  return g_file_get_path (file);
}

/**
 * _drover_editor_show_testing:
 *
 * A connection test runs: the spinner says so.
 */
void
_drover_editor_show_testing (GtkSpinner *spinner)
{
  gtk_widget_set_visible (GTK_WIDGET (spinner), TRUE);
  gtk_spinner_start (spinner);
}

/**
 * _drover_editor_show_tested:
 * @result: the test's sentence
 *
 * A connection test ended: the spinner goes, the sentence shows in @row.
 */
void
_drover_editor_show_tested (GtkSpinner   *spinner,
                            AdwActionRow *row,
                            const char   *result)
{
  gtk_spinner_stop (spinner);
  gtk_widget_set_visible (GTK_WIDGET (spinner), FALSE);
  adw_action_row_set_subtitle (row, result);
}
