// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk device model: request parsing, the Sync engine, and the glue to
 * the Async (io_uring) engine in block_async.c. See block.h for behaviour.
 */
#include "devices/virtio/block.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "devices/virtio/block_async.h"
#include "vmm/base/event_loop.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "devices/virtio/virtio_mmio.h"
#include "vmm/base/vmstate.h"

#define BLOCK_CONFIG_SIZE sizeof(uint64_t) /* capacity */

struct block_dev {
	struct virtio_mmio_dev *mmio;
	const struct guest_mem *mem;
	int fd;
	bool read_only;
	enum block_cache_type cache_type;
	uint64_t nsectors;
	uint8_t id[VIRTIO_BLK_ID_BYTES];
	struct virtio_limiter limiter;
	struct block_async *async; /* NULL: Sync engine */
	bool async_full;	   /* a request waits for a free async slot */
	uint32_t epoch;		   /* resets so far; older completions are dropped */
};

/* One parsed request. */
struct block_req {
	uint32_t type;
	uint64_t offset; /* bytes into the file */
	uint32_t data_len;
	uint64_t status_gpa;
	uint8_t status;
	uint32_t written; /* used length when finished now */
};

enum block_parse_result {
	BLOCK_REQ_DONE,	  /* refused: status and used length known, write them now */
	BLOCK_REQ_IO,	  /* valid read, write or flush for the I/O engine */
	BLOCK_REQ_GET_ID, /* valid GET_ID */
	BLOCK_REQ_UNSUPP, /* well-formed, unsupported type */
	BLOCK_REQ_DROP,	  /* no status byte: complete with used length 0 */
};

static void block_config_read(struct virtio_mmio_dev *dev, uint32_t offset, uint8_t *data,
			      uint32_t len)
{
	struct block_dev *blk = virtio_mmio_backend(dev);
	uint8_t config[BLOCK_CONFIG_SIZE];

	/* virtio_blk_config.capacity, little-endian like every virtio field. */
	for (size_t i = 0; i < sizeof(config); i++)
		config[i] = (uint8_t)(blk->nsectors >> (8 * i));
	memcpy(data, config + offset, len);
}

/* Guest address of the last device-writable byte, where the status goes. */
static uint64_t block_status_gpa(const struct virtq_chain *c)
{
	const struct virtq_seg *last = &c->segs[c->nr - 1];

	return last->gpa + last->len - 1;
}

static bool block_range_ok(const struct block_dev *blk, uint64_t sector, uint32_t len)
{
	uint64_t nsec = len / BLOCK_SECTOR_SIZE;

	return len && len % BLOCK_SECTOR_SIZE == 0 && sector <= blk->nsectors &&
	       nsec <= blk->nsectors - sector;
}

static enum block_parse_result block_fail(struct block_dev *blk, struct block_req *req,
					  const char *why)
{
	metric_inc(&g_metrics.virtio.blk_invalid_reqs);
	virtio_mmio_log_guest_error(blk->mmio, "invalid block request (type %u): %s", req->type,
				    why);
	req->status = VIRTIO_BLK_S_IOERR;
	req->written = 1;
	return BLOCK_REQ_DONE;
}

static enum block_parse_result block_parse_rw(struct block_dev *blk, const struct virtq_chain *c,
					      uint64_t sector, struct block_req *req)
{
	bool in = req->type == VIRTIO_BLK_T_IN;

	if (in && c->read_len != sizeof(struct virtio_blk_outhdr))
		return block_fail(blk, req, "read with device-readable data");
	if (!in && c->write_len != 1)
		return block_fail(blk, req, "write with device-writable data");
	if (!in && blk->read_only)
		return block_fail(blk, req, "write to a read-only drive");
	req->data_len = in ? c->write_len - 1 : c->read_len - sizeof(struct virtio_blk_outhdr);
	if (!block_range_ok(blk, sector, req->data_len))
		return block_fail(blk, req, "length not whole sectors or beyond the capacity");
	req->offset = sector * BLOCK_SECTOR_SIZE;
	return BLOCK_REQ_IO;
}

static void block_get_id(struct block_dev *blk, const struct virtq_chain *c, struct block_req *req)
{
	virtq_chain_write(blk->mem, c, 0, blk->id, VIRTIO_BLK_ID_BYTES);
	metric_inc(&g_metrics.virtio.blk_get_id_count);
	req->written = VIRTIO_BLK_ID_BYTES + 1;
}

static enum block_parse_result block_parse(struct block_dev *blk, const struct virtq_chain *c,
					   struct block_req *req)
{
	struct virtio_blk_outhdr hdr;

	memset(req, 0, sizeof(*req));
	req->status = VIRTIO_BLK_S_OK;
	req->written = 1;
	if (c->write_len < 1) {
		metric_inc(&g_metrics.virtio.blk_invalid_reqs);
		virtio_mmio_log_guest_error(blk->mmio, "block request without a status byte");
		return BLOCK_REQ_DROP;
	}
	req->status_gpa = block_status_gpa(c);
	if (virtq_chain_read(blk->mem, c, 0, &hdr, sizeof(hdr)) != sizeof(hdr))
		return block_fail(blk, req, "header shorter than 16 device-readable bytes");
	req->type = hdr.type;

	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return block_parse_rw(blk, c, hdr.sector, req);
	case VIRTIO_BLK_T_FLUSH:
		return BLOCK_REQ_IO;
	case VIRTIO_BLK_T_GET_ID:
		if (c->write_len - 1 < VIRTIO_BLK_ID_BYTES)
			return block_fail(blk, req, "GET_ID buffer shorter than 20 bytes");
		return BLOCK_REQ_GET_ID;
	default:
		return BLOCK_REQ_UNSUPP;
	}
}

/* Account a finished I/O and turn its result into status + used length. */
static void block_io_result(struct block_dev *blk, uint32_t type, uint32_t expect, int64_t res,
			    uint8_t *status, uint32_t *written)
{
	*status = VIRTIO_BLK_S_OK;
	*written = 1;
	if (res < 0 || (uint64_t)res != expect) {
		metric_inc(&g_metrics.virtio.blk_io_errors);
		log_error("virtio-block@0x%" PRIx64 ": %s failed: %s", virtio_mmio_base(blk->mmio),
			  type == VIRTIO_BLK_T_IN    ? "read"
			  : type == VIRTIO_BLK_T_OUT ? "write"
						     : "flush",
			  res < 0 ? strerror((int)-res) : "short transfer");
		*status = VIRTIO_BLK_S_IOERR;
		return;
	}
	switch (type) {
	case VIRTIO_BLK_T_IN:
		metric_inc(&g_metrics.virtio.blk_read_count);
		metric_add(&g_metrics.virtio.blk_read_bytes, expect);
		*written = expect + 1;
		break;
	case VIRTIO_BLK_T_OUT:
		metric_inc(&g_metrics.virtio.blk_write_count);
		metric_add(&g_metrics.virtio.blk_write_bytes, expect);
		break;
	default:
		metric_inc(&g_metrics.virtio.blk_flush_count);
		break;
	}
}

static int block_req_iov(struct block_dev *blk, const struct virtq_chain *c,
			 const struct block_req *req, struct iovec *iov)
{
	bool in = req->type == VIRTIO_BLK_T_IN;

	return virtq_chain_iov(blk->mem, c, in, in ? 0 : sizeof(struct virtio_blk_outhdr),
			       req->data_len, iov, VIRTQ_MAX_SIZE);
}

/* preadv/pwritev until done; bytes moved or -errno. */
static int64_t block_sync_rw(int fd, bool write, uint64_t offset, struct iovec *iov, int nr)
{
	int64_t total = 0;

	while (nr > 0) {
		ssize_t n = write ? pwritev(fd, iov, nr, (off_t)offset)
				  : preadv(fd, iov, nr, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* end of file: the file shrank under us */
		total += n;
		offset += (uint64_t)n;
		while (nr > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			nr--;
		}
		if (nr > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return total;
}

static void block_sync_io(struct block_dev *blk, const struct virtq_chain *c, struct block_req *req)
{
	struct iovec iov[VIRTQ_MAX_SIZE];
	int64_t res;
	int nr;

	if (req->type == VIRTIO_BLK_T_FLUSH) {
		/* Unsafe: the host page cache is all the guest gets. */
		if (blk->cache_type == BLOCK_CACHE_UNSAFE)
			res = 0;
		else
			res = fdatasync(blk->fd) < 0 ? -errno : 0;
	} else {
		nr = block_req_iov(blk, c, req, iov);
		res = nr < 0 ? nr
			     : block_sync_rw(blk->fd, req->type == VIRTIO_BLK_T_OUT, req->offset,
					     iov, nr);
	}
	block_io_result(blk, req->type, req->data_len, res, &req->status, &req->written);
}

/* 0 when queued, -EBUSY when every slot is taken, other -errno: failed now. */
static int block_async_io(struct block_dev *blk, const struct virtq_chain *c,
			  const struct block_req *req)
{
	struct block_async_req areq = {
	    .head = c->head,
	    .type = (uint8_t)req->type,
	    .status_gpa = req->status_gpa,
	    .expect = req->data_len,
	    .epoch = blk->epoch,
	};
	struct iovec iov[VIRTQ_MAX_SIZE];
	int nr;

	if (req->type == VIRTIO_BLK_T_FLUSH)
		return block_async_queue_flush(blk->async, blk->fd, &areq);
	nr = block_req_iov(blk, c, req, iov);
	if (nr < 0)
		return nr;
	return block_async_queue_rw(blk->async, blk->fd, req->type == VIRTIO_BLK_T_OUT, req->offset,
				    iov, (unsigned int)nr, &areq);
}

static void block_finish(struct block_dev *blk, unsigned int q, uint16_t head, uint64_t status_gpa,
			 uint8_t status, uint32_t written)
{
	/* The status byte was checked to be guest RAM when the chain was walked. */
	if (guest_mem_write(blk->mem, status_gpa, &status, 1))
		written = 0;
	virtio_mmio_complete(blk->mmio, q, head, written);
}

/* Start or finish one valid request; false when it must wait for a free async slot. */
static bool block_execute(struct block_dev *blk, unsigned int q, const struct virtq_chain *c,
			  enum block_parse_result kind, struct block_req *req)
{
	int ret;

	switch (kind) {
	case BLOCK_REQ_GET_ID:
		block_get_id(blk, c, req);
		break;
	case BLOCK_REQ_UNSUPP:
		metric_inc(&g_metrics.virtio.blk_unsupported_reqs);
		virtio_mmio_log_guest_error(blk->mmio, "unsupported block request type %u",
					    req->type);
		req->status = VIRTIO_BLK_S_UNSUPP;
		break;
	case BLOCK_REQ_IO:
		/* An unsafe flush has nothing to wait for. */
		if (!blk->async ||
		    (req->type == VIRTIO_BLK_T_FLUSH && blk->cache_type == BLOCK_CACHE_UNSAFE)) {
			block_sync_io(blk, c, req);
			break;
		}
		ret = block_async_io(blk, c, req);
		if (ret == -EBUSY) {
			blk->async_full = true;
			return false;
		}
		if (!ret)
			return true;
		block_io_result(blk, req->type, req->data_len, ret, &req->status, &req->written);
		break;
	default:
		break;
	}
	block_finish(blk, q, c->head, req->status_gpa, req->status, req->written);
	return true;
}

/* Handle one chain; false when it must wait (throttled or async engine full). */
static bool block_handle(struct block_dev *blk, unsigned int q, const struct virtq_chain *c)
{
	struct block_req req;
	enum block_parse_result kind = block_parse(blk, c, &req);

	/* Refused requests complete at once, without costing tokens (as Firecracker). */
	if (kind == BLOCK_REQ_DROP) {
		virtio_mmio_complete(blk->mmio, q, c->head, 0);
		return true;
	}
	if (kind == BLOCK_REQ_DONE) {
		block_finish(blk, q, c->head, req.status_gpa, req.status, req.written);
		return true;
	}
	if (!virtio_limiter_allows(&blk->limiter, req.type == VIRTIO_BLK_T_FLUSH ? 0 : req.data_len,
				   1)) {
		metric_inc(&g_metrics.virtio.blk_throttled);
		return false;
	}
	return block_execute(blk, q, c, kind, &req);
}

static void block_process_queue(struct virtio_mmio_dev *dev, unsigned int q)
{
	struct block_dev *blk = virtio_mmio_backend(dev);
	struct virtq_chain *c = &dev->chain;

	blk->async_full = false;
	while (virtio_mmio_next_chain(dev, q, c) > 0) {
		if (!block_handle(blk, q, c)) {
			/* Leave it on the ring; the limiter or a completion kicks us. */
			virtq_unpop(virtio_mmio_queue(dev, q));
			break;
		}
	}
	if (blk->async && block_async_submit(blk->async))
		log_error("virtio-block: io_uring submit failed");
	virtio_mmio_signal_used(dev, q);
}

static void block_async_done(void *ctx, const struct block_async_req *r, int res)
{
	struct block_dev *blk = ctx;
	uint8_t status;
	uint32_t written;

	/* Submitted before a reset: its chain belongs to rings the driver dropped. */
	if (r->epoch != blk->epoch)
		return;
	block_io_result(blk, r->type, r->expect, res, &status, &written);
	block_finish(blk, 0, r->head, r->status_gpa, status, written);
}

static void block_async_event(void *opaque, uint32_t events)
{
	struct block_dev *blk = opaque;
	struct virtio_mmio_dev *dev = blk->mmio;
	bool waiting;

	(void)events;
	virtio_mmio_lock(dev);
	if (block_async_reap(blk->async, false, block_async_done, blk))
		virtio_mmio_signal_used(dev, 0);
	waiting = blk->async_full;
	virtio_mmio_unlock(dev);
	/* Slots are free again for requests that had to wait (if the queue is still live). */
	if (waiting)
		virtio_mmio_kick(dev, 0);
}

/*
 * Runs on the vCPU thread, which may not wait for I/O (nor make the syscalls
 * that would take): in-flight async requests finish on the VMM thread and
 * are dropped there, by epoch, instead of completing into the new rings.
 */
static void block_reset(struct virtio_mmio_dev *dev)
{
	struct block_dev *blk = virtio_mmio_backend(dev);

	blk->epoch++;
	blk->async_full = false;
}

static int block_attach(struct virtio_mmio_dev *dev, struct event_loop *loop)
{
	struct block_dev *blk = virtio_mmio_backend(dev);

	if (!blk->async)
		return 0;
	return event_loop_add(loop, block_async_eventfd(blk->async), EPOLLIN, block_async_event,
			      blk);
}

static void block_detach(struct virtio_mmio_dev *dev, struct event_loop *loop)
{
	struct block_dev *blk = virtio_mmio_backend(dev);

	if (blk->async)
		event_loop_del(loop, block_async_eventfd(blk->async));
}

/*
 * Snapshot: an io_uring request still in flight would land in guest memory
 * after the memory file was written, and its completion would be lost with
 * this process. Wait for all of them and complete them into the used ring.
 * The capacity is saved to notice a backing file that changed size since.
 */
static int block_save(struct virtio_mmio_dev *dev, struct vmstate_writer *w)
{
	struct block_dev *blk = virtio_mmio_backend(dev);

	if (blk->async && block_async_reap(blk->async, true, block_async_done, blk))
		virtio_mmio_signal_used(dev, 0);
	vmstate_put_u64(w, blk->nsectors);
	return 0;
}

static int block_restore(struct virtio_mmio_dev *dev, struct vmstate_reader *r)
{
	struct block_dev *blk = virtio_mmio_backend(dev);
	uint64_t nsectors = vmstate_get_u64(r);

	if (r->err)
		return r->err;
	/* The driver caches the capacity: tell it, as PATCH /drives does. */
	if (nsectors != blk->nsectors) {
		log_warn("virtio-block: backing file is %" PRIu64 " sectors, was %" PRIu64
			 " at snapshot time",
			 blk->nsectors, nsectors);
		virtio_mmio_config_changed(dev);
	}
	return 0;
}

static const struct virtio_device_ops block_ops = {
    .name = "block",
    .device_id = VIRTIO_ID_BLOCK,
    .num_queues = 1,
    .queue_max_size = BLOCK_QUEUE_SIZE,
    .config_size = BLOCK_CONFIG_SIZE,
    .config_read = block_config_read,
    .reset = block_reset,
    .process_queue = block_process_queue,
    .attach = block_attach,
    .detach = block_detach,
    .save = block_save,
    .restore = block_restore,
};

/* Open @path and size it in sectors. fd or -errno with @err filled. */
static int block_open(const char *path, bool read_only, uint64_t *nsectors, char *err,
		      size_t errlen)
{
	int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	off_t size;
	int ret;

	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "Cannot open backing file %s: %s", path, strerror(errno));
		return ret;
	}
	/* lseek, not fstat: a host block device reports its size only this way. */
	size = lseek(fd, 0, SEEK_END);
	if (size < 0) {
		ret = -errno;
		snprintf(err, errlen, "Cannot size backing file %s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	if (size % BLOCK_SECTOR_SIZE)
		log_warn("Disk size %lld of %s is not a multiple of sector size %u; the remainder "
			 "will not be visible to the guest.",
			 (long long)size, path, BLOCK_SECTOR_SIZE);
	*nsectors = (uint64_t)size / BLOCK_SECTOR_SIZE;
	return fd;
}

static uint64_t block_features(const struct block_config *cfg)
{
	uint64_t features = VIRTIO_COMMON_FEATURES;

	if (cfg->is_read_only)
		features |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	if (cfg->cache_type == BLOCK_CACHE_WRITEBACK)
		features |= VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
	return features;
}

int block_create(struct block_dev **out, const struct block_config *cfg,
		 const struct guest_mem *mem, uint64_t base, uint32_t gsi, char *err, size_t errlen)
{
	struct block_dev *blk = calloc(1, sizeof(*blk));
	int ret;

	if (!blk) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	blk->fd = -1;
	blk->mem = mem;
	blk->read_only = cfg->is_read_only;
	blk->cache_type = cfg->cache_type;
	/* Zero padded, not NUL terminated when 20 bytes long (virtio 5.2.6). */
	if (cfg->drive_id)
		memcpy(blk->id, cfg->drive_id, strnlen(cfg->drive_id, sizeof(blk->id)));

	ret = block_open(cfg->path_on_host, cfg->is_read_only, &blk->nsectors, err, errlen);
	if (ret < 0)
		goto fail;
	blk->fd = ret;
	if (cfg->io_engine == BLOCK_IO_ASYNC) {
		ret = block_async_create(&blk->async, BLOCK_QUEUE_SIZE, err, errlen);
		if (ret)
			goto fail;
	}
	ret = virtio_mmio_create(&blk->mmio, &block_ops, blk, mem, base, gsi, block_features(cfg));
	if (ret) {
		snprintf(err, errlen, "Cannot create the virtio-mmio transport: %s",
			 strerror(-ret));
		goto fail;
	}
	*out = blk;
	return 0;
fail:
	block_destroy(blk);
	return ret;
}

void block_destroy(struct block_dev *blk)
{
	if (!blk)
		return;
	virtio_mmio_destroy(blk->mmio);
	block_async_destroy(blk->async);
	if (blk->fd >= 0)
		close(blk->fd);
	free(blk);
}

struct virtio_mmio_dev *block_mmio(struct block_dev *blk)
{
	return blk->mmio;
}

uint64_t block_capacity(struct block_dev *blk)
{
	uint64_t n;

	virtio_mmio_lock(blk->mmio);
	n = blk->nsectors;
	virtio_mmio_unlock(blk->mmio);
	return n;
}

int block_update_backing(struct block_dev *blk, const char *path, char *err, size_t errlen)
{
	uint64_t nsectors;
	int fd = block_open(path, blk->read_only, &nsectors, err, errlen);

	if (fd < 0) {
		metric_inc(&g_metrics.virtio.blk_update_fails);
		return fd;
	}
	virtio_mmio_lock(blk->mmio);
	/* Requests in flight on the old file complete against it. */
	if (blk->async && block_async_reap(blk->async, true, block_async_done, blk))
		virtio_mmio_signal_used(blk->mmio, 0);
	close(blk->fd);
	blk->fd = fd;
	blk->nsectors = nsectors;
	virtio_mmio_config_changed(blk->mmio);
	virtio_mmio_unlock(blk->mmio);
	metric_inc(&g_metrics.virtio.blk_update_count);
	return 0;
}

void block_set_limiter(struct block_dev *blk, const struct virtio_limiter *lim)
{
	virtio_mmio_lock(blk->mmio);
	blk->limiter = *lim;
	virtio_mmio_unlock(blk->mmio);
}
