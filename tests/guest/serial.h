/* SPDX-License-Identifier: Apache-2.0 */
/*
 * COM1, a 16550A UART at port 0x3f8 (IRQ 4), driven the way Linux's 8250
 * driver drives it: 8n1 at 115200 baud, FIFOs on, OUT2 set so the UART's
 * interrupt reaches the PIC, and polled transmit (wait for THRE per byte).
 */
#ifndef GUEST_SERIAL_H
#define GUEST_SERIAL_H

#include "types.h"

#define SERIAL_IRQ 4

void serial_init(void);
void serial_putc(char c);

/* Interrupt when received data is available (IER.RDI); nothing else. */
void serial_enable_rx_irq(void);

/* Read one received byte into @c; false when the receiver is empty (LSR.DR clear). */
bool serial_getc(uint8_t *c);

#endif
