/* drover-sim.c: a simulated print farm
 *
 * The simulator writes each printer dialect from its own templates and never
 * through src/core's decoders or encoders, so that a bug in Drover's
 * decoders cannot hide behind the same bug here. It links GLib only.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

static gboolean show_version;

static const GOptionEntry main_entries[] = {
  { "version", 'V', 0, G_OPTION_ARG_NONE, &show_version, N_("Print the version, then exit"), NULL },
  { NULL }
};

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                _("Run a simulated print farm that speaks the real printers' protocols, "
                                  "for Drover's demo farm, its tests and its benchmarks."));
  g_option_context_set_description (context,
                                    _("This version has no printers to simulate yet.\n"
                                      "\n"
                                      "Report bugs at https://github.com/drover/drover/issues"));
  g_option_context_add_main_entries (context, main_entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("drover-sim: %s\n", error->message);
      return 2;
    }

  if (show_version)
    {
      g_print ("drover-sim %s\n", PACKAGE_VERSION);
      return 0;
    }

  g_printerr (_("drover-sim: this version has no printers to simulate yet.\n"));
  return 1;
}
