/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP request -> what to do, following Firecracker's router
 * (parsed_request.rs): only the first path segment selects the resource;
 * GET must not, PUT and PATCH must carry a body; anything else is
 * "Invalid request method and/or path". Independent of the HTTP library so
 * it can be tested directly.
 */
#ifndef EMBER_API_ROUTE_H
#define EMBER_API_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api_parse.h"
#include "vmm/controller/controller.h"

/* What the HTTP server sends back. */
struct api_reply {
	int status;	 /* 200, 204 or 400 */
	char *body;	 /* JSON text (malloc'ed), NULL for no body */
	bool deprecated; /* add "Deprecation: true" */
};

/* A request for the VMM thread, with what parsing learned. */
struct api_call {
	struct vmm_request req;
	struct parse_info info;
};

enum api_route_result {
	API_ROUTE_REPLY, /* @reply is complete: send it */
	API_ROUTE_VMM,	 /* hand @call->req to the VMM thread, then api_reply_from_response() */
};

/*
 * @method as sent, @path without query string, @body of @len bytes (len 0:
 * no body). Fills either @reply or @call.
 */
enum api_route_result api_route(const char *method, const char *path, const char *body, size_t len,
				struct api_call *call, struct api_reply *reply);

/* The VMM thread's answer to @call -> the HTTP reply. */
void api_reply_from_response(const struct api_call *call, const struct vmm_response *resp,
			     struct api_reply *reply);

void api_call_free(struct api_call *call);
void api_reply_free(struct api_reply *reply);

/* Firecracker's (micro_http's) answer to a request it cannot even parse. */
char *api_http_error_body(const char *reason);

/*
 * micro_http's checks of a request line, in its order (method, URI,
 * version): NULL if it accepts the line, else the reason for
 * api_http_error_body(). @uri is the request-target as sent.
 */
const char *api_http_line_error(const char *method, const char *uri, const char *version);

/*
 * micro_http's check of one request header (name and value as received,
 * the value without surrounding blanks), called in the order received:
 * NULL if it accepts it, else the reason (written into @buf). A valid
 * Content-Length sets *content_length.
 */
const char *api_http_header_error(const char *name, const char *value, uint64_t *content_length,
				  char *buf, size_t len);

/* micro_http's Uri::get_abs_path(): what Firecracker routes on ("" when the target has none). */
const char *api_request_path(const char *uri);

#endif
