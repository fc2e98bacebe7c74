// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-rng: fills guest buffers straight from the host's getrandom(), on
 * the VMM thread. The per-request bound keeps one request from monopolising
 * the loop; the guest simply asks again for more.
 */
#include "devices/virtio/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/uio.h>

#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "devices/virtio/virtio_mmio.h"

struct rng_dev {
	struct virtio_mmio_dev *mmio;
	const struct guest_mem *mem;
	struct virtio_limiter limiter;
};

/* getrandom() until @len bytes are in @buf; 0 or -errno. */
static int rng_fill(uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = getrandom(buf, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Fill the first @len writable bytes of @c. 0 or -errno. */
static int rng_fill_chain(struct rng_dev *rng, const struct virtq_chain *c, uint32_t len)
{
	struct iovec iov[VIRTQ_MAX_SIZE];
	int nr = virtq_chain_iov(rng->mem, c, true, 0, len, iov, VIRTQ_MAX_SIZE);

	if (nr < 0)
		return nr;
	for (int i = 0; i < nr; i++) {
		int ret = rng_fill(iov[i].iov_base, iov[i].iov_len);

		if (ret)
			return ret;
	}
	return 0;
}

/* One request; false when the limiter says wait. */
static bool rng_handle(struct rng_dev *rng, unsigned int q, const struct virtq_chain *c)
{
	uint32_t len = c->write_len < RNG_MAX_REQUEST_BYTES ? c->write_len : RNG_MAX_REQUEST_BYTES;
	int ret;

	if (len && !virtio_limiter_allows(&rng->limiter, len, 1)) {
		metric_inc(&g_metrics.virtio.rng_throttled);
		return false;
	}
	metric_inc(&g_metrics.virtio.rng_requests);
	ret = len ? rng_fill_chain(rng, c, len) : 0;
	if (ret) {
		metric_inc(&g_metrics.virtio.rng_fails);
		log_error("virtio-rng: getrandom: %s", strerror(-ret));
		len = 0;
	}
	metric_add(&g_metrics.virtio.rng_bytes, len);
	virtio_mmio_complete(rng->mmio, q, c->head, len);
	return true;
}

static void rng_process_queue(struct virtio_mmio_dev *dev, unsigned int q)
{
	struct rng_dev *rng = virtio_mmio_backend(dev);
	struct virtq_chain *c = &dev->chain;

	while (virtio_mmio_next_chain(dev, q, c) > 0) {
		if (!rng_handle(rng, q, c)) {
			/* Back on the ring; the limiter kicks the queue when tokens return. */
			virtq_unpop(virtio_mmio_queue(dev, q));
			break;
		}
	}
	virtio_mmio_signal_used(dev, q);
}

static const struct virtio_device_ops rng_ops = {
    .name = "rng",
    .device_id = VIRTIO_ID_RNG,
    .num_queues = 1,
    .queue_max_size = RNG_QUEUE_SIZE,
    .config_size = 0,
    .process_queue = rng_process_queue,
};

int rng_create(struct rng_dev **out, const struct guest_mem *mem, uint64_t base, uint32_t gsi)
{
	struct rng_dev *rng = calloc(1, sizeof(*rng));
	int ret;

	if (!rng)
		return -ENOMEM;
	rng->mem = mem;
	ret = virtio_mmio_create(&rng->mmio, &rng_ops, rng, mem, base, gsi, VIRTIO_COMMON_FEATURES);
	if (ret) {
		free(rng);
		return ret;
	}
	*out = rng;
	return 0;
}

void rng_destroy(struct rng_dev *rng)
{
	if (!rng)
		return;
	virtio_mmio_destroy(rng->mmio);
	free(rng);
}

struct virtio_mmio_dev *rng_mmio(struct rng_dev *rng)
{
	return rng->mmio;
}

void rng_set_limiter(struct rng_dev *rng, const struct virtio_limiter *lim)
{
	virtio_mmio_lock(rng->mmio);
	rng->limiter = *lim;
	virtio_mmio_unlock(rng->mmio);
}
