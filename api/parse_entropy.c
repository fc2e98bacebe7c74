// SPDX-License-Identifier: Apache-2.0
/*
 * PUT /entropy: Firecracker's EntropyDeviceConfig, an optional rate limiter
 * for the virtio-rng device. "{}" configures the device without a limit.
 */
#include "api/api_parse.h"

#include "api/parse_rate_limiter.h"

static const struct jde_field entropy_fields[] = {
    JDE_STRUCT_FIELD("rate_limiter", JDE_OPTION, &rate_limiter_schema),
};

static const struct jde_struct entropy_schema = {"EntropyDeviceConfig", entropy_fields, 1, false};

static int build(struct jde_value *v, struct vmm_request *req, struct parse_info *info, char *err,
		 size_t errlen)
{
	(void)info;
	(void)err;
	(void)errlen;
	req->type = REQ_PUT_ENTROPY;
	api_rate_limiter_from(&v[0], &req->u.entropy.has_rate_limiter,
			      &req->u.entropy.rate_limiter);
	return 0;
}

const struct body_parser put_entropy_parser = {
    &entropy_schema,
    build,
    &g_metrics.put_api_requests.entropy_count,
    &g_metrics.put_api_requests.entropy_fails,
};
