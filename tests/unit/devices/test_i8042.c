// SPDX-License-Identifier: Apache-2.0
/* i8042: commands, output buffer, IRQ 1 edges, Ctrl+Alt+Del, reset, metrics. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/devices/fake_irq.h"
#include "devices/legacy/i8042.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"

#define STATUS_IDLE I8042_STR_KBD_ENABLED
#define STATUS_FULL (I8042_STR_KBD_ENABLED | I8042_STR_OBF)

static const uint8_t cad_bytes[I8042_CAD_LEN] = {0x14, 0x11, 0xe0, 0x71};

struct fixture {
	struct i8042 *k;
	struct fake_irq irq;
	int resets;
	uint8_t status_in_reset; /* read back from inside the reset callback */
};

static uint8_t rd(struct i8042 *k, uint64_t offset)
{
	uint8_t v = 0xee;

	i8042_bus_ops.read(k, offset, &v, 1);
	return v;
}

static void wr(struct i8042 *k, uint64_t offset, uint8_t value)
{
	i8042_bus_ops.write(k, offset, &value, 1);
}

static uint64_t metric(metric_t *m)
{
	return atomic_load(m);
}

static void on_reset(void *ctx)
{
	struct fixture *f = ctx;

	f->resets++;
	/* Called without the device lock: touching the device must not deadlock. */
	f->status_in_reset = rd(f->k, I8042_CMD_OFFSET);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fake_irq_init(&f->irq, 1);
	f->k = i8042_create(&f->irq.line, on_reset, f);
	assert_non_null(f->k);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	i8042_destroy(f->k);
	assert_int_equal(f->irq.wrong_gsi, 0);
	fake_irq_destroy(&f->irq);
	free(f);
	return 0;
}

static void test_initial_state(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_IDLE);
	assert_int_equal(rd(f->k, I8042_DATA_OFFSET), 0); /* empty buffer reads 0 */
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_IDLE);
	assert_int_equal(fake_irq_count(&f->irq), 0);
	/* The control register: POST passed, keyboard interrupt on. */
	wr(f->k, I8042_CMD_OFFSET, I8042_CMD_READ_CTR);
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_FULL);
	assert_string_equal(fake_irq_history(&f->irq), "1");
	assert_int_equal(rd(f->k, I8042_DATA_OFFSET), I8042_CTR_POST_OK | I8042_CTR_KBD_INT);
	assert_string_equal(fake_irq_history(&f->irq), "10");
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_IDLE);
}

static void test_control_register(void **state)
{
	struct fixture *f = *state;

	wr(f->k, I8042_CMD_OFFSET, I8042_CMD_WRITE_CTR);
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_IDLE | I8042_STR_CMD_DATA);
	wr(f->k, I8042_DATA_OFFSET, 0x52); /* keyboard interrupt bit clear */
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_IDLE);
	wr(f->k, I8042_CMD_OFFSET, I8042_CMD_READ_CTR);
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_FULL);
	assert_int_equal(rd(f->k, I8042_DATA_OFFSET), 0x52);
	/* With the interrupt disabled the guest polls: no IRQ at all. */
	assert_int_equal(fake_irq_count(&f->irq), 0);

	wr(f->k, I8042_CMD_OFFSET, I8042_CMD_WRITE_CTR);
	wr(f->k, I8042_DATA_OFFSET, 0x47);
	wr(f->k, I8042_CMD_OFFSET, I8042_CMD_READ_CTR);
	assert_string_equal(fake_irq_history(&f->irq), "1");
	assert_int_equal(rd(f->k, I8042_DATA_OFFSET), 0x47);
	assert_string_equal(fake_irq_history(&f->irq), "10");
}

static void test_output_port(void **state)
{
	struct fixture *f = *state;

	wr(f->k, I8042_CMD_OFFSET, I8042_CMD_WRITE_OUTP);
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_IDLE | I8042_STR_CMD_DATA);
	wr(f->k, I8042_DATA_OFFSET, 0xc3);
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_IDLE);
	wr(f->k, I8042_CMD_OFFSET, I8042_CMD_READ_OUTP);
	assert_int_equal(rd(f->k, I8042_DATA_OFFSET), 0xc3);
	/* The output port is separate from the control register. */
	wr(f->k, I8042_CMD_OFFSET, I8042_CMD_READ_CTR);
	assert_int_equal(rd(f->k, I8042_DATA_OFFSET), 0x05);
	assert_string_equal(fake_irq_history(&f->irq), "1010");
}

static void test_self_tests(void **state)
{
	struct fixture *f = *state;

	wr(f->k, I8042_CMD_OFFSET, I8042_CMD_SELF_TEST);
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_FULL);
	assert_int_equal(rd(f->k, I8042_DATA_OFFSET), I8042_SELF_TEST_OK);
	wr(f->k, I8042_CMD_OFFSET, I8042_CMD_KBD_TEST);
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_FULL);
	assert_int_equal(rd(f->k, I8042_DATA_OFFSET), I8042_KBD_TEST_OK);
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_IDLE);
	assert_string_equal(fake_irq_history(&f->irq), "1010");
}

static void test_response_replaces_pending_bytes(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(i8042_send_ctrl_alt_del(f->k), 0);
	assert_string_equal(fake_irq_history(&f->irq), "1");
	/* A command answer discards older bytes and is a fresh edge for the guest. */
	wr(f->k, I8042_CMD_OFFSET, I8042_CMD_SELF_TEST);
	assert_string_equal(fake_irq_history(&f->irq), "101");
	assert_int_equal(rd(f->k, I8042_DATA_OFFSET), I8042_SELF_TEST_OK);
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_IDLE);
	assert_string_equal(fake_irq_history(&f->irq), "1010");
	/* WRITE_CTR flushes too, and the line drops with the data. */
	assert_int_equal(i8042_send_ctrl_alt_del(f->k), 0);
	wr(f->k, I8042_CMD_OFFSET, I8042_CMD_WRITE_CTR);
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_IDLE | I8042_STR_CMD_DATA);
	assert_string_equal(fake_irq_history(&f->irq), "101010");
}

static void test_keyboard_commands_are_acked(void **state)
{
	struct fixture *f = *state;

	wr(f->k, I8042_DATA_OFFSET, 0xff); /* keyboard reset */
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_FULL);
	assert_string_equal(fake_irq_history(&f->irq), "1");
	assert_int_equal(rd(f->k, I8042_DATA_OFFSET), I8042_KBD_ACK);
	assert_string_equal(fake_irq_history(&f->irq), "10");
	wr(f->k, I8042_DATA_OFFSET, 0xf4);
	wr(f->k, I8042_DATA_OFFSET, 0xed); /* a second ACK replaces the first */
	assert_string_equal(fake_irq_history(&f->irq), "10101");
	assert_int_equal(rd(f->k, I8042_DATA_OFFSET), I8042_KBD_ACK);
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_IDLE);
	assert_string_equal(fake_irq_history(&f->irq), "101010");
}

static void test_reset(void **state)
{
	struct fixture *f = *state;
	uint64_t resets = metric(&g_metrics.i8042.reset_count);

	wr(f->k, I8042_CMD_OFFSET, I8042_CMD_RESET_CPU);
	assert_int_equal(f->resets, 1);
	assert_int_equal(f->status_in_reset, STATUS_IDLE);
	assert_int_equal(metric(&g_metrics.i8042.reset_count) - resets, 1);
	/* 0xFE on the data port is a keyboard command, not a reset. */
	wr(f->k, I8042_DATA_OFFSET, I8042_CMD_RESET_CPU);
	assert_int_equal(f->resets, 1);
	assert_int_equal(rd(f->k, I8042_DATA_OFFSET), I8042_KBD_ACK);
	assert_int_equal(fake_irq_count(&f->irq), 2);
}

static void test_ctrl_alt_del(void **state)
{
	struct fixture *f = *state;
	const char *expect[] = {"101", "10101", "1010101", "10101010"};

	assert_int_equal(i8042_send_ctrl_alt_del(f->k), 0);
	assert_string_equal(fake_irq_history(&f->irq), "1");
	/* One byte per interrupt: each read with more left is a new edge. */
	for (unsigned int i = 0; i < I8042_CAD_LEN; i++) {
		assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_FULL);
		assert_int_equal(rd(f->k, I8042_DATA_OFFSET), cad_bytes[i]);
		assert_string_equal(fake_irq_history(&f->irq), expect[i]);
	}
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_IDLE);
	assert_int_equal(rd(f->k, I8042_DATA_OFFSET), 0);
	assert_string_equal(fake_irq_history(&f->irq), "10101010");
	assert_false(fake_irq_level(&f->irq));
}

static void test_ctrl_alt_del_buffer_full(void **state)
{
	struct fixture *f = *state;

	for (unsigned int i = 0; i < I8042_BUF_SIZE / I8042_CAD_LEN; i++)
		assert_int_equal(i8042_send_ctrl_alt_del(f->k), 0);
	assert_int_equal(i8042_send_ctrl_alt_del(f->k), -EBUSY);
	/* Only room for the whole sequence counts. */
	for (unsigned int i = 0; i < I8042_CAD_LEN - 1; i++) {
		assert_int_equal(rd(f->k, I8042_DATA_OFFSET), cad_bytes[i]);
		assert_int_equal(i8042_send_ctrl_alt_del(f->k), -EBUSY);
	}
	assert_int_equal(rd(f->k, I8042_DATA_OFFSET), cad_bytes[3]);
	assert_int_equal(i8042_send_ctrl_alt_del(f->k), 0);
	/* Everything queued comes out intact and in order. */
	for (unsigned int i = 0; i < I8042_BUF_SIZE; i++)
		assert_int_equal(rd(f->k, I8042_DATA_OFFSET), cad_bytes[i % I8042_CAD_LEN]);
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_IDLE);
	assert_false(fake_irq_level(&f->irq));
}

static void test_ctrl_alt_del_interrupt_disabled(void **state)
{
	struct fixture *f = *state;

	wr(f->k, I8042_CMD_OFFSET, I8042_CMD_WRITE_CTR);
	wr(f->k, I8042_DATA_OFFSET, I8042_CTR_POST_OK);
	/* Queued anyway (Firecracker does), for a guest that polls. */
	assert_int_equal(i8042_send_ctrl_alt_del(f->k), 0);
	for (unsigned int i = 0; i < I8042_CAD_LEN; i++) {
		assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_FULL);
		assert_int_equal(rd(f->k, I8042_DATA_OFFSET), cad_bytes[i]);
	}
	assert_int_equal(fake_irq_count(&f->irq), 0);
}

static void test_bad_accesses_and_metrics(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[2] = {0x12, 0x34};
	uint64_t reads = metric(&g_metrics.i8042.read_count);
	uint64_t writes = metric(&g_metrics.i8042.write_count);
	uint64_t missed_r = metric(&g_metrics.i8042.missed_read_count);
	uint64_t missed_w = metric(&g_metrics.i8042.missed_write_count);

	i8042_bus_ops.read(f->k, I8042_DATA_OFFSET, buf, 2); /* wide */
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[1], 0);
	for (uint64_t off = 1; off < 4; off++) {
		assert_int_equal(rd(f->k, off), 0);
		wr(f->k, off, I8042_CMD_RESET_CPU); /* ports 0x61..0x63 are not ours */
	}
	i8042_bus_ops.write(f->k, I8042_CMD_OFFSET, buf, 2);
	wr(f->k, I8042_CMD_OFFSET, 0x12); /* unknown command */
	assert_int_equal(f->resets, 0);
	assert_int_equal(metric(&g_metrics.i8042.missed_read_count) - missed_r, 4);
	assert_int_equal(metric(&g_metrics.i8042.missed_write_count) - missed_w, 5);
	assert_int_equal(metric(&g_metrics.i8042.read_count) - reads, 0);
	assert_int_equal(metric(&g_metrics.i8042.write_count) - writes, 0);

	wr(f->k, I8042_CMD_OFFSET, I8042_CMD_SELF_TEST);
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_FULL);
	assert_int_equal(rd(f->k, I8042_DATA_OFFSET), I8042_SELF_TEST_OK);
	assert_int_equal(metric(&g_metrics.i8042.read_count) - reads, 2);
	assert_int_equal(metric(&g_metrics.i8042.write_count) - writes, 1);
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_IDLE);
}

/* The VMM thread injects while a vCPU drains: sequences stay whole and ordered. */
#define CAD_ROUNDS 300

static void *inject(void *arg)
{
	struct i8042 *k = arg;

	for (int sent = 0; sent < CAD_ROUNDS;) {
		int ret = i8042_send_ctrl_alt_del(k);

		if (ret == 0)
			sent++;
		else if (ret != -EBUSY)
			return (void *)1;
	}
	return NULL;
}

static void test_concurrent_injection(void **state)
{
	struct fixture *f = *state;
	pthread_t thread;
	void *ret;
	unsigned int got = 0;

	assert_int_equal(pthread_create(&thread, NULL, inject, f->k), 0);
	while (got < CAD_ROUNDS * I8042_CAD_LEN) {
		if (!(rd(f->k, I8042_CMD_OFFSET) & I8042_STR_OBF))
			continue;
		assert_int_equal(rd(f->k, I8042_DATA_OFFSET), cad_bytes[got % I8042_CAD_LEN]);
		got++;
	}
	assert_int_equal(pthread_join(thread, &ret), 0);
	assert_null(ret);
	assert_int_equal(rd(f->k, I8042_CMD_OFFSET), STATUS_IDLE);
	assert_false(fake_irq_level(&f->irq));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_initial_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_control_register, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_port, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_self_tests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_response_replaces_pending_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keyboard_commands_are_acked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrl_alt_del, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrl_alt_del_buffer_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrl_alt_del_interrupt_disabled, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_accesses_and_metrics, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_injection, setup, teardown),
	};

	/* The interrupt-disabled case logs a warning by design. */
	log_set_level(LOG_OFF);
	/* A deadlock (e.g. the reset callback run under the lock) fails instead of hanging. */
	alarm(60);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
