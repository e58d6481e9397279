/* drover-telemetry.h: messages in, printers updated
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "drover-fleet.h"
#include "drover-mqtt-link.h"
#include "drover-update.h"

G_BEGIN_DECLS

#define DROVER_TYPE_TELEMETRY (drover_telemetry_get_type ())

G_DECLARE_FINAL_TYPE (DroverTelemetry, drover_telemetry, DROVER, TELEMETRY, GObject)

typedef struct
{
  guint64 received;
  guint64 decoded;
  guint64 ignored;
  guint64 malformed;
  guint64 oversized;
  guint64 unknown_printer;
  guint64 applied;        /* merged updates applied to printers */
  guint64 flushes;
} DroverTelemetryCounts;

DroverTelemetry *drover_telemetry_new                 (DroverFleet           *fleet);
void             drover_telemetry_add_route           (DroverTelemetry       *self,
                                                       DroverConnectorKind    connector,
                                                       const char            *key,
                                                       const char            *printer_id);
void             drover_telemetry_attach_link         (DroverTelemetry       *self,
                                                       DroverMqttLink        *link);
void             drover_telemetry_queue_event         (DroverTelemetry       *self,
                                                       const char            *printer_id,
                                                       DroverEvent           *event);
void             drover_telemetry_feed                (DroverTelemetry       *self,
                                                       const char            *topic,
                                                       const guint8          *payload,
                                                       gsize                  length);
void             drover_telemetry_flush               (DroverTelemetry       *self);
void             drover_telemetry_queue_update        (DroverTelemetry       *self,
                                                       const char            *printer_id,
                                                       const DroverUpdate    *update);
void             drover_telemetry_get_counts          (DroverTelemetry       *self,
                                                       DroverTelemetryCounts *counts);
void             drover_telemetry_set_offline_timeout (DroverTelemetry       *self,
                                                       guint                  seconds);
void             drover_telemetry_check_offline       (DroverTelemetry       *self,
                                                       GDateTime             *now);
gboolean         drover_telemetry_dup_last_message    (DroverTelemetry       *self,
                                                       const char            *printer_id,
                                                       char                 **topic,
                                                       GBytes               **payload,
                                                       GDateTime            **received);

G_END_DECLS
