/* droverctl-sign.c: droverctl keygen, sign, verify and trust
 *
 *   droverctl keygen [-p KEY.pub] [-s KEY.key | --keyring] [-W] [-f]
 *   droverctl sign [-s KEY.key | --keyring KEYID] --printer ID… | --fleet [--valid-for 24h] … FILE
 *   droverctl verify [-p KEY.pub | --trust-store PATH] [--printer ID] FILE
 *   droverctl trust list | add NAME KEY.pub | revoke KEYID
 *
 * Keys and signatures are minisign's, so stock minisign checks what these
 * sign and the other way round; the job manifest rides in the signature's
 * trusted comment (docs/job-format.md). `sign` is meant to run as a
 * slicer's post-processing step, with no terminal: the key then comes from
 * the desktop keyring or the password from DROVER_SIGNING_PASSWORD, and the
 * signature goes beside the file the slicer is about to write, not beside
 * its temporary copy.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <math.h>
#include <sodium.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "drover-core.h"
#include "droverctl-commands.h"

#define EXIT_OK           0
#define EXIT_CHECK_FAILED 1
#define EXIT_USAGE        2

#define PASSWORD_ENV      "DROVER_SIGNING_PASSWORD"
#define PASSWORD_MAX      1024
#define TEMPERATURE_MAX   1000.0
/* A signed job is a short-lived order; a year is already generous. */
#define VALID_FOR_MAX     (366 * 24 * 60 * 60)

/* A password in memory that is wiped when it goes. */
typedef char *Password;

static void
password_free (char *password)
{
  sodium_memzero (password, strlen (password));
  g_free (password);
}

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (Password, password_free, NULL)

static GOptionContext *
command_context (const char *name,
                 const char *parameters,
                 const char *summary,
                 const char *description)
{
  GOptionContext *context;

  g_set_prgname (name);
  context = g_option_context_new (parameters);
  g_option_context_set_summary (context, summary);
  g_option_context_set_description (context, description);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);

  return context;
}

static int
usage_error (const char *name,
             const char *message)
{
  g_printerr ("%s: %s\n", name, message);
  g_printerr (_("Run “%s --help” to see its options.\n"), name);
  return EXIT_USAGE;
}

static char *
default_key_path (const char *file_name)
{
  return g_build_filename (g_get_user_config_dir (), "drover", file_name, NULL);
}

static char *
display_name (const char *path)
{
  return g_filename_display_name (path);
}

/* Reads one line from the terminal with echo off, as ssh and minisign do.
 * The terminal, not standard input: a slicer or a pipe may own stdin. */
static char *
read_password_from_terminal (const char  *prompt,
                             GError     **error)
{
  struct termios saved;
  struct termios quiet;
  g_autofree char *buffer = NULL;
  gsize length = 0;
  gboolean echo_off;
  int fd;

  fd = open ("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("The secret key needs a password, and there is no terminal to ask for it; set %s"),
                   PASSWORD_ENV);
      return NULL;
    }

  echo_off = tcgetattr (fd, &saved) == 0;
  if (echo_off)
    {
      quiet = saved;
      quiet.c_lflag &= ~(tcflag_t) ECHO;
      quiet.c_lflag |= ECHONL;
      tcsetattr (fd, TCSAFLUSH, &quiet);
    }

  if (write (fd, prompt, strlen (prompt)) < 0)
    {
      /* Nothing to do: the password can still be typed. */
    }

  buffer = g_malloc0 (PASSWORD_MAX + 1);
  for (;;)
    {
      char c;
      ssize_t n = read (fd, &c, 1);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0 || c == '\n' || c == '\r')
        break;
      if (length < PASSWORD_MAX)
        buffer[length++] = c;
    }

  if (echo_off)
    tcsetattr (fd, TCSAFLUSH, &saved);
  close (fd);

  return g_steal_pointer (&buffer);
}

/* The password for a key: DROVER_SIGNING_PASSWORD for scripts and slicers,
 * else the terminal, twice when making a key. */
static char *
get_password (gboolean   confirm,
              GError   **error)
{
  const char *from_env = g_getenv (PASSWORD_ENV);
  g_auto(Password) first = NULL;
  g_auto(Password) second = NULL;

  if (from_env != NULL)
    return g_strdup (from_env);

  first = read_password_from_terminal (_("Password: "), error);
  if (first == NULL)
    return NULL;

  if (!confirm)
    return g_steal_pointer (&first);

  second = read_password_from_terminal (_("Password (again): "), error);
  if (second == NULL)
    return NULL;

  if (!g_str_equal (first, second))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("The two passwords differ; nothing was written"));
      return NULL;
    }

  return g_steal_pointer (&first);
}

/* Whole or not at all, so an interrupted write never leaves half a key or
 * half a signature behind. */
static gboolean
write_file (const char  *path,
            const char  *contents,
            int          mode,
            GError     **error)
{
  g_autofree char *folder = g_path_get_dirname (path);

  if (g_mkdir_with_parents (folder, 0700) != 0)
    {
      int saved_errno = errno;
      g_autofree char *display = display_name (folder);

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _("Could not make the folder %s: %s"), display, g_strerror (saved_errno));
      return FALSE;
    }

  return g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, mode, error);
}

/* ------------------------------------------------------------------ */
/* The desktop keyring, for a secret key that needs no file and no
 * password typed: the keyring is unlocked with the session. */

typedef struct
{
  GMainLoop *loop;
  gboolean   ok;
  char      *secret;
  GError    *error;
} KeyringCall;

static void
keyring_stored_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  KeyringCall *call = user_data;

  call->ok = drover_secrets_store_finish (result, &call->error);
  g_main_loop_quit (call->loop);
}

static void
keyring_looked_up_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  KeyringCall *call = user_data;

  call->secret = drover_secrets_lookup_finish (result, &call->error);
  call->ok = call->error == NULL;
  g_main_loop_quit (call->loop);
}

static gboolean
keyring_store (const char  *key_id,
               const char  *secret_text,
               GError     **error)
{
  KeyringCall call = { 0 };

  call.loop = g_main_loop_new (NULL, FALSE);
  drover_secrets_store_async (DROVER_SECRET_SIGNING_KEY, key_id, secret_text, NULL, keyring_stored_cb, &call);
  g_main_loop_run (call.loop);
  g_main_loop_unref (call.loop);

  if (!call.ok)
    g_propagate_error (error, call.error);
  return call.ok;
}

/* Returns: the key's text, NULL with no error when the keyring has none. */
static char *
keyring_lookup (const char  *key_id,
                GError     **error)
{
  KeyringCall call = { 0 };

  call.loop = g_main_loop_new (NULL, FALSE);
  drover_secrets_lookup_async (DROVER_SECRET_SIGNING_KEY, key_id, NULL, keyring_looked_up_cb, &call);
  g_main_loop_run (call.loop);
  g_main_loop_unref (call.loop);

  if (!call.ok)
    g_propagate_error (error, call.error);
  return call.secret;
}

/* ------------------------------------------------------------------ */
/* keygen */

int
droverctl_keygen_main (int    argc,
                       char **argv)
{
  const char *name = argv[0];
  g_autofree char *public_path = NULL;
  g_autofree char *secret_path = NULL;
  gboolean unencrypted = FALSE;
  gboolean force = FALSE;
  gboolean in_keyring = FALSE;
  const GOptionEntry entries[] = {
    { "public-key", 'p', 0, G_OPTION_ARG_FILENAME, &public_path,
      N_("Where to write the public key (default: ~/.config/drover/signing.pub)"), N_("KEY.pub") },
    { "keyring", 0, 0, G_OPTION_ARG_NONE, &in_keyring,
      N_("Keep the secret key in the desktop keyring instead of a file"), NULL },
    { "secret-key", 's', 0, G_OPTION_ARG_FILENAME, &secret_path,
      N_("Where to write the secret key (default: ~/.config/drover/signing.key)"), N_("KEY.key") },
    { "unencrypted", 'W', 0, G_OPTION_ARG_NONE, &unencrypted,
      N_("Do not protect the secret key with a password, as minisign -W"), NULL },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force,
      N_("Overwrite an existing key pair"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverSecretKey) key = NULL;
  g_autoptr(DroverPublicKey) public_key = NULL;
  g_auto(Password) password = NULL;
  g_auto(Password) secret_text = NULL;
  g_autofree char *public_text = NULL;
  g_autofree char *key_id = NULL;
  g_autofree char *base64 = NULL;
  g_autofree char *public_display = NULL;
  g_autofree char *secret_display = NULL;

  context = command_context (name, NULL,
                             _("Make a minisign key pair for signing print jobs. The secret key signs;\n"
                               "the public key goes into the trust store of every Drover that runs the\n"
                               "jobs, and stock minisign checks signatures with it too."),
                             _("The secret key is protected by a password (scrypt, as minisign does it),\n"
                               "asked twice on the terminal without echo, or taken from the environment\n"
                               "variable " PASSWORD_ENV " when a script makes the key. With -W it is\n"
                               "written unencrypted: only for a signing host that is itself protected,\n"
                               "such as a slicer PC's post-processing step with no one to type a password.\n"
                               "The secret key file is readable by its owner only.\n"
                               "\n"
                               "With --keyring the secret key is not written to a file: it goes into the\n"
                               "desktop keyring (GNOME Keyring or another Secret Service), named by its key\n"
                               "id, and “droverctl sign --keyring KEYID” signs with it without a password\n"
                               "prompt while the session's keyring is unlocked, which suits a slicer.\n"
                               "\n"
                               "Exit status:\n"
                               "  0  the key pair was written\n"
                               "  1  a key file exists already (use -f to overwrite), or the key could not be\n"
                               "     written or kept in the keyring\n"
                               "  2  the command line was wrong, or no password could be had\n"
                               "\n"
                               "Examples:\n"
                               "  droverctl keygen\n"
                               "  droverctl keygen -p alice.pub -s alice.key\n"
                               "  droverctl keygen -W -p slicer-pc.pub -s ~/.config/drover/slicer.key\n"
                               "  droverctl keygen --keyring -p alice.pub\n"
                               "  DROVER_SIGNING_PASSWORD=… droverctl keygen -p ci.pub -s ci.key"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (name, error->message);
  if (argc > 1)
    {
      g_autofree char *message = g_strdup_printf (_("“%s” is not an option this command takes."), argv[1]);

      return usage_error (name, message);
    }

  if (in_keyring && secret_path != NULL)
    return usage_error (name, _("With --keyring the secret key goes into the keyring, not into a file: leave out -s."));

  if (public_path == NULL)
    public_path = default_key_path ("signing.pub");
  if (secret_path == NULL && !in_keyring)
    secret_path = default_key_path ("signing.key");
  public_display = display_name (public_path);

  if (secret_path != NULL && g_str_equal (public_path, secret_path))
    return usage_error (name, _("The public and the secret key need two different files."));

  if (!force)
    {
      const char *paths[] = { public_path, secret_path };

      for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
        if (paths[i] != NULL && g_file_test (paths[i], G_FILE_TEST_EXISTS))
          {
            g_autofree char *display = display_name (paths[i]);

            g_printerr (_("%s: %s exists already; nothing was written. Add -f to overwrite it (jobs signed with the old key will no longer verify with the new one).\n"),
                        name, display);
            return EXIT_CHECK_FAILED;
          }
    }

  /* In the keyring the key is protected by the keyring's own password. */
  if (!unencrypted && !in_keyring)
    {
      password = get_password (TRUE, &error);
      if (password == NULL)
        {
          g_printerr (_("%s: %s, or use -W for a key without a password.\n"), name, error->message);
          return EXIT_USAGE;
        }
      if (password[0] == '\0')
        {
          g_printerr (_("%s: the password is empty; give one, or use -W for a key without a password.\n"), name);
          return EXIT_USAGE;
        }
      g_printerr (_("Deriving a key from the password (this takes a few seconds)…\n"));
    }

  key = drover_secret_key_generate ();
  secret_text = drover_secret_key_to_data (key, password);
  public_key = drover_secret_key_dup_public (key);
  public_text = drover_public_key_to_data (public_key);
  key_id = drover_public_key_dup_id (public_key);
  base64 = drover_public_key_dup_base64 (public_key);

  if (in_keyring)
    {
      if (!keyring_store (key_id, secret_text, &error))
        {
          g_printerr (_("%s: the secret key could not be kept in the keyring, and nothing was written: %s\n"),
                      name, error->message);
          return EXIT_CHECK_FAILED;
        }
    }
  else if (!write_file (secret_path, secret_text, 0600, &error))
    {
      g_printerr ("%s: %s\n", name, error->message);
      return EXIT_CHECK_FAILED;
    }

  if (!write_file (public_path, public_text, 0644, &error))
    {
      g_printerr ("%s: %s\n", name, error->message);
      return EXIT_CHECK_FAILED;
    }

  if (in_keyring)
    {
      g_print (_("The secret key is in the keyring as “Drover: job signing key %s”. Sign with it:\n"
                 "  droverctl sign --keyring %s …\n"), key_id, key_id);
    }
  else
    {
      secret_display = display_name (secret_path);
      g_print (_("The secret key was saved as %s%s. Keep it secret: it signs jobs for your printers.\n"),
               secret_display, password != NULL ? _(", protected by the password") : _(", without a password"));
    }
  g_print (_("The public key was saved as %s; its key id is %s.\n"), public_display, key_id);
  g_print (_("Trust it wherever its jobs are checked:\n  droverctl trust add \"NAME\" %s\n"), public_display);
  g_print (_("Stock minisign verifies its signatures with:\n  minisign -Vm FILE -P %s\n"), base64);

  return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* sign */

/* "8h", "2d", "90m", "1w", "1d12h": a job's lifetime. */
static gboolean
parse_duration (const char *text,
                gint64     *seconds)
{
  const char *p = text;
  gint64 total = 0;

  if (text == NULL || *text == '\0')
    return FALSE;

  while (*p != '\0')
    {
      char *end = NULL;
      guint64 number;
      gint64 unit;

      if (!g_ascii_isdigit (*p))
        return FALSE;

      number = g_ascii_strtoull (p, &end, 10);
      if (end == p || number > VALID_FOR_MAX)
        return FALSE;

      switch (*end)
        {
        case 's':
          unit = 1;
          break;
        case 'm':
          unit = 60;
          break;
        case 'h':
          unit = 60 * 60;
          break;
        case 'd':
          unit = 24 * 60 * 60;
          break;
        case 'w':
          unit = 7 * 24 * 60 * 60;
          break;
        default:
          return FALSE;
        }

      total += (gint64) number * unit;
      if (total > VALID_FOR_MAX)
        return FALSE;
      p = end + 1;
    }

  *seconds = total;
  return total > 0;
}

/* An ISO 8601 time; without a zone it is local time, as a person at the
 * slicer means it. */
static gboolean
parse_time (const char *text,
            gint64     *unix_time)
{
  g_autoptr(GTimeZone) local = g_time_zone_new_local ();
  g_autoptr(GDateTime) time = NULL;

  if (g_str_equal (text, "now"))
    {
      *unix_time = g_get_real_time () / G_USEC_PER_SEC;
      return TRUE;
    }

  time = g_date_time_new_from_iso8601 (text, local);
  if (time == NULL)
    return FALSE;

  *unix_time = g_date_time_to_unix (time);
  return TRUE;
}

static gboolean
check_temperature (const char  *option,
                   double       value,
                   GError     **error)
{
  if (isfinite (value) && value >= 0 && value <= TEMPERATURE_MAX)
    return TRUE;

  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               _("%s needs a temperature in °C above 0 and at most %.0f"), option, TEMPERATURE_MAX);
  return FALSE;
}

static char *
format_temperature (double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  return g_strdup (g_ascii_formatd (buffer, sizeof buffer, "%.10g", value));
}

static char *
describe_printers (const DroverManifest *manifest)
{
  g_autofree char *list = NULL;
  guint count;

  if (manifest->fleet)
    return g_strdup (_("every printer of the fleet"));

  count = g_strv_length (manifest->printers);
  list = g_strjoinv (", ", manifest->printers);
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "printer %s", "printers %s", count), list);
}

static char *
describe_limits (const DroverManifest *manifest)
{
  g_autofree char *hotend = NULL;
  g_autofree char *bed = NULL;

  if (manifest->max_hotend > 0)
    hotend = format_temperature (manifest->max_hotend);
  if (manifest->max_bed > 0)
    bed = format_temperature (manifest->max_bed);

  if (hotend != NULL && bed != NULL)
    return g_strdup_printf (_("hotend at most %s °C, bed at most %s °C"), hotend, bed);
  if (hotend != NULL)
    return g_strdup_printf (_("hotend at most %s °C, no limit for the bed beyond the printer’s own"), hotend);
  if (bed != NULL)
    return g_strdup_printf (_("bed at most %s °C, no limit for the hotend beyond the printer’s own"), bed);
  return g_strdup (_("no temperature limits beyond the printer’s own"));
}

/* Where the signature goes. A slicer runs post-processing on a temporary
 * copy ("….gcode.pp" in a temporary folder) and then writes the G-code to
 * SLIC3R_PP_OUTPUT_NAME; a signature beside the copy would be lost. */
static char *
signature_path_for (const char  *file,
                    const char  *explicit_path,
                    GError     **error)
{
  const char *output_name = g_getenv ("SLIC3R_PP_OUTPUT_NAME");
  const char *host = g_getenv ("SLIC3R_PP_HOST");

  if (explicit_path != NULL)
    return g_strdup (explicit_path);

  if (output_name != NULL && output_name[0] != '\0')
    {
      if (host != NULL && !g_str_equal (host, "File"))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       _("The slicer is uploading this G-code to %s, and the signature cannot travel with it. "
                         "Export the G-code to a file and let Drover send it, or give the signature’s path with -x"),
                       host);
          return NULL;
        }

      if (g_path_is_absolute (output_name))
        return g_strconcat (output_name, ".minisig", NULL);
    }

  return g_strconcat (file, ".minisig", NULL);
}

static int
load_secret_key (const char       *name,
                 const char       *path,
                 DroverSecretKey **key)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *display = display_name (path);
  g_auto(Password) text = NULL;
  g_auto(Password) password = NULL;
  gboolean encrypted = FALSE;

  if (!g_file_get_contents (path, &text, NULL, &error))
    {
      g_printerr (_("%s: cannot read the secret key: %s\n"), name, error->message);
      if (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_printerr (_("Make one with “droverctl keygen”, or give its path with -s.\n"));
      return EXIT_USAGE;
    }

  if (!drover_secret_key_get_encrypted_from_data (text, &encrypted, &error))
    {
      g_printerr ("%s: %s: %s\n", name, display, error->message);
      return EXIT_USAGE;
    }

  if (encrypted)
    {
      password = get_password (FALSE, &error);
      if (password == NULL)
        {
          g_printerr ("%s: %s.\n", name, error->message);
          return EXIT_USAGE;
        }
    }

  *key = drover_secret_key_new_from_data (text, password, &error);
  if (*key == NULL)
    {
      g_printerr ("%s: %s: %s.\n", name, display, error->message);
      return EXIT_CHECK_FAILED;
    }

  return EXIT_OK;
}

static int
load_keyring_key (const char       *name,
                  const char       *key_id,
                  DroverSecretKey **key)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = drover_minisign_normalize_key_id (key_id);
  g_autofree char *found_id = NULL;
  g_auto(Password) text = NULL;

  if (id == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("--keyring needs a key id of up to 16 hex digits, not “%s”."), key_id);

      return usage_error (name, message);
    }

  text = keyring_lookup (id, &error);
  if (error != NULL)
    {
      g_printerr ("%s: %s\n", name, error->message);
      return EXIT_USAGE;
    }
  if (text == NULL)
    {
      g_printerr (_("%s: the keyring keeps no signing key %s. Make one with “droverctl keygen --keyring”.\n"),
                  name, id);
      return EXIT_USAGE;
    }

  *key = drover_secret_key_new_from_data (text, NULL, &error);
  if (*key == NULL)
    {
      g_printerr (_("%s: the keyring’s signing key %s cannot be used: %s.\n"), name, id, error->message);
      return EXIT_CHECK_FAILED;
    }

  /* The item is found by its name; the key inside must agree with it. */
  found_id = drover_secret_key_dup_id (*key);
  if (!g_str_equal (found_id, id))
    {
      g_printerr (_("%s: the keyring item for key %s holds key %s; remove it and make the key again.\n"),
                  name, id, found_id);
      g_clear_pointer (key, drover_secret_key_free);
      return EXIT_CHECK_FAILED;
    }

  return EXIT_OK;
}

int
droverctl_sign_main (int    argc,
                     char **argv)
{
  const char *name = argv[0];
  g_autofree char *secret_path = NULL;
  g_autofree char *keyring_id = NULL;
  g_auto(GStrv) printers = NULL;
  gboolean fleet = FALSE;
  g_autofree char *valid_for = NULL;
  g_autofree char *not_before = NULL;
  double max_hotend = 0;
  double max_bed = 0;
  g_autofree char *job_id = NULL;
  g_autofree char *signature_option = NULL;
  g_autofree char *untrusted_comment = NULL;
  g_auto(GStrv) files = NULL;
  const GOptionEntry entries[] = {
    { "secret-key", 's', 0, G_OPTION_ARG_FILENAME, &secret_path,
      N_("The secret key to sign with (default: ~/.config/drover/signing.key)"), N_("KEY.key") },
    { "keyring", 0, 0, G_OPTION_ARG_STRING, &keyring_id,
      N_("Sign with the key the desktop keyring keeps under this id (droverctl keygen --keyring)"), N_("KEYID") },
    { "printer", 0, 0, G_OPTION_ARG_STRING_ARRAY, &printers,
      N_("A printer the job is for, by its id in the inventory; repeat for several"), N_("ID") },
    { "fleet", 0, 0, G_OPTION_ARG_NONE, &fleet,
      N_("The job is for every printer of the fleet"), NULL },
    { "valid-for", 0, 0, G_OPTION_ARG_STRING, &valid_for,
      N_("How long the job may start: 90m, 8h, 2d, 1w, 1d12h (default 24h)"), N_("DURATION") },
    { "not-before", 0, 0, G_OPTION_ARG_STRING, &not_before,
      N_("When the job may start first, ISO 8601 (default: now; local time without a zone)"), N_("TIME") },
    { "max-hotend", 0, 0, G_OPTION_ARG_DOUBLE, &max_hotend,
      N_("The hottest the job may set a hotend (default: no limit of its own)"), N_("°C") },
    { "max-bed", 0, 0, G_OPTION_ARG_DOUBLE, &max_bed,
      N_("The hottest the job may set the bed (default: no limit of its own)"), N_("°C") },
    { "job-id", 0, 0, G_OPTION_ARG_STRING, &job_id,
      N_("The job's id, a UUID (default: a new one; every job needs its own)"), N_("UUID") },
    { "signature", 'x', 0, G_OPTION_ARG_FILENAME, &signature_option,
      N_("Where to write the signature (default: FILE.minisig)"), N_("FILE.minisig") },
    { "comment", 'c', 0, G_OPTION_ARG_STRING, &untrusted_comment,
      N_("The signature's untrusted comment, its first line, which nobody signs"), N_("TEXT") },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, N_("FILE") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverManifest) manifest = NULL;
  g_autoptr(DroverSecretKey) key = NULL;
  g_autofree char *manifest_text = NULL;
  g_autofree char *signature_path = NULL;
  g_autofree char *signature = NULL;
  g_autofree char *file_display = NULL;
  g_autofree char *signature_display = NULL;
  g_autofree char *start = NULL;
  g_autofree char *end = NULL;
  g_autofree char *whom = NULL;
  g_autofree char *limits = NULL;
  g_autofree char *key_id = NULL;
  gint64 lifetime = 24 * 60 * 60;
  const char *file;
  int status;

  context = command_context (name, NULL,
                             _("Sign a print job: write FILE.minisig, a minisign signature whose trusted\n"
                               "comment is the job's manifest: a new job id, the printers it is for, when it\n"
                               "may start and until when, and optional temperature limits. Drover runs the\n"
                               "job only on those printers, in that window, once; stock minisign verifies it."),
                             _("The secret key's password is asked on the terminal, or taken from the\n"
                               "environment variable " PASSWORD_ENV " when there is no terminal.\n"
                               "\n"
                               "As a slicer's post-processing step (PrusaSlicer, SuperSlicer, OrcaSlicer:\n"
                               "Print settings → Output options → Post-processing scripts), paste one line,\n"
                               "without a “;” at its end; the slicer adds the G-code's path itself:\n"
                               "\n"
                               "  /usr/bin/droverctl sign -s /home/me/.config/drover/signing.key --fleet\n"
                               "\n"
                               "The slicer runs it on a temporary copy; droverctl writes the signature beside\n"
                               "the file the slicer then saves (SLIC3R_PP_OUTPUT_NAME), so part.gcode and\n"
                               "part.gcode.minisig end up together. Put it last among the scripts: a script\n"
                               "after it that changes the G-code breaks the signature. With no terminal,\n"
                               "sign with a key in the desktop keyring (--keyring KEYID), use a key made\n"
                               "with -W for the slicer PC, or set " PASSWORD_ENV ".\n"
                               "\n"
                               "Exit status:\n"
                               "  0  the signature was written\n"
                               "  1  the secret key did not open (wrong password, damaged key), or the\n"
                               "     signature could not be written\n"
                               "  2  the command line was wrong, or FILE or the key (file or keyring) could\n"
                               "     not be read\n"
                               "\n"
                               "Examples:\n"
                               "  droverctl sign --printer farm/p-042 part.gcode\n"
                               "  droverctl sign --printer farm/p-001 --printer farm/p-002 --valid-for 8h part.gcode\n"
                               "  droverctl sign --fleet --max-hotend 260 --max-bed 110 benchy.gcode\n"
                               "  droverctl sign -s ci.key --fleet --not-before 2026-12-01T08:00:00Z --valid-for 2d part.gcode\n"
                               "  droverctl sign --keyring 40316D012E6B3FEB --fleet part.gcode\n"
                               "  minisign -Vm part.gcode -p signing.pub      # what a stock minisign says"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, &argc, &argv, &error) ||
      !check_temperature ("--max-hotend", max_hotend, &error) ||
      !check_temperature ("--max-bed", max_bed, &error))
    return usage_error (name, error->message);

  if (files == NULL || files[0] == NULL)
    return usage_error (name, _("Which file? Give the G-code file to sign."));
  if (files[1] != NULL)
    return usage_error (name, _("Give one file to sign at a time: each job gets its own id."));
  file = files[0];

  if (fleet && printers != NULL)
    return usage_error (name, _("Give either --printer or --fleet, not both."));
  if (keyring_id != NULL && secret_path != NULL)
    return usage_error (name, _("Give either -s or --keyring, not both."));
  if (!fleet && printers == NULL)
    return usage_error (name, _("Say which printers the job is for: --printer ID (as often as needed), or --fleet."));

  for (guint i = 0; printers != NULL && printers[i] != NULL; i++)
    if (printers[i][0] == '\0' || g_str_equal (printers[i], DROVER_MANIFEST_FLEET))
      return usage_error (name, _("--printer needs a printer id; for every printer, use --fleet."));

  if (valid_for != NULL && !parse_duration (valid_for, &lifetime))
    return usage_error (name, _("--valid-for needs a duration such as 90m, 8h, 2d or 1w, of at most 366 days."));

  if (job_id != NULL && !g_uuid_string_is_valid (job_id))
    return usage_error (name, _("--job-id needs a UUID, as 3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f."));

  manifest = drover_manifest_new ();
  if (not_before != NULL && !parse_time (not_before, &manifest->not_before))
    return usage_error (name, _("--not-before needs an ISO 8601 time, as 2026-12-01T08:00:00Z or 2026-12-01T09:00, or “now”."));
  manifest->not_after = manifest->not_before + lifetime;
  if (job_id != NULL)
    {
      g_free (manifest->job_id);
      manifest->job_id = g_ascii_strdown (job_id, -1);
    }
  manifest->fleet = fleet;
  if (printers != NULL)
    {
      g_strfreev (manifest->printers);
      manifest->printers = g_strdupv (printers);
    }
  manifest->max_hotend = max_hotend;
  manifest->max_bed = max_bed;
  manifest_text = drover_manifest_to_string (manifest);

  file_display = display_name (file);
  if (!g_file_test (file, G_FILE_TEST_IS_REGULAR))
    {
      g_printerr (_("%s: cannot read %s: it is not a file.\n"), name, file_display);
      return EXIT_USAGE;
    }

  signature_path = signature_path_for (file, signature_option, &error);
  if (signature_path == NULL)
    {
      g_printerr ("%s: %s.\n", name, error->message);
      return EXIT_USAGE;
    }

  if (keyring_id != NULL)
    {
      status = load_keyring_key (name, keyring_id, &key);
    }
  else
    {
      if (secret_path == NULL)
        secret_path = default_key_path ("signing.key");
      status = load_secret_key (name, secret_path, &key);
    }
  if (status != EXIT_OK)
    return status;

  signature = drover_minisign_sign_file (key, file, manifest_text, untrusted_comment, NULL, &error);
  if (signature == NULL)
    {
      g_printerr ("%s: %s: %s.\n", name, file_display, error->message);
      return EXIT_USAGE;
    }

  if (!write_file (signature_path, signature, 0644, &error))
    {
      g_printerr ("%s: %s\n", name, error->message);
      return EXIT_CHECK_FAILED;
    }

  signature_display = display_name (signature_path);
  start = drover_manifest_format_time (manifest->not_before);
  end = drover_manifest_format_time (manifest->not_after);
  whom = describe_printers (manifest);
  limits = describe_limits (manifest);
  key_id = drover_secret_key_dup_id (key);

  g_print (_("Signed %s with key %s: job %s, for %s, valid from %s until %s, %s.\n"),
           file_display, key_id, manifest->job_id, whom, start, end, limits);
  g_print (_("The signature is in %s.\n"), signature_display);

  return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* verify */

static char *
format_date (gint64 unix_time)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (unix_time);

  return time != NULL ? g_date_time_format (time, "%Y-%m-%d") : g_strdup ("?");
}

static char *
format_remaining (gint64 seconds)
{
  if (seconds < 2 * 3600)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d minute", "%d minutes", (gulong) (seconds / 60)),
                            (int) (seconds / 60));
  if (seconds < 2 * 86400)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d hour", "%d hours", (gulong) (seconds / 3600)),
                            (int) (seconds / 3600));
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d day", "%d days", (gulong) MIN (seconds / 86400, G_MAXINT)),
                          (int) MIN (seconds / 86400, G_MAXINT));
}

static int
refuse (const char *name,
        const char *file_display,
        const char *reason)
{
  g_printerr (_("%s: %s: NOT verified: %s.\n"), name, file_display, reason);
  return EXIT_CHECK_FAILED;
}

/* A legacy signature signs the whole file, which has to be in memory;
 * a prehashed one is checked reading 1 MiB at a time. */
static gboolean
verify_signature (const DroverSignature  *signature,
                  const DroverPublicKey  *key,
                  const char             *path,
                  GError                **error)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GBytes) content = NULL;

  if (drover_signature_get_prehashed (signature))
    return drover_signature_verify_file (signature, key, path, NULL, error);

  file = g_file_new_for_path (path);
  content = g_file_load_bytes (file, NULL, NULL, error);
  if (content == NULL)
    return FALSE;

  return drover_signature_verify_bytes (signature, key, content, error);
}

int
droverctl_verify_main (int    argc,
                       char **argv)
{
  const char *name = argv[0];
  g_autofree char *public_path = NULL;
  g_autofree char *store_path = NULL;
  g_autofree char *signature_option = NULL;
  g_autofree char *printer = NULL;
  g_auto(GStrv) files = NULL;
  const GOptionEntry entries[] = {
    { "public-key", 'p', 0, G_OPTION_ARG_FILENAME, &public_path,
      N_("Check with this public key instead of the trust store"), N_("KEY.pub") },
    { "trust-store", 0, 0, G_OPTION_ARG_FILENAME, &store_path,
      N_("The trusted keys (default: ~/.config/drover/trusted-keys.conf)"), N_("PATH") },
    { "signature", 'x', 0, G_OPTION_ARG_FILENAME, &signature_option,
      N_("The signature (default: FILE.minisig)"), N_("FILE.minisig") },
    { "printer", 0, 0, G_OPTION_ARG_STRING, &printer,
      N_("Also check that the job is for this printer"), N_("ID") },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, N_("FILE") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverSignature) signature = NULL;
  g_autoptr(DroverPublicKey) file_key = NULL;
  g_autoptr(DroverTrustStore) store = NULL;
  g_autoptr(DroverManifest) manifest = NULL;
  g_autofree char *signature_path = NULL;
  g_autofree char *file_display = NULL;
  g_autofree char *key_id = NULL;
  g_autofree char *signer = NULL;
  g_autofree char *whom = NULL;
  g_autofree char *start = NULL;
  g_autofree char *end = NULL;
  g_autofree char *limits = NULL;
  const DroverPublicKey *key;
  const char *file;
  gint64 now;

  context = command_context (name, NULL,
                             _("Check a signed print job the way Drover's gate does before it sends one: the\n"
                               "signature is by a trusted key that is not revoked, the file and the manifest\n"
                               "are the ones signed, the manifest is well formed, and the job's time window\n"
                               "is open (with 5 minutes' leeway for clocks). It says who signed the job, its\n"
                               "id, its printers, its window and its limits."),
                             _("Without -p the signer's key is looked up in the trust store by the key id\n"
                               "in the signature (see “droverctl trust”). With -p the key in KEY.pub is\n"
                               "used as is, which is what stock minisign does: useful to check a file\n"
                               "before its key is trusted. Whether the job id was used before is for the\n"
                               "Drover that runs the job to check, from its ledger.\n"
                               "\n"
                               "Exit status:\n"
                               "  0  the job checks out\n"
                               "  1  it does not: a bad signature, a key not trusted or revoked, a malformed\n"
                               "     manifest, another printer's job, or a window not open yet or over;\n"
                               "     the reason is on standard error\n"
                               "  2  the command line was wrong, or FILE, its signature, the key or the\n"
                               "     trust store could not be read\n"
                               "\n"
                               "Examples:\n"
                               "  droverctl verify part.gcode\n"
                               "  droverctl verify --printer farm/p-042 part.gcode\n"
                               "  droverctl verify -p alice.pub part.gcode\n"
                               "  droverctl verify --trust-store /etc/drover/trusted-keys.conf part.gcode"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (name, error->message);
  if (files == NULL || files[0] == NULL)
    return usage_error (name, _("Which file? Give the G-code file whose signature to check."));
  if (files[1] != NULL)
    return usage_error (name, _("Give one file at a time."));
  if (public_path != NULL && store_path != NULL)
    return usage_error (name, _("Give either -p or --trust-store, not both."));
  file = files[0];
  file_display = display_name (file);

  if (!g_file_test (file, G_FILE_TEST_IS_REGULAR))
    {
      g_printerr (_("%s: cannot read %s: it is not a file.\n"), name, file_display);
      return EXIT_USAGE;
    }

  signature_path = signature_option != NULL ? g_strdup (signature_option) : g_strconcat (file, ".minisig", NULL);
  signature = drover_signature_new_from_file (signature_path, &error);
  if (signature == NULL)
    {
      if (error->domain != DROVER_MINISIGN_ERROR)
        {
          g_autofree char *display = display_name (signature_path);

          g_printerr (_("%s: %s has no signature that can be read (%s): %s.\n"),
                      name, file_display, display, error->message);
          return EXIT_USAGE;
        }
      return refuse (name, file_display, error->message);
    }

  key_id = drover_signature_dup_key_id (signature);

  if (public_path != NULL)
    {
      g_autofree char *display = display_name (public_path);

      file_key = drover_public_key_new_from_file (public_path, &error);
      if (file_key == NULL)
        {
          g_printerr ("%s: %s\n", name, error->message);
          return EXIT_USAGE;
        }
      key = file_key;
      signer = g_strdup_printf (_("the key in %s (key id %s)"), display, key_id);
    }
  else
    {
      const DroverTrustedKey *trusted;
      g_autofree char *added = NULL;

      store = drover_trust_store_load (store_path, &error);
      if (store == NULL)
        {
          g_printerr ("%s: %s\n", name, error->message);
          return EXIT_USAGE;
        }

      trusted = drover_trust_store_find_in_force (store, key_id, &error);
      if (trusted == NULL)
        return refuse (name, file_display, error->message);

      key = trusted->key;
      added = format_date (trusted->added);
      signer = trusted->added != 0
               ? g_strdup_printf (_("“%s” (key %s), trusted since %s"), trusted->name, trusted->id, added)
               : g_strdup_printf (_("“%s” (key %s), a trusted key"), trusted->name, trusted->id);
    }

  if (!verify_signature (signature, key, file, &error))
    {
      if (error->domain != DROVER_MINISIGN_ERROR)
        {
          g_printerr (_("%s: cannot read %s: %s.\n"), name, file_display, error->message);
          return EXIT_USAGE;
        }
      return refuse (name, file_display, error->message);
    }

  g_print (_("%s: signed by %s.\n"), file_display, signer);

  /* Drover's gate takes only prehashed signatures (algorithm ED); a legacy
   * one checks out above, and is still not a Drover job. */
  if (!drover_signature_get_prehashed (signature))
    return refuse (name, file_display,
                   _("this is a legacy minisign signature (minisign -l); Drover runs only jobs signed with the default, prehashed algorithm ED: sign it again without -l"));

  manifest = drover_manifest_parse (drover_signature_get_trusted_comment (signature), &error);
  if (manifest == NULL)
    return refuse (name, file_display, error->message);

  whom = describe_printers (manifest);
  start = drover_manifest_format_time (manifest->not_before);
  end = drover_manifest_format_time (manifest->not_after);
  limits = describe_limits (manifest);
  g_print (_("%s: job %s, for %s.\n"), file_display, manifest->job_id, whom);
  g_print (_("%s: valid from %s until %s.\n"), file_display, start, end);
  g_print (_("%s: %s.\n"), file_display, limits);

  if (printer != NULL && !drover_manifest_names_printer (manifest, printer))
    {
      g_autofree char *reason = g_strdup_printf (_("the job is not for printer %s"), printer);

      return refuse (name, file_display, reason);
    }

  now = g_get_real_time () / G_USEC_PER_SEC;
  if (!drover_manifest_check_time (manifest, now, DROVER_MANIFEST_CLOCK_SKEW, &error))
    return refuse (name, file_display, error->message);

  if (now < manifest->not_after)
    {
      g_autofree char *remaining = format_remaining (manifest->not_after - now);

      g_print (_("%s: verified; the job may be sent for another %s.\n"), file_display, remaining);
    }
  else
    {
      g_print (_("%s: verified; the job has just expired, within the 5 minutes allowed for clocks.\n"),
               file_display);
    }

  return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* trust */

static int
trust_list (const char       *name,
            DroverTrustStore *store)
{
  GPtrArray *keys = drover_trust_store_get_keys (store);
  g_autofree char *display = display_name (drover_trust_store_get_path (store));

  if (keys->len == 0)
    {
      g_print (_("No keys are trusted yet (%s): no signed job will run.\n"), display);
      g_print (_("Add a signer’s key with: droverctl trust add NAME KEY.pub\n"));
      return EXIT_OK;
    }

  for (guint i = 0; i < keys->len; i++)
    {
      const DroverTrustedKey *trusted = g_ptr_array_index (keys, i);
      g_autofree char *added = drover_manifest_format_time (trusted->added);

      if (trusted->revoked != 0)
        {
          g_autofree char *revoked = drover_manifest_format_time (trusted->revoked);

          g_print (_("%s  %s: added %s, REVOKED %s\n"), trusted->id, trusted->name, added, revoked);
        }
      else
        {
          g_print (_("%s  %s: added %s, in force\n"), trusted->id, trusted->name, added);
        }
    }

  return EXIT_OK;
}

static int
trust_add (const char       *name,
           DroverTrustStore *store,
           const char       *key_name,
           const char       *key_source)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverPublicKey) key = NULL;
  g_autofree char *key_id = NULL;
  g_autofree char *display = display_name (drover_trust_store_get_path (store));

  /* A .pub file, or its base64 line pasted as is (what minisign -P takes). */
  if (g_file_test (key_source, G_FILE_TEST_EXISTS))
    {
      key = drover_public_key_new_from_file (key_source, &error);
      if (key == NULL)
        {
          g_printerr ("%s: %s\n", name, error->message);
          return EXIT_USAGE;
        }
    }
  else
    {
      key = drover_public_key_new_from_data (key_source, &error);
      if (key == NULL)
        {
          g_autofree char *source_display = display_name (key_source);

          g_printerr (_("%s: “%s” is neither a public key file nor a public key’s base64 line.\n"),
                      name, source_display);
          return EXIT_USAGE;
        }
    }

  if (!drover_trust_store_add (store, key_name, key, &error))
    {
      g_printerr ("%s: %s.\n", name, error->message);
      return g_error_matches (error, DROVER_TRUST_STORE_ERROR, DROVER_TRUST_STORE_ERROR_INVALID)
             ? EXIT_USAGE : EXIT_CHECK_FAILED;
    }

  if (!drover_trust_store_save (store, &error))
    {
      g_printerr ("%s: %s\n", name, error->message);
      return EXIT_CHECK_FAILED;
    }

  key_id = drover_public_key_dup_id (key);
  g_print (_("Key %s is trusted as “%s” (%s): its signed jobs may run.\n"), key_id, key_name, display);
  return EXIT_OK;
}

static int
trust_revoke (const char       *name,
              DroverTrustStore *store,
              const char       *key_id)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = drover_minisign_normalize_key_id (key_id);
  const DroverTrustedKey *trusted;
  g_autofree char *revoked = NULL;

  if (id == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("“%s” is not a key id: up to 16 hex digits, as “droverctl trust list” shows."),
                                                  key_id);
      return usage_error (name, message);
    }

  trusted = drover_trust_store_find (store, id);
  if (trusted != NULL && trusted->revoked != 0)
    {
      revoked = drover_manifest_format_time (trusted->revoked);
      g_print (_("Key %s (“%s”) was already revoked on %s.\n"), trusted->id, trusted->name, revoked);
      return EXIT_OK;
    }

  if (!drover_trust_store_revoke (store, id, &error))
    {
      g_printerr ("%s: %s.\n", name, error->message);
      return EXIT_CHECK_FAILED;
    }

  if (!drover_trust_store_save (store, &error))
    {
      g_printerr ("%s: %s\n", name, error->message);
      return EXIT_CHECK_FAILED;
    }

  trusted = drover_trust_store_find (store, id);
  revoked = drover_manifest_format_time (trusted->revoked);
  g_print (_("Key %s (“%s”) is revoked as of %s: its jobs are refused from now on, whenever they were signed.\n"),
           trusted->id, trusted->name, revoked);
  return EXIT_OK;
}

typedef struct
{
  const char *name;
  int         argc;   /* with "droverctl trust" and the action */
  const char *usage;
} TrustAction;

static const TrustAction trust_actions[] = {
  { "list", 2, N_("“list” takes nothing more.") },
  { "add", 4, N_("“add” takes a name and a public key: add NAME KEY.pub") },
  { "revoke", 3, N_("“revoke” takes a key id: revoke KEYID") },
};

int
droverctl_trust_main (int    argc,
                      char **argv)
{
  const char *name = argv[0];
  g_autofree char *store_path = NULL;
  const GOptionEntry entries[] = {
    { "trust-store", 0, 0, G_OPTION_ARG_FILENAME, &store_path,
      N_("The trusted keys (default: ~/.config/drover/trusted-keys.conf)"), N_("PATH") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverTrustStore) store = NULL;
  const TrustAction *known = NULL;
  const char *action;

  context = command_context (name, _("list | add NAME KEY.pub | revoke KEYID"),
                             _("List, add and revoke the keys whose signed jobs Drover runs."),
                             _("Commands:\n"
                               "  list                 every key: id, name, when added, in force or revoked\n"
                               "  add NAME KEY.pub     trust a signer's public key (a .pub file, or its\n"
                               "                       base64 line), under a name that says who signs\n"
                               "  revoke KEYID         refuse the key's jobs from now on, whenever they were\n"
                               "                       signed; a revoked key stays listed and cannot be\n"
                               "                       added again\n"
                               "\n"
                               "The trust store is a key file, one group per key ([key KEYID] with name=,\n"
                               "public-key=, added= and, once revoked, revoked=); Drover reads the same file.\n"
                               "\n"
                               "Exit status:\n"
                               "  0  done\n"
                               "  1  the key is trusted already, not in the store, or the store could not be saved\n"
                               "  2  the command line was wrong, or the key or the store could not be read\n"
                               "\n"
                               "Examples:\n"
                               "  droverctl trust add \"Alice (slicer PC)\" alice.pub\n"
                               "  droverctl trust add \"CI\" RWTrP2suAW0xQMlk7w…\n"
                               "  droverctl trust list\n"
                               "  droverctl trust revoke 40316D012E6B3FEB\n"
                               "  droverctl trust --trust-store /etc/drover/trusted-keys.conf list"));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (name, error->message);
  if (argc < 2)
    return usage_error (name, _("What to do? list, add or revoke."));

  action = argv[1];
  for (guint i = 0; i < G_N_ELEMENTS (trust_actions); i++)
    if (g_str_equal (action, trust_actions[i].name))
      known = &trust_actions[i];

  if (known == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("“%s” is not list, add or revoke."), action);

      return usage_error (name, message);
    }
  if (argc != known->argc)
    return usage_error (name, _(known->usage));

  store = drover_trust_store_load (store_path, &error);
  if (store == NULL)
    {
      g_printerr ("%s: %s\n", name, error->message);
      return EXIT_USAGE;
    }

  if (g_str_equal (action, "list"))
    return trust_list (name, store);
  if (g_str_equal (action, "add"))
    return trust_add (name, store, argv[2], argv[3]);
  return trust_revoke (name, store, argv[2]);
}
