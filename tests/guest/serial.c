// SPDX-License-Identifier: Apache-2.0
#include "io.h"
#include "serial.h"

#define COM1 0x3f8

/* Register offsets (the subset of <linux/serial_reg.h> used here). */
#define UART_RX	 0 /* in:  receive buffer (DLAB=0) */
#define UART_TX	 0 /* out: transmit holding (DLAB=0) */
#define UART_DLL 0 /* out: divisor latch low (DLAB=1) */
#define UART_DLM 1 /* out: divisor latch high (DLAB=1) */
#define UART_IER 1 /* out: interrupt enable (DLAB=0) */
#define UART_IIR 2 /* in:  interrupt identification */
#define UART_FCR 2 /* out: FIFO control */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* in:  line status */
#define UART_MSR 6 /* in:  modem status */

#define UART_IER_RDI	     0x01
#define UART_FCR_ENABLE_FIFO 0x01
#define UART_FCR_CLEAR_RCVR  0x02
#define UART_FCR_CLEAR_XMIT  0x04
#define UART_LCR_WLEN8	     0x03
#define UART_LCR_DLAB	     0x80
#define UART_MCR_DTR	     0x01
#define UART_MCR_RTS	     0x02
#define UART_MCR_OUT2	     0x08
#define UART_LSR_DR	     0x01
#define UART_LSR_THRE	     0x20

#define UART_CLOCK_HZ 1843200
#define UART_BAUD     115200
#define UART_DIVISOR  (UART_CLOCK_HZ / 16 / UART_BAUD)

/*
 * Polls of LSR before giving up on THRE and writing anyway, like the 8250
 * driver's bounded wait_for_xmitr(): a stuck UART must not hang the guest.
 */
#define THRE_MAX_POLLS 100000

void serial_init(void)
{
	outb(0, COM1 + UART_IER);
	outb(UART_LCR_DLAB, COM1 + UART_LCR);
	outb(UART_DIVISOR & 0xff, COM1 + UART_DLL);
	outb(UART_DIVISOR >> 8, COM1 + UART_DLM);
	outb(UART_LCR_WLEN8, COM1 + UART_LCR);
	outb(UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT, COM1 + UART_FCR);
	outb(UART_MCR_OUT2 | UART_MCR_RTS | UART_MCR_DTR, COM1 + UART_MCR);
	/* As serial8250_startup(): read the status registers once to clear stale state. */
	(void)inb(COM1 + UART_LSR);
	(void)inb(COM1 + UART_IIR);
	(void)inb(COM1 + UART_MSR);
}

void serial_putc(char c)
{
	unsigned int polls = 0;

	while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE) && ++polls < THRE_MAX_POLLS)
		cpu_pause();
	outb((uint8_t)c, COM1 + UART_TX);
}

void serial_enable_rx_irq(void)
{
	outb(UART_IER_RDI, COM1 + UART_IER);
}

bool serial_getc(uint8_t *c)
{
	if (!(inb(COM1 + UART_LSR) & UART_LSR_DR))
		return false;
	*c = inb(COM1 + UART_RX);
	return true;
}
