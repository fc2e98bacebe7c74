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
	REQ_GET_MACHINE_CONFIG, /* GET /machine-config */
	REQ_PUT_MACHINE_CONFIG,
	REQ_PATCH_MACHINE_CONFIG,
	REQ_PUT_BOOT_SOURCE,
	REQ_PUT_LOGGER,
	REQ_PUT_METRICS,
	REQ_PUT_SERIAL,
	REQ_GET_VM_CONFIG,  /* GET /vm/config */
	REQ_INSTANCE_START, /* PUT /actions InstanceStart */
	REQ_SEND_CTRL_ALT_DEL,
	REQ_FLUSH_METRICS,
	REQ_PAUSE_VM, /* PATCH /vm {"state":"Paused"} */
	REQ_RESUME_VM,
	REQ_PUT_DRIVE, /* PUT /drives/{drive_id} */
	REQ_PATCH_DRIVE,
	REQ_PUT_NET, /* PUT /network-interfaces/{iface_id} */
	REQ_PATCH_NET,
	REQ_PUT_VSOCK,
	REQ_PUT_ENTROPY,
	REQ_CREATE_SNAPSHOT, /* PUT /snapshot/create */
	REQ_LOAD_SNAPSHOT,   /* PUT /snapshot/load */
};

/* PATCH /machine-config: only the fields present are applied. */
struct machine_config_patch {
	bool has_vcpu_count, has_mem_size_mib, has_smt, has_track_dirty_pages, has_huge_pages,
	    has_cpu_template;
	struct machine_config mc;
};

/* PATCH /drives/{drive_id} (post-boot): only what is given changes. */
struct drive_update {
	char *drive_id;
	char *path_on_host; /* NULL: keep the backing file */
	bool has_rate_limiter;
	struct rate_limiter_config rate_limiter; /* as in struct net_update below */
};

/*
 * PATCH /network-interfaces/{iface_id} (post-boot): the limiters given
 * change. In a limiter update, a bucket that is given replaces the current
 * one (size or refill_time 0 disables it); one left out stays as it is.
 */
struct net_update {
	char *iface_id;
	bool has_rx_rate_limiter;
	struct rate_limiter_config rx_rate_limiter;
	bool has_tx_rate_limiter;
	struct rate_limiter_config tx_rate_limiter;
};

enum snapshot_type { SNAPSHOT_FULL = 0, SNAPSHOT_DIFF };

/* PUT /snapshot/create */
struct snapshot_create_params {
	char *snapshot_path;
	char *mem_file_path;
	enum snapshot_type type;
};

enum mem_backend_type { MEM_BACKEND_FILE = 0, MEM_BACKEND_UFFD };

/* network_overrides[] of PUT /snapshot/load: another tap for an interface. */
struct net_override {
	char *iface_id;
	char *host_dev_name;
};

/* PUT /snapshot/load (mem_file_path arrives as a File backend). */
struct snapshot_load_params {
	char *snapshot_path;
	enum mem_backend_type backend_type;
	char *backend_path;
	bool track_dirty_pages;
	bool resume_vm;
	bool clock_realtime;
	struct net_override *net_overrides;
	unsigned int nr_net_overrides;
	char *vsock_uds_path; /* vsock_override.uds_path, NULL if none */
};

struct vmm_request {
	enum vmm_request_type type;
	union {
		struct machine_config machine; /* PUT /machine-config */
		struct machine_config_patch machine_patch;
		struct boot_source_config boot_source;
		struct logger_config logger;
		struct metrics_config metrics;
		struct serial_config serial;
		struct drive_config drive;
		struct drive_update drive_update;
		struct net_config net;
		struct net_update net_update;
		struct vsock_config vsock;
		struct entropy_config entropy;
		struct snapshot_create_params snapshot_create;
		struct snapshot_load_params snapshot_load;
	} u;
};

struct instance_info {
	char id[65];
	enum vmm_state state;
};

struct vmm_response {
	int status;	 /* 200, 204 or 400 */
	bool deprecated; /* add "Deprecation: true" */
	char fault_message[FAULT_MESSAGE_MAX];
	/* Payload of a 200, by request type. */
	struct instance_info info;
	struct machine_config machine; /* caller frees with machine_config_free() */
	struct vm_config config;       /* caller frees with vm_config_free() */
};

/* What the controller asks of the actual VM. Each returns 0 or -errno and,
 * on error, writes a user-facing detail into @err. */
struct vmm_ops {
	int (*start)(void *ctx, const struct vm_config *cfg, char *err, size_t errlen);
	int (*pause)(void *ctx, char *err, size_t errlen);
	int (*resume)(void *ctx, char *err, size_t errlen);
	int (*send_ctrl_alt_del)(void *ctx, char *err, size_t errlen);
	/* PATCH /drives: swap the backing file, then update the limiter (running VM). */
	int (*update_drive)(void *ctx, const struct drive_update *u, char *err, size_t errlen);
	/* PATCH /network-interfaces: update the rx/tx limiters (running VM). */
	int (*update_net)(void *ctx, const struct net_update *u, char *err, size_t errlen);
	/* PUT /snapshot/create of the paused VM configured as @cfg. */
	int (*create_snapshot)(void *ctx, const struct vm_config *cfg,
			       const struct snapshot_create_params *p, char *err, size_t errlen);
	/*
	 * PUT /snapshot/load: build the VM from the snapshot, paused. @cfg
	 * comes in as configured so far (serial, logger) and leaves with the
	 * snapshot's machine and device configuration.
	 */
	int (*load_snapshot)(void *ctx, const struct snapshot_load_params *p, struct vm_config *cfg,
			     char *err, size_t errlen);
};

struct controller {
	struct vm_config cfg;
	enum vmm_state state;
	bool boot_path; /* a boot-specific resource was configured: no snapshot load */
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

/* Fill @resp as a success (204) or as a 400 with a formatted fault_message. */
void vmm_response_ok(struct vmm_response *resp);
void vmm_response_fail(struct vmm_response *resp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void vmm_request_free(struct vmm_request *req);
void vmm_response_free(struct vmm_response *resp);

const char *vmm_state_name(enum vmm_state state); /* "Not started" / "Running" / "Paused" */

/* Apply a PATCH limiter update to a configured limiter (Firecracker's bucket update rules). */
void rate_limiter_config_update(bool *has, struct rate_limiter_config *rl,
				const struct rate_limiter_config *update);

#endif
