// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-balloon on the VMM thread (queue work, the statistics timer, the
 * API entry points) and on vCPU threads (config space, activate, reset),
 * all under the device lock.
 *
 * Everything the guest hands over is checked before use: an inflate buffer
 * is a device-readable stream of at most BALLOON_MAX_PFNS little-endian
 * 32-bit frame numbers, and each frame must be RAM; a statistics buffer is
 * at most BALLOON_MAX_STATS records; a hinting or reporting segment must be
 * page-aligned RAM. What does not fit is counted and skipped, and the
 * buffer still goes back to the driver, so a hostile guest costs itself
 * only.
 */
#include "devices/virtio/balloon.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/base/event_loop.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "vmm/base/sort.h"
#include "vmm/base/vmstate.h"
#include "devices/virtio/virtio_mmio.h"

/* <linux/virtio_balloon.h>'s feature bits. */
#define F_STATS_VQ	 1
#define F_DEFLATE_ON_OOM 2
#define F_FREE_PAGE_HINT 3
#define F_REPORTING	 5
#define Q_INFLATE	 0U
#define Q_DEFLATE	 1U
#define Q_NONE		 ~0U
#define CFG_NUM_PAGES	 0U
#define CFG_ACTUAL	 4U
#define CFG_HINT_CMD_ID	 8U
#define ERR_NOT_ACTIVE	 "Balloon: Device not activated yet."
#define ERR_NO_HINTING	 "Balloon: Attempting to use hinting when not enabled"

struct balloon_dev {
	struct virtio_mmio_dev *mmio;
	const struct guest_mem *mem;
	struct virtio_device_ops ops; /* num_queues depends on the configuration */
	uint32_t num_pages, actual_pages, hint_cmd_id;
	uint16_t stats_interval_s;
	unsigned int q_stats, q_hint, q_report; /* Q_NONE when not offered */

	int timer_fd;
	struct event_loop *loop;
	bool stats_held; /* the driver's statistics buffer, kept until the next poll */
	uint16_t stats_head;
	struct balloon_stats stats;

	/* Free page hinting: Firecracker's HintingState. */
	uint32_t host_cmd, last_cmd_id;
	bool has_guest_cmd, ack_on_finish;
	uint32_t guest_cmd;
};

/* ---- page frames --------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

size_t balloon_compact_pfns(uint32_t *pfns, size_t n, struct balloon_range *out)
{
	size_t nr = 0;

	sort_in_place(pfns, n, sizeof(*pfns), cmp_u32); /* not qsort(): see sort.h */
	for (size_t i = 0; i < n; i++) {
		struct balloon_range *last = nr ? &out[nr - 1] : NULL;

		if (last && pfns[i] == last->pfn + last->pages - 1)
			continue; /* duplicate */
		if (last && pfns[i] == last->pfn + last->pages)
			last->pages++;
		else
			out[nr++] = (struct balloon_range){pfns[i], 1};
	}
	return nr;
}

static uint64_t pfn_gpa(uint64_t pfn)
{
	return pfn << BALLOON_PFN_SHIFT;
}

uint64_t balloon_release_range(const struct guest_mem *mem, const struct balloon_range *r,
			       uint64_t *bad)
{
	uint64_t p = r->pfn, end = (uint64_t)r->pfn + r->pages, released = 0;

	while (p < end) {
		uint64_t n = 0;

		/* The longest stretch from p that is one piece of RAM. */
		while (p + n < end &&
		       guest_mem_translate(mem, pfn_gpa(p), (n + 1) << BALLOON_PFN_SHIFT))
			n++;
		if (!n) {
			(*bad)++;
			p++;
			continue;
		}
		if (guest_mem_discard(mem, pfn_gpa(p), n << BALLOON_PFN_SHIFT))
			*bad += n;
		else
			released += n;
		p += n;
	}
	return released;
}

/* ---- queues -------------------------------------------------------------- */

/* Frames of an inflate buffer: the chain's readable bytes, 4 each. -EINVAL: not one. */
static int read_pfns(struct balloon_dev *b, const struct virtq_chain *c, uint32_t *pfns, size_t *n)
{
	if (c->nr_read != c->nr || c->read_len % 4 || c->read_len > BALLOON_MAX_PFNS * 4)
		return -EINVAL;
	*n = c->read_len / 4;
	if (virtq_chain_read(b->mem, c, 0, pfns, c->read_len) != c->read_len)
		return -EINVAL;
	for (size_t i = 0; i < *n; i++)
		pfns[i] = le32toh(pfns[i]);
	return 0;
}

static void inflate_chain(struct balloon_dev *b, const struct virtq_chain *c)
{
	uint32_t pfns[BALLOON_MAX_PFNS];
	struct balloon_range ranges[BALLOON_MAX_PFNS];
	uint64_t bad = 0;
	size_t n, nr;

	if (read_pfns(b, c, pfns, &n)) {
		metric_inc(&g_metrics.virtio.chain_errors);
		virtio_mmio_log_guest_error(b->mmio,
					    "balloon: inflate buffer of %" PRIu32
					    " readable and %" PRIu32
					    " writable bytes is not a list of at most %u frames",
					    c->read_len, c->write_len, BALLOON_MAX_PFNS);
		return;
	}
	nr = balloon_compact_pfns(pfns, n, ranges);
	for (size_t i = 0; i < nr; i++)
		balloon_release_range(b->mem, &ranges[i], &bad);
	if (bad) {
		metric_inc(&g_metrics.balloon.event_fails);
		virtio_mmio_log_guest_error(b->mmio,
					    "balloon: %" PRIu64 " inflated frames not released "
					    "(not RAM, or the host refused)",
					    bad);
	}
}

/* Inflate and deflate: every buffer goes back with nothing written. */
static void process_pfn_queue(struct balloon_dev *b, unsigned int q)
{
	struct virtq_chain *c = &b->mmio->chain;

	metric_inc(q == Q_INFLATE ? &g_metrics.balloon.inflate_count
				  : &g_metrics.balloon.deflate_count);
	while (virtio_mmio_next_chain(b->mmio, q, c) > 0) {
		if (q == Q_INFLATE)
			inflate_chain(b, c);
		virtio_mmio_complete(b->mmio, q, c->head, 0);
	}
	virtio_mmio_signal_used(b->mmio, q);
}

/* Give the held statistics buffer back: the driver refills it with fresh values. */
static void stats_release(struct balloon_dev *b)
{
	if (!b->stats_held)
		return;
	b->stats_held = false;
	virtio_mmio_complete(b->mmio, b->q_stats, b->stats_head, 0);
	virtio_mmio_signal_used(b->mmio, b->q_stats);
}

static void stats_record(struct balloon_dev *b, const uint8_t *rec)
{
	uint16_t tag;
	uint64_t val;

	memcpy(&tag, rec, sizeof(tag));
	memcpy(&val, rec + 2, sizeof(val));
	tag = le16toh(tag);
	if (tag >= BALLOON_NR_STATS) {
		metric_inc(&g_metrics.balloon.stats_update_fails);
		return;
	}
	b->stats.values[tag] = le64toh(val);
	b->stats.present |= 1U << tag;
}

static void stats_chain(struct balloon_dev *b, const struct virtq_chain *c)
{
	uint8_t rec[BALLOON_STAT_SIZE];

	if (b->stats_held) {
		/* The driver keeps one buffer in flight; give an extra one back at once. */
		log_warn("balloon: driver is not compliant, more than one stats buffer received");
		stats_release(b);
	}
	b->stats_held = true;
	b->stats_head = c->head;
	if (c->read_len > BALLOON_MAX_STATS * BALLOON_STAT_SIZE) {
		metric_inc(&g_metrics.balloon.stats_update_fails);
		virtio_mmio_log_guest_error(b->mmio, "balloon: stats buffer of %" PRIu32 " bytes",
					    c->read_len);
		return;
	}
	for (uint32_t off = 0; off + BALLOON_STAT_SIZE <= c->read_len; off += BALLOON_STAT_SIZE) {
		virtq_chain_read(b->mem, c, off, rec, sizeof(rec));
		stats_record(b, rec);
	}
}

static void process_stats_queue(struct balloon_dev *b)
{
	struct virtq_chain *c = &b->mmio->chain;

	metric_inc(&g_metrics.balloon.stats_updates_count);
	while (virtio_mmio_next_chain(b->mmio, b->q_stats, c) > 0)
		stats_chain(b, c);
}

/* Release @len bytes at @gpa; the metrics of hinting or reporting. */
static void release_segment(struct balloon_dev *b, const struct virtq_seg *s, metric_t *count,
			    metric_t *freed, metric_t *fails)
{
	int ret;

	metric_inc(count);
	ret = guest_mem_discard(b->mem, s->gpa, s->len);
	if (ret) {
		metric_inc(fails);
		virtio_mmio_log_guest_error(
		    b->mmio, "balloon: cannot release %" PRIu32 " bytes at 0x%" PRIx64 ": %s",
		    s->len, s->gpa, strerror(-ret));
		return;
	}
	metric_add(freed, s->len);
}

static void process_report_queue(struct balloon_dev *b)
{
	struct virtq_chain *c = &b->mmio->chain;

	while (virtio_mmio_next_chain(b->mmio, b->q_report, c) > 0) {
		for (unsigned int i = 0; i < c->nr; i++)
			release_segment(b, &c->segs[i], &g_metrics.balloon.free_page_report_count,
					&g_metrics.balloon.free_page_report_freed,
					&g_metrics.balloon.free_page_report_fails);
		virtio_mmio_complete(b->mmio, b->q_report, c->head, 0);
	}
	virtio_mmio_signal_used(b->mmio, b->q_report);
}

static void set_hint_cmd(struct balloon_dev *b, uint32_t cmd)
{
	b->host_cmd = cmd;
	b->hint_cmd_id = cmd;
	virtio_mmio_config_changed(b->mmio);
}

/*
 * One hinting segment (Firecracker's rules): 4 bytes are a command id from
 * the driver (STOP ends the run; DONE is not the driver's to send, taken as
 * STOP); anything else is a free range, released only while the run the
 * host started is on and the driver has answered that run's id.
 */
static void hint_segment(struct balloon_dev *b, const struct virtq_seg *s, bool *complete)
{
	uint32_t cmd;

	if (s->len == 4) {
		if (guest_mem_read(b->mem, s->gpa, &cmd, sizeof(cmd)))
			return;
		cmd = le32toh(cmd);
		b->has_guest_cmd = true;
		b->guest_cmd = cmd;
		*complete = cmd == BALLOON_HINT_CMD_STOP || cmd == BALLOON_HINT_CMD_DONE;
		return;
	}
	if (b->host_cmd == BALLOON_HINT_CMD_STOP || b->host_cmd == BALLOON_HINT_CMD_DONE ||
	    !b->has_guest_cmd || b->guest_cmd != b->host_cmd)
		return;
	release_segment(b, s, &g_metrics.balloon.free_page_hint_count,
			&g_metrics.balloon.free_page_hint_freed,
			&g_metrics.balloon.free_page_hint_fails);
}

static void process_hint_queue(struct balloon_dev *b)
{
	struct virtq_chain *c = &b->mmio->chain;
	bool complete = false;

	while (virtio_mmio_next_chain(b->mmio, b->q_hint, c) > 0) {
		for (unsigned int i = 0; i < c->nr; i++)
			hint_segment(b, &c->segs[i], &complete);
		virtio_mmio_complete(b->mmio, b->q_hint, c->head, 0);
	}
	virtio_mmio_signal_used(b->mmio, b->q_hint);
	if (complete && b->ack_on_finish)
		set_hint_cmd(b, BALLOON_HINT_CMD_DONE);
}

static void balloon_process_queue(struct virtio_mmio_dev *dev, unsigned int q)
{
	struct balloon_dev *b = virtio_mmio_backend(dev);

	if (q == Q_INFLATE || q == Q_DEFLATE)
		process_pfn_queue(b, q);
	else if (q == b->q_stats)
		process_stats_queue(b);
	else if (q == b->q_hint)
		process_hint_queue(b);
	else if (q == b->q_report)
		process_report_queue(b);
}

/* ---- statistics timer ---------------------------------------------------- */

/* Every @interval_s seconds from now, or never (0). */
static void timer_arm(struct balloon_dev *b, uint16_t interval_s)
{
	struct itimerspec its = {
	    .it_interval = {.tv_sec = interval_s},
	    .it_value = {.tv_sec = interval_s},
	};

	if (timerfd_settime(b->timer_fd, 0, &its, NULL) < 0)
		log_error("balloon: timerfd_settime: %s", strerror(errno));
}

static void timer_fired(void *opaque, uint32_t events)
{
	struct balloon_dev *b = opaque;
	uint64_t expirations;

	(void)events;
	if (read(b->timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	virtio_mmio_lock(b->mmio);
	if (b->mmio->activated && b->q_stats != Q_NONE) {
		if (b->stats_held)
			stats_release(b);
		else
			log_debug("balloon: statistics poll without the driver's buffer");
	}
	virtio_mmio_unlock(b->mmio);
}

/* ---- transport callbacks ------------------------------------------------- */

static void balloon_config_bytes(const struct balloon_dev *b, uint8_t cfg[BALLOON_CONFIG_SIZE])
{
	uint32_t v[3] = {htole32(b->num_pages), htole32(b->actual_pages), htole32(b->hint_cmd_id)};

	memcpy(cfg, v, BALLOON_CONFIG_SIZE);
}

static void balloon_config_read(struct virtio_mmio_dev *dev, uint32_t offset, uint8_t *data,
				uint32_t len)
{
	uint8_t cfg[BALLOON_CONFIG_SIZE];

	balloon_config_bytes(virtio_mmio_backend(dev), cfg);
	memcpy(data, cfg + offset, len);
}

/* The driver writes "actual" (its balloon's size); the other fields are the device's. */
static void balloon_config_write(struct virtio_mmio_dev *dev, uint32_t offset, const uint8_t *data,
				 uint32_t len)
{
	struct balloon_dev *b = virtio_mmio_backend(dev);
	uint8_t cfg[BALLOON_CONFIG_SIZE];
	uint32_t actual;

	if (offset < CFG_ACTUAL || offset + len > CFG_ACTUAL + 4) {
		virtio_mmio_log_guest_error(dev, "balloon: config write of %u bytes at %u ignored",
					    len, offset);
		return;
	}
	balloon_config_bytes(b, cfg);
	memcpy(cfg + offset, data, len);
	memcpy(&actual, cfg + CFG_ACTUAL, sizeof(actual));
	b->actual_pages = le32toh(actual);
}

static int balloon_activate(struct virtio_mmio_dev *dev)
{
	struct balloon_dev *b = virtio_mmio_backend(dev);

	if (b->q_stats != Q_NONE)
		timer_arm(b, b->stats_interval_s);
	return 0;
}

static void hinting_reset(struct balloon_dev *b)
{
	b->host_cmd = b->last_cmd_id = b->guest_cmd = 0;
	b->has_guest_cmd = b->ack_on_finish = false;
}

static void balloon_reset(struct virtio_mmio_dev *dev)
{
	struct balloon_dev *b = virtio_mmio_backend(dev);

	b->actual_pages = 0;
	b->hint_cmd_id = BALLOON_HINT_CMD_STOP;
	timer_arm(b, 0);
	b->stats_held = false;
	memset(&b->stats, 0, sizeof(b->stats));
	hinting_reset(b);
}

static int balloon_attach(struct virtio_mmio_dev *dev, struct event_loop *loop)
{
	struct balloon_dev *b = virtio_mmio_backend(dev);
	int ret = event_loop_add(loop, b->timer_fd, EPOLLIN, timer_fired, b);

	if (!ret)
		b->loop = loop;
	return ret;
}

static void balloon_detach(struct virtio_mmio_dev *dev, struct event_loop *loop)
{
	struct balloon_dev *b = virtio_mmio_backend(dev);

	event_loop_del(loop, b->timer_fd);
	b->loop = NULL;
}

static int balloon_save(struct virtio_mmio_dev *dev, struct vmstate_writer *w)
{
	struct balloon_dev *b = virtio_mmio_backend(dev);

	vmstate_put_u32(w, b->num_pages);
	vmstate_put_u32(w, b->actual_pages);
	vmstate_put_u32(w, b->hint_cmd_id);
	vmstate_put_u16(w, b->stats_interval_s);
	vmstate_put_bool(w, b->stats_held);
	vmstate_put_u16(w, b->stats_head);
	vmstate_put_u32(w, b->stats.present);
	for (unsigned int t = 0; t < BALLOON_NR_STATS; t++)
		vmstate_put_u64(w, b->stats.values[t]);
	vmstate_put_u32(w, b->host_cmd);
	vmstate_put_u32(w, b->last_cmd_id);
	vmstate_put_bool(w, b->has_guest_cmd);
	vmstate_put_u32(w, b->guest_cmd);
	vmstate_put_bool(w, b->ack_on_finish);
	return 0;
}

static int balloon_restore(struct virtio_mmio_dev *dev, struct vmstate_reader *r)
{
	struct balloon_dev *b = virtio_mmio_backend(dev);
	struct balloon_dev s = *b;

	s.num_pages = vmstate_get_u32(r);
	s.actual_pages = vmstate_get_u32(r);
	s.hint_cmd_id = vmstate_get_u32(r);
	s.stats_interval_s = vmstate_get_u16(r);
	s.stats_held = vmstate_get_bool(r);
	s.stats_head = vmstate_get_u16(r);
	s.stats.present = vmstate_get_u32(r);
	for (unsigned int t = 0; t < BALLOON_NR_STATS; t++)
		s.stats.values[t] = vmstate_get_u64(r);
	s.host_cmd = vmstate_get_u32(r);
	s.last_cmd_id = vmstate_get_u32(r);
	s.has_guest_cmd = vmstate_get_bool(r);
	s.guest_cmd = vmstate_get_u32(r);
	s.ack_on_finish = vmstate_get_bool(r);
	if (r->err)
		return r->err;
	/* Statistics on or off is part of the device's shape (its queues): it must match. */
	if ((s.stats_interval_s == 0) != (b->stats_interval_s == 0) ||
	    s.stats_head >= BALLOON_QUEUE_SIZE || s.stats.present >> BALLOON_NR_STATS ||
	    (s.stats_held && b->q_stats == Q_NONE))
		return -EINVAL;
	*b = s;
	return 0;
}

/* ---- creation ------------------------------------------------------------ */

int balloon_create(struct balloon_dev **out, const struct balloon_config *cfg,
		   const struct guest_mem *mem, uint64_t base, uint32_t gsi)
{
	struct balloon_dev *b = calloc(1, sizeof(*b));
	uint64_t features = VIRTIO_COMMON_FEATURES;
	unsigned int nq = 2;
	int ret;

	if (!b)
		return -ENOMEM;
	if (cfg->amount_mib > UINT32_MAX / BALLOON_PAGES_PER_MIB) {
		free(b);
		return -EINVAL;
	}
	b->mem = mem;
	b->num_pages = cfg->amount_mib * BALLOON_PAGES_PER_MIB;
	b->stats_interval_s = cfg->stats_polling_interval_s;
	b->q_stats = b->q_hint = b->q_report = Q_NONE;
	if (cfg->deflate_on_oom)
		features |= VIRTIO_BIT(F_DEFLATE_ON_OOM);
	if (cfg->stats_polling_interval_s) {
		features |= VIRTIO_BIT(F_STATS_VQ);
		b->q_stats = nq++;
	}
	if (cfg->free_page_hinting) {
		features |= VIRTIO_BIT(F_FREE_PAGE_HINT);
		b->q_hint = nq++;
	}
	if (cfg->free_page_reporting) {
		features |= VIRTIO_BIT(F_REPORTING);
		b->q_report = nq++;
	}
	b->ops = (struct virtio_device_ops){
	    .name = "balloon",
	    .device_id = VIRTIO_ID_BALLOON,
	    .num_queues = nq,
	    .queue_max_size = BALLOON_QUEUE_SIZE,
	    .config_size = BALLOON_CONFIG_SIZE,
	    .config_read = balloon_config_read,
	    .config_write = balloon_config_write,
	    .activate = balloon_activate,
	    .reset = balloon_reset,
	    .process_queue = balloon_process_queue,
	    .attach = balloon_attach,
	    .detach = balloon_detach,
	    .save = balloon_save,
	    .restore = balloon_restore,
	};
	b->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (b->timer_fd < 0) {
		ret = -errno;
		free(b);
		return ret;
	}
	ret = virtio_mmio_create(&b->mmio, &b->ops, b, mem, base, gsi, features);
	if (ret) {
		close(b->timer_fd);
		free(b);
		return ret;
	}
	*out = b;
	return 0;
}

void balloon_destroy(struct balloon_dev *b)
{
	if (!b)
		return;
	virtio_mmio_destroy(b->mmio);
	close(b->timer_fd);
	free(b);
}

struct virtio_mmio_dev *balloon_mmio(struct balloon_dev *b)
{
	return b->mmio;
}

/* ---- API ------------------------------------------------------------------ */

static int fail(char *err, size_t errlen, int ret, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return ret;
}

int balloon_set_target(struct balloon_dev *b, uint32_t amount_mib, char *err, size_t errlen)
{
	int ret = 0;

	virtio_mmio_lock(b->mmio);
	if (!b->mmio->activated) {
		ret = fail(err, errlen, -EAGAIN, ERR_NOT_ACTIVE);
	} else if (((uint64_t)amount_mib << 20) > b->mem->size ||
		   amount_mib > UINT32_MAX / BALLOON_PAGES_PER_MIB) {
		snprintf(err, errlen,
			 "Balloon: Requested memory should be less than %" PRIu32 "MiB",
			 amount_mib);
		ret = -EINVAL;
	} else {
		b->num_pages = amount_mib * BALLOON_PAGES_PER_MIB;
		virtio_mmio_config_changed(b->mmio);
	}
	virtio_mmio_unlock(b->mmio);
	return ret;
}

int balloon_set_stats_interval(struct balloon_dev *b, uint16_t interval_s, char *err, size_t errlen)
{
	int ret = 0;

	virtio_mmio_lock(b->mmio);
	if (b->stats_interval_s == interval_s) {
		/* nothing changes */
	} else if (!b->stats_interval_s || !interval_s) {
		ret = fail(err, errlen, -EINVAL,
			   "Balloon: Statistics cannot be enabled/disabled after activation.");
	} else {
		/* Fresh values now, then at the new pace. */
		stats_release(b);
		b->stats_interval_s = interval_s;
		if (b->mmio->activated)
			timer_arm(b, interval_s);
	}
	virtio_mmio_unlock(b->mmio);
	return ret;
}

int balloon_get_stats(struct balloon_dev *b, struct balloon_stats *out, char *err, size_t errlen)
{
	int ret = 0;

	virtio_mmio_lock(b->mmio);
	if (!b->stats_interval_s) {
		ret = fail(err, errlen, -ENOTSUP,
			   "Balloon: Received stats query when stats are disabled.");
	} else {
		*out = b->stats;
		out->target_pages = b->num_pages;
		out->actual_pages = b->actual_pages;
		out->target_mib = b->num_pages / BALLOON_PAGES_PER_MIB;
		out->actual_mib = b->actual_pages / BALLOON_PAGES_PER_MIB;
	}
	virtio_mmio_unlock(b->mmio);
	return ret;
}

int balloon_hinting(struct balloon_dev *b, enum balloon_hinting_op op, bool ack_on_stop, char *err,
		    size_t errlen)
{
	uint32_t cmd;
	int ret = 0;

	virtio_mmio_lock(b->mmio);
	if (b->q_hint == Q_NONE) {
		ret = fail(err, errlen, -ENOTSUP, ERR_NO_HINTING);
	} else if (!b->mmio->activated) {
		ret = fail(err, errlen, -EAGAIN, ERR_NOT_ACTIVE);
	} else if (op == BALLOON_HINTING_STOP) {
		set_hint_cmd(b, BALLOON_HINT_CMD_DONE);
	} else {
		/* 0 (STOP) and 1 (DONE) are not run ids. */
		cmd = b->last_cmd_id + 1 > 1 ? b->last_cmd_id + 1 : 2;
		b->ack_on_finish = ack_on_stop;
		b->last_cmd_id = cmd;
		set_hint_cmd(b, cmd);
	}
	virtio_mmio_unlock(b->mmio);
	return ret;
}

int balloon_hinting_status(struct balloon_dev *b, struct balloon_hinting_status *out, char *err,
			   size_t errlen)
{
	int ret = 0;

	virtio_mmio_lock(b->mmio);
	if (b->q_hint == Q_NONE) {
		ret = fail(err, errlen, -ENOTSUP, ERR_NO_HINTING);
	} else {
		out->host_cmd = b->host_cmd;
		out->has_guest_cmd = b->has_guest_cmd;
		out->guest_cmd = b->guest_cmd;
	}
	virtio_mmio_unlock(b->mmio);
	return ret;
}
