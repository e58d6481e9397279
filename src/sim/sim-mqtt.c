/* sim-mqtt.c: one MQTT connection of the simulator
 *
 * Paho's asynchronous client. Its callbacks run on Paho's threads, so each
 * message is copied and handed to the main context, where the simulated
 * printers live. Publishing is allowed from the main thread at any time.
 *
 * A simulated printer "goes offline" in two ways, as real ones do: cleanly
 * (it publishes its offline presence, then disconnects) or by dying (the
 * socket is dropped without a DISCONNECT, so the broker sends the will).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <MQTTAsync.h>
#include <string.h>

#include "sim-mqtt.h"

struct _SimMqtt
{
  MQTTAsync             client;
  GMainContext         *context;
  SimMqttMessageFunc    message_func;
  SimMqttConnectedFunc  connected_func;
  gpointer              user_data;
  GPtrArray            *filters;      /* char*, restored after each connect */
  GArray               *filter_qos;   /* int */
  char                 *will_topic;
  char                 *will_payload;
  char                 *username;
  char                 *password;
  char                 *ca_file;
  gboolean              will_retained;
  int                   will_qos;
  int                   keepalive;
  gboolean              mqtt5;
  gboolean              tls;
  gint                  connected;    /* atomic */
  gint                  paused;       /* atomic: drop incoming messages, answer nothing */
  gint                  alive;        /* atomic: cleared before destroy */
  gint                  ref_count;    /* atomic: the owner, and each delivery in flight */
  guint64               n_published;
};

typedef struct
{
  SimMqtt  *mqtt;
  char     *topic;
  GBytes   *payload;
  gboolean  retained;
  gboolean  is_connect;
} Delivery;

static SimMqtt *
sim_mqtt_ref (SimMqtt *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

static void
sim_mqtt_unref (SimMqtt *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;

  g_ptr_array_unref (self->filters);
  g_array_unref (self->filter_qos);
  g_free (self->will_topic);
  g_free (self->will_payload);
  g_free (self->username);
  g_free (self->password);
  g_free (self->ca_file);
  g_main_context_unref (self->context);
  g_free (self);
}

static void
delivery_free (Delivery *delivery)
{
  sim_mqtt_unref (delivery->mqtt);
  g_free (delivery->topic);
  g_clear_pointer (&delivery->payload, g_bytes_unref);
  g_free (delivery);
}

static gboolean
deliver_cb (gpointer data)
{
  Delivery *delivery = data;
  SimMqtt *self = delivery->mqtt;

  if (!g_atomic_int_get (&self->alive))
    return G_SOURCE_REMOVE;

  if (delivery->is_connect)
    {
      if (self->connected_func != NULL)
        self->connected_func (self, self->user_data);
    }
  else if (!g_atomic_int_get (&self->paused))
    self->message_func (delivery->topic, delivery->payload, delivery->retained, self->user_data);

  return G_SOURCE_REMOVE;
}

/* Never g_main_context_invoke(): from a Paho thread it would run the
 * callback right there whenever it can acquire the (global default)
 * context. An idle source always runs in the thread iterating it. */
static void
hand_over (SimMqtt  *self,
           Delivery *delivery)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, deliver_cb, delivery, (GDestroyNotify)delivery_free);
  g_source_attach (source, self->context);
  g_source_unref (source);
}

static int
message_arrived_cb (void              *context,
                    char              *topic,
                    int                topic_length,
                    MQTTAsync_message *message)
{
  SimMqtt *self = context;
  Delivery *delivery = g_new0 (Delivery, 1);

  delivery->mqtt = sim_mqtt_ref (self);
  delivery->topic = topic_length > 0 ? g_strndup (topic, topic_length) : g_strdup (topic);
  delivery->payload = g_bytes_new (message->payload, message->payloadlen);
  delivery->retained = message->retained;
  hand_over (self, delivery);

  MQTTAsync_freeMessage (&message);
  MQTTAsync_free (topic);

  return 1;
}

static void
subscribe_all (SimMqtt *self)
{
  if (self->filters->len == 0)
    return;

  if (self->mqtt5)
    {
      MQTTAsync_responseOptions options = MQTTAsync_responseOptions_initializer;

      MQTTAsync_subscribeMany (self->client, self->filters->len,
                               (char * const *)self->filters->pdata,
                               (int *)(gpointer)self->filter_qos->data, &options);
    }
  else
    MQTTAsync_subscribeMany (self->client, self->filters->len,
                             (char * const *)self->filters->pdata,
                             (int *)(gpointer)self->filter_qos->data, NULL);
}

static void
connected_cb (void *context,
              char *cause)
{
  SimMqtt *self = context;
  Delivery *delivery;

  g_atomic_int_set (&self->connected, TRUE);
  subscribe_all (self);

  delivery = g_new0 (Delivery, 1);
  delivery->mqtt = sim_mqtt_ref (self);
  delivery->is_connect = TRUE;
  hand_over (self, delivery);
}

static void
connection_lost_cb (void *context,
                    char *cause)
{
  SimMqtt *self = context;

  g_atomic_int_set (&self->connected, FALSE);
}

static void
connect_failed_cb (void                  *context,
                   MQTTAsync_failureData *response)
{
  /* Automatic reconnect keeps trying; nothing to do. */
}

static void
connect_failed5_cb (void                   *context,
                    MQTTAsync_failureData5 *response)
{
}

static void
start_connect (SimMqtt *self)
{
  MQTTAsync_connectOptions options = MQTTAsync_connectOptions_initializer;
  MQTTAsync_connectOptions options5 = MQTTAsync_connectOptions_initializer5;
  MQTTAsync_connectOptions *chosen = self->mqtt5 ? &options5 : &options;
  MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
  MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;

  chosen->keepAliveInterval = self->keepalive;
  if (self->mqtt5)
    {
      chosen->cleanstart = 1;
      chosen->onFailure5 = connect_failed5_cb;
    }
  else
    {
      chosen->cleansession = 1;
      chosen->onFailure = connect_failed_cb;
    }
  chosen->automaticReconnect = 1;
  chosen->minRetryInterval = 1;
  chosen->maxRetryInterval = 4;
  chosen->connectTimeout = 10;
  chosen->context = self;
  chosen->username = self->username;
  chosen->password = self->password;

  if (self->will_topic != NULL)
    {
      will.topicName = self->will_topic;
      will.message = self->will_payload;
      will.retained = self->will_retained;
      will.qos = self->will_qos;
      chosen->will = &will;
    }

  if (self->tls)
    {
      ssl.trustStore = self->ca_file;
      ssl.enableServerCertAuth = 1;
      /* The simulator's own certificates name 127.0.0.1: check it. */
      ssl.verify = 1;
      chosen->ssl = &ssl;
    }

  MQTTAsync_connect (self->client, chosen);
}

/**
 * sim_mqtt_new:
 *
 * Creates the connection and starts connecting; it reconnects by itself.
 * @message_func and @connected_func run in the thread-default main context
 * of the caller.
 */
SimMqtt *
sim_mqtt_new (const SimMqttOptions  *options,
              SimMqttMessageFunc     message_func,
              SimMqttConnectedFunc   connected_func,
              gpointer               user_data,
              GError               **error)
{
  MQTTAsync_createOptions create_options = MQTTAsync_createOptions_initializer;
  MQTTAsync_createOptions create_options5 = MQTTAsync_createOptions_initializer5;
  SimMqtt *self = g_new0 (SimMqtt, 1);
  int rc;

  self->context = g_main_context_ref_thread_default ();
  self->message_func = message_func;
  self->connected_func = connected_func;
  self->user_data = user_data;
  self->filters = g_ptr_array_new_with_free_func (g_free);
  self->filter_qos = g_array_new (FALSE, FALSE, sizeof (int));
  self->will_topic = g_strdup (options->will_topic);
  self->will_payload = g_strdup (options->will_payload);
  self->will_retained = options->will_retained;
  self->will_qos = options->will_qos;
  self->username = g_strdup (options->username);
  self->password = g_strdup (options->password);
  self->ca_file = g_strdup (options->ca_file);
  self->keepalive = options->keepalive > 0 ? options->keepalive : 30;
  self->mqtt5 = options->mqtt5;
  self->tls = g_str_has_prefix (options->uri, "ssl://") || g_str_has_prefix (options->uri, "mqtts://");
  self->alive = TRUE;
  self->ref_count = 1;

  /* Nothing is queued while disconnected: a printer that is offline says nothing. */
  rc = MQTTAsync_createWithOptions (&self->client, options->uri, options->client_id,
                                    MQTTCLIENT_PERSISTENCE_NONE, NULL,
                                    self->mqtt5 ? &create_options5 : &create_options);
  if (rc != MQTTASYNC_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "cannot create an MQTT client for %s (Paho error %d)", options->uri, rc);
      sim_mqtt_free (self);
      return NULL;
    }

  MQTTAsync_setCallbacks (self->client, self, connection_lost_cb, message_arrived_cb, NULL);
  MQTTAsync_setConnected (self->client, self, connected_cb);
  start_connect (self);

  return self;
}

/**
 * sim_mqtt_subscribe:
 *
 * Subscribes now if connected, and again after every reconnect.
 */
void
sim_mqtt_subscribe (SimMqtt    *self,
                    const char *filter,
                    int         qos)
{
  g_ptr_array_add (self->filters, g_strdup (filter));
  g_array_append_val (self->filter_qos, qos);

  if (g_atomic_int_get (&self->connected))
    {
      MQTTAsync_responseOptions options = MQTTAsync_responseOptions_initializer;

      MQTTAsync_subscribe (self->client, filter, qos, self->mqtt5 ? &options : NULL);
    }
}

/**
 * sim_mqtt_publish:
 *
 * Returns: %FALSE when the message could not be handed to Paho, most often
 *   because the connection is down
 */
gboolean
sim_mqtt_publish (SimMqtt    *self,
                  const char *topic,
                  const char *payload,
                  gssize      length,
                  int         qos,
                  gboolean    retained)
{
  MQTTAsync_message message = MQTTAsync_message_initializer;
  MQTTAsync_responseOptions options = MQTTAsync_responseOptions_initializer;

  if (!g_atomic_int_get (&self->connected) || g_atomic_int_get (&self->paused))
    return FALSE;

  message.payload = (void *)payload;
  message.payloadlen = length < 0 ? (int)strlen (payload) : (int)length;
  message.qos = qos;
  message.retained = retained;

  if (MQTTAsync_sendMessage (self->client, topic, &message, self->mqtt5 ? &options : NULL) != MQTTASYNC_SUCCESS)
    return FALSE;

  self->n_published++;
  return TRUE;
}

gboolean
sim_mqtt_is_connected (SimMqtt *self)
{
  return g_atomic_int_get (&self->connected);
}

/**
 * sim_mqtt_set_paused:
 *
 * A paused connection stays up but neither publishes nor handles requests:
 * the "stops answering MQTT" fault.
 */
void
sim_mqtt_set_paused (SimMqtt  *self,
                     gboolean  paused)
{
  g_atomic_int_set (&self->paused, paused);
}

/**
 * sim_mqtt_drop:
 *
 * Goes away the way a printer that loses power does: the broker publishes
 * the will. With MQTT 5 that is a DISCONNECT with reason code 0x04
 * ("Disconnect with Will Message"), which brokers treat as a lost client.
 * MQTT 3.1.1 has no such packet and Paho cannot cut its socket, so there the
 * will's payload is published by hand before a clean disconnect: what other
 * clients see is the same. Come back with sim_mqtt_reconnect().
 */
void
sim_mqtt_drop (SimMqtt *self)
{
  /* Only the MQTT 5 layout of the options carries a reason code. */
  MQTTAsync_disconnectOptions options = MQTTAsync_disconnectOptions_initializer5;

  if (self->client == NULL || !g_atomic_int_get (&self->connected))
    return;

  if (self->mqtt5)
    options.reasonCode = MQTTREASONCODE_DISCONNECT_WITH_WILL_MESSAGE;
  else if (self->will_topic != NULL)
    sim_mqtt_publish (self, self->will_topic, self->will_payload, -1, self->will_qos, self->will_retained);

  g_atomic_int_set (&self->connected, FALSE);
  options.timeout = 1000;
  MQTTAsync_disconnect (self->client, &options);
}

/**
 * sim_mqtt_disconnect:
 *
 * Leaves cleanly: no will.
 */
void
sim_mqtt_disconnect (SimMqtt *self)
{
  MQTTAsync_disconnectOptions options = MQTTAsync_disconnectOptions_initializer;

  if (self->client == NULL)
    return;

  g_atomic_int_set (&self->connected, FALSE);
  options.timeout = 1000;
  MQTTAsync_disconnect (self->client, &options);
}

/**
 * sim_mqtt_reconnect:
 *
 * Comes back after sim_mqtt_disconnect() or sim_mqtt_drop().
 */
void
sim_mqtt_reconnect (SimMqtt *self)
{
  if (!MQTTAsync_isConnected (self->client))
    start_connect (self);
}

guint64
sim_mqtt_get_n_published (SimMqtt *self)
{
  return self->n_published;
}

void
sim_mqtt_free (SimMqtt *self)
{
  if (self == NULL)
    return;

  g_atomic_int_set (&self->alive, FALSE);

  if (MQTTAsync_isConnected (self->client))
    {
      MQTTAsync_disconnectOptions options = MQTTAsync_disconnectOptions_initializer;

      options.timeout = 500;
      MQTTAsync_disconnect (self->client, &options);
    }
  MQTTAsync_destroy (&self->client);

  /* Deliveries still queued in the main context hold their own reference. */
  sim_mqtt_unref (self);
}
