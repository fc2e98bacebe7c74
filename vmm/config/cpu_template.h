/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A CPU template as data: Firecracker's CustomCpuTemplate (x86_64). PUT
 * /cpu-config and the config file's "cpu-config" fill one from JSON; the
 * static templates (T2, T2S, T2CL, C3, T2A) are the same structure, built in
 * (vmm/kvm/static_templates.c). vmm/kvm applies one to a vCPU's CPUID and MSRs.
 *
 * A bitmap ("0b" + 0/1/x per bit, most significant first) becomes a filter
 * (the bits it sets: 0 or 1) and their values: new = (old & ~filter) | value.
 */
#ifndef EMBER_CPU_TEMPLATE_H
#define EMBER_CPU_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cpuid_register { CPUID_REG_EAX, CPUID_REG_EBX, CPUID_REG_ECX, CPUID_REG_EDX };

/* "n" requires KVM capability n, "!n" drops it from the required ones. */
struct kvm_cap_modifier {
	uint32_t cap;
	bool remove;
};

struct cpuid_reg_modifier {
	enum cpuid_register reg;
	uint32_t filter;
	uint32_t value;
};

struct cpuid_leaf_modifier {
	uint32_t leaf;
	uint32_t subleaf;
	uint32_t flags; /* the entry's KVM_CPUID_FLAG_* become these */
	const struct cpuid_reg_modifier *mods;
	size_t nr_mods;
};

struct msr_modifier {
	uint32_t addr;
	uint64_t filter;
	uint64_t value;
};

struct cpu_template {
	const struct kvm_cap_modifier *kvm_caps;
	size_t nr_kvm_caps;
	const struct cpuid_leaf_modifier *cpuid;
	size_t nr_cpuid;
	const struct msr_modifier *msrs;
	size_t nr_msrs;
};

/* A heap copy of @src (every array duplicated), or NULL on ENOMEM. */
struct cpu_template *cpu_template_dup(const struct cpu_template *src);
/* Free a template from cpu_template_dup() or a parser (NULL is fine). */
void cpu_template_free(struct cpu_template *t);

#endif
