/* test-sim-marlin.c: the simulated Marlin, seen from a host on its pty
 *
 * The host side here is written from the protocol reference, not from the
 * simulator: checksums are computed independently, replies compared as text.
 * Every wait is bounded; nothing depends on how fast the machine is.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "sim-marlin.h"

#define LINE_TIMEOUT_US (15 * G_USEC_PER_SEC)

typedef struct {
  int      fd;
  GString *pending;
} Host;

static Host *
host_open (const char *path)
{
  Host *host = g_new0 (Host, 1);
  struct termios tio;

  host->fd = open (path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  g_assert_cmpint (host->fd, >=, 0);
  g_assert_cmpint (tcgetattr (host->fd, &tio), ==, 0);
  cfmakeraw (&tio);
  g_assert_cmpint (tcsetattr (host->fd, TCSANOW, &tio), ==, 0);
  host->pending = g_string_new (NULL);
  return host;
}

static void
host_close (Host *host)
{
  if (host->fd >= 0)
    close (host->fd);
  g_string_free (host->pending, TRUE);
  g_free (host);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Host, host_close)

static void
host_write (Host       *host,
            const char *text)
{
  gsize length = strlen (text);
  gsize done = 0;
  gint64 deadline = g_get_monotonic_time () + LINE_TIMEOUT_US;

  while (done < length)
    {
      gssize n = write (host->fd, text + done, length - done);

      if (n > 0)
        done += n;
      else
        {
          struct pollfd pfd = { host->fd, POLLOUT, 0 };

          g_assert_true (n < 0 && (errno == EAGAIN || errno == EINTR));
          g_assert_cmpint (g_get_monotonic_time (), <, deadline);
          poll (&pfd, 1, 100);
        }
    }
}

/* XOR of every byte before '*', from the reference (§1.1). */
static guint
checksum (const char *text)
{
  guint8 cs = 0;

  for (const char *p = text; *p; p++)
    cs ^= (guint8) *p;
  return cs;
}

static char *
numbered (long        n,
          const char *command)
{
  g_autofree char *body = g_strdup_printf ("N%ld %s", n, command);

  return g_strdup_printf ("%s*%u\n", body, checksum (body));
}

static void
host_send_numbered (Host       *host,
                    long        n,
                    const char *command)
{
  g_autofree char *line = numbered (n, command);

  host_write (host, line);
}

/* The next line, or NULL once @timeout_us has passed (or on hang-up). */
static char *
host_try_line (Host   *host,
               gint64  timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;

  for (;;)
    {
      char *newline = memchr (host->pending->str, '\n', host->pending->len);
      struct pollfd pfd = { host->fd, POLLIN, 0 };
      gint64 left;
      char buffer[512];
      gssize n;

      if (newline != NULL)
        {
          gsize length = newline - host->pending->str;
          char *line = g_strndup (host->pending->str, length);

          g_string_erase (host->pending, 0, length + 1);
          return line;
        }

      left = deadline - g_get_monotonic_time ();
      if (left < 0)
        return NULL;
      if (poll (&pfd, 1, (int) (left / 1000) + 1) <= 0)
        continue;
      n = read (host->fd, buffer, sizeof buffer);
      if (n > 0)
        g_string_append_len (host->pending, buffer, n);
      else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        return NULL;
    }
}

static char *
host_line (Host *host)
{
  char *line = host_try_line (host, LINE_TIMEOUT_US);

  if (line == NULL)
    g_error ("no line from the simulated printer within %d s", (int) (LINE_TIMEOUT_US / G_USEC_PER_SEC));
  g_test_message ("<- %s", line);
  return line;
}

static gboolean
is_unsolicited (const char *line)
{
  return g_str_has_prefix (line, "echo:busy:") || g_str_has_prefix (line, " T:");
}

/* The next line that is not a busy or temperature report. */
static char *
host_reply (Host *host)
{
  for (;;)
    {
      char *line = host_line (host);

      if (!is_unsolicited (line))
        return line;
      g_free (line);
    }
}

static void
host_expect (Host       *host,
             const char *expected)
{
  g_autofree char *line = host_reply (host);

  g_assert_cmpstr (line, ==, expected);
}

/* Skips lines until one starts with @prefix; returns it. */
static char *
host_wait_for (Host       *host,
               const char *prefix)
{
  for (;;)
    {
      char *line = host_line (host);

      if (g_str_has_prefix (line, prefix))
        return line;
      g_free (line);
    }
}

static void
host_skip_banner (Host *host)
{
  g_autofree char *line = host_wait_for (host, "echo:SD card ok");
}

static SimMarlin *
new_sim (const SimMarlinOptions *options)
{
  g_autoptr(GError) error = NULL;
  SimMarlin *sim = sim_marlin_new (options, &error);

  g_assert_no_error (error);
  g_assert_nonnull (sim);
  g_assert_nonnull (sim_marlin_get_path (sim));
  return sim;
}

static Host *
connect_host (SimMarlin *sim)
{
  Host *host = host_open (sim_marlin_get_path (sim));

  host_skip_banner (host);
  return host;
}

static void
assert_accepted (SimMarlin         *sim,
                 const char * const *expected)
{
  g_auto(GStrv) accepted = sim_marlin_dup_accepted (sim);

  g_assert_cmpstrv (accepted, expected);
}

static SimMarlinStatus
wait_for_status (SimMarlin  *sim,
                 gboolean  (*condition) (const SimMarlinStatus *status))
{
  gint64 deadline = g_get_monotonic_time () + LINE_TIMEOUT_US;
  SimMarlinStatus status;

  for (;;)
    {
      sim_marlin_get_status (sim, &status);
      if (condition (&status))
        return status;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (2000);
    }
}

/* ------------------------------------------------------------------------ */

static void
test_checksum_vectors (void)
{
  /* The table in the reference, §1.1 */
  g_assert_cmpuint (checksum ("N3 T0"), ==, 57);
  g_assert_cmpuint (checksum ("N4 G92 E0"), ==, 67);
  g_assert_cmpuint (checksum ("N5 G28"), ==, 22);
  g_assert_cmpuint (checksum ("N0 M110 N0"), ==, 125);
  g_assert_cmpuint (checksum ("N1 M115"), ==, 39);
  g_assert_cmpuint (checksum ("N-1 M110"), ==, 15);
}

static void
test_banner (void)
{
  g_autoptr(SimMarlin) sim = new_sim (NULL);
  g_autoptr(Host) host = host_open (sim_marlin_get_path (sim));
  g_autofree char *start = host_line (host);
  g_autofree char *reason = host_line (host);
  g_autofree char *version = host_line (host);
  g_autofree char *last = host_wait_for (host, "echo:SD card ok");

  g_assert_cmpstr (start, ==, "start");
  g_assert_cmpstr (reason, ==, "PowerUp");
  g_assert_cmpstr (version, ==, "Marlin bugfix-2.1.x");
}

static void
test_m115 (void)
{
  g_autoptr(SimMarlin) sim = new_sim (NULL);
  g_autoptr(Host) host = connect_host (sim);
  g_autofree char *first = NULL;
  gboolean autoreport = FALSE, sdcard = FALSE, extended_m20 = FALSE;

  host_write (host, "M115\n");
  first = host_line (host);
  g_assert_true (g_str_has_prefix (first, "FIRMWARE_NAME:Marlin bugfix-2.1.x (drover-sim) "
                                          "SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin "
                                          "PROTOCOL_VERSION:1.0 MACHINE_TYPE:3D Printer "
                                          "KINEMATICS:Cartesian EXTRUDER_COUNT:1 UUID:"));
  for (;;)
    {
      g_autofree char *line = host_line (host);

      if (g_str_equal (line, "ok"))
        break;
      g_assert_true (g_regex_match_simple ("^Cap:[A-Z0-9_]+:[01]$", line, 0, 0));
      autoreport |= g_str_equal (line, "Cap:AUTOREPORT_TEMP:1");
      sdcard |= g_str_equal (line, "Cap:SDCARD:1");
      extended_m20 |= g_str_equal (line, "Cap:EXTENDED_M20:1");
    }
  g_assert_true (autoreport);
  g_assert_true (sdcard);
  g_assert_true (extended_m20);
}

static void
test_numbered_lines (void)
{
  g_autoptr(SimMarlin) sim = new_sim (NULL);
  g_autoptr(Host) host = connect_host (sim);
  const char * const expected[] = { "M110 N0", "G92 E0", "M117 Hello farm", "G90", "M82", "M105", NULL };
  g_autofree char *temperature = NULL;

  host_write (host, "N0 M110 N0*125\n");
  host_expect (host, "ok");
  host_send_numbered (host, 1, "G92 E0");
  host_expect (host, "ok");
  host_send_numbered (host, 2, "M117 Hello farm");
  host_expect (host, "ok");
  host_send_numbered (host, 3, "G90");
  host_expect (host, "ok");
  host_send_numbered (host, 4, "M82");
  host_expect (host, "ok");

  /* A comment-only line and an empty line get no reply at all (§1.2). */
  host_write (host, "; just a comment\n\n");
  host_send_numbered (host, 5, "M105");
  temperature = host_line (host);
  g_assert_true (g_str_has_prefix (temperature, "ok T:"));

  assert_accepted (sim, expected);
}

static void
test_bad_checksum (void)
{
  g_autoptr(SimMarlin) sim = new_sim (NULL);
  g_autoptr(Host) host = connect_host (sim);
  const char * const expected[] = { "M110 N0", "G92 E0", NULL };
  g_autofree char *bad = g_strdup_printf ("N1 G92 E0*%u\n", checksum ("N1 G92 E0") ^ 1);

  host_write (host, "N0 M110 N0*125\n");
  host_expect (host, "ok");
  host_write (host, bad);
  host_expect (host, "Error:checksum mismatch, Last Line: 0");
  host_expect (host, "Resend: 1");
  host_expect (host, "ok");
  host_send_numbered (host, 1, "G92 E0");
  host_expect (host, "ok");

  assert_accepted (sim, expected);
}

static void
test_line_numbers (void)
{
  g_autoptr(SimMarlin) sim = new_sim (NULL);
  g_autoptr(Host) host = connect_host (sim);
  const char * const expected[] = { "M110 N0", "G92 E0", "M105", NULL };
  g_autofree char *temperature = NULL;

  host_write (host, "N0 M110 N0*125\n");
  host_expect (host, "ok");

  host_send_numbered (host, 2, "G92 E0");
  host_expect (host, "Error:Line Number is not Last Line Number+1, Last Line: 0");
  host_expect (host, "Resend: 1");
  host_expect (host, "ok");

  host_write (host, "N1 G92 E0\n");
  host_expect (host, "Error:No Checksum with line number, Last Line: 0");
  host_expect (host, "Resend: 1");
  host_expect (host, "ok");

  host_send_numbered (host, 1, "G92 E0");
  host_expect (host, "ok");

  /* bugfix-2.1.x drops a repeated number silently: no error, no ok. */
  host_send_numbered (host, 1, "G92 E0");
  host_send_numbered (host, 2, "M105");
  temperature = host_line (host);
  g_assert_true (g_str_has_prefix (temperature, "ok T:"));

  assert_accepted (sim, expected);
}

static void
test_legacy_resend (void)
{
  SimMarlinOptions options;
  g_autoptr(SimMarlin) sim = NULL;
  g_autoptr(Host) host = NULL;
  g_autofree char *temperature = NULL;

  sim_marlin_options_init (&options);
  options.legacy_resend = TRUE;
  sim = new_sim (&options);
  host = connect_host (sim);

  host_write (host, "N0 M110 N0*125\n");
  host_expect (host, "ok");
  host_send_numbered (host, 0, "G92 E0");
  host_expect (host, "Error:Line Number is not Last Line Number+1, Last Line: 0");
  host_expect (host, "Resend: 1");
  /* Marlin 2.0.8 sends no "ok" after "Resend:" */
  host_write (host, "M105\n");
  temperature = host_line (host);
  g_assert_true (g_str_has_prefix (temperature, "ok T:"));
}

static void
test_m110 (void)
{
  g_autoptr(SimMarlin) sim = new_sim (NULL);
  g_autoptr(Host) host = connect_host (sim);
  const char * const expected[] = {
    "M110 N0", "G92 E0", "G92 E1", "M110 N0", "G92 E2", "M110", NULL
  };

  host_write (host, "N0 M110 N0*125\n");
  host_expect (host, "ok");
  host_send_numbered (host, 1, "G92 E0");
  host_expect (host, "ok");
  host_send_numbered (host, 2, "G92 E1");
  host_expect (host, "ok");

  host_write (host, "M110 N0\n");
  host_expect (host, "ok");
  host_send_numbered (host, 1, "G92 E2");
  host_expect (host, "ok");

  host_write (host, "M110\n");
  host_expect (host, "Line: 1");
  host_expect (host, "ok");

  assert_accepted (sim, expected);
}

static void
test_m105 (void)
{
  g_autoptr(SimMarlin) sim = new_sim (NULL);
  g_autoptr(Host) host = connect_host (sim);
  g_autofree char *idle = NULL;
  g_autofree char *heating = NULL;

  host_write (host, "M105\n");
  idle = host_line (host);
  g_assert_true (g_regex_match_simple ("^ok T:[0-9]+\\.[0-9]{2} /0\\.00 B:[0-9]+\\.[0-9]{2} /0\\.00 @:0 B@:0$",
                                       idle, 0, 0));

  host_write (host, "M104 S200\n");
  host_expect (host, "ok");
  host_write (host, "M140 S60\n");
  host_expect (host, "ok");
  host_write (host, "M105\n");
  heating = host_line (host);
  g_assert_true (g_regex_match_simple ("^ok T:[0-9]+\\.[0-9]{2} /200\\.00 B:[0-9]+\\.[0-9]{2} /60\\.00 @:[0-9]+ B@:[0-9]+$",
                                       heating, 0, 0));
}

static void
test_m155 (void)
{
  SimMarlinOptions options;
  g_autoptr(SimMarlin) sim = NULL;
  g_autoptr(Host) host = NULL;
  guint reports = 0;

  sim_marlin_options_init (&options);
  options.time_scale = 20;
  sim = new_sim (&options);
  host = connect_host (sim);

  host_write (host, "M155 S1\n");
  host_expect (host, "ok");
  while (reports < 3)
    {
      g_autofree char *line = host_line (host);

      g_assert_true (g_regex_match_simple ("^ T:[0-9]+\\.[0-9]{2} /0\\.00 B:[0-9]+\\.[0-9]{2} /0\\.00 @:0 B@:0$",
                                           line, 0, 0));
      reports++;
    }
  host_write (host, "M155 S0\n");
  host_expect (host, "ok");
}

static GBytes *
make_print (guint moves)
{
  GString *text = g_string_new ("G28 ; home\nG90\n");

  for (guint i = 0; i < moves; i++)
    g_string_append_printf (text, "G1 X%u Y%u F600\n", (i % 2) ? 10 : 0, (i % 2) ? 10 : 0);
  g_string_append (text, "M400\n");
  return g_string_free_to_bytes (text);
}

static gboolean
is_printing (const SimMarlinStatus *status)
{
  return status->printing;
}

static void
test_sd_card (void)
{
  SimMarlinOptions options;
  g_autoptr(SimMarlin) sim = NULL;
  g_autoptr(Host) host = NULL;
  g_autoptr(GBytes) cube = make_print (40);
  g_autoptr(GBytes) small = g_bytes_new_static ("G28\n", 4);
  g_autofree char *cube_line = g_strdup_printf ("CUBE~1.GCO %" G_GSIZE_FORMAT, g_bytes_get_size (cube));
  g_autofree char *cube_long = g_strdup_printf ("CUBE~1.GCO %" G_GSIZE_FORMAT " cube.gcode", g_bytes_get_size (cube));
  g_autofree char *opened = g_strdup_printf ("File opened: CUBE~1.GCO Size: %" G_GSIZE_FORMAT, g_bytes_get_size (cube));
  g_autofree char *progress = NULL;
  g_autofree char *done = NULL;
  g_autoptr(GMatchInfo) match = NULL;
  g_autoptr(GRegex) regex = g_regex_new ("^SD printing byte ([0-9]+)/([0-9]+)$", 0, 0, NULL);
  SimMarlinStatus status;

  sim_marlin_options_init (&options);
  options.time_scale = 20;
  sim = new_sim (&options);
  host = connect_host (sim);

  sim_marlin_add_sd_file (sim, "TEST.GCO", small);
  sim_marlin_add_sd_file (sim, "cube.gcode", cube);
  sim_marlin_add_sd_file (sim, "notes.txt", small);
  sim_marlin_add_sd_file (sim, "parts/Big Part.gcode", small);

  /* 8.3 names; only *.G* files; folders are walked, not listed (§3 M20) */
  host_write (host, "M20\n");
  host_expect (host, "Begin file list");
  host_expect (host, "TEST.GCO 4");
  host_expect (host, cube_line);
  host_expect (host, "PARTS/BIGPAR~1.GCO 4");
  host_expect (host, "End file list");
  host_expect (host, "ok");

  host_write (host, "M20 L\n");
  host_expect (host, "Begin file list");
  host_expect (host, "TEST.GCO 4 TEST.GCO");
  host_expect (host, cube_long);
  host_expect (host, "PARTS/BIGPAR~1.GCO 4 parts/Big Part.gcode");
  host_expect (host, "End file list");
  host_expect (host, "ok");

  host_write (host, "M27\n");
  host_expect (host, "Not SD printing");
  host_expect (host, "ok");

  host_write (host, "M23 NOPE.GCO\n");
  host_expect (host, "echo:Now fresh file: NOPE.GCO");
  host_expect (host, "open failed, File: NOPE.GCO.");
  host_expect (host, "ok");

  host_write (host, "M23 CUBE~1.GCO\n");
  host_expect (host, "echo:Now fresh file: CUBE~1.GCO");
  host_expect (host, opened);
  host_expect (host, "File selected");
  host_expect (host, "ok");

  host_write (host, "M27 C\n");
  host_expect (host, "Current file: CUBE~1.GCO cube.gcode");
  host_expect (host, "ok");

  host_write (host, "M24\n");
  host_expect (host, "ok");
  status = wait_for_status (sim, is_printing);
  g_assert_cmpstr (status.current_file, ==, "CUBE~1.GCO");
  g_assert_cmpuint (status.sd_size, ==, g_bytes_get_size (cube));

  host_write (host, "M27\n");
  progress = host_reply (host);
  g_assert_true (g_regex_match (regex, progress, 0, &match));
  {
    g_autofree char *position = g_match_info_fetch (match, 1);
    g_autofree char *size = g_match_info_fetch (match, 2);

    g_assert_cmpuint (g_ascii_strtoull (position, NULL, 10), >, 0);
    g_assert_cmpuint (g_ascii_strtoull (position, NULL, 10), <=, g_bytes_get_size (cube));
    g_assert_cmpuint (g_ascii_strtoull (size, NULL, 10), ==, g_bytes_get_size (cube));
  }
  host_expect (host, "ok");

  done = host_wait_for (host, "Done printing file");
  host_write (host, "M27\n");
  host_expect (host, "Not SD printing");
  host_expect (host, "ok");

  sim_marlin_get_status (sim, &status);
  g_assert_false (status.printing);
  g_assert_cmpuint (status.sd_position, ==, g_bytes_get_size (cube));
}

static void
test_sd_upload (void)
{
  g_autoptr(SimMarlin) sim = new_sim (NULL);
  g_autoptr(Host) host = connect_host (sim);

  host_write (host, "N0 M110 N0*125\n");
  host_expect (host, "ok");
  host_send_numbered (host, 1, "M28 UP.GCO");
  host_expect (host, "echo:Now fresh file: UP.GCO");
  host_expect (host, "Writing to file: UP.GCO");
  host_expect (host, "ok");
  host_send_numbered (host, 2, "G1 X1");
  host_expect (host, "ok");
  /* While saving, an unnumbered line is refused (§1.2). */
  host_write (host, "G1 X2\n");
  host_expect (host, "Error:No Checksum with line number, Last Line: 2");
  host_expect (host, "Resend: 3");
  host_expect (host, "ok");
  host_write (host, "M29\n");
  host_expect (host, "Done saving file.");
  host_expect (host, "ok");

  host_write (host, "M20\n");
  host_expect (host, "Begin file list");
  host_expect (host, "UP.GCO 7");
  host_expect (host, "End file list");
  host_expect (host, "ok");
}

static void
test_unknown_command (void)
{
  g_autoptr(SimMarlin) sim = new_sim (NULL);
  g_autoptr(Host) host = connect_host (sim);

  host_write (host, "M9999\n");
  host_expect (host, "echo:Unknown command: \"M9999\"");
  host_expect (host, "ok");
  host_send_numbered (host, 1, "M9999 S1");
  host_expect (host, "echo:Unknown command: \"M9999 S1\"");
  host_expect (host, "ok");
}

static void
test_advanced_ok (void)
{
  SimMarlinOptions options;
  g_autoptr(SimMarlin) sim = NULL;
  g_autoptr(Host) host = NULL;
  g_autofree char *temperature = NULL;
  g_autofree char *unnumbered = NULL;

  sim_marlin_options_init (&options);
  options.advanced_ok = TRUE;
  sim = new_sim (&options);
  host = connect_host (sim);

  host_write (host, "N0 M110 N0*125\n");
  host_expect (host, "ok N0 P15 B3");
  host_send_numbered (host, 1, "G1 X100 F60");
  /* the move is in the planner when its ok leaves */
  host_expect (host, "ok N1 P14 B3");
  host_send_numbered (host, 2, "M105");
  temperature = host_line (host);
  g_assert_true (g_regex_match_simple ("^ok T:[0-9.]+ /0\\.00 B:", temperature, 0, 0));
  host_write (host, "G92 E0\n");
  unnumbered = host_reply (host);
  g_assert_cmpstr (unnumbered, ==, "ok P14 B3");
}

static gboolean
has_corrupted_line (const SimMarlinStatus *status)
{
  return status->lines_corrupted > 0;
}

/* Streams @count numbered lines one at a time, obeying Resend:. Returns the
 * line numbers the printer asked for again, as a string. */
static char *
stream_with_resends (SimMarlin *sim,
                     Host      *host,
                     guint      count,
                     guint     *errors)
{
  g_autoptr(GString) resends = g_string_new (NULL);
  guint next = 1;

  *errors = 0;
  /* unnumbered, so the noise cannot hit it */
  host_write (host, "M110 N0\n");
  host_expect (host, "ok");

  while (next <= count)
    {
      g_autofree char *command = g_strdup_printf ("G92 E%u", next);
      g_autofree char *reply = NULL;

      host_send_numbered (host, next, command);
      reply = host_reply (host);
      if (g_str_equal (reply, "ok"))
        {
          next++;
          continue;
        }

      g_assert_true (g_str_has_prefix (reply, "Error:checksum mismatch, Last Line: "));
      (*errors)++;
      {
        g_autofree char *resend = host_reply (host);
        g_autofree char *ok = host_reply (host);
        guint64 line;

        g_assert_true (g_str_has_prefix (resend, "Resend: "));
        g_assert_cmpstr (ok, ==, "ok");
        line = g_ascii_strtoull (resend + strlen ("Resend: "), NULL, 10);
        g_assert_cmpuint (line, ==, next);
        g_string_append_printf (resends, "%" G_GUINT64_FORMAT " ", line);
      }
    }

  return g_strdup (resends->str);
}

static void
test_corrupt_one_in (void)
{
  SimMarlinOptions options;
  g_autofree char *first_run = NULL;
  g_autofree char *second_run = NULL;

  sim_marlin_options_init (&options);

  /* Every line hit: the reply is always a checksum mismatch. */
  {
    g_autoptr(SimMarlin) sim = NULL;
    g_autoptr(Host) host = NULL;
    const char * const expected[] = { NULL };

    options.corrupt_one_in = 1;
    sim = new_sim (&options);
    host = connect_host (sim);
    host_send_numbered (host, 1, "G92 E0");
    host_expect (host, "Error:checksum mismatch, Last Line: 0");
    host_expect (host, "Resend: 1");
    host_expect (host, "ok");
    wait_for_status (sim, has_corrupted_line);
    assert_accepted (sim, expected);
  }

  /* One in 3, twice with the same seed: the same lines are hit, and what
   * arrives is exactly what was sent, in order, once. */
  options.corrupt_one_in = 3;
  options.seed = 7;
  for (guint run = 0; run < 2; run++)
    {
      g_autoptr(SimMarlin) sim = new_sim (&options);
      g_autoptr(Host) host = connect_host (sim);
      g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
      g_auto(GStrv) expected = NULL;
      SimMarlinStatus status;
      guint errors = 0;
      char *resends;

      resends = stream_with_resends (sim, host, 30, &errors);
      sim_marlin_get_status (sim, &status);
      g_assert_cmpuint (errors, >, 0);
      g_assert_cmpuint (status.lines_corrupted, ==, errors);
      g_assert_cmpuint (status.line_errors, ==, errors);

      g_strv_builder_add (builder, "M110 N0");
      for (guint i = 1; i <= 30; i++)
        {
          g_autofree char *command = g_strdup_printf ("G92 E%u", i);
          g_strv_builder_add (builder, command);
        }
      expected = g_strv_builder_end (builder);
      assert_accepted (sim, (const char * const *) expected);

      if (run == 0)
        first_run = resends;
      else
        second_run = resends;
    }
  g_assert_cmpstr (first_run, ==, second_run);
}

static gboolean
is_idle (const SimMarlinStatus *status)
{
  return status->queue_length == 0 && !status->busy;
}

static void
test_drop_ok (void)
{
  SimMarlinOptions options;

  sim_marlin_options_init (&options);

  /* Once: the G92's ok is lost, the next line is M105's. */
  {
    g_autoptr(SimMarlin) sim = new_sim (&options);
    g_autoptr(Host) host = connect_host (sim);
    SimMarlinStatus status;

    sim_marlin_drop_next_ok (sim);
    host_write (host, "G92 E0\n");
    host_write (host, "M119\n");
    host_expect (host, "Reporting endstop status");
    host_expect (host, "x_min: open");
    host_expect (host, "y_min: open");
    host_expect (host, "z_min: open");
    host_expect (host, "ok");
    sim_marlin_get_status (sim, &status);
    g_assert_cmpuint (status.oks_dropped, ==, 1);
  }

  /* One in 3 with a fixed seed: every ok that is not lost arrives. */
  {
    g_autoptr(SimMarlin) sim = NULL;
    g_autoptr(Host) host = NULL;
    SimMarlinStatus status;
    guint commands = 0, oks = 0;
    gint64 deadline;

    options.drop_ok_one_in = 3;
    options.seed = 11;
    sim = new_sim (&options);
    host = connect_host (sim);

    for (guint round = 0; round < 20; round++)
      {
        host_write (host, "G92 E0\nM119\n");
        commands += 2;
        for (;;)
          {
            g_autofree char *line = host_reply (host);

            if (g_str_equal (line, "ok"))
              oks++;
            else if (g_str_equal (line, "z_min: open"))
              break;
          }
      }

    /* The last M119's ok may or may not come: wait until the count adds up. */
    wait_for_status (sim, is_idle);
    deadline = g_get_monotonic_time () + LINE_TIMEOUT_US;
    for (;;)
      {
        g_autofree char *line = NULL;

        sim_marlin_get_status (sim, &status);
        if (oks + status.oks_dropped == commands)
          break;
        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        line = host_try_line (host, 100 * 1000);
        if (line != NULL && g_str_equal (line, "ok"))
          oks++;
      }
    g_assert_cmpuint (status.oks_dropped, >, 0);
    g_assert_cmpuint (oks, <, commands);
  }
}

static void
test_unplug (void)
{
  g_autoptr(SimMarlin) sim = new_sim (NULL);
  g_autoptr(Host) host = connect_host (sim);
  struct pollfd pfd = { host->fd, POLLIN, 0 };
  SimMarlinStatus status;
  char buffer[64];
  gssize n;

  host_write (host, "M105\n");
  {
    g_autofree char *line = host_line (host);
    g_assert_true (g_str_has_prefix (line, "ok T:"));
  }

  sim_marlin_unplug (sim);
  g_assert_cmpint (poll (&pfd, 1, (int) (LINE_TIMEOUT_US / 1000)), ==, 1);
  g_assert_true (pfd.revents & (POLLHUP | POLLERR | POLLIN));
  n = read (host->fd, buffer, sizeof buffer);
  g_assert_true (n == 0 || (n < 0 && errno == EIO));

  sim_marlin_get_status (sim, &status);
  g_assert_true (status.unplugged);
}

static gboolean
is_queue_full_of_three (const SimMarlinStatus *status)
{
  return status->queue_length == 3 && status->rx_waiting > 0;
}

/* BUFSIZE 3: while M400 waits for a long move, the host sends six more
 * commands without waiting. Only two of them fit in the queue beside M400,
 * none is acknowledged until M400 has run, the rest waits in the receive
 * buffer, and Marlin reports it is busy. */
static void
test_buffer_size (void)
{
  SimMarlinOptions options;
  g_autoptr(SimMarlin) sim = NULL;
  g_autoptr(Host) host = NULL;
  const char * const queued[] = { "G1 X600 F600", "M400", "G92 E0", "G92 E0", NULL };
  const char * const all[] = {
    "G1 X600 F600", "M400", "G92 E0", "G92 E0", "G92 E0", "G92 E0", "G92 E0", "G92 E0", NULL
  };
  g_autofree char *busy = NULL;
  guint oks = 0;

  sim_marlin_options_init (&options);
  options.buffer_size = 3;
  options.time_scale = 20;    /* the move takes 60 s of printer time, 3 s here */
  sim = new_sim (&options);
  host = connect_host (sim);

  host_write (host, "G1 X600 F600\n");
  host_expect (host, "ok");
  host_write (host, "M400\nG92 E0\nG92 E0\nG92 E0\nG92 E0\nG92 E0\nG92 E0\n");

  wait_for_status (sim, is_queue_full_of_three);
  assert_accepted (sim, queued);

  busy = host_line (host);
  g_assert_cmpstr (busy, ==, "echo:busy: processing");

  while (oks < 7)
    {
      g_autofree char *line = host_line (host);

      if (g_str_equal (line, "ok"))
        oks++;
      else
        g_assert_cmpstr (line, ==, "echo:busy: processing");
    }
  assert_accepted (sim, all);
}

static gboolean
has_dropped_bytes (const SimMarlinStatus *status)
{
  return status->rx_dropped > 0;
}

/* Bytes sent while the queue and the 127 usable bytes of the receive buffer
 * are full are lost, as on a real board. */
static void
test_receive_overflow (void)
{
  SimMarlinOptions options;
  g_autoptr(SimMarlin) sim = NULL;
  g_autoptr(Host) host = NULL;
  g_autoptr(GString) burst = g_string_new (NULL);
  SimMarlinStatus status;

  sim_marlin_options_init (&options);
  options.time_scale = 20;
  sim = new_sim (&options);
  host = connect_host (sim);

  /* 180 s of printer time, 9 s here: plenty to look at the buffers */
  host_write (host, "G1 X600 F200\n");
  host_expect (host, "ok");
  g_string_append (burst, "M400\n");
  for (guint i = 0; i < 10; i++)
    g_string_append (burst, "M117 abcdefghijklmnopqrstuvwxyz\n");
  host_write (host, burst->str);

  status = wait_for_status (sim, has_dropped_bytes);
  g_assert_cmpuint (status.rx_waiting, ==, 127);
  g_assert_cmpuint (status.queue_length, ==, 4);
}

static void
test_heating (void)
{
  SimMarlinOptions options;
  g_autoptr(SimMarlin) sim = NULL;
  g_autoptr(Host) host = NULL;
  g_autoptr(GRegex) waiting = g_regex_new ("^ T:[0-9]+\\.[0-9]{2} /200\\.00 B:[0-9]+\\.[0-9]{2} /0\\.00 @:[0-9]+ B@:0 W:([0-9]+|\\?)$",
                                           0, 0, NULL);
  SimMarlinStatus status;
  guint reports = 0;
  gboolean countdown = FALSE;

  sim_marlin_options_init (&options);
  options.time_scale = 100;
  sim = new_sim (&options);
  host = connect_host (sim);

  host_write (host, "M109 S200\n");
  for (;;)
    {
      g_autofree char *line = host_line (host);

      if (g_str_equal (line, "ok"))
        break;
      if (g_str_equal (line, "echo:busy: processing"))
        continue;
      g_assert_true (g_regex_match (waiting, line, 0, NULL));
      countdown |= !g_str_has_suffix (line, "W:?");
      reports++;
    }
  g_assert_cmpuint (reports, >, 10);
  g_assert_true (countdown);

  sim_marlin_get_status (sim, &status);
  g_assert_cmpfloat (status.hotend_target, ==, 200);
  g_assert_cmpfloat (status.hotend_temperature, >, 197);
}

static void
test_kill (void)
{
  g_autoptr(SimMarlin) sim = new_sim (NULL);
  g_autoptr(Host) host = connect_host (sim);
  SimMarlinStatus status;

  host_write (host, "M112\n");
  host_expect (host, "echo:M112 Shutdown");
  host_expect (host, "Error:Printer halted. kill() called!");
  sim_marlin_get_status (sim, &status);
  g_assert_true (status.killed);
}

static void
test_link_path (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("drover-sim-XXXXXX", &error);
  g_autofree char *link = NULL;
  SimMarlinOptions options;

  g_assert_no_error (error);
  link = g_build_filename (dir, "ttyACM0", NULL);
  sim_marlin_options_init (&options);
  options.link_path = link;
  {
    g_autoptr(SimMarlin) sim = new_sim (&options);
    g_autoptr(Host) host = host_open (link);

    host_skip_banner (host);
    host_write (host, "M105\n");
    {
      g_autofree char *line = host_line (host);
      g_assert_true (g_str_has_prefix (line, "ok T:"));
    }
  }
  g_assert_false (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sim-marlin/checksum-vectors", test_checksum_vectors);
  g_test_add_func ("/sim-marlin/banner", test_banner);
  g_test_add_func ("/sim-marlin/m115", test_m115);
  g_test_add_func ("/sim-marlin/numbered-lines", test_numbered_lines);
  g_test_add_func ("/sim-marlin/bad-checksum", test_bad_checksum);
  g_test_add_func ("/sim-marlin/line-numbers", test_line_numbers);
  g_test_add_func ("/sim-marlin/legacy-resend", test_legacy_resend);
  g_test_add_func ("/sim-marlin/m110", test_m110);
  g_test_add_func ("/sim-marlin/m105", test_m105);
  g_test_add_func ("/sim-marlin/m155", test_m155);
  g_test_add_func ("/sim-marlin/sd-card", test_sd_card);
  g_test_add_func ("/sim-marlin/sd-upload", test_sd_upload);
  g_test_add_func ("/sim-marlin/unknown-command", test_unknown_command);
  g_test_add_func ("/sim-marlin/advanced-ok", test_advanced_ok);
  g_test_add_func ("/sim-marlin/corrupt-one-in", test_corrupt_one_in);
  g_test_add_func ("/sim-marlin/drop-ok", test_drop_ok);
  g_test_add_func ("/sim-marlin/unplug", test_unplug);
  g_test_add_func ("/sim-marlin/buffer-size", test_buffer_size);
  g_test_add_func ("/sim-marlin/receive-overflow", test_receive_overflow);
  g_test_add_func ("/sim-marlin/heating", test_heating);
  g_test_add_func ("/sim-marlin/kill", test_kill);
  g_test_add_func ("/sim-marlin/link-path", test_link_path);

  return g_test_run ();
}
