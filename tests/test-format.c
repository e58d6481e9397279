/* test-format.c: numbers as the operator reads them
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "drover-core.h"

static void
check_time_left (gint64      seconds,
                 const char *expected)
{
  g_autofree char *text = drover_format_time_left (seconds);

  g_assert_cmpstr (text, ==, expected);
}

static void
test_format_time_left (void)
{
  check_time_left (-1, NULL);
  check_time_left (0, "Less than a minute left");
  check_time_left (59, "Less than a minute left");
  /* Rounded up: a job with 61 s left is not "1 min" from done, it is 2. */
  check_time_left (61, "2 min left");
  check_time_left (3600, "1 h left");
  check_time_left (5040, "1 h 24 min left");
  check_time_left (3599, "1 h left");
  check_time_left (100 * 3600, "100 h left");
}

static void
test_format_temperature (void)
{
  g_autofree char *heating = drover_format_temperature (249.6, 250);
  g_autofree char *off = drover_format_temperature (23.8, 0);

  g_assert_cmpstr (heating, ==, "250 / 250 °C");
  g_assert_cmpstr (off, ==, "24 °C");
}

static void
test_format_since (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_utc (2026, 11, 25, 12, 0, 0);
  g_autoptr(GDateTime) recent = g_date_time_add_seconds (now, -20);
  g_autoptr(GDateTime) minutes = g_date_time_add_seconds (now, -125);
  g_autoptr(GDateTime) hours = g_date_time_add_seconds (now, -3 * 3600);
  g_autoptr(GDateTime) one_day = g_date_time_add_days (now, -1);
  g_autoptr(GDateTime) days = g_date_time_add_days (now, -4);
  g_autoptr(GDateTime) future = g_date_time_add_seconds (now, 300);
  g_autofree char *never = drover_format_since (NULL, now);
  g_autofree char *a = drover_format_since (recent, now);
  g_autofree char *b = drover_format_since (minutes, now);
  g_autofree char *c = drover_format_since (hours, now);
  g_autofree char *d = drover_format_since (one_day, now);
  g_autofree char *e = drover_format_since (days, now);
  g_autofree char *f = drover_format_since (future, now);

  g_assert_cmpstr (never, ==, "never");
  g_assert_cmpstr (a, ==, "just now");
  g_assert_cmpstr (b, ==, "2 min ago");
  g_assert_cmpstr (c, ==, "3 h ago");
  g_assert_cmpstr (d, ==, "1 day ago");
  g_assert_cmpstr (e, ==, "4 days ago");
  /* A printer whose clock runs ahead was still seen "just now". */
  g_assert_cmpstr (f, ==, "just now");
}

/* Names from printers, as they could be made by someone who wants to
 * fool the operator. */
static void
test_format_untrusted (void)
{
  g_autoptr(GString) long_name = g_string_new (NULL);
  g_autofree char *shown = NULL;

  /* Ordinary names, non-ASCII included, are shown as they are. */
  shown = drover_format_untrusted ("benchy_0.2mm_PLA_MK4_1h2m.gcode", 120);
  g_assert_cmpstr (shown, ==, "benchy_0.2mm_PLA_MK4_1h2m.gcode");
  g_clear_pointer (&shown, g_free);
  shown = drover_format_untrusted ("Halterung für Düse – 花瓶.gcode", 120);
  g_assert_cmpstr (shown, ==, "Halterung für Düse – 花瓶.gcode");
  g_clear_pointer (&shown, g_free);

  /* A path is text: shown, not followed. */
  shown = drover_format_untrusted ("../../.config/autostart/x.gcode", 120);
  g_assert_cmpstr (shown, ==, "../../.config/autostart/x.gcode");
  g_clear_pointer (&shown, g_free);

  /* A right-to-left override makes "readme\u202Eedocg.exe" look like
   * "readmeexe.gcode"; shown, it cannot. */
  shown = drover_format_untrusted ("readme\u202Eedocg.exe", 120);
  g_assert_cmpstr (shown, ==, "readme<U+202E>edocg.exe");
  g_clear_pointer (&shown, g_free);
  shown = drover_format_untrusted ("a\u2066b\u2069c\u200Bd\uFEFFe", 120);
  g_assert_cmpstr (shown, ==, "a<U+2066>b<U+2069>c<U+200B>d<U+FEFF>e");
  g_clear_pointer (&shown, g_free);

  /* Control characters: a newline cannot fake a second line, an escape
   * cannot reach a terminal. */
  shown = drover_format_untrusted ("part.gcode\nDrover: approved\x1b[2J\x7f", 120);
  g_assert_cmpstr (shown, ==, "part.gcode<U+000A>Drover: approved<U+001B>[2J<U+007F>");
  g_clear_pointer (&shown, g_free);
  shown = drover_format_untrusted ("c1\xc2\x85here", 120);
  g_assert_cmpstr (shown, ==, "c1<U+0085>here");
  g_clear_pointer (&shown, g_free);

  /* Bytes that are not UTF-8 become U+FFFD. */
  shown = drover_format_untrusted ("bad\xff\xfename.gcode", 120);
  g_assert_true (g_utf8_validate (shown, -1, NULL));
  g_assert_cmpstr (shown, ==, "bad\uFFFD\uFFFDname.gcode");
  g_clear_pointer (&shown, g_free);

  /* Ten thousand characters: the start and the extension stay. */
  for (guint i = 0; i < 10000; i++)
    g_string_append_c (long_name, (char) ('a' + i % 26));
  g_string_append (long_name, ".gcode");
  shown = drover_format_untrusted (long_name->str, 120);
  g_assert_cmpint (g_utf8_strlen (shown, -1), ==, 120);
  g_assert_true (g_str_has_prefix (shown, "abcdefghij"));
  g_assert_true (g_str_has_suffix (shown, ".gcode"));
  g_assert_nonnull (strstr (shown, "…"));
  g_clear_pointer (&shown, g_free);

  /* Cut at characters, not bytes, and escapes count as what they show. */
  g_string_truncate (long_name, 0);
  for (guint i = 0; i < 500; i++)
    g_string_append (long_name, "é\u202E");
  shown = drover_format_untrusted (long_name->str, 40);
  g_assert_true (g_utf8_validate (shown, -1, NULL));
  g_assert_cmpint (g_utf8_strlen (shown, -1), ==, 40);
  g_assert_null (strstr (shown, "\u202E"));

  g_clear_pointer (&shown, g_free);
  shown = drover_format_untrusted (NULL, 40);
  g_assert_cmpstr (shown, ==, "");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/format/time-left", test_format_time_left);
  g_test_add_func ("/format/temperature", test_format_temperature);
  g_test_add_func ("/format/since", test_format_since);
  g_test_add_func ("/format/untrusted", test_format_untrusted);

  return g_test_run ();
}
