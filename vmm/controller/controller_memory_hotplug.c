// SPDX-License-Identifier: Apache-2.0
/*
 * The memory-hotplug (virtio-mem) configuration: Firecracker's
 * VmResources::set_memory_hotplug_config() before boot, and its runtime
 * actions after (UpdateMemoryHotplugSize, GetMemoryHotplugStatus) on the
 * running VM's device, with its texts.
 */
#include "vmm/controller/controller_memory_hotplug.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define HOTPLUG_CONFIG_ERR "Memory hotplug config error: "
#define DEVICE_NOT_FOUND   "Failed perform action on device: Device not found"

bool controller_is_memory_hotplug_request(enum vmm_request_type type)
{
	return type == REQ_PUT_MEMORY_HOTPLUG || type == REQ_PATCH_MEMORY_HOTPLUG ||
	       type == REQ_GET_MEMORY_HOTPLUG;
}

static bool is_power_of_two(uint64_t v)
{
	return v && !(v & (v - 1));
}

int memory_hotplug_config_check(const struct memory_hotplug_config *m, char *err, size_t errlen)
{
	if (m->block_size_mib < MEMORY_HOTPLUG_DEFAULT_BLOCK_MIB)
		snprintf(err, errlen, "Block size must not be lower than %d MiB",
			 MEMORY_HOTPLUG_DEFAULT_BLOCK_MIB);
	else if (!is_power_of_two(m->block_size_mib))
		snprintf(err, errlen, "Block size must be a power of 2");
	else if (m->slot_size_mib < MEMORY_HOTPLUG_DEFAULT_SLOT_MIB)
		snprintf(err, errlen, "Slot size must not be lower than %d MiB",
			 MEMORY_HOTPLUG_DEFAULT_SLOT_MIB);
	else if (m->slot_size_mib % m->block_size_mib)
		snprintf(err, errlen,
			 "Slot size must be a multiple of block size (%" PRIu64 " MiB)",
			 m->block_size_mib);
	else if (m->total_size_mib < m->slot_size_mib)
		snprintf(err, errlen,
			 "Total size must not be lower than slot size (%" PRIu64 " MiB)",
			 m->slot_size_mib);
	else if (m->total_size_mib % m->slot_size_mib)
		snprintf(err, errlen,
			 "Total size must be a multiple of slot size (%" PRIu64 " MiB)",
			 m->slot_size_mib);
	else if (m->total_size_mib > MEMORY_HOTPLUG_MAX_TOTAL_MIB)
		snprintf(err, errlen, "Total size must not be greater than %llu MiB",
			 MEMORY_HOTPLUG_MAX_TOTAL_MIB);
	else
		return 0;
	return -EINVAL;
}

static void put_memory_hotplug(struct controller *c, const struct memory_hotplug_config *m,
			       struct vmm_response *resp)
{
	char err[FAULT_MESSAGE_MAX / 2];

	if (memory_hotplug_config_check(m, err, sizeof(err))) {
		vmm_response_fail(resp, HOTPLUG_CONFIG_ERR "%s", err);
		return;
	}
	c->cfg.memory_hotplug = *m;
	c->cfg.has_memory_hotplug = true;
	vmm_response_ok(resp);
}

static void patch_memory_hotplug(struct controller *c, uint64_t requested_mib,
				 struct vmm_response *resp)
{
	char err[FAULT_MESSAGE_MAX / 2] = "";
	int ret = c->ops->memory_hotplug_update
		      ? c->ops->memory_hotplug_update(c->ops_ctx, requested_mib, err, sizeof(err))
		      : -ENODEV;

	if (ret == -ENODEV) /* Firecracker's MemoryHotplugUpdate(FindDeviceError) */
		snprintf(err, sizeof(err), DEVICE_NOT_FOUND);
	else if (ret && !err[0])
		snprintf(err, sizeof(err), "%s", strerror(-ret));
	if (ret)
		vmm_response_fail(resp, "Memory hotplug update error: %s", err);
	else
		vmm_response_ok(resp);
}

static void get_memory_hotplug(struct controller *c, struct vmm_response *resp)
{
	/* Firecracker's InternalVmm(FindDeviceError) without a device. */
	if (!c->ops->memory_hotplug_status ||
	    c->ops->memory_hotplug_status(c->ops_ctx, &resp->memory_hotplug)) {
		vmm_response_fail(resp, "Internal VMM error: " DEVICE_NOT_FOUND);
		return;
	}
	resp->status = 200;
}

void controller_memory_hotplug(struct controller *c, const struct vmm_request *req,
			       struct vmm_response *resp)
{
	switch (req->type) {
	case REQ_PUT_MEMORY_HOTPLUG:
		put_memory_hotplug(c, &req->u.memory_hotplug, resp);
		return;
	case REQ_PATCH_MEMORY_HOTPLUG:
		patch_memory_hotplug(c, req->u.memory_hotplug_requested_mib, resp);
		return;
	default:
		get_memory_hotplug(c, resp);
		return;
	}
}
