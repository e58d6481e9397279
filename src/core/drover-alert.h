/* drover-alert.h: something an operator should see, with its evidence
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

#include "drover-enums.h"

G_BEGIN_DECLS

#define DROVER_TYPE_ALERT (drover_alert_get_type ())

G_DECLARE_FINAL_TYPE (DroverAlert, drover_alert, DROVER, ALERT, GObject)

DroverAlert          *drover_alert_new                  (const char           *id,
                                                         const char           *subject,
                                                         gint64                created_us);
const char           *drover_alert_get_id               (DroverAlert          *self);
const char           *drover_alert_get_subject          (DroverAlert          *self);
const char           *drover_alert_get_title            (DroverAlert          *self);
void                  drover_alert_set_title            (DroverAlert          *self,
                                                         const char           *title);
DroverAlertSeverity   drover_alert_get_severity         (DroverAlert          *self);
gboolean              drover_alert_raise_severity       (DroverAlert          *self,
                                                         DroverAlertSeverity   severity);
gint64                drover_alert_get_created          (DroverAlert          *self);
gint64                drover_alert_get_updated          (DroverAlert          *self);
const char * const   *drover_alert_get_printers         (DroverAlert          *self);
guint                 drover_alert_get_n_printers       (DroverAlert          *self);
gboolean              drover_alert_has_printer          (DroverAlert          *self,
                                                         const char           *printer_id);
gboolean              drover_alert_add_printer          (DroverAlert          *self,
                                                         const char           *printer_id);
const char * const   *drover_alert_get_evidence         (DroverAlert          *self);
gboolean              drover_alert_add_evidence         (DroverAlert          *self,
                                                         const char           *sentence);
gboolean              drover_alert_get_incident         (DroverAlert          *self);
gboolean              drover_alert_get_acknowledged     (DroverAlert          *self);
const char           *drover_alert_get_acknowledged_by  (DroverAlert          *self);
void                  drover_alert_acknowledge          (DroverAlert          *self,
                                                         const char           *operator_name);
char                 *drover_alert_to_json              (DroverAlert          *self);
DroverAlert          *drover_alert_new_from_json        (const char           *json);

G_END_DECLS
