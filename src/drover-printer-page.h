/* drover-printer-page.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "drover-core.h"

G_BEGIN_DECLS

#define DROVER_TYPE_PRINTER_PAGE (drover_printer_page_get_type ())

G_DECLARE_FINAL_TYPE (DroverPrinterPage, drover_printer_page, DROVER, PRINTER_PAGE, AdwBin)

GtkWidget     *drover_printer_page_new         (void);
void           drover_printer_page_set_printer (DroverPrinterPage *self,
                                                DroverPrinter     *printer,
                                                DroverFarm        *farm);
DroverPrinter *drover_printer_page_get_printer (DroverPrinterPage *self);

G_END_DECLS
