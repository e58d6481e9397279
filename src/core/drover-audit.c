/* drover-audit.c: what is on the printers, against what Drover sent
 *
 * A file on a printer is expected when the ledger shows Drover sent it
 * (same name and size, same hash where the printer reports one) or an
 * operator approved it; files already there when Drover first listed the
 * printer's files are its baseline. Anything else is unexpected, and its
 * alert's severity rises with evidence: a known attack's marker name, a
 * path trick, content that is not G-code or holds commands a print job has
 * no business sending, and above all the same new file on several printers
 * within minutes, which is one fleet-wide incident naming them all (the
 * shape of the 2024 Anycubic broker abuse). Jobs started, orders given on
 * the broker and commands run that Drover did not send are flagged the
 * same way.
 *
 * Everything the audit sees and decides goes to the ledger. It runs on the
 * main thread and never waits there: the ledger writes on its own thread,
 * fetched files are scanned in a worker.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "drover-audit.h"
#include "drover-format.h"
#include "drover-file-item.h"

#define DEFAULT_INCIDENT_WINDOW_S (10 * 60)
#define OWN_START_WINDOW_US       (5 * 60 * G_USEC_PER_SEC)
#define LOAD_LIMIT                100000

/* Names used by known attacks on printers. */
static const char * const marker_names[] = {
  "hacked_machine_readme.gcode",
};

typedef enum
{
  GROUP_FILE    = 1 << 0,   /* the file was seen on a printer */
  GROUP_DOWNLOAD = 1 << 1,  /* someone ordered it downloaded */
  GROUP_JOB     = 1 << 2,   /* a print of it started, or was ordered */
  GROUP_COMMAND = 1 << 3,   /* commands run or ordered */
  GROUP_DELETE  = 1 << 4,   /* someone ordered it deleted */
  GROUP_FIRMWARE = 1 << 5,  /* someone ordered a firmware or system update */
} GroupKind;

/* What a scan found, as sentences, and the severity it calls for. */
typedef struct
{
  DroverAlertSeverity  severity;
  GPtrArray           *sentences;
} Evidence;

static void
evidence_free (Evidence *evidence)
{
  g_ptr_array_unref (evidence->sentences);
  g_free (evidence);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Evidence, evidence_free)

typedef struct
{
  DroverAlert *alert;
  char        *key;
  char        *subject;
  GroupKind    kinds;
  char        *host;        /* where a download order pointed */
  GHashTable  *stored;      /* printer ids where the file turned up */
  GHashTable  *ordered;     /* printer ids told to download it */
} Group;

typedef struct
{
  gint64  size;
  char   *sha256;
  char   *job_id;
  char   *signer;
} Sent;

struct _DroverAudit
{
  GObject               parent_instance;

  DroverFleet          *fleet;
  DroverLedger         *ledger;
  GCancellable         *cancellable;
  gboolean              ready;
  GPtrArray            *waiting;        /* Pending events until the ledger is read */

  GListStore           *alerts;         /* DroverAlert, newest first */
  GHashTable           *alerts_by_id;   /* id → DroverAlert (borrowed from the store) */
  GHashTable           *groups;         /* key → Group: open alerts that gather more */

  GHashTable           *files;          /* printer id → GListStore of DroverFileItem */
  GHashTable           *baselined;      /* printer ids whose first file list was seen */
  GHashTable           *sent;           /* "printer\x1fname" → Sent */
  GHashTable           *approved;       /* "printer\x1fname" → operator */
  GHashTable           *own_requests;   /* request ids Drover sent */
  GHashTable           *own_starts;     /* "printer\x1fname" → gint64* µs */
  GHashTable           *scanned;        /* "name\x1fsize" → Evidence */

  DroverAuditFetchFunc  fetch_func;
  gpointer              fetch_data;
  GDestroyNotify        fetch_destroy;

  DroverGcodeLimits     limits;
  char                **allowed_hosts;
  guint                 window_s;
  char                 *operator_name;
};

G_DEFINE_FINAL_TYPE (DroverAudit, drover_audit, G_TYPE_OBJECT)

enum { ALERT_RAISED, ALERT_CHANGED, READY, N_SIGNALS };
static guint signals[N_SIGNALS];

typedef struct
{
  char        *printer_id;
  DroverEvent *event;
} Pending;

static void
pending_free (Pending *pending)
{
  g_free (pending->printer_id);
  drover_event_unref (pending->event);
  g_free (pending);
}

static void
group_free (Group *group)
{
  g_clear_object (&group->alert);
  g_free (group->key);
  g_free (group->subject);
  g_free (group->host);
  g_clear_pointer (&group->stored, g_hash_table_unref);
  g_clear_pointer (&group->ordered, g_hash_table_unref);
  g_free (group);
}

static void
sent_free (Sent *sent)
{
  g_free (sent->sha256);
  g_free (sent->job_id);
  g_free (sent->signer);
  g_free (sent);
}

static char *
pair_key (const char *printer_id,
          const char *name)
{
  return g_strconcat (printer_id, "\x1f", name, NULL);
}

static void
drover_audit_dispose (GObject *object)
{
  DroverAudit *self = (DroverAudit *)object;

  g_cancellable_cancel (self->cancellable);
  if (self->fetch_destroy != NULL)
    g_clear_pointer (&self->fetch_data, self->fetch_destroy);
  self->fetch_func = NULL;
  g_clear_object (&self->ledger);
  g_clear_object (&self->fleet);

  G_OBJECT_CLASS (drover_audit_parent_class)->dispose (object);
}

static void
drover_audit_finalize (GObject *object)
{
  DroverAudit *self = (DroverAudit *)object;

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->waiting, g_ptr_array_unref);
  g_clear_object (&self->alerts);
  g_clear_pointer (&self->alerts_by_id, g_hash_table_unref);
  g_clear_pointer (&self->groups, g_hash_table_unref);
  g_clear_pointer (&self->files, g_hash_table_unref);
  g_clear_pointer (&self->baselined, g_hash_table_unref);
  g_clear_pointer (&self->sent, g_hash_table_unref);
  g_clear_pointer (&self->approved, g_hash_table_unref);
  g_clear_pointer (&self->own_requests, g_hash_table_unref);
  g_clear_pointer (&self->own_starts, g_hash_table_unref);
  g_clear_pointer (&self->scanned, g_hash_table_unref);
  g_free (self->operator_name);
  g_strfreev (self->allowed_hosts);

  G_OBJECT_CLASS (drover_audit_parent_class)->finalize (object);
}

static void
drover_audit_class_init (DroverAuditClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = drover_audit_dispose;
  object_class->finalize = drover_audit_finalize;

  /**
   * DroverAudit::alert-raised:
   * @alert: the new alert
   *
   * A new alert, already at the top of the alerts list.
   */
  signals[ALERT_RAISED] = g_signal_new ("alert-raised", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 1, DROVER_TYPE_ALERT);
  /**
   * DroverAudit::alert-changed:
   * @alert: the alert
   *
   * An alert gathered a printer or evidence, or was acknowledged.
   */
  signals[ALERT_CHANGED] = g_signal_new ("alert-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 1, DROVER_TYPE_ALERT);
  /**
   * DroverAudit::ready:
   *
   * The ledger was read: what Drover sent, what operators approved, the
   * alerts of earlier sessions.
   */
  signals[READY] = g_signal_new ("ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
drover_audit_init (DroverAudit *self)
{
  self->cancellable = g_cancellable_new ();
  self->waiting = g_ptr_array_new_with_free_func ((GDestroyNotify)pending_free);
  self->alerts = g_list_store_new (DROVER_TYPE_ALERT);
  self->alerts_by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->groups = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)group_free);
  self->files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->baselined = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->sent = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)sent_free);
  self->approved = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->own_requests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->own_starts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->scanned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)evidence_free);
  self->window_s = DEFAULT_INCIDENT_WINDOW_S;
  self->operator_name = g_strdup (g_get_user_name ());
  drover_gcode_limits_init_default (&self->limits);
}

/**
 * drover_audit_new:
 * @fleet: the printers, for their names
 *
 * Returns: (transfer full): an audit; it is ready once it has a ledger
 *   and has read it (drover_audit_set_ledger())
 */
DroverAudit *
drover_audit_new (DroverFleet *fleet)
{
  DroverAudit *self;

  g_return_val_if_fail (DROVER_IS_FLEET (fleet), NULL);

  self = g_object_new (DROVER_TYPE_AUDIT, NULL);
  self->fleet = g_object_ref (fleet);
  return self;
}

/* Ledger rows */

static void
append (DroverAudit *self,
        const char  *kind,
        const char  *printer_id,
        const char  *subject,
        JsonBuilder *body)
{
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;

  if (self->ledger == NULL)
    return;

  root = json_builder_get_root (body);
  text = json_to_string (root, FALSE);
  drover_ledger_append (self->ledger, kind, printer_id, subject, text);
}

static JsonBuilder *
body_new (void)
{
  JsonBuilder *builder = json_builder_new ();

  json_builder_begin_object (builder);
  return builder;
}

static void
body_string (JsonBuilder *builder,
             const char  *name,
             const char  *value)
{
  if (value == NULL)
    return;
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

static void
body_int (JsonBuilder *builder,
          const char  *name,
          gint64       value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_int_value (builder, value);
}

static void
append_body (DroverAudit *self,
             const char  *kind,
             const char  *printer_id,
             const char  *subject,
             JsonBuilder *body)
{
  json_builder_end_object (body);
  append (self, kind, printer_id, subject, body);
}

static void
record_alert (DroverAudit *self,
              DroverAlert *alert)
{
  g_autofree char *json = NULL;

  if (self->ledger == NULL)
    return;

  /* Each change is a new row: the newest row of an alert is its state. */
  json = drover_alert_to_json (alert);
  drover_ledger_append (self->ledger, DROVER_LEDGER_KIND_ALERT, NULL, drover_alert_get_id (alert), json);
}

/* Words */

static const char *
printer_name (DroverAudit *self,
              const char  *printer_id)
{
  DroverPrinter *printer = drover_fleet_find_printer (self->fleet, printer_id);
  const char *name = printer != NULL ? drover_printer_get_display_name (printer) : NULL;

  return name != NULL ? name : printer_id;
}

static char *
url_host (const char *url)
{
  g_autoptr(GUri) uri = url != NULL ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return g_strdup (url);
  return g_strdup (g_uri_get_host (uri));
}

static void
update_title (DroverAudit *self,
              Group       *group)
{
  DroverAlert *alert = group->alert;
  guint n = drover_alert_get_n_printers (alert);
  const char *first = printer_name (self, drover_alert_get_printers (alert)[0]);
  g_autofree char *title = NULL;
  /* Names from the printers and the broker: whoever planted the file chose
   * them, right-to-left overrides and 10,000 characters included. */
  g_autofree char *subject = drover_format_untrusted (group->subject, 80);
  g_autofree char *host = drover_format_untrusted (group->host, 60);

  /* Ordered to many, stored by some: say both, as the 2024 count did
   * (2,000 told, 237 with the file). */
  if ((group->kinds & GROUP_DOWNLOAD) && (group->kinds & GROUP_FILE) && n > 1 &&
      g_hash_table_size (group->ordered) == n)
    title = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u printers were told to download “%s” from %s; %u has it",
                                          "%u printers were told to download “%s” from %s; %u have it",
                                          g_hash_table_size (group->stored)),
                             n, subject, host, g_hash_table_size (group->stored));
  else if (group->kinds & GROUP_FILE)
    title = n == 1 ? g_strdup_printf (_("Unexpected file “%s” on %s"), subject, first)
                   : g_strdup_printf (_("Unexpected file “%s” on %u printers"), subject, n);
  else if (group->kinds & GROUP_DOWNLOAD)
    title = n == 1 ? g_strdup_printf (_("%s was told to download “%s” from %s"), first, subject, host)
                   : g_strdup_printf (_("%u printers were told to download “%s” from %s"), n, subject, host);
  else if (group->kinds & GROUP_FIRMWARE)
    title = n == 1 ? g_strdup_printf (_("%s was ordered to update its firmware or system"), first)
                   : g_strdup_printf (_("%u printers were ordered to update their firmware or system"), n);
  else if (group->kinds & GROUP_DELETE)
    title = n == 1 ? g_strdup_printf (_("%s was ordered to delete “%s”"), first, subject)
                   : g_strdup_printf (_("%u printers were ordered to delete “%s”"), n, subject);
  else if (group->kinds & GROUP_JOB)
    title = n == 1 ? g_strdup_printf (_("%s started “%s”, and Drover did not start it"), first, subject)
                   : g_strdup_printf (_("%u printers started “%s”, and Drover did not start it"), n, subject);
  else
    title = n == 1 ? g_strdup_printf (_("%s ran commands Drover did not send"), first)
                   : g_strdup_printf (_("%u printers ran commands Drover did not send"), n);

  drover_alert_set_title (alert, title);
}

/* Alerts */

static void
alert_changed (DroverAudit *self,
               Group       *group)
{
  update_title (self, group);
  record_alert (self, group->alert);
  g_signal_emit (self, signals[ALERT_CHANGED], 0, group->alert);
}

static gboolean
group_is_open (DroverAudit *self,
               Group       *group)
{
  gint64 now = g_get_real_time ();

  return !drover_alert_get_acknowledged (group->alert) &&
         now - drover_alert_get_updated (group->alert) <= (gint64)self->window_s * G_USEC_PER_SEC;
}

/*
 * Finds the open alert for @key, or raises a new one. The same thing on
 * another printer within the window joins the same alert: one incident.
 */
static Group *
group_for (DroverAudit *self,
           const char  *key,
           const char  *subject,
           const char  *printer_id,
           gboolean    *created)
{
  Group *group = g_hash_table_lookup (self->groups, key);

  *created = FALSE;
  if (group != NULL && !group_is_open (self, group))
    {
      g_hash_table_remove (self->groups, key);
      group = NULL;
    }

  if (group == NULL)
    {
      group = g_new0 (Group, 1);
      group->key = g_strdup (key);
      group->subject = g_strdup (subject);
      group->alert = drover_alert_new (NULL, subject, g_get_real_time ());
      group->stored = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      group->ordered = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_hash_table_insert (self->groups, group->key, group);
      *created = TRUE;
    }

  if (drover_alert_add_printer (group->alert, printer_id) && drover_alert_get_incident (group->alert))
    {
      drover_alert_add_evidence (group->alert, _("It happened on several printers within minutes: "
                                                 "one incident across the farm, not a printer's fault."));
      drover_alert_raise_severity (group->alert, (group->kinds & (GROUP_FILE | GROUP_DOWNLOAD | GROUP_FIRMWARE)) ?
                                                 DROVER_ALERT_CRITICAL : DROVER_ALERT_WARNING);
    }

  return group;
}

static void
publish_group (DroverAudit *self,
               Group       *group,
               gboolean     created)
{
  if (drover_alert_get_incident (group->alert) && (group->kinds & (GROUP_FILE | GROUP_DOWNLOAD)))
    drover_alert_raise_severity (group->alert, DROVER_ALERT_CRITICAL);

  update_title (self, group);
  record_alert (self, group->alert);

  if (created)
    {
      g_list_store_insert (self->alerts, 0, group->alert);
      g_hash_table_insert (self->alerts_by_id, (gpointer)drover_alert_get_id (group->alert), group->alert);
      g_signal_emit (self, signals[ALERT_RAISED], 0, group->alert);
    }
  else
    g_signal_emit (self, signals[ALERT_CHANGED], 0, group->alert);
}

/* Content: fetch, scan, evidence */

static void
add_scan_evidence (DroverAlert    *alert,
                   const Evidence *evidence)
{
  for (guint i = 0; i < evidence->sentences->len; i++)
    drover_alert_add_evidence (alert, g_ptr_array_index (evidence->sentences, i));
  drover_alert_raise_severity (alert, evidence->severity);
}

static Evidence *
evidence_from_report (const DroverGcodeReport *report)
{
  Evidence *result = g_new0 (Evidence, 1);
  GPtrArray *evidence = g_ptr_array_new_with_free_func (g_free);
  DroverAlertSeverity severity = DROVER_ALERT_WARNING;

  switch (report->verdict)
    {
    case DROVER_GCODE_VERDICT_NOT_GCODE:
      g_ptr_array_add (evidence, g_strdup_printf (_("Its content is not G-code: %s"), report->verdict_reason));
      severity = DROVER_ALERT_CRITICAL;
      break;
    case DROVER_GCODE_VERDICT_BINARY:
      g_ptr_array_add (evidence, g_strdup_printf (_("Its content is binary data, not G-code: %s"), report->verdict_reason));
      severity = DROVER_ALERT_CRITICAL;
      break;
    case DROVER_GCODE_VERDICT_EMPTY:
      g_ptr_array_add (evidence, g_strdup (_("The file is empty.")));
      break;
    case DROVER_GCODE_VERDICT_GCODE:
    default:
      break;
    }

  for (guint i = 0; report->findings != NULL && i < report->findings->len; i++)
    {
      DroverGcodeFinding *finding = g_ptr_array_index (report->findings, i);
      g_autofree char *command = NULL;

      if (!finding->dangerous)
        continue;
      command = drover_format_untrusted (finding->command, 80);
      g_ptr_array_add (evidence, g_strdup_printf (_("Line %" G_GUINT64_FORMAT ", “%s”: %s"),
                                                  finding->line, command, finding->reason));
      severity = DROVER_ALERT_CRITICAL;
    }

  result->severity = severity;
  result->sentences = evidence;
  return result;
}

typedef struct
{
  DroverAudit *audit;
  char        *alert_id;
  char        *scan_key;
  GFile       *file;
} ScanJob;

static void
scan_job_free (ScanJob *job)
{
  if (job->file != NULL)
    g_file_delete (job->file, NULL, NULL);
  g_clear_object (&job->file);
  g_object_unref (job->audit);
  g_free (job->alert_id);
  g_free (job->scan_key);
  g_free (job);
}

static void
apply_scan (DroverAudit    *self,
            const char     *alert_id,
            const Evidence *evidence)
{
  DroverAlert *alert = g_hash_table_lookup (self->alerts_by_id, alert_id);
  GHashTableIter iter;
  Group *group;

  if (alert == NULL)
    return;
  add_scan_evidence (alert, evidence);

  g_hash_table_iter_init (&iter, self->groups);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&group))
    if (group->alert == alert)
      {
        alert_changed (self, group);
        return;
      }

  record_alert (self, alert);
  g_signal_emit (self, signals[ALERT_CHANGED], 0, alert);
}

static void
scanned_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  ScanJob *job = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverGcodeReport) report = drover_gcode_scan_file_finish (result, &error);

  if (report != NULL && !g_cancellable_is_cancelled (job->audit->cancellable))
    {
      Evidence *evidence = evidence_from_report (report);

      g_hash_table_replace (job->audit->scanned, g_strdup (job->scan_key), evidence);
      apply_scan (job->audit, job->alert_id, evidence);
    }
  else if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_message ("Scanning %s: %s", job->scan_key, error->message);

  scan_job_free (job);
}

static void
fetched_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  ScanJob *job = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error) || g_cancellable_is_cancelled (job->audit->cancellable))
    {
      if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED) &&
          !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("Fetching %s: %s", job->scan_key, error->message);
      scan_job_free (job);
      return;
    }

  drover_gcode_scan_file_async (job->file, &job->audit->limits, job->audit->cancellable, scanned_cb, job);
}

static void
scan_content (DroverAudit   *self,
              DroverPrinter *printer,
              const char    *name,
              gint64         size,
              DroverAlert   *alert)
{
  g_autofree char *scan_key = g_strdup_printf ("%s\x1f%" G_GINT64_FORMAT, name, size);
  Evidence *known = g_hash_table_lookup (self->scanned, scan_key);
  g_autoptr(GFileIOStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  ScanJob *job;

  /* The same file on fifty printers is read once. */
  if (known != NULL)
    {
      add_scan_evidence (alert, known);
      return;
    }
  if (self->fetch_func == NULL || printer == NULL)
    return;

  job = g_new0 (ScanJob, 1);
  job->audit = g_object_ref (self);
  job->alert_id = g_strdup (drover_alert_get_id (alert));
  job->scan_key = g_steal_pointer (&scan_key);
  job->file = g_file_new_tmp ("drover-scan-XXXXXX.gcode", &stream, &error);
  if (job->file == NULL)
    {
      g_message ("%s", error->message);
      scan_job_free (job);
      return;
    }
  g_io_stream_close (G_IO_STREAM (stream), NULL, NULL);

  self->fetch_func (printer, name, job->file, self->cancellable, fetched_cb, job, self->fetch_data);
}

/* Files */

static GListStore *
files_of (DroverAudit *self,
          const char  *printer_id)
{
  GListStore *store = g_hash_table_lookup (self->files, printer_id);

  if (store == NULL)
    {
      store = g_list_store_new (DROVER_TYPE_FILE_ITEM);
      g_hash_table_insert (self->files, g_strdup (printer_id), store);
    }

  return store;
}

static DroverFileItem *
find_file (GListStore *store,
           const char *name,
           guint      *position)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (store));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(DroverFileItem) item = g_list_model_get_item (G_LIST_MODEL (store), i);

      if (g_str_equal (drover_file_item_get_name (item), name))
        {
          if (position != NULL)
            *position = i;
          return item;   /* the store keeps its reference */
        }
    }

  return NULL;
}

static int
compare_files (gconstpointer a,
               gconstpointer b,
               gpointer      user_data)
{
  return g_utf8_collate (drover_file_item_get_name ((DroverFileItem *)a),
                         drover_file_item_get_name ((DroverFileItem *)b));
}

/* Sent by Drover or approved: the provenance in words, or NULL. */
static gboolean
file_is_expected (DroverAudit          *self,
                  const char           *printer_id,
                  const char           *name,
                  gint64                size,
                  const char           *sha256,
                  DroverFileProvenance *provenance,
                  char                **detail)
{
  g_autofree char *key = pair_key (printer_id, name);
  Sent *sent = g_hash_table_lookup (self->sent, key);
  const char *approver = g_hash_table_lookup (self->approved, key);

  if (sent != NULL &&
      (sent->size < 0 || size < 0 || sent->size == size) &&
      (sent->sha256 == NULL || sha256 == NULL || g_ascii_strcasecmp (sent->sha256, sha256) == 0))
    {
      *provenance = DROVER_FILE_SENT;
      if (sent->job_id != NULL && sent->signer != NULL)
        *detail = g_strdup_printf (_("Sent by Drover: job %s, signed by key %s"), sent->job_id, sent->signer);
      else if (sent->job_id != NULL)
        *detail = g_strdup_printf (_("Sent by Drover: job %s"), sent->job_id);
      else
        *detail = g_strdup (_("Sent by Drover"));
      return TRUE;
    }

  if (approver != NULL)
    {
      *provenance = DROVER_FILE_APPROVED;
      *detail = g_strdup_printf (_("Approved by %s"), approver);
      return TRUE;
    }

  return FALSE;
}

static gboolean
name_is_path_trick (const char *name)
{
  if (name[0] == '/' || strstr (name, "..") != NULL || strchr (name, '\\') != NULL)
    return TRUE;
  for (const char *p = name; *p != '\0'; p++)
    if ((guchar)*p < 0x20 || *p == 0x7f)
      return TRUE;
  return !g_utf8_validate (name, -1, NULL);
}

/* Right-to-left overrides, zero-width and other invisible characters: a
 * name that shows as something else than it is. */
static gboolean
name_hides_characters (const char *name)
{
  if (!g_utf8_validate (name, -1, NULL))
    return FALSE;
  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
    {
      GUnicodeType type = g_unichar_type (g_utf8_get_char (p));

      if (type == G_UNICODE_FORMAT || type == G_UNICODE_LINE_SEPARATOR || type == G_UNICODE_PARAGRAPH_SEPARATOR)
        return TRUE;
    }
  return FALSE;
}

static void
file_appeared (DroverAudit          *self,
               DroverPrinter        *printer,
               const DroverFileInfo *info)
{
  const char *printer_id = drover_printer_get_id (printer);
  GListStore *store = files_of (self, printer_id);
  DroverFileItem *item = find_file (store, info->name, NULL);
  g_autoptr(JsonBuilder) body = body_new ();
  DroverFileProvenance provenance;
  g_autofree char *detail = NULL;
  const char *basename;
  gboolean created;
  Group *group;

  if (item == NULL)
    {
      g_autoptr(DroverFileItem) added = drover_file_item_new (info->name, info->size, info->modified);

      g_list_store_insert_sorted (store, added, compare_files, NULL);
      item = added;
    }
  else
    {
      drover_file_item_set_size (item, info->size);
      drover_file_item_set_modified (item, info->modified);
    }
  drover_file_item_set_sha256 (item, info->sha256);

  body_string (body, "change", "added");
  body_int (body, "size", info->size);
  body_string (body, "sha256", info->sha256);

  if (file_is_expected (self, printer_id, info->name, info->size, info->sha256, &provenance, &detail))
    {
      drover_file_item_set_provenance (item, provenance, detail);
      body_string (body, "provenance", provenance == DROVER_FILE_SENT ? "sent" : "approved");
      append_body (self, DROVER_LEDGER_KIND_FILE_DIFF, printer_id, info->name, body);
      return;
    }

  body_string (body, "provenance", "unexpected");
  append_body (self, DROVER_LEDGER_KIND_FILE_DIFF, printer_id, info->name, body);

  group = group_for (self, info->name, info->name, printer_id, &created);
  group->kinds |= GROUP_FILE;
  g_hash_table_add (group->stored, g_strdup (printer_id));
  drover_alert_raise_severity (group->alert, DROVER_ALERT_WARNING);
  drover_alert_add_evidence (group->alert, _("Drover did not send this file and no operator approved it."));

  basename = strrchr (info->name, '/') != NULL ? strrchr (info->name, '/') + 1 : info->name;
  for (guint i = 0; i < G_N_ELEMENTS (marker_names); i++)
    if (g_ascii_strcasecmp (basename, marker_names[i]) == 0)
      {
        drover_alert_add_evidence (group->alert,
                                   _("Its name is the one planted on about 2,000 Anycubic printers in the "
                                     "2024 broker attack."));
        drover_alert_raise_severity (group->alert, DROVER_ALERT_CRITICAL);
      }
  if (name_is_path_trick (info->name))
    {
      drover_alert_add_evidence (group->alert, _("Its name tries to reach outside the printer's file folder "
                                                 "or holds control characters."));
      drover_alert_raise_severity (group->alert, DROVER_ALERT_CRITICAL);
    }
  if (name_hides_characters (info->name))
    {
      drover_alert_add_evidence (group->alert, _("Its name holds invisible or right-to-left characters, which "
                                                 "can make it look like another name; Drover shows them as "
                                                 "<U+…>."));
      drover_alert_raise_severity (group->alert, DROVER_ALERT_CRITICAL);
    }

  drover_file_item_set_provenance (item, DROVER_FILE_UNEXPECTED,
                                   _("Unexpected: Drover did not send it and no operator approved it"));

  scan_content (self, printer, info->name, info->size, group->alert);
  publish_group (self, group, created);
}

static void
file_went (DroverAudit *self,
           const char  *printer_id,
           const char  *name)
{
  GListStore *store = files_of (self, printer_id);
  g_autoptr(JsonBuilder) body = body_new ();
  guint position;

  if (find_file (store, name, &position) == NULL)
    return;
  g_list_store_remove (store, position);

  body_string (body, "change", "removed");
  append_body (self, DROVER_LEDGER_KIND_FILE_DIFF, printer_id, name, body);
}

static void
record_snapshot (DroverAudit       *self,
                 const char        *printer_id,
                 const DroverEvent *event)
{
  g_autoptr(JsonBuilder) body = body_new ();

  json_builder_set_member_name (body, "files");
  json_builder_begin_array (body);
  for (guint i = 0; i < event->files->len; i++)
    {
      DroverFileInfo *info = g_ptr_array_index (event->files, i);

      json_builder_begin_object (body);
      body_string (body, "name", info->name);
      body_int (body, "size", info->size);
      body_int (body, "modified", info->modified);
      body_string (body, "sha256", info->sha256);
      json_builder_end_object (body);
    }
  json_builder_end_array (body);
  append_body (self, DROVER_LEDGER_KIND_FILE_SNAPSHOT, printer_id, NULL, body);
}

static void
file_list (DroverAudit       *self,
           DroverPrinter     *printer,
           const DroverEvent *event)
{
  const char *printer_id = drover_printer_get_id (printer);
  GListStore *store = files_of (self, printer_id);
  g_autoptr(GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  gboolean changed = FALSE;
  guint n;

  for (guint i = 0; i < event->files->len; i++)
    {
      DroverFileInfo *info = g_ptr_array_index (event->files, i);

      g_hash_table_insert (listed, info->name, info);
    }

  /* The first list Drover ever sees of a printer is its baseline: those
   * files were there before anyone could watch. */
  if (!g_hash_table_contains (self->baselined, printer_id))
    {
      g_hash_table_add (self->baselined, g_strdup (printer_id));
      for (guint i = 0; i < event->files->len; i++)
        {
          DroverFileInfo *info = g_ptr_array_index (event->files, i);
          g_autoptr(DroverFileItem) item = drover_file_item_new (info->name, info->size, info->modified);
          DroverFileProvenance provenance;
          g_autofree char *detail = NULL;

          if (find_file (store, info->name, NULL) != NULL)
            continue;
          drover_file_item_set_sha256 (item, info->sha256);
          if (file_is_expected (self, printer_id, info->name, info->size, info->sha256, &provenance, &detail))
            drover_file_item_set_provenance (item, provenance, detail);
          else
            drover_file_item_set_provenance (item, DROVER_FILE_BASELINE,
                                             _("On the printer when Drover first listed its files"));
          g_list_store_insert_sorted (store, item, compare_files, NULL);
        }
      record_snapshot (self, printer_id, event);
      return;
    }

  n = g_list_model_get_n_items (G_LIST_MODEL (store));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(DroverFileItem) item = g_list_model_get_item (G_LIST_MODEL (store), i);

      if (!g_hash_table_contains (listed, drover_file_item_get_name (item)))
        g_ptr_array_add (gone, g_strdup (drover_file_item_get_name (item)));
    }
  for (guint i = 0; i < gone->len; i++)
    file_went (self, printer_id, g_ptr_array_index (gone, i));
  changed = gone->len > 0;

  for (guint i = 0; i < event->files->len; i++)
    {
      DroverFileInfo *info = g_ptr_array_index (event->files, i);
      DroverFileItem *item = find_file (store, info->name, NULL);

      /* Already known (an event told of it before the list did): the
       * list only fills in what the event left out. A file written over
       * with other content is new content. */
      if (item != NULL &&
          (drover_file_item_get_size (item) < 0 || info->size < 0 || drover_file_item_get_size (item) == info->size) &&
          (drover_file_item_get_sha256 (item) == NULL || info->sha256 == NULL ||
           g_ascii_strcasecmp (drover_file_item_get_sha256 (item), info->sha256) == 0))
        {
          if (drover_file_item_get_size (item) < 0)
            drover_file_item_set_size (item, info->size);
          if (drover_file_item_get_modified (item) < 0)
            drover_file_item_set_modified (item, info->modified);
          if (drover_file_item_get_sha256 (item) == NULL)
            drover_file_item_set_sha256 (item, info->sha256);
          continue;
        }
      file_appeared (self, printer, info);
      changed = TRUE;
    }

  if (changed)
    record_snapshot (self, printer_id, event);
}

/* Jobs, orders and commands */

static gboolean
is_own_start (DroverAudit *self,
              const char  *printer_id,
              const char  *file)
{
  g_autofree char *key = pair_key (printer_id, file);
  gint64 *when = g_hash_table_lookup (self->own_starts, key);

  return when != NULL && g_get_real_time () - *when <= OWN_START_WINDOW_US;
}

static void
job_started (DroverAudit       *self,
             DroverPrinter     *printer,
             const DroverEvent *event)
{
  const char *printer_id = drover_printer_get_id (printer);
  g_autoptr(JsonBuilder) body = body_new ();
  g_autofree char *key = NULL;
  gboolean own = is_own_start (self, printer_id, event->file);
  gboolean created;
  DroverFileItem *item;
  Group *group;

  /* The same start told twice (an event, then the state that follows). */
  {
    g_autofree char *seen_key = g_strconcat ("started\x1f", printer_id, "\x1f", event->file, NULL);
    gint64 *last = g_hash_table_lookup (self->own_starts, seen_key);
    gint64 now = g_get_real_time ();

    if (last != NULL && now - *last < 60 * G_USEC_PER_SEC)
      return;
    last = g_new (gint64, 1);
    *last = now;
    g_hash_table_replace (self->own_starts, g_steal_pointer (&seen_key), last);
  }

  body_string (body, "file", event->file);
  body_string (body, "origin", event->origin);
  json_builder_set_member_name (body, "by_drover");
  json_builder_add_boolean_value (body, own);
  append_body (self, DROVER_LEDGER_KIND_JOB_OBSERVED, printer_id, event->file, body);

  if (own)
    return;

  /* A print of an unexpected file joins that file's alert: the planted
   * file being printed is the same incident, grown worse. */
  item = find_file (files_of (self, printer_id), event->file, NULL);
  if (item != NULL && drover_file_item_get_provenance (item) == DROVER_FILE_UNEXPECTED &&
      g_hash_table_contains (self->groups, event->file))
    {
      g_autofree char *sentence = g_strdup_printf (_("%s started printing it."), printer_name (self, printer_id));

      group = group_for (self, event->file, event->file, printer_id, &created);
      drover_alert_add_evidence (group->alert, sentence);
      drover_alert_raise_severity (group->alert, DROVER_ALERT_CRITICAL);
      publish_group (self, group, created);
      return;
    }

  key = g_strconcat ("job\x1f", event->file, NULL);
  group = group_for (self, key, event->file, printer_id, &created);
  group->kinds |= GROUP_JOB;
  drover_alert_add_evidence (group->alert, _("The print was not started by Drover."));

  /* Someone at the printer's screen starting a file the printer had is a
   * notice; the same start on several printers (Bambu's 2023 replay) or a
   * file nobody sent is not. */
  if (item != NULL && drover_file_item_get_provenance (item) == DROVER_FILE_UNEXPECTED)
    {
      drover_alert_add_evidence (group->alert, _("It prints a file Drover did not send and no operator approved."));
      drover_alert_raise_severity (group->alert, DROVER_ALERT_CRITICAL);
    }

  publish_group (self, group, created);
}

static void
scan_text_into (DroverAudit *self,
                Group       *group,
                const char  *gcode)
{
  DroverGcodeScan *scan = drover_gcode_scan_new (&self->limits);
  g_autoptr(DroverGcodeReport) report = NULL;
  g_autoptr(Evidence) evidence = NULL;

  /* Orders are a few lines: scanning them here is cheap. */
  drover_gcode_scan_feed (scan, (const guint8 *)gcode, strlen (gcode));
  drover_gcode_scan_feed (scan, (const guint8 *)"\n", 1);
  report = drover_gcode_scan_finish (scan);
  evidence = evidence_from_report (report);
  add_scan_evidence (group->alert, evidence);
}

static gboolean
gcode_is_dangerous (DroverAudit *self,
                    const char  *gcode)
{
  DroverGcodeScan *scan = drover_gcode_scan_new (&self->limits);
  g_autoptr(DroverGcodeReport) report = NULL;

  drover_gcode_scan_feed (scan, (const guint8 *)gcode, strlen (gcode));
  drover_gcode_scan_feed (scan, (const guint8 *)"\n", 1);
  report = drover_gcode_scan_finish (scan);
  return drover_gcode_report_is_dangerous (report);
}

/* The hosts this farm's jobs come from; a download from any other is an
 * alert of its own. */
static gboolean
host_is_allowed (DroverAudit *self,
                 const char  *url)
{
  g_autofree char *host = url_host (url);

  return host != NULL && self->allowed_hosts != NULL &&
         g_strv_contains ((const char * const *)self->allowed_hosts, host);
}

static void
order_seen (DroverAudit       *self,
            DroverPrinter     *printer,
            const DroverEvent *event)
{
  const char *printer_id = drover_printer_get_id (printer);
  const char *command = event->command != NULL ? event->command : "";
  g_autoptr(JsonBuilder) body = NULL;
  g_autofree char *key = NULL;
  gboolean created;
  Group *group;

  if (event->request_id != NULL && g_hash_table_contains (self->own_requests, event->request_id))
    return;

  body = body_new ();
  body_string (body, "order", command);
  body_string (body, "file", event->file);
  body_string (body, "url", event->url);
  body_string (body, "request_id", event->request_id);
  append_body (self, DROVER_LEDGER_KIND_COMMAND_OBSERVED, printer_id, command, body);

  if (g_str_equal (command, "download") && event->file != NULL && !host_is_allowed (self, event->url))
    {
      g_autofree char *host = url_host (event->url);
      g_autofree char *sentence = g_strdup_printf (_("A client on the broker that is not Drover ordered it downloaded "
                                                     "from %s, a server this farm's jobs do not come from."),
                                                   host != NULL ? host : _("an unknown address"));

      /* Keyed by the file's name: its arrival joins this alert. */
      group = group_for (self, event->file, event->file, printer_id, &created);
      group->kinds |= GROUP_DOWNLOAD;
      g_hash_table_add (group->ordered, g_strdup (printer_id));
      if (group->host == NULL)
        group->host = g_strdup (host);
      drover_alert_add_evidence (group->alert, sentence);
      drover_alert_raise_severity (group->alert, DROVER_ALERT_WARNING);
    }
  else if ((g_str_equal (command, "start") || g_str_equal (command, "print")) && event->file != NULL &&
           event->url != NULL && g_str_has_prefix (event->url, "http") && !host_is_allowed (self, event->url))
    {
      g_autofree char *host = url_host (event->url);
      g_autofree char *sentence = g_strdup_printf (_("A client on the broker that is not Drover ordered it printed "
                                                     "from %s, a server this farm's jobs do not come from."),
                                                   host != NULL ? host : _("an unknown address"));

      /* Anycubic's print-from-URL is a download first: keyed by the file,
       * so the file's later arrival joins the same incident. */
      group = group_for (self, event->file, event->file, printer_id, &created);
      group->kinds |= GROUP_DOWNLOAD;
      g_hash_table_add (group->ordered, g_strdup (printer_id));
      if (group->host == NULL)
        group->host = g_strdup (host);
      drover_alert_add_evidence (group->alert, sentence);
      drover_alert_raise_severity (group->alert, DROVER_ALERT_WARNING);
    }
  else if ((g_str_equal (command, "start") || g_str_equal (command, "print")) && event->file != NULL &&
           event->url != NULL && host_is_allowed (self, event->url))
    {
      /* From the farm's own job server: the print that follows is
       * expected, in the ledger and nowhere else. */
      drover_audit_note_own_start (self, printer_id, event->file);
      return;
    }
  else if ((g_str_equal (command, "start") || g_str_equal (command, "print")) && event->file != NULL)
    {
      key = g_strconcat ("job\x1f", event->file, NULL);
      group = group_for (self, key, event->file, printer_id, &created);
      group->kinds |= GROUP_JOB;
      drover_alert_add_evidence (group->alert, _("A client that is not Drover ordered the print on the broker."));
      drover_alert_raise_severity (group->alert, DROVER_ALERT_WARNING);
    }
  else if (g_str_equal (command, "delete") && event->file != NULL)
    {
      key = g_strconcat ("delete\x1f", event->file, NULL);
      group = group_for (self, key, event->file, printer_id, &created);
      group->kinds |= GROUP_DELETE;
      drover_alert_add_evidence (group->alert, _("A client that is not Drover ordered the file deleted."));
      drover_alert_raise_severity (group->alert, DROVER_ALERT_WARNING);
    }
  else if (g_str_has_prefix (command, "machine.") || g_str_equal (command, "ota") ||
           g_str_equal (command, "printer.firmware_restart") || g_str_equal (command, "upgrade"))
    {
      key = g_strconcat ("firmware\x1f", command, NULL);
      group = group_for (self, key, command, printer_id, &created);
      group->kinds |= GROUP_FIRMWARE;
      drover_alert_add_evidence (group->alert, _("A client that is not Drover ordered a firmware or system "
                                                 "update, or a restart."));
      drover_alert_raise_severity (group->alert, DROVER_ALERT_CRITICAL);
    }
  else if (command[0] != '\0' && gcode_is_dangerous (self, command))
    {
      key = g_strconcat ("gcode\x1f", command, NULL);
      group = group_for (self, key, command, printer_id, &created);
      group->kinds |= GROUP_COMMAND;
      drover_alert_add_evidence (group->alert, _("A client that is not Drover sent the commands on the broker."));
      scan_text_into (self, group, command);
    }
  else
    return;   /* In the ledger and the History tab; nothing to alarm. */

  publish_group (self, group, created);
}

static void
command_ran (DroverAudit       *self,
             DroverPrinter     *printer,
             const DroverEvent *event)
{
  const char *printer_id = drover_printer_get_id (printer);
  g_autoptr(JsonBuilder) body = body_new ();
  g_autofree char *key = NULL;
  gboolean created;
  Group *group;

  body_string (body, "gcode", event->command);
  append_body (self, DROVER_LEDGER_KIND_COMMAND_OBSERVED, printer_id, event->command, body);

  if (!gcode_is_dangerous (self, event->command))
    return;

  key = g_strconcat ("gcode\x1f", event->command, NULL);
  group = group_for (self, key, event->command, printer_id, &created);
  group->kinds |= GROUP_COMMAND;
  scan_text_into (self, group, event->command);
  publish_group (self, group, created);
}

static void
handle_now (DroverAudit   *self,
            DroverPrinter *printer,
            DroverEvent   *event)
{
  switch (event->kind)
    {
    case DROVER_EVENT_FILE_LIST:
      file_list (self, printer, event);
      break;
    case DROVER_EVENT_FILE_ADDED:
      {
        GListStore *store = files_of (self, drover_printer_get_id (printer));
        DroverFileItem *item = find_file (store, event->file, NULL);
        g_autoptr(DroverFileInfo) info = drover_file_info_new (event->file, event->size, -1, event->sha256);

        /* Listed already, with the same content: nothing new. */
        if (item != NULL && event->size >= 0 && drover_file_item_get_size (item) == event->size &&
            (event->sha256 == NULL || g_strcmp0 (drover_file_item_get_sha256 (item), event->sha256) == 0))
          break;
        if (item != NULL && event->size < 0 && event->sha256 == NULL)
          break;
        file_appeared (self, printer, info);
      }
      break;
    case DROVER_EVENT_FILE_REMOVED:
      file_went (self, drover_printer_get_id (printer), event->file);
      break;
    case DROVER_EVENT_JOB_STARTED:
      job_started (self, printer, event);
      break;
    case DROVER_EVENT_ORDER:
      order_seen (self, printer, event);
      break;
    case DROVER_EVENT_COMMAND:
      command_ran (self, printer, event);
      break;
    default:
      break;
    }
}

/**
 * drover_audit_handle_event:
 * @printer: where it happened
 * @event: what happened
 *
 * Takes in one event; DroverTelemetry::printer-event feeds this. Events
 * that come before the ledger was read wait for it, in order.
 */
void
drover_audit_handle_event (DroverAudit   *self,
                           DroverPrinter *printer,
                           DroverEvent   *event)
{
  g_return_if_fail (DROVER_IS_AUDIT (self));
  g_return_if_fail (DROVER_IS_PRINTER (printer));
  g_return_if_fail (event != NULL);

  if (!self->ready)
    {
      Pending *pending = g_new0 (Pending, 1);

      pending->printer_id = g_strdup (drover_printer_get_id (printer));
      pending->event = drover_event_ref (event);
      g_ptr_array_add (self->waiting, pending);
      return;
    }

  handle_now (self, printer, event);
}

/* Reading the ledger at start */

typedef struct
{
  GPtrArray *sent;       /* DroverLedgerEntry */
  GPtrArray *approved;
  GPtrArray *alerts;     /* newest first */
  GPtrArray *acks;
  GPtrArray *snapshots;  /* newest first */
} Loaded;

static void
loaded_free (Loaded *loaded)
{
  g_clear_pointer (&loaded->sent, g_ptr_array_unref);
  g_clear_pointer (&loaded->approved, g_ptr_array_unref);
  g_clear_pointer (&loaded->alerts, g_ptr_array_unref);
  g_clear_pointer (&loaded->acks, g_ptr_array_unref);
  g_clear_pointer (&loaded->snapshots, g_ptr_array_unref);
  g_free (loaded);
}

static GPtrArray *
load_kind (DroverLedger  *ledger,
           const char    *kind,
           gboolean       newest_first,
           guint          limit,
           GError       **error)
{
  DroverLedgerQuery query = { 0 };

  query.kind = kind;
  query.limit = limit;
  query.newest_first = newest_first;
  return drover_ledger_query (ledger, &query, error);
}

static void
load_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  DroverLedger *ledger = task_data;
  Loaded *loaded = g_new0 (Loaded, 1);
  GError *error = NULL;

  if ((loaded->sent = load_kind (ledger, DROVER_LEDGER_KIND_JOB_SENT, FALSE, LOAD_LIMIT, &error)) == NULL ||
      (loaded->approved = load_kind (ledger, DROVER_LEDGER_KIND_FILE_APPROVED, FALSE, LOAD_LIMIT, &error)) == NULL ||
      (loaded->alerts = load_kind (ledger, DROVER_LEDGER_KIND_ALERT, TRUE, 5000, &error)) == NULL ||
      (loaded->acks = load_kind (ledger, DROVER_LEDGER_KIND_ALERT_ACK, TRUE, 5000, &error)) == NULL ||
      (loaded->snapshots = load_kind (ledger, DROVER_LEDGER_KIND_FILE_SNAPSHOT, TRUE, 20000, &error)) == NULL)
    {
      loaded_free (loaded);
      g_task_return_error (task, error);
      return;
    }

  g_task_return_pointer (task, loaded, (GDestroyNotify)loaded_free);
}

static JsonObject *
parse_body (JsonParser             *parser,
            const DroverLedgerEntry *entry)
{
  if (!json_parser_load_from_data (parser, entry->body, -1, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  return json_node_get_object (json_parser_get_root (parser));
}

static void
index_sent (DroverAudit             *self,
            const DroverLedgerEntry *entry)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *body = parse_body (parser, entry);
  Sent *sent;

  if (body == NULL || entry->printer == NULL || entry->subject == NULL)
    return;

  sent = g_new0 (Sent, 1);
  sent->size = json_object_get_int_member_with_default (body, "size", -1);
  sent->sha256 = g_strdup (json_object_get_string_member_with_default (body, "sha256", NULL));
  sent->job_id = g_strdup (json_object_get_string_member_with_default (body, "job", NULL));
  sent->signer = g_strdup (json_object_get_string_member_with_default (body, "signer", NULL));
  g_hash_table_replace (self->sent, pair_key (entry->printer, entry->subject), sent);
}

static void
restore (DroverAudit *self,
         Loaded      *loaded)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) restored = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < loaded->sent->len; i++)
    index_sent (self, g_ptr_array_index (loaded->sent, i));

  for (guint i = 0; i < loaded->approved->len; i++)
    {
      DroverLedgerEntry *entry = g_ptr_array_index (loaded->approved, i);
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *body = parse_body (parser, entry);

      if (entry->printer != NULL && entry->subject != NULL)
        g_hash_table_replace (self->approved, pair_key (entry->printer, entry->subject),
                              g_strdup (body != NULL ? json_object_get_string_member_with_default (body, "operator", "?") : "?"));
    }

  /* The newest row of each alert is its state; older rows are history. */
  for (guint i = 0; i < loaded->alerts->len; i++)
    {
      DroverLedgerEntry *entry = g_ptr_array_index (loaded->alerts, i);
      DroverAlert *alert;

      if (entry->subject == NULL || g_hash_table_contains (seen, entry->subject))
        continue;
      alert = drover_alert_new_from_json (entry->body);
      if (alert == NULL)
        continue;
      g_hash_table_add (seen, entry->subject);
      g_ptr_array_add (restored, alert);
    }
  for (guint i = 0; i < loaded->acks->len; i++)
    {
      DroverLedgerEntry *entry = g_ptr_array_index (loaded->acks, i);
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *body = parse_body (parser, entry);

      for (guint j = 0; j < restored->len && entry->subject != NULL; j++)
        if (g_str_equal (drover_alert_get_id (g_ptr_array_index (restored, j)), entry->subject))
          drover_alert_acknowledge (g_ptr_array_index (restored, j),
                                    body != NULL ? json_object_get_string_member_with_default (body, "operator", "?") : "?");
    }
  /* Newest first, as the list shows them. */
  for (guint i = 0; i < restored->len; i++)
    {
      DroverAlert *alert = g_ptr_array_index (restored, i);

      g_list_store_append (self->alerts, alert);
      g_hash_table_insert (self->alerts_by_id, (gpointer)drover_alert_get_id (alert), alert);
    }

  /* The newest snapshot of each printer: the files it had when Drover
   * last looked, so what came while Drover was closed is still new. */
  for (guint i = 0; i < loaded->snapshots->len; i++)
    {
      DroverLedgerEntry *entry = g_ptr_array_index (loaded->snapshots, i);
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *body;
      JsonNode *files;
      GListStore *store;

      if (entry->printer == NULL || g_hash_table_contains (self->baselined, entry->printer))
        continue;
      body = parse_body (parser, entry);
      files = body != NULL ? json_object_get_member (body, "files") : NULL;
      if (files == NULL || !JSON_NODE_HOLDS_ARRAY (files))
        continue;

      g_hash_table_add (self->baselined, g_strdup (entry->printer));
      store = files_of (self, entry->printer);
      for (guint j = 0; j < json_array_get_length (json_node_get_array (files)); j++)
        {
          JsonNode *node = json_array_get_element (json_node_get_array (files), j);
          JsonObject *file;
          const char *name;
          g_autoptr(DroverFileItem) item = NULL;
          DroverFileProvenance provenance;
          g_autofree char *detail = NULL;

          if (!JSON_NODE_HOLDS_OBJECT (node))
            continue;
          file = json_node_get_object (node);
          name = json_object_get_string_member_with_default (file, "name", NULL);
          if (name == NULL || find_file (store, name, NULL) != NULL)
            continue;
          item = drover_file_item_new (name, json_object_get_int_member_with_default (file, "size", -1),
                                       json_object_get_int_member_with_default (file, "modified", -1));
          drover_file_item_set_sha256 (item, json_object_get_string_member_with_default (file, "sha256", NULL));
          if (file_is_expected (self, entry->printer, name, drover_file_item_get_size (item),
                                drover_file_item_get_sha256 (item), &provenance, &detail))
            drover_file_item_set_provenance (item, provenance, detail);
          else
            drover_file_item_set_provenance (item, DROVER_FILE_BASELINE,
                                             _("On the printer when Drover last listed its files"));
          g_list_store_insert_sorted (store, item, compare_files, NULL);
        }
    }
}

static void
become_ready (DroverAudit *self)
{
  g_autoptr(GPtrArray) waiting = g_steal_pointer (&self->waiting);

  self->waiting = g_ptr_array_new_with_free_func ((GDestroyNotify)pending_free);
  self->ready = TRUE;

  for (guint i = 0; i < waiting->len; i++)
    {
      Pending *pending = g_ptr_array_index (waiting, i);
      DroverPrinter *printer = drover_fleet_find_printer (self->fleet, pending->printer_id);

      if (printer != NULL)
        handle_now (self, printer, pending->event);
    }

  g_signal_emit (self, signals[READY], 0);
}

static void
loaded_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  DroverAudit *self = DROVER_AUDIT (source);
  g_autoptr(GError) error = NULL;
  Loaded *loaded = g_task_propagate_pointer (G_TASK (result), &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (loaded != NULL)
    {
      restore (self, loaded);
      loaded_free (loaded);
    }
  else
    g_warning ("The ledger could not be read; the audit starts without what it holds: %s", error->message);

  become_ready (self);
}

/**
 * drover_audit_set_ledger:
 * @ledger: (nullable): where everything is recorded; %NULL to run without
 *
 * Reads what the ledger knows (files Drover sent, approvals, alerts of
 * earlier sessions, the newest file list of each printer) in a worker,
 * then takes in the events that waited. Call once.
 */
void
drover_audit_set_ledger (DroverAudit  *self,
                         DroverLedger *ledger)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (DROVER_IS_AUDIT (self));
  g_return_if_fail (ledger == NULL || DROVER_IS_LEDGER (ledger));
  g_return_if_fail (self->ledger == NULL && !self->ready);

  if (ledger == NULL)
    {
      become_ready (self);
      return;
    }

  self->ledger = g_object_ref (ledger);
  task = g_task_new (self, self->cancellable, loaded_cb, NULL);
  g_task_set_source_tag (task, drover_audit_set_ledger);
  g_task_set_task_data (task, g_object_ref (ledger), g_object_unref);
  g_task_run_in_thread (task, load_thread);
}

/**
 * drover_audit_get_ledger:
 *
 * Returns: (transfer none) (nullable): the ledger
 */
DroverLedger *
drover_audit_get_ledger (DroverAudit *self)
{
  g_return_val_if_fail (DROVER_IS_AUDIT (self), NULL);
  return self->ledger;
}

/**
 * drover_audit_get_ready:
 *
 * Returns: whether the ledger was read
 */
gboolean
drover_audit_get_ready (DroverAudit *self)
{
  g_return_val_if_fail (DROVER_IS_AUDIT (self), FALSE);
  return self->ready;
}

/**
 * drover_audit_set_fetch_func:
 * @func: (nullable): fetches a file's content from a printer
 *
 * Without one, files are judged by their names and by the orders seen.
 */
void
drover_audit_set_fetch_func (DroverAudit          *self,
                             DroverAuditFetchFunc  func,
                             gpointer              func_data,
                             GDestroyNotify        destroy)
{
  g_return_if_fail (DROVER_IS_AUDIT (self));

  if (self->fetch_destroy != NULL)
    g_clear_pointer (&self->fetch_data, self->fetch_destroy);
  self->fetch_func = func;
  self->fetch_data = func_data;
  self->fetch_destroy = destroy;
}

/**
 * drover_audit_set_incident_window:
 * @seconds: how long an alert gathers the same thing on more printers
 */
void
drover_audit_set_incident_window (DroverAudit *self,
                                  guint        seconds)
{
  g_return_if_fail (DROVER_IS_AUDIT (self));
  self->window_s = seconds;
}

/**
 * drover_audit_set_allowed_hosts:
 * @hosts: (nullable) (array zero-terminated=1): the hosts this farm's jobs
 *   are downloaded from
 *
 * A download or print-from-URL ordered from any other host raises an
 * alert before the printer has the file.
 */
void
drover_audit_set_allowed_hosts (DroverAudit        *self,
                                const char * const *hosts)
{
  g_return_if_fail (DROVER_IS_AUDIT (self));

  g_strfreev (self->allowed_hosts);
  self->allowed_hosts = g_strdupv ((char **)hosts);
}

/**
 * drover_audit_set_operator:
 * @operator_name: who acknowledges and approves, for the ledger
 */
void
drover_audit_set_operator (DroverAudit *self,
                           const char  *operator_name)
{
  g_return_if_fail (DROVER_IS_AUDIT (self));
  g_return_if_fail (operator_name != NULL);

  g_free (self->operator_name);
  self->operator_name = g_strdup (operator_name);
}

const char *
drover_audit_get_operator (DroverAudit *self)
{
  g_return_val_if_fail (DROVER_IS_AUDIT (self), NULL);
  return self->operator_name;
}

/**
 * drover_audit_set_limits:
 *
 * The limits a fetched file is scanned against.
 */
void
drover_audit_set_limits (DroverAudit             *self,
                         const DroverGcodeLimits *limits)
{
  g_return_if_fail (DROVER_IS_AUDIT (self));
  g_return_if_fail (limits != NULL);
  self->limits = *limits;
}

/**
 * drover_audit_get_alerts:
 *
 * Returns: (transfer none): every alert (#DroverAlert), newest first
 */
GListModel *
drover_audit_get_alerts (DroverAudit *self)
{
  g_return_val_if_fail (DROVER_IS_AUDIT (self), NULL);
  return G_LIST_MODEL (self->alerts);
}

/**
 * drover_audit_get_files:
 *
 * Returns: (transfer none): the printer's files (#DroverFileItem), by
 *   name, kept current
 */
GListModel *
drover_audit_get_files (DroverAudit *self,
                        const char  *printer_id)
{
  g_return_val_if_fail (DROVER_IS_AUDIT (self), NULL);
  g_return_val_if_fail (printer_id != NULL, NULL);
  return G_LIST_MODEL (files_of (self, printer_id));
}

/**
 * drover_audit_find_alert:
 *
 * Returns: (transfer none) (nullable): the alert with @alert_id
 */
DroverAlert *
drover_audit_find_alert (DroverAudit *self,
                         const char  *alert_id)
{
  g_return_val_if_fail (DROVER_IS_AUDIT (self), NULL);
  return g_hash_table_lookup (self->alerts_by_id, alert_id);
}

/**
 * drover_audit_get_n_open_alerts:
 *
 * Returns: how many alerts no operator has acknowledged
 */
guint
drover_audit_get_n_open_alerts (DroverAudit *self)
{
  guint n = 0;

  g_return_val_if_fail (DROVER_IS_AUDIT (self), 0);

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->alerts)); i++)
    {
      g_autoptr(DroverAlert) alert = g_list_model_get_item (G_LIST_MODEL (self->alerts), i);

      n += !drover_alert_get_acknowledged (alert);
    }

  return n;
}

/**
 * drover_audit_note_sent_file:
 * @size: bytes, -1 unknown
 * @sha256: (nullable): the file's SHA-256, hex
 * @job_id: (nullable): the signed job's id
 * @signer: (nullable): the signing key's id
 *
 * Records that Drover sent @name to the printer (in the ledger, and for
 * the audit at once): when it appears there, it is expected.
 */
void
drover_audit_note_sent_file (DroverAudit *self,
                             const char  *printer_id,
                             const char  *name,
                             gint64       size,
                             const char  *sha256,
                             const char  *job_id,
                             const char  *signer)
{
  g_autoptr(JsonBuilder) body = body_new ();
  Sent *sent;

  g_return_if_fail (DROVER_IS_AUDIT (self));
  g_return_if_fail (printer_id != NULL && name != NULL);

  sent = g_new0 (Sent, 1);
  sent->size = size;
  sent->sha256 = g_strdup (sha256);
  sent->job_id = g_strdup (job_id);
  sent->signer = g_strdup (signer);
  g_hash_table_replace (self->sent, pair_key (printer_id, name), sent);

  body_int (body, "size", size);
  body_string (body, "sha256", sha256);
  body_string (body, "job", job_id);
  body_string (body, "signer", signer);
  append_body (self, DROVER_LEDGER_KIND_JOB_SENT, printer_id, name, body);
}

/**
 * drover_audit_note_own_request:
 *
 * An order Drover publishes carries @request_id: when the broker shows it,
 * it is Drover's own.
 */
void
drover_audit_note_own_request (DroverAudit *self,
                               const char  *request_id)
{
  g_return_if_fail (DROVER_IS_AUDIT (self));
  g_return_if_fail (request_id != NULL);

  g_hash_table_add (self->own_requests, g_strdup (request_id));
}

/**
 * drover_audit_note_own_start:
 *
 * Drover is about to start @file on the printer: the job that starts in
 * the next minutes is Drover's own.
 */
void
drover_audit_note_own_start (DroverAudit *self,
                             const char  *printer_id,
                             const char  *file)
{
  gint64 *when;

  g_return_if_fail (DROVER_IS_AUDIT (self));

  when = g_new (gint64, 1);
  *when = g_get_real_time ();
  g_hash_table_replace (self->own_starts, pair_key (printer_id, file), when);
}

/**
 * drover_audit_acknowledge:
 *
 * The operator saw @alert; it stops gathering and the acknowledgement goes
 * to the ledger with the operator's name.
 */
void
drover_audit_acknowledge (DroverAudit *self,
                          DroverAlert *alert)
{
  g_autoptr(JsonBuilder) body = body_new ();
  GHashTableIter iter;
  Group *group;

  g_return_if_fail (DROVER_IS_AUDIT (self));
  g_return_if_fail (DROVER_IS_ALERT (alert));

  if (drover_alert_get_acknowledged (alert))
    return;

  drover_alert_acknowledge (alert, self->operator_name);
  body_string (body, "operator", self->operator_name);
  append_body (self, DROVER_LEDGER_KIND_ALERT_ACK, NULL, drover_alert_get_id (alert), body);

  g_hash_table_iter_init (&iter, self->groups);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&group))
    if (group->alert == alert)
      {
        g_hash_table_iter_remove (&iter);
        break;
      }

  g_signal_emit (self, signals[ALERT_CHANGED], 0, alert);
}

/**
 * drover_audit_approve_file:
 *
 * The operator vouches for @name on the printer: it is expected from now
 * on, and the approval goes to the ledger with the operator's name.
 */
void
drover_audit_approve_file (DroverAudit *self,
                           const char  *printer_id,
                           const char  *name)
{
  g_autoptr(JsonBuilder) body = body_new ();
  g_autofree char *detail = NULL;
  DroverFileItem *item;

  g_return_if_fail (DROVER_IS_AUDIT (self));
  g_return_if_fail (printer_id != NULL && name != NULL);

  g_hash_table_replace (self->approved, pair_key (printer_id, name), g_strdup (self->operator_name));
  body_string (body, "operator", self->operator_name);
  append_body (self, DROVER_LEDGER_KIND_FILE_APPROVED, printer_id, name, body);

  item = find_file (files_of (self, printer_id), name, NULL);
  detail = g_strdup_printf (_("Approved by %s"), self->operator_name);
  if (item != NULL)
    drover_file_item_set_provenance (item, DROVER_FILE_APPROVED, detail);
}

/**
 * drover_audit_note_file_deleted:
 *
 * The operator had Drover delete @name from the printer; the ledger says
 * who.
 */
void
drover_audit_note_file_deleted (DroverAudit *self,
                                const char  *printer_id,
                                const char  *name)
{
  g_autoptr(JsonBuilder) body = body_new ();

  g_return_if_fail (DROVER_IS_AUDIT (self));

  body_string (body, "operator", self->operator_name);
  append_body (self, DROVER_LEDGER_KIND_FILE_DELETED, printer_id, name, body);
}
