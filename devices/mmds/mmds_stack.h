/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MMDS network stack (Firecracker's "dumbo"): one per virtio-net device
 * attached to MMDS. The device hands it the Ethernet frames its guest sends
 * to the MMDS address (mmds_stack_is_mmds_frame()) instead of the tap, and
 * asks it for frames to put in the guest's rx queue.
 *
 * What it speaks, as Firecracker's does:
 *   ARP   requests for the MMDS address get a reply from MMDS_STACK_MAC
 *         (06:01:23:45:67:01); one reply waits at a time (a newer request
 *         replaces it).
 *   IPv4  header checksum checked; fragments, options-only nonsense and
 *         packets not to the MMDS address are dropped; protocols other than
 *         TCP are counted (mmds.rx_accepted_unusual) and dropped.
 *   TCP   port 80 only. A passive open per SYN, at most
 *         MMDS_STACK_MAX_CONNECTIONS connections (a new SYN on a full table
 *         evicts one that received nothing for MMDS_STACK_EVICT_NS, or gets
 *         a RST); RSTs for segments of no connection wait in a queue of at
 *         most MMDS_STACK_MAX_PENDING_RST (the surplus is not answered).
 *         Options ignored except MSS (536 when absent). In-order data only,
 *         into a receive window of MMDS_STACK_RCV_BUF bytes: a request that
 *         does not fit resets the connection. Sent data is retransmitted
 *         from the oldest unacknowledged byte (go-back-N) after
 *         MMDS_STACK_RTO_NS without progress or at the first duplicate ACK;
 *         MMDS_STACK_RTO_MAX timeouts in a row reset the connection. The
 *         checksum is checked unless the guest offloaded it (the virtio
 *         header's NEEDS_CSUM: the field then holds only a partial sum).
 *
 * A connection's bytes go to mmds_http_respond(); its response is sent in
 * segments of at most min(peer MSS, MMDS_STACK_MAX_PAYLOAD) bytes within
 * the peer's window, then a FIN when the responder asked to close (or the
 * guest closed its side). Frames are built on demand when the device has an
 * rx buffer: what waits is bounded by the connection table (at most
 * MMDS_STACK_RCV_BUF received bytes and one response each), the RST queue
 * and one ARP reply, whatever the guest sends.
 *
 * No timer of its own: retransmission timeouts are looked at whenever the
 * device processes a queue (mmds_stack_has_frame()), as in Firecracker.
 * VMM thread only; frames are plain buffers (no guest memory here).
 */
#ifndef EMBER_MMDS_STACK_H
#define EMBER_MMDS_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmds/mmds.h"

#define MMDS_STACK_TCP_PORT	   80U
#define MMDS_STACK_MAX_CONNECTIONS 30U
#define MMDS_STACK_MAX_PENDING_RST 100U
#define MMDS_STACK_RCV_BUF	   2500U /* largest request bytestream kept, plus one */
#define MMDS_STACK_MSS_DEFAULT	   536U
/* Largest TCP payload sent: a frame fits a 1514-byte Ethernet frame. */
#define MMDS_STACK_MAX_PAYLOAD 1460U
#define MMDS_STACK_MAX_FRAME   1514U
/* Firecracker's cycle counts, in the durations its comments give them. */
#define MMDS_STACK_RTO_NS   300000000ULL
#define MMDS_STACK_RTO_MAX  15U
#define MMDS_STACK_EVICT_NS 10000000000ULL

#define MMDS_STACK_MAC                                                                             \
	{                                                                                          \
		0x06, 0x01, 0x23, 0x45, 0x67, 0x01                                                 \
	}

struct mmds_stack;

/* A stack answering for @m (its address is read from @m on every frame). NULL: -ENOMEM. */
struct mmds_stack *mmds_stack_create(struct mmds *m);
void mmds_stack_destroy(struct mmds_stack *s);

/*
 * Is @frame (an Ethernet frame, no virtio header) for MMDS: an ARP packet
 * whose target is the MMDS address, or an IPv4 packet to it? Looks only at
 * those fields (as Firecracker's speculative test): such a frame never goes
 * to the tap, even when mmds_stack_receive() then finds it malformed.
 */
bool mmds_stack_is_mmds_frame(const struct mmds_stack *s, const uint8_t *frame, size_t len);

/*
 * Take one frame mmds_stack_is_mmds_frame() accepted. @csum_partial: the
 * guest left the transport checksum to the device (do not check it).
 * @now_ns: CLOCK_MONOTONIC. Malformed frames are counted and dropped.
 */
void mmds_stack_receive(struct mmds_stack *s, const uint8_t *frame, size_t len, bool csum_partial,
			uint64_t now_ns);

/* Is a frame ready for the guest at @now_ns (a reply, data, or a timeout expired)? */
bool mmds_stack_has_frame(struct mmds_stack *s, uint64_t now_ns);

/*
 * Write the next frame for the guest into @buf (@len >= MMDS_STACK_MAX_FRAME)
 * and return its length; 0 when there is none.
 */
size_t mmds_stack_next_frame(struct mmds_stack *s, uint8_t *buf, size_t len, uint64_t now_ns);

/*
 * Initial sequence numbers are SALT + now / 64 ns; SALT starts random. Tests
 * and fuzzing set it to get the same sequence numbers on every run.
 */
void mmds_stack_set_isn_salt(struct mmds_stack *s, uint32_t salt);

/* Live connections (tests). */
unsigned int mmds_stack_connections(const struct mmds_stack *s);

#endif
