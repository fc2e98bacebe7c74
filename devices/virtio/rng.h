/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-rng (entropy device, PUT /entropy): one queue; each chain's
 * device-writable bytes, up to RNG_MAX_REQUEST_BYTES, are filled from
 * getrandom(). Features: VERSION_1, EVENT_IDX, INDIRECT_DESC. No config space.
 */
#ifndef EMBER_VIRTIO_RNG_H
#define EMBER_VIRTIO_RNG_H

#include <stdint.h>

#include "vmm/mem/guest_mem.h"
#include "devices/virtio/virtio.h"

#define RNG_QUEUE_SIZE	      256U
#define RNG_MAX_REQUEST_BYTES (64U * 1024)

struct rng_dev;
struct virtio_mmio_dev;

int rng_create(struct rng_dev **out, const struct guest_mem *mem, uint64_t base, uint32_t gsi);
void rng_destroy(struct rng_dev *rng);
struct virtio_mmio_dev *rng_mmio(struct rng_dev *rng);

/* Install the rate limiter hook (ops = 1 per request, bytes = bytes to fill). */
void rng_set_limiter(struct rng_dev *rng, const struct virtio_limiter *lim);

#endif
