// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-mmio transport: registers, the status state machine, feature
 * negotiation, queue setup, notifications, interrupts and ring corruption,
 * driven through the bus ops exactly as a vCPU would, with a small device
 * model behind it and real guest memory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>

#include <cmocka.h>

#include "vmm/base/event_loop.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "vmm/base/metrics.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtq_driver.h"
#include "vmm/base/vmstate.h"

#define RAM_SIZE    (4 * MIB)
#define BASE	    LAYOUT_VIRTIO_START
#define GSI	    5
#define RING0	    0x10000ULL
#define RING1	    0x18000ULL
#define BUF	    0x40000ULL
#define QMAX	    64
#define TEST_ID	    42
#define FEATURE_DEV 5 /* a device-specific bit the test device offers */
#define OFFERED	    (VIRTIO_COMMON_FEATURES | VIRTIO_BIT(FEATURE_DEV))

struct test_dev {
	struct guest_mem mem;
	struct virtio_mmio_dev *dev;
	struct virtq_driver drv[2];
	uint8_t config[12];
	int activations, resets, activate_ret;
	int processed[2];
	uint32_t completed_len[8];
	int nr_completed;
	int completions;
	bool refill; /* act like a guest that republishes every completed head at once */
};

static void td_config_read(struct virtio_mmio_dev *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct test_dev *td = virtio_mmio_backend(dev);

	memcpy(data, td->config + off, len);
}

static void td_config_write(struct virtio_mmio_dev *dev, uint32_t off, const uint8_t *data,
			    uint32_t len)
{
	struct test_dev *td = virtio_mmio_backend(dev);

	memcpy(td->config + off, data, len);
}

static int td_activate(struct virtio_mmio_dev *dev)
{
	struct test_dev *td = virtio_mmio_backend(dev);

	td->activations++;
	return td->activate_ret;
}

static void td_reset(struct virtio_mmio_dev *dev)
{
	struct test_dev *td = virtio_mmio_backend(dev);

	td->resets++;
}

/* Completes every chain with its writable length. */
static void td_process(struct virtio_mmio_dev *dev, unsigned int q)
{
	struct test_dev *td = virtio_mmio_backend(dev);

	td->processed[q]++;
	while (virtio_mmio_next_chain(dev, q, &dev->chain) > 0) {
		if (td->nr_completed < 8)
			td->completed_len[td->nr_completed++] = dev->chain.write_len;
		virtio_mmio_complete(dev, q, dev->chain.head, dev->chain.write_len);
		td->completions++;
		if (td->refill)
			virtq_driver_publish(&td->drv[q], dev->chain.head);
	}
	virtio_mmio_signal_used(dev, q);
}

static const struct virtio_device_ops td_ops = {
    .name = "test",
    .device_id = TEST_ID,
    .num_queues = 2,
    .queue_max_size = QMAX,
    .config_size = 12,
    .config_read = td_config_read,
    .config_write = td_config_write,
    .activate = td_activate,
    .reset = td_reset,
    .process_queue = td_process,
};

static int setup(void **state)
{
	static struct test_dev td;

	memset(&td, 0, sizeof(td));
	metrics_reset();
	if (guest_mem_create(&td.mem, RAM_SIZE))
		return -1;
	for (int i = 0; i < 12; i++)
		td.config[i] = (uint8_t)(0xa0 + i);
	if (virtio_mmio_create(&td.dev, &td_ops, &td, &td.mem, BASE, GSI, OFFERED))
		return -1;
	if (virtq_driver_init(&td.drv[0], &td.mem, RING0, 16) ||
	    virtq_driver_init(&td.drv[1], &td.mem, RING1, 32))
		return -1;
	*state = &td;
	return 0;
}

static int teardown(void **state)
{
	struct test_dev *td = *state;

	virtio_mmio_destroy(td->dev);
	guest_mem_destroy(&td->mem);
	return 0;
}

static uint32_t rd(struct test_dev *td, uint64_t off)
{
	return virtio_mmio_driver_read(td->dev, off);
}

static void wr(struct test_dev *td, uint64_t off, uint32_t v)
{
	virtio_mmio_driver_write(td->dev, off, v);
}

/* Consume an eventfd: true when it had been signalled. */
static bool fired(int fd)
{
	eventfd_t v;

	return eventfd_read(fd, &v) == 0;
}

#define S_ACK	   VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV	   VIRTIO_CONFIG_S_DRIVER
#define S_FEAT	   VIRTIO_CONFIG_S_FEATURES_OK
#define S_OK	   VIRTIO_CONFIG_S_DRIVER_OK
#define S_FAILED   VIRTIO_CONFIG_S_FAILED
#define S_NEEDS_RS VIRTIO_CONFIG_S_NEEDS_RESET

static void bring_up(struct test_dev *td, uint64_t features)
{
	assert_int_equal(virtio_mmio_driver_negotiate(td->dev, features), S_ACK | S_DRV | S_FEAT);
	assert_int_equal(virtio_mmio_driver_setup_queue(td->dev, 0, &td->drv[0]), 1);
	assert_int_equal(virtio_mmio_driver_setup_queue(td->dev, 1, &td->drv[1]), 1);
	assert_int_equal(virtio_mmio_driver_ok(td->dev), S_ACK | S_DRV | S_FEAT | S_OK);
	/* Activation pokes every queue once; drain those. */
	fired(virtio_mmio_queue_notify_fd(td->dev, 0));
	fired(virtio_mmio_queue_notify_fd(td->dev, 1));
}

/* ---- identity and features ---------------------------------------------------- */

static void test_identity(void **state)
{
	struct test_dev *td = *state;

	assert_int_equal(rd(td, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(td, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(td, VIRTIO_MMIO_DEVICE_ID), TEST_ID);
	assert_int_equal(rd(td, VIRTIO_MMIO_VENDOR_ID), 0);
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS), 0);
	wr(td, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd(td, VIRTIO_MMIO_QUEUE_NUM_MAX), QMAX);
	assert_int_equal(rd(td, VIRTIO_MMIO_QUEUE_READY), 0);
	wr(td, VIRTIO_MMIO_QUEUE_SEL, 2); /* no such queue */
	assert_int_equal(rd(td, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_int_equal(rd(td, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	assert_int_equal(rd(td, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
	assert_int_equal(virtio_mmio_num_queues(td->dev), 2);
	assert_true(virtio_mmio_queue_notify_fd(td->dev, 0) >= 0);
	assert_true(virtio_mmio_queue_notify_fd(td->dev, 1) >= 0);
	assert_int_equal(virtio_mmio_queue_notify_fd(td->dev, 2), -1);
	assert_true(virtio_mmio_irq_fd(td->dev) >= 0);
	assert_int_equal(virtio_mmio_base(td->dev), BASE);
	assert_int_equal(virtio_mmio_gsi(td->dev), GSI);
}

static void test_feature_pages(void **state)
{
	struct test_dev *td = *state;

	wr(td, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(rd(td, VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)OFFERED);
	wr(td, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(td, VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)(OFFERED >> 32));
	assert_int_equal(rd(td, VIRTIO_MMIO_DEVICE_FEATURES), 1); /* VERSION_1 = bit 32 */
	wr(td, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(td, VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

static void test_negotiation_accepts_subset(void **state)
{
	struct test_dev *td = *state;
	uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(FEATURE_DEV);

	assert_int_equal(virtio_mmio_driver_negotiate(td->dev, want), S_ACK | S_DRV | S_FEAT);
	assert_int_equal(td->dev->driver_features, want);
	assert_int_equal(g_metrics.virtio.features_refused, 0);
}

static void test_negotiation_refuses_unoffered(void **state)
{
	struct test_dev *td = *state;

	/* Bit 6 is not offered. */
	assert_int_equal(
	    virtio_mmio_driver_negotiate(td->dev, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(6)),
	    S_ACK | S_DRV);
	assert_int_equal(g_metrics.virtio.features_refused, 1);
	/* Without VERSION_1 (a legacy driver). */
	assert_int_equal(virtio_mmio_driver_negotiate(td->dev, VIRTIO_BIT(FEATURE_DEV)),
			 S_ACK | S_DRV);
	assert_int_equal(g_metrics.virtio.features_refused, 2);
	/* A bit past 63, through the third feature page. */
	virtio_mmio_driver_negotiate(td->dev, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	wr(td, VIRTIO_MMIO_STATUS, 0);
	wr(td, VIRTIO_MMIO_STATUS, S_ACK);
	wr(td, VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	wr(td, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(td, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(td, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr(td, VIRTIO_MMIO_DRIVER_FEATURES, 0x10);
	wr(td, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT);
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	assert_int_equal(g_metrics.virtio.features_refused, 3);
	/* After a refusal the driver may try again with a valid set. */
	wr(td, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr(td, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	wr(td, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT);
	/* driver_features_high is sticky until reset: still refused. */
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	assert_int_equal(virtio_mmio_driver_negotiate(td->dev, VIRTIO_BIT(VIRTIO_F_VERSION_1)),
			 S_ACK | S_DRV | S_FEAT);
}

static void test_driver_features_only_in_driver_state(void **state)
{
	struct test_dev *td = *state;

	/* Before DRIVER: ignored. */
	wr(td, VIRTIO_MMIO_STATUS, S_ACK);
	wr(td, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(td, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	assert_int_equal(td->dev->driver_features, 0);
	assert_int_equal(g_metrics.virtio.mmio_invalid_access, 1);
	/* After FEATURES_OK: frozen. */
	virtio_mmio_driver_negotiate(td->dev, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	wr(td, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(td, VIRTIO_MMIO_DRIVER_FEATURES, VIRTIO_BIT(FEATURE_DEV));
	assert_int_equal(td->dev->driver_features, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(g_metrics.virtio.mmio_invalid_access, 2);
}

/* ---- status state machine ------------------------------------------------------ */

static void test_status_sequence(void **state)
{
	struct test_dev *td = *state;

	/* Skipping ACKNOWLEDGE. */
	wr(td, VIRTIO_MMIO_STATUS, S_DRV);
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS), 0);
	wr(td, VIRTIO_MMIO_STATUS, S_ACK);
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS), S_ACK);
	/* Skipping DRIVER, then two steps at once. */
	wr(td, VIRTIO_MMIO_STATUS, S_ACK | S_FEAT);
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS), S_ACK);
	wr(td, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT);
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS), S_ACK);
	wr(td, VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	/* Clearing a bit (only a write of 0 may). */
	wr(td, VIRTIO_MMIO_STATUS, S_DRV);
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	/* The same value again is a no-op, not an error. */
	wr(td, VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	/* Unknown bits. */
	wr(td, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | 0x10);
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	/* DRIVER_OK before FEATURES_OK. */
	wr(td, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_OK);
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	assert_int_equal(g_metrics.virtio.status_refused, 6);
	assert_int_equal(td->activations, 0);
}

static void test_failed_needs_reset(void **state)
{
	struct test_dev *td = *state;

	wr(td, VIRTIO_MMIO_STATUS, S_ACK);
	wr(td, VIRTIO_MMIO_STATUS, S_ACK | S_FAILED);
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS), S_ACK | S_FAILED);
	wr(td, VIRTIO_MMIO_STATUS, S_ACK | S_FAILED | S_DRV);
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS), S_ACK | S_FAILED);
	wr(td, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS), 0);
	wr(td, VIRTIO_MMIO_STATUS, S_ACK);
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS), S_ACK);
}

static void test_activate_and_reset(void **state)
{
	struct test_dev *td = *state;
	uint32_t gen;

	bring_up(td, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(td->activations, 1);
	virtio_mmio_lock(td->dev);
	virtio_mmio_config_changed(td->dev);
	virtio_mmio_unlock(td->dev);
	gen = rd(td, VIRTIO_MMIO_CONFIG_GENERATION);
	assert_int_equal(gen, 1);

	wr(td, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(td->resets, 1);
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd(td, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(td->dev->driver_features, 0);
	for (unsigned int q = 0; q < 2; q++) {
		wr(td, VIRTIO_MMIO_QUEUE_SEL, q);
		assert_int_equal(rd(td, VIRTIO_MMIO_QUEUE_READY), 0);
		assert_int_equal(td->dev->queues[q].desc_gpa, 0);
		assert_int_equal(td->dev->queues[q].size, QMAX);
	}
	/* The generation never goes back. */
	assert_int_equal(rd(td, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	/* A reset device does not process notifications. */
	virtio_mmio_kick(td->dev, 0);
	assert_int_equal(td->processed[0], 0);
	/* And comes back up. */
	bring_up(td, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(td->activations, 2);
}

static void test_driver_ok_with_queue_missing(void **state)
{
	struct test_dev *td = *state;
	int irq = virtio_mmio_irq_fd(td->dev);

	virtio_mmio_driver_negotiate(td->dev, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	virtio_mmio_driver_setup_queue(td->dev, 0, &td->drv[0]);
	assert_int_equal(virtio_mmio_driver_ok(td->dev),
			 S_ACK | S_DRV | S_FEAT | S_OK | S_NEEDS_RS);
	assert_int_equal(td->activations, 0);
	assert_int_equal(g_metrics.virtio.needs_reset, 1);
	assert_int_equal(g_metrics.virtio.activate_fails, 1);
	assert_true(fired(irq));
	assert_int_equal(rd(td, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	wr(td, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(rd(td, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* The driver may echo NEEDS_RESET back while adding FAILED. */
	wr(td, VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT | S_OK | S_NEEDS_RS | S_FAILED);
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS),
			 S_ACK | S_DRV | S_FEAT | S_OK | S_NEEDS_RS | S_FAILED);
	wr(td, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS), 0);
}

static void test_activate_failure(void **state)
{
	struct test_dev *td = *state;

	td->activate_ret = -EIO;
	virtio_mmio_driver_negotiate(td->dev, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	virtio_mmio_driver_setup_queue(td->dev, 0, &td->drv[0]);
	virtio_mmio_driver_setup_queue(td->dev, 1, &td->drv[1]);
	assert_true(virtio_mmio_driver_ok(td->dev) & S_NEEDS_RS);
	assert_int_equal(td->activations, 1);
	virtq_driver_set_desc(&td->drv[0], 0, BUF, 8, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&td->drv[0], 0);
	virtio_mmio_kick(td->dev, 0);
	assert_int_equal(td->processed[0], 0);
}

/* ---- queues ---------------------------------------------------------------------- */

static void test_queue_setup_rules(void **state)
{
	struct test_dev *td = *state;
	struct virtq *q0 = &td->dev->queues[0];

	/* Before FEATURES_OK queue registers are ignored. */
	wr(td, VIRTIO_MMIO_STATUS, S_ACK);
	wr(td, VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	wr(td, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(td, VIRTIO_MMIO_QUEUE_NUM, 8);
	assert_int_equal(q0->size, QMAX);
	wr(td, VIRTIO_MMIO_STATUS, 0);

	virtio_mmio_driver_negotiate(td->dev, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	/* Not a power of two: QueueReady stays 0. */
	wr(td, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(td, VIRTIO_MMIO_QUEUE_NUM, 12);
	wr(td, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)td->drv[0].desc);
	wr(td, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)td->drv[0].avail);
	wr(td, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)td->drv[0].used);
	wr(td, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(td, VIRTIO_MMIO_QUEUE_READY), 0);
	/* Above QueueNumMax. */
	wr(td, VIRTIO_MMIO_QUEUE_NUM, 128);
	wr(td, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(td, VIRTIO_MMIO_QUEUE_READY), 0);
	/* Used ring in the MMIO hole (high half written). */
	wr(td, VIRTIO_MMIO_QUEUE_NUM, 16);
	wr(td, VIRTIO_MMIO_QUEUE_USED_HIGH, 1);
	wr(td, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(td, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(q0->used_gpa, (1ULL << 32) | td->drv[0].used);
	assert_int_equal(g_metrics.virtio.queue_config_refused, 3);
	wr(td, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	wr(td, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(td, VIRTIO_MMIO_QUEUE_READY), 1);
	assert_int_equal(q0->size, 16);
	/* A live queue cannot be moved. */
	wr(td, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	wr(td, VIRTIO_MMIO_QUEUE_NUM, 32);
	assert_int_equal(q0->desc_gpa, td->drv[0].desc);
	assert_int_equal(q0->size, 16);
	/* QueueReady 0 takes it down again. */
	wr(td, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd(td, VIRTIO_MMIO_QUEUE_READY), 0);
	/* No such queue. */
	wr(td, VIRTIO_MMIO_QUEUE_SEL, 7);
	wr(td, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(td, VIRTIO_MMIO_QUEUE_READY), 0);
}

static void test_negotiated_ring_features(void **state)
{
	struct test_dev *td = *state;

	bring_up(td, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
	assert_true(td->dev->queues[0].event_idx);
	assert_false(td->dev->queues[0].indirect);
	bring_up(td, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC));
	assert_false(td->dev->queues[1].event_idx);
	assert_true(td->dev->queues[1].indirect);
}

static void test_notify_and_interrupt(void **state)
{
	struct test_dev *td = *state;
	int irq = virtio_mmio_irq_fd(td->dev);
	struct event_loop loop;
	uint32_t id, len;

	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(virtio_mmio_attach(td->dev, &loop), 0);
	assert_int_equal(virtio_mmio_attach(td->dev, &loop), -EBUSY);
	bring_up(td, VIRTIO_BIT(VIRTIO_F_VERSION_1));

	virtq_driver_set_desc(&td->drv[1], 3, BUF, 100, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&td->drv[1], 3);
	/* The MMIO QueueNotify write (no ioeventfd here) signals queue 1's eventfd... */
	wr(td, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(td->processed[1], 0); /* ...the vCPU does no queue work */
	/* ...and the VMM loop does the work. */
	assert_int_equal(event_loop_run_once(&loop, 1000), 1);
	assert_int_equal(td->processed[1], 1);
	assert_int_equal(td->processed[0], 0);
	assert_int_equal(virtq_driver_get_used(&td->drv[1], &id, &len), 1);
	assert_int_equal(id, 3);
	assert_int_equal(len, 100);
	assert_true(fired(irq));
	assert_int_equal(rd(td, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	wr(td, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(rd(td, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(g_metrics.virtio.queue_notifies, 1);

	/* Notify of a queue that does not exist: counted, nothing signalled. */
	wr(td, VIRTIO_MMIO_QUEUE_NOTIFY, 2);
	assert_int_equal(g_metrics.virtio.mmio_invalid_access, 1);
	assert_int_equal(event_loop_run_once(&loop, 0), 0);

	virtio_mmio_detach(td->dev);
	wr(td, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(event_loop_run_once(&loop, 0), 0);
	event_loop_destroy(&loop);
}

static void test_buffers_before_driver_ok(void **state)
{
	struct test_dev *td = *state;
	struct event_loop loop;
	uint32_t id, len;

	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(virtio_mmio_attach(td->dev, &loop), 0);
	virtio_mmio_driver_negotiate(td->dev, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	virtio_mmio_driver_setup_queue(td->dev, 0, &td->drv[0]);
	virtio_mmio_driver_setup_queue(td->dev, 1, &td->drv[1]);
	virtq_driver_set_desc(&td->drv[0], 0, BUF, 8, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&td->drv[0], 0);
	/* A notify before DRIVER_OK is not acted upon... */
	wr(td, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(event_loop_run_once(&loop, 0), 1);
	assert_int_equal(td->processed[0], 0);
	/* ...but the buffer is picked up once the driver is OK. */
	virtio_mmio_driver_ok(td->dev);
	while (event_loop_run_once(&loop, 0) > 0)
		;
	assert_int_equal(virtq_driver_get_used(&td->drv[0], &id, &len), 1);
	assert_int_equal(len, 8);
	virtio_mmio_detach(td->dev);
	event_loop_destroy(&loop);
}

static void test_malformed_chain_skipped(void **state)
{
	struct test_dev *td = *state;
	uint32_t id, len;

	bring_up(td, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	/* Head 0 loops on itself; head 1 is fine. */
	virtq_driver_set_desc(&td->drv[0], 0, BUF, 8, VRING_DESC_F_NEXT, 0);
	virtq_driver_set_desc(&td->drv[0], 1, BUF, 64, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&td->drv[0], 0);
	virtq_driver_publish(&td->drv[0], 1);
	virtio_mmio_kick(td->dev, 0);
	assert_int_equal(virtq_driver_get_used(&td->drv[0], &id, &len), 1);
	assert_int_equal(id, 0);
	assert_int_equal(len, 0);
	assert_int_equal(virtq_driver_get_used(&td->drv[0], &id, &len), 1);
	assert_int_equal(id, 1);
	assert_int_equal(len, 64);
	assert_int_equal(g_metrics.virtio.chain_errors, 1);
	assert_false(rd(td, VIRTIO_MMIO_STATUS) & S_NEEDS_RS);
}

static void test_ring_corruption_needs_reset(void **state)
{
	struct test_dev *td = *state;
	int irq = virtio_mmio_irq_fd(td->dev);

	bring_up(td, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	virtq_driver_set_avail_idx(&td->drv[0], 17); /* queue of 16 */
	virtio_mmio_kick(td->dev, 0);
	assert_int_equal(td->processed[0], 1);
	assert_true(rd(td, VIRTIO_MMIO_STATUS) & S_NEEDS_RS);
	assert_int_equal(rd(td, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_true(fired(irq));
	assert_int_equal(g_metrics.virtio.needs_reset, 1);
	assert_int_equal(virtq_driver_used_idx(&td->drv[0]), 0);
	/* No more queue work on any queue until reset. */
	virtq_driver_set_desc(&td->drv[1], 0, BUF, 8, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&td->drv[1], 0);
	virtio_mmio_kick(td->dev, 1);
	assert_int_equal(td->processed[1], 0);
	/* Reset and re-initialisation bring it back. */
	bring_up(td, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_false(rd(td, VIRTIO_MMIO_STATUS) & S_NEEDS_RS);
}

static void test_endless_ring_yields(void **state)
{
	struct test_dev *td = *state;
	int notify = virtio_mmio_queue_notify_fd(td->dev, 0);

	bring_up(td, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	td->refill = true;
	virtq_driver_set_desc(&td->drv[0], 0, BUF, 8, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&td->drv[0], 0);
	/* The ring never runs dry, yet one pass ends after its budget... */
	virtio_mmio_kick(td->dev, 0);
	assert_int_equal(td->completions, VIRTIO_MMIO_CHAIN_BUDGET);
	assert_int_equal(virtq_driver_used_idx(&td->drv[0]), VIRTIO_MMIO_CHAIN_BUDGET);
	/* ...and asks the loop to come back for the rest. */
	assert_true(fired(notify));
	virtio_mmio_kick(td->dev, 0);
	assert_int_equal(td->completions, 2 * VIRTIO_MMIO_CHAIN_BUDGET);
	assert_true(fired(notify));
}

/* ---- pause ------------------------------------------------------------------------- */

static void test_paused_hands_out_nothing(void **state)
{
	struct test_dev *td = *state;
	int irq = virtio_mmio_irq_fd(td->dev);
	struct event_loop loop;
	uint32_t id, len;

	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(virtio_mmio_attach(td->dev, &loop), 0);
	bring_up(td, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	virtio_mmio_pause(td->dev);
	assert_true(virtio_mmio_is_paused(td->dev));

	/* A buffer and its notification arrive: the loop takes the event, nothing runs. */
	virtq_driver_set_desc(&td->drv[0], 2, BUF, 48, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&td->drv[0], 2);
	wr(td, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(event_loop_run_once(&loop, 1000), 1);
	assert_int_equal(event_loop_run_once(&loop, 0), 0); /* no yield loop either */
	virtio_mmio_kick(td->dev, 0);			    /* e.g. a tap frame or a limiter */
	assert_int_equal(td->processed[0], 0);
	/* A device that looks anyway gets no chain. */
	virtio_mmio_lock(td->dev);
	assert_int_equal(virtio_mmio_next_chain(td->dev, 0, &td->dev->chain), 0);
	virtio_mmio_unlock(td->dev);
	/* A config change is recorded but not injected. */
	virtio_mmio_config_changed(td->dev);
	assert_false(fired(irq));
	assert_int_equal(rd(td, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(virtq_driver_used_idx(&td->drv[0]), 0);
	assert_int_equal(g_metrics.virtio.queue_notifies, 0);
	assert_int_equal(g_metrics.virtio.interrupts, 0);

	/* Resume processes every queue and injects one interrupt. */
	virtio_mmio_resume(td->dev);
	assert_false(virtio_mmio_is_paused(td->dev));
	assert_int_equal(td->processed[0], 1);
	assert_int_equal(td->processed[1], 1);
	assert_int_equal(virtq_driver_get_used(&td->drv[0], &id, &len), 1);
	assert_int_equal(id, 2);
	assert_int_equal(len, 48);
	assert_true(fired(irq));
	assert_false(fired(irq));
	assert_int_equal(rd(td, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_CONFIG | VIRTIO_MMIO_INT_VRING);
	/* A second resume does nothing. */
	virtio_mmio_resume(td->dev);
	assert_int_equal(td->processed[0], 1);
	assert_false(fired(irq));
	virtio_mmio_detach(td->dev);
	event_loop_destroy(&loop);
}

/* Take one chain from queue 0 as a backend starting async I/O would. */
static uint16_t take_chain(struct test_dev *td, uint16_t head, uint32_t len)
{
	virtq_driver_set_desc(&td->drv[0], head, BUF + head * 0x100ULL, len, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&td->drv[0], head);
	virtio_mmio_lock(td->dev);
	td->dev->chain_budget = VIRTIO_MMIO_CHAIN_BUDGET;
	assert_int_equal(virtio_mmio_next_chain(td->dev, 0, &td->dev->chain), 1);
	virtio_mmio_unlock(td->dev);
	assert_int_equal(td->dev->chain.head, head);
	return head;
}

static void test_paused_completion_held_back(void **state)
{
	struct test_dev *td = *state;
	int irq = virtio_mmio_irq_fd(td->dev);
	uint32_t id, len;

	bring_up(td, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	take_chain(td, 4, 32);
	take_chain(td, 7, 64);
	virtio_mmio_pause(td->dev);
	/* The I/O finishes while paused: the used ring and the guest see nothing yet. */
	virtio_mmio_lock(td->dev);
	assert_int_equal(virtio_mmio_complete(td->dev, 0, 7, 11), 0);
	assert_int_equal(virtio_mmio_complete(td->dev, 0, 4, 22), 0);
	virtio_mmio_signal_used(td->dev, 0);
	virtio_mmio_unlock(td->dev);
	assert_int_equal(virtq_driver_used_idx(&td->drv[0]), 0);
	assert_int_equal(rd(td, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_false(fired(irq));

	virtio_mmio_resume(td->dev);
	assert_int_equal(virtq_driver_get_used(&td->drv[0], &id, &len), 1);
	assert_int_equal(id, 7);
	assert_int_equal(len, 11);
	assert_int_equal(virtq_driver_get_used(&td->drv[0], &id, &len), 1);
	assert_int_equal(id, 4);
	assert_int_equal(len, 22);
	assert_int_equal(virtq_driver_get_used(&td->drv[0], &id, &len), 0);
	assert_int_equal(rd(td, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	assert_true(fired(irq));
}

static void test_paused_save_publishes_held_back(void **state)
{
	struct test_dev *td = *state;
	int irq = virtio_mmio_irq_fd(td->dev);
	struct vmstate_writer w;
	uint32_t id, len;

	bring_up(td, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	take_chain(td, 3, 16);
	virtio_mmio_pause(td->dev);
	virtio_mmio_lock(td->dev);
	assert_int_equal(virtio_mmio_complete(td->dev, 0, 3, 9), 0);
	virtio_mmio_unlock(td->dev);
	/* The memory file follows the device state: the ring must be complete by then. */
	vmstate_writer_init_raw(&w);
	assert_int_equal(virtio_mmio_save(td->dev, &w), 0);
	assert_int_equal(w.err, 0);
	vmstate_writer_free(&w);
	assert_int_equal(virtq_driver_get_used(&td->drv[0], &id, &len), 1);
	assert_int_equal(id, 3);
	assert_int_equal(len, 9);
	/* Saved as pending in the interrupt status, injected only at resume. */
	assert_int_equal(rd(td, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	assert_false(fired(irq));
	virtio_mmio_resume(td->dev);
	assert_true(fired(irq));
	assert_int_equal(virtq_driver_used_idx(&td->drv[0]), 1);
}

static void test_paused_reset_drops_held_back(void **state)
{
	struct test_dev *td = *state;

	bring_up(td, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	take_chain(td, 1, 16);
	virtio_mmio_pause(td->dev);
	virtio_mmio_lock(td->dev);
	assert_int_equal(virtio_mmio_complete(td->dev, 0, 1, 5), 0);
	virtio_mmio_unlock(td->dev);
	/* The driver resets: the completion belongs to rings that no longer exist. */
	wr(td, VIRTIO_MMIO_STATUS, 0);
	virtio_mmio_resume(td->dev);
	assert_int_equal(virtq_driver_used_idx(&td->drv[0]), 0);
	assert_int_equal(td->dev->nr_deferred, 0);
}

/* ---- config space and access widths ---------------------------------------------- */

static void test_config_space(void **state)
{
	struct test_dev *td = *state;
	uint8_t b[8];

	virtio_mmio_bus_ops.read(td->dev, 0x100 + 3, b, 1);
	assert_int_equal(b[0], 0xa3);
	virtio_mmio_bus_ops.read(td->dev, 0x100 + 4, b, 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(b[i], 0xa4 + i);
	/* Crossing the end of the 12 bytes: zeros, counted. */
	memset(b, 0x55, sizeof(b));
	virtio_mmio_bus_ops.read(td->dev, 0x100 + 10, b, 4);
	assert_memory_equal(b, "\0\0\0\0", 4);
	virtio_mmio_bus_ops.read(td->dev, 0xffc, b, 4);
	assert_memory_equal(b, "\0\0\0\0", 4);
	assert_int_equal(g_metrics.virtio.config_out_of_range, 2);

	/* Writes only once the driver is loaded. */
	b[0] = 0x11;
	virtio_mmio_bus_ops.write(td->dev, 0x100, b, 1);
	assert_int_equal(td->config[0], 0xa0);
	wr(td, VIRTIO_MMIO_STATUS, S_ACK);
	wr(td, VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	virtio_mmio_bus_ops.write(td->dev, 0x100, b, 1);
	assert_int_equal(td->config[0], 0x11);
	virtio_mmio_bus_ops.write(td->dev, 0x100 + 11, b, 2);
	assert_int_equal(td->config[11], 0xab);
	assert_int_equal(g_metrics.virtio.config_out_of_range, 3);
}

static void test_wrong_width_access(void **state)
{
	struct test_dev *td = *state;
	uint8_t b[8];

	memset(b, 0x55, sizeof(b));
	virtio_mmio_bus_ops.read(td->dev, VIRTIO_MMIO_MAGIC_VALUE, b, 2);
	assert_memory_equal(b, "\0\0", 2);
	virtio_mmio_bus_ops.read(td->dev, VIRTIO_MMIO_MAGIC_VALUE, b, 8);
	assert_memory_equal(b, "\0\0\0\0\0\0\0\0", 8);
	virtio_mmio_bus_ops.read(td->dev, VIRTIO_MMIO_VERSION + 1, b, 4);
	assert_memory_equal(b, "\0\0\0\0", 4);
	b[0] = S_ACK;
	virtio_mmio_bus_ops.write(td->dev, VIRTIO_MMIO_STATUS, b, 1);
	assert_int_equal(rd(td, VIRTIO_MMIO_STATUS), 0);
	/* Read-only and unknown registers. */
	wr(td, VIRTIO_MMIO_MAGIC_VALUE, 0);
	assert_int_equal(rd(td, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	wr(td, 0x0f0, 1);
	assert_int_equal(rd(td, VIRTIO_MMIO_QUEUE_DESC_LOW), 0); /* write-only */
	assert_int_equal(g_metrics.virtio.mmio_invalid_access, 7);
}

static void test_config_generation(void **state)
{
	struct test_dev *td = *state;
	int irq = virtio_mmio_irq_fd(td->dev);

	/* Before DRIVER_OK: the generation moves, no interrupt. */
	virtio_mmio_lock(td->dev);
	virtio_mmio_config_changed(td->dev);
	virtio_mmio_unlock(td->dev);
	assert_int_equal(rd(td, VIRTIO_MMIO_CONFIG_GENERATION), 1);
	assert_false(fired(irq));
	bring_up(td, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	virtio_mmio_lock(td->dev);
	virtio_mmio_config_changed(td->dev);
	virtio_mmio_unlock(td->dev);
	assert_int_equal(rd(td, VIRTIO_MMIO_CONFIG_GENERATION), 2);
	assert_true(fired(irq));
	assert_int_equal(rd(td, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
}

static void test_cmdline_arg(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(virtio_mmio_cmdline_arg(0xd0001000ULL, 5, buf, sizeof(buf)),
			 (int)strlen("virtio_mmio.device=4K@0xd0001000:5"));
	assert_string_equal(buf, "virtio_mmio.device=4K@0xd0001000:5");
	virtio_mmio_cmdline_arg(0x1000ULL, 23, buf, sizeof(buf));
	assert_string_equal(buf, "virtio_mmio.device=4K@0x00001000:23");
	assert_int_equal(virtio_mmio_cmdline_arg(0xd0001000ULL, 5, buf, 10), -ENOSPC);
}

static void test_create_rejects_bad_ops(void **state)
{
	struct test_dev *td = *state;
	struct virtio_device_ops ops = td_ops;
	struct virtio_mmio_dev *dev;

	assert_int_equal(
	    virtio_mmio_create(&dev, &ops, NULL, &td->mem, BASE, GSI, VIRTIO_BIT(FEATURE_DEV)),
	    -EINVAL); /* no VERSION_1 */
	ops.queue_max_size = 48;
	assert_int_equal(virtio_mmio_create(&dev, &ops, NULL, &td->mem, BASE, GSI, OFFERED),
			 -EINVAL);
	ops = td_ops;
	ops.num_queues = VIRTIO_MAX_QUEUES + 1;
	assert_int_equal(virtio_mmio_create(&dev, &ops, NULL, &td->mem, BASE, GSI, OFFERED),
			 -EINVAL);
	ops = td_ops;
	ops.config_size = 0xf01;
	assert_int_equal(virtio_mmio_create(&dev, &ops, NULL, &td->mem, BASE, GSI, OFFERED),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	    T(test_identity),
	    T(test_feature_pages),
	    T(test_negotiation_accepts_subset),
	    T(test_negotiation_refuses_unoffered),
	    T(test_driver_features_only_in_driver_state),
	    T(test_status_sequence),
	    T(test_failed_needs_reset),
	    T(test_activate_and_reset),
	    T(test_driver_ok_with_queue_missing),
	    T(test_activate_failure),
	    T(test_queue_setup_rules),
	    T(test_negotiated_ring_features),
	    T(test_notify_and_interrupt),
	    T(test_buffers_before_driver_ok),
	    T(test_malformed_chain_skipped),
	    T(test_ring_corruption_needs_reset),
	    T(test_endless_ring_yields),
	    T(test_paused_hands_out_nothing),
	    T(test_paused_completion_held_back),
	    T(test_paused_save_publishes_held_back),
	    T(test_paused_reset_drops_held_back),
	    T(test_config_space),
	    T(test_wrong_width_access),
	    T(test_config_generation),
	    T(test_cmdline_arg),
	    T(test_create_rejects_bad_ops),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
