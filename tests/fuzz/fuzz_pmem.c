// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: virtio-pmem's request queue against a hostile guest: any
 * features, queue placement, register accesses (config space reads and
 * writes included), descriptor chains (wrong lengths and directions,
 * unknown request types, indirect tables, loops, buffers past RAM) and a
 * rate limiter that refuses every other pass (with FUZZ_DEV_LIMITER).
 * Input: fuzz_dev.h. The device maps a 64 KiB temporary file.
 *
 * Checked, beyond the sanitizers: the device never writes the mapped file
 * (only the guest does, through its KVM slot), the config space still
 * names the region it was created with, and every chain taken from the
 * ring is returned once (used index and consumed avail index move together).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/fuzz/fuzz_dev.h"
#include "vmm/mem/layout.h"
#include "vmm/base/log.h"
#include "devices/virtio/pmem.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtq.h"

#define FUZZ_PMEM_FILE 0x10000U
#define FUZZ_PMEM_GPA  (4 * GIB)

static struct {
	struct guest_mem mem;
	struct pmem_dev *p;
	unsigned int limiter_calls;
	uint8_t file_copy[FUZZ_PMEM_FILE];
} fz;

static void fuzz_init(void)
{
	char path[] = "/tmp/ember-fuzz-pmem-XXXXXX", err[256];
	int fd = mkstemp(path);

	log_set_level(LOG_OFF);
	if (fd < 0 || ftruncate(fd, FUZZ_PMEM_FILE) || guest_mem_create(&fz.mem, FUZZ_DEV_RAM))
		abort();
	for (unsigned int i = 0; i < FUZZ_PMEM_FILE; i++)
		fz.file_copy[i] = (uint8_t)(i * 7);
	if (pwrite(fd, fz.file_copy, FUZZ_PMEM_FILE, 0) != FUZZ_PMEM_FILE)
		abort();
	close(fd);
	if (pmem_create(&fz.p, path, false, FUZZ_PMEM_GPA, &fz.mem, LAYOUT_VIRTIO_START, 5, err,
			sizeof(err)))
		abort();
	unlink(path); /* the mapping keeps the file */
}

static uint64_t config_u64(struct virtio_mmio_dev *dev, uint32_t offset)
{
	uint8_t b[8];
	uint64_t v;

	virtio_mmio_bus_ops.read(dev, VIRTIO_MMIO_CONFIG + offset, b, 8);
	memcpy(&v, b, 8);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	struct virtio_limiter lim = {0};
	struct fuzz_dev_input in;
	struct virtio_mmio_dev *dev;
	struct virtq *q;
	uint16_t old_used, old_avail;

	if (!initialised) {
		fuzz_init();
		initialised = 1;
	}
	if (!fuzz_dev_parse(data, size, &in))
		return 0;
	dev = pmem_mmio(fz.p);
	fuzz_dev_load_image(&fz.mem, &in);
	if (in.h.flags & FUZZ_DEV_LIMITER) {
		fz.limiter_calls = 0;
		lim.may_consume = fuzz_dev_limiter;
		lim.ctx = &fz.limiter_calls;
	}
	pmem_set_limiter(fz.p, &lim);

	fuzz_dev_bring_up(dev, &in, 1);
	q = virtio_mmio_queue(dev, 0);
	old_used = q->used_idx;
	old_avail = q->last_avail_idx;
	fuzz_dev_kicks(dev, &in, 1);
	virtio_mmio_kick(dev, 0);

	if (memcmp(pmem_host(fz.p), fz.file_copy, FUZZ_PMEM_FILE))
		__builtin_trap();
	if (config_u64(dev, 0) != FUZZ_PMEM_GPA || config_u64(dev, 8) != 2 * MIB)
		__builtin_trap();
	/* Every chain taken from the ring is given back once, answered or refused. */
	if ((uint16_t)(q->used_idx - old_used) != (uint16_t)(q->last_avail_idx - old_avail))
		__builtin_trap();

	fuzz_dev_reset(dev);
	return 0;
}
