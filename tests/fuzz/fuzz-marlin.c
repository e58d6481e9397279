/* fuzz-marlin.c: what a Marlin printer sends on its serial port
 *
 * The reply parser is the serial stream's I/O thread: io_read() splits the
 * bytes into lines and io_handle_line() acts on each (ok, ok N… P… B…,
 * ok T:…, Resend:/rs, busy:, Error:, !!, start, wait, FIRMWARE_NAME:,
 * Cap:, //action:, echo:, temperature reports), all static in
 * drover-serial.c and tied to the thread's state. This file includes
 * drover-serial.c whole and drives those functions as io_thread() does,
 * without a port or a thread: what the printer sends goes into a pipe that
 * io_read() reads, io_pump() writes Drover's lines into the Io's output
 * buffer, and the harness reads them as Marlin would. Not a line of
 * drover-serial.c changes for it; a change of its internals may need one
 * here (the replay executable is built in every build, so it shows).
 *
 * The input is the printer's bytes, from its boot banner on, delivered a
 * line ("\n") at a time, Drover writing in between; lines ended by "\r"
 * arrive together with the next (one read of several lines). NUL bytes,
 * which io_read() drops, also tell the harness what happens meanwhile on
 * the host's side: a run of one NUL is four seconds of silence (the
 * stream's timers run: handshake timeouts, the M105 poll, the probe for a
 * lost ok), two the user cancels the job, three the user pauses or resumes
 * it, four or more a minute of silence. Once the handshake is done the
 * harness asks for an M20 (whose reply goes through the farm's M20 parser,
 * parse_sd_listing() of drover-farm.c, included by fuzz-marlin-listing.c)
 * and starts a short job, as the farm does.
 *
 * The promises held, from drover-serial.c's top comment and
 * drover-serial.h: every line Drover writes, after the backspaces that
 * erase a start written ahead, is `N<n> <command>*<checksum>` with the
 * right checksum, within Marlin's 95 bytes, numbered below the next
 * number; what is in flight unparsed stays within Marlin's 127-byte
 * receive buffer; no more than 64 lines are in flight and none has left
 * the history a Resend: reads; the job's counts stay within its lines;
 * the received lines handed to the line hook are single lines of at most
 * 1024 bytes; firmware name, error message and command replies are UTF-8;
 * M20's file names are non-empty UTF-8 and their sizes bytes or -1.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "drover-serial.c"

#include "drover-event.h"

#include "fuzz-common.h"

/* fuzz-marlin-listing.c: drover-farm.c's M20 parser. */
DroverEvent *fuzz_parse_sd_listing (const char *reply);

static const char job_gcode[] =
  "; a short job, as a slicer writes one\n"
  "M140 S60\n"
  "M104 S215\n"
  "G28 ; home\n"
  "M190 S60\n"
  "M109 S215\n"
  "G92 E0\n"
  "G1 Z0.2 F720\n"
  "G1 X60 E9 F1000 ; intro line\n"
  "\n"
  "G1 X100 E12.5 F1000\n"
  "M106 S255\n"
  "G1 X120 Y80 E1.5\n"
  "G1 X120 Y120 E1.5\n"
  "M400\n"
  "M107\n"
  "M84\n";

typedef struct
{
  Io      *io;
  int      fds[2];
  GString *marlin_line;  /* what Marlin's line buffer holds */
  gboolean asked;        /* M20 and the job are under way */
} Harness;

static DroverSerialStream *stream;

static void
line_hook (DroverSerialLineKind  kind,
           const char           *line,
           gsize                 length,
           gpointer              user_data)
{
  if (kind == DROVER_SERIAL_LINE_RECEIVED)
    {
      /* One line, without its end, and cut at MAX_REPLY_LINE. */
      FUZZ_CHECK (length > 0 && length <= MAX_REPLY_LINE && line[length] == '\0');
      FUZZ_CHECK (memchr (line, '\n', length) == NULL && memchr (line, '\r', length) == NULL);
      FUZZ_CHECK (memchr (line, '\0', length) == NULL);
    }
  else
    FUZZ_CHECK (length > 0 && length <= MAX_WIRE_LINE && line[0] == 'N');
}

/* A complete line as Marlin reads it: `N<n> <command>*<checksum>`. */
static void
check_wire_line (Harness    *harness,
                 const char *line,
                 gsize       length)
{
  const char *star = NULL;
  const char *p = line + 1;
  guint8 checksum = 0;
  gint64 number = 0;
  char *end = NULL;
  guint64 stated;

  FUZZ_CHECK (length > 0 && length <= MAX_WIRE_LINE);
  for (gsize i = length; i > 0 && star == NULL; i--)
    if (line[i - 1] == '*')
      star = line + i - 1;
  FUZZ_CHECK (line[0] == 'N' && star != NULL);
  FUZZ_CHECK (g_ascii_isdigit (*p));
  while (g_ascii_isdigit (*p))
    number = number * 10 + (*p++ - '0');
  FUZZ_CHECK (*p == ' ' && p + 1 < star);
  FUZZ_CHECK (number < harness->io->next_number);
  for (const char *c = p + 1; c < star; c++)
    FUZZ_CHECK (*c != '*' && (guchar) *c >= 0x20 && *c != 0x7f);
  for (const char *c = line; c < star; c++)
    checksum ^= (guint8) *c;
  stated = g_ascii_strtoull (star + 1, &end, 10);
  FUZZ_CHECK (end == line + length && end > star + 1);
  FUZZ_CHECK (stated == checksum);
}

/* What Drover wrote, as Marlin's line buffer takes it in. */
static void
drain_output (Harness *harness)
{
  GByteArray *out = harness->io->out;

  for (guint i = 0; i < out->len; i++)
    {
      char c = (char) out->data[i];

      if (c == '\b')
        {
          if (harness->marlin_line->len > 0)
            g_string_truncate (harness->marlin_line, harness->marlin_line->len - 1);
        }
      else if (c == '\n')
        {
          check_wire_line (harness, harness->marlin_line->str, harness->marlin_line->len);
          g_string_truncate (harness->marlin_line, 0);
        }
      else
        {
          g_string_append_c (harness->marlin_line, c);
          FUZZ_CHECK (harness->marlin_line->len <= MAX_WIRE_LINE);
        }
    }
  g_byte_array_set_size (out, 0);
}

static void
check_listing (const char *reply)
{
  g_autoptr(DroverEvent) event = fuzz_parse_sd_listing (reply);

  FUZZ_CHECK (event != NULL && event->files != NULL);
  for (guint i = 0; i < event->files->len; i++)
    {
      DroverFileInfo *file = g_ptr_array_index (event->files, i);

      FUZZ_CHECK (file->name != NULL && *file->name != '\0' && fuzz_is_text (file->name, 0));
      FUZZ_CHECK (file->size >= -1);
    }
}

static void
drain_completions (Harness *harness)
{
  Completion *completion;

  while ((completion = g_queue_pop_head (&harness->io->completions)) != NULL)
    {
      FUZZ_CHECK (completion->task == NULL);
      if (completion->error != NULL)
        FUZZ_CHECK (fuzz_is_text (completion->error->message, 0) && completion->reply == NULL);
      if (completion->kind == COMPLETION_COMMAND && completion->error == NULL)
        {
          FUZZ_CHECK (fuzz_is_text (completion->reply, 0));
          /* As the farm does with M20's reply (listed_cb()). */
          if (strstr (completion->reply, "Begin file list") != NULL)
            check_listing (completion->reply);
        }
      if (completion->kind == COMPLETION_PRINT)
        FUZZ_CHECK ((int) completion->outcome >= DROVER_SERIAL_OUTCOME_NONE &&
                    completion->outcome <= DROVER_SERIAL_OUTCOME_FAILED);
      g_clear_error (&completion->error);
      g_free (completion->reply);
      g_free (completion);
    }
}

static void
check_state (Harness *harness)
{
  Io *io = harness->io;

  FUZZ_CHECK (io->acked <= io->send_cursor - 1 && io->send_cursor <= io->next_number);
  FUZZ_CHECK (io->acked >= -1);
  FUZZ_CHECK ((guint64) (io->send_cursor - io->acked - 1) <= MAX_LINES_IN_FLIGHT);
  /* Every line that may still be asked for again is in the history. */
  FUZZ_CHECK (io->next_number - io->acked - 1 <= HISTORY_SIZE);
  for (gint64 n = io->acked + 1; n < io->next_number; n++)
    FUZZ_CHECK (history_at (io, n)->number == n);
  /* Within Marlin's receive buffer. */
  FUZZ_CHECK (io_unparsed_bytes (io) + io->partial_bytes <= RX_BUFFER_BYTES);
  FUZZ_CHECK (io->partial_bytes == 0 || io->partial_bytes <= PREFIX_BYTES);

  if (io->job != NULL)
    {
      FUZZ_CHECK (io->job->done <= io->job->taken && io->job->taken <= io->job->total);
      FUZZ_CHECK (io->job->offset <= io->job->size);
    }
  FUZZ_CHECK (io->state.lines_done <= io->state.lines_total);
  FUZZ_CHECK (io->state.lines_sent <= io->state.lines_total);
  FUZZ_CHECK (io->state.firmware_name == NULL || fuzz_is_text (io->state.firmware_name, 0));
  FUZZ_CHECK (io->state.error_message == NULL || fuzz_is_text (io->state.error_message, 0));
  for (guint i = 0; io->state.capabilities != NULL && io->state.capabilities[i] != NULL; i++)
    FUZZ_CHECK (io->state.capabilities[i][0] != '\0');
  FUZZ_CHECK ((int) io->state.state >= DROVER_SERIAL_STATE_CLOSED && io->state.state <= DROVER_SERIAL_STATE_ERROR);
}

/* As the farm does once the printer is ready: the SD card's files, and
 * a job. */
static void
ask (Harness *harness,
     gint64   now)
{
  Request *command = g_new0 (Request, 1);
  Request *print = g_new0 (Request, 1);
  Job *job = g_new0 (Job, 1);

  command->kind = REQUEST_COMMAND;
  command->id = 1;
  command->lines = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (command->lines, g_strdup ("M20"));
  io_handle_request (harness->io, command, now);

  job->id = 2;
  job->gcode = g_bytes_new_static (job_gcode, sizeof job_gcode - 1);
  job->data = g_bytes_get_data (job->gcode, &job->size);
  print->kind = REQUEST_PRINT;
  print->job = job;
  io_handle_request (harness->io, print, now);
  harness->asked = TRUE;
}

static void
step (Harness *harness)
{
  gint64 now = g_get_monotonic_time ();

  if (!harness->asked && harness->io->handshake == HANDSHAKE_DONE && !harness->io->halted)
    ask (harness, now);
  io_pump (harness->io);
  drain_output (harness);
  drain_completions (harness);
  check_state (harness);
}

/* Host-side events between the printer's bytes: a run of @nuls NULs. */
static void
host_event (Harness *harness,
            size_t   nuls)
{
  Io *io = harness->io;
  gint64 now = g_get_monotonic_time ();

  switch (nuls)
    {
    case 1:
      io_timers (io, now + 4 * G_USEC_PER_SEC);
      break;
    case 2:
      io_cancel_job (io, now);
      break;
    case 3:
      io_set_paused (io, io->job != NULL && !io->job->paused, now);
      break;
    default:
      io_timers (io, now + 60 * G_USEC_PER_SEC);
      break;
    }
  step (harness);
}

static void
receive (Harness       *harness,
         const uint8_t *data,
         size_t         size)
{
  gsize written = 0;

  while (written < size)
    {
      gssize n = write (harness->fds[1], data + written, size - written);

      FUZZ_CHECK (n > 0);
      written += (gsize) n;
    }
  io_read (harness->io, g_get_monotonic_time (), FALSE);
  step (harness);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  Harness harness = { 0 };
  FuzzSplitter splitter;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) closed = NULL;
  size_t offset = 0;

  if (stream == NULL)
    {
      stream = drover_serial_stream_new ("/dev/ttyFUZZ0", 115200);
      drover_serial_stream_set_line_func (stream, line_hook, NULL, NULL);
    }

  /* As io_thread() starts, with a pipe for the port. */
  harness.io = io_new (stream, &error);
  FUZZ_CHECK (harness.io != NULL);
  FUZZ_CHECK (g_unix_open_pipe (harness.fds, FD_CLOEXEC, NULL));
  FUZZ_CHECK (g_unix_set_fd_nonblocking (harness.fds[0], TRUE, NULL));
  harness.io->fd = harness.fds[0];
  harness.io->handshake = HANDSHAKE_BANNER;
  harness.io->handshake_deadline = g_get_monotonic_time () + BANNER_WAIT_US;
  harness.io->last_byte_us = harness.io->last_progress_us = g_get_monotonic_time ();
  harness.marlin_line = g_string_new (NULL);
  fuzz_splitter_init (&splitter, data, size);

  while (offset < size && !harness.io->dead)
    {
      const uint8_t *nul = memchr (data + offset, '\0', size - offset);
      size_t text_end = nul != NULL ? (size_t) (nul - data) : size;

      /* The printer's bytes up to the next NUL. Each read() ends at a
       * "\n", so that Drover writes between the printer's lines as it
       * would while the printer works; lines ended by "\r" come in one
       * read with what follows. A read may also stop part-way through a
       * line, where the input's hash says. */
      while (offset < text_end && !harness.io->dead)
        {
          const uint8_t *newline = memchr (data + offset, '\n', text_end - offset);
          size_t read_end = newline != NULL ? (size_t) (newline - data) + 1 : text_end;
          size_t length = fuzz_splitter_chunk (&splitter, read_end - offset, READ_CHUNK);

          receive (&harness, data + offset, length);
          offset += length;
        }
      if (nul != NULL && !harness.io->dead)
        {
          size_t nuls = 0;

          while (offset < size && data[offset] == '\0')
            {
              nuls++;
              offset++;
            }
          /* io_read() drops them: a line may go on after the event. */
          receive (&harness, (const uint8_t *) "\0", 1);
          host_event (&harness, nuls);
        }
    }

  /* As io_thread() ends: whatever is under way is interrupted. */
  closed = g_error_new_literal (DROVER_SERIAL_ERROR, DROVER_SERIAL_ERROR_CLOSED, "closed");
  io_fail_all (harness.io, DROVER_SERIAL_OUTCOME_INTERRUPTED, closed);
  drain_completions (&harness);
  close (harness.fds[0]);
  close (harness.fds[1]);
  harness.io->fd = -1;
  io_unref (harness.io);
  g_string_free (harness.marlin_line, TRUE);

  return 0;
}
