/* drover-minisign.h: minisign keys and signatures, with libsodium
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DROVER_MINISIGN_ERROR (drover_minisign_error_quark ())

/**
 * DroverMinisignError:
 * @DROVER_MINISIGN_ERROR_INVALID: a key or signature file that is not one,
 *   or is damaged
 * @DROVER_MINISIGN_ERROR_UNSUPPORTED: a minisign file of a kind Drover does
 *   not handle (another algorithm, a legacy signature where a hash is given)
 * @DROVER_MINISIGN_ERROR_WRONG_KEY: the signature was made by another key
 * @DROVER_MINISIGN_ERROR_BAD_SIGNATURE: the file or the trusted comment
 *   does not match the signature
 * @DROVER_MINISIGN_ERROR_BAD_PASSWORD: the password does not open the
 *   secret key, or the key needs one and none was given
 */
typedef enum
{
  DROVER_MINISIGN_ERROR_INVALID,
  DROVER_MINISIGN_ERROR_UNSUPPORTED,
  DROVER_MINISIGN_ERROR_WRONG_KEY,
  DROVER_MINISIGN_ERROR_BAD_SIGNATURE,
  DROVER_MINISIGN_ERROR_BAD_PASSWORD,
} DroverMinisignError;

/* minisign's own limits: longer comments break its parser. */
#define DROVER_MINISIGN_TRUSTED_COMMENT_MAX   8173
#define DROVER_MINISIGN_UNTRUSTED_COMMENT_MAX 1000
/* The largest .minisig text Drover reads: both comments at their limits. */
#define DROVER_MINISIGN_SIGNATURE_FILE_MAX    (16 * 1024)

typedef struct _DroverPublicKey DroverPublicKey;
typedef struct _DroverSecretKey DroverSecretKey;
typedef struct _DroverSignature DroverSignature;

GQuark            drover_minisign_error_quark               (void);

char             *drover_minisign_normalize_key_id          (const char              *text);

DroverPublicKey  *drover_public_key_new_from_data           (const char              *text,
                                                             GError                 **error);
DroverPublicKey  *drover_public_key_new_from_file           (const char              *path,
                                                             GError                 **error);
char             *drover_public_key_dup_id                  (const DroverPublicKey   *key);
char             *drover_public_key_to_data                 (const DroverPublicKey   *key);
char             *drover_public_key_dup_base64              (const DroverPublicKey   *key);
gboolean          drover_public_key_equal                   (const DroverPublicKey   *a,
                                                             const DroverPublicKey   *b);
DroverPublicKey  *drover_public_key_copy                    (const DroverPublicKey   *key);
void              drover_public_key_free                    (DroverPublicKey         *key);

DroverSecretKey  *drover_secret_key_generate                (void);
DroverSecretKey  *drover_secret_key_new_from_data           (const char              *text,
                                                             const char              *password,
                                                             GError                 **error);
DroverSecretKey  *drover_secret_key_new_from_file           (const char              *path,
                                                             const char              *password,
                                                             GError                 **error);
gboolean          drover_secret_key_get_encrypted_from_data (const char              *text,
                                                             gboolean                *encrypted,
                                                             GError                 **error);
char             *drover_secret_key_to_data                 (const DroverSecretKey   *key,
                                                             const char              *password);
char             *drover_secret_key_dup_id                  (const DroverSecretKey   *key);
DroverPublicKey  *drover_secret_key_dup_public              (const DroverSecretKey   *key);
void              drover_secret_key_free                    (DroverSecretKey         *key);

char             *drover_minisign_sign_file                 (const DroverSecretKey   *key,
                                                             const char              *path,
                                                             const char              *trusted_comment,
                                                             const char              *untrusted_comment,
                                                             GCancellable            *cancellable,
                                                             GError                 **error);
char             *drover_minisign_sign_bytes                (const DroverSecretKey   *key,
                                                             GBytes                  *content,
                                                             const char              *trusted_comment,
                                                             const char              *untrusted_comment,
                                                             GError                 **error);
gboolean          drover_minisign_hash_stream               (GInputStream            *stream,
                                                             guint8                   hash[64],
                                                             GCancellable            *cancellable,
                                                             GError                 **error);

DroverSignature  *drover_signature_new_from_data            (const char              *text,
                                                             GError                 **error);
DroverSignature  *drover_signature_new_from_file            (const char              *path,
                                                             GError                 **error);
const char       *drover_signature_get_trusted_comment      (const DroverSignature   *signature);
const char       *drover_signature_get_untrusted_comment    (const DroverSignature   *signature);
char             *drover_signature_dup_key_id               (const DroverSignature   *signature);
gboolean          drover_signature_get_prehashed            (const DroverSignature   *signature);
gboolean          drover_signature_verify_hash              (const DroverSignature   *signature,
                                                             const DroverPublicKey   *key,
                                                             const guint8             hash[64],
                                                             GError                 **error);
gboolean          drover_signature_verify_bytes             (const DroverSignature   *signature,
                                                             const DroverPublicKey   *key,
                                                             GBytes                  *content,
                                                             GError                 **error);
gboolean          drover_signature_verify_file              (const DroverSignature   *signature,
                                                             const DroverPublicKey   *key,
                                                             const char              *path,
                                                             GCancellable            *cancellable,
                                                             GError                 **error);
void              drover_signature_free                     (DroverSignature         *signature);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DroverPublicKey, drover_public_key_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DroverSecretKey, drover_secret_key_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DroverSignature, drover_signature_free)

G_END_DECLS
