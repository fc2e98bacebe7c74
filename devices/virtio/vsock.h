/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock (virtio 1.x 5.10) backed by host Unix sockets, Firecracker's
 * hybrid design (PUT /vsock {guest_cid, uds_path}):
 *
 *   - host-initiated: connect to uds_path, write "CONNECT <port>\n", read
 *     "OK <host port>\n" once the guest accepted, then the stream is the
 *     connection;
 *   - guest-initiated: a connection to host (CID 2) port P is a connection to
 *     the Unix socket "<uds_path>_P"; nothing listening there -> RST.
 *
 * Queues: 0 rx (device -> guest packets), 1 tx (guest -> device), 2 event
 * (buffers kept for VIRTIO_VSOCK_EVENT_TRANSPORT_RESET, vsock_send_transport_reset()).
 * All 256 entries. Config space: guest_cid (le64). Features: VERSION_1,
 * EVENT_IDX, INDIRECT_DESC; stream sockets only (no SEQPACKET).
 *
 * uds_path is bound at vsock_create() (a stale socket file is replaced) and
 * removed at vsock_destroy(). The guest is untrusted: malformed packets (a
 * header shorter than 44 bytes, len past the buffer or above 64 KiB, wrong
 * CIDs, unknown type or op, data beyond its credit) are counted in
 * g_metrics.vsock, logged (rate limited) and answered with RST where a peer
 * exists; they never reach host memory outside the guest.
 *
 * Wiring is the transport's (virtio_mmio.h); virtio_mmio_attach() also
 * registers the device's socket muxer with the VMM loop. A driver reset
 * closes every connection. Snapshots (virtio_mmio_save/restore) do what
 * Firecracker does: the guest gets a TRANSPORT_RESET event in the saved
 * memory, host connections are closed, and the CID is kept.
 *
 * Host syscalls on the VMM thread while the guest runs: accept4, socket
 * (AF_UNIX), connect, read, readv, sendmsg, shutdown, close, epoll_ctl,
 * epoll_wait, timerfd_settime (see vmm/seccomp_policy.c).
 */
#ifndef EMBER_VIRTIO_VSOCK_H
#define EMBER_VIRTIO_VSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/mem/guest_mem.h"
#include "vmm/config/vmm_config.h"

#define VSOCK_QUEUE_SIZE 256U
#define VSOCK_RXQ	 0U
#define VSOCK_TXQ	 1U
#define VSOCK_EVQ	 2U
#define VSOCK_MIN_CID	 3U /* 0-2 are reserved (any, hypervisor, host) */

struct vsock_dev;
struct virtio_mmio_dev;

/*
 * Create the device at @base/@gsi for @cfg (any guest_cid, uds_path set)
 * and start listening on cfg->uds_path. 0 or -errno with a user-facing
 * reason in @err.
 */
int vsock_create(struct vsock_dev **out, const struct vsock_config *cfg,
		 const struct guest_mem *mem, uint64_t base, uint32_t gsi, char *err,
		 size_t errlen);
/* Closes every socket and removes the uds_path socket file (detach from the loop first). */
void vsock_destroy(struct vsock_dev *vs);

struct virtio_mmio_dev *vsock_mmio(struct vsock_dev *vs);
uint64_t vsock_guest_cid(const struct vsock_dev *vs);

/* Live connections (any state). Takes the device lock. */
unsigned int vsock_connection_count(struct vsock_dev *vs);

/*
 * Post VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on the event queue (after a
 * snapshot restore the guest must drop its connections and re-read the CID).
 * VMM thread. 0, -ENODEV (driver not running), -ENOBUFS (no event buffer),
 * -EINVAL (buffer too small or malformed), -EIO (ring corrupt).
 */
int vsock_send_transport_reset(struct vsock_dev *vs);

#endif
