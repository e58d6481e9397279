/* verify.c: signature verification against minisign -V on the same file
 *
 * Writes a file of --megabytes MB (1,000,000 bytes each; the same bytes on
 * every run) in a temporary directory, makes a key pair and signs the file
 * with the real minisign (-G -W, then -S with a Drover manifest as the
 * trusted comment), then times, in turn and best of 3 each:
 *
 *   minisign -Vm FILE -p KEY.pub -q          the reference, a whole process
 *   Drover: read the .pub and the .minisig, drover_minisign_hash_stream()
 *           over the file 1 MiB at a time, drover_signature_verify_hash()
 *
 * Both read the file from the page cache (a warm-up pass of each goes
 * first) and hash it with the same libsodium. The target from DESIGN.md:
 * Drover at most 1.1 × minisign's time. It prints whether that is met and
 * never fails on time.
 *
 *   build/bench/verify --megabytes 100
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "drover-core.h"

#define MEGABYTE 1000000.0
#define RUNS     3
#define TARGET   1.1

static int megabytes = 100;

static const GOptionEntry entries[] = {
  { "megabytes", 0, 0, G_OPTION_ARG_INT, &megabytes,
    "Size of the generated file in MB of 1,000,000 bytes (default 100)", "N" },
  { NULL }
};

/* xorshift64*: the same file on every machine. */
static guint64
next_random (guint64 *state)
{
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return *state * G_GUINT64_CONSTANT (2685821657736338717);
}

/* Lines that look like sliced G-code; the hash does not care, people
 * opening the file do. */
static gboolean
write_test_file (const char  *path,
                 gsize        size,
                 GError     **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileOutputStream) stream = NULL;
  g_autoptr(GString) chunk = g_string_sized_new (1024 * 1024 + 128);
  guint64 state = 0x9e3779b97f4a7c15;
  gsize written = 0;

  stream = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, error);
  if (stream == NULL)
    return FALSE;

  while (written < size)
    {
      g_string_truncate (chunk, 0);
      while (chunk->len < 1024 * 1024)
        {
          guint64 r = next_random (&state);

          g_string_append_printf (chunk, "G1 X%u.%03u Y%u.%03u E%u.%05u\n",
                                  (guint) (r % 250), (guint) ((r >> 8) % 1000),
                                  (guint) ((r >> 18) % 250), (guint) ((r >> 26) % 1000),
                                  (guint) ((r >> 36) % 3), (guint) ((r >> 40) % 100000));
        }

      if (!g_output_stream_write_all (G_OUTPUT_STREAM (stream), chunk->str,
                                      MIN (chunk->len, size - written), NULL, NULL, error))
        return FALSE;
      written += MIN (chunk->len, size - written);
    }

  return g_output_stream_close (G_OUTPUT_STREAM (stream), NULL, error);
}

static gboolean
run_quietly (const char * const  *argv,
             int                 *status,
             GError             **error)
{
  g_autoptr(GSubprocess) process = NULL;

  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE, error);
  if (process == NULL)
    return FALSE;

  if (!g_subprocess_wait (process, NULL, error))
    return FALSE;

  *status = g_subprocess_get_if_exited (process) ? g_subprocess_get_exit_status (process) : -1;
  return TRUE;
}

/* One `minisign -V`, as a person or a script would run it. */
static double
time_minisign (const char *minisign,
               const char *file,
               const char *public_path)
{
  const char *argv[] = { minisign, "-Vm", file, "-p", public_path, "-q", NULL };
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  int status = -1;

  if (!run_quietly (argv, &status, &error) || status != 0)
    g_error ("minisign -V failed (%d): %s", status, error != NULL ? error->message : "bad signature");

  return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
}

/* Drover's whole check: the key, the signature, the file's hash, both
 * signatures. */
static double
time_drover (const char *file,
             const char *public_path,
             const char *signature_path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverPublicKey) key = NULL;
  g_autoptr(DroverSignature) signature = NULL;
  g_autoptr(GFile) gfile = NULL;
  g_autoptr(GFileInputStream) stream = NULL;
  guint8 hash[64];
  gint64 start = g_get_monotonic_time ();

  key = drover_public_key_new_from_file (public_path, &error);
  if (key == NULL)
    g_error ("%s", error->message);
  signature = drover_signature_new_from_file (signature_path, &error);
  if (signature == NULL)
    g_error ("%s", error->message);

  gfile = g_file_new_for_path (file);
  stream = g_file_read (gfile, NULL, &error);
  if (stream == NULL || !drover_minisign_hash_stream (G_INPUT_STREAM (stream), hash, NULL, &error))
    g_error ("%s", error->message);
  if (!drover_signature_verify_hash (signature, key, hash, &error))
    g_error ("Drover did not verify minisign's signature: %s", error->message);

  return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
}

static void
remove_dir (const char *path)
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

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverManifest) manifest = NULL;
  g_autofree char *minisign = g_find_program_in_path ("minisign");
  g_autofree char *dir = NULL;
  g_autofree char *file = NULL;
  g_autofree char *public_path = NULL;
  g_autofree char *secret_path = NULL;
  g_autofree char *signature_path = NULL;
  g_autofree char *manifest_text = NULL;
  double best_minisign = G_MAXDOUBLE;
  double best_drover = G_MAXDOUBLE;
  double size;
  double ratio;
  int status = -1;

  setlocale (LC_ALL, "");
  g_option_context_set_summary (context, "Time Drover's signature check against minisign -V on the same file.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || megabytes < 1)
    {
      g_printerr ("verify: %s\n", error != NULL ? error->message : "--megabytes must be at least 1");
      return 2;
    }

  if (!drover_core_init (&error))
    g_error ("%s", error->message);

  if (minisign == NULL)
    {
      g_printerr ("verify: minisign is not installed (apt install minisign); nothing to compare with\n");
      return 1;
    }

  dir = g_dir_make_tmp ("drover-bench-verify-XXXXXX", &error);
  if (dir == NULL)
    g_error ("%s", error->message);
  file = g_build_filename (dir, "job.gcode", NULL);
  public_path = g_build_filename (dir, "bench.pub", NULL);
  secret_path = g_build_filename (dir, "bench.key", NULL);
  signature_path = g_strconcat (file, ".minisig", NULL);

  size = megabytes * MEGABYTE;
  g_print ("Writing %d MB of G-code to %s…\n", megabytes, file);
  if (!write_test_file (file, (gsize) size, &error))
    g_error ("%s", error->message);

  manifest = drover_manifest_new ();
  manifest->fleet = TRUE;
  manifest_text = drover_manifest_to_string (manifest);

  {
    const char *generate[] = { minisign, "-G", "-W", "-p", public_path, "-s", secret_path, NULL };
    const char *sign[] = { minisign, "-S", "-s", secret_path, "-m", file, "-t", manifest_text, NULL };

    if (!run_quietly (generate, &status, &error) || status != 0 ||
        !run_quietly (sign, &status, &error) || status != 0)
      g_error ("minisign could not make a key or sign: %s", error != NULL ? error->message : "failed");
  }

  /* Warm-up: the file into the page cache, both programs into memory. */
  time_minisign (minisign, file, public_path);
  time_drover (file, public_path, signature_path);

  /* Alternated, so that a busy moment on the machine hits both. */
  for (int run = 0; run < RUNS; run++)
    {
      double minisign_time = time_minisign (minisign, file, public_path);
      double drover_time = time_drover (file, public_path, signature_path);

      g_print ("run %d: minisign -V %.3f s, Drover %.3f s\n", run + 1, minisign_time, drover_time);
      best_minisign = MIN (best_minisign, minisign_time);
      best_drover = MIN (best_drover, drover_time);
    }

  ratio = best_drover / best_minisign;
  g_print ("\n%d MB, best of %d, file in the page cache:\n", megabytes, RUNS);
  g_print ("  minisign -Vm FILE -p KEY.pub  %7.3f s  %7.0f MB/s\n", best_minisign, size / MEGABYTE / best_minisign);
  g_print ("  Drover (hash_stream + verify) %7.3f s  %7.0f MB/s\n", best_drover, size / MEGABYTE / best_drover);
  g_print ("  Drover / minisign time: %.2f (target at most %.1f): %s\n",
           ratio, TARGET, ratio <= TARGET ? "met" : "NOT met");

  remove_dir (dir);
  return 0;
}
