// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-mmio v2 transport: the register file, the device status state
 * machine (virtio 1.x 2.1 and 3.1), feature negotiation, queue setup, queue
 * notifications and interrupts. Device models plug in through
 * struct virtio_device_ops.
 */
#include "devices/virtio/virtio_mmio.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/base/event_loop.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "vmm/base/vmstate.h"

/* Status bits the driver may set; DEVICE_NEEDS_RESET belongs to the device. */
#define STATUS_DRIVER_BITS                                                                         \
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |      \
	 VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FAILED)

/* Guest-error log lines allowed per device per second. */
#define GUEST_ERROR_LOGS_PER_SEC 10

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

void virtio_mmio_log_guest_error(struct virtio_mmio_dev *dev, const char *fmt, ...)
{
	struct timespec now;
	char msg[256];
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((uint64_t)now.tv_sec != dev->log_window) {
		dev->log_window = now.tv_sec;
		dev->log_count = 0;
	}
	if (dev->log_count++ >= GUEST_ERROR_LOGS_PER_SEC) {
		metric_inc(&g_metrics.logger.rate_limited_log_count);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("virtio-%s@0x%" PRIx64 ": %s", dev->ops->name, dev->base, msg);
}

static void raise_irq(struct virtio_mmio_dev *dev, uint32_t bits)
{
	dev->interrupt_status |= bits;
	/* The status is state (snapshots keep it); the injection waits for resume. */
	if (dev->paused)
		return;
	metric_inc(&g_metrics.virtio.interrupts);
	/* Only fails when the counter would overflow: an interrupt is pending anyway. */
	if (eventfd_write(dev->irq_fd, 1) < 0 && errno != EAGAIN)
		log_error("virtio-%s: interrupt eventfd: %s", dev->ops->name, strerror(errno));
}

static bool queue_live(const struct virtio_mmio_dev *dev, unsigned int q)
{
	return dev->activated &&
	       !(dev->status & (VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED)) &&
	       q < dev->ops->num_queues && dev->queues[q].ready;
}

void virtio_mmio_set_needs_reset(struct virtio_mmio_dev *dev, const char *why)
{
	if (dev->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	dev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	metric_inc(&g_metrics.virtio.needs_reset);
	log_error("virtio-%s@0x%" PRIx64 ": device needs reset: %s", dev->ops->name, dev->base,
		  why ? why : "unknown error");
	/* 2.1.2: with DRIVER_OK set, tell the driver through a config change. */
	if (dev->status & VIRTIO_CONFIG_S_DRIVER_OK)
		raise_irq(dev, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_mmio_config_changed(struct virtio_mmio_dev *dev)
{
	dev->config_generation++;
	if (dev->status & VIRTIO_CONFIG_S_DRIVER_OK)
		raise_irq(dev, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_mmio_signal_used(struct virtio_mmio_dev *dev, unsigned int q)
{
	if (virtq_need_interrupt(&dev->queues[q], dev->mem))
		raise_irq(dev, VIRTIO_MMIO_INT_VRING);
}

/*
 * Hold a completion back while paused. Each head is out at most once per
 * queue, so a queue never holds back more than its size; anything beyond
 * (or no memory) goes to the ring at once rather than being lost.
 */
static bool defer_completion(struct virtio_mmio_dev *dev, unsigned int q, uint16_t head,
			     uint32_t len)
{
	unsigned int limit = 0;

	for (unsigned int i = 0; i < dev->ops->num_queues; i++)
		limit += dev->queues[i].size;
	if (dev->nr_deferred >= limit)
		return false;
	if (dev->nr_deferred == dev->deferred_cap) {
		unsigned int cap = dev->deferred_cap ? dev->deferred_cap * 2 : 16;
		struct virtio_mmio_used *d = reallocarray(dev->deferred, cap, sizeof(*d));

		if (!d)
			return false;
		dev->deferred = d;
		dev->deferred_cap = cap;
	}
	dev->deferred[dev->nr_deferred++] =
	    (struct virtio_mmio_used){.queue = (uint16_t)q, .head = head, .len = len};
	return true;
}

static int push_used(struct virtio_mmio_dev *dev, unsigned int q, uint16_t head, uint32_t len)
{
	int ret = virtq_push_used(&dev->queues[q], dev->mem, head, len);

	if (ret)
		virtio_mmio_set_needs_reset(dev, "used ring outside guest RAM");
	return ret;
}

int virtio_mmio_complete(struct virtio_mmio_dev *dev, unsigned int q, uint16_t head, uint32_t len)
{
	if (dev->paused && defer_completion(dev, q, head, len))
		return 0;
	return push_used(dev, q, head, len);
}

/* Publish the completions held back while paused, in order, and signal their queues. */
static void flush_deferred(struct virtio_mmio_dev *dev)
{
	uint32_t touched = 0;
	unsigned int i;

	for (i = 0; i < dev->nr_deferred; i++) {
		const struct virtio_mmio_used *u = &dev->deferred[i];

		if (push_used(dev, u->queue, u->head, u->len))
			break;
		touched |= 1U << u->queue;
	}
	dev->nr_deferred = 0;
	for (unsigned int q = 0; q < dev->ops->num_queues; q++)
		if (touched & (1U << q))
			virtio_mmio_signal_used(dev, q);
}

int virtio_mmio_next_chain(struct virtio_mmio_dev *dev, unsigned int q, struct virtq_chain *chain)
{
	struct virtq *vq = &dev->queues[q];

	for (;;) {
		const char *why = NULL;
		uint16_t head;
		int ret;

		/* Paused: hand out nothing (and no yield either: resume kicks every queue). */
		if (dev->paused)
			return 0;
		if (!dev->chain_budget) {
			/* Yield to the rest of the loop; this eventfd brings us back. */
			eventfd_write(dev->notify_fds[q], 1);
			return 0;
		}
		ret = virtq_pop(vq, dev->mem, &head, &why);
		if (ret < 0) {
			virtio_mmio_set_needs_reset(dev, why);
			return -EIO;
		}
		if (ret == 0) {
			if (virtq_enable_notify(vq, dev->mem))
				continue;
			return 0;
		}
		dev->chain_budget--;
		ret = virtq_chain_walk(vq, dev->mem, head, chain, &why);
		if (!ret)
			return 1;
		metric_inc(&g_metrics.virtio.chain_errors);
		virtio_mmio_log_guest_error(
		    dev, "queue %u: malformed descriptor chain at head %u: %s", q, head, why);
		if (virtio_mmio_complete(dev, q, head, 0))
			return -EIO;
	}
}

/* ---- reset, status, features ---------------------------------------------- */

static void mmio_reset(struct virtio_mmio_dev *dev)
{
	if (dev->activated && dev->ops->reset)
		dev->ops->reset(dev);
	dev->activated = false;
	dev->status = 0;
	dev->driver_features = 0;
	dev->driver_features_high = false;
	dev->device_features_sel = dev->driver_features_sel = dev->queue_sel = 0;
	dev->interrupt_status = 0;
	/* Held-back completions belong to the rings the driver just dropped. */
	dev->nr_deferred = 0;
	/* ConfigGeneration stays: it must never repeat a value the driver saw. */
	for (unsigned int q = 0; q < dev->ops->num_queues; q++)
		virtq_init(&dev->queues[q], dev->ops->queue_max_size);
}

static bool features_acceptable(const struct virtio_mmio_dev *dev)
{
	return !dev->driver_features_high && !(dev->driver_features & ~dev->device_features) &&
	       (dev->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1));
}

static void mmio_activate(struct virtio_mmio_dev *dev)
{
	int ret = 0;

	for (unsigned int q = 0; q < dev->ops->num_queues; q++) {
		if (!dev->queues[q].ready) {
			metric_inc(&g_metrics.virtio.activate_fails);
			virtio_mmio_set_needs_reset(dev, "DRIVER_OK with a queue not ready");
			return;
		}
	}
	if (dev->ops->activate)
		ret = dev->ops->activate(dev);
	if (ret) {
		metric_inc(&g_metrics.virtio.activate_fails);
		virtio_mmio_set_needs_reset(dev, "device activation failed");
		return;
	}
	dev->activated = true;
	/* Buffers the driver made available before DRIVER_OK were not consumed yet. */
	for (unsigned int q = 0; q < dev->ops->num_queues; q++)
		eventfd_write(dev->notify_fds[q], 1);
}

/* The one bit the next initialisation step (3.1.1) adds to @cur. */
static uint32_t next_status_step(uint32_t cur)
{
	switch (cur) {
	case 0:
		return VIRTIO_CONFIG_S_ACKNOWLEDGE;
	case VIRTIO_CONFIG_S_ACKNOWLEDGE:
		return VIRTIO_CONFIG_S_DRIVER;
	case VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER:
		return VIRTIO_CONFIG_S_FEATURES_OK;
	case VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK:
		return VIRTIO_CONFIG_S_DRIVER_OK;
	default:
		return 0;
	}
}

/* Why @val may not follow the current status, or NULL when it may. */
static const char *status_write_refusal(uint32_t cur, uint32_t val, uint32_t added)
{
	if (val & ~(STATUS_DRIVER_BITS | VIRTIO_CONFIG_S_NEEDS_RESET))
		return "unknown status bits";
	/* 2.1.1: the driver MUST NOT clear a status bit (only a write of 0 resets). */
	if (((val & STATUS_DRIVER_BITS) & cur) != cur)
		return "clears status bits";
	if (!added || (added & VIRTIO_CONFIG_S_FAILED))
		return NULL;
	if (cur & VIRTIO_CONFIG_S_FAILED)
		return "device FAILED, reset required";
	if (added != next_status_step(cur))
		return "skips an initialisation step";
	return NULL;
}

static void mmio_set_status(struct virtio_mmio_dev *dev, uint32_t val)
{
	uint32_t cur = dev->status & STATUS_DRIVER_BITS;
	uint32_t added = val & STATUS_DRIVER_BITS & ~cur;
	const char *refusal;

	if (val == 0) {
		mmio_reset(dev);
		return;
	}
	refusal = status_write_refusal(cur, val, added);
	if (refusal) {
		metric_inc(&g_metrics.virtio.status_refused);
		virtio_mmio_log_guest_error(dev, "status 0x%x -> 0x%x refused: %s", dev->status,
					    val, refusal);
		return;
	}
	if (!added)
		return;
	if (added & VIRTIO_CONFIG_S_FAILED) {
		/* The driver gave up: no more queue work until it resets the device. */
		dev->status |= VIRTIO_CONFIG_S_FAILED;
		return;
	}
	if (added == VIRTIO_CONFIG_S_FEATURES_OK && !features_acceptable(dev)) {
		/* FEATURES_OK stays clear: the driver reads it back and gives up. */
		metric_inc(&g_metrics.virtio.features_refused);
		virtio_mmio_log_guest_error(
		    dev,
		    "driver features 0x%" PRIx64 "%s refused (offered 0x%" PRIx64
		    ", VERSION_1 required)",
		    dev->driver_features, dev->driver_features_high ? " (+bits >= 64)" : "",
		    dev->device_features);
		return;
	}
	dev->status |= added;
	if (added == VIRTIO_CONFIG_S_DRIVER_OK && !(dev->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		mmio_activate(dev);
}

static bool status_is(const struct virtio_mmio_dev *dev, uint32_t set, uint32_t clear)
{
	return (dev->status & (set | clear)) == set;
}

static void bad_access(struct virtio_mmio_dev *dev, const char *what, uint64_t offset, uint32_t len)
{
	metric_inc(&g_metrics.virtio.mmio_invalid_access);
	virtio_mmio_log_guest_error(dev, "ignored %s of %u bytes at offset 0x%" PRIx64, what, len,
				    offset);
}

static void write_driver_features(struct virtio_mmio_dev *dev, uint32_t v)
{
	/* Only between DRIVER and FEATURES_OK (3.1.1 step 4). */
	if (!status_is(dev, VIRTIO_CONFIG_S_DRIVER,
		       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_FAILED |
			   VIRTIO_CONFIG_S_NEEDS_RESET)) {
		bad_access(dev, "DriverFeatures write in this status", VIRTIO_MMIO_DRIVER_FEATURES,
			   4);
		return;
	}
	switch (dev->driver_features_sel) {
	case 0:
		dev->driver_features = (dev->driver_features & ~0xffffffffULL) | v;
		break;
	case 1:
		dev->driver_features = (dev->driver_features & 0xffffffffULL) | (uint64_t)v << 32;
		break;
	default:
		/* Nothing is offered past bit 63; remember so FEATURES_OK fails. */
		if (v)
			dev->driver_features_high = true;
		break;
	}
}

/* ---- queue registers ------------------------------------------------------ */

static struct virtq *selected_queue(struct virtio_mmio_dev *dev)
{
	return dev->queue_sel < dev->ops->num_queues ? &dev->queues[dev->queue_sel] : NULL;
}

static void set_queue_ready(struct virtio_mmio_dev *dev, struct virtq *q, uint32_t v)
{
	const char *why;

	if (v == 0) {
		q->ready = false;
		return;
	}
	if (virtq_validate(q, dev->mem, &why)) {
		metric_inc(&g_metrics.virtio.queue_config_refused);
		virtio_mmio_log_guest_error(dev,
					    "queue %u refused: %s (size %u desc 0x%" PRIx64
					    " avail 0x%" PRIx64 " used 0x%" PRIx64 ")",
					    dev->queue_sel, why, q->size, q->desc_gpa, q->avail_gpa,
					    q->used_gpa);
		return;
	}
	virtq_start(q, virtio_mmio_has_feature(dev, VIRTIO_RING_F_EVENT_IDX),
		    virtio_mmio_has_feature(dev, VIRTIO_RING_F_INDIRECT_DESC));
}

static void set_lo(uint64_t *r, uint32_t v)
{
	*r = (*r & ~0xffffffffULL) | v;
}

static void set_hi(uint64_t *r, uint32_t v)
{
	*r = (*r & 0xffffffffULL) | (uint64_t)v << 32;
}

static void write_queue_reg(struct virtio_mmio_dev *dev, uint64_t offset, uint32_t v)
{
	struct virtq *q = selected_queue(dev);

	/* Queues are set up after FEATURES_OK and before DRIVER_OK (3.1.1 step 7). */
	if (!q || !status_is(dev, VIRTIO_CONFIG_S_FEATURES_OK,
			     VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FAILED)) {
		bad_access(dev, "queue register write in this status", offset, 4);
		return;
	}
	if (offset == VIRTIO_MMIO_QUEUE_READY) {
		set_queue_ready(dev, q, v);
		return;
	}
	/* A live queue's layout cannot change under the device. */
	if (q->ready) {
		bad_access(dev, "queue register write on a ready queue", offset, 4);
		return;
	}
	switch (offset) {
	case VIRTIO_MMIO_QUEUE_NUM:
		q->size = v;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		set_lo(&q->desc_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_hi(&q->desc_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
		set_lo(&q->avail_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		set_hi(&q->avail_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
		set_lo(&q->used_gpa, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		set_hi(&q->used_gpa, v);
		break;
	}
}

static void queue_notify(struct virtio_mmio_dev *dev, uint32_t v)
{
	if (v >= dev->ops->num_queues) {
		bad_access(dev, "QueueNotify of a queue that does not exist",
			   VIRTIO_MMIO_QUEUE_NOTIFY, 4);
		return;
	}
	/* Same path as the ioeventfd: the work happens on the VMM thread. */
	eventfd_write(dev->notify_fds[v], 1);
}

/* ---- register file -------------------------------------------------------- */

static uint32_t features_page(uint64_t features, uint32_t sel)
{
	if (sel == 0)
		return (uint32_t)features;
	if (sel == 1)
		return (uint32_t)(features >> 32);
	return 0;
}

static uint32_t reg_read(struct virtio_mmio_dev *dev, uint64_t offset)
{
	struct virtq *q = selected_queue(dev);

	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_2;
	case VIRTIO_MMIO_DEVICE_ID:
		return dev->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return features_page(dev->device_features, dev->device_features_sel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? q->max_size : 0; /* 0: the queue is not available */
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return dev->interrupt_status;
	case VIRTIO_MMIO_STATUS:
		return dev->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return dev->config_generation;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffffU; /* length -1: no shared memory region (4.2.2) */
	default:
		bad_access(dev, "read of a write-only or unknown register", offset, 4);
		return 0;
	}
}

static void reg_write(struct virtio_mmio_dev *dev, uint64_t offset, uint32_t v)
{
	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		dev->device_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		write_driver_features(dev, v);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		dev->driver_features_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		dev->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		write_queue_reg(dev, offset, v);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		queue_notify(dev, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		dev->interrupt_status &= ~v;
		break;
	case VIRTIO_MMIO_STATUS:
		mmio_set_status(dev, v);
		break;
	case VIRTIO_MMIO_SHM_SEL:
		break;
	default:
		bad_access(dev, "write of a read-only or unknown register", offset, 4);
		break;
	}
}

static bool config_in_range(const struct virtio_mmio_dev *dev, uint64_t off, uint32_t len)
{
	return off <= dev->ops->config_size && len <= dev->ops->config_size - off;
}

static void config_read(struct virtio_mmio_dev *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	if (!config_in_range(dev, off, len)) {
		metric_inc(&g_metrics.virtio.config_out_of_range);
		virtio_mmio_log_guest_error(
		    dev, "config read of %u bytes at 0x%" PRIx64 " past its %u bytes", len, off,
		    dev->ops->config_size);
		return;
	}
	dev->ops->config_read(dev, (uint32_t)off, data, len);
}

static void config_write(struct virtio_mmio_dev *dev, uint64_t off, const uint8_t *data,
			 uint32_t len)
{
	if (!config_in_range(dev, off, len)) {
		metric_inc(&g_metrics.virtio.config_out_of_range);
		virtio_mmio_log_guest_error(
		    dev, "config write of %u bytes at 0x%" PRIx64 " past its %u bytes", len, off,
		    dev->ops->config_size);
		return;
	}
	if (!dev->ops->config_write ||
	    !status_is(dev, VIRTIO_CONFIG_S_DRIVER,
		       VIRTIO_CONFIG_S_FAILED | VIRTIO_CONFIG_S_NEEDS_RESET)) {
		bad_access(dev, "config write (read-only or wrong status)",
			   VIRTIO_MMIO_CONFIG + off, len);
		return;
	}
	dev->ops->config_write(dev, (uint32_t)off, data, len);
}

static void mmio_bus_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct virtio_mmio_dev *dev = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&dev->lock);
	if (offset >= VIRTIO_MMIO_CONFIG)
		config_read(dev, offset - VIRTIO_MMIO_CONFIG, data, len);
	else if (len != 4 || offset % 4)
		bad_access(dev, "register read of the wrong width", offset, len);
	else
		put_le32(data, reg_read(dev, offset));
	pthread_mutex_unlock(&dev->lock);
}

static void mmio_bus_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct virtio_mmio_dev *dev = opaque;

	pthread_mutex_lock(&dev->lock);
	if (offset >= VIRTIO_MMIO_CONFIG)
		config_write(dev, offset - VIRTIO_MMIO_CONFIG, data, len);
	else if (len != 4 || offset % 4)
		bad_access(dev, "register write of the wrong width", offset, len);
	else
		reg_write(dev, offset, get_le32(data));
	pthread_mutex_unlock(&dev->lock);
}

const struct bus_device_ops virtio_mmio_bus_ops = {
    .read = mmio_bus_read,
    .write = mmio_bus_write,
};

/* ---- lifecycle and wiring ------------------------------------------------- */

static bool ops_valid(const struct virtio_device_ops *ops, uint64_t features)
{
	uint16_t n = ops->queue_max_size;

	return ops->num_queues && ops->num_queues <= VIRTIO_MAX_QUEUES && n && !(n & (n - 1)) &&
	       n <= VIRTQ_MAX_SIZE && ops->config_size <= VIRTIO_MMIO_CONFIG_SPACE &&
	       (ops->config_read || !ops->config_size) && ops->process_queue &&
	       (features & VIRTIO_BIT(VIRTIO_F_VERSION_1));
}

int virtio_mmio_create(struct virtio_mmio_dev **out, const struct virtio_device_ops *ops,
		       void *backend, const struct guest_mem *mem, uint64_t base, uint32_t gsi,
		       uint64_t device_features)
{
	struct virtio_mmio_dev *dev;
	int ret;

	if (!ops_valid(ops, device_features))
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	ret = -pthread_mutex_init(&dev->lock, NULL);
	if (ret) {
		free(dev);
		return ret;
	}
	dev->ops = ops;
	dev->backend = backend;
	dev->mem = mem;
	dev->base = base;
	dev->gsi = gsi;
	dev->device_features = device_features;
	dev->irq_fd = -1;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		dev->notify_fds[q] = -1;
	mmio_reset(dev);

	dev->irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (dev->irq_fd < 0)
		goto fail;
	for (unsigned int q = 0; q < ops->num_queues; q++) {
		dev->notify[q].dev = dev;
		dev->notify[q].queue = q;
		dev->notify_fds[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (dev->notify_fds[q] < 0)
			goto fail;
	}
	*out = dev;
	return 0;
fail:
	ret = -errno;
	virtio_mmio_destroy(dev);
	return ret;
}

void virtio_mmio_destroy(struct virtio_mmio_dev *dev)
{
	if (!dev)
		return;
	virtio_mmio_detach(dev);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (dev->notify_fds[q] >= 0)
			close(dev->notify_fds[q]);
	}
	if (dev->irq_fd >= 0)
		close(dev->irq_fd);
	pthread_mutex_destroy(&dev->lock);
	free(dev->deferred);
	free(dev);
}

void virtio_mmio_kick(struct virtio_mmio_dev *dev, unsigned int q)
{
	pthread_mutex_lock(&dev->lock);
	/* Paused: virtio_mmio_resume() kicks every queue. */
	if (!dev->paused && queue_live(dev, q)) {
		metric_inc(&g_metrics.virtio.queue_notifies);
		dev->chain_budget = VIRTIO_MMIO_CHAIN_BUDGET;
		dev->ops->process_queue(dev, q);
	}
	pthread_mutex_unlock(&dev->lock);
}

void virtio_mmio_pause(struct virtio_mmio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	dev->paused = true;
	pthread_mutex_unlock(&dev->lock);
}

void virtio_mmio_resume(struct virtio_mmio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	if (!dev->paused) {
		pthread_mutex_unlock(&dev->lock);
		return;
	}
	flush_deferred(dev);
	dev->paused = false;
	/*
	 * One injection for everything raised while paused; also when the
	 * status came from a snapshot: a spare interrupt is harmless (the
	 * driver reads the status), a lost one hangs the driver.
	 */
	if (dev->interrupt_status)
		raise_irq(dev, 0);
	pthread_mutex_unlock(&dev->lock);
	for (unsigned int q = 0; q < dev->ops->num_queues; q++)
		virtio_mmio_kick(dev, q);
}

bool virtio_mmio_is_paused(const struct virtio_mmio_dev *dev)
{
	return dev->paused;
}

static void notify_event(void *opaque, uint32_t events)
{
	struct virtio_mmio_notify *n = opaque;
	eventfd_t count;

	(void)events;
	/* Several notifications coalesce into one pass over the ring. */
	if (eventfd_read(n->dev->notify_fds[n->queue], &count) < 0)
		return;
	virtio_mmio_kick(n->dev, n->queue);
}

int virtio_mmio_attach(struct virtio_mmio_dev *dev, struct event_loop *loop)
{
	unsigned int q;
	int ret = 0;

	if (dev->loop)
		return -EBUSY;
	for (q = 0; q < dev->ops->num_queues; q++) {
		ret = event_loop_add(loop, dev->notify_fds[q], EPOLLIN, notify_event,
				     &dev->notify[q]);
		if (ret)
			goto fail;
	}
	if (dev->ops->attach) {
		ret = dev->ops->attach(dev, loop);
		if (ret)
			goto fail;
	}
	dev->loop = loop;
	return 0;
fail:
	while (q--)
		event_loop_del(loop, dev->notify_fds[q]);
	return ret;
}

void virtio_mmio_detach(struct virtio_mmio_dev *dev)
{
	if (!dev->loop)
		return;
	if (dev->ops->detach)
		dev->ops->detach(dev, dev->loop);
	for (unsigned int q = 0; q < dev->ops->num_queues; q++)
		event_loop_del(dev->loop, dev->notify_fds[q]);
	dev->loop = NULL;
}

unsigned int virtio_mmio_num_queues(const struct virtio_mmio_dev *dev)
{
	return dev->ops->num_queues;
}

int virtio_mmio_queue_notify_fd(const struct virtio_mmio_dev *dev, unsigned int q)
{
	return q < dev->ops->num_queues ? dev->notify_fds[q] : -1;
}

int virtio_mmio_irq_fd(const struct virtio_mmio_dev *dev)
{
	return dev->irq_fd;
}

uint64_t virtio_mmio_base(const struct virtio_mmio_dev *dev)
{
	return dev->base;
}

uint32_t virtio_mmio_gsi(const struct virtio_mmio_dev *dev)
{
	return dev->gsi;
}

int virtio_mmio_cmdline_arg(uint64_t base, uint32_t gsi, char *buf, size_t len)
{
	int n = snprintf(buf, len, "virtio_mmio.device=%lluK@0x%08" PRIx64 ":%" PRIu32,
			 VIRTIO_MMIO_SLOT_SIZE / 1024, base, gsi);

	return (n < 0 || (size_t)n >= len) ? -ENOSPC : n;
}

/* ---- snapshots ------------------------------------------------------------ */

static void mmio_save_transport(const struct virtio_mmio_dev *dev, struct vmstate_writer *w)
{
	vmstate_put_u32(w, dev->ops->device_id);
	vmstate_put_u64(w, dev->base);
	vmstate_put_u32(w, dev->gsi);
	vmstate_put_u64(w, dev->device_features);
	vmstate_put_u64(w, dev->driver_features);
	vmstate_put_bool(w, dev->driver_features_high);
	vmstate_put_u32(w, dev->device_features_sel);
	vmstate_put_u32(w, dev->driver_features_sel);
	vmstate_put_u32(w, dev->queue_sel);
	vmstate_put_u32(w, dev->status);
	vmstate_put_u32(w, dev->interrupt_status);
	vmstate_put_u32(w, dev->config_generation);
	vmstate_put_bool(w, dev->activated);
	vmstate_put_u32(w, dev->ops->num_queues);
	for (unsigned int q = 0; q < dev->ops->num_queues; q++)
		virtq_save(&dev->queues[q], w);
}

int virtio_mmio_save(struct virtio_mmio_dev *dev, struct vmstate_writer *w)
{
	struct vmstate_writer dw;
	int ret = 0;

	/*
	 * The device first: completing its in-flight I/O moves the queue
	 * indices saved next. Its bytes go after the transport's, as a blob.
	 */
	vmstate_writer_init_raw(&dw);
	pthread_mutex_lock(&dev->lock);
	if (dev->ops->save)
		ret = dev->ops->save(dev, &dw);
	if (!ret)
		ret = dw.err;
	if (!ret) {
		/* The memory file is written after this: the rings must be complete. */
		flush_deferred(dev);
		mmio_save_transport(dev, w);
		vmstate_put_blob(w, dw.buf, dw.len);
	}
	pthread_mutex_unlock(&dev->lock);
	vmstate_writer_free(&dw);
	return ret;
}

/* The saved registers, checked against this device (same model and wiring). */
static int mmio_restore_transport(struct virtio_mmio_dev *dev, struct vmstate_reader *r)
{
	struct virtio_mmio_dev s;
	uint32_t device_id, nr_queues;
	uint64_t device_features;

	device_id = vmstate_get_u32(r);
	s.base = vmstate_get_u64(r);
	s.gsi = vmstate_get_u32(r);
	device_features = vmstate_get_u64(r);
	s.driver_features = vmstate_get_u64(r);
	s.driver_features_high = vmstate_get_bool(r);
	s.device_features_sel = vmstate_get_u32(r);
	s.driver_features_sel = vmstate_get_u32(r);
	s.queue_sel = vmstate_get_u32(r);
	s.status = vmstate_get_u32(r);
	s.interrupt_status = vmstate_get_u32(r);
	s.config_generation = vmstate_get_u32(r);
	s.activated = vmstate_get_bool(r);
	nr_queues = vmstate_get_u32(r);
	if (r->err)
		return r->err;
	if (device_id != dev->ops->device_id || s.base != dev->base || s.gsi != dev->gsi ||
	    nr_queues != dev->ops->num_queues || (s.driver_features & ~dev->device_features)) {
		log_error("virtio-%s@0x%" PRIx64 ": the snapshot holds another device (id %u at "
			  "0x%" PRIx64 " irq %u, features 0x%" PRIx64 ")",
			  dev->ops->name, dev->base, device_id, s.base, s.gsi, device_features);
		return -EINVAL;
	}
	for (unsigned int q = 0; q < nr_queues; q++) {
		int ret = virtq_restore(&dev->queues[q], r, dev->mem);

		if (ret)
			return ret;
	}
	dev->driver_features = s.driver_features;
	dev->driver_features_high = s.driver_features_high;
	dev->device_features_sel = s.device_features_sel;
	dev->driver_features_sel = s.driver_features_sel;
	dev->queue_sel = s.queue_sel;
	dev->status = s.status;
	dev->interrupt_status = s.interrupt_status;
	dev->config_generation = s.config_generation;
	dev->activated = s.activated;
	dev->nr_deferred = 0;
	return 0;
}

static const char *device_name(uint32_t id)
{
	switch (id) {
	case VIRTIO_ID_NET:
		return "net";
	case VIRTIO_ID_BLOCK:
		return "block";
	case VIRTIO_ID_RNG:
		return "rng";
	case VIRTIO_ID_VSOCK:
		return "vsock";
	case VIRTIO_ID_BALLOON:
		return "balloon";
	case VIRTIO_ID_MEM:
		return "mem";
	case VIRTIO_ID_PMEM:
		return "pmem";
	default:
		return "unknown";
	}
}

int virtio_mmio_describe_state(struct vmstate_reader *r, FILE *out)
{
	uint32_t id = vmstate_get_u32(r), gsi, status, isr, nr;
	uint64_t base = vmstate_get_u64(r), offered, driver;
	bool activated;
	size_t len;

	gsi = vmstate_get_u32(r);
	offered = vmstate_get_u64(r);
	driver = vmstate_get_u64(r);
	vmstate_get_bool(r);
	for (int i = 0; i < 3; i++)
		vmstate_get_u32(r); /* feature and queue selectors */
	status = vmstate_get_u32(r);
	isr = vmstate_get_u32(r);
	vmstate_get_u32(r); /* config generation */
	activated = vmstate_get_bool(r);
	nr = vmstate_get_u32(r);
	if (r->err || nr > VIRTIO_MAX_QUEUES)
		return -EINVAL;
	fprintf(out,
		"virtio-%s at 0x%" PRIx64 " irq %u: status 0x%x%s, features 0x%" PRIx64
		" of 0x%" PRIx64 ", interrupt status 0x%x\n",
		device_name(id), base, gsi, status, activated ? " (activated)" : "", driver,
		offered, isr);
	for (uint32_t q = 0; q < nr; q++) {
		struct virtq vq;

		if (virtq_read_saved(&vq, r))
			return r->err;
		fprintf(out, "    queue %u: size %u%s, next avail %u, used %u\n", q, vq.size,
			vq.ready ? " ready" : "", vq.last_avail_idx, vq.used_idx);
	}
	vmstate_get_blob_ref(r, &len);
	fprintf(out, "    device state: %zu bytes\n", len);
	return vmstate_reader_end(r);
}

int virtio_mmio_restore(struct virtio_mmio_dev *dev, struct vmstate_reader *r)
{
	struct vmstate_reader dr = {0};
	size_t len;
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = mmio_restore_transport(dev, r);
	if (!ret) {
		dr.p = vmstate_get_blob_ref(r, &len);
		dr.len = len;
		ret = vmstate_reader_end(r);
	}
	if (!ret && dev->ops->restore)
		ret = dev->ops->restore(dev, &dr);
	if (!ret)
		ret = vmstate_reader_end(&dr);
	if (!ret && dev->activated && dev->ops->activate)
		ret = dev->ops->activate(dev);
	for (unsigned int q = 0; !ret && q < dev->ops->num_queues; q++)
		if (queue_live(dev, q))
			eventfd_write(dev->notify_fds[q], 1);
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

void virtio_mmio_lock(struct virtio_mmio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
}

void virtio_mmio_unlock(struct virtio_mmio_dev *dev)
{
	pthread_mutex_unlock(&dev->lock);
}
