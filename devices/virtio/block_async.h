/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-blk Async I/O engine: reads, writes and flushes submitted to an
 * io_uring, completed when its eventfd fires on the VMM loop. Internal to
 * block.c; the caller serialises all calls (the device lock).
 */
#ifndef EMBER_VIRTIO_BLOCK_ASYNC_H
#define EMBER_VIRTIO_BLOCK_ASYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* What the device needs back when an operation completes. */
struct block_async_req {
	uint16_t head;
	uint8_t type; /* VIRTIO_BLK_T_IN / OUT / FLUSH */
	uint64_t status_gpa;
	uint32_t expect;     /* bytes the operation must transfer (0: flush) */
	uint32_t written_ok; /* used length on success */
	uint32_t epoch;	     /* device reset count when submitted */
};

struct block_async;

typedef void (*block_async_done_fn)(void *ctx, const struct block_async_req *req, int res);

/* A ring for @depth operations in flight. -errno with @err filled when io_uring is unusable. */
int block_async_create(struct block_async **out, unsigned int depth, char *err, size_t errlen);
/* Waits for every operation in flight (their results are dropped). */
void block_async_destroy(struct block_async *a);
/* Readable when completions are waiting. */
int block_async_eventfd(const struct block_async *a);
unsigned int block_async_inflight(const struct block_async *a);

/*
 * Queue a read (@write false) or write of @iov at @offset of @fd, or a
 * data flush. The iovec array is copied. -EBUSY when @depth operations are
 * already queued or in flight.
 */
int block_async_queue_rw(struct block_async *a, int fd, bool write, uint64_t offset,
			 const struct iovec *iov, unsigned int nr_iov,
			 const struct block_async_req *req);
int block_async_queue_flush(struct block_async *a, int fd, const struct block_async_req *req);
/* Hand everything queued to the kernel. 0 or -errno. */
int block_async_submit(struct block_async *a);

/*
 * Call @done for each finished operation (@res: bytes transferred or
 * -errno). @wait: block until nothing is in flight. Returns the count.
 */
unsigned int block_async_reap(struct block_async *a, bool wait, block_async_done_fn done,
			      void *ctx);

#endif
