// SPDX-License-Identifier: Apache-2.0
/*
 * The host end of the wire for test_net.sh: an AF_PACKET socket on a TAP
 * interface (run inside the test's network namespace). It waits for the
 * frame the guest sends (ethertype 0x88b5, payload starting with EXPECT),
 * prints it whole in hex, and answers the sender with one frame of ours.
 *
 *   net_peer IFNAME EXPECT REPLY TIMEOUT_S
 *   net_peer --hold IFNAME      (keep the tap attached, as another VMM would, until killed)
 *
 * Output (stdout, one line each):
 *   peer: ready
 *   peer: other <hex of any other incoming frame before it>
 *   peer: frame <hex of the whole Ethernet frame>
 *   peer: sent <n> bytes
 * Exit 0 on success, 1 on timeout or error (with "peer: ..." saying why).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/tap.h"

#define ETHERTYPE 0x88b5
#define ETH_HLEN_ 14

/* The MAC the host side answers from. */
static const unsigned char host_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0xfe};

static int open_socket(const char *ifname, int *ifindex)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	int s;

	*ifindex = (int)if_nametoindex(ifname);
	if (!*ifindex) {
		printf("peer: no interface %s: %s\n", ifname, strerror(errno));
		return -1;
	}
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (s < 0) {
		printf("peer: socket: %s\n", strerror(errno));
		return -1;
	}
	sll.sll_ifindex = *ifindex;
	if (bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		printf("peer: bind: %s\n", strerror(errno));
		close(s);
		return -1;
	}
	return s;
}

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static void print_hex(const unsigned char *buf, ssize_t n)
{
	for (ssize_t i = 0; i < n; i++)
		printf("%02x", buf[i]);
	printf("\n");
}

/* The guest's frame: incoming, our ethertype, payload starting with @expect. Its length or -1. */
static ssize_t wait_frame(int s, const char *expect, unsigned char *buf, size_t cap,
			  const struct timespec *deadline)
{
	size_t elen = strlen(expect);
	long left;

	while ((left = ms_left(deadline)) > 0) {
		struct pollfd p = {.fd = s, .events = POLLIN};
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = recvfrom(s, buf, cap, 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return -1;
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		if ((size_t)n >= ETH_HLEN_ + elen && buf[12] == (ETHERTYPE >> 8) &&
		    buf[13] == (ETHERTYPE & 0xff) && !memcmp(buf + ETH_HLEN_, expect, elen))
			return n;
		/* Anything else the guest sent first (test_mmds_net.sh checks what leaked). */
		printf("peer: other ");
		print_hex(buf, n);
	}
	return -1;
}

static int send_reply(int s, int ifindex, const unsigned char *to, const char *text)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6};
	unsigned char frame[ETH_HLEN_ + 256];
	size_t tlen = strlen(text);
	ssize_t n;

	if (tlen > sizeof(frame) - ETH_HLEN_)
		return -1;
	memcpy(frame, to, 6);
	memcpy(frame + 6, host_mac, 6);
	frame[12] = ETHERTYPE >> 8;
	frame[13] = ETHERTYPE & 0xff;
	memcpy(frame + ETH_HLEN_, text, tlen);
	memcpy(sll.sll_addr, to, 6);
	n = sendto(s, frame, ETH_HLEN_ + tlen, 0, (struct sockaddr *)&sll, sizeof(sll));
	if (n != (ssize_t)(ETH_HLEN_ + tlen)) {
		printf("peer: send: %s\n", n < 0 ? strerror(errno) : "short");
		return -1;
	}
	printf("peer: sent %zd bytes\n", n);
	return 0;
}

/* Attach to the tap the way ember does and keep it busy. */
static int hold(const char *ifname)
{
	char err[512];
	int fd = net_tap_open(ifname, err, sizeof(err));

	if (fd < 0) {
		printf("peer: %s\n", err);
		return 1;
	}
	printf("peer: holding %s\n", ifname);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	unsigned char buf[65536];
	struct timespec deadline;
	int s, ifindex;
	ssize_t n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "--hold"))
		return hold(argv[2]);
	if (argc != 5) {
		fprintf(stderr, "usage: %s IFNAME EXPECT REPLY TIMEOUT_S\n", argv[0]);
		return 2;
	}
	s = open_socket(argv[1], &ifindex);
	if (s < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += atoi(argv[4]);
	printf("peer: ready\n");

	n = wait_frame(s, argv[2], buf, sizeof(buf), &deadline);
	if (n < 0) {
		printf("peer: timeout\n");
		return 1;
	}
	printf("peer: frame ");
	print_hex(buf, n);
	if (send_reply(s, ifindex, buf + 6, argv[3]))
		return 1;
	close(s);
	return 0;
}
