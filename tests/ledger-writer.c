/* ledger-writer.c: appends rows and says which are committed, for the
 * crash test in test-ledger.c
 *
 *   ledger-writer LEDGER COUNT
 *
 * Appends COUNT rows with drover_ledger_append_async(), a few dozen in
 * flight at a time so that they take many transactions, and prints
 * "SEQ SUBJECT" on the standard output for each row as soon as its append
 * is confirmed, flushed at once: what it printed before it was killed was
 * committed, and must be in the ledger.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "drover-core.h"

#define IN_FLIGHT 64

typedef struct
{
  DroverLedger *ledger;
  GMainLoop    *loop;
  guint         total;
  guint         queued;
  guint         confirmed;
  int           status;
} Writer;

static void queue_more (Writer *writer);

static void
appended_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  Writer *writer = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(DroverLedgerEntry) entry = drover_ledger_append_finish (DROVER_LEDGER (object), result, &error);

  if (entry == NULL)
    {
      g_printerr ("ledger-writer: %s\n", error->message);
      writer->status = 1;
      g_main_loop_quit (writer->loop);
      return;
    }

  printf ("%" G_GINT64_FORMAT " %s\n", entry->seq, entry->subject);
  fflush (stdout);

  writer->confirmed++;
  if (writer->confirmed == writer->total)
    g_main_loop_quit (writer->loop);
  else
    queue_more (writer);
}

static void
queue_more (Writer *writer)
{
  while (writer->queued < writer->total && writer->queued - writer->confirmed < IN_FLIGHT)
    {
      guint n = ++writer->queued;
      g_autofree char *subject = g_strdup_printf ("row %u", n);
      g_autofree char *body = g_strdup_printf ("{\"n\":%u,\"file\":\"part-%u.gcode\",\"size\":%u}", n, n, n * 17);

      drover_ledger_append_async (writer->ledger, DROVER_LEDGER_KIND_JOB_SENT, "p-0001", subject, body,
                                  NULL, appended_cb, writer);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  Writer writer = { 0 };

  if (argc != 3)
    {
      g_printerr ("usage: ledger-writer LEDGER COUNT\n");
      return 2;
    }

  if (!drover_core_init (&error))
    {
      g_printerr ("ledger-writer: %s\n", error->message);
      return 1;
    }

  writer.ledger = drover_ledger_open (argv[1], &error);
  if (writer.ledger == NULL)
    {
      g_printerr ("ledger-writer: %s\n", error->message);
      return 1;
    }

  loop = g_main_loop_new (NULL, FALSE);
  writer.loop = loop;
  writer.total = (guint)g_ascii_strtoull (argv[2], NULL, 10);
  if (writer.total == 0)
    return 0;

  queue_more (&writer);
  g_main_loop_run (loop);

  g_object_unref (writer.ledger);

  return writer.status;
}
