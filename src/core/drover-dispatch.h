/* drover-dispatch.h: one signed job to many printers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "drover-audit.h"
#include "drover-dispatch-target.h"
#include "drover-job.h"
#include "drover-printer.h"
#include "drover-transport.h"

G_BEGIN_DECLS

#define DROVER_TYPE_DISPATCH (drover_dispatch_get_type ())

G_DECLARE_FINAL_TYPE (DroverDispatch, drover_dispatch, DROVER, DISPATCH, GObject)

/* Uploads at once: enough to keep a farm busy, few enough not to choke
 * the farm's network or the machine Drover runs on. */
#define DROVER_DISPATCH_PARALLEL 4

DroverDispatch  *drover_dispatch_new          (DroverJob               *job,
                                               DroverAudit             *audit,
                                               DroverLedger            *ledger);
DroverDispatchTarget *drover_dispatch_add_target (DroverDispatch       *self,
                                               DroverPrinter           *printer,
                                               DroverTransport         *transport,
                                               const DroverGcodeLimits *limits);
GListModel      *drover_dispatch_get_targets  (DroverDispatch          *self);
guint            drover_dispatch_get_n_eligible (DroverDispatch        *self);
void             drover_dispatch_send_async   (DroverDispatch          *self,
                                               gboolean                 plate_is_clear,
                                               GCancellable            *cancellable,
                                               GAsyncReadyCallback      callback,
                                               gpointer                 user_data);
gboolean         drover_dispatch_send_finish  (DroverDispatch          *self,
                                               GAsyncResult            *result,
                                               guint                   *n_sent,
                                               GError                 **error);

G_END_DECLS
