/* drover-trust-store.c: the keys whose signed jobs Drover runs
 *
 * A key file, by default ~/.config/drover/trusted-keys.conf, one group a
 * key, named by the key id:
 *
 *   [key 40316D012E6B3FEB]
 *   name=Alice (slicer PC)
 *   public-key=RWTrP2suAW0xQMlk7w…
 *   added=2026-11-25T10:00:00Z
 *   revoked=2026-12-01T08:30:00Z
 *
 * `revoked` is absent while the key is in force. A revoked key stays in the
 * file, so that adding it again is refused instead of quietly trusting it
 * again, and so that the refusal can say since when.
 *
 * The file is read strictly: a group whose key id does not match its key,
 * or a time Drover cannot read, makes the whole store fail to load. A
 * store read half-way could miss a revocation.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-trust-store"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "drover-manifest.h"
#include "drover-trust-store.h"

#define KEY_GROUP "key "

struct _DroverTrustStore
{
  char      *path;
  GKeyFile  *key_file;  /* the file as read, kept in step, for saving */
  GPtrArray *keys;      /* DroverTrustedKey, in the file's order */
};

G_DEFINE_QUARK (drover-trust-store-error-quark, drover_trust_store_error)

/**
 * drover_trusted_key_copy:
 *
 * Returns: (transfer full): a copy of @key
 */
DroverTrustedKey *
drover_trusted_key_copy (const DroverTrustedKey *key)
{
  DroverTrustedKey *copy;

  g_return_val_if_fail (key != NULL, NULL);

  copy = g_new0 (DroverTrustedKey, 1);
  copy->id = g_strdup (key->id);
  copy->name = g_strdup (key->name);
  copy->key = drover_public_key_copy (key->key);
  copy->added = key->added;
  copy->revoked = key->revoked;

  return copy;
}

/**
 * drover_trusted_key_free:
 */
void
drover_trusted_key_free (DroverTrustedKey *key)
{
  if (key == NULL)
    return;

  g_free (key->id);
  g_free (key->name);
  drover_public_key_free (key->key);
  g_free (key);
}

/**
 * drover_trust_store_dup_default_path:
 *
 * Returns: (transfer full): where the trusted keys live unless told
 *   otherwise: `$XDG_CONFIG_HOME/drover/trusted-keys.conf`
 */
char *
drover_trust_store_dup_default_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "drover", "trusted-keys.conf", NULL);
}

static gboolean
invalid (GError     **error,
         const char  *path,
         const char  *group,
         const char  *reason)
{
  g_autofree char *display = g_filename_display_name (path);

  g_set_error (error, DROVER_TRUST_STORE_ERROR, DROVER_TRUST_STORE_ERROR_INVALID,
               _("The trust store %s cannot be used: in [%s], %s. Correct or remove that group; until then no signed job is trusted"),
               display, group, reason);
  return FALSE;
}

static gboolean
read_time (GKeyFile    *key_file,
           const char  *path,
           const char  *group,
           const char  *key,
           gint64      *value,
           GError     **error)
{
  g_autofree char *text = g_key_file_get_string (key_file, group, key, NULL);
  g_autoptr(GDateTime) time = NULL;
  g_autofree char *reason = NULL;

  *value = 0;
  if (text == NULL)
    return TRUE;

  g_strstrip (text);
  time = g_date_time_new_from_iso8601 (text, NULL);
  if (time == NULL)
    {
      /* An empty or unreadable "revoked=" still means revoked: refuse the
       * store rather than read the key as in force. */
      reason = g_strdup_printf (_("“%s” is not an ISO 8601 time with its zone, as 2026-11-25T10:00:00Z"), key);
      return invalid (error, path, group, reason);
    }

  *value = g_date_time_to_unix (time);
  return TRUE;
}

static DroverTrustedKey *
read_key (GKeyFile    *key_file,
          const char  *path,
          const char  *group,
          GError     **error)
{
  g_autoptr(DroverTrustedKey) trusted = g_new0 (DroverTrustedKey, 1);
  g_autofree char *base64 = NULL;
  g_autofree char *key_id = NULL;
  g_autoptr(GError) key_error = NULL;

  trusted->id = drover_minisign_normalize_key_id (group + strlen (KEY_GROUP));
  if (trusted->id == NULL)
    {
      invalid (error, path, group, _("the group is not named “key” and a key id of 16 hex digits"));
      return NULL;
    }

  trusted->name = g_key_file_get_string (key_file, group, "name", NULL);
  if (trusted->name != NULL)
    g_strstrip (trusted->name);
  if (trusted->name == NULL || trusted->name[0] == '\0')
    {
      invalid (error, path, group, _("“name” is missing"));
      return NULL;
    }

  base64 = g_key_file_get_string (key_file, group, "public-key", NULL);
  if (base64 == NULL)
    {
      invalid (error, path, group, _("“public-key” is missing"));
      return NULL;
    }

  trusted->key = drover_public_key_new_from_data (base64, &key_error);
  if (trusted->key == NULL)
    {
      g_autofree char *reason = g_strdup_printf (_("“public-key” cannot be used (%s)"), key_error->message);

      invalid (error, path, group, reason);
      return NULL;
    }

  /* Lookups go by the group's id; a key under another key's id would be
   * trusted in its place. */
  key_id = drover_public_key_dup_id (trusted->key);
  if (!g_str_equal (key_id, trusted->id))
    {
      g_autofree char *reason = g_strdup_printf (_("the public key’s id is %s, not the group’s"), key_id);

      invalid (error, path, group, reason);
      return NULL;
    }

  if (!read_time (key_file, path, group, "added", &trusted->added, error) ||
      !read_time (key_file, path, group, "revoked", &trusted->revoked, error))
    return NULL;

  return g_steal_pointer (&trusted);
}

static DroverTrustStore *
trust_store_new (const char *path)
{
  DroverTrustStore *store = g_new0 (DroverTrustStore, 1);

  store->path = g_strdup (path);
  store->key_file = g_key_file_new ();
  store->keys = g_ptr_array_new_with_free_func ((GDestroyNotify) drover_trusted_key_free);

  return store;
}

/**
 * drover_trust_store_load:
 * @path: (nullable): the store's file; %NULL for
 *   drover_trust_store_dup_default_path()
 * @error: why the store cannot be read
 *
 * A missing file is an empty store: nobody is trusted yet. A file that
 * cannot be read, or holds a group Drover cannot read, is an error, never
 * a partial store.
 *
 * Returns: (transfer full) (nullable): the store
 */
DroverTrustStore *
drover_trust_store_load (const char  *path,
                         GError     **error)
{
  g_autofree char *default_path = NULL;
  g_autoptr(DroverTrustStore) store = NULL;
  g_autoptr(GError) load_error = NULL;
  g_auto(GStrv) groups = NULL;

  if (path == NULL)
    path = default_path = drover_trust_store_dup_default_path ();

  store = trust_store_new (path);

  if (!g_key_file_load_from_file (store->key_file, path,
                                  G_KEY_FILE_KEEP_COMMENTS | G_KEY_FILE_KEEP_TRANSLATIONS,
                                  &load_error))
    {
      g_autofree char *display = NULL;

      if (g_error_matches (load_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&store);

      display = g_filename_display_name (path);
      g_propagate_prefixed_error (error, g_steal_pointer (&load_error),
                                  _("The trust store %s cannot be read: "), display);
      return NULL;
    }

  groups = g_key_file_get_groups (store->key_file, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      DroverTrustedKey *trusted;

      if (!g_str_has_prefix (groups[i], KEY_GROUP))
        continue;

      trusted = read_key (store->key_file, path, groups[i], error);
      if (trusted == NULL)
        return NULL;

      if (drover_trust_store_find (store, trusted->id) != NULL)
        {
          invalid (error, path, groups[i], _("the key is in the file twice"));
          drover_trusted_key_free (trusted);
          return NULL;
        }

      g_ptr_array_add (store->keys, trusted);
    }

  return g_steal_pointer (&store);
}

/**
 * drover_trust_store_get_path:
 *
 * Returns: the file the store is read from and saved to
 */
const char *
drover_trust_store_get_path (DroverTrustStore *store)
{
  g_return_val_if_fail (store != NULL, NULL);

  return store->path;
}

/**
 * drover_trust_store_save:
 * @store: a store
 * @error: why it could not be written
 *
 * Writes the store to its file, whole or not at all (a new file renamed
 * over the old one), keeping comments and anything else a person wrote in
 * it. Makes the folder if needed.
 *
 * Returns: %TRUE once saved
 */
gboolean
drover_trust_store_save (DroverTrustStore  *store,
                         GError           **error)
{
  g_autofree char *data = NULL;
  g_autofree char *folder = NULL;
  gsize length = 0;

  g_return_val_if_fail (store != NULL, FALSE);

  folder = g_path_get_dirname (store->path);
  if (g_mkdir_with_parents (folder, 0700) != 0)
    {
      int saved_errno = errno;
      g_autofree char *display = g_filename_display_name (folder);

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _("Could not make the folder %s: %s"), display, g_strerror (saved_errno));
      return FALSE;
    }

  data = g_key_file_to_data (store->key_file, &length, NULL);
  return g_file_set_contents_full (store->path, data, (gssize) length,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

static gboolean
name_is_valid (const char *name)
{
  if (name[0] == '\0' || !g_utf8_validate (name, -1, NULL))
    return FALSE;

  for (const char *p = name; *p != '\0'; p++)
    {
      if ((guchar) *p < 0x20 || *p == 0x7f)
        return FALSE;
    }

  return TRUE;
}

/**
 * drover_trust_store_add:
 * @store: a store
 * @name: who signs with the key, for people: "Alice (slicer PC)"
 * @key: the signer's public key
 * @error: %DROVER_TRUST_STORE_ERROR_DUPLICATE when the key id is in the
 *   store already, in force or revoked; %DROVER_TRUST_STORE_ERROR_INVALID
 *   for an empty name
 *
 * Trusts @key from now on. Call drover_trust_store_save() to keep it.
 *
 * Returns: %TRUE when added
 */
gboolean
drover_trust_store_add (DroverTrustStore       *store,
                        const char             *name,
                        const DroverPublicKey  *key,
                        GError                **error)
{
  g_autofree char *stripped = NULL;
  g_autofree char *id = NULL;
  g_autofree char *group = NULL;
  g_autofree char *base64 = NULL;
  g_autofree char *added = NULL;
  const DroverTrustedKey *existing;
  DroverTrustedKey *trusted;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  stripped = g_strstrip (g_strdup (name));
  if (!name_is_valid (stripped))
    {
      g_set_error_literal (error, DROVER_TRUST_STORE_ERROR, DROVER_TRUST_STORE_ERROR_INVALID,
                           _("Give the key a name that says who signs with it, on one line"));
      return FALSE;
    }

  id = drover_public_key_dup_id (key);
  existing = drover_trust_store_find (store, id);
  if (existing != NULL)
    {
      if (existing->revoked != 0)
        {
          g_autofree char *revoked = drover_manifest_format_time (existing->revoked);

          g_set_error (error, DROVER_TRUST_STORE_ERROR, DROVER_TRUST_STORE_ERROR_DUPLICATE,
                       _("Key %s (“%s”) was revoked on %s and cannot be trusted again; make a new key pair"),
                       id, existing->name, revoked);
        }
      else
        {
          g_set_error (error, DROVER_TRUST_STORE_ERROR, DROVER_TRUST_STORE_ERROR_DUPLICATE,
                       _("Key %s is already trusted, as “%s”"), id, existing->name);
        }
      return FALSE;
    }

  trusted = g_new0 (DroverTrustedKey, 1);
  trusted->id = g_steal_pointer (&id);
  trusted->name = g_steal_pointer (&stripped);
  trusted->key = drover_public_key_copy (key);
  trusted->added = g_get_real_time () / G_USEC_PER_SEC;
  g_ptr_array_add (store->keys, trusted);

  group = g_strconcat (KEY_GROUP, trusted->id, NULL);
  base64 = drover_public_key_dup_base64 (key);
  added = drover_manifest_format_time (trusted->added);
  g_key_file_set_string (store->key_file, group, "name", trusted->name);
  g_key_file_set_string (store->key_file, group, "public-key", base64);
  g_key_file_set_string (store->key_file, group, "added", added);

  return TRUE;
}

/* The group a key was read from, which may spell the id differently
 * (lower case, without leading zeros) from how Drover writes it. */
static char *
find_group (DroverTrustStore *store,
            const char       *id)
{
  g_auto(GStrv) groups = g_key_file_get_groups (store->key_file, NULL);

  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_autofree char *group_id = NULL;

      if (!g_str_has_prefix (groups[i], KEY_GROUP))
        continue;

      group_id = drover_minisign_normalize_key_id (groups[i] + strlen (KEY_GROUP));
      if (g_strcmp0 (group_id, id) == 0)
        return g_strdup (groups[i]);
    }

  return g_strconcat (KEY_GROUP, id, NULL);
}

/**
 * drover_trust_store_revoke:
 * @store: a store
 * @key_id: the key's id, in any case, with or without leading zeros
 * @error: %DROVER_TRUST_STORE_ERROR_NOT_FOUND when no such key is in the
 *   store
 *
 * Revokes the key from now on: its jobs are refused, whenever they were
 * signed, since a stolen key can sign with any date. Revoking a revoked
 * key keeps its first revocation. Call drover_trust_store_save() to keep
 * it.
 *
 * Returns: %TRUE when the key is revoked
 */
gboolean
drover_trust_store_revoke (DroverTrustStore  *store,
                           const char        *key_id,
                           GError           **error)
{
  DroverTrustedKey *trusted;
  g_autofree char *group = NULL;
  g_autofree char *revoked = NULL;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (key_id != NULL, FALSE);

  trusted = (DroverTrustedKey *) drover_trust_store_find (store, key_id);
  if (trusted == NULL)
    {
      g_set_error (error, DROVER_TRUST_STORE_ERROR, DROVER_TRUST_STORE_ERROR_NOT_FOUND,
                   _("No key with the id “%s” is in the trust store"), key_id);
      return FALSE;
    }

  if (trusted->revoked != 0)
    return TRUE;

  trusted->revoked = g_get_real_time () / G_USEC_PER_SEC;
  group = find_group (store, trusted->id);
  revoked = drover_manifest_format_time (trusted->revoked);
  g_key_file_set_string (store->key_file, group, "revoked", revoked);

  return TRUE;
}

/**
 * drover_trust_store_find:
 * @store: a store
 * @key_id: a key id, in any case, with or without leading zeros
 *
 * Returns: (transfer none) (nullable): the key with that id, in force or
 *   revoked, or %NULL
 */
const DroverTrustedKey *
drover_trust_store_find (DroverTrustStore *store,
                         const char       *key_id)
{
  g_autofree char *id = NULL;

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (key_id != NULL, NULL);

  id = drover_minisign_normalize_key_id (key_id);
  if (id == NULL)
    return NULL;

  for (guint i = 0; i < store->keys->len; i++)
    {
      const DroverTrustedKey *trusted = g_ptr_array_index (store->keys, i);

      if (g_str_equal (trusted->id, id))
        return trusted;
    }

  return NULL;
}

/**
 * drover_trust_store_find_in_force:
 * @store: a store
 * @key_id: the id a signature names
 * @error: %DROVER_TRUST_STORE_ERROR_NOT_FOUND or
 *   %DROVER_TRUST_STORE_ERROR_REVOKED, in a sentence
 *
 * The gate's question: may a job signed with this key run?
 *
 * Returns: (transfer none) (nullable): the trusted key, or %NULL
 */
const DroverTrustedKey *
drover_trust_store_find_in_force (DroverTrustStore  *store,
                                  const char        *key_id,
                                  GError           **error)
{
  const DroverTrustedKey *trusted;

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (key_id != NULL, NULL);

  trusted = drover_trust_store_find (store, key_id);
  if (trusted == NULL)
    {
      g_set_error (error, DROVER_TRUST_STORE_ERROR, DROVER_TRUST_STORE_ERROR_NOT_FOUND,
                   _("The job is signed with key %s, which is not a trusted key; add the signer’s public key to the trust store if its jobs should run"),
                   key_id);
      return NULL;
    }

  if (trusted->revoked != 0)
    {
      g_autofree char *revoked = drover_manifest_format_time (trusted->revoked);

      g_set_error (error, DROVER_TRUST_STORE_ERROR, DROVER_TRUST_STORE_ERROR_REVOKED,
                   _("The job is signed with key %s (“%s”), which was revoked on %s"),
                   trusted->id, trusted->name, revoked);
      return NULL;
    }

  return trusted;
}

/**
 * drover_trust_store_get_keys:
 *
 * Returns: (transfer none) (element-type DroverTrustedKey): every key in
 *   the store, revoked ones too, in the file's order
 */
GPtrArray *
drover_trust_store_get_keys (DroverTrustStore *store)
{
  g_return_val_if_fail (store != NULL, NULL);

  return store->keys;
}

/**
 * drover_trust_store_free:
 */
void
drover_trust_store_free (DroverTrustStore *store)
{
  if (store == NULL)
    return;

  g_free (store->path);
  g_key_file_free (store->key_file);
  g_ptr_array_unref (store->keys);
  g_free (store);
}
