// SPDX-License-Identifier: Apache-2.0
/*
 * Prints, one per line: `mem: block <hex> addr <hex> region <hex> usable
 * <hex> plugged <hex> requested <hex>`, `mem: waiting for requested_size`,
 * `mem: requested <hex>`, `mem: <what> resp <n> state <n> len <n>` per
 * request, `mem: data ok` (or `mem: data BAD`), `mem: waiting for 0`, and
 * `mem: plugged <hex>` at the end, then resets.
 */
#include "io.h"
#include "mem.h"
#include "paging.h"
#include "print.h"
#include "reset.h"
#include "string.h"
#include "virtio.h"
#include "virtio_scenarios.h"
#include "virtqueue.h"

#define CFG_BLOCK     0U
#define CFG_ADDR      16U
#define CFG_REGION    24U
#define CFG_USABLE    32U
#define CFG_PLUGGED   40U
#define CFG_REQUESTED 48U
#define REQ_PLUG      0U
#define REQ_UNPLUG    1U
#define REQ_STATE     3U
#define WAIT_POLLS    20000000UL

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

static struct virtqueue vq;
static struct mem_req req __aligned(8);
static struct mem_resp resp __aligned(8);

static void request(const char *what, uint16_t type, uint64_t addr, uint16_t nb, uint32_t req_len)
{
	struct vring_used_elem used = {0};
	long len = -1;

	req = (struct mem_req){.type = type, .addr = addr, .nb_blocks = nb};
	resp = (struct mem_resp){.type = 0xeeee, .state = 0xeeee};
	virtqueue_set_desc(&vq, 0, (uint64_t)&req, req_len, VRING_DESC_F_NEXT, 1);
	virtqueue_set_desc(&vq, 1, (uint64_t)&resp, sizeof(resp), VRING_DESC_F_WRITE, 0);
	virtqueue_kick(&vq, 0);
	if (virtqueue_wait_used(&vq, &used) == VIRTQUEUE_USED)
		len = (long)used.len;
	print_str("mem: ");
	print_str(what);
	print_str(" resp ");
	print_dec(resp.type);
	print_str(" state ");
	print_dec(resp.state);
	print_str(" len ");
	print_dec((uint64_t)len);
	print_str("\n");
}

/* Poll requested_size until it is (@nonzero) or is not 0; false on timeout. */
static bool wait_requested(struct virtio_dev *dev, bool nonzero)
{
	for (unsigned long i = 0; i < WAIT_POLLS; i++) {
		uint64_t r = virtio_config_read64(dev, CFG_REQUESTED);

		if ((r != 0) == nonzero)
			return true;
		__asm__ volatile("pause");
	}
	print_str("mem: timed out\n");
	return false;
}

static void show_config(struct virtio_dev *dev)
{
	static const struct {
		const char *name;
		uint32_t off;
	} fields[] = {{"block", CFG_BLOCK},	{"addr", CFG_ADDR},
		      {"region", CFG_REGION},	{"usable", CFG_USABLE},
		      {"plugged", CFG_PLUGGED}, {"requested", CFG_REQUESTED}};

	print_str("mem:");
	for (unsigned int i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		print_str(" ");
		print_str(fields[i].name);
		print_str(" ");
		print_hex(virtio_config_read64(dev, fields[i].off));
	}
	print_str("\n");
}

static void write_and_check(uint64_t addr, uint64_t len)
{
	volatile uint64_t *p = (volatile uint64_t *)addr;
	bool ok = true;

	for (uint64_t i = 0; i < len / 8; i += 512)
		p[i] = 0x6d656d0000000000ULL ^ i;
	for (uint64_t i = 0; i < len / 8; i += 512)
		ok &= p[i] == (0x6d656d0000000000ULL ^ i);
	print_str(ok ? "mem: data ok\n" : "mem: data BAD\n");
}

void scenario_mem(const char *cmdline)
{
	struct virtio_dev *dev = virtio_probe_first(cmdline, VIRTIO_ID_MEM, "mem");
	uint64_t block, addr, usable;

	if (!dev || !virtio_init(dev, 0) || !virtio_setup_queue(dev, 0, &vq)) {
		if (dev)
			print_str("mem: init failed\n");
		machine_reset();
	}
	virtio_driver_ok(dev);
	show_config(dev);
	block = virtio_config_read64(dev, CFG_BLOCK);
	addr = virtio_config_read64(dev, CFG_ADDR);
	request("state", REQ_STATE, addr, 1, sizeof(req));
	print_str("mem: waiting for requested_size\n");
	if (!wait_requested(dev, true))
		machine_reset();
	print_str("mem: requested ");
	print_hex(virtio_config_read64(dev, CFG_REQUESTED));
	print_str("\n");
	usable = virtio_config_read64(dev, CFG_USABLE);
	request("plug outside", REQ_PLUG, addr + usable, 1, sizeof(req));
	request("plug unaligned", REQ_PLUG, addr + 4096, 1, sizeof(req));
	request("plug too much", REQ_PLUG, addr, 2, sizeof(req));
	request("plug", REQ_PLUG, addr, 1, sizeof(req));
	request("state", REQ_STATE, addr, 1, sizeof(req));
	request("plug again", REQ_PLUG, addr, 1, sizeof(req));
	if (!paging_map_high(addr, block)) {
		print_str("mem: cannot map the block\n");
		machine_reset();
	}
	write_and_check(addr, block);
	print_str("mem: waiting for 0\n");
	if (!wait_requested(dev, false))
		machine_reset();
	request("unplug", REQ_UNPLUG, addr, 1, sizeof(req));
	request("state", REQ_STATE, addr, 1, sizeof(req));
	request("unplug again", REQ_UNPLUG, addr, 1, sizeof(req));
	request("short", REQ_STATE, addr, 1, 8);
	print_str("mem: plugged ");
	print_hex(virtio_config_read64(dev, CFG_PLUGGED));
	print_str("\n");
	machine_reset();
}

#define PATTERN 0x736e617000000000ULL /* "snap" */

/* Poll requested_size until it differs from @old; the host may pause and restore meanwhile. */
static bool wait_requested_change(struct virtio_dev *dev, uint64_t old)
{
	for (unsigned long i = 0; i < 50 * WAIT_POLLS; i++) {
		if (virtio_config_read64(dev, CFG_REQUESTED) != old)
			return true;
		__asm__ volatile("pause");
	}
	print_str("mem-snap: timed out\n");
	return false;
}

/* One word per 4 KiB page, each its own value: a page lost or misplaced shows. */
static void fill(uint64_t addr, uint64_t len)
{
	volatile uint64_t *p = (volatile uint64_t *)addr;

	for (uint64_t i = 0; i < len / 8; i += 512)
		p[i] = PATTERN ^ i;
}

static bool check(uint64_t addr, uint64_t len)
{
	volatile uint64_t *p = (volatile uint64_t *)addr;
	bool ok = true;

	for (uint64_t i = 0; i < len / 8; i += 512)
		ok &= p[i] == (PATTERN ^ i);
	return ok;
}

static bool zero(uint64_t addr, uint64_t len)
{
	volatile uint64_t *p = (volatile uint64_t *)addr;
	bool ok = true;

	for (uint64_t i = 0; i < len / 8; i += 512)
		ok &= p[i] == 0;
	return ok;
}

static void print_hex_line(const char *what, uint64_t v)
{
	print_str(what);
	print_hex(v);
	print_str("\n");
}

void scenario_mem_snap(const char *cmdline)
{
	struct virtio_dev *dev = virtio_probe_first(cmdline, VIRTIO_ID_MEM, "mem");
	uint64_t block, addr, size;

	if (!dev || !virtio_init(dev, 0) || !virtio_setup_queue(dev, 0, &vq)) {
		if (dev)
			print_str("mem-snap: init failed\n");
		machine_reset();
	}
	virtio_driver_ok(dev);
	block = virtio_config_read64(dev, CFG_BLOCK);
	addr = virtio_config_read64(dev, CFG_ADDR);
	print_str("mem-snap: waiting for requested_size\n");
	if (!wait_requested(dev, true))
		machine_reset();
	size = virtio_config_read64(dev, CFG_REQUESTED);
	request("plug", REQ_PLUG, addr, (uint16_t)(size / block), sizeof(req));
	if (!paging_map_high(addr, size + block)) {
		print_str("mem-snap: cannot map the blocks\n");
		machine_reset();
	}
	fill(addr, size);
	print_hex_line("mem-snap: written ", size);
	if (!wait_requested_change(dev, size))
		machine_reset();
	print_str(check(addr, size) ? "mem-snap: data ok\n" : "mem-snap: data BAD\n");
	request("state", REQ_STATE, addr, (uint16_t)(size / block), sizeof(req));
	request("plug more", REQ_PLUG, addr + size, 1, sizeof(req));
	request("unplug", REQ_UNPLUG, addr, (uint16_t)(size / block + 1), sizeof(req));
	/* An unplugged block was given back: plugged again it reads zero, not the pattern. */
	request("replug", REQ_PLUG, addr, 1, sizeof(req));
	print_str(zero(addr, block) ? "mem-snap: zero after replug\n" : "mem-snap: replug BAD\n");
	request("unplug replugged", REQ_UNPLUG, addr, 1, sizeof(req));
	print_hex_line("mem-snap: plugged ", virtio_config_read64(dev, CFG_PLUGGED));
	machine_reset();
}
