/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A polling virtio-blk driver (virtio 1.x 5.2): one request queue, one
 * request at a time, each a chain of header (device-readable), data (either
 * direction, absent for FLUSH) and status byte (device-writable).
 */
#ifndef GUEST_BLK_H
#define GUEST_BLK_H

#include "types.h"
#include "virtio.h"
#include "virtqueue.h"

#define BLK_SECTOR_SIZE 512
#define BLK_ID_BYTES	20

/* Request types and status values. */
#define VIRTIO_BLK_T_IN	    0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

/* Feature bits the driver accepts when offered. */
#define VIRTIO_BLK_F_RO	   5
#define VIRTIO_BLK_F_FLUSH 9

/* blk_request() results that are not a status byte. */
#define BLK_NO_COMPLETION (-1)
#define BLK_NEEDS_RESET	  (-2)

/* The status byte before the device writes it: tells "untouched" from any real status. */
#define BLK_STATUS_UNSET 0xff

struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk {
	struct virtio_dev *dev;
	struct virtqueue vq;
	struct virtio_blk_req_hdr hdr;
	volatile uint8_t status;
};

/* Initialise @dev (a virtio-blk) and its request queue; the device is live after. */
bool blk_open(struct blk *blk, struct virtio_dev *dev);

/* Capacity in 512-byte sectors (config space). */
uint64_t blk_capacity(const struct blk *blk);

/*
 * Run one request of @type on @sector with @len bytes at @buf (device-
 * writable for IN and GET_ID, readable for OUT; FLUSH takes none) and wait
 * for it. Returns the status byte the device wrote (BLK_STATUS_UNSET if it
 * wrote none), BLK_NO_COMPLETION or BLK_NEEDS_RESET; @used_len (optional)
 * gets the used length.
 */
int blk_request(struct blk *blk, uint32_t type, uint64_t sector, void *buf, uint32_t len,
		uint32_t *used_len);

#endif
