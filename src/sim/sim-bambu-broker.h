/* sim-bambu-broker.h: a Bambu Lab printer's own MQTT broker
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _SimBambuBrokers SimBambuBrokers;

SimBambuBrokers *sim_bambu_brokers_new         (guint             max_clients,
                                                GError          **error);
gboolean         sim_bambu_brokers_add         (SimBambuBrokers  *self,
                                                const char       *serial,
                                                const char       *access_code,
                                                char            **tls_uri,
                                                char            **internal_uri,
                                                GError          **error);
const char      *sim_bambu_brokers_get_ca_file (SimBambuBrokers  *self);
gboolean         sim_bambu_brokers_power       (SimBambuBrokers  *self,
                                                const char       *serial,
                                                gboolean          on,
                                                GError          **error);
void             sim_bambu_brokers_free        (SimBambuBrokers  *self);

G_END_DECLS
