// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: virtio-balloon against a hostile guest: any features, queue
 * placement, register and config-space accesses, inflate buffers of any
 * frames (past RAM, in the MMIO hole, too many, writable), statistics
 * buffers of any size, hinting and reporting chains of any ranges; then the
 * host's side (a new target, a statistics poll, a hinting run) as the input
 * asks. Input: fuzz_dev.h; target_flags: bits 0-1 pick the device's third
 * queue (0: none, 1: statistics, 2: free page hinting, 3: free page
 * reporting), bit 2 sets a new target, bit 3 polls the statistics (PATCH of
 * the interval), bit 4 starts a hinting run before the kicks.
 *
 * Checked, beyond the sanitizers: the statistics never report a tag the
 * device does not know, and the target is the one set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_dev.h"
#include "vmm/mem/layout.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "devices/virtio/balloon.h"
#include "devices/virtio/virtio_mmio.h"

static struct guest_mem mem;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	struct balloon_config cfg = {.amount_mib = 1, .deflate_on_oom = true};
	struct fuzz_dev_input in;
	struct balloon_stats st;
	struct balloon_dev *b;
	struct virtio_mmio_dev *dev;
	unsigned int nq;
	char err[128];

	if (!initialised) {
		log_set_level(LOG_OFF);
		if (guest_mem_create(&mem, FUZZ_DEV_RAM))
			abort();
		initialised = 1;
	}
	if (!fuzz_dev_parse(data, size, &in))
		return 0;
	cfg.stats_polling_interval_s = (in.h.target_flags & 3) == 1 ? 1 : 0;
	cfg.free_page_hinting = (in.h.target_flags & 3) == 2;
	cfg.free_page_reporting = (in.h.target_flags & 3) == 3;
	if (balloon_create(&b, &cfg, &mem, LAYOUT_VIRTIO_START, 5))
		abort();
	dev = balloon_mmio(b);
	nq = virtio_mmio_num_queues(dev);
	fuzz_dev_load_image(&mem, &in);
	fuzz_dev_bring_up(dev, &in, nq);
	if (in.h.target_flags & 0x10)
		balloon_hinting(b, BALLOON_HINTING_START, in.h.reserved & 1, err, sizeof(err));
	fuzz_dev_kicks(dev, &in, nq);
	for (unsigned int q = 0; q < nq; q++)
		virtio_mmio_kick(dev, q);
	if (in.h.target_flags & 4) {
		uint32_t target = in.h.reserved % 2;

		if (!balloon_set_target(b, target, err, sizeof(err)) &&
		    (!balloon_get_stats(b, &st, err, sizeof(err)) && st.target_mib != target))
			__builtin_trap();
	}
	if (in.h.target_flags & 8)
		balloon_set_stats_interval(b, 2, err, sizeof(err));
	if (!balloon_get_stats(b, &st, err, sizeof(err)) && st.present >> BALLOON_NR_STATS)
		__builtin_trap();
	balloon_destroy(b);
	return 0;
}
