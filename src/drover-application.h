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

DroverApplication *drover_application_new       (void);
DroverFleet       *drover_application_get_fleet (DroverApplication *self);

G_END_DECLS
