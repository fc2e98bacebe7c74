// SPDX-License-Identifier: Apache-2.0
/*
 * PUT and PATCH /drives/{drive_id}: Firecracker 1.16's BlockDeviceConfig and
 * BlockDeviceUpdateConfig, fields in its order (serde lists them so in its
 * errors). Only drive_id and is_root_device are required; path_on_host is
 * optional because the same type describes vhost-user drives (socket).
 * cache_type defaults to Unsafe, io_engine (null allowed) to Sync. Which
 * backend the fields make, whether the file opens and the root-device rule
 * are the controller's to check, like in Firecracker, so config-file drives
 * get the same answers.
 */
#include "api/api_parse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/parse_rate_limiter.h"

/* Indexed by enum drive_cache_type / enum drive_io_engine values below. */
static const char *const cache_types[] = {"Unsafe", "Writeback", NULL};
/* Firecracker's FileEngineType declares Async first. */
static const char *const io_engines[] = {"Async", "Sync", NULL};
#define IO_ENGINE_ASYNC 0

enum {
	DR_ID,
	DR_PARTUUID,
	DR_ROOT,
	DR_CACHE,
	DR_RO,
	DR_PATH,
	DR_RATE,
	DR_ENGINE,
	DR_SOCKET,
	DR_NR
};

static const struct jde_field drive_fields[] = {
    [DR_ID] = JDE_FIELD("drive_id", JDE_STRING, JDE_REQUIRED),
    [DR_PARTUUID] = JDE_FIELD("partuuid", JDE_STRING, JDE_OPTION),
    [DR_ROOT] = JDE_FIELD("is_root_device", JDE_BOOL, JDE_REQUIRED),
    [DR_CACHE] = JDE_ENUM_FIELD("cache_type", JDE_DEFAULT, cache_types),
    [DR_RO] = JDE_FIELD("is_read_only", JDE_BOOL, JDE_OPTION),
    [DR_PATH] = JDE_FIELD("path_on_host", JDE_STRING, JDE_OPTION),
    [DR_RATE] = JDE_STRUCT_FIELD("rate_limiter", JDE_OPTION, &rate_limiter_schema),
    [DR_ENGINE] = JDE_ENUM_FIELD("io_engine", JDE_OPTION, io_engines),
    [DR_SOCKET] = JDE_FIELD("socket", JDE_STRING, JDE_OPTION),
};

static const struct jde_struct drive_schema = {"BlockDeviceConfig", drive_fields, DR_NR, false};

enum { DU_ID, DU_PATH, DU_RATE, DU_NR };

static const struct jde_field drive_update_fields[] = {
    [DU_ID] = JDE_FIELD("drive_id", JDE_STRING, JDE_REQUIRED),
    [DU_PATH] = JDE_FIELD("path_on_host", JDE_STRING, JDE_OPTION),
    [DU_RATE] = JDE_STRUCT_FIELD("rate_limiter", JDE_OPTION, &rate_limiter_schema),
};

static const struct jde_struct drive_update_schema = {"BlockDeviceUpdateConfig",
						      drive_update_fields, DU_NR, false};

int api_body_id_matches(const struct parse_info *info, const char *body_id, char *err,
			size_t errlen)
{
	if (!info->path_id || !strcmp(info->path_id, body_id))
		return 0;
	snprintf(err, errlen, "The id from the path does not match the id from the body!");
	return -EINVAL;
}

static int build_put(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
		     char *err, size_t errlen)
{
	struct drive_config *d = &req->u.drive;

	req->type = REQ_PUT_DRIVE;
	if (api_body_id_matches(info, v[DR_ID].s, err, errlen))
		return -EINVAL;
	d->drive_id = jde_take_str(&v[DR_ID]);
	d->path_on_host = jde_take_str(&v[DR_PATH]);
	d->is_root_device = v[DR_ROOT].b;
	d->partuuid = jde_take_str(&v[DR_PARTUUID]);
	d->has_is_read_only = v[DR_RO].set;
	d->is_read_only = v[DR_RO].set && v[DR_RO].b;
	d->cache_type =
	    v[DR_CACHE].set && v[DR_CACHE].e ? DRIVE_CACHE_WRITEBACK : DRIVE_CACHE_UNSAFE;
	d->has_io_engine = v[DR_ENGINE].set;
	d->io_engine =
	    v[DR_ENGINE].set && v[DR_ENGINE].e == IO_ENGINE_ASYNC ? DRIVE_IO_ASYNC : DRIVE_IO_SYNC;
	api_rate_limiter_from(&v[DR_RATE], &d->has_rate_limiter, &d->rate_limiter);
	d->socket = jde_take_str(&v[DR_SOCKET]);
	return 0;
}

static int build_patch(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
		       char *err, size_t errlen)
{
	struct drive_update *u = &req->u.drive_update;

	req->type = REQ_PATCH_DRIVE;
	if (api_body_id_matches(info, v[DU_ID].s, err, errlen))
		return -EINVAL;
	/* Only drive_id is valid too: Firecracker's update for vhost-user drives. */
	u->drive_id = jde_take_str(&v[DU_ID]);
	u->path_on_host = jde_take_str(&v[DU_PATH]);
	api_rate_limiter_from(&v[DU_RATE], &u->has_rate_limiter, &u->rate_limiter);
	return 0;
}

const struct body_parser put_drive_parser = {
    &drive_schema,
    build_put,
    &g_metrics.put_api_requests.drive_count,
    &g_metrics.put_api_requests.drive_fails,
};

const struct body_parser patch_drive_parser = {
    &drive_update_schema,
    build_patch,
    &g_metrics.patch_api_requests.drive_count,
    &g_metrics.patch_api_requests.drive_fails,
};
