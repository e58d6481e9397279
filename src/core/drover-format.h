/* drover-format.h: numbers as the operator reads them, and names from
 * outside made safe to show
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *drover_format_time_left   (gint64 seconds);
char *drover_format_temperature (double actual,
                                 double target);
char *drover_format_since       (GDateTime *then,
                                 GDateTime *now);
char *drover_format_untrusted   (const char *text,
                                 guint       max_chars);

G_END_DECLS
