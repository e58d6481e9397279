/* drover-decode.h: each dialect's messages, read
 *
 * One function per dialect. Each takes a topic and the payload's bytes
 * and says which printer the message is about (by the key the inventory
 * uses for that dialect) and what it says. They run on Paho's threads:
 * no GObject, no main context, nothing shared.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "drover-update.h"

G_BEGIN_DECLS

/* @key: (out): the printer's key: the native id, the Moonraker instance,
 * the OctoPrint instance under the base topic, the Bambu serial, the
 * Anycubic device id. */
typedef DroverDecodeStatus (*DroverDecodeFunc) (const char    *topic,
                                                const guint8  *payload,
                                                gsize          length,
                                                char         **key,
                                                DroverUpdate  *update);

DroverDecodeStatus drover_decode_native    (const char    *topic,
                                            const guint8  *payload,
                                            gsize          length,
                                            char         **key,
                                            DroverUpdate  *update);
DroverDecodeStatus drover_decode_moonraker (const char    *topic,
                                            const guint8  *payload,
                                            gsize          length,
                                            char         **key,
                                            DroverUpdate  *update);
DroverDecodeStatus drover_decode_octoprint (const char    *topic,
                                            const guint8  *payload,
                                            gsize          length,
                                            char         **key,
                                            DroverUpdate  *update);
DroverDecodeStatus drover_decode_bambu     (const char    *topic,
                                            const guint8  *payload,
                                            gsize          length,
                                            char         **key,
                                            DroverUpdate  *update);
DroverDecodeStatus drover_decode_anycubic  (const char    *topic,
                                            const guint8  *payload,
                                            gsize          length,
                                            char         **key,
                                            DroverUpdate  *update);

DroverDecodeStatus drover_decode_octoprint_job (const guint8 *payload,
                                                gsize         length,
                                                DroverUpdate *update);

G_END_DECLS
