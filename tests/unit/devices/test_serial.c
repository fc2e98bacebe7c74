// SPDX-License-Identifier: Apache-2.0
/* 16550A UART: registers, interrupts (exact line sequences), FIFO, loopback, I/O. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/devices/fake_irq.h"
#include "devices/legacy/serial.h"
#include "vmm/config/vmm_config.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"

struct fixture {
	struct serial *s;
	struct fake_irq irq;
	int pipe[2]; /* serial output -> pipe[1]; the test reads pipe[0] */
	int rx_ready_calls;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(pipe2(f->pipe, O_CLOEXEC), 0);
	fake_irq_init(&f->irq, 4);
	f->s = serial_create(f->pipe[1], &f->irq.line);
	assert_non_null(f->s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	serial_destroy(f->s);
	assert_int_equal(f->irq.wrong_gsi, 0);
	fake_irq_destroy(&f->irq);
	close(f->pipe[0]);
	close(f->pipe[1]);
	free(f);
	return 0;
}

static uint8_t rd(struct serial *s, uint64_t offset)
{
	uint8_t v = 0xee;

	serial_bus_ops.read(s, offset, &v, 1);
	return v;
}

static void wr(struct serial *s, uint64_t offset, uint8_t value)
{
	serial_bus_ops.write(s, offset, &value, 1);
}

static uint64_t metric(metric_t *m)
{
	return atomic_load(m);
}

/* Everything the serial wrote so far (the pipe must not be empty-blocking). */
static size_t drain(int fd, uint8_t *buf, size_t cap)
{
	int flags = fcntl(fd, F_GETFL);
	ssize_t n;

	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	n = read(fd, buf, cap);
	fcntl(fd, F_SETFL, flags);
	return n < 0 ? 0 : (size_t)n;
}

static void count_rx_ready(void *ctx)
{
	struct fixture *f = ctx;

	f->rx_ready_calls++;
	/* Re-entering the device must not deadlock: the lock is not held here. */
	(void)serial_rx_space(f->s);
}

static void test_reset_values(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f->s, UART_IER), 0x00);
	assert_int_equal(rd(f->s, UART_IIR), 0x01);
	assert_int_equal(rd(f->s, UART_LCR), 0x03);
	assert_int_equal(rd(f->s, UART_MCR), 0x08);
	assert_int_equal(rd(f->s, UART_LSR), 0x60);
	assert_int_equal(rd(f->s, UART_MSR), 0xb0);
	assert_int_equal(rd(f->s, UART_SCR), 0x00);
	assert_int_equal(rd(f->s, UART_RX), 0x00); /* empty FIFO */
	wr(f->s, UART_LCR, 0x83);
	assert_int_equal(rd(f->s, UART_DLL), 0x0c); /* 9600 baud */
	assert_int_equal(rd(f->s, UART_DLM), 0x00);
	assert_int_equal(fake_irq_count(&f->irq), 0);
}

static void test_plain_registers(void **state)
{
	struct fixture *f = *state;
	uint8_t out[4];

	for (unsigned int v = 0; v < 256; v += 0x33) {
		wr(f->s, UART_SCR, (uint8_t)v);
		assert_int_equal(rd(f->s, UART_SCR), v);
	}
	wr(f->s, UART_LCR, 0x1b);
	assert_int_equal(rd(f->s, UART_LCR), 0x1b);
	/* Linux's autoconfig: IER keeps only the four 16550A bits. */
	wr(f->s, UART_IER, 0xf0);
	assert_int_equal(rd(f->s, UART_IER), 0x00);
	wr(f->s, UART_IER, UART_IER_RDI | UART_IER_RLSI | UART_IER_MSI | 0x40);
	assert_int_equal(rd(f->s, UART_IER), 0x0d);
	/* MCR keeps five bits. */
	wr(f->s, UART_MCR, 0xe3);
	assert_int_equal(rd(f->s, UART_MCR), 0x03);
	/* LSR and MSR are read-only. */
	wr(f->s, UART_LSR, 0xff);
	wr(f->s, UART_MSR, 0x00);
	assert_int_equal(rd(f->s, UART_LSR), 0x60);
	assert_int_equal(rd(f->s, UART_MSR), 0xb0);
	/* None of this produced output or interrupts. */
	assert_int_equal(drain(f->pipe[0], out, sizeof(out)), 0);
	assert_int_equal(fake_irq_count(&f->irq), 0);
}

static void test_dlab(void **state)
{
	struct fixture *f = *state;
	uint8_t out[4];

	assert_int_equal(serial_enqueue_input(f->s, (const uint8_t *)"x", 1), 1);
	wr(f->s, UART_IER, UART_IER_MSI);
	wr(f->s, UART_LCR, UART_LCR_DLAB | 0x03);
	wr(f->s, UART_DLL, 0x01);
	wr(f->s, UART_DLM, 0x02);
	assert_int_equal(rd(f->s, UART_DLL), 0x01);
	assert_int_equal(rd(f->s, UART_DLM), 0x02);
	assert_int_equal(rd(f->s, UART_LSR) & UART_LSR_DR, UART_LSR_DR); /* not popped */
	assert_int_equal(drain(f->pipe[0], out, sizeof(out)), 0);	 /* not sent */

	wr(f->s, UART_LCR, 0x03);
	assert_int_equal(rd(f->s, UART_IER), UART_IER_MSI); /* untouched by DLM */
	assert_int_equal(rd(f->s, UART_RX), 'x');
	wr(f->s, UART_LCR, UART_LCR_DLAB);
	assert_int_equal(rd(f->s, UART_DLL), 0x01); /* latched across LCR changes */
	assert_int_equal(rd(f->s, UART_DLM), 0x02);
}

static void test_output_to_fd(void **state)
{
	struct fixture *f = *state;
	const char msg[] = "Hello, \x00\xff world\n";
	uint8_t out[64];
	uint64_t writes = metric(&g_metrics.uart.write_count);

	for (size_t i = 0; i < sizeof(msg) - 1; i++)
		wr(f->s, UART_TX, (uint8_t)msg[i]);
	assert_int_equal(drain(f->pipe[0], out, sizeof(out)), sizeof(msg) - 1);
	assert_memory_equal(out, msg, sizeof(msg) - 1);
	assert_int_equal(metric(&g_metrics.uart.write_count) - writes, sizeof(msg) - 1);
	/* THR and the transmitter are always empty. */
	assert_int_equal(rd(f->s, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	/* No interrupt without IER.THRI. */
	assert_int_equal(fake_irq_count(&f->irq), 0);
}

static void test_thre_interrupt(void **state)
{
	struct fixture *f = *state;

	/* Enabling THRI with THR empty raises it (Linux's UART_BUG_THRE probe). */
	wr(f->s, UART_IER, UART_IER_THRI);
	assert_string_equal(fake_irq_history(&f->irq), "1");
	assert_int_equal(rd(f->s, UART_IIR), UART_IIR_THRI);
	assert_string_equal(fake_irq_history(&f->irq), "10"); /* acknowledged by the read */
	assert_int_equal(rd(f->s, UART_IIR), UART_IIR_NO_INT);

	/* Every THR write completes at once and raises it again. */
	wr(f->s, UART_TX, 'a');
	assert_string_equal(fake_irq_history(&f->irq), "101");
	wr(f->s, UART_TX, 'b');
	assert_string_equal(fake_irq_history(&f->irq), "101"); /* still pending: no call */
	assert_int_equal(rd(f->s, UART_IIR), UART_IIR_THRI);
	assert_string_equal(fake_irq_history(&f->irq), "1010");

	/* Disabling hides a pending THRE; re-enabling re-arms it. */
	wr(f->s, UART_TX, 'c');
	assert_string_equal(fake_irq_history(&f->irq), "10101");
	wr(f->s, UART_IER, 0);
	assert_string_equal(fake_irq_history(&f->irq), "101010");
	assert_int_equal(rd(f->s, UART_IIR), UART_IIR_NO_INT);
	wr(f->s, UART_IER, UART_IER_THRI);
	assert_string_equal(fake_irq_history(&f->irq), "1010101");
	/* Writing IER with THRI already set does not re-arm after an acknowledge. */
	assert_int_equal(rd(f->s, UART_IIR), UART_IIR_THRI);
	wr(f->s, UART_IER, UART_IER_THRI);
	assert_int_equal(rd(f->s, UART_IIR), UART_IIR_NO_INT);
	assert_string_equal(fake_irq_history(&f->irq), "10101010");
	assert_false(fake_irq_level(&f->irq));
}

static void test_rx_interrupt(void **state)
{
	struct fixture *f = *state;
	uint64_t reads = metric(&g_metrics.uart.read_count);

	/* Data without IER.RDI: no interrupt, but LSR.DR. */
	assert_int_equal(serial_enqueue_input(f->s, (const uint8_t *)"abc", 3), 3);
	assert_int_equal(fake_irq_count(&f->irq), 0);
	assert_int_equal(rd(f->s, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT | UART_LSR_DR);
	assert_int_equal(rd(f->s, UART_IIR), UART_IIR_NO_INT);

	wr(f->s, UART_IER, UART_IER_RDI);
	assert_string_equal(fake_irq_history(&f->irq), "1");
	/* Reading IIR does not acknowledge received data; reading it does. */
	assert_int_equal(rd(f->s, UART_IIR), UART_IIR_RDI);
	assert_int_equal(rd(f->s, UART_IIR), UART_IIR_RDI);
	assert_int_equal(rd(f->s, UART_RX), 'a');
	assert_int_equal(rd(f->s, UART_RX), 'b');
	assert_string_equal(fake_irq_history(&f->irq), "1");
	assert_int_equal(rd(f->s, UART_RX), 'c');
	assert_string_equal(fake_irq_history(&f->irq), "10");
	assert_int_equal(rd(f->s, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	assert_int_equal(rd(f->s, UART_IIR), UART_IIR_NO_INT);
	assert_int_equal(metric(&g_metrics.uart.read_count) - reads, 3);

	/* Input arriving with RDI enabled raises the line at once. */
	assert_int_equal(serial_enqueue_input(f->s, (const uint8_t *)"d", 1), 1);
	assert_string_equal(fake_irq_history(&f->irq), "101");
	assert_int_equal(serial_enqueue_input(f->s, (const uint8_t *)"e", 1), 1);
	assert_string_equal(fake_irq_history(&f->irq), "101");
	assert_int_equal(rd(f->s, UART_RX), 'd');
	assert_int_equal(rd(f->s, UART_RX), 'e');
	assert_string_equal(fake_irq_history(&f->irq), "1010");
}

/* Fill the RX FIFO through loopback and push one byte too many. */
static void overrun(struct serial *s)
{
	wr(s, UART_MCR, UART_MCR_LOOP);
	for (unsigned int i = 0; i <= SERIAL_FIFO_SIZE; i++)
		wr(s, UART_TX, (uint8_t)(0x40 + i));
	wr(s, UART_MCR, 0);
}

static void test_iir_priority(void **state)
{
	struct fixture *f = *state;

	wr(f->s, UART_IER, UART_IER_THRI | UART_IER_RDI | UART_IER_RLSI);
	assert_string_equal(fake_irq_history(&f->irq), "1");
	assert_int_equal(serial_enqueue_input(f->s, (const uint8_t *)"xy", 2), 2);
	/* RX data outranks THRE, and reading IIR then leaves THRE pending. */
	assert_int_equal(rd(f->s, UART_IIR), UART_IIR_RDI);
	assert_int_equal(rd(f->s, UART_RX), 'x');
	assert_int_equal(rd(f->s, UART_RX), 'y');
	assert_int_equal(rd(f->s, UART_IIR), UART_IIR_THRI);
	assert_int_equal(rd(f->s, UART_IIR), UART_IIR_NO_INT);
	assert_string_equal(fake_irq_history(&f->irq), "10");

	/* An overrun (line status) outranks everything until LSR is read. */
	overrun(f->s);
	assert_string_equal(fake_irq_history(&f->irq), "101");
	assert_int_equal(rd(f->s, UART_IIR), UART_IIR_RLSI);
	assert_int_equal(rd(f->s, UART_IIR), UART_IIR_RLSI);
	assert_int_equal(rd(f->s, UART_LSR),
			 UART_LSR_THRE | UART_LSR_TEMT | UART_LSR_DR | UART_LSR_OE);
	assert_int_equal(rd(f->s, UART_IIR), UART_IIR_RDI);
	for (unsigned int i = 0; i < SERIAL_FIFO_SIZE; i++)
		assert_int_equal(rd(f->s, UART_RX), 0x40 + i);
	/* The THR writes left THRE pending. */
	assert_int_equal(rd(f->s, UART_IIR), UART_IIR_THRI);
	assert_int_equal(rd(f->s, UART_IIR), UART_IIR_NO_INT);
	assert_string_equal(fake_irq_history(&f->irq), "1010");
}

static void test_fifo_control(void **state)
{
	struct fixture *f = *state;

	wr(f->s, UART_FCR, UART_FCR_ENABLE_FIFO);
	assert_int_equal(rd(f->s, UART_IIR), 0xc1);
	/* Linux's 16750 probe sets bit 5 in FCR: IIR must not show a 64-byte FIFO. */
	wr(f->s, UART_FCR, UART_FCR_ENABLE_FIFO | 0x20);
	assert_int_equal(rd(f->s, UART_IIR), 0xc1);

	assert_int_equal(serial_enqueue_input(f->s, (const uint8_t *)"abc", 3), 3);
	wr(f->s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_XMIT);
	assert_int_equal(rd(f->s, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	wr(f->s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	assert_int_equal(rd(f->s, UART_LSR), 0x60);
	assert_int_equal(rd(f->s, UART_RX), 0);

	/* Clearing needs FCR0; turning the FIFOs off empties them. */
	assert_int_equal(serial_enqueue_input(f->s, (const uint8_t *)"de", 2), 2);
	wr(f->s, UART_FCR, UART_FCR_ENABLE_FIFO);
	assert_int_equal(rd(f->s, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	wr(f->s, UART_FCR, 0);
	assert_int_equal(rd(f->s, UART_IIR), 0x01);
	assert_int_equal(rd(f->s, UART_LSR), 0x60);
	assert_int_equal(fake_irq_count(&f->irq), 0);
}

static void test_loopback(void **state)
{
	struct fixture *f = *state;
	uint8_t out[8];

	serial_set_rx_ready_cb(f->s, count_rx_ready, f);
	/* Linux's autoconfig: MCR = LOOP|RTS|OUT2 must read back as CTS|DCD in MSR. */
	wr(f->s, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_OUT2);
	assert_int_equal(rd(f->s, UART_MSR) & 0xf0, UART_MSR_CTS | UART_MSR_DCD);
	wr(f->s, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1);
	assert_int_equal(rd(f->s, UART_MSR), UART_MSR_DSR | UART_MSR_RI);
	wr(f->s, UART_MCR, UART_MCR_LOOP);
	assert_int_equal(rd(f->s, UART_MSR), 0);

	/* Transmitted bytes come back on the receiver and never reach the fd. */
	wr(f->s, UART_IER, UART_IER_RDI);
	wr(f->s, UART_TX, 'L');
	wr(f->s, UART_TX, 'B');
	assert_string_equal(fake_irq_history(&f->irq), "1");
	assert_int_equal(rd(f->s, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	assert_int_equal(rd(f->s, UART_RX), 'L');
	assert_int_equal(rd(f->s, UART_RX), 'B');
	assert_string_equal(fake_irq_history(&f->irq), "10");
	assert_int_equal(drain(f->pipe[0], out, sizeof(out)), 0);

	/* The outside world is cut off: no input space, nothing taken. */
	assert_int_equal(serial_rx_space(f->s), 0);
	assert_int_equal(serial_enqueue_input(f->s, (const uint8_t *)"z", 1), 0);
	assert_int_equal(f->rx_ready_calls, 0);
	/* Leaving loopback wakes the waiting VMM once, and output flows again. */
	wr(f->s, UART_MCR, UART_MCR_OUT2);
	assert_int_equal(f->rx_ready_calls, 1);
	assert_int_equal(rd(f->s, UART_MSR), 0xb0);
	assert_int_equal(serial_rx_space(f->s), SERIAL_FIFO_SIZE);
	wr(f->s, UART_TX, 'o');
	assert_int_equal(drain(f->pipe[0], out, sizeof(out)), 1);
	assert_int_equal(out[0], 'o');
	assert_int_equal(f->rx_ready_calls, 1);
}

static void test_fifo_bound_and_rx_ready(void **state)
{
	struct fixture *f = *state;
	uint8_t in[100];

	for (unsigned int i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7);
	serial_set_rx_ready_cb(f->s, count_rx_ready, f);
	assert_int_equal(serial_rx_space(f->s), SERIAL_FIFO_SIZE);
	assert_int_equal(serial_enqueue_input(f->s, in, sizeof(in)), SERIAL_FIFO_SIZE);
	assert_int_equal(serial_rx_space(f->s), 0);
	assert_int_equal(serial_enqueue_input(f->s, in, 1), 0);
	assert_int_equal(f->rx_ready_calls, 0);
	/* No overrun: the VMM was refused, nothing was lost. */
	assert_int_equal(rd(f->s, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT | UART_LSR_DR);

	assert_int_equal(rd(f->s, UART_RX), in[0]);
	assert_int_equal(f->rx_ready_calls, 1); /* space again: VMM told once */
	assert_int_equal(rd(f->s, UART_RX), in[1]);
	assert_int_equal(f->rx_ready_calls, 1);
	assert_int_equal(serial_rx_space(f->s), 2);
	assert_int_equal(serial_enqueue_input(f->s, in + SERIAL_FIFO_SIZE, 5), 2);
	for (unsigned int i = 2; i < SERIAL_FIFO_SIZE + 2; i++)
		assert_int_equal(rd(f->s, UART_RX), in[i]);
	assert_int_equal(f->rx_ready_calls, 2);
	assert_int_equal(rd(f->s, UART_LSR) & UART_LSR_DR, 0);

	/* A FIFO reset also frees space for a waiting VMM. */
	assert_int_equal(serial_enqueue_input(f->s, in, sizeof(in)), SERIAL_FIFO_SIZE);
	wr(f->s, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	assert_int_equal(f->rx_ready_calls, 3);
	assert_int_equal(serial_rx_space(f->s), SERIAL_FIFO_SIZE);
}

static void test_overrun_loses_newest(void **state)
{
	struct fixture *f = *state;

	overrun(f->s);
	assert_int_equal(rd(f->s, UART_LSR),
			 UART_LSR_THRE | UART_LSR_TEMT | UART_LSR_DR | UART_LSR_OE);
	assert_int_equal(rd(f->s, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT | UART_LSR_DR);
	for (unsigned int i = 0; i < SERIAL_FIFO_SIZE; i++)
		assert_int_equal(rd(f->s, UART_RX), 0x40 + i);
	assert_int_equal(rd(f->s, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	/* RLSI was not enabled: never an interrupt. */
	assert_int_equal(fake_irq_count(&f->irq), 0);
}

static void test_bad_accesses(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[4] = {1, 2, 3, 4};
	uint64_t missed_r = metric(&g_metrics.uart.missed_read_count);
	uint64_t missed_w = metric(&g_metrics.uart.missed_write_count);

	assert_int_equal(serial_enqueue_input(f->s, (const uint8_t *)"q", 1), 1);
	serial_bus_ops.read(f->s, UART_RX, buf, 2);
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[1], 0);
	serial_bus_ops.write(f->s, UART_SCR, buf + 2, 2);
	assert_int_equal(metric(&g_metrics.uart.missed_read_count) - missed_r, 1);
	assert_int_equal(metric(&g_metrics.uart.missed_write_count) - missed_w, 1);
	assert_int_equal(rd(f->s, UART_SCR), 0);
	assert_int_equal(rd(f->s, UART_RX), 'q'); /* the wide read popped nothing */
}

/* PUT /serial's rate_limiter: bytes over the rate are dropped and counted, never delayed. */
static void test_output_limit(void **state)
{
	struct fixture *f = *state;
	/* 10 bytes per second after a 5-byte burst: a tight loop gets 15 through. */
	struct token_bucket_config limit = {
	    .size = 10, .one_time_burst = 5, .refill_time_ms = 1000};
	uint64_t dropped = metric(&g_metrics.uart.rate_limiter_dropped_bytes);
	uint64_t writes = metric(&g_metrics.uart.write_count);
	uint8_t out[128];
	size_t got;

	serial_set_out_limit(f->s, &limit);
	for (int i = 0; i < 100; i++)
		wr(f->s, UART_TX, (uint8_t)('a' + i % 26));
	got = drain(f->pipe[0], out, sizeof(out));
	/* One more byte if the machine took 100 ms over the loop. */
	assert_true(got == 15 || got == 16);
	assert_memory_equal(out, "abcdefghijklmno", 15);
	assert_int_equal(metric(&g_metrics.uart.rate_limiter_dropped_bytes) - dropped, 100 - got);
	/* Written as far as the guest can tell (as in Firecracker). */
	assert_int_equal(metric(&g_metrics.uart.write_count) - writes, 100);
	assert_int_equal(rd(f->s, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);

	/* The bucket refills: after 300 ms about 3 more bytes go out. */
	usleep(300 * 1000);
	for (int i = 0; i < 20; i++)
		wr(f->s, UART_TX, 'z');
	got = drain(f->pipe[0], out, sizeof(out));
	assert_true(got >= 2 && got <= 5);

	/* Loopback bytes never leave the UART: not limited, not dropped. */
	dropped = metric(&g_metrics.uart.rate_limiter_dropped_bytes);
	wr(f->s, UART_MCR, UART_MCR_LOOP);
	wr(f->s, UART_TX, 'L');
	assert_int_equal(rd(f->s, UART_RX), 'L');
	wr(f->s, UART_MCR, 0);
	assert_int_equal(metric(&g_metrics.uart.rate_limiter_dropped_bytes), dropped);

	/* A disabled bucket (size or refill_time 0), or none, lets everything through. */
	limit.refill_time_ms = 0;
	serial_set_out_limit(f->s, &limit);
	for (int i = 0; i < 100; i++)
		wr(f->s, UART_TX, 'y');
	assert_int_equal(drain(f->pipe[0], out, sizeof(out)), 100);
	limit = (struct token_bucket_config){.size = 1, .refill_time_ms = 1000000};
	serial_set_out_limit(f->s, &limit);
	wr(f->s, UART_TX, '1');
	wr(f->s, UART_TX, '2');
	assert_int_equal(drain(f->pipe[0], out, sizeof(out)), 1);
	serial_set_out_limit(f->s, NULL);
	for (int i = 0; i < 100; i++)
		wr(f->s, UART_TX, 'n');
	assert_int_equal(drain(f->pipe[0], out, sizeof(out)), 100);
	assert_int_equal(metric(&g_metrics.uart.rate_limiter_dropped_bytes) - dropped, 1);
}

static void test_discard_output(void **state)
{
	struct serial *s = serial_create(-1, NULL);
	uint64_t writes = metric(&g_metrics.uart.write_count);

	(void)state;
	assert_non_null(s);
	wr(s, UART_IER, UART_IER_THRI); /* no IRQ line: must not crash */
	wr(s, UART_TX, 'x');
	assert_int_equal(metric(&g_metrics.uart.write_count) - writes, 1);
	assert_int_equal(rd(s, UART_IIR), UART_IIR_THRI);
	serial_destroy(s);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Fill a pipe until a non-blocking write would block; the fd's flags are restored. */
static void fill_pipe(int fd)
{
	static uint8_t junk[4096];
	int flags = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	while (write(fd, junk, sizeof(junk)) > 0 || errno == EINTR)
		;
	while (write(fd, junk, 1) > 0)
		;
	fcntl(fd, F_SETFL, flags);
}

/* A consumer that stops reading costs one bounded wait, then bytes drop without waiting. */
static void check_stalled_consumer(int nonblocking)
{
	struct serial *s;
	int p[2];
	uint8_t buf[8192];
	uint64_t missed = metric(&g_metrics.uart.missed_write_count);
	uint64_t errors = metric(&g_metrics.uart.error_count);
	double t0, t1, t2;

	assert_int_equal(pipe2(p, O_CLOEXEC | (nonblocking ? O_NONBLOCK : 0)), 0);
	fill_pipe(p[1]);
	s = serial_create(p[1], NULL);
	assert_non_null(s);

	t0 = now_s();
	wr(s, UART_TX, 'A');
	t1 = now_s();
	wr(s, UART_TX, 'B');
	t2 = now_s();
	assert_true(t1 - t0 >= SERIAL_OUT_WAIT_MS / 1000.0 * 0.9);
	assert_true(t1 - t0 < 2.0);
	assert_true(t2 - t1 < 0.05);
	assert_int_equal(metric(&g_metrics.uart.missed_write_count) - missed, 2);
	assert_int_equal(metric(&g_metrics.uart.error_count) - errors, 0);

	/* Once the consumer reads again, output resumes at once. */
	while (drain(p[0], buf, sizeof(buf)) > 0)
		;
	wr(s, UART_TX, 'C');
	assert_int_equal(drain(p[0], buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'C');
	assert_int_equal(metric(&g_metrics.uart.missed_write_count) - missed, 2);
	serial_destroy(s);
	close(p[0]);
	close(p[1]);
}

static void test_stalled_blocking_consumer(void **state)
{
	(void)state;
	check_stalled_consumer(0);
}

static void test_stalled_nonblocking_consumer(void **state)
{
	(void)state;
	check_stalled_consumer(1);
}

static void test_broken_output(void **state)
{
	struct serial *s;
	int p[2];
	uint64_t missed = metric(&g_metrics.uart.missed_write_count);
	uint64_t errors = metric(&g_metrics.uart.error_count);

	(void)state;
	/* The VMM ignores SIGPIPE; so does this test. */
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	close(p[0]);
	s = serial_create(p[1], NULL);
	assert_non_null(s);
	wr(s, UART_TX, 'x');
	wr(s, UART_TX, 'y');
	assert_int_equal(metric(&g_metrics.uart.missed_write_count) - missed, 2);
	assert_int_equal(metric(&g_metrics.uart.error_count) - errors, 2);
	serial_destroy(s);
	close(p[1]);
}

/* A regular file is written directly. */
static void test_output_to_file(void **state)
{
	char path[] = "/tmp/ember-serial-XXXXXX";
	int fd = mkstemp(path);
	struct serial *s;
	char buf[8] = {0};

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	s = serial_create(fd, NULL);
	wr(s, UART_TX, 'o');
	wr(s, UART_TX, 'k');
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), 2);
	assert_string_equal(buf, "ok");
	serial_destroy(s);
	/* The serial does not own the fd. */
	assert_int_equal(fcntl(fd, F_GETFD) >= 0, 1);
	close(fd);
}

/*
 * The VMM/vCPU protocol under real concurrency: a producer thread follows the
 * documented input loop (read at most rx_space, sleep until the rx-ready
 * callback when it is 0) while this thread plays the guest driver. Every byte
 * must arrive, in order.
 */
#define STREAM_LEN 5000

struct stream {
	struct serial *s;
	int efd;
};

static void wake_producer(void *ctx)
{
	struct stream *st = ctx;
	uint64_t one = 1;

	assert_int_equal(write(st->efd, &one, sizeof(one)), sizeof(one));
}

static void *producer(void *arg)
{
	struct stream *st = arg;
	size_t sent = 0;

	while (sent < STREAM_LEN) {
		uint8_t chunk[SERIAL_FIFO_SIZE];
		size_t space = serial_rx_space(st->s), n;

		if (space == 0) {
			struct pollfd pfd = {.fd = st->efd, .events = POLLIN};
			uint64_t v;

			if (poll(&pfd, 1, 5000) != 1)
				return (void *)1; /* the callback never came */
			if (read(st->efd, &v, sizeof(v)) != sizeof(v))
				return (void *)1;
			continue;
		}
		n = space < STREAM_LEN - sent ? space : STREAM_LEN - sent;
		for (size_t i = 0; i < n; i++)
			chunk[i] = (uint8_t)((sent + i) * 31 + 7);
		if (serial_enqueue_input(st->s, chunk, n) != (int)n)
			return (void *)1;
		sent += n;
	}
	return NULL;
}

static void test_concurrent_input(void **state)
{
	struct fixture *f = *state;
	struct stream st = {.s = f->s, .efd = eventfd(0, EFD_CLOEXEC)};
	pthread_t thread;
	void *ret;
	size_t got = 0;
	double deadline = now_s() + 20;

	assert_true(st.efd >= 0);
	serial_set_rx_ready_cb(f->s, wake_producer, &st);
	assert_int_equal(pthread_create(&thread, NULL, producer, &st), 0);
	while (got < STREAM_LEN && now_s() < deadline) {
		if (!(rd(f->s, UART_LSR) & UART_LSR_DR))
			continue;
		assert_int_equal(rd(f->s, UART_RX), (uint8_t)(got * 31 + 7));
		got++;
	}
	assert_int_equal(pthread_join(thread, &ret), 0);
	assert_null(ret);
	assert_int_equal(got, STREAM_LEN);
	assert_int_equal(rd(f->s, UART_LSR) & (UART_LSR_DR | UART_LSR_OE), 0);
	close(st.efd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reset_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plain_registers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dlab, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_to_fd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_thre_interrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_interrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_iir_priority, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fifo_control, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fifo_bound_and_rx_ready, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overrun_loses_newest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_accesses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_limit, setup, teardown),
	    cmocka_unit_test(test_discard_output),
	    cmocka_unit_test(test_stalled_blocking_consumer),
	    cmocka_unit_test(test_stalled_nonblocking_consumer),
	    cmocka_unit_test(test_broken_output),
	    cmocka_unit_test(test_output_to_file),
	    cmocka_unit_test_setup_teardown(test_concurrent_input, setup, teardown),
	};

	/* The stall tests log a warning; keep the test output readable. */
	log_set_level(LOG_OFF);
	/* Output must never block forever: a regression kills the test, not the runner. */
	alarm(60);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
