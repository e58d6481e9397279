/* drover-printer.c: one printer's live state
 *
 * Every connector turns its printer's words into these properties, so the
 * widgets know no vendor. Setters notify only when a value really changed:
 * telemetry repeats itself all day and a farm has thousands of printers.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-printer"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>

#include "drover-compat-private.h"
#include "drover-printer.h"

struct _DroverPrinter
{
  GObject              parent_instance;

  char                *id;
  char                *display_name;
  char                *current_file;
  char                *error_text;
  char                *security_note;
  GDateTime           *last_seen;
  double               hotend_temperature;
  double               hotend_target;
  double               bed_temperature;
  double               bed_target;
  double               progress;
  gint64               time_left;
  DroverConnectorKind  connector;
  DroverPrinterState   state;
};

G_DEFINE_FINAL_TYPE (DroverPrinter, drover_printer, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_CONNECTOR,
  PROP_DISPLAY_NAME,
  PROP_STATE,
  PROP_HOTEND_TEMPERATURE,
  PROP_HOTEND_TARGET,
  PROP_BED_TEMPERATURE,
  PROP_BED_TARGET,
  PROP_PROGRESS,
  PROP_TIME_LEFT,
  PROP_CURRENT_FILE,
  PROP_ERROR_TEXT,
  PROP_LAST_SEEN,
  PROP_SECURITY_NOTE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
drover_printer_finalize (GObject *object)
{
  DroverPrinter *self = (DroverPrinter *)object;

  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->display_name, g_free);
  g_clear_pointer (&self->current_file, g_free);
  g_clear_pointer (&self->error_text, g_free);
  g_clear_pointer (&self->security_note, g_free);
  g_clear_pointer (&self->last_seen, g_date_time_unref);

  G_OBJECT_CLASS (drover_printer_parent_class)->finalize (object);
}

static void
drover_printer_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  DroverPrinter *self = DROVER_PRINTER (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;

    case PROP_CONNECTOR:
      g_value_set_enum (value, self->connector);
      break;

    case PROP_DISPLAY_NAME:
      g_value_set_string (value, drover_printer_get_display_name (self));
      break;

    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;

    case PROP_HOTEND_TEMPERATURE:
      g_value_set_double (value, self->hotend_temperature);
      break;

    case PROP_HOTEND_TARGET:
      g_value_set_double (value, self->hotend_target);
      break;

    case PROP_BED_TEMPERATURE:
      g_value_set_double (value, self->bed_temperature);
      break;

    case PROP_BED_TARGET:
      g_value_set_double (value, self->bed_target);
      break;

    case PROP_PROGRESS:
      g_value_set_double (value, self->progress);
      break;

    case PROP_TIME_LEFT:
      g_value_set_int64 (value, self->time_left);
      break;

    case PROP_CURRENT_FILE:
      g_value_set_string (value, self->current_file);
      break;

    case PROP_ERROR_TEXT:
      g_value_set_string (value, self->error_text);
      break;

    case PROP_LAST_SEEN:
      g_value_set_boxed (value, self->last_seen);
      break;

    case PROP_SECURITY_NOTE:
      g_value_set_string (value, self->security_note);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_printer_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  DroverPrinter *self = DROVER_PRINTER (object);

  switch (prop_id)
    {
    case PROP_ID:
      self->id = g_value_dup_string (value);
      break;

    case PROP_CONNECTOR:
      self->connector = g_value_get_enum (value);
      break;

    case PROP_DISPLAY_NAME:
      drover_printer_set_display_name (self, g_value_get_string (value));
      break;

    case PROP_STATE:
      drover_printer_set_state (self, g_value_get_enum (value));
      break;

    case PROP_HOTEND_TEMPERATURE:
      drover_printer_set_hotend_temperature (self, g_value_get_double (value));
      break;

    case PROP_HOTEND_TARGET:
      drover_printer_set_hotend_target (self, g_value_get_double (value));
      break;

    case PROP_BED_TEMPERATURE:
      drover_printer_set_bed_temperature (self, g_value_get_double (value));
      break;

    case PROP_BED_TARGET:
      drover_printer_set_bed_target (self, g_value_get_double (value));
      break;

    case PROP_PROGRESS:
      drover_printer_set_progress (self, g_value_get_double (value));
      break;

    case PROP_TIME_LEFT:
      drover_printer_set_time_left (self, g_value_get_int64 (value));
      break;

    case PROP_CURRENT_FILE:
      drover_printer_set_current_file (self, g_value_get_string (value));
      break;

    case PROP_ERROR_TEXT:
      drover_printer_set_error_text (self, g_value_get_string (value));
      break;

    case PROP_LAST_SEEN:
      drover_printer_set_last_seen (self, g_value_get_boxed (value));
      break;

    case PROP_SECURITY_NOTE:
      drover_printer_set_security_note (self, g_value_get_string (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_printer_constructed (GObject *object)
{
  DroverPrinter *self = (DroverPrinter *)object;

  G_OBJECT_CLASS (drover_printer_parent_class)->constructed (object);

  /* The id is the key of the whole fleet: it must be there. */
  g_return_if_fail (self->id != NULL && self->id[0] != '\0');
}

static GParamSpec *
temperature_param_spec (const char *name,
                        const char *nick)
{
  /* -273.15 °C is the floor of physics; 2000 °C is far above any printer but
   * leaves room for the out-of-limit values the audit must be able to show. */
  return g_param_spec_double (name, nick, NULL,
                              -273.15, 2000.0, 0.0,
                              G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
}

static void
drover_printer_class_init (DroverPrinterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = drover_printer_constructed;
  object_class->finalize = drover_printer_finalize;
  object_class->get_property = drover_printer_get_property;
  object_class->set_property = drover_printer_set_property;

  /**
   * DroverPrinter:id:
   *
   * The printer's identity in the fleet, such as `farm/p-042`. It never changes.
   */
  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  properties[PROP_CONNECTOR] =
    g_param_spec_enum ("connector", NULL, NULL,
                       DROVER_TYPE_CONNECTOR_KIND,
                       DROVER_CONNECTOR_NATIVE,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * DroverPrinter:display-name:
   *
   * The name the operator sees; the id when none was given.
   */
  properties[PROP_DISPLAY_NAME] =
    g_param_spec_string ("display-name", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       DROVER_TYPE_PRINTER_STATE,
                       DROVER_PRINTER_STATE_OFFLINE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[PROP_HOTEND_TEMPERATURE] = temperature_param_spec ("hotend-temperature", "hotend-temperature");
  properties[PROP_HOTEND_TARGET] = temperature_param_spec ("hotend-target", "hotend-target");
  properties[PROP_BED_TEMPERATURE] = temperature_param_spec ("bed-temperature", "bed-temperature");
  properties[PROP_BED_TARGET] = temperature_param_spec ("bed-target", "bed-target");

  /**
   * DroverPrinter:progress:
   *
   * How far the current job is, from 0 to 1.
   */
  properties[PROP_PROGRESS] =
    g_param_spec_double ("progress", NULL, NULL,
                         0.0, 1.0, 0.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * DroverPrinter:time-left:
   *
   * Seconds until the current job ends, or -1 when nobody knows.
   */
  properties[PROP_TIME_LEFT] =
    g_param_spec_int64 ("time-left", NULL, NULL,
                        -1, G_MAXINT64, -1,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  properties[PROP_CURRENT_FILE] =
    g_param_spec_string ("current-file", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * DroverPrinter:error-text:
   *
   * The printer's own words for its fault, or %NULL.
   */
  properties[PROP_ERROR_TEXT] =
    g_param_spec_string ("error-text", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * DroverPrinter:last-seen:
   *
   * When the printer was last heard from, or %NULL if never.
   */
  properties[PROP_LAST_SEEN] =
    g_param_spec_boxed ("last-seen", NULL, NULL,
                        G_TYPE_DATE_TIME,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * DroverPrinter:security-note: (nullable)
   *
   * A sentence when the operator chose to weaken how Drover reaches the
   * printer, such as a broker whose certificate is not checked against
   * its host name; %NULL otherwise. Shown as a warning on the printer.
   */
  properties[PROP_SECURITY_NOTE] =
    g_param_spec_string ("security-note", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
drover_printer_init (DroverPrinter *self)
{
  self->time_left = -1;
  self->state = DROVER_PRINTER_STATE_OFFLINE;
}

/**
 * drover_printer_new:
 * @id: the printer's id in the fleet, not empty
 * @connector: how Drover talks to it
 *
 * Returns: (transfer full): a printer that is offline until it is heard from
 */
DroverPrinter *
drover_printer_new (const char          *id,
                    DroverConnectorKind  connector)
{
  g_return_val_if_fail (id != NULL && id[0] != '\0', NULL);

  return g_object_new (DROVER_TYPE_PRINTER,
                       "id", id,
                       "connector", connector,
                       NULL);
}

const char *
drover_printer_get_id (DroverPrinter *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER (self), NULL);

  return self->id;
}

DroverConnectorKind
drover_printer_get_connector (DroverPrinter *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER (self), DROVER_CONNECTOR_NATIVE);

  return self->connector;
}

/**
 * drover_printer_get_display_name:
 * @self: a #DroverPrinter
 *
 * Returns: (transfer none): the operator's name for the printer, or its id
 */
const char *
drover_printer_get_display_name (DroverPrinter *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER (self), NULL);

  if (self->display_name != NULL && self->display_name[0] != '\0')
    return self->display_name;

  return self->id;
}

void
drover_printer_set_display_name (DroverPrinter *self,
                                 const char    *display_name)
{
  g_return_if_fail (DROVER_IS_PRINTER (self));

  if (drover_set_str (&self->display_name, display_name))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DISPLAY_NAME]);
}

DroverPrinterState
drover_printer_get_state (DroverPrinter *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER (self), DROVER_PRINTER_STATE_OFFLINE);

  return self->state;
}

void
drover_printer_set_state (DroverPrinter      *self,
                          DroverPrinterState  state)
{
  g_return_if_fail (DROVER_IS_PRINTER (self));
  g_return_if_fail (state < DROVER_PRINTER_STATE_LAST);

  if (self->state != state)
    {
      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
}

/* A decoder may hand over NaN for a sensor that reported garbage: keep the
 * old value rather than poison the display and the audit's limits. */
static void
set_double (DroverPrinter *self,
            double        *field,
            double         value,
            double         minimum,
            double         maximum,
            guint          prop_id)
{
  if (isnan (value))
    return;

  value = CLAMP (value, minimum, maximum);

  if (*field != value)
    {
      *field = value;
      g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
    }
}

double
drover_printer_get_hotend_temperature (DroverPrinter *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER (self), 0.0);

  return self->hotend_temperature;
}

void
drover_printer_set_hotend_temperature (DroverPrinter *self,
                                       double         celsius)
{
  g_return_if_fail (DROVER_IS_PRINTER (self));

  set_double (self, &self->hotend_temperature, celsius, -273.15, 2000.0, PROP_HOTEND_TEMPERATURE);
}

double
drover_printer_get_hotend_target (DroverPrinter *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER (self), 0.0);

  return self->hotend_target;
}

void
drover_printer_set_hotend_target (DroverPrinter *self,
                                  double         celsius)
{
  g_return_if_fail (DROVER_IS_PRINTER (self));

  set_double (self, &self->hotend_target, celsius, -273.15, 2000.0, PROP_HOTEND_TARGET);
}

double
drover_printer_get_bed_temperature (DroverPrinter *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER (self), 0.0);

  return self->bed_temperature;
}

void
drover_printer_set_bed_temperature (DroverPrinter *self,
                                    double         celsius)
{
  g_return_if_fail (DROVER_IS_PRINTER (self));

  set_double (self, &self->bed_temperature, celsius, -273.15, 2000.0, PROP_BED_TEMPERATURE);
}

double
drover_printer_get_bed_target (DroverPrinter *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER (self), 0.0);

  return self->bed_target;
}

void
drover_printer_set_bed_target (DroverPrinter *self,
                               double         celsius)
{
  g_return_if_fail (DROVER_IS_PRINTER (self));

  set_double (self, &self->bed_target, celsius, -273.15, 2000.0, PROP_BED_TARGET);
}

double
drover_printer_get_progress (DroverPrinter *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER (self), 0.0);

  return self->progress;
}

/**
 * drover_printer_set_progress:
 * @self: a #DroverPrinter
 * @progress: from 0 to 1; values outside are clamped, NaN is ignored
 */
void
drover_printer_set_progress (DroverPrinter *self,
                             double         progress)
{
  g_return_if_fail (DROVER_IS_PRINTER (self));

  set_double (self, &self->progress, progress, 0.0, 1.0, PROP_PROGRESS);
}

gint64
drover_printer_get_time_left (DroverPrinter *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER (self), -1);

  return self->time_left;
}

/**
 * drover_printer_set_time_left:
 * @self: a #DroverPrinter
 * @seconds: seconds until the job ends; any negative value means unknown
 */
void
drover_printer_set_time_left (DroverPrinter *self,
                              gint64         seconds)
{
  g_return_if_fail (DROVER_IS_PRINTER (self));

  if (seconds < 0)
    seconds = -1;

  if (self->time_left != seconds)
    {
      self->time_left = seconds;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIME_LEFT]);
    }
}

const char *
drover_printer_get_current_file (DroverPrinter *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER (self), NULL);

  return self->current_file;
}

void
drover_printer_set_current_file (DroverPrinter *self,
                                 const char    *file_name)
{
  g_return_if_fail (DROVER_IS_PRINTER (self));

  if (file_name != NULL && file_name[0] == '\0')
    file_name = NULL;

  if (drover_set_str (&self->current_file, file_name))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CURRENT_FILE]);
}

/**
 * drover_printer_get_error_text:
 * @self: a #DroverPrinter
 *
 * Returns: (transfer none) (nullable): what the printer said is wrong
 */
const char *
drover_printer_get_error_text (DroverPrinter *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER (self), NULL);

  return self->error_text;
}

void
drover_printer_set_error_text (DroverPrinter *self,
                               const char    *error_text)
{
  g_return_if_fail (DROVER_IS_PRINTER (self));

  if (error_text != NULL && error_text[0] == '\0')
    error_text = NULL;

  if (drover_set_str (&self->error_text, error_text))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR_TEXT]);
}

/**
 * drover_printer_get_last_seen:
 * @self: a #DroverPrinter
 *
 * Returns: (transfer none) (nullable): when the printer was last heard from
 */
GDateTime *
drover_printer_get_last_seen (DroverPrinter *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER (self), NULL);

  return self->last_seen;
}

void
drover_printer_set_last_seen (DroverPrinter *self,
                              GDateTime     *when)
{
  g_return_if_fail (DROVER_IS_PRINTER (self));

  if (self->last_seen == when ||
      (self->last_seen != NULL && when != NULL && g_date_time_equal (self->last_seen, when)))
    return;

  g_clear_pointer (&self->last_seen, g_date_time_unref);
  if (when != NULL)
    self->last_seen = g_date_time_ref (when);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_SEEN]);
}

/**
 * drover_printer_state_to_string:
 * @state: a #DroverPrinterState
 *
 * Returns: (transfer none): the state in the user's language, such as "Printing"
 */
const char *
drover_printer_state_to_string (DroverPrinterState state)
{
  switch (state)
    {
    case DROVER_PRINTER_STATE_OFFLINE:
      return _("Offline");
    case DROVER_PRINTER_STATE_IDLE:
      return _("Idle");
    case DROVER_PRINTER_STATE_PRINTING:
      return _("Printing");
    case DROVER_PRINTER_STATE_PAUSED:
      return _("Paused");
    case DROVER_PRINTER_STATE_ERROR:
      return _("Error");
    default:
      g_return_val_if_reached (NULL);
    }
}

/**
 * drover_printer_state_get_icon_name:
 * @state: a #DroverPrinterState
 *
 * Returns: (transfer none): a symbolic icon that tells the state apart without colour
 */
const char *
drover_printer_state_get_icon_name (DroverPrinterState state)
{
  switch (state)
    {
    case DROVER_PRINTER_STATE_OFFLINE:
      return "network-offline-symbolic";
    case DROVER_PRINTER_STATE_IDLE:
      return "emblem-ok-symbolic";
    case DROVER_PRINTER_STATE_PRINTING:
      return "media-playback-start-symbolic";
    case DROVER_PRINTER_STATE_PAUSED:
      return "media-playback-pause-symbolic";
    case DROVER_PRINTER_STATE_ERROR:
      return "dialog-error-symbolic";
    default:
      g_return_val_if_reached (NULL);
    }
}

/**
 * drover_connector_kind_to_string:
 * @connector: a #DroverConnectorKind
 *
 * Returns: (transfer none): the connector's name as the operator knows it
 */
const char *
drover_connector_kind_to_string (DroverConnectorKind connector)
{
  /* Product names are not translated. */
  switch (connector)
    {
    case DROVER_CONNECTOR_NATIVE:
      return "Drover";
    case DROVER_CONNECTOR_MOONRAKER:
      return "Klipper";
    case DROVER_CONNECTOR_OCTOPRINT:
      return "OctoPrint";
    case DROVER_CONNECTOR_BAMBU:
      return "Bambu Lab";
    case DROVER_CONNECTOR_ANYCUBIC:
      return "Anycubic";
    case DROVER_CONNECTOR_SERIAL:
      return _("USB serial");
    default:
      g_return_val_if_reached (NULL);
    }
}

/**
 * drover_printer_get_security_note:
 *
 * Returns: (nullable): see #DroverPrinter:security-note
 */
const char *
drover_printer_get_security_note (DroverPrinter *self)
{
  g_return_val_if_fail (DROVER_IS_PRINTER (self), NULL);

  return self->security_note;
}

void
drover_printer_set_security_note (DroverPrinter *self,
                                  const char    *note)
{
  g_return_if_fail (DROVER_IS_PRINTER (self));

  if (drover_set_str (&self->security_note, note))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SECURITY_NOTE]);
}
