/* SPDX-License-Identifier: Apache-2.0 */
/*
 * 16550A UART (COM1), as Linux's 8250 driver drives it and as Firecracker's
 * serial (vm-superio) presents it. Register at LAYOUT_COM1_PORT, length 8:
 *
 *	bus_register(&pio_bus, LAYOUT_COM1_PORT, SERIAL_NR_REGS, &serial_bus_ops, serial);
 *
 * Threads: the bus ops run on vCPU threads; serial_enqueue_input() and
 * serial_rx_space() on the VMM thread. The device serialises itself.
 *
 * Output: each byte written to THR goes straight to out_fd (-1 = discard).
 * The serial never closes out_fd; the caller keeps it open until
 * serial_destroy(). A consumer that stops reading must not wedge a vCPU, so
 * when out_fd is a blocking pipe/tty/socket the device waits at most
 * SERIAL_OUT_WAIT_MS for it to become writable; after one such timeout it
 * drops bytes without waiting (uart.missed_write_count) until the fd is
 * writable again. Regular files and O_NONBLOCK fds are written directly.
 * Writing to a pipe whose reader is gone raises SIGPIPE: the VMM must ignore
 * SIGPIPE (the error is then counted in uart.error_count). An output limit
 * (serial_set_out_limit(), PUT /serial's rate_limiter) drops the bytes over
 * its rate before they reach out_fd, as Firecracker does, and counts them in
 * uart.rate_limiter_dropped_bytes; to the guest they were sent.
 *
 * Input (VMM thread):
 *	n = serial_rx_space(s);		// 0 while the FIFO is full or in loopback
 *	if (n == 0) stop polling stdin;	// resumed from the rx-ready callback
 *	else { read up to n bytes from stdin; serial_enqueue_input(s, buf, got); }
 * When serial_rx_space() returned 0, or serial_enqueue_input() left the FIFO
 * full, the device calls the rx-ready callback exactly once as soon as space
 * is available again (guest read, FIFO reset, leaving loopback). It runs on
 * the thread that freed the space (a vCPU), without the device lock held, so
 * it may call back into the serial; it should just wake the VMM thread (e.g.
 * write an eventfd) which then polls stdin again. Reading at most
 * serial_rx_space() bytes means no input byte is ever lost.
 *
 * Simplifications (as in vm-superio): the RX FIFO is 64 bytes whether or not
 * the guest enabled FIFO mode, the RX trigger level is not modelled (data
 * available interrupts as soon as a byte is there) and the modem status delta
 * bits stay 0.
 */
#ifndef EMBER_SERIAL_H
#define EMBER_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include <linux/serial_reg.h>

#include "devices/bus.h"
#include "devices/irq.h"

#define SERIAL_NR_REGS	   8
#define SERIAL_FIFO_SIZE   64
#define SERIAL_OUT_WAIT_MS 100

/* Ember-specific bits; the register map itself comes from <linux/serial_reg.h>. */
#define SERIAL_IER_MASK 0x0f /* IER bits a 16550A implements */
#define SERIAL_IIR_FIFO 0xc0 /* IIR: FIFOs enabled */
#define SERIAL_MCR_MASK 0x1f /* MCR bits a 16550A implements */

struct serial;

/* @irq is copied. NULL on allocation failure. */
struct serial *serial_create(int out_fd, const struct irq_line *irq);
void serial_destroy(struct serial *serial);

extern const struct bus_device_ops serial_bus_ops;

/* Free RX FIFO slots; 0 while full or in loopback (arms the rx-ready callback). */
size_t serial_rx_space(struct serial *serial);
/* Queue up to serial_rx_space() bytes of input; returns the number taken. */
int serial_enqueue_input(struct serial *serial, const uint8_t *buf, size_t len);

struct vmstate_writer;
struct vmstate_reader;

/*
 * Snapshots: the registers, the RX FIFO and the interrupt state, i.e. all
 * the guest can observe. The output fd and the stdin plumbing stay the new
 * process's. Restore expects the vCPUs not to run yet. 0 or -EINVAL.
 */
void serial_save(struct serial *serial, struct vmstate_writer *w);
int serial_restore(struct serial *serial, struct vmstate_reader *r);

struct token_bucket_config;
/*
 * Limit the output to @cfg's rate, in bytes (a full bucket from now; NULL,
 * or size or refill_time 0: no limit). Set before the vCPUs run.
 */
void serial_set_out_limit(struct serial *serial, const struct token_bucket_config *cfg);

typedef void (*serial_rx_ready_cb)(void *ctx);
/* Set before the vCPUs run (or pass NULL to remove). See the header comment. */
void serial_set_rx_ready_cb(struct serial *serial, serial_rx_ready_cb cb, void *ctx);

#endif
