/* drover-send-job-window.h: a signed job, checked, to the printers the operator picks
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "drover-application.h"

G_BEGIN_DECLS

#define DROVER_TYPE_SEND_JOB_WINDOW (drover_send_job_window_get_type ())

G_DECLARE_FINAL_TYPE (DroverSendJobWindow, drover_send_job_window, DROVER, SEND_JOB_WINDOW, AdwWindow)

DroverSendJobWindow *drover_send_job_window_new              (GtkWindow           *parent,
                                                              DroverApplication   *application);
void                 drover_send_job_window_choose_file      (DroverSendJobWindow *self);
void                 drover_send_job_window_load_file        (DroverSendJobWindow *self,
                                                              GFile               *file);
const char          *drover_send_job_window_get_page_name    (DroverSendJobWindow *self);
gboolean             drover_send_job_window_pick_printer     (DroverSendJobWindow *self,
                                                              const char          *printer_id,
                                                              gboolean             picked);

G_END_DECLS
