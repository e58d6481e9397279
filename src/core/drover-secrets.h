/* drover-secrets.h: passwords and access codes in the desktop keyring
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * DroverSecretKind:
 * @DROVER_SECRET_BROKER: a broker's password, named by the broker's name
 * @DROVER_SECRET_PRINTER: a printer's access code, named by the printer's id
 * @DROVER_SECRET_SIGNING_KEY: a minisign secret key for signing jobs, the
 *   text of an unencrypted key file (the keyring protects it), named by
 *   its key id
 *
 * Whose secret it is.
 */
typedef enum
{
  DROVER_SECRET_BROKER,
  DROVER_SECRET_PRINTER,
  DROVER_SECRET_SIGNING_KEY,
} DroverSecretKind;

#define DROVER_SECRETS_ERROR (drover_secrets_error_quark ())

/**
 * DroverSecretsError:
 * @DROVER_SECRETS_ERROR_NO_KEYRING: no Secret Service answers on the session bus
 * @DROVER_SECRETS_ERROR_LOCKED: the keyring is locked and was not unlocked
 * @DROVER_SECRETS_ERROR_FAILED: the keyring answered with another error
 */
typedef enum
{
  DROVER_SECRETS_ERROR_NO_KEYRING,
  DROVER_SECRETS_ERROR_LOCKED,
  DROVER_SECRETS_ERROR_FAILED,
} DroverSecretsError;

GQuark    drover_secrets_error_quark    (void);

void      drover_secrets_store_async    (DroverSecretKind      kind,
                                         const char           *name,
                                         const char           *secret,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
gboolean  drover_secrets_store_finish   (GAsyncResult         *result,
                                         GError              **error);
void      drover_secrets_lookup_async   (DroverSecretKind      kind,
                                         const char           *name,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
char     *drover_secrets_lookup_finish  (GAsyncResult         *result,
                                         GError              **error);
void      drover_secrets_clear_async    (DroverSecretKind      kind,
                                         const char           *name,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
gboolean  drover_secrets_clear_finish   (GAsyncResult         *result,
                                         GError              **error);
void      drover_secrets_free           (char                 *secret);

G_END_DECLS
