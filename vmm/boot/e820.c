// SPDX-License-Identifier: Apache-2.0
#include "vmm/boot/e820.h"
#include "vmm/mem/layout.h"

#include <asm/e820.h>

static void e820_add(struct boot_e820_entry *map, unsigned int *n, uint64_t addr, uint64_t size,
		     uint32_t type)
{
	map[*n] = (struct boot_e820_entry){.addr = addr, .size = size, .type = type};
	(*n)++;
}

/*
 * Firecracker's map: RAM below the EBDA, the system data (MP table, ACPI
 * tables) [0x9fc00, 0xe0000) reserved, RAM from 1 MiB to the end of the low
 * region, and the region above 4 GiB. The rest of the ISA hole, [0xe0000,
 * 1 MiB) with the RSDP, is left out, which Linux treats as reserved too.
 */
unsigned int e820_build_map(const struct guest_mem *mem, struct boot_e820_entry *map)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];

		if (r->gpa == 0) {
			e820_add(map, &n, 0, LAYOUT_EBDA_START, E820_RAM);
			e820_add(map, &n, LAYOUT_SYSTEM_MEM_START,
				 LAYOUT_SYSTEM_MEM_END - LAYOUT_SYSTEM_MEM_START, E820_RESERVED);
			if (r->size > LAYOUT_HIMEM_START)
				e820_add(map, &n, LAYOUT_HIMEM_START, r->size - LAYOUT_HIMEM_START,
					 E820_RAM);
		} else {
			e820_add(map, &n, r->gpa, r->size, E820_RAM);
		}
	}
	return n;
}
