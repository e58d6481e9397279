/* drover-core.h: the UI-free heart of Drover
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "drover-enums.h"
#include "drover-enum-types.h"
#include "drover-alert.h"
#include "drover-audit.h"
#include "drover-broker-check.h"
#include "drover-connection-test.h"
#include "drover-decode.h"
#include "drover-demo-farm.h"
#include "drover-dispatch.h"
#include "drover-dispatch-target.h"
#include "drover-event.h"
#include "drover-farm.h"
#include "drover-file-item.h"
#include "drover-fleet.h"
#include "drover-format.h"
#include "drover-http-transport.h"
#include "drover-job.h"
#include "drover-gcode-scan.h"
#include "drover-inventory.h"
#include "drover-ledger.h"
#include "drover-manifest.h"
#include "drover-minisign.h"
#include "drover-mqtt-link.h"
#include "drover-mqtt-transport.h"
#include "drover-printer.h"
#include "drover-secrets.h"
#include "drover-serial.h"
#include "drover-serial-transport.h"
#include "drover-telemetry.h"
#include "drover-transport.h"
#include "drover-trust-store.h"
#include "drover-update.h"

G_BEGIN_DECLS

gboolean  drover_core_init                  (GError **error);
char     *drover_core_dup_library_versions  (void);

G_END_DECLS
