/* drover-job.c: a signed print job, and the gate it must pass
 *
 * A job is a G-code file and a minisign signature beside it whose trusted
 * comment is the manifest (docs/job-format.md). Loading reads the file
 * once into a private copy: the bytes verified are the bytes sent, even if
 * the file on disk changes afterwards. The gate runs in the order of
 * DESIGN.md and stops at the first failure, with a sentence the operator
 * understands:
 *
 *   1. size limit
 *   2. a signature, by a trusted key that was not revoked, that matches
 *   3. the manifest parses
 *   4. the job names this printer           } drover_job_check_printer()
 *   5. now is inside its window (5 min skew) }
 *   6. its id was never sent before          }
 *   7. the G-code scan is within the limits  }
 *   8. the operator confirmed the plate is clear (the sender's part)
 *
 * Loading does 1–3 and reads what 6 and 7 need in a worker; the rest is
 * per printer and per moment.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "drover-job.h"
#include "drover-minisign.h"

struct _DroverJob
{
  GObject             parent_instance;

  char               *name;
  GBytes             *content;
  char               *signature_text;
  char               *sha256;
  char               *key_id;
  char               *signer;
  DroverManifest     *manifest;
  DroverGcodeReport  *report;
  gboolean            replayed;
};

G_DEFINE_FINAL_TYPE (DroverJob, drover_job, G_TYPE_OBJECT)

G_DEFINE_QUARK (drover-job-error-quark, drover_job_error)

static void
drover_job_finalize (GObject *object)
{
  DroverJob *self = (DroverJob *)object;

  g_free (self->name);
  g_clear_pointer (&self->content, g_bytes_unref);
  g_free (self->signature_text);
  g_free (self->sha256);
  g_free (self->key_id);
  g_free (self->signer);
  g_clear_pointer (&self->manifest, drover_manifest_free);
  g_clear_pointer (&self->report, drover_gcode_report_free);

  G_OBJECT_CLASS (drover_job_parent_class)->finalize (object);
}

static void
drover_job_class_init (DroverJobClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = drover_job_finalize;
}

static void
drover_job_init (DroverJob *self)
{
}

static gboolean
job_was_sent (DroverLedger *ledger,
              const char   *job_id,
              gboolean     *sent,
              GError      **error)
{
  DroverLedgerQuery query = { 0 };
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *needle = g_strdup_printf ("\"job\":\"%s\"", job_id);

  query.kind = DROVER_LEDGER_KIND_JOB_SENT;
  query.text = needle;
  query.limit = 1;
  rows = drover_ledger_query (ledger, &query, error);
  if (rows == NULL)
    return FALSE;

  *sent = rows->len > 0;
  return TRUE;
}

/* The gate's refusals before any printer is named are in the ledger too. */
static void
record_refusal (DroverLedger *ledger,
                GFile        *file,
                const GError *error)
{
  g_autofree char *basename = g_file_get_basename (file);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *body = NULL;

  if (ledger == NULL || error == NULL)
    return;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "result");
  json_builder_add_string_value (builder, error->message);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  body = json_to_string (root, FALSE);
  drover_ledger_append (ledger, DROVER_LEDGER_KIND_JOB_REFUSED, NULL, basename, body);
}

static DroverJob *load_unrecorded (GFile *file, GFile *signature, DroverTrustStore *trust, DroverLedger *ledger,
                                   GCancellable *cancellable, GError **error);

/**
 * drover_job_load:
 * @file: the G-code file
 * @signature: (nullable): its signature; `FILE.minisig` when %NULL
 * @trust: the keys whose jobs this farm takes
 * @ledger: (nullable): to tell a job sent before; without it no job is
 *   taken for a replay
 *
 * Reads and checks a job: size, signature by a trusted key, manifest; and
 * scans its G-code. Blocking: call it in a worker, or use
 * drover_job_load_async().
 *
 * Returns: (transfer full): the job, or %NULL with a #DroverJobError that
 *   says in words what is wrong
 */
DroverJob *
drover_job_load (GFile             *file,
                 GFile             *signature,
                 DroverTrustStore  *trust,
                 DroverLedger      *ledger,
                 GCancellable      *cancellable,
                 GError           **error)
{
  GError *local_error = NULL;
  DroverJob *job;

  g_return_val_if_fail (G_IS_FILE (file), NULL);
  g_return_val_if_fail (trust != NULL, NULL);

  job = load_unrecorded (file, signature, trust, ledger, cancellable, &local_error);
  if (job == NULL)
    {
      record_refusal (ledger, file, local_error);
      g_propagate_error (error, local_error);
    }

  return job;
}

static DroverJob *
load_unrecorded (GFile             *file,
                 GFile             *signature,
                 DroverTrustStore  *trust,
                 DroverLedger      *ledger,
                 GCancellable      *cancellable,
                 GError           **error)
{
  g_autoptr(DroverJob) self = NULL;
  g_autoptr(GFileInfo) info = NULL;
  g_autoptr(GFile) signature_file = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(DroverSignature) parsed = NULL;
  g_autofree char *basename = NULL;
  g_autofree char *signature_data = NULL;
  const DroverTrustedKey *trusted;
  DroverGcodeLimits limits;
  DroverGcodeScan *scan;


  self = g_object_new (DROVER_TYPE_JOB, NULL);
  basename = g_file_get_basename (file);
  self->name = g_strdup (basename);

  /* 1. Size, before reading a byte of it. */
  info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE, G_FILE_QUERY_INFO_NONE, cancellable, &local_error);
  if (info == NULL)
    {
      g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_READ, _("“%s” cannot be read: %s"), basename,
                   local_error->message);
      return NULL;
    }
  if (g_file_info_get_size (info) > DROVER_JOB_MAX_BYTES)
    {
      g_autofree char *size = g_format_size (g_file_info_get_size (info));
      g_autofree char *limit = g_format_size (DROVER_JOB_MAX_BYTES);

      g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_TOO_LARGE,
                   _("“%s” is %s, over the %s a job may be."), basename, size, limit);
      return NULL;
    }

  /* The private copy: what is verified is what will be sent. */
  self->content = g_file_load_bytes (file, cancellable, NULL, &local_error);
  if (self->content == NULL)
    {
      g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_READ, _("“%s” cannot be read: %s"), basename,
                   local_error->message);
      return NULL;
    }
  if (g_bytes_get_size (self->content) > DROVER_JOB_MAX_BYTES)
    {
      g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_TOO_LARGE,
                   _("“%s” grew over the size a job may be while it was read."), basename);
      return NULL;
    }

  /* 2. A signature, by a key this farm trusts, that matches. */
  if (signature != NULL)
    signature_file = g_object_ref (signature);
  else
    {
      g_autofree char *path = g_file_get_path (file);
      g_autofree char *with_suffix = g_strconcat (path, ".minisig", NULL);

      signature_file = g_file_new_for_path (with_suffix);
    }
  if (!g_file_load_contents (signature_file, cancellable, &signature_data, NULL, NULL, &local_error))
    {
      g_autofree char *signature_name = g_file_get_basename (signature_file);

      g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_UNSIGNED,
                   _("“%s” is not signed: there is no “%s” beside it. Sign it with “droverctl sign” or minisign."),
                   basename, signature_name);
      return NULL;
    }
  parsed = drover_signature_new_from_data (signature_data, &local_error);
  if (parsed == NULL)
    {
      g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_BAD_SIGNATURE,
                   _("The signature of “%s” cannot be read: %s"), basename, local_error->message);
      return NULL;
    }
  self->signature_text = g_steal_pointer (&signature_data);
  self->key_id = drover_signature_dup_key_id (parsed);

  trusted = drover_trust_store_find (trust, self->key_id);
  if (trusted == NULL)
    {
      g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_UNTRUSTED_KEY,
                   _("“%s” is signed by key %s, which this farm does not trust. Add the signer's public key "
                     "in Preferences or with “droverctl trust add” if it should be trusted."),
                   basename, self->key_id);
      return NULL;
    }
  self->signer = g_strdup (trusted->name);
  if (trusted->revoked != 0)
    {
      g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_REVOKED_KEY,
                   _("“%s” is signed by %s's key %s, which was revoked."), basename, trusted->name, self->key_id);
      return NULL;
    }
  if (!drover_signature_verify_bytes (parsed, trusted->key, self->content, &local_error))
    {
      g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_BAD_SIGNATURE,
                   _("The signature does not match “%s”: the file or its manifest was changed after %s signed it (%s)."),
                   basename, trusted->name, local_error->message);
      return NULL;
    }

  /* 3. The manifest, from the trusted comment the signature covers. */
  self->manifest = drover_manifest_parse (drover_signature_get_trusted_comment (parsed), &local_error);
  if (self->manifest == NULL)
    {
      g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_MANIFEST,
                   _("The job's manifest (the signature's trusted comment) is not valid: %s"), local_error->message);
      return NULL;
    }

  /* What 6 and 7 need, read here in the worker. */
  if (ledger != NULL && !job_was_sent (ledger, self->manifest->job_id, &self->replayed, &local_error))
    {
      g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_READ,
                   _("The ledger cannot tell whether job %s was sent before: %s"), self->manifest->job_id,
                   local_error->message);
      return NULL;
    }

  drover_gcode_limits_init_default (&limits);
  if (self->manifest->max_hotend > 0)
    limits.max_hotend = self->manifest->max_hotend;
  if (self->manifest->max_bed > 0)
    limits.max_bed = self->manifest->max_bed;
  scan = drover_gcode_scan_new (&limits);
  drover_gcode_scan_feed (scan, g_bytes_get_data (self->content, NULL), g_bytes_get_size (self->content));
  self->report = drover_gcode_scan_finish (scan);
  self->sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, self->content);

  return g_steal_pointer (&self);
}

typedef struct
{
  GFile            *file;
  GFile            *signature;
  DroverTrustStore *trust;
  DroverLedger     *ledger;
} LoadData;

static void
load_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *data = task_data;
  GError *error = NULL;
  DroverJob *job = drover_job_load (data->file, data->signature, data->trust, data->ledger, cancellable, &error);

  if (job == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, job, g_object_unref);
}

static void
load_data_free (LoadData *data)
{
  g_clear_object (&data->file);
  g_clear_object (&data->signature);
  g_clear_object (&data->ledger);
  g_free (data);
}

/**
 * drover_job_load_async:
 * @trust: the trusted keys; must stay alive and unchanged until done
 *
 * drover_job_load() in a worker.
 */
void
drover_job_load_async (GFile               *file,
                       GFile               *signature,
                       DroverTrustStore    *trust,
                       DroverLedger        *ledger,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  LoadData *data = g_new0 (LoadData, 1);

  data->file = g_object_ref (file);
  data->signature = signature != NULL ? g_object_ref (signature) : NULL;
  data->trust = trust;
  data->ledger = ledger != NULL ? g_object_ref (ledger) : NULL;
  g_task_set_source_tag (task, drover_job_load_async);
  g_task_set_task_data (task, data, (GDestroyNotify)load_data_free);
  g_task_run_in_thread (task, load_thread);
}

DroverJob *
drover_job_load_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

const char *
drover_job_get_name (DroverJob *self)
{
  g_return_val_if_fail (DROVER_IS_JOB (self), NULL);
  return self->name;
}

/**
 * drover_job_get_content:
 *
 * Returns: (transfer none): the bytes that were verified: send these
 */
GBytes *
drover_job_get_content (DroverJob *self)
{
  g_return_val_if_fail (DROVER_IS_JOB (self), NULL);
  return self->content;
}

/**
 * drover_job_get_signature_text:
 *
 * Returns: the `.minisig` text, to upload beside the file
 */
const char *
drover_job_get_signature_text (DroverJob *self)
{
  g_return_val_if_fail (DROVER_IS_JOB (self), NULL);
  return self->signature_text;
}

const char *
drover_job_get_sha256 (DroverJob *self)
{
  g_return_val_if_fail (DROVER_IS_JOB (self), NULL);
  return self->sha256;
}

const char *
drover_job_get_key_id (DroverJob *self)
{
  g_return_val_if_fail (DROVER_IS_JOB (self), NULL);
  return self->key_id;
}

/**
 * drover_job_get_signer:
 *
 * Returns: the signer's name in the trust store
 */
const char *
drover_job_get_signer (DroverJob *self)
{
  g_return_val_if_fail (DROVER_IS_JOB (self), NULL);
  return self->signer;
}

const DroverManifest *
drover_job_get_manifest (DroverJob *self)
{
  g_return_val_if_fail (DROVER_IS_JOB (self), NULL);
  return self->manifest;
}

const DroverGcodeReport *
drover_job_get_report (DroverJob *self)
{
  g_return_val_if_fail (DROVER_IS_JOB (self), NULL);
  return self->report;
}

static char *
format_time (gint64 unix_seconds)
{
  g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc (unix_seconds);
  g_autoptr(GDateTime) local = utc != NULL ? g_date_time_to_local (utc) : NULL;

  return local != NULL ? g_date_time_format (local, "%Y-%m-%d %H:%M") : g_strdup ("?");
}

/**
 * drover_job_describe:
 *
 * Returns: (transfer full): the verdict in words: signer, job id,
 *   printers, validity, and what the scan found
 */
char *
drover_job_describe (DroverJob *self)
{
  GString *text = g_string_new (NULL);
  g_autofree char *from = NULL;
  g_autofree char *until = NULL;
  g_autofree char *scan = NULL;
  g_autofree char *printers = NULL;

  g_return_val_if_fail (DROVER_IS_JOB (self), NULL);

  from = format_time (self->manifest->not_before);
  until = format_time (self->manifest->not_after);
  printers = self->manifest->fleet ? g_strdup (_("any printer of the farm"))
                                   : g_strjoinv (", ", self->manifest->printers);
  scan = drover_gcode_report_describe (self->report);

  g_string_append_printf (text, _("Signed by %s (key %s)."), self->signer, self->key_id);
  g_string_append_c (text, '\n');
  g_string_append_printf (text, _("Job %s, for %s."), self->manifest->job_id, printers);
  g_string_append_c (text, '\n');
  g_string_append_printf (text, _("Valid from %s until %s."), from, until);
  g_string_append_c (text, '\n');
  g_string_append (text, scan);

  return g_string_free (text, FALSE);
}

/* The first dangerous finding of @kinds, as the reason. */
static const DroverGcodeFinding *
first_finding (const DroverGcodeReport *report,
               gboolean                 limits)
{
  for (guint i = 0; report->findings != NULL && i < report->findings->len; i++)
    {
      const DroverGcodeFinding *finding = g_ptr_array_index (report->findings, i);
      gboolean is_limit = finding->kind == DROVER_GCODE_FINDING_HOTEND_LIMIT ||
                          finding->kind == DROVER_GCODE_FINDING_BED_LIMIT ||
                          finding->kind == DROVER_GCODE_FINDING_OUT_OF_VOLUME;

      if (finding->dangerous && is_limit == limits)
        return finding;
    }

  return NULL;
}

/**
 * drover_job_check_replay:
 *
 * Returns: %FALSE with %DROVER_JOB_ERROR_REPLAYED when the ledger shows
 *   the job was sent before
 */
gboolean
drover_job_check_replay (DroverJob  *self,
                         GError    **error)
{
  g_return_val_if_fail (DROVER_IS_JOB (self), FALSE);

  if (self->replayed)
    {
      g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_REPLAYED,
                   _("Job %s was sent before: a signed job is sent once. Sign the file again for a new job."),
                   self->manifest->job_id);
      return FALSE;
    }

  return TRUE;
}

/**
 * drover_job_check_printer:
 * @printer_id: the printer it would go to
 * @printer_limits: (nullable): the printer's own limits, stricter than the
 *   manifest's where they are
 * @now: Unix seconds
 *
 * The gate's steps 4 to 7 for one printer: target, time window, replay,
 * G-code scan. The operator's "plate is clear" is the sender's last step.
 *
 * Returns: %FALSE with the first failure, in words
 */
gboolean
drover_job_check_printer (DroverJob               *self,
                          const char              *printer_id,
                          const DroverGcodeLimits *printer_limits,
                          gint64                   now,
                          GError                 **error)
{
  const DroverGcodeFinding *finding;

  g_return_val_if_fail (DROVER_IS_JOB (self), FALSE);
  g_return_val_if_fail (printer_id != NULL, FALSE);

  if (!drover_manifest_names_printer (self->manifest, printer_id))
    {
      g_autofree char *printers = g_strjoinv (", ", self->manifest->printers);

      g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_WRONG_PRINTER,
                   _("Job %s is for %s, not for %s."), self->manifest->job_id, printers, printer_id);
      return FALSE;
    }

  if (now < self->manifest->not_before - DROVER_JOB_CLOCK_SKEW_S)
    {
      g_autofree char *from = format_time (self->manifest->not_before);

      g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_NOT_YET_VALID,
                   _("Job %s may not be printed before %s."), self->manifest->job_id, from);
      return FALSE;
    }
  if (now > self->manifest->not_after + DROVER_JOB_CLOCK_SKEW_S)
    {
      g_autofree char *until = format_time (self->manifest->not_after);

      g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_EXPIRED,
                   _("Job %s expired at %s. Sign it again to print it."), self->manifest->job_id, until);
      return FALSE;
    }

  if (!drover_job_check_replay (self, error))
    return FALSE;

  if (self->report->verdict != DROVER_GCODE_VERDICT_GCODE)
    {
      g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_NOT_GCODE,
                   _("“%s” is not G-code: %s"), self->name, self->report->verdict_reason);
      return FALSE;
    }

  if ((finding = first_finding (self->report, FALSE)) != NULL)
    {
      g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_BLOCKED_COMMAND,
                   _("Line %" G_GUINT64_FORMAT " of “%s” runs “%s”, which a print job may not send: %s"),
                   finding->line, self->name, finding->command, finding->reason);
      return FALSE;
    }
  if ((finding = first_finding (self->report, TRUE)) != NULL)
    {
      g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_OVER_LIMIT,
                   _("Line %" G_GUINT64_FORMAT " of “%s”: %s"), finding->line, self->name, finding->reason);
      return FALSE;
    }

  /* The printer may take less than the manifest allows. */
  if (printer_limits != NULL)
    {
      if (printer_limits->max_hotend > 0 && self->report->max_hotend_seen > printer_limits->max_hotend)
        {
          g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_OVER_LIMIT,
                       _("“%s” heats the hotend to %.0f °C; %s takes at most %.0f °C."),
                       self->name, self->report->max_hotend_seen, printer_id, printer_limits->max_hotend);
          return FALSE;
        }
      if (printer_limits->max_bed > 0 && self->report->max_bed_seen > printer_limits->max_bed)
        {
          g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_OVER_LIMIT,
                       _("“%s” heats the bed to %.0f °C; %s takes at most %.0f °C."),
                       self->name, self->report->max_bed_seen, printer_id, printer_limits->max_bed);
          return FALSE;
        }
      if (self->report->bounds_valid &&
          ((printer_limits->volume_x > 0 && (self->report->max_x > printer_limits->volume_x || self->report->min_x < 0)) ||
           (printer_limits->volume_y > 0 && (self->report->max_y > printer_limits->volume_y || self->report->min_y < 0)) ||
           (printer_limits->volume_z > 0 && self->report->max_z > printer_limits->volume_z)))
        {
          g_set_error (error, DROVER_JOB_ERROR, DROVER_JOB_ERROR_OVER_LIMIT,
                       _("“%s” moves outside the build volume of %s."), self->name, printer_id);
          return FALSE;
        }
    }

  return TRUE;
}
