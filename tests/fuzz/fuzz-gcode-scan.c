/* fuzz-gcode-scan.c: the G-code scanner, fed any file in any chunks
 *
 * The input is a file's bytes. They are scanned twice for each of two sets
 * of limits (the defaults, and an Ender 3's with its build volume): once
 * in one piece, once in chunks of sizes taken from the input itself (one
 * byte, a few, several kilobytes, past 64 KiB), each chunk a copy freed as
 * soon as it is fed, so AddressSanitizer sees the scanner keep any of it.
 * drover-gcode-scan.h promises that chunking does not change the report:
 * both reports must be equal, field by field and as JSON. Each report must
 * keep the header's other promises: the size is the input's, an empty file
 * is EMPTY, findings are ordered by line, their command is valid UTF-8 of
 * at most 80 bytes without control characters, what is dangerous is as
 * documented, and the hottest target seen is over the limit exactly when
 * there is a limit finding.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>

#include "drover-gcode-scan.h"

#include "fuzz-common.h"

#define COMMAND_TEXT_MAX 80
/* Past the scanner's 64 KiB line limit, so carried lines are cut too. */
#define LARGE_CHUNK      (80 * 1024)

static DroverGcodeReport *
scan_whole (const uint8_t           *data,
            size_t                   size,
            const DroverGcodeLimits *limits)
{
  g_autoptr(DroverGcodeScan) scan = drover_gcode_scan_new (limits);

  drover_gcode_scan_feed (scan, data, size);
  return drover_gcode_scan_finish (scan);
}

static DroverGcodeReport *
scan_chunked (const uint8_t           *data,
              size_t                   size,
              const DroverGcodeLimits *limits,
              FuzzSplitter            *splitter)
{
  g_autoptr(DroverGcodeScan) scan = drover_gcode_scan_new (limits);
  size_t offset = 0;

  while (offset < size)
    {
      size_t length = fuzz_splitter_chunk (splitter, size - offset, LARGE_CHUNK);
      guint8 *chunk = g_memdup2 (data + offset, length);

      drover_gcode_scan_feed (scan, chunk, length);
      g_free (chunk);
      offset += length;
    }

  return drover_gcode_scan_finish (scan);
}

static gboolean
same_double (double a,
             double b)
{
  return memcmp (&a, &b, sizeof a) == 0;
}

static gboolean
has_control_bytes (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return TRUE;
  return FALSE;
}

static gboolean
has_finding (const DroverGcodeReport *report,
             DroverGcodeFindingKind   kind)
{
  for (guint i = 0; i < report->findings->len; i++)
    if (((DroverGcodeFinding *) g_ptr_array_index (report->findings, i))->kind == kind)
      return TRUE;
  return FALSE;
}

static void
check_report (const DroverGcodeReport *report,
              size_t                   size,
              const DroverGcodeLimits *limits)
{
  g_autofree char *json = NULL;
  g_autofree char *description = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  guint64 previous_line = 0;
  gboolean dangerous = FALSE;

  FUZZ_CHECK (report->bytes == size);
  if (size == 0)
    FUZZ_CHECK (report->verdict == DROVER_GCODE_VERDICT_EMPTY && report->lines == 0 && report->findings->len == 0);
  FUZZ_CHECK ((int) report->verdict >= DROVER_GCODE_VERDICT_GCODE &&
              report->verdict <= DROVER_GCODE_VERDICT_BINARY);
  FUZZ_CHECK (report->verdict_reason != NULL && *report->verdict_reason != '\0' &&
              fuzz_is_text (report->verdict_reason, 0));
  FUZZ_CHECK (report->commands <= report->lines);
  FUZZ_CHECK (report->lines <= report->bytes);
  FUZZ_CHECK (report->verdict != DROVER_GCODE_VERDICT_GCODE || report->commands > 0);
  if (report->bounds_valid)
    FUZZ_CHECK (report->min_x <= report->max_x && report->min_y <= report->max_y && report->min_z <= report->max_z);
  else
    FUZZ_CHECK (report->min_x == 0 && report->min_y == 0 && report->min_z == 0 &&
                report->max_x == 0 && report->max_y == 0 && report->max_z == 0);

  /* A limit finding exactly when the hottest target is over the limit. */
  if (limits->max_hotend > 0 && !isnan (report->max_hotend_seen))
    FUZZ_CHECK ((report->max_hotend_seen > limits->max_hotend) ==
                has_finding (report, DROVER_GCODE_FINDING_HOTEND_LIMIT));
  if (limits->max_bed > 0 && !isnan (report->max_bed_seen))
    FUZZ_CHECK ((report->max_bed_seen > limits->max_bed) == has_finding (report, DROVER_GCODE_FINDING_BED_LIMIT));
  if (limits->volume_x <= 0 && limits->volume_y <= 0 && limits->volume_z <= 0)
    FUZZ_CHECK (!has_finding (report, DROVER_GCODE_FINDING_OUT_OF_VOLUME));

  for (guint i = 0; i < report->findings->len; i++)
    {
      const DroverGcodeFinding *finding = g_ptr_array_index (report->findings, i);

      FUZZ_CHECK ((int) finding->kind >= DROVER_GCODE_FINDING_EEPROM &&
                  finding->kind <= DROVER_GCODE_FINDING_NOT_UTF8);
      FUZZ_CHECK (finding->line >= 1 && finding->line >= previous_line);
      FUZZ_CHECK (finding->line <= MAX (report->lines, 1));
      FUZZ_CHECK (fuzz_is_text (finding->command, COMMAND_TEXT_MAX));
      FUZZ_CHECK (!has_control_bytes (finding->command));
      FUZZ_CHECK (finding->reason != NULL && *finding->reason != '\0' && fuzz_is_text (finding->reason, 0));
      FUZZ_CHECK (finding->count >= 1);
      if (finding->kind <= DROVER_GCODE_FINDING_OUT_OF_VOLUME)
        FUZZ_CHECK (finding->dangerous);
      if (finding->kind == DROVER_GCODE_FINDING_NOT_UTF8)
        FUZZ_CHECK (!finding->dangerous);
      previous_line = finding->line;
      dangerous |= finding->dangerous;
    }
  FUZZ_CHECK (drover_gcode_report_is_dangerous (report) == dangerous);

  json = drover_gcode_report_to_json (report);
  FUZZ_CHECK (fuzz_is_text (json, 0));
  FUZZ_CHECK (json_parser_load_from_data (parser, json, -1, NULL));
  description = drover_gcode_report_describe (report);
  FUZZ_CHECK (fuzz_is_text (description, 0));
}

static void
check_equal (const DroverGcodeReport *a,
             const DroverGcodeReport *b)
{
  g_autofree char *json_a = drover_gcode_report_to_json (a);
  g_autofree char *json_b = drover_gcode_report_to_json (b);

  FUZZ_CHECK (a->verdict == b->verdict);
  FUZZ_CHECK (g_strcmp0 (a->verdict_reason, b->verdict_reason) == 0);
  FUZZ_CHECK (a->bytes == b->bytes);
  FUZZ_CHECK (a->lines == b->lines);
  FUZZ_CHECK (a->commands == b->commands);
  FUZZ_CHECK (a->layers == b->layers);
  FUZZ_CHECK (same_double (a->filament_mm, b->filament_mm));
  FUZZ_CHECK (a->bounds_valid == b->bounds_valid);
  FUZZ_CHECK (same_double (a->min_x, b->min_x) && same_double (a->min_y, b->min_y) &&
              same_double (a->min_z, b->min_z));
  FUZZ_CHECK (same_double (a->max_x, b->max_x) && same_double (a->max_y, b->max_y) &&
              same_double (a->max_z, b->max_z));
  FUZZ_CHECK (same_double (a->max_hotend_seen, b->max_hotend_seen));
  FUZZ_CHECK (same_double (a->max_bed_seen, b->max_bed_seen));
  FUZZ_CHECK (a->findings->len == b->findings->len);
  for (guint i = 0; i < a->findings->len; i++)
    {
      const DroverGcodeFinding *fa = g_ptr_array_index (a->findings, i);
      const DroverGcodeFinding *fb = g_ptr_array_index (b->findings, i);

      FUZZ_CHECK (fa->kind == fb->kind);
      FUZZ_CHECK (fa->line == fb->line);
      FUZZ_CHECK (g_strcmp0 (fa->command, fb->command) == 0);
      FUZZ_CHECK (g_strcmp0 (fa->reason, fb->reason) == 0);
      FUZZ_CHECK (fa->count == fb->count);
      FUZZ_CHECK (fa->dangerous == fb->dangerous);
    }
  FUZZ_CHECK (g_strcmp0 (json_a, json_b) == 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  DroverGcodeLimits limits[2];
  FuzzSplitter splitter;

  drover_gcode_limits_init_default (&limits[0]);
  limits[1] = (DroverGcodeLimits) { .max_hotend = 260, .max_bed = 100,
                                    .volume_x = 220, .volume_y = 220, .volume_z = 250 };
  fuzz_splitter_init (&splitter, data, size);

  for (guint i = 0; i < G_N_ELEMENTS (limits); i++)
    {
      g_autoptr(DroverGcodeReport) whole = scan_whole (data, size, &limits[i]);
      g_autoptr(DroverGcodeReport) chunked = scan_chunked (data, size, &limits[i], &splitter);

      check_report (whole, size, &limits[i]);
      check_equal (whole, chunked);
    }

  return 0;
}
