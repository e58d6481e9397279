/* drover-preferences-window.h: the farm's brokers and printers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "drover-core.h"

G_BEGIN_DECLS

#define DROVER_TYPE_PREFERENCES_WINDOW (drover_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (DroverPreferencesWindow, drover_preferences_window, DROVER, PREFERENCES_WINDOW, AdwPreferencesWindow)

GtkWidget       *drover_preferences_window_new             (GtkWindow               *parent,
                                                            const char              *farm_path);
DroverInventory *drover_preferences_window_get_inventory   (DroverPreferencesWindow *self);
void             drover_preferences_window_import_csv_file (DroverPreferencesWindow *self,
                                                            GFile                   *file);

G_END_DECLS
