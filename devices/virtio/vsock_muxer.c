// SPDX-License-Identifier: Apache-2.0
/*
 * The vsock Unix-socket muxer (see vsock_muxer.h): host sockets, the
 * connection table, the rx queue of packets owed to the guest, timeouts.
 */
#include "devices/virtio/vsock_muxer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vmm/base/log.h"
#include "vmm/base/metrics.h"

#define LISTEN_BACKLOG 128

/* ---- epoll set ---------------------------------------------------------------- */

static int poll_ctl(struct vsock_muxer *m, int op, int fd, uint32_t events, void *tag)
{
	struct epoll_event ev = {.events = events, .data.ptr = tag};

	return epoll_ctl(m->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

/* A socket was closed: if accepting stopped for lack of fds, try again. */
static void resume_listening(struct vsock_muxer *m)
{
	if (!m->listen_paused)
		return;
	if (!poll_ctl(m, EPOLL_CTL_ADD, m->listen_fd, EPOLLIN, &m->listen_tag))
		m->listen_paused = false;
}

/* ---- timer -------------------------------------------------------------------- */

static void arm_timer(struct vsock_muxer *m, uint64_t deadline)
{
	struct itimerspec its = {
	    .it_value = {.tv_sec = (time_t)(deadline / 1000000000ULL),
			 .tv_nsec = (long)(deadline % 1000000000ULL)},
	};

	if (m->timer_deadline && m->timer_deadline <= deadline)
		return;
	if (timerfd_settime(m->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		metric_inc(&g_metrics.vsock.muxer_event_fails);
		log_error("vsock: timerfd_settime: %s", strerror(errno));
		return;
	}
	m->timer_deadline = deadline;
}

static void disarm_timer(struct vsock_muxer *m)
{
	struct itimerspec its = {0};

	timerfd_settime(m->timer_fd, 0, &its, NULL);
	m->timer_deadline = 0;
}

/* ---- connection table and rx queue ------------------------------------------------ */

static unsigned int bucket_of(uint32_t local_port, uint32_t peer_port)
{
	return (local_port * 2654435761U ^ peer_port * 40503U) % VSOCK_CONN_BUCKETS;
}

static struct vsock_conn *conn_find(const struct vsock_muxer *m, uint32_t local_port,
				    uint32_t peer_port)
{
	struct vsock_conn *c = m->buckets[bucket_of(local_port, peer_port)];

	while (c && (c->local_port != local_port || c->peer_port != peer_port))
		c = c->hash_next;
	return c;
}

static bool local_port_in_use(const struct vsock_muxer *m, uint32_t port)
{
	for (unsigned int b = 0; b < VSOCK_CONN_BUCKETS; b++) {
		for (const struct vsock_conn *c = m->buckets[b]; c; c = c->hash_next) {
			if (c->local_port == port)
				return true;
		}
	}
	return false;
}

/* Round robin in [2^30, 2^31) as Firecracker does; at most 1023 ports are taken. */
static uint32_t alloc_local_port(struct vsock_muxer *m)
{
	do
		m->local_port_last = ((m->local_port_last + 1) & ~(1U << 31)) | (1U << 30);
	while (local_port_in_use(m, m->local_port_last));
	return m->local_port_last;
}

static void rxq_push(struct vsock_muxer *m, struct vsock_conn *c)
{
	c->rxq_next = NULL;
	c->in_rxq = true;
	if (m->rxq_tail)
		m->rxq_tail->rxq_next = c;
	else
		m->rxq_head = c;
	m->rxq_tail = c;
}

static struct vsock_conn *rxq_pop(struct vsock_muxer *m)
{
	struct vsock_conn *c = m->rxq_head;

	if (!c)
		return NULL;
	m->rxq_head = c->rxq_next;
	if (!m->rxq_head)
		m->rxq_tail = NULL;
	c->rxq_next = NULL;
	c->in_rxq = false;
	return c;
}

static void rxq_remove(struct vsock_muxer *m, struct vsock_conn *c)
{
	struct vsock_conn **pp, *prev = NULL;

	if (!c->in_rxq)
		return;
	for (pp = &m->rxq_head; *pp; prev = *pp, pp = &(*pp)->rxq_next) {
		if (*pp != c)
			continue;
		*pp = c->rxq_next;
		if (m->rxq_tail == c)
			m->rxq_tail = prev;
		break;
	}
	c->rxq_next = NULL;
	c->in_rxq = false;
}

static void close_stream(struct vsock_muxer *m, struct vsock_conn *c)
{
	if (c->registered)
		poll_ctl(m, EPOLL_CTL_DEL, c->fd, 0, NULL);
	c->registered = false;
	c->polled = 0;
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
		resume_listening(m);
	}
}

/*
 * After anything that may have changed @c: close a dead stream, poll for what
 * it now wants, queue it when it owes the guest a packet (unless @requeue is
 * false), watch its deadline.
 */
static void conn_sync(struct vsock_muxer *m, struct vsock_conn *c, bool requeue)
{
	bool reg;
	uint32_t want;
	int ret = 0;

	if (c->state == VSOCK_CONN_KILLED && c->fd >= 0)
		close_stream(m, c);
	reg = vsock_conn_wants_poll(c);
	want = vsock_conn_polled_events(c);
	if (!reg && c->registered)
		ret = poll_ctl(m, EPOLL_CTL_DEL, c->fd, 0, NULL);
	else if (reg && (!c->registered || want != c->polled))
		ret = poll_ctl(m, c->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, want, c);
	if (ret) {
		metric_inc(&g_metrics.vsock.muxer_event_fails);
		log_warn("vsock: cannot poll the stream of lp=%u pp=%u: %s", c->local_port,
			 c->peer_port, strerror(-ret));
		vsock_conn_kill(c);
		close_stream(m, c);
	} else {
		c->registered = reg;
		c->polled = want;
	}
	if (requeue && !c->in_rxq && vsock_conn_has_pending_rx(c))
		rxq_push(m, c);
	if (c->expiry_ns)
		arm_timer(m, c->expiry_ns);
}

static void conn_add(struct vsock_muxer *m, struct vsock_conn *c)
{
	unsigned int b = bucket_of(c->local_port, c->peer_port);

	c->hash_next = m->buckets[b];
	m->buckets[b] = c;
	m->nr_conns++;
	metric_inc(&g_metrics.vsock.conns_added);
	conn_sync(m, c, true);
}

static void conn_remove(struct vsock_muxer *m, struct vsock_conn *c)
{
	struct vsock_conn **pp = &m->buckets[bucket_of(c->local_port, c->peer_port)];

	while (*pp && *pp != c)
		pp = &(*pp)->hash_next;
	if (*pp)
		*pp = c->hash_next;
	rxq_remove(m, c);
	close_stream(m, c);
	vsock_conn_free(c);
	m->nr_conns--;
	metric_inc(&g_metrics.vsock.conns_removed);
}

static void remove_all_conns(struct vsock_muxer *m)
{
	for (unsigned int b = 0; b < VSOCK_CONN_BUCKETS; b++) {
		while (m->buckets[b])
			conn_remove(m, m->buckets[b]);
	}
}

static void rst_push(struct vsock_muxer *m, uint32_t local_port, uint32_t peer_port)
{
	struct vsock_rst *r;

	if (m->rst_len == VSOCK_RST_QUEUE_SIZE) {
		/* The guest keeps sending junk without taking our answers. */
		log_debug("vsock: RST queue full; dropping RST lp=%u pp=%u", local_port, peer_port);
		return;
	}
	r = &m->rst[(m->rst_head + m->rst_len++) % VSOCK_RST_QUEUE_SIZE];
	r->local_port = local_port;
	r->peer_port = peer_port;
}

static bool rst_pop(struct vsock_muxer *m, struct vsock_rx_pkt *pkt)
{
	const struct vsock_rst *r;

	if (!m->rst_len)
		return false;
	r = &m->rst[m->rst_head];
	m->rst_head = (m->rst_head + 1) % VSOCK_RST_QUEUE_SIZE;
	m->rst_len--;
	pkt->hdr = (struct vsock_hdr){
	    .src_cid = VSOCK_HOST_CID,
	    .dst_cid = m->guest_cid,
	    .src_port = r->local_port,
	    .dst_port = r->peer_port,
	    .type = VIRTIO_VSOCK_TYPE_STREAM,
	    .op = VIRTIO_VSOCK_OP_RST,
	};
	return true;
}

/* ---- host-initiated: accept, then "CONNECT <port>\n" ------------------------------ */

static void handshake_unlink(struct vsock_muxer *m, struct vsock_handshake *hs)
{
	struct vsock_handshake **pp = &m->handshakes;

	while (*pp && *pp != hs)
		pp = &(*pp)->next;
	if (*pp)
		*pp = hs->next;
	m->nr_handshakes--;
	poll_ctl(m, EPOLL_CTL_DEL, hs->fd, 0, NULL);
}

static void handshake_drop(struct vsock_muxer *m, struct vsock_handshake *hs)
{
	handshake_unlink(m, hs);
	close(hs->fd);
	free(hs);
	resume_listening(m);
}

static void handshake_add(struct vsock_muxer *m, int fd)
{
	struct vsock_handshake *hs = calloc(1, sizeof(*hs));

	if (!hs || poll_ctl(m, EPOLL_CTL_ADD, fd, EPOLLIN, hs)) {
		metric_inc(&g_metrics.vsock.muxer_event_fails);
		log_warn("vsock: cannot take a host connection on %s", m->uds_path);
		free(hs);
		close(fd);
		return;
	}
	hs->kind = VSOCK_POLL_HANDSHAKE;
	hs->fd = fd;
	hs->next = m->handshakes;
	m->handshakes = hs;
	m->nr_handshakes++;
}

static void accept_host_streams(struct vsock_muxer *m)
{
	for (;;) {
		int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			metric_inc(&g_metrics.vsock.muxer_event_fails);
			log_warn("vsock: accept on %s: %s", m->uds_path, strerror(errno));
			/* Out of fds: the listener would stay readable and spin the loop. */
			if ((errno == EMFILE || errno == ENFILE) &&
			    !poll_ctl(m, EPOLL_CTL_DEL, m->listen_fd, 0, NULL))
				m->listen_paused = true;
			return;
		}
		if (m->nr_conns + m->nr_handshakes >= VSOCK_MAX_CONNECTIONS) {
			metric_inc(&g_metrics.vsock.conns_refused);
			log_warn("vsock: connection limit (%u) reached; refusing a host connection",
				 VSOCK_MAX_CONNECTIONS);
			close(fd);
			continue;
		}
		handshake_add(m, fd);
	}
}

/*
 * Read the CONNECT line one byte at a time, so that bytes the client sends
 * after it stay in the socket for the connection. 1: complete, 0: wait for
 * more, -1: closed, failed or too long.
 */
static int handshake_read_line(struct vsock_handshake *hs)
{
	for (;;) {
		char ch;
		ssize_t n = read(hs->fd, &ch, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		if (ch == '\n') {
			hs->line[hs->len] = '\0';
			return 1;
		}
		if (hs->len + 1 >= sizeof(hs->line))
			return -1;
		hs->line[hs->len++] = ch;
	}
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Firecracker's parse: whitespace-separated words, the first "connect" in any
 * case, the second a decimal u32; further words are ignored. 0 or -EINVAL.
 */
static int parse_connect(const char *line, uint32_t *port)
{
	const char *p = line, *word;
	uint64_t v = 0;

	while (is_space(*p))
		p++;
	word = p;
	while (*p && !is_space(*p))
		p++;
	if (p - word != 7 || strncasecmp(word, "connect", 7))
		return -EINVAL;
	while (is_space(*p))
		p++;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p && !is_space(*p); p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	*port = (uint32_t)v;
	return 0;
}

static void handshake_event(struct vsock_muxer *m, struct vsock_handshake *hs)
{
	struct vsock_conn *c;
	uint32_t port;
	int ret = handshake_read_line(hs), fd;

	if (ret == 0)
		return;
	if (ret < 0 || parse_connect(hs->line, &port)) {
		metric_inc(&g_metrics.vsock.host_connect_errors);
		log_debug("vsock: host connection on %s without a valid CONNECT line", m->uds_path);
		handshake_drop(m, hs);
		return;
	}
	handshake_unlink(m, hs);
	fd = hs->fd;
	free(hs);
	c = vsock_conn_new_local(fd, m->guest_cid, alloc_local_port(m), port);
	if (!c) {
		close(fd);
		return;
	}
	conn_add(m, c);
}

/* ---- guest-initiated: connect to "<uds_path>_<port>" ------------------------------ */

static int connect_host_port(const struct vsock_muxer *m, uint32_t port)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int n = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s_%u", m->uds_path, port);
	int fd, err;

	if (n < 0 || (size_t)n >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A Unix stream connects at once or fails (EAGAIN: the backlog is full). */
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void peer_request(struct vsock_muxer *m, const struct vsock_hdr *h)
{
	struct vsock_conn *c;
	int fd = -EMFILE;

	if (m->nr_conns + m->nr_handshakes < VSOCK_MAX_CONNECTIONS)
		fd = connect_host_port(m, h->dst_port);
	if (fd < 0) {
		metric_inc(&g_metrics.vsock.conns_refused);
		log_debug("vsock: guest connection to host port %u refused: %s", h->dst_port,
			  strerror(-fd));
		rst_push(m, h->dst_port, h->src_port);
		return;
	}
	c = vsock_conn_new_peer(fd, h);
	if (!c) {
		close(fd);
		rst_push(m, h->dst_port, h->src_port);
		return;
	}
	conn_add(m, c);
}

/* ---- device-facing ------------------------------------------------------------ */

void vsock_muxer_send_pkt(struct vsock_muxer *m, const struct vsock_tx_pkt *pkt)
{
	const struct vsock_hdr *h = &pkt->hdr;
	struct vsock_conn *c = conn_find(m, h->dst_port, h->src_port);

	if (!c) {
		/* Only a REQUEST may start something; anything else is answered with RST. */
		if (h->op == VIRTIO_VSOCK_OP_REQUEST)
			peer_request(m, h);
		else if (h->op != VIRTIO_VSOCK_OP_RST)
			rst_push(m, h->dst_port, h->src_port);
		return;
	}
	if (h->op == VIRTIO_VSOCK_OP_RST) {
		conn_remove(m, c);
		return;
	}
	vsock_conn_send_pkt(c, pkt, vsock_now_ns());
	conn_sync(m, c, true);
}

void vsock_muxer_refuse(struct vsock_muxer *m, const struct vsock_hdr *hdr)
{
	struct vsock_conn *c = conn_find(m, hdr->dst_port, hdr->src_port);

	if (c) {
		vsock_conn_kill(c);
		conn_sync(m, c, true);
	} else if (hdr->op != VIRTIO_VSOCK_OP_RST) {
		rst_push(m, hdr->dst_port, hdr->src_port);
	}
}

bool vsock_muxer_recv_pkt(struct vsock_muxer *m, struct vsock_rx_pkt *pkt)
{
	struct vsock_conn *c, *idle = NULL, *next;
	uint64_t now = vsock_now_ns();
	bool found = false;

	if (rst_pop(m, pkt))
		return true;
	while (!found && (c = rxq_pop(m))) {
		if (!vsock_conn_recv_pkt(c, pkt, now)) {
			/* Set aside: asking it again in this call would give the same answer. */
			conn_sync(m, c, false);
			c->rxq_next = idle;
			idle = c;
			continue;
		}
		found = true;
		if (pkt->hdr.op == VIRTIO_VSOCK_OP_RST)
			conn_remove(m, c);
		else
			conn_sync(m, c, true); /* to the back of the queue: round robin */
	}
	for (c = idle; c; c = next) {
		next = c->rxq_next;
		c->rxq_next = NULL;
		if (vsock_conn_has_pending_rx(c))
			rxq_push(m, c);
	}
	return found;
}

bool vsock_muxer_has_pending_rx(const struct vsock_muxer *m)
{
	return m->rst_len || m->rxq_head;
}

static void timer_fired(struct vsock_muxer *m, uint64_t now)
{
	uint64_t expirations;

	if (read(m->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		metric_inc(&g_metrics.vsock.muxer_event_fails);
	m->timer_deadline = 0;
	for (unsigned int b = 0; b < VSOCK_CONN_BUCKETS; b++) {
		for (struct vsock_conn *c = m->buckets[b]; c; c = c->hash_next) {
			if (!c->expiry_ns)
				continue;
			if (c->expiry_ns <= now)
				vsock_conn_expire(c);
			conn_sync(m, c, true); /* re-arms for the deadlines still ahead */
		}
	}
}

void vsock_muxer_process_events(struct vsock_muxer *m)
{
	struct epoll_event evs[32];
	uint64_t now;
	int n;

	do
		n = epoll_wait(m->epfd, evs, 32, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		metric_inc(&g_metrics.vsock.muxer_event_fails);
		log_error("vsock: epoll_wait: %s", strerror(errno));
		return;
	}
	now = vsock_now_ns();
	/* Nothing here frees an entry other than the one being handled. */
	for (int i = 0; i < n; i++) {
		enum vsock_poll_kind *kind = evs[i].data.ptr;
		struct vsock_conn *c;

		switch (*kind) {
		case VSOCK_POLL_LISTENER:
			accept_host_streams(m);
			break;
		case VSOCK_POLL_TIMER:
			timer_fired(m, now);
			break;
		case VSOCK_POLL_HANDSHAKE:
			handshake_event(m, (struct vsock_handshake *)kind);
			break;
		case VSOCK_POLL_CONN:
			c = (struct vsock_conn *)kind;
			vsock_conn_notify(c, evs[i].events, now);
			conn_sync(m, c, true);
			break;
		}
	}
}

void vsock_muxer_reset(struct vsock_muxer *m)
{
	remove_all_conns(m);
	m->rst_head = m->rst_len = 0;
	disarm_timer(m);
}

unsigned int vsock_muxer_nr_connections(const struct vsock_muxer *m)
{
	return m->nr_conns;
}

int vsock_muxer_fd(const struct vsock_muxer *m)
{
	return m->epfd;
}

/* ---- setup ------------------------------------------------------------------ */

/* A socket file nobody accepts on (left by a process that died)? */
static bool socket_is_stale(const struct sockaddr_un *addr)
{
	struct stat st;
	bool stale;
	int fd;

	if (lstat(addr->sun_path, &st) || !S_ISSOCK(st.st_mode))
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	stale =
	    connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 && errno == ECONNREFUSED;
	close(fd);
	return stale;
}

static int listen_on(struct vsock_muxer *m, char *err, size_t errlen)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd, ret;

	memcpy(addr.sun_path, m->uds_path, strlen(m->uds_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "Cannot create the vsock Unix socket: %s", strerror(errno));
		return ret;
	}
	ret = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	if (ret < 0 && errno == EADDRINUSE && socket_is_stale(&addr) && !unlink(addr.sun_path))
		ret = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	if (ret < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		ret = -errno;
		snprintf(err, errlen, "Cannot listen on the vsock Unix socket %s: %s", m->uds_path,
			 strerror(errno));
		close(fd);
		return ret;
	}
	m->listen_fd = fd;
	return 0;
}

int vsock_muxer_init(struct vsock_muxer *m, uint64_t guest_cid, const char *uds_path, char *err,
		     size_t errlen)
{
	int ret;

	memset(m, 0, sizeof(*m));
	m->epfd = m->listen_fd = m->timer_fd = -1;
	m->guest_cid = guest_cid;
	m->listen_tag = VSOCK_POLL_LISTENER;
	m->timer_tag = VSOCK_POLL_TIMER;
	m->local_port_last = VSOCK_LOCAL_PORT_FIRST - 1;
	if (!uds_path || !*uds_path) {
		snprintf(err, errlen, "The vsock uds_path is empty");
		return -EINVAL;
	}
	/* Room for "_<port>" is checked per connection; the base path must bind. */
	if (strlen(uds_path) > VSOCK_UDS_PATH_MAX) {
		snprintf(err, errlen, "The vsock uds_path %s is longer than %zu bytes", uds_path,
			 VSOCK_UDS_PATH_MAX);
		return -ENAMETOOLONG;
	}
	strcpy(m->uds_path, uds_path);

	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (m->epfd < 0 || m->timer_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "Cannot create the vsock event fds: %s", strerror(errno));
		goto fail;
	}
	ret = listen_on(m, err, errlen);
	if (ret)
		goto fail;
	ret = poll_ctl(m, EPOLL_CTL_ADD, m->listen_fd, EPOLLIN, &m->listen_tag);
	if (!ret)
		ret = poll_ctl(m, EPOLL_CTL_ADD, m->timer_fd, EPOLLIN, &m->timer_tag);
	if (ret) {
		snprintf(err, errlen, "Cannot poll the vsock sockets: %s", strerror(-ret));
		goto fail;
	}
	return 0;
fail:
	vsock_muxer_destroy(m);
	return ret;
}

void vsock_muxer_destroy(struct vsock_muxer *m)
{
	m->listen_paused = false; /* no re-adding the listener on the way out */
	remove_all_conns(m);
	while (m->handshakes)
		handshake_drop(m, m->handshakes);
	if (m->listen_fd >= 0) {
		/* Our socket file; like the API socket, removed without a stat (seccomp). */
		unlink(m->uds_path);
		close(m->listen_fd);
	}
	if (m->timer_fd >= 0)
		close(m->timer_fd);
	if (m->epfd >= 0)
		close(m->epfd);
	m->listen_fd = m->timer_fd = m->epfd = -1;
}
