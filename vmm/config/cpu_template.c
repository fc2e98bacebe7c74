// SPDX-License-Identifier: Apache-2.0
#include "vmm/config/cpu_template.h"

#include <stdlib.h>
#include <string.h>

/* calloc + memcpy of @nr elements of @size; NULL source or zero count gives NULL. */
static void *dup_array(const void *src, size_t nr, size_t size, bool *failed)
{
	void *p;

	if (!src || !nr)
		return NULL;
	p = calloc(nr, size);
	if (!p) {
		*failed = true;
		return NULL;
	}
	memcpy(p, src, nr * size);
	return p;
}

struct cpu_template *cpu_template_dup(const struct cpu_template *src)
{
	struct cpu_template *t = calloc(1, sizeof(*t));
	struct cpuid_leaf_modifier *leaves;
	bool failed = false;

	if (!t)
		return NULL;
	t->kvm_caps = dup_array(src->kvm_caps, src->nr_kvm_caps, sizeof(*src->kvm_caps), &failed);
	t->nr_kvm_caps = t->kvm_caps ? src->nr_kvm_caps : 0;
	t->msrs = dup_array(src->msrs, src->nr_msrs, sizeof(*src->msrs), &failed);
	t->nr_msrs = t->msrs ? src->nr_msrs : 0;
	leaves = dup_array(src->cpuid, src->nr_cpuid, sizeof(*src->cpuid), &failed);
	t->cpuid = leaves;
	t->nr_cpuid = leaves ? src->nr_cpuid : 0;
	/* Each leaf's register list is its own array: copy those too, NULL first. */
	for (size_t i = 0; i < t->nr_cpuid; i++)
		leaves[i].mods = NULL;
	for (size_t i = 0; i < t->nr_cpuid; i++) {
		leaves[i].mods = dup_array(src->cpuid[i].mods, src->cpuid[i].nr_mods,
					   sizeof(*src->cpuid[i].mods), &failed);
		if (!leaves[i].mods)
			leaves[i].nr_mods = 0;
	}
	if (failed) {
		cpu_template_free(t);
		return NULL;
	}
	return t;
}

void cpu_template_free(struct cpu_template *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nr_cpuid; i++)
		free((void *)t->cpuid[i].mods);
	free((void *)t->cpuid);
	free((void *)t->kvm_caps);
	free((void *)t->msrs);
	free(t);
}
