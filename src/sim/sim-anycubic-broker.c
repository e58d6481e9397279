/* sim-anycubic-broker.c: the MQTT broker of an Anycubic printer in LAN mode
 *
 * A Kobra 3 or S1 in LAN mode runs a broker of its own (gkapi with a Mochi
 * MQTT server), MQTT 5, with the user and password of
 * /userdata/app/gk/config/device_account.json (shared/reference/
 * bambu-anycubic.md B1). Rinkhals' own code reaches it as plain TCP on
 * 127.0.0.1:2883; its network notes list 9883 as the port open to the LAN,
 * and its Node-RED example uses TLS there without checking the certificate.
 * The page's best reading (an inference) is: 2883 plain inside, 9883 TLS
 * outside. The simulator follows it and keeps it configurable: one
 * mosquitto per printer, with
 * - a listener for clients such as Drover, TLS by default (as 9883) with a
 *   certificate from the simulator's own CA that names 127.0.0.1 (what a
 *   real printer presents is UNVERIFIED), or plain TCP when asked (as 2883);
 * - a plain listener on loopback for the simulated firmware (as 2883),
 *   which logs in with the same account, as Rinkhals' tools do.
 * Both ask for the account: no anonymous clients.
 *
 * Certificates come from the `openssl` tool, passwords from
 * `mosquitto_passwd`; everything lives in a temporary directory removed
 * at exit. (The helpers mirror sim-bambu-broker.c's.)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>

#include "sim-anycubic-broker.h"
#include "sim-tools.h"

/* Who needs openssl and mosquitto, when one is missing. */
#define NEEDED_BY "Anycubic printers in LAN mode"

#define START_TIMEOUT_MS 5000

typedef struct
{
  char        *device_id;
  char        *config_path;
  GSubprocess *process;
  guint16      client_port;
  guint16      internal_port;
} Broker;

struct _SimAnycubicBrokers
{
  char       *dir;
  char       *ca_file;
  char       *ca_key;
  gboolean    tls;
  GPtrArray  *brokers;   /* Broker */
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
  g_free (broker->device_id);
  g_free (broker->config_path);
  g_free (broker);
}

/**
 * sim_anycubic_brokers_new:
 * @tls: whether clients reach the printers over TLS (as port 9883) or
 *   plain TCP (as port 2883)
 *
 * Makes the simulator's CA when @tls, ready for printers to be added.
 */
SimAnycubicBrokers *
sim_anycubic_brokers_new (gboolean   tls,
                          GError   **error)
{
  SimAnycubicBrokers *self = g_new0 (SimAnycubicBrokers, 1);

  self->tls = tls;
  self->brokers = g_ptr_array_new_with_free_func ((GDestroyNotify)broker_free);
  self->dir = g_dir_make_tmp ("drover-sim-anycubic-XXXXXX", error);
  if (self->dir == NULL)
    {
      sim_anycubic_brokers_free (self);
      return NULL;
    }

  if (!tls)
    return self;

  self->ca_file = g_build_filename (self->dir, "ca.pem", NULL);
  self->ca_key = g_build_filename (self->dir, "ca.key", NULL);
  if (!sim_tool_run (NEEDED_BY, error, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", self->ca_key, "-out", self->ca_file, "-days", "3650",
                 "-subj", "/O=drover-sim/CN=drover-sim Anycubic LAN CA (simulated)", NULL))
    {
      sim_anycubic_brokers_free (self);
      return NULL;
    }

  return self;
}

/**
 * sim_anycubic_brokers_get_ca_file:
 *
 * Returns: (nullable): the CA of the printers' certificates, or %NULL when
 *   the printers take plain TCP
 */
const char *
sim_anycubic_brokers_get_ca_file (SimAnycubicBrokers *self)
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
      if (sim_port_open (broker->internal_port) && sim_port_open (broker->client_port))
        return TRUE;
      g_usleep (20 * 1000);
    }

  g_subprocess_force_exit (broker->process);
  g_subprocess_wait (broker->process, NULL, NULL);
  g_clear_object (&broker->process);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the broker of Anycubic printer %s did not start",
               broker->device_id);
  return FALSE;
}

/**
 * sim_anycubic_brokers_add:
 * @device_id: the printer's device id
 * @username: (not nullable): the LAN account's user
 * @password: (not nullable): its password
 * @client_uri: (out): where clients connect: ssl://127.0.0.1:PORT, or
 *   tcp://127.0.0.1:PORT without TLS
 * @internal_uri: (out): where the simulated firmware publishes: tcp://127.0.0.1:PORT
 *
 * Starts the broker of one printer.
 */
gboolean
sim_anycubic_brokers_add (SimAnycubicBrokers  *self,
                          const char          *device_id,
                          const char          *username,
                          const char          *password,
                          char               **client_uri,
                          char               **internal_uri,
                          GError             **error)
{
  Broker *broker = g_new0 (Broker, 1);
  g_autofree char *key = g_strdup_printf ("%s/%s.key", self->dir, device_id);
  g_autofree char *csr = g_strdup_printf ("%s/%s.csr", self->dir, device_id);
  g_autofree char *cert = g_strdup_printf ("%s/%s.pem", self->dir, device_id);
  g_autofree char *passwords = g_strdup_printf ("%s/%s.passwd", self->dir, device_id);
  g_autofree char *subject = g_strdup_printf ("/CN=%s", device_id);
  g_autofree char *tls = NULL;
  g_autofree char *config = NULL;

  broker->device_id = g_strdup (device_id);
  broker->config_path = g_strdup_printf ("%s/%s.conf", self->dir, device_id);
  g_ptr_array_add (self->brokers, broker);

  if (!sim_tool_run (NEEDED_BY, error, "mosquitto_passwd", "-c", "-b", passwords, username, password, NULL))
    return FALSE;

  /* CN is the device id, and the certificate names the address clients
   * use, so that a client that checks host names (Paho with verify = 1)
   * accepts it against the simulator's CA. */
  if (self->tls &&
      (!sim_tool_run (NEEDED_BY, error, "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", key, "-out", csr, "-subj", subject,
                  "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", NULL) ||
       !sim_tool_run (NEEDED_BY, error, "openssl", "x509", "-req", "-in", csr, "-CA", self->ca_file, "-CAkey", self->ca_key,
                  "-CAcreateserial", "-copy_extensions", "copy", "-out", cert, "-days", "3650", NULL)))
    return FALSE;

  broker->client_port = sim_free_port ();
  broker->internal_port = sim_free_port ();
  if (self->tls)
    tls = g_strdup_printf ("cafile %s\ncertfile %s\nkeyfile %s\n", self->ca_file, cert, key);
  config = g_strdup_printf ("user %s\n"
                            "per_listener_settings true\n"
                            "persistence false\n"
                            "log_type none\n"
                            /* The one the LAN sees. */
                            "listener %u 127.0.0.1\n"
                            "%s"
                            "password_file %s\n"
                            "allow_anonymous false\n"
                            /* The firmware's own, inside the printer. */
                            "listener %u 127.0.0.1\n"
                            "password_file %s\n"
                            "allow_anonymous false\n",
                            g_get_user_name (),
                            broker->client_port, tls != NULL ? tls : "", passwords,
                            broker->internal_port, passwords);

  if (!g_file_set_contents (broker->config_path, config, -1, error) || !launch (broker, error))
    return FALSE;

  *client_uri = g_strdup_printf ("%s://127.0.0.1:%u", self->tls ? "ssl" : "tcp", broker->client_port);
  *internal_uri = g_strdup_printf ("tcp://127.0.0.1:%u", broker->internal_port);

  return TRUE;
}

/**
 * sim_anycubic_brokers_power:
 * @on: %FALSE stops the printer's broker, as when the printer is switched
 *   off; %TRUE starts it again on the same ports
 */
gboolean
sim_anycubic_brokers_power (SimAnycubicBrokers  *self,
                            const char          *device_id,
                            gboolean             on,
                            GError             **error)
{
  for (guint i = 0; i < self->brokers->len; i++)
    {
      Broker *broker = g_ptr_array_index (self->brokers, i);

      if (!g_str_equal (broker->device_id, device_id))
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

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no Anycubic printer %s", device_id);
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
sim_anycubic_brokers_free (SimAnycubicBrokers *self)
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
