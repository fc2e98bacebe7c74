// SPDX-License-Identifier: Apache-2.0
/*
 * HTTP-level errors on the real server (issue #8, 4): what micro_http refuses
 * before Firecracker routes a request (method, URI, version, headers,
 * payload limit) gets micro_http's 400 {"error": ...} with Ember's headers,
 * sent once; the target is routed as sent (no percent-decoding, query
 * included). Raw bytes in, raw bytes out.
 *
 * Not here, because libmicrohttpd answers them itself and has no hook to
 * change that answer: a Content-Length that is not a decimal number or is
 * above 2^64-1, versions other than HTTP/1.x, a malformed request line or
 * header line (see api/api_server.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api_server.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "vmm/base/version.h"
#include "vmm/controller/controller.h"

#define TAIL "\nAll previous unanswered requests will be dropped.\" }"

static int fake_start(void *ctx, const struct vm_config *cfg, char *err, size_t errlen)
{
	(void)ctx;
	(void)cfg;
	(void)err;
	(void)errlen;
	return 0;
}

static int fake_op(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	(void)err;
	(void)errlen;
	return 0;
}

static const struct vmm_ops fake_ops = {
    .start = fake_start, .pause = fake_op, .resume = fake_op, .send_ctrl_alt_del = fake_op};

struct fixture {
	char dir[64], sock[96];
	struct vmm_channel ch;
	struct controller ctrl;
	struct api_server *srv;
	pthread_t vmm;
	atomic_bool stop;
};

static void handle(void *ctx, const struct vmm_request *req, struct vmm_response *resp)
{
	controller_handle(ctx, req, resp);
}

static void *vmm_thread(void *arg)
{
	struct fixture *f = arg;
	struct pollfd pfd = {.fd = vmm_channel_fd(&f->ch), .events = POLLIN};

	while (!atomic_load(&f->stop))
		if (poll(&pfd, 1, 10) == 1)
			vmm_channel_serve(&f->ch, handle, &f->ctrl);
	return NULL;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ember-http.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/api.sock", f->dir);
	log_reset();
	log_set_level(LOG_OFF);
	metrics_reset();
	assert_int_equal(vmm_channel_init(&f->ch), 0);
	controller_init(&f->ctrl, "http-test", &fake_ops, NULL);
	assert_int_equal(pthread_create(&f->vmm, NULL, vmm_thread, f), 0);
	assert_int_equal(api_server_start(&f->srv, f->sock, 51200, &f->ch, NULL, err, sizeof(err)),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	api_server_stop(f->srv);
	atomic_store(&f->stop, true);
	pthread_join(f->vmm, NULL);
	controller_destroy(&f->ctrl);
	vmm_channel_destroy(&f->ch);
	rmdir(f->dir);
	log_reset();
	free(f);
	return 0;
}

static int connect_api(const struct fixture *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 5};

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

struct http_resp {
	int status;
	char head[2048];
	char body[4096];
};

/* One response from @fd: head byte by byte (a next response stays queued), then the body. */
static void read_response(int fd, struct http_resp *h)
{
	size_t len = 0, want = 0, got = 0;
	const char *cl;

	memset(h, 0, sizeof(*h));
	while (len < sizeof(h->head) - 1 && !strstr(h->head, "\r\n\r\n")) {
		assert_int_equal(recv(fd, h->head + len, 1, 0), 1);
		len++;
	}
	assert_int_equal(sscanf(h->head, "HTTP/1.1 %d", &h->status), 1);
	cl = strstr(h->head, "\r\nContent-Length: ");
	if (cl)
		want = strtoul(cl + strlen("\r\nContent-Length: "), NULL, 10);
	assert_true(want < sizeof(h->body));
	while (got < want) {
		ssize_t n = recv(fd, h->body + got, want - got, 0);

		assert_true(n > 0);
		got += (size_t)n;
	}
}

/* @raw sent on a new connection: one response, with Ember's headers, exactly once. */
static void exchange(struct fixture *f, const char *raw, int status, const char *body)
{
	struct http_resp h;
	int fd = connect_api(f);

	assert_int_equal(send(fd, raw, strlen(raw), MSG_NOSIGNAL), (ssize_t)strlen(raw));
	read_response(fd, &h);
	assert_int_equal(h.status, status);
	assert_string_equal(h.body, body);
	assert_non_null(strstr(h.head, "\r\nServer: Firecracker API\r\n"));
	assert_non_null(strstr(h.head, "\r\nContent-Type: application/json\r\n"));
	/* Nothing after the one response, not a second status line. */
	assert_null(strstr(h.head + 1, "HTTP/1.1"));
	close(fd);
}

static void test_content_length_out_of_u32(void **state)
{
	struct fixture *f = *state;

	/* micro_http parses Content-Length as u32; libmicrohttpd takes up to 2^64-1. */
	exchange(f, "PUT /machine-config HTTP/1.1\r\nContent-Length: 4294967296\r\n\r\n{}", 400,
		 "{ \"error\": \"Invalid header. Reason: Invalid value. Key:Content-Length; "
		 "Value: 4294967296" TAIL);
	exchange(f,
		 "PUT /machine-config HTTP/1.1\r\ncontent-length: 18446744073709551615\r\n\r\n{}",
		 400,
		 "{ \"error\": \"Invalid header. Reason: Invalid value. Key:content-length; "
		 "Value: 18446744073709551615" TAIL);
	/* Within u32 but above the limit: the payload error. */
	exchange(f, "PUT /machine-config HTTP/1.1\r\nContent-Length: 4294967295\r\n\r\n{}", 400,
		 "{ \"error\": \"Request payload with size 4294967295 is larger than the limit "
		 "of 51200 allowed by server." TAIL);
}

static void test_request_line_errors(void **state)
{
	struct fixture *f = *state;

	exchange(f, "GET / HTTP/1.2\r\n\r\n", 400,
		 "{ \"error\": \"Invalid HTTP Version: Unsupported HTTP version." TAIL);
	/* The method is checked before the version, the URI in between. */
	exchange(f, "POST / HTTP/1.9\r\n\r\n", 400,
		 "{ \"error\": \"Invalid HTTP Method: Unsupported HTTP method." TAIL);
	exchange(f, "get / HTTP/1.1\r\n\r\n", 400,
		 "{ \"error\": \"Invalid HTTP Method: Unsupported HTTP method." TAIL);
	exchange(f, "GET /\xff HTTP/1.2\r\n\r\n", 400,
		 "{ \"error\": \"Invalid URI: Cannot parse URI as UTF-8." TAIL);
	exchange(f, "GET /\xc0\xaf HTTP/1.1\r\n\r\n", 400,
		 "{ \"error\": \"Invalid URI: Cannot parse URI as UTF-8." TAIL);
	/* HTTP/1.0 is served. */
	exchange(f, "GET /version HTTP/1.0\r\n\r\n", 200,
		 "{\"firecracker_version\":\"" EMBER_VERSION "\"}");
}

static void test_header_errors(void **state)
{
	struct fixture *f = *state;

	exchange(f, "GET / HTTP/1.1\r\nAccept-Encoding: gzip, identity;q=0\r\n\r\n", 400,
		 "{ \"error\": \"Invalid header. Reason: Invalid value. Key:Accept-Encoding; "
		 "Value: identity;q=0" TAIL);
	exchange(f, "GET / HTTP/1.1\r\nAccept-Encoding: *;q=0\r\n\r\n", 400,
		 "{ \"error\": \"Invalid header. Reason: Invalid value. Key:Accept-Encoding; "
		 "Value:*;q=0" TAIL);
	exchange(f, "GET / HTTP/1.1\r\nAccept-Encoding:\r\n\r\n", 400,
		 "{ \"error\": \"Invalid request." TAIL);
	/* Headers are checked in order: the first bad one is reported. */
	exchange(f,
		 "PUT /machine-config HTTP/1.1\r\nAccept-Encoding: identity;q=0\r\n"
		 "Content-Length: 99999999999\r\n\r\n{}",
		 400,
		 "{ \"error\": \"Invalid header. Reason: Invalid value. Key:Accept-Encoding; "
		 "Value:identity;q=0" TAIL);
	/* What micro_http accepts: "*;q=0" with identity, unknown and custom headers. */
	exchange(f,
		 "GET /version HTTP/1.1\r\nAccept-Encoding: *;q=0, identity\r\n"
		 "Content-Type: text/html\r\nX-Anything: \xc3\xa9\r\n\r\n",
		 200, "{\"firecracker_version\":\"" EMBER_VERSION "\"}");
}

/* An error on a request without body leaves the connection open, as micro_http does. */
static void test_connection_survives_errors(void **state)
{
	static const char raw[] = "GET / HTTP/1.3\r\n\r\n"
				  "GET /version HTTP/1.1\r\n\r\n";
	struct fixture *f = *state;
	struct http_resp h;
	int fd = connect_api(f);

	assert_int_equal(send(fd, raw, strlen(raw), MSG_NOSIGNAL), (ssize_t)strlen(raw));
	read_response(fd, &h);
	assert_int_equal(h.status, 400);
	assert_string_equal(h.body,
			    "{ \"error\": \"Invalid HTTP Version: Unsupported HTTP version." TAIL);
	read_response(fd, &h);
	assert_int_equal(h.status, 200);
	assert_string_equal(h.body, "{\"firecracker_version\":\"" EMBER_VERSION "\"}");
	close(fd);
}

/* Firecracker routes on the target as sent: absolute form, query, percent signs. */
static void test_target_as_sent(void **state)
{
	struct fixture *f = *state;
	char info[256];

	snprintf(info, sizeof(info),
		 "{\"id\":\"http-test\",\"state\":\"Not started\",\"vmm_version\":\"%s\","
		 "\"app_name\":\"Firecracker\"}",
		 EMBER_VERSION);
	exchange(f, "GET http://localhost/version HTTP/1.1\r\n\r\n", 200,
		 "{\"firecracker_version\":\"" EMBER_VERSION "\"}");
	/* No path at all is the root: GET / */
	exchange(f, "GET http://localhost HTTP/1.1\r\n\r\n", 200, info);
	exchange(f, "GET version HTTP/1.1\r\n\r\n", 200, info);
	exchange(f, "GET /version?x=1 HTTP/1.1\r\n\r\n", 400,
		 "{\"fault_message\":\"Invalid request method and/or path: GET version?x=1.\"}");
	exchange(f, "GET /%76ersion HTTP/1.1\r\n\r\n", 400,
		 "{\"fault_message\":\"Invalid request method and/or path: GET %76ersion.\"}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_content_length_out_of_u32, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_line_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_header_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connection_survives_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_target_as_sent, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
