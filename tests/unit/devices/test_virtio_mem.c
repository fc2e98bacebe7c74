// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-mem: the config space, requested_size (alignment, bound, the usable
 * region growing by slots, the config interrupt, refused before the driver
 * is ready), every request (PLUG, UNPLUG, UNPLUG_ALL, STATE) with the spec's
 * answers (ACK, NACK, ERROR) for out-of-range, unaligned, empty, wrapping,
 * already plugged and not plugged ranges, the KVM slots shown and hidden as
 * blocks come and go (and a slot the host cannot show: BUSY, nothing
 * changed), unplugged memory reading as zero, malformed chains completed
 * with length 0, and snapshots: the state round trip (sizes, blocks, the
 * slots shown again, the runs of plugged blocks) and every corrupt or
 * mismatched state refused with nothing shown.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "vmm/base/event_loop.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "vmm/base/metrics.h"
#include "vmm/base/vmstate.h"
#include "devices/virtio/mem.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtq_driver.h"

#define RAM_SIZE (4 * MIB)
#define BASE	 (LAYOUT_VIRTIO_START + 0x3000)
#define GSI	 9
#define RING	 0x10000ULL
#define BUF	 0x100000ULL
#define QSIZE	 32
#define GPA	 (4 * GIB)
#define BLOCK	 (2 * MIB)
#define SLOT	 (8 * MIB)
#define REGION	 (32 * MIB)

struct slot_call {
	uint32_t index;
	uint64_t gpa, size;
	void *host;
};

struct fx {
	struct guest_mem mem;
	struct event_loop loop;
	struct virtq_driver drv;
	struct mem_dev *m;
	struct virtio_mmio_dev *dev;
	struct slot_call calls[64];
	unsigned int nr_calls;
	int fail_next;		/* the next call fails with this */
	unsigned int fail_skip; /* ... after this many more succeed */
	bool shown[REGION / SLOT];
};

static int fake_set_slot(void *ctx, uint32_t index, uint64_t gpa, uint64_t size, void *host)
{
	struct fx *f = ctx;

	if (f->fail_next && f->fail_skip) {
		f->fail_skip--;
	} else if (f->fail_next) {
		int ret = f->fail_next;

		f->fail_next = 0;
		return ret;
	}
	assert_true(f->nr_calls < 64);
	f->calls[f->nr_calls++] = (struct slot_call){index, gpa, size, host};
	assert_true(index < REGION / SLOT);
	f->shown[index] = size != 0;
	return 0;
}

static int setup(void **state)
{
	static struct fx f;
	const struct mem_geometry g = {GPA, REGION, BLOCK, SLOT};

	memset(&f, 0, sizeof(f));
	metrics_reset();
	if (guest_mem_create(&f.mem, RAM_SIZE) || event_loop_init(&f.loop))
		return -1;
	if (mem_create(&f.m, &g, fake_set_slot, &f, &f.mem, BASE, GSI))
		return -1;
	f.dev = mem_mmio(f.m);
	if (virtio_mmio_attach(f.dev, &f.loop) || virtq_driver_init(&f.drv, &f.mem, RING, QSIZE))
		return -1;
	*state = &f;
	return 0;
}

static int activate(struct fx *f)
{
	if (!(virtio_mmio_driver_negotiate(f->dev, VIRTIO_COMMON_FEATURES | VIRTIO_BIT(1)) &
	      VIRTIO_CONFIG_S_FEATURES_OK) ||
	    virtio_mmio_driver_setup_queue(f->dev, 0, &f->drv) != 1 ||
	    !(virtio_mmio_driver_ok(f->dev) & VIRTIO_CONFIG_S_DRIVER_OK))
		return -1;
	while (event_loop_run_once(&f->loop, 0) > 0)
		;
	return 0;
}

static int setup_active(void **state)
{
	return setup(state) || activate(*state);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_mmio_detach(f->dev);
	mem_destroy(f->m);
	event_loop_destroy(&f->loop);
	guest_mem_destroy(&f->mem);
	return 0;
}

static uint8_t *gptr(struct fx *f, uint64_t gpa, uint64_t len)
{
	uint8_t *p = guest_mem_translate(&f->mem, gpa, len);

	assert_non_null(p);
	return p;
}

static uint64_t config_u64(struct fx *f, uint32_t offset)
{
	uint8_t b[8] = {0};
	uint64_t v;

	virtio_mmio_bus_ops.read(f->dev, VIRTIO_MMIO_CONFIG + offset, b, 8);
	memcpy(&v, b, 8);
	return v;
}

struct resp {
	uint16_t type, state;
	uint32_t len;
};

/* One request (24 bytes at BUF, 10-byte response at BUF + 64), run to completion. */
static struct resp request_len(struct fx *f, uint16_t type, uint64_t addr, uint16_t nb,
			       uint32_t req_len, uint32_t resp_len)
{
	uint8_t req[24] = {0};
	struct resp r = {0};
	uint32_t id;

	memcpy(req, &type, 2);
	memcpy(req + 8, &addr, 8);
	memcpy(req + 16, &nb, 2);
	memcpy(gptr(f, BUF, 24), req, 24);
	memset(gptr(f, BUF + 64, 10), 0xee, 10);
	virtq_driver_set_desc(&f->drv, 0, BUF, req_len, VRING_DESC_F_NEXT, 1);
	virtq_driver_set_desc(&f->drv, 1, BUF + 64, resp_len, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->drv, 0);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	while (event_loop_run_once(&f->loop, 10) > 0)
		;
	assert_int_equal(virtq_driver_get_used(&f->drv, &id, &r.len), 1);
	assert_int_equal(id, 0);
	memcpy(&r.type, gptr(f, BUF + 64, 2), 2);
	memcpy(&r.state, gptr(f, BUF + 72, 2), 2);
	return r;
}

static struct resp request(struct fx *f, uint16_t type, uint64_t addr, uint16_t nb)
{
	return request_len(f, type, addr, nb, 24, 10);
}

static void expect(struct fx *f, uint16_t type, uint64_t addr, uint16_t nb, uint16_t answer)
{
	struct resp r = request(f, type, addr, nb);

	assert_int_equal(r.len, 10);
	assert_int_equal(r.type, answer);
}

static void expect_state(struct fx *f, uint64_t addr, uint16_t nb, uint16_t state)
{
	struct resp r = request(f, VIRTIO_MEM_REQ_STATE, addr, nb);

	assert_int_equal(r.len, 10);
	assert_int_equal(r.type, VIRTIO_MEM_RESP_ACK);
	assert_int_equal(r.state, state);
}

static void test_config_space(void **state)
{
	struct fx *f = *state;
	uint8_t b[8];

	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_DEVICE_ID), 24);
	assert_int_equal(config_u64(f, 0), BLOCK);
	assert_int_equal(config_u64(f, 8), 0); /* node_id and padding */
	assert_int_equal(config_u64(f, 16), GPA);
	assert_int_equal(config_u64(f, 24), REGION);
	assert_int_equal(config_u64(f, 32), 0);
	assert_int_equal(config_u64(f, 40), 0);
	assert_int_equal(config_u64(f, 48), 0);
	/* Nothing past its 56 bytes. */
	memset(b, 0x55, sizeof(b));
	virtio_mmio_bus_ops.read(f->dev, VIRTIO_MMIO_CONFIG + 52, b, 8);
	assert_int_equal(g_metrics.virtio.config_out_of_range, 1);
	/* Not active yet: requested_size cannot be set. */
	assert_int_equal(mem_set_requested(f->m, BLOCK), -EAGAIN);
}

static void test_requested_size(void **state)
{
	struct fx *f = *state;
	struct mem_status st;
	uint32_t gen = virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_CONFIG_GENERATION);

	assert_int_equal(mem_set_requested(f->m, BLOCK + 4096), -EINVAL);
	assert_int_equal(mem_set_requested(f->m, REGION + BLOCK), -EINVAL);
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	assert_int_equal(mem_set_requested(f->m, 3 * BLOCK), 0);
	assert_int_equal(config_u64(f, 48), 3 * BLOCK);
	assert_int_equal(config_u64(f, 32), SLOT); /* usable: whole slots */
	assert_true(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_INTERRUPT_STATUS) &
		    VIRTIO_MMIO_INT_CONFIG);
	assert_int_not_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_CONFIG_GENERATION), gen);
	assert_int_equal(mem_set_requested(f->m, REGION), 0);
	assert_int_equal(config_u64(f, 32), REGION);
	/* Lowering it keeps the usable region (only UNPLUG_ALL shrinks it). */
	assert_int_equal(mem_set_requested(f->m, 0), 0);
	assert_int_equal(config_u64(f, 32), REGION);
	mem_status(f->m, &st);
	assert_int_equal(st.block_size, BLOCK);
	assert_int_equal(st.region_size, REGION);
	assert_int_equal(st.slot_size, SLOT);
	assert_int_equal(st.plugged_size, 0);
	assert_int_equal(st.requested_size, 0);
}

static void test_range_checks(void **state)
{
	struct fx *f = *state;

	assert_int_equal(mem_set_requested(f->m, 2 * BLOCK), 0);	      /* usable: one slot */
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA + SLOT, 1, VIRTIO_MEM_RESP_ERROR); /* past usable */
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA + SLOT - BLOCK, 2, VIRTIO_MEM_RESP_ERROR);
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA - BLOCK, 1, VIRTIO_MEM_RESP_ERROR); /* below */
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA + 4096, 1, VIRTIO_MEM_RESP_ERROR);  /* unaligned */
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA, 0, VIRTIO_MEM_RESP_ERROR);	       /* empty */
	expect(f, VIRTIO_MEM_REQ_PLUG, UINT64_MAX - BLOCK + 1, 1, VIRTIO_MEM_RESP_ERROR);
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA, 0xffff, VIRTIO_MEM_RESP_ERROR);
	expect(f, VIRTIO_MEM_REQ_STATE, GPA + SLOT, 1, VIRTIO_MEM_RESP_ERROR);
	expect(f, VIRTIO_MEM_REQ_UNPLUG, GPA + REGION, 1, VIRTIO_MEM_RESP_ERROR);
	expect(f, 4, GPA, 1, VIRTIO_MEM_RESP_ERROR); /* unknown type */
	expect(f, 0xffff, GPA, 1, VIRTIO_MEM_RESP_ERROR);
	assert_int_equal(f->nr_calls, 0);
	assert_int_equal(config_u64(f, 40), 0);
}

static void test_plug_unplug(void **state)
{
	struct fx *f = *state;
	uint8_t *host;

	assert_int_equal(mem_set_requested(f->m, 5 * BLOCK), 0); /* usable: 2 slots */
	expect_state(f, GPA, 4, VIRTIO_MEM_STATE_UNPLUGGED);
	/* More than requested_size: NACK. */
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA, 6, VIRTIO_MEM_RESP_NACK);
	assert_int_equal(f->nr_calls, 0);
	/* Three blocks across the slot boundary: both slots shown. */
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA + SLOT - BLOCK, 3, VIRTIO_MEM_RESP_ACK);
	assert_int_equal(f->nr_calls, 2);
	assert_int_equal(f->calls[0].index, 0);
	assert_int_equal(f->calls[0].gpa, GPA);
	assert_int_equal(f->calls[0].size, SLOT);
	assert_int_equal(f->calls[1].index, 1);
	assert_int_equal(f->calls[1].gpa, GPA + SLOT);
	assert_ptr_equal(f->calls[1].host, (uint8_t *)f->calls[0].host + SLOT);
	assert_int_equal(config_u64(f, 40), 3 * BLOCK);
	expect_state(f, GPA + SLOT - BLOCK, 3, VIRTIO_MEM_STATE_PLUGGED);
	expect_state(f, GPA + SLOT - 2 * BLOCK, 2, VIRTIO_MEM_STATE_MIXED);
	/* Already plugged (partly): ERROR. */
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA + SLOT - 2 * BLOCK, 2, VIRTIO_MEM_RESP_ERROR);
	/* Two more fit requested_size, a third does not. */
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA, 2, VIRTIO_MEM_RESP_ACK);
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA + 2 * SLOT - BLOCK, 1, VIRTIO_MEM_RESP_NACK);
	assert_int_equal(f->nr_calls, 2); /* slot 0 was already shown */
	/* Guest data in a plugged block; unplugged, it reads as zero when plugged again. */
	host = f->calls[0].host;
	memset(host, 0xab, BLOCK);
	/* Unplug with a block not plugged: ERROR, nothing changed. */
	expect(f, VIRTIO_MEM_REQ_UNPLUG, GPA + SLOT + 2 * BLOCK, 1, VIRTIO_MEM_RESP_ERROR);
	expect(f, VIRTIO_MEM_REQ_UNPLUG, GPA, 1, VIRTIO_MEM_RESP_ACK);
	assert_int_equal(host[0], 0);
	assert_int_equal(host[BLOCK - 1], 0);
	assert_int_equal(config_u64(f, 40), 4 * BLOCK);
	/* Slot 1 loses its last block: hidden. */
	expect(f, VIRTIO_MEM_REQ_UNPLUG, GPA + SLOT, 2, VIRTIO_MEM_RESP_ACK);
	assert_int_equal(f->nr_calls, 3);
	assert_int_equal(f->calls[2].index, 1);
	assert_int_equal(f->calls[2].size, 0);
	assert_true(f->shown[0]);
	assert_false(f->shown[1]);
	/* UNPLUG_ALL: nothing plugged, every slot hidden, usable back to requested_size's. */
	assert_int_equal(mem_set_requested(f->m, 2 * BLOCK), 0);
	assert_int_equal(config_u64(f, 32), 2 * SLOT);
	expect(f, VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0, VIRTIO_MEM_RESP_ACK);
	assert_false(f->shown[0]);
	assert_int_equal(config_u64(f, 40), 0);
	assert_int_equal(config_u64(f, 32), SLOT);
	expect_state(f, GPA, 4, VIRTIO_MEM_STATE_UNPLUGGED);
}

static void test_slot_failure(void **state)
{
	struct fx *f = *state;

	assert_int_equal(mem_set_requested(f->m, REGION), 0);
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA, 1, VIRTIO_MEM_RESP_ACK);
	/* Slot 1 cannot be shown: BUSY, slot 0's state and the sizes unchanged. */
	f->fail_next = -ENOMEM;
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA + SLOT - BLOCK, 2, VIRTIO_MEM_RESP_BUSY);
	assert_false(f->shown[1]);
	assert_true(f->shown[0]);
	assert_int_equal(config_u64(f, 40), BLOCK);
	expect_state(f, GPA + SLOT - BLOCK, 2, VIRTIO_MEM_STATE_UNPLUGGED);
	/* Slots 2 and 3 both new, 3 cannot be shown: 2 is hidden again. */
	f->fail_next = -ENOMEM;
	f->fail_skip = 1;
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA + 3 * SLOT - BLOCK, 2, VIRTIO_MEM_RESP_BUSY);
	assert_false(f->shown[2]);
	assert_false(f->shown[3]);
	assert_int_equal(f->calls[f->nr_calls - 1].index, 2);
	assert_int_equal(f->calls[f->nr_calls - 1].size, 0);
	assert_int_equal(config_u64(f, 40), BLOCK);
	/* Once the host can, the same request is served. */
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA + SLOT - BLOCK, 2, VIRTIO_MEM_RESP_ACK);
	assert_true(f->shown[1]);
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	struct resp r;
	uint32_t id, len;

	assert_int_equal(mem_set_requested(f->m, REGION), 0);
	r = request_len(f, VIRTIO_MEM_REQ_PLUG, GPA, 1, 23, 10); /* short request */
	assert_int_equal(r.len, 0);
	assert_int_equal(r.type, 0xeeee);
	r = request_len(f, VIRTIO_MEM_REQ_PLUG, GPA, 1, 24, 9); /* short response */
	assert_int_equal(r.len, 0);
	/* Only a writable descriptor, only a readable one. */
	virtq_driver_set_desc(&f->drv, 0, BUF + 64, 10, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->drv, 0);
	virtq_driver_set_desc(&f->drv, 1, BUF, 24, 0, 0);
	virtq_driver_publish(&f->drv, 1);
	/* A response buffer outside guest RAM: the chain itself is refused. */
	virtq_driver_set_desc(&f->drv, 2, BUF, 24, VRING_DESC_F_NEXT, 3);
	virtq_driver_set_desc(&f->drv, 3, RAM_SIZE + 0x1000, 10, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->drv, 2);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	while (event_loop_run_once(&f->loop, 10) > 0)
		;
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(virtq_driver_get_used(&f->drv, &id, &len), 1);
		assert_int_equal(id, i);
		assert_int_equal(len, 0);
	}
	assert_int_equal(config_u64(f, 40), 0);
	assert_int_equal(f->nr_calls, 0);
	/* Still serving. */
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA, 1, VIRTIO_MEM_RESP_ACK);
}

static void test_bad_geometry(void **state)
{
	struct mem_dev *m;
	struct guest_mem mem;
	const struct mem_geometry bad[] = {
	    {GPA, REGION, 3 * MIB, SLOT},	  /* block not a power of 2 */
	    {GPA, REGION, BLOCK, 3 * MIB},	  /* slot not a multiple of block */
	    {GPA, REGION + BLOCK, BLOCK, SLOT},	  /* region not a multiple of slot */
	    {GPA + 4096, REGION, BLOCK, SLOT},	  /* unaligned start */
	    {GPA, 0, BLOCK, SLOT},		  /* empty */
	    {GPA, 1ULL << 41, BLOCK, 1ULL << 30}, /* past the bound */
	};

	(void)state;
	assert_int_equal(guest_mem_create(&mem, RAM_SIZE), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mem_create(&m, &bad[i], fake_set_slot, NULL, &mem, BASE, GSI),
				 -EINVAL);
	guest_mem_destroy(&mem);
}

/* ---- snapshots ------------------------------------------------------------ */

/* Device payload of a saved state: the last bytes (7 u64, bitmap length, 2 bitmap bytes). */
#define DEV_STATE_LEN 62U
#define OFF_GPA	      0U
#define OFF_BLOCK     16U
#define OFF_USABLE    32U
#define OFF_PLUGGED   40U
#define OFF_REQUESTED 48U
#define OFF_BITS_LEN  56U
#define OFF_BITS      60U

/* Plug blocks 0-1 and 5 (slots 0 and 1), save into @w. */
static void save_plugged(struct fx *f, struct vmstate_writer *w)
{
	assert_int_equal(mem_set_requested(f->m, 6 * BLOCK), 0);
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA, 2, VIRTIO_MEM_RESP_ACK);
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA + 5 * BLOCK, 1, VIRTIO_MEM_RESP_ACK);
	vmstate_writer_init_raw(w);
	assert_int_equal(virtio_mmio_save(f->dev, w), 0);
	assert_true(w->len > DEV_STATE_LEN);
}

/* A fresh device of geometry @g in @f's place (the old one destroyed), nothing shown. */
static void replace_device(struct fx *f, const struct mem_geometry *g)
{
	virtio_mmio_detach(f->dev);
	mem_destroy(f->m);
	memset(f->shown, 0, sizeof(f->shown));
	f->nr_calls = 0;
	assert_int_equal(mem_create(&f->m, g, fake_set_slot, f, &f->mem, BASE, GSI), 0);
	f->dev = mem_mmio(f->m);
	assert_int_equal(virtio_mmio_attach(f->dev, &f->loop), 0);
}

static int restore_from(struct fx *f, const uint8_t *buf, size_t len)
{
	struct vmstate_reader r = {buf, len, 0, 0};

	return virtio_mmio_restore(f->dev, &r);
}

struct run {
	uint64_t off, len;
};

static int record_run(void *ctx, uint64_t off, uint8_t *host, uint64_t len)
{
	struct run *runs = ctx;

	(void)host;
	for (int i = 0; i < 4; i++) {
		if (!runs[i].len) {
			runs[i] = (struct run){off, len};
			return 0;
		}
	}
	return -E2BIG;
}

static void test_snapshot_round_trip(void **state)
{
	struct fx *f = *state;
	const struct mem_geometry g = {GPA, REGION, BLOCK, SLOT};
	struct run runs[4] = {{0}};
	struct vmstate_writer w;
	struct mem_status st;

	save_plugged(f, &w);
	replace_device(f, &g);
	assert_int_equal(restore_from(f, w.buf, w.len), 0);
	/* Both slots with plugged blocks shown again, nothing else. */
	assert_int_equal(f->nr_calls, 2);
	assert_true(f->shown[0]);
	assert_true(f->shown[1]);
	assert_false(f->shown[2]);
	assert_int_equal(f->calls[1].gpa, GPA + SLOT);
	mem_status(f->m, &st);
	assert_int_equal(st.plugged_size, 3 * BLOCK);
	assert_int_equal(st.requested_size, 6 * BLOCK);
	assert_int_equal(config_u64(f, 32), 2 * SLOT);
	assert_int_equal(mem_for_each_plugged(f->m, record_run, runs), 0);
	assert_int_equal(runs[0].off, 0);
	assert_int_equal(runs[0].len, 2 * BLOCK);
	assert_int_equal(runs[1].off, 5 * BLOCK);
	assert_int_equal(runs[1].len, BLOCK);
	assert_int_equal(runs[2].len, 0);
	/* The restored device serves the guest: block states and slot counts are right. */
	expect_state(f, GPA, 2, VIRTIO_MEM_STATE_PLUGGED);
	expect_state(f, GPA + 2 * BLOCK, 3, VIRTIO_MEM_STATE_UNPLUGGED);
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA + BLOCK, 1, VIRTIO_MEM_RESP_ERROR);
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA + 2 * BLOCK, 3, VIRTIO_MEM_RESP_ACK);
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA + 6 * BLOCK, 1, VIRTIO_MEM_RESP_NACK);
	expect(f, VIRTIO_MEM_REQ_UNPLUG, GPA + 5 * BLOCK, 1, VIRTIO_MEM_RESP_ACK);
	assert_true(f->shown[1]); /* block 4 (slot 1) still plugged */
	expect(f, VIRTIO_MEM_REQ_UNPLUG, GPA + 5 * BLOCK, 1, VIRTIO_MEM_RESP_ERROR);
	expect(f, VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0, VIRTIO_MEM_RESP_ACK);
	assert_false(f->shown[0]);
	assert_false(f->shown[1]);
	/* A device that already has plugged blocks takes no state. */
	expect(f, VIRTIO_MEM_REQ_PLUG, GPA, 1, VIRTIO_MEM_RESP_ACK);
	assert_int_not_equal(restore_from(f, w.buf, w.len), 0);
	vmstate_writer_free(&w);
}

/*
 * A Uffd restore's device on a region mapped beforehand (mem_create_on):
 * the restored slots and the plugged runs are in that mapping, an unplug
 * gives the block back there (reads zero), and destroying the device leaves
 * the mapping to its owner.
 */
static void test_borrowed_region(void **state)
{
	struct fx *f = *state;
	const struct mem_geometry g = {GPA, REGION, BLOCK, SLOT};
	uint8_t *host = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct run runs[4] = {{0}};
	struct vmstate_writer w;

	assert_true(host != MAP_FAILED);
	save_plugged(f, &w);
	virtio_mmio_detach(f->dev);
	mem_destroy(f->m);
	memset(f->shown, 0, sizeof(f->shown));
	f->nr_calls = 0;
	assert_int_equal(mem_create_on(&f->m, &g, host, fake_set_slot, f, &f->mem, BASE, GSI), 0);
	f->dev = mem_mmio(f->m);
	assert_int_equal(virtio_mmio_attach(f->dev, &f->loop), 0);
	assert_int_equal(restore_from(f, w.buf, w.len), 0);
	assert_int_equal(f->nr_calls, 2);
	assert_ptr_equal(f->calls[0].host, host);
	assert_ptr_equal(f->calls[1].host, host + SLOT);
	assert_int_equal(mem_for_each_plugged(f->m, record_run, runs), 0);
	assert_int_equal(runs[1].off, 5 * BLOCK);
	/* The handler would have filled the block; unplugging it gives it back. */
	memset(host + 5 * BLOCK, 0xab, BLOCK);
	expect(f, VIRTIO_MEM_REQ_UNPLUG, GPA + 5 * BLOCK, 1, VIRTIO_MEM_RESP_ACK);
	assert_int_equal(host[5 * BLOCK], 0);
	assert_int_equal(host[6 * BLOCK - 1], 0);
	replace_device(f, &g); /* destroys the borrowing device */
	host[0] = 1;	       /* still mapped */
	assert_int_equal(host[0], 1);
	assert_int_equal(munmap(host, REGION), 0);
	vmstate_writer_free(&w);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* @w's state with the device payload changed by @edit, into a fresh device: refused, nothing shown.
 */
static void expect_refused(struct fx *f, const struct vmstate_writer *w, uint32_t off,
			   const void *bytes, size_t n, size_t cut)
{
	const struct mem_geometry g = {GPA, REGION, BLOCK, SLOT};
	uint8_t *buf = malloc(w->len);
	struct mem_status st;

	assert_non_null(buf);
	memcpy(buf, w->buf, w->len);
	memcpy(buf + w->len - DEV_STATE_LEN + off, bytes, n);
	replace_device(f, &g);
	assert_int_not_equal(restore_from(f, buf, w->len - cut), 0);
	mem_status(f->m, &st);
	assert_int_equal(st.plugged_size, 0);
	for (unsigned int s = 0; s < REGION / SLOT; s++)
		assert_false(f->shown[s]);
	free(buf);
}

static void test_snapshot_corrupt(void **state)
{
	struct fx *f = *state;
	struct vmstate_writer w;
	uint8_t v[8];
	uint32_t len;

	save_plugged(f, &w);
	put64(v, GPA + SLOT); /* another region start */
	expect_refused(f, &w, OFF_GPA, v, 8, 0);
	put64(v, 4 * MIB); /* another block size */
	expect_refused(f, &w, OFF_BLOCK, v, 8, 0);
	put64(v, REGION + SLOT); /* usable region past the region */
	expect_refused(f, &w, OFF_USABLE, v, 8, 0);
	put64(v, SLOT + BLOCK); /* usable region not slot-aligned */
	expect_refused(f, &w, OFF_USABLE, v, 8, 0);
	put64(v, SLOT); /* block 5 plugged outside the usable region */
	expect_refused(f, &w, OFF_USABLE, v, 8, 0);
	put64(v, 2 * BLOCK); /* plugged_size not the blocks' */
	expect_refused(f, &w, OFF_PLUGGED, v, 8, 0);
	put64(v, BLOCK + 1); /* requested_size unaligned */
	expect_refused(f, &w, OFF_REQUESTED, v, 8, 0);
	put64(v, REGION + BLOCK); /* requested_size past the region */
	expect_refused(f, &w, OFF_REQUESTED, v, 8, 0);
	len = 3; /* bitmap of the wrong length */
	expect_refused(f, &w, OFF_BITS_LEN, &len, 4, 0);
	len = UINT32_MAX;
	expect_refused(f, &w, OFF_BITS_LEN, &len, 4, 0);
	v[0] = 0xa3; /* block 7 plugged too: the count no longer matches */
	expect_refused(f, &w, OFF_BITS + 0, v, 1, 0);
	/* Truncated anywhere in the device payload. */
	for (size_t cut = 1; cut <= DEV_STATE_LEN; cut += 7)
		expect_refused(f, &w, 0, v, 0, cut);
	/* The host cannot show slot 1 again: refused, slot 0 hidden again. */
	{
		const struct mem_geometry g = {GPA, REGION, BLOCK, SLOT};

		replace_device(f, &g);
		f->fail_next = -ENOMEM;
		f->fail_skip = 1;
		assert_int_equal(restore_from(f, w.buf, w.len), -ENOMEM);
		assert_false(f->shown[0]);
		assert_false(f->shown[1]);
	}
	/* Another geometry configured on the restoring side. */
	{
		const struct mem_geometry g2 = {GPA, 2 * REGION, BLOCK, SLOT};

		replace_device(f, &g2);
		assert_int_equal(restore_from(f, w.buf, w.len), -EINVAL);
		assert_int_equal(f->nr_calls, 0);
	}
	vmstate_writer_free(&w);
}

/*
 * Bytes after the device's state: refused before any slot is shown. The
 * transport used to find them only after the device's restore had shown its
 * slots to KVM and taken the plugged state (found by fuzz_mem).
 */
static void test_snapshot_trailing_bytes(void **state)
{
	const struct mem_geometry g = {GPA, REGION, BLOCK, SLOT};
	struct fx *f = *state;
	struct vmstate_writer w;
	uint32_t len = DEV_STATE_LEN + 1;
	struct mem_status st;
	uint8_t *buf;

	save_plugged(f, &w);
	buf = calloc(1, w.len + 1);
	assert_non_null(buf);
	memcpy(buf, w.buf, w.len);
	memcpy(buf + w.len - DEV_STATE_LEN - 4, &len, 4); /* the blob's length, one more */
	replace_device(f, &g);
	assert_int_not_equal(restore_from(f, buf, w.len + 1), 0);
	mem_status(f->m, &st);
	assert_int_equal(st.plugged_size, 0);
	for (unsigned int s = 0; s < REGION / SLOT; s++)
		assert_false(f->shown[s]);
	free(buf);
	vmstate_writer_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config_space, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_requested_size, setup_active, teardown),
	    cmocka_unit_test_setup_teardown(test_range_checks, setup_active, teardown),
	    cmocka_unit_test_setup_teardown(test_plug_unplug, setup_active, teardown),
	    cmocka_unit_test_setup_teardown(test_slot_failure, setup_active, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup_active, teardown),
	    cmocka_unit_test(test_bad_geometry),
	    cmocka_unit_test_setup_teardown(test_snapshot_round_trip, setup_active, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_corrupt, setup_active, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_trailing_bytes, setup_active, teardown),
	    cmocka_unit_test_setup_teardown(test_borrowed_region, setup_active, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
