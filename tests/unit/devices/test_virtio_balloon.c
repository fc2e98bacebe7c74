// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-balloon against real guest memory and a driver written the way a
 * guest's is: the page-frame logic (sorting, runs, frames outside RAM),
 * inflated pages given back to the host (they read zero again), hostile
 * buffers (writable, oversized, frames past RAM), the config space, the
 * statistics buffer held and given back (by the timer and by PATCH), free
 * page hinting and reporting, the API entry points' Firecracker texts,
 * reset, and a snapshot round trip.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/base/event_loop.h"
#include "vmm/base/metrics.h"
#include "vmm/base/vmstate.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "devices/virtio/balloon.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtq_driver.h"

#define RAM_SIZE (8 * MIB)
#define BASE	 (LAYOUT_VIRTIO_START + 0x3000)
#define GSI	 9
#define RING	 0x10000ULL  /* queue q's rings at RING + q * 0x2000 */
#define BUF	 0x20000ULL  /* driver buffers (PFN lists, stats) */
#define PAGES	 0x400000ULL /* pages the tests inflate */
#define QSIZE	 16

/* Feature bits (<linux/virtio_balloon.h>). */
#define F_STATS_VQ	 1
#define F_DEFLATE_ON_OOM 2
#define F_FREE_PAGE_HINT 3
#define F_REPORTING	 5

struct fx {
	struct guest_mem mem;
	struct event_loop loop;
	struct virtq_driver drv[5];
	struct balloon_dev *b;
	struct virtio_mmio_dev *dev;
	unsigned int nq;
};

static struct fx fx;

/* A balloon of @cfg with its driver up on every queue (@activate: DRIVER_OK). */
static void fx_init(struct fx *f, const struct balloon_config *cfg, bool activate)
{
	uint64_t features;

	memset(f, 0, sizeof(*f));
	metrics_reset();
	assert_int_equal(guest_mem_create(&f->mem, RAM_SIZE), 0);
	assert_int_equal(event_loop_init(&f->loop), 0);
	assert_int_equal(balloon_create(&f->b, cfg, &f->mem, BASE, GSI), 0);
	f->dev = balloon_mmio(f->b);
	assert_int_equal(virtio_mmio_attach(f->dev, &f->loop), 0);
	f->nq = virtio_mmio_num_queues(f->dev);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	features = virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_DEVICE_FEATURES);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	features |= (uint64_t)virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	assert_true(virtio_mmio_driver_negotiate(f->dev, features) & VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int q = 0; q < f->nq; q++) {
		assert_int_equal(virtq_driver_init(&f->drv[q], &f->mem, RING + q * 0x2000, QSIZE),
				 0);
		assert_int_equal(virtio_mmio_driver_setup_queue(f->dev, q, &f->drv[q]), 1);
	}
	if (activate)
		assert_true(virtio_mmio_driver_ok(f->dev) & VIRTIO_CONFIG_S_DRIVER_OK);
	while (event_loop_run_once(&f->loop, 0) > 0)
		;
	metrics_reset(); /* DRIVER_OK kicked every queue once */
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_mmio_detach(f->dev);
	balloon_destroy(f->b);
	event_loop_destroy(&f->loop);
	guest_mem_destroy(&f->mem);
	return 0;
}

static int setup_basic(void **state)
{
	struct balloon_config cfg = {.amount_mib = 2};

	fx_init(&fx, &cfg, true);
	*state = &fx;
	return 0;
}

static int setup_all(void **state)
{
	struct balloon_config cfg = {.amount_mib = 0,
				     .deflate_on_oom = true,
				     .stats_polling_interval_s = 1,
				     .free_page_hinting = true,
				     .free_page_reporting = true};

	fx_init(&fx, &cfg, true);
	*state = &fx;
	return 0;
}

static int setup_inactive(void **state)
{
	struct balloon_config cfg = {.amount_mib = 1, .stats_polling_interval_s = 5};

	fx_init(&fx, &cfg, false);
	*state = &fx;
	return 0;
}

static uint8_t *gptr(struct fx *f, uint64_t gpa, uint64_t len)
{
	uint8_t *p = guest_mem_translate(&f->mem, gpa, len);

	assert_non_null(p);
	return p;
}

static void kick(struct fx *f, unsigned int q)
{
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	while (event_loop_run_once(&f->loop, 10) > 0)
		;
}

static uint32_t config_u32(struct fx *f, uint32_t off)
{
	return virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_CONFIG + off);
}

/* One readable buffer of @n frame numbers on the inflate queue, as descriptor @d. */
static void send_pfns(struct fx *f, unsigned int q, uint16_t d, const uint32_t *pfns, size_t n)
{
	memcpy(gptr(f, BUF + d * 0x1000, n * 4), pfns, n * 4);
	virtq_driver_set_desc(&f->drv[q], d, BUF + d * 0x1000, (uint32_t)(n * 4), 0, 0);
	virtq_driver_publish(&f->drv[q], d);
	kick(f, q);
}

static void expect_used(struct fx *f, unsigned int q, uint32_t want_id)
{
	uint32_t id, len;

	assert_int_equal(virtq_driver_get_used(&f->drv[q], &id, &len), 1);
	assert_int_equal(id, want_id);
	assert_int_equal(len, 0);
}

static size_t nonzero(const uint8_t *p, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += p[i] != 0;
	return n;
}

/* ---- page frames ---- */

static void test_compact(void **state)
{
	uint32_t pfns[] = {9, 3, 4, 4, 10, 1, 0xffffffff, 5, 0xfffffffe, 3};
	struct balloon_range r[10];
	size_t nr;

	(void)state;
	nr = balloon_compact_pfns(pfns, 10, r);
	assert_int_equal(nr, 4);
	assert_int_equal(r[0].pfn, 1);
	assert_int_equal(r[0].pages, 1);
	assert_int_equal(r[1].pfn, 3);
	assert_int_equal(r[1].pages, 3);
	assert_int_equal(r[2].pfn, 9);
	assert_int_equal(r[2].pages, 2);
	assert_int_equal(r[3].pfn, 0xfffffffe);
	assert_int_equal(r[3].pages, 2);
	assert_int_equal(balloon_compact_pfns(pfns, 0, r), 0);
}

static void test_release_range(void **state)
{
	struct guest_mem mem;
	uint64_t bad = 0, last = RAM_SIZE / 4096 - 1;
	struct balloon_range r = {(uint32_t)last - 1, 4}; /* two in RAM, two past it */
	struct balloon_range far = {0xfffffff0, 16};
	uint8_t *p;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, RAM_SIZE), 0);
	p = guest_mem_translate(&mem, (last - 1) * 4096, 2 * 4096);
	memset(p, 0x5a, 2 * 4096);
	assert_int_equal(balloon_release_range(&mem, &r, &bad), 2);
	assert_int_equal(bad, 2);
	assert_int_equal(nonzero(p, 2 * 4096), 0);
	assert_int_equal(balloon_release_range(&mem, &far, &bad), 0);
	assert_int_equal(bad, 18);
	/* guest_mem_discard's own checks. */
	assert_int_equal(guest_mem_discard(&mem, 0x1000, 0x800), -EINVAL);
	assert_int_equal(guest_mem_discard(&mem, RAM_SIZE - 4096, 8192), -EFAULT);
	assert_int_equal(guest_mem_discard(&mem, 0, 0), -EFAULT);
	guest_mem_destroy(&mem);
}

/* Restored RAM (MAP_PRIVATE of a file): released pages read zero, not the file's bytes. */
static void test_release_restored(void **state)
{
	struct guest_mem file_ram, mem;
	struct balloon_range r = {16, 2};
	uint64_t bad = 0;
	uint8_t *p;

	(void)state;
	assert_int_equal(guest_mem_create(&file_ram, RAM_SIZE), 0);
	memset(guest_mem_translate(&file_ram, 0, RAM_SIZE), 0x77, RAM_SIZE);
	assert_int_equal(guest_mem_create_from_file(&mem, RAM_SIZE, file_ram.fd), 0);
	p = guest_mem_translate(&mem, 16 * 4096, 3 * 4096);
	assert_int_equal(p[0], 0x77);
	p[0] = 0x11; /* a private copy */
	assert_int_equal(balloon_release_range(&mem, &r, &bad), 2);
	assert_int_equal(bad, 0);
	assert_int_equal(nonzero(p, 2 * 4096), 0);
	assert_int_equal(p[2 * 4096], 0x77); /* the next page is untouched */
	guest_mem_destroy(&mem);
	guest_mem_destroy(&file_ram);
}

/* ---- the device ---- */

static void test_identity(void **state)
{
	struct fx *f = *state;

	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BALLOON);
	assert_int_equal(f->nq, 5);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_DEVICE_FEATURES) &
			     ((1U << F_STATS_VQ) | (1U << F_DEFLATE_ON_OOM) |
			      (1U << F_FREE_PAGE_HINT) | (1U << F_REPORTING)),
			 (1U << F_STATS_VQ) | (1U << F_DEFLATE_ON_OOM) | (1U << F_FREE_PAGE_HINT) |
			     (1U << F_REPORTING));
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_QUEUE_SEL, 4);
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_QUEUE_SEL, 5);
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
}

static void test_basic_features(void **state)
{
	struct fx *f = *state;

	assert_int_equal(f->nq, 2);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_DEVICE_FEATURES) & 0x3e, 0);
}

static void test_inflate_releases_pages(void **state)
{
	struct fx *f = *state;
	uint32_t pfns[] = {PAGES / 4096 + 2, PAGES / 4096, PAGES / 4096 + 1, PAGES / 4096 + 7};
	uint8_t *p = gptr(f, PAGES, 8 * 4096);

	memset(p, 0xaa, 8 * 4096);
	send_pfns(f, 0, 0, pfns, 4);
	expect_used(f, 0, 0);
	assert_int_equal(nonzero(p, 3 * 4096), 0);
	assert_int_equal(nonzero(p + 3 * 4096, 4 * 4096), 4 * 4096);
	assert_int_equal(nonzero(p + 7 * 4096, 4096), 0);
	assert_int_equal(g_metrics.balloon.inflate_count, 1);
	assert_int_equal(g_metrics.balloon.event_fails, 0);
	/* Deflating needs nothing from the host: the buffer just comes back. */
	send_pfns(f, 1, 0, pfns, 4);
	expect_used(f, 1, 0);
	assert_int_equal(g_metrics.balloon.deflate_count, 1);
}

static void test_inflate_hostile(void **state)
{
	struct fx *f = *state;
	uint32_t pfns[BALLOON_MAX_PFNS + 1];
	uint8_t *p = gptr(f, PAGES, 4096);

	/* Frames past RAM and in the MMIO hole are skipped; the one in RAM goes. */
	memset(p, 0xaa, 4096);
	pfns[0] = 0xffffffff;
	pfns[1] = (uint32_t)(LAYOUT_VIRTIO_START / 4096);
	pfns[2] = PAGES / 4096;
	send_pfns(f, 0, 0, pfns, 3);
	expect_used(f, 0, 0);
	assert_int_equal(nonzero(p, 4096), 0);
	assert_int_equal(g_metrics.balloon.event_fails, 1);

	/* More frames than a buffer may hold: nothing released, the buffer comes back. */
	memset(p, 0xaa, 4096);
	for (unsigned int i = 0; i <= BALLOON_MAX_PFNS; i++)
		pfns[i] = PAGES / 4096;
	send_pfns(f, 0, 1, pfns, BALLOON_MAX_PFNS + 1);
	expect_used(f, 0, 1);
	assert_int_equal(nonzero(p, 4096), 4096);
	assert_int_equal(g_metrics.virtio.chain_errors, 1);

	/* A length that is not whole frames, and a device-writable buffer. */
	send_pfns(f, 0, 2, pfns, 1);
	expect_used(f, 0, 2);
	virtq_driver_set_desc(&f->drv[0], 3, BUF, 6, 0, 0);
	virtq_driver_publish(&f->drv[0], 3);
	virtq_driver_set_desc(&f->drv[0], 4, BUF, 8, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->drv[0], 4);
	kick(f, 0);
	expect_used(f, 0, 3);
	expect_used(f, 0, 4);
	assert_int_equal(g_metrics.virtio.chain_errors, 3);
	/* The one good single-frame buffer (descriptor 2) did release the page again. */
	assert_int_equal(nonzero(p, 4096), 0);
}

static void test_config_space(void **state)
{
	struct fx *f = *state;
	struct balloon_stats st;
	char err[128] = "";

	assert_int_equal(config_u32(f, 0), 2 * 256);
	assert_int_equal(config_u32(f, 4), 0);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_CONFIG + 4, 300);
	assert_int_equal(config_u32(f, 4), 300);
	/* num_pages and the hint command id are the device's. */
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_CONFIG + 0, 7);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_CONFIG + 8, 7);
	assert_int_equal(config_u32(f, 0), 2 * 256);
	assert_int_equal(config_u32(f, 8), 0);
	/* Statistics are off in this device. */
	assert_int_equal(balloon_get_stats(f->b, &st, err, sizeof(err)), -ENOTSUP);
	assert_string_equal(err, "Balloon: Received stats query when stats are disabled.");
	assert_int_equal(balloon_set_stats_interval(f->b, 0, err, sizeof(err)), 0);
	assert_int_equal(balloon_set_stats_interval(f->b, 3, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "Balloon: Statistics cannot be enabled/disabled after activation.");
	/* A reset forgets what the driver wrote. */
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(config_u32(f, 4), 0);
}

static void test_set_target(void **state)
{
	struct fx *f = *state;
	uint32_t gen = virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_CONFIG_GENERATION);
	char err[128] = "";

	assert_int_equal(balloon_set_target(f->b, 6, err, sizeof(err)), 0);
	assert_int_equal(config_u32(f, 0), 6 * 256);
	assert_int_not_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	assert_true(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_INTERRUPT_STATUS) &
		    VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(balloon_set_target(f->b, 8, err, sizeof(err)), 0);
	assert_int_equal(balloon_set_target(f->b, 9, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Balloon: Requested memory should be less than 9MiB");
	assert_int_equal(config_u32(f, 0), 8 * 256);
}

static void test_inactive(void **state)
{
	struct fx *f = *state;
	struct balloon_stats st;
	struct balloon_hinting_status hs;
	char err[128] = "";

	assert_int_equal(balloon_set_target(f->b, 1, err, sizeof(err)), -EAGAIN);
	assert_string_equal(err, "Balloon: Device not activated yet.");
	/* Statistics need no driver: the target and zeros. */
	assert_int_equal(balloon_get_stats(f->b, &st, err, sizeof(err)), 0);
	assert_int_equal(st.target_pages, 256);
	assert_int_equal(st.target_mib, 1);
	assert_int_equal(st.present, 0);
	assert_int_equal(balloon_set_stats_interval(f->b, 2, err, sizeof(err)), 0);
	assert_int_equal(balloon_hinting(f->b, BALLOON_HINTING_START, true, err, sizeof(err)),
			 -ENOTSUP);
	assert_string_equal(err, "Balloon: Attempting to use hinting when not enabled");
	assert_int_equal(balloon_hinting_status(f->b, &hs, err, sizeof(err)), -ENOTSUP);
}

/* A statistics buffer of @n records as descriptor @d of the stats queue. */
static void send_stats(struct fx *f, uint16_t d, const uint16_t *tags, const uint64_t *vals,
		       size_t n)
{
	uint8_t *p = gptr(f, BUF + 0x8000 + d * 0x1000, n * 10);

	for (size_t i = 0; i < n; i++) {
		memcpy(p + i * 10, &tags[i], 2);
		memcpy(p + i * 10 + 2, &vals[i], 8);
	}
	virtq_driver_set_desc(&f->drv[2], d, BUF + 0x8000 + d * 0x1000, (uint32_t)(n * 10), 0, 0);
	virtq_driver_publish(&f->drv[2], d);
	kick(f, 2);
}

static void test_stats(void **state)
{
	struct fx *f = *state;
	uint16_t tags[] = {4, 5, 99, 15};
	uint64_t vals[] = {1000, 0x123456789abcULL, 7, UINT64_MAX};
	struct balloon_stats st;
	char err[128] = "";
	uint32_t id, len;

	send_stats(f, 0, tags, vals, 4);
	/* Held until the next poll. */
	assert_int_equal(virtq_driver_get_used(&f->drv[2], &id, &len), 0);
	assert_int_equal(g_metrics.balloon.stats_update_fails, 1);
	assert_int_equal(balloon_get_stats(f->b, &st, err, sizeof(err)), 0);
	assert_int_equal(st.present, (1U << 4) | (1U << 5) | (1U << 15));
	assert_true(st.values[4] == 1000 && st.values[5] == 0x123456789abcULL &&
		    st.values[15] == UINT64_MAX);
	/* The timer (1 s) gives the buffer back. */
	while (!virtq_driver_get_used(&f->drv[2], &id, &len))
		assert_true(event_loop_run_once(&f->loop, 2000) > 0);
	assert_int_equal(id, 0);
	/* A PATCH of the interval gives it back at once; the same interval changes nothing. */
	assert_int_equal(balloon_set_stats_interval(f->b, 30, err, sizeof(err)), 0);
	send_stats(f, 1, tags, vals, 1);
	assert_int_equal(balloon_set_stats_interval(f->b, 30, err, sizeof(err)), 0);
	assert_int_equal(virtq_driver_get_used(&f->drv[2], &id, &len), 0);
	assert_int_equal(balloon_set_stats_interval(f->b, 31, err, sizeof(err)), 0);
	assert_int_equal(virtq_driver_get_used(&f->drv[2], &id, &len), 1);
	assert_int_equal(id, 1);
	assert_int_equal(balloon_set_stats_interval(f->b, 0, err, sizeof(err)), -EINVAL);
	/* A second buffer while one is held: the first comes back; an oversized one is held. */
	send_stats(f, 2, tags, vals, 1);
	virtq_driver_set_desc(&f->drv[2], 3, BUF + 0x8000, 4096, 0, 0);
	virtq_driver_publish(&f->drv[2], 3);
	kick(f, 2);
	assert_int_equal(virtq_driver_get_used(&f->drv[2], &id, &len), 1);
	assert_int_equal(id, 2);
	assert_int_equal(g_metrics.balloon.stats_update_fails, 2);
}

static void test_reporting(void **state)
{
	struct fx *f = *state;
	uint8_t *p = gptr(f, PAGES, 0x4000);

	memset(p, 0xaa, 0x4000);
	/* Two ranges in one report, then one that is not page-aligned. */
	virtq_driver_set_desc(&f->drv[4], 0, PAGES, 0x2000, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
			      1);
	virtq_driver_set_desc(&f->drv[4], 1, PAGES + 0x3000, 0x1000, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->drv[4], 0);
	virtq_driver_set_desc(&f->drv[4], 2, PAGES + 0x2010, 0x100, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->drv[4], 2);
	kick(f, 4);
	expect_used(f, 4, 0);
	expect_used(f, 4, 2);
	assert_int_equal(nonzero(p, 0x2000), 0);
	assert_int_equal(nonzero(p + 0x2000, 0x1000), 0x1000);
	assert_int_equal(nonzero(p + 0x3000, 0x1000), 0);
	assert_int_equal(g_metrics.balloon.free_page_report_count, 3);
	assert_int_equal(g_metrics.balloon.free_page_report_freed, 0x3000);
	assert_int_equal(g_metrics.balloon.free_page_report_fails, 1);
}

/* A hinting chain: the 4-byte command id @cmd, then (if @len) a free range. */
static void send_hint(struct fx *f, uint16_t d, uint32_t cmd, uint64_t gpa, uint32_t len)
{
	memcpy(gptr(f, BUF + 0x10000 + d * 4, 4), &cmd, 4);
	virtq_driver_set_desc(&f->drv[3], d, BUF + 0x10000 + d * 4, 4, len ? VRING_DESC_F_NEXT : 0,
			      (uint16_t)(d + 1));
	if (len)
		virtq_driver_set_desc(&f->drv[3], (uint16_t)(d + 1), gpa, len, VRING_DESC_F_WRITE,
				      0);
	virtq_driver_publish(&f->drv[3], d);
	kick(f, 3);
}

static void test_hinting(void **state)
{
	struct fx *f = *state;
	struct balloon_hinting_status hs;
	uint8_t *p = gptr(f, PAGES, 0x4000);
	char err[128] = "";

	assert_int_equal(balloon_hinting_status(f->b, &hs, err, sizeof(err)), 0);
	assert_int_equal(hs.host_cmd, 0);
	assert_false(hs.has_guest_cmd);
	/* Ranges before the host started a run are ignored. */
	memset(p, 0xaa, 0x4000);
	send_hint(f, 0, 5, PAGES, 0x1000);
	expect_used(f, 3, 0);
	assert_int_equal(nonzero(p, 0x1000), 0x1000);

	assert_int_equal(balloon_hinting(f->b, BALLOON_HINTING_START, true, err, sizeof(err)), 0);
	assert_int_equal(config_u32(f, 8), 2);
	send_hint(f, 2, 2, PAGES, 0x2000);
	expect_used(f, 3, 2);
	assert_int_equal(nonzero(p, 0x2000), 0);
	assert_int_equal(g_metrics.balloon.free_page_hint_freed, 0x2000);
	/* A range of an old run id is ignored. */
	send_hint(f, 4, 5, PAGES + 0x2000, 0x1000);
	expect_used(f, 3, 4);
	assert_int_equal(nonzero(p + 0x2000, 0x1000), 0x1000);
	assert_int_equal(balloon_hinting_status(f->b, &hs, err, sizeof(err)), 0);
	assert_int_equal(hs.host_cmd, 2);
	assert_true(hs.has_guest_cmd);
	assert_int_equal(hs.guest_cmd, 5);
	/* The driver's STOP is acknowledged with DONE (acknowledge_on_stop). */
	send_hint(f, 6, 0, 0, 0);
	expect_used(f, 3, 6);
	assert_int_equal(config_u32(f, 8), 1);
	/* The next run gets the next id; stop sets DONE. */
	assert_int_equal(balloon_hinting(f->b, BALLOON_HINTING_START, false, err, sizeof(err)), 0);
	assert_int_equal(config_u32(f, 8), 3);
	assert_int_equal(balloon_hinting(f->b, BALLOON_HINTING_STOP, false, err, sizeof(err)), 0);
	assert_int_equal(config_u32(f, 8), 1);
}

static void test_snapshot_round_trip(void **state)
{
	struct fx *f = *state;
	struct balloon_config cfg = {.amount_mib = 0,
				     .deflate_on_oom = true,
				     .stats_polling_interval_s = 1,
				     .free_page_hinting = true,
				     .free_page_reporting = true};
	struct balloon_config other = {.amount_mib = 0};
	uint16_t tags[] = {5};
	uint64_t vals[] = {4242};
	struct balloon_dev *b2, *b3;
	struct vmstate_writer w;
	struct vmstate_reader r;
	struct balloon_stats st;
	char err[128];
	uint32_t id, len;

	assert_int_equal(balloon_set_target(f->b, 3, err, sizeof(err)), 0);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_CONFIG + 4, 77);
	send_stats(f, 0, tags, vals, 1);
	assert_int_equal(balloon_hinting(f->b, BALLOON_HINTING_START, true, err, sizeof(err)), 0);
	vmstate_writer_init_raw(&w);
	assert_int_equal(virtio_mmio_save(f->dev, &w), 0);

	assert_int_equal(balloon_create(&b2, &cfg, &f->mem, BASE, GSI), 0);
	r = (struct vmstate_reader){w.buf, w.len, 0, 0};
	assert_int_equal(virtio_mmio_restore(balloon_mmio(b2), &r), 0);
	assert_int_equal(vmstate_reader_end(&r), 0);
	assert_int_equal(virtio_mmio_driver_read(balloon_mmio(b2), VIRTIO_MMIO_CONFIG + 0), 768);
	assert_int_equal(virtio_mmio_driver_read(balloon_mmio(b2), VIRTIO_MMIO_CONFIG + 4), 77);
	assert_int_equal(virtio_mmio_driver_read(balloon_mmio(b2), VIRTIO_MMIO_CONFIG + 8), 2);
	assert_int_equal(balloon_get_stats(b2, &st, err, sizeof(err)), 0);
	assert_int_equal(st.values[5], 4242);
	/* The held statistics buffer is still the restored device's to give back. */
	assert_int_equal(balloon_set_stats_interval(b2, 9, err, sizeof(err)), 0);
	assert_int_equal(virtq_driver_get_used(&f->drv[2], &id, &len), 1);
	assert_int_equal(id, 0);
	balloon_destroy(b2);

	/* A balloon without statistics cannot take this state. */
	assert_int_equal(balloon_create(&b3, &other, &f->mem, BASE, GSI), 0);
	r = (struct vmstate_reader){w.buf, w.len, 0, 0};
	assert_int_not_equal(virtio_mmio_restore(balloon_mmio(b3), &r), 0);
	balloon_destroy(b3);
	vmstate_writer_free(&w);
}

static void test_create_limits(void **state)
{
	struct guest_mem mem;
	struct balloon_config cfg = {.amount_mib = UINT32_MAX / 256 + 1};
	struct balloon_dev *b;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, RAM_SIZE), 0);
	assert_int_equal(balloon_create(&b, &cfg, &mem, BASE, GSI), -EINVAL);
	guest_mem_destroy(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_compact),
	    cmocka_unit_test(test_release_range),
	    cmocka_unit_test(test_release_restored),
	    cmocka_unit_test(test_create_limits),
	    cmocka_unit_test_setup_teardown(test_identity, setup_all, teardown),
	    cmocka_unit_test_setup_teardown(test_basic_features, setup_basic, teardown),
	    cmocka_unit_test_setup_teardown(test_inflate_releases_pages, setup_basic, teardown),
	    cmocka_unit_test_setup_teardown(test_inflate_hostile, setup_basic, teardown),
	    cmocka_unit_test_setup_teardown(test_config_space, setup_basic, teardown),
	    cmocka_unit_test_setup_teardown(test_set_target, setup_basic, teardown),
	    cmocka_unit_test_setup_teardown(test_inactive, setup_inactive, teardown),
	    cmocka_unit_test_setup_teardown(test_stats, setup_all, teardown),
	    cmocka_unit_test_setup_teardown(test_reporting, setup_all, teardown),
	    cmocka_unit_test_setup_teardown(test_hinting, setup_all, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_round_trip, setup_all, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
