// SPDX-License-Identifier: Apache-2.0
#include "api/api_server.h"

#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/api_route.h"
#include "vmm/base/log.h"
#include "vmm/seccomp/seccomp_filters.h"

/* How long a stopping server waits for replies the VMM already produced. */
#define API_DELIVERY_WAIT_MS 2000

/* One accepted connection (its MHD socket context). */
struct api_conn {
	struct api_conn *next;
	int fd;
	bool counted; /* one of the API_MAX_CONNECTIONS */
	bool refused; /* answered with the 503 and shut */
};

struct api_server {
	struct MHD_Daemon *daemon;
	struct vmm_channel *ch;
	size_t max_payload;
	char *sock_path;
	/* Touched by the MHD thread only: */
	struct api_conn *conns;	  /* every connection MHD has not yet closed */
	unsigned int connections; /* those counted against API_MAX_CONNECTIONS */
	const struct seccomp_filters *seccomp;
	bool filtered; /* the MHD thread has its seccomp filter */
	/*
	 * Requests handed to the VMM whose reply is not yet sent: a request
	 * the VMM accepted is answered before the process exits, even when
	 * the guest ended the VM right after (SendCtrlAltDel and a reset).
	 */
	pthread_mutex_t lock;
	pthread_cond_t delivered;
	unsigned int undelivered;
};

/* Per-request state, from the headers to the completed callback. */
struct request_ctx {
	bool headers_seen; /* on_request() ran once */
	char *uri;	   /* the request-target as sent (MHD's URI log callback) */
	char *error;	   /* an HTTP-level error, answered once the request is in */
	char *body;
	size_t len, cap;
	size_t received; /* body bytes seen, also past the limit */
	bool answered;	 /* a reply was queued before the body was read */
	bool to_vmm;	 /* counted in api_server.undelivered */
};

/* micro_http's answer to the connection above the limit, byte for byte. */
static const char server_full[] = "HTTP/1.1 503\r\n"
				  "Server: " API_SERVER_HEADER "\r\n"
				  "Connection: close\r\n"
				  "Content-Length: 40\r\n\r\n"
				  "{ \"error\": \"Too many open connections\" }";

static enum MHD_Result send_reply(struct MHD_Connection *conn, const struct api_reply *reply)
{
	const char *body = reply->body ? reply->body : "";
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Server", API_SERVER_HEADER);
	if (reply->body)
		MHD_add_response_header(resp, "Content-Type", "application/json");
	if (reply->deprecated)
		MHD_add_response_header(resp, "Deprecation", "true");
	ret = MHD_queue_response(conn, (unsigned int)reply->status, resp);
	MHD_destroy_response(resp);
	if (reply->status >= 400)
		log_error_unrestricted("Received Error. Status code: %d. Message: %s",
				       reply->status, body);
	else
		log_info_unrestricted("The request was executed successfully. Status code: %d.",
				      reply->status);
	return ret;
}

/* An HTTP-level error: micro_http's 400 {"error": ...}, sent before any body is read. */
static enum MHD_Result send_http_error(struct MHD_Connection *conn, const char *reason)
{
	struct api_reply reply = {.status = 400};
	enum MHD_Result ret;

	reply.body = api_http_error_body(reason);
	if (!reply.body)
		return MHD_NO;
	ret = send_reply(conn, &reply);
	api_reply_free(&reply);
	return ret;
}

static enum MHD_Result send_payload_error(struct MHD_Connection *conn, uint64_t size, size_t limit)
{
	char reason[160];

	snprintf(reason, sizeof(reason),
		 "Request payload with size %" PRIu64
		 " is larger than the limit of %zu allowed by server.",
		 size, limit);
	return send_http_error(conn, reason);
}

static enum MHD_Result serve(struct api_server *srv, struct MHD_Connection *conn,
			     const char *method, const char *url, struct request_ctx *rc)
{
	/* Firecracker routes on the target as sent: no percent-decoding, query included. */
	const char *path = api_request_path(rc->uri ? rc->uri : url);
	struct vmm_response resp;
	struct api_reply reply;
	struct api_call call;
	enum MHD_Result ret;

	log_info_unrestricted("The API server received a %s request on \"%s\".", method, path);
	if (api_route(method, path, rc->body, rc->len, &call, &reply) == API_ROUTE_VMM) {
		pthread_mutex_lock(&srv->lock);
		srv->undelivered++;
		rc->to_vmm = true;
		pthread_mutex_unlock(&srv->lock);
		vmm_channel_call(srv->ch, &call.req, &resp);
		api_reply_from_response(&call, &resp, &reply);
		vmm_response_free(&resp);
	}
	api_call_free(&call);
	ret = send_reply(conn, &reply);
	api_reply_free(&reply);
	return ret;
}

static int append_body(struct request_ctx *rc, const char *data, size_t size, size_t limit)
{
	rc->received += size;
	if (rc->received > limit)
		return 0; /* answered once the whole request is in */
	if (rc->len + size + 1 > rc->cap) {
		size_t cap = rc->len + size + 1 > 2 * rc->cap ? rc->len + size + 1 : 2 * rc->cap;
		char *body = realloc(rc->body, cap);

		if (!body)
			return -ENOMEM;
		rc->body = body;
		rc->cap = cap;
	}
	memcpy(rc->body + rc->len, data, size);
	rc->len += size;
	rc->body[rc->len] = '\0';
	return 0;
}

/* The headers, in order, through api_http_header_error() until one fails. */
struct header_check {
	uint64_t content_length;
	const char *error;
	char buf[256];
};

static enum MHD_Result check_header(void *cls, enum MHD_ValueKind kind, const char *name,
				    const char *value)
{
	struct header_check *hc = cls;

	(void)kind;
	hc->error = api_http_header_error(name, value ? value : "", &hc->content_length, hc->buf,
					  sizeof(hc->buf));
	return hc->error ? MHD_NO : MHD_YES;
}

/*
 * What micro_http checks before Firecracker sees a request, in its order:
 * the request line, the headers, the payload limit. NULL if the request
 * passes, else the reason for the 400, in @buf. libmicrohttpd has already
 * answered what it cannot parse at all, as micro_http does, and passed on
 * any HTTP version and a Content-Length that is no number (then with no
 * body read): mk/patches/libmicrohttpd-firecracker-errors.patch.
 */
static const char *request_error(struct api_server *srv, struct MHD_Connection *conn,
				 const char *method, const char *uri, const char *version,
				 char *buf, size_t len)
{
	struct header_check hc = {0};
	const char *error = api_http_line_error(method, uri, version);

	if (!error) {
		MHD_get_connection_values(conn, MHD_HEADER_KIND, check_header, &hc);
		error = hc.error;
	}
	if (!error && hc.content_length > srv->max_payload) {
		snprintf(buf, len,
			 "Request payload with size %" PRIu64
			 " is larger than the limit of %zu allowed by server.",
			 hc.content_length, srv->max_payload);
		error = buf;
	}
	if (error && error != buf)
		snprintf(buf, len, "%s", error);
	return error ? buf : NULL;
}

/* libmicrohttpd will read a body after the headers (a non-zero Content-Length, or chunks). */
static bool expects_body(struct MHD_Connection *conn)
{
	const char *len = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");

	return (len && len[strspn(len, "0")]) ||
	       MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct api_server *srv = cls;
	struct request_ctx *rc = *con_cls;
	char error[512];

	if (!ci || !ci->socket_context || ((struct api_conn *)ci->socket_context)->refused)
		return MHD_NO;
	if (!rc) {
		rc = calloc(1, sizeof(*rc));
		if (!rc)
			return MHD_NO;
		*con_cls = rc;
	}
	if (!rc->headers_seen) {
		/* Headers are in, the body (if any) not yet. */
		rc->headers_seen = true;
		log_set_thread_name("fc_api");
		if (!request_error(srv, conn, method, rc->uri ? rc->uri : url, version, error,
				   sizeof(error)))
			return MHD_YES;
		/*
		 * A request with a body is answered now, before the body, and the
		 * connection closes; one without is answered once it is complete
		 * (the connection stays open, as micro_http keeps it).
		 */
		if (expects_body(conn)) {
			rc->answered = true;
			return send_http_error(conn, error);
		}
		rc->error = strdup(error);
		return rc->error ? MHD_YES : MHD_NO;
	}
	if (rc->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (append_body(rc, upload_data, *upload_data_size, srv->max_payload))
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rc->error)
		return send_http_error(conn, rc->error);
	if (rc->received > srv->max_payload)
		return send_payload_error(conn, rc->received, srv->max_payload);
	return serve(srv, conn, method, url, rc);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request_ctx *rc = *con_cls;
	struct api_server *srv = cls;

	/* The request is complete: an idle keep-alive connection may wait for ever. */
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0U);
	if (rc && rc->to_vmm) {
		pthread_mutex_lock(&srv->lock);
		srv->undelivered--;
		pthread_cond_broadcast(&srv->delivered);
		pthread_mutex_unlock(&srv->lock);
	}
	if (rc) {
		free(rc->uri);
		free(rc->error);
		free(rc->body);
		free(rc);
	}
	*con_cls = NULL;
}

/* Over the limit: Firecracker's 503, then the socket is shut so MHD drops it. */
static void refuse_connection(struct MHD_Connection *conn, struct api_conn *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

	if (c)
		c->refused = true;
	if (!ci)
		return;
	if (send(ci->connect_fd, server_full, sizeof(server_full) - 1,
		 MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_warn_unrestricted("Cannot answer a connection over the limit: %s",
				      strerror(errno));
	shutdown(ci->connect_fd, SHUT_RDWR);
}

/*
 * libmicrohttpd creates its thread inside MHD_start_daemon(), on the VMM
 * thread, and has no hook at its start: the thread installs its filter here,
 * on the first connection, before any request byte is read.
 */
static bool api_install_seccomp(struct api_server *srv)
{
	int ret;

	if (srv->filtered)
		return true;
	ret = seccomp_install(srv->seccomp, SECCOMP_API);
	if (ret) {
		log_error_unrestricted("Cannot install the API seccomp filter: %s", strerror(-ret));
		return false;
	}
	srv->filtered = true;
	return true;
}

/* The client has closed (or reset) its end: no request can come from it any more. */
static bool peer_gone(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/*
 * libmicrohttpd accepts the connections of one wake-up before it reads the
 * closes that came with them (and frees closed connections after that): a
 * client that closes a connection and opens the next one at once would find
 * the old one still counted. Before refusing one, stop counting those whose
 * client has gone; each leaves the list when MHD frees it.
 */
static void uncount_gone(struct api_server *srv)
{
	for (struct api_conn *c = srv->conns; c; c = c->next) {
		if (c->counted && peer_gone(c->fd)) {
			c->counted = false;
			srv->connections--;
		}
	}
}

static void forget_connection(struct api_server *srv, struct api_conn *gone)
{
	for (struct api_conn **p = &srv->conns; *p; p = &(*p)->next) {
		if (*p == gone) {
			*p = gone->next;
			break;
		}
	}
	if (gone->counted)
		srv->connections--;
	free(gone);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *ci;
	struct api_server *srv = cls;
	struct api_conn *c;

	if (toe != MHD_CONNECTION_NOTIFY_STARTED) {
		if (*socket_context)
			forget_connection(srv, *socket_context);
		*socket_context = NULL;
		return;
	}
	c = calloc(1, sizeof(*c));
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (c) {
		c->fd = ci ? ci->connect_fd : -1;
		c->next = srv->conns;
		srv->conns = c;
		*socket_context = c;
	}
	/* Never serve without the filter. */
	if (!c || !api_install_seccomp(srv)) {
		refuse_connection(conn, c);
		return;
	}
	if (srv->connections >= API_MAX_CONNECTIONS)
		uncount_gone(srv);
	if (srv->connections >= API_MAX_CONNECTIONS) {
		refuse_connection(conn, c);
		return;
	}
	c->counted = true;
	srv->connections++;
	/* Its first request is incomplete until it is all in. */
	MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, API_REQUEST_TIMEOUT_S);
}

/*
 * A new request line on a connection (MHD's URI log callback): the request
 * is incomplete until its body is in and answered. Returns the request's
 * context (MHD's *con_cls), allocated in on_request().
 */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct request_ctx *rc = calloc(1, sizeof(*rc));

	(void)cls;
	MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, API_REQUEST_TIMEOUT_S);
	/* On ENOMEM, on_request() allocates it and routes on MHD's (decoded) URL. */
	if (rc && !(rc->uri = strdup(uri ? uri : ""))) {
		free(rc);
		rc = NULL;
	}
	return rc;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_warn_unrestricted("libmicrohttpd: %s", msg);
}

static int listen_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "the socket path is %zu bytes long, at most %zu are possible",
			 strlen(path), sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* A socket left by an earlier run is replaced; any other file is not touched. */
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode) && unlink(path)) {
		ret = -errno;
		snprintf(err, errlen, "cannot remove the stale socket %s: %s", path,
			 strerror(-ret));
		return ret;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket: %s", strerror(-ret));
		return ret;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, API_MAX_CONNECTIONS)) {
		ret = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	return fd;
}

static void api_server_init_sync(struct api_server *srv)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&srv->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->delivered, &attr);
	pthread_condattr_destroy(&attr);
}

int api_server_start(struct api_server **out, const char *sock_path, size_t max_payload,
		     struct vmm_channel *ch, const struct seccomp_filters *seccomp, char *err,
		     size_t errlen)
{
	struct api_server *srv = calloc(1, sizeof(*srv));
	int fd;

	*out = NULL;
	if (!srv || !(srv->sock_path = strdup(sock_path))) {
		free(srv);
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	srv->ch = ch;
	srv->max_payload = max_payload;
	api_server_init_sync(srv);
	srv->seccomp = seccomp;
	fd = listen_unix(sock_path, err, errlen);
	if (fd < 0) {
		free(srv->sock_path);
		free(srv);
		return fd;
	}
	/* The logger goes first so that MHD never prints on its own. */
	srv->daemon = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv, MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, srv, MHD_OPTION_URI_LOG_CALLBACK, on_request_line, srv, MHD_OPTION_END);
	if (!srv->daemon) {
		snprintf(err, errlen, "libmicrohttpd could not start on %s", sock_path);
		close(fd);
		unlink(sock_path);
		free(srv->sock_path);
		free(srv);
		return -EIO;
	}
	log_info_unrestricted("API server started.");
	*out = srv;
	return 0;
}

/*
 * Wait, at most API_DELIVERY_WAIT_MS, for the replies of requests the VMM
 * already answered to be sent. Bounded: a client that stops reading must
 * not keep the process alive.
 */
static void wait_for_delivery(struct api_server *srv)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += API_DELIVERY_WAIT_MS / 1000;
	deadline.tv_nsec += (API_DELIVERY_WAIT_MS % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&srv->lock);
	while (srv->undelivered &&
	       pthread_cond_timedwait(&srv->delivered, &srv->lock, &deadline) != ETIMEDOUT)
		;
	if (srv->undelivered)
		log_warn_unrestricted("Exiting with %u API replies not delivered",
				      srv->undelivered);
	pthread_mutex_unlock(&srv->lock);
}

void api_server_stop(struct api_server *srv)
{
	if (!srv)
		return;
	/* A request blocked on the VMM thread must finish before the join. */
	vmm_channel_close(srv->ch);
	wait_for_delivery(srv);
	MHD_stop_daemon(srv->daemon);
	unlink(srv->sock_path);
	pthread_cond_destroy(&srv->delivered);
	pthread_mutex_destroy(&srv->lock);
	free(srv->sock_path);
	free(srv);
}
