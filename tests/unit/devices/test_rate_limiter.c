// SPDX-License-Identifier: Apache-2.0
/*
 * The rate limiter: token arithmetic against a fake clock (start full, burst
 * first, exact linear refill, over-consumption, disabled buckets, ops and
 * bytes together, PATCH updates), the real refill timerfd, and the adapter
 * end to end: virtio-rng and virtio-blk devices in real guest memory whose
 * queues stop when tokens run out and resume from the timer on the event loop.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/base/event_loop.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "vmm/base/metrics.h"
#include "devices/rate_limiter.h"
#include "devices/virtio/block.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtq_driver.h"

#define MS    1000000ULL /* ns */
#define T0    (1000ULL * 1000 * MS)
#define QSIZE 32

struct fake_clock {
	uint64_t ns;
};

static uint64_t fake_now(void *ctx)
{
	return ((struct fake_clock *)ctx)->ns;
}

static struct rate_limiter_config ops_cfg(uint64_t size, uint64_t burst, uint64_t refill_ms)
{
	return (struct rate_limiter_config){
	    .has_ops = true,
	    .ops = {.size = size, .one_time_burst = burst, .refill_time_ms = refill_ms},
	};
}

static struct rate_limiter_config bw_cfg(uint64_t size, uint64_t burst, uint64_t refill_ms)
{
	return (struct rate_limiter_config){
	    .has_bandwidth = true,
	    .bandwidth = {.size = size, .one_time_burst = burst, .refill_time_ms = refill_ms},
	};
}

/* Milliseconds left on the refill timerfd (0: disarmed). */
static uint64_t timer_left_ms(struct rate_limiter *rl)
{
	struct itimerspec its;

	assert_int_equal(timerfd_gettime(rate_limiter_timer_fd(rl), &its), 0);
	assert_int_equal(its.it_interval.tv_sec, 0); /* one-shot */
	assert_int_equal(its.it_interval.tv_nsec, 0);
	return (uint64_t)its.it_value.tv_sec * 1000 +
	       (uint64_t)(its.it_value.tv_nsec + 999999) / MS;
}

/* Wait (really) for the refill timer and take its event. */
static void wait_timer(struct rate_limiter *rl)
{
	struct pollfd p = {.fd = rate_limiter_timer_fd(rl), .events = POLLIN};

	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(rate_limiter_timer_event(rl), 0);
	assert_false(rate_limiter_is_blocked(rl));
}

/*
 * What the timer firing does, without sleeping 100 ms: for the pure token
 * arithmetic tests only, after checking that it was armed.
 */
static void expire_timer_now(struct rate_limiter *rl)
{
	struct itimerspec off = {0};

	assert_true(rate_limiter_is_blocked(rl));
	assert_int_equal(timerfd_settime(rate_limiter_timer_fd(rl), 0, &off, NULL), 0);
	rl->timer_active = false;
}

/* ---- token arithmetic ----------------------------------------------------------------- */

static void test_starts_full(void **state)
{
	struct fake_clock clk = {T0};
	struct rate_limiter_config cfg = ops_cfg(10, 0, 1000);
	struct rate_limiter rl;

	(void)state;
	assert_int_equal(rate_limiter_init_clock(&rl, &cfg, fake_now, &clk), 0);
	assert_true(rl.ops.enabled);
	assert_false(rl.bandwidth.enabled);
	assert_int_equal(rl.ops.budget, 10);
	for (int i = 0; i < 10; i++)
		assert_true(rate_limiter_consume(&rl, 1 << 20, 1));
	assert_int_equal(rl.ops.budget, 0);
	assert_false(rate_limiter_is_blocked(&rl));
	assert_int_equal(timer_left_ms(&rl), 0);
	/* The 11th request at the same instant does not fit. */
	assert_false(rate_limiter_consume(&rl, 0, 1));
	assert_true(rate_limiter_is_blocked(&rl));
	rate_limiter_destroy(&rl);
}

static void test_burst_consumed_first(void **state)
{
	struct fake_clock clk = {T0};
	struct rate_limiter_config cfg = bw_cfg(1000, 500, 1000);
	struct rate_limiter rl;

	(void)state;
	assert_int_equal(rate_limiter_init_clock(&rl, &cfg, fake_now, &clk), 0);
	assert_int_equal(rl.bandwidth.one_time_burst, 500);
	assert_int_equal(rl.bandwidth.budget, 1000);

	/* All from the burst; the budget stays full and refill restarts from now. */
	clk.ns += 7 * MS;
	assert_true(rate_limiter_consume(&rl, 300, 0));
	assert_int_equal(rl.bandwidth.one_time_burst, 200);
	assert_int_equal(rl.bandwidth.budget, 1000);
	assert_int_equal(rl.bandwidth.last_update_ns, T0 + 7 * MS);

	/* 200 from what is left of the burst, 200 from the budget. */
	assert_true(rate_limiter_consume(&rl, 400, 0));
	assert_int_equal(rl.bandwidth.one_time_burst, 0);
	assert_int_equal(rl.bandwidth.budget, 800);

	/* The burst never comes back: a full refill time later, only the budget is full. */
	clk.ns += 5000 * MS;
	assert_true(rate_limiter_consume(&rl, 900, 0)); /* > 800: refills first */
	assert_int_equal(rl.bandwidth.one_time_burst, 0);
	assert_int_equal(rl.bandwidth.budget, 100);
	assert_false(rate_limiter_consume(&rl, 101, 0));
	assert_int_equal(rl.bandwidth.budget, 100);
	rate_limiter_destroy(&rl);
}

static void test_burst_then_budget_in_ops(void **state)
{
	struct fake_clock clk = {T0};
	struct rate_limiter_config cfg = ops_cfg(10, 5, 1000);
	struct rate_limiter rl;
	int passed = 0;

	(void)state;
	assert_int_equal(rate_limiter_init_clock(&rl, &cfg, fake_now, &clk), 0);
	while (rate_limiter_consume(&rl, 0, 1))
		passed++;
	/* size + one_time_burst at one instant. */
	assert_int_equal(passed, 15);
	rate_limiter_destroy(&rl);
}

static void test_linear_refill_exact(void **state)
{
	struct fake_clock clk = {T0};
	/* 3 tokens per 10 ms: one every 3.333... ms, never a whole number of ns. */
	struct rate_limiter_config cfg = ops_cfg(3, 0, 10);
	struct rate_limiter rl;

	(void)state;
	assert_int_equal(rate_limiter_init_clock(&rl, &cfg, fake_now, &clk), 0);
	assert_int_equal(rl.ops.processed_capacity, 3);
	assert_int_equal(rl.ops.processed_refill_time, 10 * MS);
	assert_true(rate_limiter_consume_one(&rl, RATE_LIMITER_OPS, 3));
	assert_int_equal(rl.ops.budget, 0);

	/* 3333333 ns earn 0.9999999 of a token: nothing, and no time is used up. */
	clk.ns = T0 + 3333333;
	assert_false(rate_limiter_consume(&rl, 0, 1));
	assert_int_equal(rl.ops.budget, 0);
	assert_int_equal(rl.ops.last_update_ns, T0);
	expire_timer_now(&rl);

	/* One more ns: one token, and exactly ceil(10 ms / 3) of the elapsed time is spent. */
	clk.ns = T0 + 3333334;
	assert_true(rate_limiter_consume(&rl, 0, 1));
	assert_int_equal(rl.ops.budget, 0);
	assert_int_equal(rl.ops.last_update_ns, T0 + 3333334);

	/* 1.8 tokens' time: one token now, the 0.8 is carried over ... */
	clk.ns = T0 + 3333334 + 6000000;
	assert_true(rate_limiter_consume(&rl, 0, 1));
	assert_int_equal(rl.ops.last_update_ns, T0 + 3333334 + 3333334);
	/* ... so 0.5 of a token's time more gives the next one (1.3 in total). */
	clk.ns += 1666667;
	assert_true(rate_limiter_consume(&rl, 0, 1));
	assert_int_equal(rl.ops.budget, 0);

	assert_int_equal(rl.ops.last_update_ns, T0 + 3333334 * 3);

	/* Never above the size, however long it waited. */
	clk.ns += 3600ULL * 1000 * MS;
	assert_true(rate_limiter_consume_one(&rl, RATE_LIMITER_OPS, 3));
	assert_int_equal(rl.ops.budget, 0);
	assert_false(rate_limiter_is_blocked(&rl));
	rate_limiter_destroy(&rl);
}

/* Every token the rate allows, and not one more, over many small steps. */
static void test_refill_rate_over_time(void **state)
{
	struct fake_clock clk = {T0};
	struct rate_limiter_config cfg = ops_cfg(3, 0, 10);
	struct rate_limiter rl;
	uint64_t passed = 0;

	(void)state;
	assert_int_equal(rate_limiter_init_clock(&rl, &cfg, fake_now, &clk), 0);
	/* 700.7 ms in 0.7 ms steps, one request per step (faster than the refill). */
	for (uint64_t step = 0; step <= 1001; step++) {
		clk.ns = T0 + step * 700000ULL;
		if (rate_limiter_consume(&rl, 0, 1))
			passed++;
		else
			expire_timer_now(&rl);
	}
	/* 3 to start with + floor(700.7 ms * 3 / 10 ms) = 3 + 210. */
	assert_int_equal(passed, 213);
	rate_limiter_destroy(&rl);
}

static void test_full_refill_caps_at_size(void **state)
{
	struct fake_clock clk = {T0};
	struct rate_limiter_config cfg = bw_cfg(4096, 0, 100);
	struct rate_limiter rl;

	(void)state;
	assert_int_equal(rate_limiter_init_clock(&rl, &cfg, fake_now, &clk), 0);
	assert_true(rate_limiter_consume(&rl, 4000, 1));
	assert_int_equal(rl.bandwidth.budget, 96);
	/* Half the refill time: 2048 tokens back. */
	clk.ns += 50 * MS;
	assert_true(rate_limiter_consume(&rl, 100, 1));
	assert_int_equal(rl.bandwidth.budget, 96 + 2048 - 100);
	/* An hour later: full, not more. */
	clk.ns += 3600ULL * 1000 * MS;
	assert_true(rate_limiter_consume(&rl, 4096, 1));
	assert_int_equal(rl.bandwidth.budget, 0);
	assert_int_equal(rl.bandwidth.last_update_ns, clk.ns);
	rate_limiter_destroy(&rl);
}

static void test_disabled_buckets(void **state)
{
	struct fake_clock clk = {T0};
	struct rate_limiter_config cfgs[] = {
	    {.has_ops = true, .ops = {.size = 0, .refill_time_ms = 1000}},
	    {.has_ops = true, .ops = {.size = 10, .refill_time_ms = 0}},
	    {.has_bandwidth = true,
	     .bandwidth = {.size = 0, .one_time_burst = 5, .refill_time_ms = 1}},
	    {.has_bandwidth = true, .bandwidth = {.size = 10, .refill_time_ms = 0}},
	    /* Present but not given: no limit of that kind. */
	    {.has_bandwidth = false,
	     .bandwidth = {.size = 1, .refill_time_ms = 1000},
	     .has_ops = false,
	     .ops = {.size = 1, .refill_time_ms = 1000}},
	};
	struct rate_limiter rl;

	(void)state;
	for (size_t i = 0; i < sizeof(cfgs) / sizeof(cfgs[0]); i++) {
		assert_int_equal(rate_limiter_init_clock(&rl, &cfgs[i], fake_now, &clk), 0);
		assert_false(rl.ops.enabled);
		assert_false(rl.bandwidth.enabled);
		for (int n = 0; n < 1000; n++)
			assert_true(rate_limiter_consume(&rl, UINT64_MAX / 2, 1000));
		assert_false(rate_limiter_is_blocked(&rl));
		assert_int_equal(timer_left_ms(&rl), 0);
		rate_limiter_destroy(&rl);
	}
	/* No configuration at all. */
	assert_int_equal(rate_limiter_init(&rl, NULL), 0);
	assert_true(rate_limiter_consume(&rl, UINT64_MAX, UINT64_MAX));
	assert_true(rate_limiter_timer_fd(&rl) >= 0); /* created anyway, for a later update */
	rate_limiter_destroy(&rl);
	rate_limiter_destroy(&rl); /* twice is fine */
}

static void test_both_buckets_required(void **state)
{
	struct fake_clock clk = {T0};
	struct rate_limiter_config cfg = {
	    .has_bandwidth = true,
	    .bandwidth = {.size = 1000, .refill_time_ms = 1000},
	    .has_ops = true,
	    .ops = {.size = 3, .refill_time_ms = 1000},
	};
	struct rate_limiter rl;

	(void)state;
	assert_int_equal(rate_limiter_init_clock(&rl, &cfg, fake_now, &clk), 0);
	assert_true(rate_limiter_consume(&rl, 600, 1));
	/* Ops are there, bytes are not: nothing is taken from either. */
	assert_false(rate_limiter_consume(&rl, 500, 1));
	assert_int_equal(rl.ops.budget, 2);
	assert_int_equal(rl.bandwidth.budget, 400);
	expire_timer_now(&rl);
	assert_true(rate_limiter_consume(&rl, 400, 1));
	assert_true(rate_limiter_consume(&rl, 0, 1));
	assert_int_equal(rl.ops.budget, 0);
	/* 200 ms later bytes are there (200), ops are not (0.6): the bytes are not touched. */
	clk.ns += 200 * MS;
	assert_false(rate_limiter_consume(&rl, 10, 1));
	assert_int_equal(rl.ops.budget, 0);
	assert_int_equal(rl.bandwidth.budget, 0);
	assert_int_equal(rl.bandwidth.last_update_ns, T0);
	expire_timer_now(&rl);
	/* 400 ms: 1.2 ops, 400 bytes. */
	clk.ns += 200 * MS;
	assert_true(rate_limiter_consume(&rl, 400, 1));
	assert_int_equal(rl.ops.budget, 0);
	assert_int_equal(rl.bandwidth.budget, 0);
	rate_limiter_destroy(&rl);
}

static void test_ops_put_back_into_burst(void **state)
{
	struct fake_clock clk = {T0};
	struct rate_limiter_config cfg = {
	    .has_bandwidth = true,
	    .bandwidth = {.size = 100, .refill_time_ms = 1000},
	    .has_ops = true,
	    .ops = {.size = 10, .one_time_burst = 4, .refill_time_ms = 1000},
	};
	struct rate_limiter rl;

	(void)state;
	assert_int_equal(rate_limiter_init_clock(&rl, &cfg, fake_now, &clk), 0);
	assert_true(rate_limiter_consume(&rl, 100, 1));
	assert_int_equal(rl.ops.one_time_burst, 3);
	assert_false(rate_limiter_consume(&rl, 1, 1));
	/* The op went back into the burst, which never exceeds its initial size. */
	assert_int_equal(rl.ops.one_time_burst, 3);
	assert_int_equal(rl.ops.budget, 10);
	rate_limiter_replenish(&rl, RATE_LIMITER_OPS, 100);
	assert_int_equal(rl.ops.one_time_burst, 4);
	rate_limiter_destroy(&rl);
}

/* ---- the refill timer ----------------------------------------------------------------- */

static void test_blocked_arms_timer(void **state)
{
	struct fake_clock clk = {T0};
	struct rate_limiter_config cfg = ops_cfg(1, 0, 1000);
	struct rate_limiter rl;
	uint64_t left;

	(void)state;
	assert_int_equal(rate_limiter_init_clock(&rl, &cfg, fake_now, &clk), 0);
	assert_true(rate_limiter_consume(&rl, 0, 1));
	assert_false(rate_limiter_consume(&rl, 0, 1));
	assert_true(rate_limiter_is_blocked(&rl));
	assert_int_equal(rl.timer_armed_ms, RATE_LIMITER_REFILL_TIMER_MS);
	left = timer_left_ms(&rl);
	assert_true(left > 50 && left <= RATE_LIMITER_REFILL_TIMER_MS);
	/* Not expired yet: a read is a spurious event and changes nothing. */
	assert_int_equal(rate_limiter_timer_event(&rl), -EAGAIN);
	assert_true(rate_limiter_is_blocked(&rl));

	/* While blocked nothing passes, even with tokens back; the timer is not pushed out. */
	clk.ns += 2000 * MS;
	assert_false(rate_limiter_consume(&rl, 0, 1));
	assert_false(rate_limiter_consume(&rl, 0, 0));
	assert_true(timer_left_ms(&rl) <= left);

	wait_timer(&rl);
	assert_int_equal(timer_left_ms(&rl), 0);
	assert_true(rate_limiter_consume(&rl, 0, 1));
	rate_limiter_destroy(&rl);
}

/* ---- pause -------------------------------------------------------------------------- */

static void test_pause_accrues_nothing(void **state)
{
	struct fake_clock clk = {T0};
	struct rate_limiter_config cfg = ops_cfg(10, 0, 1000); /* 1 token per 100 ms */
	struct rate_limiter rl;

	(void)state;
	assert_int_equal(rate_limiter_init_clock(&rl, &cfg, fake_now, &clk), 0);
	assert_true(rate_limiter_consume(&rl, 0, 10));
	/* 300 ms running, 5 s paused (twice paused: harmless), 200 ms running: 5 tokens. */
	clk.ns += 300 * MS;
	rate_limiter_pause(&rl);
	assert_true(rl.paused);
	clk.ns += 2500 * MS;
	rate_limiter_pause(&rl);
	clk.ns += 2500 * MS;
	rate_limiter_resume(&rl);
	assert_false(rl.paused);
	rate_limiter_resume(&rl);
	clk.ns += 200 * MS;
	for (int i = 0; i < 5; i++)
		assert_true(rate_limiter_consume(&rl, 0, 1));
	assert_false(rate_limiter_consume(&rl, 0, 1));
	assert_int_equal(rl.ops.budget, 0);
	rate_limiter_destroy(&rl);
}

static void test_pause_update_during_pause(void **state)
{
	struct fake_clock clk = {T0};
	struct rate_limiter_config cfg = ops_cfg(10, 0, 1000);
	struct rate_limiter rl;

	(void)state;
	assert_int_equal(rate_limiter_init_clock(&rl, &cfg, fake_now, &clk), 0);
	rate_limiter_pause(&rl);
	clk.ns += 1000 * MS;
	/* A bucket set while paused starts accruing at resume, not at the PATCH. */
	rate_limiter_update(&rl, &cfg);
	assert_true(rate_limiter_consume(&rl, 0, 10));
	clk.ns += 3000 * MS;
	rate_limiter_resume(&rl);
	assert_int_equal(rl.ops.last_update_ns, clk.ns);
	clk.ns += 100 * MS;
	assert_true(rate_limiter_consume(&rl, 0, 1));
	assert_false(rate_limiter_consume(&rl, 0, 1));
	rate_limiter_destroy(&rl);
}

static void test_pause_stops_and_rearms_timer(void **state)
{
	struct fake_clock clk = {T0};
	struct rate_limiter_config cfg = ops_cfg(1, 0, 1000);
	struct rate_limiter rl;
	uint64_t left;

	(void)state;
	assert_int_equal(rate_limiter_init_clock(&rl, &cfg, fake_now, &clk), 0);
	assert_true(rate_limiter_consume(&rl, 0, 1));
	assert_false(rate_limiter_consume(&rl, 0, 1));
	assert_true(rate_limiter_is_blocked(&rl));
	assert_true(timer_left_ms(&rl) > 0);

	/* 40 ms into the 100 ms wait: the timer stops, the limiter stays blocked. */
	clk.ns += 40 * MS;
	rate_limiter_pause(&rl);
	assert_int_equal(timer_left_ms(&rl), 0);
	assert_true(rate_limiter_is_blocked(&rl));
	assert_int_equal(rate_limiter_timer_event(&rl), -EAGAIN);
	clk.ns += 10000 * MS;
	assert_false(rate_limiter_consume(&rl, 0, 1));

	/* Resume: the remaining 60 ms of the wait, on the real timer. */
	rate_limiter_resume(&rl);
	assert_true(rate_limiter_is_blocked(&rl));
	assert_int_equal(rl.timer_armed_ms, 60);
	left = timer_left_ms(&rl);
	assert_true(left > 0 && left <= 60);
	wait_timer(&rl);
	/* 40 ms of running time since the last refill: 10 s of pause banked nothing. */
	assert_false(rate_limiter_consume(&rl, 0, 1));
	expire_timer_now(&rl);
	clk.ns += 960 * MS;
	assert_true(rate_limiter_consume(&rl, 0, 1));
	rate_limiter_destroy(&rl);
}

static void test_pause_after_timer_expired(void **state)
{
	struct fake_clock clk = {T0};
	struct rate_limiter_config cfg = ops_cfg(1, 0, 1000);
	struct rate_limiter rl;

	(void)state;
	assert_int_equal(rate_limiter_init_clock(&rl, &cfg, fake_now, &clk), 0);
	assert_true(rate_limiter_consume(&rl, 0, 1));
	assert_false(rate_limiter_consume(&rl, 0, 1));
	/* The timer fired but the loop has not handled it yet when the VM pauses. */
	clk.ns += 150 * MS;
	rate_limiter_pause(&rl);
	assert_int_equal(rate_limiter_timer_event(&rl), -EAGAIN);
	rate_limiter_resume(&rl);
	/* It fires again right after resume (1 ms), so the queue is retried. */
	assert_int_equal(rl.timer_armed_ms, 1);
	wait_timer(&rl);
	rate_limiter_destroy(&rl);
}

static void test_overconsumption(void **state)
{
	struct fake_clock clk = {T0};
	struct rate_limiter_config cfg = bw_cfg(1000, 0, 200);
	struct rate_limiter rl;
	uint64_t left;

	(void)state;
	assert_int_equal(rate_limiter_init_clock(&rl, &cfg, fake_now, &clk), 0);
	/* 2500 from a full bucket of 1000: goes through, 1.5 buckets borrowed = 300 ms. */
	assert_true(rate_limiter_consume(&rl, 2500, 1));
	assert_int_equal(rl.bandwidth.budget, 0);
	assert_true(rate_limiter_is_blocked(&rl));
	assert_int_equal(rl.timer_armed_ms, 300);
	left = timer_left_ms(&rl);
	assert_true(left > 250 && left <= 300);
	assert_false(rate_limiter_consume(&rl, 1, 0));
	wait_timer(&rl);

	/* With the burst: burst first, then the budget, the rest is borrowed. */
	cfg = bw_cfg(1000, 100, 200);
	rate_limiter_destroy(&rl);
	assert_int_equal(rate_limiter_init_clock(&rl, &cfg, fake_now, &clk), 0);
	assert_true(rate_limiter_consume(&rl, 1100 + 1000 + 50, 0));
	assert_int_equal(rl.bandwidth.one_time_burst, 0);
	assert_int_equal(rl.timer_armed_ms, 210); /* 1050 over / 1000 * 200 ms */

	/* Less than a millisecond's worth still blocks for 1 ms (0 would disarm the timer). */
	rate_limiter_destroy(&rl);
	cfg = bw_cfg(1000, 0, 1);
	assert_int_equal(rate_limiter_init_clock(&rl, &cfg, fake_now, &clk), 0);
	assert_true(rate_limiter_consume(&rl, 600, 0));
	assert_true(rate_limiter_consume(&rl, 1001, 0)); /* 601 over: 0.6 ms */
	assert_int_equal(rl.timer_armed_ms, 1);
	wait_timer(&rl);
	rate_limiter_destroy(&rl);
}

/* ---- PATCH ---------------------------------------------------------------------------- */

/* The bare bucket (the serial's output limit): no timer, what does not fit is refused. */
static void test_bare_bucket(void **state)
{
	struct token_bucket_config cfg = {.size = 10, .one_time_burst = 5, .refill_time_ms = 1000};
	struct token_bucket b;

	(void)state;
	token_bucket_init(&b, &cfg, T0);
	for (int i = 0; i < 15; i++)
		assert_true(token_bucket_take(&b, 1, T0));
	assert_false(token_bucket_take(&b, 1, T0));
	/* 10 tokens per second: one per 100 ms, not before. */
	assert_false(token_bucket_take(&b, 1, T0 + 99 * MS));
	assert_true(token_bucket_take(&b, 1, T0 + 100 * MS));
	assert_false(token_bucket_take(&b, 1, T0 + 150 * MS));
	/* A refused take takes nothing: after a full refill the whole bucket is there. */
	assert_false(token_bucket_take(&b, 3, T0 + 250 * MS));
	assert_true(token_bucket_take(&b, 10, T0 + 2000 * MS));
	/* More than the bucket holds: refused, and the bucket is emptied (over-consumption). */
	assert_true(token_bucket_take(&b, 0, T0 + 4000 * MS));
	assert_false(token_bucket_take(&b, 11, T0 + 4000 * MS));
	assert_false(token_bucket_take(&b, 1, T0 + 4000 * MS));
	/* Disabled (size or refill_time 0): everything goes. */
	cfg.size = 0;
	token_bucket_init(&b, &cfg, T0);
	assert_false(b.enabled);
	assert_true(token_bucket_take(&b, UINT64_MAX, T0));
	cfg = (struct token_bucket_config){.size = 1, .refill_time_ms = UINT64_MAX};
	token_bucket_init(&b, &cfg, T0);
	assert_false(b.enabled); /* refill time not representable in ns */
}

static void test_update_semantics(void **state)
{
	struct fake_clock clk = {T0};
	struct rate_limiter_config cfg = {
	    .has_bandwidth = true,
	    .bandwidth = {.size = 1000, .refill_time_ms = 1000},
	    .has_ops = true,
	    .ops = {.size = 2, .refill_time_ms = 1000},
	};
	struct rate_limiter_config upd;
	struct rate_limiter rl;

	(void)state;
	assert_int_equal(rate_limiter_init_clock(&rl, &cfg, fake_now, &clk), 0);
	assert_true(rate_limiter_consume(&rl, 700, 2));

	/* Only bandwidth given: a new full bucket; ops untouched (still empty). */
	clk.ns += 1 * MS;
	upd = bw_cfg(5000, 10, 500);
	rate_limiter_update(&rl, &upd);
	assert_int_equal(rl.bandwidth.size, 5000);
	assert_int_equal(rl.bandwidth.budget, 5000);
	assert_int_equal(rl.bandwidth.one_time_burst, 10);
	assert_int_equal(rl.bandwidth.refill_time_ms, 500);
	assert_int_equal(rl.bandwidth.last_update_ns, T0 + 1 * MS);
	assert_int_equal(rl.ops.size, 2);
	assert_int_equal(rl.ops.budget, 0);
	assert_false(rate_limiter_consume(&rl, 1, 1));

	/* The update does not touch a running timer: still blocked until it fires. */
	upd = ops_cfg(4, 0, 1000);
	rate_limiter_update(&rl, &upd);
	assert_int_equal(rl.ops.budget, 4);
	assert_true(rate_limiter_is_blocked(&rl));
	assert_false(rate_limiter_consume(&rl, 1, 1));
	wait_timer(&rl);
	for (int i = 0; i < 4; i++)
		assert_true(rate_limiter_consume(&rl, 1, 1));
	assert_false(rate_limiter_consume(&rl, 1, 1));
	expire_timer_now(&rl);

	/* size 0 disables the ops bucket; the bandwidth one is kept as it was. */
	upd = ops_cfg(0, 0, 1000);
	rate_limiter_update(&rl, &upd);
	assert_false(rl.ops.enabled);
	assert_true(rl.bandwidth.enabled);
	/* Its 4 one-byte requests came out of the burst. */
	assert_int_equal(rl.bandwidth.one_time_burst, 6);
	assert_int_equal(rl.bandwidth.budget, 5000);
	rate_limiter_destroy(&rl);
}

static void test_update_enables_later(void **state)
{
	struct fake_clock clk = {T0};
	struct rate_limiter_config upd = ops_cfg(1, 0, 1000);
	struct rate_limiter rl;

	(void)state;
	assert_int_equal(rate_limiter_init_clock(&rl, NULL, fake_now, &clk), 0);
	assert_true(rate_limiter_consume(&rl, 1, 1000));
	rate_limiter_update(&rl, &upd);
	assert_true(rate_limiter_consume(&rl, 1, 1));
	assert_false(rate_limiter_consume(&rl, 1, 1));
	assert_true(rate_limiter_is_blocked(&rl));
	rate_limiter_destroy(&rl);
}

/* ---- adapter: devices throttled and resumed from the event loop ----------------------- */

#define RAM_SIZE (4 * MIB)
#define RING	 0x10000ULL
#define BUF	 0x100000ULL
#define HDR	 0x200000ULL
#define STATUS	 0x201000ULL

struct dev_fx {
	struct fake_clock clk;
	struct guest_mem mem;
	struct event_loop loop;
	struct virtq_driver drv;
	struct virtio_mmio_dev *dev;
	struct rate_limiter rl;
};

static void dev_fx_init(struct dev_fx *f)
{
	memset(f, 0, sizeof(*f));
	f->clk.ns = T0;
	metrics_reset();
	assert_int_equal(guest_mem_create(&f->mem, RAM_SIZE), 0);
	assert_int_equal(event_loop_init(&f->loop), 0);
}

/* Negotiate what the device offers, queue 0, DRIVER_OK; attach the limiter to queue 0. */
static void dev_fx_start(struct dev_fx *f, const struct rate_limiter_config *cfg)
{
	struct virtio_limiter hook;
	uint64_t feat;

	assert_int_equal(virtio_mmio_attach(f->dev, &f->loop), 0);
	assert_int_equal(virtq_driver_init(&f->drv, &f->mem, RING, QSIZE), 0);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	feat = virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_DEVICE_FEATURES);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	feat |= (uint64_t)virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	feat &= ~VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	assert_true(virtio_mmio_driver_negotiate(f->dev, feat) & VIRTIO_CONFIG_S_FEATURES_OK);
	assert_int_equal(virtio_mmio_driver_setup_queue(f->dev, 0, &f->drv), 1);
	assert_true(virtio_mmio_driver_ok(f->dev) & VIRTIO_CONFIG_S_DRIVER_OK);
	while (event_loop_run_once(&f->loop, 0) > 0)
		;
	assert_int_equal(rate_limiter_init_clock(&f->rl, cfg, fake_now, &f->clk), 0);
	assert_int_equal(rate_limiter_attach(&f->rl, &f->loop, f->dev, 0), 0);
	assert_int_equal(rate_limiter_attach(&f->rl, &f->loop, f->dev, 0), -EBUSY);
	hook = rate_limiter_hook(&f->rl);
	assert_ptr_equal(hook.ctx, &f->rl);
	if (f->dev->ops->device_id == VIRTIO_ID_RNG)
		rng_set_limiter(virtio_mmio_backend(f->dev), &hook);
	else
		block_set_limiter(virtio_mmio_backend(f->dev), &hook);
}

static void notify(struct dev_fx *f)
{
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* Run the VMM loop until nothing is ready for @idle_ms. */
static void run_idle(struct dev_fx *f, int idle_ms)
{
	while (event_loop_run_once(&f->loop, idle_ms) > 0)
		;
}

static void test_rng_throttled_and_resumed(void **state)
{
	struct dev_fx f;
	struct rng_dev *rng;
	/* 2 requests at once, then one per 500 ms of (fake) time. */
	struct rate_limiter_config cfg = ops_cfg(2, 0, 1000);
	uint32_t id, len;

	(void)state;
	dev_fx_init(&f);
	assert_int_equal(rng_create(&rng, &f.mem, LAYOUT_VIRTIO_START, 5), 0);
	f.dev = rng_mmio(rng);
	dev_fx_start(&f, &cfg);
	memset(guest_mem_translate(&f.mem, BUF, 0x10000), 0, 0x10000);
	for (uint16_t i = 0; i < 5; i++) {
		virtq_driver_set_desc(&f.drv, i, BUF + 0x1000ULL * i, 64, VRING_DESC_F_WRITE, 0);
		virtq_driver_publish(&f.drv, i);
	}
	notify(&f);
	assert_int_equal(event_loop_run_once(&f.loop, 0), 1); /* the notify */
	assert_int_equal(virtq_driver_used_idx(&f.drv), 2);
	assert_int_equal(g_metrics.virtio.rng_throttled, 1);
	assert_true(rate_limiter_is_blocked(&f.rl));
	assert_int_equal(g_metrics.virtio.rng_requests, 2);

	/* More notifications while blocked: handled, nothing served, the timer is not re-armed. */
	notify(&f);
	assert_int_equal(event_loop_run_once(&f.loop, 0), 1);
	assert_int_equal(virtq_driver_used_idx(&f.drv), 2);
	/* Nothing else is ready: no busy loop, the VMM sleeps until the timer. */
	assert_int_equal(event_loop_run_once(&f.loop, 0), 0);

	/* 500 ms of tokens: the timer fires (real 100 ms), the queue resumes, one more. */
	f.clk.ns += 500 * MS;
	assert_int_equal(event_loop_run_once(&f.loop, 2000), 1);
	assert_int_equal(virtq_driver_used_idx(&f.drv), 3);
	assert_true(rate_limiter_is_blocked(&f.rl)); /* the 4th did not fit: re-armed */

	/* A whole refill time: the two left. */
	f.clk.ns += 1000 * MS;
	assert_int_equal(event_loop_run_once(&f.loop, 2000), 1);
	assert_int_equal(virtq_driver_used_idx(&f.drv), 5);
	assert_false(rate_limiter_is_blocked(&f.rl));
	for (uint32_t i = 0; i < 5; i++) {
		const uint8_t *p = guest_mem_translate(&f.mem, BUF + 0x1000ULL * i, 64);
		int nonzero = 0;

		assert_int_equal(virtq_driver_get_used(&f.drv, &id, &len), 1);
		assert_int_equal(id, i);
		assert_int_equal(len, 64);
		for (int b = 0; b < 64; b++)
			nonzero += p[b] != 0;
		assert_true(nonzero > 40);
	}
	assert_int_equal(g_metrics.virtio.rng_requests, 5);
	assert_int_equal(g_metrics.virtio.rng_bytes, 5 * 64);

	/* PATCH through the adapter (takes the device lock): unlimited now. */
	cfg = ops_cfg(0, 0, 0);
	rate_limiter_update(&f.rl, &cfg);
	for (uint16_t i = 0; i < 8; i++) {
		virtq_driver_set_desc(&f.drv, i, BUF + 0x1000ULL * i, 64, VRING_DESC_F_WRITE, 0);
		virtq_driver_publish(&f.drv, i);
	}
	notify(&f);
	run_idle(&f, 0);
	assert_int_equal(virtq_driver_used_idx(&f.drv), 13);

	rate_limiter_destroy(&f.rl);
	virtio_mmio_detach(f.dev);
	rng_destroy(rng);
	event_loop_destroy(&f.loop);
	guest_mem_destroy(&f.mem);
}

/* One 4 KiB read at descriptor @first (header, data, status). */
static void blk_read_req(struct dev_fx *f, uint16_t first, uint64_t sector, uint64_t data)
{
	struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_IN, .sector = sector};
	uint64_t hdr = HDR + 16ULL * first, status = STATUS + first;

	assert_int_equal(guest_mem_write(&f->mem, hdr, &h, sizeof(h)), 0);
	virtq_driver_set_desc(&f->drv, first, hdr, 16, VRING_DESC_F_NEXT, first + 1);
	virtq_driver_set_desc(&f->drv, first + 1, data, 4096,
			      VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, first + 2);
	virtq_driver_set_desc(&f->drv, first + 2, status, 1, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->drv, first);
}

static void test_blk_bandwidth_throttled(void **state)
{
	struct dev_fx f;
	struct block_dev *blk;
	char path[] = "/tmp/ember-rl-XXXXXX", err[256];
	uint8_t file[4 * 4096];
	int fd = mkstemp(path);
	/* 8 KiB at once, then 4 KiB per 100 ms. */
	struct rate_limiter_config cfg = bw_cfg(8192, 0, 200);
	struct block_config bcfg = {.drive_id = "rl", .path_on_host = path};
	uint32_t id, len;

	(void)state;
	assert_true(fd >= 0);
	for (size_t i = 0; i < sizeof(file); i++)
		file[i] = (uint8_t)(i * 13 + i / 4096);
	assert_int_equal(write(fd, file, sizeof(file)), (ssize_t)sizeof(file));
	dev_fx_init(&f);
	assert_int_equal(
	    block_create(&blk, &bcfg, &f.mem, LAYOUT_VIRTIO_START, 5, err, sizeof(err)), 0);
	f.dev = block_mmio(blk);
	dev_fx_start(&f, &cfg);
	for (uint16_t r = 0; r < 4; r++)
		blk_read_req(&f, (uint16_t)(3 * r), 8ULL * r, BUF + 0x1000ULL * r);
	notify(&f);
	run_idle(&f, 0);
	assert_int_equal(virtq_driver_used_idx(&f.drv), 2);
	assert_int_equal(g_metrics.virtio.blk_throttled, 1);
	assert_int_equal(g_metrics.virtio.blk_read_bytes, 8192);

	/* 100 ms of tokens = 4096 bytes: exactly one more read. */
	f.clk.ns += 100 * MS;
	assert_int_equal(event_loop_run_once(&f.loop, 2000), 1);
	assert_int_equal(virtq_driver_used_idx(&f.drv), 3);
	f.clk.ns += 100 * MS;
	assert_int_equal(event_loop_run_once(&f.loop, 2000), 1);
	assert_int_equal(virtq_driver_used_idx(&f.drv), 4);
	for (uint32_t r = 0; r < 4; r++) {
		assert_int_equal(virtq_driver_get_used(&f.drv, &id, &len), 1);
		assert_int_equal(id, 3 * r);
		assert_int_equal(len, 4097);
		assert_memory_equal(guest_mem_translate(&f.mem, BUF + 0x1000ULL * r, 4096),
				    file + 4096 * r, 4096);
		assert_int_equal(*(uint8_t *)guest_mem_translate(&f.mem, STATUS + 3 * r, 1),
				 VIRTIO_BLK_S_OK);
	}
	assert_int_equal(g_metrics.virtio.blk_read_count, 4);

	rate_limiter_destroy(&f.rl);
	virtio_mmio_detach(f.dev);
	block_destroy(blk);
	event_loop_destroy(&f.loop);
	guest_mem_destroy(&f.mem);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_starts_full),
	    cmocka_unit_test(test_burst_consumed_first),
	    cmocka_unit_test(test_burst_then_budget_in_ops),
	    cmocka_unit_test(test_linear_refill_exact),
	    cmocka_unit_test(test_refill_rate_over_time),
	    cmocka_unit_test(test_full_refill_caps_at_size),
	    cmocka_unit_test(test_disabled_buckets),
	    cmocka_unit_test(test_both_buckets_required),
	    cmocka_unit_test(test_ops_put_back_into_burst),
	    cmocka_unit_test(test_blocked_arms_timer),
	    cmocka_unit_test(test_pause_accrues_nothing),
	    cmocka_unit_test(test_pause_update_during_pause),
	    cmocka_unit_test(test_pause_stops_and_rearms_timer),
	    cmocka_unit_test(test_pause_after_timer_expired),
	    cmocka_unit_test(test_overconsumption),
	    cmocka_unit_test(test_bare_bucket),
	    cmocka_unit_test(test_update_semantics),
	    cmocka_unit_test(test_update_enables_later),
	    cmocka_unit_test(test_rng_throttled_and_resumed),
	    cmocka_unit_test(test_blk_bandwidth_throttled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
