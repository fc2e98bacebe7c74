// SPDX-License-Identifier: Apache-2.0
#include "vmm/boot/pvh.h"
#include "vmm/base/errmsg.h"
#include "vmm/boot/e820.h"
#include "vmm/mem/layout.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info is 56 bytes");
_Static_assert(offsetof(struct hvm_start_info, memmap_paddr) == 0x28, "memmap_paddr at 0x28");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry is 32 bytes");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "memmap entry is 24 bytes");
/* Start info and one module before the memory map, the map below the boot stack. */
_Static_assert(LAYOUT_PVH_INFO + sizeof(struct hvm_start_info) <= LAYOUT_PVH_MODLIST, "info");
_Static_assert(LAYOUT_PVH_MODLIST + sizeof(struct hvm_modlist_entry) <= LAYOUT_PVH_MEMMAP,
	       "modlist");
_Static_assert(LAYOUT_PVH_MEMMAP + E820_MAP_MAX * sizeof(struct hvm_memmap_table_entry) <=
		   LAYOUT_BOOT_STACK - 0x1000,
	       "memmap");
_Static_assert(LAYOUT_GDT_ADDR + 0x100 <= LAYOUT_PVH_INFO, "GDT/IDT below the start info");

static unsigned int build_memmap(const struct guest_mem *mem,
				 struct hvm_memmap_table_entry map[E820_MAP_MAX])
{
	struct boot_e820_entry e820[E820_MAP_MAX];
	unsigned int n = e820_build_map(mem, e820);

	memset(map, 0, E820_MAP_MAX * sizeof(map[0]));
	for (unsigned int i = 0; i < n; i++) {
		map[i].addr = e820[i].addr;
		map[i].size = e820[i].size;
		map[i].type = e820[i].type;
	}
	return n;
}

int pvh_write_start_info(const struct guest_mem *mem, uint64_t initrd_addr, uint64_t initrd_size,
			 char *err, size_t errlen)
{
	struct hvm_memmap_table_entry map[E820_MAP_MAX];
	struct hvm_modlist_entry mod = {.paddr = initrd_addr, .size = initrd_size};
	struct hvm_start_info si = {
	    .magic = HVM_START_MAGIC,
	    .version = HVM_START_VERSION,
	    .cmdline_paddr = LAYOUT_CMDLINE,
	    .rsdp_paddr = LAYOUT_RSDP_ADDR,
	    .memmap_paddr = LAYOUT_PVH_MEMMAP,
	};
	int ret;

	si.memmap_entries = build_memmap(mem, map);
	if (initrd_size) {
		si.nr_modules = 1;
		si.modlist_paddr = LAYOUT_PVH_MODLIST;
	}
	ret = guest_mem_write(mem, LAYOUT_PVH_MEMMAP, map, si.memmap_entries * sizeof(map[0]));
	if (!ret && initrd_size)
		ret = guest_mem_write(mem, LAYOUT_PVH_MODLIST, &mod, sizeof(mod));
	if (!ret)
		ret = guest_mem_write(mem, LAYOUT_PVH_INFO, &si, sizeof(si));
	if (ret)
		return err_set(err, errlen, ret,
			       "Guest RAM (%llu MiB) cannot hold the PVH start info below 1 MiB",
			       (unsigned long long)(mem->size / MIB));
	return 0;
}
