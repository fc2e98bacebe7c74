/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "MMDS" section of a snapshot: PUT /mmds/config (version, address,
 * imds_compat, the interfaces attached), so that a restored VM's net
 * devices are attached to MMDS again and answer as before, as Firecracker
 * restores its MMDS version, imds_compat and network stacks. The data store
 * is not part of a snapshot (nor in Firecracker): it is filled anew after a
 * restore. Absent when MMDS was never configured, and optional on load.
 */
#ifndef EMBER_SNAPSHOT_MMDS_H
#define EMBER_SNAPSHOT_MMDS_H

#include "vmm/config/vmm_config.h"
#include "vmm/base/vmstate.h"

#define SNAPSHOT_MMDS_TAG VMSTATE_TAG('M', 'M', 'D', 'S')

/* One "MMDS" section when @cfg has an MMDS configuration. Errors stay in the writer. */
void snapshot_mmds_encode(const struct vm_config *cfg, struct vmstate_writer *w);

/*
 * Into @cfg->mmds_config (has_mmds_config set), each interface checked to
 * be one of @cfg's nets (decoded before). 0, -EINVAL or -ENOMEM; on error
 * what was decoded is left for vm_config_free().
 */
int snapshot_mmds_decode(struct vmstate_reader *r, struct vm_config *cfg);

#endif
