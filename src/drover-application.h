/* drover-application.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "drover-core.h"

G_BEGIN_DECLS

#define DROVER_TYPE_APPLICATION (drover_application_get_type ())

G_DECLARE_FINAL_TYPE (DroverApplication, drover_application, DROVER, APPLICATION, AdwApplication)

DroverApplication *drover_application_new               (void);
DroverFleet       *drover_application_get_fleet         (DroverApplication    *self);
void               drover_application_start_demo_async  (DroverApplication    *self,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
gboolean           drover_application_start_demo_finish (DroverApplication    *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);
void               drover_application_stop_demo         (DroverApplication    *self);
void               drover_application_open_farm_async   (DroverApplication    *self,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
gboolean           drover_application_open_farm_finish  (DroverApplication    *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);
gboolean           drover_application_get_farm_is_demo  (DroverApplication    *self);
char              *drover_application_dup_farm_path     (void);
gboolean           drover_application_get_demo_running  (DroverApplication    *self);
DroverDemoFarm    *drover_application_get_demo          (DroverApplication    *self);
DroverFarm        *drover_application_get_farm          (DroverApplication    *self);
DroverAudit       *drover_application_get_audit         (DroverApplication    *self);
const char        *drover_application_get_ledger_error  (DroverApplication    *self);

G_END_DECLS
