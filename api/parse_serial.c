// SPDX-License-Identifier: Apache-2.0
/*
 * PUT /serial: where the guest's serial console output goes, and
 * Firecracker's optional output rate_limiter, a single TokenBucketConfig
 * (bytes): what the guest writes over that rate is dropped and counted in
 * uart.rate_limiter_dropped_bytes. Like Firecracker, nothing is checked
 * here: a bucket with size or refill_time 0 means no limit.
 */
#include "api/api_parse.h"

#include "api/parse_rate_limiter.h"

enum { SER_F_PATH, SER_F_RATE_LIMITER, SER_F_NR };

static const struct jde_field serial_fields[] = {
    [SER_F_PATH] = JDE_FIELD("serial_out_path", JDE_PATH, JDE_OPTION),
    [SER_F_RATE_LIMITER] = JDE_STRUCT_FIELD("rate_limiter", JDE_OPTION, &token_bucket_schema),
};

static const struct jde_struct serial_schema = {"SerialConfig", serial_fields, SER_F_NR, false};

static int build(struct jde_value *v, struct vmm_request *req, struct parse_info *info, char *err,
		 size_t errlen)
{
	struct serial_config *sc = &req->u.serial;

	(void)info;
	(void)err;
	(void)errlen;
	req->type = REQ_PUT_SERIAL;
	sc->serial_out_path = jde_take_str(&v[SER_F_PATH]);
	api_token_bucket_from(&v[SER_F_RATE_LIMITER], &sc->has_rate_limiter, &sc->rate_limiter);
	return 0;
}

const struct body_parser put_serial_parser = {
    &serial_schema,
    build,
    &g_metrics.put_api_requests.serial_count,
    &g_metrics.put_api_requests.serial_fails,
};
