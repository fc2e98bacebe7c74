/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The narrow interface between the controller and the VM it drives: the
 * controller decides (rules, configuration), the implementation acts (the
 * KVM-backed VM in vmm/vmm.c, or a fake in the controller's unit tests).
 */
#ifndef EMBER_CONTROLLER_VMM_OPS_H
#define EMBER_CONTROLLER_VMM_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/config/params.h"
#include "vmm/config/vmm_config.h"

/* What the controller asks of the actual VM. Each returns 0 or -errno and,
 * on error, writes a user-facing detail into @err. */
struct vmm_ops {
	int (*start)(void *ctx, const struct vm_config *cfg, char *err, size_t errlen);
	int (*pause)(void *ctx, char *err, size_t errlen);
	int (*resume)(void *ctx, char *err, size_t errlen);
	int (*send_ctrl_alt_del)(void *ctx, char *err, size_t errlen);
	/* PATCH /drives: swap the backing file, then update the limiter (running VM). */
	int (*update_drive)(void *ctx, const struct drive_update *u, char *err, size_t errlen);
	/* PATCH /network-interfaces: update the rx/tx limiters (running VM). */
	int (*update_net)(void *ctx, const struct net_update *u, char *err, size_t errlen);
	/* PUT /snapshot/create of the paused VM configured as @cfg. */
	int (*create_snapshot)(void *ctx, const struct vm_config *cfg,
			       const struct snapshot_create_params *p, char *err, size_t errlen);
	/*
	 * PUT /snapshot/load: build the VM from the snapshot, paused. @cfg
	 * comes in as configured so far (serial, logger) and leaves with the
	 * snapshot's machine and device configuration.
	 */
	int (*load_snapshot)(void *ctx, const struct snapshot_load_params *p, struct vm_config *cfg,
			     char *err, size_t errlen);
	/*
	 * The running VM's balloon (-ENODEV: none). @err gets Firecracker's
	 * VmmError text ("Balloon: Device not activated yet.", ...), the
	 * controller adds the action's prefix. update: PATCH /balloon;
	 * update_stats: PATCH /balloon/statistics; stats: GET
	 * /balloon/statistics; hinting: start/stop a free page hinting run;
	 * hinting_status: GET /balloon/hinting/status.
	 */
	int (*balloon_update)(void *ctx, uint32_t amount_mib, char *err, size_t errlen);
	int (*balloon_update_stats)(void *ctx, uint16_t interval_s, char *err, size_t errlen);
	int (*balloon_stats)(void *ctx, struct balloon_stats *out, char *err, size_t errlen);
	int (*balloon_hinting)(void *ctx, enum balloon_hinting_op op, bool ack_on_stop, char *err,
			       size_t errlen);
	int (*balloon_hinting_status)(void *ctx, struct balloon_hinting_status *out, char *err,
				      size_t errlen);
	/* PATCH /pmem: update the flush rate limiter (running VM). */
	int (*update_pmem)(void *ctx, const struct pmem_update *u, char *err, size_t errlen);
	/*
	 * The running VM's virtio-mem device (-ENODEV: none). update: PATCH
	 * /hotplug/memory, @err gets Firecracker's VirtioMemError text; status:
	 * GET /hotplug/memory.
	 */
	int (*memory_hotplug_update)(void *ctx, uint64_t requested_mib, char *err, size_t errlen);
	int (*memory_hotplug_status)(void *ctx, struct memory_hotplug_status *out);
};

#endif
