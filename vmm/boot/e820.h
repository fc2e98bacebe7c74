/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest's physical memory map as e820 entries: one map for both boot
 * protocols, the zero page's e820_table (x86_boot.c) and the PVH memory map
 * (pvh.c), so a kernel sees the same RAM whichever way it is entered.
 */
#ifndef EMBER_E820_H
#define EMBER_E820_H

#include <asm/bootparam.h>

#include "vmm/mem/guest_mem.h"

/* Low RAM gives three entries (RAM, system data, RAM from 1 MiB), each other region one. */
#define E820_MAP_MAX (GUEST_MEM_MAX_REGIONS + 2)

/* Fill @map (E820_MAP_MAX entries) for @mem; returns the number of entries. */
unsigned int e820_build_map(const struct guest_mem *mem, struct boot_e820_entry *map);

#endif
