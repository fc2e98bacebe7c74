/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pvh_start: the PVH entry (pvh.h). Nothing but what the PVH ABI promises is
 * assumed: 32-bit flat CS/DS/ES/SS, paging off, EBX = start info; no stack,
 * so the stub sets one up before its first push. It records the entry state,
 * maps [0, 4 GiB) with 2 MiB pages, enables PAE, EFER.LME and paging, loads
 * a GDT with a 64-bit code segment and continues at startup_64 with RSI =
 * the boot_params pvh_boot_params() built.
 */
#include "pvh.h"

#define PVH_CS	    0x10
#define PVH_DS	    0x18
#define MSR_EFER    0xc0000080
#define EFER_LME    0x100
#define CR4_PAE	    0x20
#define CR0_PG	    0x80000000
#define PTE_P_RW    0x3
#define PDE_2M	    0x83		/* present, writable, 2 MiB page */
#define PD_ENTRIES  2048		/* 4 pages of 512: 4 GiB */

	.section .text, "ax"
	.code32
	.globl	pvh_start
pvh_start:
	movl	$pvh_stack_top, %esp
	pushfl
	popl	pvh_state + PVH_ST_EFLAGS
	cli
	cld
	movl	$1, pvh_state + PVH_ST_ENTERED
	movl	%ebx, pvh_state + PVH_ST_EBX
	movl	%cr0, %eax
	movl	%eax, pvh_state + PVH_ST_CR0
	movl	%cr4, %eax
	movl	%eax, pvh_state + PVH_ST_CR4
	movl	$MSR_EFER, %ecx
	rdmsr
	movl	%eax, pvh_state + PVH_ST_EFER
	movl	%cs, %eax
	movzwl	%ax, %eax
	movl	%eax, pvh_state + PVH_ST_CS
	movl	%ds, %eax
	movzwl	%ax, %eax
	movl	%eax, pvh_state + PVH_ST_DS

	/* Identity map: PML4[0] -> PDPT, PDPT[0..3] -> the 4 PD pages. */
	movl	$pvh_pd, %edi
	movl	$PDE_2M, %eax
	movl	$PD_ENTRIES, %ecx
1:	movl	%eax, (%edi)
	movl	$0, 4(%edi)
	addl	$8, %edi
	addl	$0x200000, %eax
	loop	1b
	movl	$(pvh_pdpt + PTE_P_RW), pvh_pml4
	movl	$(pvh_pd + PTE_P_RW), pvh_pdpt
	movl	$(pvh_pd + 0x1000 + PTE_P_RW), pvh_pdpt + 8
	movl	$(pvh_pd + 0x2000 + PTE_P_RW), pvh_pdpt + 16
	movl	$(pvh_pd + 0x3000 + PTE_P_RW), pvh_pdpt + 24

	movl	$pvh_pml4, %eax
	movl	%eax, %cr3
	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$CR0_PG, %eax
	movl	%eax, %cr0
	lgdt	pvh_gdt_ptr
	ljmp	$PVH_CS, $pvh_long

	.code64
pvh_long:
	movl	$PVH_DS, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	leaq	pvh_stack_top(%rip), %rsp
	movl	%ebx, %edi			/* EBX survived: the start info */
	call	pvh_boot_params
	movq	%rax, %rsi
	jmp	startup_64

/* In .data, not .bss: startup_64 clears .bss after the stub has used it. */
	.section .data
	.balign	4096
pvh_pml4:
	.skip	4096
pvh_pdpt:
	.skip	4096
	.balign	16
pvh_gdt:
	.quad	0
	.quad	0
	.quad	0x00af9b000000ffff		/* 0x10: 64-bit code */
	.quad	0x00cf93000000ffff		/* 0x18: data */
pvh_gdt_end:
pvh_gdt_ptr:
	.word	pvh_gdt_end - pvh_gdt - 1
	.long	pvh_gdt

	.section .noinit, "aw", @nobits
	.balign	4096
pvh_pd:
	.skip	PD_ENTRIES * 8
	.balign	16
pvh_stack:
	.skip	4096
pvh_stack_top:

	.section .note.GNU-stack, "", @progbits
