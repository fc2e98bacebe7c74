// SPDX-License-Identifier: Apache-2.0
#include "mptable.h"
#include "paging.h"
#include "string.h"

/* MP floating pointer structure (MP spec 4.1). */
struct mpf_intel {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;  /* configuration table */
	uint8_t length;	   /* in 16-byte units: 1 */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
} __packed;

/* MP configuration table header (MP spec 4.2). */
struct mpc_table {
	char signature[4]; /* "PCMP" */
	uint16_t length;   /* base table, header included */
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount; /* entries in the base table */
	uint32_t lapic;
	uint32_t reserved;
} __packed;

_Static_assert(sizeof(struct mpf_intel) == 16, "MP floating pointer is 16 bytes");
_Static_assert(sizeof(struct mpc_table) == 44, "MP table header is 44 bytes");

/* Base table entry types and sizes (MP spec 4.3). */
#define MP_PROCESSOR	  0
#define MP_PROCESSOR_SIZE 20
#define MP_OTHER_SIZE	  8 /* bus, I/O APIC, I/O and local interrupt */
#define MP_LAST_BASE_TYPE 4
#define MP_CPU_ENABLED	  0x01	  /* processor entry cpuflag */
#define MP_MAX_TABLE_LEN  0x10000 /* length is a u16 */

static bool mp_checksum_ok(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return sum == 0;
}

static const struct mpf_intel *mp_find_floating_pointer(void)
{
	uint64_t addr;

	for (addr = MP_SCAN_START; addr + sizeof(struct mpf_intel) <= MP_SCAN_END; addr += 16) {
		const struct mpf_intel *mpf = (const struct mpf_intel *)addr;

		if (memcmp(mpf->signature, "_MP_", 4) == 0 && mpf->length == 1 &&
		    mp_checksum_ok((const uint8_t *)mpf, sizeof(*mpf)))
			return mpf;
	}
	return NULL;
}

static const struct mpc_table *mp_config_table(const struct mpf_intel *mpf)
{
	const struct mpc_table *mpc = (const struct mpc_table *)(uint64_t)mpf->physptr;

	if (!mpf->physptr || mpf->physptr + (uint64_t)MP_MAX_TABLE_LEN > PAGING_IDENTITY_LIMIT)
		return NULL;
	if (memcmp(mpc->signature, "PCMP", 4) != 0 || mpc->length < sizeof(*mpc))
		return NULL;
	if (!mp_checksum_ok((const uint8_t *)mpc, mpc->length))
		return NULL;
	return mpc;
}

/* Walk the base entries; stop at the table's end or at a type we cannot size. */
static unsigned int mp_count_enabled_cpus(const struct mpc_table *mpc)
{
	const uint8_t *p = (const uint8_t *)(mpc + 1);
	const uint8_t *end = (const uint8_t *)mpc + mpc->length;
	unsigned int i, cpus = 0;

	for (i = 0; i < mpc->oemcount && p < end; i++) {
		size_t size = *p == MP_PROCESSOR ? MP_PROCESSOR_SIZE : MP_OTHER_SIZE;

		if (*p > MP_LAST_BASE_TYPE || size > (size_t)(end - p))
			break;
		if (*p == MP_PROCESSOR && (p[3] & MP_CPU_ENABLED))
			cpus++;
		p += size;
	}
	return cpus;
}

unsigned int mptable_count_cpus(void)
{
	const struct mpf_intel *mpf = mp_find_floating_pointer();
	const struct mpc_table *mpc = mpf ? mp_config_table(mpf) : NULL;

	return mpc ? mp_count_enabled_cpus(mpc) : 0;
}
