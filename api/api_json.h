/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Configuration and state -> the JSON bodies of Firecracker's GET responses,
 * compact like serde_json::to_string, keys in Firecracker's order. Each
 * returns a malloc'ed NUL-terminated string (free()), NULL on ENOMEM.
 */
#ifndef EMBER_API_JSON_H
#define EMBER_API_JSON_H

#include <jansson.h>
#include <stdint.h>

#include "vmm/controller/controller.h"
#include "vmm/config/vmm_config.h"

/* Firecracker clients expect this app_name in GET /; Ember reports its own version. */
#define API_APP_NAME "Firecracker"

/* GET /: {"id","state","vmm_version","app_name"} */
char *api_json_instance_info(const struct instance_info *info, const char *vmm_version);
/* GET /version: {"firecracker_version": ...} */
char *api_json_version(const char *vmm_version);
/* GET /machine-config */
char *api_json_machine_config(const struct machine_config *mc);
/*
 * GET /vm/config: Firecracker's keys ("balloon", "drives", "boot-source", "cpu-config",
 * "logger", "machine-config", "metrics", "network-interfaces", "vsock",
 * "entropy", "pmem", "memory-hotplug"), then Ember's "serial"
 */
char *api_json_vm_config(const struct vm_config *cfg);
/* GET /balloon: BalloonDeviceConfig */
char *api_json_balloon(const struct balloon_config *b);
/* GET /balloon/statistics: BalloonStats, the guest's values only when it reported them */
char *api_json_balloon_stats(const struct balloon_stats *st);
/* GET /balloon/hinting/status: {"host_cmd", "guest_cmd" (null before the guest's first)} */
char *api_json_balloon_hinting(const struct balloon_hinting_status *h);
/* GET /hotplug/memory: Firecracker's VirtioMemStatus, in its field order. */
char *api_json_memory_hotplug_status(const struct memory_hotplug_status *s);
/* Error bodies: {"fault_message": ...} */
char *api_json_fault(const char *message);

/*
 * A u64 in a body built by this file: a JSON integer, also above INT64_MAX
 * (where jansson's integers stop), as serde writes it. New reference.
 */
json_t *api_json_u64(uint64_t v);

/* Firecracker's spelling of a log level ("Warning", not "Warn"). */
const char *api_level_name(enum log_level level);

#endif
