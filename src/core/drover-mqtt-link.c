/* drover-mqtt-link.c: one connection to an MQTT broker
 *
 * Paho MQTT C's asynchronous client. MQTT 5 first; a broker that only
 * speaks 3.1.1 (RabbitMQ's plugin, older mosquitto) is asked again in
 * 3.1.1. TLS checks the server's certificate and, unless the operator
 * turned it off for this broker, its host name (Paho leaves that off
 * unless asked). After a lost connection Paho reconnects with a growing
 * delay and the link subscribes again; a first connection that fails is
 * retried the same way, except when the broker refused the credentials:
 * asking again would only be a retry storm.
 *
 * Paho's callbacks run on Paho's threads. Messages go straight to the
 * message function there (the decoders run on that thread); changes of
 * state are handed to the main context that created the link.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-mqtt-link"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <MQTTAsync.h>
#include <string.h>

#include "drover-compat-private.h"
#include "drover-mqtt-link.h"

#define MIN_RETRY_S 1
#define MAX_RETRY_S 60

struct _DroverMqttLink
{
  GObject                parent_instance;

  MQTTAsync              client;
  GMainContext          *context;
  GWeakRef               weak_self;

  char                  *uri;
  char                 **node_uris;       /* a cluster's nodes, or NULL for one broker */
  char                  *client_id;
  char                  *username;
  char                  *password;
  char                  *ca_file;
  char                  *certificate_file;
  char                  *key_file;
  gboolean               tls;
  gboolean               verify_host_name;
  char                  *tls_server_name;  /* checked by GIO before Paho connects */
  GCancellable          *preflight;
  int                    mqtt_version;    /* 5 or 4 (3.1.1) */
  gboolean               version_known;   /* connected once with mqtt_version */

  GPtrArray             *filters;
  GArray                *filter_qos;

  DroverMqttMessageFunc  message_func;
  gpointer               message_data;

  DroverLinkState        state;
  char                  *status_message;
  guint                  retry_source;
  guint                  retry_delay;
  guint                  n_connects;
  gint                   connected;       /* atomic, for publish from any thread */

  guint                  node_index;      /* the node tried now */
  guint                  round_start;     /* where this round of tries began */
  char                  *client_node;     /* the node self->client was made for */
  char                  *node;            /* the node connected to, or last connected to */
  GDateTime             *last_failover;
};

G_DEFINE_FINAL_TYPE (DroverMqttLink, drover_mqtt_link, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATE,
  PROP_STATUS_MESSAGE,
  PROP_NODE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void start_connect (DroverMqttLink *self);
static void paho_connect (DroverMqttLink *self);

/* State changes travel from Paho's threads to the main context. */
typedef struct
{
  GWeakRef        link;
  DroverLinkState state;
  char           *message;
  int             code;
  gboolean        connected;
} StateChange;

static void
state_change_free (StateChange *change)
{
  g_weak_ref_clear (&change->link);
  g_free (change->message);
  g_free (change);
}

static void
set_state (DroverMqttLink  *self,
           DroverLinkState  state,
           const char      *message)
{
  if (self->state != state)
    {
      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }

  if (drover_set_str (&self->status_message, message))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS_MESSAGE]);
}

static gboolean
retry_cb (gpointer data)
{
  DroverMqttLink *self = data;

  self->retry_source = 0;
  start_connect (self);

  return G_SOURCE_REMOVE;
}

static void
schedule_retry (DroverMqttLink *self)
{
  g_clear_handle_id (&self->retry_source, g_source_remove);

  self->retry_delay = self->retry_delay == 0 ? MIN_RETRY_S : MIN (self->retry_delay * 2, MAX_RETRY_S);
  self->retry_source = g_timeout_add_seconds (self->retry_delay, retry_cb, self);
}

/* Turns Paho's and the broker's codes into what the operator can act on. */
static char *
describe_failure (DroverMqttLink *self,
                  int             code,
                  const char     *paho_message,
                  gboolean       *refused)
{
  /* In a cluster, the node that failed. */
  const char *where = self->client_node != NULL ? self->client_node : self->uri;

  *refused = FALSE;

  switch (code)
    {
    case 4:   /* 3.1.1 CONNACK: bad user name or password */
    case MQTTREASONCODE_BAD_USER_NAME_OR_PASSWORD:
      *refused = TRUE;
      return g_strdup_printf (_("The broker at %s refused the user name or password."), where);

    case 5:   /* 3.1.1 CONNACK: not authorised */
    case MQTTREASONCODE_NOT_AUTHORIZED:
      *refused = TRUE;
      /* mosquitto answers a wrong password this way too. */
      return g_strdup_printf (_("The broker at %s refused this client: check the user name and password, "
                                "and the broker's access rules."), where);

    case 2:
    case MQTTREASONCODE_CLIENT_IDENTIFIER_NOT_VALID:
      *refused = TRUE;
      return g_strdup_printf (_("The broker at %s refused the client id “%s”."), where, self->client_id);

    case 3:
    case MQTTREASONCODE_SERVER_UNAVAILABLE:
    case MQTTREASONCODE_SERVER_BUSY:
      return g_strdup_printf (_("The broker at %s is unavailable or busy; Drover keeps trying."), where);

    default:
      if (self->tls)
        return g_strdup_printf (_("Cannot reach the broker at %s, or its certificate is not trusted%s; Drover keeps trying."),
                                where,
                                self->verify_host_name ? _(" or does not name this host") : "");
      return g_strdup_printf (_("Cannot reach the broker at %s; Drover keeps trying."), where);
    }
}

static gboolean
apply_state_change_cb (gpointer data)
{
  StateChange *change = data;
  g_autoptr(DroverMqttLink) self = g_weak_ref_get (&change->link);

  if (self == NULL || self->client == NULL)
    return G_SOURCE_REMOVE;

  if (change->connected)
    {
      g_autofree char *node = g_strdup (self->client_node != NULL ? self->client_node : self->uri);

      self->retry_delay = 0;
      self->n_connects++;
      self->round_start = self->node_index;
      self->version_known = TRUE;

      if (g_strcmp0 (node, self->node) != 0)
        {
          /* Another node than before: a failover, worth a time. */
          if (self->node != NULL)
            {
              g_clear_pointer (&self->last_failover, g_date_time_unref);
              self->last_failover = g_date_time_new_now_utc ();
            }
          g_free (self->node);
          self->node = g_steal_pointer (&node);
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NODE]);
        }
      set_state (self, DROVER_LINK_STATE_CONNECTED, NULL);
    }
  else if (change->state == DROVER_LINK_STATE_RETRYING && change->code == -1000)
    {
      /* Lost: Paho reconnects by itself, unless the certificate must be
       * checked again first, or there are nodes to choose from: Paho says
       * which node it reached only to a connect Drover asked for. */
      set_state (self, DROVER_LINK_STATE_RETRYING, change->message);
      if (self->node_uris != NULL)
        {
          /* The node just lost is the last to try again. */
          self->node_index = (self->node_index + 1) % g_strv_length (self->node_uris);
          self->round_start = self->node_index;
          self->retry_delay = 0;
          schedule_retry (self);
        }
      else if (self->tls_server_name != NULL && self->tls)
        schedule_retry (self);
    }
  else
    {
      gboolean refused;
      g_autofree char *message = describe_failure (self, change->code, change->message, &refused);

      /* A v5 CONNECT to a 3.1.1-only broker: ask again in its language. */
      if (self->mqtt_version == MQTTVERSION_5 &&
          (change->code == MQTTREASONCODE_UNSUPPORTED_PROTOCOL_VERSION || change->code == 1))
        {
          g_debug ("%s speaks no MQTT 5; using 3.1.1", self->uri);
          self->mqtt_version = MQTTVERSION_3_1_1;
          MQTTAsync_destroy (&self->client);
          start_connect (self);
          return G_SOURCE_REMOVE;
        }

      /* Some 3.1.1-only brokers (RabbitMQ's MQTT plugin) close the
       * connection on an MQTT 5 CONNECT without a word, which looks like a
       * broker that is not there: until a version has worked, each failed
       * MQTT 5 try is followed by one in 3.1.1. */
      if (!refused && self->mqtt_version == MQTTVERSION_5 && !self->version_known)
        {
          self->mqtt_version = MQTTVERSION_3_1_1;
          MQTTAsync_destroy (&self->client);
          start_connect (self);
          return G_SOURCE_REMOVE;
        }
      if (!refused && self->mqtt_version == MQTTVERSION_3_1_1 && !self->version_known)
        {
          self->mqtt_version = MQTTVERSION_5;
          MQTTAsync_destroy (&self->client);
        }

      if (refused)
        set_state (self, DROVER_LINK_STATE_REFUSED, message);
      else if (self->node_uris != NULL &&
               (self->node_index + 1) % g_strv_length (self->node_uris) != self->round_start)
        {
          /* Another node may answer: try it now, wait only after a round. */
          set_state (self, DROVER_LINK_STATE_RETRYING, message);
          self->node_index = (self->node_index + 1) % g_strv_length (self->node_uris);
          start_connect (self);
        }
      else
        {
          set_state (self, DROVER_LINK_STATE_RETRYING, message);
          if (self->node_uris != NULL)
            self->node_index = self->round_start;
          schedule_retry (self);
        }
    }

  return G_SOURCE_REMOVE;
}

static void
post_state_change (DroverMqttLink  *self,
                   DroverLinkState  state,
                   int              code,
                   const char      *message,
                   gboolean         connected)
{
  StateChange *change = g_new0 (StateChange, 1);
  GObject *strong = g_weak_ref_get (&self->weak_self);
  GSource *source;

  g_weak_ref_init (&change->link, strong);
  g_clear_object (&strong);
  change->state = state;
  change->code = code;
  change->message = g_strdup (message);
  change->connected = connected;

  /* An idle source runs in the thread iterating the context, never here. */
  source = g_idle_source_new ();
  g_source_set_callback (source, apply_state_change_cb, change, (GDestroyNotify)state_change_free);
  g_source_attach (source, self->context);
  g_source_unref (source);
}

/* Paho's threads */

static int
message_arrived_cb (void              *context,
                    char              *topic,
                    int                topic_length,
                    MQTTAsync_message *message)
{
  DroverMqttLink *self = context;

  if (self->message_func != NULL)
    {
      g_autofree char *owned_topic = topic_length > 0 ? g_strndup (topic, topic_length) : NULL;

      self->message_func (owned_topic != NULL ? owned_topic : topic,
                          message->payload, message->payloadlen, message->retained,
                          self->message_data);
    }

  MQTTAsync_freeMessage (&message);
  MQTTAsync_free (topic);

  return 1;
}

static void
subscribe_all (DroverMqttLink *self)
{
  MQTTAsync_responseOptions options = MQTTAsync_responseOptions_initializer;

  if (self->filters->len == 0)
    return;

  MQTTAsync_subscribeMany (self->client, self->filters->len, (char * const *)self->filters->pdata,
                           (int *)(gpointer)self->filter_qos->data, &options);
}

static void
connected_cb (void *context,
              char *cause)
{
  DroverMqttLink *self = context;

  g_atomic_int_set (&self->connected, TRUE);
  /* Clean sessions: the broker forgot our subscriptions. */
  subscribe_all (self);
  post_state_change (self, DROVER_LINK_STATE_CONNECTED, 0, NULL, TRUE);
}

static void
connection_lost_cb (void *context,
                    char *cause)
{
  DroverMqttLink *self = context;

  g_atomic_int_set (&self->connected, FALSE);
  post_state_change (self, DROVER_LINK_STATE_RETRYING, -1000,
                     cause != NULL ? cause : _("The connection to the broker was lost; reconnecting."), FALSE);
}

static void
connect_failed_cb (void                  *context,
                   MQTTAsync_failureData *response)
{
  DroverMqttLink *self = context;

  post_state_change (self, DROVER_LINK_STATE_RETRYING,
                     response != NULL ? response->code : MQTTASYNC_FAILURE,
                     response != NULL ? response->message : NULL, FALSE);
}

static void
connect_failed5_cb (void                   *context,
                    MQTTAsync_failureData5 *response)
{
  DroverMqttLink *self = context;
  int code = MQTTASYNC_FAILURE;

  if (response != NULL)
    code = response->reasonCode != 0 ? (int)response->reasonCode : response->code;

  post_state_change (self, DROVER_LINK_STATE_RETRYING, code, response != NULL ? response->message : NULL, FALSE);
}

/* Main thread */

static gboolean
split_host_port (const char  *uri,
                 char       **host,
                 guint16     *port)
{
  const char *rest = strstr (uri, "://");
  const char *colon;
  guint64 number;

  rest = rest != NULL ? rest + 3 : uri;
  colon = strrchr (rest, ':');
  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &number, NULL))
    return FALSE;

  *host = g_strndup (rest, colon - rest);
  *port = (guint16)number;
  return TRUE;
}

typedef struct
{
  GWeakRef  link;
  GIOStream *stream;
} Preflight;

static void
preflight_free (Preflight *preflight)
{
  g_weak_ref_clear (&preflight->link);
  g_clear_object (&preflight->stream);
  g_free (preflight);
}

static void
preflight_failed (DroverMqttLink *self,
                  const char     *message)
{
  set_state (self, DROVER_LINK_STATE_RETRYING, message);
  schedule_retry (self);
}

static void
preflight_handshake_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  Preflight *preflight = user_data;
  g_autoptr(DroverMqttLink) self = g_weak_ref_get (&preflight->link);
  g_autoptr(GError) error = NULL;
  GTlsCertificateFlags errors;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error) && self != NULL &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_autofree char *message = NULL;

      errors = g_tls_connection_get_peer_certificate_errors (G_TLS_CONNECTION (source));
      if (errors & G_TLS_CERTIFICATE_BAD_IDENTITY)
        message = g_strdup_printf (_("The certificate at %s does not name “%s”: this is not the expected printer or broker; "
                                     "Drover keeps trying."), self->uri, self->tls_server_name);
      else if (errors & G_TLS_CERTIFICATE_UNKNOWN_CA)
        message = g_strdup_printf (_("The certificate at %s is not signed by the expected authority; Drover keeps trying."),
                                   self->uri);
      else
        message = g_strdup_printf (_("The TLS handshake with %s failed: %s; Drover keeps trying."), self->uri, error->message);

      preflight_failed (self, message);
    }
  else if (self != NULL && error == NULL)
    {
      /* The certificate is the one expected: Paho may connect, with the
       * chain checked and the host name left to this check. */
      g_io_stream_close_async (preflight->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
      paho_connect (self);
    }

  preflight_free (preflight);
}

static gboolean
accept_nothing_cb (GTlsConnection       *connection,
                   GTlsCertificate      *certificate,
                   GTlsCertificateFlags  errors,
                   gpointer              user_data)
{
  return FALSE;
}

static void
preflight_connected_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  Preflight *preflight = user_data;
  g_autoptr(DroverMqttLink) self = g_weak_ref_get (&preflight->link);
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnectable) identity = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autofree char *host = NULL;
  guint16 port;

  connection = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), result, &error);
  if (self == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      preflight_free (preflight);
      return;
    }

  if (connection == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("Cannot reach %s: %s; Drover keeps trying."), self->uri, error->message);

      preflight_failed (self, message);
      preflight_free (preflight);
      return;
    }

  split_host_port (self->uri, &host, &port);
  identity = g_network_address_new (self->tls_server_name, port);
  preflight->stream = g_tls_client_connection_new (G_IO_STREAM (connection), identity, &error);
  if (preflight->stream != NULL && self->ca_file != NULL)
    {
      database = g_tls_file_database_new (self->ca_file, &error);
      if (database != NULL)
        g_tls_connection_set_database (G_TLS_CONNECTION (preflight->stream), database);
    }

  if (preflight->stream == NULL || error != NULL)
    {
      g_autofree char *message = g_strdup_printf (_("Drover cannot check the certificate of %s: %s."),
                                                  self->uri, error->message);

      set_state (self, DROVER_LINK_STATE_REFUSED, message);
      preflight_free (preflight);
      return;
    }

  g_signal_connect (preflight->stream, "accept-certificate", G_CALLBACK (accept_nothing_cb), NULL);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (preflight->stream), G_PRIORITY_DEFAULT, self->preflight,
                                    preflight_handshake_cb, preflight);
}

/* Paho checks a certificate's name only against the address it dials. A
 * Bambu printer's certificate names its serial instead, so when a server
 * name is set, GIO checks the certificate against that name (and the CA)
 * first, and Paho connects only after. */
static void
start_connect (DroverMqttLink *self)
{
  g_autoptr(GSocketClient) client = NULL;
  g_autofree char *host = NULL;
  Preflight *preflight;
  guint16 port;

  if (self->tls_server_name == NULL || !self->tls)
    {
      paho_connect (self);
      return;
    }

  if (!split_host_port (self->uri, &host, &port))
    {
      g_autofree char *message = g_strdup_printf (_("“%s” is not a broker address Drover understands."), self->uri);

      set_state (self, DROVER_LINK_STATE_REFUSED, message);
      return;
    }

  set_state (self, DROVER_LINK_STATE_CONNECTING, NULL);
  g_cancellable_cancel (self->preflight);
  g_clear_object (&self->preflight);
  self->preflight = g_cancellable_new ();

  preflight = g_new0 (Preflight, 1);
  g_weak_ref_init (&preflight->link, self);
  client = g_socket_client_new ();
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_set_timeout (client, 10);
  g_socket_client_connect_to_host_async (client, host, port, self->preflight, preflight_connected_cb, preflight);
}

static void
paho_connect (DroverMqttLink *self)
{
  MQTTAsync_createOptions create_options = MQTTAsync_createOptions_initializer;
  MQTTAsync_connectOptions options = MQTTAsync_connectOptions_initializer;
  MQTTAsync_connectOptions options5 = MQTTAsync_connectOptions_initializer5;
  MQTTAsync_connectOptions *chosen;
  MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
  const char *target = self->node_uris != NULL ? self->node_uris[self->node_index] : self->uri;
  int rc;

  /* One client per node: Paho says which node it reached only on the
   * first connect of a client, so Drover chooses the node itself. */
  if (self->client != NULL && g_strcmp0 (self->client_node, target) != 0)
    MQTTAsync_destroy (&self->client);

  if (self->client == NULL)
    {
      create_options.MQTTVersion = self->mqtt_version;
      /* Nothing is queued while disconnected: stale commands must not go out later. */
      create_options.sendWhileDisconnected = 0;
      rc = MQTTAsync_createWithOptions (&self->client, target, self->client_id,
                                        MQTTCLIENT_PERSISTENCE_NONE, NULL, &create_options);
      if (rc != MQTTASYNC_SUCCESS)
        {
          g_autofree char *message = g_strdup_printf (_("“%s” is not a broker address Drover understands."), self->uri);

          self->client = NULL;
          set_state (self, DROVER_LINK_STATE_REFUSED, message);
          return;
        }

      MQTTAsync_setCallbacks (self->client, self, connection_lost_cb, message_arrived_cb, NULL);
      MQTTAsync_setConnected (self->client, self, connected_cb);
      drover_set_str (&self->client_node, target);
    }

  chosen = self->mqtt_version == MQTTVERSION_5 ? &options5 : &options;
  chosen->keepAliveInterval = 30;
  if (self->mqtt_version == MQTTVERSION_5)
    {
      chosen->cleanstart = 1;
      chosen->onFailure5 = connect_failed5_cb;
    }
  else
    {
      chosen->cleansession = 1;
      chosen->onFailure = connect_failed_cb;
      chosen->MQTTVersion = MQTTVERSION_3_1_1;
    }
  /* With a server name to check, every reconnection goes through the
   * check; with nodes, Drover picks the node itself. */
  chosen->automaticReconnect = (self->tls_server_name == NULL || !self->tls) && self->node_uris == NULL;
  chosen->minRetryInterval = MIN_RETRY_S;
  chosen->maxRetryInterval = MAX_RETRY_S;
  chosen->connectTimeout = 10;
  chosen->context = self;
  chosen->username = self->username;
  chosen->password = self->password;

  if (self->tls)
    {
      ssl.trustStore = self->ca_file;
      ssl.keyStore = self->certificate_file;
      ssl.privateKey = self->key_file;
      ssl.enableServerCertAuth = 1;
      /* Paho checks the host name only when asked. */
      ssl.verify = self->verify_host_name ? 1 : 0;
      ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
      chosen->ssl = &ssl;
    }

  set_state (self, DROVER_LINK_STATE_CONNECTING, NULL);

  rc = MQTTAsync_connect (self->client, chosen);
  if (rc != MQTTASYNC_SUCCESS)
    {
      g_autofree char *message = g_strdup_printf (_("Drover could not start connecting to %s (Paho error %d)."), self->uri, rc);

      set_state (self, DROVER_LINK_STATE_RETRYING, message);
      schedule_retry (self);
    }
}

static void
drover_mqtt_link_dispose (GObject *object)
{
  DroverMqttLink *self = (DroverMqttLink *)object;

  drover_mqtt_link_stop (self);

  G_OBJECT_CLASS (drover_mqtt_link_parent_class)->dispose (object);
}

static void
drover_mqtt_link_finalize (GObject *object)
{
  DroverMqttLink *self = (DroverMqttLink *)object;

  g_weak_ref_clear (&self->weak_self);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->filters, g_ptr_array_unref);
  g_clear_pointer (&self->filter_qos, g_array_unref);
  g_free (self->uri);
  g_strfreev (self->node_uris);
  g_free (self->client_node);
  g_free (self->node);
  g_clear_pointer (&self->last_failover, g_date_time_unref);
  g_free (self->client_id);
  g_free (self->username);
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  g_free (self->ca_file);
  g_free (self->certificate_file);
  g_free (self->key_file);
  g_free (self->tls_server_name);
  g_free (self->status_message);

  G_OBJECT_CLASS (drover_mqtt_link_parent_class)->finalize (object);
}

static void
drover_mqtt_link_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  DroverMqttLink *self = DROVER_MQTT_LINK (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;

    case PROP_STATUS_MESSAGE:
      g_value_set_string (value, self->status_message);
      break;

    case PROP_NODE:
      g_value_set_string (value, self->node);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_mqtt_link_class_init (DroverMqttLinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = drover_mqtt_link_dispose;
  object_class->finalize = drover_mqtt_link_finalize;
  object_class->get_property = drover_mqtt_link_get_property;

  /**
   * DroverMqttLink:state:
   *
   * A #DroverLinkState.
   */
  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL,
                      DROVER_LINK_STATE_STOPPED, DROVER_LINK_STATE_REFUSED, DROVER_LINK_STATE_STOPPED,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * DroverMqttLink:status-message:
   *
   * Why the link is not connected, in a sentence for the operator; %NULL
   * when connected.
   */
  properties[PROP_STATUS_MESSAGE] =
    g_param_spec_string ("status-message", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * DroverMqttLink:node: (nullable)
   *
   * The address of the broker node the link is connected to, or was last
   * connected to; %NULL before the first connection. For a single
   * broker, its address.
   */
  properties[PROP_NODE] =
    g_param_spec_string ("node", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
drover_mqtt_link_init (DroverMqttLink *self)
{
  g_weak_ref_init (&self->weak_self, self);
  self->context = g_main_context_ref_thread_default ();
  self->filters = g_ptr_array_new_with_free_func (g_free);
  self->filter_qos = g_array_new (FALSE, FALSE, sizeof (int));
  self->mqtt_version = MQTTVERSION_5;
  self->verify_host_name = TRUE;
}

/**
 * drover_mqtt_link_new:
 * @uri: `tcp://host:port`, `ssl://host:port` (or `mqtt://`, `mqtts://`)
 * @client_id: the client id to use on the broker
 *
 * Returns: (transfer full): a link, not yet started
 */
DroverMqttLink *
drover_mqtt_link_new (const char *uri,
                      const char *client_id)
{
  DroverMqttLink *self;

  g_return_val_if_fail (uri != NULL, NULL);
  g_return_val_if_fail (client_id != NULL, NULL);

  self = g_object_new (DROVER_TYPE_MQTT_LINK, NULL);
  self->uri = g_strdup (uri);
  self->client_id = g_strdup (client_id);
  self->tls = g_str_has_prefix (uri, "ssl://") || g_str_has_prefix (uri, "mqtts://") || g_str_has_prefix (uri, "wss://");

  return self;
}

/**
 * drover_mqtt_link_set_nodes:
 * @uris: (nullable): every node of a broker cluster, the link's own
 *   address among them, in the order to try them; %NULL or one address
 *   for a single broker
 *
 * The link connects to the first node that answers, and when its node
 * goes away, to the next that does: it subscribes again there, so the
 * retained topics come again. #DroverMqttLink:node says which node it is
 * on; drover_mqtt_link_get_last_failover() when it last changed. Set it
 * before starting the link.
 */
void
drover_mqtt_link_set_nodes (DroverMqttLink     *self,
                            const char * const *uris)
{
  g_return_if_fail (DROVER_IS_MQTT_LINK (self));
  g_return_if_fail (self->client == NULL);

  g_clear_pointer (&self->node_uris, g_strfreev);
  if (uris != NULL && g_strv_length ((char **)uris) > 1)
    self->node_uris = g_strdupv ((char **)uris);
}

/**
 * drover_mqtt_link_get_node:
 *
 * Returns: (nullable): see #DroverMqttLink:node
 */
const char *
drover_mqtt_link_get_node (DroverMqttLink *self)
{
  g_return_val_if_fail (DROVER_IS_MQTT_LINK (self), NULL);

  return self->node;
}

/**
 * drover_mqtt_link_get_n_nodes:
 *
 * Returns: how many broker nodes the link may use: 1 for a single broker
 */
guint
drover_mqtt_link_get_n_nodes (DroverMqttLink *self)
{
  g_return_val_if_fail (DROVER_IS_MQTT_LINK (self), 0);

  return self->node_uris != NULL ? g_strv_length (self->node_uris) : 1;
}

/**
 * drover_mqtt_link_get_last_failover:
 *
 * Returns: (nullable) (transfer none): when the link last came back on
 *   another node than before, or %NULL if it never did
 */
GDateTime *
drover_mqtt_link_get_last_failover (DroverMqttLink *self)
{
  g_return_val_if_fail (DROVER_IS_MQTT_LINK (self), NULL);

  return self->last_failover;
}

void
drover_mqtt_link_set_credentials (DroverMqttLink *self,
                                  const char     *username,
                                  const char     *password)
{
  g_return_if_fail (DROVER_IS_MQTT_LINK (self));

  drover_set_str (&self->username, username);
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  self->password = g_strdup (password);
}

/**
 * drover_mqtt_link_set_tls:
 * @ca_file: (nullable): the CA to trust, or %NULL for the system's
 * @certificate_file: (nullable): a client certificate
 * @key_file: (nullable): its key, if not in @certificate_file
 * @verify_host_name: whether the certificate must name the host; turning
 *   it off is the operator's visible choice for this broker
 */
void
drover_mqtt_link_set_tls (DroverMqttLink *self,
                          const char     *ca_file,
                          const char     *certificate_file,
                          const char     *key_file,
                          gboolean        verify_host_name)
{
  g_return_if_fail (DROVER_IS_MQTT_LINK (self));

  drover_set_str (&self->ca_file, ca_file);
  drover_set_str (&self->certificate_file, certificate_file);
  drover_set_str (&self->key_file, key_file);
  self->verify_host_name = verify_host_name;
}

/**
 * drover_mqtt_link_set_tls_server_name:
 * @server_name: (nullable): the name the server's certificate must carry,
 *   when it is not the host dialled: a Bambu printer's serial
 *
 * The certificate is then checked against @server_name and the CA before
 * every connection, and Paho's own host-name check is left off.
 */
void
drover_mqtt_link_set_tls_server_name (DroverMqttLink *self,
                                      const char     *server_name)
{
  g_return_if_fail (DROVER_IS_MQTT_LINK (self));

  drover_set_str (&self->tls_server_name, server_name);
  if (server_name != NULL)
    self->verify_host_name = FALSE;
}

/**
 * drover_mqtt_link_refuse:
 * @message: why the link cannot even try, as a sentence for the operator
 *
 * Leaves the link refused without connecting: for what must be settled
 * before it can sign in, such as a keyring that is not there.
 */
void
drover_mqtt_link_refuse (DroverMqttLink *self,
                         const char     *message)
{
  g_return_if_fail (DROVER_IS_MQTT_LINK (self));
  g_return_if_fail (message != NULL);

  set_state (self, DROVER_LINK_STATE_REFUSED, message);
}

/**
 * drover_mqtt_link_set_message_func:
 * @func: called on Paho's thread for every message
 *
 * Set it before starting the link.
 */
void
drover_mqtt_link_set_message_func (DroverMqttLink        *self,
                                   DroverMqttMessageFunc  func,
                                   gpointer               user_data)
{
  g_return_if_fail (DROVER_IS_MQTT_LINK (self));
  g_return_if_fail (self->client == NULL);

  self->message_func = func;
  self->message_data = user_data;
}

/**
 * drover_mqtt_link_subscribe:
 *
 * Subscribes to @filter now if connected, and after every reconnection.
 */
void
drover_mqtt_link_subscribe (DroverMqttLink *self,
                            const char     *filter,
                            int             qos)
{
  g_return_if_fail (DROVER_IS_MQTT_LINK (self));
  g_return_if_fail (filter != NULL);

  g_ptr_array_add (self->filters, g_strdup (filter));
  g_array_append_val (self->filter_qos, qos);

  if (g_atomic_int_get (&self->connected))
    {
      MQTTAsync_responseOptions options = MQTTAsync_responseOptions_initializer;

      MQTTAsync_subscribe (self->client, filter, qos, &options);
    }
}

/**
 * drover_mqtt_link_start:
 *
 * Starts connecting; watch #DroverMqttLink:state for how it goes.
 *
 * Returns: %FALSE if the link cannot even try (a malformed address)
 */
gboolean
drover_mqtt_link_start (DroverMqttLink  *self,
                        GError         **error)
{
  g_return_val_if_fail (DROVER_IS_MQTT_LINK (self), FALSE);

  if (self->client != NULL || self->preflight != NULL)
    return TRUE;

  start_connect (self);

  if (self->state == DROVER_LINK_STATE_REFUSED)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, self->status_message);
      return FALSE;
    }

  return TRUE;
}

/**
 * drover_mqtt_link_stop:
 *
 * Disconnects cleanly and stops retrying.
 */
void
drover_mqtt_link_stop (DroverMqttLink *self)
{
  g_return_if_fail (DROVER_IS_MQTT_LINK (self));

  g_clear_handle_id (&self->retry_source, g_source_remove);
  g_cancellable_cancel (self->preflight);
  g_clear_object (&self->preflight);

  if (self->client != NULL)
    {
      if (MQTTAsync_isConnected (self->client))
        {
          MQTTAsync_disconnectOptions options = MQTTAsync_disconnectOptions_initializer;

          options.timeout = 1000;
          MQTTAsync_disconnect (self->client, &options);
        }
      /* After this no callback of this client runs. */
      MQTTAsync_destroy (&self->client);
      self->client = NULL;
    }

  g_atomic_int_set (&self->connected, FALSE);
  set_state (self, DROVER_LINK_STATE_STOPPED, NULL);
}

/**
 * drover_mqtt_link_publish:
 *
 * Sends a message, or says why not. Nothing is queued while disconnected.
 */
gboolean
drover_mqtt_link_publish (DroverMqttLink  *self,
                          const char      *topic,
                          const void      *payload,
                          gsize            length,
                          int              qos,
                          gboolean         retained,
                          GError         **error)
{
  MQTTAsync_message message = MQTTAsync_message_initializer;
  MQTTAsync_responseOptions options = MQTTAsync_responseOptions_initializer;
  int rc;

  g_return_val_if_fail (DROVER_IS_MQTT_LINK (self), FALSE);
  g_return_val_if_fail (length <= G_MAXINT, FALSE);

  if (self->client == NULL || !g_atomic_int_get (&self->connected))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   _("Not connected to the broker at %s; nothing was sent."), self->uri);
      return FALSE;
    }

  message.payload = (void *)payload;
  message.payloadlen = (int)length;
  message.qos = qos;
  message.retained = retained;

  rc = MQTTAsync_sendMessage (self->client, topic, &message, &options);
  if (rc != MQTTASYNC_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("The message to %s could not be sent (Paho error %d)."), topic, rc);
      return FALSE;
    }

  return TRUE;
}

/**
 * drover_mqtt_link_publish_expiring:
 * @expiry_seconds: how long the broker may hold the message for a
 *   subscriber that is away; 0 for no expiry
 * @expires: (out) (optional): whether the broker was told (MQTT 5); an
 *   MQTT 3.1.1 broker has no message expiry
 *
 * drover_mqtt_link_publish() with MQTT 5's message expiry interval, so
 * that a signed job never reaches a printer after its window.
 */
gboolean
drover_mqtt_link_publish_expiring (DroverMqttLink  *self,
                                   const char      *topic,
                                   const void      *payload,
                                   gsize            length,
                                   int              qos,
                                   guint            expiry_seconds,
                                   gboolean        *expires,
                                   GError         **error)
{
  MQTTAsync_message message = MQTTAsync_message_initializer;
  MQTTAsync_responseOptions options = MQTTAsync_responseOptions_initializer;
  MQTTProperty property = { 0 };
  int rc;

  g_return_val_if_fail (DROVER_IS_MQTT_LINK (self), FALSE);
  g_return_val_if_fail (length <= G_MAXINT, FALSE);

  if (expires != NULL)
    *expires = FALSE;
  if (self->client == NULL || !g_atomic_int_get (&self->connected))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   _("Not connected to the broker at %s; nothing was sent."), self->uri);
      return FALSE;
    }

  /* Only MQTT 5 can make a message expire. Sent without, a job could
   * reach a printer that comes back after its window: refused instead. */
  if (expiry_seconds > 0 && self->mqtt_version != MQTTVERSION_5)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("The broker at %s speaks MQTT 3.1.1, which cannot make a message expire; Drover does not "
                     "send a job that a printer could still take after its time window. Use an MQTT 5 broker "
                     "for this printer, or send it jobs over HTTP."),
                   self->node != NULL ? self->node : self->uri);
      return FALSE;
    }

  message.payload = (void *)payload;
  message.payloadlen = (int)length;
  message.qos = qos;
  message.retained = FALSE;
  if (self->mqtt_version == MQTTVERSION_5 && expiry_seconds > 0)
    {
      property.identifier = MQTTPROPERTY_CODE_MESSAGE_EXPIRY_INTERVAL;
      property.value.integer4 = expiry_seconds;
      MQTTProperties_add (&message.properties, &property);
      if (expires != NULL)
        *expires = TRUE;
    }

  rc = MQTTAsync_sendMessage (self->client, topic, &message, &options);
  MQTTProperties_free (&message.properties);
  if (rc != MQTTASYNC_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("The message to %s could not be sent (Paho error %d)."), topic, rc);
      return FALSE;
    }

  return TRUE;
}

DroverLinkState
drover_mqtt_link_get_state (DroverMqttLink *self)
{
  g_return_val_if_fail (DROVER_IS_MQTT_LINK (self), DROVER_LINK_STATE_STOPPED);

  return self->state;
}

const char *
drover_mqtt_link_get_status_message (DroverMqttLink *self)
{
  g_return_val_if_fail (DROVER_IS_MQTT_LINK (self), NULL);

  return self->status_message;
}

const char *
drover_mqtt_link_get_uri (DroverMqttLink *self)
{
  g_return_val_if_fail (DROVER_IS_MQTT_LINK (self), NULL);

  return self->uri;
}

/**
 * drover_mqtt_link_get_mqtt_version:
 *
 * Returns: 5, or 4 for MQTT 3.1.1 (the protocol level)
 */
int
drover_mqtt_link_get_mqtt_version (DroverMqttLink *self)
{
  g_return_val_if_fail (DROVER_IS_MQTT_LINK (self), 0);

  return self->mqtt_version;
}

/**
 * drover_mqtt_link_get_n_connects:
 *
 * Returns: how many times the link has connected, reconnections included
 */
guint
drover_mqtt_link_get_n_connects (DroverMqttLink *self)
{
  g_return_val_if_fail (DROVER_IS_MQTT_LINK (self), 0);

  return self->n_connects;
}
