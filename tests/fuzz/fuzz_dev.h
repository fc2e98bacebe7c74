/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the multi-queue device fuzz targets (net, vsock, rng) share: the input
 * is a hostile guest plus, for devices with a host side, what the host sends.
 *
 * Input layout (little-endian):
 *   struct fuzz_dev_header                      64 bytes
 *   struct fuzz_dev_reg_op[nr_reg_ops]          8 bytes each (at most 16)
 *   uint32_t host_len, then host_len bytes      the host side's data (target-defined)
 *   guest memory image, copied to guest-physical 0
 * A short input is cut where it ends: missing parts are empty.
 */
#ifndef EMBER_FUZZ_DEV_H
#define EMBER_FUZZ_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"

struct virtio_mmio_dev;

#define FUZZ_DEV_RAM	    (1 * MIB)
#define FUZZ_DEV_MAX_QUEUES 3
#define FUZZ_DEV_MAX_REGOPS 16

/* fuzz_dev_header.flags */
#define FUZZ_DEV_NO_DRIVER_OK 0x01 /* leave the device unactivated */
#define FUZZ_DEV_RAW_FEATURES 0x02 /* negotiate features as is (else VERSION_1 is added) */
#define FUZZ_DEV_LIMITER      0x04 /* a rate limiter that refuses every other request */
#define FUZZ_DEV_RESET_FIRST  0x08 /* target-defined extra: see each target */

struct fuzz_dev_queue {
	uint16_t num;
	uint8_t ready; /* bit 0 clear: leave QUEUE_READY at 0 */
	uint8_t reserved;
	uint32_t desc, avail, used;
} __attribute__((packed));

struct fuzz_dev_header {
	uint8_t flags;
	uint8_t nr_reg_ops;
	uint8_t kicks;	      /* each bit i (of 8): kick queue (i % nr_queues) */
	uint8_t target_flags; /* per target */
	uint32_t reserved;
	uint64_t features;
	struct fuzz_dev_queue q[FUZZ_DEV_MAX_QUEUES];
} __attribute__((packed));

struct fuzz_dev_reg_op {
	uint16_t offset; /* within the 4 KiB slot */
	uint8_t len;	 /* 1, 2, 4 or 8 (others: 4) */
	uint8_t write;
	uint32_t value;
} __attribute__((packed));

_Static_assert(sizeof(struct fuzz_dev_header) == 64, "fuzz header layout");
_Static_assert(sizeof(struct fuzz_dev_reg_op) == 8, "fuzz register op layout");

struct fuzz_dev_input {
	struct fuzz_dev_header h;
	const uint8_t *ops; /* nr_ops packed register ops */
	size_t nr_ops;
	const uint8_t *host;
	size_t host_len;
	const uint8_t *image;
	size_t image_len;
};

/* Split @data; false when it is shorter than the header. */
bool fuzz_dev_parse(const uint8_t *data, size_t size, struct fuzz_dev_input *in);

/* Zero guest RAM (FUZZ_DEV_RAM bytes) and copy the image to guest-physical 0. */
void fuzz_dev_load_image(struct guest_mem *mem, const struct fuzz_dev_input *in);

/* Negotiate, program @nr_queues queues with the input's values, DRIVER_OK, register ops. */
void fuzz_dev_bring_up(struct virtio_mmio_dev *dev, const struct fuzz_dev_input *in,
		       unsigned int nr_queues);

/* The kicks the input asks for, on @nr_queues queues. */
void fuzz_dev_kicks(struct virtio_mmio_dev *dev, const struct fuzz_dev_input *in,
		    unsigned int nr_queues);

/* A limiter hook refusing every other call when the input has FUZZ_DEV_LIMITER. */
bool fuzz_dev_limiter(void *ctx, uint64_t bytes, uint64_t ops);

/* Driver reset: the device is ready for the next input. */
void fuzz_dev_reset(struct virtio_mmio_dev *dev);

#endif
