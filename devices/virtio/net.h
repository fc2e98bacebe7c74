/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net backed by a host TAP interface (Firecracker's PUT
 * /network-interfaces semantics). Queue 0 is rx (host -> guest), queue 1 tx.
 *
 * Features, as Firecracker offers them: VERSION_1, EVENT_IDX, CSUM,
 * GUEST_CSUM, GUEST_TSO4/6, GUEST_UFO, HOST_TSO4/6, HOST_UFO, MRG_RXBUF,
 * plus INDIRECT_DESC (every Ember device has it), MAC and, with an mtu, MTU.
 * The guest's GUEST_* choices become the tap's TUNSETOFFLOAD flags when the
 * driver sets DRIVER_OK (on the vCPU thread, as in Firecracker, whose vCPU
 * seccomp filter allows that ioctl; issued only when the flags change, and
 * net_create() clears whatever a persistent tap kept from its last user).
 * GSO bits without their checksum bit (5.1.3.1) fail activation and the
 * device asks for a reset.
 *
 * Config space (12 bytes, struct virtio_net_config): mac, status (0, STATUS
 * is not offered), max_virtqueue_pairs (0), mtu. Driver writes are ignored
 * and counted (net.cfg_fails).
 *
 * Guest MAC: guest_mac when given; otherwise generated per device as
 * 06:r1:r2:r3:s_hi:s_lo, where 06 is a locally administered unicast prefix,
 * r1-r3 come from getrandom() and s is the device's virtio-mmio slot index
 * ((base - LAYOUT_VIRTIO_START) / LAYOUT_VIRTIO_STRIDE). The slot makes it
 * unique among the devices of one process (every device has its own slot);
 * the random bytes make it unlikely to repeat across processes (a pid would
 * repeat when the jailer starts each VMM in a new PID namespace). Set
 * guest_mac when MACs must be unique across hosts or VMs by construction.
 *
 * tx: each chain is one frame: a 12-byte header then the Ethernet frame,
 * device-readable only, at most NET_MAX_FRAME bytes. It is copied out of
 * guest memory (bounds-checked chain walker) and written to the tap with one
 * write(), then completed with used length 0.
 *
 * rx: the tap fd sits on the VMM event loop edge-triggered. A frame is read
 * from the tap only once an rx buffer is available, into a bounce buffer;
 * then it is copied into one chain (or, with MRG_RXBUF, as many chains as it
 * takes, num_buffers set) and all of them are published at once. With no rx
 * buffer the device stops reading the tap (frames wait in the tap's own
 * queue) until the driver adds buffers and notifies queue 0. A frame larger
 * than what the guest can ever post is dropped and counted.
 *
 * The rx frame bytes (and the rx limiter's bytes) include the 12-byte header.
 * A frame read but not yet published (throttled, or waiting for buffers) is
 * dropped and counted when the driver resets the device.
 *
 * Hostile guest: malformed chains complete with used length 0 and are
 * counted (virtio.chain_errors, net.rx_fails, net.tx_fails,
 * net.tx_malformed_frames); nothing outside guest RAM is touched.
 *
 * Snapshots: the device saves the MAC the guest saw (restored over a newly
 * generated one); the rings are the transport's.
 */
#ifndef EMBER_VIRTIO_NET_H
#define EMBER_VIRTIO_NET_H

#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_net.h>

#include "vmm/mem/guest_mem.h"
#include "devices/virtio/virtio.h"
#include "vmm/config/vmm_config.h"

#define NET_QUEUE_SIZE 256U
#define NET_RX_QUEUE   0U
#define NET_TX_QUEUE   1U
#define NET_NUM_QUEUES 2U

/* Largest frame handled, virtio-net header included (Firecracker's MAX_BUFFER_SIZE). */
#define NET_MAX_FRAME 65562U
#define NET_HDR_LEN   sizeof(struct virtio_net_hdr_v1)
/* Smallest rx buffer without MRG_RXBUF and without guest GSO: header + 1514-byte frame. */
#define NET_MIN_RX_BUFFER 1526U

#define NET_MTU_MIN 68U
#define NET_MAC_LEN 6U

struct net_dev;
struct virtio_mmio_dev;

/*
 * Open the tap @cfg->host_dev_name and create the device at @base/@gsi.
 * 0 or -errno with a user-facing reason in @err: the tap cannot be opened
 * (Firecracker's "Open tap device failed: ..." text, see tap.h) or the mtu is
 * outside [68, 65535] ("MTU <n> is out of range [68, 65535]").
 * The rate limiters start unset (never throttle); see net_set_limiters().
 */
int net_create(struct net_dev **out, const struct net_config *cfg, const struct guest_mem *mem,
	       uint64_t base, uint32_t gsi, char *err, size_t errlen);
/*
 * As net_create(), on @fd instead of a tap opened by name: any fd that moves
 * one frame (12-byte header first) per read() and write(), nonblocking, e.g.
 * a tap the caller opened or a SOCK_SEQPACKET socketpair end (unit tests and
 * fuzzing, without root). Takes @fd: closed on failure too. No TUNSETOFFLOAD
 * here: the fd is taken to carry no offloads (a guest taking GUEST_* offloads
 * makes activation issue it, which fails on a non-tap fd). host_dev_name is
 * not used.
 */
int net_create_on_fd(struct net_dev **out, const struct net_config *cfg, int fd,
		     const struct guest_mem *mem, uint64_t base, uint32_t gsi, char *err,
		     size_t errlen);
/* Frees everything and closes the tap (detach from the loop first). NULL is fine. */
void net_destroy(struct net_dev *net);

struct virtio_mmio_dev *net_mmio(struct net_dev *net);

/* The MAC the guest sees in config space (guest_mac or the generated one). */
void net_guest_mac(struct net_dev *net, uint8_t mac[NET_MAC_LEN]);

/*
 * Install the rx and tx rate limiter hooks (PATCH /network-interfaces, or at
 * setup). Either may be NULL to leave that direction as it is. Per frame:
 * ops = 1, bytes = the frame's length including the 12-byte header. A
 * blocked limiter must later call virtio_mmio_kick(net_mmio(net), q) with
 * q = NET_RX_QUEUE or NET_TX_QUEUE respectively.
 */
void net_set_limiters(struct net_dev *net, const struct virtio_limiter *rx,
		      const struct virtio_limiter *tx);

struct mmds;
/*
 * Attach the device to MMDS @m (PUT /mmds/config named its iface_id): from
 * then on, tx frames for the MMDS address (ARP for it, IPv4 to it) go to a
 * network stack of its own (devices/mmds/mmds_stack.h) instead of the tap,
 * without costing tx tokens, and the stack's frames reach the rx queue in
 * turn with the tap's, through the same rx path (rx limiter included).
 * Metrics: mmds.rx_accepted per frame taken, mmds.tx_frames/tx_bytes per
 * frame delivered. 0 or -ENOMEM.
 */
int net_attach_mmds(struct net_dev *net, struct mmds *m);

#endif
