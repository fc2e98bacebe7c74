// SPDX-License-Identifier: Apache-2.0
/*
 * Split virtqueue rings: the avail ring the driver fills, the used ring the
 * device fills, and the event-index fields that suppress notifications and
 * interrupts. Descriptor chains are walked in virtq_chain.c.
 *
 * Memory ordering follows the virtio spec (2.7.13) and Linux's virtio_ring:
 *  - read avail->idx, then an acquire fence, then the ring entries it covers;
 *  - write the used element, a release fence, then used->idx;
 *  - publish used->idx (resp. avail_event), a full fence, then read
 *    used_event/flags (resp. avail->idx again): store-load ordering, so that
 *    device and driver cannot both miss each other's update.
 */
#include "devices/virtio/virtq.h"

#include <errno.h>
#include <linux/virtio_ring.h>
#include <stdatomic.h>
#include <string.h>

#include "vmm/base/vmstate.h"

/* Field offsets inside the rings. */
#define AVAIL_FLAGS   0
#define AVAIL_IDX     2
#define AVAIL_RING(i) (4ULL + 2ULL * (i))
#define USED_IDX      2
#define USED_RING(i)  (4ULL + 8ULL * (i))

/*
 * 16-bit ring fields are naturally aligned (the ring bases are validated), so
 * one atomic access reads or writes them whole even while the guest races.
 */
static int ring_load16(const struct guest_mem *mem, uint64_t gpa, uint16_t *val)
{
	uint16_t *p = guest_mem_translate(mem, gpa, sizeof(*p));

	if (!p)
		return -EFAULT;
	*val = __atomic_load_n(p, __ATOMIC_RELAXED);
	return 0;
}

static int ring_store16(const struct guest_mem *mem, uint64_t gpa, uint16_t val)
{
	uint16_t *p = guest_mem_translate(mem, gpa, sizeof(*p));

	if (!p)
		return -EFAULT;
	__atomic_store_n(p, val, __ATOMIC_RELAXED);
	return 0;
}

void virtq_init(struct virtq *q, uint16_t max_size)
{
	memset(q, 0, sizeof(*q));
	q->max_size = max_size;
	q->size = max_size;
}

static bool ring_in_ram(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	return guest_mem_translate(mem, gpa, len) != NULL;
}

int virtq_validate(const struct virtq *q, const struct guest_mem *mem, const char **why)
{
	const char *err = NULL;
	uint32_t n = q->size;

	if (n == 0 || n > q->max_size || (n & (n - 1)))
		err = "queue size is not a power of two within QueueNumMax";
	else if (q->desc_gpa % 16 || q->avail_gpa % 2 || q->used_gpa % 4)
		err = "ring address misaligned";
	else if (!ring_in_ram(mem, q->desc_gpa, VIRTQ_DESC_SIZE(n)))
		err = "descriptor table outside guest RAM";
	else if (!ring_in_ram(mem, q->avail_gpa, VIRTQ_AVAIL_SIZE(n)))
		err = "available ring outside guest RAM";
	else if (!ring_in_ram(mem, q->used_gpa, VIRTQ_USED_SIZE(n)))
		err = "used ring outside guest RAM";
	if (why)
		*why = err;
	return err ? -EINVAL : 0;
}

void virtq_start(struct virtq *q, bool event_idx, bool indirect)
{
	q->event_idx = event_idx;
	q->indirect = indirect;
	q->last_avail_idx = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->ready = true;
}

int virtq_avail_pending(const struct virtq *q, const struct guest_mem *mem, uint16_t *pending)
{
	uint16_t avail_idx;
	int ret = ring_load16(mem, q->avail_gpa + AVAIL_IDX, &avail_idx);

	if (ret)
		return ret;
	*pending = (uint16_t)(avail_idx - q->last_avail_idx);
	return 0;
}

int virtq_pop(struct virtq *q, const struct guest_mem *mem, uint16_t *head, const char **why)
{
	uint16_t pending, slot, h;

	if (virtq_avail_pending(q, mem, &pending)) {
		if (why)
			*why = "available ring outside guest RAM";
		return -EIO;
	}
	if (pending == 0)
		return 0;
	/* More than a ring's worth outstanding: the driver corrupted avail->idx. */
	if (pending > q->size) {
		if (why)
			*why = "available index ran ahead by more than the queue size";
		return -EIO;
	}
	/* Entries are read only after the index that covers them. */
	atomic_thread_fence(memory_order_acquire);
	slot = q->last_avail_idx % q->size;
	if (ring_load16(mem, q->avail_gpa + AVAIL_RING(slot), &h)) {
		if (why)
			*why = "available ring outside guest RAM";
		return -EIO;
	}
	if (h >= q->size) {
		if (why)
			*why = "available head index out of range";
		return -EIO;
	}
	q->last_avail_idx++;
	*head = h;
	return 1;
}

void virtq_unpop(struct virtq *q)
{
	q->last_avail_idx--;
}

int virtq_push_used(struct virtq *q, const struct guest_mem *mem, uint16_t head, uint32_t len)
{
	struct vring_used_elem elem = {.id = head, .len = len};
	uint64_t slot;
	int ret;

	if (!q->size || q->size > VIRTQ_MAX_SIZE)
		return -EINVAL; /* never started */
	slot = q->used_idx % q->size;
	ret = guest_mem_write(mem, q->used_gpa + USED_RING(slot), &elem, sizeof(elem));
	if (ret)
		return ret;
	/* The element must be visible before the index that publishes it. */
	atomic_thread_fence(memory_order_release);
	ret = ring_store16(mem, q->used_gpa + USED_IDX, (uint16_t)(q->used_idx + 1));
	if (ret)
		return ret;
	q->used_idx++;
	return 0;
}

bool virtq_need_interrupt(struct virtq *q, const struct guest_mem *mem)
{
	uint16_t old = q->signalled_used, new = q->used_idx, v;

	q->signalled_used = new;
	if (old == new)
		return false;
	/* used->idx store before the used_event/flags load. */
	atomic_thread_fence(memory_order_seq_cst);
	if (q->event_idx) {
		if (ring_load16(mem, q->avail_gpa + AVAIL_RING(q->size), &v))
			return true;
		return vring_need_event(v, new, old);
	}
	if (ring_load16(mem, q->avail_gpa + AVAIL_FLAGS, &v))
		return true;
	return !(v & VRING_AVAIL_F_NO_INTERRUPT);
}

bool virtq_enable_notify(struct virtq *q, const struct guest_mem *mem)
{
	uint16_t pending;

	if (q->event_idx && ring_store16(mem, q->used_gpa + USED_RING(q->size), q->last_avail_idx))
		return false;
	/* avail_event store before re-reading avail->idx. */
	atomic_thread_fence(memory_order_seq_cst);
	if (virtq_avail_pending(q, mem, &pending))
		return false;
	return pending != 0;
}

void virtq_save(const struct virtq *q, struct vmstate_writer *w)
{
	vmstate_put_u16(w, q->max_size);
	vmstate_put_u32(w, q->size);
	vmstate_put_bool(w, q->ready);
	vmstate_put_u64(w, q->desc_gpa);
	vmstate_put_u64(w, q->avail_gpa);
	vmstate_put_u64(w, q->used_gpa);
	vmstate_put_bool(w, q->event_idx);
	vmstate_put_bool(w, q->indirect);
	vmstate_put_u16(w, q->last_avail_idx);
	vmstate_put_u16(w, q->used_idx);
	vmstate_put_u16(w, q->signalled_used);
}

int virtq_read_saved(struct virtq *q, struct vmstate_reader *r)
{
	memset(q, 0, sizeof(*q));
	q->max_size = vmstate_get_u16(r);
	q->size = vmstate_get_u32(r);
	q->ready = vmstate_get_bool(r);
	q->desc_gpa = vmstate_get_u64(r);
	q->avail_gpa = vmstate_get_u64(r);
	q->used_gpa = vmstate_get_u64(r);
	q->event_idx = vmstate_get_bool(r);
	q->indirect = vmstate_get_bool(r);
	q->last_avail_idx = vmstate_get_u16(r);
	q->used_idx = vmstate_get_u16(r);
	q->signalled_used = vmstate_get_u16(r);
	return r->err;
}

int virtq_restore(struct virtq *q, struct vmstate_reader *r, const struct guest_mem *mem)
{
	struct virtq saved;
	int ret = virtq_read_saved(&saved, r);

	if (ret)
		return ret;
	/* Another device model (a different max size) or a layout that is not RAM. */
	if (saved.max_size != q->max_size || (saved.ready && virtq_validate(&saved, mem, NULL)))
		return -EINVAL;
	*q = saved;
	return 0;
}
