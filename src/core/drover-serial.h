/* drover-serial.h: Marlin printers on USB serial ports
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DROVER_SERIAL_ERROR (drover_serial_error_quark ())

/**
 * DroverSerialError:
 * @DROVER_SERIAL_ERROR_OPEN: the port cannot be opened or set to the speed
 * @DROVER_SERIAL_ERROR_PERMISSION: the user may not open the port (the dialout group)
 * @DROVER_SERIAL_ERROR_BUSY: another program holds the port, or the stream is busy
 * @DROVER_SERIAL_ERROR_NO_ANSWER: nothing on the port answered as Marlin does
 * @DROVER_SERIAL_ERROR_NOT_READY: the stream is not open, or not idle, for this request
 * @DROVER_SERIAL_ERROR_INVALID_GCODE: a line Marlin cannot take safely (too long, a
 *   backslash, a `*`, a control character, its own line number, M110)
 * @DROVER_SERIAL_ERROR_UNPLUGGED: the port vanished: cable pulled, printer off
 * @DROVER_SERIAL_ERROR_RESET: the printer restarted (its "start" banner came again)
 * @DROVER_SERIAL_ERROR_HALTED: the firmware halted (kill(), stop(), "!!")
 * @DROVER_SERIAL_ERROR_TIMEOUT: the printer stopped answering
 * @DROVER_SERIAL_ERROR_COMMUNICATION: the printer kept asking for the same line again
 * @DROVER_SERIAL_ERROR_CLOSED: the stream was closed while the request was under way
 *
 * Why a serial printer could not do what was asked.
 */
typedef enum
{
  DROVER_SERIAL_ERROR_OPEN,
  DROVER_SERIAL_ERROR_PERMISSION,
  DROVER_SERIAL_ERROR_BUSY,
  DROVER_SERIAL_ERROR_NO_ANSWER,
  DROVER_SERIAL_ERROR_NOT_READY,
  DROVER_SERIAL_ERROR_INVALID_GCODE,
  DROVER_SERIAL_ERROR_UNPLUGGED,
  DROVER_SERIAL_ERROR_RESET,
  DROVER_SERIAL_ERROR_HALTED,
  DROVER_SERIAL_ERROR_TIMEOUT,
  DROVER_SERIAL_ERROR_COMMUNICATION,
  DROVER_SERIAL_ERROR_CLOSED,
} DroverSerialError;

/**
 * DroverSerialState:
 * @DROVER_SERIAL_STATE_CLOSED: the port is not open
 * @DROVER_SERIAL_STATE_OPENING: the port is open; Drover is waiting for the
 *   firmware to answer and identify itself
 * @DROVER_SERIAL_STATE_IDLE: open and not printing
 * @DROVER_SERIAL_STATE_PRINTING: a job is being streamed
 * @DROVER_SERIAL_STATE_PAUSED: a job is paused: nothing more of it is sent
 * @DROVER_SERIAL_STATE_ERROR: the port vanished or the firmware halted;
 *   #DroverSerialStream:error-message says why
 */
typedef enum
{
  DROVER_SERIAL_STATE_CLOSED,
  DROVER_SERIAL_STATE_OPENING,
  DROVER_SERIAL_STATE_IDLE,
  DROVER_SERIAL_STATE_PRINTING,
  DROVER_SERIAL_STATE_PAUSED,
  DROVER_SERIAL_STATE_ERROR,
} DroverSerialState;

/**
 * DroverSerialOutcome:
 * @DROVER_SERIAL_OUTCOME_NONE: the job never started (it was refused)
 * @DROVER_SERIAL_OUTCOME_COMPLETED: every line was sent and acknowledged
 * @DROVER_SERIAL_OUTCOME_CANCELLED: cancelled; the cancel sequence was acknowledged
 * @DROVER_SERIAL_OUTCOME_INTERRUPTED: the port vanished, the printer restarted,
 *   or the stream was closed: the print stopped part-way
 * @DROVER_SERIAL_OUTCOME_FAILED: the firmware halted, stopped answering, or
 *   the link failed
 *
 * How a print ended.
 */
typedef enum
{
  DROVER_SERIAL_OUTCOME_NONE,
  DROVER_SERIAL_OUTCOME_COMPLETED,
  DROVER_SERIAL_OUTCOME_CANCELLED,
  DROVER_SERIAL_OUTCOME_INTERRUPTED,
  DROVER_SERIAL_OUTCOME_FAILED,
} DroverSerialOutcome;

/**
 * DroverSerialLineKind:
 * @DROVER_SERIAL_LINE_SENT_JOB: a line of the job, as written
 * @DROVER_SERIAL_LINE_SENT_COMMAND: a line of drover_serial_stream_send_command_async()
 * @DROVER_SERIAL_LINE_SENT_HOST: a line Drover adds itself: the hello (M110),
 *   M115, M155, M105 polls and probes, the cancel sequence
 * @DROVER_SERIAL_LINE_RESENT: a line written again after the printer asked
 * @DROVER_SERIAL_LINE_RECEIVED: a line from the printer
 *
 * What a #DroverSerialLineFunc is told about.
 */
typedef enum
{
  DROVER_SERIAL_LINE_SENT_JOB,
  DROVER_SERIAL_LINE_SENT_COMMAND,
  DROVER_SERIAL_LINE_SENT_HOST,
  DROVER_SERIAL_LINE_RESENT,
  DROVER_SERIAL_LINE_RECEIVED,
} DroverSerialLineKind;

#define DROVER_TYPE_SERIAL_STATE     (drover_serial_state_get_type ())
#define DROVER_TYPE_SERIAL_OUTCOME   (drover_serial_outcome_get_type ())
#define DROVER_TYPE_SERIAL_PORT_INFO (drover_serial_port_info_get_type ())

GType    drover_serial_state_get_type   (void) G_GNUC_CONST;
GType    drover_serial_outcome_get_type (void) G_GNUC_CONST;
GQuark   drover_serial_error_quark      (void);

/**
 * DroverSerialPortInfo:
 * @path: the device, such as `/dev/ttyACM0`
 * @by_id: (nullable): the stable link to it in `/dev/serial/by-id/` (its
 *   full path), which survives re-plugging; %NULL when udev made none
 *
 * A serial port a printer may be on.
 */
typedef struct
{
  char *path;
  char *by_id;
} DroverSerialPortInfo;

GType                 drover_serial_port_info_get_type  (void) G_GNUC_CONST;
DroverSerialPortInfo *drover_serial_port_info_copy      (const DroverSerialPortInfo *info);
void                  drover_serial_port_info_free      (DroverSerialPortInfo       *info);

GPtrArray            *drover_serial_list_ports          (void);
GPtrArray            *drover_serial_list_ports_in       (const char                 *dev_dir);

char                 *drover_serial_format_line         (gint64                      number,
                                                         const char                 *command);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DroverSerialPortInfo, drover_serial_port_info_free)

#define DROVER_TYPE_SERIAL_WATCHER (drover_serial_watcher_get_type ())

G_DECLARE_FINAL_TYPE (DroverSerialWatcher, drover_serial_watcher, DROVER, SERIAL_WATCHER, GObject)

DroverSerialWatcher  *drover_serial_watcher_new         (void);
DroverSerialWatcher  *drover_serial_watcher_new_for_dir (const char                 *dev_dir);
GPtrArray            *drover_serial_watcher_dup_ports   (DroverSerialWatcher        *self);

#define DROVER_TYPE_SERIAL_STREAM (drover_serial_stream_get_type ())

G_DECLARE_FINAL_TYPE (DroverSerialStream, drover_serial_stream, DROVER, SERIAL_STREAM, GObject)

/**
 * DroverSerialProgressFunc:
 * @stream: the stream printing
 * @lines_done: job lines the printer has acknowledged
 * @lines_total: job lines in all (comments and blank lines not counted)
 * @user_data: the data given to drover_serial_stream_print_async()
 *
 * Called on the main context the stream was made in, a few times a second
 * at most while lines are acknowledged.
 */
typedef void (*DroverSerialProgressFunc) (DroverSerialStream *stream,
                                          guint64             lines_done,
                                          guint64             lines_total,
                                          gpointer            user_data);

/**
 * DroverSerialLineFunc:
 * @kind: what the line is
 * @line: the line without its newline, not nul-terminated past @length
 *   bytes; for sent lines the whole wire form, `N12 G1 X5*93`
 * @length: bytes in @line
 * @user_data: the data given to drover_serial_stream_set_line_func()
 *
 * Called on the stream's I/O thread for every line sent and received, in
 * order, as it happens. It must be quick and must not block (the printer
 * waits meanwhile): copy what you keep and hand it to your own thread or
 * main context. Touch no object that lives on the main thread.
 */
typedef void (*DroverSerialLineFunc) (DroverSerialLineKind  kind,
                                      const char           *line,
                                      gsize                 length,
                                      gpointer              user_data);

DroverSerialStream   *drover_serial_stream_new                 (const char               *path,
                                                                guint                     baud);
const char           *drover_serial_stream_get_path            (DroverSerialStream       *self);
guint                 drover_serial_stream_get_baud            (DroverSerialStream       *self);
void                  drover_serial_stream_set_line_func       (DroverSerialStream       *self,
                                                                DroverSerialLineFunc      func,
                                                                gpointer                  user_data,
                                                                GDestroyNotify            destroy);

void                  drover_serial_stream_open_async          (DroverSerialStream       *self,
                                                                GCancellable             *cancellable,
                                                                GAsyncReadyCallback       callback,
                                                                gpointer                  user_data);
gboolean              drover_serial_stream_open_finish         (DroverSerialStream       *self,
                                                                GAsyncResult             *result,
                                                                GError                  **error);
void                  drover_serial_stream_close               (DroverSerialStream       *self);

void                  drover_serial_stream_print_async         (DroverSerialStream       *self,
                                                                GBytes                   *gcode,
                                                                GCancellable             *cancellable,
                                                                DroverSerialProgressFunc  progress,
                                                                gpointer                  progress_data,
                                                                GDestroyNotify            progress_destroy,
                                                                GAsyncReadyCallback       callback,
                                                                gpointer                  user_data);
gboolean              drover_serial_stream_print_finish        (DroverSerialStream       *self,
                                                                GAsyncResult             *result,
                                                                DroverSerialOutcome      *outcome,
                                                                GError                  **error);
void                  drover_serial_stream_pause               (DroverSerialStream       *self);
void                  drover_serial_stream_resume              (DroverSerialStream       *self);
void                  drover_serial_stream_cancel              (DroverSerialStream       *self);

void                  drover_serial_stream_send_command_async  (DroverSerialStream       *self,
                                                                const char               *gcode,
                                                                GCancellable             *cancellable,
                                                                GAsyncReadyCallback       callback,
                                                                gpointer                  user_data);
char                 *drover_serial_stream_send_command_finish (DroverSerialStream       *self,
                                                                GAsyncResult             *result,
                                                                GError                  **error);

DroverSerialState     drover_serial_stream_get_state           (DroverSerialStream       *self);
const char           *drover_serial_stream_get_firmware_name   (DroverSerialStream       *self);
gboolean              drover_serial_stream_has_capability      (DroverSerialStream       *self,
                                                                const char               *name);
char                **drover_serial_stream_dup_capabilities    (DroverSerialStream       *self);
gboolean              drover_serial_stream_get_advanced_ok     (DroverSerialStream       *self);
gboolean              drover_serial_stream_get_pipelining      (DroverSerialStream       *self);
double                drover_serial_stream_get_hotend_temperature (DroverSerialStream    *self);
double                drover_serial_stream_get_hotend_target   (DroverSerialStream       *self);
double                drover_serial_stream_get_bed_temperature (DroverSerialStream       *self);
double                drover_serial_stream_get_bed_target      (DroverSerialStream       *self);
guint64               drover_serial_stream_get_lines_sent      (DroverSerialStream       *self);
guint64               drover_serial_stream_get_lines_total     (DroverSerialStream       *self);
guint64               drover_serial_stream_get_lines_done      (DroverSerialStream       *self);
guint64               drover_serial_stream_get_resends         (DroverSerialStream       *self);
double                drover_serial_stream_get_progress        (DroverSerialStream       *self);
gint64                drover_serial_stream_get_time_left       (DroverSerialStream       *self);
const char           *drover_serial_stream_get_error_message   (DroverSerialStream       *self);

G_END_DECLS
