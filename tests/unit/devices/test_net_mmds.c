// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net attached to MMDS: frames for the MMDS address leave the tx
 * queue into the MMDS stack and never reach the host's side of the wire
 * (here a SOCK_SEQPACKET socketpair, net_create_on_fd(): no root needed),
 * other frames still do; the stack's replies reach the rx queue through the
 * normal rx path, in turn with the host's frames; MMDS frames cost no tx
 * tokens; an offloaded checksum is not checked. The HTTP responder is a
 * fake defined here (the real one is mmds_http.c's).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/base/event_loop.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "vmm/base/metrics.h"
#include "devices/mmds/mmds.h"
#include "devices/mmds/mmds_frame.h"
#include "devices/mmds/mmds_stack.h"
#include "devices/virtio/net.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtq_driver.h"

#define RAM_SIZE  (4 * MIB)
#define BASE	  LAYOUT_VIRTIO_START
#define GSI	  5
#define RX_RING	  0x10000ULL
#define TX_RING	  0x20000ULL
#define RX_BUF	  0x100000ULL
#define RX_STRIDE 0x1000ULL
#define TX_BUF	  0x300000ULL
#define TX_STRIDE 0x1000ULL
#define QSIZE	  16
#define HDR	  NET_HDR_LEN
#define GUEST_IP  0x0a00000fU

static const uint8_t guest_mac[6] = {0x06, 0, 0, 0, 0, 0x0f};
static const uint8_t mmds_mac[6] = MMDS_STACK_MAC;

/* ---- the fake responder ------------------------------------------------------ */

uint32_t mmds_ipv4_addr(const struct mmds *m)
{
	(void)m;
	return htonl(0xa9fea9feU);
}

ssize_t mmds_http_respond(struct mmds *m, const uint8_t *buf, size_t len, uint64_t now_ns,
			  char **out, size_t *out_len, bool *close_after)
{
	const uint8_t *end = memmem(buf, len, "\r\n\r\n", 4);

	(void)m;
	(void)now_ns;
	if (!end)
		return 0;
	*out = strdup("HTTP/1.1 200\r\n\r\nhello");
	if (!*out)
		return -ENOMEM;
	*out_len = strlen(*out);
	*close_after = false;
	return end + 4 - buf;
}

/* ---- fixture -------------------------------------------------------------------- */

struct fx {
	struct guest_mem mem;
	struct event_loop loop;
	struct net_dev *net;
	struct virtio_mmio_dev *dev;
	struct virtq_driver rxq, txq;
	int host; /* the host's end of the wire */
	uint16_t rx_desc, tx_desc;
};

static bool deny_tx; /* the fake tx limiter's answer */
static unsigned int tx_limiter_calls;

static bool fake_may_consume(void *ctx, uint64_t bytes, uint64_t ops)
{
	(void)ctx;
	(void)bytes;
	(void)ops;
	tx_limiter_calls++;
	return !deny_tx;
}

static void run_loop(struct fx *f)
{
	for (int i = 0; i < 20; i++) {
		if (event_loop_run_once(&f->loop, 10) == 0 && i > 2)
			break;
	}
}

static int setup_common(void **state, bool attach)
{
	static struct fx f;
	struct net_config cfg = {.iface_id = "eth0", .has_guest_mac = true};
	struct virtio_limiter tx = {.may_consume = fake_may_consume};
	char err[256];
	int sv[2];

	memset(&f, 0, sizeof(f));
	*state = &f;
	metrics_reset();
	deny_tx = false;
	tx_limiter_calls = 0;
	memcpy(cfg.guest_mac, guest_mac, 6);
	if (guest_mem_create(&f.mem, RAM_SIZE) || event_loop_init(&f.loop))
		return -1;
	if (virtq_driver_init(&f.rxq, &f.mem, RX_RING, QSIZE) ||
	    virtq_driver_init(&f.txq, &f.mem, TX_RING, QSIZE))
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return -1;
	f.host = sv[1];
	if (net_create_on_fd(&f.net, &cfg, sv[0], &f.mem, BASE, GSI, err, sizeof(err)))
		return -1;
	if (attach && net_attach_mmds(f.net, NULL))
		return -1;
	net_set_limiters(f.net, NULL, &tx);
	f.dev = net_mmio(f.net);
	if (virtio_mmio_attach(f.dev, &f.loop))
		return -1;
	if (!(virtio_mmio_driver_negotiate(f.dev, VIRTIO_BIT(VIRTIO_F_VERSION_1)) &
	      VIRTIO_CONFIG_S_FEATURES_OK) ||
	    virtio_mmio_driver_setup_queue(f.dev, NET_RX_QUEUE, &f.rxq) != 1 ||
	    virtio_mmio_driver_setup_queue(f.dev, NET_TX_QUEUE, &f.txq) != 1 ||
	    !(virtio_mmio_driver_ok(f.dev) & VIRTIO_CONFIG_S_DRIVER_OK))
		return -1;
	run_loop(&f);
	return 0;
}

static int setup(void **state)
{
	return setup_common(state, true);
}

static int setup_detached(void **state)
{
	return setup_common(state, false);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_mmio_detach(f->dev);
	net_destroy(f->net);
	close(f->host);
	event_loop_destroy(&f->loop);
	guest_mem_destroy(&f->mem);
	return 0;
}

static uint8_t *gptr(struct fx *f, uint64_t gpa, uint64_t len)
{
	uint8_t *p = guest_mem_translate(&f->mem, gpa, len);

	assert_non_null(p);
	return p;
}

static void post_rx(struct fx *f, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint16_t d = f->rx_desc++ % QSIZE;

		virtq_driver_set_desc(&f->rxq, d, RX_BUF + d * RX_STRIDE, NET_MIN_RX_BUFFER,
				      VRING_DESC_F_WRITE, 0);
		virtq_driver_publish(&f->rxq, d);
	}
}

/* Queue one tx frame (header flags @hdr_flags), without notifying. */
static void put_tx(struct fx *f, const uint8_t *frame, size_t len, uint8_t hdr_flags)
{
	uint16_t d = f->tx_desc++ % QSIZE;
	uint64_t gpa = TX_BUF + d * TX_STRIDE;

	memset(gptr(f, gpa, HDR), 0, HDR);
	gptr(f, gpa, HDR)[0] = hdr_flags;
	memcpy(gptr(f, gpa + HDR, len), frame, len);
	virtq_driver_set_desc(&f->txq, d, gpa, (uint32_t)(HDR + len), 0, 0);
	virtq_driver_publish(&f->txq, d);
}

static void kick(struct fx *f, unsigned int q)
{
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	run_loop(f);
}

/* The next rx used element: its frame (header stripped) into @buf; its length, -1: none. */
static ssize_t rx_frame(struct fx *f, uint8_t *buf)
{
	uint32_t id, len;

	if (virtq_driver_get_used(&f->rxq, &id, &len) != 1)
		return -1;
	assert_true(len >= HDR && len <= NET_MIN_RX_BUFFER);
	memcpy(buf, gptr(f, RX_BUF + id * RX_STRIDE + HDR, len - HDR), len - HDR);
	return (ssize_t)(len - HDR);
}

/* What reached the host's side of the wire: the frame's length (header stripped), -1: none. */
static ssize_t host_frame(struct fx *f, uint8_t *buf)
{
	uint8_t b[NET_MAX_FRAME];
	ssize_t n = recv(f->host, b, sizeof(b), 0);

	if (n < (ssize_t)HDR)
		return -1;
	memcpy(buf, b + HDR, (size_t)n - HDR);
	return n - (ssize_t)HDR;
}

static size_t arp_request(uint8_t *f, uint32_t tpa_host)
{
	uint8_t arp[MMDS_ARP_LEN] = {0, 1, 0x08, 0, 6, 4, 0, 1};
	size_t n = mmds_build_eth(f, (const uint8_t[6]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
				  guest_mac, MMDS_ETHERTYPE_ARP);
	uint32_t spa = htonl(GUEST_IP), tpa = htonl(tpa_host);

	memcpy(arp + 8, guest_mac, 6);
	memcpy(arp + 14, &spa, 4);
	memcpy(arp + 24, &tpa, 4);
	memcpy(f + n, arp, sizeof(arp));
	return n + sizeof(arp);
}

static size_t tcp_frame(uint8_t *buf, uint32_t daddr_host, uint32_t seq, uint32_t ack,
			uint8_t flags, const char *data)
{
	struct mmds_tcp t = {.sport = 40000,
			     .dport = 80,
			     .seq = seq,
			     .ack = ack,
			     .flags = flags,
			     .window = 65535,
			     .data = (const uint8_t *)data,
			     .data_len = data ? strlen(data) : 0};
	size_t n = mmds_build_eth(buf, mmds_mac, guest_mac, MMDS_ETHERTYPE_IP);

	return n + mmds_build_ipv4_tcp(buf + n, htonl(GUEST_IP), htonl(daddr_host), 1, &t);
}

static void parse_tcp(const uint8_t *frame, size_t len, struct mmds_tcp *t)
{
	struct mmds_ipv4 ip;
	struct mmds_eth e;

	assert_int_equal(mmds_parse_eth(frame, len, &e), 0);
	assert_memory_equal(e.src, mmds_mac, 6);
	assert_memory_equal(e.dst, guest_mac, 6);
	assert_int_equal(mmds_parse_ipv4(e.payload, e.len, &ip), 0);
	assert_int_equal(mmds_parse_tcp(&ip, true, t), 0);
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_arp_answered_not_forwarded(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128], out[NET_MAX_FRAME];
	struct mmds_arp a;
	struct mmds_eth e;
	size_t n;

	post_rx(f, 4);
	kick(f, NET_RX_QUEUE);
	n = arp_request(fr, 0xa9fea9feU);
	put_tx(f, fr, n, 0);
	/* An ARP request for another address goes out to the host as before. */
	n = arp_request(fr, 0x0a000001U);
	put_tx(f, fr, n, 0);
	kick(f, NET_TX_QUEUE);

	assert_int_equal(host_frame(f, out), (ssize_t)n);
	assert_memory_equal(out, fr, n);
	assert_int_equal(host_frame(f, out), -1);
	assert_int_equal(g_metrics.net.tx_packets_count, 1);
	assert_int_equal(g_metrics.mmds.rx_accepted, 1);

	assert_int_equal(rx_frame(f, out), 42);
	assert_int_equal(mmds_parse_eth(out, 42, &e), 0);
	assert_memory_equal(e.src, mmds_mac, 6);
	assert_memory_equal(e.dst, guest_mac, 6);
	assert_int_equal(mmds_parse_arp(e.payload, e.len, &a), 0);
	assert_int_equal(a.op, MMDS_ARP_REPLY);
	assert_memory_equal(a.sha, mmds_mac, 6);
	assert_int_equal(a.spa, htonl(0xa9fea9feU));
	assert_int_equal(rx_frame(f, out), -1);
	assert_int_equal(g_metrics.mmds.tx_frames, 1);
	assert_int_equal(g_metrics.mmds.tx_bytes, 42);
	assert_int_equal(g_metrics.net.rx_packets_count, 1);
}

static void test_http_over_the_device(void **state)
{
	struct fx *f = *state;
	uint8_t fr[256], out[NET_MAX_FRAME];
	struct mmds_tcp t;
	ssize_t n;
	uint32_t ours;

	post_rx(f, 8);
	kick(f, NET_RX_QUEUE);
	put_tx(f, fr, tcp_frame(fr, 0xa9fea9feU, 100, 0, MMDS_TCP_SYN, NULL), 0);
	kick(f, NET_TX_QUEUE);
	n = rx_frame(f, out);
	assert_true(n > 0);
	parse_tcp(out, (size_t)n, &t);
	assert_int_equal(t.flags, MMDS_TCP_SYN | MMDS_TCP_ACK);
	ours = t.seq + 1;
	put_tx(f, fr, tcp_frame(fr, 0xa9fea9feU, 101, ours, MMDS_TCP_ACK, NULL), 0);
	put_tx(f, fr, tcp_frame(fr, 0xa9fea9feU, 101, ours, MMDS_TCP_ACK, "GET / HTTP/1.1\r\n\r\n"),
	       0);
	kick(f, NET_TX_QUEUE);
	n = rx_frame(f, out);
	assert_true(n > 0);
	parse_tcp(out, (size_t)n, &t);
	assert_int_equal(t.data_len, strlen("HTTP/1.1 200\r\n\r\nhello"));
	assert_memory_equal(t.data, "HTTP/1.1 200\r\n\r\nhello", t.data_len);
	assert_int_equal(t.ack, 101 + 18);
	assert_int_equal(rx_frame(f, out), -1);
	/* Nothing of it reached the host. */
	assert_int_equal(host_frame(f, out), -1);
	assert_int_equal(g_metrics.net.tx_packets_count, 0);
	assert_int_equal(g_metrics.mmds.rx_accepted, 3);
	assert_int_equal(g_metrics.mmds.connections_created, 1);
}

static void test_mmds_frame_waits_for_rx_buffer(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128], out[NET_MAX_FRAME];

	put_tx(f, fr, arp_request(fr, 0xa9fea9feU), 0);
	kick(f, NET_TX_QUEUE);
	assert_int_equal(rx_frame(f, out), -1);
	post_rx(f, 1);
	kick(f, NET_RX_QUEUE);
	assert_int_equal(rx_frame(f, out), 42);
}

static void test_rx_interleaves_mmds_and_tap(void **state)
{
	struct fx *f = *state;
	uint8_t fr[256], out[NET_MAX_FRAME], host[HDR + 60] = {0};
	unsigned int from_mmds = 0;
	int order[6];

	/* Three frames from the host wait in the socket; three RSTs wait in MMDS. */
	for (int i = 0; i < 3; i++) {
		memcpy(host + HDR, guest_mac, 6);
		host[HDR + 12] = 0x88;
		host[HDR + 13] = 0xb5;
		host[HDR + 14] = (uint8_t)i;
		assert_int_equal(send(f->host, host, sizeof(host), 0), (ssize_t)sizeof(host));
	}
	for (uint32_t i = 0; i < 3; i++)
		put_tx(f, fr, tcp_frame(fr, 0xa9fea9feU, 1, 1000 + i, MMDS_TCP_ACK, NULL), 0);
	kick(f, NET_TX_QUEUE);
	post_rx(f, 6);
	kick(f, NET_RX_QUEUE);
	for (int i = 0; i < 6; i++) {
		ssize_t n = rx_frame(f, out);

		assert_true(n > 14);
		order[i] = out[12] == 0x08; /* IPv4: MMDS's RST */
		from_mmds += (unsigned int)order[i];
	}
	assert_int_equal(rx_frame(f, out), -1);
	assert_int_equal(from_mmds, 3);
	/* In turn: never two from the same source while the other has one waiting. */
	for (int i = 1; i < 6; i++)
		assert_int_not_equal(order[i], order[i - 1]);
}

static void test_mmds_costs_no_tx_tokens(void **state)
{
	struct fx *f = *state;
	uint8_t fr[256], out[NET_MAX_FRAME];
	size_t n;

	post_rx(f, 2);
	kick(f, NET_RX_QUEUE);
	deny_tx = true;
	put_tx(f, fr, arp_request(fr, 0xa9fea9feU), 0);
	kick(f, NET_TX_QUEUE);
	assert_int_equal(tx_limiter_calls, 0);
	assert_int_equal(rx_frame(f, out), 42);
	/* A frame for the host does ask, and waits. */
	n = arp_request(fr, 0x0a000001U);
	put_tx(f, fr, n, 0);
	kick(f, NET_TX_QUEUE);
	assert_true(tx_limiter_calls > 0);
	assert_int_equal(host_frame(f, out), -1);
	deny_tx = false;
	virtio_mmio_kick(f->dev, NET_TX_QUEUE);
	assert_int_equal(host_frame(f, out), (ssize_t)n);
}

static void test_offloaded_checksum_not_checked(void **state)
{
	struct fx *f = *state;
	uint8_t fr[256], out[NET_MAX_FRAME];
	size_t n;

	post_rx(f, 2);
	kick(f, NET_RX_QUEUE);
	n = tcp_frame(fr, 0xa9fea9feU, 100, 0, MMDS_TCP_SYN, NULL);
	fr[14 + 20 + 16] ^= 0xff; /* the TCP checksum: now only a "partial" one */
	put_tx(f, fr, n, 0);
	kick(f, NET_TX_QUEUE);
	assert_int_equal(rx_frame(f, out), -1);
	assert_int_equal(g_metrics.mmds.rx_accepted_err, 1);
	put_tx(f, fr, n, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	kick(f, NET_TX_QUEUE);
	assert_true(rx_frame(f, out) > 0);
}

static void test_not_attached_goes_to_tap(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128], out[NET_MAX_FRAME];
	size_t n = arp_request(fr, 0xa9fea9feU);

	post_rx(f, 2);
	kick(f, NET_RX_QUEUE);
	put_tx(f, fr, n, 0);
	kick(f, NET_TX_QUEUE);
	assert_int_equal(host_frame(f, out), (ssize_t)n);
	assert_int_equal(rx_frame(f, out), -1);
	assert_int_equal(g_metrics.mmds.rx_accepted, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_arp_answered_not_forwarded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_http_over_the_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mmds_frame_waits_for_rx_buffer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_interleaves_mmds_and_tap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mmds_costs_no_tx_tokens, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_offloaded_checksum_not_checked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_attached_goes_to_tap, setup_detached,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
