/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The controller's MMDS requests (PUT/PATCH/GET /mmds, PUT /mmds/config),
 * split out of controller.c: Firecracker's data-store and MMDS config
 * rules and fault messages, applied to the VMM's struct mmds (c->mmds).
 * Called by controller_handle() once the pre-boot rule has passed.
 */
#ifndef EMBER_CONTROLLER_MMDS_H
#define EMBER_CONTROLLER_MMDS_H

#include <stdbool.h>

#include "vmm/controller/controller.h"

/* True for the request types controller_mmds() answers. */
bool controller_is_mmds_request(enum vmm_request_type type);

void controller_mmds(struct controller *c, const struct vmm_request *req,
		     struct vmm_response *resp);

#endif
