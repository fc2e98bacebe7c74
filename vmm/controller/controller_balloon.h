/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The controller's balloon requests (PUT/PATCH/GET /balloon, /balloon/statistics,
 * /balloon/hinting/...), split out of controller.c: Firecracker's
 * BalloonBuilder rules before boot and its runtime balloon actions after,
 * with its fault messages. Called by controller_handle() once the pre-boot /
 * post-boot rule has passed; fills @resp and changes @c->cfg only on success.
 */
#ifndef EMBER_CONTROLLER_BALLOON_H
#define EMBER_CONTROLLER_BALLOON_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/controller/controller.h"

/* True for the request types controller_balloon() answers. */
bool controller_is_balloon_request(enum vmm_request_type type);

void controller_balloon(struct controller *c, const struct vmm_request *req,
			struct vmm_response *resp);

/*
 * Firecracker's IncompatibleBalloonSize: a machine configuration of
 * @mem_size_mib must still hold the configured balloon's target. False with
 * @resp filled when it does not.
 */
bool controller_balloon_fits(const struct controller *c, uint64_t mem_size_mib,
			     struct vmm_response *resp);

#endif
