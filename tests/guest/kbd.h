/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keyboard side of the i8042 controller, the way Linux's i8042 driver
 * sets it up: flush the output buffer, read the command byte ("control
 * register"), set its keyboard-interrupt bit and write it back. Scancodes
 * then arrive one per IRQ 1 on the data port; the controller does no
 * translation here (the VMM sends scancode set 2).
 */
#ifndef GUEST_KBD_H
#define GUEST_KBD_H

#include "types.h"

#define KBD_IRQ 1

/*
 * Enable IRQ 1 for keyboard bytes. False when the controller does not answer
 * the command-byte read within a bounded number of polls.
 */
bool kbd_enable_irq(void);

/* Read one byte from the output buffer into @c; false when it is empty (status OBF clear). */
bool kbd_getc(uint8_t *c);

#endif
