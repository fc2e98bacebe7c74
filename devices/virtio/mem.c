// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-mem: the block states, the slots shown to KVM and the guest's
 * requests, answered on the queue's thread under the device lock.
 */
#include "devices/virtio/mem.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/base/log.h"
#include "vmm/base/vmstate.h"
#include "devices/virtio/virtio_mmio.h"

#define VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE 1U

struct mem_dev {
	struct virtio_mmio_dev *mmio;
	const struct guest_mem *mem;
	struct mem_geometry g;
	mem_set_slot_fn set_slot;
	void *slot_ctx;
	uint8_t *host;
	bool own_host;	       /* mapped here (else borrowed: mem_create_on()) */
	uint8_t *plugged;      /* one byte per block: 1 plugged */
	uint32_t *slot_blocks; /* plugged blocks per slot */
	uint64_t nr_blocks, nr_slots;
	uint64_t usable_region_size; /* grows with requested_size, shrinks on UNPLUG_ALL */
	uint64_t plugged_size, requested_size;
};

struct mem_req {
	uint16_t type;
	uint16_t padding[3];
	uint64_t addr;
	uint16_t nb_blocks;
	uint16_t padding2[3];
} __attribute__((packed));

struct mem_resp {
	uint16_t type;
	uint16_t padding[3];
	uint16_t state;
} __attribute__((packed));

_Static_assert(sizeof(struct mem_req) == VIRTIO_MEM_REQ_LEN, "virtio_mem_req");
_Static_assert(sizeof(struct mem_resp) == VIRTIO_MEM_RESP_LEN, "virtio_mem_resp");

/* The blocks [@first, @first + @n) of a checked range. */
struct block_range {
	uint64_t first, n;
};

/*
 * A range the guest names: aligned, not empty, inside the usable region,
 * not wrapping. False for anything else (an ERROR answer).
 */
static bool range_of(const struct mem_dev *m, uint64_t addr, uint16_t nb_blocks,
		     struct block_range *r)
{
	uint64_t off, len;

	if (!nb_blocks || addr < m->g.gpa || (addr - m->g.gpa) % m->g.block_size)
		return false;
	off = addr - m->g.gpa;
	len = (uint64_t)nb_blocks * m->g.block_size; /* < 2^16 * VIRTIO_MEM_MAX_REGION */
	if (off >= m->usable_region_size || len > m->usable_region_size - off)
		return false;
	r->first = off / m->g.block_size;
	r->n = nb_blocks;
	return true;
}

static uint16_t range_state(const struct mem_dev *m, const struct block_range *r)
{
	uint64_t plugged = 0;

	for (uint64_t i = r->first; i < r->first + r->n; i++)
		plugged += m->plugged[i];
	if (plugged == r->n)
		return VIRTIO_MEM_STATE_PLUGGED;
	return plugged ? VIRTIO_MEM_STATE_MIXED : VIRTIO_MEM_STATE_UNPLUGGED;
}

static uint64_t blocks_per_slot(const struct mem_dev *m)
{
	return m->g.slot_size / m->g.block_size;
}

static int show_slot(struct mem_dev *m, uint64_t slot, bool show)
{
	uint64_t off = slot * m->g.slot_size;

	return m->set_slot(m->slot_ctx, (uint32_t)slot, m->g.gpa + off, show ? m->g.slot_size : 0,
			   m->host + off);
}

/* Give a block's memory back to the host: it reads as zero when plugged again. */
static void release_block(struct mem_dev *m, uint64_t block)
{
	if (madvise(m->host + block * m->g.block_size, m->g.block_size, MADV_DONTNEED))
		log_error("virtio-mem: madvise(MADV_DONTNEED): %s", strerror(errno));
}

/*
 * Plug or unplug the blocks of @r (all in the other state): the slots that
 * gain their first block are shown to KVM first, those that lose their last
 * one hidden after. 0, or -errno with nothing changed.
 */
static int set_blocks(struct mem_dev *m, const struct block_range *r, bool plug)
{
	uint64_t bps = blocks_per_slot(m);
	uint64_t first_slot = r->first / bps, last_slot = (r->first + r->n - 1) / bps;

	for (uint64_t s = first_slot; plug && s <= last_slot; s++) {
		int ret = m->slot_blocks[s] ? 0 : show_slot(m, s, true);

		if (ret) {
			for (uint64_t u = first_slot; u < s; u++)
				if (!m->slot_blocks[u])
					show_slot(m, u, false);
			return ret;
		}
	}
	for (uint64_t i = r->first; i < r->first + r->n; i++) {
		m->plugged[i] = plug;
		if (plug) {
			m->slot_blocks[i / bps]++;
		} else {
			m->slot_blocks[i / bps]--;
			release_block(m, i);
		}
	}
	for (uint64_t s = first_slot; !plug && s <= last_slot; s++)
		if (!m->slot_blocks[s] && show_slot(m, s, false))
			log_error("virtio-mem: cannot remove the KVM slot of slot %llu",
				  (unsigned long long)s);
	if (plug)
		m->plugged_size += r->n * m->g.block_size;
	else
		m->plugged_size -= r->n * m->g.block_size;
	return 0;
}

static uint16_t do_plug(struct mem_dev *m, const struct block_range *r)
{
	if (range_state(m, r) != VIRTIO_MEM_STATE_UNPLUGGED)
		return VIRTIO_MEM_RESP_ERROR;
	if (m->plugged_size > m->requested_size ||
	    r->n * m->g.block_size > m->requested_size - m->plugged_size)
		return VIRTIO_MEM_RESP_NACK;
	return set_blocks(m, r, true) ? VIRTIO_MEM_RESP_BUSY : VIRTIO_MEM_RESP_ACK;
}

static uint16_t do_unplug(struct mem_dev *m, const struct block_range *r)
{
	if (range_state(m, r) != VIRTIO_MEM_STATE_PLUGGED)
		return VIRTIO_MEM_RESP_ERROR;
	return set_blocks(m, r, false) ? VIRTIO_MEM_RESP_BUSY : VIRTIO_MEM_RESP_ACK;
}

/* Unplug everything; the usable region shrinks back to what requested_size needs. */
static uint16_t do_unplug_all(struct mem_dev *m)
{
	for (uint64_t i = 0; i < m->nr_blocks; i++) {
		struct block_range one = {i, 1};

		if (m->plugged[i])
			set_blocks(m, &one, false);
	}
	m->usable_region_size =
	    (m->requested_size + m->g.slot_size - 1) / m->g.slot_size * m->g.slot_size;
	return VIRTIO_MEM_RESP_ACK;
}

static void answer(struct mem_dev *m, const struct mem_req *req, struct mem_resp *resp)
{
	struct block_range r;
	uint16_t type = le16toh(req->type);

	memset(resp, 0, sizeof(*resp));
	if (type == VIRTIO_MEM_REQ_UNPLUG_ALL) {
		resp->type = htole16(do_unplug_all(m));
		return;
	}
	if (type > VIRTIO_MEM_REQ_STATE ||
	    !range_of(m, le64toh(req->addr), le16toh(req->nb_blocks), &r)) {
		resp->type = htole16(VIRTIO_MEM_RESP_ERROR);
		return;
	}
	if (type == VIRTIO_MEM_REQ_PLUG)
		resp->type = htole16(do_plug(m, &r));
	else if (type == VIRTIO_MEM_REQ_UNPLUG)
		resp->type = htole16(do_unplug(m, &r));
	else
		resp->state = htole16(range_state(m, &r)); /* ACK */
}

static const char *mem_check(const struct virtq_chain *c)
{
	if (c->read_len < VIRTIO_MEM_REQ_LEN)
		return "the request is shorter than 24 bytes";
	if (c->write_len < VIRTIO_MEM_RESP_LEN)
		return "the response buffer is shorter than 10 bytes";
	return NULL;
}

static void mem_process_queue(struct virtio_mmio_dev *dev, unsigned int q)
{
	struct mem_dev *m = virtio_mmio_backend(dev);
	struct virtq_chain *c = &dev->chain;

	while (virtio_mmio_next_chain(dev, q, c) > 0) {
		const char *why = mem_check(c);
		struct mem_resp resp;
		struct mem_req req;

		if (!why && virtq_chain_read(m->mem, c, 0, &req, sizeof(req)) != sizeof(req))
			why = "unreadable request";
		if (why) {
			virtio_mmio_log_guest_error(dev, "malformed request: %s", why);
			virtio_mmio_complete(dev, q, c->head, 0);
			continue;
		}
		answer(m, &req, &resp);
		if (virtq_chain_write(m->mem, c, 0, &resp, sizeof(resp)) != sizeof(resp)) {
			virtio_mmio_complete(dev, q, c->head, 0);
			continue;
		}
		virtio_mmio_complete(dev, q, c->head, sizeof(resp));
	}
	virtio_mmio_signal_used(dev, q);
}

static void mem_config_read(struct virtio_mmio_dev *dev, uint32_t offset, uint8_t *data,
			    uint32_t len)
{
	struct mem_dev *m = virtio_mmio_backend(dev);
	uint8_t cfg[VIRTIO_MEM_CONFIG_SIZE] = {0};
	uint64_t v[5] = {htole64(m->g.gpa), htole64(m->g.region_size),
			 htole64(m->usable_region_size), htole64(m->plugged_size),
			 htole64(m->requested_size)};
	uint64_t bs = htole64(m->g.block_size);

	memcpy(cfg, &bs, 8); /* node_id 0 and padding follow */
	memcpy(cfg + 16, v, sizeof(v));
	memcpy(data, cfg + offset, len);
}

/* ---- snapshots ------------------------------------------------------------ */

/*
 * Saved state: the geometry (checked on restore: the region must be where
 * and how the guest saw it), usable_region_size, plugged_size,
 * requested_size, then the plugged blocks as a blob of one bit per block.
 */
static void put_geometry(struct vmstate_writer *w, const struct mem_geometry *g)
{
	vmstate_put_u64(w, g->gpa);
	vmstate_put_u64(w, g->region_size);
	vmstate_put_u64(w, g->block_size);
	vmstate_put_u64(w, g->slot_size);
}

static int mem_save(struct virtio_mmio_dev *dev, struct vmstate_writer *w)
{
	struct mem_dev *m = virtio_mmio_backend(dev);
	size_t len = (m->nr_blocks + 7) / 8;
	uint8_t *bits = calloc(len, 1);

	if (!bits)
		return -ENOMEM;
	for (uint64_t i = 0; i < m->nr_blocks; i++)
		bits[i / 8] |= (uint8_t)(m->plugged[i] << (i % 8));
	put_geometry(w, &m->g);
	vmstate_put_u64(w, m->usable_region_size);
	vmstate_put_u64(w, m->plugged_size);
	vmstate_put_u64(w, m->requested_size);
	vmstate_put_blob(w, bits, len);
	free(bits);
	return 0;
}

/* The saved sizes against the geometry (equal to ours, checked before). */
static bool sizes_valid(const struct mem_dev *m, uint64_t usable, uint64_t requested)
{
	return usable <= m->g.region_size && usable % m->g.slot_size == 0 &&
	       requested <= m->g.region_size && requested % m->g.block_size == 0;
}

/*
 * Decode the bitmap into @plugged: every block plugged must lie in the
 * usable region, the bits past the last block must be clear and the count
 * must match @plugged_size. 0 or -EINVAL.
 */
static int decode_plugged(const struct mem_dev *m, const uint8_t *bits, uint64_t usable,
			  uint64_t plugged_size, uint8_t *plugged)
{
	uint64_t n = 0, usable_blocks = usable / m->g.block_size;

	for (uint64_t i = 0; i < (m->nr_blocks + 7) / 8 * 8; i++) {
		uint8_t b = (bits[i / 8] >> (i % 8)) & 1;

		if (b && i >= usable_blocks)
			return -EINVAL; /* past the usable region (or the last block) */
		if (i < m->nr_blocks)
			plugged[i] = b;
		n += b;
	}
	return n * m->g.block_size == plugged_size ? 0 : -EINVAL;
}

/* Show every slot that has plugged blocks; on failure hide those shown. */
static int show_plugged_slots(struct mem_dev *m)
{
	for (uint64_t s = 0; s < m->nr_slots; s++) {
		int ret = m->slot_blocks[s] ? show_slot(m, s, true) : 0;

		if (ret) {
			log_error("virtio-mem: cannot restore the KVM slot of slot %llu: %s",
				  (unsigned long long)s, strerror(-ret));
			for (uint64_t u = 0; u < s; u++)
				if (m->slot_blocks[u])
					show_slot(m, u, false);
			return ret;
		}
	}
	return 0;
}

static void count_slot_blocks(struct mem_dev *m)
{
	memset(m->slot_blocks, 0, m->nr_slots * sizeof(*m->slot_blocks));
	for (uint64_t i = 0; i < m->nr_blocks; i++)
		m->slot_blocks[i / blocks_per_slot(m)] += m->plugged[i];
}

/* Into a fresh device (nothing plugged, no slot shown) of the same geometry. */
static int mem_restore(struct virtio_mmio_dev *dev, struct vmstate_reader *r)
{
	struct mem_dev *m = virtio_mmio_backend(dev);
	struct mem_geometry g;
	uint64_t usable, plugged_size, requested;
	size_t len = (m->nr_blocks + 7) / 8;
	const uint8_t *bits;
	size_t blob_len;
	int ret;

	g.gpa = vmstate_get_u64(r);
	g.region_size = vmstate_get_u64(r);
	g.block_size = vmstate_get_u64(r);
	g.slot_size = vmstate_get_u64(r);
	usable = vmstate_get_u64(r);
	plugged_size = vmstate_get_u64(r);
	requested = vmstate_get_u64(r);
	bits = vmstate_get_blob_ref(r, &blob_len);
	if (r->err)
		return r->err;
	/*
	 * Trailing bytes are refused here, not only by the transport after
	 * this returns: by then the slots would be shown to KVM, and a failed
	 * restore must leave the device as fresh as it found it.
	 */
	ret = vmstate_reader_end(r);
	if (ret)
		return ret;
	if (m->plugged_size)
		return -EBUSY; /* only a fresh device: its slots are not shown yet */
	if (memcmp(&g, &m->g, sizeof(g))) {
		log_error(
		    "virtio-mem: the snapshot's region (0x%llx, %llu MiB, blocks of %llu MiB, "
		    "slots of %llu MiB) is not the configured one",
		    (unsigned long long)g.gpa, (unsigned long long)(g.region_size >> 20),
		    (unsigned long long)(g.block_size >> 20),
		    (unsigned long long)(g.slot_size >> 20));
		return -EINVAL;
	}
	if (blob_len != len || !sizes_valid(m, usable, requested) ||
	    decode_plugged(m, bits, usable, plugged_size, m->plugged))
		goto invalid;
	count_slot_blocks(m);
	ret = show_plugged_slots(m);
	if (ret) {
		memset(m->plugged, 0, m->nr_blocks);
		count_slot_blocks(m);
		return ret;
	}
	m->usable_region_size = usable;
	m->plugged_size = plugged_size;
	m->requested_size = requested;
	return 0;
invalid:
	memset(m->plugged, 0, m->nr_blocks);
	log_error("virtio-mem: the snapshot's block states are inconsistent");
	return -EINVAL;
}

static const struct virtio_device_ops mem_ops = {
    .name = "mem",
    .device_id = VIRTIO_ID_MEM,
    .num_queues = 1,
    .queue_max_size = VIRTIO_MEM_QUEUE_SIZE,
    .config_size = VIRTIO_MEM_CONFIG_SIZE,
    .config_read = mem_config_read,
    .process_queue = mem_process_queue,
    .save = mem_save,
    .restore = mem_restore,
};

static bool geometry_valid(const struct mem_geometry *g)
{
	return g->block_size && !(g->block_size & (g->block_size - 1)) && g->slot_size &&
	       g->slot_size % g->block_size == 0 && g->region_size &&
	       g->region_size % g->slot_size == 0 && g->gpa % g->block_size == 0 &&
	       g->region_size <= VIRTIO_MEM_MAX_REGION;
}

/* The region: @host when given (borrowed), else a fresh anonymous mapping. 0 or -errno. */
static int map_region(struct mem_dev *m, void *host)
{
	if (host) {
		m->host = host;
		return 0;
	}
	m->host = mmap(NULL, m->g.region_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->host == MAP_FAILED) {
		m->host = NULL;
		return -errno;
	}
	m->own_host = true;
	return 0;
}

int mem_create_on(struct mem_dev **out, const struct mem_geometry *g, void *host,
		  mem_set_slot_fn set_slot, void *slot_ctx, const struct guest_mem *mem,
		  uint64_t base, uint32_t gsi)
{
	struct mem_dev *m;
	int ret;

	if (!geometry_valid(g))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->g = *g;
	m->mem = mem;
	m->set_slot = set_slot;
	m->slot_ctx = slot_ctx;
	m->nr_blocks = g->region_size / g->block_size;
	m->nr_slots = g->region_size / g->slot_size;
	m->plugged = calloc(m->nr_blocks, 1);
	m->slot_blocks = calloc(m->nr_slots, sizeof(*m->slot_blocks));
	ret = map_region(m, host);
	if (!ret && (!m->plugged || !m->slot_blocks))
		ret = -ENOMEM;
	if (!ret)
		ret = virtio_mmio_create(&m->mmio, &mem_ops, m, mem, base, gsi,
					 VIRTIO_COMMON_FEATURES |
					     VIRTIO_BIT(VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE));
	if (ret) {
		m->mmio = NULL;
		mem_destroy(m);
		return ret;
	}
	*out = m;
	return 0;
}

int mem_create(struct mem_dev **out, const struct mem_geometry *g, mem_set_slot_fn set_slot,
	       void *slot_ctx, const struct guest_mem *mem, uint64_t base, uint32_t gsi)
{
	return mem_create_on(out, g, NULL, set_slot, slot_ctx, mem, base, gsi);
}

void mem_destroy(struct mem_dev *m)
{
	if (!m)
		return;
	if (m->mmio)
		virtio_mmio_destroy(m->mmio);
	if (m->host && m->own_host)
		munmap(m->host, m->g.region_size);
	free(m->plugged);
	free(m->slot_blocks);
	free(m);
}

struct virtio_mmio_dev *mem_mmio(struct mem_dev *m)
{
	return m->mmio;
}

void mem_status(struct mem_dev *m, struct mem_status *out)
{
	virtio_mmio_lock(m->mmio);
	*out = (struct mem_status){m->g.block_size, m->g.region_size, m->g.slot_size,
				   m->plugged_size, m->requested_size};
	virtio_mmio_unlock(m->mmio);
}

int mem_set_requested(struct mem_dev *m, uint64_t requested)
{
	int ret = 0;

	virtio_mmio_lock(m->mmio);
	if (!m->mmio->activated) {
		ret = -EAGAIN;
	} else if (requested % m->g.block_size || requested > m->g.region_size) {
		ret = -EINVAL;
	} else {
		if (m->usable_region_size < requested)
			m->usable_region_size =
			    (requested + m->g.slot_size - 1) / m->g.slot_size * m->g.slot_size;
		m->requested_size = requested;
		virtio_mmio_config_changed(m->mmio);
	}
	virtio_mmio_unlock(m->mmio);
	return ret;
}

uint64_t mem_region_size(const struct mem_dev *m)
{
	return m->g.region_size;
}

int mem_for_each_plugged(struct mem_dev *m, mem_run_fn fn, void *ctx)
{
	int ret = 0;

	virtio_mmio_lock(m->mmio);
	for (uint64_t i = 0; !ret && i < m->nr_blocks;) {
		uint64_t j = i;

		while (j < m->nr_blocks && m->plugged[j])
			j++;
		if (j > i)
			ret = fn(ctx, i * m->g.block_size, m->host + i * m->g.block_size,
				 (j - i) * m->g.block_size);
		i = j + 1;
	}
	virtio_mmio_unlock(m->mmio);
	return ret;
}
