/* drover-printer-editor.h: a printer's settings, in a page of Preferences
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "drover-core.h"

G_BEGIN_DECLS

#define DROVER_TYPE_PRINTER_EDITOR (drover_printer_editor_get_type ())

G_DECLARE_FINAL_TYPE (DroverPrinterEditor, drover_printer_editor, DROVER, PRINTER_EDITOR, GtkBox)

GtkWidget          *drover_printer_editor_new                     (const DroverPrinterEntry *entry,
                                                                   GPtrArray                *brokers);
const char         *drover_printer_editor_get_old_id              (DroverPrinterEditor      *self);
DroverPrinterEntry *drover_printer_editor_dup_entry               (DroverPrinterEditor      *self);
const char         *drover_printer_editor_get_access_code         (DroverPrinterEditor      *self);
gboolean            drover_printer_editor_get_access_code_changed (DroverPrinterEditor      *self);
gboolean            drover_printer_editor_get_had_access_code     (DroverPrinterEditor      *self);
void                drover_printer_editor_set_busy                (DroverPrinterEditor      *self,
                                                                   gboolean                  busy);

G_END_DECLS
