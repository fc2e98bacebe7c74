// SPDX-License-Identifier: Apache-2.0
/*
 * PUT /serial: where the guest's serial console output goes. Firecracker's
 * optional output rate_limiter is not implemented, so it is refused like any
 * unknown field rather than silently ignored.
 */
#include "api/api_parse.h"

static const struct jde_field serial_fields[] = {
    JDE_FIELD("serial_out_path", JDE_PATH, JDE_OPTION),
};

static const struct jde_struct serial_schema = {"SerialConfig", serial_fields, 1, false};

static int build(struct jde_value *v, struct vmm_request *req, struct parse_info *info, char *err,
		 size_t errlen)
{
	(void)info;
	(void)err;
	(void)errlen;
	req->type = REQ_PUT_SERIAL;
	req->u.serial.serial_out_path = jde_take_str(&v[0]);
	return 0;
}

const struct body_parser put_serial_parser = {
    &serial_schema,
    build,
    &g_metrics.put_api_requests.serial_count,
    &g_metrics.put_api_requests.serial_fails,
};
