/* droverctl-commands.h: the commands droverctl dispatches to
 *
 * Each command gets the arguments after its own name (argv[0] is the
 * command's name, as "droverctl scan"), parses its own options and returns
 * the exit status: 0 success, 1 the check failed, 2 the command line was
 * wrong.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

int  droverctl_scan_main   (int    argc,
                            char **argv);
int  droverctl_audit_main  (int    argc,
                            char **argv);
int  droverctl_audit_broker_main (int    argc,
                                  char **argv);
int  droverctl_keygen_main (int    argc,
                            char **argv);
int  droverctl_sign_main   (int    argc,
                            char **argv);
int  droverctl_verify_main (int    argc,
                            char **argv);
int  droverctl_trust_main  (int    argc,
                            char **argv);
int  droverctl_stream_main (int    argc,
                            char **argv);

G_END_DECLS
