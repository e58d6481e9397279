/* drover-trust-store.h: the keys whose signed jobs Drover runs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "drover-minisign.h"

G_BEGIN_DECLS

/**
 * DroverTrustedKey:
 * @id: the key id, 16 upper-case hex digits
 * @name: who signs with it, as the operator named them
 * @key: the public key
 * @added: when it was trusted, Unix seconds
 * @revoked: when it was revoked, Unix seconds; 0 while it is in force
 */
typedef struct
{
  char            *id;
  char            *name;
  DroverPublicKey *key;
  gint64           added;
  gint64           revoked;
} DroverTrustedKey;

typedef struct _DroverTrustStore DroverTrustStore;

#define DROVER_TRUST_STORE_ERROR (drover_trust_store_error_quark ())

/**
 * DroverTrustStoreError:
 * @DROVER_TRUST_STORE_ERROR_INVALID: the store's file, a name or a key
 *   Drover cannot use
 * @DROVER_TRUST_STORE_ERROR_DUPLICATE: the key is in the store already
 * @DROVER_TRUST_STORE_ERROR_NOT_FOUND: no key with that id is trusted
 * @DROVER_TRUST_STORE_ERROR_REVOKED: the key was trusted and is revoked
 */
typedef enum
{
  DROVER_TRUST_STORE_ERROR_INVALID,
  DROVER_TRUST_STORE_ERROR_DUPLICATE,
  DROVER_TRUST_STORE_ERROR_NOT_FOUND,
  DROVER_TRUST_STORE_ERROR_REVOKED,
} DroverTrustStoreError;

GQuark                  drover_trust_store_error_quark     (void);

DroverTrustedKey       *drover_trusted_key_copy            (const DroverTrustedKey *key);
void                    drover_trusted_key_free            (DroverTrustedKey       *key);

char                   *drover_trust_store_dup_default_path (void);
DroverTrustStore       *drover_trust_store_load            (const char             *path,
                                                            GError                **error);
const char             *drover_trust_store_get_path        (DroverTrustStore       *store);
gboolean                drover_trust_store_save            (DroverTrustStore       *store,
                                                            GError                **error);
gboolean                drover_trust_store_add             (DroverTrustStore       *store,
                                                            const char             *name,
                                                            const DroverPublicKey  *key,
                                                            GError                **error);
gboolean                drover_trust_store_revoke          (DroverTrustStore       *store,
                                                            const char             *key_id,
                                                            GError                **error);
const DroverTrustedKey *drover_trust_store_find            (DroverTrustStore       *store,
                                                            const char             *key_id);
const DroverTrustedKey *drover_trust_store_find_in_force   (DroverTrustStore       *store,
                                                            const char             *key_id,
                                                            GError                **error);
GPtrArray              *drover_trust_store_get_keys        (DroverTrustStore       *store);
void                    drover_trust_store_free            (DroverTrustStore       *store);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DroverTrustedKey, drover_trusted_key_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DroverTrustStore, drover_trust_store_free)

G_END_DECLS
