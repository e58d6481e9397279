/* drover-fleet.c: every printer Drover watches, as a list model
 *
 * The order is the order printers were added (the inventory's order); the
 * views sort and filter on top. Lookup by id is a hash table, because every
 * telemetry message names its printer and a farm may have 10,000 of them.
 *
 * Only the main thread touches a fleet: workers hand their results over.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-fleet"

#include "config.h"

#include "drover-fleet.h"

struct _DroverFleet
{
  GObject     parent_instance;

  /* DroverPrinter, owned, in model order */
  GPtrArray  *printers;
  /* id (borrowed from the printer) -> DroverPrinter (borrowed) */
  GHashTable *by_id;
  /* DroverPrinter -> the state it was counted in */
  GHashTable *counted_state;
  guint       counts[DROVER_PRINTER_STATE_LAST];
};

static GType
drover_fleet_get_item_type (GListModel *model)
{
  return DROVER_TYPE_PRINTER;
}

static guint
drover_fleet_get_n_items (GListModel *model)
{
  return DROVER_FLEET (model)->printers->len;
}

static gpointer
drover_fleet_get_item (GListModel *model,
                       guint       position)
{
  DroverFleet *self = DROVER_FLEET (model);

  if (position >= self->printers->len)
    return NULL;

  return g_object_ref (g_ptr_array_index (self->printers, position));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = drover_fleet_get_item_type;
  iface->get_n_items = drover_fleet_get_n_items;
  iface->get_item = drover_fleet_get_item;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (DroverFleet, drover_fleet, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

enum {
  PROP_0,
  PROP_N_PRINTERS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  STATE_COUNTS_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Counts are kept as printers change, so the header's figures cost nothing
 * per frame, even with 10,000 printers. */
static void
printer_state_changed_cb (DroverPrinter *printer,
                          GParamSpec    *pspec,
                          DroverFleet   *self)
{
  DroverPrinterState old_state = GPOINTER_TO_UINT (g_hash_table_lookup (self->counted_state, printer));
  DroverPrinterState new_state = drover_printer_get_state (printer);

  if (old_state == new_state)
    return;

  self->counts[old_state]--;
  self->counts[new_state]++;
  g_hash_table_insert (self->counted_state, printer, GUINT_TO_POINTER (new_state));
  g_signal_emit (self, signals[STATE_COUNTS_CHANGED], 0);
}

static void
start_counting (DroverFleet   *self,
                DroverPrinter *printer)
{
  DroverPrinterState state = drover_printer_get_state (printer);

  self->counts[state]++;
  g_hash_table_insert (self->counted_state, printer, GUINT_TO_POINTER (state));
  g_signal_connect_object (printer, "notify::state", G_CALLBACK (printer_state_changed_cb), self, 0);
}

static void
stop_counting (DroverFleet   *self,
               DroverPrinter *printer)
{
  DroverPrinterState state = GPOINTER_TO_UINT (g_hash_table_lookup (self->counted_state, printer));

  self->counts[state]--;
  g_hash_table_remove (self->counted_state, printer);
  g_signal_handlers_disconnect_by_func (printer, printer_state_changed_cb, self);
}

static void
drover_fleet_finalize (GObject *object)
{
  DroverFleet *self = (DroverFleet *)object;

  for (guint i = 0; i < self->printers->len; i++)
    g_signal_handlers_disconnect_by_func (g_ptr_array_index (self->printers, i), printer_state_changed_cb, self);
  g_clear_pointer (&self->by_id, g_hash_table_unref);
  g_clear_pointer (&self->counted_state, g_hash_table_unref);
  g_clear_pointer (&self->printers, g_ptr_array_unref);

  G_OBJECT_CLASS (drover_fleet_parent_class)->finalize (object);
}

static void
drover_fleet_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  DroverFleet *self = DROVER_FLEET (object);

  switch (prop_id)
    {
    case PROP_N_PRINTERS:
      g_value_set_uint (value, self->printers->len);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_fleet_class_init (DroverFleetClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = drover_fleet_finalize;
  object_class->get_property = drover_fleet_get_property;

  /**
   * DroverFleet:n-printers:
   *
   * How many printers the fleet holds.
   */
  properties[PROP_N_PRINTERS] =
    g_param_spec_uint ("n-printers", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * DroverFleet::state-counts-changed:
   *
   * How many printers are in some state changed: one changed state, or
   * printers came or went.
   */
  signals[STATE_COUNTS_CHANGED] =
    g_signal_new ("state-counts-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
drover_fleet_init (DroverFleet *self)
{
  self->printers = g_ptr_array_new_with_free_func (g_object_unref);
  self->by_id = g_hash_table_new (g_str_hash, g_str_equal);
  self->counted_state = g_hash_table_new (NULL, NULL);
}

/**
 * drover_fleet_new:
 *
 * Returns: (transfer full): an empty fleet
 */
DroverFleet *
drover_fleet_new (void)
{
  return g_object_new (DROVER_TYPE_FLEET, NULL);
}

static gboolean
insert_printer (DroverFleet   *self,
                DroverPrinter *printer)
{
  const char *id = drover_printer_get_id (printer);

  if (g_hash_table_contains (self->by_id, id))
    return FALSE;

  g_ptr_array_add (self->printers, g_object_ref (printer));
  g_hash_table_insert (self->by_id, (gpointer)id, printer);
  start_counting (self, printer);

  return TRUE;
}

/**
 * drover_fleet_add_printer:
 * @self: a #DroverFleet
 * @printer: the printer to add
 *
 * Adds @printer at the end, unless a printer with the same id is already
 * in the fleet.
 *
 * Returns: %TRUE if it was added, %FALSE if its id was taken
 */
gboolean
drover_fleet_add_printer (DroverFleet   *self,
                          DroverPrinter *printer)
{
  g_return_val_if_fail (DROVER_IS_FLEET (self), FALSE);
  g_return_val_if_fail (DROVER_IS_PRINTER (printer), FALSE);

  if (!insert_printer (self, printer))
    return FALSE;

  g_list_model_items_changed (G_LIST_MODEL (self), self->printers->len - 1, 0, 1);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_PRINTERS]);
  g_signal_emit (self, signals[STATE_COUNTS_CHANGED], 0);

  return TRUE;
}

/**
 * drover_fleet_add_printers:
 * @self: a #DroverFleet
 * @printers: (array length=n_printers): the printers to add
 * @n_printers: how many
 *
 * Adds many printers with a single change of the model, which is what a view
 * of a large farm needs at start-up. Printers whose id is taken are skipped.
 *
 * Returns: how many were added
 */
guint
drover_fleet_add_printers (DroverFleet    *self,
                           DroverPrinter **printers,
                           guint           n_printers)
{
  guint position;
  guint added = 0;

  g_return_val_if_fail (DROVER_IS_FLEET (self), 0);
  g_return_val_if_fail (printers != NULL || n_printers == 0, 0);

  position = self->printers->len;

  for (guint i = 0; i < n_printers; i++)
    {
      g_return_val_if_fail (DROVER_IS_PRINTER (printers[i]), added);

      if (insert_printer (self, printers[i]))
        added++;
    }

  if (added > 0)
    {
      g_list_model_items_changed (G_LIST_MODEL (self), position, 0, added);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_PRINTERS]);
      g_signal_emit (self, signals[STATE_COUNTS_CHANGED], 0);
    }

  return added;
}

/**
 * drover_fleet_remove_printer:
 * @self: a #DroverFleet
 * @id: the id of the printer to remove
 *
 * Returns: %TRUE if a printer with @id was there and is now gone
 */
gboolean
drover_fleet_remove_printer (DroverFleet *self,
                             const char  *id)
{
  DroverPrinter *printer;
  guint position;

  g_return_val_if_fail (DROVER_IS_FLEET (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  printer = g_hash_table_lookup (self->by_id, id);
  if (printer == NULL)
    return FALSE;

  if (!g_ptr_array_find (self->printers, printer, &position))
    g_return_val_if_reached (FALSE);

  /* The key is the printer's own string: drop it before the printer goes. */
  g_hash_table_remove (self->by_id, id);
  stop_counting (self, printer);
  g_ptr_array_remove_index (self->printers, position);

  g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 0);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_PRINTERS]);
  g_signal_emit (self, signals[STATE_COUNTS_CHANGED], 0);

  return TRUE;
}

/**
 * drover_fleet_remove_all:
 * @self: a #DroverFleet
 *
 * Empties the fleet.
 */
void
drover_fleet_remove_all (DroverFleet *self)
{
  guint removed;

  g_return_if_fail (DROVER_IS_FLEET (self));

  removed = self->printers->len;
  if (removed == 0)
    return;

  for (guint i = 0; i < self->printers->len; i++)
    stop_counting (self, g_ptr_array_index (self->printers, i));
  g_hash_table_remove_all (self->by_id);
  g_ptr_array_set_size (self->printers, 0);

  g_list_model_items_changed (G_LIST_MODEL (self), 0, removed, 0);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_PRINTERS]);
  g_signal_emit (self, signals[STATE_COUNTS_CHANGED], 0);
}

/**
 * drover_fleet_find_printer:
 * @self: a #DroverFleet
 * @id: a printer id
 *
 * Returns: (transfer none) (nullable): the printer with @id, or %NULL
 */
DroverPrinter *
drover_fleet_find_printer (DroverFleet *self,
                           const char  *id)
{
  g_return_val_if_fail (DROVER_IS_FLEET (self), NULL);

  if (id == NULL)
    return NULL;

  return g_hash_table_lookup (self->by_id, id);
}

guint
drover_fleet_get_n_printers (DroverFleet *self)
{
  g_return_val_if_fail (DROVER_IS_FLEET (self), 0);

  return self->printers->len;
}

/**
 * drover_fleet_count_in_state:
 * @self: a #DroverFleet
 * @state: a #DroverPrinterState
 *
 * Returns: how many printers are in @state now
 */
guint
drover_fleet_count_in_state (DroverFleet        *self,
                             DroverPrinterState  state)
{
  g_return_val_if_fail (DROVER_IS_FLEET (self), 0);
  g_return_val_if_fail (state < DROVER_PRINTER_STATE_LAST, 0);

  return self->counts[state];
}
