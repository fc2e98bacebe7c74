/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The two cascaded 8259A interrupt controllers, initialised as Linux's
 * init_8259A() does: edge triggered, master at vectors 0x20-0x27, slave at
 * 0x28-0x2f, slave on master IR2, 8086 mode, normal (not auto) EOI.
 */
#ifndef GUEST_PIC_H
#define GUEST_PIC_H

#include "types.h"

/* Initialise both PICs with every IRQ masked. */
void pic_init(void);

/* Let @irq (0-7: master only; the guest needs no slave IRQ) through. */
void pic_unmask(unsigned int irq);

/* Specific EOI for @irq. */
void pic_eoi(unsigned int irq);

/*
 * IRQ 7 and 15 are also what the PIC reports when a request went away
 * before it was acknowledged; such a spurious IRQ is not in service and
 * must not be EOI'd (it would end another IRQ's service).
 */
bool pic_is_spurious(unsigned int irq);

#endif
