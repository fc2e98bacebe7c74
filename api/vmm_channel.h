/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hand-off of API requests from the API thread to the VMM thread.
 *
 * The API thread calls vmm_channel_call(): the request is queued, the eventfd
 * is signalled and the caller sleeps until the VMM thread has answered. The
 * VMM thread polls vmm_channel_fd() in its event loop and, when readable,
 * calls vmm_channel_serve(), which answers every queued request in order.
 * Requests and responses live on the caller's stack; nothing is copied.
 */
#ifndef EMBER_VMM_CHANNEL_H
#define EMBER_VMM_CHANNEL_H

#include <pthread.h>
#include <stdbool.h>

#include "vmm/controller/controller.h"

struct vmm_channel_msg;

struct vmm_channel {
	int efd; /* eventfd: "requests are queued" */
	pthread_mutex_t lock;
	pthread_cond_t answered; /* broadcast whenever a request is answered */
	struct vmm_channel_msg *head, *tail;
	bool closed; /* no VMM thread will serve any more */
};

typedef void (*vmm_channel_handler)(void *ctx, const struct vmm_request *req,
				    struct vmm_response *resp);

int vmm_channel_init(struct vmm_channel *ch);
void vmm_channel_destroy(struct vmm_channel *ch);
int vmm_channel_fd(const struct vmm_channel *ch);

/* API thread: hand @req to the VMM thread and wait for @resp to be filled. */
void vmm_channel_call(struct vmm_channel *ch, const struct vmm_request *req,
		      struct vmm_response *resp);

/* VMM thread: drain the eventfd and answer every queued request, in order. */
void vmm_channel_serve(struct vmm_channel *ch, vmm_channel_handler handle, void *ctx);

/*
 * The VMM thread will not serve again (shutdown): queued and future calls are
 * answered at once with a 400, so an API thread blocked in a call can finish
 * and be joined.
 */
void vmm_channel_close(struct vmm_channel *ch);

#endif
