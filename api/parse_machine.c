// SPDX-License-Identifier: Apache-2.0
/*
 * PUT and PATCH /machine-config, as Firecracker's MachineConfig and
 * MachineConfigUpdate: PUT requires vcpu_count and mem_size_mib and resets
 * everything else to its default; PATCH changes only what it names.
 * Ranges (vCPUs, memory) are the controller's to check, like Firecracker's
 * VmConfig::update, so both requests report them the same way.
 */
#include "api/api_parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Firecracker's StaticCpuTemplate variants on x86_64, in declaration order. */
static const char *const cpu_templates[] = {"C3", "T2", "T2S", "None", "T2CL", "T2A", NULL};
#define CPU_TEMPLATE_NONE 3

/* Indexed by enum huge_pages. */
static const char *const huge_pages_names[] = {"None", "2M", NULL};

enum { MC_VCPUS, MC_MEM, MC_SMT, MC_CPU_TEMPLATE, MC_DIRTY, MC_HUGE_PAGES, MC_NR };

static const struct jde_field machine_put_fields[] = {
    [MC_VCPUS] = JDE_FIELD("vcpu_count", JDE_U8, JDE_REQUIRED),
    [MC_MEM] = JDE_FIELD("mem_size_mib", JDE_USIZE, JDE_REQUIRED),
    [MC_SMT] = JDE_FIELD("smt", JDE_BOOL, JDE_DEFAULT),
    [MC_CPU_TEMPLATE] = JDE_ENUM_FIELD("cpu_template", JDE_OPTION, cpu_templates),
    [MC_DIRTY] = JDE_FIELD("track_dirty_pages", JDE_BOOL, JDE_DEFAULT),
    [MC_HUGE_PAGES] = JDE_ENUM_FIELD("huge_pages", JDE_DEFAULT, huge_pages_names),
};

static const struct jde_field machine_patch_fields[] = {
    [MC_VCPUS] = JDE_FIELD("vcpu_count", JDE_U8, JDE_OPTION),
    [MC_MEM] = JDE_FIELD("mem_size_mib", JDE_USIZE, JDE_OPTION),
    [MC_SMT] = JDE_FIELD("smt", JDE_BOOL, JDE_OPTION),
    [MC_CPU_TEMPLATE] = JDE_ENUM_FIELD("cpu_template", JDE_OPTION, cpu_templates),
    [MC_DIRTY] = JDE_FIELD("track_dirty_pages", JDE_BOOL, JDE_OPTION),
    [MC_HUGE_PAGES] = JDE_ENUM_FIELD("huge_pages", JDE_OPTION, huge_pages_names),
};

static const struct jde_struct machine_put_schema = {"MachineConfig", machine_put_fields, MC_NR,
						     false};
static const struct jde_struct machine_patch_schema = {"MachineConfigUpdate", machine_patch_fields,
						       MC_NR, false};

/*
 * The deprecated cpu_template field. In a PATCH (has_cpu_template) "None"
 * is NULL; a PUT keeps the name "None", since there NULL means the field was
 * left out, which keeps the template in effect (Firecracker's
 * MachineConfigUpdate::from(MachineConfig)).
 */
static int take_cpu_template(const struct jde_value *v, char **out, struct parse_info *info,
			     const char *what, bool keep_none)
{
	*out = NULL;
	if (!v->set)
		return 0;
	info->deprecated = true;
	snprintf(info->deprecation, sizeof(info->deprecation),
		 "%s: cpu_template field is deprecated.", what);
	if (v->e == CPU_TEMPLATE_NONE && !keep_none)
		return 0;
	*out = strdup(cpu_templates[v->e]);
	return *out ? 0 : -ENOMEM;
}

static int build_put(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
		     char *err, size_t errlen)
{
	struct machine_config *mc = &req->u.machine;

	(void)err;
	(void)errlen;
	req->type = REQ_PUT_MACHINE_CONFIG;
	mc->vcpu_count = (uint32_t)v[MC_VCPUS].u;
	mc->mem_size_mib = v[MC_MEM].u;
	mc->smt = v[MC_SMT].set && v[MC_SMT].b;
	mc->track_dirty_pages = v[MC_DIRTY].set && v[MC_DIRTY].b;
	mc->huge_pages =
	    v[MC_HUGE_PAGES].set ? (enum huge_pages)v[MC_HUGE_PAGES].e : HUGE_PAGES_NONE;
	return take_cpu_template(&v[MC_CPU_TEMPLATE], &mc->cpu_template, info,
				 "PUT /machine-config", true);
}

static int build_patch(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
		       char *err, size_t errlen)
{
	struct machine_config_patch *p = &req->u.machine_patch;
	bool any = false;

	req->type = REQ_PATCH_MACHINE_CONFIG;
	for (int i = 0; i < MC_NR; i++)
		any |= v[i].set;
	if (!any) {
		/* Firecracker answers a PATCH that changes nothing like a PATCH without body. */
		snprintf(err, errlen, "Empty PATCH request.");
		return -EINVAL;
	}
	p->has_vcpu_count = v[MC_VCPUS].set;
	p->mc.vcpu_count = (uint32_t)v[MC_VCPUS].u;
	p->has_mem_size_mib = v[MC_MEM].set;
	p->mc.mem_size_mib = v[MC_MEM].u;
	p->has_smt = v[MC_SMT].set;
	p->mc.smt = v[MC_SMT].b;
	p->has_track_dirty_pages = v[MC_DIRTY].set;
	p->mc.track_dirty_pages = v[MC_DIRTY].b;
	p->has_huge_pages = v[MC_HUGE_PAGES].set;
	p->mc.huge_pages = (enum huge_pages)v[MC_HUGE_PAGES].e;
	p->has_cpu_template = v[MC_CPU_TEMPLATE].set;
	return take_cpu_template(&v[MC_CPU_TEMPLATE], &p->mc.cpu_template, info,
				 "PATCH /machine-config", false);
}

const struct body_parser put_machine_config_parser = {
    &machine_put_schema,
    build_put,
    &g_metrics.put_api_requests.machine_cfg_count,
    &g_metrics.put_api_requests.machine_cfg_fails,
};

const struct body_parser patch_machine_config_parser = {
    &machine_patch_schema,
    build_patch,
    &g_metrics.patch_api_requests.machine_cfg_count,
    &g_metrics.patch_api_requests.machine_cfg_fails,
};
