/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM-wide KVM state of a snapshot: the in-kernel PIC pair and IOAPIC,
 * the PIT, and the KVM clock (Firecracker's x86_64 VmState). Captured on the
 * VMM thread with every vCPU parked; applied on restore after the vCPUs.
 */
#ifndef EMBER_VM_STATE_H
#define EMBER_VM_STATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>

#include "vmm/base/vmstate.h"

struct kvm_vm;

#define VM_STATE_TAG	  VMSTATE_TAG('K', 'V', 'M', 'S')
#define VM_STATE_NR_CHIPS 3 /* KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE, _IOAPIC */

struct vm_saved_state {
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	struct kvm_irqchip chips[VM_STATE_NR_CHIPS];
};

/* 0 or -errno. */
int vm_state_capture(struct kvm_vm *vm, struct vm_saved_state *s);
/* One "KVMS" section. Errors stay in the writer. */
void vm_state_encode(const struct vm_saved_state *s, struct vmstate_writer *w);
/* 0 or -EINVAL (sizes, chip ids). */
int vm_state_decode(struct vmstate_reader *r, struct vm_saved_state *s);
/*
 * Load @s into @vm. The KVM clock resumes where it was saved, or with
 * @clock_realtime (and a saved realtime stamp) advanced by the wall-clock
 * time since the snapshot, as Firecracker's clock_realtime. 0 or -errno
 * with @err filled.
 */
int vm_state_apply(struct kvm_vm *vm, const struct vm_saved_state *s, bool clock_realtime,
		   char *err, size_t errlen);

#endif
