// SPDX-License-Identifier: Apache-2.0
/*
 * Building responses and releasing requests: shared by the controller and
 * its device and snapshot halves, so none of them calls into another.
 */
#include "vmm/controller/request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

const char *vmm_state_name(enum vmm_state state)
{
	switch (state) {
	case VMM_RUNNING:
		return "Running";
	case VMM_PAUSED:
		return "Paused";
	case VMM_NOT_STARTED:
	default:
		return "Not started";
	}
}

void vmm_response_ok(struct vmm_response *resp)
{
	resp->status = 204;
}

void vmm_response_fail(struct vmm_response *resp, const char *fmt, ...)
{
	va_list ap;

	resp->status = 400;
	va_start(ap, fmt);
	vsnprintf(resp->fault_message, sizeof(resp->fault_message), fmt, ap);
	va_end(ap);
}

void vmm_request_free(struct vmm_request *req)
{
	switch (req->type) {
	case REQ_PUT_MACHINE_CONFIG:
		machine_config_free(&req->u.machine);
		break;
	case REQ_PATCH_MACHINE_CONFIG:
		machine_config_free(&req->u.machine_patch.mc);
		break;
	case REQ_PUT_CPU_CONFIG:
		cpu_template_free(req->u.cpu_config);
		req->u.cpu_config = NULL;
		break;
	case REQ_PUT_BOOT_SOURCE:
		boot_source_config_free(&req->u.boot_source);
		break;
	case REQ_PUT_LOGGER:
		logger_config_free(&req->u.logger);
		break;
	case REQ_PUT_METRICS:
		metrics_config_free(&req->u.metrics);
		break;
	case REQ_PUT_SERIAL:
		serial_config_free(&req->u.serial);
		break;
	case REQ_PUT_DRIVE:
		drive_config_free(&req->u.drive);
		break;
	case REQ_PATCH_DRIVE:
		drive_update_free(&req->u.drive_update);
		break;
	case REQ_PUT_NET:
		net_config_free(&req->u.net);
		break;
	case REQ_PATCH_NET:
		net_update_free(&req->u.net_update);
		break;
	case REQ_PUT_VSOCK:
		vsock_config_free(&req->u.vsock);
		break;
	case REQ_CREATE_SNAPSHOT:
		snapshot_create_params_free(&req->u.snapshot_create);
		break;
	case REQ_LOAD_SNAPSHOT:
		snapshot_load_params_free(&req->u.snapshot_load);
		break;
	case REQ_PUT_MMDS:
	case REQ_PATCH_MMDS:
		free(req->u.mmds.json);
		break;
	case REQ_PUT_MMDS_CONFIG:
		mmds_config_free(&req->u.mmds_config);
		break;
	case REQ_HOT_UNPLUG:
		free(req->u.unplug.id);
		req->u.unplug.id = NULL;
		break;
	case REQ_PUT_PMEM:
		pmem_config_free(&req->u.pmem);
		break;
	case REQ_PATCH_PMEM:
		pmem_update_free(&req->u.pmem_update);
		break;
	default:
		break;
	}
}

void vmm_response_free(struct vmm_response *resp)
{
	machine_config_free(&resp->machine);
	vm_config_free(&resp->config);
	free(resp->mmds_json);
	resp->mmds_json = NULL;
}
