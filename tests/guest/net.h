/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A polling virtio-net driver (virtio 1.x 5.1): queue 0 receives, queue 1
 * transmits, one buffer in flight on each. Every buffer starts with the
 * 12-byte virtio_net_hdr_v1 (VERSION_1 layout). Only MAC is negotiated: no
 * checksum or segmentation offloads and no mergeable rx buffers, so a frame
 * always arrives whole in one buffer.
 */
#ifndef GUEST_NET_H
#define GUEST_NET_H

#include "types.h"
#include "virtio.h"
#include "virtqueue.h"

#define NET_HDR_LEN	 12
#define NET_ETH_HLEN	 14
#define NET_MAC_LEN	 6
#define NET_RX_BUF_SIZE	 2048 /* >= 1526: the device's minimum without MRG_RXBUF */
#define VIRTIO_NET_F_MAC 5

struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
} __packed;

_Static_assert(sizeof(struct virtio_net_hdr) == NET_HDR_LEN, "virtio_net_hdr_v1 is 12 bytes");

struct net {
	struct virtio_dev *dev;
	struct virtqueue rxq, txq;
	uint8_t mac[NET_MAC_LEN];
	uint8_t rx_buf[NET_RX_BUF_SIZE] __aligned(64);
	uint8_t tx_buf[NET_RX_BUF_SIZE] __aligned(64);
};

/* Initialise @dev (a virtio-net), read its MAC, post one rx buffer. */
bool net_open(struct net *net, struct virtio_dev *dev);

/* Send the Ethernet frame @frame (@len bytes, no virtio header). False if not completed. */
bool net_send(struct net *net, const void *frame, uint32_t len);

/*
 * Wait (up to about @seconds) for the frame in the posted rx buffer. Returns
 * the bytes the device wrote (header included) or -1 when none came.
 */
ssize_t net_receive(struct net *net, unsigned int seconds);

#endif
