/* test-sim-dialects.c: drover-sim speaks each dialect as the real program does
 *
 * A real mosquitto, the simulator's farm in this process, and a listener
 * on `#`. Expected bytes come from the examples in shared/reference/
 * (moonraker.md, octoprint.md, bambu-anycubic.md) and docs/protocol.md.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "drover-test-broker.h"
#include "sim-anycubic-broker.h"
#include "sim-farm.h"
#include "sim-gcode.h"

/* A guard against hangs, not a figure: sanitizer builds on two busy cores
 * need room (the Anycubic download test took over 5 s there once). */
#define WAIT_US (20 * G_USEC_PER_SEC)

typedef struct
{
  char    *topic;
  char    *payload;
  gboolean retained;
} Message;

typedef struct
{
  DroverTestBroker *broker;
  char             *uri;
  SimMqtt          *listener;
  gboolean          listener_ready;
  GPtrArray        *messages;  /* Message */
  SimFarm          *farm;
} Fixture;

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
  Fixture *fixture = user_data;
  Message *message = g_new0 (Message, 1);

  message->topic = g_strdup (topic);
  message->payload = g_strndup (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload));
  message->retained = retained;
  g_ptr_array_add (fixture->messages, message);
}

static void
listener_connected_cb (SimMqtt  *mqtt,
                       gpointer  user_data)
{
  Fixture *fixture = user_data;

  fixture->listener_ready = TRUE;
}

static gboolean
iterate_until (gboolean (*done) (Fixture *fixture, gconstpointer data),
               Fixture       *fixture,
               gconstpointer  data)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_US;

  while (!done (fixture, data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }

  return TRUE;
}

static gboolean
listener_is_ready (Fixture       *fixture,
                   gconstpointer  data)
{
  return fixture->listener_ready;
}

typedef struct
{
  const char *topic;
  guint       from;
  const char *contains;
} Wanted;

static gboolean
has_wanted (Fixture       *fixture,
            gconstpointer  data)
{
  const Wanted *wanted = data;

  for (guint i = wanted->from; i < fixture->messages->len; i++)
    {
      Message *message = g_ptr_array_index (fixture->messages, i);

      if (g_str_equal (message->topic, wanted->topic) &&
          (wanted->contains == NULL || strstr (message->payload, wanted->contains) != NULL))
        return TRUE;
    }

  return FALSE;
}

/* Waits for a message on @topic (holding @contains, if given) after @from. */
static Message *
wait_for (Fixture    *fixture,
          const char *topic,
          guint       from,
          const char *contains)
{
  Wanted wanted = { topic, from, contains };

  if (!iterate_until (has_wanted, fixture, &wanted))
    return NULL;

  for (guint i = from; i < fixture->messages->len; i++)
    {
      Message *message = g_ptr_array_index (fixture->messages, i);

      if (g_str_equal (message->topic, topic) && (contains == NULL || strstr (message->payload, contains) != NULL))
        return message;
    }

  return NULL;
}

/* Lets messages in flight arrive: a bounded quiet spell. */
static void
settle (void)
{
  gint64 until = g_get_monotonic_time () + 300 * 1000;

  while (g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  SimMqttOptions options = { 0 };

  fixture->broker = drover_test_broker_start (NULL, &error);
  g_assert_no_error (error);
  fixture->uri = drover_test_broker_dup_uri (fixture->broker);
  fixture->messages = g_ptr_array_new_with_free_func ((GDestroyNotify)message_free);

  options.uri = fixture->uri;
  options.client_id = "test-listener";
  options.mqtt5 = TRUE;
  fixture->listener = sim_mqtt_new (&options, listener_message_cb, listener_connected_cb, fixture, &error);
  g_assert_no_error (error);
  sim_mqtt_subscribe (fixture->listener, "#", 1);
  g_assert_true (iterate_until (listener_is_ready, fixture, NULL));
  settle ();
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_pointer (&fixture->farm, sim_farm_free);
  sim_farm_release_intruder ();
  g_clear_pointer (&fixture->listener, sim_mqtt_free);
  /* Deliveries still queued for the listener hold their own references. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_pointer (&fixture->messages, g_ptr_array_unref);
  g_clear_pointer (&fixture->uri, g_free);
  g_clear_pointer (&fixture->broker, drover_test_broker_free);
}

static SimPrinter *
start_farm (Fixture    *fixture,
            SimDialect  dialect,
            guint       n_printers)
{
  g_autoptr(GError) error = NULL;
  SimFarmOptions options = { 0 };

  options.broker_uri = fixture->uri;
  options.n_printers = n_printers;
  options.seed = 42;
  options.time_scale = 1.0;
  options.tick_ms = 1000;
  options.mqtt5 = TRUE;
  options.mix[dialect] = 1;

  fixture->farm = sim_farm_new (&options, &error);
  g_assert_no_error (error);

  return g_ptr_array_index (sim_farm_get_printers (fixture->farm), 0);
}

static JsonObject *
parse_object (const char *text,
              JsonParser *parser)
{
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));

  return json_node_get_object (json_parser_get_root (parser));
}

static gboolean
printer_connected (Fixture       *fixture,
                   gconstpointer  data)
{
  return sim_mqtt_is_connected (((SimPrinter *)data)->mqtt);
}

static void
connect_and_tick (Fixture    *fixture,
                  SimPrinter *printer)
{
  g_assert_true (iterate_until (printer_connected, fixture, printer));
  settle ();
  sim_farm_tick (fixture->farm, 1.0);
}

/* Compact JSON as msgspec writes it: no blank after ':' or ',' outside strings. */
static gboolean
is_compact (const char *json)
{
  gboolean in_string = FALSE;

  for (const char *p = json; *p != '\0'; p++)
    {
      if (*p == '"' && (p == json || p[-1] != '\\'))
        in_string = !in_string;
      else if (!in_string && (*p == ':' || *p == ',') && p[1] == ' ')
        return FALSE;
    }

  return TRUE;
}

static void
publish_request (Fixture    *fixture,
                 const char *topic,
                 const char *payload)
{
  g_assert_true (sim_mqtt_publish (fixture->listener, topic, payload, -1, 1, FALSE));
}

/* Moonraker */

static void
test_moonraker (Fixture       *fixture,
                gconstpointer  data)
{
  SimPrinter *printer = start_farm (fixture, SIM_DIALECT_MOONRAKER, 1);
  g_autofree char *status_topic = g_strconcat (printer->id, "/moonraker/status", NULL);
  g_autofree char *klipper_topic = g_strconcat (printer->id, "/klipper/status", NULL);
  g_autofree char *request_topic = g_strconcat (printer->id, "/moonraker/api/request", NULL);
  g_autofree char *response_topic = g_strconcat (printer->id, "/moonraker/api/response", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *file_request = NULL;
  JsonObject *root;
  JsonObject *status;
  Message *message;
  guint mark;

  connect_and_tick (fixture, printer);

  /* Presence, retained, byte for byte as Moonraker's mqtt.py writes it. */
  message = wait_for (fixture, status_topic, 0, NULL);
  g_assert_nonnull (message);
  g_assert_cmpstr (message->payload, ==, "{\"server\":\"online\"}");

  /* The first status publish is the full subscription result. */
  message = wait_for (fixture, klipper_topic, 0, NULL);
  g_assert_nonnull (message);
  g_assert_true (is_compact (message->payload));
  root = parse_object (message->payload, parser);
  g_assert_true (json_object_has_member (root, "eventtime"));
  status = json_object_get_object_member (root, "status");
  for (const char * const *object = (const char *[]) { "webhooks", "print_stats", "extruder", "heater_bed", "virtual_sdcard", NULL };
       *object != NULL; object++)
    g_assert_true (json_object_has_member (status, *object));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (status, "webhooks"), "state"), ==, "ready");
  g_assert_true (json_object_has_member (json_object_get_object_member (status, "extruder"), "temperature"));
  g_assert_true (json_object_has_member (json_object_get_object_member (status, "print_stats"), "state"));

  /* Later publishes are diffs: the heater moved, the webhooks did not. */
  mark = fixture->messages->len;
  printer->hotend_target = 215.0;
  sim_farm_tick (fixture->farm, 1.0);
  message = wait_for (fixture, klipper_topic, mark, NULL);
  g_assert_nonnull (message);
  status = json_object_get_object_member (parse_object (message->payload, parser), "status");
  g_assert_true (json_object_has_member (status, "extruder"));
  g_assert_false (json_object_has_member (status, "webhooks"));
  g_assert_cmpfloat (json_object_get_double_member (json_object_get_object_member (status, "extruder"), "target"), ==, 215.0);

  /* The constructed exchange of moonraker.md §1.6, byte for byte. */
  mark = fixture->messages->len;
  publish_request (fixture, request_topic,
                   "{\"jsonrpc\":\"2.0\",\"method\":\"printer.gcode.script\",\"params\":{\"script\":\"G28\",\"mqtt_timestamp\":1718000000000000},\"id\":7466}");
  message = wait_for (fixture, response_topic, mark, NULL);
  g_assert_nonnull (message);
  g_assert_cmpstr (message->payload, ==, "{\"jsonrpc\":\"2.0\",\"result\":\"ok\",\"id\":7466}");

  /* The same mqtt_timestamp again is refused as a duplicate. */
  mark = fixture->messages->len;
  publish_request (fixture, request_topic,
                   "{\"jsonrpc\":\"2.0\",\"method\":\"printer.gcode.script\",\"params\":{\"script\":\"G28\",\"mqtt_timestamp\":1718000000000000},\"id\":7467}");
  message = wait_for (fixture, response_topic, mark, NULL);
  g_assert_cmpstr (message->payload, ==,
                   "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-10000,\"message\":\"Duplicate MQTT Request\"},\"id\":7467}");

  /* No id: run, and answered by nothing. The next answer is for id 9. */
  mark = fixture->messages->len;
  publish_request (fixture, request_topic, "{\"jsonrpc\":\"2.0\",\"method\":\"printer.gcode.script\",\"params\":{\"script\":\"M117 hi\"}}");
  publish_request (fixture, request_topic, "{\"jsonrpc\":\"2.0\",\"method\":\"server.files.list\",\"params\":{\"root\":\"gcodes\"},\"id\":9}");
  message = wait_for (fixture, response_topic, mark, NULL);
  g_assert_nonnull (message);
  root = parse_object (message->payload, parser);
  g_assert_cmpint (json_object_get_int_member (root, "id"), ==, 9);
  {
    JsonArray *files = json_object_get_array_member (root, "result");
    JsonObject *first = json_array_get_object_element (files, 0);

    g_assert_cmpuint (json_array_get_length (files), ==, printer->files->len);
    for (const char * const *member = (const char *[]) { "path", "modified", "size", "permissions", NULL }; *member != NULL; member++)
      g_assert_true (json_object_has_member (first, *member));
    file_request = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"method\":\"printer.print.start\",\"params\":{\"filename\":\"%s\"},\"id\":\"start-1\"}",
                                    json_object_get_string_member (first, "path"));
  }

  /* Deleting is not for MQTT (file_manager.py: transports=WEBSOCKET). */
  mark = fixture->messages->len;
  publish_request (fixture, request_topic,
                   "{\"jsonrpc\":\"2.0\",\"method\":\"server.files.delete_file\",\"params\":{\"path\":\"gcodes/x.gcode\"},\"id\":10}");
  message = wait_for (fixture, response_topic, mark, NULL);
  g_assert_cmpstr (message->payload, ==,
                   "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32601,\"message\":\"Method not found for transport MQTT\"},\"id\":10}");

  /* Garbage is a parse error with a null id. */
  mark = fixture->messages->len;
  publish_request (fixture, request_topic, "{not json");
  message = wait_for (fixture, response_topic, mark, NULL);
  g_assert_cmpstr (message->payload, ==, "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32700,\"message\":\"Parse error\"},\"id\":null}");

  /* A print started over MQTT, and the gcode store shows its command. */
  if (sim_printer_is_busy (printer))
    sim_printer_cancel (printer, NULL);
  mark = fixture->messages->len;
  publish_request (fixture, request_topic, file_request);
  message = wait_for (fixture, response_topic, mark, "start-1");
  g_assert_cmpstr (message->payload, ==, "{\"jsonrpc\":\"2.0\",\"result\":\"ok\",\"id\":\"start-1\"}");
  g_assert_true (sim_printer_is_busy (printer));

  mark = fixture->messages->len;
  publish_request (fixture, request_topic, "{\"jsonrpc\":\"2.0\",\"method\":\"server.gcode_store\",\"params\":{\"count\":100},\"id\":11}");
  message = wait_for (fixture, response_topic, mark, NULL);
  g_assert_nonnull (strstr (message->payload, "\"type\":\"command\""));
  g_assert_nonnull (strstr (message->payload, "SDCARD_PRINT_FILE FILENAME=\\\""));
  g_assert_nonnull (strstr (message->payload, "\"message\":\"G28\""));

  /* Dying, the broker publishes the will: the retained status says offline. */
  mark = fixture->messages->len;
  sim_printer_go_offline (printer, FALSE, 0);
  message = wait_for (fixture, status_topic, mark, NULL);
  g_assert_nonnull (message);
  g_assert_cmpstr (message->payload, ==, "{\"server\":\"offline\"}");
}

/* OctoPrint-MQTT */

static gboolean
matches (const char *pattern,
         const char *text)
{
  return g_regex_match_simple (pattern, text, 0, 0);
}

static void
test_octoprint (Fixture       *fixture,
                gconstpointer  data)
{
  SimPrinter *printer = start_farm (fixture, SIM_DIALECT_OCTOPRINT, 1);
  g_autofree char *base = g_strconcat ("octoPrint/", printer->id, "/", NULL);
  g_autofree char *presence = g_strconcat (base, "mqtt", NULL);
  g_autofree char *tool0 = g_strconcat (base, "temperature/tool0", NULL);
  g_autofree char *progress = g_strconcat (base, "progress/printing", NULL);
  g_autofree char *started = g_strconcat (base, "event/PrintStarted", NULL);
  g_autofree char *file_added = g_strconcat (base, "event/FileAdded", NULL);
  g_autoptr(GBytes) content = sim_gcode_generate ("benchy.gcode", 10, 215, 60, 7);
  Message *message;
  guint mark;

  connect_and_tick (fixture, printer);

  message = wait_for (fixture, presence, 0, NULL);
  g_assert_cmpstr (message->payload, ==, "connected");

  /* README: {"_timestamp": 1517190629, "actual": 65.3, "target": 210.0}, here in the code's key order. */
  message = wait_for (fixture, tool0, 0, NULL);
  g_assert_nonnull (message);
  g_test_message ("tool0: %s", message->payload);
  g_assert_true (matches ("^\\{\"actual\": [0-9]+\\.[0-9]+, \"target\": [0-9]+\\.[0-9]+, \"_timestamp\": [0-9]+\\}$", message->payload));

  /* Idle progress after connecting: derived in octoprint.md §1.4. */
  message = wait_for (fixture, progress, 0, NULL);
  g_assert_true (matches ("^\\{\"location\": \"\", \"path\": \"\", \"progress\": 0, \"_timestamp\": [0-9]+\\}$", message->payload));

  /* A file that arrives is an event. */
  mark = fixture->messages->len;
  sim_printer_add_file (printer, "benchy.gcode", content);
  message = wait_for (fixture, file_added, mark, NULL);
  g_assert_nonnull (message);
  g_assert_true (matches ("^\\{\"storage\": \"local\", \"path\": \"benchy.gcode\", \"name\": \"benchy.gcode\", "
                          "\"type\": \\[\"machinecode\", \"gcode\"\\], \"operation\": \"add\", "
                          "\"_event\": \"FileAdded\", \"_timestamp\": [0-9]+\\}$", message->payload));

  /* The derived PrintStarted example of octoprint.md §2. */
  if (sim_printer_is_busy (printer))
    sim_printer_cancel (printer, NULL);
  mark = fixture->messages->len;
  g_assert_true (sim_printer_start_job (printer, "benchy.gcode", NULL));
  message = wait_for (fixture, started, mark, NULL);
  g_assert_nonnull (message);
  g_assert_true (matches ("^\\{\"name\": \"benchy.gcode\", \"path\": \"benchy.gcode\", \"origin\": \"local\", "
                          "\"size\": [0-9]+, \"owner\": \"admin\", \"user\": \"admin\", "
                          "\"_event\": \"PrintStarted\", \"_timestamp\": [0-9]+\\}$", message->payload));
  g_assert_false (message->retained);

  /* The will is the plain text "disconnected". */
  mark = fixture->messages->len;
  sim_printer_go_offline (printer, FALSE, 0);
  message = wait_for (fixture, presence, mark, NULL);
  g_assert_cmpstr (message->payload, ==, "disconnected");
}

/* Bambu Lab (on the farm's broker: the TLS broker of its own is tested in the slow suite) */

static void
test_bambu (Fixture       *fixture,
            gconstpointer  data)
{
  SimPrinter *printer = start_farm (fixture, SIM_DIALECT_BAMBU, 2);
  SimPrinter *p1 = g_ptr_array_index (sim_farm_get_printers (fixture->farm), 1);
  g_autofree char *report = NULL;
  g_autofree char *request = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *print;
  Message *message;
  guint mark;

  /* The second printer is an A1, which sends deltas; the first an X1C. */
  printer = p1;
  report = g_strconcat ("device/", printer->serial, "/report", NULL);
  request = g_strconcat ("device/", printer->serial, "/request", NULL);
  connect_and_tick (fixture, printer);

  message = wait_for (fixture, report, 0, "push_status");
  g_assert_nonnull (message);
  print = json_object_get_object_member (parse_object (message->payload, parser), "print");
  g_assert_cmpstr (json_object_get_string_member (print, "command"), ==, "push_status");
  g_assert_cmpint (json_object_get_int_member (print, "msg"), ==, 0);
  /* sequence_id is a string in push_status. */
  g_assert_true (JSON_NODE_TYPE (json_object_get_member (print, "sequence_id")) == JSON_NODE_VALUE &&
                 json_node_get_value_type (json_object_get_member (print, "sequence_id")) == G_TYPE_STRING);
  for (const char * const *member = (const char *[]) { "nozzle_temper", "nozzle_target_temper", "bed_temper",
                                                       "bed_target_temper", "gcode_state", "mc_percent",
                                                       "mc_remaining_time", "gcode_file", "subtask_name", NULL };
       *member != NULL; member++)
    g_assert_true (json_object_has_member (print, *member));

  /* A delta carries only what changed, msg 1. */
  mark = fixture->messages->len;
  printer->bed_target = 65;
  sim_farm_tick (fixture->farm, 1.0);
  message = wait_for (fixture, report, mark, "push_status");
  print = json_object_get_object_member (parse_object (message->payload, parser), "print");
  g_assert_cmpint (json_object_get_int_member (print, "msg"), ==, 1);
  g_assert_true (json_object_has_member (print, "bed_target_temper"));
  g_assert_false (json_object_has_member (print, "gcode_state"));

  /* pushall, exactly as OBA sends it, gets a full report. */
  mark = fixture->messages->len;
  publish_request (fixture, request, "{\"pushing\": {\"sequence_id\": \"0\", \"command\": \"pushall\", \"version\": 1, \"push_target\": 1}}");
  message = wait_for (fixture, report, mark, "\"msg\":0");
  g_assert_nonnull (message);

  /* A print command is acknowledged with its own parameters and a result. */
  if (sim_printer_is_busy (printer))
    sim_printer_cancel (printer, NULL);
  mark = fixture->messages->len;
  {
    SimFile *file = g_ptr_array_index (printer->files, 0);
    g_autofree char *command = g_strdup_printf ("{\"print\": {\"sequence_id\": \"77\", \"command\": \"project_file\", "
                                                "\"param\": \"Metadata/plate_1.gcode\", \"url\": \"file:///sdcard/%s\", "
                                                "\"subtask_name\": \"%s\", \"use_ams\": false}}", file->name, file->name);

    publish_request (fixture, request, command);
  }
  message = wait_for (fixture, report, mark, "project_file");
  g_assert_nonnull (message);
  print = json_object_get_object_member (parse_object (message->payload, parser), "print");
  g_assert_cmpstr (json_object_get_string_member (print, "result"), ==, "success");
  g_assert_cmpstr (json_object_get_string_member (print, "sequence_id"), ==, "77");
  g_assert_true (sim_printer_is_busy (printer));

  mark = fixture->messages->len;
  sim_farm_tick (fixture->farm, 1.0);
  message = wait_for (fixture, report, mark, "gcode_state");
  g_assert_nonnull (strstr (message->payload, "\"gcode_state\":\"PREPARE\""));
}

/* Anycubic (bambu-anycubic.md B1-B6) */

#define ANYCUBIC_UUID "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

static SimFarm *
start_anycubic_farm (Fixture        *fixture,
                     const guint     mix[SIM_N_DIALECTS],
                     guint           n_printers,
                     guint32         seed,
                     guint           store_percent,
                     SimPrepareFunc  prepare,
                     gpointer        prepare_data)
{
  g_autoptr(GError) error = NULL;
  SimFarmOptions options = { 0 };
  SimFarm *farm;

  options.broker_uri = fixture->uri;
  options.n_printers = n_printers;
  options.seed = seed;
  options.time_scale = 1.0;
  options.tick_ms = 1000;
  options.mqtt5 = TRUE;
  options.no_random_jobs = TRUE;
  options.incident_store_percent = store_percent;
  options.prepare = prepare;
  options.hook_data = prepare_data;
  memcpy (options.mix, mix, sizeof options.mix);

  farm = sim_farm_new (&options, &error);
  g_assert_no_error (error);

  return farm;
}

static char *
anycubic_topic (SimPrinter *printer,
                const char *root,
                const char *leaf)
{
  if (g_str_equal (root, "public"))
    return g_strdup_printf ("anycubic/anycubicCloud/v1/printer/public/%u/%s/%s", printer->model_id, printer->serial, leaf);

  return g_strdup_printf ("anycubic/anycubicCloud/v1/%s/printer/%u/%s/%s", root, printer->model_id, printer->serial, leaf);
}

/* The report's envelope in kobra-unleashed's order: type, action, msgid,
 * state, timestamp, code, msg, data. */
static void
assert_envelope (const char *payload,
                 const char *type,
                 const char *action,
                 const char *state)
{
  g_autofree char *pattern = g_strdup_printf ("^\\{\"type\":\"%s\",\"action\":\"%s\",\"msgid\":\"[^\"]+\",\"state\":\"%s\","
                                              "\"timestamp\":[0-9]+,\"code\":[0-9]+,\"msg\":\"[^\"]*\",\"data\":.*\\}$",
                                              type, action, state);

  if (!matches (pattern, payload))
    g_test_message ("%s", payload);
  g_assert_true (matches (pattern, payload));
}

/* A loopback server of the farm's own, as kobra-unleashed serves uploads. */
static void
farm_files_cb (SoupServer        *server,
               SoupServerMessage *message,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  GBytes *cube = user_data;

  if (!g_str_equal (path, "/uploads/cube.gcode"))
    {
      soup_server_message_set_status (message, SOUP_STATUS_NOT_FOUND, NULL);
      return;
    }

  soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (message, "text/x-gcode", SOUP_MEMORY_COPY,
                                    g_bytes_get_data (cube, NULL), g_bytes_get_size (cube));
}

typedef struct
{
  SimPrinter *printer;
  const char *name;
} FileWanted;

static gboolean
has_file (Fixture       *fixture,
          gconstpointer  data)
{
  const FileWanted *wanted = data;

  return sim_printer_find_file (wanted->printer, wanted->name) != NULL;
}

static void
test_anycubic (Fixture       *fixture,
               gconstpointer  data)
{
  static const guint mix[SIM_N_DIALECTS] = { [SIM_DIALECT_ANYCUBIC] = 1 };
  g_autoptr(GBytes) cube = sim_gcode_generate ("cube.gcode", 12, 205, 60, 9);
  g_autoptr(SoupServer) server = soup_server_new (NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *base = NULL;
  g_autofree char *lastwill = NULL;
  g_autofree char *status = NULL;
  g_autofree char *tempature = NULL;
  g_autofree char *print = NULL;
  g_autofree char *file = NULL;
  g_autofree char *ota = NULL;
  g_autofree char *command = NULL;
  SimPrinter *printer;
  JsonObject *root;
  JsonArray *records;
  Message *message;
  guint mark;

  fixture->farm = start_anycubic_farm (fixture, mix, 1, 42, 12, NULL, NULL);
  printer = g_ptr_array_index (sim_farm_get_printers (fixture->farm), 0);
  /* Model ids of B2; device ids of 32 hex digits. */
  g_assert_true (printer->model_id == 20021 || printer->model_id == 20022 || printer->model_id == 20023);
  g_assert_true (matches ("^[0-9a-f]{32}$", printer->serial));

  lastwill = anycubic_topic (printer, "public", "lastWill/report");
  status = anycubic_topic (printer, "public", "status/report");
  tempature = anycubic_topic (printer, "public", "tempature/report");
  print = anycubic_topic (printer, "public", "print/report");
  file = anycubic_topic (printer, "public", "file/report");
  ota = anycubic_topic (printer, "public", "ota/report");

  soup_server_add_handler (server, NULL, farm_files_cb, cube, NULL);
  g_assert_true (soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error (error);
  {
    GSList *uris = soup_server_get_uris (server);

    base = g_uri_to_string (uris->data);
    g_slist_free_full (uris, (GDestroyNotify)g_uri_unref);
  }

  connect_and_tick (fixture, printer);

  /* Presence, status and temperatures, each in the envelope. */
  message = wait_for (fixture, lastwill, 0, "\"online\"");
  g_assert_nonnull (message);
  g_assert_true (matches ("^\\{\"type\":\"lastWill\",\"action\":\"onlineReport\",\"msgid\":\"" ANYCUBIC_UUID "\","
                          "\"state\":\"online\",\"timestamp\":[0-9]{13},\"code\":200,\"msg\":\"\",\"data\":null\\}$",
                          message->payload));
  g_assert_false (message->retained);
  message = wait_for (fixture, status, 0, NULL);
  g_assert_nonnull (message);
  assert_envelope (message->payload, "status", "workReport", "free");
  message = wait_for (fixture, tempature, 0, NULL);
  g_assert_nonnull (message);
  g_assert_true (matches ("^\\{\"type\":\"tempature\",\"action\":\"auto\",\"msgid\":\"" ANYCUBIC_UUID "\",\"state\":\"done\","
                          "\"timestamp\":[0-9]+,\"code\":200,\"msg\":\"\",\"data\":\\{\"curr_hotbed_temp\":[0-9]+,"
                          "\"curr_nozzle_temp\":[0-9]+,\"target_hotbed_temp\":0,\"target_nozzle_temp\":0\\}\\}$",
                          message->payload));

  /* kobra-unleashed's get_files, byte for byte as it publishes: the reply
   * lists every file, with the order's msgid. */
  mark = fixture->messages->len;
  command = anycubic_topic (printer, "server", "file/listLocal");
  publish_request (fixture, command,
                   "{\"data\": {\"task_mode\": 2}, \"msgid\": \"3c1b0f0e-2a4d-4e57-8d0b-1f5b2c7a9e11\", "
                   "\"timestamp\": 1705245340137, \"type\": \"file\", \"action\": \"listLocal\"}");
  message = wait_for (fixture, file, mark, "listLocal");
  g_assert_nonnull (message);
  assert_envelope (message->payload, "file", "listLocal", "done");
  root = parse_object (message->payload, parser);
  g_assert_cmpstr (json_object_get_string_member (root, "msgid"), ==, "3c1b0f0e-2a4d-4e57-8d0b-1f5b2c7a9e11");
  records = json_object_get_array_member (json_object_get_object_member (root, "data"), "records");
  g_assert_cmpuint (json_array_get_length (records), ==, printer->files->len);
  for (const char * const *member = (const char *[]) { "filename", "timestamp", "size", "is_dir", NULL }; *member != NULL; member++)
    g_assert_true (json_object_has_member (json_array_get_object_element (records, 0), *member));

  mark = fixture->messages->len;
  g_clear_pointer (&command, g_free);
  command = anycubic_topic (printer, "server", "file/listUdisk");
  publish_request (fixture, command, "{\"type\":\"file\",\"action\":\"listUdisk\",\"msgid\":\"u1\",\"data\":{\"path\":\"/\"}}");
  message = wait_for (fixture, file, mark, "listUdisk");
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message->payload, "\"records\":[{\"filename\":"));

  /* kobra-unleashed's print of a file on the printer: checking, then
   * preheating, then printing with progress, layers and minutes left. */
  mark = fixture->messages->len;
  g_clear_pointer (&command, g_free);
  command = anycubic_topic (printer, "server", "print/start");
  {
    SimFile *first = g_ptr_array_index (printer->files, 0);
    g_autofree char *order = g_strdup_printf ("{\"data\": {\"filename\": \"%s\", \"filepath\": \"\\/\", \"taskid\": \"4711\", "
                                              "\"task_mode\": 1, \"filetype\": 1}, \"msgid\": \"p1\", "
                                              "\"timestamp\": 1705245340137, \"type\": \"print\", \"action\": \"start\"}",
                                              first->name);

    publish_request (fixture, command, order);
  }
  message = wait_for (fixture, print, mark, "\"checking\"");
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message->payload, "\"taskid\":\"4711\""));
  g_assert_true (sim_printer_is_busy (printer));
  g_assert_nonnull (wait_for (fixture, status, mark, "\"busy\""));
  sim_farm_tick (fixture->farm, 1.0);
  g_assert_nonnull (wait_for (fixture, print, mark, "\"preheating\""));

  mark = fixture->messages->len;
  printer->hotend = printer->hotend_target;
  printer->bed = printer->bed_target;
  sim_farm_tick (fixture->farm, 1.0);
  sim_farm_tick (fixture->farm, 120.0);
  message = wait_for (fixture, print, mark, "\"printing\"");
  g_assert_nonnull (message);
  assert_envelope (message->payload, "print", "start", "printing");
  for (const char * const *member = (const char *[]) { "taskid", "filename", "progress", "curr_layer", "total_layers",
                                                       "print_time", "remain_time", "supplies_usage", NULL };
       *member != NULL; member++)
    g_assert_nonnull (strstr (message->payload, *member));

  /* Pause, resume (K2T's orders, on the action-only topic). */
  mark = fixture->messages->len;
  g_clear_pointer (&command, g_free);
  command = anycubic_topic (printer, "server", "pause");
  publish_request (fixture, command, "{\"type\":\"print\",\"action\":\"pause\",\"msgid\":\"p2\",\"data\":{\"taskid\":\"4711\"}}");
  message = wait_for (fixture, print, mark, "\"paused\"");
  g_assert_nonnull (message);
  assert_envelope (message->payload, "print", "pause", "paused");
  g_assert_cmpint (printer->state, ==, SIM_STATE_PAUSED);

  mark = fixture->messages->len;
  g_clear_pointer (&command, g_free);
  command = anycubic_topic (printer, "server", "resume");
  publish_request (fixture, command, "{\"type\":\"print\",\"action\":\"resume\",\"msgid\":\"p3\",\"data\":{\"taskid\":\"4711\"}}");
  message = wait_for (fixture, print, mark, "\"resumed\"");
  g_assert_nonnull (message);

  /* A second print while this one runs: refused with Rinkhals' 10101. */
  mark = fixture->messages->len;
  g_clear_pointer (&command, g_free);
  command = anycubic_topic (printer, "server", "print/start");
  publish_request (fixture, command, "{\"type\":\"print\",\"action\":\"start\",\"msgid\":\"p4\","
                                     "\"data\":{\"taskid\":\"-1\",\"filename\":\"other.gcode\",\"filetype\":1}}");
  message = wait_for (fixture, print, mark, "\"failed\"");
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message->payload, "\"code\":10101"));

  /* Finished: 100 %, nothing left. */
  mark = fixture->messages->len;
  printer->job_elapsed = printer->job_total - 0.5;
  sim_farm_tick (fixture->farm, 1.0);
  message = wait_for (fixture, print, mark, "\"finished\"");
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message->payload, "\"progress\":100"));
  g_assert_nonnull (strstr (message->payload, "\"remain_time\":0"));
  g_assert_nonnull (wait_for (fixture, status, mark, "\"free\""));

  /* A print from a URL on the farm's loopback server: fetched, stored
   * under its filename, listed, printed. */
  mark = fixture->messages->len;
  {
    g_autofree char *url = g_strconcat (base, "uploads/cube.gcode", NULL);
    g_autofree char *escaped = NULL;
    g_autofree char *order = NULL;
    g_autofree char *md5 = g_compute_checksum_for_bytes (G_CHECKSUM_MD5, cube);
    FileWanted wanted = { printer, "remote_cube.gcode" };

    /* json.dumps(…).replace('/', r'\/'), as kobra-unleashed sends it */
    {
      g_auto(GStrv) parts = g_strsplit (url, "/", -1);

      escaped = g_strjoinv ("\\/", parts);
    }
    order = g_strdup_printf ("{\"data\": {\"md5\": \"%s\", \"url\": \"%s\", \"filesize\": %" G_GSIZE_FORMAT ", "
                             "\"filename\": \"remote_cube.gcode\", \"filetype\": 0, \"taskid\": \"4712\", \"task_mode\": 1}, "
                             "\"msgid\": \"p5\", \"timestamp\": 1705245340137, \"type\": \"print\", \"action\": \"start\"}",
                             md5, escaped, g_bytes_get_size (cube));
    publish_request (fixture, command, order);

    message = wait_for (fixture, print, mark, "\"downloading\"");
    g_assert_nonnull (message);
    g_assert_nonnull (strstr (message->payload, "\"progress\":0"));
    g_assert_true (iterate_until (has_file, fixture, &wanted));
    g_assert_true (g_bytes_equal (sim_printer_find_file (printer, "remote_cube.gcode")->content, cube));
    g_assert_nonnull (wait_for (fixture, print, mark, "\"progress\":100"));
    g_assert_nonnull (wait_for (fixture, print, mark, "\"checking\""));
    g_assert_cmpstr (printer->job_file, ==, "remote_cube.gcode");
  }
  mark = fixture->messages->len;
  g_clear_pointer (&command, g_free);
  command = anycubic_topic (printer, "server", "file/listLocal");
  publish_request (fixture, command, "{\"type\":\"file\",\"action\":\"listLocal\",\"msgid\":\"l2\",\"data\":{\"path\":\"/\"}}");
  message = wait_for (fixture, file, mark, "listLocal");
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message->payload, "{\"filename\":\"remote_cube.gcode\","));

  /* Stop: `stoped`, as the firmware spells it. */
  mark = fixture->messages->len;
  g_clear_pointer (&command, g_free);
  command = anycubic_topic (printer, "server", "print/stop");
  publish_request (fixture, command, "{\"type\":\"print\",\"action\":\"stop\",\"msgid\":\"p6\",\"data\":{\"taskid\":\"-1\"}}");
  message = wait_for (fixture, print, mark, "\"stoped\"");
  g_assert_nonnull (message);
  assert_envelope (message->payload, "print", "stop", "stoped");

  /* A URL that is not there: the download fails, and says so. */
  mark = fixture->messages->len;
  {
    g_autofree char *order = g_strdup_printf ("{\"type\":\"print\",\"action\":\"start\",\"msgid\":\"p7\",\"data\":"
                                              "{\"taskid\":\"-1\",\"url\":\"%smissing.gcode\",\"filename\":\"missing.gcode\","
                                              "\"filetype\":0}}", base);

    g_clear_pointer (&command, g_free);
    command = anycubic_topic (printer, "server", "print/start");
    publish_request (fixture, command, order);
  }
  message = wait_for (fixture, print, mark, "\"failed\"");
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message->payload, "HTTP 404"));
  g_assert_null (sim_printer_find_file (printer, "missing.gcode"));

  /* A URL off this machine is never fetched. */
  mark = fixture->messages->len;
  publish_request (fixture, command, "{\"type\":\"print\",\"action\":\"start\",\"msgid\":\"p8\",\"data\":"
                                     "{\"url\":\"http://198.51.100.7/x.gcode\",\"filename\":\"x.gcode\"}}");
  message = wait_for (fixture, print, mark, "\"failed\"");
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message->payload, "loopback"));

  /* K2T's firmware update: on the broker for all to see, refused. */
  mark = fixture->messages->len;
  g_clear_pointer (&command, g_free);
  command = anycubic_topic (printer, "server", "ota/update");
  publish_request (fixture, command, "{\"type\":\"ota\",\"action\":\"update\",\"msgid\":\"o1\",\"data\":"
                                     "{\"firmware_url\":\"http://127.0.0.9:8000/fw.swu\",\"firmware_md5\":\"00\","
                                     "\"firmware_version\":\"9.9.9\",\"firmware_name\":\"fw.swu\",\"firmware_size\":1,"
                                     "\"force_update\":1}}");
  g_assert_nonnull (wait_for (fixture, command, mark, "firmware_url"));
  message = wait_for (fixture, ota, mark, NULL);
  g_assert_nonnull (message);
  assert_envelope (message->payload, "ota", "update", "failed");

  /* K2T's deleteLocal. */
  mark = fixture->messages->len;
  g_clear_pointer (&command, g_free);
  command = anycubic_topic (printer, "server", "file/deleteLocal");
  publish_request (fixture, command, "{\"type\":\"file\",\"action\":\"deleteLocal\",\"msgid\":\"d1\","
                                     "\"data\":{\"path\":\"/\",\"filename\":\"remote_cube.gcode\"}}");
  message = wait_for (fixture, file, mark, "deleteLocal");
  g_assert_nonnull (message);
  assert_envelope (message->payload, "file", "deleteLocal", "success");
  g_assert_null (sim_printer_find_file (printer, "remote_cube.gcode"));

  /* A print that dies with the power: the will, then on coming back the
   * failure with its reason in msg. */
  mark = fixture->messages->len;
  {
    SimFile *first = g_ptr_array_index (printer->files, 0);

    g_assert_true (sim_printer_start_job (printer, first->name, NULL));
  }
  sim_printer_go_offline (printer, FALSE, 0);
  message = wait_for (fixture, lastwill, mark, "\"offline\"");
  g_assert_nonnull (message);
  assert_envelope (message->payload, "lastWill", "onlineReport", "offline");

  mark = fixture->messages->len;
  sim_printer_come_back (printer);
  g_assert_nonnull (wait_for (fixture, lastwill, mark, "\"online\""));
  sim_farm_tick (fixture->farm, 1.0);
  message = wait_for (fixture, print, mark, "\"failed\"");
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message->payload, "\"msg\":\"Lost power during a print\""));

  /* The printer's HTTP client first, then the server and its connections. */
  g_clear_pointer (&fixture->farm, sim_farm_free);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  soup_server_disconnect (server);
}

/* LAN mode: the printer's own broker, over TLS with its account. */

static gboolean
prepare_lan_cb (SimPrinter  *printer,
                gpointer     data,
                GError     **error)
{
  SimAnycubicBrokers *brokers = data;

  if (printer->dialect != SIM_DIALECT_ANYCUBIC_LAN)
    return TRUE;

  if (!sim_anycubic_brokers_add (brokers, printer->serial, printer->username, printer->access_code,
                                 &printer->broker_uri, &printer->internal_uri, error))
    return FALSE;
  printer->ca_file = g_strdup (sim_anycubic_brokers_get_ca_file (brokers));
  return TRUE;
}

static void
test_anycubic_lan (Fixture       *fixture,
                   gconstpointer  data)
{
  static const guint mix[SIM_N_DIALECTS] = { [SIM_DIALECT_ANYCUBIC_LAN] = 1 };
  g_autoptr(GError) error = NULL;
  SimAnycubicBrokers *brokers = sim_anycubic_brokers_new (TRUE, &error);
  SimMqttOptions options = { 0 };
  Fixture lan = { 0 };
  SimMqtt *client;
  SimPrinter *printer;
  g_autofree char *inventory = NULL;
  g_autofree char *command = NULL;
  g_autofree char *info = NULL;
  g_autofree char *tempature = NULL;
  Message *message;
  guint mark;

  g_assert_no_error (error);
  fixture->farm = start_anycubic_farm (fixture, mix, 1, 42, 12, prepare_lan_cb, brokers);
  printer = g_ptr_array_index (sim_farm_get_printers (fixture->farm), 0);
  g_assert_true (printer->model_id >= 20024 && printer->model_id <= 20029);
  g_assert_true (g_str_has_prefix (printer->broker_uri, "ssl://127.0.0.1:"));
  g_assert_true (matches ("^user[A-Za-z0-9]{8}$", printer->username));
  g_assert_true (matches ("^[A-Za-z0-9]{15}$", printer->access_code));

  /* The inventory says how to reach it. */
  inventory = sim_farm_dup_inventory (fixture->farm);
  g_assert_nonnull (strstr (inventory, "connector=anycubic\n"));
  g_assert_nonnull (strstr (inventory, printer->serial));
  g_assert_nonnull (strstr (inventory, "uri=ssl://127.0.0.1:"));
  g_assert_nonnull (strstr (inventory, "username=user"));
  g_assert_nonnull (strstr (inventory, "access-code="));
  g_assert_nonnull (strstr (inventory, "model-id=2002"));
  g_assert_null (strstr (inventory, "broker=farm"));

  /* A client of its broker, as Drover would be: TLS checked against the
   * CA and the address, the account of device_account.json, MQTT 5. It
   * keeps what it hears apart from the farm broker's listener. */
  lan.messages = g_ptr_array_new_with_free_func ((GDestroyNotify)message_free);
  options.uri = printer->broker_uri;
  options.client_id = "test-lan-client";
  options.username = printer->username;
  options.password = printer->access_code;
  options.ca_file = printer->ca_file;
  options.mqtt5 = TRUE;
  client = sim_mqtt_new (&options, listener_message_cb, listener_connected_cb, &lan, &error);
  g_assert_no_error (error);
  sim_mqtt_subscribe (client, "#", 1);
  g_assert_true (iterate_until (printer_connected, fixture, printer));
  g_assert_true (iterate_until (listener_is_ready, &lan, NULL));
  settle ();

  tempature = anycubic_topic (printer, "public", "tempature/report");
  sim_farm_tick (fixture->farm, 1.0);
  message = wait_for (&lan, tempature, 0, NULL);
  g_assert_nonnull (message);
  /* LAN timestamps count from the printer's start (Rinkhals' 100107). */
  g_assert_true (matches ("\"timestamp\":[0-9]{1,9},", message->payload));

  /* Rinkhals' info query, verbatim, on the slicer topic. */
  mark = lan.messages->len;
  command = anycubic_topic (printer, "slicer", "info");
  info = anycubic_topic (printer, "public", "info/report");
  g_assert_true (sim_mqtt_publish (client, command,
                                   "{\"type\": \"info\", \"action\": \"query\", "
                                   "\"msgid\": \"02fd3987-a2ff-244e-7c95-7fe257a9ef70\", \"timestamp\": 1660201929871}",
                                   -1, 1, FALSE));
  message = wait_for (&lan, info, mark, NULL);
  g_assert_nonnull (message);
  assert_envelope (message->payload, "info", "report", "done");
  g_assert_nonnull (strstr (message->payload, "\"msgid\":\"02fd3987-a2ff-244e-7c95-7fe257a9ef70\""));
  g_assert_nonnull (strstr (message->payload, "\"temp\":{\"curr_hotbed_temp\":"));

  /* Orders on the web topic too; a file list answers. */
  mark = lan.messages->len;
  g_clear_pointer (&command, g_free);
  command = anycubic_topic (printer, "web", "file");
  g_assert_true (sim_mqtt_publish (client, command, "{\"type\":\"file\",\"action\":\"listLocal\",\"msgid\":\"w1\","
                                   "\"timestamp\":1733258023447,\"data\":{\"path\":\"/\"}}", -1, 1, FALSE));
  g_clear_pointer (&command, g_free);
  command = anycubic_topic (printer, "public", "file/report");
  g_assert_nonnull (wait_for (&lan, command, mark, "\"msgid\":\"w1\""));

  /* Nothing of it reached the farm's broker. */
  for (guint i = 0; i < fixture->messages->len; i++)
    g_assert_false (g_str_has_prefix (((Message *)fixture->messages->pdata[i])->topic, "anycubic/"));

  sim_farm_free (g_steal_pointer (&fixture->farm));
  sim_mqtt_free (client);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_ptr_array_unref (lan.messages);
  sim_anycubic_brokers_free (brokers);
}

/* The 2024 incident: a stranger's url orders, and a share that stores. */

typedef struct
{
  GPtrArray *victims;
  guint      n_store;
} Outcome;

static gboolean
downloads_settled (Fixture       *fixture,
                   gconstpointer  data)
{
  const Outcome *outcome = data;
  guint answered = 0;

  for (guint i = 0; i < fixture->messages->len; i++)
    {
      Message *message = g_ptr_array_index (fixture->messages, i);

      if (g_str_has_suffix (message->topic, "/print/report") &&
          (strstr (message->payload, "HTTP 503") != NULL || strstr (message->payload, "check failed") != NULL))
        answered++;
    }

  return answered >= outcome->victims->len;
}

static char *
run_anycubic_readme (Fixture *fixture,
                     guint32  seed,
                     guint    n_victims,
                     guint    store_percent,
                     guint    expected_storers)
{
  static const guint mix[SIM_N_DIALECTS] = { [SIM_DIALECT_ANYCUBIC] = 4, [SIM_DIALECT_NATIVE] = 1 };
  g_autoptr(GPtrArray) victims = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) storers = g_string_new (NULL);
  GPtrArray *printers;
  Outcome outcome = { victims, expected_storers };
  guint orders = 0;
  guint stored = 0;

  g_ptr_array_set_size (fixture->messages, 0);
  fixture->farm = start_anycubic_farm (fixture, mix, 10, seed, store_percent, NULL, NULL);
  printers = sim_farm_get_printers (fixture->farm);
  for (guint i = 0; i < printers->len; i++)
    g_assert_true (iterate_until (printer_connected, fixture, printers->pdata[i]));
  sim_farm_prepare_intruder (fixture->farm);
  settle ();

  g_assert_cmpuint (sim_farm_incident (fixture->farm, SIM_INCIDENT_README, n_victims, victims), ==, n_victims);
  g_assert_true (iterate_until (downloads_settled, fixture, &outcome));
  settle ();

  /* The orders on the broker: the stranger's url, the planted name. */
  for (guint i = 0; i < fixture->messages->len; i++)
    {
      Message *message = g_ptr_array_index (fixture->messages, i);

      if (g_str_has_prefix (message->topic, "anycubic/anycubicCloud/v1/server/printer/") &&
          g_str_has_suffix (message->topic, "/print/start"))
        {
          orders++;
          g_assert_true (matches ("\"url\":\"http://127\\.0\\.0\\.(9|1):[0-9]+/message\\.txt\\?d=[0-9a-f]{32}\"",
                                  message->payload));
          g_assert_nonnull (strstr (message->payload, "\"filename\":\"hacked_machine_readme.gcode\""));
          g_assert_true (matches ("^\\{\"type\":\"print\",\"action\":\"start\",\"msgid\":\"" ANYCUBIC_UUID "\","
                                  "\"timestamp\":[0-9]+,\"data\":\\{", message->payload));
        }
    }
  g_assert_cmpuint (orders, ==, n_victims);

  /* Only Anycubic printers, and a share of them stored it: prose. */
  for (guint i = 0; i < printers->len; i++)
    {
      SimPrinter *printer = printers->pdata[i];
      SimFile *file = sim_printer_find_file (printer, "hacked_machine_readme.gcode");
      gboolean victim = FALSE;

      for (guint j = 0; j < victims->len; j++)
        victim |= g_str_equal (victims->pdata[j], printer->id);
      if (victim)
        g_assert_cmpint (printer->dialect, ==, SIM_DIALECT_ANYCUBIC);
      if (file == NULL)
        continue;

      g_assert_true (victim);
      g_assert_true (g_str_has_prefix (g_bytes_get_data (file->content, NULL), "Hello."));
      /* Not G-code: the firmware's check refuses to print it. */
      g_assert_false (sim_printer_is_busy (printer));
      g_string_append_printf (storers, "%s%s", storers->len > 0 ? "," : "", printer->id);
      stored++;
    }
  g_assert_cmpuint (stored, ==, expected_storers);

  sim_farm_free (g_steal_pointer (&fixture->farm));
  sim_farm_release_intruder ();
  while (g_main_context_iteration (NULL, FALSE))
    ;

  return g_string_free (g_steal_pointer (&storers), FALSE);
}

static void
test_incident_anycubic (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autofree char *first = NULL;
  g_autofree char *again = NULL;
  g_autofree char *small = NULL;

  /* 6 victims, 25 %: 2 store it; the same two for the same seed. */
  first = run_anycubic_readme (fixture, 7, 6, 25, 2);
  again = run_anycubic_readme (fixture, 7, 6, 25, 2);
  g_assert_cmpstr (first, ==, again);

  /* One victim at the default 12 %: it stores it, so a demo shows one. */
  small = run_anycubic_readme (fixture, 7, 1, 12, 1);
  g_assert_cmpstr (small, !=, "");
}

/* Drover native */

static void
test_native (Fixture       *fixture,
             gconstpointer  data)
{
  SimPrinter *printer = start_farm (fixture, SIM_DIALECT_NATIVE, 1);
  g_autofree char *root = g_strconcat ("drover/v1/", printer->id, "/", NULL);
  g_autofree char *presence = g_strconcat (root, "presence", NULL);
  g_autofree char *state = g_strconcat (root, "state", NULL);
  g_autofree char *files = g_strconcat (root, "files", NULL);
  g_autofree char *cmd = g_strconcat (root, "cmd", NULL);
  g_autofree char *reply = g_strconcat (root, "reply", NULL);
  g_autofree char *events = g_strconcat (root, "events", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object;
  Message *message;
  guint mark;

  connect_and_tick (fixture, printer);

  message = wait_for (fixture, presence, 0, NULL);
  object = parse_object (message->payload, parser);
  g_assert_cmpint (json_object_get_int_member (object, "v"), ==, 1);
  g_assert_true (json_object_get_boolean_member (object, "online"));

  message = wait_for (fixture, state, 0, NULL);
  object = parse_object (message->payload, parser);
  g_assert_true (json_object_has_member (object, "ts"));
  g_assert_true (json_object_has_member (json_object_get_object_member (object, "hotend"), "actual"));
  g_assert_true (json_object_has_member (json_object_get_object_member (object, "bed"), "target"));
  g_assert_true (json_object_has_member (object, "job"));

  message = wait_for (fixture, files, 0, NULL);
  g_assert_nonnull (strstr (message->payload, "\"sha256\":\""));

  /* A command gets a reply with its id; an unknown one says why. */
  mark = fixture->messages->len;
  publish_request (fixture, cmd, "{\"v\":1,\"id\":\"c-1\",\"command\":\"heaters_off\"}");
  message = wait_for (fixture, reply, mark, "c-1");
  g_assert_cmpstr (message->payload, ==, "{\"v\":1,\"id\":\"c-1\",\"ok\":true,\"error\":null}");
  message = wait_for (fixture, events, mark, "\"type\":\"command\"");
  g_assert_nonnull (strstr (message->payload, "M104 S0\\nM140 S0"));

  mark = fixture->messages->len;
  publish_request (fixture, cmd, "{\"v\":1,\"id\":\"c-2\",\"command\":\"self_destruct\"}");
  message = wait_for (fixture, reply, mark, "c-2");
  g_assert_nonnull (strstr (message->payload, "\"ok\":false"));
  g_assert_nonnull (strstr (message->payload, "self_destruct"));

  /* Not JSON: answered, nothing done. */
  mark = fixture->messages->len;
  publish_request (fixture, cmd, "\x01\x02garbage");
  message = wait_for (fixture, reply, mark, NULL);
  g_assert_nonnull (strstr (message->payload, "\"ok\":false"));

  /* A clean shutdown says so; a death leaves the will. */
  mark = fixture->messages->len;
  sim_printer_go_offline (printer, FALSE, 0);
  message = wait_for (fixture, presence, mark, NULL);
  g_assert_cmpstr (message->payload, ==, "{\"v\":1,\"online\":false,\"reason\":\"lost\"}");
}

/* The incident switch */

static void
test_incident_readme (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GPtrArray) victims = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  SimFarmOptions options = { 0 };
  GPtrArray *printers;
  gint64 deadline;

  options.broker_uri = fixture->uri;
  options.n_printers = 6;
  options.seed = 3;
  options.time_scale = 1.0;
  options.tick_ms = 1000;
  options.mqtt5 = TRUE;
  options.mix[SIM_DIALECT_NATIVE] = 1;
  options.mix[SIM_DIALECT_MOONRAKER] = 1;
  options.mix[SIM_DIALECT_OCTOPRINT] = 1;
  fixture->farm = sim_farm_new (&options, &error);
  g_assert_no_error (error);
  printers = sim_farm_get_printers (fixture->farm);
  for (guint i = 0; i < printers->len; i++)
    g_assert_true (iterate_until (printer_connected, fixture, printers->pdata[i]));
  sim_farm_prepare_intruder (fixture->farm);
  settle ();

  g_assert_cmpuint (sim_farm_incident (fixture->farm, SIM_INCIDENT_README, 4, victims), ==, 4);
  g_assert_cmpuint (victims->len, ==, 4);

  /* The native printers take the order from the stranger's client, over
   * the broker; give it time to arrive. */
  deadline = g_get_monotonic_time () + WAIT_US;
  while (g_get_monotonic_time () < deadline)
    {
      guint planted = 0;

      for (guint i = 0; i < victims->len; i++)
        planted += sim_printer_find_file (sim_farm_find_printer (fixture->farm, victims->pdata[i]),
                                          "hacked_machine_readme.gcode") != NULL;
      if (planted == victims->len)
        break;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }

  for (guint i = 0; i < victims->len; i++)
    {
      SimPrinter *victim = sim_farm_find_printer (fixture->farm, victims->pdata[i]);
      SimFile *file = sim_printer_find_file (victim, "hacked_machine_readme.gcode");
      const char *content;

      g_assert_nonnull (file);
      /* Prose, not G-code. */
      content = g_bytes_get_data (file->content, NULL);
      g_assert_true (g_str_has_prefix (content, "Hello."));
      g_assert_null (strstr (content, "G1 "));
    }

  /* Printers it did not reach have no such file. */
  for (guint i = 0; i < printers->len; i++)
    {
      SimPrinter *printer = printers->pdata[i];
      gboolean victim = FALSE;

      for (guint j = 0; j < victims->len; j++)
        victim |= g_str_equal (victims->pdata[j], printer->id);
      if (!victim)
        g_assert_null (sim_printer_find_file (printer, "hacked_machine_readme.gcode"));
    }

  /* On the broker: the stranger's order to a native printer, and the
   * OctoPrint plugin's FileAdded. */
  settle ();
  {
    gboolean order_seen = FALSE;
    gboolean file_added_seen = FALSE;

    for (guint i = 0; i < fixture->messages->len; i++)
      {
        Message *message = g_ptr_array_index (fixture->messages, i);

        order_seen |= g_str_has_suffix (message->topic, "/cmd") &&
                      strstr (message->payload, "\"command\":\"download\"") != NULL &&
                      strstr (message->payload, "message.txt") != NULL;
        file_added_seen |= g_str_has_suffix (message->topic, "/event/FileAdded") &&
                           strstr (message->payload, "hacked_machine_readme.gcode") != NULL;
      }
    g_assert_true (order_seen);
    g_assert_true (file_added_seen);
  }
}

static void
test_incident_gcode_and_print (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autoptr(GPtrArray) planted = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) started = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) gcode = sim_gcode_incident_gcode ();
  const char *text = g_bytes_get_data (gcode, NULL);
  SimFarmOptions options = { 0 };
  GPtrArray *printers;
  gint64 deadline;
  guint busy = 0;

  /* Real-looking G-code that resets and saves the EEPROM and heats to 320 °C. */
  g_assert_true (g_str_has_prefix (text, "; generated by PrusaSlicer"));
  g_assert_nonnull (strstr (text, "\nM502"));
  g_assert_nonnull (strstr (text, "\nM500"));
  g_assert_nonnull (strstr (text, "\nM104 S320"));

  options.broker_uri = fixture->uri;
  options.n_printers = 4;
  options.seed = 5;
  options.time_scale = 1.0;
  options.tick_ms = 1000;
  options.mqtt5 = TRUE;
  options.mix[SIM_DIALECT_MOONRAKER] = 1;
  fixture->farm = sim_farm_new (&options, &error);
  g_assert_no_error (error);
  printers = sim_farm_get_printers (fixture->farm);
  for (guint i = 0; i < printers->len; i++)
    {
      SimPrinter *printer = printers->pdata[i];

      g_assert_true (iterate_until (printer_connected, fixture, printer));
      if (sim_printer_is_busy (printer))
        sim_printer_cancel (printer, NULL);
    }
  sim_farm_prepare_intruder (fixture->farm);
  settle ();

  g_assert_cmpuint (sim_farm_incident (fixture->farm, SIM_INCIDENT_GCODE, 2, planted), ==, 2);
  for (guint i = 0; i < planted->len; i++)
    g_assert_nonnull (sim_printer_find_file (sim_farm_find_printer (fixture->farm, planted->pdata[i]), "firmware_fix.gcode"));

  /* A print nobody asked for: the stranger's JSON-RPC on the request topic. */
  g_assert_cmpuint (sim_farm_incident (fixture->farm, SIM_INCIDENT_PRINT, 3, started), ==, 3);
  deadline = g_get_monotonic_time () + WAIT_US;
  while (busy < started->len && g_get_monotonic_time () < deadline)
    {
      busy = 0;
      for (guint i = 0; i < started->len; i++)
        busy += sim_printer_is_busy (sim_farm_find_printer (fixture->farm, started->pdata[i]));
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_cmpuint (busy, ==, 3);

  settle ();
  {
    guint orders = 0;

    for (guint i = 0; i < fixture->messages->len; i++)
      {
        Message *message = g_ptr_array_index (fixture->messages, i);

        orders += g_str_has_suffix (message->topic, "/moonraker/api/request") &&
                  strstr (message->payload, "\"method\":\"printer.print.start\"") != NULL;
      }
    g_assert_cmpuint (orders, ==, 3);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/sim/moonraker", Fixture, NULL, fixture_setup, test_moonraker, fixture_teardown);
  g_test_add ("/sim/octoprint", Fixture, NULL, fixture_setup, test_octoprint, fixture_teardown);
  g_test_add ("/sim/bambu", Fixture, NULL, fixture_setup, test_bambu, fixture_teardown);
  g_test_add ("/sim/anycubic", Fixture, NULL, fixture_setup, test_anycubic, fixture_teardown);
  g_test_add ("/sim/anycubic-lan", Fixture, NULL, fixture_setup, test_anycubic_lan, fixture_teardown);
  g_test_add ("/sim/native", Fixture, NULL, fixture_setup, test_native, fixture_teardown);
  g_test_add ("/sim/incident/readme", Fixture, NULL, fixture_setup, test_incident_readme, fixture_teardown);
  g_test_add ("/sim/incident/gcode-and-print", Fixture, NULL, fixture_setup, test_incident_gcode_and_print, fixture_teardown);
  g_test_add ("/sim/incident/anycubic", Fixture, NULL, fixture_setup, test_incident_anycubic, fixture_teardown);

  return g_test_run ();
}
