// SPDX-License-Identifier: Apache-2.0
/*
 * Metrics: Firecracker's JSON line layout, deltas between flushes for
 * counters, absolute values for the stored start-up times, the sink rules
 * (created when missing, once only, FIFO without reader, full FIFO).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm/base/metrics.h"

struct fixture {
	char dir[64];
	char path[128];
	int reader; /* our end of the sink */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ember-metrics.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/metrics", f->dir);
	f->reader = -1;
	metrics_close();
	metrics_reset();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	metrics_close();
	if (f->reader >= 0)
		close(f->reader);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A regular-file sink, opened for reading by the test as well. */
static void file_sink(struct fixture *f)
{
	int fd = open(f->path, O_CREAT | O_WRONLY, 0600);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(metrics_init(f->path), 0);
	f->reader = open(f->path, O_RDONLY);
	assert_true(f->reader >= 0);
}

/* Flush and parse the line just written. */
static json_t *flush_line(struct fixture *f)
{
	char buf[16384];
	json_error_t e;
	ssize_t n;
	json_t *j;

	assert_int_equal(metrics_flush(), 0);
	n = read(f->reader, buf, sizeof(buf) - 1);
	assert_true(n > 1);
	buf[n] = '\0';
	/* Exactly one line per flush. */
	assert_int_equal(buf[n - 1], '\n');
	assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
	j = json_loads(buf, 0, &e);
	assert_non_null(j);
	return j;
}

static uint64_t value(json_t *line, const char *group, const char *name)
{
	json_t *v = json_object_get(json_object_get(line, group), name);

	assert_true(json_is_integer(v));
	return (uint64_t)json_integer_value(v);
}

static void test_line_layout(void **state)
{
	struct fixture *f = *state;
	struct timespec ts;
	json_t *line, *group;
	const char *key;
	size_t total = 0;
	int64_t now_ms;

	file_sink(f);
	line = flush_line(f);
	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	assert_true(json_is_integer(json_object_get(line, "utc_timestamp_ms")));
	assert_true(now_ms - json_integer_value(json_object_get(line, "utc_timestamp_ms")) < 5000);
	/* Firecracker's group names, each an object of integers. */
	json_object_foreach(line, key, group)
	{
		const char *name;
		json_t *v;

		if (!strcmp(key, "utc_timestamp_ms"))
			continue;
		assert_true(json_is_object(group));
		json_object_foreach(group, name, v)
		{
			assert_true(json_is_integer(v));
			assert_int_equal(json_integer_value(v), 0);
			total++;
		}
	}
	/* Every counter of struct ember_metrics is written, once. */
	assert_int_equal(total, sizeof(struct ember_metrics) / sizeof(metric_t));
	assert_int_equal(value(line, "put_api_requests", "machine_cfg_fails"), 0);
	assert_int_equal(value(line, "get_api_requests", "instance_info_count"), 0);
	assert_int_equal(value(line, "i8042", "reset_count"), 0);
	assert_int_equal(value(line, "uart", "flush_count"), 0);
	assert_int_equal(value(line, "vcpu", "exit_mmio_write"), 0);
	assert_int_equal(value(line, "seccomp", "num_faults"), 0);
	json_decref(line);
}

static void test_deltas_and_stores(void **state)
{
	struct fixture *f = *state;
	json_t *line;

	file_sink(f);
	metric_add(&g_metrics.uart.write_count, 3);
	metric_inc(&g_metrics.i8042.reset_count);
	atomic_store(&g_metrics.api_server.process_startup_time_us, 1500);
	line = flush_line(f);
	assert_int_equal(value(line, "uart", "write_count"), 3);
	assert_int_equal(value(line, "i8042", "reset_count"), 1);
	assert_int_equal(value(line, "api_server", "process_startup_time_us"), 1500);
	json_decref(line);

	/* Counters report the change since the last flush; stores their value. */
	metric_add(&g_metrics.uart.write_count, 2);
	line = flush_line(f);
	assert_int_equal(value(line, "uart", "write_count"), 2);
	assert_int_equal(value(line, "i8042", "reset_count"), 0);
	assert_int_equal(value(line, "api_server", "process_startup_time_us"), 1500);
	json_decref(line);
	assert_int_equal(atomic_load(&g_metrics.uart.write_count), 5);

	metrics_reset();
	assert_int_equal(atomic_load(&g_metrics.uart.write_count), 0);
	line = flush_line(f);
	assert_int_equal(value(line, "uart", "write_count"), 0);
	assert_int_equal(value(line, "api_server", "process_startup_time_us"), 0);
	json_decref(line);
}

static void test_sink_rules(void **state)
{
	struct fixture *f = *state;

	char missing_dir[192];
	struct stat st;

	assert_int_equal(metrics_flush(), -ENOENT);
	snprintf(missing_dir, sizeof(missing_dir), "%s/no/such/dir", f->dir);
	assert_int_equal(metrics_init(missing_dir), -ENOENT);
	/* A missing file is created, as by Firecracker's open_file_nonblock. */
	assert_int_equal(metrics_init(f->path), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	metrics_close();
	file_sink(f);
	assert_int_equal(metrics_init(f->path), -EALREADY);
	metrics_close();
	assert_int_equal(metrics_flush(), -ENOENT);
	assert_int_equal(metrics_init(f->path), 0);
}

static void test_fifo_sink(void **state)
{
	struct fixture *f = *state;
	char buf[16384];
	json_t *line;
	int ret, lines;

	assert_int_equal(mkfifo(f->path, 0600), 0);
	/* No reader yet: opening must not fail (ENXIO) nor block. */
	assert_int_equal(metrics_init(f->path), 0);
	f->reader = open(f->path, O_RDONLY | O_NONBLOCK);
	assert_true(f->reader >= 0);

	/* Fill the FIFO without reading: the flush fails instead of blocking. */
	metric_add(&g_metrics.vmm.device_events, 4);
	for (lines = 0; (ret = metrics_flush()) == 0; lines++)
		assert_true(lines < 100000);
	assert_int_equal(ret, -EAGAIN);
	assert_true(lines > 0);
	/* The failed flush kept its counts for the next one. */
	metric_add(&g_metrics.vmm.device_events, 1);
	while (read(f->reader, buf, sizeof(buf)) > 0)
		;
	line = flush_line(f);
	assert_int_equal(value(line, "vmm", "device_events"), 1);
	json_decref(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_line_layout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deltas_and_stores, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sink_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fifo_sink, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
