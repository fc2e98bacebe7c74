/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PUT /pmem/{id} (pre-boot) and PATCH /pmem/{id} (post-boot): Firecracker
 * 1.16's PmemBuilder rules and fault messages. Like Firecracker, a PUT only
 * records the configuration (the file is opened and mapped at
 * InstanceStart); at most one device, pmem or drive, is the root device.
 * Called by controller_handle() once the pre-/post-boot rule has passed.
 */
#ifndef EMBER_CONTROLLER_PMEM_H
#define EMBER_CONTROLLER_PMEM_H

#include "vmm/controller/controller.h"

void controller_put_pmem(struct controller *c, const struct pmem_config *p,
			 struct vmm_response *resp);
void controller_patch_pmem(struct controller *c, const struct pmem_update *u,
			   struct vmm_response *resp);

/* A pmem device of @cfg is the root device (PUT /drives refuses a second root). */
bool controller_has_root_pmem(const struct vm_config *cfg);

#endif
