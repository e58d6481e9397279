/* sim-farm.h: the simulated print farm
 *
 * The model of drover-sim: printers with a state that changes over time as
 * a real farm's does, their files and their command history. Dialects
 * (sim-dialect-*.c) turn this model into each real program's words, from
 * their own templates; nothing here comes from src/core.
 *
 * Everything here runs in the main context.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "sim-mqtt.h"

G_BEGIN_DECLS

typedef struct _SimFarm SimFarm;
typedef struct _SimPrinter SimPrinter;
typedef struct _SimDialectClass SimDialectClass;

typedef enum
{
  SIM_DIALECT_NATIVE,
  SIM_DIALECT_MOONRAKER,
  SIM_DIALECT_OCTOPRINT,
  SIM_DIALECT_BAMBU,
  SIM_DIALECT_SERIAL,
  SIM_DIALECT_ANYCUBIC,      /* Kobra 2: a client of the farm's broker, as of Anycubic's cloud */
  SIM_DIALECT_ANYCUBIC_LAN,  /* Kobra 3 / S1 in LAN mode: its own MQTT 5 broker */
  SIM_N_DIALECTS
} SimDialect;

typedef enum
{
  SIM_STATE_IDLE,
  SIM_STATE_HEATING,    /* a job is starting: heaters coming up */
  SIM_STATE_PRINTING,
  SIM_STATE_PAUSED,
  SIM_STATE_FINISHED,   /* done, plate not yet cleared */
  SIM_STATE_CANCELLED,
  SIM_STATE_ERROR,
  SIM_STATE_OFFLINE,
} SimState;

typedef enum
{
  SIM_INCIDENT_README,  /* a text file named hacked_machine_readme.gcode (2024) */
  SIM_INCIDENT_GCODE,   /* real-looking G-code with M502, M500 and a 320 °C target */
  SIM_INCIDENT_PRINT,   /* a print nobody asked for starts (the 2023 replay) */
} SimIncidentKind;

typedef struct
{
  char   *name;          /* path relative to the printer's storage */
  GBytes *content;
  gint64  modified;      /* Unix seconds */
  char   *sha256;        /* hex */
} SimFile;

typedef struct
{
  double  time;          /* Unix seconds */
  char   *type;          /* "command" or "response" */
  char   *message;
} SimGcodeEntry;

struct _SimPrinter
{
  SimFarm               *farm;
  const SimDialectClass *klass;
  SimDialect             dialect;
  char                  *id;            /* one topic level: [A-Za-z0-9._-] */
  char                  *name;          /* display name */
  char                  *serial;        /* Bambu serial, Anycubic device id */
  char                  *access_code;   /* Bambu LAN access code, Anycubic LAN password */
  char                  *username;      /* Anycubic LAN user (device_account.json) */
  guint                  model_id;      /* Anycubic model id: 20021 Kobra 2 Pro … */
  char                  *api_key;       /* OctoPrint / Moonraker HTTP API key */
  SimMqtt               *mqtt;          /* this printer's own connection */
  gboolean               own_mqtt;

  SimState               state;
  SimState               state_before_offline;
  double                 hotend;
  double                 hotend_target;
  double                 bed;
  double                 bed_target;
  double                 job_elapsed;   /* seconds printed, pauses excluded */
  double                 job_total;     /* seconds the job takes */
  double                 total_elapsed; /* seconds since start, pauses included */
  guint                  layer;
  guint                  layers;
  char                  *job_file;
  double                 state_since;   /* farm seconds when the state began */
  double                 offline_until; /* farm seconds */
  char                  *error_text;
  GPtrArray             *files;         /* SimFile */
  GPtrArray             *gcode_store;   /* SimGcodeEntry, oldest first, capped */
  GPtrArray             *command_log;   /* char*, every command it accepted */
  guint                  sequence;      /* Bambu sequence_id, event counters */
  gboolean               silent;        /* "stops answering MQTT" */
  gboolean               sent_full;     /* a full status went out since connecting */
  char                  *broker_uri;    /* its own broker (Bambu), or NULL for the farm's */
  char                  *ca_file;       /* that broker's CA */
  char                  *internal_uri;  /* where its firmware publishes into its own broker */
  gpointer               dialect_data;
  GDestroyNotify         dialect_data_free;
};

struct _SimDialectClass
{
  const char *name;
  /* Fill in the connection's will and credentials; %NULL topic for none. */
  void (*setup)            (SimPrinter *printer,
                            SimMqttOptions *options);
  /* Connected (again): presence, subscriptions, a full status. */
  void (*online)           (SimPrinter *printer);
  /* Leaving cleanly: publish what the real program publishes on shutdown. */
  void (*offline)          (SimPrinter *printer);
  /* A tick: publish what changed (or everything, when @full). */
  void (*publish_status)   (SimPrinter *printer,
                            gboolean    full);
  /* A message on one of the printer's own topics. */
  gboolean (*handle_message) (SimPrinter *printer,
                              const char *topic,
                              GBytes     *payload);
  /* A file appeared, changed or went away (@action: "create_file", "delete_file"). */
  void (*files_changed)    (SimPrinter *printer,
                            const char *action,
                            SimFile    *file);
  /* A job event: "started", "paused", "resumed", "done", "cancelled", "failed". */
  void (*job_event)        (SimPrinter *printer,
                            const char *event);
  /* A line of G-code was run ("command") or answered ("response"). */
  void (*gcode)            (SimPrinter *printer,
                            const char *type,
                            const char *message);
};

/* Called for each printer before it connects (a Bambu printer's broker is
 * started here), and when it is switched off and on. */
typedef gboolean (*SimPrepareFunc) (SimPrinter *printer,
                                    gpointer    user_data,
                                    GError    **error);
typedef void     (*SimPowerFunc)   (SimPrinter *printer,
                                    gboolean    on,
                                    gpointer    user_data);

typedef struct
{
  char            *broker_uri;
  char            *username;
  char            *password;
  char            *ca_file;
  guint            n_printers;
  guint32          seed;
  double           time_scale;      /* simulated seconds per real second */
  guint            tick_ms;
  gboolean         mqtt5;
  guint            mix[SIM_N_DIALECTS]; /* weights */
  guint            offline_one_in;  /* per printer per minute; 0 never */
  gboolean         no_random_jobs;  /* printers print only what they are told */
  char            *http_base;       /* e.g. http://127.0.0.1:7125, NULL when no HTTP */
  guint            incident_store_percent; /* of the Anycubic printers the readme reaches,
                                            * how many store it (drover-sim: 12) */
  SimPrepareFunc   prepare;
  SimPowerFunc     power;
  gpointer         hook_data;
} SimFarmOptions;

extern const SimDialectClass sim_dialect_native;
extern const SimDialectClass sim_dialect_moonraker;
extern const SimDialectClass sim_dialect_octoprint;
extern const SimDialectClass sim_dialect_bambu;
extern const SimDialectClass sim_dialect_anycubic;

SimFarm     *sim_farm_new                (const SimFarmOptions *options,
                                          GError              **error);
void         sim_farm_free               (SimFarm              *farm);
GPtrArray   *sim_farm_get_printers       (SimFarm              *farm);
SimPrinter  *sim_farm_find_printer       (SimFarm              *farm,
                                          const char           *id);
double       sim_farm_get_time           (SimFarm              *farm);
GRand       *sim_farm_get_rand           (SimFarm              *farm);
const SimFarmOptions *sim_farm_get_options (SimFarm            *farm);
void         sim_farm_set_http_base      (SimFarm              *farm,
                                          const char           *http_base);
void         sim_farm_tick               (SimFarm              *farm,
                                          double                seconds);
void         sim_farm_set_silent         (SimFarm              *farm,
                                          gboolean              silent);
guint        sim_farm_incident           (SimFarm              *farm,
                                          SimIncidentKind       kind,
                                          guint                 n_printers,
                                          GPtrArray            *victims);
char        *sim_farm_dup_inventory      (SimFarm              *farm);
void         sim_farm_prepare_intruder   (SimFarm              *farm);
void         sim_farm_release_intruder   (void);
guint64      sim_farm_get_n_published    (SimFarm              *farm);

const char  *sim_dialect_to_string       (SimDialect            dialect);
const char  *sim_dialect_get_connector   (SimDialect            dialect);
gboolean     sim_dialect_is_anycubic     (SimDialect            dialect);
const char  *sim_state_to_string         (SimState              state);

/* Messages for WebSocket clients (Moonraker's notify_*), sent by sim-http. */
typedef void (*SimNotifyFunc) (SimPrinter *printer,
                               const char *json,
                               gpointer    user_data);
void         sim_farm_set_notify_func    (SimFarm              *farm,
                                          SimNotifyFunc         func,
                                          gpointer              user_data);
void         sim_printer_notify          (SimPrinter           *printer,
                                          const char           *json);

/* The printer's model; the dialects call these. */
SimFile     *sim_printer_find_file       (SimPrinter           *printer,
                                          const char           *name);
SimFile     *sim_printer_add_file        (SimPrinter           *printer,
                                          const char           *name,
                                          GBytes               *content);
gboolean     sim_printer_delete_file     (SimPrinter           *printer,
                                          const char           *name,
                                          GError              **error);
gboolean     sim_printer_start_job       (SimPrinter           *printer,
                                          const char           *name,
                                          GError              **error);
gboolean     sim_printer_pause           (SimPrinter           *printer,
                                          GError              **error);
gboolean     sim_printer_resume          (SimPrinter           *printer,
                                          GError              **error);
gboolean     sim_printer_cancel          (SimPrinter           *printer,
                                          GError              **error);
void         sim_printer_run_gcode       (SimPrinter           *printer,
                                          const char           *script);
void         sim_printer_go_offline      (SimPrinter           *printer,
                                          gboolean              cleanly,
                                          double                seconds);
void         sim_printer_come_back       (SimPrinter           *printer);
gboolean     sim_printer_publish         (SimPrinter           *printer,
                                          const char           *topic,
                                          const char           *payload,
                                          int                   qos,
                                          gboolean              retained);
double       sim_printer_get_progress    (SimPrinter           *printer);
gint64       sim_printer_get_remaining   (SimPrinter           *printer);
gboolean     sim_printer_is_busy         (SimPrinter           *printer);

/* Helpers for templates */
char        *sim_json_string             (const char           *text);
char        *sim_iso8601_now             (void);
char        *sim_json_number             (double                value);
char        *sim_jsonrpc_error           (JsonNode             *id,
                                          int                   code,
                                          const char           *message);
char        *sim_jsonrpc_result          (JsonNode             *id,
                                          const char           *result_json);

G_END_DECLS
