// SPDX-License-Identifier: Apache-2.0
/*
 * PUT /vsock: Firecracker's VsockDeviceConfig {vsock_id (deprecated),
 * guest_cid (u32), uds_path}. A vsock_id that is not null marks the answer
 * deprecated, as in Firecracker; the id itself is kept but used for nothing.
 */
#include "api/api_parse.h"

#include <stdio.h>

enum { VS_ID, VS_CID, VS_PATH, VS_NR };

static const struct jde_field vsock_fields[] = {
    [VS_ID] = JDE_FIELD("vsock_id", JDE_STRING, JDE_OPTION),
    [VS_CID] = JDE_FIELD("guest_cid", JDE_U32, JDE_REQUIRED),
    [VS_PATH] = JDE_FIELD("uds_path", JDE_STRING, JDE_REQUIRED),
};

static const struct jde_struct vsock_schema = {"VsockDeviceConfig", vsock_fields, VS_NR, false};

static int build(struct jde_value *v, struct vmm_request *req, struct parse_info *info, char *err,
		 size_t errlen)
{
	struct vsock_config *vs = &req->u.vsock;

	(void)err;
	(void)errlen;
	req->type = REQ_PUT_VSOCK;
	if (v[VS_ID].set) {
		info->deprecated = true;
		snprintf(info->deprecation, sizeof(info->deprecation),
			 "PUT /vsock: vsock_id field is deprecated.");
	}
	vs->vsock_id = jde_take_str(&v[VS_ID]);
	vs->guest_cid = (uint32_t)v[VS_CID].u;
	vs->uds_path = jde_take_str(&v[VS_PATH]);
	return 0;
}

const struct body_parser put_vsock_parser = {
    &vsock_schema,
    build,
    &g_metrics.put_api_requests.vsock_count,
    &g_metrics.put_api_requests.vsock_fails,
};
