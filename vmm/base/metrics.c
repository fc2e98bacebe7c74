// SPDX-License-Identifier: Apache-2.0
/*
 * Metrics in Firecracker's format: FlushMetrics (or the exit path) writes one
 * JSON line
 *   {"utc_timestamp_ms":...,"api_server":{...},"get_api_requests":{...},...}
 * Counters report the change since the previous successful flush
 * (Firecracker's SharedIncMetric); the api_server start times are absolute
 * values (SharedStoreMetric).
 */
#include "vmm/base/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct ember_metrics g_metrics;

enum metric_kind { METRIC_INC, METRIC_STORE };

struct metric_desc {
	const char *group;
	const char *name;
	size_t offset;
	enum metric_kind kind;
};

#define INC(g, n)                                                                                  \
	{                                                                                          \
#g, #n, offsetof(struct ember_metrics, g.n), METRIC_INC                            \
	}
#define STORE(g, n)                                                                                \
	{                                                                                          \
#g, #n, offsetof(struct ember_metrics, g.n), METRIC_STORE                          \
	}

/* Every counter of struct ember_metrics, grouped and ordered as written out. */
static const struct metric_desc metric_descs[] = {
    STORE(api_server, process_startup_time_us),
    STORE(api_server, process_startup_time_cpu_us),
    INC(get_api_requests, instance_info_count),
    INC(get_api_requests, machine_cfg_count),
    INC(get_api_requests, vm_config_count),
    INC(get_api_requests, version_count),
    INC(get_api_requests, mmds_count),
    INC(get_api_requests, hotplug_memory_count),
    INC(put_api_requests, actions_count),
    INC(put_api_requests, actions_fails),
    INC(put_api_requests, boot_source_count),
    INC(put_api_requests, boot_source_fails),
    INC(put_api_requests, logger_count),
    INC(put_api_requests, logger_fails),
    INC(put_api_requests, machine_cfg_count),
    INC(put_api_requests, machine_cfg_fails),
    INC(put_api_requests, metrics_count),
    INC(put_api_requests, metrics_fails),
    INC(put_api_requests, serial_count),
    INC(put_api_requests, serial_fails),
    INC(put_api_requests, drive_count),
    INC(put_api_requests, drive_fails),
    INC(put_api_requests, network_count),
    INC(put_api_requests, network_fails),
    INC(put_api_requests, vsock_count),
    INC(put_api_requests, vsock_fails),
    INC(put_api_requests, entropy_count),
    INC(put_api_requests, entropy_fails),
    INC(put_api_requests, pmem_count),
    INC(put_api_requests, pmem_fails),
    INC(put_api_requests, snapshot_create_count),
    INC(put_api_requests, snapshot_create_fails),
    INC(put_api_requests, snapshot_load_count),
    INC(put_api_requests, snapshot_load_fails),
    INC(put_api_requests, mmds_count),
    INC(put_api_requests, mmds_fails),
    INC(put_api_requests, cpu_cfg_count),
    INC(put_api_requests, cpu_cfg_fails),
    INC(put_api_requests, hotplug_memory_count),
    INC(put_api_requests, hotplug_memory_fails),
    INC(patch_api_requests, machine_cfg_count),
    INC(patch_api_requests, machine_cfg_fails),
    INC(patch_api_requests, vm_count),
    INC(patch_api_requests, vm_fails),
    INC(patch_api_requests, drive_count),
    INC(patch_api_requests, drive_fails),
    INC(patch_api_requests, network_count),
    INC(patch_api_requests, network_fails),
    INC(patch_api_requests, mmds_count),
    INC(patch_api_requests, mmds_fails),
    INC(patch_api_requests, pmem_count),
    INC(patch_api_requests, pmem_fails),
    INC(patch_api_requests, hotplug_memory_count),
    INC(patch_api_requests, hotplug_memory_fails),
    INC(i8042, error_count),
    INC(i8042, missed_read_count),
    INC(i8042, missed_write_count),
    INC(i8042, read_count),
    INC(i8042, reset_count),
    INC(i8042, write_count),
    INC(uart, error_count),
    INC(uart, flush_count),
    INC(uart, missed_read_count),
    INC(uart, missed_write_count),
    INC(uart, read_count),
    INC(uart, write_count),
    INC(uart, rate_limiter_dropped_bytes),
    INC(vcpu, exit_io_in),
    INC(vcpu, exit_io_out),
    INC(vcpu, exit_mmio_read),
    INC(vcpu, exit_mmio_write),
    INC(vcpu, failures),
    INC(vmm, device_events),
    INC(vmm, panic_count),
    INC(seccomp, num_faults),
    INC(deprecated_api, deprecated_http_api_calls),
    INC(logger, rate_limited_log_count),
    INC(virtio, mmio_invalid_access),
    INC(virtio, config_out_of_range),
    INC(virtio, status_refused),
    INC(virtio, features_refused),
    INC(virtio, queue_config_refused),
    INC(virtio, queue_notifies),
    INC(virtio, chain_errors),
    INC(virtio, needs_reset),
    INC(virtio, activate_fails),
    INC(virtio, interrupts),
    INC(virtio, blk_read_count),
    INC(virtio, blk_write_count),
    INC(virtio, blk_flush_count),
    INC(virtio, blk_get_id_count),
    INC(virtio, blk_read_bytes),
    INC(virtio, blk_write_bytes),
    INC(virtio, blk_invalid_reqs),
    INC(virtio, blk_io_errors),
    INC(virtio, blk_unsupported_reqs),
    INC(virtio, blk_update_count),
    INC(virtio, blk_update_fails),
    INC(virtio, blk_throttled),
    INC(virtio, rng_requests),
    INC(virtio, rng_bytes),
    INC(virtio, rng_fails),
    INC(virtio, rng_throttled),
    INC(net, activate_fails),
    INC(net, cfg_fails),
    INC(net, no_rx_avail_buffer),
    INC(net, rx_tap_event_count),
    INC(net, rx_count),
    INC(net, rx_packets_count),
    INC(net, rx_bytes_count),
    INC(net, rx_fails),
    INC(net, rx_dropped_frames),
    INC(net, rx_rate_limiter_throttled),
    INC(net, tap_read_fails),
    INC(net, tx_count),
    INC(net, tx_packets_count),
    INC(net, tx_bytes_count),
    INC(net, tx_fails),
    INC(net, tx_malformed_frames),
    INC(net, tx_rate_limiter_throttled),
    INC(net, tx_spoofed_mac_count),
    INC(net, tap_write_fails),
    INC(mmds, rx_accepted),
    INC(mmds, rx_accepted_err),
    INC(mmds, rx_accepted_unusual),
    INC(mmds, rx_bad_eth),
    INC(mmds, rx_invalid_token),
    INC(mmds, rx_no_token),
    INC(mmds, rx_count),
    INC(mmds, tx_bytes),
    INC(mmds, tx_count),
    INC(mmds, tx_errors),
    INC(mmds, tx_frames),
    INC(mmds, connections_created),
    INC(mmds, connections_destroyed),
    INC(vsock, rx_queue_event_count),
    INC(vsock, tx_queue_event_count),
    INC(vsock, ev_queue_event_fails),
    INC(vsock, rx_bytes_count),
    INC(vsock, tx_bytes_count),
    INC(vsock, rx_packets_count),
    INC(vsock, tx_packets_count),
    INC(vsock, conns_added),
    INC(vsock, conns_killed),
    INC(vsock, conns_removed),
    INC(vsock, conns_refused),
    INC(vsock, conn_timeouts),
    INC(vsock, muxer_event_fails),
    INC(vsock, conn_event_fails),
    INC(vsock, tx_flush_fails),
    INC(vsock, tx_write_fails),
    INC(vsock, rx_read_fails),
    INC(vsock, host_connect_errors),
    INC(vsock, malformed_pkts),
    INC(vsock, wrong_cid_pkts),
    INC(vsock, invalid_op_pkts),
    INC(vsock, credit_violations),
    INC(balloon, activate_fails),
    INC(balloon, inflate_count),
    INC(balloon, stats_updates_count),
    INC(balloon, stats_update_fails),
    INC(balloon, deflate_count),
    INC(balloon, event_fails),
    INC(balloon, free_page_report_count),
    INC(balloon, free_page_report_freed),
    INC(balloon, free_page_report_fails),
    INC(balloon, free_page_hint_count),
    INC(balloon, free_page_hint_freed),
    INC(balloon, free_page_hint_fails),
    STORE(latencies_us, full_create_snapshot),
    STORE(latencies_us, diff_create_snapshot),
    STORE(latencies_us, load_snapshot),
};

#define NR_METRICS (sizeof(struct ember_metrics) / sizeof(metric_t))

_Static_assert(sizeof(metric_descs) / sizeof(metric_descs[0]) == NR_METRICS,
	       "every counter of struct ember_metrics needs a line in metrics.c's metric_descs");

static struct {
	pthread_mutex_t lock;	      /* serialises flushes and sink changes */
	int fd;			      /* sink, -1 when not configured */
	uint64_t flushed[NR_METRICS]; /* counter values at the last successful flush */
} sink = {PTHREAD_MUTEX_INITIALIZER, -1, {0}};

static metric_t *metric_at(size_t offset)
{
	return (metric_t *)((char *)&g_metrics + offset);
}

void metrics_reset(void)
{
	pthread_mutex_lock(&sink.lock);
	for (size_t i = 0; i < NR_METRICS; i++)
		atomic_store(metric_at(metric_descs[i].offset), 0);
	memset(sink.flushed, 0, sizeof(sink.flushed));
	pthread_mutex_unlock(&sink.lock);
}

int metrics_init(const char *path)
{
	int fd, ret = 0;

	pthread_mutex_lock(&sink.lock);
	if (sink.fd >= 0) {
		ret = -EALREADY;
		goto out;
	}
	/*
	 * As Firecracker opens it (open_file_nonblock): created when missing,
	 * read-write so opening a FIFO nobody reads yet does not fail (ENXIO),
	 * non-blocking so a stalled reader never blocks the VMM.
	 */
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	sink.fd = fd;
out:
	pthread_mutex_unlock(&sink.lock);
	return ret;
}

void metrics_close(void)
{
	pthread_mutex_lock(&sink.lock);
	if (sink.fd >= 0)
		close(sink.fd);
	sink.fd = -1;
	pthread_mutex_unlock(&sink.lock);
}

static uint64_t utc_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One JSON line of @values (deltas or stored values), "\n"-terminated. */
static char *metrics_line(const uint64_t *values)
{
	json_t *root = json_object(), *group = NULL;
	const char *group_name = NULL;
	char *text = NULL, *line = NULL;
	size_t len;

	if (!root)
		return NULL;
	json_object_set_new(root, "utc_timestamp_ms", json_integer((json_int_t)utc_ms()));
	for (size_t i = 0; i < NR_METRICS; i++) {
		const struct metric_desc *d = &metric_descs[i];

		if (!group_name || strcmp(group_name, d->group)) {
			group = json_object();
			if (!group || json_object_set_new(root, d->group, group))
				goto out;
			group_name = d->group;
		}
		if (json_object_set_new(group, d->name, json_integer((json_int_t)values[i])))
			goto out;
	}
	text = json_dumps(root, JSON_COMPACT);
	if (!text)
		goto out;
	len = strlen(text);
	line = malloc(len + 2);
	if (line) {
		memcpy(line, text, len);
		memcpy(line + len, "\n", 2);
	}
out:
	free(text);
	json_decref(root);
	return line;
}

int metrics_flush(void)
{
	uint64_t now[NR_METRICS], values[NR_METRICS];
	char *line;
	ssize_t n;
	int ret = 0;

	pthread_mutex_lock(&sink.lock);
	if (sink.fd < 0) {
		ret = -ENOENT;
		goto out;
	}
	for (size_t i = 0; i < NR_METRICS; i++) {
		now[i] =
		    atomic_load_explicit(metric_at(metric_descs[i].offset), memory_order_relaxed);
		values[i] = metric_descs[i].kind == METRIC_INC ? now[i] - sink.flushed[i] : now[i];
	}
	line = metrics_line(values);
	if (!line) {
		ret = -ENOMEM;
		goto out;
	}
	/* One write: a FIFO reader sees whole lines or nothing. */
	n = write(sink.fd, line, strlen(line));
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != strlen(line))
		ret = -EAGAIN;
	free(line);
	/* Deltas only move on when the reader actually got them. */
	if (!ret)
		memcpy(sink.flushed, now, sizeof(now));
out:
	pthread_mutex_unlock(&sink.lock);
	return ret;
}
