/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock packets (virtio 1.x 5.10.6) as the device handles them: the
 * 44-byte little-endian struct virtio_vsock_hdr decoded into host byte
 * order, plus where the payload lives in the guest's descriptor chain.
 *
 * A tx packet (guest -> host) has been checked by the device before the
 * muxer sees it: cids, type and op are valid and its payload, hdr.len bytes,
 * lies wholly inside the chain's device-readable bytes right after the
 * header. An rx packet (host -> guest) is a device-writable chain with room
 * for the header plus buf_size payload bytes; whoever fills it sets hdr and
 * writes hdr.len payload bytes at VSOCK_HDR_SIZE of the writable stream.
 */
#ifndef EMBER_VSOCK_PACKET_H
#define EMBER_VSOCK_PACKET_H

#include <endian.h>
#include <stdint.h>

#include <linux/virtio_vsock.h>
#include <linux/vm_sockets.h>

#include "vmm/mem/guest_mem.h"
#include "devices/virtio/virtq.h"

#define VSOCK_HDR_SIZE ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define VSOCK_HOST_CID ((uint64_t)VMADDR_CID_HOST)
/* Largest payload of one packet: Firecracker's MAX_PKT_BUF_SIZE, Linux's too. */
#define VSOCK_MAX_PKT_PAYLOAD (64U * 1024)
/* Both shutdown directions (virtio_vsock_shutdown). */
#define VSOCK_SHUTDOWN_BOTH (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)

_Static_assert(sizeof(struct virtio_vsock_hdr) == 44, "virtio_vsock_hdr is 44 bytes on the wire");

/* struct virtio_vsock_hdr in host byte order. */
struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags;
	uint32_t buf_alloc, fwd_cnt;
};

/* A packet from the guest's tx queue. */
struct vsock_tx_pkt {
	struct vsock_hdr hdr;
	const struct guest_mem *mem;
	const struct virtq_chain *chain;
};

/* A guest rx buffer to fill. */
struct vsock_rx_pkt {
	struct vsock_hdr hdr;
	const struct guest_mem *mem;
	const struct virtq_chain *chain;
	uint32_t buf_size; /* payload bytes that fit, at most VSOCK_MAX_PKT_PAYLOAD */
};

static inline void vsock_hdr_decode(const struct virtio_vsock_hdr *w, struct vsock_hdr *h)
{
	h->src_cid = le64toh(w->src_cid);
	h->dst_cid = le64toh(w->dst_cid);
	h->src_port = le32toh(w->src_port);
	h->dst_port = le32toh(w->dst_port);
	h->len = le32toh(w->len);
	h->type = le16toh(w->type);
	h->op = le16toh(w->op);
	h->flags = le32toh(w->flags);
	h->buf_alloc = le32toh(w->buf_alloc);
	h->fwd_cnt = le32toh(w->fwd_cnt);
}

static inline void vsock_hdr_encode(const struct vsock_hdr *h, struct virtio_vsock_hdr *w)
{
	w->src_cid = htole64(h->src_cid);
	w->dst_cid = htole64(h->dst_cid);
	w->src_port = htole32(h->src_port);
	w->dst_port = htole32(h->dst_port);
	w->len = htole32(h->len);
	w->type = htole16(h->type);
	w->op = htole16(h->op);
	w->flags = htole32(h->flags);
	w->buf_alloc = htole32(h->buf_alloc);
	w->fwd_cnt = htole32(h->fwd_cnt);
}

#endif
