// SPDX-License-Identifier: Apache-2.0
/*
 * Requests that act on the microVM rather than configure it:
 * PUT /actions {"action_type": ...} and PATCH /vm {"state": ...}.
 */
#include "api/api_parse.h"

/* Firecracker's ActionType, in declaration order. */
static const char *const action_types[] = {"FlushMetrics", "InstanceStart", "SendCtrlAltDel", NULL};
static const enum vmm_request_type action_requests[] = {REQ_FLUSH_METRICS, REQ_INSTANCE_START,
							REQ_SEND_CTRL_ALT_DEL};

static const struct jde_field action_fields[] = {
    JDE_ENUM_FIELD("action_type", JDE_REQUIRED, action_types),
};

static const struct jde_struct action_schema = {"ActionBody", action_fields, 1, false};

static int build_action(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
			char *err, size_t errlen)
{
	(void)info;
	(void)err;
	(void)errlen;
	req->type = action_requests[v[0].e];
	return 0;
}

const struct body_parser put_actions_parser = {
    &action_schema,
    build_action,
    &g_metrics.put_api_requests.actions_count,
    &g_metrics.put_api_requests.actions_fails,
};

/* Firecracker's VmState. */
static const char *const vm_states[] = {"Paused", "Resumed", NULL};

static const struct jde_field vm_fields[] = {
    JDE_ENUM_FIELD("state", JDE_REQUIRED, vm_states),
};

static const struct jde_struct vm_schema = {"Vm", vm_fields, 1, false};

static int build_vm(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
		    char *err, size_t errlen)
{
	(void)info;
	(void)err;
	(void)errlen;
	req->type = v[0].e == 0 ? REQ_PAUSE_VM : REQ_RESUME_VM;
	return 0;
}

const struct body_parser patch_vm_parser = {
    &vm_schema,
    build_vm,
    &g_metrics.patch_api_requests.vm_count,
    &g_metrics.patch_api_requests.vm_fails,
};
