/* drover-http-transport.h: jobs uploaded to Moonraker or OctoPrint
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <libsoup/soup.h>

#include "drover-enums.h"
#include "drover-transport.h"

G_BEGIN_DECLS

#define DROVER_TYPE_HTTP_TRANSPORT (drover_http_transport_get_type ())

G_DECLARE_FINAL_TYPE (DroverHttpTransport, drover_http_transport, DROVER, HTTP_TRANSPORT, GObject)

DroverHttpTransport *drover_http_transport_new (SoupSession         *session,
                                                DroverConnectorKind  connector,
                                                const char          *base_url,
                                                const char          *api_key);

G_END_DECLS
