/* drover-demo.c: the demo farm shown before a farm is configured
 *
 * A small, fixed farm with one printer of each kind and every state, so a
 * newcomer sees at once what Drover shows. It is in-process and still: the
 * live demo, on drover-sim and a local broker, replaces it once the
 * simulator and the MQTT link exist.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "drover-demo"

#include "config.h"

#include "drover-demo.h"

typedef struct
{
  const char          *id;
  const char          *display_name;
  DroverConnectorKind  connector;
  DroverPrinterState   state;
  double               hotend;
  double               hotend_target;
  double               bed;
  double               bed_target;
  double               progress;
  gint64               time_left;
  const char          *file;
} DemoPrinter;

static const DemoPrinter demo_printers[] = {
  { "demo/voron-01", "Voron 2.4 #1", DROVER_CONNECTOR_MOONRAKER, DROVER_PRINTER_STATE_PRINTING,
    249.6, 250, 109.8, 110, 0.42, 5040, "bracket_v3_ASA.gcode" },
  { "demo/voron-02", "Voron 2.4 #2", DROVER_CONNECTOR_MOONRAKER, DROVER_PRINTER_STATE_IDLE,
    24.1, 0, 23.8, 0, 0, -1, NULL },
  { "demo/prusa-mk4-01", "Prusa MK4 #1", DROVER_CONNECTOR_OCTOPRINT, DROVER_PRINTER_STATE_PRINTING,
    215.2, 215, 60.1, 60, 0.87, 780, "gridfinity_3x3_PLA.gcode" },
  { "demo/prusa-mk4-02", "Prusa MK4 #2", DROVER_CONNECTOR_OCTOPRINT, DROVER_PRINTER_STATE_PAUSED,
    170.0, 170, 60.0, 60, 0.31, 9120, "cable_clips_PETG.gcode" },
  { "demo/bambu-p1s-01", "Bambu P1S #1", DROVER_CONNECTOR_BAMBU, DROVER_PRINTER_STATE_PRINTING,
    220.0, 220, 55.0, 55, 0.12, 14400, "enclosure_panel.3mf" },
  { "demo/bambu-x1c-01", "Bambu X1C #1", DROVER_CONNECTOR_BAMBU, DROVER_PRINTER_STATE_ERROR,
    31.0, 0, 29.5, 0, 0.66, -1, "gear_housing.3mf" },
  { "demo/kobra2-01", "Kobra 2 #1", DROVER_CONNECTOR_ANYCUBIC, DROVER_PRINTER_STATE_IDLE,
    26.0, 0, 25.0, 0, 0, -1, NULL },
  { "demo/kobra2-02", "Kobra 2 #2", DROVER_CONNECTOR_ANYCUBIC, DROVER_PRINTER_STATE_OFFLINE,
    0, 0, 0, 0, 0, -1, NULL },
  { "demo/ender3-usb", "Ender 3 (USB)", DROVER_CONNECTOR_SERIAL, DROVER_PRINTER_STATE_PRINTING,
    200.4, 200, 59.7, 60, 0.55, 2700, "calibration_cube.gcode" },
  { "demo/diy-corexy", "DIY CoreXY", DROVER_CONNECTOR_NATIVE, DROVER_PRINTER_STATE_IDLE,
    22.3, 0, 22.0, 0, 0, -1, NULL },
  { "demo/voron-03", "Voron Trident", DROVER_CONNECTOR_MOONRAKER, DROVER_PRINTER_STATE_PRINTING,
    239.9, 240, 99.6, 100, 0.05, 21600, "fan_duct_ABS.gcode" },
  { "demo/prusa-mini-01", "Prusa MINI+", DROVER_CONNECTOR_OCTOPRINT, DROVER_PRINTER_STATE_OFFLINE,
    0, 0, 0, 0, 0, -1, NULL },
};

/**
 * drover_demo_populate_fleet:
 * @fleet: the fleet to fill
 *
 * Adds the demo farm's printers to @fleet in one change of the model.
 *
 * Returns: how many printers were added
 */
guint
drover_demo_populate_fleet (DroverFleet *fleet)
{
  g_autoptr(GPtrArray) printers = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  g_return_val_if_fail (DROVER_IS_FLEET (fleet), 0);

  for (guint i = 0; i < G_N_ELEMENTS (demo_printers); i++)
    {
      const DemoPrinter *demo = &demo_printers[i];
      DroverPrinter *printer = drover_printer_new (demo->id, demo->connector);
      g_autoptr(GDateTime) seen = NULL;

      /* Offline printers were last heard from a while ago. */
      seen = g_date_time_add_seconds (now, demo->state == DROVER_PRINTER_STATE_OFFLINE ? -3600.0 * (i + 1) : -1.0);

      g_object_set (printer,
                    "display-name", demo->display_name,
                    "state", demo->state,
                    "hotend-temperature", demo->hotend,
                    "hotend-target", demo->hotend_target,
                    "bed-temperature", demo->bed,
                    "bed-target", demo->bed_target,
                    "progress", demo->progress,
                    "time-left", demo->time_left,
                    "current-file", demo->file,
                    "last-seen", seen,
                    NULL);

      g_ptr_array_add (printers, printer);
    }

  return drover_fleet_add_printers (fleet, (DroverPrinter **)printers->pdata, printers->len);
}
