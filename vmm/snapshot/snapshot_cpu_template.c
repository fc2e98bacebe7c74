// SPDX-License-Identifier: Apache-2.0
#include "vmm/snapshot/snapshot_cpu_template.h"

#include <errno.h>
#include <stdlib.h>

void snapshot_cpu_template_encode(const struct vm_config *cfg, struct vmstate_writer *w)
{
	const struct cpu_template *t = cfg->machine.cpu_config;

	if (!t)
		return;
	vmstate_section_begin(w, SNAPSHOT_CPUT_TAG, 0);
	vmstate_put_u32(w, (uint32_t)t->nr_kvm_caps);
	for (size_t i = 0; i < t->nr_kvm_caps; i++) {
		vmstate_put_u32(w, t->kvm_caps[i].cap);
		vmstate_put_bool(w, t->kvm_caps[i].remove);
	}
	vmstate_put_u32(w, (uint32_t)t->nr_cpuid);
	for (size_t i = 0; i < t->nr_cpuid; i++) {
		const struct cpuid_leaf_modifier *l = &t->cpuid[i];

		vmstate_put_u32(w, l->leaf);
		vmstate_put_u32(w, l->subleaf);
		vmstate_put_u32(w, l->flags);
		vmstate_put_u32(w, (uint32_t)l->nr_mods);
		for (size_t k = 0; k < l->nr_mods; k++) {
			vmstate_put_u8(w, (uint8_t)l->mods[k].reg);
			vmstate_put_u32(w, l->mods[k].filter);
			vmstate_put_u32(w, l->mods[k].value);
		}
	}
	vmstate_put_u32(w, (uint32_t)t->nr_msrs);
	for (size_t i = 0; i < t->nr_msrs; i++) {
		vmstate_put_u32(w, t->msrs[i].addr);
		vmstate_put_u64(w, t->msrs[i].filter);
		vmstate_put_u64(w, t->msrs[i].value);
	}
	vmstate_section_end(w);
}

/* A count from the section, bounded; @r->err set when out of range. */
static uint32_t get_count(struct vmstate_reader *r)
{
	uint32_t n = vmstate_get_u32(r);

	if (!r->err && n > SNAPSHOT_CPUT_MAX_ENTRIES)
		r->err = -EINVAL;
	return r->err ? 0 : n;
}

static int decode_leaf(struct vmstate_reader *r, struct cpuid_leaf_modifier *l)
{
	struct cpuid_reg_modifier *mods;
	uint32_t n;

	l->leaf = vmstate_get_u32(r);
	l->subleaf = vmstate_get_u32(r);
	l->flags = vmstate_get_u32(r);
	n = get_count(r);
	if (r->err)
		return r->err;
	mods = calloc(n + 1, sizeof(*mods));
	if (!mods)
		return -ENOMEM;
	l->mods = mods;
	for (l->nr_mods = 0; l->nr_mods < n && !r->err; l->nr_mods++) {
		uint8_t reg = vmstate_get_u8(r);

		if (!r->err && reg > CPUID_REG_EDX)
			r->err = -EINVAL;
		mods[l->nr_mods].reg = (enum cpuid_register)reg;
		mods[l->nr_mods].filter = vmstate_get_u32(r);
		mods[l->nr_mods].value = vmstate_get_u32(r);
	}
	return r->err;
}

static int decode(struct vmstate_reader *r, struct cpu_template *t)
{
	struct kvm_cap_modifier *caps;
	struct cpuid_leaf_modifier *leaves;
	struct msr_modifier *msrs;
	uint32_t n = get_count(r);

	caps = calloc(n + 1, sizeof(*caps));
	if (!caps)
		return -ENOMEM;
	t->kvm_caps = caps;
	for (t->nr_kvm_caps = 0; t->nr_kvm_caps < n && !r->err; t->nr_kvm_caps++) {
		caps[t->nr_kvm_caps].cap = vmstate_get_u32(r);
		caps[t->nr_kvm_caps].remove = vmstate_get_bool(r);
	}
	n = get_count(r);
	leaves = calloc(n + 1, sizeof(*leaves));
	if (!leaves)
		return -ENOMEM;
	t->cpuid = leaves;
	/* Counted before decoding, so cpu_template_free() frees a half-decoded leaf. */
	for (t->nr_cpuid = 0; t->nr_cpuid < n && !r->err;)
		if (decode_leaf(r, &leaves[t->nr_cpuid++]) == -ENOMEM)
			return -ENOMEM;
	n = get_count(r);
	msrs = calloc(n + 1, sizeof(*msrs));
	if (!msrs)
		return -ENOMEM;
	t->msrs = msrs;
	for (t->nr_msrs = 0; t->nr_msrs < n && !r->err; t->nr_msrs++) {
		msrs[t->nr_msrs].addr = vmstate_get_u32(r);
		msrs[t->nr_msrs].filter = vmstate_get_u64(r);
		msrs[t->nr_msrs].value = vmstate_get_u64(r);
	}
	return vmstate_reader_end(r);
}

int snapshot_cpu_template_decode(struct vmstate_reader *r, struct vm_config *cfg)
{
	struct cpu_template *t = calloc(1, sizeof(*t));
	int ret;

	if (!t)
		return -ENOMEM;
	ret = decode(r, t);
	if (ret) {
		cpu_template_free(t);
		return ret == -ENOMEM ? ret : -EINVAL;
	}
	cpu_template_free(cfg->machine.cpu_config);
	cfg->machine.cpu_config = t;
	return 0;
}
