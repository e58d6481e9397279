/* drover-serial.c: Marlin printers on USB serial ports
 *
 * Each DroverSerialStream runs its port on a thread of its own: a poll(2)
 * loop over the tty and a wake-up pipe. The main thread only queues
 * requests (print, pause, a command…) and wakes that thread; the thread
 * hands its state back in a snapshot that an idle source applies on the
 * main context that made the stream, at most a few times a second, so a
 * printer acknowledging 600 lines a second costs the main loop nothing.
 *
 * The protocol follows what Marlin does (reference/marlin-serial.md):
 *  - every line goes out as `N<n> <command>*<checksum>`, numbered without
 *    gaps, so that a line can be asked for again and a lost one is noticed;
 *  - comments and blank lines are never sent: Marlin answers neither;
 *  - one line at a time is written that Marlin has not parsed yet, with
 *    the start of the next right behind it, so that the link never idles
 *    while the ok travels back: that is what takes Drover to the link's
 *    own limit where Printrun waits out every ok. No more than that: after
 *    a bad line Marlin discards what its receive buffer holds, and what
 *    arrives after that starts a new line, unnumbered and unchecked. The
 *    tail of a pipelined line would run as a command of its own ("G1 X5…"
 *    without its number), a start left over is erased with backspaces
 *    before anything else goes (io_pump());
 *  - with ADVANCED_OK (`ok N<n> P<p> B<b>`) the lines Marlin reports in
 *    its command queue are parsed, so more go and its queue stays full;
 *  - everything in flight stays within Marlin's 127-byte receive buffer,
 *    whose overflow is silent;
 *  - each `ok` acknowledges the oldest line in flight (Marlin runs them
 *    in order), `ok N<n>` everything up to n, and the `ok T:` of an M105
 *    everything up to that M105, which is how a lost `ok` is found again;
 *  - `Resend: N`: everything from N is written again; the `ok` after it
 *    belongs to no line and is not counted;
 *  - silence while a line is in flight (no `ok`, no `busy:` for longer
 *    than Marlin's keepalive) means an `ok` was lost: Drover asks with a
 *    numbered M105, whose answer settles what was done.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-serial"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <glib-unix.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifdef __linux__
/* termios2 sets any speed (250000 is no Bxxx constant); glibc's
 * <termios.h> cannot be included beside it. */
# include <asm/termbits.h>
#else
# include <termios.h>
#endif

#include "drover-compat-private.h"
#include "drover-serial.h"

/* Marlin's RX_BUFFER_SIZE is 128 by default and the AVR ring never uses
 * its last byte. Bytes arriving while it is full are dropped without a
 * word, so this is the most Drover ever has in flight unacknowledged. */
#define RX_BUFFER_BYTES         127
/* MAX_CMD_SIZE 96: Marlin keeps 95 bytes of a line, number and checksum
 * included, and drops the rest, checksum first. */
#define MAX_WIRE_LINE           95
/* The longest command that still fits with a nine-digit line number and a
 * three-digit checksum: "N123456789 " + command + "*255". */
#define MAX_COMMAND_LENGTH      (MAX_WIRE_LINE - 11 - 4)
/* Lines kept for `Resend:`; far more than can ever be in flight. */
#define HISTORY_SIZE            512
#define MAX_LINES_IN_FLIGHT     64
/* How much of the next line goes right behind one Marlin has not parsed
 * yet: more than an ok's way back takes on the link (a dozen bytes at
 * 250000 baud), and with the longest line within Marlin's receive buffer. */
#define PREFIX_BYTES            24
/* HOST_KEEPALIVE prints "busy:" every 2 s while a command blocks, so this
 * long without an ok or a busy means an ok went missing. */
#define QUIET_US                (3 * G_USEC_PER_SEC)
#define MIN_QUIET_US            (G_USEC_PER_SEC / 4)
/* No byte at all for this long while lines are in flight: the printer is
 * gone (auto-reports alone arrive every 2 s). */
#define SILENCE_US              (30 * G_USEC_PER_SEC)
/* A board that resets on open (DTR) prints "start" within about 2 s; one
 * that does not prints nothing, and gets the hello after this wait. The
 * bootloader must not see the hello: "0 " is its sync command. */
#define BANNER_WAIT_US          (2 * G_USEC_PER_SEC)
#define HELLO_TIMEOUT_US        (3 * G_USEC_PER_SEC)
#define HELLO_TRIES             3
#define IDENTIFY_TIMEOUT_US     (3 * G_USEC_PER_SEC)
#define POLL_INTERVAL_US        (2 * G_USEC_PER_SEC)
/* The same line asked for this many times in a row: the link is broken. */
#define MAX_CONSECUTIVE_RESENDS 25
/* After this many lines, more than this share of them asked for again
 * turns pipelining off: one line at a time, as Printrun does. */
#define RESEND_RATIO_MIN_LINES  200
#define RESEND_RATIO_LIMIT      0.10
/* How often the main context hears about progress. */
#define PUBLISH_INTERVAL_US     (G_USEC_PER_SEC / 6)
#define READ_CHUNK              4096
#define MAX_REPLY_LINE          1024

G_DEFINE_QUARK (drover-serial-error-quark, drover_serial_error)

G_DEFINE_ENUM_TYPE (DroverSerialState, drover_serial_state,
  G_DEFINE_ENUM_VALUE (DROVER_SERIAL_STATE_CLOSED, "closed"),
  G_DEFINE_ENUM_VALUE (DROVER_SERIAL_STATE_OPENING, "opening"),
  G_DEFINE_ENUM_VALUE (DROVER_SERIAL_STATE_IDLE, "idle"),
  G_DEFINE_ENUM_VALUE (DROVER_SERIAL_STATE_PRINTING, "printing"),
  G_DEFINE_ENUM_VALUE (DROVER_SERIAL_STATE_PAUSED, "paused"),
  G_DEFINE_ENUM_VALUE (DROVER_SERIAL_STATE_ERROR, "error"))

G_DEFINE_ENUM_TYPE (DroverSerialOutcome, drover_serial_outcome,
  G_DEFINE_ENUM_VALUE (DROVER_SERIAL_OUTCOME_NONE, "none"),
  G_DEFINE_ENUM_VALUE (DROVER_SERIAL_OUTCOME_COMPLETED, "completed"),
  G_DEFINE_ENUM_VALUE (DROVER_SERIAL_OUTCOME_CANCELLED, "cancelled"),
  G_DEFINE_ENUM_VALUE (DROVER_SERIAL_OUTCOME_INTERRUPTED, "interrupted"),
  G_DEFINE_ENUM_VALUE (DROVER_SERIAL_OUTCOME_FAILED, "failed"))

G_DEFINE_BOXED_TYPE (DroverSerialPortInfo, drover_serial_port_info,
                     drover_serial_port_info_copy, drover_serial_port_info_free)

/* ------------------------------------------------------------------------ */
/* Lines                                                                     */

static guint8
checksum_of (const char *text,
             gsize       length)
{
  guint8 checksum = 0;

  for (gsize i = 0; i < length; i++)
    checksum ^= (guint8)text[i];
  return checksum;
}

/* Writes "N<n> <command>*<cs>" into @buffer (at least MAX_WIRE_LINE + 32
 * bytes) without a newline, and returns its length. */
static gsize
format_wire_line (char       *buffer,
                  gint64      number,
                  const char *command,
                  gsize       command_length)
{
  gsize length;

  length = (gsize)g_snprintf (buffer, 24, "N%" G_GINT64_FORMAT " ", number);
  memcpy (buffer + length, command, command_length);
  length += command_length;
  length += (gsize)g_snprintf (buffer + length, 8, "*%u", checksum_of (buffer, length));
  return length;
}

/**
 * drover_serial_format_line:
 * @number: the line number
 * @command: one G-code command, without comment or newline
 *
 * Formats a line as Marlin checks it: `N<number> <command>*<checksum>`,
 * the checksum being the XOR of every byte before the `*`, in decimal.
 * `drover_serial_format_line (1, "M115")` is `N1 M115*39`.
 *
 * Returns: (transfer full): the line, without a newline
 */
char *
drover_serial_format_line (gint64      number,
                           const char *command)
{
  gsize command_length;
  char *buffer;

  g_return_val_if_fail (command != NULL, NULL);

  command_length = strlen (command);
  buffer = g_malloc (command_length + 32);
  buffer[format_wire_line (buffer, number, command, command_length)] = '\0';
  return buffer;
}

/* What Marlin would make of a line: a ';' starts a comment it never
 * stores, and a line left empty gets no "ok" at all, so neither may be
 * sent. Returns the command's length (0: nothing to send) and where it
 * starts; surrounding blanks and a '\r' go too. */
static gsize
strip_line (const char  *line,
            gsize        length,
            const char **start)
{
  const char *semicolon = memchr (line, ';', length);
  const char *p = line;
  const char *end;

  if (semicolon != NULL)
    length = (gsize)(semicolon - line);
  end = line + length;
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
    p++;
  while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
    end--;
  *start = p;
  return (gsize)(end - p);
}

/* Why Marlin cannot take @command as Drover sends it, or NULL. */
static char *
check_command (const char *command,
               gsize       length)
{
  const char *p = command;

  if (length > MAX_COMMAND_LENGTH)
    return g_strdup_printf (_("it is %" G_GSIZE_FORMAT " bytes long; Marlin keeps %d bytes of a line, "
                              "which leaves %d beside its number and checksum"),
                            length, MAX_WIRE_LINE, MAX_COMMAND_LENGTH);
  for (gsize i = 0; i < length; i++)
    {
      guchar c = (guchar)command[i];

      if (c == '\\')
        return g_strdup (_("it has a backslash, which Marlin takes as an escape"));
      if (c == '*')
        return g_strdup (_("it has a “*”, which Marlin takes as the start of a checksum"));
      if (c < 0x20 && c != '\t')
        return g_strdup (_("it has a control character"));
    }
  if (*p == 'N' && length > 1 && g_ascii_isdigit (p[1]))
    return g_strdup (_("it has a line number of its own; Drover numbers the lines"));
  for (gsize i = 0; i + 4 <= length; i++)
    if (memcmp (command + i, "M110", 4) == 0 && (i + 4 == length || !g_ascii_isdigit (command[i + 4])))
      return g_strdup (_("it sets the line number (M110), which Drover keeps itself"));
  return NULL;
}

static gboolean
is_m105 (const char *command,
         gsize       length)
{
  return length >= 4 && memcmp (command, "M105", 4) == 0 && (length == 4 || !g_ascii_isdigit (command[4]));
}

/* Commands that legitimately keep Marlin quiet for long on firmware built
 * without HOST_KEEPALIVE (OctoPrint's longRunningCommands). */
static gboolean
is_long_running (const char *command)
{
  static const char * const codes[] = { "G4", "G28", "G29", "G30", "G32", "M0", "M1", "M109",
                                        "M190", "M191", "M303", "M400", "M226", "M600" };

  for (guint i = 0; i < G_N_ELEMENTS (codes); i++)
    {
      gsize n = strlen (codes[i]);

      if (strncmp (command, codes[i], n) == 0 && !g_ascii_isdigit (command[n]))
        return TRUE;
    }
  return FALSE;
}

/* ------------------------------------------------------------------------ */
/* Ports                                                                     */

/**
 * drover_serial_port_info_copy:
 * @info: a #DroverSerialPortInfo
 *
 * Returns: (transfer full): a copy of @info
 */
DroverSerialPortInfo *
drover_serial_port_info_copy (const DroverSerialPortInfo *info)
{
  DroverSerialPortInfo *copy;

  g_return_val_if_fail (info != NULL, NULL);

  copy = g_new0 (DroverSerialPortInfo, 1);
  copy->path = g_strdup (info->path);
  copy->by_id = g_strdup (info->by_id);
  return copy;
}

/**
 * drover_serial_port_info_free:
 * @info: (nullable): a #DroverSerialPortInfo
 *
 * Frees @info.
 */
void
drover_serial_port_info_free (DroverSerialPortInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->path);
  g_free (info->by_id);
  g_free (info);
}

static gboolean
is_printer_port_name (const char *name)
{
  const char *digits;

  if (g_str_has_prefix (name, "ttyACM"))
    digits = name + 6;
  else if (g_str_has_prefix (name, "ttyUSB"))
    digits = name + 6;
  else
    return FALSE;
  if (*digits == '\0')
    return FALSE;
  for (; *digits; digits++)
    if (!g_ascii_isdigit (*digits))
      return FALSE;
  return TRUE;
}

/* ttyACM2 before ttyACM10, as a person counts. */
static int
compare_ports (gconstpointer a,
               gconstpointer b)
{
  const DroverSerialPortInfo *pa = *(DroverSerialPortInfo * const *)a;
  const DroverSerialPortInfo *pb = *(DroverSerialPortInfo * const *)b;
  gsize la = strlen (pa->path);
  gsize lb = strlen (pb->path);
  gsize da = 0, db = 0;

  while (da < la && g_ascii_isdigit (pa->path[la - da - 1]))
    da++;
  while (db < lb && g_ascii_isdigit (pb->path[lb - db - 1]))
    db++;
  if (la - da == lb - db && strncmp (pa->path, pb->path, la - da) == 0 && da > 0 && db > 0)
    {
      guint64 na = g_ascii_strtoull (pa->path + la - da, NULL, 10);
      guint64 nb = g_ascii_strtoull (pb->path + lb - db, NULL, 10);

      return na < nb ? -1 : na > nb ? 1 : 0;
    }
  return strcmp (pa->path, pb->path);
}

/* by-id links are relative ("../../ttyACM0"): resolved against their own
 * folder, then cleaned of "..", without touching the device. */
static char *
resolve_link (const char *link_path)
{
  g_autofree char *target = g_file_read_link (link_path, NULL);
  g_autofree char *dir = NULL;
  g_autofree char *joined = NULL;

  if (target == NULL)
    return NULL;
  if (g_path_is_absolute (target))
    return g_canonicalize_filename (target, NULL);
  dir = g_path_get_dirname (link_path);
  joined = g_build_filename (dir, target, NULL);
  return g_canonicalize_filename (joined, NULL);
}

/**
 * drover_serial_list_ports_in:
 * @dev_dir: the device folder, `/dev` but for tests
 *
 * The serial ports a printer may be on: `ttyACM*` (boards with native USB
 * and most 32-bit ones) and `ttyUSB*` (a USB-serial chip) in @dev_dir,
 * each with its stable name from `serial/by-id/` where udev made one.
 *
 * Returns: (transfer container) (element-type DroverSerialPortInfo): the
 *   ports, sorted by path
 */
GPtrArray *
drover_serial_list_ports_in (const char *dev_dir)
{
  GPtrArray *ports = g_ptr_array_new_with_free_func ((GDestroyNotify)drover_serial_port_info_free);
  g_autoptr(GHashTable) by_id = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *by_id_dir = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;

  g_return_val_if_fail (dev_dir != NULL, ports);

  by_id_dir = g_build_filename (dev_dir, "serial", "by-id", NULL);
  dir = g_dir_open (by_id_dir, 0, NULL);
  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *link = g_build_filename (by_id_dir, name, NULL);
          g_autofree char *target = resolve_link (link);

          /* Two links to one device: keep one, the same one every time. */
          if (target != NULL)
            {
              const char *known = g_hash_table_lookup (by_id, target);

              if (known == NULL || strcmp (link, known) < 0)
                g_hash_table_replace (by_id, g_steal_pointer (&target), g_steal_pointer (&link));
            }
        }
      g_clear_pointer (&dir, g_dir_close);
    }

  dir = g_dir_open (dev_dir, 0, NULL);
  if (dir == NULL)
    return ports;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      DroverSerialPortInfo *info;
      g_autofree char *canonical = NULL;

      if (!is_printer_port_name (name))
        continue;
      info = g_new0 (DroverSerialPortInfo, 1);
      info->path = g_build_filename (dev_dir, name, NULL);
      canonical = g_canonicalize_filename (info->path, NULL);
      info->by_id = g_strdup (g_hash_table_lookup (by_id, canonical));
      g_ptr_array_add (ports, info);
    }
  g_ptr_array_sort (ports, compare_ports);
  return ports;
}

/**
 * drover_serial_list_ports:
 *
 * drover_serial_list_ports_in() on `/dev`.
 *
 * Returns: (transfer container) (element-type DroverSerialPortInfo): the ports
 */
GPtrArray *
drover_serial_list_ports (void)
{
  return drover_serial_list_ports_in ("/dev");
}

static gboolean
port_lists_equal (GPtrArray *a,
                  GPtrArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    {
      const DroverSerialPortInfo *pa = g_ptr_array_index (a, i);
      const DroverSerialPortInfo *pb = g_ptr_array_index (b, i);

      if (g_strcmp0 (pa->path, pb->path) != 0 || g_strcmp0 (pa->by_id, pb->by_id) != 0)
        return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* DroverSerialWatcher                                                       */

/* udev makes the by-id link a moment after the device node: one rescan
 * for a burst of events, a little after the last. */
#define WATCHER_SETTLE_MS 150

struct _DroverSerialWatcher
{
  GObject       parent_instance;

  char         *dev_dir;
  GFileMonitor *dev_monitor;
  GFileMonitor *serial_monitor;
  GFileMonitor *by_id_monitor;
  GPtrArray    *ports;
  GSource      *rescan_source;
};

G_DEFINE_FINAL_TYPE (DroverSerialWatcher, drover_serial_watcher, G_TYPE_OBJECT)

enum {
  WATCHER_CHANGED,
  N_WATCHER_SIGNALS
};

static guint watcher_signals[N_WATCHER_SIGNALS];

static void watcher_monitor (DroverSerialWatcher *self);

static void
watcher_cancel_rescan (DroverSerialWatcher *self)
{
  if (self->rescan_source == NULL)
    return;
  g_source_destroy (self->rescan_source);
  g_clear_pointer (&self->rescan_source, g_source_unref);
}

static gboolean
watcher_rescan_cb (gpointer data)
{
  DroverSerialWatcher *self = data;
  g_autoptr(GPtrArray) ports = drover_serial_list_ports_in (self->dev_dir);

  g_clear_pointer (&self->rescan_source, g_source_unref);
  /* /dev/serial/by-id comes and goes with the first and last device. */
  watcher_monitor (self);
  if (port_lists_equal (ports, self->ports))
    return G_SOURCE_REMOVE;
  g_clear_pointer (&self->ports, g_ptr_array_unref);
  self->ports = g_steal_pointer (&ports);
  g_signal_emit (self, watcher_signals[WATCHER_CHANGED], 0);
  return G_SOURCE_REMOVE;
}

static void
watcher_changed_cb (GFileMonitor      *monitor,
                    GFile             *file,
                    GFile             *other_file,
                    GFileMonitorEvent  event,
                    gpointer           data)
{
  DroverSerialWatcher *self = data;

  if (event == G_FILE_MONITOR_EVENT_CHANGED || event == G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT ||
      event == G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED)
    return;
  watcher_cancel_rescan (self);
  /* On the context the monitors report to, which is the watcher's. */
  self->rescan_source = g_timeout_source_new (WATCHER_SETTLE_MS);
  g_source_set_callback (self->rescan_source, watcher_rescan_cb, self, NULL);
  g_source_attach (self->rescan_source, g_main_context_get_thread_default ());
}

static GFileMonitor *
watch_dir (DroverSerialWatcher *self,
           const char          *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  GFileMonitor *monitor;

  monitor = g_file_monitor_directory (file, G_FILE_MONITOR_NONE, NULL, &error);
  if (monitor == NULL)
    {
      g_debug ("Cannot watch %s: %s", path, error->message);
      return NULL;
    }
  g_signal_connect (monitor, "changed", G_CALLBACK (watcher_changed_cb), self);
  return monitor;
}

static void
watcher_monitor (DroverSerialWatcher *self)
{
  g_autofree char *serial_dir = g_build_filename (self->dev_dir, "serial", NULL);
  g_autofree char *by_id_dir = g_build_filename (serial_dir, "by-id", NULL);

  if (self->dev_monitor == NULL)
    self->dev_monitor = watch_dir (self, self->dev_dir);
  if (self->serial_monitor == NULL && g_file_test (serial_dir, G_FILE_TEST_IS_DIR))
    self->serial_monitor = watch_dir (self, serial_dir);
  if (!g_file_test (by_id_dir, G_FILE_TEST_IS_DIR))
    {
      /* A monitor on a folder that went away reports nothing more. */
      if (self->by_id_monitor != NULL)
        {
          g_file_monitor_cancel (self->by_id_monitor);
          g_clear_object (&self->by_id_monitor);
        }
      if (self->serial_monitor != NULL && !g_file_test (serial_dir, G_FILE_TEST_IS_DIR))
        {
          g_file_monitor_cancel (self->serial_monitor);
          g_clear_object (&self->serial_monitor);
        }
    }
  else if (self->by_id_monitor == NULL)
    self->by_id_monitor = watch_dir (self, by_id_dir);
}

static void
drover_serial_watcher_dispose (GObject *object)
{
  DroverSerialWatcher *self = DROVER_SERIAL_WATCHER (object);
  GFileMonitor **monitors[] = { &self->dev_monitor, &self->serial_monitor, &self->by_id_monitor };

  watcher_cancel_rescan (self);
  for (guint i = 0; i < G_N_ELEMENTS (monitors); i++)
    if (*monitors[i] != NULL)
      {
        g_signal_handlers_disconnect_by_data (*monitors[i], self);
        g_file_monitor_cancel (*monitors[i]);
        g_clear_object (monitors[i]);
      }

  G_OBJECT_CLASS (drover_serial_watcher_parent_class)->dispose (object);
}

static void
drover_serial_watcher_finalize (GObject *object)
{
  DroverSerialWatcher *self = DROVER_SERIAL_WATCHER (object);

  g_free (self->dev_dir);
  g_clear_pointer (&self->ports, g_ptr_array_unref);

  G_OBJECT_CLASS (drover_serial_watcher_parent_class)->finalize (object);
}

static void
drover_serial_watcher_class_init (DroverSerialWatcherClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = drover_serial_watcher_dispose;
  object_class->finalize = drover_serial_watcher_finalize;

  /**
   * DroverSerialWatcher::changed:
   * @self: the watcher
   *
   * A port came or went (or its by-id name did); get the new list with
   * drover_serial_watcher_dup_ports(). Emitted on the main context the
   * watcher was made in.
   */
  watcher_signals[WATCHER_CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
drover_serial_watcher_init (DroverSerialWatcher *self)
{
}

/**
 * drover_serial_watcher_new_for_dir:
 * @dev_dir: the device folder to watch, `/dev` but for tests
 *
 * Watches @dev_dir and its `serial/by-id` for printers plugged in and
 * pulled out.
 *
 * Returns: (transfer full): a new watcher
 */
DroverSerialWatcher *
drover_serial_watcher_new_for_dir (const char *dev_dir)
{
  DroverSerialWatcher *self;

  g_return_val_if_fail (dev_dir != NULL, NULL);

  self = g_object_new (DROVER_TYPE_SERIAL_WATCHER, NULL);
  self->dev_dir = g_strdup (dev_dir);
  self->ports = drover_serial_list_ports_in (dev_dir);
  watcher_monitor (self);
  return self;
}

/**
 * drover_serial_watcher_new:
 *
 * drover_serial_watcher_new_for_dir() on `/dev`.
 *
 * Returns: (transfer full): a new watcher
 */
DroverSerialWatcher *
drover_serial_watcher_new (void)
{
  return drover_serial_watcher_new_for_dir ("/dev");
}

/**
 * drover_serial_watcher_dup_ports:
 * @self: a #DroverSerialWatcher
 *
 * Returns: (transfer container) (element-type DroverSerialPortInfo): the
 *   ports as of the last #DroverSerialWatcher::changed
 */
GPtrArray *
drover_serial_watcher_dup_ports (DroverSerialWatcher *self)
{
  GPtrArray *copy;

  g_return_val_if_fail (DROVER_IS_SERIAL_WATCHER (self), NULL);

  copy = g_ptr_array_new_full (self->ports->len, (GDestroyNotify)drover_serial_port_info_free);
  for (guint i = 0; i < self->ports->len; i++)
    g_ptr_array_add (copy, drover_serial_port_info_copy (g_ptr_array_index (self->ports, i)));
  return copy;
}

/* ------------------------------------------------------------------------ */
/* The I/O thread's state                                                    */

typedef enum
{
  ORIGIN_JOB,
  ORIGIN_COMMAND,
  ORIGIN_HOST,
} LineOrigin;

typedef enum
{
  LINE_FLAG_M105        = 1 << 0,  /* its ok carries "T:": a sync point */
  LINE_FLAG_LONG        = 1 << 1,  /* may keep a printer quiet for minutes */
  LINE_FLAG_POLL        = 1 << 2,  /* the temperature poll */
  LINE_FLAG_PROBE       = 1 << 3,  /* asks where an ok went */
  LINE_FLAG_CANCEL_LAST = 1 << 4,  /* the end of the cancel sequence */
  LINE_FLAG_HANDSHAKE   = 1 << 5,
} LineFlags;

/* One numbered line, kept until it cannot be asked for again. */
typedef struct
{
  gint64  number;
  guint64 job_index;     /* 1, 2… for job lines */
  guint   command_id;    /* for command lines */
  guint8  origin;
  guint8  flags;
  guint8  length;        /* wire bytes, newline included */
  gboolean written;      /* written in full at least once */
  char    text[MAX_WIRE_LINE + 24];
} HistoryLine;

/* A host or command line that has no number yet. */
typedef struct
{
  char     *command;
  LineOrigin origin;
  LineFlags flags;
  guint     command_id;
} PendingLine;

typedef struct
{
  guint      id;
  GTask     *task;
  guint      line_count;
  guint      lines_left;   /* not yet given a number */
  gint64     last_number;  /* of its last line, once numbered */
  GString   *reply;
  gboolean   cancelled;
} Command;

typedef struct
{
  guint      id;
  GTask     *task;
  GBytes    *gcode;
  const char *data;
  gsize      size;
  gsize      offset;
  guint64    total;
  guint64    taken;        /* lines given a number */
  guint64    done;         /* lines acknowledged */
  gboolean   paused;
  gboolean   cancelling;
  gint64     started_us;
  gint64     paused_since_us;
  gint64     paused_us;
} Job;

typedef enum
{
  REQUEST_PRINT,
  REQUEST_PAUSE,
  REQUEST_RESUME,
  REQUEST_CANCEL,
  REQUEST_COMMAND,
  REQUEST_CANCEL_COMMAND,
  REQUEST_CANCEL_OPEN,
} RequestKind;

typedef struct
{
  RequestKind kind;
  GTask      *task;
  Job        *job;
  GPtrArray  *lines;
  guint       id;
} Request;

typedef enum
{
  COMPLETION_OPEN,
  COMPLETION_PRINT,
  COMPLETION_COMMAND,
} CompletionKind;

typedef struct
{
  CompletionKind      kind;
  GTask              *task;
  DroverSerialOutcome outcome;
  GError             *error;
  char               *reply;
} Completion;

/* What the main context shows; the I/O thread fills it. */
typedef struct
{
  DroverSerialState state;
  char             *firmware_name;
  char            **capabilities;
  gboolean          advanced_ok;
  gboolean          pipelining;
  double            hotend;
  double            hotend_target;
  double            bed;
  double            bed_target;
  guint64           lines_sent;
  guint64           lines_total;
  guint64           lines_done;
  guint64           resends;
  gint64            time_left;
  char             *error_message;
  guint             job_id;          /* the job the line counts are of */
} Snapshot;

typedef enum
{
  HANDSHAKE_BANNER,
  HANDSHAKE_HELLO,
  HANDSHAKE_IDENTIFY,
  HANDSHAKE_AUTOREPORT,
  HANDSHAKE_DONE,
} HandshakeStep;

/* The line hook lives in the stream, which outlives its threads. */
typedef struct
{
  GMutex               mutex;
  DroverSerialLineFunc func;
  gpointer             data;
  GDestroyNotify       destroy;
} LineHook;

typedef struct
{
  /* Set before the thread starts, then read-only */
  char          *path;
  guint          baud;
  GMainContext  *context;
  GWeakRef       stream;
  LineHook      *hook;
  int            wake_fds[2];

  /* Guarded by mutex: between the threads */
  GMutex         mutex;
  GQueue         requests;
  gboolean       quit;
  Snapshot       shared;
  gboolean       apply_scheduled;
  gint64         last_apply_us;
  GQueue         completions;

  /* The I/O thread's own */
  int            fd;
  gboolean       dead;         /* the port is gone: stop */
  gboolean       halted;       /* the firmware halted: write nothing */
  GByteArray    *in;
  GByteArray    *out;
  Snapshot       state;
  gboolean       state_dirty;
  gboolean       strings_dirty;
  gboolean       publish_urgent;
  GTask         *open_task;

  HandshakeStep  handshake;
  gint64         handshake_deadline;
  guint          hello_tries;
  gboolean       firmware_seen;
  gboolean       autoreport;
  GPtrArray     *capabilities;

  HistoryLine   *history;
  gint64         next_number;      /* the number a new line gets */
  gint64         send_cursor;      /* the next number to write */
  gint64         acked;            /* every line up to here is acknowledged */
  gint64         completed_through;/* acknowledgements acted upon up to here */
  gint64         queued_through;   /* ADVANCED_OK: in Marlin's command queue up to here */
  gsize          partial_bytes;    /* of the line at send_cursor, written ahead */
  gsize          dirty_bytes;      /* Marlin may hold this much of a line begun */
  gint64         last_resend_request;
  guint          consecutive_resends;
  guint64        resend_requests;
  guint64        lines_written;
  gboolean       swallow_ok;
  gboolean       ok_after_resend;
  guint          bufsize_estimate;

  gint64         last_progress_us;
  gint64         last_byte_us;
  gboolean       busy_seen;
  gint64         last_busy_us;
  gint64         busy_interval_us;      /* the shortest seen, 0 before two */
  gint64         last_report_us;
  gint64         report_interval_us;    /* M155's, smoothed, 0 before two */
  guint          quiet_strikes;
  gint64         last_poll_us;
  gboolean       poll_outstanding;
  gboolean       probe_outstanding;

  GQueue         pending;          /* PendingLine */
  GQueue         commands;         /* Command */
  Job           *job;
  char          *last_notice;      /* the last "Error:" not about a line, or "echo:" */
} Io;

static void
pending_line_free (PendingLine *line)
{
  g_free (line->command);
  g_free (line);
}

static void
snapshot_clear (Snapshot *snapshot)
{
  g_clear_pointer (&snapshot->firmware_name, g_free);
  g_clear_pointer (&snapshot->capabilities, g_strfreev);
  g_clear_pointer (&snapshot->error_message, g_free);
}

static void
snapshot_init (Snapshot *snapshot)
{
  memset (snapshot, 0, sizeof *snapshot);
  snapshot->state = DROVER_SERIAL_STATE_OPENING;
  snapshot->pipelining = TRUE;
  snapshot->time_left = -1;
}

static void
job_free (Job *job)
{
  if (job == NULL)
    return;
  /* The task never ends here: it always goes back to the main context. */
  g_warn_if_fail (job->task == NULL);
  g_clear_pointer (&job->gcode, g_bytes_unref);
  g_free (job);
}

static void
io_free (Io *io)
{
  g_weak_ref_clear (&io->stream);
  g_clear_pointer (&io->context, g_main_context_unref);
  g_free (io->path);
  for (guint i = 0; i < 2; i++)
    if (io->wake_fds[i] >= 0)
      close (io->wake_fds[i]);
  g_mutex_clear (&io->mutex);
  g_warn_if_fail (g_queue_is_empty (&io->requests));
  g_warn_if_fail (g_queue_is_empty (&io->completions));
  snapshot_clear (&io->shared);
  snapshot_clear (&io->state);
  g_clear_pointer (&io->in, g_byte_array_unref);
  g_clear_pointer (&io->out, g_byte_array_unref);
  g_clear_pointer (&io->capabilities, g_ptr_array_unref);
  g_free (io->history);
  g_queue_clear_full (&io->pending, (GDestroyNotify)pending_line_free);
  g_free (io->last_notice);
}

static Io *
io_ref (Io *io)
{
  return g_atomic_rc_box_acquire (io);
}

static void
io_unref (Io *io)
{
  g_atomic_rc_box_release_full (io, (GDestroyNotify)io_free);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Io, io_unref)

static void
io_wake (Io *io)
{
  char c = 'w';

  if (write (io->wake_fds[1], &c, 1) < 0 && errno != EAGAIN)
    g_warning ("Cannot wake the serial thread of %s: %s", io->path, g_strerror (errno));
}

/* ------------------------------------------------------------------------ */
/* Handing results to the main context                                       */

static gboolean apply_cb (gpointer data);

/* Called with io->mutex held. */
static void
io_schedule_apply_locked (Io      *io,
                          gboolean urgent)
{
  GSource *source;
  gint64 delay_us = 0;

  if (io->apply_scheduled && !urgent)
    return;
  if (!urgent)
    delay_us = MAX (0, io->last_apply_us + PUBLISH_INTERVAL_US - g_get_monotonic_time ());
  /* An idle source runs on the thread that iterates the context, never here. */
  source = delay_us > 0 ? g_timeout_source_new ((guint)(delay_us / 1000) + 1) : g_idle_source_new ();
  g_source_set_static_name (source, "[drover-serial] apply");
  g_source_set_callback (source, apply_cb, io_ref (io), (GDestroyNotify)io_unref);
  g_source_attach (source, io->context);
  g_source_unref (source);
  io->apply_scheduled = TRUE;
}

static void
io_publish (Io *io)
{
  if (!io->state_dirty && !io->publish_urgent)
    return;

  g_mutex_lock (&io->mutex);
  if (io->strings_dirty)
    {
      drover_set_str (&io->shared.firmware_name, io->state.firmware_name);
      drover_set_str (&io->shared.error_message, io->state.error_message);
      g_strfreev (io->shared.capabilities);
      io->shared.capabilities = g_strdupv (io->state.capabilities);
    }
  io->shared.state = io->state.state;
  io->shared.advanced_ok = io->state.advanced_ok;
  io->shared.pipelining = io->state.pipelining;
  io->shared.hotend = io->state.hotend;
  io->shared.hotend_target = io->state.hotend_target;
  io->shared.bed = io->state.bed;
  io->shared.bed_target = io->state.bed_target;
  io->shared.lines_sent = io->state.lines_sent;
  io->shared.lines_total = io->state.lines_total;
  io->shared.lines_done = io->state.lines_done;
  io->shared.resends = io->state.resends;
  io->shared.time_left = io->state.time_left;
  io->shared.job_id = io->state.job_id;
  io_schedule_apply_locked (io, io->publish_urgent);
  g_mutex_unlock (&io->mutex);

  io->state_dirty = io->strings_dirty = io->publish_urgent = FALSE;
}

static void
io_push_completion (Io                 *io,
                    CompletionKind      kind,
                    GTask              *task,
                    DroverSerialOutcome outcome,
                    GError             *error,
                    char               *reply)
{
  Completion *completion = g_new0 (Completion, 1);

  completion->kind = kind;
  completion->task = task;
  completion->outcome = outcome;
  completion->error = error;
  completion->reply = reply;
  g_mutex_lock (&io->mutex);
  g_queue_push_tail (&io->completions, completion);
  g_mutex_unlock (&io->mutex);
  io->publish_urgent = TRUE;
}

static void
io_set_state (Io               *io,
              DroverSerialState state)
{
  if (io->state.state == state)
    return;
  io->state.state = state;
  io->state_dirty = TRUE;
  io->publish_urgent = TRUE;
}

static void
io_set_error_message (Io         *io,
                      const char *message)
{
  if (drover_set_str (&io->state.error_message, message))
    io->strings_dirty = io->state_dirty = io->publish_urgent = TRUE;
}

static void
io_call_hook (Io                   *io,
              DroverSerialLineKind  kind,
              const char           *text,
              gsize                 length)
{
  LineHook *hook = io->hook;

  g_mutex_lock (&hook->mutex);
  if (hook->func != NULL)
    hook->func (kind, text, length, hook->data);
  g_mutex_unlock (&hook->mutex);
}

/* ------------------------------------------------------------------------ */
/* Jobs and commands ending                                                  */

static void
io_end_job (Io                 *io,
            DroverSerialOutcome outcome,
            GError             *error)
{
  Job *job = g_steal_pointer (&io->job);

  if (job == NULL)
    {
      g_clear_error (&error);
      return;
    }
  io_push_completion (io, COMPLETION_PRINT, g_steal_pointer (&job->task), outcome, error, NULL);
  job_free (job);
  io->state.time_left = -1;
  io->state_dirty = TRUE;
  if (!io->dead && !io->halted && io->handshake == HANDSHAKE_DONE)
    io_set_state (io, DROVER_SERIAL_STATE_IDLE);
}

static Command *
io_find_command (Io   *io,
                 guint id)
{
  for (GList *l = io->commands.head; l != NULL; l = l->next)
    {
      Command *command = l->data;

      if (command->id == id)
        return command;
    }
  return NULL;
}

static void
io_end_command (Io      *io,
                Command *command,
                GError  *error)
{
  char *reply = NULL;

  g_queue_remove (&io->commands, command);
  /* Lines of it that never got a number are not sent after all. */
  for (GList *l = io->pending.head; l != NULL;)
    {
      GList *next = l->next;
      PendingLine *line = l->data;

      if (line->origin == ORIGIN_COMMAND && line->command_id == command->id)
        {
          pending_line_free (line);
          g_queue_delete_link (&io->pending, l);
        }
      l = next;
    }
  if (error == NULL)
    reply = g_utf8_make_valid (command->reply->str, (gssize)command->reply->len);
  io_push_completion (io, COMPLETION_COMMAND, g_steal_pointer (&command->task), DROVER_SERIAL_OUTCOME_NONE,
                      error, reply);
  g_string_free (command->reply, TRUE);
  g_free (command);
}

/* Everything under way ends with @error (borrowed): the port vanished, the
 * printer restarted or halted, or the stream is closing. */
static void
io_fail_all (Io                 *io,
             DroverSerialOutcome outcome,
             const GError       *error)
{
  if (io->open_task != NULL)
    io_push_completion (io, COMPLETION_OPEN, g_steal_pointer (&io->open_task), DROVER_SERIAL_OUTCOME_NONE,
                        g_error_copy (error), NULL);
  if (io->job != NULL)
    io_end_job (io, outcome, g_error_copy (error));
  while (!g_queue_is_empty (&io->commands))
    io_end_command (io, g_queue_peek_head (&io->commands), g_error_copy (error));
  g_queue_clear_full (&io->pending, (GDestroyNotify)pending_line_free);
  io->poll_outstanding = io->probe_outstanding = FALSE;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */

static HistoryLine *
history_at (Io    *io,
            gint64 number)
{
  return &io->history[number % HISTORY_SIZE];
}

static void
io_port_vanished (Io  *io,
                  int  saved_errno)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  if (io->dead)
    return;
  io->dead = TRUE;
  g_debug ("%s vanished: %s", io->path, saved_errno ? g_strerror (saved_errno) : "hang-up");
  message = g_strdup_printf (_("The printer on %s went away: its cable was pulled or it was switched off."),
                             io->path);
  error = g_error_new_literal (DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_UNPLUGGED, message);
  io_fail_all (io, DROVER_SERIAL_OUTCOME_INTERRUPTED, error);
  io_set_error_message (io, message);
  io_set_state (io, DROVER_SERIAL_STATE_ERROR);
}

static void
io_flush (Io *io)
{
  while (io->out->len > 0 && !io->dead)
    {
      gssize written = write (io->fd, io->out->data, io->out->len);

      if (written > 0)
        g_byte_array_remove_range (io->out, 0, (guint)written);
      else if (written < 0 && errno == EINTR)
        continue;
      else if (written < 0 && errno == EAGAIN)
        break;
      else
        io_port_vanished (io, written < 0 ? errno : 0);
    }
}

static gsize
io_max_lines_in_flight (Io *io)
{
  if (io->handshake != HANDSHAKE_DONE || !io->state.pipelining)
    return 1;
  return MAX_LINES_IN_FLIGHT;
}

/* The oldest line written in full that Marlin may not have parsed yet:
 * not acknowledged, and not reported in its command queue by ADVANCED_OK. */
static gint64
io_first_unparsed (Io *io)
{
  return MAX (io->acked, io->queued_through) + 1;
}

static gsize
io_unparsed_bytes (Io *io)
{
  gsize bytes = 0;

  for (gint64 n = io_first_unparsed (io); n < io->send_cursor; n++)
    bytes += history_at (io, n)->length;
  return bytes;
}

/* A line may be written when no other is still unparsed: whatever
 * follows an unparsed line may turn into a command of its own (see the
 * top of this file). */
static gboolean
io_may_complete (Io                *io,
                 const HistoryLine *line)
{
  if ((gsize)(io->send_cursor - io->acked - 1) >= io_max_lines_in_flight (io))
    return FALSE;
  if (io->send_cursor > io_first_unparsed (io))
    return FALSE;
  /* Alone in Marlin's receive buffer: it always fits. */
  return TRUE;
}

static void
fill_line (HistoryLine *line,
           gint64       number,
           const char  *command,
           gsize        command_length)
{
  gsize length = format_wire_line (line->text, number, command, command_length);

  line->text[length++] = '\n';
  line->length = (guint8)length;
  line->number = number;
  line->written = FALSE;
}

static void
io_queue_host_line (Io         *io,
                    const char *command,
                    LineFlags   flags,
                    guint       tag,
                    gboolean    first)
{
  PendingLine *line = g_new0 (PendingLine, 1);

  line->command = g_strdup (command);
  line->origin = ORIGIN_HOST;
  line->flags = flags;
  line->command_id = tag;
  if (first)
    g_queue_push_head (&io->pending, line);
  else
    g_queue_push_tail (&io->pending, line);
}

/* The next job line with something Marlin will answer, from @offset. */
static gboolean
job_next_line (Job         *job,
               gsize       *offset,
               const char **command,
               gsize       *length)
{
  while (*offset < job->size)
    {
      const char *start = job->data + *offset;
      const char *newline = memchr (start, '\n', job->size - *offset);
      gsize line_length = newline ? (gsize)(newline - start) : job->size - *offset;

      *offset += line_length + (newline ? 1 : 0);
      *length = strip_line (start, line_length, command);
      if (*length > 0)
        return TRUE;
    }
  return FALSE;
}

/* Prepares the next new line in its history slot, without numbering it
 * for good: host and command lines first (stop, heaters-off… never wait
 * behind the job), then the job. */
static HistoryLine *
io_stage (Io           *io,
          PendingLine **pending,
          gsize        *job_offset)
{
  HistoryLine *line = history_at (io, io->next_number);
  const char *command = NULL;
  gsize length = 0;

  *pending = g_queue_peek_head (&io->pending);
  if (*pending != NULL)
    {
      command = (*pending)->command;
      length = strlen (command);
      fill_line (line, io->next_number, command, length);
      line->origin = (*pending)->origin;
      line->flags = (*pending)->flags;
      line->command_id = (*pending)->command_id;
      line->job_index = 0;
    }
  else if (io->job != NULL && !io->job->paused && !io->job->cancelling &&
           (*job_offset = io->job->offset, job_next_line (io->job, job_offset, &command, &length)))
    {
      fill_line (line, io->next_number, command, length);
      line->origin = ORIGIN_JOB;
      line->flags = 0;
      line->command_id = 0;
      line->job_index = io->job->taken + 1;
    }
  else
    return NULL;

  if (is_m105 (command, length))
    line->flags |= LINE_FLAG_M105;
  if (length >= 2 && (command[0] == 'G' || command[0] == 'M'))
    {
      char code[8] = { 0 };

      memcpy (code, command, MIN (length, sizeof code - 1));
      if (is_long_running (code))
        line->flags |= LINE_FLAG_LONG;
    }
  return line;
}

/* The staged line gets its number: it goes next, in full or begun. */
static void
io_commit (Io          *io,
           HistoryLine *line,
           PendingLine *pending,
           gsize        job_offset)
{
  io->next_number++;
  if (pending != NULL)
    {
      g_queue_pop_head (&io->pending);
      if (pending->origin == ORIGIN_COMMAND)
        {
          Command *owner = io_find_command (io, pending->command_id);

          if (owner != NULL && --owner->lines_left == 0)
            owner->last_number = line->number;
        }
      pending_line_free (pending);
    }
  else
    {
      io->job->offset = job_offset;
      io->job->taken++;
    }
}

static void
io_write_bytes (Io         *io,
                const char *bytes,
                gsize       length)
{
  g_byte_array_append (io->out, (const guint8 *)bytes, (guint)length);
}

/* Whether the start of @line may follow the line just written, in the
 * same write. It is the only thing written behind a line Marlin has not
 * parsed, and it carries no newline: should that line be refused, Marlin
 * discards its receive buffer, and whatever of the start arrives later
 * stays in its line buffer, incomplete, until Drover erases it
 * (dirty_bytes). */
static gboolean
io_may_begin (Io *io)
{
  if (!io->state.pipelining || io->handshake != HANDSHAKE_DONE || io->partial_bytes > 0)
    return FALSE;
  if ((gsize)(io->send_cursor - io->acked - 1) >= io_max_lines_in_flight (io))
    return FALSE;
  if (io->send_cursor != io_first_unparsed (io) + 1)
    return FALSE;
  return io_unparsed_bytes (io) + PREFIX_BYTES <= RX_BUFFER_BYTES;
}

/* A line was refused: Marlin discarded its receive buffer, perhaps with
 * only part of a start written ahead, the rest arriving after. */
static void
io_line_refused (Io *io)
{
  io->dirty_bytes = MAX (io->dirty_bytes, io->partial_bytes);
  io->partial_bytes = 0;
}

/* Writes what may go now: one line Marlin has not parsed and the start of
 * the next (io_may_begin()). */
static void
io_pump (Io *io)
{
  gboolean completed = FALSE;
  gboolean erased = FALSE;

  if (io->dead || io->halted || io->handshake == HANDSHAKE_BANNER)
    return;

  for (guint i = 0; i < 256; i++)
    {
      HistoryLine *line;
      PendingLine *pending = NULL;
      gsize job_offset = 0;
      gboolean staged = FALSE;
      DroverSerialLineKind kind;

      if (io->send_cursor < io->next_number)
        line = history_at (io, io->send_cursor);
      else
        {
          line = io_stage (io, &pending, &job_offset);
          if (line == NULL)
            return;
          staged = TRUE;
        }

      if (!io_may_complete (io, line))
        {
          /* Backspaces count in Marlin's receive buffer too. */
          if (completed && !erased && io_may_begin (io))
            {
              if (staged)
                io_commit (io, line, pending, job_offset);
              io->partial_bytes = MIN (PREFIX_BYTES, line->length - 1u);
              io_write_bytes (io, line->text, io->partial_bytes);
            }
          return;
        }

      if (io->dirty_bytes > 0)
        {
          /* 0x08 takes back one byte of Marlin's line buffer, and does
           * nothing to an empty one: what is left of a start written
           * ahead goes, so it cannot run with the next newline. */
          static const char backspaces[MAX_WIRE_LINE] = { [0 ... MAX_WIRE_LINE - 1] = '\b' };

          io_write_bytes (io, backspaces, MIN (io->dirty_bytes, sizeof backspaces));
          io->dirty_bytes = 0;
          erased = TRUE;
        }
      if (staged)
        io_commit (io, line, pending, job_offset);
      /* The first line after a rest: the printer's silence counts from now. */
      if (io->acked == io->send_cursor - 1)
        io->last_byte_us = io->last_progress_us = g_get_monotonic_time ();
      io_write_bytes (io, line->text + io->partial_bytes, line->length - io->partial_bytes);
      io->partial_bytes = 0;
      io->send_cursor++;
      io->lines_written++;
      completed = TRUE;

      if (line->written)
        {
          kind = DROVER_SERIAL_LINE_RESENT;
          io->state.resends++;
        }
      else if (line->origin == ORIGIN_JOB)
        {
          kind = DROVER_SERIAL_LINE_SENT_JOB;
          io->state.lines_sent = MAX (io->state.lines_sent, line->job_index);
        }
      else
        kind = line->origin == ORIGIN_COMMAND ? DROVER_SERIAL_LINE_SENT_COMMAND : DROVER_SERIAL_LINE_SENT_HOST;
      line->written = TRUE;
      io->state_dirty = TRUE;
      io_call_hook (io, kind, line->text, line->length - 1u);
    }
}

/* ------------------------------------------------------------------------ */
/* Acknowledgements                                                          */

static void io_handshake_line_acked (Io                *io,
                                     const HistoryLine *line);

static void
io_update_time_left (Io     *io,
                     gint64  now)
{
  Job *job = io->job;
  gint64 elapsed;
  gint64 time_left = -1;

  if (job == NULL)
    return;
  elapsed = now - job->started_us - job->paused_us - (job->paused ? now - job->paused_since_us : 0);
  /* Too early to say: the first lines are often heating. */
  if (job->done >= 20 && elapsed >= G_USEC_PER_SEC)
    time_left = (gint64)((double)elapsed / (double)job->done * (double)(job->total - job->done) / G_USEC_PER_SEC);
  if (time_left != io->state.time_left)
    {
      io->state.time_left = time_left;
      io->state_dirty = TRUE;
    }
}

static void
io_line_acked (Io                *io,
               const HistoryLine *line)
{
  switch ((LineOrigin)line->origin)
    {
    case ORIGIN_JOB:
      if (io->job != NULL && line->job_index > io->job->done)
        {
          io->job->done = line->job_index;
          io->state.lines_done = io->job->done;
          io->state_dirty = TRUE;
        }
      break;

    case ORIGIN_COMMAND:
      {
        Command *command = io_find_command (io, line->command_id);

        if (command != NULL && command->lines_left == 0 && command->last_number == line->number)
          io_end_command (io, command, NULL);
      }
      break;

    case ORIGIN_HOST:
    default:
      if (line->flags & LINE_FLAG_POLL)
        io->poll_outstanding = FALSE;
      if (line->flags & LINE_FLAG_PROBE)
        io->probe_outstanding = FALSE;
      if (line->flags & LINE_FLAG_HANDSHAKE)
        io_handshake_line_acked (io, line);
      if ((line->flags & LINE_FLAG_CANCEL_LAST) && io->job != NULL && io->job->cancelling)
        io_end_job (io, DROVER_SERIAL_OUTCOME_CANCELLED,
                    g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The print was cancelled.")));
      break;
    }
}

/* Every line up to @number is done. */
static void
io_ack_through (Io     *io,
                gint64  number)
{
  number = MIN (number, io->send_cursor - 1);
  if (number <= io->acked)
    return;
  io->acked = number;
  io->quiet_strikes = 0;
  if (io->acked >= io->last_resend_request)
    io->consecutive_resends = 0;
  while (io->completed_through < number)
    {
      HistoryLine *line;

      io->completed_through++;
      line = history_at (io, io->completed_through);
      if (line->number == io->completed_through)
        io_line_acked (io, line);
    }
  if (io->job != NULL && !io->job->cancelling && io->job->done == io->job->total)
    {
      gsize offset = io->job->offset;
      const char *command;
      gsize length;

      if (!job_next_line (io->job, &offset, &command, &length))
        io_end_job (io, DROVER_SERIAL_OUTCOME_COMPLETED, NULL);
    }
}

/* An ok for the oldest line in flight, or for nothing at all (the hello
 * answered twice, a stray from before Drover opened the port). */
static void
io_ack_one (Io *io)
{
  if (io->acked < io->send_cursor - 1)
    io_ack_through (io, io->acked + 1);
}

/* The command line that output arriving now belongs to: Marlin runs the
 * lines in order, so it is the oldest one not acknowledged. */
static Command *
io_current_command (Io *io)
{
  HistoryLine *line;

  if (io->acked >= io->send_cursor - 1)
    return NULL;
  line = history_at (io, io->acked + 1);
  if (line->origin != ORIGIN_COMMAND)
    return NULL;
  return io_find_command (io, line->command_id);
}

static void
io_attribute_reply (Io         *io,
                    const char *text,
                    gsize       length)
{
  Command *command = io_current_command (io);

  if (command == NULL)
    return;
  if (command->reply->len > 0)
    g_string_append_c (command->reply, '\n');
  g_string_append_len (command->reply, text, (gssize)length);
}

/* ------------------------------------------------------------------------ */
/* Reading the printer                                                       */

static gboolean
starts_with (const char *line,
             gsize       length,
             const char *prefix)
{
  gsize n = strlen (prefix);

  return length >= n && memcmp (line, prefix, n) == 0;
}

/* "T:21.30 /0.00": the value after @key where a word starts, and the
 * target after a '/'. Any float form: old firmware prints one decimal. */
static gboolean
parse_heater (const char *line,
              const char *key,
              double     *current,
              double     *target)
{
  const char *p = line;
  gsize key_length = strlen (key);
  char *end;

  while ((p = strstr (p, key)) != NULL)
    {
      if (p == line || p[-1] == ' ')
        break;
      p += key_length;
    }
  if (p == NULL)
    return FALSE;
  p += key_length;
  *current = g_ascii_strtod (p, &end);
  if (end == p)
    return FALSE;
  p = end;
  while (*p == ' ')
    p++;
  if (*p == '/')
    {
      double value = g_ascii_strtod (p + 1, &end);

      if (end != p + 1)
        *target = value;
    }
  return TRUE;
}

static gboolean
io_parse_temperatures (Io         *io,
                       const char *line)
{
  double hotend = io->state.hotend, hotend_target = io->state.hotend_target;
  double bed = io->state.bed, bed_target = io->state.bed_target;
  gboolean found = FALSE;

  found |= parse_heater (line, "T:", &hotend, &hotend_target);
  found |= parse_heater (line, "B:", &bed, &bed_target);
  if (hotend != io->state.hotend || hotend_target != io->state.hotend_target ||
      bed != io->state.bed || bed_target != io->state.bed_target)
    {
      io->state.hotend = hotend;
      io->state.hotend_target = hotend_target;
      io->state.bed = bed;
      io->state.bed_target = bed_target;
      io->state_dirty = TRUE;
    }
  return found;
}

/* The numeric value of " <letter><digits>" in an ok line. */
static gboolean
ok_field (const char *line,
          char        letter,
          gint64     *value)
{
  for (const char *p = line; (p = strchr (p, ' ')) != NULL; p++)
    if (p[1] == letter && (g_ascii_isdigit (p[2]) || p[2] == '-'))
      {
        *value = g_ascii_strtoll (p + 2, NULL, 10);
        return TRUE;
      }
  return FALSE;
}

static void io_identified (Io     *io,
                           gint64  now);

static void
io_handle_ok (Io         *io,
              const char *line,
              gsize       length,
              gboolean    after_resend)
{
  gint64 number, buffer_free;
  gboolean has_number, has_temperature;

  has_number = ok_field (line, 'N', &number);
  has_temperature = strstr (line, "T:") != NULL;

  /* The ok that follows "Resend:" belongs to no line. */
  if (after_resend && !has_number && !has_temperature)
    return;

  if (io->handshake == HANDSHAKE_IDENTIFY && io->firmware_seen)
    {
      /* M115's own ok: the capabilities came before it. Counting alone
       * could have given M115 a stray ok from a repeated hello. */
      io_ack_one (io);
      io_identified (io, g_get_monotonic_time ());
      return;
    }

  if (has_temperature)
    io_parse_temperatures (io, line);

  if (has_number)
    {
      gint64 queued;

      if (!io->state.advanced_ok)
        {
          io->state.advanced_ok = TRUE;
          io->state_dirty = TRUE;
        }
      if (number < 0 || number >= io->send_cursor || number < io->acked - HISTORY_SIZE / 2)
        {
          /* Not a number of ours (from before the hello): count it as an ok. */
          io_ack_one (io);
          return;
        }
      if (number > io->acked && history_at (io, number)->origin == ORIGIN_COMMAND)
        {
          io_ack_through (io, number - 1);
          io_attribute_reply (io, line, length);
        }
      io_ack_through (io, number);
      if (ok_field (line, 'B', &buffer_free) && buffer_free >= 0)
        {
          /* B is BUFSIZE minus the queue, the acknowledged command still
           * counted: at rest it shows BUFSIZE - 1. */
          io->bufsize_estimate = MAX (io->bufsize_estimate, (guint)buffer_free + 1);
          queued = (gint64)io->bufsize_estimate - 1 - buffer_free;
          if (queued > 0)
            io->queued_through = MAX (io->queued_through, MIN (number + queued, io->send_cursor - 1));
        }
      return;
    }

  if (has_temperature)
    {
      /* M105's answer: everything sent before that M105 is done too,
       * which recovers from oks lost on the way. */
      for (gint64 n = io->acked + 1; n < io->send_cursor; n++)
        {
          HistoryLine *sent = history_at (io, n);

          if (sent->flags & LINE_FLAG_M105)
            {
              io_ack_through (io, n - 1);
              io_attribute_reply (io, line, length);
              io_ack_through (io, n);
              return;
            }
        }
    }

  io_attribute_reply (io, line, length);
  io_ack_one (io);
}

static void
io_fail_link (Io         *io,
              int         code,
              const char *message)
{
  g_autoptr(GError) error = g_error_new_literal (DROVER_SERIAL_ERROR, code, message);

  io->halted = TRUE;
  io_fail_all (io, DROVER_SERIAL_OUTCOME_FAILED, error);
  io_set_error_message (io, message);
  io_set_state (io, DROVER_SERIAL_STATE_ERROR);
}

static void
io_handle_resend (Io     *io,
                  gint64  number)
{
  io->swallow_ok = io->ok_after_resend;
  io->resend_requests++;
  io_line_refused (io);

  if (number == io->last_resend_request)
    io->consecutive_resends++;
  else
    io->consecutive_resends = 1;
  io->last_resend_request = number;
  if (io->consecutive_resends > MAX_CONSECUTIVE_RESENDS)
    {
      g_autofree char *message =
        g_strdup_printf (_("The printer on %s kept asking for line %" G_GINT64_FORMAT " again: the link is "
                           "unreliable. Check the cable, or try a lower speed."), io->path, number);

      io_fail_link (io, DROVER_SERIAL_ERROR_COMMUNICATION, message);
      return;
    }

  if (io->handshake == HANDSHAKE_HELLO)
    {
      /* The hello itself was garbled: M110 N0 sets the number whatever
       * Marlin expected, so it goes again as it is. */
      io->send_cursor = 0;
      return;
    }
  if (number >= io->send_cursor || number < 0)
    {
      /* A line not sent yet: nothing to take back. */
      g_debug ("%s asks for line %" G_GINT64_FORMAT ", next is %" G_GINT64_FORMAT,
               io->path, number, io->send_cursor);
      return;
    }
  if (number < io->next_number - HISTORY_SIZE + 1)
    {
      g_autofree char *message =
        g_strdup_printf (_("The printer on %s asked for line %" G_GINT64_FORMAT ", long gone. Cancel the "
                           "print and check the printer."), io->path, number);

      io_fail_link (io, DROVER_SERIAL_ERROR_COMMUNICATION, message);
      return;
    }

  /* Marlin has the lines before @number; it threw away everything it had
   * not taken into its queue, so from @number on all goes again. */
  if (number <= io->acked)
    io->acked = number - 1;
  io->queued_through = MIN (io->queued_through, number - 1);
  io->send_cursor = number;

  /* A printer asking for one line in ten: stop pipelining. */
  if (io->state.pipelining && io->lines_written >= RESEND_RATIO_MIN_LINES &&
      (double)io->resend_requests / (double)io->lines_written > RESEND_RATIO_LIMIT)
    {
      g_message ("%s: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " lines asked for again; "
                 "sending one line at a time from now on", io->path, io->resend_requests, io->lines_written);
      io->state.pipelining = FALSE;
      io->state_dirty = TRUE;
    }
}

static void io_send_hello (Io     *io,
                           gint64  now);

static void
io_handle_start (Io     *io,
                 gint64  now)
{
  if (io->handshake == HANDSHAKE_DONE)
    {
      g_autofree char *message =
        g_strdup_printf (_("The printer on %s restarted by itself; anything it was doing stopped there."), io->path);
      g_autoptr(GError) error = g_error_new_literal (DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_RESET, message);

      io_fail_all (io, DROVER_SERIAL_OUTCOME_INTERRUPTED, error);
      io_set_error_message (io, message);
      io_set_state (io, DROVER_SERIAL_STATE_OPENING);
      io->hello_tries = 0;
      /* Switched off and on after a halt: it is usable again. */
      io->halted = FALSE;
    }
  /* Whatever was sent before the reset is lost: greet it again. */
  io_send_hello (io, now);
}

static void
io_halted (Io         *io,
           const char *line)
{
  /* kill() says why just before: "echo:M112 Shutdown", or an Error:
   * such as a thermal runaway. */
  g_autofree char *valid = g_utf8_make_valid (io->last_notice != NULL ? io->last_notice : line, -1);
  g_autofree char *message =
    g_strdup_printf (_("The printer on %s halted (“%s”). Check it, then switch it off and on again."),
                     io->path, valid);

  io_fail_link (io, DROVER_SERIAL_ERROR_HALTED, message);
}

static void io_cancel_job (Io     *io,
                           gint64  now);

static void
io_set_paused (Io      *io,
               gboolean paused,
               gint64   now)
{
  Job *job = io->job;

  if (job == NULL || job->cancelling || job->paused == paused)
    return;
  job->paused = paused;
  if (paused)
    job->paused_since_us = now;
  else
    job->paused_us += now - job->paused_since_us;
  io_set_state (io, paused ? DROVER_SERIAL_STATE_PAUSED : DROVER_SERIAL_STATE_PRINTING);
}

static void
io_handle_capability (Io         *io,
                      const char *line)
{
  const char *name = line + 4;
  const char *colon = strrchr (name, ':');

  if (colon == NULL || colon == name || g_strcmp0 (colon, ":1") != 0)
    return;
  g_ptr_array_add (io->capabilities, g_strndup (name, (gsize)(colon - name)));
}

static void
io_handle_firmware_name (Io         *io,
                         const char *line)
{
  const char *name = line + strlen ("FIRMWARE_NAME:");
  /* The name runs to the next FIELD: of M115's line. */
  const char *end = strstr (name, " SOURCE_CODE_URL:");
  g_autofree char *raw = NULL;
  g_autofree char *valid = NULL;

  if (end == NULL)
    end = strstr (name, " PROTOCOL_VERSION:");
  raw = end ? g_strndup (name, (gsize)(end - name)) : g_strdup (name);
  valid = g_utf8_make_valid (g_strstrip (raw), -1);
  if (drover_set_str (&io->state.firmware_name, valid))
    io->strings_dirty = io->state_dirty = TRUE;
  io->firmware_seen = TRUE;
  /* Marlin before 2.1 sends no ok after "Resend:" (2.0.8) or only
   * sometimes (1.1). */
  io->ok_after_resend = !(g_str_has_prefix (valid, "Marlin 1.") || g_str_has_prefix (valid, "Marlin 2.0"));
}

static gboolean
io_is_line_error (const char *line)
{
  static const char * const markers[] = { "Last Line", "checksum", "Checksum", "Line Number", "line number",
                                          "Linenumber", "linenumber", "expected line", "Format error" };

  for (guint i = 0; i < G_N_ELEMENTS (markers); i++)
    if (strstr (line, markers[i]) != NULL)
      return TRUE;
  return FALSE;
}

static gint64 io_quiet_us (Io *io);

static void
io_note_progress (Io     *io,
                  gint64  now)
{
  io->last_progress_us = now;
}

static void
io_handle_line (Io     *io,
                char   *line,
                gsize   length,
                gint64  now)
{
  gboolean after_resend = io->swallow_ok;

  io->swallow_ok = FALSE;
  io_call_hook (io, DROVER_SERIAL_LINE_RECEIVED, line, length);

  if (io->handshake == HANDSHAKE_BANNER)
    {
      /* "start", or anything else from a printer already running. */
      io_send_hello (io, now);
      return;
    }

  if (length >= 2 && line[0] == 'o' && line[1] == 'k' && (length == 2 || line[2] == ' '))
    {
      io_note_progress (io, now);
      io_handle_ok (io, line, length, after_resend);
      return;
    }

  if (starts_with (line, length, "Resend:") || starts_with (line, length, "rs ") ||
      starts_with (line, length, "resend:"))
    {
      const char *p = line + (line[0] == 'r' && line[1] == 's' ? 2 : 7);

      while (*p == ' ' || *p == 'N' || *p == ':')
        p++;
      io_note_progress (io, now);
      if (g_ascii_isdigit (*p))
        io_handle_resend (io, g_ascii_strtoll (p, NULL, 10));
      return;
    }

  if (strcmp (line, "start") == 0)
    {
      io_handle_start (io, now);
      return;
    }

  if (starts_with (line, length, "!!") || starts_with (line, length, "fatal:") ||
      (starts_with (line, length, "Error:") &&
       (strstr (line, "kill() called") != NULL || strstr (line, "Printer halted") != NULL ||
        strstr (line, "Printer stopped") != NULL)))
    {
      if (!io->halted)
        io_halted (io, line);
      return;
    }

  if (starts_with (line, length, "Error:"))
    {
      if (io_is_line_error (line))
        {
          io_line_refused (io);
          return;  /* "Resend:" follows */
        }
      g_free (io->last_notice);
      io->last_notice = g_strdup (line + strlen ("Error:"));
      io_attribute_reply (io, line, length);
      return;
    }

  if (starts_with (line, length, "echo:busy:") || starts_with (line, length, "busy:"))
    {
      if (io->busy_seen && now > io->last_busy_us &&
          (io->busy_interval_us == 0 || now - io->last_busy_us < io->busy_interval_us))
        io->busy_interval_us = now - io->last_busy_us;
      io->busy_seen = TRUE;
      io->last_busy_us = now;
      io_note_progress (io, now);
      return;
    }

  if (strcmp (line, "wait") == 0)
    {
      /* NO_TIMEOUTS: the printer is idle and waiting; if Drover still
       * counts lines in flight, their oks were lost. */
      if (io->acked < io->send_cursor - 1 && io->handshake == HANDSHAKE_DONE)
        io->last_progress_us = now - io_quiet_us (io);
      return;
    }

  if (starts_with (line, length, "FIRMWARE_NAME:"))
    {
      io_handle_firmware_name (io, line);
      io_attribute_reply (io, line, length);
      return;
    }

  if (starts_with (line, length, "Cap:"))
    {
      if (io->handshake == HANDSHAKE_IDENTIFY)
        io_handle_capability (io, line);
      io_attribute_reply (io, line, length);
      return;
    }

  if (starts_with (line, length, "//action:"))
    {
      const char *action = line + strlen ("//action:");

      /* The printer's own menu (HOST_ACTION_COMMANDS) steers the job. */
      if (strcmp (action, "pause") == 0)
        io_set_paused (io, TRUE, now);
      else if (strcmp (action, "resume") == 0)
        io_set_paused (io, FALSE, now);
      else if (strcmp (action, "cancel") == 0)
        io_cancel_job (io, now);
      return;
    }

  if (starts_with (line, length, "echo:"))
    {
      g_free (io->last_notice);
      io->last_notice = g_strdup (line + strlen ("echo:"));
    }

  /* Temperatures: M155's reports (" T:…" with no ok), and M109/M190's
   * once a second while they wait (" … W:3"), which show the printer alive. */
  if ((line[0] == ' ' && line[1] == 'T' && line[2] == ':') || starts_with (line, length, "T:") ||
      (line[0] == ' ' && line[1] == 'B' && line[2] == ':'))
    {
      io_parse_temperatures (io, line);
      if (strstr (line, " W:") != NULL)
        io_note_progress (io, now);
      else if (io->autoreport)
        {
          if (io->last_report_us > 0)
            {
              gint64 interval = now - io->last_report_us;

              io->report_interval_us = io->report_interval_us == 0 ? interval
                                                                    : (3 * io->report_interval_us + interval) / 4;
            }
          io->last_report_us = now;
        }
      return;
    }

  io_attribute_reply (io, line, length);
}

static void
io_read (Io      *io,
         gint64   now,
         gboolean hung_up)
{
  char buffer[READ_CHUNK];

  for (;;)
    {
      gssize n = read (io->fd, buffer, sizeof buffer);

      if (n > 0)
        {
          io->last_byte_us = now;
          for (gssize i = 0; i < n; i++)
            {
              char c = buffer[i];

              if (c == '\n' || c == '\r' || io->in->len >= MAX_REPLY_LINE)
                {
                  gsize length = io->in->len;

                  /* Marlin ends lines with "\n"; some firmware with "\r\n". */
                  if (length > 0)
                    {
                      g_byte_array_append (io->in, (const guint8 *)"", 1);
                      io_handle_line (io, (char *)io->in->data, length, now);
                      g_byte_array_set_size (io->in, 0);
                    }
                  if (c == '\n' || c == '\r' || io->dead)
                    continue;
                }
              if (c != '\0')
                g_byte_array_append (io->in, (const guint8 *)&c, 1);
            }
          if (io->dead || (gsize)n < sizeof buffer)
            break;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        {
          if (hung_up)
            io_port_vanished (io, 0);
          break;
        }
      /* 0 is a hang-up (VMIN is 1); EIO when a pty's other end closed. */
      io_port_vanished (io, n < 0 ? errno : 0);
      break;
    }
}

/* ------------------------------------------------------------------------ */
/* Opening: hello, identification, auto-report                               */

/* Forgets every number: after M110 N0 the printer expects line 1. */
static void
io_reset_numbering (Io *io)
{
  io->next_number = io->send_cursor = 0;
  io->acked = io->completed_through = io->queued_through = -1;
  io->partial_bytes = 0;
  io->last_resend_request = -1;
  io->consecutive_resends = 0;
  io->swallow_ok = FALSE;
  io->quiet_strikes = 0;
  io->poll_outstanding = io->probe_outstanding = FALSE;
  g_byte_array_set_size (io->out, 0);
  g_queue_clear_full (&io->pending, (GDestroyNotify)pending_line_free);
}

static void
io_send_hello (Io     *io,
               gint64  now)
{
  io_reset_numbering (io);
  /* A line a previous session left half-written would join the hello. */
  io->dirty_bytes = MAX_WIRE_LINE;
  io->handshake = HANDSHAKE_HELLO;
  io->handshake_deadline = now + HELLO_TIMEOUT_US;
  io->hello_tries++;
  io->firmware_seen = FALSE;
  g_ptr_array_set_size (io->capabilities, 0);
  io_queue_host_line (io, "M110 N0", LINE_FLAG_HANDSHAKE, HANDSHAKE_HELLO, TRUE);
}

static void
io_handshake_done (Io     *io,
                   gint64  now)
{
  io->handshake = HANDSHAKE_DONE;
  /* Whatever the handshake left in flight is settled. */
  io->acked = io->completed_through = io->send_cursor - 1;
  io->last_progress_us = now;
  io->last_poll_us = now;
  io_set_state (io, DROVER_SERIAL_STATE_IDLE);
  if (io->open_task != NULL)
    io_push_completion (io, COMPLETION_OPEN, g_steal_pointer (&io->open_task), DROVER_SERIAL_OUTCOME_NONE,
                        NULL, NULL);
}

static void
io_identified (Io     *io,
               gint64  now)
{
  if (io->handshake != HANDSHAKE_IDENTIFY)
    return;

  g_strfreev (io->state.capabilities);
  g_ptr_array_add (io->capabilities, NULL);
  io->state.capabilities = g_strdupv ((char **)io->capabilities->pdata);
  g_ptr_array_set_size (io->capabilities, 0);
  io->strings_dirty = io->state_dirty = TRUE;

  io->autoreport = g_strv_contains ((const char * const *)io->state.capabilities, "AUTOREPORT_TEMP");
  if (io->autoreport)
    {
      io->handshake = HANDSHAKE_AUTOREPORT;
      io->handshake_deadline = now + HELLO_TIMEOUT_US;
      io_queue_host_line (io, "M155 S2", LINE_FLAG_HANDSHAKE, HANDSHAKE_AUTOREPORT, TRUE);
    }
  else
    io_handshake_done (io, now);
}

static void
io_handshake_line_acked (Io                *io,
                         const HistoryLine *line)
{
  gint64 now = g_get_monotonic_time ();

  if (line->command_id == HANDSHAKE_HELLO && io->handshake == HANDSHAKE_HELLO)
    {
      io->handshake = HANDSHAKE_IDENTIFY;
      io->handshake_deadline = now + IDENTIFY_TIMEOUT_US;
      io_queue_host_line (io, "M115", LINE_FLAG_HANDSHAKE, HANDSHAKE_IDENTIFY, TRUE);
    }
  else if (line->command_id == HANDSHAKE_IDENTIFY && io->firmware_seen)
    io_identified (io, now);
  else if (line->command_id == HANDSHAKE_AUTOREPORT && io->handshake == HANDSHAKE_AUTOREPORT)
    io_handshake_done (io, now);
}

static void
io_open_failed (Io         *io,
                int         code,
                const char *message)
{
  g_autoptr(GError) error = g_error_new_literal (DROVER_SERIAL_ERROR, code, message);

  io->dead = TRUE;
  io_fail_all (io, DROVER_SERIAL_OUTCOME_INTERRUPTED, error);
  io_set_error_message (io, message);
  io_set_state (io, DROVER_SERIAL_STATE_CLOSED);
}

static void
io_handshake_timers (Io     *io,
                     gint64  now)
{
  if (now < io->handshake_deadline)
    return;

  switch (io->handshake)
    {
    case HANDSHAKE_BANNER:
      io_send_hello (io, now);
      break;

    case HANDSHAKE_HELLO:
      if (io->hello_tries < HELLO_TRIES)
        io_send_hello (io, now);
      else
        {
          g_autofree char *message =
            g_strdup_printf (_("Nothing on %s answered as a Marlin printer does. Check that the printer is "
                               "switched on and that its speed is %u baud."), io->path, io->baud);

          io_open_failed (io, DROVER_SERIAL_ERROR_NO_ANSWER, message);
        }
      break;

    case HANDSHAKE_IDENTIFY:
      /* It answers G-code but not M115 in time: go on without a name. */
      io_identified (io, now);
      break;

    case HANDSHAKE_AUTOREPORT:
      io_handshake_done (io, now);
      break;

    case HANDSHAKE_DONE:
    default:
      break;
    }
}

/* ------------------------------------------------------------------------ */
/* Requests from the main thread                                             */

static const char * const cancel_sequence[] = {
  "M104 S0",   /* hotend off */
  "M140 S0",   /* bed off */
  "M107",      /* part fan off */
  "G91",
  "G1 Z10",    /* lift the nozzle off the part */
  "G90",
  "M84",       /* motors off */
};

static void
io_cancel_job (Io     *io,
               gint64  now)
{
  Job *job = io->job;

  if (job == NULL || job->cancelling)
    return;
  job->cancelling = TRUE;
  if (job->paused)
    {
      job->paused = FALSE;
      job->paused_us += now - job->paused_since_us;
    }
  if (io->state.state == DROVER_SERIAL_STATE_PAUSED)
    io_set_state (io, DROVER_SERIAL_STATE_PRINTING);

  /* Numbered but never written (taken back by a "Resend:"): Marlin has
   * not seen them, so the numbers go to the cancel sequence instead. */
  while (io->next_number > io->send_cursor + (io->partial_bytes > 0 ? 1 : 0) &&
         history_at (io, io->next_number - 1)->origin == ORIGIN_JOB)
    io->next_number--;

  if (job->taken == 0)
    {
      /* Nothing of it reached the printer. */
      io_end_job (io, DROVER_SERIAL_OUTCOME_CANCELLED,
                  g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The print was cancelled.")));
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (cancel_sequence); i++)
    io_queue_host_line (io, cancel_sequence[i],
                        i + 1 == G_N_ELEMENTS (cancel_sequence) ? LINE_FLAG_CANCEL_LAST : 0, 0, FALSE);
}

/* Checks every line of the job once, before the first is sent: a print
 * refused at the start is better than one stopped half-way. */
static gboolean
job_check (Job     *job,
           GError **error)
{
  gsize offset = 0;
  guint64 line_number = 0;

  while (offset < job->size)
    {
      const char *start = job->data + offset;
      const char *newline = memchr (start, '\n', job->size - offset);
      gsize line_length = newline ? (gsize)(newline - start) : job->size - offset;
      const char *command;
      gsize length;

      offset += line_length + (newline ? 1 : 0);
      line_number++;
      length = strip_line (start, line_length, &command);
      if (length > 0)
        {
          g_autofree char *why = check_command (command, length);

          if (why != NULL)
            {
              g_set_error (error, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_INVALID_GCODE,
                           _("Line %" G_GUINT64_FORMAT " of the G-code cannot be sent to Marlin: %s."),
                           line_number, why);
              return FALSE;
            }
          job->total++;
        }
    }
  return TRUE;
}

static void
io_start_job (Io      *io,
              Job     *job,
              gint64   now)
{
  g_autoptr(GError) error = NULL;

  if (io->halted || io->dead || io->handshake != HANDSHAKE_DONE || io->job != NULL)
    {
      error = g_error_new (DROVER_SERIAL_ERROR, io->job != NULL ? DROVER_SERIAL_ERROR_BUSY : DROVER_SERIAL_ERROR_NOT_READY,
                           io->job != NULL ? _("The printer on %s is already printing.")
                                           : _("The printer on %s is not ready to print."), io->path);
      io_push_completion (io, COMPLETION_PRINT, g_steal_pointer (&job->task), DROVER_SERIAL_OUTCOME_NONE,
                          g_steal_pointer (&error), NULL);
      job_free (job);
      return;
    }
  if (!job_check (job, &error))
    {
      io_push_completion (io, COMPLETION_PRINT, g_steal_pointer (&job->task), DROVER_SERIAL_OUTCOME_NONE,
                          g_steal_pointer (&error), NULL);
      job_free (job);
      return;
    }

  io->job = job;
  job->started_us = now;
  io->state.job_id = job->id;
  io->state.lines_total = job->total;
  io->state.lines_sent = io->state.lines_done = 0;
  io->state.resends = 0;
  io->state.time_left = -1;
  io->state_dirty = TRUE;
  io_set_state (io, DROVER_SERIAL_STATE_PRINTING);
  if (job->total == 0)
    io_end_job (io, DROVER_SERIAL_OUTCOME_COMPLETED, NULL);
}

static void
io_start_command (Io        *io,
                  Request   *request)
{
  Command *command;

  if (io->halted || io->dead || io->handshake != HANDSHAKE_DONE)
    {
      io_push_completion (io, COMPLETION_COMMAND, g_steal_pointer (&request->task), DROVER_SERIAL_OUTCOME_NONE,
                          g_error_new (DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_NOT_READY,
                                       _("The printer on %s is not ready for commands."), io->path),
                          NULL);
      return;
    }

  command = g_new0 (Command, 1);
  command->id = request->id;
  command->task = g_steal_pointer (&request->task);
  command->line_count = command->lines_left = request->lines->len;
  command->last_number = -1;
  command->reply = g_string_new (NULL);
  g_queue_push_tail (&io->commands, command);

  /* Ahead of the job's lines, behind other commands. */
  for (guint i = 0; i < request->lines->len; i++)
    {
      PendingLine *line = g_new0 (PendingLine, 1);

      line->command = g_strdup (g_ptr_array_index (request->lines, i));
      line->origin = ORIGIN_COMMAND;
      line->command_id = command->id;
      g_queue_push_tail (&io->pending, line);
    }
}

static void
request_free (Request *request)
{
  g_warn_if_fail (request->task == NULL);
  g_clear_pointer (&request->lines, g_ptr_array_unref);
  g_free (request);
}

static void
io_handle_request (Io      *io,
                   Request *request,
                   gint64   now)
{
  switch (request->kind)
    {
    case REQUEST_PRINT:
      request->job->task = g_steal_pointer (&request->task);
      io_start_job (io, g_steal_pointer (&request->job), now);
      break;

    case REQUEST_PAUSE:
    case REQUEST_RESUME:
      io_set_paused (io, request->kind == REQUEST_PAUSE, now);
      break;

    case REQUEST_CANCEL:
      /* From a print's cancellable: only that print. */
      if (io->job != NULL && (request->id == 0 || request->id == io->job->id))
        io_cancel_job (io, now);
      break;

    case REQUEST_COMMAND:
      io_start_command (io, request);
      break;

    case REQUEST_CANCEL_COMMAND:
      {
        Command *command = io_find_command (io, request->id);

        /* Once a line of it is out, it runs to its end. */
        if (command != NULL && command->lines_left == command->line_count)
          io_end_command (io, command,
                          g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The command was cancelled.")));
      }
      break;

    case REQUEST_CANCEL_OPEN:
      if (io->open_task != NULL)
        {
          g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                         _("Connecting to the printer was cancelled."));

          io->dead = TRUE;
          io_fail_all (io, DROVER_SERIAL_OUTCOME_NONE, error);
          io_set_state (io, DROVER_SERIAL_STATE_CLOSED);
        }
      break;

    default:
      g_assert_not_reached ();
    }
  request_free (request);
}

/* ------------------------------------------------------------------------ */
/* Timers: polls, and what a silent printer means                            */

/* How long a printer with lines to answer may stay silent: a bit more
 * than HOST_KEEPALIVE's interval, after which Marlin says "busy:" while a
 * command blocks. The interval is learnt from the busy lines seen, or
 * else from the auto-reports asked every 2 s, as the keepalive's default
 * is 2 s of the firmware's own time too. */
static gint64
io_quiet_us (Io *io)
{
  gint64 interval = io->busy_interval_us > 0 ? io->busy_interval_us : io->report_interval_us;

  if (interval <= 0)
    return QUIET_US;
  return CLAMP (interval * 3 / 2, MIN_QUIET_US, QUIET_US);
}

/* An ok never arrived. */
static void
io_recover (Io *io)
{
  g_debug ("%s: no answer for line %" G_GINT64_FORMAT " (strike %u)", io->path, io->acked + 1, io->quiet_strikes);

  if (io->probe_outstanding)
    {
      /* The probe's own answer went missing too. */
      io_ack_one (io);
      return;
    }
  /* A numbered M105: its "ok T:" comes after everything before it has
   * run, and if a line was lost, its number makes Marlin ask for it.
   * OctoPrint assumes the missing ok when there is no room; so does this. */
  if (io->send_cursor - 1 >= io_first_unparsed (io))
    io_ack_one (io);
  io->probe_outstanding = TRUE;
  io_queue_host_line (io, "M105", LINE_FLAG_PROBE, 0, TRUE);
}

static void
io_timers (Io     *io,
           gint64  now)
{
  HistoryLine *oldest;
  gboolean long_running;

  if (io->dead || io->halted)
    return;
  if (io->handshake != HANDSHAKE_DONE)
    {
      io_handshake_timers (io, now);
      return;
    }

  if (io->job != NULL)
    io_update_time_left (io, now);

  /* Without auto-reports, M105 every 2 s, also during a print. */
  if (!io->autoreport && !io->poll_outstanding && now - io->last_poll_us >= POLL_INTERVAL_US)
    {
      io->last_poll_us = now;
      io->poll_outstanding = TRUE;
      io_queue_host_line (io, "M105", LINE_FLAG_POLL, 0, FALSE);
    }

  if (io->acked >= io->send_cursor - 1)
    return;

  oldest = history_at (io, io->acked + 1);
  long_running = (oldest->flags & LINE_FLAG_LONG) != 0;
  if (!long_running && now - io->last_byte_us >= SILENCE_US)
    {
      g_autofree char *message =
        g_strdup_printf (_("The printer on %s stopped answering. Check it, then connect again."), io->path);

      io_fail_link (io, DROVER_SERIAL_ERROR_TIMEOUT, message);
      return;
    }
  if (now - io->last_progress_us < io_quiet_us (io))
    return;
  io->last_progress_us = now;
  /* A homing or a heat-up on firmware without "busy:" is silent. */
  if (long_running && !io->busy_seen)
    return;
  io->quiet_strikes++;
  io_recover (io);
}

static int
io_poll_timeout (Io     *io,
                 gint64  now)
{
  gint64 next = now + G_USEC_PER_SEC;

  if (io->handshake != HANDSHAKE_DONE)
    next = MIN (next, io->handshake_deadline);
  else
    {
      if (io->acked < io->send_cursor - 1)
        next = MIN (next, io->last_progress_us + io_quiet_us (io));
      if (!io->autoreport)
        next = MIN (next, io->last_poll_us + POLL_INTERVAL_US);
    }
  if (next <= now)
    return 0;
  return (int)((next - now + 999) / 1000);
}

/* ------------------------------------------------------------------------ */
/* The port                                                                  */

static gboolean
set_raw (int     fd,
         guint   baud,
         GError **error)
{
#ifdef __linux__
  struct termios2 tio;

  if (ioctl (fd, TCGETS2, &tio) != 0)
    goto failed;
  tio.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXOFF | IXANY);
  tio.c_oflag &= ~(tcflag_t)OPOST;
  tio.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
  tio.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB | CRTSCTS);
  tio.c_cflag |= CS8 | CREAD | CLOCAL;
  if (baud > 0)
    {
      tio.c_cflag &= ~(tcflag_t)(CBAUD | (CBAUD << IBSHIFT));
      tio.c_cflag |= BOTHER | (BOTHER << IBSHIFT);
      tio.c_ispeed = tio.c_ospeed = baud;
    }
  /* VMIN 1: read() then says 0 only on a hang-up, EAGAIN when empty. */
  tio.c_cc[VMIN] = 1;
  tio.c_cc[VTIME] = 0;
  if (ioctl (fd, TCSETS2, &tio) != 0)
    goto failed;
  return TRUE;
#else
  struct termios tio;
  static const struct { guint baud; speed_t speed; } speeds[] = {
    { 9600, B9600 }, { 19200, B19200 }, { 38400, B38400 }, { 57600, B57600 },
    { 115200, B115200 }, { 230400, B230400 },
  };

  if (tcgetattr (fd, &tio) != 0)
    goto failed;
  cfmakeraw (&tio);
  tio.c_cflag |= CREAD | CLOCAL;
  tio.c_cflag &= ~(tcflag_t)CRTSCTS;
  tio.c_cc[VMIN] = 1;
  tio.c_cc[VTIME] = 0;
  if (baud > 0)
    {
      guint i;

      for (i = 0; i < G_N_ELEMENTS (speeds) && speeds[i].baud != baud; i++)
        ;
      if (i == G_N_ELEMENTS (speeds))
        {
          errno = EINVAL;
          goto failed;
        }
      cfsetspeed (&tio, speeds[i].speed);
    }
  if (tcsetattr (fd, TCSANOW, &tio) != 0)
    goto failed;
  return TRUE;
#endif

failed:
  {
    int saved_errno = errno;

    g_set_error (error, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_OPEN,
                 _("Drover cannot set the port to %u baud (%s). Choose another speed."),
                 baud, g_strerror (saved_errno));
    return FALSE;
  }
}

static gboolean
io_open_port (Io      *io,
              GError **error)
{
  int fd = open (io->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  int saved_errno = errno;

  if (fd < 0)
    {
      switch (saved_errno)
        {
        case EACCES:
        case EPERM:
          g_set_error (error, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_PERMISSION,
                       _("Drover may not open %s. Add your user to the group that owns it (“dialout” on "
                         "most systems), then log out and in again."), io->path);
          break;
        case EBUSY:
          g_set_error (error, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_BUSY,
                       _("Another program is using %s. Close it (OctoPrint, a slicer, a terminal) and "
                         "connect again."), io->path);
          break;
        case ENOENT:
        case ENODEV:
        case ENXIO:
          g_set_error (error, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_OPEN,
                       _("There is no printer on %s. Check that it is plugged in and switched on."), io->path);
          break;
        default:
          g_set_error (error, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_OPEN,
                       _("Drover cannot open %s: %s."), io->path, g_strerror (saved_errno));
          break;
        }
      return FALSE;
    }

  /* Two programs on one printer interleave their lines: refuse. */
  if (flock (fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK)
    {
      g_set_error (error, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_BUSY,
                   _("Another program is using %s. Close it (OctoPrint, a slicer, a terminal) and "
                     "connect again."), io->path);
      close (fd);
      return FALSE;
    }
  /* Programs that do not lock cannot open it while Drover has it. */
  (void)ioctl (fd, TIOCEXCL);

  if (!set_raw (fd, io->baud, error))
    {
      close (fd);
      return FALSE;
    }
  io->fd = fd;
  return TRUE;
}

static void
io_refuse_request (Io      *io,
                   Request *request)
{
  g_autofree char *message = g_strdup_printf (_("The connection to %s is closed."), io->path);

  if (request->kind == REQUEST_PRINT)
    {
      io_push_completion (io, COMPLETION_PRINT, g_steal_pointer (&request->task), DROVER_SERIAL_OUTCOME_NONE,
                          g_error_new_literal (DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_CLOSED, message), NULL);
      job_free (g_steal_pointer (&request->job));
    }
  else if (request->kind == REQUEST_COMMAND)
    io_push_completion (io, COMPLETION_COMMAND, g_steal_pointer (&request->task), DROVER_SERIAL_OUTCOME_NONE,
                        g_error_new_literal (DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_CLOSED, message), NULL);
  request_free (request);
}

static void
io_drain_wake (Io *io)
{
  char buffer[64];

  while (read (io->wake_fds[0], buffer, sizeof buffer) > 0)
    ;
}

static gpointer
io_thread (gpointer data)
{
  g_autoptr(Io) io = data;
  g_autoptr(GError) error = NULL;
  gboolean quit = FALSE;
  gint64 now = g_get_monotonic_time ();

  if (!io_open_port (io, &error))
    io_open_failed (io, error->code, error->message);
  else
    {
      io->handshake = HANDSHAKE_BANNER;
      io->handshake_deadline = now + BANNER_WAIT_US;
      io->last_byte_us = io->last_progress_us = now;
    }

  while (!io->dead)
    {
      struct pollfd fds[2];
      GQueue requests = G_QUEUE_INIT;
      Request *request;

      g_mutex_lock (&io->mutex);
      quit = io->quit;
      requests = io->requests;
      g_queue_init (&io->requests);
      g_mutex_unlock (&io->mutex);

      now = g_get_monotonic_time ();
      while ((request = g_queue_pop_head (&requests)) != NULL)
        {
          if (quit)
            g_queue_push_head (&requests, request);
          if (quit)
            break;
          io_handle_request (io, request, now);
        }
      if (quit)
        {
          while ((request = g_queue_pop_head (&requests)) != NULL)
            io_refuse_request (io, request);
          break;
        }

      io_timers (io, now);
      io_pump (io);
      io_flush (io);
      io_publish (io);
      if (io->dead)
        break;

      fds[0].fd = io->wake_fds[0];
      fds[0].events = POLLIN;
      fds[1].fd = io->fd;
      fds[1].events = POLLIN | (io->out->len > 0 ? POLLOUT : 0);
      fds[0].revents = fds[1].revents = 0;
      if (poll (fds, 2, io_poll_timeout (io, now)) < 0 && errno != EINTR)
        {
          g_warning ("poll on %s failed: %s", io->path, g_strerror (errno));
          g_usleep (10000);
        }
      if (fds[0].revents & POLLIN)
        io_drain_wake (io);
      if (fds[1].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
        io_read (io, g_get_monotonic_time (), (fds[1].revents & (POLLHUP | POLLERR | POLLNVAL)) != 0);
    }

  /* Closing: whatever is under way ends here. */
  if (!io->dead)
    {
      g_autofree char *message = g_strdup_printf (_("The connection to %s was closed."), io->path);
      g_autoptr(GError) closed = g_error_new_literal (DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_CLOSED, message);

      io_fail_all (io, DROVER_SERIAL_OUTCOME_INTERRUPTED, closed);
      io_set_state (io, DROVER_SERIAL_STATE_CLOSED);
    }
  if (io->fd >= 0)
    {
      /* What is still unwritten is lost with the port anyway. */
      close (io->fd);
      io->fd = -1;
    }

  /* From here on the main thread refuses requests itself; those that
   * came in meanwhile are refused here. */
  {
    GQueue late = G_QUEUE_INIT;
    Request *request;

    g_mutex_lock (&io->mutex);
    io->quit = TRUE;
    late = io->requests;
    g_queue_init (&io->requests);
    g_mutex_unlock (&io->mutex);
    while ((request = g_queue_pop_head (&late)) != NULL)
      io_refuse_request (io, request);
  }
  io->publish_urgent = TRUE;
  io_publish (io);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* DroverSerialStream                                                        */

struct _DroverSerialStream
{
  GObject                  parent_instance;

  char                    *path;
  guint                    baud;
  GMainContext            *context;
  LineHook                 hook;

  Io                      *io;
  GThread                 *thread;
  guint                    next_id;

  /* The print under way, as the main context knows it */
  GTask                   *print_task;
  guint                    print_job_id;
  DroverSerialProgressFunc progress_func;
  gpointer                 progress_data;
  GDestroyNotify           progress_destroy;
  guint64                  progress_reported;

  DroverSerialState        state;
  char                    *firmware_name;
  char                   **capabilities;
  gboolean                 advanced_ok;
  gboolean                 pipelining;
  double                   hotend;
  double                   hotend_target;
  double                   bed;
  double                   bed_target;
  guint64                  lines_sent;
  guint64                  lines_total;
  guint64                  lines_done;
  guint64                  resends;
  double                   progress;
  gint64                   time_left;
  char                    *error_message;
};

G_DEFINE_FINAL_TYPE (DroverSerialStream, drover_serial_stream, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PATH,
  PROP_BAUD,
  PROP_STATE,
  PROP_FIRMWARE_NAME,
  PROP_ADVANCED_OK,
  PROP_PIPELINING,
  PROP_HOTEND_TEMPERATURE,
  PROP_HOTEND_TARGET,
  PROP_BED_TEMPERATURE,
  PROP_BED_TARGET,
  PROP_LINES_SENT,
  PROP_LINES_TOTAL,
  PROP_LINES_DONE,
  PROP_RESENDS,
  PROP_PROGRESS,
  PROP_TIME_LEFT,
  PROP_ERROR_MESSAGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* What a print's GTask carries besides its result. */
typedef struct
{
  DroverSerialOutcome outcome;
  GCancellable       *cancellable;
  gulong              cancelled_id;
} PrintData;

static void
print_data_free (PrintData *data)
{
  if (data->cancelled_id != 0)
    g_cancellable_disconnect (data->cancellable, data->cancelled_id);
  g_clear_object (&data->cancellable);
  g_free (data);
}

#define SET_FIELD(field, value, prop)                                     \
  G_STMT_START {                                                          \
    if (self->field != (value))                                           \
      {                                                                   \
        self->field = (value);                                            \
        g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);     \
      }                                                                   \
  } G_STMT_END

static void
stream_apply_snapshot (DroverSerialStream *self,
                       const Snapshot     *snapshot)
{
  double progress;

  g_object_freeze_notify (G_OBJECT (self));

  SET_FIELD (state, snapshot->state, PROP_STATE);
  if (drover_set_str (&self->firmware_name, snapshot->firmware_name))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FIRMWARE_NAME]);
  if (drover_set_str (&self->error_message, snapshot->error_message))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR_MESSAGE]);
  if (snapshot->capabilities != NULL || self->capabilities != NULL)
    {
      g_strfreev (self->capabilities);
      self->capabilities = g_strdupv (snapshot->capabilities);
    }
  SET_FIELD (advanced_ok, snapshot->advanced_ok, PROP_ADVANCED_OK);
  SET_FIELD (pipelining, snapshot->pipelining, PROP_PIPELINING);
  SET_FIELD (hotend, snapshot->hotend, PROP_HOTEND_TEMPERATURE);
  SET_FIELD (hotend_target, snapshot->hotend_target, PROP_HOTEND_TARGET);
  SET_FIELD (bed, snapshot->bed, PROP_BED_TEMPERATURE);
  SET_FIELD (bed_target, snapshot->bed_target, PROP_BED_TARGET);
  SET_FIELD (lines_sent, snapshot->lines_sent, PROP_LINES_SENT);
  SET_FIELD (lines_total, snapshot->lines_total, PROP_LINES_TOTAL);
  SET_FIELD (lines_done, snapshot->lines_done, PROP_LINES_DONE);
  SET_FIELD (resends, snapshot->resends, PROP_RESENDS);
  progress = snapshot->lines_total > 0 ? (double)snapshot->lines_done / (double)snapshot->lines_total : 0.0;
  SET_FIELD (progress, progress, PROP_PROGRESS);
  SET_FIELD (time_left, snapshot->time_left, PROP_TIME_LEFT);

  g_object_thaw_notify (G_OBJECT (self));

  /* Counts from before this job started are not its progress. */
  if (self->progress_func != NULL && self->print_task != NULL && snapshot->job_id == self->print_job_id &&
      self->lines_done != self->progress_reported)
    {
      self->progress_reported = self->lines_done;
      self->progress_func (self, self->lines_done, self->lines_total, self->progress_data);
    }
}

static void
stream_clear_progress (DroverSerialStream *self)
{
  GDestroyNotify destroy = g_steal_pointer (&self->progress_destroy);
  gpointer data = g_steal_pointer (&self->progress_data);

  self->progress_func = NULL;
  if (destroy != NULL)
    destroy (data);
}

static void
stream_complete (DroverSerialStream *self,
                 Completion         *completion)
{
  GTask *task = g_steal_pointer (&completion->task);

  if (task == NULL)
    ;
  else if (completion->kind == COMPLETION_OPEN)
    {
      if (completion->error != NULL)
        g_task_return_error (task, g_steal_pointer (&completion->error));
      else
        g_task_return_boolean (task, TRUE);
    }
  else if (completion->kind == COMPLETION_PRINT)
    {
      PrintData *data = g_task_get_task_data (task);

      data->outcome = completion->outcome;
      if (self->print_task == task)
        {
          self->print_task = NULL;
          stream_clear_progress (self);
        }
      if (completion->error != NULL)
        g_task_return_error (task, g_steal_pointer (&completion->error));
      else
        g_task_return_boolean (task, TRUE);
    }
  else
    {
      if (completion->error != NULL)
        g_task_return_error (task, g_steal_pointer (&completion->error));
      else
        g_task_return_pointer (task, g_steal_pointer (&completion->reply), g_free);
    }

  g_clear_object (&task);
  g_clear_error (&completion->error);
  g_free (completion->reply);
  g_free (completion);
}

/* On the stream's main context: the I/O thread's news. */
static gboolean
apply_cb (gpointer data)
{
  Io *io = data;
  g_autoptr(DroverSerialStream) self = g_weak_ref_get (&io->stream);
  Snapshot snapshot;
  GQueue completions;
  Completion *completion;

  g_mutex_lock (&io->mutex);
  io->apply_scheduled = FALSE;
  io->last_apply_us = g_get_monotonic_time ();
  snapshot = io->shared;
  snapshot.firmware_name = g_strdup (io->shared.firmware_name);
  snapshot.error_message = g_strdup (io->shared.error_message);
  snapshot.capabilities = g_strdupv (io->shared.capabilities);
  completions = io->completions;
  g_queue_init (&io->completions);
  g_mutex_unlock (&io->mutex);

  /* Tasks hold their stream: with none left there is nothing to finish. */
  if (self != NULL && self->io == io)
    stream_apply_snapshot (self, &snapshot);
  snapshot_clear (&snapshot);

  while ((completion = g_queue_pop_head (&completions)) != NULL)
    {
      if (self != NULL)
        stream_complete (self, completion);
      else
        {
          g_clear_object (&completion->task);
          g_clear_error (&completion->error);
          g_free (completion->reply);
          g_free (completion);
        }
    }

  return G_SOURCE_REMOVE;
}

static Io *
io_new (DroverSerialStream  *self,
        GError             **error)
{
  Io *io = g_atomic_rc_box_new0 (Io);

  io->wake_fds[0] = io->wake_fds[1] = -1;
  io->fd = -1;
  g_mutex_init (&io->mutex);
  g_queue_init (&io->requests);
  g_queue_init (&io->completions);
  g_queue_init (&io->pending);
  g_queue_init (&io->commands);
  io->path = g_strdup (self->path);
  io->baud = self->baud;
  io->context = g_main_context_ref (self->context);
  g_weak_ref_init (&io->stream, self);
  io->hook = &self->hook;
  snapshot_init (&io->shared);
  snapshot_init (&io->state);
  io->in = g_byte_array_sized_new (MAX_REPLY_LINE + 1);
  io->out = g_byte_array_sized_new (4096);
  io->capabilities = g_ptr_array_new_with_free_func (g_free);
  io->history = g_new0 (HistoryLine, HISTORY_SIZE);
  io->bufsize_estimate = 1;
  io->ok_after_resend = TRUE;
  io_reset_numbering (io);

  if (!g_unix_open_pipe (io->wake_fds, FD_CLOEXEC, error) ||
      !g_unix_set_fd_nonblocking (io->wake_fds[0], TRUE, error) ||
      !g_unix_set_fd_nonblocking (io->wake_fds[1], TRUE, error))
    {
      io_unref (io);
      return NULL;
    }
  return io;
}

/* FALSE when the thread has ended: the caller refuses the request itself. */
static gboolean
io_request (Io      *io,
            Request *request)
{
  g_mutex_lock (&io->mutex);
  if (io->quit)
    {
      g_mutex_unlock (&io->mutex);
      return FALSE;
    }
  g_queue_push_tail (&io->requests, request);
  g_mutex_unlock (&io->mutex);
  io_wake (io);
  return TRUE;
}

static gboolean
stream_request (DroverSerialStream *self,
                RequestKind         kind,
                guint               id)
{
  Request *request;

  if (self->io == NULL)
    return FALSE;
  request = g_new0 (Request, 1);
  request->kind = kind;
  request->id = id;
  if (!io_request (self->io, request))
    {
      request_free (request);
      return FALSE;
    }
  return TRUE;
}

/* Stops the I/O thread, if any, and finishes what it leaves behind. */
static void
stream_shutdown (DroverSerialStream *self)
{
  g_autoptr(Io) io = g_steal_pointer (&self->io);

  if (io == NULL)
    return;

  g_mutex_lock (&io->mutex);
  io->quit = TRUE;
  g_mutex_unlock (&io->mutex);
  io_wake (io);
  if (self->thread != NULL)
    g_thread_join (g_steal_pointer (&self->thread));

  /* The thread's last news, applied now rather than in a later idle. */
  self->io = io;
  apply_cb (io);
  self->io = NULL;
}

static void
drover_serial_stream_dispose (GObject *object)
{
  DroverSerialStream *self = DROVER_SERIAL_STREAM (object);

  stream_shutdown (self);
  stream_clear_progress (self);
  drover_serial_stream_set_line_func (self, NULL, NULL, NULL);

  G_OBJECT_CLASS (drover_serial_stream_parent_class)->dispose (object);
}

static void
drover_serial_stream_finalize (GObject *object)
{
  DroverSerialStream *self = DROVER_SERIAL_STREAM (object);

  g_free (self->path);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_mutex_clear (&self->hook.mutex);
  g_free (self->firmware_name);
  g_strfreev (self->capabilities);
  g_free (self->error_message);

  G_OBJECT_CLASS (drover_serial_stream_parent_class)->finalize (object);
}

static void
drover_serial_stream_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  DroverSerialStream *self = DROVER_SERIAL_STREAM (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_BAUD:
      g_value_set_uint (value, self->baud);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_FIRMWARE_NAME:
      g_value_set_string (value, self->firmware_name);
      break;
    case PROP_ADVANCED_OK:
      g_value_set_boolean (value, self->advanced_ok);
      break;
    case PROP_PIPELINING:
      g_value_set_boolean (value, self->pipelining);
      break;
    case PROP_HOTEND_TEMPERATURE:
      g_value_set_double (value, self->hotend);
      break;
    case PROP_HOTEND_TARGET:
      g_value_set_double (value, self->hotend_target);
      break;
    case PROP_BED_TEMPERATURE:
      g_value_set_double (value, self->bed);
      break;
    case PROP_BED_TARGET:
      g_value_set_double (value, self->bed_target);
      break;
    case PROP_LINES_SENT:
      g_value_set_uint64 (value, self->lines_sent);
      break;
    case PROP_LINES_TOTAL:
      g_value_set_uint64 (value, self->lines_total);
      break;
    case PROP_LINES_DONE:
      g_value_set_uint64 (value, self->lines_done);
      break;
    case PROP_RESENDS:
      g_value_set_uint64 (value, self->resends);
      break;
    case PROP_PROGRESS:
      g_value_set_double (value, self->progress);
      break;
    case PROP_TIME_LEFT:
      g_value_set_int64 (value, self->time_left);
      break;
    case PROP_ERROR_MESSAGE:
      g_value_set_string (value, self->error_message);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_serial_stream_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  DroverSerialStream *self = DROVER_SERIAL_STREAM (object);

  switch (prop_id)
    {
    case PROP_PATH:
      self->path = g_value_dup_string (value);
      break;
    case PROP_BAUD:
      self->baud = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
drover_serial_stream_class_init (DroverSerialStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = drover_serial_stream_dispose;
  object_class->finalize = drover_serial_stream_finalize;
  object_class->get_property = drover_serial_stream_get_property;
  object_class->set_property = drover_serial_stream_set_property;

  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * DroverSerialStream:baud:
   *
   * The port's speed; 0 leaves it as it is (a pseudo-terminal has none).
   */
  properties[PROP_BAUD] =
    g_param_spec_uint ("baud", NULL, NULL, 0, 4000000, 115200,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, DROVER_TYPE_SERIAL_STATE, DROVER_SERIAL_STATE_CLOSED, flags);
  /**
   * DroverSerialStream:firmware-name:
   *
   * M115's FIRMWARE_NAME, such as `Marlin 2.1.2.1 (Feb  1 2024 12:00:00)`,
   * or %NULL before identification or when the firmware gave none.
   */
  properties[PROP_FIRMWARE_NAME] =
    g_param_spec_string ("firmware-name", NULL, NULL, NULL, flags);
  /**
   * DroverSerialStream:advanced-ok:
   *
   * Whether the firmware answers `ok N… P… B…` (ADVANCED_OK), which lets
   * Drover keep more lines in flight.
   */
  properties[PROP_ADVANCED_OK] =
    g_param_spec_boolean ("advanced-ok", NULL, NULL, FALSE, flags);
  /**
   * DroverSerialStream:pipelining:
   *
   * Whether several lines are in flight at once. Turned off for the rest
   * of the connection when more than one line in ten had to be sent again.
   */
  properties[PROP_PIPELINING] =
    g_param_spec_boolean ("pipelining", NULL, NULL, TRUE, flags);
  properties[PROP_HOTEND_TEMPERATURE] =
    g_param_spec_double ("hotend-temperature", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, 0, flags);
  properties[PROP_HOTEND_TARGET] =
    g_param_spec_double ("hotend-target", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, 0, flags);
  properties[PROP_BED_TEMPERATURE] =
    g_param_spec_double ("bed-temperature", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, 0, flags);
  properties[PROP_BED_TARGET] =
    g_param_spec_double ("bed-target", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, 0, flags);
  /**
   * DroverSerialStream:lines-sent:
   *
   * Lines of the current (or last) job written at least once.
   */
  properties[PROP_LINES_SENT] =
    g_param_spec_uint64 ("lines-sent", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  /**
   * DroverSerialStream:lines-total:
   *
   * Lines of the job that Marlin answers: comments and blank lines are
   * not counted, as they are not sent.
   */
  properties[PROP_LINES_TOTAL] =
    g_param_spec_uint64 ("lines-total", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  /**
   * DroverSerialStream:lines-done:
   *
   * Lines of the job the printer acknowledged.
   */
  properties[PROP_LINES_DONE] =
    g_param_spec_uint64 ("lines-done", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  /**
   * DroverSerialStream:resends:
   *
   * Lines written again during the job because the printer asked
   * (`Resend:`): a measure of the link's noise.
   */
  properties[PROP_RESENDS] =
    g_param_spec_uint64 ("resends", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  properties[PROP_PROGRESS] =
    g_param_spec_double ("progress", NULL, NULL, 0, 1, 0, flags);
  /**
   * DroverSerialStream:time-left:
   *
   * Seconds until the job ends at the pace so far, or -1 when it is too
   * early to say.
   */
  properties[PROP_TIME_LEFT] =
    g_param_spec_int64 ("time-left", NULL, NULL, -1, G_MAXINT64, -1, flags);
  /**
   * DroverSerialStream:error-message:
   *
   * Why the stream is in %DROVER_SERIAL_STATE_ERROR (or why it last
   * failed to open), as a sentence for the operator.
   */
  properties[PROP_ERROR_MESSAGE] =
    g_param_spec_string ("error-message", NULL, NULL, NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
drover_serial_stream_init (DroverSerialStream *self)
{
  g_mutex_init (&self->hook.mutex);
  self->context = g_main_context_ref_thread_default ();
  self->pipelining = TRUE;
  self->time_left = -1;
  self->state = DROVER_SERIAL_STATE_CLOSED;
}

/**
 * drover_serial_stream_new:
 * @path: the port, such as `/dev/ttyACM0` or its `/dev/serial/by-id/` name
 * @baud: the speed, such as 115200 or 250000; 0 leaves the port's own
 *
 * A printer on @path, not opened yet. Its properties change, and its
 * callbacks run, on the thread-default main context of the caller.
 *
 * Returns: (transfer full): a new stream
 */
DroverSerialStream *
drover_serial_stream_new (const char *path,
                          guint       baud)
{
  g_return_val_if_fail (path != NULL, NULL);

  return g_object_new (DROVER_TYPE_SERIAL_STREAM, "path", path, "baud", baud, NULL);
}

const char *
drover_serial_stream_get_path (DroverSerialStream *self)
{
  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), NULL);
  return self->path;
}

guint
drover_serial_stream_get_baud (DroverSerialStream *self)
{
  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), 0);
  return self->baud;
}

/**
 * drover_serial_stream_set_line_func:
 * @self: a #DroverSerialStream
 * @func: (nullable): called for every line sent and received
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data once @func is replaced or the
 *   stream is gone
 *
 * The ledger's hook. @func runs on the stream's I/O thread, once per line,
 * in wire order, as each line is written or read: nothing is batched, so
 * batch on your side (copy the line, queue it to your own writer). While
 * it runs the printer waits, and this function waits for it to return.
 */
void
drover_serial_stream_set_line_func (DroverSerialStream   *self,
                                    DroverSerialLineFunc  func,
                                    gpointer              user_data,
                                    GDestroyNotify        destroy)
{
  GDestroyNotify old_destroy;
  gpointer old_data;

  g_return_if_fail (DROVER_IS_SERIAL_STREAM (self));

  g_mutex_lock (&self->hook.mutex);
  old_destroy = self->hook.destroy;
  old_data = self->hook.data;
  self->hook.func = func;
  self->hook.data = user_data;
  self->hook.destroy = destroy;
  g_mutex_unlock (&self->hook.mutex);

  if (old_destroy != NULL)
    old_destroy (old_data);
}

typedef struct
{
  Io    *io;
  guint  id;
  RequestKind kind;
} CancelData;

static void
cancel_data_free (CancelData *data)
{
  io_unref (data->io);
  g_free (data);
}

/* May run on any thread: the one that cancelled. */
static void
cancelled_cb (GCancellable *cancellable,
              gpointer      user_data)
{
  CancelData *data = user_data;
  Request *request = g_new0 (Request, 1);

  request->kind = data->kind;
  request->id = data->id;
  if (!io_request (data->io, request))
    request_free (request);
}

static gulong
connect_cancellable (GCancellable *cancellable,
                     Io           *io,
                     RequestKind   kind,
                     guint         id)
{
  CancelData *data;

  if (cancellable == NULL)
    return 0;
  data = g_new0 (CancelData, 1);
  data->io = io_ref (io);
  data->kind = kind;
  data->id = id;
  return g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb), data, (GDestroyNotify)cancel_data_free);
}

static void
stream_set_state (DroverSerialStream *self,
                  DroverSerialState   state)
{
  SET_FIELD (state, state, PROP_STATE);
}

static gboolean
stream_is_open (DroverSerialStream *self)
{
  return self->io != NULL &&
         (self->state == DROVER_SERIAL_STATE_IDLE || self->state == DROVER_SERIAL_STATE_PRINTING ||
          self->state == DROVER_SERIAL_STATE_PAUSED);
}

/**
 * drover_serial_stream_open_async:
 * @self: a #DroverSerialStream
 * @cancellable: (nullable): stops the attempt
 * @callback: called once the printer answered, or did not
 * @user_data: data for @callback
 *
 * Opens the port raw at the stream's speed, waits for the `start` banner
 * of a board that resets on open (up to 2 s), greets the firmware with
 * `M110 N0`, identifies it with M115 (#DroverSerialStream:firmware-name,
 * drover_serial_stream_has_capability()), then asks for temperatures
 * every 2 s: `M155 S2` where the firmware has `Cap:AUTOREPORT_TEMP:1`, an
 * M105 poll otherwise.
 *
 * A stream that failed (%DROVER_SERIAL_STATE_ERROR) may be opened again.
 */
void
drover_serial_stream_open_async (DroverSerialStream  *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  PrintData *data;
  Io *io;

  g_return_if_fail (DROVER_IS_SERIAL_STREAM (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, drover_serial_stream_open_async);
  /* Cancelled or not, the result says whether the port is open. */
  g_task_set_check_cancellable (task, FALSE);
  data = g_new0 (PrintData, 1);
  g_task_set_task_data (task, data, (GDestroyNotify)print_data_free);

  if (self->state == DROVER_SERIAL_STATE_OPENING || stream_is_open (self))
    {
      g_task_return_new_error (task, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_BUSY,
                               _("%s is already open."), self->path);
      return;
    }

  stream_shutdown (self);
  io = io_new (self, &error);
  if (io == NULL)
    {
      g_task_return_new_error (task, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_OPEN,
                               _("Drover cannot open %s: %s."), self->path, error->message);
      return;
    }
  io->open_task = g_object_ref (task);
  self->thread = g_thread_try_new ("drover-serial", io_thread, io_ref (io), &error);
  if (self->thread == NULL)
    {
      g_clear_object (&io->open_task);
      io_unref (io);  /* the thread's */
      io_unref (io);
      g_task_return_new_error (task, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_OPEN,
                               _("Drover cannot open %s: %s."), self->path, error->message);
      return;
    }
  self->io = io;
  data->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  data->cancelled_id = connect_cancellable (cancellable, io, REQUEST_CANCEL_OPEN, 0);

  if (drover_set_str (&self->error_message, NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR_MESSAGE]);
  stream_set_state (self, DROVER_SERIAL_STATE_OPENING);
}

/**
 * drover_serial_stream_open_finish:
 * @self: a #DroverSerialStream
 * @result: the #GAsyncResult
 * @error: return location for a #GError in %DROVER_SERIAL_ERROR
 *   (%DROVER_SERIAL_ERROR_PERMISSION, %DROVER_SERIAL_ERROR_NO_ANSWER…)
 *   or %G_IO_ERROR_CANCELLED
 *
 * Returns: %TRUE when the printer answered and the stream is idle
 */
gboolean
drover_serial_stream_open_finish (DroverSerialStream  *self,
                                  GAsyncResult        *result,
                                  GError             **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == drover_serial_stream_open_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * drover_serial_stream_close:
 * @self: a #DroverSerialStream
 *
 * Closes the port at once. A print under way ends as
 * %DROVER_SERIAL_OUTCOME_INTERRUPTED and commands fail, with
 * %DROVER_SERIAL_ERROR_CLOSED; their callbacks run before this returns or
 * soon after. The printer goes on with the few lines it already has:
 * cancel first to stop it cleanly.
 */
void
drover_serial_stream_close (DroverSerialStream *self)
{
  g_return_if_fail (DROVER_IS_SERIAL_STREAM (self));

  g_object_ref (self);
  stream_shutdown (self);
  stream_set_state (self, DROVER_SERIAL_STATE_CLOSED);
  g_object_unref (self);
}

/**
 * drover_serial_stream_print_async:
 * @self: a #DroverSerialStream, idle
 * @gcode: the job, exactly the bytes that were verified
 * @cancellable: (nullable): cancelling it cancels the print, as
 *   drover_serial_stream_cancel() does
 * @progress: (nullable) (scope notified): told of acknowledged lines
 * @progress_data: data for @progress
 * @progress_destroy: (nullable): frees @progress_data when the print ends
 * @callback: called when the print ended
 * @user_data: data for @callback
 *
 * Streams @gcode line by line. Comments (from `;`) and blank lines are not
 * sent, since Marlin never answers them; every other line goes out as it
 * is, numbered and with its checksum. Every line is checked before the
 * first is sent: one Marlin cannot take (longer than it keeps, with a
 * backslash, `*`, a number of its own or M110) refuses the whole job with
 * %DROVER_SERIAL_ERROR_INVALID_GCODE.
 *
 * drover_serial_stream_pause(), _resume(), _cancel() and
 * drover_serial_stream_send_command_async() work meanwhile.
 */
void
drover_serial_stream_print_async (DroverSerialStream       *self,
                                  GBytes                   *gcode,
                                  GCancellable             *cancellable,
                                  DroverSerialProgressFunc  progress,
                                  gpointer                  progress_data,
                                  GDestroyNotify            progress_destroy,
                                  GAsyncReadyCallback       callback,
                                  gpointer                  user_data)
{
  g_autoptr(GTask) task = NULL;
  PrintData *data;
  Request *request;
  Job *job;
  guint job_id;

  g_return_if_fail (DROVER_IS_SERIAL_STREAM (self));
  g_return_if_fail (gcode != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, drover_serial_stream_print_async);
  /* The outcome tells a cancelled print; the error says it too. */
  g_task_set_check_cancellable (task, FALSE);
  data = g_new0 (PrintData, 1);
  data->outcome = DROVER_SERIAL_OUTCOME_NONE;
  g_task_set_task_data (task, data, (GDestroyNotify)print_data_free);

  if (self->print_task != NULL || self->state == DROVER_SERIAL_STATE_PRINTING ||
      self->state == DROVER_SERIAL_STATE_PAUSED)
    {
      if (progress_destroy != NULL)
        progress_destroy (progress_data);
      g_task_return_new_error (task, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_BUSY,
                               _("The printer on %s is already printing."), self->path);
      return;
    }
  if (!stream_is_open (self))
    {
      if (progress_destroy != NULL)
        progress_destroy (progress_data);
      g_task_return_new_error (task, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_NOT_READY,
                               _("The printer on %s is not connected."), self->path);
      return;
    }

  job = g_new0 (Job, 1);
  job->id = job_id = ++self->next_id;
  job->gcode = g_bytes_ref (gcode);
  job->data = g_bytes_get_data (gcode, &job->size);
  request = g_new0 (Request, 1);
  request->kind = REQUEST_PRINT;
  request->task = g_object_ref (task);
  request->job = job;
  /* From here on the job is the I/O thread's, which may free it at once. */
  if (!io_request (self->io, request))
    {
      g_clear_object (&request->task);
      job_free (g_steal_pointer (&request->job));
      request_free (request);
      if (progress_destroy != NULL)
        progress_destroy (progress_data);
      g_task_return_new_error (task, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_CLOSED,
                               _("The connection to %s is closed."), self->path);
      return;
    }

  self->print_task = task;
  self->print_job_id = job_id;
  self->progress_func = progress;
  self->progress_data = progress_data;
  self->progress_destroy = progress_destroy;
  self->progress_reported = 0;
  data->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  data->cancelled_id = connect_cancellable (cancellable, self->io, REQUEST_CANCEL, job_id);
}

/**
 * drover_serial_stream_print_finish:
 * @self: a #DroverSerialStream
 * @result: the #GAsyncResult
 * @outcome: (out) (optional): how the print ended
 * @error: return location for a #GError: %G_IO_ERROR_CANCELLED when it
 *   was cancelled, otherwise in %DROVER_SERIAL_ERROR
 *
 * Returns: %TRUE when every line was sent and acknowledged
 *   (%DROVER_SERIAL_OUTCOME_COMPLETED)
 */
gboolean
drover_serial_stream_print_finish (DroverSerialStream   *self,
                                   GAsyncResult         *result,
                                   DroverSerialOutcome  *outcome,
                                   GError              **error)
{
  PrintData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == drover_serial_stream_print_async, FALSE);

  data = g_task_get_task_data (G_TASK (result));
  if (outcome != NULL)
    *outcome = data->outcome;
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * drover_serial_stream_pause:
 * @self: a #DroverSerialStream
 *
 * Stops sending the job's lines; the printer finishes the few it has.
 * Commands still go. Nothing happens when no print is under way.
 */
void
drover_serial_stream_pause (DroverSerialStream *self)
{
  g_return_if_fail (DROVER_IS_SERIAL_STREAM (self));
  stream_request (self, REQUEST_PAUSE, 0);
}

/**
 * drover_serial_stream_resume:
 * @self: a #DroverSerialStream
 *
 * Goes on sending the paused job from where it stopped.
 */
void
drover_serial_stream_resume (DroverSerialStream *self)
{
  g_return_if_fail (DROVER_IS_SERIAL_STREAM (self));
  stream_request (self, REQUEST_RESUME, 0);
}

/**
 * drover_serial_stream_cancel:
 * @self: a #DroverSerialStream
 *
 * Cancels the print, paused or not: no more of its lines are sent, then
 * the printer gets `M104 S0`, `M140 S0`, `M107`, `G91`, `G1 Z10`, `G90`,
 * `M84` (heaters and fan off, the nozzle lifted 10 mm, motors off). The
 * print ends as %DROVER_SERIAL_OUTCOME_CANCELLED once those are
 * acknowledged.
 */
void
drover_serial_stream_cancel (DroverSerialStream *self)
{
  g_return_if_fail (DROVER_IS_SERIAL_STREAM (self));
  stream_request (self, REQUEST_CANCEL, 0);
}

/**
 * drover_serial_stream_send_command_async:
 * @self: a #DroverSerialStream, open
 * @gcode: one command or several, one a line (`M104 S0\nM140 S0`)
 * @cancellable: (nullable): drops the command if none of it is sent yet
 * @callback: called once the printer acknowledged its last line
 * @user_data: data for @callback
 *
 * Sends @gcode ahead of the job's lines, while printing or paused as well
 * as idle: heaters-off is never held back by the job. Comments and blank
 * lines are dropped; the rest is checked as the job's lines are.
 *
 * Marlin runs commands in order: one the printer already has, such as an
 * M109 waiting for its temperature, finishes first (firmware built with
 * ADVANCED_OK takes the command into its queue meanwhile).
 */
void
drover_serial_stream_send_command_async (DroverSerialStream  *self,
                                         const char          *gcode,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GPtrArray) lines = NULL;
  g_auto(GStrv) split = NULL;
  PrintData *data;
  Request *request;
  guint id;

  g_return_if_fail (DROVER_IS_SERIAL_STREAM (self));
  g_return_if_fail (gcode != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, drover_serial_stream_send_command_async);
  data = g_new0 (PrintData, 1);
  g_task_set_task_data (task, data, (GDestroyNotify)print_data_free);

  lines = g_ptr_array_new_with_free_func (g_free);
  split = g_strsplit (gcode, "\n", -1);
  for (guint i = 0; split[i] != NULL; i++)
    {
      const char *command;
      gsize length = strip_line (split[i], strlen (split[i]), &command);
      g_autofree char *why = NULL;

      if (length == 0)
        continue;
      why = check_command (command, length);
      if (why != NULL)
        {
          g_task_return_new_error (task, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_INVALID_GCODE,
                                   _("The command cannot be sent to Marlin: %s."), why);
          return;
        }
      g_ptr_array_add (lines, g_strndup (command, length));
    }
  if (lines->len == 0)
    {
      g_task_return_new_error (task, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_INVALID_GCODE,
                               _("There is no command to send, only comments or blank lines."));
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  if (!stream_is_open (self))
    {
      g_task_return_new_error (task, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_NOT_READY,
                               _("The printer on %s is not connected."), self->path);
      return;
    }

  request = g_new0 (Request, 1);
  request->kind = REQUEST_COMMAND;
  request->task = g_object_ref (task);
  request->lines = g_steal_pointer (&lines);
  request->id = id = ++self->next_id;
  /* From here on the request is the I/O thread's. */
  if (!io_request (self->io, request))
    {
      g_clear_object (&request->task);
      request_free (request);
      g_task_return_new_error (task, DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_CLOSED,
                               _("The connection to %s is closed."), self->path);
      return;
    }
  data->cancellable = cancellable ? g_object_ref (cancellable) : NULL;
  data->cancelled_id = connect_cancellable (cancellable, self->io, REQUEST_CANCEL_COMMAND, id);
}

/**
 * drover_serial_stream_send_command_finish:
 * @self: a #DroverSerialStream
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): what the printer answered to the command, its
 *   lines joined with `\n` and ending with its `ok` line (M105's `ok T:…`,
 *   M115's capabilities…), or %NULL with @error set
 */
char *
drover_serial_stream_send_command_finish (DroverSerialStream  *self,
                                          GAsyncResult        *result,
                                          GError             **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == drover_serial_stream_send_command_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

DroverSerialState
drover_serial_stream_get_state (DroverSerialStream *self)
{
  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), DROVER_SERIAL_STATE_CLOSED);
  return self->state;
}

const char *
drover_serial_stream_get_firmware_name (DroverSerialStream *self)
{
  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), NULL);
  return self->firmware_name;
}

/**
 * drover_serial_stream_has_capability:
 * @self: a #DroverSerialStream
 * @name: a capability as M115 names it, such as `AUTOREPORT_TEMP`
 *
 * Returns: whether the firmware reported `Cap:<name>:1`
 */
gboolean
drover_serial_stream_has_capability (DroverSerialStream *self,
                                     const char         *name)
{
  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return self->capabilities != NULL && g_strv_contains ((const char * const *)self->capabilities, name);
}

/**
 * drover_serial_stream_dup_capabilities:
 * @self: a #DroverSerialStream
 *
 * Returns: (transfer full): the capabilities the firmware reported as on
 */
char **
drover_serial_stream_dup_capabilities (DroverSerialStream *self)
{
  static const char * const none[] = { NULL };

  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), NULL);

  return g_strdupv (self->capabilities != NULL ? self->capabilities : (char **)none);
}

gboolean
drover_serial_stream_get_advanced_ok (DroverSerialStream *self)
{
  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), FALSE);
  return self->advanced_ok;
}

gboolean
drover_serial_stream_get_pipelining (DroverSerialStream *self)
{
  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), FALSE);
  return self->pipelining;
}

double
drover_serial_stream_get_hotend_temperature (DroverSerialStream *self)
{
  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), 0);
  return self->hotend;
}

double
drover_serial_stream_get_hotend_target (DroverSerialStream *self)
{
  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), 0);
  return self->hotend_target;
}

double
drover_serial_stream_get_bed_temperature (DroverSerialStream *self)
{
  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), 0);
  return self->bed;
}

double
drover_serial_stream_get_bed_target (DroverSerialStream *self)
{
  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), 0);
  return self->bed_target;
}

guint64
drover_serial_stream_get_lines_sent (DroverSerialStream *self)
{
  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), 0);
  return self->lines_sent;
}

guint64
drover_serial_stream_get_lines_total (DroverSerialStream *self)
{
  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), 0);
  return self->lines_total;
}

guint64
drover_serial_stream_get_lines_done (DroverSerialStream *self)
{
  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), 0);
  return self->lines_done;
}

guint64
drover_serial_stream_get_resends (DroverSerialStream *self)
{
  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), 0);
  return self->resends;
}

double
drover_serial_stream_get_progress (DroverSerialStream *self)
{
  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), 0);
  return self->progress;
}

gint64
drover_serial_stream_get_time_left (DroverSerialStream *self)
{
  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), -1);
  return self->time_left;
}

const char *
drover_serial_stream_get_error_message (DroverSerialStream *self)
{
  g_return_val_if_fail (DROVER_IS_SERIAL_STREAM (self), NULL);
  return self->error_message;
}
