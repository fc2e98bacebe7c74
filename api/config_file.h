/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --config-file: one JSON document with the same top-level keys as
 * GET /vm/config ("boot-source" required; "machine-config", "logger",
 * "metrics", "serial", "vsock", "entropy", "cpu-config", "memory-hotplug"
 * optional; "drives",
 * "network-interfaces" and "pmem" optional arrays), each section (or array
 * entry) shaped like the body of the matching PUT request. Parsed into the requests that
 * configure the VM, in the order Firecracker applies them; the caller feeds
 * them to the controller and then starts the VM. Unlike Firecracker, which
 * requires "drives", a file without it means no drives.
 */
#ifndef EMBER_CONFIG_FILE_H
#define EMBER_CONFIG_FILE_H

#include <stddef.h>

#include "vmm/controller/controller.h"

/*
 * 0 with *@reqs (malloc'ed, free each with vmm_request_free() then the array
 * with free()) and *@nr set, or -EINVAL with Firecracker's "Invalid JSON: ..."
 * message in @err, or -ENOMEM.
 */
int config_file_parse(const char *json_text, struct vmm_request **reqs, size_t *nr, char *err,
		      size_t errlen);

#endif
