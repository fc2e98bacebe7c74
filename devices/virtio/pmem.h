/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-pmem (PUT /pmem/{id}, device id 27): a host file mapped MAP_SHARED
 * (PROT_READ only when read-only) that the VMM places in guest-physical
 * memory as its own KVM memory slot, above RAM, at a PMEM_ALIGN-aligned
 * address the caller chooses. The mapping is rounded up to PMEM_ALIGN (Linux
 * maps the region in 2 MiB sections); the tail past the file's end is
 * private anonymous memory that never reaches the file (as in Firecracker).
 *
 * Config space (virtio 1.3, 5.19.4): le64 start, le64 size of the region.
 * One request queue: each chain is a 4-byte device-readable request type
 * (VIRTIO_PMEM_REQ_TYPE_FLUSH, the only one) then a 4-byte device-writable
 * status (0 = OK, 1 = EIO). A flush is msync(MS_SYNC) of the file's part of
 * the mapping, done once per queue pass and its result given to every
 * request of that pass. A malformed chain is completed with used length 0
 * and logged (rate-limited); the guest cannot make the device touch
 * anything outside its own chains. Features: VERSION_1, EVENT_IDX,
 * INDIRECT_DESC.
 */
#ifndef EMBER_VIRTIO_PMEM_H
#define EMBER_VIRTIO_PMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/mem/guest_mem.h"
#include "devices/virtio/virtio.h"

#define PMEM_QUEUE_SIZE	 256U
#define PMEM_ALIGN	 (2ULL << 20)
#define PMEM_CONFIG_SIZE 16U

struct pmem_dev;
struct virtio_mmio_dev;

/*
 * Open and map @path at guest address @gpa (PMEM_ALIGN-aligned; the caller
 * makes it a KVM slot with pmem_host()/pmem_region_size()). 0, or -errno
 * with Firecracker's reason in @err ("Error accessing backing file: ...",
 * "Error backing file size is 0").
 */
int pmem_create(struct pmem_dev **out, const char *path, bool read_only, uint64_t gpa,
		const struct guest_mem *mem, uint64_t base, uint32_t gsi, char *err, size_t errlen);
void pmem_destroy(struct pmem_dev *p);
struct virtio_mmio_dev *pmem_mmio(struct pmem_dev *p);

/* The mapping: host address, its size (file size rounded up to PMEM_ALIGN), the file size. */
void *pmem_host(const struct pmem_dev *p);
uint64_t pmem_region_size(const struct pmem_dev *p);
uint64_t pmem_file_size(const struct pmem_dev *p);
uint64_t pmem_gpa(const struct pmem_dev *p);
bool pmem_read_only(const struct pmem_dev *p);

/* Rate limiter hook: each queue pass (one flush) takes 1 op and the file size in bytes. */
void pmem_set_limiter(struct pmem_dev *p, const struct virtio_limiter *lim);

/* Region size for a file of @file_size bytes (0 when it overflows). */
uint64_t pmem_aligned_size(uint64_t file_size);

#endif
