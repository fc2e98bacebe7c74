/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PUT /hotplug/memory (pre-boot), PATCH and GET /hotplug/memory (post-boot):
 * Firecracker 1.16's MemoryHotplugConfig::validate() rules and texts, and
 * its runtime actions on the virtio-mem device. Called by
 * controller_handle() once the pre-boot / post-boot rule has passed; fills
 * @resp and changes @c->cfg only on success.
 */
#ifndef EMBER_CONTROLLER_MEMORY_HOTPLUG_H
#define EMBER_CONTROLLER_MEMORY_HOTPLUG_H

#include <stdbool.h>

#include "vmm/controller/controller.h"

/*
 * Ember's bound on total_size_mib (1 TiB): Firecracker has none in validate()
 * and fails later, placing the region; here MiB -> bytes never wraps and the
 * region fits the guest's physical address space.
 */
#define MEMORY_HOTPLUG_MAX_TOTAL_MIB (1ULL << 20)

/* True for the request types controller_memory_hotplug() answers. */
bool controller_is_memory_hotplug_request(enum vmm_request_type type);

void controller_memory_hotplug(struct controller *c, const struct vmm_request *req,
			       struct vmm_response *resp);

/*
 * Firecracker's MemoryHotplugConfig::validate() then Ember's bound: 0, or
 * -EINVAL with the text after "Memory hotplug config error: " in @err.
 */
int memory_hotplug_config_check(const struct memory_hotplug_config *m, char *err, size_t errlen);

#endif
