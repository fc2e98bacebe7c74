/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMM controller: the state machine every API request and config-file
 * entry goes through, on the VMM thread. It owns the pending vm_config before
 * boot, enforces Firecracker's pre-boot / post-boot rules and turns requests
 * into calls on struct vmm_ops (the real KVM-backed VM, or a fake in tests).
 * A refused request leaves the configuration exactly as it was.
 */
#ifndef EMBER_CONTROLLER_H
#define EMBER_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/config/vmm_config.h"
#include "vmm/controller/request.h"
#include "vmm/controller/vmm_ops.h"

struct mmds;

struct controller {
	struct vm_config cfg;
	enum vmm_state state;
	bool boot_path; /* a boot-specific resource was configured: no snapshot load */
	char instance_id[65];
	const struct vmm_ops *ops;
	void *ops_ctx;
	struct mmds *mmds; /* the VMM's MMDS (devices/mmds), set after controller_init() */
};

void controller_init(struct controller *c, const char *instance_id, const struct vmm_ops *ops,
		     void *ops_ctx);
void controller_destroy(struct controller *c);

/* Handle one request; always fills @resp (status 2xx or 400 + fault_message). */
void controller_handle(struct controller *c, const struct vmm_request *req,
		       struct vmm_response *resp);

/* Apply a PATCH limiter update to a configured limiter (Firecracker's bucket update rules). */
void rate_limiter_config_update(bool *has, struct rate_limiter_config *rl,
				const struct rate_limiter_config *update);

#endif
