// SPDX-License-Identifier: Apache-2.0
/*
 * CPUID normalization on hand-built KVM_GET_SUPPORTED_CPUID arrays: an Intel
 * one and an AMD one (values as KVM 6.x reports them on a Zen 4 host, with
 * only subleaf 0 of leaf 0xb and an empty brand string). Every changed
 * register is checked exactly, and the untouched ones too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/kvm/cpuid.h"

#define CAPACITY 64
#define SIG	 KVM_CPUID_FLAG_SIGNIFCANT_INDEX

#define PDCM	     (1U << 15)
#define TSC_DEADLINE (1U << 24)
#define HYPERVISOR   (1U << 31)
#define HTT	     (1U << 28)

static struct kvm_cpuid2 *cpuid_new(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + CAPACITY * sizeof(c->entries[0]));

	assert_non_null(c);
	return c;
}

static void add(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx, uint32_t flags, uint32_t eax,
		uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	assert_true(c->nent < CAPACITY);
	c->entries[c->nent++] = (struct kvm_cpuid_entry2){
	    .function = fn,
	    .index = idx,
	    .flags = flags,
	    .eax = eax,
	    .ebx = ebx,
	    .ecx = ecx,
	    .edx = edx,
	};
}

static void add_vendor(struct kvm_cpuid2 *c, uint32_t max, const char id[12])
{
	uint32_t r[3];

	memcpy(r, id, 12);
	add(c, 0, 0, 0, max, r[0], r[2], r[1]); /* EBX, EDX, ECX order */
}

static const char intel_brand[48] = "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz";

static struct kvm_cpuid2 *intel_cpuid(void)
{
	struct kvm_cpuid2 *c = cpuid_new();
	uint32_t b[12];

	memcpy(b, intel_brand, sizeof(b));
	add_vendor(c, 0x1f, "GenuineIntel");
	add(c, 1, 0, 0, 0x000606a6, 0xff3f0801, 0x7ed8320b | PDCM, 0x0f8bfbff);
	add(c, 4, 0, SIG, 0x1c004121, 0x02c0003f, 0x3f, 0);
	add(c, 4, 1, SIG, 0x1c004122, 0x01c0003f, 0x3f, 0);
	add(c, 4, 2, SIG, 0x1c004143, 0x04c0003f, 0x3ff, 0);
	add(c, 4, 3, SIG, 0x1c03c163, 0x0280003f, 0xdfff, 4);
	add(c, 4, 4, SIG, 0, 0, 0, 0);
	add(c, 6, 0, 0, 0x77, 0, 0x9, 0);
	add(c, 7, 0, SIG, 0, 0xd19f4fbb, 0x1c0405f, 0xbc000410);
	add(c, 0xa, 0, 0, 0x07300805, 0xff, 0x1, 0x8603);
	add(c, 0xb, 0, SIG, 0, 0, 0, 0);
	add(c, 0x1f, 0, SIG, 1, 2, 0x100, 9);
	add(c, 0x1f, 1, SIG, 7, 64, 0x201, 9);
	add(c, 0x1f, 2, SIG, 0, 0, 2, 9);
	add(c, 0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
	add(c, 0x80000000, 0, 0, 0x80000008, 0, 0, 0);
	add(c, 0x80000002, 0, 0, b[0], b[1], b[2], b[3]);
	add(c, 0x80000003, 0, 0, b[4], b[5], b[6], b[7]);
	add(c, 0x80000004, 0, 0, b[8], b[9], b[10], b[11]);
	return c;
}

/* As probed with KVM_GET_SUPPORTED_CPUID on an AMD EPYC (Zen 4) KVM host. */
static struct kvm_cpuid2 *amd_cpuid(void)
{
	struct kvm_cpuid2 *c = cpuid_new();

	add_vendor(c, 0x1c, "AuthenticAMD");
	add(c, 1, 0, 0, 0x00a10f11, 0x01020800, 0x81202000, 0x078bfbff);
	add(c, 4, 0, SIG, 0, 0, 0, 0);
	add(c, 6, 0, 0, 0x4, 0, 0, 0);
	add(c, 7, 0, SIG, 1, 0x01800002, 0x104, 0x20000000);
	add(c, 0xb, 0, SIG, 0, 0, 0, 1);
	add(c, 0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
	add(c, 0x80000000, 0, 0, 0x80000021, 0x68747541, 0x444d4163, 0x69746e65);
	add(c, 0x80000001, 0, 0, 0x00a10f11, 0x40000000, 0x00000393, 0x23d3fbff);
	add(c, 0x80000002, 0, 0, 0, 0, 0, 0);
	add(c, 0x80000003, 0, 0, 0, 0, 0, 0);
	add(c, 0x80000004, 0, 0, 0, 0, 0, 0);
	add(c, 0x80000008, 0, 0, 0x3030, 0x50020005, 0x7001, 0);
	add(c, 0x8000001d, 0, SIG, 0x121, 0x01c0003f, 0x3f, 0);
	add(c, 0x8000001d, 1, SIG, 0x122, 0x01c0003f, 0x3f, 0);
	add(c, 0x8000001d, 2, SIG, 0x143, 0x01c0003f, 0x7ff, 2);
	add(c, 0x8000001d, 3, SIG, 0x4163, 0x03c0003f, 0x7fff, 1);
	add(c, 0x8000001d, 4, SIG, 0, 0, 0, 0);
	add(c, 0x8000001e, 0, 0, 0, 0, 0, 0);
	return c;
}

static const struct kvm_cpuid_entry2 *get(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(c, fn, idx);

	if (!e)
		fail_msg("leaf %#x.%u missing", fn, idx);
	return e;
}

static void check_regs(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx, uint32_t eax, uint32_t ebx,
		       uint32_t ecx, uint32_t edx)
{
	const struct kvm_cpuid_entry2 *e = get(c, fn, idx);

	assert_int_equal(e->eax, eax);
	assert_int_equal(e->ebx, ebx);
	assert_int_equal(e->ecx, ecx);
	assert_int_equal(e->edx, edx);
}

/* A fresh copy normalized for one vCPU, topology subleaves added first. */
static struct kvm_cpuid2 *normalized(struct kvm_cpuid2 *(*make)(void), uint32_t id, uint32_t nr,
				     bool smt)
{
	struct kvm_cpuid2 *c = make();

	assert_int_equal(cpuid_add_topology_subleaves(c, CAPACITY), 0);
	assert_int_equal(cpuid_normalize(c, id, nr, smt), 0);
	return c;
}

/* ---- subleaf insertion -------------------------------------------------- */

static void test_add_topology_subleaves(void **state)
{
	struct kvm_cpuid2 *c = intel_cpuid();
	uint32_t nent = c->nent;

	(void)state;
	/* No room: refused, nothing changed. */
	assert_int_equal(cpuid_add_topology_subleaves(c, nent), -ENOSPC);
	assert_int_equal(c->nent, nent);
	assert_null(cpuid_find(c, 0xb, 1));

	/* Leaf 0xb lacks subleaf 1, leaf 0x1f has it: one entry added. */
	assert_int_equal(cpuid_add_topology_subleaves(c, nent + 1), 0);
	assert_int_equal(c->nent, nent + 1);
	assert_int_equal(c->entries[nent].function, 0xb);
	assert_int_equal(c->entries[nent].index, 1);
	assert_int_equal(c->entries[nent].flags, SIG);
	check_regs(c, 0xb, 1, 0, 0, 0, 0);
	/* Idempotent. */
	assert_int_equal(cpuid_add_topology_subleaves(c, CAPACITY), 0);
	assert_int_equal(c->nent, nent + 1);
	free(c);

	/* No leaf 0xb at all: nothing to complete. */
	c = cpuid_new();
	add_vendor(c, 0xa, "GenuineIntel");
	assert_int_equal(cpuid_add_topology_subleaves(c, CAPACITY), 0);
	assert_int_equal(c->nent, 1);
	free(c);
}

/* ---- common leaves ------------------------------------------------------ */

static void test_leaf1(void **state)
{
	static const struct {
		uint32_t nr, addressable;
	} cases[] = {{1, 1}, {2, 2}, {3, 4}, {4, 4}, {5, 8}, {32, 32}};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		for (uint32_t id = 0; id < cases[k].nr; id++) {
			struct kvm_cpuid2 *c = normalized(intel_cpuid, id, cases[k].nr, false);
			uint32_t edx = 0x0f8bfbff | (cases[k].nr > 1 ? HTT : 0);

			check_regs(c, 1, 0, 0x000606a6,
				   id << 24 | cases[k].addressable << 16 | 8 << 8 | 0x01,
				   (0x7ed8320b & ~PDCM) | TSC_DEADLINE | HYPERVISOR, edx);
			free(c);
		}
	}
}

/* HTT is cleared for one vCPU even if the host had it. */
static void test_leaf1_single_clears_htt(void **state)
{
	struct kvm_cpuid2 *c = amd_cpuid();

	(void)state;
	assert_int_equal(cpuid_normalize(c, 0, 1, false), 0);
	assert_int_equal(get(c, 1, 0)->edx & HTT, 0);
	free(c);
}

static void test_ext_topology(void **state)
{
	struct kvm_cpuid2 *c;

	(void)state;
	/* 4 vCPUs, no SMT: 1 thread per core, 4 cores in 2 APIC-ID bits. */
	for (uint32_t id = 0; id < 4; id++) {
		c = normalized(intel_cpuid, id, 4, false);
		check_regs(c, 0xb, 0, 0, 1, 0x100, id);
		check_regs(c, 0xb, 1, 2, 4, 0x201, id);
		check_regs(c, 0x1f, 0, 0, 1, 0x100, id);
		check_regs(c, 0x1f, 1, 2, 4, 0x201, id);
		check_regs(c, 0x1f, 2, 0, 0, 0x2, id); /* invalid level */
		free(c);
	}
	/* 4 vCPUs with SMT: 2 threads per core. */
	c = normalized(intel_cpuid, 3, 4, true);
	check_regs(c, 0xb, 0, 1, 2, 0x100, 3);
	check_regs(c, 0xb, 1, 2, 4, 0x201, 3);
	free(c);
	/* 32 vCPUs. */
	c = normalized(intel_cpuid, 31, 32, false);
	check_regs(c, 0xb, 0, 0, 1, 0x100, 31);
	check_regs(c, 0xb, 1, 5, 32, 0x201, 31);
	free(c);
	/* 1 vCPU: SMT asked for but nothing to pair with. */
	c = normalized(intel_cpuid, 0, 1, true);
	check_regs(c, 0xb, 0, 0, 1, 0x100, 0);
	check_regs(c, 0xb, 1, 0, 1, 0x201, 0);
	free(c);
}

/* ---- Intel -------------------------------------------------------------- */

static uint32_t cache_eax(uint32_t low14, uint32_t sharing_m1, uint32_t cores_m1)
{
	return low14 | sharing_m1 << 14 | cores_m1 << 26;
}

static void test_intel_caches(void **state)
{
	struct kvm_cpuid2 *c;

	(void)state;
	c = normalized(intel_cpuid, 0, 4, false);
	check_regs(c, 4, 0, cache_eax(0x121, 0, 3), 0x02c0003f, 0x3f, 0);
	check_regs(c, 4, 1, cache_eax(0x122, 0, 3), 0x01c0003f, 0x3f, 0);
	check_regs(c, 4, 2, cache_eax(0x143, 0, 3), 0x04c0003f, 0x3ff, 0);
	check_regs(c, 4, 3, cache_eax(0x163, 3, 3), 0x0280003f, 0xdfff, 4);
	check_regs(c, 4, 4, 0, 0, 0, 0); /* no cache: untouched */
	free(c);

	c = normalized(intel_cpuid, 1, 4, true); /* 2 cores x 2 threads */
	check_regs(c, 4, 0, cache_eax(0x121, 1, 1), 0x02c0003f, 0x3f, 0);
	check_regs(c, 4, 2, cache_eax(0x143, 1, 1), 0x04c0003f, 0x3ff, 0);
	check_regs(c, 4, 3, cache_eax(0x163, 3, 1), 0x0280003f, 0xdfff, 4);
	free(c);

	c = normalized(intel_cpuid, 2, 3, false); /* rounded up to 4 IDs */
	check_regs(c, 4, 3, cache_eax(0x163, 3, 3), 0x0280003f, 0xdfff, 4);
	free(c);

	c = normalized(intel_cpuid, 0, 1, false);
	check_regs(c, 4, 3, cache_eax(0x163, 0, 0), 0x0280003f, 0xdfff, 4);
	free(c);
}

static void test_intel_power_pmu_and_rest(void **state)
{
	struct kvm_cpuid2 *c = normalized(intel_cpuid, 0, 2, false);
	uint32_t b[12];

	(void)state;
	check_regs(c, 6, 0, 0x75, 0, 0x1, 0); /* turbo and EPB cleared */
	check_regs(c, 0xa, 0, 0, 0, 0, 0);    /* no PMU */
	/* Untouched: vendor, leaf 7, KVM's leaf, max extended leaf, host brand. */
	check_regs(c, 0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69);
	check_regs(c, 7, 0, 0, 0xd19f4fbb, 0x1c0405f, 0xbc000410);
	check_regs(c, 0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
	check_regs(c, 0x80000000, 0, 0x80000008, 0, 0, 0);
	memcpy(b, intel_brand, sizeof(b));
	check_regs(c, 0x80000002, 0, b[0], b[1], b[2], b[3]);
	check_regs(c, 0x80000004, 0, b[8], b[9], b[10], b[11]);
	free(c);
}

/* ---- AMD ---------------------------------------------------------------- */

static void test_amd(void **state)
{
	struct kvm_cpuid2 *c = normalized(amd_cpuid, 1, 2, false);

	(void)state;
	check_regs(c, 1, 0, 0x00a10f11, 1 << 24 | 2 << 16 | 8 << 8,
		   (0x81202000 & ~PDCM) | TSC_DEADLINE | HYPERVISOR, 0x078bfbff | HTT);
	check_regs(c, 7, 0, 1, 0x01800002, 0x104, 0); /* no ARCH_CAPABILITIES */
	check_regs(c, 0xb, 0, 0, 1, 0x100, 1);
	check_regs(c, 0xb, 1, 1, 2, 0x201, 1); /* added, then filled */
	check_regs(c, 0x80000000, 0, 0x80000021, 0x68747541, 0x444d4163, 0x69746e65);
	check_regs(c, 0x80000001, 0, 0x00a10f11, 0x40000000, 0x00400393, 0x23d3fbff);
	check_regs(c, 0x80000008, 0, 0x3030, 0x50020005, 1 << 12 | 1, 0);
	check_regs(c, 0x8000001d, 0, 0x121, 0x01c0003f, 0x3f, 0);
	check_regs(c, 0x8000001d, 2, 0x143, 0x01c0003f, 0x7ff, 2);
	check_regs(c, 0x8000001d, 3, 0x163 | 1 << 14, 0x03c0003f, 0x7fff, 1);
	check_regs(c, 0x8000001d, 4, 0, 0, 0, 0);
	check_regs(c, 0x8000001e, 0, 1, 1, 0, 0);
	check_regs(c, 6, 0, 0x4, 0, 0, 0); /* ARAT kept */
	check_regs(c, 4, 0, 0, 0, 0, 0);
	/* KVM reported no brand: "Ember vCPU", NUL padded. */
	check_regs(c, 0x80000002, 0, 0x65626d45, 0x43762072, 0x00005550, 0);
	check_regs(c, 0x80000003, 0, 0, 0, 0, 0);
	check_regs(c, 0x80000004, 0, 0, 0, 0, 0);
	free(c);
}

static void test_amd_smt(void **state)
{
	(void)state;
	for (uint32_t id = 0; id < 4; id++) {
		struct kvm_cpuid2 *c = normalized(amd_cpuid, id, 4, true);

		check_regs(c, 0x8000001e, 0, id, 1 << 8 | id >> 1, 0, 0);
		check_regs(c, 0x8000001d, 0, 0x121 | 1 << 14, 0x01c0003f, 0x3f, 0);
		check_regs(c, 0x8000001d, 3, 0x163 | 3 << 14, 0x03c0003f, 0x7fff, 1);
		check_regs(c, 0x80000008, 0, 0x3030, 0x50020005, 2 << 12 | 3, 0);
		check_regs(c, 0xb, 0, 1, 2, 0x100, id);
		check_regs(c, 0xb, 1, 2, 4, 0x201, id);
		free(c);
	}
}

/* TOPOEXT needs 0x8000001e in range: the maximum extended leaf is raised. */
static void test_amd_raises_max_extended_leaf(void **state)
{
	struct kvm_cpuid2 *c = amd_cpuid();

	(void)state;
	((struct kvm_cpuid_entry2 *)get(c, 0x80000000, 0))->eax = 0x8000001d;
	assert_int_equal(cpuid_normalize(c, 0, 1, false), 0);
	assert_int_equal(get(c, 0x80000000, 0)->eax, 0x8000001e);
	assert_int_equal(get(c, 0x80000001, 0)->ecx, 0x00400393);
	free(c);
}

/* Hygon is handled as AMD; an unknown vendor gets only the common part. */
static void test_other_vendors(void **state)
{
	struct kvm_cpuid2 *c = amd_cpuid();

	(void)state;
	c->entries[0] = (struct kvm_cpuid_entry2){0};
	add_vendor(c, 0x1c, "HygonGenuine");
	c->entries[0] = c->entries[--c->nent];
	assert_int_equal(cpuid_normalize(c, 1, 2, false), 0);
	check_regs(c, 0x8000001e, 0, 1, 1, 0, 0);
	free(c);

	c = amd_cpuid();
	c->entries[0] = (struct kvm_cpuid_entry2){0};
	add_vendor(c, 0x1c, "VIA VIA VIA ");
	c->entries[0] = c->entries[--c->nent];
	assert_int_equal(cpuid_normalize(c, 1, 2, false), 0);
	assert_int_equal(get(c, 1, 0)->ebx >> 24, 1);
	check_regs(c, 0x8000001e, 0, 0, 0, 0, 0);
	check_regs(c, 7, 0, 1, 0x01800002, 0x104, 0x20000000);
	free(c);
}

static void test_invalid_arguments(void **state)
{
	struct kvm_cpuid2 *c = intel_cpuid();
	struct kvm_cpuid2 *orig = intel_cpuid();
	size_t bytes = sizeof(*c) + c->nent * sizeof(c->entries[0]);

	(void)state;
	assert_int_equal(cpuid_normalize(c, 0, 0, false), -EINVAL);
	assert_int_equal(cpuid_normalize(c, 2, 2, false), -EINVAL);
	assert_int_equal(cpuid_normalize(c, 0, 33, false), -EINVAL);
	assert_memory_equal(c, orig, bytes);
	free(c);
	free(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_topology_subleaves),
	    cmocka_unit_test(test_leaf1),
	    cmocka_unit_test(test_leaf1_single_clears_htt),
	    cmocka_unit_test(test_ext_topology),
	    cmocka_unit_test(test_intel_caches),
	    cmocka_unit_test(test_intel_power_pmu_and_rest),
	    cmocka_unit_test(test_amd),
	    cmocka_unit_test(test_amd_smt),
	    cmocka_unit_test(test_amd_raises_max_extended_leaf),
	    cmocka_unit_test(test_other_vendors),
	    cmocka_unit_test(test_invalid_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
