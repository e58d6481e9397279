/* sim-bambu-broker.c: a Bambu Lab printer's own MQTT broker
 *
 * A Bambu printer in LAN mode is a broker of its own: MQTT over TLS on
 * port 8883, user `bblp`, the LAN access code as password, a certificate
 * whose CN is the printer's serial (not its address), and room for a few
 * clients only (shared/reference/bambu-anycubic.md A1). The simulator runs
 * one mosquitto per Bambu printer to match: a TLS listener for clients such
 * as Drover, with a certificate for CN=<serial> signed by the simulator's
 * own CA, a password file, and `max_connections`; plus a plain listener on
 * loopback that only the simulated firmware uses to publish its reports.
 *
 * Certificates come from the `openssl` tool, passwords from
 * `mosquitto_passwd`; everything lives in a temporary directory removed
 * at exit.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>

#include "sim-bambu-broker.h"
#include "sim-tools.h"

/* Who needs openssl and mosquitto, when one is missing. */
#define NEEDED_BY "Bambu printers"

#define START_TIMEOUT_MS 5000

typedef struct
{
  char        *serial;
  char        *config_path;
  GSubprocess *process;
  guint16      tls_port;
  guint16      internal_port;
} Broker;

struct _SimBambuBrokers
{
  char       *dir;
  char       *ca_file;
  char       *ca_key;
  GPtrArray  *brokers;   /* Broker */
  guint       max_clients;
};

static void
broker_free (Broker *broker)
{
  if (broker->process != NULL)
    {
      g_subprocess_send_signal (broker->process, SIGTERM);
      g_subprocess_wait (broker->process, NULL, NULL);
      g_clear_object (&broker->process);
    }
  g_free (broker->serial);
  g_free (broker->config_path);
  g_free (broker);
}

/**
 * sim_bambu_brokers_new:
 * @max_clients: how many clients each printer accepts (firmware allows 1 to 5)
 *
 * Makes the simulator's CA, ready for printers to be added.
 */
SimBambuBrokers *
sim_bambu_brokers_new (guint    max_clients,
                       GError **error)
{
  SimBambuBrokers *self = g_new0 (SimBambuBrokers, 1);

  self->max_clients = MAX (max_clients, 1);
  self->brokers = g_ptr_array_new_with_free_func ((GDestroyNotify)broker_free);
  self->dir = g_dir_make_tmp ("drover-sim-bambu-XXXXXX", error);
  if (self->dir == NULL)
    {
      sim_bambu_brokers_free (self);
      return NULL;
    }

  self->ca_file = g_build_filename (self->dir, "ca.pem", NULL);
  self->ca_key = g_build_filename (self->dir, "ca.key", NULL);

  /* Elliptic-curve keys: quick to make, even for a hundred printers. */
  if (!sim_tool_run (NEEDED_BY, error, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", self->ca_key, "-out", self->ca_file, "-days", "3650",
                 "-subj", "/O=drover-sim/CN=drover-sim BBL CA (simulated)", NULL))
    {
      sim_bambu_brokers_free (self);
      return NULL;
    }

  return self;
}

const char *
sim_bambu_brokers_get_ca_file (SimBambuBrokers *self)
{
  return self->ca_file;
}

/* A printer's broker must not outlive the simulator, even if it crashes. */
static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static gboolean
launch (Broker  *broker,
        GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                                       G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  gint64 deadline;

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  broker->process = g_subprocess_launcher_spawn (launcher, error,
                                                 sim_tool_find ("mosquitto"), "-c", broker->config_path, NULL);
  if (broker->process == NULL)
    return FALSE;

  deadline = g_get_monotonic_time () + START_TIMEOUT_MS * 1000;
  while (g_get_monotonic_time () < deadline)
    {
      if (g_subprocess_get_identifier (broker->process) == NULL)
        break;
      if (sim_port_open (broker->internal_port) && sim_port_open (broker->tls_port))
        return TRUE;
      g_usleep (20 * 1000);
    }

  g_subprocess_force_exit (broker->process);
  g_subprocess_wait (broker->process, NULL, NULL);
  g_clear_object (&broker->process);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the broker of Bambu printer %s did not start", broker->serial);
  return FALSE;
}

/**
 * sim_bambu_brokers_add:
 * @tls_uri: (out): where clients connect: ssl://127.0.0.1:PORT
 * @internal_uri: (out): where the simulated firmware publishes: tcp://127.0.0.1:PORT
 *
 * Starts the broker of one printer.
 */
gboolean
sim_bambu_brokers_add (SimBambuBrokers  *self,
                       const char       *serial,
                       const char       *access_code,
                       char            **tls_uri,
                       char            **internal_uri,
                       GError          **error)
{
  Broker *broker = g_new0 (Broker, 1);
  g_autofree char *key = g_strdup_printf ("%s/%s.key", self->dir, serial);
  g_autofree char *csr = g_strdup_printf ("%s/%s.csr", self->dir, serial);
  g_autofree char *cert = g_strdup_printf ("%s/%s.pem", self->dir, serial);
  g_autofree char *passwords = g_strdup_printf ("%s/%s.passwd", self->dir, serial);
  g_autofree char *subject = g_strdup_printf ("/CN=%s", serial);
  g_autofree char *config = NULL;

  broker->serial = g_strdup (serial);
  broker->config_path = g_strdup_printf ("%s/%s.conf", self->dir, serial);
  g_ptr_array_add (self->brokers, broker);

  /* The certificate names the serial, as a real printer's does: a client
   * that checks the host name against 127.0.0.1 is refused, as it would
   * be by a real printer. */
  if (!sim_tool_run (NEEDED_BY, error, "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", key, "-out", csr, "-subj", subject, NULL) ||
      !sim_tool_run (NEEDED_BY, error, "openssl", "x509", "-req", "-in", csr, "-CA", self->ca_file, "-CAkey", self->ca_key,
                 "-CAcreateserial", "-out", cert, "-days", "3650", NULL) ||
      !sim_tool_run (NEEDED_BY, error, "mosquitto_passwd", "-c", "-b", passwords, "bblp", access_code, NULL))
    return FALSE;

  broker->tls_port = sim_free_port ();
  broker->internal_port = sim_free_port ();
  config = g_strdup_printf ("user %s\n"
                            "per_listener_settings true\n"
                            "persistence false\n"
                            "log_type none\n"
                            /* The one the world sees. */
                            "listener %u 127.0.0.1\n"
                            "cafile %s\ncertfile %s\nkeyfile %s\n"
                            "password_file %s\n"
                            "allow_anonymous false\n"
                            "max_connections %u\n"
                            /* The firmware's own, inside the printer. */
                            "listener %u 127.0.0.1\n"
                            "allow_anonymous true\n",
                            g_get_user_name (),
                            broker->tls_port, self->ca_file, cert, key, passwords, self->max_clients,
                            broker->internal_port);

  if (!g_file_set_contents (broker->config_path, config, -1, error) || !launch (broker, error))
    return FALSE;

  *tls_uri = g_strdup_printf ("ssl://127.0.0.1:%u", broker->tls_port);
  *internal_uri = g_strdup_printf ("tcp://127.0.0.1:%u", broker->internal_port);

  return TRUE;
}

/**
 * sim_bambu_brokers_power:
 * @on: %FALSE stops the printer's broker, as when the printer is switched
 *   off; %TRUE starts it again on the same ports
 */
gboolean
sim_bambu_brokers_power (SimBambuBrokers  *self,
                         const char       *serial,
                         gboolean          on,
                         GError          **error)
{
  for (guint i = 0; i < self->brokers->len; i++)
    {
      Broker *broker = g_ptr_array_index (self->brokers, i);

      if (!g_str_equal (broker->serial, serial))
        continue;

      if (!on && broker->process != NULL)
        {
          g_subprocess_force_exit (broker->process);
          g_subprocess_wait (broker->process, NULL, NULL);
          g_clear_object (&broker->process);
        }
      else if (on && broker->process == NULL)
        return launch (broker, error);

      return TRUE;
    }

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no Bambu printer %s", serial);
  return FALSE;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      g_unlink (child);
    }
  g_rmdir (path);
}

void
sim_bambu_brokers_free (SimBambuBrokers *self)
{
  if (self == NULL)
    return;

  g_ptr_array_unref (self->brokers);
  if (self->dir != NULL)
    remove_tree (self->dir);
  g_free (self->dir);
  g_free (self->ca_file);
  g_free (self->ca_key);
  g_free (self);
}
