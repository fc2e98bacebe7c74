/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Configuration of one microVM, as the API and the config file describe it.
 * api/ fills these from JSON (and turns them back into JSON for GET); vmm/
 * only ever sees these structs. Strings are heap-allocated, NULL when unset.
 */
#ifndef EMBER_VMM_CONFIG_H
#define EMBER_VMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/base/log.h"
#include "vmm/config/cpu_template.h"

#define VMM_MAX_VCPUS	    32
#define VMM_DEFAULT_VCPUS   1
#define VMM_DEFAULT_MEM_MIB 128
#define VMM_CMDLINE_MAX	    2048 /* bytes incl. NUL, like Firecracker */

/* Firecracker's default kernel command line (x86_64). */
#define VMM_DEFAULT_BOOT_ARGS                                                                      \
	"reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux "               \
	"i8042.dumbkbd swiotlb=noforce"

enum huge_pages { HUGE_PAGES_NONE = 0, HUGE_PAGES_2M };

struct machine_config {
	uint32_t vcpu_count;
	uint64_t mem_size_mib;
	bool smt;
	bool track_dirty_pages;
	enum huge_pages huge_pages;
	char *cpu_template; /* deprecated static template name, NULL = None */
	/* PUT /cpu-config's custom template, owned; at most one of the two is set. */
	struct cpu_template *cpu_config;
};

struct boot_source_config {
	char *kernel_image_path;
	char *initrd_path;
	char *boot_args; /* NULL: VMM_DEFAULT_BOOT_ARGS */
};

struct logger_config {
	char *log_path;
	enum log_level level;
	bool show_level;
	bool show_log_origin;
	char *module;
	/* In a PUT /logger request: the flag was given (else the current setting stays). */
	bool has_show_level, has_show_log_origin;
};

struct metrics_config {
	char *metrics_path;
};

/* Firecracker's TokenBucket: size 0 or refill_time 0 disables the bucket. */
struct token_bucket_config {
	uint64_t size;
	uint64_t one_time_burst;
	uint64_t refill_time_ms;
};

/* Firecracker's RateLimiter: a bandwidth (bytes) and an ops bucket. */
struct rate_limiter_config {
	bool has_bandwidth;
	struct token_bucket_config bandwidth;
	bool has_ops;
	struct token_bucket_config ops;
};

/* PUT /serial */
struct serial_config {
	char *serial_out_path; /* NULL: stdout */
	/* Output bytes over this rate are dropped (uart.rate_limiter_dropped_bytes). */
	bool has_rate_limiter;
	struct token_bucket_config rate_limiter;
};

enum drive_cache_type { DRIVE_CACHE_UNSAFE = 0, DRIVE_CACHE_WRITEBACK };
enum drive_io_engine { DRIVE_IO_SYNC = 0, DRIVE_IO_ASYNC };

/* PUT /drives/{drive_id} */
struct drive_config {
	char *drive_id;
	char *path_on_host; /* NULL only in a refused PUT (see socket) */
	bool is_root_device;
	char *partuuid; /* NULL: root=/dev/vda */
	bool is_read_only;
	enum drive_cache_type cache_type;
	enum drive_io_engine io_engine;
	bool has_rate_limiter;
	struct rate_limiter_config rate_limiter;
	/*
	 * What a PUT gave of Firecracker's Option fields that choose the
	 * backend: virtio-blk takes path_on_host without socket, vhost-user a
	 * socket with none of path_on_host, is_read_only, rate_limiter,
	 * io_engine. Ember has no vhost-user backend: a configured drive
	 * always has a path and no socket.
	 */
	bool has_is_read_only, has_io_engine;
	char *socket;
};

/* PUT /network-interfaces/{iface_id} */
struct net_config {
	char *iface_id;
	char *host_dev_name; /* tap device name */
	bool has_guest_mac;
	uint8_t guest_mac[6];
	bool has_mtu;
	uint16_t mtu;
	bool has_rx_rate_limiter;
	struct rate_limiter_config rx_rate_limiter;
	bool has_tx_rate_limiter;
	struct rate_limiter_config tx_rate_limiter;
};

/* PUT /vsock */
struct vsock_config {
	char *vsock_id; /* deprecated, optional */
	uint32_t guest_cid;
	char *uds_path;
};

/* PUT /entropy */
struct entropy_config {
	bool has_rate_limiter;
	struct rate_limiter_config rate_limiter;
};

/* PUT /pmem/{id} (Firecracker's PmemConfig) */
struct pmem_config {
	char *id;
	char *path_on_host;
	bool root_device; /* root=/dev/pmem<N> and ro/rw on the command line */
	bool read_only;	  /* mapped PROT_READ, KVM_MEM_READONLY slot */
	bool has_rate_limiter;
	struct rate_limiter_config rate_limiter; /* flushes: 1 op and the file's size in bytes */
};

/* PATCH /pmem/{id} (post-boot): only the rate limiter changes. */
struct pmem_update {
	char *id;
	bool has_rate_limiter;
	struct rate_limiter_config rate_limiter;
};

/*
 * PUT /hotplug/memory (Firecracker's MemoryHotplugConfig): the virtio-mem
 * region's size, the guest's (un)plug unit and the host's KVM slot unit, MiB.
 */
#define MEMORY_HOTPLUG_DEFAULT_BLOCK_MIB 2
#define MEMORY_HOTPLUG_DEFAULT_SLOT_MIB	 128

struct memory_hotplug_config {
	uint64_t total_size_mib;
	uint64_t block_size_mib; /* default 2 */
	uint64_t slot_size_mib;	 /* default 128 */
};

/* GET /hotplug/memory (Firecracker's VirtioMemStatus), MiB. */
struct memory_hotplug_status {
	uint64_t block_size_mib, total_size_mib, slot_size_mib, plugged_size_mib,
	    requested_size_mib;
};

/* PUT /mmds/config: which interfaces reach MMDS, and how it answers. */
struct mmds_config {
	bool v2;		   /* version "V2" (default "V1") */
	char **network_interfaces; /* iface_ids, in the order of vm_config.nets */
	unsigned int nr_network_interfaces;
	bool has_ipv4_address;
	uint32_t ipv4_address; /* network byte order; default 169.254.169.254 */
	bool imds_compat;
};

/* PUT /balloon (Firecracker's BalloonDeviceConfig) */
struct balloon_config {
	uint32_t amount_mib; /* target size */
	bool deflate_on_oom;
	uint16_t stats_polling_interval_s; /* 0: no statistics queue */
	bool free_page_hinting;
	bool free_page_reporting;
};

/*
 * One GSI each from LAYOUT_IRQ_BASE up; two of the GSIs up to LAYOUT_IRQ_MAX
 * stay for the VMGenID and VMClock notifications (devices/acpi), which take
 * the two after the last virtio device's, as in Firecracker.
 */
#define VMM_MAX_VIRTIO_DEVICES 17

struct vm_config {
	struct machine_config machine;
	bool has_boot_source;
	struct boot_source_config boot_source;
	bool has_logger;
	struct logger_config logger;
	bool has_metrics;
	struct metrics_config metrics;
	bool has_serial;
	struct serial_config serial;
	struct drive_config *drives; /* in the order they were first PUT */
	unsigned int nr_drives;
	struct net_config *nets;
	unsigned int nr_nets;
	struct pmem_config *pmems; /* in the order they were first PUT: /dev/pmem0, 1, ... */
	unsigned int nr_pmems;
	bool has_vsock;
	struct vsock_config vsock;
	bool has_entropy;
	struct entropy_config entropy;
	bool has_mmds_config;
	struct mmds_config mmds_config;
	bool has_balloon;
	struct balloon_config balloon;
	bool has_memory_hotplug;
	struct memory_hotplug_config memory_hotplug;
};

void vm_config_init(struct vm_config *cfg); /* Firecracker defaults: 1 vCPU, 128 MiB */
void vm_config_free(struct vm_config *cfg);
int vm_config_copy(struct vm_config *dst, const struct vm_config *src);

void machine_config_free(struct machine_config *mc);
int machine_config_copy(struct machine_config *dst, const struct machine_config *src);
void boot_source_config_free(struct boot_source_config *bs);
int boot_source_config_copy(struct boot_source_config *dst, const struct boot_source_config *src);
void logger_config_free(struct logger_config *lc);
int logger_config_copy(struct logger_config *dst, const struct logger_config *src);
void metrics_config_free(struct metrics_config *mc);
int metrics_config_copy(struct metrics_config *dst, const struct metrics_config *src);
void serial_config_free(struct serial_config *sc);
int serial_config_copy(struct serial_config *dst, const struct serial_config *src);
void drive_config_free(struct drive_config *d);
int drive_config_copy(struct drive_config *dst, const struct drive_config *src);
void net_config_free(struct net_config *n);
int net_config_copy(struct net_config *dst, const struct net_config *src);
void vsock_config_free(struct vsock_config *v);
int vsock_config_copy(struct vsock_config *dst, const struct vsock_config *src);
void pmem_config_free(struct pmem_config *p);
int pmem_config_copy(struct pmem_config *dst, const struct pmem_config *src);
void pmem_update_free(struct pmem_update *u);
void mmds_config_free(struct mmds_config *mc);
int mmds_config_copy(struct mmds_config *dst, const struct mmds_config *src);

#endif
