// SPDX-License-Identifier: Apache-2.0
/*
 * Boot tables and boot vCPU state: the zero page is compared byte for byte
 * with one assembled here from boot.rst offsets; page tables, GDT, IDT and
 * command line are read back from guest memory; registers and MSRs are
 * checked field by field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "vmm/boot/loader.h"
#include "vmm/kvm/msr_boot.h"
#include "vmm/boot/x86_boot.h"

#define RAM_128M (128 * MIB)
#define HDR_END	 0x26c /* 0x202 + jump 0x6a */
#define CMDLINE	 "console=ttyS0 reboot=k panic=1 pci=off"

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = v & 0xff;
	p[off + 1] = v >> 8;
}

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

/*
 * A bzImage whose header has values in every loader-written field, so the
 * test sees them overwritten, and protocol 2.15 fields to see them kept.
 */
static uint8_t *build_bzimage(size_t *len, uint32_t cmdline_size)
{
	const size_t setup = 5 * 512, pm = 4096;
	uint8_t *img = calloc(1, setup + pm);

	assert_non_null(img);
	img[0x1f1] = 4;
	put32(img, 0x1f4, pm / 16);
	put16(img, 0x1fa, 0xffff);
	put16(img, 0x1fe, 0xaa55);
	img[0x200] = 0xeb;
	img[0x201] = HDR_END - 0x202;
	memcpy(img + 0x202, "HdrS", 4);
	put16(img, 0x206, 0x020f);
	put16(img, 0x20e, 0x3a0);
	img[0x210] = 0x21; /* type_of_loader: to be replaced */
	img[0x211] = LOADED_HIGH | QUIET_FLAG;
	put32(img, 0x214, 0x100000);
	put32(img, 0x218, 0xdeadbeef); /* ramdisk_image: to be replaced */
	put32(img, 0x21c, 0xfeedface); /* ramdisk_size: to be replaced */
	put16(img, 0x224, 0x1234);     /* heap_end_ptr: to be replaced */
	put32(img, 0x228, 0x99999);    /* cmd_line_ptr: to be replaced */
	put32(img, 0x22c, 0x7fffffff);
	put32(img, 0x230, 0x200000);
	img[0x234] = 1;
	img[0x235] = 21;
	put16(img, 0x236, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	put32(img, 0x238, cmdline_size);
	put32(img, 0x248, 0x3c0);
	put32(img, 0x24c, 0x800);
	put64(img, 0x250, 0x123456789ULL); /* setup_data: to be cleared */
	put64(img, 0x258, 0x1000000);
	put32(img, 0x260, 0x400000);
	put32(img, 0x264, 0x190);
	put32(img, 0x268, 0x5000);
	memset(img + setup, 0x90, pm);
	*len = setup + pm;
	return img;
}

static void load_bzimage(struct guest_mem *mem, uint64_t ram, struct kernel_info *ki, uint8_t **img,
			 size_t *len, uint32_t cmdline_size)
{
	char err[256] = "";
	int fd;

	assert_int_equal(guest_mem_create(mem, ram), 0);
	*img = build_bzimage(len, cmdline_size);
	fd = memfd_create("bz", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, *img, *len), (ssize_t)*len);
	if (loader_load_kernel(mem, fd, ki, err, sizeof(err)))
		fail_msg("load: %s", err);
	close(fd);
}

static void elf_kernel(struct kernel_info *ki)
{
	memset(ki, 0, sizeof(*ki));
	ki->format = KERNEL_FORMAT_ELF;
	ki->entry = 0x1000000;
	ki->load_addr = 0x1000000;
	ki->load_end = ki->kernel_end = 0x1800000;
}

static void put_e820(uint8_t *page, unsigned int i, uint64_t addr, uint64_t size, uint32_t type)
{
	put64(page, 0x2d0 + i * 20, addr);
	put64(page, 0x2d0 + i * 20 + 8, size);
	put32(page, 0x2d0 + i * 20 + 16, type);
}

/* ---- zero page ---------------------------------------------------------- */

static void test_zero_page_bzimage(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	uint8_t expect[4096] = {0};
	uint8_t *img;
	size_t len;

	(void)state;
	load_bzimage(&mem, RAM_128M, &ki, &img, &len, 2047);
	/* The kernel's header, exactly its declared extent, then the loader's fields. */
	memcpy(expect + 0x1f1, img + 0x1f1, HDR_END - 0x1f1);
	expect[0x210] = 0xff;					 /* type_of_loader */
	expect[0x211] = LOADED_HIGH | QUIET_FLAG | CAN_USE_HEAP; /* loadflags */
	put32(expect, 0x218, 0x7ffd000);			 /* ramdisk_image */
	put32(expect, 0x21c, 10000);				 /* ramdisk_size */
	put16(expect, 0x224, 0xfe00);				 /* heap_end_ptr */
	put32(expect, 0x228, 0x20000);				 /* cmd_line_ptr */
	put64(expect, 0x250, 0);				 /* setup_data */
	/* cmdline_size (0x238) is the kernel's: left at 2047. */
	put64(expect, 0x070, 0xe0000); /* acpi_rsdp_addr */
	expect[0x1e8] = 3;	       /* e820_entries */
	put_e820(expect, 0, 0, 0x9fc00, 1);
	put_e820(expect, 1, 0x9fc00, 0xe0000 - 0x9fc00, 2); /* MP + ACPI tables: reserved */
	put_e820(expect, 2, 0x100000, RAM_128M - 0x100000, 1);

	memset(guest(&mem, LAYOUT_ZERO_PAGE, 4096), 0xee, 4096); /* stale bytes */
	assert_int_equal(
	    x86_boot_write_tables(&mem, &ki, CMDLINE, 0x7ffd000, 10000, err, sizeof(err)), 0);
	assert_memory_equal(guest(&mem, LAYOUT_ZERO_PAGE, 4096), expect, 4096);
	free(img);
	guest_mem_destroy(&mem);
}

static void test_zero_page_elf(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	uint8_t expect[4096] = {0};

	(void)state;
	assert_int_equal(guest_mem_create(&mem, RAM_128M), 0);
	elf_kernel(&ki);
	put16(expect, 0x1fe, 0xaa55);		    /* boot_flag */
	memcpy(expect + 0x202, "HdrS", 4);	    /* header */
	put16(expect, 0x206, 0x020f);		    /* version */
	expect[0x210] = 0xff;			    /* type_of_loader */
	expect[0x211] = LOADED_HIGH | CAN_USE_HEAP; /* loadflags */
	put16(expect, 0x224, 0xfe00);		    /* heap_end_ptr */
	put32(expect, 0x228, 0x20000);		    /* cmd_line_ptr */
	put32(expect, 0x230, 0x1000000);	    /* kernel_alignment */
	put32(expect, 0x238, sizeof(CMDLINE));	    /* cmdline_size, with NUL */
	put64(expect, 0x070, 0xe0000);		    /* acpi_rsdp_addr */
	expect[0x1e8] = 3;
	put_e820(expect, 0, 0, 0x9fc00, 1);
	put_e820(expect, 1, 0x9fc00, 0xe0000 - 0x9fc00, 2);
	put_e820(expect, 2, 0x100000, RAM_128M - 0x100000, 1);

	assert_int_equal(x86_boot_write_tables(&mem, &ki, CMDLINE, 0, 0, err, sizeof(err)), 0);
	assert_memory_equal(guest(&mem, LAYOUT_ZERO_PAGE, 4096), expect, 4096);
	guest_mem_destroy(&mem);
}

/* An initrd above 4 GiB goes to the ext_ fields (boot_params 0xc0/0xc4). */
static void test_zero_page_ext_fields(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	const uint8_t *zp;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, LAYOUT_MMIO_START + 64 * MIB), 0);
	elf_kernel(&ki);
	assert_int_equal(
	    x86_boot_write_tables(&mem, &ki, "", LAYOUT_4G + 0x3000, 0x2000, err, sizeof(err)), 0);
	zp = guest(&mem, LAYOUT_ZERO_PAGE, 4096);
	assert_int_equal(get64(zp + 0x218) & 0xffffffff, 0x3000); /* ramdisk_image */
	assert_int_equal(get64(zp + 0x21c) & 0xffffffff, 0x2000); /* ramdisk_size */
	assert_int_equal(get64(zp + 0xc0) & 0xffffffff, 1);	  /* ext_ramdisk_image */
	assert_int_equal(get64(zp + 0xc4) & 0xffffffff, 0);	  /* ext_ramdisk_size */
	assert_int_equal(get64(zp + 0xc8) & 0xffffffff, 0);	  /* ext_cmd_line_ptr */
	guest_mem_destroy(&mem);
}

static void check_e820_type(const uint8_t *zp, unsigned int i, uint64_t addr, uint64_t size,
			    uint32_t type)
{
	const uint8_t *e = zp + 0x2d0 + i * 20;

	assert_int_equal(get64(e), addr);
	assert_int_equal(get64(e + 8), size);
	assert_int_equal(get64(e + 16) & 0xffffffff, type);
}

static void check_e820(const uint8_t *zp, unsigned int i, uint64_t addr, uint64_t size)
{
	check_e820_type(zp, i, addr, size, 1); /* E820_RAM */
}

static void test_e820_above_4g(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	const uint8_t *zp;
	const uint64_t ram = LAYOUT_4G + 512 * MIB;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, ram), 0);
	elf_kernel(&ki);
	assert_int_equal(x86_boot_write_tables(&mem, &ki, "", 0, 0, err, sizeof(err)), 0);
	zp = guest(&mem, LAYOUT_ZERO_PAGE, 4096);
	assert_int_equal(zp[0x1e8], 4);
	check_e820(zp, 0, 0, 0x9fc00);
	/* The system data (MP table, ACPI tables) up to the RSDP is reserved. */
	check_e820_type(zp, 1, LAYOUT_SYSTEM_MEM_START, LAYOUT_RSDP_ADDR - LAYOUT_SYSTEM_MEM_START,
			2);
	/* Low RAM stops at the MMIO hole (3.25 GiB)... */
	check_e820(zp, 2, 0x100000, 0xd0000000ULL - 0x100000);
	/* ...and the rest continues at 4 GiB. */
	check_e820(zp, 3, LAYOUT_4G, ram - 0xd0000000ULL);
	assert_int_equal(get64(zp + 0x2d0 + 4 * 20), 0);
	guest_mem_destroy(&mem);
}

/* RAM that ends exactly at the hole: no high entry. */
static void test_e820_exactly_low(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	const uint8_t *zp;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, LAYOUT_MMIO_START), 0);
	elf_kernel(&ki);
	assert_int_equal(x86_boot_write_tables(&mem, &ki, "", 0, 0, err, sizeof(err)), 0);
	zp = guest(&mem, LAYOUT_ZERO_PAGE, 4096);
	assert_int_equal(zp[0x1e8], 3);
	check_e820(zp, 2, 0x100000, 0xd0000000ULL - 0x100000);
	guest_mem_destroy(&mem);
}

/* ---- command line ------------------------------------------------------- */

static void test_cmdline_placement(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	const uint8_t *p;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, RAM_128M), 0);
	elf_kernel(&ki);
	memset(guest(&mem, LAYOUT_CMDLINE, LAYOUT_CMDLINE_MAX), 0xee, LAYOUT_CMDLINE_MAX);
	assert_int_equal(x86_boot_write_tables(&mem, &ki, CMDLINE, 0, 0, err, sizeof(err)), 0);
	p = guest(&mem, LAYOUT_CMDLINE, LAYOUT_CMDLINE_MAX);
	assert_memory_equal(p, CMDLINE, sizeof(CMDLINE)); /* with its NUL */
	for (size_t i = sizeof(CMDLINE); i < LAYOUT_CMDLINE_MAX; i++)
		assert_int_equal(p[i], 0);

	/* NULL is an empty command line. */
	assert_int_equal(x86_boot_write_tables(&mem, &ki, NULL, 0, 0, err, sizeof(err)), 0);
	assert_int_equal(p[0], 0);
	assert_int_equal(get64(guest(&mem, LAYOUT_ZERO_PAGE + 0x238, 8)) & 0xffffffff, 1);
	guest_mem_destroy(&mem);
}

static void test_cmdline_limits(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	char *line = malloc(LAYOUT_CMDLINE_MAX + 1);
	const uint8_t *p;

	(void)state;
	assert_non_null(line);
	assert_int_equal(guest_mem_create(&mem, RAM_128M), 0);
	elf_kernel(&ki);

	/* 2047 characters + NUL: the largest that fits. */
	memset(line, 'a', LAYOUT_CMDLINE_MAX - 1);
	line[LAYOUT_CMDLINE_MAX - 1] = '\0';
	assert_int_equal(x86_boot_write_tables(&mem, &ki, line, 0, 0, err, sizeof(err)), 0);
	p = guest(&mem, LAYOUT_CMDLINE, LAYOUT_CMDLINE_MAX);
	assert_int_equal(p[LAYOUT_CMDLINE_MAX - 2], 'a');
	assert_int_equal(p[LAYOUT_CMDLINE_MAX - 1], 0);

	/* 2048 characters: refused, and nothing is written. */
	memset(guest(&mem, LAYOUT_ZERO_PAGE, 4096), 0xee, 4096);
	memset(line, 'b', LAYOUT_CMDLINE_MAX);
	line[LAYOUT_CMDLINE_MAX] = '\0';
	assert_int_equal(x86_boot_write_tables(&mem, &ki, line, 0, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "too long"));
	assert_int_equal(p[0], 'a');
	assert_int_equal(*guest(&mem, LAYOUT_ZERO_PAGE + 0x1fe, 1), 0xee);
	free(line);
	guest_mem_destroy(&mem);
}

/* A bzImage's own cmdline_size bounds the command line too. */
static void test_cmdline_bzimage_limit(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	char line[257];
	uint8_t *img;
	size_t len;

	(void)state;
	load_bzimage(&mem, RAM_128M, &ki, &img, &len, 255);
	memset(line, 'c', 256);
	line[256] = '\0';
	assert_int_equal(x86_boot_write_tables(&mem, &ki, line, 0, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "at most 255"));
	line[255] = '\0';
	assert_int_equal(x86_boot_write_tables(&mem, &ki, line, 0, 0, err, sizeof(err)), 0);
	free(img);
	guest_mem_destroy(&mem);
}

static void test_initrd_outside_ram(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";

	(void)state;
	assert_int_equal(guest_mem_create(&mem, RAM_128M), 0);
	elf_kernel(&ki);
	assert_int_equal(
	    x86_boot_write_tables(&mem, &ki, "", RAM_128M - 4096, 8192, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "Initrd"));
	assert_int_equal(
	    x86_boot_write_tables(&mem, &ki, "", UINT64_MAX - 10, 100, err, sizeof(err)), -EINVAL);
	guest_mem_destroy(&mem);
}

/* ---- page tables, GDT, IDT ---------------------------------------------- */

static void test_page_tables(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	const uint8_t *pml4, *pdpte, *pde;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, RAM_128M), 0);
	elf_kernel(&ki);
	memset(guest(&mem, LAYOUT_PML4, 7 * 4096), 0xee, 7 * 4096);
	assert_int_equal(x86_boot_write_tables(&mem, &ki, "", 0, 0, err, sizeof(err)), 0);

	pml4 = guest(&mem, 0x9000, 4096);
	assert_int_equal(get64(pml4), 0xa003);
	for (int i = 1; i < 512; i++)
		assert_int_equal(get64(pml4 + i * 8), 0);

	pdpte = guest(&mem, 0xa000, 4096);
	assert_int_equal(get64(pdpte + 0), 0xb003);
	assert_int_equal(get64(pdpte + 8), 0xc003);
	assert_int_equal(get64(pdpte + 16), 0xd003);
	assert_int_equal(get64(pdpte + 24), 0xe003);
	for (int i = 4; i < 512; i++)
		assert_int_equal(get64(pdpte + i * 8), 0);

	pde = guest(&mem, 0xb000, 4 * 4096);
	assert_int_equal(get64(pde), 0x83);
	assert_int_equal(get64(pde + 8), 0x200083);
	assert_int_equal(get64(pde + 4096), 0x40000083); /* 1 GiB */
	assert_int_equal(get64(pde + 4 * 4096 - 8), 0xffe00083);
	for (uint64_t i = 0; i < 2048; i++)
		assert_int_equal(get64(pde + i * 8), (i << 21) | 0x83);
	/* The page after the PDEs (0xf000) is not touched. */
	assert_int_equal(*guest(&mem, 0xf000, 1), 0xee);
	guest_mem_destroy(&mem);
}

static void test_gdt_idt(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	const uint8_t *gdt, *idt;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, RAM_128M), 0);
	elf_kernel(&ki);
	memset(guest(&mem, 0x500, 0x40), 0xee, 0x40);
	assert_int_equal(x86_boot_write_tables(&mem, &ki, "", 0, 0, err, sizeof(err)), 0);
	gdt = guest(&mem, 0x500, 40);
	assert_int_equal(get64(gdt + 0x00), 0);
	assert_int_equal(get64(gdt + 0x08), 0);
	assert_int_equal(get64(gdt + 0x10), 0x00af9b000000ffffULL); /* __BOOT_CS */
	assert_int_equal(get64(gdt + 0x18), 0x00cf93000000ffffULL); /* __BOOT_DS */
	assert_int_equal(get64(gdt + 0x20), 0x008f8b000000ffffULL); /* TSS */
	idt = guest(&mem, 0x528, 8);
	assert_int_equal(get64(idt), 0);
	assert_int_equal(*guest(&mem, 0x530, 1), 0xee);
	guest_mem_destroy(&mem);
}

/* ---- registers ---------------------------------------------------------- */

static void test_regs(void **state)
{
	struct kvm_regs regs, expect;
	struct kernel_info ki;

	(void)state;
	elf_kernel(&ki);
	ki.entry = 0x1000200;
	memset(&regs, 0xa5, sizeof(regs));
	x86_boot_regs(&regs, &ki);
	memset(&expect, 0, sizeof(expect));
	expect.rflags = 0x2;
	expect.rip = 0x1000200;
	expect.rsi = 0x7000;
	expect.rsp = 0x8ff0;
	expect.rbp = 0x8ff0;
	assert_memory_equal(&regs, &expect, sizeof(regs));
}

/* Decode a descriptor independently of the code under test. */
static void check_segment(const struct kvm_segment *s, uint64_t desc, uint16_t selector)
{
	assert_int_equal(s->selector, selector);
	assert_int_equal(s->base, 0);
	assert_int_equal(s->limit, 0xffffffff); /* 0xfffff pages of 4 KiB */
	assert_int_equal(s->type, (desc >> 40) & 0xf);
	assert_int_equal(s->s, (desc >> 44) & 1);
	assert_int_equal(s->dpl, 0);
	assert_int_equal(s->present, 1);
	assert_int_equal(s->avl, 0);
	assert_int_equal(s->l, (desc >> 53) & 1);
	assert_int_equal(s->db, (desc >> 54) & 1);
	assert_int_equal(s->g, 1);
	assert_int_equal(s->unusable, 0);
}

static void test_sregs(void **state)
{
	struct kvm_sregs sregs;
	struct kernel_info ki;

	(void)state;
	elf_kernel(&ki);
	memset(&sregs, 0xa5, sizeof(sregs));
	sregs.apic_base = 0xfee00900;
	x86_boot_sregs(&sregs, &ki);

	check_segment(&sregs.cs, 0x00af9b000000ffffULL, 0x10);
	assert_int_equal(sregs.cs.type, 0xb);
	assert_int_equal(sregs.cs.l, 1);
	assert_int_equal(sregs.cs.db, 0);
	assert_int_equal(sregs.cs.s, 1);
	check_segment(&sregs.ds, 0x00cf93000000ffffULL, 0x18);
	assert_int_equal(sregs.ds.type, 0x3);
	assert_int_equal(sregs.ds.db, 1);
	assert_memory_equal(&sregs.es, &sregs.ds, sizeof(sregs.ds));
	assert_memory_equal(&sregs.fs, &sregs.ds, sizeof(sregs.ds));
	assert_memory_equal(&sregs.gs, &sregs.ds, sizeof(sregs.ds));
	assert_memory_equal(&sregs.ss, &sregs.ds, sizeof(sregs.ds));
	check_segment(&sregs.tr, 0x008f8b000000ffffULL, 0x20);
	assert_int_equal(sregs.tr.type, 0xb);
	assert_int_equal(sregs.tr.s, 0);

	assert_int_equal(sregs.gdt.base, 0x500);
	assert_int_equal(sregs.gdt.limit, 39);
	assert_int_equal(sregs.idt.base, 0x528);
	assert_int_equal(sregs.idt.limit, 7);
	assert_int_equal(sregs.cr0, 0x80000011);
	assert_int_equal(sregs.cr3, 0x9000);
	assert_int_equal(sregs.cr4, 0x20);
	assert_int_equal(sregs.efer, 0x500);
	/* KVM's own state is left alone. */
	assert_int_equal(sregs.apic_base, 0xfee00900);
	assert_int_equal(sregs.cr2, 0xa5a5a5a5a5a5a5a5ULL);
	assert_int_equal(sregs.ldt.selector, 0xa5a5);
}

static void test_fpu(void **state)
{
	struct kvm_fpu fpu, expect;

	(void)state;
	memset(&fpu, 0xa5, sizeof(fpu));
	x86_boot_fpu(&fpu);
	memset(&expect, 0, sizeof(expect));
	expect.fcw = 0x37f;
	expect.mxcsr = 0x1f80;
	assert_memory_equal(&fpu, &expect, sizeof(fpu));
}

static void test_boot_msrs(void **state)
{
	static const struct {
		uint32_t index;
		uint64_t data;
	} expect[] = {
	    {0x174, 0},	     {0x175, 0},      {0x176, 0},      {0xc0000081, 0},
	    {0xc0000083, 0}, {0xc0000102, 0}, {0xc0000084, 0}, {0xc0000082, 0},
	    {0x10, 0},	     {0x1a0, 1},      {0x2ff, 0x806},
	};
	struct kvm_msr_entry out[16];

	(void)state;
	memset(out, 0xa5, sizeof(out));
	assert_int_equal(msr_boot_entries(out, 16), 11);
	for (size_t i = 0; i < 11; i++) {
		assert_int_equal(out[i].index, expect[i].index);
		assert_int_equal(out[i].reserved, 0);
		assert_int_equal(out[i].data, expect[i].data);
	}
	/* Untouched past the end. */
	assert_int_equal(out[11].index, 0xa5a5a5a5);

	/* Too small: nothing. */
	memset(out, 0xa5, sizeof(out));
	assert_int_equal(msr_boot_entries(out, 10), 0);
	assert_int_equal(out[0].index, 0xa5a5a5a5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_zero_page_bzimage),
	    cmocka_unit_test(test_zero_page_elf),
	    cmocka_unit_test(test_zero_page_ext_fields),
	    cmocka_unit_test(test_e820_above_4g),
	    cmocka_unit_test(test_e820_exactly_low),
	    cmocka_unit_test(test_cmdline_placement),
	    cmocka_unit_test(test_cmdline_limits),
	    cmocka_unit_test(test_cmdline_bzimage_limit),
	    cmocka_unit_test(test_initrd_outside_ram),
	    cmocka_unit_test(test_page_tables),
	    cmocka_unit_test(test_gdt_idt),
	    cmocka_unit_test(test_regs),
	    cmocka_unit_test(test_sregs),
	    cmocka_unit_test(test_fpu),
	    cmocka_unit_test(test_boot_msrs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
