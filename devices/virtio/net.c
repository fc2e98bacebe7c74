// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net device model: tx from guest chains to the tap, rx from the tap
 * into guest chains, config space, offload negotiation. See net.h.
 */
#include "devices/virtio/net.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "vmm/base/event_loop.h"
#include "vmm/mem/layout.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "devices/mmds/mmds_stack.h"
#include "devices/virtio/tap.h"
#include "devices/virtio/virtio_mmio.h"
#include "vmm/base/vmstate.h"

/* struct virtio_net_config up to and including mtu: the fields Ember offers. */
#define NET_CONFIG_SIZE	    (offsetof(struct virtio_net_config, mtu) + sizeof(uint16_t))
#define NET_CONFIG_MTU	    offsetof(struct virtio_net_config, mtu)
#define NET_HDR_NUM_BUFFERS offsetof(struct virtio_net_hdr_v1, num_buffers)
/* Ethernet source MAC, counted from the start of the frame (after the virtio header). */
#define ETH_SRC_OFFSET 6

#define NET_FEATURES                                                                               \
	(VIRTIO_COMMON_FEATURES | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |                                  \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |               \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO) |                \
	 VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |                 \
	 VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |                  \
	 VIRTIO_BIT(VIRTIO_NET_F_MAC))

#define GUEST_GSO                                                                                  \
	(VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |               \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO))
#define HOST_GSO                                                                                   \
	(VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |                 \
	 VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO))

struct net_dev {
	struct virtio_mmio_dev *mmio;
	const struct guest_mem *mem;
	int tap_fd;
	uint8_t mac[NET_MAC_LEN];
	uint16_t mtu; /* 0: VIRTIO_NET_F_MTU not offered */
	struct virtio_limiter rx_limiter, tx_limiter;

	/* rx, with the device lock held. */
	uint32_t rx_min_buffer; /* smallest usable rx chain for the negotiated features */
	uint32_t rx_len;	/* bytes of the frame waiting in rx_frame; 0: none */
	uint16_t rx_heads[NET_QUEUE_SIZE];
	uint32_t rx_lens[NET_QUEUE_SIZE];
	struct virtq_chain rx_first; /* first chain of the frame: num_buffers goes there */
	uint8_t rx_frame[NET_MAX_FRAME];
	bool rx_mmds_last; /* rx_frame's last frame came from MMDS: the tap goes first next */

	/* tx, with the device lock held: the frame being sent. */
	uint8_t tx_frame[NET_MAX_FRAME];
	unsigned int offloads; /* TUN_F_* set on the tap (none from net_create() on) */

	struct mmds_stack *mmds; /* NULL: not attached to MMDS */
};

enum net_rx_result {
	NET_RX_DONE,  /* the frame was delivered or dropped: take the next one */
	NET_RX_WAIT,  /* no buffer or throttled: the frame waits for a notify or a kick */
	NET_RX_ERROR, /* the device needs a reset */
};

/* ---- config space and activation ----------------------------------------- */

static void net_config_read(struct virtio_mmio_dev *dev, uint32_t offset, uint8_t *data,
			    uint32_t len)
{
	struct net_dev *net = virtio_mmio_backend(dev);
	uint8_t config[NET_CONFIG_SIZE] = {0};

	/* status and max_virtqueue_pairs stay 0: STATUS and MQ are not offered. */
	memcpy(config, net->mac, NET_MAC_LEN);
	config[NET_CONFIG_MTU] = (uint8_t)net->mtu;
	config[NET_CONFIG_MTU + 1] = (uint8_t)(net->mtu >> 8);
	memcpy(data, config + offset, len);
}

static void net_config_write(struct virtio_mmio_dev *dev, uint32_t offset, const uint8_t *data,
			     uint32_t len)
{
	(void)data;
	/* The MAC is not writable without CTRL_MAC_ADDR; Firecracker counts these too. */
	metric_inc(&g_metrics.net.cfg_fails);
	virtio_mmio_log_guest_error(dev, "ignored config write of %u bytes at offset %u", len,
				    offset);
}

/* Why the negotiated features break a virtio-net dependency (5.1.3.1), or NULL. */
static const char *net_feature_conflict(uint64_t f)
{
	if ((f & GUEST_GSO) && !(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)))
		return "GUEST_TSO4/TSO6/UFO without GUEST_CSUM";
	if ((f & HOST_GSO) && !(f & VIRTIO_BIT(VIRTIO_NET_F_CSUM)))
		return "HOST_TSO4/TSO6/UFO without CSUM";
	return NULL;
}

/* As Firecracker: big buffers unless frames may span chains, 64 KiB ones with guest GSO. */
static uint32_t net_min_rx_buffer(uint64_t f)
{
	if (f & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF))
		return NET_HDR_LEN;
	return (f & GUEST_GSO) ? NET_MAX_FRAME : NET_MIN_RX_BUFFER;
}

static int net_activate(struct virtio_mmio_dev *dev)
{
	struct net_dev *net = virtio_mmio_backend(dev);
	uint64_t features = dev->driver_features;
	const char *why = net_feature_conflict(features);
	unsigned int offloads;
	int ret;

	if (why) {
		metric_inc(&g_metrics.net.activate_fails);
		virtio_mmio_log_guest_error(dev, "refusing DRIVER_OK: %s", why);
		return -EINVAL;
	}
	/*
	 * The tap may now hand over frames with the offloads the guest accepts.
	 * Runs on the vCPU thread: the ioctl only when the flags change (a
	 * guest without offloads needs none: net_create() cleared them).
	 */
	offloads = net_tap_offloads_for(features);
	ret = offloads == net->offloads ? 0 : net_tap_set_offload(net->tap_fd, offloads);
	if (ret) {
		metric_inc(&g_metrics.net.activate_fails);
		log_error("virtio-net@0x%" PRIx64 ": TUNSETOFFLOAD 0x%x: %s", virtio_mmio_base(dev),
			  offloads, strerror(-ret));
		return ret;
	}
	net->offloads = offloads;
	net->rx_min_buffer = net_min_rx_buffer(features);
	return 0;
}

/* Runs on the vCPU thread: only device state, no I/O. */
static void net_reset(struct virtio_mmio_dev *dev)
{
	struct net_dev *net = virtio_mmio_backend(dev);

	/* Read under the old offloads: the next driver may not accept its metadata. */
	if (net->rx_len)
		metric_inc(&g_metrics.net.rx_dropped_frames);
	net->rx_len = 0;
}

/* ---- tx --------------------------------------------------------------------- */

static const char *net_tx_refusal(const struct virtq_chain *c)
{
	if (c->write_len)
		return "device-writable buffer in a tx chain";
	if (c->read_len < NET_HDR_LEN)
		return "tx chain shorter than the virtio-net header";
	if (c->read_len > NET_MAX_FRAME)
		return "tx frame larger than 65562 bytes";
	return NULL;
}

/*
 * Copy one frame out of the guest. The copy (not writev() on guest memory)
 * means the kernel and the MMDS stack parse bytes the guest can no longer
 * change under them (no check-then-use race on the MMDS detour), and keeps
 * the VMM thread on plain write(). 0, or -EFAULT (counted).
 */
static int net_tx_read(struct net_dev *net, const struct virtq_chain *c)
{
	if (virtq_chain_read(net->mem, c, 0, net->tx_frame, c->read_len) == c->read_len)
		return 0;
	metric_inc(&g_metrics.net.tx_fails);
	virtio_mmio_log_guest_error(net->mmio, "tx chain at head %u not readable", c->head);
	return -EFAULT;
}

static uint64_t net_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * The frame in tx_frame is for MMDS (ARP for its address, IPv4 to it): the
 * stack takes it instead of the tap, without costing tx tokens (as in
 * Firecracker). False: it is not MMDS's.
 */
static bool net_tx_to_mmds(struct net_dev *net, uint32_t len)
{
	const uint8_t *frame = net->tx_frame + NET_HDR_LEN;
	bool partial;

	if (!net->mmds || !mmds_stack_is_mmds_frame(net->mmds, frame, len - NET_HDR_LEN))
		return false;
	/* With NEEDS_CSUM the TCP checksum field holds only the pseudo-header's sum. */
	partial =
	    net->tx_frame[offsetof(struct virtio_net_hdr_v1, flags)] & VIRTIO_NET_HDR_F_NEEDS_CSUM;
	mmds_stack_receive(net->mmds, frame, len - NET_HDR_LEN, partial, net_now_ns());
	metric_inc(&g_metrics.mmds.rx_accepted);
	return true;
}

/* Write the frame in tx_frame to the tap. */
static void net_tx_send(struct net_dev *net, uint32_t len)
{
	ssize_t n;

	/* Firecracker counts frames whose source MAC is not the guest's; they still go out. */
	if (len >= NET_HDR_LEN + ETH_SRC_OFFSET + NET_MAC_LEN &&
	    memcmp(net->tx_frame + NET_HDR_LEN + ETH_SRC_OFFSET, net->mac, NET_MAC_LEN))
		metric_inc(&g_metrics.net.tx_spoofed_mac_count);
	do
		n = write(net->tap_fd, net->tx_frame, len);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len) {
		/* Lost, as on a wire; the tap may have refused the guest's header. */
		metric_inc(&g_metrics.net.tap_write_fails);
		virtio_mmio_log_guest_error(net->mmio, "tap write of %u bytes: %s", len,
					    n < 0 ? strerror(errno) : "short write");
		return;
	}
	metric_inc(&g_metrics.net.tx_count);
	metric_inc(&g_metrics.net.tx_packets_count);
	metric_add(&g_metrics.net.tx_bytes_count, len);
}

static void net_rx(struct net_dev *net);

static void net_tx(struct net_dev *net)
{
	struct virtio_mmio_dev *dev = net->mmio;
	struct virtq_chain *c = &dev->chain;
	bool to_mmds = false;

	while (virtio_mmio_next_chain(dev, NET_TX_QUEUE, c) > 0) {
		const char *why = net_tx_refusal(c);

		/* Refused frames complete at once, without costing tokens (as block does). */
		if (why) {
			if (c->write_len)
				metric_inc(&g_metrics.net.tx_fails);
			else
				metric_inc(&g_metrics.net.tx_malformed_frames);
			virtio_mmio_log_guest_error(dev, "tx chain at head %u: %s", c->head, why);
		} else if (net_tx_read(net, c)) {
			/* counted; completes with length 0 */
		} else if (net_tx_to_mmds(net, c->read_len)) {
			to_mmds = true;
		} else if (!virtio_limiter_allows(&net->tx_limiter, c->read_len, 1)) {
			/* Back on the ring; the limiter kicks the tx queue when tokens return. */
			virtq_unpop(virtio_mmio_queue(dev, NET_TX_QUEUE));
			metric_inc(&g_metrics.net.tx_rate_limiter_throttled);
			break;
		} else {
			net_tx_send(net, c->read_len);
		}
		if (virtio_mmio_complete(dev, NET_TX_QUEUE, c->head, 0))
			break;
	}
	virtio_mmio_signal_used(dev, NET_TX_QUEUE);
	/* MMDS answers at once (an ACK, a reply): no event will come for it. */
	if (to_mmds)
		net_rx(net);
}

/* ---- rx --------------------------------------------------------------------- */

static const char *net_rx_refusal(const struct net_dev *net, const struct virtq_chain *c)
{
	if (c->nr_read)
		return "device-readable buffer in an rx chain";
	if (c->write_len < net->rx_min_buffer)
		return "rx buffer smaller than the negotiated minimum";
	return NULL;
}

/*
 * The next rx chain a frame can go into: 1, 0 when the ring is empty (or this
 * pass's budget is spent), -EIO when the device needs a reset. *@gap is set
 * when chains were completed on the way (malformed ones, here or in the
 * transport): chains taken before that no longer sit right before the ring
 * position, so they cannot be given back with virtq_unpop().
 */
static int net_rx_next_chain(struct net_dev *net, struct virtq_chain *c, bool *gap)
{
	struct virtio_mmio_dev *dev = net->mmio;
	struct virtq *vq = virtio_mmio_queue(dev, NET_RX_QUEUE);

	for (;;) {
		uint16_t used = vq->used_idx;
		int ret = virtio_mmio_next_chain(dev, NET_RX_QUEUE, c);
		const char *why;

		if (vq->used_idx != used)
			*gap = true;
		if (ret <= 0)
			return ret;
		why = net_rx_refusal(net, c);
		if (!why)
			return 1;
		metric_inc(&g_metrics.net.rx_fails);
		virtio_mmio_log_guest_error(dev, "rx chain at head %u: %s", c->head, why);
		if (virtio_mmio_complete(dev, NET_RX_QUEUE, c->head, 0))
			return -EIO;
		*gap = true;
	}
}

/* Give back the last @nr chains taken: they are still the driver's, unused. */
static void net_rx_unpop(struct net_dev *net, unsigned int nr)
{
	struct virtq *vq = virtio_mmio_queue(net->mmio, NET_RX_QUEUE);

	while (nr--)
		virtq_unpop(vq);
}

/* Return @nr chains taken for the frame with nothing in them (they cannot be given back). */
static int net_rx_release(struct net_dev *net, unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++) {
		metric_inc(&g_metrics.net.rx_fails);
		if (virtio_mmio_complete(net->mmio, NET_RX_QUEUE, net->rx_heads[i], 0))
			return -EIO;
	}
	return 0;
}

static void net_rx_drop(struct net_dev *net, const char *why)
{
	metric_inc(&g_metrics.net.rx_dropped_frames);
	virtio_mmio_log_guest_error(net->mmio, "rx frame of %u bytes dropped: %s", net->rx_len,
				    why);
	net->rx_len = 0;
}

/* Remember where the frame's header went (only the segments in use are copied). */
static void net_rx_keep_first(struct net_dev *net, const struct virtq_chain *c)
{
	struct virtq_chain *first = &net->rx_first;

	first->head = c->head;
	first->nr = c->nr;
	first->nr_read = c->nr_read;
	first->read_len = c->read_len;
	first->write_len = c->write_len;
	memcpy(first->segs, c->segs, c->nr * sizeof(c->segs[0]));
}

/* Publish the @nr chains holding the frame, num_buffers first. */
static enum net_rx_result net_rx_publish(struct net_dev *net, unsigned int nr)
{
	uint8_t num_buffers[2] = {(uint8_t)nr, (uint8_t)(nr >> 8)};

	/* rx_first holds at least the header: rx_min_buffer >= NET_HDR_LEN. */
	virtq_chain_write(net->mem, &net->rx_first, NET_HDR_NUM_BUFFERS, num_buffers,
			  sizeof(num_buffers));
	for (unsigned int i = 0; i < nr; i++) {
		if (virtio_mmio_complete(net->mmio, NET_RX_QUEUE, net->rx_heads[i],
					 net->rx_lens[i]))
			return NET_RX_ERROR;
	}
	metric_inc(&g_metrics.net.rx_count);
	metric_inc(&g_metrics.net.rx_packets_count);
	metric_add(&g_metrics.net.rx_bytes_count, net->rx_len);
	net->rx_len = 0;
	return NET_RX_DONE;
}

/*
 * Copy the waiting frame into as many rx chains as it takes (one without
 * MRG_RXBUF) and publish them together once the limiter agrees. Nothing is
 * published before the whole frame has a place: the guest never sees part
 * of a frame.
 */
static enum net_rx_result net_rx_deliver(struct net_dev *net)
{
	struct virtio_mmio_dev *dev = net->mmio;
	struct virtq *vq = virtio_mmio_queue(dev, NET_RX_QUEUE);
	struct virtq_chain *c = &dev->chain;
	bool mrg = virtio_mmio_has_feature(dev, VIRTIO_NET_F_MRG_RXBUF);
	uint32_t len = net->rx_len, done = 0;
	unsigned int nr = 0;

	while (done < len) {
		bool gap = false;
		int ret = net_rx_next_chain(net, c, &gap);
		uint32_t n;

		if (ret < 0)
			return NET_RX_ERROR;
		if (gap && nr) {
			if (net_rx_release(net, nr))
				return NET_RX_ERROR;
			nr = 0;
			done = 0;
		}
		if (ret == 0)
			break;
		if (!mrg && c->write_len < len) {
			virtq_unpop(vq);
			net_rx_drop(net, "larger than the guest's rx buffers");
			return NET_RX_DONE;
		}
		n = c->write_len < len - done ? c->write_len : len - done;
		virtq_chain_write(net->mem, c, 0, net->rx_frame + done, n);
		if (!nr)
			net_rx_keep_first(net, c);
		net->rx_heads[nr] = c->head;
		net->rx_lens[nr++] = n;
		done += n;
	}
	if (done < len) {
		net_rx_unpop(net, nr);
		/* Every buffer the ring can hold is taken and the frame still does not fit. */
		if (nr >= vq->size) {
			net_rx_drop(net, "larger than all the guest's rx buffers together");
			return NET_RX_DONE;
		}
		metric_inc(&g_metrics.net.no_rx_avail_buffer);
		return NET_RX_WAIT;
	}
	if (!virtio_limiter_allows(&net->rx_limiter, len, 1)) {
		net_rx_unpop(net, nr);
		metric_inc(&g_metrics.net.rx_rate_limiter_throttled);
		return NET_RX_WAIT;
	}
	return net_rx_publish(net, nr);
}

/* Does the rx ring have a buffer? If not, ask the driver to notify when it adds one. */
static bool net_rx_buffer_waiting(struct net_dev *net)
{
	struct virtq *vq = virtio_mmio_queue(net->mmio, NET_RX_QUEUE);
	uint16_t pending;

	if (virtq_avail_pending(vq, net->mem, &pending))
		return false;
	if (pending || virtq_enable_notify(vq, net->mem))
		return true;
	metric_inc(&g_metrics.net.no_rx_avail_buffer);
	return false;
}

/*
 * Take the next frame off the tap into rx_frame, but only while the guest
 * has somewhere to put it. True when a frame (or a reason to look again) was
 * read; false when the tap is drained, there is no buffer, or reading failed.
 */
static bool net_rx_read_tap(struct net_dev *net)
{
	ssize_t n;

	if (!net_rx_buffer_waiting(net))
		return false;
	do
		n = read(net->tap_fd, net->rx_frame, sizeof(net->rx_frame));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN)
			return false;
		/* Edge-triggered: the next tap event (or queue notify) tries again. */
		metric_inc(&g_metrics.net.tap_read_fails);
		virtio_mmio_log_guest_error(net->mmio, "tap read: %s", strerror(errno));
		return false;
	}
	if ((size_t)n < NET_HDR_LEN) {
		metric_inc(&g_metrics.net.tap_read_fails);
		return true; /* skip it: not even a header */
	}
	net->rx_len = (uint32_t)n;
	return true;
}

/*
 * Build MMDS's next frame into rx_frame, when it has one and the guest has
 * somewhere to put it. A complete frame: the virtio-net header is all zero
 * (no offload metadata; num_buffers is set on delivery).
 */
static bool net_rx_read_mmds(struct net_dev *net)
{
	uint64_t now = net_now_ns();
	size_t n;

	if (!net->mmds || !mmds_stack_has_frame(net->mmds, now) || !net_rx_buffer_waiting(net))
		return false;
	n = mmds_stack_next_frame(net->mmds, net->rx_frame + NET_HDR_LEN,
				  sizeof(net->rx_frame) - NET_HDR_LEN, now);
	if (!n)
		return false;
	memset(net->rx_frame, 0, NET_HDR_LEN);
	net->rx_len = (uint32_t)(NET_HDR_LEN + n);
	metric_inc(&g_metrics.mmds.tx_frames);
	metric_add(&g_metrics.mmds.tx_bytes, n);
	return true;
}

/*
 * The next frame for the guest, from MMDS or the tap in turn, so that
 * neither a busy tap nor a chatty MMDS connection starves the other. True
 * when there is one (or a reason to look again), as net_rx_read_tap().
 */
static bool net_rx_fill(struct net_dev *net)
{
	bool mmds_first = !net->rx_mmds_last;

	if (mmds_first && net_rx_read_mmds(net)) {
		net->rx_mmds_last = true;
		return true;
	}
	if (net_rx_read_tap(net)) {
		net->rx_mmds_last = false;
		return true;
	}
	if (!mmds_first && net_rx_read_mmds(net)) {
		net->rx_mmds_last = true;
		return true;
	}
	return false;
}

static void net_rx(struct net_dev *net)
{
	for (;;) {
		if (!net->rx_len && !net_rx_fill(net))
			break;
		if (net->rx_len && net_rx_deliver(net) != NET_RX_DONE)
			break;
	}
	virtio_mmio_signal_used(net->mmio, NET_RX_QUEUE);
}

static void net_process_queue(struct virtio_mmio_dev *dev, unsigned int q)
{
	struct net_dev *net = virtio_mmio_backend(dev);

	if (q == NET_RX_QUEUE)
		net_rx(net);
	else
		net_tx(net);
}

/* ---- event loop -------------------------------------------------------------- */

/*
 * The tap has new frames. Edge-triggered, so a tap the device stopped
 * reading (no rx buffer, throttled) costs one wakeup per arriving frame and
 * no polling; the rx queue notify or the limiter resumes the reading.
 */
static void net_tap_event(void *opaque, uint32_t events)
{
	struct net_dev *net = opaque;

	(void)events;
	metric_inc(&g_metrics.net.rx_tap_event_count);
	virtio_mmio_kick(net->mmio, NET_RX_QUEUE);
}

static int net_attach(struct virtio_mmio_dev *dev, struct event_loop *loop)
{
	struct net_dev *net = virtio_mmio_backend(dev);

	return event_loop_add(loop, net->tap_fd, EPOLLIN | EPOLLET, net_tap_event, net);
}

static void net_detach(struct virtio_mmio_dev *dev, struct event_loop *loop)
{
	struct net_dev *net = virtio_mmio_backend(dev);

	event_loop_del(loop, net->tap_fd);
}

/*
 * Snapshots: the MAC the guest saw (a generated one would differ in the new
 * process). The transport saves the rings; a frame waiting in rx_frame is
 * not kept, as a frame on the wire at that moment would be lost.
 */
static int net_save(struct virtio_mmio_dev *dev, struct vmstate_writer *w)
{
	struct net_dev *net = virtio_mmio_backend(dev);

	vmstate_put_bytes(w, net->mac, NET_MAC_LEN);
	return w->err;
}

static int net_restore(struct virtio_mmio_dev *dev, struct vmstate_reader *r)
{
	struct net_dev *net = virtio_mmio_backend(dev);
	uint8_t mac[NET_MAC_LEN];

	vmstate_get_bytes(r, mac, sizeof(mac));
	if (r->err)
		return r->err;
	memcpy(net->mac, mac, sizeof(mac));
	return 0;
}

static const struct virtio_device_ops net_ops = {
    .name = "net",
    .device_id = VIRTIO_ID_NET,
    .num_queues = NET_NUM_QUEUES,
    .queue_max_size = NET_QUEUE_SIZE,
    .config_size = NET_CONFIG_SIZE,
    .config_read = net_config_read,
    .config_write = net_config_write,
    .activate = net_activate,
    .reset = net_reset,
    .process_queue = net_process_queue,
    .attach = net_attach,
    .detach = net_detach,
    .save = net_save,
    .restore = net_restore,
};

/* ---- lifecycle ---------------------------------------------------------------- */

/* 06:r:r:r:slot: locally administered unicast; see net.h for why these bytes. */
static void net_generate_mac(uint64_t base, uint8_t mac[NET_MAC_LEN])
{
	uint64_t slot = base >= LAYOUT_VIRTIO_START
			    ? (base - LAYOUT_VIRTIO_START) / LAYOUT_VIRTIO_STRIDE
			    : base / LAYOUT_VIRTIO_STRIDE;
	uint8_t rnd[3] = {0};

	/* Uniqueness inside the process comes from the slot; a failed getrandom keeps it. */
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0, sizeof(rnd));
	mac[0] = 0x06;
	memcpy(mac + 1, rnd, sizeof(rnd));
	mac[4] = (uint8_t)(slot >> 8);
	mac[5] = (uint8_t)slot;
}

static uint64_t net_features(const struct net_dev *net)
{
	uint64_t features = NET_FEATURES;

	if (net->mtu)
		features |= VIRTIO_BIT(VIRTIO_NET_F_MTU);
	return features;
}

static int net_check_mtu(const struct net_config *cfg, char *err, size_t errlen)
{
	if (cfg->has_mtu && cfg->mtu < NET_MTU_MIN) {
		snprintf(err, errlen, "MTU %u is out of range [%u, 65535]", cfg->mtu, NET_MTU_MIN);
		return -EINVAL;
	}
	return 0;
}

int net_create(struct net_dev **out, const struct net_config *cfg, const struct guest_mem *mem,
	       uint64_t base, uint32_t gsi, char *err, size_t errlen)
{
	int fd, ret;

	ret = net_check_mtu(cfg, err, errlen);
	if (ret)
		return ret;
	if (!cfg->host_dev_name) {
		snprintf(err, errlen, "Open tap device failed: Invalid interface name");
		return -EINVAL;
	}
	fd = net_tap_open(cfg->host_dev_name, err, errlen);
	if (fd < 0)
		return fd;
	/* A persistent tap keeps the offloads of its last user: start from none. */
	ret = net_tap_set_offload(fd, 0);
	if (ret) {
		snprintf(err, errlen, "Error while setting the offload flags: %s (os error %d)",
			 strerror(-ret), -ret);
		close(fd);
		return ret;
	}
	return net_create_on_fd(out, cfg, fd, mem, base, gsi, err, errlen);
}

int net_create_on_fd(struct net_dev **out, const struct net_config *cfg, int fd,
		     const struct guest_mem *mem, uint64_t base, uint32_t gsi, char *err,
		     size_t errlen)
{
	struct net_dev *net;
	int ret;

	ret = net_check_mtu(cfg, err, errlen);
	if (ret) {
		close(fd);
		return ret;
	}
	net = calloc(1, sizeof(*net));
	if (!net) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return -ENOMEM;
	}
	net->tap_fd = fd;
	net->mem = mem;
	net->mtu = cfg->has_mtu ? cfg->mtu : 0;
	net->rx_min_buffer = NET_MIN_RX_BUFFER;
	if (cfg->has_guest_mac)
		memcpy(net->mac, cfg->guest_mac, NET_MAC_LEN);
	else
		net_generate_mac(base, net->mac);

	ret = virtio_mmio_create(&net->mmio, &net_ops, net, mem, base, gsi, net_features(net));
	if (ret) {
		snprintf(err, errlen, "Cannot create the virtio-mmio transport: %s",
			 strerror(-ret));
		net_destroy(net);
		return ret;
	}
	*out = net;
	return 0;
}

void net_destroy(struct net_dev *net)
{
	if (!net)
		return;
	virtio_mmio_destroy(net->mmio);
	mmds_stack_destroy(net->mmds);
	if (net->tap_fd >= 0)
		close(net->tap_fd);
	free(net);
}

struct virtio_mmio_dev *net_mmio(struct net_dev *net)
{
	return net->mmio;
}

void net_guest_mac(struct net_dev *net, uint8_t mac[NET_MAC_LEN])
{
	memcpy(mac, net->mac, NET_MAC_LEN);
}

void net_set_limiters(struct net_dev *net, const struct virtio_limiter *rx,
		      const struct virtio_limiter *tx)
{
	virtio_mmio_lock(net->mmio);
	if (rx)
		net->rx_limiter = *rx;
	if (tx)
		net->tx_limiter = *tx;
	virtio_mmio_unlock(net->mmio);
}

int net_attach_mmds(struct net_dev *net, struct mmds *m)
{
	struct mmds_stack *stack = mmds_stack_create(m);

	if (!stack)
		return -ENOMEM;
	virtio_mmio_lock(net->mmio);
	mmds_stack_destroy(net->mmds);
	net->mmds = stack;
	virtio_mmio_unlock(net->mmio);
	return 0;
}
