/* sim-gcode.h: G-code files for the simulated printers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

GBytes *sim_gcode_generate        (const char *name,
                                   guint       layers,
                                   double      hotend,
                                   double      bed,
                                   guint32     seed);
GBytes *sim_gcode_incident_readme (void);
GBytes *sim_gcode_incident_gcode  (void);

G_END_DECLS
