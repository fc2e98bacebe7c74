// SPDX-License-Identifier: Apache-2.0
/*
 * PVH boot: hvm_start_info, its memory map and module list compared byte for
 * byte with structures assembled here from the offsets of Xen's
 * start_info.h; the PVH map checked against the zero page's e820 table of
 * the same RAM; the 32-bit GDT read back; registers field by field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "vmm/boot/loader.h"
#include "vmm/boot/pvh.h"
#include "vmm/boot/x86_boot.h"

#define RAM_128M    (128 * MIB)
#define PVH_ENTRY   0x1000850
#define CMDLINE	    "console=ttyS0 reboot=k panic=1"
#define INITRD_ADDR 0x7000000ULL
#define INITRD_SIZE 0x123456ULL

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[off + i] = (v >> (8 * i)) & 0xff;
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[off + i] = (v >> (8 * i)) & 0xff;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint8_t *guest(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint8_t *p = guest_mem_translate(mem, gpa, len);

	assert_non_null(p);
	return p;
}

static void pvh_kernel(struct kernel_info *ki)
{
	memset(ki, 0, sizeof(*ki));
	ki->format = KERNEL_FORMAT_ELF;
	ki->entry = 0x1000000;
	ki->load_addr = 0x1000000;
	ki->load_end = ki->kernel_end = 0x1800000;
	ki->has_pvh_entry = true;
	ki->pvh_entry = PVH_ENTRY;
}

/* Fill the low 64 KiB with 0xee so untouched bytes show. */
static void write_pvh(struct guest_mem *mem, uint64_t ram, uint64_t initrd_addr,
		      uint64_t initrd_size)
{
	struct kernel_info ki;
	char err[256] = "";

	assert_int_equal(guest_mem_create(mem, ram), 0);
	memset(guest(mem, 0, 0x10000), 0xee, 0x10000);
	pvh_kernel(&ki);
	if (x86_boot_write_tables(mem, &ki, CMDLINE, initrd_addr, initrd_size, err, sizeof(err)))
		fail_msg("write: %s", err);
}

static void put_memmap(uint8_t *p, unsigned int i, uint64_t addr, uint64_t size, uint32_t type)
{
	put64(p, i * 24, addr);
	put64(p, i * 24 + 8, size);
	put32(p, i * 24 + 16, type);
	put32(p, i * 24 + 20, 0);
}

static void test_start_info_bytes(void **state)
{
	struct guest_mem mem;
	uint8_t expect[56] = {0}, mod[32] = {0}, map[3 * 24];

	(void)state;
	write_pvh(&mem, RAM_128M, INITRD_ADDR, INITRD_SIZE);

	put32(expect, 0x00, 0x336ec578); /* magic */
	put32(expect, 0x04, 1);		 /* version */
	put32(expect, 0x08, 0);		 /* flags */
	put32(expect, 0x0c, 1);		 /* nr_modules */
	put64(expect, 0x10, 0x6040);	 /* modlist_paddr */
	put64(expect, 0x18, 0x20000);	 /* cmdline_paddr */
	put64(expect, 0x20, 0xe0000);	 /* rsdp_paddr */
	put64(expect, 0x28, 0x7000);	 /* memmap_paddr */
	put32(expect, 0x30, 3);		 /* memmap_entries */
	put32(expect, 0x34, 0);		 /* reserved */
	assert_memory_equal(guest(&mem, 0x6000, 56), expect, 56);
	assert_int_equal(*guest(&mem, 0x6000 + 56, 1), 0xee);

	put64(mod, 0, INITRD_ADDR);
	put64(mod, 8, INITRD_SIZE);
	assert_memory_equal(guest(&mem, 0x6040, 32), mod, 32);
	assert_int_equal(*guest(&mem, 0x6060, 1), 0xee);

	put_memmap(map, 0, 0, 0x9fc00, 1);
	put_memmap(map, 1, 0x9fc00, 0xe0000 - 0x9fc00, 2);
	put_memmap(map, 2, 0x100000, RAM_128M - 0x100000, 1);
	assert_memory_equal(guest(&mem, 0x7000, sizeof(map)), map, sizeof(map));
	assert_int_equal(*guest(&mem, 0x7000 + sizeof(map), 1), 0xee);

	assert_string_equal((const char *)guest(&mem, 0x20000, sizeof(CMDLINE)), CMDLINE);
	guest_mem_destroy(&mem);
}

static void test_no_initrd_no_module(void **state)
{
	struct guest_mem mem;
	const uint8_t *si;

	(void)state;
	write_pvh(&mem, RAM_128M, 0, 0);
	si = guest(&mem, 0x6000, 56);
	assert_int_equal(get64(si + 0x08), 0); /* flags, nr_modules */
	assert_int_equal(get64(si + 0x10), 0); /* modlist_paddr */
	/* The module list is not written. */
	assert_int_equal(*guest(&mem, 0x6040, 1), 0xee);
	guest_mem_destroy(&mem);
}

/* PVH writes neither a zero page nor page tables: paging is off at entry. */
static void test_no_zero_page_no_page_tables(void **state)
{
	struct guest_mem mem;
	const uint8_t *zp;

	(void)state;
	write_pvh(&mem, RAM_128M, 0, 0);
	zp = guest(&mem, LAYOUT_ZERO_PAGE, 4096);
	/* Only the memory map's 3 entries at the zero page's address. */
	for (size_t i = 3 * 24; i < 4096; i++)
		assert_int_equal(zp[i], 0xee);
	assert_int_equal(get64(guest(&mem, LAYOUT_PML4, 8)), 0xeeeeeeeeeeeeeeeeULL);
	assert_int_equal(get64(guest(&mem, LAYOUT_PDE, 8)), 0xeeeeeeeeeeeeeeeeULL);
	guest_mem_destroy(&mem);
}

/* The PVH map and the zero page's e820 table describe the same RAM. */
static void test_memmap_matches_e820(void **state)
{
	const uint64_t ram = LAYOUT_4G + 512 * MIB;
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	uint8_t pvh_map[4 * 24];
	const uint8_t *zp, *si;

	(void)state;
	write_pvh(&mem, ram, 0, 0);
	si = guest(&mem, 0x6000, 56);
	assert_int_equal(si[0x30], 4);
	memcpy(pvh_map, guest(&mem, 0x7000, sizeof(pvh_map)), sizeof(pvh_map));
	assert_int_equal(get64(pvh_map + 3 * 24), LAYOUT_4G);
	assert_int_equal(get64(pvh_map + 3 * 24 + 8), ram - LAYOUT_MMIO_START);

	/* The 64-bit path over the same RAM (it overwrites 0x7000: the map was copied). */
	pvh_kernel(&ki);
	ki.has_pvh_entry = false;
	assert_int_equal(x86_boot_write_tables(&mem, &ki, "", 0, 0, err, sizeof(err)), 0);
	zp = guest(&mem, LAYOUT_ZERO_PAGE, 4096);
	assert_int_equal(zp[0x1e8], 4);
	for (unsigned int i = 0; i < 4; i++) {
		const uint8_t *e = zp + 0x2d0 + i * 20, *p = pvh_map + i * 24;

		assert_memory_equal(p, e, 20);			    /* addr, size, type */
		assert_int_equal(p[20] | p[21] | p[22] | p[23], 0); /* reserved */
	}
	guest_mem_destroy(&mem);
}

/* GDT: the Linux selectors, a 32-bit code segment and a 32-bit TSS. */
static void test_gdt(void **state)
{
	struct guest_mem mem;
	const uint8_t *gdt;

	(void)state;
	write_pvh(&mem, RAM_128M, 0, 0);
	gdt = guest(&mem, 0x500, 40);
	assert_int_equal(get64(gdt + 0x00), 0);
	assert_int_equal(get64(gdt + 0x08), 0);
	assert_int_equal(get64(gdt + 0x10), 0x00cf9b000000ffffULL);
	assert_int_equal(get64(gdt + 0x18), 0x00cf93000000ffffULL);
	assert_int_equal(get64(gdt + 0x20), 0x00008b0000000067ULL);
	assert_int_equal(get64(guest(&mem, 0x528, 8)), 0);
	guest_mem_destroy(&mem);
}

static void test_errors(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "", line[LAYOUT_CMDLINE_MAX + 1];

	(void)state;
	assert_int_equal(guest_mem_create(&mem, RAM_128M), 0);
	memset(guest(&mem, 0x6000, 0x2000), 0xee, 0x2000);
	pvh_kernel(&ki);
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = 0;
	assert_int_equal(x86_boot_write_tables(&mem, &ki, line, 0, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "too long"));
	assert_int_equal(
	    x86_boot_write_tables(&mem, &ki, "", RAM_128M - 4096, 8192, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not in guest RAM"));
	/* Nothing half-written. */
	assert_int_equal(*guest(&mem, 0x6000, 1), 0xee);
	assert_int_equal(*guest(&mem, 0x7000, 1), 0xee);
	guest_mem_destroy(&mem);
}

/* ---- registers ---------------------------------------------------------- */

static void test_regs(void **state)
{
	struct kvm_regs regs, expect;
	struct kernel_info ki;

	(void)state;
	pvh_kernel(&ki);
	memset(&regs, 0xa5, sizeof(regs));
	x86_boot_regs(&regs, &ki);
	memset(&expect, 0, sizeof(expect));
	expect.rflags = 0x2; /* IF and VM clear */
	expect.rip = PVH_ENTRY;
	expect.rbx = 0x6000;
	assert_memory_equal(&regs, &expect, sizeof(regs));
}

static void check_flat32(const struct kvm_segment *s, uint16_t selector, uint8_t type)
{
	assert_int_equal(s->base, 0);
	assert_int_equal(s->limit, 0xffffffff);
	assert_int_equal(s->selector, selector);
	assert_int_equal(s->type, type);
	assert_int_equal(s->present, 1);
	assert_int_equal(s->dpl, 0);
	assert_int_equal(s->db, 1); /* 32-bit */
	assert_int_equal(s->s, 1);
	assert_int_equal(s->l, 0);
	assert_int_equal(s->g, 1);
	assert_int_equal(s->unusable, 0);
}

static void test_sregs(void **state)
{
	struct kvm_sregs sregs;
	struct kernel_info ki;

	(void)state;
	pvh_kernel(&ki);
	memset(&sregs, 0xa5, sizeof(sregs));
	sregs.apic_base = 0xfee00900;
	x86_boot_sregs(&sregs, &ki);

	check_flat32(&sregs.cs, 0x10, 0xb); /* execute/read, accessed */
	check_flat32(&sregs.ds, 0x18, 0x3); /* read/write, accessed */
	assert_memory_equal(&sregs.es, &sregs.ds, sizeof(sregs.ds));
	assert_memory_equal(&sregs.ss, &sregs.ds, sizeof(sregs.ds));
	assert_memory_equal(&sregs.fs, &sregs.ds, sizeof(sregs.ds));
	assert_memory_equal(&sregs.gs, &sregs.ds, sizeof(sregs.ds));
	/* TR: busy 32-bit TSS, base 0, limit 0x67. */
	assert_int_equal(sregs.tr.selector, 0x20);
	assert_int_equal(sregs.tr.base, 0);
	assert_int_equal(sregs.tr.limit, 0x67);
	assert_int_equal(sregs.tr.type, 0xb);
	assert_int_equal(sregs.tr.s, 0);
	assert_int_equal(sregs.tr.present, 1);
	assert_int_equal(sregs.tr.g, 0);

	assert_int_equal(sregs.gdt.base, 0x500);
	assert_int_equal(sregs.gdt.limit, 39);
	assert_int_equal(sregs.idt.base, 0x528);
	assert_int_equal(sregs.idt.limit, 7);
	assert_int_equal(sregs.cr0, 0x11); /* PE | ET: paging off */
	assert_int_equal(sregs.cr3, 0);
	assert_int_equal(sregs.cr4, 0);
	assert_int_equal(sregs.efer, 0); /* not long mode */
	assert_int_equal(sregs.apic_base, 0xfee00900);
	assert_int_equal(sregs.cr2, 0xa5a5a5a5a5a5a5a5ULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_start_info_bytes),
	    cmocka_unit_test(test_no_initrd_no_module),
	    cmocka_unit_test(test_no_zero_page_no_page_tables),
	    cmocka_unit_test(test_memmap_matches_e820),
	    cmocka_unit_test(test_gdt),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_regs),
	    cmocka_unit_test(test_sregs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
