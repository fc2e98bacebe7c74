/* SPDX-License-Identifier: Apache-2.0 */
/*
 * devices/mmds/ — the microVM metadata service (Firecracker's MMDS): the data
 * store and its configuration (version V1|V2, IPv4 address, imds_compat), V2
 * session tokens, the HTTP responder that answers the guest's requests, and
 * the guest-facing network stack (ARP, IPv4, a minimal TCP) that a virtio-net
 * device attached to MMDS hands its TX frames to.
 *
 * One struct mmds per VMM, owned by the VMM thread: the API's PUT/PATCH
 * /mmds and PUT /mmds/config reach it through the controller, the net
 * devices through mmds_stack. Nothing here is shared with another thread.
 *
 * The two halves meet at mmds_http_respond(): the stack (mmds_stack.c)
 * terminates the guest's TCP connections and hands each connection's bytes
 * to it; the responder (mmds_http.c, on top of the store and tokens) turns
 * one complete request into one response.
 */
#ifndef EMBER_MMDS_H
#define EMBER_MMDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mmds;

/*
 * mmds_http_respond: BUF holds the LEN bytes a guest TCP connection has sent
 * to MMDS and that no earlier call consumed.
 *   0    BUF is not yet one whole request: wait for more bytes (the caller
 *        bounds how many it keeps, and closes the connection beyond that).
 *   > 0  the number of bytes of BUF one request took; *out (malloc'd,
 *        *out_len bytes) is the whole HTTP/1.1 response to send back, and
 *        *close_after tells whether to close the connection after it.
 *   < 0  -errno on failure to build a response (-ENOMEM); nothing in *out.
 * A malformed request is not a failure: it gets Firecracker's 400 response
 * (> 0 return, close_after set). NOW_NS is CLOCK_MONOTONIC, for token expiry.
 */
ssize_t mmds_http_respond(struct mmds *m, const uint8_t *buf, size_t len, uint64_t now_ns,
			  char **out, size_t *out_len, bool *close_after);

/* The MMDS IPv4 address, in network byte order (default 169.254.169.254). */
uint32_t mmds_ipv4_addr(const struct mmds *m);

#endif
