/* sim-tools.h: the programs and ports drover-sim's private brokers need
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

const char *sim_tool_find  (const char  *name);
gboolean    sim_tool_run   (const char  *needed_by,
                            GError     **error,
                            ...) G_GNUC_NULL_TERMINATED;
guint16     sim_free_port  (void);
gboolean    sim_port_open  (guint16      port);

G_END_DECLS
