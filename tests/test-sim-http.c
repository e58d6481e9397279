/* test-sim-http.c: the simulator's Moonraker and OctoPrint HTTP APIs
 *
 * A farm in this process on a real mosquitto (the fixture), its SimHttp on
 * a loopback port, and a real libsoup client: uploads, listings, deletes,
 * jobs and the Moonraker WebSocket, checked against what the real programs
 * answer (shared/reference/moonraker.md, octoprint.md), and the MQTT events
 * OctoPrint publishes for what a REST call did.
 *
 * Everything runs in this thread's main context; each wait iterates it,
 * bounded by time and by count.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "drover-test-broker.h"
#include "sim-farm.h"
#include "sim-http.h"
#include "sim-mqtt.h"

#define WAIT_US         (10 * G_USEC_PER_SEC)
#define WAIT_ITERATIONS 100000

typedef struct
{
  char *topic;
  char *payload;
} Message;

typedef struct
{
  DroverTestBroker *broker;
  SimFarm          *farm;
  SimHttp          *http;
  SoupSession      *session;
  SimMqtt          *listener;
  GPtrArray        *messages;         /* Message, what the listener heard */
  SimPrinter       *moonraker;
  SimPrinter       *moonraker_spare;  /* the one that goes offline */
  SimPrinter       *octoprint;
  SimPrinter       *octoprint_spare;
  SimPrinter       *native;
} Fixture;

static Fixture fixture;

/* Waiting */

typedef gboolean (*Predicate) (gpointer data);

static gboolean
wake_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static gboolean
iterate_until (Predicate predicate,
               gpointer  data)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_US;
  guint wake = g_timeout_add (20, wake_cb, NULL);
  guint n = 0;

  while (!predicate (data) && g_get_monotonic_time () < deadline && n++ < WAIT_ITERATIONS)
    g_main_context_iteration (NULL, TRUE);

  g_source_remove (wake);
  return predicate (data);
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *)data;
}

/* HTTP */

typedef struct
{
  GBytes   *body;
  GError   *error;
  gboolean  done;
} Exchange;

static void
sent_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  Exchange *exchange = data;

  exchange->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &exchange->error);
  exchange->done = TRUE;
}

/* Sends @msg and returns its body as a string */
static char *
send (SoupMessage *msg)
{
  Exchange exchange = { 0 };
  char *text;

  soup_session_send_and_read_async (fixture.session, msg, G_PRIORITY_DEFAULT, NULL, sent_cb, &exchange);
  g_assert_true (iterate_until (flag_set, &exchange.done));
  g_assert_no_error (exchange.error);

  /* An empty body may have no data at all */
  text = g_bytes_get_size (exchange.body) > 0
         ? g_strndup (g_bytes_get_data (exchange.body, NULL), g_bytes_get_size (exchange.body))
         : g_strdup ("");
  g_bytes_unref (exchange.body);
  return text;
}

static SoupMessage *
message_new (const char *method,
             SimPrinter *printer,
             const char *path,
             const char *api_key)
{
  g_autofree char *uri = g_strconcat (sim_http_get_base (fixture.http), "/", printer->id, path, NULL);
  SoupMessage *msg = soup_message_new (method, uri);

  g_assert_nonnull (msg);
  if (api_key != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "X-Api-Key", api_key);

  return msg;
}

/* @fields: name, value pairs, then %NULL */
static SoupMessage *
upload_new (SimPrinter *printer,
            const char *path,
            const char *filename,
            const char *content,
            ...)
{
  g_autoptr(SoupMultipart) multipart = soup_multipart_new (SOUP_FORM_MIME_TYPE_MULTIPART);
  g_autoptr(GBytes) bytes = g_bytes_new (content, strlen (content));
  g_autofree char *uri = g_strconcat (sim_http_get_base (fixture.http), "/", printer->id, path, NULL);
  SoupMessage *msg;
  va_list args;

  if (filename != NULL)
    soup_multipart_append_form_file (multipart, "file", filename, "application/octet-stream", bytes);
  else
    {
      /* A file part with no filename at all */
      g_autoptr(SoupMessageHeaders) headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_MULTIPART);

      soup_message_headers_replace (headers, "Content-Disposition", "form-data; name=\"file\"");
      soup_multipart_append_part (multipart, headers, bytes);
    }

  va_start (args, content);
  for (const char *name = va_arg (args, const char *); name != NULL; name = va_arg (args, const char *))
    soup_multipart_append_form_string (multipart, name, va_arg (args, const char *));
  va_end (args);

  msg = soup_message_new_from_multipart (uri, multipart);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "X-Api-Key", printer->api_key);

  return msg;
}

static SoupMessage *
json_message_new (const char *method,
                  SimPrinter *printer,
                  const char *path,
                  const char *json)
{
  SoupMessage *msg = message_new (method, printer, path, printer->api_key);
  g_autoptr(GBytes) body = g_bytes_new (json, strlen (json));

  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  return msg;
}

static JsonNode *
parse (const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

static const char *
response_header (SoupMessage *msg,
                 const char  *name)
{
  return soup_message_headers_get_one (soup_message_get_response_headers (msg), name);
}

/* Moonraker's error body: {"error":{"code","message","traceback"}} */
static void
assert_moonraker_error (const char *body,
                        guint       code,
                        const char *message,
                        const char *in_traceback)
{
  g_autoptr(JsonNode) node = parse (body);
  JsonObject *error = json_object_get_object_member (json_node_get_object (node), "error");

  g_assert_nonnull (error);
  g_assert_cmpint (json_object_get_int_member (error, "code"), ==, code);
  g_assert_cmpstr (json_object_get_string_member (error, "message"), ==, message);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (error, "traceback"), "Traceback (most recent call last):\n"));
  if (in_traceback != NULL)
    g_assert_nonnull (strstr (json_object_get_string_member (error, "traceback"), in_traceback));
}

/* Whether Moonraker's list holds @name, and that it is sorted as Python's key=str.lower sorts */
static gboolean
moonraker_list_has (SimPrinter *printer,
                    const char *name)
{
  g_autoptr(SoupMessage) msg = message_new ("GET", printer, "/server/files/list?root=gcodes", printer->api_key);
  g_autofree char *body = send (msg);
  g_autoptr(JsonNode) node = NULL;
  JsonArray *list;
  gboolean found = FALSE;

  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  node = parse (body);
  list = json_object_get_array_member (json_node_get_object (node), "result");
  g_assert_nonnull (list);

  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *item = json_array_get_object_element (list, i);
      const char *path = json_object_get_string_member (item, "path");

      g_assert_true (json_object_has_member (item, "modified"));
      g_assert_true (json_object_has_member (item, "size"));
      g_assert_cmpstr (json_object_get_string_member (item, "permissions"), ==, "rw");
      if (i > 0)
        {
          g_autofree char *before = g_utf8_strdown (json_object_get_string_member (json_array_get_object_element (list, i - 1), "path"), -1);
          g_autofree char *here = g_utf8_strdown (path, -1);

          g_assert_cmpint (strcmp (before, here), <=, 0);
        }
      found |= g_str_equal (path, name);
    }

  return found;
}

/* WebSocket */

typedef struct
{
  SoupWebsocketConnection *connection;
  GPtrArray               *messages;   /* char* */
  GError                  *error;
  gboolean                 done;
} Socket;

static void
socket_message_cb (SoupWebsocketConnection *connection,
                   gint                     type,
                   GBytes                  *message,
                   gpointer                 data)
{
  Socket *socket = data;

  g_ptr_array_add (socket->messages, g_strndup (g_bytes_get_data (message, NULL), g_bytes_get_size (message)));
}

static void
socket_connected_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      data)
{
  Socket *socket = data;

  socket->connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &socket->error);
  if (socket->connection != NULL)
    g_signal_connect (socket->connection, "message", G_CALLBACK (socket_message_cb), socket);
  socket->done = TRUE;
}

static Socket *
socket_open (SimPrinter *printer,
             const char *api_key)
{
  g_autoptr(SoupMessage) msg = message_new ("GET", printer, "/websocket", api_key);
  Socket *socket = g_new0 (Socket, 1);

  socket->messages = g_ptr_array_new_with_free_func (g_free);
  soup_session_websocket_connect_async (fixture.session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        socket_connected_cb, socket);
  g_assert_true (iterate_until (flag_set, &socket->done));

  return socket;
}

static gboolean
socket_is_closed (gpointer data)
{
  Socket *socket = data;

  return soup_websocket_connection_get_state (socket->connection) == SOUP_WEBSOCKET_STATE_CLOSED;
}

static void
socket_free (Socket *socket)
{
  if (socket->connection != NULL)
    {
      g_signal_handlers_disconnect_by_data (socket->connection, socket);
      if (soup_websocket_connection_get_state (socket->connection) == SOUP_WEBSOCKET_STATE_OPEN)
        {
          soup_websocket_connection_close (socket->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
          iterate_until (socket_is_closed, socket);
        }
      g_object_unref (socket->connection);
    }
  g_clear_error (&socket->error);
  g_ptr_array_unref (socket->messages);
  g_free (socket);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Socket, socket_free)

typedef struct
{
  Socket     *socket;
  const char *needles[3];
  guint       from;
  int         found;
} SocketSearch;

static gboolean
socket_has (gpointer data)
{
  SocketSearch *search = data;

  for (guint i = search->from; i < search->socket->messages->len; i++)
    {
      const char *message = g_ptr_array_index (search->socket->messages, i);
      gboolean all = TRUE;

      for (guint n = 0; n < G_N_ELEMENTS (search->needles) && search->needles[n] != NULL; n++)
        all &= strstr (message, search->needles[n]) != NULL;
      if (all)
        {
          search->found = (int)i;
          return TRUE;
        }
    }

  return FALSE;
}

/* The first message from @from on holding every needle, parsed; %NULL after the wait */
static JsonNode *
socket_wait (Socket     *socket,
             guint       from,
             const char *needle,
             const char *second)
{
  SocketSearch search = { socket, { needle, second, NULL }, from, -1 };

  if (!iterate_until (socket_has, &search))
    return NULL;

  return parse (g_ptr_array_index (socket->messages, search.found));
}

/* Sends one JSON-RPC request and returns its response */
static JsonNode *
socket_call (Socket     *socket,
             const char *method,
             const char *params,
             guint       id)
{
  g_autofree char *request = NULL;
  g_autofree char *id_needle = g_strdup_printf ("\"id\":%u}", id);
  guint from = socket->messages->len;
  JsonNode *response;

  if (params != NULL)
    request = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"params\":%s,\"id\":%u}", method, params, id);
  else
    request = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"id\":%u}", method, id);
  soup_websocket_connection_send_text (socket->connection, request);

  response = socket_wait (socket, from, id_needle, "\"jsonrpc\":\"2.0\"");
  g_assert_nonnull (response);
  return response;
}

/* MQTT */

static void
message_free (Message *message)
{
  g_free (message->topic);
  g_free (message->payload);
  g_free (message);
}

static void
listener_message_cb (const char *topic,
                     GBytes     *payload,
                     gboolean    retained,
                     gpointer    user_data)
{
  Message *message = g_new0 (Message, 1);

  message->topic = g_strdup (topic);
  message->payload = g_strndup (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
  g_ptr_array_add (fixture.messages, message);
}

typedef struct
{
  const char *topic;
  const char *needle;
  guint       from;
  int         found;
} MessageSearch;

static gboolean
heard (gpointer data)
{
  MessageSearch *search = data;

  for (guint i = search->from; i < fixture.messages->len; i++)
    {
      Message *message = g_ptr_array_index (fixture.messages, i);

      if (g_str_equal (message->topic, search->topic) &&
          (search->needle == NULL || strstr (message->payload, search->needle) != NULL))
        {
          search->found = (int)i;
          return TRUE;
        }
    }

  return FALSE;
}

/* The first message on @topic (containing @needle) heard from @from on */
static const char *
wait_for_event (SimPrinter *printer,
                const char *event,
                const char *needle,
                guint       from)
{
  g_autofree char *topic = g_strconcat ("octoPrint/", printer->id, "/event/", event, NULL);
  MessageSearch search = { topic, needle, from, -1 };

  if (!iterate_until (heard, &search))
    return NULL;

  return ((Message *)g_ptr_array_index (fixture.messages, search.found))->payload;
}

/* Moonraker */

static const char part[] = "; generated by the Drover tests\nM104 S215\nM140 S60\nG28\nG1 X10 Y10 Z0.2 F3000\n";

static void
test_moonraker_auth (void)
{
  SimPrinter *printer = fixture.moonraker;
  g_autoptr(SoupMessage) none = message_new ("GET", printer, "/server/files/list", NULL);
  g_autoptr(SoupMessage) wrong = message_new ("GET", printer, "/server/files/list", "0123456789abcdef0123456789abcdef");
  g_autoptr(SoupMessage) right = message_new ("GET", printer, "/server/files/list", printer->api_key);
  g_autoptr(SoupMessage) nowhere = message_new ("GET", printer, "/server/no/such/thing", printer->api_key);
  g_autoptr(SoupMessage) nowhere_anonymous = message_new ("GET", printer, "/server/no/such/thing", NULL);
  g_autoptr(SoupMessage) get_start = message_new ("GET", printer, "/printer/print/start", printer->api_key);
  g_autoptr(SoupMessage) plain_socket = message_new ("GET", printer, "/websocket", printer->api_key);
  g_autofree char *none_body = send (none);
  g_autofree char *wrong_body = send (wrong);
  g_autofree char *right_body = send (right);
  g_autofree char *nowhere_body = send (nowhere);
  g_autofree char *nowhere_anonymous_body = send (nowhere_anonymous);
  g_autofree char *get_start_body = send (get_start);
  g_autofree char *plain_socket_body = send (plain_socket);

  /* Moonraker's API key goes in X-Api-Key; anything else is 401, as Tornado writes it */
  g_assert_cmpuint (soup_message_get_status (none), ==, 401);
  g_assert_cmpstr (soup_message_get_reason_phrase (none), ==, "Unauthorized");
  g_assert_cmpstr (response_header (none, "Content-Type"), ==, "application/json; charset=UTF-8");
  g_assert_true (g_str_has_prefix (none_body, "{\"error\":{\"code\":401,\"message\":\"Unauthorized\",\"traceback\":"));
  assert_moonraker_error (none_body, 401, "Unauthorized", "tornado.web.HTTPError: HTTP 401: Unauthorized (Unauthorized)\n");
  g_assert_cmpuint (soup_message_get_status (wrong), ==, 401);
  assert_moonraker_error (wrong_body, 401, "Unauthorized", NULL);

  g_assert_cmpuint (soup_message_get_status (right), ==, 200);
  g_assert_true (g_str_has_prefix (right_body, "{\"result\":[{\"path\":"));

  /* An unknown endpoint is 404, after the key was checked */
  g_assert_cmpuint (soup_message_get_status (nowhere), ==, 404);
  assert_moonraker_error (nowhere_body, 404, "Not Found", NULL);
  g_assert_cmpuint (soup_message_get_status (nowhere_anonymous), ==, 401);
  g_assert_cmpuint (soup_message_get_status (get_start), ==, 405);
  assert_moonraker_error (get_start_body, 405, "Method Not Allowed", NULL);
  g_assert_cmpuint (soup_message_get_status (plain_socket), ==, 400);
  g_assert_cmpstr (plain_socket_body, ==, "Can \"Upgrade\" only to \"WebSocket\".");
}

static void
test_moonraker_upload (void)
{
  SimPrinter *printer = fixture.moonraker;
  const char *name = "Drover_Test_Part.gcode";
  g_autofree char *sha256 = g_compute_checksum_for_string (G_CHECKSUM_SHA256, part, -1);
  g_autofree char *upper = g_ascii_strup (sha256, -1);
  g_autoptr(Socket) socket = socket_open (printer, printer->api_key);
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(SoupMessage) download = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonNode) notification = NULL;
  g_autofree char *body = NULL;
  g_autofree char *download_body = NULL;
  g_autofree char *location = NULL;
  JsonObject *object;
  JsonObject *item;
  guint from;

  g_assert_no_error (socket->error);
  g_assert_false (moonraker_list_has (printer, name));
  from = socket->messages->len;

  /* The checksum is compared without regard to case */
  msg = upload_new (printer, "/server/files/upload", name, part, "root", "gcodes", "checksum", upper, NULL);
  body = send (msg);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 201);
  location = g_strconcat (sim_http_get_base (fixture.http), "/", printer->id, "/server/files/gcodes/", name, NULL);
  g_assert_cmpstr (response_header (msg, "Location"), ==, location);

  /* Not wrapped in "result"; keys in the order Moonraker's dicts are built */
  g_assert_true (g_str_has_prefix (body, "{\"action\":\"create_file\",\"item\":{\"modified\":"));
  g_assert_true (g_str_has_suffix (body, ",\"print_started\":false,\"print_queued\":false}"));
  node = parse (body);
  object = json_node_get_object (node);
  g_assert_false (json_object_has_member (object, "result"));
  g_assert_cmpstr (json_object_get_string_member (object, "action"), ==, "create_file");
  g_assert_false (json_object_get_boolean_member (object, "print_started"));
  g_assert_false (json_object_get_boolean_member (object, "print_queued"));
  item = json_object_get_object_member (object, "item");
  g_assert_cmpstr (json_object_get_string_member (item, "path"), ==, name);
  g_assert_cmpstr (json_object_get_string_member (item, "root"), ==, "gcodes");
  g_assert_cmpint (json_object_get_int_member (item, "size"), ==, strlen (part));
  g_assert_cmpstr (json_object_get_string_member (item, "permissions"), ==, "rw");
  g_assert_cmpfloat (json_object_get_double_member (item, "modified"), >, 0);

  g_assert_nonnull (sim_printer_find_file (printer, name));
  g_assert_true (moonraker_list_has (printer, name));

  /* The WebSocket client hears of it */
  notification = socket_wait (socket, from, "notify_filelist_changed", "\"create_file\"");
  g_assert_nonnull (notification);
  item = json_object_get_object_member (json_array_get_object_element (json_object_get_array_member (json_node_get_object (notification),
                                                                                                   "params"), 0),
                                        "item");
  g_assert_cmpstr (json_object_get_string_member (item, "path"), ==, name);

  /* And the file comes back as it went */
  download = message_new ("GET", printer, "/server/files/gcodes/Drover_Test_Part.gcode", printer->api_key);
  download_body = send (download);
  g_assert_cmpuint (soup_message_get_status (download), ==, 200);
  g_assert_cmpstr (download_body, ==, part);
  g_assert_cmpstr (response_header (download, "Content-Disposition"), ==,
                   "attachment; filename=\"Drover_Test_Part.gcode\"; filename*=UTF-8''Drover_Test_Part.gcode");

  sim_printer_delete_file (printer, name, NULL);
}

static void
test_moonraker_bad_uploads (void)
{
  SimPrinter *printer = fixture.moonraker;
  g_autofree char *sha256 = g_compute_checksum_for_string (G_CHECKSUM_SHA256, part, -1);
  g_autofree char *text = NULL;
  g_autoptr(SoupMessage) mismatch = upload_new (printer, "/server/files/upload", "mismatch.gcode", part,
                                                "checksum", "0000000000000000000000000000000000000000000000000000000000000000",
                                                NULL);
  g_autoptr(SoupMessage) nameless = upload_new (printer, "/server/files/upload", NULL, part, NULL);
  g_autoptr(SoupMessage) missing = message_new ("GET", printer, "/server/files/gcodes/mismatch.gcode", printer->api_key);
  g_autofree char *mismatch_body = send (mismatch);
  g_autofree char *nameless_body = send (nameless);
  g_autofree char *missing_body = send (missing);

  /* Tornado's HTTPError(422, text): the message is the phrase, the text is in the traceback */
  g_assert_cmpuint (soup_message_get_status (mismatch), ==, 422);
  text = g_strdup_printf ("HTTP 422: Unprocessable Entity (File checksum mismatch: expected "
                          "0000000000000000000000000000000000000000000000000000000000000000, calculated %s)", sha256);
  assert_moonraker_error (mismatch_body, 422, "Unprocessable Entity", text);
  g_assert_null (sim_printer_find_file (printer, "mismatch.gcode"));
  g_assert_false (moonraker_list_has (printer, "mismatch.gcode"));

  g_assert_cmpuint (soup_message_get_status (nameless), ==, 400);
  assert_moonraker_error (nameless_body, 400, "Bad Request", "(Multipart filename omitted)");

  g_assert_cmpuint (soup_message_get_status (missing), ==, 404);
  assert_moonraker_error (missing_body, 404, "Not Found", NULL);
}

static void
test_moonraker_print (void)
{
  SimPrinter *printer = fixture.moonraker;
  const char *name = "print_me.gcode";
  g_autoptr(SoupMessage) upload = upload_new (printer, "/server/files/upload", name, part, "print", "true", NULL);
  g_autoptr(SoupMessage) again = NULL;
  g_autoptr(SoupMessage) remove = NULL;
  g_autoptr(SoupMessage) cancel = NULL;
  g_autoptr(SoupMessage) start_missing = NULL;
  g_autoptr(SoupMessage) start_busy = NULL;
  g_autoptr(SoupMessage) quoted = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *upload_body = NULL;
  g_autofree char *again_body = NULL;
  g_autofree char *remove_body = NULL;
  g_autofree char *cancel_body = NULL;
  g_autofree char *start_missing_body = NULL;
  g_autofree char *start_busy_body = NULL;
  g_autofree char *quoted_body = NULL;

  g_assert_false (sim_printer_is_busy (printer));

  /* print=true starts the job */
  upload_body = send (upload);
  g_assert_cmpuint (soup_message_get_status (upload), ==, 201);
  node = parse (upload_body);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (node), "print_started"));
  g_assert_cmpint (printer->state, ==, SIM_STATE_HEATING);
  g_assert_cmpstr (printer->job_file, ==, name);

  /* The file being printed is neither overwritten nor deleted */
  again = upload_new (printer, "/server/files/upload", name, "G28\n", NULL);
  again_body = send (again);
  g_assert_cmpuint (soup_message_get_status (again), ==, 403);
  assert_moonraker_error (again_body, 403, "Forbidden", "(File is loaded, upload not permitted)");
  g_assert_cmpuint (g_bytes_get_size (sim_printer_find_file (printer, name)->content), ==, strlen (part));

  remove = message_new ("DELETE", printer, "/server/files/gcodes/print_me.gcode", printer->api_key);
  remove_body = send (remove);
  g_assert_cmpuint (soup_message_get_status (remove), ==, 403);
  assert_moonraker_error (remove_body, 403, "Forbidden", "(File currently in use)");

  /* API endpoints raise with reason=: the message is Klipper's text */
  start_busy = message_new ("POST", printer, "/printer/print/start?filename=print_me.gcode", printer->api_key);
  start_busy_body = send (start_busy);
  g_assert_cmpuint (soup_message_get_status (start_busy), ==, 400);
  assert_moonraker_error (start_busy_body, 400, "SD busy", "tornado.web.HTTPError: HTTP 400: SD busy\n");

  cancel = message_new ("POST", printer, "/printer/print/cancel", printer->api_key);
  cancel_body = send (cancel);
  g_assert_cmpuint (soup_message_get_status (cancel), ==, 200);
  g_assert_cmpstr (cancel_body, ==, "{\"result\":\"ok\"}");
  g_assert_cmpint (printer->state, ==, SIM_STATE_CANCELLED);

  start_missing = message_new ("POST", printer, "/printer/print/start?filename=no_such_file.gcode", printer->api_key);
  start_missing_body = send (start_missing);
  g_assert_cmpuint (soup_message_get_status (start_missing), ==, 400);
  assert_moonraker_error (start_missing_body, 400, "Unable to open file", NULL);

  /* A JSON body works as the query does */
  quoted = json_message_new ("POST", printer, "/printer/gcode/script", "{\"script\":\"M104 S0\\nM140 S0\"}");
  quoted_body = send (quoted);
  g_assert_cmpuint (soup_message_get_status (quoted), ==, 200);
  g_assert_cmpstr (quoted_body, ==, "{\"result\":\"ok\"}");
  g_assert_cmpstr (g_ptr_array_index (printer->command_log, printer->command_log->len - 1), ==, "M104 S0\nM140 S0");

  sim_printer_delete_file (printer, name, NULL);
}

static void
test_moonraker_delete (void)
{
  SimPrinter *printer = fixture.moonraker;
  const char *name = "delete_me.gcode";
  g_autoptr(Socket) socket = socket_open (printer, printer->api_key);
  g_autoptr(SoupMessage) upload = upload_new (printer, "/server/files/upload", name, part, NULL);
  g_autoptr(SoupMessage) remove = message_new ("DELETE", printer, "/server/files/gcodes/delete_me.gcode", printer->api_key);
  g_autoptr(SoupMessage) again = message_new ("DELETE", printer, "/server/files/gcodes/delete_me.gcode", printer->api_key);
  g_autoptr(JsonNode) notification = NULL;
  g_autofree char *upload_body = NULL;
  g_autofree char *remove_body = NULL;
  g_autofree char *again_body = NULL;
  guint from;

  g_assert_no_error (socket->error);
  upload_body = send (upload);
  g_assert_cmpuint (soup_message_get_status (upload), ==, 201);
  g_assert_true (moonraker_list_has (printer, name));
  from = socket->messages->len;

  remove_body = send (remove);
  g_assert_cmpuint (soup_message_get_status (remove), ==, 200);
  g_assert_cmpstr (remove_body, ==,
                   "{\"result\":{\"action\":\"delete_file\",\"item\":{\"modified\":0,\"size\":0,\"permissions\":\"\","
                   "\"path\":\"delete_me.gcode\",\"root\":\"gcodes\"}}}");
  g_assert_null (sim_printer_find_file (printer, name));
  g_assert_false (moonraker_list_has (printer, name));

  notification = socket_wait (socket, from, "\"delete_file\"", "delete_me.gcode");
  g_assert_nonnull (notification);

  /* file_manager.delete_file(): "Invalid file path", a 400 */
  again_body = send (again);
  g_assert_cmpuint (soup_message_get_status (again), ==, 400);
  assert_moonraker_error (again_body, 400, "Bad Request", "(Invalid file path: gcodes/delete_me.gcode)");
}

static void
test_moonraker_websocket (void)
{
  SimPrinter *printer = fixture.moonraker;
  g_autoptr(Socket) socket = socket_open (printer, NULL);
  g_autoptr(GBytes) content = g_bytes_new_static (part, strlen (part));
  g_autoptr(JsonNode) refused = NULL;
  g_autoptr(JsonNode) bad_key = NULL;
  g_autoptr(JsonNode) identified = NULL;
  g_autoptr(JsonNode) twice = NULL;
  g_autoptr(JsonNode) list = NULL;
  g_autoptr(JsonNode) script = NULL;
  g_autoptr(JsonNode) response = NULL;
  g_autoptr(JsonNode) store = NULL;
  g_autoptr(JsonNode) deleted = NULL;
  g_autoptr(JsonNode) unknown = NULL;
  g_autoptr(JsonNode) missing = NULL;
  g_autofree char *params = NULL;
  JsonObject *object;
  JsonArray *entries;
  guint from;

  /* In without a key, as Moonraker lets a socket in, but nothing is answered before identify */
  g_assert_no_error (socket->error);
  refused = socket_call (socket, "server.files.list", NULL, 1);
  object = json_object_get_object_member (json_node_get_object (refused), "error");
  g_assert_cmpint (json_object_get_int_member (object, "code"), ==, -32602);
  g_assert_cmpstr (json_object_get_string_member (object, "message"), ==, "Unauthorized");

  bad_key = socket_call (socket, "server.connection.identify",
                         "{\"client_name\":\"drover-test\",\"version\":\"0.1\",\"type\":\"desktop\","
                         "\"url\":\"https://example.org\",\"api_key\":\"nope\"}", 2);
  object = json_object_get_object_member (json_node_get_object (bad_key), "error");
  g_assert_cmpint (json_object_get_int_member (object, "code"), ==, -32602);
  g_assert_cmpstr (json_object_get_string_member (object, "message"), ==, "Invalid API Key");

  params = g_strdup_printf ("{\"client_name\":\"drover-test\",\"version\":\"0.1\",\"type\":\"desktop\","
                            "\"url\":\"https://example.org\",\"api_key\":\"%s\"}", printer->api_key);
  identified = socket_call (socket, "server.connection.identify", params, 3);
  object = json_object_get_object_member (json_node_get_object (identified), "result");
  g_assert_nonnull (object);
  g_assert_cmpint (json_object_get_int_member (object, "connection_id"), >, 0);

  twice = socket_call (socket, "server.connection.identify", params, 10);
  object = json_object_get_object_member (json_node_get_object (twice), "error");
  g_assert_cmpint (json_object_get_int_member (object, "code"), ==, 400);
  g_assert_cmpstr (json_object_get_string_member (object, "message"), ==,
                   "Connection already identified: {'name': 'drover-test', 'version': '0.1', 'type': 'desktop', "
                   "'url': 'https://example.org'}");

  list = socket_call (socket, "server.files.list", "{\"root\":\"gcodes\"}", 4);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (json_object_get_member (json_node_get_object (list), "result")));

  /* A script answers "ok", and its response comes as a notification */
  from = socket->messages->len;
  script = socket_call (socket, "printer.gcode.script", "{\"script\":\"M117 hello\"}", 5);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (script), "result"), ==, "ok");
  response = socket_wait (socket, from, "\"notify_gcode_response\"", "\"params\":[\"ok\"]");
  g_assert_nonnull (response);

  store = socket_call (socket, "server.gcode_store", "{\"count\":2}", 6);
  entries = json_object_get_array_member (json_object_get_object_member (json_node_get_object (store), "result"), "gcode_store");
  g_assert_cmpuint (json_array_get_length (entries), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (entries, 0), "message"), ==, "M117 hello");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (entries, 0), "type"), ==, "command");

  /* Deleting is allowed on the socket */
  sim_printer_add_file (printer, "socket_delete.gcode", content);
  deleted = socket_call (socket, "server.files.delete_file", "{\"path\":\"gcodes/socket_delete.gcode\"}", 7);
  object = json_object_get_object_member (json_node_get_object (deleted), "result");
  g_assert_cmpstr (json_object_get_string_member (object, "action"), ==, "delete_file");
  g_assert_null (sim_printer_find_file (printer, "socket_delete.gcode"));

  unknown = socket_call (socket, "server.no_such_method", NULL, 8);
  object = json_object_get_object_member (json_node_get_object (unknown), "error");
  g_assert_cmpint (json_object_get_int_member (object, "code"), ==, -32601);
  g_assert_cmpstr (json_object_get_string_member (object, "message"), ==, "Method not found");

  missing = socket_call (socket, "printer.print.start", "{}", 9);
  object = json_object_get_object_member (json_node_get_object (missing), "error");
  g_assert_cmpint (json_object_get_int_member (object, "code"), ==, 400);
  g_assert_cmpstr (json_object_get_string_member (object, "message"), ==, "No data for argument: filename");
}

static void
test_moonraker_offline (void)
{
  SimPrinter *printer = fixture.moonraker_spare;
  g_autoptr(Socket) socket = socket_open (printer, printer->api_key);
  g_autoptr(SoupMessage) msg = message_new ("GET", printer, "/server/files/list", printer->api_key);
  g_autoptr(SoupMessage) back = message_new ("GET", printer, "/server/files/list", printer->api_key);
  g_autofree char *body = NULL;
  g_autofree char *back_body = NULL;

  g_assert_no_error (socket->error);
  sim_printer_go_offline (printer, TRUE, 0);

  /* Its host is gone: the socket closes, the prefix answers 503 */
  g_assert_true (iterate_until (socket_is_closed, socket));
  body = send (msg);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 503);

  sim_printer_come_back (printer);
  back_body = send (back);
  g_assert_cmpuint (soup_message_get_status (back), ==, 200);
}

/* OctoPrint */

static void
test_octoprint_auth (void)
{
  SimPrinter *printer = fixture.octoprint;
  g_autoptr(SoupMessage) wrong = message_new ("GET", printer, "/api/version", "0123456789abcdef0123456789abcdef");
  g_autoptr(SoupMessage) none = message_new ("GET", printer, "/api/version", NULL);
  g_autoptr(SoupMessage) right = message_new ("GET", printer, "/api/version", printer->api_key);
  g_autoptr(SoupMessage) query = NULL;
  g_autoptr(SoupMessage) nowhere = message_new ("GET", printer, "/api/no/such/thing", NULL);
  g_autoptr(SoupMessage) put = message_new ("PUT", printer, "/api/job", printer->api_key);
  g_autofree char *wrong_body = send (wrong);
  g_autofree char *none_body = send (none);
  g_autofree char *right_body = send (right);
  g_autofree char *query_body = NULL;
  g_autofree char *nowhere_body = send (nowhere);
  g_autofree char *put_body = send (put);
  g_autofree char *path = g_strconcat ("/api/version?apikey=", printer->api_key, NULL);

  /* OctoPrint never answers 401: a wrong key is refused, no key is a guest without rights */
  g_assert_cmpuint (soup_message_get_status (wrong), ==, 403);
  g_assert_cmpstr (response_header (wrong, "Content-Type"), ==, "application/json");
  g_assert_cmpstr (wrong_body, ==, "{\n  \"error\": \"Invalid API key\"\n}\n");
  g_assert_cmpuint (soup_message_get_status (none), ==, 403);
  g_assert_cmpstr (none_body, ==,
                   "{\n  \"error\": \"You don't have the permission to access the requested resource. It is either "
                   "read-protected or not readable by the server.\"\n}\n");

  /* Flask's jsonify with compact off: sorted keys, an indent of two, a final newline */
  g_assert_cmpuint (soup_message_get_status (right), ==, 200);
  g_assert_cmpstr (right_body, ==, "{\n  \"api\": \"0.1\",\n  \"server\": \"1.10.2\",\n  \"text\": \"OctoPrint 1.10.2\"\n}\n");

  query = message_new ("GET", printer, path, NULL);
  query_body = send (query);
  g_assert_cmpuint (soup_message_get_status (query), ==, 200);
  g_assert_cmpstr (query_body, ==, right_body);

  g_assert_cmpuint (soup_message_get_status (nowhere), ==, 404);
  g_assert_true (g_str_has_prefix (nowhere_body, "{\n  \"error\": \"The requested URL was not found on the server."));
  g_assert_cmpuint (soup_message_get_status (put), ==, 405);
  g_assert_cmpstr (put_body, ==, "{\n  \"error\": \"The method is not allowed for the requested URL.\"\n}\n");
}

static gboolean
has_key (JsonObject *object,
         const char *key)
{
  return json_object_has_member (object, key);
}

static void
test_octoprint_upload (void)
{
  SimPrinter *printer = fixture.octoprint;
  const char *name = "drover_op_part.gcode";
  guint from = fixture.messages->len;
  g_autoptr(SoupMessage) msg = upload_new (printer, "/api/files/local", name, part, NULL);
  g_autoptr(SoupMessage) list = NULL;
  g_autoptr(SoupMessage) text = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonNode) event = NULL;
  g_autoptr(JsonNode) list_node = NULL;
  g_autofree char *body = NULL;
  g_autofree char *list_body = NULL;
  g_autofree char *text_body = NULL;
  g_autofree char *resource = NULL;
  g_autofree char *download = NULL;
  g_autofree char *sha1 = g_compute_checksum_for_string (G_CHECKSUM_SHA1, part, -1);
  const char *payload;
  JsonObject *object;
  JsonObject *local;
  JsonObject *refs;
  JsonArray *files;
  gboolean found = FALSE;

  body = send (msg);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 201);
  resource = g_strconcat (sim_http_get_base (fixture.http), "/", printer->id, "/api/files/local/", name, NULL);
  download = g_strconcat (sim_http_get_base (fixture.http), "/", printer->id, "/downloads/files/local/", name, NULL);
  g_assert_cmpstr (response_header (msg, "Location"), ==, resource);

  g_assert_true (g_str_has_prefix (body, "{\n  \"done\": true,\n  \"effectivePrint\": false,\n  \"effectiveSelect\": false,\n"));
  node = parse (body);
  object = json_node_get_object (node);
  g_assert_true (json_object_get_boolean_member (object, "done"));
  g_assert_false (json_object_get_boolean_member (object, "effectivePrint"));
  g_assert_false (json_object_get_boolean_member (object, "effectiveSelect"));
  local = json_object_get_object_member (json_object_get_object_member (object, "files"), "local");
  g_assert_cmpstr (json_object_get_string_member (local, "name"), ==, name);
  g_assert_cmpstr (json_object_get_string_member (local, "path"), ==, name);
  g_assert_cmpstr (json_object_get_string_member (local, "origin"), ==, "local");
  refs = json_object_get_object_member (local, "refs");
  g_assert_cmpstr (json_object_get_string_member (refs, "resource"), ==, resource);
  g_assert_cmpstr (json_object_get_string_member (refs, "download"), ==, download);

  /* What the MQTT plugin publishes for it */
  payload = wait_for_event (printer, "FileAdded", name, from);
  g_assert_nonnull (payload);
  event = parse (payload);
  object = json_node_get_object (event);
  g_assert_true (has_key (object, "storage") && has_key (object, "path") && has_key (object, "name") &&
                 has_key (object, "type") && has_key (object, "operation") && has_key (object, "_event") &&
                 has_key (object, "_timestamp"));
  g_assert_cmpstr (json_object_get_string_member (object, "storage"), ==, "local");
  g_assert_cmpstr (json_object_get_string_member (object, "operation"), ==, "add");
  g_assert_cmpstr (json_object_get_string_member (object, "_event"), ==, "FileAdded");
  g_assert_nonnull (wait_for_event (printer, "Upload", "\"effective_print\": false", from));

  /* Listed with its SHA-1 */
  list = message_new ("GET", printer, "/api/files/local", printer->api_key);
  list_body = send (list);
  g_assert_cmpuint (soup_message_get_status (list), ==, 200);
  list_node = parse (list_body);
  object = json_node_get_object (list_node);
  g_assert_cmpint (json_object_get_int_member (object, "total"), >, json_object_get_int_member (object, "free"));
  files = json_object_get_array_member (object, "files");
  for (guint i = 0; i < json_array_get_length (files); i++)
    {
      JsonObject *file = json_array_get_object_element (files, i);

      if (!g_str_equal (json_object_get_string_member (file, "name"), name))
        continue;
      found = TRUE;
      g_assert_cmpstr (json_object_get_string_member (file, "hash"), ==, sha1);
      g_assert_cmpstr (json_object_get_string_member (file, "type"), ==, "machinecode");
      g_assert_cmpstr (json_object_get_string_member (file, "origin"), ==, "local");
      g_assert_cmpint (json_object_get_int_member (file, "size"), ==, strlen (part));
    }
  g_assert_true (found);

  /* Only machine code */
  text = upload_new (printer, "/api/files/local", "notes.txt", "hello\n", NULL);
  text_body = send (text);
  g_assert_cmpuint (soup_message_get_status (text), ==, 415);
  g_assert_cmpstr (text_body, ==, "{\n  \"error\": \"Could not upload file, invalid type\"\n}\n");
  g_assert_null (sim_printer_find_file (printer, "notes.txt"));
}

static void
test_octoprint_select_print (void)
{
  SimPrinter *printer = fixture.octoprint;
  const char *name = "drover_op_print.gcode";
  guint from;
  g_autoptr(SoupMessage) upload = upload_new (printer, "/api/files/local", name, part, NULL);
  g_autoptr(SoupMessage) select = NULL;
  g_autoptr(SoupMessage) again = NULL;
  g_autoptr(SoupMessage) overwrite = NULL;
  g_autoptr(SoupMessage) remove = NULL;
  g_autoptr(SoupMessage) invalid = NULL;
  g_autoptr(SoupMessage) job = NULL;
  g_autoptr(SoupMessage) cancel = NULL;
  g_autoptr(SoupMessage) remove_now = NULL;
  g_autoptr(SoupMessage) remove_gone = NULL;
  g_autoptr(SoupMessage) missing = NULL;
  g_autoptr(JsonNode) job_node = NULL;
  g_autoptr(JsonNode) started = NULL;
  g_autofree char *upload_body = send (upload);
  g_autofree char *select_body = NULL;
  g_autofree char *again_body = NULL;
  g_autofree char *overwrite_body = NULL;
  g_autofree char *remove_body = NULL;
  g_autofree char *invalid_body = NULL;
  g_autofree char *job_body = NULL;
  g_autofree char *cancel_body = NULL;
  g_autofree char *remove_now_body = NULL;
  g_autofree char *remove_gone_body = NULL;
  g_autofree char *missing_body = NULL;
  const char *payload;
  JsonObject *object;

  g_assert_cmpuint (soup_message_get_status (upload), ==, 201);
  g_assert_false (sim_printer_is_busy (printer));
  from = fixture.messages->len;

  select = json_message_new ("POST", printer, "/api/files/local/drover_op_print.gcode", "{\"command\":\"select\",\"print\":true}");
  select_body = send (select);
  g_assert_cmpuint (soup_message_get_status (select), ==, 204);
  g_assert_cmpstr (select_body, ==, "");
  g_assert_cmpint (printer->state, ==, SIM_STATE_HEATING);

  g_assert_nonnull (wait_for_event (printer, "FileSelected", name, from));
  payload = wait_for_event (printer, "PrintStarted", name, from);
  g_assert_nonnull (payload);
  started = parse (payload);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (started), "path"), ==, name);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (started), "origin"), ==, "local");

  job = message_new ("GET", printer, "/api/job", printer->api_key);
  job_body = send (job);
  g_assert_cmpuint (soup_message_get_status (job), ==, 200);
  job_node = parse (job_body);
  object = json_node_get_object (job_node);
  g_assert_cmpstr (json_object_get_string_member (object, "state"), ==, "Printing");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (json_object_get_object_member (object, "job"), "file"),
                                                  "name"), ==, name);
  g_assert_true (json_object_has_member (json_object_get_object_member (object, "progress"), "completion"));

  /* Busy: no other selection, no overwriting or deleting the job's file */
  again = json_message_new ("POST", printer, "/api/files/local/drover_op_print.gcode", "{\"command\":\"select\"}");
  again_body = send (again);
  g_assert_cmpuint (soup_message_get_status (again), ==, 409);
  g_assert_cmpstr (again_body, ==, "{\n  \"error\": \"Printer is already printing, cannot select a new file\"\n}\n");

  overwrite = upload_new (printer, "/api/files/local", name, "G28\n", NULL);
  overwrite_body = send (overwrite);
  g_assert_cmpuint (soup_message_get_status (overwrite), ==, 409);

  remove = message_new ("DELETE", printer, "/api/files/local/drover_op_print.gcode", printer->api_key);
  remove_body = send (remove);
  g_assert_cmpuint (soup_message_get_status (remove), ==, 409);
  g_assert_cmpstr (remove_body, ==, "{\n  \"error\": \"Trying to delete a file that is currently in use\"\n}\n");

  invalid = json_message_new ("POST", printer, "/api/files/local/drover_op_print.gcode", "{\"command\":\"frobnicate\"}");
  invalid_body = send (invalid);
  g_assert_cmpuint (soup_message_get_status (invalid), ==, 400);
  g_assert_cmpstr (invalid_body, ==, "{\n  \"error\": \"command is invalid\"\n}\n");

  cancel = json_message_new ("POST", printer, "/api/job", "{\"command\":\"cancel\"}");
  cancel_body = send (cancel);
  g_assert_cmpuint (soup_message_get_status (cancel), ==, 204);
  g_assert_cmpint (printer->state, ==, SIM_STATE_CANCELLED);
  g_assert_nonnull (wait_for_event (printer, "PrintCancelled", name, from));

  remove_now = message_new ("DELETE", printer, "/api/files/local/drover_op_print.gcode", printer->api_key);
  remove_now_body = send (remove_now);
  g_assert_cmpuint (soup_message_get_status (remove_now), ==, 204);
  g_assert_null (sim_printer_find_file (printer, name));

  remove_gone = message_new ("DELETE", printer, "/api/files/local/drover_op_print.gcode", printer->api_key);
  remove_gone_body = send (remove_gone);
  g_assert_cmpuint (soup_message_get_status (remove_gone), ==, 404);

  missing = json_message_new ("POST", printer, "/api/files/local/no_such.gcode", "{\"command\":\"select\",\"print\":true}");
  missing_body = send (missing);
  g_assert_cmpuint (soup_message_get_status (missing), ==, 404);
}

static void
test_octoprint_offline (void)
{
  SimPrinter *printer = fixture.octoprint_spare;
  g_autoptr(SoupMessage) state = message_new ("GET", printer, "/api/printer", printer->api_key);
  g_autoptr(SoupMessage) job = message_new ("GET", printer, "/api/job", printer->api_key);
  g_autoptr(SoupMessage) start = NULL;
  g_autoptr(SoupMessage) online = NULL;
  g_autoptr(JsonNode) job_node = NULL;
  g_autoptr(JsonNode) online_node = NULL;
  g_autofree char *state_body = NULL;
  g_autofree char *job_body = NULL;
  g_autofree char *start_body = NULL;
  g_autofree char *online_body = NULL;
  JsonObject *flags;

  sim_printer_go_offline (printer, TRUE, 0);

  state_body = send (state);
  g_assert_cmpuint (soup_message_get_status (state), ==, 409);
  g_assert_cmpstr (state_body, ==, "{\n  \"error\": \"Printer is not operational\"\n}\n");

  /* /api/job has no operational check */
  job_body = send (job);
  g_assert_cmpuint (soup_message_get_status (job), ==, 200);
  job_node = parse (job_body);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (job_node), "state"), ==, "Offline");

  start = json_message_new ("POST", printer, "/api/job", "{\"command\":\"start\"}");
  start_body = send (start);
  g_assert_cmpuint (soup_message_get_status (start), ==, 409);

  sim_printer_come_back (printer);
  online = message_new ("GET", printer, "/api/printer?exclude=sd", printer->api_key);
  online_body = send (online);
  g_assert_cmpuint (soup_message_get_status (online), ==, 200);
  online_node = parse (online_body);
  g_assert_false (json_object_has_member (json_node_get_object (online_node), "sd"));
  flags = json_object_get_object_member (json_object_get_object_member (json_node_get_object (online_node), "state"), "flags");
  g_assert_true (json_object_get_boolean_member (flags, "operational"));
  g_assert_true (json_object_has_member (flags, "resuming") && json_object_has_member (flags, "finishing"));
  g_assert_true (json_object_has_member (json_object_get_object_member (json_node_get_object (online_node), "temperature"),
                                         "tool0"));
}

/* Routing and the inventory */

static void
test_routing (void)
{
  g_autofree char *uri = g_strconcat (sim_http_get_base (fixture.http), "/no-such-printer/api/version", NULL);
  g_autoptr(SoupMessage) stranger = soup_message_new ("GET", uri);
  g_autoptr(SoupMessage) native = message_new ("GET", fixture.native, "/api/version", fixture.native->api_key);
  g_autofree char *stranger_body = send (stranger);
  g_autofree char *native_body = send (native);
  g_autofree char *inventory = sim_farm_dup_inventory (fixture.farm);
  g_autofree char *http_line = g_strconcat ("http=", sim_http_get_base (fixture.http), "/", fixture.octoprint->id, "\n", NULL);
  g_autofree char *key_line = g_strconcat ("api-key=", fixture.octoprint->api_key, "\n", NULL);

  g_assert_true (g_str_has_prefix (sim_http_get_base (fixture.http), "http://127.0.0.1:"));
  g_assert_cmpuint (soup_message_get_status (stranger), ==, 404);
  g_assert_cmpuint (soup_message_get_status (native), ==, 404);

  /* The inventory tells Drover where each printer's HTTP API is */
  g_assert_nonnull (strstr (inventory, http_line));
  g_assert_nonnull (strstr (inventory, key_line));
}

/* Set-up */

static gboolean
all_connected (gpointer data)
{
  SimPrinter * const *printers = data;

  for (guint i = 0; printers[i] != NULL; i++)
    {
      if (printers[i]->mqtt == NULL || !sim_mqtt_is_connected (printers[i]->mqtt))
        return FALSE;
    }

  return sim_mqtt_is_connected (fixture.listener);
}

static gboolean
listener_ready (gpointer data)
{
  MessageSearch first = { NULL, "connected", 0, -1 };
  MessageSearch second = { NULL, "connected", 0, -1 };
  g_autofree char *first_topic = g_strconcat ("octoPrint/", fixture.octoprint->id, "/mqtt", NULL);
  g_autofree char *second_topic = g_strconcat ("octoPrint/", fixture.octoprint_spare->id, "/mqtt", NULL);

  first.topic = first_topic;
  second.topic = second_topic;
  return heard (&first) && heard (&second);
}

static void
fixture_set_up (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;
  SimFarmOptions options = { 0 };
  SimMqttOptions listener = { 0 };
  GPtrArray *printers;
  SimPrinter *connected[5] = { NULL };

  fixture.broker = drover_test_broker_start (NULL, &error);
  g_assert_no_error (error);
  uri = drover_test_broker_dup_uri (fixture.broker);

  /* By weight, in dialect order: p-0001 native, p-0002/3 Moonraker, p-0004/5 OctoPrint */
  options.broker_uri = uri;
  options.n_printers = 5;
  options.seed = 7;
  options.time_scale = 1.0;
  options.tick_ms = 1000;
  options.mqtt5 = TRUE;
  options.mix[SIM_DIALECT_NATIVE] = 1;
  options.mix[SIM_DIALECT_MOONRAKER] = 2;
  options.mix[SIM_DIALECT_OCTOPRINT] = 2;
  fixture.farm = sim_farm_new (&options, &error);
  g_assert_no_error (error);

  fixture.http = sim_http_new (fixture.farm, 0, &error);
  g_assert_no_error (error);
  sim_farm_set_http_base (fixture.farm, sim_http_get_base (fixture.http));

  printers = sim_farm_get_printers (fixture.farm);
  for (guint i = 0; i < printers->len; i++)
    {
      SimPrinter *printer = g_ptr_array_index (printers, i);

      /* The seed leaves some printers mid-job: start from a farm at rest. */
      if (sim_printer_is_busy (printer))
        sim_printer_cancel (printer, NULL);

      if (printer->dialect == SIM_DIALECT_MOONRAKER)
        *(fixture.moonraker == NULL ? &fixture.moonraker : &fixture.moonraker_spare) = printer;
      else if (printer->dialect == SIM_DIALECT_OCTOPRINT)
        *(fixture.octoprint == NULL ? &fixture.octoprint : &fixture.octoprint_spare) = printer;
      else if (printer->dialect == SIM_DIALECT_NATIVE)
        fixture.native = printer;
    }
  g_assert_nonnull (fixture.moonraker_spare);
  g_assert_nonnull (fixture.octoprint_spare);
  g_assert_nonnull (fixture.native);

  fixture.messages = g_ptr_array_new_with_free_func ((GDestroyNotify)message_free);
  listener.uri = uri;
  listener.client_id = "drover-test-listener";
  listener.mqtt5 = TRUE;
  listener.keepalive = 30;
  fixture.listener = sim_mqtt_new (&listener, listener_message_cb, NULL, NULL, &error);
  g_assert_no_error (error);
  sim_mqtt_subscribe (fixture.listener, "octoPrint/#", 0);

  fixture.session = soup_session_new ();

  /* The plugin's retained "connected" proves both ends of the broker work. */
  connected[0] = fixture.octoprint;
  connected[1] = fixture.octoprint_spare;
  connected[2] = fixture.moonraker;
  connected[3] = fixture.moonraker_spare;
  g_assert_true (iterate_until (all_connected, connected));
  g_assert_true (iterate_until (listener_ready, NULL));
}

static void
fixture_tear_down (void)
{
  g_clear_object (&fixture.session);
  g_clear_pointer (&fixture.http, sim_http_free);
  g_clear_pointer (&fixture.farm, sim_farm_free);
  g_clear_pointer (&fixture.listener, sim_mqtt_free);
  g_clear_pointer (&fixture.messages, g_ptr_array_unref);
  /* Deliveries still queued hold their own references */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_pointer (&fixture.broker, drover_test_broker_free);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sim-http/moonraker/auth", test_moonraker_auth);
  g_test_add_func ("/sim-http/moonraker/upload", test_moonraker_upload);
  g_test_add_func ("/sim-http/moonraker/bad-uploads", test_moonraker_bad_uploads);
  g_test_add_func ("/sim-http/moonraker/print", test_moonraker_print);
  g_test_add_func ("/sim-http/moonraker/delete", test_moonraker_delete);
  g_test_add_func ("/sim-http/moonraker/websocket", test_moonraker_websocket);
  g_test_add_func ("/sim-http/moonraker/offline", test_moonraker_offline);
  g_test_add_func ("/sim-http/octoprint/auth", test_octoprint_auth);
  g_test_add_func ("/sim-http/octoprint/upload", test_octoprint_upload);
  g_test_add_func ("/sim-http/octoprint/select-print", test_octoprint_select_print);
  g_test_add_func ("/sim-http/octoprint/offline", test_octoprint_offline);
  g_test_add_func ("/sim-http/routing", test_routing);

  fixture_set_up ();
  status = g_test_run ();
  fixture_tear_down ();

  return status;
}
