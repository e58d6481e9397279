/* drover-diagnostics-window.c: what came in, and what became of it
 *
 * For the operator who asks "why does this card not move?": each
 * connection's state in words, and how many messages were decoded,
 * ignored, malformed, oversized or about printers the farm does not list.
 * Refreshed once a second while open.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-diagnostics"

#include "config.h"

#include <glib/gi18n.h>

#include "drover-diagnostics-window.h"

struct _DroverDiagnosticsWindow
{
  AdwPreferencesWindow  parent_instance;

  DroverFarm           *farm;
  AdwPreferencesGroup  *links_group;
  GPtrArray            *link_rows;     /* AdwActionRow, one per link */
  AdwActionRow         *count_rows[6];
  guint                 refresh_source;
};

G_DEFINE_FINAL_TYPE (DroverDiagnosticsWindow, drover_diagnostics_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
set_count (AdwActionRow *row,
           guint64       value)
{
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT, value);

  adw_action_row_set_subtitle (row, text);
}

static gboolean
refresh_cb (gpointer data)
{
  DroverDiagnosticsWindow *self = data;
  DroverTelemetryCounts counts;
  GPtrArray *links;

  if (self->farm == NULL)
    return G_SOURCE_CONTINUE;

  links = drover_farm_get_links (self->farm);
  for (guint i = 0; i < links->len && i < self->link_rows->len; i++)
    {
      DroverMqttLink *link = g_ptr_array_index (links, i);
      AdwActionRow *row = g_ptr_array_index (self->link_rows, i);
      const char *message = drover_mqtt_link_get_status_message (link);
      g_autofree char *state = NULL;

      switch (drover_mqtt_link_get_state (link))
        {
        case DROVER_LINK_STATE_CONNECTED:
          state = g_strdup_printf (_("Connected (MQTT %s), %u connections so far"),
                                   drover_mqtt_link_get_mqtt_version (link) == 5 ? "5" : "3.1.1",
                                   drover_mqtt_link_get_n_connects (link));
          break;
        case DROVER_LINK_STATE_CONNECTING:
          state = g_strdup (_("Connecting…"));
          break;
        case DROVER_LINK_STATE_STOPPED:
          state = g_strdup (_("Stopped"));
          break;
        case DROVER_LINK_STATE_RETRYING:
        case DROVER_LINK_STATE_REFUSED:
        default:
          state = g_strdup (message != NULL ? message : _("Not connected"));
          break;
        }
      adw_action_row_set_subtitle (row, state);
    }

  drover_telemetry_get_counts (drover_farm_get_telemetry (self->farm), &counts);
  set_count (self->count_rows[0], counts.received);
  set_count (self->count_rows[1], counts.decoded);
  set_count (self->count_rows[2], counts.ignored);
  set_count (self->count_rows[3], counts.malformed);
  set_count (self->count_rows[4], counts.oversized);
  set_count (self->count_rows[5], counts.unknown_printer);

  return G_SOURCE_CONTINUE;
}

static void
drover_diagnostics_window_dispose (GObject *object)
{
  DroverDiagnosticsWindow *self = (DroverDiagnosticsWindow *)object;

  g_clear_handle_id (&self->refresh_source, g_source_remove);
  g_clear_object (&self->farm);
  g_clear_pointer (&self->link_rows, g_ptr_array_unref);

  G_OBJECT_CLASS (drover_diagnostics_window_parent_class)->dispose (object);
}

static void
drover_diagnostics_window_class_init (DroverDiagnosticsWindowClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = drover_diagnostics_window_dispose;
}

static AdwActionRow *
add_row (AdwPreferencesGroup *group,
         const char          *title,
         const char          *tooltip)
{
  AdwActionRow *row = ADW_ACTION_ROW (adw_action_row_new ());

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  gtk_widget_set_tooltip_text (GTK_WIDGET (row), tooltip);
  adw_preferences_group_add (group, GTK_WIDGET (row));

  return row;
}

static void
drover_diagnostics_window_init (DroverDiagnosticsWindow *self)
{
  AdwPreferencesPage *page = ADW_PREFERENCES_PAGE (adw_preferences_page_new ());
  AdwPreferencesGroup *messages = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());

  self->link_rows = g_ptr_array_new ();
  gtk_window_set_title (GTK_WINDOW (self), _("Diagnostics"));
  gtk_window_set_default_size (GTK_WINDOW (self), 560, 640);
  adw_preferences_window_set_search_enabled (ADW_PREFERENCES_WINDOW (self), FALSE);

  self->links_group = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  adw_preferences_group_set_title (self->links_group, _("Connections"));
  adw_preferences_page_add (page, self->links_group);

  adw_preferences_group_set_title (messages, _("Messages"));
  adw_preferences_group_set_description (messages, _("Since the farm was opened. Malformed and oversized messages are "
                                                     "counted and dropped; they never change a printer."));
  self->count_rows[0] = add_row (messages, _("Received"), NULL);
  self->count_rows[1] = add_row (messages, _("Decoded"), _("Messages that told Drover something about a printer"));
  self->count_rows[2] = add_row (messages, _("Ignored"), _("Messages of a printer's dialect that say nothing about its state"));
  self->count_rows[3] = add_row (messages, _("Malformed"), _("Not what the dialect sends: bad JSON, wrong types, impossible values"));
  self->count_rows[4] = add_row (messages, _("Oversized"), _("Larger than 256 KiB; not read"));
  self->count_rows[5] = add_row (messages, _("About Unknown Printers"), _("Printers the farm's inventory does not list"));
  adw_preferences_page_add (page, messages);

  adw_preferences_window_add (ADW_PREFERENCES_WINDOW (self), page);
}

/**
 * drover_diagnostics_window_new:
 * @farm: (nullable): the running farm
 */
GtkWidget *
drover_diagnostics_window_new (GtkWindow  *parent,
                               DroverFarm *farm)
{
  DroverDiagnosticsWindow *self = g_object_new (DROVER_TYPE_DIAGNOSTICS_WINDOW,
                                                "transient-for", parent,
                                                "modal", FALSE,
                                                NULL);

  g_set_object (&self->farm, farm);

  if (farm == NULL)
    {
      AdwActionRow *row = add_row (self->links_group, _("No farm is open"), NULL);

      adw_action_row_set_subtitle (row, _("Open the demo farm or describe your farm in Preferences."));
    }
  else
    {
      GPtrArray *links = drover_farm_get_links (farm);

      for (guint i = 0; i < links->len; i++)
        g_ptr_array_add (self->link_rows,
                         add_row (self->links_group, drover_mqtt_link_get_uri (g_ptr_array_index (links, i)), NULL));
    }

  refresh_cb (self);
  self->refresh_source = g_timeout_add_seconds (1, refresh_cb, self);

  return GTK_WIDGET (self);
}
