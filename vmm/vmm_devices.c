// SPDX-License-Identifier: Apache-2.0
/*
 * Creation, wiring and teardown of the virtio-mmio devices (see
 * vmm_devices.h for the slot layout and order). A device is counted in
 * d->nr as soon as it exists, so a failure half-way leaves everything built
 * so far for vmm_devices_teardown().
 */
#include "vmm/vmm_devices.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/bus.h"
#include "vmm/kvm/kvm_vm.h"
#include "vmm/base/errmsg.h"
#include "vmm/mem/layout.h"
#include "vmm/base/log.h"
#include "devices/mmds/mmds.h"
#include "devices/rate_limiter.h"
#include "devices/virtio/balloon.h"
#include "devices/virtio/block.h"
#include "devices/virtio/net.h"
#include "devices/virtio/pmem.h"
#include "devices/virtio/mem.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/vsock.h"
#include "devices/virtio/vsock.h"

#define DEVICE_NOT_FOUND "Failed to find the device on the bus."

static uint64_t slot_base(unsigned int slot)
{
	return LAYOUT_VIRTIO_START + slot * LAYOUT_VIRTIO_STRIDE;
}

static uint32_t slot_gsi(unsigned int slot)
{
	return LAYOUT_IRQ_BASE + slot;
}

void vmm_devices_init(struct vmm_devices *d)
{
	memset(d, 0, sizeof(*d));
}

/* ---- wiring ---------------------------------------------------------------- */

/* The transport on the MMIO bus, ioeventfds, irqfd, eventfds on the VMM loop. */
static int device_wire(struct vmm_devices *d, struct vmm_device *v, char *err, size_t errlen)
{
	uint64_t base = virtio_mmio_base(v->mmio);
	uint32_t gsi = virtio_mmio_gsi(v->mmio);
	int ret;

	ret = bus_register(d->env.mmio_bus, base, VIRTIO_MMIO_SLOT_SIZE, &virtio_mmio_bus_ops,
			   v->mmio);
	for (unsigned int q = 0; !ret && q < virtio_mmio_num_queues(v->mmio); q++)
		ret = kvm_vm_add_ioeventfd(d->env.vm, base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, q,
					   virtio_mmio_queue_notify_fd(v->mmio, q));
	if (!ret)
		ret = kvm_vm_add_irqfd(d->env.vm, gsi, virtio_mmio_irq_fd(v->mmio));
	if (!ret)
		ret = virtio_mmio_attach(v->mmio, d->env.loop);
	if (ret)
		err_set(err, errlen, 0,
			"Cannot attach the virtio device at 0x%" PRIx64 " (GSI %" PRIu32 "): %s",
			base, gsi, strerror(-ret));
	return ret;
}

/*
 * Limiter @i of @v from @cfg (NULL: no limits yet), resuming queue @queue when
 * its timer fires. The hook for the device is *@hook.
 */
static int device_add_limiter(struct vmm_devices *d, struct vmm_device *v, unsigned int i,
			      unsigned int queue, const struct rate_limiter_config *cfg,
			      struct virtio_limiter *hook, char *err, size_t errlen)
{
	struct rate_limiter *rl = calloc(1, sizeof(*rl));
	int ret;

	if (!rl) {
		err_set(err, errlen, 0, "Cannot create RateLimiter: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	ret = rate_limiter_init(rl, cfg);
	if (ret) {
		free(rl);
		err_set(err, errlen, 0, "Cannot create RateLimiter: %s", strerror(-ret));
		return ret;
	}
	v->limiters[i] = rl;
	ret = rate_limiter_attach(rl, d->env.loop, v->mmio, queue);
	if (ret) {
		err_set(err, errlen, 0, "Cannot create RateLimiter: %s", strerror(-ret));
		return ret;
	}
	*hook = rate_limiter_hook(rl);
	return 0;
}

static const struct rate_limiter_config *limiter_cfg(bool has, const struct rate_limiter_config *rl)
{
	return has ? rl : NULL;
}

/* The next slot for a device of @type and @id; NULL id for unnamed devices. */
static struct vmm_device *slot_claim(struct vmm_devices *d, enum vmm_device_type type,
				     const char *id, void *dev, struct virtio_mmio_dev *mmio)
{
	struct vmm_device *v = &d->devs[d->nr++];

	v->type = type;
	v->dev = dev;
	v->mmio = mmio;
	v->id = id ? strdup(id) : NULL;
	return v;
}

/* ---- the devices ----------------------------------------------------------- */

static int add_block(struct vmm_devices *d, const struct drive_config *dc, char *err, size_t errlen)
{
	struct block_config bc = {
	    .drive_id = dc->drive_id,
	    .path_on_host = dc->path_on_host,
	    .is_read_only = dc->is_read_only,
	    .cache_type = dc->cache_type == DRIVE_CACHE_WRITEBACK ? BLOCK_CACHE_WRITEBACK
								  : BLOCK_CACHE_UNSAFE,
	    .io_engine = dc->io_engine == DRIVE_IO_ASYNC ? BLOCK_IO_ASYNC : BLOCK_IO_SYNC,
	};
	struct virtio_limiter hook;
	struct block_dev *blk;
	struct vmm_device *v;
	char why[512] = "";
	int ret;

	ret = block_create(&blk, &bc, d->env.mem, slot_base(d->nr), slot_gsi(d->nr), why,
			   sizeof(why));
	if (ret) {
		err_set(err, errlen, 0, "Cannot create the block device %s: %s", dc->drive_id, why);
		return ret;
	}
	v = slot_claim(d, VMM_DEV_BLOCK, dc->drive_id, blk, block_mmio(blk));
	if (!v->id) {
		err_set(err, errlen, 0, "Cannot create the block device %s: %s", dc->drive_id,
			strerror(ENOMEM));
		return -ENOMEM;
	}
	ret = device_add_limiter(d, v, 0, 0, limiter_cfg(dc->has_rate_limiter, &dc->rate_limiter),
				 &hook, err, errlen);
	if (ret)
		return ret;
	block_set_limiter(blk, &hook);
	return device_wire(d, v, err, errlen);
}

/* ---- virtio-net (engineer B's device) ---- */
static int add_net(struct vmm_devices *d, const struct net_config *nc, char *err, size_t errlen)
{
	struct virtio_limiter rx, tx;
	struct net_dev *net;
	struct vmm_device *v;
	char why[512] = "";
	int ret;

	ret = net_create(&net, nc, d->env.mem, slot_base(d->nr), slot_gsi(d->nr), why, sizeof(why));
	if (ret) {
		err_set(err, errlen, 0, "Cannot create the network device %s: %s", nc->iface_id,
			why);
		return ret;
	}
	v = slot_claim(d, VMM_DEV_NET, nc->iface_id, net, net_mmio(net));
	if (!v->id) {
		err_set(err, errlen, 0, "Cannot create the network device %s: %s", nc->iface_id,
			strerror(ENOMEM));
		return -ENOMEM;
	}
	/* Its frames for the MMDS address go to MMDS rather than the tap. */
	if (d->env.mmds && mmds_attached(d->env.mmds, nc->iface_id)) {
		ret = net_attach_mmds(net, d->env.mmds);
		if (ret) {
			err_set(err, errlen, 0, "Cannot create the network device %s: %s",
				nc->iface_id, strerror(-ret));
			return ret;
		}
	}
	ret = device_add_limiter(d, v, 0, NET_RX_QUEUE,
				 limiter_cfg(nc->has_rx_rate_limiter, &nc->rx_rate_limiter), &rx,
				 err, errlen);
	if (!ret)
		ret = device_add_limiter(d, v, 1, NET_TX_QUEUE,
					 limiter_cfg(nc->has_tx_rate_limiter, &nc->tx_rate_limiter),
					 &tx, err, errlen);
	if (ret)
		return ret;
	net_set_limiters(net, &rx, &tx);
	return device_wire(d, v, err, errlen);
}

/* ---- virtio-vsock (engineer C's device) ---- */
static int add_vsock(struct vmm_devices *d, const struct vsock_config *vc, char *err, size_t errlen)
{
	struct vsock_dev *vs;
	struct vmm_device *v;
	char why[512] = "";
	int ret;

	ret =
	    vsock_create(&vs, vc, d->env.mem, slot_base(d->nr), slot_gsi(d->nr), why, sizeof(why));
	if (ret) {
		err_set(err, errlen, 0, "Cannot create the vsock device: %s", why);
		return ret;
	}
	v = slot_claim(d, VMM_DEV_VSOCK, NULL, vs, vsock_mmio(vs));
	return device_wire(d, v, err, errlen);
}

static int add_rng(struct vmm_devices *d, const struct entropy_config *ec, char *err, size_t errlen)
{
	struct virtio_limiter hook;
	struct rng_dev *rng;
	struct vmm_device *v;
	int ret;

	ret = rng_create(&rng, d->env.mem, slot_base(d->nr), slot_gsi(d->nr));
	if (ret) {
		err_set(err, errlen, 0, "Cannot create the entropy device: %s", strerror(-ret));
		return ret;
	}
	v = slot_claim(d, VMM_DEV_RNG, NULL, rng, rng_mmio(rng));
	ret = device_add_limiter(d, v, 0, 0, limiter_cfg(ec->has_rate_limiter, &ec->rate_limiter),
				 &hook, err, errlen);
	if (ret)
		return ret;
	rng_set_limiter(rng, &hook);
	return device_wire(d, v, err, errlen);
}

/*
 * KVM slot of the pmem region @i: after the RAM slots. Its region goes above
 * RAM and the 32-bit MMIO hole (nothing else is mapped there, and it is not
 * in the e820 map: Linux finds it through the device's config space), each
 * region PMEM_ALIGN-aligned after the previous one.
 */
static uint32_t pmem_slot(unsigned int i)
{
	return GUEST_MEM_MAX_REGIONS + i;
}

static int add_pmem(struct vmm_devices *d, const struct pmem_config *pc, char *err, size_t errlen)
{
	struct virtio_limiter hook;
	struct pmem_dev *p;
	struct vmm_device *v;
	char why[512] = "";
	int ret;

	if (!d->pmem_next_gpa) {
		uint64_t end = guest_mem_end(d->env.mem);

		d->pmem_next_gpa = pmem_aligned_size(end > LAYOUT_4G ? end : LAYOUT_4G);
	}
	ret = pmem_create(&p, pc->path_on_host, pc->read_only, d->pmem_next_gpa, d->env.mem,
			  slot_base(d->nr), slot_gsi(d->nr), why, sizeof(why));
	if (ret) {
		err_set(err, errlen, 0, "Cannot create pmem device: %s", why);
		return ret;
	}
	v = slot_claim(d, VMM_DEV_PMEM, pc->id, p, pmem_mmio(p));
	if (!v->id) {
		err_set(err, errlen, 0, "Cannot create pmem device: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	ret = kvm_vm_set_slot(d->env.vm, pmem_slot(d->nr_pmems), pmem_gpa(p), pmem_region_size(p),
			      pmem_host(p), pc->read_only);
	if (ret) {
		err_set(err, errlen, 0,
			"Cannot create pmem device: Cannot set the memory regions: %s",
			strerror(-ret));
		return ret;
	}
	d->nr_pmems++;
	d->pmem_next_gpa += pmem_region_size(p);
	ret = device_add_limiter(d, v, 0, 0, limiter_cfg(pc->has_rate_limiter, &pc->rate_limiter),
				 &hook, err, errlen);
	if (ret)
		return ret;
	pmem_set_limiter(p, &hook);
	return device_wire(d, v, err, errlen);
}

/*
 * The virtio-mem region goes above RAM, 4 GiB and the pmem regions, aligned
 * to Linux's x86 memory block size (128 MiB) and to a block; its slots are
 * KVM slots after the pmem ones, made as the guest plugs blocks.
 */
#define MEM_LINUX_BLOCK (128ULL << 20)
#define MEM_REGION_END	(1ULL << 46) /* within any x86-64 guest's physical address width */

static uint32_t mem_slot(uint32_t index)
{
	return GUEST_MEM_MAX_REGIONS + VMM_MAX_VIRTIO_DEVICES + index;
}

static int mem_set_slot(void *ctx, uint32_t index, uint64_t gpa, uint64_t size, void *host)
{
	return kvm_vm_set_slot(ctx, mem_slot(index), gpa, size, host, false);
}

static int add_mem(struct vmm_devices *d, const struct memory_hotplug_config *mc, char *err,
		   size_t errlen)
{
	uint64_t end = guest_mem_end(d->env.mem), align;
	struct mem_geometry g = {
	    .region_size = mc->total_size_mib << 20,
	    .block_size = mc->block_size_mib << 20,
	    .slot_size = mc->slot_size_mib << 20,
	};
	struct mem_dev *m;
	int ret;

	if (end < LAYOUT_4G)
		end = LAYOUT_4G;
	if (d->pmem_next_gpa > end)
		end = d->pmem_next_gpa;
	/* Both powers of 2: the larger is a multiple of the other. */
	align = g.block_size > MEM_LINUX_BLOCK ? g.block_size : MEM_LINUX_BLOCK;
	g.gpa = (end + align - 1) / align * align;
	if (g.gpa > MEM_REGION_END || g.region_size > MEM_REGION_END - g.gpa) {
		err_set(err, errlen, 0,
			"Failed to create memory hotplug device: no room for a %llu MiB region",
			(unsigned long long)mc->total_size_mib);
		return -ENOSPC;
	}
	/* A region mapped beforehand must be this one: both come from the same MHPL section. */
	if (d->env.mem_host && d->env.mem_host_size != g.region_size)
		ret = -EINVAL;
	else
		ret = mem_create_on(&m, &g, d->env.mem_host, mem_set_slot, d->env.vm, d->env.mem,
				    slot_base(d->nr), slot_gsi(d->nr));
	if (ret) {
		err_set(err, errlen, 0, "Failed to create memory hotplug device: %s",
			strerror(-ret));
		return ret;
	}
	slot_claim(d, VMM_DEV_MEM, NULL, m, mem_mmio(m));
	return device_wire(d, &d->devs[d->nr - 1], err, errlen);
}

static int add_balloon(struct vmm_devices *d, const struct balloon_config *bc, char *err,
		       size_t errlen)
{
	struct balloon_dev *b;
	struct vmm_device *v;
	int ret;

	ret = balloon_create(&b, bc, d->env.mem, slot_base(d->nr), slot_gsi(d->nr));
	if (ret) {
		err_set(err, errlen, 0, "Cannot create the balloon device: %s", strerror(-ret));
		return ret;
	}
	v = slot_claim(d, VMM_DEV_BALLOON, NULL, b, balloon_mmio(b));
	return device_wire(d, v, err, errlen);
}

int vmm_devices_setup(struct vmm_devices *d, const struct vmm_device_env *env,
		      const struct vm_config *cfg, char *err, size_t errlen)
{
	unsigned int wanted = cfg->nr_drives + cfg->nr_nets + cfg->nr_pmems + cfg->has_vsock +
			      cfg->has_entropy + cfg->has_balloon + cfg->has_memory_hotplug;
	int ret = 0;

	d->env = *env;
	if (wanted > VMM_MAX_VIRTIO_DEVICES) {
		err_set(err, errlen, 0,
			"Too many virtio devices: %u configured, at most %u (one GSI each, %u-%u)",
			wanted, VMM_MAX_VIRTIO_DEVICES, LAYOUT_IRQ_BASE,
			LAYOUT_IRQ_BASE + VMM_MAX_VIRTIO_DEVICES - 1);
		return -ENOSPC;
	}
	for (unsigned int i = 0; !ret && i < cfg->nr_drives; i++)
		ret = add_block(d, &cfg->drives[i], err, errlen);
	for (unsigned int i = 0; !ret && i < cfg->nr_nets; i++)
		ret = add_net(d, &cfg->nets[i], err, errlen);
	for (unsigned int i = 0; !ret && i < cfg->nr_pmems; i++)
		ret = add_pmem(d, &cfg->pmems[i], err, errlen);
	if (!ret && cfg->has_vsock)
		ret = add_vsock(d, &cfg->vsock, err, errlen);
	if (!ret && cfg->has_entropy)
		ret = add_rng(d, &cfg->entropy, err, errlen);
	if (!ret && cfg->has_balloon)
		ret = add_balloon(d, &cfg->balloon, err, errlen);
	if (!ret && cfg->has_memory_hotplug)
		ret = add_mem(d, &cfg->memory_hotplug, err, errlen);
	return ret;
}

/* ---- kernel command line --------------------------------------------------- */

/* Append " @arg" (no space when @out is empty). */
static bool cmdline_add(char *out, size_t len, const char *arg)
{
	size_t used = strlen(out);
	int n = snprintf(out + used, len - used, "%s%s", used ? " " : "", arg);

	return n >= 0 && (size_t)n < len - used;
}

/* Firecracker's root= and ro/rw for the root drive. */
static bool cmdline_add_root(char *out, size_t len, const struct drive_config *dc)
{
	char root[VMM_CMDLINE_MAX];

	if (dc->partuuid)
		snprintf(root, sizeof(root), "root=PARTUUID=%s", dc->partuuid);
	else
		snprintf(root, sizeof(root), "root=/dev/vda");
	return cmdline_add(out, len, root) && cmdline_add(out, len, dc->is_read_only ? "ro" : "rw");
}

int vmm_devices_cmdline(const struct vmm_devices *d, const struct vm_config *cfg, const char *base,
			bool mmio_args, char *out, size_t len, char *err, size_t errlen)
{
	size_t cap = len < VMM_CMDLINE_MAX ? len : VMM_CMDLINE_MAX;
	char arg[64], root[32];
	unsigned int pmem = 0;
	bool fits = cap > 0;

	if (fits)
		out[0] = '\0';
	fits = fits && cmdline_add(out, cap, base);
	for (unsigned int i = 0; fits && i < d->nr; i++) {
		const struct vmm_device *v = &d->devs[i];

		/* Drives take the first slots, in configuration order. */
		if (v->type == VMM_DEV_BLOCK && i < cfg->nr_drives && cfg->drives[i].is_root_device)
			fits = cmdline_add_root(out, cap, &cfg->drives[i]);
		/* Firecracker's root=/dev/pmem<N> and ro/rw, N counting pmem devices. */
		if (v->type == VMM_DEV_PMEM && pmem < cfg->nr_pmems &&
		    cfg->pmems[pmem++].root_device) {
			snprintf(root, sizeof(root), "root=/dev/pmem%u", pmem - 1);
			fits = fits && cmdline_add(out, cap, root) &&
			       cmdline_add(out, cap, cfg->pmems[pmem - 1].read_only ? "ro" : "rw");
		}
		if (!mmio_args)
			continue;
		fits = fits &&
		       virtio_mmio_cmdline_arg(virtio_mmio_base(v->mmio), virtio_mmio_gsi(v->mmio),
					       arg, sizeof(arg)) > 0 &&
		       cmdline_add(out, cap, arg);
	}
	if (fits)
		return 0;
	err_set(err, errlen, 0,
		"Invalid kernel command line: Inserting string would make command line too long "
		"(the %u virtio devices do not fit in %u bytes).",
		d->nr, VMM_CMDLINE_MAX);
	return -E2BIG;
}

/* ---- teardown -------------------------------------------------------------- */

static void device_destroy(struct vmm_device *v)
{
	/* The limiters point at the device: they go first. */
	for (unsigned int i = 0; i < VMM_DEVICE_MAX_LIMITERS; i++) {
		if (v->limiters[i]) {
			rate_limiter_destroy(v->limiters[i]);
			free(v->limiters[i]);
		}
	}
	switch (v->type) {
	case VMM_DEV_BLOCK:
		block_destroy(v->dev);
		break;
	case VMM_DEV_NET:
		net_destroy(v->dev);
		break;
	case VMM_DEV_RNG:
		rng_destroy(v->dev);
		break;
	case VMM_DEV_VSOCK:
		vsock_destroy(v->dev);
		break;
	case VMM_DEV_BALLOON:
		balloon_destroy(v->dev);
		break;
	case VMM_DEV_PMEM:
		pmem_destroy(v->dev);
		break;
	case VMM_DEV_MEM:
		mem_destroy(v->dev);
		break;
	}
	free(v->id);
	memset(v, 0, sizeof(*v));
}

void vmm_devices_teardown(struct vmm_devices *d)
{
	/*
	 * The pmem KVM slots stay: the VM is destroyed right after (vmm.c), no
	 * vCPU runs in between, and KVM drops its view of a mapping that goes
	 * away. Deleting them would be one more ioctl under the VMM filter.
	 */
	d->nr_pmems = 0;
	d->pmem_next_gpa = 0;
	while (d->nr)
		device_destroy(&d->devs[--d->nr]);
}

/* ---- pause ----------------------------------------------------------------- */

void vmm_devices_pause(struct vmm_devices *d)
{
	for (unsigned int i = 0; i < d->nr; i++) {
		struct vmm_device *v = &d->devs[i];

		if (v->mmio)
			virtio_mmio_pause(v->mmio);
		for (unsigned int l = 0; l < VMM_DEVICE_MAX_LIMITERS; l++)
			if (v->limiters[l])
				rate_limiter_pause(v->limiters[l]);
	}
}

void vmm_devices_resume(struct vmm_devices *d)
{
	for (unsigned int i = 0; i < d->nr; i++) {
		struct vmm_device *v = &d->devs[i];

		/* The limiters first: resuming the device retries what they held back. */
		for (unsigned int l = 0; l < VMM_DEVICE_MAX_LIMITERS; l++)
			if (v->limiters[l])
				rate_limiter_resume(v->limiters[l]);
		if (v->mmio)
			virtio_mmio_resume(v->mmio);
	}
}

/* ---- PATCH ----------------------------------------------------------------- */

static struct vmm_device *device_find(struct vmm_devices *d, enum vmm_device_type type,
				      const char *id)
{
	for (unsigned int i = 0; i < d->nr; i++)
		if (d->devs[i].type == type && d->devs[i].id && !strcmp(d->devs[i].id, id))
			return &d->devs[i];
	return NULL;
}

int vmm_devices_update_drive(struct vmm_devices *d, const struct drive_update *u, char *err,
			     size_t errlen)
{
	struct vmm_device *v = device_find(d, VMM_DEV_BLOCK, u->drive_id);
	int ret;

	if (!v) {
		err_set(err, errlen, 0, DEVICE_NOT_FOUND);
		return -ENODEV;
	}
	if (u->path_on_host) {
		ret = block_update_backing(v->dev, u->path_on_host, err, errlen);
		if (ret)
			return ret;
		log_info("Drive %s now backed by %s", u->drive_id, u->path_on_host);
	}
	if (u->has_rate_limiter)
		rate_limiter_update(v->limiters[0], &u->rate_limiter);
	return 0;
}

int vmm_devices_update_net(struct vmm_devices *d, const struct net_update *u, char *err,
			   size_t errlen)
{
	struct vmm_device *v = device_find(d, VMM_DEV_NET, u->iface_id);

	if (!v) {
		err_set(err, errlen, 0, DEVICE_NOT_FOUND);
		return -ENODEV;
	}
	if (u->has_rx_rate_limiter)
		rate_limiter_update(v->limiters[0], &u->rx_rate_limiter);
	if (u->has_tx_rate_limiter)
		rate_limiter_update(v->limiters[1], &u->tx_rate_limiter);
	return 0;
}

int vmm_devices_update_pmem(struct vmm_devices *d, const struct pmem_update *u, char *err,
			    size_t errlen)
{
	struct vmm_device *v = device_find(d, VMM_DEV_PMEM, u->id);

	if (!v) {
		err_set(err, errlen, 0, DEVICE_NOT_FOUND);
		return -ENODEV;
	}
	if (u->has_rate_limiter)
		rate_limiter_update(v->limiters[0], &u->rate_limiter);
	return 0;
}

struct balloon_dev *vmm_devices_balloon(struct vmm_devices *d)
{
	for (unsigned int i = 0; i < d->nr; i++)
		if (d->devs[i].type == VMM_DEV_BALLOON)
			return d->devs[i].dev;
	return NULL;
}

struct mem_dev *vmm_devices_mem(struct vmm_devices *d)
{
	for (unsigned int i = 0; i < d->nr; i++)
		if (d->devs[i].type == VMM_DEV_MEM)
			return d->devs[i].dev;
	return NULL;
}
