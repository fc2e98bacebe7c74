// SPDX-License-Identifier: Apache-2.0
/*
 * The VMM's one MMDS: created at startup (so PUT /mmds works before boot),
 * configured by PUT /mmds/config, read by the net devices attached to it.
 */
#include "devices/mmds/mmds_priv.h"

#include "vmm/config/vmm_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mmds *mmds_create(size_t size_limit, int *err)
{
	struct mmds *m = calloc(1, sizeof(*m));
	int ret;

	if (!m) {
		if (err)
			*err = -ENOMEM;
		return NULL;
	}
	m->size_limit = size_limit ? size_limit : MMDS_DEFAULT_SIZE_LIMIT;
	m->version = MMDS_V1;
	m->ipv4_be = htonl(MMDS_DEFAULT_IPV4);
	ret = mmds_token_rekey(m);
	if (ret) {
		free(m);
		if (err)
			*err = ret;
		return NULL;
	}
	return m;
}

static void free_ifaces(char **ifaces, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		free(ifaces[i]);
	free(ifaces);
}

void mmds_destroy(struct mmds *m)
{
	if (!m)
		return;
	json_decref(m->data);
	free_ifaces(m->ifaces, m->nr_ifaces);
	/* The key is a secret: do not leave it in freed memory. */
	explicit_bzero(m->token_key, sizeof(m->token_key));
	free(m);
}

bool mmds_ipv4_valid(uint32_t ipv4_be)
{
	return (ntohl(ipv4_be) & 0xffff0000U) == 0xa9fe0000U;
}

int mmds_configure(struct mmds *m, enum mmds_version version, uint32_t ipv4_be, bool imds_compat,
		   const char *const *ifaces, size_t nr_ifaces, const char *instance_id)
{
	char **copy = calloc(nr_ifaces ? nr_ifaces : 1, sizeof(*copy));

	if (!copy)
		return -ENOMEM;
	for (size_t i = 0; i < nr_ifaces; i++) {
		copy[i] = strdup(ifaces[i]);
		if (!copy[i]) {
			free_ifaces(copy, i);
			return -ENOMEM;
		}
	}
	free_ifaces(m->ifaces, m->nr_ifaces);
	m->ifaces = copy;
	m->nr_ifaces = nr_ifaces;
	m->version = version;
	m->ipv4_be = ipv4_be;
	m->imds_compat = imds_compat;
	if (instance_id)
		snprintf(m->token_aad, sizeof(m->token_aad), "microvmid=%s", instance_id);
	return 0;
}

int mmds_configure_from(struct mmds *m, const struct mmds_config *mc, const char *instance_id)
{
	return mmds_configure(m, mc->v2 ? MMDS_V2 : MMDS_V1,
			      mc->has_ipv4_address ? mc->ipv4_address : htonl(MMDS_DEFAULT_IPV4),
			      mc->imds_compat, (const char *const *)mc->network_interfaces,
			      mc->nr_network_interfaces, instance_id);
}

bool mmds_attached(const struct mmds *m, const char *iface_id)
{
	for (size_t i = 0; m && i < m->nr_ifaces; i++)
		if (!strcmp(m->ifaces[i], iface_id))
			return true;
	return false;
}

enum mmds_version mmds_get_version(const struct mmds *m)
{
	return m->version;
}

bool mmds_imds_compat(const struct mmds *m)
{
	return m->imds_compat;
}

uint32_t mmds_ipv4_addr(const struct mmds *m)
{
	return m->ipv4_be;
}
