/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a PVH boot puts in guest memory: struct hvm_start_info (Xen's
 * include/public/arch-x86/hvm/start_info.h, version 1) at LAYOUT_PVH_INFO,
 * the memory map it points to (the same RAM as the zero page's e820 table,
 * e820.h), the module list with the initrd as module 0, and the command line
 * and RSDP addresses of the 64-bit path. The vCPU state of a PVH entry (32-bit
 * protected mode, paging off, EBX = LAYOUT_PVH_INFO) is x86_boot's.
 *
 * Firecracker writes the same structures at the same addresses; it leaves
 * rsdp_paddr 0, Ember fills it in (Linux then skips its scan of the BIOS
 * area, as it does with boot_params.acpi_rsdp_addr on the 64-bit path).
 */
#ifndef EMBER_PVH_H
#define EMBER_PVH_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/mem/guest_mem.h"

#define HVM_START_MAGIC	  0x336ec578U
#define HVM_START_VERSION 1U

/* The layout is the ABI: every field at its offset, no padding added. */
struct hvm_start_info {
	uint32_t magic;		 /* 0x00: HVM_START_MAGIC */
	uint32_t version;	 /* 0x04 */
	uint32_t flags;		 /* 0x08: SIF_*; none for a PVH guest on Ember */
	uint32_t nr_modules;	 /* 0x0c */
	uint64_t modlist_paddr;	 /* 0x10: struct hvm_modlist_entry[nr_modules] */
	uint64_t cmdline_paddr;	 /* 0x18: NUL-terminated */
	uint64_t rsdp_paddr;	 /* 0x20 */
	uint64_t memmap_paddr;	 /* 0x28: version 1 and newer */
	uint32_t memmap_entries; /* 0x30 */
	uint32_t reserved;	 /* 0x34: zero */
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr; /* 0: no module command line */
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* e820 type: 1 RAM, 2 reserved, ... */
	uint32_t reserved;
};

/*
 * Write the start info, memory map and module list (the initrd at
 * @initrd_addr, @initrd_size bytes; size 0: no module) for @mem. The command
 * line is expected at LAYOUT_CMDLINE. 0, or -errno with a message in @err.
 */
int pvh_write_start_info(const struct guest_mem *mem, uint64_t initrd_addr, uint64_t initrd_size,
			 char *err, size_t errlen);

#endif
