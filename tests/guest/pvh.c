// SPDX-License-Identifier: Apache-2.0
#include "pvh.h"
#include "boot_params.h"
#include "print.h"
#include "string.h"

#define HVM_START_MAGIC 0x336ec578U
#define SI_MAGIC	0x00 /* u32 */
#define SI_VERSION	0x04 /* u32 */
#define SI_NR_MODULES	0x0c /* u32 */
#define SI_MODLIST	0x10 /* u64 */
#define SI_CMDLINE	0x18 /* u64 */
#define SI_RSDP		0x20 /* u64 */
#define SI_MEMMAP	0x28 /* u64 */
#define SI_MEMMAP_N	0x30 /* u32 */
#define SI_SIZE		0x38
#define MEMMAP_ENTRY	24	    /* u64 addr, u64 size, u32 type, u32 reserved */
#define MODLIST_ENTRY	32	    /* u64 paddr, u64 size, u64 cmdline, u64 reserved */
#define ADDR_LIMIT	(1UL << 32) /* what the stub maps */

_Static_assert(__builtin_offsetof(struct pvh_state, ds) == PVH_ST_DS, "pvh_state layout");

/*
 * Written before startup_64 clears .bss, so kept in .data; the boot_params
 * page is written in full before it is read.
 */
struct pvh_state pvh_state __attribute__((section(".data")));
static struct {
	uint32_t magic, version, memmap_entries, nr_modules;
	uint64_t rsdp, initrd_addr, initrd_size;
} info __attribute__((section(".data")));
static uint8_t boot_params[4096] __aligned(4096) __noinit;

static bool mapped(uint64_t addr, uint64_t len)
{
	return addr && addr < ADDR_LIMIT && len <= ADDR_LIMIT - addr;
}

static uint32_t rd32(uint64_t addr)
{
	uint32_t v;

	memcpy(&v, (const void *)addr, sizeof(v));
	return v;
}

static uint64_t rd64(uint64_t addr)
{
	uint64_t v;

	memcpy(&v, (const void *)addr, sizeof(v));
	return v;
}

static void put32(size_t off, uint32_t v)
{
	memcpy(boot_params + off, &v, sizeof(v));
}

static void copy_memmap(uint64_t memmap, uint32_t entries)
{
	unsigned int n = entries < E820_MAX_ENTRIES_ZEROPAGE ? entries : E820_MAX_ENTRIES_ZEROPAGE;

	if (!mapped(memmap, (uint64_t)n * MEMMAP_ENTRY))
		return;
	for (unsigned int i = 0; i < n; i++) {
		struct boot_e820_entry e = {
		    .addr = rd64(memmap + i * MEMMAP_ENTRY),
		    .size = rd64(memmap + i * MEMMAP_ENTRY + 8),
		    .type = rd32(memmap + i * MEMMAP_ENTRY + 16),
		};

		memcpy(boot_params + BP_E820_TABLE + i * sizeof(e), &e, sizeof(e));
	}
	boot_params[BP_E820_ENTRIES] = (uint8_t)n;
}

const uint8_t *pvh_boot_params(uint32_t start_info)
{
	uint64_t si = start_info, cmdline, modlist;

	memset(boot_params, 0, sizeof(boot_params));
	if (!mapped(si, SI_SIZE))
		return boot_params;
	info.magic = rd32(si + SI_MAGIC);
	info.version = rd32(si + SI_VERSION);
	if (info.magic != HVM_START_MAGIC)
		return boot_params;
	cmdline = rd64(si + SI_CMDLINE);
	put32(BP_HDR_CMD_LINE_PTR, (uint32_t)cmdline);
	put32(BP_EXT_CMD_LINE_PTR, (uint32_t)(cmdline >> 32));
	info.rsdp = rd64(si + SI_RSDP);
	info.nr_modules = rd32(si + SI_NR_MODULES);
	modlist = rd64(si + SI_MODLIST);
	if (info.nr_modules && mapped(modlist, MODLIST_ENTRY)) {
		info.initrd_addr = rd64(modlist);
		info.initrd_size = rd64(modlist + 8);
	}
	if (info.version >= 1) {
		info.memmap_entries = rd32(si + SI_MEMMAP_N);
		copy_memmap(rd64(si + SI_MEMMAP), info.memmap_entries);
	}
	return boot_params;
}

static void field(const char *name, uint64_t val)
{
	print_str(" ");
	print_str(name);
	print_str("=");
	print_hex(val);
}

void pvh_report(void)
{
	if (!pvh_state.entered)
		return;
	print_str("pvh:");
	field("cr0", pvh_state.cr0);
	field("cr4", pvh_state.cr4);
	field("efer", pvh_state.efer);
	field("ebx", pvh_state.ebx);
	field("cs", pvh_state.cs);
	field("ds", pvh_state.ds);
	field("eflags", pvh_state.eflags);
	print_str("\npvh:");
	field("magic", info.magic);
	field("version", info.version);
	field("memmap", info.memmap_entries);
	field("rsdp", info.rsdp);
	field("modules", info.nr_modules);
	field("initrd", info.initrd_addr);
	field("initrd_size", info.initrd_size);
	print_str("\n");
}
