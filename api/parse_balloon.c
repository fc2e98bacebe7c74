// SPDX-License-Identifier: Apache-2.0
/*
 * The balloon's API: PUT /balloon (BalloonDeviceConfig), PATCH /balloon
 * (BalloonUpdateConfig), PATCH /balloon/statistics
 * (BalloonUpdateStatsConfig), PATCH /balloon/hinting/start (StartHintingCmd,
 * body optional) and /stop, GET /balloon, /balloon/statistics and
 * /balloon/hinting/status, routed as Firecracker's parse_*_balloon() do,
 * with their "Unrecognized ... request path" texts. Firecracker counts none
 * of these requests in its API metrics.
 */
#include "api/parse_balloon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_json.h"

/* ---- bodies ---- */

enum { BL_AMOUNT, BL_DEFLATE, BL_STATS, BL_HINTING, BL_REPORTING, BL_NR };

static const struct jde_field balloon_fields[] = {
    [BL_AMOUNT] = JDE_FIELD("amount_mib", JDE_U32, JDE_REQUIRED),
    [BL_DEFLATE] = JDE_FIELD("deflate_on_oom", JDE_BOOL, JDE_REQUIRED),
    [BL_STATS] = JDE_FIELD("stats_polling_interval_s", JDE_U16, JDE_DEFAULT),
    [BL_HINTING] = JDE_FIELD("free_page_hinting", JDE_BOOL, JDE_DEFAULT),
    [BL_REPORTING] = JDE_FIELD("free_page_reporting", JDE_BOOL, JDE_DEFAULT),
};

static const struct jde_struct balloon_schema = {"BalloonDeviceConfig", balloon_fields, BL_NR,
						 false};

static int build_put(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
		     char *err, size_t errlen)
{
	(void)info;
	(void)err;
	(void)errlen;
	req->type = REQ_PUT_BALLOON;
	req->u.balloon = (struct balloon_config){
	    .amount_mib = (uint32_t)v[BL_AMOUNT].u,
	    .deflate_on_oom = v[BL_DEFLATE].b,
	    .stats_polling_interval_s = (uint16_t)v[BL_STATS].u,
	    .free_page_hinting = v[BL_HINTING].b,
	    .free_page_reporting = v[BL_REPORTING].b,
	};
	return 0;
}

const struct body_parser put_balloon_parser = {&balloon_schema, build_put, NULL, NULL};

static const struct jde_field update_fields[] = {
    JDE_FIELD("amount_mib", JDE_U32, JDE_REQUIRED),
};

static const struct jde_struct update_schema = {"BalloonUpdateConfig", update_fields, 1, false};

static int build_patch(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
		       char *err, size_t errlen)
{
	(void)info;
	(void)err;
	(void)errlen;
	req->type = REQ_PATCH_BALLOON;
	req->u.balloon_amount_mib = (uint32_t)v[0].u;
	return 0;
}

const struct body_parser patch_balloon_parser = {&update_schema, build_patch, NULL, NULL};

static const struct jde_field stats_fields[] = {
    JDE_FIELD("stats_polling_interval_s", JDE_U16, JDE_REQUIRED),
};

static const struct jde_struct stats_schema = {"BalloonUpdateStatsConfig", stats_fields, 1, false};

static int build_patch_stats(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
			     char *err, size_t errlen)
{
	(void)info;
	(void)err;
	(void)errlen;
	req->type = REQ_PATCH_BALLOON_STATS;
	req->u.balloon_stats_interval_s = (uint16_t)v[0].u;
	return 0;
}

const struct body_parser patch_balloon_stats_parser = {&stats_schema, build_patch_stats, NULL,
						       NULL};

/* StartHintingCmd has no deny_unknown_fields; acknowledge_on_stop defaults to true. */
static const struct jde_field hinting_fields[] = {
    JDE_FIELD("acknowledge_on_stop", JDE_BOOL, JDE_DEFAULT),
};

static const struct jde_struct hinting_schema = {"StartHintingCmd", hinting_fields, 1, true};

static int build_hinting_start(struct jde_value *v, struct vmm_request *req,
			       struct parse_info *info, char *err, size_t errlen)
{
	(void)info;
	(void)err;
	(void)errlen;
	req->type = REQ_BALLOON_HINTING_START;
	req->u.balloon_ack_on_stop = v[0].seen ? v[0].b : true;
	return 0;
}

const struct body_parser patch_balloon_hinting_start_parser = {&hinting_schema, build_hinting_start,
							       NULL, NULL};

/* ---- routes ---- */

/* One path token at @s of @len bytes (Rust's split_terminator('/')). */
struct token {
	const char *s;
	size_t len;
};

/* The next token of *p into @t; false when the path has no more. */
static bool next_token(const char **p, struct token *t)
{
	if (!**p)
		return false;
	t->s = *p;
	t->len = strcspn(*p, "/");
	*p += t->len + ((*p)[t->len] == '/');
	return true;
}

static bool token_is(const struct token *t, const char *name)
{
	return strlen(name) == t->len && !strncmp(t->s, name, t->len);
}

static enum api_route_result reply_fault(struct api_reply *reply, const char *message)
{
	reply->status = 400;
	reply->body = api_json_fault(message);
	return API_ROUTE_REPLY;
}

/* "Unrecognized <method> request path `<before><token>`." */
static enum api_route_result unrecognized(struct api_reply *reply, const char *method,
					  const char *before, const struct token *t)
{
	char msg[FAULT_MESSAGE_MAX];

	snprintf(msg, sizeof(msg), "Unrecognized %s request path `%s%.*s`.", method, before,
		 t ? (int)t->len : 0, t ? t->s : "");
	return reply_fault(reply, msg);
}

static enum api_route_result parse_with(const struct body_parser *p, const char *body, size_t len,
					struct api_call *call, struct api_reply *reply)
{
	char err[FAULT_MESSAGE_MAX];

	if (api_parse_body(p, NULL, body, len, &call->req, &call->info, err, sizeof(err)))
		return reply_fault(reply, err);
	return API_ROUTE_VMM;
}

static enum api_route_result route_get(const char *rest, struct api_call *call,
				       struct api_reply *reply)
{
	struct token t, sub;

	if (!next_token(&rest, &t)) {
		call->req.type = REQ_GET_BALLOON;
		return API_ROUTE_VMM;
	}
	if (token_is(&t, "statistics")) {
		call->req.type = REQ_GET_BALLOON_STATS;
		return API_ROUTE_VMM;
	}
	if (!token_is(&t, "hinting"))
		return unrecognized(reply, "GET", "", &t);
	if (!next_token(&rest, &sub))
		return unrecognized(reply, "GET", "/hinting/", NULL);
	if (!token_is(&sub, "status"))
		return unrecognized(reply, "GET", "/hinting/", &sub);
	call->req.type = REQ_GET_BALLOON_HINTING;
	return API_ROUTE_VMM;
}

static enum api_route_result route_patch_hinting(const char *rest, const char *body, size_t len,
						 struct api_call *call, struct api_reply *reply)
{
	struct token t;

	if (!next_token(&rest, &t))
		return unrecognized(reply, "PATCH", "/hinting/", NULL);
	if (token_is(&t, "stop")) {
		call->req.type = REQ_BALLOON_HINTING_STOP;
		return API_ROUTE_VMM;
	}
	if (!token_is(&t, "start"))
		return unrecognized(reply, "PATCH", "/hinting/", &t);
	if (!len) {
		call->req.type = REQ_BALLOON_HINTING_START;
		call->req.u.balloon_ack_on_stop = true;
		return API_ROUTE_VMM;
	}
	return parse_with(&patch_balloon_hinting_start_parser, body, len, call, reply);
}

static enum api_route_result route_patch(const char *rest, const char *body, size_t len,
					 struct api_call *call, struct api_reply *reply)
{
	struct token t;
	bool has_token = next_token(&rest, &t);

	if (has_token && token_is(&t, "statistics") && len)
		return parse_with(&patch_balloon_stats_parser, body, len, call, reply);
	if (has_token && token_is(&t, "hinting"))
		return route_patch_hinting(rest, body, len, call, reply);
	if (!len)
		return reply_fault(reply, "Empty PATCH request.");
	return parse_with(&patch_balloon_parser, body, len, call, reply);
}

bool api_balloon_routes(const char *method, bool has_body)
{
	return (!strcmp(method, "GET") && !has_body) || (!strcmp(method, "PUT") && has_body) ||
	       !strcmp(method, "PATCH");
}

enum api_route_result api_balloon_route(const char *method, const char *rest, const char *body,
					size_t len, struct api_call *call, struct api_reply *reply)
{
	if (!strcmp(method, "GET"))
		return route_get(rest, call, reply);
	if (!strcmp(method, "PUT")) /* Firecracker ignores what follows /balloon here */
		return parse_with(&put_balloon_parser, body, len, call, reply);
	return route_patch(rest, body, len, call, reply);
}
