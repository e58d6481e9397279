/* drover-printer-page.c: one printer, up close
 *
 * Live values, how Drover reaches the printer, and the newest message it
 * sent, as it arrived: what an operator needs to tell a printer's fault
 * from a connection's.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-printer-page"

#include "config.h"

#include <glib/gi18n.h>

#include "drover-printer-page.h"

struct _DroverPrinterPage
{
  AdwBin          parent_instance;

  DroverPrinter  *printer;
  DroverFarm     *farm;
  GSignalGroup   *printer_signals;
  guint           refresh_source;

  GtkLabel       *state_value;
  GtkLabel       *hotend_value;
  GtkLabel       *bed_value;
  GtkLabel       *job_value;
  GtkLabel       *progress_value;
  GtkLabel       *seen_value;
  GtkLabel       *connector_value;
  GtkLabel       *id_value;
  GtkLabel       *key_value;
  GtkLabel       *broker_value;
  AdwActionRow   *state_row;
  AdwActionRow   *broker_row;
  GtkLabel       *message_topic;
  GtkTextView    *message_view;
};

G_DEFINE_FINAL_TYPE (DroverPrinterPage, drover_printer_page, ADW_TYPE_BIN)

static void
update_values (DroverPrinterPage *self)
{
  DroverPrinter *printer = self->printer;
  g_autofree char *hotend = NULL;
  g_autofree char *bed = NULL;
  g_autofree char *progress = NULL;
  g_autofree char *left = NULL;
  g_autofree char *seen = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  if (printer == NULL)
    return;

  gtk_label_set_label (self->state_value, drover_printer_state_to_string (drover_printer_get_state (printer)));
  adw_action_row_set_subtitle (self->state_row, drover_printer_get_error_text (printer));
  hotend = drover_format_temperature (drover_printer_get_hotend_temperature (printer), drover_printer_get_hotend_target (printer));
  bed = drover_format_temperature (drover_printer_get_bed_temperature (printer), drover_printer_get_bed_target (printer));
  gtk_label_set_label (self->hotend_value, hotend);
  gtk_label_set_label (self->bed_value, bed);
  gtk_label_set_label (self->job_value, drover_printer_get_current_file (printer) != NULL
                                        ? drover_printer_get_current_file (printer) : _("None"));

  left = drover_format_time_left (drover_printer_get_time_left (printer));
  /* Translators: a job's progress and, if known, its time left */
  progress = g_strdup_printf (_("%.0f %%%s%s"), drover_printer_get_progress (printer) * 100.0,
                              left != NULL ? " · " : "", left != NULL ? left : "");
  gtk_label_set_label (self->progress_value, progress);

  seen = drover_format_since (drover_printer_get_last_seen (printer), now);
  gtk_label_set_label (self->seen_value, seen);
}

static void
update_message (DroverPrinterPage *self)
{
  g_autofree char *topic = NULL;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GDateTime) received = NULL;
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->message_view);
  DroverTelemetry *telemetry;

  if (self->printer == NULL || self->farm == NULL)
    return;

  telemetry = drover_farm_get_telemetry (self->farm);
  if (!drover_telemetry_dup_last_message (telemetry, drover_printer_get_id (self->printer), &topic, &payload, &received))
    {
      gtk_label_set_label (self->message_topic, _("Nothing received yet."));
      gtk_text_buffer_set_text (buffer, "", -1);
      return;
    }

  {
    g_autofree char *when = g_date_time_format (received, "%X");
    /* Translators: the topic a message came on and the time it came */
    g_autofree char *header = g_strdup_printf (_("%s at %s"), topic, when);
    gsize length;
    const char *data = g_bytes_get_data (payload, &length);
    /* Printers' bytes are not trusted to be text: show what is safe. */
    g_autofree char *text = g_utf8_make_valid (data, length);

    gtk_label_set_label (self->message_topic, header);
    gtk_text_buffer_set_text (buffer, text, -1);
  }
}

static void
update_connection (DroverPrinterPage *self)
{
  DroverPrinterEntry *entry = NULL;
  DroverMqttLink *link = NULL;

  if (self->printer == NULL)
    return;

  gtk_label_set_label (self->connector_value, drover_connector_kind_to_string (drover_printer_get_connector (self->printer)));
  gtk_label_set_label (self->id_value, drover_printer_get_id (self->printer));

  if (self->farm != NULL)
    {
      entry = drover_farm_find_entry (self->farm, drover_printer_get_id (self->printer));
      link = drover_farm_find_link (self->farm, drover_printer_get_id (self->printer));
    }

  gtk_label_set_label (self->key_value, entry != NULL && entry->key != NULL ? entry->key : "—");
  gtk_label_set_label (self->broker_value, link != NULL ? drover_mqtt_link_get_uri (link) : "—");

  if (link == NULL)
    adw_action_row_set_subtitle (self->broker_row, NULL);
  else if (drover_mqtt_link_get_state (link) == DROVER_LINK_STATE_CONNECTED)
    adw_action_row_set_subtitle (self->broker_row, _("Connected"));
  else
    adw_action_row_set_subtitle (self->broker_row, drover_mqtt_link_get_status_message (link) != NULL
                                                   ? drover_mqtt_link_get_status_message (link) : _("Connecting…"));
}

static gboolean
refresh_cb (gpointer data)
{
  DroverPrinterPage *self = data;

  update_values (self);
  update_connection (self);
  update_message (self);

  return G_SOURCE_CONTINUE;
}

static void
drover_printer_page_map (GtkWidget *widget)
{
  DroverPrinterPage *self = DROVER_PRINTER_PAGE (widget);

  GTK_WIDGET_CLASS (drover_printer_page_parent_class)->map (widget);

  /* "Last heard", the link and the raw message change without notifying:
   * look once a second while the page is on screen. */
  refresh_cb (self);
  if (self->refresh_source == 0)
    self->refresh_source = g_timeout_add_seconds (1, refresh_cb, self);
}

static void
drover_printer_page_unmap (GtkWidget *widget)
{
  DroverPrinterPage *self = DROVER_PRINTER_PAGE (widget);

  g_clear_handle_id (&self->refresh_source, g_source_remove);

  GTK_WIDGET_CLASS (drover_printer_page_parent_class)->unmap (widget);
}

static void
drover_printer_page_dispose (GObject *object)
{
  DroverPrinterPage *self = (DroverPrinterPage *)object;

  g_clear_handle_id (&self->refresh_source, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), DROVER_TYPE_PRINTER_PAGE);
  g_clear_object (&self->printer_signals);
  g_clear_object (&self->printer);
  g_clear_object (&self->farm);

  G_OBJECT_CLASS (drover_printer_page_parent_class)->dispose (object);
}

static void
drover_printer_page_class_init (DroverPrinterPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = drover_printer_page_dispose;
  widget_class->map = drover_printer_page_map;
  widget_class->unmap = drover_printer_page_unmap;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/drover/Drover/drover-printer-page.ui");
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, state_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, hotend_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, bed_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, job_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, progress_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, seen_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, connector_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, id_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, key_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, broker_value);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, state_row);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, broker_row);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, message_topic);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterPage, message_view);
}

static void
drover_printer_page_init (DroverPrinterPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->printer_signals = g_signal_group_new (DROVER_TYPE_PRINTER);
  g_signal_group_connect_swapped (self->printer_signals, "notify", G_CALLBACK (update_values), self);
}

GtkWidget *
drover_printer_page_new (void)
{
  return g_object_new (DROVER_TYPE_PRINTER_PAGE, NULL);
}

/**
 * drover_printer_page_set_printer:
 * @printer: (nullable): the printer to show
 * @farm: (nullable): the farm it belongs to, for its connection and messages
 */
void
drover_printer_page_set_printer (DroverPrinterPage *self,
                                 DroverPrinter     *printer,
                                 DroverFarm        *farm)
{
  g_return_if_fail (DROVER_IS_PRINTER_PAGE (self));

  g_set_object (&self->printer, printer);
  g_set_object (&self->farm, farm);
  g_signal_group_set_target (self->printer_signals, printer);
  refresh_cb (self);
}

DroverPrinter *
drover_printer_page_get_printer (DroverPrinterPage *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER_PAGE (self), NULL);

  return self->printer;
}
