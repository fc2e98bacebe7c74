/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct mmds itself, shared by the files of this folder (store, tokens,
 * responder); everything outside goes through mmds.h.
 */
#ifndef EMBER_MMDS_PRIV_H
#define EMBER_MMDS_PRIV_H

#include <jansson.h>

#include "devices/mmds/mmds.h"

struct mmds {
	/* The data store: any JSON value, NULL until the first PUT. */
	json_t *data;
	size_t size_limit;

	/* PUT /mmds/config */
	enum mmds_version version;
	uint32_t ipv4_be;
	bool imds_compat;
	char **ifaces;
	size_t nr_ifaces;

	/* V2 tokens: AES-256-GCM under a per-boot key, bound to "microvmid=<id>". */
	uint8_t token_key[MMDS_TOKEN_KEY_LEN];
	char token_aad[96];
	uint32_t nr_tokens; /* sealed under token_key: rekey before 2^32 */
};

/* Firecracker's serialization (serde_json: compact, keys sorted); malloc'd or NULL. */
char *mmds_json_dump(const json_t *v, size_t *len);

/*
 * The store's answer to a guest GET of PATH (the request's absolute path,
 * already "//"-collapsed): 200 with the body, 404, or 501 for a value IMDS
 * text cannot show. *body is malloc'd for 200 (NULL on ENOMEM).
 */
int mmds_store_get(const struct mmds *m, const char *path, bool json, char **body);

/* A fresh random token key (getrandom). 0 or -errno. */
int mmds_token_rekey(struct mmds *m);

#endif
