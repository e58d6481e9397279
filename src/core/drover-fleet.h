/* drover-fleet.h: every printer Drover watches, as a list model
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "drover-printer.h"

G_BEGIN_DECLS

#define DROVER_TYPE_FLEET (drover_fleet_get_type ())

G_DECLARE_FINAL_TYPE (DroverFleet, drover_fleet, DROVER, FLEET, GObject)

DroverFleet   *drover_fleet_new               (void);
gboolean       drover_fleet_add_printer       (DroverFleet         *self,
                                               DroverPrinter       *printer);
guint          drover_fleet_add_printers      (DroverFleet         *self,
                                               DroverPrinter      **printers,
                                               guint                n_printers);
gboolean       drover_fleet_remove_printer    (DroverFleet         *self,
                                               const char          *id);
void           drover_fleet_remove_all        (DroverFleet         *self);
DroverPrinter *drover_fleet_find_printer      (DroverFleet         *self,
                                               const char          *id);
guint          drover_fleet_get_n_printers    (DroverFleet         *self);
guint          drover_fleet_count_in_state    (DroverFleet         *self,
                                               DroverPrinterState   state);

G_END_DECLS
