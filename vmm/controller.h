/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMM controller: the state machine every API request and config-file
 * entry goes through, on the VMM thread. It owns the pending vm_config before
 * boot, enforces Firecracker's pre-boot / post-boot rules and turns requests
 * into calls on struct vmm_ops (the real KVM-backed VM, or a fake in tests).
 * A refused request leaves the configuration exactly as it was.
 */
#ifndef EMBER_CONTROLLER_H
#define EMBER_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm_config.h"

#define FAULT_MESSAGE_MAX 1024

enum vmm_state { VMM_NOT_STARTED = 0, VMM_RUNNING, VMM_PAUSED };

enum vmm_request_type {
	REQ_GET_INSTANCE_INFO,	/* GET / */
	REQ_GET_MACHINE_CONFIG,	/* GET /machine-config */
	REQ_PUT_MACHINE_CONFIG,
	REQ_PATCH_MACHINE_CONFIG,
	REQ_PUT_BOOT_SOURCE,
	REQ_PUT_LOGGER,
	REQ_PUT_METRICS,
	REQ_PUT_SERIAL,
	REQ_GET_VM_CONFIG,	/* GET /vm/config */
	REQ_INSTANCE_START,	/* PUT /actions InstanceStart */
	REQ_SEND_CTRL_ALT_DEL,
	REQ_FLUSH_METRICS,
	REQ_PAUSE_VM,		/* PATCH /vm {"state":"Paused"} */
	REQ_RESUME_VM,
};

/* PATCH /machine-config: only the fields present are applied. */
struct machine_config_patch {
	bool has_vcpu_count, has_mem_size_mib, has_smt, has_track_dirty_pages, has_huge_pages,
		has_cpu_template;
	struct machine_config mc;
};

struct vmm_request {
	enum vmm_request_type type;
	union {
		struct machine_config machine;		/* PUT /machine-config */
		struct machine_config_patch machine_patch;
		struct boot_source_config boot_source;
		struct logger_config logger;
		struct metrics_config metrics;
		struct serial_config serial;
	} u;
};

struct instance_info {
	char id[65];
	enum vmm_state state;
};

struct vmm_response {
	int status;		/* 200, 204 or 400 */
	bool deprecated;	/* add "Deprecation: true" */
	char fault_message[FAULT_MESSAGE_MAX];
	/* Payload of a 200, by request type. */
	struct instance_info info;
	struct machine_config machine;	/* caller frees with machine_config_free() */
	struct vm_config config;	/* caller frees with vm_config_free() */
};

/* What the controller asks of the actual VM. Each returns 0 or -errno and,
 * on error, writes a user-facing detail into @err. */
struct vmm_ops {
	int (*start)(void *ctx, const struct vm_config *cfg, char *err, size_t errlen);
	int (*pause)(void *ctx, char *err, size_t errlen);
	int (*resume)(void *ctx, char *err, size_t errlen);
	int (*send_ctrl_alt_del)(void *ctx, char *err, size_t errlen);
};

struct controller {
	struct vm_config cfg;
	enum vmm_state state;
	char instance_id[65];
	const struct vmm_ops *ops;
	void *ops_ctx;
};

void controller_init(struct controller *c, const char *instance_id, const struct vmm_ops *ops,
		     void *ops_ctx);
void controller_destroy(struct controller *c);

/* Handle one request; always fills @resp (status 2xx or 400 + fault_message). */
void controller_handle(struct controller *c, const struct vmm_request *req,
		       struct vmm_response *resp);

void vmm_request_free(struct vmm_request *req);
void vmm_response_free(struct vmm_response *resp);

const char *vmm_state_name(enum vmm_state state);	/* "Not started" / "Running" / "Paused" */

#endif
