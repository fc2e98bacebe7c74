/* SPDX-License-Identifier: Apache-2.0 */
/* A polling virtio-rng driver (virtio 1.x 5.4): one queue of device-writable buffers. */
#ifndef GUEST_RNG_H
#define GUEST_RNG_H

#include "types.h"
#include "virtio.h"
#include "virtqueue.h"

struct rng {
	struct virtio_dev *dev;
	struct virtqueue vq;
};

/* Initialise @dev (a virtio-rng) and its queue; the device is live after. */
bool rng_open(struct rng *rng, struct virtio_dev *dev);

/*
 * Ask for @len random bytes into @buf. Returns how many the device wrote,
 * or -1 when it did not complete the request.
 */
ssize_t rng_read(struct rng *rng, void *buf, uint32_t len);

#endif
