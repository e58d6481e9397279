/* drover-demo-farm.c: a private broker and drover-sim, for the demo
 *
 * The demo farm is a real one, only small and local: a mosquitto of its
 * own on a free loopback port, drover-sim's printers on it, and the
 * inventory drover-sim writes. Nothing here blocks the main thread: the
 * processes are started from it (so that they die with it, see below) and
 * everything else is asynchronous.
 *
 * Both processes are asked to die with Drover (PR_SET_PDEATHSIG), so a
 * crash leaves nothing running; on a normal stop drover-sim gets SIGTERM
 * first and says goodbye for its printers, then the broker goes.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-demo-farm"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>

#include "drover-demo-farm.h"

#define PORT_ATTEMPTS  250      /* every 20 ms: 5 s */
#define READY_TIMEOUT  30       /* seconds; Bambu printers make certificates first */

struct _DroverDemoFarm
{
  GObject      parent_instance;

  guint        n_printers;
  char        *dir;
  char        *broker_uri;
  guint16      port;
  GSubprocess *broker;
  GSubprocess *sim;
  GOutputStream *sim_stdin;
};

G_DEFINE_FINAL_TYPE (DroverDemoFarm, drover_demo_farm, G_TYPE_OBJECT)

typedef struct
{
  guint              attempts;
  GDataInputStream  *sim_stdout;
  guint              timeout_source;
} StartData;

static void
start_data_free (StartData *data)
{
  g_clear_handle_id (&data->timeout_source, g_source_remove);
  g_clear_object (&data->sim_stdout);
  g_free (data);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
drover_demo_farm_dispose (GObject *object)
{
  drover_demo_farm_stop (DROVER_DEMO_FARM (object));

  G_OBJECT_CLASS (drover_demo_farm_parent_class)->dispose (object);
}

static void
drover_demo_farm_finalize (GObject *object)
{
  DroverDemoFarm *self = (DroverDemoFarm *)object;

  g_free (self->dir);
  g_free (self->broker_uri);

  G_OBJECT_CLASS (drover_demo_farm_parent_class)->finalize (object);
}

static void
drover_demo_farm_class_init (DroverDemoFarmClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = drover_demo_farm_dispose;
  object_class->finalize = drover_demo_farm_finalize;
}

static void
drover_demo_farm_init (DroverDemoFarm *self)
{
}

/**
 * drover_demo_farm_new:
 * @n_printers: how many simulated printers
 *
 * Returns: (transfer full): a demo farm, not started
 */
DroverDemoFarm *
drover_demo_farm_new (guint n_printers)
{
  DroverDemoFarm *self = g_object_new (DROVER_TYPE_DEMO_FARM, NULL);

  self->n_printers = n_printers;

  return self;
}

/**
 * drover_demo_farm_find_program:
 * @name: "drover-sim" or "mosquitto"
 *
 * drover-sim is looked for beside the running program (installed, or in
 * the build tree), then on $PATH; $DROVER_SIM_BIN overrides. mosquitto
 * is looked for on $PATH and in the sbin directories.
 *
 * Returns: (transfer full) (nullable): the program's path
 */
char *
drover_demo_farm_find_program (const char *name)
{
  static const char * const sbin[] = { "/usr/sbin", "/usr/local/sbin", "/sbin" };
  char *path;

  if (g_str_equal (name, "drover-sim"))
    {
      g_autofree char *self_path = g_file_read_link ("/proc/self/exe", NULL);
      g_autofree char *self_dir = self_path != NULL ? g_path_get_dirname (self_path) : NULL;
      const char *env = g_getenv ("DROVER_SIM_BIN");

      if (env != NULL && env[0] != '\0')
        return g_strdup (env);

      if (self_dir != NULL)
        {
          const char * const candidates[] = { "drover-sim", "sim/drover-sim", "../sim/drover-sim", "../src/sim/drover-sim" };

          for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
            {
              path = g_build_filename (self_dir, candidates[i], NULL);
              if (g_file_test (path, G_FILE_TEST_IS_EXECUTABLE) && !g_file_test (path, G_FILE_TEST_IS_DIR))
                return path;
              g_free (path);
            }
        }
    }

  if ((path = g_find_program_in_path (name)) != NULL)
    return path;

  for (guint i = 0; i < G_N_ELEMENTS (sbin); i++)
    {
      path = g_build_filename (sbin[i], name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
        return path;
      g_free (path);
    }

  return NULL;
}

static void
die_with_drover (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static guint16
free_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  if (socket == NULL || !g_socket_bind (socket, address, FALSE, NULL))
    return 0;
  bound = g_socket_get_local_address (socket, NULL);

  return bound != NULL ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)) : 0;
}

static void try_port (GTask *task);

static void
inventory_loaded_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length;
  DroverInventory *inventory;

  if (!g_file_load_contents_finish (G_FILE (source), result, &contents, &length, NULL, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  inventory = drover_inventory_load_from_data (contents, length, &error);
  if (inventory == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, inventory, (GDestroyNotify)drover_inventory_free);
}

static void
read_sim_line (GTask *task);

static void
sim_line_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  DroverDemoFarm *self = g_task_get_source_object (task);
  StartData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result, NULL, &error);

  if (g_task_return_error_if_cancelled (task))
    return;

  if (line == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               _("The printer simulator stopped before its farm was ready%s%s"),
                               error != NULL ? ": " : ".", error != NULL ? error->message : "");
      return;
    }

  if (g_str_has_prefix (line, "ready "))
    {
      g_autofree char *path = g_build_filename (self->dir, "farm.conf", NULL);
      g_autoptr(GFile) file = g_file_new_for_path (path);
      GCancellable *cancellable = g_task_get_cancellable (task);

      g_clear_handle_id (&data->timeout_source, g_source_remove);
      g_file_load_contents_async (file, cancellable, inventory_loaded_cb, g_steal_pointer (&task));
      return;
    }

  read_sim_line (g_steal_pointer (&task));
}

static void
read_sim_line (GTask *task)
{
  StartData *data = g_task_get_task_data (task);

  g_data_input_stream_read_line_async (data->sim_stdout, G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                                       sim_line_cb, task);
}

static gboolean
ready_timeout_cb (gpointer user_data)
{
  GTask *task = user_data;
  StartData *data = g_task_get_task_data (task);
  DroverDemoFarm *self = g_task_get_source_object (task);

  data->timeout_source = 0;
  /* Stopping the simulator ends the pending read with an error. */
  if (self->sim != NULL)
    g_subprocess_force_exit (self->sim);

  return G_SOURCE_REMOVE;
}

static void
start_sim (GTask *task)
{
  DroverDemoFarm *self = g_task_get_source_object (task);
  StartData *data = g_task_get_task_data (task);
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *sim_path = drover_demo_farm_find_program ("drover-sim");
  g_autofree char *inventory = g_build_filename (self->dir, "farm.conf", NULL);
  g_autofree char *printers = g_strdup_printf ("%u", self->n_printers);

  if (sim_path == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _("The printer simulator drover-sim is not installed beside Drover."));
      g_object_unref (task);
      return;
    }

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_drover, NULL, NULL);
  self->sim = g_subprocess_launcher_spawn (launcher, &error,
                                           sim_path, "--broker", self->broker_uri,
                                           "--printers", printers,
                                           "--inventory", inventory,
                                           "--control",
                                           NULL);
  if (self->sim == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }

  self->sim_stdin = g_object_ref (g_subprocess_get_stdin_pipe (self->sim));
  data->sim_stdout = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->sim));
  data->timeout_source = g_timeout_add_seconds (READY_TIMEOUT, ready_timeout_cb, task);
  read_sim_line (task);
}

static void
port_probe_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  DroverDemoFarm *self = g_task_get_source_object (task);
  StartData *data = g_task_get_task_data (task);
  g_autoptr(GSocketConnection) connection = NULL;

  connection = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), result, NULL);

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }

  if (connection != NULL)
    {
      start_sim (task);
      return;
    }

  if (self->broker == NULL || g_subprocess_get_identifier (self->broker) == NULL || ++data->attempts >= PORT_ATTEMPTS)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               _("The demo farm's MQTT broker (mosquitto) did not start."));
      g_object_unref (task);
      return;
    }

  g_timeout_add_once (20, (GSourceOnceFunc)try_port, task);
}

static void
try_port (GTask *task)
{
  DroverDemoFarm *self = g_task_get_source_object (task);
  g_autoptr(GSocketClient) client = g_socket_client_new ();

  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_set_timeout (client, 1);
  g_socket_client_connect_to_host_async (client, "127.0.0.1", self->port, g_task_get_cancellable (task),
                                         port_probe_cb, task);
}

static void
config_written_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GTask *task = user_data;
  DroverDemoFarm *self = g_task_get_source_object (task);
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *mosquitto = NULL;
  g_autofree char *config = g_build_filename (self->dir, "mosquitto.conf", NULL);

  if (!g_file_replace_contents_finish (G_FILE (source), result, NULL, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }

  mosquitto = drover_demo_farm_find_program ("mosquitto");
  if (mosquitto == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _("The demo farm needs the mosquitto MQTT broker; install the “mosquitto” package."));
      g_object_unref (task);
      return;
    }

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_drover, NULL, NULL);
  self->broker = g_subprocess_launcher_spawn (launcher, &error, mosquitto, "-c", config, NULL);
  if (self->broker == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }

  try_port (task);
}

/**
 * drover_demo_farm_start_async:
 *
 * Starts the broker, then the simulator, and waits for the simulator's
 * farm to be ready.
 */
void
drover_demo_farm_start_async (DroverDemoFarm      *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) config_file = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *config = NULL;

  g_return_if_fail (DROVER_IS_DEMO_FARM (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, drover_demo_farm_start_async);
  g_task_set_task_data (task, g_new0 (StartData, 1), (GDestroyNotify)start_data_free);

  if (self->broker != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_EXISTS, _("The demo farm is already running."));
      return;
    }

  self->dir = g_dir_make_tmp ("drover-demo-XXXXXX", &error);
  self->port = free_port ();
  if (self->dir == NULL || self->port == 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               _("The demo farm found no room to start: %s"),
                               error != NULL ? error->message : _("no free port on 127.0.0.1"));
      return;
    }

  self->broker_uri = g_strdup_printf ("tcp://127.0.0.1:%u", self->port);
  config_path = g_build_filename (self->dir, "mosquitto.conf", NULL);
  /* Loopback only, anonymous: this broker exists for this Drover alone. */
  config = g_strdup_printf ("user %s\nlistener %u 127.0.0.1\nallow_anonymous true\npersistence false\nlog_type none\n",
                            g_get_user_name (), self->port);
  config_file = g_file_new_for_path (config_path);
  {
    gsize length = strlen (config);
    g_autoptr(GBytes) bytes = g_bytes_new_take (g_steal_pointer (&config), length);

    g_file_replace_contents_bytes_async (config_file, bytes, NULL, FALSE, G_FILE_CREATE_PRIVATE, cancellable,
                                         config_written_cb, g_steal_pointer (&task));
  }
}

/**
 * drover_demo_farm_start_finish:
 *
 * Returns: (transfer full) (nullable): the farm's inventory, as drover-sim
 *   wrote it
 */
DroverInventory *
drover_demo_farm_start_finish (DroverDemoFarm  *self,
                               GAsyncResult    *result,
                               GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * drover_demo_farm_stop:
 *
 * Stops the simulator (its printers say goodbye) and the broker.
 */
void
drover_demo_farm_stop (DroverDemoFarm *self)
{
  g_return_if_fail (DROVER_IS_DEMO_FARM (self));

  g_clear_object (&self->sim_stdin);

  if (self->sim != NULL)
    {
      g_subprocess_send_signal (self->sim, SIGTERM);
      g_clear_object (&self->sim);
    }

  if (self->broker != NULL)
    {
      /* Give the printers' goodbyes a moment to reach the broker. */
      GSubprocess *broker = g_steal_pointer (&self->broker);

      g_timeout_add_once (300, (GSourceOnceFunc)g_subprocess_force_exit, broker);
      g_timeout_add_once (400, (GSourceOnceFunc)g_object_unref, broker);
    }

  if (self->dir != NULL)
    {
      remove_tree (self->dir);
      g_clear_pointer (&self->dir, g_free);
    }
}

const char *
drover_demo_farm_get_broker_uri (DroverDemoFarm *self)
{
  g_return_val_if_fail (DROVER_IS_DEMO_FARM (self), NULL);

  return self->broker_uri;
}

/**
 * drover_demo_farm_send_control:
 * @line: a drover-sim control command, such as "incident readme 3"
 *
 * Drives the simulator: the demo's "stage the incident" and the tests.
 */
gboolean
drover_demo_farm_send_control (DroverDemoFarm  *self,
                               const char      *line,
                               GError         **error)
{
  g_autofree char *with_newline = g_strconcat (line, "\n", NULL);

  g_return_val_if_fail (DROVER_IS_DEMO_FARM (self), FALSE);

  if (self->sim_stdin == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, _("The demo farm is not running."));
      return FALSE;
    }

  /* A short line into a pipe the simulator reads at once. */
  return g_output_stream_write_all (self->sim_stdin, with_newline, strlen (with_newline), NULL, NULL, error) &&
         g_output_stream_flush (self->sim_stdin, NULL, error);
}
