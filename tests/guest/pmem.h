/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `pmem` scenario: the first virtio-pmem device's config space (start,
 * size), its region mapped (above 4 GiB) and read, a write through it, a
 * flush request, and a malformed request the device must complete with used
 * length 0.
 */
#ifndef GUEST_PMEM_H
#define GUEST_PMEM_H

__attribute__((noreturn)) void scenario_pmem(const char *cmdline);

#endif
