/* test-decode.c: each dialect's messages, read as the reference pages show them
 *
 * The payloads are quoted from docs/protocol.md and from the reference
 * pages (shared/reference/moonraker.md §2, octoprint.md §1-2,
 * bambu-anycubic.md A3 and B2-B5); where a page builds an example rather than quoting
 * one, the test says so.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "drover-decode.h"

#define EPSILON 1e-9

/* Decodes @payload, a C string, and checks the status. */
static DroverDecodeStatus
decode (DroverDecodeFunc   func,
        const char        *topic,
        const char        *payload,
        char             **key,
        DroverUpdate      *update)
{
  return func (topic, (const guint8 *) payload, strlen (payload), key, update);
}

/* The message must be refused whole: @expected, no key, nothing named,
 * nothing allocated. */
static void
assert_refused_bytes (DroverDecodeFunc    func,
                      const char         *topic,
                      const guint8       *payload,
                      gsize               length,
                      DroverDecodeStatus  expected)
{
  DroverUpdate update = { 0 };
  char *key = (char *) "not touched";
  DroverDecodeStatus status;

  status = func (topic, payload, length, &key, &update);

  if (status != expected)
    g_test_message ("topic %s, payload %.*s", topic, (int) MIN (length, 200), (const char *) payload);
  g_assert_cmpint (status, ==, expected);
  g_assert_null (key);
  g_assert_cmpuint (update.fields, ==, 0);
  g_assert_null (update.current_file);
  g_assert_null (update.error_text);
  g_assert_null (update.events);
}

/* The message is read whole into exactly one event of @kind, and no state. */
static DroverEvent *
assert_event (DroverDecodeFunc  func,
              const char       *topic,
              const char       *payload,
              DroverEventKind   kind)
{
  DroverUpdate update = { 0 };
  g_autofree char *key = NULL;
  DroverEvent *event;

  g_assert_cmpint (func (topic, (const guint8 *) payload, strlen (payload), &key, &update), ==, DROVER_DECODE_OK);
  g_assert_nonnull (key);
  g_assert_cmpuint (update.fields, ==, 0);
  g_assert_nonnull (update.events);
  g_assert_cmpuint (update.events->len, ==, 1);
  event = drover_event_ref (g_ptr_array_index (update.events, 0));
  g_assert_cmpint (event->kind, ==, kind);
  drover_update_clear (&update);

  return event;
}

static void
assert_refused (DroverDecodeFunc    func,
                const char         *topic,
                const char         *payload,
                DroverDecodeStatus  expected)
{
  assert_refused_bytes (func, topic, (const guint8 *) payload, strlen (payload), expected);
}

/* ------------------------------------------------------------------ */
/* Native (docs/protocol.md)                                           */

#define NATIVE_TOPIC "drover/v1/diy-corexy-1/state"

/* docs/protocol.md, "### `state`", verbatim. */
static const char native_state_example[] =
  "{\"v\":1,\"ts\":\"2026-11-25T10:02:11.204Z\",\"state\":\"printing\",\n"
  " \"hotend\":{\"actual\":214.8,\"target\":215.0},\"bed\":{\"actual\":59.9,\"target\":60.0},\n"
  " \"job\":{\"file\":\"bracket_v3_ASA.gcode\",\"progress\":0.4212,\"elapsed_s\":2130,\"remaining_s\":2927,\"layer\":51,\"layers\":120},\n"
  " \"error\":null}";

static void
test_native_state (void)
{
  DroverUpdate update = { 0 };
  g_autofree char *key = NULL;

  g_assert_cmpint (decode (drover_decode_native, NATIVE_TOPIC, native_state_example, &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpstr (key, ==, "diy-corexy-1");
  g_assert_cmpuint (update.fields, ==,
                    DROVER_UPDATE_STATE |
                    DROVER_UPDATE_HOTEND_TEMPERATURE | DROVER_UPDATE_HOTEND_TARGET |
                    DROVER_UPDATE_BED_TEMPERATURE | DROVER_UPDATE_BED_TARGET |
                    DROVER_UPDATE_CURRENT_FILE | DROVER_UPDATE_PROGRESS | DROVER_UPDATE_TIME_LEFT |
                    DROVER_UPDATE_ERROR_TEXT);
  g_assert_cmpint (update.state, ==, DROVER_PRINTER_STATE_PRINTING);
  g_assert_cmpfloat_with_epsilon (update.hotend_temperature, 214.8, EPSILON);
  g_assert_cmpfloat_with_epsilon (update.hotend_target, 215.0, EPSILON);
  g_assert_cmpfloat_with_epsilon (update.bed_temperature, 59.9, EPSILON);
  g_assert_cmpfloat_with_epsilon (update.bed_target, 60.0, EPSILON);
  g_assert_cmpstr (update.current_file, ==, "bracket_v3_ASA.gcode");
  g_assert_cmpfloat_with_epsilon (update.progress, 0.4212, EPSILON);
  g_assert_cmpint (update.time_left, ==, 2927);
  g_assert_null (update.error_text);

  drover_update_clear (&update);
}

static void
test_native_no_job (void)
{
  DroverUpdate update = { 0 };
  g_autofree char *key = NULL;

  g_assert_cmpint (decode (drover_decode_native, NATIVE_TOPIC,
                           "{\"v\":1,\"state\":\"idle\",\"job\":null}", &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpuint (update.fields, ==,
                    DROVER_UPDATE_STATE | DROVER_UPDATE_CURRENT_FILE |
                    DROVER_UPDATE_PROGRESS | DROVER_UPDATE_TIME_LEFT);
  g_assert_cmpint (update.state, ==, DROVER_PRINTER_STATE_IDLE);
  g_assert_null (update.current_file);
  g_assert_cmpfloat (update.progress, ==, 0.0);
  g_assert_cmpint (update.time_left, ==, -1);
  drover_update_clear (&update);
  g_clear_pointer (&key, g_free);

  /* An error with its text; remaining_s -1 is "unknown". */
  g_assert_cmpint (decode (drover_decode_native, NATIVE_TOPIC,
                           "{\"v\":1,\"state\":\"error\",\"job\":{\"remaining_s\":-1},"
                           "\"error\":\"Thermal runaway on the hotend\"}", &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpuint (update.fields, ==,
                    DROVER_UPDATE_STATE | DROVER_UPDATE_TIME_LEFT | DROVER_UPDATE_ERROR_TEXT);
  g_assert_cmpint (update.state, ==, DROVER_PRINTER_STATE_ERROR);
  g_assert_cmpint (update.time_left, ==, -1);
  g_assert_cmpstr (update.error_text, ==, "Thermal runaway on the hotend");
  drover_update_clear (&update);
}

static void
test_native_presence (void)
{
  DroverUpdate update = { 0 };
  g_autofree char *key = NULL;

  /* docs/protocol.md, "### `presence`", verbatim. */
  g_assert_cmpint (decode (drover_decode_native, "drover/v1/diy-corexy-1/presence",
                           "{\"v\":1,\"online\":true,\"since\":\"2026-11-25T10:00:00.000Z\","
                           "\"name\":\"DIY CoreXY #1\",\"agent\":\"drover-sim 0.1.0\"}",
                           &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpstr (key, ==, "diy-corexy-1");
  g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_ONLINE);
  g_assert_true (update.online);
  drover_update_clear (&update);
  g_clear_pointer (&key, g_free);

  /* The will. */
  g_assert_cmpint (decode (drover_decode_native, "drover/v1/diy-corexy-1/presence",
                           "{\"v\":1,\"online\":false,\"reason\":\"lost\"}", &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_ONLINE | DROVER_UPDATE_STATE);
  g_assert_false (update.online);
  g_assert_cmpint (update.state, ==, DROVER_PRINTER_STATE_OFFLINE);
}

static void
test_native_ignored (void)
{
  /* docs/protocol.md examples of the other leaves: events, not state. */
  {
    DroverEvent *event = assert_event (drover_decode_native, "drover/v1/diy-corexy-1/files",
                                       "{\"v\":1,\"ts\":\"2026-11-25T10:02:11.204Z\",\"files\":[\n"
                                       "  {\"name\":\"benchy.gcode\",\"size\":10573,\"modified\":\"2026-11-07T09:47:11Z\",\"sha256\":\"340f3b\"}]}",
                                       DROVER_EVENT_FILE_LIST);
    DroverFileInfo *info = g_ptr_array_index (event->files, 0);

    g_assert_cmpuint (event->files->len, ==, 1);
    g_assert_cmpstr (info->name, ==, "benchy.gcode");
    g_assert_cmpint (info->size, ==, 10573);
    g_assert_cmpint (info->modified, ==, 1794044831);   /* 2026-11-07T09:47:11Z */
    g_assert_cmpstr (info->sha256, ==, "340f3b");
    drover_event_unref (event);

    event = assert_event (drover_decode_native, "drover/v1/diy-corexy-1/events",
                          "{\"v\":1,\"ts\":\"2026-11-25T10:02:11.204Z\",\"seq\":18,\"type\":\"job_started\",\"file\":\"benchy.gcode\"}",
                          DROVER_EVENT_JOB_STARTED);
    g_assert_cmpstr (event->file, ==, "benchy.gcode");
    drover_event_unref (event);

    /* The incident's order, as the stranger's client publishes it. */
    event = assert_event (drover_decode_native, "drover/v1/diy-corexy-1/cmd",
                          "{\"v\":1,\"id\":\"6f1c\",\"command\":\"download\",\"url\":\"http://127.0.0.2:8000/message.txt\","
                          "\"file\":\"hacked_machine_readme.gcode\"}",
                          DROVER_EVENT_ORDER);
    g_assert_cmpstr (event->command, ==, "download");
    g_assert_cmpstr (event->url, ==, "http://127.0.0.2:8000/message.txt");
    g_assert_cmpstr (event->file, ==, "hacked_machine_readme.gcode");
    g_assert_cmpstr (event->request_id, ==, "6f1c");
    drover_event_unref (event);

    event = assert_event (drover_decode_native, "drover/v1/diy-corexy-1/cmd",
                          "{\"v\":1,\"id\":\"6f1c\",\"command\":\"pause\"}", DROVER_EVENT_ORDER);
    g_assert_cmpstr (event->command, ==, "pause");
    drover_event_unref (event);

    /* Found by fuzz-decode: an empty string names nothing, as in the
     * other dialects. */
    event = assert_event (drover_decode_native, "drover/v1/diy-corexy-1/cmd",
                          "{\"v\":1,\"id\":\"\",\"command\":\"download\",\"url\":\"\",\"file\":\"\"}",
                          DROVER_EVENT_ORDER);
    g_assert_null (event->url);
    g_assert_null (event->file);
    g_assert_null (event->request_id);
    drover_event_unref (event);
  }
  /* A file list with a nameless file, or an event of the wrong shape. */
  assert_refused (drover_decode_native, "drover/v1/diy-corexy-1/files",
                  "{\"v\":1,\"files\":[{\"name\":\"\",\"size\":1}]}", DROVER_DECODE_MALFORMED);
  assert_refused (drover_decode_native, "drover/v1/diy-corexy-1/files",
                  "{\"v\":1,\"files\":[{\"name\":\"a.gcode\",\"size\":-4}]}", DROVER_DECODE_MALFORMED);
  assert_refused (drover_decode_native, "drover/v1/diy-corexy-1/events",
                  "{\"v\":1,\"type\":\"file_added\"}", DROVER_DECODE_MALFORMED);
  assert_refused (drover_decode_native, "drover/v1/diy-corexy-1/cmd",
                  "{\"v\":1,\"id\":\"x\",\"command\":\"gcode\"}", DROVER_DECODE_MALFORMED);
  assert_refused (drover_decode_native, "drover/v1/diy-corexy-1/reply",
                  "{\"v\":1,\"id\":\"6f1c\",\"ok\":true,\"error\":null}", DROVER_DECODE_IGNORED);
  /* A state that names nothing Drover shows. */
  assert_refused (drover_decode_native, NATIVE_TOPIC,
                  "{\"v\":1,\"ts\":\"2026-11-25T10:02:11.204Z\"}", DROVER_DECODE_IGNORED);
  /* Not an id of the protocol, or not the protocol's shape. */
  assert_refused (drover_decode_native, "drover/v1/bad id!/state", native_state_example, DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_native, "drover/v1//state", native_state_example, DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_native, "drover/v2/diy-corexy-1/state", native_state_example, DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_native, "drover/v1/diy-corexy-1/state/extra", native_state_example,
                  DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_native,
                  "drover/v1/a-printer-id-that-is-far-longer-than-the-sixty-four-bytes-the-protocol-allows/state",
                  native_state_example, DROVER_DECODE_IGNORED);
}

static void
test_native_malformed (void)
{
  static const char *payloads[] = {
    /* `v` missing, unknown, or not a number */
    "{\"state\":\"idle\"}",
    "{\"v\":2,\"state\":\"idle\"}",
    "{\"v\":\"1\",\"state\":\"idle\"}",
    /* a state the protocol does not have */
    "{\"v\":1,\"state\":\"sleeping\"}",
    "{\"v\":1,\"state\":null}",
    /* strings for numbers, NaN, infinity, out of range */
    "{\"v\":1,\"hotend\":{\"actual\":\"214.8\",\"target\":215.0}}",
    "{\"v\":1,\"hotend\":{\"actual\":NaN,\"target\":215.0}}",
    "{\"v\":1,\"hotend\":{\"actual\":1e999,\"target\":215.0}}",
    "{\"v\":1,\"hotend\":{\"actual\":5000,\"target\":215.0}}",
    "{\"v\":1,\"bed\":{\"actual\":-273.15,\"target\":0}}",
    "{\"v\":1,\"job\":{\"file\":\"a.gcode\",\"progress\":7.5}}",
    "{\"v\":1,\"job\":{\"file\":\"a.gcode\",\"progress\":-0.1}}",
    "{\"v\":1,\"job\":{\"remaining_s\":-5}}",
    "{\"v\":1,\"job\":{\"remaining_s\":1e300}}",
    "{\"v\":1,\"job\":{\"file\":42}}",
    "{\"v\":1,\"error\":17}",
    /* arrays where objects belong */
    "{\"v\":1,\"hotend\":[214.8,215.0]}",
    "{\"v\":1,\"job\":[\"a.gcode\"]}",
    "[{\"v\":1,\"state\":\"idle\"}]",
    "\"idle\"",
    "null",
    /* truncated */
    "{\"v\":1,\"state\":\"printing\",\"hotend\":{\"actual\":214.8,\"tar",
    "   ",
  };

  for (guint i = 0; i < G_N_ELEMENTS (payloads); i++)
    assert_refused (drover_decode_native, NATIVE_TOPIC, payloads[i], DROVER_DECODE_MALFORMED);

  assert_refused (drover_decode_native, "drover/v1/diy-corexy-1/presence",
                  "{\"v\":1,\"online\":\"yes\"}", DROVER_DECODE_MALFORMED);
  assert_refused (drover_decode_native, "drover/v1/diy-corexy-1/presence",
                  "{\"v\":1}", DROVER_DECODE_MALFORMED);

  /* The example cut short at every length: never OK, never half-read. */
  for (gsize length = 0; length < strlen (native_state_example); length++)
    assert_refused_bytes (drover_decode_native, NATIVE_TOPIC,
                          (const guint8 *) native_state_example, length, DROVER_DECODE_MALFORMED);
}

/* ------------------------------------------------------------------ */
/* Moonraker (shared/reference/moonraker.md)                           */

#define MOONRAKER_TOPIC "printer1/klipper/status"

/* moonraker.md §2, the CONSTRUCTED combined publish on printer1/klipper/status, verbatim. */
static const char moonraker_full_example[] =
  "{\"eventtime\":578243.57824499,\"status\":{\"webhooks\":{\"state\":\"ready\",\"state_message\":\"Printer is ready\"},\n"
  " \"print_stats\":{\"filename\":\"benchy.gcode\",\"total_duration\":845.1,\"print_duration\":812.4,\"filament_used\":1203.7,\n"
  "  \"state\":\"printing\",\"message\":\"\",\"info\":{\"total_layer\":120,\"current_layer\":14}},\n"
  " \"extruder\":{\"temperature\":214.8,\"target\":215.0,\"power\":0.43},\"heater_bed\":{\"temperature\":59.9,\"target\":60.0,\"power\":0.21},\n"
  " \"virtual_sdcard\":{\"progress\":0.118,\"is_active\":true,\"file_position\":581234},\n"
  " \"display_status\":{\"progress\":0.12,\"message\":\"\"},\n"
  " \"toolhead\":{\"homed_axes\":\"xyz\",\"position\":[110.2,98.7,2.8,1203.7],\"axis_minimum\":[0,-4,-2,0],\"axis_maximum\":[250,210,220,0]}}}";

/* moonraker.md §2, "A later diff would look like", verbatim. */
static const char moonraker_diff_example[] =
  "{\"eventtime\":578244.07,\"status\":{\"extruder\":{\"temperature\":215.1}}}";

static void
test_moonraker_full (void)
{
  DroverUpdate update = { 0 };
  g_autofree char *key = NULL;

  g_assert_cmpint (decode (drover_decode_moonraker, MOONRAKER_TOPIC, moonraker_full_example, &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpstr (key, ==, "printer1");
  /* The job's state clears any fault text left from before. */
  g_assert_cmpuint (update.fields, ==,
                    DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT |
                    DROVER_UPDATE_HOTEND_TEMPERATURE | DROVER_UPDATE_HOTEND_TARGET |
                    DROVER_UPDATE_BED_TEMPERATURE | DROVER_UPDATE_BED_TARGET |
                    DROVER_UPDATE_CURRENT_FILE | DROVER_UPDATE_PROGRESS | DROVER_UPDATE_TIME_LEFT);
  g_assert_cmpint (update.state, ==, DROVER_PRINTER_STATE_PRINTING);
  g_assert_null (update.error_text);
  g_assert_cmpfloat_with_epsilon (update.hotend_temperature, 214.8, EPSILON);
  g_assert_cmpfloat_with_epsilon (update.hotend_target, 215.0, EPSILON);
  g_assert_cmpfloat_with_epsilon (update.bed_temperature, 59.9, EPSILON);
  g_assert_cmpfloat_with_epsilon (update.bed_target, 60.0, EPSILON);
  g_assert_cmpstr (update.current_file, ==, "benchy.gcode");
  /* virtual_sdcard's, not display_status's 0.12 */
  g_assert_cmpfloat_with_epsilon (update.progress, 0.118, EPSILON);
  /* 812.4 / 0.118 - 812.4 = 6072.35 */
  g_assert_cmpint (update.time_left, ==, 6072);

  drover_update_clear (&update);
}

/* The answer to the printer.objects.query Drover sends after each
 * connection (moonraker.md §1.2: JSON-RPC over MQTT, answers on
 * api/response): its result has the status topic's shape. */
static void
test_moonraker_query_response (void)
{
  DroverUpdate update = { 0 };
  g_autofree char *key = NULL;
  g_autofree char *response = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"result\":%s,\"id\":\"q-1\"}", moonraker_full_example);

  g_assert_cmpint (decode (drover_decode_moonraker, "printer1/moonraker/api/response", response, &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpstr (key, ==, "printer1");
  g_assert_cmpint (update.state, ==, DROVER_PRINTER_STATE_PRINTING);
  g_assert_cmpfloat_with_epsilon (update.hotend_temperature, 214.8, EPSILON);
  g_assert_cmpstr (update.current_file, ==, "benchy.gcode");
  drover_update_clear (&update);
  g_clear_pointer (&key, g_free);

  /* Answers to anything else, and errors, say nothing about the state. */
  assert_refused (drover_decode_moonraker, "printer1/moonraker/api/response",
                  "{\"jsonrpc\":\"2.0\",\"result\":\"ok\",\"id\":7}", DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_moonraker, "printer1/moonraker/api/response",
                  "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32601,\"message\":\"Method not found\"},\"id\":8}",
                  DROVER_DECODE_IGNORED);
}

static void
test_moonraker_diff (void)
{
  DroverUpdate full = { 0 };
  DroverUpdate diff = { 0 };
  g_autofree char *full_key = NULL;
  g_autofree char *diff_key = NULL;

  g_assert_cmpint (decode (drover_decode_moonraker, MOONRAKER_TOPIC, moonraker_diff_example, &diff_key, &diff),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpstr (diff_key, ==, "printer1");
  /* Absent means unchanged: the diff names the one field it holds. */
  g_assert_cmpuint (diff.fields, ==, DROVER_UPDATE_HOTEND_TEMPERATURE);
  g_assert_cmpfloat_with_epsilon (diff.hotend_temperature, 215.1, EPSILON);
  g_assert_null (diff.current_file);

  g_assert_cmpint (decode (drover_decode_moonraker, MOONRAKER_TOPIC, moonraker_full_example, &full_key, &full),
                   ==, DROVER_DECODE_OK);
  drover_update_merge (&full, &diff);
  g_assert_cmpfloat_with_epsilon (full.hotend_temperature, 215.1, EPSILON);
  g_assert_cmpfloat_with_epsilon (full.hotend_target, 215.0, EPSILON);
  g_assert_cmpfloat_with_epsilon (full.bed_temperature, 59.9, EPSILON);
  g_assert_cmpint (full.state, ==, DROVER_PRINTER_STATE_PRINTING);
  g_assert_cmpstr (full.current_file, ==, "benchy.gcode");
  g_assert_cmpfloat_with_epsilon (full.progress, 0.118, EPSILON);

  drover_update_clear (&full);
  drover_update_clear (&diff);
}

static void
test_moonraker_states (void)
{
  static const struct {
    const char         *payload;
    DroverUpdateFields  fields;
    DroverPrinterState  state;
    const char         *error_text;
  } cases[] = {
    { "{\"eventtime\":1.5,\"status\":{\"print_stats\":{\"state\":\"standby\"}}}",
      DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_IDLE, NULL },
    { "{\"eventtime\":1.5,\"status\":{\"print_stats\":{\"state\":\"paused\"}}}",
      DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_PAUSED, NULL },
    { "{\"eventtime\":1.5,\"status\":{\"print_stats\":{\"state\":\"complete\"}}}",
      DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_IDLE, NULL },
    { "{\"eventtime\":1.5,\"status\":{\"print_stats\":{\"state\":\"cancelled\"}}}",
      DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_IDLE, NULL },
    { "{\"eventtime\":1.5,\"status\":{\"print_stats\":{\"state\":\"error\",\"message\":\"Move out of range: 260.000 10.000 0.200 [0.000]\"}}}",
      DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_ERROR,
      "Move out of range: 260.000 10.000 0.200 [0.000]" },
    /* Klippy's shutdown outranks a job that still says printing. */
    { "{\"eventtime\":1.5,\"status\":{\"webhooks\":{\"state\":\"shutdown\",\"state_message\":\"MCU 'mcu' shutdown: Timer too close\"},"
      "\"print_stats\":{\"state\":\"printing\"}}}",
      DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_ERROR,
      "MCU 'mcu' shutdown: Timer too close" },
    { "{\"eventtime\":1.5,\"status\":{\"webhooks\":{\"state\":\"error\",\"state_message\":\"Unable to open config file\"}}}",
      DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_ERROR, "Unable to open config file" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      DroverUpdate update = { 0 };
      g_autofree char *key = NULL;

      g_assert_cmpint (decode (drover_decode_moonraker, MOONRAKER_TOPIC, cases[i].payload, &key, &update),
                       ==, DROVER_DECODE_OK);
      g_assert_cmpuint (update.fields, ==, cases[i].fields);
      g_assert_cmpint (update.state, ==, cases[i].state);
      g_assert_cmpstr (update.error_text, ==, cases[i].error_text);
      drover_update_clear (&update);
    }
}

static void
test_moonraker_progress (void)
{
  DroverUpdate update = { 0 };
  g_autofree char *key = NULL;

  /* display_status stands in only when virtual_sdcard says nothing. */
  g_assert_cmpint (decode (drover_decode_moonraker, MOONRAKER_TOPIC,
                           "{\"eventtime\":2.0,\"status\":{\"display_status\":{\"progress\":0.5}}}", &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_PROGRESS);
  g_assert_cmpfloat_with_epsilon (update.progress, 0.5, EPSILON);
  drover_update_clear (&update);
  g_clear_pointer (&key, g_free);

  /* A duration without a progress in the same message: no estimate. */
  g_assert_cmpint (decode (drover_decode_moonraker, MOONRAKER_TOPIC,
                           "{\"eventtime\":2.0,\"status\":{\"print_stats\":{\"print_duration\":100.0}}}", &key, &update),
                   ==, DROVER_DECODE_IGNORED);
  g_assert_null (key);

  /* Too early to tell. */
  g_assert_cmpint (decode (drover_decode_moonraker, MOONRAKER_TOPIC,
                           "{\"eventtime\":2.0,\"status\":{\"print_stats\":{\"print_duration\":1.0},"
                           "\"virtual_sdcard\":{\"progress\":0.0005}}}", &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_PROGRESS);
  drover_update_clear (&update);
  g_clear_pointer (&key, g_free);

  /* No file loaded. */
  g_assert_cmpint (decode (drover_decode_moonraker, MOONRAKER_TOPIC,
                           "{\"eventtime\":2.0,\"status\":{\"print_stats\":{\"filename\":\"\"}}}", &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_CURRENT_FILE);
  g_assert_null (update.current_file);
}

static void
test_moonraker_server (void)
{
  DroverUpdate update = { 0 };
  g_autofree char *key = NULL;

  /* moonraker.md §1.2: retained, compact JSON. */
  g_assert_cmpint (decode (drover_decode_moonraker, "printer1/moonraker/status", "{\"server\":\"online\"}", &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpstr (key, ==, "printer1");
  g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_ONLINE);
  g_assert_true (update.online);
  drover_update_clear (&update);
  g_clear_pointer (&key, g_free);

  /* The will. */
  g_assert_cmpint (decode (drover_decode_moonraker, "printer1/moonraker/status", "{\"server\":\"offline\"}", &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_ONLINE | DROVER_UPDATE_STATE);
  g_assert_false (update.online);
  g_assert_cmpint (update.state, ==, DROVER_PRINTER_STATE_OFFLINE);
  drover_update_clear (&update);
  g_clear_pointer (&key, g_free);

  /* instance_name may hold anything but + and #. */
  g_assert_cmpint (decode (drover_decode_moonraker, "Voron 2.4 (rack B) ü/moonraker/status", "{\"server\":\"online\"}",
                           &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpstr (key, ==, "Voron 2.4 (rack B) ü");
}

static void
test_moonraker_ignored (void)
{
  /* moonraker.md §1.6, CONSTRUCTED exchange. */
  {
    /* Anyone's request on the broker is an order Drover sees. */
    DroverEvent *event = assert_event (drover_decode_moonraker, "printer1/moonraker/api/request",
                                       "{\"jsonrpc\":\"2.0\",\"method\":\"printer.gcode.script\",\"params\":{\"script\":\"G28\","
                                       "\"mqtt_timestamp\":1718000000000000},\"id\":7466}",
                                       DROVER_EVENT_ORDER);

    g_assert_cmpstr (event->command, ==, "G28");
    g_assert_cmpstr (event->request_id, ==, "7466");
    drover_event_unref (event);

    event = assert_event (drover_decode_moonraker, "printer1/moonraker/api/request",
                          "{\"jsonrpc\":\"2.0\",\"method\":\"printer.print.start\",\"params\":{\"filename\":\"benchy.gcode\"},\"id\":1}",
                          DROVER_EVENT_ORDER);
    g_assert_cmpstr (event->command, ==, "start");
    g_assert_cmpstr (event->file, ==, "benchy.gcode");
    drover_event_unref (event);
  }
  /* Requests that change nothing on the printer are not orders. */
  assert_refused (drover_decode_moonraker, "printer1/moonraker/api/request",
                  "{\"jsonrpc\":\"2.0\",\"method\":\"server.info\",\"id\":7}", DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_moonraker, "printer1/moonraker/api/request",
                  "{\"jsonrpc\":\"2.0\",\"method\":\"printer.print.start\",\"params\":{},\"id\":7}",
                  DROVER_DECODE_MALFORMED);
  assert_refused (drover_decode_moonraker, "printer1/moonraker/api/response",
                  "{\"jsonrpc\":\"2.0\",\"result\":\"ok\",\"id\":7466}", DROVER_DECODE_IGNORED);
  /* Split mode (§1.3), not read. */
  assert_refused (drover_decode_moonraker, "printer1/klipper/state/extruder/temperature",
                  "{\"eventtime\":578244.07,\"value\":215.1}", DROVER_DECODE_IGNORED);
  /* Issue #255's real payload: "ready" says nothing Drover shows. */
  assert_refused (drover_decode_moonraker, MOONRAKER_TOPIC,
                  "{\"eventtime\": 423824.53180501, \"status\": {\"webhooks\": {\"state\": \"ready\", "
                  "\"state_message\": \"Printer is ready\"}}}",
                  DROVER_DECODE_IGNORED);
  /* Objects Drover does not read. */
  assert_refused (drover_decode_moonraker, MOONRAKER_TOPIC,
                  "{\"eventtime\":5.0,\"status\":{\"toolhead\":{\"position\":[1,2,3,4]}}}", DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_moonraker, "/klipper/status", moonraker_full_example, DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_moonraker, "printer1/klipper/status/more", moonraker_full_example,
                  DROVER_DECODE_IGNORED);
}

static void
test_moonraker_malformed (void)
{
  static const char *payloads[] = {
    "{\"eventtime\":1.0}",
    "{\"eventtime\":1.0,\"status\":null}",
    "{\"eventtime\":1.0,\"status\":[{\"extruder\":{\"temperature\":215.1}}]}",
    "{\"eventtime\":1.0,\"status\":{\"extruder\":[215.1,215.0]}}",
    "{\"eventtime\":1.0,\"status\":{\"extruder\":{\"temperature\":\"215.1\"}}}",
    "{\"eventtime\":1.0,\"status\":{\"extruder\":{\"temperature\":null}}}",
    "{\"eventtime\":1.0,\"status\":{\"extruder\":{\"temperature\":NaN}}}",
    "{\"eventtime\":1.0,\"status\":{\"extruder\":{\"temperature\":-1e999}}}",
    "{\"eventtime\":1.0,\"status\":{\"heater_bed\":{\"temperature\":1500.0}}}",
    "{\"eventtime\":1.0,\"status\":{\"virtual_sdcard\":{\"progress\":7.5}}}",
    "{\"eventtime\":1.0,\"status\":{\"display_status\":{\"progress\":-0.5}}}",
    "{\"eventtime\":1.0,\"status\":{\"print_stats\":{\"filename\":17}}}",
    "{\"eventtime\":1.0,\"status\":{\"print_stats\":{\"state\":[\"printing\"]}}}",
    "{\"eventtime\":1.0,\"status\":{\"print_stats\":{\"print_duration\":-3.0}}}",
    "{\"eventtime\":1.0,\"status\":{\"webhooks\":\"ready\"}}",
    "[\"eventtime\",1.0]",
    "{\"eventtime\":1.0,\"status\":{\"extruder\":{\"temperature\":215.1}}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (payloads); i++)
    assert_refused (drover_decode_moonraker, MOONRAKER_TOPIC, payloads[i], DROVER_DECODE_MALFORMED);

  /* Good temperatures, a file and a state, then a bad progress: nothing
   * of it is taken, and the file name read before is freed (ASan). */
  assert_refused (drover_decode_moonraker, MOONRAKER_TOPIC,
                  "{\"eventtime\":1.0,\"status\":{\"extruder\":{\"temperature\":215.1,\"target\":215.0},"
                  "\"print_stats\":{\"state\":\"printing\",\"filename\":\"benchy.gcode\"},"
                  "\"virtual_sdcard\":{\"progress\":7.5}}}",
                  DROVER_DECODE_MALFORMED);

  assert_refused (drover_decode_moonraker, "printer1/moonraker/status", "{\"server\":\"sleeping\"}",
                  DROVER_DECODE_MALFORMED);
  assert_refused (drover_decode_moonraker, "printer1/moonraker/status", "{\"server\":true}",
                  DROVER_DECODE_MALFORMED);
  assert_refused (drover_decode_moonraker, "printer1/moonraker/status", "online", DROVER_DECODE_MALFORMED);

  for (gsize length = 0; length < strlen (moonraker_full_example); length++)
    assert_refused_bytes (drover_decode_moonraker, MOONRAKER_TOPIC,
                          (const guint8 *) moonraker_full_example, length, DROVER_DECODE_MALFORMED);
}

/* ------------------------------------------------------------------ */
/* OctoPrint-MQTT (shared/reference/octoprint.md)                      */

static void
test_octoprint_temperature (void)
{
  DroverUpdate update = { 0 };
  g_autofree char *key = NULL;

  /* octoprint.md §1.5, quoted from the plugin's README. */
  g_assert_cmpint (decode (drover_decode_octoprint, "octoPrint/mk3s-07/temperature/tool0",
                           "{\"_timestamp\": 1517190629, \"actual\": 65.3, \"target\": 210.0}", &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpstr (key, ==, "mk3s-07");
  g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_HOTEND_TEMPERATURE | DROVER_UPDATE_HOTEND_TARGET);
  g_assert_cmpfloat_with_epsilon (update.hotend_temperature, 65.3, EPSILON);
  g_assert_cmpfloat_with_epsilon (update.hotend_target, 210.0, EPSILON);
  drover_update_clear (&update);
  g_clear_pointer (&key, g_free);

  g_assert_cmpint (decode (drover_decode_octoprint, "octoPrint/mk3s-07/temperature/bed",
                           "{\"_timestamp\": 1517190629, \"actual\": 42.1, \"target\": 65.0}", &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_BED_TEMPERATURE | DROVER_UPDATE_BED_TARGET);
  g_assert_cmpfloat_with_epsilon (update.bed_temperature, 42.1, EPSILON);
  g_assert_cmpfloat_with_epsilon (update.bed_target, 65.0, EPSILON);
  drover_update_clear (&update);
  g_clear_pointer (&key, g_free);

  /* "may be null if no target temperature is set"; key order as the code sends it */
  g_assert_cmpint (decode (drover_decode_octoprint, "octoPrint/mk3s-07/temperature/tool0",
                           "{\"actual\": 23.4, \"target\": null, \"_timestamp\": 1717171717}", &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_HOTEND_TEMPERATURE | DROVER_UPDATE_HOTEND_TARGET);
  g_assert_cmpfloat (update.hotend_target, ==, 0.0);
  drover_update_clear (&update);
  g_clear_pointer (&key, g_free);

  assert_refused (drover_decode_octoprint, "octoPrint/mk3s-07/temperature/tool1",
                  "{\"actual\": 65.3, \"target\": 210.0, \"_timestamp\": 1517190629}", DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_octoprint, "octoPrint/mk3s-07/temperature/chamber",
                  "{\"actual\": 31.0, \"target\": null, \"_timestamp\": 1517190629}", DROVER_DECODE_IGNORED);
}

static void
test_octoprint_progress (void)
{
  DroverUpdate update = { 0 };
  g_autofree char *key = NULL;

  /* octoprint.md §1.4, quoted from the README (line 34). */
  g_assert_cmpint (decode (drover_decode_octoprint, "octoPrint/mk3s-07/progress/printing",
                           "{\"_timestamp\": 1517190629, \"progress\": 23, \"location\": \"local\", \"path\": \"test.gco\"}",
                           &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_PROGRESS | DROVER_UPDATE_CURRENT_FILE);
  g_assert_cmpfloat_with_epsilon (update.progress, 0.23, EPSILON);
  g_assert_cmpstr (update.current_file, ==, "test.gco");
  drover_update_clear (&update);
  g_clear_pointer (&key, g_free);

  /* §1.4, derived: what the plugin publishes when idle. */
  g_assert_cmpint (decode (drover_decode_octoprint, "octoPrint/mk3s-07/progress/printing",
                           "{\"location\": \"\", \"path\": \"\", \"progress\": 0, \"_timestamp\": 1717171717}",
                           &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_PROGRESS | DROVER_UPDATE_CURRENT_FILE);
  g_assert_cmpfloat (update.progress, ==, 0.0);
  g_assert_null (update.current_file);

  assert_refused (drover_decode_octoprint, "octoPrint/mk3s-07/progress/slicing",
                  "{\"slicer\": \"prusa\", \"source_location\": \"local\", \"source_path\": \"a.stl\", "
                  "\"destination_location\": \"local\", \"destination_path\": \"a.gco\", \"progress\": 40, "
                  "\"_timestamp\": 1717171717}",
                  DROVER_DECODE_IGNORED);
}

static void
test_octoprint_connection (void)
{
  DroverUpdate update = { 0 };
  g_autofree char *key = NULL;

  /* §1.6: plain text, not JSON. */
  g_assert_cmpint (decode (drover_decode_octoprint, "octoPrint/mk3s-07/mqtt", "connected", &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpstr (key, ==, "mk3s-07");
  g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_ONLINE);
  g_assert_true (update.online);
  drover_update_clear (&update);
  g_clear_pointer (&key, g_free);

  g_assert_cmpint (decode (drover_decode_octoprint, "octoPrint/mk3s-07/mqtt", "disconnected", &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_ONLINE | DROVER_UPDATE_STATE);
  g_assert_false (update.online);
  g_assert_cmpint (update.state, ==, DROVER_PRINTER_STATE_OFFLINE);

  assert_refused (drover_decode_octoprint, "octoPrint/mk3s-07/mqtt", "\"connected\"", DROVER_DECODE_MALFORMED);
  assert_refused (drover_decode_octoprint, "octoPrint/mk3s-07/mqtt", "connected\n", DROVER_DECODE_MALFORMED);
  assert_refused (drover_decode_octoprint, "octoPrint/mk3s-07/mqtt", "", DROVER_DECODE_MALFORMED);
}

static void
test_octoprint_events (void)
{
  static const struct {
    const char         *event;
    const char         *payload;
    DroverUpdateFields  fields;
    DroverPrinterState  state;
    const char         *file;
    double              progress;
    const char         *error_text;
  } cases[] = {
    /* octoprint.md §2, the derived PrintStarted, verbatim */
    { "PrintStarted",
      "{\"name\": \"benchy.gcode\", \"path\": \"folder/benchy.gcode\", \"origin\": \"local\", \"size\": 1234567, "
      "\"owner\": \"admin\", \"user\": \"admin\", \"_event\": \"PrintStarted\", \"_timestamp\": 1717171717}",
      DROVER_UPDATE_STATE | DROVER_UPDATE_CURRENT_FILE | DROVER_UPDATE_PROGRESS | DROVER_UPDATE_ERROR_TEXT,
      DROVER_PRINTER_STATE_PRINTING, "folder/benchy.gcode", 0.0, NULL },
    /* the rest derived from the payload table of §2 */
    { "PrintPaused",
      "{\"name\": \"benchy.gcode\", \"path\": \"folder/benchy.gcode\", \"origin\": \"local\", \"size\": 1234567, "
      "\"position\": {\"x\": 110.2, \"y\": 98.7, \"z\": 2.8, \"e\": 0.0, \"t\": 0, \"f\": 1500}, "
      "\"fileposition\": 581234, \"progress\": 47, \"owner\": \"admin\", \"user\": \"admin\", "
      "\"_event\": \"PrintPaused\", \"_timestamp\": 1717172717}",
      DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_PAUSED, NULL, 0.0, NULL },
    { "PrintResumed",
      "{\"name\": \"benchy.gcode\", \"path\": \"folder/benchy.gcode\", \"origin\": \"local\", \"size\": 1234567, "
      "\"owner\": \"admin\", \"user\": \"admin\", \"_event\": \"PrintResumed\", \"_timestamp\": 1717172817}",
      DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_PRINTING, NULL, 0.0, NULL },
    { "PrintDone",
      "{\"name\": \"benchy.gcode\", \"path\": \"folder/benchy.gcode\", \"origin\": \"local\", \"size\": 1234567, "
      "\"owner\": \"admin\", \"time\": 3021.7, \"_event\": \"PrintDone\", \"_timestamp\": 1717174738}",
      DROVER_UPDATE_STATE | DROVER_UPDATE_PROGRESS | DROVER_UPDATE_ERROR_TEXT,
      DROVER_PRINTER_STATE_IDLE, NULL, 1.0, NULL },
    { "PrintCancelled",
      "{\"name\": \"benchy.gcode\", \"path\": \"folder/benchy.gcode\", \"origin\": \"local\", \"size\": 1234567, "
      "\"progress\": 12, \"owner\": \"admin\", \"user\": \"admin\", \"time\": 400.2, "
      "\"_event\": \"PrintCancelled\", \"_timestamp\": 1717172117}",
      DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_IDLE, NULL, 0.0, NULL },
    { "PrintFailed",
      "{\"name\": \"benchy.gcode\", \"path\": \"folder/benchy.gcode\", \"origin\": \"local\", \"size\": 1234567, "
      "\"owner\": \"admin\", \"time\": 400.2, \"reason\": \"cancelled\", "
      "\"_event\": \"PrintFailed\", \"_timestamp\": 1717172117}",
      DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_IDLE, NULL, 0.0, NULL },
    { "PrintFailed",
      "{\"name\": \"benchy.gcode\", \"path\": \"folder/benchy.gcode\", \"origin\": \"local\", \"size\": 1234567, "
      "\"owner\": \"admin\", \"time\": 400.2, \"reason\": \"error\", \"error\": \"Thermal Runaway\", "
      "\"progress\": 0.12, \"_event\": \"PrintFailed\", \"_timestamp\": 1717172117}",
      DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_ERROR, NULL, 0.0, "Thermal Runaway" },
    { "Error",
      "{\"error\": \"Printer halted. kill() called!\", \"reason\": \"firmware\", \"consequence\": \"disconnect\", "
      "\"faq\": \"firmware-error\", \"_event\": \"Error\", \"_timestamp\": 1717172117}",
      DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_ERROR, NULL, 0.0,
      "Printer halted. kill() called!" },
    /* §1.3: an event without payload; the text of a preceding Error stays */
    { "Disconnected",
      "{\"_event\": \"Disconnected\", \"_timestamp\": 1717172118}",
      DROVER_UPDATE_STATE, DROVER_PRINTER_STATE_ERROR, NULL, 0.0, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *topic = g_strdup_printf ("octoPrint/mk3s-07/event/%s", cases[i].event);
      DroverUpdate update = { 0 };
      g_autofree char *key = NULL;

      g_test_message ("%s: %s", cases[i].event, cases[i].payload);
      g_assert_cmpint (decode (drover_decode_octoprint, topic, cases[i].payload, &key, &update),
                       ==, DROVER_DECODE_OK);
      g_assert_cmpstr (key, ==, "mk3s-07");
      g_assert_cmpuint (update.fields, ==, cases[i].fields);
      g_assert_cmpint (update.state, ==, cases[i].state);
      g_assert_cmpstr (update.current_file, ==, cases[i].file);
      g_assert_cmpstr (update.error_text, ==, cases[i].error_text);
      if (update.fields & DROVER_UPDATE_PROGRESS)
        g_assert_cmpfloat_with_epsilon (update.progress, cases[i].progress, EPSILON);
      drover_update_clear (&update);
    }
}

static void
test_octoprint_ignored (void)
{
  /* §2: FileAdded is for the audit, an event and no state. */
  {
    DroverEvent *event = assert_event (drover_decode_octoprint, "octoPrint/mk3s-07/event/FileAdded",
                                       "{\"storage\": \"local\", \"path\": \"hacked_machine_readme.gcode\", \"name\": \"hacked_machine_readme.gcode\", "
                                       "\"type\": [\"machinecode\", \"gcode\"], \"operation\": \"add\", \"_event\": \"FileAdded\", "
                                       "\"_timestamp\": 1717171717}",
                                       DROVER_EVENT_FILE_ADDED);

    g_assert_cmpstr (event->file, ==, "hacked_machine_readme.gcode");
    g_assert_cmpstr (event->origin, ==, "local");
    drover_event_unref (event);
  }
  assert_refused (drover_decode_octoprint, "octoPrint/mk3s-07/event/FileRemoved",
                  "{\"storage\": \"local\", \"path\": 5, \"_event\": \"FileRemoved\", \"_timestamp\": 1717171717}",
                  DROVER_DECODE_MALFORMED);
  assert_refused (drover_decode_octoprint, "octoPrint/mk3s-07/event/PrinterStateChanged",
                  "{\"state_id\": \"OPERATIONAL\", \"state_string\": \"Operational\", \"_event\": \"PrinterStateChanged\", "
                  "\"_timestamp\": 1717171717}",
                  DROVER_DECODE_IGNORED);
  /* An unknown event is not even parsed. */
  assert_refused (drover_decode_octoprint, "octoPrint/mk3s-07/event/ZChange", "not json", DROVER_DECODE_IGNORED);
  /* §1.7 metadata, raw values. */
  assert_refused (drover_decode_octoprint, "octoPrint/mk3s-07/metadata/material", "PETG", DROVER_DECODE_IGNORED);
  /* The plugin's default base topic has no instance: not Drover's layout. */
  assert_refused (drover_decode_octoprint, "octoPrint/event/PrintStarted",
                  "{\"name\": \"benchy.gcode\", \"path\": \"benchy.gcode\", \"origin\": \"local\", \"size\": 1, "
                  "\"_event\": \"PrintStarted\", \"_timestamp\": 1717171717}",
                  DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_octoprint, "octoPrint/mqtt", "connected", DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_octoprint, "octoprint/mk3s-07/mqtt", "connected", DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_octoprint, "octoPrint//mqtt", "connected", DROVER_DECODE_IGNORED);
  /* PrintFailed with a reason this version does not know. */
  assert_refused (drover_decode_octoprint, "octoPrint/mk3s-07/event/PrintFailed",
                  "{\"reason\": \"aliens\", \"_event\": \"PrintFailed\", \"_timestamp\": 1717171717}",
                  DROVER_DECODE_IGNORED);
  /* Both values null: nothing measured. */
  assert_refused (drover_decode_octoprint, "octoPrint/mk3s-07/temperature/bed",
                  "{\"actual\": null, \"_timestamp\": 1717171717}", DROVER_DECODE_IGNORED);
}

static void
test_octoprint_malformed (void)
{
  static const struct {
    const char *topic;
    const char *payload;
  } cases[] = {
    { "octoPrint/p/temperature/tool0", "{\"actual\": \"65.3\", \"target\": 210.0, \"_timestamp\": 1517190629}" },
    { "octoPrint/p/temperature/tool0", "{\"actual\": NaN, \"target\": 210.0, \"_timestamp\": 1517190629}" },
    { "octoPrint/p/temperature/tool0", "{\"actual\": 65.3, \"target\": 2100.0, \"_timestamp\": 1517190629}" },
    { "octoPrint/p/temperature/bed", "[42.1, 65.0]" },
    { "octoPrint/p/temperature/bed", "{\"actual\": 42.1, \"target\": 65.0, \"_timestamp\": 15171" },
    { "octoPrint/p/progress/printing", "{\"progress\": 750, \"location\": \"local\", \"path\": \"a.gco\"}" },
    { "octoPrint/p/progress/printing", "{\"progress\": -1, \"location\": \"local\", \"path\": \"a.gco\"}" },
    { "octoPrint/p/progress/printing", "{\"progress\": \"23\", \"location\": \"local\", \"path\": \"a.gco\"}" },
    { "octoPrint/p/progress/printing", "{\"progress\": 23, \"location\": \"local\", \"path\": [\"a.gco\"]}" },
    { "octoPrint/p/event/PrintStarted", "{\"name\": 7, \"_event\": \"PrintStarted\", \"_timestamp\": 1}" },
    { "octoPrint/p/event/PrintStarted", "[\"PrintStarted\"]" },
    { "octoPrint/p/event/PrintFailed", "{\"time\": 1.0, \"_event\": \"PrintFailed\", \"_timestamp\": 1}" },
    { "octoPrint/p/event/Error", "{\"error\": {\"text\": \"x\"}, \"_event\": \"Error\", \"_timestamp\": 1}" },
    { "octoPrint/p/event/PrintDone", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_refused (drover_decode_octoprint, cases[i].topic, cases[i].payload, DROVER_DECODE_MALFORMED);
}

/* ------------------------------------------------------------------ */
/* Bambu Lab (shared/reference/bambu-anycubic.md A3)                   */

#define BAMBU_TOPIC "device/01S00C123456789/report"

/* A3, "Real example (full report, abridged)": ha-bambulab tests/P1P.json
 * push_all, a P1P capture, verbatim as the page gives it. */
static const char bambu_p1p_push_all[] =
  "{\"print\": {\"nozzle_temper\": 21.25, \"nozzle_target_temper\": 0, \"bed_temper\": 19.84375, \"bed_target_temper\": 0,\n"
  " \"chamber_temper\": 5, \"mc_print_stage\": \"1\", \"heatbreak_fan_speed\": \"0\", \"cooling_fan_speed\": \"0\",\n"
  " \"big_fan1_speed\": \"0\", \"big_fan2_speed\": \"0\", \"mc_percent\": 0, \"mc_remaining_time\": 759, \"print_error\": 0,\n"
  " \"wifi_signal\": \"-53dBm\", \"gcode_state\": \"FAILED\", \"gcode_file_prepare_percent\": \"0\", \"project_id\": \"0\",\n"
  " \"task_id\": \"0\", \"subtask_id\": \"0\", \"subtask_name\": \"Fidget Collection\", \"gcode_file\": \"\", \"stg\": [], \"stg_cur\": 0,\n"
  " \"print_type\": \"idle\", \"home_flag\": 224478464, \"sdcard\": true, \"layer_num\": 1, \"total_layer_num\": 70, \"hms\": [],\n"
  " \"lights_report\": [{\"node\": \"chamber_light\", \"mode\": \"off\"}], \"command\": \"push_status\", \"msg\": 0, \"sequence_id\": \"58357\"}}";

/* A3: the P1S delta of HB#357, its shape with values filled in. */
static const char bambu_p1s_delta[] =
  "{\"print\":{\"bed_temper\":58.8125,\"wifi_signal\":\"-54dBm\",\"command\":\"push_status\",\"msg\":1,\"sequence_id\":\"58358\"}}";

static void
test_bambu_push_all (void)
{
  DroverUpdate update = { 0 };
  g_autofree char *key = NULL;

  g_assert_cmpint (decode (drover_decode_bambu, BAMBU_TOPIC, bambu_p1p_push_all, &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpstr (key, ==, "01S00C123456789");
  /* FAILED with print_error 0: an error without a code to show. */
  g_assert_cmpuint (update.fields, ==,
                    DROVER_UPDATE_STATE |
                    DROVER_UPDATE_HOTEND_TEMPERATURE | DROVER_UPDATE_HOTEND_TARGET |
                    DROVER_UPDATE_BED_TEMPERATURE | DROVER_UPDATE_BED_TARGET |
                    DROVER_UPDATE_PROGRESS | DROVER_UPDATE_TIME_LEFT | DROVER_UPDATE_CURRENT_FILE);
  g_assert_cmpint (update.state, ==, DROVER_PRINTER_STATE_ERROR);
  g_assert_cmpfloat_with_epsilon (update.hotend_temperature, 21.25, EPSILON);
  g_assert_cmpfloat (update.hotend_target, ==, 0.0);
  g_assert_cmpfloat_with_epsilon (update.bed_temperature, 19.84375, EPSILON);
  g_assert_cmpfloat (update.bed_target, ==, 0.0);
  g_assert_cmpfloat (update.progress, ==, 0.0);
  g_assert_cmpint (update.time_left, ==, 759 * 60);
  g_assert_cmpstr (update.current_file, ==, "Fidget Collection");
  g_assert_null (update.error_text);

  drover_update_clear (&update);
}

static void
test_bambu_delta (void)
{
  DroverUpdate full = { 0 };
  DroverUpdate delta = { 0 };
  g_autofree char *full_key = NULL;
  g_autofree char *delta_key = NULL;

  g_assert_cmpint (decode (drover_decode_bambu, BAMBU_TOPIC, bambu_p1s_delta, &delta_key, &delta),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpuint (delta.fields, ==, DROVER_UPDATE_BED_TEMPERATURE);
  g_assert_cmpfloat_with_epsilon (delta.bed_temperature, 58.8125, EPSILON);

  g_assert_cmpint (decode (drover_decode_bambu, BAMBU_TOPIC, bambu_p1p_push_all, &full_key, &full),
                   ==, DROVER_DECODE_OK);
  drover_update_merge (&full, &delta);
  g_assert_cmpfloat_with_epsilon (full.bed_temperature, 58.8125, EPSILON);
  g_assert_cmpfloat_with_epsilon (full.hotend_temperature, 21.25, EPSILON);
  g_assert_cmpstr (full.current_file, ==, "Fidget Collection");
  g_assert_cmpint (full.time_left, ==, 759 * 60);

  drover_update_clear (&full);
  drover_update_clear (&delta);
}

static void
test_bambu_packed_temperatures (void)
{
  DroverUpdate update = { 0 };
  g_autofree char *key = NULL;

  /* A3 / ha-bambulab models.py: 6553700 is 100 current, 100 target;
   * 14418140 (0x00DC00DC) is 220 / 220. The flat fields are only the
   * fallback and lose. */
  g_assert_cmpint (decode (drover_decode_bambu, BAMBU_TOPIC,
                           "{\"print\":{\"device\":{\"bed\":{\"info\":{\"temp\":6553700},\"state\":2},\"bed_temp\":6553700,"
                           "\"extruder\":{\"info\":[{\"id\":1,\"temp\":5767327},{\"id\":0,\"temp\":14418140}],\"state\":2}},"
                           "\"nozzle_temper\":40,\"nozzle_target_temper\":0,\"bed_temper\":20,"
                           "\"command\":\"push_status\",\"sequence_id\":\"7\"}}",
                           &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpuint (update.fields, ==,
                    DROVER_UPDATE_HOTEND_TEMPERATURE | DROVER_UPDATE_HOTEND_TARGET |
                    DROVER_UPDATE_BED_TEMPERATURE | DROVER_UPDATE_BED_TARGET);
  g_assert_cmpfloat (update.hotend_temperature, ==, 220.0);
  g_assert_cmpfloat (update.hotend_target, ==, 220.0);
  g_assert_cmpfloat (update.bed_temperature, ==, 100.0);
  g_assert_cmpfloat (update.bed_target, ==, 100.0);
  drover_update_clear (&update);
  g_clear_pointer (&key, g_free);

  /* device without the bed: the bed falls back to the flat fields. */
  g_assert_cmpint (decode (drover_decode_bambu, BAMBU_TOPIC,
                           "{\"print\":{\"device\":{\"extruder\":{\"info\":[{\"temp\":13107410}]}},"
                           "\"bed_temper\":35.5,\"command\":\"push_status\"}}",
                           &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpuint (update.fields, ==,
                    DROVER_UPDATE_HOTEND_TEMPERATURE | DROVER_UPDATE_HOTEND_TARGET | DROVER_UPDATE_BED_TEMPERATURE);
  /* 13107410 = 0x00C800D2: 210 current, 200 target */
  g_assert_cmpfloat (update.hotend_temperature, ==, 210.0);
  g_assert_cmpfloat (update.hotend_target, ==, 200.0);
  g_assert_cmpfloat (update.bed_temperature, ==, 35.5);
}

static void
test_bambu_states (void)
{
  static const struct {
    const char         *print;
    DroverUpdateFields  fields;
    DroverPrinterState  state;
    const char         *error_text;
  } cases[] = {
    { "\"gcode_state\":\"IDLE\"", DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_IDLE, NULL },
    { "\"gcode_state\":\"FINISH\"", DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_IDLE, NULL },
    { "\"gcode_state\":\"PREPARE\"", DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_PRINTING, NULL },
    { "\"gcode_state\":\"RUNNING\"", DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_PRINTING, NULL },
    { "\"gcode_state\":\"SLICING\"", DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_PRINTING, NULL },
    { "\"gcode_state\":\"INIT\"", DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_PRINTING, NULL },
    { "\"gcode_state\":\"PAUSE\"", DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_PAUSED, NULL },
    { "\"gcode_state\":\"OFFLINE\"", DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_OFFLINE, NULL },
    /* The user cancelled: FAILED, but nothing failed. */
    { "\"gcode_state\":\"FAILED\",\"print_error\":50348044",
      DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_IDLE, NULL },
    /* ha-bambulab's comment: 117473286 is 0700_8006, an AMS feed fault */
    { "\"gcode_state\":\"FAILED\",\"print_error\":117473286",
      DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT, DROVER_PRINTER_STATE_ERROR, "Bambu error 0700_8006" },
    { "\"gcode_state\":\"FAILED\"", DROVER_UPDATE_STATE, DROVER_PRINTER_STATE_ERROR, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *payload = g_strdup_printf ("{\"print\":{%s,\"command\":\"push_status\",\"msg\":1,\"sequence_id\":\"9\"}}",
                                                  cases[i].print);
      DroverUpdate update = { 0 };
      g_autofree char *key = NULL;

      g_test_message ("%s", payload);
      g_assert_cmpint (decode (drover_decode_bambu, BAMBU_TOPIC, payload, &key, &update), ==, DROVER_DECODE_OK);
      g_assert_cmpuint (update.fields, ==, cases[i].fields);
      g_assert_cmpint (update.state, ==, cases[i].state);
      g_assert_cmpstr (update.error_text, ==, cases[i].error_text);
      drover_update_clear (&update);
    }

  /* A state this version does not know leaves the state alone. */
  assert_refused (drover_decode_bambu, BAMBU_TOPIC,
                  "{\"print\":{\"gcode_state\":\"CALIBRATING\",\"command\":\"push_status\",\"msg\":1}}",
                  DROVER_DECODE_IGNORED);
}

static void
test_bambu_file (void)
{
  DroverUpdate update = { 0 };
  g_autofree char *key = NULL;

  /* No subtask_name: the gcode_file stands in (A3, "36mm.gcode.3mf" on the P1). */
  g_assert_cmpint (decode (drover_decode_bambu, BAMBU_TOPIC,
                           "{\"print\":{\"gcode_file\":\"36mm.gcode.3mf\",\"mc_percent\":42,\"mc_remaining_time\":31,"
                           "\"command\":\"push_status\",\"msg\":1,\"sequence_id\":\"11\"}}",
                           &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_CURRENT_FILE | DROVER_UPDATE_PROGRESS | DROVER_UPDATE_TIME_LEFT);
  g_assert_cmpstr (update.current_file, ==, "36mm.gcode.3mf");
  g_assert_cmpfloat_with_epsilon (update.progress, 0.42, EPSILON);
  g_assert_cmpint (update.time_left, ==, 31 * 60);
  drover_update_clear (&update);
  g_clear_pointer (&key, g_free);

  g_assert_cmpint (decode (drover_decode_bambu, BAMBU_TOPIC,
                           "{\"print\":{\"subtask_name\":\"\",\"gcode_file\":\"/data/Metadata/plate_1.gcode\","
                           "\"command\":\"push_status\"}}",
                           &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_CURRENT_FILE);
  g_assert_null (update.current_file);
}

static void
test_bambu_ignored (void)
{
  /* HB#357: the empty message between deltas. */
  assert_refused (drover_decode_bambu, BAMBU_TOPIC, "{}", DROVER_DECODE_IGNORED);
  /* A4: acknowledgements and other envelopes. */
  assert_refused (drover_decode_bambu, BAMBU_TOPIC,
                  "{\"print\": {\"sequence_id\": \"0\", \"command\": \"pause\", \"param\": \"\", \"result\": \"success\"}}",
                  DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_bambu, BAMBU_TOPIC,
                  "{\"info\": {\"command\": \"get_version\", \"sequence_id\": \"0\", \"module\": "
                  "[{\"name\": \"ota\", \"sw_ver\": \"01.08.02.00\", \"hw_ver\": \"\", \"sn\": \"01S00C123456789\"}], "
                  "\"result\": \"success\", \"reason\": \"\"}}",
                  DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_bambu, BAMBU_TOPIC,
                  "{\"system\": {\"sequence_id\": \"0\", \"command\": \"ledctrl\", \"led_node\": \"chamber_light\", "
                  "\"led_mode\": \"on\", \"led_on_time\": 500, \"led_off_time\": 500, \"loop_times\": 1, "
                  "\"interval_time\": 1000, \"result\": \"success\"}}",
                  DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_bambu, BAMBU_TOPIC,
                  "{\"mc_print\": {\"command\": \"push_info\", \"param\": \"[AMS][TASK]tray_now=255\", \"sequence_id\": \"107\"}}",
                  DROVER_DECODE_IGNORED);
  /* What Drover (or anyone) asks the printer. */
  assert_refused (drover_decode_bambu, "device/01S00C123456789/request",
                  "{\"pushing\": {\"sequence_id\": \"0\", \"command\": \"pushall\", \"version\": 1, \"push_target\": 1}}",
                  DROVER_DECODE_IGNORED);
  /* Orders seen on the printer's broker: a print started by someone else
   * (the shape sim-incident.c and Bambu Studio send), a firmware upgrade. */
  {
    DroverEvent *event = assert_event (drover_decode_bambu, "device/01S00C123456789/request",
                                       "{\"print\":{\"sequence_id\":\"0\",\"command\":\"project_file\","
                                       "\"param\":\"Metadata/plate_1.gcode\",\"url\":\"file:///sdcard/old_job.3mf\","
                                       "\"subtask_name\":\"old_job.3mf\",\"use_ams\":false}}",
                                       DROVER_EVENT_ORDER);

    g_assert_cmpstr (event->command, ==, "start");
    g_assert_cmpstr (event->file, ==, "old_job.3mf");
    g_assert_cmpstr (event->url, ==, "file:///sdcard/old_job.3mf");
    drover_event_unref (event);

    event = assert_event (drover_decode_bambu, "device/01S00C123456789/request",
                          "{\"upgrade\":{\"sequence_id\":\"0\",\"command\":\"start\",\"url\":\"http://127.0.0.9/fw.bin\"}}",
                          DROVER_EVENT_ORDER);
    g_assert_cmpstr (event->command, ==, "upgrade");
    drover_event_unref (event);
  }
  /* A push_status that names nothing Drover shows. */
  assert_refused (drover_decode_bambu, BAMBU_TOPIC,
                  "{\"print\":{\"wifi_signal\":\"-54dBm\",\"command\":\"push_status\",\"msg\":1,\"sequence_id\":\"3\"}}",
                  DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_bambu, "device//report", bambu_p1p_push_all, DROVER_DECODE_IGNORED);
}

static void
test_bambu_malformed (void)
{
  static const char *payloads[] = {
    "{\"print\":{\"nozzle_temper\":\"21.25\",\"command\":\"push_status\"}}",
    "{\"print\":{\"nozzle_temper\":NaN,\"command\":\"push_status\"}}",
    "{\"print\":{\"nozzle_temper\":null,\"command\":\"push_status\"}}",
    "{\"print\":{\"bed_temper\":1e999,\"command\":\"push_status\"}}",
    "{\"print\":{\"nozzle_temper\":4000,\"command\":\"push_status\"}}",
    "{\"print\":{\"mc_percent\":750,\"command\":\"push_status\"}}",
    "{\"print\":{\"mc_percent\":7.5,\"mc_remaining_time\":1e12,\"command\":\"push_status\"}}",
    "{\"print\":{\"gcode_state\":1,\"command\":\"push_status\"}}",
    "{\"print\":{\"print_error\":\"0300_400C\",\"command\":\"push_status\"}}",
    "{\"print\":{\"print_error\":-1,\"command\":\"push_status\"}}",
    "{\"print\":{\"subtask_name\":[\"a\"],\"command\":\"push_status\"}}",
    "{\"print\":{\"device\":[],\"command\":\"push_status\"}}",
    "{\"print\":{\"device\":{\"bed\":{\"info\":{\"temp\":\"6553700\"}}},\"command\":\"push_status\"}}",
    "{\"print\":{\"device\":{\"bed\":{\"info\":{\"temp\":-1}}},\"command\":\"push_status\"}}",
    "{\"print\":{\"device\":{\"bed\":{\"info\":{\"temp\":65535}}},\"command\":\"push_status\"}}",
    "{\"print\":{\"device\":{\"extruder\":{\"info\":{\"temp\":14418140}}},\"command\":\"push_status\"}}",
    "{\"print\":{\"device\":{\"extruder\":{\"info\":[14418140]}},\"command\":\"push_status\"}}",
    "{\"print\":[\"push_status\"]}",
    "{\"print\":{\"command\":17}}",
    "[{\"print\":{\"command\":\"push_status\"}}]",
  };

  for (guint i = 0; i < G_N_ELEMENTS (payloads); i++)
    assert_refused (drover_decode_bambu, BAMBU_TOPIC, payloads[i], DROVER_DECODE_MALFORMED);

  for (gsize length = 0; length < strlen (bambu_p1p_push_all); length++)
    assert_refused_bytes (drover_decode_bambu, BAMBU_TOPIC,
                          (const guint8 *) bambu_p1p_push_all, length, DROVER_DECODE_MALFORMED);
}

/* ------------------------------------------------------------------ */
/* Anycubic (bambu-anycubic.md B2-B5)                                  */

#define ANYCUBIC_ID     "9347a110c5423fe412ce45533bfc10e6"
#define ANYCUBIC_PUBLIC "anycubic/anycubicCloud/v1/printer/public/20021/" ANYCUBIC_ID "/"
#define ANYCUBIC_TOPIC  ANYCUBIC_PUBLIC "tempature/report"
#define ANYCUBIC_SERVER "anycubic/anycubicCloud/v1/server/printer/20021/" ANYCUBIC_ID "/"

/* kobra-unleashed main.py's example, verbatim, on the topic it names. */
static const char anycubic_tempature_example[] =
  "{\n"
  "  \"type\": \"tempature\",\n"
  "  \"action\": \"auto\",\n"
  "  \"msgid\": \"c548672e-7b80-4759-ad1b-96078491fcfb\",\n"
  "  \"state\": \"done\",\n"
  "  \"timestamp\": 1705245340137,\n"
  "  \"code\": 200,\n"
  "  \"msg\": \"\",\n"
  "  \"data\": {\n"
  "    \"curr_hotbed_temp\": 20,\n"
  "    \"curr_nozzle_temp\": 20,\n"
  "    \"target_hotbed_temp\": 0,\n"
  "    \"target_nozzle_temp\": 0\n"
  "  }\n"
  "}\n";

/* The envelope of B3 around B4's `print` fields, as drover-sim writes it. */
static char *
anycubic_report (const char *type,
                 const char *action,
                 const char *state,
                 const char *msg,
                 const char *data)
{
  return g_strdup_printf ("{\"type\":\"%s\",\"action\":\"%s\",\"msgid\":\"3f1b6c1e-5d0a-4c43-9d55-0d7a3f0f8e21\","
                          "\"state\":\"%s\",\"timestamp\":1705245340137,\"code\":200,\"msg\":\"%s\",\"data\":%s}",
                          type, action, state, msg, data);
}

static void
test_anycubic_reports (void)
{
  DroverUpdate update = { 0 };
  g_autofree char *key = NULL;

  g_assert_cmpint (decode (drover_decode_anycubic, ANYCUBIC_TOPIC, anycubic_tempature_example, &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpstr (key, ==, ANYCUBIC_ID);
  g_assert_cmpuint (update.fields, ==,
                    DROVER_UPDATE_HOTEND_TEMPERATURE | DROVER_UPDATE_HOTEND_TARGET |
                    DROVER_UPDATE_BED_TEMPERATURE | DROVER_UPDATE_BED_TARGET);
  g_assert_cmpfloat (update.hotend_temperature, ==, 20.0);
  g_assert_cmpfloat (update.bed_temperature, ==, 20.0);
  g_assert_cmpfloat (update.hotend_target, ==, 0.0);
  g_assert_cmpfloat (update.bed_target, ==, 0.0);
  drover_update_clear (&update);
  g_clear_pointer (&key, g_free);

  /* The LAN broker of a Kobra 3: the same report, a model id of 20024 and
   * a timestamp since boot (Rinkhals' 100107). */
  g_assert_cmpint (decode (drover_decode_anycubic,
                           "anycubic/anycubicCloud/v1/printer/public/20024/0f3c11aa/tempature/report",
                           "{\"type\":\"tempature\",\"action\":\"auto\",\"msgid\":\"m\",\"state\":\"done\",\"timestamp\":100107,"
                           "\"code\":200,\"msg\":\"\",\"data\":{\"curr_hotbed_temp\":59.5,\"curr_nozzle_temp\":212,"
                           "\"target_hotbed_temp\":60,\"target_nozzle_temp\":215}}",
                           &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpstr (key, ==, "0f3c11aa");
  g_assert_cmpfloat (update.bed_temperature, ==, 59.5);
  g_assert_cmpfloat (update.hotend_target, ==, 215.0);
  drover_update_clear (&update);
  g_clear_pointer (&key, g_free);

  /* lastWill: online, then the will. */
  {
    g_autofree char *online = anycubic_report ("lastWill", "onlineReport", "online", "", "null");
    g_autofree char *offline = anycubic_report ("lastWill", "onlineReport", "offline", "", "null");

    g_assert_cmpint (decode (drover_decode_anycubic, ANYCUBIC_PUBLIC "lastWill/report", online, &key, &update),
                     ==, DROVER_DECODE_OK);
    g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_ONLINE);
    g_assert_true (update.online);
    drover_update_clear (&update);
    g_clear_pointer (&key, g_free);

    g_assert_cmpint (decode (drover_decode_anycubic, ANYCUBIC_PUBLIC "lastWill/report", offline, &key, &update),
                     ==, DROVER_DECODE_OK);
    g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_ONLINE | DROVER_UPDATE_STATE);
    g_assert_false (update.online);
    g_assert_cmpint (update.state, ==, DROVER_PRINTER_STATE_OFFLINE);
    drover_update_clear (&update);
    g_clear_pointer (&key, g_free);
  }

  /* status: free is idle; busy says less than the print reports. */
  {
    g_autofree char *free_report = anycubic_report ("status", "workReport", "free", "", "null");
    g_autofree char *busy_report = anycubic_report ("status", "workReport", "busy", "", "null");

    g_assert_cmpint (decode (drover_decode_anycubic, ANYCUBIC_PUBLIC "status/report", free_report, &key, &update),
                     ==, DROVER_DECODE_OK);
    g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT);
    g_assert_cmpint (update.state, ==, DROVER_PRINTER_STATE_IDLE);
    drover_update_clear (&update);
    g_clear_pointer (&key, g_free);

    assert_refused (drover_decode_anycubic, ANYCUBIC_PUBLIC "status/report", busy_report, DROVER_DECODE_IGNORED);
  }

  /* info (Rinkhals, Kobra 3 in LAN mode; its trailing commas left out). */
  g_assert_cmpint (decode (drover_decode_anycubic, "anycubic/anycubicCloud/v1/printer/public/20024/0f3c11aa/info/report",
                           "{\"type\":\"info\",\"action\":\"report\",\"timestamp\":100107,"
                           "\"msgid\":\"747b3bf5-6c54-45a7-97bb-67507d78d160\",\"state\":\"done\",\"code\":200,\"msg\":\"done\","
                           "\"data\":{\"printerName\":\"My Kobra 3\",\"urls\":{\"fileUploadurl\":\"http://192.0.2.7:18910/gcode_upload?s=x\","
                           "\"rtspUrl\":\"http://192.0.2.7:18088/flv\"},\"project\":null,\"model\":\"Anycubic Kobra 3\","
                           "\"ip\":\"192.0.2.7\",\"version\":\"2.3.5.3\",\"state\":\"free\",\"temp\":{\"curr_hotbed_temp\":23,"
                           "\"curr_nozzle_temp\":28,\"target_hotbed_temp\":0,\"target_nozzle_temp\":0},\"print_speed_mode\":2,"
                           "\"fan_speed_pct\":0,\"aux_fan_speed_pct\":0,\"box_fan_level\":0}}",
                           &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpuint (update.fields, ==,
                    DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT |
                    DROVER_UPDATE_HOTEND_TEMPERATURE | DROVER_UPDATE_HOTEND_TARGET |
                    DROVER_UPDATE_BED_TEMPERATURE | DROVER_UPDATE_BED_TARGET);
  g_assert_cmpint (update.state, ==, DROVER_PRINTER_STATE_IDLE);
  g_assert_cmpfloat (update.hotend_temperature, ==, 28.0);
  g_assert_cmpfloat (update.bed_temperature, ==, 23.0);
  drover_update_clear (&update);
}

static void
test_anycubic_print (void)
{
  static const char job[] =
    "{\"taskid\":\"492102245\",\"filename\":\"bracket_v3_ASA.gcode\",\"filepath\":\"/\",\"progress\":42,"
    "\"curr_layer\":51,\"total_layers\":120,\"print_time\":35,\"remain_time\":49,\"supplies_usage\":504}";
  static const struct {
    const char         *action;
    const char         *state;
    DroverPrinterState  printer_state;
  } cases[] = {
    { "start",  "checking",   DROVER_PRINTER_STATE_PRINTING },
    { "start",  "preheating", DROVER_PRINTER_STATE_PRINTING },
    { "start",  "printing",   DROVER_PRINTER_STATE_PRINTING },
    { "pause",  "pausing",    DROVER_PRINTER_STATE_PAUSED },
    { "pause",  "paused",     DROVER_PRINTER_STATE_PAUSED },
    { "resume", "resuming",   DROVER_PRINTER_STATE_PRINTING },
    { "resume", "resumed",    DROVER_PRINTER_STATE_PRINTING },
    { "start",  "finished",   DROVER_PRINTER_STATE_IDLE },
    { "stop",   "stopping",   DROVER_PRINTER_STATE_IDLE },
    { "stop",   "stoped",     DROVER_PRINTER_STATE_IDLE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *payload = anycubic_report ("print", cases[i].action, cases[i].state, "", job);
      DroverUpdate update = { 0 };
      g_autofree char *key = NULL;

      g_test_message ("%s", payload);
      g_assert_cmpint (decode (drover_decode_anycubic, ANYCUBIC_PUBLIC "print/report", payload, &key, &update),
                       ==, DROVER_DECODE_OK);
      g_assert_cmpuint (update.fields, ==,
                        DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT | DROVER_UPDATE_CURRENT_FILE |
                        DROVER_UPDATE_PROGRESS | DROVER_UPDATE_TIME_LEFT);
      g_assert_cmpint (update.state, ==, cases[i].printer_state);
      g_assert_cmpstr (update.current_file, ==, "bracket_v3_ASA.gcode");
      g_assert_cmpfloat_with_epsilon (update.progress, 0.42, EPSILON);
      g_assert_cmpint (update.time_left, ==, 49 * 60);
      g_assert_null (update.error_text);
      drover_update_clear (&update);
    }

  /* Downloading: the progress is the download's, not the print's. */
  {
    g_autofree char *payload = anycubic_report ("print", "start", "downloading", "",
                                                "{\"taskid\":\"492102245\",\"progress\":37}");
    DroverUpdate update = { 0 };
    g_autofree char *key = NULL;

    g_assert_cmpint (decode (drover_decode_anycubic, ANYCUBIC_PUBLIC "print/report", payload, &key, &update),
                     ==, DROVER_DECODE_OK);
    g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT);
    g_assert_cmpint (update.state, ==, DROVER_PRINTER_STATE_PRINTING);
    drover_update_clear (&update);
  }

  /* Failed: the reason is the envelope's msg; without one, the code. */
  {
    g_autofree char *payload = anycubic_report ("print", "start", "failed", "filament broken", "{\"taskid\":\"4\"}");
    DroverUpdate update = { 0 };
    g_autofree char *key = NULL;

    g_assert_cmpint (decode (drover_decode_anycubic, ANYCUBIC_PUBLIC "print/report", payload, &key, &update),
                     ==, DROVER_DECODE_OK);
    g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT);
    g_assert_cmpint (update.state, ==, DROVER_PRINTER_STATE_ERROR);
    g_assert_cmpstr (update.error_text, ==, "filament broken");
    drover_update_clear (&update);
    g_clear_pointer (&key, g_free);

    g_assert_cmpint (decode (drover_decode_anycubic, ANYCUBIC_PUBLIC "print/report",
                             "{\"type\":\"print\",\"action\":\"start\",\"msgid\":\"m\",\"state\":\"failed\","
                             "\"timestamp\":1,\"code\":10107,\"msg\":\"\",\"data\":null}",
                             &key, &update),
                     ==, DROVER_DECODE_OK);
    g_assert_cmpstr (update.error_text, ==, "Anycubic error 10107");
    drover_update_clear (&update);
  }

  /* updated: temperatures now, and the new targets under settings. */
  {
    g_autofree char *payload = anycubic_report ("print", "update", "updated", "",
                                                "{\"taskid\":\"492102245\",\"curr_hotbed_temp\":58,\"curr_nozzle_temp\":209,"
                                                "\"settings\":{\"target_hotbed_temp\":60,\"target_nozzle_temp\":211,"
                                                "\"fan_speed_pct\":100,\"print_speed_pct\":100,\"print_speed_mode\":2}}");
    DroverUpdate update = { 0 };
    g_autofree char *key = NULL;

    g_assert_cmpint (decode (drover_decode_anycubic, ANYCUBIC_PUBLIC "print/report", payload, &key, &update),
                     ==, DROVER_DECODE_OK);
    g_assert_cmpuint (update.fields, ==,
                      DROVER_UPDATE_HOTEND_TEMPERATURE | DROVER_UPDATE_HOTEND_TARGET |
                      DROVER_UPDATE_BED_TEMPERATURE | DROVER_UPDATE_BED_TARGET);
    g_assert_cmpfloat (update.hotend_target, ==, 211.0);
    g_assert_cmpfloat (update.bed_temperature, ==, 58.0);
    drover_update_clear (&update);
  }

  /* remain_time -1 (kobra-unleashed's "not known yet"). */
  {
    g_autofree char *payload = anycubic_report ("print", "start", "preheating", "", "{\"progress\":0,\"remain_time\":-1}");
    DroverUpdate update = { 0 };
    g_autofree char *key = NULL;

    g_assert_cmpint (decode (drover_decode_anycubic, ANYCUBIC_PUBLIC "print/report", payload, &key, &update),
                     ==, DROVER_DECODE_OK);
    g_assert_cmpint (update.time_left, ==, -1);
    g_assert_true (update.fields & DROVER_UPDATE_TIME_LEFT);
    drover_update_clear (&update);
  }
}

static void
test_anycubic_file_lists (void)
{
  DroverEvent *event;
  DroverFileInfo *info;

  /* HAC files.py's fields; a folder is not a file. */
  event = assert_event (drover_decode_anycubic, ANYCUBIC_PUBLIC "file/report",
                        "{\"type\":\"file\",\"action\":\"listLocal\",\"msgid\":\"9f3e\",\"state\":\"done\","
                        "\"timestamp\":1709012345678,\"code\":200,\"msg\":\"\",\"data\":{\"records\":["
                        "{\"filename\":\"benchy.gcode\",\"timestamp\":1708963200,\"size\":10573,\"is_dir\":false},"
                        "{\"filename\":\"hacked_machine_readme.gcode\",\"timestamp\":1709012345000,\"size\":245,\"is_dir\":false},"
                        "{\"filename\":\"parts\",\"is_dir\":true},"
                        "{\"filename\":\"old.gcode\",\"is_dir\":0}]}}",
                        DROVER_EVENT_FILE_LIST);
  g_assert_cmpstr (event->origin, ==, "local");
  g_assert_cmpuint (event->files->len, ==, 3);
  info = g_ptr_array_index (event->files, 0);
  g_assert_cmpstr (info->name, ==, "benchy.gcode");
  g_assert_cmpint (info->size, ==, 10573);
  g_assert_cmpint (info->modified, ==, 1708963200);
  info = g_ptr_array_index (event->files, 1);
  g_assert_cmpstr (info->name, ==, "hacked_machine_readme.gcode");
  /* Milliseconds are read as such. */
  g_assert_cmpint (info->modified, ==, 1709012345);
  info = g_ptr_array_index (event->files, 2);
  g_assert_cmpstr (info->name, ==, "old.gcode");
  g_assert_cmpint (info->size, ==, -1);
  g_assert_cmpint (info->modified, ==, -1);
  g_assert_null (info->sha256);
  drover_event_unref (event);

  /* The USB drive's list says so, and an empty one is a list too. */
  event = assert_event (drover_decode_anycubic, ANYCUBIC_PUBLIC "file/report",
                        "{\"type\":\"file\",\"action\":\"listUdisk\",\"msgid\":\"9f3f\",\"state\":\"done\","
                        "\"timestamp\":1709012345678,\"code\":200,\"msg\":\"\",\"data\":{\"records\":[]}}",
                        DROVER_EVENT_FILE_LIST);
  g_assert_cmpstr (event->origin, ==, "udisk");
  g_assert_cmpuint (event->files->len, ==, 0);
  drover_event_unref (event);

  /* A deletion answered says nothing more than the next list will. */
  assert_refused (drover_decode_anycubic, ANYCUBIC_PUBLIC "file/report",
                  "{\"type\":\"file\",\"action\":\"deleteLocal\",\"msgid\":\"9f40\",\"state\":\"success\","
                  "\"timestamp\":1709012345678,\"code\":200,\"msg\":\"\",\"data\":null}",
                  DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_anycubic, ANYCUBIC_PUBLIC "file/report",
                  "{\"type\":\"file\",\"action\":\"listLocal\",\"msgid\":\"9f41\",\"state\":\"failed\","
                  "\"timestamp\":1709012345678,\"code\":200,\"msg\":\"busy\",\"data\":null}",
                  DROVER_DECODE_IGNORED);
}

static void
test_anycubic_orders (void)
{
  DroverEvent *event;

  /* kobra-unleashed's print_remote_file, as it publishes it: json.dumps
   * with every "/" escaped, on …/server/printer/<model>/<id>/print/start. */
  event = assert_event (drover_decode_anycubic, ANYCUBIC_SERVER "print/start",
                        "{\"data\": {\"md5\": \"943c0dff568dd508e21af2d894bb6b49\", "
                        "\"url\": \"http:\\/\\/127.0.0.9:8000\\/message.txt\", \"filesize\": 245, "
                        "\"filename\": \"hacked_machine_readme.gcode\", \"filetype\": 0, \"taskid\": \"4711\", "
                        "\"task_mode\": 1}, \"msgid\": \"0b5a7d3e-1c2f-4e3a-9b8c-7d6e5f4a3b2c\", "
                        "\"timestamp\": 1709012345678, \"type\": \"print\", \"action\": \"start\"}",
                        DROVER_EVENT_ORDER);
  g_assert_cmpstr (event->command, ==, "start");
  g_assert_cmpstr (event->file, ==, "hacked_machine_readme.gcode");
  g_assert_cmpstr (event->url, ==, "http://127.0.0.9:8000/message.txt");
  g_assert_cmpstr (event->request_id, ==, "0b5a7d3e-1c2f-4e3a-9b8c-7d6e5f4a3b2c");
  drover_event_unref (event);

  /* Rinkhals' minimal start on the LAN slicer topic: a file already there. */
  event = assert_event (drover_decode_anycubic,
                        "anycubic/anycubicCloud/v1/slicer/printer/20024/" ANYCUBIC_ID "/print",
                        "{\"type\":\"print\",\"action\":\"start\",\"msgid\":\"02fd3987-a2ff-244e-7c95-7fe257a9ef70\","
                        "\"timestamp\":1660201929871,\"data\":{\"taskid\":\"-1\","
                        "\"filename\":\"test_model/FlexibleShark-41m.gcode\",\"filetype\":1}}",
                        DROVER_EVENT_ORDER);
  g_assert_cmpstr (event->command, ==, "start");
  g_assert_cmpstr (event->file, ==, "test_model/FlexibleShark-41m.gcode");
  g_assert_null (event->url);
  drover_event_unref (event);

  /* Rinkhals' stop; K2T's pause and cancel (a cancel is a stop). */
  event = assert_event (drover_decode_anycubic, "anycubic/anycubicCloud/v1/web/printer/20024/" ANYCUBIC_ID "/print",
                        "{\"type\":\"print\",\"action\":\"stop\",\"timestamp\":1733337112202,"
                        "\"msgid\":\"07fe2ea0-b26e-11ef-94d0-7925260ebe40\",\"data\":{\"taskid\":\"-1\"}}",
                        DROVER_EVENT_ORDER);
  g_assert_cmpstr (event->command, ==, "stop");
  g_assert_cmpstr (event->request_id, ==, "07fe2ea0-b26e-11ef-94d0-7925260ebe40");
  drover_event_unref (event);
  event = assert_event (drover_decode_anycubic, ANYCUBIC_SERVER "pause",
                        "{\"type\": \"print\", \"action\": \"pause\", \"data\": {\"taskid\": \"4711\"}}",
                        DROVER_EVENT_ORDER);
  g_assert_cmpstr (event->command, ==, "pause");
  g_assert_null (event->request_id);
  drover_event_unref (event);
  event = assert_event (drover_decode_anycubic, ANYCUBIC_SERVER "print/resume",
                        "{\"type\": \"print\", \"action\": \"resume\", \"msgid\": \"r1\", \"data\": {\"taskid\": \"4711\"}}",
                        DROVER_EVENT_ORDER);
  g_assert_cmpstr (event->command, ==, "resume");
  drover_event_unref (event);
  event = assert_event (drover_decode_anycubic, ANYCUBIC_SERVER "print/cancel",
                        "{\"type\": \"print\", \"action\": \"cancel\", \"data\": {\"taskid\": \"4711\"}}",
                        DROVER_EVENT_ORDER);
  g_assert_cmpstr (event->command, ==, "stop");
  drover_event_unref (event);

  /* K2T's ota/update: the other URL fetch. */
  event = assert_event (drover_decode_anycubic, ANYCUBIC_SERVER "ota/update",
                        "{\"type\":\"ota\",\"action\":\"update\",\"msgid\":\"o1\",\"timestamp\":1709012345678,"
                        "\"data\":{\"firmware_url\":\"http://127.0.0.9:8000/fw.swu\",\"firmware_md5\":\"00\","
                        "\"firmware_version\":\"9.9.9\",\"firmware_name\":\"fw.swu\",\"firmware_size\":1,\"force_update\":1}}",
                        DROVER_EVENT_ORDER);
  g_assert_cmpstr (event->command, ==, "ota");
  g_assert_cmpstr (event->url, ==, "http://127.0.0.9:8000/fw.swu");
  drover_event_unref (event);

  /* K2T's deleteLocal, with its folder. */
  event = assert_event (drover_decode_anycubic, ANYCUBIC_SERVER "file/deleteLocal",
                        "{\"type\": \"file\", \"action\": \"deleteLocal\", \"msgid\": \"d1\", "
                        "\"data\": {\"path\": \"/parts/\", \"filename\": \"benchy.gcode\"}}",
                        DROVER_EVENT_ORDER);
  g_assert_cmpstr (event->command, ==, "delete");
  g_assert_cmpstr (event->file, ==, "parts/benchy.gcode");
  g_assert_cmpstr (event->origin, ==, "local");
  drover_event_unref (event);
  event = assert_event (drover_decode_anycubic, ANYCUBIC_SERVER "file/deleteUdisk",
                        "{\"type\": \"file\", \"action\": \"deleteUdisk\", \"data\": {\"path\": \"/\", \"filename\": \"a.gcode\"}}",
                        DROVER_EVENT_ORDER);
  g_assert_cmpstr (event->file, ==, "a.gcode");
  g_assert_cmpstr (event->origin, ==, "udisk");
  drover_event_unref (event);

  /* Asking is not ordering: lists (K2T, kobra-unleashed), queries, lights. */
  assert_refused (drover_decode_anycubic, ANYCUBIC_SERVER "file/listLocal",
                  "{\"data\": {\"task_mode\": 2}, \"msgid\": \"l1\", \"timestamp\": 1709012345678, "
                  "\"type\": \"file\", \"action\": \"listLocal\"}",
                  DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_anycubic, "anycubic/anycubicCloud/v1/slicer/printer/20024/" ANYCUBIC_ID "/info",
                  "{\"type\":\"info\",\"action\":\"query\",\"msgid\":\"02fd3987-a2ff-244e-7c95-7fe257a9ef70\","
                  "\"timestamp\":1660201929871}",
                  DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_anycubic, "anycubic/anycubicCloud/v1/web/printer/20024/" ANYCUBIC_ID "/light",
                  "{\"type\":\"light\",\"action\":\"control\",\"timestamp\":1733258023447,"
                  "\"msgid\":\"e36be270-b1b5-11ef-8e80-67dea82d3a00\",\"data\":{\"type\":3,\"status\":1,\"brightness\":100}}",
                  DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_anycubic, "anycubic/anycubicCloud/v1/web/printer/20024/" ANYCUBIC_ID "/video",
                  "{\"type\":\"video\",\"action\":\"startCapture\",\"timestamp\":1660201929871,"
                  "\"msgid\":\"02fd3987-a2ff-244e-7c95-7fe257a9ef70\",\"data\":null}",
                  DROVER_DECODE_IGNORED);
}

static void
test_anycubic_malformed (void)
{
  static const char *reports[] = {
    /* The type is the topic's. */
    "{\"type\":\"print\",\"action\":\"auto\",\"msgid\":\"m\",\"state\":\"done\",\"data\":{\"curr_nozzle_temp\":20}}",
    /* Envelope members of the wrong type, or missing. */
    "{\"action\":\"auto\",\"state\":\"done\",\"data\":{\"curr_nozzle_temp\":20}}",
    "{\"type\":\"tempature\",\"state\":\"done\",\"data\":{\"curr_nozzle_temp\":20}}",
    "{\"type\":\"tempature\",\"action\":\"auto\",\"data\":{\"curr_nozzle_temp\":20}}",
    "{\"type\":\"tempature\",\"action\":\"auto\",\"state\":1,\"data\":{\"curr_nozzle_temp\":20}}",
    "{\"type\":\"tempature\",\"action\":\"auto\",\"state\":\"done\",\"msgid\":7,\"data\":{\"curr_nozzle_temp\":20}}",
    "{\"type\":\"tempature\",\"action\":\"auto\",\"state\":\"done\",\"timestamp\":\"now\",\"data\":{\"curr_nozzle_temp\":20}}",
    "{\"type\":\"tempature\",\"action\":\"auto\",\"state\":\"done\",\"timestamp\":-5,\"data\":{\"curr_nozzle_temp\":20}}",
    "{\"type\":\"tempature\",\"action\":\"auto\",\"state\":\"done\",\"code\":\"200\",\"data\":{\"curr_nozzle_temp\":20}}",
    "{\"type\":\"tempature\",\"action\":\"auto\",\"state\":\"done\",\"msg\":[],\"data\":{\"curr_nozzle_temp\":20}}",
    "{\"type\":\"tempature\",\"action\":\"auto\",\"state\":\"done\",\"data\":[20,20,0,0]}",
    /* Values Drover reads, wrong. */
    "{\"type\":\"tempature\",\"action\":\"auto\",\"state\":\"done\",\"data\":null}",
    "{\"type\":\"tempature\",\"action\":\"auto\",\"state\":\"done\",\"data\":{\"curr_nozzle_temp\":\"20\"}}",
    "{\"type\":\"tempature\",\"action\":\"auto\",\"state\":\"done\",\"data\":{\"curr_nozzle_temp\":null}}",
    "{\"type\":\"tempature\",\"action\":\"auto\",\"state\":\"done\",\"data\":{\"curr_hotbed_temp\":4000}}",
    "{\"type\":\"tempature\",\"action\":\"auto\",\"state\":\"done\",\"data\":{\"target_nozzle_temp\":1e999}}",
    "[{\"type\":\"tempature\",\"action\":\"auto\",\"state\":\"done\"}]",
    "\"tempature\"",
  };
  static const char *prints[] = {
    "{\"type\":\"print\",\"action\":\"start\",\"state\":\"printing\",\"data\":{\"progress\":142}}",
    "{\"type\":\"print\",\"action\":\"start\",\"state\":\"printing\",\"data\":{\"progress\":\"42\"}}",
    "{\"type\":\"print\",\"action\":\"start\",\"state\":\"printing\",\"data\":{\"remain_time\":1e12}}",
    "{\"type\":\"print\",\"action\":\"start\",\"state\":\"printing\",\"data\":{\"filename\":7}}",
    "{\"type\":\"print\",\"action\":\"start\",\"state\":\"printing\",\"data\":\"job\"}",
    "{\"type\":\"print\",\"action\":\"update\",\"state\":\"updated\",\"data\":{\"settings\":[]}}",
    "{\"type\":\"print\",\"action\":\"update\",\"state\":\"updated\"}",
  };
  static const char *files[] = {
    "{\"type\":\"file\",\"action\":\"listLocal\",\"state\":\"done\",\"data\":{}}",
    "{\"type\":\"file\",\"action\":\"listLocal\",\"state\":\"done\",\"data\":{\"records\":{}}}",
    "{\"type\":\"file\",\"action\":\"listLocal\",\"state\":\"done\",\"data\":{\"records\":[\"a.gcode\"]}}",
    "{\"type\":\"file\",\"action\":\"listLocal\",\"state\":\"done\",\"data\":{\"records\":[{\"filename\":\"a.gcode\"}]}}",
    "{\"type\":\"file\",\"action\":\"listLocal\",\"state\":\"done\",\"data\":{\"records\":[{\"filename\":\"\",\"is_dir\":false}]}}",
    "{\"type\":\"file\",\"action\":\"listLocal\",\"state\":\"done\",\"data\":{\"records\":[{\"filename\":\"a\",\"is_dir\":2}]}}",
    "{\"type\":\"file\",\"action\":\"listLocal\",\"state\":\"done\",\"data\":{\"records\":[{\"filename\":\"a\",\"is_dir\":false,\"size\":-1}]}}",
    "{\"type\":\"file\",\"action\":\"listLocal\",\"state\":\"done\",\"data\":{\"records\":[{\"filename\":\"a\",\"is_dir\":false,\"size\":\"1\"}]}}",
  };
  static const char *orders[] = {
    "{\"type\":\"print\",\"action\":\"start\",\"data\":{\"url\":\"http://127.0.0.9/x\"}}",
    "{\"type\":\"print\",\"action\":\"start\"}",
    "{\"type\":\"print\",\"action\":\"start\",\"data\":{\"filename\":\"a.gcode\",\"url\":7}}",
    "{\"type\":\"print\",\"action\":\"start\",\"data\":{\"filename\":[\"a.gcode\"]}}",
    "{\"type\":\"print\",\"action\":\"start\",\"data\":[]}",
    "{\"type\":\"ota\",\"action\":\"update\",\"data\":{\"firmware_url\":{}}}",
    "{\"type\":\"file\",\"action\":\"deleteLocal\",\"data\":{\"path\":\"/\"}}",
    "{\"action\":\"start\",\"data\":{\"filename\":\"a.gcode\"}}",
    "{\"type\":\"print\",\"action\":\"start\",\"msgid\":5,\"data\":{\"filename\":\"a.gcode\"}}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (reports); i++)
    assert_refused (drover_decode_anycubic, ANYCUBIC_TOPIC, reports[i], DROVER_DECODE_MALFORMED);
  for (guint i = 0; i < G_N_ELEMENTS (prints); i++)
    assert_refused (drover_decode_anycubic, ANYCUBIC_PUBLIC "print/report", prints[i], DROVER_DECODE_MALFORMED);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    assert_refused (drover_decode_anycubic, ANYCUBIC_PUBLIC "file/report", files[i], DROVER_DECODE_MALFORMED);
  for (guint i = 0; i < G_N_ELEMENTS (orders); i++)
    assert_refused (drover_decode_anycubic, ANYCUBIC_SERVER "print/start", orders[i], DROVER_DECODE_MALFORMED);

  /* Truncated anywhere: refused whole. */
  for (gsize length = 0; length < strlen (anycubic_tempature_example) - 1; length++)
    assert_refused_bytes (drover_decode_anycubic, ANYCUBIC_TOPIC,
                          (const guint8 *) anycubic_tempature_example, length, DROVER_DECODE_MALFORMED);

  /* Misspelled: a type, action or state Drover does not know says nothing.
   * The API's own spelling is `tempature`; `temperature` is someone else's. */
  assert_refused (drover_decode_anycubic, ANYCUBIC_PUBLIC "temperature/report",
                  "{\"type\":\"temperature\",\"action\":\"auto\",\"msgid\":\"m\",\"state\":\"done\",\"timestamp\":1,"
                  "\"code\":200,\"msg\":\"\",\"data\":{\"curr_hotbed_temp\":20,\"curr_nozzle_temp\":20}}",
                  DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_anycubic, ANYCUBIC_TOPIC,
                  "{\"type\":\"tempature\",\"action\":\"automatic\",\"state\":\"done\",\"data\":{\"curr_nozzle_temp\":20}}",
                  DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_anycubic, ANYCUBIC_TOPIC,
                  "{\"type\":\"tempature\",\"action\":\"auto\",\"state\":\"done\",\"data\":{\"curr_nozle_temp\":20}}",
                  DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_anycubic, ANYCUBIC_PUBLIC "print/report",
                  "{\"type\":\"print\",\"action\":\"start\",\"state\":\"printng\",\"data\":{\"progress\":42}}",
                  DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_anycubic, ANYCUBIC_PUBLIC "lastWill/report",
                  "{\"type\":\"lastWill\",\"action\":\"onlineReport\",\"state\":\"onlin\"}",
                  DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_anycubic, ANYCUBIC_PUBLIC "print/report",
                  "{\"type\":\"print\",\"action\":\"getSliceParam\",\"state\":\"done\",\"data\":{\"slice_param\":{}}}",
                  DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_anycubic, ANYCUBIC_PUBLIC "multiColorBox/report",
                  "{\"type\":\"multiColorBox\",\"action\":\"getInfo\",\"state\":\"success\",\"data\":{\"multi_color_box\":[]}}",
                  DROVER_DECODE_IGNORED);

  /* Topics that are not this dialect's, or name no printer. */
  assert_refused (drover_decode_anycubic, "anycubic/anycubicCloud/v1/printer/public/20021//tempature/report",
                  anycubic_tempature_example, DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_anycubic, "anycubic/anycubicCloud/v1/printer/public/kobra/" ANYCUBIC_ID "/tempature/report",
                  anycubic_tempature_example, DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_anycubic, "anycubic/anycubicCloud/v1/printer/public/20021/" ANYCUBIC_ID "/tempature/report/x",
                  anycubic_tempature_example, DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_anycubic, "anycubic/anycubicCloud/v1/printer/app/20021/" ANYCUBIC_ID "/tempature/report",
                  anycubic_tempature_example, DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_anycubic, "anycubic/anycubicCloud/v1/printer/public/20021/" ANYCUBIC_ID "/tempature",
                  anycubic_tempature_example, DROVER_DECODE_IGNORED);
  assert_refused (drover_decode_anycubic, "anycubic/anycubicCloud/v2/printer/public/20021/" ANYCUBIC_ID "/tempature/report",
                  anycubic_tempature_example, DROVER_DECODE_IGNORED);
}

/* ------------------------------------------------------------------ */
/* What every decoder does alike                                       */

static const struct {
  const char       *name;
  DroverDecodeFunc  func;
  const char       *topic;
  const char       *payload;
} dialects[] = {
  { "native",    drover_decode_native,    NATIVE_TOPIC,                          native_state_example },
  { "moonraker", drover_decode_moonraker, MOONRAKER_TOPIC,                       moonraker_full_example },
  { "octoprint", drover_decode_octoprint, "octoPrint/mk3s-07/temperature/tool0", "{\"actual\": 65.3, \"target\": 210.0}" },
  { "bambu",     drover_decode_bambu,     BAMBU_TOPIC,                           bambu_p1p_push_all },
  { "anycubic",  drover_decode_anycubic,  ANYCUBIC_TOPIC,                        anycubic_tempature_example },
};

static void
test_other_dialects (void)
{
  /* Each dialect's topic, given to every other decoder. */
  for (guint i = 0; i < G_N_ELEMENTS (dialects); i++)
    for (guint j = 0; j < G_N_ELEMENTS (dialects); j++)
      {
        if (i == j)
          continue;
        assert_refused (dialects[i].func, dialects[j].topic, dialects[j].payload, DROVER_DECODE_IGNORED);
      }

  for (guint i = 0; i < G_N_ELEMENTS (dialects); i++)
    {
      assert_refused (dialects[i].func, "", dialects[i].payload, DROVER_DECODE_IGNORED);
      assert_refused (dialects[i].func, "#", dialects[i].payload, DROVER_DECODE_IGNORED);
      if (dialects[i].func != drover_decode_anycubic)
        assert_refused (dialects[i].func, "anycubic/anycubicCloud/v1/printer/public/20021/abc/print/report",
                        dialects[i].payload, DROVER_DECODE_IGNORED);
    }
  /* A wildcard where the printer's id goes names no printer. */
  assert_refused (drover_decode_anycubic, "anycubic/anycubicCloud/v1/printer/public/20021/+/tempature/report",
                  anycubic_tempature_example, DROVER_DECODE_IGNORED);
}

static void
test_empty_and_invalid_utf8 (void)
{
  static const guint8 invalid_utf8[] = "{\"v\":1,\"state\":\"error\",\"error\":\"\xff\xfe\"}";
  static const guint8 nul_inside[] = "{\"v\":1,\"state\":\"idle\"}\0{}";
  static const guint8 bambu_invalid[] = "{\"print\":{\"subtask_name\":\"\xc3\x28\",\"command\":\"push_status\"}}";
  static const guint8 surrogate[] = "{\"v\":1,\"state\":\"error\",\"error\":\"\\ud800\"}";

  for (guint i = 0; i < G_N_ELEMENTS (dialects); i++)
    {
      assert_refused (dialects[i].func, dialects[i].topic, "", DROVER_DECODE_MALFORMED);
      assert_refused_bytes (dialects[i].func, dialects[i].topic, NULL, 0, DROVER_DECODE_MALFORMED);
    }

  assert_refused_bytes (drover_decode_native, NATIVE_TOPIC, invalid_utf8, sizeof invalid_utf8 - 1,
                        DROVER_DECODE_MALFORMED);
  assert_refused_bytes (drover_decode_native, NATIVE_TOPIC, nul_inside, sizeof nul_inside - 1,
                        DROVER_DECODE_MALFORMED);
  assert_refused_bytes (drover_decode_bambu, BAMBU_TOPIC, bambu_invalid, sizeof bambu_invalid - 1,
                        DROVER_DECODE_MALFORMED);

  /* A lone surrogate escape: refused, or read as text that is valid UTF-8;
   * never a string that is not. */
  {
    DroverUpdate update = { 0 };
    g_autofree char *key = NULL;
    DroverDecodeStatus status = drover_decode_native (NATIVE_TOPIC, surrogate, sizeof surrogate - 1, &key, &update);

    g_assert_true (status == DROVER_DECODE_OK || status == DROVER_DECODE_MALFORMED);
    if (update.error_text != NULL)
      g_assert_true (g_utf8_validate (update.error_text, -1, NULL));
    drover_update_clear (&update);
  }

  /* Not valid UTF-8 in the topic: no key can come of it. */
  assert_refused (drover_decode_moonraker, "printer\xff/klipper/status", moonraker_diff_example, DROVER_DECODE_IGNORED);
}

static void
test_oversized (void)
{
  gsize size = DROVER_DECODE_MAX_PAYLOAD + 1;
  g_autofree guint8 *payload = g_malloc (size);

  for (guint i = 0; i < G_N_ELEMENTS (dialects); i++)
    {
      gsize length = strlen (dialects[i].payload);
      DroverUpdate update = { 0 };
      g_autofree char *key = NULL;

      /* The example padded with JSON whitespace up to the limit: read. */
      memset (payload, ' ', size);
      memcpy (payload, dialects[i].payload, length);
      g_assert_cmpint (dialects[i].func (dialects[i].topic, payload, DROVER_DECODE_MAX_PAYLOAD, &key, &update),
                       ==, DROVER_DECODE_OK);
      drover_update_clear (&update);

      /* One byte more: not read. */
      assert_refused_bytes (dialects[i].func, dialects[i].topic, payload, size, DROVER_DECODE_OVERSIZED);
    }

  memset (payload, 'x', size);
  assert_refused_bytes (drover_decode_octoprint, "octoPrint/mk3s-07/mqtt", payload, size, DROVER_DECODE_OVERSIZED);
}

/* What json-glib 1.6 would take but JSON is not, and nesting that would
 * take json-glib's recursion past the thread's stack. */
static void
test_strict_json (void)
{
  static const char *not_json[] = {
    "{\"v\":1,\"state\":\"idle\"}{\"v\":1,\"state\":\"error\"}",
    "{\"v\":1,\"state\":\"idle\"} x",
    "/* comment */ {\"v\":1,\"state\":\"idle\"}",
    "{'v':1,'state':'idle'}",
    "{\"v\":0x1,\"state\":\"idle\"}",
    "{\"v\":1,\"state\":\"idle\",}",
    "{\"v\":01,\"state\":\"idle\"}",
    "{\"v\":1.,\"state\":\"idle\"}",
    "{\"v\":+1,\"state\":\"idle\"}",
    "{\"v\":1,\"hotend\":{\"actual\":Infinity}}",
    "{\"v\":1,\"hotend\":{\"actual\":-NaN}}",
    "{\"v\":1,\"state\":\"idle\",\"error\":\"\\x41\"}",
    "{\"v\":1,\"state\":\"idle\",\"error\":\"\\udc00\"}",
    "{\"v\":1,\"state\":\"idle\",\"error\":\"\\ud800x\"}",
    "{\"v\":1,\"state\":\"idle\",\"error\":\"tab\there\"}",
    "{\"v\":1,\"state\":\"idle\" \"error\":null}",
    "{\"v\":1,\"state\":\"idle\",\"error\":nul}",
    "{\"v\"1}",
    "{\"v\":1]",
    "[1}",
  };
  gsize deep = 100000;
  g_autofree char *brackets = g_malloc (2 * deep + 1);
  DroverUpdate update = { 0 };
  g_autofree char *key = NULL;
  g_autoptr(GString) nested = g_string_new ("{\"print\":{\"command\":\"push_status\",\"nozzle_temper\":20.5,\"x\":");

  for (guint i = 0; i < G_N_ELEMENTS (not_json); i++)
    assert_refused (drover_decode_native, NATIVE_TOPIC, not_json[i], DROVER_DECODE_MALFORMED);

  memset (brackets, '[', deep);
  memset (brackets + deep, ']', deep);
  brackets[2 * deep] = '\0';
  for (guint i = 0; i < G_N_ELEMENTS (dialects); i++)
    assert_refused (dialects[i].func, dialects[i].topic, brackets, DROVER_DECODE_MALFORMED);

  /* An escaped surrogate pair is JSON, and UTF-8 once read. */
  g_assert_cmpint (decode (drover_decode_native, NATIVE_TOPIC,
                           "{\"v\":1,\"error\":\"\\ud83d\\udd25 Hotend\"}", &key, &update),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpstr (update.error_text, ==, "\xf0\x9f\x94\xa5 Hotend");
  drover_update_clear (&update);
  g_clear_pointer (&key, g_free);

  /* Nesting up to the limit is read (the report's own two levels, and 62
   * more in a member Drover skips); one more level is refused. */
  for (guint i = 0; i < 62; i++)
    g_string_append_c (nested, '[');
  for (guint i = 0; i < 62; i++)
    g_string_append_c (nested, ']');
  g_string_append (nested, "}}");
  g_assert_cmpint (decode (drover_decode_bambu, BAMBU_TOPIC, nested->str, &key, &update), ==, DROVER_DECODE_OK);
  g_assert_cmpuint (update.fields, ==, DROVER_UPDATE_HOTEND_TEMPERATURE);
  drover_update_clear (&update);

  g_string_insert_c (nested, nested->len - 2 - 62, '[');
  g_string_insert_c (nested, nested->len - 2, ']');
  assert_refused (drover_decode_bambu, BAMBU_TOPIC, nested->str, DROVER_DECODE_MALFORMED);
}

/* drover_update_merge (drover-update.c) with two diffs of one printer. */
static void
test_merge_two_diffs (void)
{
  DroverUpdate pending = { 0 };
  DroverUpdate first = { 0 };
  DroverUpdate second = { 0 };
  g_autofree char *first_key = NULL;
  g_autofree char *second_key = NULL;

  g_assert_cmpint (decode (drover_decode_moonraker, MOONRAKER_TOPIC,
                           "{\"eventtime\":10.0,\"status\":{\"extruder\":{\"temperature\":215.1},"
                           "\"virtual_sdcard\":{\"progress\":0.2},\"print_stats\":{\"filename\":\"benchy.gcode\"}}}",
                           &first_key, &first),
                   ==, DROVER_DECODE_OK);
  g_assert_cmpint (decode (drover_decode_moonraker, MOONRAKER_TOPIC,
                           "{\"eventtime\":10.25,\"status\":{\"heater_bed\":{\"target\":0.0},"
                           "\"virtual_sdcard\":{\"progress\":0.3},\"print_stats\":{\"state\":\"paused\",\"filename\":\"\"}}}",
                           &second_key, &second),
                   ==, DROVER_DECODE_OK);

  drover_update_merge (&pending, &first);
  drover_update_merge (&pending, &second);

  g_assert_cmpuint (pending.fields, ==, first.fields | second.fields);
  g_assert_cmpuint (pending.fields, ==,
                    DROVER_UPDATE_HOTEND_TEMPERATURE | DROVER_UPDATE_BED_TARGET | DROVER_UPDATE_PROGRESS |
                    DROVER_UPDATE_CURRENT_FILE | DROVER_UPDATE_STATE | DROVER_UPDATE_ERROR_TEXT);
  /* Named only by the first: kept. */
  g_assert_cmpfloat_with_epsilon (pending.hotend_temperature, 215.1, EPSILON);
  /* Named only by the second: taken. */
  g_assert_cmpfloat (pending.bed_target, ==, 0.0);
  g_assert_cmpint (pending.state, ==, DROVER_PRINTER_STATE_PAUSED);
  /* Named by both: the newer wins, including "no file". */
  g_assert_cmpfloat_with_epsilon (pending.progress, 0.3, EPSILON);
  g_assert_null (pending.current_file);
  /* Never named: not there. */
  g_assert_false (pending.fields & DROVER_UPDATE_BED_TEMPERATURE);
  g_assert_false (pending.fields & DROVER_UPDATE_TIME_LEFT);

  /* The merge copied: the diffs stay whole. */
  g_assert_cmpstr (first.current_file, ==, "benchy.gcode");

  drover_update_clear (&pending);
  drover_update_clear (&first);
  drover_update_clear (&second);
  g_assert_cmpuint (pending.fields, ==, 0);
}

/* The decoders run on Paho's threads, several at once. */
static gpointer
decode_many_cb (gpointer data)
{
  guint failures = 0;

  for (guint round = 0; round < 500; round++)
    for (guint i = 0; i < G_N_ELEMENTS (dialects); i++)
      {
        DroverUpdate update = { 0 };
        g_autofree char *key = NULL;

        if (decode (dialects[i].func, dialects[i].topic, dialects[i].payload, &key, &update) != DROVER_DECODE_OK)
          failures++;
        drover_update_clear (&update);
      }

  return GUINT_TO_POINTER (failures);
}

static void
test_threads (void)
{
  GThread *threads[4];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("decode", decode_many_cb, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_assert_cmpuint (GPOINTER_TO_UINT (g_thread_join (threads[i])), ==, 0);
}

/* OctoPrint's REST /api/job, for the job the MQTT plugin did not announce. */
static void
test_octoprint_job (void)
{
  /* Shaped as octoprint.md §3.6 describes it. */
  static const char printing[] =
    "{\"job\": {\"file\": {\"name\": \"benchy.gcode\", \"path\": \"folder/benchy.gcode\", \"display\": \"benchy.gcode\", "
    "\"origin\": \"local\", \"size\": 1234567, \"date\": 1717000000}, \"estimatedPrintTime\": 3600.0, "
    "\"user\": \"admin\"}, \"progress\": {\"completion\": 42.5, \"filepos\": 524691, \"printTime\": 1530, "
    "\"printTimeLeft\": 2070, \"printTimeLeftOrigin\": \"linear\"}, \"state\": \"Printing\"}\n";
  static const char idle[] =
    "{\"job\": {\"file\": {\"name\": null, \"path\": null, \"display\": null, \"origin\": null, \"size\": null, "
    "\"date\": null}}, \"progress\": {\"completion\": null, \"filepos\": null, \"printTime\": null, "
    "\"printTimeLeft\": null}, \"state\": \"Operational\"}";
  static const char error[] = "{\"state\": \"Offline after error\", \"error\": \"Thermal runaway\"}";
  DroverUpdate update = { 0 };

  g_assert_cmpint (drover_decode_octoprint_job ((const guint8 *)printing, strlen (printing), &update), ==, DROVER_DECODE_OK);
  g_assert_cmpint (update.state, ==, DROVER_PRINTER_STATE_PRINTING);
  g_assert_cmpfloat_with_epsilon (update.progress, 0.425, 1e-9);
  g_assert_cmpint (update.time_left, ==, 2070);
  g_assert_cmpstr (update.current_file, ==, "folder/benchy.gcode");
  drover_update_clear (&update);

  g_assert_cmpint (drover_decode_octoprint_job ((const guint8 *)idle, strlen (idle), &update), ==, DROVER_DECODE_OK);
  g_assert_cmpint (update.state, ==, DROVER_PRINTER_STATE_IDLE);
  g_assert_true (update.fields & DROVER_UPDATE_CURRENT_FILE);
  g_assert_null (update.current_file);
  g_assert_false (update.fields & DROVER_UPDATE_PROGRESS);
  drover_update_clear (&update);

  g_assert_cmpint (drover_decode_octoprint_job ((const guint8 *)error, strlen (error), &update), ==, DROVER_DECODE_OK);
  g_assert_cmpint (update.state, ==, DROVER_PRINTER_STATE_ERROR);
  g_assert_cmpstr (update.error_text, ==, "Thermal runaway");
  drover_update_clear (&update);

  g_assert_cmpint (drover_decode_octoprint_job ((const guint8 *)"{\"state\": 7}", 12, &update), ==, DROVER_DECODE_MALFORMED);
  g_assert_cmpint (drover_decode_octoprint_job ((const guint8 *)"<html>", 6, &update), ==, DROVER_DECODE_MALFORMED);
  g_assert_cmpuint (update.fields, ==, 0);
}

/* A printer with thousands of files sends a list far over the state cap:
 * it is read whole; a list over its own cap is refused, not cut short. */
static void
test_native_large_file_list (void)
{
  GString *payload = g_string_new ("{\"v\":1,\"ts\":\"2026-11-25T10:02:11.204Z\",\"files\":[");
  g_autoptr(GString) huge = NULL;
  DroverUpdate update = { 0 };
  g_autofree char *key = NULL;
  DroverEvent *event;

  for (guint i = 0; i < 3000; i++)
    g_string_append_printf (payload, "%s{\"name\":\"part_%05u_with_a_long_descriptive_name.gcode\",\"size\":%u,"
                            "\"modified\":\"2026-11-07T09:47:11Z\",\"sha256\":\"%064u\"}",
                            i > 0 ? "," : "", i, 1000 + i, i);
  g_string_append (payload, "]}");
  g_assert_cmpuint (payload->len, >, DROVER_DECODE_MAX_PAYLOAD);

  g_assert_cmpint (drover_decode_native ("drover/v1/big-farm-1/files", (const guint8 *)payload->str, payload->len,
                                         &key, &update), ==, DROVER_DECODE_OK);
  event = g_ptr_array_index (update.events, 0);
  g_assert_cmpuint (event->files->len, ==, 3000);
  drover_update_clear (&update);
  g_clear_pointer (&key, g_free);

  /* The same list made larger than its cap. */
  huge = g_string_new (payload->str);
  while (huge->len <= DROVER_DECODE_MAX_FILE_LIST)
    g_string_append (huge, payload->str);
  g_assert_cmpint (drover_decode_native ("drover/v1/big-farm-1/files", (const guint8 *)huge->str, huge->len,
                                         &key, &update), ==, DROVER_DECODE_OVERSIZED);
  g_assert_null (key);
  g_assert_null (update.events);

  /* State keeps its own, smaller cap. */
  g_assert_cmpint (drover_decode_native ("drover/v1/big-farm-1/state", (const guint8 *)payload->str, payload->len,
                                         &key, &update), ==, DROVER_DECODE_OVERSIZED);
  g_string_free (payload, TRUE);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/decode/native/state", test_native_state);
  g_test_add_func ("/decode/native/no-job", test_native_no_job);
  g_test_add_func ("/decode/native/presence", test_native_presence);
  g_test_add_func ("/decode/native/ignored", test_native_ignored);
  g_test_add_func ("/decode/native/malformed", test_native_malformed);
  g_test_add_func ("/decode/moonraker/full", test_moonraker_full);
  g_test_add_func ("/decode/moonraker/diff", test_moonraker_diff);
  g_test_add_func ("/decode/moonraker/query-response", test_moonraker_query_response);
  g_test_add_func ("/decode/moonraker/states", test_moonraker_states);
  g_test_add_func ("/decode/moonraker/progress", test_moonraker_progress);
  g_test_add_func ("/decode/moonraker/server", test_moonraker_server);
  g_test_add_func ("/decode/moonraker/ignored", test_moonraker_ignored);
  g_test_add_func ("/decode/moonraker/malformed", test_moonraker_malformed);
  g_test_add_func ("/decode/octoprint/temperature", test_octoprint_temperature);
  g_test_add_func ("/decode/octoprint/progress", test_octoprint_progress);
  g_test_add_func ("/decode/octoprint/connection", test_octoprint_connection);
  g_test_add_func ("/decode/octoprint/events", test_octoprint_events);
  g_test_add_func ("/decode/octoprint/ignored", test_octoprint_ignored);
  g_test_add_func ("/decode/octoprint/malformed", test_octoprint_malformed);
  g_test_add_func ("/decode/bambu/push-all", test_bambu_push_all);
  g_test_add_func ("/decode/bambu/delta", test_bambu_delta);
  g_test_add_func ("/decode/bambu/packed-temperatures", test_bambu_packed_temperatures);
  g_test_add_func ("/decode/bambu/states", test_bambu_states);
  g_test_add_func ("/decode/bambu/file", test_bambu_file);
  g_test_add_func ("/decode/bambu/ignored", test_bambu_ignored);
  g_test_add_func ("/decode/bambu/malformed", test_bambu_malformed);
  g_test_add_func ("/decode/anycubic/reports", test_anycubic_reports);
  g_test_add_func ("/decode/anycubic/print", test_anycubic_print);
  g_test_add_func ("/decode/anycubic/file-lists", test_anycubic_file_lists);
  g_test_add_func ("/decode/anycubic/orders", test_anycubic_orders);
  g_test_add_func ("/decode/anycubic/malformed", test_anycubic_malformed);
  g_test_add_func ("/decode/other-dialects", test_other_dialects);
  g_test_add_func ("/decode/empty-and-invalid-utf8", test_empty_and_invalid_utf8);
  g_test_add_func ("/decode/oversized", test_oversized);
  g_test_add_func ("/decode/strict-json", test_strict_json);
  g_test_add_func ("/decode/merge-two-diffs", test_merge_two_diffs);
  g_test_add_func ("/decode/threads", test_threads);
  g_test_add_func ("/decode/octoprint-job", test_octoprint_job);

  g_test_add_func ("/decode/native/large-file-list", test_native_large_file_list);

  return g_test_run ();
}
