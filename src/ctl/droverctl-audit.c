/* droverctl-audit.c: check and export Drover's ledger without Drover
 *
 *   droverctl audit verify [--ledger PATH]
 *   droverctl audit export [--ledger PATH] [--format csv|jsonl] [--output FILE]
 *
 * Both read a snapshot of the file through its own read-only connection,
 * so they work on a copy, and on the live ledger while Drover writes.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gunixoutputstream.h>
#include <glib/gi18n.h>
#include <unistd.h>

#include "drover-core.h"
#include "droverctl-commands.h"

#define EXIT_OK           0
#define EXIT_CHECK_FAILED 1
#define EXIT_USAGE        2

/* Each subcommand's own help shows its own name in "Usage:". */
static GOptionContext *
subcommand_context (const char *name,
                    const char *summary,
                    const char *description)
{
  GOptionContext *context;

  g_set_prgname (name);
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, summary);
  g_option_context_set_description (context, description);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);

  return context;
}

static gboolean
parse_or_complain (GOptionContext  *context,
                   const char      *name,
                   int             *argc,
                   char          ***argv)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("%s: %s\n", name, error->message);
      g_printerr (_("Run “%s --help” to see its options.\n"), name);
      return FALSE;
    }

  if (*argc > 1)
    {
      g_printerr (_("%s: “%s” is not an option this command takes.\n"), name, (*argv)[1]);
      g_printerr (_("Run “%s --help” to see its options.\n"), name);
      return FALSE;
    }

  return TRUE;
}

static int
audit_verify (int    argc,
              char **argv)
{
  g_autofree char *ledger = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(DroverLedgerVerdict) verdict = { 0 };
  const char *name = argv[0];
  const GOptionEntry entries[] = {
    { "ledger", 'l', 0, G_OPTION_ARG_FILENAME, &ledger,
      N_("The ledger to check (default: $XDG_DATA_HOME/drover/ledger.sqlite)"), N_("PATH") },
    { NULL }
  };

  context = subcommand_context (name,
                                _("Check the ledger's hash chain and sequence numbers, and name the first\n"
                                  "row that was changed or removed after it was written."),
                                _("The ledger is Drover's append-only record of the jobs and commands it sent, what\n"
                                  "it saw on the printers, their file lists and the alerts. Every row carries the\n"
                                  "hash of the row before it, so an edit anywhere breaks the chain at that row.\n"
                                  "docs/ledger.md says which bytes are hashed, so that other tools can check too.\n"
                                  "\n"
                                  "Rows removed from the very end leave no gap: the command prints the last row's\n"
                                  "hash, for you to note down elsewhere and compare next time.\n"
                                  "\n"
                                  "Exit status:\n"
                                  "  0  the ledger is intact, or empty\n"
                                  "  1  a row was changed or removed; the message names the first one\n"
                                  "  2  the command line was wrong, or the ledger cannot be read\n"
                                  "\n"
                                  "Examples:\n"
                                  "  droverctl audit verify\n"
                                  "  droverctl audit verify --ledger /srv/backup/ledger.sqlite"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!parse_or_complain (context, name, &argc, &argv))
    return EXIT_USAGE;

  path = ledger != NULL ? g_strdup (ledger) : drover_ledger_dup_default_path ();

  if (!drover_ledger_verify_file (path, &verdict, NULL, &error))
    {
      g_printerr ("%s: %s\n", name, error->message);
      return EXIT_USAGE;
    }

  if (verdict.problem != NULL)
    {
      g_print ("%s\n", verdict.problem);
      g_print (g_dngettext (GETTEXT_PACKAGE,
                            "The ledger %s is not intact: of its %lld row, the first broken one is row %lld.\n",
                            "The ledger %s is not intact: of its %lld rows, the first broken one is row %lld.\n",
                            (gulong)MIN (verdict.rows, G_MAXLONG)),
               path, (long long)verdict.rows, (long long)verdict.first_broken_seq);
      return EXIT_CHECK_FAILED;
    }

  if (verdict.rows == 0)
    {
      g_print (_("The ledger %s holds no rows yet.\n"), path);
      return EXIT_OK;
    }

  g_print (g_dngettext (GETTEXT_PACKAGE,
                        "The ledger %s is intact: %lld row, its hash and its sequence number check out.\n",
                        "The ledger %s is intact: %lld rows, every hash and every sequence number check out.\n",
                        (gulong)MIN (verdict.rows, G_MAXLONG)),
           path, (long long)verdict.rows);
  g_print (_("Last row's hash: %s\n"), verdict.last_hash);

  return EXIT_OK;
}

/* The ledger could not be read at all, as opposed to failing part-way. */
static gboolean
is_open_error (const GError *error)
{
  return g_error_matches (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_OPEN) ||
         g_error_matches (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_CORRUPT) ||
         g_error_matches (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_NEWER_VERSION);
}

static int
audit_export (int    argc,
              char **argv)
{
  g_autofree char *ledger = NULL;
  g_autofree char *format = NULL;
  g_autofree char *output = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GOutputStream) out = NULL;
  g_autoptr(GCancellable) discard = NULL;
  g_autoptr(GError) error = NULL;
  const char *name = argv[0];
  const GOptionEntry entries[] = {
    { "ledger", 'l', 0, G_OPTION_ARG_FILENAME, &ledger,
      N_("The ledger to export (default: $XDG_DATA_HOME/drover/ledger.sqlite)"), N_("PATH") },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format,
      N_("csv (the default) or jsonl"), N_("FORMAT") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      N_("Write to FILE instead of the standard output; FILE is replaced only once every row is written"),
      N_("FILE") },
    { NULL }
  };

  context = subcommand_context (name,
                                _("Write every row of the ledger, oldest first, as CSV or JSON Lines."),
                                _("CSV follows RFC 4180: a header row, fields with a comma, a quote or a line\n"
                                  "break in double quotes, lines ending in CR LF. Its columns:\n"
                                  "  seq, time (UTC, ISO 8601), time_us, kind, printer, subject, body, prev_hash, hash\n"
                                  "The body is the exact JSON text that was hashed, so the hash chain can be\n"
                                  "checked again from the CSV alone (docs/ledger.md shows how).\n"
                                  "\n"
                                  "JSON Lines has one object per row with the same names; printer and subject are\n"
                                  "null when the row has none, and the body is a JSON object.\n"
                                  "\n"
                                  "Exit status:\n"
                                  "  0  every row was written\n"
                                  "  1  writing failed part-way; an --output file is left as it was\n"
                                  "  2  the command line was wrong, or the ledger cannot be read\n"
                                  "\n"
                                  "Examples:\n"
                                  "  droverctl audit export > ledger.csv\n"
                                  "  droverctl audit export --format jsonl | jq 'select(.kind == \"job-sent\")'\n"
                                  "  droverctl audit export --ledger copy.sqlite --format jsonl --output ledger.jsonl"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!parse_or_complain (context, name, &argc, &argv))
    return EXIT_USAGE;

  if (format == NULL)
    format = g_strdup ("csv");

  if (!g_str_equal (format, "csv") && !g_str_equal (format, "jsonl"))
    {
      g_printerr (_("%s: “%s” is not a format droverctl writes: use csv or jsonl.\n"), name, format);
      return EXIT_USAGE;
    }

  path = ledger != NULL ? g_strdup (ledger) : drover_ledger_dup_default_path ();

  if (output != NULL)
    {
      g_autoptr(GFile) file = g_file_new_for_commandline_arg (output);

      /* A new file renamed over the old one when complete: a failed
       * export never leaves half a file where a good one was. */
      out = G_OUTPUT_STREAM (g_file_replace (file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error));
      if (out == NULL)
        {
          g_printerr (_("%s: cannot write %s: %s\n"), name, output, error->message);
          return EXIT_USAGE;
        }
    }
  else
    {
      out = g_unix_output_stream_new (STDOUT_FILENO, FALSE);
    }

  if (!drover_ledger_export_file (path, format, out, NULL, &error))
    {
      g_printerr ("%s: %s\n", name, error->message);
      if (output != NULL)
        {
          /* Closing with a cancelled cancellable drops the new file. */
          discard = g_cancellable_new ();
          g_cancellable_cancel (discard);
          g_output_stream_close (out, discard, NULL);
        }
      return is_open_error (error) ? EXIT_USAGE : EXIT_CHECK_FAILED;
    }

  if (!g_output_stream_close (out, NULL, &error))
    {
      g_printerr (_("%s: cannot write %s: %s\n"), name, output != NULL ? output : _("the standard output"),
                  error->message);
      return EXIT_CHECK_FAILED;
    }

  return EXIT_OK;
}

typedef struct
{
  const char *name;
  int (*main) (int argc, char **argv);
} Subcommand;

static const Subcommand subcommands[] = {
  { "verify", audit_verify },
  { "export", audit_export },
  { "broker", droverctl_audit_broker_main },
};

/**
 * droverctl_audit_main:
 * @argc: the arguments' count
 * @argv: "droverctl audit", then the subcommand and its options
 *
 * Returns: the exit status: 0 success, 1 the check failed, 2 the command
 *   line was wrong or the ledger cannot be read
 */
int
droverctl_audit_main (int    argc,
                      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *help = NULL;
  g_autofree char *name = g_strdup (argv[0]);

  g_set_prgname (name);
  context = g_option_context_new (_("COMMAND [OPTION…]"));
  g_option_context_set_summary (context,
                                _("Check and export Drover's ledger: the append-only, hash-chained record of\n"
                                  "the jobs and commands Drover sent, what it saw on the printers, their file\n"
                                  "lists and the alerts with their acknowledgements."));
  g_option_context_set_description (context,
                                    _("Commands:\n"
                                      "  verify    check the hash chain and the sequence numbers; name the first\n"
                                      "            row that was changed or removed\n"
                                      "  export    write the ledger as CSV or JSON Lines\n"
                                      "  broker    say whether an MQTT broker lets in anonymous clients, takes\n"
                                      "            unencrypted connections, or lets one printer read or command others\n"
                                      "\n"
                                      "  Run “droverctl audit COMMAND --help” for a command's options.\n"
                                      "\n"
                                      "Both read the ledger in $XDG_DATA_HOME/drover/ledger.sqlite unless\n"
                                      "--ledger names another file, such as a copy from another host.\n"
                                      "\n"
                                      "Exit status:\n"
                                      "  0  success\n"
                                      "  1  the check failed: a row was changed or removed, or the export\n"
                                      "     failed part-way\n"
                                      "  2  the command line was wrong, or the ledger cannot be read\n"
                                      "\n"
                                      "Examples:\n"
                                      "  droverctl audit verify\n"
                                      "  droverctl audit export --format jsonl --output ledger.jsonl"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  /* Options after the command are the command's. */
  g_option_context_set_strict_posix (context, TRUE);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s: %s\n", name, error->message);
      g_printerr (_("Run “%s --help” to see what it can do.\n"), name);
      return EXIT_USAGE;
    }

  if (argc < 2)
    {
      help = g_option_context_get_help (context, TRUE, NULL);
      g_printerr ("%s", help);
      return EXIT_USAGE;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (subcommands); i++)
    {
      if (g_str_equal (argv[1], subcommands[i].name))
        {
          g_autofree char *subcommand_name = g_strconcat (name, " ", argv[1], NULL);

          argv[1] = subcommand_name;
          return subcommands[i].main (argc - 1, argv + 1);
        }
    }

  g_printerr (_("%s: “%s” is not a command; it knows verify, export and broker.\n"), name, argv[1]);
  g_printerr (_("Run “%s --help” to see what it can do.\n"), name);
  return EXIT_USAGE;
}
