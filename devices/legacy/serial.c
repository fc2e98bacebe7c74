// SPDX-License-Identifier: Apache-2.0
/*
 * 16550A UART. Output is immediate, so THR and the transmitter are always
 * empty; the interesting state is the RX FIFO, the interrupt sources and the
 * loopback mode Linux's autoconfig probes. The IRQ line follows "an enabled
 * source is pending" (level); the in-kernel PIC/IOAPIC does edge detection,
 * as on a real ISA board.
 */
#include "devices/legacy/serial.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "vmm/base/vmstate.h"
#include "devices/rate_limiter.h"

/* What the registers hold after reset, as in vm-superio: 9600 8N1, OUT2 on. */
#define SERIAL_DEFAULT_DLL 0x0c
#define SERIAL_DEFAULT_LCR 0x03
#define SERIAL_DEFAULT_MCR UART_MCR_OUT2
/* Nothing drives the modem lines: report a connected, ready peer. */
#define SERIAL_DEFAULT_MSR (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS)

/* A stuck output consumer is retried this often before the byte is dropped. */
#define SERIAL_OUT_ATTEMPTS 4

struct serial {
	pthread_mutex_t lock;
	struct irq_line irq;
	bool irq_level; /* the level last set on @irq */

	int out_fd;	  /* -1: discard; not owned */
	bool out_poll;	  /* blocking pipe/tty/socket: poll before writing */
	bool out_stalled; /* a wait timed out: drop until writable again */
	bool out_error_logged;
	struct token_bucket out_limit; /* disabled: no limit */

	serial_rx_ready_cb rx_ready;
	void *rx_ready_ctx;
	bool rx_waiting; /* the VMM saw no space and waits for the callback */

	uint8_t rx_fifo[SERIAL_FIFO_SIZE];
	unsigned int rx_head, rx_count;

	uint8_t dll, dlm, ier, lcr, mcr, scr;
	bool fifo_enabled;
	bool overrun;	   /* LSR.OE, cleared by reading LSR */
	bool thre_pending; /* THR-empty interrupt not yet acknowledged */
};

static bool serial_loopback(const struct serial *s)
{
	return s->mcr & UART_MCR_LOOP;
}

static bool serial_dlab(const struct serial *s)
{
	return s->lcr & UART_LCR_DLAB;
}

static size_t serial_space_locked(const struct serial *s)
{
	/* In loopback the receiver is cut off from the outside world. */
	return serial_loopback(s) ? 0 : SERIAL_FIFO_SIZE - s->rx_count;
}

/* Highest-priority enabled pending source, as IIR reports it. */
static uint8_t serial_iir_id(const struct serial *s)
{
	if ((s->ier & UART_IER_RLSI) && s->overrun)
		return UART_IIR_RLSI;
	if ((s->ier & UART_IER_RDI) && s->rx_count)
		return UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thre_pending)
		return UART_IIR_THRI;
	return UART_IIR_NO_INT;
}

static void serial_update_irq(struct serial *s)
{
	bool level = serial_iir_id(s) != UART_IIR_NO_INT;
	int ret;

	if (level == s->irq_level)
		return;
	ret = irq_line_set(&s->irq, level);
	if (ret) {
		/* Keep the old level so the next update retries. */
		metric_inc(&g_metrics.uart.error_count);
		log_error("serial: cannot set IRQ %u to %d: %s", s->irq.gsi, level, strerror(-ret));
		return;
	}
	s->irq_level = level;
}

/*
 * Space became available: if the VMM is waiting for it, tell the caller to
 * run the rx-ready callback once the lock is dropped.
 */
static bool serial_take_rx_ready(struct serial *s)
{
	if (!s->rx_waiting || serial_space_locked(s) == 0)
		return false;
	s->rx_waiting = false;
	return s->rx_ready != NULL;
}

static void serial_rx_clear(struct serial *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
}

static void serial_rx_push(struct serial *s, uint8_t byte)
{
	if (s->rx_count == SERIAL_FIFO_SIZE) {
		s->overrun = true; /* the new byte is lost, as on a 16550A */
		return;
	}
	s->rx_fifo[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = byte;
	s->rx_count++;
}

static uint8_t serial_rx_pop(struct serial *s)
{
	uint8_t byte;

	metric_inc(&g_metrics.uart.read_count);
	if (!s->rx_count)
		return 0;
	byte = s->rx_fifo[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
	s->rx_count--;
	return byte;
}

/* 1: out_fd takes a byte now; 0: not within the allowed wait; -errno: broken. */
static int serial_out_wait(struct serial *s)
{
	struct pollfd pfd = {.fd = s->out_fd, .events = POLLOUT};
	int ret;

	do {
		ret = poll(&pfd, 1, s->out_stalled ? 0 : SERIAL_OUT_WAIT_MS);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	if (ret == 0)
		return 0;
	if (pfd.revents & POLLOUT)
		return 1;
	return (pfd.revents & POLLNVAL) ? -EBADF : -EPIPE;
}

static void serial_out_lost(struct serial *s, int err)
{
	metric_inc(&g_metrics.uart.missed_write_count);
	if (err == 0) {
		if (!s->out_stalled)
			log_warn("serial: output not writable for %d ms, dropping guest output",
				 SERIAL_OUT_WAIT_MS);
		s->out_stalled = true;
		return;
	}
	metric_inc(&g_metrics.uart.error_count);
	if (!s->out_error_logged)
		log_error("serial: cannot write guest output: %s", strerror(-err));
	s->out_error_logged = true;
}

static void serial_out_byte(struct serial *s, uint8_t byte)
{
	int ready = 1;

	if (s->out_fd < 0) {
		metric_inc(&g_metrics.uart.write_count); /* discarding is success */
		return;
	}
	/*
	 * Over the rate: dropped. To the guest (and in write_count, as in
	 * Firecracker, whose SerialOut reports it written) it went out.
	 */
	if (s->out_limit.enabled && !token_bucket_take(&s->out_limit, 1, rate_limiter_now_ns())) {
		metric_inc(&g_metrics.uart.rate_limiter_dropped_bytes);
		metric_inc(&g_metrics.uart.write_count);
		return;
	}
	for (int attempt = 0; attempt < SERIAL_OUT_ATTEMPTS; attempt++) {
		ssize_t n;

		if (s->out_poll || ready == 0) {
			ready = serial_out_wait(s);
			if (ready <= 0)
				break;
		}
		n = write(s->out_fd, &byte, 1);
		if (n == 1) {
			s->out_stalled = false;
			metric_inc(&g_metrics.uart.write_count);
			return;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ready = 0; /* wait (bounded) and try again */
			continue;
		}
		ready = n < 0 ? -errno : -EIO;
		break;
	}
	serial_out_lost(s, ready > 0 ? 0 : ready);
}

static void serial_write_thr(struct serial *s, uint8_t byte)
{
	if (serial_loopback(s))
		serial_rx_push(s, byte);
	else
		serial_out_byte(s, byte);
	/* The byte left THR at once, so THR is empty again. */
	s->thre_pending = true;
}

static void serial_write_ier(struct serial *s, uint8_t value)
{
	bool thri_was_enabled = s->ier & UART_IER_THRI;

	s->ier = value & SERIAL_IER_MASK;
	/* Enabling the THR-empty interrupt while THR is empty raises it (Linux tests this). */
	if (!thri_was_enabled && (s->ier & UART_IER_THRI))
		s->thre_pending = true;
}

static void serial_write_fcr(struct serial *s, uint8_t value)
{
	if (!(value & UART_FCR_ENABLE_FIFO)) {
		/* Turning the FIFOs off empties them; other bits need FCR0 set. */
		if (s->fifo_enabled)
			serial_rx_clear(s);
		s->fifo_enabled = false;
		return;
	}
	s->fifo_enabled = true;
	if (value & UART_FCR_CLEAR_RCVR)
		serial_rx_clear(s);
}

static uint8_t serial_read_iir(struct serial *s)
{
	uint8_t id = serial_iir_id(s);

	/* Reading IIR acknowledges a THR-empty interrupt it reports. */
	if (id == UART_IIR_THRI)
		s->thre_pending = false;
	return id | (s->fifo_enabled ? SERIAL_IIR_FIFO : 0);
}

static uint8_t serial_read_lsr(struct serial *s)
{
	uint8_t lsr = UART_LSR_THRE | UART_LSR_TEMT;

	if (s->rx_count)
		lsr |= UART_LSR_DR;
	if (s->overrun)
		lsr |= UART_LSR_OE;
	s->overrun = false; /* error bits clear on read */
	return lsr;
}

static uint8_t serial_read_msr(const struct serial *s)
{
	uint8_t msr = 0;

	if (!serial_loopback(s))
		return SERIAL_DEFAULT_MSR;
	/* Loopback wires the modem outputs back to the inputs. */
	if (s->mcr & UART_MCR_DTR)
		msr |= UART_MSR_DSR;
	if (s->mcr & UART_MCR_RTS)
		msr |= UART_MSR_CTS;
	if (s->mcr & UART_MCR_OUT1)
		msr |= UART_MSR_RI;
	if (s->mcr & UART_MCR_OUT2)
		msr |= UART_MSR_DCD;
	return msr;
}

static uint8_t serial_read_reg(struct serial *s, uint64_t offset)
{
	switch (offset) {
	case UART_RX:
		return serial_dlab(s) ? s->dll : serial_rx_pop(s);
	case UART_IER:
		return serial_dlab(s) ? s->dlm : s->ier;
	case UART_IIR:
		return serial_read_iir(s);
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return serial_read_lsr(s);
	case UART_MSR:
		return serial_read_msr(s);
	default:
		return s->scr;
	}
}

static void serial_write_reg(struct serial *s, uint64_t offset, uint8_t value)
{
	switch (offset) {
	case UART_TX:
		if (serial_dlab(s))
			s->dll = value;
		else
			serial_write_thr(s, value);
		break;
	case UART_IER:
		if (serial_dlab(s))
			s->dlm = value;
		else
			serial_write_ier(s, value);
		break;
	case UART_FCR:
		serial_write_fcr(s, value);
		break;
	case UART_LCR:
		s->lcr = value;
		break;
	case UART_MCR:
		s->mcr = value & SERIAL_MCR_MASK;
		break;
	case UART_LSR:
	case UART_MSR:
		break; /* read-only status registers */
	default:
		s->scr = value;
		break;
	}
}

/*
 * After a register access: update the IRQ line, drop the lock, and tell the
 * VMM if the guest just made room in the RX FIFO. The callback runs unlocked
 * so it may re-enter the device.
 */
static void serial_update_irq_and_unlock(struct serial *s)
{
	serial_rx_ready_cb cb = NULL;
	void *cb_ctx = NULL;

	serial_update_irq(s);
	if (serial_take_rx_ready(s)) {
		cb = s->rx_ready;
		cb_ctx = s->rx_ready_ctx;
	}
	pthread_mutex_unlock(&s->lock);
	if (cb)
		cb(cb_ctx);
}

static void serial_bus_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct serial *s = dev;

	memset(data, 0, len);
	/* The 8250 has byte-wide registers only. */
	if (len != 1 || offset >= SERIAL_NR_REGS) {
		metric_inc(&g_metrics.uart.missed_read_count);
		return;
	}
	pthread_mutex_lock(&s->lock);
	data[0] = serial_read_reg(s, offset);
	serial_update_irq_and_unlock(s);
}

static void serial_bus_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct serial *s = dev;

	if (len != 1 || offset >= SERIAL_NR_REGS) {
		metric_inc(&g_metrics.uart.missed_write_count);
		return;
	}
	pthread_mutex_lock(&s->lock);
	serial_write_reg(s, offset, data[0]);
	serial_update_irq_and_unlock(s);
}

const struct bus_device_ops serial_bus_ops = {.read = serial_bus_read, .write = serial_bus_write};

/* Blocking pipes, ttys and sockets can stall; regular files and O_NONBLOCK fds cannot. */
static bool serial_out_needs_poll(int fd)
{
	struct stat st;
	int flags;

	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		return false;
	flags = fcntl(fd, F_GETFL);
	return flags < 0 || !(flags & O_NONBLOCK);
}

struct serial *serial_create(int out_fd, const struct irq_line *irq)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	if (irq)
		s->irq = *irq;
	s->out_fd = out_fd;
	s->out_poll = serial_out_needs_poll(out_fd);
	s->dll = SERIAL_DEFAULT_DLL;
	s->lcr = SERIAL_DEFAULT_LCR;
	s->mcr = SERIAL_DEFAULT_MCR;
	return s;
}

void serial_destroy(struct serial *serial)
{
	if (!serial)
		return;
	pthread_mutex_destroy(&serial->lock);
	free(serial);
}

void serial_set_out_limit(struct serial *serial, const struct token_bucket_config *cfg)
{
	static const struct token_bucket_config none;

	pthread_mutex_lock(&serial->lock);
	token_bucket_init(&serial->out_limit, cfg ? cfg : &none, rate_limiter_now_ns());
	pthread_mutex_unlock(&serial->lock);
}

void serial_set_rx_ready_cb(struct serial *serial, serial_rx_ready_cb cb, void *ctx)
{
	pthread_mutex_lock(&serial->lock);
	serial->rx_ready = cb;
	serial->rx_ready_ctx = ctx;
	pthread_mutex_unlock(&serial->lock);
}

size_t serial_rx_space(struct serial *serial)
{
	size_t space;

	pthread_mutex_lock(&serial->lock);
	space = serial_space_locked(serial);
	if (space == 0)
		serial->rx_waiting = true;
	pthread_mutex_unlock(&serial->lock);
	return space;
}

int serial_enqueue_input(struct serial *serial, const uint8_t *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&serial->lock);
	n = serial_space_locked(serial);
	if (n > len)
		n = len;
	for (size_t i = 0; i < n; i++)
		serial_rx_push(serial, buf[i]);
	if (serial_space_locked(serial) == 0)
		serial->rx_waiting = true;
	serial_update_irq(serial);
	pthread_mutex_unlock(&serial->lock);
	return (int)n;
}

void serial_save(struct serial *serial, struct vmstate_writer *w)
{
	pthread_mutex_lock(&serial->lock);
	vmstate_put_u8(w, serial->dll);
	vmstate_put_u8(w, serial->dlm);
	vmstate_put_u8(w, serial->ier);
	vmstate_put_u8(w, serial->lcr);
	vmstate_put_u8(w, serial->mcr);
	vmstate_put_u8(w, serial->scr);
	vmstate_put_bool(w, serial->fifo_enabled);
	vmstate_put_bool(w, serial->overrun);
	vmstate_put_bool(w, serial->thre_pending);
	vmstate_put_bool(w, serial->irq_level);
	/* The FIFO in receive order, not the ring as laid out. */
	vmstate_put_u32(w, serial->rx_count);
	for (unsigned int i = 0; i < serial->rx_count; i++)
		vmstate_put_u8(w, serial->rx_fifo[(serial->rx_head + i) % SERIAL_FIFO_SIZE]);
	pthread_mutex_unlock(&serial->lock);
}

int serial_restore(struct serial *serial, struct vmstate_reader *r)
{
	struct serial s;
	uint32_t count;

	s.dll = vmstate_get_u8(r);
	s.dlm = vmstate_get_u8(r);
	s.ier = vmstate_get_u8(r);
	s.lcr = vmstate_get_u8(r);
	s.mcr = vmstate_get_u8(r);
	s.scr = vmstate_get_u8(r);
	s.fifo_enabled = vmstate_get_bool(r);
	s.overrun = vmstate_get_bool(r);
	s.thre_pending = vmstate_get_bool(r);
	s.irq_level = vmstate_get_bool(r);
	count = vmstate_get_u32(r);
	if (!r->err && count > SERIAL_FIFO_SIZE)
		return -EINVAL;
	vmstate_get_bytes(r, s.rx_fifo, count);
	if (r->err)
		return r->err;
	pthread_mutex_lock(&serial->lock);
	serial->dll = s.dll;
	serial->dlm = s.dlm;
	serial->ier = s.ier & SERIAL_IER_MASK;
	serial->lcr = s.lcr;
	serial->mcr = s.mcr & SERIAL_MCR_MASK;
	serial->scr = s.scr;
	serial->fifo_enabled = s.fifo_enabled;
	serial->overrun = s.overrun;
	serial->thre_pending = s.thre_pending;
	/* The level the restored irqchip last saw on the line. */
	serial->irq_level = s.irq_level;
	memcpy(serial->rx_fifo, s.rx_fifo, count);
	serial->rx_head = 0;
	serial->rx_count = count;
	pthread_mutex_unlock(&serial->lock);
	return 0;
}
