/* SPDX-License-Identifier: Apache-2.0 */
/* The 8254 PIT's channel 0 as the periodic timer on IRQ 0. */
#ifndef GUEST_PIT_H
#define GUEST_PIT_H

#define PIT_IRQ 0
#define PIT_HZ	100

/* Channel 0, mode 2 (rate generator), PIT_HZ interrupts per second. */
void pit_start_periodic(void);

#endif
