/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pure parsers and builders of the frames the MMDS stack speaks: Ethernet
 * II, ARP (Ethernet/IPv4), IPv4 and TCP, on the kernel's header structs.
 * A parser checks every length against the bytes it was given and copies
 * the header out (frames sit at any alignment); the results point into the
 * caller's buffer. Addresses stay in network byte order, other fields are
 * converted to host order. Parsers return 0 or a negative errno:
 *   -EINVAL      too short, a length field past the buffer, a bad version
 *   -EBADMSG     a checksum is wrong
 *   -EOPNOTSUPP  valid but not handled here (IPv4 fragment, ARP not
 *                Ethernet/IPv4)
 */
#ifndef EMBER_MMDS_FRAME_H
#define EMBER_MMDS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MMDS_ETH_HLEN	   14U
#define MMDS_ARP_LEN	   28U /* Ethernet/IPv4 ARP packet */
#define MMDS_IP_HLEN	   20U /* what we send: no options */
#define MMDS_TCP_HLEN	   20U
#define MMDS_TCP_OPT_MSS   2U
#define MMDS_TCP_OPT_LEN   4U /* the MSS option, the only one we send */
#define MMDS_ETHERTYPE_ARP 0x0806U
#define MMDS_ETHERTYPE_IP  0x0800U
#define MMDS_ARP_REQUEST   1U
#define MMDS_ARP_REPLY	   2U

#define MMDS_TCP_FIN 0x01U
#define MMDS_TCP_SYN 0x02U
#define MMDS_TCP_RST 0x04U
#define MMDS_TCP_PSH 0x08U
#define MMDS_TCP_ACK 0x10U

struct mmds_eth {
	const uint8_t *dst, *src;
	uint16_t type;
	const uint8_t *payload;
	size_t len;
};

struct mmds_arp {
	uint16_t op;
	uint8_t sha[6];
	uint32_t spa, tpa;
};

struct mmds_ipv4 {
	uint32_t saddr, daddr;
	uint8_t proto;
	const uint8_t *payload; /* past the header and its options */
	size_t len;		/* total length minus the header: Ethernet padding is not payload */
};

struct mmds_tcp {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags; /* FIN..ACK bits; URG, ECE, CWR ignored */
	uint16_t window;
	uint16_t mss; /* 0: no (valid) MSS option */
	const uint8_t *data;
	size_t data_len;
};

int mmds_parse_eth(const uint8_t *f, size_t len, struct mmds_eth *e);
/* An Ethernet/IPv4 ARP packet (the payload of an Ethernet frame). */
int mmds_parse_arp(const uint8_t *p, size_t len, struct mmds_arp *a);
/* An IPv4 packet: header checksum checked, fragments refused (-EOPNOTSUPP). */
int mmds_parse_ipv4(const uint8_t *p, size_t len, struct mmds_ipv4 *ip);
/* The TCP segment in @ip; the checksum (with the pseudo-header) checked when @check_csum. */
int mmds_parse_tcp(const struct mmds_ipv4 *ip, bool check_csum, struct mmds_tcp *t);

/* The Internet checksum of @len bytes, starting from the partial sum @sum. */
uint16_t mmds_csum(const uint8_t *p, size_t len, uint32_t sum);

/* Builders: write into @buf (callers size it), return the length written. */
size_t mmds_build_eth(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], uint16_t type);
size_t mmds_build_arp_reply(uint8_t *buf, const uint8_t sha[6], uint32_t spa, const uint8_t tha[6],
			    uint32_t tpa);
/*
 * An IPv4 header and a TCP segment after it, both checksums computed: @t's
 * ports, seq, ack, flags, window, mss (0: no option) and data.
 */
size_t mmds_build_ipv4_tcp(uint8_t *buf, uint32_t saddr, uint32_t daddr, uint16_t ip_id,
			   const struct mmds_tcp *t);

#endif
