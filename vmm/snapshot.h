/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshots: PUT /snapshot/create and PUT /snapshot/load, Firecracker's
 * semantics (docs/snapshotting/snapshot-support.md).
 *
 * Create (VM paused, VMM thread): every device finishes the I/O it has in
 * flight, each vCPU saves its own state on its own thread, then the irqchip,
 * PIT and clock; all of it goes into the vmstate file (vmstate.h) as
 *	CONF			configuration (snapshot_config.h)
 *	VCPU  x vcpu_count	vcpu_state.h
 *	KVMS			vm_state.h
 *	UART, I804		serial, i8042
 *	VIRT  x devices		virtio-mmio transport + queues + device, by slot
 * and guest RAM into the memory file (snapshot_mem.h): Full or Diff. Both
 * files are written under temporary names in their target directories,
 * fsynced, then renamed into place: a crash or a full disk never leaves a
 * partial file under a requested name, and the VM stays paused and
 * resumable after a failed create.
 *
 * Load (fresh process, VMM thread): the vmstate is read and checked whole
 * (size, CRC, version, every section) before anything is built; guest RAM is
 * the memory file mapped MAP_PRIVATE (File) or anonymous memory served by a
 * page-fault handler (Uffd, uffd.h); the VM is rebuilt from CONF the way
 * InstanceStart builds it, the saved state loaded into it, and the vCPU
 * threads start parked. Errors come in Firecracker's words, without the
 * "Create snapshot error: "/"Load snapshot error: " prefix the controller adds.
 */
#ifndef EMBER_SNAPSHOT_H
#define EMBER_SNAPSHOT_H

#include <stddef.h>
#include <stdio.h>

#include "controller.h"
#include "vmstate.h"

struct vmm;

#define SNAPSHOT_UART_TAG   VMSTATE_TAG('U', 'A', 'R', 'T')
#define SNAPSHOT_I8042_TAG  VMSTATE_TAG('I', '8', '0', '4')
#define SNAPSHOT_VIRTIO_TAG VMSTATE_TAG('V', 'I', 'R', 'T')

/* @vmm paused, configured as @cfg. 0 or -errno with @err filled. */
int snapshot_create(struct vmm *vmm, const struct vm_config *cfg,
		    const struct snapshot_create_params *p, char *err, size_t errlen);

/* @vmm not started; @cfg in: configured so far, out: the snapshot's (see vmm_ops). */
int snapshot_load(struct vmm *vmm, const struct snapshot_load_params *p, struct vm_config *cfg,
		  char *err, size_t errlen);

/*
 * ember --describe-snapshot: the format version and what the file holds, on
 * @out. 0, or -errno with the reason on @out too (a file that would not load
 * is still described as far as it can be).
 */
int snapshot_describe(const char *path, FILE *out);

#endif
