// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: virtio-net tx and rx against a hostile guest. The device runs
 * on one end of a SOCK_SEQPACKET socketpair (net_create_on_fd(): one frame
 * per read/write, like a tap, no root needed); the harness holds the other
 * end as the host's side of the wire.
 *
 * The input (fuzz_dev.h) sets up the rx (0) and tx (1) queues, the features
 * (MRG_RXBUF, GSO, ...) and the guest memory image; its host data is a list
 * of frames the host sends towards the guest, each a le16 length then that
 * many bytes (virtio-net header first, as on a tap). The rx and tx queues are
 * then kicked as the input says.
 *
 * Checked, beyond the sanitizers: every frame the device put on the wire is
 * a whole frame of 12 to 65562 bytes, and what arrived is exactly what the
 * device counted as sent (tx_packets_count, tx_bytes_count); the guest is
 * never credited with more frames or bytes than the host sent.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/fuzz/fuzz_dev.h"
#include "vmm/mem/layout.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "devices/virtio/net.h"
#include "devices/virtio/virtio_mmio.h"

#define FUZZ_NET_MAX_HOST_FRAMES 32
#define FUZZ_NET_SOCKBUF	 (4 * 1024 * 1024)

static struct {
	struct guest_mem mem;
	struct net_dev *net;
	int dev_fd;  /* the device's end (it owns it) */
	int host_fd; /* the host's end of the wire */
	unsigned int limiter_calls;
	uint8_t frame[NET_MAX_FRAME + 1];
} fz;

static void fuzz_init(void)
{
	struct net_config cfg = {.has_guest_mac = true,
				 .guest_mac = {0x06, 0, 0, 0, 0, 1},
				 .has_mtu = true,
				 .mtu = 1500};
	int size = FUZZ_NET_SOCKBUF, sv[2];
	char err[256];

	log_set_level(LOG_OFF);
	if (guest_mem_create(&fz.mem, FUZZ_DEV_RAM))
		abort();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		abort();
	for (int i = 0; i < 2; i++) {
		/* Best effort: without it a burst of big frames fills the buffer sooner. */
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
	fz.dev_fd = sv[0];
	fz.host_fd = sv[1];
	if (net_create_on_fd(&fz.net, &cfg, fz.dev_fd, &fz.mem, LAYOUT_VIRTIO_START, 5, err,
			     sizeof(err))) {
		fprintf(stderr, "fuzz: %s\n", err);
		abort();
	}
}

/* Throw away whatever is queued on @fd. */
static void drain(int fd)
{
	while (read(fd, fz.frame, sizeof(fz.frame)) >= 0)
		;
}

/* Send the input's host frames towards the guest; returns how many bytes went. */
static uint64_t host_send(const struct fuzz_dev_input *in, unsigned int *frames)
{
	const uint8_t *p = in->host;
	size_t left = in->host_len;
	uint64_t bytes = 0;

	*frames = 0;
	while (left >= 2 && *frames < FUZZ_NET_MAX_HOST_FRAMES) {
		size_t len = (size_t)p[0] | (size_t)p[1] << 8;
		ssize_t n;

		p += 2;
		left -= 2;
		if (len > left)
			len = left;
		n = write(fz.host_fd, p, len);
		if (n == (ssize_t)len) {
			(*frames)++;
			bytes += len;
		}
		p += len;
		left -= len;
	}
	return bytes;
}

/* Every frame on the wire is whole and sized as a frame; returns count and bytes. */
static void host_receive(uint64_t *frames, uint64_t *bytes)
{
	ssize_t n;

	*frames = 0;
	*bytes = 0;
	while ((n = read(fz.host_fd, fz.frame, sizeof(fz.frame))) >= 0) {
		if (n < (ssize_t)NET_HDR_LEN || n > (ssize_t)NET_MAX_FRAME)
			__builtin_trap();
		(*frames)++;
		*bytes += (uint64_t)n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	struct virtio_limiter lim = {0};
	struct fuzz_dev_input in;
	struct virtio_mmio_dev *dev;
	uint64_t tx_pkts, tx_bytes, rx_pkts, rx_bytes, wire_frames, wire_bytes, sent_bytes;
	unsigned int sent_frames;

	if (!initialised) {
		fuzz_init();
		initialised = 1;
	}
	if (!fuzz_dev_parse(data, size, &in))
		return 0;
	dev = net_mmio(fz.net);
	drain(fz.dev_fd);
	drain(fz.host_fd);
	fuzz_dev_load_image(&fz.mem, &in);
	if (in.h.flags & FUZZ_DEV_LIMITER) {
		fz.limiter_calls = 0;
		lim.may_consume = fuzz_dev_limiter;
		lim.ctx = &fz.limiter_calls;
	}
	net_set_limiters(fz.net, &lim, &lim);

	tx_pkts = g_metrics.net.tx_packets_count;
	tx_bytes = g_metrics.net.tx_bytes_count;
	rx_pkts = g_metrics.net.rx_packets_count;
	rx_bytes = g_metrics.net.rx_bytes_count;

	fuzz_dev_bring_up(dev, &in, NET_NUM_QUEUES);
	sent_bytes = host_send(&in, &sent_frames);
	fuzz_dev_kicks(dev, &in, NET_NUM_QUEUES);
	host_receive(&wire_frames, &wire_bytes);

	if (wire_frames != g_metrics.net.tx_packets_count - tx_pkts ||
	    wire_bytes != g_metrics.net.tx_bytes_count - tx_bytes)
		__builtin_trap();
	if (g_metrics.net.rx_packets_count - rx_pkts > sent_frames ||
	    g_metrics.net.rx_bytes_count - rx_bytes > sent_bytes)
		__builtin_trap();

	/* Leave the device reset for the next input. */
	fuzz_dev_reset(dev);
	return 0;
}
