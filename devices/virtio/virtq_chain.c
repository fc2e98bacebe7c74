// SPDX-License-Identifier: Apache-2.0
/*
 * Descriptor chains: walking a chain the guest built (direct descriptors,
 * optionally ending in one indirect table) into a bounded segment list, and
 * copying between host buffers and the chain's bytes.
 *
 * Each descriptor is copied out of guest memory once and only the copy is
 * examined, so a guest rewriting the table while we walk it can only produce
 * a chain that fails validation, never one that escapes it.
 */
#include "devices/virtio/virtq.h"

#include <errno.h>
#include <linux/virtio_ring.h>
#include <string.h>

#define DESC_BYTES sizeof(struct vring_desc)

static int chain_fail(const char **why, const char *msg, int err)
{
	if (why)
		*why = msg;
	return err;
}

static int chain_add(const struct virtq *q, const struct guest_mem *mem, const struct vring_desc *d,
		     struct virtq_chain *chain, const char **why)
{
	bool write = d->flags & VRING_DESC_F_WRITE;
	uint64_t total;
	struct virtq_seg *seg;

	/* Bounds the walk: a loop runs into this as surely as a long chain. */
	if (chain->nr >= q->size || chain->nr >= VIRTQ_MAX_SIZE)
		return chain_fail(why, "descriptor chain longer than the queue size", -ELOOP);
	if (d->len == 0)
		return chain_fail(why, "zero-length descriptor", -EINVAL);
	if (!guest_mem_translate(mem, d->addr, d->len))
		return chain_fail(why, "descriptor buffer outside guest RAM", -EFAULT);
	if (!write && chain->nr > chain->nr_read)
		return chain_fail(why, "device-readable descriptor after a writable one", -EINVAL);

	total = (uint64_t)(write ? chain->write_len : chain->read_len) + d->len;
	if (total > UINT32_MAX)
		return chain_fail(why, "descriptor chain longer than 4 GiB", -E2BIG);
	if (write) {
		chain->write_len = (uint32_t)total;
	} else {
		chain->read_len = (uint32_t)total;
		chain->nr_read++;
	}
	seg = &chain->segs[chain->nr++];
	seg->gpa = d->addr;
	seg->len = d->len;
	seg->write = write;
	return 0;
}

/* The chain's last descriptor points at a table of further descriptors. */
static int chain_walk_indirect(const struct virtq *q, const struct guest_mem *mem,
			       const struct vring_desc *ind, struct virtq_chain *chain,
			       const char **why)
{
	uint64_t entries;
	uint16_t idx = 0;
	struct vring_desc d;

	if (!q->indirect)
		return chain_fail(why, "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC",
				  -EINVAL);
	if (ind->flags & VRING_DESC_F_NEXT)
		return chain_fail(why, "indirect descriptor with NEXT set", -EINVAL);
	if (ind->len == 0 || ind->len % DESC_BYTES)
		return chain_fail(why, "indirect table length not a non-zero multiple of 16",
				  -EINVAL);
	if (!guest_mem_translate(mem, ind->addr, ind->len))
		return chain_fail(why, "indirect table outside guest RAM", -EFAULT);
	entries = ind->len / DESC_BYTES;

	for (;;) {
		int ret;

		if (idx >= entries)
			return chain_fail(why, "indirect next index out of range", -EINVAL);
		/* In range: the whole table was checked above, so no sum can wrap. */
		if (guest_mem_read(mem, ind->addr + (uint64_t)idx * DESC_BYTES, &d, sizeof(d)))
			return chain_fail(why, "indirect table outside guest RAM", -EFAULT);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return chain_fail(why, "indirect descriptor inside an indirect table",
					  -EINVAL);
		ret = chain_add(q, mem, &d, chain, why);
		if (ret)
			return ret;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		idx = d.next;
	}
}

int virtq_chain_walk(const struct virtq *q, const struct guest_mem *mem, uint16_t head,
		     struct virtq_chain *chain, const char **why)
{
	uint16_t idx = head;
	struct vring_desc d;

	chain->head = head;
	chain->nr = chain->nr_read = 0;
	chain->read_len = chain->write_len = 0;

	for (;;) {
		int ret;

		if (idx >= q->size)
			return chain_fail(why, "descriptor index out of range", -EINVAL);
		if (guest_mem_read(mem, q->desc_gpa + (uint64_t)idx * DESC_BYTES, &d, sizeof(d)))
			return chain_fail(why, "descriptor table outside guest RAM", -EFAULT);
		/* Zero or more direct descriptors, then at most one indirect (2.7.5.3.2). */
		if (d.flags & VRING_DESC_F_INDIRECT)
			return chain_walk_indirect(q, mem, &d, chain, why);
		ret = chain_add(q, mem, &d, chain, why);
		if (ret)
			return ret;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		idx = d.next;
	}
}

/* Segment range [first, end) of the readable or the writable part. */
static void chain_part(const struct virtq_chain *chain, bool write, unsigned int *first,
		       unsigned int *end)
{
	*first = write ? chain->nr_read : 0;
	*end = write ? chain->nr : chain->nr_read;
}

static size_t chain_copy(const struct guest_mem *mem, const struct virtq_chain *chain, bool write,
			 uint64_t offset, void *buf, size_t len)
{
	unsigned int i, end;
	size_t done = 0;

	chain_part(chain, write, &i, &end);
	for (; i < end && done < len; i++) {
		const struct virtq_seg *seg = &chain->segs[i];
		size_t n;
		uint8_t *p;

		if (offset >= seg->len) {
			offset -= seg->len;
			continue;
		}
		n = seg->len - offset;
		if (n > len - done)
			n = len - done;
		p = guest_mem_translate(mem, seg->gpa + offset, n);
		if (!p)
			break;
		if (write)
			memcpy(p, (const uint8_t *)buf + done, n);
		else
			memcpy((uint8_t *)buf + done, p, n);
		done += n;
		offset = 0;
	}
	return done;
}

size_t virtq_chain_read(const struct guest_mem *mem, const struct virtq_chain *chain,
			uint64_t offset, void *buf, size_t len)
{
	return chain_copy(mem, chain, false, offset, buf, len);
}

size_t virtq_chain_write(const struct guest_mem *mem, const struct virtq_chain *chain,
			 uint64_t offset, const void *buf, size_t len)
{
	/* chain_copy() only reads @buf when copying towards the guest. */
	return chain_copy(mem, chain, true, offset, (void *)buf, len);
}

int virtq_chain_iov(const struct guest_mem *mem, const struct virtq_chain *chain, bool write,
		    uint64_t offset, uint64_t len, struct iovec *iov, unsigned int max)
{
	unsigned int i, end, nr = 0;

	chain_part(chain, write, &i, &end);
	for (; i < end && len; i++) {
		const struct virtq_seg *seg = &chain->segs[i];
		uint64_t n;
		void *p;

		if (offset >= seg->len) {
			offset -= seg->len;
			continue;
		}
		if (nr == max)
			return -ENOSPC;
		n = seg->len - offset;
		if (n > len)
			n = len;
		p = guest_mem_translate(mem, seg->gpa + offset, n);
		if (!p)
			return -EFAULT;
		iov[nr].iov_base = p;
		iov[nr].iov_len = n;
		nr++;
		len -= n;
		offset = 0;
	}
	return len ? -EFAULT : (int)nr;
}
