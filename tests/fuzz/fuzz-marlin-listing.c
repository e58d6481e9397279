/* fuzz-marlin-listing.c: the farm's M20 parser, for fuzz-marlin.c
 *
 * parse_sd_listing() is static in drover-farm.c; this file includes
 * drover-farm.c whole and hands it out, so that fuzz-marlin.c can read a
 * fuzzed M20 reply as the farm does (listed_cb()) without a line of
 * drover-farm.c changed. It is its own translation unit: drover-farm.c and
 * drover-serial.c have static functions of the same names.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "drover-farm.c"

DroverEvent *fuzz_parse_sd_listing (const char *reply);

DroverEvent *
fuzz_parse_sd_listing (const char *reply)
{
  return parse_sd_listing (reply);
}
