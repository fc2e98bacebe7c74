// SPDX-License-Identifier: Apache-2.0
/*
 * CPU templates applied without KVM: bitmaps of 0, 1 and x on sample CPUID
 * entries and MSRs (new = (old & ~filter) | value), the entry's flags, the
 * first missing leaf/subleaf or MSR reported; the static templates' host
 * rules (vendor, then family/model/stepping, as Firecracker) and a sample of
 * their contents; deep copies of a template.
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
#include "vmm/kvm/static_templates.h"

#define NENT 4

static struct kvm_cpuid2 *sample_cpuid(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + NENT * sizeof(c->entries[0]));

	assert_non_null(c);
	c->nent = NENT;
	c->entries[0] =
	    (struct kvm_cpuid_entry2){.function = 1, .eax = 0xa00f11, .ecx = 0xffffffff};
	c->entries[1] = (struct kvm_cpuid_entry2){
	    .function = 7, .index = 0, .flags = 1, .ebx = 0x219c03ab, .edx = 0x10};
	c->entries[2] = (struct kvm_cpuid_entry2){
	    .function = 7, .index = 1, .flags = 1, .eax = 0x30, .ebx = 0x1};
	c->entries[3] = (struct kvm_cpuid_entry2){.function = 0x80000001, .ecx = 0x400393};
	return c;
}

static void test_apply_cpuid(void **state)
{
	/* eax: bits 3..0 = 1010 (0 and 1 set both ways), the rest x. */
	static const struct cpuid_reg_modifier leaf1[] = {
	    {CPUID_REG_EAX, 0xf, 0xa},
	    {CPUID_REG_ECX, 0x80000001, 0x1}, /* clear bit 31, set bit 0 (already set) */
	};
	static const struct cpuid_reg_modifier leaf7[] = {
	    {CPUID_REG_EBX, 0x20, 0x0}, /* AVX2 off */
	    {CPUID_REG_EDX, 0x3, 0x3},
	    {CPUID_REG_EBX, 0x1, 0x0}, /* a register twice: both apply, in order */
	};
	static const struct cpuid_leaf_modifier leaves[] = {
	    {1, 0, 0, leaf1, 2},
	    {7, 0, 0, leaf7, 3}, /* flags become 0 */
	    {7, 1, 1, NULL, 0},	 /* no register: only the flags */
	};
	const struct cpu_template t = {.cpuid = leaves, .nr_cpuid = 3};
	struct kvm_cpuid2 *c = sample_cpuid();
	uint32_t leaf = 0, sub = 0;

	(void)state;
	assert_int_equal(cpu_template_apply_cpuid(c, &t, &leaf, &sub), 0);
	assert_int_equal(c->entries[0].eax, 0xa00f1a);
	assert_int_equal(c->entries[0].ecx, 0x7fffffff);
	assert_int_equal(c->entries[1].ebx, 0x219c038a);
	assert_int_equal(c->entries[1].edx, 0x13);
	assert_int_equal(c->entries[1].flags, 0);
	assert_int_equal(c->entries[2].flags, 1);
	assert_int_equal(c->entries[2].eax, 0x30); /* untouched */
	assert_int_equal(c->entries[3].ecx, 0x400393);
	free(c);
}

static void test_apply_cpuid_missing(void **state)
{
	static const struct cpuid_leaf_modifier leaves[] = {
	    {0x80000001, 0, 0, NULL, 0},
	    {7, 2, 0, NULL, 0}, /* subleaf 2 is not there: an exact match is needed */
	    {0x1f, 1, 0, NULL, 0},
	};
	const struct cpu_template t = {.cpuid = leaves, .nr_cpuid = 3};
	struct kvm_cpuid2 *c = sample_cpuid();
	uint32_t leaf = 0, sub = 0;

	(void)state;
	assert_int_equal(cpu_template_apply_cpuid(c, &t, &leaf, &sub), -ENOENT);
	assert_int_equal(leaf, 7);
	assert_int_equal(sub, 2);
	free(c);
}

static void test_apply_msrs(void **state)
{
	static const struct msr_modifier mods[] = {
	    {0x10a, 0xffffffffffffffffULL, 0xc0a0c4cULL},
	    {0xc0000103, 0xf0, 0x50},
	};
	const struct cpu_template t = {.msrs = mods, .nr_msrs = 2};
	struct kvm_msr_entry msrs[2] = {{.index = 0xc0000103, .data = 0xffffffffffffffffULL},
					{.index = 0x10a, .data = 0x123}};
	uint32_t addr = 0;

	(void)state;
	assert_int_equal(cpu_template_apply_msrs(msrs, 2, &t, &addr), 0);
	assert_true(msrs[0].data == 0xffffffffffffff5fULL);
	assert_true(msrs[1].data == 0xc0a0c4cULL);
	/* The MSR KVM did not return is named. */
	assert_int_equal(cpu_template_apply_msrs(msrs, 1, &t, &addr), -ENOENT);
	assert_int_equal(addr, 0x10a);
}

#define SKYLAKE 0x00050654
#define CASCADE 0x00050657
#define ICE	0x000606a6
#define MILAN	0x00a00f11

static void test_static_vendor_rules(void **state)
{
	const char *why = NULL;

	(void)state;
	/* Intel templates on Intel models Firecracker allows; processor type bits ignored. */
	assert_non_null(static_template_for_host("T2", "GenuineIntel", SKYLAKE | 0x3000, &why));
	assert_non_null(static_template_for_host("T2", "GenuineIntel", ICE, &why));
	assert_non_null(static_template_for_host("C3", "GenuineIntel", CASCADE, &why));
	assert_non_null(static_template_for_host("T2S", "GenuineIntel", SKYLAKE, &why));
	assert_non_null(static_template_for_host("T2CL", "GenuineIntel", ICE, &why));
	assert_non_null(static_template_for_host("T2A", "AuthenticAMD", MILAN, &why));
	/* The vendor first. */
	assert_null(static_template_for_host("T2", "AuthenticAMD", MILAN, &why));
	assert_string_equal(why, "CPU vendor mismatched between actual CPU and CPU template.");
	assert_null(static_template_for_host("T2A", "GenuineIntel", MILAN, &why));
	assert_string_equal(why, "CPU vendor mismatched between actual CPU and CPU template.");
	assert_null(static_template_for_host("C3", "HygonGenuine", MILAN, &why));
	assert_string_equal(why, "CPU vendor mismatched between actual CPU and CPU template.");
	/* Then the model. */
	why = NULL;
	assert_null(static_template_for_host("T2S", "GenuineIntel", ICE, &why));
	assert_string_equal(why,
			    "The current CPU model is not permitted to apply the CPU template.");
	assert_null(static_template_for_host("T2CL", "GenuineIntel", SKYLAKE, &why));
	assert_string_equal(why,
			    "The current CPU model is not permitted to apply the CPU template.");
	assert_null(static_template_for_host("T2A", "AuthenticAMD", 0x00a10f11, &why)); /* Genoa */
	assert_string_equal(why,
			    "The current CPU model is not permitted to apply the CPU template.");
	/* Names: "None" (Firecracker's InvalidStaticCpuTemplate) and anything else. */
	assert_null(static_template_for_host("None", "GenuineIntel", SKYLAKE, &why));
	assert_string_equal(why, "Invalid static CPU template: None");
	assert_null(static_template_for_host("T3", "GenuineIntel", SKYLAKE, &why));
	assert_string_equal(why, "Invalid static CPU template");
}

static void test_static_contents(void **state)
{
	const char *why = NULL;
	const struct cpu_template *t;

	(void)state;
	/* T2: CPUID only, leaf 1 EAX pinned to family 6 model 0x3f stepping 2. */
	t = static_template_for_host("T2", "GenuineIntel", SKYLAKE, &why);
	assert_int_equal(t->nr_msrs, 0);
	assert_int_equal(t->nr_cpuid, 6);
	assert_int_equal(t->cpuid[0].leaf, 1);
	assert_int_equal(t->cpuid[0].mods[0].reg, CPUID_REG_EAX);
	assert_int_equal(t->cpuid[0].mods[0].filter, 0x0fff3fff);
	assert_int_equal(t->cpuid[0].mods[0].value, 0x000306f2);
	/* T2S and T2CL set IA32_ARCH_CAPABILITIES (0x10a). */
	t = static_template_for_host("T2S", "GenuineIntel", SKYLAKE, &why);
	assert_int_equal(t->nr_msrs, 1);
	assert_int_equal(t->msrs[0].addr, 0x10a);
	assert_true(t->msrs[0].filter == 0xffffffffffffffffULL);
	assert_true(t->msrs[0].value == 0xc0a0c4cULL);
	t = static_template_for_host("T2CL", "GenuineIntel", CASCADE, &why);
	assert_int_equal(t->nr_msrs, 1);
	assert_int_equal(t->msrs[0].addr, 0x10a);
	t = static_template_for_host("C3", "GenuineIntel", CASCADE, &why);
	assert_int_equal(t->nr_cpuid, 5);
	assert_int_equal(t->nr_msrs, 0);
	/* T2A: leaf 7 subleaf 0 with KVM_CPUID_FLAG_SIGNIFCANT_INDEX. */
	t = static_template_for_host("T2A", "AuthenticAMD", MILAN, &why);
	assert_int_equal(t->nr_cpuid, 6);
	assert_int_equal(t->cpuid[1].leaf, 7);
	assert_int_equal(t->cpuid[1].flags, 1);
}

static void test_dup(void **state)
{
	static const struct kvm_cap_modifier caps[] = {{33, false}, {56, true}};
	static const struct cpuid_reg_modifier regs[] = {{CPUID_REG_EDX, 1, 0}};
	static const struct cpuid_leaf_modifier leaves[] = {{1, 0, 0, regs, 1}, {2, 0, 0, NULL, 0}};
	static const struct msr_modifier msrs[] = {{0x10a, 1, 1}};
	const struct cpu_template t = {caps, 2, leaves, 2, msrs, 1};
	struct cpu_template *d = cpu_template_dup(&t);

	(void)state;
	assert_non_null(d);
	assert_ptr_not_equal(d->cpuid, t.cpuid);
	assert_ptr_not_equal(d->cpuid[0].mods, regs);
	assert_int_equal(d->nr_kvm_caps, 2);
	assert_true(d->kvm_caps[1].remove);
	assert_int_equal(d->cpuid[0].mods[0].reg, CPUID_REG_EDX);
	assert_null(d->cpuid[1].mods);
	assert_int_equal(d->msrs[0].addr, 0x10a);
	cpu_template_free(d);
	cpu_template_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_apply_cpuid),	    cmocka_unit_test(test_apply_cpuid_missing),
	    cmocka_unit_test(test_apply_msrs),	    cmocka_unit_test(test_static_vendor_rules),
	    cmocka_unit_test(test_static_contents), cmocka_unit_test(test_dup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
