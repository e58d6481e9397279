/* drover-alerts-page.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "drover-core.h"

G_BEGIN_DECLS

#define DROVER_TYPE_ALERTS_PAGE (drover_alerts_page_get_type ())

G_DECLARE_FINAL_TYPE (DroverAlertsPage, drover_alerts_page, DROVER, ALERTS_PAGE, AdwBin)

GtkWidget   *drover_alerts_page_new       (void);
void         drover_alerts_page_set_fleet (DroverAlertsPage *self,
                                           DroverFleet      *fleet);
void         drover_alerts_page_set_audit (DroverAlertsPage *self,
                                           DroverAudit      *audit,
                                           DroverFarm       *farm);
DroverAudit *drover_alerts_page_get_audit (DroverAlertsPage *self);

G_END_DECLS
