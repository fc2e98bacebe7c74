// SPDX-License-Identifier: Apache-2.0
/*
 * The Uffd handshake message (Firecracker's GuestRegionUffdMapping array):
 * one mapping per RAM region at its memory-file offset, page_size and
 * page_size_kib both in bytes (2 MiB for hugetlb RAM); without virtio-mem
 * nothing else, byte for byte; with it one more mapping, the whole hotplug
 * region at RAM's size in the file, in 4 KiB pages even when RAM is hugetlb.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/snapshot/uffd.h"

/* Two RAM regions around the MMIO hole, as guest_mem lays out 4 GiB; hosts are made up. */
static struct guest_mem two_regions(bool hugetlb)
{
	struct guest_mem mem = {.fd = -1, .size = 4ULL << 30, .hugetlb = hugetlb, .nr_regions = 2};

	mem.regions[0] = (struct guest_mem_region){
	    .gpa = 0, .size = 3ULL << 30, .file_offset = 0, .host = (uint8_t *)0x7f0000000000};
	mem.regions[1] = (struct guest_mem_region){.gpa = 4ULL << 30,
						   .size = 1ULL << 30,
						   .file_offset = 3ULL << 30,
						   .host = (uint8_t *)0x7f1000000000};
	mem.file_fd = -1;
	return mem;
}

#define RAM0                                                                                       \
	"{\"base_host_virt_addr\":139637976727552,\"size\":3221225472,\"offset\":0,"               \
	"\"page_size\":%d,\"page_size_kib\":%d}"
#define RAM1                                                                                       \
	"{\"base_host_virt_addr\":139706696204288,\"size\":1073741824,\"offset\":3221225472,"      \
	"\"page_size\":%d,\"page_size_kib\":%d}"

static void test_ram_only(void **state)
{
	struct guest_mem mem = two_regions(false);
	char *json = uffd_mappings_json(&mem, NULL, 0);
	char want[512];

	(void)state;
	snprintf(want, sizeof(want), "[" RAM0 "," RAM1 "]", 4096, 4096, 4096, 4096);
	assert_non_null(json);
	assert_string_equal(json, want);
	free(json);
	mem = two_regions(true);
	json = uffd_mappings_json(&mem, NULL, 0);
	snprintf(want, sizeof(want), "[" RAM0 "," RAM1 "]", 2097152, 2097152, 2097152, 2097152);
	assert_string_equal(json, want);
	free(json);
}

static void test_with_hotplug(void **state)
{
	struct guest_mem mem = two_regions(true);
	char *json = uffd_mappings_json(&mem, (void *)0x7f2000000000, 256ULL << 20);
	char want[768];

	(void)state;
	snprintf(want, sizeof(want),
		 "[" RAM0 "," RAM1 ",{\"base_host_virt_addr\":139775415681024,\"size\":268435456,"
		 "\"offset\":4294967296,\"page_size\":4096,\"page_size_kib\":4096}]",
		 2097152, 2097152, 2097152, 2097152);
	assert_non_null(json);
	assert_string_equal(json, want);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ram_only),
	    cmocka_unit_test(test_with_hotplug),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
