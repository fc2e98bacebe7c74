// SPDX-License-Identifier: Apache-2.0
/* Boot timer: the magic write logs Firecracker's line once; nothing else logs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/bus.h"
#include "vmm/mem/layout.h"
#include "devices/legacy/boot_timer.h"
#include "vmm/base/log.h"

struct fixture {
	char path[64];
	char text[4096]; /* the log file's contents, refreshed by read_log() */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	snprintf(f->path, sizeof(f->path), "/tmp/ember-boot-timer-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	log_reset();
	assert_int_equal(log_set_path(f->path), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	log_reset();
	unlink(f->path);
	free(f);
	return 0;
}

static void read_log(struct fixture *f)
{
	FILE *fp = fopen(f->path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(f->text, 1, sizeof(f->text) - 1, fp);
	f->text[n] = '\0';
	fclose(fp);
}

static unsigned int count_lines(const char *text, const char *needle)
{
	unsigned int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The message part of the only log line ("<time> [<id>:<thread>] <message>\n"). */
static const char *only_message(struct fixture *f, char *buf, size_t cap)
{
	const char *start, *end;

	read_log(f);
	assert_int_equal(count_lines(f->text, "\n"), 1);
	start = strstr(f->text, "] ");
	assert_non_null(start);
	start += 2;
	end = strchr(start, '\n');
	assert_true((size_t)(end - start) < cap);
	memcpy(buf, start, end - start);
	buf[end - start] = '\0';
	return buf;
}

static void write_byte(struct boot_timer *t, uint64_t offset, uint8_t value)
{
	boot_timer_bus_ops.write(t, offset, &value, 1);
}

static void test_exact_format(void **state)
{
	struct fixture *f = *state;
	uint64_t wall, cpu;
	struct boot_timer *t;
	char msg[256];

	/* A start in the future reads as 0 elapsed: the whole line is known. */
	boot_timer_now(&wall, &cpu);
	t = boot_timer_create(wall + 3600ULL * 1000000, cpu + 3600ULL * 1000000);
	assert_non_null(t);
	write_byte(t, 0, BOOT_TIMER_MAGIC);
	assert_string_equal(only_message(f, msg, sizeof(msg)),
			    "Guest-boot-time =      0 us 0 ms,      0 CPU us 0 CPU ms");
	assert_non_null(strstr(f->text, " [anonymous-instance:main] Guest-boot-time"));
	boot_timer_destroy(t);
}

static void test_measures_from_start(void **state)
{
	struct fixture *f = *state;
	uint64_t wall0, cpu0, wall1, cpu1, us, ms, cpu_us, cpu_ms;
	const uint64_t ago = 2500000; /* the "VMM" started 2.5 s ago */
	struct boot_timer *t;
	char msg[256], expect[256];

	boot_timer_now(&wall0, &cpu0);
	t = boot_timer_create(wall0 - ago, 0);
	assert_non_null(t);
	write_byte(t, 0, BOOT_TIMER_MAGIC);
	boot_timer_now(&wall1, &cpu1);

	only_message(f, msg, sizeof(msg));
	assert_int_equal(sscanf(msg,
				"Guest-boot-time = %" SCNu64 " us %" SCNu64 " ms, %" SCNu64
				" CPU us %" SCNu64 " CPU ms",
				&us, &ms, &cpu_us, &cpu_ms),
			 4);
	assert_in_range(us, ago, wall1 - wall0 + ago);
	assert_in_range(cpu_us, cpu0, cpu1);
	assert_int_equal(ms, us / 1000);
	assert_int_equal(cpu_ms, cpu_us / 1000);
	/* Byte for byte: Firecracker's "{:>6} us {} ms, {:>6} CPU us {} CPU ms". */
	snprintf(expect, sizeof(expect),
		 "Guest-boot-time = %6" PRIu64 " us %" PRIu64 " ms, %6" PRIu64 " CPU us %" PRIu64
		 " CPU ms",
		 us, ms, cpu_us, cpu_ms);
	assert_string_equal(msg, expect);
	boot_timer_destroy(t);
}

static void test_only_the_magic_byte_logs(void **state)
{
	struct fixture *f = *state;
	struct boot_timer *t = boot_timer_create(0, 0);
	const uint8_t wide[4] = {BOOT_TIMER_MAGIC, 0, 0, 0};
	uint8_t rbuf[4] = {1, 2, 3, 4};

	assert_non_null(t);
	for (unsigned int v = 0; v < 256; v++)
		if (v != BOOT_TIMER_MAGIC)
			write_byte(t, 0, (uint8_t)v);
	write_byte(t, 1, BOOT_TIMER_MAGIC); /* wrong offset */
	write_byte(t, LAYOUT_BOOT_TIMER_SIZE - 1, BOOT_TIMER_MAGIC);
	boot_timer_bus_ops.write(t, 0, wide, 2); /* wrong width */
	boot_timer_bus_ops.write(t, 0, wide, 4);
	boot_timer_bus_ops.read(t, 0, rbuf, 4);
	assert_memory_equal(rbuf, "\0\0\0\0", 4);
	read_log(f);
	assert_string_equal(f->text, "");

	write_byte(t, 0, BOOT_TIMER_MAGIC);
	read_log(f);
	assert_int_equal(count_lines(f->text, "Guest-boot-time = "), 1);
	assert_int_equal(count_lines(f->text, "\n"), 1);
	boot_timer_destroy(t);
}

/* Through the MMIO bus at its real address, as a vCPU's MMIO exit would reach it. */
static void test_on_the_mmio_bus(void **state)
{
	struct fixture *f = *state;
	struct boot_timer *t = boot_timer_create(0, 0);
	const uint8_t magic = BOOT_TIMER_MAGIC, other = 124;
	struct bus mmio;

	assert_non_null(t);
	bus_init(&mmio);
	assert_int_equal(bus_register(&mmio, LAYOUT_BOOT_TIMER_ADDR, LAYOUT_BOOT_TIMER_SIZE,
				      &boot_timer_bus_ops, t),
			 0);
	assert_true(bus_write(&mmio, LAYOUT_BOOT_TIMER_ADDR, &other, 1));
	assert_true(bus_write(&mmio, LAYOUT_BOOT_TIMER_ADDR + 4, &magic, 1));
	read_log(f);
	assert_string_equal(f->text, "");
	assert_true(bus_write(&mmio, LAYOUT_BOOT_TIMER_ADDR, &magic, 1));
	read_log(f);
	assert_int_equal(count_lines(f->text, "Guest-boot-time = "), 1);
	/* Each signal is one line, as in Firecracker. */
	assert_true(bus_write(&mmio, LAYOUT_BOOT_TIMER_ADDR, &magic, 1));
	read_log(f);
	assert_int_equal(count_lines(f->text, "Guest-boot-time = "), 2);
	bus_destroy(&mmio);
	boot_timer_destroy(t);
}

static void test_below_log_level_is_silent(void **state)
{
	struct fixture *f = *state;
	struct boot_timer *t = boot_timer_create(0, 0);

	assert_non_null(t);
	log_set_level(LOG_WARN);
	write_byte(t, 0, BOOT_TIMER_MAGIC);
	read_log(f);
	assert_string_equal(f->text, "");
	boot_timer_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_exact_format, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_measures_from_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_only_the_magic_byte_logs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_on_the_mmio_bus, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_below_log_level_is_silent, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
