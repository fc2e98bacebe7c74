/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Unix-socket side of virtio-vsock, Firecracker's hybrid design:
 *
 *   host-initiated: a host client connects to uds_path and writes
 *     "CONNECT <port>\n"; the muxer picks a local port (round robin in
 *     [2^30, 2^31), skipping ports in use), sends the guest a REQUEST from
 *     it, and on the guest's RESPONSE the client reads "OK <local port>\n";
 *     then the stream carries the connection's bytes.
 *   guest-initiated: a REQUEST to host port P connects to "<uds_path>_P";
 *     if nothing listens there the guest gets an RST.
 *
 * The muxer owns every host socket (the listener, accepted streams still
 * waiting for their CONNECT line, and each connection's stream), all
 * non-blocking and registered in its own epoll set, whose fd the device
 * registers with the VMM loop (so sockets can be added and dropped from any
 * thread under the device lock). It routes guest packets to connections by
 * (local port, peer port), queues the packets owed to the guest, and runs the
 * connection timeouts off one timerfd. At most VSOCK_MAX_CONNECTIONS
 * connections (plus streams in the CONNECT handshake) exist at a time.
 *
 * Every function runs under the device lock.
 */
#ifndef EMBER_VSOCK_MUXER_H
#define EMBER_VSOCK_MUXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "devices/virtio/vsock_conn.h"
#include "devices/virtio/vsock_packet.h"

#define VSOCK_MAX_CONNECTIONS  1023 /* Firecracker's MAX_CONNECTIONS */
#define VSOCK_RST_QUEUE_SIZE   256  /* RSTs for packets without a connection */
#define VSOCK_CONN_BUCKETS     256
#define VSOCK_CONNECT_LINE_MAX 32 /* "CONNECT <port>\n" and some slack */
#define VSOCK_LOCAL_PORT_FIRST (1U << 30)
#define VSOCK_UDS_PATH_MAX     (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* An accepted host stream that has not sent its "CONNECT <port>\n" yet. */
struct vsock_handshake {
	enum vsock_poll_kind kind; /* VSOCK_POLL_HANDSHAKE */
	struct vsock_handshake *next;
	int fd;
	size_t len;
	char line[VSOCK_CONNECT_LINE_MAX];
};

struct vsock_rst {
	uint32_t local_port, peer_port;
};

struct vsock_muxer {
	uint64_t guest_cid;
	char uds_path[VSOCK_UDS_PATH_MAX + 1];

	int epfd, listen_fd, timer_fd;
	enum vsock_poll_kind listen_tag, timer_tag;
	bool listen_paused;	 /* out of fds: not accepting until a socket is closed */
	uint64_t timer_deadline; /* armed CLOCK_MONOTONIC deadline, 0: disarmed */

	struct vsock_conn *buckets[VSOCK_CONN_BUCKETS];
	unsigned int nr_conns;
	struct vsock_handshake *handshakes;
	unsigned int nr_handshakes;

	/* Connections that owe the guest a packet, in order. */
	struct vsock_conn *rxq_head, *rxq_tail;
	/* RSTs answering packets that match no connection. */
	struct vsock_rst rst[VSOCK_RST_QUEUE_SIZE];
	unsigned int rst_head, rst_len;

	uint32_t local_port_last;
};

/*
 * Listen on @uds_path for the guest with @guest_cid. A stale socket file
 * (nothing accepts on it) is replaced; a live one or any other file is an
 * error. 0 or -errno with a reason in @err.
 */
int vsock_muxer_init(struct vsock_muxer *m, uint64_t guest_cid, const char *uds_path, char *err,
		     size_t errlen);
/* Close every socket and remove the uds_path socket file. */
void vsock_muxer_destroy(struct vsock_muxer *m);

/* The epoll fd to watch for EPOLLIN on the VMM loop. */
int vsock_muxer_fd(const struct vsock_muxer *m);
/* Handle whatever is ready on the muxer's sockets and timer (never blocks). */
void vsock_muxer_process_events(struct vsock_muxer *m);

/* Route a validated packet from the guest. */
void vsock_muxer_send_pkt(struct vsock_muxer *m, const struct vsock_tx_pkt *pkt);
/*
 * Refuse a packet the device found malformed: RST its connection (if any)
 * or answer it with an RST (unless it was one).
 */
void vsock_muxer_refuse(struct vsock_muxer *m, const struct vsock_hdr *hdr);

/* Fill @pkt with the next packet for the guest; false when there is none. */
bool vsock_muxer_recv_pkt(struct vsock_muxer *m, struct vsock_rx_pkt *pkt);
/* May vsock_muxer_recv_pkt() have something? (True may turn out to be nothing.) */
bool vsock_muxer_has_pending_rx(const struct vsock_muxer *m);

/* The driver reset the device: drop every connection and queued RST. */
void vsock_muxer_reset(struct vsock_muxer *m);

unsigned int vsock_muxer_nr_connections(const struct vsock_muxer *m);

#endif
