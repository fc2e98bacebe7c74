// SPDX-License-Identifier: Apache-2.0
/*
 * Token buckets and the rate limiter built from two of them, with the
 * semantics of Firecracker's rate_limiter module (see rate_limiter.h), and
 * the adapter that plugs a limiter into a virtio device's queue.
 */
#include "devices/rate_limiter.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/base/event_loop.h"
#include "vmm/base/log.h"
#include "devices/virtio/virtio_mmio.h"

#define NSEC_PER_MSEC 1000000ULL
#define MSEC_PER_SEC  1000ULL
/* Longest block an over-consumption can cause (~35 years): keeps timerfd values valid. */
#define RATE_LIMITER_MAX_BLOCK_MS (1ULL << 40)

typedef unsigned __int128 u128;

enum bucket_reduction {
	BUCKET_FAILURE,	     /* not enough tokens: nothing taken */
	BUCKET_SUCCESS,	     /* tokens taken */
	BUCKET_OVERCONSUMED, /* more than the bucket holds: taken, bucket emptied */
};

static uint64_t monotonic_ns(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t rl_now(const struct rate_limiter *rl)
{
	return rl->clock(rl->clock_ctx);
}

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* A full bucket from @cfg, or a disabled one when size or refill time is 0 (or unrepresentable). */
static void bucket_init(struct token_bucket *b, const struct token_bucket_config *cfg, uint64_t now)
{
	uint64_t refill_ns, common;

	memset(b, 0, sizeof(*b));
	if (!cfg->size || !cfg->refill_time_ms || cfg->refill_time_ms > UINT64_MAX / NSEC_PER_MSEC)
		return;
	refill_ns = cfg->refill_time_ms * NSEC_PER_MSEC;
	common = gcd_u64(cfg->size, refill_ns);
	b->enabled = true;
	b->size = cfg->size;
	b->refill_time_ms = cfg->refill_time_ms;
	b->initial_one_time_burst = cfg->one_time_burst;
	b->one_time_burst = cfg->one_time_burst;
	b->budget = cfg->size;
	b->last_update_ns = now;
	b->processed_capacity = cfg->size / common;
	b->processed_refill_time = refill_ns / common;
}

/*
 * Add the whole tokens earned since last_update. last_update moves on only by
 * the time those tokens took (rounded up), so the fraction of a token already
 * earned is not lost, and never counted twice.
 */
static void bucket_replenish(struct token_bucket *b, uint64_t now)
{
	uint64_t delta = now > b->last_update_ns ? now - b->last_update_ns : 0;
	u128 tokens, used_ns;

	if (delta >= b->refill_time_ms * NSEC_PER_MSEC) {
		b->budget = b->size;
		b->last_update_ns = now;
		return;
	}
	tokens = (u128)delta * b->processed_capacity / b->processed_refill_time;
	used_ns = tokens * b->processed_refill_time / b->processed_capacity;
	if (tokens * b->processed_refill_time % b->processed_capacity)
		used_ns++;
	b->last_update_ns += (uint64_t)used_ns;
	/* delta < refill time, so tokens < size (a u64); the sum may not fit. */
	b->budget = tokens > b->size - b->budget ? b->size : b->budget + (uint64_t)tokens;
}

/*
 * Take @tokens, the one-time burst first. On BUCKET_OVERCONSUMED, *@over is
 * how many tokens went beyond what was in the bucket.
 */
static enum bucket_reduction bucket_reduce(struct token_bucket *b, uint64_t tokens, uint64_t now,
					   uint64_t *over)
{
	if (b->one_time_burst) {
		if (b->one_time_burst >= tokens) {
			b->one_time_burst -= tokens;
			/* The budget is full until the burst is gone: refill starts from here. */
			b->last_update_ns = now;
			return BUCKET_SUCCESS;
		}
		tokens -= b->one_time_burst;
		b->one_time_burst = 0;
	}
	if (tokens > b->budget) {
		bucket_replenish(b, now);
		if (tokens > b->size) {
			*over = tokens - b->budget;
			b->budget = 0;
			return BUCKET_OVERCONSUMED;
		}
		if (tokens > b->budget)
			return BUCKET_FAILURE;
	}
	b->budget -= tokens;
	return BUCKET_SUCCESS;
}

static void bucket_force_replenish(struct token_bucket *b, uint64_t tokens)
{
	/* Still in the burst: the tokens go back there (capped at the initial burst). */
	if (b->one_time_burst) {
		b->one_time_burst = tokens > b->initial_one_time_burst - b->one_time_burst
					? b->initial_one_time_burst
					: b->one_time_burst + tokens;
		return;
	}
	b->budget = tokens > b->size - b->budget ? b->size : b->budget + tokens;
}

static struct token_bucket *rl_bucket(struct rate_limiter *rl, enum rate_limiter_token type)
{
	return type == RATE_LIMITER_BYTES ? &rl->bandwidth : &rl->ops;
}

/* Block for @ms milliseconds (at least 1: a zero timerfd value would disarm it). */
static void rl_arm_timer(struct rate_limiter *rl, uint64_t ms)
{
	struct itimerspec its = {0};

	if (ms < 1)
		ms = 1;
	if (ms > RATE_LIMITER_MAX_BLOCK_MS)
		ms = RATE_LIMITER_MAX_BLOCK_MS;
	its.it_value.tv_sec = (time_t)(ms / MSEC_PER_SEC);
	its.it_value.tv_nsec = (long)(ms % MSEC_PER_SEC * NSEC_PER_MSEC);
	if (timerfd_settime(rl->timer_fd, 0, &its, NULL) < 0) {
		/* Unblocked instead of stuck forever; the next request retries. */
		log_error("rate limiter: cannot arm the refill timer: %s", strerror(errno));
		return;
	}
	rl->timer_active = true;
	rl->timer_armed_ms = ms;
	rl->timer_deadline_ns = rl_now(rl) + ms * NSEC_PER_MSEC;
}

int rate_limiter_init_clock(struct rate_limiter *rl, const struct rate_limiter_config *cfg,
			    rate_limiter_clock_fn clock, void *clock_ctx)
{
	static const struct rate_limiter_config none;
	uint64_t now;

	memset(rl, 0, sizeof(*rl));
	rl->clock = clock;
	rl->clock_ctx = clock_ctx;
	rl->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (rl->timer_fd < 0)
		return -errno; /* the caller reports it ("Cannot create RateLimiter") */
	if (!cfg)
		cfg = &none;
	now = rl_now(rl);
	if (cfg->has_bandwidth)
		bucket_init(&rl->bandwidth, &cfg->bandwidth, now);
	if (cfg->has_ops)
		bucket_init(&rl->ops, &cfg->ops, now);
	return 0;
}

int rate_limiter_init(struct rate_limiter *rl, const struct rate_limiter_config *cfg)
{
	return rate_limiter_init_clock(rl, cfg, monotonic_ns, NULL);
}

void rate_limiter_destroy(struct rate_limiter *rl)
{
	rate_limiter_detach(rl);
	if (rl->timer_fd >= 0)
		close(rl->timer_fd);
	rl->timer_fd = -1;
	rl->timer_active = false;
}

bool rate_limiter_consume_one(struct rate_limiter *rl, enum rate_limiter_token type,
			      uint64_t tokens)
{
	struct token_bucket *b = rl_bucket(rl, type);
	uint64_t over = 0;

	if (rl->timer_active)
		return false;
	/* Taking nothing changes nothing (the clock need not be read). */
	if (!b->enabled || !tokens)
		return true;
	switch (bucket_reduce(b, tokens, rl_now(rl), &over)) {
	case BUCKET_FAILURE:
		rl_arm_timer(rl, RATE_LIMITER_REFILL_TIMER_MS);
		return false;
	case BUCKET_OVERCONSUMED:
		/*
		 * It borrowed over/size whole buckets; each takes refill_time to
		 * come back, so nothing else goes through for that long. Debug
		 * level: the guest decides how often this happens.
		 */
		log_debug("rate limiter: consumed %" PRIu64
			  " tokens from a bucket of size %" PRIu64,
			  tokens, b->size);
		rl_arm_timer(rl, (uint64_t)((u128)over * b->refill_time_ms / b->size));
		return true;
	default:
		return true;
	}
}

void rate_limiter_replenish(struct rate_limiter *rl, enum rate_limiter_token type, uint64_t tokens)
{
	struct token_bucket *b = rl_bucket(rl, type);

	if (b->enabled)
		bucket_force_replenish(b, tokens);
}

bool rate_limiter_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t ops)
{
	if (!rate_limiter_consume_one(rl, RATE_LIMITER_OPS, ops))
		return false;
	if (!rate_limiter_consume_one(rl, RATE_LIMITER_BYTES, bytes)) {
		rate_limiter_replenish(rl, RATE_LIMITER_OPS, ops);
		return false;
	}
	return true;
}

void token_bucket_init(struct token_bucket *b, const struct token_bucket_config *cfg,
		       uint64_t now_ns)
{
	bucket_init(b, cfg, now_ns);
}

bool token_bucket_take(struct token_bucket *b, uint64_t tokens, uint64_t now_ns)
{
	uint64_t over = 0;

	if (!b->enabled || !tokens)
		return true;
	return bucket_reduce(b, tokens, now_ns, &over) == BUCKET_SUCCESS;
}

uint64_t rate_limiter_now_ns(void)
{
	return monotonic_ns(NULL);
}

bool rate_limiter_is_blocked(const struct rate_limiter *rl)
{
	return rl->timer_active;
}

int rate_limiter_timer_fd(const struct rate_limiter *rl)
{
	return rl->timer_fd;
}

int rate_limiter_timer_event(struct rate_limiter *rl)
{
	uint64_t expirations;
	ssize_t n = read(rl->timer_fd, &expirations, sizeof(expirations));

	if (n < 0)
		return -errno;
	if (n != sizeof(expirations) || !expirations)
		return -EAGAIN;
	rl->timer_active = false;
	return 0;
}

void rate_limiter_update(struct rate_limiter *rl, const struct rate_limiter_config *cfg)
{
	uint64_t now = rl_now(rl);

	if (rl->dev)
		virtio_mmio_lock(rl->dev);
	if (cfg->has_bandwidth)
		bucket_init(&rl->bandwidth, &cfg->bandwidth, now);
	if (cfg->has_ops)
		bucket_init(&rl->ops, &cfg->ops, now);
	if (rl->dev)
		virtio_mmio_unlock(rl->dev);
}

/* No timer, no expiration pending (setting a timerfd clears its count). */
static void rl_disarm_timer(struct rate_limiter *rl)
{
	struct itimerspec off = {0};

	if (timerfd_settime(rl->timer_fd, 0, &off, NULL) < 0)
		log_error("rate limiter: cannot stop the refill timer: %s", strerror(errno));
}

/*
 * A bucket accrues only while the VM runs: its clock moves on by the paused
 * time, or to @now when it was (re)set during the pause.
 */
static void bucket_unfreeze(struct token_bucket *b, uint64_t paused_at, uint64_t now)
{
	if (!b->enabled)
		return;
	if (b->last_update_ns >= paused_at)
		b->last_update_ns = now;
	else
		b->last_update_ns += now - paused_at;
}

static void rl_lock(struct rate_limiter *rl)
{
	if (rl->dev)
		virtio_mmio_lock(rl->dev);
}

static void rl_unlock(struct rate_limiter *rl)
{
	if (rl->dev)
		virtio_mmio_unlock(rl->dev);
}

void rate_limiter_pause(struct rate_limiter *rl)
{
	uint64_t now = rl_now(rl);

	rl_lock(rl);
	if (!rl->paused) {
		rl->paused = true;
		rl->paused_at_ns = now;
		rl->timer_left_ns = 0;
		if (rl->timer_active) {
			if (rl->timer_deadline_ns > now)
				rl->timer_left_ns = rl->timer_deadline_ns - now;
			rl_disarm_timer(rl);
		}
	}
	rl_unlock(rl);
}

void rate_limiter_resume(struct rate_limiter *rl)
{
	uint64_t now = rl_now(rl);

	rl_lock(rl);
	if (rl->paused) {
		rl->paused = false;
		if (now < rl->paused_at_ns)
			now = rl->paused_at_ns;
		bucket_unfreeze(&rl->bandwidth, rl->paused_at_ns, now);
		bucket_unfreeze(&rl->ops, rl->paused_at_ns, now);
		/* Still blocked: the rest of the wait, rounded up to whole ms. */
		if (rl->timer_active)
			rl_arm_timer(rl, (rl->timer_left_ns + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);
	}
	rl_unlock(rl);
}

/* The refill timer fired: unblock, then let the device retry what it left on its queue. */
static void rl_timer_fired(void *opaque, uint32_t events)
{
	struct rate_limiter *rl = opaque;
	int ret;

	(void)events;
	virtio_mmio_lock(rl->dev);
	ret = rate_limiter_timer_event(rl);
	virtio_mmio_unlock(rl->dev);
	if (ret == -EAGAIN)
		return;
	if (ret) {
		log_error("rate limiter: reading the refill timer: %s", strerror(-ret));
		return;
	}
	virtio_mmio_kick(rl->dev, rl->queue);
}

int rate_limiter_attach(struct rate_limiter *rl, struct event_loop *loop,
			struct virtio_mmio_dev *dev, unsigned int queue)
{
	int ret;

	if (rl->loop)
		return -EBUSY;
	rl->dev = dev;
	rl->queue = queue;
	ret = event_loop_add(loop, rl->timer_fd, EPOLLIN, rl_timer_fired, rl);
	if (ret) {
		rl->dev = NULL;
		return ret;
	}
	rl->loop = loop;
	return 0;
}

void rate_limiter_detach(struct rate_limiter *rl)
{
	if (!rl->loop)
		return;
	event_loop_del(rl->loop, rl->timer_fd);
	rl->loop = NULL;
	rl->dev = NULL;
}

static bool rl_may_consume(void *ctx, uint64_t bytes, uint64_t ops)
{
	return rate_limiter_consume(ctx, bytes, ops);
}

struct virtio_limiter rate_limiter_hook(struct rate_limiter *rl)
{
	return (struct virtio_limiter){.may_consume = rl_may_consume, .ctx = rl};
}
