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

/* ---- the VMM's one MMDS (mmds.c) ---- */

#define MMDS_DEFAULT_SIZE_LIMIT 51200	    /* bytes of the serialized store (Firecracker) */
#define MMDS_DEFAULT_IPV4	0xa9fea9feU /* 169.254.169.254, host byte order */

enum mmds_version { MMDS_V1 = 0, MMDS_V2 };

/*
 * A store of at most SIZE_LIMIT serialized bytes (0: the default), empty and
 * unconfigured (V1, the default address, no interface attached), with a
 * fresh random token key. NULL on failure (-errno in *err when non-NULL).
 */
struct mmds *mmds_create(size_t size_limit, int *err);
void mmds_destroy(struct mmds *m);

/*
 * PUT /mmds/config, once validated by the controller: the version, the IPv4
 * address (network byte order), imds_compat, the interfaces that reach MMDS
 * (NR_IFACES ids, copied) and the instance id the V2 tokens are bound to
 * (Firecracker's AAD "microvmid=<id>"; NULL: unchanged). 0 or -ENOMEM
 * (nothing changed).
 */
int mmds_configure(struct mmds *m, enum mmds_version version, uint32_t ipv4_be, bool imds_compat,
		   const char *const *ifaces, size_t nr_ifaces, const char *instance_id);

/*
 * The same from a PUT /mmds/config as vm_config keeps it (a snapshot
 * restore); a NULL INSTANCE_ID keeps the tokens' binding as it was.
 */
struct mmds_config;
int mmds_configure_from(struct mmds *m, const struct mmds_config *mc, const char *instance_id);

/* Whether the net device IFACE_ID forwards its MMDS traffic here. */
bool mmds_attached(const struct mmds *m, const char *iface_id);
enum mmds_version mmds_get_version(const struct mmds *m);
bool mmds_imds_compat(const struct mmds *m);

/* Firecracker's check of a configured address: inside 169.254.0.0/16. */
bool mmds_ipv4_valid(uint32_t ipv4_be);

/* ---- the data store (mmds_store.c) ---- */

/*
 * PUT /mmds and PATCH /mmds (an RFC 7396 merge patch) with the LEN bytes of
 * JSON at TEXT, which the API has already checked. 0; -EFBIG when the
 * result would serialize to more than the size limit; -ENODATA for a PATCH
 * before any PUT; -EINVAL (not JSON) or -ENOMEM. The store is unchanged on
 * any error.
 */
int mmds_store_put(struct mmds *m, const char *text, size_t len);
int mmds_store_patch(struct mmds *m, const char *text, size_t len);

/* GET /mmds: the store serialized as Firecracker does ("{}" when empty); malloc'd, NULL on
 * ENOMEM. */
char *mmds_store_dump(const struct mmds *m);

/* ---- V2 session tokens (mmds_token.c) ---- */

#define MMDS_TOKEN_KEY_LEN 32
#define MMDS_TOKEN_TTL_MIN 1
#define MMDS_TOKEN_TTL_MAX 21600

/* A new token valid TTL seconds from NOW_NS (malloc'd base64); NULL on ENOMEM or EIO. */
char *mmds_token_new(struct mmds *m, uint32_t ttl, uint64_t now_ns);
/* Whether TOKEN was made by this MMDS (same key and AAD) and has not expired at NOW_NS. */
bool mmds_token_valid(const struct mmds *m, const char *token, uint64_t now_ns);

/*
 * The key is never saved: as in Firecracker, a restored VM (or a clone) has
 * a key of its own, and tokens issued before the snapshot are refused.
 */

#endif
