/* drover-telemetry.c: messages in, printers updated
 *
 * Messages arrive on Paho's threads and are decoded there, by the dialect
 * their topic names. The update is merged into the printer's pending one
 * under a lock: telemetry is state, not a log, so only the newest of each
 * field matters. The main context applies the pending updates at most once
 * a frame (16 ms), which keeps 10,000 printers at 1 Hz cheap.
 *
 * A printer whose dialect reports periodically and has said nothing for
 * the offline timeout becomes offline; OctoPrint's plugin publishes only
 * on change, so there Drover trusts its will alone.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-telemetry"

#include "config.h"

#include <string.h>

#include "drover-decode.h"
#include "drover-telemetry.h"

#define FRAME_MS                16
#define DEFAULT_OFFLINE_TIMEOUT 60

#define LAST_MESSAGE_MAX 8192

typedef struct
{
  char         *printer_id;
  DroverUpdate  update;
  char         *last_topic;     /* the newest message, kept for diagnosis */
  GBytes       *last_payload;
} Pending;

typedef struct
{
  char      *topic;
  GBytes    *payload;
  GDateTime *received;
} LastMessage;

static void
last_message_free (LastMessage *message)
{
  g_free (message->topic);
  g_clear_pointer (&message->payload, g_bytes_unref);
  g_clear_pointer (&message->received, g_date_time_unref);
  g_free (message);
}

struct _DroverTelemetry
{
  GObject                parent_instance;

  DroverFleet           *fleet;
  GMainContext          *context;
  GWeakRef               weak_self;

  /* Routes are written before links start and only read afterwards. */
  GHashTable            *routes;      /* "<connector>:<key>" -> printer id */
  guint                  connectors;  /* bit per DroverConnectorKind in use */

  GMutex                 lock;
  GHashTable            *pending;     /* printer id -> Pending, under lock */
  gboolean               flush_scheduled;
  DroverTelemetryCounts  counts;      /* under lock */

  GHashTable            *last_heard;  /* printer id -> gint64 monotonic µs; main thread */
  GHashTable            *last_messages; /* printer id -> LastMessage; main thread */
  GHashTable            *guessed_idle;  /* printer ids idle only because they spoke; main thread */
  guint                  offline_timeout;
  guint                  offline_source;
};

G_DEFINE_FINAL_TYPE (DroverTelemetry, drover_telemetry, G_TYPE_OBJECT)

static void
pending_free (Pending *pending)
{
  g_free (pending->printer_id);
  drover_update_clear (&pending->update);
  g_free (pending->last_topic);
  g_clear_pointer (&pending->last_payload, g_bytes_unref);
  g_free (pending);
}

static void
drover_telemetry_dispose (GObject *object)
{
  DroverTelemetry *self = (DroverTelemetry *)object;

  g_clear_handle_id (&self->offline_source, g_source_remove);
  g_clear_object (&self->fleet);

  G_OBJECT_CLASS (drover_telemetry_parent_class)->dispose (object);
}

static void
drover_telemetry_finalize (GObject *object)
{
  DroverTelemetry *self = (DroverTelemetry *)object;

  g_weak_ref_clear (&self->weak_self);
  g_clear_pointer (&self->routes, g_hash_table_unref);
  g_clear_pointer (&self->pending, g_hash_table_unref);
  g_clear_pointer (&self->last_heard, g_hash_table_unref);
  g_clear_pointer (&self->last_messages, g_hash_table_unref);
  g_clear_pointer (&self->guessed_idle, g_hash_table_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (drover_telemetry_parent_class)->finalize (object);
}

enum { PRINTER_EVENT, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
drover_telemetry_class_init (DroverTelemetryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = drover_telemetry_dispose;
  object_class->finalize = drover_telemetry_finalize;

  /**
   * DroverTelemetry::printer-event:
   * @printer: the printer it happened on
   * @event: what happened
   *
   * Something happened on a printer: a file, a job, a command, an order
   * seen on the broker. Emitted on the main thread, after the state that
   * came with it was applied, each event once and in the order received.
   */
  signals[PRINTER_EVENT] = g_signal_new ("printer-event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                         DROVER_TYPE_PRINTER, DROVER_TYPE_EVENT | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
drover_telemetry_init (DroverTelemetry *self)
{
  g_mutex_init (&self->lock);
  g_weak_ref_init (&self->weak_self, self);
  self->context = g_main_context_ref_thread_default ();
  self->routes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)pending_free);
  self->last_heard = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->last_messages = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)last_message_free);
  self->guessed_idle = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

static gboolean
check_offline_cb (gpointer data)
{
  DroverTelemetry *self = data;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  drover_telemetry_check_offline (self, now);
  return G_SOURCE_CONTINUE;
}

/**
 * drover_telemetry_new:
 * @fleet: the printers to update
 *
 * Returns: (transfer full): a telemetry pipeline with no routes yet
 */
DroverTelemetry *
drover_telemetry_new (DroverFleet *fleet)
{
  DroverTelemetry *self;

  g_return_val_if_fail (DROVER_IS_FLEET (fleet), NULL);

  self = g_object_new (DROVER_TYPE_TELEMETRY, NULL);
  self->fleet = g_object_ref (fleet);
  drover_telemetry_set_offline_timeout (self, DEFAULT_OFFLINE_TIMEOUT);

  return self;
}

static char *
route_key (DroverConnectorKind  connector,
           const char          *key)
{
  return g_strdup_printf ("%d:%s", (int)connector, key);
}

/**
 * drover_telemetry_add_route:
 * @connector: the printer's dialect
 * @key: how its messages name it (see #DroverPrinterEntry)
 * @printer_id: the fleet's id for it
 *
 * Add every route before the links start.
 */
void
drover_telemetry_add_route (DroverTelemetry     *self,
                            DroverConnectorKind  connector,
                            const char          *key,
                            const char          *printer_id)
{
  g_return_if_fail (DROVER_IS_TELEMETRY (self));

  g_hash_table_replace (self->routes, route_key (connector, key), g_strdup (printer_id));
  self->connectors |= 1u << connector;
}

static void
message_cb (const char   *topic,
            const guint8 *payload,
            gsize         length,
            gboolean      retained,
            gpointer      user_data)
{
  drover_telemetry_feed (user_data, topic, payload, length);
}

/**
 * drover_telemetry_attach_link:
 * @link: a link, not started yet
 *
 * Subscribes @link to the topics of the dialects that have routes, and
 * decodes what it receives.
 */
void
drover_telemetry_attach_link (DroverTelemetry *self,
                              DroverMqttLink  *link)
{
  g_return_if_fail (DROVER_IS_TELEMETRY (self));
  g_return_if_fail (DROVER_IS_MQTT_LINK (link));

  drover_mqtt_link_set_message_func (link, message_cb, self);

  if (self->connectors & (1u << DROVER_CONNECTOR_NATIVE))
    {
      drover_mqtt_link_subscribe (link, "drover/v1/+/state", 0);
      drover_mqtt_link_subscribe (link, "drover/v1/+/presence", 1);
      /* What is on the printer, what happened, and who ordered what. */
      drover_mqtt_link_subscribe (link, "drover/v1/+/files", 1);
      drover_mqtt_link_subscribe (link, "drover/v1/+/events", 1);
      drover_mqtt_link_subscribe (link, "drover/v1/+/cmd", 1);
    }
  if (self->connectors & (1u << DROVER_CONNECTOR_MOONRAKER))
    {
      drover_mqtt_link_subscribe (link, "+/klipper/status", 0);
      drover_mqtt_link_subscribe (link, "+/moonraker/status", 0);
      /* JSON-RPC requests over MQTT: anyone's orders to the printer. */
      drover_mqtt_link_subscribe (link, "+/moonraker/api/request", 1);
      /* Answers to the state query Drover sends after each connection. */
      drover_mqtt_link_subscribe (link, "+/moonraker/api/response", 1);
    }
  if (self->connectors & (1u << DROVER_CONNECTOR_OCTOPRINT))
    {
      drover_mqtt_link_subscribe (link, "octoPrint/+/mqtt", 1);
      drover_mqtt_link_subscribe (link, "octoPrint/+/temperature/+", 0);
      drover_mqtt_link_subscribe (link, "octoPrint/+/progress/printing", 0);
      drover_mqtt_link_subscribe (link, "octoPrint/+/event/+", 0);
    }
  if (self->connectors & (1u << DROVER_CONNECTOR_ANYCUBIC))
    {
      drover_mqtt_link_subscribe (link, "anycubic/anycubicCloud/v1/printer/public/+/+/+/report", 0);
      /* Orders to the printers from any client: the 2024 incident's path. */
      drover_mqtt_link_subscribe (link, "anycubic/anycubicCloud/v1/+/printer/+/+/#", 1);
    }
  if (self->connectors & (1u << DROVER_CONNECTOR_BAMBU))
    {
      drover_mqtt_link_subscribe (link, "device/+/report", 0);
      /* Orders to the printer, from Drover or from anyone else. */
      drover_mqtt_link_subscribe (link, "device/+/request", 0);
    }
}

static gboolean
flush_cb (gpointer data)
{
  g_autoptr(DroverTelemetry) self = g_weak_ref_get (data);

  if (self != NULL)
    drover_telemetry_flush (self);

  return G_SOURCE_REMOVE;
}

static void
weak_ref_free (GWeakRef *weak)
{
  g_weak_ref_clear (weak);
  g_free (weak);
}

static void
schedule_flush (DroverTelemetry *self)
{
  GSource *source = g_timeout_source_new (FRAME_MS);
  GWeakRef *weak = g_new0 (GWeakRef, 1);
  GObject *strong = g_weak_ref_get (&self->weak_self);

  g_weak_ref_init (weak, strong);
  g_clear_object (&strong);

  g_source_set_callback (source, flush_cb, weak, (GDestroyNotify)weak_ref_free);
  g_source_attach (source, self->context);
  g_source_unref (source);
}

static DroverDecodeFunc
decoder_for (const char          *topic,
             DroverConnectorKind *connector)
{
  if (g_str_has_prefix (topic, "drover/v1/"))
    {
      *connector = DROVER_CONNECTOR_NATIVE;
      return drover_decode_native;
    }
  if (g_str_has_prefix (topic, "octoPrint/"))
    {
      *connector = DROVER_CONNECTOR_OCTOPRINT;
      return drover_decode_octoprint;
    }
  if (g_str_has_prefix (topic, "device/"))
    {
      *connector = DROVER_CONNECTOR_BAMBU;
      return drover_decode_bambu;
    }
  if (g_str_has_prefix (topic, "anycubic/"))
    {
      *connector = DROVER_CONNECTOR_ANYCUBIC;
      return drover_decode_anycubic;
    }

  *connector = DROVER_CONNECTOR_MOONRAKER;
  return drover_decode_moonraker;
}

/**
 * drover_telemetry_feed:
 *
 * Decodes one message and queues what it says. Safe from any thread; this
 * is what the links call on Paho's threads, and what benchmarks call
 * directly.
 */
void
drover_telemetry_feed (DroverTelemetry *self,
                       const char      *topic,
                       const guint8    *payload,
                       gsize            length)
{
  DroverUpdate update = { 0 };
  DroverConnectorKind connector;
  DroverDecodeFunc decode = decoder_for (topic, &connector);
  g_autofree char *key = NULL;
  g_autofree char *route = NULL;
  DroverDecodeStatus status;
  const char *printer_id = NULL;
  gboolean schedule = FALSE;

  status = decode (topic, payload, length, &key, &update);

  if (status == DROVER_DECODE_OK && key != NULL)
    {
      route = route_key (connector, key);
      printer_id = g_hash_table_lookup (self->routes, route);
    }

  g_mutex_lock (&self->lock);

  self->counts.received++;
  switch (status)
    {
    case DROVER_DECODE_OK:
      if (printer_id == NULL)
        self->counts.unknown_printer++;
      else
        {
          Pending *pending = g_hash_table_lookup (self->pending, printer_id);

          self->counts.decoded++;
          if (pending == NULL)
            {
              pending = g_new0 (Pending, 1);
              pending->printer_id = g_strdup (printer_id);
              g_hash_table_insert (self->pending, pending->printer_id, pending);
            }
          drover_update_merge (&pending->update, &update);
          g_free (pending->last_topic);
          pending->last_topic = g_strdup (topic);
          g_clear_pointer (&pending->last_payload, g_bytes_unref);
          pending->last_payload = g_bytes_new (payload, MIN (length, LAST_MESSAGE_MAX));

          if (!self->flush_scheduled)
            {
              self->flush_scheduled = TRUE;
              schedule = TRUE;
            }
        }
      break;

    case DROVER_DECODE_IGNORED:
      self->counts.ignored++;
      break;

    case DROVER_DECODE_MALFORMED:
      self->counts.malformed++;
      break;

    case DROVER_DECODE_OVERSIZED:
      self->counts.oversized++;
      break;

    default:
      g_assert_not_reached ();
    }

  g_mutex_unlock (&self->lock);

  drover_update_clear (&update);

  if (schedule)
    schedule_flush (self);
}

/**
 * drover_telemetry_queue_event:
 * @printer_id: the fleet's id of the printer
 * @event: (transfer none): what a channel other than MQTT said happened
 *   (Moonraker's WebSocket, an HTTP file list)
 *
 * Queues @event behind the printer's other events, as if a message had
 * said it. Safe from any thread.
 */
void
drover_telemetry_queue_event (DroverTelemetry *self,
                              const char      *printer_id,
                              DroverEvent     *event)
{
  DroverUpdate update = { 0 };

  g_return_if_fail (DROVER_IS_TELEMETRY (self));
  g_return_if_fail (event != NULL);

  update.time_left = -1;
  drover_update_add_event (&update, event);
  drover_telemetry_queue_update (self, printer_id, &update);
  drover_update_clear (&update);
}

/**
 * drover_telemetry_queue_update:
 * @printer_id: the fleet's id of the printer
 * @update: what an answer other than MQTT said (an HTTP poll)
 *
 * Queues @update as if a message had said it. Safe from any thread.
 */
void
drover_telemetry_queue_update (DroverTelemetry    *self,
                               const char         *printer_id,
                               const DroverUpdate *update)
{
  Pending *pending;
  gboolean schedule = FALSE;

  g_return_if_fail (DROVER_IS_TELEMETRY (self));

  g_mutex_lock (&self->lock);
  pending = g_hash_table_lookup (self->pending, printer_id);
  if (pending == NULL)
    {
      pending = g_new0 (Pending, 1);
      pending->printer_id = g_strdup (printer_id);
      g_hash_table_insert (self->pending, pending->printer_id, pending);
    }
  drover_update_merge (&pending->update, update);
  if (!self->flush_scheduled)
    {
      self->flush_scheduled = TRUE;
      schedule = TRUE;
    }
  g_mutex_unlock (&self->lock);

  if (schedule)
    schedule_flush (self);
}

static void
apply (DroverPrinter      *printer,
       const DroverUpdate *update,
       GDateTime          *now)
{
  DroverUpdateFields fields = update->fields;

  drover_printer_set_last_seen (printer, now);

  if (fields & DROVER_UPDATE_ONLINE)
    {
      if (!update->online)
        drover_printer_set_state (printer, DROVER_PRINTER_STATE_OFFLINE);
      else if (drover_printer_get_state (printer) == DROVER_PRINTER_STATE_OFFLINE && !(fields & DROVER_UPDATE_STATE))
        drover_printer_set_state (printer, DROVER_PRINTER_STATE_IDLE);
    }
  else if (!(fields & DROVER_UPDATE_STATE) && drover_printer_get_state (printer) == DROVER_PRINTER_STATE_OFFLINE)
    /* Whoever talks is there. */
    drover_printer_set_state (printer, DROVER_PRINTER_STATE_IDLE);

  if (fields & DROVER_UPDATE_STATE)
    drover_printer_set_state (printer, update->state);
  if (fields & DROVER_UPDATE_HOTEND_TEMPERATURE)
    drover_printer_set_hotend_temperature (printer, update->hotend_temperature);
  if (fields & DROVER_UPDATE_HOTEND_TARGET)
    drover_printer_set_hotend_target (printer, update->hotend_target);
  if (fields & DROVER_UPDATE_BED_TEMPERATURE)
    drover_printer_set_bed_temperature (printer, update->bed_temperature);
  if (fields & DROVER_UPDATE_BED_TARGET)
    drover_printer_set_bed_target (printer, update->bed_target);
  if (fields & DROVER_UPDATE_PROGRESS)
    drover_printer_set_progress (printer, update->progress);
  if (fields & DROVER_UPDATE_TIME_LEFT)
    drover_printer_set_time_left (printer, update->time_left);
  if (fields & DROVER_UPDATE_CURRENT_FILE)
    drover_printer_set_current_file (printer, update->current_file);
  if (fields & DROVER_UPDATE_ERROR_TEXT)
    drover_printer_set_error_text (printer, update->error_text);
  else if ((fields & DROVER_UPDATE_STATE) && update->state != DROVER_PRINTER_STATE_ERROR)
    drover_printer_set_error_text (printer, NULL);
}

/**
 * drover_telemetry_flush:
 *
 * Applies every pending update now. Main thread only.
 */
void
drover_telemetry_flush (DroverTelemetry *self)
{
  g_autoptr(GHashTable) pending = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  gint64 monotonic = g_get_monotonic_time ();
  GHashTableIter iter;
  Pending *item;
  guint64 applied = 0;

  g_return_if_fail (DROVER_IS_TELEMETRY (self));

  g_mutex_lock (&self->lock);
  pending = g_steal_pointer (&self->pending);
  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)pending_free);
  self->flush_scheduled = FALSE;
  g_mutex_unlock (&self->lock);

  g_hash_table_iter_init (&iter, pending);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&item))
    {
      DroverPrinter *printer = drover_fleet_find_printer (self->fleet, item->printer_id);

      if (printer == NULL)
        continue;

      {
        DroverPrinterState before = drover_printer_get_state (printer);
        gboolean guessed = g_hash_table_contains (self->guessed_idle, item->printer_id);

        apply (printer, &item->update, now);
        applied++;

        /* A printer that comes back says "online" before its state: idle
         * is then only a guess, and idle to printing no job start. */
        if (item->update.fields & DROVER_UPDATE_STATE)
          g_hash_table_remove (self->guessed_idle, item->printer_id);
        else if (before == DROVER_PRINTER_STATE_OFFLINE && drover_printer_get_state (printer) == DROVER_PRINTER_STATE_IDLE)
          g_hash_table_add (self->guessed_idle, g_strdup (item->printer_id));

        for (guint i = 0; item->update.events != NULL && i < item->update.events->len; i++)
          g_signal_emit (self, signals[PRINTER_EVENT], 0, printer, g_ptr_array_index (item->update.events, i));

        /* Dialects that only report state (Moonraker, Bambu) start jobs by
         * going from idle to printing: that is the event. The audit folds
         * it with an explicit one for the same job. */
        if ((before == DROVER_PRINTER_STATE_IDLE || before == DROVER_PRINTER_STATE_ERROR) && !guessed &&
            drover_printer_get_state (printer) == DROVER_PRINTER_STATE_PRINTING &&
            drover_printer_get_current_file (printer) != NULL)
          {
            g_autoptr(DroverEvent) started = drover_event_new (DROVER_EVENT_JOB_STARTED);

            started->file = g_strdup (drover_printer_get_current_file (printer));
            g_signal_emit (self, signals[PRINTER_EVENT], 0, printer, started);
          }
      }

      if (item->last_topic != NULL)
        {
          LastMessage *message = g_new0 (LastMessage, 1);

          message->topic = g_steal_pointer (&item->last_topic);
          message->payload = g_steal_pointer (&item->last_payload);
          message->received = g_date_time_ref (now);
          g_hash_table_replace (self->last_messages, g_strdup (item->printer_id), message);
        }

      if (drover_printer_get_connector (printer) != DROVER_CONNECTOR_OCTOPRINT)
        {
          gint64 *heard = g_hash_table_lookup (self->last_heard, item->printer_id);

          if (heard == NULL)
            {
              heard = g_new (gint64, 1);
              g_hash_table_insert (self->last_heard, g_strdup (item->printer_id), heard);
            }
          *heard = monotonic;
        }
    }

  g_mutex_lock (&self->lock);
  self->counts.applied += applied;
  self->counts.flushes++;
  g_mutex_unlock (&self->lock);
}

/**
 * drover_telemetry_get_counts:
 *
 * What came in and what became of it, for the diagnostics view.
 */
void
drover_telemetry_get_counts (DroverTelemetry       *self,
                             DroverTelemetryCounts *counts)
{
  g_return_if_fail (DROVER_IS_TELEMETRY (self));

  g_mutex_lock (&self->lock);
  *counts = self->counts;
  g_mutex_unlock (&self->lock);
}

/**
 * drover_telemetry_set_offline_timeout:
 * @seconds: silence after which a printer that reports periodically is
 *   offline; 0 turns the check off
 */
void
drover_telemetry_set_offline_timeout (DroverTelemetry *self,
                                      guint            seconds)
{
  g_return_if_fail (DROVER_IS_TELEMETRY (self));

  self->offline_timeout = seconds;
  g_clear_handle_id (&self->offline_source, g_source_remove);

  if (seconds > 0)
    self->offline_source = g_timeout_add_seconds (MAX (seconds / 4, 1), check_offline_cb, self);
}

/**
 * drover_telemetry_check_offline:
 * @now: the time to call "since"
 *
 * Marks offline each printer silent for longer than the timeout.
 */
void
drover_telemetry_check_offline (DroverTelemetry *self,
                                GDateTime       *now)
{
  gint64 monotonic = g_get_monotonic_time ();
  GHashTableIter iter;
  const char *printer_id;
  gint64 *heard;

  g_return_if_fail (DROVER_IS_TELEMETRY (self));

  if (self->offline_timeout == 0)
    return;

  g_hash_table_iter_init (&iter, self->last_heard);
  while (g_hash_table_iter_next (&iter, (gpointer *)&printer_id, (gpointer *)&heard))
    {
      DroverPrinter *printer;

      if (monotonic - *heard < (gint64)self->offline_timeout * G_USEC_PER_SEC)
        continue;

      printer = drover_fleet_find_printer (self->fleet, printer_id);
      if (printer != NULL)
        drover_printer_set_state (printer, DROVER_PRINTER_STATE_OFFLINE);
    }
}

/**
 * drover_telemetry_dup_last_message:
 * @printer_id: a printer
 * @topic: (out) (optional): the topic it came on
 * @payload: (out) (optional): its first 8 KiB
 * @received: (out) (optional): when it was applied
 *
 * The newest message that said something about the printer, for diagnosis.
 *
 * Returns: %FALSE when none came yet
 */
gboolean
drover_telemetry_dup_last_message (DroverTelemetry  *self,
                                   const char       *printer_id,
                                   char            **topic,
                                   GBytes          **payload,
                                   GDateTime       **received)
{
  LastMessage *message;

  g_return_val_if_fail (DROVER_IS_TELEMETRY (self), FALSE);

  message = g_hash_table_lookup (self->last_messages, printer_id);
  if (message == NULL)
    return FALSE;

  if (topic != NULL)
    *topic = g_strdup (message->topic);
  if (payload != NULL)
    *payload = g_bytes_ref (message->payload);
  if (received != NULL)
    *received = g_date_time_ref (message->received);

  return TRUE;
}
