// SPDX-License-Identifier: Apache-2.0
#include "api/api_route.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_json.h"
#include "api/parse_balloon.h"
#include "api/parse_cpu_config.h"
#include "vmm/base/metrics.h"
#include "vmm/base/version.h"
#include "api/parse_mmds.h"

/*
 * PUT/PATCH resources: the first path segment selects the body parser. Routes
 * with_id (/resource/{id}) hand the second segment to the parser, which checks
 * it (api_checked_id()) the way its Firecracker counterpart does.
 */
struct body_route {
	const char *method;
	const char *resource;
	const struct body_parser *parser;
	bool with_id;
};

static const struct body_route body_routes[] = {
    {"PUT", "actions", &put_actions_parser, false},
    {"PUT", "boot-source", &put_boot_source_parser, false},
    {"PUT", "logger", &put_logger_parser, false},
    {"PUT", "serial", &put_serial_parser, false},
    {"PUT", "machine-config", &put_machine_config_parser, false},
    {"PUT", "metrics", &put_metrics_parser, false},
    {"PATCH", "machine-config", &patch_machine_config_parser, false},
    {"PUT", "cpu-config", &put_cpu_config_parser, false},
    {"PATCH", "vm", &patch_vm_parser, false},
    {"PUT", "drives", &put_drive_parser, true},
    {"PATCH", "drives", &patch_drive_parser, true},
    {"PUT", "network-interfaces", &put_net_parser, true},
    {"PATCH", "network-interfaces", &patch_net_parser, true},
    {"PUT", "vsock", &put_vsock_parser, false},
    {"PUT", "entropy", &put_entropy_parser, false},
    {"PUT", "pmem", &put_pmem_parser, true},
    {"PATCH", "pmem", &patch_pmem_parser, true},
};

/* PUT/PATCH resources whose second segment names the operation: /snapshot/{create,load}. */
struct body_sub_route {
	const char *method;
	const char *resource;
	const char *sub;
	const struct body_parser *parser;
};

static const struct body_sub_route body_sub_routes[] = {
    {"PUT", "snapshot", "create", &put_snapshot_create_parser},
    {"PUT", "snapshot", "load", &put_snapshot_load_parser},
    {"PUT", "hotplug", "memory", &put_memory_hotplug_parser},
    {"PATCH", "hotplug", "memory", &patch_memory_hotplug_parser},
};

/* GET resources answered by the VMM thread. */
struct get_route {
	const char *resource;
	const char *sub; /* required second segment, NULL if none */
	enum vmm_request_type type;
	metric_t *count;
};

static const struct get_route get_routes[] = {
    {"", NULL, REQ_GET_INSTANCE_INFO, &g_metrics.get_api_requests.instance_info_count},
    {"vm", "config", REQ_GET_VM_CONFIG, &g_metrics.get_api_requests.vm_config_count},
    {"machine-config", NULL, REQ_GET_MACHINE_CONFIG, &g_metrics.get_api_requests.machine_cfg_count},
    {"hotplug", "memory", REQ_GET_MEMORY_HOTPLUG, &g_metrics.get_api_requests.hotplug_memory_count},
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

char *api_http_error_body(const char *reason)
{
	char *body = NULL;

	/* Not through jansson: micro_http writes a raw newline inside the string. */
	if (asprintf(&body,
		     "{ \"error\": \"%s\nAll previous unanswered requests will be dropped.\" }",
		     reason) < 0)
		return NULL;
	return body;
}

/* Rust's str::from_utf8: well-formed UTF-8, no overlong forms, no surrogates, <= U+10FFFF. */
static bool valid_utf8(const unsigned char *s)
{
	while (*s) {
		unsigned int c = *s++, n, cp;

		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		for (unsigned int i = 0; i < n; i++, s++) {
			if ((*s & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (*s & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
	}
	return true;
}

const char *api_http_line_error(const char *method, const char *uri, const char *version)
{
	static const char *const methods[] = {"GET", "PUT", "PATCH", "DELETE"};
	bool known = false;

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		known |= !strcmp(method, methods[i]);
	if (!known)
		return "Invalid HTTP Method: Unsupported HTTP method.";
	if (!*uri)
		return "Invalid URI: Empty URI not allowed.";
	if (!valid_utf8((const unsigned char *)uri))
		return "Invalid URI: Cannot parse URI as UTF-8.";
	if (strcmp(version, "HTTP/1.0") && strcmp(version, "HTTP/1.1"))
		return "Invalid HTTP Version: Unsupported HTTP version.";
	return NULL;
}

/* Rust's u32::from_str of a trimmed value: an optional '+', then decimal digits only. */
static bool parse_u32(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '+')
		s++;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return false;
	}
	*out = v;
	return true;
}

/* micro_http's Encoding::try_from() of an Accept-Encoding value. */
static const char *accept_encoding_error(const char *value, char *buf, size_t len)
{
	const char *entry = value;

	if (!*value)
		return "Invalid request.";
	for (;;) {
		size_t n = strcspn(entry, ","), b = 0;

		/* Each entry is compared trimmed and reported as it is. */
		while (b < n && strchr(" \t", entry[b]))
			b++;
		while (n > b && strchr(" \t", entry[n - 1]))
			n--;
		if ((n - b == strlen("identity;q=0") &&
		     !strncmp(entry + b, "identity;q=0", n - b)) ||
		    (n - b == strlen("*;q=0") && !strncmp(entry + b, "*;q=0", n - b) &&
		     !strstr(value, "identity"))) {
			snprintf(buf, len,
				 "Invalid header. Reason: Invalid value. Key:Accept-Encoding; "
				 "Value:%.*s",
				 (int)strcspn(entry, ","), entry);
			return buf;
		}
		entry += strcspn(entry, ",");
		if (!*entry++)
			return NULL;
	}
}

const char *api_http_header_error(const char *name, const char *value, uint64_t *content_length,
				  char *buf, size_t len)
{
	if (!strcasecmp(name, "Content-Length")) {
		if (parse_u32(value, content_length))
			return NULL;
		/* micro_http quotes the value with the blank after the colon: assume one. */
		snprintf(buf, len, "Invalid header. Reason: Invalid value. Key:%s; Value: %s", name,
			 value);
		return buf;
	}
	if (!strcasecmp(name, "Accept-Encoding"))
		return accept_encoding_error(value, buf, len);
	return NULL;
}

const char *api_request_path(const char *uri)
{
	static const char scheme[] = "http://";
	const char *p;

	if (!strncmp(uri, scheme, strlen(scheme))) {
		p = strchr(uri + strlen(scheme), '/');
		return p ? p : "";
	}
	return uri[0] == '/' ? uri : "";
}

static enum api_route_result reply_with(struct api_reply *reply, int status, char *body)
{
	reply->status = status;
	reply->body = body;
	return API_ROUTE_REPLY;
}

static enum api_route_result fault(struct api_reply *reply, const char *message)
{
	return reply_with(reply, 400, api_json_fault(message));
}

/* One path segment: @len bytes at @s (not NUL-terminated). */
struct segment {
	const char *s;
	size_t len;
};

static bool segment_is(const struct segment *seg, const char *name)
{
	return strlen(name) == seg->len && !strncmp(seg->s, name, seg->len);
}

/* The segment at *p (up to the next '/'); *p moves past it and its '/'. */
static struct segment next_segment(const char **p)
{
	struct segment seg = {*p, strcspn(*p, "/")};

	*p += seg.len + ((*p)[seg.len] == '/');
	return seg;
}

/* GET without body: true with @result set if @res names a readable resource. */
static bool route_get(const struct segment *res, const struct segment *sub, struct api_call *call,
		      struct api_reply *reply, enum api_route_result *result)
{
	if (segment_is(res, "version")) {
		metric_inc(&g_metrics.get_api_requests.version_count);
		*result = reply_with(reply, 200, api_json_version(EMBER_VERSION));
		return true;
	}
	for (size_t i = 0; i < ARRAY_SIZE(get_routes); i++) {
		const struct get_route *r = &get_routes[i];

		if (!segment_is(res, r->resource) || (r->sub && !segment_is(sub, r->sub)))
			continue;
		metric_inc(r->count);
		call->req.type = r->type;
		*result = API_ROUTE_VMM;
		return true;
	}
	return false;
}

/*
 * Firecracker checks the {id} of the path (checked_id()) before it looks at
 * the body; a refused id counts as a request and a failure of the resource.
 */
static bool path_id_valid(const struct body_parser *p, const char *path_id, char *err,
			  size_t errlen)
{
	if (!api_checked_id(path_id, err, errlen))
		return true;
	metric_inc(p->count);
	metric_inc(p->fails);
	return false;
}

/* DELETE /resource/{id}: hot-unplug, which the VMM thread refuses (no PCI in Ember). */
static const struct {
	const char *resource;
	enum hot_unplug_device device;
} delete_routes[] = {
    {"drives", UNPLUG_BLOCK},
    {"pmem", UNPLUG_PMEM},
    {"network-interfaces", UNPLUG_NET},
};

/* DELETE without a body: true with @result set if @res can be unplugged. */
static bool route_delete(const struct segment *res, const struct segment *id, struct api_call *call,
			 struct api_reply *reply, enum api_route_result *result)
{
	char err[FAULT_MESSAGE_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(delete_routes); i++) {
		if (!segment_is(res, delete_routes[i].resource))
			continue;
		call->req.type = REQ_HOT_UNPLUG;
		call->req.u.unplug.device = delete_routes[i].device;
		/* No id segment and an empty one are both Firecracker's EmptyID. */
		call->req.u.unplug.id = strndup(id->s, id->len);
		if (!call->req.u.unplug.id)
			*result = fault(reply,
					"Internal VMM error: Cannot allocate memory (os error 12)");
		else if (api_checked_id(call->req.u.unplug.id, err, sizeof(err)))
			*result = fault(reply, err);
		else
			*result = API_ROUTE_VMM;
		return true;
	}
	return false;
}

/* PUT/PATCH with a body on /resource/operation: true with @result set if one matches. */
static bool route_body_sub(const char *method, const struct segment *res, const struct segment *sub,
			   const char *body, size_t len, struct api_call *call,
			   struct api_reply *reply, enum api_route_result *result)
{
	char err[FAULT_MESSAGE_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(body_sub_routes); i++) {
		const struct body_sub_route *r = &body_sub_routes[i];

		if (strcmp(r->method, method) || !segment_is(res, r->resource) ||
		    !segment_is(sub, r->sub))
			continue;
		*result = api_parse_body(r->parser, NULL, body, len, &call->req, &call->info, err,
					 sizeof(err))
			      ? fault(reply, err)
			      : API_ROUTE_VMM;
		return true;
	}
	return false;
}

/*
 * PUT /snapshot with a body but no known operation: Firecracker's
 * parse_put_snapshot() has its own answers (its metrics are not counted).
 */
static bool route_snapshot_error(const char *method, const struct segment *res,
				 const struct segment *sub, bool has_sub, struct api_reply *reply,
				 enum api_route_result *result)
{
	char *msg = NULL;

	if (strcmp(method, "PUT") || !segment_is(res, "snapshot"))
		return false;
	if (!has_sub) {
		*result = fault(reply, "Missing snapshot operation type.");
		return true;
	}
	if (asprintf(&msg, "Invalid request method and/or path: PUT /snapshot/%.*s.", (int)sub->len,
		     sub->s) < 0)
		msg = NULL;
	*result = fault(reply, msg ? msg : "Invalid request method and/or path.");
	free(msg);
	return true;
}

/* PUT/PATCH with a body: true with @result set if @res takes this method. */
static bool route_body(const char *method, const struct segment *res, const struct segment *id,
		       const char *body, size_t len, struct api_call *call, struct api_reply *reply,
		       enum api_route_result *result)
{
	char err[FAULT_MESSAGE_MAX], *path_id = NULL;
	int ret;

	for (size_t i = 0; i < ARRAY_SIZE(body_routes); i++) {
		const struct body_route *r = &body_routes[i];

		if (strcmp(r->method, method) || !segment_is(res, r->resource))
			continue;
		/* A route with an id always hands one to its parser, "" when the path has none. */
		if (r->with_id && !(path_id = strndup(id->s, id->len))) {
			*result = fault(reply,
					"Internal VMM error: Cannot allocate memory (os error 12)");
			return true;
		}
		if (path_id && !path_id_valid(r->parser, path_id, err, sizeof(err))) {
			free(path_id);
			*result = fault(reply, err);
			return true;
		}
		ret = api_parse_body(r->parser, path_id, body, len, &call->req, &call->info, err,
				     sizeof(err));
		/* The parser checked the ID and copied what it keeps. */
		call->info.path_id = NULL;
		free(path_id);
		*result = ret ? fault(reply, err) : API_ROUTE_VMM;
		return true;
	}
	return false;
}

enum api_route_result api_route(const char *method, const char *path, const char *body, size_t len,
				struct api_call *call, struct api_reply *reply)
{
	enum api_route_result result;
	struct segment res, sub;
	bool has_body = len > 0, has_sub;
	char *msg = NULL;

	memset(call, 0, sizeof(*call));
	memset(reply, 0, sizeof(*reply));
	if (strcmp(method, "GET") && strcmp(method, "PUT") && strcmp(method, "PATCH") &&
	    strcmp(method, "DELETE"))
		return reply_with(
		    reply, 400,
		    api_http_error_body("Invalid HTTP Method: Unsupported HTTP method."));
	while (*path == '/')
		path++;
	res = next_segment(&path);
	if (segment_is(&res, "balloon") && api_balloon_routes(method, has_body))
		return api_balloon_route(method, path, body, len, call, reply);
	/* Firecracker's split_terminator('/'): "/snapshot/" has no second segment, "//" an empty
	 * one. */
	has_sub = *path != '\0';
	sub = next_segment(&path);
	if (segment_is(&res, "mmds") && api_mmds_routes(method, has_body))
		return api_mmds_route(method, sub.s, body, len, call, reply);

	if (!strcmp(method, "GET")) {
		if (has_body)
			return fault(reply, "GET request cannot have a body.");
		if (route_get(&res, &sub, call, reply, &result))
			return result;
	} else if (!strcmp(method, "DELETE")) {
		/* Firecracker's text for a DELETE with a body, whatever the path. */
		if (has_body)
			return fault(reply, "Empty Delete request.");
		if (route_delete(&res, &sub, call, reply, &result))
			return result;
	} else {
		if (!has_body)
			return fault(reply, !strcmp(method, "PUT") ? "Empty PUT request."
								   : "Empty PATCH request.");
		if (route_body(method, &res, &sub, body, len, call, reply, &result) ||
		    route_body_sub(method, &res, &sub, body, len, call, reply, &result) ||
		    route_snapshot_error(method, &res, &sub, has_sub, reply, &result))
			return result;
	}
	if (asprintf(&msg, "Invalid request method and/or path: %s %.*s.", method, (int)res.len,
		     res.s) < 0)
		msg = NULL;
	result = fault(reply, msg ? msg : "Invalid request method and/or path.");
	free(msg);
	return result;
}

void api_reply_from_response(const struct api_call *call, const struct vmm_response *resp,
			     struct api_reply *reply)
{
	memset(reply, 0, sizeof(*reply));
	reply->status = resp->status;
	reply->deprecated = call->info.deprecated;
	switch (resp->status) {
	case 204:
		return;
	case 200:
		if (call->req.type == REQ_GET_MMDS)
			reply->body = strdup(resp->mmds_json);
		else if (call->req.type == REQ_GET_INSTANCE_INFO)
			reply->body = api_json_instance_info(&resp->info, EMBER_VERSION);
		else if (call->req.type == REQ_GET_MACHINE_CONFIG)
			reply->body = api_json_machine_config(&resp->machine);
		else if (call->req.type == REQ_GET_BALLOON)
			reply->body = api_json_balloon(&resp->balloon);
		else if (call->req.type == REQ_GET_BALLOON_STATS)
			reply->body = api_json_balloon_stats(&resp->balloon_stats);
		else if (call->req.type == REQ_GET_BALLOON_HINTING)
			reply->body = api_json_balloon_hinting(&resp->hinting);
		else if (call->req.type == REQ_GET_MEMORY_HOTPLUG)
			reply->body = api_json_memory_hotplug_status(&resp->memory_hotplug);
		else
			reply->body = api_json_vm_config(&resp->config);
		break;
	default:
		reply->body = api_json_fault(resp->fault_message);
		break;
	}
	if (!reply->body) {
		reply->status = 400;
		reply->body =
		    api_json_fault("Internal VMM error: Cannot allocate memory (os error 12)");
	}
}

void api_call_free(struct api_call *call)
{
	vmm_request_free(&call->req);
}

void api_reply_free(struct api_reply *reply)
{
	free(reply->body);
	reply->body = NULL;
}
