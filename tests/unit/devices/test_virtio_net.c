// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net end to end on a real TAP interface in a fresh network namespace:
 * rings in real guest memory driven through the MMIO registers and the VMM
 * event loop, and the host side of the wire seen through an AF_PACKET socket
 * bound to the tap. Frames are compared byte by byte in both directions.
 *
 * Needs root and /dev/net/tun (every test is skipped otherwise). The process
 * moves into its own network namespace with IPv6 off, so the kernel puts no
 * traffic of its own on the tap.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/base/event_loop.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "vmm/base/metrics.h"
#include "devices/virtio/net.h"
#include "devices/virtio/tap.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtq_driver.h"
#include "vmm/base/vmstate.h"

#define RAM_SIZE  (4 * MIB)
#define BASE	  LAYOUT_VIRTIO_START
#define GSI	  5
#define RX_RING	  0x10000ULL
#define TX_RING	  0x20000ULL
#define TABLE	  0x30000ULL
#define RX_BUF	  0x100000ULL /* rx buffers, RX_STRIDE apart */
#define RX_STRIDE 0x20000ULL
#define TX_BUF	  0x300000ULL
#define QSIZE	  16
#define ETHERTYPE 0x88b5 /* IEEE local experimental: nothing else uses it here */
#define HDR	  NET_HDR_LEN
#define WAIT_MS	  2000

#define F_NEXT	   VRING_DESC_F_NEXT
#define F_WRITE	   VRING_DESC_F_WRITE
#define F_INDIRECT VRING_DESC_F_INDIRECT

static const uint8_t guest_mac[6] = {0x02, 0x00, 0x00, 0xee, 0x00, 0x01};
static const uint8_t host_mac[6] = {0x02, 0x00, 0x00, 0xee, 0x00, 0x02};

static bool have_tap; /* root, /dev/net/tun and a private netns */
static unsigned int tap_seq;

/* A test rate limiter: says no while @deny, records what it was asked. */
struct fake_limiter {
	bool deny;
	unsigned int calls;
	uint64_t bytes, ops;
};

static bool fake_may_consume(void *ctx, uint64_t bytes, uint64_t ops)
{
	struct fake_limiter *l = ctx;

	l->calls++;
	l->bytes = bytes;
	l->ops = ops;
	return !l->deny;
}

struct fx {
	struct guest_mem mem;
	struct event_loop loop;
	struct net_dev *net;
	struct virtio_mmio_dev *dev;
	struct virtq_driver rxq, txq;
	char ifname[IFNAMSIZ];
	int ifindex;
	int pkt; /* AF_PACKET socket on the tap interface: the host's side of the wire */
	uint16_t rx_next_desc;
};

/* ---- host side ---------------------------------------------------------------- */

static int if_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret;

	if (s < 0)
		return -errno;
	ret = ioctl(s, req, ifr) < 0 ? -errno : 0;
	close(s);
	return ret;
}

static void if_up(const char *name)
{
	struct ifreq ifr = {0};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(if_ioctl(SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(if_ioctl(SIOCSIFFLAGS, &ifr), 0);
}

static void if_set_mtu(const char *name, int mtu)
{
	struct ifreq ifr = {0};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_mtu = mtu;
	assert_int_equal(if_ioctl(SIOCSIFMTU, &ifr), 0);
}

/* ETHTOOL_GTSO: is TCP segmentation offload on for the interface? */
static int if_tso(const char *name)
{
	struct ethtool_value ev = {.cmd = ETHTOOL_GTSO};
	struct ifreq ifr = {0};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&ev;
	assert_int_equal(if_ioctl(SIOCETHTOOL, &ifr), 0);
	return (int)ev.data;
}

static int packet_socket(int ifindex)
{
	struct sockaddr_ll sll = {
	    .sll_family = AF_PACKET,
	    .sll_protocol = htons(ETH_P_ALL),
	    .sll_ifindex = ifindex,
	};
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

/* Put a frame on the wire towards the guest: the kernel sends it out of the tap. */
static void host_send(struct fx *f, const uint8_t *frame, size_t len)
{
	struct sockaddr_ll sll = {
	    .sll_family = AF_PACKET,
	    .sll_ifindex = f->ifindex,
	    .sll_halen = 6,
	};

	memcpy(sll.sll_addr, frame, 6);
	assert_int_equal(sendto(f->pkt, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)),
			 (ssize_t)len);
}

/*
 * The next frame of our ethertype the tap handed to the kernel (what the guest
 * sent), within @ms. Returns its length or -1.
 */
static ssize_t host_recv(struct fx *f, uint8_t *buf, size_t cap, int ms)
{
	struct pollfd p = {.fd = f->pkt, .events = POLLIN};

	while (poll(&p, 1, ms) == 1) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(f->pkt, buf, cap, 0, (struct sockaddr *)&from, &fl);

		if (n < 0)
			return -1;
		if (from.sll_pkttype == PACKET_OUTGOING || n < 14)
			continue;
		if (buf[12] == (ETHERTYPE >> 8) && buf[13] == (ETHERTYPE & 0xff))
			return n;
	}
	return -1;
}

/* dst, src, our ethertype, then @payload_len bytes of a pattern seeded by @salt. */
static size_t make_frame(uint8_t *buf, const uint8_t *dst, const uint8_t *src, size_t payload_len,
			 uint8_t salt)
{
	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	buf[12] = ETHERTYPE >> 8;
	buf[13] = ETHERTYPE & 0xff;
	for (size_t i = 0; i < payload_len; i++)
		buf[14 + i] = (uint8_t)(i * 13 + salt);
	return 14 + payload_len;
}

/* ---- fixture -------------------------------------------------------------------- */

static int fx_create(struct fx *f, bool with_mac, bool has_mtu, uint16_t mtu)
{
	struct net_config cfg = {
	    .iface_id = "eth0",
	    .host_dev_name = f->ifname,
	    .has_guest_mac = with_mac,
	    .has_mtu = has_mtu,
	    .mtu = mtu,
	};
	char err[256];

	memcpy(cfg.guest_mac, guest_mac, 6);
	snprintf(f->ifname, sizeof(f->ifname), "embt%u", tap_seq++);
	if (net_create(&f->net, &cfg, &f->mem, BASE, GSI, err, sizeof(err))) {
		fprintf(stderr, "net_create: %s\n", err);
		return -1;
	}
	f->dev = net_mmio(f->net);
	if (virtio_mmio_attach(f->dev, &f->loop))
		return -1;
	f->ifindex = (int)if_nametoindex(f->ifname);
	if (!f->ifindex)
		return -1;
	if_up(f->ifname);
	f->pkt = packet_socket(f->ifindex);
	return 0;
}

static int setup_common(void **state, bool has_mtu, uint16_t mtu)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.pkt = -1;
	*state = &f;
	if (!have_tap)
		return 0;
	metrics_reset();
	if (guest_mem_create(&f.mem, RAM_SIZE) || event_loop_init(&f.loop))
		return -1;
	if (virtq_driver_init(&f.rxq, &f.mem, RX_RING, QSIZE) ||
	    virtq_driver_init(&f.txq, &f.mem, TX_RING, QSIZE))
		return -1;
	return fx_create(&f, true, has_mtu, mtu);
}

static int setup(void **state)
{
	return setup_common(state, false, 0);
}

static int setup_mtu(void **state)
{
	return setup_common(state, true, 9000);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (!have_tap)
		return 0;
	if (f->pkt >= 0)
		close(f->pkt);
	if (f->dev)
		virtio_mmio_detach(f->dev);
	net_destroy(f->net);
	event_loop_destroy(&f->loop);
	guest_mem_destroy(&f->mem);
	return 0;
}

#define NEED_TAP()                                                                                 \
	do {                                                                                       \
		if (!have_tap)                                                                     \
			skip();                                                                    \
	} while (0)

/* ---- driver side ---------------------------------------------------------------- */

static uint64_t features_of(struct fx *f)
{
	uint64_t lo, hi;

	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	lo = virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_DEVICE_FEATURES);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	hi = virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_DEVICE_FEATURES);
	return lo | hi << 32;
}

static void run_loop(struct fx *f, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (event_loop_run_once(&f->loop, 10) == 0 && i > 2)
			break;
	}
}

/* Negotiate @features (VERSION_1 added), set up both queues, DRIVER_OK. */
static void bring_up(struct fx *f, uint64_t features)
{
	features |= VIRTIO_BIT(VIRTIO_F_VERSION_1);
	assert_true(virtio_mmio_driver_negotiate(f->dev, features) & VIRTIO_CONFIG_S_FEATURES_OK);
	assert_int_equal(virtio_mmio_driver_setup_queue(f->dev, NET_RX_QUEUE, &f->rxq), 1);
	assert_int_equal(virtio_mmio_driver_setup_queue(f->dev, NET_TX_QUEUE, &f->txq), 1);
	assert_true(virtio_mmio_driver_ok(f->dev) & VIRTIO_CONFIG_S_DRIVER_OK);
	run_loop(f, 50);
}

static void notify(struct fx *f, unsigned int q)
{
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static uint8_t *gptr(struct fx *f, uint64_t gpa, uint64_t len)
{
	uint8_t *p = guest_mem_translate(&f->mem, gpa, len);

	assert_non_null(p);
	return p;
}

/* One device-writable rx buffer of @len bytes, made available (no notify). */
static uint16_t post_rx(struct fx *f, uint64_t gpa, uint32_t len)
{
	uint16_t d = f->rx_next_desc++ % QSIZE;

	memset(gptr(f, gpa, len), 0xcc, len);
	virtq_driver_set_desc(&f->rxq, d, gpa, len, F_WRITE, 0);
	virtq_driver_publish(&f->rxq, d);
	return d;
}

/* Run the loop until the rx used ring holds @n more elements than @before. */
static void wait_used(struct fx *f, struct virtq_driver *q, uint16_t target)
{
	for (int i = 0; i < WAIT_MS / 10 && virtq_driver_used_idx(q) != target; i++)
		event_loop_run_once(&f->loop, 10);
	assert_int_equal(virtq_driver_used_idx(q), target);
}

/* Header (12 zero bytes) then @frame, split over @nseg descriptors from index 0. */
static void put_tx(struct fx *f, const uint8_t *frame, size_t len, unsigned int nseg)
{
	uint32_t total = (uint32_t)(HDR + len), done = 0;

	memset(gptr(f, TX_BUF, HDR), 0, HDR);
	memcpy(gptr(f, TX_BUF + HDR, len), frame, len);
	for (unsigned int i = 0; i < nseg; i++) {
		uint32_t part = i + 1 < nseg ? total / nseg : total - done;

		virtq_driver_set_desc(&f->txq, (uint16_t)i, TX_BUF + done, part,
				      i + 1 < nseg ? F_NEXT : 0, (uint16_t)(i + 1));
		done += part;
	}
}

static void send_tx(struct fx *f, uint16_t head)
{
	uint16_t target = virtq_driver_used_idx(&f->txq) + 1;
	uint32_t id, len;

	virtq_driver_publish(&f->txq, head);
	notify(f, NET_TX_QUEUE);
	wait_used(f, &f->txq, target);
	assert_int_equal(virtq_driver_get_used(&f->txq, &id, &len), 1);
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
}

static void expect_used(struct virtq_driver *q, uint32_t want_id, uint32_t want_len)
{
	uint32_t id, len;

	assert_int_equal(virtq_driver_get_used(q, &id, &len), 1);
	assert_int_equal(id, want_id);
	assert_int_equal(len, want_len);
}

/* The rx buffer at @gpa holds a header with @num_buffers and then @frame. */
static void expect_rx(struct fx *f, uint64_t gpa, const uint8_t *frame, size_t len,
		      uint16_t num_buffers)
{
	struct virtio_net_hdr_v1 h;

	memcpy(&h, gptr(f, gpa, HDR), HDR);
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	assert_int_equal(h.gso_size, 0);
	assert_int_equal(h.num_buffers, num_buffers);
	assert_memory_equal(gptr(f, gpa + HDR, len), frame, len);
}

/* ---- config and features --------------------------------------------------------- */

static void test_features_and_config(void **state)
{
	struct fx *f = *state;
	uint64_t feat;
	uint8_t cfg[12];

	NEED_TAP();
	feat = features_of(f);
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	assert_int_equal(
	    feat, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX) |
		      VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
		      VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
		      VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO) |
		      VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |
		      VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |
		      VIRTIO_BIT(VIRTIO_NET_F_MAC));
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_QUEUE_NUM_MAX),
			 NET_QUEUE_SIZE);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);

	/* mac, status 0, max_virtqueue_pairs 0, mtu 0; read in odd pieces. */
	virtio_mmio_bus_ops.read(f->dev, VIRTIO_MMIO_CONFIG, cfg, 5);
	virtio_mmio_bus_ops.read(f->dev, VIRTIO_MMIO_CONFIG + 5, cfg + 5, 7);
	assert_memory_equal(cfg, guest_mac, 6);
	assert_memory_equal(cfg + 6, "\0\0\0\0\0\0", 6);
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_CONFIG + 12), 0);
	assert_int_equal(g_metrics.virtio.config_out_of_range, 1);

	/* The guest cannot change the MAC (no CTRL_MAC_ADDR). */
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_STATUS,
				 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	virtio_mmio_bus_ops.write(f->dev, VIRTIO_MMIO_CONFIG, (const uint8_t *)"\1\2\3\4", 4);
	virtio_mmio_bus_ops.read(f->dev, VIRTIO_MMIO_CONFIG, cfg, 6);
	assert_memory_equal(cfg, guest_mac, 6);
	assert_int_equal(g_metrics.net.cfg_fails, 1);
}

static void test_mtu_offered(void **state)
{
	struct fx *f = *state;
	uint8_t mtu[2];

	NEED_TAP();
	assert_true(features_of(f) & VIRTIO_BIT(VIRTIO_NET_F_MTU));
	virtio_mmio_bus_ops.read(f->dev, VIRTIO_MMIO_CONFIG + 10, mtu, 2);
	assert_int_equal(mtu[0] | mtu[1] << 8, 9000);
}

static void test_generated_mac(void **state)
{
	struct fx *f = *state;
	struct net_config cfg = {.iface_id = "a", .host_dev_name = "embmac0"};
	struct net_dev *a, *b;
	uint8_t ma[6], mb[6], cfg_mac[6];
	char err[256];

	NEED_TAP();
	assert_int_equal(
	    net_create(&a, &cfg, &f->mem, LAYOUT_VIRTIO_START + 3 * 0x1000, 8, err, sizeof(err)),
	    0);
	cfg.host_dev_name = "embmac1";
	assert_int_equal(net_create(&b, &cfg, &f->mem, LAYOUT_VIRTIO_START + 0x104 * 0x1000, 9, err,
				    sizeof(err)),
			 0);
	net_guest_mac(a, ma);
	net_guest_mac(b, mb);
	/* Locally administered, unicast, slot index in the last two bytes. */
	assert_int_equal(ma[0], 0x06);
	assert_int_equal(mb[0], 0x06);
	assert_int_equal(ma[4], 0x00);
	assert_int_equal(ma[5], 0x03);
	assert_int_equal(mb[4], 0x01);
	assert_int_equal(mb[5], 0x04);
	assert_memory_not_equal(ma, mb, 6);
	/* The guest reads the same MAC, and MAC is offered. */
	virtio_mmio_bus_ops.read(net_mmio(a), VIRTIO_MMIO_CONFIG, cfg_mac, 6);
	assert_memory_equal(cfg_mac, ma, 6);
	net_destroy(a);
	net_destroy(b);
}

/* ---- tx --------------------------------------------------------------------------- */

static void test_tx_frame_reaches_tap(void **state)
{
	struct fx *f = *state;
	uint8_t frame[1514], got[2048];
	size_t len = make_frame(frame, host_mac, guest_mac, 1500, 1);
	eventfd_t irqs;

	NEED_TAP();
	bring_up(f, 0);
	eventfd_read(virtio_mmio_irq_fd(f->dev), &irqs); /* clear */
	/* Header and frame across three descriptors, cut at odd places. */
	put_tx(f, frame, len, 3);
	send_tx(f, 0);
	assert_int_equal(host_recv(f, got, sizeof(got), WAIT_MS), (ssize_t)len);
	assert_memory_equal(got, frame, len);
	assert_int_equal(g_metrics.net.tx_packets_count, 1);
	assert_int_equal(g_metrics.net.tx_bytes_count, HDR + len);
	assert_int_equal(g_metrics.net.tx_spoofed_mac_count, 0);
	/* The guest was interrupted for the used buffer. */
	assert_int_equal(eventfd_read(virtio_mmio_irq_fd(f->dev), &irqs), 0);
	assert_true(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_INTERRUPT_STATUS) & 1);
}

static void test_tx_indirect_and_spoofed_source(void **state)
{
	struct fx *f = *state;
	uint8_t frame[200], got[2048];
	size_t len = make_frame(frame, host_mac, host_mac, 186, 2); /* not the guest's MAC */

	NEED_TAP();
	bring_up(f, VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC));
	memset(gptr(f, TX_BUF, HDR), 0, HDR);
	memcpy(gptr(f, TX_BUF + HDR, len), frame, len);
	virtq_driver_write_desc(&f->mem, TABLE, 0, TX_BUF, HDR, F_NEXT, 1);
	virtq_driver_write_desc(&f->mem, TABLE, 1, TX_BUF + HDR, 7, F_NEXT, 2);
	virtq_driver_write_desc(&f->mem, TABLE, 2, TX_BUF + HDR + 7, (uint32_t)len - 7, 0, 0);
	virtq_driver_set_desc(&f->txq, 4, TABLE, 48, F_INDIRECT, 0);
	send_tx(f, 4);
	assert_int_equal(host_recv(f, got, sizeof(got), WAIT_MS), (ssize_t)len);
	assert_memory_equal(got, frame, len);
	/* Counted, not dropped: Firecracker's behaviour. */
	assert_int_equal(g_metrics.net.tx_spoofed_mac_count, 1);
}

static void test_tx_malformed_chains(void **state)
{
	struct fx *f = *state;
	uint8_t frame[100], got[2048];
	size_t len = make_frame(frame, host_mac, guest_mac, 86, 3);

	NEED_TAP();
	bring_up(f, 0);
	/* A device-writable descriptor in a tx chain. */
	put_tx(f, frame, len, 2);
	virtq_driver_set_desc(&f->txq, 1, TX_BUF + 50, (uint32_t)(HDR + len - 50), F_WRITE, 0);
	send_tx(f, 0);
	assert_int_equal(g_metrics.net.tx_fails, 1);
	/* Shorter than the virtio-net header. */
	virtq_driver_set_desc(&f->txq, 0, TX_BUF, 8, 0, 0);
	send_tx(f, 0);
	/* Larger than 65562 bytes. */
	virtq_driver_set_desc(&f->txq, 0, TX_BUF, 40000, F_NEXT, 1);
	virtq_driver_set_desc(&f->txq, 1, TX_BUF + 40000, 40000, 0, 0);
	send_tx(f, 0);
	assert_int_equal(g_metrics.net.tx_malformed_frames, 2);
	/* Outside guest RAM: the chain walker refuses it. */
	virtq_driver_set_desc(&f->txq, 0, RAM_SIZE - 8, 64, 0, 0);
	send_tx(f, 0);
	assert_int_equal(g_metrics.virtio.chain_errors, 1);
	assert_int_equal(host_recv(f, got, sizeof(got), 100), -1);
	assert_int_equal(g_metrics.net.tx_packets_count, 0);

	/* The device still sends a well-formed frame. */
	put_tx(f, frame, len, 1);
	send_tx(f, 0);
	assert_int_equal(host_recv(f, got, sizeof(got), WAIT_MS), (ssize_t)len);
	assert_memory_equal(got, frame, len);
	assert_false(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_STATUS) &
		     VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_tx_limiter_blocks_then_resumes(void **state)
{
	struct fx *f = *state;
	struct fake_limiter lim = {.deny = true};
	struct virtio_limiter hook = {.may_consume = fake_may_consume, .ctx = &lim};
	uint8_t frame[300], got[2048];
	size_t len = make_frame(frame, host_mac, guest_mac, 286, 4);

	NEED_TAP();
	net_set_limiters(f->net, NULL, &hook);
	bring_up(f, 0);
	put_tx(f, frame, len, 1);
	virtq_driver_publish(&f->txq, 0);
	notify(f, NET_TX_QUEUE);
	run_loop(f, 100);
	assert_int_equal(virtq_driver_used_idx(&f->txq), 0);
	assert_int_equal(host_recv(f, got, sizeof(got), 100), -1);
	assert_true(lim.calls >= 1);
	assert_int_equal(lim.bytes, HDR + len);
	assert_int_equal(lim.ops, 1);
	assert_true(g_metrics.net.tx_rate_limiter_throttled >= 1);

	/* Tokens are back: the limiter kicks the tx queue. */
	lim.deny = false;
	virtio_mmio_kick(f->dev, NET_TX_QUEUE);
	assert_int_equal(virtq_driver_used_idx(&f->txq), 1);
	assert_int_equal(host_recv(f, got, sizeof(got), WAIT_MS), (ssize_t)len);
	assert_memory_equal(got, frame, len);
}

/* ---- rx --------------------------------------------------------------------------- */

static void test_rx_frame_lands_in_guest_buffer(void **state)
{
	struct fx *f = *state;
	uint8_t frame[1514];
	size_t len = make_frame(frame, guest_mac, host_mac, 1000, 5);
	eventfd_t irqs;

	NEED_TAP();
	bring_up(f, 0);
	post_rx(f, RX_BUF, 2048);
	notify(f, NET_RX_QUEUE);
	run_loop(f, 50);
	eventfd_read(virtio_mmio_irq_fd(f->dev), &irqs); /* clear */
	host_send(f, frame, len);
	wait_used(f, &f->rxq, 1);
	expect_used(&f->rxq, 0, (uint32_t)(HDR + len));
	expect_rx(f, RX_BUF, frame, len, 1);
	/* Nothing written past the frame. */
	assert_int_equal(*gptr(f, RX_BUF + HDR + len, 1), 0xcc);
	assert_int_equal(g_metrics.net.rx_packets_count, 1);
	assert_int_equal(g_metrics.net.rx_bytes_count, HDR + len);
	assert_int_equal(eventfd_read(virtio_mmio_irq_fd(f->dev), &irqs), 0);
}

static void test_rx_mergeable_buffers(void **state)
{
	struct fx *f = *state;
	uint8_t frame[800], whole[1024];
	/* 12 + 700 bytes = 256 + 256 + 200 */
	size_t len = make_frame(frame, guest_mac, host_mac, 686, 6);

	NEED_TAP();
	bring_up(f, VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	for (int i = 0; i < 4; i++)
		post_rx(f, RX_BUF + (uint64_t)i * RX_STRIDE, 256);
	notify(f, NET_RX_QUEUE);
	run_loop(f, 50);
	host_send(f, frame, len);
	wait_used(f, &f->rxq, 3);
	expect_used(&f->rxq, 0, 256);
	expect_used(&f->rxq, 1, 256);
	expect_used(&f->rxq, 2, 200);
	memcpy(whole, gptr(f, RX_BUF, 256), 256);
	memcpy(whole + 256, gptr(f, RX_BUF + RX_STRIDE, 256), 256);
	memcpy(whole + 512, gptr(f, RX_BUF + 2 * RX_STRIDE, 200), 200);
	assert_int_equal(whole[10] | whole[11] << 8, 3); /* num_buffers */
	assert_memory_equal(whole + HDR, frame, len);
	/* The fourth buffer stays untouched and available. */
	assert_int_equal(*gptr(f, RX_BUF + 3 * RX_STRIDE, 1), 0xcc);
	assert_int_equal(g_metrics.net.rx_packets_count, 1);
}

static void test_rx_mergeable_waits_for_enough_buffers(void **state)
{
	struct fx *f = *state;
	uint8_t frame[800], whole[1024];
	size_t len = make_frame(frame, guest_mac, host_mac, 686, 16);

	NEED_TAP();
	bring_up(f, VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	/* 512 bytes posted for a 712-byte frame: nothing is published, nothing is lost. */
	post_rx(f, RX_BUF, 256);
	post_rx(f, RX_BUF + RX_STRIDE, 256);
	notify(f, NET_RX_QUEUE);
	host_send(f, frame, len);
	run_loop(f, 100);
	assert_int_equal(virtq_driver_used_idx(&f->rxq), 0);
	assert_true(g_metrics.net.no_rx_avail_buffer >= 1);

	/* More buffers: the frame goes into the first three, in ring order. */
	post_rx(f, RX_BUF + 2 * RX_STRIDE, 256);
	post_rx(f, RX_BUF + 3 * RX_STRIDE, 256);
	notify(f, NET_RX_QUEUE);
	wait_used(f, &f->rxq, 3);
	expect_used(&f->rxq, 0, 256);
	expect_used(&f->rxq, 1, 256);
	expect_used(&f->rxq, 2, 200);
	memcpy(whole, gptr(f, RX_BUF, 256), 256);
	memcpy(whole + 256, gptr(f, RX_BUF + RX_STRIDE, 256), 256);
	memcpy(whole + 512, gptr(f, RX_BUF + 2 * RX_STRIDE, 200), 200);
	assert_int_equal(whole[10] | whole[11] << 8, 3);
	assert_memory_equal(whole + HDR, frame, len);
}

static void test_rx_mergeable_frame_larger_than_ring_is_dropped(void **state)
{
	struct fx *f = *state;
	uint8_t big[800], small[40], whole[64];
	size_t lb = make_frame(big, guest_mac, host_mac, 686, 17);
	size_t ls = make_frame(small, guest_mac, host_mac, 20, 18); /* 12 + 34 = 46 bytes */

	NEED_TAP();
	bring_up(f, VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	/* Every ring slot holds a 16-byte buffer: 256 bytes can never take 712. */
	for (uint64_t i = 0; i < QSIZE; i++)
		post_rx(f, RX_BUF + i * 64, 16);
	notify(f, NET_RX_QUEUE);
	host_send(f, big, lb);
	run_loop(f, 100);
	assert_int_equal(virtq_driver_used_idx(&f->rxq), 0);
	assert_int_equal(g_metrics.net.rx_dropped_frames, 1);

	/* The buffers were all given back: the next frame takes the first three. */
	host_send(f, small, ls);
	wait_used(f, &f->rxq, 3);
	expect_used(&f->rxq, 0, 16);
	expect_used(&f->rxq, 1, 16);
	expect_used(&f->rxq, 2, 14);
	memcpy(whole, gptr(f, RX_BUF, 16), 16);
	memcpy(whole + 16, gptr(f, RX_BUF + 64, 16), 16);
	memcpy(whole + 32, gptr(f, RX_BUF + 128, 14), 14);
	assert_int_equal(whole[10] | whole[11] << 8, 3);
	assert_memory_equal(whole + HDR, small, ls);
}

static void test_rx_without_buffers_pauses_then_resumes(void **state)
{
	struct fx *f = *state;
	uint8_t f1[200], f2[300];
	size_t l1 = make_frame(f1, guest_mac, host_mac, 186, 7);
	size_t l2 = make_frame(f2, guest_mac, host_mac, 286, 8);

	NEED_TAP();
	bring_up(f, 0);
	/* Frames arrive while the guest has posted nothing: they wait, none is lost. */
	host_send(f, f1, l1);
	host_send(f, f2, l2);
	run_loop(f, 100);
	assert_int_equal(virtq_driver_used_idx(&f->rxq), 0);
	assert_true(g_metrics.net.no_rx_avail_buffer >= 1);
	assert_int_equal(g_metrics.net.rx_packets_count, 0);
	assert_int_equal(g_metrics.net.rx_dropped_frames, 0);

	/* One buffer: exactly the first frame, then the device waits again. */
	post_rx(f, RX_BUF, 2048);
	notify(f, NET_RX_QUEUE);
	wait_used(f, &f->rxq, 1);
	run_loop(f, 50);
	assert_int_equal(virtq_driver_used_idx(&f->rxq), 1);
	expect_used(&f->rxq, 0, (uint32_t)(HDR + l1));
	expect_rx(f, RX_BUF, f1, l1, 1);

	post_rx(f, RX_BUF + RX_STRIDE, 2048);
	notify(f, NET_RX_QUEUE);
	wait_used(f, &f->rxq, 2);
	expect_used(&f->rxq, 1, (uint32_t)(HDR + l2));
	expect_rx(f, RX_BUF + RX_STRIDE, f2, l2, 1);
	assert_int_equal(g_metrics.net.rx_packets_count, 2);
}

static void test_rx_limiter_blocks_then_resumes(void **state)
{
	struct fx *f = *state;
	struct fake_limiter lim = {.deny = true};
	struct virtio_limiter hook = {.may_consume = fake_may_consume, .ctx = &lim};
	uint8_t frame[100];
	size_t len = make_frame(frame, guest_mac, host_mac, 86, 9);

	NEED_TAP();
	net_set_limiters(f->net, &hook, NULL);
	bring_up(f, 0);
	post_rx(f, RX_BUF, 2048);
	notify(f, NET_RX_QUEUE);
	host_send(f, frame, len);
	run_loop(f, 100);
	assert_int_equal(virtq_driver_used_idx(&f->rxq), 0);
	assert_true(lim.calls >= 1);
	assert_int_equal(lim.bytes, HDR + len);
	assert_int_equal(lim.ops, 1);
	assert_true(g_metrics.net.rx_rate_limiter_throttled >= 1);

	lim.deny = false;
	virtio_mmio_kick(f->dev, NET_RX_QUEUE);
	assert_int_equal(virtq_driver_used_idx(&f->rxq), 1);
	expect_used(&f->rxq, 0, (uint32_t)(HDR + len));
	expect_rx(f, RX_BUF, frame, len, 1);
}

static void test_rx_malformed_chains(void **state)
{
	struct fx *f = *state;
	uint8_t frame[100];
	size_t len = make_frame(frame, guest_mac, host_mac, 86, 10);

	NEED_TAP();
	bring_up(f, 0);
	/* A device-readable rx buffer, then one below the 1526-byte minimum, then a good one. */
	virtq_driver_set_desc(&f->rxq, 0, RX_BUF, 2048, 0, 0);
	virtq_driver_publish(&f->rxq, 0);
	virtq_driver_set_desc(&f->rxq, 1, RX_BUF + RX_STRIDE, 1000, F_WRITE, 0);
	virtq_driver_publish(&f->rxq, 1);
	/* Outside guest RAM. */
	virtq_driver_set_desc(&f->rxq, 2, RAM_SIZE - 100, 2048, F_WRITE, 0);
	virtq_driver_publish(&f->rxq, 2);
	memset(gptr(f, RX_BUF + 2 * RX_STRIDE, 2048), 0xcc, 2048);
	virtq_driver_set_desc(&f->rxq, 3, RX_BUF + 2 * RX_STRIDE, 2048, F_WRITE, 0);
	virtq_driver_publish(&f->rxq, 3);
	memset(gptr(f, RX_BUF, 2048), 0xcc, 2048);
	notify(f, NET_RX_QUEUE);
	host_send(f, frame, len);
	wait_used(f, &f->rxq, 4);
	expect_used(&f->rxq, 0, 0);
	expect_used(&f->rxq, 1, 0);
	expect_used(&f->rxq, 2, 0);
	expect_used(&f->rxq, 3, (uint32_t)(HDR + len));
	expect_rx(f, RX_BUF + 2 * RX_STRIDE, frame, len, 1);
	assert_int_equal(*gptr(f, RX_BUF, 1), 0xcc); /* the readable buffer was not written */
	assert_int_equal(g_metrics.net.rx_fails, 2);
	assert_int_equal(g_metrics.virtio.chain_errors, 1);
	assert_false(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_STATUS) &
		     VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_rx_mergeable_gap_restarts_frame(void **state)
{
	struct fx *f = *state;
	uint8_t frame[800];
	size_t len = make_frame(frame, guest_mac, host_mac, 686, 11);

	NEED_TAP();
	bring_up(f, VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	/* good 256, malformed (readable), good 2048: the frame must not straddle the bad one. */
	post_rx(f, RX_BUF, 256);
	virtq_driver_set_desc(&f->rxq, 1, RX_BUF + RX_STRIDE, 256, 0, 0);
	virtq_driver_publish(&f->rxq, 1);
	f->rx_next_desc = 2;
	post_rx(f, RX_BUF + 2 * RX_STRIDE, 2048);
	notify(f, NET_RX_QUEUE);
	host_send(f, frame, len);
	wait_used(f, &f->rxq, 3);
	expect_used(&f->rxq, 1, 0); /* the malformed one, completed as it was met */
	expect_used(&f->rxq, 0, 0); /* the one before it, emptied */
	expect_used(&f->rxq, 2, (uint32_t)(HDR + len));
	expect_rx(f, RX_BUF + 2 * RX_STRIDE, frame, len, 1);
}

static void test_rx_frame_too_big_is_dropped(void **state)
{
	struct fx *f = *state;
	uint8_t big[2100], small[100];
	size_t lb = make_frame(big, guest_mac, host_mac, 2000, 12);
	size_t ls = make_frame(small, guest_mac, host_mac, 86, 13);

	NEED_TAP();
	if_set_mtu(f->ifname, 9000);
	bring_up(f, 0); /* no MRG_RXBUF, no guest GSO: 1526-byte buffers are enough */
	post_rx(f, RX_BUF, NET_MIN_RX_BUFFER);
	notify(f, NET_RX_QUEUE);
	host_send(f, big, lb);
	run_loop(f, 100);
	assert_int_equal(virtq_driver_used_idx(&f->rxq), 0);
	assert_int_equal(g_metrics.net.rx_dropped_frames, 1);
	/* The buffer is still there for the next frame. */
	host_send(f, small, ls);
	wait_used(f, &f->rxq, 1);
	expect_used(&f->rxq, 0, (uint32_t)(HDR + ls));
	expect_rx(f, RX_BUF, small, ls, 1);
}

static void test_reset_drops_waiting_frame(void **state)
{
	struct fx *f = *state;
	struct fake_limiter lim = {.deny = true};
	struct virtio_limiter hook = {.may_consume = fake_may_consume, .ctx = &lim};
	uint8_t f1[100], f2[120];
	size_t l1 = make_frame(f1, guest_mac, host_mac, 86, 14);
	size_t l2 = make_frame(f2, guest_mac, host_mac, 106, 15);

	NEED_TAP();
	net_set_limiters(f->net, &hook, NULL);
	bring_up(f, 0);
	post_rx(f, RX_BUF, 2048);
	notify(f, NET_RX_QUEUE);
	host_send(f, f1, l1);
	run_loop(f, 100);
	assert_int_equal(virtq_driver_used_idx(&f->rxq), 0);

	/* The driver resets: the throttled frame belongs to the old session. */
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(g_metrics.net.rx_dropped_frames, 1);
	lim.deny = false;
	assert_int_equal(virtq_driver_init(&f->rxq, &f->mem, RX_RING, QSIZE), 0);
	assert_int_equal(virtq_driver_init(&f->txq, &f->mem, TX_RING, QSIZE), 0);
	f->rx_next_desc = 0;
	bring_up(f, 0);
	post_rx(f, RX_BUF, 2048);
	notify(f, NET_RX_QUEUE);
	host_send(f, f2, l2);
	wait_used(f, &f->rxq, 1);
	expect_used(&f->rxq, 0, (uint32_t)(HDR + l2));
	expect_rx(f, RX_BUF, f2, l2, 1);
}

static void test_snapshot_keeps_generated_mac(void **state)
{
	struct fx *f = *state;
	struct net_config cfg = {.iface_id = "s", .host_dev_name = "embsnap"};
	struct vmstate_writer w;
	struct vmstate_reader r = {0};
	struct net_dev *a, *b;
	uint8_t mac_a[6], mac_b[6], cfg_mac[6];
	char err[256];
	int tries = 0;

	NEED_TAP();
	assert_int_equal(net_create(&a, &cfg, &f->mem, BASE + 0x4000, GSI + 4, err, sizeof(err)),
			 0);
	net_guest_mac(a, mac_a);
	vmstate_writer_init_raw(&w);
	assert_int_equal(virtio_mmio_save(net_mmio(a), &w), 0);
	net_destroy(a);

	/* The new process generates another MAC; the snapshot's wins. */
	do {
		assert_int_equal(
		    net_create(&b, &cfg, &f->mem, BASE + 0x4000, GSI + 4, err, sizeof(err)), 0);
		net_guest_mac(b, mac_b);
		if (memcmp(mac_a, mac_b, 6))
			break;
		net_destroy(b); /* 1 in 2^24: the same random bytes again */
	} while (++tries < 4);
	assert_memory_not_equal(mac_a, mac_b, 6);
	r.p = w.buf;
	r.len = w.len;
	assert_int_equal(virtio_mmio_restore(net_mmio(b), &r), 0);
	assert_int_equal(vmstate_reader_end(&r), 0);
	net_guest_mac(b, mac_b);
	assert_memory_equal(mac_a, mac_b, 6);
	virtio_mmio_bus_ops.read(net_mmio(b), VIRTIO_MMIO_CONFIG, cfg_mac, 6);
	assert_memory_equal(cfg_mac, mac_a, 6);
	net_destroy(b);
	vmstate_writer_free(&w);
}

/* ---- offloads, tap errors, lifecycle --------------------------------------------- */

static void test_offloads_follow_negotiation(void **state)
{
	struct fx *f = *state;

	NEED_TAP();
	bring_up(f, VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
			VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6));
	assert_int_equal(if_tso(f->ifname), 1);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_STATUS, 0);
	bring_up(f, 0);
	assert_int_equal(if_tso(f->ifname), 0);
	assert_int_equal(net_tap_offloads_for(VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
					      VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO) |
					      VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4)),
			 TUN_F_CSUM | TUN_F_UFO);
}

/* A persistent tap (ip tuntap add) with @tun_flags left on by a previous user. */
static void make_persistent_tap(const char *name, unsigned int tun_flags, bool persist)
{
	char err[256];
	int fd = net_tap_open(name, err, sizeof(err));

	assert_true(fd >= 0);
	assert_int_equal(net_tap_set_offload(fd, tun_flags), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, persist ? 1UL : 0UL), 0);
	close(fd);
}

static void test_persistent_tap_starts_without_offloads(void **state)
{
	struct fx *f = *state;
	struct net_config cfg = {.iface_id = "p", .host_dev_name = "embpersist"};
	struct net_dev *net;
	char err[256];

	NEED_TAP();
	make_persistent_tap("embpersist", TUN_F_CSUM | TUN_F_TSO4, true);
	assert_int_equal(if_tso("embpersist"), 1);
	assert_int_equal(net_create(&net, &cfg, &f->mem, BASE + 0x3000, GSI + 3, err, sizeof(err)),
			 0);
	/* A guest that negotiates no offload must not get TSO frames. */
	assert_int_equal(if_tso("embpersist"), 0);
	net_destroy(net);
	make_persistent_tap("embpersist", 0, false);
	assert_int_equal(if_nametoindex("embpersist"), 0);
}

static void test_offload_without_checksum_is_refused(void **state)
{
	struct fx *f = *state;
	uint64_t feat = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4);

	NEED_TAP();
	/* 5.1.3.1: GUEST_TSO4 requires GUEST_CSUM. The tap would refuse it too. */
	assert_true(virtio_mmio_driver_negotiate(f->dev, feat) & VIRTIO_CONFIG_S_FEATURES_OK);
	assert_int_equal(virtio_mmio_driver_setup_queue(f->dev, NET_RX_QUEUE, &f->rxq), 1);
	assert_int_equal(virtio_mmio_driver_setup_queue(f->dev, NET_TX_QUEUE, &f->txq), 1);
	assert_true(virtio_mmio_driver_ok(f->dev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(g_metrics.net.activate_fails, 1);
}

static void test_tap_open_errors(void **state)
{
	struct fx *f = *state;
	struct net_config cfg = {.iface_id = "x", .host_dev_name = f->ifname};
	struct net_dev *other;
	char err[512];
	int fd;

	NEED_TAP();
	/* The fixture's device holds the tap: a second user gets EBUSY, by name. */
	fd = net_tap_open(f->ifname, err, sizeof(err));
	assert_int_equal(fd, -EBUSY);
	assert_non_null(strstr(err,
			       "Open tap device failed: Error while creating ifreq structure: "
			       "Device or resource busy (os error 16). Invalid TUN/TAP Backend "
			       "provided by embt"));
	assert_int_equal(
	    net_create(&other, &cfg, &f->mem, BASE + 0x1000, GSI + 1, err, sizeof(err)), -EBUSY);

	assert_int_equal(net_tap_open("0123456789abcdef", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Open tap device failed: Invalid interface name");

	cfg.host_dev_name = "embmtu";
	cfg.has_mtu = true;
	cfg.mtu = 67;
	assert_int_equal(
	    net_create(&other, &cfg, &f->mem, BASE + 0x1000, GSI + 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "MTU 67 is out of range [68, 65535]");

	/* A free tap opens, with the 12-byte header, and closes cleanly. */
	fd = net_tap_open("embfree", err, sizeof(err));
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_destroy_releases_everything(void **state)
{
	struct fx *f = *state;
	struct net_config cfg = {.iface_id = "y", .host_dev_name = "embleak"};
	struct net_dev *net;
	struct event_loop loop;
	char err[256];
	int before;

	NEED_TAP();
	before = count_fds();
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(net_create(&net, &cfg, &f->mem, BASE + 0x2000, GSI + 2, err, sizeof(err)),
			 0);
	assert_int_equal(virtio_mmio_attach(net_mmio(net), &loop), 0);
	assert_true(if_nametoindex("embleak") > 0);
	virtio_mmio_detach(net_mmio(net));
	net_destroy(net);
	event_loop_destroy(&loop);
	assert_int_equal(count_fds(), before);
	/* A tap the device created goes away with its fd. */
	assert_int_equal(if_nametoindex("embleak"), 0);
}

/* ---- main --------------------------------------------------------------------------- */

static void write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, val, strlen(val)) < 0)
			perror(path);
		close(fd);
	}
}

/* Root, a TUN driver and a network namespace of our own, or every test skips. */
static bool enter_private_netns(void)
{
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK))
		return false;
	if (unshare(CLONE_NEWNET)) {
		perror("unshare(CLONE_NEWNET)");
		return false;
	}
	/* No router solicitations, MLD or DAD frames on the taps. */
	write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	return true;
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_features_and_config),
	    cmocka_unit_test_setup_teardown(test_mtu_offered, setup_mtu, teardown),
	    T(test_generated_mac),
	    T(test_tx_frame_reaches_tap),
	    T(test_tx_indirect_and_spoofed_source),
	    T(test_tx_malformed_chains),
	    T(test_tx_limiter_blocks_then_resumes),
	    T(test_rx_frame_lands_in_guest_buffer),
	    T(test_rx_mergeable_buffers),
	    T(test_rx_mergeable_waits_for_enough_buffers),
	    T(test_rx_mergeable_frame_larger_than_ring_is_dropped),
	    T(test_rx_without_buffers_pauses_then_resumes),
	    T(test_rx_limiter_blocks_then_resumes),
	    T(test_rx_malformed_chains),
	    T(test_rx_mergeable_gap_restarts_frame),
	    T(test_rx_frame_too_big_is_dropped),
	    T(test_reset_drops_waiting_frame),
	    T(test_snapshot_keeps_generated_mac),
	    T(test_offloads_follow_negotiation),
	    T(test_persistent_tap_starts_without_offloads),
	    T(test_offload_without_checksum_is_refused),
	    T(test_tap_open_errors),
	    T(test_destroy_releases_everything),
	};

	have_tap = enter_private_netns();
	if (!have_tap)
		fprintf(stderr, "virtio-net tests need root and /dev/net/tun: skipping\n");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
