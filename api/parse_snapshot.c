// SPDX-License-Identifier: Apache-2.0
/*
 * PUT /snapshot/create and PUT /snapshot/load: Firecracker's
 * CreateSnapshotParams and LoadSnapshotConfig (both deny unknown fields).
 * A load names its memory either with mem_backend {backend_path,
 * backend_type File|Uffd} or with the deprecated mem_file_path (a File
 * backend), never both; enable_diff_snapshots is the deprecated spelling of
 * track_dirty_pages.
 */
#include "api/api_parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOAD_DEPRECATION                                                                           \
	"PUT /snapshot/load: mem_file_path and enable_diff_snapshots fields are deprecated."
#define MISSING_MEM_FIELD "missing field: either `mem_backend` or `mem_file_path` is required"
#define TOO_MANY_MEM_FIELDS                                                                        \
	"too many fields: either `mem_backend` or `mem_file_path` exclusively is required"

/* Firecracker's SnapshotType and MemBackendType, in declaration order. */
static const char *const snapshot_types[] = {"Diff", "Full", NULL};
enum { TYPE_DIFF, TYPE_FULL };
static const char *const backend_types[] = {"File", "Uffd", NULL};

/* ---- create ------------------------------------------------------------------ */

enum { SC_TYPE, SC_PATH, SC_MEM, SC_NR };

static const struct jde_field create_fields[] = {
    [SC_TYPE] = JDE_ENUM_FIELD("snapshot_type", JDE_DEFAULT, snapshot_types),
    [SC_PATH] = JDE_FIELD("snapshot_path", JDE_PATH, JDE_REQUIRED),
    [SC_MEM] = JDE_FIELD("mem_file_path", JDE_PATH, JDE_REQUIRED),
};

static const struct jde_struct create_schema = {"CreateSnapshotParams", create_fields, SC_NR,
						false};

static int build_create(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
			char *err, size_t errlen)
{
	struct snapshot_create_params *p = &req->u.snapshot_create;

	(void)info;
	(void)err;
	(void)errlen;
	req->type = REQ_CREATE_SNAPSHOT;
	p->type = v[SC_TYPE].set && v[SC_TYPE].e == TYPE_DIFF ? SNAPSHOT_DIFF : SNAPSHOT_FULL;
	p->snapshot_path = jde_take_str(&v[SC_PATH]);
	p->mem_file_path = jde_take_str(&v[SC_MEM]);
	return 0;
}

/* ---- load -------------------------------------------------------------------- */

enum { MB_PATH, MB_TYPE, MB_NR };

static const struct jde_field backend_fields[] = {
    [MB_PATH] = JDE_FIELD("backend_path", JDE_PATH, JDE_REQUIRED),
    [MB_TYPE] = JDE_ENUM_FIELD("backend_type", JDE_REQUIRED, backend_types),
};

static const struct jde_struct backend_schema = {"MemBackendConfig", backend_fields, MB_NR, false};

enum { NO_ID, NO_DEV, NO_NR };

static const struct jde_field override_fields[] = {
    [NO_ID] = JDE_FIELD("iface_id", JDE_STRING, JDE_REQUIRED),
    [NO_DEV] = JDE_FIELD("host_dev_name", JDE_STRING, JDE_REQUIRED),
};

/* NetworkOverride and VsockOverride lack deny_unknown_fields: other keys are skipped. */
static const struct jde_struct override_schema = {"NetworkOverride", override_fields, NO_NR, true};

static const struct jde_field vsock_override_fields[] = {
    JDE_FIELD("uds_path", JDE_STRING, JDE_REQUIRED),
};

static const struct jde_struct vsock_override_schema = {"VsockOverride", vsock_override_fields, 1,
							true};

enum {
	SL_PATH,
	SL_MEM_FILE,
	SL_BACKEND,
	SL_DIFF,
	SL_TRACK,
	SL_RESUME,
	SL_NET,
	SL_VSOCK,
	SL_CLOCK,
	SL_NR
};

static const struct jde_field load_fields[] = {
    [SL_PATH] = JDE_FIELD("snapshot_path", JDE_PATH, JDE_REQUIRED),
    [SL_MEM_FILE] = JDE_FIELD("mem_file_path", JDE_PATH, JDE_OPTION),
    [SL_BACKEND] = JDE_STRUCT_FIELD("mem_backend", JDE_OPTION, &backend_schema),
    [SL_DIFF] = JDE_FIELD("enable_diff_snapshots", JDE_BOOL, JDE_DEFAULT),
    [SL_TRACK] = JDE_FIELD("track_dirty_pages", JDE_BOOL, JDE_DEFAULT),
    [SL_RESUME] = JDE_FIELD("resume_vm", JDE_BOOL, JDE_DEFAULT),
    [SL_NET] = JDE_SEQ_FIELD("network_overrides", JDE_DEFAULT, &override_schema),
    [SL_VSOCK] = JDE_STRUCT_FIELD("vsock_override", JDE_OPTION, &vsock_override_schema),
    [SL_CLOCK] = JDE_FIELD("clock_realtime", JDE_BOOL, JDE_DEFAULT),
};

static const struct jde_struct load_schema = {"LoadSnapshotConfig", load_fields, SL_NR, false};

static bool flag(const struct jde_value *v)
{
	return v->set && v->b;
}

static int take_overrides(struct jde_value *seq, struct snapshot_load_params *p)
{
	if (!seq->set || !seq->nr_items)
		return 0;
	p->net_overrides = calloc(seq->nr_items, sizeof(*p->net_overrides));
	if (!p->net_overrides)
		return -ENOMEM;
	for (size_t i = 0; i < seq->nr_items; i++) {
		struct jde_value *item = &seq->items[i * NO_NR];

		p->net_overrides[i].iface_id = jde_take_str(&item[NO_ID]);
		p->net_overrides[i].host_dev_name = jde_take_str(&item[NO_DEV]);
		p->nr_net_overrides++;
	}
	return 0;
}

static int build_load(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
		      char *err, size_t errlen)
{
	struct snapshot_load_params *p = &req->u.snapshot_load;
	struct jde_value *backend = v[SL_BACKEND].sub;

	req->type = REQ_LOAD_SNAPSHOT;
	if (v[SL_BACKEND].set == v[SL_MEM_FILE].set) {
		snprintf(err, errlen, DESERIALIZE_ERROR_PREFIX "%s.",
			 v[SL_BACKEND].set ? TOO_MANY_MEM_FIELDS : MISSING_MEM_FIELD);
		return -EINVAL;
	}
	if (v[SL_MEM_FILE].set || flag(&v[SL_DIFF])) {
		info->deprecated = true;
		snprintf(info->deprecation, sizeof(info->deprecation), "%s", LOAD_DEPRECATION);
	}
	p->snapshot_path = jde_take_str(&v[SL_PATH]);
	if (v[SL_BACKEND].set) {
		p->backend_type = backend[MB_TYPE].e ? MEM_BACKEND_UFFD : MEM_BACKEND_FILE;
		p->backend_path = jde_take_str(&backend[MB_PATH]);
	} else {
		p->backend_type = MEM_BACKEND_FILE;
		p->backend_path = jde_take_str(&v[SL_MEM_FILE]);
	}
	p->track_dirty_pages = flag(&v[SL_TRACK]) || flag(&v[SL_DIFF]);
	p->resume_vm = flag(&v[SL_RESUME]);
	p->clock_realtime = flag(&v[SL_CLOCK]);
	if (v[SL_VSOCK].set)
		p->vsock_uds_path = jde_take_str(&v[SL_VSOCK].sub[0]);
	return take_overrides(&v[SL_NET], p);
}

const struct body_parser put_snapshot_create_parser = {
    &create_schema,
    build_create,
    &g_metrics.put_api_requests.snapshot_create_count,
    &g_metrics.put_api_requests.snapshot_create_fails,
};

const struct body_parser put_snapshot_load_parser = {
    &load_schema,
    build_load,
    &g_metrics.put_api_requests.snapshot_load_count,
    &g_metrics.put_api_requests.snapshot_load_fails,
};
