/* fuzz-common.h: what every fuzz target shares
 *
 * Each target defines LLVMFuzzerTestOneInput() and includes this header
 * once. It gets:
 *  - FUZZ_CHECK (condition): a promise of the parser under test. When it
 *    does not hold, the target says which and aborts, which libFuzzer
 *    reports as a crash and saves the input;
 *  - LLVMFuzzerInitialize(): GLib's criticals and warnings abort too (a
 *    g_return_if_fail() or g_warn_if_fail() that fails is a bug of the
 *    parser or of the target), and the debug and
 *    info messages of the code under test are dropped, not printed a million
 *    times;
 *  - with DROVER_FUZZ_STANDALONE, a main() without libFuzzer that runs
 *    every file named on the command line once, and every file of every
 *    directory named: to replay the seeds in `meson test`, or a crash.
 *    With FUZZ_MAKE_SEEDS, `--make-seeds DIR` calls the target's
 *    fuzz_make_seeds() instead.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);
int LLVMFuzzerInitialize (int    *argc,
                          char ***argv);

#define FUZZ_CHECK(condition)                                             \
  G_STMT_START {                                                          \
    if (G_UNLIKELY (!(condition)))                                        \
      fuzz_fail (__FILE__, __LINE__, #condition);                         \
  } G_STMT_END

G_NORETURN static inline void
fuzz_fail (const char *file,
           int         line,
           const char *condition)
{
  fprintf (stderr, "%s:%d: broken promise: %s\n", file, line, condition);
  fflush (stderr);
  abort ();
}

/* Valid UTF-8 of at most @max bytes (0: any length). */
static inline gboolean
fuzz_is_text (const char *text,
              gsize       max)
{
  return text != NULL && g_utf8_validate (text, -1, NULL) && (max == 0 || strlen (text) <= max);
}

/* The input as a C string: a copy of exactly size + 1 bytes, so that
 * AddressSanitizer sees any read past its end. */
static inline char *
fuzz_strndup (const uint8_t *data,
              size_t         size)
{
  char *text = g_malloc (size + 1);

  if (size > 0)
    memcpy (text, data, size);
  text[size] = '\0';
  return text;
}

/* Split points taken from the input itself, so that the same input
 * always splits the same way: xorshift64 seeded with an FNV-1a hash. */
typedef struct
{
  guint64 state;
} FuzzSplitter;

static inline void
fuzz_splitter_init (FuzzSplitter  *splitter,
                    const uint8_t *data,
                    size_t         size)
{
  guint64 hash = 0xcbf29ce484222325u;

  for (size_t i = 0; i < size; i++)
    hash = (hash ^ data[i]) * 0x100000001b3u;
  splitter->state = hash != 0 ? hash : 1;
}

static inline guint64
fuzz_splitter_next (FuzzSplitter *splitter)
{
  guint64 x = splitter->state;

  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  splitter->state = x;
  return x;
}

/* The next chunk's size, 1 to @left bytes: often tiny, sometimes large. */
static inline size_t
fuzz_splitter_chunk (FuzzSplitter *splitter,
                     size_t        left,
                     size_t        large)
{
  guint64 r = fuzz_splitter_next (splitter);
  size_t size;

  switch (r & 3)
    {
    case 0:
      size = 1 + (size_t) ((r >> 2) % 3);
      break;
    case 1:
      size = 1 + (size_t) ((r >> 2) % 64);
      break;
    case 2:
      size = 1 + (size_t) ((r >> 2) % 4096);
      break;
    default:
      size = 1 + (size_t) ((r >> 2) % MAX (large, 1));
      break;
    }

  return MIN (size, left);
}

static GLogWriterOutput
fuzz_log_writer (GLogLevelFlags   level,
                 const GLogField *fields,
                 gsize            n_fields,
                 gpointer         user_data)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    {
      g_log_writer_standard_streams (level, fields, n_fields, user_data);
      abort ();
    }
  return G_LOG_WRITER_HANDLED;
}

static void
fuzz_log_handler (const char     *domain,
                  GLogLevelFlags  level,
                  const char     *message,
                  gpointer        user_data)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    {
      g_printerr ("%s: %s\n", domain != NULL ? domain : "fuzz", message);
      abort ();
    }
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_log_set_writer_func (fuzz_log_writer, NULL, NULL);
  g_log_set_default_handler (fuzz_log_handler, NULL);
  return 0;
}

#ifdef DROVER_FUZZ_STANDALONE
static int
fuzz_compare_paths (gconstpointer a,
                    gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static int
fuzz_replay_file (const char *path)
{
  g_autofree char *contents = NULL;
  gsize size = 0;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (path, &contents, &size, &error))
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  LLVMFuzzerTestOneInput ((const uint8_t *) contents, size);
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  guint replayed = 0;

  LLVMFuzzerInitialize (&argc, &argv);

#ifdef FUZZ_MAKE_SEEDS
  /* A target that makes some of its seeds itself (signed ones) defines
   * FUZZ_MAKE_SEEDS and fuzz_make_seeds() before including this. */
  if (argc == 3 && g_str_equal (argv[1], "--make-seeds"))
    return fuzz_make_seeds (argv[2]);
#endif

  for (int i = 1; i < argc; i++)
    {
      if (g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(GDir) dir = g_dir_open (argv[i], 0, &error);
          g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
          const char *name;

          if (dir == NULL)
            {
              g_printerr ("%s\n", error->message);
              return 1;
            }
          while ((name = g_dir_read_name (dir)) != NULL)
            g_ptr_array_add (names, g_build_filename (argv[i], name, NULL));
          g_ptr_array_sort (names, fuzz_compare_paths);  /* the same order every time */
          for (guint j = 0; j < names->len; j++)
            {
              const char *path = g_ptr_array_index (names, j);

              if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
                continue;
              if (fuzz_replay_file (path) != 0)
                return 1;
              replayed++;
            }
        }
      else
        {
          if (fuzz_replay_file (argv[i]) != 0)
            return 1;
          replayed++;
        }
    }

  g_print ("%u inputs replayed\n", replayed);
  return 0;
}
#endif
