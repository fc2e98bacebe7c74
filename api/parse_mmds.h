/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /mmds and /mmds/config, Firecracker's request/mmds.rs: GET, PUT and PATCH
 * of the data store (any JSON value, handed to the VMM thread as text once
 * checked) and PUT of its configuration (MmdsConfig, also the config
 * file's "mmds-config" section).
 */
#ifndef EMBER_API_PARSE_MMDS_H
#define EMBER_API_PARSE_MMDS_H

#include <stdbool.h>
#include <stddef.h>

#include "api/api_parse.h"
#include "api/api_route.h"

extern const struct body_parser put_mmds_config_parser;

/*
 * Whether Firecracker routes @method on /mmds to its MMDS parsers: GET
 * without a body, PUT and PATCH with one. Other combinations get the
 * router's generic answers.
 */
bool api_mmds_routes(const char *method, bool has_body);

/*
 * Route @method /mmds/@rest (@rest: the path after "mmds/", "" for none)
 * with @body of @len bytes. Fills @reply or @call.
 */
enum api_route_result api_mmds_route(const char *method, const char *rest, const char *body,
				     size_t len, struct api_call *call, struct api_reply *reply);

#endif
