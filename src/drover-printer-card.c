/* drover-printer-card.c: one printer in the fleet overview
 *
 * A card shows what an operator glances at: name, state (icon, word and
 * colour, so colour is never the only cue), temperatures, and the job with
 * its progress and time left. It follows its printer's notifications; the
 * grid view recycles cards, so a farm of 10,000 costs only the cards on screen.
 * Values that change all day are GtkInscriptions: their size does not
 * follow their text, so a new temperature redraws the card instead of
 * asking the whole grid to measure itself again.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-printer-card"

#include "config.h"

#include <glib/gi18n.h>

#include "drover-printer-card.h"

struct _DroverPrinterCard
{
  AdwBin          parent_instance;

  DroverPrinter  *printer;
  GSignalGroup   *printer_signals;
  guint           tick_id;          /* an update waits for the next frame */
  char           *accessible_text;  /* what screen readers were last told */

  /* Template widgets */
  GtkLabel       *name_label;
  GtkLabel       *connector_label;
  GtkImage       *security_icon;
  GtkImage       *state_icon;
  GtkLabel       *state_label;
  GtkInscription *seen_label;
  GtkLabel       *error_label;
  GtkInscription *hotend_label;
  GtkInscription *bed_label;
  GtkWidget      *job_box;
  GtkInscription *file_label;
  GtkProgressBar *progress_bar;
  GtkInscription *progress_label;
};

G_DEFINE_FINAL_TYPE (DroverPrinterCard, drover_printer_card, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_PRINTER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char * const state_classes[] = {
  [DROVER_PRINTER_STATE_OFFLINE] = "dim-label",
  [DROVER_PRINTER_STATE_IDLE] = "success",
  [DROVER_PRINTER_STATE_PRINTING] = "accent",
  [DROVER_PRINTER_STATE_PAUSED] = "warning",
  [DROVER_PRINTER_STATE_ERROR] = "error",
};

static void
update_card (DroverPrinterCard *self)
{
  DroverPrinter *printer = self->printer;
  DroverPrinterState state;
  g_autofree char *hotend = NULL;
  g_autofree char *bed = NULL;
  g_autofree char *time_left = NULL;
  g_autofree char *progress = NULL;
  g_autofree char *seen = NULL;
  g_autofree char *accessible = NULL;
  g_autoptr(GDateTime) now = NULL;
  const char *file;
  g_autofree char *shown_file = NULL;
  gboolean has_job;

  if (printer == NULL)
    return;

  state = drover_printer_get_state (printer);
  file = drover_printer_get_current_file (printer);
  has_job = file != NULL && state != DROVER_PRINTER_STATE_OFFLINE;

  gtk_label_set_label (self->name_label, drover_printer_get_display_name (printer));
  if (g_strcmp0 (gtk_widget_get_tooltip_text (GTK_WIDGET (self->name_label)), drover_printer_get_id (printer)) != 0)
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->name_label), drover_printer_get_id (printer));
  gtk_label_set_label (self->connector_label, drover_connector_kind_to_string (drover_printer_get_connector (printer)));
  gtk_widget_set_visible (GTK_WIDGET (self->security_icon), drover_printer_get_security_note (printer) != NULL);
  if (g_strcmp0 (gtk_widget_get_tooltip_text (GTK_WIDGET (self->security_icon)), drover_printer_get_security_note (printer)) != 0)
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->security_icon), drover_printer_get_security_note (printer));

  gtk_image_set_from_icon_name (self->state_icon, drover_printer_state_get_icon_name (state));
  gtk_label_set_label (self->state_label, drover_printer_state_to_string (state));
  if (g_strcmp0 (gtk_widget_get_tooltip_text (GTK_WIDGET (self->state_label)), drover_printer_get_error_text (printer)) != 0)
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->state_label), drover_printer_get_error_text (printer));
  gtk_label_set_label (self->error_label, drover_printer_get_error_text (printer));
  gtk_widget_set_visible (GTK_WIDGET (self->error_label),
                          state == DROVER_PRINTER_STATE_ERROR && drover_printer_get_error_text (printer) != NULL);
  for (guint i = 0; i < G_N_ELEMENTS (state_classes); i++)
    {
      if (i == state)
        {
          gtk_widget_add_css_class (GTK_WIDGET (self->state_icon), state_classes[i]);
          gtk_widget_add_css_class (GTK_WIDGET (self->state_label), state_classes[i]);
        }
      else
        {
          gtk_widget_remove_css_class (GTK_WIDGET (self->state_icon), state_classes[i]);
          gtk_widget_remove_css_class (GTK_WIDGET (self->state_label), state_classes[i]);
        }
    }

  /* Offline, the last temperatures are stale: show when it was last seen instead. */
  now = g_date_time_new_now_utc ();
  if (state == DROVER_PRINTER_STATE_OFFLINE)
    {
      g_autofree char *since = drover_format_since (drover_printer_get_last_seen (printer), now);

      /* Translators: when an offline printer was last heard from, such as "seen 2 h ago" */
      seen = g_strdup_printf (_("seen %s"), since);
      hotend = g_strdup ("—");
      bed = g_strdup ("—");
    }
  else
    {
      hotend = drover_format_temperature (drover_printer_get_hotend_temperature (printer),
                                          drover_printer_get_hotend_target (printer));
      bed = drover_format_temperature (drover_printer_get_bed_temperature (printer),
                                       drover_printer_get_bed_target (printer));
    }
  gtk_inscription_set_text (self->seen_label, seen);
  gtk_widget_set_visible (GTK_WIDGET (self->seen_label), seen != NULL);
  gtk_inscription_set_text (self->hotend_label, hotend);
  gtk_inscription_set_text (self->bed_label, bed);

  gtk_widget_set_visible (self->job_box, has_job);
  if (has_job)
    {
      double fraction = drover_printer_get_progress (printer);

      /* The printer names its file: whoever put it there chose the name. */
      shown_file = drover_format_untrusted (file, 200);
      gtk_inscription_set_text (self->file_label, shown_file);
      if (g_strcmp0 (gtk_widget_get_tooltip_text (GTK_WIDGET (self->file_label)), shown_file) != 0)
        gtk_widget_set_tooltip_text (GTK_WIDGET (self->file_label), shown_file);
      gtk_progress_bar_set_fraction (self->progress_bar, fraction);

      time_left = drover_format_time_left (drover_printer_get_time_left (printer));
      if (time_left != NULL)
        /* Translators: job progress, such as "42 % · 1 h 12 min left" */
        progress = g_strdup_printf (_("%.0f %% · %s"), fraction * 100.0, time_left);
      else
        /* Translators: job progress when the time left is unknown */
        progress = g_strdup_printf (_("%.0f %%"), fraction * 100.0);
      gtk_inscription_set_text (self->progress_label, progress);
    }

  /* Screen readers get the card in one sentence, told only when it changes. */
  accessible = g_strdup_printf ("%s, %s%s%s%s%s%s",
                                drover_printer_get_display_name (printer),
                                drover_printer_state_to_string (state),
                                state == DROVER_PRINTER_STATE_ERROR && drover_printer_get_error_text (printer) != NULL ? ": " : "",
                                state == DROVER_PRINTER_STATE_ERROR && drover_printer_get_error_text (printer) != NULL
                                  ? drover_printer_get_error_text (printer) : "",
                                progress != NULL ? ", " : "",
                                progress != NULL ? progress : "",
                                /* Translators: the end of a printer card's description for screen readers */
                                drover_printer_get_security_note (printer) != NULL ? _(", security check turned off") : "");
  if (g_strcmp0 (accessible, self->accessible_text) != 0)
    {
      gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, accessible,
                                      -1);
      g_free (self->accessible_text);
      self->accessible_text = g_steal_pointer (&accessible);
    }
}

static gboolean
update_tick_cb (GtkWidget     *widget,
                GdkFrameClock *clock,
                gpointer       user_data)
{
  DroverPrinterCard *self = DROVER_PRINTER_CARD (widget);

  self->tick_id = 0;
  update_card (self);

  return G_SOURCE_REMOVE;
}

/* A telemetry flush changes several properties of a printer at once:
 * update the card once, in the next frame, not once per property. */
static void
printer_notify_cb (DroverPrinterCard *self)
{
  if (self->tick_id == 0)
    self->tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self), update_tick_cb, NULL, NULL);
}

static void
drover_printer_card_dispose (GObject *object)
{
  DroverPrinterCard *self = (DroverPrinterCard *)object;

  if (self->tick_id != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
      self->tick_id = 0;
    }
  gtk_widget_dispose_template (GTK_WIDGET (self), DROVER_TYPE_PRINTER_CARD);

  g_clear_pointer (&self->accessible_text, g_free);
  g_clear_object (&self->printer_signals);
  g_clear_object (&self->printer);

  G_OBJECT_CLASS (drover_printer_card_parent_class)->dispose (object);
}

static void
drover_printer_card_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  DroverPrinterCard *self = DROVER_PRINTER_CARD (object);

  switch (prop_id)
    {
    case PROP_PRINTER:
      g_value_set_object (value, self->printer);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_printer_card_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  DroverPrinterCard *self = DROVER_PRINTER_CARD (object);

  switch (prop_id)
    {
    case PROP_PRINTER:
      drover_printer_card_set_printer (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_printer_card_class_init (DroverPrinterCardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = drover_printer_card_dispose;
  object_class->get_property = drover_printer_card_get_property;
  object_class->set_property = drover_printer_card_set_property;

  properties[PROP_PRINTER] =
    g_param_spec_object ("printer", NULL, NULL,
                         DROVER_TYPE_PRINTER,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/drover/Drover/drover-printer-card.ui");
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterCard, name_label);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterCard, connector_label);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterCard, security_icon);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterCard, state_icon);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterCard, state_label);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterCard, seen_label);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterCard, error_label);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterCard, hotend_label);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterCard, bed_label);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterCard, job_box);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterCard, file_label);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterCard, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, DroverPrinterCard, progress_label);

  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_GROUP);
  gtk_widget_class_set_css_name (widget_class, "printercard");
}

static void
drover_printer_card_init (DroverPrinterCard *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->printer_signals = g_signal_group_new (DROVER_TYPE_PRINTER);
  g_signal_group_connect_swapped (self->printer_signals, "notify", G_CALLBACK (printer_notify_cb), self);
}

GtkWidget *
drover_printer_card_new (void)
{
  return g_object_new (DROVER_TYPE_PRINTER_CARD, NULL);
}

/**
 * drover_printer_card_get_printer:
 * @self: a #DroverPrinterCard
 *
 * Returns: (transfer none) (nullable): the printer shown
 */
DroverPrinter *
drover_printer_card_get_printer (DroverPrinterCard *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER_CARD (self), NULL);

  return self->printer;
}

void
drover_printer_card_set_printer (DroverPrinterCard *self,
                                 DroverPrinter     *printer)
{
  g_return_if_fail (DROVER_IS_PRINTER_CARD (self));
  g_return_if_fail (printer == NULL || DROVER_IS_PRINTER (printer));

  if (!g_set_object (&self->printer, printer))
    return;

  g_signal_group_set_target (self->printer_signals, printer);
  /* A recycled card shows its new printer at once, not a frame late. */
  update_card (self);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PRINTER]);
}
