// SPDX-License-Identifier: Apache-2.0
#include "boot_params.h"
#include "paging.h"
#include "string.h"

static uint32_t bp_u32(const uint8_t *bp, size_t off)
{
	uint32_t val;

	memcpy(&val, bp + off, sizeof(val));
	return val;
}

size_t bp_read_cmdline(const uint8_t *bp, char *buf, size_t size)
{
	uint64_t high = bp_u32(bp, BP_EXT_CMD_LINE_PTR);
	uint64_t addr = high << 32 | bp_u32(bp, BP_HDR_CMD_LINE_PTR);
	const char *src = (const char *)addr;
	size_t len = 0;

	if (addr && addr < PAGING_IDENTITY_LIMIT) {
		while (len + 1 < size && addr + len < PAGING_IDENTITY_LIMIT && src[len])
			len++;
		memcpy(buf, src, len);
	}
	buf[len] = '\0';
	return len;
}

unsigned int bp_e820_count(const uint8_t *bp)
{
	unsigned int n = bp[BP_E820_ENTRIES];

	return n < E820_MAX_ENTRIES_ZEROPAGE ? n : E820_MAX_ENTRIES_ZEROPAGE;
}

uint64_t bp_e820_ram_bytes(const uint8_t *bp)
{
	unsigned int i, n = bp_e820_count(bp);
	uint64_t total = 0;

	for (i = 0; i < n; i++) {
		struct boot_e820_entry e;

		memcpy(&e, bp + BP_E820_TABLE + i * sizeof(e), sizeof(e));
		if (e.type == E820_TYPE_RAM)
			total += e.size;
	}
	return total;
}
