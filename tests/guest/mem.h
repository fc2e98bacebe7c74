/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `mem` scenario: the first virtio-mem device's config space, then its
 * requests: STATE, PLUG refused (outside the usable region, unaligned, past
 * requested_size), PLUG of the first block once the host has set
 * requested_size, a write and read through it, PLUG again (ERROR), then,
 * once the host has set requested_size back to 0, UNPLUG, STATE, UNPLUG
 * again (ERROR) and a malformed request (used length 0).
 */
#ifndef GUEST_MEM_H
#define GUEST_MEM_H

__attribute__((noreturn)) void scenario_mem(const char *cmdline);

/*
 * The `mem-snap` scenario, around a snapshot and restore: once the host sets
 * requested_size, PLUG of that much from the region's start and a pattern
 * written into every page of it (`mem-snap: written <hex>`); then, once the
 * host changes requested_size again (after the restore), the pattern read
 * back (`mem-snap: data ok` or `mem-snap: data BAD`), STATE of the plugged
 * range, PLUG of one more block, UNPLUG of everything and `mem-snap:
 * plugged <hex>`, then reset.
 */
__attribute__((noreturn)) void scenario_mem_snap(const char *cmdline);

#endif
