/* sim-tools.c: the programs and ports drover-sim's private brokers need
 *
 * The Bambu and Anycubic LAN-mode printers each run a mosquitto of their
 * own, with certificates made by openssl and accounts by mosquitto_passwd.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <stdarg.h>

#include "sim-tools.h"

const char *
sim_tool_find (const char *name)
{
  static const char * const dirs[] = { "/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin" };
  static GHashTable *found;
  char *path;

  if (found == NULL)
    found = g_hash_table_new (g_str_hash, g_str_equal);

  if ((path = g_hash_table_lookup (found, name)) != NULL)
    return path;

  path = g_find_program_in_path (name);
  for (guint i = 0; path == NULL && i < G_N_ELEMENTS (dirs); i++)
    {
      char *candidate = g_build_filename (dirs[i], name, NULL);

      if (g_file_test (candidate, G_FILE_TEST_IS_EXECUTABLE))
        path = candidate;
      else
        g_free (candidate);
    }

  if (path != NULL)
    g_hash_table_insert (found, (char *)name, path);

  return path;
}

gboolean
sim_tool_run (const char  *needed_by,
              GError     **error,
              ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *output = NULL;
  const char *arg;
  const char *tool;
  va_list args;

  va_start (args, error);
  arg = va_arg (args, const char *);
  tool = sim_tool_find (arg);
  if (tool == NULL)
    {
      va_end (args);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "%s need the “%s” program to make their broker; install it or leave them out "
                   "of --mix", needed_by, arg);
      return FALSE;
    }
  g_ptr_array_add (argv, (gpointer)tool);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (gpointer)arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_newv ((const char * const *)argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, error);
  if (process == NULL || !g_subprocess_communicate_utf8 (process, NULL, NULL, &output, NULL, error))
    return FALSE;

  if (!g_subprocess_get_successful (process))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s failed: %s", tool, output != NULL ? output : "");
      return FALSE;
    }

  return TRUE;
}

guint16
sim_free_port (void)
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

gboolean
sim_port_open (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;

  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_set_timeout (client, 1);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);

  return connection != NULL;
}

