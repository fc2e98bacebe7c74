/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "PMEM" section of a snapshot: the pmem devices' configuration (id,
 * path_on_host, root_device, read_only, rate limiter), in device order. As
 * in Firecracker, a restore opens and maps the same files again: each file
 * must be where it was. The region addresses are not stored: they follow
 * from the RAM size and the device order, both in the snapshot, so the
 * restored devices sit where the guest saw them. Absent without pmem
 * devices, and optional on load.
 */
#ifndef EMBER_SNAPSHOT_PMEM_H
#define EMBER_SNAPSHOT_PMEM_H

#include "vmm/config/vmm_config.h"
#include "vmm/base/vmstate.h"

#define SNAPSHOT_PMEM_TAG VMSTATE_TAG('P', 'M', 'E', 'M')

/* One "PMEM" section when @cfg has pmem devices. Errors stay in the writer. */
void snapshot_pmem_encode(const struct vm_config *cfg, struct vmstate_writer *w);

/*
 * Into @cfg->pmems (decoded after the drives and nets: the device count is
 * checked against VMM_MAX_VIRTIO_DEVICES). 0, -EINVAL or -ENOMEM; on error
 * what was decoded is left for vm_config_free().
 */
int snapshot_pmem_decode(struct vmstate_reader *r, struct vm_config *cfg);

#endif
