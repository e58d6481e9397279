/* drover-dispatch.c: one signed job to many printers
 *
 * The most asked-for farm feature: pick printers, see each one's verdict,
 * confirm the plates are clear, and watch each upload. Each printer runs
 * the gate's per-printer steps when it is added (target, window, replay,
 * scan, and whether Drover can reach it now); a refusal is recorded in the
 * ledger with its reason. Sending asks the operator's "plate is clear"
 * first, records each job in the ledger (so its file on the printer is
 * expected), then sends at most DROVER_DISPATCH_PARALLEL at a time.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "drover-dispatch.h"

typedef struct
{
  DroverDispatchTarget *target;
  DroverTransport      *transport;   /* NULL when refused */
} Entry;

struct _DroverDispatch
{
  GObject       parent_instance;

  DroverJob    *job;
  DroverAudit  *audit;
  DroverLedger *ledger;
  GListStore   *targets;
  GPtrArray    *entries;     /* Entry */
  GTask        *task;        /* while sending */
  guint         next;
  guint         running;
  guint         sent;
};

G_DEFINE_FINAL_TYPE (DroverDispatch, drover_dispatch, G_TYPE_OBJECT)

static void
entry_free (Entry *entry)
{
  g_clear_object (&entry->target);
  g_clear_object (&entry->transport);
  g_free (entry);
}

static void
drover_dispatch_finalize (GObject *object)
{
  DroverDispatch *self = (DroverDispatch *)object;

  g_clear_object (&self->job);
  g_clear_object (&self->audit);
  g_clear_object (&self->ledger);
  g_clear_object (&self->targets);
  g_clear_pointer (&self->entries, g_ptr_array_unref);

  G_OBJECT_CLASS (drover_dispatch_parent_class)->finalize (object);
}

static void
drover_dispatch_class_init (DroverDispatchClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = drover_dispatch_finalize;
}

static void
drover_dispatch_init (DroverDispatch *self)
{
  self->targets = g_list_store_new (DROVER_TYPE_DISPATCH_TARGET);
  self->entries = g_ptr_array_new_with_free_func ((GDestroyNotify)entry_free);
}

/**
 * drover_dispatch_new:
 * @job: a job that loaded (drover_job_load())
 * @audit: (nullable): told what Drover sends, so it is expected
 * @ledger: (nullable): where refusals go
 *
 * Returns: (transfer full): a dispatch with no printer yet
 */
DroverDispatch *
drover_dispatch_new (DroverJob    *job,
                     DroverAudit  *audit,
                     DroverLedger *ledger)
{
  DroverDispatch *self;

  g_return_val_if_fail (DROVER_IS_JOB (job), NULL);

  self = g_object_new (DROVER_TYPE_DISPATCH, NULL);
  self->job = g_object_ref (job);
  self->audit = audit != NULL ? g_object_ref (audit) : NULL;
  self->ledger = ledger != NULL ? g_object_ref (ledger) : NULL;
  return self;
}

static void
record (DroverDispatch *self,
        const char     *kind,
        const char     *printer_id,
        const char     *transport,
        const char     *result)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *body = NULL;

  if (self->ledger == NULL)
    return;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "job");
  json_builder_add_string_value (builder, drover_job_get_manifest (self->job)->job_id);
  json_builder_set_member_name (builder, "size");
  json_builder_add_int_value (builder, (gint64)g_bytes_get_size (drover_job_get_content (self->job)));
  json_builder_set_member_name (builder, "sha256");
  json_builder_add_string_value (builder, drover_job_get_sha256 (self->job));
  json_builder_set_member_name (builder, "signer");
  json_builder_add_string_value (builder, drover_job_get_key_id (self->job));
  if (transport != NULL)
    {
      json_builder_set_member_name (builder, "transport");
      json_builder_add_string_value (builder, transport);
    }
  json_builder_set_member_name (builder, "result");
  json_builder_add_string_value (builder, result);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  body = json_to_string (root, FALSE);
  drover_ledger_append (self->ledger, kind, printer_id, drover_job_get_name (self->job), body);
}

/**
 * drover_dispatch_add_target:
 * @printer: a printer the operator picked
 * @transport: (nullable): how Drover reaches it; %NULL when it cannot
 * @limits: (nullable): the printer's own limits
 *
 * Runs the gate's per-printer steps. A refused printer stays in the list
 * with its reason, and the refusal is in the ledger.
 *
 * Returns: (transfer none): the printer's line in the list
 */
DroverDispatchTarget *
drover_dispatch_add_target (DroverDispatch          *self,
                            DroverPrinter           *printer,
                            DroverTransport         *transport,
                            const DroverGcodeLimits *limits)
{
  Entry *entry;
  g_autoptr(GError) error = NULL;
  const char *printer_id;

  g_return_val_if_fail (DROVER_IS_DISPATCH (self), NULL);
  g_return_val_if_fail (DROVER_IS_PRINTER (printer), NULL);
  g_return_val_if_fail (self->task == NULL, NULL);

  printer_id = drover_printer_get_id (printer);
  entry = g_new0 (Entry, 1);
  entry->target = drover_dispatch_target_new (printer_id, drover_printer_get_display_name (printer));
  g_ptr_array_add (self->entries, entry);
  g_list_store_append (self->targets, entry->target);

  if (!drover_job_check_printer (self->job, printer_id, limits, g_get_real_time () / G_USEC_PER_SEC, &error))
    ;
  else if (transport == NULL)
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, _("Drover cannot send jobs to this printer yet."));
  /* Never queued for later: a printer that is away gets nothing. */
  else if (drover_printer_get_state (printer) == DROVER_PRINTER_STATE_OFFLINE)
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, _("The printer is offline; a job is never queued for later."));
  else if (drover_printer_get_state (printer) == DROVER_PRINTER_STATE_PRINTING ||
           drover_printer_get_state (printer) == DROVER_PRINTER_STATE_PAUSED)
    g_set_error (&error, G_IO_ERROR, G_IO_ERROR_BUSY, _("The printer is busy with another job."));

  if (error != NULL)
    {
      drover_dispatch_target_update (entry->target, DROVER_DISPATCH_REFUSED, error->message, 0);
      record (self, DROVER_LEDGER_KIND_JOB_REFUSED, printer_id, NULL, error->message);
      return entry->target;
    }

  entry->transport = g_object_ref (transport);
  drover_dispatch_target_update (entry->target, DROVER_DISPATCH_ELIGIBLE, _("Ready to send"), 0);
  return entry->target;
}

/**
 * drover_dispatch_get_targets:
 *
 * Returns: (transfer none): the printers (#DroverDispatchTarget), in the
 *   order they were added
 */
GListModel *
drover_dispatch_get_targets (DroverDispatch *self)
{
  g_return_val_if_fail (DROVER_IS_DISPATCH (self), NULL);
  return G_LIST_MODEL (self->targets);
}

guint
drover_dispatch_get_n_eligible (DroverDispatch *self)
{
  guint n = 0;

  g_return_val_if_fail (DROVER_IS_DISPATCH (self), 0);

  for (guint i = 0; i < self->entries->len; i++)
    n += ((Entry *)g_ptr_array_index (self->entries, i))->transport != NULL;
  return n;
}

static void start_next (DroverDispatch *self);

typedef struct
{
  DroverDispatch *dispatch;
  Entry          *entry;
} Sending;

static void
progress_cb (double      fraction,
             const char *status,
             gpointer    user_data)
{
  Sending *sending = user_data;

  drover_dispatch_target_update (sending->entry->target, DROVER_DISPATCH_SENDING,
                                 status != NULL ? status : _("Sending"), fraction);
}

static void
sent_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Sending *sending = user_data;
  DroverDispatch *self = sending->dispatch;
  Entry *entry = sending->entry;
  g_autoptr(GError) error = NULL;
  const char *printer_id = drover_dispatch_target_get_printer_id (entry->target);

  if (drover_transport_send_finish (DROVER_TRANSPORT (source), result, &error))
    {
      self->sent++;
      drover_dispatch_target_update (entry->target, DROVER_DISPATCH_SENT, _("Sent; the printer starts it"), 1);
      record (self, DROVER_LEDGER_KIND_COMMAND_SENT, printer_id, drover_transport_get_name (entry->transport), "sent");
    }
  else
    {
      drover_dispatch_target_update (entry->target, DROVER_DISPATCH_FAILED, error->message,
                                     drover_dispatch_target_get_progress (entry->target));
      record (self, DROVER_LEDGER_KIND_COMMAND_SENT, printer_id, drover_transport_get_name (entry->transport),
              error->message);
    }

  self->running--;
  g_free (sending);
  start_next (self);
  g_object_unref (self);
}

static void
start_next (DroverDispatch *self)
{
  while (self->running < DROVER_DISPATCH_PARALLEL && self->next < self->entries->len)
    {
      Entry *entry = g_ptr_array_index (self->entries, self->next++);
      Sending *sending;
      const char *printer_id;

      if (entry->transport == NULL)
        continue;

      printer_id = drover_dispatch_target_get_printer_id (entry->target);
      /* In the ledger before the first byte: the file that appears on the
       * printer is Drover's, and the job id is spent. */
      if (self->audit != NULL)
        {
          drover_audit_note_sent_file (self->audit, printer_id, drover_job_get_name (self->job),
                                       (gint64)g_bytes_get_size (drover_job_get_content (self->job)),
                                       drover_job_get_sha256 (self->job),
                                       drover_job_get_manifest (self->job)->job_id, drover_job_get_key_id (self->job));
          drover_audit_note_own_start (self->audit, printer_id, drover_job_get_name (self->job));
          /* Where the signature travels beside the file, it is Drover's too. */
          {
            g_autofree char *signature_name = g_strconcat (drover_job_get_name (self->job), ".minisig", NULL);

            drover_audit_note_sent_file (self->audit, printer_id, signature_name,
                                         (gint64)strlen (drover_job_get_signature_text (self->job)), NULL,
                                         drover_job_get_manifest (self->job)->job_id, drover_job_get_key_id (self->job));
          }
        }
      else
        record (self, DROVER_LEDGER_KIND_JOB_SENT, printer_id, drover_transport_get_name (entry->transport), "sending");

      sending = g_new0 (Sending, 1);
      sending->dispatch = self;
      sending->entry = entry;
      self->running++;
      drover_dispatch_target_update (entry->target, DROVER_DISPATCH_SENDING, _("Sending"), 0);
      drover_transport_send_async (entry->transport, self->job, printer_id, progress_cb, sending,
                                   g_task_get_cancellable (self->task), sent_cb, sending);
      g_object_ref (self);
    }

  if (self->running == 0 && self->next >= self->entries->len && self->task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->task);

      g_task_return_boolean (task, TRUE);
    }
}

/**
 * drover_dispatch_send_async:
 * @plate_is_clear: the operator confirmed each plate is clear
 *
 * Sends the job to every eligible printer, at most
 * DROVER_DISPATCH_PARALLEL at once. Without the operator's confirmation
 * nothing is sent: the gate's last step.
 */
void
drover_dispatch_send_async (DroverDispatch      *self,
                            gboolean             plate_is_clear,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (DROVER_IS_DISPATCH (self));
  g_return_if_fail (self->task == NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, drover_dispatch_send_async);

  if (!plate_is_clear)
    {
      for (guint i = 0; i < self->entries->len; i++)
        {
          Entry *entry = g_ptr_array_index (self->entries, i);

          if (entry->transport == NULL)
            continue;
          drover_dispatch_target_update (entry->target, DROVER_DISPATCH_REFUSED,
                                         _("Not sent: the plate was not confirmed clear."), 0);
          record (self, DROVER_LEDGER_KIND_JOB_REFUSED, drover_dispatch_target_get_printer_id (entry->target),
                  NULL, "plate not confirmed clear");
          g_clear_object (&entry->transport);
        }
      g_task_return_new_error (task, DROVER_JOB_ERROR, DROVER_JOB_ERROR_PLATE_NOT_CLEAR,
                               _("Nothing was sent: confirm that each printer's plate is clear first."));
      return;
    }

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->transport != NULL)
        drover_dispatch_target_update (entry->target, DROVER_DISPATCH_WAITING, _("Waiting for its turn"), 0);
    }

  self->task = g_steal_pointer (&task);
  self->next = 0;
  self->sent = 0;
  start_next (self);
}

/**
 * drover_dispatch_send_finish:
 * @n_sent: (out) (optional): how many printers took the job
 *
 * Returns: %FALSE only when nothing could be tried (no confirmation);
 *   each printer's own outcome is on its target
 */
gboolean
drover_dispatch_send_finish (DroverDispatch  *self,
                             GAsyncResult    *result,
                             guint           *n_sent,
                             GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (n_sent != NULL)
    *n_sent = self->sent;
  return g_task_propagate_boolean (G_TASK (result), error);
}
