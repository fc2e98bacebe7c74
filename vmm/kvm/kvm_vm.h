/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One KVM virtual machine: the /dev/kvm and VM fds, guest memory slots, the
 * in-kernel irqchip (PIC + IOAPIC + LAPIC) and PIT, ioeventfds and irqfds.
 */
#ifndef EMBER_KVM_VM_H
#define EMBER_KVM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/mem/guest_mem.h"
#include "devices/irq.h"

struct kvm_cpuid2;

struct kvm_vm {
	int kvm_fd;
	int vm_fd;
	int vcpu_mmap_size;
	struct kvm_cpuid2 *supported_cpuid; /* KVM_GET_SUPPORTED_CPUID, fetched once */
};

/*
 * Open /dev/kvm, check the capabilities Ember needs and fetch the supported
 * CPUID: the part of VM creation that depends on no configuration, so the
 * VMM can do it while idle before InstanceStart. Idempotent. @vm must have
 * kvm_fd == -1 or be prepared already.
 */
int kvm_vm_prepare(struct kvm_vm *vm, char *err, size_t errlen);
/* Prepare if not done yet, create the VM, map @mem, irqchip and PIT. */
int kvm_vm_create(struct kvm_vm *vm, const struct guest_mem *mem, bool track_dirty, char *err,
		  size_t errlen);
void kvm_vm_destroy(struct kvm_vm *vm);

/*
 * Map @size bytes at host @host as guest-physical [@gpa, +@size) in KVM slot
 * @slot (above the RAM slots), read-only for the guest if @read_only (its
 * writes then exit as MMIO). @size 0 deletes the slot. 0 or -errno.
 */
int kvm_vm_set_slot(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *host,
		    bool read_only);

/* Level of a GSI on the in-kernel PIC/IOAPIC (KVM_IRQ_LINE). */
int kvm_vm_set_irq_line(struct kvm_vm *vm, uint32_t gsi, bool level);
/* An irq_line for devices that drives @gsi through KVM_IRQ_LINE. */
void kvm_vm_irq_line(struct kvm_vm *vm, uint32_t gsi, struct irq_line *line);

/* Guest MMIO write of @len bytes at @addr (== @datamatch if >= 0) signals @fd. */
int kvm_vm_add_ioeventfd(struct kvm_vm *vm, uint64_t addr, uint32_t len, int64_t datamatch, int fd);
/* Signalling @fd raises @gsi (edge). */
int kvm_vm_add_irqfd(struct kvm_vm *vm, uint32_t gsi, int fd);

#endif
