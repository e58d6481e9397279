/* drover-window.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "drover-application.h"

G_BEGIN_DECLS

#define DROVER_TYPE_WINDOW (drover_window_get_type ())

G_DECLARE_FINAL_TYPE (DroverWindow, drover_window, DROVER, WINDOW, AdwApplicationWindow)

DroverWindow *drover_window_new                   (DroverApplication *application);
DroverFleet  *drover_window_get_fleet             (DroverWindow      *self);
const char   *drover_window_get_visible_page_name (DroverWindow      *self);
guint         drover_window_get_n_shown           (DroverWindow      *self);

G_END_DECLS
