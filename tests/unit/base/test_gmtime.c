// SPDX-License-Identifier: Apache-2.0
/*
 * Ember's gmtime_r (vmm/base/gmtime.c, which replaces the C library's)
 * against glibc's gmtime(), which it does not replace: every field, for
 * dates around the epoch, the leap-year rules, negative times, the ends of
 * the int tm_year range and a spread of pseudo-random times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* vmm/base/gmtime.c: gmtime_r under its own name (which links it in). */
struct tm *ember_gmtime_r(const time_t *timep, struct tm *tm);

static void expect_same(time_t t)
{
	struct tm ours, *libc;

	memset(&ours, 0x55, sizeof(ours));
	errno = 0;
	if (!gmtime_r(&t, &ours)) {
		assert_int_equal(errno, EOVERFLOW);
		assert_null(gmtime(&t));
		return;
	}
	libc = gmtime(&t);
	if (!libc)
		fail_msg("%lld: ours gives a date, glibc none", (long long)t);
	if (ours.tm_sec != libc->tm_sec || ours.tm_min != libc->tm_min ||
	    ours.tm_hour != libc->tm_hour || ours.tm_mday != libc->tm_mday ||
	    ours.tm_mon != libc->tm_mon || ours.tm_year != libc->tm_year ||
	    ours.tm_wday != libc->tm_wday || ours.tm_yday != libc->tm_yday ||
	    ours.tm_isdst != libc->tm_isdst || ours.tm_gmtoff != libc->tm_gmtoff ||
	    strcmp(ours.tm_zone, libc->tm_zone))
		fail_msg("%lld: ours %d-%d-%d %d:%d:%d wday %d yday %d, glibc %d-%d-%d %d:%d:%d "
			 "wday %d yday %d",
			 (long long)t, ours.tm_year, ours.tm_mon, ours.tm_mday, ours.tm_hour,
			 ours.tm_min, ours.tm_sec, ours.tm_wday, ours.tm_yday, libc->tm_year,
			 libc->tm_mon, libc->tm_mday, libc->tm_hour, libc->tm_min, libc->tm_sec,
			 libc->tm_wday, libc->tm_yday);
}

/*
 * The gmtime_r every caller in this binary gets is Ember's, not the C
 * library's nor a sanitizer runtime's: it was linked in, so the executable's
 * definition comes first, before any shared library's (libasan defines one
 * too, and came first when nothing named Ember's).
 */
static void test_gmtime_r_is_embers(void **state)
{
	(void)state;
	assert_ptr_equal((void *)gmtime_r, (void *)ember_gmtime_r);
}

static void test_known_dates(void **state)
{
	struct tm tm;
	time_t t;

	(void)state;
	t = 0;
	assert_non_null(gmtime_r(&t, &tm));
	assert_int_equal(tm.tm_year, 70);
	assert_int_equal(tm.tm_wday, 4);
	t = 951782400; /* 2000-02-29, a leap day of a century divisible by 400 */
	assert_non_null(gmtime_r(&t, &tm));
	assert_int_equal(tm.tm_year, 100);
	assert_int_equal(tm.tm_mon, 1);
	assert_int_equal(tm.tm_mday, 29);
	assert_int_equal(tm.tm_yday, 59);
	t = 4107542400; /* 2100-03-01: 2100 has no Feb 29 */
	assert_non_null(gmtime_r(&t, &tm));
	assert_int_equal(tm.tm_mon, 2);
	assert_int_equal(tm.tm_mday, 1);
	assert_int_equal(tm.tm_yday, 59);
	t = -1; /* 1969-12-31 23:59:59 */
	assert_non_null(gmtime_r(&t, &tm));
	assert_int_equal(tm.tm_year, 69);
	assert_int_equal(tm.tm_yday, 364);
	assert_int_equal(tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec, 86399);
}

static void test_matches_glibc(void **state)
{
	static const int64_t years[] = {-4713, -1,   0,	   1,	 1600, 1899, 1900, 1969,
					1970,  1999, 2000, 2038, 2100, 2400, 9999, 100000};
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	(void)state;
	for (int64_t t = -3 * 86400; t <= 3 * 86400; t += 599)
		expect_same((time_t)t);
	/* The days around each year's end and leap day, for years across the rules. */
	for (size_t i = 0; i < sizeof(years) / sizeof(years[0]); i++) {
		int64_t approx = (years[i] - 1970) * 31556952LL; /* mean Gregorian year */

		for (int64_t d = -400; d <= 400; d++)
			expect_same((time_t)(approx + d * 86400 + d % 86400));
	}
	/* Pseudo-random times: small, large, and beyond what tm_year can hold. */
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		expect_same((time_t)((int64_t)x >> (i % 24)));
	}
	expect_same((time_t)INT64_MAX);
	expect_same((time_t)INT64_MIN);
	/* The last and first seconds whose year fits an int. */
	expect_same((time_t)67768036191676799LL);
	expect_same((time_t)67768036191676800LL);
	expect_same((time_t)-67768040609740800LL);
	expect_same((time_t)-67768040609740801LL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gmtime_r_is_embers),
	    cmocka_unit_test(test_known_dates),
	    cmocka_unit_test(test_matches_glibc),
	};

	/* glibc's gmtime() would apply a "right/" zone's leap seconds: no zone file. */
	setenv("TZ", "UTC0", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
