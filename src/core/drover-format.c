/* drover-format.c: numbers as the operator reads them
 *
 * These live in the core, not in the widgets, so that they can be tested
 * without a display and used by droverctl too.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-format"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "drover-format.h"

/**
 * drover_format_time_left:
 * @seconds: seconds until a job ends, negative when unknown
 *
 * Returns: (transfer full): such as "1 h 24 min left", or %NULL when unknown
 */
char *
drover_format_time_left (gint64 seconds)
{
  gint64 hours;
  gint64 minutes;

  if (seconds < 0)
    return NULL;

  if (seconds < 60)
    return g_strdup (_("Less than a minute left"));

  /* Round up: "0 min left" while the job still runs would be a lie. */
  minutes = (seconds + 59) / 60;
  hours = minutes / 60;
  minutes %= 60;

  if (hours == 0)
    /* Translators: time left of a print job, in minutes */
    return g_strdup_printf (_("%d min left"), (int)minutes);

  if (minutes == 0)
    /* Translators: time left of a print job, in whole hours */
    return g_strdup_printf (_("%d h left"), (int)hours);

  /* Translators: time left of a print job, in hours and minutes */
  return g_strdup_printf (_("%d h %d min left"), (int)hours, (int)minutes);
}

/**
 * drover_format_temperature:
 * @actual: the measured temperature, in °C
 * @target: the set temperature, in °C; 0 or less when the heater is off
 *
 * Returns: (transfer full): such as "215 / 215 °C", or "24 °C" with the heater off
 */
char *
drover_format_temperature (double actual,
                           double target)
{
  if (target <= 0)
    /* Translators: a temperature with its heater off */
    return g_strdup_printf (_("%.0f °C"), actual);

  /* Translators: measured and set temperature of a heater */
  return g_strdup_printf (_("%.0f / %.0f °C"), actual, target);
}

/**
 * drover_format_since:
 * @then: (nullable): when something happened
 * @now: the time to measure from
 *
 * Returns: (transfer full): such as "2 h ago", or "never" for %NULL
 */
char *
drover_format_since (GDateTime *then,
                     GDateTime *now)
{
  GTimeSpan span;
  gint64 seconds;

  g_return_val_if_fail (now != NULL, NULL);

  if (then == NULL)
    return g_strdup (_("never"));

  span = g_date_time_difference (now, then);
  seconds = MAX (span / G_TIME_SPAN_SECOND, 0);

  if (seconds < 60)
    return g_strdup (_("just now"));

  if (seconds < 3600)
    /* Translators: how long ago something happened, in minutes */
    return g_strdup_printf (_("%d min ago"), (int)(seconds / 60));

  if (seconds < 86400)
    /* Translators: how long ago something happened, in hours */
    return g_strdup_printf (_("%d h ago"), (int)(seconds / 3600));

  /* Translators: how long ago something happened, in days */
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d day ago", "%d days ago", (gulong)(seconds / 86400)),
                          (int)(seconds / 86400));
}

/* Characters that change how the text around them is shown, or that show
 * nothing: bidirectional overrides and isolates, zero-width characters,
 * line and paragraph separators. */
static gboolean
is_hidden_character (gunichar c)
{
  GUnicodeType type = g_unichar_type (c);

  return type == G_UNICODE_CONTROL || type == G_UNICODE_FORMAT ||
         type == G_UNICODE_LINE_SEPARATOR || type == G_UNICODE_PARAGRAPH_SEPARATOR;
}

/**
 * drover_format_untrusted:
 * @text: (nullable): a name or text that came from outside: a file name a
 *   printer listed, a host in an order, a command in a file
 * @max_chars: the most characters to show, at least 16
 *
 * Makes @text safe to show: bytes that are not UTF-8 become U+FFFD;
 * control characters, right-to-left overrides and other invisible
 * characters become a visible `<U+202E>`, so `gcode.exe` written backwards
 * behind an override cannot pose as a `.gcode` file; and text longer than
 * @max_chars keeps its start and its end (where the extension is) around
 * a "…". Never use the result to find the file again: it is for eyes only.
 *
 * Returns: (transfer full): the text to show
 */
char *
drover_format_untrusted (const char *text,
                         guint       max_chars)
{
  g_autofree char *valid = NULL;
  g_autoptr(GString) shown = NULL;
  glong n_chars;
  const char *head_end;
  const char *tail_start;
  glong head;

  g_return_val_if_fail (max_chars >= 16, NULL);

  if (text == NULL)
    return g_strdup ("");

  valid = g_utf8_make_valid (text, -1);
  shown = g_string_sized_new (strlen (valid));
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (is_hidden_character (c))
        g_string_append_printf (shown, "<U+%04X>", c);
      else
        g_string_append_unichar (shown, c);
    }

  n_chars = g_utf8_strlen (shown->str, -1);
  if (n_chars <= (glong) max_chars)
    return g_string_free (g_steal_pointer (&shown), FALSE);

  /* Two thirds from the start, the rest from the end, "…" between. */
  head = ((glong) max_chars - 1) * 2 / 3;
  head_end = g_utf8_offset_to_pointer (shown->str, head);
  tail_start = g_utf8_offset_to_pointer (shown->str, n_chars - ((glong) max_chars - 1 - head));

  return g_strdup_printf ("%.*s…%s", (int) (head_end - shown->str), shown->str, tail_start);
}
