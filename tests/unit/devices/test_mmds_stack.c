// SPDX-License-Identifier: Apache-2.0
/*
 * The MMDS network stack: the frame parsers on hand-made bytes (lengths,
 * checksums, fragments, options), then the stack as a guest sees it: ARP,
 * the TCP handshake, requests and responses through a fake responder
 * (defined here: the real one is mmds_http.c's), segmentation by MSS and
 * window, retransmission on timeout and duplicate ACK, RSTs both ways, the
 * connection table and RST queue limits, and hostile segments.
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

#include <cmocka.h>

#include "devices/mmds/mmds.h"
#include "devices/mmds/mmds_frame.h"
#include "devices/mmds/mmds_stack.h"
#include "vmm/base/metrics.h"

#define MS	 1000000ULL
#define T0	 (1000ULL * MS)
#define BIG_LEN	 5000U
#define GPORT	 40000
#define GUEST_IP 0x0a00000fU /* 10.0.0.15, host order */

static const uint8_t guest_mac[6] = {0x02, 0, 0, 0, 0, 0x0f};
static const uint8_t mmds_mac[6] = MMDS_STACK_MAC;
static uint32_t mmds_addr; /* network order */
static unsigned int responder_calls;

/* ---- the fake responder ------------------------------------------------------ */

uint32_t mmds_ipv4_addr(const struct mmds *m)
{
	(void)m;
	return mmds_addr;
}

static ssize_t respond_with(const char *body, size_t len, size_t used, char **out, size_t *out_len)
{
	*out = malloc(len);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, body, len);
	*out_len = len;
	return (ssize_t)used;
}

/*
 * One request per "\r\n\r\n": "GET /big" answers BIG_LEN patterned bytes,
 * "GET /close" "bye" and close, "GET /fail" fails, anything else "ok:<n>".
 */
ssize_t mmds_http_respond(struct mmds *m, const uint8_t *buf, size_t len, uint64_t now_ns,
			  char **out, size_t *out_len, bool *close_after)
{
	const uint8_t *end = memmem(buf, len, "\r\n\r\n", 4);
	size_t used;
	char ok[32];

	(void)m;
	(void)now_ns;
	if (!end)
		return 0;
	responder_calls++;
	used = (size_t)(end - buf) + 4;
	*close_after = false;
	if (used >= 8 && !memcmp(buf, "GET /big", 8)) {
		char big[BIG_LEN];

		for (size_t i = 0; i < BIG_LEN; i++)
			big[i] = (char)(i % 251);
		return respond_with(big, BIG_LEN, used, out, out_len);
	}
	if (used >= 10 && !memcmp(buf, "GET /close", 10)) {
		*close_after = true;
		return respond_with("bye", 3, used, out, out_len);
	}
	if (used >= 9 && !memcmp(buf, "GET /fail", 9))
		return -ENOMEM;
	snprintf(ok, sizeof(ok), "ok:%u", responder_calls);
	return respond_with(ok, strlen(ok), used, out, out_len);
}

/* ---- the guest's side ----------------------------------------------------------- */

struct seg {
	struct mmds_tcp t;
	uint32_t saddr, daddr;
	uint8_t data[2048];
};

static struct mmds_stack *stk;
static uint64_t now;
static uint8_t frame[2048];

static int setup(void **state)
{
	(void)state;
	mmds_addr = htonl(0xa9fea9feU); /* 169.254.169.254 */
	metrics_reset();
	responder_calls = 0;
	now = T0;
	stk = mmds_stack_create(NULL);
	return stk ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	mmds_stack_destroy(stk);
	return 0;
}

static size_t guest_frame(uint8_t *buf, uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags,
			  uint16_t win, uint16_t mss, const void *data, size_t len)
{
	struct mmds_tcp t = {.sport = sport,
			     .dport = MMDS_STACK_TCP_PORT,
			     .seq = seq,
			     .ack = ack,
			     .flags = flags,
			     .window = win,
			     .mss = mss,
			     .data = data,
			     .data_len = len};
	size_t n = mmds_build_eth(buf, mmds_mac, guest_mac, MMDS_ETHERTYPE_IP);

	return n + mmds_build_ipv4_tcp(buf + n, htonl(GUEST_IP), mmds_addr, 7, &t);
}

static void send_seg(uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
		     const void *data, size_t len)
{
	size_t n = guest_frame(frame, sport, seq, ack, flags, win, 0, data, len);

	assert_true(mmds_stack_is_mmds_frame(stk, frame, n));
	mmds_stack_receive(stk, frame, n, false, now);
}

/* The next frame from the stack, as a TCP segment (checksums checked); false: none. */
static bool recv_seg(struct seg *s)
{
	uint8_t buf[MMDS_STACK_MAX_FRAME];
	size_t n = mmds_stack_next_frame(stk, buf, sizeof(buf), now);
	struct mmds_ipv4 ip;
	struct mmds_eth e;

	if (!n)
		return false;
	assert_true(n <= MMDS_STACK_MAX_FRAME);
	assert_int_equal(mmds_parse_eth(buf, n, &e), 0);
	assert_int_equal(e.type, MMDS_ETHERTYPE_IP);
	assert_memory_equal(e.src, mmds_mac, 6);
	assert_memory_equal(e.dst, guest_mac, 6);
	assert_int_equal(mmds_parse_ipv4(e.payload, e.len, &ip), 0);
	assert_int_equal(ip.saddr, mmds_addr);
	assert_int_equal(ip.daddr, htonl(GUEST_IP));
	assert_int_equal(mmds_parse_tcp(&ip, true, &s->t), 0);
	assert_int_equal(s->t.sport, MMDS_STACK_TCP_PORT);
	assert_true(s->t.data_len <= sizeof(s->data));
	memcpy(s->data, s->t.data, s->t.data_len);
	s->t.data = s->data;
	return true;
}

/* SYN (with @mss, 0: none) and the final ACK; returns our ISS + 1 (the first data byte). */
static uint32_t handshake(uint16_t port, uint32_t gseq, uint16_t mss, uint16_t win)
{
	size_t n = guest_frame(frame, port, gseq, 0, MMDS_TCP_SYN, win, mss, NULL, 0);
	struct seg s;

	mmds_stack_receive(stk, frame, n, false, now);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.flags, MMDS_TCP_SYN | MMDS_TCP_ACK);
	assert_int_equal(s.t.ack, gseq + 1);
	assert_int_equal(s.t.mss, MMDS_STACK_MAX_PAYLOAD);
	assert_int_equal(s.t.window, MMDS_STACK_RCV_BUF);
	send_seg(port, gseq + 1, s.t.seq + 1, MMDS_TCP_ACK, win, NULL, 0);
	assert_false(recv_seg(&s));
	return s.t.seq + 1;
}

/* ---- parsers ---------------------------------------------------------------------- */

static void test_csum_rfc1071(void **state)
{
	/* RFC 1071's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d. */
	const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};

	(void)state;
	assert_int_equal(mmds_csum(b, sizeof(b), 0), 0x220d);
	/* An odd byte counts as the high half of a last word. */
	assert_int_equal(mmds_csum((const uint8_t[]){0x01}, 1, 0), 0xfeff);
	assert_int_equal(mmds_csum(b, sizeof(b), 0x220d), 0);
}

static void test_parse_eth_arp(void **state)
{
	uint8_t f[42] = {
	    0xff,	 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0,	0x0f, 0x08, 0x06,
	    /* ARP */ 0, 1,    0x08, 0,	   6,	 4,    0, 1, 2, 0, 0,	0,    0,    0x0f,
	    10,		 0,    0,    15,   0,	 0,    0, 0, 0, 0, 169, 254,  169,  254};
	struct mmds_eth e;
	struct mmds_arp a;

	(void)state;
	assert_int_equal(mmds_parse_eth(f, 13, &e), -EINVAL);
	assert_int_equal(mmds_parse_eth(f, sizeof(f), &e), 0);
	assert_int_equal(e.type, MMDS_ETHERTYPE_ARP);
	assert_int_equal(e.len, 28);
	assert_int_equal(mmds_parse_arp(e.payload, 27, &a), -EINVAL);
	assert_int_equal(mmds_parse_arp(e.payload, e.len, &a), 0);
	assert_int_equal(a.op, MMDS_ARP_REQUEST);
	assert_memory_equal(a.sha, guest_mac, 6);
	assert_int_equal(a.spa, htonl(GUEST_IP));
	assert_int_equal(a.tpa, mmds_addr);
	f[14 + 5] = 16; /* plen */
	assert_int_equal(mmds_parse_arp(e.payload, e.len, &a), -EOPNOTSUPP);
	f[14 + 5] = 4;
	f[14 + 1] = 6; /* htype IEEE 802 */
	assert_int_equal(mmds_parse_arp(e.payload, e.len, &a), -EOPNOTSUPP);
}

/* A 20-byte IPv4 header (checksum filled in) and 24 bytes of TCP after it. */
static size_t ip_packet(uint8_t *p, uint16_t frag, uint8_t ihl_words, uint16_t total)
{
	uint16_t sum;

	memset(p, 0, 64);
	p[0] = (uint8_t)(0x40 | ihl_words);
	p[2] = (uint8_t)(total >> 8);
	p[3] = (uint8_t)total;
	p[6] = (uint8_t)(frag >> 8);
	p[7] = (uint8_t)frag;
	p[8] = 64;
	p[9] = IPPROTO_TCP;
	memcpy(p + 12, (uint32_t[]){htonl(GUEST_IP)}, 4);
	memcpy(p + 16, &mmds_addr, 4);
	sum = htons(mmds_csum(p, (size_t)ihl_words * 4, 0));
	memcpy(p + 10, &sum, 2);
	return 44;
}

static void test_parse_ipv4(void **state)
{
	uint8_t p[64];
	struct mmds_ipv4 ip;

	(void)state;
	ip_packet(p, 0x4000, 5, 44);
	assert_int_equal(mmds_parse_ipv4(p, 19, &ip), -EINVAL);
	assert_int_equal(mmds_parse_ipv4(p, 44, &ip), 0);
	assert_int_equal(ip.proto, IPPROTO_TCP);
	assert_int_equal(ip.saddr, htonl(GUEST_IP));
	assert_int_equal(ip.len, 24);
	assert_ptr_equal(ip.payload, p + 20);
	/* Ethernet padding after tot_len is not payload. */
	assert_int_equal(mmds_parse_ipv4(p, 60, &ip), 0);
	assert_int_equal(ip.len, 24);
	/* tot_len past the buffer, below the header; ihl below 5 or past the buffer. */
	assert_int_equal(mmds_parse_ipv4(p, 43, &ip), -EINVAL);
	ip_packet(p, 0, 5, 19);
	assert_int_equal(mmds_parse_ipv4(p, 44, &ip), -EINVAL);
	ip_packet(p, 0, 4, 44);
	assert_int_equal(mmds_parse_ipv4(p, 44, &ip), -EINVAL);
	ip_packet(p, 0, 15, 44);
	assert_int_equal(mmds_parse_ipv4(p, 44, &ip), -EINVAL);
	/* A header with options is fine and skipped. */
	ip_packet(p, 0, 6, 44);
	assert_int_equal(mmds_parse_ipv4(p, 44, &ip), 0);
	assert_int_equal(ip.len, 20);
	/* Version 6, a bad checksum, fragments (MF, an offset). */
	ip_packet(p, 0, 5, 44);
	p[0] = 0x65;
	assert_int_equal(mmds_parse_ipv4(p, 44, &ip), -EINVAL);
	ip_packet(p, 0, 5, 44);
	p[8] ^= 1;
	assert_int_equal(mmds_parse_ipv4(p, 44, &ip), -EBADMSG);
	ip_packet(p, 0x2000, 5, 44);
	assert_int_equal(mmds_parse_ipv4(p, 44, &ip), -EOPNOTSUPP);
	ip_packet(p, 0x0001, 5, 44);
	assert_int_equal(mmds_parse_ipv4(p, 44, &ip), -EOPNOTSUPP);
}

static void test_parse_tcp(void **state)
{
	uint8_t p[128];
	struct mmds_tcp in = {.sport = 1234,
			      .dport = 80,
			      .seq = 0xfffffff0U,
			      .ack = 5,
			      .flags = MMDS_TCP_ACK | MMDS_TCP_PSH,
			      .window = 999,
			      .mss = 1400,
			      .data = (const uint8_t *)"hello",
			      .data_len = 5};
	struct mmds_ipv4 ip;
	struct mmds_tcp t;
	size_t n;

	(void)state;
	n = mmds_build_ipv4_tcp(p, htonl(GUEST_IP), mmds_addr, 1, &in);
	assert_int_equal(n, 20 + 24 + 5);
	assert_int_equal(mmds_parse_ipv4(p, n, &ip), 0);
	assert_int_equal(mmds_parse_tcp(&ip, true, &t), 0);
	assert_int_equal(t.sport, 1234);
	assert_int_equal(t.dport, 80);
	assert_int_equal(t.seq, 0xfffffff0U);
	assert_int_equal(t.ack, 5);
	assert_int_equal(t.flags, MMDS_TCP_ACK | MMDS_TCP_PSH);
	assert_int_equal(t.window, 999);
	assert_int_equal(t.mss, 1400);
	assert_int_equal(t.data_len, 5);
	assert_memory_equal(t.data, "hello", 5);

	/* A flipped payload bit: the checksum fails, unless the guest offloaded it. */
	p[n - 1] ^= 1;
	assert_int_equal(mmds_parse_tcp(&ip, true, &t), -EBADMSG);
	assert_int_equal(mmds_parse_tcp(&ip, false, &t), 0);
	p[n - 1] ^= 1;

	/* NOP, NOP, then an MSS option longer than what is left; then a zero length. */
	p[40] = 1;
	p[41] = 1;
	p[42] = 2;
	p[43] = 4;
	assert_int_equal(mmds_parse_tcp(&ip, false, &t), 0);
	assert_int_equal(t.mss, 0); /* MSS's length runs past the options */
	p[40] = 8;
	p[41] = 0; /* option length 0: malformed, parsing stops */
	assert_int_equal(mmds_parse_tcp(&ip, false, &t), 0);
	assert_int_equal(t.mss, 0);

	/* Data offset below 5 words or past the packet. */
	p[32] = 4 << 4;
	assert_int_equal(mmds_parse_tcp(&ip, false, &t), -EINVAL);
	p[32] = 15 << 4;
	assert_int_equal(mmds_parse_tcp(&ip, false, &t), -EINVAL);
	ip.len = 19;
	assert_int_equal(mmds_parse_tcp(&ip, false, &t), -EINVAL);
}

/* ---- classification and ARP -------------------------------------------------------- */

static size_t arp_frame(uint8_t *f, uint16_t op, uint32_t tpa)
{
	uint8_t arp[MMDS_ARP_LEN] = {0, 1, 0x08, 0, 6, 4, 0, (uint8_t)op};
	size_t n = mmds_build_eth(f, (const uint8_t[6]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
				  guest_mac, MMDS_ETHERTYPE_ARP);
	uint32_t spa = htonl(GUEST_IP);

	memcpy(arp + 8, guest_mac, 6);
	memcpy(arp + 14, &spa, 4);
	memcpy(arp + 24, &tpa, 4);
	memcpy(f + n, arp, sizeof(arp));
	return n + sizeof(arp);
}

static void test_is_mmds_frame(void **state)
{
	uint8_t f[128];
	size_t n;

	(void)state;
	n = arp_frame(f, 1, mmds_addr);
	assert_true(mmds_stack_is_mmds_frame(stk, f, n));
	assert_false(mmds_stack_is_mmds_frame(stk, f, n - 1));
	n = arp_frame(f, 1, htonl(0x0a000001));
	assert_false(mmds_stack_is_mmds_frame(stk, f, n));
	n = guest_frame(f, GPORT, 1, 0, MMDS_TCP_SYN, 100, 0, NULL, 0);
	assert_true(mmds_stack_is_mmds_frame(stk, f, n));
	assert_false(mmds_stack_is_mmds_frame(stk, f, 14 + 19));
	assert_false(mmds_stack_is_mmds_frame(stk, f, 13));
	f[12] = 0x86; /* IPv6 */
	f[13] = 0xdd;
	assert_false(mmds_stack_is_mmds_frame(stk, f, n));
	/* Another MMDS address (PUT /mmds/config): read on every frame. */
	n = guest_frame(f, GPORT, 1, 0, MMDS_TCP_SYN, 100, 0, NULL, 0);
	mmds_addr = htonl(0xa9fe0001U);
	assert_false(mmds_stack_is_mmds_frame(stk, f, n));
}

static void test_arp_reply(void **state)
{
	uint8_t f[128], out[MMDS_STACK_MAX_FRAME];
	struct mmds_eth e;
	struct mmds_arp a;
	size_t n;

	(void)state;
	assert_false(mmds_stack_has_frame(stk, now));
	/* A reply, or a request for another address, is taken but not answered. */
	n = arp_frame(f, 2, mmds_addr);
	mmds_stack_receive(stk, f, n, false, now);
	n = arp_frame(f, 1, htonl(0x0a000001));
	mmds_stack_receive(stk, f, n, false, now);
	assert_false(mmds_stack_has_frame(stk, now));
	assert_int_equal(g_metrics.mmds.rx_accepted_unusual, 2);

	n = arp_frame(f, 1, mmds_addr);
	mmds_stack_receive(stk, f, n, false, now);
	mmds_stack_receive(stk, f, n, false, now); /* one reply waits, not two */
	assert_true(mmds_stack_has_frame(stk, now));
	assert_int_equal(mmds_stack_next_frame(stk, out, MMDS_STACK_MAX_FRAME - 1, now), 0);
	n = mmds_stack_next_frame(stk, out, sizeof(out), now);
	assert_int_equal(n, 42);
	assert_int_equal(mmds_parse_eth(out, n, &e), 0);
	assert_memory_equal(e.dst, guest_mac, 6);
	assert_memory_equal(e.src, mmds_mac, 6);
	assert_int_equal(e.type, MMDS_ETHERTYPE_ARP);
	assert_int_equal(mmds_parse_arp(e.payload, e.len, &a), 0);
	assert_int_equal(a.op, MMDS_ARP_REPLY);
	assert_memory_equal(a.sha, mmds_mac, 6);
	assert_int_equal(a.spa, mmds_addr);
	assert_memory_equal(e.payload + 18, guest_mac, 6); /* tha */
	assert_int_equal(a.tpa, htonl(GUEST_IP));
	assert_int_equal(mmds_stack_next_frame(stk, out, sizeof(out), now), 0);
	assert_int_equal(g_metrics.mmds.tx_count, 1);
}

/* ---- TCP ------------------------------------------------------------------------------ */

static void test_request_response_close(void **state)
{
	const char req[] = "GET / HTTP/1.1\r\n\r\n";
	uint32_t gseq = 1000, ours;
	struct seg s;

	(void)state;
	ours = handshake(GPORT, gseq, 1460, 65535);
	assert_int_equal(mmds_stack_connections(stk), 1);
	assert_int_equal(g_metrics.mmds.connections_created, 1);

	/* The request in two pieces: nothing until it is whole, but each piece is acked. */
	send_seg(GPORT, gseq + 1, ours, MMDS_TCP_ACK, 65535, req, 5);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.flags, MMDS_TCP_ACK);
	assert_int_equal(s.t.ack, gseq + 6);
	assert_int_equal(s.t.window, MMDS_STACK_RCV_BUF - 5);
	assert_int_equal(responder_calls, 0);
	send_seg(GPORT, gseq + 6, ours, MMDS_TCP_ACK | MMDS_TCP_PSH, 65535, req + 5,
		 sizeof(req) - 6);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.flags, MMDS_TCP_ACK | MMDS_TCP_PSH);
	assert_int_equal(s.t.seq, ours);
	assert_int_equal(s.t.ack, gseq + sizeof(req));
	assert_int_equal(s.t.window, MMDS_STACK_RCV_BUF);
	assert_int_equal(s.t.data_len, 4);
	assert_memory_equal(s.data, "ok:1", 4);
	assert_false(recv_seg(&s));

	/* The guest acks and closes: we ack its FIN and send ours; its ACK ends it. */
	gseq += sizeof(req);
	send_seg(GPORT, gseq, ours + 4, MMDS_TCP_ACK | MMDS_TCP_FIN, 65535, NULL, 0);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.flags, MMDS_TCP_ACK | MMDS_TCP_FIN);
	assert_int_equal(s.t.seq, ours + 4);
	assert_int_equal(s.t.ack, gseq + 1);
	assert_false(recv_seg(&s));
	assert_int_equal(mmds_stack_connections(stk), 1);
	send_seg(GPORT, gseq + 1, ours + 5, MMDS_TCP_ACK, 65535, NULL, 0);
	assert_int_equal(mmds_stack_connections(stk), 0);
	assert_int_equal(g_metrics.mmds.connections_destroyed, 1);
	assert_false(recv_seg(&s));
}

static void test_close_after_and_pipelining(void **state)
{
	const char reqs[] = "GET /a\r\n\r\nGET /close\r\n\r\n";
	uint32_t gseq = 5, ours;
	struct seg s;

	(void)state;
	ours = handshake(GPORT, gseq, 0, 65535);
	send_seg(GPORT, gseq + 1, ours, MMDS_TCP_ACK, 65535, reqs, sizeof(reqs) - 1);
	gseq += sizeof(reqs); /* SYN + data */
	/* Only the first is answered until its response is acknowledged. */
	assert_true(recv_seg(&s));
	assert_memory_equal(s.data, "ok:1", 4);
	assert_int_equal(s.t.window, MMDS_STACK_RCV_BUF - 14);
	assert_false(recv_seg(&s));
	send_seg(GPORT, gseq, ours + 4, MMDS_TCP_ACK, 65535, NULL, 0);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.seq, ours + 4);
	assert_int_equal(s.t.data_len, 3);
	assert_memory_equal(s.data, "bye", 3);
	/* close_after: our FIN follows the response. */
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.flags, MMDS_TCP_ACK | MMDS_TCP_FIN);
	assert_int_equal(s.t.seq, ours + 7);
	send_seg(GPORT, gseq, ours + 8, MMDS_TCP_ACK, 65535, NULL, 0);
	assert_int_equal(mmds_stack_connections(stk), 1);
	/* The guest's FIN is acked, and that ends the connection. */
	send_seg(GPORT, gseq, ours + 8, MMDS_TCP_ACK | MMDS_TCP_FIN, 65535, NULL, 0);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.flags, MMDS_TCP_ACK);
	assert_int_equal(s.t.ack, gseq + 1);
	assert_int_equal(mmds_stack_connections(stk), 0);
	assert_int_equal(responder_calls, 2);
}

static void test_segmentation_by_mss_and_window(void **state)
{
	const char req[] = "GET /big\r\n\r\n";
	uint32_t gseq = 77, ours, got = 0, acked;
	uint8_t all[BIG_LEN];
	struct seg s;

	(void)state;
	ours = handshake(GPORT, gseq, 536, 1200);
	send_seg(GPORT, gseq + 1, ours, MMDS_TCP_ACK, 1200, req, sizeof(req) - 1);
	gseq += sizeof(req);
	acked = ours;
	while (got < BIG_LEN) {
		uint32_t burst = 0;

		while (recv_seg(&s)) {
			assert_true(s.t.data_len <= 536);
			assert_int_equal(s.t.seq, ours + got);
			memcpy(all + got, s.data, s.t.data_len);
			got += s.t.data_len;
			burst += s.t.data_len;
		}
		/* Never past the window the guest advertised with its last ACK. */
		assert_true(burst <= 1200);
		assert_true(burst > 0);
		acked = ours + got;
		send_seg(GPORT, gseq, acked, MMDS_TCP_ACK, 1200, NULL, 0);
	}
	assert_int_equal(got, BIG_LEN);
	for (uint32_t i = 0; i < BIG_LEN; i++)
		assert_int_equal(all[i], (uint8_t)(i % 251));
	assert_false(recv_seg(&s));

	/* A zero window holds the response back; a window update lets it go. */
	ours = handshake(GPORT + 1, 1, 0, 0);
	send_seg(GPORT + 1, 2, ours, MMDS_TCP_ACK, 0, req, sizeof(req) - 1);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.data_len, 0); /* the ACK of the request only */
	assert_false(recv_seg(&s));
	send_seg(GPORT + 1, 2 + sizeof(req) - 1, ours, MMDS_TCP_ACK, 100, NULL, 0);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.data_len, 100);
}

static void test_mss_capped_at_frame(void **state)
{
	const char req[] = "GET /big\r\n\r\n";
	uint32_t ours;
	struct seg s;

	(void)state;
	ours = handshake(GPORT, 1, 9000, 65535);
	send_seg(GPORT, 2, ours, MMDS_TCP_ACK, 65535, req, sizeof(req) - 1);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.data_len, MMDS_STACK_MAX_PAYLOAD);
}

static void test_retransmit_timeout_and_dup_ack(void **state)
{
	const char req[] = "GET /big\r\n\r\n";
	uint32_t gseq = 9, ours;
	struct seg s;

	(void)state;
	ours = handshake(GPORT, gseq, 1000, 3000);
	send_seg(GPORT, gseq + 1, ours, MMDS_TCP_ACK, 3000, req, sizeof(req) - 1);
	gseq += sizeof(req);
	for (int i = 0; i < 3; i++) {
		assert_true(recv_seg(&s));
		assert_int_equal(s.t.seq, ours + 1000U * i);
	}
	assert_false(recv_seg(&s));
	/* The first segment is acked, the rest is lost: nothing before the timeout. */
	send_seg(GPORT, gseq, ours + 1000, MMDS_TCP_ACK, 3000, NULL, 0);
	assert_true(recv_seg(&s)); /* the window moved: the 4th segment */
	assert_int_equal(s.t.seq, ours + 3000);
	now += MMDS_STACK_RTO_NS - 1;
	assert_false(mmds_stack_has_frame(stk, now));
	now += 1;
	assert_true(mmds_stack_has_frame(stk, now));
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.seq, ours + 1000); /* go back to the oldest unacked byte */
	assert_int_equal(s.data[0], 1000 % 251);
	assert_int_equal(s.data[1], 1001 % 251);
	/* A duplicate ACK retransmits at once. */
	while (recv_seg(&s))
		;
	send_seg(GPORT, gseq, ours + 1000, MMDS_TCP_ACK, 3000, NULL, 0);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.seq, ours + 1000);
}

static void test_rto_gives_up(void **state)
{
	struct seg s;
	size_t n;

	(void)state;
	n = guest_frame(frame, GPORT, 50, 0, MMDS_TCP_SYN, 1000, 0, NULL, 0);
	mmds_stack_receive(stk, frame, n, false, now);
	assert_true(recv_seg(&s));
	/* The SYN-ACK is retransmitted MMDS_STACK_RTO_MAX times, then a RST. */
	for (unsigned int i = 0; i < MMDS_STACK_RTO_MAX; i++) {
		now += MMDS_STACK_RTO_NS;
		assert_true(recv_seg(&s));
		assert_int_equal(s.t.flags, MMDS_TCP_SYN | MMDS_TCP_ACK);
	}
	now += MMDS_STACK_RTO_NS;
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.flags, MMDS_TCP_RST | MMDS_TCP_ACK);
	assert_int_equal(mmds_stack_connections(stk), 0);
	assert_false(recv_seg(&s));
}

static void test_syn_retransmitted_and_syn_on_established(void **state)
{
	struct seg s, s2;
	uint32_t ours;
	size_t n;

	(void)state;
	n = guest_frame(frame, GPORT, 50, 0, MMDS_TCP_SYN, 1000, 0, NULL, 0);
	mmds_stack_receive(stk, frame, n, false, now);
	assert_true(recv_seg(&s));
	mmds_stack_receive(stk, frame, n, false, now);
	assert_true(recv_seg(&s2));
	assert_int_equal(s2.t.flags, MMDS_TCP_SYN | MMDS_TCP_ACK);
	assert_int_equal(s2.t.seq, s.t.seq);
	assert_int_equal(mmds_stack_connections(stk), 1);
	ours = s.t.seq + 1;
	send_seg(GPORT, 51, ours, MMDS_TCP_ACK, 1000, NULL, 0);
	/* A SYN on the established connection resets it. */
	n = guest_frame(frame, GPORT, 50, 0, MMDS_TCP_SYN, 1000, 0, NULL, 0);
	mmds_stack_receive(stk, frame, n, false, now);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.flags, MMDS_TCP_RST | MMDS_TCP_ACK);
	assert_int_equal(mmds_stack_connections(stk), 0);
}

static void test_rst_from_guest(void **state)
{
	uint32_t ours;
	struct seg s;

	(void)state;
	ours = handshake(GPORT, 100, 0, 1000);
	/* Out of our window: ignored. In it: the connection is gone, silently. */
	send_seg(GPORT, 100 + 1 + 5000, 0, MMDS_TCP_RST, 0, NULL, 0);
	assert_int_equal(mmds_stack_connections(stk), 1);
	send_seg(GPORT, 101, ours, MMDS_TCP_RST, 0, NULL, 0);
	assert_int_equal(mmds_stack_connections(stk), 0);
	assert_false(recv_seg(&s));
}

static void test_unexpected_segments_get_rst(void **state)
{
	struct seg s;

	(void)state;
	/* An ACK for no connection: RST with seq = its ack. */
	send_seg(GPORT, 10, 12345, MMDS_TCP_ACK, 100, "x", 1);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.flags, MMDS_TCP_RST);
	assert_int_equal(s.t.seq, 12345);
	assert_int_equal(s.t.dport, GPORT);
	/* No ACK bit (a FIN): RST|ACK acking it. SYN|FIN is not a SYN. */
	send_seg(GPORT, 10, 0, MMDS_TCP_FIN, 100, "ab", 2);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.flags, MMDS_TCP_RST | MMDS_TCP_ACK);
	assert_int_equal(s.t.seq, 0);
	assert_int_equal(s.t.ack, 13);
	send_seg(GPORT, 10, 0, MMDS_TCP_SYN | MMDS_TCP_FIN, 100, NULL, 0);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.flags, MMDS_TCP_RST | MMDS_TCP_ACK);
	assert_int_equal(mmds_stack_connections(stk), 0);
	/* A RST for no connection is not answered. */
	send_seg(GPORT, 10, 0, MMDS_TCP_RST, 100, NULL, 0);
	assert_false(recv_seg(&s));
}

static void test_rst_queue_bounded(void **state)
{
	struct seg s;
	unsigned int n = 0;

	(void)state;
	for (unsigned int i = 0; i < 3 * MMDS_STACK_MAX_PENDING_RST; i++)
		send_seg((uint16_t)(1000 + i), 1, 1, MMDS_TCP_ACK, 100, NULL, 0);
	while (recv_seg(&s))
		n++;
	assert_int_equal(n, MMDS_STACK_MAX_PENDING_RST);
}

static void test_table_full_and_eviction(void **state)
{
	struct seg s;
	size_t n;

	(void)state;
	/* A SYN flood: the table fills, every extra SYN gets a RST and no state. */
	for (unsigned int i = 0; i < MMDS_STACK_MAX_CONNECTIONS + 20; i++) {
		n = guest_frame(frame, (uint16_t)(2000 + i), 7, 0, MMDS_TCP_SYN, 100, 0, NULL, 0);
		mmds_stack_receive(stk, frame, n, false, now);
	}
	assert_int_equal(mmds_stack_connections(stk), MMDS_STACK_MAX_CONNECTIONS);
	assert_int_equal(g_metrics.mmds.connections_created, MMDS_STACK_MAX_CONNECTIONS);
	n = 0;
	while (recv_seg(&s)) {
		n += s.t.flags == (MMDS_TCP_RST | MMDS_TCP_ACK);
		if (n > 100)
			break;
	}
	assert_int_equal(n, 20);
	/* Quiet long enough, an old one makes room: it gets a RST, the new one a SYN-ACK. */
	now += MMDS_STACK_EVICT_NS;
	n = guest_frame(frame, 3000, 7, 0, MMDS_TCP_SYN, 100, 0, NULL, 0);
	mmds_stack_receive(stk, frame, n, false, now);
	assert_int_equal(mmds_stack_connections(stk), MMDS_STACK_MAX_CONNECTIONS);
	assert_int_equal(g_metrics.mmds.connections_created, MMDS_STACK_MAX_CONNECTIONS + 1);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.flags, MMDS_TCP_RST | MMDS_TCP_ACK);
	assert_true(s.t.dport >= 2000 && s.t.dport < 2000 + MMDS_STACK_MAX_CONNECTIONS);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.flags, MMDS_TCP_SYN | MMDS_TCP_ACK);
	assert_int_equal(s.t.dport, 3000);
}

static void test_request_too_big_resets(void **state)
{
	static char junk[MMDS_STACK_RCV_BUF + 100];
	uint32_t ours, gseq = 1;
	struct seg s;

	(void)state;
	memset(junk, 'a', sizeof(junk));
	ours = handshake(GPORT, gseq, 0, 1000);
	gseq++;
	/* Data past the window is cut off at the window... */
	send_seg(GPORT, gseq, ours, MMDS_TCP_ACK, 1000, junk, 1400);
	gseq += 1400;
	assert_true(recv_seg(&s));
	send_seg(GPORT, gseq, ours, MMDS_TCP_ACK, 1000, junk, 1400);
	/* ...and a full window with no whole request resets the connection. */
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.flags, MMDS_TCP_RST | MMDS_TCP_ACK);
	assert_int_equal(s.t.ack, gseq + MMDS_STACK_RCV_BUF - 1400);
	assert_int_equal(mmds_stack_connections(stk), 0);
	assert_int_equal(responder_calls, 0);
}

static void test_responder_failure_resets(void **state)
{
	const char req[] = "GET /fail\r\n\r\n";
	uint32_t ours;
	struct seg s;

	(void)state;
	ours = handshake(GPORT, 1, 0, 1000);
	send_seg(GPORT, 2, ours, MMDS_TCP_ACK, 1000, req, sizeof(req) - 1);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.flags, MMDS_TCP_RST | MMDS_TCP_ACK);
	assert_int_equal(g_metrics.mmds.tx_errors, 1);
	assert_int_equal(mmds_stack_connections(stk), 0);
}

static void test_out_of_order_and_duplicates(void **state)
{
	const char req[] = "GET / HTTP/1.1\r\n\r\n";
	uint32_t ours;
	struct seg s;

	(void)state;
	ours = handshake(GPORT, 1, 0, 1000);
	/* A segment past a gap: re-acked at the old point, not kept. */
	send_seg(GPORT, 7, ours, MMDS_TCP_ACK, 1000, req + 5, sizeof(req) - 6);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.ack, 2);
	assert_int_equal(s.t.window, MMDS_STACK_RCV_BUF);
	/* An overlapping retransmission: only the new bytes count. */
	send_seg(GPORT, 2, ours, MMDS_TCP_ACK, 1000, req, 5);
	assert_true(recv_seg(&s));
	send_seg(GPORT, 2, ours, MMDS_TCP_ACK, 1000, req, sizeof(req) - 1);
	assert_true(recv_seg(&s));
	assert_memory_equal(s.data, "ok:1", 4);
	assert_int_equal(s.t.ack, 2 + sizeof(req) - 1);
	assert_int_equal(responder_calls, 1);
	/* A pure duplicate: re-acked, nothing served. An ACK beyond what we sent: ignored. */
	send_seg(GPORT, 2, ours, MMDS_TCP_ACK, 1000, req, 5);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.data_len, 0);
	send_seg(GPORT, 2 + sizeof(req) - 1, ours + 100, MMDS_TCP_ACK, 1000, NULL, 0);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.data_len, 0);
	assert_int_equal(responder_calls, 1);
	/* A segment with no ACK bit on a connection: dropped. */
	send_seg(GPORT, 2 + sizeof(req) - 1, 0, 0, 1000, "GET", 3);
	assert_false(recv_seg(&s));
}

static void test_hostile_frames_dropped(void **state)
{
	uint8_t f[256];
	struct seg s;
	size_t n;

	(void)state;
	/* Bad TCP checksum: dropped; the same frame with the checksum offloaded: taken. */
	n = guest_frame(f, GPORT, 1, 0, MMDS_TCP_SYN, 100, 0, NULL, 0);
	f[n - 1] ^= 0x55; /* the urgent pointer: covered only by the checksum */
	mmds_stack_receive(stk, f, n, false, now);
	assert_false(recv_seg(&s));
	assert_int_equal(g_metrics.mmds.rx_accepted_err, 1);
	mmds_stack_receive(stk, f, n, true, now);
	assert_true(recv_seg(&s));
	assert_int_equal(s.t.flags, MMDS_TCP_SYN | MMDS_TCP_ACK);
	/* A fragment, another port, another protocol, truncated and garbage frames. */
	n = guest_frame(f, GPORT + 1, 1, 0, MMDS_TCP_SYN, 100, 0, NULL, 0);
	f[14 + 6] = 0x20; /* MF */
	mmds_stack_receive(stk, f, n, true, now);
	n = guest_frame(f, GPORT + 1, 1, 0, MMDS_TCP_SYN, 100, 0, NULL, 0);
	f[14 + 20 + 3] = 81; /* destination port 81 */
	mmds_stack_receive(stk, f, n, true, now);
	for (size_t cut = 0; cut < n; cut++)
		mmds_stack_receive(stk, f, cut, true, now);
	n = guest_frame(f, GPORT + 1, 1, 0, MMDS_TCP_SYN, 100, 0, NULL, 0);
	f[14 + 9] = 17; /* UDP, with the IP checksum made right again */
	f[14 + 10] = f[14 + 11] = 0;
	{
		uint16_t sum = htons(mmds_csum(f + 14, 20, 0));

		memcpy(f + 14 + 10, &sum, 2);
	}
	mmds_stack_receive(stk, f, n, true, now);
	assert_int_equal(g_metrics.mmds.rx_accepted_unusual, 1);
	assert_false(recv_seg(&s));
	assert_int_equal(mmds_stack_connections(stk), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_csum_rfc1071, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parse_eth_arp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parse_ipv4, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parse_tcp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_is_mmds_frame, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_arp_reply, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_response_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_close_after_and_pipelining, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_segmentation_by_mss_and_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mss_capped_at_frame, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retransmit_timeout_and_dup_ack, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rto_gives_up, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_syn_retransmitted_and_syn_on_established, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rst_from_guest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unexpected_segments_get_rst, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rst_queue_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_table_full_and_eviction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_too_big_resets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_responder_failure_resets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_order_and_duplicates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_frames_dropped, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
