/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The REST API: HTTP/1.1 on a Unix socket (libmicrohttpd, one internal
 * thread, so requests are served one at a time like Firecracker's). The API
 * thread only parses and validates; every request that needs the VM goes
 * through the vmm_channel to the VMM thread. Wire details follow Firecracker:
 * "Server: Firecracker API" on every response, at most 10 connections (the
 * 11th gets a 503; a connection whose client has closed it no longer
 * counts), bodies up to @max_payload bytes.
 *
 * Beyond Firecracker, which waits for ever: a connection holding an
 * incomplete request (from its accept until its first request is complete,
 * and from each later request line until that request is complete) is
 * closed after API_REQUEST_TIMEOUT_S seconds without a byte from the
 * client, so ten stalled clients cannot lock the API out. An idle
 * keep-alive connection between requests has no timeout.
 *
 * HTTP-level errors are micro_http's: a 400 {"error": "<reason>\nAll previous
 * unanswered requests will be dropped." } for an unsupported method, a URI
 * that is not UTF-8, a version other than HTTP/1.0 and 1.1, a Content-Length
 * above u32, a refused Accept-Encoding, a body over the limit; the target is
 * routed as sent (query and percent signs included). libmicrohttpd 0.9.75
 * answers some requests itself, before any callback, and has no hook to
 * change that answer (its own HTML page, status line sent twice, no Server
 * header): a Content-Length that is not a decimal number (400) or is above
 * 2^64-1 (413), a version other than HTTP/1.x (505) or not of the form
 * HTTP/d.d (400), a header line without a colon (400), headers over its
 * 32 KiB buffer (431); a request line without a space is closed unanswered.
 */
#ifndef EMBER_API_SERVER_H
#define EMBER_API_SERVER_H

#include <stddef.h>

#include "api/vmm_channel.h"

struct seccomp_filters;

#define API_MAX_CONNECTIONS 10
/* Requests are small and local: 10 s of silence mid-request is a stalled client. */
#define API_REQUEST_TIMEOUT_S 10U
#define API_SERVER_HEADER     "Firecracker API"

struct api_server;

/*
 * Listen on @sock_path (a stale socket file there is replaced) and serve in a
 * new thread, which installs the API seccomp filter of @seccomp (NULL: none)
 * before it reads any request. 0, or -errno with a description in @err.
 */
int api_server_start(struct api_server **out, const char *sock_path, size_t max_payload,
		     struct vmm_channel *ch, const struct seccomp_filters *seccomp, char *err,
		     size_t errlen);

/*
 * Stop serving: closes @ch for good (a request waiting on the VMM thread is
 * answered with an error), joins the thread, removes the socket file.
 */
void api_server_stop(struct api_server *srv);

#endif
