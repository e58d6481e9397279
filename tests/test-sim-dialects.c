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
#include <string.h>

#include "drover-test-broker.h"
#include "sim-farm.h"
#include "sim-gcode.h"

#define WAIT_US (5 * G_USEC_PER_SEC)

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
  g_test_add ("/sim/native", Fixture, NULL, fixture_setup, test_native, fixture_teardown);
  g_test_add ("/sim/incident/readme", Fixture, NULL, fixture_setup, test_incident_readme, fixture_teardown);
  g_test_add ("/sim/incident/gcode-and-print", Fixture, NULL, fixture_setup, test_incident_gcode_and_print, fixture_teardown);

  return g_test_run ();
}
