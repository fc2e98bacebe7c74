// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock device model: config space, the rx/tx/event queues, packet
 * validation, and the glue to the Unix-socket muxer (vsock_muxer.c), which
 * owns the connections. See vsock.h for behaviour.
 */
#include "devices/virtio/vsock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "vmm/base/event_loop.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "devices/virtio/virtio_mmio.h"
#include "vmm/base/vmstate.h"
#include "devices/virtio/vsock_muxer.h"
#include "devices/virtio/vsock_packet.h"

#define VSOCK_CONFIG_SIZE sizeof(struct virtio_vsock_config)

struct vsock_dev {
	struct virtio_mmio_dev *mmio;
	const struct guest_mem *mem;
	uint64_t guest_cid;
	struct vsock_muxer muxer;
	bool muxer_ready;
};

static void vsock_config_read(struct virtio_mmio_dev *dev, uint32_t offset, uint8_t *data,
			      uint32_t len)
{
	struct vsock_dev *vs = virtio_mmio_backend(dev);
	uint8_t config[VSOCK_CONFIG_SIZE];

	/* virtio_vsock_config.guest_cid, little-endian. */
	for (size_t i = 0; i < sizeof(config); i++)
		config[i] = (uint8_t)(vs->guest_cid >> (8 * i));
	memcpy(data, config + offset, len);
}

/* ---- tx: guest -> host ---------------------------------------------------------- */

static void tx_malformed(struct vsock_dev *vs, const char *why, const struct vsock_hdr *h)
{
	metric_inc(&g_metrics.vsock.malformed_pkts);
	virtio_mmio_log_guest_error(vs->mmio, "malformed tx packet: %s (op %u len %u)", why,
				    h ? h->op : 0, h ? h->len : 0);
}

/* Check one tx chain and hand it to the muxer. The chain is always consumed. */
static void vsock_handle_tx(struct vsock_dev *vs, const struct virtq_chain *c)
{
	struct vsock_tx_pkt pkt = {.mem = vs->mem, .chain = c};
	struct virtio_vsock_hdr wire;
	const struct vsock_hdr *h = &pkt.hdr;

	if (c->read_len < VSOCK_HDR_SIZE ||
	    virtq_chain_read(vs->mem, c, 0, &wire, sizeof(wire)) != sizeof(wire)) {
		tx_malformed(vs, "shorter than the 44-byte header", NULL);
		return;
	}
	vsock_hdr_decode(&wire, &pkt.hdr);
	metric_inc(&g_metrics.vsock.tx_packets_count);
	/* Only the guest's own CID talking to the host: nothing to answer otherwise. */
	if (h->src_cid != vs->guest_cid || h->dst_cid != VSOCK_HOST_CID) {
		metric_inc(&g_metrics.vsock.wrong_cid_pkts);
		virtio_mmio_log_guest_error(vs->mmio,
					    "tx packet from cid %" PRIu64 " to cid %" PRIu64
					    " dropped (guest cid %" PRIu64 ")",
					    h->src_cid, h->dst_cid, vs->guest_cid);
		return;
	}
	if (h->len > VSOCK_MAX_PKT_PAYLOAD || h->len > c->read_len - VSOCK_HDR_SIZE) {
		tx_malformed(vs, "len past the buffer or above 64 KiB", h);
		vsock_muxer_refuse(&vs->muxer, h);
		return;
	}
	if (h->type != VIRTIO_VSOCK_TYPE_STREAM || h->op == VIRTIO_VSOCK_OP_INVALID ||
	    h->op > VIRTIO_VSOCK_OP_CREDIT_REQUEST) {
		metric_inc(&g_metrics.vsock.invalid_op_pkts);
		virtio_mmio_log_guest_error(vs->mmio, "tx packet with type %u op %u refused",
					    h->type, h->op);
		vsock_muxer_refuse(&vs->muxer, h);
		return;
	}
	vsock_muxer_send_pkt(&vs->muxer, &pkt);
}

static void vsock_process_tx(struct vsock_dev *vs)
{
	struct virtio_mmio_dev *dev = vs->mmio;
	struct virtq_chain *c = &dev->chain;

	while (virtio_mmio_next_chain(dev, VSOCK_TXQ, c) > 0) {
		vsock_handle_tx(vs, c);
		if (virtio_mmio_complete(dev, VSOCK_TXQ, c->head, 0))
			break;
	}
	virtio_mmio_signal_used(dev, VSOCK_TXQ);
}

/* ---- rx: host -> guest ---------------------------------------------------------- */

/* Fill one rx buffer. Used length, or -1 when the muxer has nothing (chain not consumed). */
static int64_t vsock_fill_rx(struct vsock_dev *vs, const struct virtq_chain *c)
{
	struct vsock_rx_pkt pkt = {.mem = vs->mem, .chain = c};
	struct virtio_vsock_hdr wire;
	uint32_t room;

	/* rx buffers are device-writable only, with room for at least the header. */
	if (c->nr_read || c->write_len < VSOCK_HDR_SIZE) {
		metric_inc(&g_metrics.vsock.malformed_pkts);
		virtio_mmio_log_guest_error(vs->mmio,
					    "rx buffer refused (%u readable, %u writable bytes)",
					    c->read_len, c->write_len);
		return 0;
	}
	room = c->write_len - VSOCK_HDR_SIZE;
	pkt.buf_size = room < VSOCK_MAX_PKT_PAYLOAD ? room : VSOCK_MAX_PKT_PAYLOAD;
	if (!vsock_muxer_recv_pkt(&vs->muxer, &pkt))
		return -1;
	vsock_hdr_encode(&pkt.hdr, &wire);
	if (virtq_chain_write(vs->mem, c, 0, &wire, sizeof(wire)) != sizeof(wire))
		return 0; /* cannot happen: write_len was checked */
	metric_inc(&g_metrics.vsock.rx_packets_count);
	metric_add(&g_metrics.vsock.rx_bytes_count, pkt.hdr.len);
	return VSOCK_HDR_SIZE + pkt.hdr.len;
}

static void vsock_process_rx(struct vsock_dev *vs)
{
	struct virtio_mmio_dev *dev = vs->mmio;
	struct virtq_chain *c = &dev->chain;
	int64_t used;

	while (vsock_muxer_has_pending_rx(&vs->muxer) &&
	       virtio_mmio_next_chain(dev, VSOCK_RXQ, c) > 0) {
		used = vsock_fill_rx(vs, c);
		if (used < 0) {
			/* Nothing to say after all: keep the buffer for later. */
			virtq_unpop(virtio_mmio_queue(dev, VSOCK_RXQ));
			break;
		}
		if (virtio_mmio_complete(dev, VSOCK_RXQ, c->head, (uint32_t)used))
			break;
	}
	virtio_mmio_signal_used(dev, VSOCK_RXQ);
}

/* ---- virtio device ops ---------------------------------------------------------- */

static void vsock_process_queue(struct virtio_mmio_dev *dev, unsigned int q)
{
	struct vsock_dev *vs = virtio_mmio_backend(dev);

	switch (q) {
	case VSOCK_TXQ:
		metric_inc(&g_metrics.vsock.tx_queue_event_count);
		vsock_process_tx(vs);
		/* Answers to what the guest sent (RESPONSE, RST, credit) go out now. */
		if (!(dev->status & VIRTIO_CONFIG_S_NEEDS_RESET))
			vsock_process_rx(vs);
		break;
	case VSOCK_RXQ:
		metric_inc(&g_metrics.vsock.rx_queue_event_count);
		vsock_process_rx(vs);
		break;
	default:
		/* Event queue buffers wait for a transport reset. */
		break;
	}
}

/* vCPU thread, device lock held: the driver is gone, and so are its connections. */
static void vsock_reset(struct virtio_mmio_dev *dev)
{
	struct vsock_dev *vs = virtio_mmio_backend(dev);

	vsock_muxer_reset(&vs->muxer);
}

/* The muxer's epoll fd is ready: host sockets or a timeout need attention. */
static void vsock_muxer_event(void *opaque, uint32_t events)
{
	struct vsock_dev *vs = opaque;
	bool pending;

	(void)events;
	virtio_mmio_lock(vs->mmio);
	vsock_muxer_process_events(&vs->muxer);
	pending = vsock_muxer_has_pending_rx(&vs->muxer);
	virtio_mmio_unlock(vs->mmio);
	/* Runs only while the driver has the queues live. */
	if (pending)
		virtio_mmio_kick(vs->mmio, VSOCK_RXQ);
}

static int vsock_attach(struct virtio_mmio_dev *dev, struct event_loop *loop)
{
	struct vsock_dev *vs = virtio_mmio_backend(dev);

	return event_loop_add(loop, vsock_muxer_fd(&vs->muxer), EPOLLIN, vsock_muxer_event, vs);
}

static void vsock_detach(struct virtio_mmio_dev *dev, struct event_loop *loop)
{
	struct vsock_dev *vs = virtio_mmio_backend(dev);

	event_loop_del(loop, vsock_muxer_fd(&vs->muxer));
}

static int post_transport_reset(struct vsock_dev *vs);

/*
 * Snapshot, as Firecracker does it: host connections cannot be saved, so the
 * guest is told to drop its own (TRANSPORT_RESET on the event queue, part of
 * the saved memory) and ours are closed. The CID is saved: the guest read it
 * and keeps using it after a restore.
 */
static int vsock_save(struct virtio_mmio_dev *dev, struct vmstate_writer *w)
{
	struct vsock_dev *vs = virtio_mmio_backend(dev);
	int ret;

	if (dev->activated) {
		ret = post_transport_reset(vs);
		if (ret)
			log_warn("vsock: no transport reset event for the snapshot: %s",
				 strerror(-ret));
	}
	vsock_muxer_reset(&vs->muxer);
	vmstate_put_u64(w, vs->guest_cid);
	return 0;
}

static int vsock_restore(struct virtio_mmio_dev *dev, struct vmstate_reader *r)
{
	struct vsock_dev *vs = virtio_mmio_backend(dev);
	uint64_t cid = vmstate_get_u64(r);

	if (r->err)
		return r->err;
	if (cid > UINT32_MAX)
		return -EINVAL;
	if (cid != vs->guest_cid)
		log_info("vsock: guest_cid %" PRIu64 " from the snapshot replaces %" PRIu64, cid,
			 vs->guest_cid);
	vs->guest_cid = cid;
	vs->muxer.guest_cid = cid;
	return 0;
}

static const struct virtio_device_ops vsock_ops = {
    .name = "vsock",
    .device_id = VIRTIO_ID_VSOCK,
    .num_queues = 3,
    .queue_max_size = VSOCK_QUEUE_SIZE,
    .config_size = VSOCK_CONFIG_SIZE,
    .config_read = vsock_config_read,
    .reset = vsock_reset,
    .process_queue = vsock_process_queue,
    .attach = vsock_attach,
    .detach = vsock_detach,
    .save = vsock_save,
    .restore = vsock_restore,
};

/* ---- lifecycle ------------------------------------------------------------------ */

int vsock_create(struct vsock_dev **out, const struct vsock_config *cfg,
		 const struct guest_mem *mem, uint64_t base, uint32_t gsi, char *err, size_t errlen)
{
	struct vsock_dev *vs;
	int ret;

	/* Any guest_cid, as in Firecracker (0-2 are reserved by convention only). */
	vs = calloc(1, sizeof(*vs));
	if (!vs) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	vs->mem = mem;
	vs->guest_cid = cfg->guest_cid;
	ret = vsock_muxer_init(&vs->muxer, vs->guest_cid, cfg->uds_path, err, errlen);
	if (ret)
		goto fail;
	vs->muxer_ready = true;
	ret = virtio_mmio_create(&vs->mmio, &vsock_ops, vs, mem, base, gsi, VIRTIO_COMMON_FEATURES);
	if (ret) {
		snprintf(err, errlen, "Cannot create the virtio-mmio transport: %s",
			 strerror(-ret));
		goto fail;
	}
	*out = vs;
	return 0;
fail:
	vsock_destroy(vs);
	return ret;
}

void vsock_destroy(struct vsock_dev *vs)
{
	if (!vs)
		return;
	virtio_mmio_destroy(vs->mmio);
	if (vs->muxer_ready)
		vsock_muxer_destroy(&vs->muxer);
	free(vs);
}

struct virtio_mmio_dev *vsock_mmio(struct vsock_dev *vs)
{
	return vs->mmio;
}

uint64_t vsock_guest_cid(const struct vsock_dev *vs)
{
	return vs->guest_cid;
}

unsigned int vsock_connection_count(struct vsock_dev *vs)
{
	unsigned int n;

	virtio_mmio_lock(vs->mmio);
	n = vsock_muxer_nr_connections(&vs->muxer);
	virtio_mmio_unlock(vs->mmio);
	return n;
}

static int post_transport_reset(struct vsock_dev *vs)
{
	struct virtio_mmio_dev *dev = vs->mmio;
	struct virtq *q = virtio_mmio_queue(dev, VSOCK_EVQ);
	struct virtq_chain *c = &dev->chain;
	struct virtio_vsock_event ev = {.id = htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET)};
	const char *why = NULL;
	uint32_t len = 0;
	uint16_t head;
	int ret;

	if (!dev->activated || !q->ready ||
	    (dev->status & (VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED)))
		return -ENODEV;
	ret = virtq_pop(q, dev->mem, &head, &why);
	if (ret < 0) {
		virtio_mmio_set_needs_reset(dev, why);
		return -EIO;
	}
	if (ret == 0) {
		metric_inc(&g_metrics.vsock.ev_queue_event_fails);
		return -ENOBUFS;
	}
	ret = virtq_chain_walk(q, dev->mem, head, c, &why);
	if (!ret && c->write_len >= sizeof(ev))
		len = (uint32_t)virtq_chain_write(dev->mem, c, 0, &ev, sizeof(ev));
	if (!len) {
		metric_inc(&g_metrics.vsock.ev_queue_event_fails);
		virtio_mmio_log_guest_error(dev, "event buffer unusable: %s",
					    why ? why : "shorter than 4 bytes");
	}
	if (virtio_mmio_complete(dev, VSOCK_EVQ, head, len))
		return -EIO;
	virtio_mmio_signal_used(dev, VSOCK_EVQ);
	return len ? 0 : -EINVAL;
}

int vsock_send_transport_reset(struct vsock_dev *vs)
{
	int ret;

	virtio_mmio_lock(vs->mmio);
	ret = post_transport_reset(vs);
	virtio_mmio_unlock(vs->mmio);
	return ret;
}
