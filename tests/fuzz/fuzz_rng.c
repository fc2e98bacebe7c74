// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: virtio-rng against a hostile guest: any features, queue
 * placement, register accesses, descriptor chains (readable segments,
 * indirect tables, loops, buffers past RAM) and a rate limiter that refuses
 * every other request (with FUZZ_DEV_LIMITER). Input: fuzz_dev.h.
 *
 * Checked, beyond the sanitizers: no request is filled with more than
 * RNG_MAX_REQUEST_BYTES, and the used index moves by no more than the requests
 * served plus the malformed chains refused. (Used lengths cannot be read back soundly: the guest
 * may place its buffers over the used ring, which then holds random bytes.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_dev.h"
#include "vmm/mem/layout.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtq.h"

static struct {
	struct guest_mem mem;
	struct rng_dev *rng;
	unsigned int limiter_calls;
	struct virtq_chain chain;
} fz;

static void fuzz_init(void)
{
	log_set_level(LOG_OFF);
	if (guest_mem_create(&fz.mem, FUZZ_DEV_RAM))
		abort();
	if (rng_create(&fz.rng, &fz.mem, LAYOUT_VIRTIO_START, 5))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	struct virtio_limiter lim = {0};
	struct fuzz_dev_input in;
	struct virtio_mmio_dev *dev;
	struct virtq *q;
	uint64_t bytes, reqs, errors;
	uint16_t old_used;

	if (!initialised) {
		fuzz_init();
		initialised = 1;
	}
	if (!fuzz_dev_parse(data, size, &in))
		return 0;
	dev = rng_mmio(fz.rng);
	fuzz_dev_load_image(&fz.mem, &in);
	if (in.h.flags & FUZZ_DEV_LIMITER) {
		fz.limiter_calls = 0;
		lim.may_consume = fuzz_dev_limiter;
		lim.ctx = &fz.limiter_calls;
	}
	rng_set_limiter(fz.rng, &lim);
	bytes = g_metrics.virtio.rng_bytes;
	reqs = g_metrics.virtio.rng_requests;
	errors = g_metrics.virtio.chain_errors;

	fuzz_dev_bring_up(dev, &in, 1);
	q = virtio_mmio_queue(dev, 0);
	old_used = q->used_idx;
	fuzz_dev_kicks(dev, &in, 1);
	virtio_mmio_kick(dev, 0);

	if (g_metrics.virtio.rng_bytes - bytes >
	    (g_metrics.virtio.rng_requests - reqs) * RNG_MAX_REQUEST_BYTES)
		__builtin_trap();
	/* Each used element is a request served or a malformed chain refused. */
	if ((uint16_t)(q->used_idx - old_used) >
	    g_metrics.virtio.rng_requests - reqs + g_metrics.virtio.chain_errors - errors)
		__builtin_trap();

	/* Leave the device reset for the next input. */
	fuzz_dev_reset(dev);
	return 0;
}
