// SPDX-License-Identifier: Apache-2.0
/*
 * /mmds: the data store is any JSON value (serde_json::Value), so its body
 * is only checked here (serde's syntax errors) and handed over as text; the
 * VMM thread's store parses it again. /mmds/config is MmdsConfig, a struct
 * with deny_unknown_fields, decoded by the usual field table.
 */
#include "api/parse_mmds.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_json.h"
#include "vmm/base/metrics.h"

static const char *const mmds_versions[] = {"V1", "V2", NULL};

/* serde's Ipv4Addr: dotted decimal only (inet_pton refuses leading zeros too). */
static int parse_ipv4(const char *s, int *out, const char **msg)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		*msg = "invalid IPv4 address syntax";
		return -EINVAL;
	}
	*out = (int)a.s_addr;
	return 0;
}

static const struct jde_field mmds_config_fields[] = {
    JDE_ENUM_FIELD("version", JDE_DEFAULT, mmds_versions),
    JDE_FIELD("network_interfaces", JDE_STRSEQ, JDE_REQUIRED),
    JDE_CUSTOM_FIELD("ipv4_address", JDE_OPTION, parse_ipv4),
    JDE_FIELD("imds_compat", JDE_BOOL, JDE_DEFAULT),
};

static const struct jde_struct mmds_config_schema = {"MmdsConfig", mmds_config_fields, 4, false};

static int build_config(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
			char *err, size_t errlen)
{
	struct mmds_config *mc = &req->u.mmds_config;

	(void)err;
	(void)errlen;
	req->type = REQ_PUT_MMDS_CONFIG;
	mc->v2 = v[0].set && v[0].e == 1;
	mc->network_interfaces = calloc(v[1].nr_items ? v[1].nr_items : 1, sizeof(char *));
	if (!mc->network_interfaces)
		return -ENOMEM;
	for (size_t i = 0; i < v[1].nr_items; i++)
		mc->network_interfaces[mc->nr_network_interfaces++] = jde_take_str(&v[1].items[i]);
	if (v[2].set) {
		mc->has_ipv4_address = true;
		mc->ipv4_address = (uint32_t)v[2].e;
	}
	mc->imds_compat = v[3].set && v[3].b;
	/* Firecracker: MMDS V1 is deprecated (also when the version is left out). */
	if (!mc->v2) {
		info->deprecated = true;
		snprintf(info->deprecation, sizeof(info->deprecation),
			 "PUT /mmds/config: V1 is deprecated. Use V2 instead.");
	}
	return 0;
}

const struct body_parser put_mmds_config_parser = {
    &mmds_config_schema,
    build_config,
    &g_metrics.put_api_requests.mmds_count,
    &g_metrics.put_api_requests.mmds_fails,
};

bool api_mmds_routes(const char *method, bool has_body)
{
	if (!strcmp(method, "GET"))
		return !has_body;
	return has_body && (!strcmp(method, "PUT") || !strcmp(method, "PATCH"));
}

static enum api_route_result reply_fault(struct api_reply *reply, const char *message)
{
	reply->status = 400;
	reply->body = api_json_fault(message);
	return API_ROUTE_REPLY;
}

/* PUT/PATCH /mmds: any JSON value; serde's message when it is not one. */
static enum api_route_result data_request(enum vmm_request_type type, const char *body, size_t len,
					  metric_t *fails, struct api_call *call,
					  struct api_reply *reply)
{
	char msg[FAULT_MESSAGE_MAX - 128], err[FAULT_MESSAGE_MAX];
	int ret = jde_check_value(body, len, msg, sizeof(msg));

	if (ret) {
		metric_inc(fails);
		if (ret == -EINVAL)
			snprintf(err, sizeof(err), DESERIALIZE_ERROR_PREFIX "%s.", msg);
		else
			snprintf(err, sizeof(err), "Cannot parse the request: %s.", strerror(-ret));
		return reply_fault(reply, err);
	}
	call->req.type = type;
	call->req.u.mmds.json = malloc(len + 1);
	if (!call->req.u.mmds.json)
		return reply_fault(reply,
				   "Internal VMM error: Cannot allocate memory (os error 12)");
	memcpy(call->req.u.mmds.json, body, len);
	call->req.u.mmds.json[len] = '\0';
	call->req.u.mmds.len = len;
	return API_ROUTE_VMM;
}

static enum api_route_result route_put(const char *rest, const char *body, size_t len,
				       struct api_call *call, struct api_reply *reply)
{
	size_t sub_len = strcspn(rest, "/");
	char err[FAULT_MESSAGE_MAX];

	if (!*rest) {
		metric_inc(&g_metrics.put_api_requests.mmds_count);
		return data_request(REQ_PUT_MMDS, body, len, &g_metrics.put_api_requests.mmds_fails,
				    call, reply);
	}
	if (sub_len == strlen("config") && !strncmp(rest, "config", sub_len)) {
		/* The parser counts the request (Firecracker's parse_put_mmds does, once). */
		if (api_parse_body(&put_mmds_config_parser, NULL, body, len, &call->req,
				   &call->info, err, sizeof(err)))
			return reply_fault(reply, err);
		return API_ROUTE_VMM;
	}
	metric_inc(&g_metrics.put_api_requests.mmds_count);
	metric_inc(&g_metrics.put_api_requests.mmds_fails);
	snprintf(err, sizeof(err), "Unrecognized PUT request path `%.*s`.", (int)sub_len, rest);
	return reply_fault(reply, err);
}

enum api_route_result api_mmds_route(const char *method, const char *rest, const char *body,
				     size_t len, struct api_call *call, struct api_reply *reply)
{
	if (!strcmp(method, "GET")) {
		metric_inc(&g_metrics.get_api_requests.mmds_count);
		call->req.type = REQ_GET_MMDS;
		return API_ROUTE_VMM;
	}
	if (!strcmp(method, "PATCH")) {
		metric_inc(&g_metrics.patch_api_requests.mmds_count);
		return data_request(REQ_PATCH_MMDS, body, len,
				    &g_metrics.patch_api_requests.mmds_fails, call, reply);
	}
	return route_put(rest, body, len, call, reply);
}
