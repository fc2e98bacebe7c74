// SPDX-License-Identifier: Apache-2.0
#include "vmm/boot/x86_boot.h"
#include "vmm/base/errmsg.h"
#include "vmm/boot/e820.h"
#include "vmm/boot/pvh.h"
#include "vmm/mem/layout.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define PAGE_SIZE      0x1000ULL
#define PT_ENTRIES     512
#define PDE_PAGE_SHIFT 21 /* 2 MiB */

#define X86_CR0_PE  (1ULL << 0)
#define X86_CR0_ET  (1ULL << 4)
#define X86_CR0_PG  (1ULL << 31)
#define X86_CR4_PAE (1ULL << 5)
#define EFER_LME    (1ULL << 8)
#define EFER_LMA    (1ULL << 10)

#define BOOT_IDT_SIZE 8 /* one empty 8-byte slot, limit 7, as Firecracker */

_Static_assert(sizeof(struct boot_params) == 4096, "zero page is one page");
_Static_assert(offsetof(struct boot_params, hdr) == BZIMAGE_HDR_OFFSET, "hdr at 0x1f1");
_Static_assert(offsetof(struct boot_params, e820_table) == 0x2d0, "e820 map at 0x2d0");
/* The fixed boot structures must not overlap one another. */
_Static_assert(LAYOUT_GDT_ADDR + BOOT_GDT_ENTRIES * 8 <= LAYOUT_IDT_ADDR, "GDT/IDT");
_Static_assert(LAYOUT_IDT_ADDR + BOOT_IDT_SIZE <= LAYOUT_ZERO_PAGE, "IDT/zero page");
_Static_assert(LAYOUT_ZERO_PAGE + PAGE_SIZE <= LAYOUT_BOOT_STACK, "zero page/stack");
_Static_assert(LAYOUT_BOOT_STACK < LAYOUT_PML4, "stack/PML4");
_Static_assert(LAYOUT_PML4 + PAGE_SIZE <= LAYOUT_PDPTE, "PML4/PDPTE");
_Static_assert(LAYOUT_PDPTE + PAGE_SIZE <= LAYOUT_PDE, "PDPTE/PDE");
_Static_assert(LAYOUT_PDE + BOOT_PDE_PAGES * PAGE_SIZE <= LAYOUT_CMDLINE, "PDE/cmdline");
_Static_assert(LAYOUT_CMDLINE + LAYOUT_CMDLINE_MAX <= LAYOUT_EBDA_START, "cmdline/EBDA");
_Static_assert(LAYOUT_SYSTEM_MEM_END + LAYOUT_RSDP_SIZE <= LAYOUT_HIMEM_START, "RSDP/kernel");

/* PVH enters 32-bit code, so its code segment and TSS are the 32-bit kinds. */
static void boot_gdt(uint64_t gdt[BOOT_GDT_ENTRIES], bool pvh)
{
	memset(gdt, 0, BOOT_GDT_ENTRIES * sizeof(gdt[0]));
	gdt[BOOT_GDT_CODE] = pvh ? BOOT_GDT_CODE32_DESC : BOOT_GDT_CODE64_DESC;
	gdt[BOOT_GDT_DATA] = BOOT_GDT_DATA_DESC;
	gdt[BOOT_GDT_TSS] = pvh ? BOOT_GDT_TSS32_DESC : BOOT_GDT_TSS_DESC;
}

/* ---- zero page ---------------------------------------------------------- */

static void build_e820(struct boot_params *bp, const struct guest_mem *mem)
{
	_Static_assert(E820_MAP_MAX <= E820_MAX_ENTRIES_ZEROPAGE, "e820 map fits the zero page");
	bp->e820_entries = (uint8_t)e820_build_map(mem, bp->e820_table);
}

/* ELF kernels have no setup header: build the fields a bzImage would carry. */
static void build_elf_header(struct setup_header *hdr)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->boot_flag = 0xaa55;
	hdr->header = BZIMAGE_HDR_MAGIC;
	hdr->version = BOOT_ELF_HDR_VERSION;
	hdr->kernel_alignment = BOOT_ELF_KERNEL_ALIGN;
}

/*
 * The zero page starts from the kernel's own setup header and fills in the
 * fields boot.rst marks "write" for the boot loader. cmdline_size is a
 * read-only field of a bzImage (checked, not written); for ELF it is set to
 * the command line length with its NUL, as Firecracker does.
 */
static void build_zero_page(struct boot_params *bp, const struct guest_mem *mem,
			    const struct kernel_info *ki, size_t cmdline_len, uint64_t initrd_addr,
			    uint64_t initrd_size)
{
	struct setup_header *hdr = &bp->hdr;

	memset(bp, 0, sizeof(*bp));
	if (ki->format == KERNEL_FORMAT_BZIMAGE) {
		*hdr = ki->hdr;
	} else {
		build_elf_header(hdr);
		hdr->cmdline_size = (uint32_t)cmdline_len + 1;
	}
	hdr->type_of_loader = BOOT_LOADER_TYPE_OTHER;
	hdr->loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	hdr->heap_end_ptr = BOOT_HEAP_END_PTR;
	hdr->cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
	bp->ext_cmd_line_ptr = (uint32_t)(LAYOUT_CMDLINE >> 32);
	hdr->ramdisk_image = (uint32_t)initrd_addr;
	bp->ext_ramdisk_image = (uint32_t)(initrd_addr >> 32);
	hdr->ramdisk_size = (uint32_t)initrd_size;
	bp->ext_ramdisk_size = (uint32_t)(initrd_size >> 32);
	hdr->setup_data = 0; /* no setup_data list */
	/* Saves Linux the scan of the BIOS area for "RSD PTR " (boot protocol 2.14+). */
	bp->acpi_rsdp_addr = LAYOUT_RSDP_ADDR;
	build_e820(bp, mem);
}

/* ---- checks ------------------------------------------------------------- */

static int check_cmdline(const struct kernel_info *ki, const char *cmdline, size_t *len, char *err,
			 size_t errlen)
{
	*len = cmdline ? strnlen(cmdline, LAYOUT_CMDLINE_MAX) : 0;
	if (*len >= LAYOUT_CMDLINE_MAX)
		return err_set(err, errlen, -EINVAL,
			       "Kernel command line is too long: the limit is %u bytes",
			       LAYOUT_CMDLINE_MAX - 1);
	if (ki->format == KERNEL_FORMAT_BZIMAGE && *len > ki->hdr.cmdline_size)
		return err_set(err, errlen, -EINVAL,
			       "Kernel command line is %zu bytes; this kernel accepts at most %u",
			       *len, ki->hdr.cmdline_size);
	return 0;
}

static int check_initrd(const struct guest_mem *mem, uint64_t addr, uint64_t size, char *err,
			size_t errlen)
{
	if (size && !guest_mem_translate(mem, addr, size))
		return err_set(err, errlen, -EINVAL, "Initrd [%#llx, +%#llx) is not in guest RAM",
			       (unsigned long long)addr, (unsigned long long)size);
	return 0;
}

/* ---- guest memory writers ----------------------------------------------- */

static int write_cmdline(const struct guest_mem *mem, const char *cmdline, size_t len)
{
	char buf[LAYOUT_CMDLINE_MAX] = {0};

	if (len)
		memcpy(buf, cmdline, len);
	return guest_mem_write(mem, LAYOUT_CMDLINE, buf, sizeof(buf));
}

/* Identity map of [0, 4 GiB): PML4[0] -> PDPTE[0..3] -> 4 PDE pages of 2 MiB pages. */
static int write_page_tables(const struct guest_mem *mem)
{
	uint64_t table[PT_ENTRIES];
	int ret;

	memset(table, 0, sizeof(table));
	table[0] = LAYOUT_PDPTE | PTE_PRESENT | PTE_RW;
	ret = guest_mem_write(mem, LAYOUT_PML4, table, sizeof(table));
	if (ret)
		return ret;

	memset(table, 0, sizeof(table));
	for (unsigned int i = 0; i < BOOT_PDE_PAGES; i++)
		table[i] = (LAYOUT_PDE + i * PAGE_SIZE) | PTE_PRESENT | PTE_RW;
	ret = guest_mem_write(mem, LAYOUT_PDPTE, table, sizeof(table));
	if (ret)
		return ret;

	for (unsigned int p = 0; p < BOOT_PDE_PAGES; p++) {
		for (unsigned int i = 0; i < PT_ENTRIES; i++)
			table[i] = ((uint64_t)(p * PT_ENTRIES + i) << PDE_PAGE_SHIFT) |
				   PTE_PRESENT | PTE_RW | PTE_PS;
		ret = guest_mem_write(mem, LAYOUT_PDE + p * PAGE_SIZE, table, sizeof(table));
		if (ret)
			return ret;
	}
	return 0;
}

static int write_gdt_idt(const struct guest_mem *mem, bool pvh)
{
	uint64_t gdt[BOOT_GDT_ENTRIES];
	uint8_t idt[BOOT_IDT_SIZE] = {0};
	int ret;

	boot_gdt(gdt, pvh);
	ret = guest_mem_write(mem, LAYOUT_GDT_ADDR, gdt, sizeof(gdt));
	if (ret)
		return ret;
	return guest_mem_write(mem, LAYOUT_IDT_ADDR, idt, sizeof(idt));
}

/* PVH: no zero page and no page tables (paging is off), the start info instead. */
static int write_pvh_tables(const struct guest_mem *mem, const char *cmdline, size_t len,
			    uint64_t initrd_addr, uint64_t initrd_size, char *err, size_t errlen)
{
	int ret = write_cmdline(mem, cmdline, len);

	if (!ret)
		ret = write_gdt_idt(mem, true);
	if (ret)
		return err_set(err, errlen, ret,
			       "Guest RAM (%llu MiB) cannot hold the boot tables below 1 MiB",
			       (unsigned long long)(mem->size / MIB));
	return pvh_write_start_info(mem, initrd_addr, initrd_size, err, errlen);
}

int x86_boot_write_tables(const struct guest_mem *mem, const struct kernel_info *ki,
			  const char *cmdline, uint64_t initrd_addr, uint64_t initrd_size,
			  char *err, size_t errlen)
{
	struct boot_params bp;
	size_t len;
	int ret;

	ret = check_cmdline(ki, cmdline, &len, err, errlen);
	if (!ret)
		ret = check_initrd(mem, initrd_addr, initrd_size, err, errlen);
	if (ret)
		return ret;

	if (ki->has_pvh_entry)
		return write_pvh_tables(mem, cmdline, len, initrd_addr, initrd_size, err, errlen);
	build_zero_page(&bp, mem, ki, len, initrd_addr, initrd_size);
	ret = write_cmdline(mem, cmdline, len);
	if (!ret)
		ret = guest_mem_write(mem, LAYOUT_ZERO_PAGE, &bp, sizeof(bp));
	if (!ret)
		ret = write_page_tables(mem);
	if (!ret)
		ret = write_gdt_idt(mem, false);
	if (ret)
		return err_set(err, errlen, ret,
			       "Guest RAM (%llu MiB) cannot hold the boot tables below 1 MiB",
			       (unsigned long long)(mem->size / MIB));
	return 0;
}

/* ---- vCPU registers ----------------------------------------------------- */

void x86_boot_regs(struct kvm_regs *regs, const struct kernel_info *ki)
{
	memset(regs, 0, sizeof(*regs));
	regs->rflags = 0x2; /* bit 1 is reserved-set; IF clear (and VM clear, for PVH) */
	if (ki->has_pvh_entry) {
		/* PVH: EBX = start info; the kernel sets up its own stack. */
		regs->rip = ki->pvh_entry;
		regs->rbx = LAYOUT_PVH_INFO;
		return;
	}
	regs->rip = ki->entry;
	regs->rsi = LAYOUT_ZERO_PAGE;
	regs->rsp = LAYOUT_BOOT_STACK;
	regs->rbp = LAYOUT_BOOT_STACK;
}

/*
 * The hidden segment state KVM loads must match the GDT in memory. Limits
 * are byte-granular in struct kvm_segment, so a G=1 limit of 0xfffff becomes
 * 0xffffffff (as Firecracker's kvm_segment_from_gdt does).
 */
static struct kvm_segment segment_from_desc(uint64_t desc, uint16_t selector)
{
	uint32_t limit = (uint32_t)((desc & 0xffff) | ((desc >> 32) & 0xf0000));
	uint8_t g = (desc >> 55) & 1;
	uint8_t present = (desc >> 47) & 1;

	return (struct kvm_segment){
	    .base = ((desc >> 16) & 0xffffff) | ((desc >> 32) & 0xff000000),
	    .limit = g ? (limit << 12) | 0xfff : limit,
	    .selector = selector,
	    .type = (desc >> 40) & 0xf,
	    .present = present,
	    .dpl = (desc >> 45) & 3,
	    .db = (desc >> 54) & 1,
	    .s = (desc >> 44) & 1,
	    .l = (desc >> 53) & 1,
	    .g = g,
	    .avl = (desc >> 52) & 1,
	    .unusable = !present,
	};
}

/*
 * CR0 is set outright to PE|ET|PG rather than OR-ed into KVM's reset value
 * (which also has CD|NW): caches on, as firmware leaves them for the kernel.
 * PVH: the same without PG, and CR3, CR4 and EFER zero: 32-bit protected
 * mode with paging off, as the PVH ABI requires.
 */
void x86_boot_sregs(struct kvm_sregs *sregs, const struct kernel_info *ki)
{
	uint64_t gdt[BOOT_GDT_ENTRIES];
	struct kvm_segment data;

	boot_gdt(gdt, ki->has_pvh_entry);
	sregs->gdt.base = LAYOUT_GDT_ADDR;
	sregs->gdt.limit = sizeof(gdt) - 1;
	sregs->idt.base = LAYOUT_IDT_ADDR;
	sregs->idt.limit = BOOT_IDT_SIZE - 1;

	sregs->cs = segment_from_desc(gdt[BOOT_GDT_CODE], BOOT_CS_SELECTOR);
	data = segment_from_desc(gdt[BOOT_GDT_DATA], BOOT_DS_SELECTOR);
	sregs->ds = data;
	sregs->es = data;
	sregs->fs = data;
	sregs->gs = data;
	sregs->ss = data;
	sregs->tr = segment_from_desc(gdt[BOOT_GDT_TSS], BOOT_TSS_SELECTOR);

	if (ki->has_pvh_entry) {
		sregs->cr0 = X86_CR0_PE | X86_CR0_ET;
		sregs->cr3 = 0;
		sregs->cr4 = 0;
		sregs->efer = 0;
		return;
	}
	sregs->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
	sregs->cr3 = LAYOUT_PML4;
	sregs->cr4 = X86_CR4_PAE;
	sregs->efer = EFER_LME | EFER_LMA;
}

void x86_boot_fpu(struct kvm_fpu *fpu)
{
	memset(fpu, 0, sizeof(*fpu));
	fpu->fcw = BOOT_FPU_FCW;
	fpu->mxcsr = BOOT_FPU_MXCSR;
}
