// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: the MMDS HTTP responder (mmds_http_respond) against a hostile
 * guest's TCP byte stream, as the MMDS stack hands it over: the bytes arrive
 * in pieces, each call gets everything not yet consumed, and a consumed
 * request is dropped from the front. Input: byte 0 picks V1/V2 and
 * imds_compat, byte 1 the size of the pieces; the rest is the stream. Every
 * "@TOKEN@" in it becomes a token the responder itself issued (so V2's
 * authenticated paths are reached), "@OLD@" one that has expired.
 *
 * Checked, beyond the sanitizers: a call consumes no more than it was
 * given, returns 0 only with no output, and every response is one complete
 * HTTP/1.x response whose Content-Length is its body's length.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/mmds/mmds.h"
#include "vmm/base/log.h"

#define NOW	 (5000ULL * 1000000000ULL)
#define MAX_KEEP 4096 /* what the stack keeps of one connection */

static const char store[] =
    "{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-1\",\"tags\":[\"a\",{\"b\":\"c\"}],"
    "\"n\":1.5,\"e\":{}},\"user-data\":\"x\\u0000y\"},\"a~b/c\":\"d\",\"t\":true}";

static struct mmds *setup(uint8_t mode)
{
	const char *ifaces[] = {"eth0"};
	struct mmds *m = mmds_create(0, NULL);

	if (!m || mmds_store_put(m, store, strlen(store)) ||
	    mmds_configure(m, (mode & 1) ? MMDS_V2 : MMDS_V1, htonl(MMDS_DEFAULT_IPV4), mode & 2,
			   ifaces, 1, "fuzz"))
		abort();
	return m;
}

/* @data with the token placeholders replaced; malloc'd, length in *len. */
static uint8_t *with_tokens(struct mmds *m, const uint8_t *data, size_t size, size_t *len)
{
	char *fresh = mmds_token_new(m, 60, NOW), *old = mmds_token_new(m, 1, NOW - 10000000000ULL);
	uint8_t *out = malloc(size * 10 + 1); /* a 5-byte "@OLD@" becomes 48 */
	size_t o = 0;

	if (!fresh || !old || !out)
		abort();
	for (size_t i = 0; i < size;) {
		if (size - i >= 7 && !memcmp(data + i, "@TOKEN@", 7)) {
			memcpy(out + o, fresh, strlen(fresh));
			o += strlen(fresh);
			i += 7;
		} else if (size - i >= 5 && !memcmp(data + i, "@OLD@", 5)) {
			memcpy(out + o, old, strlen(old));
			o += strlen(old);
			i += 5;
		} else {
			out[o++] = data[i++];
		}
	}
	free(fresh);
	free(old);
	*len = o;
	return out;
}

static void check_response(const char *out, size_t len)
{
	const char *end = memmem(out, len, "\r\n\r\n", 4), *cl;
	unsigned long body;

	if (len < 12 || memcmp(out, "HTTP/1.", 7) || !end)
		abort();
	cl = memmem(out, (size_t)(end - out), "\r\nContent-Length: ", 18);
	if (!cl || sscanf(cl + 18, "%lu", &body) != 1 || body != len - (size_t)(end + 4 - out))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	size_t len, fed = 0, held = 0, piece;
	uint8_t *stream, buf[MAX_KEEP];
	struct mmds *m;

	if (!initialised) {
		log_set_level(LOG_OFF);
		initialised = 1;
	}
	if (size < 2)
		return 0;
	m = setup(data[0]);
	piece = data[1] ? data[1] : 1;
	stream = with_tokens(m, data + 2, size - 2, &len);
	while (fed < len || held) {
		size_t n = len - fed < piece ? len - fed : piece;
		char *out = NULL;
		size_t out_len = 0;
		bool close_after = false;
		ssize_t used;

		if (held + n > sizeof(buf)) /* the stack closes such a connection */
			break;
		memcpy(buf + held, stream + fed, n);
		held += n;
		fed += n;
		used = mmds_http_respond(m, buf, held, NOW, &out, &out_len, &close_after);
		if (used < 0 || (size_t)used > held)
			abort();
		if (used == 0) {
			if (out || out_len)
				abort();
			if (!n)
				break; /* nothing more will come: an incomplete request */
			continue;
		}
		check_response(out, out_len);
		free(out);
		memmove(buf, buf + used, held - (size_t)used);
		held -= (size_t)used;
		if (close_after)
			break;
	}
	free(stream);
	mmds_destroy(m);
	return 0;
}
