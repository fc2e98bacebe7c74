/* SPDX-License-Identifier: Apache-2.0 */
/*
 * i8042 PS/2 controller with a keyboard that only ever sends Ctrl+Alt+Del,
 * with Firecracker's semantics: just enough for the guest to be asked to
 * shut down (SendCtrlAltDel) and to reset the machine (command 0xFE).
 * Registered as one range covering ports 0x60..0x64, as Firecracker does:
 *
 *	bus_register(&pio_bus, LAYOUT_I8042_PORT, I8042_NR_PORTS, &i8042_bus_ops, i8042);
 *
 * offset 0 = data port (0x60), offset 4 = status/command port (0x64).
 * The bus ops run on vCPU threads, i8042_send_ctrl_alt_del() on the VMM
 * thread; the device serialises itself.
 *
 * IRQ 1 is driven as a level: high while the output buffer holds a byte and
 * the guest enabled the keyboard interrupt (control register bit 0). Reading
 * the data port while more bytes remain drops and raises the line again, so
 * the edge-detecting PIC/IOAPIC delivers one interrupt per byte, as a real
 * 8042 does.
 */
#ifndef EMBER_I8042_H
#define EMBER_I8042_H

#include <stdint.h>

#include "devices/bus.h"
#include "devices/irq.h"

#define I8042_NR_PORTS	  5
#define I8042_DATA_OFFSET 0 /* port 0x60 */
#define I8042_CMD_OFFSET  4 /* port 0x64: status (read), command (write) */
#define I8042_BUF_SIZE	  16

/* Controller commands (written to port 0x64). */
#define I8042_CMD_READ_CTR   0x20
#define I8042_CMD_WRITE_CTR  0x60
#define I8042_CMD_SELF_TEST  0xaa
#define I8042_CMD_KBD_TEST   0xab
#define I8042_CMD_READ_OUTP  0xd0
#define I8042_CMD_WRITE_OUTP 0xd1
#define I8042_CMD_RESET_CPU  0xfe

#define I8042_SELF_TEST_OK 0x55
#define I8042_KBD_TEST_OK  0x00
#define I8042_KBD_ACK	   0xfa

/* Status register bits. */
#define I8042_STR_OBF	      0x01 /* output buffer full: read port 0x60 */
#define I8042_STR_CMD_DATA    0x08 /* a command waits for its parameter on 0x60 */
#define I8042_STR_KBD_ENABLED 0x10 /* keyboard not inhibited */

/* Control register ("command byte") bits. */
#define I8042_CTR_KBD_INT 0x01
#define I8042_CTR_POST_OK 0x04

/*
 * The Ctrl+Alt+Del make codes Firecracker sends, in scancode set 2 (the
 * controller does no translation: control register bit 6 is clear):
 * Ctrl 0x14, Alt 0x11, Del 0xe0 0x71. No break codes follow.
 */
#define I8042_CAD_LEN 4

typedef void (*i8042_reset_cb)(void *ctx);

struct i8042;

/*
 * @irq (copied) is the keyboard line, IRQ 1. @reset runs on the vCPU thread
 * that wrote 0xFE, without the device lock held; the VMM ends the process
 * with exit code 0. NULL on allocation failure.
 */
struct i8042 *i8042_create(const struct irq_line *irq, i8042_reset_cb reset, void *reset_ctx);
void i8042_destroy(struct i8042 *i8042);

extern const struct bus_device_ops i8042_bus_ops;

/*
 * Queue Ctrl+Alt+Del and raise IRQ 1 (if the guest enabled it). 0, or
 * -EBUSY when the internal buffer cannot take the whole sequence.
 */
int i8042_send_ctrl_alt_del(struct i8042 *i8042);

struct vmstate_writer;
struct vmstate_reader;

/*
 * Snapshots: status, control and output port, a command waiting for its
 * parameter, the output buffer and the IRQ level. Restore expects the vCPUs
 * not to run yet. 0 or -EINVAL.
 */
void i8042_save(struct i8042 *i8042, struct vmstate_writer *w);
int i8042_restore(struct i8042 *i8042, struct vmstate_reader *r);

#endif
