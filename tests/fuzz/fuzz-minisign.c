/* fuzz-minisign.c: minisign public keys, secret keys and signatures
 *
 * The input is the text of a file (up to its first NUL byte, as the
 * *_from_file() functions refuse NULs), read as each of the three kinds in
 * turn, as key id text too, and each result is held to drover-minisign.h:
 *
 *  - a public key that parses writes itself out and reads back as the same
 *    key, its id is 16 upper-case hex digits, and it verifies the fixed
 *    signature below only if it is the fixed key;
 *  - a secret key that parses has a public half that verifies what the
 *    key signs, writes itself out (without a password) and reads back as
 *    the same key; a key with a password is opened with the password
 *    "fuzz" only when its stored scrypt cost is minisign's minimum (a few
 *    milliseconds): a real cost is 1 GiB and seconds for each input. The
 *    parser's own refusal of costs above minisign's is exercised for all;
 *  - a signature that parses has a printable UTF-8 trusted comment within
 *    minisign's limit, and verifies against the fixed key and content only
 *    if it names the fixed key; a verified one fails for other content;
 *  - a refusal is an error of DROVER_MINISIGN_ERROR with a code the
 *    header names, and a message in UTF-8.
 *
 * The fixed key is made from a constant seed. `fuzz-minisign-replay
 * --make-seeds DIR` writes seeds signed with it (see README.md).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <sodium.h>

#include "drover-minisign.h"

#ifdef DROVER_FUZZ_STANDALONE
# define FUZZ_MAKE_SEEDS 1
static int fuzz_make_seeds (const char *dir);
#endif

#include "fuzz-common.h"

#define KEY_ID_BYTES       8
#define SECRET_KEY_BYTES   158
#define SK_KDF_OFFSET      2
#define SK_SALT_OFFSET     6
#define SK_OPSLIMIT_OFFSET 38
#define SK_MEMLIMIT_OFFSET 46
#define SK_KEY_ID_OFFSET   54
#define SK_SECRET_OFFSET   62
#define SK_CHECKSUM_OFFSET 126
#define PASSWORD           "fuzz"

/* The fixed key: id "drover!\x01", which minisign prints 01217265766F7264. */
static const guint8 fixed_id[KEY_ID_BYTES] = { 'd', 'r', 'o', 'v', 'e', 'r', '!', 0x01 };
static const guint8 fixed_seed[crypto_sign_SEEDBYTES] = "drover fuzz-minisign fixed seed";
static const char fixed_content[] = "G28\nG1 Z0.2 F720\nG1 X60 E9 F1000\n";

static struct
{
  guint8           public_key[crypto_sign_PUBLICKEYBYTES];
  guint8           secret_key[crypto_sign_SECRETKEYBYTES];
  DroverPublicKey *key;
  DroverPublicKey *other_key;
  DroverSignature *signature;
  GBytes          *content;
  GBytes          *other_content;
} fixed;

static char *
base64 (const guint8 *bytes,
        gsize         length)
{
  gsize size = sodium_base64_ENCODED_LEN (length, sodium_base64_VARIANT_ORIGINAL);
  char *text = g_malloc (size);

  sodium_bin2base64 (text, size, bytes, length, sodium_base64_VARIANT_ORIGINAL);
  return text;
}

static char *
public_key_text (const guint8 id[KEY_ID_BYTES],
                 const guint8 public_key[crypto_sign_PUBLICKEYBYTES])
{
  guint8 bytes[2 + KEY_ID_BYTES + crypto_sign_PUBLICKEYBYTES];
  g_autofree char *line = NULL;

  memcpy (bytes, "Ed", 2);
  memcpy (bytes + 2, id, KEY_ID_BYTES);
  memcpy (bytes + 2 + KEY_ID_BYTES, public_key, crypto_sign_PUBLICKEYBYTES);
  line = base64 (bytes, sizeof bytes);
  return g_strdup_printf ("untrusted comment: minisign public key of fuzz-minisign\n%s\n", line);
}

/* A signature file, prehashed ("ED") or legacy ("Ed"), by the fixed key. */
static char *
signature_text (const char *content,
                gsize       length,
                gboolean    prehashed,
                const char *trusted_comment)
{
  guint8 bytes[2 + KEY_ID_BYTES + crypto_sign_BYTES];
  guint8 hash[crypto_generichash_BYTES_MAX];
  guint8 global[crypto_sign_BYTES];
  gsize comment_length = strlen (trusted_comment);
  g_autofree guint8 *signed_comment = g_malloc (crypto_sign_BYTES + comment_length);
  g_autofree char *line = NULL;
  g_autofree char *global_line = NULL;

  memcpy (bytes, prehashed ? "ED" : "Ed", 2);
  memcpy (bytes + 2, fixed_id, KEY_ID_BYTES);
  if (prehashed)
    {
      crypto_generichash (hash, sizeof hash, (const guint8 *) content, length, NULL, 0);
      crypto_sign_detached (bytes + 2 + KEY_ID_BYTES, NULL, hash, sizeof hash, fixed.secret_key);
    }
  else
    crypto_sign_detached (bytes + 2 + KEY_ID_BYTES, NULL, (const guint8 *) content, length, fixed.secret_key);
  memcpy (signed_comment, bytes + 2 + KEY_ID_BYTES, crypto_sign_BYTES);
  memcpy (signed_comment + crypto_sign_BYTES, trusted_comment, comment_length);
  crypto_sign_detached (global, NULL, signed_comment, crypto_sign_BYTES + comment_length, fixed.secret_key);

  line = base64 (bytes, sizeof bytes);
  global_line = base64 (global, sizeof global);
  return g_strdup_printf ("untrusted comment: signature from minisign secret key\n%s\ntrusted comment: %s\n%s\n",
                          line, trusted_comment, global_line);
}

static void
fixed_init (void)
{
  g_autofree char *text = NULL;
  g_autofree char *other_text = NULL;
  g_autofree char *signature = NULL;
  guint8 other_id[KEY_ID_BYTES];

  if (fixed.key != NULL)
    return;
  if (sodium_init () < 0)
    abort ();

  crypto_sign_seed_keypair (fixed.public_key, fixed.secret_key, fixed_seed);
  text = public_key_text (fixed_id, fixed.public_key);
  fixed.key = drover_public_key_new_from_data (text, NULL);
  /* The same key under another id. */
  memcpy (other_id, fixed_id, sizeof other_id);
  other_id[7] ^= 0xff;
  other_text = public_key_text (other_id, fixed.public_key);
  fixed.other_key = drover_public_key_new_from_data (other_text, NULL);
  fixed.content = g_bytes_new_static (fixed_content, strlen (fixed_content));
  fixed.other_content = g_bytes_new_static (fixed_content, strlen (fixed_content) - 1);
  signature = signature_text (fixed_content, strlen (fixed_content), TRUE, "fixed");
  fixed.signature = drover_signature_new_from_data (signature, NULL);
  if (fixed.key == NULL || fixed.other_key == NULL || fixed.signature == NULL ||
      !drover_signature_verify_bytes (fixed.signature, fixed.key, fixed.content, NULL))
    abort ();
}

static gboolean
is_key_id (const char *id)
{
  if (id == NULL || strlen (id) != 16)
    return FALSE;
  for (const char *p = id; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p) && !(*p >= 'A' && *p <= 'F'))
      return FALSE;
  return TRUE;
}

static void
check_error (const GError *error,
             gboolean      password_codes)
{
  FUZZ_CHECK (error != NULL && error->domain == DROVER_MINISIGN_ERROR);
  if (password_codes)
    FUZZ_CHECK (error->code == DROVER_MINISIGN_ERROR_INVALID || error->code == DROVER_MINISIGN_ERROR_UNSUPPORTED ||
                error->code == DROVER_MINISIGN_ERROR_BAD_PASSWORD);
  else
    FUZZ_CHECK (error->code == DROVER_MINISIGN_ERROR_INVALID || error->code == DROVER_MINISIGN_ERROR_UNSUPPORTED);
  FUZZ_CHECK (error->message != NULL && fuzz_is_text (error->message, 0));
}

static void
fuzz_key_id (const char *text)
{
  g_autofree char *id = drover_minisign_normalize_key_id (text);
  gsize length = strlen (text);

  if (id != NULL)
    FUZZ_CHECK (is_key_id (id) && length >= 1 && length <= 16);
  else
    FUZZ_CHECK (length == 0 || length > 16 || strspn (text, "0123456789abcdefABCDEF") != length);
}

static void
fuzz_public_key (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverPublicKey) key = drover_public_key_new_from_data (text, &error);
  g_autoptr(DroverPublicKey) again = NULL;
  g_autoptr(DroverPublicKey) from_base64 = NULL;
  g_autoptr(DroverPublicKey) copy = NULL;
  g_autofree char *id = NULL;
  g_autofree char *data = NULL;
  g_autofree char *line = NULL;
  g_autoptr(GError) verify_error = NULL;
  gboolean verified;

  if (key == NULL)
    {
      check_error (error, FALSE);
      return;
    }
  FUZZ_CHECK (error == NULL);

  id = drover_public_key_dup_id (key);
  FUZZ_CHECK (is_key_id (id));

  data = drover_public_key_to_data (key);
  again = drover_public_key_new_from_data (data, NULL);
  FUZZ_CHECK (again != NULL && drover_public_key_equal (key, again));
  line = drover_public_key_dup_base64 (key);
  from_base64 = drover_public_key_new_from_data (line, NULL);
  FUZZ_CHECK (from_base64 != NULL && drover_public_key_equal (key, from_base64));
  copy = drover_public_key_copy (key);
  FUZZ_CHECK (drover_public_key_equal (key, copy));

  verified = drover_signature_verify_bytes (fixed.signature, key, fixed.content, &verify_error);
  FUZZ_CHECK (verified == drover_public_key_equal (key, fixed.key));
  if (!verified)
    FUZZ_CHECK (g_error_matches (verify_error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_WRONG_KEY) ||
                g_error_matches (verify_error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_BAD_SIGNATURE));
}

/* Whether the key's stored scrypt cost is the least there is: then
 * opening it costs milliseconds, and it is opened with the password. */
static gboolean
is_cheap_encrypted_key (const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      guint8 bytes[SECRET_KEY_BYTES];
      gsize length = 0;
      guint64 opslimit = 0;

      g_strstrip (lines[i]);
      if (sodium_base642bin (bytes, sizeof bytes, lines[i], strlen (lines[i]), NULL, &length, NULL,
                             sodium_base64_VARIANT_ORIGINAL) != 0 || length != sizeof bytes ||
          memcmp (bytes + SK_KDF_OFFSET, "Sc", 2) != 0)
        continue;
      for (int b = 7; b >= 0; b--)
        opslimit = (opslimit << 8) | bytes[SK_OPSLIMIT_OFFSET + b];
      /* libsodium raises a smaller cost to this minimum. */
      return opslimit <= crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN;
    }

  return FALSE;
}

static void
fuzz_secret_key (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) encrypted_error = NULL;
  g_autoptr(DroverSecretKey) key = NULL;
  g_autoptr(DroverSecretKey) again = NULL;
  g_autoptr(DroverPublicKey) public_key = NULL;
  g_autoptr(DroverPublicKey) public_again = NULL;
  g_autoptr(DroverSignature) signature = NULL;
  g_autoptr(GError) sign_error = NULL;
  g_autofree char *id = NULL;
  g_autofree char *id_again = NULL;
  g_autofree char *signature_id = NULL;
  g_autofree char *signed_text = NULL;
  char *data = NULL;
  gboolean encrypted = FALSE;
  gboolean readable;
  const char *password = NULL;

  readable = drover_secret_key_get_encrypted_from_data (text, &encrypted, &encrypted_error);
  if (!readable)
    check_error (encrypted_error, FALSE);

  if (readable && encrypted && is_cheap_encrypted_key (text))
    password = PASSWORD;
  key = drover_secret_key_new_from_data (text, password, &error);

  if (key == NULL)
    {
      check_error (error, TRUE);
      /* Without a password an encrypted key says that it needs one. */
      if (readable && encrypted && password == NULL)
        FUZZ_CHECK (error->code == DROVER_MINISIGN_ERROR_BAD_PASSWORD);
      return;
    }
  FUZZ_CHECK (readable && error == NULL);

  id = drover_secret_key_dup_id (key);
  FUZZ_CHECK (is_key_id (id));

  /* What it signs, its public half verifies. */
  public_key = drover_secret_key_dup_public (key);
  signed_text = drover_minisign_sign_bytes (key, fixed.content, "fuzz", NULL, &sign_error);
  FUZZ_CHECK (signed_text != NULL);
  signature = drover_signature_new_from_data (signed_text, NULL);
  FUZZ_CHECK (signature != NULL);
  signature_id = drover_signature_dup_key_id (signature);
  FUZZ_CHECK (g_str_equal (signature_id, id));
  FUZZ_CHECK (drover_signature_verify_bytes (signature, public_key, fixed.content, NULL));
  FUZZ_CHECK (!drover_signature_verify_bytes (signature, public_key, fixed.other_content, NULL));

  /* Written out without a password, it reads back as itself. */
  data = drover_secret_key_to_data (key, NULL);
  again = drover_secret_key_new_from_data (data, NULL, NULL);
  sodium_memzero (data, strlen (data));
  g_free (data);
  FUZZ_CHECK (again != NULL);
  id_again = drover_secret_key_dup_id (again);
  public_again = drover_secret_key_dup_public (again);
  FUZZ_CHECK (g_str_equal (id, id_again) && drover_public_key_equal (public_key, public_again));
}

static gboolean
is_printable (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if (((guchar) *p < 0x20 && *p != '\t') || *p == 0x7f)
      return FALSE;
  return TRUE;
}

static void
fuzz_signature (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) verify_error = NULL;
  g_autoptr(GError) hash_error = NULL;
  g_autoptr(DroverSignature) signature = drover_signature_new_from_data (text, &error);
  g_autofree char *id = NULL;
  g_autofree char *fixed_id_text = NULL;
  const char *comment;
  guint8 hash[64];
  gboolean verified;
  gboolean hash_verified;

  if (signature == NULL)
    {
      check_error (error, FALSE);
      return;
    }
  FUZZ_CHECK (error == NULL);
  FUZZ_CHECK (strlen (text) <= DROVER_MINISIGN_SIGNATURE_FILE_MAX);

  comment = drover_signature_get_trusted_comment (signature);
  FUZZ_CHECK (fuzz_is_text (comment, DROVER_MINISIGN_TRUSTED_COMMENT_MAX) && is_printable (comment));
  FUZZ_CHECK (fuzz_is_text (drover_signature_get_untrusted_comment (signature), 0));
  id = drover_signature_dup_key_id (signature);
  FUZZ_CHECK (is_key_id (id));
  fixed_id_text = drover_public_key_dup_id (fixed.key);

  verified = drover_signature_verify_bytes (signature, fixed.key, fixed.content, &verify_error);
  if (!g_str_equal (id, fixed_id_text))
    FUZZ_CHECK (!verified && g_error_matches (verify_error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_WRONG_KEY));
  else if (!verified)
    FUZZ_CHECK (g_error_matches (verify_error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_BAD_SIGNATURE));
  if (verified)
    {
      FUZZ_CHECK (!drover_signature_verify_bytes (signature, fixed.key, fixed.other_content, NULL));
      FUZZ_CHECK (!drover_signature_verify_bytes (signature, fixed.other_key, fixed.content, NULL));
    }

  /* By hash: the same answer for a prehashed signature; a legacy one is
   * refused as such. */
  crypto_generichash (hash, sizeof hash, (const guint8 *) fixed_content, strlen (fixed_content), NULL, 0);
  hash_verified = drover_signature_verify_hash (signature, fixed.key, hash, &hash_error);
  if (drover_signature_get_prehashed (signature))
    FUZZ_CHECK (hash_verified == verified);
  else
    FUZZ_CHECK (!hash_verified &&
                g_error_matches (hash_error, DROVER_MINISIGN_ERROR, DROVER_MINISIGN_ERROR_UNSUPPORTED));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = fuzz_strndup (data, size);

  fixed_init ();
  fuzz_key_id (text);
  fuzz_public_key (text);
  fuzz_secret_key (text);
  fuzz_signature (text);
  return 0;
}

#ifdef FUZZ_MAKE_SEEDS
static gboolean
write_seed (const char *dir,
            const char *name,
            const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  if (!g_file_set_contents (path, text, -1, &error))
    {
      g_printerr ("%s\n", error->message);
      return FALSE;
    }
  return TRUE;
}

/* A secret key file of the fixed key: without a password, its checksum
 * as Drover writes it or all zeros as minisign -W does; or with the
 * password "fuzz" at the least scrypt cost. */
static char *
secret_key_text (gboolean with_checksum,
                 gboolean with_password)
{
  guint8 bytes[SECRET_KEY_BYTES] = { 0 };
  crypto_generichash_state state;
  g_autofree char *line = NULL;

  memcpy (bytes, "Ed", 2);
  memcpy (bytes + 4, "B2", 2);
  memcpy (bytes + SK_KEY_ID_OFFSET, fixed_id, KEY_ID_BYTES);
  memcpy (bytes + SK_SECRET_OFFSET, fixed.secret_key, crypto_sign_SECRETKEYBYTES);
  if (with_checksum || with_password)
    {
      crypto_generichash_init (&state, NULL, 0, 32);
      crypto_generichash_update (&state, (const guint8 *) "Ed", 2);
      crypto_generichash_update (&state, fixed_id, KEY_ID_BYTES);
      crypto_generichash_update (&state, fixed.secret_key, crypto_sign_SECRETKEYBYTES);
      crypto_generichash_final (&state, bytes + SK_CHECKSUM_OFFSET, 32);
    }
  if (with_password)
    {
      guint64 opslimit = crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN;
      guint64 memlimit = crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_MIN;
      guint8 stream[SECRET_KEY_BYTES - SK_KEY_ID_OFFSET];

      memcpy (bytes + SK_KDF_OFFSET, "Sc", 2);
      memset (bytes + SK_SALT_OFFSET, 0x5a, 32);
      for (int i = 0; i < 8; i++)
        {
          bytes[SK_OPSLIMIT_OFFSET + i] = (opslimit >> (8 * i)) & 0xff;
          bytes[SK_MEMLIMIT_OFFSET + i] = (memlimit >> (8 * i)) & 0xff;
        }
      if (crypto_pwhash_scryptsalsa208sha256 (stream, sizeof stream, PASSWORD, strlen (PASSWORD),
                                              bytes + SK_SALT_OFFSET, opslimit, memlimit) != 0)
        abort ();
      for (gsize i = 0; i < sizeof stream; i++)
        bytes[SK_KEY_ID_OFFSET + i] ^= stream[i];
    }
  line = base64 (bytes, sizeof bytes);
  return g_strdup_printf ("untrusted comment: %s\n%s\n",
                          with_password ? "minisign encrypted secret key" : "minisign secret key, not encrypted",
                          line);
}

static int
fuzz_make_seeds (const char *dir)
{
  static const char manifest[] =
    "{\"drover\":1,\"job\":\"3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f\",\"printers\":[\"farm/p-042\"],"
    "\"not_before\":\"2026-11-25T10:00:00Z\",\"not_after\":\"2026-11-25T18:00:00Z\",\"max_hotend\":260,\"max_bed\":110}";
  g_autofree char *public_text = NULL;
  g_autofree char *secret_plain = NULL;
  g_autofree char *secret_checksum = NULL;
  g_autofree char *secret_password = NULL;
  g_autofree char *prehashed = NULL;
  g_autofree char *legacy = NULL;
  g_autofree char *timestamp = NULL;
  g_autofree char *tab_comment = NULL;

  fixed_init ();
  public_text = public_key_text (fixed_id, fixed.public_key);
  secret_plain = secret_key_text (FALSE, FALSE);
  secret_checksum = secret_key_text (TRUE, FALSE);
  secret_password = secret_key_text (TRUE, TRUE);
  prehashed = signature_text (fixed_content, strlen (fixed_content), TRUE, manifest);
  legacy = signature_text (fixed_content, strlen (fixed_content), FALSE, manifest);
  timestamp = signature_text (fixed_content, strlen (fixed_content), TRUE,
                              "timestamp:1764064800\tfile:part.gcode\thashed");
  tab_comment = signature_text (fixed_content, strlen (fixed_content), TRUE, "");

  return write_seed (dir, "fixed-public-key", public_text) &&
         write_seed (dir, "fixed-secret-key-no-password", secret_plain) &&
         write_seed (dir, "fixed-secret-key-checksum", secret_checksum) &&
         write_seed (dir, "fixed-secret-key-password-cheap", secret_password) &&
         write_seed (dir, "fixed-signature-manifest", prehashed) &&
         write_seed (dir, "fixed-signature-legacy", legacy) &&
         write_seed (dir, "fixed-signature-timestamp", timestamp) &&
         write_seed (dir, "fixed-signature-empty-comment", tab_comment) ? 0 : 1;
}
#endif
