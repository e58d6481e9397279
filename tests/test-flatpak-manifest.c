/* test-flatpak-manifest.c
 *
 * Copyright The Drover developers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Checks flatpak/io.github.drover.Drover.json without flatpak-builder: the ids
 * agree with the desktop file and the metainfo, the runtime is current, every
 * module Drover needs is there and pinned by hash, and the sandbox holes are
 * the ones we mean to open.
 *
 *   test-flatpak-manifest MANIFEST METAINFO DESKTOP
 *
 * The checker is also run on broken copies of a known-good manifest, so a
 * checker that stopped noticing anything would fail too.
 */

#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#define MINIMUM_GNOME_RUNTIME 48

static const char *manifest_path;
static const char *metainfo_path;
static const char *desktop_path;

/* Built from source with the app; everything else comes with the runtime. */
static const char * const required_modules[] = { "libsodium", "paho-mqtt-c" };
static const char * const required_finish_args[] = {
  "--share=network",
  "--socket=wayland",
  "--socket=fallback-x11",
  "--share=ipc",
  "--device=all",
};

static gboolean
is_hex_of_length (const char *text,
                  gsize       length)
{
  if (text == NULL || strlen (text) != length)
    return FALSE;

  for (gsize i = 0; i < length; i++)
    {
      if (!g_ascii_isxdigit (text[i]))
        return FALSE;
    }

  return TRUE;
}

static const char *
object_get_string (JsonObject *object,
                   const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

static JsonArray *
object_get_array (JsonObject *object,
                  const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;

  return json_node_get_array (node);
}

static gboolean
array_has_string (JsonArray  *array,
                  const char *wanted)
{
  if (array == NULL)
    return FALSE;

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_VALUE (node) &&
          json_node_get_value_type (node) == G_TYPE_STRING &&
          g_strcmp0 (json_node_get_string (node), wanted) == 0)
        return TRUE;
    }

  return FALSE;
}

static void
check_string_member (GPtrArray  *problems,
                     JsonObject *object,
                     const char *member,
                     const char *expected)
{
  const char *value = object_get_string (object, member);

  if (g_strcmp0 (value, expected) != 0)
    g_ptr_array_add (problems,
                     g_strdup_printf ("\"%s\" is \"%s\", expected \"%s\"",
                                      member, value ? value : "(missing)", expected));
}

static void
check_runtime (GPtrArray  *problems,
               JsonObject *root)
{
  const char *version = object_get_string (root, "runtime-version");
  guint64 number = 0;

  check_string_member (problems, root, "runtime", "org.gnome.Platform");
  check_string_member (problems, root, "sdk", "org.gnome.Sdk");

  /* A branch name such as "master" is a nightly runtime: not for releases. */
  if (version == NULL ||
      !g_ascii_string_to_unsigned (version, 10, 0, G_MAXUINT, &number, NULL))
    g_ptr_array_add (problems,
                     g_strdup_printf ("\"runtime-version\" is \"%s\", expected a GNOME release number",
                                      version ? version : "(missing)"));
  else if (number < MINIMUM_GNOME_RUNTIME)
    g_ptr_array_add (problems,
                     g_strdup_printf ("\"runtime-version\" %s is older than GNOME %d",
                                      version, MINIMUM_GNOME_RUNTIME));
}

static void
check_source (GPtrArray  *problems,
              const char *module_name,
              guint       index,
              JsonNode   *node)
{
  JsonObject *source;
  const char *type;
  const char *url;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_ptr_array_add (problems,
                       g_strdup_printf ("module %s: source %u is not an object, so it cannot be checked",
                                        module_name, index));
      return;
    }

  source = json_node_get_object (node);
  type = object_get_string (source, "type");
  url = object_get_string (source, "url");

  if (g_strcmp0 (type, "archive") != 0 && g_strcmp0 (type, "git") != 0)
    {
      g_ptr_array_add (problems,
                       g_strdup_printf ("module %s: source %u has type \"%s\", expected archive or git",
                                        module_name, index, type ? type : "(missing)"));
      return;
    }

  if (url == NULL || !g_str_has_prefix (url, "https://"))
    g_ptr_array_add (problems,
                     g_strdup_printf ("module %s: source %u url \"%s\" is not https",
                                      module_name, index, url ? url : "(missing)"));

  if (g_strcmp0 (type, "archive") == 0 &&
      !is_hex_of_length (object_get_string (source, "sha256"), 64))
    g_ptr_array_add (problems,
                     g_strdup_printf ("module %s: archive %u has no 64-digit hex sha256",
                                      module_name, index));

  /* A tag or a branch can move; only a commit pins a git source. */
  if (g_strcmp0 (type, "git") == 0 &&
      !is_hex_of_length (object_get_string (source, "commit"), 40))
    g_ptr_array_add (problems,
                     g_strdup_printf ("module %s: git source %u has no 40-digit hex commit",
                                      module_name, index));
}

static void
check_modules (GPtrArray  *problems,
               JsonObject *root)
{
  JsonArray *modules = object_get_array (root, "modules");
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  const char *last_name = NULL;
  guint n_modules;

  if (modules == NULL || json_array_get_length (modules) == 0)
    {
      g_ptr_array_add (problems, g_strdup ("\"modules\" is missing or empty"));
      return;
    }

  n_modules = json_array_get_length (modules);

  for (guint i = 0; i < n_modules; i++)
    {
      JsonNode *node = json_array_get_element (modules, i);
      JsonObject *module;
      JsonArray *sources;
      const char *name;

      /* flatpak-builder also accepts a file name here; keep modules inline so
       * their pins are checked. */
      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          g_ptr_array_add (problems,
                           g_strdup_printf ("module %u is not an inline object", i));
          last_name = NULL;
          continue;
        }

      module = json_node_get_object (node);
      name = object_get_string (module, "name");
      last_name = name;

      if (name == NULL)
        {
          g_ptr_array_add (problems, g_strdup_printf ("module %u has no name", i));
          continue;
        }

      g_hash_table_add (seen, (gpointer) name);

      if (g_str_equal (name, "drover"))
        {
          check_string_member (problems, module, "buildsystem", "meson");
          continue;
        }

      if (g_str_equal (name, "paho-mqtt-c") &&
          !array_has_string (object_get_array (module, "config-opts"), "-DPAHO_WITH_SSL=ON"))
        g_ptr_array_add (problems,
                         g_strdup ("module paho-mqtt-c is built without -DPAHO_WITH_SSL=ON: "
                                   "no TLS for Bambu printers or hosted brokers"));

      sources = object_get_array (module, "sources");
      if (sources == NULL || json_array_get_length (sources) == 0)
        {
          g_ptr_array_add (problems,
                           g_strdup_printf ("module %s has no sources", name));
          continue;
        }

      for (guint j = 0; j < json_array_get_length (sources); j++)
        check_source (problems, name, j, json_array_get_element (sources, j));
    }

  for (guint i = 0; i < G_N_ELEMENTS (required_modules); i++)
    {
      if (!g_hash_table_contains (seen, required_modules[i]))
        g_ptr_array_add (problems,
                         g_strdup_printf ("module %s is missing", required_modules[i]));
    }

  if (g_strcmp0 (last_name, "drover") != 0)
    g_ptr_array_add (problems,
                     g_strdup_printf ("the last module is \"%s\", expected drover",
                                      last_name ? last_name : "(unnamed)"));
}

static gboolean
is_forbidden_finish_arg (const char *arg)
{
  static const char * const forbidden_filesystems[] = { "home", "host", "host-os", "host-etc" };
  static const char * const forbidden_talk_names[] = {
    /* Both are portals inside the sandbox. */
    "org.freedesktop.Notifications",
    "org.freedesktop.secrets",
  };
  if (g_str_equal (arg, "--socket=x11"))
    return TRUE;

  if (g_str_has_prefix (arg, "--filesystem="))
    {
      g_autofree char *location = g_strdup (arg + strlen ("--filesystem="));
      char *mode = strchr (location, ':');

      if (mode != NULL)
        *mode = '\0';

      for (guint i = 0; i < G_N_ELEMENTS (forbidden_filesystems); i++)
        {
          if (g_str_equal (location, forbidden_filesystems[i]))
            return TRUE;
        }
    }

  if (g_str_has_prefix (arg, "--talk-name="))
    {
      for (guint i = 0; i < G_N_ELEMENTS (forbidden_talk_names); i++)
        {
          if (g_str_equal (arg + strlen ("--talk-name="), forbidden_talk_names[i]))
            return TRUE;
        }
    }

  return FALSE;
}

static void
check_finish_args (GPtrArray  *problems,
                   JsonObject *root)
{
  JsonArray *finish_args = object_get_array (root, "finish-args");

  if (finish_args == NULL)
    {
      g_ptr_array_add (problems, g_strdup ("\"finish-args\" is missing"));
      return;
    }

  for (guint i = 0; i < G_N_ELEMENTS (required_finish_args); i++)
    {
      if (!array_has_string (finish_args, required_finish_args[i]))
        g_ptr_array_add (problems,
                         g_strdup_printf ("finish-args lack %s", required_finish_args[i]));
    }

  for (guint i = 0; i < json_array_get_length (finish_args); i++)
    {
      JsonNode *node = json_array_get_element (finish_args, i);
      const char *arg;

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        {
          g_ptr_array_add (problems, g_strdup_printf ("finish-arg %u is not a string", i));
          continue;
        }

      arg = json_node_get_string (node);
      if (is_forbidden_finish_arg (arg))
        g_ptr_array_add (problems,
                         g_strdup_printf ("finish-args must not contain %s", arg));
    }
}

/* Returns one sentence per problem found; an empty array means the manifest
 * is fine. */
static GPtrArray *
check_manifest (JsonNode   *root_node,
                const char *expected_app_id)
{
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  JsonObject *root;

  if (root_node == NULL || !JSON_NODE_HOLDS_OBJECT (root_node))
    {
      g_ptr_array_add (problems, g_strdup ("the manifest is not a JSON object"));
      return g_steal_pointer (&problems);
    }

  root = json_node_get_object (root_node);

  check_string_member (problems, root, "app-id", expected_app_id);
  check_runtime (problems, root);
  check_string_member (problems, root, "command", "drover");
  check_modules (problems, root);
  check_finish_args (problems, root);

  return g_steal_pointer (&problems);
}

static char *
join_problems (GPtrArray *problems)
{
  g_autoptr(GString) report = g_string_new (NULL);

  for (guint i = 0; i < problems->len; i++)
    {
      if (i > 0)
        g_string_append (report, "; ");
      g_string_append (report, g_ptr_array_index (problems, i));
    }

  return g_string_free (g_steal_pointer (&report), FALSE);
}

/* The component id of a metainfo file, read with GMarkup. */
typedef struct
{
  gboolean in_component_id;
  guint    depth;
  GString *id;
} MetainfoIdReader;

static void
metainfo_start_element (GMarkupParseContext  *context,
                        const char           *element_name,
                        const char          **attribute_names,
                        const char          **attribute_values,
                        gpointer              user_data,
                        GError              **error)
{
  MetainfoIdReader *reader = user_data;

  reader->depth++;
  /* <component> is depth 1, its own <id> depth 2. */
  if (reader->depth == 2 && g_str_equal (element_name, "id"))
    reader->in_component_id = TRUE;
}

static void
metainfo_end_element (GMarkupParseContext  *context,
                      const char           *element_name,
                      gpointer              user_data,
                      GError              **error)
{
  MetainfoIdReader *reader = user_data;

  reader->in_component_id = FALSE;
  reader->depth--;
}

static void
metainfo_text (GMarkupParseContext  *context,
               const char           *text,
               gsize                 text_len,
               gpointer              user_data,
               GError              **error)
{
  MetainfoIdReader *reader = user_data;

  if (reader->in_component_id)
    g_string_append_len (reader->id, text, text_len);
}

static char *
read_metainfo_id (const char  *path,
                  GError     **error)
{
  static const GMarkupParser parser = {
    metainfo_start_element,
    metainfo_end_element,
    metainfo_text,
    NULL,
    NULL,
  };
  g_autofree char *contents = NULL;
  g_autoptr(GMarkupParseContext) context = NULL;
  g_autoptr(GString) id = g_string_new (NULL);
  MetainfoIdReader reader = { FALSE, 0, id };
  gsize length;

  if (!g_file_get_contents (path, &contents, &length, error))
    return NULL;

  context = g_markup_parse_context_new (&parser, G_MARKUP_IGNORE_QUALIFIED, &reader, NULL);
  if (!g_markup_parse_context_parse (context, contents, length, error) ||
      !g_markup_parse_context_end_parse (context, error))
    return NULL;

  return g_strstrip (g_strdup (id->str));
}

static char *
desktop_file_id (const char *path)
{
  g_autofree char *basename = g_path_get_basename (path);
  char *suffix;

  if ((suffix = g_strrstr (basename, ".desktop")) != NULL)
    *suffix = '\0';

  return g_steal_pointer (&basename);
}

static JsonNode *
parse_manifest_string (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);

  return json_node_copy (json_parser_get_root (parser));
}

static void
test_ids_agree (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GKeyFile) desktop = g_key_file_new ();
  g_autofree char *metainfo_id = NULL;
  g_autofree char *desktop_id = NULL;
  g_autofree char *icon = NULL;

  metainfo_id = read_metainfo_id (metainfo_path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (metainfo_id, ==, "io.github.drover.Drover");

  desktop_id = desktop_file_id (desktop_path);
  g_assert_cmpstr (desktop_id, ==, metainfo_id);

  g_key_file_load_from_file (desktop, desktop_path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  icon = g_key_file_get_string (desktop, G_KEY_FILE_DESKTOP_GROUP,
                                G_KEY_FILE_DESKTOP_KEY_ICON, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (icon, ==, metainfo_id);
}

static void
test_manifest_file (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) problems = NULL;
  g_autofree char *app_id = NULL;
  g_autofree char *report = NULL;

  app_id = read_metainfo_id (metainfo_path, &error);
  g_assert_no_error (error);

  /* JsonParser takes the C comments, as flatpak-builder does. */
  json_parser_load_from_file (parser, manifest_path, &error);
  g_assert_no_error (error);

  problems = check_manifest (json_parser_get_root (parser), app_id);
  report = join_problems (problems);
  g_assert_cmpstr (report, ==, "");
}

/* The known-good manifest that the broken copies below start from. */
static const char good_manifest[] =
  "{\n"
  "  /* comments, as in the real file */\n"
  "  \"app-id\": \"io.github.drover.Drover\",\n"
  "  \"runtime\": \"org.gnome.Platform\",\n"
  "  \"runtime-version\": \"50\",\n"
  "  \"sdk\": \"org.gnome.Sdk\",\n"
  "  \"command\": \"drover\",\n"
  "  \"finish-args\": [\n"
  "    \"--share=network\", \"--socket=wayland\", \"--socket=fallback-x11\",\n"
  "    \"--share=ipc\", \"--device=dri\", \"--device=all\"\n"
  "    /* a comment after the last element */\n"
  "  ],\n"
  "  \"modules\": [\n"
  "    { \"name\": \"libsodium\", \"buildsystem\": \"autotools\",\n"
  "      \"sources\": [ { \"type\": \"git\", \"url\": \"https://github.com/jedisct1/libsodium.git\",\n"
  "                     \"tag\": \"1.0.20-RELEASE\",\n"
  "                     \"commit\": \"9511c982fb1d046470a8b42aa36556cdb7da15de\" } ] },\n"
  "    { \"name\": \"paho-mqtt-c\", \"buildsystem\": \"cmake-ninja\",\n"
  "      \"config-opts\": [ \"-DPAHO_WITH_SSL=ON\" ],\n"
  "      \"sources\": [ { \"type\": \"archive\",\n"
  "                     \"url\": \"https://github.com/eclipse-paho/paho.mqtt.c/archive/refs/tags/v1.3.15.tar.gz\",\n"
  "                     \"sha256\": \"60ce2cfdc146fcb81c621cb8b45874d2eb1d4693105d048f60e31b8f3468be90\" } ] },\n"
  "    { \"name\": \"drover\", \"buildsystem\": \"meson\",\n"
  "      \"sources\": [ { \"type\": \"dir\", \"path\": \"..\" } ] }\n"
  "  ]\n"
  "}\n";

typedef void (*BreakManifestFunc) (JsonObject *root);

typedef struct
{
  const char        *path;
  BreakManifestFunc  break_manifest;
  const char        *expected_problem;
} BrokenCase;

static JsonObject *
find_module (JsonObject *root,
             const char *name,
             guint      *index)
{
  JsonArray *modules = json_object_get_array_member (root, "modules");

  for (guint i = 0; i < json_array_get_length (modules); i++)
    {
      JsonObject *module = json_array_get_object_element (modules, i);

      if (g_strcmp0 (json_object_get_string_member (module, "name"), name) == 0)
        {
          if (index != NULL)
            *index = i;
          return module;
        }
    }

  g_assert_not_reached ();
}

static JsonObject *
first_source (JsonObject *root,
              const char *module_name)
{
  JsonObject *module = find_module (root, module_name, NULL);

  return json_array_get_object_element (json_object_get_array_member (module, "sources"), 0);
}

static void
remove_finish_arg (JsonObject *root,
                   const char *arg)
{
  JsonArray *finish_args = json_object_get_array_member (root, "finish-args");

  for (guint i = 0; i < json_array_get_length (finish_args); i++)
    {
      if (g_strcmp0 (json_array_get_string_element (finish_args, i), arg) == 0)
        {
          json_array_remove_element (finish_args, i);
          return;
        }
    }

  g_assert_not_reached ();
}

static void
break_remove_paho (JsonObject *root)
{
  guint index;

  find_module (root, "paho-mqtt-c", &index);
  json_array_remove_element (json_object_get_array_member (root, "modules"), index);
}

static void
break_remove_libsodium (JsonObject *root)
{
  guint index;

  find_module (root, "libsodium", &index);
  json_array_remove_element (json_object_get_array_member (root, "modules"), index);
}

static void
break_drover_not_last (JsonObject *root)
{
  JsonArray *modules = json_object_get_array_member (root, "modules");
  guint index;
  JsonNode *paho;

  find_module (root, "paho-mqtt-c", &index);
  paho = json_node_copy (json_array_get_element (modules, index));
  json_array_remove_element (modules, index);
  json_array_add_element (modules, paho);
}

static void
break_paho_without_ssl (JsonObject *root)
{
  JsonObject *paho = find_module (root, "paho-mqtt-c", NULL);

  json_object_set_array_member (paho, "config-opts", json_array_new ());
}

static void
break_plain_http (JsonObject *root)
{
  json_object_set_string_member (first_source (root, "paho-mqtt-c"), "url",
                                 "http://github.com/eclipse-paho/paho.mqtt.c/archive/refs/tags/v1.3.15.tar.gz");
}

static void
break_short_sha256 (JsonObject *root)
{
  json_object_set_string_member (first_source (root, "paho-mqtt-c"), "sha256", "60ce2cfdc146fcb8");
}

static void
break_git_without_commit (JsonObject *root)
{
  json_object_remove_member (first_source (root, "libsodium"), "commit");
}

static void
break_file_source (JsonObject *root)
{
  json_object_set_string_member (first_source (root, "libsodium"), "type", "file");
}

static void
break_old_runtime (JsonObject *root)
{
  json_object_set_string_member (root, "runtime-version", "47");
}

static void
break_nightly_runtime (JsonObject *root)
{
  json_object_set_string_member (root, "runtime-version", "master");
}

static void
break_freedesktop_runtime (JsonObject *root)
{
  json_object_set_string_member (root, "runtime", "org.freedesktop.Platform");
}

static void
break_app_id (JsonObject *root)
{
  json_object_set_string_member (root, "app-id", "org.example.Drover");
}

static void
break_command (JsonObject *root)
{
  json_object_set_string_member (root, "command", "droverctl");
}

static void
break_add_x11 (JsonObject *root)
{
  json_array_add_string_element (json_object_get_array_member (root, "finish-args"), "--socket=x11");
}

static void
break_add_home (JsonObject *root)
{
  json_array_add_string_element (json_object_get_array_member (root, "finish-args"),
                                 "--filesystem=home:ro");
}

static void
break_add_host (JsonObject *root)
{
  json_array_add_string_element (json_object_get_array_member (root, "finish-args"),
                                 "--filesystem=host");
}

static void
break_add_notifications (JsonObject *root)
{
  json_array_add_string_element (json_object_get_array_member (root, "finish-args"),
                                 "--talk-name=org.freedesktop.Notifications");
}

static void
break_remove_device_all (JsonObject *root)
{
  remove_finish_arg (root, "--device=all");
}

static void
break_remove_network (JsonObject *root)
{
  remove_finish_arg (root, "--share=network");
}

static const BrokenCase broken_cases[] = {
  { "/flatpak-manifest/broken/no-paho", break_remove_paho, "module paho-mqtt-c is missing" },
  { "/flatpak-manifest/broken/no-libsodium", break_remove_libsodium, "module libsodium is missing" },
  { "/flatpak-manifest/broken/drover-not-last", break_drover_not_last, "expected drover" },
  { "/flatpak-manifest/broken/paho-without-ssl", break_paho_without_ssl, "-DPAHO_WITH_SSL=ON" },
  { "/flatpak-manifest/broken/plain-http", break_plain_http, "is not https" },
  { "/flatpak-manifest/broken/short-sha256", break_short_sha256, "sha256" },
  { "/flatpak-manifest/broken/git-without-commit", break_git_without_commit, "commit" },
  { "/flatpak-manifest/broken/file-source", break_file_source, "expected archive or git" },
  { "/flatpak-manifest/broken/old-runtime", break_old_runtime, "older than GNOME" },
  { "/flatpak-manifest/broken/nightly-runtime", break_nightly_runtime, "release number" },
  { "/flatpak-manifest/broken/freedesktop-runtime", break_freedesktop_runtime, "org.gnome.Platform" },
  { "/flatpak-manifest/broken/app-id", break_app_id, "\"app-id\"" },
  { "/flatpak-manifest/broken/command", break_command, "\"command\"" },
  { "/flatpak-manifest/broken/x11", break_add_x11, "--socket=x11" },
  { "/flatpak-manifest/broken/home", break_add_home, "--filesystem=home:ro" },
  { "/flatpak-manifest/broken/host", break_add_host, "--filesystem=host" },
  { "/flatpak-manifest/broken/notifications", break_add_notifications, "org.freedesktop.Notifications" },
  { "/flatpak-manifest/broken/no-device-all", break_remove_device_all, "lack --device=all" },
  { "/flatpak-manifest/broken/no-network", break_remove_network, "lack --share=network" },
};

static void
test_checker_accepts_good (void)
{
  g_autoptr(JsonNode) root = parse_manifest_string (good_manifest);
  g_autoptr(GPtrArray) problems = check_manifest (root, "io.github.drover.Drover");
  g_autofree char *report = join_problems (problems);

  g_assert_cmpstr (report, ==, "");
}

static void
test_checker_rejects_broken (gconstpointer data)
{
  const BrokenCase *broken = data;
  g_autoptr(JsonNode) root = parse_manifest_string (good_manifest);
  g_autoptr(GPtrArray) problems = NULL;
  g_autofree char *report = NULL;

  broken->break_manifest (json_node_get_object (root));
  problems = check_manifest (root, "io.github.drover.Drover");
  report = join_problems (problems);

  g_test_message ("checker said: %s", report);
  g_assert_nonnull (strstr (report, broken->expected_problem));
}

static void
test_checker_rejects_non_object (void)
{
  g_autoptr(JsonNode) root = parse_manifest_string ("[ \"io.github.drover.Drover\" ]");
  g_autoptr(GPtrArray) problems = check_manifest (root, "io.github.drover.Drover");

  g_assert_cmpuint (problems->len, >, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/flatpak-manifest/checker/good", test_checker_accepts_good);
  g_test_add_func ("/flatpak-manifest/checker/not-an-object", test_checker_rejects_non_object);
  for (guint i = 0; i < G_N_ELEMENTS (broken_cases); i++)
    g_test_add_data_func (broken_cases[i].path, &broken_cases[i], test_checker_rejects_broken);

  if (argc == 4)
    {
      manifest_path = argv[1];
      metainfo_path = argv[2];
      desktop_path = argv[3];

      g_test_add_func ("/flatpak-manifest/ids-agree", test_ids_agree);
      g_test_add_func ("/flatpak-manifest/manifest", test_manifest_file);
    }
  else
    {
      g_printerr ("usage: %s [GTEST-OPTION...] MANIFEST METAINFO DESKTOP\n", g_get_prgname ());
      return 2;
    }

  return g_test_run ();
}
