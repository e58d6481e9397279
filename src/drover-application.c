/* drover-application.c: the Drover application
 *
 * Owns the fleet, so that every window shows the same printers, and the
 * application-wide actions: about, preferences, quit.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-application"

#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "drover-application.h"
#include "drover-preferences-window.h"
#include "drover-window.h"

struct _DroverApplication
{
  AdwApplication  parent_instance;

  DroverFleet    *fleet;
  DroverDemoFarm *demo;       /* the private broker and drover-sim */
  DroverFarm     *farm;       /* the links and telemetry on them */
  DroverAudit    *audit;      /* the farm's files, jobs and orders, against the ledger */
  char           *ledger_error; /* why the audit's ledger could not be opened */
  gboolean        farm_is_demo;
  gboolean        open_demo;
};

G_DEFINE_FINAL_TYPE (DroverApplication, drover_application, ADW_TYPE_APPLICATION)

static const GOptionEntry option_entries[] = {
  { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Print the version and the libraries in use, then exit"), NULL },
  { "demo", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Open the demo farm"), NULL },
  { NULL }
};

static int
drover_application_handle_local_options (GApplication *application,
                                         GVariantDict *options)
{
  DroverApplication *self = DROVER_APPLICATION (application);

  if (g_variant_dict_contains (options, "version"))
    {
      g_autofree char *versions = drover_core_dup_library_versions ();

      g_print ("drover %s\n%s", PACKAGE_VERSION, versions);
      return 0;
    }

  self->open_demo = g_variant_dict_contains (options, "demo");

  return G_APPLICATION_CLASS (drover_application_parent_class)->handle_local_options (application, options);
}

static void
drover_application_activate (GApplication *application)
{
  DroverApplication *self = DROVER_APPLICATION (application);
  GtkWindow *window;

  window = gtk_application_get_active_window (GTK_APPLICATION (application));
  if (window == NULL)
    window = GTK_WINDOW (drover_window_new (self));

  if (self->open_demo)
    {
      self->open_demo = FALSE;
      gtk_widget_activate_action (GTK_WIDGET (window), "win.open-demo", NULL);
    }

  gtk_window_present (window);
}

static void
drover_application_shutdown (GApplication *application)
{
  /* Quitting stops the demo's broker and simulator with it. */
  drover_application_stop_demo (DROVER_APPLICATION (application));

  G_APPLICATION_CLASS (drover_application_parent_class)->shutdown (application);
}

static void
drover_application_dispose (GObject *object)
{
  DroverApplication *self = (DroverApplication *)object;

  drover_application_stop_demo (self);
  g_clear_object (&self->fleet);

  G_OBJECT_CLASS (drover_application_parent_class)->dispose (object);
}

static void
drover_application_class_init (DroverApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = drover_application_dispose;

  app_class->activate = drover_application_activate;
  app_class->shutdown = drover_application_shutdown;
  app_class->handle_local_options = drover_application_handle_local_options;
}

static void
about_action_cb (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  DroverApplication *self = user_data;
  static const char *developers[] = { "The Drover developers", NULL };
  g_autofree char *debug_info = NULL;
  GtkWindow *about;

  debug_info = drover_core_dup_library_versions ();

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", gtk_application_get_active_window (GTK_APPLICATION (self)),
                        "modal", TRUE,
                        "application-name", _("Drover"),
                        "application-icon", APPLICATION_ID,
                        "developer-name", _("The Drover developers"),
                        "version", PACKAGE_VERSION,
                        "comments", _("Drover watches every printer of a print farm, shows what is stored on each "
                                      "and what it was told to do, raises an alarm for anything the operator never "
                                      "sent, and sends print jobs signed by the operator."),
                        "website", "https://github.com/drover/drover",
                        "issue-url", "https://github.com/drover/drover/issues",
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "copyright", "© 2026 The Drover developers",
                        "developers", developers,
                        /* Translators: put your names here, one per line */
                        "translator-credits", _("translator-credits"),
                        "debug-info", debug_info,
                        NULL);

  gtk_window_present (about);
}

static void
quit_action_cb (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  GApplication *app = user_data;
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (app));

  /* Close the windows rather than quit outright, so each saves its state. */
  while (windows != NULL)
    {
      GList *next = windows->next;

      gtk_window_close (windows->data);
      windows = next;
    }
}

/* The operator changed the farm: show the farm as it now is, in every
 * window, instead of the old one (or the demo). */
static void
farm_saved_cb (DroverApplication *self)
{
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (self));

  drover_application_stop_demo (self);
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_widget_activate_action (GTK_WIDGET (l->data), "win.reload-farm", NULL);
}

static void
preferences_action_cb (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  DroverApplication *self = user_data;
  g_autofree char *path = drover_application_dup_farm_path ();
  GtkWidget *preferences;

  preferences = drover_preferences_window_new (gtk_application_get_active_window (GTK_APPLICATION (self)), path);
  g_signal_connect_object (preferences, "farm-saved", G_CALLBACK (farm_saved_cb), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (preferences));
}

/* A notification's button: the window, on its alerts. */
static void
show_alerts_action_cb (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  DroverApplication *self = user_data;
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (drover_window_new (self));
  gtk_window_present (window);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-alerts", NULL);
}

static const GActionEntry app_actions[] = {
  { "about", about_action_cb },
  { "show-alerts", show_alerts_action_cb },
  { "preferences", preferences_action_cb },
  { "quit", quit_action_cb },
};

static void
drover_application_init (DroverApplication *self)
{
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *close_accels[] = { "<Control>w", NULL };
  static const char *preferences_accels[] = { "<Control>comma", NULL };

  self->fleet = drover_fleet_new ();

  g_application_add_main_option_entries (G_APPLICATION (self), option_entries);
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            _("Watch a print farm, catch what its operator never sent, "
                                              "and send signed print jobs."));

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "window.close", close_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences", preferences_accels);
}

/**
 * drover_application_new:
 *
 * Returns: (transfer full): the application
 */
DroverApplication *
drover_application_new (void)
{
  return g_object_new (DROVER_TYPE_APPLICATION,
                       "application-id", APPLICATION_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", "/io/github/drover/Drover",
                       NULL);
}

/**
 * drover_application_get_fleet:
 * @self: a #DroverApplication
 *
 * Returns: (transfer none): the printers every window shows
 */
DroverFleet *
drover_application_get_fleet (DroverApplication *self)
{
  g_return_val_if_fail (DROVER_IS_APPLICATION (self), NULL);

  return self->fleet;
}

/* Notifications: one per alert, replaced as an incident grows, never one
 * per printer. Notices stay in the Alerts view. */
static void
notify_alert (DroverApplication *self,
              DroverAlert       *alert)
{
  g_autoptr(GNotification) notification = NULL;
  g_autofree char *body = NULL;
  const char * const *evidence = drover_alert_get_evidence (alert);
  GString *text;

  if (drover_alert_get_severity (alert) < DROVER_ALERT_WARNING || drover_alert_get_acknowledged (alert) ||
      !g_application_get_is_registered (G_APPLICATION (self)) || g_application_get_is_remote (G_APPLICATION (self)))
    return;

  text = g_string_new (NULL);
  for (guint i = 0; evidence[i] != NULL && i < 3; i++)
    g_string_append_printf (text, "%s%s", i > 0 ? "\n" : "", evidence[i]);
  body = g_string_free (text, FALSE);

  notification = g_notification_new (drover_alert_get_title (alert));
  g_notification_set_body (notification, body);
  g_notification_set_priority (notification, drover_alert_get_severity (alert) == DROVER_ALERT_CRITICAL ?
                                             G_NOTIFICATION_PRIORITY_URGENT : G_NOTIFICATION_PRIORITY_HIGH);
  g_notification_set_default_action_and_target (notification, "app.show-alerts", NULL);
  g_application_send_notification (G_APPLICATION (self), drover_alert_get_id (alert), notification);
}

static void
alert_cb (DroverAudit       *audit,
          DroverAlert       *alert,
          DroverApplication *self)
{
  if (drover_alert_get_acknowledged (alert))
    g_application_withdraw_notification (G_APPLICATION (self), drover_alert_get_id (alert));
  else
    notify_alert (self, alert);
}

typedef struct
{
  char        *path;
  gboolean     fresh;
  DroverAudit *audit;
} LedgerOpen;

static void
ledger_open_free (LedgerOpen *open)
{
  g_free (open->path);
  g_clear_object (&open->audit);
  g_free (open);
}

/* In a worker: the demo's ledger starts empty each time. */
static void
open_ledger_thread (GTask        *task,
                    gpointer      source,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  LedgerOpen *open = task_data;
  GError *error = NULL;
  DroverLedger *ledger;

  if (open->fresh)
    {
      static const char * const suffixes[] = { "", "-wal", "-shm", "-journal" };

      for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
        {
          g_autofree char *path = g_strconcat (open->path, suffixes[i], NULL);

          g_unlink (path);
        }
    }

  ledger = drover_ledger_open (open->path, &error);
  if (ledger == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, ledger, g_object_unref);
}

static void
ledger_opened_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  DroverApplication *self = DROVER_APPLICATION (source);
  LedgerOpen *open = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverLedger) ledger = g_task_propagate_pointer (G_TASK (result), &error);

  /* Without a ledger the audit still watches; nothing is recorded, and
   * the window says so. */
  if (ledger == NULL)
    {
      g_message ("The ledger could not be opened: %s", error->message);
      if (open->audit == self->audit)
        {
          g_free (self->ledger_error);
          self->ledger_error = g_strdup (error->message);
        }
    }
  drover_audit_set_ledger (open->audit, ledger);
}

/* Every farm gets an audit and a ledger: the demo's own, apart from the
 * operator's, so a demo never writes into a real farm's history. */
static void
attach_audit (DroverApplication *self,
              gboolean           demo)
{
  g_autoptr(GTask) task = NULL;
  LedgerOpen *open = g_new0 (LedgerOpen, 1);
  const char *override = g_getenv ("DROVER_LEDGER");

  if (override != NULL && *override != '\0')
    open->path = g_strdup (override);
  else if (demo)
    open->path = g_build_filename (g_get_user_cache_dir (), "drover", "demo-ledger.sqlite", NULL);
  else
    open->path = drover_ledger_dup_default_path ();
  open->fresh = demo && override == NULL;

  self->audit = drover_audit_new (self->fleet);
  g_signal_connect_object (self->audit, "alert-raised", G_CALLBACK (alert_cb), self, 0);
  g_signal_connect_object (self->audit, "alert-changed", G_CALLBACK (alert_cb), self, 0);
  drover_farm_set_audit (self->farm, self->audit);

  g_clear_pointer (&self->ledger_error, g_free);
  open->audit = g_object_ref (self->audit);
  task = g_task_new (self, NULL, ledger_opened_cb, NULL);
  g_task_set_task_data (task, open, (GDestroyNotify)ledger_open_free);
  g_task_run_in_thread (task, open_ledger_thread);
}

static void
demo_started_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  DroverApplication *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  DroverInventory *inventory;

  inventory = drover_demo_farm_start_finish (DROVER_DEMO_FARM (source), result, &error);
  if (inventory == NULL || DROVER_DEMO_FARM (source) != self->demo)
    {
      if (error == NULL)
        g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The demo farm was closed while it started."));
      drover_application_stop_demo (self);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  self->farm = drover_farm_new (self->fleet, inventory);
  self->farm_is_demo = TRUE;
  attach_audit (self, TRUE);
  if (!drover_farm_start (self->farm, &error))
    {
      drover_application_stop_demo (self);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_task_return_boolean (task, TRUE);
}

/**
 * drover_application_dup_farm_path:
 *
 * Returns: (transfer full): where the operator's farm is described:
 *   `$XDG_CONFIG_HOME/drover/farm.conf`
 */
char *
drover_application_dup_farm_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "drover", "farm.conf", NULL);
}

static void
farm_loaded_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  DroverApplication *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *path = g_file_get_path (G_FILE (source));
  DroverInventory *inventory;
  gsize length;

  if (!g_file_load_contents_finish (G_FILE (source), result, &contents, &length, NULL, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  inventory = drover_inventory_load_from_data (contents, length, &error);
  if (inventory == NULL)
    {
      g_task_return_new_error (task, error->domain, error->code,
                               _("Drover could not read the farm in %s: %s"), path, error->message);
      return;
    }

  if (self->farm != NULL)
    {
      drover_inventory_free (inventory);
      g_task_return_boolean (task, TRUE);
      return;
    }

  self->farm = drover_farm_new (self->fleet, inventory);
  self->farm_is_demo = FALSE;
  attach_audit (self, FALSE);
  if (!drover_farm_start (self->farm, &error))
    {
      drover_farm_stop (self->farm);
      g_clear_object (&self->farm);
      g_clear_object (&self->audit);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_task_return_boolean (task, TRUE);
}

/**
 * drover_application_open_farm_async:
 *
 * Opens the operator's farm from drover_application_dup_farm_path(); fails
 * with %G_IO_ERROR_NOT_FOUND when there is none.
 */
void
drover_application_open_farm_async (DroverApplication   *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *path = drover_application_dup_farm_path ();
  g_autoptr(GFile) file = g_file_new_for_path (path);

  g_task_set_source_tag (task, drover_application_open_farm_async);
  g_file_load_contents_async (file, cancellable, farm_loaded_cb, g_steal_pointer (&task));
}

gboolean
drover_application_open_farm_finish (DroverApplication  *self,
                                     GAsyncResult       *result,
                                     GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
drover_application_get_farm_is_demo (DroverApplication *self)
{
  g_return_val_if_fail (DROVER_IS_APPLICATION (self), FALSE);

  return self->farm != NULL && self->farm_is_demo;
}

/**
 * drover_application_start_demo_async:
 *
 * Starts the demo farm: a private mosquitto on a free loopback port,
 * drover-sim's printers on it, and Drover connected to both.
 */
void
drover_application_start_demo_async (DroverApplication   *self,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (DROVER_IS_APPLICATION (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, drover_application_start_demo_async);

  if (self->farm != NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  if (self->demo == NULL)
    self->demo = drover_demo_farm_new (12);

  drover_demo_farm_start_async (self->demo, cancellable, demo_started_cb, g_steal_pointer (&task));
}

gboolean
drover_application_start_demo_finish (DroverApplication  *self,
                                      GAsyncResult       *result,
                                      GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * drover_application_stop_demo:
 *
 * Disconnects, empties the fleet of the demo's printers, and stops the
 * demo's simulator and broker.
 */
void
drover_application_stop_demo (DroverApplication *self)
{
  g_return_if_fail (DROVER_IS_APPLICATION (self));

  if (self->farm != NULL)
    {
      drover_farm_stop (self->farm);
      drover_farm_set_audit (self->farm, NULL);
      g_clear_object (&self->farm);
    }
  g_clear_object (&self->audit);
  g_clear_pointer (&self->ledger_error, g_free);

  if (self->demo != NULL)
    {
      drover_demo_farm_stop (self->demo);
      g_clear_object (&self->demo);
    }
}

/**
 * drover_application_get_demo_running:
 *
 * Returns: whether a farm runs, the demo or the operator's
 */
gboolean
drover_application_get_demo_running (DroverApplication *self)
{
  g_return_val_if_fail (DROVER_IS_APPLICATION (self), FALSE);

  return self->farm != NULL;
}

/**
 * drover_application_get_demo:
 *
 * Returns: (transfer none) (nullable): the demo farm's processes, while it runs
 */
DroverDemoFarm *
drover_application_get_demo (DroverApplication *self)
{
  g_return_val_if_fail (DROVER_IS_APPLICATION (self), NULL);

  return self->demo;
}

/**
 * drover_application_get_ledger_error:
 *
 * Returns: (nullable): why the running farm's ledger could not be opened,
 *   or %NULL
 */
const char *
drover_application_get_ledger_error (DroverApplication *self)
{
  g_return_val_if_fail (DROVER_IS_APPLICATION (self), NULL);

  return self->ledger_error;
}

/**
 * drover_application_get_audit:
 *
 * Returns: (transfer none) (nullable): the running farm's audit: alerts,
 *   files, and the ledger behind them
 */
DroverAudit *
drover_application_get_audit (DroverApplication *self)
{
  g_return_val_if_fail (DROVER_IS_APPLICATION (self), NULL);

  return self->audit;
}

/**
 * drover_application_get_farm:
 *
 * Returns: (transfer none) (nullable): the running farm's links and telemetry
 */
DroverFarm *
drover_application_get_farm (DroverApplication *self)
{
  g_return_val_if_fail (DROVER_IS_APPLICATION (self), NULL);

  return self->farm;
}
