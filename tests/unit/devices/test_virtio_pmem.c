// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-pmem: the file mapping (shared with the file, rounded up to 2 MiB,
 * read-only when asked), the config space, flush requests (msync: the file
 * has the bytes written through the mapping), malformed chains completed
 * with length 0, the rate limiter hook, and the backing-file errors.
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
#include <unistd.h>

#include <cmocka.h>

#include "vmm/base/event_loop.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "vmm/base/metrics.h"
#include "devices/virtio/pmem.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtq_driver.h"

#define RAM_SIZE  (4 * MIB)
#define BASE	  (LAYOUT_VIRTIO_START + 0x3000)
#define GSI	  9
#define RING	  0x10000ULL
#define BUF	  0x100000ULL
#define QSIZE	  32
#define PMEM_GPA  (8 * GIB)
#define FILE_SIZE 5000U

struct fx {
	struct guest_mem mem;
	struct event_loop loop;
	struct virtq_driver drv;
	struct pmem_dev *p;
	struct virtio_mmio_dev *dev;
	char path[64];
};

static int make_file(char *path, size_t len)
{
	char data[FILE_SIZE];
	int fd;

	strcpy(path, "/tmp/ember-test-pmem-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i % 26);
	if (len && write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int fx_setup(void **state, bool read_only)
{
	static struct fx f;
	char err[256];

	memset(&f, 0, sizeof(f));
	metrics_reset();
	if (make_file(f.path, FILE_SIZE) || guest_mem_create(&f.mem, RAM_SIZE) ||
	    event_loop_init(&f.loop))
		return -1;
	if (pmem_create(&f.p, f.path, read_only, PMEM_GPA, &f.mem, BASE, GSI, err, sizeof(err)))
		return -1;
	f.dev = pmem_mmio(f.p);
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

static int setup(void **state)
{
	return fx_setup(state, false);
}

static int setup_ro(void **state)
{
	return fx_setup(state, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_mmio_detach(f->dev);
	pmem_destroy(f->p);
	event_loop_destroy(&f->loop);
	guest_mem_destroy(&f->mem);
	unlink(f->path);
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

static uint64_t config_u64(struct fx *f, uint32_t offset)
{
	uint8_t b[8] = {0};
	uint64_t v;

	virtio_mmio_bus_ops.read(f->dev, VIRTIO_MMIO_CONFIG + offset, b, 8);
	memcpy(&v, b, 8);
	return v;
}

/* A flush request: type at BUF + 16 * @i, status 8 bytes after, descriptors 2i and 2i+1. */
static void queue_flush(struct fx *f, uint16_t i, uint32_t type)
{
	uint64_t req = BUF + 16ULL * i;

	memcpy(gptr(f, req, 4), &type, 4);
	memset(gptr(f, req + 8, 4), 0xee, 4);
	virtq_driver_set_desc(&f->drv, 2 * i, req, 4, VRING_DESC_F_NEXT, 2 * i + 1);
	virtq_driver_set_desc(&f->drv, 2 * i + 1, req + 8, 4, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->drv, 2 * i);
}

static uint32_t status_of(struct fx *f, uint16_t i)
{
	uint32_t s;

	memcpy(&s, gptr(f, BUF + 16ULL * i + 8, 4), 4);
	return s;
}

static void file_bytes(struct fx *f, off_t off, void *buf, size_t len)
{
	int fd = open(f->path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

static void test_identity_and_config(void **state)
{
	struct fx *f = *state;
	uint8_t b[4] = {0};

	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_DEVICE_ID), 27);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	assert_int_equal(config_u64(f, 0), PMEM_GPA);
	assert_int_equal(config_u64(f, 8), 2 * MIB);
	/* Byte reads inside the config space, nothing past its 16 bytes. */
	virtio_mmio_bus_ops.read(f->dev, VIRTIO_MMIO_CONFIG + 10, b, 1);
	assert_int_equal(b[0], (2 * MIB >> 16) & 0xff);
	virtio_mmio_bus_ops.read(f->dev, VIRTIO_MMIO_CONFIG + 16, b, 1);
	assert_int_equal(b[0], 0);
	assert_int_equal(g_metrics.virtio.config_out_of_range, 1);
	/* Writes are ignored: the region stays where it is. */
	virtio_mmio_bus_ops.write(f->dev, VIRTIO_MMIO_CONFIG, (const uint8_t *)"\1\2\3\4", 4);
	assert_int_equal(config_u64(f, 0), PMEM_GPA);
}

static void test_mapping(void **state)
{
	struct fx *f = *state;
	uint8_t *host = pmem_host(f->p);

	assert_int_equal(pmem_file_size(f->p), FILE_SIZE);
	assert_int_equal(pmem_region_size(f->p), 2 * MIB);
	assert_int_equal(pmem_gpa(f->p), PMEM_GPA);
	assert_false(pmem_read_only(f->p));
	assert_memory_equal(host, "abcdefghij", 10);
	assert_int_equal(host[FILE_SIZE - 1], 'a' + (FILE_SIZE - 1) % 26);
	/* Past the file: zeros of the anonymous tail, writable, never in the file. */
	assert_int_equal(host[FILE_SIZE + 100], 0);
	host[2 * MIB - 1] = 7;
}

static void test_flush_writes_back(void **state)
{
	struct fx *f = *state;
	uint8_t *host = pmem_host(f->p);
	uint32_t id, len;
	char got[5];

	memcpy(host + 100, "HELLO", 5);
	queue_flush(f, 0, 0);
	queue_flush(f, 1, 0);
	notify_and_run(f);
	for (uint32_t i = 0; i < 2; i++) {
		assert_int_equal(virtq_driver_get_used(&f->drv, &id, &len), 1);
		assert_int_equal(id, 2 * i);
		assert_int_equal(len, 4);
		assert_int_equal(status_of(f, (uint16_t)i), 0);
	}
	file_bytes(f, 100, got, 5);
	assert_memory_equal(got, "HELLO", 5);
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	uint32_t id, len, type = 0;

	/* Unknown request type. */
	queue_flush(f, 0, 1);
	/* Request of 8 bytes. */
	memcpy(gptr(f, BUF + 0x100, 4), &type, 4);
	virtq_driver_set_desc(&f->drv, 2, BUF + 0x100, 8, VRING_DESC_F_NEXT, 3);
	virtq_driver_set_desc(&f->drv, 3, BUF + 0x108, 4, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->drv, 2);
	/* No status descriptor. */
	virtq_driver_set_desc(&f->drv, 4, BUF + 0x100, 4, 0, 0);
	virtq_driver_publish(&f->drv, 4);
	/* Status of 2 bytes. */
	virtq_driver_set_desc(&f->drv, 5, BUF + 0x100, 4, VRING_DESC_F_NEXT, 6);
	virtq_driver_set_desc(&f->drv, 6, BUF + 0x200, 2, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->drv, 5);
	/* Only a writable descriptor. */
	virtq_driver_set_desc(&f->drv, 7, BUF + 0x200, 4, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->drv, 7);
	/* Two readable descriptors before the status. */
	virtq_driver_set_desc(&f->drv, 8, BUF + 0x100, 4, VRING_DESC_F_NEXT, 9);
	virtq_driver_set_desc(&f->drv, 9, BUF + 0x100, 4, VRING_DESC_F_NEXT, 10);
	virtq_driver_set_desc(&f->drv, 10, BUF + 0x200, 4, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->drv, 8);
	/* A status buffer outside guest RAM: the chain itself is refused. */
	virtq_driver_set_desc(&f->drv, 11, BUF + 0x100, 4, VRING_DESC_F_NEXT, 12);
	virtq_driver_set_desc(&f->drv, 12, RAM_SIZE + 0x1000, 4, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->drv, 11);
	/* Then a good one, still served. */
	queue_flush(f, 8, 0);
	notify_and_run(f);
	{
		static const uint16_t heads[] = {0, 2, 4, 5, 7, 8, 11};

		for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
			assert_int_equal(virtq_driver_get_used(&f->drv, &id, &len), 1);
			assert_int_equal(id, heads[i]);
			assert_int_equal(len, 0);
		}
	}
	assert_int_equal(status_of(f, 0), 0xeeeeeeee);
	assert_int_equal(virtq_driver_get_used(&f->drv, &id, &len), 1);
	assert_int_equal(id, 16);
	assert_int_equal(len, 4);
	assert_int_equal(status_of(f, 8), 0);
}

static void test_read_only(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;

	assert_true(pmem_read_only(f->p));
	assert_memory_equal(pmem_host(f->p), "abcdef", 6);
	/* Flushing a read-only mapping succeeds (there is nothing to write). */
	queue_flush(f, 0, 0);
	notify_and_run(f);
	assert_int_equal(virtq_driver_get_used(&f->drv, &id, &len), 1);
	assert_int_equal(len, 4);
	assert_int_equal(status_of(f, 0), 0);
}

struct test_limiter {
	uint64_t bytes, ops;
	bool allow;
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

	pmem_set_limiter(f->p, &lim);
	queue_flush(f, 0, 0);
	queue_flush(f, 1, 0);
	notify_and_run(f);
	/* One pass, one flush: asked once for 1 op and the file's size; both wait. */
	assert_int_equal(tl.calls, 1);
	assert_int_equal(tl.ops, 1);
	assert_int_equal(tl.bytes, FILE_SIZE);
	assert_int_equal(virtq_driver_used_idx(&f->drv), 0);
	tl.allow = true;
	virtio_mmio_kick(f->dev, 0);
	assert_int_equal(tl.calls, 2);
	assert_int_equal(virtq_driver_used_idx(&f->drv), 2);
	/* An empty queue asks nothing. */
	virtio_mmio_kick(f->dev, 0);
	assert_int_equal(tl.calls, 2);
}

static void test_backing_file_errors(void **state)
{
	struct guest_mem mem;
	struct pmem_dev *p = NULL;
	char path[64], err[256];

	(void)state;
	assert_int_equal(guest_mem_create(&mem, RAM_SIZE), 0);
	assert_int_equal(pmem_create(&p, "/nonexistent/pmem", false, PMEM_GPA, &mem, BASE, GSI, err,
				     sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "Error accessing backing file: No such file or directory (os "
				 "error 2)");
	assert_int_equal(make_file(path, 0), 0);
	assert_int_equal(pmem_create(&p, path, false, PMEM_GPA, &mem, BASE, GSI, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "Error backing file size is 0");
	unlink(path);
	/* Exactly 2 MiB: no tail. */
	assert_int_equal(pmem_aligned_size(2 * MIB), 2 * MIB);
	assert_int_equal(pmem_aligned_size(2 * MIB + 1), 4 * MIB);
	assert_int_equal(pmem_aligned_size(1), 2 * MIB);
	assert_int_equal(pmem_aligned_size(UINT64_MAX - 10), 0);
	guest_mem_destroy(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identity_and_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mapping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush_writes_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only, setup_ro, teardown),
	    cmocka_unit_test_setup_teardown(test_limiter_hook, setup, teardown),
	    cmocka_unit_test(test_backing_file_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
