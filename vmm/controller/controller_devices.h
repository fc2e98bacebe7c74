/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The controller's device requests (drives, network interfaces, vsock,
 * entropy), split out of controller.c. Called by controller_handle() once the
 * pre-boot / post-boot rule has passed; each fills @resp (204, or 400 with
 * Firecracker's fault message) and changes @c->cfg only on success.
 *
 * Like Firecracker, a PUT checks the host resources it names right away: the
 * drive's backing file is opened (read-write unless read-only, and an
 * io_uring is set up for Async), the tap is opened, the vsock Unix socket
 * path is bound. These are checks only: the VMM opens them again at
 * InstanceStart.
 */
#ifndef EMBER_CONTROLLER_DEVICES_H
#define EMBER_CONTROLLER_DEVICES_H

#include "vmm/controller/controller.h"

void controller_put_drive(struct controller *c, const struct drive_config *d,
			  struct vmm_response *resp);
void controller_patch_drive(struct controller *c, const struct drive_update *u,
			    struct vmm_response *resp);
void controller_put_net(struct controller *c, const struct net_config *n,
			struct vmm_response *resp);
void controller_patch_net(struct controller *c, const struct net_update *u,
			  struct vmm_response *resp);
void controller_put_vsock(struct controller *c, const struct vsock_config *v,
			  struct vmm_response *resp);
void controller_put_entropy(struct controller *c, const struct entropy_config *e,
			    struct vmm_response *resp);

#endif
