// SPDX-License-Identifier: Apache-2.0
/*
 * MMDS V2 session tokens, as Firecracker's TokenAuthority: a token is the
 * base64 of {12-byte random IV, the expiry (CLOCK_MONOTONIC ms, u64 LE)
 * sealed with AES-256-GCM, the 16-byte tag}, under a key drawn at random
 * when the VMM starts and bound to "microvmid=<instance id>" as additional
 * data. Nothing is stored per token: a token is valid when it opens under
 * the key and its expiry is still ahead. The cipher is nettle's.
 */
#include "devices/mmds/mmds_priv.h"

#include <errno.h>
#include <nettle/base64.h>
#include <nettle/gcm.h>
#include <nettle/memops.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define IV_LEN	    12
#define PAYLOAD_LEN 8
#define TAG_LEN	    16
#define TOKEN_LEN   (IV_LEN + PAYLOAD_LEN + TAG_LEN)
#define TOKEN_B64   BASE64_ENCODE_RAW_LENGTH(TOKEN_LEN) /* 48 */
/* Firecracker refuses longer strings before decoding them. */
#define TOKEN_LENGTH_LIMIT 70

static int fill_random(uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = getrandom(buf, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int mmds_token_rekey(struct mmds *m)
{
	m->nr_tokens = 0;
	return fill_random(m->token_key, sizeof(m->token_key));
}

static void gcm_start(struct gcm_aes256_ctx *ctx, const struct mmds *m, const uint8_t *iv)
{
	gcm_aes256_set_key(ctx, m->token_key);
	gcm_aes256_set_iv(ctx, IV_LEN, iv);
	gcm_aes256_update(ctx, strlen(m->token_aad), (const uint8_t *)m->token_aad);
}

char *mmds_token_new(struct mmds *m, uint32_t ttl, uint64_t now_ns)
{
	uint64_t expiry = now_ns / 1000000 + (uint64_t)ttl * 1000;
	uint8_t token[TOKEN_LEN], plain[PAYLOAD_LEN];
	struct gcm_aes256_ctx ctx;
	char *out;

	/* GCM's random-IV bound: never 2^32 tokens under one key (Firecracker rekeys too). */
	if (m->nr_tokens == UINT32_MAX && mmds_token_rekey(m))
		return NULL;
	if (fill_random(token, IV_LEN))
		return NULL;
	for (int i = 0; i < PAYLOAD_LEN; i++)
		plain[i] = (uint8_t)(expiry >> (8 * i));
	gcm_start(&ctx, m, token);
	gcm_aes256_encrypt(&ctx, PAYLOAD_LEN, token + IV_LEN, plain);
	gcm_aes256_digest(&ctx, TAG_LEN, token + IV_LEN + PAYLOAD_LEN);
	out = malloc(TOKEN_B64 + 1);
	if (!out)
		return NULL;
	base64_encode_raw(out, TOKEN_LEN, token);
	out[TOKEN_B64] = '\0';
	m->nr_tokens++;
	return out;
}

/* Strict base64 of exactly TOKEN_LEN bytes: the canonical 48 characters only. */
static bool decode(const char *s, uint8_t token[TOKEN_LEN])
{
	struct base64_decode_ctx ctx;
	uint8_t buf[BASE64_DECODE_LENGTH(TOKEN_B64)];
	char again[TOKEN_B64];
	size_t n = sizeof(buf);

	if (strlen(s) != TOKEN_B64)
		return false;
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &n, buf, TOKEN_B64, s) || !base64_decode_final(&ctx) ||
	    n != TOKEN_LEN)
		return false;
	base64_encode_raw(again, TOKEN_LEN, buf);
	if (memcmp(again, s, TOKEN_B64))
		return false;
	memcpy(token, buf, TOKEN_LEN);
	return true;
}

bool mmds_token_valid(const struct mmds *m, const char *token_str, uint64_t now_ns)
{
	uint8_t token[TOKEN_LEN], plain[PAYLOAD_LEN], tag[TAG_LEN];
	struct gcm_aes256_ctx ctx;
	uint64_t expiry = 0;

	if (strnlen(token_str, TOKEN_LENGTH_LIMIT + 1) > TOKEN_LENGTH_LIMIT ||
	    !decode(token_str, token))
		return false;
	gcm_start(&ctx, m, token);
	gcm_aes256_decrypt(&ctx, PAYLOAD_LEN, plain, token + IV_LEN);
	gcm_aes256_digest(&ctx, TAG_LEN, tag);
	if (!memeql_sec(tag, token + IV_LEN + PAYLOAD_LEN, TAG_LEN))
		return false;
	for (int i = PAYLOAD_LEN - 1; i >= 0; i--)
		expiry = expiry << 8 | plain[i];
	return expiry > now_ns / 1000000;
}
