// SPDX-License-Identifier: Apache-2.0
/*
 * PUT and PATCH /pmem/{id}: Firecracker 1.16's PmemConfig and
 * PmemDeviceUpdateConfig, fields in its order. root_device and read_only
 * default to false; PATCH changes only the rate limiter of flushes. Whether
 * the file maps and the root-device rules are the controller's and the
 * VMM's to check, like in Firecracker (which opens the file at
 * InstanceStart), so config-file entries get the same answers.
 */
#include "api/api_parse.h"

#include <errno.h>

#include "api/parse_rate_limiter.h"

enum { PM_ID, PM_PATH, PM_ROOT, PM_RO, PM_RATE, PM_NR };

static const struct jde_field pmem_fields[] = {
    [PM_ID] = JDE_FIELD("id", JDE_STRING, JDE_REQUIRED),
    [PM_PATH] = JDE_FIELD("path_on_host", JDE_STRING, JDE_REQUIRED),
    [PM_ROOT] = JDE_FIELD("root_device", JDE_BOOL, JDE_DEFAULT),
    [PM_RO] = JDE_FIELD("read_only", JDE_BOOL, JDE_DEFAULT),
    [PM_RATE] = JDE_STRUCT_FIELD("rate_limiter", JDE_OPTION, &rate_limiter_schema),
};

static const struct jde_struct pmem_schema = {"PmemConfig", pmem_fields, PM_NR, false};

enum { PU_ID, PU_RATE, PU_NR };

static const struct jde_field pmem_update_fields[] = {
    [PU_ID] = JDE_FIELD("id", JDE_STRING, JDE_REQUIRED),
    [PU_RATE] = JDE_STRUCT_FIELD("rate_limiter", JDE_OPTION, &rate_limiter_schema),
};

static const struct jde_struct pmem_update_schema = {"PmemDeviceUpdateConfig", pmem_update_fields,
						     PU_NR, false};

static int build_put(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
		     char *err, size_t errlen)
{
	struct pmem_config *p = &req->u.pmem;

	req->type = REQ_PUT_PMEM;
	if (api_body_id_matches(info, v[PM_ID].s, err, errlen))
		return -EINVAL;
	p->id = jde_take_str(&v[PM_ID]);
	p->path_on_host = jde_take_str(&v[PM_PATH]);
	p->root_device = v[PM_ROOT].set && v[PM_ROOT].b;
	p->read_only = v[PM_RO].set && v[PM_RO].b;
	api_rate_limiter_from(&v[PM_RATE], &p->has_rate_limiter, &p->rate_limiter);
	return 0;
}

static int build_patch(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
		       char *err, size_t errlen)
{
	struct pmem_update *u = &req->u.pmem_update;

	req->type = REQ_PATCH_PMEM;
	if (api_body_id_matches(info, v[PU_ID].s, err, errlen))
		return -EINVAL;
	u->id = jde_take_str(&v[PU_ID]);
	api_rate_limiter_from(&v[PU_RATE], &u->has_rate_limiter, &u->rate_limiter);
	return 0;
}

const struct body_parser put_pmem_parser = {
    &pmem_schema,
    build_put,
    &g_metrics.put_api_requests.pmem_count,
    &g_metrics.put_api_requests.pmem_fails,
};

const struct body_parser patch_pmem_parser = {
    &pmem_update_schema,
    build_patch,
    &g_metrics.patch_api_requests.pmem_count,
    &g_metrics.patch_api_requests.pmem_fails,
};
