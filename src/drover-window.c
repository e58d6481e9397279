/* drover-window.c: the main window
 *
 * Two pages: a welcome page while no farm is configured, and the fleet.
 * The window only binds to the model; everything it shows comes from the
 * DroverFleet it was given.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-window"

#include "config.h"

#include <glib/gi18n.h>

#include "drover-printer-card.h"
#include "drover-window.h"

struct _DroverWindow
{
  AdwApplicationWindow  parent_instance;

  DroverFleet          *fleet;
  GSettings            *settings;
  GtkNoSelection       *selection;

  /* Template widgets */
  AdwWindowTitle       *window_title;
  AdwToastOverlay      *toast_overlay;
  GtkStack             *main_stack;
  GtkGridView          *fleet_grid;
  GtkWidget            *demo_bar;
  GtkSpinner           *starting_spinner;
  AdwStatusPage        *failed_page;

  GCancellable         *starting;
  gboolean              showing_demo;
};

G_DEFINE_FINAL_TYPE (DroverWindow, drover_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_FLEET,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
update_title (DroverWindow *self)
{
  g_autofree char *subtitle = NULL;
  guint n_printers;

  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "fleet") != 0)
    {
      adw_window_title_set_subtitle (self->window_title, NULL);
      return;
    }

  n_printers = drover_fleet_get_n_printers (self->fleet);

  if (self->showing_demo)
    /* Translators: the window's subtitle over the demo farm; %u is how many printers */
    subtitle = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Demo farm · %u printer", "Demo farm · %u printers", n_printers),
                                n_printers);
  else
    /* Translators: the window's subtitle over the operator's farm; %u is how many printers */
    subtitle = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u printer", "%u printers", n_printers), n_printers);
  adw_window_title_set_subtitle (self->window_title, subtitle);
}

static void
show_page (DroverWindow *self,
           const char   *name)
{
  gboolean fleet = g_str_equal (name, "fleet");
  gboolean starting = g_str_equal (name, "starting");

  gtk_stack_set_visible_child_name (self->main_stack, name);
  gtk_spinner_set_spinning (self->starting_spinner, starting);
  gtk_widget_set_visible (self->demo_bar, self->showing_demo);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.close-demo",
                                 self->showing_demo && (fleet || starting || g_str_equal (name, "failed")));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.open-demo", !fleet && !starting);
  update_title (self);
}

static DroverApplication *
get_application (DroverWindow *self)
{
  return DROVER_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
}

static void
demo_started_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(DroverWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!drover_application_start_demo_finish (DROVER_APPLICATION (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      g_clear_object (&self->starting);
      adw_status_page_set_title (self->failed_page, _("The Demo Farm Did Not Start"));
      adw_status_page_set_description (self->failed_page, error->message);
      show_page (self, "failed");
      return;
    }

  g_clear_object (&self->starting);
  show_page (self, "fleet");
  gtk_widget_grab_focus (GTK_WIDGET (self->fleet_grid));
}

static void
open_demo_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  DroverWindow *self = DROVER_WINDOW (widget);
  DroverApplication *app = get_application (self);

  g_settings_set_boolean (self->settings, "demo-farm", TRUE);

  if (app == NULL)
    return;

  if (drover_application_get_demo_running (app))
    {
      self->showing_demo = drover_application_get_farm_is_demo (app);
      show_page (self, "fleet");
      return;
    }

  g_cancellable_cancel (self->starting);
  g_clear_object (&self->starting);
  self->starting = g_cancellable_new ();
  self->showing_demo = TRUE;
  show_page (self, "starting");
  drover_application_start_demo_async (app, self->starting, demo_started_cb, g_object_ref (self));
}

static void
farm_opened_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(DroverWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (drover_application_open_farm_finish (DROVER_APPLICATION (source), result, &error))
    {
      self->showing_demo = FALSE;
      show_page (self, "fleet");
      return;
    }

  /* No farm described yet: the welcome, or the demo if it was open. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      if (g_settings_get_boolean (self->settings, "demo-farm") &&
          g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "welcome") == 0)
        gtk_widget_activate_action (GTK_WIDGET (self), "win.open-demo", NULL);
      return;
    }

  self->showing_demo = FALSE;
  adw_status_page_set_title (self->failed_page, _("The Farm Could Not Be Opened"));
  adw_status_page_set_description (self->failed_page, error->message);
  show_page (self, "failed");
}

static void
close_demo_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  DroverWindow *self = DROVER_WINDOW (widget);
  DroverApplication *app = get_application (self);

  g_cancellable_cancel (self->starting);
  g_clear_object (&self->starting);
  if (app != NULL)
    drover_application_stop_demo (app);
  g_settings_set_boolean (self->settings, "demo-farm", FALSE);
  show_page (self, "welcome");
}

static void
n_printers_changed_cb (DroverWindow *self)
{
  update_title (self);
}

static gboolean
drover_window_close_request (GtkWindow *window)
{
  DroverWindow *self = DROVER_WINDOW (window);
  int width;
  int height;

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));

  return GTK_WINDOW_CLASS (drover_window_parent_class)->close_request (window);
}

static void
drover_window_constructed (GObject *object)
{
  DroverWindow *self = (DroverWindow *)object;

  G_OBJECT_CLASS (drover_window_parent_class)->constructed (object);

  if (self->fleet == NULL)
    self->fleet = drover_fleet_new ();

  self->selection = gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->fleet)));
  gtk_grid_view_set_model (self->fleet_grid, GTK_SELECTION_MODEL (self->selection));
  g_signal_connect_object (self->fleet, "notify::n-printers",
                           G_CALLBACK (n_printers_changed_cb), self, G_CONNECT_SWAPPED);

  show_page (self, "welcome");
}

static void
drover_window_dispose (GObject *object)
{
  DroverWindow *self = (DroverWindow *)object;

  gtk_widget_dispose_template (GTK_WIDGET (self), DROVER_TYPE_WINDOW);

  g_cancellable_cancel (self->starting);
  g_clear_object (&self->starting);
  g_clear_object (&self->selection);
  g_clear_object (&self->fleet);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (drover_window_parent_class)->dispose (object);
}

static void
drover_window_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  DroverWindow *self = DROVER_WINDOW (object);

  switch (prop_id)
    {
    case PROP_FLEET:
      g_value_set_object (value, self->fleet);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_window_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  DroverWindow *self = DROVER_WINDOW (object);

  switch (prop_id)
    {
    case PROP_FLEET:
      self->fleet = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_window_class_init (DroverWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = drover_window_constructed;
  object_class->dispose = drover_window_dispose;
  object_class->get_property = drover_window_get_property;
  object_class->set_property = drover_window_set_property;

  window_class->close_request = drover_window_close_request;

  /**
   * DroverWindow:fleet:
   *
   * The printers the window shows.
   */
  properties[PROP_FLEET] =
    g_param_spec_object ("fleet", NULL, NULL,
                         DROVER_TYPE_FLEET,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* The list item factory builds cards by type name. */
  g_type_ensure (DROVER_TYPE_PRINTER_CARD);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/drover/Drover/drover-window.ui");
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, fleet_grid);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, demo_bar);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, starting_spinner);
  gtk_widget_class_bind_template_child (widget_class, DroverWindow, failed_page);

  gtk_widget_class_install_action (widget_class, "win.open-demo", NULL, open_demo_action);
  gtk_widget_class_install_action (widget_class, "win.close-demo", NULL, close_demo_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_d, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.open-demo", NULL);
}

static void
drover_window_init (DroverWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new (APPLICATION_ID);

  g_settings_bind (self->settings, "window-width", self, "default-width", G_SETTINGS_BIND_GET_NO_CHANGES | G_SETTINGS_BIND_GET);
  g_settings_bind (self->settings, "window-height", self, "default-height", G_SETTINGS_BIND_GET_NO_CHANGES | G_SETTINGS_BIND_GET);
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
}

/**
 * drover_window_new:
 * @application: the application, whose fleet the window shows
 *
 * Returns: (transfer full): a new main window
 */
DroverWindow *
drover_window_new (DroverApplication *application)
{
  DroverWindow *self;

  g_return_val_if_fail (DROVER_IS_APPLICATION (application), NULL);

  self = g_object_new (DROVER_TYPE_WINDOW,
                       "application", application,
                       "fleet", drover_application_get_fleet (application),
                       NULL);

  /* Only now is the application set. The operator's farm first; with
   * none, the demo if it was open last time. */
  if (drover_application_get_demo_running (application))
    {
      self->showing_demo = drover_application_get_farm_is_demo (application);
      show_page (self, "fleet");
    }
  else
    drover_application_open_farm_async (application, NULL, farm_opened_cb, g_object_ref (self));

  return self;
}

DroverFleet *
drover_window_get_fleet (DroverWindow *self)
{
  g_return_val_if_fail (DROVER_IS_WINDOW (self), NULL);

  return self->fleet;
}

/**
 * drover_window_get_visible_page_name:
 * @self: a #DroverWindow
 *
 * Returns: (transfer none): "welcome" or "fleet"
 */
const char *
drover_window_get_visible_page_name (DroverWindow *self)
{
  g_return_val_if_fail (DROVER_IS_WINDOW (self), NULL);

  return gtk_stack_get_visible_child_name (self->main_stack);
}
