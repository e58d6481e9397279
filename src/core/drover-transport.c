/* drover-transport.c: how a signed job reaches a printer
 *
 * One interface for every way Drover hands a job to a printer: an upload
 * to Moonraker or OctoPrint, a job command over MQTT, lines streamed over
 * USB serial. The sender (DroverDispatch) has run the gate; a transport
 * sends the job's own bytes, the ones that were verified.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "drover-transport.h"

G_DEFINE_INTERFACE (DroverTransport, drover_transport, G_TYPE_OBJECT)

static void
drover_transport_default_init (DroverTransportInterface *iface)
{
}

/**
 * drover_transport_send_async:
 * @job: a job that passed the gate for @printer_id
 * @progress: (nullable) (scope notified): how far it got
 *
 * Sends @job's verified bytes (and its signature, where the printer keeps
 * one) to the printer and has it start printing.
 */
void
drover_transport_send_async (DroverTransport         *self,
                             DroverJob               *job,
                             const char              *printer_id,
                             DroverTransportProgress  progress,
                             gpointer                 progress_data,
                             GCancellable            *cancellable,
                             GAsyncReadyCallback      callback,
                             gpointer                 user_data)
{
  g_return_if_fail (DROVER_IS_TRANSPORT (self));
  g_return_if_fail (DROVER_IS_JOB (job));

  DROVER_TRANSPORT_GET_IFACE (self)->send_async (self, job, printer_id, progress, progress_data,
                                                 cancellable, callback, user_data);
}

gboolean
drover_transport_send_finish (DroverTransport  *self,
                              GAsyncResult     *result,
                              GError          **error)
{
  g_return_val_if_fail (DROVER_IS_TRANSPORT (self), FALSE);

  return DROVER_TRANSPORT_GET_IFACE (self)->send_finish (self, result, error);
}

/**
 * drover_transport_get_name:
 *
 * Returns: how it sends, for the ledger: "moonraker", "octoprint",
 *   "mqtt", "serial"
 */
const char *
drover_transport_get_name (DroverTransport *self)
{
  g_return_val_if_fail (DROVER_IS_TRANSPORT (self), NULL);

  return DROVER_TRANSPORT_GET_IFACE (self)->get_name (self);
}
