// SPDX-License-Identifier: Apache-2.0
#include "blk.h"
#include "virtio.h"

#define BLK_CONFIG_CAPACITY 0 /* u64 */

bool blk_open(struct blk *blk, struct virtio_dev *dev)
{
	uint64_t wanted = VIRTIO_FEATURE(VIRTIO_BLK_F_RO) | VIRTIO_FEATURE(VIRTIO_BLK_F_FLUSH) |
			  VIRTIO_FEATURE(VIRTIO_F_INDIRECT_DESC);

	blk->dev = dev;
	if (!virtio_init(dev, wanted) || !virtio_setup_queue(dev, 0, &blk->vq))
		return false;
	virtio_driver_ok(dev);
	return true;
}

uint64_t blk_capacity(const struct blk *blk)
{
	return virtio_config_read64(blk->dev, BLK_CONFIG_CAPACITY);
}

int blk_request(struct blk *blk, uint32_t type, uint64_t sector, void *buf, uint32_t len,
		uint32_t *used_len)
{
	uint16_t data_flags = type == VIRTIO_BLK_T_OUT ? 0 : VRING_DESC_F_WRITE;
	struct vring_used_elem used = {0};
	uint16_t next = 1;

	blk->hdr.type = type;
	blk->hdr.reserved = 0;
	blk->hdr.sector = sector;
	blk->status = BLK_STATUS_UNSET;

	virtqueue_set_desc(&blk->vq, 0, (uint64_t)&blk->hdr, sizeof(blk->hdr), VRING_DESC_F_NEXT,
			   1);
	if (len) {
		virtqueue_set_desc(&blk->vq, 1, (uint64_t)buf, len, data_flags | VRING_DESC_F_NEXT,
				   2);
		next = 2;
	}
	virtqueue_set_desc(&blk->vq, next, (uint64_t)&blk->status, 1, VRING_DESC_F_WRITE, 0);
	virtqueue_kick(&blk->vq, 0);

	switch (virtqueue_wait_used(&blk->vq, &used)) {
	case VIRTQUEUE_USED:
		break;
	case VIRTQUEUE_NEEDS_RESET:
		return BLK_NEEDS_RESET;
	default:
		return BLK_NO_COMPLETION;
	}
	if (used_len)
		*used_len = used.len;
	return blk->status;
}
