// SPDX-License-Identifier: Apache-2.0
#include "vmm/kvm/cpuid.h"
#include "vmm/mem/layout.h"

#include <errno.h>
#include <string.h>

/* Leaf 1 */
#define CPUID1_EBX_CLFLUSH_LINES 8 /* in 8-byte units: 64-byte lines */
#define CPUID1_ECX_PDCM		 (1U << 15)
#define CPUID1_ECX_TSC_DEADLINE	 (1U << 24)
#define CPUID1_ECX_HYPERVISOR	 (1U << 31)
#define CPUID1_EDX_HTT		 (1U << 28)
/* Leaf 6 */
#define CPUID6_EAX_TURBO (1U << 1)
#define CPUID6_ECX_EPB	 (1U << 3)
/* Leaf 7.0 */
#define CPUID7_EDX_ARCH_CAPABILITIES (1U << 29)
/* Leaf 0xb / 0x1f level types */
#define TOPO_LEVEL_INVALID 0
#define TOPO_LEVEL_SMT	   1
#define TOPO_LEVEL_CORE	   2
/* Leaf 0x80000001 */
#define CPUID_EXT1_ECX_TOPOEXT (1U << 22)

#define LEAF_BRAND_FIRST 0x80000002
#define BRAND_LEAVES	 3
#define EMBER_BRAND	 "Ember vCPU"

enum cpu_vendor { VENDOR_OTHER, VENDOR_INTEL, VENDOR_AMD };

/* Topology of the VM as seen by one vCPU. APIC ID = vCPU index. */
struct cpu_topo {
	uint32_t vcpu_id;
	uint32_t nr_vcpus;
	uint32_t threads_per_core; /* 1, or 2 with SMT */
	uint32_t thread_bits;	   /* APIC ID bits for the thread in a core */
	uint32_t package_bits;	   /* APIC ID bits for everything in the package */
};

/* Replace bits [lo, hi] of @reg with @val. */
static uint32_t set_bits(uint32_t reg, unsigned int lo, unsigned int hi, uint32_t val)
{
	uint32_t mask = (uint32_t)(((1ULL << (hi - lo + 1)) - 1) << lo);

	return (reg & ~mask) | ((val << lo) & mask);
}

static uint32_t ceil_log2(uint32_t n)
{
	uint32_t bits = 0;

	while ((1U << bits) < n)
		bits++;
	return bits;
}

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *cpuid, uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function != function)
			continue;
		if (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == index)
			return e;
	}
	return NULL;
}

int cpuid_add_topology_subleaves(struct kvm_cpuid2 *cpuid, uint32_t max_nent)
{
	static const uint32_t leaves[] = {0xb, 0x1f};
	uint32_t missing = 0;

	for (unsigned int i = 0; i < 2; i++)
		missing += cpuid_find(cpuid, leaves[i], 0) && !cpuid_find(cpuid, leaves[i], 1);
	if (missing > max_nent || cpuid->nent > max_nent - missing)
		return -ENOSPC;
	for (unsigned int i = 0; i < 2; i++) {
		if (!cpuid_find(cpuid, leaves[i], 0) || cpuid_find(cpuid, leaves[i], 1))
			continue;
		cpuid->entries[cpuid->nent++] = (struct kvm_cpuid_entry2){
		    .function = leaves[i],
		    .index = 1,
		    .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		};
	}
	return 0;
}

static enum cpu_vendor cpuid_vendor(struct kvm_cpuid2 *cpuid)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(cpuid, 0, 0);
	char id[12];

	if (!e)
		return VENDOR_OTHER;
	memcpy(id, &e->ebx, 4);
	memcpy(id + 4, &e->edx, 4);
	memcpy(id + 8, &e->ecx, 4);
	if (!memcmp(id, "GenuineIntel", 12))
		return VENDOR_INTEL;
	/* Hygon's Dhyana is a Zen derivative with AMD's topology leaves. */
	if (!memcmp(id, "AuthenticAMD", 12) || !memcmp(id, "HygonGenuine", 12))
		return VENDOR_AMD;
	return VENDOR_OTHER;
}

/* ---- common ------------------------------------------------------------- */

static void normalize_leaf1(struct kvm_cpuid2 *cpuid, const struct cpu_topo *t)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(cpuid, 1, 0);

	if (!e)
		return;
	e->ebx = set_bits(e->ebx, 8, 15, CPUID1_EBX_CLFLUSH_LINES);
	/* Addressable logical processor IDs in the package: a power of two. */
	e->ebx = set_bits(e->ebx, 16, 23, 1U << t->package_bits);
	e->ebx = set_bits(e->ebx, 24, 31, t->vcpu_id);
	/* The in-kernel LAPIC emulates the TSC deadline timer; KVM leaves the bit to us. */
	e->ecx |= CPUID1_ECX_TSC_DEADLINE | CPUID1_ECX_HYPERVISOR;
	e->ecx &= ~CPUID1_ECX_PDCM;
	if (t->nr_vcpus > 1)
		e->edx |= CPUID1_EDX_HTT;
	else
		e->edx &= ~CPUID1_EDX_HTT;
}

/* No turbo and no energy/performance bias: the host owns frequency. */
static void normalize_leaf6(struct kvm_cpuid2 *cpuid)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(cpuid, 6, 0);

	if (!e)
		return;
	e->eax &= ~CPUID6_EAX_TURBO;
	e->ecx &= ~CPUID6_ECX_EPB;
}

/*
 * Extended topology (0xb, 0x1f): subleaf 0 the SMT level, subleaf 1 the core
 * level covering the whole VM, later subleaves invalid. EDX is the x2APIC ID.
 */
static void normalize_ext_topology(struct kvm_cpuid2 *cpuid, uint32_t leaf,
				   const struct cpu_topo *t)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function != leaf)
			continue;
		e->edx = t->vcpu_id;
		if (e->index == 0) {
			e->eax = t->thread_bits;
			e->ebx = t->threads_per_core;
			e->ecx = (TOPO_LEVEL_SMT << 8) | 0;
		} else if (e->index == 1) {
			e->eax = t->package_bits;
			e->ebx = t->nr_vcpus;
			e->ecx = (TOPO_LEVEL_CORE << 8) | 1;
		} else {
			e->eax = 0;
			e->ebx = 0;
			e->ecx = (TOPO_LEVEL_INVALID << 8) | (e->index & 0xff);
		}
	}
}

static bool brand_is_empty(struct kvm_cpuid_entry2 *brand[BRAND_LEAVES])
{
	for (unsigned int i = 0; i < BRAND_LEAVES; i++)
		if (brand[i]->eax || brand[i]->ebx || brand[i]->ecx || brand[i]->edx)
			return false;
	return true;
}

static void normalize_brand(struct kvm_cpuid2 *cpuid)
{
	struct kvm_cpuid_entry2 *brand[BRAND_LEAVES];
	char text[BRAND_LEAVES * 16] = EMBER_BRAND; /* NUL padded */

	for (unsigned int i = 0; i < BRAND_LEAVES; i++) {
		brand[i] = cpuid_find(cpuid, LEAF_BRAND_FIRST + i, 0);
		if (!brand[i])
			return;
	}
	if (!brand_is_empty(brand))
		return;
	for (unsigned int i = 0; i < BRAND_LEAVES; i++) {
		memcpy(&brand[i]->eax, text + i * 16, 4);
		memcpy(&brand[i]->ebx, text + i * 16 + 4, 4);
		memcpy(&brand[i]->ecx, text + i * 16 + 8, 4);
		memcpy(&brand[i]->edx, text + i * 16 + 12, 4);
	}
}

/* ---- Intel -------------------------------------------------------------- */

/*
 * Deterministic cache parameters: L1/L2 shared by the threads of a core, L3
 * by the package; all cores in one package. Fields hold "addressable IDs - 1".
 */
static void normalize_intel_caches(struct kvm_cpuid2 *cpuid, const struct cpu_topo *t)
{
	uint32_t core_ids = 1U << (t->package_bits - t->thread_bits);

	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		uint32_t level, sharing;

		if (e->function != 4 || (e->eax & 0x1f) == 0)
			continue;
		level = (e->eax >> 5) & 0x7;
		sharing = level <= 2 ? t->threads_per_core : 1U << t->package_bits;
		e->eax = set_bits(e->eax, 14, 25, sharing - 1);
		e->eax = set_bits(e->eax, 26, 31, core_ids - 1);
	}
}

static void normalize_intel(struct kvm_cpuid2 *cpuid, const struct cpu_topo *t)
{
	struct kvm_cpuid_entry2 *pmu = cpuid_find(cpuid, 0xa, 0);

	normalize_intel_caches(cpuid, t);
	/* No architectural performance monitoring. */
	if (pmu)
		pmu->eax = pmu->ebx = pmu->ecx = pmu->edx = 0;
}

/* ---- AMD ---------------------------------------------------------------- */

/* Cache topology: NumSharingCache - 1 in EAX[25:14], a count (not a power of two). */
static void normalize_amd_caches(struct kvm_cpuid2 *cpuid, const struct cpu_topo *t)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
		uint32_t level, sharing;

		if (e->function != 0x8000001d || (e->eax & 0x1f) == 0)
			continue;
		level = (e->eax >> 5) & 0x7;
		sharing = level <= 2 ? t->threads_per_core : t->nr_vcpus;
		e->eax = set_bits(e->eax, 14, 25, sharing - 1);
	}
}

/* Extended APIC ID, core (compute unit) ID and threads per core; one node. */
static void normalize_amd_ext_apic(struct kvm_cpuid_entry2 *e, const struct cpu_topo *t)
{
	e->eax = t->vcpu_id;
	e->ebx = ((t->threads_per_core - 1) << 8) | (t->vcpu_id >> t->thread_bits);
	e->ecx = 0;
	e->edx = 0;
}

static void normalize_amd(struct kvm_cpuid2 *cpuid, const struct cpu_topo *t)
{
	struct kvm_cpuid_entry2 *leaf7 = cpuid_find(cpuid, 7, 0);
	struct kvm_cpuid_entry2 *max_ext = cpuid_find(cpuid, 0x80000000, 0);
	struct kvm_cpuid_entry2 *ext1 = cpuid_find(cpuid, 0x80000001, 0);
	struct kvm_cpuid_entry2 *sizes = cpuid_find(cpuid, 0x80000008, 0);
	struct kvm_cpuid_entry2 *caches = cpuid_find(cpuid, 0x8000001d, 0);
	struct kvm_cpuid_entry2 *ext_apic = cpuid_find(cpuid, 0x8000001e, 0);

	/* AMD CPUs have no IA32_ARCH_CAPABILITIES MSR; do not announce KVM's. */
	if (leaf7)
		leaf7->edx &= ~CPUID7_EDX_ARCH_CAPABILITIES;
	if (sizes) {
		sizes->ecx = set_bits(sizes->ecx, 0, 7, t->nr_vcpus - 1);   /* NC */
		sizes->ecx = set_bits(sizes->ecx, 12, 15, t->package_bits); /* ApicIdSize */
	}
	normalize_amd_caches(cpuid, t);
	if (ext_apic)
		normalize_amd_ext_apic(ext_apic, t);
	/* TOPOEXT announces 0x8000001d/0x8000001e: only when both are there and in range. */
	if (caches && ext_apic && ext1 && max_ext) {
		if (max_ext->eax < 0x8000001e)
			max_ext->eax = 0x8000001e;
		ext1->ecx |= CPUID_EXT1_ECX_TOPOEXT;
	}
}

int cpuid_normalize(struct kvm_cpuid2 *cpuid, uint32_t vcpu_id, uint32_t nr_vcpus, bool smt)
{
	struct cpu_topo t;

	if (nr_vcpus == 0 || nr_vcpus > LAYOUT_MAX_VCPUS || vcpu_id >= nr_vcpus)
		return -EINVAL;
	t.vcpu_id = vcpu_id;
	t.nr_vcpus = nr_vcpus;
	t.threads_per_core = smt && nr_vcpus > 1 ? 2 : 1;
	t.thread_bits = t.threads_per_core == 2 ? 1 : 0;
	t.package_bits = ceil_log2(nr_vcpus);

	normalize_leaf1(cpuid, &t);
	normalize_leaf6(cpuid);
	normalize_ext_topology(cpuid, 0xb, &t);
	normalize_ext_topology(cpuid, 0x1f, &t);
	normalize_brand(cpuid);
	switch (cpuid_vendor(cpuid)) {
	case VENDOR_INTEL:
		normalize_intel(cpuid, &t);
		break;
	case VENDOR_AMD:
		normalize_amd(cpuid, &t);
		break;
	case VENDOR_OTHER:
		break;
	}
	return 0;
}
