/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshots: PUT /snapshot/create and PUT /snapshot/load, Firecracker's
 * semantics (docs/snapshotting/snapshot-support.md).
 *
 * Create (VM paused, VMM thread): every device finishes the I/O it has in
 * flight, each vCPU saves its own state on its own thread, then the irqchip,
 * PIT and clock; all of it goes into the vmstate file (vmstate.h) as
 *	CONF			configuration (snapshot_config.h)
 *	PMEM, MMDS, CPUT, MHPL	optional configuration parts (pmem, MMDS, CPU
 *				template, memory hotplug)
 *	VCPU  x vcpu_count	vcpu_state.h
 *	KVMS			vm_state.h
 *	UART, I804		serial, i8042
 *	VIRT  x devices		virtio-mmio transport + queues + device, by slot
 *	VGEN, VCLK		VMGenID, VMClock (devices/acpi): address, GSI, contents
 * and guest RAM into the memory file (snapshot_mem.h): Full or Diff, with
 * virtio-mem's plugged blocks after RAM (snapshot_hotplug.h). Both
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
 * threads start parked. Last, as Firecracker's post-restore step, VMGenID
 * gets a fresh ID and VMClock a new disruption marker, each with its
 * notification pending for the guest. Errors come in Firecracker's words,
 * without the "Create snapshot error: "/"Load snapshot error: " prefix the
 * controller adds.
 */
#ifndef EMBER_SNAPSHOT_H
#define EMBER_SNAPSHOT_H

#include <stddef.h>
#include <stdio.h>

#include "vmm/config/params.h"
#include "vmm/config/vmm_config.h"
#include "vmm/base/vmstate.h"

struct guest_mem;
struct kvm_vm;
struct vcpu_group;
struct uffd_backend;
struct serial;
struct i8042;
struct virtio_mmio_dev;
struct vmgenid;
struct vmclock;
struct snapshot_machine;
struct mem_dev;

#define SNAPSHOT_MAX_VIRTIO 32

/* Loads the saved state into the machine just built; nothing runs yet. */
typedef int (*snapshot_restore_fn)(const struct snapshot_machine *m, void *ctx, char *err,
				   size_t errlen);

/*
 * The parts of a VM that a snapshot saves and restores, lent by the VMM for
 * one call: the narrow view that keeps snapshot/ from knowing struct vmm.
 * For a load, only mem and uffd are set on entry (the VM does not exist
 * yet): build_restored() builds the VM from @cfg without a kernel, calls
 * @restore with the full view, starts the vCPU threads parked and on error
 * tears everything down, guest memory included.
 */
struct snapshot_machine {
	struct guest_mem *mem;
	struct uffd_backend *uffd;
	struct kvm_vm *vm;
	struct vcpu_group *vcpus;
	struct serial *serial;
	struct i8042 *i8042;
	struct virtio_mmio_dev *virtio[SNAPSHOT_MAX_VIRTIO];
	unsigned int nr_virtio;
	struct vmgenid *vmgenid;
	struct vmclock *vmclock;
	struct mem_dev *hotplug; /* virtio-mem, NULL: none */

	void *vmm;
	int (*build_restored)(void *vmm, const struct vm_config *cfg, snapshot_restore_fn restore,
			      void *ctx, char *err, size_t errlen);
};

#define SNAPSHOT_UART_TAG    VMSTATE_TAG('U', 'A', 'R', 'T')
#define SNAPSHOT_I8042_TAG   VMSTATE_TAG('I', '8', '0', '4')
#define SNAPSHOT_VIRTIO_TAG  VMSTATE_TAG('V', 'I', 'R', 'T')
#define SNAPSHOT_VMGENID_TAG VMSTATE_TAG('V', 'G', 'E', 'N')
#define SNAPSHOT_VMCLOCK_TAG VMSTATE_TAG('V', 'C', 'L', 'K')

/* @m paused, configured as @cfg. 0 or -errno with @err filled. */
int snapshot_create(const struct snapshot_machine *m, const struct vm_config *cfg,
		    const struct snapshot_create_params *p, char *err, size_t errlen);

/* @m not started; @cfg in: configured so far, out: the snapshot's (see vmm_ops). */
int snapshot_load(const struct snapshot_machine *m, const struct snapshot_load_params *p,
		  struct vm_config *cfg, char *err, size_t errlen);

/*
 * ember --describe-snapshot: the format version and what the file holds, on
 * @out. 0, or -errno with the reason on @out too (a file that would not load
 * is still described as far as it can be).
 */
int snapshot_describe(const char *path, FILE *out);

#endif
