/* drover-serial-transport.h: jobs streamed line by line over USB serial
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "drover-ledger.h"
#include "drover-serial.h"
#include "drover-transport.h"

G_BEGIN_DECLS

#define DROVER_TYPE_SERIAL_TRANSPORT (drover_serial_transport_get_type ())

G_DECLARE_FINAL_TYPE (DroverSerialTransport, drover_serial_transport, DROVER, SERIAL_TRANSPORT, GObject)

DroverSerialTransport *drover_serial_transport_new (DroverSerialStream *stream,
                                                    DroverLedger       *ledger);

G_END_DECLS
