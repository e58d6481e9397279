/* drover-broker-editor.h: a broker's settings, in a page of Preferences
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "drover-core.h"

G_BEGIN_DECLS

#define DROVER_TYPE_BROKER_EDITOR (drover_broker_editor_get_type ())

G_DECLARE_FINAL_TYPE (DroverBrokerEditor, drover_broker_editor, DROVER, BROKER_EDITOR, GtkBox)

GtkWidget         *drover_broker_editor_new                  (const DroverBrokerEntry *entry);
const char        *drover_broker_editor_get_old_name         (DroverBrokerEditor      *self);
DroverBrokerEntry *drover_broker_editor_dup_entry            (DroverBrokerEditor      *self);
const char        *drover_broker_editor_get_password         (DroverBrokerEditor      *self);
gboolean           drover_broker_editor_get_password_changed (DroverBrokerEditor      *self);
gboolean           drover_broker_editor_get_had_password     (DroverBrokerEditor      *self);
void               drover_broker_editor_set_busy             (DroverBrokerEditor      *self,
                                                              gboolean                 busy);

G_END_DECLS
