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

#endif
