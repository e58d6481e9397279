/* sim-mqtt.h: one MQTT connection of the simulator
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _SimMqtt SimMqtt;

typedef void (*SimMqttMessageFunc) (const char *topic,
                                    GBytes     *payload,
                                    gboolean    retained,
                                    gpointer    user_data);
typedef void (*SimMqttConnectedFunc) (SimMqtt  *mqtt,
                                      gpointer  user_data);

typedef struct
{
  const char *uri;            /* tcp://127.0.0.1:1883, ssl://… */
  const char *client_id;
  const char *username;
  const char *password;
  const char *ca_file;        /* for ssl:// */
  gboolean    mqtt5;
  const char *will_topic;
  const char *will_payload;
  gboolean    will_retained;
  int         will_qos;
  int         keepalive;      /* seconds */
} SimMqttOptions;

SimMqtt  *sim_mqtt_new            (const SimMqttOptions  *options,
                                   SimMqttMessageFunc     message_func,
                                   SimMqttConnectedFunc   connected_func,
                                   gpointer               user_data,
                                   GError               **error);
void      sim_mqtt_subscribe      (SimMqtt               *self,
                                   const char            *filter,
                                   int                    qos);
gboolean  sim_mqtt_publish        (SimMqtt               *self,
                                   const char            *topic,
                                   const char            *payload,
                                   gssize                 length,
                                   int                    qos,
                                   gboolean               retained);
gboolean  sim_mqtt_is_connected   (SimMqtt               *self);
void      sim_mqtt_set_paused     (SimMqtt               *self,
                                   gboolean               paused);
void      sim_mqtt_drop           (SimMqtt               *self);
void      sim_mqtt_disconnect     (SimMqtt               *self);
void      sim_mqtt_reconnect      (SimMqtt               *self);
guint64   sim_mqtt_get_n_published (SimMqtt              *self);
void      sim_mqtt_free           (SimMqtt               *self);

G_END_DECLS
