/* sim-anycubic-broker.h: the MQTT broker of an Anycubic printer in LAN mode
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _SimAnycubicBrokers SimAnycubicBrokers;

SimAnycubicBrokers *sim_anycubic_brokers_new         (gboolean             tls,
                                                      GError             **error);
gboolean            sim_anycubic_brokers_add         (SimAnycubicBrokers  *self,
                                                      const char          *device_id,
                                                      const char          *username,
                                                      const char          *password,
                                                      char               **client_uri,
                                                      char               **internal_uri,
                                                      GError             **error);
const char         *sim_anycubic_brokers_get_ca_file (SimAnycubicBrokers  *self);
gboolean            sim_anycubic_brokers_power       (SimAnycubicBrokers  *self,
                                                      const char          *device_id,
                                                      gboolean             on,
                                                      GError             **error);
void                sim_anycubic_brokers_free        (SimAnycubicBrokers  *self);

G_END_DECLS
