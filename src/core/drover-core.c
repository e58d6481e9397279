/* drover-core.c: start-up of the core library and what it is built on
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-core"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <MQTTAsync.h>
#include <sodium.h>
#include <sqlite3.h>

#include "drover-core.h"

/**
 * drover_core_init:
 * @error: where to say why the core cannot work
 *
 * Prepares the libraries the core stands on. Call it once, early, from the
 * main thread of every program that links the core. Calling it again is
 * harmless.
 *
 * Returns: %TRUE when Drover can go on
 */
gboolean
drover_core_init (GError **error)
{
  /* libsodium needs a working random source; without one no key can be
   * made and no signature trusted, so say so instead of going on. */
  if (sodium_init () < 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           _("The cryptography library could not start: the system has no usable random source"));
      return FALSE;
    }

  /* The ledger is written from worker threads. */
  if (!sqlite3_threadsafe ())
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           _("The SQLite library was built without thread support, which Drover needs"));
      return FALSE;
    }

  return TRUE;
}

static const char *
paho_version (void)
{
  MQTTAsync_nameValue *info = MQTTAsync_getVersionInfo ();

  for (; info != NULL && info->name != NULL; info++)
    {
      if (g_str_equal (info->name, "Version"))
        return info->value;
    }

  return "?";
}

/**
 * drover_core_dup_library_versions:
 *
 * Lists the versions of the libraries this build runs on, one per line, for
 * `--version` and the About window's debug information.
 *
 * Returns: (transfer full): the list
 */
char *
drover_core_dup_library_versions (void)
{
  return g_strdup_printf ("GLib %u.%u.%u\n"
                          "json-glib %d.%d.%d\n"
                          "libsoup %u.%u.%u\n"
                          "Paho MQTT C %s\n"
                          "SQLite %s\n"
                          "libsodium %s\n",
                          glib_major_version, glib_minor_version, glib_micro_version,
                          JSON_MAJOR_VERSION, JSON_MINOR_VERSION, JSON_MICRO_VERSION,
                          soup_get_major_version (), soup_get_minor_version (), soup_get_micro_version (),
                          paho_version (),
                          sqlite3_libversion (),
                          sodium_version_string ());
}
