/* drover-audit.h: what is on the printers, against what Drover sent
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "drover-alert.h"
#include "drover-event.h"
#include "drover-fleet.h"
#include "drover-gcode-scan.h"
#include "drover-ledger.h"

G_BEGIN_DECLS

#define DROVER_TYPE_AUDIT (drover_audit_get_type ())

G_DECLARE_FINAL_TYPE (DroverAudit, drover_audit, DROVER, AUDIT, GObject)

/**
 * DroverAuditFetchFunc:
 * @printer: the printer that holds the file
 * @file: its name on the printer
 * @destination: where to write the file's content
 * @cancellable: (nullable): to give up
 * @callback: called when done; the result finishes with
 *   g_task_propagate_boolean(); G_IO_ERROR_NOT_SUPPORTED when the
 *   printer's connector cannot fetch files
 * @user_data: for @callback
 * @func_data: what was given with the function
 *
 * Fetches a file's content from a printer, so the audit can scan it.
 */
typedef void (*DroverAuditFetchFunc) (DroverPrinter       *printer,
                                      const char          *file,
                                      GFile               *destination,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data,
                                      gpointer             func_data);

DroverAudit   *drover_audit_new                  (DroverFleet          *fleet);
void           drover_audit_set_ledger           (DroverAudit          *self,
                                                  DroverLedger         *ledger);
DroverLedger  *drover_audit_get_ledger           (DroverAudit          *self);
gboolean       drover_audit_get_ready            (DroverAudit          *self);
void           drover_audit_set_fetch_func       (DroverAudit          *self,
                                                  DroverAuditFetchFunc  func,
                                                  gpointer              func_data,
                                                  GDestroyNotify        destroy);
void           drover_audit_set_incident_window  (DroverAudit          *self,
                                                  guint                 seconds);
void           drover_audit_set_allowed_hosts    (DroverAudit          *self,
                                                  const char * const   *hosts);
void           drover_audit_set_operator         (DroverAudit          *self,
                                                  const char           *operator_name);
const char    *drover_audit_get_operator         (DroverAudit          *self);
void           drover_audit_set_limits           (DroverAudit          *self,
                                                  const DroverGcodeLimits *limits);
GListModel    *drover_audit_get_alerts           (DroverAudit          *self);
GListModel    *drover_audit_get_files            (DroverAudit          *self,
                                                  const char           *printer_id);
DroverAlert   *drover_audit_find_alert           (DroverAudit          *self,
                                                  const char           *alert_id);
guint          drover_audit_get_n_open_alerts    (DroverAudit          *self);
void           drover_audit_handle_event         (DroverAudit          *self,
                                                  DroverPrinter        *printer,
                                                  DroverEvent          *event);
void           drover_audit_note_sent_file       (DroverAudit          *self,
                                                  const char           *printer_id,
                                                  const char           *name,
                                                  gint64                size,
                                                  const char           *sha256,
                                                  const char           *job_id,
                                                  const char           *signer);
void           drover_audit_note_own_request     (DroverAudit          *self,
                                                  const char           *request_id);
void           drover_audit_note_own_start       (DroverAudit          *self,
                                                  const char           *printer_id,
                                                  const char           *file);
void           drover_audit_acknowledge          (DroverAudit          *self,
                                                  DroverAlert          *alert);
void           drover_audit_approve_file         (DroverAudit          *self,
                                                  const char           *printer_id,
                                                  const char           *name);
void           drover_audit_note_file_deleted    (DroverAudit          *self,
                                                  const char           *printer_id,
                                                  const char           *name);

G_END_DECLS
