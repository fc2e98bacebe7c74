// SPDX-License-Identifier: Apache-2.0
/*
 * Which way the virtio devices are announced (vmm/boot/virtio_discovery.h):
 * `acpi=off` or a kernel that names the virtio_mmio.device parameter get the
 * command line, everything else the DSDT; never both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vmm/boot/virtio_discovery.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"

#define KERNEL_AT  0x1000000ULL
#define KERNEL_LEN 0x200000ULL

static void test_cmdline_has_arg(void **state)
{
	(void)state;
	assert_true(cmdline_has_arg("acpi=off", "acpi=off"));
	assert_true(cmdline_has_arg("console=ttyS0 acpi=off reboot=k", "acpi=off"));
	assert_true(cmdline_has_arg("console=ttyS0\tacpi=off\n", "acpi=off"));
	assert_false(cmdline_has_arg("acpi=offline", "acpi=off"));
	assert_false(cmdline_has_arg("xacpi=off", "acpi=off"));
	assert_false(cmdline_has_arg("acpi=force", "acpi=off"));
	assert_false(cmdline_has_arg("console=ttyS0 -- acpi=off", "acpi=off")); /* init's */
	assert_false(cmdline_has_arg("", "acpi=off"));
	assert_false(cmdline_has_arg(NULL, "acpi=off"));
}

/* A "kernel" of zeros at KERNEL_AT, with @text at @off (inside or not). */
static void kernel(struct guest_mem *mem, struct kernel_info *ki, const char *text, uint64_t off)
{
	memset(ki, 0, sizeof(*ki));
	ki->format = KERNEL_FORMAT_ELF;
	ki->load_addr = KERNEL_AT;
	ki->load_end = KERNEL_AT + KERNEL_LEN;
	ki->kernel_end = ki->load_end;
	assert_int_equal(guest_mem_create(mem, 64 * MIB), 0);
	if (text)
		assert_int_equal(guest_mem_write(mem, KERNEL_AT + off, text, strlen(text) + 1), 0);
}

static void test_kernel_with_the_parameter(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;

	(void)state;
	/* Built-in module parameters are named "<module>.<param>" in vmlinux. */
	kernel(&mem, &ki, "virtio_mmio.device", 0x1234);
	assert_true(kernel_takes_virtio_cmdline(&mem, &ki));
	assert_int_equal(virtio_discovery_choose(&mem, &ki, "console=ttyS0"),
			 VIRTIO_DISCOVERY_CMDLINE);
	guest_mem_destroy(&mem);

	/* At the very end of the image still counts. */
	kernel(&mem, &ki, "virtio_mmio.device", KERNEL_LEN - strlen("virtio_mmio.device"));
	ki.load_end = KERNEL_AT + KERNEL_LEN; /* the NUL falls just outside */
	assert_true(kernel_takes_virtio_cmdline(&mem, &ki));
	guest_mem_destroy(&mem);
}

static void test_kernel_without_the_parameter(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;

	(void)state;
	kernel(&mem, &ki, NULL, 0);
	assert_false(kernel_takes_virtio_cmdline(&mem, &ki));
	assert_int_equal(virtio_discovery_choose(&mem, &ki, "console=ttyS0 reboot=k"),
			 VIRTIO_DISCOVERY_ACPI);
	assert_int_equal(virtio_discovery_choose(&mem, &ki, NULL), VIRTIO_DISCOVERY_ACPI);
	/* acpi=off: the kernel will not read the DSDT. */
	assert_int_equal(virtio_discovery_choose(&mem, &ki, "console=ttyS0 acpi=off"),
			 VIRTIO_DISCOVERY_CMDLINE);
	guest_mem_destroy(&mem);

	/* Just past the loaded bytes does not count; neither does a prefix. */
	kernel(&mem, &ki, "virtio_mmio.device", KERNEL_LEN);
	assert_false(kernel_takes_virtio_cmdline(&mem, &ki));
	guest_mem_destroy(&mem);
	kernel(&mem, &ki, "virtio_mmio.devic", 0x100);
	assert_false(kernel_takes_virtio_cmdline(&mem, &ki));
	guest_mem_destroy(&mem);
}

/* An image range that is not RAM (or empty) is "no parameter", not a crash. */
static void test_kernel_range_not_ram(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;

	(void)state;
	kernel(&mem, &ki, NULL, 0);
	ki.load_addr = LAYOUT_MMIO_START;
	ki.load_end = LAYOUT_MMIO_START + 0x1000;
	assert_false(kernel_takes_virtio_cmdline(&mem, &ki));
	ki.load_addr = ki.load_end = KERNEL_AT;
	assert_false(kernel_takes_virtio_cmdline(&mem, &ki));
	guest_mem_destroy(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cmdline_has_arg),
	    cmocka_unit_test(test_kernel_with_the_parameter),
	    cmocka_unit_test(test_kernel_without_the_parameter),
	    cmocka_unit_test(test_kernel_range_not_ram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
