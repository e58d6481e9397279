/* drover-file-item.c: one file on a printer, and where it came from
 *
 * The Files tab lists these: name, size, date, and the provenance in
 * words (sent by Drover with its job, approved by whom, there before
 * Drover looked, or unexpected with the reasons).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "drover-enum-types.h"
#include "drover-file-item.h"

struct _DroverFileItem
{
  GObject               parent_instance;

  char                 *name;
  gint64                size;
  gint64                modified;
  char                 *sha256;
  DroverFileProvenance  provenance;
  char                 *detail;
};

G_DEFINE_FINAL_TYPE (DroverFileItem, drover_file_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_SIZE,
  PROP_MODIFIED,
  PROP_PROVENANCE,
  PROP_DETAIL,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
drover_file_item_finalize (GObject *object)
{
  DroverFileItem *self = (DroverFileItem *)object;

  g_free (self->name);
  g_free (self->sha256);
  g_free (self->detail);

  G_OBJECT_CLASS (drover_file_item_parent_class)->finalize (object);
}

static void
drover_file_item_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  DroverFileItem *self = DROVER_FILE_ITEM (object);

  switch (prop_id)
    {
    case PROP_NAME: g_value_set_string (value, self->name); break;
    case PROP_SIZE: g_value_set_int64 (value, self->size); break;
    case PROP_MODIFIED: g_value_set_int64 (value, self->modified); break;
    case PROP_PROVENANCE: g_value_set_enum (value, self->provenance); break;
    case PROP_DETAIL: g_value_set_string (value, self->detail); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_file_item_class_init (DroverFileItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = drover_file_item_finalize;
  object_class->get_property = drover_file_item_get_property;

  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, flags);
  properties[PROP_SIZE] = g_param_spec_int64 ("size", NULL, NULL, -1, G_MAXINT64, -1, flags);
  properties[PROP_MODIFIED] = g_param_spec_int64 ("modified", NULL, NULL, -1, G_MAXINT64, -1, flags);
  properties[PROP_PROVENANCE] = g_param_spec_enum ("provenance", NULL, NULL, DROVER_TYPE_FILE_PROVENANCE,
                                                   DROVER_FILE_BASELINE, flags);
  properties[PROP_DETAIL] = g_param_spec_string ("detail", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
drover_file_item_init (DroverFileItem *self)
{
  self->size = -1;
  self->modified = -1;
  self->provenance = DROVER_FILE_BASELINE;
}

/**
 * drover_file_item_new:
 * @size: bytes, -1 unknown
 * @modified: Unix seconds, -1 unknown
 *
 * Returns: (transfer full): a file, its provenance not yet known
 */
DroverFileItem *
drover_file_item_new (const char *name,
                      gint64      size,
                      gint64      modified)
{
  DroverFileItem *self = g_object_new (DROVER_TYPE_FILE_ITEM, NULL);

  self->name = g_strdup (name);
  self->size = size;
  self->modified = modified;

  return self;
}

const char *
drover_file_item_get_name (DroverFileItem *self)
{
  g_return_val_if_fail (DROVER_IS_FILE_ITEM (self), NULL);
  return self->name;
}

gint64
drover_file_item_get_size (DroverFileItem *self)
{
  g_return_val_if_fail (DROVER_IS_FILE_ITEM (self), -1);
  return self->size;
}

void
drover_file_item_set_size (DroverFileItem *self,
                           gint64          size)
{
  g_return_if_fail (DROVER_IS_FILE_ITEM (self));

  if (self->size == size)
    return;
  self->size = size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SIZE]);
}

gint64
drover_file_item_get_modified (DroverFileItem *self)
{
  g_return_val_if_fail (DROVER_IS_FILE_ITEM (self), -1);
  return self->modified;
}

void
drover_file_item_set_modified (DroverFileItem *self,
                               gint64          modified)
{
  g_return_if_fail (DROVER_IS_FILE_ITEM (self));

  if (self->modified == modified)
    return;
  self->modified = modified;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODIFIED]);
}

const char *
drover_file_item_get_sha256 (DroverFileItem *self)
{
  g_return_val_if_fail (DROVER_IS_FILE_ITEM (self), NULL);
  return self->sha256;
}

void
drover_file_item_set_sha256 (DroverFileItem *self,
                             const char     *sha256)
{
  g_return_if_fail (DROVER_IS_FILE_ITEM (self));

  g_free (self->sha256);
  self->sha256 = g_strdup (sha256);
}

DroverFileProvenance
drover_file_item_get_provenance (DroverFileItem *self)
{
  g_return_val_if_fail (DROVER_IS_FILE_ITEM (self), DROVER_FILE_BASELINE);
  return self->provenance;
}

/**
 * drover_file_item_get_detail:
 *
 * Returns: (nullable): the provenance in words: the job and signer, who
 *   approved it, or why it is unexpected
 */
const char *
drover_file_item_get_detail (DroverFileItem *self)
{
  g_return_val_if_fail (DROVER_IS_FILE_ITEM (self), NULL);
  return self->detail;
}

void
drover_file_item_set_provenance (DroverFileItem       *self,
                                 DroverFileProvenance  provenance,
                                 const char           *detail)
{
  g_return_if_fail (DROVER_IS_FILE_ITEM (self));

  if (self->provenance != provenance)
    {
      self->provenance = provenance;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROVENANCE]);
    }
  if (g_strcmp0 (self->detail, detail) != 0)
    {
      g_free (self->detail);
      self->detail = g_strdup (detail);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DETAIL]);
    }
}
