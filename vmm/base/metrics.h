/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Counters in Firecracker's metrics layout. Incremented lock-free from any
 * thread; FlushMetrics writes one JSON line with the change since the last
 * flush (Firecracker's SharedIncMetric semantics). metrics_reset() for tests.
 */
#ifndef EMBER_METRICS_H
#define EMBER_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

typedef atomic_uint_fast64_t metric_t;

struct ember_metrics {
	struct {
		metric_t process_startup_time_us;
		metric_t process_startup_time_cpu_us;
	} api_server;
	struct {
		metric_t instance_info_count, machine_cfg_count, vm_config_count, version_count;
		metric_t mmds_count;
		metric_t hotplug_memory_count;
	} get_api_requests;
	struct {
		metric_t actions_count, actions_fails, boot_source_count, boot_source_fails,
		    logger_count, logger_fails, machine_cfg_count, machine_cfg_fails, metrics_count,
		    metrics_fails, serial_count, serial_fails;
		metric_t drive_count, drive_fails, network_count, network_fails, vsock_count,
		    vsock_fails, entropy_count, entropy_fails;
		metric_t pmem_count, pmem_fails;
		metric_t snapshot_create_count, snapshot_create_fails, snapshot_load_count,
		    snapshot_load_fails;
		metric_t mmds_count, mmds_fails;
		metric_t cpu_cfg_count, cpu_cfg_fails;
		metric_t hotplug_memory_count, hotplug_memory_fails;
	} put_api_requests;
	struct {
		metric_t machine_cfg_count, machine_cfg_fails, vm_count, vm_fails;
		metric_t drive_count, drive_fails, network_count, network_fails;
		metric_t mmds_count, mmds_fails;
		metric_t pmem_count, pmem_fails;
		metric_t hotplug_memory_count, hotplug_memory_fails;
	} patch_api_requests;
	struct {
		metric_t error_count, missed_read_count, missed_write_count, read_count,
		    reset_count, write_count;
	} i8042;
	struct {
		metric_t error_count, flush_count, missed_read_count, missed_write_count,
		    read_count, write_count;
		metric_t rate_limiter_dropped_bytes; /* output over PUT /serial's rate_limiter */
	} uart;
	struct {
		metric_t exit_io_in, exit_io_out, exit_mmio_read, exit_mmio_write, failures;
	} vcpu;
	struct {
		metric_t device_events, panic_count;
	} vmm;
	struct {
		metric_t num_faults;
	} seccomp;
	struct {
		metric_t deprecated_http_api_calls; /* requests using a deprecated field */
	} deprecated_api;
	struct {
		metric_t rate_limited_log_count; /* log lines suppressed by a call site's limit */
	} logger;
	/* virtio-mmio transport, virtqueues and the block/entropy devices. */
	struct {
		metric_t mmio_invalid_access; /* wrong width, unknown or read-only register */
		metric_t config_out_of_range; /* config space access past the device's config */
		metric_t status_refused;      /* status write that skips or clears bits */
		metric_t features_refused; /* FEATURES_OK with unoffered features or no VERSION_1 */
		metric_t queue_config_refused; /* QueueReady with an invalid ring layout */
		metric_t queue_notifies;       /* queue notifications handled */
		metric_t chain_errors;	       /* malformed descriptor chains (request failed) */
		metric_t needs_reset;	       /* devices put into DEVICE_NEEDS_RESET */
		metric_t activate_fails;
		metric_t interrupts; /* used-buffer and config interrupts raised */
		metric_t blk_read_count, blk_write_count, blk_flush_count, blk_get_id_count,
		    blk_read_bytes, blk_write_bytes, blk_invalid_reqs, blk_io_errors,
		    blk_unsupported_reqs, blk_update_count, blk_update_fails, blk_throttled;
		metric_t rng_requests, rng_bytes, rng_fails, rng_throttled;
	} virtio;
	/* virtio-net, all devices together (Firecracker's "net" group, same names). */
	struct {
		metric_t activate_fails, cfg_fails, no_rx_avail_buffer, rx_tap_event_count;
		metric_t rx_count, rx_packets_count, rx_bytes_count, rx_fails, rx_dropped_frames,
		    rx_rate_limiter_throttled, tap_read_fails;
		metric_t tx_count, tx_packets_count, tx_bytes_count, tx_fails, tx_malformed_frames,
		    tx_rate_limiter_throttled, tx_spoofed_mac_count, tap_write_fails;
	} net;
	/* MMDS: its network stack and its HTTP responder (Firecracker's "mmds" group). */
	struct {
		metric_t rx_accepted, rx_accepted_err, rx_accepted_unusual, rx_bad_eth,
		    rx_invalid_token, rx_no_token, rx_count;
		metric_t tx_bytes, tx_count, tx_errors, tx_frames;
		metric_t connections_created, connections_destroyed;
	} mmds;
	/* virtio-vsock and its Unix-socket muxer (Firecracker's "vsock" group, plus guest errors).
	 */
	struct {
		metric_t rx_queue_event_count, tx_queue_event_count, ev_queue_event_fails;
		metric_t rx_bytes_count, tx_bytes_count, rx_packets_count, tx_packets_count;
		metric_t conns_added, conns_killed, conns_removed, conns_refused, conn_timeouts;
		metric_t muxer_event_fails, conn_event_fails, tx_flush_fails, tx_write_fails,
		    rx_read_fails, host_connect_errors;
		metric_t malformed_pkts;    /* short header, len past the buffer or the limit */
		metric_t wrong_cid_pkts;    /* src_cid not the guest's or dst_cid not the host */
		metric_t invalid_op_pkts;   /* unknown op or type, or an op the state forbids */
		metric_t credit_violations; /* the guest sent more than our buf_alloc allowed */
	} vsock;
	/* virtio-balloon (Firecracker's "balloon" group, same names). */
	struct {
		metric_t activate_fails, inflate_count, stats_updates_count, stats_update_fails,
		    deflate_count, event_fails;
		metric_t free_page_report_count, free_page_report_freed, free_page_report_fails;
		metric_t free_page_hint_count, free_page_hint_freed, free_page_hint_fails;
	} balloon;
	/* Firecracker's latencies_us (last value): how long the snapshot operations took. */
	struct {
		metric_t full_create_snapshot, diff_create_snapshot, load_snapshot;
	} latencies_us;
};

extern struct ember_metrics g_metrics;

static inline void metric_add(metric_t *m, uint64_t v)
{
	atomic_fetch_add_explicit(m, v, memory_order_relaxed);
}

static inline void metric_inc(metric_t *m)
{
	metric_add(m, 1);
}

void metrics_reset(void);
/* Open @path for the metrics sink (file or FIFO). -EALREADY when already set. */
int metrics_init(const char *path);
/* Write one JSON line of deltas since the last flush; -ENOENT without a sink. */
int metrics_flush(void);
void metrics_close(void);

#endif
