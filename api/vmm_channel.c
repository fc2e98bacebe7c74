// SPDX-License-Identifier: Apache-2.0
#include "api/vmm_channel.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/base/log.h"

/* One pending call; lives on the calling API thread's stack. */
struct vmm_channel_msg {
	const struct vmm_request *req;
	struct vmm_response *resp;
	bool done;
	struct vmm_channel_msg *next;
};

#define CHANNEL_CLOSED_MESSAGE "The microVM is shutting down."

int vmm_channel_init(struct vmm_channel *ch)
{
	int ret;

	memset(ch, 0, sizeof(*ch));
	ch->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ch->efd < 0)
		return -errno;
	ret = pthread_mutex_init(&ch->lock, NULL);
	if (!ret) {
		ret = pthread_cond_init(&ch->answered, NULL);
		if (ret)
			pthread_mutex_destroy(&ch->lock);
	}
	if (ret) {
		close(ch->efd);
		ch->efd = -1;
		return -ret;
	}
	return 0;
}

void vmm_channel_destroy(struct vmm_channel *ch)
{
	if (ch->efd < 0)
		return;
	close(ch->efd);
	ch->efd = -1;
	pthread_cond_destroy(&ch->answered);
	pthread_mutex_destroy(&ch->lock);
}

int vmm_channel_fd(const struct vmm_channel *ch)
{
	return ch->efd;
}

static void answer_closed(struct vmm_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	resp->status = 400;
	snprintf(resp->fault_message, sizeof(resp->fault_message), "%s", CHANNEL_CLOSED_MESSAGE);
}

void vmm_channel_call(struct vmm_channel *ch, const struct vmm_request *req,
		      struct vmm_response *resp)
{
	struct vmm_channel_msg msg = {.req = req, .resp = resp};
	uint64_t one = 1;

	pthread_mutex_lock(&ch->lock);
	if (ch->closed) {
		pthread_mutex_unlock(&ch->lock);
		answer_closed(resp);
		return;
	}
	if (ch->tail)
		ch->tail->next = &msg;
	else
		ch->head = &msg;
	ch->tail = &msg;
	pthread_mutex_unlock(&ch->lock);

	/* A full counter (EAGAIN) still means "readable": the VMM will come. */
	if (write(ch->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error_unrestricted("Cannot signal the VMM thread: %s", strerror(errno));

	pthread_mutex_lock(&ch->lock);
	while (!msg.done)
		pthread_cond_wait(&ch->answered, &ch->lock);
	pthread_mutex_unlock(&ch->lock);
}

static struct vmm_channel_msg *pop(struct vmm_channel *ch)
{
	struct vmm_channel_msg *msg = ch->head;

	if (msg) {
		ch->head = msg->next;
		if (!ch->head)
			ch->tail = NULL;
	}
	return msg;
}

void vmm_channel_serve(struct vmm_channel *ch, vmm_channel_handler handle, void *ctx)
{
	struct vmm_channel_msg *msg;
	uint64_t count;

	/* Drain first: a call queued after this read signals the eventfd again. */
	if (read(ch->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_error_unrestricted("Cannot read the API eventfd: %s", strerror(errno));
	for (;;) {
		pthread_mutex_lock(&ch->lock);
		msg = pop(ch);
		pthread_mutex_unlock(&ch->lock);
		if (!msg)
			break;
		handle(ctx, msg->req, msg->resp);
		pthread_mutex_lock(&ch->lock);
		msg->done = true;
		pthread_cond_broadcast(&ch->answered);
		pthread_mutex_unlock(&ch->lock);
	}
}

void vmm_channel_close(struct vmm_channel *ch)
{
	struct vmm_channel_msg *msg;

	pthread_mutex_lock(&ch->lock);
	ch->closed = true;
	while ((msg = pop(ch))) {
		answer_closed(msg->resp);
		msg->done = true;
	}
	pthread_cond_broadcast(&ch->answered);
	pthread_mutex_unlock(&ch->lock);
}
