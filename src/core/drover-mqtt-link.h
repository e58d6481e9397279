/* drover-mqtt-link.h: one connection to an MQTT broker
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DROVER_TYPE_MQTT_LINK (drover_mqtt_link_get_type ())

G_DECLARE_FINAL_TYPE (DroverMqttLink, drover_mqtt_link, DROVER, MQTT_LINK, GObject)

typedef enum
{
  DROVER_LINK_STATE_STOPPED,
  DROVER_LINK_STATE_CONNECTING,
  DROVER_LINK_STATE_CONNECTED,
  DROVER_LINK_STATE_RETRYING,
  DROVER_LINK_STATE_REFUSED,   /* the broker said no: credentials or authorisation; no retry */
} DroverLinkState;

/* Runs on one of Paho's threads: copy what you keep, touch no GObject. */
typedef void (*DroverMqttMessageFunc) (const char   *topic,
                                       const guint8 *payload,
                                       gsize         length,
                                       gboolean      retained,
                                       gpointer      user_data);

DroverMqttLink  *drover_mqtt_link_new                (const char             *uri,
                                                      const char             *client_id);
void             drover_mqtt_link_set_credentials    (DroverMqttLink         *self,
                                                      const char             *username,
                                                      const char             *password);
void             drover_mqtt_link_set_tls            (DroverMqttLink         *self,
                                                      const char             *ca_file,
                                                      const char             *certificate_file,
                                                      const char             *key_file,
                                                      gboolean                verify_host_name);
void             drover_mqtt_link_set_tls_server_name (DroverMqttLink        *self,
                                                      const char             *server_name);
void             drover_mqtt_link_set_message_func   (DroverMqttLink         *self,
                                                      DroverMqttMessageFunc   func,
                                                      gpointer                user_data);
void             drover_mqtt_link_subscribe          (DroverMqttLink         *self,
                                                      const char             *filter,
                                                      int                     qos);
gboolean         drover_mqtt_link_start              (DroverMqttLink         *self,
                                                      GError                **error);
void             drover_mqtt_link_stop               (DroverMqttLink         *self);
void             drover_mqtt_link_refuse             (DroverMqttLink         *self,
                                                     const char             *message);
void             drover_mqtt_link_set_nodes          (DroverMqttLink         *self,
                                                     const char * const     *uris);
const char      *drover_mqtt_link_get_node           (DroverMqttLink         *self);
guint            drover_mqtt_link_get_n_nodes        (DroverMqttLink         *self);
GDateTime       *drover_mqtt_link_get_last_failover  (DroverMqttLink         *self);
gboolean         drover_mqtt_link_publish_expiring   (DroverMqttLink         *self,
                                                     const char             *topic,
                                                     const void             *payload,
                                                     gsize                   length,
                                                     int                     qos,
                                                     guint                   expiry_seconds,
                                                     gboolean               *expires,
                                                     GError                **error);
gboolean         drover_mqtt_link_publish            (DroverMqttLink         *self,
                                                      const char             *topic,
                                                      const void             *payload,
                                                      gsize                   length,
                                                      int                     qos,
                                                      gboolean                retained,
                                                      GError                **error);
DroverLinkState  drover_mqtt_link_get_state          (DroverMqttLink         *self);
const char      *drover_mqtt_link_get_status_message (DroverMqttLink         *self);
const char      *drover_mqtt_link_get_uri            (DroverMqttLink         *self);
int              drover_mqtt_link_get_mqtt_version   (DroverMqttLink         *self);
guint            drover_mqtt_link_get_n_connects     (DroverMqttLink         *self);

G_END_DECLS
