// SPDX-License-Identifier: Apache-2.0
/*
 * vmm_channel with real threads: a "VMM thread" polling the eventfd and
 * serving, API threads calling concurrently, ordering, and shutdown while a
 * caller is blocked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "api/vmm_channel.h"

struct vmm_side {
	struct vmm_channel ch;
	pthread_t thread;
	atomic_bool stop;
	int served;
	uint32_t order[256]; /* vcpu_count of each request, in serving order */
};

/* Echo: status 200, machine.vcpu_count = 2 * request's. */
static void echo(void *ctx, const struct vmm_request *req, struct vmm_response *resp)
{
	struct vmm_side *s = ctx;

	memset(resp, 0, sizeof(*resp));
	resp->status = 200;
	resp->machine.vcpu_count = 2 * req->u.machine.vcpu_count;
	if (s->served < 256)
		s->order[s->served] = req->u.machine.vcpu_count;
	s->served++;
}

static void *vmm_thread(void *arg)
{
	struct vmm_side *s = arg;
	struct pollfd pfd = {.fd = vmm_channel_fd(&s->ch), .events = POLLIN};

	while (!atomic_load(&s->stop)) {
		if (poll(&pfd, 1, 10) == 1)
			vmm_channel_serve(&s->ch, echo, s);
	}
	return NULL;
}

static void start_vmm(struct vmm_side *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(vmm_channel_init(&s->ch), 0);
	assert_true(vmm_channel_fd(&s->ch) >= 0);
	assert_int_equal(pthread_create(&s->thread, NULL, vmm_thread, s), 0);
}

static void stop_vmm(struct vmm_side *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	vmm_channel_destroy(&s->ch);
}

static void call(struct vmm_side *s, uint32_t id, struct vmm_response *resp)
{
	struct vmm_request req = {.type = REQ_PUT_MACHINE_CONFIG};

	req.u.machine.vcpu_count = id;
	vmm_channel_call(&s->ch, &req, resp);
}

static void test_sequential_calls_in_order(void **state)
{
	struct vmm_side s;
	struct vmm_response resp;

	(void)state;
	start_vmm(&s);
	for (uint32_t i = 1; i <= 100; i++) {
		call(&s, i, &resp);
		assert_int_equal(resp.status, 200);
		assert_int_equal(resp.machine.vcpu_count, 2 * i);
	}
	stop_vmm(&s);
	assert_int_equal(s.served, 100);
	for (uint32_t i = 0; i < 100; i++)
		assert_int_equal(s.order[i], i + 1);
}

struct caller {
	struct vmm_side *s;
	uint32_t base;
	int wrong;
};

static void *caller_thread(void *arg)
{
	struct caller *c = arg;
	struct vmm_response resp;

	for (uint32_t i = 0; i < 50; i++) {
		call(c->s, c->base + i, &resp);
		if (resp.status != 200 || resp.machine.vcpu_count != 2 * (c->base + i))
			c->wrong++;
	}
	return NULL;
}

static void test_concurrent_callers(void **state)
{
	struct caller callers[4];
	pthread_t threads[4];
	struct vmm_side s;

	(void)state;
	start_vmm(&s);
	for (int i = 0; i < 4; i++) {
		callers[i] = (struct caller){.s = &s, .base = 1000u * (i + 1)};
		assert_int_equal(pthread_create(&threads[i], NULL, caller_thread, &callers[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(callers[i].wrong, 0);
	}
	stop_vmm(&s);
	assert_int_equal(s.served, 200);
}

struct blocked {
	struct vmm_channel *ch;
	struct vmm_response resp;
	atomic_bool returned;
};

static void *blocked_caller(void *arg)
{
	struct blocked *b = arg;
	struct vmm_request req = {.type = REQ_GET_INSTANCE_INFO};

	vmm_channel_call(b->ch, &req, &b->resp);
	atomic_store(&b->returned, true);
	return NULL;
}

static void test_close_answers_blocked_and_later_calls(void **state)
{
	struct vmm_channel ch;
	struct blocked b = {.ch = &ch};
	struct pollfd pfd;
	struct vmm_response resp;
	struct vmm_request req = {.type = REQ_GET_INSTANCE_INFO};
	pthread_t t;

	(void)state;
	assert_int_equal(vmm_channel_init(&ch), 0);
	pfd = (struct pollfd){.fd = vmm_channel_fd(&ch), .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 0), 0); /* nothing queued yet */
	assert_int_equal(pthread_create(&t, NULL, blocked_caller, &b), 0);
	/* The call signals the eventfd and then waits: nobody serves. */
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	/*
	 * It must stay blocked: nothing marks "it would have returned by now",
	 * so watch a bounded window (100 ms, checked every millisecond) that is
	 * far longer than a wrongly returning call takes after its signal.
	 */
	for (int i = 0; i < 100; i++) {
		assert_false(atomic_load(&b.returned));
		usleep(1000);
	}

	vmm_channel_close(&ch);
	pthread_join(t, NULL);
	assert_true(atomic_load(&b.returned));
	assert_int_equal(b.resp.status, 400);
	assert_string_equal(b.resp.fault_message, "The microVM is shutting down.");

	vmm_channel_call(&ch, &req, &resp);
	assert_int_equal(resp.status, 400);
	vmm_channel_destroy(&ch);
}

static void test_serve_without_requests(void **state)
{
	struct vmm_side s;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(vmm_channel_init(&s.ch), 0);
	vmm_channel_serve(&s.ch, echo, &s);
	assert_int_equal(s.served, 0);
	vmm_channel_destroy(&s.ch);
	vmm_channel_destroy(&s.ch); /* idempotent */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sequential_calls_in_order),
	    cmocka_unit_test(test_concurrent_callers),
	    cmocka_unit_test(test_close_answers_blocked_and_later_calls),
	    cmocka_unit_test(test_serve_without_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
