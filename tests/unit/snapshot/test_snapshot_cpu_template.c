// SPDX-License-Identifier: Apache-2.0
/*
 * The snapshot's "CPUT" section (the custom CPU template) and the restore
 * check against the host's CPUID: a template round-trips exactly, none is
 * written without one, a truncated, oversized or out-of-range section is
 * refused and keeps nothing; a template setting a feature bit KVM lacks is
 * refused with the bit named, bits cleared or outside the feature registers
 * and the ones Ember's normalization sets itself are not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/kvm/cpu_template.h"
#include "vmm/snapshot/snapshot_cpu_template.h"
#include "tests/unit/snapshot/section_test.h"

static const struct kvm_cap_modifier caps[] = {{56, true}};
static const struct cpuid_reg_modifier leaf7[] = {{CPUID_REG_EBX, 0x28, 0x8},
						  {CPUID_REG_EDX, 1, 0}};
static const struct cpuid_leaf_modifier leaves[] = {{7, 0, 1, leaf7, 2},
						    {0x80000001, 0, 0, NULL, 0}};
static const struct msr_modifier msrs[] = {{0x277, 0xff00000000000000ULL, 0x0100000000000000ULL}};
static const struct cpu_template sample = {caps, 1, leaves, 2, msrs, 1};

/* Encode @cfg into @w (a whole file) and find its CPUT section; false if there is none. */
static bool encode(struct vm_config *cfg, struct vmstate_writer *w, struct vmstate_file *f,
		   struct vmstate_reader *r)
{
	return section_encode(snapshot_cpu_template_encode, SNAPSHOT_CPUT_TAG, cfg, w, f, r);
}

static void test_round_trip(void **state)
{
	struct vm_config cfg, back;
	struct vmstate_writer w;
	struct vmstate_file f;
	struct vmstate_reader r;
	const struct cpu_template *t;

	(void)state;
	vm_config_init(&cfg);
	vm_config_init(&back);
	assert_false(encode(&cfg, &w, &f, &r)); /* no template, no section */
	vmstate_writer_free(&w);
	cfg.machine.cpu_config = cpu_template_dup(&sample);
	assert_true(encode(&cfg, &w, &f, &r));
	assert_int_equal(snapshot_cpu_template_decode(&r, &back), 0);
	t = back.machine.cpu_config;
	assert_non_null(t);
	assert_int_equal(t->nr_kvm_caps, 1);
	assert_int_equal(t->kvm_caps[0].cap, 56);
	assert_true(t->kvm_caps[0].remove);
	assert_int_equal(t->nr_cpuid, 2);
	assert_int_equal(t->cpuid[0].leaf, 7);
	assert_int_equal(t->cpuid[0].flags, 1);
	assert_int_equal(t->cpuid[0].nr_mods, 2);
	assert_int_equal(t->cpuid[0].mods[0].reg, CPUID_REG_EBX);
	assert_int_equal(t->cpuid[0].mods[0].filter, 0x28);
	assert_int_equal(t->cpuid[0].mods[0].value, 0x8);
	assert_int_equal(t->cpuid[0].mods[1].reg, CPUID_REG_EDX);
	assert_int_equal(t->cpuid[1].leaf, 0x80000001);
	assert_int_equal(t->cpuid[1].nr_mods, 0);
	assert_int_equal(t->nr_msrs, 1);
	assert_int_equal(t->msrs[0].addr, 0x277);
	assert_true(t->msrs[0].value == 0x0100000000000000ULL);
	vmstate_writer_free(&w);
	vm_config_free(&cfg);
	vm_config_free(&back);
}

/* Every cut of the section, and a bad register or count, is refused with nothing kept. */
static void test_malformed(void **state)
{
	struct vm_config cfg, back;
	struct vmstate_writer w;
	struct vmstate_file f;
	struct vmstate_reader r;

	(void)state;
	vm_config_init(&cfg);
	cfg.machine.cpu_config = cpu_template_dup(&sample);
	assert_true(encode(&cfg, &w, &f, &r));
	for (size_t cut = 0; cut < r.len; cut++) {
		struct vmstate_reader part = r;

		part.len = cut;
		vm_config_init(&back);
		assert_int_equal(snapshot_cpu_template_decode(&part, &back), -EINVAL);
		assert_null(back.machine.cpu_config);
	}
	/* Trailing bytes. */
	{
		uint8_t *copy = malloc(r.len + 1);
		struct vmstate_reader longer = r;

		memcpy(copy, r.p, r.len);
		copy[r.len] = 0;
		longer.p = copy;
		longer.len = r.len + 1;
		assert_int_equal(snapshot_cpu_template_decode(&longer, &back), -EINVAL);
		free(copy);
	}
	vmstate_writer_free(&w);
	/* A register number past EDX. */
	((struct cpuid_reg_modifier *)cfg.machine.cpu_config->cpuid[0].mods)[1].reg = 4;
	assert_true(encode(&cfg, &w, &f, &r));
	assert_int_equal(snapshot_cpu_template_decode(&r, &back), -EINVAL);
	assert_null(back.machine.cpu_config);
	vmstate_writer_free(&w);
	/* A count past the bound is refused before anything is allocated for it. */
	vmstate_writer_init(&w);
	vmstate_section_begin(&w, SNAPSHOT_CPUT_TAG, 0);
	vmstate_put_u32(&w, 0);
	vmstate_put_u32(&w, SNAPSHOT_CPUT_MAX_ENTRIES + 1);
	vmstate_section_end(&w);
	assert_int_equal(vmstate_writer_finish(&w), 0);
	{
		char err[128];

		assert_int_equal(vmstate_open(&f, w.buf, w.len, err, sizeof(err)), 0);
	}
	assert_true(vmstate_find(&f, SNAPSHOT_CPUT_TAG, 0, &r));
	assert_int_equal(snapshot_cpu_template_decode(&r, &back), -EINVAL);
	assert_null(back.machine.cpu_config);
	vmstate_writer_free(&w);
	vm_config_free(&cfg);
}

static struct kvm_cpuid2 *supported(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 3 * sizeof(c->entries[0]));

	assert_non_null(c);
	c->nent = 3;
	c->entries[0] = (struct kvm_cpuid_entry2){.function = 1, .eax = 0xa00f11, .ecx = 0x1};
	c->entries[1] = (struct kvm_cpuid_entry2){.function = 7, .flags = 1, .ebx = 0x8};
	c->entries[2] = (struct kvm_cpuid_entry2){.function = 0x80000001, .ecx = 0x1};
	return c;
}

static void test_host_check(void **state)
{
	/* Leaf 1: EAX (not a feature register) and ECX 24/31 (Ember sets them) are not checked. */
	static const struct cpuid_reg_modifier l1[] = {{CPUID_REG_EAX, 0xfff, 0x6f2},
						       {CPUID_REG_ECX, 0x81000001, 0x81000001}};
	static const struct cpuid_reg_modifier l7_ok[] = {{CPUID_REG_EBX, 0x28, 0x8}};
	static const struct cpuid_reg_modifier l7_bad[] = {{CPUID_REG_EBX, 0x28, 0x28}};
	static const struct cpuid_reg_modifier ext_bad[] = {{CPUID_REG_EDX, 0x4, 0x4}};
	const struct cpuid_leaf_modifier ok[] = {{1, 0, 0, l1, 2}, {7, 0, 1, l7_ok, 1}};
	const struct cpuid_leaf_modifier bad7[] = {{1, 0, 0, l1, 2}, {7, 0, 1, l7_bad, 1}};
	const struct cpuid_leaf_modifier bad_ext[] = {{0x80000001, 0, 0, ext_bad, 1}};
	/* A leaf KVM does not have at all: every bit it sets is missing. */
	const struct cpuid_leaf_modifier bad_sub[] = {{7, 1, 1, l7_ok, 1}};
	const struct cpu_template t_ok = {.cpuid = ok, .nr_cpuid = 2};
	const struct cpu_template t_bad7 = {.cpuid = bad7, .nr_cpuid = 2};
	const struct cpu_template t_bad_ext = {.cpuid = bad_ext, .nr_cpuid = 1};
	const struct cpu_template t_bad_sub = {.cpuid = bad_sub, .nr_cpuid = 1};
	struct kvm_cpuid2 *c = supported();
	char err[256];

	(void)state;
	assert_int_equal(cpu_template_host_check(&t_ok, c, err, sizeof(err)), 0);
	assert_int_equal(cpu_template_host_check(&t_bad7, c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "The host CPU lacks CPUID leaf 0x7 subleaf 0x0 EBX bit 5, which the "
			    "snapshot's CPU template exposes");
	assert_int_equal(cpu_template_host_check(&t_bad_ext, c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "The host CPU lacks CPUID leaf 0x80000001 subleaf 0x0 EDX bit 2, "
				 "which the snapshot's CPU template exposes");
	assert_int_equal(cpu_template_host_check(&t_bad_sub, c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "The host CPU lacks CPUID leaf 0x7 subleaf 0x1 EBX bit 3, which the "
			    "snapshot's CPU template exposes");
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_host_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
