/* test-serial.c: DroverSerialStream against drover-sim's Marlin on a pty
 *
 * Each test starts its own drover-sim with serial printers on
 * pseudo-terminals (the broker it needs for its other printers is shared)
 * and talks to them through the stream, as Drover would to a USB printer.
 * What the printer accepted comes from the simulator's control channel
 * ("serial-accepted"), never from the stream itself.
 *
 * Real USB devices cannot be tested here: there are none on the build
 * machine, and ports come and go only where udev runs. Port listing is
 * tested on a made-up device folder instead, and on /dev only for not
 * crashing.
 *
 * Every wait is bounded in time and in iterations; nothing asserts how
 * long anything took. DROVER_TEST_SERIAL_TRACE=1 prints the traffic of
 * the print tests.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <gio/gunixinputstream.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "drover-core.h"
#include "drover-test-broker.h"

#define WAIT_SECONDS 60

static DroverTestBroker *broker;

/* ------------------------------------------------------------------------ */
/* The simulator                                                             */

typedef struct
{
  GSubprocess *process;
  int          out_fd;
  GString     *buffer;
  GPtrArray   *paths;
} Sim;

/* One line of the simulator's standard output, or NULL after @seconds. */
static char *
sim_read_line (Sim  *sim,
               guint seconds)
{
  gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;

  for (guint i = 0; i < 100000; i++)
    {
      char *newline = strchr (sim->buffer->str, '\n');
      struct pollfd pfd = { .fd = sim->out_fd, .events = POLLIN };
      char chunk[4096];
      gssize n;
      gint64 left;

      if (newline != NULL)
        {
          char *line = g_strndup (sim->buffer->str, (gsize)(newline - sim->buffer->str));

          g_string_erase (sim->buffer, 0, newline - sim->buffer->str + 1);
          return line;
        }
      left = deadline - g_get_monotonic_time ();
      if (left <= 0)
        return NULL;
      if (poll (&pfd, 1, (int)(left / 1000) + 1) <= 0)
        continue;
      n = read (sim->out_fd, chunk, sizeof chunk);
      if (n == 0)
        return NULL;
      if (n < 0)
        {
          g_assert_true (errno == EINTR || errno == EAGAIN);
          continue;
        }
      g_string_append_len (sim->buffer, chunk, n);
    }
  return NULL;
}

static char *
sim_read_until (Sim        *sim,
                const char *prefix)
{
  for (guint i = 0; i < 100000; i++)
    {
      char *line = sim_read_line (sim, WAIT_SECONDS);

      g_assert_nonnull (line);
      if (g_str_has_prefix (line, prefix))
        return line;
      g_free (line);
    }
  g_assert_not_reached ();
}

static void
sim_send (Sim        *sim,
          const char *command)
{
  GOutputStream *in = g_subprocess_get_stdin_pipe (sim->process);
  g_autofree char *text = g_strconcat (command, "\n", NULL);

  g_assert_true (g_output_stream_write_all (in, text, strlen (text), NULL, NULL, NULL));
  g_assert_true (g_output_stream_flush (in, NULL, NULL));
}

/* Starts drover-sim with @n_serial Marlin printers and the extra arguments
 * (NULL-terminated), and waits for it to say it is ready. */
static Sim *
sim_start (guint       n_serial,
           const char *first_arg,
           ...)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *uri = drover_test_broker_dup_uri (broker);
  Sim *sim = g_new0 (Sim, 1);
  va_list args;

  g_ptr_array_add (argv, g_strdup (g_getenv ("DROVER_SIM_BIN")));
  for (const char * const *a = (const char *[]) { "--broker", uri, "--printers", "1", "--mix", "native=1",
                                                  "--http-port", "-1", "--control", "--serial", NULL };
       *a != NULL; a++)
    g_ptr_array_add (argv, g_strdup (*a));
  g_ptr_array_add (argv, g_strdup_printf ("%u", n_serial));
  va_start (args, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (args);
  g_ptr_array_add (argv, NULL);

  sim->process = g_subprocess_newv ((const char * const *)argv->pdata,
                                    G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  sim->out_fd = g_unix_input_stream_get_fd (G_UNIX_INPUT_STREAM (g_subprocess_get_stdout_pipe (sim->process)));
  sim->buffer = g_string_new (NULL);
  sim->paths = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *line = sim_read_line (sim, WAIT_SECONDS);
      g_auto(GStrv) words = NULL;

      g_assert_nonnull (line);
      if (g_str_has_prefix (line, "ready "))
        break;
      words = g_strsplit (line, " ", 3);
      if (g_str_equal (words[0], "serial") && words[1] != NULL && words[2] != NULL)
        g_ptr_array_add (sim->paths, g_strdup (words[2]));
    }
  g_assert_cmpuint (sim->paths->len, ==, n_serial);
  return sim;
}

static void
sim_free (Sim *sim)
{
  g_autoptr(GError) error = NULL;

  sim_send (sim, "quit");
  g_subprocess_wait_check (sim->process, NULL, &error);
  g_assert_no_error (error);
  g_object_unref (sim->process);
  g_string_free (sim->buffer, TRUE);
  g_ptr_array_unref (sim->paths);
  g_free (sim);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Sim, sim_free)

/* Every command printer @id (s-0001…) took into its queue, in order. */
static GPtrArray *
sim_dup_accepted (Sim        *sim,
                  const char *id)
{
  g_autofree char *command = g_strdup_printf ("serial-accepted %s", id);
  g_autofree char *prefix = g_strdup_printf ("accepted %s ", id);
  g_autofree char *end = g_strdup_printf ("accepted-end %s", id);
  GPtrArray *accepted = g_ptr_array_new_with_free_func (g_free);

  sim_send (sim, command);
  for (guint i = 0; i < 10000000; i++)
    {
      g_autofree char *line = sim_read_line (sim, WAIT_SECONDS);

      g_assert_nonnull (line);
      if (g_str_equal (line, end))
        return accepted;
      if (g_str_has_prefix (line, prefix))
        g_ptr_array_add (accepted, g_strdup (line + strlen (prefix)));
    }
  g_assert_not_reached ();
}

/* ------------------------------------------------------------------------ */
/* Waiting on the main context                                               */

static gboolean
wake_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the main context until @done is set, for @seconds at most. */
static void
wait_for_flag (const gboolean *done,
               guint           seconds)
{
  gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;
  guint wake = g_timeout_add (20, wake_cb, NULL);

  for (guint i = 0; i < seconds * 1000 && !*done && g_get_monotonic_time () < deadline; i++)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (wake);
  g_assert_true (*done);
}

/* Iterates for about @ms: lets the stream's news arrive. */
static void
spin (guint ms)
{
  gint64 deadline = g_get_monotonic_time () + ms * 1000;
  guint wake = g_timeout_add (10, wake_cb, NULL);

  for (guint i = 0; i < ms + 10 && g_get_monotonic_time () < deadline; i++)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (wake);
}

typedef struct
{
  gboolean done;
  gboolean ok;
  GError  *error;
  DroverSerialOutcome outcome;
  char    *reply;
} Result;

static void
result_clear (Result *result)
{
  g_clear_error (&result->error);
  g_clear_pointer (&result->reply, g_free);
  memset (result, 0, sizeof *result);
}

static void
opened_cb (GObject      *object,
           GAsyncResult *res,
           gpointer      user_data)
{
  Result *result = user_data;

  result->ok = drover_serial_stream_open_finish (DROVER_SERIAL_STREAM (object), res, &result->error);
  result->done = TRUE;
}

static void
printed_cb (GObject      *object,
            GAsyncResult *res,
            gpointer      user_data)
{
  Result *result = user_data;

  result->ok = drover_serial_stream_print_finish (DROVER_SERIAL_STREAM (object), res, &result->outcome,
                                                  &result->error);
  result->done = TRUE;
}

static void
command_cb (GObject      *object,
            GAsyncResult *res,
            gpointer      user_data)
{
  Result *result = user_data;

  result->reply = drover_serial_stream_send_command_finish (DROVER_SERIAL_STREAM (object), res, &result->error);
  result->ok = result->reply != NULL;
  result->done = TRUE;
}

static DroverSerialStream *
open_stream (const char *path,
             guint       baud)
{
  DroverSerialStream *stream = drover_serial_stream_new (path, baud);
  Result result = { 0 };

  drover_serial_stream_open_async (stream, NULL, opened_cb, &result);
  wait_for_flag (&result.done, WAIT_SECONDS);
  g_assert_no_error (result.error);
  g_assert_true (result.ok);
  g_assert_cmpint (drover_serial_stream_get_state (stream), ==, DROVER_SERIAL_STATE_IDLE);
  return stream;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */

static void
test_format_line (void)
{
  /* The reference's vectors (RepRap wiki, OctoPrint's hello, M115). */
  static const struct { gint64 n; const char *command; const char *line; } vectors[] = {
    { 3, "T0", "N3 T0*57" },
    { 4, "G92 E0", "N4 G92 E0*67" },
    { 5, "G28", "N5 G28*22" },
    { 0, "M110 N0", "N0 M110 N0*125" },
    { 1, "M115", "N1 M115*39" },
    { -1, "M110", "N-1 M110*15" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (vectors); i++)
    {
      g_autofree char *line = drover_serial_format_line (vectors[i].n, vectors[i].command);

      g_assert_cmpstr (line, ==, vectors[i].line);
    }
}

static void
test_identify (void)
{
  g_autoptr(Sim) sim = sim_start (1, "--baud", "250000", NULL);
  g_autoptr(DroverSerialStream) stream = open_stream (g_ptr_array_index (sim->paths, 0), 250000);
  g_auto(GStrv) capabilities = NULL;
  g_autoptr(GPtrArray) accepted = NULL;

  g_assert_cmpstr (drover_serial_stream_get_firmware_name (stream), ==, "Marlin bugfix-2.1.x (drover-sim)");
  g_assert_true (drover_serial_stream_has_capability (stream, "AUTOREPORT_TEMP"));
  g_assert_true (drover_serial_stream_has_capability (stream, "SDCARD"));
  g_assert_false (drover_serial_stream_has_capability (stream, "EEPROM"));
  capabilities = drover_serial_stream_dup_capabilities (stream);
  g_assert_true (g_strv_contains ((const char * const *)capabilities, "THERMAL_PROTECTION"));
  g_assert_false (drover_serial_stream_get_advanced_ok (stream));
  g_assert_true (drover_serial_stream_get_pipelining (stream));

  /* The hello, identification, then auto-reports rather than polls. */
  accepted = sim_dup_accepted (sim, "s-0001");
  g_assert_cmpuint (accepted->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (accepted, 0), ==, "M110 N0");
  g_assert_cmpstr (g_ptr_array_index (accepted, 1), ==, "M115");
  g_assert_cmpstr (g_ptr_array_index (accepted, 2), ==, "M155 S2");

  drover_serial_stream_close (stream);
  g_assert_cmpint (drover_serial_stream_get_state (stream), ==, DROVER_SERIAL_STATE_CLOSED);
}


/* ------------------------------------------------------------------------ */
/* Jobs                                                                      */

/* Sliced-looking G-code: a header of comments, start G-code with comments
 * after commands, layers of extrusions, blank and CRLF lines. No M104 S0,
 * M140 S0 or M105, which the tests tell apart as Drover's own. */
static GBytes *
make_job (guint   moves,
          guint32 seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  GString *gcode = g_string_new ("; generated by PrusaSlicer 2.7.1 for a test\n"
                                 "; layer_height = 0.2\n"
                                 "\n"
                                 "M140 S60 ; bed\n"
                                 "M104 S205 ; hotend\n"
                                 "M302 P1 ; the simulated hotend stays cold\n"
                                 "G28 ; home all axes\n"
                                 "G90\n"
                                 "M83\r\n"
                                 "   G92 E0   \n"
                                 "G1 Z0.3 F720\n");
  double x = 100, y = 100;
  gsize length;

  /* Short segments, as curves are sliced: the simulated planner never
   * holds the link back for long. */
  for (guint i = 0; i < moves; i++)
    {
      if (i % 40 == 0)
        g_string_append_printf (gcode, ";LAYER_CHANGE\n;Z:%.1f\nG1 Z%.3f F720\n\n", 0.2 * (i / 40 + 1),
                                0.2 * (i / 40 + 1));
      x = CLAMP (x + g_rand_double_range (rand, -1.5, 1.5), 20, 200);
      y = CLAMP (y + g_rand_double_range (rand, -1.5, 1.5), 20, 200);
      g_string_append_printf (gcode, "G1 X%.3f Y%.3f E%.5f%s%s\n", x, y, g_rand_double_range (rand, 0.01, 0.06),
                              i % 40 == 1 ? " F3000" : "", i % 97 == 5 ? " ; perimeter" : "");
    }
  g_string_append (gcode, "M107\nG1 Z20 F720 ; lift\nM84 ; motors off\n; end of job");
  length = gcode->len;
  return g_bytes_new_take (g_string_free (gcode, FALSE), length);
}

/* The job as Marlin takes it: comments and blank lines gone. */
static GPtrArray *
job_commands (GBytes *job)
{
  g_autofree char *text = g_strndup (g_bytes_get_data (job, NULL), g_bytes_get_size (job));
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  GPtrArray *commands = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *semicolon = strchr (lines[i], ';');

      if (semicolon != NULL)
        *semicolon = '\0';
      g_strstrip (lines[i]);
      if (lines[i][0] != '\0')
        g_ptr_array_add (commands, g_strdup (lines[i]));
    }
  return commands;
}

static gboolean
is_host_line (const char         *line,
              const char * const *also)
{
  static const char * const host[] = { "M110 N0", "M115", "M155 S2", "M105", NULL };

  return g_strv_contains (host, line) || (also != NULL && g_strv_contains (also, line));
}

/* @accepted without the lines Drover adds itself and those in @also. */
static GPtrArray *
without_host_lines (GPtrArray          *accepted,
                    const char * const *also)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < accepted->len; i++)
    if (!is_host_line (g_ptr_array_index (accepted, i), also))
      g_ptr_array_add (lines, g_strdup (g_ptr_array_index (accepted, i)));
  return lines;
}

static void
assert_same_lines (GPtrArray *got,
                   GPtrArray *expected)
{
  for (guint i = 0; i < MIN (got->len, expected->len); i++)
    if (g_strcmp0 (g_ptr_array_index (got, i), g_ptr_array_index (expected, i)) != 0)
      {
        g_test_message ("line %u differs", i);
        g_assert_cmpstr (g_ptr_array_index (got, i), ==, g_ptr_array_index (expected, i));
      }
  g_assert_cmpuint (got->len, ==, expected->len);
}

/* What the progress callback does at a given point of the job. */
typedef enum
{
  AT_NOTHING,
  AT_DROP_OK,
  AT_UNPLUG,
  AT_PAUSE,
  AT_CANCEL,
  AT_CANCELLABLE,
  AT_HEATERS_OFF,
} Action;

typedef struct
{
  Sim          *sim;
  const char   *id;
  Action        action;
  guint64       at;
  gboolean      acted;
  guint64       calls;
  guint64       last_done;
  GCancellable *cancellable;
  Result        command;
  guint64       expected_total;
} Hook;

static void
progress_cb (DroverSerialStream *stream,
             guint64             lines_done,
             guint64             lines_total,
             gpointer            user_data)
{
  Hook *hook = user_data;
  g_autofree char *command = NULL;

  if (lines_done < hook->last_done)
    g_test_message ("action %d at %" G_GUINT64_FORMAT ": %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                    " after %" G_GUINT64_FORMAT, hook->action, hook->at, lines_done, lines_total, hook->last_done);
  g_assert_cmpuint (lines_done, <=, lines_total);
  g_assert_cmpuint (lines_done, >=, hook->last_done);
  if (hook->expected_total > 0)
    g_assert_cmpuint (lines_total, ==, hook->expected_total);
  hook->calls++;
  hook->last_done = lines_done;
  if (hook->acted || hook->action == AT_NOTHING || lines_done < hook->at)
    return;
  hook->acted = TRUE;

  switch (hook->action)
    {
    case AT_DROP_OK:
      command = g_strdup_printf ("serial-drop-ok %s", hook->id);
      sim_send (hook->sim, command);
      g_free (sim_read_until (hook->sim, "drop-ok"));
      break;
    case AT_UNPLUG:
      command = g_strdup_printf ("serial-unplug %s", hook->id);
      sim_send (hook->sim, command);
      g_free (sim_read_until (hook->sim, "unplugged"));
      break;
    case AT_PAUSE:
      drover_serial_stream_pause (stream);
      break;
    case AT_CANCEL:
      drover_serial_stream_cancel (stream);
      break;
    case AT_CANCELLABLE:
      g_cancellable_cancel (hook->cancellable);
      break;
    case AT_HEATERS_OFF:
      drover_serial_stream_send_command_async (stream, "M104 S0 ; heaters off\nM140 S0", NULL,
                                               command_cb, &hook->command);
      break;
    case AT_NOTHING:
    default:
      g_assert_not_reached ();
    }
}

static void
print_job (DroverSerialStream *stream,
           GBytes             *job,
           Hook               *hook,
           Result             *result)
{
  drover_serial_stream_print_async (stream, job, hook->cancellable, progress_cb, hook, NULL, printed_cb, result);
  wait_for_flag (&result->done, WAIT_SECONDS * 2);
}

typedef struct
{
  gint sent_job;
  gint resent;
  gint sent_host;
  gint received;
  gint bad_checksums;
} LineCounts;

/* On the stream's I/O thread. */
static void
count_line_cb (DroverSerialLineKind  kind,
               const char           *line,
               gsize                 length,
               gpointer              user_data)
{
  LineCounts *counts = user_data;

  if (g_getenv ("DROVER_TEST_SERIAL_TRACE") != NULL)
    g_printerr ("%" G_GINT64_FORMAT " %d %.*s\n", g_get_monotonic_time () % 100000000, kind, (int)length, line);
  g_assert_false (memchr (line, '\n', length) != NULL);
  switch (kind)
    {
    case DROVER_SERIAL_LINE_SENT_JOB:
    case DROVER_SERIAL_LINE_RESENT:
      {
        /* The wire form: N<n> …*<checksum of everything before the '*'>. */
        const char *star = NULL;
        guint8 checksum = 0;

        for (gsize i = 0; i < length; i++)
          if (line[i] == '*')
            star = line + i;
        g_assert_true (line[0] == 'N' && star != NULL);
        for (const char *p = line; p < star; p++)
          checksum ^= (guint8)*p;
        if (strtoul (star + 1, NULL, 10) != checksum)
          g_atomic_int_inc (&counts->bad_checksums);
        g_atomic_int_inc (kind == DROVER_SERIAL_LINE_SENT_JOB ? &counts->sent_job : &counts->resent);
      }
      break;
    case DROVER_SERIAL_LINE_SENT_HOST:
      g_atomic_int_inc (&counts->sent_host);
      break;
    case DROVER_SERIAL_LINE_RECEIVED:
      g_atomic_int_inc (&counts->received);
      break;
    case DROVER_SERIAL_LINE_SENT_COMMAND:
    default:
      break;
    }
}

/* A job streamed through line noise and a lost ok arrives byte for byte. */
static void
run_good_job (gboolean advanced_ok)
{
  g_autoptr(Sim) sim = sim_start (1, "--baud", "250000", "--corrupt-one-in", "100", "--time-scale", "100",
                                  advanced_ok ? "--advanced-ok" : NULL, NULL);
  g_autoptr(DroverSerialStream) stream = open_stream (g_ptr_array_index (sim->paths, 0), 250000);
  g_autoptr(GBytes) job = make_job (400, 7);
  g_autoptr(GPtrArray) expected = job_commands (job);
  g_autoptr(GPtrArray) accepted = NULL;
  g_autoptr(GPtrArray) job_lines = NULL;
  LineCounts counts = { 0 };
  Hook hook = { .sim = sim, .id = "s-0001", .action = AT_DROP_OK, .at = 150 };
  Result result = { 0 };

  g_assert_cmpint (drover_serial_stream_get_advanced_ok (stream), ==, advanced_ok);
  drover_serial_stream_set_line_func (stream, count_line_cb, &counts, NULL);

  print_job (stream, job, &hook, &result);
  g_assert_no_error (result.error);
  g_assert_true (result.ok);
  g_assert_cmpint (result.outcome, ==, DROVER_SERIAL_OUTCOME_COMPLETED);
  g_assert_true (hook.acted);
  g_assert_cmpuint (hook.last_done, ==, expected->len);

  g_assert_cmpuint (drover_serial_stream_get_lines_total (stream), ==, expected->len);
  g_assert_cmpuint (drover_serial_stream_get_lines_done (stream), ==, expected->len);
  g_assert_cmpuint (drover_serial_stream_get_lines_sent (stream), ==, expected->len);
  g_assert_cmpfloat (drover_serial_stream_get_progress (stream), ==, 1.0);
  g_assert_cmpint (drover_serial_stream_get_state (stream), ==, DROVER_SERIAL_STATE_IDLE);
  /* The noise made the printer ask for lines again. */
  g_assert_cmpuint (drover_serial_stream_get_resends (stream), >, 0);

  accepted = sim_dup_accepted (sim, "s-0001");
  job_lines = without_host_lines (accepted, NULL);
  assert_same_lines (job_lines, expected);

  drover_serial_stream_set_line_func (stream, NULL, NULL, NULL);
  g_assert_cmpint (counts.sent_job, ==, (gint)expected->len);
  g_assert_cmpint (counts.resent, ==, (gint)drover_serial_stream_get_resends (stream));
  g_assert_cmpint (counts.bad_checksums, ==, 0);
  g_assert_cmpint (counts.received, >, (gint)expected->len);
  g_test_message ("%u lines, %" G_GUINT64_FORMAT " resent, %d host lines", expected->len,
                  drover_serial_stream_get_resends (stream), counts.sent_host);
  result_clear (&result);
}

static void
test_print_noisy (void)
{
  run_good_job (FALSE);
}

/* One line in twenty garbled, one ok in forty lost: slow, still exact. */
static void
test_print_very_noisy (void)
{
  g_autoptr(Sim) sim = sim_start (1, "--baud", "250000", "--corrupt-one-in", "20", "--drop-ok-one-in", "40",
                                  "--time-scale", "100", "--seed", "5", NULL);
  g_autoptr(DroverSerialStream) stream = open_stream (g_ptr_array_index (sim->paths, 0), 250000);
  g_autoptr(GBytes) job = make_job (200, 17);
  g_autoptr(GPtrArray) expected = job_commands (job);
  g_autoptr(GPtrArray) accepted = NULL;
  g_autoptr(GPtrArray) job_lines = NULL;
  Hook hook = { .action = AT_NOTHING, .expected_total = expected->len };
  Result result = { 0 };

  print_job (stream, job, &hook, &result);
  g_assert_no_error (result.error);
  g_assert_cmpint (result.outcome, ==, DROVER_SERIAL_OUTCOME_COMPLETED);
  g_assert_cmpuint (drover_serial_stream_get_resends (stream), >, 0);

  accepted = sim_dup_accepted (sim, "s-0001");
  job_lines = without_host_lines (accepted, NULL);
  assert_same_lines (job_lines, expected);
}

static void
test_print_advanced_ok (void)
{
  run_good_job (TRUE);
}

static void
test_unplug (void)
{
  g_autoptr(Sim) sim = sim_start (1, "--baud", "250000", "--time-scale", "100", NULL);
  g_autoptr(DroverSerialStream) stream = open_stream (g_ptr_array_index (sim->paths, 0), 250000);
  g_autoptr(GBytes) job = make_job (6000, 3);
  Hook hook = { .sim = sim, .id = "s-0001", .action = AT_UNPLUG, .at = 300 };
  Result result = { 0 };
  Result command = { 0 };

  print_job (stream, job, &hook, &result);
  g_assert_false (result.ok);
  g_assert_error (result.error, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_UNPLUGGED);
  g_assert_cmpint (result.outcome, ==, DROVER_SERIAL_OUTCOME_INTERRUPTED);
  g_assert_cmpint (drover_serial_stream_get_state (stream), ==, DROVER_SERIAL_STATE_ERROR);
  g_assert_nonnull (drover_serial_stream_get_error_message (stream));
  g_assert_cmpuint (drover_serial_stream_get_lines_done (stream), <, drover_serial_stream_get_lines_total (stream));

  /* Nothing more goes to a printer that is gone. */
  drover_serial_stream_send_command_async (stream, "M105", NULL, command_cb, &command);
  wait_for_flag (&command.done, WAIT_SECONDS);
  g_assert_error (command.error, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_NOT_READY);

  drover_serial_stream_close (stream);
  g_assert_cmpint (drover_serial_stream_get_state (stream), ==, DROVER_SERIAL_STATE_CLOSED);
  result_clear (&result);
  result_clear (&command);
}

static guint
count_job_lines (Sim        *sim,
                 const char * const *also)
{
  g_autoptr(GPtrArray) accepted = sim_dup_accepted (sim, "s-0001");
  g_autoptr(GPtrArray) lines = without_host_lines (accepted, also);

  return lines->len;
}

static void
test_pause_resume (void)
{
  static const char * const commands[] = { "M114", NULL };
  g_autoptr(Sim) sim = sim_start (1, "--baud", "250000", "--time-scale", "100", NULL);
  g_autoptr(DroverSerialStream) stream = open_stream (g_ptr_array_index (sim->paths, 0), 250000);
  g_autoptr(GBytes) job = make_job (1500, 5);
  g_autoptr(GPtrArray) expected = job_commands (job);
  g_autoptr(GPtrArray) accepted = NULL;
  g_autoptr(GPtrArray) job_lines = NULL;
  Hook hook = { .sim = sim, .id = "s-0001", .action = AT_PAUSE, .at = 200 };
  Result result = { 0 };
  Result command = { 0 };
  guint before, after;

  drover_serial_stream_print_async (stream, job, NULL, progress_cb, &hook, NULL, printed_cb, &result);
  for (guint i = 0; i < 3000 && drover_serial_stream_get_state (stream) != DROVER_SERIAL_STATE_PAUSED; i++)
    spin (20);
  g_assert_cmpint (drover_serial_stream_get_state (stream), ==, DROVER_SERIAL_STATE_PAUSED);

  /* Paused: the lines in flight land, then nothing more of the job. */
  spin (300);
  before = count_job_lines (sim, commands);
  spin (500);
  after = count_job_lines (sim, commands);
  g_assert_cmpuint (before, ==, after);
  g_assert_cmpuint (after, <, expected->len);
  g_assert_false (result.done);

  /* Commands still go while paused. */
  drover_serial_stream_send_command_async (stream, "M114", NULL, command_cb, &command);
  wait_for_flag (&command.done, WAIT_SECONDS);
  g_assert_no_error (command.error);
  g_assert_nonnull (strstr (command.reply, "X:"));
  g_assert_true (g_str_has_suffix (command.reply, "ok"));
  g_assert_cmpint (drover_serial_stream_get_state (stream), ==, DROVER_SERIAL_STATE_PAUSED);

  drover_serial_stream_resume (stream);
  wait_for_flag (&result.done, WAIT_SECONDS * 2);
  g_assert_no_error (result.error);
  g_assert_cmpint (result.outcome, ==, DROVER_SERIAL_OUTCOME_COMPLETED);

  accepted = sim_dup_accepted (sim, "s-0001");
  job_lines = without_host_lines (accepted, commands);
  assert_same_lines (job_lines, expected);
  result_clear (&result);
  result_clear (&command);
}

/* The cancel sequence, after some of the job and nothing more of it. */
static void
assert_cancelled (Sim       *sim,
                  GPtrArray *expected,
                  guint      offset)
{
  static const char * const sequence[] = { "M104 S0", "M140 S0", "M107", "G91", "G1 Z10", "G90", "M84" };
  g_autoptr(GPtrArray) accepted = sim_dup_accepted (sim, "s-0001");
  g_autoptr(GPtrArray) lines = without_host_lines (accepted, NULL);
  guint n_job;

  g_assert_cmpuint (lines->len, >=, offset + G_N_ELEMENTS (sequence));
  n_job = lines->len - offset - G_N_ELEMENTS (sequence);
  g_assert_cmpuint (n_job, >, 0);
  g_assert_cmpuint (n_job, <, expected->len);
  for (guint i = 0; i < n_job; i++)
    g_assert_cmpstr (g_ptr_array_index (lines, offset + i), ==, g_ptr_array_index (expected, i));
  for (guint i = 0; i < G_N_ELEMENTS (sequence); i++)
    g_assert_cmpstr (g_ptr_array_index (lines, offset + n_job + i), ==, sequence[i]);
}

static void
test_cancel (void)
{
  g_autoptr(Sim) sim = sim_start (1, "--baud", "250000", "--time-scale", "100", NULL);
  g_autoptr(DroverSerialStream) stream = open_stream (g_ptr_array_index (sim->paths, 0), 250000);
  g_autoptr(GBytes) job = make_job (4000, 11);
  g_autoptr(GPtrArray) expected = job_commands (job);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GPtrArray) accepted = NULL;
  Hook hook = { .sim = sim, .id = "s-0001", .action = AT_CANCEL, .at = 300 };
  Hook again = { .sim = sim, .id = "s-0001", .action = AT_CANCELLABLE, .at = 100, .cancellable = cancellable };
  Result result = { 0 };

  print_job (stream, job, &hook, &result);
  g_assert_false (result.ok);
  g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (result.outcome, ==, DROVER_SERIAL_OUTCOME_CANCELLED);
  g_assert_cmpint (drover_serial_stream_get_state (stream), ==, DROVER_SERIAL_STATE_IDLE);
  assert_cancelled (sim, expected, 0);
  result_clear (&result);

  /* The same stream prints again, and its cancellable cancels too. */
  accepted = sim_dup_accepted (sim, "s-0001");
  {
    g_autoptr(GPtrArray) before = without_host_lines (accepted, NULL);

    print_job (stream, job, &again, &result);
    g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_assert_cmpint (result.outcome, ==, DROVER_SERIAL_OUTCOME_CANCELLED);
    assert_cancelled (sim, expected, before->len);
  }
  result_clear (&result);
}

static void
test_heaters_off_while_printing (void)
{
  static const char * const commands[] = { "M104 S0", "M140 S0", NULL };
  g_autoptr(Sim) sim = sim_start (1, "--baud", "250000", "--time-scale", "100", NULL);
  g_autoptr(DroverSerialStream) stream = open_stream (g_ptr_array_index (sim->paths, 0), 250000);
  g_autoptr(GBytes) job = make_job (1200, 13);
  g_autoptr(GPtrArray) expected = job_commands (job);
  g_autoptr(GPtrArray) accepted = NULL;
  g_autoptr(GPtrArray) job_lines = NULL;
  Hook hook = { .sim = sim, .id = "s-0001", .action = AT_HEATERS_OFF, .at = 200 };
  Result result = { 0 };
  guint heaters_off = 0, last_job_line = 0;
  guint64 done_at_command;

  drover_serial_stream_print_async (stream, job, NULL, progress_cb, &hook, NULL, printed_cb, &result);
  wait_for_flag (&hook.command.done, WAIT_SECONDS);
  done_at_command = drover_serial_stream_get_lines_done (stream);
  g_assert_no_error (hook.command.error);
  /* One ok for each of its lines. */
  g_assert_cmpstr (hook.command.reply, ==, "ok\nok");
  /* It did not wait for the job. */
  g_assert_false (result.done);
  g_assert_cmpuint (done_at_command, <, expected->len);

  wait_for_flag (&result.done, WAIT_SECONDS * 2);
  g_assert_no_error (result.error);
  g_assert_cmpint (result.outcome, ==, DROVER_SERIAL_OUTCOME_COMPLETED);

  accepted = sim_dup_accepted (sim, "s-0001");
  for (guint i = 0; i < accepted->len; i++)
    {
      const char *line = g_ptr_array_index (accepted, i);

      if (heaters_off == 0 && g_str_equal (line, "M104 S0"))
        {
          heaters_off = i;
          g_assert_cmpstr (g_ptr_array_index (accepted, i + 1), ==, "M140 S0");
        }
      if (!is_host_line (line, commands))
        last_job_line = i;
    }
  /* Between the job's lines, not after them. */
  g_assert_cmpuint (heaters_off, >, 0);
  g_assert_cmpuint (heaters_off, <, last_job_line);
  job_lines = without_host_lines (accepted, commands);
  assert_same_lines (job_lines, expected);
  result_clear (&result);
  result_clear (&hook.command);
}

static void
test_two_printers (void)
{
  g_autoptr(Sim) sim = sim_start (2, "--baud", "250000", "--corrupt-one-in", "100", "--time-scale", "100", NULL);
  g_autoptr(DroverSerialStream) first = open_stream (g_ptr_array_index (sim->paths, 0), 250000);
  g_autoptr(DroverSerialStream) second = open_stream (g_ptr_array_index (sim->paths, 1), 250000);
  g_autoptr(GBytes) job_1 = make_job (600, 21);
  g_autoptr(GBytes) job_2 = make_job (500, 22);
  Hook hook_1 = { .action = AT_NOTHING };
  Hook hook_2 = { .action = AT_NOTHING };
  Result result_1 = { 0 };
  Result result_2 = { 0 };
  GBytes *jobs[] = { job_1, job_2 };
  const char *ids[] = { "s-0001", "s-0002" };

  drover_serial_stream_print_async (first, job_1, NULL, progress_cb, &hook_1, NULL, printed_cb, &result_1);
  drover_serial_stream_print_async (second, job_2, NULL, progress_cb, &hook_2, NULL, printed_cb, &result_2);
  wait_for_flag (&result_1.done, WAIT_SECONDS * 2);
  wait_for_flag (&result_2.done, WAIT_SECONDS * 2);
  g_assert_no_error (result_1.error);
  g_assert_no_error (result_2.error);
  /* Both made progress side by side, reported on this context. */
  g_assert_cmpuint (hook_1.calls, >, 1);
  g_assert_cmpuint (hook_2.calls, >, 1);

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GPtrArray) expected = job_commands (jobs[i]);
      g_autoptr(GPtrArray) accepted = sim_dup_accepted (sim, ids[i]);
      g_autoptr(GPtrArray) lines = without_host_lines (accepted, NULL);

      assert_same_lines (lines, expected);
    }
  result_clear (&result_1);
  result_clear (&result_2);
}

static void
test_refused (void)
{
  static const char * const bad[] = {
    "G28\nG1 X10 Y10 E0.50000000000000000000000000000000000000000000000000000000000000000000000000000000000\n",
    "G28\nM110 N100\n",
    "N5 G28\n",
    "M117 C:\\print\n",
    "G1 X5*12\n",
  };
  g_autoptr(Sim) sim = sim_start (1, "--baud", "0", NULL);
  g_autoptr(DroverSerialStream) stream = open_stream (g_ptr_array_index (sim->paths, 0), 0);
  g_autoptr(GPtrArray) accepted = NULL;
  Result result = { 0 };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GBytes) job = g_bytes_new_static (bad[i], strlen (bad[i]));
      Hook hook = { .action = AT_NOTHING };

      print_job (stream, job, &hook, &result);
      g_assert_error (result.error, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_INVALID_GCODE);
      g_assert_cmpint (result.outcome, ==, DROVER_SERIAL_OUTCOME_NONE);
      g_test_message ("%s", result.error->message);
      result_clear (&result);
      g_assert_cmpint (drover_serial_stream_get_state (stream), ==, DROVER_SERIAL_STATE_IDLE);
    }

  drover_serial_stream_send_command_async (stream, "; only a comment\n\n", NULL, command_cb, &result);
  wait_for_flag (&result.done, WAIT_SECONDS);
  g_assert_error (result.error, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_INVALID_GCODE);
  result_clear (&result);

  /* Nothing of the refused jobs reached the printer. */
  accepted = sim_dup_accepted (sim, "s-0001");
  g_assert_cmpuint (accepted->len, ==, 3);
}

static void
test_command_reply (void)
{
  g_autoptr(Sim) sim = sim_start (1, "--baud", "115200", NULL);
  g_autoptr(DroverSerialStream) stream = open_stream (g_ptr_array_index (sim->paths, 0), 115200);
  Result result = { 0 };

  drover_serial_stream_send_command_async (stream, "M115", NULL, command_cb, &result);
  wait_for_flag (&result.done, WAIT_SECONDS);
  g_assert_no_error (result.error);
  g_assert_true (g_str_has_prefix (result.reply, "FIRMWARE_NAME:Marlin"));
  g_assert_nonnull (strstr (result.reply, "\nCap:AUTOREPORT_TEMP:1\n"));
  g_assert_true (g_str_has_suffix (result.reply, "\nok"));
  result_clear (&result);

  drover_serial_stream_send_command_async (stream, "M140 S60\nM105", NULL, command_cb, &result);
  wait_for_flag (&result.done, WAIT_SECONDS);
  g_assert_no_error (result.error);
  g_assert_true (g_str_has_prefix (result.reply, "ok\nok T:"));
  result_clear (&result);

  /* Cancelled before it went: it never reaches the printer. */
  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();
    g_autoptr(GPtrArray) accepted = NULL;

    g_cancellable_cancel (cancellable);
    drover_serial_stream_send_command_async (stream, "M117 never sent", cancellable, command_cb, &result);
    wait_for_flag (&result.done, WAIT_SECONDS);
    g_assert_error (result.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    result_clear (&result);
    accepted = sim_dup_accepted (sim, "s-0001");
    for (guint i = 0; i < accepted->len; i++)
      g_assert_cmpstr (g_ptr_array_index (accepted, i), !=, "M117 never sent");
  }

  /* The target shows in the properties (from the auto-reports and M105). */
  for (guint i = 0; i < 500 && drover_serial_stream_get_bed_target (stream) != 60.0; i++)
    spin (20);
  g_assert_cmpfloat (drover_serial_stream_get_bed_target (stream), ==, 60.0);
  g_assert_cmpfloat (drover_serial_stream_get_bed_temperature (stream), >, 0.0);
}

/* On the I/O thread: holds it up on the first line of a job, after it
 * took the job but before it told the main context, so that news sent
 * earlier (temperatures) arrives in between. */
static void
stall_line_cb (DroverSerialLineKind  kind,
               const char           *line,
               gsize                 length,
               gpointer              user_data)
{
  gint *stall = user_data;

  if (kind == DROVER_SERIAL_LINE_SENT_JOB && g_atomic_int_compare_and_exchange (stall, 1, 0))
    g_usleep (300 * 1000);
}

/* Jobs one after the other: each one's progress is its own, never the
 * previous one's counts. */
static void
test_print_again (void)
{
  g_autoptr(Sim) sim = sim_start (1, "--baud", "250000", "--time-scale", "100", NULL);
  g_autoptr(DroverSerialStream) stream = open_stream (g_ptr_array_index (sim->paths, 0), 250000);
  gint stall = 0;

  drover_serial_stream_set_line_func (stream, stall_line_cb, &stall, NULL);
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(GBytes) job = make_job (i % 2 == 0 ? 150 : 40, 30 + i);
      g_autoptr(GPtrArray) expected = job_commands (job);
      Hook hook = { .action = AT_NOTHING, .expected_total = expected->len };
      Result result = { 0 };

      g_atomic_int_set (&stall, 1);
      print_job (stream, job, &hook, &result);
      g_assert_no_error (result.error);
      g_assert_cmpint (result.outcome, ==, DROVER_SERIAL_OUTCOME_COMPLETED);
      g_assert_cmpuint (hook.last_done, ==, expected->len);
      g_assert_cmpuint (drover_serial_stream_get_lines_total (stream), ==, expected->len);
    }
  drover_serial_stream_set_line_func (stream, NULL, NULL, NULL);
}

static void
test_halt (void)
{
  g_autoptr(Sim) sim = sim_start (1, "--baud", "250000", NULL);
  g_autoptr(DroverSerialStream) stream = open_stream (g_ptr_array_index (sim->paths, 0), 250000);
  Result result = { 0 };

  /* The emergency stop: Marlin kills itself and answers nothing more. */
  drover_serial_stream_send_command_async (stream, "M112", NULL, command_cb, &result);
  wait_for_flag (&result.done, WAIT_SECONDS);
  g_assert_error (result.error, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_HALTED);
  g_assert_nonnull (strstr (result.error->message, "M112 Shutdown"));
  g_assert_cmpint (drover_serial_stream_get_state (stream), ==, DROVER_SERIAL_STATE_ERROR);
  g_assert_nonnull (strstr (drover_serial_stream_get_error_message (stream), "M112 Shutdown"));
  result_clear (&result);

  drover_serial_stream_close (stream);
  g_assert_cmpint (drover_serial_stream_get_state (stream), ==, DROVER_SERIAL_STATE_CLOSED);
}

static void
touch (const char *dir,
       const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_set_contents (path, "", 0, NULL));
}

static void
changed_cb (DroverSerialWatcher *watcher,
            gpointer             user_data)
{
  gboolean *changed = user_data;

  *changed = TRUE;
}

static void
test_ports (void)
{
  g_autoptr(GPtrArray) system_ports = drover_serial_list_ports ();
  g_autofree char *dev = g_dir_make_tmp ("drover-dev-XXXXXX", NULL);
  g_autofree char *by_id = g_build_filename (dev, "serial", "by-id", NULL);
  g_autofree char *link = g_build_filename (by_id, "usb-Prusa_Research_Original_Prusa_MK4-if00", NULL);
  g_autoptr(GPtrArray) ports = NULL;
  g_autoptr(GPtrArray) watched = NULL;
  g_autoptr(DroverSerialWatcher) watcher = NULL;
  gboolean changed = FALSE;
  const DroverSerialPortInfo *info;

  /* Whatever this machine has; usually nothing. */
  g_assert_nonnull (system_ports);
  for (guint i = 0; i < system_ports->len; i++)
    g_assert_nonnull (((DroverSerialPortInfo *)g_ptr_array_index (system_ports, i))->path);

  for (const char * const *name = (const char *[]) { "ttyACM0", "ttyACM10", "ttyACM2", "ttyUSB0", "ttyS0",
                                                     "ttyACMx", "tty", NULL };
       *name != NULL; name++)
    touch (dev, *name);
  g_assert_cmpint (g_mkdir_with_parents (by_id, 0755), ==, 0);
  g_assert_cmpint (symlink ("../../ttyACM2", link), ==, 0);

  ports = drover_serial_list_ports_in (dev);
  g_assert_cmpuint (ports->len, ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *basename = NULL;

      info = g_ptr_array_index (ports, i);
      basename = g_path_get_basename (info->path);
      g_assert_cmpstr (basename, ==, ((const char *[]) { "ttyACM0", "ttyACM2", "ttyACM10", "ttyUSB0" })[i]);
      if (i == 1)
        g_assert_cmpstr (info->by_id, ==, link);
      else
        g_assert_null (info->by_id);
    }

  /* Hot-plug: a port appears. */
  watcher = drover_serial_watcher_new_for_dir (dev);
  g_signal_connect (watcher, "changed", G_CALLBACK (changed_cb), &changed);
  touch (dev, "ttyUSB1");
  wait_for_flag (&changed, WAIT_SECONDS);
  watched = drover_serial_watcher_dup_ports (watcher);
  g_assert_cmpuint (watched->len, ==, 5);

  for (const char * const *name = (const char *[]) { "ttyACM0", "ttyACM10", "ttyACM2", "ttyUSB0", "ttyUSB1",
                                                     "ttyS0", "ttyACMx", "tty", NULL };
       *name != NULL; name++)
    {
      g_autofree char *path = g_build_filename (dev, *name, NULL);

      g_unlink (path);
    }
  g_unlink (link);
  g_rmdir (by_id);
  {
    g_autofree char *serial = g_build_filename (dev, "serial", NULL);

    g_rmdir (serial);
  }
  g_rmdir (dev);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  broker = drover_test_broker_start (NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/serial/format-line", test_format_line);
  g_test_add_func ("/serial/ports", test_ports);
  g_test_add_func ("/serial/identify", test_identify);
  g_test_add_func ("/serial/command-reply", test_command_reply);
  g_test_add_func ("/serial/refused", test_refused);
  g_test_add_func ("/serial/halt", test_halt);
  g_test_add_func ("/serial/print-noisy", test_print_noisy);
  g_test_add_func ("/serial/print-advanced-ok", test_print_advanced_ok);
  g_test_add_func ("/serial/print-very-noisy", test_print_very_noisy);
  g_test_add_func ("/serial/print-again", test_print_again);
  g_test_add_func ("/serial/unplug", test_unplug);
  g_test_add_func ("/serial/pause-resume", test_pause_resume);
  g_test_add_func ("/serial/cancel", test_cancel);
  g_test_add_func ("/serial/heaters-off-while-printing", test_heaters_off_while_printing);
  g_test_add_func ("/serial/two-printers", test_two_printers);

  status = g_test_run ();
  drover_test_broker_free (broker);
  return status;
}
