/* drover-manifest.h: a signed job's manifest, the signature's trusted comment
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * DroverManifest:
 * @job_id: a UUID, new for every job: a printer never runs a job id twice
 * @printers: the printer ids the job is for; empty when @fleet
 * @fleet: the job is for every printer of the fleet (`["*"]`)
 * @not_before: the first moment the job may start, Unix seconds
 * @not_after: the moment it stops being valid, Unix seconds
 * @max_hotend: the hottest a hotend may be set, °C; 0 for no limit
 * @max_bed: the hottest the bed may be set, °C; 0 for no limit
 */
typedef struct
{
  char      *job_id;
  char     **printers;
  gboolean   fleet;
  gint64     not_before;
  gint64     not_after;
  double     max_hotend;
  double     max_bed;
} DroverManifest;

#define DROVER_MANIFEST_ERROR (drover_manifest_error_quark ())

/**
 * DroverManifestError:
 * @DROVER_MANIFEST_ERROR_NOT_JSON: the trusted comment is not a JSON object
 * @DROVER_MANIFEST_ERROR_NOT_DROVER: JSON, but not a Drover manifest
 * @DROVER_MANIFEST_ERROR_VERSION: a manifest version this Drover does not read
 * @DROVER_MANIFEST_ERROR_FIELD: a member missing, of the wrong type, out of
 *   range, unknown or twice
 * @DROVER_MANIFEST_ERROR_NOT_YET_VALID: the job's time has not come
 *   (drover_manifest_check_time())
 * @DROVER_MANIFEST_ERROR_EXPIRED: the job's time is over
 *   (drover_manifest_check_time())
 */
typedef enum
{
  DROVER_MANIFEST_ERROR_NOT_JSON,
  DROVER_MANIFEST_ERROR_NOT_DROVER,
  DROVER_MANIFEST_ERROR_VERSION,
  DROVER_MANIFEST_ERROR_FIELD,
  DROVER_MANIFEST_ERROR_NOT_YET_VALID,
  DROVER_MANIFEST_ERROR_EXPIRED,
} DroverManifestError;

/* The manifest version this Drover writes and reads. */
#define DROVER_MANIFEST_VERSION 1
/* How far the clocks of the signer and the printer's host may disagree. */
#define DROVER_MANIFEST_CLOCK_SKEW (5 * 60)
/* A fleet-wide job's printer list. */
#define DROVER_MANIFEST_FLEET "*"

GQuark           drover_manifest_error_quark     (void);

DroverManifest  *drover_manifest_new             (void);
DroverManifest  *drover_manifest_copy            (const DroverManifest  *manifest);
DroverManifest  *drover_manifest_parse           (const char            *trusted_comment,
                                                  GError               **error);
char            *drover_manifest_to_string       (const DroverManifest  *manifest);
gboolean         drover_manifest_names_printer   (const DroverManifest  *manifest,
                                                  const char            *printer_id);
gboolean         drover_manifest_check_time      (const DroverManifest  *manifest,
                                                  gint64                 now,
                                                  gint64                 skew,
                                                  GError               **error);
char            *drover_manifest_format_time     (gint64                 unix_time);
void             drover_manifest_free            (DroverManifest        *manifest);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DroverManifest, drover_manifest_free)

G_END_DECLS
