/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The controller's snapshot requests, split out of controller.c, with
 * Firecracker's rules and messages:
 *  - create: only after boot (the generic post-boot rule), a Diff only with
 *    dirty page tracking on, and only while Paused;
 *  - load: only before boot (the generic pre-boot rule) and only in a fresh
 *    process: any boot-specific configuration before it (boot source,
 *    machine config, drives, network interfaces, vsock, entropy; not the
 *    logger, metrics or serial) refuses it. The restored VM is Paused, or
 *    Running with resume_vm.
 */
#ifndef EMBER_CONTROLLER_SNAPSHOT_H
#define EMBER_CONTROLLER_SNAPSHOT_H

#include "vmm/controller/controller.h"

#define LOAD_NOT_ALLOWED                                                                           \
	"Load snapshot error: Loading a microVM snapshot not allowed after configuring "           \
	"boot-specific resources."
#define DIFF_NOT_ALLOWED                                                                           \
	"The requested operation is not supported: Diff snapshots are not allowed on uVMs "        \
	"with dirty page tracking disabled."
#define SAVE_WHILE_RUNNING                                                                         \
	"Create snapshot error: Cannot save the microVM state: Operation not allowed: "            \
	"save/restore unavailable while running"

/* Whether a pre-boot request of @type configures a boot-specific resource. */
bool controller_configures_boot(enum vmm_request_type type);

void controller_create_snapshot(struct controller *c, const struct snapshot_create_params *p,
				struct vmm_response *resp);
void controller_load_snapshot(struct controller *c, const struct snapshot_load_params *p,
			      struct vmm_response *resp);

#endif
