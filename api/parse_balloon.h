/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /balloon and its sub-paths, Firecracker's request/balloon.rs: the routes
 * below the first segment and their bodies (the body parsers themselves are
 * declared in api_parse.h, for the config file's "balloon" section too).
 */
#ifndef EMBER_API_PARSE_BALLOON_H
#define EMBER_API_PARSE_BALLOON_H

#include <stdbool.h>
#include <stddef.h>

#include "api/api_route.h"

/*
 * Whether Firecracker routes @method on /balloon to the balloon's own parser:
 * GET without a body, PUT with one, PATCH always (PATCH
 * /balloon/hinting/{start,stop} need no body). Other combinations get the
 * router's generic answers.
 */
bool api_balloon_routes(const char *method, bool has_body);

/*
 * Route @method /balloon/@rest (@rest: the path after "balloon/", "" for
 * none) with @body of @len bytes (0: none). Fills @reply or @call.
 */
enum api_route_result api_balloon_route(const char *method, const char *rest, const char *body,
					size_t len, struct api_call *call, struct api_reply *reply);

#endif
