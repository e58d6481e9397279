/* test-format.c: numbers as the operator reads them
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

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

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/format/time-left", test_format_time_left);
  g_test_add_func ("/format/temperature", test_format_temperature);
  g_test_add_func ("/format/since", test_format_since);

  return g_test_run ();
}
