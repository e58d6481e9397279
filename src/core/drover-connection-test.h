/* drover-connection-test.h: one attempt to reach a broker, told in words
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "drover-inventory.h"

G_BEGIN_DECLS

/**
 * DroverConnectionResult:
 * @DROVER_CONNECTION_CONNECTED: the broker accepted the connection
 * @DROVER_CONNECTION_REFUSED_CREDENTIALS: the broker refused the user name or password
 * @DROVER_CONNECTION_NOT_AUTHORISED: the broker refused this client
 * @DROVER_CONNECTION_CERTIFICATE_UNTRUSTED: the broker's certificate is not signed by a trusted CA
 * @DROVER_CONNECTION_CERTIFICATE_WRONG_HOST: the broker's certificate names another host
 * @DROVER_CONNECTION_UNREACHABLE: nothing listens there, or there is no route to it
 * @DROVER_CONNECTION_TIMED_OUT: no answer in time
 * @DROVER_CONNECTION_FAILED: anything else, said in the message
 */
typedef enum
{
  DROVER_CONNECTION_CONNECTED,
  DROVER_CONNECTION_REFUSED_CREDENTIALS,
  DROVER_CONNECTION_NOT_AUTHORISED,
  DROVER_CONNECTION_CERTIFICATE_UNTRUSTED,
  DROVER_CONNECTION_CERTIFICATE_WRONG_HOST,
  DROVER_CONNECTION_UNREACHABLE,
  DROVER_CONNECTION_TIMED_OUT,
  DROVER_CONNECTION_FAILED,
} DroverConnectionResult;

#define DROVER_CONNECTION_TEST_TIMEOUT_S 10

void                    drover_connection_test_async  (const DroverBrokerEntry  *broker,
                                                       const char               *password,
                                                       guint                     timeout_seconds,
                                                       GCancellable             *cancellable,
                                                       GAsyncReadyCallback       callback,
                                                       gpointer                  user_data);
DroverConnectionResult  drover_connection_test_finish (GAsyncResult             *result,
                                                       char                    **message,
                                                       GError                  **error);

G_END_DECLS
