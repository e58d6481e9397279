/* drover-printer.h: one printer's live state
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

#include "drover-enums.h"
#include "drover-enum-types.h"

G_BEGIN_DECLS

#define DROVER_TYPE_PRINTER (drover_printer_get_type ())

G_DECLARE_FINAL_TYPE (DroverPrinter, drover_printer, DROVER, PRINTER, GObject)

DroverPrinter       *drover_printer_new                 (const char          *id,
                                                         DroverConnectorKind  connector);
const char          *drover_printer_get_id              (DroverPrinter       *self);
DroverConnectorKind  drover_printer_get_connector       (DroverPrinter       *self);
const char          *drover_printer_get_display_name    (DroverPrinter       *self);
void                 drover_printer_set_display_name    (DroverPrinter       *self,
                                                         const char          *display_name);
DroverPrinterState   drover_printer_get_state           (DroverPrinter       *self);
void                 drover_printer_set_state           (DroverPrinter       *self,
                                                         DroverPrinterState   state);
double               drover_printer_get_hotend_temperature (DroverPrinter    *self);
void                 drover_printer_set_hotend_temperature (DroverPrinter    *self,
                                                            double            celsius);
double               drover_printer_get_hotend_target   (DroverPrinter       *self);
void                 drover_printer_set_hotend_target   (DroverPrinter       *self,
                                                         double               celsius);
double               drover_printer_get_bed_temperature (DroverPrinter       *self);
void                 drover_printer_set_bed_temperature (DroverPrinter       *self,
                                                         double               celsius);
double               drover_printer_get_bed_target      (DroverPrinter       *self);
void                 drover_printer_set_bed_target      (DroverPrinter       *self,
                                                         double               celsius);
double               drover_printer_get_progress        (DroverPrinter       *self);
void                 drover_printer_set_progress        (DroverPrinter       *self,
                                                         double               progress);
gint64               drover_printer_get_time_left       (DroverPrinter       *self);
void                 drover_printer_set_time_left       (DroverPrinter       *self,
                                                         gint64               seconds);
const char          *drover_printer_get_current_file    (DroverPrinter       *self);
void                 drover_printer_set_current_file    (DroverPrinter       *self,
                                                         const char          *file_name);
const char          *drover_printer_get_error_text      (DroverPrinter       *self);
void                 drover_printer_set_error_text      (DroverPrinter       *self,
                                                         const char          *error_text);
const char          *drover_printer_get_security_note   (DroverPrinter       *self);
void                 drover_printer_set_security_note   (DroverPrinter       *self,
                                                         const char          *note);
GDateTime           *drover_printer_get_last_seen       (DroverPrinter       *self);
void                 drover_printer_set_last_seen       (DroverPrinter       *self,
                                                         GDateTime           *when);

const char          *drover_printer_state_to_string     (DroverPrinterState   state);
const char          *drover_printer_state_get_icon_name (DroverPrinterState   state);
const char          *drover_connector_kind_to_string    (DroverConnectorKind  connector);

G_END_DECLS
