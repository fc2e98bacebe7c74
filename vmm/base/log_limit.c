// SPDX-License-Identifier: Apache-2.0
/*
 * The per call site log rate limit (log.h). Firecracker's algorithm: the
 * Generic Cell Rate Algorithm on one 64-bit word per call site, the
 * theoretical arrival time (TAT, ms, low 40 bits: ~34 years of a monotonic
 * clock) and the count of lines dropped since the last one that went out
 * (high 24 bits, saturating). A line at @now is allowed when
 * max(TAT, now) + period - now <= LOG_LIMIT_REFILL_MS, which advances TAT by
 * one period: a token bucket of LOG_LIMIT_BURST lines refilled over
 * LOG_LIMIT_REFILL_MS. Kept apart from log.c, which the jailer links without
 * the metrics.
 */
#include "vmm/base/log.h"

#include <time.h>

#include "vmm/base/metrics.h"

#define TAT_BITS       40
#define TAT_MASK       ((UINT64_C(1) << TAT_BITS) - 1)
#define MAX_SUPPRESSED (UINT64_MAX >> TAT_BITS)
/* Compare-and-swap attempts before a contended line is dropped (bounds a livelock). */
#define CAS_RETRIES 16

_Static_assert(LOG_LIMIT_PERIOD_MS > 0, "the log limit's period rounds to 0 ms");

static uint64_t pack(uint64_t tat_ms, uint64_t suppressed)
{
	if (suppressed > MAX_SUPPRESSED)
		suppressed = MAX_SUPPRESSED;
	return suppressed << TAT_BITS | (tat_ms & TAT_MASK);
}

bool log_limiter_allow(struct log_limiter *lim, uint64_t now_ms, uint64_t *suppressed)
{
	now_ms &= TAT_MASK;
	for (int attempt = 0; attempt < CAS_RETRIES; attempt++) {
		uint64_t state = __atomic_load_n(&lim->state, __ATOMIC_RELAXED);
		uint64_t tat = state & TAT_MASK, dropped = state >> TAT_BITS;
		uint64_t next_tat = (tat > now_ms ? tat : now_ms) + LOG_LIMIT_PERIOD_MS;
		bool denied = next_tat - now_ms > LOG_LIMIT_REFILL_MS;
		uint64_t next = denied ? pack(tat, dropped + 1) : pack(next_tat, 0);

		if (__atomic_compare_exchange_n(&lim->state, &state, next, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED)) {
			if (denied) {
				metric_inc(&g_metrics.logger.rate_limited_log_count);
				return false;
			}
			*suppressed = dropped;
			return true;
		}
	}
	metric_inc(&g_metrics.logger.rate_limited_log_count);
	return false;
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void log_msg_limited(struct log_limiter *lim, enum log_level level, const char *file, int line,
		     const char *fmt, ...)
{
	uint64_t suppressed = 0;
	va_list ap;

	if (!log_level_enabled(level) || !log_limiter_allow(lim, monotonic_ms(), &suppressed))
		return;
	if (suppressed)
		log_msg(LOG_WARN, file, line, "%llu messages were suppressed due to rate limiting",
			(unsigned long long)suppressed);
	va_start(ap, fmt);
	log_vmsg(level, file, line, fmt, ap);
	va_end(ap);
}
