/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The parts of struct boot_params ("zero page", Documentation/arch/x86/
 * zero-page.rst) the guest reads. Field offsets are the protocol's; the
 * guest has no kernel headers (-nostdinc), so they are spelled out here and
 * accessed by offset rather than through a copied structure definition.
 */
#ifndef GUEST_BOOT_PARAMS_H
#define GUEST_BOOT_PARAMS_H

#include "types.h"

#define BP_EXT_CMD_LINE_PTR 0x0c8 /* u32: cmd_line_ptr bits 63:32 */
#define BP_E820_ENTRIES	    0x1e8 /* u8 */
#define BP_HDR_CMD_LINE_PTR 0x228 /* u32: setup_header.cmd_line_ptr */
#define BP_E820_TABLE	    0x2d0 /* struct boot_e820_entry[E820_MAX_ENTRIES_ZEROPAGE] */

#define E820_MAX_ENTRIES_ZEROPAGE 128
#define E820_TYPE_RAM		  1

/* Longest command line read, NUL included: Firecracker's and Ember's limit. */
#define CMDLINE_MAX 2048

struct boot_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __packed;

_Static_assert(sizeof(struct boot_e820_entry) == 20, "e820 entries are 20 bytes");

/*
 * Copy the command line into @buf (NUL-terminated, truncated to @size - 1)
 * and return its length. A missing (0) or unmapped (>= 4 GiB) pointer gives
 * an empty string.
 */
size_t bp_read_cmdline(const uint8_t *bp, char *buf, size_t size);

/* Entries in the e820 map, capped at what the zero page can hold. */
unsigned int bp_e820_count(const uint8_t *bp);

/* Bytes of usable RAM (type 1) in the e820 map. */
uint64_t bp_e820_ram_bytes(const uint8_t *bp);

#endif
