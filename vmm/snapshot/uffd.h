/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Uffd memory backend of PUT /snapshot/load, with Firecracker's
 * handshake so existing page-fault handlers work unchanged:
 *
 *  1. guest RAM is anonymous private memory (guest_mem_create_anon());
 *  2. a userfaultfd (non-blocking, close-on-exec, kernel faults included,
 *     UFFD_FEATURE_EVENT_REMOVE) registers every region in MISSING mode;
 *  3. Ember connects to the handler's Unix socket (backend_path) and sends,
 *     in one message, the JSON array of region mappings
 *	[{"base_host_virt_addr": A, "size": S, "offset": O, "page_size": P,
 *	  "page_size_kib": P}, ...]
 *     (offset: where the region starts in the memory file; page_size and its
 *     deprecated, misnamed twin page_size_kib both in bytes, as Firecracker
 *     sends them) with the userfaultfd attached as SCM_RIGHTS.
 *
 * A VM with virtio-mem (memory hotplug) has one more mapping, as in
 * Firecracker 1.16: the whole hotplug region, plugged or not, whose offset
 * is its place in the memory file, right after RAM (snapshot_mem.h). Ember
 * maps it here, before the device exists, so that it is registered and
 * announced with RAM; the device borrows it (mem_create_on()). Its pages are
 * 4 KiB whatever RAM's are: the device's region is never hugetlb. Unplugged
 * blocks are given back with MADV_DONTNEED, as the balloon does on RAM: the
 * handler sees UFFD_EVENT_REMOVE and the next touch faults again.
 *
 * Ember keeps its copy of the userfaultfd and the connected socket for the
 * VM's lifetime, as Firecracker does: the registration outlives a handler
 * crash (the guest then stalls instead of silently reading zeroes), and the
 * handler can learn Ember's pid with SO_PEERCRED and see it go away.
 */
#ifndef EMBER_UFFD_H
#define EMBER_UFFD_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/mem/guest_mem.h"

struct uffd_backend {
	int uffd; /* -1: none */
	int sock; /* -1: none */
	/* virtio-mem's region (anonymous, registered), unmapped on close; NULL: none */
	void *hotplug;
	uint64_t hotplug_size;
};

void uffd_backend_init(struct uffd_backend *b);

/*
 * Steps 2 and 3 for @mem, whose pages are all missing yet, and, when
 * @hotplug_size is not 0, a fresh hotplug region of that many bytes
 * (b->hotplug). 0 or -errno with @err in Firecracker's words ("Failed to
 * UFFD object: ...", "Failed to register memory address range with the
 * userfaultfd object: ...", "Failed to connect to UDS Unix stream: ...",
 * "Failed to sends file descriptor: ..."; "Failed to restore guest memory:
 * ..." when the region cannot be mapped).
 */
int uffd_backend_connect(struct uffd_backend *b, const struct guest_mem *mem, uint64_t hotplug_size,
			 const char *path, char *err, size_t errlen);

/*
 * The handshake message for @mem and, unless @hotplug is NULL, the hotplug
 * region of @hotplug_size bytes at @hotplug (malloc'ed JSON text), or NULL
 * on allocation failure.
 */
char *uffd_mappings_json(const struct guest_mem *mem, const void *hotplug, uint64_t hotplug_size);

void uffd_backend_close(struct uffd_backend *b);

#endif
