/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Machine state for the Linux x86 64-bit boot protocol: what must be in guest
 * memory (command line, zero page with the e820 map, identity page tables,
 * boot GDT, empty IDT) and in the boot vCPU's registers when it starts at the
 * kernel's 64-bit entry. Pure functions: the vCPU code does the KVM ioctls.
 *
 * Boot protocol requirements met here (boot.rst, "64-bit Boot Protocol"):
 * long mode with paging on, the kernel, zero page and command line
 * identity-mapped (the first 4 GiB are), a GDT with flat __BOOT_CS (0x10,
 * execute/read) and __BOOT_DS (0x18, read/write), CS = __BOOT_CS,
 * DS/ES/SS = __BOOT_DS, interrupts off and RSI = the zero page.
 *
 * A kernel with a PVH entry note (loader.h: ki->has_pvh_entry) is booted
 * through PVH instead, as Firecracker does: the command line, the start info
 * (pvh.h) and the same GDT with a 32-bit code segment; no zero page and no
 * page tables. The vCPU starts at the note's entry in 32-bit protected mode,
 * paging off (CR0 = PE|ET, CR4 = EFER = 0), CS/DS/ES/SS flat 4 GiB, TR a
 * 32-bit TSS, EFLAGS.IF/VM clear, EBX = LAYOUT_PVH_INFO.
 *
 * The MP table is written separately by mptable_write() (it needs the vCPU
 * count).
 */
#ifndef EMBER_X86_BOOT_H
#define EMBER_X86_BOOT_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/mem/guest_mem.h"
#include "vmm/boot/loader.h"

/* Boot GDT, Linux's layout (arch/x86/include/asm/segment.h). */
#define BOOT_GDT_NULL	  0
#define BOOT_GDT_CODE	  2 /* __BOOT_CS */
#define BOOT_GDT_DATA	  3 /* __BOOT_DS */
#define BOOT_GDT_TSS	  4
#define BOOT_GDT_ENTRIES  5
#define BOOT_CS_SELECTOR  (BOOT_GDT_CODE * 8) /* 0x10 */
#define BOOT_DS_SELECTOR  (BOOT_GDT_DATA * 8) /* 0x18 */
#define BOOT_TSS_SELECTOR (BOOT_GDT_TSS * 8)  /* 0x20 */

/* Descriptors as Firecracker encodes them: flat 4 GiB, G=1. */
#define BOOT_GDT_CODE64_DESC 0x00af9b000000ffffULL /* L=1, P, DPL0, exec/read, accessed */
#define BOOT_GDT_DATA_DESC   0x00cf93000000ffffULL /* D/B=1, P, DPL0, read/write, accessed */
#define BOOT_GDT_TSS_DESC    0x008f8b000000ffffULL /* P, busy 64-bit TSS */
/* PVH (its ABI): 32-bit flat code (D/B=1, L=0), a busy 32-bit TSS of 0x68 bytes. */
#define BOOT_GDT_CODE32_DESC 0x00cf9b000000ffffULL
#define BOOT_GDT_TSS32_DESC  0x00008b0000000067ULL

/* Page-table entry bits. */
#define PTE_PRESENT (1ULL << 0)
#define PTE_RW	    (1ULL << 1)
#define PTE_PS	    (1ULL << 7) /* 2 MiB page in a PDE */

/* Identity map: 4 PDE pages of 512 x 2 MiB = 4 GiB. */
#define BOOT_PDE_PAGES 4

/* Loader type "undefined/other" (0xff): Ember has no assigned boot loader ID. */
#define BOOT_LOADER_TYPE_OTHER 0xff
/* Built header for ELF kernels: protocol 2.15, the one whose fields Ember fills. */
#define BOOT_ELF_HDR_VERSION  0x020f
#define BOOT_ELF_KERNEL_ALIGN 0x1000000
/* Real-mode heap end below the 64 KiB setup segment, minus 0x200 (boot.rst). */
#define BOOT_HEAP_END_PTR 0xfe00

#define BOOT_FPU_FCW   0x37f
#define BOOT_FPU_MXCSR 0x1f80

/*
 * Write cmdline, zero page, page tables, GDT and IDT. @cmdline may be NULL
 * (empty); it must be shorter than LAYOUT_CMDLINE_MAX and, for a bzImage, no
 * longer than the kernel's cmdline_size. @initrd_size 0 means no initrd.
 * 0, or -errno with a message in @err.
 */
int x86_boot_write_tables(const struct guest_mem *mem, const struct kernel_info *ki,
			  const char *cmdline, uint64_t initrd_addr, uint64_t initrd_size,
			  char *err, size_t errlen);

/*
 * General registers at the 64-bit entry: RIP, RSI = zero page, stack, RFLAGS;
 * at the PVH entry: RIP, RBX = start info, RFLAGS.
 */
void x86_boot_regs(struct kvm_regs *regs, const struct kernel_info *ki);

/*
 * Update @sregs (as read with KVM_GET_SREGS, so apic_base and the rest stay
 * KVM's) for long mode, or 32-bit protected mode for PVH: segments from the
 * boot GDT, GDTR/IDTR, CR0/CR3/CR4, EFER.
 */
void x86_boot_sregs(struct kvm_sregs *sregs, const struct kernel_info *ki);

/* FPU state at reset: FCW 0x37f, MXCSR 0x1f80. */
void x86_boot_fpu(struct kvm_fpu *fpu);

#endif
