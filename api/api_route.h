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

#endif
