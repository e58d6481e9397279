/* drover-printer-card.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "drover-core.h"

G_BEGIN_DECLS

#define DROVER_TYPE_PRINTER_CARD (drover_printer_card_get_type ())

G_DECLARE_FINAL_TYPE (DroverPrinterCard, drover_printer_card, DROVER, PRINTER_CARD, AdwBin)

GtkWidget     *drover_printer_card_new         (void);
DroverPrinter *drover_printer_card_get_printer (DroverPrinterCard *self);
void           drover_printer_card_set_printer (DroverPrinterCard *self,
                                                DroverPrinter     *printer);

G_END_DECLS
