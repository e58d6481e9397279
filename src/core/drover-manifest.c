/* drover-manifest.c: a signed job's manifest, the signature's trusted comment
 *
 * The manifest is one line of JSON in the trusted comment of the job's
 * minisign signature, so the signature covers it and stock minisign shows
 * it:
 *
 *   {"drover":1,"job":"<uuid>","printers":["farm/p-042"],
 *    "not_before":"2026-11-25T10:00:00Z","not_after":"2026-11-26T10:00:00Z",
 *    "max_hotend":260,"max_bed":110}
 *
 * (one line in the comment). `["*"]` is the whole fleet; the limits are
 * optional. Parsing is strict, because the gate acts on what it reads: an
 * unknown version, a member of the wrong type, an unknown or repeated
 * member, a time without its zone are all refused with a sentence saying
 * which. The signature is checked before any of this runs.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-manifest"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "drover-manifest.h"

/* No hotend or bed of a filament printer goes near this; a larger number
 * is a typo or a unit mix-up, not a limit. */
#define TEMPERATURE_MAX 1000.0
#define PRINTER_ID_MAX  256

static const char * const known_members[] = {
  "drover", "job", "printers", "not_before", "not_after", "max_hotend", "max_bed",
};

G_DEFINE_QUARK (drover-manifest-error-quark, drover_manifest_error)

/**
 * drover_manifest_new:
 *
 * A manifest for a new job: a random UUID job id, no printers yet, valid
 * from now for 24 hours, no temperature limits.
 *
 * Returns: (transfer full): the manifest
 */
DroverManifest *
drover_manifest_new (void)
{
  DroverManifest *manifest = g_new0 (DroverManifest, 1);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  manifest->job_id = g_uuid_string_random ();
  manifest->printers = g_new0 (char *, 1);
  manifest->not_before = now;
  manifest->not_after = now + 24 * 60 * 60;

  return manifest;
}

/**
 * drover_manifest_copy:
 *
 * Returns: (transfer full): a copy of @manifest
 */
DroverManifest *
drover_manifest_copy (const DroverManifest *manifest)
{
  DroverManifest *copy;

  g_return_val_if_fail (manifest != NULL, NULL);

  copy = g_memdup2 (manifest, sizeof *manifest);
  copy->job_id = g_strdup (manifest->job_id);
  copy->printers = g_strdupv (manifest->printers);
  if (copy->printers == NULL)
    copy->printers = g_new0 (char *, 1);

  return copy;
}

/**
 * drover_manifest_free:
 */
void
drover_manifest_free (DroverManifest *manifest)
{
  if (manifest == NULL)
    return;

  g_free (manifest->job_id);
  g_strfreev (manifest->printers);
  g_free (manifest);
}

/**
 * drover_manifest_format_time:
 * @unix_time: seconds since 1970 UTC
 *
 * Returns: (transfer full): the time as the manifest writes it,
 *   2026-11-25T10:00:00Z
 */
char *
drover_manifest_format_time (gint64 unix_time)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (unix_time);

  if (time == NULL)
    return g_strdup ("?");

  /* Four digits of year, as ISO 8601 wants: "%Y" writes year 999 as
   * "999", which g_date_time_new_from_iso8601() does not read back. */
  return g_strdup_printf ("%04d-%02d-%02dT%02d:%02d:%02dZ",
                          g_date_time_get_year (time), g_date_time_get_month (time),
                          g_date_time_get_day_of_month (time), g_date_time_get_hour (time),
                          g_date_time_get_minute (time), g_date_time_get_second (time));
}

static char *
format_temperature (double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (value == floor (value) && fabs (value) < 1e15)
    return g_strdup_printf ("%.0f", value);

  return g_strdup (g_ascii_formatd (buffer, sizeof buffer, "%.10g", value));
}

static void
append_json_string (GString    *out,
                    const char *text)
{
  g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), text);
  g_autofree char *quoted = json_to_string (node, FALSE);

  g_string_append (out, quoted);
}

/**
 * drover_manifest_to_string:
 * @manifest: a manifest
 *
 * Writes the manifest as the trusted comment carries it: one line of JSON,
 * no newline, members in a fixed order, times in UTC, limits only when
 * set. A fleet-wide job lists `["*"]`.
 *
 * Returns: (transfer full): the text
 */
char *
drover_manifest_to_string (const DroverManifest *manifest)
{
  g_autoptr(GString) out = g_string_new ("{\"drover\":1,\"job\":");
  g_autofree char *not_before = NULL;
  g_autofree char *not_after = NULL;

  g_return_val_if_fail (manifest != NULL, NULL);

  append_json_string (out, manifest->job_id != NULL ? manifest->job_id : "");

  g_string_append (out, ",\"printers\":[");
  if (manifest->fleet)
    {
      append_json_string (out, DROVER_MANIFEST_FLEET);
    }
  else if (manifest->printers != NULL)
    {
      for (guint i = 0; manifest->printers[i] != NULL; i++)
        {
          if (i > 0)
            g_string_append_c (out, ',');
          append_json_string (out, manifest->printers[i]);
        }
    }
  g_string_append_c (out, ']');

  not_before = drover_manifest_format_time (manifest->not_before);
  not_after = drover_manifest_format_time (manifest->not_after);
  g_string_append_printf (out, ",\"not_before\":\"%s\",\"not_after\":\"%s\"", not_before, not_after);

  if (manifest->max_hotend > 0)
    {
      g_autofree char *value = format_temperature (manifest->max_hotend);

      g_string_append_printf (out, ",\"max_hotend\":%s", value);
    }
  if (manifest->max_bed > 0)
    {
      g_autofree char *value = format_temperature (manifest->max_bed);

      g_string_append_printf (out, ",\"max_bed\":%s", value);
    }

  g_string_append_c (out, '}');

  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
field_error (GError     **error,
             const char  *format,
             ...) G_GNUC_PRINTF (2, 3);

static gboolean
field_error (GError     **error,
             const char  *format,
             ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, DROVER_MANIFEST_ERROR, DROVER_MANIFEST_ERROR_FIELD,
               _("The job manifest is malformed: %s"), message);
  return FALSE;
}

static gboolean
is_string (JsonNode *node)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
}

static gboolean
is_number (JsonNode *node)
{
  GType type;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;

  type = json_node_get_value_type (node);
  return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

static gboolean
is_printable (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    {
      if ((guchar) *p < 0x20 || *p == 0x7f)
        return FALSE;
    }

  return TRUE;
}

/* A time with its zone, which must be UTC: a manifest read in another
 * time zone must mean the same moment, and "Z" says so at a glance. */
static gboolean
parse_time (JsonObject  *object,
            const char  *member,
            gint64      *value,
            GError     **error)
{
  JsonNode *node = json_object_get_member (object, member);
  const char *text;
  g_autoptr(GDateTime) time = NULL;

  if (node == NULL)
    return field_error (error, _("“%s” is missing; a job needs a start and an end"), member);

  if (!is_string (node))
    return field_error (error, _("“%s” must be a time in quotes, as \"2026-11-25T10:00:00Z\""), member);

  text = json_node_get_string (node);
  time = g_date_time_new_from_iso8601 (text, NULL);
  if (time == NULL || g_date_time_get_utc_offset (time) != 0)
    {
      /* json-glib turns a lone "\udc00" into bytes that are not UTF-8. */
      g_autofree char *shown = g_utf8_make_valid (text, -1);

      return field_error (error, _("“%s” must be an ISO 8601 time in UTC, as 2026-11-25T10:00:00Z, not “%s”"),
                          member, shown);
    }

  *value = g_date_time_to_unix (time);
  return TRUE;
}

static gboolean
parse_temperature (JsonObject  *object,
                   const char  *member,
                   double      *value,
                   GError     **error)
{
  JsonNode *node = json_object_get_member (object, member);
  double number;

  *value = 0;
  if (node == NULL)
    return TRUE;

  if (!is_number (node))
    return field_error (error, _("“%s” must be a number of °C without quotes, as 260"), member);

  number = json_node_get_double (node);
  if (!isfinite (number) || number <= 0 || number > TEMPERATURE_MAX)
    return field_error (error, _("“%s” must be a temperature above 0 and at most %.0f °C; leave it out for no limit"),
                        member, TEMPERATURE_MAX);

  *value = number;
  return TRUE;
}

static gboolean
parse_printers (JsonObject      *object,
                DroverManifest  *manifest,
                GError         **error)
{
  JsonNode *node = json_object_get_member (object, "printers");
  JsonArray *array;
  guint length;
  g_autoptr(GPtrArray) printers = g_ptr_array_new_with_free_func (g_free);

  if (node == NULL)
    return field_error (error, _("“printers” is missing; list the printer ids, or [\"*\"] for the whole fleet"));

  if (!JSON_NODE_HOLDS_ARRAY (node))
    return field_error (error, _("“printers” must be a list of printer ids in brackets, as [\"farm/p-042\"]"));

  array = json_node_get_array (node);
  length = json_array_get_length (array);
  if (length == 0)
    return field_error (error, _("“printers” is empty: the job is for no printer; use [\"*\"] for the whole fleet"));

  for (guint i = 0; i < length; i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      const char *id;

      if (!is_string (element))
        return field_error (error, _("“printers” must hold printer ids in quotes; entry %u is not a string"), i + 1);

      id = json_node_get_string (element);
      if (id[0] == '\0' || strlen (id) > PRINTER_ID_MAX || !is_printable (id) || !g_utf8_validate (id, -1, NULL))
        return field_error (error, _("“printers” entry %u is not a printer id: empty, too long or with control characters"),
                            i + 1);

      if (g_str_equal (id, DROVER_MANIFEST_FLEET))
        {
          if (length > 1)
            return field_error (error, _("“printers” holds \"*\", the whole fleet, together with other printers; use one or the other"));
          manifest->fleet = TRUE;
          continue;
        }

      for (guint j = 0; j < printers->len; j++)
        if (g_str_equal (g_ptr_array_index (printers, j), id))
          return field_error (error, _("“printers” names “%s” twice"), id);

      g_ptr_array_add (printers, g_strdup (id));
    }

  g_ptr_array_add (printers, NULL);
  g_strfreev (manifest->printers);
  manifest->printers = (char **) g_ptr_array_free (g_steal_pointer (&printers), FALSE);

  return TRUE;
}

/* json-glib keeps the last of two members with the same name without a
 * word. Another reader may keep the first, so a manifest with a repeated
 * member could mean two things; count them as they are parsed. */
static void
object_member_cb (JsonParser *parser,
                  JsonObject *object,
                  const char *member_name,
                  gpointer    user_data)
{
  GHashTable *counts = user_data;

  g_hash_table_insert (counts, object,
                       GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (counts, object)) + 1));
}

static char *
shorten (const char *text)
{
  g_autofree char *start = NULL;

  if (g_utf8_strlen (text, -1) <= 40)
    return g_strdup (text);

  start = g_utf8_substring (text, 0, 40);
  return g_strconcat (start, "…", NULL);
}

/**
 * drover_manifest_parse:
 * @trusted_comment: a verified signature's trusted comment
 * @error: why it is not a manifest this Drover accepts, as a sentence
 *
 * Reads a job manifest strictly: "drover" must be 1
 * (%DROVER_MANIFEST_ERROR_VERSION otherwise), "job" a UUID, "printers" a
 * non-empty list of ids or `["*"]`, "not_before" and "not_after" UTC
 * times with not_after later, the limits positive numbers when present;
 * nothing else, nothing twice (%DROVER_MANIFEST_ERROR_FIELD). A comment
 * that is not JSON, as minisign's own "timestamp:…", is
 * %DROVER_MANIFEST_ERROR_NOT_JSON.
 *
 * Returns: (transfer full) (nullable): the manifest
 */
DroverManifest *
drover_manifest_parse (const char  *trusted_comment,
                       GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GHashTable) counts = g_hash_table_new (NULL, NULL);
  g_autoptr(DroverManifest) manifest = NULL;
  g_autoptr(GError) json_error = NULL;
  g_autofree char *short_comment = NULL;
  JsonNode *root;
  JsonObject *object;
  JsonNode *node;
  g_autoptr(GList) members = NULL;
  gint64 version;

  g_return_val_if_fail (trusted_comment != NULL, NULL);

  short_comment = shorten (trusted_comment);

  g_signal_connect (parser, "object-member", G_CALLBACK (object_member_cb), counts);
  if (!json_parser_load_from_data (parser, trusted_comment, -1, &json_error))
    {
      g_set_error (error, DROVER_MANIFEST_ERROR, DROVER_MANIFEST_ERROR_NOT_JSON,
                   _("The trusted comment is not a Drover job manifest but “%s”: the file was signed without one (minisign -S without -t, or another tool)"),
                   short_comment);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, DROVER_MANIFEST_ERROR, DROVER_MANIFEST_ERROR_NOT_DROVER,
                   _("The trusted comment is JSON but not a Drover job manifest: “%s”"), short_comment);
      return NULL;
    }

  object = json_node_get_object (root);
  node = json_object_get_member (object, "drover");
  if (node == NULL)
    {
      g_set_error (error, DROVER_MANIFEST_ERROR, DROVER_MANIFEST_ERROR_NOT_DROVER,
                   _("The trusted comment is JSON but not a Drover job manifest (it has no “drover” member): “%s”"),
                   short_comment);
      return NULL;
    }

  if (GPOINTER_TO_UINT (g_hash_table_lookup (counts, object)) != json_object_get_size (object))
    {
      field_error (error, _("a member appears twice, so the manifest could be read two ways"));
      return NULL;
    }

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      field_error (error, _("“drover” must be the format version, the whole number 1"));
      return NULL;
    }

  version = json_node_get_int (node);
  if (version != DROVER_MANIFEST_VERSION)
    {
      g_set_error (error, DROVER_MANIFEST_ERROR, DROVER_MANIFEST_ERROR_VERSION,
                   _("The job manifest is version %" G_GINT64_FORMAT "; this Drover reads version %d only. Update Drover, or sign the job with the Drover the farm runs"),
                   version, DROVER_MANIFEST_VERSION);
      return NULL;
    }

  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    {
      gboolean known = FALSE;

      for (guint i = 0; i < G_N_ELEMENTS (known_members); i++)
        known = known || g_str_equal (known_members[i], l->data);

      /* A limit this Drover does not know would be ignored, not enforced:
       * refuse it instead. */
      if (!known)
        {
          g_autofree char *shown = g_utf8_make_valid (l->data, -1);

          field_error (error, _("“%s” is not a member of a version 1 manifest"), shown);
          return NULL;
        }
    }

  manifest = g_new0 (DroverManifest, 1);
  manifest->printers = g_new0 (char *, 1);

  node = json_object_get_member (object, "job");
  if (node == NULL)
    {
      field_error (error, _("“job” is missing; every job needs its own id"));
      return NULL;
    }
  if (!is_string (node) || !g_uuid_string_is_valid (json_node_get_string (node)))
    {
      field_error (error, _("“job” must be a UUID in quotes, as \"3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f\""));
      return NULL;
    }
  manifest->job_id = g_ascii_strdown (json_node_get_string (node), -1);

  if (!parse_printers (object, manifest, error) ||
      !parse_time (object, "not_before", &manifest->not_before, error) ||
      !parse_time (object, "not_after", &manifest->not_after, error) ||
      !parse_temperature (object, "max_hotend", &manifest->max_hotend, error) ||
      !parse_temperature (object, "max_bed", &manifest->max_bed, error))
    return NULL;

  if (manifest->not_after <= manifest->not_before)
    {
      g_autofree char *not_before = drover_manifest_format_time (manifest->not_before);
      g_autofree char *not_after = drover_manifest_format_time (manifest->not_after);

      field_error (error, _("“not_after” (%s) must come after “not_before” (%s)"), not_after, not_before);
      return NULL;
    }

  return g_steal_pointer (&manifest);
}

/**
 * drover_manifest_names_printer:
 * @manifest: a manifest
 * @printer_id: a printer's id, as in the inventory
 *
 * Returns: %TRUE if the job is for @printer_id: it is named, or the job is
 *   for the whole fleet
 */
gboolean
drover_manifest_names_printer (const DroverManifest *manifest,
                               const char           *printer_id)
{
  g_return_val_if_fail (manifest != NULL, FALSE);
  g_return_val_if_fail (printer_id != NULL, FALSE);

  if (manifest->fleet)
    return TRUE;

  return manifest->printers != NULL &&
         g_strv_contains ((const char * const *) manifest->printers, printer_id);
}

static char *
format_distance (gint64 seconds)
{
  if (seconds < 120)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d second", "%d seconds", (gulong) seconds),
                            (int) seconds);
  if (seconds < 2 * 3600)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d minute", "%d minutes", (gulong) (seconds / 60)),
                            (int) (seconds / 60));
  if (seconds < 2 * 86400)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d hour", "%d hours", (gulong) (seconds / 3600)),
                            (int) (seconds / 3600));
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d day", "%d days", (gulong) MIN (seconds / 86400, G_MAXINT)),
                          (int) MIN (seconds / 86400, G_MAXINT));
}

/**
 * drover_manifest_check_time:
 * @manifest: a manifest
 * @now: the time to check for, Unix seconds (the wall clock, read once)
 * @skew: how far the clocks may disagree, in seconds, usually
 *   %DROVER_MANIFEST_CLOCK_SKEW
 * @error: %DROVER_MANIFEST_ERROR_NOT_YET_VALID or
 *   %DROVER_MANIFEST_ERROR_EXPIRED, with the time in words
 *
 * The gate's time window: not_before − skew ≤ now < not_after + skew.
 *
 * Returns: %TRUE when the job may start at @now
 */
gboolean
drover_manifest_check_time (const DroverManifest  *manifest,
                            gint64                 now,
                            gint64                 skew,
                            GError               **error)
{
  g_return_val_if_fail (manifest != NULL, FALSE);
  g_return_val_if_fail (skew >= 0, FALSE);

  if (now < manifest->not_before - skew)
    {
      g_autofree char *start = drover_manifest_format_time (manifest->not_before);
      g_autofree char *distance = format_distance (manifest->not_before - now);

      g_set_error (error, DROVER_MANIFEST_ERROR, DROVER_MANIFEST_ERROR_NOT_YET_VALID,
                   _("The job is not valid yet: it may start from %s, in %s"), start, distance);
      return FALSE;
    }

  if (now >= manifest->not_after + skew)
    {
      g_autofree char *end = drover_manifest_format_time (manifest->not_after);
      g_autofree char *distance = format_distance (now - manifest->not_after);

      g_set_error (error, DROVER_MANIFEST_ERROR, DROVER_MANIFEST_ERROR_EXPIRED,
                   _("The job has expired: it was valid until %s, %s ago"), end, distance);
      return FALSE;
    }

  return TRUE;
}
