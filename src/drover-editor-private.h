/* drover-editor-private.h: what the broker and printer editors share
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

char            *_drover_editor_dup_text       (AdwEntryRow *row);
void             _drover_editor_close_subpage  (GtkWidget   *editor);
GtkNativeDialog *_drover_editor_choose_ca_file (GtkWidget   *editor,
                                                const char  *title,
                                                GCallback    response_cb);
char            *_drover_editor_dup_chosen_path (GtkNativeDialog *chooser,
                                                 int              response);

void             _drover_editor_show_testing   (GtkSpinner      *spinner);
void             _drover_editor_show_tested    (GtkSpinner      *spinner,
                                                AdwActionRow    *row,
                                                const char      *result);

G_END_DECLS
