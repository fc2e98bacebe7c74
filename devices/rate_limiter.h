/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's rate limiter: a bandwidth (bytes) and an ops token bucket,
 * each {size, one_time_burst, refill_time ms}; size 0 or refill_time 0
 * disables a bucket (no limit of that kind).
 *
 * A bucket starts full, plus its one-time burst, which is spent first and
 * never comes back. Refill is linear: size tokens per refill_time, computed
 * lazily from the clock when a request finds the budget short, in whole
 * tokens (the time of a fraction of a token is carried to the next refill).
 * A request larger than the whole bucket is let through once ("over
 * consumption"): the bucket is emptied and the limiter stays blocked for as
 * many refill times as the request was bucket sizes over.
 *
 * A request that does not fit blocks the limiter: a one-shot timerfd
 * (CLOCK_MONOTONIC) is armed for 100 ms (Firecracker's refill timer) and
 * every request fails until it fires. The device leaves the request on its
 * queue; when the timer fires the limiter unblocks and kicks the queue, which
 * retries. Nothing polls in between.
 *
 * Threads: everything runs on the VMM thread. Once attached to a device, the
 * limiter's state is guarded by that device's lock: may_consume() runs with
 * it held (virtio.h), the timer handler and rate_limiter_update() take it.
 */
#ifndef EMBER_RATE_LIMITER_H
#define EMBER_RATE_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtio.h"
#include "vmm/config/vmm_config.h"

/* How long a limiter that ran out of tokens waits before it retries. */
#define RATE_LIMITER_REFILL_TIMER_MS 100U

/* The time source, in nanoseconds; monotonic. Injectable for tests. */
typedef uint64_t (*rate_limiter_clock_fn)(void *ctx);

enum rate_limiter_token { RATE_LIMITER_BYTES, RATE_LIMITER_OPS };

struct token_bucket {
	bool enabled; /* false: no limit of this kind */
	uint64_t size;
	uint64_t initial_one_time_burst;
	uint64_t refill_time_ms;

	uint64_t one_time_burst; /* burst tokens left */
	uint64_t budget;	 /* tokens left, <= size */
	uint64_t last_update_ns; /* clock time the budget is accurate for */

	/* size / refill_time_ns reduced by their gcd, so the refill cannot overflow. */
	uint64_t processed_capacity;
	uint64_t processed_refill_time;
};

struct event_loop;
struct virtio_mmio_dev;

struct rate_limiter {
	struct token_bucket bandwidth;
	struct token_bucket ops;

	int timer_fd;
	bool timer_active;	    /* blocked until the timer fires */
	uint64_t timer_armed_ms;    /* length of the last arming, for logs and tests */
	uint64_t timer_deadline_ns; /* clock time the armed timer fires */

	/* Frozen while the VM is paused, see rate_limiter_pause(). */
	bool paused;
	uint64_t paused_at_ns;
	uint64_t timer_left_ns; /* of a blocked limiter's wait, at pause time */

	rate_limiter_clock_fn clock;
	void *clock_ctx;

	/* Set by rate_limiter_attach(): the queue the timer resumes. */
	struct event_loop *loop;
	struct virtio_mmio_dev *dev;
	unsigned int queue;
};

/*
 * Buckets from @cfg (NULL: no limits) on CLOCK_MONOTONIC. The timerfd is
 * created even without limits: a later update may enable them, and seccomp
 * may forbid timerfd_create() by then. 0 or -errno.
 */
int rate_limiter_init(struct rate_limiter *rl, const struct rate_limiter_config *cfg);
/* Same, with the time source @clock(@clock_ctx) for the token arithmetic. */
int rate_limiter_init_clock(struct rate_limiter *rl, const struct rate_limiter_config *cfg,
			    rate_limiter_clock_fn clock, void *clock_ctx);
/* Detaches if attached, closes the timerfd. Safe to call again, or after a failed init. */
void rate_limiter_destroy(struct rate_limiter *rl);

/*
 * Take @ops ops tokens and @bytes bandwidth tokens, or neither: what every
 * Firecracker device does per request (ops first; if the bytes do not fit,
 * the ops tokens are put back). False: blocked, retry when the timer fires.
 */
bool rate_limiter_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t ops);

/* Firecracker's RateLimiter::consume() for one kind of token. */
bool rate_limiter_consume_one(struct rate_limiter *rl, enum rate_limiter_token type,
			      uint64_t tokens);
/* Firecracker's manual_replenish(): give back tokens taken by a request that did not go ahead. */
void rate_limiter_replenish(struct rate_limiter *rl, enum rate_limiter_token type, uint64_t tokens);

/*
 * A bare bucket, for output that is dropped rather than delayed when over
 * its rate (the serial console's, as Firecracker's SerialOut): no timer, no
 * lock (the caller serialises). Init: a full bucket from @cfg at @now_ns,
 * disabled (lets all through) when size or refill_time is 0. Take: true
 * when @tokens were there and are taken (the one-time burst first); false
 * when they were not (nothing taken), or when they are more than the whole
 * bucket (which is emptied, as Firecracker's over-consumption).
 */
void token_bucket_init(struct token_bucket *b, const struct token_bucket_config *cfg,
		       uint64_t now_ns);
bool token_bucket_take(struct token_bucket *b, uint64_t tokens, uint64_t now_ns);
/* CLOCK_MONOTONIC in nanoseconds, the clock the buckets run on by default. */
uint64_t rate_limiter_now_ns(void);

/* True while the limiter waits for its timer. */
bool rate_limiter_is_blocked(const struct rate_limiter *rl);
/* The timerfd to poll for EPOLLIN (rate_limiter_attach() does it for devices). */
int rate_limiter_timer_fd(const struct rate_limiter *rl);
/*
 * The timerfd is readable: unblock. 0, or -EAGAIN when the timer had not
 * expired (spurious event; the limiter stays as it is).
 */
int rate_limiter_timer_event(struct rate_limiter *rl);

/*
 * PATCH semantics (Firecracker's update_buckets): a bucket absent from @cfg
 * (has_bandwidth / has_ops false) is kept as it is; one given with size 0 or
 * refill_time 0 is disabled; any other replaces the bucket with a new, full
 * one. The timer is left alone. Takes the device lock when attached: do not
 * hold it.
 */
void rate_limiter_update(struct rate_limiter *rl, const struct rate_limiter_config *cfg);

/*
 * Freeze the limiter while the VM is paused: no tokens accrue and its timer
 * is stopped, remembering how much of the wait is left. Resume shifts the
 * buckets' clock by the paused time and, if the limiter was blocked, re-arms
 * the timer for the rest of the wait (at least 1 ms). Both take the device
 * lock when attached: do not hold it. Pausing or resuming twice is harmless.
 */
void rate_limiter_pause(struct rate_limiter *rl);
void rate_limiter_resume(struct rate_limiter *rl);

/*
 * Make the limiter resume queue @queue of @dev: its timerfd goes on @loop
 * and, when it fires, the limiter unblocks and calls virtio_mmio_kick(dev,
 * queue). VMM thread. 0 or -errno. Destroy the limiter before the device.
 */
int rate_limiter_attach(struct rate_limiter *rl, struct event_loop *loop,
			struct virtio_mmio_dev *dev, unsigned int queue);
void rate_limiter_detach(struct rate_limiter *rl);

/*
 * The hook to install in a device (block_set_limiter(), rng_set_limiter(),
 * net_set_limiters()): may_consume = rate_limiter_consume on @rl.
 */
struct virtio_limiter rate_limiter_hook(struct rate_limiter *rl);

#endif
