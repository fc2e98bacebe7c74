// SPDX-License-Identifier: Apache-2.0
/*
 * gmtime_r, in place of the C library's, for every caller in the process:
 * the log's timestamps (log.c) and libmicrohttpd's Date header.
 *
 * glibc's gmtime_r goes through its time-zone code: on first use it reads
 * TZ or /etc/localtime and parses the zone's rule string with sscanf. In the
 * static binary that is ~94 KB of code (tzset, tzfile, the scanf family and
 * the strtof/strtold/strtof128 it needs) for nothing, since UTC needs no
 * zone; and reading /etc/localtime lazily would be an openat() on a
 * seccomp-filtered thread (the API thread's first Date header), which is
 * why ember used to call tzset() at start. This one is arithmetic only.
 *
 * The result is glibc's for every time_t (tests/unit/base/test_gmtime.c),
 * with one deliberate exception: glibc applies the leap seconds of a
 * "right/..." zone file even to UTC; POSIX time, which the log and HTTP
 * dates are, has none. A static link that pulls in glibc's gmtime.o after
 * all (a call to gmtime(), timegm() or localtime()) fails with a duplicate
 * definition of gmtime_r rather than silently bringing it back.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <time.h>

/* Its own name too: the unit test calls it by that name, which links it in. */
struct tm *ember_gmtime_r(const time_t *timep, struct tm *tm);

/*
 * The C library's name, for every caller. A shared library that comes
 * first in a link and defines gmtime_r (libasan) satisfies the reference
 * before libember.a is searched: ember names this object (Makefile).
 */
struct tm *gmtime_r(const time_t *timep, struct tm *tm) __attribute__((alias("ember_gmtime_r")));

struct tm *ember_gmtime_r(const time_t *timep, struct tm *tm)
{
	int64_t days = (int64_t)*timep / 86400, secs = (int64_t)*timep % 86400;
	int64_t z, era, year;
	unsigned int doe, yoe, doy, mp, month;
	int leap;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	/*
	 * Civil date from a day count (Howard Hinnant's days_from_civil
	 * inverse): proleptic Gregorian, in 400-year eras starting on March 1st
	 * so that the leap day ends each year.
	 */
	z = days + 719468; /* days since 0000-03-01 */
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned int)(z - era * 146097);			     /* [0, 146096] */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);		     /* [0, 365] */
	mp = (5 * doy + 2) / 153;				     /* [0, 11], March = 0 */
	month = mp < 10 ? mp + 3 : mp - 9;			     /* [1, 12] */
	year = (int64_t)yoe + era * 400 + (month <= 2);
	if (year - 1900 > INT_MAX || year - 1900 < INT_MIN) {
		errno = EOVERFLOW;
		return NULL;
	}
	leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
	tm->tm_sec = (int)(secs % 60);
	tm->tm_min = (int)(secs / 60 % 60);
	tm->tm_hour = (int)(secs / 3600);
	tm->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm->tm_mon = (int)month - 1;
	tm->tm_year = (int)(year - 1900);
	tm->tm_wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
	tm->tm_yday = (int)(month >= 3 ? doy + 59 + leap : doy - 306);
	tm->tm_isdst = 0;
	tm->tm_gmtoff = 0;
	tm->tm_zone = "GMT";
	return tm;
}
