/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entry points of the protected-mode kernel, loaded at 1 MiB:
 *
 *   0x100000  startup_32: the 32-bit boot protocol entry (code32_start).
 *             Not supported: Ember and Firecracker use the 64-bit entry.
 *             It parks the CPU so a loader using it fails visibly.
 *   0x100200  startup_64: the 64-bit boot protocol entry, as in Linux. Long
 *             mode, paging on, CS = 0x10, DS/ES/SS = 0x18, interrupts off,
 *             RSI = struct boot_params. Nothing else may be assumed.
 *
 * startup_64 clears .bss (a bzImage loader copies only the file, so .bss is
 * whatever RAM held), switches to its own stack, GDT and page tables, and
 * calls guest_main(boot_params).
 */

#define KERNEL_CS 0x10
#define KERNEL_DS 0x18

	.section .head32, "ax"
	.code32
	.globl	startup_32
startup_32:
	cli
1:	hlt
	jmp	1b

/*
 * kernel_info (boot protocol 2.15, boot.rst "The kernel_info"): found by the
 * loader through setup_header.kernel_info_offset, relative to the start of
 * the protected-mode kernel.
 */
	.balign	16
	.globl	kernel_info
kernel_info:
	.ascii	"LToP"				/* header: "Linux top" */
	.long	kernel_info_var_len_data - kernel_info	/* size */
	.long	kernel_info_end - kernel_info	/* size_total */
	.long	0				/* setup_type_max: the guest reads no setup_data */
kernel_info_var_len_data:
kernel_info_end:

	.section .head64, "ax"
	.code64
	.globl	startup_64
startup_64:
	cli
	cld
	movq	%rsi, %r12			/* boot_params; callee-saved across calls */

	leaq	__bss_start(%rip), %rdi
	leaq	__bss_end(%rip), %rcx
	subq	%rdi, %rcx
	shrq	$3, %rcx
	xorl	%eax, %eax
	rep stosq

	leaq	boot_stack_top(%rip), %rsp

	/* Own GDT: the loader's may live in RAM the kernel is free to reuse. */
	lgdt	gdt_ptr(%rip)
	movl	$KERNEL_DS, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	pushq	$KERNEL_CS
	leaq	1f(%rip), %rax
	pushq	%rax
	lretq
1:
	/*
	 * guest_main prints its first line while still on the loader's identity
	 * map and builds its own page tables after that: the first serial byte
	 * then measures the VMM's start-up, not emulated page-table setup.
	 */
	movq	%r12, %rdi
	call	guest_main
2:	cli				/* guest_main does not return */
	hlt
	jmp	2b

/*
 * Linux's boot GDT layout: null, null, __BOOT_CS (0x10), __BOOT_DS (0x18);
 * then what ring 3 needs (ring3.h): user data (0x20) and 64-bit user code
 * (0x28) at DPL 3, and a 16-byte TSS descriptor (0x30) that ring3_init()
 * fills in.
 */
	.section .data
	.balign	16
gdt:
	.quad	0
	.quad	0
	.quad	0x00af9b000000ffff		/* 64-bit code: L=1, P, DPL 0, exec/read, accessed */
	.quad	0x00cf93000000ffff		/* data: D/B=1, G=1, P, DPL 0, read/write, accessed */
	.quad	0x00cff3000000ffff		/* user data: as above at DPL 3 */
	.quad	0x00affb000000ffff		/* user 64-bit code: as above at DPL 3 */
	.globl	gdt_tss
gdt_tss:
	.quad	0
	.quad	0
gdt_end:
gdt_ptr:
	.word	gdt_end - gdt - 1
	.quad	gdt

	.section .bss
	.balign	16
boot_stack:
	.skip	16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
