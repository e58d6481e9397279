/* test-minisign.c: minisign keys and signatures, the manifest, the trust
 * store and droverctl keygen/sign/verify/trust
 *
 * Interoperability is checked against the real minisign (Debian's 0.11),
 * both ways: what Drover signs, minisign verifies, and the other way round,
 * with keys made by either, with and without a password. Every process
 * runs without a controlling terminal (setsid), so nothing can stop to ask
 * for a password, and is killed if it outlives its deadline.
 *
 * Password-protected keys cost scrypt at minisign's price (1 GiB, about
 * 2 s) each time one is made or opened; the tests pay it four times, two
 * at a time (a fifth with -m slow), and use a key with the cheapest scrypt
 * settings (which the key file carries) everywhere else.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "drover-core.h"
#include "drover-test-keyring.h"

#define PROCESS_DEADLINE_S 120
#define PASSWORD           "correct horse battery staple"

static char *minisign_path;

/* ------------------------------------------------------------------ */
/* A temporary folder, removed with everything in it */

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            remove_tree (child);
          else
            g_unlink (child);
        }
    }

  g_rmdir (path);
}

static void
temp_dir_free (char *path)
{
  remove_tree (path);
  g_free (path);
}

typedef char *TempDir;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (TempDir, temp_dir_free, NULL)

static char *
make_temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *path = g_dir_make_tmp ("drover-minisign-XXXXXX", &error);

  g_assert_no_error (error);
  return path;
}

static char *
write_temp (const char *dir,
            const char *name,
            const char *contents)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

static char *
read_text (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

/* ------------------------------------------------------------------ */
/* Processes, bounded, with no terminal */

typedef struct
{
  GSubprocess *process;
  gboolean     done;
  int          status;
  char        *out;
  char        *err;
} Run;

static void
run_clear (Run *run)
{
  g_clear_object (&run->process);
  g_clear_pointer (&run->out, g_free);
  g_clear_pointer (&run->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static void
child_setup (gpointer user_data)
{
  /* No controlling terminal: a password prompt fails at once instead of
   * waiting for a developer's keyboard. */
  setsid ();
}

static void
communicated_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &run->out, &run->err, &error);
  g_assert_no_error (error);
  run->status = g_subprocess_get_if_exited (run->process) ? g_subprocess_get_exit_status (run->process) : -1;
  run->done = TRUE;
}

/* @env: NULL-terminated "NAME=value" (set) and "NAME" (unset) entries. */
static void
run_start (Run                *run,
           const char         *input,
           const char * const *env,
           const char * const *argv)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;

  memset (run, 0, sizeof *run);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  /* Slicer variables from the environment the tests run in would move
   * droverctl's signatures elsewhere. */
  g_subprocess_launcher_unsetenv (launcher, "SLIC3R_PP_OUTPUT_NAME");
  g_subprocess_launcher_unsetenv (launcher, "SLIC3R_PP_HOST");
  g_subprocess_launcher_unsetenv (launcher, "DROVER_SIGNING_PASSWORD");

  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      const char *equals = strchr (env[i], '=');

      if (equals != NULL)
        {
          g_autofree char *variable = g_strndup (env[i], equals - env[i]);

          g_subprocess_launcher_setenv (launcher, variable, equals + 1, TRUE);
        }
      else
        {
          g_subprocess_launcher_unsetenv (launcher, env[i]);
        }
    }

  run->process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (run->process, input, NULL, communicated_cb, run);
}

static gboolean
deadline_cb (gpointer user_data)
{
  gboolean *passed = user_data;

  *passed = TRUE;
  return G_SOURCE_REMOVE;
}

static void
run_wait (Run *run)
{
  gboolean passed = FALSE;
  guint deadline = g_timeout_add_seconds (PROCESS_DEADLINE_S, deadline_cb, &passed);

  while (!run->done && !passed)
    g_main_context_iteration (NULL, TRUE);

  if (!run->done)
    {
      g_subprocess_force_exit (run->process);
      while (!run->done)
        g_main_context_iteration (NULL, TRUE);
      g_error ("A process ran for more than %d s", PROCESS_DEADLINE_S);
    }

  g_source_remove (deadline);
}

static void
run_sync (Run                *run,
          const char         *input,
          const char * const *env,
          const char * const *argv)
{
  run_start (run, input, env, argv);
  run_wait (run);
}

static const char *
droverctl (void)
{
  const char *path = g_getenv ("DROVERCTL_BIN");

  g_assert_nonnull (path);
  return path;
}

static gboolean
have_minisign (void)
{
  if (minisign_path != NULL)
    return TRUE;

  g_test_skip ("minisign is not installed (apt install minisign)");
  return FALSE;
}

#define ARGV(...) ((const char * const[]) { __VA_ARGS__, NULL })

/* ------------------------------------------------------------------ */
/* Keys made for the tests */

/* A key pair from `minisign -G -W`, in @dir as name.pub and name.key. */
static void
minisign_generate (const char  *dir,
                   const char  *name,
                   char       **public_path,
                   char       **secret_path)
{
  g_auto(Run) run = { 0 };
  g_autofree char *pub_name = g_strconcat (name, ".pub", NULL);
  g_autofree char *key_name = g_strconcat (name, ".key", NULL);

  *public_path = g_build_filename (dir, pub_name, NULL);
  *secret_path = g_build_filename (dir, key_name, NULL);
  run_sync (&run, NULL, NULL, ARGV (minisign_path, "-G", "-W", "-p", *public_path, "-s", *secret_path));
  g_assert_cmpint (run.status, ==, 0);
}

/* A password-protected key in minisign's format with scrypt's cheapest
 * settings, which the file carries: the same code path as minisign's
 * 1 GiB keys, in milliseconds. Written from the format, by hand. */
static char *
cheap_encrypted_key (const DroverSecretKey *key,
                     const char            *password)
{
  g_autofree char *plain = drover_secret_key_to_data (key, NULL);
  g_auto(GStrv) lines = g_strsplit (plain, "\n", -1);
  guint8 bytes[158];
  guint8 stream[104];
  gsize length = 0;
  g_autofree char *base64 = NULL;
  guint64 opslimit = crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN;
  guint64 memlimit = crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_MIN;

  g_assert_cmpint (sodium_base642bin (bytes, sizeof bytes, lines[1], strlen (lines[1]), NULL, &length, NULL,
                                      sodium_base64_VARIANT_ORIGINAL), ==, 0);
  g_assert_cmpuint (length, ==, sizeof bytes);

  memcpy (bytes + 2, "Sc", 2);
  randombytes_buf (bytes + 6, 32);
  for (int i = 0; i < 8; i++)
    {
      bytes[38 + i] = (opslimit >> (8 * i)) & 0xff;
      bytes[46 + i] = (memlimit >> (8 * i)) & 0xff;
    }
  g_assert_cmpint (crypto_pwhash_scryptsalsa208sha256 (stream, sizeof stream, password, strlen (password),
                                                       bytes + 6, opslimit, memlimit), ==, 0);
  for (gsize i = 0; i < sizeof stream; i++)
    bytes[54 + i] ^= stream[i];

  base64 = g_malloc (sodium_base64_ENCODED_LEN (sizeof bytes, sodium_base64_VARIANT_ORIGINAL));
  sodium_bin2base64 (base64, sodium_base64_ENCODED_LEN (sizeof bytes, sodium_base64_VARIANT_ORIGINAL),
                     bytes, sizeof bytes, sodium_base64_VARIANT_ORIGINAL);
  return g_strdup_printf ("untrusted comment: cheap test key\n%s\n", base64);
}

static char *
manifest_for (const char *printer)
{
  g_autoptr(DroverManifest) manifest = drover_manifest_new ();

  if (printer == NULL)
    {
      manifest->fleet = TRUE;
    }
  else
    {
      g_strfreev (manifest->printers);
      manifest->printers = g_strsplit (printer, ",", -1);
    }
  manifest->max_hotend = 260;
  manifest->max_bed = 110;
  return drover_manifest_to_string (manifest);
}

static const char gcode[] =
  "; sliced for the tests\n"
  "G28\n"
  "M104 S215\n"
  "M140 S60\n"
  "G1 X10 Y10 Z0.2 E0.5 F1500\n"
  "G1 X50 Y10 E2.1\n";

/* ------------------------------------------------------------------ */
/* Keys */

static void
test_keys_roundtrip (void)
{
  g_autoptr(DroverSecretKey) key = drover_secret_key_generate ();
  g_autoptr(DroverPublicKey) public_key = drover_secret_key_dup_public (key);
  g_autoptr(DroverPublicKey) again = NULL;
  g_autoptr(DroverPublicKey) bare = NULL;
  g_autoptr(DroverPublicKey) copy = NULL;
  g_autoptr(DroverSecretKey) reloaded = NULL;
  g_autoptr(DroverPublicKey) reloaded_public = NULL;
  g_autoptr(DroverSecretKey) other = drover_secret_key_generate ();
  g_autoptr(DroverPublicKey) other_public = drover_secret_key_dup_public (other);
  g_autoptr(GError) error = NULL;
  g_autofree char *id = drover_public_key_dup_id (public_key);
  g_autofree char *secret_id = drover_secret_key_dup_id (key);
  g_autofree char *text = drover_public_key_to_data (public_key);
  g_autofree char *base64 = drover_public_key_dup_base64 (public_key);
  g_autofree char *secret_text = drover_secret_key_to_data (key, NULL);
  g_autofree char *expected_comment = NULL;
  g_autofree char *normal = NULL;
  gboolean encrypted = TRUE;

  /* 16 upper-case hex digits, the same for both halves. */
  g_assert_cmpuint (strlen (id), ==, 16);
  for (guint i = 0; i < 16; i++)
    g_assert_true (g_ascii_isdigit (id[i]) || (id[i] >= 'A' && id[i] <= 'F'));
  g_assert_cmpstr (id, ==, secret_id);

  /* The .pub text is minisign's: comment, then base64 of "Ed" + id + key. */
  expected_comment = g_strdup_printf ("untrusted comment: minisign public key %s\n", id);
  g_assert_true (g_str_has_prefix (text, expected_comment));
  g_assert_true (g_str_has_prefix (base64, "RW"));  /* "Ed" */
  g_assert_cmpuint (strlen (base64), ==, 56);
  g_assert_true (g_str_has_suffix (text, "\n"));

  again = drover_public_key_new_from_data (text, &error);
  g_assert_no_error (error);
  g_assert_true (drover_public_key_equal (public_key, again));

  bare = drover_public_key_new_from_data (base64, &error);
  g_assert_no_error (error);
  g_assert_true (drover_public_key_equal (public_key, bare));

  copy = drover_public_key_copy (public_key);
  g_assert_true (drover_public_key_equal (copy, public_key));
  g_assert_false (drover_public_key_equal (copy, other_public));

  /* An unencrypted key, as minisign -G -W writes them: "Ed", no KDF, "B2". */
  g_assert_true (strstr (secret_text, "\nRWQAAEIy") != NULL);
  g_assert_true (drover_secret_key_get_encrypted_from_data (secret_text, &encrypted, &error));
  g_assert_no_error (error);
  g_assert_false (encrypted);
  reloaded = drover_secret_key_new_from_data (secret_text, NULL, &error);
  g_assert_no_error (error);
  reloaded_public = drover_secret_key_dup_public (reloaded);
  g_assert_true (drover_public_key_equal (reloaded_public, public_key));

  /* Ids as people type them, or as minisign 0.11 prints them. */
  normal = drover_minisign_normalize_key_id ("40316d012e6b3feb");
  g_assert_cmpstr (normal, ==, "40316D012E6B3FEB");
  g_clear_pointer (&normal, g_free);
  normal = drover_minisign_normalize_key_id ("316D012E6B3FEB");
  g_assert_cmpstr (normal, ==, "00316D012E6B3FEB");
  g_clear_pointer (&normal, g_free);
  g_assert_null (drover_minisign_normalize_key_id ("40316D012E6B3FEBA"));
  g_assert_null (drover_minisign_normalize_key_id ("XYZ"));
  g_assert_null (drover_minisign_normalize_key_id (""));
}

static void
test_keys_invalid (void)
{
  g_autoptr(DroverSecretKey) key = drover_secret_key_generate ();
  g_autoptr(DroverPublicKey) public_key = drover_secret_key_dup_public (key);
  g_autofree char *public_text = drover_public_key_to_data (public_key);
  g_autofree char *secret_text = drover_secret_key_to_data (key, NULL);
  g_autofree char *truncated = g_strndup (public_text, strlen (public_text) - 10);
  g_auto(TempDir) dir = make_temp_dir ();
  g_autofree char *big_path = NULL;
  g_autofree char *big = NULL;
  struct
  {
    const char *text;
    int         code;
    const char *says;
  } cases[] = {
    { "", DROVER_MINISIGN_ERROR_INVALID, "empty" },
    { "hello world", DROVER_MINISIGN_ERROR_INVALID, "not base64" },
    { truncated, DROVER_MINISIGN_ERROR_INVALID, "cut short" },
    { "untrusted comment: x\nRWQ\nmore\n", DROVER_MINISIGN_ERROR_INVALID, "lines" },
    { secret_text, DROVER_MINISIGN_ERROR_INVALID, "secret key" },
    /* "Ex" instead of "Ed": base64 of 42 bytes from another algorithm. */
    { "RXgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", DROVER_MINISIGN_ERROR_UNSUPPORTED, "algorithm" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DroverPublicKey) parsed = drover_public_key_new_from_data (cases[i].text, &error);

      g_test_message ("public key case %u: %s", i, error != NULL ? error->message : "(parsed)");
      g_assert_null (parsed);
      g_assert_error (error, DROVER_MINISIGN_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].says));
    }

  /* A public key where a secret key belongs, and a damaged secret key. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(DroverSecretKey) parsed = drover_secret_key_new_from_data (public_text, NULL, &error);
    g_autofree char *damaged = g_strdup (secret_text);
    char *line = strchr (damaged, '\n') + 1;

    g_assert_null (parsed);
    g_assert_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "public key, not a secret key"));
    g_clear_error (&error);

    /* One character of the secret key changed: the checksum catches it. */
    line[100] = line[100] == 'A' ? 'B' : 'A';
    parsed = drover_secret_key_new_from_data (damaged, NULL, &error);
    g_assert_null (parsed);
    g_assert_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "damaged"));
  }

  /* Files: missing is an I/O error; large is refused before it is read. */
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *missing = g_build_filename (dir, "missing.pub", NULL);
    g_autoptr(DroverPublicKey) parsed = drover_public_key_new_from_file (missing, &error);

    g_assert_null (parsed);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
    g_clear_error (&error);

    big = g_strnfill (100000, 'A');
    big_path = write_temp (dir, "big.pub", big);
    parsed = drover_public_key_new_from_file (big_path, &error);
    g_assert_null (parsed);
    g_assert_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "too large"));
  }
}

static void
test_keys_minisign_made (void)
{
  g_auto(TempDir) dir = make_temp_dir ();
  g_autofree char *public_path = NULL;
  g_autofree char *secret_path = NULL;
  g_autofree char *public_text = NULL;
  g_autofree char *id = NULL;
  g_autofree char *printed = NULL;
  g_autofree char *normal = NULL;
  g_autoptr(DroverPublicKey) public_key = NULL;
  g_autoptr(DroverSecretKey) key = NULL;
  g_autoptr(DroverPublicKey) derived = NULL;
  g_autoptr(GError) error = NULL;

  if (!have_minisign ())
    return;

  minisign_generate (dir, "made", &public_path, &secret_path);

  public_key = drover_public_key_new_from_file (public_path, &error);
  g_assert_no_error (error);
  key = drover_secret_key_new_from_file (secret_path, NULL, &error);
  g_assert_no_error (error);
  derived = drover_secret_key_dup_public (key);
  g_assert_true (drover_public_key_equal (derived, public_key));

  /* minisign 0.11 prints the id without leading zeros: compare them as
   * numbers, as people would. */
  public_text = read_text (public_path);
  {
    g_auto(GStrv) lines = g_strsplit (public_text, "\n", -1);

    g_assert_true (g_str_has_prefix (lines[0], "untrusted comment: minisign public key "));
    printed = g_strdup (strrchr (lines[0], ' ') + 1);
  }
  id = drover_public_key_dup_id (public_key);
  normal = drover_minisign_normalize_key_id (printed);
  g_assert_cmpstr (normal, ==, id);
}

static void
test_keys_encrypted_cheap (void)
{
  g_auto(TempDir) dir = make_temp_dir ();
  g_autoptr(DroverSecretKey) key = drover_secret_key_generate ();
  g_autoptr(DroverPublicKey) public_key = drover_secret_key_dup_public (key);
  g_autofree char *text = cheap_encrypted_key (key, PASSWORD);
  g_autoptr(DroverSecretKey) opened = NULL;
  g_autoptr(DroverPublicKey) opened_public = NULL;
  g_autoptr(GError) error = NULL;
  gboolean encrypted = FALSE;

  g_assert_true (drover_secret_key_get_encrypted_from_data (text, &encrypted, &error));
  g_assert_true (encrypted);

  opened = drover_secret_key_new_from_data (text, NULL, &error);
  g_assert_null (opened);
  g_assert_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_BAD_PASSWORD);
  g_assert_nonnull (strstr (error->message, "password"));
  g_clear_error (&error);

  opened = drover_secret_key_new_from_data (text, "wrong", &error);
  g_assert_null (opened);
  g_assert_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_BAD_PASSWORD);
  g_assert_nonnull (strstr (error->message, "Wrong password"));
  g_clear_error (&error);

  opened = drover_secret_key_new_from_data (text, PASSWORD, &error);
  g_assert_no_error (error);
  opened_public = drover_secret_key_dup_public (opened);
  g_assert_true (drover_public_key_equal (opened_public, public_key));

  /* minisign opens the same file with the same password (it reads the
   * scrypt settings from it) and its signature verifies in Drover. */
  if (have_minisign ())
    {
      g_autofree char *key_path = write_temp (dir, "cheap.key", text);
      g_autofree char *file = write_temp (dir, "part.gcode", gcode);
      g_autofree char *signature_path = g_strconcat (file, ".minisig", NULL);
      g_autoptr(DroverSignature) signature = NULL;
      g_auto(Run) run = { 0 };

      run_sync (&run, PASSWORD "\n", NULL,
                ARGV (minisign_path, "-S", "-s", key_path, "-m", file, "-t", "cheap"));
      g_assert_cmpint (run.status, ==, 0);

      signature = drover_signature_new_from_file (signature_path, &error);
      g_assert_no_error (error);
      g_assert_true (drover_signature_verify_file (signature, public_key, file, NULL, &error));
      g_assert_no_error (error);
    }
}

/* ------------------------------------------------------------------ */
/* Signatures, both ways */

static void
test_interop_drover_signs (void)
{
  g_auto(TempDir) dir = make_temp_dir ();
  g_autoptr(DroverSecretKey) key = drover_secret_key_generate ();
  g_autoptr(DroverPublicKey) public_key = drover_secret_key_dup_public (key);
  g_autofree char *public_text = drover_public_key_to_data (public_key);
  g_autofree char *secret_text = drover_secret_key_to_data (key, NULL);
  g_autofree char *public_path = write_temp (dir, "drover.pub", public_text);
  g_autofree char *secret_path = write_temp (dir, "drover.key", secret_text);
  g_autofree char *file = write_temp (dir, "part.gcode", gcode);
  g_autofree char *manifest = manifest_for ("farm/p-042");
  g_autofree char *signature_path = g_strconcat (file, ".minisig", NULL);
  g_autofree char *minisign_signature_path = g_build_filename (dir, "by-minisign.minisig", NULL);
  g_autofree char *signature = NULL;
  g_autofree char *minisign_signature = NULL;
  g_autofree char *expected = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Run) verify = { 0 };
  g_auto(Run) sign = { 0 };
  g_auto(GStrv) ours = NULL;
  g_auto(GStrv) theirs = NULL;

  if (!have_minisign ())
    return;

  signature = drover_minisign_sign_file (key, file, manifest, NULL, NULL, &error);
  g_assert_no_error (error);
  g_file_set_contents (signature_path, signature, -1, &error);
  g_assert_no_error (error);

  /* Stock minisign verifies it and shows the manifest as the trusted comment. */
  run_sync (&verify, NULL, NULL, ARGV (minisign_path, "-Vm", file, "-p", public_path));
  g_test_message ("minisign -V: %s%s", verify.out, verify.err);
  g_assert_cmpint (verify.status, ==, 0);
  g_assert_nonnull (strstr (verify.out, "Signature and comment signature verified"));
  expected = g_strdup_printf ("Trusted comment: %s\n", manifest);
  g_assert_nonnull (strstr (verify.out, expected));

  /* minisign signs with Drover's secret key file; Ed25519 is
   * deterministic, so the signature lines are byte for byte Drover's. */
  run_sync (&sign, NULL, NULL,
            ARGV (minisign_path, "-S", "-s", secret_path, "-m", file, "-x", minisign_signature_path, "-t", manifest));
  g_assert_cmpint (sign.status, ==, 0);
  minisign_signature = read_text (minisign_signature_path);
  g_assert_cmpstr (minisign_signature, ==, signature);
  ours = g_strsplit (signature, "\n", -1);
  theirs = g_strsplit (minisign_signature, "\n", -1);
  g_assert_cmpuint (g_strv_length (ours), ==, 5);
  g_assert_true (g_str_has_prefix (ours[1], "RU"));  /* "ED": prehashed */
}

static void
test_interop_minisign_signs (void)
{
  g_auto(TempDir) dir = make_temp_dir ();
  g_autofree char *public_path = NULL;
  g_autofree char *secret_path = NULL;
  g_autofree char *file = write_temp (dir, "part.gcode", gcode);
  g_autofree char *manifest = manifest_for ("farm/p-042,farm/p-043");
  g_autofree char *signature_path = g_strconcat (file, ".minisig", NULL);
  g_autofree char *signature_id = NULL;
  g_autofree char *key_id = NULL;
  g_autofree char *drover_signature = NULL;
  g_autofree char *minisign_signature = NULL;
  g_autoptr(DroverPublicKey) public_key = NULL;
  g_autoptr(DroverSecretKey) key = NULL;
  g_autoptr(DroverSignature) signature = NULL;
  g_autoptr(DroverManifest) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Run) sign = { 0 };
  guint8 hash[64];

  if (!have_minisign ())
    return;

  minisign_generate (dir, "minisign", &public_path, &secret_path);
  run_sync (&sign, NULL, NULL, ARGV (minisign_path, "-S", "-s", secret_path, "-m", file, "-t", manifest));
  g_assert_cmpint (sign.status, ==, 0);

  public_key = drover_public_key_new_from_file (public_path, &error);
  g_assert_no_error (error);
  signature = drover_signature_new_from_file (signature_path, &error);
  g_assert_no_error (error);

  g_assert_true (drover_signature_get_prehashed (signature));
  g_assert_cmpstr (drover_signature_get_trusted_comment (signature), ==, manifest);
  g_assert_cmpstr (drover_signature_get_untrusted_comment (signature), ==, "signature from minisign secret key");
  signature_id = drover_signature_dup_key_id (signature);
  key_id = drover_public_key_dup_id (public_key);
  g_assert_cmpstr (signature_id, ==, key_id);

  /* The streaming path, as the gate and the benchmark use it. */
  {
    g_autoptr(GFile) gfile = g_file_new_for_path (file);
    g_autoptr(GFileInputStream) stream = g_file_read (gfile, NULL, &error);

    g_assert_no_error (error);
    g_assert_true (drover_minisign_hash_stream (G_INPUT_STREAM (stream), hash, NULL, &error));
    g_assert_no_error (error);
    g_assert_true (drover_signature_verify_hash (signature, public_key, hash, &error));
    g_assert_no_error (error);
  }
  g_assert_true (drover_signature_verify_file (signature, public_key, file, NULL, &error));
  g_assert_no_error (error);

  parsed = drover_manifest_parse (drover_signature_get_trusted_comment (signature), &error);
  g_assert_no_error (error);
  g_assert_true (drover_manifest_names_printer (parsed, "farm/p-043"));
  g_assert_false (drover_manifest_names_printer (parsed, "farm/p-044"));

  /* Drover signs with minisign's secret key file: the same bytes. */
  key = drover_secret_key_new_from_file (secret_path, NULL, &error);
  g_assert_no_error (error);
  drover_signature = drover_minisign_sign_file (key, file, manifest, NULL, NULL, &error);
  g_assert_no_error (error);
  minisign_signature = read_text (signature_path);
  g_assert_cmpstr (drover_signature, ==, minisign_signature);
}

static void
test_interop_encrypted (void)
{
  g_auto(TempDir) dir = make_temp_dir ();
  g_autofree char *minisign_public = g_build_filename (dir, "minisign.pub", NULL);
  g_autofree char *minisign_secret = g_build_filename (dir, "minisign.key", NULL);
  g_autofree char *drover_public = g_build_filename (dir, "drover.pub", NULL);
  g_autofree char *drover_secret = g_build_filename (dir, "drover.key", NULL);
  g_autofree char *file = write_temp (dir, "part.gcode", gcode);
  g_autofree char *manifest = manifest_for (NULL);
  g_autofree char *password_env = g_strconcat ("DROVER_SIGNING_PASSWORD=", PASSWORD, NULL);
  g_autofree char *config_env = g_strconcat ("XDG_CONFIG_HOME=", dir, NULL);
  g_autofree char *secret_text = NULL;
  g_autofree char *minisign_secret_text = NULL;
  g_autofree char *signature_path = g_build_filename (dir, "by-minisign.minisig", NULL);
  g_autofree char *own_signature_path = g_build_filename (dir, "by-minisign-own-key.minisig", NULL);
  g_autofree char *signature_text = NULL;
  g_autoptr(DroverSecretKey) key = NULL;
  g_autoptr(DroverPublicKey) public_key = NULL;
  g_autoptr(DroverPublicKey) derived = NULL;
  g_autoptr(DroverPublicKey) drover_key = NULL;
  g_autoptr(DroverSignature) signature = NULL;
  g_autoptr(DroverSignature) own_signature = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Run) minisign_keygen = { 0 };
  g_auto(Run) drover_keygen = { 0 };
  g_auto(Run) minisign_sign = { 0 };
  g_auto(Run) minisign_own_sign = { 0 };
  g_auto(Run) verify = { 0 };
  gboolean encrypted = FALSE;

  if (!have_minisign ())
    return;

  /* Two password-protected key pairs at once, one by each program; each
   * costs a 1 GiB scrypt. */
  run_start (&minisign_keygen, PASSWORD "\n" PASSWORD "\n", NULL,
             ARGV (minisign_path, "-G", "-p", minisign_public, "-s", minisign_secret));
  run_start (&drover_keygen, NULL, ARGV (password_env, config_env),
             ARGV (droverctl (), "keygen", "-p", drover_public, "-s", drover_secret));
  run_wait (&minisign_keygen);
  run_wait (&drover_keygen);
  g_assert_cmpint (minisign_keygen.status, ==, 0);
  g_test_message ("droverctl keygen: %s%s", drover_keygen.out, drover_keygen.err);
  g_assert_cmpint (drover_keygen.status, ==, 0);
  g_assert_nonnull (strstr (drover_keygen.out, "protected by the password"));

  /* Drover's key is minisign's encrypted format ("Ed", "Sc", "B2"), and
   * owner-only. */
  secret_text = read_text (drover_secret);
  g_assert_nonnull (strstr (secret_text, "\nRWRTY0Iy"));
  {
    GStatBuf info;

    g_assert_cmpint (g_stat (drover_secret, &info), ==, 0);
    g_assert_cmpint (info.st_mode & 0777, ==, 0600);
  }

  /* minisign signs with Drover's key and with its own, the password on
   * standard input: two more scrypts, at once. */
  run_start (&minisign_sign, PASSWORD "\n", NULL,
             ARGV (minisign_path, "-S", "-s", drover_secret, "-m", file, "-x", signature_path, "-t", manifest));
  run_start (&minisign_own_sign, PASSWORD "\n", NULL,
             ARGV (minisign_path, "-S", "-s", minisign_secret, "-m", file, "-x", own_signature_path, "-t", manifest));
  run_wait (&minisign_sign);
  run_wait (&minisign_own_sign);
  g_test_message ("minisign -S: %s%s", minisign_sign.out, minisign_sign.err);
  g_assert_cmpint (minisign_sign.status, ==, 0);
  g_assert_cmpint (minisign_own_sign.status, ==, 0);

  /* minisign's encrypted key, minisign's signature: Drover verifies it. */
  public_key = drover_public_key_new_from_file (minisign_public, &error);
  g_assert_no_error (error);
  own_signature = drover_signature_new_from_file (own_signature_path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (drover_signature_get_trusted_comment (own_signature), ==, manifest);
  g_assert_true (drover_signature_verify_file (own_signature, public_key, file, NULL, &error));
  g_assert_no_error (error);

  drover_key = drover_public_key_new_from_file (drover_public, &error);
  g_assert_no_error (error);
  signature = drover_signature_new_from_file (signature_path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (drover_signature_get_trusted_comment (signature), ==, manifest);
  g_assert_true (drover_signature_verify_file (signature, drover_key, file, NULL, &error));
  g_assert_no_error (error);

  minisign_secret_text = read_text (minisign_secret);
  g_assert_true (drover_secret_key_get_encrypted_from_data (minisign_secret_text, &encrypted, &error));
  g_assert_true (encrypted);

  /* Drover opening minisign's own encrypted key is the same code as the
   * cheap key's above, at a 1 GiB scrypt: a fifth one, with -m slow only,
   * to keep this test well inside its time. */
  if (!g_test_slow ())
    {
      g_test_message ("Opening minisign's encrypted key in Drover is checked with -m slow");
      return;
    }

  key = drover_secret_key_new_from_data (minisign_secret_text, PASSWORD, &error);
  g_assert_no_error (error);
  derived = drover_secret_key_dup_public (key);
  g_assert_true (drover_public_key_equal (derived, public_key));

  /* What Drover signs with minisign's key, minisign verifies. */
  signature_text = drover_minisign_sign_file (key, file, manifest, NULL, NULL, &error);
  g_assert_no_error (error);
  g_file_set_contents (signature_path, signature_text, -1, &error);
  g_assert_no_error (error);
  run_sync (&verify, NULL, NULL, ARGV (minisign_path, "-Vm", file, "-x", signature_path, "-p", minisign_public));
  g_assert_cmpint (verify.status, ==, 0);
}

/* ------------------------------------------------------------------ */
/* Verification failures */

static void
test_verify_tampered (void)
{
  g_autoptr(DroverSecretKey) key = drover_secret_key_generate ();
  g_autoptr(DroverPublicKey) public_key = drover_secret_key_dup_public (key);
  g_autoptr(DroverSecretKey) other = drover_secret_key_generate ();
  g_autoptr(DroverPublicKey) other_public = drover_secret_key_dup_public (other);
  g_autoptr(GBytes) content = g_bytes_new_static (gcode, sizeof gcode - 1);
  g_autofree char *manifest = manifest_for ("farm/p-042");
  g_autofree char *text = NULL;
  g_autofree char *changed = g_strdup (gcode);
  g_autoptr(GBytes) changed_content = NULL;
  g_autoptr(DroverSignature) signature = NULL;
  g_autoptr(DroverSignature) forged = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) forged_text = NULL;
  g_autofree char *other_id = NULL;

  text = drover_minisign_sign_bytes (key, content, manifest, "a test job", &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (text, "untrusted comment: a test job\n"));
  signature = drover_signature_new_from_data (text, &error);
  g_assert_no_error (error);
  g_assert_true (drover_signature_verify_bytes (signature, public_key, content, &error));
  g_assert_no_error (error);

  /* One byte changed: "M104 S215" becomes "M104 X215". */
  *strstr (changed, "S215") = 'X';
  changed_content = g_bytes_new_take (g_steal_pointer (&changed), sizeof gcode - 1);
  g_assert_false (drover_signature_verify_bytes (signature, public_key, changed_content, &error));
  g_assert_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_BAD_SIGNATURE);
  g_assert_nonnull (strstr (error->message, "file does not match"));
  g_clear_error (&error);

  /* The trusted comment changed: p-042 becomes p-043. */
  forged_text = g_string_new (text);
  g_string_replace (forged_text, "farm/p-042", "farm/p-043", 1);
  forged = drover_signature_new_from_data (forged_text->str, &error);
  g_assert_no_error (error);
  g_assert_false (drover_signature_verify_bytes (forged, public_key, content, &error));
  g_assert_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_BAD_SIGNATURE);
  g_assert_nonnull (strstr (error->message, "trusted comment"));
  g_clear_error (&error);

  /* Another key: named by id, checked before any signature. */
  g_assert_false (drover_signature_verify_bytes (signature, other_public, content, &error));
  g_assert_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_WRONG_KEY);
  other_id = drover_public_key_dup_id (other_public);
  g_assert_nonnull (strstr (error->message, other_id));
  g_clear_error (&error);

  /* The same key id with another key's bytes, as a forger would try. */
  {
    g_autofree char *public_text = drover_public_key_to_data (public_key);
    g_autofree char *other_base64 = drover_public_key_dup_base64 (other_public);
    g_autofree char *own_base64 = drover_public_key_dup_base64 (public_key);
    guint8 own[42];
    guint8 theirs[42];
    gsize length;
    g_autofree char *mixed_base64 = g_malloc (sodium_base64_ENCODED_LEN (42, sodium_base64_VARIANT_ORIGINAL));
    g_autoptr(DroverPublicKey) mixed = NULL;

    sodium_base642bin (own, 42, own_base64, strlen (own_base64), NULL, &length, NULL, sodium_base64_VARIANT_ORIGINAL);
    sodium_base642bin (theirs, 42, other_base64, strlen (other_base64), NULL, &length, NULL, sodium_base64_VARIANT_ORIGINAL);
    memcpy (theirs + 2, own + 2, 8);
    sodium_bin2base64 (mixed_base64, sodium_base64_ENCODED_LEN (42, sodium_base64_VARIANT_ORIGINAL),
                       theirs, 42, sodium_base64_VARIANT_ORIGINAL);
    mixed = drover_public_key_new_from_data (mixed_base64, &error);
    g_assert_no_error (error);
    g_assert_false (drover_signature_verify_bytes (signature, mixed, content, &error));
    g_assert_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_BAD_SIGNATURE);
  }
}

static void
test_verify_malformed (void)
{
  g_autoptr(DroverSecretKey) key = drover_secret_key_generate ();
  g_autoptr(DroverPublicKey) public_key = drover_secret_key_dup_public (key);
  g_autoptr(GBytes) content = g_bytes_new_static (gcode, sizeof gcode - 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = drover_minisign_sign_bytes (key, content, "tc", NULL, &error);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_autofree char *two_lines = g_strdup_printf ("%s\n%s\n", lines[0], lines[1]);
  g_autofree char *three_lines = g_strdup_printf ("%s\n%s\n%s\n", lines[0], lines[1], lines[2]);
  g_autofree char *no_prefix = g_strdup_printf ("%s\n%s\n%s\n%s\n", "a comment", lines[1], lines[2], lines[3]);
  g_autofree char *bad_trusted = g_strdup_printf ("%s\n%s\n%s\n%s\n", lines[0], lines[1], "tc", lines[3]);
  g_autofree char *bad_base64 = g_strdup_printf ("%s\n%s\n%s\n%s\n", lines[0], "not*base64", lines[2], lines[3]);
  g_autofree char *short_global = g_strdup_printf ("%s\n%s\n%s\n%.20s\n", lines[0], lines[1], lines[2], lines[3]);
  g_autofree char *control = g_strdup_printf ("%s\n%s\n%s\x1b[2J\n%s\n", lines[0], lines[1], lines[2], lines[3]);
  g_autofree char *extra = g_strdup_printf ("%sand more\n", text);
  g_autofree char *public_text = drover_public_key_to_data (public_key);
  g_autofree char *key_as_signature = g_strdup_printf ("%s%s", public_text, "trusted comment: x\nAAAA\n");
  g_autofree char *crlf = NULL;
  g_autoptr(DroverSignature) from_crlf = NULL;
  g_autoptr(GString) other_algorithm = NULL;
  struct
  {
    const char *text;
    int         code;
    const char *says;
  } cases[] = {
    { "", DROVER_MINISIGN_ERROR_INVALID, "empty" },
    { "garbage\x01\x02 and more garbage", DROVER_MINISIGN_ERROR_INVALID, "untrusted comment" },
    { two_lines, DROVER_MINISIGN_ERROR_INVALID, "cut short" },
    { three_lines, DROVER_MINISIGN_ERROR_INVALID, "cut short" },
    { no_prefix, DROVER_MINISIGN_ERROR_INVALID, "untrusted comment" },
    { bad_trusted, DROVER_MINISIGN_ERROR_INVALID, "trusted comment" },
    { bad_base64, DROVER_MINISIGN_ERROR_INVALID, "not base64" },
    { short_global, DROVER_MINISIGN_ERROR_INVALID, "fourth line" },
    { control, DROVER_MINISIGN_ERROR_INVALID, "control characters" },
    { extra, DROVER_MINISIGN_ERROR_INVALID, "more than" },
    { key_as_signature, DROVER_MINISIGN_ERROR_INVALID, "public key" },
  };

  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(DroverSignature) signature = drover_signature_new_from_data (cases[i].text, &error);

      g_test_message ("signature case %u: %s", i, error != NULL ? error->message : "(parsed)");
      g_assert_null (signature);
      g_assert_error (error, DROVER_MINISIGN_ERROR, cases[i].code);
      g_assert_true (g_str_has_prefix (error->message, "This is not a minisign signature: "));
      g_assert_nonnull (strstr (error->message, cases[i].says));
      g_clear_error (&error);
    }

  /* An algorithm minisign does not have ("EX"): base64 of 74 bytes. */
  {
    guint8 bytes[74];
    gsize length;
    g_autofree char *base64 = g_malloc (sodium_base64_ENCODED_LEN (74, sodium_base64_VARIANT_ORIGINAL));
    g_autoptr(DroverSignature) signature = NULL;

    sodium_base642bin (bytes, 74, lines[1], strlen (lines[1]), NULL, &length, NULL, sodium_base64_VARIANT_ORIGINAL);
    bytes[1] = 'X';
    sodium_bin2base64 (base64, sodium_base64_ENCODED_LEN (74, sodium_base64_VARIANT_ORIGINAL),
                       bytes, 74, sodium_base64_VARIANT_ORIGINAL);
    other_algorithm = g_string_new (text);
    g_string_replace (other_algorithm, lines[1], base64, 1);
    signature = drover_signature_new_from_data (other_algorithm->str, &error);
    g_assert_null (signature);
    g_assert_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_UNSUPPORTED);
    g_clear_error (&error);
  }

  /* Windows line ends are read as minisign reads them. */
  {
    g_autoptr(GString) converted = g_string_new (text);

    g_string_replace (converted, "\n", "\r\n", 0);
    crlf = g_string_free (g_steal_pointer (&converted), FALSE);
  }
  from_crlf = drover_signature_new_from_data (crlf, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (drover_signature_get_trusted_comment (from_crlf), ==, "tc");
  g_assert_true (drover_signature_verify_bytes (from_crlf, public_key, content, &error));
  g_assert_no_error (error);
}

static void
test_verify_legacy (void)
{
  g_auto(TempDir) dir = make_temp_dir ();
  g_autofree char *public_path = NULL;
  g_autofree char *secret_path = NULL;
  g_autofree char *file = write_temp (dir, "part.gcode", gcode);
  g_autofree char *signature_path = g_strconcat (file, ".minisig", NULL);
  g_autoptr(DroverPublicKey) public_key = NULL;
  g_autoptr(DroverSignature) signature = NULL;
  g_autoptr(GBytes) content = g_bytes_new_static (gcode, sizeof gcode - 1);
  g_autoptr(GBytes) changed = g_bytes_new_static (gcode, sizeof gcode - 2);
  g_autoptr(GError) error = NULL;
  g_auto(Run) sign = { 0 };
  guint8 hash[64] = { 0 };

  if (!have_minisign ())
    return;

  minisign_generate (dir, "legacy", &public_path, &secret_path);
  run_sync (&sign, NULL, NULL, ARGV (minisign_path, "-S", "-l", "-s", secret_path, "-m", file, "-t", "legacy"));
  if (sign.status != 0)
    {
      g_test_skip ("this minisign cannot sign in the legacy format (no -l)");
      return;
    }

  public_key = drover_public_key_new_from_file (public_path, &error);
  g_assert_no_error (error);
  signature = drover_signature_new_from_file (signature_path, &error);
  g_assert_no_error (error);
  g_assert_false (drover_signature_get_prehashed (signature));

  g_assert_true (drover_signature_verify_bytes (signature, public_key, content, &error));
  g_assert_no_error (error);
  g_assert_false (drover_signature_verify_bytes (signature, public_key, changed, &error));
  g_assert_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);

  /* A hash is no use for a signature over the whole file. */
  g_assert_false (drover_signature_verify_hash (signature, public_key, hash, &error));
  g_assert_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "legacy"));
  g_clear_error (&error);
  g_assert_false (drover_signature_verify_file (signature, public_key, file, NULL, &error));
  g_assert_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_UNSUPPORTED);
}

static void
test_sign_comments (void)
{
  g_autoptr(DroverSecretKey) key = drover_secret_key_generate ();
  g_autoptr(GBytes) content = g_bytes_new_static (gcode, sizeof gcode - 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *longest = g_strnfill (DROVER_MINISIGN_TRUSTED_COMMENT_MAX, 'x');
  g_autofree char *too_long = g_strnfill (DROVER_MINISIGN_TRUSTED_COMMENT_MAX + 1, 'x');

  text = drover_minisign_sign_bytes (key, content, "two\nlines", NULL, &error);
  g_assert_null (text);
  g_assert_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "trusted comment"));
  g_clear_error (&error);

  text = drover_minisign_sign_bytes (key, content, "ok", "two\nlines", &error);
  g_assert_null (text);
  g_assert_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "untrusted comment"));
  g_clear_error (&error);

  text = drover_minisign_sign_bytes (key, content, too_long, NULL, &error);
  g_assert_null (text);
  g_assert_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID);
  g_clear_error (&error);

  /* The longest minisign reads, and minisign's default untrusted comment. */
  text = drover_minisign_sign_bytes (key, content, longest, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (text, "untrusted comment: signature from minisign secret key\n"));
  {
    g_autoptr(DroverSignature) signature = drover_signature_new_from_data (text, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (drover_signature_get_trusted_comment (signature), ==, longest);
  }
}

static void
test_hash_stream (void)
{
  /* 3.5 MiB, so that reads of 1 MiB end mid-way. */
  gsize size = 3 * 1024 * 1024 + 512 * 1024 + 7;
  g_autofree guint8 *data = g_malloc (size);
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  guint8 expected[64];
  guint8 hash[64];

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) (i * 31 + (i >> 11));

  crypto_generichash (expected, sizeof expected, data, size, NULL, 0);
  stream = g_memory_input_stream_new_from_data (data, size, NULL);
  g_assert_true (drover_minisign_hash_stream (stream, hash, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (hash, sizeof hash, expected, sizeof expected);

  /* An empty stream has a hash too. */
  g_clear_object (&stream);
  crypto_generichash (expected, sizeof expected, NULL, 0, NULL, 0);
  stream = g_memory_input_stream_new ();
  g_assert_true (drover_minisign_hash_stream (stream, hash, NULL, &error));
  g_assert_cmpmem (hash, sizeof hash, expected, sizeof expected);
}

/* ------------------------------------------------------------------ */
/* The manifest */

static void
test_manifest_roundtrip (void)
{
  g_autoptr(DroverManifest) manifest = drover_manifest_new ();
  g_autoptr(DroverManifest) parsed = NULL;
  g_autoptr(DroverManifest) fleet = NULL;
  g_autoptr(DroverManifest) copy = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *fleet_text = NULL;
  const char *canonical =
    "{\"drover\":1,\"job\":\"3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f\",\"printers\":[\"farm/p-042\"],"
    "\"not_before\":\"2026-11-25T10:00:00Z\",\"not_after\":\"2026-11-26T10:00:00Z\","
    "\"max_hotend\":260,\"max_bed\":110}";

  g_assert_true (g_uuid_string_is_valid (manifest->job_id));
  g_assert_cmpint (manifest->not_after - manifest->not_before, ==, 24 * 3600);

  /* DESIGN.md's format, member for member and byte for byte. */
  parsed = drover_manifest_parse (canonical, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (parsed->job_id, ==, "3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f");
  g_assert_cmpuint (g_strv_length (parsed->printers), ==, 1);
  g_assert_cmpstr (parsed->printers[0], ==, "farm/p-042");
  g_assert_false (parsed->fleet);
  g_assert_cmpint (parsed->not_before, ==, 1795600800);
  g_assert_cmpint (parsed->not_after, ==, 1795600800 + 86400);
  g_assert_cmpfloat (parsed->max_hotend, ==, 260);
  g_assert_cmpfloat (parsed->max_bed, ==, 110);
  text = drover_manifest_to_string (parsed);
  g_assert_cmpstr (text, ==, canonical);
  g_assert_null (strchr (text, '\n'));

  copy = drover_manifest_copy (parsed);
  g_clear_pointer (&text, g_free);
  text = drover_manifest_to_string (copy);
  g_assert_cmpstr (text, ==, canonical);

  /* The whole fleet, no limits, a fractional limit, odd printer ids. */
  manifest->fleet = TRUE;
  fleet_text = drover_manifest_to_string (manifest);
  g_assert_nonnull (strstr (fleet_text, "\"printers\":[\"*\"]"));
  g_assert_null (strstr (fleet_text, "max_"));
  fleet = drover_manifest_parse (fleet_text, &error);
  g_assert_no_error (error);
  g_assert_true (fleet->fleet);
  g_assert_cmpuint (g_strv_length (fleet->printers), ==, 0);
  g_assert_true (drover_manifest_names_printer (fleet, "anything/at-all"));
  g_assert_cmpfloat (fleet->max_hotend, ==, 0);

  g_clear_pointer (&manifest, drover_manifest_free);
  g_clear_pointer (&text, g_free);
  manifest = drover_manifest_new ();
  g_strfreev (manifest->printers);
  manifest->printers = g_strsplit ("shop \"A\"/p-1|farm/ü-2", "|", -1);
  manifest->max_bed = 62.5;
  text = drover_manifest_to_string (manifest);
  g_assert_nonnull (strstr (text, "\"shop \\\"A\\\"/p-1\""));
  g_assert_nonnull (strstr (text, "\"max_bed\":62.5"));
  g_clear_pointer (&parsed, drover_manifest_free);
  parsed = drover_manifest_parse (text, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (parsed->printers[0], ==, "shop \"A\"/p-1");
  g_assert_cmpstr (parsed->printers[1], ==, "farm/ü-2");
  g_assert_cmpfloat (parsed->max_bed, ==, 62.5);
  g_assert_true (drover_manifest_names_printer (parsed, "farm/ü-2"));
  g_assert_false (drover_manifest_names_printer (parsed, "farm/u-2"));

  /* Spaces and another UTC spelling, as a person writing -t by hand might. */
  g_clear_pointer (&parsed, drover_manifest_free);
  parsed = drover_manifest_parse ("{ \"drover\": 1, \"job\": \"3F2B8C1E-4D5A-4B6C-9E7F-0A1B2C3D4E5F\", "
                                  "\"printers\": [\"p\"], \"not_before\": \"2026-11-25T10:00:00+00:00\", "
                                  "\"not_after\": \"2026-11-25T12:00:00.5Z\" }", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (parsed->job_id, ==, "3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f");
  g_assert_cmpint (parsed->not_after - parsed->not_before, ==, 7200);
}

#define VALID_HEAD "{\"drover\":1,\"job\":\"3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f\","
#define VALID_PRINTERS "\"printers\":[\"farm/p-042\"],"
#define VALID_TIMES "\"not_before\":\"2026-11-25T10:00:00Z\",\"not_after\":\"2026-11-26T10:00:00Z\""

static void
test_manifest_malformed (void)
{
  struct
  {
    const char *text;
    int         code;
    const char *says;
  } cases[] = {
    { "timestamp:1795590213\tfile:part.gcode\thashed", DROVER_MANIFEST_ERROR_NOT_JSON, "without one" },
    { "{\"drover\":1", DROVER_MANIFEST_ERROR_NOT_JSON, "not a Drover job manifest" },
    { "[1,2]", DROVER_MANIFEST_ERROR_NOT_DROVER, "not a Drover job manifest" },
    { "{\"job\":\"x\"}", DROVER_MANIFEST_ERROR_NOT_DROVER, "no “drover” member" },
    { "{\"drover\":2," VALID_PRINTERS VALID_TIMES "}", DROVER_MANIFEST_ERROR_VERSION, "version 2" },
    { "{\"drover\":\"1\"}", DROVER_MANIFEST_ERROR_FIELD, "whole number 1" },
    { "{\"drover\":1.0}", DROVER_MANIFEST_ERROR_FIELD, "whole number 1" },
    { "{\"drover\":1," VALID_PRINTERS VALID_TIMES "}", DROVER_MANIFEST_ERROR_FIELD, "“job” is missing" },
    { "{\"drover\":1,\"job\":\"job-42\"," VALID_PRINTERS VALID_TIMES "}", DROVER_MANIFEST_ERROR_FIELD, "UUID" },
    { "{\"drover\":1,\"job\":42," VALID_PRINTERS VALID_TIMES "}", DROVER_MANIFEST_ERROR_FIELD, "UUID" },
    { VALID_HEAD VALID_TIMES "}", DROVER_MANIFEST_ERROR_FIELD, "“printers” is missing" },
    { VALID_HEAD "\"printers\":[]," VALID_TIMES "}", DROVER_MANIFEST_ERROR_FIELD, "empty" },
    { VALID_HEAD "\"printers\":\"farm/p-042\"," VALID_TIMES "}", DROVER_MANIFEST_ERROR_FIELD, "list" },
    { VALID_HEAD "\"printers\":[42]," VALID_TIMES "}", DROVER_MANIFEST_ERROR_FIELD, "not a string" },
    { VALID_HEAD "\"printers\":[\"\"]," VALID_TIMES "}", DROVER_MANIFEST_ERROR_FIELD, "not a printer id" },
    { VALID_HEAD "\"printers\":[\"*\",\"farm/p-1\"]," VALID_TIMES "}", DROVER_MANIFEST_ERROR_FIELD, "whole fleet" },
    { VALID_HEAD "\"printers\":[\"a\",\"a\"]," VALID_TIMES "}", DROVER_MANIFEST_ERROR_FIELD, "twice" },
    { VALID_HEAD VALID_PRINTERS "\"not_after\":\"2026-11-26T10:00:00Z\"}", DROVER_MANIFEST_ERROR_FIELD, "“not_before” is missing" },
    { VALID_HEAD VALID_PRINTERS "\"not_before\":\"2026-11-25T10:00:00Z\"}", DROVER_MANIFEST_ERROR_FIELD, "“not_after” is missing" },
    { VALID_HEAD VALID_PRINTERS "\"not_before\":1795600800,\"not_after\":\"2026-11-26T10:00:00Z\"}", DROVER_MANIFEST_ERROR_FIELD, "in quotes" },
    { VALID_HEAD VALID_PRINTERS "\"not_before\":\"tomorrow\",\"not_after\":\"2026-11-26T10:00:00Z\"}", DROVER_MANIFEST_ERROR_FIELD, "ISO 8601" },
    { VALID_HEAD VALID_PRINTERS "\"not_before\":\"2026-11-25T10:00:00\",\"not_after\":\"2026-11-26T10:00:00Z\"}", DROVER_MANIFEST_ERROR_FIELD, "UTC" },
    { VALID_HEAD VALID_PRINTERS "\"not_before\":\"2026-11-25T10:00:00+01:00\",\"not_after\":\"2026-11-26T10:00:00Z\"}", DROVER_MANIFEST_ERROR_FIELD, "UTC" },
    { VALID_HEAD VALID_PRINTERS "\"not_before\":\"2026-11-26T10:00:00Z\",\"not_after\":\"2026-11-26T10:00:00Z\"}", DROVER_MANIFEST_ERROR_FIELD, "must come after" },
    { VALID_HEAD VALID_PRINTERS "\"not_before\":\"2026-11-27T10:00:00Z\",\"not_after\":\"2026-11-26T10:00:00Z\"}", DROVER_MANIFEST_ERROR_FIELD, "must come after" },
    { VALID_HEAD VALID_PRINTERS VALID_TIMES ",\"max_hotend\":\"260\"}", DROVER_MANIFEST_ERROR_FIELD, "without quotes" },
    { VALID_HEAD VALID_PRINTERS VALID_TIMES ",\"max_hotend\":-5}", DROVER_MANIFEST_ERROR_FIELD, "above 0" },
    { VALID_HEAD VALID_PRINTERS VALID_TIMES ",\"max_bed\":0}", DROVER_MANIFEST_ERROR_FIELD, "leave it out" },
    { VALID_HEAD VALID_PRINTERS VALID_TIMES ",\"max_bed\":5000}", DROVER_MANIFEST_ERROR_FIELD, "at most 1000" },
    { VALID_HEAD VALID_PRINTERS VALID_TIMES ",\"max_chamber\":60}", DROVER_MANIFEST_ERROR_FIELD, "“max_chamber” is not a member" },
    { VALID_HEAD VALID_PRINTERS VALID_TIMES ",\"printers\":[\"*\"]}", DROVER_MANIFEST_ERROR_FIELD, "twice" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DroverManifest) manifest = drover_manifest_parse (cases[i].text, &error);

      g_test_message ("manifest case %u: %s", i, error != NULL ? error->message : "(parsed)");
      g_assert_null (manifest);
      g_assert_error (error, DROVER_MANIFEST_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].says));
      /* Every refusal is a sentence. */
      g_assert_true (g_ascii_isupper (error->message[0]));
    }
}

static void
test_manifest_time (void)
{
  g_autoptr(DroverManifest) manifest = drover_manifest_new ();
  g_autoptr(GError) error = NULL;
  gint64 skew = DROVER_MANIFEST_CLOCK_SKEW;

  manifest->not_before = 1000000;
  manifest->not_after = 1003600;

  g_assert_true (drover_manifest_check_time (manifest, 1000000, skew, &error));
  g_assert_true (drover_manifest_check_time (manifest, 1000000 - skew, skew, &error));
  g_assert_true (drover_manifest_check_time (manifest, 1003600 + skew - 1, skew, &error));
  g_assert_no_error (error);

  g_assert_false (drover_manifest_check_time (manifest, 1000000 - skew - 1, skew, &error));
  g_assert_error (error, DROVER_MANIFEST_ERROR, DROVER_MANIFEST_ERROR_NOT_YET_VALID);
  g_assert_nonnull (strstr (error->message, "not valid yet"));
  g_clear_error (&error);

  g_assert_false (drover_manifest_check_time (manifest, 1003600 + skew, skew, &error));
  g_assert_error (error, DROVER_MANIFEST_ERROR, DROVER_MANIFEST_ERROR_EXPIRED);
  g_assert_nonnull (strstr (error->message, "expired"));
}

/* Found by fuzz-manifest: json-glib turns a lone "\ude00x" into bytes
 * that are not UTF-8, and "%Y" wrote years before 1000 with fewer than four
 * digits, which the parser does not read back. */
static void
test_manifest_fuzzed (void)
{
  const char *refused[] = {
    VALID_HEAD VALID_PRINTERS VALID_TIMES ",\"max_\\ude00x\":1}",
    VALID_HEAD VALID_PRINTERS "\"not_before\":\"2026\\ude00x\",\"not_after\":\"2026-11-26T10:00:00Z\"}",
    VALID_HEAD "\"printers\":[\"farm/p-\\ude00x\"]," VALID_TIMES "}",
  };
  g_autoptr(DroverManifest) early = NULL;
  g_autoptr(DroverManifest) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(DroverManifest) manifest = drover_manifest_parse (refused[i], &error);

      g_assert_null (manifest);
      g_assert_error (error, DROVER_MANIFEST_ERROR, DROVER_MANIFEST_ERROR_FIELD);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_clear_error (&error);
    }

  early = drover_manifest_parse (VALID_HEAD VALID_PRINTERS
                                 "\"not_before\":\"0999-01-01T00:00:00Z\",\"not_after\":\"2026-11-26T10:00:00Z\"}",
                                 &error);
  g_assert_no_error (error);
  text = drover_manifest_to_string (early);
  g_assert_nonnull (strstr (text, "\"not_before\":\"0999-01-01T00:00:00Z\""));
  again = drover_manifest_parse (text, &error);
  g_assert_no_error (error);
  g_assert_cmpint (again->not_before, ==, early->not_before);
}

/* ------------------------------------------------------------------ */
/* The trust store */

static void
test_trust_store_roundtrip (void)
{
  g_auto(TempDir) dir = make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "config", "drover", "trusted-keys.conf", NULL);
  g_autoptr(DroverTrustStore) store = NULL;
  g_autoptr(DroverTrustStore) again = NULL;
  g_autoptr(DroverSecretKey) alice = drover_secret_key_generate ();
  g_autoptr(DroverSecretKey) bob = drover_secret_key_generate ();
  g_autoptr(DroverPublicKey) alice_public = drover_secret_key_dup_public (alice);
  g_autoptr(DroverPublicKey) bob_public = drover_secret_key_dup_public (bob);
  g_autofree char *alice_id = drover_public_key_dup_id (alice_public);
  g_autofree char *bob_id = drover_public_key_dup_id (bob_public);
  g_autofree char *lower = g_ascii_strdown (alice_id, -1);
  g_autofree char *file_text = NULL;
  g_autofree char *default_path = drover_trust_store_dup_default_path ();
  g_autoptr(GError) error = NULL;
  const DroverTrustedKey *found;
  GPtrArray *keys;

  g_assert_true (g_str_has_suffix (default_path, "/drover/trusted-keys.conf"));

  /* No file yet: an empty store, nobody trusted. */
  store = drover_trust_store_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (drover_trust_store_get_keys (store)->len, ==, 0);
  g_assert_null (drover_trust_store_find_in_force (store, alice_id, &error));
  g_assert_error (error, DROVER_TRUST_STORE_ERROR, DROVER_TRUST_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (drover_trust_store_add (store, "Alice (slicer PC)", alice_public, &error));
  g_assert_no_error (error);
  g_assert_true (drover_trust_store_add (store, "  Bob  ", bob_public, &error));
  g_assert_no_error (error);

  g_assert_false (drover_trust_store_add (store, "Alice again", alice_public, &error));
  g_assert_error (error, DROVER_TRUST_STORE_ERROR, DROVER_TRUST_STORE_ERROR_DUPLICATE);
  g_assert_nonnull (strstr (error->message, "already trusted"));
  g_clear_error (&error);

  g_assert_false (drover_trust_store_add (store, "  ", alice_public, &error));
  g_assert_error (error, DROVER_TRUST_STORE_ERROR, DROVER_TRUST_STORE_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_true (drover_trust_store_save (store, &error));
  g_assert_no_error (error);

  /* The file is the documented key file. */
  file_text = read_text (path);
  {
    g_autofree char *group = g_strdup_printf ("[key %s]\nname=Alice (slicer PC)\npublic-key=", alice_id);

    g_assert_nonnull (strstr (file_text, group));
    g_assert_nonnull (strstr (file_text, "\nadded=20"));
    g_assert_null (strstr (file_text, "revoked="));
  }

  again = drover_trust_store_load (path, &error);
  g_assert_no_error (error);
  keys = drover_trust_store_get_keys (again);
  g_assert_cmpuint (keys->len, ==, 2);
  found = g_ptr_array_index (keys, 1);
  g_assert_cmpstr (found->name, ==, "Bob");
  g_assert_cmpstr (found->id, ==, bob_id);
  g_assert_true (drover_public_key_equal (found->key, bob_public));
  g_assert_cmpint (found->revoked, ==, 0);
  g_assert_cmpint (found->added, >, 1700000000);

  /* Ids in any case, as people type them. */
  found = drover_trust_store_find (again, lower);
  g_assert_nonnull (found);
  g_assert_cmpstr (found->name, ==, "Alice (slicer PC)");
  g_assert_true (drover_trust_store_find_in_force (again, alice_id, &error) == found);

  /* Revoked, saved, loaded: refused from then on, and not addable again. */
  g_assert_true (drover_trust_store_revoke (again, lower, &error));
  g_assert_no_error (error);
  g_assert_true (drover_trust_store_revoke (again, alice_id, &error));
  g_assert_false (drover_trust_store_revoke (again, "0123456789ABCDEF", &error));
  g_assert_error (error, DROVER_TRUST_STORE_ERROR, DROVER_TRUST_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (drover_trust_store_save (again, &error));
  g_assert_no_error (error);

  g_clear_pointer (&store, drover_trust_store_free);
  store = drover_trust_store_load (path, &error);
  g_assert_no_error (error);
  found = drover_trust_store_find (store, alice_id);
  g_assert_cmpint (found->revoked, >, 0);
  g_assert_null (drover_trust_store_find_in_force (store, alice_id, &error));
  g_assert_error (error, DROVER_TRUST_STORE_ERROR, DROVER_TRUST_STORE_ERROR_REVOKED);
  g_assert_nonnull (strstr (error->message, "revoked"));
  g_clear_error (&error);
  g_assert_nonnull (drover_trust_store_find_in_force (store, bob_id, &error));

  g_assert_false (drover_trust_store_add (store, "Alice, new laptop", alice_public, &error));
  g_assert_error (error, DROVER_TRUST_STORE_ERROR, DROVER_TRUST_STORE_ERROR_DUPLICATE);
  g_assert_nonnull (strstr (error->message, "revoked"));
}

static void
test_trust_store_invalid (void)
{
  g_auto(TempDir) dir = make_temp_dir ();
  g_autoptr(DroverSecretKey) alice = drover_secret_key_generate ();
  g_autoptr(DroverSecretKey) bob = drover_secret_key_generate ();
  g_autoptr(DroverPublicKey) alice_public = drover_secret_key_dup_public (alice);
  g_autoptr(DroverPublicKey) bob_public = drover_secret_key_dup_public (bob);
  g_autofree char *alice_id = drover_public_key_dup_id (alice_public);
  g_autofree char *alice_base64 = drover_public_key_dup_base64 (alice_public);
  g_autofree char *bob_base64 = drover_public_key_dup_base64 (bob_public);
  struct
  {
    char       *text;
    const char *says;
  } cases[] = {
    /* Bob's key filed under Alice's id. */
    { g_strdup_printf ("[key %s]\nname=Alice\npublic-key=%s\n", alice_id, bob_base64), "id" },
    { g_strdup_printf ("[key %s]\nname=Alice\npublic-key=%s\nrevoked=last week\n", alice_id, alice_base64), "revoked" },
    { g_strdup_printf ("[key %s]\nname=Alice\npublic-key=%s\nrevoked=\n", alice_id, alice_base64), "revoked" },
    { g_strdup_printf ("[key %s]\npublic-key=%s\n", alice_id, alice_base64), "name" },
    { g_strdup_printf ("[key %s]\nname=Alice\n", alice_id), "public-key" },
    { g_strdup_printf ("[key %s]\nname=Alice\npublic-key=RWQ\n", alice_id), "minisign" },
    { g_strdup_printf ("[key Alice]\nname=Alice\npublic-key=%s\n", alice_base64), "16 hex digits" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = cases[i].text;
      g_autofree char *path = write_temp (dir, "trusted-keys.conf", text);
      g_autoptr(GError) error = NULL;
      g_autoptr(DroverTrustStore) store = drover_trust_store_load (path, &error);

      g_test_message ("trust store case %u: %s", i, error != NULL ? error->message : "(loaded)");
      g_assert_null (store);
      g_assert_error (error, DROVER_TRUST_STORE_ERROR, DROVER_TRUST_STORE_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, cases[i].says));
    }

  /* Not a key file at all. */
  {
    g_autofree char *path = write_temp (dir, "garbage.conf", "this is not = a key file\n[");
    g_autoptr(GError) error = NULL;
    g_autoptr(DroverTrustStore) store = drover_trust_store_load (path, &error);

    g_assert_null (store);
    g_assert_nonnull (error);
    g_assert_nonnull (strstr (error->message, "cannot be read"));
  }

  /* Other groups, comments and lower-case or unpadded ids are kept. */
  {
    g_autofree char *lower = g_ascii_strdown (alice_id, -1);
    g_autofree char *text = g_strdup_printf ("# Signers for the east hall\n[note]\nwho=ops\n\n"
                                             "[key %s]\nname=Alice\npublic-key=%s\nadded=2026-11-25T10:00:00Z\n",
                                             lower, alice_base64);
    g_autofree char *path = write_temp (dir, "kept.conf", text);
    g_autoptr(GError) error = NULL;
    g_autoptr(DroverTrustStore) store = drover_trust_store_load (path, &error);
    g_autofree char *saved = NULL;
    g_autoptr(DroverTrustStore) again = NULL;

    g_assert_no_error (error);
    g_assert_cmpint (drover_trust_store_find (store, alice_id)->added, ==, 1795600800);
    g_assert_true (drover_trust_store_revoke (store, alice_id, &error));
    g_assert_true (drover_trust_store_save (store, &error));
    g_assert_no_error (error);
    saved = read_text (path);
    g_assert_nonnull (strstr (saved, "# Signers for the east hall"));
    g_assert_nonnull (strstr (saved, "who=ops"));
    again = drover_trust_store_load (path, &error);
    g_assert_no_error (error);
    g_assert_cmpint (drover_trust_store_find (again, alice_id)->revoked, >, 0);
  }
}

/* ------------------------------------------------------------------ */
/* droverctl */

typedef struct
{
  char *dir;
  char *config_env;
  char *store;
  char *store_option;
} Cli;

static void
cli_init (Cli *cli)
{
  cli->dir = make_temp_dir ();
  cli->config_env = g_strconcat ("XDG_CONFIG_HOME=", cli->dir, "/config", NULL);
  cli->store = g_build_filename (cli->dir, "trusted-keys.conf", NULL);
  cli->store_option = g_strconcat ("--trust-store=", cli->store, NULL);
}

static void
cli_clear (Cli *cli)
{
  remove_tree (cli->dir);
  g_free (cli->dir);
  g_free (cli->config_env);
  g_free (cli->store);
  g_free (cli->store_option);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Cli, cli_clear)

static void
droverctl_run (Cli                *cli,
               Run                *run,
               const char * const *env,
               const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GPtrArray) all_env = g_ptr_array_new ();

  g_ptr_array_add (argv, (gpointer) droverctl ());
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);

  g_ptr_array_add (all_env, cli->config_env);
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    g_ptr_array_add (all_env, (gpointer) env[i]);
  g_ptr_array_add (all_env, NULL);

  run_sync (run, NULL, (const char * const *) all_env->pdata, (const char * const *) argv->pdata);
  g_test_message ("droverctl %s → %d\n%s%s", args[0], run->status, run->out, run->err);
}

static void
test_droverctl_keygen (void)
{
  g_auto(Cli) cli = { 0 };
  g_auto(Run) first = { 0 };
  g_auto(Run) again = { 0 };
  g_auto(Run) forced = { 0 };
  g_auto(Run) no_password = { 0 };
  g_auto(Run) defaults = { 0 };
  g_auto(Run) help = { 0 };
  g_autofree char *pub = NULL;
  g_autofree char *key = NULL;
  g_autofree char *pub_text = NULL;
  g_autofree char *default_key = NULL;
  g_autoptr(DroverSecretKey) secret = NULL;
  g_autoptr(GError) error = NULL;

  cli_init (&cli);
  pub = g_build_filename (cli.dir, "k.pub", NULL);
  key = g_build_filename (cli.dir, "k.key", NULL);

  droverctl_run (&cli, &first, NULL, ARGV ("keygen", "-W", "-p", pub, "-s", key));
  g_assert_cmpint (first.status, ==, 0);
  g_assert_nonnull (strstr (first.out, "without a password"));
  g_assert_nonnull (strstr (first.out, "droverctl trust add"));
  g_assert_nonnull (strstr (first.out, "minisign -Vm FILE -P RW"));
  secret = drover_secret_key_new_from_file (key, NULL, &error);
  g_assert_no_error (error);
  pub_text = read_text (pub);
  g_assert_true (g_str_has_prefix (pub_text, "untrusted comment: minisign public key "));

  /* No overwriting without -f. */
  droverctl_run (&cli, &again, NULL, ARGV ("keygen", "-W", "-p", pub, "-s", key));
  g_assert_cmpint (again.status, ==, 1);
  g_assert_nonnull (strstr (again.err, "exists already"));
  g_assert_nonnull (strstr (again.err, "-f"));
  droverctl_run (&cli, &forced, NULL, ARGV ("keygen", "-W", "-f", "-p", pub, "-s", key));
  g_assert_cmpint (forced.status, ==, 0);

  /* A password is needed, and there is neither a terminal nor the variable. */
  droverctl_run (&cli, &no_password, NULL, ARGV ("keygen", "-f", "-p", pub, "-s", key));
  g_assert_cmpint (no_password.status, ==, 2);
  g_assert_nonnull (strstr (no_password.err, "DROVER_SIGNING_PASSWORD"));
  g_assert_nonnull (strstr (no_password.err, "-W"));

  /* Defaults: ~/.config/drover/signing.{key,pub}. */
  droverctl_run (&cli, &defaults, NULL, ARGV ("keygen", "-W"));
  g_assert_cmpint (defaults.status, ==, 0);
  default_key = g_build_filename (cli.dir, "config", "drover", "signing.key", NULL);
  g_assert_true (g_file_test (default_key, G_FILE_TEST_IS_REGULAR));

  droverctl_run (&cli, &help, NULL, ARGV ("keygen", "--help"));
  g_assert_cmpint (help.status, ==, 0);
  g_assert_nonnull (strstr (help.out, "Exit status:"));
  g_assert_nonnull (strstr (help.out, "Examples:"));
}

static void
test_droverctl_sign_verify (void)
{
  g_auto(Cli) cli = { 0 };
  g_auto(Run) keygen = { 0 };
  g_auto(Run) sign = { 0 };
  g_auto(Run) minisign = { 0 };
  g_auto(Run) with_key = { 0 };
  g_auto(Run) untrusted = { 0 };
  g_auto(Run) trust = { 0 };
  g_auto(Run) trusted = { 0 };
  g_auto(Run) other_printer = { 0 };
  g_auto(Run) right_printer = { 0 };
  g_auto(Run) tampered = { 0 };
  g_auto(Run) expired = { 0 };
  g_auto(Run) expired_verify = { 0 };
  g_auto(Run) future = { 0 };
  g_auto(Run) future_verify = { 0 };
  g_auto(Run) no_printers = { 0 };
  g_auto(Run) both = { 0 };
  g_auto(Run) bad_duration = { 0 };
  g_auto(Run) missing = { 0 };
  g_auto(Run) no_signature = { 0 };
  g_auto(Run) garbage = { 0 };
  g_auto(Run) plain = { 0 };
  g_auto(Run) plain_verify = { 0 };
  g_auto(Run) help = { 0 };
  g_autofree char *pub = NULL;
  g_autofree char *key = NULL;
  g_autofree char *file = NULL;
  g_autofree char *signature_path = NULL;
  g_autofree char *signature_text = NULL;
  g_autofree char *missing_file = NULL;
  g_autoptr(DroverSignature) signature = NULL;
  g_autoptr(DroverManifest) manifest = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;

  cli_init (&cli);
  pub = g_build_filename (cli.dir, "k.pub", NULL);
  key = g_build_filename (cli.dir, "k.key", NULL);
  file = write_temp (cli.dir, "part.gcode", gcode);
  missing_file = g_build_filename (cli.dir, "missing.gcode", NULL);

  droverctl_run (&cli, &keygen, NULL, ARGV ("keygen", "-W", "-p", pub, "-s", key));
  g_assert_cmpint (keygen.status, ==, 0);

  droverctl_run (&cli, &sign, NULL,
                 ARGV ("sign", "-s", key, "--printer", "farm/p-042", "--printer", "farm/p-043",
                       "--valid-for", "8h", "--max-hotend", "260", "--max-bed", "110",
                       "--job-id", "3F2B8C1E-4D5A-4B6C-9E7F-0A1B2C3D4E5F", file));
  g_assert_cmpint (sign.status, ==, 0);
  g_assert_nonnull (strstr (sign.out, "3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f"));
  g_assert_nonnull (strstr (sign.out, "part.gcode.minisig"));

  signature_path = g_strconcat (file, ".minisig", NULL);
  signature_text = read_text (signature_path);
  signature = drover_signature_new_from_data (signature_text, &error);
  g_assert_no_error (error);
  manifest = drover_manifest_parse (drover_signature_get_trusted_comment (signature), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (manifest->job_id, ==, "3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f");
  g_assert_cmpuint (g_strv_length (manifest->printers), ==, 2);
  g_assert_cmpint (manifest->not_after - manifest->not_before, ==, 8 * 3600);
  g_assert_cmpfloat (manifest->max_hotend, ==, 260);
  g_assert_cmpfloat (manifest->max_bed, ==, 110);

  /* Stock minisign agrees and shows the manifest. */
  if (minisign_path != NULL)
    {
      run_sync (&minisign, NULL, NULL, ARGV (minisign_path, "-Vm", file, "-p", pub));
      g_assert_cmpint (minisign.status, ==, 0);
      expected = g_strdup_printf ("Trusted comment: %s\n", drover_signature_get_trusted_comment (signature));
      g_assert_nonnull (strstr (minisign.out, expected));
    }

  /* With the key given: the verdict in sentences. */
  droverctl_run (&cli, &with_key, NULL, ARGV ("verify", "-p", pub, file));
  g_assert_cmpint (with_key.status, ==, 0);
  g_assert_nonnull (strstr (with_key.out, "signed by the key in"));
  g_assert_nonnull (strstr (with_key.out, "job 3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f"));
  g_assert_nonnull (strstr (with_key.out, "printers farm/p-042, farm/p-043"));
  g_assert_nonnull (strstr (with_key.out, "valid from "));
  g_assert_nonnull (strstr (with_key.out, "hotend at most 260 °C, bed at most 110 °C"));
  g_assert_nonnull (strstr (with_key.out, "verified"));

  /* Through the trust store: not trusted, then trusted by name. */
  droverctl_run (&cli, &untrusted, NULL, ARGV ("verify", cli.store_option, file));
  g_assert_cmpint (untrusted.status, ==, 1);
  g_assert_nonnull (strstr (untrusted.err, "not a trusted key"));

  droverctl_run (&cli, &trust, NULL, ARGV ("trust", cli.store_option, "add", "Alice", pub));
  g_assert_cmpint (trust.status, ==, 0);
  droverctl_run (&cli, &trusted, NULL, ARGV ("verify", cli.store_option, file));
  g_assert_cmpint (trusted.status, ==, 0);
  g_assert_nonnull (strstr (trusted.out, "signed by “Alice” (key "));

  droverctl_run (&cli, &other_printer, NULL, ARGV ("verify", cli.store_option, "--printer", "farm/p-044", file));
  g_assert_cmpint (other_printer.status, ==, 1);
  g_assert_nonnull (strstr (other_printer.err, "not for printer farm/p-044"));
  droverctl_run (&cli, &right_printer, NULL, ARGV ("verify", cli.store_option, "--printer", "farm/p-043", file));
  g_assert_cmpint (right_printer.status, ==, 0);

  /* The file changed after signing. */
  g_free (write_temp (cli.dir, "part.gcode", "G28\nM104 S300\n"));
  droverctl_run (&cli, &tampered, NULL, ARGV ("verify", cli.store_option, file));
  g_assert_cmpint (tampered.status, ==, 1);
  g_assert_nonnull (strstr (tampered.err, "does not match its signature"));

  /* Windows over and not yet open; each says which. */
  droverctl_run (&cli, &expired, NULL,
                 ARGV ("sign", "-s", key, "--fleet", "--not-before", "2020-01-01T00:00:00Z", "--valid-for", "1h", file));
  g_assert_cmpint (expired.status, ==, 0);
  droverctl_run (&cli, &expired_verify, NULL, ARGV ("verify", cli.store_option, file));
  g_assert_cmpint (expired_verify.status, ==, 1);
  g_assert_nonnull (strstr (expired_verify.err, "expired"));
  g_assert_nonnull (strstr (expired_verify.out, "every printer of the fleet"));

  droverctl_run (&cli, &future, NULL,
                 ARGV ("sign", "-s", key, "--fleet", "--not-before", "2099-01-01T00:00:00Z", file));
  g_assert_cmpint (future.status, ==, 0);
  droverctl_run (&cli, &future_verify, NULL, ARGV ("verify", cli.store_option, file));
  g_assert_cmpint (future_verify.status, ==, 1);
  g_assert_nonnull (strstr (future_verify.err, "not valid yet"));

  /* A file signed by minisign without a manifest. */
  if (minisign_path != NULL)
    {
      g_autofree char *secret_copy = g_build_filename (cli.dir, "k.key", NULL);

      run_sync (&plain, NULL, NULL, ARGV (minisign_path, "-S", "-s", secret_copy, "-m", file));
      g_assert_cmpint (plain.status, ==, 0);
      droverctl_run (&cli, &plain_verify, NULL, ARGV ("verify", cli.store_option, file));
      g_assert_cmpint (plain_verify.status, ==, 1);
      g_assert_nonnull (strstr (plain_verify.err, "not a Drover job manifest"));
    }

  /* Command-line mistakes and unreadable files: 2. */
  droverctl_run (&cli, &no_printers, NULL, ARGV ("sign", "-s", key, file));
  g_assert_cmpint (no_printers.status, ==, 2);
  g_assert_nonnull (strstr (no_printers.err, "--fleet"));
  droverctl_run (&cli, &both, NULL, ARGV ("sign", "-s", key, "--fleet", "--printer", "p", file));
  g_assert_cmpint (both.status, ==, 2);
  droverctl_run (&cli, &bad_duration, NULL, ARGV ("sign", "-s", key, "--fleet", "--valid-for", "soon", file));
  g_assert_cmpint (bad_duration.status, ==, 2);
  g_assert_nonnull (strstr (bad_duration.err, "--valid-for"));
  droverctl_run (&cli, &missing, NULL, ARGV ("verify", cli.store_option, missing_file));
  g_assert_cmpint (missing.status, ==, 2);
  g_unlink (signature_path);
  droverctl_run (&cli, &no_signature, NULL, ARGV ("verify", cli.store_option, file));
  g_assert_cmpint (no_signature.status, ==, 2);
  g_assert_nonnull (strstr (no_signature.err, "no signature"));

  /* A garbage signature is a failed check, with the reason. */
  g_free (write_temp (cli.dir, "part.gcode.minisig", "untrusted comment: x\nnonsense\n"));
  droverctl_run (&cli, &garbage, NULL, ARGV ("verify", cli.store_option, file));
  g_assert_cmpint (garbage.status, ==, 1);
  g_assert_nonnull (strstr (garbage.err, "not a minisign signature"));

  droverctl_run (&cli, &help, NULL, ARGV ("sign", "--help"));
  g_assert_cmpint (help.status, ==, 0);
  g_assert_nonnull (strstr (help.out, "/usr/bin/droverctl sign -s /home/me/.config/drover/signing.key --fleet\n"));
  g_assert_nonnull (strstr (help.out, "SLIC3R_PP_OUTPUT_NAME"));
  g_assert_nonnull (strstr (help.out, "Exit status:"));
}

static void
test_droverctl_trust (void)
{
  g_auto(Cli) cli = { 0 };
  g_auto(Run) keygen = { 0 };
  g_auto(Run) empty = { 0 };
  g_auto(Run) add = { 0 };
  g_auto(Run) add_again = { 0 };
  g_auto(Run) add_base64 = { 0 };
  g_auto(Run) add_garbage = { 0 };
  g_auto(Run) list = { 0 };
  g_auto(Run) revoke = { 0 };
  g_auto(Run) revoke_again = { 0 };
  g_auto(Run) revoke_unknown = { 0 };
  g_auto(Run) revoke_bad = { 0 };
  g_auto(Run) listed = { 0 };
  g_auto(Run) wrong = { 0 };
  g_autofree char *pub = NULL;
  g_autofree char *key = NULL;
  g_autofree char *base64 = NULL;
  g_autofree char *id = NULL;
  g_autofree char *lower_id = NULL;
  g_autoptr(DroverPublicKey) public_key = NULL;
  g_autoptr(DroverPublicKey) other = NULL;
  g_autoptr(GError) error = NULL;

  cli_init (&cli);
  pub = g_build_filename (cli.dir, "k.pub", NULL);
  key = g_build_filename (cli.dir, "k.key", NULL);
  droverctl_run (&cli, &keygen, NULL, ARGV ("keygen", "-W", "-p", pub, "-s", key));
  g_assert_cmpint (keygen.status, ==, 0);
  public_key = drover_public_key_new_from_file (pub, &error);
  g_assert_no_error (error);
  id = drover_public_key_dup_id (public_key);
  lower_id = g_ascii_strdown (id, -1);

  {
    g_autoptr(DroverSecretKey) secret = drover_secret_key_generate ();

    other = drover_secret_key_dup_public (secret);
    base64 = drover_public_key_dup_base64 (other);
  }

  droverctl_run (&cli, &empty, NULL, ARGV ("trust", "list", cli.store_option));
  g_assert_cmpint (empty.status, ==, 0);
  g_assert_nonnull (strstr (empty.out, "No keys are trusted yet"));

  droverctl_run (&cli, &add, NULL, ARGV ("trust", "add", "Alice (slicer PC)", pub, cli.store_option));
  g_assert_cmpint (add.status, ==, 0);
  g_assert_nonnull (strstr (add.out, id));

  droverctl_run (&cli, &add_again, NULL, ARGV ("trust", "add", "Alice again", pub, cli.store_option));
  g_assert_cmpint (add_again.status, ==, 1);
  g_assert_nonnull (strstr (add_again.err, "already trusted"));

  /* The base64 line pasted as is. */
  droverctl_run (&cli, &add_base64, NULL, ARGV ("trust", "add", "CI", base64, cli.store_option));
  g_assert_cmpint (add_base64.status, ==, 0);

  droverctl_run (&cli, &add_garbage, NULL, ARGV ("trust", "add", "Mallory", "not-a-key", cli.store_option));
  g_assert_cmpint (add_garbage.status, ==, 2);
  g_assert_nonnull (strstr (add_garbage.err, "neither"));

  droverctl_run (&cli, &list, NULL, ARGV ("trust", "list", cli.store_option));
  g_assert_cmpint (list.status, ==, 0);
  g_assert_nonnull (strstr (list.out, "Alice (slicer PC)"));
  g_assert_nonnull (strstr (list.out, "CI"));
  g_assert_nonnull (strstr (list.out, "in force"));

  droverctl_run (&cli, &revoke, NULL, ARGV ("trust", "revoke", lower_id, cli.store_option));
  g_assert_cmpint (revoke.status, ==, 0);
  g_assert_nonnull (strstr (revoke.out, "revoked"));
  droverctl_run (&cli, &revoke_again, NULL, ARGV ("trust", "revoke", id, cli.store_option));
  g_assert_cmpint (revoke_again.status, ==, 0);
  g_assert_nonnull (strstr (revoke_again.out, "already revoked"));
  droverctl_run (&cli, &revoke_unknown, NULL, ARGV ("trust", "revoke", "0123456789ABCDEF", cli.store_option));
  g_assert_cmpint (revoke_unknown.status, ==, 1);
  droverctl_run (&cli, &revoke_bad, NULL, ARGV ("trust", "revoke", "Alice", cli.store_option));
  g_assert_cmpint (revoke_bad.status, ==, 2);

  droverctl_run (&cli, &listed, NULL, ARGV ("trust", "list", cli.store_option));
  g_assert_nonnull (strstr (listed.out, "REVOKED"));

  droverctl_run (&cli, &wrong, NULL, ARGV ("trust", "frobnicate", cli.store_option));
  g_assert_cmpint (wrong.status, ==, 2);

  /* A revoked key's jobs are refused. */
  {
    g_autofree char *file = write_temp (cli.dir, "part.gcode", gcode);
    g_auto(Run) sign = { 0 };
    g_auto(Run) verify = { 0 };

    droverctl_run (&cli, &sign, NULL, ARGV ("sign", "-s", key, "--fleet", file));
    g_assert_cmpint (sign.status, ==, 0);
    droverctl_run (&cli, &verify, NULL, ARGV ("verify", cli.store_option, file));
    g_assert_cmpint (verify.status, ==, 1);
    g_assert_nonnull (strstr (verify.err, "revoked"));
  }
}

static void
test_droverctl_slicer (void)
{
  g_auto(Cli) cli = { 0 };
  g_auto(Run) keygen = { 0 };
  g_auto(Run) post_process = { 0 };
  g_auto(Run) upload = { 0 };
  g_autofree char *key = NULL;
  g_autofree char *pub = NULL;
  g_autofree char *temporary = NULL;
  g_autofree char *output = NULL;
  g_autofree char *output_dir = NULL;
  g_autofree char *output_env = NULL;
  g_autofree char *signature_path = NULL;
  g_autofree char *temporary_signature = NULL;
  g_autofree char *shell_line = NULL;
  g_autofree char *quoted = NULL;
  g_autoptr(DroverPublicKey) public_key = NULL;
  g_autoptr(DroverSignature) signature = NULL;
  g_autoptr(GError) error = NULL;

  cli_init (&cli);
  key = g_build_filename (cli.dir, "slicer.key", NULL);
  pub = g_build_filename (cli.dir, "slicer.pub", NULL);
  droverctl_run (&cli, &keygen, NULL, ARGV ("keygen", "-W", "-p", pub, "-s", key));
  g_assert_cmpint (keygen.status, ==, 0);

  /* As PrusaSlicer runs it: "$SHELL -c '<line> '\''<path>'\'''" on a
   * temporary copy, with the final name in SLIC3R_PP_OUTPUT_NAME. */
  temporary = write_temp (cli.dir, ".12345.gcode.pp", gcode);
  output = g_build_filename (cli.dir, "out", "part's.gcode", NULL);
  output_dir = g_path_get_dirname (output);
  g_mkdir_with_parents (output_dir, 0700);
  output_env = g_strconcat ("SLIC3R_PP_OUTPUT_NAME=", output, NULL);
  quoted = g_shell_quote (temporary);
  shell_line = g_strdup_printf ("%s sign -s %s --fleet %s", droverctl (), key, quoted);
  {
    const char * const env[] = { cli.config_env, output_env, "SLIC3R_PP_HOST=File", NULL };

    run_sync (&post_process, NULL, env, ARGV ("/bin/sh", "-c", shell_line));
  }
  g_test_message ("post-processing: %s%s", post_process.out, post_process.err);
  g_assert_cmpint (post_process.status, ==, 0);

  /* The signature waits beside the file the slicer is about to write. */
  signature_path = g_strconcat (output, ".minisig", NULL);
  temporary_signature = g_strconcat (temporary, ".minisig", NULL);
  g_assert_true (g_file_test (signature_path, G_FILE_TEST_IS_REGULAR));
  g_assert_false (g_file_test (temporary_signature, G_FILE_TEST_EXISTS));
  public_key = drover_public_key_new_from_file (pub, &error);
  g_assert_no_error (error);
  signature = drover_signature_new_from_file (signature_path, &error);
  g_assert_no_error (error);
  g_assert_true (drover_signature_verify_file (signature, public_key, temporary, NULL, &error));
  g_assert_no_error (error);

  /* Uploading to a print host: the signature would be lost, so it fails. */
  {
    const char * const env[] = { cli.config_env, "SLIC3R_PP_OUTPUT_NAME=part.gcode", "SLIC3R_PP_HOST=OctoPrint", NULL };

    run_sync (&upload, NULL, env, ARGV (droverctl (), "sign", "-s", key, "--fleet", temporary));
  }
  g_assert_cmpint (upload.status, ==, 2);
  g_assert_nonnull (strstr (upload.err, "OctoPrint"));
}

static void
test_droverctl_password (void)
{
  g_auto(Cli) cli = { 0 };
  g_autoptr(DroverSecretKey) key = drover_secret_key_generate ();
  g_autoptr(DroverPublicKey) public_key = drover_secret_key_dup_public (key);
  g_autofree char *text = cheap_encrypted_key (key, PASSWORD);
  g_autofree char *key_path = NULL;
  g_autofree char *file = NULL;
  g_autofree char *signature_path = NULL;
  g_autofree char *password_env = g_strconcat ("DROVER_SIGNING_PASSWORD=", PASSWORD, NULL);
  g_autoptr(DroverSignature) signature = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Run) right = { 0 };
  g_auto(Run) wrong = { 0 };
  g_auto(Run) none = { 0 };

  cli_init (&cli);
  key_path = write_temp (cli.dir, "cheap.key", text);
  file = write_temp (cli.dir, "part.gcode", gcode);
  signature_path = g_strconcat (file, ".minisig", NULL);

  droverctl_run (&cli, &right, ARGV (password_env), ARGV ("sign", "-s", key_path, "--printer", "p-1", file));
  g_assert_cmpint (right.status, ==, 0);
  signature = drover_signature_new_from_file (signature_path, &error);
  g_assert_no_error (error);
  g_assert_true (drover_signature_verify_file (signature, public_key, file, NULL, &error));
  g_assert_no_error (error);

  droverctl_run (&cli, &wrong, ARGV ("DROVER_SIGNING_PASSWORD=wrong"), ARGV ("sign", "-s", key_path, "--fleet", file));
  g_assert_cmpint (wrong.status, ==, 1);
  g_assert_nonnull (strstr (wrong.err, "Wrong password"));

  droverctl_run (&cli, &none, NULL, ARGV ("sign", "-s", key_path, "--fleet", file));
  g_assert_cmpint (none.status, ==, 2);
  g_assert_nonnull (strstr (none.err, "no terminal"));
  g_assert_nonnull (strstr (none.err, "DROVER_SIGNING_PASSWORD"));
}

/* Runs last: the keyring fixture points the process's session bus at
 * its own private one. */
static void
test_droverctl_keyring (void)
{
  g_auto(Cli) cli = { 0 };
  g_autoptr(DroverTestKeyring) keyring = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverPublicKey) public_key = NULL;
  g_autoptr(DroverSignature) signature = NULL;
  g_autofree char *pub = NULL;
  g_autofree char *file = NULL;
  g_autofree char *signature_path = NULL;
  g_autofree char *default_key = NULL;
  g_autofree char *id = NULL;
  g_autofree char *lower_id = NULL;
  g_auto(Run) keygen = { 0 };
  g_auto(Run) with_file = { 0 };
  g_auto(Run) sign = { 0 };
  g_auto(Run) unknown = { 0 };
  g_auto(Run) both = { 0 };
  g_auto(Run) no_keyring = { 0 };

  keyring = drover_test_keyring_start (&error);
  if (keyring == NULL)
    {
      g_autofree char *message = g_strdup_printf ("no private keyring: %s", error->message);

      g_test_skip (message);
      return;
    }

  cli_init (&cli);
  pub = g_build_filename (cli.dir, "k.pub", NULL);
  file = write_temp (cli.dir, "part.gcode", gcode);
  signature_path = g_strconcat (file, ".minisig", NULL);
  default_key = g_build_filename (cli.dir, "config", "drover", "signing.key", NULL);

  droverctl_run (&cli, &keygen, NULL, ARGV ("keygen", "--keyring", "-p", pub));
  g_assert_cmpint (keygen.status, ==, 0);
  g_assert_nonnull (strstr (keygen.out, "in the keyring"));
  g_assert_false (g_file_test (default_key, G_FILE_TEST_EXISTS));

  public_key = drover_public_key_new_from_file (pub, &error);
  g_assert_no_error (error);
  id = drover_public_key_dup_id (public_key);
  lower_id = g_ascii_strdown (id, -1);

  droverctl_run (&cli, &with_file, NULL, ARGV ("keygen", "--keyring", "-f", "-p", pub, "-s", default_key));
  g_assert_cmpint (with_file.status, ==, 2);

  /* No password asked, no key file: the keyring hands the key over. */
  droverctl_run (&cli, &sign, NULL, ARGV ("sign", "--keyring", lower_id, "--printer", "farm/p-042", file));
  g_assert_cmpint (sign.status, ==, 0);
  signature = drover_signature_new_from_file (signature_path, &error);
  g_assert_no_error (error);
  g_assert_true (drover_signature_verify_file (signature, public_key, file, NULL, &error));
  g_assert_no_error (error);

  droverctl_run (&cli, &unknown, NULL, ARGV ("sign", "--keyring", "0123456789ABCDEF", "--fleet", file));
  g_assert_cmpint (unknown.status, ==, 2);
  g_assert_nonnull (strstr (unknown.err, "keeps no signing key 0123456789ABCDEF"));

  droverctl_run (&cli, &both, NULL, ARGV ("sign", "--keyring", id, "-s", default_key, "--fleet", file));
  g_assert_cmpint (both.status, ==, 2);

  droverctl_run (&cli, &no_keyring, ARGV ("DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/drover-no-bus"),
                 ARGV ("sign", "--keyring", id, "--fleet", file));
  g_assert_cmpint (no_keyring.status, ==, 2);
  g_assert_nonnull (strstr (no_keyring.err, "No keyring"));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);

  if (!drover_core_init (&error))
    g_error ("%s", error->message);

  minisign_path = g_find_program_in_path ("minisign");

  g_test_add_func ("/minisign/keys/roundtrip", test_keys_roundtrip);
  g_test_add_func ("/minisign/keys/invalid", test_keys_invalid);
  g_test_add_func ("/minisign/keys/minisign-made", test_keys_minisign_made);
  g_test_add_func ("/minisign/keys/encrypted-cheap", test_keys_encrypted_cheap);
  g_test_add_func ("/minisign/interop/drover-signs", test_interop_drover_signs);
  g_test_add_func ("/minisign/interop/minisign-signs", test_interop_minisign_signs);
  g_test_add_func ("/minisign/interop/encrypted", test_interop_encrypted);
  g_test_add_func ("/minisign/verify/tampered", test_verify_tampered);
  g_test_add_func ("/minisign/verify/malformed", test_verify_malformed);
  g_test_add_func ("/minisign/verify/legacy", test_verify_legacy);
  g_test_add_func ("/minisign/sign/comments", test_sign_comments);
  g_test_add_func ("/minisign/hash-stream", test_hash_stream);
  g_test_add_func ("/manifest/roundtrip", test_manifest_roundtrip);
  g_test_add_func ("/manifest/malformed", test_manifest_malformed);
  g_test_add_func ("/manifest/time", test_manifest_time);
  g_test_add_func ("/manifest/fuzzed", test_manifest_fuzzed);
  g_test_add_func ("/trust-store/roundtrip", test_trust_store_roundtrip);
  g_test_add_func ("/trust-store/invalid", test_trust_store_invalid);
  g_test_add_func ("/droverctl/keygen", test_droverctl_keygen);
  g_test_add_func ("/droverctl/sign-verify", test_droverctl_sign_verify);
  g_test_add_func ("/droverctl/trust", test_droverctl_trust);
  g_test_add_func ("/droverctl/slicer", test_droverctl_slicer);
  g_test_add_func ("/droverctl/password", test_droverctl_password);
  g_test_add_func ("/droverctl/zz-keyring", test_droverctl_keyring);

  return g_test_run ();
}
