// SPDX-License-Identifier: Apache-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"

static void test_small_ram_is_one_region(void **state)
{
	struct guest_mem mem;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, 128 * MIB), 0);
	assert_int_equal(mem.nr_regions, 1);
	assert_int_equal(mem.regions[0].gpa, 0);
	assert_int_equal(mem.regions[0].size, 128 * MIB);
	assert_int_equal(guest_mem_end(&mem), 128 * MIB);
	assert_true(mem.fd >= 0);
	guest_mem_destroy(&mem);
	assert_int_equal(mem.fd, -1);
}

static void test_large_ram_skips_mmio_hole(void **state)
{
	struct guest_mem mem;
	uint64_t size = LAYOUT_MMIO_START + 256 * MIB;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, size), 0);
	assert_int_equal(mem.nr_regions, 2);
	assert_int_equal(mem.regions[0].size, LAYOUT_MMIO_START);
	assert_int_equal(mem.regions[1].gpa, LAYOUT_4G);
	assert_int_equal(mem.regions[1].size, 256 * MIB);
	assert_int_equal(mem.regions[1].file_offset, LAYOUT_MMIO_START);
	/* Nothing in the hole translates. */
	assert_null(guest_mem_translate(&mem, LAYOUT_MMIO_START, 1));
	assert_null(guest_mem_translate(&mem, LAYOUT_4G - 1, 1));
	assert_non_null(guest_mem_translate(&mem, LAYOUT_4G, 1));
	/* The two regions are distinct parts of one memfd. */
	*(uint8_t *)guest_mem_translate(&mem, LAYOUT_4G, 1) = 0x5a;
	uint8_t b = 0;
	assert_int_equal(pread(mem.fd, &b, 1, LAYOUT_MMIO_START), 1);
	assert_int_equal(b, 0x5a);
	guest_mem_destroy(&mem);
}

static void test_bad_sizes(void **state)
{
	struct guest_mem mem;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, 0), -EINVAL);
	assert_int_equal(guest_mem_create(&mem, MIB + 4096), -EINVAL);
}

static void test_translate_bounds(void **state)
{
	struct guest_mem mem;
	uint64_t end = 16 * MIB;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, end), 0);
	assert_ptr_equal(guest_mem_translate(&mem, 0, end), mem.regions[0].host);
	assert_ptr_equal(guest_mem_translate(&mem, end - 1, 1), mem.regions[0].host + end - 1);
	/* A zero-length access at the end is not inside RAM either. */
	assert_null(guest_mem_translate(&mem, end, 0));
	assert_null(guest_mem_translate(&mem, end - 1, 2));
	assert_null(guest_mem_translate(&mem, end, 1));
	/* Overflowing gpa + len must not wrap into RAM. */
	assert_null(guest_mem_translate(&mem, 4096, UINT64_MAX));
	assert_null(guest_mem_translate(&mem, UINT64_MAX, 2));
	assert_null(guest_mem_translate(&mem, UINT64_MAX - 4095, 8192));
	guest_mem_destroy(&mem);
}

static void test_read_write(void **state)
{
	struct guest_mem mem;
	char buf[8] = "ember!!";
	char out[8] = {0};

	(void)state;
	assert_int_equal(guest_mem_create(&mem, 2 * MIB), 0);
	assert_int_equal(guest_mem_write(&mem, 0x1000, buf, sizeof(buf)), 0);
	assert_int_equal(guest_mem_read(&mem, 0x1000, out, sizeof(out)), 0);
	assert_memory_equal(buf, out, sizeof(buf));
	assert_int_equal(guest_mem_write(&mem, 2 * MIB - 4, buf, sizeof(buf)), -EFAULT);
	assert_int_equal(guest_mem_read(&mem, 2 * MIB, out, 1), -EFAULT);
	guest_mem_destroy(&mem);
}

static void test_hugetlb(void **state)
{
	struct guest_mem mem;
	FILE *f = fopen("/proc/sys/vm/nr_hugepages", "r");
	long reserved = 0;
	int ret;

	(void)state;
	if (f) {
		if (fscanf(f, "%ld", &reserved) != 1)
			reserved = 0;
		fclose(f);
	}
	/* Not a multiple of 2 MiB. */
	assert_int_equal(guest_mem_create_hugetlb(&mem, 3 * MIB), -EINVAL);
	ret = guest_mem_create_hugetlb(&mem, 4 * MIB);
	if (reserved < 2) {
		/* No huge pages on this host: an error now, not a SIGBUS later. */
		assert_true(ret < 0);
		return;
	}
	assert_int_equal(ret, 0);
	assert_true(mem.hugetlb);
	*(volatile uint8_t *)guest_mem_translate(&mem, 2 * MIB, 1) = 1;
	guest_mem_destroy(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_small_ram_is_one_region),
	    cmocka_unit_test(test_large_ram_skips_mmio_hole),
	    cmocka_unit_test(test_bad_sizes),
	    cmocka_unit_test(test_translate_bounds),
	    cmocka_unit_test(test_read_write),
	    cmocka_unit_test(test_hugetlb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
