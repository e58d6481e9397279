/* droverctl-broker.c: is the broker set up safely?
 *
 *   droverctl audit broker URI [--username U] [--password-env VAR] [--ca-file F]
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "drover-core.h"
#include "droverctl-commands.h"

#define EXIT_OK           0
#define EXIT_PROBLEM      1
#define EXIT_USAGE        2

typedef struct
{
  GMainLoop *loop;
  GPtrArray *findings;
  GError    *error;
} CheckRun;

static void
check_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  CheckRun *run = user_data;

  run->findings = drover_broker_check_finish (result, &run->error);
  g_main_loop_quit (run->loop);
}

static const char *
verdict_label (DroverBrokerVerdict verdict)
{
  switch (verdict)
    {
    case DROVER_BROKER_VERDICT_OK:
      return _("ok");
    case DROVER_BROKER_VERDICT_PROBLEM:
      return _("problem");
    case DROVER_BROKER_VERDICT_UNKNOWN:
    default:
      return _("could not tell");
    }
}

/**
 * droverctl_audit_broker_main:
 * @argc: the arguments' count
 * @argv: "droverctl audit broker", then the address and the options
 *
 * Returns: 0 no problem found, 1 a problem found, 2 the command line was
 *   wrong or the broker could not be reached at all
 */
int
droverctl_audit_broker_main (int    argc,
                             char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree char *username = NULL;
  g_autofree char *password_env = NULL;
  g_autofree char *ca_file = NULL;
  g_autofree char *name = g_strdup (argv[0]);
  const char *password = NULL;
  CheckRun run = { 0 };
  gboolean problem = FALSE;
  const GOptionEntry entries[] = {
    { "username", 'u', 0, G_OPTION_ARG_STRING, &username,
      N_("The account to check with; best a printer's (default: none, anonymous)"), N_("USER") },
    { "password-env", 'p', 0, G_OPTION_ARG_STRING, &password_env,
      N_("The environment variable that holds the account's password"), N_("VAR") },
    { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file,
      N_("The CA that signed the broker's certificate (default: the system's)"), N_("FILE") },
    { NULL }
  };

  g_set_prgname (name);
  context = g_option_context_new (_("URI"));
  g_option_context_set_summary (context,
                                _("Connect to an MQTT broker as a client would, and say in words whether it\n"
                                  "is set up safely for a print farm."));
  g_option_context_set_description (context,
                                    _("URI is the broker's address, ssl://host:port or tcp://host:port.\n"
                                      "\n"
                                      "Four questions, each answered ok, problem or could not tell:\n"
                                      "  1  Does the broker let in clients without a user name and password?\n"
                                      "  2  Does it take unencrypted connections? A tcp:// address is; for an\n"
                                      "     ssl:// address, tcp://host:1883 is tried too.\n"
                                      "  3  May a client subscribe to “#” and read other printers' topics?\n"
                                      "  4  May a client publish to another printer's command topic? A harmless\n"
                                      "     probe goes to drover/v1/drover-probe-…/cmd, a printer that does not\n"
                                      "     exist, and a second connection listens for it for 2 seconds.\n"
                                      "\n"
                                      "Check with a printer's account: the console's own account is meant to\n"
                                      "command every printer. The password is read from the environment\n"
                                      "variable named by --password-env, never from the command line.\n"
                                      "\n"
                                      "Exit status:\n"
                                      "  0  no problem found\n"
                                      "  1  at least one problem found\n"
                                      "  2  the command line was wrong, or the broker could not be reached or\n"
                                      "     refused the account, so nothing was checked\n"
                                      "\n"
                                      "Examples:\n"
                                      "  droverctl audit broker tcp://farm.local:1883\n"
                                      "  PRINTER_PASSWORD=… droverctl audit broker ssl://farm.local:8883 \\\n"
                                      "      --username printer-07 --password-env PRINTER_PASSWORD --ca-file ca.pem"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s: %s\n", name, error->message);
      g_printerr (_("Run “%s --help” to see its options.\n"), name);
      return EXIT_USAGE;
    }

  if (argc != 2)
    {
      if (argc < 2)
        g_printerr (_("%s: give the broker's address, such as ssl://farm.local:8883.\n"), name);
      else
        g_printerr (_("%s: “%s” is not an option this command takes.\n"), name, argv[2]);
      g_printerr (_("Run “%s --help” to see its options.\n"), name);
      return EXIT_USAGE;
    }

  if (password_env != NULL)
    {
      password = g_getenv (password_env);
      if (password == NULL)
        {
          g_printerr (_("%s: the environment variable %s is not set; put the password there.\n"), name, password_env);
          return EXIT_USAGE;
        }
    }

  loop = g_main_loop_new (NULL, FALSE);
  run.loop = loop;
  drover_broker_check_async (argv[1], username, password, ca_file, NULL, check_done_cb, &run);
  g_main_loop_run (loop);

  if (run.findings == NULL)
    {
      g_printerr ("%s: %s\n", name, run.error->message);
      g_clear_error (&run.error);
      return EXIT_USAGE;
    }

  for (guint i = 0; i < run.findings->len; i++)
    {
      DroverBrokerFinding *finding = g_ptr_array_index (run.findings, i);

      /* TRANSLATORS: a verdict, then the sentence that explains it */
      g_print (_("[%s] %s\n"), verdict_label (finding->verdict), finding->sentence);
      if (finding->verdict == DROVER_BROKER_VERDICT_PROBLEM)
        problem = TRUE;
    }
  g_clear_pointer (&run.findings, g_ptr_array_unref);

  return problem ? EXIT_PROBLEM : EXIT_OK;
}
