// SPDX-License-Identifier: Apache-2.0
/*
 * MP tables read back from guest memory as raw bytes at MP spec 1.4 offsets,
 * the way Linux's mpparse finds and checks them: floating pointer in the
 * last KiB of base memory, checksums recomputed here, every entry decoded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "vmm/boot/mptable.h"

#define IRQ_MAX 23 /* KVM's IOAPIC has 24 pins */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static const uint8_t *ebda(const struct guest_mem *mem)
{
	const uint8_t *p = guest_mem_translate(mem, LAYOUT_EBDA_START, 1024);

	assert_non_null(p);
	return p;
}

/* Scan base memory's last KiB for "_MP_" on a 16-byte boundary, as Linux does. */
static const uint8_t *find_mpf(const struct guest_mem *mem)
{
	const uint8_t *p = ebda(mem);

	for (size_t off = 0; off < 1024; off += 16)
		if (!memcmp(p + off, "_MP_", 4) && sum(p + off, 16) == 0)
			return p + off;
	return NULL;
}

struct counts {
	unsigned int cpus, buses, ioapics, intsrcs, lintsrcs;
};

static void check_cpu(const uint8_t *e, uint32_t i)
{
	assert_int_equal(e[1], i);		/* APIC ID */
	assert_int_equal(e[2], 0x14);		/* APIC version */
	assert_int_equal(e[3], i == 0 ? 3 : 1); /* enabled, BSP on CPU 0 */
	assert_int_equal(get32(e + 4), 0x600);	/* signature */
	assert_int_equal(get32(e + 8), 0x201);	/* APIC | FPU */
	assert_int_equal(get32(e + 12), 0);
	assert_int_equal(get32(e + 16), 0);
}

static void check_intsrc(const uint8_t *e, uint32_t irq, uint32_t ioapic_id)
{
	assert_int_equal(e[1], 0);	   /* INT */
	assert_int_equal(get16(e + 2), 0); /* conforms to bus */
	assert_int_equal(e[4], 0);	   /* ISA bus 0 */
	assert_int_equal(e[5], irq);
	assert_int_equal(e[6], ioapic_id);
	assert_int_equal(e[7], irq); /* pin = IRQ */
}

/* Walk the entries in spec order; returns the end offset. */
static size_t walk_entries(const uint8_t *table, uint16_t count, uint32_t nr_cpus, struct counts *c)
{
	size_t off = 44;

	memset(c, 0, sizeof(*c));
	for (uint16_t n = 0; n < count; n++) {
		const uint8_t *e = table + off;

		switch (e[0]) {
		case 0:
			assert_int_equal(c->buses + c->ioapics + c->intsrcs + c->lintsrcs, 0);
			check_cpu(e, c->cpus++);
			off += 20;
			break;
		case 1:
			assert_int_equal(e[1], 0);
			assert_memory_equal(e + 2, "ISA   ", 6);
			c->buses++;
			off += 8;
			break;
		case 2:
			assert_int_equal(e[1], nr_cpus); /* IOAPIC ID */
			assert_int_equal(e[2], 0x11);
			assert_int_equal(e[3], 1); /* usable */
			assert_int_equal(get32(e + 4), 0xfec00000);
			c->ioapics++;
			off += 8;
			break;
		case 3:
			check_intsrc(e, c->intsrcs++, nr_cpus);
			off += 8;
			break;
		case 4:
			if (c->lintsrcs++ == 0) {
				assert_int_equal(e[1], 3); /* ExtINT */
				assert_int_equal(e[6], 0); /* BSP */
				assert_int_equal(e[7], 0); /* LINT0 */
			} else {
				assert_int_equal(e[1], 1);    /* NMI */
				assert_int_equal(e[6], 0xff); /* all APICs */
				assert_int_equal(e[7], 1);    /* LINT1 */
			}
			assert_int_equal(get16(e + 2), 0);
			off += 8;
			break;
		default:
			fail_msg("unknown MP entry type %u at offset %zu", e[0], off);
		}
	}
	return off;
}

static void check_tables(uint32_t nr_cpus)
{
	struct guest_mem mem;
	const uint8_t *mpf, *table, *base;
	struct counts c;
	uint16_t len, count;
	size_t end;

	assert_int_equal(guest_mem_create(&mem, 128 * MIB), 0);
	/* Stale bytes: the whole EBDA must be rewritten. */
	memset(guest_mem_translate(&mem, LAYOUT_EBDA_START, 1024), 0xee, 1024);
	assert_int_equal(mptable_write(&mem, nr_cpus, IRQ_MAX), 0);
	base = ebda(&mem);

	mpf = find_mpf(&mem);
	assert_ptr_equal(mpf, base);
	assert_int_equal(sum(mpf, 16), 0);
	assert_int_equal(get32(mpf + 4), 0x9fc10); /* physptr */
	assert_int_equal(mpf[8], 1);		   /* length: 16 bytes */
	assert_int_equal(mpf[9], 4);		   /* spec 1.4 */
	assert_int_equal(mpf[11], 0);		   /* config table present */
	assert_int_equal(mpf[12], 0);		   /* no IMCR */

	table = base + (get32(mpf + 4) - LAYOUT_EBDA_START);
	assert_memory_equal(table, "PCMP", 4);
	len = get16(table + 4);
	count = get16(table + 34);
	assert_int_equal(table[6], 4);
	assert_int_equal(sum(table, len), 0); /* checksum over the base table */
	assert_memory_equal(table + 8, "EMBER   ", 8);
	assert_memory_equal(table + 16, "MICROVM     ", 12);
	assert_int_equal(get32(table + 28), 0); /* no OEM table */
	assert_int_equal(get16(table + 32), 0);
	assert_int_equal(get32(table + 36), 0xfee00000);
	assert_int_equal(get16(table + 40), 0); /* no extended table */
	assert_int_equal(table[42], 0);

	assert_int_equal(count, nr_cpus + 1 + 1 + (IRQ_MAX + 1) + 2);
	end = walk_entries(table, count, nr_cpus, &c);
	assert_int_equal(end, len);
	assert_int_equal(c.cpus, nr_cpus);
	assert_int_equal(c.buses, 1);
	assert_int_equal(c.ioapics, 1);
	assert_int_equal(c.intsrcs, IRQ_MAX + 1);
	assert_int_equal(c.lintsrcs, 2);
	assert_int_equal(16 + len, mptable_size(nr_cpus, IRQ_MAX));
	assert_true(16 + len <= 1024);
	for (size_t i = 16 + len; i < 1024; i++)
		assert_int_equal(base[i], 0);
	guest_mem_destroy(&mem);
}

static void test_one_cpu(void **state)
{
	(void)state;
	check_tables(1);
}

static void test_two_cpus(void **state)
{
	(void)state;
	check_tables(2);
}

static void test_32_cpus_fit(void **state)
{
	(void)state;
	check_tables(LAYOUT_MAX_VCPUS);
	assert_int_equal(mptable_size(32, 23), 924);
}

/* First processor entry byte for byte, independent of the structs. */
static void test_cpu_entry_bytes(void **state)
{
	static const uint8_t bsp[20] = {
	    0x00, 0x00, 0x14, 0x03, 0x00, 0x06, 0x00, 0x00, 0x01, 0x02,
	};
	static const uint8_t ioapic_2cpu[8] = {0x02, 0x02, 0x11, 0x01, 0x00, 0x00, 0xc0, 0xfe};
	struct guest_mem mem;
	const uint8_t *table;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, 128 * MIB), 0);
	assert_int_equal(mptable_write(&mem, 2, IRQ_MAX), 0);
	table = ebda(&mem) + 16;
	assert_memory_equal(table + 44, bsp, 20);
	assert_int_equal(table[44 + 20 + 3], 0x01); /* AP: enabled, not BSP */
	assert_memory_equal(table + 44 + 40 + 8, ioapic_2cpu, 8);
	guest_mem_destroy(&mem);
}

static void test_errors(void **state)
{
	struct guest_mem mem;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, 128 * MIB), 0);
	assert_int_equal(mptable_write(&mem, 0, IRQ_MAX), -EINVAL);
	assert_int_equal(mptable_write(&mem, 255, IRQ_MAX), -EINVAL);
	assert_int_equal(mptable_write(&mem, 1, 256), -EINVAL);
	/* 40 CPUs: 16 + 44 + 800 + 8 + 8 + 192 + 16 = 1084 > 1024. */
	assert_int_equal(mptable_size(40, IRQ_MAX), 1084);
	assert_int_equal(mptable_write(&mem, 40, IRQ_MAX), -E2BIG);
	/* Refused tables leave the EBDA alone. */
	assert_int_equal(*ebda(&mem), 0);
	guest_mem_destroy(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_cpu),	cmocka_unit_test(test_two_cpus),
	    cmocka_unit_test(test_32_cpus_fit), cmocka_unit_test(test_cpu_entry_bytes),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
