// SPDX-License-Identifier: Apache-2.0
/*
 * A request the VMM has answered is delivered even when the process stops
 * right after: the guest can end the VM (a reset after SendCtrlAltDel) in
 * the moment between the VMM's answer and the API thread's write. The
 * VMM-thread stand-in here answers one request and stops the server at
 * once, the tightest form of that race.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api_server.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "vmm/controller/controller.h"

#define WAIT_MS 10000 /* bound on every wait: a hang fails the test */

static const struct vmm_ops no_ops;

struct exit_race {
	char dir[64];
	char sock[96];
	struct vmm_channel ch;
	struct controller ctrl;
	struct api_server *srv;
	atomic_bool answered;
	char reply[512];
	ssize_t reply_len;
};

static void answer_then_flag(void *ctx, const struct vmm_request *req, struct vmm_response *resp)
{
	struct exit_race *r = ctx;

	controller_handle(&r->ctrl, req, resp);
	atomic_store(&r->answered, true);
}

static int connect_api(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* The client: one GET /, then everything until the server closes. */
static void *client(void *arg)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
	struct exit_race *r = arg;
	int fd = connect_api(r->sock);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	ssize_t n;

	if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1))
		r->reply_len = -1;
	while (r->reply_len >= 0 && (size_t)r->reply_len < sizeof(r->reply) - 1 &&
	       poll(&pfd, 1, WAIT_MS) == 1) {
		n = read(fd, r->reply + r->reply_len, sizeof(r->reply) - 1 - r->reply_len);
		if (n <= 0)
			break;
		r->reply_len += n;
	}
	r->reply[r->reply_len > 0 ? r->reply_len : 0] = '\0';
	close(fd);
	return NULL;
}

/* VMM thread: serve until the one request has been answered (bounded). */
static void serve_one(struct exit_race *r)
{
	struct pollfd pfd = {.fd = vmm_channel_fd(&r->ch), .events = POLLIN};

	for (int waited = 0; !atomic_load(&r->answered) && waited < WAIT_MS; waited += 10)
		if (poll(&pfd, 1, 10) == 1)
			vmm_channel_serve(&r->ch, answer_then_flag, r);
	assert_true(atomic_load(&r->answered));
}

static void answered_request_is_delivered_when_the_server_stops_at_once(void **state)
{
	struct exit_race *r = calloc(1, sizeof(*r));
	char err[256];
	pthread_t t;

	(void)state;
	assert_non_null(r);
	snprintf(r->dir, sizeof(r->dir), "/tmp/ember-api-exit.XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->sock, sizeof(r->sock), "%s/api.sock", r->dir);
	log_reset();
	log_set_level(LOG_OFF);
	metrics_reset();
	assert_int_equal(vmm_channel_init(&r->ch), 0);
	controller_init(&r->ctrl, "exit-race", &no_ops, NULL);
	assert_int_equal(api_server_start(&r->srv, r->sock, 51200, &r->ch, NULL, err, sizeof(err)),
			 0);
	assert_int_equal(pthread_create(&t, NULL, client, r), 0);
	serve_one(r);
	/* The guest ended the VM right after the answer: the process stops now. */
	api_server_stop(r->srv);
	pthread_join(t, NULL);
	assert_true(r->reply_len > 0);
	assert_non_null(strstr(r->reply, "HTTP/1.1 200"));
	assert_non_null(strstr(r->reply, "\"id\":\"exit-race\""));
	controller_destroy(&r->ctrl);
	vmm_channel_destroy(&r->ch);
	rmdir(r->dir);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(answered_request_is_delivered_when_the_server_stops_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
