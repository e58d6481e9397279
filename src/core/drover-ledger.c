/* drover-ledger.c: the farm's append-only, hash-chained record
 *
 * One SQLite file, one table. Every row carries the hash of the row before
 * it, so that changing or removing a row anywhere but at the very end
 * breaks the chain where it happened; drover_ledger_verify_file() walks
 * the chain and names that row. docs/ledger.md has the exact bytes hashed.
 *
 * Rows are written by one thread per ledger, in the order they were
 * queued: the main thread only queues. Opening reads the schema and
 * nothing else, so that a ledger of a million rows opens as fast as an
 * empty one; verification is a separate, explicit walk.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-ledger"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <errno.h>
#include <json-glib/json-glib.h>
#include <sodium.h>
#include <sqlite3.h>
#include <string.h>

#include "drover-ledger.h"

#define SCHEMA_VERSION 1
/* "DRVR": lets `file` and other tools tell a Drover ledger from any
 * SQLite database. */
#define LEDGER_APPLICATION_ID 0x44525652
#define HASH_BYTES 32
#define HASH_HEX_LENGTH (HASH_BYTES * 2)
/* Bounds one transaction, so one commit never holds the write lock for
 * long even when thousands of rows wait. */
#define MAX_BATCH 512
/* Rows that could not be written (full disk, read-only file) wait in
 * memory and are tried again this often, and at every new append. */
#define RETRY_INTERVAL_US (5 * G_USEC_PER_SEC)
/* Beyond this many waiting rows the oldest are given up, and counted. */
#define MAX_HELD 100000
#define DEFAULT_QUERY_LIMIT 1000
#define BUSY_TIMEOUT_MS 5000
/* How many SQLite virtual machine steps between two looks at the
 * cancellable, in queries, verification and export. */
#define PROGRESS_STEPS 10000

static const char schema_sql[] =
  "CREATE TABLE ledger ("
  "  seq INTEGER PRIMARY KEY,"
  "  time_us INTEGER NOT NULL,"
  "  kind TEXT NOT NULL CHECK (kind <> ''),"
  "  printer TEXT,"
  "  subject TEXT,"
  "  body TEXT NOT NULL,"
  "  prev_hash TEXT NOT NULL CHECK (length (prev_hash) = 64),"
  "  hash TEXT NOT NULL CHECK (length (hash) = 64)"
  ");"
  /* "Was file NAME sent to printer P?", a printer's history, and the
   * newest rows of one kind (the alerts list) without sorting them all. */
  "CREATE INDEX ledger_printer_kind ON ledger (printer, kind);"
  "CREATE INDEX ledger_kind_subject ON ledger (kind, subject);"
  "CREATE INDEX ledger_kind ON ledger (kind);"
  /* The triggers stop mistakes, not an attacker, who can drop them: the
   * hash chain is what shows that a row changed. */
  "CREATE TRIGGER ledger_refuse_update BEFORE UPDATE ON ledger "
  "BEGIN SELECT RAISE (ABORT, 'The Drover ledger is append-only: a row cannot be changed; "
  "record a new row instead (see docs/ledger.md)'); END;"
  "CREATE TRIGGER ledger_refuse_delete BEFORE DELETE ON ledger "
  "BEGIN SELECT RAISE (ABORT, 'The Drover ledger is append-only: a row cannot be deleted "
  "(see docs/ledger.md)'); END;"
  /* INSERT OR REPLACE deletes without firing the delete trigger, and an
   * insert into a gap would hide a removed row: a new row must take the
   * next number. */
  "CREATE TRIGGER ledger_refuse_insert BEFORE INSERT ON ledger "
  "WHEN NEW.seq IS NOT coalesce ((SELECT max (seq) FROM ledger), 0) + 1 "
  "BEGIN SELECT RAISE (ABORT, 'The Drover ledger is append-only: a new row must take the next "
  "sequence number (see docs/ledger.md)'); END;";

static const char select_columns[] = "SELECT seq, time_us, kind, printer, subject, body, prev_hash, hash FROM ledger";

typedef enum
{
  PENDING_ROW,
  PENDING_FLUSH,
} PendingType;

/* One call to append or flush, waiting for the writer thread. */
typedef struct
{
  PendingType        type;
  gint64             time_us;
  char              *kind;
  char              *printer;
  char              *subject;
  char              *body;
  GTask             *task;      /* NULL for drover_ledger_append() */
  /* Set by the writer: */
  DroverLedgerEntry *entry;
  GError            *error;
} Pending;

/* What the ledger object and its writer thread share. The writer holds a
 * reference to this and none to the object, and hands the tasks, which do
 * hold the object, back to their own contexts: the object's last
 * reference must never go on the writer thread, which would then have to
 * join itself. */
typedef struct
{
  GMutex        mutex;
  GCond         cond;
  GQueue        pending;            /* Pending, in the order of calls */
  gboolean      closing;
  GQueue        committed;          /* DroverLedgerEntry, for the "committed" signal */
  gboolean      committed_scheduled;
  DroverLedger *owner;              /* NULL once disposed */
  GMainContext *context;            /* where "committed" is emitted */

  /* Only the writer thread touches these once it runs. */
  sqlite3      *db;
  char         *path;
  gboolean      read_only;
  guint         failed_since_flush;
  GError       *first_failure_since_flush;

  /* Under the mutex: rows kept for another try, oldest first, and what
   * the owner is told about them. */
  GQueue        held;               /* Pending without a task */
  guint64       lost;               /* given up beyond MAX_HELD */
  char         *problem;            /* why rows wait, or NULL */
  gboolean      status_changed;
  gboolean      holding;            /* rows waited after the last write */
} LedgerState;

struct _DroverLedger
{
  GObject      parent_instance;

  char        *path;
  gboolean     read_only;
  LedgerState *state;
  GThread     *writer;
  char        *problem;
  guint        n_held;
  guint64      n_lost;
};

enum
{
  COMMITTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum
{
  PROP_0,
  PROP_PROBLEM,
  PROP_HELD,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (DroverLedger, drover_ledger, G_TYPE_OBJECT)
G_DEFINE_BOXED_TYPE (DroverLedgerEntry, drover_ledger_entry, drover_ledger_entry_copy, drover_ledger_entry_free)
G_DEFINE_QUARK (drover-ledger-error-quark, drover_ledger_error)

/* Entries and verdicts */

/**
 * drover_ledger_entry_copy:
 * @entry: a row
 *
 * Returns: (transfer full): a copy of @entry
 */
DroverLedgerEntry *
drover_ledger_entry_copy (const DroverLedgerEntry *entry)
{
  DroverLedgerEntry *copy;

  g_return_val_if_fail (entry != NULL, NULL);

  copy = g_new0 (DroverLedgerEntry, 1);
  copy->seq = entry->seq;
  copy->time_us = entry->time_us;
  copy->kind = g_strdup (entry->kind);
  copy->printer = g_strdup (entry->printer);
  copy->subject = g_strdup (entry->subject);
  copy->body = g_strdup (entry->body);
  copy->prev_hash = g_strdup (entry->prev_hash);
  copy->hash = g_strdup (entry->hash);

  return copy;
}

/**
 * drover_ledger_entry_free:
 * @entry: (nullable): a row
 *
 * Frees @entry and its strings.
 */
void
drover_ledger_entry_free (DroverLedgerEntry *entry)
{
  if (entry == NULL)
    return;

  g_free (entry->kind);
  g_free (entry->printer);
  g_free (entry->subject);
  g_free (entry->body);
  g_free (entry->prev_hash);
  g_free (entry->hash);
  g_free (entry);
}

/**
 * drover_ledger_verdict_clear:
 * @verdict: a verdict filled by drover_ledger_verify_file()
 *
 * Frees what @verdict holds and zeroes it, so it can be used again.
 */
void
drover_ledger_verdict_clear (DroverLedgerVerdict *verdict)
{
  g_return_if_fail (verdict != NULL);

  g_clear_pointer (&verdict->problem, g_free);
  g_clear_pointer (&verdict->last_hash, g_free);
  verdict->rows = 0;
  verdict->first_broken_seq = 0;
}

/* Hashing: docs/ledger.md describes these bytes for other tools. */

static void
hash_int64 (crypto_generichash_state *state,
            gint64                    value)
{
  guint64 big_endian = GUINT64_TO_BE ((guint64)value);

  crypto_generichash_update (state, (const guint8 *)&big_endian, sizeof big_endian);
}

/* A NULL text and an empty one must not hash alike. */
static void
hash_text (crypto_generichash_state *state,
           const char               *text,
           gsize                     length)
{
  guint32 big_endian;

  if (text == NULL)
    {
      big_endian = GUINT32_TO_BE (G_MAXUINT32);
      crypto_generichash_update (state, (const guint8 *)&big_endian, sizeof big_endian);
      return;
    }

  big_endian = GUINT32_TO_BE ((guint32)length);
  crypto_generichash_update (state, (const guint8 *)&big_endian, sizeof big_endian);
  crypto_generichash_update (state, (const guint8 *)text, length);
}

static size_t
text_length (const char *text)
{
  return text != NULL ? strlen (text) : 0;
}

/* @hex must hold HASH_HEX_LENGTH + 1 bytes. */
static void
compute_hash (gint64      seq,
              gint64      time_us,
              const char *kind,
              gsize       kind_length,
              const char *printer,
              gsize       printer_length,
              const char *subject,
              gsize       subject_length,
              const char *body,
              gsize       body_length,
              const char *prev_hash,
              gsize       prev_hash_length,
              char       *hex)
{
  crypto_generichash_state state;
  guint8 digest[HASH_BYTES];

  crypto_generichash_init (&state, NULL, 0, sizeof digest);
  hash_int64 (&state, seq);
  hash_int64 (&state, time_us);
  hash_text (&state, kind, kind_length);
  hash_text (&state, printer, printer_length);
  hash_text (&state, subject, subject_length);
  hash_text (&state, body, body_length);
  hash_text (&state, prev_hash, prev_hash_length);
  crypto_generichash_final (&state, digest, sizeof digest);
  sodium_bin2hex (hex, HASH_HEX_LENGTH + 1, digest, sizeof digest);
}

/* Words for what went wrong */

static char *
format_time (gint64 time_us)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (time_us >= 0 ? time_us / G_USEC_PER_SEC
                                                                           : (time_us + 1) / G_USEC_PER_SEC - 1);

  if (time == NULL)
    return g_strdup ("?");

  return g_date_time_format (time, "%Y-%m-%d %H:%M:%S UTC");
}

/* ISO 8601 with microseconds, for exports. */
static char *
format_iso_time (gint64 time_us)
{
  gint64 seconds = time_us >= 0 ? time_us / G_USEC_PER_SEC : (time_us + 1) / G_USEC_PER_SEC - 1;
  gint64 micro = time_us - seconds * G_USEC_PER_SEC;
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (seconds);
  g_autofree char *text = NULL;

  if (time == NULL)
    return g_strdup ("");

  text = g_date_time_format (time, "%Y-%m-%dT%H:%M:%S");
  return g_strdup_printf ("%s.%06dZ", text, (int)micro);
}

static void
set_sqlite_error (GError     **error,
                  sqlite3     *db,
                  int          code,
                  const char  *path,
                  gboolean     writing)
{
  const char *detail = db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (code);

  switch (code & 0xff)
    {
    case SQLITE_READONLY:
      /* Reading a WAL database needs its -shm file, made beside it. */
      if (!writing)
        {
          g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_OPEN,
                       _("Drover cannot read the ledger %s: SQLite needs to make a file beside it and its "
                         "folder is read-only (%s). Copy the ledger to a writable folder and use the copy."),
                       path, detail);
          break;
        }
      g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_READ_ONLY,
                   _("Drover cannot write to its ledger %s: the file or its folder is read-only (%s). "
                     "Make both writable for your user."),
                   path, detail);
      break;

    case SQLITE_FULL:
      g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_DISK_FULL,
                   _("Drover cannot write to its ledger %s: the disk is full. Free some space on it."),
                   path);
      break;

    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_CORRUPT,
                   _("The file %s is damaged or is not a Drover ledger (%s). Keep it for inspection and "
                     "move it aside: Drover then starts a new ledger."),
                   path, detail);
      break;

    case SQLITE_CANTOPEN:
      g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_OPEN,
                   _("Drover cannot open the ledger %s (%s). Check that the file and its folder exist "
                     "and that your user may read them."),
                   path, detail);
      break;

    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      g_set_error (error, DROVER_LEDGER_ERROR, writing ? DROVER_LEDGER_ERROR_WRITE : DROVER_LEDGER_ERROR_READ,
                   _("The ledger %s stayed locked by another program for more than %d seconds (%s)."),
                   path, BUSY_TIMEOUT_MS / 1000, detail);
      break;

    case SQLITE_IOERR:
      /* A disk I/O error says nothing; what the system said does: a full
       * disk, a file over the size limit, a drive gone. */
      if (db != NULL && sqlite3_system_errno (db) != 0)
        {
          int system_errno = sqlite3_system_errno (db);

          g_set_error (error, DROVER_LEDGER_ERROR,
                       system_errno == ENOSPC || system_errno == EFBIG || system_errno == EDQUOT
                         ? DROVER_LEDGER_ERROR_DISK_FULL : writing ? DROVER_LEDGER_ERROR_WRITE : DROVER_LEDGER_ERROR_READ,
                       writing ? _("Drover could not write to its ledger %s: %s.")
                               : _("Drover could not read its ledger %s: %s."),
                       path, g_strerror (system_errno));
          break;
        }
      /* SQLite does not always keep the system's reason: a refused write
       * is still worth more than "disk I/O error". */
      if (writing && (code == SQLITE_IOERR_WRITE || code == SQLITE_IOERR_FSYNC || code == SQLITE_IOERR_TRUNCATE ||
                      code == SQLITE_IOERR_SHMSIZE))
        {
          g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_WRITE,
                       _("Drover could not write to its ledger %s: the disk refused the write. It may be full "
                         "or gone; free some space or reconnect it."),
                       path);
          break;
        }
      G_GNUC_FALLTHROUGH;

    default:
      if (writing)
        g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_WRITE,
                     _("Drover could not write to its ledger %s: %s."), path, detail);
      else
        g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_READ,
                     _("Drover could not read its ledger %s: %s."), path, detail);
      break;
    }
}

/* Connections */

static int
progress_cb (void *data)
{
  return g_cancellable_is_cancelled (G_CANCELLABLE (data)) ? 1 : 0;
}

static sqlite3 *
open_connection (const char    *path,
                 gboolean       writable,
                 GCancellable  *cancellable,
                 GError       **error)
{
  sqlite3 *db = NULL;
  int flags = writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
  int code;

  /* Each connection stays on one thread at a time; SQLite's own locks
   * would only cost. */
  code = sqlite3_open_v2 (path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
  if (code != SQLITE_OK)
    {
      set_sqlite_error (error, db, code, path, FALSE);
      sqlite3_close (db);
      return NULL;
    }

  sqlite3_extended_result_codes (db, 1);
  sqlite3_busy_timeout (db, BUSY_TIMEOUT_MS);
  /* No writable_schema tricks through Drover's own connections. */
  sqlite3_db_config (db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
  if (cancellable != NULL)
    sqlite3_progress_handler (db, PROGRESS_STEPS, progress_cb, cancellable);

  return db;
}

static void
close_connection (sqlite3 *db)
{
  if (db == NULL)
    return;

  if (sqlite3_close (db) != SQLITE_OK)
    {
      g_warning ("A statement on the ledger was left open: %s", sqlite3_errmsg (db));
      sqlite3_close_v2 (db);
    }
}

static gboolean
exec_sql (sqlite3     *db,
          const char  *sql,
          const char  *path,
          gboolean     writing,
          GError     **error)
{
  int code = sqlite3_exec (db, sql, NULL, NULL, NULL);

  if (code != SQLITE_OK)
    {
      set_sqlite_error (error, db, code, path, writing);
      return FALSE;
    }

  return TRUE;
}

/* One integer from a statement such as a PRAGMA. */
static gboolean
query_int64 (sqlite3     *db,
             const char  *sql,
             const char  *path,
             gint64      *value,
             GError     **error)
{
  sqlite3_stmt *statement = NULL;
  int code = sqlite3_prepare_v2 (db, sql, -1, &statement, NULL);

  if (code == SQLITE_OK)
    code = sqlite3_step (statement);

  if (code != SQLITE_ROW)
    {
      set_sqlite_error (error, db, code, path, FALSE);
      sqlite3_finalize (statement);
      return FALSE;
    }

  *value = sqlite3_column_int64 (statement, 0);
  sqlite3_finalize (statement);
  return TRUE;
}

static gboolean
check_versions (sqlite3     *db,
                const char  *path,
                gint64       version,
                GError     **error)
{
  gint64 application_id = 0;

  if (version > SCHEMA_VERSION)
    {
      g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_NEWER_VERSION,
                   _("The ledger %s was written by a newer version of Drover. Update Drover to use it."),
                   path);
      return FALSE;
    }

  if (!query_int64 (db, "PRAGMA application_id", path, &application_id, error))
    return FALSE;

  if (application_id != LEDGER_APPLICATION_ID)
    {
      g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_CORRUPT,
                   _("The file %s is an SQLite database of another program, not a Drover ledger. "
                     "Move it aside or choose another path."),
                   path);
      return FALSE;
    }

  return TRUE;
}

/* A constant number of statements, whatever the ledger's size: only the
 * schema and its versions are read. */
static gboolean
prepare_schema (sqlite3     *db,
                const char  *path,
                gboolean     can_create,
                GError     **error)
{
  gint64 version = 0;
  gint64 n_objects = 0;

  /* The first read is where SQLite finds out whether the file is a
   * database at all. */
  if (!query_int64 (db, "PRAGMA user_version", path, &version, error))
    return FALSE;

  if (version != 0)
    return check_versions (db, path, version, error);

  if (!query_int64 (db, "SELECT count (*) FROM sqlite_schema", path, &n_objects, error))
    return FALSE;

  if (n_objects > 0)
    {
      g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_CORRUPT,
                   _("The file %s is an SQLite database of another program, not a Drover ledger. "
                     "Move it aside or choose another path."),
                   path);
      return FALSE;
    }

  if (!can_create)
    {
      g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_CORRUPT,
                   _("The file %s is empty: Drover has not written a ledger there yet."),
                   path);
      return FALSE;
    }

  /* WAL must be chosen outside a transaction. */
  if (!exec_sql (db, "PRAGMA journal_mode = WAL", path, TRUE, error))
    return FALSE;

  if (!exec_sql (db, "BEGIN IMMEDIATE", path, TRUE, error))
    return FALSE;

  /* Another Drover may have made it while this one waited for the lock. */
  if (!query_int64 (db, "PRAGMA user_version", path, &version, error))
    goto rollback;

  if (version == 0)
    {
      g_autofree char *sql = g_strdup_printf ("%s"
                                              "PRAGMA application_id = %d;"
                                              "PRAGMA user_version = %d;",
                                              schema_sql, LEDGER_APPLICATION_ID, SCHEMA_VERSION);

      if (!exec_sql (db, sql, path, TRUE, error))
        goto rollback;
    }
  else if (!check_versions (db, path, version, error))
    {
      goto rollback;
    }

  return exec_sql (db, "COMMIT", path, TRUE, error);

rollback:
  sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

/* Reading rows */

static char *
dup_column_text (sqlite3_stmt *statement,
                 int           column)
{
  if (sqlite3_column_type (statement, column) == SQLITE_NULL)
    return NULL;

  return g_strndup ((const char *)sqlite3_column_text (statement, column),
                    sqlite3_column_bytes (statement, column));
}

/* The columns of select_columns, in its order. */
static DroverLedgerEntry *
entry_from_statement (sqlite3_stmt *statement)
{
  DroverLedgerEntry *entry = g_new0 (DroverLedgerEntry, 1);

  entry->seq = sqlite3_column_int64 (statement, 0);
  entry->time_us = sqlite3_column_int64 (statement, 1);
  entry->kind = dup_column_text (statement, 2);
  entry->printer = dup_column_text (statement, 3);
  entry->subject = dup_column_text (statement, 4);
  entry->body = dup_column_text (statement, 5);
  entry->prev_hash = dup_column_text (statement, 6);
  entry->hash = dup_column_text (statement, 7);

  if (entry->kind == NULL)
    entry->kind = g_strdup ("");
  if (entry->body == NULL)
    entry->body = g_strdup ("{}");
  if (entry->prev_hash == NULL)
    entry->prev_hash = g_strdup ("");
  if (entry->hash == NULL)
    entry->hash = g_strdup ("");

  return entry;
}

/* Interrupted statements say so in GIO's words. */
static void
set_read_error (GError       **error,
                sqlite3       *db,
                int            code,
                const char    *path,
                GCancellable  *cancellable)
{
  if (!g_cancellable_set_error_if_cancelled (cancellable, error))
    set_sqlite_error (error, db, code, path, FALSE);
}

/* For LIKE: the text itself, with its wildcards taken literally. */
static char *
like_pattern (const char *text)
{
  GString *pattern = g_string_new ("%");

  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '%' || *p == '_' || *p == '\\')
        g_string_append_c (pattern, '\\');
      g_string_append_c (pattern, *p);
    }
  g_string_append_c (pattern, '%');

  return g_string_free (pattern, FALSE);
}

static GPtrArray *
run_query (const char               *path,
           const DroverLedgerQuery  *query,
           GCancellable             *cancellable,
           GError                  **error)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify)drover_ledger_entry_free);
  g_autoptr(GString) sql = g_string_new (select_columns);
  g_autofree char *pattern = NULL;
  sqlite3_stmt *statement = NULL;
  sqlite3 *db;
  int code;

  db = open_connection (path, FALSE, cancellable, error);
  if (db == NULL)
    return NULL;

  /* Numbered parameters, each always present, so binding needs no
   * bookkeeping of which clauses were added. */
  g_string_append (sql, " WHERE seq > ?1");
  if (query->before_seq > 0)
    g_string_append (sql, " AND seq < ?2");
  if (query->kind != NULL)
    g_string_append (sql, " AND kind = ?3");
  if (query->printer != NULL)
    g_string_append (sql, " AND printer = ?4");
  if (query->subject != NULL)
    g_string_append (sql, " AND subject = ?5");
  if (query->text != NULL && query->text[0] != '\0')
    {
      pattern = like_pattern (query->text);
      g_string_append (sql, " AND (subject LIKE ?6 ESCAPE '\\' OR body LIKE ?6 ESCAPE '\\')");
    }
  g_string_append (sql, query->newest_first ? " ORDER BY seq DESC" : " ORDER BY seq ASC");
  g_string_append (sql, " LIMIT ?7");

  code = sqlite3_prepare_v2 (db, sql->str, -1, &statement, NULL);
  if (code != SQLITE_OK)
    {
      set_read_error (error, db, code, path, cancellable);
      close_connection (db);
      return NULL;
    }

  sqlite3_bind_int64 (statement, 1, MAX (query->after_seq, 0));
  sqlite3_bind_int64 (statement, 2, query->before_seq);
  sqlite3_bind_text (statement, 3, query->kind, -1, SQLITE_STATIC);
  sqlite3_bind_text (statement, 4, query->printer, -1, SQLITE_STATIC);
  sqlite3_bind_text (statement, 5, query->subject, -1, SQLITE_STATIC);
  sqlite3_bind_text (statement, 6, pattern, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (statement, 7, query->limit > 0 ? query->limit : DEFAULT_QUERY_LIMIT);

  while ((code = sqlite3_step (statement)) == SQLITE_ROW)
    g_ptr_array_add (entries, entry_from_statement (statement));

  if (code != SQLITE_DONE)
    {
      set_read_error (error, db, code, path, cancellable);
      sqlite3_finalize (statement);
      close_connection (db);
      return NULL;
    }

  sqlite3_finalize (statement);
  close_connection (db);

  return g_steal_pointer (&entries);
}

/* The writer thread */

static void
pending_free (Pending *pending)
{
  if (pending == NULL)
    return;

  g_free (pending->kind);
  g_free (pending->printer);
  g_free (pending->subject);
  g_free (pending->body);
  g_clear_object (&pending->task);
  g_clear_pointer (&pending->entry, drover_ledger_entry_free);
  g_clear_error (&pending->error);
  g_free (pending);
}

static void
ledger_state_clear (LedgerState *state)
{
  g_assert (state->db == NULL);

  g_queue_clear_full (&state->pending, (GDestroyNotify)pending_free);
  g_queue_clear_full (&state->held, (GDestroyNotify)pending_free);
  g_clear_pointer (&state->problem, g_free);
  g_queue_clear_full (&state->committed, (GDestroyNotify)drover_ledger_entry_free);
  g_clear_pointer (&state->context, g_main_context_unref);
  g_clear_pointer (&state->path, g_free);
  g_clear_error (&state->first_failure_since_flush);
  g_mutex_clear (&state->mutex);
  g_cond_clear (&state->cond);
}

static void
ledger_state_release (LedgerState *state)
{
  g_atomic_rc_box_release_full (state, (GDestroyNotify)ledger_state_clear);
}

static gboolean
dispatch_committed_cb (gpointer data)
{
  LedgerState *state = data;
  g_autoptr(DroverLedger) owner = NULL;
  GQueue entries = G_QUEUE_INIT;
  DroverLedgerEntry *entry;

  g_autofree char *problem = NULL;
  gboolean status_changed;
  guint n_held;
  guint64 n_lost;

  g_mutex_lock (&state->mutex);
  entries = state->committed;
  g_queue_init (&state->committed);
  state->committed_scheduled = FALSE;
  status_changed = state->status_changed;
  state->status_changed = FALSE;
  problem = g_strdup (state->problem);
  n_held = state->held.length;
  n_lost = state->lost;
  /* Dispose clears the owner under this lock before anything is freed,
   * so an owner seen here is alive: at worst it is being disposed on
   * another thread, and this reference only delays its finalization. */
  if (state->owner != NULL)
    owner = g_object_ref (state->owner);
  g_mutex_unlock (&state->mutex);

  while ((entry = g_queue_pop_head (&entries)) != NULL)
    {
      if (owner != NULL)
        g_signal_emit (owner, signals[COMMITTED], 0, entry);
      drover_ledger_entry_free (entry);
    }

  if (owner != NULL && status_changed)
    {
      g_object_freeze_notify (G_OBJECT (owner));
      if (g_strcmp0 (owner->problem, problem) != 0)
        {
          g_free (owner->problem);
          owner->problem = g_steal_pointer (&problem);
          g_object_notify_by_pspec (G_OBJECT (owner), properties[PROP_PROBLEM]);
        }
      if (owner->n_held != n_held || owner->n_lost != n_lost)
        {
          owner->n_held = n_held;
          owner->n_lost = n_lost;
          g_object_notify_by_pspec (G_OBJECT (owner), properties[PROP_HELD]);
        }
      g_object_thaw_notify (G_OBJECT (owner));
    }

  return G_SOURCE_REMOVE;
}

/* A row Drover can record: a kind, and a body that is a JSON object. */
static gboolean
check_row (Pending     *row,
           JsonParser  *parser,
           GError     **error)
{
  g_autoptr(GError) parse_error = NULL;
  JsonNode *root;

  if (!json_parser_load_from_data (parser, row->body, -1, &parse_error))
    {
      g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_INVALID,
                   _("A “%s” row was not recorded: its body is not JSON (%s)."),
                   row->kind, parse_error->message);
      return FALSE;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_INVALID,
                   _("A “%s” row was not recorded: its body must be a JSON object."),
                   row->kind);
      return FALSE;
    }

  return TRUE;
}

static gboolean
complete_cb (gpointer data)
{
  Pending *pending = data;

  if (pending->error != NULL)
    g_task_return_error (pending->task, g_steal_pointer (&pending->error));
  else if (pending->type == PENDING_FLUSH)
    g_task_return_boolean (pending->task, TRUE);
  else
    g_task_return_pointer (pending->task, g_steal_pointer (&pending->entry),
                           (GDestroyNotify)drover_ledger_entry_free);

  return G_SOURCE_REMOVE;
}

/* Returns @pending's task on the context it was made in, where its last
 * reference is dropped too. A task holds the ledger, and a ledger whose
 * last reference went on the writer thread would make that thread join
 * itself. */
static void
complete_in_context (Pending *pending)
{
  g_autoptr(GSource) source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, complete_cb, pending, (GDestroyNotify)pending_free);
  g_source_set_static_name (source, "[drover] ledger task");
  g_source_attach (source, g_task_get_context (pending->task));
}

/* Hashes and inserts the checked rows of @batch in one transaction. On
 * failure nothing of the batch is written and @error says why. */
static gboolean
insert_rows (LedgerState  *state,
             GPtrArray    *batch,
             GError      **error)
{
  sqlite3_stmt *last = NULL;
  sqlite3_stmt *insert = NULL;
  char prev_hash[HASH_HEX_LENGTH + 1] = DROVER_LEDGER_GENESIS_HASH;
  gint64 seq = 0;
  int code;

  if (state->read_only)
    {
      g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_READ_ONLY,
                   _("Drover cannot write to its ledger %s: the file is read-only. Make it writable for "
                     "your user."),
                   state->path);
      return FALSE;
    }

  if (!exec_sql (state->db, "BEGIN IMMEDIATE", state->path, TRUE, error))
    return FALSE;

  /* Read inside the write lock rather than remembered: another program
   * may have appended since. One index lookup. */
  code = sqlite3_prepare_v2 (state->db, "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1", -1, &last, NULL);
  if (code == SQLITE_OK)
    code = sqlite3_step (last);
  if (code == SQLITE_ROW)
    {
      const char *hash = (const char *)sqlite3_column_text (last, 1);

      seq = sqlite3_column_int64 (last, 0);
      if (hash != NULL)
        g_strlcpy (prev_hash, hash, sizeof prev_hash);
    }
  else if (code != SQLITE_DONE)
    {
      goto failed;
    }

  code = sqlite3_prepare_v2 (state->db,
                             "INSERT INTO ledger (seq, time_us, kind, printer, subject, body, prev_hash, hash) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             -1, &insert, NULL);
  if (code != SQLITE_OK)
    goto failed;

  for (guint i = 0; i < batch->len; i++)
    {
      Pending *row = g_ptr_array_index (batch, i);
      DroverLedgerEntry *entry;
      char hash[HASH_HEX_LENGTH + 1];

      if (row->type != PENDING_ROW || row->error != NULL)
        continue;

      seq++;
      compute_hash (seq, row->time_us,
                    row->kind, text_length (row->kind),
                    row->printer, text_length (row->printer),
                    row->subject, text_length (row->subject),
                    row->body, text_length (row->body),
                    prev_hash, strlen (prev_hash),
                    hash);

      sqlite3_bind_int64 (insert, 1, seq);
      sqlite3_bind_int64 (insert, 2, row->time_us);
      sqlite3_bind_text (insert, 3, row->kind, -1, SQLITE_STATIC);
      sqlite3_bind_text (insert, 4, row->printer, -1, SQLITE_STATIC);
      sqlite3_bind_text (insert, 5, row->subject, -1, SQLITE_STATIC);
      sqlite3_bind_text (insert, 6, row->body, -1, SQLITE_STATIC);
      sqlite3_bind_text (insert, 7, prev_hash, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (insert, 8, hash, -1, SQLITE_TRANSIENT);
      code = sqlite3_step (insert);
      sqlite3_reset (insert);
      if (code != SQLITE_DONE)
        goto failed;

      entry = g_new0 (DroverLedgerEntry, 1);
      entry->seq = seq;
      entry->time_us = row->time_us;
      entry->kind = g_strdup (row->kind);
      entry->printer = g_strdup (row->printer);
      entry->subject = g_strdup (row->subject);
      entry->body = g_strdup (row->body);
      entry->prev_hash = g_strdup (prev_hash);
      entry->hash = g_strdup (hash);
      row->entry = entry;

      memcpy (prev_hash, hash, sizeof prev_hash);
    }

  g_clear_pointer (&last, sqlite3_finalize);
  g_clear_pointer (&insert, sqlite3_finalize);

  /* synchronous = FULL: when COMMIT returns, the rows are on the disk. */
  code = sqlite3_exec (state->db, "COMMIT", NULL, NULL, NULL);
  if (code == SQLITE_OK)
    return TRUE;

failed:
  set_sqlite_error (error, state->db, code, state->path, TRUE);
  g_clear_pointer (&last, sqlite3_finalize);
  g_clear_pointer (&insert, sqlite3_finalize);
  if (!sqlite3_get_autocommit (state->db))
    sqlite3_exec (state->db, "ROLLBACK", NULL, NULL, NULL);

  for (guint i = 0; i < batch->len; i++)
    {
      Pending *row = g_ptr_array_index (batch, i);

      g_clear_pointer (&row->entry, drover_ledger_entry_free);
    }

  return FALSE;
}

/* Once the file is writable again (its mode or its folder's fixed), a
 * connection opened read-only must be opened anew to write. */
static void
reopen_if_read_only (LedgerState *state)
{
  sqlite3 *db;

  if (!state->read_only)
    return;

  db = open_connection (state->path, TRUE, NULL, NULL);
  if (db == NULL)
    return;
  if (sqlite3_db_readonly (db, "main") == 1 ||
      !exec_sql (db, "PRAGMA synchronous = FULL", state->path, FALSE, NULL))
    {
      close_connection (db);
      return;
    }

  close_connection (state->db);
  state->db = db;
  state->read_only = FALSE;
}

/* Under the mutex: what the owner should be told after a write: why it
 * failed, or nothing when it went through. */
static void
set_status (LedgerState *state,
            const char  *problem)
{
  if (g_strcmp0 (problem, state->problem) != 0)
    {
      g_free (state->problem);
      state->problem = g_strdup (problem);
    }
  state->status_changed = TRUE;
}

static void
write_batch (LedgerState *state,
             GPtrArray   *batch)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GPtrArray) held = g_ptr_array_new ();
  g_autoptr(GError) failure = NULL;
  guint n_held_before;
  guint64 lost_before;
  guint n_waiting;
  gboolean was_holding;
  g_autofree char *waiting_problem = NULL;
  guint n_rows = 0;
  guint n_failed = 0;
  guint n_failed_unheard = 0;
  g_autofree char *first_problem = NULL;

  for (guint i = 0; i < batch->len; i++)
    {
      Pending *row = g_ptr_array_index (batch, i);

      if (row->type == PENDING_ROW && check_row (row, parser, &row->error))
        n_rows++;
    }

  if (n_rows > 0)
    {
      reopen_if_read_only (state);
      insert_rows (state, batch, &failure);
    }

  /* A row nobody waits for, refused by the disk rather than for what it
   * says, waits for another try instead of being dropped. */
  for (guint i = 0; i < batch->len && failure != NULL; i++)
    {
      Pending *pending = g_ptr_array_index (batch, i);

      if (pending != NULL && pending->type == PENDING_ROW && pending->entry == NULL &&
          pending->error == NULL && pending->task == NULL)
        g_ptr_array_add (held, g_steal_pointer (&g_ptr_array_index (batch, i)));
    }

  /* "committed" first: on a shared main context its handlers then run
   * before the append callbacks of the same rows. */
  g_mutex_lock (&state->mutex);
  n_held_before = state->held.length;
  lost_before = state->lost;
  for (guint i = 0; i < batch->len; i++)
    {
      Pending *row = g_ptr_array_index (batch, i);

      if (row != NULL && row->entry != NULL)
        g_queue_push_tail (&state->committed, drover_ledger_entry_copy (row->entry));
    }
  /* Rows kept for another try go back before any appended since, so the
   * order of the ledger stays the order of the calls. */
  for (guint i = held->len; i > 0; i--)
    g_queue_push_head (&state->held, g_ptr_array_index (held, i - 1));
  while (state->held.length > MAX_HELD)
    {
      pending_free (g_queue_pop_head (&state->held));
      state->lost++;
    }
  if (n_rows > 0 && (failure != NULL || n_held_before > 0 || state->problem != NULL))
    set_status (state, failure != NULL ? failure->message : NULL);
  n_waiting = state->held.length;
  waiting_problem = g_strdup (state->problem);
  was_holding = state->holding;
  state->holding = n_waiting > 0;

  if ((state->committed.length > 0 || state->status_changed) && !state->committed_scheduled)
    {
      g_autoptr(GSource) source = g_idle_source_new ();

      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, dispatch_committed_cb,
                             g_atomic_rc_box_acquire (state), (GDestroyNotify)ledger_state_release);
      g_source_set_static_name (source, "[drover] ledger committed");
      g_source_attach (source, state->context);
      state->committed_scheduled = TRUE;
    }
  g_mutex_unlock (&state->mutex);

  for (guint i = 0; i < batch->len; i++)
    {
      Pending *pending = g_ptr_array_index (batch, i);

      if (pending == NULL)
        continue;

      if (pending->type == PENDING_ROW && pending->entry == NULL)
        {
          if (pending->error == NULL)
            pending->error = g_error_copy (failure);

          n_failed++;
          if (first_problem == NULL)
            first_problem = g_strdup (pending->error->message);
          if (pending->task == NULL)
            n_failed_unheard++;
          state->failed_since_flush++;
          if (state->first_failure_since_flush == NULL)
            state->first_failure_since_flush = g_error_copy (pending->error);
        }
      else if (pending->type == PENDING_FLUSH && n_waiting > 0)
        {
          state->failed_since_flush = 0;
          g_clear_error (&state->first_failure_since_flush);
          pending->error = g_error_new (DROVER_LEDGER_ERROR, failure != NULL ? failure->code : DROVER_LEDGER_ERROR_WRITE,
                                        g_dngettext (GETTEXT_PACKAGE,
                                                     "%u row waits in memory to be recorded: %s",
                                                     "%u rows wait in memory to be recorded: %s",
                                                     n_waiting),
                                        n_waiting, waiting_problem);
        }
      else if (pending->type == PENDING_FLUSH && state->failed_since_flush > 0)
        {
          GError *first = state->first_failure_since_flush;

          pending->error = g_error_new (first->domain, first->code,
                                        g_dngettext (GETTEXT_PACKAGE,
                                                     "%u row queued before was not recorded: %s",
                                                     "%u rows queued before were not recorded: %s",
                                                     state->failed_since_flush),
                                        state->failed_since_flush, first->message);
          state->failed_since_flush = 0;
          g_clear_error (&state->first_failure_since_flush);
        }

      if (pending->task != NULL)
        complete_in_context (g_steal_pointer (&g_ptr_array_index (batch, i)));
    }

  /* Once per batch, not per row: a full disk must not flood the log. A
   * warning when no caller hears of it otherwise; a message when every
   * row's caller has the error in hand. */
  if (n_failed_unheard > 0)
    g_warning ("Rows not recorded in the ledger (%u): %s", n_failed, first_problem);
  else if (n_failed > 0)
    g_message ("Rows not recorded in the ledger (%u): %s", n_failed, first_problem);
  if (n_waiting > 0 && !was_holding)
    g_message ("Rows kept in memory until the ledger can be written (%u): %s", n_waiting, waiting_problem);
  if (state->lost > lost_before)
    g_warning ("Rows given up after %u waited for the ledger: %" G_GUINT64_FORMAT, MAX_HELD,
               state->lost - lost_before);
}

static gpointer
writer_thread (gpointer data)
{
  LedgerState *state = data;

  for (;;)
    {
      g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func ((GDestroyNotify)pending_free);
      Pending *pending;

      gboolean last_try = FALSE;

      g_mutex_lock (&state->mutex);
      if (state->held.length > 0)
        {
          /* Waiting rows are tried again after a while, or with the next
           * append, whichever comes first. */
          gint64 retry_at = g_get_monotonic_time () + RETRY_INTERVAL_US;

          while (state->pending.length == 0 && !state->closing)
            if (!g_cond_wait_until (&state->cond, &state->mutex, retry_at))
              break;
        }
      else
        {
          while (state->pending.length == 0 && !state->closing)
            g_cond_wait (&state->cond, &state->mutex);
        }

      /* Closing still writes what was queued before, and tries the
       * waiting rows once more. */
      if (state->pending.length == 0 && state->closing)
        {
          if (state->held.length == 0)
            {
              g_mutex_unlock (&state->mutex);
              break;
            }
          last_try = TRUE;
        }

      while (batch->len < MAX_BATCH && (pending = g_queue_pop_head (&state->held)) != NULL)
        g_ptr_array_add (batch, pending);
      while (batch->len < MAX_BATCH && (pending = g_queue_pop_head (&state->pending)) != NULL)
        g_ptr_array_add (batch, pending);
      g_mutex_unlock (&state->mutex);

      write_batch (state, batch);

      if (last_try)
        {
          g_mutex_lock (&state->mutex);
          /* Still refused: nothing more can be done than to say so. Written:
           * the loop goes on with the rest. */
          if (state->held.length > 0 && state->problem != NULL)
            {
              g_warning ("%u rows could not be recorded in the ledger %s before it was closed: %s",
                         state->held.length, state->path, state->problem);
              g_queue_clear_full (&state->held, (GDestroyNotify)pending_free);
            }
          g_mutex_unlock (&state->mutex);
        }
    }

  g_clear_pointer (&state->db, close_connection);
  ledger_state_release (state);

  return NULL;
}

static void
enqueue (DroverLedger *self,
         Pending      *pending)
{
  LedgerState *state = self->state;

  g_mutex_lock (&state->mutex);
  g_queue_push_tail (&state->pending, pending);
  g_cond_signal (&state->cond);
  g_mutex_unlock (&state->mutex);
}

/* The object */

static void
drover_ledger_dispose (GObject *object)
{
  DroverLedger *self = DROVER_LEDGER (object);

  if (self->state != NULL)
    {
      g_mutex_lock (&self->state->mutex);
      self->state->owner = NULL;
      self->state->closing = TRUE;
      g_cond_signal (&self->state->cond);
      g_mutex_unlock (&self->state->mutex);
    }

  /* Every row queued so far is committed, or reported, before this
   * returns. */
  if (self->writer != NULL)
    g_thread_join (g_steal_pointer (&self->writer));

  g_clear_pointer (&self->state, ledger_state_release);

  G_OBJECT_CLASS (drover_ledger_parent_class)->dispose (object);
}

static void
drover_ledger_finalize (GObject *object)
{
  DroverLedger *self = DROVER_LEDGER (object);

  g_free (self->path);
  g_free (self->problem);

  G_OBJECT_CLASS (drover_ledger_parent_class)->finalize (object);
}

static void
drover_ledger_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  DroverLedger *self = DROVER_LEDGER (object);

  switch (prop_id)
    {
    case PROP_PROBLEM:
      g_value_set_string (value, self->problem);
      break;

    case PROP_HELD:
      g_value_set_uint (value, self->n_held);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_ledger_class_init (DroverLedgerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = drover_ledger_dispose;
  object_class->finalize = drover_ledger_finalize;
  object_class->get_property = drover_ledger_get_property;

  /**
   * DroverLedger:problem: (nullable)
   *
   * Why rows cannot be written now (a full disk, a read-only file), as a
   * sentence for the operator; %NULL when they can. Rows appended with
   * drover_ledger_append() meanwhile wait in memory and are written, in
   * order, as soon as the ledger takes them again.
   */
  properties[PROP_PROBLEM] =
    g_param_spec_string ("problem", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * DroverLedger:held:
   *
   * How many rows wait in memory for the ledger to take them.
   */
  properties[PROP_HELD] =
    g_param_spec_uint ("held", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * DroverLedger::committed:
   * @self: the ledger
   * @entry: the row, as written
   *
   * A row is on the disk. Emitted on the thread-default main context of
   * the thread that opened the ledger, once per row, in the order of the
   * rows.
   */
  signals[COMMITTED] =
    g_signal_new ("committed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1,
                  DROVER_TYPE_LEDGER_ENTRY | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
drover_ledger_init (DroverLedger *self)
{
}

/* Opening */

/**
 * drover_ledger_dup_default_path:
 *
 * Returns: (transfer full): where Drover keeps its ledger:
 *   `$XDG_DATA_HOME/drover/ledger.sqlite`
 */
char *
drover_ledger_dup_default_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "drover", "ledger.sqlite", NULL);
}

static DroverLedger *
open_ledger (const char    *path,
             GMainContext  *context,
             GError       **error)
{
  g_autoptr(DroverLedger) self = NULL;
  g_autofree char *folder = g_path_get_dirname (path);
  LedgerState *state;
  sqlite3 *db;
  gboolean read_only;

  /* Hashing needs libsodium ready; drover_core_init() normally did this,
   * and doing it again is cheap and safe. */
  if (sodium_init () < 0)
    {
      g_set_error_literal (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_OPEN,
                           _("The cryptography library could not start: the system has no usable random source"));
      return NULL;
    }

  if (g_mkdir_with_parents (folder, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_OPEN,
                   _("Drover cannot make the folder %s for its ledger: %s."),
                   folder, g_strerror (saved_errno));
      return NULL;
    }

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_OPEN,
                   _("Drover cannot open the ledger %s: it is a folder, not a file."), path);
      return NULL;
    }

  db = open_connection (path, TRUE, NULL, error);
  if (db == NULL)
    return NULL;

  read_only = sqlite3_db_readonly (db, "main") == 1;

  /* journal_mode is stored in the file: for an existing ledger this is
   * a no-op, and a read-only one keeps what it has. */
  if (!prepare_schema (db, path, !read_only, error) ||
      (!read_only && !exec_sql (db, "PRAGMA journal_mode = WAL", path, TRUE, error)) ||
      !exec_sql (db, "PRAGMA synchronous = FULL", path, FALSE, error))
    {
      close_connection (db);
      return NULL;
    }

  self = g_object_new (DROVER_TYPE_LEDGER, NULL);
  self->path = g_strdup (path);
  self->read_only = read_only;

  state = g_atomic_rc_box_new0 (LedgerState);
  g_mutex_init (&state->mutex);
  g_cond_init (&state->cond);
  g_queue_init (&state->pending);
  g_queue_init (&state->committed);
  g_queue_init (&state->held);
  state->owner = self;
  state->context = g_main_context_ref (context);
  state->db = db;
  state->path = g_strdup (path);
  state->read_only = read_only;
  self->state = state;

  self->writer = g_thread_try_new ("drover-ledger", writer_thread, g_atomic_rc_box_acquire (state), error);
  if (self->writer == NULL)
    {
      /* The reference meant for the thread; dispose drops the object's. */
      g_clear_pointer (&state->db, close_connection);
      ledger_state_release (state);
      return NULL;
    }

  if (read_only)
    {
      g_message ("The ledger %s is read-only: new rows will wait in memory", path);
      self->problem = g_strdup_printf (_("Drover cannot write to its ledger %s: the file or its folder is "
                                         "read-only. Make both writable for your user."),
                                       path);
      state->problem = g_strdup (self->problem);
    }

  return g_steal_pointer (&self);
}

/**
 * drover_ledger_open:
 * @path: the ledger's file, such as drover_ledger_dup_default_path()
 * @error: where to say why it cannot be opened
 *
 * Opens the ledger at @path, making the file, its folders and its schema
 * when they do not exist. Blocks, but for a constant, short time: it reads
 * the schema and never walks the rows, however many there are.
 *
 * The "committed" signal is emitted on the calling thread's thread-default
 * main context. A read-only file opens, for reading; rows appended to it
 * fail with %DROVER_LEDGER_ERROR_READ_ONLY.
 *
 * Returns: (transfer full) (nullable): the ledger, or %NULL with @error set
 */
DroverLedger *
drover_ledger_open (const char  *path,
                    GError     **error)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return open_ledger (path, context, error);
}

typedef struct
{
  char         *path;
  GMainContext *context;
} OpenData;

static void
open_data_free (OpenData *data)
{
  g_free (data->path);
  g_main_context_unref (data->context);
  g_free (data);
}

static void
open_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  OpenData *data = task_data;
  GError *error = NULL;
  DroverLedger *ledger;

  if (g_task_return_error_if_cancelled (task))
    return;

  ledger = open_ledger (data->path, data->context, &error);
  if (ledger == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, ledger, g_object_unref);
}

/**
 * drover_ledger_open_async:
 * @path: the ledger's file
 *
 * Does drover_ledger_open() on a worker thread. The "committed" signal
 * is emitted on the thread-default main context of the caller of this
 * function.
 */
void
drover_ledger_open_async (const char          *path,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  OpenData *data;

  g_return_if_fail (path != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  data = g_new0 (OpenData, 1);
  data->path = g_strdup (path);
  data->context = g_main_context_ref_thread_default ();

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, drover_ledger_open_async);
  g_task_set_task_data (task, data, (GDestroyNotify)open_data_free);
  g_task_run_in_thread (task, open_thread);
}

/**
 * drover_ledger_open_finish:
 *
 * Returns: (transfer full) (nullable): the ledger, or %NULL with @error set
 */
DroverLedger *
drover_ledger_open_finish (GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * drover_ledger_get_path:
 *
 * Returns: the ledger's file
 */
const char *
drover_ledger_get_path (DroverLedger *self)
{
  g_return_val_if_fail (DROVER_IS_LEDGER (self), NULL);

  return self->path;
}

/**
 * drover_ledger_get_read_only:
 *
 * Returns: %TRUE when the file could be opened only for reading, so no
 *   new row can be recorded: worth a warning in the window
 */
gboolean
drover_ledger_get_read_only (DroverLedger *self)
{
  g_return_val_if_fail (DROVER_IS_LEDGER (self), FALSE);

  return self->read_only;
}

/**
 * drover_ledger_get_problem:
 *
 * Returns: (nullable): why rows cannot be written now, or %NULL; see
 *   #DroverLedger:problem
 */
const char *
drover_ledger_get_problem (DroverLedger *self)
{
  g_return_val_if_fail (DROVER_IS_LEDGER (self), NULL);

  return self->problem;
}

/**
 * drover_ledger_get_n_held:
 * @n_lost: (out) (optional): how many rows were given up because too many
 *   waited
 *
 * Returns: how many rows wait in memory for the ledger to take them
 */
guint
drover_ledger_get_n_held (DroverLedger *self,
                          guint64      *n_lost)
{
  g_return_val_if_fail (DROVER_IS_LEDGER (self), 0);

  if (n_lost != NULL)
    *n_lost = self->n_lost;
  return self->n_held;
}

/* Appending */

static Pending *
pending_row_new (const char *kind,
                 const char *printer,
                 const char *subject,
                 const char *body_json)
{
  Pending *row = g_new0 (Pending, 1);

  row->type = PENDING_ROW;
  /* The time of the event, not of the commit. */
  row->time_us = g_get_real_time ();
  row->kind = g_strdup (kind);
  /* Names seen on a printer need not be UTF-8; the row must be recorded
   * all the same, and JSON exports need UTF-8. An empty name is stored as
   * none, so that a CSV export's empty field says NULL unambiguously and
   * the hash can be checked from it. */
  row->printer = printer != NULL && printer[0] != '\0' ? g_utf8_make_valid (printer, -1) : NULL;
  row->subject = subject != NULL && subject[0] != '\0' ? g_utf8_make_valid (subject, -1) : NULL;
  row->body = g_strdup (body_json != NULL ? body_json : "{}");

  return row;
}

/**
 * drover_ledger_append:
 * @self: a #DroverLedger
 * @kind: what the row records, one of the `DROVER_LEDGER_KIND_*` names
 * @printer: (nullable): the printer's id; empty is stored as %NULL
 * @subject: (nullable): a file name, a command line, an alert id; empty
 *   is stored as %NULL, and invalid UTF-8 is repaired
 * @body_json: (nullable): a JSON object's text, stored and hashed as
 *   given; %NULL for `{}`
 *
 * Queues one row and returns at once. The writer thread hashes and
 * commits queued rows in the order of the calls. A row the disk refuses
 * (full, read-only) waits in memory, with any appended after it, and is
 * tried again every few seconds and with every append, so nothing is lost
 * while Drover runs; #DroverLedger:problem says why meanwhile, and
 * drover_ledger_flush_async() fails. A row that is itself invalid is
 * logged as a warning and reported by the next flush. Use
 * drover_ledger_append_async() to hear about each row.
 */
void
drover_ledger_append (DroverLedger *self,
                      const char   *kind,
                      const char   *printer,
                      const char   *subject,
                      const char   *body_json)
{
  g_return_if_fail (DROVER_IS_LEDGER (self));
  g_return_if_fail (kind != NULL && kind[0] != '\0');

  enqueue (self, pending_row_new (kind, printer, subject, body_json));
}

/**
 * drover_ledger_append_async:
 * @self: a #DroverLedger
 * @kind: what the row records, one of the `DROVER_LEDGER_KIND_*` names
 * @printer: (nullable): the printer's id
 * @subject: (nullable): a file name, a command line, an alert id
 * @body_json: (nullable): a JSON object's text; %NULL for `{}`
 * @cancellable: (nullable): stops the wait, not the write: a queued row
 *   is recorded all the same
 * @callback: called once the row's transaction is committed, or failed
 * @user_data: for @callback
 *
 * Like drover_ledger_append(), and reports the row once its transaction
 * is committed, or why it could not be: a body that is not a JSON object
 * (%DROVER_LEDGER_ERROR_INVALID), a read-only file, a full disk.
 */
void
drover_ledger_append_async (DroverLedger        *self,
                            const char          *kind,
                            const char          *printer,
                            const char          *subject,
                            const char          *body_json,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  Pending *row;

  g_return_if_fail (DROVER_IS_LEDGER (self));
  g_return_if_fail (kind != NULL && kind[0] != '\0');
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  row = pending_row_new (kind, printer, subject, body_json);
  row->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (row->task, drover_ledger_append_async);
  enqueue (self, row);
}

/**
 * drover_ledger_append_finish:
 *
 * Returns: (transfer full) (nullable): the row as committed, with its
 *   sequence number and hash, or %NULL with @error set
 */
DroverLedgerEntry *
drover_ledger_append_finish (DroverLedger  *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (DROVER_IS_LEDGER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * drover_ledger_flush_async:
 * @self: a #DroverLedger
 *
 * Waits until every row queued before this call is committed.
 */
void
drover_ledger_flush_async (DroverLedger        *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  Pending *flush;

  g_return_if_fail (DROVER_IS_LEDGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  flush = g_new0 (Pending, 1);
  flush->type = PENDING_FLUSH;
  flush->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (flush->task, drover_ledger_flush_async);
  enqueue (self, flush);
}

/**
 * drover_ledger_flush_finish:
 *
 * Returns: %TRUE when every row queued before the flush, since the
 *   previous flush, was committed; %FALSE with @error saying how many
 *   were not, and why
 */
gboolean
drover_ledger_flush_finish (DroverLedger  *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (DROVER_IS_LEDGER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Querying */

/**
 * drover_ledger_query:
 * @self: a #DroverLedger
 * @query: which rows
 * @error: where to say why the rows cannot be read
 *
 * Reads rows on a connection of its own: it blocks, so call it from a
 * worker thread or a test. Rows still queued are not seen yet.
 *
 * Returns: (transfer container) (element-type DroverLedgerEntry) (nullable):
 *   the rows, or %NULL with @error set
 */
GPtrArray *
drover_ledger_query (DroverLedger             *self,
                     const DroverLedgerQuery  *query,
                     GError                  **error)
{
  g_return_val_if_fail (DROVER_IS_LEDGER (self), NULL);
  g_return_val_if_fail (query != NULL, NULL);

  return run_query (self->path, query, NULL, error);
}

typedef struct
{
  DroverLedgerQuery  query;
  char              *kind;
  char              *printer;
  char              *subject;
  char              *text;
} QueryData;

static void
query_data_free (QueryData *data)
{
  g_free (data->kind);
  g_free (data->printer);
  g_free (data->subject);
  g_free (data->text);
  g_free (data);
}

static void
query_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  DroverLedger *self = source_object;
  QueryData *data = task_data;
  GError *error = NULL;
  GPtrArray *entries;

  if (g_task_return_error_if_cancelled (task))
    return;

  entries = run_query (self->path, &data->query, cancellable, &error);
  if (entries == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, entries, (GDestroyNotify)g_ptr_array_unref);
}

/**
 * drover_ledger_query_async:
 * @self: a #DroverLedger
 * @query: which rows; copied, so it may live on the caller's stack
 *
 * Does drover_ledger_query() on a worker thread.
 */
void
drover_ledger_query_async (DroverLedger             *self,
                           const DroverLedgerQuery  *query,
                           GCancellable             *cancellable,
                           GAsyncReadyCallback       callback,
                           gpointer                  user_data)
{
  g_autoptr(GTask) task = NULL;
  QueryData *data;

  g_return_if_fail (DROVER_IS_LEDGER (self));
  g_return_if_fail (query != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  data = g_new0 (QueryData, 1);
  data->query = *query;
  data->query.kind = data->kind = g_strdup (query->kind);
  data->query.printer = data->printer = g_strdup (query->printer);
  data->query.subject = data->subject = g_strdup (query->subject);
  data->query.text = data->text = g_strdup (query->text);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, drover_ledger_query_async);
  g_task_set_task_data (task, data, (GDestroyNotify)query_data_free);
  g_task_run_in_thread (task, query_thread);
}

/**
 * drover_ledger_query_finish:
 *
 * Returns: (transfer container) (element-type DroverLedgerEntry) (nullable):
 *   the rows, each freed with the array, or %NULL with @error set
 */
GPtrArray *
drover_ledger_query_finish (DroverLedger  *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (DROVER_IS_LEDGER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Verifying and exporting: files, not objects, so that droverctl can
 * check a copy without being Drover. */

static sqlite3 *
open_for_reading (const char    *path,
                  GCancellable  *cancellable,
                  GError       **error)
{
  sqlite3 *db;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_OPEN,
                   _("There is no ledger at %s."), path);
      return NULL;
    }

  db = open_connection (path, FALSE, cancellable, error);
  if (db == NULL)
    return NULL;

  if (!prepare_schema (db, path, FALSE, error))
    {
      close_connection (db);
      return NULL;
    }

  return db;
}

static char *
describe_row (gint64      seq,
              const char *kind,
              gint64      time_us)
{
  g_autofree char *time = format_time (time_us);

  /* TRANSLATORS: a ledger row: its number, its kind and when it was written */
  return g_strdup_printf (_("Row %lld (%s, %s)"), (long long)seq, kind != NULL ? kind : "?", time);
}

/**
 * drover_ledger_verify_file:
 * @path: a ledger's file
 * @verdict: (out caller-allocates): what was found; clear it with
 *   drover_ledger_verdict_clear()
 * @cancellable: (nullable): stops the walk
 * @error: where to say why the file cannot be read
 *
 * Walks every row in order and checks that the sequence numbers have no
 * gap, that each row's hash is the hash of its contents and that each row
 * names the previous row's hash. Blocks for as long as the ledger is big.
 *
 * Returns: %TRUE when the ledger was read to the end, intact or not:
 *   @verdict says which; %FALSE with @error set when it cannot be read
 */
gboolean
drover_ledger_verify_file (const char           *path,
                           DroverLedgerVerdict  *verdict,
                           GCancellable         *cancellable,
                           GError              **error)
{
  sqlite3_stmt *statement = NULL;
  char prev_hash[HASH_HEX_LENGTH + 1] = DROVER_LEDGER_GENESIS_HASH;
  gint64 prev_seq = 0;
  gint64 prev_time_us = 0;
  g_autofree char *prev_kind = NULL;
  sqlite3 *db;
  int code;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (verdict != NULL, FALSE);

  memset (verdict, 0, sizeof *verdict);

  if (sodium_init () < 0)
    {
      g_set_error_literal (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_OPEN,
                           _("The cryptography library could not start: the system has no usable random source"));
      return FALSE;
    }

  db = open_for_reading (path, cancellable, error);
  if (db == NULL)
    return FALSE;

  /* One statement, so the walk sees one snapshot even while Drover
   * appends. */
  code = sqlite3_prepare_v2 (db, "SELECT seq, time_us, kind, printer, subject, body, prev_hash, hash "
                                 "FROM ledger ORDER BY seq", -1, &statement, NULL);
  if (code != SQLITE_OK)
    goto failed;

  while ((code = sqlite3_step (statement)) == SQLITE_ROW)
    {
      gint64 seq = sqlite3_column_int64 (statement, 0);
      gint64 time_us = sqlite3_column_int64 (statement, 1);
      const char *kind = (const char *)sqlite3_column_text (statement, 2);
      const char *printer = (const char *)sqlite3_column_text (statement, 3);
      const char *subject = (const char *)sqlite3_column_text (statement, 4);
      const char *body = (const char *)sqlite3_column_text (statement, 5);
      const char *row_prev_hash = (const char *)sqlite3_column_text (statement, 6);
      const char *row_hash = (const char *)sqlite3_column_text (statement, 7);
      char expected[HASH_HEX_LENGTH + 1];

      verdict->rows++;
      g_free (verdict->last_hash);
      verdict->last_hash = g_strdup (row_hash);

      if (verdict->problem != NULL)
        continue;

      compute_hash (seq, time_us,
                    kind, sqlite3_column_bytes (statement, 2),
                    printer, sqlite3_column_bytes (statement, 3),
                    subject, sqlite3_column_bytes (statement, 4),
                    body, sqlite3_column_bytes (statement, 5),
                    row_prev_hash, sqlite3_column_bytes (statement, 6),
                    expected);

      if (seq > prev_seq + 1)
        {
          gint64 first_missing = prev_seq + 1;
          gint64 last_missing = seq - 1;

          verdict->first_broken_seq = first_missing;
          if (prev_seq == 0 && first_missing == last_missing)
            verdict->problem = g_strdup_printf (_("Row %lld is missing: it was removed after it was written "
                                                  "(the ledger starts at row %lld)."),
                                                (long long)first_missing, (long long)seq);
          else if (prev_seq == 0)
            verdict->problem = g_strdup_printf (_("Rows %lld to %lld are missing: they were removed after they "
                                                  "were written (the ledger starts at row %lld)."),
                                                (long long)first_missing, (long long)last_missing, (long long)seq);
          else if (first_missing == last_missing)
            verdict->problem = g_strdup_printf (_("Row %lld is missing: it was removed after it was written "
                                                  "(row %lld comes right after row %lld)."),
                                                (long long)first_missing, (long long)seq, (long long)prev_seq);
          else
            verdict->problem = g_strdup_printf (_("Rows %lld to %lld are missing: they were removed after they "
                                                  "were written (row %lld comes right after row %lld)."),
                                                (long long)first_missing, (long long)last_missing,
                                                (long long)seq, (long long)prev_seq);
        }
      else if (seq != prev_seq + 1)
        {
          g_autofree char *row = describe_row (seq, kind, time_us);

          verdict->first_broken_seq = seq;
          verdict->problem = g_strdup_printf (_("%s is out of place: Drover numbers rows from 1 without gaps, "
                                                "so it was added by something else."),
                                              row);
        }
      else if (g_strcmp0 (expected, row_hash) != 0)
        {
          g_autofree char *row = describe_row (seq, kind, time_us);

          verdict->first_broken_seq = seq;
          verdict->problem = g_strdup_printf (_("%s does not match its hash: it was changed after it was written."),
                                              row);
        }
      else if (g_strcmp0 (row_prev_hash, prev_hash) != 0)
        {
          if (prev_seq == 0)
            {
              g_autofree char *row = describe_row (seq, kind, time_us);

              verdict->first_broken_seq = seq;
              verdict->problem = g_strdup_printf (_("%s does not start the chain: its previous hash should be "
                                                    "all zeros, so it was rewritten after it was written."),
                                                  row);
            }
          else
            {
              g_autofree char *row = describe_row (prev_seq, prev_kind, prev_time_us);

              /* Each row matches its own hash, so one of the two was
               * rewritten hash and all; the earlier one is where the
               * chain stops holding. */
              verdict->first_broken_seq = prev_seq;
              verdict->problem = g_strdup_printf (_("%s and row %lld do not link: one of them was rewritten, "
                                                    "hash and all, after it was written."),
                                                  row, (long long)seq);
            }
        }

      g_strlcpy (prev_hash, row_hash != NULL ? row_hash : "", sizeof prev_hash);
      prev_seq = seq;
      prev_time_us = time_us;
      g_free (prev_kind);
      prev_kind = g_strdup (kind);
    }

  if (code != SQLITE_DONE)
    goto failed;

  sqlite3_finalize (statement);
  close_connection (db);
  return TRUE;

failed:
  set_read_error (error, db, code, path, cancellable);
  sqlite3_finalize (statement);
  close_connection (db);
  drover_ledger_verdict_clear (verdict);
  return FALSE;
}

static void
append_csv_field (GString    *line,
                  const char *text)
{
  if (text == NULL)
    return;

  /* RFC 4180: quote a field with a comma, a quote or a line break, and
   * double its quotes. */
  if (strpbrk (text, ",\"\r\n") == NULL)
    {
      g_string_append (line, text);
      return;
    }

  g_string_append_c (line, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (line, '"');
      g_string_append_c (line, *p);
    }
  g_string_append_c (line, '"');
}

static void
append_csv_row (GString           *out,
                DroverLedgerEntry *entry)
{
  g_autofree char *time = format_iso_time (entry->time_us);

  g_string_append_printf (out, "%" G_GINT64_FORMAT ",%s,%" G_GINT64_FORMAT ",", entry->seq, time, entry->time_us);
  append_csv_field (out, entry->kind);
  g_string_append_c (out, ',');
  append_csv_field (out, entry->printer);
  g_string_append_c (out, ',');
  append_csv_field (out, entry->subject);
  g_string_append_c (out, ',');
  append_csv_field (out, entry->body);
  g_string_append_c (out, ',');
  append_csv_field (out, entry->prev_hash);
  g_string_append_c (out, ',');
  append_csv_field (out, entry->hash);
  g_string_append (out, "\r\n");
}

static void
append_jsonl_row (GString           *out,
                  DroverLedgerEntry *entry,
                  JsonParser        *parser)
{
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *time = format_iso_time (entry->time_us);
  g_autofree char *text = NULL;
  JsonNode *body = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "seq");
  json_builder_add_int_value (builder, entry->seq);
  json_builder_set_member_name (builder, "time");
  json_builder_add_string_value (builder, time);
  json_builder_set_member_name (builder, "time_us");
  json_builder_add_int_value (builder, entry->time_us);
  json_builder_set_member_name (builder, "kind");
  json_builder_add_string_value (builder, entry->kind);
  json_builder_set_member_name (builder, "printer");
  if (entry->printer != NULL)
    json_builder_add_string_value (builder, entry->printer);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "subject");
  if (entry->subject != NULL)
    json_builder_add_string_value (builder, entry->subject);
  else
    json_builder_add_null_value (builder);

  /* The body as JSON, for jq and friends; a body that is not JSON (only
   * a tampered file has one) is kept as its text. */
  json_builder_set_member_name (builder, "body");
  if (json_parser_load_from_data (parser, entry->body, -1, NULL) && json_parser_get_root (parser) != NULL)
    body = json_node_copy (json_parser_get_root (parser));
  else
    body = json_node_init_string (json_node_alloc (), entry->body);
  json_builder_add_value (builder, body);

  json_builder_set_member_name (builder, "prev_hash");
  json_builder_add_string_value (builder, entry->prev_hash);
  json_builder_set_member_name (builder, "hash");
  json_builder_add_string_value (builder, entry->hash);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  g_string_append (out, text);
  g_string_append_c (out, '\n');
}

/**
 * drover_ledger_export_file:
 * @path: a ledger's file
 * @format: "csv" (RFC 4180, with a header row) or "jsonl" (JSON Lines)
 * @out: where to write
 * @cancellable: (nullable): stops the export
 * @error: where to say why it failed
 *
 * Writes every row, oldest first, from one snapshot of the ledger. Blocks.
 * docs/ledger.md describes the columns.
 *
 * Returns: %TRUE when every row was written
 */
gboolean
drover_ledger_export_file (const char     *path,
                           const char     *format,
                           GOutputStream  *out,
                           GCancellable   *cancellable,
                           GError        **error)
{
  g_autoptr(GString) buffer = g_string_sized_new (65536);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  sqlite3_stmt *statement = NULL;
  gboolean csv;
  sqlite3 *db;
  int code;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (format != NULL, FALSE);
  g_return_val_if_fail (G_IS_OUTPUT_STREAM (out), FALSE);

  if (g_str_equal (format, "csv"))
    csv = TRUE;
  else if (g_str_equal (format, "jsonl"))
    csv = FALSE;
  else
    {
      g_set_error (error, DROVER_LEDGER_ERROR, DROVER_LEDGER_ERROR_INVALID,
                   _("Drover cannot export the ledger as “%s”: it writes “csv” and “jsonl”."), format);
      return FALSE;
    }

  db = open_for_reading (path, cancellable, error);
  if (db == NULL)
    return FALSE;

  code = sqlite3_prepare_v2 (db, "SELECT seq, time_us, kind, printer, subject, body, prev_hash, hash "
                                 "FROM ledger ORDER BY seq", -1, &statement, NULL);
  if (code != SQLITE_OK)
    {
      set_read_error (error, db, code, path, cancellable);
      close_connection (db);
      return FALSE;
    }

  if (csv)
    g_string_append (buffer, "seq,time,time_us,kind,printer,subject,body,prev_hash,hash\r\n");

  while ((code = sqlite3_step (statement)) == SQLITE_ROW)
    {
      g_autoptr(DroverLedgerEntry) entry = entry_from_statement (statement);

      if (csv)
        append_csv_row (buffer, entry);
      else
        append_jsonl_row (buffer, entry, parser);

      if (buffer->len >= 65536)
        {
          if (!g_output_stream_write_all (out, buffer->str, buffer->len, NULL, cancellable, error))
            goto write_failed;
          g_string_truncate (buffer, 0);
        }
    }

  if (code != SQLITE_DONE)
    {
      set_read_error (error, db, code, path, cancellable);
      sqlite3_finalize (statement);
      close_connection (db);
      return FALSE;
    }

  sqlite3_finalize (statement);
  close_connection (db);

  return g_output_stream_write_all (out, buffer->str, buffer->len, NULL, cancellable, error) &&
         g_output_stream_flush (out, cancellable, error);

write_failed:
  sqlite3_finalize (statement);
  close_connection (db);
  return FALSE;
}
