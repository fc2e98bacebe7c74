// SPDX-License-Identifier: Apache-2.0
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/base/event_loop.h"

struct hits {
	int count;
	uint32_t events;
	int fd;
	struct event_loop *loop;
};

static void on_event(void *opaque, uint32_t events)
{
	struct hits *h = opaque;
	uint64_t v;

	h->count++;
	h->events = events;
	if (read(h->fd, &v, sizeof(v)) != sizeof(v))
		h->count += 1000;
}

static void on_event_self_delete(void *opaque, uint32_t events)
{
	struct hits *h = opaque;

	(void)events;
	h->count++;
	assert_int_equal(event_loop_del(h->loop, h->fd), 0);
}

static void test_callback_runs_when_ready(void **state)
{
	struct event_loop loop;
	struct hits h = {0};
	uint64_t one = 1;

	(void)state;
	assert_int_equal(event_loop_init(&loop), 0);
	h.fd = eventfd(0, EFD_NONBLOCK);
	assert_int_equal(event_loop_add(&loop, h.fd, EPOLLIN, on_event, &h), 0);
	assert_int_equal(event_loop_run_once(&loop, 0), 0);
	assert_int_equal(h.count, 0);
	assert_int_equal(write(h.fd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(event_loop_run_once(&loop, 1000), 1);
	assert_int_equal(h.count, 1);
	assert_true(h.events & EPOLLIN);
	event_loop_destroy(&loop);
	close(h.fd);
}

static void test_add_twice_and_del_unknown(void **state)
{
	struct event_loop loop;
	struct hits h = {0};

	(void)state;
	assert_int_equal(event_loop_init(&loop), 0);
	h.fd = eventfd(0, EFD_NONBLOCK);
	assert_int_equal(event_loop_add(&loop, h.fd, EPOLLIN, on_event, &h), 0);
	assert_int_equal(event_loop_add(&loop, h.fd, EPOLLIN, on_event, &h), -EEXIST);
	assert_int_equal(event_loop_del(&loop, 12345), -ENOENT);
	assert_int_equal(event_loop_add(&loop, -1, EPOLLIN, on_event, &h), -EBADF);
	event_loop_destroy(&loop);
	close(h.fd);
}

static void test_callback_may_delete_itself(void **state)
{
	struct event_loop loop;
	struct hits h = {0};
	uint64_t one = 1;

	(void)state;
	assert_int_equal(event_loop_init(&loop), 0);
	h.fd = eventfd(0, EFD_NONBLOCK);
	h.loop = &loop;
	assert_int_equal(event_loop_add(&loop, h.fd, EPOLLIN, on_event_self_delete, &h), 0);
	assert_int_equal(write(h.fd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(event_loop_run_once(&loop, 1000), 1);
	/* Still readable, but no longer watched. */
	assert_int_equal(event_loop_run_once(&loop, 0), 0);
	assert_int_equal(h.count, 1);
	event_loop_destroy(&loop);
	close(h.fd);
}

struct pair {
	struct event_loop *loop;
	int fd[2];
	int runs;
};

static void on_event_delete_other(void *opaque, uint32_t events)
{
	struct pair *p = opaque;

	(void)events;
	p->runs++;
	/* Both are ready in the same batch: the other's event is already taken. */
	assert_int_equal(event_loop_del(p->loop, p->fd[0]), 0);
	assert_int_equal(event_loop_del(p->loop, p->fd[1]), 0);
}

static void test_callback_may_delete_another_ready_handler(void **state)
{
	struct event_loop loop;
	struct pair p = {.loop = &loop};
	uint64_t one = 1;

	(void)state;
	assert_int_equal(event_loop_init(&loop), 0);
	for (int i = 0; i < 2; i++) {
		p.fd[i] = eventfd(0, EFD_NONBLOCK);
		assert_int_equal(event_loop_add(&loop, p.fd[i], EPOLLIN, on_event_delete_other, &p),
				 0);
		assert_int_equal(write(p.fd[i], &one, sizeof(one)), sizeof(one));
	}
	assert_int_equal(event_loop_run_once(&loop, 1000), 2);
	/* The deleted handler's pending event is dropped, not run on freed memory. */
	assert_int_equal(p.runs, 1);
	assert_null(loop.deleted);
	assert_int_equal(event_loop_run_once(&loop, 0), 0);
	event_loop_destroy(&loop);
	close(p.fd[0]);
	close(p.fd[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_callback_runs_when_ready),
	    cmocka_unit_test(test_add_twice_and_del_unknown),
	    cmocka_unit_test(test_callback_may_delete_itself),
	    cmocka_unit_test(test_callback_may_delete_another_ready_handler),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
