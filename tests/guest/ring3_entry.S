/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The privilege-level switches of ring3.c. Down: an IRETQ frame for CPL 3.
 * Up: UD2 at a known address, which ring3.c's exception hook recognises.
 * Neither INT n nor SYSCALL is usable for the way up on hosts where KVM
 * emulates privilege transitions: its emulator cannot execute INT n in long
 * mode (it raises #UD) and this host's SYSCALL reached the entry point still
 * at CPL 3. Exceptions are delivered through the IDT and TSS reliably.
 */

#define USER_DS		(0x20 | 3)
#define USER_CS		(0x28 | 3)
#define RFLAGS_RESERVED 0x2	/* bit 1 is always set; IF clear, IOPL 0 */

	.code64
	.text

/* ring3_enter(fn %rdi, arg %rsi, stack_top %rdx) */
	.globl	ring3_enter
ring3_enter:
	pushq	$USER_DS
	pushq	%rdx
	pushq	$RFLAGS_RESERVED
	pushq	$USER_CS
	pushq	%rdi
	movq	%rsi, %rdi
	iretq

/* ring3_exit(result %rdi), at CPL 3: #UD at ring3_exit_ud2 with the result in %rdi. */
	.globl	ring3_exit
	.globl	ring3_exit_ud2
ring3_exit:
ring3_exit_ud2:
	ud2
	jmp	ring3_exit

	.section .note.GNU-stack, "", @progbits
