/* drover-gcode-scan.h: is a file G-code, and is it safe to print?
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * DroverGcodeLimits:
 * @max_hotend: the hottest a hotend may be set, in °C
 * @max_bed: the hottest the bed may be set, in °C
 * @volume_x: the build volume's width, in mm, from 0
 * @volume_y: the build volume's depth, in mm, from 0
 * @volume_z: the build volume's height, in mm, from 0
 *
 * What a printer can take. A limit of 0 is not checked.
 */
typedef struct
{
  double max_hotend;
  double max_bed;
  double volume_x;
  double volume_y;
  double volume_z;
} DroverGcodeLimits;

/**
 * DroverGcodeVerdict:
 * @DROVER_GCODE_VERDICT_GCODE: G-code text
 * @DROVER_GCODE_VERDICT_EMPTY: no bytes, or only whitespace
 * @DROVER_GCODE_VERDICT_NOT_GCODE: text, but prose or only comments
 * @DROVER_GCODE_VERDICT_BINARY: NUL bytes or many control bytes
 */
typedef enum
{
  DROVER_GCODE_VERDICT_GCODE,
  DROVER_GCODE_VERDICT_EMPTY,
  DROVER_GCODE_VERDICT_NOT_GCODE,
  DROVER_GCODE_VERDICT_BINARY,
} DroverGcodeVerdict;

/**
 * DroverGcodeFindingKind:
 * @DROVER_GCODE_FINDING_EEPROM: saves, reloads or resets the stored
 *   settings: M500, M501, M502, Klipper's SAVE_CONFIG
 * @DROVER_GCODE_FINDING_FIRMWARE: updates the firmware: M997
 * @DROVER_GCODE_FINDING_SD_WRITE: writes or deletes files on the
 *   printer's storage: M28, M29, M30, M928
 * @DROVER_GCODE_FINDING_PID_TUNE: autotunes or changes heater control:
 *   M303, M301, M304
 * @DROVER_GCODE_FINDING_COLD_EXTRUSION: allows extruding cold: M302
 *   (except M302 P0, which forbids it again)
 * @DROVER_GCODE_FINDING_ENDSTOPS_OFF: M211 S0, M121
 * @DROVER_GCODE_FINDING_PIN_WRITE: drives the board's pins or buses
 *   directly: M42, M43, M260
 * @DROVER_GCODE_FINDING_HOST_ACTION: M118 with `action:`, which the
 *   print server (OctoPrint, Moonraker) obeys
 * @DROVER_GCODE_FINDING_EMERGENCY: stops or restarts the firmware: M112,
 *   M410, M999, Klipper's FIRMWARE_RESTART and RESTART
 * @DROVER_GCODE_FINDING_HOTEND_LIMIT: a hotend target over the limit
 *   (M104, M109, RepRapFirmware's G10 and M568, Klipper's
 *   SET_HEATER_TEMPERATURE)
 * @DROVER_GCODE_FINDING_BED_LIMIT: a bed target over the limit (M140,
 *   M190, SET_HEATER_TEMPERATURE)
 * @DROVER_GCODE_FINDING_OUT_OF_VOLUME: a move (G0 to G3) outside the
 *   build volume
 * @DROVER_GCODE_FINDING_HUGE_LINE: a line over 64 KiB; only its first
 *   64 KiB were checked
 * @DROVER_GCODE_FINDING_NOT_UTF8: a line that is not valid UTF-8
 *
 * M80 and M81 (power on and off) are not findings: printers switch
 * themselves off at the end of a job on purpose.
 */
typedef enum
{
  DROVER_GCODE_FINDING_EEPROM,
  DROVER_GCODE_FINDING_FIRMWARE,
  DROVER_GCODE_FINDING_SD_WRITE,
  DROVER_GCODE_FINDING_PID_TUNE,
  DROVER_GCODE_FINDING_COLD_EXTRUSION,
  DROVER_GCODE_FINDING_ENDSTOPS_OFF,
  DROVER_GCODE_FINDING_PIN_WRITE,
  DROVER_GCODE_FINDING_HOST_ACTION,
  DROVER_GCODE_FINDING_EMERGENCY,
  DROVER_GCODE_FINDING_HOTEND_LIMIT,
  DROVER_GCODE_FINDING_BED_LIMIT,
  DROVER_GCODE_FINDING_OUT_OF_VOLUME,
  DROVER_GCODE_FINDING_HUGE_LINE,
  DROVER_GCODE_FINDING_NOT_UTF8,
} DroverGcodeFindingKind;

/**
 * DroverGcodeFinding:
 * @kind: what was found
 * @line: the first line it was found on, from 1
 * @command: that line's command, as "M104 S320": at most 80 bytes, valid
 *   UTF-8, without line number, checksum or comment
 * @reason: one translated sentence about the first occurrence
 * @count: how many times it occurs
 * @dangerous: whether it makes the file unsafe to print: always for the
 *   kinds up to @DROVER_GCODE_FINDING_OUT_OF_VOLUME; for a huge line only
 *   when it holds a command, since a firmware that reads long lines whole
 *   (Klipper) would run the part that was not checked; never for a line
 *   that is not UTF-8
 *
 * A report has one finding per kind and command code: three `M104` over
 * the limit are one finding with @count 3, `M500` and `M502` are two.
 */
typedef struct
{
  DroverGcodeFindingKind  kind;
  guint64                 line;
  char                   *command;
  char                   *reason;
  guint64                 count;
  gboolean                dangerous;
} DroverGcodeFinding;

/**
 * DroverGcodeReport:
 * @verdict: whether this is G-code at all
 * @verdict_reason: a translated sentence that says why
 * @bytes: the file's size
 * @lines: its lines, ended by "\n", "\r\n" or "\r"
 * @commands: lines with a command (G, M, T or a Klipper command)
 * @layers: `;LAYER:`, `;LAYER_CHANGE` or `; CHANGE_LAYER` comments, or
 *   without them, the changes of height between extruding moves
 * @filament_mm: filament pushed, in mm, retractions taken back
 * @bounds_valid: whether any move extruded; the bounds are 0 otherwise
 * @min_x: where extruding moves reach, in mm, in the printer's coordinates
 *   (G92 offsets applied)
 * @min_y: see @min_x
 * @min_z: see @min_x
 * @max_x: see @min_x
 * @max_y: see @min_x
 * @max_z: see @min_x
 * @max_hotend_seen: the hottest hotend target, in °C, 0 if none
 * @max_bed_seen: the hottest bed target, in °C, 0 if none
 * @findings: (element-type DroverGcodeFinding): ordered by first line
 */
typedef struct
{
  DroverGcodeVerdict  verdict;
  char               *verdict_reason;
  guint64             bytes;
  guint64             lines;
  guint64             commands;
  guint64             layers;
  double              filament_mm;
  gboolean            bounds_valid;
  double              min_x;
  double              min_y;
  double              min_z;
  double              max_x;
  double              max_y;
  double              max_z;
  double              max_hotend_seen;
  double              max_bed_seen;
  GPtrArray          *findings;
} DroverGcodeReport;

typedef struct _DroverGcodeScan DroverGcodeScan;

void                drover_gcode_limits_init_default     (DroverGcodeLimits         *limits);

const char         *drover_gcode_verdict_to_string       (DroverGcodeVerdict         verdict);
const char         *drover_gcode_finding_kind_to_string  (DroverGcodeFindingKind     kind);

void                drover_gcode_report_free             (DroverGcodeReport         *report);
gboolean            drover_gcode_report_is_dangerous     (const DroverGcodeReport   *report);
char               *drover_gcode_report_to_json          (const DroverGcodeReport   *report);
char               *drover_gcode_report_describe         (const DroverGcodeReport   *report);

DroverGcodeScan    *drover_gcode_scan_new                (const DroverGcodeLimits   *limits);
void                drover_gcode_scan_feed               (DroverGcodeScan           *scan,
                                                          const guint8              *data,
                                                          gsize                      length);
DroverGcodeReport  *drover_gcode_scan_finish             (DroverGcodeScan           *scan);
void                drover_gcode_scan_free               (DroverGcodeScan           *scan);

DroverGcodeReport  *drover_gcode_scan_stream             (GInputStream              *stream,
                                                          const DroverGcodeLimits   *limits,
                                                          GCancellable              *cancellable,
                                                          GError                   **error);
void                drover_gcode_scan_file_async         (GFile                     *file,
                                                          const DroverGcodeLimits   *limits,
                                                          GCancellable              *cancellable,
                                                          GAsyncReadyCallback        callback,
                                                          gpointer                   user_data);
DroverGcodeReport  *drover_gcode_scan_file_finish        (GAsyncResult              *result,
                                                          GError                   **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DroverGcodeReport, drover_gcode_report_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DroverGcodeScan, drover_gcode_scan_free)

G_END_DECLS
