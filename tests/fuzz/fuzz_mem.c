// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: virtio-mem's request queue against a hostile guest: any
 * features, queue placement, register accesses (config space reads and
 * writes included) and descriptor chains (wrong lengths and directions,
 * unknown request types, any address and block count, indirect tables,
 * loops, buffers past RAM). Input: fuzz_dev.h; target_flags is the
 * requested size in blocks the host sets once the driver is ready. A fresh
 * device (4 slots of 4 blocks of 2 MiB at 4 GiB) per input.
 *
 * Checked, beyond the sanitizers: the plugged size is whole blocks, within
 * the usable region, which stays within the region; the slots shown to the
 * fake KVM are exactly those holding a plugged block (at least the plugged
 * size, at most what the usable region holds); every slot call names a
 * slot of the region at its own address; every chain taken from the ring
 * is returned once.
 *
 * Snapshots: the device's saved state restored into a fresh device gives
 * the same sizes and slots, and the input's host data (fuzz_dev.h) as the
 * saved device state is either refused with nothing plugged or shown, or
 * gives a device that passes the same checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_dev.h"
#include "vmm/mem/layout.h"
#include "vmm/base/log.h"
#include "vmm/base/vmstate.h"
#include "devices/virtio/mem.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtq.h"

#define FZ_GPA	  (4 * GIB)
#define FZ_BLOCK  (2 * MIB)
#define FZ_SLOT	  (8 * MIB)
#define FZ_REGION (32 * MIB)
#define FZ_SLOTS  (FZ_REGION / FZ_SLOT)

static struct {
	struct guest_mem mem;
	bool shown[FZ_SLOTS];
} fz;

static int fake_set_slot(void *ctx, uint32_t index, uint64_t gpa, uint64_t size, void *host)
{
	(void)ctx;
	(void)host;
	if (index >= FZ_SLOTS || gpa != FZ_GPA + (uint64_t)index * FZ_SLOT ||
	    (size && size != FZ_SLOT) || fz.shown[index] == (size != 0))
		__builtin_trap();
	fz.shown[index] = size != 0;
	return 0;
}

static uint64_t config_u64(struct virtio_mmio_dev *dev, uint32_t offset)
{
	uint8_t b[8];
	uint64_t v;

	virtio_mmio_bus_ops.read(dev, VIRTIO_MMIO_CONFIG + offset, b, 8);
	memcpy(&v, b, 8);
	return v;
}

static void check(struct mem_dev *m, struct virtio_mmio_dev *dev)
{
	uint64_t usable = config_u64(dev, 32), plugged = config_u64(dev, 40), shown = 0;
	struct mem_status st;

	mem_status(m, &st);
	for (unsigned int i = 0; i < FZ_SLOTS; i++)
		shown += fz.shown[i];
	if (plugged != st.plugged_size || plugged % FZ_BLOCK || usable > FZ_REGION ||
	    plugged > usable || usable % FZ_SLOT || shown * FZ_SLOT < plugged ||
	    shown * FZ_SLOT > usable || (plugged == 0) != (shown == 0) ||
	    config_u64(dev, 16) != FZ_GPA || config_u64(dev, 24) != FZ_REGION)
		__builtin_trap();
}

/* The device's own bytes at the end of a saved state: 7 u64, the bitmap's length and bits. */
#define FZ_DEV_STATE (7 * 8 + 4 + FZ_REGION / FZ_BLOCK / 8)

static const struct mem_geometry fz_geometry = {FZ_GPA, FZ_REGION, FZ_BLOCK, FZ_SLOT};

/*
 * @len bytes of saved state into a fresh device: refused with nothing
 * plugged or shown, or consistent. The restored status in *@st.
 */
static int restore_fresh(const uint8_t *buf, size_t len, struct mem_status *st)
{
	struct vmstate_reader r = {buf, len, 0, 0};
	struct mem_dev *m;
	int ret;

	memset(fz.shown, 0, sizeof(fz.shown));
	if (mem_create(&m, &fz_geometry, fake_set_slot, NULL, &fz.mem, LAYOUT_VIRTIO_START, 5))
		abort();
	ret = virtio_mmio_restore(mem_mmio(m), &r);
	mem_status(m, st);
	for (unsigned int i = 0; ret && i < FZ_SLOTS; i++)
		if (fz.shown[i])
			__builtin_trap();
	if (ret && st->plugged_size)
		__builtin_trap();
	if (!ret)
		check(m, mem_mmio(m));
	mem_destroy(m);
	return ret;
}

/* @w: the state of a device whose status was @before and slots @shown. */
static void snapshot_checks(const struct vmstate_writer *w, const struct mem_status *before,
			    const bool *shown, const struct fuzz_dev_input *in)
{
	size_t transport = w->len - 4 - FZ_DEV_STATE;
	struct mem_status st;
	uint32_t n = (uint32_t)in->host_len;
	uint8_t *buf;

	if (!restore_fresh(w->buf, w->len, &st) &&
	    (memcmp(&st, before, sizeof(st)) || memcmp(shown, fz.shown, sizeof(fz.shown))))
		__builtin_trap();
	if (!in->host_len)
		return;
	buf = malloc(transport + 4 + in->host_len);
	if (!buf)
		abort();
	memcpy(buf, w->buf, transport);
	memcpy(buf + transport, &n, 4);
	memcpy(buf + transport + 4, in->host, in->host_len);
	restore_fresh(buf, transport + 4 + in->host_len, &st);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	struct vmstate_writer w;
	struct mem_status before;
	bool shown[FZ_SLOTS];
	struct fuzz_dev_input in;
	struct virtio_mmio_dev *dev;
	struct mem_dev *m;
	struct virtq *q;
	uint16_t old_used, old_avail;

	if (!initialised) {
		log_set_level(LOG_OFF);
		if (guest_mem_create(&fz.mem, FUZZ_DEV_RAM))
			abort();
		initialised = 1;
	}
	if (!fuzz_dev_parse(data, size, &in))
		return 0;
	memset(fz.shown, 0, sizeof(fz.shown));
	if (mem_create(&m, &fz_geometry, fake_set_slot, NULL, &fz.mem, LAYOUT_VIRTIO_START, 5))
		abort();
	dev = mem_mmio(m);
	fuzz_dev_load_image(&fz.mem, &in);
	fuzz_dev_bring_up(dev, &in, 1);
	/* Refused (and harmless) when the driver is not ready or the size is not valid. */
	mem_set_requested(m, (uint64_t)in.h.target_flags * FZ_BLOCK);
	q = virtio_mmio_queue(dev, 0);
	old_used = q->used_idx;
	old_avail = q->last_avail_idx;
	fuzz_dev_kicks(dev, &in, 1);
	virtio_mmio_kick(dev, 0);
	check(m, dev);
	if ((uint16_t)(q->used_idx - old_used) != (uint16_t)(q->last_avail_idx - old_avail))
		__builtin_trap();
	mem_status(m, &before);
	memcpy(shown, fz.shown, sizeof(shown));
	vmstate_writer_init_raw(&w);
	if (virtio_mmio_save(dev, &w) || w.len < 4 + FZ_DEV_STATE)
		__builtin_trap();
	fuzz_dev_reset(dev);
	mem_destroy(m);
	snapshot_checks(&w, &before, shown, &in);
	vmstate_writer_free(&w);
	return 0;
}
