/* drover-farm.h: an inventory brought to life
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "drover-audit.h"
#include "drover-fleet.h"
#include "drover-transport.h"
#include "drover-inventory.h"
#include "drover-telemetry.h"

G_BEGIN_DECLS

#define DROVER_TYPE_FARM (drover_farm_get_type ())

G_DECLARE_FINAL_TYPE (DroverFarm, drover_farm, DROVER, FARM, GObject)

/**
 * DroverPrinterAction:
 * @DROVER_PRINTER_ACTION_PAUSE: pause the job
 * @DROVER_PRINTER_ACTION_RESUME: resume it
 * @DROVER_PRINTER_ACTION_CANCEL: cancel it
 * @DROVER_PRINTER_ACTION_HEATERS_OFF: set every heater's target to 0
 */
typedef enum
{
  DROVER_PRINTER_ACTION_PAUSE,
  DROVER_PRINTER_ACTION_RESUME,
  DROVER_PRINTER_ACTION_CANCEL,
  DROVER_PRINTER_ACTION_HEATERS_OFF,
} DroverPrinterAction;

DroverFarm      *drover_farm_new           (DroverFleet      *fleet,
                                            DroverInventory  *inventory);
gboolean         drover_farm_start         (DroverFarm       *self,
                                            GError          **error);
void             drover_farm_stop          (DroverFarm       *self);
void             drover_farm_set_audit     (DroverFarm       *self,
                                            DroverAudit      *audit);
DroverTransport *drover_farm_dup_transport (DroverFarm       *self,
                                            const char       *printer_id);
void             drover_farm_control_async  (DroverFarm          *self,
                                             const char          *printer_id,
                                             DroverPrinterAction  action,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
gboolean         drover_farm_control_finish (DroverFarm          *self,
                                             GAsyncResult        *result,
                                             GError             **error);
void             drover_farm_delete_file_async  (DroverFarm          *self,
                                                 const char          *printer_id,
                                                 const char          *name,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
void             drover_farm_upload_file_async  (DroverFarm          *self,
                                                 const char          *printer_id,
                                                 const char          *name,
                                                 GBytes              *content,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
gboolean         drover_farm_upload_file_finish (DroverFarm          *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);
gboolean         drover_farm_delete_file_finish (DroverFarm          *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);
GPtrArray       *drover_farm_get_links     (DroverFarm       *self);
DroverTelemetry *drover_farm_get_telemetry (DroverFarm       *self);
DroverPrinterEntry *drover_farm_find_entry (DroverFarm       *self,
                                            const char       *printer_id);
DroverMqttLink  *drover_farm_find_link     (DroverFarm       *self,
                                            const char       *printer_id);

G_END_DECLS
