// SPDX-License-Identifier: Apache-2.0
/*
 * PUT and PATCH /network-interfaces/{iface_id}: Firecracker's
 * NetworkInterfaceConfig (with the mtu of Firecracker 1.16) and
 * NetworkInterfaceUpdateConfig, which changes the rate limiters only.
 * guest_mac is "xx:xx:xx:xx:xx:xx" in hex, either case, as Firecracker's
 * MacAddr parses it.
 */
#include "api/api_parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/parse_rate_limiter.h"

#define MAC_STR_PARTS 6

enum { NI_ID, NI_DEV, NI_MAC, NI_MTU, NI_RX, NI_TX, NI_NR };

/* MacAddr::from_str: six ':'-separated parts of exactly two characters, each parsed as hex. */
static int parse_mac_bytes(const char *s, uint8_t mac[MAC_STR_PARTS])
{
	for (int i = 0; i < MAC_STR_PARTS; i++) {
		const char *part = s + 3 * i;
		/* u8::from_str_radix takes a leading '+' (then one digit is all there is). */
		bool plus = part[0] == '+';

		if (!part[0] || !part[1] || (i < MAC_STR_PARTS - 1 ? part[2] != ':' : part[2]))
			return -EINVAL;
		if (!isxdigit((unsigned char)part[1]) ||
		    (!plus && !isxdigit((unsigned char)part[0])))
			return -EINVAL;
		mac[i] = (uint8_t)strtoul((char[]){part[0], part[1], '\0'}, NULL, 16);
	}
	return 0;
}

static int check_mac(const char *s, int *out, const char **msg)
{
	uint8_t mac[MAC_STR_PARTS];

	*out = 0;
	if (parse_mac_bytes(s, mac)) {
		*msg = "The provided MAC address is invalid.";
		return -EINVAL;
	}
	return 0;
}

static const struct jde_field net_fields[] = {
    [NI_ID] = JDE_FIELD("iface_id", JDE_STRING, JDE_REQUIRED),
    [NI_DEV] = JDE_FIELD("host_dev_name", JDE_STRING, JDE_REQUIRED),
    [NI_MAC] = JDE_CUSTOM_FIELD("guest_mac", JDE_OPTION, check_mac),
    [NI_MTU] = JDE_FIELD("mtu", JDE_U16, JDE_OPTION),
    [NI_RX] = JDE_STRUCT_FIELD("rx_rate_limiter", JDE_OPTION, &rate_limiter_schema),
    [NI_TX] = JDE_STRUCT_FIELD("tx_rate_limiter", JDE_OPTION, &rate_limiter_schema),
};

static const struct jde_struct net_schema = {"NetworkInterfaceConfig", net_fields, NI_NR, false};

enum { NU_ID, NU_RX, NU_TX, NU_NR };

static const struct jde_field net_update_fields[] = {
    [NU_ID] = JDE_FIELD("iface_id", JDE_STRING, JDE_REQUIRED),
    [NU_RX] = JDE_STRUCT_FIELD("rx_rate_limiter", JDE_OPTION, &rate_limiter_schema),
    [NU_TX] = JDE_STRUCT_FIELD("tx_rate_limiter", JDE_OPTION, &rate_limiter_schema),
};

static const struct jde_struct net_update_schema = {"NetworkInterfaceUpdateConfig",
						    net_update_fields, NU_NR, false};

/* Firecracker's parse_put_net/parse_patch_net name both ids, unlike the drive parsers. */
static int iface_id_matches(const struct parse_info *info, const char *body_id, char *err,
			    size_t errlen)
{
	if (!info->path_id || !strcmp(info->path_id, body_id))
		return 0;
	snprintf(err, errlen, "The id from the path [%s] does not match the id from the body [%s]!",
		 info->path_id, body_id);
	return -EINVAL;
}

static int build_put(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
		     char *err, size_t errlen)
{
	struct net_config *n = &req->u.net;

	req->type = REQ_PUT_NET;
	if (iface_id_matches(info, v[NI_ID].s, err, errlen))
		return -EINVAL;
	n->iface_id = jde_take_str(&v[NI_ID]);
	n->host_dev_name = jde_take_str(&v[NI_DEV]);
	/* The decoder already accepted the string: this parse cannot fail. */
	n->has_guest_mac = v[NI_MAC].set && !parse_mac_bytes(v[NI_MAC].s, n->guest_mac);
	n->has_mtu = v[NI_MTU].set;
	n->mtu = (uint16_t)v[NI_MTU].u;
	api_rate_limiter_from(&v[NI_RX], &n->has_rx_rate_limiter, &n->rx_rate_limiter);
	api_rate_limiter_from(&v[NI_TX], &n->has_tx_rate_limiter, &n->tx_rate_limiter);
	return 0;
}

static int build_patch(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
		       char *err, size_t errlen)
{
	struct net_update *u = &req->u.net_update;

	req->type = REQ_PATCH_NET;
	if (iface_id_matches(info, v[NU_ID].s, err, errlen))
		return -EINVAL;
	u->iface_id = jde_take_str(&v[NU_ID]);
	api_rate_limiter_from(&v[NU_RX], &u->has_rx_rate_limiter, &u->rx_rate_limiter);
	api_rate_limiter_from(&v[NU_TX], &u->has_tx_rate_limiter, &u->tx_rate_limiter);
	return 0;
}

const struct body_parser put_net_parser = {
    &net_schema,
    build_put,
    &g_metrics.put_api_requests.network_count,
    &g_metrics.put_api_requests.network_fails,
};

const struct body_parser patch_net_parser = {
    &net_update_schema,
    build_patch,
    &g_metrics.patch_api_requests.network_count,
    &g_metrics.patch_api_requests.network_fails,
};
