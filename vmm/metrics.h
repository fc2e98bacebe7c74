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
	} get_api_requests;
	struct {
		metric_t actions_count, actions_fails, boot_source_count, boot_source_fails,
			logger_count, logger_fails, machine_cfg_count, machine_cfg_fails,
			metrics_count, metrics_fails, serial_count, serial_fails;
	} put_api_requests;
	struct {
		metric_t machine_cfg_count, machine_cfg_fails, vm_count, vm_fails;
	} patch_api_requests;
	struct {
		metric_t error_count, missed_read_count, missed_write_count, read_count,
			reset_count, write_count;
	} i8042;
	struct {
		metric_t error_count, flush_count, missed_read_count, missed_write_count,
			read_count, write_count;
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
