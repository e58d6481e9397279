/* drover-secrets.c: passwords and access codes in the desktop keyring
 *
 * Through libsecret, with the schema `io.github.drover.Drover.Secret`: an
 * item per broker password and per printer access code, found by `kind`
 * (broker or printer) and `name` (the broker's name, the printer's id).
 * Inside Flatpak libsecret goes through the Secret portal by itself.
 *
 * There is no fallback: when no keyring answers, Drover says so and keeps
 * the secret nowhere, least of all in the farm file.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-secrets"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <libsecret/secret.h>
#include <string.h>

#include "drover-secrets.h"

G_DEFINE_QUARK (drover-secrets-error-quark, drover_secrets_error)

static const SecretSchema *
get_schema (void)
{
  static const SecretSchema schema = {
    "io.github.drover.Drover.Secret", SECRET_SCHEMA_NONE,
    {
      { "kind", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { "name", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
  };

  return &schema;
}

static const char *
kind_to_string (DroverSecretKind kind)
{
  switch (kind)
    {
    case DROVER_SECRET_PRINTER:
      return "printer";
    case DROVER_SECRET_SIGNING_KEY:
      return "signing-key";
    case DROVER_SECRET_BROKER:
    default:
      return "broker";
    }
}

static GHashTable *
new_attributes (DroverSecretKind  kind,
                const char       *name)
{
  /* libsecret keeps the table until the service answers: the caller's
   * name may be gone by then, so the table owns a copy. */
  GHashTable *attributes = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);

  g_hash_table_insert (attributes, (gpointer)"kind", g_strdup (kind_to_string (kind)));
  g_hash_table_insert (attributes, (gpointer)"name", g_strdup (name));

  return attributes;
}

/* libsecret's and D-Bus's errors, turned into what the operator can act on. */
static GError *
translate_error (GError *error)
{
  GError *translated;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return error;

  if (error->domain == G_DBUS_ERROR || error->domain == G_IO_ERROR || error->domain == G_SPAWN_ERROR)
    {
      g_debug ("No Secret Service: %s", error->message);
      translated = g_error_new_literal (DROVER_SECRETS_ERROR, DROVER_SECRETS_ERROR_NO_KEYRING,
                                        _("No keyring is available: Drover will not store passwords in plain text. "
                                          "Start GNOME Keyring or another Secret Service."));
    }
  else if (g_error_matches (error, SECRET_ERROR, SECRET_ERROR_IS_LOCKED))
    translated = g_error_new_literal (DROVER_SECRETS_ERROR, DROVER_SECRETS_ERROR_LOCKED,
                                      _("The keyring is locked: unlock it to let Drover keep or read passwords."));
  else
    translated = g_error_new (DROVER_SECRETS_ERROR, DROVER_SECRETS_ERROR_FAILED,
                              _("The keyring failed: %s"), error->message);

  g_error_free (error);
  return translated;
}

static void
stored_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!secret_password_store_finish (result, &error))
    g_task_return_error (task, translate_error (error));
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * drover_secrets_store_async:
 * @kind: a broker's password, a printer's access code or a signing key
 * @name: the broker's name, the printer's id or the key id
 * @secret: what to keep
 *
 * Keeps @secret in the default keyring, replacing what was kept for
 * @name before. Fails with %DROVER_SECRETS_ERROR_NO_KEYRING when there is
 * no keyring, and then writes nothing anywhere.
 */
void
drover_secrets_store_async (DroverSecretKind     kind,
                            const char          *name,
                            const char          *secret,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GHashTable) attributes = NULL;
  g_autofree char *label = NULL;

  g_return_if_fail (name != NULL);
  g_return_if_fail (secret != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, drover_secrets_store_async);

  if (kind == DROVER_SECRET_PRINTER)
    /* Translators: the label of a keyring item, as Passwords and Keys shows it */
    label = g_strdup_printf (_("Drover: access code of printer “%s”"), name);
  else if (kind == DROVER_SECRET_SIGNING_KEY)
    /* Translators: the label of a keyring item; %s is a key id, 16 hex digits */
    label = g_strdup_printf (_("Drover: job signing key %s"), name);
  else
    label = g_strdup_printf (_("Drover: password for broker “%s”"), name);

  attributes = new_attributes (kind, name);
  secret_password_storev (get_schema (), attributes, SECRET_COLLECTION_DEFAULT, label, secret,
                          cancellable, stored_cb, g_steal_pointer (&task));
}

gboolean
drover_secrets_store_finish (GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
looked_up_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  char *secret = secret_password_lookup_finish (result, &error);

  if (error != NULL)
    {
      g_task_return_error (task, translate_error (error));
      return;
    }

  /* Nothing kept is not an error: the caller goes on without. */
  g_task_return_pointer (task, g_strdup (secret), (GDestroyNotify)drover_secrets_free);
  secret_password_free (secret);
}

/**
 * drover_secrets_lookup_async:
 * @kind: a broker's password or a printer's access code
 * @name: the broker's name or the printer's id
 *
 * Finds what the keyring keeps for @name.
 */
void
drover_secrets_lookup_async (DroverSecretKind     kind,
                             const char          *name,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GHashTable) attributes = NULL;

  g_return_if_fail (name != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, drover_secrets_lookup_async);

  attributes = new_attributes (kind, name);
  secret_password_lookupv (get_schema (), attributes, cancellable, looked_up_cb, g_steal_pointer (&task));
}

/**
 * drover_secrets_lookup_finish:
 *
 * Returns: (transfer full) (nullable): the secret, to be freed with
 *   drover_secrets_free(); %NULL without @error when none is kept
 */
char *
drover_secrets_lookup_finish (GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
cleared_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  /* FALSE without an error: there was nothing to clear, which is fine. */
  secret_password_clear_finish (result, &error);
  if (error != NULL)
    g_task_return_error (task, translate_error (error));
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * drover_secrets_clear_async:
 * @kind: a broker's password or a printer's access code
 * @name: the broker's name or the printer's id
 *
 * Removes what the keyring keeps for @name, if anything.
 */
void
drover_secrets_clear_async (DroverSecretKind     kind,
                            const char          *name,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GHashTable) attributes = NULL;

  g_return_if_fail (name != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, drover_secrets_clear_async);

  attributes = new_attributes (kind, name);
  secret_password_clearv (get_schema (), attributes, cancellable, cleared_cb, g_steal_pointer (&task));
}

gboolean
drover_secrets_clear_finish (GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * drover_secrets_free:
 * @secret: (nullable): from drover_secrets_lookup_finish()
 *
 * Overwrites the secret before freeing it.
 */
void
drover_secrets_free (char *secret)
{
  if (secret == NULL)
    return;

  memset (secret, 0, strlen (secret));
  g_free (secret);
}
