// SPDX-License-Identifier: Apache-2.0
/*
 * sort_in_place(): sorted output that is a permutation of the input, for
 * element sizes that are not a word, strings by pointer, the empty and
 * one-element arrays; and no system call at all (a child sorts 64 KiB under
 * a seccomp filter that kills on any call but exit), which glibc's qsort()
 * could not promise (sysinfo() for arrays of 1 KiB and more).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/base/sort.h"

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* 3-byte records ordered by their first two bytes (big-endian). */
static int cmp_rec3(const void *a, const void *b)
{
	const uint8_t *x = a, *y = b;

	return ((x[0] << 8) | x[1]) - ((y[0] << 8) | y[1]);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static uint32_t next_rand(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void test_u32_sorted_permutation(void **state)
{
	static uint32_t v[1000], counts[64], after[64];
	uint32_t seed = 7;

	(void)state;
	for (size_t n = 0; n <= 1000; n += (n < 20 ? 1 : 97)) {
		memset(counts, 0, sizeof(counts));
		memset(after, 0, sizeof(after));
		for (size_t i = 0; i < n; i++) {
			v[i] = next_rand(&seed) % 64; /* many duplicates */
			counts[v[i]]++;
		}
		sort_in_place(v, n, sizeof(v[0]), cmp_u32);
		for (size_t i = 0; i < n; i++) {
			if (i)
				assert_true(v[i - 1] <= v[i]);
			after[v[i]]++;
		}
		assert_memory_equal(counts, after, sizeof(counts));
	}
}

static void test_odd_size_records(void **state)
{
	uint8_t r[5][3] = {{0, 9, 'a'}, {0, 1, 'b'}, {1, 0, 'c'}, {0, 5, 'd'}, {0, 0, 'e'}};

	(void)state;
	sort_in_place(r, 5, 3, cmp_rec3);
	assert_int_equal(r[0][2], 'e');
	assert_int_equal(r[1][2], 'b');
	assert_int_equal(r[2][2], 'd');
	assert_int_equal(r[3][2], 'a');
	assert_int_equal(r[4][2], 'c');
}

static void test_strings(void **state)
{
	const char *k[] = {"meta-data", "ami-id", "b", "a", "", "ami"};

	(void)state;
	sort_in_place(k, 6, sizeof(k[0]), cmp_str);
	assert_string_equal(k[0], "");
	assert_string_equal(k[1], "a");
	assert_string_equal(k[2], "ami");
	assert_string_equal(k[3], "ami-id");
	assert_string_equal(k[4], "b");
	assert_string_equal(k[5], "meta-data");
	sort_in_place(k, 0, sizeof(k[0]), cmp_str);
	sort_in_place(k, 1, sizeof(k[0]), cmp_str);
	assert_string_equal(k[0], "");
}

static void test_no_system_call(void **state)
{
	static uint32_t v[16384];
	uint32_t seed = 1;
	scmp_filter_ctx f;
	int status;
	pid_t pid;

	(void)state;
	for (size_t i = 0; i < 16384; i++)
		v[i] = next_rand(&seed);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		f = seccomp_init(SCMP_ACT_KILL_PROCESS);
		if (!f || seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(exit_group), 0) ||
		    seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(exit), 0) || seccomp_load(f))
			_exit(2);
		sort_in_place(v, 16384, sizeof(v[0]), cmp_u32);
		for (size_t i = 1; i < 16384; i++)
			if (v[i - 1] > v[i])
				syscall(SYS_exit_group, 1);
		syscall(SYS_exit_group, 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_u32_sorted_permutation),
	    cmocka_unit_test(test_odd_size_records),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_no_system_call),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
