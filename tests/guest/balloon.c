// SPDX-License-Identifier: Apache-2.0
#include "balloon.h"

#include "io.h"
#include "print.h"
#include "reset.h"
#include "string.h"
#include "virtio.h"
#include "virtio_scenarios.h"
#include "virtqueue.h"

#define BALLOON_PAGES	     8
#define BALLOON_FULL	     256 /* frames in one buffer: the most the device takes (Linux's) */
#define BALLOON_TOO_MANY     300 /* frames in one buffer: more than the device takes */
#define BALLOON_CFG_ACTUAL   4
#define BALLOON_F_STATS_VQ   1
#define BALLOON_STAT_MEMFREE 4
#define BALLOON_STAT_MEMTOT  5
#define BALLOON_FILL	     0xa5
/* Config reads before giving up on a new target (each is a VM exit). */
#define BALLOON_TARGET_POLLS 20000000UL

static uint8_t pages[BALLOON_PAGES][4096] __aligned(4096);
static uint32_t pfns[BALLOON_TOO_MANY];
static struct virtqueue inflate_vq, deflate_vq, stats_vq;

/* Two packed {le16 tag; le64 val} records. */
static uint8_t stats[20];

static unsigned int zeroed_pages(void)
{
	unsigned int n = 0;

	for (unsigned int p = 0; p < BALLOON_PAGES; p++) {
		bool zero = true;

		for (unsigned int i = 0; i < 4096; i++)
			zero = zero && pages[p][i] == 0;
		n += zero;
	}
	return n;
}

/* One readable buffer of @n frames on @vq; false when the device does not return it. */
static bool send_frames(struct virtqueue *vq, unsigned int n)
{
	struct vring_used_elem used;

	virtqueue_set_desc(vq, 0, (uint64_t)pfns, n * 4, 0, 0);
	virtqueue_kick(vq, 0);
	return virtqueue_wait_used(vq, &used) == VIRTQUEUE_USED;
}

static void put_stat(unsigned int i, uint16_t tag, uint64_t val)
{
	memcpy(stats + i * 10, &tag, 2);
	memcpy(stats + i * 10 + 2, &val, 8);
}

static __noreturn void fail(const char *why)
{
	print_str("balloon: ");
	print_str(why);
	print_str("\n");
	machine_reset();
}

static bool wait_for_new_target(struct virtio_dev *dev, uint32_t first)
{
	for (unsigned long i = 0; i < BALLOON_TARGET_POLLS; i++) {
		uint32_t target = virtio_config_read32(dev, 0);

		if (target != first) {
			print_str("balloon: target ");
			print_dec(target);
			print_str(" pages\n");
			return true;
		}
	}
	print_str("balloon: no new target\n");
	return false;
}

/*
 * Fill our pages, inflate them all, and report how many read back zero. The
 * buffer is full, as Linux's are (256 frames: each page many times, then a
 * frame far outside RAM the device must skip), which makes the device sort
 * 1 KiB of frames.
 */
static void inflate_all(const char *what)
{
	memset(pages, BALLOON_FILL, sizeof(pages));
	for (unsigned int i = 0; i < BALLOON_FULL - 1; i++)
		pfns[i] = (uint32_t)((uint64_t)pages[(i * 3) % BALLOON_PAGES] >> 12);
	pfns[BALLOON_FULL - 1] = 0xffffffff;
	if (!send_frames(&inflate_vq, BALLOON_FULL))
		fail("inflate not completed");
	print_str("balloon: ");
	print_str(what);
	print_str(" ");
	print_dec(BALLOON_PAGES);
	print_str(" pages, zeroed ");
	print_dec(zeroed_pages());
	print_str("\n");
}

void scenario_balloon(const char *cmdline)
{
	struct virtio_dev *dev = virtio_probe_first(cmdline, VIRTIO_ID_BALLOON, "balloon");
	uint32_t target;
	bool has_stats;

	if (!dev)
		machine_reset();
	if (!virtio_init(dev, VIRTIO_FEATURE(BALLOON_F_STATS_VQ)) ||
	    !virtio_setup_queue(dev, 0, &inflate_vq) || !virtio_setup_queue(dev, 1, &deflate_vq))
		fail("init failed");
	has_stats = virtio_has_feature(dev, BALLOON_F_STATS_VQ);
	if (has_stats && !virtio_setup_queue(dev, 2, &stats_vq))
		fail("init failed");
	virtio_driver_ok(dev);
	target = virtio_config_read32(dev, 0);
	print_str("balloon: num_pages ");
	print_dec(target);
	print_str("\n");

	inflate_all("inflated");
	mmio_write32(dev->base + 0x100 + BALLOON_CFG_ACTUAL, BALLOON_PAGES);

	/* Too many frames in one buffer: refused whole, the page keeps its bytes. */
	pages[0][0] = BALLOON_FILL;
	for (unsigned int i = 0; i < BALLOON_TOO_MANY; i++)
		pfns[i] = (uint32_t)((uint64_t)pages[0] >> 12);
	if (!send_frames(&inflate_vq, BALLOON_TOO_MANY))
		fail("oversized buffer not returned");
	print_str(pages[0][0] == BALLOON_FILL ? "balloon: oversized buffer refused\n"
					      : "balloon: oversized buffer used\n");

	/* Deflate: the pages are ours again and hold what we write. */
	for (unsigned int p = 0; p < BALLOON_PAGES; p++)
		pfns[p] = (uint32_t)((uint64_t)pages[p] >> 12);
	if (!send_frames(&deflate_vq, BALLOON_PAGES))
		fail("deflate not completed");
	memset(pages, 0x5a, sizeof(pages));
	print_str(pages[BALLOON_PAGES - 1][4095] == 0x5a ? "balloon: deflated\n"
							 : "balloon: deflate broken\n");

	if (has_stats) {
		put_stat(0, BALLOON_STAT_MEMFREE, 0x1000000);
		put_stat(1, BALLOON_STAT_MEMTOT, 0x8000000);
		virtqueue_set_desc(&stats_vq, 0, (uint64_t)stats, sizeof(stats), 0, 0);
		virtqueue_kick(&stats_vq, 0);
	}
	print_str("balloon: waiting for a new target\n");
	/* Again once the host moved the target (after a snapshot restore, say). */
	if (wait_for_new_target(dev, target))
		inflate_all("reinflated");
	machine_reset();
}
