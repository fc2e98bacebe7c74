// SPDX-License-Identifier: Apache-2.0
#include "rng.h"

bool rng_open(struct rng *rng, struct virtio_dev *dev)
{
	rng->dev = dev;
	if (!virtio_init(dev, 0) || !virtio_setup_queue(dev, 0, &rng->vq))
		return false;
	virtio_driver_ok(dev);
	return true;
}

ssize_t rng_read(struct rng *rng, void *buf, uint32_t len)
{
	struct vring_used_elem used;

	virtqueue_set_desc(&rng->vq, 0, (uint64_t)buf, len, VRING_DESC_F_WRITE, 0);
	virtqueue_kick(&rng->vq, 0);
	if (virtqueue_wait_used(&rng->vq, &used) != VIRTQUEUE_USED)
		return -1;
	/* A device claiming more than the buffer holds is reported as such, not trusted. */
	return (ssize_t)used.len;
}
