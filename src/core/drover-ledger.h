/* drover-ledger.h: the farm's append-only, hash-chained record
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What a row records. The body's fields for each are in docs/ledger.md. */
#define DROVER_LEDGER_KIND_JOB_SENT          "job-sent"
#define DROVER_LEDGER_KIND_JOB_REFUSED       "job-refused"
#define DROVER_LEDGER_KIND_COMMAND_SENT      "command-sent"
#define DROVER_LEDGER_KIND_COMMAND_OBSERVED  "command-observed"
#define DROVER_LEDGER_KIND_JOB_OBSERVED      "job-observed"
#define DROVER_LEDGER_KIND_FILE_SNAPSHOT     "file-snapshot"
#define DROVER_LEDGER_KIND_FILE_DIFF         "file-diff"
#define DROVER_LEDGER_KIND_ALERT             "alert"
#define DROVER_LEDGER_KIND_ALERT_ACK         "alert-ack"
#define DROVER_LEDGER_KIND_FILE_APPROVED     "file-approved"
#define DROVER_LEDGER_KIND_FILE_DELETED      "file-deleted"

/* The prev_hash of the first row. */
#define DROVER_LEDGER_GENESIS_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/**
 * DroverLedgerEntry:
 * @seq: 1, 2, 3 … without gaps
 * @time_us: when it was appended, microseconds since 1970 UTC
 * @kind: one of the `DROVER_LEDGER_KIND_*` names
 * @printer: (nullable): the printer's id
 * @subject: (nullable): a file name, a command line, an alert id
 * @body: a JSON object's text, never %NULL (`{}` when there is nothing)
 * @prev_hash: the previous row's @hash, in hex
 * @hash: BLAKE2b-256 of this row, in hex (docs/ledger.md says over what)
 */
typedef struct
{
  gint64  seq;
  gint64  time_us;
  char   *kind;
  char   *printer;
  char   *subject;
  char   *body;
  char   *prev_hash;
  char   *hash;
} DroverLedgerEntry;

/**
 * DroverLedgerQuery:
 * @kind: (nullable): only rows of this kind
 * @printer: (nullable): only rows of this printer
 * @subject: (nullable): only rows with exactly this subject
 * @text: (nullable): only rows whose subject or body holds this text
 *   (ASCII letters match either case)
 * @after_seq: only rows after this one (0: from the first)
 * @limit: at most this many rows; 0 means 1000
 * @newest_first: the newest row first instead of the oldest
 * @before_seq: only rows before this one (0: up to the last); with
 *   @newest_first, the way to page back through the history
 *
 * Zero-initialise it, then set what matters: `{ .kind = "alert" }`.
 */
typedef struct
{
  const char *kind;
  const char *printer;
  const char *subject;
  const char *text;
  gint64      after_seq;
  guint       limit;
  gboolean    newest_first;
  gint64      before_seq;
} DroverLedgerQuery;

/**
 * DroverLedgerVerdict:
 * @rows: how many rows the ledger holds
 * @first_broken_seq: the first row that is changed or missing; 0 when intact
 * @problem: (nullable): what is wrong with it, as a sentence; %NULL when intact
 * @last_hash: (nullable): the last row's hash, to write down elsewhere:
 *   rows removed from the end leave no gap, and only a copy kept outside
 *   the file shows them; %NULL for an empty ledger
 */
typedef struct
{
  gint64  rows;
  gint64  first_broken_seq;
  char   *problem;
  char   *last_hash;
} DroverLedgerVerdict;

#define DROVER_LEDGER_ERROR (drover_ledger_error_quark ())

/**
 * DroverLedgerError:
 * @DROVER_LEDGER_ERROR_OPEN: the ledger's file or folder cannot be opened or made
 * @DROVER_LEDGER_ERROR_CORRUPT: the file is not a Drover ledger, or SQLite finds it damaged
 * @DROVER_LEDGER_ERROR_BROKEN_CHAIN: the hash chain is broken (a verdict made an error)
 * @DROVER_LEDGER_ERROR_READ_ONLY: the file or its folder cannot be written
 * @DROVER_LEDGER_ERROR_DISK_FULL: the disk is full
 * @DROVER_LEDGER_ERROR_WRITE: any other failure to write a row
 * @DROVER_LEDGER_ERROR_READ: a failure to read rows
 * @DROVER_LEDGER_ERROR_INVALID: a row or a request Drover cannot record or answer
 * @DROVER_LEDGER_ERROR_NEWER_VERSION: a newer Drover made the file
 */
typedef enum
{
  DROVER_LEDGER_ERROR_OPEN,
  DROVER_LEDGER_ERROR_CORRUPT,
  DROVER_LEDGER_ERROR_BROKEN_CHAIN,
  DROVER_LEDGER_ERROR_READ_ONLY,
  DROVER_LEDGER_ERROR_DISK_FULL,
  DROVER_LEDGER_ERROR_WRITE,
  DROVER_LEDGER_ERROR_READ,
  DROVER_LEDGER_ERROR_INVALID,
  DROVER_LEDGER_ERROR_NEWER_VERSION,
} DroverLedgerError;

#define DROVER_TYPE_LEDGER_ENTRY (drover_ledger_entry_get_type ())
#define DROVER_TYPE_LEDGER (drover_ledger_get_type ())

G_DECLARE_FINAL_TYPE (DroverLedger, drover_ledger, DROVER, LEDGER, GObject)

GQuark              drover_ledger_error_quark       (void);

GType               drover_ledger_entry_get_type    (void) G_GNUC_CONST;
DroverLedgerEntry  *drover_ledger_entry_copy        (const DroverLedgerEntry  *entry);
void                drover_ledger_entry_free        (DroverLedgerEntry        *entry);

void                drover_ledger_verdict_clear     (DroverLedgerVerdict      *verdict);

char               *drover_ledger_dup_default_path  (void);

DroverLedger       *drover_ledger_open              (const char               *path,
                                                     GError                  **error);
void                drover_ledger_open_async        (const char               *path,
                                                     GCancellable             *cancellable,
                                                     GAsyncReadyCallback       callback,
                                                     gpointer                  user_data);
DroverLedger       *drover_ledger_open_finish       (GAsyncResult             *result,
                                                     GError                  **error);
const char         *drover_ledger_get_path          (DroverLedger             *self);
gboolean            drover_ledger_get_read_only     (DroverLedger             *self);
const char         *drover_ledger_get_problem       (DroverLedger             *self);
guint               drover_ledger_get_n_held        (DroverLedger             *self,
                                                     guint64                  *n_lost);

void                drover_ledger_append            (DroverLedger             *self,
                                                     const char               *kind,
                                                     const char               *printer,
                                                     const char               *subject,
                                                     const char               *body_json);
void                drover_ledger_append_async      (DroverLedger             *self,
                                                     const char               *kind,
                                                     const char               *printer,
                                                     const char               *subject,
                                                     const char               *body_json,
                                                     GCancellable             *cancellable,
                                                     GAsyncReadyCallback       callback,
                                                     gpointer                  user_data);
DroverLedgerEntry  *drover_ledger_append_finish     (DroverLedger             *self,
                                                     GAsyncResult             *result,
                                                     GError                  **error);
void                drover_ledger_flush_async       (DroverLedger             *self,
                                                     GCancellable             *cancellable,
                                                     GAsyncReadyCallback       callback,
                                                     gpointer                  user_data);
gboolean            drover_ledger_flush_finish      (DroverLedger             *self,
                                                     GAsyncResult             *result,
                                                     GError                  **error);

GPtrArray          *drover_ledger_query             (DroverLedger             *self,
                                                     const DroverLedgerQuery  *query,
                                                     GError                  **error);
void                drover_ledger_query_async       (DroverLedger             *self,
                                                     const DroverLedgerQuery  *query,
                                                     GCancellable             *cancellable,
                                                     GAsyncReadyCallback       callback,
                                                     gpointer                  user_data);
GPtrArray          *drover_ledger_query_finish      (DroverLedger             *self,
                                                     GAsyncResult             *result,
                                                     GError                  **error);

gboolean            drover_ledger_verify_file       (const char               *path,
                                                     DroverLedgerVerdict      *verdict,
                                                     GCancellable             *cancellable,
                                                     GError                  **error);
gboolean            drover_ledger_export_file       (const char               *path,
                                                     const char               *format,
                                                     GOutputStream            *out,
                                                     GCancellable             *cancellable,
                                                     GError                  **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DroverLedgerEntry, drover_ledger_entry_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DroverLedgerVerdict, drover_ledger_verdict_clear)

G_END_DECLS
