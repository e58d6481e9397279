/* drover-inventory.h: the farm's brokers and printers, from a key file
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

#include "drover-enums.h"

G_BEGIN_DECLS

typedef struct
{
  char     *name;
  char     *uri;
  char     *client_id;
  char     *username;
  char     *ca_file;
  char     *certificate_file;
  char     *key_file;
  gboolean  verify_host_name;
} DroverBrokerEntry;

typedef struct
{
  char                *id;
  char                *name;
  DroverConnectorKind  connector;
  char                *broker;      /* a DroverBrokerEntry's name; NULL for a printer that is its own broker */
  char                *key;         /* how its messages name it: native id, Moonraker instance, OctoPrint instance, Bambu serial */
  char                *uri;         /* its own broker (Bambu) */
  char                *ca_file;
  char                *access_code; /* Bambu; belongs in the keyring, accepted here from drover-sim's demo */
  char                *http_url;
  char                *api_key;
} DroverPrinterEntry;

typedef struct _DroverInventory DroverInventory;

#define DROVER_INVENTORY_ERROR (drover_inventory_error_quark ())

typedef enum
{
  DROVER_INVENTORY_ERROR_INVALID,
} DroverInventoryError;

GQuark           drover_inventory_error_quark     (void);
DroverInventory *drover_inventory_load_from_data  (const char        *data,
                                                   gsize              length,
                                                   GError           **error);
DroverInventory *drover_inventory_load            (const char        *path,
                                                   GError           **error);
GPtrArray       *drover_inventory_get_brokers     (DroverInventory   *self);
GPtrArray       *drover_inventory_get_printers    (DroverInventory   *self);
DroverBrokerEntry *drover_inventory_find_broker   (DroverInventory   *self,
                                                   const char        *name);
void             drover_inventory_free            (DroverInventory   *self);
gboolean         drover_connector_kind_from_string (const char        *text,
                                                    DroverConnectorKind *kind);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DroverInventory, drover_inventory_free)

G_END_DECLS
