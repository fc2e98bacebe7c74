// SPDX-License-Identifier: Apache-2.0
/*
 * The vsock connection state machine and flow control (see vsock_conn.h).
 * Host stream I/O is non-blocking; guest payload moves between the socket and
 * guest memory through the chain's iovecs, never through a bounce buffer
 * unless the host stream is full.
 */
#include "devices/virtio/vsock_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vmm/base/log.h"
#include "vmm/base/metrics.h"

static struct vsock_conn *conn_alloc(int fd)
{
	struct vsock_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->kind = VSOCK_POLL_CONN;
	c->fd = fd;
	return c;
}

struct vsock_conn *vsock_conn_new_local(int fd, uint64_t guest_cid, uint32_t local_port,
					uint32_t peer_port)
{
	struct vsock_conn *c = conn_alloc(fd);

	if (!c)
		return NULL;
	c->local_cid = VSOCK_HOST_CID;
	c->peer_cid = guest_cid;
	c->local_port = local_port;
	c->peer_port = peer_port;
	c->state = VSOCK_CONN_LOCAL_INIT;
	c->pending = VSOCK_PEND_REQUEST;
	return c;
}

struct vsock_conn *vsock_conn_new_peer(int fd, const struct vsock_hdr *request)
{
	struct vsock_conn *c = conn_alloc(fd);

	if (!c)
		return NULL;
	c->local_cid = request->dst_cid;
	c->peer_cid = request->src_cid;
	c->local_port = request->dst_port;
	c->peer_port = request->src_port;
	c->peer_buf_alloc = request->buf_alloc;
	c->peer_fwd_cnt = request->fwd_cnt;
	c->state = VSOCK_CONN_PEER_INIT;
	c->pending = VSOCK_PEND_RESPONSE;
	return c;
}

void vsock_conn_free(struct vsock_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	vsock_txbuf_clear(&c->txbuf);
	free(c);
}

/* ---- state helpers -------------------------------------------------------- */

uint32_t vsock_conn_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->rx_cnt - c->peer_fwd_cnt;

	/* A guest that shrank buf_alloc (or lies about fwd_cnt) gets nothing. */
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* Might the guest believe less than the threshold is free in our buffer? */
static bool peer_needs_credit_update(const struct vsock_conn *c)
{
	uint32_t unannounced = c->fwd_cnt - c->last_fwd_cnt_to_peer;

	return unannounced >= VSOCK_TXBUF_SIZE ||
	       VSOCK_TXBUF_SIZE - unannounced < VSOCK_CREDIT_UPDATE_THRESHOLD;
}

/* May host stream data still go to the guest? */
static bool to_guest_open(const struct vsock_conn *c)
{
	return c->state == VSOCK_CONN_ESTABLISHED && !c->host_eof &&
	       !(c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_RCV);
}

void vsock_conn_kill(struct vsock_conn *c)
{
	if (c->state == VSOCK_CONN_KILLED)
		return;
	metric_inc(&g_metrics.vsock.conns_killed);
	c->state = VSOCK_CONN_KILLED;
	c->pending = VSOCK_PEND_RST;
	c->expiry_ns = 0;
	vsock_txbuf_clear(&c->txbuf);
}

/* The orderly end: both directions are done; an RST closes it on both sides. */
static void conn_finish(struct vsock_conn *c)
{
	c->state = VSOCK_CONN_KILLED;
	c->pending = VSOCK_PEND_RST;
	c->expiry_ns = 0;
	vsock_txbuf_clear(&c->txbuf);
}

void vsock_conn_expire(struct vsock_conn *c)
{
	metric_inc(&g_metrics.vsock.conn_timeouts);
	log_debug("vsock: connection lp=%u pp=%u timed out in state %d", c->local_port,
		  c->peer_port, c->state);
	vsock_conn_kill(c);
}

/*
 * The guest sends no more and everything it sent reached the host stream:
 * pass the end of data on, as a half-close.
 */
static void shut_host_write_if_drained(struct vsock_conn *c)
{
	if (!(c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) || c->host_wr_shut ||
	    !vsock_txbuf_empty(&c->txbuf) || c->fd < 0)
		return;
	c->host_wr_shut = true;
	shutdown(c->fd, SHUT_WR);
}

/* Nothing left to move either way? Then end it (once the buffered bytes are out). */
static void check_finished(struct vsock_conn *c, uint64_t now)
{
	bool to_host_done = c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND;
	bool to_guest_done = c->host_eof || (c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_RCV);

	if (c->state != VSOCK_CONN_ESTABLISHED || !to_host_done || !to_guest_done)
		return;
	if (vsock_txbuf_empty(&c->txbuf))
		conn_finish(c);
	else if (!c->expiry_ns)
		c->expiry_ns = now + VSOCK_CONN_SHUTDOWN_TIMEOUT_NS;
}

/* The host stream hung up with nothing left to read: tell the guest, await its RST. */
static void host_gone(struct vsock_conn *c, uint64_t now)
{
	c->host_eof = true;
	vsock_txbuf_clear(&c->txbuf);
	/* The guest sends no more anyway: this was only the end of the other direction. */
	if (c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) {
		conn_finish(c);
		return;
	}
	c->state = VSOCK_CONN_LOCAL_CLOSED;
	c->pending |= VSOCK_PEND_SHUTDOWN;
	c->pending &= ~(VSOCK_PEND_RW | VSOCK_PEND_CREDIT_UPDATE | VSOCK_PEND_CREDIT_REQUEST);
	c->shutdown_flags = VSOCK_SHUTDOWN_BOTH;
	c->expiry_ns = now + VSOCK_CONN_SHUTDOWN_TIMEOUT_NS;
}

/* ---- guest -> host ---------------------------------------------------------- */

/* Write the payload to the host stream, buffering what it does not take now. */
static int forward_to_host(struct vsock_conn *c, const struct vsock_tx_pkt *pkt)
{
	uint32_t len = pkt->hdr.len, done = 0;
	struct iovec iov[VIRTQ_MAX_SIZE];
	struct msghdr msg = {.msg_iov = iov};
	ssize_t n;
	int nr;

	/* The guest may only send what our buffer still holds (its credit). */
	if (len > vsock_txbuf_space(&c->txbuf))
		return -ENOBUFS;
	if (vsock_txbuf_empty(&c->txbuf)) {
		nr = virtq_chain_iov(pkt->mem, pkt->chain, false, VSOCK_HDR_SIZE, len, iov,
				     VIRTQ_MAX_SIZE);
		if (nr < 0)
			return nr;
		msg.msg_iovlen = (size_t)nr;
		do
			n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		done = n > 0 ? (uint32_t)n : 0;
		c->fwd_cnt += done;
		metric_add(&g_metrics.vsock.tx_bytes_count, done);
	}
	return vsock_txbuf_push(&c->txbuf, pkt->mem, pkt->chain, VSOCK_HDR_SIZE + done, len - done);
}

static void recv_rw(struct vsock_conn *c, const struct vsock_tx_pkt *pkt)
{
	int ret;

	/* Data racing our full SHUTDOWN: the host is gone, drop it. */
	if (c->state == VSOCK_CONN_LOCAL_CLOSED)
		return;
	if (c->state != VSOCK_CONN_ESTABLISHED || (c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND)) {
		metric_inc(&g_metrics.vsock.invalid_op_pkts);
		vsock_conn_kill(c);
		return;
	}
	if (!pkt->hdr.len)
		return;
	ret = forward_to_host(c, pkt);
	if (ret == -ENOBUFS) {
		metric_inc(&g_metrics.vsock.credit_violations);
		log_debug("vsock: guest overran its credit on lp=%u pp=%u", c->local_port,
			  c->peer_port);
		vsock_conn_kill(c);
		return;
	}
	if (ret) {
		metric_inc(&g_metrics.vsock.tx_write_fails);
		log_debug("vsock: write to host stream lp=%u pp=%u: %s", c->local_port,
			  c->peer_port, strerror(-ret));
		vsock_conn_kill(c);
		return;
	}
	if (peer_needs_credit_update(c))
		c->pending |= VSOCK_PEND_CREDIT_UPDATE;
}

/* The guest accepted a host-initiated connection: tell the host which port it got. */
static void recv_response(struct vsock_conn *c)
{
	char ok[32];
	struct iovec iov;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	int len;
	ssize_t n;

	if (c->state != VSOCK_CONN_LOCAL_INIT) {
		metric_inc(&g_metrics.vsock.invalid_op_pkts);
		vsock_conn_kill(c);
		return;
	}
	c->state = VSOCK_CONN_ESTABLISHED;
	c->expiry_ns = 0;
	len = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
	iov.iov_base = ok;
	iov.iov_len = (size_t)len;
	do
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	/* A fresh stream takes a dozen bytes; if not, the host end is broken. */
	if (n != len) {
		metric_inc(&g_metrics.vsock.tx_write_fails);
		vsock_conn_kill(c);
	}
}

static void recv_shutdown(struct vsock_conn *c, uint32_t flags, uint64_t now)
{
	if (c->state == VSOCK_CONN_LOCAL_CLOSED)
		return; /* it crossed ours; its RST or the timeout ends it */
	if (c->state != VSOCK_CONN_ESTABLISHED) {
		metric_inc(&g_metrics.vsock.invalid_op_pkts);
		vsock_conn_kill(c);
		return;
	}
	/* Shutdown indications only ever add up (5.10.6.5). */
	c->peer_shut |= flags & VSOCK_SHUTDOWN_BOTH;
	shut_host_write_if_drained(c);
	check_finished(c, now);
}

void vsock_conn_send_pkt(struct vsock_conn *c, const struct vsock_tx_pkt *pkt, uint64_t now)
{
	if (c->state == VSOCK_CONN_KILLED)
		return;
	/* Every packet carries the guest's current credit information. */
	c->peer_buf_alloc = pkt->hdr.buf_alloc;
	c->peer_fwd_cnt = pkt->hdr.fwd_cnt;
	c->credit_requested = false;

	switch (pkt->hdr.op) {
	case VIRTIO_VSOCK_OP_RW:
		recv_rw(c, pkt);
		break;
	case VIRTIO_VSOCK_OP_RESPONSE:
		recv_response(c);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		recv_shutdown(c, pkt->hdr.flags, now);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break; /* the credit fields were all it had to say */
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		if (c->state == VSOCK_CONN_ESTABLISHED || c->state == VSOCK_CONN_PEER_INIT)
			c->pending |= VSOCK_PEND_CREDIT_UPDATE;
		break;
	default:
		/* A REQUEST for a live connection: the two ends disagree; reset it. */
		metric_inc(&g_metrics.vsock.invalid_op_pkts);
		vsock_conn_kill(c);
		break;
	}
}

/* ---- host -> guest ---------------------------------------------------------- */

static void init_hdr(const struct vsock_conn *c, struct vsock_hdr *h)
{
	h->src_cid = c->local_cid;
	h->dst_cid = c->peer_cid;
	h->src_port = c->local_port;
	h->dst_port = c->peer_port;
	h->len = 0;
	h->type = VIRTIO_VSOCK_TYPE_STREAM;
	h->op = VIRTIO_VSOCK_OP_INVALID;
	h->flags = 0;
	h->buf_alloc = VSOCK_TXBUF_SIZE;
	h->fwd_cnt = c->fwd_cnt;
}

/* Read host stream data into the guest buffer: bytes read, 0 at end of data, or -errno. */
static ssize_t read_from_host(struct vsock_conn *c, struct vsock_rx_pkt *pkt, uint32_t max)
{
	struct iovec iov[VIRTQ_MAX_SIZE];
	ssize_t n;
	int nr =
	    virtq_chain_iov(pkt->mem, pkt->chain, true, VSOCK_HDR_SIZE, max, iov, VIRTQ_MAX_SIZE);

	if (nr < 0)
		return nr;
	do
		n = readv(c->fd, iov, nr);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/*
 * Try to make an RW packet from the host stream. True with @pkt filled (RW,
 * or SHUTDOWN/RST when the stream ended or failed); false when there is
 * nothing to send now (drained, or the guest has no room).
 */
static bool make_rw(struct vsock_conn *c, struct vsock_rx_pkt *pkt, uint64_t now)
{
	uint32_t credit = vsock_conn_peer_credit(c);
	uint32_t max = credit < pkt->buf_size ? credit : pkt->buf_size;
	ssize_t n;

	if (!to_guest_open(c)) {
		c->pending &= ~VSOCK_PEND_RW;
		return false;
	}
	if (!credit) {
		/* Ask once; the guest's next packet carries fresh credit. */
		if (c->credit_requested)
			return false;
		c->credit_requested = true;
		pkt->hdr.op = VIRTIO_VSOCK_OP_CREDIT_REQUEST;
		return true;
	}
	if (!max)
		return false;
	n = read_from_host(c, pkt, max);
	if (n > 0) {
		/* RW stays pending: there may be more. */
		pkt->hdr.op = VIRTIO_VSOCK_OP_RW;
		pkt->hdr.len = (uint32_t)n;
		c->rx_cnt += (uint32_t)n;
		return true;
	}
	c->pending &= ~VSOCK_PEND_RW;
	if (n == -EAGAIN || n == -EWOULDBLOCK)
		return false;
	if (n < 0) {
		metric_inc(&g_metrics.vsock.rx_read_fails);
		log_debug("vsock: read from host stream lp=%u pp=%u: %s", c->local_port,
			  c->peer_port, strerror((int)-n));
		vsock_conn_kill(c);
		pkt->hdr.op = VIRTIO_VSOCK_OP_RST;
		c->pending = 0;
		return true;
	}
	/*
	 * End of data: after a hang-up (EPOLLHUP came with the data) the
	 * connection ends; after a half-close only this direction does. A
	 * hang-up that comes later is still seen: the stream stays polled.
	 */
	if (c->host_hup) {
		host_gone(c, now);
		return false; /* the SHUTDOWN (or RST) it queued goes next */
	}
	c->host_eof = true;
	c->pending |= VSOCK_PEND_SHUTDOWN;
	c->shutdown_flags = VIRTIO_VSOCK_SHUTDOWN_SEND;
	return false;
}

/* Take pending bit @bit: was it set? */
static bool take(struct vsock_conn *c, unsigned int bit)
{
	bool was = c->pending & bit;

	c->pending &= ~bit;
	return was;
}

/* The next owed packet, in priority order; false when none can be made now. */
static bool next_packet(struct vsock_conn *c, struct vsock_rx_pkt *pkt, uint64_t now)
{
	if (take(c, VSOCK_PEND_RST)) {
		c->pending = 0;
		pkt->hdr.op = VIRTIO_VSOCK_OP_RST;
		return true;
	}
	if (take(c, VSOCK_PEND_RESPONSE)) {
		c->state = VSOCK_CONN_ESTABLISHED;
		pkt->hdr.op = VIRTIO_VSOCK_OP_RESPONSE;
		return true;
	}
	if (take(c, VSOCK_PEND_REQUEST)) {
		c->expiry_ns = now + VSOCK_CONN_REQUEST_TIMEOUT_NS;
		pkt->hdr.op = VIRTIO_VSOCK_OP_REQUEST;
		return true;
	}
	if (take(c, VSOCK_PEND_SHUTDOWN)) {
		pkt->hdr.op = VIRTIO_VSOCK_OP_SHUTDOWN;
		pkt->hdr.flags = c->shutdown_flags;
		check_finished(c, now);
		return true;
	}
	if ((c->pending & VSOCK_PEND_RW) && make_rw(c, pkt, now))
		return true;
	/* make_rw() may have queued a SHUTDOWN or an RST for the stream's end. */
	if (c->pending & (VSOCK_PEND_RST | VSOCK_PEND_SHUTDOWN))
		return next_packet(c, pkt, now);
	/* A credit update only when there is nothing better to carry the credit. */
	if (take(c, VSOCK_PEND_CREDIT_UPDATE)) {
		pkt->hdr.op = VIRTIO_VSOCK_OP_CREDIT_UPDATE;
		return true;
	}
	return false;
}

bool vsock_conn_recv_pkt(struct vsock_conn *c, struct vsock_rx_pkt *pkt, uint64_t now)
{
	init_hdr(c, &pkt->hdr);
	if (!next_packet(c, pkt, now))
		return false;
	/* Whatever we send tells the guest our fwd_cnt. */
	c->last_fwd_cnt_to_peer = c->fwd_cnt;
	c->pending &= ~VSOCK_PEND_CREDIT_UPDATE;
	return true;
}

bool vsock_conn_has_pending_rx(const struct vsock_conn *c)
{
	unsigned int ready = VSOCK_PEND_RST | VSOCK_PEND_RESPONSE | VSOCK_PEND_REQUEST |
			     VSOCK_PEND_SHUTDOWN | VSOCK_PEND_CREDIT_UPDATE;

	if (c->pending & ready)
		return true;
	return (c->pending & VSOCK_PEND_RW) &&
	       (vsock_conn_peer_credit(c) > 0 || !c->credit_requested);
}

/* ---- host stream events ------------------------------------------------------- */

static void flush_to_host(struct vsock_conn *c, uint64_t now)
{
	ssize_t n;

	if (vsock_txbuf_empty(&c->txbuf)) {
		metric_inc(&g_metrics.vsock.conn_event_fails);
		return;
	}
	n = vsock_txbuf_flush(&c->txbuf, c->fd);
	if (n < 0) {
		metric_inc(&g_metrics.vsock.tx_flush_fails);
		log_debug("vsock: flush to host stream lp=%u pp=%u: %s", c->local_port,
			  c->peer_port, strerror((int)-n));
		vsock_conn_kill(c);
		return;
	}
	c->fwd_cnt += (uint32_t)n;
	metric_add(&g_metrics.vsock.tx_bytes_count, (uint64_t)n);
	shut_host_write_if_drained(c);
	check_finished(c, now);
	if (c->state == VSOCK_CONN_ESTABLISHED && peer_needs_credit_update(c))
		c->pending |= VSOCK_PEND_CREDIT_UPDATE;
}

void vsock_conn_notify(struct vsock_conn *c, uint32_t events, uint64_t now)
{
	if (c->state == VSOCK_CONN_KILLED || c->fd < 0)
		return;
	if (events & EPOLLERR) {
		metric_inc(&g_metrics.vsock.conn_event_fails);
		vsock_conn_kill(c);
		return;
	}
	if (events & EPOLLHUP) {
		/* The host closed (or both ends are shut): stop polling, read what is left. */
		c->host_hup = true;
		if (c->state != VSOCK_CONN_ESTABLISHED) {
			vsock_conn_kill(c);
			return;
		}
		if (to_guest_open(c))
			c->pending |= VSOCK_PEND_RW;
		else
			host_gone(c, now);
		return;
	}
	if ((events & EPOLLIN) && to_guest_open(c))
		c->pending |= VSOCK_PEND_RW;
	if (events & EPOLLOUT)
		flush_to_host(c, now);
}

bool vsock_conn_wants_poll(const struct vsock_conn *c)
{
	/* Even with no events wanted, EPOLLHUP tells when the host goes away. */
	return c->fd >= 0 && !c->host_hup && c->state != VSOCK_CONN_KILLED;
}

uint32_t vsock_conn_polled_events(const struct vsock_conn *c)
{
	uint32_t ev = 0;

	if (!vsock_conn_wants_poll(c))
		return 0;
	if (!vsock_txbuf_empty(&c->txbuf))
		ev |= EPOLLOUT;
	/*
	 * Readable data waits in the socket until the guest can take it: no
	 * EPOLLIN while an RW is already pending or the guest has no credit
	 * (after one CREDIT_REQUEST), or the level-triggered fd would spin.
	 */
	if (to_guest_open(c) && !(c->pending & VSOCK_PEND_RW) &&
	    (vsock_conn_peer_credit(c) > 0 || !c->credit_requested))
		ev |= EPOLLIN;
	return ev;
}
