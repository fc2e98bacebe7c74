/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interrupt descriptor table and trap dispatch. Vectors 0-31 are CPU
 * exceptions (fatal: reported, then the machine resets, as Linux does with
 * panic=1 reboot=k); vectors 0x20-0x2f are the remapped 8259 IRQs, handed to
 * the handler registered for the IRQ and then acknowledged at the PIC.
 *
 * The low-level entry stubs are in trap_entry.S; they save the registers the
 * C calling convention lets a callee clobber, so handlers are plain C.
 */
#ifndef GUEST_TRAPS_H
#define GUEST_TRAPS_H

#include "types.h"

#define NR_EXCEPTION_VECTORS 32
#define IRQ_VECTOR_BASE	     0x20 /* master 8259 at 0x20, slave at 0x28 */
#define NR_IRQS		     16
#define NR_STUB_VECTORS	     (IRQ_VECTOR_BASE + NR_IRQS)

/* Stack layout built by trap_entry.S, lowest address first. */
struct trap_frame {
	uint64_t r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
	uint64_t vector;
	uint64_t error_code; /* 0 for vectors without one */
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*irq_handler_t)(void);

/* Load the IDT with every exception and IRQ vector present. */
void traps_init(void);

/* Run @handler for @irq (0-15) from now on. Call with interrupts disabled. */
void irq_set_handler(unsigned int irq, irq_handler_t handler);

/*
 * Exceptions raised at CPL 3 go to @hook first; it returns false for those
 * it does not handle, which then panic like any other.
 */
typedef bool (*user_trap_hook_t)(const struct trap_frame *frame);
void traps_set_user_hook(user_trap_hook_t hook);

/* Load an IDT with limit 0: the next exception cannot be delivered. */
void traps_load_empty_idt(void);

/* Called by trap_entry.S. */
void trap_dispatch(struct trap_frame *frame);

#endif
