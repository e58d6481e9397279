/* droverctl.c: Drover on the command line
 *
 * For headless hosts, slicer post-processing steps and CI pipelines. It
 * links only the core library: nothing here needs a display.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "drover-core.h"
#include "droverctl-commands.h"

typedef struct
{
  const char *name;
  int (*main) (int argc, char **argv);
} Command;

static const Command commands[] = {
  { "audit", droverctl_audit_main },
  { "keygen", droverctl_keygen_main },
  { "scan", droverctl_scan_main },
  { "sign", droverctl_sign_main },
  { "stream", droverctl_stream_main },
  { "trust", droverctl_trust_main },
  { "verify", droverctl_verify_main },
};

static gboolean show_version;

static const GOptionEntry main_entries[] = {
  { "version", 'V', 0, G_OPTION_ARG_NONE, &show_version,
    N_("Print the version and the libraries in use, then exit"), NULL },
  { NULL }
};

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *help = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  context = g_option_context_new (_("COMMAND [ARGUMENT…]"));
  g_option_context_set_summary (context,
                                _("Sign, verify, scan and stream print jobs, and audit a print farm, "
                                  "without the Drover window."));
  g_option_context_set_description (context,
                                    _("Commands:\n"
                                      "  scan FILE…          check G-code files: is it G-code, which commands\n"
                                      "                      have no business in a print job, which values are\n"
                                      "                      over the printer's limits, and a summary\n"
                                      "  audit verify        check the ledger's hash chain; name the first\n"
                                      "                      broken row\n"
                                      "  audit export        write the ledger as CSV or JSON Lines\n"
                                      "  keygen              make a minisign key pair for signing jobs\n"
                                      "  sign FILE           sign a print job: its manifest (job id, printers,\n"
                                      "                      validity, limits) in minisign's trusted comment\n"
                                      "  verify FILE         check a job's signature and manifest\n"
                                      "  stream FILE         stream a signed job to a USB printer, after the gate\n"
                                      "  trust               list, add and revoke the keys whose jobs are trusted\n"
                                      "\n"
                                      "  Run “droverctl COMMAND --help” for a command's options.\n"
                                      "\n"
                                      "Exit status:\n"
                                      "  0  success\n"
                                      "  1  the command ran and its check failed\n"
                                      "  2  the command line was wrong\n"
                                      "\n"
                                      "Report bugs at https://github.com/drover/drover/issues"));
  g_option_context_add_main_entries (context, main_entries, GETTEXT_PACKAGE);
  g_option_context_set_strict_posix (context, TRUE);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("droverctl: %s\n", error->message);
      g_printerr (_("Run “droverctl --help” to see what droverctl can do.\n"));
      return 2;
    }

  if (show_version)
    {
      g_autofree char *versions = drover_core_dup_library_versions ();

      g_print ("droverctl %s\n%s", PACKAGE_VERSION, versions);
      return 0;
    }

  if (!drover_core_init (&error))
    {
      g_printerr ("droverctl: %s\n", error->message);
      return 1;
    }

  if (argc < 2)
    {
      help = g_option_context_get_help (context, TRUE, NULL);
      g_printerr ("%s", help);
      return 2;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (argv[1], commands[i].name))
      {
        g_autofree char *name = g_strconcat ("droverctl ", argv[1], NULL);

        argv[1] = name;
        return commands[i].main (argc - 1, argv + 1);
      }

  g_printerr (_("droverctl: “%s” is not a command.\n"), argv[1]);
  g_printerr (_("Run “droverctl --help” to see what droverctl can do.\n"));
  return 2;
}
