/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a virtio device model (block, entropy, later net and vsock) provides
 * to the virtio-mmio transport. The transport owns the registers, the status
 * state machine, feature negotiation, the queues and the eventfds; the device
 * owns its config space and turns descriptor chains into work.
 *
 * Wire constants come from the kernel's UAPI headers (virtio 1.x layout).
 */
#ifndef EMBER_VIRTIO_H
#define EMBER_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#define VIRTIO_BIT(n) (1ULL << (n))

/* Ring features every Ember device offers; devices add their own bits. */
#define VIRTIO_COMMON_FEATURES                                                                     \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) |                    \
	 VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC))

/* Most queues a device may have (net: 2, vsock: 3). */
#define VIRTIO_MAX_QUEUES 8

struct virtio_mmio_dev;
struct event_loop;
struct vmstate_writer;
struct vmstate_reader;

/*
 * Every callback runs with the device lock held (see virtio_mmio.h), on the
 * vCPU thread for config accesses and status changes, on the VMM thread for
 * queue work. None of them may block for long.
 */
struct virtio_device_ops {
	const char *name;	 /* "block", "rng", ... for logs */
	uint32_t device_id;	 /* VIRTIO_ID_* */
	unsigned int num_queues; /* <= VIRTIO_MAX_QUEUES */
	uint16_t queue_max_size; /* power of two, <= VIRTQ_MAX_SIZE */
	uint32_t config_size;	 /* bytes of device config space */

	/* Copy @len bytes at @offset of config space; the range is within config_size. */
	void (*config_read)(struct virtio_mmio_dev *dev, uint32_t offset, uint8_t *data,
			    uint32_t len);
	/* Optional; NULL: config space is read-only and writes are ignored. */
	void (*config_write)(struct virtio_mmio_dev *dev, uint32_t offset, const uint8_t *data,
			     uint32_t len);

	/* DRIVER_OK with every queue ready. Non-zero: the device enters DEVICE_NEEDS_RESET. */
	int (*activate)(struct virtio_mmio_dev *dev);
	/* The driver wrote 0 to Status: drop in-flight work; the transport resets the queues. */
	void (*reset)(struct virtio_mmio_dev *dev);
	/* Queue @q was notified (or kicked): consume what is available. */
	void (*process_queue)(struct virtio_mmio_dev *dev, unsigned int q);

	/* Optional: register backend fds (tap, sockets, io_uring) with the VMM loop. */
	int (*attach)(struct virtio_mmio_dev *dev, struct event_loop *loop);
	void (*detach)(struct virtio_mmio_dev *dev, struct event_loop *loop);

	/*
	 * Snapshots (see virtio_mmio_save()/virtio_mmio_restore()), both
	 * optional, on the VMM thread with the vCPUs paused.
	 * save: finish backend work still writing guest memory (in-flight
	 * async I/O: complete it into the used ring), then append the
	 * device's own state after the transport's with vmstate_put_*().
	 * restore: read back exactly what save wrote; the transport and queue
	 * state is restored already and, when the device was activated,
	 * activate() is called right after. 0 or -errno.
	 */
	int (*save)(struct virtio_mmio_dev *dev, struct vmstate_writer *w);
	int (*restore)(struct virtio_mmio_dev *dev, struct vmstate_reader *r);
};

/*
 * The rate limiter's hook into a device. may_consume() takes @bytes and @ops
 * tokens and returns true, or takes nothing and returns false: the device then
 * leaves the request on its queue and stops, and the limiter calls
 * virtio_mmio_kick() on the VMM thread once tokens are back. Runs with the
 * device lock held. An unset hook (may_consume NULL) never throttles.
 */
struct virtio_limiter {
	bool (*may_consume)(void *ctx, uint64_t bytes, uint64_t ops);
	void *ctx;
};

static inline bool virtio_limiter_allows(const struct virtio_limiter *lim, uint64_t bytes,
					 uint64_t ops)
{
	return !lim->may_consume || lim->may_consume(lim->ctx, bytes, ops);
}

#endif
