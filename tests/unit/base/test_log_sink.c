// SPDX-License-Identifier: Apache-2.0
/*
 * The log's sink opens as Firecracker's does (read-write, non-blocking,
 * created if missing): a FIFO nobody reads yet is accepted, which
 * Firecracker's Go SDK relies on (it creates the FIFO, PUTs /logger, and
 * only then starts reading); what is logged before the reader comes is
 * there for it; a full FIFO drops lines instead of blocking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/base/log.h"

static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ember-log-sink.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/log", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_reset();
	unlink(path);
	return rmdir(dir);
}

/* Everything readable on @fd now (non-blocking), NUL-terminated. */
static char *drain(int fd)
{
	static char buf[1 << 17];
	size_t n = 0;
	ssize_t got;

	while (n < sizeof(buf) - 1 && (got = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += got;
	buf[n] = '\0';
	return buf;
}

static void fifo_without_reader_opens(void **state)
{
	int reader;

	(void)state;
	assert_int_equal(mkfifo(path, 0600), 0);
	/* No reader: a write-only open would fail with ENXIO. */
	assert_int_equal(log_set_path(path), 0);
	log_msg(LOG_ERROR, __FILE__, __LINE__, "before-the-reader");

	reader = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(reader >= 0);
	log_msg(LOG_ERROR, __FILE__, __LINE__, "after-the-reader");
	char *got = drain(reader);
	assert_non_null(strstr(got, "before-the-reader"));
	assert_non_null(strstr(got, "after-the-reader"));
	close(reader);
}

static void full_fifo_does_not_block(void **state)
{
	char line[512];
	int reader, i;

	(void)state;
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(log_set_path(path), 0);
	/* Far more than a pipe holds (64 KiB): returns, dropping what does not fit. */
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	for (i = 0; i < 1000; i++)
		log_msg(LOG_ERROR, __FILE__, __LINE__, "%s", line);
	reader = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(reader >= 0);
	assert_true(strlen(drain(reader)) > 0);
	close(reader);
}

static void missing_file_is_created(void **state)
{
	struct stat st;

	(void)state;
	assert_int_equal(log_set_path(path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(log_set_path("/nonexistent-dir/log"), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(fifo_without_reader_opens, setup, teardown),
	    cmocka_unit_test_setup_teardown(full_fifo_does_not_block, setup, teardown),
	    cmocka_unit_test_setup_teardown(missing_file_is_created, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
