// SPDX-License-Identifier: Apache-2.0
/*
 * The log: one message is one line. Control characters in a message (a
 * resource id or path from an API client, say "a\nb") and in the line's
 * prefix (the instance id) come out as \xNN, never raw; long lines are cut
 * without splitting an escape. The module filter and its module paths; the
 * per call site rate limit (Firecracker's GCRA, 10 lines then one per 500 ms).
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
#include "vmm/base/metrics.h"

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

/* Firecracker's module names for Ember's source paths (log.h). */
static void module_paths(void **state)
{
	char out[64];

	(void)state;
	log_module_path(out, sizeof(out), "devices/virtio/block.c");
	assert_string_equal(out, "vmm::devices::virtio::block");
	log_module_path(out, sizeof(out), "devices/legacy/serial.c");
	assert_string_equal(out, "vmm::devices::legacy::serial");
	log_module_path(out, sizeof(out), "api/api_server.c");
	assert_string_equal(out, "firecracker::api_server::api_server");
	log_module_path(out, sizeof(out), "vmm/main.c");
	assert_string_equal(out, "firecracker::main");
	log_module_path(out, sizeof(out), "vmm/kvm/vcpu.c");
	assert_string_equal(out, "vmm::kvm::vcpu");
	log_module_path(out, sizeof(out), "vmm/vmm.c");
	assert_string_equal(out, "vmm::vmm");
	/* Cut to the buffer, still a string. */
	assert_int_equal(log_module_path(out, 10, "devices/virtio/block.c"), 9);
	assert_string_equal(out, "vmm::devi");
	assert_int_equal(log_module_path(out, 3, "vmm/kvm/vcpu.c"), 2);
	assert_string_equal(out, "vm");
}

static void module_filter(void **state)
{
	const char *text;

	(void)state;
	log_set_module("vmm::devices");
	log_msg(LOG_WARN, "devices/legacy/serial.c", 1, "from the serial");
	log_msg(LOG_WARN, "vmm/kvm/vcpu.c", 1, "from a vcpu");
	log_msg(LOG_WARN, "api/api_server.c", 1, "from the api");
	log_set_module("firecracker");
	log_msg(LOG_WARN, "devices/legacy/serial.c", 1, "serial again");
	log_msg(LOG_WARN, "api/api_server.c", 1, "api again");
	log_set_module("vmm");
	log_msg(LOG_WARN, "vmm/kvm/vcpu.c", 1, "vcpu again");
	log_msg(LOG_WARN, "devices/virtio/net.c", 1, "net, part of vmm");
	log_msg(LOG_WARN, "api/api_server.c", 1, "api not vmm");
	/* A plain prefix, not a path component: "vmm::dev" matches "vmm::devices". */
	log_set_module("vmm::dev");
	log_msg(LOG_WARN, "devices/virtio/rng.c", 1, "rng by prefix");
	log_set_module(NULL);
	log_msg(LOG_WARN, "vmm/kvm/vcpu.c", 1, "all again");
	text = read_log();
	assert_non_null(strstr(text, "] from the serial\n"));
	assert_null(strstr(text, "from a vcpu"));
	assert_null(strstr(text, "from the api"));
	assert_null(strstr(text, "serial again"));
	assert_non_null(strstr(text, "] api again\n"));
	assert_non_null(strstr(text, "] vcpu again\n"));
	assert_non_null(strstr(text, "] net, part of vmm\n"));
	assert_null(strstr(text, "api not vmm"));
	assert_non_null(strstr(text, "] rng by prefix\n"));
	assert_non_null(strstr(text, "] all again\n"));
}

/* The limiter itself, on a clock of our own (ms). */
static void limiter_gcra(void **state)
{
	struct log_limiter lim = {0};
	uint64_t t = 1000000, suppressed = 99;

	(void)state;
	metrics_reset();
	/* A burst of 10 back to back, then nothing. */
	for (int i = 0; i < LOG_LIMIT_BURST; i++) {
		assert_true(log_limiter_allow(&lim, t, &suppressed));
		assert_int_equal(suppressed, 0);
	}
	assert_false(log_limiter_allow(&lim, t, &suppressed));
	assert_false(log_limiter_allow(&lim, t + LOG_LIMIT_PERIOD_MS - 1, &suppressed));
	assert_int_equal(atomic_load(&g_metrics.logger.rate_limited_log_count), 2);
	/* One token per period: the next line says how many were dropped. */
	assert_true(log_limiter_allow(&lim, t + LOG_LIMIT_PERIOD_MS, &suppressed));
	assert_int_equal(suppressed, 2);
	assert_false(log_limiter_allow(&lim, t + LOG_LIMIT_PERIOD_MS, &suppressed));
	assert_true(log_limiter_allow(&lim, t + 2 * LOG_LIMIT_PERIOD_MS, &suppressed));
	assert_int_equal(suppressed, 1);
	/* Idle for the refill time: a whole burst again, and no more. */
	t += 2 * LOG_LIMIT_PERIOD_MS + LOG_LIMIT_REFILL_MS;
	for (int i = 0; i < LOG_LIMIT_BURST; i++)
		assert_true(log_limiter_allow(&lim, t, &suppressed));
	assert_false(log_limiter_allow(&lim, t, &suppressed));
	assert_int_equal(atomic_load(&g_metrics.logger.rate_limited_log_count), 4);
	/* A clock that goes back (another thread's earlier reading) is no gift. */
	assert_false(log_limiter_allow(&lim, t - 1000, &suppressed));
}

/* The dropped count saturates (24 bits) rather than wrapping into the time. */
static void limiter_saturates(void **state)
{
	struct log_limiter lim = {.state = ((UINT64_C(1) << 24) - 2) << 40 | 5000};
	uint64_t suppressed = 0;

	(void)state;
	for (int i = 0; i < 5; i++)
		assert_false(log_limiter_allow(&lim, 100, &suppressed));
	assert_int_equal(lim.state & ((UINT64_C(1) << 40) - 1), 5000);
	assert_true(log_limiter_allow(&lim, 5000, &suppressed));
	assert_int_equal(suppressed, (UINT64_C(1) << 24) - 1);
}

/* A call site in a loop: 10 lines then silence; another site still logs. */
static void site_flood(void **state)
{
	const char *text;

	(void)state;
	metrics_reset();
	for (int i = 0; i < 50; i++)
		log_warn("flood %d", i);
	log_warn("another site");
	text = read_log();
	/* The loop takes far less than a period; a slow machine may let one more through. */
	assert_true(count_char(text, '\n') == LOG_LIMIT_BURST + 1 ||
		    count_char(text, '\n') == LOG_LIMIT_BURST + 3);
	assert_non_null(strstr(text, "] flood 9\n"));
	assert_null(strstr(text, "] flood 12\n"));
	assert_non_null(strstr(text, "] another site\n"));
	assert_true(atomic_load(&g_metrics.logger.rate_limited_log_count) >= 39);
	/* Unrestricted: every line. Debug is not limited either. */
	for (int i = 0; i < 30; i++)
		log_warn_unrestricted("host %d", i);
	log_set_level(LOG_DEBUG);
	for (int i = 0; i < 30; i++)
		log_debug("debug %d", i);
	text = read_log();
	assert_non_null(strstr(text, "] host 29\n"));
	assert_non_null(strstr(text, "] debug 29\n"));
}

/* Lines the level filter drops take no token: they cannot starve the site. */
static void filtered_lines_do_not_count(void **state)
{
	(void)state;
	metrics_reset();
	log_set_level(LOG_ERROR);
	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < 20; k++)
			log_info("quiet %d", k);
		if (i == 1)
			log_set_level(LOG_INFO);
	}
	/* The third round, at Info, is the first to count: 10 lines. */
	assert_non_null(strstr(read_log(), "] quiet 9\n"));
	assert_null(strstr(read_log(), "] quiet 10\n"));
	assert_int_equal(atomic_load(&g_metrics.logger.rate_limited_log_count), 10);
}

/* After a pause the site logs again, saying how many lines it dropped. */
static void suppressed_summary(void **state)
{
	(void)state;
	for (int i = 0; i < 12; i++) {
		log_error("burst %d", i);
		if (i == 10)
			usleep((LOG_LIMIT_PERIOD_MS + 50) * 1000);
	}
	assert_non_null(strstr(read_log(), "] 1 messages were suppressed due to rate limiting\n"));
	assert_non_null(strstr(read_log(), "] burst 11\n"));
	assert_null(strstr(read_log(), "] burst 10\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(control_characters_cannot_forge_a_line, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(prefix_is_escaped_too, setup, teardown),
	    cmocka_unit_test_setup_teardown(long_lines_stay_one_line, setup, teardown),
	    cmocka_unit_test(escape_helper),
	    cmocka_unit_test(module_paths),
	    cmocka_unit_test_setup_teardown(module_filter, setup, teardown),
	    cmocka_unit_test(limiter_gcra),
	    cmocka_unit_test(limiter_saturates),
	    cmocka_unit_test_setup_teardown(site_flood, setup, teardown),
	    cmocka_unit_test_setup_teardown(filtered_lines_do_not_count, setup, teardown),
	    cmocka_unit_test_setup_teardown(suppressed_summary, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
