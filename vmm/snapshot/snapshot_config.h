/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "CONF" section of a snapshot: the machine configuration and the
 * configuration of every device (drives, network interfaces, vsock,
 * entropy). A restore rebuilds the devices from it with the same code and in
 * the same order as InstanceStart did, so every device lands in the same
 * virtio-mmio slot before its saved state is loaded into it; it is also what
 * GET /vm/config reports afterwards. Boot source, logger, metrics and serial
 * are not part of it (Firecracker's restored VM has no boot source either).
 */
#ifndef EMBER_SNAPSHOT_CONFIG_H
#define EMBER_SNAPSHOT_CONFIG_H

#include "vmm/config/vmm_config.h"
#include "vmm/base/vmstate.h"

#define SNAPSHOT_CONF_TAG VMSTATE_TAG('C', 'O', 'N', 'F')

/* One "CONF" section. Errors stay in the writer. */
void snapshot_config_encode(const struct vm_config *cfg, struct vmstate_writer *w);

/*
 * Into @cfg (vm_config_init()ed by the caller; on error whatever was decoded
 * is left for vm_config_free()): machine, drives, nets, vsock and entropy,
 * checked for the limits the API enforces. 0, -EINVAL or -ENOMEM.
 */
int snapshot_config_decode(struct vmstate_reader *r, struct vm_config *cfg);

#endif
