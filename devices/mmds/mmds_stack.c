// SPDX-License-Identifier: Apache-2.0
/*
 * The MMDS network stack: ARP replies, a bounded table of passive TCP
 * connections carrying HTTP to mmds_http_respond(), RSTs. See mmds_stack.h.
 *
 * Sequence space of a connection (ours): iss is the SYN; the current
 * response's bytes start at snd_base; the FIN, once wanted, follows the
 * response. snd_una <= snd_nxt <= snd_max: the oldest unacknowledged byte,
 * the next one to send (moved back to snd_una to retransmit), the highest
 * sent. Every comparison is modulo 2^32 (seq_lt).
 */
#include "devices/mmds/mmds_stack.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "devices/mmds/mmds_frame.h"
#include "vmm/base/metrics.h"

struct mmds_conn {
	bool used;
	bool established, fin_received, fin_wanted, ack_pending, dup_ack, rst_pending;
	uint8_t mac[6]; /* the guest's, from its last segment */
	uint32_t raddr; /* network order */
	uint16_t rport;
	uint16_t mss;
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_base, snd_wnd_edge;
	uint32_t rcv_nxt;
	unsigned int rto_count;
	uint64_t rto_start, last_rx;
	char *resp; /* the response being sent, from mmds_http_respond() */
	size_t resp_len;
	size_t rcv_len;
	uint8_t rcv_buf[MMDS_STACK_RCV_BUF];
};

struct mmds_rst {
	uint8_t mac[6];
	uint32_t raddr;
	uint16_t rport;
	uint32_t seq, ack;
	uint8_t flags;
};

struct mmds_stack {
	struct mmds *mmds;
	bool arp_pending; /* one ARP reply waits, to arp_mac/arp_ip */
	uint8_t arp_mac[6];
	uint32_t arp_ip;
	unsigned int nr_rst;
	unsigned int next_conn; /* where the round-robin over connections resumes */
	uint16_t ip_id;
	uint32_t isn_salt;
	struct mmds_rst rst[MMDS_STACK_MAX_PENDING_RST];
	struct mmds_conn conns[MMDS_STACK_MAX_CONNECTIONS];
};

static const uint8_t mmds_mac[6] = MMDS_STACK_MAC;

static bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static bool seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

/* Time from @since to @now, 0 if the clock seems to have gone back. */
static uint64_t elapsed(uint64_t now, uint64_t since)
{
	return now > since ? now - since : 0;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* ---- lifecycle -------------------------------------------------------------- */

struct mmds_stack *mmds_stack_create(struct mmds *m)
{
	struct mmds_stack *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->mmds = m;
	/* Initial sequence numbers a guest cannot predict; a failed getrandom leaves 0. */
	if (getrandom(&s->isn_salt, sizeof(s->isn_salt), 0) != sizeof(s->isn_salt))
		s->isn_salt = 0;
	return s;
}

static void conn_free(struct mmds_conn *c)
{
	free(c->resp);
	c->resp = NULL;
	c->resp_len = 0;
	c->used = false;
	metric_inc(&g_metrics.mmds.connections_destroyed);
}

void mmds_stack_destroy(struct mmds_stack *s)
{
	if (!s)
		return;
	for (unsigned int i = 0; i < MMDS_STACK_MAX_CONNECTIONS; i++)
		free(s->conns[i].resp);
	free(s);
}

void mmds_stack_set_isn_salt(struct mmds_stack *s, uint32_t salt)
{
	s->isn_salt = salt;
}

unsigned int mmds_stack_connections(const struct mmds_stack *s)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < MMDS_STACK_MAX_CONNECTIONS; i++)
		n += s->conns[i].used;
	return n;
}

/* ---- classification and ARP ------------------------------------------------- */

bool mmds_stack_is_mmds_frame(const struct mmds_stack *s, const uint8_t *frame, size_t len)
{
	uint32_t addr = mmds_ipv4_addr(s->mmds), target;
	struct mmds_eth e;

	if (mmds_parse_eth(frame, len, &e))
		return false;
	/* Only the target field, wherever it sits: the rest is checked on receive. */
	if (e.type == MMDS_ETHERTYPE_ARP && e.len >= MMDS_ARP_LEN) {
		memcpy(&target, e.payload + 24, sizeof(target));
		return target == addr;
	}
	if (e.type == MMDS_ETHERTYPE_IP && e.len >= MMDS_IP_HLEN) {
		memcpy(&target, e.payload + 16, sizeof(target));
		return target == addr;
	}
	return false;
}

static void stack_receive_arp(struct mmds_stack *s, const struct mmds_eth *e, uint32_t addr)
{
	struct mmds_arp a;

	if (mmds_parse_arp(e->payload, e->len, &a) || a.op != MMDS_ARP_REQUEST || a.tpa != addr) {
		metric_inc(&g_metrics.mmds.rx_accepted_unusual);
		return;
	}
	s->arp_pending = true;
	memcpy(s->arp_mac, a.sha, sizeof(s->arp_mac));
	s->arp_ip = a.spa;
}

/* ---- RSTs --------------------------------------------------------------------- */

static void stack_queue_rst(struct mmds_stack *s, const uint8_t mac[6], uint32_t raddr,
			    uint16_t rport, uint32_t seq, uint32_t ack, uint8_t flags)
{
	struct mmds_rst *r;

	/* A full queue: the guest's own timeouts end what would have been reset. */
	if (s->nr_rst >= MMDS_STACK_MAX_PENDING_RST)
		return;
	r = &s->rst[s->nr_rst++];
	memcpy(r->mac, mac, 6);
	r->raddr = raddr;
	r->rport = rport;
	r->seq = seq;
	r->ack = ack;
	r->flags = flags;
}

/* RFC 793's reset for a segment that belongs to no connection. */
static void stack_rst_segment(struct mmds_stack *s, const uint8_t mac[6], uint32_t raddr,
			      const struct mmds_tcp *t)
{
	uint32_t len =
	    (uint32_t)t->data_len + !!(t->flags & MMDS_TCP_SYN) + !!(t->flags & MMDS_TCP_FIN);

	if (t->flags & MMDS_TCP_ACK)
		stack_queue_rst(s, mac, raddr, t->sport, t->ack, 0, MMDS_TCP_RST);
	else
		stack_queue_rst(s, mac, raddr, t->sport, 0, t->seq + len,
				MMDS_TCP_RST | MMDS_TCP_ACK);
}

/* ---- a connection receiving ---------------------------------------------------- */

static struct mmds_conn *stack_find(struct mmds_stack *s, uint32_t raddr, uint16_t rport)
{
	for (unsigned int i = 0; i < MMDS_STACK_MAX_CONNECTIONS; i++) {
		struct mmds_conn *c = &s->conns[i];

		if (c->used && c->raddr == raddr && c->rport == rport)
			return c;
	}
	return NULL;
}

static uint16_t conn_window(const struct mmds_conn *c)
{
	return (uint16_t)(MMDS_STACK_RCV_BUF - c->rcv_len);
}

/* Give up on the connection: one RST goes out, then it is gone. */
static void conn_reset(struct mmds_conn *c)
{
	c->rst_pending = true;
}

/* Hand complete requests to the responder while no response is in flight. */
static void conn_serve(struct mmds_stack *s, struct mmds_conn *c, uint64_t now)
{
	while (!c->resp_len && !c->fin_wanted && c->rcv_len) {
		char *out = NULL;
		size_t out_len = 0;
		bool close_after = false;
		ssize_t n = mmds_http_respond(s->mmds, c->rcv_buf, c->rcv_len, now, &out, &out_len,
					      &close_after);

		if (n < 0) {
			metric_inc(&g_metrics.mmds.tx_errors);
			conn_reset(c);
			return;
		}
		if (n == 0) {
			/* The window is full and still no whole request: over the limit. */
			if (c->rcv_len == MMDS_STACK_RCV_BUF) {
				metric_inc(&g_metrics.mmds.rx_accepted_unusual);
				conn_reset(c);
			}
			return;
		}
		if ((size_t)n > c->rcv_len)
			n = (ssize_t)c->rcv_len;
		memmove(c->rcv_buf, c->rcv_buf + n, c->rcv_len - (size_t)n);
		c->rcv_len -= (size_t)n;
		c->ack_pending = true; /* the window opened */
		if (out_len) {
			c->resp = out;
			c->resp_len = out_len;
		} else {
			free(out);
		}
		c->fin_wanted = close_after;
	}
	/* The guest closed its side: ours follows the last response. */
	if (c->fin_received && !c->resp_len)
		c->fin_wanted = true;
}

/* In-order bytes (and FIN) of @t into the receive buffer; anything else is re-acked. */
static void conn_take_data(struct mmds_conn *c, const struct mmds_tcp *t)
{
	const uint8_t *data = t->data;
	uint32_t len = (uint32_t)t->data_len, skip, n;
	bool fin = t->flags & MMDS_TCP_FIN;

	if (!len && !fin)
		return;
	c->ack_pending = true;
	if (c->fin_received) {
		if (len)
			metric_inc(&g_metrics.mmds.rx_accepted_unusual);
		return;
	}
	/* Bytes we already have at the front are skipped; a gap means out of order. */
	skip = c->rcv_nxt - t->seq;
	if (seq_lt(c->rcv_nxt, t->seq) || (skip > len || (skip == len && !fin))) {
		metric_inc(&g_metrics.mmds.rx_accepted_unusual);
		return;
	}
	data += skip;
	len -= skip;
	n = min_u32(len, (uint32_t)(MMDS_STACK_RCV_BUF - c->rcv_len));
	memcpy(c->rcv_buf + c->rcv_len, data, n);
	c->rcv_len += n;
	c->rcv_nxt += n;
	if (n < len) {
		/* Past our window: the guest sends it again once the window opens. */
		metric_inc(&g_metrics.mmds.rx_accepted_unusual);
		return;
	}
	if (fin) {
		c->rcv_nxt++;
		c->fin_received = true;
	}
}

/* The ACK field of @t: progress, duplicate, or nonsense. False: drop the segment. */
static bool conn_take_ack(struct mmds_conn *c, const struct mmds_tcp *t, uint64_t now)
{
	uint32_t edge = t->ack + t->window;

	if (seq_lt(t->ack, c->snd_una) || seq_lt(c->snd_max, t->ack)) {
		metric_inc(&g_metrics.mmds.rx_accepted_unusual);
		c->ack_pending = true;
		return false;
	}
	if (!c->established) {
		if (t->ack == c->iss) {
			metric_inc(&g_metrics.mmds.rx_accepted_unusual);
			return false;
		}
		c->established = true;
	}
	if (seq_lt(c->snd_una, t->ack)) {
		c->snd_una = t->ack;
		if (seq_lt(c->snd_nxt, t->ack))
			c->snd_nxt = t->ack;
		c->rto_count = 0;
		c->rto_start = now;
		c->dup_ack = false;
	} else if (c->snd_max != c->snd_una && !t->data_len && !(t->flags & MMDS_TCP_FIN) &&
		   edge == c->snd_wnd_edge) {
		/* Unlike most TCPs, retransmit at the first duplicate (as Firecracker). */
		c->dup_ack = true;
	}
	if (seq_le(c->snd_wnd_edge, edge))
		c->snd_wnd_edge = edge;
	else
		metric_inc(&g_metrics.mmds.rx_accepted_unusual);
	/* The whole response acknowledged: the next request may be answered. */
	if (c->resp_len && seq_le(c->snd_base + (uint32_t)c->resp_len, c->snd_una)) {
		c->snd_base += (uint32_t)c->resp_len;
		free(c->resp);
		c->resp = NULL;
		c->resp_len = 0;
	}
	return true;
}

static bool conn_fin_acked(const struct mmds_conn *c)
{
	return c->fin_wanted && !c->resp_len && seq_lt(c->snd_base, c->snd_una);
}

/* Is @t's RST inside our receive window (RFC 5961's blind-reset check, loosely)? */
static bool conn_rst_acceptable(const struct mmds_conn *c, const struct mmds_tcp *t)
{
	return seq_le(c->rcv_nxt, t->seq) && seq_le(t->seq, c->rcv_nxt + conn_window(c));
}

static void conn_receive(struct mmds_stack *s, struct mmds_conn *c, const struct mmds_tcp *t,
			 uint64_t now)
{
	if (c->rst_pending)
		return;
	c->last_rx = now;
	if (t->flags & MMDS_TCP_RST) {
		if (conn_rst_acceptable(c, t))
			conn_free(c);
		else
			metric_inc(&g_metrics.mmds.rx_accepted_unusual);
		return;
	}
	if (t->flags & MMDS_TCP_SYN) {
		/* The guest lost our SYN-ACK and sends the same SYN again: answer it again. */
		if (!c->established && t->seq + 1 == c->rcv_nxt) {
			c->snd_nxt = c->iss;
			return;
		}
		metric_inc(&g_metrics.mmds.rx_accepted_unusual);
		conn_reset(c);
		return;
	}
	if (!(t->flags & MMDS_TCP_ACK) || !conn_take_ack(c, t, now)) {
		metric_inc(&g_metrics.mmds.rx_accepted_unusual);
		return;
	}
	conn_take_data(c, t);
	conn_serve(s, c, now);
	if (c->fin_received && conn_fin_acked(c) && !c->ack_pending)
		conn_free(c);
}

/* ---- new connections ----------------------------------------------------------- */

/* A free slot, or one evicted for having been quiet long enough (its peer gets a RST). */
static struct mmds_conn *stack_slot(struct mmds_stack *s, uint64_t now)
{
	for (unsigned int i = 0; i < MMDS_STACK_MAX_CONNECTIONS; i++) {
		if (!s->conns[i].used)
			return &s->conns[i];
	}
	for (unsigned int i = 0; i < MMDS_STACK_MAX_CONNECTIONS; i++) {
		struct mmds_conn *c = &s->conns[i];

		if (elapsed(now, c->last_rx) >= MMDS_STACK_EVICT_NS) {
			stack_queue_rst(s, c->mac, c->raddr, c->rport, c->snd_nxt, c->rcv_nxt,
					MMDS_TCP_RST | MMDS_TCP_ACK);
			conn_free(c);
			return c;
		}
	}
	return NULL;
}

static void stack_open(struct mmds_stack *s, const uint8_t mac[6], uint32_t raddr,
		       const struct mmds_tcp *t, uint64_t now)
{
	struct mmds_conn *c = stack_slot(s, now);

	if (!c) {
		stack_rst_segment(s, mac, raddr, t);
		return;
	}
	memset(c, 0, offsetof(struct mmds_conn, rcv_buf));
	c->used = true;
	memcpy(c->mac, mac, 6);
	c->raddr = raddr;
	c->rport = t->sport;
	c->mss = t->mss ? t->mss : MMDS_STACK_MSS_DEFAULT;
	c->iss = s->isn_salt + (uint32_t)(now >> 6);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_base = c->iss + 1;
	c->snd_wnd_edge = c->iss + 1 + t->window;
	c->rcv_nxt = t->seq + 1;
	c->last_rx = now;
	metric_inc(&g_metrics.mmds.connections_created);
}

static void stack_receive_tcp(struct mmds_stack *s, const struct mmds_eth *e,
			      const struct mmds_ipv4 *ip, bool csum_partial, uint64_t now)
{
	struct mmds_conn *c;
	struct mmds_tcp t;

	if (mmds_parse_tcp(ip, !csum_partial, &t) || t.dport != MMDS_STACK_TCP_PORT) {
		metric_inc(&g_metrics.mmds.rx_accepted_err);
		return;
	}
	metric_inc(&g_metrics.mmds.rx_count);
	c = stack_find(s, ip->saddr, t.sport);
	if (c) {
		memcpy(c->mac, e->src, 6);
		conn_receive(s, c, &t, now);
	} else if ((t.flags & (MMDS_TCP_SYN | MMDS_TCP_ACK | MMDS_TCP_RST | MMDS_TCP_FIN)) ==
		   MMDS_TCP_SYN) {
		stack_open(s, e->src, ip->saddr, &t, now);
	} else if (!(t.flags & MMDS_TCP_RST)) {
		stack_rst_segment(s, e->src, ip->saddr, &t);
	}
}

void mmds_stack_receive(struct mmds_stack *s, const uint8_t *frame, size_t len, bool csum_partial,
			uint64_t now_ns)
{
	uint32_t addr = mmds_ipv4_addr(s->mmds);
	struct mmds_ipv4 ip;
	struct mmds_eth e;

	if (mmds_parse_eth(frame, len, &e)) {
		metric_inc(&g_metrics.mmds.rx_bad_eth);
		return;
	}
	if (e.type == MMDS_ETHERTYPE_ARP) {
		stack_receive_arp(s, &e, addr);
		return;
	}
	if (e.type != MMDS_ETHERTYPE_IP || mmds_parse_ipv4(e.payload, e.len, &ip) ||
	    ip.daddr != addr) {
		metric_inc(&g_metrics.mmds.rx_accepted_err);
		return;
	}
	if (ip.proto != IPPROTO_TCP) {
		metric_inc(&g_metrics.mmds.rx_accepted_unusual);
		return;
	}
	stack_receive_tcp(s, &e, &ip, csum_partial, now_ns);
}

/* ---- sending -------------------------------------------------------------------- */

/* Retransmission: go back to the oldest unacknowledged byte on timeout or dup ACK. */
static void conn_tick(struct mmds_conn *c, uint64_t now)
{
	if (c->snd_max == c->snd_una || c->rst_pending)
		return;
	if (!c->dup_ack && elapsed(now, c->rto_start) < MMDS_STACK_RTO_NS)
		return;
	if (!c->dup_ack && ++c->rto_count > MMDS_STACK_RTO_MAX) {
		conn_reset(c);
		return;
	}
	c->dup_ack = false;
	c->snd_nxt = c->snd_una;
	c->rto_start = now;
}

/* Bytes of the response that may go out at snd_nxt now. */
static uint32_t conn_sendable(const struct mmds_conn *c)
{
	uint32_t off = c->snd_nxt - c->snd_base, room = c->snd_wnd_edge - c->snd_nxt;

	if (c->snd_nxt == c->iss || off >= c->resp_len || seq_le(c->snd_wnd_edge, c->snd_nxt))
		return 0;
	return min_u32(min_u32((uint32_t)c->resp_len - off, room),
		       min_u32(c->mss, MMDS_STACK_MAX_PAYLOAD));
}

static bool conn_fin_due(const struct mmds_conn *c)
{
	return c->fin_wanted && c->snd_nxt != c->iss &&
	       c->snd_nxt - c->snd_base == (uint32_t)c->resp_len;
}

static bool conn_wants_send(struct mmds_conn *c, uint64_t now)
{
	conn_tick(c, now);
	return c->rst_pending || c->snd_nxt == c->iss || conn_sendable(c) || conn_fin_due(c) ||
	       c->ack_pending;
}

bool mmds_stack_has_frame(struct mmds_stack *s, uint64_t now_ns)
{
	if (s->arp_pending || s->nr_rst)
		return true;
	for (unsigned int i = 0; i < MMDS_STACK_MAX_CONNECTIONS; i++) {
		if (s->conns[i].used && conn_wants_send(&s->conns[i], now_ns))
			return true;
	}
	return false;
}

static size_t stack_tcp_frame(struct mmds_stack *s, uint8_t *buf, const uint8_t mac[6],
			      uint32_t raddr, const struct mmds_tcp *t)
{
	size_t n = mmds_build_eth(buf, mac, mmds_mac, MMDS_ETHERTYPE_IP);

	n += mmds_build_ipv4_tcp(buf + n, mmds_ipv4_addr(s->mmds), raddr, s->ip_id++, t);
	metric_inc(&g_metrics.mmds.tx_count);
	return n;
}

static size_t stack_write_arp(struct mmds_stack *s, uint8_t *buf)
{
	size_t n = mmds_build_eth(buf, s->arp_mac, mmds_mac, MMDS_ETHERTYPE_ARP);

	n +=
	    mmds_build_arp_reply(buf + n, mmds_mac, mmds_ipv4_addr(s->mmds), s->arp_mac, s->arp_ip);
	s->arp_pending = false;
	metric_inc(&g_metrics.mmds.tx_count);
	return n;
}

static size_t stack_write_rst(struct mmds_stack *s, uint8_t *buf)
{
	struct mmds_rst r = s->rst[0];
	struct mmds_tcp t = {
	    .sport = MMDS_STACK_TCP_PORT,
	    .dport = r.rport,
	    .seq = r.seq,
	    .ack = r.ack,
	    .flags = r.flags,
	};

	memmove(s->rst, s->rst + 1, --s->nr_rst * sizeof(s->rst[0]));
	return stack_tcp_frame(s, buf, r.mac, r.raddr, &t);
}

/* The next segment of @c (conn_wants_send() said there is one). */
static size_t conn_write(struct mmds_stack *s, struct mmds_conn *c, uint8_t *buf, uint64_t now)
{
	struct mmds_tcp t = {
	    .sport = MMDS_STACK_TCP_PORT,
	    .dport = c->rport,
	    .seq = c->snd_nxt,
	    .ack = c->rcv_nxt,
	    .flags = MMDS_TCP_ACK,
	    .window = conn_window(c),
	};
	uint32_t n = conn_sendable(c);
	size_t len;

	if (c->rst_pending) {
		t.flags = MMDS_TCP_RST | MMDS_TCP_ACK;
		len = stack_tcp_frame(s, buf, c->mac, c->raddr, &t);
		conn_free(c);
		return len;
	}
	if (c->snd_nxt == c->iss) {
		t.flags |= MMDS_TCP_SYN;
		t.mss = MMDS_STACK_MAX_PAYLOAD;
		n = 1;
	} else if (n) {
		t.flags |= MMDS_TCP_PSH;
		t.data = (const uint8_t *)c->resp + (c->snd_nxt - c->snd_base);
		t.data_len = n;
	} else if (conn_fin_due(c)) {
		t.flags |= MMDS_TCP_FIN;
		n = 1;
	}
	if (n && c->snd_nxt == c->snd_una)
		c->rto_start = now; /* the timer runs from the oldest unacknowledged byte */
	c->snd_nxt += n;
	if (seq_lt(c->snd_max, c->snd_nxt))
		c->snd_max = c->snd_nxt;
	c->ack_pending = false;
	len = stack_tcp_frame(s, buf, c->mac, c->raddr, &t);
	if (c->fin_received && conn_fin_acked(c))
		conn_free(c);
	return len;
}

size_t mmds_stack_next_frame(struct mmds_stack *s, uint8_t *buf, size_t len, uint64_t now_ns)
{
	if (len < MMDS_STACK_MAX_FRAME)
		return 0;
	if (s->arp_pending)
		return stack_write_arp(s, buf);
	if (s->nr_rst)
		return stack_write_rst(s, buf);
	/* Round-robin: one segment per connection in turn, so none starves the others. */
	for (unsigned int k = 0; k < MMDS_STACK_MAX_CONNECTIONS; k++) {
		unsigned int i = (s->next_conn + k) % MMDS_STACK_MAX_CONNECTIONS;
		struct mmds_conn *c = &s->conns[i];

		if (c->used && conn_wants_send(c, now_ns)) {
			s->next_conn = i + 1;
			return conn_write(s, c, buf, now_ns);
		}
	}
	return 0;
}
