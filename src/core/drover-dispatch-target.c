/* drover-dispatch-target.c: one printer a job may go to, and how it went
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "drover-dispatch-target.h"

struct _DroverDispatchTarget
{
  GObject              parent_instance;

  char                *printer_id;
  char                *name;
  DroverDispatchState  state;
  char                *status;
  double               progress;
};

G_DEFINE_FINAL_TYPE (DroverDispatchTarget, drover_dispatch_target, G_TYPE_OBJECT)

enum { PROP_0, PROP_STATE, PROP_STATUS, PROP_PROGRESS, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void
drover_dispatch_target_finalize (GObject *object)
{
  DroverDispatchTarget *self = (DroverDispatchTarget *)object;

  g_free (self->printer_id);
  g_free (self->name);
  g_free (self->status);

  G_OBJECT_CLASS (drover_dispatch_target_parent_class)->finalize (object);
}

static void
drover_dispatch_target_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  DroverDispatchTarget *self = DROVER_DISPATCH_TARGET (object);

  switch (prop_id)
    {
    case PROP_STATE: g_value_set_int (value, self->state); break;
    case PROP_STATUS: g_value_set_string (value, self->status); break;
    case PROP_PROGRESS: g_value_set_double (value, self->progress); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_dispatch_target_class_init (DroverDispatchTargetClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = drover_dispatch_target_finalize;
  object_class->get_property = drover_dispatch_target_get_property;

  properties[PROP_STATE] = g_param_spec_int ("state", NULL, NULL, 0, DROVER_DISPATCH_FAILED, 0, flags);
  properties[PROP_STATUS] = g_param_spec_string ("status", NULL, NULL, NULL, flags);
  properties[PROP_PROGRESS] = g_param_spec_double ("progress", NULL, NULL, 0, 1, 0, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
drover_dispatch_target_init (DroverDispatchTarget *self)
{
}

DroverDispatchTarget *
drover_dispatch_target_new (const char *printer_id,
                            const char *name)
{
  DroverDispatchTarget *self = g_object_new (DROVER_TYPE_DISPATCH_TARGET, NULL);

  self->printer_id = g_strdup (printer_id);
  self->name = g_strdup (name != NULL ? name : printer_id);
  return self;
}

const char *
drover_dispatch_target_get_printer_id (DroverDispatchTarget *self)
{
  g_return_val_if_fail (DROVER_IS_DISPATCH_TARGET (self), NULL);
  return self->printer_id;
}

const char *
drover_dispatch_target_get_name (DroverDispatchTarget *self)
{
  g_return_val_if_fail (DROVER_IS_DISPATCH_TARGET (self), NULL);
  return self->name;
}

DroverDispatchState
drover_dispatch_target_get_state (DroverDispatchTarget *self)
{
  g_return_val_if_fail (DROVER_IS_DISPATCH_TARGET (self), DROVER_DISPATCH_FAILED);
  return self->state;
}

/**
 * drover_dispatch_target_get_status:
 *
 * Returns: (nullable): a sentence: why it was refused or failed, or how
 *   the sending goes
 */
const char *
drover_dispatch_target_get_status (DroverDispatchTarget *self)
{
  g_return_val_if_fail (DROVER_IS_DISPATCH_TARGET (self), NULL);
  return self->status;
}

double
drover_dispatch_target_get_progress (DroverDispatchTarget *self)
{
  g_return_val_if_fail (DROVER_IS_DISPATCH_TARGET (self), 0);
  return self->progress;
}

void
drover_dispatch_target_update (DroverDispatchTarget *self,
                               DroverDispatchState   state,
                               const char           *status,
                               double                progress)
{
  g_return_if_fail (DROVER_IS_DISPATCH_TARGET (self));

  if (self->state != state)
    {
      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
  if (status != NULL && g_strcmp0 (self->status, status) != 0)
    {
      g_free (self->status);
      self->status = g_strdup (status);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
    }
  progress = CLAMP (progress, 0.0, 1.0);
  if (self->progress != progress)
    {
      self->progress = progress;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
    }
}
