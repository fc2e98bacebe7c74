// SPDX-License-Identifier: Apache-2.0
/*
 * The log: one message is one line. Control characters in a message (a
 * resource id or path from an API client, say "a\nb") and in the line's
 * prefix (the instance id) come out as \xNN, never raw; long lines are cut
 * without splitting an escape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/base/log.h"

static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ember-log.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/log", dir);
	return log_set_path(path);
}

static int teardown(void **state)
{
	(void)state;
	log_reset();
	log_set_thread_name("main");
	unlink(path);
	return rmdir(dir);
}

/* Everything written to the log so far. */
static char *read_log(void)
{
	static char buf[16384];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static void control_characters_cannot_forge_a_line(void **state)
{
	const char *text;

	(void)state;
	log_warn("The API server received a PUT request on \"%s\".", "/drives/a\nb");
	log_error("path %s, tab\there, %s", "/x\r\x1b[31mred\x7f", "bell\a");
	text = read_log();
	assert_int_equal(count_char(text, '\n'), 2);
	assert_non_null(strstr(text, "] The API server received a PUT request on "
				     "\"/drives/a\\x0ab\".\n"));
	assert_non_null(strstr(text, "] path /x\\x0d\\x1b[31mred\\x7f, tab\\x09here, "
				     "bell\\x07\n"));
	/* Nothing else changes: UTF-8, quotes, backslashes stay as they are. */
	log_info("caf\xc3\xa9 \"q\" back\\slash");
	assert_non_null(strstr(read_log(), "] caf\xc3\xa9 \"q\" back\\slash\n"));
}

static void prefix_is_escaped_too(void **state)
{
	(void)state;
	log_set_instance_id("vm\n1");
	log_set_thread_name("t\x1b");
	log_info("hello");
	assert_non_null(strstr(read_log(), " [vm\\x0a1:t\\x1b] hello\n"));
	assert_int_equal(count_char(read_log(), '\n'), 1);
}

static void long_lines_stay_one_line(void **state)
{
	char big[3000];
	const char *text;

	(void)state;
	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
	text = read_log();
	assert_int_equal(count_char(text, '\n'), 1);
	assert_true(text[strlen(text) - 1] == '\n');
	/* Cut at a whole escape. */
	assert_non_null(strstr(text, "\\x0a\n"));
}

static void escape_helper(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(log_escape(out, sizeof(out), "ab\ncd", 5), 8);
	assert_string_equal(out, "ab\\x0acd");
	/* An embedded NUL within @len is a control character like any other. */
	assert_int_equal(log_escape(out, sizeof(out), "a\0b", 3), 6);
	assert_string_equal(out, "a\\x00b");
	/* No partial escape: "abcdefghij" + "\x01" needs 14 + NUL; 13 bytes hold only the text. */
	assert_int_equal(log_escape(out, 13, "abcdefghij\x01z", 12), 10);
	assert_string_equal(out, "abcdefghij");
	assert_int_equal(log_escape(out, 1, "abc", 3), 0);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(control_characters_cannot_forge_a_line, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(prefix_is_escaped_too, setup, teardown),
	    cmocka_unit_test_setup_teardown(long_lines_stay_one_line, setup, teardown),
	    cmocka_unit_test(escape_helper),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
