/* overview.c: the fleet overview with 10,000 printers updating at 1 Hz
 *
 * A real window (run it under a display, or `xvfb-run -a`), the overview's
 * grid and printer cards, 10,000 printers whose telemetry arrives from a
 * worker thread at one update per printer per second, through the same
 * per-frame coalescing Drover uses, while the grid scrolls. Prints how
 * long each frame's work took (layout, snapshot, render: from the frame
 * clock's "update" phase to "after-paint"), as percentiles. The budget at
 * 60 Hz is 16.7 ms. Figures only.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <stdio.h>

#include "drover-core.h"
#include "drover-printer-card.h"

static int opt_printers = 10000;
static double opt_seconds = 10.0;
static gboolean opt_no_updates;
static gboolean opt_no_scroll;

static const GOptionEntry entries[] = {
  { "printers", 'n', 0, G_OPTION_ARG_INT, &opt_printers, "Printers (default 10000)", "N" },
  { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &opt_seconds, "How long to measure (default 10)", "S" },
  { "no-updates", 0, 0, G_OPTION_ARG_NONE, &opt_no_updates, "Scroll only, no telemetry (the reference)", NULL },
  { "no-scroll", 0, 0, G_OPTION_ARG_NONE, &opt_no_scroll, "Keep the grid still", NULL },
  { NULL }
};

typedef struct
{
  DroverTelemetry *telemetry;
  guint            n_printers;
  gint             stop;
  guint64          updates;
} Feeder;

/* One update per printer per second, spread evenly over the second. */
static gpointer
feeder_thread (gpointer data)
{
  Feeder *feeder = data;
  gint64 start = g_get_monotonic_time ();
  guint64 sent = 0;

  while (!g_atomic_int_get (&feeder->stop))
    {
      gint64 elapsed = g_get_monotonic_time () - start;
      guint64 due = (guint64)(elapsed * (gint64)feeder->n_printers / G_USEC_PER_SEC);

      for (; sent < due; sent++)
        {
          guint index = sent % feeder->n_printers;
          g_autofree char *id = g_strdup_printf ("p-%05u", index);
          DroverUpdate update = { 0 };

          update.fields = DROVER_UPDATE_HOTEND_TEMPERATURE | DROVER_UPDATE_PROGRESS | DROVER_UPDATE_TIME_LEFT;
          update.hotend_temperature = 200.0 + (sent / feeder->n_printers) % 20 + index % 7 * 0.1;
          update.progress = ((sent / feeder->n_printers) % 100) / 100.0;
          update.time_left = 3600 - (gint64)(sent / feeder->n_printers);
          drover_telemetry_queue_update (feeder->telemetry, id, &update);
        }
      feeder->updates = sent;
      g_usleep (2000);
    }

  return NULL;
}

typedef struct
{
  GArray          *work_ms;
  gint64           update_started;
  gboolean         measuring;
  GtkAdjustment   *scroll;
  double           direction;
} Frames;

static void
update_cb (GdkFrameClock *clock,
           Frames        *frames)
{
  frames->update_started = g_get_monotonic_time ();

  /* Scroll a little every frame: cards are recycled as they would be. */
  if (frames->scroll != NULL)
    {
      double value = gtk_adjustment_get_value (frames->scroll) + frames->direction * 40.0;
      double upper = gtk_adjustment_get_upper (frames->scroll) - gtk_adjustment_get_page_size (frames->scroll);

      if (value >= upper || value <= 0)
        frames->direction = -frames->direction;
      gtk_adjustment_set_value (frames->scroll, CLAMP (value, 0, upper));
    }
}

static void
after_paint_cb (GdkFrameClock *clock,
                Frames        *frames)
{
  if (frames->measuring && frames->update_started > 0)
    {
      double ms = (g_get_monotonic_time () - frames->update_started) / 1000.0;

      g_array_append_val (frames->work_ms, ms);
    }
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *)a;
  double y = *(const double *)b;

  return (x > y) - (x < y);
}

static double
percentile (GArray *sorted,
            double  p)
{
  if (sorted->len == 0)
    return 0.0;

  return g_array_index (sorted, double, MIN ((guint)(p * sorted->len), sorted->len - 1));
}

static void
spin (double seconds)
{
  gint64 until = g_get_monotonic_time () + (gint64)(seconds * G_USEC_PER_SEC);

  while (g_get_monotonic_time () < until)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (500);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverFleet) fleet = NULL;
  g_autoptr(DroverTelemetry) telemetry = NULL;
  g_autoptr(GPtrArray) printers = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GtkListItemFactory) factory = NULL;
  Frames frames = { g_array_new (FALSE, FALSE, sizeof (double)), 0, FALSE, NULL, 1.0 };
  Feeder feeder = { 0 };
  GtkWidget *window;
  GtkWidget *scrolled;
  GtkWidget *grid;
  GdkFrameClock *clock;
  GThread *thread;
  gint64 start;
  guint frame_count;

  g_option_context_set_summary (context, "Measure frame times of the fleet overview with many printers updating at 1 Hz.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("overview: %s\n", error->message);
      return 2;
    }

  adw_init ();
  drover_core_init (NULL);
  g_type_ensure (DROVER_TYPE_PRINTER_CARD);

  fleet = drover_fleet_new ();
  telemetry = drover_telemetry_new (fleet);
  drover_telemetry_set_offline_timeout (telemetry, 0);
  for (int i = 0; i < opt_printers; i++)
    {
      g_autofree char *id = g_strdup_printf ("p-%05d", i);
      g_autofree char *name = g_strdup_printf ("Printer %05d", i);
      DroverPrinter *printer = drover_printer_new (id, i % 2 ? DROVER_CONNECTOR_MOONRAKER : DROVER_CONNECTOR_NATIVE);

      drover_printer_set_display_name (printer, name);
      drover_printer_set_state (printer, DROVER_PRINTER_STATE_PRINTING);
      drover_printer_set_current_file (printer, "bracket_v3_ASA.gcode");
      g_ptr_array_add (printers, printer);
    }
  drover_fleet_add_printers (fleet, (DroverPrinter **)printers->pdata, printers->len);

  /* The application's own style sheet, as AdwApplication would load it. */
  {
    g_autoptr(GtkCssProvider) css = gtk_css_provider_new ();

    gtk_css_provider_load_from_resource (css, "/io/github/drover/Drover/style.css");
    gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                                GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  }

  factory = gtk_builder_list_item_factory_new_from_resource (NULL, "/io/github/drover/Drover/drover-printer-card-item.ui");
  grid = gtk_grid_view_new (GTK_SELECTION_MODEL (gtk_no_selection_new (g_object_ref (G_LIST_MODEL (fleet)))),
                            g_object_ref (factory));
  gtk_grid_view_set_max_columns (GTK_GRID_VIEW (grid), 8);
  scrolled = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), grid);
  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  gtk_window_set_child (GTK_WINDOW (window), scrolled);
  gtk_window_present (GTK_WINDOW (window));
  spin (1.0);

  frames.scroll = opt_no_scroll ? NULL : gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled));
  clock = gtk_widget_get_frame_clock (window);
  g_signal_connect (clock, "update", G_CALLBACK (update_cb), &frames);
  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb), &frames);
  gdk_frame_clock_begin_updating (clock);

  feeder.telemetry = telemetry;
  feeder.n_printers = (guint)opt_printers;
  if (opt_no_updates)
    g_atomic_int_set (&feeder.stop, TRUE);
  thread = g_thread_new ("feeder", feeder_thread, &feeder);
  spin (1.0);

  frames.measuring = TRUE;
  start = g_get_monotonic_time ();
  spin (opt_seconds);
  frames.measuring = FALSE;
  frame_count = frames.work_ms->len;

  g_atomic_int_set (&feeder.stop, TRUE);
  g_thread_join (thread);
  gdk_frame_clock_end_updating (clock);

  g_array_sort (frames.work_ms, compare_doubles);
  printf ("overview benchmark: %d printers, %s, grid %s, %s renderer\n",
          opt_printers, opt_no_updates ? "no updates" : "each updated once a second",
          opt_no_scroll ? "still" : "scrolling", g_getenv ("GSK_RENDERER") != NULL ? g_getenv ("GSK_RENDERER") : "default");
  printf ("frames: %u in %.1f s (%.1f per second), updates sent: %" G_GUINT64_FORMAT "\n",
          frame_count, (g_get_monotonic_time () - start) / (double)G_USEC_PER_SEC,
          frame_count / opt_seconds, feeder.updates);
  printf ("frame work   p50 %.2f ms   p90 %.2f ms   p99 %.2f ms   max %.2f ms   (budget 16.7 ms)\n",
          percentile (frames.work_ms, 0.50), percentile (frames.work_ms, 0.90),
          percentile (frames.work_ms, 0.99), percentile (frames.work_ms, 1.0));

  gtk_window_destroy (GTK_WINDOW (window));
  g_array_unref (frames.work_ms);

  return 0;
}
