/* fuzz-decode.c: every decoder, fed whatever a broker could deliver
 *
 * The input is `<topic>\n<payload>`: the bytes before the first newline are
 * the topic, all after it the payload (see README.md). Each of the five
 * decoders reads it, and whatever it says must keep the promises of
 * drover-decode.h: refused means nothing out; OK means a key, some field,
 * and values in range.
 *
 * With libFuzzer:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined … fuzz-decode.c …
 *   mkdir -p /tmp/fuzz-corpus && ./fuzz-decode /tmp/fuzz-corpus tests/fuzz/corpus/native …
 * Without (define DROVER_FUZZ_STANDALONE): a main that runs each file named
 * on the command line once, to replay the corpus or a crash (fuzz-common.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drover-decode.h"

#include "fuzz-common.h"

static const DroverDecodeFunc decoders[] = {
  drover_decode_native,
  drover_decode_moonraker,
  drover_decode_octoprint,
  drover_decode_bambu,
  drover_decode_anycubic,
};

static void
check_text (const char *text)
{
  FUZZ_CHECK (text == NULL || (*text != '\0' && g_utf8_validate (text, -1, NULL)));
}

static void
check_temperature (DroverUpdate       *update,
                   DroverUpdateFields  field,
                   double              celsius)
{
  FUZZ_CHECK ((update->fields & field) == 0 || (celsius >= -50.0 && celsius <= 1000.0));
}

static void
check_result (DroverDecodeStatus  status,
              char               *key,
              DroverUpdate       *update)
{
  if (status != DROVER_DECODE_OK)
    {
      FUZZ_CHECK (key == NULL && update->fields == 0 &&
                  update->current_file == NULL && update->error_text == NULL && update->events == NULL);
      return;
    }

  FUZZ_CHECK (key != NULL && *key != '\0' && g_utf8_validate (key, -1, NULL) && strpbrk (key, "/+#") == NULL);
  FUZZ_CHECK (update->fields != 0 || (update->events != NULL && update->events->len > 0));

  /* Events carry text from the wire: valid UTF-8, never empty names. */
  for (guint i = 0; update->events != NULL && i < update->events->len; i++)
    {
      DroverEvent *event = g_ptr_array_index (update->events, i);

      check_text (event->file);
      check_text (event->url);
      check_text (event->request_id);
      for (guint j = 0; event->files != NULL && j < event->files->len; j++)
        check_text (((DroverFileInfo *) g_ptr_array_index (event->files, j))->name);
    }

  check_temperature (update, DROVER_UPDATE_HOTEND_TEMPERATURE, update->hotend_temperature);
  check_temperature (update, DROVER_UPDATE_HOTEND_TARGET, update->hotend_target);
  check_temperature (update, DROVER_UPDATE_BED_TEMPERATURE, update->bed_temperature);
  check_temperature (update, DROVER_UPDATE_BED_TARGET, update->bed_target);

  FUZZ_CHECK ((update->fields & DROVER_UPDATE_PROGRESS) == 0 ||
              (update->progress >= 0.0 && update->progress <= 1.0));
  FUZZ_CHECK ((update->fields & DROVER_UPDATE_TIME_LEFT) == 0 || update->time_left >= -1);
  FUZZ_CHECK ((update->fields & DROVER_UPDATE_STATE) == 0 ||
              ((int) update->state >= 0 && (int) update->state < DROVER_PRINTER_STATE_LAST));
  FUZZ_CHECK ((update->fields & DROVER_UPDATE_CURRENT_FILE) != 0 || update->current_file == NULL);
  FUZZ_CHECK ((update->fields & DROVER_UPDATE_ERROR_TEXT) != 0 || update->error_text == NULL);

  check_text (update->current_file);
  check_text (update->error_text);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const uint8_t *newline = memchr (data, '\n', size);
  g_autofree char *topic = NULL;
  g_autofree guint8 *payload = NULL;
  gsize length;

  if (newline == NULL)
    return 0;

  topic = g_strndup ((const char *) data, (gsize) (newline - data));
  length = size - (gsize) (newline - data) - 1;
  /* A copy of exactly the payload's size, so ASan sees any read past it. */
  payload = g_memdup2 (newline + 1, length);

  for (guint i = 0; i < G_N_ELEMENTS (decoders); i++)
    {
      DroverUpdate update = { 0 };
      char *key = NULL;
      DroverDecodeStatus status;

      status = decoders[i] (topic, payload, length, &key, &update);
      check_result (status, key, &update);

      g_free (key);
      drover_update_clear (&update);
    }

  return 0;
}
