// SPDX-License-Identifier: Apache-2.0
/*
 * The mmds scenario: ARP, TCP and HTTP to MMDS from raw frames. See mmds.h.
 */
#include "mmds.h"
#include "cmdline.h"
#include "io.h"
#include "net.h"
#include "print.h"
#include "reset.h"
#include "string.h"
#include "virtio_scenarios.h"

#define WAIT_S	     10
#define GUEST_PORT   43210
#define GUEST_SEQ    1000
#define IP_HLEN	     20
#define TCP_HLEN     20
#define TCP_FIN	     0x01
#define TCP_SYN	     0x02
#define TCP_PSH	     0x08
#define TCP_ACK	     0x10
#define DEFAULT_PATH "/latest/meta-data/ami-id"
#define REQ_TAIL     " HTTP/1.1\r\nAccept: */*\r\n\r\n"

static struct net net;
static uint8_t frame[NET_RX_BUF_SIZE];
static uint8_t mmds_mac[NET_MAC_LEN];
static const uint8_t guest_ip[4] = {10, 0, 0, 2};
static const uint8_t mmds_ip[4] = {169, 254, 169, 254};
static const uint8_t other_ip[4] = {169, 254, 169, 253};

struct seg {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t mss;
	const uint8_t *data;
	uint32_t len;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint16_t csum(const uint8_t *p, uint32_t len, uint32_t sum)
{
	for (; len > 1; p += 2, len -= 2)
		sum += get16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void print_mac(const uint8_t *mac)
{
	for (int i = 0; i < NET_MAC_LEN; i++) {
		if (i)
			print_str(":");
		print_hex_bytes(mac + i, 1);
	}
}

static uint32_t eth_header(const uint8_t *dst, uint16_t type)
{
	memcpy(frame, dst, NET_MAC_LEN);
	memcpy(frame + NET_MAC_LEN, net.mac, NET_MAC_LEN);
	put16(frame + 12, type);
	return NET_ETH_HLEN;
}

static bool send_arp_request(const uint8_t *target)
{
	static const uint8_t bcast[NET_MAC_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint32_t n = eth_header(bcast, 0x0806);
	uint8_t *a = frame + n;

	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);
	memcpy(a + 8, net.mac, NET_MAC_LEN);
	memcpy(a + 14, guest_ip, 4);
	memset(a + 18, 0, NET_MAC_LEN);
	memcpy(a + 24, target, 4);
	return net_send(&net, frame, n + 28);
}

static bool send_tcp(uint32_t seq, uint32_t ack, uint8_t flags, const char *data, uint32_t len)
{
	uint32_t n = eth_header(mmds_mac, 0x0800), opt = (flags & TCP_SYN) ? 4 : 0;
	uint32_t tcp_len = TCP_HLEN + opt + len;
	uint8_t *ip = frame + n, *t = ip + IP_HLEN;
	uint32_t pseudo;

	memset(ip, 0, IP_HLEN + TCP_HLEN + opt);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(IP_HLEN + tcp_len));
	put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, guest_ip, 4);
	memcpy(ip + 16, mmds_ip, 4);
	put16(ip + 10, csum(ip, IP_HLEN, 0));
	put16(t, GUEST_PORT);
	put16(t + 2, 80);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = (uint8_t)((TCP_HLEN + opt) / 4 << 4);
	t[13] = flags;
	put16(t + 14, 65535);
	if (opt) {
		t[20] = 2;
		t[21] = 4;
		put16(t + 22, 1460);
	}
	memcpy(t + TCP_HLEN + opt, data, len);
	pseudo = get16(guest_ip) + get16(guest_ip + 2) + get16(mmds_ip) + get16(mmds_ip + 2) + 6 +
		 tcp_len;
	put16(t + 16, csum(t, tcp_len, pseudo));
	return net_send(&net, frame, n + IP_HLEN + tcp_len);
}

/* The next frame (virtio header stripped) into @len; the rx buffer is posted again. */
static const uint8_t *receive(uint32_t *len)
{
	static uint8_t copy[NET_RX_BUF_SIZE];
	ssize_t got = net_receive(&net, WAIT_S);

	if (got < NET_HDR_LEN + NET_ETH_HLEN)
		return NULL;
	*len = (uint32_t)(got - NET_HDR_LEN);
	memcpy(copy, net.rx_buf + NET_HDR_LEN, *len);
	virtqueue_set_desc(&net.rxq, 0, (uint64_t)net.rx_buf, sizeof(net.rx_buf),
			   VRING_DESC_F_WRITE, 0);
	virtqueue_kick(&net.rxq, 0);
	return copy;
}

static bool receive_arp_reply(void)
{
	uint32_t len;
	const uint8_t *f = receive(&len);

	if (!f || len < NET_ETH_HLEN + 28 || get16(f + 12) != 0x0806 ||
	    get16(f + NET_ETH_HLEN + 6) != 2 || memcmp(f + NET_ETH_HLEN + 14, mmds_ip, 4))
		return false;
	memcpy(mmds_mac, f + NET_ETH_HLEN + 8, NET_MAC_LEN);
	print_str("mmds: arp reply from ");
	print_mac(mmds_mac);
	print_str(" for 169.254.169.254\n");
	return true;
}

/* A TCP segment from MMDS to us, both checksums right. */
static bool receive_tcp(struct seg *s)
{
	uint32_t len, ip_len, hlen;
	const uint8_t *f = receive(&len), *ip, *t;

	if (!f || len < NET_ETH_HLEN + IP_HLEN + TCP_HLEN || get16(f + 12) != 0x0800)
		return false;
	ip = f + NET_ETH_HLEN;
	ip_len = get16(ip + 2);
	if (ip[0] != 0x45 || ip[9] != 6 || ip_len > len - NET_ETH_HLEN || csum(ip, IP_HLEN, 0) ||
	    memcmp(ip + 12, mmds_ip, 4))
		return false;
	t = ip + IP_HLEN;
	hlen = (uint32_t)(t[12] >> 4) * 4;
	if (hlen < TCP_HLEN || hlen > ip_len - IP_HLEN || get16(t + 2) != GUEST_PORT ||
	    csum(t, ip_len - IP_HLEN,
		 get16(mmds_ip) + get16(mmds_ip + 2) + get16(guest_ip) + get16(guest_ip + 2) + 6 +
		     ip_len - IP_HLEN))
		return false;
	s->seq = get32(t + 4);
	s->ack = get32(t + 8);
	s->flags = t[13];
	s->mss = hlen >= 24 && t[20] == 2 && t[21] == 4 ? get16(t + 22) : 0;
	s->data = t + hlen;
	s->len = ip_len - IP_HLEN - hlen;
	return true;
}

static void print_response(const struct seg *s)
{
	uint32_t line = 0, body = 0;

	while (line < s->len && s->data[line] != '\r')
		line++;
	for (uint32_t i = 0; i + 3 < s->len; i++) {
		if (!memcmp(s->data + i, "\r\n\r\n", 4)) {
			body = i + 4;
			break;
		}
	}
	print_str("mmds: http \"");
	print_printable(s->data, line);
	print_str("\" body \"");
	if (body)
		print_printable(s->data + body, s->len - body);
	print_str("\"\n");
}

/*
 * The same request @repeat more times on the connection, each sent with the
 * ACK of the last response (so MMDS answers at once), timed with the TSC.
 * Returns the next sequence number; @s holds the last response.
 */
static uint32_t repeat_get(const char *req, uint32_t n, uint32_t seq, struct seg *s,
			   uint32_t repeat)
{
	uint64_t start = rdtsc();
	uint32_t done = 0;

	while (done < repeat) {
		send_tcp(seq, s->seq + s->len, TCP_ACK | TCP_PSH, req, n);
		seq += n;
		/* Segments without data (a bare ACK) are skipped, up to three. */
		bool got = false;

		for (int i = 0; i < 3 && !got; i++)
			got = receive_tcp(s) && s->len;
		if (!got)
			break;
		done++;
	}
	if (repeat) {
		print_str("mmds: ");
		print_dec(done);
		print_str(" requests, ");
		print_dec(done ? (rdtsc() - start) / done : 0);
		print_str(" TSC cycles per request\n");
	}
	return seq;
}

/* SYN, the GET (then @repeat more), the response, FIN both ways. */
static void http_get(const char *path, size_t path_len, uint32_t repeat)
{
	static char req[512];
	uint32_t seq = GUEST_SEQ, n = 0, fin_seq = 0;
	bool got_fin = false, fin_acked = false;
	struct seg s;

	if (!send_tcp(seq, 0, TCP_SYN, NULL, 0) || !receive_tcp(&s) ||
	    s.flags != (TCP_SYN | TCP_ACK) || s.ack != seq + 1) {
		print_str("mmds: no synack\n");
		return;
	}
	print_str("mmds: synack mss ");
	print_dec(s.mss);
	print_str("\n");
	seq++;
	if (path_len > sizeof(req) - 64)
		path_len = sizeof(req) - 64;
	memcpy(req, "GET ", 4);
	n = 4;
	memcpy(req + n, path, path_len);
	n += (uint32_t)path_len;
	memcpy(req + n, REQ_TAIL, sizeof(REQ_TAIL) - 1);
	n += sizeof(REQ_TAIL) - 1;
	send_tcp(seq, s.seq + 1, TCP_ACK | TCP_PSH, req, n);
	seq += n;
	if (!receive_tcp(&s) || !s.len) {
		print_str("mmds: no response\n");
		return;
	}
	print_response(&s);
	seq = repeat_get(req, n, seq, &s, repeat);
	send_tcp(seq, s.seq + s.len, TCP_ACK | TCP_FIN, NULL, 0);
	/* MMDS's FIN may come before or after its ACK of ours (it closes after an error). */
	for (int i = 0; i < 3 && !(got_fin && fin_acked); i++) {
		if (!receive_tcp(&s))
			break;
		fin_acked |= s.ack == seq + 1;
		if (s.flags & TCP_FIN) {
			got_fin = true;
			fin_seq = s.seq + s.len;
		}
	}
	if (!got_fin || !fin_acked) {
		print_str("mmds: no fin\n");
		return;
	}
	send_tcp(seq + 1, fin_seq + 1, TCP_ACK, NULL, 0);
	print_str("mmds: closed\n");
}

void scenario_mmds(const char *cmdline)
{
	struct virtio_dev *dev = virtio_probe_first(cmdline, VIRTIO_ID_NET, "mmds");
	const char *path = DEFAULT_PATH, *rep;
	size_t path_len = strlen(DEFAULT_PATH), rep_len;
	uint32_t n, repeat = 0;

	if (!dev || !net_open(&net, dev)) {
		if (dev)
			print_str("mmds: init failed\n");
		machine_reset();
	}
	cmdline_get(cmdline, "ember.mmds_path", &path, &path_len);
	if (cmdline_get(cmdline, "ember.mmds_repeat", &rep, &rep_len))
		parse_u32(rep, rep_len, &repeat);
	if (!send_arp_request(mmds_ip) || !receive_arp_reply())
		print_str("mmds: no arp reply\n");
	else
		http_get(path, path_len, repeat);
	/* These two are not MMDS's: the host sees them on the tap, and nothing before them. */
	send_arp_request(other_ip);
	n = eth_header((const uint8_t[NET_MAC_LEN]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0x88b5);
	memcpy(frame + n, "ember-guest-frame", 17);
	net_send(&net, frame, n + 17);
	print_str("mmds: sent tap frames\n");
	machine_reset();
}
