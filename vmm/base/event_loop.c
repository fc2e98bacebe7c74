// SPDX-License-Identifier: Apache-2.0
#include "vmm/base/event_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

struct event_handler {
	int fd;
	event_cb cb; /* NULL once deleted */
	void *opaque;
	struct event_handler *next;
};

static void free_list(struct event_handler *h)
{
	struct event_handler *next;

	for (; h; h = next) {
		next = h->next;
		free(h);
	}
}

int event_loop_init(struct event_loop *loop)
{
	loop->handlers = loop->deleted = NULL;
	loop->dispatching = false;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	return loop->epfd < 0 ? -errno : 0;
}

void event_loop_destroy(struct event_loop *loop)
{
	free_list(loop->handlers);
	free_list(loop->deleted);
	loop->handlers = loop->deleted = NULL;
	if (loop->epfd >= 0)
		close(loop->epfd);
	loop->epfd = -1;
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_cb cb, void *opaque)
{
	struct event_handler *h = calloc(1, sizeof(*h));
	struct epoll_event ev = {.events = events};

	if (!h)
		return -ENOMEM;
	h->fd = fd;
	h->cb = cb;
	h->opaque = opaque;
	ev.data.ptr = h;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		free(h);
		return err;
	}
	h->next = loop->handlers;
	loop->handlers = h;
	return 0;
}

int event_loop_del(struct event_loop *loop, int fd)
{
	struct event_handler **pp;

	for (pp = &loop->handlers; *pp; pp = &(*pp)->next) {
		struct event_handler *h = *pp;

		if (h->fd != fd)
			continue;
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		*pp = h->next;
		h->cb = NULL;
		if (loop->dispatching) {
			h->next = loop->deleted;
			loop->deleted = h;
		} else {
			free(h);
		}
		return 0;
	}
	return -ENOENT;
}

int event_loop_run_once(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(loop->epfd, evs, 32, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	loop->dispatching = true;
	for (int i = 0; i < n; i++) {
		struct event_handler *h = evs[i].data.ptr;

		if (h->cb)
			h->cb(h->opaque, evs[i].events);
	}
	loop->dispatching = false;
	free_list(loop->deleted);
	loop->deleted = NULL;
	return n;
}
