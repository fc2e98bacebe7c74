// SPDX-License-Identifier: Apache-2.0
#include "io.h"
#include "kbd.h"

#define I8042_DATA    0x60
#define I8042_STATUS  0x64
#define I8042_COMMAND 0x64

#define I8042_STR_OBF 0x01 /* output buffer full: a byte waits on the data port */
#define I8042_STR_IBF 0x02 /* input buffer full: the controller has not taken the last write */

#define I8042_CMD_CTL_RCTR 0x20 /* read the command byte */
#define I8042_CMD_CTL_WCTR 0x60 /* write the command byte (parameter on the data port) */
#define I8042_CTR_KBDINT   0x01

/* Linux's i8042 gives up on the controller after this many polls, and so does the guest. */
#define I8042_MAX_POLLS 0x10000
/* Bytes i8042_flush() drops at most, like Linux's I8042_BUFFER_SIZE. */
#define I8042_FLUSH_MAX 16

static bool i8042_wait_write(void)
{
	unsigned int polls;

	for (polls = 0; polls < I8042_MAX_POLLS; polls++) {
		if (!(inb(I8042_STATUS) & I8042_STR_IBF))
			return true;
		cpu_pause();
	}
	return false;
}

static bool i8042_wait_read(void)
{
	unsigned int polls;

	for (polls = 0; polls < I8042_MAX_POLLS; polls++) {
		if (inb(I8042_STATUS) & I8042_STR_OBF)
			return true;
		cpu_pause();
	}
	return false;
}

/* Drop whatever the controller buffered before the driver took over. */
static void i8042_flush(void)
{
	uint8_t c;
	unsigned int n;

	for (n = 0; n < I8042_FLUSH_MAX && kbd_getc(&c); n++)
		;
}

bool kbd_enable_irq(void)
{
	uint8_t ctr;

	i8042_flush();
	if (!i8042_wait_write())
		return false;
	outb(I8042_CMD_CTL_RCTR, I8042_COMMAND);
	if (!i8042_wait_read())
		return false;
	ctr = inb(I8042_DATA);

	if (!i8042_wait_write())
		return false;
	outb(I8042_CMD_CTL_WCTR, I8042_COMMAND);
	if (!i8042_wait_write())
		return false;
	outb(ctr | I8042_CTR_KBDINT, I8042_DATA);
	return i8042_wait_write();
}

bool kbd_getc(uint8_t *c)
{
	if (!(inb(I8042_STATUS) & I8042_STR_OBF))
		return false;
	*c = inb(I8042_DATA);
	return true;
}
