// SPDX-License-Identifier: Apache-2.0
#include "io.h"
#include "string.h"
#include "virtio.h"
#include "virtqueue.h"

/*
 * How long a request may take: about a second of TSC at 2 GHz. The VMM
 * serves queues on its own thread, typically within microseconds; only a
 * device that dropped a request runs into this.
 */
#define VIRTQUEUE_TIMEOUT_CYCLES (1UL << 31)

void virtqueue_reset(struct virtqueue *vq, uint16_t size)
{
	memset(vq->desc, 0, sizeof(vq->desc));
	memset(&vq->avail, 0, sizeof(vq->avail));
	memset(&vq->used, 0, sizeof(vq->used));
	vq->size = size;
	vq->last_used = 0;
}

void virtqueue_set_desc(struct virtqueue *vq, uint16_t i, uint64_t addr, uint32_t len,
			uint16_t flags, uint16_t next)
{
	struct vring_desc *d = &vq->desc[i % VIRTQUEUE_CAPACITY];

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

void virtqueue_kick(struct virtqueue *vq, uint16_t head)
{
	uint16_t idx = vq->avail.idx;

	vq->avail.ring[idx % vq->size] = head;
	/* The descriptors and the ring entry before the index that publishes them. */
	barrier();
	*(volatile uint16_t *)&vq->avail.idx = (uint16_t)(idx + 1);
	barrier();
	virtio_notify(vq->dev, vq->index);
}

enum virtqueue_wait virtqueue_wait_used(struct virtqueue *vq, struct vring_used_elem *used)
{
	uint64_t start = rdtsc();

	for (;;) {
		if (*(volatile uint16_t *)&vq->used.idx != vq->last_used) {
			/* The element after the index that published it. */
			barrier();
			*used = vq->used.ring[vq->last_used % vq->size];
			vq->last_used++;
			virtio_ack_interrupt(vq->dev);
			return VIRTQUEUE_USED;
		}
		if (virtio_status(vq->dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
			return VIRTQUEUE_NEEDS_RESET;
		if (rdtsc() - start > VIRTQUEUE_TIMEOUT_CYCLES)
			return VIRTQUEUE_TIMEOUT;
		cpu_pause();
	}
}
