/* main.c: the drover program
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "drover-application.h"
#include "drover-core.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(DroverApplication) app = NULL;
  g_autoptr(GError) error = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (!drover_core_init (&error))
    {
      g_printerr ("drover: %s\n", error->message);
      return 1;
    }

  app = drover_application_new ();

  return g_application_run (G_APPLICATION (app), argc, argv);
}
