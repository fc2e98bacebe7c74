// SPDX-License-Identifier: Apache-2.0
/*
 * PUT and PATCH /hotplug/memory: Firecracker 1.16's MemoryHotplugConfig
 * (block_size_mib defaults to 2, slot_size_mib to 128) and
 * MemoryHotplugSizeUpdate. The size rules (power of two, multiples, the
 * bound that keeps MiB -> bytes from wrapping) are the controller's, as in
 * Firecracker's VmResources, so config-file entries get the same answers.
 */
#include "api/api_parse.h"

enum { MH_TOTAL, MH_BLOCK, MH_SLOT, MH_NR };

static const struct jde_field hotplug_fields[] = {
    [MH_TOTAL] = JDE_FIELD("total_size_mib", JDE_USIZE, JDE_REQUIRED),
    [MH_BLOCK] = JDE_FIELD("block_size_mib", JDE_USIZE, JDE_DEFAULT),
    [MH_SLOT] = JDE_FIELD("slot_size_mib", JDE_USIZE, JDE_DEFAULT),
};

static const struct jde_struct hotplug_schema = {"MemoryHotplugConfig", hotplug_fields, MH_NR,
						 false};

enum { MU_REQUESTED, MU_NR };

static const struct jde_field hotplug_update_fields[] = {
    [MU_REQUESTED] = JDE_FIELD("requested_size_mib", JDE_USIZE, JDE_REQUIRED),
};

static const struct jde_struct hotplug_update_schema = {"MemoryHotplugSizeUpdate",
							hotplug_update_fields, MU_NR, false};

static int build_put(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
		     char *err, size_t errlen)
{
	struct memory_hotplug_config *m = &req->u.memory_hotplug;

	(void)info;
	(void)err;
	(void)errlen;
	req->type = REQ_PUT_MEMORY_HOTPLUG;
	m->total_size_mib = v[MH_TOTAL].u;
	m->block_size_mib = v[MH_BLOCK].set ? v[MH_BLOCK].u : MEMORY_HOTPLUG_DEFAULT_BLOCK_MIB;
	m->slot_size_mib = v[MH_SLOT].set ? v[MH_SLOT].u : MEMORY_HOTPLUG_DEFAULT_SLOT_MIB;
	return 0;
}

static int build_patch(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
		       char *err, size_t errlen)
{
	(void)info;
	(void)err;
	(void)errlen;
	req->type = REQ_PATCH_MEMORY_HOTPLUG;
	req->u.memory_hotplug_requested_mib = v[MU_REQUESTED].u;
	return 0;
}

const struct body_parser put_memory_hotplug_parser = {
    &hotplug_schema,
    build_put,
    &g_metrics.put_api_requests.hotplug_memory_count,
    &g_metrics.put_api_requests.hotplug_memory_fails,
};

const struct body_parser patch_memory_hotplug_parser = {
    &hotplug_update_schema,
    build_patch,
    &g_metrics.patch_api_requests.hotplug_memory_count,
    &g_metrics.patch_api_requests.hotplug_memory_fails,
};
