/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's boot-time device: a guest that booted writes the magic
 * byte 123 to the first byte of the MMIO hole, and the VMM logs the time.
 */
#ifndef GUEST_BOOT_TIMER_H
#define GUEST_BOOT_TIMER_H

#include "io.h"

#define BOOT_TIMER_ADDR	 0xd0000000UL
#define BOOT_TIMER_MAGIC 123

static inline void boot_timer_signal(void)
{
	mmio_write8(BOOT_TIMER_ADDR, BOOT_TIMER_MAGIC);
}

#endif
