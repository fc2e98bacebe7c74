/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parameters of the requests that act on a VM rather than describe it:
 * PATCH updates of the machine, a drive or an interface, and snapshot
 * create/load. Plain data, owned by whoever holds them (the *_free()
 * functions release the strings).
 */
#ifndef EMBER_CONFIG_PARAMS_H
#define EMBER_CONFIG_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/config/vmm_config.h"

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

/*
 * GET /balloon/statistics: Firecracker's BalloonStats. The guest's values
 * come by VIRTIO_BALLOON_S_* tag (0..BALLOON_NR_STATS-1); a tag the guest
 * never reported is absent from the answer (bit clear in @present).
 */
#define BALLOON_NR_STATS 16
struct balloon_stats {
	uint32_t target_pages, actual_pages, target_mib, actual_mib;
	uint32_t present; /* bit t: values[t] was reported */
	uint64_t values[BALLOON_NR_STATS];
};

/* GET /balloon/hinting/status: the last command the host sent and the guest's. */
struct balloon_hinting_status {
	uint32_t host_cmd;
	bool has_guest_cmd;
	uint32_t guest_cmd;
};

/* PATCH /balloon/hinting/{start,stop}. */
enum balloon_hinting_op { BALLOON_HINTING_START, BALLOON_HINTING_STOP };

void drive_update_free(struct drive_update *u);
void net_update_free(struct net_update *u);
void snapshot_create_params_free(struct snapshot_create_params *p);
void snapshot_load_params_free(struct snapshot_load_params *p);

#endif
