/* fuzz-manifest.c: the job manifest, a signature's trusted comment
 *
 * The input is a trusted comment. Only what drover_signature_new_from_data()
 * lets through reaches drover_manifest_parse(): valid UTF-8, no control
 * character but TAB, at most DROVER_MINISIGN_TRUSTED_COMMENT_MAX bytes.
 * Other inputs are skipped, as they cannot come from a signature.
 *
 * drover-manifest.h and drover_manifest_parse()'s documentation promise:
 * a refusal is a DROVER_MANIFEST_ERROR naming why (in UTF-8); an accepted
 * manifest has a UUID job id, a non-empty list of printer ids without
 * control characters, none twice (or the fleet alone), not_after later than
 * not_before, limits above 0 and at most 1000 °C or 0 for none. And what
 * drover_manifest_to_string() writes of it reads back as the same manifest.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>

#include "drover-manifest.h"
#include "drover-minisign.h"

#include "fuzz-common.h"

#define PRINTER_ID_MAX 256

/* What drover_signature_new_from_data() takes as a trusted comment. */
static gboolean
is_trusted_comment (const char *text,
                    gsize       length)
{
  if (length > DROVER_MINISIGN_TRUSTED_COMMENT_MAX || strlen (text) != length ||
      !g_utf8_validate (text, (gssize) length, NULL))
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (((guchar) text[i] < 0x20 && text[i] != '\t') || text[i] == 0x7f)
      return FALSE;
  return TRUE;
}

static gboolean
is_limit (double value)
{
  return value == 0 || (isfinite (value) && value > 0 && value <= 1000);
}

static gboolean
same_limit (double a,
            double b)
{
  /* drover_manifest_to_string() writes ten significant digits. */
  return a == b || fabs (a - b) <= 1e-9 * MAX (fabs (a), fabs (b));
}

static void
check_manifest (const DroverManifest *manifest)
{
  guint count;

  FUZZ_CHECK (manifest->job_id != NULL && g_uuid_string_is_valid (manifest->job_id));
  for (const char *p = manifest->job_id; *p != '\0'; p++)
    FUZZ_CHECK (!g_ascii_isupper (*p));
  FUZZ_CHECK (manifest->printers != NULL);
  count = g_strv_length (manifest->printers);
  FUZZ_CHECK (manifest->fleet ? count == 0 : count > 0);
  for (guint i = 0; i < count; i++)
    {
      const char *id = manifest->printers[i];

      FUZZ_CHECK (*id != '\0' && strlen (id) <= PRINTER_ID_MAX && fuzz_is_text (id, 0));
      FUZZ_CHECK (!g_str_equal (id, DROVER_MANIFEST_FLEET));
      for (const char *p = id; *p != '\0'; p++)
        FUZZ_CHECK ((guchar) *p >= 0x20 && *p != 0x7f);
      for (guint j = 0; j < i; j++)
        FUZZ_CHECK (!g_str_equal (manifest->printers[j], id));
      FUZZ_CHECK (drover_manifest_names_printer (manifest, id));
    }
  FUZZ_CHECK (manifest->not_after > manifest->not_before);
  FUZZ_CHECK (is_limit (manifest->max_hotend) && is_limit (manifest->max_bed));
  if (manifest->fleet)
    FUZZ_CHECK (drover_manifest_names_printer (manifest, "farm/p-042"));
}

static void
check_time (const DroverManifest *manifest)
{
  const gint64 moments[] = {
    manifest->not_before - DROVER_MANIFEST_CLOCK_SKEW - 1,
    manifest->not_before,
    manifest->not_after - 1,
    manifest->not_after + DROVER_MANIFEST_CLOCK_SKEW + 1,
  };

  for (guint i = 0; i < G_N_ELEMENTS (moments); i++)
    {
      g_autoptr(GError) error = NULL;
      gboolean valid = drover_manifest_check_time (manifest, moments[i], DROVER_MANIFEST_CLOCK_SKEW, &error);

      if (i == 0)
        FUZZ_CHECK (!valid && g_error_matches (error, DROVER_MANIFEST_ERROR, DROVER_MANIFEST_ERROR_NOT_YET_VALID));
      else if (i == G_N_ELEMENTS (moments) - 1)
        FUZZ_CHECK (!valid && g_error_matches (error, DROVER_MANIFEST_ERROR, DROVER_MANIFEST_ERROR_EXPIRED));
      else
        FUZZ_CHECK (valid && error == NULL);
      if (error != NULL)
        FUZZ_CHECK (fuzz_is_text (error->message, 0));
    }
}

static void
check_same (const DroverManifest *a,
            const DroverManifest *b)
{
  FUZZ_CHECK (g_str_equal (a->job_id, b->job_id));
  FUZZ_CHECK (a->fleet == b->fleet);
  FUZZ_CHECK (g_strv_equal ((const char * const *) a->printers, (const char * const *) b->printers));
  FUZZ_CHECK (a->not_before == b->not_before && a->not_after == b->not_after);
  FUZZ_CHECK (same_limit (a->max_hotend, b->max_hotend) && same_limit (a->max_bed, b->max_bed));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = fuzz_strndup (data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverManifest) manifest = NULL;
  g_autoptr(DroverManifest) again = NULL;
  g_autoptr(DroverManifest) copy = NULL;
  g_autoptr(GError) again_error = NULL;
  g_autofree char *written = NULL;

  if (!is_trusted_comment (text, size))
    return 0;

  manifest = drover_manifest_parse (text, &error);
  if (manifest == NULL)
    {
      FUZZ_CHECK (error != NULL && error->domain == DROVER_MANIFEST_ERROR);
      FUZZ_CHECK (error->code == DROVER_MANIFEST_ERROR_NOT_JSON || error->code == DROVER_MANIFEST_ERROR_NOT_DROVER ||
                  error->code == DROVER_MANIFEST_ERROR_VERSION || error->code == DROVER_MANIFEST_ERROR_FIELD);
      FUZZ_CHECK (fuzz_is_text (error->message, 0));
      return 0;
    }
  FUZZ_CHECK (error == NULL);

  check_manifest (manifest);
  check_time (manifest);
  copy = drover_manifest_copy (manifest);
  check_same (manifest, copy);

  /* Written out, it reads back as itself, and fits a trusted comment
   * when the input did. */
  written = drover_manifest_to_string (manifest);
  FUZZ_CHECK (fuzz_is_text (written, 0) && strchr (written, '\n') == NULL);
  again = drover_manifest_parse (written, &again_error);
  FUZZ_CHECK (again != NULL);
  check_same (manifest, again);

  return 0;
}
