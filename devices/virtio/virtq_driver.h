/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The driver side of a split virtqueue and of virtio-mmio initialisation,
 * done the way a guest driver does it: rings written into guest memory and
 * registers programmed through the bus ops. For unit tests, the fuzz target
 * and host-side benchmarks that drive a device without a vCPU; the VMM never
 * uses it on a live guest.
 */
#ifndef EMBER_VIRTQ_DRIVER_H
#define EMBER_VIRTQ_DRIVER_H

#include <stdint.h>

#include "vmm/mem/guest_mem.h"
#include "devices/virtio/virtq.h"

struct virtio_mmio_dev;

struct virtq_driver {
	const struct guest_mem *mem;
	uint16_t size;
	uint64_t desc, avail, used; /* ring addresses */
	uint16_t avail_idx;	    /* next avail->idx to publish */
	uint16_t last_used;	    /* next used element to consume */
};

/* Guest bytes the three rings take at their base, used ring 4-byte aligned. */
#define VIRTQ_DRIVER_BYTES(n)                                                                      \
	(VIRTQ_DESC_SIZE(n) + ((VIRTQ_AVAIL_SIZE(n) + 3) & ~3ULL) + VIRTQ_USED_SIZE(n))

/* Rings of @size entries at @base (16-byte aligned, RAM), zeroed. 0 or -EINVAL/-EFAULT. */
int virtq_driver_init(struct virtq_driver *drv, const struct guest_mem *mem, uint64_t base,
		      uint16_t size);

/* Descriptor @i of the table at @table (the ring's or an indirect one). 0 or -EFAULT. */
int virtq_driver_write_desc(const struct guest_mem *mem, uint64_t table, uint16_t i, uint64_t addr,
			    uint32_t len, uint16_t flags, uint16_t next);
int virtq_driver_set_desc(struct virtq_driver *drv, uint16_t i, uint64_t addr, uint32_t len,
			  uint16_t flags, uint16_t next);

/* Make @head available and publish the new avail->idx. */
void virtq_driver_publish(struct virtq_driver *drv, uint16_t head);
/* Write avail->idx directly (what a hostile driver may do). */
void virtq_driver_set_avail_idx(struct virtq_driver *drv, uint16_t idx);
void virtq_driver_set_avail_flags(struct virtq_driver *drv, uint16_t flags);
void virtq_driver_set_used_event(struct virtq_driver *drv, uint16_t idx);
uint16_t virtq_driver_avail_event(const struct virtq_driver *drv);
uint16_t virtq_driver_used_idx(const struct virtq_driver *drv);

/* Take the next used element: 1 with @id/@len, 0 when none. */
int virtq_driver_get_used(struct virtq_driver *drv, uint32_t *id, uint32_t *len);

/* 32-bit register access through virtio_mmio_bus_ops, as a vCPU would. */
uint32_t virtio_mmio_driver_read(struct virtio_mmio_dev *dev, uint64_t offset);
void virtio_mmio_driver_write(struct virtio_mmio_dev *dev, uint64_t offset, uint32_t val);

/*
 * Reset, ACKNOWLEDGE, DRIVER, write @features, FEATURES_OK. Returns the
 * status read back (FEATURES_OK clear when the device refused).
 */
uint32_t virtio_mmio_driver_negotiate(struct virtio_mmio_dev *dev, uint64_t features);
/* QueueSel @q, QueueNum, ring addresses, QueueReady = 1; returns QueueReady read back. */
uint32_t virtio_mmio_driver_setup_queue(struct virtio_mmio_dev *dev, unsigned int q,
					const struct virtq_driver *drv);
/* Set DRIVER_OK; returns the status read back. */
uint32_t virtio_mmio_driver_ok(struct virtio_mmio_dev *dev);

#endif
