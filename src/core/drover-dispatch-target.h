/* drover-dispatch-target.h: one printer a job may go to, and how it went
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * DroverDispatchState:
 * @DROVER_DISPATCH_ELIGIBLE: passed the gate; waits for the operator
 * @DROVER_DISPATCH_REFUSED: the gate refused it; the reason says why
 * @DROVER_DISPATCH_WAITING: confirmed, waiting for a free upload slot
 * @DROVER_DISPATCH_SENDING: going out
 * @DROVER_DISPATCH_SENT: handed to the printer
 * @DROVER_DISPATCH_FAILED: could not be sent; the reason says why
 */
typedef enum
{
  DROVER_DISPATCH_ELIGIBLE,
  DROVER_DISPATCH_REFUSED,
  DROVER_DISPATCH_WAITING,
  DROVER_DISPATCH_SENDING,
  DROVER_DISPATCH_SENT,
  DROVER_DISPATCH_FAILED,
} DroverDispatchState;

#define DROVER_TYPE_DISPATCH_TARGET (drover_dispatch_target_get_type ())

G_DECLARE_FINAL_TYPE (DroverDispatchTarget, drover_dispatch_target, DROVER, DISPATCH_TARGET, GObject)

DroverDispatchTarget *drover_dispatch_target_new          (const char           *printer_id,
                                                           const char           *name);
const char           *drover_dispatch_target_get_printer_id (DroverDispatchTarget *self);
const char           *drover_dispatch_target_get_name     (DroverDispatchTarget *self);
DroverDispatchState   drover_dispatch_target_get_state    (DroverDispatchTarget *self);
const char           *drover_dispatch_target_get_status   (DroverDispatchTarget *self);
double                drover_dispatch_target_get_progress (DroverDispatchTarget *self);
void                  drover_dispatch_target_update       (DroverDispatchTarget *self,
                                                           DroverDispatchState   state,
                                                           const char           *status,
                                                           double                progress);

G_END_DECLS
