/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-mmio transport, version 2 (virtio 1.x, 4.2.2), one 4 KiB slot per
 * device. VendorID is 0, as Firecracker reports.
 *
 * Wiring (done by the VMM):
 *   bus_register(&mmio_bus, base, VIRTIO_MMIO_SLOT_SIZE, &virtio_mmio_bus_ops, dev);
 *   for q < virtio_mmio_num_queues(dev):
 *     kvm_vm_add_ioeventfd(vm, base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, q,
 *                          virtio_mmio_queue_notify_fd(dev, q));
 *   kvm_vm_add_irqfd(vm, gsi, virtio_mmio_irq_fd(dev));
 *   virtio_mmio_attach(dev, &vmm_loop);       (VMM thread)
 *   virtio_mmio_cmdline_arg(base, gsi, buf, len) appended to the kernel cmdline.
 *
 * Threads: the register path (bus ops) runs on vCPU threads; queue work runs
 * on the VMM thread when a notify eventfd fires. One mutex per device
 * serialises both; every virtio_device_ops callback runs with it held. The
 * transport itself handles a QueueNotify write that reaches it (no ioeventfd
 * registered, e.g. in unit tests) by signalling the same eventfd.
 */
#ifndef EMBER_VIRTIO_MMIO_H
#define EMBER_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/virtio_mmio.h>

#include "devices/bus.h"
#include "vmm/mem/guest_mem.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/virtq.h"

#define VIRTIO_MMIO_SLOT_SIZE	 0x1000ULL
#define VIRTIO_MMIO_MAGIC	 0x74726976U /* "virt" */
#define VIRTIO_MMIO_VERSION_2	 2U
#define VIRTIO_MMIO_VENDOR	 0U
#define VIRTIO_MMIO_CONFIG_SPACE (VIRTIO_MMIO_SLOT_SIZE - VIRTIO_MMIO_CONFIG)
#define VIRTIO_MMIO_CHAIN_BUDGET 256U /* chains per queue per pass */

struct event_loop;

struct virtio_mmio_notify {
	struct virtio_mmio_dev *dev;
	unsigned int queue;
};

/* A used-ring entry held back while the device is paused. */
struct virtio_mmio_used {
	uint16_t queue;
	uint16_t head;
	uint32_t len;
};

struct virtio_mmio_dev {
	pthread_mutex_t lock;
	const struct virtio_device_ops *ops;
	void *backend;
	const struct guest_mem *mem;
	uint64_t base;
	uint32_t gsi;

	/* Registers. */
	uint64_t device_features;
	uint64_t driver_features;
	bool driver_features_high; /* driver set bits beyond 64: never offered */
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint32_t status;
	uint32_t interrupt_status;
	uint32_t config_generation;
	bool activated;

	struct virtq queues[VIRTIO_MAX_QUEUES];
	int notify_fds[VIRTIO_MAX_QUEUES];
	struct virtio_mmio_notify notify[VIRTIO_MAX_QUEUES];
	int irq_fd;
	struct event_loop *loop; /* set while attached */

	unsigned int chain_budget; /* chains left in this pass, see virtio_mmio_kick() */

	/* Quiesced while the VM is paused, see virtio_mmio_pause(). */
	bool paused;
	struct virtio_mmio_used *deferred; /* completions held back while paused */
	unsigned int nr_deferred, deferred_cap;

	/* Log rate limit for guest-caused errors. */
	uint64_t log_window;
	unsigned int log_count;

	struct virtq_chain chain; /* scratch for virtio_mmio_next_chain() callers */
};

extern const struct bus_device_ops virtio_mmio_bus_ops;

/*
 * A device at @base/@gsi offering @device_features (VERSION_1 is required and
 * must be included). Creates the notify and irq eventfds. 0 or -errno.
 */
int virtio_mmio_create(struct virtio_mmio_dev **out, const struct virtio_device_ops *ops,
		       void *backend, const struct guest_mem *mem, uint64_t base, uint32_t gsi,
		       uint64_t device_features);
/* Detaches from the loop if attached; closes the eventfds. Not the backend. */
void virtio_mmio_destroy(struct virtio_mmio_dev *dev);

/* Register the notify eventfds (and the device's backend fds) with @loop. */
int virtio_mmio_attach(struct virtio_mmio_dev *dev, struct event_loop *loop);
void virtio_mmio_detach(struct virtio_mmio_dev *dev);

unsigned int virtio_mmio_num_queues(const struct virtio_mmio_dev *dev);
int virtio_mmio_queue_notify_fd(const struct virtio_mmio_dev *dev,
				unsigned int q); /* -1: no such queue */
int virtio_mmio_irq_fd(const struct virtio_mmio_dev *dev);
uint64_t virtio_mmio_base(const struct virtio_mmio_dev *dev);
uint32_t virtio_mmio_gsi(const struct virtio_mmio_dev *dev);

/*
 * "virtio_mmio.device=4K@0x<base>:<gsi>" (Firecracker's spelling, 8 hex
 * digits) into @buf. Returns the length, or -ENOSPC when @len is too small.
 */
int virtio_mmio_cmdline_arg(uint64_t base, uint32_t gsi, char *buf, size_t len);

/*
 * Process queue @q now, as if notified. VMM thread only (rate limiter resume,
 * backend readiness). Takes the device lock.
 */
void virtio_mmio_kick(struct virtio_mmio_dev *dev, unsigned int q);

/*
 * Quiesce the device while the VM is paused (VMM thread, vCPUs parked).
 * While paused no queue is processed (a kick, whatever its source, does
 * nothing, so backends leave their data in the tap, the socket, the
 * limiter), completions the backend still makes (io_uring requests that were
 * in flight) are held back instead of reaching the used ring, and interrupts
 * are not injected. Pausing twice is harmless.
 */
void virtio_mmio_pause(struct virtio_mmio_dev *dev);
/*
 * Undo virtio_mmio_pause(): publish the held-back completions, inject the
 * interrupt the driver has not seen yet (interrupt status set), then process
 * every live queue, so what arrived while paused (frames, socket data,
 * notifications) is picked up now. VMM thread; do not hold the device lock.
 */
void virtio_mmio_resume(struct virtio_mmio_dev *dev);
bool virtio_mmio_is_paused(const struct virtio_mmio_dev *dev);

struct vmstate_writer;
struct vmstate_reader;

/*
 * Snapshots, on the VMM thread with the vCPUs paused. Save: ops->save (which
 * first completes in-flight backend I/O), the completions held back by a
 * pause go to the used rings, then the registers and every queue.
 * Restore: into a device created from the same configuration (same type,
 * base, GSI and queue sizes, offering every feature the driver took; -EINVAL
 * otherwise), then ops->restore and, if the device was activated,
 * ops->activate. Every live queue is then kicked, so buffers the guest made
 * available before the snapshot (their notification died with the old
 * process) are picked up. 0 or -errno.
 */
int virtio_mmio_save(struct virtio_mmio_dev *dev, struct vmstate_writer *w);
int virtio_mmio_restore(struct virtio_mmio_dev *dev, struct vmstate_reader *r);
/* One line per device and per queue of saved state @r, for ember --describe-snapshot. */
int virtio_mmio_describe_state(struct vmstate_reader *r, FILE *out);

/* For external entry points of a device (API thread work such as PATCH). */
void virtio_mmio_lock(struct virtio_mmio_dev *dev);
void virtio_mmio_unlock(struct virtio_mmio_dev *dev);

/* ---- for device models, with the device lock held ------------------------ */

static inline void *virtio_mmio_backend(const struct virtio_mmio_dev *dev)
{
	return dev->backend;
}

static inline const struct guest_mem *virtio_mmio_mem(const struct virtio_mmio_dev *dev)
{
	return dev->mem;
}

static inline struct virtq *virtio_mmio_queue(struct virtio_mmio_dev *dev, unsigned int q)
{
	return &dev->queues[q];
}

static inline bool virtio_mmio_has_feature(const struct virtio_mmio_dev *dev, unsigned int bit)
{
	return bit < 64 && (dev->driver_features & VIRTIO_BIT(bit));
}

/*
 * Next well-formed chain on queue @q into @chain: 1, or 0 when the queue is
 * empty (notifications re-armed), or -EIO when the ring is corrupt (the device
 * is now in DEVICE_NEEDS_RESET). Malformed chains on the way are completed
 * with used length 0, counted and logged. One pass (one kick) hands out at
 * most VIRTIO_MMIO_CHAIN_BUDGET chains and then returns 0 with the queue's
 * notify eventfd signalled, so a guest that keeps refilling its ring cannot
 * hold the VMM thread.
 */
int virtio_mmio_next_chain(struct virtio_mmio_dev *dev, unsigned int q, struct virtq_chain *chain);
/*
 * Return a chain to the driver with @len bytes written. 0 or -EFAULT. While
 * the device is paused the entry is held back until resume (or a snapshot,
 * which publishes it first).
 */
int virtio_mmio_complete(struct virtio_mmio_dev *dev, unsigned int q, uint16_t head, uint32_t len);
/* After completing a batch: interrupt the driver unless it suppressed it. */
void virtio_mmio_signal_used(struct virtio_mmio_dev *dev, unsigned int q);
/* The device changed its config: bump ConfigGeneration, raise a config interrupt. */
void virtio_mmio_config_changed(struct virtio_mmio_dev *dev);
/* Unrecoverable: set DEVICE_NEEDS_RESET, stop queue work, raise a config interrupt. */
void virtio_mmio_set_needs_reset(struct virtio_mmio_dev *dev, const char *why);

/*
 * Log one line about a guest-caused error unless this device already logged
 * many this second (a hostile guest must not flood the log).
 */
void virtio_mmio_log_guest_error(struct virtio_mmio_dev *dev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
