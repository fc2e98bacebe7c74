/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-balloon (PUT /balloon), as Firecracker offers it. Queues, in this
 * order and only those enabled: inflate, deflate, statistics
 * (stats_polling_interval_s > 0: VIRTIO_BALLOON_F_STATS_VQ), free page
 * hinting (VIRTIO_BALLOON_F_FREE_PAGE_HINT), free page reporting
 * (VIRTIO_BALLOON_F_REPORTING); VIRTIO_BALLOON_F_DEFLATE_ON_OOM when asked.
 * Config space: num_pages (the target, device-written), actual (written by
 * the driver), free_page_hint_cmd_id.
 *
 * Inflated, hinted and reported pages go back to the host
 * (guest_mem_discard()); deflated pages need nothing: the guest touches them
 * again and the host provides zeroed memory. The statistics buffer is held
 * by the device and given back every stats_polling_interval_s seconds (a
 * timerfd on the VMM loop), which makes the driver refill it with fresh
 * values. The API entry points run on the VMM thread and take the device
 * lock; they fill @err with Firecracker's VmmError text.
 */
#ifndef EMBER_VIRTIO_BALLOON_H
#define EMBER_VIRTIO_BALLOON_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/config/params.h"
#include "vmm/config/vmm_config.h"
#include "vmm/mem/guest_mem.h"
#include "devices/virtio/virtio.h"

#define BALLOON_QUEUE_SIZE    256U
#define BALLOON_MAX_PFNS      256U /* PFNs in one inflate/deflate buffer (Linux: 256) */
#define BALLOON_PFN_SHIFT     12U
#define BALLOON_PAGES_PER_MIB 256U
#define BALLOON_STAT_SIZE     10U  /* packed {le16 tag; le64 val} */
#define BALLOON_MAX_STATS     256U /* tags in one statistics buffer, as Firecracker */
#define BALLOON_CONFIG_SIZE   12U
#define BALLOON_HINT_CMD_STOP 0U
#define BALLOON_HINT_CMD_DONE 1U

struct balloon_dev;
struct virtio_mmio_dev;

int balloon_create(struct balloon_dev **out, const struct balloon_config *cfg,
		   const struct guest_mem *mem, uint64_t base, uint32_t gsi);
void balloon_destroy(struct balloon_dev *b);
struct virtio_mmio_dev *balloon_mmio(struct balloon_dev *b);

/* PATCH /balloon: new target (the driver must be up). 0, -EAGAIN or -EINVAL. */
int balloon_set_target(struct balloon_dev *b, uint32_t amount_mib, char *err, size_t errlen);
/* PATCH /balloon/statistics. 0 or -EINVAL (statistics cannot be turned on or off). */
int balloon_set_stats_interval(struct balloon_dev *b, uint16_t interval_s, char *err,
			       size_t errlen);
/* GET /balloon/statistics. 0 or -ENOTSUP (statistics disabled). */
int balloon_get_stats(struct balloon_dev *b, struct balloon_stats *out, char *err, size_t errlen);
/* Start or stop a free page hinting run. 0, -ENOTSUP (not enabled) or -EAGAIN. */
int balloon_hinting(struct balloon_dev *b, enum balloon_hinting_op op, bool ack_on_stop, char *err,
		    size_t errlen);
int balloon_hinting_status(struct balloon_dev *b, struct balloon_hinting_status *out, char *err,
			   size_t errlen);

/* ---- the page-frame logic, for unit tests ---- */

struct balloon_range {
	uint32_t pfn;	/* first page frame */
	uint32_t pages; /* consecutive frames */
};

/*
 * Sort @pfns (@n of them) and fold them into runs of consecutive frames,
 * duplicates dropped, into @out (room for @n). Returns the number of runs.
 */
size_t balloon_compact_pfns(uint32_t *pfns, size_t n, struct balloon_range *out);

/*
 * Give the frames of @r back to the host, split where they stop being one
 * stretch of RAM. Frames outside RAM are skipped. Returns the frames
 * released; *@bad counts those that were not RAM or could not be released.
 */
uint64_t balloon_release_range(const struct guest_mem *mem, const struct balloon_range *r,
			       uint64_t *bad);

#endif
