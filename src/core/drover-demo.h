/* drover-demo.h: the demo farm shown before a farm is configured
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "drover-fleet.h"

G_BEGIN_DECLS

guint drover_demo_populate_fleet (DroverFleet *fleet);

G_END_DECLS
