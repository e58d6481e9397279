/* droverctl-stream.c: a signed job to a USB printer, without the window
 *
 * For a headless host beside the printers: the same gate as the app (a
 * trusted signature, the manifest naming this printer, the time window,
 * a job id never sent, the G-code scan, and the operator's word that the
 * plate is clear), then the verified bytes streamed over the serial port.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <unistd.h>

#include "drover-core.h"
#include "droverctl-commands.h"

typedef struct
{
  GMainLoop           *loop;
  DroverSerialStream  *stream;
  GBytes              *content;
  DroverSerialOutcome  outcome;
  GError              *error;
  gboolean             opened;
} Run;

static void
progress_cb (DroverSerialStream *stream,
             guint64             lines_done,
             guint64             lines_total,
             gpointer            user_data)
{
  /* One line, rewritten: a terminal shows progress, a log gets lines. */
  g_printerr (isatty (2) ? "\r%s" : "%s\n", "");
  g_printerr (_("%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " lines"), lines_done, lines_total);
  if (!isatty (2))
    g_printerr ("\n");
}

static void
printed_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Run *run = user_data;

  drover_serial_stream_print_finish (DROVER_SERIAL_STREAM (source), result, &run->outcome, &run->error);
  g_main_loop_quit (run->loop);
}

static void
opened_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Run *run = user_data;

  if (!drover_serial_stream_open_finish (DROVER_SERIAL_STREAM (source), result, &run->error))
    {
      g_main_loop_quit (run->loop);
      return;
    }

  run->opened = TRUE;
  g_printerr (_("Connected to %s.\n"), drover_serial_stream_get_firmware_name (run->stream) != NULL ?
                                       drover_serial_stream_get_firmware_name (run->stream) : _("the printer"));
  drover_serial_stream_print_async (run->stream, run->content, NULL, progress_cb, run, NULL, printed_cb, run);
}

static gboolean
interrupt_cb (gpointer user_data)
{
  Run *run = user_data;

  /* Ctrl+C: the safe cancel (heaters off, nozzle up), not a dead stop. */
  if (run->opened)
    drover_serial_stream_cancel (run->stream);
  else
    g_main_loop_quit (run->loop);
  return G_SOURCE_CONTINUE;
}

/* {"<name>":"<value>","transport":"serial"}, escaped as JSON. */
static char *
json_body (const char *name,
           const char *value)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
  json_builder_set_member_name (builder, "transport");
  json_builder_add_string_value (builder, "serial");
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

static gboolean
ask_plate_is_clear (void)
{
  char answer[16] = { 0 };

  if (!isatty (0))
    return FALSE;
  g_printerr (_("Is the build plate clear? [y/N] "));
  if (fgets (answer, sizeof answer, stdin) == NULL)
    return FALSE;
  return answer[0] == 'y' || answer[0] == 'Y';
}

int
droverctl_stream_main (int    argc,
                       char **argv)
{
  g_autofree char *port = NULL;
  g_autofree char *printer = NULL;
  g_autofree char *trust_path = NULL;
  g_autofree char *ledger_path = NULL;
  g_auto(GStrv) files = NULL;
  int baud = 115200;
  gboolean plate_is_clear = FALSE;
  const GOptionEntry entries[] = {
    { "port", 0, 0, G_OPTION_ARG_FILENAME, &port, N_("The printer's serial port, as /dev/ttyACM0"), N_("PATH") },
    { "baud", 0, 0, G_OPTION_ARG_INT, &baud, N_("The port's speed (default 115200)"), N_("BAUD") },
    { "printer", 0, 0, G_OPTION_ARG_STRING, &printer, N_("The printer's id, as the job's manifest names it"), N_("ID") },
    { "trust-store", 0, 0, G_OPTION_ARG_FILENAME, &trust_path, N_("The trusted keys (default ~/.config/drover/trusted-keys.conf)"), N_("PATH") },
    { "ledger", 0, 0, G_OPTION_ARG_FILENAME, &ledger_path, N_("The ledger (default ~/.local/share/drover/ledger.sqlite)"), N_("PATH") },
    { "plate-is-clear", 0, 0, G_OPTION_ARG_NONE, &plate_is_clear, N_("Confirm the build plate is clear, without asking"), NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, N_("FILE") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTrustStore) trust = NULL;
  g_autoptr(DroverLedger) ledger = NULL;
  g_autoptr(DroverJob) job = NULL;
  g_autoptr(GFile) file = NULL;
  g_autofree char *verdict = NULL;
  g_autofree char *body = NULL;
  Run run = { 0 };
  guint interrupt;

  g_set_prgname (argv[0]);
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _("Stream a signed print job to a USB printer, after the same checks as "
                                           "Drover's window."));
  g_option_context_set_description (context,
                                    _("The job is FILE with FILE.minisig beside it (see “droverctl sign”). It is "
                                      "sent only when it is signed by a trusted key that was not revoked, its "
                                      "manifest names --printer, now is inside its time window, its job id was "
                                      "never sent before (the ledger), its G-code is within the limits, and the "
                                      "plate is confirmed clear (asked on the terminal, or --plate-is-clear). The "
                                      "bytes streamed are the bytes verified. Ctrl+C cancels safely: heaters off, "
                                      "nozzle up.\n"
                                      "\n"
                                      "Exit status:\n"
                                      "  0  the print completed\n"
                                      "  1  refused by the gate, or the print did not complete\n"
                                      "  2  the command line was wrong, or a file cannot be read\n"
                                      "\n"
                                      "Example:\n"
                                      "  droverctl stream --port /dev/ttyACM0 --printer s-0001 part.gcode"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s: %s\n", g_get_prgname (), error->message);
      return 2;
    }
  if (files == NULL || files[0] == NULL || files[1] != NULL || port == NULL || printer == NULL || baud <= 0)
    {
      g_printerr (_("%s: give one FILE, --port and --printer.\n"), g_get_prgname ());
      return 2;
    }

  trust = drover_trust_store_load (trust_path, &error);
  if (trust == NULL)
    {
      g_printerr ("%s: %s\n", g_get_prgname (), error->message);
      return 2;
    }
  if (ledger_path == NULL)
    ledger_path = drover_ledger_dup_default_path ();
  ledger = drover_ledger_open (ledger_path, &error);
  if (ledger == NULL)
    {
      g_printerr ("%s: %s\n", g_get_prgname (), error->message);
      return 2;
    }

  file = g_file_new_for_commandline_arg (files[0]);
  job = drover_job_load (file, NULL, trust, ledger, NULL, &error);
  if (job == NULL || !drover_job_check_printer (job, printer, NULL, g_get_real_time () / G_USEC_PER_SEC, &error))
    {
      g_autofree char *basename = g_file_get_basename (file);

      g_printerr (_("Refused: %s\n"), error->message);
      body = json_body ("reason", error->message);
      drover_ledger_append (ledger, DROVER_LEDGER_KIND_JOB_REFUSED, printer, basename, body);
      return error->code == DROVER_JOB_ERROR_READ ? 2 : 1;
    }

  verdict = drover_job_describe (job);
  g_printerr ("%s\n", verdict);
  if (!plate_is_clear && !ask_plate_is_clear ())
    {
      g_printerr (_("Refused: the build plate was not confirmed clear. Nothing was sent.\n"));
      return 1;
    }

  body = g_strdup_printf ("{\"job\":\"%s\",\"size\":%" G_GSIZE_FORMAT ",\"sha256\":\"%s\",\"signer\":\"%s\","
                          "\"transport\":\"serial\",\"result\":\"sending\"}",
                          drover_job_get_manifest (job)->job_id, g_bytes_get_size (drover_job_get_content (job)),
                          drover_job_get_sha256 (job), drover_job_get_key_id (job));
  drover_ledger_append (ledger, DROVER_LEDGER_KIND_JOB_SENT, printer, drover_job_get_name (job), body);

  run.loop = g_main_loop_new (NULL, FALSE);
  run.stream = drover_serial_stream_new (port, (guint)baud);
  run.content = drover_job_get_content (job);
  interrupt = g_unix_signal_add (SIGINT, interrupt_cb, &run);
  drover_serial_stream_open_async (run.stream, NULL, opened_cb, &run);
  g_main_loop_run (run.loop);
  g_source_remove (interrupt);
  drover_serial_stream_close (run.stream);
  g_clear_object (&run.stream);
  g_main_loop_unref (run.loop);
  if (isatty (2))
    g_printerr ("\n");

  if (run.outcome == DROVER_SERIAL_OUTCOME_COMPLETED)
    {
      g_printerr (_("The print completed.\n"));
      return 0;
    }
  g_printerr (_("The print did not complete: %s\n"), run.error != NULL ? run.error->message : _("cancelled"));
  g_clear_error (&run.error);
  return 1;
}
