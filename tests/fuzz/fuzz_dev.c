// SPDX-License-Identifier: Apache-2.0
/*
 * Input splitting and device bring-up shared by the device fuzz targets; see
 * fuzz_dev.h for the input layout.
 */
#include "tests/fuzz/fuzz_dev.h"

#include <stdbool.h>
#include <string.h>

#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtq_driver.h"

/* Addresses a little past RAM stay reachable: the device must refuse them. */
#define FUZZ_DEV_ADDR_SPACE (FUZZ_DEV_RAM + 0x10000)

static size_t take(const uint8_t **data, size_t *size, size_t want)
{
	size_t n = want < *size ? want : *size;

	*data += n;
	*size -= n;
	return n;
}

bool fuzz_dev_parse(const uint8_t *data, size_t size, struct fuzz_dev_input *in)
{
	uint32_t host_len = 0;
	size_t ops_len;

	if (size < sizeof(in->h))
		return false;
	memcpy(&in->h, data, sizeof(in->h));
	take(&data, &size, sizeof(in->h));
	if (in->h.nr_reg_ops > FUZZ_DEV_MAX_REGOPS)
		in->h.nr_reg_ops = FUZZ_DEV_MAX_REGOPS;
	in->ops = data;
	ops_len = take(&data, &size, (size_t)in->h.nr_reg_ops * sizeof(struct fuzz_dev_reg_op));
	in->nr_ops = ops_len / sizeof(struct fuzz_dev_reg_op);
	if (size >= sizeof(host_len))
		memcpy(&host_len, data, sizeof(host_len));
	take(&data, &size, sizeof(host_len));
	in->host = data;
	in->host_len = take(&data, &size, host_len);
	in->image = data;
	in->image_len = size < FUZZ_DEV_RAM ? size : FUZZ_DEV_RAM;
	return true;
}

void fuzz_dev_load_image(struct guest_mem *mem, const struct fuzz_dev_input *in)
{
	uint8_t *ram = guest_mem_translate(mem, 0, FUZZ_DEV_RAM);

	memset(ram, 0, FUZZ_DEV_RAM);
	memcpy(ram, in->image, in->image_len);
}

static void apply_reg_op(struct virtio_mmio_dev *dev, const struct fuzz_dev_reg_op *op)
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

static void setup_queue(struct virtio_mmio_dev *dev, unsigned int q,
			const struct fuzz_dev_queue *fq)
{
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_SEL, q);
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_NUM, fq->num);
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, fq->desc % FUZZ_DEV_ADDR_SPACE);
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_AVAIL_LOW, fq->avail % FUZZ_DEV_ADDR_SPACE);
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_USED_LOW, fq->used % FUZZ_DEV_ADDR_SPACE);
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_QUEUE_READY, fq->ready & 1);
}

void fuzz_dev_bring_up(struct virtio_mmio_dev *dev, const struct fuzz_dev_input *in,
		       unsigned int nr_queues)
{
	uint64_t features = in->h.features;

	if (!(in->h.flags & FUZZ_DEV_RAW_FEATURES))
		features |= VIRTIO_BIT(VIRTIO_F_VERSION_1);
	virtio_mmio_driver_negotiate(dev, features);
	for (unsigned int q = 0; q < nr_queues && q < FUZZ_DEV_MAX_QUEUES; q++)
		setup_queue(dev, q, &in->h.q[q]);
	if (!(in->h.flags & FUZZ_DEV_NO_DRIVER_OK))
		virtio_mmio_driver_ok(dev);
	for (size_t i = 0; i < in->nr_ops; i++) {
		struct fuzz_dev_reg_op op;

		memcpy(&op, in->ops + i * sizeof(op), sizeof(op));
		apply_reg_op(dev, &op);
	}
}

void fuzz_dev_kicks(struct virtio_mmio_dev *dev, const struct fuzz_dev_input *in,
		    unsigned int nr_queues)
{
	for (unsigned int i = 0; i < 8; i++) {
		if (in->h.kicks & (1U << i))
			virtio_mmio_kick(dev, i % nr_queues);
	}
}

bool fuzz_dev_limiter(void *ctx, uint64_t bytes, uint64_t ops)
{
	unsigned int *calls = ctx;

	(void)bytes;
	(void)ops;
	return (*calls)++ % 2 == 0;
}

void fuzz_dev_reset(struct virtio_mmio_dev *dev)
{
	virtio_mmio_driver_write(dev, VIRTIO_MMIO_STATUS, 0);
}
