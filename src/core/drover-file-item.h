/* drover-file-item.h: one file on a printer, and where it came from
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

#include "drover-enums.h"

G_BEGIN_DECLS

#define DROVER_TYPE_FILE_ITEM (drover_file_item_get_type ())

G_DECLARE_FINAL_TYPE (DroverFileItem, drover_file_item, DROVER, FILE_ITEM, GObject)

DroverFileItem       *drover_file_item_new             (const char           *name,
                                                        gint64                size,
                                                        gint64                modified);
const char           *drover_file_item_get_name        (DroverFileItem       *self);
gint64                drover_file_item_get_size        (DroverFileItem       *self);
void                  drover_file_item_set_size        (DroverFileItem       *self,
                                                        gint64                size);
gint64                drover_file_item_get_modified    (DroverFileItem       *self);
void                  drover_file_item_set_modified    (DroverFileItem       *self,
                                                        gint64                modified);
const char           *drover_file_item_get_sha256      (DroverFileItem       *self);
void                  drover_file_item_set_sha256      (DroverFileItem       *self,
                                                        const char           *sha256);
DroverFileProvenance  drover_file_item_get_provenance  (DroverFileItem       *self);
const char           *drover_file_item_get_detail      (DroverFileItem       *self);
void                  drover_file_item_set_provenance  (DroverFileItem       *self,
                                                        DroverFileProvenance  provenance,
                                                        const char           *detail);

G_END_DECLS
