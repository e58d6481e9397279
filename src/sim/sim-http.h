/* sim-http.h: the HTTP side of the simulated Moonraker and OctoPrint printers
 *
 * One server on a loopback port answers for every printer of the farm under
 * a prefix of its own, `http://127.0.0.1:PORT/<printer-id>/…`, as a real
 * Moonraker with `route_prefix` or an OctoPrint behind a reverse proxy
 * would. Moonraker printers get their REST API and their WebSocket,
 * OctoPrint printers their REST API. Everything runs in the main context.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "sim-farm.h"

G_BEGIN_DECLS

typedef struct _SimHttp SimHttp;

SimHttp    *sim_http_new      (SimFarm   *farm,
                               guint16    port,
                               GError   **error);
const char *sim_http_get_base (SimHttp   *self);
void        sim_http_free     (SimHttp   *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SimHttp, sim_http_free)

G_END_DECLS
