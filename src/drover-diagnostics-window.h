/* drover-diagnostics-window.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "drover-core.h"

G_BEGIN_DECLS

#define DROVER_TYPE_DIAGNOSTICS_WINDOW (drover_diagnostics_window_get_type ())

G_DECLARE_FINAL_TYPE (DroverDiagnosticsWindow, drover_diagnostics_window, DROVER, DIAGNOSTICS_WINDOW, AdwPreferencesWindow)

GtkWidget *drover_diagnostics_window_new (GtkWindow  *parent,
                                          DroverFarm *farm);

G_END_DECLS
