// SPDX-License-Identifier: Apache-2.0
/*
 * Snapshot memory: RAM restored from a memory file (MAP_PRIVATE) or as
 * anonymous memory, the VMM's dirty-page bitmap, and the Full and Diff
 * memory files, checked byte for byte against the RAM they came from and
 * for holes where RAM is zero.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "vmm/snapshot/snapshot_mem.h"

#define PG GUEST_MEM_PAGE_SIZE

static int tmp_file(char *path)
{
	int fd;

	strcpy(path, "/tmp/ember-test-snapmem-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

/* Whether [off, off+len) of @fd holds data (not a hole) according to SEEK_DATA. */
static bool has_data(int fd, uint64_t off)
{
	off_t d = lseek(fd, (off_t)off, SEEK_DATA);

	return d >= 0 && (uint64_t)d < off + PG;
}

/* @fd's content equals RAM at every page (holes read as zeroes). */
static void assert_file_equals_ram(int fd, const struct guest_mem *mem)
{
	uint8_t buf[PG];

	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];

		/* Only the pages these tests touch, plus neighbours: 64 MiB scans are slow. */
		for (uint64_t off = 0; off < r->size; off += PG) {
			if (off > 64 * PG && off < r->size - 64 * PG)
				continue;
			assert_int_equal(pread(fd, buf, PG, (off_t)(r->file_offset + off)),
					 (ssize_t)PG);
			assert_memory_equal(buf, r->host + off, PG);
		}
	}
}

static void test_full_from_memfd_is_sparse(void **state)
{
	struct guest_mem mem;
	char path[64];
	int fd = tmp_file(path);
	uint8_t *p;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, 16 * MIB), 0);
	p = guest_mem_translate(&mem, 0, 16 * MIB);
	memset(p + 3 * PG, 0xaa, PG);	    /* a page of data */
	memset(p + 4 * PG + 100, 0x55, 10); /* the next one, partly */
	memset(p + 10 * PG, 0, PG);	    /* touched but zero: stays a hole */
	p[16 * MIB - 1] = 0x7e;		    /* the last byte of RAM */
	assert_int_equal(snapshot_mem_write_full(&mem, fd), 3 * PG);
	assert_int_equal(lseek(fd, 0, SEEK_END), 16 * MIB);
	assert_true(has_data(fd, 3 * PG));
	assert_true(has_data(fd, 4 * PG));
	assert_false(has_data(fd, 10 * PG));
	assert_false(has_data(fd, 0));
	assert_true(has_data(fd, 16 * MIB - PG));
	assert_file_equals_ram(fd, &mem);
	close(fd);
	guest_mem_destroy(&mem);
}

/* Above the MMIO hole the second region lands at its own file offset. */
static void test_full_with_two_regions(void **state)
{
	struct guest_mem mem;
	uint64_t size = LAYOUT_MMIO_START + 2 * MIB;
	uint8_t buf[8];
	char path[64];
	int fd = tmp_file(path);

	(void)state;
	assert_int_equal(guest_mem_create(&mem, size), 0);
	assert_int_equal(mem.nr_regions, 2);
	assert_int_equal(guest_mem_write(&mem, LAYOUT_4G + PG, "high-ram", 8), 0);
	assert_int_equal(guest_mem_write(&mem, 0x1000, "low--ram", 8), 0);
	assert_int_equal(snapshot_mem_write_full(&mem, fd), 2 * PG);
	assert_int_equal(pread(fd, buf, 8, (off_t)(LAYOUT_MMIO_START + PG)), 8);
	assert_memory_equal(buf, "high-ram", 8);
	assert_int_equal(pread(fd, buf, 8, 0x1000), 8);
	assert_memory_equal(buf, "low--ram", 8);
	close(fd);
	guest_mem_destroy(&mem);
}

/* A memory file as a snapshot left it: data at a few pages, holes elsewhere. */
static int make_memory_file(char *path, uint64_t size)
{
	int fd = tmp_file(path);
	uint8_t page[PG];

	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	memset(page, 0x11, sizeof(page));
	assert_int_equal(pwrite(fd, page, PG, 2 * PG), (ssize_t)PG);
	memset(page, 0x22, sizeof(page));
	assert_int_equal(pwrite(fd, page, PG, 7 * PG), (ssize_t)PG);
	return fd;
}

static void test_restored_ram_is_a_private_copy(void **state)
{
	struct guest_mem mem;
	char path[64];
	int file = make_memory_file(path, 8 * MIB);
	uint8_t *p, b;

	(void)state;
	assert_int_equal(guest_mem_create_from_file(&mem, 8 * MIB, file), 0);
	assert_int_equal(mem.fd, -1);
	assert_true(mem.file_fd > STDERR_FILENO);
	p = guest_mem_translate(&mem, 0, 8 * MIB);
	assert_int_equal(p[2 * PG], 0x11);
	assert_int_equal(p[7 * PG + 5], 0x22);
	assert_int_equal(p[5 * PG], 0);
	/* The guest's writes stay in its copy: the file (shared by clones) is untouched. */
	p[2 * PG] = 0x99;
	assert_int_equal(pread(file, &b, 1, 2 * PG), 1);
	assert_int_equal(b, 0x11);
	/* A file shorter than RAM cannot be mapped safely; the caller checks, mmap would not. */
	guest_mem_destroy(&mem);
	assert_int_equal(mem.file_fd, -1);
	close(file);
}

/*
 * A restored VM's Full snapshot: the pages the file has plus those written
 * since the load, nothing read from the file's holes.
 */
static void test_full_from_private_mapping(void **state)
{
	struct guest_mem mem;
	char path[64], out_path[64];
	int file = make_memory_file(path, 8 * MIB), out = tmp_file(out_path);
	uint8_t *p;

	(void)state;
	assert_int_equal(guest_mem_create_from_file(&mem, 8 * MIB, file), 0);
	p = guest_mem_translate(&mem, 0, 8 * MIB);
	p[7 * PG] = 0x33;		/* changes a page the file has */
	memset(p + 100 * PG, 0x44, 64); /* writes into a hole */
	memset(p + 2 * PG, 0, PG);	/* zeroes a page the file has: a hole now */
	assert_int_equal(snapshot_mem_write_full(&mem, out), 2 * PG);
	assert_true(has_data(out, 7 * PG));
	assert_true(has_data(out, 100 * PG));
	assert_false(has_data(out, 2 * PG));
	assert_file_equals_ram(out, &mem);
	close(out);
	close(file);
	guest_mem_destroy(&mem);
}

static void test_anonymous_ram(void **state)
{
	struct guest_mem mem;
	char path[64];
	int out = tmp_file(path);
	uint8_t *p;

	(void)state;
	assert_int_equal(guest_mem_create_anon(&mem, 4 * MIB, false), 0);
	assert_int_equal(mem.fd, -1);
	assert_int_equal(mem.file_fd, -1);
	assert_false(mem.hugetlb);
	p = guest_mem_translate(&mem, 0, 4 * MIB);
	assert_int_equal(p[12345], 0);
	p[5 * PG + 1] = 1;
	assert_int_equal(snapshot_mem_write_full(&mem, out), PG);
	assert_file_equals_ram(out, &mem);
	close(out);
	guest_mem_destroy(&mem);
	assert_int_equal(guest_mem_create_anon(&mem, 3 * MIB, true), -EINVAL);
}

static bool bit(const uint64_t *bm, uint64_t page)
{
	return bm[page / 64] & (1ULL << (page % 64));
}

static void test_vmm_dirty_tracking(void **state)
{
	struct guest_mem mem;
	uint64_t *bm;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, 4 * MIB), 0);
	assert_int_equal(guest_mem_bitmap_words(&mem), 1024 / 64);
	/* Untracked: translate marks nothing (there is nothing to mark). */
	assert_non_null(guest_mem_translate(&mem, PG, 1));
	assert_null(mem.vmm_dirty);
	assert_int_equal(guest_mem_track_dirty(&mem), 0);
	bm = calloc(guest_mem_bitmap_words(&mem), sizeof(*bm));
	assert_int_equal(guest_mem_write(&mem, 3 * PG + PG - 2, "abcd", 4), 0); /* spans 3 and 4 */
	assert_non_null(guest_mem_translate(&mem, 10 * PG, PG)); /* exactly page 10 */
	assert_null(guest_mem_translate(&mem, 4 * MIB - 1, 2));	 /* not RAM: no mark */
	guest_mem_take_dirty(&mem, bm);
	for (uint64_t p = 0; p < 1024; p++)
		assert_int_equal(bit(bm, p), p == 3 || p == 4 || p == 10);
	/* Taken means cleared... */
	memset(bm, 0, guest_mem_bitmap_words(&mem) * sizeof(*bm));
	guest_mem_take_dirty(&mem, bm);
	assert_false(bit(bm, 3));
	/* ...and what is returned comes back next time. */
	bm[0] = 1ULL << 7;
	guest_mem_return_dirty(&mem, bm);
	memset(bm, 0, guest_mem_bitmap_words(&mem) * sizeof(*bm));
	guest_mem_take_dirty(&mem, bm);
	assert_true(bit(bm, 7));
	free(bm);
	guest_mem_destroy(&mem);
}

/* Diff: exactly the dirty pages, zero pages included, at their offsets. */
static void test_diff_writes_dirty_pages_only(void **state)
{
	struct guest_mem mem;
	uint64_t *bm;
	char path[64];
	int out = tmp_file(path);
	uint8_t *p, buf[PG];

	(void)state;
	assert_int_equal(guest_mem_create(&mem, 4 * MIB), 0);
	p = guest_mem_translate(&mem, 0, 4 * MIB);
	memset(p + PG, 0x12, PG);
	memset(p + 2 * PG, 0x34, PG);
	memset(p + 3 * PG, 0x56, PG); /* not dirty: not in the Diff */
	bm = calloc(guest_mem_bitmap_words(&mem), sizeof(*bm));
	bm[0] = (1ULL << 1) | (1ULL << 2) | (1ULL << 9); /* page 9 is dirty but zero */
	assert_int_equal(snapshot_mem_write_pages(&mem, out, bm), 3 * PG);
	assert_int_equal(lseek(out, 0, SEEK_END), 4 * MIB);
	assert_true(has_data(out, PG));
	assert_true(has_data(out, 2 * PG));
	assert_false(has_data(out, 3 * PG));
	/* A dirty zero page is data: merging the Diff must zero it in the base. */
	assert_true(has_data(out, 9 * PG));
	assert_int_equal(pread(out, buf, PG, 2 * PG), (ssize_t)PG);
	assert_memory_equal(buf, p + 2 * PG, PG);
	free(bm);
	close(out);
	guest_mem_destroy(&mem);
}

/* Writing into a full disk fails with -ENOSPC, not a short file reported as success. */
static void test_write_error_is_reported(void **state)
{
	struct guest_mem mem;
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

	(void)state;
	if (fd < 0)
		skip();
	assert_int_equal(guest_mem_create(&mem, 2 * MIB), 0);
	assert_int_equal(guest_mem_write(&mem, 0, "x", 1), 0);
	/* /dev/full cannot be truncated: the first step already fails. */
	assert_true(snapshot_mem_write_full(&mem, fd) < 0);
	close(fd);
	guest_mem_destroy(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_from_memfd_is_sparse),
	    cmocka_unit_test(test_full_with_two_regions),
	    cmocka_unit_test(test_restored_ram_is_a_private_copy),
	    cmocka_unit_test(test_full_from_private_mapping),
	    cmocka_unit_test(test_anonymous_ram),
	    cmocka_unit_test(test_vmm_dirty_tracking),
	    cmocka_unit_test(test_diff_writes_dirty_pages_only),
	    cmocka_unit_test(test_write_error_is_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
