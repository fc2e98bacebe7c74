/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-mmio transport, version 2 only (virtio 1.x, 4.2.2), driven the
 * way Linux's virtio_mmio driver does, polled rather than interrupt driven.
 * Devices are found like Linux finds them without ACPI/DT: one
 * "virtio_mmio.device=<size>@<base>:<irq>" per device on the command line.
 * The guest runs identity-mapped, so a guest-physical ring address is the
 * address of the static buffer that holds it.
 */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include "types.h"

#define VIRTIO_MAX_DEVICES 32

/* Device IDs (virtio 1.x 5). */
#define VIRTIO_ID_NET	  1
#define VIRTIO_ID_BLOCK	  2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG	  4
#define VIRTIO_ID_BALLOON 5
#define VIRTIO_ID_VSOCK	  19
#define VIRTIO_ID_MEM	  24
#define VIRTIO_ID_PMEM	  27

/* Feature bits every device type shares (virtio 1.x 6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32
#define VIRTIO_FEATURE(bit)    (1UL << (bit))

/* Device status bits (virtio 1.x 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	 0x01
#define VIRTIO_STATUS_DRIVER		 0x02
#define VIRTIO_STATUS_DRIVER_OK		 0x04
#define VIRTIO_STATUS_FEATURES_OK	 0x08
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED		 0x80

struct virtqueue;

struct virtio_dev {
	uint64_t base; /* MMIO slot, guest-physical = virtual */
	uint32_t irq;
	uint32_t device_id;
	uint64_t features; /* negotiated by virtio_init() */
};

/*
 * Find every device announced on @cmdline and print one line for each
 * present one ("virtio-<type> at <base> irq <n> id <id>"), skipping empty
 * slots (DeviceID 0) and reporting slots without a version-2 device.
 * Returns how many were stored in @devs (at most @max).
 */
unsigned int virtio_probe(const char *cmdline, struct virtio_dev *devs, unsigned int max);

/* The first of @n probed devices with @device_id, or NULL. */
struct virtio_dev *virtio_find(struct virtio_dev *devs, unsigned int n, uint32_t device_id);

/* "blk", "net", ... or "unknown". */
const char *virtio_type_name(uint32_t device_id);

/*
 * Reset the device and negotiate features: VERSION_1 (required) plus those
 * of @wanted the device offers; set FEATURES_OK and check the device kept
 * it. Prints why and returns false on failure (status then has FAILED).
 */
bool virtio_init(struct virtio_dev *dev, uint64_t wanted);

/*
 * Program queue @index with @vq's rings (size: the smaller of the device's
 * QueueNumMax and @vq's capacity) and make it ready. False (printed) when
 * the queue does not exist or is already live.
 */
bool virtio_setup_queue(struct virtio_dev *dev, unsigned int index, struct virtqueue *vq);

/* Set DRIVER_OK: the device may use the queues from now on. */
void virtio_driver_ok(struct virtio_dev *dev);

/* Write 0 to Status and wait (bounded) until the device reads back 0. */
void virtio_reset(struct virtio_dev *dev);

uint32_t virtio_status(const struct virtio_dev *dev);
bool virtio_has_feature(const struct virtio_dev *dev, unsigned int bit);

/* QueueNotify for queue @index. */
void virtio_notify(const struct virtio_dev *dev, unsigned int index);

/* Read InterruptStatus and acknowledge every bit in it; returns what was set. */
uint32_t virtio_ack_interrupt(const struct virtio_dev *dev);

/* Device config space at @offset, read consistently under ConfigGeneration. */
uint32_t virtio_config_read32(const struct virtio_dev *dev, uint32_t offset);
uint64_t virtio_config_read64(const struct virtio_dev *dev, uint32_t offset);

#endif
