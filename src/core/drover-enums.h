/* drover-enums.h: the enumerations of Drover's model
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * DroverPrinterState:
 * @DROVER_PRINTER_STATE_OFFLINE: nothing heard from the printer, or it said goodbye
 * @DROVER_PRINTER_STATE_IDLE: connected and not printing
 * @DROVER_PRINTER_STATE_PRINTING: a job is running
 * @DROVER_PRINTER_STATE_PAUSED: a job is paused
 * @DROVER_PRINTER_STATE_ERROR: the printer reported a fault
 *
 * What a printer is doing, the same for every connector.
 */
typedef enum
{
  DROVER_PRINTER_STATE_OFFLINE,
  DROVER_PRINTER_STATE_IDLE,
  DROVER_PRINTER_STATE_PRINTING,
  DROVER_PRINTER_STATE_PAUSED,
  DROVER_PRINTER_STATE_ERROR,
} DroverPrinterState;

#define DROVER_PRINTER_STATE_LAST (DROVER_PRINTER_STATE_ERROR + 1)

/**
 * DroverConnectorKind:
 * @DROVER_CONNECTOR_NATIVE: Drover's own MQTT dialect (docs/protocol.md)
 * @DROVER_CONNECTOR_MOONRAKER: Klipper through Moonraker's `[mqtt]` component
 * @DROVER_CONNECTOR_OCTOPRINT: OctoPrint with the OctoPrint-MQTT plugin
 * @DROVER_CONNECTOR_BAMBU: a Bambu Lab printer in LAN mode
 * @DROVER_CONNECTOR_ANYCUBIC: an Anycubic printer
 * @DROVER_CONNECTOR_SERIAL: a Marlin-compatible printer on a USB serial port
 *
 * How Drover talks to a printer.
 */
typedef enum
{
  DROVER_CONNECTOR_NATIVE,
  DROVER_CONNECTOR_MOONRAKER,
  DROVER_CONNECTOR_OCTOPRINT,
  DROVER_CONNECTOR_BAMBU,
  DROVER_CONNECTOR_ANYCUBIC,
  DROVER_CONNECTOR_SERIAL,
} DroverConnectorKind;

#define DROVER_CONNECTOR_LAST (DROVER_CONNECTOR_SERIAL + 1)

/**
 * DroverAlertSeverity:
 * @DROVER_ALERT_NOTICE: worth a look; no desktop notification
 * @DROVER_ALERT_WARNING: something the operator did not send
 * @DROVER_ALERT_CRITICAL: evidence of harm: not G-code, dangerous
 *   commands, values over the printer's limits, a known attack's marker,
 *   or the same thing on several printers at once
 *
 * How much an alert matters; evidence only ever raises it.
 */
typedef enum
{
  DROVER_ALERT_NOTICE,
  DROVER_ALERT_WARNING,
  DROVER_ALERT_CRITICAL,
} DroverAlertSeverity;

/**
 * DroverFileProvenance:
 * @DROVER_FILE_SENT: Drover sent it (the ledger says so: name, size, hash)
 * @DROVER_FILE_APPROVED: an operator approved it
 * @DROVER_FILE_BASELINE: on the printer when Drover first listed its files
 * @DROVER_FILE_UNEXPECTED: none of the above
 *
 * Where a file on a printer came from, as far as Drover knows.
 */
typedef enum
{
  DROVER_FILE_SENT,
  DROVER_FILE_APPROVED,
  DROVER_FILE_BASELINE,
  DROVER_FILE_UNEXPECTED,
} DroverFileProvenance;

G_END_DECLS
