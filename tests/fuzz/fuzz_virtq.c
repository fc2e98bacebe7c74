// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: the input is a hostile guest. It picks the queue registers,
 * negotiated features and a burst of raw register accesses, and provides
 * the guest memory image holding the rings, descriptor tables, indirect
 * tables and request headers. The virtio-blk (Sync engine, real backing
 * file) or virtio-rng device then processes whatever the rings say, and the
 * chain walker is run directly on every head as well.
 *
 * Input layout (little-endian):
 *   struct fuzz_header                          32 bytes
 *   struct fuzz_reg_op[header.nr_reg_ops]       8 bytes each (at most 16)
 *   guest memory image, copied to guest-physical 0
 *
 * Built with clang -fsanitize=fuzzer,address,undefined (libFuzzer) or with
 * fuzz_main.c as a plain regression runner over the corpus.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "vmm/base/log.h"
#include "devices/virtio/block.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtq.h"
#include "devices/virtio/virtq_driver.h"

#define FUZZ_RAM	(1 * MIB)
#define FUZZ_ADDR_SPACE (FUZZ_RAM + 0x10000) /* addresses past RAM stay reachable */
#define FUZZ_DISK	(64 * 1024)
#define FUZZ_MAX_REGOPS 16

#define FLAG_EVENT_IDX	  0x01
#define FLAG_INDIRECT	  0x02
#define FLAG_RNG	  0x04
#define FLAG_NO_DRIVER_OK 0x08
#define FLAG_RAW_FEATURES 0x10

struct fuzz_header {
	uint8_t flags;
	uint8_t nr_reg_ops;
	uint8_t kicks;
	uint8_t reserved;
	uint32_t queue_num;
	uint32_t desc, avail, used;
	uint64_t raw_features; /* with FLAG_RAW_FEATURES: negotiated as is */
	uint32_t reserved2;
} __attribute__((packed));

struct fuzz_reg_op {
	uint16_t offset; /* within the 4 KiB slot */
	uint8_t len;	 /* 1, 2, 4 or 8 (others: 4) */
	uint8_t write;
	uint32_t value;
} __attribute__((packed));

_Static_assert(sizeof(struct fuzz_header) == 32, "fuzz header layout");
_Static_assert(sizeof(struct fuzz_reg_op) == 8, "fuzz register op layout");

static struct {
	struct guest_mem mem;
	struct block_dev *blk;
	struct rng_dev *rng;
	struct virtq_chain chain;
} fz;

static void fuzz_init(void)
{
	struct block_config cfg = {.drive_id = "fuzz", .cache_type = BLOCK_CACHE_WRITEBACK};
	char path[] = "/tmp/ember-fuzz-disk-XXXXXX";
	char err[256];
	int fd;

	log_set_level(LOG_OFF);
	if (guest_mem_create(&fz.mem, FUZZ_RAM))
		abort();
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, FUZZ_DISK))
		abort();
	cfg.path_on_host = path;
	if (block_create(&fz.blk, &cfg, &fz.mem, LAYOUT_VIRTIO_START, 5, err, sizeof(err))) {
		fprintf(stderr, "fuzz: %s\n", err);
		abort();
	}
	unlink(path);
	close(fd);
	if (rng_create(&fz.rng, &fz.mem, LAYOUT_VIRTIO_START + 0x1000, 6))
		abort();
}

static uint64_t fuzz_addr(uint32_t v)
{
	return v % FUZZ_ADDR_SPACE;
}

static void apply_reg_op(struct virtio_mmio_dev *dev, const struct fuzz_reg_op *op)
{
	uint32_t len = op->len == 1 || op->len == 2 || op->len == 8 ? op->len : 4;
	uint8_t data[8] = {0};
	uint64_t offset = op->offset % VIRTIO_MMIO_SLOT_SIZE;

	/* Stay inside the slot, as the bus guarantees. */
	if (offset + len > VIRTIO_MMIO_SLOT_SIZE)
		offset = VIRTIO_MMIO_SLOT_SIZE - len;
	memcpy(data, &op->value, sizeof(op->value));
	if (op->write)
		virtio_mmio_bus_ops.write(dev, offset, data, len);
	else
		virtio_mmio_bus_ops.read(dev, offset, data, len);
}

/* Program the queue the way a driver does, with the fuzzer's values. */
static void bring_up(struct virtio_mmio_dev *dev, const struct fuzz_header *h)
{
	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1);

	if (h->flags & FLAG_EVENT_IDX)
		features |= VIRTIO_BIT(VIRTIO_RING_F_EVENT_IDX);
	if (h->flags & FLAG_INDIRECT)
		features |= VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);
	if (h->flags & FLAG_RAW_FEATURES)
		features = h->raw_features;
	virtio_mmio_driver_negotiate(dev, features);
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_SEL, 0);
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_NUM, h->queue_num);
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)fuzz_addr(h->desc));
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)fuzz_addr(h->avail));
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)fuzz_addr(h->used));
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_READY, 1);
	if (!(h->flags & FLAG_NO_DRIVER_OK))
		virtio_mmio_driver_ok(dev);
}

/* Invariant: whatever the guest wrote, a walked chain only names guest RAM. */
static void check_chain(const struct virtq_chain *c)
{
	uint64_t rd = 0, wr = 0;

	if (c->nr > VIRTQ_MAX_SIZE || c->nr_read > c->nr)
		__builtin_trap();
	for (unsigned int i = 0; i < c->nr; i++) {
		const struct virtq_seg *s = &c->segs[i];

		if (!guest_mem_translate(&fz.mem, s->gpa, s->len) || !s->len)
			__builtin_trap();
		if (s->write != (i >= c->nr_read))
			__builtin_trap();
		*(s->write ? &wr : &rd) += s->len;
	}
	if (rd != c->read_len || wr != c->write_len)
		__builtin_trap();
}

/* The walker and the copy helpers, directly, on every head of the queue. */
static void walk_all_heads(const struct fuzz_header *h)
{
	struct virtq q;
	struct iovec iov[8];
	uint8_t buf[64];

	virtq_init(&q, VIRTQ_MAX_SIZE);
	q.size = h->queue_num;
	q.desc_gpa = fuzz_addr(h->desc) & ~15ULL;
	q.avail_gpa = fuzz_addr(h->avail) & ~1ULL;
	q.used_gpa = fuzz_addr(h->used) & ~3ULL;
	if (virtq_validate(&q, &fz.mem, NULL))
		return;
	virtq_start(&q, h->flags & FLAG_EVENT_IDX, h->flags & FLAG_INDIRECT);
	for (uint32_t head = 0; head < q.size && head < 64; head++) {
		if (virtq_chain_walk(&q, &fz.mem, (uint16_t)head, &fz.chain, NULL))
			continue;
		check_chain(&fz.chain);
		virtq_chain_read(&fz.mem, &fz.chain, head, buf, sizeof(buf));
		virtq_chain_iov(&fz.mem, &fz.chain, true, head, fz.chain.write_len / 2, iov, 8);
		virtq_chain_iov(&fz.mem, &fz.chain, false, 0, fz.chain.read_len, iov, 8);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	struct fuzz_header h;
	struct virtio_mmio_dev *dev;
	size_t ops_len, image_len;
	uint8_t *ram;

	if (!initialised) {
		fuzz_init();
		initialised = 1;
	}
	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	data += sizeof(h);
	size -= sizeof(h);
	if (h.nr_reg_ops > FUZZ_MAX_REGOPS)
		h.nr_reg_ops = FUZZ_MAX_REGOPS;
	ops_len = (size_t)h.nr_reg_ops * sizeof(struct fuzz_reg_op);
	if (ops_len > size)
		ops_len = size - size % sizeof(struct fuzz_reg_op);
	image_len = size - ops_len;
	if (image_len > FUZZ_RAM)
		image_len = FUZZ_RAM;

	ram = guest_mem_translate(&fz.mem, 0, FUZZ_RAM);
	memset(ram, 0, FUZZ_RAM);
	memcpy(ram, data + ops_len, image_len);

	dev = h.flags & FLAG_RNG ? rng_mmio(fz.rng) : block_mmio(fz.blk);
	bring_up(dev, &h);
	for (size_t i = 0; i < ops_len / sizeof(struct fuzz_reg_op); i++) {
		struct fuzz_reg_op op;

		memcpy(&op, data + i * sizeof(op), sizeof(op));
		apply_reg_op(dev, &op);
	}
	for (unsigned int k = 0; k <= h.kicks % 4; k++)
		virtio_mmio_kick(dev, 0);
	walk_all_heads(&h);
	/* Leave the device reset for the next input. */
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_STATUS, 0);
	return 0;
}
