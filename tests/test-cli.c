/* test-cli.c: what the binaries say on the command line
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <string.h>

typedef struct
{
  int   status;
  char *out;
  char *err;
} Result;

static void
result_clear (Result *result)
{
  g_clear_pointer (&result->out, g_free);
  g_clear_pointer (&result->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Result, result_clear)

static void
run (Result      *result,
     const char  *binary_env,
     ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  const char *binary = g_getenv (binary_env);
  const char *arg;
  va_list args;

  g_assert_nonnull (binary);
  g_ptr_array_add (argv, (gpointer)binary);
  va_start (args, binary_env);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer)arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_newv ((const char * const *)argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                               &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &result->out, &result->err, &error);
  g_assert_no_error (error);
  result->status = g_subprocess_get_exit_status (process);
}

static void
test_cli_droverctl (void)
{
  g_auto(Result) help = { 0 };
  g_auto(Result) version = { 0 };
  g_auto(Result) nothing = { 0 };
  g_auto(Result) unknown = { 0 };
  g_auto(Result) bad_option = { 0 };

  run (&help, "DROVERCTL_BIN", "--help", NULL);
  g_assert_cmpint (help.status, ==, 0);
  g_assert_nonnull (strstr (help.out, "Usage:"));
  g_assert_nonnull (strstr (help.out, "droverctl"));
  g_assert_nonnull (strstr (help.out, "Exit status:"));
  g_assert_nonnull (strstr (help.out, "--version"));

  run (&version, "DROVERCTL_BIN", "--version", NULL);
  g_assert_cmpint (version.status, ==, 0);
  g_assert_true (g_str_has_prefix (version.out, "droverctl " PACKAGE_VERSION "\n"));
  /* It names what it runs on, for bug reports. */
  g_assert_nonnull (strstr (version.out, "Paho MQTT C "));
  g_assert_nonnull (strstr (version.out, "libsodium "));
  g_assert_nonnull (strstr (version.out, "SQLite "));

  /* Wrong use is a clear message and exit status 2, never a crash. */
  run (&nothing, "DROVERCTL_BIN", NULL);
  g_assert_cmpint (nothing.status, ==, 2);
  g_assert_nonnull (strstr (nothing.err, "Usage:"));

  run (&unknown, "DROVERCTL_BIN", "frobnicate", NULL);
  g_assert_cmpint (unknown.status, ==, 2);
  g_assert_nonnull (strstr (unknown.err, "“frobnicate” is not a command"));

  run (&bad_option, "DROVERCTL_BIN", "--no-such-option", NULL);
  g_assert_cmpint (bad_option.status, ==, 2);
  g_assert_nonnull (strstr (bad_option.err, "--no-such-option"));
  g_assert_nonnull (strstr (bad_option.err, "droverctl --help"));
}

static void
test_cli_drover (void)
{
  g_auto(Result) help = { 0 };
  g_auto(Result) version = { 0 };

  /* Both are answered before any window or display is needed. */
  run (&help, "DROVER_BIN", "--help", NULL);
  g_assert_cmpint (help.status, ==, 0);
  g_assert_nonnull (strstr (help.out, "--demo"));
  g_assert_nonnull (strstr (help.out, "Watch a print farm"));

  run (&version, "DROVER_BIN", "--version", NULL);
  g_assert_cmpint (version.status, ==, 0);
  g_assert_true (g_str_has_prefix (version.out, "drover " PACKAGE_VERSION "\n"));
}

static void
test_cli_sim (void)
{
  g_auto(Result) help = { 0 };

  run (&help, "DROVER_SIM_BIN", "--help", NULL);
  g_assert_cmpint (help.status, ==, 0);
  g_assert_nonnull (strstr (help.out, "simulated print farm"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/cli/droverctl", test_cli_droverctl);
  g_test_add_func ("/cli/drover", test_cli_drover);
  g_test_add_func ("/cli/drover-sim", test_cli_sim);

  return g_test_run ();
}
