// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk end to end: a real backing file, requests laid out in real guest
 * memory, notifications through the MMIO register and the VMM event loop,
 * with both I/O engines. Every data check compares bytes with the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/base/event_loop.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "vmm/base/metrics.h"
#include "devices/virtio/block.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtq_driver.h"

#define RAM_SIZE  (4 * MIB)
#define BASE	  LAYOUT_VIRTIO_START
#define GSI	  5
#define RING	  0x10000ULL
#define HDR	  0x40000ULL
#define TABLE	  0x41000ULL
#define DATA	  0x50000ULL
#define STATUS	  0x7f000ULL
#define FILE_SIZE (64 * 1024)
#define QSIZE	  64

#define F_NEXT	   VRING_DESC_F_NEXT
#define F_WRITE	   VRING_DESC_F_WRITE
#define F_INDIRECT VRING_DESC_F_INDIRECT

struct fx {
	enum block_io_engine engine;
	struct guest_mem mem;
	struct event_loop loop;
	struct virtq_driver drv;
	struct block_dev *blk;
	struct virtio_mmio_dev *dev;
	char path[64];
	char path2[64];
	int fd; /* the test's own view of the backing file */
};

static uint8_t pattern(uint64_t off, uint8_t salt)
{
	return (uint8_t)(off * 7 + off / 512 + salt);
}

static int make_file(char *path, size_t pathlen, size_t size, uint8_t salt)
{
	uint8_t *buf = malloc(size);
	int fd;

	snprintf(path, pathlen, "/tmp/ember-blk-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || !buf)
		return -1;
	for (size_t i = 0; i < size; i++)
		buf[i] = pattern(i, salt);
	if (write(fd, buf, size) != (ssize_t)size)
		return -1;
	free(buf);
	return fd;
}

static int fx_create(struct fx *f, const struct block_config *cfg)
{
	char err[256];

	if (block_create(&f->blk, cfg, &f->mem, BASE, GSI, err, sizeof(err)))
		return -1;
	f->dev = block_mmio(f->blk);
	return virtio_mmio_attach(f->dev, &f->loop);
}

static int setup_common(void **state, bool read_only, enum block_cache_type cache)
{
	static struct fx f;
	enum block_io_engine engine = *state ? *(enum block_io_engine *)*state : BLOCK_IO_SYNC;
	struct block_config cfg = {
	    .drive_id = "rootfs",
	    .is_read_only = read_only,
	    .cache_type = cache,
	};

	memset(&f, 0, sizeof(f));
	f.engine = engine;
	metrics_reset();
	if (guest_mem_create(&f.mem, RAM_SIZE) || event_loop_init(&f.loop))
		return -1;
	f.fd = make_file(f.path, sizeof(f.path), FILE_SIZE, 0);
	if (f.fd < 0)
		return -1;
	cfg.path_on_host = f.path;
	cfg.io_engine = engine;
	if (fx_create(&f, &cfg))
		return -1;
	if (virtq_driver_init(&f.drv, &f.mem, RING, QSIZE))
		return -1;
	*state = &f;
	return 0;
}

static int setup(void **state)
{
	return setup_common(state, false, BLOCK_CACHE_UNSAFE);
}

static int setup_writeback(void **state)
{
	return setup_common(state, false, BLOCK_CACHE_WRITEBACK);
}

static int setup_ro(void **state)
{
	return setup_common(state, true, BLOCK_CACHE_UNSAFE);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_mmio_detach(f->dev);
	block_destroy(f->blk);
	event_loop_destroy(&f->loop);
	guest_mem_destroy(&f->mem);
	close(f->fd);
	unlink(f->path);
	if (f->path2[0])
		unlink(f->path2);
	return 0;
}

static uint64_t features_of(struct fx *f)
{
	uint64_t lo, hi;

	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	lo = virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_DEVICE_FEATURES);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	hi = virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_DEVICE_FEATURES);
	return lo | hi << 32;
}

/* Accept everything offered, set up the queue, DRIVER_OK. */
static void bring_up(struct fx *f)
{
	uint64_t feat = features_of(f);

	assert_true(virtio_mmio_driver_negotiate(f->dev, feat) & VIRTIO_CONFIG_S_FEATURES_OK);
	assert_int_equal(virtio_mmio_driver_setup_queue(f->dev, 0, &f->drv), 1);
	assert_true(virtio_mmio_driver_ok(f->dev) & VIRTIO_CONFIG_S_DRIVER_OK);
	while (event_loop_run_once(&f->loop, 0) > 0)
		;
}

static void put_hdr(struct fx *f, uint64_t gpa, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = {.type = type, .ioprio = 0, .sector = sector};

	assert_int_equal(guest_mem_write(&f->mem, gpa, &h, sizeof(h)), 0);
}

static uint8_t *gptr(struct fx *f, uint64_t gpa, uint64_t len)
{
	uint8_t *p = guest_mem_translate(&f->mem, gpa, len);

	assert_non_null(p);
	return p;
}

/*
 * Header, @nseg data descriptors splitting @len bytes (device-writable for
 * reads), status. Direct descriptors from index @first, or one indirect table.
 */
static uint16_t build_req(struct fx *f, uint16_t first, uint32_t type, uint64_t sector,
			  uint32_t len, unsigned int nseg, bool indirect)
{
	uint16_t dflags = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID ? F_WRITE : 0;
	uint64_t table = indirect ? TABLE : f->drv.desc;
	uint16_t i = indirect ? 0 : first, n = 0;
	uint32_t done = 0;

	put_hdr(f, HDR, type, sector);
	*gptr(f, STATUS, 1) = 0xff;
	virtq_driver_write_desc(&f->mem, table, i, HDR, 16, F_NEXT, i + 1);
	for (n = 0; n < nseg; n++) {
		uint32_t part = n + 1U < nseg ? len / nseg : len - done;

		virtq_driver_write_desc(&f->mem, table, i + 1 + n, DATA + done + 64ULL * n, part,
					dflags | F_NEXT, i + 2 + n);
		done += part;
	}
	virtq_driver_write_desc(&f->mem, table, i + 1 + n, STATUS, 1, F_WRITE, 0);
	if (indirect)
		virtq_driver_set_desc(&f->drv, first, TABLE, 16ULL * (nseg + 2), F_INDIRECT, 0);
	return first;
}

/* The guest-side address of data byte @off of a build_req() layout. */
static uint64_t data_gpa(uint32_t len, unsigned int nseg, uint32_t off)
{
	uint32_t part = len / nseg;
	unsigned int n = off / part < nseg ? off / part : nseg - 1;

	return DATA + off + 64ULL * n;
}

/* Notify through the register and let the VMM loop run until @n used elements. */
static void submit_and_wait(struct fx *f, uint16_t head, uint32_t *len, unsigned int n)
{
	uint16_t target = virtq_driver_used_idx(&f->drv) + n;
	uint32_t id;

	virtq_driver_publish(&f->drv, head);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (int i = 0; i < 1000 && virtq_driver_used_idx(&f->drv) != target; i++)
		event_loop_run_once(&f->loop, 100);
	assert_int_equal(virtq_driver_used_idx(&f->drv), target);
	assert_int_equal(virtq_driver_get_used(&f->drv, &id, len), 1);
	assert_int_equal(id, head);
}

static void file_read(struct fx *f, uint64_t off, void *buf, size_t len)
{
	assert_int_equal(pread(f->fd, buf, len, (off_t)off), (ssize_t)len);
}

/* ---- config and features ----------------------------------------------------------- */

static void test_config_and_features(void **state)
{
	struct fx *f = *state;
	uint8_t cap[8];
	uint64_t feat = features_of(f);

	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	virtio_mmio_bus_ops.read(f->dev, VIRTIO_MMIO_CONFIG, cap, 8);
	assert_memory_equal(cap, "\x80\0\0\0\0\0\0\0", 8); /* 64 KiB / 512 = 128 */
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_CONFIG + 4), 0);
	assert_int_equal(block_capacity(f->blk), FILE_SIZE / 512);
	/* Nothing past the capacity field. */
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_CONFIG + 8), 0);
	assert_int_equal(g_metrics.virtio.config_out_of_range, 1);

	assert_true(feat & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_true(feat & VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX));
	assert_true(feat & VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC));
	assert_false(feat & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	assert_false(feat & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH)); /* Unsafe */
}

static void test_features_writeback(void **state)
{
	struct fx *f = *state;

	assert_true(features_of(f) & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	assert_false(features_of(f) & VIRTIO_BIT(VIRTIO_BLK_F_RO));
}

/* ---- I/O ----------------------------------------------------------------------------- */

static void test_read(void **state)
{
	struct fx *f = *state;
	uint8_t expect[1024];
	uint32_t len;

	bring_up(f);
	memset(gptr(f, DATA, 4096), 0, 4096);
	build_req(f, 0, VIRTIO_BLK_T_IN, 3, 1024, 2, false);
	submit_and_wait(f, 0, &len, 1);
	assert_int_equal(len, 1024 + 1);
	assert_int_equal(*gptr(f, STATUS, 1), VIRTIO_BLK_S_OK);
	file_read(f, 3 * 512, expect, sizeof(expect));
	for (uint32_t i = 0; i < 1024; i++)
		assert_int_equal(*gptr(f, data_gpa(1024, 2, i), 1), expect[i]);
	assert_int_equal(expect[0], pattern(1536, 0));
	assert_int_equal(g_metrics.virtio.blk_read_count, 1);
	assert_int_equal(g_metrics.virtio.blk_read_bytes, 1024);
}

static void test_write_indirect(void **state)
{
	struct fx *f = *state;
	uint8_t got[2560];
	uint32_t len;

	bring_up(f);
	build_req(f, 5, VIRTIO_BLK_T_OUT, 10, 1536, 3, true);
	for (uint32_t i = 0; i < 1536; i++)
		*gptr(f, data_gpa(1536, 3, i), 1) = (uint8_t)(0x5a ^ i);
	submit_and_wait(f, 5, &len, 1);
	assert_int_equal(len, 1);
	assert_int_equal(*gptr(f, STATUS, 1), VIRTIO_BLK_S_OK);
	file_read(f, 9 * 512, got, sizeof(got));
	for (uint32_t i = 0; i < 512; i++) /* sector 9 untouched */
		assert_int_equal(got[i], pattern(9 * 512 + i, 0));
	for (uint32_t i = 0; i < 1536; i++)
		assert_int_equal(got[512 + i], (uint8_t)(0x5a ^ i));
	for (uint32_t i = 2048; i < 2560; i++) /* sector 13 untouched */
		assert_int_equal(got[i], pattern(9 * 512 + i, 0));
	assert_int_equal(g_metrics.virtio.blk_write_count, 1);
	assert_int_equal(g_metrics.virtio.blk_write_bytes, 1536);
}

static void test_split_header(void **state)
{
	struct fx *f = *state;
	uint8_t expect[512];
	uint32_t len;

	/* ANY_LAYOUT: the header split 4 + 12, data and status in one buffer. */
	bring_up(f);
	put_hdr(f, HDR, VIRTIO_BLK_T_IN, 7);
	virtq_driver_set_desc(&f->drv, 0, HDR, 4, F_NEXT, 1);
	virtq_driver_set_desc(&f->drv, 1, HDR + 4, 12, F_NEXT, 2);
	virtq_driver_set_desc(&f->drv, 2, DATA, 513, F_WRITE, 0);
	submit_and_wait(f, 0, &len, 1);
	assert_int_equal(len, 513);
	assert_int_equal(*gptr(f, DATA + 512, 1), VIRTIO_BLK_S_OK);
	file_read(f, 7 * 512, expect, sizeof(expect));
	assert_memory_equal(gptr(f, DATA, 512), expect, 512);
}

static void test_many_in_flight(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	uint8_t expect[512];

	/* 16 reads of one sector each, all published before a single notify. */
	bring_up(f);
	for (uint16_t r = 0; r < 16; r++) {
		uint16_t d = (uint16_t)(3 * r);

		put_hdr(f, HDR + 16ULL * r, VIRTIO_BLK_T_IN, r * 3);
		*gptr(f, STATUS + r, 1) = 0xff;
		virtq_driver_set_desc(&f->drv, d, HDR + 16ULL * r, 16, F_NEXT, d + 1);
		virtq_driver_set_desc(&f->drv, d + 1, DATA + 512ULL * r, 512, F_WRITE | F_NEXT,
				      d + 2);
		virtq_driver_set_desc(&f->drv, d + 2, STATUS + r, 1, F_WRITE, 0);
		virtq_driver_publish(&f->drv, d);
	}
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (int i = 0; i < 1000 && virtq_driver_used_idx(&f->drv) != 16; i++)
		event_loop_run_once(&f->loop, 100);
	assert_int_equal(virtq_driver_used_idx(&f->drv), 16);
	for (int n = 0; n < 16; n++) {
		assert_int_equal(virtq_driver_get_used(&f->drv, &id, &len), 1);
		assert_int_equal(id % 3, 0);
		assert_int_equal(len, 513);
	}
	for (uint16_t r = 0; r < 16; r++) {
		assert_int_equal(*gptr(f, STATUS + r, 1), VIRTIO_BLK_S_OK);
		file_read(f, r * 3 * 512ULL, expect, 512);
		assert_memory_equal(gptr(f, DATA + 512ULL * r, 512), expect, 512);
	}
}

static void test_flush(void **state)
{
	struct fx *f = *state;
	uint32_t len;

	bring_up(f);
	put_hdr(f, HDR, VIRTIO_BLK_T_FLUSH, 0);
	*gptr(f, STATUS, 1) = 0xff;
	virtq_driver_set_desc(&f->drv, 0, HDR, 16, F_NEXT, 1);
	virtq_driver_set_desc(&f->drv, 1, STATUS, 1, F_WRITE, 0);
	submit_and_wait(f, 0, &len, 1);
	assert_int_equal(len, 1);
	assert_int_equal(*gptr(f, STATUS, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(g_metrics.virtio.blk_flush_count, 1);
}

static void test_get_id(void **state)
{
	struct fx *f = *state;
	uint32_t len;

	bring_up(f);
	memset(gptr(f, DATA, 64), 0xcc, 64);
	build_req(f, 0, VIRTIO_BLK_T_GET_ID, 0, 20, 1, false);
	submit_and_wait(f, 0, &len, 1);
	assert_int_equal(len, 21);
	assert_int_equal(*gptr(f, STATUS, 1), VIRTIO_BLK_S_OK);
	assert_memory_equal(gptr(f, DATA, 20), "rootfs\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
	/* Shorter than 20 bytes: refused. */
	build_req(f, 0, VIRTIO_BLK_T_GET_ID, 0, 19, 1, false);
	submit_and_wait(f, 0, &len, 1);
	assert_int_equal(len, 1);
	assert_int_equal(*gptr(f, STATUS, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(g_metrics.virtio.blk_get_id_count, 1);
}

static void test_get_id_long_name(void **state)
{
	struct fx *f = *state;
	struct block_config cfg = {.drive_id = "abcdefghijklmnopqrstuvwxyz",
				   .path_on_host = f->path};
	uint32_t len;

	virtio_mmio_detach(f->dev);
	block_destroy(f->blk);
	assert_int_equal(fx_create(f, &cfg), 0);
	bring_up(f);
	memset(gptr(f, DATA, 64), 0xcc, 64);
	build_req(f, 0, VIRTIO_BLK_T_GET_ID, 0, 40, 1, false);
	submit_and_wait(f, 0, &len, 1);
	assert_int_equal(len, 21);
	assert_memory_equal(gptr(f, DATA, 20), "abcdefghijklmnopqrst", 20);
	assert_int_equal(*gptr(f, DATA + 20, 1), 0xcc);
}

static void test_read_only(void **state)
{
	struct fx *f = *state;
	uint8_t got[512];
	uint32_t len;

	assert_true(features_of(f) & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	bring_up(f);
	build_req(f, 0, VIRTIO_BLK_T_OUT, 2, 512, 1, false);
	memset(gptr(f, DATA, 512), 0x11, 512);
	submit_and_wait(f, 0, &len, 1);
	assert_int_equal(len, 1);
	assert_int_equal(*gptr(f, STATUS, 1), VIRTIO_BLK_S_IOERR);
	file_read(f, 2 * 512, got, sizeof(got));
	for (int i = 0; i < 512; i++)
		assert_int_equal(got[i], pattern(1024 + i, 0));
	/* Reads still work. */
	build_req(f, 0, VIRTIO_BLK_T_IN, 2, 512, 1, false);
	submit_and_wait(f, 0, &len, 1);
	assert_int_equal(*gptr(f, STATUS, 1), VIRTIO_BLK_S_OK);
	assert_memory_equal(gptr(f, DATA, 512), got, 512);
	assert_int_equal(g_metrics.virtio.blk_write_count, 0);
}

static void expect_ioerr(struct fx *f, uint32_t type, uint64_t sector, uint32_t data_len)
{
	uint32_t len;

	build_req(f, 0, type, sector, data_len, 1, false);
	submit_and_wait(f, 0, &len, 1);
	assert_int_equal(len, 1);
	assert_int_equal(*gptr(f, STATUS, 1), VIRTIO_BLK_S_IOERR);
}

static void test_out_of_range(void **state)
{
	struct fx *f = *state;
	uint32_t len;

	bring_up(f);
	expect_ioerr(f, VIRTIO_BLK_T_IN, 128, 512);  /* at the capacity */
	expect_ioerr(f, VIRTIO_BLK_T_IN, 127, 1024); /* straddling it */
	expect_ioerr(f, VIRTIO_BLK_T_OUT, 127, 1024);
	expect_ioerr(f, VIRTIO_BLK_T_IN, UINT64_MAX, 512); /* sector * 512 would wrap */
	expect_ioerr(f, VIRTIO_BLK_T_IN, UINT64_MAX / 512 + 1, 512);
	expect_ioerr(f, VIRTIO_BLK_T_IN, 0, 100); /* not whole sectors */
	expect_ioerr(f, VIRTIO_BLK_T_OUT, 0, 513);
	assert_int_equal(g_metrics.virtio.blk_invalid_reqs, 7);
	/* The last sector itself is fine. */
	build_req(f, 0, VIRTIO_BLK_T_IN, 127, 512, 1, false);
	submit_and_wait(f, 0, &len, 1);
	assert_int_equal(*gptr(f, STATUS, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(*gptr(f, DATA + 511, 1), pattern(FILE_SIZE - 1, 0));
}

static void test_bad_requests(void **state)
{
	struct fx *f = *state;
	uint32_t len;

	bring_up(f);
	/* Header of 8 bytes only. */
	put_hdr(f, HDR, VIRTIO_BLK_T_IN, 0);
	*gptr(f, STATUS, 1) = 0xff;
	virtq_driver_set_desc(&f->drv, 0, HDR, 8, F_NEXT, 1);
	virtq_driver_set_desc(&f->drv, 1, STATUS, 1, F_WRITE, 0);
	submit_and_wait(f, 0, &len, 1);
	assert_int_equal(len, 1);
	assert_int_equal(*gptr(f, STATUS, 1), VIRTIO_BLK_S_IOERR);

	/* No device-writable byte: no status can be written. */
	*gptr(f, STATUS, 1) = 0xff;
	virtq_driver_set_desc(&f->drv, 0, HDR, 16, F_NEXT, 1);
	virtq_driver_set_desc(&f->drv, 1, STATUS, 1, 0, 0);
	submit_and_wait(f, 0, &len, 1);
	assert_int_equal(len, 0);
	assert_int_equal(*gptr(f, STATUS, 1), 0xff);

	/* A read with device-readable data, a write with device-writable data. */
	build_req(f, 0, VIRTIO_BLK_T_IN, 0, 512, 1, false);
	virtq_driver_set_desc(&f->drv, 1, DATA, 512, F_NEXT, 2);
	submit_and_wait(f, 0, &len, 1);
	assert_int_equal(*gptr(f, STATUS, 1), VIRTIO_BLK_S_IOERR);
	build_req(f, 0, VIRTIO_BLK_T_OUT, 0, 512, 1, false);
	virtq_driver_set_desc(&f->drv, 1, DATA, 512, F_NEXT | F_WRITE, 2);
	submit_and_wait(f, 0, &len, 1);
	assert_int_equal(*gptr(f, STATUS, 1), VIRTIO_BLK_S_IOERR);
	assert_int_equal(g_metrics.virtio.blk_invalid_reqs, 4);

	/* Unsupported type (DISCARD). */
	build_req(f, 0, VIRTIO_BLK_T_DISCARD, 0, 16, 1, false);
	submit_and_wait(f, 0, &len, 1);
	assert_int_equal(len, 1);
	assert_int_equal(*gptr(f, STATUS, 1), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(g_metrics.virtio.blk_unsupported_reqs, 1);

	/* Malformed chain (buffer outside RAM): used length 0, device still fine. */
	build_req(f, 0, VIRTIO_BLK_T_IN, 0, 512, 1, false);
	virtq_driver_set_desc(&f->drv, 1, RAM_SIZE - 256, 512, F_NEXT | F_WRITE, 2);
	submit_and_wait(f, 0, &len, 1);
	assert_int_equal(len, 0);
	assert_int_equal(g_metrics.virtio.chain_errors, 1);
	build_req(f, 0, VIRTIO_BLK_T_IN, 0, 512, 1, false);
	submit_and_wait(f, 0, &len, 1);
	assert_int_equal(*gptr(f, STATUS, 1), VIRTIO_BLK_S_OK);
	assert_false(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_STATUS) &
		     VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* ---- PATCH: backing file swap ------------------------------------------------------------- */

static void test_update_backing(void **state)
{
	struct fx *f = *state;
	int irq = virtio_mmio_irq_fd(f->dev);
	uint32_t gen, len;
	char err[256];
	eventfd_t v;
	int fd2;

	bring_up(f);
	gen = virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_CONFIG_GENERATION);
	fd2 = make_file(f->path2, sizeof(f->path2), 32 * 1024, 0x33);
	assert_true(fd2 >= 0);
	close(fd2);
	eventfd_read(irq, &v);

	assert_int_equal(block_update_backing(f->blk, f->path2, err, sizeof(err)), 0);
	assert_int_equal(block_capacity(f->blk), 64);
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_CONFIG), 64);
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	assert_int_equal(eventfd_read(irq, &v), 0);
	assert_true(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_INTERRUPT_STATUS) &
		    VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(g_metrics.virtio.blk_update_count, 1);

	/* Reads now come from the new file; the old capacity is gone. */
	build_req(f, 0, VIRTIO_BLK_T_IN, 1, 512, 1, false);
	submit_and_wait(f, 0, &len, 1);
	assert_int_equal(*gptr(f, STATUS, 1), VIRTIO_BLK_S_OK);
	for (uint32_t i = 0; i < 512; i++)
		assert_int_equal(*gptr(f, DATA + i, 1), pattern(512 + i, 0x33));
	expect_ioerr(f, VIRTIO_BLK_T_IN, 64, 512);

	/* A missing file leaves everything as it was. */
	assert_int_equal(block_update_backing(f->blk, "/nonexistent/ember.img", err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/ember.img"));
	assert_int_equal(block_capacity(f->blk), 64);
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	assert_int_equal(g_metrics.virtio.blk_update_fails, 1);
}

/* ---- rate limiter hook, reset, creation errors -------------------------------------------- */

struct test_limiter {
	bool allow;
	uint64_t bytes, ops;
	int calls;
};

static bool limiter_may_consume(void *ctx, uint64_t bytes, uint64_t ops)
{
	struct test_limiter *l = ctx;

	l->calls++;
	l->bytes = bytes;
	l->ops = ops;
	return l->allow;
}

static void test_limiter_hook(void **state)
{
	struct fx *f = *state;
	struct test_limiter tl = {.allow = false};
	struct virtio_limiter lim = {.may_consume = limiter_may_consume, .ctx = &tl};
	uint32_t id, len;

	block_set_limiter(f->blk, &lim);
	bring_up(f);
	build_req(f, 0, VIRTIO_BLK_T_IN, 0, 1024, 1, false);
	virtq_driver_publish(&f->drv, 0);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	while (event_loop_run_once(&f->loop, 10) > 0)
		;
	assert_int_equal(tl.calls, 1);
	assert_int_equal(tl.bytes, 1024);
	assert_int_equal(tl.ops, 1);
	assert_int_equal(virtq_driver_used_idx(&f->drv), 0);
	assert_int_equal(*gptr(f, STATUS, 1), 0xff);
	assert_int_equal(g_metrics.virtio.blk_throttled, 1);
	/* Tokens are back: the limiter kicks the queue on the VMM thread. */
	tl.allow = true;
	virtio_mmio_kick(f->dev, 0);
	for (int i = 0; i < 100 && !virtq_driver_used_idx(&f->drv); i++)
		event_loop_run_once(&f->loop, 100);
	assert_int_equal(virtq_driver_get_used(&f->drv, &id, &len), 1);
	assert_int_equal(len, 1025);
	assert_int_equal(*gptr(f, STATUS, 1), VIRTIO_BLK_S_OK);
}

static void test_reset_in_flight(void **state)
{
	struct fx *f = *state;

	/* Submitted, then the driver resets before the completion is reaped. */
	bring_up(f);
	build_req(f, 0, VIRTIO_BLK_T_IN, 0, 4096, 2, false);
	virtq_driver_publish(&f->drv, 0);
	virtio_mmio_kick(f->dev, 0);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_STATUS, 0);
	while (event_loop_run_once(&f->loop, 20) > 0)
		;
	/* Sync completed before the reset; async completions were dropped by it. */
	assert_int_equal(virtq_driver_used_idx(&f->drv), f->engine == BLOCK_IO_SYNC ? 1 : 0);
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_STATUS), 0);
	/* The device works again after re-initialisation. */
	assert_int_equal(virtq_driver_init(&f->drv, &f->mem, RING, QSIZE), 0);
	bring_up(f);
	build_req(f, 0, VIRTIO_BLK_T_IN, 0, 512, 1, false);
	{
		uint32_t len;

		submit_and_wait(f, 0, &len, 1);
		assert_int_equal(len, 513);
	}
}

static void test_create_errors(void **state)
{
	struct fx *f = *state;
	struct block_config cfg = {.drive_id = "x", .path_on_host = "/nonexistent/disk.img"};
	struct block_dev *blk;
	char err[256];

	assert_int_equal(block_create(&blk, &cfg, &f->mem, BASE, GSI, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "Cannot open backing file /nonexistent/disk.img"));
	/* Read-write open of a file without write permission. */
	assert_int_equal(chmod(f->path, 0400), 0);
	cfg.path_on_host = f->path;
	if (geteuid() != 0) {
		assert_int_equal(block_create(&blk, &cfg, &f->mem, BASE, GSI, err, sizeof(err)),
				 -EACCES);
	}
	cfg.is_read_only = true;
	assert_int_equal(block_create(&blk, &cfg, &f->mem, BASE, GSI, err, sizeof(err)), 0);
	block_destroy(blk);
}

static enum block_io_engine sync_engine = BLOCK_IO_SYNC;
static enum block_io_engine async_engine = BLOCK_IO_ASYNC;

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TE(fn, s)                                                                                  \
	cmocka_unit_test_prestate_setup_teardown(fn, s, teardown, &sync_engine),                   \
	    cmocka_unit_test_prestate_setup_teardown(fn, s, teardown, &async_engine)
	    T(test_config_and_features),
	    cmocka_unit_test_setup_teardown(test_features_writeback, setup_writeback, teardown),
	    TE(test_read, setup),
	    TE(test_write_indirect, setup),
	    TE(test_split_header, setup),
	    TE(test_many_in_flight, setup),
	    TE(test_flush, setup_writeback),
	    TE(test_flush, setup),
	    TE(test_get_id, setup),
	    T(test_get_id_long_name),
	    TE(test_read_only, setup_ro),
	    TE(test_out_of_range, setup),
	    TE(test_bad_requests, setup),
	    TE(test_update_backing, setup),
	    TE(test_limiter_hook, setup),
	    TE(test_reset_in_flight, setup),
	    T(test_create_errors),
#undef T
#undef TE
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
