/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk backed by a host file (Firecracker's PUT /drives semantics).
 *
 * Features: VERSION_1, EVENT_IDX, INDIRECT_DESC, plus VIRTIO_BLK_F_RO when
 * read-only and VIRTIO_BLK_F_FLUSH with cache_type Writeback (as Firecracker:
 * Unsafe does not offer flush, and a flush that arrives anyway is a no-op).
 * Config space: capacity only (8 bytes, 512-byte sectors = file size / 512).
 * Requests: IN, OUT, FLUSH, GET_ID (drive_id, 20 bytes zero padded); any
 * other type completes with VIRTIO_BLK_S_UNSUPP. The request layout is not
 * assumed (VIRTIO_F_VERSION_1 implies ANY_LAYOUT): a 16-byte header at the
 * start of the device-readable bytes, the status in the last device-writable
 * byte. A chain without a writable byte cannot carry a status: it completes
 * with used length 0 and is counted.
 *
 * I/O engines: Sync does preadv/pwritev/fdatasync on the VMM thread. Async
 * submits the same operations to io_uring (liburing) and completes them when
 * the ring's eventfd fires on the VMM loop; creating an Async device fails
 * with a clear error when the host has no usable io_uring.
 */
#ifndef EMBER_VIRTIO_BLOCK_H
#define EMBER_VIRTIO_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_blk.h>

#include "vmm/mem/guest_mem.h"
#include "devices/virtio/virtio.h"

#define BLOCK_SECTOR_SIZE 512U
#define BLOCK_QUEUE_SIZE  256U

enum block_cache_type { BLOCK_CACHE_UNSAFE = 0, BLOCK_CACHE_WRITEBACK };
enum block_io_engine { BLOCK_IO_SYNC = 0, BLOCK_IO_ASYNC };

struct block_config {
	const char *drive_id; /* GET_ID answer (first 20 bytes) */
	const char *path_on_host;
	bool is_read_only;
	enum block_cache_type cache_type;
	enum block_io_engine io_engine;
};

struct block_dev;
struct virtio_mmio_dev;

/*
 * Open the backing file and create the device at @base/@gsi. 0 or -errno with
 * a user-facing reason in @err (missing file, io_uring unavailable, ...).
 */
int block_create(struct block_dev **out, const struct block_config *cfg,
		 const struct guest_mem *mem, uint64_t base, uint32_t gsi, char *err,
		 size_t errlen);
/* Waits for in-flight async I/O, then frees everything (detach first). */
void block_destroy(struct block_dev *blk);

struct virtio_mmio_dev *block_mmio(struct block_dev *blk);
/* Capacity in 512-byte sectors. */
uint64_t block_capacity(struct block_dev *blk);

/*
 * PATCH /drives: switch to the file at @path (same read-only mode), recompute
 * the capacity, bump ConfigGeneration and raise a config interrupt when the
 * driver is running. In-flight async requests on the old file finish first.
 * On error the old file stays in use. 0 or -errno with @err filled.
 */
int block_update_backing(struct block_dev *blk, const char *path, char *err, size_t errlen);

/* Install the rate limiter hook (ops = 1 per request, bytes = data length). */
void block_set_limiter(struct block_dev *blk, const struct virtio_limiter *lim);

#endif
