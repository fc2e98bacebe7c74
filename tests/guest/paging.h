/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest's own page tables: the boot protocol only promises that the
 * kernel, zero page and command line are mapped, so like Linux the guest
 * switches to tables it owns as early as possible. They identity-map
 * 0..4 GiB with 2 MiB pages; the 32-bit MMIO hole (boot timer, virtio-mmio,
 * IOAPIC, LAPIC) is mapped uncached.
 */
#ifndef GUEST_PAGING_H
#define GUEST_PAGING_H

#include "types.h"

#define PAGING_IDENTITY_LIMIT (4UL << 30)
#define PAGING_MMIO_START     0xd0000000UL

/* Build the tables and load CR3. Called from startup_64 before any C code. */
void paging_init(void);

/*
 * Let ring 3 reach the 2 MiB pages covering [start, start + len): set the
 * user bit on them and on the tables above them, then flush the TLB.
 */
void paging_allow_user(uint64_t start, uint64_t len);

/*
 * Identity-map [start, start + len) above 4 GiB (write-back, 2 MiB pages),
 * for a device region such as virtio-pmem's. One window: the range must lie
 * within one 1 GiB-aligned gigabyte below 512 GiB. False if it does not.
 */
bool paging_map_high(uint64_t start, uint64_t len);

#endif
