/* drover-serial-transport.c: jobs streamed line by line over USB serial
 *
 * A serial printer has no storage Drover writes to: the job is the stream
 * of its lines, for as long as the print lasts. Sending "succeeds" once
 * the printer has acknowledged the first lines (the dispatch then frees
 * its slot); the stream goes on, and how it ends (completed, cancelled,
 * interrupted when the cable was pulled) goes to the ledger.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "drover-serial-transport.h"

struct _DroverSerialTransport
{
  GObject             parent_instance;

  DroverSerialStream *stream;
  DroverLedger       *ledger;
};

static void transport_iface_init (DroverTransportInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DroverSerialTransport, drover_serial_transport, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (DROVER_TYPE_TRANSPORT, transport_iface_init))

static void
drover_serial_transport_finalize (GObject *object)
{
  DroverSerialTransport *self = (DroverSerialTransport *)object;

  g_clear_object (&self->stream);
  g_clear_object (&self->ledger);

  G_OBJECT_CLASS (drover_serial_transport_parent_class)->finalize (object);
}

static void
drover_serial_transport_class_init (DroverSerialTransportClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = drover_serial_transport_finalize;
}

static void
drover_serial_transport_init (DroverSerialTransport *self)
{
}

/**
 * drover_serial_transport_new:
 * @stream: an open stream to the printer
 * @ledger: (nullable): where each print's outcome goes
 *
 * Returns: (transfer full): a transport over @stream
 */
DroverSerialTransport *
drover_serial_transport_new (DroverSerialStream *stream,
                             DroverLedger       *ledger)
{
  DroverSerialTransport *self;

  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (stream), NULL);

  self = g_object_new (DROVER_TYPE_SERIAL_TRANSPORT, NULL);
  self->stream = g_object_ref (stream);
  self->ledger = ledger != NULL ? g_object_ref (ledger) : NULL;
  return self;
}

typedef struct
{
  DroverSerialTransport   *transport;
  GTask                   *task;          /* until the print has started */
  DroverTransportProgress  progress;
  gpointer                 progress_data;
  char                    *printer_id;
  char                    *job_id;
  char                    *file;
} Print;

static void
print_free (Print *print)
{
  g_clear_object (&print->task);
  g_object_unref (print->transport);
  g_free (print->printer_id);
  g_free (print->job_id);
  g_free (print->file);
  g_free (print);
}

static void
progress_cb (DroverSerialStream *stream,
             guint64             lines_done,
             guint64             lines_total,
             gpointer            user_data)
{
  Print *print = user_data;

  if (print->task != NULL && lines_done > 0)
    {
      g_autoptr(GTask) task = g_steal_pointer (&print->task);

      if (print->progress != NULL)
        print->progress (1.0, _("Printing: the printer takes the lines as they come"), print->progress_data);
      g_task_return_boolean (task, TRUE);
    }
}

static void
printed_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Print *print = user_data;
  DroverSerialOutcome outcome = DROVER_SERIAL_OUTCOME_NONE;
  g_autoptr(GError) error = NULL;
  const char *words;

  drover_serial_stream_print_finish (DROVER_SERIAL_STREAM (source), result, &outcome, &error);

  switch (outcome)
    {
    case DROVER_SERIAL_OUTCOME_COMPLETED: words = "completed"; break;
    case DROVER_SERIAL_OUTCOME_CANCELLED: words = "cancelled"; break;
    case DROVER_SERIAL_OUTCOME_INTERRUPTED: words = "interrupted"; break;
    case DROVER_SERIAL_OUTCOME_FAILED:
    case DROVER_SERIAL_OUTCOME_NONE:
    default: words = "failed"; break;
    }

  if (print->transport->ledger != NULL)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *body = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "job");
      json_builder_add_string_value (builder, print->job_id);
      json_builder_set_member_name (builder, "transport");
      json_builder_add_string_value (builder, "serial");
      json_builder_set_member_name (builder, "result");
      json_builder_add_string_value (builder, words);
      if (error != NULL)
        {
          json_builder_set_member_name (builder, "error");
          json_builder_add_string_value (builder, error->message);
        }
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      body = json_to_string (root, FALSE);
      drover_ledger_append (print->transport->ledger, DROVER_LEDGER_KIND_JOB_OBSERVED, print->printer_id,
                            print->file, body);
    }

  /* It ended before it began: the send failed. */
  if (print->task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&print->task);

      if (error != NULL)
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, _("The print ended before it began (%s)."), words);
    }

  print_free (print);
}

static void
serial_send_async (DroverTransport         *transport,
                   DroverJob               *job,
                   const char              *printer_id,
                   DroverTransportProgress  progress,
                   gpointer                 progress_data,
                   GCancellable            *cancellable,
                   GAsyncReadyCallback      callback,
                   gpointer                 user_data)
{
  DroverSerialTransport *self = DROVER_SERIAL_TRANSPORT (transport);
  Print *print = g_new0 (Print, 1);

  print->transport = g_object_ref (self);
  print->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (print->task, serial_send_async);
  print->progress = progress;
  print->progress_data = progress_data;
  print->printer_id = g_strdup (printer_id);
  print->job_id = g_strdup (drover_job_get_manifest (job)->job_id);
  print->file = g_strdup (drover_job_get_name (job));

  if (progress != NULL)
    progress (0.0, _("Starting the stream"), progress_data);
  /* The verified bytes, streamed; the dispatch's cancellable stops only
   * the wait, the print is stopped from the printer's page. */
  drover_serial_stream_print_async (self->stream, drover_job_get_content (job), NULL,
                                    progress_cb, print, NULL, printed_cb, print);
}

static gboolean
serial_send_finish (DroverTransport  *transport,
                    GAsyncResult     *result,
                    GError          **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static const char *
serial_get_name (DroverTransport *transport)
{
  return "serial";
}

static void
transport_iface_init (DroverTransportInterface *iface)
{
  iface->send_async = serial_send_async;
  iface->send_finish = serial_send_finish;
  iface->get_name = serial_get_name;
}
