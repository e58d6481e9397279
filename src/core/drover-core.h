/* drover-core.h: the UI-free heart of Drover
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "drover-enums.h"
#include "drover-enum-types.h"
#include "drover-demo.h"
#include "drover-fleet.h"
#include "drover-format.h"
#include "drover-printer.h"

G_BEGIN_DECLS

gboolean  drover_core_init                  (GError **error);
char     *drover_core_dup_library_versions  (void);

G_END_DECLS
