/* drover-transport.h: how a signed job reaches a printer
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "drover-job.h"

G_BEGIN_DECLS

#define DROVER_TYPE_TRANSPORT (drover_transport_get_type ())

G_DECLARE_INTERFACE (DroverTransport, drover_transport, DROVER, TRANSPORT, GObject)

/**
 * DroverTransportProgress:
 * @fraction: 0 to 1 of the job handed over (uploaded, or streamed)
 * @status: (nullable): a short sentence for the operator
 * @user_data: as given
 *
 * Called on the main context while a job goes out.
 */
typedef void (*DroverTransportProgress) (double      fraction,
                                         const char *status,
                                         gpointer    user_data);

struct _DroverTransportInterface
{
  GTypeInterface parent_iface;

  void     (*send_async)  (DroverTransport         *self,
                           DroverJob               *job,
                           const char              *printer_id,
                           DroverTransportProgress  progress,
                           gpointer                 progress_data,
                           GCancellable            *cancellable,
                           GAsyncReadyCallback      callback,
                           gpointer                 user_data);
  gboolean (*send_finish) (DroverTransport         *self,
                           GAsyncResult            *result,
                           GError                 **error);
  const char * (*get_name) (DroverTransport        *self);
};

void         drover_transport_send_async  (DroverTransport         *self,
                                           DroverJob               *job,
                                           const char              *printer_id,
                                           DroverTransportProgress  progress,
                                           gpointer                 progress_data,
                                           GCancellable            *cancellable,
                                           GAsyncReadyCallback      callback,
                                           gpointer                 user_data);
gboolean     drover_transport_send_finish (DroverTransport         *self,
                                           GAsyncResult            *result,
                                           GError                 **error);
const char  *drover_transport_get_name    (DroverTransport         *self);

G_END_DECLS
