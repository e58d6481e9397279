/* drover-mqtt-transport.h: jobs as a native job command over MQTT
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "drover-mqtt-link.h"
#include "drover-transport.h"

G_BEGIN_DECLS

#define DROVER_TYPE_MQTT_TRANSPORT (drover_mqtt_transport_get_type ())

G_DECLARE_FINAL_TYPE (DroverMqttTransport, drover_mqtt_transport, DROVER, MQTT_TRANSPORT, GObject)

typedef void (*DroverMqttTransportNoteFunc) (const char *request_id,
                                             gpointer    user_data);

DroverMqttTransport *drover_mqtt_transport_new (DroverMqttLink             *link,
                                                const char                 *printer_key,
                                                DroverMqttTransportNoteFunc note_request,
                                                gpointer                    note_data);

G_END_DECLS
