/* drover-serial.c: placeholder, being written
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "drover-serial.h"
