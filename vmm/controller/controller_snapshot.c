// SPDX-License-Identifier: Apache-2.0
#include "vmm/controller/controller_snapshot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "devices/mmds/mmds.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Firecracker's latencies_us metrics: the last value, as a store. */
static void store_latency(metric_t *m, uint64_t start_us)
{
	atomic_store_explicit(m, now_us() - start_us, memory_order_relaxed);
}

bool controller_configures_boot(enum vmm_request_type type)
{
	switch (type) {
	case REQ_PUT_MACHINE_CONFIG:
	case REQ_PATCH_MACHINE_CONFIG:
	case REQ_PUT_BOOT_SOURCE:
	case REQ_PUT_DRIVE:
	case REQ_PUT_NET:
	case REQ_PUT_VSOCK:
	case REQ_PUT_ENTROPY:
	case REQ_PUT_PMEM:
	case REQ_PUT_MMDS_CONFIG:
	case REQ_PUT_BALLOON:
	case REQ_PUT_MEMORY_HOTPLUG:
		return true;
	default:
		return false;
	}
}

void controller_create_snapshot(struct controller *c, const struct snapshot_create_params *p,
				struct vmm_response *resp)
{
	char err[FAULT_MESSAGE_MAX - 64] = "";
	uint64_t start = now_us();
	int ret;

	if (p->type == SNAPSHOT_DIFF && !c->cfg.machine.track_dirty_pages) {
		vmm_response_fail(resp, DIFF_NOT_ALLOWED);
		return;
	}
	if (c->state != VMM_PAUSED) {
		vmm_response_fail(resp, SAVE_WHILE_RUNNING);
		return;
	}
	ret = c->ops->create_snapshot(c->ops_ctx, &c->cfg, p, err, sizeof(err));
	if (ret) {
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(-ret));
		log_error("Failed to create the snapshot: %s", err);
		vmm_response_fail(resp, "Create snapshot error: %s", err);
		return;
	}
	store_latency(p->type == SNAPSHOT_DIFF ? &g_metrics.latencies_us.diff_create_snapshot
					       : &g_metrics.latencies_us.full_create_snapshot,
		      start);
	resp->status = 204;
}

/* The VM is built (paused); resume it if asked. */
static void resume_loaded(struct controller *c, struct vmm_response *resp)
{
	char err[FAULT_MESSAGE_MAX - 64] = "";
	int ret = c->ops->resume(c->ops_ctx, err, sizeof(err));

	if (ret) {
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(-ret));
		vmm_response_fail(resp, "Load snapshot error: Failed to resume microVM: %s", err);
		return;
	}
	c->state = VMM_RUNNING;
}

void controller_load_snapshot(struct controller *c, const struct snapshot_load_params *p,
			      struct vmm_response *resp)
{
	char err[FAULT_MESSAGE_MAX - 96] = "";
	uint64_t start = now_us();
	struct vm_config next;
	int ret;

	if (c->boot_path) {
		log_info("%s", LOAD_NOT_ALLOWED + strlen("Load snapshot error: "));
		vmm_response_fail(resp, LOAD_NOT_ALLOWED);
		return;
	}
	if (vm_config_copy(&next, &c->cfg)) {
		vmm_response_fail(resp, "Internal VMM error: %s (os error %d)", strerror(ENOMEM),
				  ENOMEM);
		return;
	}
	ret = c->ops->load_snapshot(c->ops_ctx, p, &next, err, sizeof(err));
	if (ret) {
		vm_config_free(&next);
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(-ret));
		log_error("Failed to restore from snapshot: %s", err);
		vmm_response_fail(resp, "Load snapshot error: Failed to restore from snapshot: %s",
				  err);
		return;
	}
	vm_config_free(&c->cfg);
	c->cfg = next;
	c->state = VMM_PAUSED;
	/* The restored MMDS's tokens are bound to this instance, as PUT /mmds/config does. */
	if (c->mmds && c->cfg.has_mmds_config &&
	    mmds_configure_from(c->mmds, &c->cfg.mmds_config, c->instance_id))
		log_warn("MMDS keeps its previous token binding: out of memory");
	resp->status = 204;
	if (p->resume_vm)
		resume_loaded(c, resp);
	store_latency(&g_metrics.latencies_us.load_snapshot, start);
	log_info("The microVM was restored from %s (%s).", p->snapshot_path,
		 vmm_state_name(c->state));
}
