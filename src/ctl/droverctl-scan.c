/* droverctl-scan.c: droverctl scan, G-code files checked before printing
 *
 * For slicer post-processing steps and CI pipelines: the exit status says
 * whether every file is G-code with nothing unsafe in it, --json gives one
 * object per file for scripts.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gunixinputstream.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "drover-core.h"
#include "droverctl-commands.h"

enum
{
  EXIT_OK = 0,
  EXIT_CHECK_FAILED = 1,
  EXIT_USAGE = 2,
};

typedef struct
{
  double    max_hotend;
  double    max_bed;
  char     *volume;
  gboolean  json;
  char    **files;
} Options;

static void
options_clear (Options *options)
{
  g_clear_pointer (&options->volume, g_free);
  g_clear_pointer (&options->files, g_strfreev);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Options, options_clear)

/* "220x220x250", with "x", "X" or "×" between the sizes. */
static gboolean
read_sizes (const char *text,
            double      sizes[3])
{
  g_autoptr(GString) normal = g_string_new (text);
  g_auto(GStrv) parts = NULL;

  g_string_replace (normal, "×", "x", 0);
  g_string_ascii_down (normal);
  parts = g_strsplit (normal->str, "x", -1);
  if (g_strv_length (parts) != 3)
    return FALSE;

  for (guint i = 0; i < 3; i++)
    {
      char *end = NULL;

      g_strstrip (parts[i]);
      sizes[i] = g_ascii_strtod (parts[i], &end);
      if (parts[i][0] == '\0' || *end != '\0' || !isfinite (sizes[i]) || sizes[i] <= 0)
        return FALSE;
    }

  return TRUE;
}

static gboolean
parse_volume (const char         *text,
              DroverGcodeLimits  *limits,
              GError            **error)
{
  double sizes[3];

  if (!read_sizes (text, sizes))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("--volume needs three sizes in mm, as 220x220x250, not “%s”"), text);
      return FALSE;
    }

  limits->volume_x = sizes[0];
  limits->volume_y = sizes[1];
  limits->volume_z = sizes[2];
  return TRUE;
}

static gboolean
check_temperature (const char  *option,
                   double       value,
                   GError     **error)
{
  if (isfinite (value) && value >= 0 && value < 10000)
    return TRUE;

  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               _("%s needs a temperature in °C, or 0 not to check it"), option);
  return FALSE;
}

static GInputStream *
open_input (const char  *path,
            GError     **error)
{
  g_autoptr(GFile) file = NULL;

  /* "-" is standard input, for pipes. */
  if (g_str_equal (path, "-"))
    return g_unix_input_stream_new (STDIN_FILENO, FALSE);

  file = g_file_new_for_commandline_arg (path);
  return G_INPUT_STREAM (g_file_read (file, NULL, error));
}

/* "215", "0.2", "12.5": one decimal, none when it is 0. */
static char *
format_number (double value)
{
  char *text = g_strdup_printf ("%.1f", value);
  gsize length = strlen (text);

  if (length > 2 && text[length - 1] == '0' && !g_ascii_isdigit (text[length - 2]))
    text[length - 2] = '\0';

  return text;
}

static char *
format_filament (double millimetres)
{
  if (fabs (millimetres) < 1000)
    return g_strdup_printf (_("%.1f mm of filament"), millimetres);
  return g_strdup_printf (_("%.2f m of filament"), millimetres / 1000);
}

static void
print_human (const char              *path,
             const DroverGcodeReport *report)
{
  g_print ("%s: %s\n", path, report->verdict_reason);

  if (report->verdict == DROVER_GCODE_VERDICT_GCODE)
    {
      g_autoptr(GString) summary = g_string_new (NULL);
      g_autofree char *layers = g_strdup_printf ("%" G_GUINT64_FORMAT, report->layers);
      g_autofree char *filament = format_filament (report->filament_mm);

      g_string_append_printf (summary,
                              g_dngettext (GETTEXT_PACKAGE, "%s layer, %s", "%s layers, %s",
                                           (gulong) MIN (report->layers, G_MAXULONG)),
                              layers, filament);
      if (report->bounds_valid)
        {
          g_autofree char *min_x = format_number (report->min_x);
          g_autofree char *max_x = format_number (report->max_x);
          g_autofree char *min_y = format_number (report->min_y);
          g_autofree char *max_y = format_number (report->max_y);
          g_autofree char *min_z = format_number (report->min_z);
          g_autofree char *max_z = format_number (report->max_z);

          g_string_append (summary, _(", "));
          g_string_append_printf (summary, _("extruding from X %s to %s, Y %s to %s, Z %s to %s mm"),
                                  min_x, max_x, min_y, max_y, min_z, max_z);
        }
      if (report->max_hotend_seen > 0)
        {
          g_autofree char *hotend = format_number (report->max_hotend_seen);

          g_string_append (summary, _(", "));
          g_string_append_printf (summary, _("hotend up to %s °C"), hotend);
        }
      if (report->max_bed_seen > 0)
        {
          g_autofree char *bed = format_number (report->max_bed_seen);

          g_string_append (summary, _(", "));
          g_string_append_printf (summary, _("bed up to %s °C"), bed);
        }
      g_print ("%s: %s.\n", path, summary->str);
    }

  for (guint i = 0; i < report->findings->len; i++)
    {
      const DroverGcodeFinding *finding = g_ptr_array_index (report->findings, i);

      if (finding->count > 1)
        {
          g_autofree char *count = g_strdup_printf ("%" G_GUINT64_FORMAT, finding->count);

          g_print (_("%s: %s It occurs %s times.\n"), path, finding->reason, count);
        }
      else
        {
          g_print ("%s: %s\n", path, finding->reason);
        }
    }

  if (drover_gcode_report_is_dangerous (report))
    g_print (_("%s: Unsafe to print.\n"), path);
  else if (report->verdict == DROVER_GCODE_VERDICT_GCODE)
    g_print (_("%s: Nothing unsafe found.\n"), path);
  else
    g_print (_("%s: Not a print job.\n"), path);
}

static void
print_json (const char              *path,
            const DroverGcodeReport *report,
            const GError            *error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "file");
  json_builder_add_string_value (builder, path);

  if (report != NULL)
    {
      g_autofree char *report_text = drover_gcode_report_to_json (report);
      g_autoptr(JsonNode) report_node = json_from_string (report_text, NULL);
      JsonObject *object = json_node_get_object (report_node);
      g_autoptr(GList) members = json_object_get_members (object);

      for (GList *l = members; l != NULL; l = l->next)
        {
          json_builder_set_member_name (builder, l->data);
          json_builder_add_value (builder, json_object_dup_member (object, l->data));
        }
    }
  else
    {
      json_builder_set_member_name (builder, "error");
      json_builder_add_string_value (builder, error->message);
    }

  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

int
droverctl_scan_main (int    argc,
                     char **argv)
{
  g_auto(Options) options = { .max_hotend = 300, .max_bed = 120 };
  const GOptionEntry entries[] = {
    { "max-hotend", 0, 0, G_OPTION_ARG_DOUBLE, &options.max_hotend,
      N_("The hottest a hotend may be set (default 300; 0 does not check)"), N_("°C") },
    { "max-bed", 0, 0, G_OPTION_ARG_DOUBLE, &options.max_bed,
      N_("The hottest the bed may be set (default 120; 0 does not check)"), N_("°C") },
    { "volume", 0, 0, G_OPTION_ARG_STRING, &options.volume,
      N_("The build volume in mm, from 0 on each axis (default: moves not checked)"),
      N_("XxYxZ") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &options.json,
      N_("Print one JSON object per file, on one line each"), NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &options.files, NULL, N_("FILE…") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  DroverGcodeLimits limits;
  int status = EXIT_OK;

  g_set_prgname (argv[0]);
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                _("Check G-code files before they reach a printer: whether each is G-code at all,\n"
                                  "which commands a print job has no business sending, temperatures over the\n"
                                  "printer’s limits, moves outside its build volume, and what it prints."));
  g_option_context_set_description (context,
                                    _("Unsafe commands:\n"
                                      "  M500 M501 M502 SAVE_CONFIG   save, reload or reset the stored settings\n"
                                      "  M997                         update the firmware\n"
                                      "  M28 M29 M30 M928             write or delete files on the SD card\n"
                                      "  M303 M301 M304 M306 T        autotune or change heater control\n"
                                      "  M302                         allow cold extrusion (M302 P0 is fine)\n"
                                      "  M211 S0 M121                 turn endstops off\n"
                                      "  M42 M43 M260                 drive the board’s pins and buses\n"
                                      "  M118 …action:…               make the print server act (cancel, pause)\n"
                                      "  M112 M410 M999 FIRMWARE_RESTART RESTART   stop or restart the firmware\n"
                                      "  M104 M109 M140 M190 G10 M568 SET_HEATER_TEMPERATURE over the limits\n"
                                      "  G0 G1 G2 G3 outside the build volume (given with --volume)\n"
                                      "  a command on a line longer than 64 KiB (only its start is checked)\n"
                                      "\n"
                                      "FILE can be “-” for standard input.\n"
                                      "\n"
                                      "Exit status:\n"
                                      "  0  every file is G-code and nothing unsafe was found\n"
                                      "  1  a file is not G-code (prose, binary, empty) or holds something unsafe\n"
                                      "  2  the command line was wrong, or a file could not be read\n"
                                      "\n"
                                      "Examples:\n"
                                      "  droverctl scan benchy.gcode\n"
                                      "  droverctl scan --max-hotend=260 --max-bed=100 --volume=220x220x250 *.gcode\n"
                                      "  droverctl scan --json job.gcode | jq '.findings[].reason'\n"
                                      "  curl -s https://farm.lan/jobs/42.gcode | droverctl scan -"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, &argc, &argv, &error) ||
      !check_temperature ("--max-hotend", options.max_hotend, &error) ||
      !check_temperature ("--max-bed", options.max_bed, &error))
    {
      g_printerr ("droverctl scan: %s\n", error->message);
      g_printerr (_("Run “droverctl scan --help” to see its options.\n"));
      return EXIT_USAGE;
    }

  drover_gcode_limits_init_default (&limits);
  limits.max_hotend = options.max_hotend;
  limits.max_bed = options.max_bed;
  if (options.volume != NULL && !parse_volume (options.volume, &limits, &error))
    {
      g_printerr ("droverctl scan: %s\n", error->message);
      g_printerr (_("Run “droverctl scan --help” to see its options.\n"));
      return EXIT_USAGE;
    }

  if (options.files == NULL || options.files[0] == NULL)
    {
      g_printerr (_("droverctl scan: which files? Give one or more G-code files.\n"));
      g_printerr (_("Run “droverctl scan --help” to see its options.\n"));
      return EXIT_USAGE;
    }

  /* Every file is scanned; the status is the worst of them. */
  for (guint i = 0; options.files[i] != NULL; i++)
    {
      const char *path = options.files[i];
      g_autoptr(GInputStream) stream = NULL;
      g_autoptr(DroverGcodeReport) report = NULL;
      g_autoptr(GError) file_error = NULL;
      g_autofree char *display = g_filename_display_name (path);

      stream = open_input (path, &file_error);
      if (stream != NULL)
        report = drover_gcode_scan_stream (stream, &limits, NULL, &file_error);

      if (report == NULL)
        {
          g_printerr ("droverctl scan: %s\n", file_error->message);
          if (options.json)
            print_json (display, NULL, file_error);
          status = EXIT_USAGE;
          continue;
        }

      if (options.json)
        print_json (display, report, NULL);
      else
        print_human (display, report);

      if ((report->verdict != DROVER_GCODE_VERDICT_GCODE || drover_gcode_report_is_dangerous (report)) &&
          status == EXIT_OK)
        status = EXIT_CHECK_FAILED;
    }

  return status;
}
