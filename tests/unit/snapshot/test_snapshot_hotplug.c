// SPDX-License-Identifier: Apache-2.0
/*
 * Memory hotplug in a snapshot: the "MHPL" section round-trips, is absent
 * without the device, and a truncated, overlong, empty or oversized one is
 * refused; the plugged blocks go to the memory file after RAM (Full: their
 * non-zero pages, holes elsewhere; Diff: the blocks whole), the file sized
 * to the region's end, and come back into a restored device's region with
 * the unplugged blocks left zero; a file too short for the region is
 * refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/mem/layout.h"
#include "vmm/snapshot/snapshot_hotplug.h"
#include "vmm/snapshot/snapshot_mem.h"
#include "devices/virtio/virtio_mmio.h"
#include "tests/unit/snapshot/section_test.h"

#define RAM_SIZE (4 * MIB)
#define RAM_OFF	 (128 * MIB) /* where RAM ends in the memory file */
#define BASE	 (LAYOUT_VIRTIO_START + 0x3000)
#define GSI	 9
#define GPA	 (4 * GIB)
#define BLOCK	 (2 * MIB)
#define SLOT	 (8 * MIB)
#define REGION	 (32 * MIB)
#define DEV_LEN	 62U /* 7 u64, the bitmap's u32 length, 2 bytes */

/* ---- the MHPL section ---------------------------------------------------- */

static bool encode(struct vm_config *cfg, struct vmstate_writer *w, struct vmstate_file *f,
		   struct vmstate_reader *r)
{
	return section_encode(snapshot_hotplug_encode, SNAPSHOT_MHPL_TAG, cfg, w, f, r);
}

static int decode_values(uint64_t total, uint64_t block, uint64_t slot, size_t cut, bool extra)
{
	struct vmstate_writer w;
	struct vmstate_reader r;
	struct vm_config cfg;
	int ret;

	vmstate_writer_init_raw(&w);
	vmstate_put_u64(&w, total);
	vmstate_put_u64(&w, block);
	vmstate_put_u64(&w, slot);
	if (extra)
		vmstate_put_u8(&w, 0);
	r = (struct vmstate_reader){w.buf, w.len - cut, 0, 0};
	vm_config_init(&cfg);
	ret = snapshot_hotplug_decode(&r, &cfg);
	if (ret)
		assert_false(cfg.has_memory_hotplug);
	vm_config_free(&cfg);
	vmstate_writer_free(&w);
	return ret;
}

static void test_section(void **state)
{
	struct vm_config cfg, back;
	struct vmstate_writer w;
	struct vmstate_file f;
	struct vmstate_reader r;

	(void)state;
	vm_config_init(&cfg);
	vm_config_init(&back);
	assert_false(encode(&cfg, &w, &f, &r));
	vmstate_writer_free(&w);
	cfg.has_memory_hotplug = true;
	cfg.memory_hotplug = (struct memory_hotplug_config){1024, 4, 256};
	assert_true(encode(&cfg, &w, &f, &r));
	assert_int_equal(snapshot_hotplug_decode(&r, &back), 0);
	assert_true(back.has_memory_hotplug);
	assert_memory_equal(&back.memory_hotplug, &cfg.memory_hotplug, sizeof(cfg.memory_hotplug));
	vmstate_writer_free(&w);
	vm_config_free(&back);

	assert_int_equal(decode_values(1024, 2, 128, 0, false), 0);
	assert_int_equal(decode_values(1 << 20, 1 << 20, 1 << 20, 0, false), 0);
	assert_int_equal(decode_values(0, 2, 128, 0, false), -EINVAL);
	assert_int_equal(decode_values(1024, 0, 128, 0, false), -EINVAL);
	assert_int_equal(decode_values(1024, 2, 0, 0, false), -EINVAL);
	assert_int_equal(decode_values((1 << 20) + 1, 2, 128, 0, false), -EINVAL);
	assert_int_equal(decode_values(1024, UINT64_MAX, 128, 0, false), -EINVAL);
	assert_int_equal(decode_values(1024, 2, 1ULL << 50, 0, false), -EINVAL);
	assert_int_equal(decode_values(1024, 2, 128, 1, false), -EINVAL);
	assert_int_equal(decode_values(1024, 2, 128, 0, true), -EINVAL);
}

/* ---- the plugged blocks in the memory file -------------------------------- */

static int no_slot(void *ctx, uint32_t index, uint64_t gpa, uint64_t size, void *host)
{
	(void)ctx;
	(void)index;
	(void)gpa;
	(void)size;
	(void)host;
	return 0;
}

/* A device with blocks 0, 1 and 5 plugged (usable: 2 slots), through a restored state. */
static struct mem_dev *plugged_device(struct guest_mem *mem)
{
	const struct mem_geometry g = {GPA, REGION, BLOCK, SLOT};
	struct vmstate_writer w, dev;
	struct vmstate_reader r;
	struct mem_dev *m;
	const uint8_t bits[2] = {0x23, 0};

	assert_int_equal(mem_create(&m, &g, no_slot, NULL, mem, BASE, GSI), 0);
	vmstate_writer_init_raw(&w);
	assert_int_equal(virtio_mmio_save(mem_mmio(m), &w), 0);
	vmstate_writer_init_raw(&dev);
	vmstate_put_u64(&dev, GPA);
	vmstate_put_u64(&dev, REGION);
	vmstate_put_u64(&dev, BLOCK);
	vmstate_put_u64(&dev, SLOT);
	vmstate_put_u64(&dev, 2 * SLOT);
	vmstate_put_u64(&dev, 3 * BLOCK);
	vmstate_put_u64(&dev, 4 * BLOCK);
	vmstate_put_blob(&dev, bits, sizeof(bits));
	assert_int_equal(dev.len, DEV_LEN);
	w.len -= 4 + DEV_LEN; /* the fresh device's own bytes, replaced */
	vmstate_put_blob(&w, dev.buf, dev.len);
	r = (struct vmstate_reader){w.buf, w.len, 0, 0};
	assert_int_equal(virtio_mmio_restore(mem_mmio(m), &r), 0);
	vmstate_writer_free(&dev);
	vmstate_writer_free(&w);
	return m;
}

struct run {
	uint64_t off, len;
	uint8_t *host;
};

static int record(void *ctx, uint64_t off, uint8_t *host, uint64_t len)
{
	struct run *runs = ctx;
	int i = runs[0].host ? 1 : 0;

	runs[i] = (struct run){off, len, host};
	return 0;
}

/* The host addresses of runs 0 (blocks 0-1) and 1 (block 5). */
static void runs_of(struct mem_dev *m, struct run runs[2])
{
	memset(runs, 0, 2 * sizeof(*runs));
	assert_int_equal(mem_for_each_plugged(m, record, runs), 0);
	assert_int_equal(runs[0].off, 0);
	assert_int_equal(runs[0].len, 2 * BLOCK);
	assert_int_equal(runs[1].off, 5 * BLOCK);
	assert_int_equal(runs[1].len, BLOCK);
}

static int temp_file(char *path)
{
	int fd;

	strcpy(path, "/tmp/ember-hotplug-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	return fd;
}

/* Write @m's blocks (@all: Diff), load them into a fresh restored device, compare. */
static void write_and_load(struct guest_mem *mem, struct mem_dev *m, bool all)
{
	struct run a[2], b[2];
	struct mem_dev *back;
	char path[64], err[256];
	struct stat st;
	int fd = temp_file(path);
	int64_t n = snapshot_mem_write_hotplug(m, fd, RAM_OFF, all);

	/* Full: the two non-zero pages only; Diff: the three blocks whole. */
	assert_int_equal(n, all ? 3 * BLOCK : 2 * 4096);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, RAM_OFF + REGION);
	/* Nothing before the first plugged block's data: RAM's part is a hole. */
	assert_int_equal(lseek(fd, 0, SEEK_DATA), all ? RAM_OFF : RAM_OFF + BLOCK + 4096);
	close(fd);
	back = plugged_device(mem);
	runs_of(back, b);
	runs_of(m, a);
	assert_int_equal(snapshot_hotplug_load(back, path, RAM_OFF, err, sizeof(err)), 0);
	assert_memory_equal(a[0].host, b[0].host, a[0].len);
	assert_memory_equal(a[1].host, b[1].host, a[1].len);
	/* An unplugged block of the restored region stays zero. */
	assert_int_equal(b[0].host[2 * BLOCK], 0);
	/* Too short for the region's end: refused. */
	assert_int_equal(truncate(path, RAM_OFF + REGION - 1), 0);
	assert_int_equal(snapshot_hotplug_load(back, path, RAM_OFF, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "hotplug region needs"));
	unlink(path);
	assert_int_equal(snapshot_hotplug_load(back, path, RAM_OFF, err, sizeof(err)), -ENOENT);
	mem_destroy(back);
}

static void test_memory_file(void **state)
{
	struct guest_mem mem;
	struct mem_dev *m;
	struct run r[2];

	(void)state;
	assert_int_equal(guest_mem_create(&mem, RAM_SIZE), 0);
	m = plugged_device(&mem);
	runs_of(m, r);
	/* One non-zero page in block 1 and one at the end of block 5. */
	memset(r[0].host + BLOCK + 4096, 0x5a, 4096);
	r[1].host[BLOCK - 1] = 0xa5;
	write_and_load(&mem, m, false);
	write_and_load(&mem, m, true);
	mem_destroy(m);
	guest_mem_destroy(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_section),
	    cmocka_unit_test(test_memory_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
