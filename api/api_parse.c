// SPDX-License-Identifier: Apache-2.0
#include "api/api_parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/base/log.h"

int api_checked_id(const char *id, char *err, size_t errlen)
{
	if (!*id) {
		snprintf(err, errlen, "The ID cannot be empty.");
		return -EINVAL;
	}
	for (const char *c = id; *c; c++) {
		if (!isalnum((unsigned char)*c) && *c != '_') {
			snprintf(err, errlen,
				 "API Resource IDs can only contain alphanumeric "
				 "characters and underscores.");
			return -EINVAL;
		}
	}
	return 0;
}

int api_build_request(const struct body_parser *p, const char *path_id, struct jde_value *v,
		      struct vmm_request *req, struct parse_info *info, char *err, size_t errlen)
{
	memset(req, 0, sizeof(*req));
	memset(info, 0, sizeof(*info));
	info->path_id = path_id;
	return p->build(v, req, info, err, errlen);
}

int api_parse_body(const struct body_parser *p, const char *path_id, const char *body, size_t len,
		   struct vmm_request *req, struct parse_info *info, char *err, size_t errlen)
{
	struct jde_value *v = calloc(p->schema->nr_fields, sizeof(*v));
	char msg[FAULT_MESSAGE_MAX];
	int ret;

	memset(req, 0, sizeof(*req));
	memset(info, 0, sizeof(*info));
	if (!v)
		return -ENOMEM;
	if (p->count) /* Firecracker counts no balloon requests */
		metric_inc(p->count);
	ret = jde_parse(body, len, p->schema, v, msg, sizeof(msg));
	if (ret == -EINVAL)
		snprintf(err, errlen, DESERIALIZE_ERROR_PREFIX "%s.", msg);
	else if (!ret)
		ret = api_build_request(p, path_id, v, req, info, err, errlen);
	jde_free(p->schema, v);
	free(v);
	if (ret) {
		if (ret != -EINVAL)
			snprintf(err, errlen, "Cannot parse the request: %s.", strerror(-ret));
		if (p->fails)
			metric_inc(p->fails);
		vmm_request_free(req);
		return ret;
	}
	if (info->deprecated) {
		metric_inc(&g_metrics.deprecated_api.deprecated_http_api_calls);
		log_warn_unrestricted("%s", info->deprecation);
	}
	return 0;
}
