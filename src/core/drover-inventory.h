/* drover-inventory.h: the farm's brokers and printers, from a key file
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

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
  char                *username;    /* Anycubic LAN mode: the printer broker's account */
} DroverPrinterEntry;

typedef struct _DroverInventory DroverInventory;

#define DROVER_INVENTORY_ERROR (drover_inventory_error_quark ())

/**
 * DroverInventoryError:
 * @DROVER_INVENTORY_ERROR_INVALID: an entry or a file Drover cannot use
 * @DROVER_INVENTORY_ERROR_DUPLICATE: a name or id the farm already has
 * @DROVER_INVENTORY_ERROR_IN_USE: a broker that printers still use
 * @DROVER_INVENTORY_ERROR_NOT_FOUND: no such broker or printer
 */
typedef enum
{
  DROVER_INVENTORY_ERROR_INVALID,
  DROVER_INVENTORY_ERROR_DUPLICATE,
  DROVER_INVENTORY_ERROR_IN_USE,
  DROVER_INVENTORY_ERROR_NOT_FOUND,
} DroverInventoryError;

GQuark              drover_inventory_error_quark     (void);

DroverBrokerEntry  *drover_broker_entry_new          (const char                *name);
DroverBrokerEntry  *drover_broker_entry_copy         (const DroverBrokerEntry   *entry);
char              **drover_broker_entry_dup_nodes    (const DroverBrokerEntry   *entry);
void                drover_broker_entry_free         (DroverBrokerEntry         *entry);
DroverPrinterEntry *drover_printer_entry_new         (const char                *id,
                                                      DroverConnectorKind        connector);
DroverPrinterEntry *drover_printer_entry_copy        (const DroverPrinterEntry  *entry);
void                drover_printer_entry_free        (DroverPrinterEntry        *entry);

DroverInventory    *drover_inventory_new             (void);
DroverInventory *drover_inventory_load_from_data  (const char        *data,
                                                   gsize              length,
                                                   GError           **error);
DroverInventory *drover_inventory_load            (const char        *path,
                                                   GError           **error);
GPtrArray       *drover_inventory_get_brokers     (DroverInventory   *self);
GPtrArray       *drover_inventory_get_printers    (DroverInventory   *self);
DroverBrokerEntry *drover_inventory_find_broker   (DroverInventory   *self,
                                                   const char        *name);
DroverPrinterEntry *drover_inventory_find_printer (DroverInventory   *self,
                                                   const char        *id);
gboolean         drover_inventory_check_broker    (DroverInventory          *self,
                                                   const char               *old_name,
                                                   const DroverBrokerEntry  *entry,
                                                   GError                  **error);
gboolean         drover_inventory_set_broker      (DroverInventory          *self,
                                                   const char               *old_name,
                                                   const DroverBrokerEntry  *entry,
                                                   GError                  **error);
gboolean         drover_inventory_remove_broker   (DroverInventory          *self,
                                                   const char               *name,
                                                   GError                  **error);
gboolean         drover_inventory_check_printer   (DroverInventory          *self,
                                                   const char               *old_id,
                                                   const DroverPrinterEntry *entry,
                                                   GError                  **error);
gboolean         drover_inventory_set_printer     (DroverInventory          *self,
                                                   const char               *old_id,
                                                   const DroverPrinterEntry *entry,
                                                   GError                  **error);
gboolean         drover_inventory_remove_printer  (DroverInventory          *self,
                                                   const char               *id,
                                                   GError                  **error);
guint            drover_inventory_import_csv      (DroverInventory          *self,
                                                   const char               *csv_text,
                                                   gsize                     length,
                                                   GError                  **error);
char            *drover_inventory_to_data         (DroverInventory          *self,
                                                   gsize                    *length);
void             drover_inventory_save_async      (DroverInventory          *self,
                                                   const char               *path,
                                                   GCancellable             *cancellable,
                                                   GAsyncReadyCallback       callback,
                                                   gpointer                  user_data);
gboolean         drover_inventory_save_finish     (GAsyncResult             *result,
                                                   GError                  **error);
void             drover_inventory_free            (DroverInventory   *self);
gboolean         drover_connector_kind_from_string (const char        *text,
                                                    DroverConnectorKind *kind);
const char      *drover_connector_kind_to_key     (DroverConnectorKind  kind);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DroverInventory, drover_inventory_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DroverBrokerEntry, drover_broker_entry_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DroverPrinterEntry, drover_printer_entry_free)

char              **drover_inventory_dup_job_hosts (DroverInventory *self);
char               *drover_inventory_dup_printer_value (DroverInventory *self,
                                                        const char      *printer_id,
                                                        const char      *key);

G_END_DECLS
