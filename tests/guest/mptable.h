/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel MultiProcessor Specification 1.4 tables, found as Linux's
 * smp_scan_config() finds them: a 16-byte aligned "_MP_" floating pointer
 * structure in the EBDA whose physptr leads to the "PCMP" configuration
 * table.
 */
#ifndef GUEST_MPTABLE_H
#define GUEST_MPTABLE_H

#include "types.h"

#define MP_SCAN_START 0x9fc00UL /* EBDA, where Firecracker and Ember put it */
#define MP_SCAN_END   0xa0000UL

/*
 * Processor entries marked enabled in the MP configuration table, or 0 when
 * there is no valid table (no floating pointer, bad signature or checksum).
 */
unsigned int mptable_count_cpus(void);

#endif
