// SPDX-License-Identifier: Apache-2.0
/*
 * Driver-side split virtqueue and virtio-mmio bring-up (see virtq_driver.h).
 * Mirrors what Linux's virtio_ring/virtio_mmio do, including the fences, so
 * the device code is exercised exactly as a concurrent guest would.
 */
#include "devices/virtio/virtq_driver.h"

#include <errno.h>
#include <linux/virtio_ring.h>
#include <stdatomic.h>

#include "devices/virtio/virtio_mmio.h"

static void put16(const struct guest_mem *mem, uint64_t gpa, uint16_t v)
{
	uint16_t *p = guest_mem_translate(mem, gpa, sizeof(*p));

	if (p)
		__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static uint16_t get16(const struct guest_mem *mem, uint64_t gpa)
{
	uint16_t *p = guest_mem_translate(mem, gpa, sizeof(*p));

	return p ? __atomic_load_n(p, __ATOMIC_RELAXED) : 0;
}

int virtq_driver_init(struct virtq_driver *drv, const struct guest_mem *mem, uint64_t base,
		      uint16_t size)
{
	uint8_t *p;

	if (base % 16 || size == 0 || (size & (size - 1)))
		return -EINVAL;
	p = guest_mem_translate(mem, base, VIRTQ_DRIVER_BYTES(size));
	if (!p)
		return -EFAULT;
	for (uint64_t i = 0; i < VIRTQ_DRIVER_BYTES(size); i++)
		p[i] = 0;
	drv->mem = mem;
	drv->size = size;
	drv->desc = base;
	drv->avail = base + VIRTQ_DESC_SIZE(size);
	drv->used = (drv->avail + VIRTQ_AVAIL_SIZE(size) + 3) & ~3ULL;
	drv->avail_idx = 0;
	drv->last_used = 0;
	return 0;
}

int virtq_driver_write_desc(const struct guest_mem *mem, uint64_t table, uint16_t i, uint64_t addr,
			    uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};

	return guest_mem_write(mem, table + 16ULL * i, &d, sizeof(d));
}

int virtq_driver_set_desc(struct virtq_driver *drv, uint16_t i, uint64_t addr, uint32_t len,
			  uint16_t flags, uint16_t next)
{
	return virtq_driver_write_desc(drv->mem, drv->desc, i, addr, len, flags, next);
}

void virtq_driver_publish(struct virtq_driver *drv, uint16_t head)
{
	put16(drv->mem, drv->avail + 4 + 2ULL * (drv->avail_idx % drv->size), head);
	/* Ring entry before the index that makes it visible. */
	atomic_thread_fence(memory_order_release);
	put16(drv->mem, drv->avail + 2, ++drv->avail_idx);
}

void virtq_driver_set_avail_idx(struct virtq_driver *drv, uint16_t idx)
{
	drv->avail_idx = idx;
	put16(drv->mem, drv->avail + 2, idx);
}

void virtq_driver_set_avail_flags(struct virtq_driver *drv, uint16_t flags)
{
	put16(drv->mem, drv->avail, flags);
}

void virtq_driver_set_used_event(struct virtq_driver *drv, uint16_t idx)
{
	put16(drv->mem, drv->avail + 4 + 2ULL * drv->size, idx);
}

uint16_t virtq_driver_avail_event(const struct virtq_driver *drv)
{
	return get16(drv->mem, drv->used + 4 + 8ULL * drv->size);
}

uint16_t virtq_driver_used_idx(const struct virtq_driver *drv)
{
	return get16(drv->mem, drv->used + 2);
}

int virtq_driver_get_used(struct virtq_driver *drv, uint32_t *id, uint32_t *len)
{
	struct vring_used_elem elem;

	if (virtq_driver_used_idx(drv) == drv->last_used)
		return 0;
	/* Index before the element it covers. */
	atomic_thread_fence(memory_order_acquire);
	if (guest_mem_read(drv->mem, drv->used + 4 + 8ULL * (drv->last_used % drv->size), &elem,
			   sizeof(elem)))
		return 0;
	drv->last_used++;
	*id = elem.id;
	*len = elem.len;
	return 1;
}

uint32_t virtio_mmio_driver_read(struct virtio_mmio_dev *dev, uint64_t offset)
{
	uint8_t b[4];

	virtio_mmio_bus_ops.read(dev, offset, b, sizeof(b));
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

void virtio_mmio_driver_write(struct virtio_mmio_dev *dev, uint64_t offset, uint32_t val)
{
	uint8_t b[4] = {val, val >> 8, val >> 16, val >> 24};

	virtio_mmio_bus_ops.write(dev, offset, b, sizeof(b));
}

uint32_t virtio_mmio_driver_negotiate(struct virtio_mmio_dev *dev, uint64_t features)
{
	uint32_t status = VIRTIO_CONFIG_S_ACKNOWLEDGE;

	virtio_mmio_driver_write(dev, VIRTIO_MMIO_STATUS, 0);
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_STATUS, status);
	status |= VIRTIO_CONFIG_S_DRIVER;
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_STATUS, status);
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_STATUS, status | VIRTIO_CONFIG_S_FEATURES_OK);
	return virtio_mmio_driver_read(dev, VIRTIO_MMIO_STATUS);
}

uint32_t virtio_mmio_driver_setup_queue(struct virtio_mmio_dev *dev, unsigned int q,
					const struct virtq_driver *drv)
{
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_SEL, q);
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_NUM, drv->size);
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)drv->desc);
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(drv->desc >> 32));
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)drv->avail);
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(drv->avail >> 32));
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)drv->used);
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(drv->used >> 32));
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_READY, 1);
	return virtio_mmio_driver_read(dev, VIRTIO_MMIO_QUEUE_READY);
}

uint32_t virtio_mmio_driver_ok(struct virtio_mmio_dev *dev)
{
	uint32_t status = virtio_mmio_driver_read(dev, VIRTIO_MMIO_STATUS);

	virtio_mmio_driver_write(dev, VIRTIO_MMIO_STATUS, status | VIRTIO_CONFIG_S_DRIVER_OK);
	return virtio_mmio_driver_read(dev, VIRTIO_MMIO_STATUS);
}
