/* droverctl-sign.c: placeholder, being written
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>

#include "droverctl-commands.h"

static int
not_yet (char **argv)
{
  g_printerr (_("droverctl: “%s” is not written yet.\n"), argv[0]);
  return 2;
}

int droverctl_keygen_main (int argc, char **argv) { (void) argc; return not_yet (argv); }
int droverctl_sign_main (int argc, char **argv) { (void) argc; return not_yet (argv); }
int droverctl_verify_main (int argc, char **argv) { (void) argc; return not_yet (argv); }
int droverctl_trust_main (int argc, char **argv) { (void) argc; return not_yet (argv); }
