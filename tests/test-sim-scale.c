/* test-sim-scale.c: drover-sim runs a large farm in one process
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "drover-test-broker.h"

static void
test_sim_scale (void)
{
  g_autoptr(GError) error = NULL;
  /* mosquitto needs a descriptor per printer, as drover-sim does. */
  g_autoptr(DroverTestBroker) broker = drover_test_broker_start ("max_connections -1", &error);
  const char *count = g_getenv ("DROVER_TEST_SCALE_PRINTERS");
  g_autofree char *uri = NULL;
  g_autoptr(GSubprocess) sim = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *ready = NULL;
  g_autofree char *expected = NULL;
  guint printers = 0;

  g_assert_no_error (error);
  uri = drover_test_broker_dup_uri (broker);
  if (count == NULL)
    count = "10000";

  sim = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDIN_PIPE, &error,
                          g_getenv ("DROVER_SIM_BIN"), "--broker", uri, "--printers", count,
                          "--mix", "moonraker=1,octoprint=1,native=1", "--http-port", "-1", "--control", NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (sim));

  /* One line per printer, then "ready N": every printer was made and set off. */
  for (guint i = 0; i < 20000; i++)
    {
      g_autofree char *line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (line);
      if (g_str_has_prefix (line, "printer "))
        printers++;
      if (g_str_has_prefix (line, "ready "))
        {
          ready = g_steal_pointer (&line);
          break;
        }
    }

  expected = g_strdup_printf ("ready %s", count);
  g_assert_cmpstr (ready, ==, expected);
  g_assert_cmpuint (printers, ==, (guint)g_ascii_strtoull (count, NULL, 10));

  /* The last printer answers on the control channel: the process is alive and whole. */
  {
    GOutputStream *in = g_subprocess_get_stdin_pipe (sim);
    g_autofree char *last = g_strdup_printf ("p-%04u", printers);
    g_autofree char *command = g_strdup_printf ("status %s\nquit\n", last);
    g_autofree char *status = NULL;

    g_assert_true (g_output_stream_write_all (in, command, strlen (command), NULL, NULL, NULL));
    status = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (g_str_has_prefix (status, "status "));
    g_assert_nonnull (strstr (status, last));
  }

  g_assert_true (g_subprocess_wait_check (sim, NULL, &error));
  g_assert_no_error (error);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/sim/scale", test_sim_scale);

  return g_test_run ();
}
