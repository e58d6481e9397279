/* drover-decode-private.h: what the four decoders share
 *
 * Small helpers, all static inline so that each decoder stays a pure
 * function of its arguments: nothing here keeps state, so any thread may
 * call any of it at any time.
 *
 * Reading a member gives one of four answers (absent, null, a value of
 * the right type, or the wrong type) so that each decoder decides for
 * itself what absent and null mean in its dialect, and refuses the whole
 * message on the wrong type.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "drover-decode.h"

G_BEGIN_DECLS

/* Physical range of any heater Drover shows: below -50 °C a sensor is
 * unplugged or shorted, above 1000 °C nothing on a printer survives. */
#define DROVER_DECODE_TEMPERATURE_MIN (-50.0)
#define DROVER_DECODE_TEMPERATURE_MAX (1000.0)

/* Durations beyond about 31 years are garbage, and bounding them keeps
 * the conversion from double to gint64 defined. */
#define DROVER_DECODE_DURATION_MAX (1e9)

/* A topic level: a slice of the topic, not nul-terminated. */
typedef struct
{
  const char *start;
  gsize       length;
} DroverTopicLevel;

typedef enum
{
  DROVER_MEMBER_ABSENT,
  DROVER_MEMBER_NULL,
  DROVER_MEMBER_VALUE,
  DROVER_MEMBER_WRONG_TYPE,
} DroverMember;

/*
 * _drover_decode_split_topic:
 * @topic: an MQTT topic name
 * @levels: (out caller-allocates): room for @n_levels levels
 * @n_levels: how many levels the caller expects at most
 *
 * Splits @topic at '/' without copying. A topic that is not valid UTF-8
 * (MQTT requires it) or that holds a wildcard (no published topic may)
 * splits into nothing.
 *
 * Returns: the number of levels, 0 for an unusable topic, or
 *   @n_levels + 1 when there are more than @n_levels.
 */
static inline guint
_drover_decode_split_topic (const char       *topic,
                            DroverTopicLevel *levels,
                            guint             n_levels)
{
  const char *start = topic;
  guint count = 0;

  if (topic == NULL || *topic == '\0' || !g_utf8_validate (topic, -1, NULL))
    return 0;
  if (strpbrk (topic, "+#") != NULL)
    return 0;

  for (;;)
    {
      const char *end = strchr (start, '/');
      gsize length = end != NULL ? (gsize) (end - start) : strlen (start);

      if (count == n_levels)
        return n_levels + 1;

      levels[count].start = start;
      levels[count].length = length;
      count++;

      if (end == NULL)
        return count;
      start = end + 1;
    }
}

static inline gboolean
_drover_topic_level_is (const DroverTopicLevel *level,
                        const char             *text)
{
  gsize length = strlen (text);

  return level->length == length && memcmp (level->start, text, length) == 0;
}

static inline char *
_drover_topic_level_dup (const DroverTopicLevel *level)
{
  return g_strndup (level->start, level->length);
}

/* Deeper than any dialect nests (a Bambu report: about 6). json-glib's
 * parser recurses once per level, so a payload of 100,000 '[' inside the
 * size cap would otherwise overflow the stack of Paho's thread. */
#define DROVER_DECODE_MAX_DEPTH 64

static inline gboolean
_drover_json_skip_hex4 (const char **p,
                        const char  *end,
                        guint       *code)
{
  *code = 0;

  if (end - *p < 4)
    return FALSE;

  for (guint i = 0; i < 4; i++)
    {
      int digit = g_ascii_xdigit_value ((*p)[i]);

      if (digit < 0)
        return FALSE;
      *code = (*code << 4) | (guint) digit;
    }

  *p += 4;
  return TRUE;
}

/* @p is on the opening quote; leaves it after the closing one. */
static inline gboolean
_drover_json_skip_string (const char **p,
                          const char  *end)
{
  const char *s = *p + 1;

  while (s < end)
    {
      guchar c = (guchar) *s;

      if (c == '"')
        {
          *p = s + 1;
          return TRUE;
        }
      if (c < 0x20)
        return FALSE;
      if (c != '\\')
        {
          s++;
          continue;
        }

      s++;
      if (s == end)
        return FALSE;
      if (*s != '\0' && strchr ("\"\\/bfnrt", *s) != NULL)
        {
          s++;
          continue;
        }
      if (*s != 'u')
        return FALSE;

      {
        guint code, low;

        s++;
        if (!_drover_json_skip_hex4 (&s, end, &code))
          return FALSE;
        /* A surrogate must come as a pair, high then low. */
        if (code >= 0xDC00 && code <= 0xDFFF)
          return FALSE;
        if (code >= 0xD800 && code <= 0xDBFF)
          {
            if (end - s < 2 || s[0] != '\\' || s[1] != 'u')
              return FALSE;
            s += 2;
            if (!_drover_json_skip_hex4 (&s, end, &low) || low < 0xDC00 || low > 0xDFFF)
              return FALSE;
          }
      }
    }

  return FALSE;
}

static inline gboolean
_drover_json_skip_digits (const char **p,
                          const char  *end)
{
  const char *start = *p;

  while (*p < end && g_ascii_isdigit (**p))
    (*p)++;

  return *p > start;
}

/* RFC 8259's number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static inline gboolean
_drover_json_skip_number (const char **p,
                          const char  *end)
{
  if (*p < end && **p == '-')
    (*p)++;
  if (*p < end && **p == '0')
    (*p)++;
  else if (!_drover_json_skip_digits (p, end))
    return FALSE;

  if (*p < end && **p == '.')
    {
      (*p)++;
      if (!_drover_json_skip_digits (p, end))
        return FALSE;
    }

  if (*p < end && (**p == 'e' || **p == 'E'))
    {
      (*p)++;
      if (*p < end && (**p == '+' || **p == '-'))
        (*p)++;
      if (!_drover_json_skip_digits (p, end))
        return FALSE;
    }

  return TRUE;
}

static inline gboolean
_drover_json_skip_literal (const char **p,
                           const char  *end,
                           const char  *literal)
{
  gsize length = strlen (literal);

  if ((gsize) (end - *p) < length || memcmp (*p, literal, length) != 0)
    return FALSE;

  *p += length;
  return TRUE;
}

static inline void
_drover_json_skip_space (const char **p,
                         const char  *end)
{
  while (*p < end && (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r'))
    (*p)++;
}

/* `"key" :` of an object's member. */
static inline gboolean
_drover_json_skip_key (const char **p,
                       const char  *end)
{
  _drover_json_skip_space (p, end);
  if (*p == end || **p != '"' || !_drover_json_skip_string (p, end))
    return FALSE;
  _drover_json_skip_space (p, end);
  if (*p == end || **p != ':')
    return FALSE;
  (*p)++;
  return TRUE;
}

/*
 * _drover_json_is_strict:
 *
 * Whether @text is one JSON value as RFC 8259 has it, nested at most
 * DROVER_DECODE_MAX_DEPTH deep. json-glib 1.6 also takes comments, single
 * quotes, hex numbers and several values in a row (reading the first):
 * none of the dialects sends those, and a message that one reader takes
 * one way and another reader another way is not one Drover should act on.
 * Iterative, so depth costs no stack.
 */
static inline gboolean
_drover_json_is_strict (const char *text,
                        gsize       length)
{
  const char *p = text;
  const char *end = text + length;
  char stack[DROVER_DECODE_MAX_DEPTH];
  guint depth = 0;
  enum { VALUE, VALUE_OR_CLOSE, KEY_OR_CLOSE, AFTER_VALUE } expect = VALUE;

  for (;;)
    {
      _drover_json_skip_space (&p, end);

      switch (expect)
        {
        case VALUE_OR_CLOSE:
          if (p < end && *p == ']')
            {
              p++;
              depth--;
              expect = AFTER_VALUE;
              continue;
            }
          G_GNUC_FALLTHROUGH;

        case VALUE:
          if (p == end)
            return FALSE;
          switch (*p)
            {
            case '{':
            case '[':
              if (depth == DROVER_DECODE_MAX_DEPTH)
                return FALSE;
              stack[depth++] = *p;
              expect = *p == '{' ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
              p++;
              continue;
            case '"':
              if (!_drover_json_skip_string (&p, end))
                return FALSE;
              break;
            case 't':
              if (!_drover_json_skip_literal (&p, end, "true"))
                return FALSE;
              break;
            case 'f':
              if (!_drover_json_skip_literal (&p, end, "false"))
                return FALSE;
              break;
            case 'n':
              if (!_drover_json_skip_literal (&p, end, "null"))
                return FALSE;
              break;
            default:
              if (!_drover_json_skip_number (&p, end))
                return FALSE;
              break;
            }
          expect = AFTER_VALUE;
          continue;

        case KEY_OR_CLOSE:
          if (p < end && *p == '}')
            {
              p++;
              depth--;
              expect = AFTER_VALUE;
              continue;
            }
          if (!_drover_json_skip_key (&p, end))
            return FALSE;
          expect = VALUE;
          continue;

        case AFTER_VALUE:
        default:
          if (depth == 0)
            return p == end;
          if (p == end)
            return FALSE;
          if (*p == ',')
            {
              p++;
              if (stack[depth - 1] == '{' && !_drover_json_skip_key (&p, end))
                return FALSE;
              expect = VALUE;
              continue;
            }
          if ((*p == '}' && stack[depth - 1] == '{') || (*p == ']' && stack[depth - 1] == '['))
            {
              p++;
              depth--;
              continue;
            }
          return FALSE;
        }
    }
}

/*
 * _drover_decode_parse:
 * @payload: the message's bytes, not nul-terminated
 * @length: their number
 * @status: (out): why there is no root, when there is none
 *
 * Parses a JSON payload after checking its size, its UTF-8 and its
 * syntax (strict RFC 8259, bounded depth). An empty
 * payload (MQTT's way of clearing a retained message) is malformed here:
 * no dialect sends state that way.
 *
 * Returns: (transfer full) (nullable): the parser holding the root, or
 *   %NULL with @status set
 */
static inline JsonParser *
_drover_decode_parse_limited (const guint8       *payload,
                              gsize               length,
                              gsize               max_length,
                              DroverDecodeStatus *status)
{
  g_autoptr(JsonParser) parser = NULL;

  if (length > max_length)
    {
      *status = DROVER_DECODE_OVERSIZED;
      return NULL;
    }

  /* g_utf8_validate_len() also refuses a nul byte: JSON has none raw. */
  if (payload == NULL || length == 0 ||
      !g_utf8_validate_len ((const char *) payload, length, NULL) ||
      !_drover_json_is_strict ((const char *) payload, length))
    {
      *status = DROVER_DECODE_MALFORMED;
      return NULL;
    }

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, (const char *) payload, (gssize) length, NULL) ||
      json_parser_get_root (parser) == NULL)
    {
      *status = DROVER_DECODE_MALFORMED;
      return NULL;
    }

  *status = DROVER_DECODE_OK;
  return g_steal_pointer (&parser);
}

static inline JsonParser *
_drover_decode_parse (const guint8       *payload,
                      gsize               length,
                      DroverDecodeStatus *status)
{
  return _drover_decode_parse_limited (payload, length, DROVER_DECODE_MAX_PAYLOAD, status);
}

/* The root as an object, or NULL when it is something else. */
static inline JsonObject *
_drover_decode_root_object (JsonParser *parser)
{
  JsonNode *root = json_parser_get_root (parser);

  return JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
}

static inline DroverMember
_drover_member_node (JsonObject  *object,
                     const char  *name,
                     JsonNode   **node)
{
  *node = json_object_get_member (object, name);
  if (*node == NULL)
    return DROVER_MEMBER_ABSENT;
  if (JSON_NODE_HOLDS_NULL (*node))
    return DROVER_MEMBER_NULL;
  return DROVER_MEMBER_VALUE;
}

/*
 * _drover_read_number:
 *
 * Reads a member that must be a finite number: JSON makes no difference
 * between 60 and 60.0 and the dialects send either.
 */
static inline DroverMember
_drover_read_number (JsonObject *object,
                     const char *name,
                     double     *value)
{
  JsonNode *node;
  DroverMember member = _drover_member_node (object, name, &node);

  if (member != DROVER_MEMBER_VALUE)
    return member;
  if (!JSON_NODE_HOLDS_VALUE (node))
    return DROVER_MEMBER_WRONG_TYPE;

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      *value = (double) json_node_get_int (node);
      return DROVER_MEMBER_VALUE;
    case G_TYPE_DOUBLE:
      *value = json_node_get_double (node);
      /* json-glib turns 1e999 into infinity rather than failing. */
      return isfinite (*value) ? DROVER_MEMBER_VALUE : DROVER_MEMBER_WRONG_TYPE;
    default:
      return DROVER_MEMBER_WRONG_TYPE;
    }
}

/*
 * _drover_read_integer:
 *
 * Reads a member that must be a whole number; 5.0 passes, 5.5 does not.
 */
static inline DroverMember
_drover_read_integer (JsonObject *object,
                      const char *name,
                      gint64     *value)
{
  JsonNode *node;
  DroverMember member = _drover_member_node (object, name, &node);
  double number;

  if (member != DROVER_MEMBER_VALUE)
    return member;
  if (!JSON_NODE_HOLDS_VALUE (node))
    return DROVER_MEMBER_WRONG_TYPE;

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      *value = json_node_get_int (node);
      return DROVER_MEMBER_VALUE;
    case G_TYPE_DOUBLE:
      number = json_node_get_double (node);
      if (!isfinite (number) || number != floor (number) || fabs (number) > 9007199254740992.0)
        return DROVER_MEMBER_WRONG_TYPE;
      *value = (gint64) number;
      return DROVER_MEMBER_VALUE;
    default:
      return DROVER_MEMBER_WRONG_TYPE;
    }
}

/* Reads a string member; the string belongs to the parser. */
static inline DroverMember
_drover_read_string (JsonObject  *object,
                     const char  *name,
                     const char **value)
{
  JsonNode *node;
  DroverMember member = _drover_member_node (object, name, &node);

  if (member != DROVER_MEMBER_VALUE)
    return member;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return DROVER_MEMBER_WRONG_TYPE;

  *value = json_node_get_string (node);
  /* A lone surrogate escape (\ud800) may decode to bytes that are not UTF-8. */
  if (!g_utf8_validate (*value, -1, NULL))
    return DROVER_MEMBER_WRONG_TYPE;
  return DROVER_MEMBER_VALUE;
}

static inline DroverMember
_drover_read_boolean (JsonObject *object,
                      const char *name,
                      gboolean   *value)
{
  JsonNode *node;
  DroverMember member = _drover_member_node (object, name, &node);

  if (member != DROVER_MEMBER_VALUE)
    return member;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return DROVER_MEMBER_WRONG_TYPE;

  *value = json_node_get_boolean (node);
  return DROVER_MEMBER_VALUE;
}

static inline DroverMember
_drover_read_object (JsonObject  *object,
                     const char  *name,
                     JsonObject **value)
{
  JsonNode *node;
  DroverMember member = _drover_member_node (object, name, &node);

  if (member != DROVER_MEMBER_VALUE)
    return member;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return DROVER_MEMBER_WRONG_TYPE;

  *value = json_node_get_object (node);
  return DROVER_MEMBER_VALUE;
}

static inline DroverMember
_drover_read_array (JsonObject  *object,
                    const char  *name,
                    JsonArray  **value)
{
  JsonNode *node;
  DroverMember member = _drover_member_node (object, name, &node);

  if (member != DROVER_MEMBER_VALUE)
    return member;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return DROVER_MEMBER_WRONG_TYPE;

  *value = json_node_get_array (node);
  return DROVER_MEMBER_VALUE;
}

static inline gboolean
_drover_temperature_is_valid (double celsius)
{
  return isfinite (celsius) &&
         celsius >= DROVER_DECODE_TEMPERATURE_MIN &&
         celsius <= DROVER_DECODE_TEMPERATURE_MAX;
}

static inline gboolean
_drover_progress_is_valid (double fraction)
{
  return isfinite (fraction) && fraction >= 0.0 && fraction <= 1.0;
}

static inline gboolean
_drover_duration_is_valid (double seconds)
{
  return isfinite (seconds) && seconds >= 0.0 && seconds <= DROVER_DECODE_DURATION_MAX;
}

/* What a null temperature means in a dialect. */
typedef enum
{
  DROVER_NULL_IS_UNSET,      /* nothing measured: leave the field as it was */
  DROVER_NULL_IS_ZERO,       /* "no target set": the heater is off */
  DROVER_NULL_IS_MALFORMED,  /* the dialect never sends it */
} DroverNullMeans;

/* Reads a temperature member into @slot and names @field; FALSE when the
 * message must be refused. */
static inline gboolean
_drover_read_temperature (JsonObject         *object,
                          const char         *name,
                          DroverUpdate       *update,
                          DroverUpdateFields  field,
                          double             *slot,
                          DroverNullMeans     null_means)
{
  double celsius = 0;

  switch (_drover_read_number (object, name, &celsius))
    {
    case DROVER_MEMBER_ABSENT:
      return TRUE;
    case DROVER_MEMBER_NULL:
      if (null_means == DROVER_NULL_IS_UNSET)
        return TRUE;
      if (null_means == DROVER_NULL_IS_MALFORMED)
        return FALSE;
      celsius = 0;
      break;
    case DROVER_MEMBER_VALUE:
      break;
    case DROVER_MEMBER_WRONG_TYPE:
    default:
      return FALSE;
    }

  if (!_drover_temperature_is_valid (celsius))
    return FALSE;

  *slot = celsius;
  update->fields |= field;
  return TRUE;
}

static inline void
_drover_update_set_state (DroverUpdate       *update,
                          DroverPrinterState  state)
{
  update->state = state;
  update->fields |= DROVER_UPDATE_STATE;
}

/* "" is how the dialects say "no file" and "no error". */
static inline void
_drover_update_set_text (DroverUpdate        *update,
                         DroverUpdateFields   field,
                         char               **slot,
                         const char          *text)
{
  g_free (*slot);
  *slot = (text != NULL && *text != '\0') ? g_strdup (text) : NULL;
  update->fields |= field;
}

static inline void
_drover_update_set_file (DroverUpdate *update,
                         const char   *file)
{
  _drover_update_set_text (update, DROVER_UPDATE_CURRENT_FILE, &update->current_file, file);
}

static inline void
_drover_update_set_error (DroverUpdate *update,
                          const char   *text)
{
  _drover_update_set_text (update, DROVER_UPDATE_ERROR_TEXT, &update->error_text, text);
}

/*
 * _drover_update_clear_stale_error:
 *
 * Dialects other than the native one never say "the fault is gone"; they
 * say the printer is doing something else. A state that is not an error
 * therefore clears the fault text, unless the same message set one.
 */
static inline void
_drover_update_clear_stale_error (DroverUpdate *update)
{
  if ((update->fields & DROVER_UPDATE_STATE) != 0 &&
      update->state != DROVER_PRINTER_STATE_ERROR &&
      (update->fields & DROVER_UPDATE_ERROR_TEXT) == 0)
    _drover_update_set_error (update, NULL);
}

static inline gint64
_drover_seconds_from_double (double seconds)
{
  return (gint64) floor (seconds + 0.5);
}

/*
 * _drover_decode_finish:
 * @status: what the dialect's reader said
 * @decoded: (transfer full): what it read
 * @key: (transfer full): the printer's key
 * @out_key: (out): the caller's key
 * @update: (out): the caller's update
 *
 * Hands over a decoded message, or drops every part of it. A message
 * that read fine but named no field and no event says nothing: IGNORED.
 */
static inline DroverDecodeStatus
_drover_decode_finish (DroverDecodeStatus   status,
                       DroverUpdate        *decoded,
                       char                *key,
                       char               **out_key,
                       DroverUpdate        *update)
{
  if (status == DROVER_DECODE_OK && decoded->fields == 0 &&
      (decoded->events == NULL || decoded->events->len == 0))
    status = DROVER_DECODE_IGNORED;

  if (status != DROVER_DECODE_OK)
    {
      drover_update_clear (decoded);
      g_free (key);
      return status;
    }

  *update = *decoded;
  *out_key = key;
  return DROVER_DECODE_OK;
}

/* Every decoder starts the same way: nothing out until all is read. */
#define _DROVER_DECODE_CHECK_ARGUMENTS(key, update)                           \
  G_STMT_START {                                                              \
    g_return_val_if_fail ((key) != NULL, DROVER_DECODE_IGNORED);              \
    g_return_val_if_fail ((update) != NULL, DROVER_DECODE_IGNORED);           \
    g_return_val_if_fail ((update)->fields == 0 &&                            \
                          (update)->current_file == NULL &&                   \
                          (update)->error_text == NULL,                       \
                          DROVER_DECODE_IGNORED);                             \
    *(key) = NULL;                                                            \
  } G_STMT_END

#define DROVER_UPDATE_INIT { .fields = 0, .time_left = -1 }

G_END_DECLS
