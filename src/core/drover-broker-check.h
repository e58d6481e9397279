/* drover-broker-check.h: how safely a broker is set up, told in words
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DROVER_BROKER_CHECK_ERROR (drover_broker_check_error_quark ())

/**
 * DroverBrokerCheckError:
 * @DROVER_BROKER_CHECK_ERROR_CONNECT: the check could not connect with the
 *   address and credentials it was given, so it checked nothing
 */
typedef enum
{
  DROVER_BROKER_CHECK_ERROR_CONNECT,
} DroverBrokerCheckError;

/**
 * DroverBrokerCheck:
 * @DROVER_BROKER_CHECK_ANONYMOUS: whether clients without credentials get in
 * @DROVER_BROKER_CHECK_UNENCRYPTED: whether the broker takes connections without TLS
 * @DROVER_BROKER_CHECK_READ_ALL: whether a client may subscribe to “#” and read other printers' topics
 * @DROVER_BROKER_CHECK_COMMAND_OTHERS: whether a client may publish to another printer's command topic
 */
typedef enum
{
  DROVER_BROKER_CHECK_ANONYMOUS,
  DROVER_BROKER_CHECK_UNENCRYPTED,
  DROVER_BROKER_CHECK_READ_ALL,
  DROVER_BROKER_CHECK_COMMAND_OTHERS,
} DroverBrokerCheck;

/**
 * DroverBrokerVerdict:
 * @DROVER_BROKER_VERDICT_OK: the broker is safe on this point
 * @DROVER_BROKER_VERDICT_PROBLEM: the broker has this hole
 * @DROVER_BROKER_VERDICT_UNKNOWN: the check could not tell
 */
typedef enum
{
  DROVER_BROKER_VERDICT_OK,
  DROVER_BROKER_VERDICT_PROBLEM,
  DROVER_BROKER_VERDICT_UNKNOWN,
} DroverBrokerVerdict;

typedef struct
{
  DroverBrokerCheck    check;
  DroverBrokerVerdict  verdict;
  char                *sentence;
} DroverBrokerFinding;

GQuark     drover_broker_check_error_quark (void);
void       drover_broker_finding_free      (DroverBrokerFinding  *finding);
void       drover_broker_check_async       (const char           *uri,
                                            const char           *username,
                                            const char           *password,
                                            const char           *ca_file,
                                            GCancellable         *cancellable,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
GPtrArray *drover_broker_check_finish      (GAsyncResult         *result,
                                            GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DroverBrokerFinding, drover_broker_finding_free)

G_END_DECLS
