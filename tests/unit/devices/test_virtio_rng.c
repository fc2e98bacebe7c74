// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-rng: buffers in real guest memory filled from getrandom(), the
 * per-request bound, and the rate limiter hook.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/base/event_loop.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "vmm/base/metrics.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtq_driver.h"

#define RAM_SIZE (4 * MIB)
#define BASE	 (LAYOUT_VIRTIO_START + 0x3000)
#define GSI	 9
#define RING	 0x10000ULL
#define BUF	 0x100000ULL
#define QSIZE	 32

struct fx {
	struct guest_mem mem;
	struct event_loop loop;
	struct virtq_driver drv;
	struct rng_dev *rng;
	struct virtio_mmio_dev *dev;
};

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	metrics_reset();
	if (guest_mem_create(&f.mem, RAM_SIZE) || event_loop_init(&f.loop))
		return -1;
	if (rng_create(&f.rng, &f.mem, BASE, GSI))
		return -1;
	f.dev = rng_mmio(f.rng);
	if (virtio_mmio_attach(f.dev, &f.loop) || virtq_driver_init(&f.drv, &f.mem, RING, QSIZE))
		return -1;
	if (!(virtio_mmio_driver_negotiate(f.dev, VIRTIO_COMMON_FEATURES) &
	      VIRTIO_CONFIG_S_FEATURES_OK) ||
	    virtio_mmio_driver_setup_queue(f.dev, 0, &f.drv) != 1 ||
	    !(virtio_mmio_driver_ok(f.dev) & VIRTIO_CONFIG_S_DRIVER_OK))
		return -1;
	while (event_loop_run_once(&f.loop, 0) > 0)
		;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_mmio_detach(f->dev);
	rng_destroy(f->rng);
	event_loop_destroy(&f->loop);
	guest_mem_destroy(&f->mem);
	return 0;
}

static uint8_t *gptr(struct fx *f, uint64_t gpa, uint64_t len)
{
	uint8_t *p = guest_mem_translate(&f->mem, gpa, len);

	assert_non_null(p);
	return p;
}

static void notify_and_run(struct fx *f)
{
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	while (event_loop_run_once(&f->loop, 10) > 0)
		;
}

/* How many of @len bytes differ from @fill. */
static size_t changed(const uint8_t *p, size_t len, uint8_t fill)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += p[i] != fill;
	return n;
}

static void test_identity(void **state)
{
	struct fx *f = *state;
	uint8_t b[4];

	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	/* No config space at all. */
	virtio_mmio_bus_ops.read(f->dev, VIRTIO_MMIO_CONFIG, b, 1);
	assert_int_equal(b[0], 0);
	assert_int_equal(g_metrics.virtio.config_out_of_range, 1);
}

static void test_fills_buffers(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	uint8_t first[4096];

	memset(gptr(f, BUF, 0x10000), 0, 0x10000);
	/* A readable descriptor is allowed and left alone. */
	virtq_driver_set_desc(&f->drv, 0, BUF + 0x8000, 64, VRING_DESC_F_NEXT, 1);
	virtq_driver_set_desc(&f->drv, 1, BUF, 100, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	virtq_driver_set_desc(&f->drv, 2, BUF + 0x1000, 200, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
			      3);
	virtq_driver_set_desc(&f->drv, 3, BUF + 0x2000, 4096, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->drv, 0);
	notify_and_run(f);
	assert_int_equal(virtq_driver_get_used(&f->drv, &id, &len), 1);
	assert_int_equal(id, 0);
	assert_int_equal(len, 100 + 200 + 4096);
	/* Random bytes: a byte stays 0 with probability 1/256. */
	assert_true(changed(gptr(f, BUF, 100), 100, 0) > 80);
	assert_true(changed(gptr(f, BUF + 0x1000, 200), 200, 0) > 170);
	assert_true(changed(gptr(f, BUF + 0x2000, 4096), 4096, 0) > 3900);
	/* Nothing around the buffers was written. */
	assert_int_equal(changed(gptr(f, BUF + 100, 0x1000 - 100), 0x1000 - 100, 0), 0);
	assert_int_equal(changed(gptr(f, BUF + 0x1000 + 200, 0x1000 - 200), 0x1000 - 200, 0), 0);
	assert_int_equal(changed(gptr(f, BUF + 0x3000, 0x7000), 0x7000, 0), 0);
	assert_int_equal(g_metrics.virtio.rng_bytes, 4396);
	assert_int_equal(g_metrics.virtio.rng_requests, 1);

	/* A second request gets different bytes. */
	memcpy(first, gptr(f, BUF + 0x2000, 4096), 4096);
	virtq_driver_publish(&f->drv, 3);
	notify_and_run(f);
	assert_int_equal(virtq_driver_get_used(&f->drv, &id, &len), 1);
	assert_int_equal(len, 4096);
	assert_memory_not_equal(first, gptr(f, BUF + 0x2000, 4096), 4096);
}

static void test_request_bound(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;

	memset(gptr(f, BUF, 0x20000), 0xaa, 0x20000);
	virtq_driver_set_desc(&f->drv, 0, BUF, 0x20000, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->drv, 0);
	notify_and_run(f);
	assert_int_equal(virtq_driver_get_used(&f->drv, &id, &len), 1);
	assert_int_equal(len, RNG_MAX_REQUEST_BYTES);
	assert_true(changed(gptr(f, BUF, RNG_MAX_REQUEST_BYTES), RNG_MAX_REQUEST_BYTES, 0xaa) >
		    RNG_MAX_REQUEST_BYTES - 1024);
	assert_int_equal(changed(gptr(f, BUF + RNG_MAX_REQUEST_BYTES, 0x10000), 0x10000, 0xaa), 0);
}

static void test_nothing_to_fill(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;

	memset(gptr(f, BUF, 64), 0x55, 64);
	virtq_driver_set_desc(&f->drv, 0, BUF, 64, 0, 0);
	virtq_driver_publish(&f->drv, 0);
	notify_and_run(f);
	assert_int_equal(virtq_driver_get_used(&f->drv, &id, &len), 1);
	assert_int_equal(len, 0);
	assert_int_equal(changed(gptr(f, BUF, 64), 64, 0x55), 0);
}

static void test_malformed_then_valid(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;

	/* Writable then readable: refused; the next request is still served. */
	virtq_driver_set_desc(&f->drv, 0, BUF, 64, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	virtq_driver_set_desc(&f->drv, 1, BUF + 64, 64, 0, 0);
	virtq_driver_set_desc(&f->drv, 2, BUF + 128, 32, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->drv, 0);
	virtq_driver_publish(&f->drv, 2);
	notify_and_run(f);
	assert_int_equal(virtq_driver_get_used(&f->drv, &id, &len), 1);
	assert_int_equal(id, 0);
	assert_int_equal(len, 0);
	assert_int_equal(virtq_driver_get_used(&f->drv, &id, &len), 1);
	assert_int_equal(id, 2);
	assert_int_equal(len, 32);
	assert_int_equal(g_metrics.virtio.chain_errors, 1);
}

struct test_limiter {
	uint64_t budget; /* bytes left */
	int calls;
};

static bool limiter_may_consume(void *ctx, uint64_t bytes, uint64_t ops)
{
	struct test_limiter *l = ctx;

	l->calls++;
	if (ops != 1 || bytes > l->budget)
		return false;
	l->budget -= bytes;
	return true;
}

static void test_limiter_hook(void **state)
{
	struct fx *f = *state;
	struct test_limiter tl = {.budget = 1000};
	struct virtio_limiter lim = {.may_consume = limiter_may_consume, .ctx = &tl};
	uint32_t id, len;

	rng_set_limiter(f->rng, &lim);
	for (uint16_t i = 0; i < 4; i++) {
		virtq_driver_set_desc(&f->drv, i, BUF + 512ULL * i, 400, VRING_DESC_F_WRITE, 0);
		virtq_driver_publish(&f->drv, i);
	}
	notify_and_run(f);
	/* 1000 bytes of budget: two 400-byte requests, the third waits on the ring. */
	assert_int_equal(virtq_driver_used_idx(&f->drv), 2);
	assert_int_equal(tl.calls, 3);
	assert_int_equal(g_metrics.virtio.rng_throttled, 1);
	tl.budget = 10000;
	virtio_mmio_kick(f->dev, 0);
	assert_int_equal(virtq_driver_used_idx(&f->drv), 4);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(virtq_driver_get_used(&f->drv, &id, &len), 1);
		assert_int_equal(id, i);
		assert_int_equal(len, 400);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fills_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nothing_to_fill, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_then_valid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limiter_hook, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
