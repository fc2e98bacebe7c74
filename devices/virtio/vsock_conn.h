/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One vsock stream connection between a guest AF_VSOCK socket and a host
 * AF_UNIX stream: the connection state machine and credit-based flow control
 * of virtio 1.x 5.10.6, with Firecracker's hybrid-vsock behaviour.
 *
 * States:
 *   LOCAL_INIT   host-initiated ("CONNECT <port>"): a REQUEST is owed to or
 *                was sent to the guest; RESPONSE -> ESTABLISHED (and "OK <lp>"
 *                to the host), no RESPONSE within 2 s -> killed.
 *   PEER_INIT    guest-initiated: the host stream is connected and a RESPONSE
 *                is owed; sending it makes the connection ESTABLISHED.
 *   ESTABLISHED  data both ways. Each direction may be shut down on its own:
 *                the guest's SHUTDOWN flags (peer_shut) and the host stream's
 *                end of data (host_eof) are tracked separately; a guest
 *                SHUTDOWN(SEND) becomes shutdown(SHUT_WR) of the host stream
 *                once its buffered bytes are out, a host half-close becomes a
 *                SHUTDOWN(SEND) to the guest. When neither direction is left,
 *                the device sends RST and the connection ends.
 *   LOCAL_CLOSED the host stream hung up: SHUTDOWN(RCV|SEND) was sent, the
 *                guest's RST is awaited for 2 s, then RST is sent anyway.
 *   KILLED       an error, a timeout or the end: the host stream is closed
 *                and only an RST to the guest is left to send.
 *
 * Flow control (all counters free-running mod 2^32): never more bytes to
 * the guest than its buf_alloc - (rx_cnt - its fwd_cnt); our own buf_alloc
 * is VSOCK_TXBUF_SIZE and fwd_cnt counts guest bytes the host stream took.
 * A CREDIT_UPDATE is owed when the guest may think less than 4 KiB is free.
 *
 * The muxer owns the fd's registration in its epoll set, the connection
 * table and the rx queue; everything here runs under the device lock.
 */
#ifndef EMBER_VSOCK_CONN_H
#define EMBER_VSOCK_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "devices/virtio/vsock_packet.h"
#include "devices/virtio/vsock_txbuf.h"

#define VSOCK_CREDIT_UPDATE_THRESHOLD  (4U * 1024)
#define VSOCK_CONN_REQUEST_TIMEOUT_NS  (2000ULL * 1000 * 1000)
#define VSOCK_CONN_SHUTDOWN_TIMEOUT_NS (2000ULL * 1000 * 1000)

enum vsock_conn_state {
	VSOCK_CONN_LOCAL_INIT,
	VSOCK_CONN_PEER_INIT,
	VSOCK_CONN_ESTABLISHED,
	VSOCK_CONN_LOCAL_CLOSED,
	VSOCK_CONN_KILLED,
};

/* Packets a connection owes the guest: bits of vsock_conn.pending. */
enum {
	VSOCK_PEND_RST = 1U << 0,
	VSOCK_PEND_RESPONSE = 1U << 1,
	VSOCK_PEND_REQUEST = 1U << 2,
	VSOCK_PEND_SHUTDOWN = 1U << 3,
	VSOCK_PEND_RW = 1U << 4, /* the host stream has data (or its end) to read */
	VSOCK_PEND_CREDIT_REQUEST = 1U << 5,
	VSOCK_PEND_CREDIT_UPDATE = 1U << 6,
};

/* What an entry of the muxer's epoll set is; first member of each entry. */
enum vsock_poll_kind {
	VSOCK_POLL_LISTENER,
	VSOCK_POLL_TIMER,
	VSOCK_POLL_HANDSHAKE,
	VSOCK_POLL_CONN,
};

struct vsock_conn {
	enum vsock_poll_kind kind; /* VSOCK_POLL_CONN: the muxer's epoll tag */

	/* Muxer bookkeeping. */
	struct vsock_conn *hash_next;
	struct vsock_conn *rxq_next;
	bool in_rxq;
	bool registered; /* fd is in the muxer's epoll set */
	uint32_t polled; /* with the events */

	int fd; /* the host stream, -1 once closed */
	uint64_t local_cid, peer_cid;
	uint32_t local_port, peer_port;
	enum vsock_conn_state state;
	unsigned int pending;	 /* VSOCK_PEND_* */
	uint32_t shutdown_flags; /* flags of the pending SHUTDOWN */
	uint32_t peer_shut;	 /* VIRTIO_VSOCK_SHUTDOWN_* the guest announced, ORed */
	bool host_eof;		 /* the host stream sends no more */
	bool host_hup;		 /* EPOLLHUP: the host closed; the stream is no longer polled */
	bool host_wr_shut;	 /* we shut down the host stream's write side */

	uint32_t fwd_cnt;	       /* guest bytes written to the host stream */
	uint32_t last_fwd_cnt_to_peer; /* fwd_cnt as last told to the guest */
	uint32_t rx_cnt;	       /* payload bytes sent to the guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	bool credit_requested; /* CREDIT_REQUEST sent since the guest's last credit info */
	struct vsock_txbuf txbuf;
	uint64_t expiry_ns; /* CLOCK_MONOTONIC deadline of a timeout, 0: none */
};

static inline uint64_t vsock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Host-initiated, owing the guest a REQUEST. Takes @fd. NULL on ENOMEM. */
struct vsock_conn *vsock_conn_new_local(int fd, uint64_t guest_cid, uint32_t local_port,
					uint32_t peer_port);
/* Guest-initiated by @request, owing it a RESPONSE. Takes @fd. NULL on ENOMEM. */
struct vsock_conn *vsock_conn_new_peer(int fd, const struct vsock_hdr *request);
/* Closes the host stream if still open. The muxer unregisters it first. */
void vsock_conn_free(struct vsock_conn *c);

/* A packet from the guest for this connection (not an RST: the muxer handles those). */
void vsock_conn_send_pkt(struct vsock_conn *c, const struct vsock_tx_pkt *pkt, uint64_t now);

/*
 * Fill @pkt with the next packet owed to the guest (reading host stream data
 * straight into the guest buffer for RW). False when there is none now.
 */
bool vsock_conn_recv_pkt(struct vsock_conn *c, struct vsock_rx_pkt *pkt, uint64_t now);

/* epoll @events on the host stream. */
void vsock_conn_notify(struct vsock_conn *c, uint32_t events, uint64_t now);

/*
 * Should the host stream be in the epoll set (even with no events, for
 * EPOLLHUP), and for which events?
 */
bool vsock_conn_wants_poll(const struct vsock_conn *c);
uint32_t vsock_conn_polled_events(const struct vsock_conn *c);

/* Is a packet for the guest ready (the muxer keeps such connections on its rx queue)? */
bool vsock_conn_has_pending_rx(const struct vsock_conn *c);

/* Bytes the guest can take now: its buf_alloc - (rx_cnt - its fwd_cnt), never negative. */
uint32_t vsock_conn_peer_credit(const struct vsock_conn *c);

/* Error: RST to the guest, host stream to be closed (the muxer closes it). */
void vsock_conn_kill(struct vsock_conn *c);

/* The deadline passed: kill it. */
void vsock_conn_expire(struct vsock_conn *c);

#endif
