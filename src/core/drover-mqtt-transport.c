/* drover-mqtt-transport.c: jobs as a native job command over MQTT
 *
 * docs/protocol.md: `drover/v1/<printer>/cmd` with command `job`, the
 * file in base64 and its signature, QoS 1 and never retained. With MQTT 5
 * the message expires at the manifest's not-after, so a broker never
 * hands a printer that was away a job past its window; nothing is sent
 * while the link is down (drover_mqtt_link_publish_expiring()).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "drover-mqtt-transport.h"

struct _DroverMqttTransport
{
  GObject                      parent_instance;

  DroverMqttLink              *link;
  char                        *printer_key;
  DroverMqttTransportNoteFunc  note_request;
  gpointer                     note_data;
};

static void transport_iface_init (DroverTransportInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DroverMqttTransport, drover_mqtt_transport, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (DROVER_TYPE_TRANSPORT, transport_iface_init))

static void
drover_mqtt_transport_finalize (GObject *object)
{
  DroverMqttTransport *self = (DroverMqttTransport *)object;

  g_clear_object (&self->link);
  g_free (self->printer_key);

  G_OBJECT_CLASS (drover_mqtt_transport_parent_class)->finalize (object);
}

static void
drover_mqtt_transport_class_init (DroverMqttTransportClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = drover_mqtt_transport_finalize;
}

static void
drover_mqtt_transport_init (DroverMqttTransport *self)
{
}

/**
 * drover_mqtt_transport_new:
 * @printer_key: the printer's id in its topics
 * @note_request: (nullable): told each command's id before it goes out, so
 *   the audit knows the order on the broker is Drover's own
 *
 * Returns: (transfer full): a transport to that printer
 */
DroverMqttTransport *
drover_mqtt_transport_new (DroverMqttLink              *link,
                           const char                  *printer_key,
                           DroverMqttTransportNoteFunc  note_request,
                           gpointer                     note_data)
{
  DroverMqttTransport *self;

  g_return_val_if_fail (DROVER_IS_MQTT_LINK (link), NULL);
  g_return_val_if_fail (printer_key != NULL, NULL);

  self = g_object_new (DROVER_TYPE_MQTT_TRANSPORT, NULL);
  self->link = g_object_ref (link);
  self->printer_key = g_strdup (printer_key);
  self->note_request = note_request;
  self->note_data = note_data;
  return self;
}

static void
mqtt_send_async (DroverTransport         *transport,
                 DroverJob               *job,
                 const char              *printer_id,
                 DroverTransportProgress  progress,
                 gpointer                 progress_data,
                 GCancellable            *cancellable,
                 GAsyncReadyCallback      callback,
                 gpointer                 user_data)
{
  DroverMqttTransport *self = DROVER_MQTT_TRANSPORT (transport);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *id = g_uuid_string_random ();
  g_autofree char *topic = g_strconcat ("drover/v1/", self->printer_key, "/cmd", NULL);
  g_autofree char *content = NULL;
  g_autofree char *payload = NULL;
  GBytes *bytes = drover_job_get_content (job);
  gint64 left = drover_job_get_manifest (job)->not_after - g_get_real_time () / G_USEC_PER_SEC;
  GError *error = NULL;
  gboolean expires;

  g_task_set_source_tag (task, mqtt_send_async);
  if (left <= 0)
    {
      g_task_return_new_error (task, DROVER_JOB_ERROR, DROVER_JOB_ERROR_EXPIRED, _("The job expired before it was sent."));
      return;
    }

  content = g_base64_encode (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "v");
  json_builder_add_int_value (builder, 1);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, id);
  json_builder_set_member_name (builder, "command");
  json_builder_add_string_value (builder, "job");
  json_builder_set_member_name (builder, "file");
  json_builder_add_string_value (builder, drover_job_get_name (job));
  json_builder_set_member_name (builder, "content");
  json_builder_add_string_value (builder, content);
  json_builder_set_member_name (builder, "signature");
  json_builder_add_string_value (builder, drover_job_get_signature_text (job));
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  payload = json_to_string (root, FALSE);

  if (self->note_request != NULL)
    self->note_request (id, self->note_data);
  if (!drover_mqtt_link_publish_expiring (self->link, topic, payload, strlen (payload), 1,
                                          (guint)MIN (left, (gint64)G_MAXUINT32), &expires, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (progress != NULL)
    progress (1.0, expires ? _("Sent; the broker drops it if the printer does not take it in time")
                           : _("Sent"), progress_data);
  g_task_return_boolean (task, TRUE);
}

static gboolean
mqtt_send_finish (DroverTransport  *transport,
                  GAsyncResult     *result,
                  GError          **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static const char *
mqtt_get_name (DroverTransport *transport)
{
  return "mqtt";
}

static void
transport_iface_init (DroverTransportInterface *iface)
{
  iface->send_async = mqtt_send_async;
  iface->send_finish = mqtt_send_finish;
  iface->get_name = mqtt_get_name;
}
