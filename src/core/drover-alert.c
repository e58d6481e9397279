/* drover-alert.c: something an operator should see, with its evidence
 *
 * An alert gathers what Drover knows of one thing that happened: which
 * printers it happened on, the evidence (each a sentence an operator
 * understands) and how much it matters. The same unexpected file on a
 * second printer joins the first one's alert, which then is an incident:
 * one alert naming them all, not one per printer.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <json-glib/json-glib.h>

#include "drover-alert.h"
#include "drover-enum-types.h"

struct _DroverAlert
{
  GObject              parent_instance;

  char                *id;
  char                *subject;
  char                *title;
  DroverAlertSeverity  severity;
  gint64               created;
  gint64               updated;
  GPtrArray           *printers;   /* char*, NULL-terminated */
  GPtrArray           *evidence;   /* char*, NULL-terminated */
  char                *acknowledged_by;
};

G_DEFINE_FINAL_TYPE (DroverAlert, drover_alert, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_SUBJECT,
  PROP_TITLE,
  PROP_SEVERITY,
  PROP_CREATED,
  PROP_UPDATED,
  PROP_N_PRINTERS,
  PROP_INCIDENT,
  PROP_ACKNOWLEDGED,
  PROP_ACKNOWLEDGED_BY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
drover_alert_finalize (GObject *object)
{
  DroverAlert *self = (DroverAlert *)object;

  g_free (self->id);
  g_free (self->subject);
  g_free (self->title);
  g_ptr_array_unref (self->printers);
  g_ptr_array_unref (self->evidence);
  g_free (self->acknowledged_by);

  G_OBJECT_CLASS (drover_alert_parent_class)->finalize (object);
}

static void
drover_alert_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  DroverAlert *self = DROVER_ALERT (object);

  switch (prop_id)
    {
    case PROP_ID: g_value_set_string (value, self->id); break;
    case PROP_SUBJECT: g_value_set_string (value, self->subject); break;
    case PROP_TITLE: g_value_set_string (value, self->title); break;
    case PROP_SEVERITY: g_value_set_enum (value, self->severity); break;
    case PROP_CREATED: g_value_set_int64 (value, self->created); break;
    case PROP_UPDATED: g_value_set_int64 (value, self->updated); break;
    case PROP_N_PRINTERS: g_value_set_uint (value, drover_alert_get_n_printers (self)); break;
    case PROP_INCIDENT: g_value_set_boolean (value, drover_alert_get_incident (self)); break;
    case PROP_ACKNOWLEDGED: g_value_set_boolean (value, self->acknowledged_by != NULL); break;
    case PROP_ACKNOWLEDGED_BY: g_value_set_string (value, self->acknowledged_by); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_alert_class_init (DroverAlertClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = drover_alert_finalize;
  object_class->get_property = drover_alert_get_property;

  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, flags);
  properties[PROP_SUBJECT] = g_param_spec_string ("subject", NULL, NULL, NULL, flags);
  properties[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL, flags);
  properties[PROP_SEVERITY] = g_param_spec_enum ("severity", NULL, NULL, DROVER_TYPE_ALERT_SEVERITY,
                                                 DROVER_ALERT_NOTICE, flags);
  properties[PROP_CREATED] = g_param_spec_int64 ("created", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_UPDATED] = g_param_spec_int64 ("updated", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_N_PRINTERS] = g_param_spec_uint ("n-printers", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_INCIDENT] = g_param_spec_boolean ("incident", NULL, NULL, FALSE, flags);
  properties[PROP_ACKNOWLEDGED] = g_param_spec_boolean ("acknowledged", NULL, NULL, FALSE, flags);
  properties[PROP_ACKNOWLEDGED_BY] = g_param_spec_string ("acknowledged-by", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
drover_alert_init (DroverAlert *self)
{
  self->printers = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->printers, NULL);
  self->evidence = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->evidence, NULL);
}

/**
 * drover_alert_new:
 * @id: (nullable): the alert's id; a new UUID when %NULL
 * @subject: what it is about: a file name, an order, a command
 * @created_us: when it was raised, Unix µs
 *
 * Returns: (transfer full): an alert with no printer and no evidence yet
 */
DroverAlert *
drover_alert_new (const char *id,
                  const char *subject,
                  gint64      created_us)
{
  DroverAlert *self = g_object_new (DROVER_TYPE_ALERT, NULL);

  self->id = id != NULL ? g_strdup (id) : g_uuid_string_random ();
  self->subject = g_strdup (subject);
  self->created = created_us;
  self->updated = created_us;

  return self;
}

const char *
drover_alert_get_id (DroverAlert *self)
{
  g_return_val_if_fail (DROVER_IS_ALERT (self), NULL);
  return self->id;
}

const char *
drover_alert_get_subject (DroverAlert *self)
{
  g_return_val_if_fail (DROVER_IS_ALERT (self), NULL);
  return self->subject;
}

const char *
drover_alert_get_title (DroverAlert *self)
{
  g_return_val_if_fail (DROVER_IS_ALERT (self), NULL);
  return self->title;
}

void
drover_alert_set_title (DroverAlert *self,
                        const char  *title)
{
  g_return_if_fail (DROVER_IS_ALERT (self));

  if (g_strcmp0 (self->title, title) == 0)
    return;
  g_free (self->title);
  self->title = g_strdup (title);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

DroverAlertSeverity
drover_alert_get_severity (DroverAlert *self)
{
  g_return_val_if_fail (DROVER_IS_ALERT (self), DROVER_ALERT_NOTICE);
  return self->severity;
}

/**
 * drover_alert_raise_severity:
 *
 * Evidence only ever raises an alert's severity, never lowers it.
 *
 * Returns: whether the severity changed
 */
gboolean
drover_alert_raise_severity (DroverAlert         *self,
                             DroverAlertSeverity  severity)
{
  g_return_val_if_fail (DROVER_IS_ALERT (self), FALSE);

  if (severity <= self->severity)
    return FALSE;
  self->severity = severity;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SEVERITY]);
  return TRUE;
}

gint64
drover_alert_get_created (DroverAlert *self)
{
  g_return_val_if_fail (DROVER_IS_ALERT (self), 0);
  return self->created;
}

gint64
drover_alert_get_updated (DroverAlert *self)
{
  g_return_val_if_fail (DROVER_IS_ALERT (self), 0);
  return self->updated;
}

static void
touch (DroverAlert *self)
{
  self->updated = MAX (self->updated, g_get_real_time ());
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UPDATED]);
}

/**
 * drover_alert_get_printers:
 *
 * Returns: (transfer none) (array zero-terminated=1): the printers' ids,
 *   in the order they joined
 */
const char * const *
drover_alert_get_printers (DroverAlert *self)
{
  g_return_val_if_fail (DROVER_IS_ALERT (self), NULL);
  return (const char * const *)self->printers->pdata;
}

guint
drover_alert_get_n_printers (DroverAlert *self)
{
  g_return_val_if_fail (DROVER_IS_ALERT (self), 0);
  return self->printers->len - 1;
}

gboolean
drover_alert_has_printer (DroverAlert *self,
                          const char  *printer_id)
{
  g_return_val_if_fail (DROVER_IS_ALERT (self), FALSE);
  return g_strv_contains ((const char * const *)self->printers->pdata, printer_id);
}

/**
 * drover_alert_add_printer:
 *
 * Adds a printer it happened on; a second printer makes the alert a
 * fleet-wide incident.
 *
 * Returns: whether @printer_id was new to the alert
 */
gboolean
drover_alert_add_printer (DroverAlert *self,
                          const char  *printer_id)
{
  gboolean was_incident;

  g_return_val_if_fail (DROVER_IS_ALERT (self), FALSE);

  if (drover_alert_has_printer (self, printer_id))
    return FALSE;

  was_incident = drover_alert_get_incident (self);
  g_ptr_array_insert (self->printers, self->printers->len - 1, g_strdup (printer_id));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_PRINTERS]);
  if (!was_incident && drover_alert_get_incident (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INCIDENT]);
  touch (self);
  return TRUE;
}

/**
 * drover_alert_get_evidence:
 *
 * Returns: (transfer none) (array zero-terminated=1): one sentence each
 */
const char * const *
drover_alert_get_evidence (DroverAlert *self)
{
  g_return_val_if_fail (DROVER_IS_ALERT (self), NULL);
  return (const char * const *)self->evidence->pdata;
}

/**
 * drover_alert_add_evidence:
 *
 * Returns: whether @sentence was new to the alert
 */
gboolean
drover_alert_add_evidence (DroverAlert *self,
                           const char  *sentence)
{
  g_return_val_if_fail (DROVER_IS_ALERT (self), FALSE);

  if (sentence == NULL || g_strv_contains ((const char * const *)self->evidence->pdata, sentence))
    return FALSE;
  g_ptr_array_insert (self->evidence, self->evidence->len - 1, g_strdup (sentence));
  touch (self);
  return TRUE;
}

/**
 * drover_alert_get_incident:
 *
 * Returns: whether it happened on more than one printer
 */
gboolean
drover_alert_get_incident (DroverAlert *self)
{
  g_return_val_if_fail (DROVER_IS_ALERT (self), FALSE);
  return drover_alert_get_n_printers (self) > 1;
}

gboolean
drover_alert_get_acknowledged (DroverAlert *self)
{
  g_return_val_if_fail (DROVER_IS_ALERT (self), FALSE);
  return self->acknowledged_by != NULL;
}

const char *
drover_alert_get_acknowledged_by (DroverAlert *self)
{
  g_return_val_if_fail (DROVER_IS_ALERT (self), NULL);
  return self->acknowledged_by;
}

/**
 * drover_alert_acknowledge:
 * @operator_name: who saw it
 *
 * Marks the alert as seen. Only the audit calls this: it also writes the
 * acknowledgement to the ledger.
 */
void
drover_alert_acknowledge (DroverAlert *self,
                          const char  *operator_name)
{
  g_return_if_fail (DROVER_IS_ALERT (self));
  g_return_if_fail (operator_name != NULL);

  if (self->acknowledged_by != NULL)
    return;
  self->acknowledged_by = g_strdup (operator_name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACKNOWLEDGED]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACKNOWLEDGED_BY]);
}

static void
add_strings (JsonBuilder *builder,
             const char  *name,
             GPtrArray   *strings)
{
  json_builder_set_member_name (builder, name);
  json_builder_begin_array (builder);
  for (guint i = 0; i + 1 < strings->len; i++)
    json_builder_add_string_value (builder, g_ptr_array_index (strings, i));
  json_builder_end_array (builder);
}

/**
 * drover_alert_to_json:
 *
 * Returns: (transfer full): the alert as the ledger stores it
 */
char *
drover_alert_to_json (DroverAlert *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GEnumClass) severities = g_type_class_ref (DROVER_TYPE_ALERT_SEVERITY);

  g_return_val_if_fail (DROVER_IS_ALERT (self), NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, self->id);
  json_builder_set_member_name (builder, "subject");
  json_builder_add_string_value (builder, self->subject);
  json_builder_set_member_name (builder, "title");
  json_builder_add_string_value (builder, self->title);
  json_builder_set_member_name (builder, "severity");
  json_builder_add_string_value (builder, g_enum_get_value (severities, self->severity)->value_nick);
  json_builder_set_member_name (builder, "created_us");
  json_builder_add_int_value (builder, self->created);
  json_builder_set_member_name (builder, "updated_us");
  json_builder_add_int_value (builder, self->updated);
  add_strings (builder, "printers", self->printers);
  add_strings (builder, "evidence", self->evidence);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

/* A ledger someone edited may hold anything: take only strings. */
static void
read_strings (JsonObject *root,
              const char *name,
              GPtrArray  *into)
{
  JsonNode *node = json_object_get_member (root, name);
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return;
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING)
        g_ptr_array_insert (into, into->len - 1, g_strdup (json_node_get_string (element)));
    }
}

/**
 * drover_alert_new_from_json:
 *
 * Reads an alert back from the ledger.
 *
 * Returns: (transfer full) (nullable): the alert, or %NULL when @json is
 *   not one
 */
DroverAlert *
drover_alert_new_from_json (const char *json)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GEnumClass) severities = g_type_class_ref (DROVER_TYPE_ALERT_SEVERITY);
  g_autoptr(DroverAlert) alert = NULL;
  JsonObject *root;
  GEnumValue *severity;

  if (json == NULL || !json_parser_load_from_data (parser, json, -1, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  root = json_node_get_object (json_parser_get_root (parser));
  if (!json_object_has_member (root, "id") || !json_object_has_member (root, "subject"))
    return NULL;

  alert = drover_alert_new (json_object_get_string_member_with_default (root, "id", NULL),
                            json_object_get_string_member_with_default (root, "subject", ""),
                            json_object_get_int_member_with_default (root, "created_us", 0));
  alert->updated = json_object_get_int_member_with_default (root, "updated_us", alert->created);
  alert->title = g_strdup (json_object_get_string_member_with_default (root, "title", NULL));
  severity = g_enum_get_value_by_nick (severities, json_object_get_string_member_with_default (root, "severity", "notice"));
  alert->severity = severity != NULL ? (DroverAlertSeverity)severity->value : DROVER_ALERT_NOTICE;

  read_strings (root, "printers", alert->printers);
  read_strings (root, "evidence", alert->evidence);

  return g_steal_pointer (&alert);
}
