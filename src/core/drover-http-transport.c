/* drover-http-transport.c: jobs uploaded to Moonraker or OctoPrint
 *
 * Moonraker: the signature goes up first as `NAME.minisig` beside the
 * file, then the file with its SHA-256 `checksum` (Moonraker refuses a
 * mismatch) and `print=true`. OctoPrint takes only printable files, so the
 * signature travels in the upload's `userdata`, which OctoPrint keeps as
 * the file's metadata; `select` and `print` start it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "drover-http-transport.h"

struct _DroverHttpTransport
{
  GObject              parent_instance;

  SoupSession         *session;
  DroverConnectorKind  connector;
  char                *base_url;
  char                *api_key;
};

static void transport_iface_init (DroverTransportInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DroverHttpTransport, drover_http_transport, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (DROVER_TYPE_TRANSPORT, transport_iface_init))

static void
drover_http_transport_finalize (GObject *object)
{
  DroverHttpTransport *self = (DroverHttpTransport *)object;

  g_clear_object (&self->session);
  g_free (self->base_url);
  g_free (self->api_key);

  G_OBJECT_CLASS (drover_http_transport_parent_class)->finalize (object);
}

static void
drover_http_transport_class_init (DroverHttpTransportClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = drover_http_transport_finalize;
}

static void
drover_http_transport_init (DroverHttpTransport *self)
{
}

/**
 * drover_http_transport_new:
 * @connector: %DROVER_CONNECTOR_MOONRAKER or %DROVER_CONNECTOR_OCTOPRINT
 * @base_url: the printer's HTTP API, as the inventory's `http`
 * @api_key: (nullable): its API key
 *
 * Returns: (transfer full): a transport to that printer
 */
DroverHttpTransport *
drover_http_transport_new (SoupSession         *session,
                           DroverConnectorKind  connector,
                           const char          *base_url,
                           const char          *api_key)
{
  DroverHttpTransport *self;

  g_return_val_if_fail (SOUP_IS_SESSION (session), NULL);
  g_return_val_if_fail (connector == DROVER_CONNECTOR_MOONRAKER || connector == DROVER_CONNECTOR_OCTOPRINT, NULL);
  g_return_val_if_fail (base_url != NULL, NULL);

  self = g_object_new (DROVER_TYPE_HTTP_TRANSPORT, NULL);
  self->session = g_object_ref (session);
  self->connector = connector;
  self->base_url = g_strdup (base_url);
  self->api_key = g_strdup (api_key);
  return self;
}

typedef struct
{
  DroverJob               *job;
  DroverTransportProgress  progress;
  gpointer                 progress_data;
  goffset                  total;
  goffset                  written;
} Send;

static void
send_free (Send *send)
{
  g_object_unref (send->job);
  g_free (send);
}

static SoupMessage *
upload_message (DroverHttpTransport *self,
                SoupMultipart       *multipart)
{
  g_autofree char *url = g_strconcat (self->base_url,
                                      self->connector == DROVER_CONNECTOR_MOONRAKER ? "/server/files/upload"
                                                                                   : "/api/files/local",
                                      NULL);
  SoupMessage *message = soup_message_new (SOUP_METHOD_POST, url);
  GBytes *body = NULL;

  if (message == NULL)
    return NULL;
  soup_multipart_to_message (multipart, soup_message_get_request_headers (message), &body);
  soup_message_set_request_body_from_bytes (message, NULL, body);
  g_bytes_unref (body);
  if (self->api_key != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (message), "X-Api-Key", self->api_key);

  return message;
}

static void
wrote_cb (SoupMessage *message,
          guint        chunk,
          GTask       *task)
{
  Send *send = g_task_get_task_data (task);

  send->written += chunk;
  if (send->progress != NULL && send->total > 0)
    send->progress (MIN (1.0, (double)send->written / send->total), NULL, send->progress_data);
}

static gboolean
check_answer (SoupMessage  *message,
              GBytes       *body,
              GError      **error)
{
  guint status = message != NULL ? soup_message_get_status (message) : 0;

  if (SOUP_STATUS_IS_SUCCESSFUL (status))
    return TRUE;

  /* Both servers say why in their body; show a little of it. */
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("The printer refused the job: %u %s%s%.*s"),
               status, message != NULL ? soup_message_get_reason_phrase (message) : "",
               body != NULL && g_bytes_get_size (body) > 0 ? ": " : "",
               body != NULL ? (int)MIN (g_bytes_get_size (body), 200) : 0,
               body != NULL ? (const char *)g_bytes_get_data (body, NULL) : "");
  return FALSE;
}

static void
file_sent_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Send *send = g_task_get_task_data (task);
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  GError *error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);

  if (message != NULL)
    g_signal_handlers_disconnect_by_func (message, wrote_cb, task);
  if (body == NULL || !check_answer (message, body, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (send->progress != NULL)
    send->progress (1.0, _("Uploaded; the printer starts it"), send->progress_data);
  g_task_return_boolean (task, TRUE);
}

static void
send_file (GTask *task)
{
  DroverHttpTransport *self = g_task_get_source_object (task);
  Send *send = g_task_get_task_data (task);
  g_autoptr(SoupMultipart) multipart = soup_multipart_new (SOUP_FORM_MIME_TYPE_MULTIPART);
  g_autoptr(SoupMessage) message = NULL;

  soup_multipart_append_form_file (multipart, "file", drover_job_get_name (send->job), "application/octet-stream",
                                   drover_job_get_content (send->job));
  if (self->connector == DROVER_CONNECTOR_MOONRAKER)
    {
      soup_multipart_append_form_string (multipart, "root", "gcodes");
      soup_multipart_append_form_string (multipart, "checksum", drover_job_get_sha256 (send->job));
      soup_multipart_append_form_string (multipart, "print", "true");
    }
  else
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *userdata = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "drover");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "job");
      json_builder_add_string_value (builder, drover_job_get_manifest (send->job)->job_id);
      json_builder_set_member_name (builder, "signature");
      json_builder_add_string_value (builder, drover_job_get_signature_text (send->job));
      json_builder_end_object (builder);
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      userdata = json_to_string (root, FALSE);

      soup_multipart_append_form_string (multipart, "userdata", userdata);
      soup_multipart_append_form_string (multipart, "select", "true");
      soup_multipart_append_form_string (multipart, "print", "true");
    }

  message = upload_message (self, multipart);
  if (message == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("The printer's address is not valid."));
      return;
    }
  send->total = g_bytes_get_size (drover_job_get_content (send->job));
  send->written = 0;
  g_signal_connect (message, "wrote-body-data", G_CALLBACK (wrote_cb), task);
  soup_session_send_and_read_async (self->session, message, G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                                    file_sent_cb, g_object_ref (task));
}

static void
signature_sent_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  GError *error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);

  if (body == NULL || !check_answer (message, body, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  send_file (task);
}

static void
http_send_async (DroverTransport         *transport,
                 DroverJob               *job,
                 const char              *printer_id,
                 DroverTransportProgress  progress,
                 gpointer                 progress_data,
                 GCancellable            *cancellable,
                 GAsyncReadyCallback      callback,
                 gpointer                 user_data)
{
  DroverHttpTransport *self = DROVER_HTTP_TRANSPORT (transport);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  Send *send = g_new0 (Send, 1);

  send->job = g_object_ref (job);
  send->progress = progress;
  send->progress_data = progress_data;
  g_task_set_source_tag (task, http_send_async);
  g_task_set_task_data (task, send, (GDestroyNotify)send_free);

  /* The signature first: when the print starts, it is already there. */
  if (self->connector == DROVER_CONNECTOR_MOONRAKER)
    {
      g_autoptr(SoupMultipart) multipart = soup_multipart_new (SOUP_FORM_MIME_TYPE_MULTIPART);
      g_autofree char *name = g_strconcat (drover_job_get_name (job), ".minisig", NULL);
      const char *text = drover_job_get_signature_text (job);
      g_autoptr(GBytes) signature = g_bytes_new (text, strlen (text));
      g_autoptr(SoupMessage) message = NULL;

      soup_multipart_append_form_file (multipart, "file", name, "text/plain", signature);
      soup_multipart_append_form_string (multipart, "root", "gcodes");
      message = upload_message (self, multipart);
      if (message == NULL)
        {
          g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("The printer's address is not valid."));
          return;
        }
      if (progress != NULL)
        progress (0.0, _("Uploading the signature"), progress_data);
      soup_session_send_and_read_async (self->session, message, G_PRIORITY_DEFAULT, cancellable,
                                        signature_sent_cb, g_steal_pointer (&task));
      return;
    }

  send_file (task);
}

static gboolean
http_send_finish (DroverTransport  *transport,
                  GAsyncResult     *result,
                  GError          **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static const char *
http_get_name (DroverTransport *transport)
{
  return DROVER_HTTP_TRANSPORT (transport)->connector == DROVER_CONNECTOR_MOONRAKER ? "moonraker" : "octoprint";
}

static void
transport_iface_init (DroverTransportInterface *iface)
{
  iface->send_async = http_send_async;
  iface->send_finish = http_send_finish;
  iface->get_name = http_get_name;
}
