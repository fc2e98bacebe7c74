// SPDX-License-Identifier: Apache-2.0
/*
 * io_uring engine for virtio-blk. A fixed table of slots bounds what is in
 * flight; each slot keeps its request token and a private copy of the
 * iovecs, so the kernel never sees memory the caller may reuse.
 */
#include "devices/virtio/block_async.h"

#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/base/log.h"

struct block_async_slot {
	bool busy;
	struct block_async_req req;
	struct iovec *iov;
	unsigned int iov_cap;
};

struct block_async {
	struct io_uring ring;
	bool ring_ready;
	int efd;
	unsigned int depth;
	unsigned int inflight; /* queued or submitted, not yet reaped */
	struct block_async_slot *slots;
};

static int async_check_ops(struct io_uring *ring, char *err, size_t errlen)
{
	static const int needed[] = {IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC};
	struct io_uring_probe *probe = io_uring_get_probe_ring(ring);
	int ret = 0;

	if (!probe) {
		snprintf(err, errlen, "io_uring on this host cannot report its operations");
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (!io_uring_opcode_supported(probe, needed[i])) {
			snprintf(err, errlen, "io_uring on this host lacks operation %d",
				 needed[i]);
			ret = -EOPNOTSUPP;
			break;
		}
	}
	io_uring_free_probe(probe);
	return ret;
}

int block_async_create(struct block_async **out, unsigned int depth, char *err, size_t errlen)
{
	struct block_async *a = calloc(1, sizeof(*a));
	int ret;

	if (!a)
		return -ENOMEM;
	a->efd = -1;
	a->depth = depth;
	a->slots = calloc(depth, sizeof(*a->slots));
	if (!a->slots) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = io_uring_queue_init(depth, &a->ring, 0);
	if (ret < 0) {
		snprintf(err, errlen,
			 "io_uring is not available on this host (%s); use io_engine Sync",
			 strerror(-ret));
		goto fail;
	}
	a->ring_ready = true;
	ret = async_check_ops(&a->ring, err, errlen);
	if (ret)
		goto fail;
	a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (a->efd < 0) {
		ret = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	ret = io_uring_register_eventfd(&a->ring, a->efd);
	if (ret < 0) {
		snprintf(err, errlen, "io_uring eventfd registration: %s", strerror(-ret));
		goto fail;
	}
	*out = a;
	return 0;
fail:
	block_async_destroy(a);
	return ret;
}

void block_async_destroy(struct block_async *a)
{
	if (!a)
		return;
	if (a->ring_ready) {
		block_async_reap(a, true, NULL, NULL);
		io_uring_queue_exit(&a->ring);
	}
	if (a->efd >= 0)
		close(a->efd);
	for (unsigned int i = 0; a->slots && i < a->depth; i++)
		free(a->slots[i].iov);
	free(a->slots);
	free(a);
}

int block_async_eventfd(const struct block_async *a)
{
	return a->efd;
}

unsigned int block_async_inflight(const struct block_async *a)
{
	return a->inflight;
}

static struct block_async_slot *async_free_slot(struct block_async *a)
{
	for (unsigned int i = 0; i < a->depth; i++) {
		if (!a->slots[i].busy)
			return &a->slots[i];
	}
	return NULL;
}

/* An SQE and a slot for one more operation, or NULL when the table is full. */
static struct io_uring_sqe *async_prepare(struct block_async *a, struct block_async_slot **slotp)
{
	struct block_async_slot *slot = async_free_slot(a);
	struct io_uring_sqe *sqe;

	if (!slot)
		return NULL;
	sqe = io_uring_get_sqe(&a->ring);
	if (!sqe) {
		/* The SQ is full of queued work: hand it over and retry once. */
		io_uring_submit(&a->ring);
		sqe = io_uring_get_sqe(&a->ring);
		if (!sqe)
			return NULL;
	}
	*slotp = slot;
	return sqe;
}

static void async_commit(struct block_async *a, struct io_uring_sqe *sqe,
			 struct block_async_slot *slot, const struct block_async_req *req)
{
	slot->req = *req;
	slot->busy = true;
	io_uring_sqe_set_data(sqe, slot);
	a->inflight++;
}

int block_async_queue_rw(struct block_async *a, int fd, bool write, uint64_t offset,
			 const struct iovec *iov, unsigned int nr_iov,
			 const struct block_async_req *req)
{
	struct block_async_slot *slot;
	struct io_uring_sqe *sqe = async_prepare(a, &slot);

	if (!sqe)
		return -EBUSY;
	if (slot->iov_cap < nr_iov) {
		struct iovec *iov_copy = realloc(slot->iov, nr_iov * sizeof(*iov_copy));

		if (!iov_copy) {
			/* The SQE stays unused: turn it into a no-op nobody waits for. */
			io_uring_prep_nop(sqe);
			io_uring_sqe_set_data(sqe, NULL);
			return -ENOMEM;
		}
		slot->iov = iov_copy;
		slot->iov_cap = nr_iov;
	}
	memcpy(slot->iov, iov, nr_iov * sizeof(*iov));
	if (write)
		io_uring_prep_writev(sqe, fd, slot->iov, nr_iov, offset);
	else
		io_uring_prep_readv(sqe, fd, slot->iov, nr_iov, offset);
	async_commit(a, sqe, slot, req);
	return 0;
}

int block_async_queue_flush(struct block_async *a, int fd, const struct block_async_req *req)
{
	struct block_async_slot *slot;
	struct io_uring_sqe *sqe = async_prepare(a, &slot);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	async_commit(a, sqe, slot, req);
	return 0;
}

int block_async_submit(struct block_async *a)
{
	int ret;

	do {
		ret = io_uring_submit(&a->ring);
	} while (ret == -EINTR);
	return ret < 0 ? ret : 0;
}

unsigned int block_async_reap(struct block_async *a, bool wait, block_async_done_fn done, void *ctx)
{
	unsigned int count = 0;
	eventfd_t ignored;

	/* Drain first: a completion after the last peek below signals again. */
	eventfd_read(a->efd, &ignored);
	for (;;) {
		struct block_async_slot *slot;
		struct io_uring_cqe *cqe;
		int ret, res;

		if (io_uring_sq_ready(&a->ring))
			block_async_submit(a);
		ret = io_uring_peek_cqe(&a->ring, &cqe);
		if (ret == -EAGAIN) {
			if (!wait || !a->inflight)
				break;
			ret = io_uring_wait_cqe(&a->ring, &cqe);
		}
		if (ret == -EINTR)
			continue;
		if (ret < 0) {
			log_error("virtio-block: io_uring completion: %s", strerror(-ret));
			break;
		}
		slot = io_uring_cqe_get_data(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&a->ring, cqe);
		if (!slot)
			continue;
		slot->busy = false;
		a->inflight--;
		count++;
		if (done)
			done(ctx, &slot->req, res);
	}
	return count;
}
