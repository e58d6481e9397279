/* droverctl-audit.c: placeholder, being written
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "droverctl-commands.h"

int
droverctl_audit_main (int    argc,
                     char **argv)
{
  (void) argc;
  g_printerr (_("droverctl: “%s” is not written yet.\n"), argv[0]);
  return 2;
}
