// SPDX-License-Identifier: Apache-2.0
/*
 * The API server over a real Unix socket, with a VMM-thread stand-in that
 * serves the channel with the real controller and a fake VM. A small raw
 * HTTP client checks status lines, headers and bodies byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api_server.h"
#include "vmm/controller/controller.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "vmm/base/version.h"

/* ---- fake VM + VMM thread ---- */

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
	char dir[64];
	char sock[96];
	char kernel[96];
	struct vmm_channel ch;
	struct controller ctrl;
	struct api_server *srv;
	pthread_t vmm;
	atomic_bool stop;
	atomic_bool serving; /* false: the VMM thread leaves requests queued */
	atomic_bool idle;    /* the VMM thread saw !serving and polls no more */
};

static void handle(void *ctx, const struct vmm_request *req, struct vmm_response *resp)
{
	controller_handle(ctx, req, resp);
}

static void *vmm_thread(void *arg)
{
	struct fixture *f = arg;
	struct pollfd pfd = {.fd = vmm_channel_fd(&f->ch), .events = POLLIN};

	while (!atomic_load(&f->stop)) {
		if (atomic_load(&f->serving) && poll(&pfd, 1, 10) == 1)
			vmm_channel_serve(&f->ch, handle, &f->ctrl);
		else if (!atomic_load(&f->serving)) {
			atomic_store(&f->idle, true);
			usleep(1000);
		}
	}
	return NULL;
}

static void start_server(struct fixture *f, size_t max_payload)
{
	char err[256];

	assert_int_equal(
	    api_server_start(&f->srv, f->sock, max_payload, &f->ch, NULL, err, sizeof(err)), 0);
}

static int setup_with_limit(void **state, size_t max_payload)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ember-api.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/api.sock", f->dir);
	snprintf(f->kernel, sizeof(f->kernel), "%s/vmlinux", f->dir);
	fd = open(f->kernel, O_CREAT | O_WRONLY, 0600);
	close(fd);
	log_reset();
	log_set_level(LOG_OFF);
	metrics_reset();
	assert_int_equal(vmm_channel_init(&f->ch), 0);
	controller_init(&f->ctrl, "api-test", &fake_ops, NULL);
	atomic_store(&f->serving, true);
	assert_int_equal(pthread_create(&f->vmm, NULL, vmm_thread, f), 0);
	start_server(f, max_payload);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with_limit(state, 51200);
}

static int setup_small_limit(void **state)
{
	return setup_with_limit(state, 50);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	api_server_stop(f->srv);
	atomic_store(&f->stop, true);
	pthread_join(f->vmm, NULL);
	controller_destroy(&f->ctrl);
	vmm_channel_destroy(&f->ch);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	log_reset();
	free(f);
	return 0;
}

/* ---- raw HTTP client ---- */

struct http_resp {
	int status;
	char head[2048]; /* status line + headers, as received */
	char body[8192];
	size_t body_len;
};

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

static void send_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		assert_true(n > 0);
		data += n;
		len -= (size_t)n;
	}
}

/* Value of header @name in @h->head, or NULL. */
static const char *header(const struct http_resp *h, const char *name, char *buf, size_t size)
{
	const char *p = strstr(h->head, "\r\n");

	while (p && p[2] != '\r' && p[2]) {
		const char *line = p + 2, *end = strstr(line, "\r\n");
		size_t n = strlen(name);

		if (!end)
			break;
		if (!strncasecmp(line, name, n) && line[n] == ':') {
			line += n + 1;
			while (*line == ' ')
				line++;
			snprintf(buf, size, "%.*s", (int)(end - line), line);
			return buf;
		}
		p = end;
	}
	return NULL;
}

/* Read one response from @fd (byte by byte: pipelined responses stay in the socket). */
static int read_response(int fd, struct http_resp *h)
{
	char value[64];
	size_t len = 0, want;
	const char *cl;

	memset(h, 0, sizeof(*h));
	while (len < sizeof(h->head) - 1 && !strstr(h->head, "\r\n\r\n")) {
		if (recv(fd, h->head + len, 1, 0) != 1)
			return -1;
		len++;
	}
	if (sscanf(h->head, "HTTP/1.1 %d", &h->status) != 1)
		return -1;
	cl = header(h, "Content-Length", value, sizeof(value));
	want = cl ? strtoul(cl, NULL, 10) : 0;
	while (h->body_len < want) {
		ssize_t n = recv(fd, h->body + h->body_len, want - h->body_len, 0);

		if (n <= 0)
			return -1;
		h->body_len += (size_t)n;
	}
	h->body[h->body_len] = '\0';
	return 0;
}

static void format_request(char *buf, size_t size, const char *method, const char *path,
			   const char *body)
{
	if (body)
		snprintf(buf, size,
			 "%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 method, path, strlen(body), body);
	else
		snprintf(buf, size, "%s %s HTTP/1.1\r\nHost: localhost\r\n\r\n", method, path);
}

/* One request on a fresh connection. */
static void request(struct fixture *f, const char *method, const char *path, const char *body,
		    struct http_resp *h)
{
	char req[4096];
	int fd = connect_api(f);

	format_request(req, sizeof(req), method, path, body);
	send_all(fd, req, strlen(req));
	assert_int_equal(read_response(fd, h), 0);
	close(fd);
}

static void expect(struct fixture *f, const char *method, const char *path, const char *body,
		   int status, const char *want_body)
{
	struct http_resp h;
	char v[128];

	request(f, method, path, body, &h);
	assert_int_equal(h.status, status);
	assert_non_null(header(&h, "Server", v, sizeof(v)));
	assert_string_equal(v, "Firecracker API");
	assert_string_equal(h.body, want_body ? want_body : "");
	if (want_body) {
		assert_non_null(header(&h, "Content-Type", v, sizeof(v)));
		assert_string_equal(v, "application/json");
	} else {
		assert_null(header(&h, "Content-Type", v, sizeof(v)));
	}
	assert_null(header(&h, "Deprecation", v, sizeof(v)));
}

/* ---- tests ---- */

static void test_get_instance_info_and_version(void **state)
{
	struct fixture *f = *state;

	expect(f, "GET", "/", NULL, 200,
	       "{\"id\":\"api-test\",\"state\":\"Not started\",\"vmm_version\":\"" EMBER_VERSION
	       "\",\"app_name\":\"Firecracker\"}");
	expect(f, "GET", "/version", NULL, 200, "{\"firecracker_version\":\"" EMBER_VERSION "\"}");
	assert_int_equal(g_metrics.get_api_requests.instance_info_count, 1);
	assert_int_equal(g_metrics.get_api_requests.version_count, 1);
}

static void test_configure_and_read_back(void **state)
{
	struct fixture *f = *state;
	struct http_resp h;
	char body[512];

	expect(f, "PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}", 204,
	       NULL);
	expect(f, "PATCH", "/machine-config", "{\"track_dirty_pages\": true}", 204, NULL);
	expect(f, "GET", "/machine-config", NULL, 200,
	       "{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":false,\"track_dirty_pages\":true,"
	       "\"huge_pages\":\"None\"}");
	snprintf(body, sizeof(body),
		 "{\"kernel_image_path\": \"%s\", \"boot_args\": \"console=ttyS0\"}", f->kernel);
	expect(f, "PUT", "/boot-source", body, 204, NULL);
	/* test_api_json.c checks the whole body, key by key: here, what the PUTs set. */
	request(f, "GET", "/vm/config", NULL, &h);
	assert_int_equal(h.status, 200);
	snprintf(body, sizeof(body),
		 "\"boot-source\":{\"kernel_image_path\":\"%s\",\"initrd_path\":null,"
		 "\"boot_args\":\"console=ttyS0\"},",
		 f->kernel);
	assert_non_null(strstr(h.body, body));
	assert_non_null(strstr(h.body, "\"machine-config\":{\"vcpu_count\":2,\"mem_size_mib\":256,"
				       "\"smt\":false,\"track_dirty_pages\":true,"
				       "\"huge_pages\":\"None\"},"));
}

static void test_errors(void **state)
{
	struct fixture *f = *state;

	expect(f, "PUT", "/machine-config", "{\"vcpu_count\": 2}", 400,
	       "{\"fault_message\":\"An error occurred when deserializing the json body of a "
	       "request: missing field `mem_size_mib` at line 1 column 17.\"}");
	expect(f, "PUT", "/machine-config", "{\"vcpu_count\": 64, \"mem_size_mib\": 1}", 400,
	       "{\"fault_message\":\"Machine config error: The number of vCPUs must be greater "
	       "than 0, less than 32 and must be 1 or an even number if SMT is enabled.\"}");
	expect(f, "GET", "/foo/bar", NULL, 400,
	       "{\"fault_message\":\"Invalid request method and/or path: GET foo.\"}");
	expect(f, "PUT", "/machine-config", NULL, 400,
	       "{\"fault_message\":\"Empty PUT request.\"}");
	expect(f, "PATCH", "/vm", "{\"state\": \"Paused\"}", 400,
	       "{\"fault_message\":\"The requested operation is not supported before starting the "
	       "microVM.\"}");
	expect(f, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 400,
	       "{\"fault_message\":\"Start microvm error: Cannot start microvm without kernel "
	       "configuration.\"}");
	expect(
	    f, "DELETE", "/machine-config", NULL, 400,
	    "{\"fault_message\":\"Invalid request method and/or path: DELETE machine-config.\"}");
	expect(f, "POST", "/machine-config", NULL, 400,
	       "{ \"error\": \"Invalid HTTP Method: Unsupported HTTP method.\nAll previous "
	       "unanswered requests will be dropped.\" }");
}

static void test_deprecation_header(void **state)
{
	struct fixture *f = *state;
	struct http_resp h;
	char v[64];

	request(f, "PUT", "/machine-config",
		"{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"None\"}", &h);
	assert_int_equal(h.status, 204);
	assert_non_null(header(&h, "Deprecation", v, sizeof(v)));
	assert_string_equal(v, "true");
	assert_int_equal(h.body_len, 0);
	/* Also when the request then fails. */
	request(f, "PATCH", "/machine-config", "{\"vcpu_count\": 0, \"cpu_template\": \"T2\"}", &h);
	assert_int_equal(h.status, 400);
	assert_non_null(header(&h, "Deprecation", v, sizeof(v)));
	assert_int_equal(g_metrics.deprecated_api.deprecated_http_api_calls, 2);
}

static void test_boot_pause_resume(void **state)
{
	struct fixture *f = *state;
	char body[256];

	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\"}", f->kernel);
	expect(f, "PUT", "/boot-source", body, 204, NULL);
	expect(f, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204, NULL);
	expect(f, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204, NULL);
	expect(f, "GET", "/", NULL, 200,
	       "{\"id\":\"api-test\",\"state\":\"Paused\",\"vmm_version\":\"" EMBER_VERSION
	       "\",\"app_name\":\"Firecracker\"}");
	expect(f, "PUT", "/boot-source", body, 400,
	       "{\"fault_message\":\"The requested operation is not supported after starting the "
	       "microVM.\"}");
	expect(f, "PATCH", "/vm", "{\"state\": \"Resumed\"}", 204, NULL);
	expect(f, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", 204, NULL);
	expect(f, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", 204, NULL);
}

static void test_pipelined_requests(void **state)
{
	struct fixture *f = *state;
	char all[2048], one[512];
	struct http_resp h;
	int fd = connect_api(f);

	all[0] = '\0';
	format_request(one, sizeof(one), "PUT", "/machine-config",
		       "{\"vcpu_count\": 4, \"mem_size_mib\": 64}");
	strcat(all, one);
	format_request(one, sizeof(one), "GET", "/machine-config", NULL);
	strcat(all, one);
	format_request(one, sizeof(one), "GET", "/nope", NULL);
	strcat(all, one);
	send_all(fd, all, strlen(all));
	assert_int_equal(read_response(fd, &h), 0);
	assert_int_equal(h.status, 204);
	assert_int_equal(read_response(fd, &h), 0);
	assert_int_equal(h.status, 200);
	assert_string_equal(h.body, "{\"vcpu_count\":4,\"mem_size_mib\":64,\"smt\":false,"
				    "\"track_dirty_pages\":false,\"huge_pages\":\"None\"}");
	assert_int_equal(read_response(fd, &h), 0);
	assert_int_equal(h.status, 400);
	assert_string_equal(
	    h.body, "{\"fault_message\":\"Invalid request method and/or path: GET nope.\"}");
	close(fd);
}

static void test_payload_limit(void **state)
{
	struct fixture *f = *state;
	char req[512], body[64];
	struct http_resp h;
	int fd;

	/* 50 bytes are within the limit. */
	memset(body, ' ', 50);
	body[0] = '{';
	body[49] = '}';
	body[50] = '\0';
	expect(f, "PUT", "/serial", body, 204, NULL);

	/* 51 are not: micro_http's exact answer, before the body is even read. */
	fd = connect_api(f);
	snprintf(req, sizeof(req),
		 "PUT /machine-config HTTP/1.1\r\nContent-Length: 50000\r\n\r\n{\"vcpu_count\"");
	send_all(fd, req, strlen(req));
	assert_int_equal(read_response(fd, &h), 0);
	close(fd);
	assert_int_equal(h.status, 400);
	assert_string_equal(h.body, "{ \"error\": \"Request payload with size 50000 is larger than "
				    "the limit of 50 allowed by server.\nAll previous unanswered "
				    "requests will be dropped.\" }");
	/* The server is still fine. */
	expect(f, "GET", "/version", NULL, 200, "{\"firecracker_version\":\"" EMBER_VERSION "\"}");
}

static void test_connection_limit(void **state)
{
	static const char full[] =
	    "HTTP/1.1 503\r\nServer: Firecracker API\r\nConnection: close\r\n"
	    "Content-Length: 40\r\n\r\n{ \"error\": \"Too many open "
	    "connections\" }";
	struct fixture *f = *state;
	int fds[API_MAX_CONNECTIONS], extra;
	char buf[512];
	struct http_resp h;
	size_t len = 0;
	ssize_t n;

	/* Ten connections, each proven accepted by a served request. */
	for (int i = 0; i < API_MAX_CONNECTIONS; i++) {
		fds[i] = connect_api(f);
		format_request(buf, sizeof(buf), "GET", "/version", NULL);
		send_all(fds[i], buf, strlen(buf));
		assert_int_equal(read_response(fds[i], &h), 0);
		assert_int_equal(h.status, 200);
	}
	/* The eleventh gets Firecracker's 503 and is closed. */
	extra = connect_api(f);
	while ((n = recv(extra, buf + len, sizeof(buf) - 1 - len, 0)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	assert_string_equal(buf, full);
	close(extra);

	/*
	 * Once one closes, a new connection is served again: as soon as the
	 * server has seen the close (until then a new one still gets the 503
	 * and is closed; retried every 10 ms for at most 5 s).
	 */
	close(fds[0]);
	for (int tries = 0;; tries++) {
		assert_true(tries < 500);
		fds[0] = connect_api(f);
		format_request(buf, sizeof(buf), "GET", "/", NULL);
		/* A refused one may be closed before the request is sent. */
		if (send(fds[0], buf, strlen(buf), MSG_NOSIGNAL) == (ssize_t)strlen(buf) &&
		    read_response(fds[0], &h) == 0 && h.status == 200)
			break;
		close(fds[0]);
		usleep(10000);
	}
	for (int i = 0; i < API_MAX_CONNECTIONS; i++)
		close(fds[i]);
}

static void test_socket_path_handling(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char err[256], longpath[200];
	struct api_server *other;
	int fd;

	/* Restart on the same path, over a stale socket file nobody listens on. */
	api_server_stop(f->srv);
	assert_int_equal(access(f->sock, F_OK), -1); /* removed on stop */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->sock);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(access(f->sock, F_OK), 0);
	start_server(f, 51200);
	expect(f, "GET", "/version", NULL, 200, "{\"firecracker_version\":\"" EMBER_VERSION "\"}");

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(api_server_start(&other, longpath, 100, &f->ch, NULL, err, sizeof(err)),
			 -ENAMETOOLONG);
	assert_string_equal(err, "the socket path is 199 bytes long, at most 107 are possible");
	assert_int_equal(api_server_start(&other, "/nonexistent-dir/api.sock", 100, &f->ch, NULL,
					  err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(
	    err, "cannot listen on /nonexistent-dir/api.sock: No such file or directory");
}

static void test_stop_with_request_in_flight(void **state)
{
	struct fixture *f = *state;
	char req[256], buf[512];
	size_t len = 0;
	ssize_t n;
	int fd;

	/* The VMM thread stops serving: the API thread blocks on the channel. */
	atomic_store(&f->idle, false);
	atomic_store(&f->serving, false);
	/* It has left a poll() begun while still serving (at most 5 s). */
	for (int i = 0; !atomic_load(&f->idle); i++) {
		assert_true(i < 5000);
		usleep(1000);
	}
	fd = connect_api(f);
	format_request(req, sizeof(req), "GET", "/machine-config", NULL);
	send_all(fd, req, strlen(req));
	/* The API thread has queued the request on the channel (its eventfd is readable). */
	struct pollfd pfd = {.fd = vmm_channel_fd(&f->ch), .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	/* Stopping must not deadlock; the waiting request gets an answer or the close. */
	api_server_stop(f->srv);
	f->srv = NULL;
	while ((n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	assert_true(len == 0 || strstr(buf, "The microVM is shutting down.") != NULL);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_get_instance_info_and_version),
	    T(test_configure_and_read_back),
	    T(test_errors),
	    T(test_deprecation_header),
	    T(test_boot_pause_resume),
	    T(test_pipelined_requests),
	    cmocka_unit_test_setup_teardown(test_payload_limit, setup_small_limit, teardown),
	    T(test_connection_limit),
	    T(test_socket_path_handling),
	    T(test_stop_with_request_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
