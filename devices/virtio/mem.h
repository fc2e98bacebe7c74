/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-mem (PUT /hotplug/memory, device id 24): a region of guest-physical
 * memory above everything else that the guest plugs and unplugs in blocks
 * of block_size, up to the requested_size the host sets (PATCH
 * /hotplug/memory). The host backs the region with one anonymous
 * MAP_NORESERVE mapping and shows it to KVM one slot (slot_size) at a time:
 * a slot becomes a KVM memory slot when its first block is plugged and
 * stops being one when its last block is unplugged; unplugged blocks are
 * given back to the host (MADV_DONTNEED), so they read as zero when plugged
 * again.
 *
 * Config space (virtio 1.3, 5.15.4): le64 block_size, le16 node_id, 6
 * padding bytes, le64 addr, le64 region_size, le64 usable_region_size, le64
 * plugged_size, le64 requested_size. One request queue: each chain is a
 * 24-byte device-readable request (le16 type, 6 padding bytes, le64 addr,
 * le16 nb_blocks, 6 padding bytes) then a 10-byte device-writable response
 * (le16 type, 6 padding bytes, le16 state). PLUG, UNPLUG and STATE of a
 * range outside the usable region, unaligned, empty or wrapping answer
 * ERROR, as do PLUG of a range with a plugged block and UNPLUG of one with
 * an unplugged block; PLUG past requested_size answers NACK. A malformed
 * chain is completed with used length 0 and logged (rate-limited).
 * Features: VERSION_1, EVENT_IDX, INDIRECT_DESC, UNPLUGGED_INACCESSIBLE.
 */
#ifndef EMBER_VIRTIO_MEM_H
#define EMBER_VIRTIO_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/mem/guest_mem.h"
#include "devices/virtio/virtio.h"

#define VIRTIO_MEM_QUEUE_SIZE  256U
#define VIRTIO_MEM_CONFIG_SIZE 56U

/* Request types, response types and block states (virtio 1.3, 5.15.6). */
#define VIRTIO_MEM_REQ_PLUG	   0U
#define VIRTIO_MEM_REQ_UNPLUG	   1U
#define VIRTIO_MEM_REQ_UNPLUG_ALL  2U
#define VIRTIO_MEM_REQ_STATE	   3U
#define VIRTIO_MEM_RESP_ACK	   0U
#define VIRTIO_MEM_RESP_NACK	   1U
#define VIRTIO_MEM_RESP_BUSY	   2U
#define VIRTIO_MEM_RESP_ERROR	   3U
#define VIRTIO_MEM_STATE_PLUGGED   0U
#define VIRTIO_MEM_STATE_UNPLUGGED 1U
#define VIRTIO_MEM_STATE_MIXED	   2U

/* The largest region (1 TiB): block counts and byte sizes never wrap. */
#define VIRTIO_MEM_MAX_REGION (1ULL << 40)

#define VIRTIO_MEM_REQ_LEN  24U
#define VIRTIO_MEM_RESP_LEN 10U

struct mem_dev;
struct virtio_mmio_dev;

/*
 * Shows (@size > 0) or hides (@size 0) slot @index of the region to the
 * guest: @size bytes at @gpa backed by @host. 0 or -errno.
 */
typedef int (*mem_set_slot_fn)(void *ctx, uint32_t index, uint64_t gpa, uint64_t size, void *host);

struct mem_geometry {
	uint64_t gpa;	      /* region start, block_size-aligned */
	uint64_t region_size; /* a multiple of slot_size */
	uint64_t block_size;  /* a power of 2 */
	uint64_t slot_size;   /* a multiple of block_size */
};

/* Map the region and create the device. 0 or -errno. */
int mem_create(struct mem_dev **out, const struct mem_geometry *g, mem_set_slot_fn set_slot,
	       void *slot_ctx, const struct guest_mem *mem, uint64_t base, uint32_t gsi);
/*
 * The same on @host, an anonymous private mapping of g->region_size bytes
 * made by the caller, who keeps it (a Uffd restore maps the region before
 * the device exists, to register it with the page-fault handler); the
 * device only borrows it and must be destroyed before it is unmapped.
 */
int mem_create_on(struct mem_dev **out, const struct mem_geometry *g, void *host,
		  mem_set_slot_fn set_slot, void *slot_ctx, const struct guest_mem *mem,
		  uint64_t base, uint32_t gsi);
void mem_destroy(struct mem_dev *m);
struct virtio_mmio_dev *mem_mmio(struct mem_dev *m);

struct mem_status {
	uint64_t block_size, region_size, slot_size, plugged_size, requested_size; /* bytes */
};

void mem_status(struct mem_dev *m, struct mem_status *out);

/*
 * PATCH /hotplug/memory: the new requested size in bytes (a multiple of
 * block_size, at most region_size: else -EINVAL), the usable region grown
 * to cover it (slot-aligned), and the config-change interrupt.
 */
int mem_set_requested(struct mem_dev *m, uint64_t requested);

/*
 * Snapshots. The device state (virtio_mmio_save/restore) holds the geometry,
 * which a restore requires to equal the configured one, the sizes and the
 * plugged blocks; a restore shows the slots with plugged blocks to KVM
 * again. The blocks' bytes are the memory file's business: the runs of
 * plugged blocks, in region order, go to @fn (offset in the region, host
 * address, length); the first nonzero return stops the walk and is returned.
 */
typedef int (*mem_run_fn)(void *ctx, uint64_t off, uint8_t *host, uint64_t len);

int mem_for_each_plugged(struct mem_dev *m, mem_run_fn fn, void *ctx);
uint64_t mem_region_size(const struct mem_dev *m);

#endif
