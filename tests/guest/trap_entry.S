/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entry stubs for vectors 0-47. Each stub makes the stack uniform (a dummy
 * error code where the CPU pushes none, then the vector number) and jumps
 * to trap_common, which saves the caller-saved registers, calls
 * trap_dispatch(frame) and returns with IRETQ. The stub for vector N is at
 * trap_stubs + N * TRAP_STUB_SIZE.
 */

#define TRAP_STUB_SIZE 16

	.code64
	.text

/* Exceptions for which the CPU pushes an error code: #DF #TS #NP #SS #GP #PF #AC #CP #VC #SX. */
.macro trap_stub vec
	.balign TRAP_STUB_SIZE
	.if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$\vec
	jmp	trap_common
.endm

	.balign TRAP_STUB_SIZE
	.globl	trap_stubs
trap_stubs:
	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	trap_stub \vec
	.endr
	.irp vec, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	trap_stub \vec
	.endr
	.balign TRAP_STUB_SIZE

/*
 * 5 words pushed by the CPU (RSP 16-byte aligned first) + error code +
 * vector + 9 registers = 16 words: RSP is 16-byte aligned at the call.
 */
trap_common:
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	movq	%rsp, %rdi
	cld
	call	trap_dispatch
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rax
	addq	$16, %rsp	/* vector and error code */
	iretq

	.section .note.GNU-stack, "", @progbits
