/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scenarios that drive the VMM's virtio-mmio devices, each found on the
 * command line (virtio_mmio.device=...) and listed first. Every one ends in
 * a machine reset; the README lists what each prints.
 */
#ifndef GUEST_VIRTIO_SCENARIOS_H
#define GUEST_VIRTIO_SCENARIOS_H

#include "types.h"
#include "virtio.h"

/* virtio-list: list the devices. */
__noreturn void scenario_virtio_list(const char *cmdline);

/* blk: capacity, GET_ID, read sector 0, write + flush + read back sector 1 on the first disk. */
__noreturn void scenario_blk(const char *cmdline);

/* rng: 16 bytes from the first entropy device. */
__noreturn void scenario_rng(const char *cmdline);

/* hostile: malformed chains on the first disk, then a well-formed read (hostile.c). */
__noreturn void scenario_hostile(const char *cmdline);

/* net: send one Ethernet frame, print the one the host answers with (net.c). */
__noreturn void scenario_net(const char *cmdline);

/* vsock: a line to host port 52 and its reply, then an echo on port 1234 (vsock.c). */
__noreturn void scenario_vsock(const char *cmdline);

/* blk-bench: @requests sector reads on the first disk, issued from ring 3 (blk_bench.c). */
__noreturn void scenario_blk_bench(const char *cmdline, uint64_t requests);

/* log-flood: bursts of ignored writes to the first entropy device (log_flood.c). */
__noreturn void scenario_log_flood(const char *cmdline);

/*
 * List the devices on @cmdline and return the first with @device_id; when
 * there is none, print "<who>: no device" and return NULL.
 */
struct virtio_dev *virtio_probe_first(const char *cmdline, uint32_t device_id, const char *who);

#endif
