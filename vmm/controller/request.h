/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vocabulary between the API thread and the controller: one request
 * (what a route or a config-file entry asks) and one response (Firecracker's
 * status and fault_message, or a payload for a GET). The API side builds
 * requests; the controller answers them.
 */
#ifndef EMBER_CONTROLLER_REQUEST_H
#define EMBER_CONTROLLER_REQUEST_H

#include <stdbool.h>

#include "vmm/config/params.h"
#include "vmm/config/vmm_config.h"

#define FAULT_MESSAGE_MAX 1024

enum vmm_state { VMM_NOT_STARTED = 0, VMM_RUNNING, VMM_PAUSED };

enum vmm_request_type {
	REQ_GET_INSTANCE_INFO,	/* GET / */
	REQ_GET_MACHINE_CONFIG, /* GET /machine-config */
	REQ_PUT_MACHINE_CONFIG,
	REQ_PATCH_MACHINE_CONFIG,
	REQ_PUT_CPU_CONFIG, /* PUT /cpu-config: a custom CPU template */
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
	REQ_HOT_UNPLUG,	     /* DELETE /drives|/network-interfaces|/pmem/{id} */
	REQ_PUT_BALLOON,
	REQ_PATCH_BALLOON,	   /* {amount_mib} */
	REQ_PATCH_BALLOON_STATS,   /* PATCH /balloon/statistics */
	REQ_GET_BALLOON,	   /* GET /balloon */
	REQ_GET_BALLOON_STATS,	   /* GET /balloon/statistics */
	REQ_BALLOON_HINTING_START, /* PATCH /balloon/hinting/start */
	REQ_BALLOON_HINTING_STOP,  /* PATCH /balloon/hinting/stop */
	REQ_GET_BALLOON_HINTING,   /* GET /balloon/hinting/status */
	REQ_GET_MMDS,		   /* GET /mmds */
	REQ_PUT_MMDS,		   /* PUT /mmds: replace the data store */
	REQ_PATCH_MMDS,		   /* PATCH /mmds: RFC 7396 merge patch */
	REQ_PUT_MMDS_CONFIG,	   /* PUT /mmds/config */
	REQ_PUT_PMEM,		   /* PUT /pmem/{id} */
	REQ_PATCH_PMEM,		   /* PATCH /pmem/{id}: the rate limiter */
	REQ_PUT_MEMORY_HOTPLUG,	   /* PUT /hotplug/memory */
	REQ_PATCH_MEMORY_HOTPLUG,  /* PATCH /hotplug/memory {requested_size_mib} */
	REQ_GET_MEMORY_HOTPLUG,	   /* GET /hotplug/memory */
};

/* PUT/PATCH /mmds: the body, checked to be JSON by the API thread. */
struct mmds_body {
	char *json;
	size_t len;
};

/* Firecracker's VirtioDeviceType of a DELETE (hot-unplug). */
enum hot_unplug_device { UNPLUG_BLOCK, UNPLUG_NET, UNPLUG_PMEM };

struct hot_unplug {
	enum hot_unplug_device device;
	char *id;
};

struct vmm_request {
	enum vmm_request_type type;
	union {
		struct machine_config machine; /* PUT /machine-config */
		struct machine_config_patch machine_patch;
		struct cpu_template *cpu_config; /* owned */
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
		struct hot_unplug unplug;
		struct balloon_config balloon;
		uint32_t balloon_amount_mib;	   /* PATCH /balloon */
		uint16_t balloon_stats_interval_s; /* PATCH /balloon/statistics */
		bool balloon_ack_on_stop;	   /* PATCH /balloon/hinting/start */
		struct mmds_body mmds;
		struct mmds_config mmds_config;
		struct pmem_config pmem;
		struct pmem_update pmem_update;
		struct memory_hotplug_config memory_hotplug;
		uint64_t memory_hotplug_requested_mib; /* PATCH /hotplug/memory */
	} u;
};

struct instance_info {
	char id[65];
	enum vmm_state state;
};

struct vmm_response {
	int status;	 /* 200, 204, 400 (or 413 for PUT/PATCH /mmds) */
	bool deprecated; /* add "Deprecation: true" */
	char fault_message[FAULT_MESSAGE_MAX];
	/* Payload of a 200, by request type. */
	struct instance_info info;
	struct machine_config machine; /* caller frees with machine_config_free() */
	struct vm_config config;       /* caller frees with vm_config_free() */
	struct balloon_config balloon; /* GET /balloon */
	struct balloon_stats balloon_stats;
	struct balloon_hinting_status hinting;
	struct memory_hotplug_status memory_hotplug; /* GET /hotplug/memory */
	char *mmds_json;			     /* GET /mmds: the data store, serialized */
};

/* Fill @resp as a success (204) or as a 400 with a formatted fault_message. */
void vmm_response_ok(struct vmm_response *resp);
void vmm_response_fail(struct vmm_response *resp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void vmm_request_free(struct vmm_request *req);
void vmm_response_free(struct vmm_response *resp);

const char *vmm_state_name(enum vmm_state state); /* "Not started" / "Running" / "Paused" */

#endif
