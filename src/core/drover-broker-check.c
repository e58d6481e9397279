/* drover-broker-check.c: how safely a broker is set up, told in words
 *
 * Four questions, asked with real connections, one after the other:
 * does the broker let in a client without credentials, does it take
 * connections without TLS, may a client subscribe to “#” and read other
 * printers' topics, and may a client publish to another printer's command
 * topic (the hole behind the 2024 incident). mosquitto drops a publish
 * its access rules deny without telling the sender, so the last one is
 * answered by a second connection listening for the probe: not delivered
 * within PROBE_WAIT_MS means denied.
 *
 * Everything runs on the caller's main context; Paho's threads only record
 * what they saw. Every wait is bounded.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-broker-check"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <MQTTAsync.h>
#include <string.h>

#include "drover-broker-check.h"
#include "drover-mqtt-link.h"

#define CONNECT_WAIT_MS   12000
#define SUBACK_WAIT_MS    5000
#define PROBE_WAIT_MS     2000
#define SETTLE_MS         300
#define POLL_MS           50
#define PLAIN_PORT        1883
#define SUBSCRIBE_REFUSED 0x80

G_DEFINE_QUARK (drover-broker-check-error-quark, drover_broker_check_error)

typedef struct _BrokerCheck BrokerCheck;
typedef void (*LinkWaitFunc) (GTask *task, DroverLinkState state);

/* The subscription to “#” needs Paho itself: the link does not say what
 * the SUBACK granted. Paho's threads write here under the lock. */
typedef struct
{
  GMutex    lock;
  MQTTAsync client;
  int       connected;   /* 0 waiting, 1 connected, -1 failed */
  int       granted;     /* -1 waiting, else the granted QoS or SUBSCRIBE_REFUSED */
  char     *foreign_topic;
} WildcardProbe;

struct _BrokerCheck
{
  char           *uri;
  char           *username;
  char           *password;
  char           *ca_file;
  char           *host;
  char           *id;
  char           *probe_topic;
  gboolean        tls;

  GPtrArray      *findings;

  DroverMqttLink *main_link;
  DroverMqttLink *other_link;   /* the anonymous, plain or listening connection */
  gint            probe_seen;   /* atomic */

  DroverMqttLink *waiting;
  gulong          waiting_handler;
  guint           waiting_timeout;
  LinkWaitFunc    waiting_done;
  DroverLinkState waiting_state;

  WildcardProbe   wildcard;
  gint64          deadline;
  guint           source;
};

static void
clear_wildcard (WildcardProbe *wildcard)
{
  /* After this no callback of this client runs. */
  if (wildcard->client != NULL)
    {
      if (MQTTAsync_isConnected (wildcard->client))
        {
          MQTTAsync_disconnectOptions options = MQTTAsync_disconnectOptions_initializer;

          options.timeout = 500;
          MQTTAsync_disconnect (wildcard->client, &options);
        }
      MQTTAsync_destroy (&wildcard->client);
      wildcard->client = NULL;
    }
  g_clear_pointer (&wildcard->foreign_topic, g_free);
}

static void
stop_link (DroverMqttLink **link)
{
  if (*link != NULL)
    drover_mqtt_link_stop (*link);
  g_clear_object (link);
}

static void
clear_waiting (BrokerCheck *check)
{
  if (check->waiting != NULL)
    g_clear_signal_handler (&check->waiting_handler, check->waiting);
  g_clear_handle_id (&check->waiting_timeout, g_source_remove);
  check->waiting = NULL;
}

static void
broker_check_free (BrokerCheck *check)
{
  clear_waiting (check);
  g_clear_handle_id (&check->source, g_source_remove);
  clear_wildcard (&check->wildcard);
  g_mutex_clear (&check->wildcard.lock);
  stop_link (&check->main_link);
  stop_link (&check->other_link);
  g_clear_pointer (&check->findings, g_ptr_array_unref);
  g_free (check->uri);
  g_free (check->username);
  if (check->password != NULL)
    memset (check->password, 0, strlen (check->password));
  g_free (check->password);
  g_free (check->ca_file);
  g_free (check->host);
  g_free (check->id);
  g_free (check->probe_topic);
  g_free (check);
}

/**
 * drover_broker_finding_free:
 * @finding: (transfer full) (nullable): a finding
 */
void
drover_broker_finding_free (DroverBrokerFinding *finding)
{
  if (finding == NULL)
    return;

  g_free (finding->sentence);
  g_free (finding);
}

static void
add_finding (BrokerCheck         *check,
             DroverBrokerCheck    what,
             DroverBrokerVerdict  verdict,
             char                *sentence)
{
  DroverBrokerFinding *finding = g_new0 (DroverBrokerFinding, 1);

  finding->check = what;
  finding->verdict = verdict;
  finding->sentence = sentence;
  g_ptr_array_add (check->findings, finding);
}

static BrokerCheck *
task_check (GTask *task)
{
  return g_task_get_task_data (task);
}

/* Returns TRUE, and ends the task, when the caller gave up. */
static gboolean
return_if_cancelled (GTask *task)
{
  return g_task_return_error_if_cancelled (task);
}

static DroverMqttLink *
new_link (BrokerCheck *check,
          const char  *uri,
          const char  *role,
          gboolean     with_credentials)
{
  g_autofree char *client_id = g_strdup_printf ("drover-check-%s-%s", check->id, role);
  DroverMqttLink *link = drover_mqtt_link_new (uri, client_id);

  if (with_credentials && check->username != NULL)
    drover_mqtt_link_set_credentials (link, check->username, check->password);
  if (g_str_has_prefix (uri, "ssl://") || g_str_has_prefix (uri, "mqtts://"))
    drover_mqtt_link_set_tls (link, check->ca_file, NULL, NULL, TRUE);

  return link;
}

/* Waiting for a link to connect, be refused, or fail to get through */

static gboolean
waiting_done_cb (gpointer data)
{
  GTask *task = data;
  BrokerCheck *check = task_check (task);
  LinkWaitFunc done = check->waiting_done;

  check->waiting_done = NULL;
  if (!return_if_cancelled (task))
    done (task, check->waiting_state);

  return G_SOURCE_REMOVE;
}

/* The step goes on from an idle: it may stop the very link whose
 * notification brought us here. */
static void
finish_wait (GTask           *task,
             DroverLinkState  state)
{
  BrokerCheck *check = task_check (task);

  /* Held first: clearing the wait drops the timeout's reference. */
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, waiting_done_cb, g_object_ref (task), g_object_unref);
  clear_waiting (check);
  check->waiting_state = state;
}

static void
waiting_state_cb (DroverMqttLink *link,
                  GParamSpec     *pspec,
                  GTask          *task)
{
  DroverLinkState state = drover_mqtt_link_get_state (link);

  if (state == DROVER_LINK_STATE_CONNECTED ||
      state == DROVER_LINK_STATE_REFUSED ||
      state == DROVER_LINK_STATE_RETRYING)
    finish_wait (task, state);
}

static gboolean
waiting_timeout_cb (gpointer data)
{
  GTask *task = data;

  task_check (task)->waiting_timeout = 0;
  finish_wait (task, DROVER_LINK_STATE_CONNECTING);

  return G_SOURCE_REMOVE;
}

/* Calls @done with CONNECTED, REFUSED, RETRYING (could not get through),
 * or CONNECTING when nothing happened in time. */
static void
wait_for_link (GTask          *task,
               DroverMqttLink *link,
               LinkWaitFunc    done)
{
  BrokerCheck *check = task_check (task);
  g_autoptr(GError) error = NULL;

  check->waiting = link;
  check->waiting_done = done;
  check->waiting_handler = g_signal_connect (link, "notify::state", G_CALLBACK (waiting_state_cb), task);
  check->waiting_timeout = g_timeout_add_full (G_PRIORITY_DEFAULT, CONNECT_WAIT_MS, waiting_timeout_cb,
                                               g_object_ref (task), g_object_unref);

  if (!drover_mqtt_link_start (link, &error))
    finish_wait (task, DROVER_LINK_STATE_REFUSED);
}

/* Runs @func every @interval_ms, holding the task, until it says stop. */
static void
poll_task (GTask       *task,
           guint        interval_ms,
           GSourceFunc  func)
{
  BrokerCheck *check = task_check (task);

  check->source = g_timeout_add_full (G_PRIORITY_DEFAULT, interval_ms, func, g_object_ref (task), g_object_unref);
}

/* The steps, in order */

static void check_anonymous (GTask *task);
static void check_unencrypted (GTask *task);
static void check_read_all (GTask *task);
static void check_command_others (GTask *task);

static void
finish_check (GTask *task)
{
  BrokerCheck *check = task_check (task);

  stop_link (&check->main_link);
  stop_link (&check->other_link);
  clear_wildcard (&check->wildcard);
  g_task_return_pointer (task, g_ptr_array_ref (check->findings), (GDestroyNotify)g_ptr_array_unref);
}

static void
main_link_done (GTask           *task,
                DroverLinkState  state)
{
  BrokerCheck *check = task_check (task);

  if (state != DROVER_LINK_STATE_CONNECTED)
    {
      const char *why = drover_mqtt_link_get_status_message (check->main_link);

      /* The link's own words for a refusal say what to fix; its words for
       * a failure promise retries this check does not make. */
      if (state == DROVER_LINK_STATE_REFUSED && why != NULL)
        g_task_return_new_error (task, DROVER_BROKER_CHECK_ERROR, DROVER_BROKER_CHECK_ERROR_CONNECT,
                                 _("%s Nothing was checked."), why);
      else if (state == DROVER_LINK_STATE_RETRYING && check->tls)
        g_task_return_new_error (task, DROVER_BROKER_CHECK_ERROR, DROVER_BROKER_CHECK_ERROR_CONNECT,
                                 _("Cannot reach the broker at %s, or its certificate is not trusted or does not "
                                   "name the host; nothing was checked. Check the address and the CA file."),
                                 check->uri);
      else if (state == DROVER_LINK_STATE_RETRYING)
        g_task_return_new_error (task, DROVER_BROKER_CHECK_ERROR, DROVER_BROKER_CHECK_ERROR_CONNECT,
                                 _("Cannot reach the broker at %s; nothing was checked. Check the address and "
                                   "the port."), check->uri);
      else
        g_task_return_new_error (task, DROVER_BROKER_CHECK_ERROR, DROVER_BROKER_CHECK_ERROR_CONNECT,
                                 _("The broker at %s did not answer within %d seconds; nothing was checked."),
                                 check->uri, CONNECT_WAIT_MS / 1000);
      return;
    }

  check_anonymous (task);
}

/* 1. Anonymous clients */

static void
anonymous_done (GTask           *task,
                DroverLinkState  state)
{
  BrokerCheck *check = task_check (task);

  if (state == DROVER_LINK_STATE_CONNECTED)
    add_finding (check, DROVER_BROKER_CHECK_ANONYMOUS, DROVER_BROKER_VERDICT_PROBLEM,
                 g_strdup_printf (_("The broker at %s accepts clients without a user name or password: "
                                    "anyone who can reach it can connect. Set “allow_anonymous false” "
                                    "and give every printer and console an account."), check->uri));
  else if (state == DROVER_LINK_STATE_REFUSED)
    add_finding (check, DROVER_BROKER_CHECK_ANONYMOUS, DROVER_BROKER_VERDICT_OK,
                 g_strdup_printf (_("The broker at %s refuses clients without a user name and password."), check->uri));
  else
    add_finding (check, DROVER_BROKER_CHECK_ANONYMOUS, DROVER_BROKER_VERDICT_UNKNOWN,
                 g_strdup_printf (_("Could not tell whether the broker at %s accepts clients without credentials: "
                                    "a connection without them neither got in nor was refused."), check->uri));

  stop_link (&check->other_link);
  check_unencrypted (task);
}

static void
check_anonymous (GTask *task)
{
  BrokerCheck *check = task_check (task);

  /* The check itself got in without credentials: that is the answer. */
  if (check->username == NULL)
    {
      anonymous_done (task, DROVER_LINK_STATE_CONNECTED);
      return;
    }

  check->other_link = new_link (check, check->uri, "anonymous", FALSE);
  wait_for_link (task, check->other_link, anonymous_done);
}

/* 2. Unencrypted connections */

static void
unencrypted_done (GTask           *task,
                  DroverLinkState  state)
{
  BrokerCheck *check = task_check (task);
  g_autofree char *plain = g_strdup_printf ("tcp://%s:%d", check->host, PLAIN_PORT);

  if (state == DROVER_LINK_STATE_CONNECTED)
    add_finding (check, DROVER_BROKER_CHECK_UNENCRYPTED, DROVER_BROKER_VERDICT_PROBLEM,
                 g_strdup_printf (_("The broker also accepts unencrypted connections at %s: user names, passwords "
                                    "and commands can travel there in clear. Remove the plain listener."), plain));
  else if (state == DROVER_LINK_STATE_REFUSED)
    add_finding (check, DROVER_BROKER_CHECK_UNENCRYPTED, DROVER_BROKER_VERDICT_PROBLEM,
                 g_strdup_printf (_("Something at %s speaks MQTT without encryption (it refused these credentials): "
                                    "a client that uses it sends its password in clear. Remove the plain listener."),
                                  plain));
  else if (state == DROVER_LINK_STATE_RETRYING)
    add_finding (check, DROVER_BROKER_CHECK_UNENCRYPTED, DROVER_BROKER_VERDICT_OK,
                 g_strdup_printf (_("The broker takes encrypted connections, and nothing answers MQTT without "
                                    "encryption at %s."), plain));
  else
    add_finding (check, DROVER_BROKER_CHECK_UNENCRYPTED, DROVER_BROKER_VERDICT_UNKNOWN,
                 g_strdup_printf (_("Could not tell whether the broker accepts unencrypted connections: %s "
                                    "did not answer in time."), plain));

  stop_link (&check->other_link);
  check_read_all (task);
}

static void
check_unencrypted (GTask *task)
{
  BrokerCheck *check = task_check (task);
  g_autofree char *plain = NULL;

  if (!check->tls)
    {
      add_finding (check, DROVER_BROKER_CHECK_UNENCRYPTED, DROVER_BROKER_VERDICT_PROBLEM,
                   g_strdup_printf (_("%s is not encrypted: user names, passwords, print jobs and commands "
                                      "travel in clear. Give the broker a TLS listener and use an ssl:// address."),
                                    check->uri));
      check_read_all (task);
      return;
    }

  plain = g_strdup_printf ("tcp://%s:%d", check->host, PLAIN_PORT);
  check->other_link = new_link (check, plain, "plain", TRUE);
  wait_for_link (task, check->other_link, unencrypted_done);
}

/* 3. Subscribing to “#” */

static int
wildcard_message_cb (void              *context,
                     char              *topic,
                     int                topic_length,
                     MQTTAsync_message *message)
{
  WildcardProbe *wildcard = context;
  g_autofree char *name = topic_length > 0 ? g_strndup (topic, topic_length) : g_strdup (topic);

  /* This client publishes nothing: every message is someone else's. */
  g_mutex_lock (&wildcard->lock);
  if (wildcard->foreign_topic == NULL)
    wildcard->foreign_topic = g_steal_pointer (&name);
  g_mutex_unlock (&wildcard->lock);

  MQTTAsync_freeMessage (&message);
  MQTTAsync_free (topic);

  return 1;
}

static void
wildcard_set (WildcardProbe *wildcard,
              int           *field,
              int            value)
{
  g_mutex_lock (&wildcard->lock);
  *field = value;
  g_mutex_unlock (&wildcard->lock);
}

static void
wildcard_connected_cb (void                  *context,
                       MQTTAsync_successData *response)
{
  WildcardProbe *wildcard = context;

  wildcard_set (wildcard, &wildcard->connected, 1);
}

static void
wildcard_connect_failed_cb (void                  *context,
                            MQTTAsync_failureData *response)
{
  WildcardProbe *wildcard = context;

  wildcard_set (wildcard, &wildcard->connected, -1);
}

static void
wildcard_subscribed_cb (void                  *context,
                        MQTTAsync_successData *response)
{
  WildcardProbe *wildcard = context;

  wildcard_set (wildcard, &wildcard->granted, response != NULL ? response->alt.qos : 0);
}

static void
wildcard_subscribe_failed_cb (void                  *context,
                              MQTTAsync_failureData *response)
{
  WildcardProbe *wildcard = context;

  /* Paho reports a SUBACK of 0x80 as a failure. */
  wildcard_set (wildcard, &wildcard->granted, SUBSCRIBE_REFUSED);
}

static void
read_all_verdict (BrokerCheck *check,
                  int          connected,
                  int          granted,
                  const char  *foreign_topic)
{
  if (connected != 1)
    add_finding (check, DROVER_BROKER_CHECK_READ_ALL, DROVER_BROKER_VERDICT_UNKNOWN,
                 g_strdup (_("Could not tell whether a client may read every topic: the connection for "
                             "that test did not get through.")));
  else if (foreign_topic != NULL)
    add_finding (check, DROVER_BROKER_CHECK_READ_ALL, DROVER_BROKER_VERDICT_PROBLEM,
                 g_strdup_printf (_("A client with these credentials may subscribe to “#” and read other "
                                    "clients' topics: it received a message on “%s”. Give each account access "
                                    "rules that allow only its own topics."), foreign_topic));
  else if (granted == SUBSCRIBE_REFUSED)
    add_finding (check, DROVER_BROKER_CHECK_READ_ALL, DROVER_BROKER_VERDICT_OK,
                 g_strdup (_("The broker refuses a subscription to “#”: a client with these credentials "
                             "cannot read every printer's topics.")));
  else if (granted < 0)
    add_finding (check, DROVER_BROKER_CHECK_READ_ALL, DROVER_BROKER_VERDICT_UNKNOWN,
                 g_strdup (_("Could not tell whether a client may read every topic: the broker did not "
                             "answer the subscription to “#” in time.")));
  else
    add_finding (check, DROVER_BROKER_CHECK_READ_ALL, DROVER_BROKER_VERDICT_UNKNOWN,
                 g_strdup_printf (_("The broker granted a subscription to “#”, but no other client's message "
                                    "arrived within %d seconds: its access rules may filter them, or nothing "
                                    "was published. Could not tell."), PROBE_WAIT_MS / 1000));
}

typedef enum
{
  WILDCARD_CONNECTING,
  WILDCARD_SUBSCRIBING,
  WILDCARD_LISTENING,
} WildcardPhase;

static gboolean
wildcard_poll_cb (gpointer data)
{
  GTask *task = data;
  BrokerCheck *check = task_check (task);
  WildcardProbe *wildcard = &check->wildcard;
  WildcardPhase phase = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (task), "drover-wildcard-phase"));
  gboolean past_deadline = g_get_monotonic_time () >= check->deadline;
  g_autofree char *foreign_topic = NULL;
  int connected;
  int granted;

  if (return_if_cancelled (task))
    {
      check->source = 0;
      return G_SOURCE_REMOVE;
    }

  g_mutex_lock (&wildcard->lock);
  connected = wildcard->connected;
  granted = wildcard->granted;
  foreign_topic = g_strdup (wildcard->foreign_topic);
  g_mutex_unlock (&wildcard->lock);

  switch (phase)
    {
    case WILDCARD_CONNECTING:
      if (connected == 1)
        {
          MQTTAsync_responseOptions options = MQTTAsync_responseOptions_initializer;

          options.onSuccess = wildcard_subscribed_cb;
          options.onFailure = wildcard_subscribe_failed_cb;
          options.context = wildcard;
          if (MQTTAsync_subscribe (wildcard->client, "#", 0, &options) != MQTTASYNC_SUCCESS)
            break;
          g_object_set_data (G_OBJECT (task), "drover-wildcard-phase", GINT_TO_POINTER (WILDCARD_SUBSCRIBING));
          check->deadline = g_get_monotonic_time () + SUBACK_WAIT_MS * G_TIME_SPAN_MILLISECOND;
          return G_SOURCE_CONTINUE;
        }
      if (connected == 0 && !past_deadline)
        return G_SOURCE_CONTINUE;
      break;

    case WILDCARD_SUBSCRIBING:
      if (granted >= 0 && granted != SUBSCRIBE_REFUSED && foreign_topic == NULL)
        {
          g_object_set_data (G_OBJECT (task), "drover-wildcard-phase", GINT_TO_POINTER (WILDCARD_LISTENING));
          check->deadline = g_get_monotonic_time () + PROBE_WAIT_MS * G_TIME_SPAN_MILLISECOND;
          return G_SOURCE_CONTINUE;
        }
      if (granted < 0 && foreign_topic == NULL && !past_deadline)
        return G_SOURCE_CONTINUE;
      break;

    case WILDCARD_LISTENING:
    default:
      if (foreign_topic == NULL && !past_deadline)
        return G_SOURCE_CONTINUE;
      break;
    }

  check->source = 0;
  read_all_verdict (check, connected, granted, foreign_topic);
  clear_wildcard (wildcard);
  check_command_others (task);

  return G_SOURCE_REMOVE;
}

static void
check_read_all (GTask *task)
{
  BrokerCheck *check = task_check (task);
  WildcardProbe *wildcard = &check->wildcard;
  MQTTAsync_createOptions create_options = MQTTAsync_createOptions_initializer;
  MQTTAsync_connectOptions options = MQTTAsync_connectOptions_initializer;
  MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
  g_autofree char *client_id = g_strdup_printf ("drover-check-%s-wildcard", check->id);

  if (return_if_cancelled (task))
    return;

  wildcard->connected = 0;
  wildcard->granted = -1;
  create_options.MQTTVersion = MQTTVERSION_3_1_1;
  if (MQTTAsync_createWithOptions (&wildcard->client, check->uri, client_id,
                                   MQTTCLIENT_PERSISTENCE_NONE, NULL, &create_options) != MQTTASYNC_SUCCESS)
    {
      wildcard->client = NULL;
      wildcard->connected = -1;
    }
  else
    {
      MQTTAsync_setCallbacks (wildcard->client, wildcard, NULL, wildcard_message_cb, NULL);

      options.keepAliveInterval = 30;
      options.cleansession = 1;
      options.MQTTVersion = MQTTVERSION_3_1_1;
      options.connectTimeout = CONNECT_WAIT_MS / 1000;
      options.onSuccess = wildcard_connected_cb;
      options.onFailure = wildcard_connect_failed_cb;
      options.context = wildcard;
      options.username = check->username;
      options.password = check->password;
      if (check->tls)
        {
          ssl.trustStore = check->ca_file;
          ssl.enableServerCertAuth = 1;
          ssl.verify = 1;
          ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
          options.ssl = &ssl;
        }

      if (MQTTAsync_connect (wildcard->client, &options) != MQTTASYNC_SUCCESS)
        wildcard->connected = -1;
    }

  g_object_set_data (G_OBJECT (task), "drover-wildcard-phase", GINT_TO_POINTER (WILDCARD_CONNECTING));
  check->deadline = g_get_monotonic_time () + CONNECT_WAIT_MS * G_TIME_SPAN_MILLISECOND;
  poll_task (task, POLL_MS, wildcard_poll_cb);
}

/* 4. Publishing to another printer's command topic */

static void
probe_message_cb (const char   *topic,
                  const guint8 *payload,
                  gsize         length,
                  gboolean      retained,
                  gpointer      user_data)
{
  BrokerCheck *check = user_data;

  if (g_strcmp0 (topic, check->probe_topic) == 0)
    g_atomic_int_set (&check->probe_seen, TRUE);
}

static gboolean
probe_wait_cb (gpointer data)
{
  GTask *task = data;
  BrokerCheck *check = task_check (task);
  gboolean seen = g_atomic_int_get (&check->probe_seen);

  if (return_if_cancelled (task))
    {
      check->source = 0;
      return G_SOURCE_REMOVE;
    }

  if (!seen && g_get_monotonic_time () < check->deadline)
    return G_SOURCE_CONTINUE;

  check->source = 0;
  if (seen)
    add_finding (check, DROVER_BROKER_CHECK_COMMAND_OTHERS, DROVER_BROKER_VERDICT_PROBLEM,
                 g_strdup_printf (_("A client with these credentials may publish to another printer's command "
                                    "topic: a harmless probe sent to “%s” was delivered. This is how a stolen "
                                    "printer account can start jobs on every printer; allow each account to "
                                    "write only its own topics."), check->probe_topic));
  else
    add_finding (check, DROVER_BROKER_CHECK_COMMAND_OTHERS, DROVER_BROKER_VERDICT_OK,
                 g_strdup_printf (_("The broker did not deliver a probe sent to another printer's command topic "
                                    "(“%s”) within %d seconds: its access rules deny it."),
                                  check->probe_topic, PROBE_WAIT_MS / 1000));

  finish_check (task);
  return G_SOURCE_REMOVE;
}

static gboolean
send_probe_cb (gpointer data)
{
  GTask *task = data;
  BrokerCheck *check = task_check (task);
  static const char probe[] = "{\"drover-broker-check\":\"probe\",\"action\":\"none\"}";
  g_autoptr(GError) error = NULL;

  check->source = 0;
  if (return_if_cancelled (task))
    return G_SOURCE_REMOVE;

  if (!drover_mqtt_link_publish (check->main_link, check->probe_topic, probe, strlen (probe), 1, FALSE, &error))
    {
      add_finding (check, DROVER_BROKER_CHECK_COMMAND_OTHERS, DROVER_BROKER_VERDICT_UNKNOWN,
                   g_strdup_printf (_("Could not tell whether a client may command another printer: %s"),
                                    error->message));
      finish_check (task);
      return G_SOURCE_REMOVE;
    }

  check->deadline = g_get_monotonic_time () + PROBE_WAIT_MS * G_TIME_SPAN_MILLISECOND;
  poll_task (task, POLL_MS, probe_wait_cb);
  return G_SOURCE_REMOVE;
}

static void
listener_done (GTask           *task,
               DroverLinkState  state)
{
  BrokerCheck *check = task_check (task);

  if (state != DROVER_LINK_STATE_CONNECTED)
    {
      add_finding (check, DROVER_BROKER_CHECK_COMMAND_OTHERS, DROVER_BROKER_VERDICT_UNKNOWN,
                   g_strdup (_("Could not tell whether a client may command another printer: the second "
                               "connection that listens for the probe did not get through.")));
      finish_check (task);
      return;
    }

  /* The link subscribes as it connects; give the broker a moment to
   * register that before the probe goes out. */
  poll_task (task, SETTLE_MS, send_probe_cb);
}

static void
check_command_others (GTask *task)
{
  BrokerCheck *check = task_check (task);

  if (return_if_cancelled (task))
    return;

  check->other_link = new_link (check, check->uri, "listener", TRUE);
  drover_mqtt_link_set_message_func (check->other_link, probe_message_cb, check);
  drover_mqtt_link_subscribe (check->other_link, check->probe_topic, 1);
  wait_for_link (task, check->other_link, listener_done);
}

static gboolean
split_uri (const char  *uri,
           char       **host,
           gboolean    *tls)
{
  const char *rest = strstr (uri, "://");
  const char *colon;
  g_autofree char *scheme = NULL;

  if (rest == NULL)
    return FALSE;

  scheme = g_ascii_strdown (uri, rest - uri);
  if (g_str_equal (scheme, "ssl") || g_str_equal (scheme, "mqtts"))
    *tls = TRUE;
  else if (g_str_equal (scheme, "tcp") || g_str_equal (scheme, "mqtt"))
    *tls = FALSE;
  else
    return FALSE;

  rest += 3;
  colon = strrchr (rest, ':');
  if (colon == NULL || colon == rest)
    return FALSE;

  *host = g_strndup (rest, colon - rest);
  return TRUE;
}

/**
 * drover_broker_check_async:
 * @uri: the broker, `ssl://host:port` or `tcp://host:port`
 * @username: (nullable): the account to check with, best a printer's
 * @password: (nullable): its password
 * @ca_file: (nullable): the CA that signed the broker's certificate, or
 *   %NULL for the system's
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the check is done
 * @user_data: for @callback
 *
 * Connects to the broker as a client would and finds out whether it lets
 * in anonymous clients, takes unencrypted connections, lets a client read
 * every topic, and lets a client publish to another printer's command
 * topic. The probe it publishes is harmless and goes to a printer that
 * does not exist. Takes some seconds; every wait is bounded.
 */
void
drover_broker_check_async (const char          *uri,
                           const char          *username,
                           const char          *password,
                           const char          *ca_file,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  BrokerCheck *check;

  g_return_if_fail (uri != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, drover_broker_check_async);

  check = g_new0 (BrokerCheck, 1);
  g_mutex_init (&check->wildcard.lock);
  check->uri = g_strdup (uri);
  check->username = g_strdup (username);
  check->password = g_strdup (password);
  check->ca_file = g_strdup (ca_file);
  check->id = g_strdup_printf ("%08x", g_random_int ());
  check->probe_topic = g_strdup_printf ("drover/v1/drover-probe-%s/cmd", check->id);
  check->findings = g_ptr_array_new_with_free_func ((GDestroyNotify)drover_broker_finding_free);
  g_task_set_task_data (task, check, (GDestroyNotify)broker_check_free);

  if (!split_uri (uri, &check->host, &check->tls))
    {
      g_task_return_new_error (task, DROVER_BROKER_CHECK_ERROR, DROVER_BROKER_CHECK_ERROR_CONNECT,
                               _("“%s” is not a broker address: use ssl://host:port or tcp://host:port."), uri);
      return;
    }

  check->main_link = new_link (check, uri, "main", TRUE);
  wait_for_link (task, check->main_link, main_link_done);
}

/**
 * drover_broker_check_finish:
 *
 * Returns: (transfer container) (element-type DroverBrokerFinding): one
 *   finding per question asked, or %NULL when the check could not connect
 *   at all, with @error set
 */
GPtrArray *
drover_broker_check_finish (GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
