// SPDX-License-Identifier: Apache-2.0
/*
 * Frame parsers and builders for the MMDS stack. See mmds_frame.h.
 */
#include "devices/mmds/mmds_frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>

#define IP_MF	  0x2000U
#define IP_DF	  0x4000U
#define IP_OFFSET 0x1fffU
#define TTL	  64U
#define OPT_EOL	  0U
#define OPT_NOP	  1U

uint16_t mmds_csum(const uint8_t *p, size_t len, uint32_t sum)
{
	uint64_t s = sum;

	for (; len > 1; p += 2, len -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

int mmds_parse_eth(const uint8_t *f, size_t len, struct mmds_eth *e)
{
	struct ethhdr h;

	if (len < sizeof(h))
		return -EINVAL;
	memcpy(&h, f, sizeof(h));
	e->dst = f;
	e->src = f + ETH_ALEN;
	e->type = ntohs(h.h_proto);
	e->payload = f + sizeof(h);
	e->len = len - sizeof(h);
	return 0;
}

int mmds_parse_arp(const uint8_t *p, size_t len, struct mmds_arp *a)
{
	struct arphdr h;
	const uint8_t *addrs = p + sizeof(h);

	if (len < MMDS_ARP_LEN)
		return -EINVAL;
	memcpy(&h, p, sizeof(h));
	if (ntohs(h.ar_hrd) != ARPHRD_ETHER || ntohs(h.ar_pro) != ETH_P_IP ||
	    h.ar_hln != ETH_ALEN || h.ar_pln != 4)
		return -EOPNOTSUPP;
	a->op = ntohs(h.ar_op);
	/* sha(6) spa(4) tha(6) tpa(4) */
	memcpy(a->sha, addrs, ETH_ALEN);
	memcpy(&a->spa, addrs + 6, 4);
	memcpy(&a->tpa, addrs + 16, 4);
	return 0;
}

int mmds_parse_ipv4(const uint8_t *p, size_t len, struct mmds_ipv4 *ip)
{
	struct iphdr h;
	size_t hlen, total;
	uint16_t frag;

	if (len < sizeof(h))
		return -EINVAL;
	memcpy(&h, p, sizeof(h));
	hlen = (size_t)h.ihl * 4;
	total = ntohs(h.tot_len);
	if (h.version != 4 || hlen < sizeof(h) || hlen > len || total < hlen || total > len)
		return -EINVAL;
	if (mmds_csum(p, hlen, 0))
		return -EBADMSG;
	frag = ntohs(h.frag_off);
	if (frag & (IP_MF | IP_OFFSET))
		return -EOPNOTSUPP;
	ip->saddr = h.saddr;
	ip->daddr = h.daddr;
	ip->proto = h.protocol;
	ip->payload = p + hlen;
	ip->len = total - hlen;
	return 0;
}

/* The pseudo-header's sum (RFC 793): addresses, protocol, TCP length. */
static uint32_t tcp_pseudo_sum(uint32_t saddr, uint32_t daddr, size_t len)
{
	uint32_t s = ntohl(saddr), d = ntohl(daddr);

	return (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + IPPROTO_TCP + (uint32_t)len;
}

/* The MSS option's value, 0 when absent or malformed; other options are skipped. */
static uint16_t tcp_parse_mss(const uint8_t *o, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t kind = o[i], olen;

		if (kind == OPT_EOL)
			break;
		if (kind == OPT_NOP) {
			i++;
			continue;
		}
		if (len - i < 2)
			break;
		olen = o[i + 1];
		if (olen < 2 || olen > len - i)
			break;
		if (kind == MMDS_TCP_OPT_MSS && olen == MMDS_TCP_OPT_LEN)
			return (uint16_t)(o[i + 2] << 8 | o[i + 3]);
		i += olen;
	}
	return 0;
}

int mmds_parse_tcp(const struct mmds_ipv4 *ip, bool check_csum, struct mmds_tcp *t)
{
	struct tcphdr h;
	size_t hlen;

	if (ip->len < sizeof(h))
		return -EINVAL;
	memcpy(&h, ip->payload, sizeof(h));
	hlen = (size_t)h.doff * 4;
	if (hlen < sizeof(h) || hlen > ip->len)
		return -EINVAL;
	if (check_csum &&
	    mmds_csum(ip->payload, ip->len, tcp_pseudo_sum(ip->saddr, ip->daddr, ip->len)))
		return -EBADMSG;
	t->sport = ntohs(h.source);
	t->dport = ntohs(h.dest);
	t->seq = ntohl(h.seq);
	t->ack = ntohl(h.ack_seq);
	t->flags = (uint8_t)(h.fin * MMDS_TCP_FIN | h.syn * MMDS_TCP_SYN | h.rst * MMDS_TCP_RST |
			     h.psh * MMDS_TCP_PSH | h.ack * MMDS_TCP_ACK);
	t->window = ntohs(h.window);
	t->mss = tcp_parse_mss(ip->payload + sizeof(h), hlen - sizeof(h));
	t->data = ip->payload + hlen;
	t->data_len = ip->len - hlen;
	return 0;
}

size_t mmds_build_eth(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	struct ethhdr h;

	memcpy(h.h_dest, dst, ETH_ALEN);
	memcpy(h.h_source, src, ETH_ALEN);
	h.h_proto = htons(type);
	memcpy(buf, &h, sizeof(h));
	return sizeof(h);
}

size_t mmds_build_arp_reply(uint8_t *buf, const uint8_t sha[6], uint32_t spa, const uint8_t tha[6],
			    uint32_t tpa)
{
	struct arphdr h = {
	    .ar_hrd = htons(ARPHRD_ETHER),
	    .ar_pro = htons(ETH_P_IP),
	    .ar_hln = ETH_ALEN,
	    .ar_pln = 4,
	    .ar_op = htons(MMDS_ARP_REPLY),
	};
	uint8_t *a = buf + sizeof(h);

	memcpy(buf, &h, sizeof(h));
	memcpy(a, sha, ETH_ALEN);
	memcpy(a + 6, &spa, 4);
	memcpy(a + 10, tha, ETH_ALEN);
	memcpy(a + 16, &tpa, 4);
	return MMDS_ARP_LEN;
}

static size_t tcp_build(uint8_t *buf, uint32_t saddr, uint32_t daddr, const struct mmds_tcp *t)
{
	size_t hlen = MMDS_TCP_HLEN + (t->mss ? MMDS_TCP_OPT_LEN : 0);
	size_t len = hlen + t->data_len;
	struct tcphdr h = {
	    .source = htons(t->sport),
	    .dest = htons(t->dport),
	    .seq = htonl(t->seq),
	    .ack_seq = htonl(t->ack),
	    .doff = (uint16_t)(hlen / 4),
	    .fin = !!(t->flags & MMDS_TCP_FIN),
	    .syn = !!(t->flags & MMDS_TCP_SYN),
	    .rst = !!(t->flags & MMDS_TCP_RST),
	    .psh = !!(t->flags & MMDS_TCP_PSH),
	    .ack = !!(t->flags & MMDS_TCP_ACK),
	    .window = htons(t->window),
	};
	uint16_t sum;

	memcpy(buf, &h, sizeof(h));
	if (t->mss) {
		uint8_t opt[MMDS_TCP_OPT_LEN] = {MMDS_TCP_OPT_MSS, MMDS_TCP_OPT_LEN,
						 (uint8_t)(t->mss >> 8), (uint8_t)t->mss};

		memcpy(buf + sizeof(h), opt, sizeof(opt));
	}
	if (t->data_len)
		memcpy(buf + hlen, t->data, t->data_len);
	sum = htons(mmds_csum(buf, len, tcp_pseudo_sum(saddr, daddr, len)));
	memcpy(buf + offsetof(struct tcphdr, check), &sum, sizeof(sum));
	return len;
}

size_t mmds_build_ipv4_tcp(uint8_t *buf, uint32_t saddr, uint32_t daddr, uint16_t ip_id,
			   const struct mmds_tcp *t)
{
	size_t tcp_len = tcp_build(buf + MMDS_IP_HLEN, saddr, daddr, t);
	struct iphdr h = {
	    .version = 4,
	    .ihl = MMDS_IP_HLEN / 4,
	    .tot_len = htons((uint16_t)(MMDS_IP_HLEN + tcp_len)),
	    .id = htons(ip_id),
	    .frag_off = htons(IP_DF),
	    .ttl = TTL,
	    .protocol = IPPROTO_TCP,
	    .saddr = saddr,
	    .daddr = daddr,
	};

	memcpy(buf, &h, sizeof(h));
	h.check = htons(mmds_csum(buf, sizeof(h), 0));
	memcpy(buf, &h, sizeof(h));
	return MMDS_IP_HLEN + tcp_len;
}
