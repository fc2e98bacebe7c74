/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory hotplug (virtio-mem) in a snapshot. The "MHPL" section holds the
 * PUT /hotplug/memory configuration (total, block and slot size, MiB), from
 * which a restore creates the device where it was (its place follows from
 * RAM and the pmem devices, both in the snapshot); the device's own state
 * (sizes, plugged blocks) is its VIRT section. Absent without the device,
 * optional on load.
 *
 * The plugged blocks' bytes are in the memory file after RAM (see
 * snapshot_mem.h). A File restore copies the data extents of the plugged
 * blocks into the device's fresh anonymous region, so unplugged blocks keep
 * reading as zero and an unplug gives the memory back as before the
 * snapshot. A Uffd restore copies nothing: the region is one more mapping
 * told to the page-fault handler (uffd.h), which fills its pages on fault.
 */
#ifndef EMBER_SNAPSHOT_HOTPLUG_H
#define EMBER_SNAPSHOT_HOTPLUG_H

#include "vmm/config/vmm_config.h"
#include "vmm/base/vmstate.h"
#include "devices/virtio/mem.h"

#define SNAPSHOT_MHPL_TAG VMSTATE_TAG('M', 'H', 'P', 'L')

/* One "MHPL" section when @cfg has memory hotplug. Errors stay in the writer. */
void snapshot_hotplug_encode(const struct vm_config *cfg, struct vmstate_writer *w);

/* Into @cfg->memory_hotplug, sizes bounded (the device checks the geometry). 0 or -EINVAL. */
int snapshot_hotplug_decode(struct vmstate_reader *r, struct vm_config *cfg);

/*
 * The plugged blocks of @d (restored, nothing else written to its region)
 * from memory file @path, whose region starts at @file_offset. 0 or -errno,
 * @err filled.
 */
int snapshot_hotplug_load(struct mem_dev *d, const char *path, uint64_t file_offset, char *err,
			  size_t errlen);

#endif
