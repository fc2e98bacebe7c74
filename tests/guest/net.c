// SPDX-License-Identifier: Apache-2.0
#include "net.h"
#include "print.h"
#include "reset.h"
#include "string.h"
#include "virtio_scenarios.h"

#define NET_CONFIG_MAC	 0
#define NET_ETHERTYPE	 0x88b5 /* IEEE local experimental */
#define NET_GUEST_TEXT	 "ember-guest-frame"
#define NET_WAIT_SECONDS 20

bool net_open(struct net *net, struct virtio_dev *dev)
{
	uint32_t lo, hi;

	net->dev = dev;
	if (!virtio_init(dev, VIRTIO_FEATURE(VIRTIO_NET_F_MAC)) ||
	    !virtio_setup_queue(dev, 0, &net->rxq) || !virtio_setup_queue(dev, 1, &net->txq))
		return false;
	lo = virtio_config_read32(dev, NET_CONFIG_MAC);
	hi = virtio_config_read32(dev, NET_CONFIG_MAC + 4);
	memcpy(net->mac, &lo, 4);
	memcpy(net->mac + 4, &hi, 2);
	virtio_driver_ok(dev);

	/* Buffers may be posted before the first frame arrives: the device reads the tap then. */
	memset(net->rx_buf, 0, sizeof(net->rx_buf));
	virtqueue_set_desc(&net->rxq, 0, (uint64_t)net->rx_buf, sizeof(net->rx_buf),
			   VRING_DESC_F_WRITE, 0);
	virtqueue_kick(&net->rxq, 0);
	return true;
}

bool net_send(struct net *net, const void *frame, uint32_t len)
{
	struct vring_used_elem used;

	if (len > sizeof(net->tx_buf) - NET_HDR_LEN)
		return false;
	/* No offloads: an all-zero header (no checksum to fill, no GSO). */
	memset(net->tx_buf, 0, NET_HDR_LEN);
	memcpy(net->tx_buf + NET_HDR_LEN, frame, len);
	virtqueue_set_desc(&net->txq, 0, (uint64_t)net->tx_buf, NET_HDR_LEN + len, 0, 0);
	virtqueue_kick(&net->txq, 0);
	return virtqueue_wait_used(&net->txq, &used) == VIRTQUEUE_USED;
}

ssize_t net_receive(struct net *net, unsigned int seconds)
{
	struct vring_used_elem used;

	/* Each wait is bounded (about a second); the host may answer late. */
	while (seconds--) {
		switch (virtqueue_wait_used(&net->rxq, &used)) {
		case VIRTQUEUE_USED:
			return (ssize_t)used.len;
		case VIRTQUEUE_NEEDS_RESET:
			return -1;
		default:
			break;
		}
	}
	return -1;
}

/* ---- the net scenario ------------------------------------------------------------ */

static struct net net;
static uint8_t frame[NET_ETH_HLEN + sizeof(NET_GUEST_TEXT) - 1];

static void print_mac(const uint8_t *mac)
{
	for (int i = 0; i < NET_MAC_LEN; i++) {
		if (i)
			print_str(":");
		print_hex_bytes(mac + i, 1);
	}
}

/* Broadcast from our MAC, our ethertype, the known payload. */
static uint32_t build_frame(void)
{
	memset(frame, 0xff, NET_MAC_LEN);
	memcpy(frame + NET_MAC_LEN, net.mac, NET_MAC_LEN);
	frame[12] = NET_ETHERTYPE >> 8;
	frame[13] = NET_ETHERTYPE & 0xff;
	memcpy(frame + NET_ETH_HLEN, NET_GUEST_TEXT, sizeof(NET_GUEST_TEXT) - 1);
	return sizeof(frame);
}

static void print_received(ssize_t len)
{
	const struct virtio_net_hdr *h = (const struct virtio_net_hdr *)net.rx_buf;
	const uint8_t *eth = net.rx_buf + NET_HDR_LEN;

	if (len < NET_HDR_LEN + NET_ETH_HLEN || len > (ssize_t)sizeof(net.rx_buf)) {
		print_str("net: bad rx length ");
		print_dec((uint64_t)len);
		print_str("\n");
		return;
	}
	print_str("net: received ");
	print_dec((uint64_t)(len - NET_HDR_LEN));
	print_str(" bytes from ");
	print_mac(eth + NET_MAC_LEN);
	print_str(" to ");
	print_mac(eth);
	print_str(" type ");
	print_hex((uint64_t)eth[12] << 8 | eth[13]);
	print_str(" num_buffers ");
	print_dec(h->num_buffers);
	print_str(": \"");
	print_printable(eth + NET_ETH_HLEN, (size_t)(len - NET_HDR_LEN - NET_ETH_HLEN));
	print_str("\"\n");
}

void scenario_net(const char *cmdline)
{
	struct virtio_dev *dev = virtio_probe_first(cmdline, VIRTIO_ID_NET, "net");
	ssize_t got;

	if (!dev || !net_open(&net, dev)) {
		if (dev)
			print_str("net: init failed\n");
		machine_reset();
	}
	print_str("net: mac ");
	print_mac(net.mac);
	print_str("\n");
	if (!net_send(&net, frame, build_frame())) {
		print_str("net: send no completion\n");
		machine_reset();
	}
	print_str("net: sent ");
	print_dec(sizeof(frame));
	print_str(" bytes\n");
	got = net_receive(&net, NET_WAIT_SECONDS);
	if (got < 0)
		print_str("net: nothing received\n");
	else
		print_received(got);
	machine_reset();
}
