/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The driver side of a split virtqueue (virtio 1.x 2.7) in the guest's own
 * static memory. The drivers here keep one request in flight at a time:
 * they write a chain into the descriptor table, make its head available,
 * notify, and poll the used ring until the device returns a buffer, the
 * device asks to be reset, or a time limit passes (a broken device must not
 * hang the guest).
 */
#ifndef GUEST_VIRTQUEUE_H
#define GUEST_VIRTQUEUE_H

#include "types.h"

/* Entries per queue: the guest never needs more, and every device offers at least this many. */
#define VIRTQUEUE_CAPACITY 16

#define VRING_DESC_F_NEXT     1
#define VRING_DESC_F_WRITE    2 /* device-writable */
#define VRING_DESC_F_INDIRECT 4 /* the buffer is a table of descriptors */

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[VIRTQUEUE_CAPACITY];
	uint16_t used_event;
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[VIRTQUEUE_CAPACITY];
	uint16_t avail_event;
};

_Static_assert(sizeof(struct vring_desc) == 16, "descriptors are 16 bytes");

struct virtio_dev;

struct virtqueue {
	/* Shared with the device; alignments are the virtio 1.x minimums or more. */
	struct vring_desc desc[VIRTQUEUE_CAPACITY] __aligned(16);
	struct vring_avail avail __aligned(16);
	struct vring_used used __aligned(16);

	/* Driver state, set by virtio_setup_queue(). */
	struct virtio_dev *dev;
	unsigned int index;
	uint16_t size;	    /* entries in use: <= VIRTQUEUE_CAPACITY */
	uint16_t last_used; /* next used ring entry to read (free-running) */
};

enum virtqueue_wait {
	VIRTQUEUE_USED,	       /* the device returned a buffer */
	VIRTQUEUE_NEEDS_RESET, /* Status has DEVICE_NEEDS_RESET */
	VIRTQUEUE_TIMEOUT,     /* neither within the time limit */
};

/* Empty rings and indices; virtio_setup_queue() calls this before programming the device. */
void virtqueue_reset(struct virtqueue *vq, uint16_t size);

/* Fill descriptor @i. */
void virtqueue_set_desc(struct virtqueue *vq, uint16_t i, uint64_t addr, uint32_t len,
			uint16_t flags, uint16_t next);

/* Put @head (taken as is: a test may pass a bad one) in the avail ring, publish it, notify. */
void virtqueue_kick(struct virtqueue *vq, uint16_t head);

/* Poll for the next used element (into @used) until one of enum virtqueue_wait happens. */
enum virtqueue_wait virtqueue_wait_used(struct virtqueue *vq, struct vring_used_elem *used);

#endif
