/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMM thread's epoll loop. Every fd the VMM thread serves (API requests,
 * vCPU exits, stdin, virtio ioeventfds, timers) registers a callback here.
 */
#ifndef EMBER_EVENT_LOOP_H
#define EMBER_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*event_cb)(void *opaque, uint32_t events);

struct event_handler;

struct event_loop {
	int epfd;
	struct event_handler *handlers; /* list, so del/destroy can free them */
	/*
	 * Deleted while a batch of events is being dispatched: freed once the
	 * batch is done, since a later event of the batch may still point at it.
	 */
	struct event_handler *deleted;
	bool dispatching;
};

int event_loop_init(struct event_loop *loop);
void event_loop_destroy(struct event_loop *loop);

/* @events: EPOLLIN etc. 0 or negative errno. Any callback may add or delete
 * any handler, its own included. */
int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_cb cb, void *opaque);
int event_loop_del(struct event_loop *loop, int fd);

/* Wait up to @timeout_ms (-1 forever) and run ready callbacks. Returns the number of events. */
int event_loop_run_once(struct event_loop *loop, int timeout_ms);

#endif
