// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: a PUT /cpu-config body (Firecracker's custom CPU template),
 * then, when it is accepted, everything done with a template: its CPUID
 * modifiers on a sample CPUID, its MSR modifiers on a sample MSR list, the
 * host check of a restore, a copy, and the snapshot's "CPUT" section.
 *
 * Checked, beyond the sanitizers: a refusal has a message and makes no
 * request; a modifier changes only the bits its bitmap sets (0 or 1), and
 * exactly to those values when it is the last on its register; the copy
 * and the section decode back to the same template.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/parse_cpu_config.h"
#include "vmm/base/log.h"
#include "vmm/base/vmstate.h"
#include "vmm/kvm/cpu_template.h"
#include "vmm/snapshot/snapshot_cpu_template.h"

#define NENT 6
#define NMSR 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct kvm_cpuid2 *sample_cpuid(void)
{
	static const uint32_t fn[NENT] = {0, 1, 7, 7, 0xd, 0x80000001};
	static const uint32_t idx[NENT] = {0, 0, 0, 1, 1, 0};
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + NENT * sizeof(c->entries[0]));

	if (!c)
		abort();
	c->nent = NENT;
	for (int i = 0; i < NENT; i++)
		c->entries[i] = (struct kvm_cpuid_entry2){.function = fn[i],
							  .index = idx[i],
							  .eax = 0x5a5a5a5a ^ (uint32_t)i,
							  .ebx = 0xa5a5a5a5,
							  .ecx = 0x0f0f0f0f,
							  .edx = 0xf0f0f0f0};
	return c;
}

static uint32_t reg_of(const struct kvm_cpuid_entry2 *e, enum cpuid_register r)
{
	const uint32_t v[4] = {e->eax, e->ebx, e->ecx, e->edx};

	return v[r];
}

/* Only the bits some modifier of an entry's register sets may change, to the last one's value. */
static void check_cpuid(const struct cpu_template *t)
{
	struct kvm_cpuid2 *before = sample_cpuid(), *after = sample_cpuid();
	uint32_t leaf = 0, sub = 0;
	int ret = cpu_template_apply_cpuid(after, t, &leaf, &sub);

	for (uint32_t i = 0; i < after->nent; i++) {
		for (int r = 0; r < 4; r++) {
			uint32_t touched = 0, last_f = 0, last_v = 0;
			uint32_t got = reg_of(&after->entries[i], (enum cpuid_register)r);
			uint32_t was = reg_of(&before->entries[i], (enum cpuid_register)r);

			for (size_t m = 0; !ret && m < t->nr_cpuid; m++) {
				if (t->cpuid[m].leaf != after->entries[i].function ||
				    t->cpuid[m].subleaf != after->entries[i].index)
					continue;
				for (size_t k = 0; k < t->cpuid[m].nr_mods; k++) {
					if (t->cpuid[m].mods[k].reg != (enum cpuid_register)r)
						continue;
					touched |= t->cpuid[m].mods[k].filter;
					last_f = t->cpuid[m].mods[k].filter;
					last_v = t->cpuid[m].mods[k].value;
				}
			}
			if (!ret && ((got ^ was) & ~touched))
				abort();
			if (!ret && (got & last_f) != (last_v & last_f))
				abort();
		}
	}
	free(before);
	free(after);
}

static void check_msrs(const struct cpu_template *t)
{
	struct kvm_msr_entry msrs[NMSR] = {{.index = 0x10a, .data = 0x123},
					   {.index = 0x277, .data = 0x0007040600070406ULL},
					   {.index = 0xc0000103, .data = ~0ULL}};
	uint32_t addr = 0;

	if (cpu_template_apply_msrs(msrs, NMSR, t, &addr) == 0 && t->nr_msrs) {
		const struct msr_modifier *m = &t->msrs[t->nr_msrs - 1];

		for (int i = 0; i < NMSR; i++)
			if (msrs[i].index == m->addr &&
			    (msrs[i].data & m->filter) != (m->value & m->filter))
				abort();
	}
}

static bool same(const struct cpu_template *a, const struct cpu_template *b)
{
	if (a->nr_kvm_caps != b->nr_kvm_caps || a->nr_cpuid != b->nr_cpuid ||
	    a->nr_msrs != b->nr_msrs)
		return false;
	for (size_t i = 0; i < a->nr_kvm_caps; i++)
		if (a->kvm_caps[i].cap != b->kvm_caps[i].cap ||
		    a->kvm_caps[i].remove != b->kvm_caps[i].remove)
			return false;
	for (size_t i = 0; i < a->nr_msrs; i++)
		if (memcmp(&a->msrs[i], &b->msrs[i], sizeof(a->msrs[i])))
			return false;
	for (size_t i = 0; i < a->nr_cpuid; i++) {
		const struct cpuid_leaf_modifier *x = &a->cpuid[i], *y = &b->cpuid[i];

		if (x->leaf != y->leaf || x->subleaf != y->subleaf || x->flags != y->flags ||
		    x->nr_mods != y->nr_mods)
			return false;
		for (size_t k = 0; k < x->nr_mods; k++)
			if (memcmp(&x->mods[k], &y->mods[k], sizeof(x->mods[k])))
				return false;
	}
	return true;
}

static void check_copies(const struct cpu_template *t)
{
	struct vm_config cfg, back;
	struct vmstate_writer w;
	struct vmstate_file f;
	struct vmstate_reader r;
	char err[128];

	vm_config_init(&cfg);
	vm_config_init(&back);
	cfg.machine.cpu_config = cpu_template_dup(t);
	if (!cfg.machine.cpu_config || !same(t, cfg.machine.cpu_config))
		abort();
	vmstate_writer_init(&w);
	snapshot_cpu_template_encode(&cfg, &w);
	if (vmstate_writer_finish(&w) == 0 && t->nr_kvm_caps <= SNAPSHOT_CPUT_MAX_ENTRIES &&
	    t->nr_cpuid <= SNAPSHOT_CPUT_MAX_ENTRIES && t->nr_msrs <= SNAPSHOT_CPUT_MAX_ENTRIES) {
		bool mods_fit = true;

		for (size_t i = 0; i < t->nr_cpuid; i++)
			mods_fit &= t->cpuid[i].nr_mods <= SNAPSHOT_CPUT_MAX_ENTRIES;
		if (vmstate_open(&f, w.buf, w.len, err, sizeof(err)) ||
		    !vmstate_find(&f, SNAPSHOT_CPUT_TAG, 0, &r))
			abort();
		if (mods_fit &&
		    (snapshot_cpu_template_decode(&r, &back) || !same(t, back.machine.cpu_config)))
			abort();
	}
	vmstate_writer_free(&w);
	vm_config_free(&cfg);
	vm_config_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmm_request req;
	struct parse_info info;
	char err[FAULT_MESSAGE_MAX] = "";
	struct kvm_cpuid2 *sup;
	int ret;

	log_set_level(LOG_OFF);
	ret = api_parse_body(&put_cpu_config_parser, NULL, (const char *)data, size, &req, &info,
			     err, sizeof(err));
	if (ret) {
		if (!err[0])
			abort();
		return 0;
	}
	if (req.type != REQ_PUT_CPU_CONFIG || !req.u.cpu_config)
		abort();
	check_cpuid(req.u.cpu_config);
	check_msrs(req.u.cpu_config);
	check_copies(req.u.cpu_config);
	sup = sample_cpuid();
	cpu_template_host_check(req.u.cpu_config, sup, err, sizeof(err));
	free(sup);
	vmm_request_free(&req);
	return 0;
}
