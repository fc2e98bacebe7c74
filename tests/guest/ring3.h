/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running a piece of the guest at CPL 3. On hosts where KVM emulates guest
 * kernel code, user-mode code runs natively, so work that needs speed (a
 * benchmark loop) goes there. The kernel image (code, data, stacks) is made
 * user-accessible as a whole: this is a test kernel with one program, not an
 * operating system protecting itself. Ring-3 code may touch memory and MMIO
 * pages made accessible with paging_allow_user(), never I/O ports (IOPL 0,
 * no I/O bitmap), and it leaves ring 3 only through ring3_exit().
 */
#ifndef GUEST_RING3_H
#define GUEST_RING3_H

#include "types.h"

/* Selectors from entry.S's GDT, with the requested privilege level. */
#define USER_DS	   (0x20 | 3)
#define USER_CS	   (0x28 | 3)
#define KERNEL_TSS 0x30

typedef void (*ring3_fn)(uint64_t arg);
typedef void (*ring3_exit_fn)(uint64_t result);

/*
 * Load the TSS (its RSP0 is the stack exceptions from ring 3 arrive on),
 * hook the exception ring3_exit() raises, make the kernel image
 * user-accessible and clear the CR4 bits that would stop the kernel from
 * running code on user pages (SMEP, SMAP) or ring 3 from reading the TSC.
 */
void ring3_init(void);

/*
 * Call @fn(@arg) at CPL 3 on @stack_top with interrupts disabled. When it
 * calls ring3_exit(result), @on_exit(result) runs at CPL 0 on the TSS stack.
 * Neither returns.
 */
__noreturn void ring3_run(ring3_fn fn, uint64_t arg, void *stack_top, ring3_exit_fn on_exit);

/* From ring 3: back to the kernel's @on_exit, through a #UD at a known address (ring3_entry.S). */
__noreturn void ring3_exit(uint64_t result);

#endif
