/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VM Generation ID (Microsoft's "Virtual Machine Generation ID" spec, as
 * Firecracker implements it): a 128-bit cryptographically random value at a
 * fixed guest address, different every time the VM runs from a different
 * starting point: a fresh boot, or each restore of a snapshot. Linux's
 * vmgenid driver feeds a new value into its RNG (add_vmfork_randomness) when
 * the device is notified, so clones of one snapshot do not share random
 * state.
 *
 * Boot: vmgenid_activate() writes a fresh ID. Restore: vmgenid_restore()
 * checks the saved section against the device built for the snapshot's
 * configuration, then vmgenid_new_generation() writes a fresh ID and pulses
 * the GED interrupt (Notify(VGEN, 0x80)). VMM thread only, vCPUs stopped.
 */
#ifndef EMBER_VMGENID_H
#define EMBER_VMGENID_H

#include <stdint.h>

#include "devices/irq.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/base/vmstate.h"

#define VMGENID_SIZE 16

struct vmgenid {
	uint64_t addr; /* guest-physical, 8-byte aligned */
	struct irq_line irq;
	uint8_t id[VMGENID_SIZE]; /* what the guest has been given */
};

/* The device at @addr, notifying on @irq; nothing written yet. */
void vmgenid_init(struct vmgenid *g, uint64_t addr, const struct irq_line *irq);

/* A fresh ID into guest memory. 0, -EFAULT (@addr not RAM) or getrandom's -errno. */
int vmgenid_activate(struct vmgenid *g, const struct guest_mem *mem);

/* Section payload: u64 addr, u32 gsi, 16 bytes of ID. */
void vmgenid_save(const struct vmgenid *g, struct vmstate_writer *w);
/* 0, or -EINVAL when the section is malformed or names another address or GSI. */
int vmgenid_restore(struct vmgenid *g, struct vmstate_reader *r);

/*
 * After a restore: a fresh ID, different from the one saved, into guest
 * memory, then the notification. 0 or -errno (nothing notified on error).
 */
int vmgenid_new_generation(struct vmgenid *g, const struct guest_mem *mem);

#endif
