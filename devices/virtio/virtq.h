/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device side of a virtio 1.x split virtqueue living in guest memory.
 *
 * The guest is an attacker that runs concurrently on another CPU: every ring
 * and descriptor access goes through guest_mem_translate()/guest_mem_read()/
 * guest_mem_write(), each value is read once into a local copy and validated
 * there, and no host pointer outlives the function that translated it.
 *
 * Ring corruption the device cannot recover from (the avail index running
 * ahead by more than the queue size, a head index out of range) makes
 * virtq_pop() fail; the transport then sets DEVICE_NEEDS_RESET. A malformed
 * descriptor chain only fails its own request (virtq_chain_walk()).
 */
#ifndef EMBER_VIRTQ_H
#define EMBER_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/mem/guest_mem.h"

#define VIRTQ_MAX_SIZE 256U

/* Ring byte sizes (virtio 1.x 2.7), including the event-index fields. */
#define VIRTQ_DESC_SIZE(n)  (16ULL * (n))
#define VIRTQ_AVAIL_SIZE(n) (6ULL + 2ULL * (n))
#define VIRTQ_USED_SIZE(n)  (6ULL + 8ULL * (n))

struct virtq {
	/* Programmed by the driver through the transport. */
	uint16_t max_size;
	uint32_t size; /* QueueNum as written; validated by virtq_validate() */
	bool ready;
	uint64_t desc_gpa, avail_gpa, used_gpa;

	/* Negotiated features, fixed while ready. */
	bool event_idx;
	bool indirect;

	/* Device-side indices (free-running, mod 2^16). */
	uint16_t last_avail_idx; /* next avail ring entry to consume */
	uint16_t used_idx;	 /* value of used->idx the device published */
	uint16_t signalled_used; /* used_idx when we last decided about an interrupt */
};

/* Power-on state: not ready, size = max_size, addresses 0. */
void virtq_init(struct virtq *q, uint16_t max_size);

struct vmstate_writer;
struct vmstate_reader;

/* Snapshot: the driver-programmed layout, negotiated ring features, device indices. */
void virtq_save(const struct virtq *q, struct vmstate_writer *w);
/*
 * Back from virtq_save() into a queue initialised with the same max_size;
 * a ready queue must pass virtq_validate() against @mem. 0 or -EINVAL.
 */
int virtq_restore(struct virtq *q, struct vmstate_reader *r, const struct guest_mem *mem);
/* Only parse what virtq_save() wrote, unchecked (ember --describe-snapshot). 0 or -EINVAL. */
int virtq_read_saved(struct virtq *q, struct vmstate_reader *r);

/*
 * Check the driver-programmed layout before the queue goes live: size a
 * non-zero power of two <= max_size, ring alignment (desc 16, avail 2, used 4)
 * and every ring, with its event field, wholly inside guest RAM.
 * 0 or -EINVAL; @why (optional) names the first problem.
 */
int virtq_validate(const struct virtq *q, const struct guest_mem *mem, const char **why);

/* Start using a validated queue with the negotiated ring features. */
void virtq_start(struct virtq *q, bool event_idx, bool indirect);

/*
 * Take the next available head: 1 (with @head), 0 when the ring is empty,
 * -EIO when the ring is corrupt (avail idx ahead by more than the size, head
 * out of range, ring outside RAM). @why (optional) says which.
 */
int virtq_pop(struct virtq *q, const struct guest_mem *mem, uint16_t *head, const char **why);
/* Give back the head virtq_pop() just returned (request throttled). */
void virtq_unpop(struct virtq *q);
/* Heads the driver has made available that the device has not taken yet. */
int virtq_avail_pending(const struct virtq *q, const struct guest_mem *mem, uint16_t *pending);

/* Publish one used element (id @head, @len bytes written). 0, -EFAULT or -EINVAL. */
int virtq_push_used(struct virtq *q, const struct guest_mem *mem, uint16_t head, uint32_t len);

/*
 * After publishing used elements: should the driver be interrupted?
 * Never when nothing was published since the last decision; then with
 * EVENT_IDX vring_need_event(used_event, new, old), otherwise unless the
 * driver set VRING_AVAIL_F_NO_INTERRUPT.
 */
bool virtq_need_interrupt(struct virtq *q, const struct guest_mem *mem);

/*
 * Before going idle: with EVENT_IDX, ask the driver to notify at the next
 * avail entry (avail_event = last_avail_idx). Returns true when buffers
 * arrived meanwhile, so the caller must keep processing instead of sleeping.
 */
bool virtq_enable_notify(struct virtq *q, const struct guest_mem *mem);

/* ---- descriptor chains ---------------------------------------------------- */

struct virtq_seg {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
};

/*
 * A walked chain: device-readable segments first (nr_read of them), then the
 * device-writable ones. Totals fit in 32 bits (a used length is 32 bits).
 */
struct virtq_chain {
	uint16_t head;
	unsigned int nr;
	unsigned int nr_read;
	uint32_t read_len;
	uint32_t write_len;
	struct virtq_seg segs[VIRTQ_MAX_SIZE];
};

/*
 * Walk the chain starting at @head into @chain, validating every descriptor:
 *   -EINVAL  index out of range, readable after writable, zero length,
 *            INDIRECT not negotiated / nested / with NEXT / bad table length
 *   -ELOOP   more descriptors than the queue size (loops included)
 *   -EFAULT  a buffer or indirect table not wholly in guest RAM (or wrapping)
 *   -E2BIG   readable or writable total above 4 GiB - 1
 * @why (optional) names the problem for the log.
 */
int virtq_chain_walk(const struct virtq *q, const struct guest_mem *mem, uint16_t head,
		     struct virtq_chain *chain, const char **why);

/*
 * Copy between a buffer and the chain's readable (resp. writable) bytes seen
 * as one stream, starting @offset bytes into it. Returns the bytes copied
 * (less than @len when the stream ends first).
 */
size_t virtq_chain_read(const struct guest_mem *mem, const struct virtq_chain *chain,
			uint64_t offset, void *buf, size_t len);
size_t virtq_chain_write(const struct guest_mem *mem, const struct virtq_chain *chain,
			 uint64_t offset, const void *buf, size_t len);

/*
 * Host iovecs for @len bytes at @offset of the readable (@write false) or
 * writable stream, for preadv/pwritev/io_uring. Returns the number of iovecs,
 * or -EFAULT (range past the stream or not RAM) / -ENOSPC (more than @max).
 * The pointers are valid while guest memory is mapped.
 */
int virtq_chain_iov(const struct guest_mem *mem, const struct virtq_chain *chain, bool write,
		    uint64_t offset, uint64_t len, struct iovec *iov, unsigned int max);

#endif
