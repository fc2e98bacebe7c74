// SPDX-License-Identifier: Apache-2.0
/*
 * i8042 keyboard controller, Firecracker's model: a status register, the
 * control register and output port behind their two-step commands, a
 * 16-byte output buffer, an ACK for anything sent to the keyboard, CPU reset
 * via 0xFE, plus the controller and keyboard-interface self tests Linux runs.
 */
#include "devices/legacy/i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "vmm/base/vmstate.h"

static const uint8_t ctrl_alt_del[I8042_CAD_LEN] = {0x14, 0x11, 0xe0, 0x71};

struct i8042 {
	pthread_mutex_t lock;
	struct irq_line irq;
	bool irq_level; /* the level last set on @irq */
	i8042_reset_cb reset;
	void *reset_ctx;

	uint8_t status;
	uint8_t control;
	uint8_t outp;
	uint8_t cmd; /* the command waiting for its parameter */

	uint8_t buf[I8042_BUF_SIZE];
	unsigned int head, count;
};

static void i8042_set_irq(struct i8042 *k, bool level)
{
	int ret = irq_line_set(&k->irq, level);

	if (ret) {
		metric_inc(&g_metrics.i8042.error_count);
		log_error("i8042: cannot set IRQ %u to %d: %s", k->irq.gsi, level, strerror(-ret));
		return;
	}
	k->irq_level = level;
}

/*
 * Make IRQ 1 follow "output buffer full and interrupt enabled". When
 * @new_byte put a fresh byte in front while the line was already high,
 * drop it first so the guest's edge-triggered controller sees the byte.
 */
static void i8042_update_irq(struct i8042 *k, bool new_byte)
{
	bool level = (k->status & I8042_STR_OBF) && (k->control & I8042_CTR_KBD_INT);

	if (level && k->irq_level && new_byte)
		i8042_set_irq(k, false);
	if (level != k->irq_level)
		i8042_set_irq(k, level);
}

static void i8042_flush(struct i8042 *k)
{
	k->head = 0;
	k->count = 0;
	k->status &= ~I8042_STR_OBF;
}

static int i8042_push(struct i8042 *k, uint8_t byte)
{
	if (k->count == I8042_BUF_SIZE)
		return -EBUSY;
	k->buf[(k->head + k->count) % I8042_BUF_SIZE] = byte;
	k->count++;
	k->status |= I8042_STR_OBF;
	return 0;
}

/* The guest reads 0 from an empty buffer. */
static uint8_t i8042_pop(struct i8042 *k)
{
	uint8_t byte;

	if (!k->count)
		return 0;
	byte = k->buf[k->head];
	k->head = (k->head + 1) % I8042_BUF_SIZE;
	if (--k->count == 0)
		k->status &= ~I8042_STR_OBF;
	return byte;
}

/* A command whose only answer is @byte: nothing older may be read before it. */
static void i8042_respond(struct i8042 *k, uint8_t byte)
{
	i8042_flush(k);
	i8042_push(k, byte); /* cannot fail: the buffer was just emptied */
	i8042_update_irq(k, true);
}

static void i8042_expect_param(struct i8042 *k, uint8_t cmd)
{
	k->status |= I8042_STR_CMD_DATA;
	k->cmd = cmd;
}

/* false when the command is not one this controller knows. */
static bool i8042_command(struct i8042 *k, uint8_t cmd, bool *reset)
{
	switch (cmd) {
	case I8042_CMD_RESET_CPU:
		metric_inc(&g_metrics.i8042.reset_count);
		*reset = true;
		return true;
	case I8042_CMD_READ_CTR:
		i8042_respond(k, k->control);
		return true;
	case I8042_CMD_WRITE_CTR:
		i8042_flush(k);
		i8042_update_irq(k, false);
		i8042_expect_param(k, cmd);
		return true;
	case I8042_CMD_READ_OUTP:
		i8042_respond(k, k->outp);
		return true;
	case I8042_CMD_WRITE_OUTP:
		i8042_expect_param(k, cmd);
		return true;
	case I8042_CMD_SELF_TEST:
		i8042_respond(k, I8042_SELF_TEST_OK);
		return true;
	case I8042_CMD_KBD_TEST:
		i8042_respond(k, I8042_KBD_TEST_OK);
		return true;
	default:
		return false;
	}
}

static void i8042_write_data(struct i8042 *k, uint8_t value)
{
	if (k->status & I8042_STR_CMD_DATA) {
		/* The parameter of a two-step controller command. */
		if (k->cmd == I8042_CMD_WRITE_CTR)
			k->control = value;
		else if (k->cmd == I8042_CMD_WRITE_OUTP)
			k->outp = value;
		k->status &= ~I8042_STR_CMD_DATA;
		i8042_update_irq(k, false); /* the interrupt enable may have changed */
		return;
	}
	/* A command for the keyboard itself: this keyboard acknowledges everything. */
	i8042_respond(k, I8042_KBD_ACK);
}

static void i8042_bus_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct i8042 *k = dev;

	memset(data, 0, len);
	/* Both ports are byte wide. */
	if (len != 1 || (offset != I8042_DATA_OFFSET && offset != I8042_CMD_OFFSET)) {
		metric_inc(&g_metrics.i8042.missed_read_count);
		return;
	}
	pthread_mutex_lock(&k->lock);
	if (offset == I8042_CMD_OFFSET) {
		data[0] = k->status;
	} else {
		data[0] = i8042_pop(k);
		i8042_update_irq(k, true);
	}
	pthread_mutex_unlock(&k->lock);
	metric_inc(&g_metrics.i8042.read_count);
}

static void i8042_bus_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct i8042 *k = dev;
	bool reset = false, handled = true;

	if (len != 1 || (offset != I8042_DATA_OFFSET && offset != I8042_CMD_OFFSET)) {
		metric_inc(&g_metrics.i8042.missed_write_count);
		return;
	}
	pthread_mutex_lock(&k->lock);
	if (offset == I8042_CMD_OFFSET)
		handled = i8042_command(k, data[0], &reset);
	else
		i8042_write_data(k, data[0]);
	pthread_mutex_unlock(&k->lock);

	metric_inc(handled ? &g_metrics.i8042.write_count : &g_metrics.i8042.missed_write_count);
	/* Outside the lock: the VMM's handler may tear everything down. */
	if (reset && k->reset)
		k->reset(k->reset_ctx);
}

const struct bus_device_ops i8042_bus_ops = {.read = i8042_bus_read, .write = i8042_bus_write};

struct i8042 *i8042_create(const struct irq_line *irq, i8042_reset_cb reset, void *reset_ctx)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	pthread_mutex_init(&k->lock, NULL);
	if (irq)
		k->irq = *irq;
	k->reset = reset;
	k->reset_ctx = reset_ctx;
	k->status = I8042_STR_KBD_ENABLED;
	k->control = I8042_CTR_POST_OK | I8042_CTR_KBD_INT;
	return k;
}

void i8042_destroy(struct i8042 *i8042)
{
	if (!i8042)
		return;
	pthread_mutex_destroy(&i8042->lock);
	free(i8042);
}

int i8042_send_ctrl_alt_del(struct i8042 *i8042)
{
	struct i8042 *k = i8042;

	pthread_mutex_lock(&k->lock);
	if (I8042_BUF_SIZE - k->count < I8042_CAD_LEN) {
		pthread_mutex_unlock(&k->lock);
		return -EBUSY;
	}
	for (unsigned int i = 0; i < I8042_CAD_LEN; i++)
		i8042_push(k, ctrl_alt_del[i]);
	/* Firecracker queues the keys anyway; the guest may poll for them. */
	if (!(k->control & I8042_CTR_KBD_INT))
		log_warn("i8042: keyboard interrupt disabled by the guest driver");
	i8042_update_irq(k, false);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

void i8042_save(struct i8042 *i8042, struct vmstate_writer *w)
{
	struct i8042 *k = i8042;

	pthread_mutex_lock(&k->lock);
	vmstate_put_u8(w, k->status);
	vmstate_put_u8(w, k->control);
	vmstate_put_u8(w, k->outp);
	vmstate_put_u8(w, k->cmd);
	vmstate_put_bool(w, k->irq_level);
	/* The buffer in read order. */
	vmstate_put_u32(w, k->count);
	for (unsigned int i = 0; i < k->count; i++)
		vmstate_put_u8(w, k->buf[(k->head + i) % I8042_BUF_SIZE]);
	pthread_mutex_unlock(&k->lock);
}

int i8042_restore(struct i8042 *i8042, struct vmstate_reader *r)
{
	struct i8042 *k = i8042;
	uint8_t status, control, outp, cmd, buf[I8042_BUF_SIZE];
	uint32_t count;
	bool irq_level;

	status = vmstate_get_u8(r);
	control = vmstate_get_u8(r);
	outp = vmstate_get_u8(r);
	cmd = vmstate_get_u8(r);
	irq_level = vmstate_get_bool(r);
	count = vmstate_get_u32(r);
	if (!r->err && count > I8042_BUF_SIZE)
		return -EINVAL;
	vmstate_get_bytes(r, buf, count);
	if (r->err)
		return r->err;
	pthread_mutex_lock(&k->lock);
	k->status = status;
	k->control = control;
	k->outp = outp;
	k->cmd = cmd;
	k->irq_level = irq_level; /* what the restored irqchip last saw */
	memcpy(k->buf, buf, count);
	k->head = 0;
	k->count = count;
	/* OBF follows the buffer, whatever the file said. */
	if (count)
		k->status |= I8042_STR_OBF;
	else
		k->status &= ~I8042_STR_OBF;
	pthread_mutex_unlock(&k->lock);
	return 0;
}
