/* drover-minisign.c: minisign keys and signatures, with libsodium
 *
 * Drover's jobs are signed with minisign's formats, byte for byte, so that
 * a stock `minisign -Vm part.gcode -p key.pub` checks a Drover job and a
 * file signed with `minisign -S` goes through Drover's gate. All three files
 * are text: an "untrusted comment:" line, then base64 (standard alphabet,
 * with padding) of a small binary structure.
 *
 *   public key, 42 bytes:   "Ed", key id (8), Ed25519 public key (32)
 *   secret key, 158 bytes:  "Ed", KDF "Sc" or "\0\0", checksum "B2",
 *                           scrypt salt (32), opslimit and memlimit
 *                           (8 each, little-endian), then key id (8),
 *                           Ed25519 secret key (64) and BLAKE2b-256
 *                           checksum (32), XORed with an scrypt stream
 *                           when the key has a password
 *   signature, 74 bytes:    "ED" (Ed25519 over BLAKE2b-512 of the file)
 *                           or legacy "Ed" (over the file itself), key id
 *                           (8), signature (64); then a "trusted comment:"
 *                           line and base64 of the global signature, over
 *                           signature ‖ trusted comment
 *
 * The key id is 8 random bytes; minisign prints them as a little-endian
 * 64-bit number in hex, so the printed id is the bytes in reverse order.
 * Ids are compared as bytes, never as printed text: minisign 0.11 drops
 * leading zeros when it prints one.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-minisign"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <sodium.h>
#include <string.h>

#include "drover-minisign.h"

#define KEY_ID_BYTES             8
#define ALGORITHM_ED25519        "Ed"
#define ALGORITHM_PREHASHED      "ED"
#define KDF_SCRYPT               "Sc"
#define KDF_NONE                 "\0\0"
#define CHECKSUM_BLAKE2B         "B2"
#define COMMENT_PREFIX           "untrusted comment: "
#define TRUSTED_COMMENT_PREFIX   "trusted comment: "
#define DEFAULT_SIGNATURE_COMMENT "signature from minisign secret key"
#define DEFAULT_SECRET_KEY_COMMENT "minisign encrypted secret key"

#define PUBLIC_KEY_BYTES         (2 + KEY_ID_BYTES + crypto_sign_PUBLICKEYBYTES)
#define SIGNATURE_BYTES          (2 + KEY_ID_BYTES + crypto_sign_BYTES)
#define HASH_BYTES               crypto_generichash_BYTES_MAX

/* The secret key file, field by field. */
#define SK_KDF_OFFSET            2
#define SK_CHECKSUM_ALG_OFFSET   4
#define SK_SALT_OFFSET           6
#define SK_OPSLIMIT_OFFSET       (SK_SALT_OFFSET + crypto_pwhash_scryptsalsa208sha256_SALTBYTES)
#define SK_MEMLIMIT_OFFSET       (SK_OPSLIMIT_OFFSET + 8)
#define SK_KEY_ID_OFFSET         (SK_MEMLIMIT_OFFSET + 8)
#define SK_SECRET_OFFSET         (SK_KEY_ID_OFFSET + KEY_ID_BYTES)
#define SK_CHECKSUM_OFFSET       (SK_SECRET_OFFSET + crypto_sign_SECRETKEYBYTES)
#define SK_CHECKSUM_BYTES        crypto_generichash_BYTES
#define SECRET_KEY_FILE_BYTES    (SK_CHECKSUM_OFFSET + SK_CHECKSUM_BYTES)
/* What the password's scrypt stream covers: key id, key and checksum. */
#define SK_ENCRYPTED_BYTES       (SECRET_KEY_FILE_BYTES - SK_KEY_ID_OFFSET)

/* A public key's text is two short lines; a secret key's, too. Anything
 * much larger is not a key, and is not read into memory. */
#define KEY_FILE_MAX             (4 * 1024)

#define HASH_READ_SIZE           (1024 * 1024)

#define BASE64_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="

struct _DroverPublicKey
{
  guint8 id[KEY_ID_BYTES];
  guint8 key[crypto_sign_PUBLICKEYBYTES];
};

typedef struct
{
  guint8 id[KEY_ID_BYTES];
  guint8 key[crypto_sign_SECRETKEYBYTES];
} SecretMaterial;

struct _DroverSecretKey
{
  /* sodium_malloc()ed: guard pages around it, kept out of swap where the
   * system allows, and wiped by sodium_free(). Read-only once made. */
  SecretMaterial *material;
};

struct _DroverSignature
{
  gboolean  prehashed;
  guint8    key_id[KEY_ID_BYTES];
  guint8    signature[crypto_sign_BYTES];
  guint8    global_signature[crypto_sign_BYTES];
  char     *trusted_comment;
  char     *untrusted_comment;
};

/* Secret bytes on their way in or out live in sodium_malloc()ed memory,
 * wiped when they go out of scope. */
typedef guint8 *SecureBytes;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (SecureBytes, sodium_free, NULL)

G_DEFINE_QUARK (drover-minisign-error-quark, drover_minisign_error)

/* drover_core_init() starts libsodium, but a test or a tool may call in
 * here first; sodium_init() is cheap and safe to repeat. */
static void
ensure_sodium (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      if (sodium_init () < 0)
        g_error ("libsodium could not start: no usable random source");
      g_once_init_leave (&initialized, 1);
    }
}

static guint64
load_le64 (const guint8 *bytes)
{
  guint64 value = 0;

  for (int i = 7; i >= 0; i--)
    value = (value << 8) | bytes[i];

  return value;
}

static void
store_le64 (guint8  *bytes,
            guint64  value)
{
  for (int i = 0; i < 8; i++)
    {
      bytes[i] = value & 0xff;
      value >>= 8;
    }
}

static char *
format_key_id (const guint8 id[KEY_ID_BYTES])
{
  return g_strdup_printf ("%016" G_GINT64_MODIFIER "X", load_le64 (id));
}

/**
 * drover_minisign_normalize_key_id:
 * @text: a key id as a person typed it or a program printed it
 *
 * Key ids are compared as 16 upper-case hex digits. minisign 0.11 prints
 * them without leading zeros and people type them in lower case; both
 * mean the same key.
 *
 * Returns: (transfer full) (nullable): the id as 16 upper-case hex digits,
 *   or %NULL if @text is not 1 to 16 hex digits
 */
char *
drover_minisign_normalize_key_id (const char *text)
{
  guint64 value = 0;
  gsize length;

  if (text == NULL)
    return NULL;

  length = strlen (text);
  if (length == 0 || length > 16)
    return NULL;

  for (gsize i = 0; i < length; i++)
    {
      if (!g_ascii_isxdigit (text[i]))
        return NULL;
      value = (value << 4) | (guint64) g_ascii_xdigit_value (text[i]);
    }

  return g_strdup_printf ("%016" G_GINT64_MODIFIER "X", value);
}

static char *
encode_base64 (const guint8 *bytes,
               gsize         length)
{
  gsize size = sodium_base64_ENCODED_LEN (length, sodium_base64_VARIANT_ORIGINAL);
  char *text = g_malloc (size);

  sodium_bin2base64 (text, size, bytes, length, sodium_base64_VARIANT_ORIGINAL);
  return text;
}

/* Exactly @length bytes from one line of base64, or FALSE. */
static gboolean
decode_base64 (const char *line,
               guint8     *bytes,
               gsize       length,
               gsize      *decoded_length)
{
  gsize binary_length = 0;

  if (sodium_base642bin (bytes, length, line, strlen (line), NULL, &binary_length, NULL,
                         sodium_base64_VARIANT_ORIGINAL) != 0)
    {
      *decoded_length = 0;
      return FALSE;
    }

  *decoded_length = binary_length;
  return binary_length == length;
}

/* How long a base64 line decodes to, for saying what it is instead. */
static gsize
base64_decoded_length (const char *line)
{
  gsize length = strlen (line);
  g_autofree guint8 *bytes = g_malloc (length + 1);
  gsize decoded = 0;

  if (sodium_base642bin (bytes, length + 1, line, length, NULL, &decoded, NULL,
                         sodium_base64_VARIANT_ORIGINAL) != 0)
    return 0;
  return decoded;
}

/* Lines without their "\n" or "\r\n", trailing empty lines dropped. */
static GStrv
split_lines (const char *text)
{
  GStrv lines = g_strsplit (text, "\n", -1);
  guint count = g_strv_length (lines);

  for (guint i = 0; i < count; i++)
    {
      gsize length = strlen (lines[i]);

      if (length > 0 && lines[i][length - 1] == '\r')
        lines[i][length - 1] = '\0';
    }

  while (count > 0 && lines[count - 1][0] == '\0')
    {
      g_free (lines[count - 1]);
      lines[--count] = NULL;
    }

  return lines;
}

/* minisign (since 2025) refuses a trusted comment with control characters
 * or broken UTF-8, and so does Drover: the comment is shown to people,
 * and a terminal escape or a second line in it would lie to them. */
static gboolean
comment_is_printable (const char *text)
{
  if (!g_utf8_validate (text, -1, NULL))
    return FALSE;

  for (const char *p = text; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      if ((c < 0x20 && c != '\t') || c == 0x7f)
        return FALSE;
    }

  return TRUE;
}

/* Reads a small text file whole, refusing one larger than @max_size before
 * it is in memory: key and signature files are a few hundred bytes. */
static char *
load_small_file (const char  *path,
                 gsize        max_size,
                 const char  *what,
                 GError     **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInputStream) stream = NULL;
  g_autofree char *buffer = g_malloc (max_size + 2);
  gsize length = 0;

  stream = g_file_read (file, NULL, error);
  if (stream == NULL)
    return NULL;

  if (!g_input_stream_read_all (G_INPUT_STREAM (stream), buffer, max_size + 1, &length, NULL, error))
    return NULL;

  if (length > max_size)
    {
      g_autofree char *display = g_filename_display_name (path);

      g_set_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID,
                   _("“%s” is too large to be a %s (more than %" G_GSIZE_FORMAT " bytes)"),
                   display, what, max_size);
      return NULL;
    }

  if (memchr (buffer, '\0', length) != NULL)
    {
      g_autofree char *display = g_filename_display_name (path);

      g_set_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID,
                   _("“%s” is not a %s: it holds binary data, not text"), display, what);
      return NULL;
    }

  buffer[length] = '\0';
  return g_steal_pointer (&buffer);
}

static void
prefix_error_with_path (GError     **error,
                        const char  *path)
{
  g_autofree char *display = NULL;

  if (error == NULL || *error == NULL || (*error)->domain != DROVER_MINISIGN_ERROR)
    return;

  display = g_filename_display_name (path);
  g_prefix_error (error, "%s: ", display);
}

/* The base64 line of a key file: the second line after an untrusted
 * comment, or a bare line on its own (as minisign -P takes it). */
static const char *
key_line (GStrv         lines,
          const char   *what,
          GError      **error)
{
  guint count = g_strv_length (lines);

  if (count == 1 && !g_str_has_prefix (lines[0], "untrusted comment:"))
    return g_strstrip (lines[0]);

  if (count == 0)
    {
      g_set_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID,
                   _("This is not a minisign %s: it is empty"), what);
      return NULL;
    }

  if (count != 2)
    {
      g_set_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID,
                   _("This is not a minisign %s: it has %u lines, not an “untrusted comment:” line and a line of base64"),
                   what, count);
      return NULL;
    }

  return g_strstrip (lines[1]);
}

static void
set_wrong_kind_error (GError     **error,
                      const char  *line,
                      const char  *expected)
{
  gsize length = base64_decoded_length (line);

  if (length == PUBLIC_KEY_BYTES)
    g_set_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID,
                 _("This is a minisign public key, not a %s"), expected);
  else if (length == SECRET_KEY_FILE_BYTES)
    g_set_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID,
                 _("This is a minisign secret key, not a %s; never pass a secret key around"), expected);
  else if (length == SIGNATURE_BYTES)
    g_set_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID,
                 _("This is a minisign signature, not a %s"), expected);
  else if (length == 0 && line[0] != '\0' && line[strspn (line, BASE64_ALPHABET)] == '\0')
    g_set_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID,
                 _("This is not a minisign %s: its key line is cut short or damaged"), expected);
  else if (length == 0)
    g_set_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID,
                 _("This is not a minisign %s: its key line is not base64"), expected);
  else
    g_set_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID,
                 _("This is not a minisign %s: its key line holds %" G_GSIZE_FORMAT " bytes, not the expected number"),
                 expected, length);
}

/**
 * drover_public_key_new_from_data:
 * @text: the text of a .pub file, or its base64 line on its own
 * @error: why it is not a public key
 *
 * Reads a minisign public key. Only Ed25519 keys exist in minisign; any
 * other algorithm is %DROVER_MINISIGN_ERROR_UNSUPPORTED.
 *
 * Returns: (transfer full) (nullable): the key
 */
DroverPublicKey *
drover_public_key_new_from_data (const char  *text,
                                 GError     **error)
{
  g_auto(GStrv) lines = NULL;
  guint8 bytes[PUBLIC_KEY_BYTES];
  g_autoptr(DroverPublicKey) key = NULL;
  const char *line;
  gsize length;

  g_return_val_if_fail (text != NULL, NULL);
  ensure_sodium ();

  lines = split_lines (text);
  line = key_line (lines, _("public key"), error);
  if (line == NULL)
    return NULL;

  if (!decode_base64 (line, bytes, sizeof bytes, &length))
    {
      set_wrong_kind_error (error, line, _("public key"));
      return NULL;
    }

  if (memcmp (bytes, ALGORITHM_ED25519, 2) != 0)
    {
      g_set_error_literal (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_UNSUPPORTED,
                           _("This public key is for an algorithm minisign does not have (not “Ed”)"));
      return NULL;
    }

  key = g_new0 (DroverPublicKey, 1);
  memcpy (key->id, bytes + 2, KEY_ID_BYTES);
  memcpy (key->key, bytes + 2 + KEY_ID_BYTES, crypto_sign_PUBLICKEYBYTES);

  return g_steal_pointer (&key);
}

/**
 * drover_public_key_new_from_file:
 * @path: a .pub file
 * @error: why it cannot be read (a #GIOError) or is not a key
 *
 * Returns: (transfer full) (nullable): the key
 */
DroverPublicKey *
drover_public_key_new_from_file (const char  *path,
                                 GError     **error)
{
  g_autofree char *text = NULL;
  DroverPublicKey *key;

  g_return_val_if_fail (path != NULL, NULL);

  text = load_small_file (path, KEY_FILE_MAX, _("public key"), error);
  if (text == NULL)
    return NULL;

  key = drover_public_key_new_from_data (text, error);
  if (key == NULL)
    prefix_error_with_path (error, path);

  return key;
}

/**
 * drover_public_key_dup_id:
 * @key: a public key
 *
 * Returns: (transfer full): the key id as 16 upper-case hex digits, as
 *   minisign 0.12 and later print it (0.11 drops leading zeros)
 */
char *
drover_public_key_dup_id (const DroverPublicKey *key)
{
  g_return_val_if_fail (key != NULL, NULL);

  return format_key_id (key->id);
}

/**
 * drover_public_key_dup_base64:
 * @key: a public key
 *
 * Returns: (transfer full): the key's base64 line, what `minisign -P` takes
 */
char *
drover_public_key_dup_base64 (const DroverPublicKey *key)
{
  guint8 bytes[PUBLIC_KEY_BYTES];

  g_return_val_if_fail (key != NULL, NULL);

  memcpy (bytes, ALGORITHM_ED25519, 2);
  memcpy (bytes + 2, key->id, KEY_ID_BYTES);
  memcpy (bytes + 2 + KEY_ID_BYTES, key->key, crypto_sign_PUBLICKEYBYTES);

  return encode_base64 (bytes, sizeof bytes);
}

/**
 * drover_public_key_to_data:
 * @key: a public key
 *
 * Returns: (transfer full): the text of a .pub file, as `minisign -G`
 *   writes it, ending in a newline
 */
char *
drover_public_key_to_data (const DroverPublicKey *key)
{
  g_autofree char *id = NULL;
  g_autofree char *base64 = NULL;

  g_return_val_if_fail (key != NULL, NULL);

  id = drover_public_key_dup_id (key);
  base64 = drover_public_key_dup_base64 (key);

  return g_strdup_printf (COMMENT_PREFIX "minisign public key %s\n%s\n", id, base64);
}

/**
 * drover_public_key_equal:
 *
 * Returns: %TRUE when @a and @b are the same key with the same id
 */
gboolean
drover_public_key_equal (const DroverPublicKey *a,
                         const DroverPublicKey *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  return memcmp (a->id, b->id, KEY_ID_BYTES) == 0 &&
         memcmp (a->key, b->key, crypto_sign_PUBLICKEYBYTES) == 0;
}

/**
 * drover_public_key_copy:
 *
 * Returns: (transfer full): a copy of @key
 */
DroverPublicKey *
drover_public_key_copy (const DroverPublicKey *key)
{
  g_return_val_if_fail (key != NULL, NULL);

  return g_memdup2 (key, sizeof *key);
}

/**
 * drover_public_key_free:
 */
void
drover_public_key_free (DroverPublicKey *key)
{
  g_free (key);
}

static DroverSecretKey *
secret_key_new (void)
{
  DroverSecretKey *key;
  SecretMaterial *material;

  ensure_sodium ();

  material = sodium_malloc (sizeof *material);
  if (material == NULL)
    g_error ("Could not allocate protected memory for a secret key");
  sodium_memzero (material, sizeof *material);

  key = g_new0 (DroverSecretKey, 1);
  key->material = material;
  return key;
}

/* Once made, the key is only read: a stray write faults instead of
 * changing the key. */
static void
secret_key_seal (DroverSecretKey *key)
{
  sodium_mprotect_readonly (key->material);
}

/**
 * drover_secret_key_generate:
 *
 * Makes a new key pair with a random key id, as `minisign -G` does.
 *
 * Returns: (transfer full): the secret key; its public half is
 *   drover_secret_key_dup_public()
 */
DroverSecretKey *
drover_secret_key_generate (void)
{
  DroverSecretKey *key = secret_key_new ();
  guint8 public_key[crypto_sign_PUBLICKEYBYTES];

  randombytes_buf (key->material->id, KEY_ID_BYTES);
  crypto_sign_keypair (public_key, key->material->key);
  secret_key_seal (key);

  return key;
}

static void
compute_checksum (const guint8 id[KEY_ID_BYTES],
                  const guint8 secret[crypto_sign_SECRETKEYBYTES],
                  guint8       checksum[SK_CHECKSUM_BYTES])
{
  crypto_generichash_state state;

  crypto_generichash_init (&state, NULL, 0, SK_CHECKSUM_BYTES);
  crypto_generichash_update (&state, (const guint8 *) ALGORITHM_ED25519, 2);
  crypto_generichash_update (&state, id, KEY_ID_BYTES);
  crypto_generichash_update (&state, secret, crypto_sign_SECRETKEYBYTES);
  crypto_generichash_final (&state, checksum, SK_CHECKSUM_BYTES);
  sodium_memzero (&state, sizeof state);
}

/* Decodes and checks the fixed fields of a secret key file into @bytes
 * (SECRET_KEY_FILE_BYTES of guarded memory). */
/* The lines of a secret key's text, wiped before they are freed: for a
 * key without a password the base64 is the key itself. */
static void
wipe_lines (GStrv lines)
{
  for (guint i = 0; lines != NULL && lines[i] != NULL; i++)
    sodium_memzero (lines[i], strlen (lines[i]));
  g_strfreev (lines);
}

typedef GStrv SecretLines;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (SecretLines, wipe_lines, NULL)

static gboolean
decode_secret_key (const char  *text,
                   guint8      *bytes,
                   GError     **error)
{
  g_auto(SecretLines) lines = split_lines (text);
  const char *line;
  gsize length;

  line = key_line (lines, _("secret key"), error);
  if (line == NULL)
    return FALSE;

  if (!decode_base64 (line, bytes, SECRET_KEY_FILE_BYTES, &length))
    {
      set_wrong_kind_error (error, line, _("secret key"));
      return FALSE;
    }

  if (memcmp (bytes, ALGORITHM_ED25519, 2) != 0)
    {
      g_set_error_literal (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_UNSUPPORTED,
                           _("This secret key is for an algorithm minisign does not have (not “Ed”)"));
      return FALSE;
    }

  if (memcmp (bytes + SK_CHECKSUM_ALG_OFFSET, CHECKSUM_BLAKE2B, 2) != 0)
    {
      g_set_error_literal (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_UNSUPPORTED,
                           _("This secret key uses a checksum other than BLAKE2b (“B2”), which minisign does not make"));
      return FALSE;
    }

  if (memcmp (bytes + SK_KDF_OFFSET, KDF_SCRYPT, 2) != 0 &&
      memcmp (bytes + SK_KDF_OFFSET, KDF_NONE, 2) != 0)
    {
      g_set_error_literal (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_UNSUPPORTED,
                           _("This secret key is protected by a password scheme other than scrypt (“Sc”), which minisign does not make"));
      return FALSE;
    }

  return TRUE;
}

/**
 * drover_secret_key_get_encrypted_from_data:
 * @text: the text of a minisign secret key file
 * @encrypted: (out): whether it needs a password
 * @error: why it is not a secret key
 *
 * Lets a caller ask for a password only when the key needs one.
 *
 * Returns: %TRUE if @text is a secret key Drover can read
 */
gboolean
drover_secret_key_get_encrypted_from_data (const char  *text,
                                           gboolean    *encrypted,
                                           GError     **error)
{
  g_auto(SecureBytes) bytes = NULL;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (encrypted != NULL, FALSE);
  ensure_sodium ();

  bytes = sodium_malloc (SECRET_KEY_FILE_BYTES);
  if (!decode_secret_key (text, bytes, error))
    return FALSE;

  *encrypted = memcmp (bytes + SK_KDF_OFFSET, KDF_SCRYPT, 2) == 0;
  return TRUE;
}

static gboolean
derive_stream (guint8       *stream,
               const char   *password,
               const guint8 *salt,
               guint64       opslimit,
               guint64       memlimit)
{
  return crypto_pwhash_scryptsalsa208sha256 (stream, SK_ENCRYPTED_BYTES,
                                             password, strlen (password), salt,
                                             (unsigned long long) opslimit,
                                             (size_t) memlimit) == 0;
}

/**
 * drover_secret_key_new_from_data:
 * @text: the text of a minisign secret key file
 * @password: (nullable): its password; %NULL for a key made with
 *   `minisign -G -W` or `droverctl keygen -W`
 * @error: why the key cannot be opened
 *
 * Opening a key with a password runs scrypt with the cost stored in the
 * file, which is what minisign does: about 1 GiB of memory and a few
 * seconds. A wrong password is %DROVER_MINISIGN_ERROR_BAD_PASSWORD.
 *
 * Returns: (transfer full) (nullable): the key
 */
DroverSecretKey *
drover_secret_key_new_from_data (const char  *text,
                                 const char  *password,
                                 GError     **error)
{
  DroverSecretKey *key;
  g_auto(SecureBytes) bytes = NULL;
  g_auto(SecureBytes) checksum = NULL;
  g_auto(SecureBytes) derived_secret = NULL;
  guint8 derived_public[crypto_sign_PUBLICKEYBYTES];
  static const guint8 no_checksum[SK_CHECKSUM_BYTES] = { 0 };
  gboolean encrypted;

  g_return_val_if_fail (text != NULL, NULL);
  ensure_sodium ();

  bytes = sodium_malloc (SECRET_KEY_FILE_BYTES);
  if (!decode_secret_key (text, bytes, error))
    return NULL;

  encrypted = memcmp (bytes + SK_KDF_OFFSET, KDF_SCRYPT, 2) == 0;

  if (encrypted)
    {
      guint64 opslimit = load_le64 (bytes + SK_OPSLIMIT_OFFSET);
      guint64 memlimit = load_le64 (bytes + SK_MEMLIMIT_OFFSET);
      g_auto(SecureBytes) stream = NULL;

      if (password == NULL)
        {
          g_set_error_literal (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_BAD_PASSWORD,
                               _("This secret key is protected by a password, and none was given"));
          return NULL;
        }

      /* The cost comes from the file, as in minisign; a file that asks
       * for more than minisign ever stores would only make Drover hang. */
      if (opslimit > crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE ||
          memlimit > crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE ||
          memlimit > G_MAXSIZE)
        {
          g_set_error_literal (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_UNSUPPORTED,
                               _("This secret key asks for more password-hashing work than minisign ever uses"));
          return NULL;
        }

      stream = sodium_malloc (SK_ENCRYPTED_BYTES);
      if (!derive_stream (stream, password, bytes + SK_SALT_OFFSET, opslimit, memlimit))
        {
          g_set_error_literal (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_BAD_PASSWORD,
                               _("The key could not be derived from the password: not enough memory (scrypt needs up to 1 GiB)"));
          return NULL;
        }

      for (gsize i = 0; i < SK_ENCRYPTED_BYTES; i++)
        bytes[SK_KEY_ID_OFFSET + i] ^= stream[i];
    }

  checksum = sodium_malloc (SK_CHECKSUM_BYTES);
  compute_checksum (bytes + SK_KEY_ID_OFFSET, bytes + SK_SECRET_OFFSET, checksum);

  if (sodium_memcmp (checksum, bytes + SK_CHECKSUM_OFFSET, SK_CHECKSUM_BYTES) != 0)
    {
      /* minisign writes no checksum for a key without a password (0.11 to
       * this day), so all zeros is what such a key carries. */
      if (encrypted)
        {
          g_set_error_literal (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_BAD_PASSWORD,
                               _("Wrong password for this secret key"));
          return NULL;
        }
      else if (memcmp (bytes + SK_CHECKSUM_OFFSET, no_checksum, SK_CHECKSUM_BYTES) != 0)
        {
          g_set_error_literal (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID,
                               _("This secret key is damaged: its checksum does not match"));
          return NULL;
        }
    }

  /* An Ed25519 secret key is its seed followed by its public key; a key
   * whose halves disagree would make signatures nobody can check. */
  derived_secret = sodium_malloc (crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair (derived_public, derived_secret, bytes + SK_SECRET_OFFSET);
  if (sodium_memcmp (derived_secret, bytes + SK_SECRET_OFFSET, crypto_sign_SECRETKEYBYTES) != 0)
    {
      g_set_error_literal (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID,
                           _("This secret key is damaged: its public half does not belong to it"));
      return NULL;
    }

  key = secret_key_new ();
  memcpy (key->material->id, bytes + SK_KEY_ID_OFFSET, KEY_ID_BYTES);
  memcpy (key->material->key, bytes + SK_SECRET_OFFSET, crypto_sign_SECRETKEYBYTES);
  secret_key_seal (key);

  return key;
}

/**
 * drover_secret_key_new_from_file:
 * @path: a minisign secret key file
 * @password: (nullable): its password, %NULL for an unencrypted key
 * @error: why it cannot be read (a #GIOError) or opened
 *
 * Returns: (transfer full) (nullable): the key
 */
DroverSecretKey *
drover_secret_key_new_from_file (const char  *path,
                                 const char  *password,
                                 GError     **error)
{
  char *text;
  DroverSecretKey *key;

  g_return_val_if_fail (path != NULL, NULL);

  text = load_small_file (path, KEY_FILE_MAX, _("secret key"), error);
  if (text == NULL)
    return NULL;

  key = drover_secret_key_new_from_data (text, password, error);
  if (key == NULL)
    prefix_error_with_path (error, path);

  sodium_memzero (text, strlen (text));
  g_free (text);

  return key;
}

/**
 * drover_secret_key_to_data:
 * @key: a secret key
 * @password: (nullable): a password to protect it with; %NULL writes the
 *   key unencrypted, as `minisign -G -W` does
 *
 * Writes the key in minisign's format, which `minisign -S -s` reads.
 * With a password this runs scrypt at minisign's cost (1 GiB, a few
 * seconds), halving it only when the memory cannot be had, as minisign
 * does.
 *
 * Returns: (transfer full): the text of a secret key file; wipe it with
 *   sodium_memzero() or drover_secrets_free() when done
 */
char *
drover_secret_key_to_data (const DroverSecretKey *key,
                           const char            *password)
{
  g_auto(SecureBytes) bytes = NULL;
  char *base64;
  char *text;

  g_return_val_if_fail (key != NULL, NULL);

  bytes = sodium_malloc (SECRET_KEY_FILE_BYTES);
  sodium_memzero (bytes, SECRET_KEY_FILE_BYTES);

  memcpy (bytes, ALGORITHM_ED25519, 2);
  memcpy (bytes + SK_CHECKSUM_ALG_OFFSET, CHECKSUM_BLAKE2B, 2);
  memcpy (bytes + SK_KEY_ID_OFFSET, key->material->id, KEY_ID_BYTES);
  memcpy (bytes + SK_SECRET_OFFSET, key->material->key, crypto_sign_SECRETKEYBYTES);
  compute_checksum (bytes + SK_KEY_ID_OFFSET, bytes + SK_SECRET_OFFSET, bytes + SK_CHECKSUM_OFFSET);

  if (password != NULL)
    {
      guint64 opslimit = crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE;
      guint64 memlimit = crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE;
      g_auto(SecureBytes) stream = sodium_malloc (SK_ENCRYPTED_BYTES);

      memcpy (bytes + SK_KDF_OFFSET, KDF_SCRYPT, 2);
      randombytes_buf (bytes + SK_SALT_OFFSET, crypto_pwhash_scryptsalsa208sha256_SALTBYTES);

      while (!derive_stream (stream, password, bytes + SK_SALT_OFFSET, opslimit, memlimit))
        {
          opslimit /= 2;
          memlimit /= 2;
          if (opslimit < crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN ||
              memlimit < crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_MIN)
            g_error ("Not enough memory to protect a secret key with a password");
        }
      if (memlimit < crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE)
        g_warning ("Short of memory: the secret key's password hashing used %" G_GUINT64_FORMAT " MiB, not 1 GiB",
                   memlimit / (1024 * 1024));

      store_le64 (bytes + SK_OPSLIMIT_OFFSET, opslimit);
      store_le64 (bytes + SK_MEMLIMIT_OFFSET, memlimit);

      for (gsize i = 0; i < SK_ENCRYPTED_BYTES; i++)
        bytes[SK_KEY_ID_OFFSET + i] ^= stream[i];
    }

  base64 = encode_base64 (bytes, SECRET_KEY_FILE_BYTES);

  /* minisign calls every secret key "encrypted" in its comment, with or
   * without a password; say what this one is. */
  text = g_strdup_printf (COMMENT_PREFIX "%s\n%s\n",
                          password != NULL ? DEFAULT_SECRET_KEY_COMMENT : "minisign secret key, not encrypted",
                          base64);
  sodium_memzero (base64, strlen (base64));
  g_free (base64);

  return text;
}

/**
 * drover_secret_key_dup_id:
 * @key: a secret key
 *
 * Returns: (transfer full): the key id as 16 upper-case hex digits
 */
char *
drover_secret_key_dup_id (const DroverSecretKey *key)
{
  g_return_val_if_fail (key != NULL, NULL);

  return format_key_id (key->material->id);
}

/**
 * drover_secret_key_dup_public:
 * @key: a secret key
 *
 * Returns: (transfer full): its public key, with the same key id
 */
DroverPublicKey *
drover_secret_key_dup_public (const DroverSecretKey *key)
{
  DroverPublicKey *public_key;

  g_return_val_if_fail (key != NULL, NULL);

  public_key = g_new0 (DroverPublicKey, 1);
  memcpy (public_key->id, key->material->id, KEY_ID_BYTES);
  crypto_sign_ed25519_sk_to_pk (public_key->key, key->material->key);

  return public_key;
}

/**
 * drover_secret_key_free:
 *
 * Wipes the key from memory and frees it.
 */
void
drover_secret_key_free (DroverSecretKey *key)
{
  if (key == NULL)
    return;

  /* sodium_free() makes the pages writable again and zeroes them. */
  sodium_free (key->material);
  g_free (key);
}

static gboolean
check_comment (const char  *comment,
               gboolean     trusted,
               GError     **error)
{
  gsize length = strlen (comment);
  gsize max = trusted ? DROVER_MINISIGN_TRUSTED_COMMENT_MAX : DROVER_MINISIGN_UNTRUSTED_COMMENT_MAX;

  if (length > max)
    {
      g_set_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID,
                   trusted ? _("The trusted comment is %" G_GSIZE_FORMAT " bytes long; minisign reads at most %" G_GSIZE_FORMAT)
                           : _("The untrusted comment is %" G_GSIZE_FORMAT " bytes long; minisign reads at most %" G_GSIZE_FORMAT),
                   length, max);
      return FALSE;
    }

  if (!comment_is_printable (comment))
    {
      g_set_error_literal (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID,
                           trusted ? _("The trusted comment must be one line of text, without control characters")
                                   : _("The untrusted comment must be one line of text, without control characters"));
      return FALSE;
    }

  return TRUE;
}

/* The .minisig text for a file signature (over the 64-byte hash for
 * "ED") and the trusted comment. */
static char *
sign_message (const DroverSecretKey *key,
              const guint8          *message,
              gsize                  message_length,
              gboolean               prehashed,
              const char            *trusted_comment,
              const char            *untrusted_comment)
{
  guint8 signature[SIGNATURE_BYTES];
  guint8 global_signature[crypto_sign_BYTES];
  gsize comment_length = strlen (trusted_comment);
  g_autofree guint8 *signed_comment = g_malloc (crypto_sign_BYTES + comment_length);
  g_autofree char *signature_base64 = NULL;
  g_autofree char *global_base64 = NULL;

  memcpy (signature, prehashed ? ALGORITHM_PREHASHED : ALGORITHM_ED25519, 2);
  memcpy (signature + 2, key->material->id, KEY_ID_BYTES);
  crypto_sign_detached (signature + 2 + KEY_ID_BYTES, NULL, message, message_length, key->material->key);

  memcpy (signed_comment, signature + 2 + KEY_ID_BYTES, crypto_sign_BYTES);
  memcpy (signed_comment + crypto_sign_BYTES, trusted_comment, comment_length);
  crypto_sign_detached (global_signature, NULL, signed_comment, crypto_sign_BYTES + comment_length,
                        key->material->key);

  signature_base64 = encode_base64 (signature, sizeof signature);
  global_base64 = encode_base64 (global_signature, sizeof global_signature);

  return g_strdup_printf (COMMENT_PREFIX "%s\n%s\n" TRUSTED_COMMENT_PREFIX "%s\n%s\n",
                          untrusted_comment != NULL ? untrusted_comment : DEFAULT_SIGNATURE_COMMENT,
                          signature_base64, trusted_comment, global_base64);
}

/**
 * drover_minisign_hash_stream:
 * @stream: what to hash, read to its end 1 MiB at a time
 * @hash: (out caller-allocates) (array fixed-size=64): BLAKE2b-512 of it
 * @cancellable: (nullable): to stop early
 * @error: a read error
 *
 * The prehash of minisign's "ED" signatures, without loading the file.
 *
 * Returns: %TRUE when @hash is set
 */
gboolean
drover_minisign_hash_stream (GInputStream  *stream,
                             guint8         hash[64],
                             GCancellable  *cancellable,
                             GError       **error)
{
  crypto_generichash_state state;
  g_autofree guint8 *buffer = NULL;

  g_return_val_if_fail (G_IS_INPUT_STREAM (stream), FALSE);
  g_return_val_if_fail (hash != NULL, FALSE);
  ensure_sodium ();

  buffer = g_malloc (HASH_READ_SIZE);
  crypto_generichash_init (&state, NULL, 0, HASH_BYTES);

  for (;;)
    {
      gssize length = g_input_stream_read (stream, buffer, HASH_READ_SIZE, cancellable, error);

      if (length < 0)
        return FALSE;
      if (length == 0)
        break;
      crypto_generichash_update (&state, buffer, (gsize) length);
    }

  crypto_generichash_final (&state, hash, HASH_BYTES);
  return TRUE;
}

/**
 * drover_minisign_sign_bytes:
 * @key: the signer's secret key
 * @content: what to sign
 * @trusted_comment: one line of text, signed too (Drover's job manifest)
 * @untrusted_comment: (nullable): the first line, not signed; %NULL for
 *   minisign's default
 * @error: a comment minisign could not read
 *
 * Signs @content as `minisign -S` does: algorithm "ED", Ed25519 over the
 * BLAKE2b-512 of the content.
 *
 * Returns: (transfer full) (nullable): the text of the .minisig file
 */
char *
drover_minisign_sign_bytes (const DroverSecretKey  *key,
                            GBytes                 *content,
                            const char             *trusted_comment,
                            const char             *untrusted_comment,
                            GError                **error)
{
  guint8 hash[HASH_BYTES];
  gsize length = 0;
  const guint8 *data;

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (content != NULL, NULL);
  g_return_val_if_fail (trusted_comment != NULL, NULL);

  if (!check_comment (trusted_comment, TRUE, error) ||
      (untrusted_comment != NULL && !check_comment (untrusted_comment, FALSE, error)))
    return NULL;

  data = g_bytes_get_data (content, &length);
  crypto_generichash (hash, sizeof hash, data, length, NULL, 0);

  return sign_message (key, hash, sizeof hash, TRUE, trusted_comment, untrusted_comment);
}

/**
 * drover_minisign_sign_file:
 * @key: the signer's secret key
 * @path: the file to sign, read 1 MiB at a time
 * @trusted_comment: one line of text, signed too (Drover's job manifest)
 * @untrusted_comment: (nullable): the first line, not signed
 * @cancellable: (nullable): to stop early
 * @error: a read error (#GIOError) or a comment minisign could not read
 *
 * Signs a file as `minisign -S -m @path -t @trusted_comment` does. The
 * caller writes the text where it wants it, usually `@path.minisig`.
 *
 * Returns: (transfer full) (nullable): the text of the .minisig file
 */
char *
drover_minisign_sign_file (const DroverSecretKey  *key,
                           const char             *path,
                           const char             *trusted_comment,
                           const char             *untrusted_comment,
                           GCancellable           *cancellable,
                           GError                **error)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFileInputStream) stream = NULL;
  guint8 hash[HASH_BYTES];

  g_return_val_if_fail (key != NULL, NULL);
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (trusted_comment != NULL, NULL);

  if (!check_comment (trusted_comment, TRUE, error) ||
      (untrusted_comment != NULL && !check_comment (untrusted_comment, FALSE, error)))
    return NULL;

  file = g_file_new_for_path (path);
  stream = g_file_read (file, cancellable, error);
  if (stream == NULL)
    return NULL;

  if (!drover_minisign_hash_stream (G_INPUT_STREAM (stream), hash, cancellable, error))
    return NULL;

  return sign_message (key, hash, sizeof hash, TRUE, trusted_comment, untrusted_comment);
}

static gboolean
signature_invalid (GError     **error,
                   const char  *reason)
{
  g_set_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_INVALID,
               _("This is not a minisign signature: %s"), reason);
  return FALSE;
}

/**
 * drover_signature_new_from_data:
 * @text: the text of a .minisig file
 * @error: why it is not a signature Drover can check
 *
 * Reads a signature in the form minisign writes: an untrusted comment, the
 * signature, the trusted comment and the global signature, one a line.
 * Nothing is verified yet; the trusted comment is not to be believed
 * before drover_signature_verify_hash() says so.
 *
 * Returns: (transfer full) (nullable): the signature
 */
DroverSignature *
drover_signature_new_from_data (const char  *text,
                                GError     **error)
{
  g_auto(GStrv) lines = NULL;
  g_autoptr(DroverSignature) signature = NULL;
  guint8 bytes[SIGNATURE_BYTES];
  gsize length;
  guint count;
  const char *comment;

  g_return_val_if_fail (text != NULL, NULL);
  ensure_sodium ();

  if (strlen (text) > DROVER_MINISIGN_SIGNATURE_FILE_MAX)
    {
      signature_invalid (error, _("it is far longer than any signature file"));
      return NULL;
    }

  lines = split_lines (text);
  count = g_strv_length (lines);

  if (count == 0)
    {
      signature_invalid (error, _("it is empty"));
      return NULL;
    }
  if (!g_str_has_prefix (lines[0], COMMENT_PREFIX))
    {
      signature_invalid (error, _("its first line does not start with “untrusted comment: ”"));
      return NULL;
    }
  if (count < 4)
    {
      signature_invalid (error, _("it is cut short: a signature file has four lines"));
      return NULL;
    }
  if (count > 4)
    {
      signature_invalid (error, _("it has more than the four lines of a signature file"));
      return NULL;
    }
  if (!g_str_has_prefix (lines[2], TRUSTED_COMMENT_PREFIX))
    {
      signature_invalid (error, _("its third line does not start with “trusted comment: ”"));
      return NULL;
    }

  if (!decode_base64 (g_strstrip (lines[1]), bytes, sizeof bytes, &length))
    {
      if (base64_decoded_length (lines[1]) == PUBLIC_KEY_BYTES)
        signature_invalid (error, _("its second line is a public key"));
      else
        signature_invalid (error, _("its second line is not base64 of a signature"));
      return NULL;
    }

  signature = g_new0 (DroverSignature, 1);

  if (memcmp (bytes, ALGORITHM_PREHASHED, 2) == 0)
    signature->prehashed = TRUE;
  else if (memcmp (bytes, ALGORITHM_ED25519, 2) == 0)
    signature->prehashed = FALSE;
  else
    {
      g_set_error_literal (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_UNSUPPORTED,
                           _("This signature uses an algorithm minisign does not have (neither “ED” nor “Ed”)"));
      return NULL;
    }

  memcpy (signature->key_id, bytes + 2, KEY_ID_BYTES);
  memcpy (signature->signature, bytes + 2 + KEY_ID_BYTES, crypto_sign_BYTES);

  if (!decode_base64 (g_strstrip (lines[3]), signature->global_signature, crypto_sign_BYTES, &length))
    {
      signature_invalid (error, _("its fourth line is not base64 of the comment’s signature"));
      return NULL;
    }

  /* The comment is taken byte for byte as minisign takes it: everything
   * after the prefix, spaces included. */
  comment = lines[2] + strlen (TRUSTED_COMMENT_PREFIX);
  if (strlen (comment) > DROVER_MINISIGN_TRUSTED_COMMENT_MAX)
    {
      signature_invalid (error, _("its trusted comment is longer than minisign reads"));
      return NULL;
    }
  if (!comment_is_printable (comment))
    {
      signature_invalid (error, _("its trusted comment holds control characters or is not UTF-8"));
      return NULL;
    }

  signature->trusted_comment = g_strdup (comment);
  signature->untrusted_comment = g_utf8_make_valid (lines[0] + strlen (COMMENT_PREFIX), -1);

  return g_steal_pointer (&signature);
}

/**
 * drover_signature_new_from_file:
 * @path: a .minisig file
 * @error: why it cannot be read (a #GIOError) or is not a signature
 *
 * Refuses a file larger than %DROVER_MINISIGN_SIGNATURE_FILE_MAX before
 * reading it.
 *
 * Returns: (transfer full) (nullable): the signature
 */
DroverSignature *
drover_signature_new_from_file (const char  *path,
                                GError     **error)
{
  g_autofree char *text = NULL;
  DroverSignature *signature;

  g_return_val_if_fail (path != NULL, NULL);

  text = load_small_file (path, DROVER_MINISIGN_SIGNATURE_FILE_MAX, _("signature"), error);
  if (text == NULL)
    return NULL;

  signature = drover_signature_new_from_data (text, error);
  if (signature == NULL)
    prefix_error_with_path (error, path);

  return signature;
}

/**
 * drover_signature_get_trusted_comment:
 *
 * Returns: the trusted comment, believable only once the signature is
 *   verified
 */
const char *
drover_signature_get_trusted_comment (const DroverSignature *signature)
{
  g_return_val_if_fail (signature != NULL, NULL);

  return signature->trusted_comment;
}

/**
 * drover_signature_get_untrusted_comment:
 *
 * Returns: the untrusted comment, which nobody signed
 */
const char *
drover_signature_get_untrusted_comment (const DroverSignature *signature)
{
  g_return_val_if_fail (signature != NULL, NULL);

  return signature->untrusted_comment;
}

/**
 * drover_signature_dup_key_id:
 *
 * Returns: (transfer full): the id of the key the signature claims, as 16
 *   upper-case hex digits; which key to check it with
 */
char *
drover_signature_dup_key_id (const DroverSignature *signature)
{
  g_return_val_if_fail (signature != NULL, NULL);

  return format_key_id (signature->key_id);
}

/**
 * drover_signature_get_prehashed:
 *
 * Returns: %TRUE for an "ED" signature (over the file's BLAKE2b-512, what
 *   minisign makes by default), %FALSE for a legacy "Ed" one (`minisign -l`)
 */
gboolean
drover_signature_get_prehashed (const DroverSignature *signature)
{
  g_return_val_if_fail (signature != NULL, FALSE);

  return signature->prehashed;
}

static gboolean
check_key_id (const DroverSignature  *signature,
              const DroverPublicKey  *key,
              GError                **error)
{
  g_autofree char *signature_id = NULL;
  g_autofree char *key_id = NULL;

  if (memcmp (signature->key_id, key->id, KEY_ID_BYTES) == 0)
    return TRUE;

  signature_id = format_key_id (signature->key_id);
  key_id = format_key_id (key->id);
  g_set_error (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_WRONG_KEY,
               _("The signature was made with key %s, not with key %s"), signature_id, key_id);
  return FALSE;
}

/* The global signature: over the file signature and the trusted comment,
 * so that neither can be swapped for another's. */
static gboolean
check_trusted_comment (const DroverSignature  *signature,
                       const DroverPublicKey  *key,
                       GError                **error)
{
  gsize comment_length = strlen (signature->trusted_comment);
  g_autofree guint8 *signed_comment = g_malloc (crypto_sign_BYTES + comment_length);

  memcpy (signed_comment, signature->signature, crypto_sign_BYTES);
  memcpy (signed_comment + crypto_sign_BYTES, signature->trusted_comment, comment_length);

  if (crypto_sign_verify_detached (signature->global_signature, signed_comment,
                                   crypto_sign_BYTES + comment_length, key->key) != 0)
    {
      g_set_error_literal (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_BAD_SIGNATURE,
                           _("The trusted comment does not match its signature: it was changed after signing"));
      return FALSE;
    }

  return TRUE;
}

static gboolean
check_message (const DroverSignature  *signature,
               const DroverPublicKey  *key,
               const guint8           *message,
               gsize                   length,
               GError                **error)
{
  if (crypto_sign_verify_detached (signature->signature, message, length, key->key) != 0)
    {
      g_set_error_literal (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_BAD_SIGNATURE,
                           _("The file does not match its signature: it was changed after signing, or the signature is for another file"));
      return FALSE;
    }

  return TRUE;
}

static gboolean
refuse_legacy (GError **error)
{
  g_set_error_literal (error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_UNSUPPORTED,
                       _("This is a legacy minisign signature (“Ed”, made with minisign -l), over the whole file rather than its hash; sign the file again without -l"));
  return FALSE;
}

/**
 * drover_signature_verify_hash:
 * @signature: a prehashed ("ED") signature
 * @key: the public key to check it with
 * @hash: (array fixed-size=64): BLAKE2b-512 of the file, from
 *   drover_minisign_hash_stream()
 * @error: which check failed, in words
 *
 * Checks, in minisign's order, that the signature names @key's id
 * (%DROVER_MINISIGN_ERROR_WRONG_KEY), that it signs @hash, and that the
 * trusted comment is the one signed (both
 * %DROVER_MINISIGN_ERROR_BAD_SIGNATURE, the message saying which). A
 * legacy "Ed" signature signs the whole file, not its hash:
 * %DROVER_MINISIGN_ERROR_UNSUPPORTED here, see
 * drover_signature_verify_bytes().
 *
 * Returns: %TRUE when the file and the trusted comment are what @key signed
 */
gboolean
drover_signature_verify_hash (const DroverSignature  *signature,
                              const DroverPublicKey  *key,
                              const guint8            hash[64],
                              GError                **error)
{
  g_return_val_if_fail (signature != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (hash != NULL, FALSE);
  ensure_sodium ();

  if (!signature->prehashed)
    return refuse_legacy (error);

  return check_key_id (signature, key, error) &&
         check_message (signature, key, hash, HASH_BYTES, error) &&
         check_trusted_comment (signature, key, error);
}

/**
 * drover_signature_verify_bytes:
 * @signature: a signature, prehashed or legacy
 * @key: the public key to check it with
 * @content: the signed content
 * @error: which check failed, in words
 *
 * As drover_signature_verify_hash(), for content in memory; legacy "Ed"
 * signatures (over the content itself) are checked too, as minisign -V
 * without -H does.
 *
 * Returns: %TRUE when @content and the trusted comment are what @key signed
 */
gboolean
drover_signature_verify_bytes (const DroverSignature  *signature,
                               const DroverPublicKey  *key,
                               GBytes                 *content,
                               GError                **error)
{
  const guint8 *data;
  gsize length = 0;

  g_return_val_if_fail (signature != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (content != NULL, FALSE);
  ensure_sodium ();

  data = g_bytes_get_data (content, &length);

  if (signature->prehashed)
    {
      guint8 hash[HASH_BYTES];

      crypto_generichash (hash, sizeof hash, data, length, NULL, 0);
      return drover_signature_verify_hash (signature, key, hash, error);
    }

  return check_key_id (signature, key, error) &&
         check_message (signature, key, data, length, error) &&
         check_trusted_comment (signature, key, error);
}

/**
 * drover_signature_verify_file:
 * @signature: a prehashed ("ED") signature
 * @key: the public key to check it with
 * @path: the signed file, read 1 MiB at a time
 * @cancellable: (nullable): to stop early
 * @error: a read error (#GIOError), or which check failed
 *
 * drover_minisign_hash_stream() and drover_signature_verify_hash() in one.
 * A legacy signature is refused: checking it would need the whole file in
 * memory.
 *
 * Returns: %TRUE when the file and the trusted comment are what @key signed
 */
gboolean
drover_signature_verify_file (const DroverSignature  *signature,
                              const DroverPublicKey  *key,
                              const char             *path,
                              GCancellable           *cancellable,
                              GError                **error)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFileInputStream) stream = NULL;
  guint8 hash[HASH_BYTES];

  g_return_val_if_fail (signature != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  /* Refused before the file is read, which may be large. */
  if (!signature->prehashed)
    return refuse_legacy (error);

  file = g_file_new_for_path (path);
  stream = g_file_read (file, cancellable, error);
  if (stream == NULL)
    return FALSE;

  if (!drover_minisign_hash_stream (G_INPUT_STREAM (stream), hash, cancellable, error))
    return FALSE;

  return drover_signature_verify_hash (signature, key, hash, error);
}

/**
 * drover_signature_free:
 */
void
drover_signature_free (DroverSignature *signature)
{
  if (signature == NULL)
    return;

  g_free (signature->trusted_comment);
  g_free (signature->untrusted_comment);
  g_free (signature);
}
