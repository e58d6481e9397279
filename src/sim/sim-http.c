/* sim-http.c: the HTTP side of the simulated Moonraker and OctoPrint printers
 *
 * Each reply is written here from templates of our own, after what the real
 * programs answer (shared/reference/moonraker.md §0, 3-5 and octoprint.md §3,
 * checked against Arksine/moonraker d5ee171 and OctoPrint 1.10.2):
 *
 * Moonraker (Tornado; msgspec's compact JSON, keys in the order the Python
 * dicts are built):
 * - `X-Api-Key` or 401; results wrapped in `{"result":…}`, except the upload;
 * - errors as Tornado's write_error makes them,
 *   `{"error":{"code":N,"message":M,"traceback":T}}`. Where Moonraker raises
 *   `HTTPError(code, text)` (uploads, file downloads and deletes) the text is
 *   Tornado's log message, so M is the status's standard phrase and the text
 *   only shows in the traceback; API endpoints raise with `reason=text`, so
 *   there M is the text;
 * - a WebSocket at `/websocket` with JSON-RPC 2.0, and the notify_* messages
 *   the dialect (sim-dialect-moonraker.c) hands over through the farm.
 *
 * OctoPrint (Flask with `app.json.compact = False`): JSON with sorted keys,
 * an indent of two and a final newline; `ensure_ascii`; errors
 * `{"error": "…"}`; a bad API key is 403 `Invalid API key`, a missing one the
 * permission's 403; 204 is an empty text/plain body.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <math.h>
#include <string.h>

#include "sim-http.h"

#define OCTOPRINT_VERSION "1.10.2"
#define OCTOPRINT_USER    "admin"
/* psutil.disk_usage of the uploads folder on a 32 GB card */
#define OCTOPRINT_DISK_TOTAL G_GINT64_CONSTANT (31068966912)
#define OCTOPRINT_DISK_USED  G_GINT64_CONSTANT (3917266944)

#define WEBSOCKET_CHECK_MS 500

struct _SimHttp
{
  SimFarm    *farm;
  SoupServer *server;
  char       *base;
  GHashTable *sockets;              /* SimPrinter* -> GPtrArray of Socket* */
  guint64     next_connection_id;
  guint       check_id;
};

/* One WebSocket client of a Moonraker printer */
typedef struct
{
  SimHttp                 *http;
  SimPrinter              *printer;
  SoupWebsocketConnection *connection;
  guint64                  id;
  gboolean                 authenticated;
  char                    *client_data;  /* Python's repr of it, once identified */
} Socket;

/* What a Moonraker request came to: a result in JSON, or an error. */
typedef struct
{
  guint  status;                    /* 0: success */
  char  *message;
  char  *result;
} Outcome;

static void
outcome_clear (Outcome *outcome)
{
  g_clear_pointer (&outcome->message, g_free);
  g_clear_pointer (&outcome->result, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Outcome, outcome_clear)

static void
outcome_fail (Outcome    *outcome,
              guint       status,
              const char *message)
{
  outcome->status = status;
  g_free (outcome->message);
  outcome->message = g_strdup (message);
}

/* Paths, names and requests */

static const char * const gcode_extensions[] = { ".gcode", ".g", ".gco", ".ufp", ".nc" };

static gboolean
has_extension (const char         *name,
               const char * const *extensions,
               gsize               n_extensions)
{
  const char *dot = strrchr (name, '.');
  const char *slash = strrchr (name, '/');
  g_autofree char *lower = NULL;

  if (dot == NULL || (slash != NULL && dot < slash))
    return FALSE;

  lower = g_ascii_strdown (dot, -1);
  for (gsize i = 0; i < n_extensions; i++)
    {
      if (g_str_equal (lower, extensions[i]))
        return TRUE;
    }

  return FALSE;
}

static const char *
base_name (const char *path)
{
  const char *slash = strrchr (path, '/');

  return slash != NULL ? slash + 1 : path;
}

/* Joins @folder and @name as os.path would, resolving "." and ".."; %NULL
 * when the result leaves the root or is empty. */
static char *
normalize_path (const char *folder,
                const char *name)
{
  g_autofree char *joined = folder != NULL && *folder != '\0' ? g_strconcat (folder, "/", name, NULL)
                                                             : g_strdup (name);
  g_auto(GStrv) parts = g_strsplit (joined, "/", -1);
  g_autoptr(GPtrArray) kept = g_ptr_array_new ();

  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (parts[i][0] == '\0' || g_str_equal (parts[i], "."))
        continue;
      if (g_str_equal (parts[i], ".."))
        {
          if (kept->len == 0)
            return NULL;
          g_ptr_array_remove_index (kept, kept->len - 1);
          continue;
        }
      g_ptr_array_add (kept, parts[i]);
    }

  if (kept->len == 0)
    return NULL;

  g_ptr_array_add (kept, NULL);
  return g_strjoinv ("/", (char **)kept->pdata);
}

/* Each element escaped on its own, "/" kept: Python's quote() and Tornado's
 * url_escape() per element. */
static char *
escape_path (const char *path)
{
  g_auto(GStrv) parts = g_strsplit (path, "/", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *escaped = g_uri_escape_string (parts[i], NULL, FALSE);

      g_free (parts[i]);
      parts[i] = escaped;
    }

  return g_strjoinv ("/", parts);
}

static const char *
request_header (SoupServerMessage *msg,
                const char        *name)
{
  return soup_message_headers_get_one (soup_server_message_get_request_headers (msg), name);
}

/* "http://HOST" as the client addressed us, for Location and refs. */
static char *
request_origin (SimHttp           *self,
                SoupServerMessage *msg)
{
  const char *host = request_header (msg, "Host");

  if (host == NULL || *host == '\0')
    return g_strdup (self->base);

  return g_strconcat ("http://", host, NULL);
}

static GBytes *
request_body (SoupServerMessage *msg)
{
  return soup_message_body_flatten (soup_server_message_get_request_body (msg));
}

static gboolean
content_type_is (SoupServerMessage *msg,
                 const char        *type)
{
  const char *content_type = soup_message_headers_get_content_type (soup_server_message_get_request_headers (msg), NULL);

  return content_type != NULL && g_ascii_strcasecmp (content_type, type) == 0;
}

/* The fields of a multipart/form-data body */
typedef struct
{
  GHashTable *fields;               /* name -> value, the last one wins */
  char       *filename;             /* of the "file" part; NULL when absent */
  GBytes     *file;
  gboolean    has_file;
} Form;

static void
form_clear (Form *form)
{
  g_clear_pointer (&form->fields, g_hash_table_unref);
  g_clear_pointer (&form->filename, g_free);
  g_clear_pointer (&form->file, g_bytes_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Form, form_clear)

static gboolean
parse_form (SoupServerMessage *msg,
            Form              *form)
{
  g_autoptr(GBytes) body = request_body (msg);
  SoupMultipart *multipart;

  form->fields = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  multipart = soup_multipart_new_from_message (soup_server_message_get_request_headers (msg), body);
  if (multipart == NULL)
    return FALSE;

  for (int i = 0; i < soup_multipart_get_length (multipart); i++)
    {
      SoupMessageHeaders *headers;
      GBytes *part;
      const char *disposition;
      const char *semicolon;
      GHashTable *params;
      const char *name;

      if (!soup_multipart_get_part (multipart, i, &headers, &part))
        continue;

      /* libsoup's own getter keeps only the last element of a filename;
       * the real servers see the whole of it. */
      disposition = soup_message_headers_get_one (headers, "Content-Disposition");
      semicolon = disposition != NULL ? strchr (disposition, ';') : NULL;
      if (semicolon == NULL)
        continue;

      params = soup_header_parse_semi_param_list (semicolon + 1);
      name = g_hash_table_lookup (params, "name");

      if (g_strcmp0 (name, "file") == 0)
        {
          gsize size;
          gconstpointer data = g_bytes_get_data (part, &size);

          g_clear_pointer (&form->file, g_bytes_unref);
          g_clear_pointer (&form->filename, g_free);
          /* A copy: the part is a slice of the whole body. */
          form->file = g_bytes_new (data, size);
          form->filename = g_strdup (g_hash_table_lookup (params, "filename"));
          form->has_file = TRUE;
        }
      else if (name != NULL)
        {
          gsize size;
          const char *data = g_bytes_get_data (part, &size);

          g_hash_table_replace (form->fields, g_strdup (name), g_strndup (data, size));
        }

      soup_header_free_param_list (params);
    }

  soup_multipart_free (multipart);
  return TRUE;
}

static int
compare_names_lower (gconstpointer a,
                     gconstpointer b)
{
  const SimFile *file_a = *(SimFile * const *)a;
  const SimFile *file_b = *(SimFile * const *)b;
  g_autofree char *lower_a = g_utf8_strdown (file_a->name, -1);
  g_autofree char *lower_b = g_utf8_strdown (file_b->name, -1);

  return strcmp (lower_a, lower_b);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  const SimFile *file_a = *(SimFile * const *)a;
  const SimFile *file_b = *(SimFile * const *)b;

  return strcmp (file_a->name, file_b->name);
}

/* The printer's files in the order of @compare; the array does not own them
 * (g_ptr_array_copy() would keep the original's free function). */
static GPtrArray *
sorted_files (SimPrinter   *printer,
              GCompareFunc  compare)
{
  GPtrArray *sorted = g_ptr_array_sized_new (printer->files->len);

  for (guint i = 0; i < printer->files->len; i++)
    g_ptr_array_add (sorted, g_ptr_array_index (printer->files, i));
  g_ptr_array_sort (sorted, compare);

  return sorted;
}

static gboolean
is_printing_file (SimPrinter *printer,
                  const char *name)
{
  return sim_printer_is_busy (printer) && g_strcmp0 (printer->job_file, name) == 0;
}

static void
respond (SoupServerMessage *msg,
         guint              status,
         const char        *reason,
         const char        *content_type,
         char              *body)
{
  soup_server_message_set_status (msg, status, reason);
  if (body != NULL)
    soup_server_message_set_response (msg, content_type, SOUP_MEMORY_TAKE, body, strlen (body));
  else if (content_type != NULL)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Content-Type", content_type);
}

/* Python's json module, as Flask's provider calls it */

static void
python_string (GString    *out,
               const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      switch (c)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        default:
          if (c >= 0x20 && c <= 0x7e)
            g_string_append_c (out, (char)c);
          else if (c <= 0xffff)
            g_string_append_printf (out, "\\u%04x", c);
          else
            {
              /* ensure_ascii writes a surrogate pair */
              gunichar v = c - 0x10000;

              g_string_append_printf (out, "\\u%04x\\u%04x", 0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
            }
        }
    }
  g_string_append_c (out, '"');
}

static char *
python_string_literal (const char *text)
{
  GString *out = g_string_new (NULL);

  python_string (out, text);
  return g_string_free (out, FALSE);
}

static void
python_indent (GString *out,
               guint    depth)
{
  g_string_append_c (out, '\n');
  for (guint i = 0; i < depth; i++)
    g_string_append (out, "  ");
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *)a, *(const char * const *)b);
}

/* json.dumps (node, indent=2, sort_keys=True) */
static void
python_pretty (GString  *out,
               JsonNode *node,
               guint     depth)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        g_autoptr(GList) members = json_object_get_members (object);
        g_autoptr(GPtrArray) names = g_ptr_array_new ();

        for (GList *l = members; l != NULL; l = l->next)
          g_ptr_array_add (names, l->data);
        if (names->len == 0)
          {
            g_string_append (out, "{}");
            break;
          }
        g_ptr_array_sort (names, compare_strings);

        g_string_append_c (out, '{');
        for (guint i = 0; i < names->len; i++)
          {
            const char *name = g_ptr_array_index (names, i);

            if (i > 0)
              g_string_append_c (out, ',');
            python_indent (out, depth + 1);
            python_string (out, name);
            g_string_append (out, ": ");
            python_pretty (out, json_object_get_member (object, name), depth + 1);
          }
        python_indent (out, depth);
        g_string_append_c (out, '}');
      }
      break;

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint length = json_array_get_length (array);

        if (length == 0)
          {
            g_string_append (out, "[]");
            break;
          }

        g_string_append_c (out, '[');
        for (guint i = 0; i < length; i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            python_indent (out, depth + 1);
            python_pretty (out, json_array_get_element (array, i), depth + 1);
          }
        python_indent (out, depth);
        g_string_append_c (out, ']');
      }
      break;

    case JSON_NODE_NULL:
      g_string_append (out, "null");
      break;

    case JSON_NODE_VALUE:
    default:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_BOOLEAN:
          g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
          break;

        case G_TYPE_DOUBLE:
          {
            g_autofree char *number = sim_json_number (json_node_get_double (node));

            g_string_append (out, number);
          }
          break;

        case G_TYPE_STRING:
          python_string (out, json_node_get_string (node));
          break;

        case G_TYPE_INT64:
        default:
          g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
          break;
        }
      break;
    }
}

/* Flask's jsonify(): the body and its final newline */
static char *
flask_json (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);
  GString *out = g_string_new (NULL);

  python_pretty (out, node, 0);
  g_string_append_c (out, '\n');

  return g_string_free (out, FALSE);
}

/* Moonraker: errors as Tornado writes them */

#define TORNADO_WEB   "/home/pi/moonraker-env/lib/python3.11/site-packages/tornado/web.py"
#define APPLICATION   "/home/pi/moonraker/moonraker/components/application.py"
#define AUTHORIZATION "/home/pi/moonraker/moonraker/components/authorization.py"

typedef struct
{
  const char *file;
  guint       line;
  const char *function;
  const char *code;
} Frame;

/* Where Moonraker raised the HTTPError, innermost last */
typedef enum
{
  RAISED_AUTHORIZATION,
  RAISED_API,
  RAISED_METHOD,
  RAISED_UPLOAD_CHECKSUM,
  RAISED_UPLOAD_FILENAME,
  RAISED_UPLOAD_FINALIZE,
  RAISED_UPLOAD_PARSING,
  RAISED_FILE_DELETE,
  RAISED_FILE_NOT_FOUND,
  RAISED_NO_ROUTE,
} Raised;

static const Frame execute_frame = { TORNADO_WEB, 1790, "_execute", "result = await result" };

static const Frame raise_sites[][2] = {
  [RAISED_AUTHORIZATION] = { { APPLICATION, 504, "prepare", "self.current_user = await auth.authenticate_request(" },
                             { AUTHORIZATION, 896, "authenticate_request", "raise HTTPError(401, \"Unauthorized\")" } },
  [RAISED_API] = { { APPLICATION, 687, "post", "await self._process_http_request(RequestType.POST)" },
                   { APPLICATION, 707, "_process_http_request", "raise tornado.web.HTTPError(" } },
  [RAISED_METHOD] = { { APPLICATION, 687, "post", "await self._process_http_request(RequestType.POST)" },
                      { APPLICATION, 694, "_process_http_request", "raise tornado.web.HTTPError(405)" } },
  [RAISED_UPLOAD_CHECKSUM] = { { APPLICATION, 996, "post", "raise tornado.web.HTTPError(" }, { NULL } },
  [RAISED_UPLOAD_FILENAME] = { { APPLICATION, 1004, "post", "raise tornado.web.HTTPError(400, \"Multipart filename omitted\")" },
                               { NULL } },
  [RAISED_UPLOAD_FINALIZE] = { { APPLICATION, 1020, "post", "raise tornado.web.HTTPError(" }, { NULL } },
  [RAISED_UPLOAD_PARSING] = { { APPLICATION, 987, "post", "raise tornado.web.HTTPError(500, \"File Upload Parsing Failed\")" },
                              { NULL } },
  [RAISED_FILE_DELETE] = { { APPLICATION, 789, "delete", "raise tornado.web.HTTPError(e.status_code, str(e))" }, { NULL } },
  [RAISED_FILE_NOT_FOUND] = { { APPLICATION, 798, "get", "self.absolute_path = self.validate_absolute_path(" },
                              { TORNADO_WEB, 2944, "validate_absolute_path", "raise HTTPError(404)" } },
  [RAISED_NO_ROUTE] = { { APPLICATION, 1057, "prepare", "raise tornado.web.HTTPError(404)" }, { NULL } },
};

static void
append_frame (GString     *out,
              const Frame *frame)
{
  /* Moonraker joins traceback.format_exception()'s items, each already
   * ending in a newline, with "\n". */
  g_string_append_printf (out, "\n  File \"%s\", line %u, in %s\n    %s\n",
                          frame->file, frame->line, frame->function, frame->code);
}

/*
 * @reason: HTTPError's reason (the message), or %NULL for the status's
 *   standard phrase
 * @log_message: HTTPError's positional text, or %NULL
 */
static void
moonraker_error (SoupServerMessage *msg,
                 guint              status,
                 const char        *reason,
                 const char        *log_message,
                 Raised             raised)
{
  const char *phrase = reason != NULL ? reason : soup_status_get_phrase (status);
  GString *traceback = g_string_new ("Traceback (most recent call last):\n");
  g_autofree char *exception = NULL;
  g_autofree char *message_json = NULL;
  g_autofree char *traceback_json = NULL;

  append_frame (traceback, &execute_frame);
  for (guint i = 0; i < G_N_ELEMENTS (raise_sites[raised]) && raise_sites[raised][i].file != NULL; i++)
    append_frame (traceback, &raise_sites[raised][i]);

  if (log_message != NULL)
    exception = g_strdup_printf ("tornado.web.HTTPError: HTTP %u: %s (%s)\n", status, phrase, log_message);
  else
    exception = g_strdup_printf ("tornado.web.HTTPError: HTTP %u: %s\n", status, phrase);
  g_string_append_printf (traceback, "\n%s", exception);

  message_json = sim_json_string (phrase);
  traceback_json = sim_json_string (traceback->str);
  g_string_free (traceback, TRUE);

  respond (msg, status, phrase, "application/json; charset=UTF-8",
           g_strdup_printf ("{\"error\":{\"code\":%u,\"message\":%s,\"traceback\":%s}}",
                            status, message_json, traceback_json));
}

static void
moonraker_json (SoupServerMessage *msg,
                guint              status,
                char              *body)
{
  respond (msg, status, NULL, "application/json; charset=UTF-8", body);
}

/* Moonraker: what the endpoints do, shared by HTTP and the WebSocket */

/* get_path_info()'s three keys, then path and root, as _sched_changed_event builds the item */
static char *
moonraker_item (const char *path,
                SimFile    *file)
{
  g_autofree char *path_json = sim_json_string (path);

  if (file == NULL)
    return g_strdup_printf ("{\"modified\":0,\"size\":0,\"permissions\":\"\",\"path\":%s,\"root\":\"gcodes\"}",
                            path_json);

  return g_strdup_printf ("{\"modified\":%" G_GINT64_FORMAT ".0,\"size\":%" G_GSIZE_FORMAT
                          ",\"permissions\":\"rw\",\"path\":%s,\"root\":\"gcodes\"}",
                          file->modified, g_bytes_get_size (file->content), path_json);
}

static void
moonraker_files_list (SimPrinter *printer,
                      const char *root,
                      Outcome    *outcome)
{
  g_autoptr(GPtrArray) sorted = NULL;
  GString *out;

  if (g_strcmp0 (root, "config") == 0)
    {
      outcome->result = g_strdup ("[]");
      return;
    }
  if (g_strcmp0 (root, "gcodes") != 0)
    {
      g_autofree char *message = g_strdup_printf ("Failed to build file list, invalid path: %s: None", root);

      outcome_fail (outcome, 400, message);
      return;
    }

  sorted = sorted_files (printer, compare_names_lower);

  out = g_string_new ("[");
  for (guint i = 0; i < sorted->len; i++)
    {
      SimFile *file = g_ptr_array_index (sorted, i);
      g_autofree char *path = NULL;

      /* The gcodes root lists only G-code */
      if (!has_extension (file->name, gcode_extensions, G_N_ELEMENTS (gcode_extensions)))
        continue;

      path = sim_json_string (file->name);
      g_string_append_printf (out, "%s{\"path\":%s,\"modified\":%" G_GINT64_FORMAT ".0,\"size\":%" G_GSIZE_FORMAT
                              ",\"permissions\":\"rw\"}",
                              out->len > 1 ? "," : "", path, file->modified, g_bytes_get_size (file->content));
    }
  g_string_append_c (out, ']');

  outcome->result = g_string_free (out, FALSE);
}

/* file_manager.delete_file: @path is "<root>/<name>" */
static void
moonraker_delete_file (SimPrinter *printer,
                       const char *path,
                       Outcome    *outcome)
{
  g_autofree char *normal = normalize_path (NULL, path);
  g_autofree char *message = NULL;
  g_autofree char *item = NULL;
  const char *name;

  if (normal == NULL)
    {
      message = g_strdup_printf ("Invalid path: %s", path);
      outcome_fail (outcome, 400, message);
      return;
    }

  name = strchr (normal, '/');
  if (name == NULL || strncmp (normal, "gcodes/", 7) != 0)
    {
      g_autofree char *root = name != NULL ? g_strndup (normal, name - normal) : g_strdup (normal);

      if (g_str_equal (root, "config"))
        message = g_strdup_printf ("Invalid file path: %s", path);
      else
        message = g_strdup_printf ("Invalid root path (%s)", root);
      outcome_fail (outcome, 400, message);
      return;
    }
  name++;

  if (sim_printer_find_file (printer, name) == NULL)
    {
      message = g_strdup_printf ("Invalid file path: %s", path);
      outcome_fail (outcome, 400, message);
      return;
    }

  if (is_printing_file (printer, name))
    {
      outcome_fail (outcome, 403, "File currently in use");
      return;
    }

  if (!sim_printer_delete_file (printer, name, NULL))
    {
      outcome_fail (outcome, 500, "Unable to delete file");
      return;
    }

  item = moonraker_item (name, NULL);
  outcome->result = g_strdup_printf ("{\"action\":\"delete_file\",\"item\":%s}", item);
}

static void
moonraker_gcode_store (SimPrinter *printer,
                       gint64      count,
                       Outcome    *outcome)
{
  GString *out = g_string_new ("{\"gcode_store\":[");
  guint first = 0;

  if (count >= 0 && (guint64)count < printer->gcode_store->len)
    first = printer->gcode_store->len - (guint)count;

  for (guint i = first; i < printer->gcode_store->len; i++)
    {
      SimGcodeEntry *entry = g_ptr_array_index (printer->gcode_store, i);
      g_autofree char *message = sim_json_string (entry->message);
      g_autofree char *time = sim_json_number (entry->time);

      g_string_append_printf (out, "%s{\"message\":%s,\"time\":%s,\"type\":\"%s\"}",
                              i > first ? "," : "", message, time, entry->type);
    }
  g_string_append (out, "]}");

  outcome->result = g_string_free (out, FALSE);
}

static void
moonraker_print_start (SimPrinter *printer,
                       const char *filename,
                       Outcome    *outcome)
{
  g_autoptr(GError) error = NULL;

  while (*filename == '/')
    filename++;

  if (!sim_printer_start_job (printer, filename, &error))
    {
      /* Klipper's own words for SDCARD_PRINT_FILE, passed on with 400 */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BUSY))
        outcome_fail (outcome, 400, "SD busy");
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        outcome_fail (outcome, 400, "Unable to open file");
      else
        outcome_fail (outcome, 400, error->message);
      return;
    }

  outcome->result = g_strdup ("\"ok\"");
}

/* PAUSE, RESUME and CANCEL_PRINT answer "ok" whatever the state: Klipper
 * only says "Print already paused" and the like as a G-code response. */
static void
moonraker_pause_resume (SimPrinter *printer,
                        const char *what,
                        Outcome    *outcome)
{
  if (g_str_equal (what, "pause"))
    sim_printer_pause (printer, NULL);
  else if (g_str_equal (what, "resume"))
    sim_printer_resume (printer, NULL);
  else
    sim_printer_cancel (printer, NULL);

  outcome->result = g_strdup ("\"ok\"");
}

static void
moonraker_gcode_script (SimPrinter *printer,
                        const char *script,
                        Outcome    *outcome)
{
  sim_printer_run_gcode (printer, script);
  outcome->result = g_strdup ("\"ok\"");
}

/* Moonraker over HTTP */

static gboolean
moonraker_authorized (SimPrinter        *printer,
                      SoupServerMessage *msg)
{
  const char *key = request_header (msg, "X-Api-Key");

  return key != NULL && *key != '\0' && g_str_equal (key, printer->api_key);
}

/* DynamicRequestHandler.parse_args(): query and form arguments ("key:type"
 * hints dropped), then a JSON body on top. */
static JsonObject *
moonraker_args (SoupServerMessage *msg,
                GHashTable        *query)
{
  JsonObject *args = json_object_new ();

  if (query != NULL)
    {
      GHashTableIter iter;
      gpointer key, value;

      g_hash_table_iter_init (&iter, query);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          g_autofree char *name = g_strdup (key);
          char *colon = strrchr (name, ':');

          if (colon != NULL)
            *colon = '\0';
          json_object_set_string_member (args, name, value);
        }
    }

  if (content_type_is (msg, "application/x-www-form-urlencoded"))
    {
      g_autoptr(GBytes) body = request_body (msg);
      g_autofree char *text = g_strndup (g_bytes_get_data (body, NULL), g_bytes_get_size (body));
      GHashTable *form = soup_form_decode (text);
      GHashTableIter iter;
      gpointer key, value;

      g_hash_table_iter_init (&iter, form);
      while (g_hash_table_iter_next (&iter, &key, &value))
        json_object_set_string_member (args, key, value);
      g_hash_table_unref (form);
    }
  else if (content_type_is (msg, "application/json"))
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GBytes) body = request_body (msg);

      if (json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body), NULL) &&
          JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        {
          JsonObject *object = json_node_get_object (json_parser_get_root (parser));
          g_autoptr(GList) members = json_object_get_members (object);

          for (GList *l = members; l != NULL; l = l->next)
            json_object_set_member (args, l->data, json_node_copy (json_object_get_member (object, l->data)));
        }
    }

  return args;
}

/* WebRequest.get_str(): %NULL and "No data for argument" when missing */
static char *
get_string_arg (JsonObject *args,
                const char *name,
                Outcome    *outcome)
{
  JsonNode *node = args != NULL ? json_object_get_member (args, name) : NULL;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      g_autofree char *message = g_strdup_printf ("No data for argument: %s", name);

      outcome_fail (outcome, 400, message);
      return NULL;
    }

  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));

  return json_to_string (node, FALSE);
}

static const char *
optional_string_arg (JsonObject *args,
                     const char *name,
                     const char *fallback)
{
  JsonNode *node = args != NULL ? json_object_get_member (args, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return fallback;

  return json_node_get_string (node);
}

static gint64
optional_int_arg (JsonObject *args,
                  const char *name,
                  gint64      fallback)
{
  JsonNode *node = args != NULL ? json_object_get_member (args, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;

  if (json_node_get_value_type (node) == G_TYPE_STRING)
    {
      gint64 value;

      if (g_ascii_string_to_signed (json_node_get_string (node), 10, G_MININT64, G_MAXINT64, &value, NULL))
        return value;
      return fallback;
    }

  return json_node_get_int (node);
}

/* The API endpoints: @outcome filled in, or %FALSE when @endpoint is none of them */
static gboolean
moonraker_endpoint (SimPrinter *printer,
                    const char *method,
                    const char *endpoint,
                    JsonObject *args,
                    Outcome    *outcome,
                    gboolean   *wrong_method)
{
  gboolean is_get = g_str_equal (method, "GET");
  gboolean is_post = g_str_equal (method, "POST");

  *wrong_method = FALSE;

  if (g_str_equal (endpoint, "/server/files/list"))
    {
      if (!(*wrong_method = !is_get))
        moonraker_files_list (printer, optional_string_arg (args, "root", "gcodes"), outcome);
      return TRUE;
    }

  if (g_str_equal (endpoint, "/server/gcode_store"))
    {
      if (!(*wrong_method = !is_get))
        moonraker_gcode_store (printer, optional_int_arg (args, "count", -1), outcome);
      return TRUE;
    }

  if (g_str_equal (endpoint, "/printer/print/start"))
    {
      g_autofree char *filename = NULL;

      if ((*wrong_method = !is_post))
        return TRUE;
      if ((filename = get_string_arg (args, "filename", outcome)) != NULL)
        moonraker_print_start (printer, filename, outcome);
      return TRUE;
    }

  if (g_str_equal (endpoint, "/printer/print/pause") ||
      g_str_equal (endpoint, "/printer/print/resume") ||
      g_str_equal (endpoint, "/printer/print/cancel"))
    {
      if (!(*wrong_method = !is_post))
        moonraker_pause_resume (printer, endpoint + strlen ("/printer/print/"), outcome);
      return TRUE;
    }

  if (g_str_equal (endpoint, "/printer/gcode/script"))
    {
      g_autofree char *script = NULL;

      if ((*wrong_method = !is_post))
        return TRUE;
      if ((script = get_string_arg (args, "script", outcome)) != NULL)
        moonraker_gcode_script (printer, script, outcome);
      return TRUE;
    }

  return FALSE;
}

static void
moonraker_upload (SimHttp           *self,
                  SimPrinter        *printer,
                  SoupServerMessage *msg)
{
  g_auto(Form) form = { 0 };
  g_autofree char *calculated = NULL;
  g_autofree char *name = NULL;
  g_autofree char *origin = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *location = NULL;
  g_autofree char *item = NULL;
  const char *checksum;
  const char *root;
  const char *folder;
  gboolean is_gcode;
  gboolean can_start;
  gboolean started = FALSE;
  SimFile *file;

  if (!parse_form (msg, &form))
    {
      moonraker_error (msg, 500, NULL, "File Upload Parsing Failed", RAISED_UPLOAD_PARSING);
      return;
    }

  calculated = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                            form.file != NULL ? g_bytes_get_data (form.file, NULL) : (const guchar *)"",
                                            form.file != NULL ? g_bytes_get_size (form.file) : 0);
  checksum = g_hash_table_lookup (form.fields, "checksum");
  if (checksum != NULL && *checksum != '\0')
    {
      g_autofree char *expected = g_ascii_strdown (checksum, -1);

      if (!g_str_equal (expected, calculated))
        {
          g_autofree char *text = g_strdup_printf ("File checksum mismatch: expected %s, calculated %s",
                                                   expected, calculated);

          moonraker_error (msg, 422, NULL, text, RAISED_UPLOAD_CHECKSUM);
          return;
        }
    }

  if (form.filename == NULL || g_strstrip (form.filename)[0] == '\0' || !g_utf8_validate (form.filename, -1, NULL))
    {
      moonraker_error (msg, 400, NULL, "Multipart filename omitted", RAISED_UPLOAD_FILENAME);
      return;
    }

  /* file_manager._parse_upload_args(): only the gcodes root exists here */
  root = g_hash_table_lookup (form.fields, "root");
  if (root != NULL && *root != '\0' && g_ascii_strcasecmp (root, "gcodes") != 0)
    {
      g_autofree char *lower = g_ascii_strdown (root, -1);
      g_autofree char *text = g_strdup_printf ("Root %s not available", lower);

      moonraker_error (msg, 400, NULL, text, RAISED_UPLOAD_FINALIZE);
      return;
    }

  folder = g_hash_table_lookup (form.fields, "path");
  while (folder != NULL && *folder == '/')
    folder++;
  name = normalize_path (folder, form.filename);
  if (name == NULL)
    {
      g_autofree char *text = g_strdup_printf ("Cannot write to path: %s", form.filename);

      moonraker_error (msg, 400, NULL, text, RAISED_UPLOAD_FINALIZE);
      return;
    }

  is_gcode = has_extension (name, gcode_extensions, G_N_ELEMENTS (gcode_extensions));
  can_start = !sim_printer_is_busy (printer);
  if (is_gcode && is_printing_file (printer, name))
    {
      moonraker_error (msg, 403, NULL, "File is loaded, upload not permitted", RAISED_UPLOAD_FINALIZE);
      return;
    }

  file = sim_printer_add_file (printer, name, form.file);

  /* `print` counts only when it is exactly "true". */
  if (is_gcode && can_start && g_strcmp0 (g_hash_table_lookup (form.fields, "print"), "true") == 0)
    started = sim_printer_start_job (printer, name, NULL);

  origin = request_origin (self, msg);
  escaped = escape_path (name);
  location = g_strconcat (origin, "/", printer->id, "/server/files/gcodes/", escaped, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Location", location);

  item = moonraker_item (name, file);
  if (is_gcode)
    moonraker_json (msg, 201, g_strdup_printf ("{\"action\":\"create_file\",\"item\":%s,\"print_started\":%s,"
                                               "\"print_queued\":false}",
                                               item, started ? "true" : "false"));
  else
    moonraker_json (msg, 201, g_strdup_printf ("{\"action\":\"create_file\",\"item\":%s}", item));
}

static const char *
moonraker_content_type (const char *name)
{
  /* Moonraker adds text/plain for .gcode to Python's mimetypes. */
  if (g_str_has_suffix (name, ".gcode"))
    return "text/plain";
  if (g_str_has_suffix (name, ".nc"))
    return "application/x-netcdf";

  return "application/octet-stream";
}

static void
moonraker_download (SimPrinter        *printer,
                    SoupServerMessage *msg,
                    const char        *name)
{
  SimFile *file = sim_printer_find_file (printer, name);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autoptr(GString) ascii = g_string_new (NULL);
  g_autofree char *utf8 = NULL;
  g_autofree char *disposition = NULL;
  g_autofree char *sha512 = NULL;
  g_autofree char *etag = NULL;
  g_autoptr(GDateTime) modified = NULL;
  g_autofree char *last_modified = NULL;

  if (file == NULL)
    {
      moonraker_error (msg, 404, NULL, NULL, RAISED_FILE_NOT_FOUND);
      return;
    }

  /* FileRequestHandler.set_extra_headers(): an ASCII name with "?" for the
   * rest and quotes escaped, and the UTF-8 name percent-encoded */
  for (const char *p = base_name (name); *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '"')
        g_string_append (ascii, "\\\"");
      else
        g_string_append_c (ascii, c < 0x80 ? (char)c : '?');
    }
  utf8 = g_uri_escape_string (base_name (name), "/", FALSE);
  disposition = g_strdup_printf ("attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii->str, utf8);

  sha512 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA512, file->content);
  etag = g_strdup_printf ("\"%s\"", sha512);
  modified = g_date_time_new_from_unix_utc (file->modified);
  last_modified = soup_date_time_to_string (modified, SOUP_DATE_HTTP);

  soup_message_headers_replace (headers, "Content-Disposition", disposition);
  soup_message_headers_replace (headers, "Accept-Ranges", "bytes");
  soup_message_headers_replace (headers, "Etag", etag);
  soup_message_headers_replace (headers, "Last-Modified", last_modified);
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, moonraker_content_type (name), SOUP_MEMORY_COPY,
                                    g_bytes_get_data (file->content, NULL), g_bytes_get_size (file->content));
}

static void
moonraker_request (SimHttp           *self,
                   SimPrinter        *printer,
                   SoupServerMessage *msg,
                   const char        *endpoint,
                   GHashTable        *query)
{
  const char *method = soup_server_message_get_method (msg);
  g_autoptr(JsonObject) args = NULL;
  g_auto(Outcome) outcome = { 0 };
  gboolean wrong_method;

  /* Upgrades are checked once the WebSocket is open (websocket_cb): Moonraker
   * lets an unauthenticated socket in and waits for server.connection.identify. */
  if (g_str_equal (endpoint, "/websocket"))
    {
      const char *upgrade = request_header (msg, "Upgrade");

      /* Tornado's WebSocketHandler.get() turns away anything else */
      if (upgrade == NULL || g_ascii_strcasecmp (upgrade, "websocket") != 0)
        respond (msg, 400, NULL, "text/html; charset=UTF-8", g_strdup ("Can \"Upgrade\" only to \"WebSocket\"."));
      else if (!soup_message_headers_header_contains (soup_server_message_get_request_headers (msg),
                                                      "Connection", "Upgrade"))
        respond (msg, 400, NULL, "text/html; charset=UTF-8", g_strdup ("\"Connection\" must be \"Upgrade\"."));
      return;
    }

  if (!moonraker_authorized (printer, msg))
    {
      moonraker_error (msg, 401, NULL, "Unauthorized", RAISED_AUTHORIZATION);
      return;
    }

  if (g_str_equal (endpoint, "/server/files/upload"))
    {
      if (!g_str_equal (method, "POST"))
        moonraker_error (msg, 405, NULL, NULL, RAISED_METHOD);
      else
        moonraker_upload (self, printer, msg);
      return;
    }

  if (g_str_has_prefix (endpoint, "/server/files/gcodes/"))
    {
      const char *name = endpoint + strlen ("/server/files/gcodes/");

      if (g_str_equal (method, "GET") || g_str_equal (method, "HEAD"))
        moonraker_download (printer, msg, name);
      else if (g_str_equal (method, "DELETE"))
        {
          g_autofree char *path = g_strconcat ("gcodes/", name, NULL);

          moonraker_delete_file (printer, path, &outcome);
          if (outcome.status != 0)
            moonraker_error (msg, outcome.status, NULL, outcome.message, RAISED_FILE_DELETE);
          else
            moonraker_json (msg, 200, g_strdup_printf ("{\"result\":%s}", outcome.result));
        }
      else
        moonraker_error (msg, 405, NULL, NULL, RAISED_METHOD);
      return;
    }

  args = moonraker_args (msg, query);
  if (!moonraker_endpoint (printer, method, endpoint, args, &outcome, &wrong_method))
    {
      moonraker_error (msg, 404, NULL, NULL, RAISED_NO_ROUTE);
      return;
    }

  if (wrong_method)
    moonraker_error (msg, 405, NULL, NULL, RAISED_METHOD);
  else if (outcome.status != 0)
    moonraker_error (msg, outcome.status, outcome.message, NULL, RAISED_API);
  else
    moonraker_json (msg, 200, g_strdup_printf ("{\"result\":%s}", outcome.result));
}

/* Moonraker over the WebSocket: JSON-RPC 2.0 */

static const char * const client_types[] = { "web", "mobile", "desktop", "display", "bot", "agent", "other" };

static void
socket_identify (Socket     *socket,
                 JsonObject *params,
                 Outcome    *outcome)
{
  g_autofree char *client_name = NULL;
  g_autofree char *version = NULL;
  g_autofree char *client_type = NULL;
  g_autofree char *url = NULL;
  g_autofree char *lower = NULL;
  const char *token;
  const char *api_key;
  gboolean known = FALSE;

  if (socket->client_data != NULL)
    {
      g_autofree char *message = g_strdup_printf ("Connection already identified: %s", socket->client_data);

      outcome_fail (outcome, 400, message);
      return;
    }

  if ((client_name = get_string_arg (params, "client_name", outcome)) == NULL ||
      (version = get_string_arg (params, "version", outcome)) == NULL ||
      (client_type = get_string_arg (params, "type", outcome)) == NULL ||
      (url = get_string_arg (params, "url", outcome)) == NULL)
    return;

  /* BaseRemoteConnection.authenticate() */
  token = optional_string_arg (params, "access_token", NULL);
  api_key = optional_string_arg (params, "api_key", NULL);
  if (token != NULL)
    {
      /* The simulator issues no JSON Web Tokens: none decodes. */
      if (strchr (token, '.') == NULL)
        outcome_fail (outcome, 401, "Failed to decode JWT: not enough values to unpack (expected 2, got 1)");
      else
        outcome_fail (outcome, 400, "Invalid JWT header");
      return;
    }
  if (api_key != NULL && !socket->authenticated)
    {
      if (!g_str_equal (api_key, socket->printer->api_key))
        {
          outcome_fail (outcome, 401, "Invalid API Key");
          return;
        }
      socket->authenticated = TRUE;
    }
  else if (!socket->authenticated)
    {
      outcome_fail (outcome, 401, "Unauthorized");
      return;
    }

  lower = g_ascii_strdown (client_type, -1);
  for (guint i = 0; i < G_N_ELEMENTS (client_types); i++)
    known |= g_str_equal (lower, client_types[i]);
  if (!known)
    {
      g_autofree char *message = g_strdup_printf ("Invalid Client Type: %s", lower);

      outcome_fail (outcome, 400, message);
      return;
    }

  socket->client_data = g_strdup_printf ("{'name': '%s', 'version': '%s', 'type': '%s', 'url': '%s'}",
                                         client_name, version, lower, url);
  outcome->result = g_strdup_printf ("{\"connection_id\":%" G_GUINT64_FORMAT "}", socket->id);
}

/* Methods this simulator knows, and whether they need an authenticated socket */
static const struct
{
  const char *name;
  gboolean    auth_required;
} rpc_methods[] = {
  { "server.connection.identify", FALSE },
  { "server.websocket.id", TRUE },
  { "server.files.list", TRUE },
  { "server.files.delete_file", TRUE },
  { "server.gcode_store", TRUE },
  { "printer.gcode.script", TRUE },
  { "printer.print.start", TRUE },
  { "printer.print.pause", TRUE },
  { "printer.print.resume", TRUE },
  { "printer.print.cancel", TRUE },
};

static void
socket_call (Socket     *socket,
             const char *method,
             JsonObject *params,
             Outcome    *outcome)
{
  SimPrinter *printer = socket->printer;

  if (g_str_equal (method, "server.connection.identify"))
    socket_identify (socket, params, outcome);
  else if (g_str_equal (method, "server.websocket.id"))
    outcome->result = g_strdup_printf ("{\"websocket_id\":%" G_GUINT64_FORMAT "}", socket->id);
  else if (g_str_equal (method, "server.files.list"))
    moonraker_files_list (printer, optional_string_arg (params, "root", "gcodes"), outcome);
  else if (g_str_equal (method, "server.files.delete_file"))
    {
      g_autofree char *path = get_string_arg (params, "path", outcome);

      if (path != NULL)
        moonraker_delete_file (printer, path, outcome);
    }
  else if (g_str_equal (method, "server.gcode_store"))
    moonraker_gcode_store (printer, optional_int_arg (params, "count", -1), outcome);
  else if (g_str_equal (method, "printer.gcode.script"))
    {
      g_autofree char *script = get_string_arg (params, "script", outcome);

      if (script != NULL)
        moonraker_gcode_script (printer, script, outcome);
    }
  else if (g_str_equal (method, "printer.print.start"))
    {
      g_autofree char *filename = get_string_arg (params, "filename", outcome);

      if (filename != NULL)
        moonraker_print_start (printer, filename, outcome);
    }
  else
    moonraker_pause_resume (printer, method + strlen ("printer.print."), outcome);
}

/* JsonRPC.process_object(): the response, or %NULL for none */
static char *
socket_process (Socket   *socket,
                JsonNode *request)
{
  g_auto(Outcome) outcome = { 0 };
  JsonObject *object;
  JsonNode *id;
  JsonNode *method_node;
  JsonNode *params_node;
  JsonObject *params = NULL;
  const char *method;
  int known = -1;

  if (!JSON_NODE_HOLDS_OBJECT (request))
    return NULL;

  object = json_node_get_object (request);
  id = json_object_get_member (object, "id");

  if (g_strcmp0 (json_object_get_string_member_with_default (object, "jsonrpc", ""), "2.0") != 0)
    return sim_jsonrpc_error (id, -32600, "Invalid Request");

  /* No method: a response to a request of ours, which we never send. */
  method_node = json_object_get_member (object, "method");
  if (method_node == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_VALUE (method_node) || json_node_get_value_type (method_node) != G_TYPE_STRING)
    return sim_jsonrpc_error (id, -32600, "Invalid Request");
  method = json_node_get_string (method_node);

  for (guint i = 0; i < G_N_ELEMENTS (rpc_methods); i++)
    {
      if (g_str_equal (method, rpc_methods[i].name))
        known = (int)i;
    }
  if (known < 0)
    return sim_jsonrpc_error (id, -32601, "Method not found");

  params_node = json_object_get_member (object, "params");
  if (params_node != NULL)
    {
      if (!JSON_NODE_HOLDS_OBJECT (params_node))
        return sim_jsonrpc_error (id, -32602, "Invalid params:");
      params = json_node_get_object (params_node);
    }

  if (rpc_methods[known].auth_required && !socket->authenticated)
    outcome_fail (&outcome, 401, "Unauthorized");
  else
    socket_call (socket, method, params, &outcome);

  if (outcome.status != 0)
    {
      int code = (int)outcome.status;

      if (code == 404)
        code = -32601;
      else if (code == 401)
        code = -32602;
      return sim_jsonrpc_error (id, code, outcome.message);
    }

  if (id == NULL)
    return NULL;

  return sim_jsonrpc_result (id, outcome.result);
}

static void
socket_message_cb (SoupWebsocketConnection *connection,
                   gint                     type,
                   GBytes                  *message,
                   gpointer                 user_data)
{
  Socket *socket = user_data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *response = NULL;
  JsonNode *root;

  if (!json_parser_load_from_data (parser, g_bytes_get_data (message, NULL), g_bytes_get_size (message), NULL))
    response = sim_jsonrpc_error (NULL, -32700, "Parse error");
  else if (JSON_NODE_HOLDS_ARRAY (root = json_parser_get_root (parser)))
    {
      JsonArray *batch = json_node_get_array (root);
      GString *out = g_string_new ("[");
      guint n = 0;

      for (guint i = 0; i < json_array_get_length (batch); i++)
        {
          g_autofree char *one = socket_process (socket, json_array_get_element (batch, i));

          if (one != NULL)
            g_string_append_printf (out, "%s%s", n++ > 0 ? "," : "", one);
        }
      g_string_append_c (out, ']');
      if (n > 0)
        response = g_string_free (out, FALSE);
      else
        g_string_free (out, TRUE);
    }
  else
    response = socket_process (socket, root);

  if (response != NULL && soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text (connection, response);
}

static void
socket_free (Socket *socket)
{
  g_signal_handlers_disconnect_by_data (socket->connection, socket);
  if (soup_websocket_connection_get_state (socket->connection) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (socket->connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "Server Shutdown");
  g_object_unref (socket->connection);
  g_free (socket->client_data);
  g_free (socket);
}

static void
socket_closed_cb (SoupWebsocketConnection *connection,
                  gpointer                 user_data)
{
  Socket *socket = user_data;
  GPtrArray *sockets = g_hash_table_lookup (socket->http->sockets, socket->printer);

  if (sockets != NULL)
    g_ptr_array_remove_fast (sockets, socket);
}

static void
websocket_cb (SoupServer              *server,
              SoupServerMessage       *msg,
              const char              *path,
              SoupWebsocketConnection *connection,
              gpointer                 user_data)
{
  SimHttp *self = user_data;
  const char *id = path + 1;
  const char *slash = strchr (id, '/');
  g_autofree char *printer_id = slash != NULL ? g_strndup (id, slash - id) : NULL;
  SimPrinter *printer = printer_id != NULL ? sim_farm_find_printer (self->farm, printer_id) : NULL;
  GPtrArray *sockets;
  Socket *socket;

  /* request_cb let only a Moonraker printer's /websocket through */
  g_return_if_fail (printer != NULL);

  socket = g_new0 (Socket, 1);
  socket->http = self;
  socket->printer = printer;
  socket->connection = g_object_ref (connection);
  /* Moonraker's ids are Python's id() of the connection object */
  socket->id = self->next_connection_id++;
  socket->authenticated = moonraker_authorized (printer, msg);

  sockets = g_hash_table_lookup (self->sockets, printer);
  if (sockets == NULL)
    {
      sockets = g_ptr_array_new_with_free_func ((GDestroyNotify)socket_free);
      g_hash_table_insert (self->sockets, printer, sockets);
    }
  g_ptr_array_add (sockets, socket);

  g_signal_connect (connection, "message", G_CALLBACK (socket_message_cb), socket);
  g_signal_connect (connection, "closed", G_CALLBACK (socket_closed_cb), socket);
}

/* The dialect's notify_* messages, for every authenticated socket of the printer */
static void
notify_cb (SimPrinter *printer,
           const char *json,
           gpointer    user_data)
{
  SimHttp *self = user_data;
  GPtrArray *sockets = g_hash_table_lookup (self->sockets, printer);

  for (guint i = 0; sockets != NULL && i < sockets->len; i++)
    {
      Socket *socket = g_ptr_array_index (sockets, i);

      if (socket->authenticated && soup_websocket_connection_get_state (socket->connection) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_send_text (socket->connection, json);
    }
}

/* A printer that went away takes its sockets with it. */
static gboolean
check_sockets_cb (gpointer user_data)
{
  SimHttp *self = user_data;
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, self->sockets);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      SimPrinter *printer = key;
      GPtrArray *sockets = value;

      if (printer->state == SIM_STATE_OFFLINE && sockets->len > 0)
        g_ptr_array_set_size (sockets, 0);
    }

  return G_SOURCE_CONTINUE;
}

/* OctoPrint */

static const char * const octoprint_extensions[] = { ".gcode", ".gco", ".g" };

#define OCTOPRINT_BAD_REQUEST "The browser (or proxy) sent a request that this server could not understand."
#define OCTOPRINT_FORBIDDEN   "You don't have the permission to access the requested resource. It is either " \
                              "read-protected or not readable by the server."
#define OCTOPRINT_NOT_FOUND   "The requested URL was not found on the server. If you entered the URL manually " \
                              "please check your spelling and try again."
#define OCTOPRINT_NOT_ALLOWED "The method is not allowed for the requested URL."

static void
octoprint_json (SoupServerMessage *msg,
                guint              status,
                JsonObject        *object)
{
  respond (msg, status, NULL, "application/json", flask_json (object));
}

static void
octoprint_error (SoupServerMessage *msg,
                 guint              status,
                 const char        *description)
{
  g_autoptr(JsonObject) object = json_object_new ();

  json_object_set_string_member (object, "error", description);
  octoprint_json (msg, status, object);
}

static void
octoprint_no_content (SoupServerMessage *msg)
{
  respond (msg, 204, NULL, "text/plain", NULL);
}

static void
octoprint_not_allowed (SoupServerMessage *msg,
                       const char        *allow)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", allow);
  octoprint_error (msg, 405, OCTOPRINT_NOT_ALLOWED);
}

/* The state OctoPrint reports for the printer behind it */
typedef struct
{
  const char *text;
  gboolean    operational;
  gboolean    printing;
  gboolean    paused;
  gboolean    error;
  gboolean    closed_or_error;
  const char *error_text;
} OctoState;

static OctoState
octoprint_state (SimPrinter *printer)
{
  OctoState state = { "Operational", TRUE, FALSE, FALSE, FALSE, FALSE, "" };

  switch (printer->state)
    {
    case SIM_STATE_HEATING:
    case SIM_STATE_PRINTING:
      state.text = "Printing";
      state.printing = TRUE;
      break;

    case SIM_STATE_PAUSED:
      state.text = "Paused";
      state.paused = TRUE;
      break;

    case SIM_STATE_ERROR:
      /* Marlin halted: the serial link closes with the error */
      state.text = "Offline after error";
      state.operational = FALSE;
      state.error = TRUE;
      state.closed_or_error = TRUE;
      state.error_text = printer->error_text != NULL ? printer->error_text : "";
      break;

    case SIM_STATE_OFFLINE:
      state.text = "Offline";
      state.operational = FALSE;
      state.closed_or_error = TRUE;
      break;

    case SIM_STATE_IDLE:
    case SIM_STATE_FINISHED:
    case SIM_STATE_CANCELLED:
    default:
      break;
    }

  return state;
}

static gboolean
octoprint_is_ready (SimPrinter *printer)
{
  OctoState state = octoprint_state (printer);

  return state.operational && !state.printing && !state.paused;
}

static gboolean
octoprint_true (const char *value)
{
  static const char * const trues[] = { "true", "yes", "y", "1" };

  for (guint i = 0; value != NULL && i < G_N_ELEMENTS (trues); i++)
    {
      if (g_str_equal (value, trues[i]))
        return TRUE;
    }

  return FALSE;
}

static gboolean
octoprint_node_true (JsonNode *node)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_BOOLEAN:
      return json_node_get_boolean (node);
    case G_TYPE_INT64:
      return json_node_get_int (node) == 1;
    case G_TYPE_STRING:
      return octoprint_true (json_node_get_string (node));
    default:
      return FALSE;
    }
}

/* MQTT events the plugin publishes for what a REST call did: Python's
 * json.dumps with its default separators, then `_event` and `_timestamp`. */
static void
octoprint_publish_event (SimPrinter *printer,
                         const char *event,
                         const char *fields)
{
  g_autofree char *topic = g_strconcat ("octoPrint/", printer->id, "/event/", event, NULL);
  g_autofree char *payload = g_strdup_printf ("{%s, \"_event\": \"%s\", \"_timestamp\": %" G_GINT64_FORMAT "}",
                                              fields, event, g_get_real_time () / G_USEC_PER_SEC);

  sim_printer_publish (printer, topic, payload, 0, FALSE);
}

/* printer.select_file(): the file becomes the job, FileSelected goes out. */
static void
octoprint_select (SimPrinter *printer,
                  SimFile    *file)
{
  g_autofree char *name = python_string_literal (base_name (file->name));
  g_autofree char *path = python_string_literal (file->name);
  g_autofree char *fields = g_strdup_printf ("\"name\": %s, \"path\": %s, \"origin\": \"local\", \"size\": %" G_GSIZE_FORMAT
                                             ", \"owner\": \"" OCTOPRINT_USER "\", \"user\": \"" OCTOPRINT_USER "\"",
                                             name, path, g_bytes_get_size (file->content));

  if (g_strcmp0 (printer->job_file, file->name) != 0)
    {
      g_free (printer->job_file);
      printer->job_file = g_strdup (file->name);
    }
  octoprint_publish_event (printer, "FileSelected", fields);
}

static char *
octoprint_prefix (SimHttp           *self,
                  SimPrinter        *printer,
                  SoupServerMessage *msg)
{
  g_autofree char *origin = request_origin (self, msg);

  return g_strconcat (origin, "/", printer->id, NULL);
}

static JsonObject *
octoprint_refs (const char *prefix,
                const char *path,
                gboolean    download)
{
  JsonObject *refs = json_object_new ();
  g_autofree char *escaped = escape_path (path);
  g_autofree char *resource = g_strconcat (prefix, "/api/files/local/", escaped, NULL);

  json_object_set_string_member (refs, "resource", resource);
  if (download)
    {
      g_autofree char *url = g_strconcat (prefix, "/downloads/files/local/", escaped, NULL);

      json_object_set_string_member (refs, "download", url);
    }

  return refs;
}

static JsonArray *
string_array (const char *first,
              ...)
{
  JsonArray *array = json_array_new ();
  va_list args;

  va_start (args, first);
  for (const char *s = first; s != NULL; s = va_arg (args, const char *))
    json_array_add_string_element (array, s);
  va_end (args);

  return array;
}

/* A local file as _getFileList() lists it */
static JsonObject *
octoprint_file_object (const char *prefix,
                       SimFile    *file)
{
  JsonObject *object = json_object_new ();
  g_autofree char *hash = g_compute_checksum_for_bytes (G_CHECKSUM_SHA1, file->content);
  const char *name = base_name (file->name);

  json_object_set_string_member (object, "hash", hash);
  json_object_set_array_member (object, "links", json_array_new ());
  json_object_set_array_member (object, "notes", json_array_new ());
  json_object_set_string_member (object, "name", name);
  json_object_set_string_member (object, "display", name);
  json_object_set_string_member (object, "path", file->name);
  json_object_set_string_member (object, "type", "machinecode");
  json_object_set_array_member (object, "typePath", string_array ("machinecode", "gcode", NULL));
  json_object_set_int_member (object, "size", (gint64)g_bytes_get_size (file->content));
  json_object_set_int_member (object, "date", file->modified);
  json_object_set_string_member (object, "origin", "local");
  json_object_set_object_member (object, "refs", octoprint_refs (prefix, file->name, TRUE));

  return object;
}

static JsonArray *octoprint_list (const char *prefix,
                                  SimPrinter *printer,
                                  const char *folder);

/* A folder with its children, and their size summed */
static JsonObject *
octoprint_folder_object (const char *prefix,
                         SimPrinter *printer,
                         const char *path)
{
  JsonObject *object = json_object_new ();
  JsonObject *prints = json_object_new ();
  JsonArray *children = octoprint_list (prefix, printer, path);
  gint64 size = 0;

  for (guint i = 0; i < json_array_get_length (children); i++)
    size += json_object_get_int_member (json_array_get_object_element (children, i), "size");

  json_object_set_string_member (object, "name", base_name (path));
  json_object_set_string_member (object, "display", base_name (path));
  json_object_set_string_member (object, "path", path);
  json_object_set_string_member (object, "type", "folder");
  json_object_set_array_member (object, "typePath", string_array ("folder", NULL));
  json_object_set_array_member (object, "children", children);
  json_object_set_int_member (object, "size", size);
  json_object_set_string_member (object, "origin", "local");
  json_object_set_int_member (prints, "success", 0);
  json_object_set_int_member (prints, "failure", 0);
  json_object_set_object_member (object, "prints", prints);
  json_object_set_object_member (object, "refs", octoprint_refs (prefix, path, FALSE));

  return object;
}

/* The entries right under @folder ("" for the top), machine code only */
static JsonArray *
octoprint_list (const char *prefix,
                SimPrinter *printer,
                const char *folder)
{
  JsonArray *array = json_array_new ();
  g_autoptr(GPtrArray) sorted = sorted_files (printer, compare_names);
  g_autoptr(GHashTable) folders = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gsize skip = *folder != '\0' ? strlen (folder) + 1 : 0;

  for (guint i = 0; i < sorted->len; i++)
    {
      SimFile *file = g_ptr_array_index (sorted, i);
      const char *rest;
      const char *slash;

      if (skip > 0 && !(g_str_has_prefix (file->name, folder) && file->name[skip - 1] == '/'))
        continue;
      rest = file->name + skip;
      slash = strchr (rest, '/');

      if (slash == NULL)
        {
          if (has_extension (rest, octoprint_extensions, G_N_ELEMENTS (octoprint_extensions)))
            json_array_add_object_element (array, octoprint_file_object (prefix, file));
        }
      else
        {
          g_autofree char *path = g_strndup (file->name, slash - file->name);

          if (!g_hash_table_contains (folders, path))
            {
              json_array_add_object_element (array, octoprint_folder_object (prefix, printer, path));
              g_hash_table_add (folders, g_steal_pointer (&path));
            }
        }
    }

  return array;
}

static void
octoprint_files (SimHttp           *self,
                 SimPrinter        *printer,
                 SoupServerMessage *msg,
                 const char        *location)
{
  g_autofree char *prefix = octoprint_prefix (self, printer, msg);
  g_autoptr(JsonObject) object = json_object_new ();
  gint64 used = 0;

  if (g_strcmp0 (location, "sdcard") == 0)
    {
      /* No SD card in these printers' slots */
      json_object_set_array_member (object, "files", json_array_new ());
      octoprint_json (msg, 200, object);
      return;
    }

  for (guint i = 0; i < printer->files->len; i++)
    used += g_bytes_get_size (((SimFile *)g_ptr_array_index (printer->files, i))->content);

  json_object_set_array_member (object, "files", octoprint_list (prefix, printer, ""));
  json_object_set_int_member (object, "free", OCTOPRINT_DISK_TOTAL - OCTOPRINT_DISK_USED - used);
  json_object_set_int_member (object, "total", OCTOPRINT_DISK_TOTAL);
  octoprint_json (msg, 200, object);
}

static gboolean
octoprint_has_folder (SimPrinter *printer,
                      const char *path)
{
  for (guint i = 0; i < printer->files->len; i++)
    {
      SimFile *file = g_ptr_array_index (printer->files, i);

      if (g_str_has_prefix (file->name, path) && file->name[strlen (path)] == '/')
        return TRUE;
    }

  return FALSE;
}

static void
octoprint_file_details (SimHttp           *self,
                        SimPrinter        *printer,
                        SoupServerMessage *msg,
                        const char        *path)
{
  g_autofree char *prefix = octoprint_prefix (self, printer, msg);
  SimFile *file = sim_printer_find_file (printer, path);
  g_autoptr(JsonObject) object = NULL;

  if (file != NULL && has_extension (path, octoprint_extensions, G_N_ELEMENTS (octoprint_extensions)))
    object = octoprint_file_object (prefix, file);
  else if (octoprint_has_folder (printer, path))
    object = octoprint_folder_object (prefix, printer, path);

  if (object == NULL)
    {
      octoprint_error (msg, 404, OCTOPRINT_NOT_FOUND);
      return;
    }

  octoprint_json (msg, 200, object);
}

/* pathvalidate.sanitize_filename(), then the leading "." stripped */
static char *
octoprint_sanitize_name (const char *name)
{
  GString *out = g_string_new (NULL);
  const char *p;

  for (p = name; *p != '\0'; p++)
    {
      if ((guchar)*p < 0x20 || strchr (":*?\"<>|", *p) != NULL)
        continue;
      g_string_append_c (out, *p);
    }

  while (out->str[0] == '.')
    g_string_erase (out, 0, 1);
  if (out->len == 0)
    {
      g_string_free (out, TRUE);
      return NULL;
    }

  return g_string_free (out, FALSE);
}

static void
octoprint_upload (SimHttp           *self,
                  SimPrinter        *printer,
                  SoupServerMessage *msg,
                  const char        *target)
{
  g_auto(Form) form = { 0 };
  g_autofree char *prefix = NULL;
  g_autofree char *folder = NULL;
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  g_autofree char *name_json = NULL;
  g_autofree char *path_json = NULL;
  g_autofree char *fields = NULL;
  g_autoptr(JsonObject) body = json_object_new ();
  JsonObject *files;
  JsonObject *local;
  JsonObject *refs;
  const char *slash;
  const char *field;
  gboolean want_select;
  gboolean want_print;
  gboolean to_select;
  gboolean to_print;
  SimFile *file;

  if (!parse_form (msg, &form) || !form.has_file)
    {
      octoprint_error (msg, 400, "No file to upload and no folder to create");
      return;
    }

  if (g_str_equal (target, "sdcard"))
    {
      octoprint_error (msg, 409, octoprint_is_ready (printer)
                                 ? "Can not upload to SD card, not yet initialized"
                                 : "Can not upload to SD card, printer is either not operational or already busy");
      return;
    }

  want_select = octoprint_true (g_hash_table_lookup (form.fields, "select"));
  want_print = octoprint_true (g_hash_table_lookup (form.fields, "print"));
  /* Not honoured, silently, when the printer cannot take a job now */
  to_select = want_select && octoprint_is_ready (printer);
  to_print = want_print && octoprint_is_ready (printer);

  /* fileManager.canonicalize(): the last element is the name */
  if (form.filename != NULL && g_utf8_validate (form.filename, -1, NULL))
    {
      slash = strrchr (form.filename, '/');
      folder = slash != NULL ? g_strndup (form.filename, slash - form.filename) : g_strdup ("");
      name = octoprint_sanitize_name (slash != NULL ? slash + 1 : form.filename);
    }
  if ((field = g_hash_table_lookup (form.fields, "path")) != NULL && *field != '\0')
    {
      g_free (folder);
      folder = g_strdup (field);
    }
  if ((field = g_hash_table_lookup (form.fields, "filename")) != NULL && *field != '\0')
    {
      g_free (name);
      name = octoprint_sanitize_name (field);
    }
  if (name == NULL || strchr (name, '/') != NULL || (path = normalize_path (folder, name)) == NULL)
    {
      octoprint_error (msg, 400, "Can not upload file, invalid file name");
      return;
    }

  if (is_printing_file (printer, path))
    {
      octoprint_error (msg, 409, "Trying to overwrite file that is currently being printed");
      return;
    }
  if (sim_printer_find_file (printer, path) != NULL && octoprint_true (g_hash_table_lookup (form.fields, "noOverwrite")))
    {
      octoprint_error (msg, 409, "File already exists and noOverwrite was set");
      return;
    }
  if (!has_extension (path, octoprint_extensions, G_N_ELEMENTS (octoprint_extensions)))
    {
      octoprint_error (msg, 415, "Could not upload file, invalid type");
      return;
    }

  /* FileAdded and UpdatedFiles come from the dialect */
  file = sim_printer_add_file (printer, path, form.file);
  if (to_select || to_print)
    {
      octoprint_select (printer, file);
      if (to_print)
        sim_printer_start_job (printer, path, NULL);
    }

  name_json = python_string_literal (name);
  path_json = python_string_literal (path);
  fields = g_strdup_printf ("\"name\": %s, \"path\": %s, \"target\": \"%s\", \"select\": %s, \"print\": %s, "
                            "\"effective_select\": %s, \"effective_print\": %s",
                            name_json, path_json, target,
                            want_select ? "true" : "false", want_print ? "true" : "false",
                            to_select ? "true" : "false", to_print ? "true" : "false");
  octoprint_publish_event (printer, "Upload", fields);

  prefix = octoprint_prefix (self, printer, msg);
  refs = octoprint_refs (prefix, path, TRUE);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Location",
                                json_object_get_string_member (refs, "resource"));

  local = json_object_new ();
  json_object_set_string_member (local, "name", name);
  json_object_set_string_member (local, "path", path);
  json_object_set_string_member (local, "origin", "local");
  json_object_set_object_member (local, "refs", refs);
  files = json_object_new ();
  json_object_set_object_member (files, "local", local);
  json_object_set_object_member (body, "files", files);
  json_object_set_boolean_member (body, "done", TRUE);
  json_object_set_boolean_member (body, "effectiveSelect", to_select);
  json_object_set_boolean_member (body, "effectivePrint", to_print);
  octoprint_json (msg, 201, body);
}

/* get_json_command_from_request(): the body, or %NULL with the error sent */
static JsonObject *
octoprint_command (SoupServerMessage  *msg,
                   const char * const *commands)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GBytes) body = request_body (msg);
  JsonObject *object;
  const char *command;

  if (!content_type_is (msg, "application/json"))
    {
      octoprint_error (msg, 415, "Did not attempt to load JSON data because the request Content-Type was not "
                                 "'application/json'.");
      return NULL;
    }

  if (!json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), g_bytes_get_size (body), NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      octoprint_error (msg, 400, OCTOPRINT_BAD_REQUEST);
      return NULL;
    }

  object = json_node_get_object (json_parser_get_root (parser));
  command = json_object_get_string_member_with_default (object, "command", NULL);
  if (command == NULL || !g_strv_contains (commands, command))
    {
      octoprint_error (msg, 400, "command is invalid");
      return NULL;
    }

  return json_object_ref (object);
}

static void
octoprint_file_command (SimPrinter        *printer,
                        SoupServerMessage *msg,
                        const char        *path,
                        gboolean           authorized)
{
  static const char * const commands[] = { "select", "unselect", "slice", "analyse", "copy", "move", NULL };
  g_autoptr(JsonObject) body = octoprint_command (msg, commands);
  const char *command;
  SimFile *file;

  if (body == NULL)
    return;

  command = json_object_get_string_member (body, "command");
  if ((g_str_equal (command, "copy") || g_str_equal (command, "move")) &&
      !json_object_has_member (body, "destination"))
    {
      octoprint_error (msg, 400, "Mandatory parameters missing");
      return;
    }

  if (!authorized)
    {
      octoprint_error (msg, 403, OCTOPRINT_FORBIDDEN);
      return;
    }

  if (!g_str_equal (command, "select"))
    {
      /* Not simulated: slicing, analysis, copies, moves */
      octoprint_error (msg, 400, "command is not supported by this simulator");
      return;
    }

  file = sim_printer_find_file (printer, path);
  if (file == NULL)
    {
      octoprint_error (msg, 404, OCTOPRINT_NOT_FOUND);
      return;
    }
  if (!has_extension (path, octoprint_extensions, G_N_ELEMENTS (octoprint_extensions)))
    {
      octoprint_error (msg, 415, "Cannot select file for printing, not a machinecode file");
      return;
    }
  if (!octoprint_is_ready (printer))
    {
      octoprint_error (msg, 409, "Printer is already printing, cannot select a new file");
      return;
    }

  octoprint_select (printer, file);
  if (octoprint_node_true (json_object_get_member (body, "print")))
    sim_printer_start_job (printer, path, NULL);

  octoprint_no_content (msg);
}

static void
octoprint_delete (SimPrinter        *printer,
                  SoupServerMessage *msg,
                  const char        *path)
{
  OctoState state = octoprint_state (printer);
  gboolean running = state.printing || state.paused;

  if (sim_printer_find_file (printer, path) != NULL)
    {
      if (running && g_strcmp0 (printer->job_file, path) == 0)
        {
          octoprint_error (msg, 409, "Trying to delete a file that is currently in use");
          return;
        }
      sim_printer_delete_file (printer, path, NULL);
    }
  else if (octoprint_has_folder (printer, path))
    {
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *inside = g_strconcat (path, "/", NULL);

      if (running && g_str_has_prefix (printer->job_file, inside))
        {
          octoprint_error (msg, 409, "Trying to delete a folder that contains a file that is currently in use");
          return;
        }
      for (guint i = 0; i < printer->files->len; i++)
        {
          SimFile *file = g_ptr_array_index (printer->files, i);

          if (g_str_has_prefix (file->name, inside))
            g_ptr_array_add (names, g_strdup (file->name));
        }
      for (guint i = 0; i < names->len; i++)
        sim_printer_delete_file (printer, g_ptr_array_index (names, i), NULL);
    }
  else
    {
      octoprint_error (msg, 404, OCTOPRINT_NOT_FOUND);
      return;
    }

  /* A deleted job file is unselected */
  if (!running && g_strcmp0 (printer->job_file, path) == 0)
    g_clear_pointer (&printer->job_file, g_free);

  octoprint_no_content (msg);
}

static void
octoprint_job (SimPrinter        *printer,
               SoupServerMessage *msg)
{
  OctoState state = octoprint_state (printer);
  SimFile *file = printer->job_file != NULL ? sim_printer_find_file (printer, printer->job_file) : NULL;
  g_autoptr(JsonObject) object = json_object_new ();
  JsonObject *job = json_object_new ();
  JsonObject *file_object = json_object_new ();
  JsonObject *progress = json_object_new ();
  gboolean running = state.printing || state.paused;

  if (printer->job_file != NULL)
    {
      json_object_set_string_member (file_object, "name", base_name (printer->job_file));
      json_object_set_string_member (file_object, "path", printer->job_file);
      json_object_set_string_member (file_object, "display", base_name (printer->job_file));
      json_object_set_string_member (file_object, "origin", "local");
      if (file != NULL)
        {
          json_object_set_int_member (file_object, "size", (gint64)g_bytes_get_size (file->content));
          json_object_set_int_member (file_object, "date", file->modified);
        }
      else
        {
          json_object_set_null_member (file_object, "size");
          json_object_set_null_member (file_object, "date");
        }
      json_object_set_string_member (job, "user", OCTOPRINT_USER);
    }
  else
    {
      static const char * const keys[] = { "name", "path", "display", "origin", "size", "date" };

      for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
        json_object_set_null_member (file_object, keys[i]);
      json_object_set_null_member (job, "user");
    }
  json_object_set_object_member (job, "file", file_object);
  json_object_set_null_member (job, "estimatedPrintTime");
  json_object_set_null_member (job, "averagePrintTime");
  json_object_set_null_member (job, "lastPrintTime");
  json_object_set_null_member (job, "filament");

  if (running)
    {
      double fraction = sim_printer_get_progress (printer);
      gint64 size = file != NULL ? (gint64)g_bytes_get_size (file->content) : 0;

      json_object_set_double_member (progress, "completion", fraction * 100);
      json_object_set_int_member (progress, "filepos", (gint64)(fraction * size));
      json_object_set_int_member (progress, "printTime", (gint64)printer->total_elapsed);
      if (fraction > 0)
        {
          json_object_set_int_member (progress, "printTimeLeft", sim_printer_get_remaining (printer));
          json_object_set_string_member (progress, "printTimeLeftOrigin", "linear");
        }
      else
        {
          json_object_set_null_member (progress, "printTimeLeft");
          json_object_set_null_member (progress, "printTimeLeftOrigin");
        }
    }
  else if (printer->state == SIM_STATE_FINISHED && file != NULL)
    {
      /* PrintDone sets the integer 100 */
      json_object_set_int_member (progress, "completion", 100);
      json_object_set_int_member (progress, "filepos", (gint64)g_bytes_get_size (file->content));
      json_object_set_int_member (progress, "printTime", (gint64)printer->total_elapsed);
      json_object_set_int_member (progress, "printTimeLeft", 0);
      json_object_set_null_member (progress, "printTimeLeftOrigin");
    }
  else
    {
      static const char * const keys[] = { "completion", "filepos", "printTime", "printTimeLeft", "printTimeLeftOrigin" };

      for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
        json_object_set_null_member (progress, keys[i]);
    }

  json_object_set_object_member (object, "job", job);
  json_object_set_object_member (object, "progress", progress);
  json_object_set_string_member (object, "state", state.text);
  if (*state.error_text != '\0')
    json_object_set_string_member (object, "error", state.error_text);

  octoprint_json (msg, 200, object);
}

static void
octoprint_job_command (SimPrinter        *printer,
                       SoupServerMessage *msg,
                       gboolean           authorized)
{
  static const char * const commands[] = { "start", "restart", "pause", "cancel", NULL };
  OctoState state = octoprint_state (printer);
  g_autoptr(JsonObject) body = NULL;
  gboolean active = state.printing || state.paused;
  const char *command;

  /* The order is controlJob()'s: operational, then the command, then permission */
  if (!state.operational)
    {
      octoprint_error (msg, 409, "Printer is not operational");
      return;
    }

  if ((body = octoprint_command (msg, commands)) == NULL)
    return;

  if (!authorized)
    {
      octoprint_error (msg, 403, OCTOPRINT_FORBIDDEN);
      return;
    }

  command = json_object_get_string_member (body, "command");
  if (g_str_equal (command, "start"))
    {
      if (active)
        {
          octoprint_error (msg, 409, "Printer already has an active print job, did you mean 'restart'?");
          return;
        }
      if (printer->job_file != NULL)
        sim_printer_start_job (printer, printer->job_file, NULL);
    }
  else if (g_str_equal (command, "restart"))
    {
      g_autofree char *job_file = g_strdup (printer->job_file);

      if (!state.paused)
        {
          octoprint_error (msg, 409, "Printer does not have an active print job or is not paused");
          return;
        }
      /* From the top of the file: the farm knows no rewind, so end and begin */
      sim_printer_cancel (printer, NULL);
      sim_printer_start_job (printer, job_file, NULL);
    }
  else if (g_str_equal (command, "pause"))
    {
      const char *action = json_object_get_string_member_with_default (body, "action", "toggle");

      if (!active)
        {
          octoprint_error (msg, 409, "Printer is neither printing nor paused, 'pause' command cannot be performed");
          return;
        }
      if (g_str_equal (action, "toggle"))
        {
          if (state.paused)
            sim_printer_resume (printer, NULL);
          else
            sim_printer_pause (printer, NULL);
        }
      else if (g_str_equal (action, "pause"))
        sim_printer_pause (printer, NULL);
      else if (g_str_equal (action, "resume"))
        sim_printer_resume (printer, NULL);
      else
        {
          octoprint_error (msg, 400, "Unknown action");
          return;
        }
    }
  else
    {
      if (!active)
        {
          octoprint_error (msg, 409, "Printer is neither printing nor paused, 'cancel' command cannot be performed");
          return;
        }
      sim_printer_cancel (printer, NULL);
    }

  octoprint_no_content (msg);
}

static JsonObject *
octoprint_temperature (double actual,
                       double target)
{
  JsonObject *object = json_object_new ();

  /* What Marlin reports: two decimals */
  json_object_set_double_member (object, "actual", round (actual * 100) / 100);
  json_object_set_double_member (object, "target", target);
  json_object_set_int_member (object, "offset", 0);

  return object;
}

static void
octoprint_printer (SimPrinter        *printer,
                   SoupServerMessage *msg,
                   GHashTable        *query)
{
  OctoState state = octoprint_state (printer);
  g_autoptr(JsonObject) object = json_object_new ();
  const char *exclude = query != NULL ? g_hash_table_lookup (query, "exclude") : NULL;
  g_auto(GStrv) excludes = g_strsplit (exclude != NULL ? exclude : "", ",", -1);
  gboolean with_temperature = TRUE;
  gboolean with_sd = TRUE;
  gboolean with_state = TRUE;

  if (!state.operational)
    {
      octoprint_error (msg, 409, "Printer is not operational");
      return;
    }

  for (guint i = 0; excludes[i] != NULL; i++)
    {
      const char *word = g_strstrip (excludes[i]);

      with_temperature &= !g_str_equal (word, "temperature");
      with_sd &= !g_str_equal (word, "sd");
      with_state &= !g_str_equal (word, "state");
    }

  if (with_temperature)
    {
      JsonObject *temperature = json_object_new ();

      json_object_set_object_member (temperature, "tool0", octoprint_temperature (printer->hotend, printer->hotend_target));
      json_object_set_object_member (temperature, "bed", octoprint_temperature (printer->bed, printer->bed_target));
      json_object_set_object_member (object, "temperature", temperature);
    }

  if (with_sd)
    {
      JsonObject *sd = json_object_new ();

      json_object_set_boolean_member (sd, "ready", FALSE);
      json_object_set_object_member (object, "sd", sd);
    }

  if (with_state)
    {
      JsonObject *state_object = json_object_new ();
      JsonObject *flags = json_object_new ();

      json_object_set_boolean_member (flags, "operational", state.operational);
      json_object_set_boolean_member (flags, "printing", state.printing);
      json_object_set_boolean_member (flags, "cancelling", FALSE);
      json_object_set_boolean_member (flags, "pausing", FALSE);
      json_object_set_boolean_member (flags, "resuming", FALSE);
      json_object_set_boolean_member (flags, "finishing", FALSE);
      json_object_set_boolean_member (flags, "closedOrError", state.closed_or_error);
      json_object_set_boolean_member (flags, "error", state.error);
      json_object_set_boolean_member (flags, "paused", state.paused);
      json_object_set_boolean_member (flags, "ready", octoprint_is_ready (printer));
      json_object_set_boolean_member (flags, "sdReady", FALSE);
      json_object_set_string_member (state_object, "text", state.text);
      json_object_set_object_member (state_object, "flags", flags);
      json_object_set_string_member (state_object, "error", state.error_text);
      json_object_set_object_member (object, "state", state_object);
    }

  octoprint_json (msg, 200, object);
}

static void
octoprint_version (SoupServerMessage *msg)
{
  g_autoptr(JsonObject) object = json_object_new ();

  json_object_set_string_member (object, "server", OCTOPRINT_VERSION);
  json_object_set_string_member (object, "api", "0.1");
  json_object_set_string_member (object, "text", "OctoPrint " OCTOPRINT_VERSION);
  octoprint_json (msg, 200, object);
}

/* get_api_key(): the apikey argument, then X-Api-Key, then a bearer token */
static const char *
octoprint_api_key (SoupServerMessage *msg,
                   GHashTable        *query)
{
  const char *key = query != NULL ? g_hash_table_lookup (query, "apikey") : NULL;
  const char *authorization;

  if (key != NULL)
    return key;

  if ((key = request_header (msg, "X-Api-Key")) != NULL)
    return key;

  authorization = request_header (msg, "Authorization");
  if (authorization != NULL && g_str_has_prefix (authorization, "Bearer "))
    return authorization + strlen ("Bearer ");

  return NULL;
}

static void
octoprint_request (SimHttp           *self,
                   SimPrinter        *printer,
                   SoupServerMessage *msg,
                   const char        *endpoint,
                   GHashTable        *query)
{
  const char *method = soup_server_message_get_method (msg);
  gboolean is_get = g_str_equal (method, "GET") || g_str_equal (method, "HEAD");
  gboolean is_post = g_str_equal (method, "POST");
  gboolean is_delete = g_str_equal (method, "DELETE");
  const char *key;
  gboolean authorized;
  const char *location = NULL;
  const char *path = NULL;

  /* OctoPrint's download route (octoprint/server/__init__.py, the
   * "downloads/files/local" LargeResponseHandler): the API key or a
   * session may read; the file comes as an attachment. */
  if (g_str_has_prefix (endpoint, "/downloads/files/local/") && is_get)
    {
      const char *name = endpoint + strlen ("/downloads/files/local/");
      SimFile *file = sim_printer_find_file (printer, name);

      key = octoprint_api_key (msg, query);
      if (key == NULL || !g_str_equal (key, printer->api_key))
        {
          octoprint_error (msg, 403, "Forbidden");
          return;
        }
      if (file == NULL)
        {
          respond (msg, 404, NULL, "text/html; charset=utf-8",
                   g_strdup ("<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
                             "<p>" OCTOPRINT_NOT_FOUND "</p>\n"));
          return;
        }
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Content-Disposition", "attachment");
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_COPY,
                                        g_bytes_get_data (file->content, NULL), g_bytes_get_size (file->content));
      return;
    }

  if (!g_str_has_prefix (endpoint, "/api/"))
    {
      /* Werkzeug's own page: OctoPrint's UI is not simulated */
      respond (msg, 404, NULL, "text/html; charset=utf-8",
               g_strdup ("<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
                         "<p>" OCTOPRINT_NOT_FOUND "</p>\n"));
      return;
    }

  /* Routing comes first: an unknown path or method is 404 or 405 whatever the key. */
  if (g_str_equal (endpoint, "/api/printer/command"))
    {
      if (!is_post)
        {
          octoprint_not_allowed (msg, "OPTIONS, POST");
          return;
        }
    }
  else if (g_str_equal (endpoint, "/api/version") || g_str_equal (endpoint, "/api/printer"))
    {
      if (!is_get)
        {
          octoprint_not_allowed (msg, "HEAD, OPTIONS, GET");
          return;
        }
    }
  else if (g_str_equal (endpoint, "/api/job"))
    {
      if (!is_get && !is_post)
        {
          octoprint_not_allowed (msg, "HEAD, OPTIONS, GET, POST");
          return;
        }
    }
  else if (g_str_equal (endpoint, "/api/files"))
    {
      if (!is_get)
        {
          octoprint_not_allowed (msg, "HEAD, OPTIONS, GET");
          return;
        }
    }
  else if (g_str_has_prefix (endpoint, "/api/files/"))
    {
      const char *rest = endpoint + strlen ("/api/files/");
      const char *slash = strchr (rest, '/');
      g_autofree char *target = slash != NULL ? g_strndup (rest, slash - rest) : g_strdup (rest);

      location = g_str_equal (target, "local") ? "local" : g_str_equal (target, "sdcard") ? "sdcard" : NULL;
      path = slash != NULL && slash[1] != '\0' ? slash + 1 : NULL;
      if (location == NULL)
        {
          octoprint_error (msg, 404, OCTOPRINT_NOT_FOUND);
          return;
        }
      if (path == NULL && !is_get && !is_post)
        {
          octoprint_not_allowed (msg, "HEAD, OPTIONS, GET, POST");
          return;
        }
      if (path != NULL && !is_get && !is_post && !is_delete)
        {
          octoprint_not_allowed (msg, "HEAD, DELETE, OPTIONS, GET, POST");
          return;
        }
    }
  else
    {
      octoprint_error (msg, 404, OCTOPRINT_NOT_FOUND);
      return;
    }

  /* loginFromApiKeyRequestHandler(): a wrong key is refused outright; no
   * key makes the request anonymous, and guests may do nothing. */
  key = octoprint_api_key (msg, query);
  if (key != NULL && *key != '\0' && !g_str_equal (key, printer->api_key))
    {
      octoprint_error (msg, 403, "Invalid API key");
      return;
    }
  authorized = key != NULL && *key != '\0';

  if (g_str_equal (endpoint, "/api/job") && is_post)
    {
      octoprint_job_command (printer, msg, authorized);
      return;
    }
  /* printer.py's printerCommand(): "command" or "commands", 204 */
  if (g_str_equal (endpoint, "/api/printer/command"))
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      SoupMessageBody *request = soup_server_message_get_request_body (msg);
      JsonObject *body;
      JsonNode *commands;

      if (!authorized)
        {
          octoprint_error (msg, 403, OCTOPRINT_FORBIDDEN);
          return;
        }
      if (request->length == 0 ||
          !json_parser_load_from_data (parser, request->data, (gssize)request->length, NULL) ||
          !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        {
          octoprint_error (msg, 400, OCTOPRINT_BAD_REQUEST);
          return;
        }
      body = json_node_get_object (json_parser_get_root (parser));
      commands = json_object_get_member (body, "commands");
      if (commands != NULL && JSON_NODE_HOLDS_ARRAY (commands))
        for (guint i = 0; i < json_array_get_length (json_node_get_array (commands)); i++)
          {
            JsonNode *line = json_array_get_element (json_node_get_array (commands), i);

            if (JSON_NODE_HOLDS_VALUE (line) && json_node_get_value_type (line) == G_TYPE_STRING)
              sim_printer_run_gcode (printer, json_node_get_string (line));
          }
      else if (json_object_has_member (body, "command"))
        sim_printer_run_gcode (printer, json_object_get_string_member_with_default (body, "command", ""));
      else
        {
          octoprint_error (msg, 400, "Either 'command' or 'commands' is required");
          return;
        }
      octoprint_no_content (msg);
      return;
    }
  if (path != NULL && is_post)
    {
      octoprint_file_command (printer, msg, path, authorized);
      return;
    }

  if (!authorized)
    {
      octoprint_error (msg, 403, OCTOPRINT_FORBIDDEN);
      return;
    }

  if (g_str_equal (endpoint, "/api/version"))
    octoprint_version (msg);
  else if (g_str_equal (endpoint, "/api/printer"))
    octoprint_printer (printer, msg, query);
  else if (g_str_equal (endpoint, "/api/job"))
    octoprint_job (printer, msg);
  else if (g_str_equal (endpoint, "/api/files"))
    octoprint_files (self, printer, msg, NULL);
  else if (path == NULL && is_get)
    octoprint_files (self, printer, msg, location);
  else if (path == NULL)
    octoprint_upload (self, printer, msg, location);
  else if (g_str_equal (location, "sdcard"))
    octoprint_error (msg, 404, OCTOPRINT_NOT_FOUND);
  else if (is_get)
    octoprint_file_details (self, printer, msg, path);
  else
    octoprint_delete (printer, msg, path);
}

/* The server */

static void
request_cb (SoupServer        *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  SimHttp *self = user_data;
  const char *id = path + 1;
  const char *slash = strchr (id, '/');
  g_autofree char *printer_id = slash != NULL ? g_strndup (id, slash - id) : g_strdup (id);
  const char *endpoint = slash != NULL ? slash : "/";
  SimPrinter *printer = sim_farm_find_printer (self->farm, printer_id);

  if (printer == NULL || (printer->dialect != SIM_DIALECT_MOONRAKER && printer->dialect != SIM_DIALECT_OCTOPRINT))
    {
      respond (msg, 404, NULL, "text/plain", g_strdup ("Not Found\n"));
      return;
    }

  if (printer->dialect == SIM_DIALECT_MOONRAKER)
    {
      /* Its host is down: nothing listens behind the prefix. */
      if (printer->state == SIM_STATE_OFFLINE)
        respond (msg, 503, NULL, "text/plain", g_strdup ("Service Unavailable\n"));
      else
        moonraker_request (self, printer, msg, endpoint, query);
    }
  else
    octoprint_request (self, printer, msg, endpoint, query);
}

/**
 * sim_http_new:
 * @port: the loopback port, or 0 for any free one
 *
 * Starts serving every Moonraker and OctoPrint printer of @farm, and takes
 * over the farm's notify function for the WebSocket clients.
 *
 * Returns: (transfer full): the server, or %NULL with @error set
 */
SimHttp *
sim_http_new (SimFarm   *farm,
              guint16    port,
              GError   **error)
{
  g_autoptr(SimHttp) self = g_new0 (SimHttp, 1);
  GSList *uris;

  self->farm = farm;
  self->sockets = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)g_ptr_array_unref);
  self->next_connection_id = G_GUINT64_CONSTANT (140230731841632);
  self->server = soup_server_new (NULL, NULL);

  soup_server_add_handler (self->server, NULL, request_cb, self, NULL);
  soup_server_add_websocket_handler (self->server, NULL, NULL, NULL, websocket_cb, self, NULL);

  if (!soup_server_listen_local (self->server, port, SOUP_SERVER_LISTEN_IPV4_ONLY, error))
    return NULL;

  uris = soup_server_get_uris (self->server);
  if (uris == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "The HTTP server listens nowhere");
      return NULL;
    }
  self->base = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);

  sim_farm_set_notify_func (farm, notify_cb, self);
  self->check_id = g_timeout_add (WEBSOCKET_CHECK_MS, check_sockets_cb, self);

  return g_steal_pointer (&self);
}

/**
 * sim_http_get_base:
 *
 * Returns: where the server listens, "http://127.0.0.1:PORT"; a printer is
 *   under "<base>/<printer id>"
 */
const char *
sim_http_get_base (SimHttp *self)
{
  return self->base;
}

void
sim_http_free (SimHttp *self)
{
  if (self == NULL)
    return;

  if (self->base != NULL)
    sim_farm_set_notify_func (self->farm, NULL, NULL);
  g_clear_handle_id (&self->check_id, g_source_remove);
  if (self->server != NULL)
    soup_server_disconnect (self->server);
  g_clear_pointer (&self->sockets, g_hash_table_unref);
  g_clear_object (&self->server);
  g_free (self->base);
  g_free (self);
}
