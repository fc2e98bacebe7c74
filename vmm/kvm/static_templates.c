// SPDX-License-Identifier: Apache-2.0
/*
 * Firecracker's static CPU templates (x86_64), as data: the modifiers of its
 * src/vmm/src/cpu_config/x86_64/static_cpu_templates/{t2,t2s,t2cl,c3,t2a}.rs
 * (the same as its tests/data/custom_cpu_templates/<NAME>.json, which its
 * verify_consistency_with_json_templates test checks), each bitmap written
 * as the filter (bits the template sets) and their values.
 */
#include "vmm/kvm/static_templates.h"

#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- T2 ---- */

static const struct cpuid_reg_modifier t2_leaf0[] = {
    {CPUID_REG_EAX, 0x0fff3fff, 0x000306f2},
    {CPUID_REG_ECX, 0x0004cdfc, 0x00000000},
    {CPUID_REG_EDX, 0xe8641080, 0x00001080},
};

static const struct cpuid_reg_modifier t2_leaf1[] = {
    {CPUID_REG_EBX, 0xffefda14, 0x00000200},
    {CPUID_REG_ECX, 0x40415f5e, 0x00000000},
    {CPUID_REG_EDX, 0x0000011c, 0x00000000},
};

static const struct cpuid_reg_modifier t2_leaf2[] = {
    {CPUID_REG_EAX, 0x000002f8, 0x00000000},
};

static const struct cpuid_reg_modifier t2_leaf3[] = {
    {CPUID_REG_EAX, 0x0000000e, 0x00000000},
};

static const struct cpuid_reg_modifier t2_leaf4[] = {
    {CPUID_REG_ECX, 0x20000100, 0x00000000},
    {CPUID_REG_EDX, 0x04000000, 0x00000000},
};

static const struct cpuid_reg_modifier t2_leaf5[] = {
    {CPUID_REG_EBX, 0x00000200, 0x00000000},
};

static const struct cpuid_leaf_modifier t2_cpuid[] = {
    {0x1, 0x0, 0, t2_leaf0, ARRAY_SIZE(t2_leaf0)},
    {0x7, 0x0, 1, t2_leaf1, ARRAY_SIZE(t2_leaf1)},
    {0xd, 0x0, 1, t2_leaf2, ARRAY_SIZE(t2_leaf2)},
    {0xd, 0x1, 1, t2_leaf3, ARRAY_SIZE(t2_leaf3)},
    {0x80000001, 0x0, 0, t2_leaf4, ARRAY_SIZE(t2_leaf4)},
    {0x80000008, 0x0, 0, t2_leaf5, ARRAY_SIZE(t2_leaf5)},
};

/* ---- T2S ---- */

static const struct cpuid_reg_modifier t2s_leaf0[] = {
    {CPUID_REG_EAX, 0x0fff3fff, 0x000306f2},
    {CPUID_REG_ECX, 0x0004cdfc, 0x00000000},
    {CPUID_REG_EDX, 0xe8641080, 0x00001080},
};

static const struct cpuid_reg_modifier t2s_leaf1[] = {
    {CPUID_REG_EBX, 0xffefda14, 0x00000200},
    {CPUID_REG_ECX, 0x40415f5e, 0x00000000},
    {CPUID_REG_EDX, 0x0000011c, 0x00000000},
};

static const struct cpuid_reg_modifier t2s_leaf2[] = {
    {CPUID_REG_EAX, 0x000002f8, 0x00000000},
};

static const struct cpuid_reg_modifier t2s_leaf3[] = {
    {CPUID_REG_EAX, 0x0000000e, 0x00000000},
};

static const struct cpuid_reg_modifier t2s_leaf4[] = {
    {CPUID_REG_ECX, 0x20000100, 0x00000000},
    {CPUID_REG_EDX, 0x04000000, 0x00000000},
};

static const struct cpuid_reg_modifier t2s_leaf5[] = {
    {CPUID_REG_EBX, 0x00000200, 0x00000000},
};

static const struct cpuid_leaf_modifier t2s_cpuid[] = {
    {0x1, 0x0, 0, t2s_leaf0, ARRAY_SIZE(t2s_leaf0)},
    {0x7, 0x0, 1, t2s_leaf1, ARRAY_SIZE(t2s_leaf1)},
    {0xd, 0x0, 1, t2s_leaf2, ARRAY_SIZE(t2s_leaf2)},
    {0xd, 0x1, 1, t2s_leaf3, ARRAY_SIZE(t2s_leaf3)},
    {0x80000001, 0x0, 0, t2s_leaf4, ARRAY_SIZE(t2s_leaf4)},
    {0x80000008, 0x0, 0, t2s_leaf5, ARRAY_SIZE(t2s_leaf5)},
};

static const struct msr_modifier t2s_msrs[] = {
    {0x10a, 0xffffffffffffffffULL, 0x000000000c0a0c4cULL},
};

/* ---- T2CL ---- */

static const struct cpuid_reg_modifier t2cl_leaf0[] = {
    {CPUID_REG_EAX, 0x0fff3fff, 0x000306f2},
    {CPUID_REG_ECX, 0x0004cdfc, 0x00000000},
    {CPUID_REG_EDX, 0xe8641080, 0x00001080},
};

static const struct cpuid_reg_modifier t2cl_leaf1[] = {
    {CPUID_REG_EBX, 0xffefda14, 0x00000200},
    {CPUID_REG_ECX, 0x40415f5e, 0x00000000},
    {CPUID_REG_EDX, 0x0000011c, 0x00000000},
};

static const struct cpuid_reg_modifier t2cl_leaf2[] = {
    {CPUID_REG_EAX, 0x000002f8, 0x00000000},
};

static const struct cpuid_reg_modifier t2cl_leaf3[] = {
    {CPUID_REG_EAX, 0x0000000e, 0x00000000},
};

static const struct cpuid_reg_modifier t2cl_leaf4[] = {
    {CPUID_REG_ECX, 0x200001c0, 0x00000000},
    {CPUID_REG_EDX, 0x07c00000, 0x00000000},
};

static const struct cpuid_reg_modifier t2cl_leaf5[] = {
    {CPUID_REG_EBX, 0x00000200, 0x00000000},
};

static const struct cpuid_leaf_modifier t2cl_cpuid[] = {
    {0x1, 0x0, 0, t2cl_leaf0, ARRAY_SIZE(t2cl_leaf0)},
    {0x7, 0x0, 1, t2cl_leaf1, ARRAY_SIZE(t2cl_leaf1)},
    {0xd, 0x0, 1, t2cl_leaf2, ARRAY_SIZE(t2cl_leaf2)},
    {0xd, 0x1, 1, t2cl_leaf3, ARRAY_SIZE(t2cl_leaf3)},
    {0x80000001, 0x0, 0, t2cl_leaf4, ARRAY_SIZE(t2cl_leaf4)},
    {0x80000008, 0x0, 0, t2cl_leaf5, ARRAY_SIZE(t2cl_leaf5)},
};

static const struct msr_modifier t2cl_msrs[] = {
    {0x10a, 0xffffffffe2f51e00ULL, 0x0000000000000000ULL},
};

/* ---- C3 ---- */

static const struct cpuid_reg_modifier c3_leaf0[] = {
    {CPUID_REG_EAX, 0x0fff3fff, 0x000306e4},
    {CPUID_REG_ECX, 0x0040dd3c, 0x00000000},
    {CPUID_REG_EDX, 0xa8641080, 0x00001080},
};

static const struct cpuid_reg_modifier c3_leaf1[] = {
    {CPUID_REG_EBX, 0xffafdd3c, 0x00000000},
    {CPUID_REG_ECX, 0x4041481e, 0x00000000},
    {CPUID_REG_EDX, 0x0000000c, 0x00000000},
};

static const struct cpuid_reg_modifier c3_leaf2[] = {
    {CPUID_REG_EAX, 0x000002f8, 0x00000000},
};

static const struct cpuid_reg_modifier c3_leaf3[] = {
    {CPUID_REG_EAX, 0x0000000e, 0x00000000},
};

static const struct cpuid_reg_modifier c3_leaf4[] = {
    {CPUID_REG_ECX, 0x00000120, 0x00000000},
    {CPUID_REG_EDX, 0x04000000, 0x00000000},
};

static const struct cpuid_leaf_modifier c3_cpuid[] = {
    {0x1, 0x0, 0, c3_leaf0, ARRAY_SIZE(c3_leaf0)},
    {0x7, 0x0, 1, c3_leaf1, ARRAY_SIZE(c3_leaf1)},
    {0xd, 0x0, 1, c3_leaf2, ARRAY_SIZE(c3_leaf2)},
    {0xd, 0x1, 1, c3_leaf3, ARRAY_SIZE(c3_leaf3)},
    {0x80000001, 0x0, 0, c3_leaf4, ARRAY_SIZE(c3_leaf4)},
};

/* ---- T2A ---- */

static const struct cpuid_reg_modifier t2a_leaf0[] = {
    {CPUID_REG_EAX, 0x0fff3fff, 0x000306f2},
    {CPUID_REG_ECX, 0x0004cdfc, 0x00000000},
    {CPUID_REG_EDX, 0xe8641080, 0x00001080},
};

static const struct cpuid_reg_modifier t2a_leaf1[] = {
    {CPUID_REG_EBX, 0xffefda14, 0x00000200},
    {CPUID_REG_ECX, 0x40415f5e, 0x00000000},
    {CPUID_REG_EDX, 0x0000011c, 0x00000000},
};

static const struct cpuid_reg_modifier t2a_leaf2[] = {
    {CPUID_REG_EAX, 0x000002f8, 0x00000000},
};

static const struct cpuid_reg_modifier t2a_leaf3[] = {
    {CPUID_REG_EAX, 0x0000000e, 0x00000000},
};

static const struct cpuid_reg_modifier t2a_leaf4[] = {
    {CPUID_REG_ECX, 0x200001c4, 0x00000000},
    {CPUID_REG_EDX, 0x06400000, 0x00000000},
};

static const struct cpuid_reg_modifier t2a_leaf5[] = {
    {CPUID_REG_EBX, 0x001c0205, 0x001c0004},
};

static const struct cpuid_leaf_modifier t2a_cpuid[] = {
    {0x1, 0x0, 0, t2a_leaf0, ARRAY_SIZE(t2a_leaf0)},
    {0x7, 0x0, 1, t2a_leaf1, ARRAY_SIZE(t2a_leaf1)},
    {0xd, 0x0, 1, t2a_leaf2, ARRAY_SIZE(t2a_leaf2)},
    {0xd, 0x1, 1, t2a_leaf3, ARRAY_SIZE(t2a_leaf3)},
    {0x80000001, 0x0, 0, t2a_leaf4, ARRAY_SIZE(t2a_leaf4)},
    {0x80000008, 0x0, 0, t2a_leaf5, ARRAY_SIZE(t2a_leaf5)},
};

/* Indexed by enum static_template. */
static const struct cpu_template templates[] = {
    [STATIC_T2] = {.cpuid = t2_cpuid, .nr_cpuid = ARRAY_SIZE(t2_cpuid)},
    [STATIC_T2S] = {.cpuid = t2s_cpuid,
		    .nr_cpuid = ARRAY_SIZE(t2s_cpuid),
		    .msrs = t2s_msrs,
		    .nr_msrs = ARRAY_SIZE(t2s_msrs)},
    [STATIC_T2CL] = {.cpuid = t2cl_cpuid,
		     .nr_cpuid = ARRAY_SIZE(t2cl_cpuid),
		     .msrs = t2cl_msrs,
		     .nr_msrs = ARRAY_SIZE(t2cl_msrs)},
    [STATIC_C3] = {.cpuid = c3_cpuid, .nr_cpuid = ARRAY_SIZE(c3_cpuid)},
    [STATIC_T2A] = {.cpuid = t2a_cpuid, .nr_cpuid = ARRAY_SIZE(t2a_cpuid)},
};

static const char *const names[STATIC_NR] = {
    [STATIC_T2] = "T2", [STATIC_T2S] = "T2S", [STATIC_T2CL] = "T2CL",
    [STATIC_C3] = "C3", [STATIC_T2A] = "T2A",
};

/* Firecracker's CpuModel values, as CPUID leaf 1 EAX (reserved bits clear). */
#define SKYLAKE_EAX	 0x00050654
#define CASCADE_LAKE_EAX 0x00050657
#define ICE_LAKE_EAX	 0x000606a6
#define MILAN_EAX	 0x00a00f11
/* Extended family, extended model, family, model, stepping: what CpuModel compares. */
#define FMS_MASK 0x0fff0fff

static const struct {
	const char *vendor;
	uint32_t models[3]; /* 0 ends the list */
} allowed[STATIC_NR] = {
    [STATIC_T2] = {"GenuineIntel", {SKYLAKE_EAX, CASCADE_LAKE_EAX, ICE_LAKE_EAX}},
    [STATIC_T2S] = {"GenuineIntel", {SKYLAKE_EAX, CASCADE_LAKE_EAX, 0}},
    [STATIC_T2CL] = {"GenuineIntel", {CASCADE_LAKE_EAX, ICE_LAKE_EAX, 0}},
    [STATIC_C3] = {"GenuineIntel", {SKYLAKE_EAX, CASCADE_LAKE_EAX, ICE_LAKE_EAX}},
    [STATIC_T2A] = {"AuthenticAMD", {MILAN_EAX, 0, 0}},
};

const struct cpu_template *static_template_for_host(const char *name, const char vendor[12],
						    uint32_t leaf1_eax, const char **why)
{
	for (int t = 0; t < STATIC_NR; t++) {
		if (strcmp(name, names[t]))
			continue;
		if (memcmp(vendor, allowed[t].vendor, 12)) {
			*why = CPU_TEMPLATE_VENDOR_MISMATCH;
			return NULL;
		}
		for (int m = 0; m < 3 && allowed[t].models[m]; m++)
			if ((leaf1_eax & FMS_MASK) == allowed[t].models[m])
				return &templates[t];
		*why = CPU_TEMPLATE_BAD_MODEL;
		return NULL;
	}
	/* Firecracker's text for "None"; other names come only from a hostile snapshot. */
	*why = strcmp(name, "None") ? "Invalid static CPU template"
				    : "Invalid static CPU template: None";
	return NULL;
}
