// SPDX-License-Identifier: Apache-2.0
/*
 * PUT/PATCH/GET /mmds and PUT /mmds/config. The data store is available
 * before and after boot; the configuration only before (pre_boot_only()).
 * Every check comes before any change, so a refused request changes nothing.
 */
#include "vmm/controller/controller_mmds.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/mmds/mmds.h"

/* Firecracker's VmmActionError texts ("MMMDS" is its spelling). */
#define CONFIG_ERR	"MMMDS config error: "
#define NOT_INITIALIZED "MMDS error: The MMDS data store is not initialized."
#define LIMIT_EXCEEDED	"MMDS limit exceeded error: The MMDS patch request doesn't fit."

bool controller_is_mmds_request(enum vmm_request_type type)
{
	return type == REQ_GET_MMDS || type == REQ_PUT_MMDS || type == REQ_PATCH_MMDS ||
	       type == REQ_PUT_MMDS_CONFIG;
}

static void fail_nomem(struct vmm_response *resp)
{
	vmm_response_fail(resp, "Internal VMM error: %s (os error %d)", strerror(ENOMEM), ENOMEM);
}

static void store_result(int ret, struct vmm_response *resp)
{
	switch (ret) {
	case 0:
		vmm_response_ok(resp);
		return;
	case -EFBIG:
		vmm_response_fail(resp, LIMIT_EXCEEDED);
		resp->status = 413;
		return;
	case -ENODATA:
		vmm_response_fail(resp, NOT_INITIALIZED);
		return;
	case -EINVAL: /* the API checked the body: not reached */
		vmm_response_fail(resp, "MMDS error: The MMDS data is not valid JSON.");
		return;
	default:
		fail_nomem(resp);
	}
}

static void get_mmds(struct controller *c, struct vmm_response *resp)
{
	resp->mmds_json = mmds_store_dump(c->mmds);
	if (!resp->mmds_json) {
		fail_nomem(resp);
		return;
	}
	resp->status = 200;
}

static bool iface_configured(const struct controller *c, const char *id)
{
	for (unsigned int i = 0; i < c->cfg.nr_nets; i++)
		if (!strcmp(c->cfg.nets[i].iface_id, id))
			return true;
	return false;
}

static bool iface_listed(const struct mmds_config *mc, const char *id)
{
	for (unsigned int i = 0; i < mc->nr_network_interfaces; i++)
		if (!strcmp(mc->network_interfaces[i], id))
			return true;
	return false;
}

/* Firecracker's set_mmds_network_stack_config checks, in its order. */
static bool config_valid(const struct controller *c, const struct mmds_config *mc,
			 struct vmm_response *resp)
{
	if (mc->has_ipv4_address && !mmds_ipv4_valid(mc->ipv4_address)) {
		vmm_response_fail(resp, CONFIG_ERR "The MMDS IPv4 address is not link local.");
		return false;
	}
	if (!mc->nr_network_interfaces) {
		vmm_response_fail(resp, CONFIG_ERR "The list of network interface IDs that allow "
						   "forwarding MMDS requests is empty.");
		return false;
	}
	for (unsigned int i = 0; i < mc->nr_network_interfaces; i++) {
		if (!iface_configured(c, mc->network_interfaces[i])) {
			vmm_response_fail(resp, CONFIG_ERR
					  "The list of network interface IDs provided contains at "
					  "least one ID that does not correspond to any existing "
					  "network interface.");
			return false;
		}
	}
	return true;
}

/*
 * The configuration as GET /vm/config shows it: the interfaces in the order
 * of the net devices (as Firecracker walks them), the address always set.
 */
static int config_normalized(const struct controller *c, const struct mmds_config *mc,
			     struct mmds_config *out)
{
	memset(out, 0, sizeof(*out));
	out->v2 = mc->v2;
	out->imds_compat = mc->imds_compat;
	out->has_ipv4_address = true;
	out->ipv4_address = mc->has_ipv4_address ? mc->ipv4_address : htonl(MMDS_DEFAULT_IPV4);
	out->network_interfaces = calloc(c->cfg.nr_nets, sizeof(*out->network_interfaces));
	if (!out->network_interfaces)
		return -ENOMEM;
	for (unsigned int i = 0; i < c->cfg.nr_nets; i++) {
		const char *id = c->cfg.nets[i].iface_id;

		if (!iface_listed(mc, id))
			continue;
		out->network_interfaces[out->nr_network_interfaces] = strdup(id);
		if (!out->network_interfaces[out->nr_network_interfaces]) {
			mmds_config_free(out);
			return -ENOMEM;
		}
		out->nr_network_interfaces++;
	}
	return 0;
}

static void put_mmds_config(struct controller *c, const struct mmds_config *mc,
			    struct vmm_response *resp)
{
	struct mmds_config next;

	if (!config_valid(c, mc, resp))
		return;
	if (config_normalized(c, mc, &next) ||
	    mmds_configure_from(c->mmds, &next, c->instance_id)) {
		mmds_config_free(&next);
		fail_nomem(resp);
		return;
	}
	mmds_config_free(&c->cfg.mmds_config);
	c->cfg.mmds_config = next;
	c->cfg.has_mmds_config = true;
	vmm_response_ok(resp);
}

void controller_mmds(struct controller *c, const struct vmm_request *req, struct vmm_response *resp)
{
	if (!c->mmds) {
		vmm_response_fail(resp, "MMDS error: The MMDS data store is not initialized.");
		return;
	}
	switch (req->type) {
	case REQ_GET_MMDS:
		get_mmds(c, resp);
		return;
	case REQ_PUT_MMDS:
		store_result(mmds_store_put(c->mmds, req->u.mmds.json, req->u.mmds.len), resp);
		return;
	case REQ_PATCH_MMDS:
		store_result(mmds_store_patch(c->mmds, req->u.mmds.json, req->u.mmds.len), resp);
		return;
	default:
		put_mmds_config(c, &req->u.mmds_config, resp);
		return;
	}
}
