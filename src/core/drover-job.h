/* drover-job.h: a signed print job, and the gate it must pass
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "drover-gcode-scan.h"
#include "drover-ledger.h"
#include "drover-manifest.h"
#include "drover-trust-store.h"

G_BEGIN_DECLS

#define DROVER_JOB_ERROR (drover_job_error_quark ())

/**
 * DroverJobError:
 * @DROVER_JOB_ERROR_READ: the file or its signature cannot be read
 * @DROVER_JOB_ERROR_TOO_LARGE: over the size limit
 * @DROVER_JOB_ERROR_UNSIGNED: no signature beside the file
 * @DROVER_JOB_ERROR_UNTRUSTED_KEY: signed by a key the farm does not trust
 * @DROVER_JOB_ERROR_REVOKED_KEY: signed by a key the farm revoked
 * @DROVER_JOB_ERROR_BAD_SIGNATURE: the signature does not match the file
 * @DROVER_JOB_ERROR_MANIFEST: the manifest is missing or malformed
 * @DROVER_JOB_ERROR_WRONG_PRINTER: the job is not for this printer
 * @DROVER_JOB_ERROR_NOT_YET_VALID: before the job's not-before time
 * @DROVER_JOB_ERROR_EXPIRED: after the job's not-after time
 * @DROVER_JOB_ERROR_REPLAYED: the job id was sent before
 * @DROVER_JOB_ERROR_NOT_GCODE: the content is not G-code
 * @DROVER_JOB_ERROR_BLOCKED_COMMAND: commands a print job may not send
 * @DROVER_JOB_ERROR_OVER_LIMIT: temperatures or moves over the limits
 * @DROVER_JOB_ERROR_PLATE_NOT_CLEAR: the operator did not confirm the plate
 *
 * Why the gate refused a job, in the gate's order.
 */
typedef enum
{
  DROVER_JOB_ERROR_READ,
  DROVER_JOB_ERROR_TOO_LARGE,
  DROVER_JOB_ERROR_UNSIGNED,
  DROVER_JOB_ERROR_UNTRUSTED_KEY,
  DROVER_JOB_ERROR_REVOKED_KEY,
  DROVER_JOB_ERROR_BAD_SIGNATURE,
  DROVER_JOB_ERROR_MANIFEST,
  DROVER_JOB_ERROR_WRONG_PRINTER,
  DROVER_JOB_ERROR_NOT_YET_VALID,
  DROVER_JOB_ERROR_EXPIRED,
  DROVER_JOB_ERROR_REPLAYED,
  DROVER_JOB_ERROR_NOT_GCODE,
  DROVER_JOB_ERROR_BLOCKED_COMMAND,
  DROVER_JOB_ERROR_OVER_LIMIT,
  DROVER_JOB_ERROR_PLATE_NOT_CLEAR,
} DroverJobError;

/* A job larger than this is refused before it is read whole. */
#define DROVER_JOB_MAX_BYTES     (512 * 1024 * 1024)
/* Clocks on a farm disagree a little. */
#define DROVER_JOB_CLOCK_SKEW_S  (5 * 60)

#define DROVER_TYPE_JOB (drover_job_get_type ())

G_DECLARE_FINAL_TYPE (DroverJob, drover_job, DROVER, JOB, GObject)

GQuark                    drover_job_error_quark        (void);

void                      drover_job_load_async         (GFile                   *file,
                                                         GFile                   *signature,
                                                         DroverTrustStore        *trust,
                                                         DroverLedger            *ledger,
                                                         GCancellable            *cancellable,
                                                         GAsyncReadyCallback      callback,
                                                         gpointer                 user_data);
DroverJob                *drover_job_load_finish        (GAsyncResult            *result,
                                                         GError                 **error);
DroverJob                *drover_job_load              (GFile                   *file,
                                                         GFile                   *signature,
                                                         DroverTrustStore        *trust,
                                                         DroverLedger            *ledger,
                                                         GCancellable            *cancellable,
                                                         GError                 **error);

const char               *drover_job_get_name           (DroverJob               *self);
GBytes                   *drover_job_get_content        (DroverJob               *self);
const char               *drover_job_get_signature_text (DroverJob               *self);
const char               *drover_job_get_sha256         (DroverJob               *self);
const char               *drover_job_get_key_id         (DroverJob               *self);
const char               *drover_job_get_signer         (DroverJob               *self);
const DroverManifest     *drover_job_get_manifest       (DroverJob               *self);
const DroverGcodeReport  *drover_job_get_report         (DroverJob               *self);
char                     *drover_job_describe           (DroverJob               *self);

gboolean                  drover_job_check_printer      (DroverJob               *self,
                                                         const char              *printer_id,
                                                         const DroverGcodeLimits *printer_limits,
                                                         gint64                   now,
                                                         GError                 **error);
gboolean                  drover_job_check_replay       (DroverJob               *self,
                                                         GError                 **error);

G_END_DECLS
