/* test-cli.c: what the binaries say on the command line
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <poll.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "drover-test-broker.h"

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
  g_auto(Result) no_broker = { 0 };
  g_auto(Result) bad_mix = { 0 };
  g_auto(Result) too_many = { 0 };
  g_auto(Result) bad_incident = { 0 };

  run (&help, "DROVER_SIM_BIN", "--help", NULL);
  g_assert_cmpint (help.status, ==, 0);
  g_assert_nonnull (strstr (help.out, "simulated print farm"));
  /* Every fault and attack switch is documented. */
  for (const char * const *option = (const char *[]) { "--broker", "--printers", "--mix", "--incident", "--incident-at",
                                                       "--incident-printers", "--silent-after", "--offline-one-in",
                                                       "--serial", "--baud", "--serial-buffer", "--corrupt-one-in",
                                                       "--drop-ok-one-in", "--unplug-after", "--http-port",
                                                       "--control", "--inventory", NULL };
       *option != NULL; option++)
    g_assert_nonnull (strstr (help.out, *option));
  g_assert_nonnull (strstr (help.out, "Control commands"));

  run (&no_broker, "DROVER_SIM_BIN", NULL);
  g_assert_cmpint (no_broker.status, ==, 2);
  g_assert_nonnull (strstr (no_broker.err, "--broker"));

  run (&bad_mix, "DROVER_SIM_BIN", "--broker", "tcp://127.0.0.1:1", "--mix", "prusalink=2", NULL);
  g_assert_cmpint (bad_mix.status, ==, 2);
  g_assert_nonnull (strstr (bad_mix.err, "prusalink"));

  run (&too_many, "DROVER_SIM_BIN", "--broker", "tcp://127.0.0.1:1", "--printers", "10001", NULL);
  g_assert_cmpint (too_many.status, ==, 2);

  run (&bad_incident, "DROVER_SIM_BIN", "--broker", "tcp://127.0.0.1:1", "--incident", "ransom", NULL);
  g_assert_cmpint (bad_incident.status, ==, 2);
}

/* Reads lines until one starts with @prefix; bounded by count. */
static char *
read_until (GDataInputStream *out,
            const char       *prefix)
{
  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(GError) error = NULL;
      char *line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (line);
      if (g_str_has_prefix (line, prefix))
        return line;
      g_free (line);
    }

  g_assert_not_reached ();
}

static void
send_line (GSubprocess *process,
           const char  *line)
{
  GOutputStream *in = g_subprocess_get_stdin_pipe (process);
  g_autofree char *text = g_strconcat (line, "\n", NULL);

  g_assert_true (g_output_stream_write_all (in, text, strlen (text), NULL, NULL, NULL));
  g_assert_true (g_output_stream_flush (in, NULL, NULL));
}

static char *
serial_exchange (int         fd,
                 const char *command,
                 const char *until)
{
  GString *reply = g_string_new (NULL);
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  g_assert_cmpint (write (fd, command, strlen (command)), ==, (gssize)strlen (command));
  while (strstr (reply->str, until) == NULL && g_get_monotonic_time () < deadline)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      char buffer[256];
      gssize n;

      if (poll (&pfd, 1, 100) <= 0)
        continue;
      n = read (fd, buffer, sizeof buffer);
      if (n <= 0)
        break;
      g_string_append_len (reply, buffer, n);
    }

  return g_string_free (reply, FALSE);
}

static void
test_cli_sim_control (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTestBroker) broker = drover_test_broker_start (NULL, &error);
  g_autofree char *uri = NULL;
  g_autoptr(GSubprocess) sim = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *serial_line = NULL;
  g_autofree char *incident = NULL;
  g_autofree char *files = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *accepted = NULL;
  g_auto(GStrv) words = NULL;
  struct termios raw;
  int fd;

  g_assert_no_error (error);
  uri = drover_test_broker_dup_uri (broker);

  sim = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                          g_getenv ("DROVER_SIM_BIN"), "--broker", uri, "--printers", "2", "--mix", "native=1",
                          "--serial", "1", "--baud", "0", "--http-port", "-1", "--control", NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (sim));

  serial_line = read_until (out, "serial ");
  g_free (read_until (out, "ready "));

  /* The incident, on demand, names the printers it reached. */
  send_line (sim, "incident readme 1");
  incident = read_until (out, "incident ");
  g_assert_cmpstr (incident, ==, "incident readme p-0001");

  /* The stranger's order travels over the broker: ask until it has arrived. */
  for (guint i = 0; i < 100; i++)
    {
      g_clear_pointer (&files, g_free);
      send_line (sim, "files p-0001");
      files = read_until (out, "files ");
      if (strstr (files, "hacked_machine_readme.gcode") != NULL)
        break;
      g_usleep (50 * 1000);
    }
  g_assert_nonnull (strstr (files, "hacked_machine_readme.gcode"));

  /* The serial printer's pty answers as Marlin, and records what it took. */
  words = g_strsplit (serial_line, " ", 3);
  fd = open (words[2], O_RDWR | O_NOCTTY);
  g_assert_cmpint (fd, >=, 0);
  tcgetattr (fd, &raw);
  cfmakeraw (&raw);
  tcsetattr (fd, TCSANOW, &raw);
  /* Wait for M115's own ok, not the banner's "SD card ok". */
  reply = serial_exchange (fd, "M115\n", "\nok\n");
  g_test_message ("M115: %s", reply);
  g_assert_nonnull (strstr (reply, "FIRMWARE_NAME:"));

  send_line (sim, "serial-accepted s-0001");
  accepted = read_until (out, "accepted s-0001 ");
  g_assert_cmpstr (accepted, ==, "accepted s-0001 M115");
  g_free (read_until (out, "accepted-end"));

  /* Pulling the cable: the host's read ends. */
  send_line (sim, "serial-unplug s-0001");
  g_free (read_until (out, "unplugged"));
  {
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    g_assert_cmpint (poll (&pfd, 1, 5000), ==, 1);
    g_assert_true (pfd.revents & (POLLHUP | POLLERR | POLLIN));
  }
  close (fd);

  send_line (sim, "quit");
  g_assert_true (g_subprocess_wait_check (sim, NULL, &error));
  g_assert_no_error (error);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/cli/droverctl", test_cli_droverctl);
  g_test_add_func ("/cli/drover", test_cli_drover);
  g_test_add_func ("/cli/drover-sim", test_cli_sim);
  g_test_add_func ("/cli/drover-sim-control", test_cli_sim_control);

  return g_test_run ();
}
