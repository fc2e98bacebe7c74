// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: the API request path end to end. The input is raw bytes sent
 * on a connection to the real API server (libmicrohttpd, its thread, Ember's
 * callbacks): HTTP parsing, micro_http's checks, routing, JSON decoding,
 * validation, the hand-off to the VMM thread and the answer. The VMM side
 * is this thread, serving the channel with the real controller and a VM that
 * does nothing (fuzz_api.h), reset before every input; host paths in the
 * requests are confined to FUZZ_API_DIR.
 *
 * Checked, beyond the sanitizers: every answer starts with an HTTP/1.1
 * status line, and the server keeps serving: after an input it left
 * unanswered (an incomplete request, which libmicrohttpd keeps waiting for
 * even after the end of the stream, until the API's request timeout) a
 * GET /version on a new connection must be answered within 5 s.
 */
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "tests/fuzz/fuzz_api.h"

/*
 * The server itself, compiled here: the fuzz build links no seccomp code,
 * and the server is started without filters (NULL), so this is never asked
 * to install one.
 */
#include "api/api_server.c"

int seccomp_install(const struct seccomp_filters *f, enum seccomp_thread t)
{
	(void)f;
	(void)t;
	return 0;
}

static struct {
	struct vmm_channel ch;
	struct api_server *srv;
	char sock[108];
} fz;

static void fz_http_init(void)
{
	char err[256];

	fz_api_init();
	snprintf(fz.sock, sizeof(fz.sock), FUZZ_API_DIR "/api.%d.sock", (int)getpid());
	if (vmm_channel_init(&fz.ch) ||
	    api_server_start(&fz.srv, fz.sock, 51200, &fz.ch, NULL, err, sizeof(err))) {
		fprintf(stderr, "fuzz_http: cannot start the API server: %s\n", err);
		abort();
	}
}

static int fz_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		abort();
	memcpy(sa.sun_path, fz.sock, strlen(fz.sock));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("fuzz_http: connect");
		abort();
	}
	return fd;
}

/*
 * Send @data, serving the VMM channel meanwhile, then read the answers
 * until the server closes, or until @quiet_ms pass without progress once
 * everything is sent. Returns the bytes answered (the first 64 KiB are kept
 * for the status line check).
 */
static size_t fz_exchange(int fd, const uint8_t *data, size_t size, int quiet_ms)
{
	static char answer[1 << 16];
	size_t sent = 0, got = 0;
	bool shut = false;

	for (;;) {
		struct pollfd p[2] = {
		    {.fd = fd, .events = POLLIN | (sent < size ? POLLOUT : 0)},
		    {.fd = vmm_channel_fd(&fz.ch), .events = POLLIN},
		};
		ssize_t n;

		if (sent == size && !shut) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		if (poll(p, 2, sent < size ? 5000 : quiet_ms) <= 0) {
			if (sent < size) {
				fprintf(stderr, "fuzz_http: the server reads nothing for 5 s\n");
				abort();
			}
			break;
		}
		if (p[1].revents & POLLIN)
			vmm_channel_serve(&fz.ch, fz_handle, NULL);
		if ((p[0].revents & POLLOUT) && sent < size) {
			n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				sent = size; /* the server stopped reading: the rest is moot */
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			static char rest[4096]; /* past what is kept for the check */

			n = got < sizeof(answer) ? recv(fd, answer + got, sizeof(answer) - got, 0)
						 : recv(fd, rest, sizeof(rest), 0);
			if (n == 0 || (n < 0 && errno != EAGAIN))
				break;
			if (n > 0 && got < sizeof(answer))
				got += (size_t)n;
		}
	}
	/* Whatever was answered is HTTP. */
	if (got && (got < 9 || memcmp(answer, "HTTP/1.1 ", 9))) {
		fprintf(stderr, "fuzz_http: an answer without a status line\n");
		abort();
	}
	return got;
}

/* The server still answers a new connection (after an input it left hanging). */
static void fz_still_serving(void)
{
	static const char probe[] = "GET /version HTTP/1.1\r\n\r\n";
	int fd = fz_connect();

	if (!fz_exchange(fd, (const uint8_t *)probe, strlen(probe), 5000)) {
		fprintf(stderr, "fuzz_http: the server stopped answering\n");
		abort();
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	int fd;

	if (!initialised) {
		fz_http_init();
		initialised = 1;
	}
	fz_api_reset();
	fd = fz_connect();
	/* 200 ms of silence after the end: the server holds an incomplete request. */
	if (!fz_exchange(fd, data, size, 200) && size)
		fz_still_serving();
	close(fd);
	return 0;
}
