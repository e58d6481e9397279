/* drover-demo-farm.h: a private broker and drover-sim, for the demo
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "drover-farm.h"

G_BEGIN_DECLS

#define DROVER_TYPE_DEMO_FARM (drover_demo_farm_get_type ())

G_DECLARE_FINAL_TYPE (DroverDemoFarm, drover_demo_farm, DROVER, DEMO_FARM, GObject)

DroverDemoFarm *drover_demo_farm_new          (guint                 n_printers);
void            drover_demo_farm_start_async  (DroverDemoFarm       *self,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
DroverInventory *drover_demo_farm_start_finish (DroverDemoFarm      *self,
                                                GAsyncResult        *result,
                                                GError             **error);
void            drover_demo_farm_stop         (DroverDemoFarm       *self);
const char     *drover_demo_farm_get_broker_uri (DroverDemoFarm     *self);
gboolean        drover_demo_farm_send_control (DroverDemoFarm       *self,
                                               const char           *line,
                                               GError              **error);
char           *drover_demo_farm_find_program (const char           *name);

G_END_DECLS
