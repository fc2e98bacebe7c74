// SPDX-License-Identifier: Apache-2.0
/*
 * hostile: the guest as an attacker of the VMM's virtqueue code. Each case
 * posts one malformed request on the first virtio-blk and reports what the
 * device did with it; a device that asks for a reset (or never answers) is
 * reset and initialised again. A well-formed read at the end shows the VMM
 * still serves the guest.
 */
#include "blk.h"
#include "print.h"
#include "reset.h"
#include "string.h"
#include "virtio_scenarios.h"

/* Guest-physical addresses no guest RAM can be at. */
#define ADDR_OUTSIDE_RAM 0xfffffffff000UL
#define ADDR_WRAPPING	 0xfffffffffffffe00UL
#define LEN_WRAPPING	 0x400 /* ADDR_WRAPPING + this overflows 2^64 */

static struct blk blk;
/* Only ever a DMA target the device fills before it is read. */
static uint8_t data[VIRTQUEUE_CAPACITY * BLK_SECTOR_SIZE] __noinit;
static struct vring_desc table[VIRTQUEUE_CAPACITY + 1] __aligned(16);
static struct vring_desc inner_table[3] __aligned(16);

struct hostile_case {
	const char *name;
	bool needs_indirect;
	/* Write the descriptors; returns the head to make available. */
	uint16_t (*build)(struct virtqueue *vq);
};

static uint64_t addr(const volatile void *p)
{
	return (uint64_t)p;
}

static void fill_desc(struct vring_desc *d, uint64_t a, uint32_t len, uint16_t flags, uint16_t next)
{
	d->addr = a;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/* A read of sector 0 in @t[0..2]: header, 512 data bytes, status. */
static void well_formed_read(struct vring_desc *t)
{
	fill_desc(&t[0], addr(&blk.hdr), sizeof(blk.hdr), VRING_DESC_F_NEXT, 1);
	fill_desc(&t[1], addr(data), BLK_SECTOR_SIZE, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	fill_desc(&t[2], addr(&blk.status), 1, VRING_DESC_F_WRITE, 0);
}

static uint16_t build_desc_loop(struct virtqueue *vq)
{
	well_formed_read(vq->desc);
	vq->desc[0].next = 0;
	return 0;
}

static uint16_t build_next_out_of_range(struct virtqueue *vq)
{
	well_formed_read(vq->desc);
	vq->desc[1].next = vq->size;
	return 0;
}

static uint16_t build_addr_outside_ram(struct virtqueue *vq)
{
	well_formed_read(vq->desc);
	vq->desc[1].addr = ADDR_OUTSIDE_RAM;
	return 0;
}

static uint16_t build_addr_len_overflow(struct virtqueue *vq)
{
	well_formed_read(vq->desc);
	vq->desc[1].addr = ADDR_WRAPPING;
	vq->desc[1].len = LEN_WRAPPING;
	return 0;
}

/* The status byte (device-writable) first, the header (device-readable) after it. */
static uint16_t build_write_before_read(struct virtqueue *vq)
{
	fill_desc(&vq->desc[0], addr(&blk.status), 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	fill_desc(&vq->desc[1], addr(&blk.hdr), sizeof(blk.hdr), 0, 0);
	return 0;
}

static uint16_t build_indirect_in_indirect(struct virtqueue *vq)
{
	well_formed_read(inner_table);
	fill_desc(&table[0], addr(inner_table), sizeof(inner_table), VRING_DESC_F_INDIRECT, 0);
	fill_desc(&vq->desc[0], addr(table), sizeof(table[0]), VRING_DESC_F_INDIRECT, 0);
	return 0;
}

/*
 * One descriptor more than the queue has entries, without a loop: only an
 * indirect table can hold it. Header, size - 1 sectors, status.
 */
static uint16_t build_chain_longer_than_queue(struct virtqueue *vq)
{
	uint16_t n = vq->size + 1, i;

	fill_desc(&table[0], addr(&blk.hdr), sizeof(blk.hdr), VRING_DESC_F_NEXT, 1);
	for (i = 1; i < n - 1; i++)
		fill_desc(&table[i], addr(data + (i - 1) * BLK_SECTOR_SIZE), BLK_SECTOR_SIZE,
			  VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, (uint16_t)(i + 1));
	fill_desc(&table[n - 1], addr(&blk.status), 1, VRING_DESC_F_WRITE, 0);
	fill_desc(&vq->desc[0], addr(table), n * sizeof(table[0]), VRING_DESC_F_INDIRECT, 0);
	return 0;
}

static uint16_t build_zero_length_header(struct virtqueue *vq)
{
	well_formed_read(vq->desc);
	vq->desc[0].len = 0;
	return 0;
}

/* Ring corruption rather than a bad chain: an avail ring entry past the descriptor table. */
static uint16_t build_head_out_of_range(struct virtqueue *vq)
{
	well_formed_read(vq->desc);
	return (uint16_t)(vq->size + 7);
}

static const struct hostile_case cases[] = {
    {"desc-loop", false, build_desc_loop},
    {"next-out-of-range", false, build_next_out_of_range},
    {"addr-outside-ram", false, build_addr_outside_ram},
    {"addr-len-overflow", false, build_addr_len_overflow},
    {"write-before-read", false, build_write_before_read},
    {"indirect-in-indirect", true, build_indirect_in_indirect},
    {"chain-longer-than-queue", true, build_chain_longer_than_queue},
    {"zero-length-header", false, build_zero_length_header},
    {"head-out-of-range", false, build_head_out_of_range},
};

static void print_used(const struct vring_used_elem *used)
{
	print_str("used len ");
	print_dec(used->len);
	print_str(" status ");
	if (blk.status == BLK_STATUS_UNSET)
		print_str("untouched");
	else
		print_dec(blk.status);
}

/* Post one case and say what became of it. True when the device must be initialised again. */
static bool run_case(const struct hostile_case *c)
{
	struct vring_used_elem used;
	enum virtqueue_wait wait;
	uint16_t head;

	print_str("hostile: ");
	print_str(c->name);
	print_str(" -> ");
	if (c->needs_indirect && !virtio_has_feature(blk.dev, VIRTIO_F_INDIRECT_DESC)) {
		print_str("skipped (no INDIRECT_DESC)\n");
		return false;
	}
	blk.hdr.type = VIRTIO_BLK_T_IN;
	blk.hdr.reserved = 0;
	blk.hdr.sector = 0;
	blk.status = BLK_STATUS_UNSET;
	head = c->build(&blk.vq);
	virtqueue_kick(&blk.vq, head);

	wait = virtqueue_wait_used(&blk.vq, &used);
	if (wait == VIRTQUEUE_USED)
		print_used(&used);
	else
		print_str(wait == VIRTQUEUE_TIMEOUT ? "no completion" : "NEEDS_RESET");
	/* A device may complete the chain and still give up on the queue. */
	if (wait == VIRTQUEUE_USED && (virtio_status(blk.dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)) {
		print_str(" NEEDS_RESET");
		wait = VIRTQUEUE_NEEDS_RESET;
	}
	print_str("\n");
	return wait != VIRTQUEUE_USED;
}

void scenario_hostile(const char *cmdline)
{
	struct virtio_dev *dev = virtio_probe_first(cmdline, VIRTIO_ID_BLOCK, "hostile");
	uint32_t used_len = 0;
	unsigned int i;
	int ret;

	if (!dev || !blk_open(&blk, dev)) {
		if (dev)
			print_str("hostile: init failed\n");
		machine_reset();
	}
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (!run_case(&cases[i]))
			continue;
		if (!blk_open(&blk, dev)) {
			print_str("hostile: re-initialisation failed\n");
			machine_reset();
		}
		print_str("hostile: device reset and re-initialised\n");
	}

	ret = blk_request(&blk, VIRTIO_BLK_T_IN, 0, data, BLK_SECTOR_SIZE, &used_len);
	if (ret == VIRTIO_BLK_S_OK && used_len == BLK_SECTOR_SIZE + 1) {
		print_str("hostile: device still works\n");
	} else {
		print_str("hostile: well-formed read failed: ");
		if (ret == BLK_NO_COMPLETION) {
			print_str("no completion\n");
		} else if (ret == BLK_NEEDS_RESET) {
			print_str("NEEDS_RESET\n");
		} else {
			print_str("status ");
			print_dec((uint64_t)ret);
			print_str(" used len ");
			print_dec(used_len);
			print_str("\n");
		}
	}
	machine_reset();
}
