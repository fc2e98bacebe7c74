// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: the MMDS network stack from guest frame to response frames,
 * with the real HTTP responder over a small store (V1 or V2 as the first
 * input byte says, bit 0).
 *
 * The rest of the input is a list of records: one control byte (bit 0: the
 * guest offloaded the checksum; bit 1: give the frame to the stack even when
 * mmds_stack_is_mmds_frame() says it is not MMDS's, so the stack's own
 * parsers see any bytes; bits 2-7: how far the clock moves first, in units
 * of 50 ms, so retransmission, give-up and eviction times are reached), a
 * le16 length, then that many bytes of Ethernet frame. After each record
 * every frame the stack has is taken.
 *
 * Checked, beyond the sanitizers: every frame out is at most 1514 bytes, an
 * Ethernet frame from the MMDS MAC carrying an ARP reply or an IPv4/TCP
 * segment from port 80 whose IPv4 and TCP checksums are right; the stack
 * stops having frames without the clock moving (no endless output); the
 * table never holds more than its limit.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/mmds/mmds.h"
#include "devices/mmds/mmds_frame.h"
#include "devices/mmds/mmds_stack.h"
#include "vmm/base/log.h"

#define FUZZ_STEP_NS	 50000000ULL
#define FUZZ_MAX_OUT	 4096 /* frames per record: far more than any state can owe */
#define FUZZ_MAX_RECORDS 256
#define FUZZ_STORE	 "{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-1\",\"tags\":[\"a\",\"b\"]}}}"
#define FUZZ_INSTANCE_ID "fuzz"

static struct mmds *mmds_for(int v2)
{
	const char *ifaces[] = {"eth0"};
	struct mmds *m = mmds_create(0, NULL);

	if (!m)
		abort();
	if (mmds_configure(m, v2 ? MMDS_V2 : MMDS_V1, htonl(MMDS_DEFAULT_IPV4), false, ifaces, 1,
			   FUZZ_INSTANCE_ID) ||
	    mmds_store_put(m, FUZZ_STORE, strlen(FUZZ_STORE)))
		abort();
	return m;
}

static void check_frame(const uint8_t *f, size_t len)
{
	static const uint8_t mac[6] = MMDS_STACK_MAC;
	struct mmds_ipv4 ip;
	struct mmds_tcp t;
	struct mmds_eth e;
	struct mmds_arp a;

	if (len > MMDS_STACK_MAX_FRAME || mmds_parse_eth(f, len, &e) || memcmp(e.src, mac, 6))
		abort();
	if (e.type == MMDS_ETHERTYPE_ARP) {
		if (mmds_parse_arp(e.payload, e.len, &a) || a.op != MMDS_ARP_REPLY)
			abort();
		return;
	}
	if (e.type != MMDS_ETHERTYPE_IP || mmds_parse_ipv4(e.payload, e.len, &ip) ||
	    ip.proto != IPPROTO_TCP || mmds_parse_tcp(&ip, true, &t) ||
	    t.sport != MMDS_STACK_TCP_PORT)
		abort();
}

static void drain(struct mmds_stack *s, uint64_t now)
{
	static uint8_t out[MMDS_STACK_MAX_FRAME];
	unsigned int n = 0;
	size_t len;

	while ((len = mmds_stack_next_frame(s, out, sizeof(out), now))) {
		check_frame(out, len);
		if (++n > FUZZ_MAX_OUT)
			abort();
	}
	if (mmds_stack_has_frame(s, now))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mmds_stack *s;
	struct mmds *m;
	uint64_t now = 1000000000ULL;
	unsigned int records = 0;
	size_t off = 1;

	if (!size)
		return 0;
	log_set_level(LOG_OFF);
	m = mmds_for(data[0] & 1);
	s = mmds_stack_create(m);
	if (!s)
		abort();
	mmds_stack_set_isn_salt(s, 0); /* the seeds' ACKs: ISS = 1 s / 64 ns = 15625000 */
	while (off + 3 <= size && records++ < FUZZ_MAX_RECORDS) {
		uint8_t ctl = data[off];
		size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;

		off += 3;
		if (len > size - off)
			len = size - off;
		now += (uint64_t)(ctl >> 2) * FUZZ_STEP_NS;
		if (mmds_stack_is_mmds_frame(s, data + off, len) || (ctl & 2))
			mmds_stack_receive(s, data + off, len, ctl & 1, now);
		off += len;
		drain(s, now);
		if (mmds_stack_connections(s) > MMDS_STACK_MAX_CONNECTIONS)
			abort();
	}
	mmds_stack_destroy(s);
	mmds_destroy(m);
	return 0;
}
