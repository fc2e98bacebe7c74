// SPDX-License-Identifier: Apache-2.0
/*
 * A polling virtio-vsock driver (virtio 1.x 5.10) and the `vsock` scenario.
 *
 * Queue 0 (rx) holds VSOCK_NR_RX device-writable buffers, re-posted as soon
 * as a packet is taken out; queue 1 (tx) sends one packet at a time; queue 2
 * (event) holds one buffer. Each connection keeps the stream credit of
 * 5.10.6.3: the guest consumes data as soon as it arrives, so its fwd_cnt is
 * what it received, and it never sends more than the host's credit.
 *
 * Scenario (prints, then resets):
 *   vsock: cid <guest cid>
 *   guest-initiated: REQUEST to host port 52, then
 *     vsock: connected to host port 52      (or "... refused" on RST)
 *     sends "hello from the guest\n", reads a line:
 *     vsock: host replied "<line>"
 *     SHUTDOWN both ways, the host's RST:  vsock: port 52 closed
 *   host-initiated:
 *     vsock: listening on port 1234
 *     accepts a REQUEST to port 1234:      vsock: accepted host port <n>
 *     reads a line and sends it back:      vsock: echoed "<line>"
 *     the host closes:                     vsock: done
 */
#include "print.h"
#include "reset.h"
#include "string.h"
#include "virtio.h"
#include "virtio_scenarios.h"
#include "virtqueue.h"

/* Packet header and constants (virtio 1.x 5.10.6, Linux's virtio_vsock.h). */
#define VSOCK_HOST_CID	    2
#define VSOCK_TYPE_STREAM   1
#define VSOCK_OP_REQUEST    1
#define VSOCK_OP_RESPONSE   2
#define VSOCK_OP_RST	    3
#define VSOCK_OP_SHUTDOWN   4
#define VSOCK_OP_RW	    5
#define VSOCK_OP_CREDIT_UPD 6
#define VSOCK_OP_CREDIT_REQ 7
#define VSOCK_SHUTDOWN_RCV  1
#define VSOCK_SHUTDOWN_SEND 2
#define VSOCK_CONFIG_CID    0

#define VSOCK_NR_RX	   4
#define VSOCK_PAYLOAD	   512
#define VSOCK_BUF_ALLOC	   4096 /* what the guest tells the host it can hold */
#define VSOCK_LINE_MAX	   128
#define VSOCK_WAIT_SECONDS 30
#define VSOCK_GUEST_PORT   1024
#define VSOCK_HOST_PORT	   52
#define VSOCK_LISTEN_PORT  1234
#define VSOCK_GUEST_LINE   "hello from the guest\n"

struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __packed;

_Static_assert(sizeof(struct vsock_hdr) == 44, "virtio_vsock_hdr is 44 bytes");

struct vsock_pkt {
	struct vsock_hdr hdr;
	uint8_t data[VSOCK_PAYLOAD];
} __packed;

/* One stream connection as the guest sees it. */
struct vsock_conn {
	uint32_t local_port, peer_port;
	uint32_t fwd_cnt;		   /* bytes received (and consumed) */
	uint32_t tx_cnt;		   /* bytes sent */
	uint32_t peer_buf_alloc, peer_fwd_cnt; /* the host's credit information */
};

static struct {
	struct virtio_dev *dev;
	struct virtqueue rxq, txq, evq;
	uint64_t cid;
	struct vsock_pkt rx[VSOCK_NR_RX] __aligned(64);
	struct vsock_pkt tx __aligned(64);
	uint8_t event[8] __aligned(8);
} vs;

static void post_rx(uint16_t i)
{
	virtqueue_set_desc(&vs.rxq, i, (uint64_t)&vs.rx[i], sizeof(vs.rx[i]), VRING_DESC_F_WRITE,
			   0);
	virtqueue_kick(&vs.rxq, i);
}

static bool vsock_open(struct virtio_dev *dev)
{
	vs.dev = dev;
	if (!virtio_init(dev, 0) || !virtio_setup_queue(dev, 0, &vs.rxq) ||
	    !virtio_setup_queue(dev, 1, &vs.txq) || !virtio_setup_queue(dev, 2, &vs.evq))
		return false;
	vs.cid = virtio_config_read64(dev, VSOCK_CONFIG_CID);
	virtio_driver_ok(dev);
	for (uint16_t i = 0; i < VSOCK_NR_RX; i++)
		post_rx(i);
	virtqueue_set_desc(&vs.evq, 0, (uint64_t)vs.event, sizeof(vs.event), VRING_DESC_F_WRITE, 0);
	virtqueue_kick(&vs.evq, 0);
	return true;
}

/* Send one packet on @c; false when the device did not take it. */
static bool send_pkt(struct vsock_conn *c, uint16_t op, uint32_t flags, const void *data,
		     uint32_t len)
{
	struct vring_used_elem used;
	struct vsock_hdr *h = &vs.tx.hdr;

	if (len > VSOCK_PAYLOAD)
		return false;
	h->src_cid = vs.cid;
	h->dst_cid = VSOCK_HOST_CID;
	h->src_port = c->local_port;
	h->dst_port = c->peer_port;
	h->len = len;
	h->type = VSOCK_TYPE_STREAM;
	h->op = op;
	h->flags = flags;
	h->buf_alloc = VSOCK_BUF_ALLOC;
	h->fwd_cnt = c->fwd_cnt;
	if (len)
		memcpy(vs.tx.data, data, len);
	virtqueue_set_desc(&vs.txq, 0, (uint64_t)&vs.tx, sizeof(*h) + len, 0, 0);
	virtqueue_kick(&vs.txq, 0);
	if (virtqueue_wait_used(&vs.txq, &used) != VIRTQUEUE_USED)
		return false;
	if (op == VSOCK_OP_RW)
		c->tx_cnt += len;
	return true;
}

/*
 * The next packet from the device into @h and @data (at most VSOCK_PAYLOAD
 * bytes), waiting up to about @seconds. False when none came.
 */
static bool recv_pkt(struct vsock_hdr *h, uint8_t *data, unsigned int seconds)
{
	struct vring_used_elem used;
	uint32_t len;
	uint16_t id;

	while (seconds--) {
		enum virtqueue_wait w = virtqueue_wait_used(&vs.rxq, &used);

		if (w == VIRTQUEUE_NEEDS_RESET)
			return false;
		if (w != VIRTQUEUE_USED)
			continue;
		id = (uint16_t)used.id;
		if (id >= VSOCK_NR_RX || used.len < sizeof(*h))
			return false; /* the device misbehaved: not worth going on */
		*h = vs.rx[id].hdr;
		len = h->len < VSOCK_PAYLOAD ? h->len : VSOCK_PAYLOAD;
		if (data && len)
			memcpy(data, vs.rx[id].data, len);
		post_rx(id);
		return true;
	}
	return false;
}

static bool for_conn(const struct vsock_conn *c, const struct vsock_hdr *h)
{
	return h->src_port == c->peer_port && h->dst_port == c->local_port;
}

/* Any packet for @c carries the host's credit. */
static void take_credit(struct vsock_conn *c, const struct vsock_hdr *h)
{
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
}

/*
 * The next packet for @c (others are refused with RST or ignored), with a
 * CREDIT_REQUEST answered on the way. False on timeout.
 */
static bool recv_for(struct vsock_conn *c, struct vsock_hdr *h, uint8_t *data)
{
	unsigned int waited = 0;

	while (waited++ < VSOCK_WAIT_SECONDS) {
		if (!recv_pkt(h, data, 1))
			continue;
		if (!for_conn(c, h)) {
			if (h->op == VSOCK_OP_REQUEST) {
				struct vsock_conn other = {.local_port = h->dst_port,
							   .peer_port = h->src_port};

				send_pkt(&other, VSOCK_OP_RST, 0, NULL, 0);
			}
			continue;
		}
		take_credit(c, h);
		if (h->op == VSOCK_OP_CREDIT_REQ) {
			send_pkt(c, VSOCK_OP_CREDIT_UPD, 0, NULL, 0);
			continue;
		}
		return true;
	}
	return false;
}

/* Read up to a '\n' (kept) into @line; its length, or -1 if the stream ended first. */
static ssize_t read_line(struct vsock_conn *c, char *line, size_t max)
{
	static uint8_t data[VSOCK_PAYLOAD];
	struct vsock_hdr h;
	size_t n = 0;

	while (recv_for(c, &h, data)) {
		if (h.op != VSOCK_OP_RW)
			return -1;
		c->fwd_cnt += h.len;
		for (uint32_t i = 0; i < h.len && i < VSOCK_PAYLOAD && n < max; i++) {
			line[n++] = (char)data[i];
			if (data[i] == '\n')
				return (ssize_t)n;
		}
		if (n == max)
			return -1;
	}
	return -1;
}

/* Until the connection ends: an RST, or a full SHUTDOWN answered with RST. False on timeout. */
static bool wait_for_end(struct vsock_conn *c)
{
	struct vsock_hdr h;

	while (recv_for(c, &h, NULL)) {
		if (h.op == VSOCK_OP_RST)
			return true;
		if (h.op == VSOCK_OP_SHUTDOWN &&
		    (h.flags & (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)) ==
			(VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)) {
			send_pkt(c, VSOCK_OP_RST, 0, NULL, 0);
			return true;
		}
		if (h.op == VSOCK_OP_RW)
			c->fwd_cnt += h.len;
	}
	return false;
}

/* Print `vsock: <what> "<line without its newline>"`. */
static void print_line(const char *what, const char *line, ssize_t len)
{
	print_str("vsock: ");
	print_str(what);
	print_str(" \"");
	print_printable(line, len > 0 && line[len - 1] == '\n' ? (size_t)len - 1 : (size_t)len);
	print_str("\"\n");
}

static __noreturn void fail(const char *why)
{
	print_str("vsock: ");
	print_str(why);
	print_str("\n");
	machine_reset();
}

/* Guest-initiated: a line to host port 52, its reply, an orderly close. */
static void talk_to_host(void)
{
	struct vsock_conn c = {.local_port = VSOCK_GUEST_PORT, .peer_port = VSOCK_HOST_PORT};
	char line[VSOCK_LINE_MAX];
	struct vsock_hdr h;
	ssize_t len;

	if (!send_pkt(&c, VSOCK_OP_REQUEST, 0, NULL, 0))
		fail("REQUEST not taken");
	if (!recv_for(&c, &h, NULL))
		fail("no answer to the connection request");
	if (h.op == VSOCK_OP_RST)
		fail("connection to host port 52 refused");
	if (h.op != VSOCK_OP_RESPONSE)
		fail("unexpected answer to the connection request");
	print_str("vsock: connected to host port 52\n");
	if (!send_pkt(&c, VSOCK_OP_RW, 0, VSOCK_GUEST_LINE, sizeof(VSOCK_GUEST_LINE) - 1))
		fail("send no completion");
	len = read_line(&c, line, sizeof(line));
	if (len < 0)
		fail("no reply line");
	print_line("host replied", line, len);
	send_pkt(&c, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND, NULL, 0);
	if (!wait_for_end(&c))
		fail("no RST after SHUTDOWN");
	print_str("vsock: port 52 closed\n");
}

/* Host-initiated: accept on port 1234, echo one line, wait for the host to close. */
static void serve_host(void)
{
	struct vsock_conn c = {.local_port = VSOCK_LISTEN_PORT};
	char line[VSOCK_LINE_MAX];
	struct vsock_hdr h;
	unsigned int waited = 0;
	ssize_t len;

	print_str("vsock: listening on port 1234\n");
	for (;;) {
		if (waited++ > 2 * VSOCK_WAIT_SECONDS)
			fail("no connection from the host");
		if (!recv_pkt(&h, NULL, 1))
			continue;
		if (h.op == VSOCK_OP_REQUEST && h.dst_port == VSOCK_LISTEN_PORT)
			break;
		if (h.op == VSOCK_OP_REQUEST) {
			struct vsock_conn other = {.local_port = h.dst_port, .peer_port = h.src_port};

			send_pkt(&other, VSOCK_OP_RST, 0, NULL, 0);
		}
	}
	c.peer_port = h.src_port;
	take_credit(&c, &h);
	if (!send_pkt(&c, VSOCK_OP_RESPONSE, 0, NULL, 0))
		fail("RESPONSE not taken");
	print_str("vsock: accepted host port ");
	print_dec(c.peer_port);
	print_str("\n");
	len = read_line(&c, line, sizeof(line));
	if (len < 0)
		fail("no line from the host");
	/* The host's credit: its buf_alloc minus what it has not consumed yet. */
	if ((uint32_t)len > c.peer_buf_alloc - (c.tx_cnt - c.peer_fwd_cnt))
		fail("no credit for the echo");
	if (!send_pkt(&c, VSOCK_OP_RW, 0, line, (uint32_t)len))
		fail("echo no completion");
	print_line("echoed", line, len);
	if (!wait_for_end(&c))
		fail("the host did not close");
	print_str("vsock: done\n");
}

void scenario_vsock(const char *cmdline)
{
	struct virtio_dev *dev = virtio_probe_first(cmdline, VIRTIO_ID_VSOCK, "vsock");

	if (!dev)
		machine_reset();
	if (!vsock_open(dev))
		fail("init failed");
	print_str("vsock: cid ");
	print_dec(vs.cid);
	print_str("\n");
	talk_to_host();
	serve_host();
	machine_reset();
}
