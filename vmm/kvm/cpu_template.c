// SPDX-License-Identifier: Apache-2.0
#include "vmm/kvm/cpu_template.h"
#include "vmm/base/errmsg.h"
#include "vmm/config/vmm_config.h"
#include "vmm/kvm/static_templates.h"

#include <cpuid.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

static uint32_t *cpuid_reg(struct kvm_cpuid_entry2 *e, enum cpuid_register reg)
{
	switch (reg) {
	case CPUID_REG_EAX:
		return &e->eax;
	case CPUID_REG_EBX:
		return &e->ebx;
	case CPUID_REG_ECX:
		return &e->ecx;
	default:
		return &e->edx;
	}
}

/* Firecracker keys its CPUID by (leaf, subleaf) as KVM reports them: an exact match. */
static struct kvm_cpuid_entry2 *find_entry(struct kvm_cpuid2 *cpuid, uint32_t leaf,
					   uint32_t subleaf)
{
	for (uint32_t i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == leaf && cpuid->entries[i].index == subleaf)
			return &cpuid->entries[i];
	return NULL;
}

int cpu_template_apply_cpuid(struct kvm_cpuid2 *cpuid, const struct cpu_template *t, uint32_t *leaf,
			     uint32_t *subleaf)
{
	for (size_t i = 0; i < t->nr_cpuid; i++) {
		const struct cpuid_leaf_modifier *m = &t->cpuid[i];
		struct kvm_cpuid_entry2 *e = find_entry(cpuid, m->leaf, m->subleaf);

		if (!e) {
			*leaf = m->leaf;
			*subleaf = m->subleaf;
			return -ENOENT;
		}
		e->flags = m->flags;
		for (size_t r = 0; r < m->nr_mods; r++) {
			uint32_t *reg = cpuid_reg(e, m->mods[r].reg);

			*reg = (*reg & ~m->mods[r].filter) | (m->mods[r].value & m->mods[r].filter);
		}
	}
	return 0;
}

int cpu_template_apply_msrs(struct kvm_msr_entry *msrs, size_t nr, const struct cpu_template *t,
			    uint32_t *addr)
{
	for (size_t i = 0; i < t->nr_msrs; i++) {
		const struct msr_modifier *m = &t->msrs[i];
		size_t k = 0;

		while (k < nr && msrs[k].index != m->addr)
			k++;
		if (k == nr) {
			*addr = m->addr;
			return -ENOENT;
		}
		msrs[k].data = (msrs[k].data & ~m->filter) | (m->value & m->filter);
	}
	return 0;
}

int cpu_template_for_vm(const struct machine_config *mc, const struct cpu_template **out, char *err,
			size_t errlen)
{
	unsigned int eax, ebx, ecx, edx;
	const char *why = NULL;
	char vendor[12];

	*out = mc->cpu_config;
	if (mc->cpu_config || !mc->cpu_template)
		return 0;
	/* Firecracker checks the host's own CPUID (vendor, family/model/stepping). */
	__cpuid(0, eax, ebx, ecx, edx);
	memcpy(vendor, &ebx, 4);
	memcpy(vendor + 4, &edx, 4);
	memcpy(vendor + 8, &ecx, 4);
	__cpuid(1, eax, ebx, ecx, edx);
	*out = static_template_for_host(mc->cpu_template, vendor, eax, &why);
	if (!*out)
		return err_set(err, errlen, -EINVAL, "Failed to get CPU template: %s", why);
	return 0;
}

static int check_kvm_caps(const struct cpu_template *t, int kvm_fd, char *err, size_t errlen)
{
	for (size_t i = 0; i < t->nr_kvm_caps; i++) {
		/* "!n" only drops n from Firecracker's own list; Ember's needs are checked where
		 * used. */
		if (t->kvm_caps[i].remove)
			continue;
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, (unsigned long)t->kvm_caps[i].cap) <= 0)
			return err_set(err, errlen, -EINVAL,
				       "Kvm error: Missing KVM capabilities: 0x%x",
				       t->kvm_caps[i].cap);
	}
	return 0;
}

int cpu_template_check(const struct cpu_template *t, int kvm_fd, const struct kvm_cpuid2 *supported,
		       char *err, size_t errlen)
{
	size_t size = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *copy;
	uint32_t leaf = 0, subleaf = 0;
	int ret = check_kvm_caps(t, kvm_fd, err, errlen);

	if (ret)
		return ret;
	copy = malloc(size);
	if (!copy)
		return err_set(err, errlen, -ENOMEM, "Cannot allocate the CPUID");
	memcpy(copy, supported, size);
	ret = cpu_template_apply_cpuid(copy, t, &leaf, &subleaf);
	free(copy);
	if (ret)
		return err_set(err, errlen, -EINVAL,
			       "System configuration error: Failed to create guest config: "
			       "Template changes a CPUID entry not supported by KVM: Leaf: %x, "
			       "Subleaf: %x",
			       leaf, subleaf);
	return 0;
}

static const char *const reg_names[] = {"EAX", "EBX", "ECX", "EDX"};

/* The bits of @reg in leaf @leaf.@subleaf that announce features, 0 if none do. */
static uint32_t feature_bits(uint32_t leaf, uint32_t subleaf, enum cpuid_register reg)
{
	switch (leaf) {
	case 0x1:
		/* TSC-deadline, hypervisor (ECX 24, 31), HTT (EDX 28): Ember sets them. */
		if (reg == CPUID_REG_ECX)
			return ~((1U << 24) | (1U << 31));
		return reg == CPUID_REG_EDX ? ~(1U << 28) : 0;
	case 0x6:
		return reg == CPUID_REG_EAX || reg == CPUID_REG_ECX ? ~0U : 0;
	case 0x7:
		return reg != CPUID_REG_EAX || subleaf ? ~0U : 0;
	case 0xd:
		return subleaf == 1 && reg == CPUID_REG_EAX ? ~0U : 0;
	case 0x80000001:
		/* Not TOPOEXT (ECX 22): normalization sets it on AMD. */
		if (reg == CPUID_REG_ECX)
			return ~(1U << 22);
		return reg == CPUID_REG_EDX ? ~0U : 0;
	case 0x80000007:
		return reg == CPUID_REG_EDX ? ~0U : 0;
	case 0x80000008:
		return reg == CPUID_REG_EBX ? ~0U : 0;
	default:
		return 0;
	}
}

int cpu_template_host_check(const struct cpu_template *t, const struct kvm_cpuid2 *supported,
			    char *err, size_t errlen)
{
	for (size_t i = 0; i < t->nr_cpuid; i++) {
		const struct cpuid_leaf_modifier *m = &t->cpuid[i];
		struct kvm_cpuid_entry2 none = {0}, *e = &none;

		for (uint32_t k = 0; k < supported->nent; k++)
			if (supported->entries[k].function == m->leaf &&
			    supported->entries[k].index == m->subleaf)
				e = (struct kvm_cpuid_entry2 *)&supported->entries[k];
		for (size_t r = 0; r < m->nr_mods; r++) {
			uint32_t want = m->mods[r].filter & m->mods[r].value &
					feature_bits(m->leaf, m->subleaf, m->mods[r].reg);
			uint32_t missing = want & ~*cpuid_reg(e, m->mods[r].reg);

			if (missing)
				return err_set(
				    err, errlen, -EINVAL,
				    "The host CPU lacks CPUID leaf 0x%x subleaf 0x%x %s bit "
				    "%u, which the snapshot's CPU template exposes",
				    m->leaf, m->subleaf, reg_names[m->mods[r].reg],
				    (unsigned int)__builtin_ctz(missing));
		}
	}
	return 0;
}
