// SPDX-License-Identifier: Apache-2.0
/*
 * Host-side device throughput, independent of the (emulated) guest: each
 * device model runs exactly as in the VMM (virtio-mmio transport, VMM event
 * loop, real backends), and this program plays the guest driver, laying out
 * split virtqueues in guest memory with virtq_driver.c. No vCPU, no KVM.
 *
 *   bench_devices OUT_JSON [RUNS] [SCRATCH_DIR]
 *
 * Every figure is the median over RUNS runs (min and max in the JSON): ops/s,
 * MiB/s of payload, and CPU time (user + system, getrusage) per operation.
 * The process does both sides, so CPU per op is an upper bound on the
 * device's share (the driver side is a few stores per request).
 *
 * Every completion is checked (used length, status, data) so a fast number
 * cannot come from a broken device.
 *
 * MMDS (issue 9's request latency): a net device attached to a V1 MMDS, the
 * guest's TCP/IP played here; GETs on one keep-alive connection, and short
 * connections of one GET each. Their rows add RTT: the median time from the
 * guest's tx kick to MMDS's answer in the rx used ring.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "vmm/base/event_loop.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "vmm/base/log.h"
#include "devices/rate_limiter.h"
#include "devices/virtio/block.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtq_driver.h"

/*
 * virtio-net is measured when the host lets us make a tap. (HAVE_NET and
 * HAVE_VSOCK used to follow __has_include(); a moved header then turned both
 * benchmarks into silent "skipped" rows. Both devices are in the tree.)
 */
#if 1
#define HAVE_NET 1
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "devices/mmds/mmds.h"
#include "devices/virtio/net.h"
#endif

/* virtio-vsock likewise, through a Unix socket pair of the hybrid design. */
#if 1
#define HAVE_VSOCK 1
#include <endian.h>
#include <linux/virtio_vsock.h>
#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "devices/virtio/vsock.h"
#endif

#define MAX_RUNS  101
#define GUEST_RAM (32 * MIB)
#define QSIZE	  256
#define RING(q)	  (0x10000ULL + 0x10000ULL * (q))
#define HDRS	  0x80000ULL  /* 16-byte request headers */
#define STATUSES  0x90000ULL  /* 1-byte status per slot */
#define DATA	  0x100000ULL /* payload buffers */

#define BLK_BLOCK     4096U
#define BLK_FILE_SIZE (64 * MIB)
#define BLK_SLOTS     64U /* requests per notification (3 descriptors each) */
#define BLK_REQUESTS  20000U

#define RNG_BUF	     RNG_MAX_REQUEST_BYTES
#define RNG_SLOTS    16U
#define RNG_REQUESTS 2000U

/* The throttled run: a bandwidth bucket of 4 MiB refilled every 100 ms = 40 MiB/s. */
#define LIMIT_BUCKET	(4 * MIB)
#define LIMIT_REFILL_MS 100U
#define LIMIT_REQUESTS	8192U

#define NET_VNET_HDR  12U   /* struct virtio_net_hdr_v1 */
#define NET_FRAME     1514U /* Ethernet header + 1500 */
#define NET_BUF	      (NET_VNET_HDR + NET_FRAME)
#define NET_STRIDE    2048ULL
#define NET_TX_SLOTS  128U
#define NET_RX_SLOTS  QSIZE
#define NET_RX_BATCH  128U /* frames the host sends before the device drains them */
#define NET_FRAMES    50000U
#define NET_ETHERTYPE 0x88b5 /* IEEE local experimental */
#define NET_IFNAME    "embench0"

#define VS_GUEST_CID  3U
#define VS_HOST_PORT  5000U
#define VS_GUEST_PORT 1025U
#define VS_HDR	      44U	   /* struct virtio_vsock_hdr */
#define VS_BLOCK      4096U	   /* stream unit: 8-byte index + pattern */
#define VS_TX_PAYLOAD (32U * 1024) /* most payload per tx packet */
#define VS_TX_SLOTS   32U
#define VS_TX_STRIDE  0x9000ULL
#define VS_RX_PAYLOAD (64U * 1024)
#define VS_RX_SLOTS   64U
#define VS_RX_BASE    (DATA + 0x200000ULL)
#define VS_RX_STRIDE  0x11000ULL
#define VS_GUEST_BUF  (1U * MIB) /* the guest's buf_alloc */
#define VS_BYTES      (128ULL * MIB)

struct sample {
	double ops_per_s, mib_per_s, cpu_us_per_op;
	double rtt_us; /* per request, kick to answer (MMDS rows); 0: not measured */
};

struct row {
	const char *name;
	const char *op;	    /* what one operation is */
	double limit_mib_s; /* configured limit, 0: none */
	int n;
	struct sample s[MAX_RUNS];
	char skipped[256]; /* why it was not measured; empty when it was */
	bool skip;	   /* it cannot run here (skipped says why): not a failure */
};

/* ---- the driver side ------------------------------------------------------------------- */

struct harness {
	struct guest_mem mem;
	struct event_loop loop;
	struct virtio_mmio_dev *dev;
	struct virtq_driver drv[VIRTIO_MAX_QUEUES];
	unsigned int nq;
};

static int harness_init(struct harness *h)
{
	memset(h, 0, sizeof(*h));
	if (guest_mem_create(&h->mem, GUEST_RAM))
		return -1;
	if (event_loop_init(&h->loop)) {
		guest_mem_destroy(&h->mem);
		return -1;
	}
	return 0;
}

static void harness_fini(struct harness *h)
{
	event_loop_destroy(&h->loop);
	guest_mem_destroy(&h->mem);
}

/*
 * Bring @dev up as a minimal driver would: VERSION_1 (+ INDIRECT_DESC) only,
 * no EVENT_IDX (one interrupt per batch), @nq queues of QSIZE.
 */
static int harness_start(struct harness *h, struct virtio_mmio_dev *dev, unsigned int nq)
{
	uint64_t features =
	    VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_RING_F_INDIRECT_DESC);

	h->dev = dev;
	h->nq = nq;
	if (virtio_mmio_attach(dev, &h->loop))
		return -1;
	if (!(virtio_mmio_driver_negotiate(dev, features) & VIRTIO_CONFIG_S_FEATURES_OK))
		return -1;
	for (unsigned int q = 0; q < nq; q++) {
		if (virtq_driver_init(&h->drv[q], &h->mem, RING(q), QSIZE) ||
		    virtio_mmio_driver_setup_queue(dev, q, &h->drv[q]) != 1)
			return -1;
	}
	if (!(virtio_mmio_driver_ok(dev) & VIRTIO_CONFIG_S_DRIVER_OK))
		return -1;
	while (event_loop_run_once(&h->loop, 0) > 0)
		;
	return 0;
}

static void harness_notify(struct harness *h, unsigned int q)
{
	virtio_mmio_driver_write(h->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Run the VMM loop until queue @q's used index reaches @target; take the
 * interrupt. A round that runs nothing (EINTR: io_uring task work interrupts
 * epoll_wait) is retried; only 5 s without progress is a stall.
 */
static int harness_wait(struct harness *h, unsigned int q, uint16_t target)
{
	double deadline = now_s() + 5;
	eventfd_t irqs;

	while (virtq_driver_used_idx(&h->drv[q]) != target) {
		if (event_loop_run_once(&h->loop, 1000) < 0 || now_s() > deadline) {
			fprintf(stderr, "bench: queue %u stalled at %u of %u\n", q,
				virtq_driver_used_idx(&h->drv[q]), target);
			return -1;
		}
	}
	eventfd_read(virtio_mmio_irq_fd(h->dev), &irqs);
	return 0;
}

static void *gptr(struct harness *h, uint64_t gpa, uint64_t len)
{
	return guest_mem_translate(&h->mem, gpa, len);
}

/* ---- measuring ------------------------------------------------------------------------- */

struct meter {
	struct timespec wall;
	struct rusage ru;
};

static void meter_start(struct meter *m)
{
	getrusage(RUSAGE_SELF, &m->ru);
	clock_gettime(CLOCK_MONOTONIC, &m->wall);
}

static double tv_us(const struct timeval *tv)
{
	return tv->tv_sec * 1e6 + tv->tv_usec;
}

/* Wall-clock seconds and CPU microseconds since meter_start(), added to *@secs, *@cpu_us. */
static void meter_add(const struct meter *m, double *secs, double *cpu_us)
{
	struct timespec now;
	struct rusage ru;

	clock_gettime(CLOCK_MONOTONIC, &now);
	getrusage(RUSAGE_SELF, &ru);
	*secs += (double)(now.tv_sec - m->wall.tv_sec) + (now.tv_nsec - m->wall.tv_nsec) / 1e9;
	*cpu_us += tv_us(&ru.ru_utime) - tv_us(&m->ru.ru_utime) + tv_us(&ru.ru_stime) -
		   tv_us(&m->ru.ru_stime);
}

static struct sample sample_of(uint64_t ops, uint64_t bytes, double secs, double cpu_us)
{
	return (struct sample){
	    .ops_per_s = ops / secs,
	    .mib_per_s = bytes / secs / MIB,
	    .cpu_us_per_op = cpu_us / ops,
	};
}

static struct sample meter_stop(const struct meter *m, uint64_t ops, uint64_t bytes)
{
	double secs = 0, cpu_us = 0;

	meter_add(m, &secs, &cpu_us);
	return sample_of(ops, bytes, secs, cpu_us);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- virtio-blk ------------------------------------------------------------------------ */

/* Block @k of the test file: its index, then a pattern that depends on it. */
static void blk_fill(uint8_t *buf, uint64_t k)
{
	memcpy(buf, &k, sizeof(k));
	for (uint32_t i = sizeof(k); i < BLK_BLOCK; i++)
		buf[i] = (uint8_t)(k * 31 + i);
}

/* A BLK_FILE_SIZE file in @dir, written, synced and read once: in the page cache. */
static int blk_make_file(const char *dir, char *path, size_t len)
{
	static uint8_t buf[BLK_BLOCK];
	int fd;

	snprintf(path, len, "%s/ember-bench-blk-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	for (uint64_t k = 0; k < BLK_FILE_SIZE / BLK_BLOCK; k++) {
		blk_fill(buf, k);
		if (write(fd, buf, BLK_BLOCK) != BLK_BLOCK)
			goto fail;
	}
	if (fsync(fd))
		goto fail;
	for (uint64_t k = 0; k < BLK_FILE_SIZE / BLK_BLOCK; k++)
		if (pread(fd, buf, BLK_BLOCK, (off_t)(k * BLK_BLOCK)) != BLK_BLOCK)
			goto fail;
	close(fd);
	return 0;
fail:
	close(fd);
	unlink(path);
	return -EIO;
}

/* Slot @i: header, 4 KiB device-writable buffer, status; descriptors 3i..3i+2. */
static void blk_layout(struct harness *h)
{
	for (uint16_t i = 0; i < BLK_SLOTS; i++) {
		uint16_t d = (uint16_t)(3 * i);

		virtq_driver_set_desc(&h->drv[0], d, HDRS + 16ULL * i, 16, VRING_DESC_F_NEXT,
				      d + 1);
		virtq_driver_set_desc(&h->drv[0], d + 1, DATA + (uint64_t)BLK_BLOCK * i, BLK_BLOCK,
				      VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, d + 2);
		virtq_driver_set_desc(&h->drv[0], d + 2, STATUSES + i, 1, VRING_DESC_F_WRITE, 0);
	}
}

/* Check one completion against the file's content. */
static int blk_check(struct harness *h, uint32_t id, uint32_t len, const uint64_t *blocks,
		     bool full)
{
	static uint8_t expect[BLK_BLOCK];
	uint32_t slot = id / 3;
	const uint8_t *data = gptr(h, DATA + (uint64_t)BLK_BLOCK * slot, BLK_BLOCK);
	uint8_t status = *(uint8_t *)gptr(h, STATUSES + slot, 1);

	if (id % 3 || slot >= BLK_SLOTS || len != BLK_BLOCK + 1 || status != VIRTIO_BLK_S_OK ||
	    memcmp(data, &blocks[slot], sizeof(uint64_t))) {
		fprintf(stderr, "bench: bad blk completion id %u len %u status %u\n", id, len,
			status);
		return -1;
	}
	if (full) {
		blk_fill(expect, blocks[slot]);
		if (memcmp(data, expect, BLK_BLOCK)) {
			fprintf(stderr, "bench: blk data differs from the file\n");
			return -1;
		}
	}
	return 0;
}

/* @nreq random 4 KiB reads in batches of BLK_SLOTS. */
static int blk_run(struct harness *h, uint32_t nreq, uint64_t *seed)
{
	uint64_t blocks[BLK_SLOTS];
	uint32_t done, n, id, len;

	for (done = 0; done < nreq; done += n) {
		uint16_t target;

		n = nreq - done < BLK_SLOTS ? nreq - done : BLK_SLOTS;
		for (uint32_t i = 0; i < n; i++) {
			struct virtio_blk_outhdr hdr = {.type = VIRTIO_BLK_T_IN};

			blocks[i] = xorshift(seed) % (BLK_FILE_SIZE / BLK_BLOCK);
			hdr.sector = blocks[i] * (BLK_BLOCK / BLOCK_SECTOR_SIZE);
			guest_mem_write(&h->mem, HDRS + 16ULL * i, &hdr, sizeof(hdr));
			memset(gptr(h, DATA + (uint64_t)BLK_BLOCK * i, 8), 0xee, 8);
			*(uint8_t *)gptr(h, STATUSES + i, 1) = 0xff;
			virtq_driver_publish(&h->drv[0], (uint16_t)(3 * i));
		}
		target = (uint16_t)(virtq_driver_used_idx(&h->drv[0]) + n);
		harness_notify(h, 0);
		if (harness_wait(h, 0, target))
			return -1;
		for (uint32_t i = 0; i < n; i++) {
			if (virtq_driver_get_used(&h->drv[0], &id, &len) != 1 ||
			    blk_check(h, id, len, blocks, i == 0))
				return -1;
		}
	}
	return 0;
}

/*
 * One row: a fresh device on @path per run (@engine, @limit_mib_s != 0: a
 * bandwidth limiter attached as the VMM does it).
 */
static void bench_blk(struct row *r, const char *path, enum block_io_engine engine, int runs)
{
	struct block_config cfg = {.drive_id = "bench", .path_on_host = path, .io_engine = engine};
	struct rate_limiter_config lcfg = {
	    .has_bandwidth = true,
	    .bandwidth = {.size = LIMIT_BUCKET, .refill_time_ms = LIMIT_REFILL_MS},
	};
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	char err[256];

	for (int run = 0; run < runs; run++) {
		struct harness h;
		struct block_dev *blk = NULL;
		struct rate_limiter rl;
		struct virtio_limiter hook;
		struct meter m;
		bool limited = r->limit_mib_s > 0, have_rl = false;
		uint32_t nreq = limited ? LIMIT_REQUESTS : BLK_REQUESTS;
		int ret;

		if (harness_init(&h)) {
			snprintf(r->skipped, sizeof(r->skipped), "cannot create guest memory");
			return;
		}
		ret = block_create(&blk, &cfg, &h.mem, LAYOUT_VIRTIO_START, LAYOUT_IRQ_BASE, err,
				   sizeof(err));
		if (ret) {
			snprintf(r->skipped, sizeof(r->skipped), "%s", err);
			harness_fini(&h);
			return;
		}
		ret = harness_start(&h, block_mmio(blk), 1);
		if (!ret && limited) {
			ret = rate_limiter_init(&rl, &lcfg);
			have_rl = !ret;
			if (!ret)
				ret = rate_limiter_attach(&rl, &h.loop, block_mmio(blk), 0);
			hook = rate_limiter_hook(&rl);
			block_set_limiter(blk, &hook);
		}
		blk_layout(&h);
		/* Limited: spend the initial full bucket first, so the run sees the steady rate. */
		if (!ret && limited)
			ret = blk_run(&h, LIMIT_BUCKET / BLK_BLOCK, &seed);
		if (!ret) {
			meter_start(&m);
			ret = blk_run(&h, nreq, &seed);
			r->s[r->n++] = meter_stop(&m, nreq, (uint64_t)nreq * BLK_BLOCK);
		}
		if (have_rl)
			rate_limiter_destroy(&rl);
		virtio_mmio_detach(block_mmio(blk));
		block_destroy(blk);
		harness_fini(&h);
		if (ret) {
			snprintf(r->skipped, sizeof(r->skipped), "device failed (see stderr)");
			r->n = 0;
			return;
		}
	}
}

/* ---- virtio-rng ------------------------------------------------------------------------ */

static int rng_run(struct harness *h, uint32_t nreq)
{
	uint32_t done, n, id, len;

	for (uint16_t i = 0; i < RNG_SLOTS; i++)
		virtq_driver_set_desc(&h->drv[0], i, DATA + (uint64_t)RNG_BUF * i, RNG_BUF,
				      VRING_DESC_F_WRITE, 0);
	for (done = 0; done < nreq; done += n) {
		uint16_t target;

		n = nreq - done < RNG_SLOTS ? nreq - done : RNG_SLOTS;
		for (uint16_t i = 0; i < n; i++) {
			memset(gptr(h, DATA + (uint64_t)RNG_BUF * i, 64), 0, 64);
			virtq_driver_publish(&h->drv[0], i);
		}
		target = (uint16_t)(virtq_driver_used_idx(&h->drv[0]) + n);
		harness_notify(h, 0);
		if (harness_wait(h, 0, target))
			return -1;
		for (uint32_t i = 0; i < n; i++) {
			const uint8_t *p;
			int nonzero = 0;

			if (virtq_driver_get_used(&h->drv[0], &id, &len) != 1 || id >= RNG_SLOTS ||
			    len != RNG_BUF)
				return -1;
			p = gptr(h, DATA + (uint64_t)RNG_BUF * id, 64);
			for (int b = 0; b < 64; b++)
				nonzero += p[b] != 0;
			if (nonzero < 32) {
				fprintf(stderr, "bench: rng buffer not filled\n");
				return -1;
			}
		}
	}
	return 0;
}

static void bench_rng(struct row *r, int runs)
{
	for (int run = 0; run < runs; run++) {
		struct harness h;
		struct rng_dev *rng = NULL;
		struct meter m;
		int ret;

		if (harness_init(&h)) {
			snprintf(r->skipped, sizeof(r->skipped), "cannot create guest memory");
			return;
		}
		ret = rng_create(&rng, &h.mem, LAYOUT_VIRTIO_START, LAYOUT_IRQ_BASE);
		if (!ret)
			ret = harness_start(&h, rng_mmio(rng), 1);
		if (!ret) {
			meter_start(&m);
			ret = rng_run(&h, RNG_REQUESTS);
			r->s[r->n++] =
			    meter_stop(&m, RNG_REQUESTS, (uint64_t)RNG_REQUESTS * RNG_BUF);
		}
		if (rng) {
			virtio_mmio_detach(rng_mmio(rng));
			rng_destroy(rng);
		}
		harness_fini(&h);
		if (ret) {
			snprintf(r->skipped, sizeof(r->skipped), "device failed (see stderr)");
			r->n = 0;
			return;
		}
	}
}

/* ---- virtio-net ------------------------------------------------------------------------ */

#ifdef HAVE_NET
static const uint8_t net_guest_mac_addr[6] = {0x02, 0x00, 0x00, 0xbe, 0x00, 0x01};
static const uint8_t net_host_mac_addr[6] = {0x02, 0x00, 0x00, 0xbe, 0x00, 0x02};

/* Root with /dev/net/tun: move into a private network namespace with IPv6 off. */
static int net_enter_netns(char *why, size_t len)
{
	static const char *const sysctls[] = {"/proc/sys/net/ipv6/conf/default/disable_ipv6",
					      "/proc/sys/net/ipv6/conf/all/disable_ipv6"};

	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK)) {
		snprintf(why, len, "needs root and /dev/net/tun");
		return -1;
	}
	if (unshare(CLONE_NEWNET)) {
		snprintf(why, len, "unshare(CLONE_NEWNET): %s", strerror(errno));
		return -1;
	}
	/* No router solicitations or DAD frames of the kernel's own on the tap. */
	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++) {
		int fd = open(sysctls[i], O_WRONLY | O_CLOEXEC);

		if (fd >= 0) {
			if (write(fd, "1", 1) != 1)
				fprintf(stderr, "bench: cannot write %s\n", sysctls[i]);
			close(fd);
		}
	}
	return 0;
}

static int net_if_up(const char *name)
{
	struct ifreq ifr = {0};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = -1;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (s >= 0 && !ioctl(s, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		ret = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (s >= 0)
		close(s);
	return ret;
}

/* Frames the kernel received from the tap (what the guest sent), from /proc/net/dev. */
static uint64_t net_if_rx_packets(const char *name)
{
	char line[512];
	uint64_t bytes, packets = 0;
	FILE *f = fopen("/proc/net/dev", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *p = line;

		if (!colon)
			continue;
		*colon = '\0';
		while (*p == ' ')
			p++;
		if (!strcmp(p, name) &&
		    sscanf(colon + 1, "%" SCNu64 " %" SCNu64, &bytes, &packets) == 2)
			break;
		packets = 0;
	}
	fclose(f);
	return packets;
}

/* Ethernet frame @seq: our MACs, our ethertype, the sequence number, a pattern. */
static void net_make_frame(uint8_t *buf, const uint8_t *dst, const uint8_t *src, uint32_t seq)
{
	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	buf[12] = NET_ETHERTYPE >> 8;
	buf[13] = NET_ETHERTYPE & 0xff;
	memcpy(buf + 14, &seq, sizeof(seq));
	for (uint32_t i = 18; i < NET_FRAME; i++)
		buf[i] = (uint8_t)(i * 7 + seq);
}

struct net_bench {
	struct harness h;
	struct net_dev *net;
	int ifindex;
	int pkt; /* AF_PACKET socket on the tap: the host's end of the wire */
};

static int net_bench_start(struct net_bench *nb, char *why, size_t len)
{
	struct net_config cfg = {
	    .iface_id = "bench0", .host_dev_name = NET_IFNAME, .has_guest_mac = true};
	/* Protocol 0: the socket only sends; it must not take a copy of every frame. */
	struct sockaddr_ll sll = {.sll_family = AF_PACKET};

	memcpy(cfg.guest_mac, net_guest_mac_addr, 6);
	nb->net = NULL;
	nb->pkt = -1;
	if (harness_init(&nb->h)) {
		snprintf(why, len, "cannot create guest memory");
		return -1;
	}
	if (net_create(&nb->net, &cfg, &nb->h.mem, LAYOUT_VIRTIO_START, LAYOUT_IRQ_BASE, why, len))
		return -1;
	if (harness_start(&nb->h, net_mmio(nb->net), NET_NUM_QUEUES) || net_if_up(NET_IFNAME)) {
		snprintf(why, len, "cannot bring the device or the tap up");
		return -1;
	}
	nb->ifindex = (int)if_nametoindex(NET_IFNAME);
	sll.sll_ifindex = nb->ifindex;
	nb->pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (nb->pkt < 0 || bind(nb->pkt, (struct sockaddr *)&sll, sizeof(sll))) {
		snprintf(why, len, "AF_PACKET socket on the tap: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void net_bench_stop(struct net_bench *nb)
{
	if (nb->pkt >= 0)
		close(nb->pkt);
	if (nb->net) {
		virtio_mmio_detach(net_mmio(nb->net));
		net_destroy(nb->net);
	}
	harness_fini(&nb->h);
}

/* Guest -> tap: @n full-size frames, NET_TX_SLOTS per notification. */
static int net_tx_run(struct net_bench *nb, uint32_t n)
{
	struct harness *h = &nb->h;
	uint64_t before = net_if_rx_packets(NET_IFNAME);
	uint32_t done, batch, id, len;

	for (uint16_t i = 0; i < NET_TX_SLOTS; i++) {
		uint8_t *buf = gptr(h, DATA + NET_STRIDE * i, NET_BUF);

		memset(buf, 0, NET_VNET_HDR);
		net_make_frame(buf + NET_VNET_HDR, net_host_mac_addr, net_guest_mac_addr, i);
		virtq_driver_set_desc(&h->drv[NET_TX_QUEUE], i, DATA + NET_STRIDE * i, NET_BUF, 0,
				      0);
	}
	for (done = 0; done < n; done += batch) {
		uint16_t target;

		batch = n - done < NET_TX_SLOTS ? n - done : NET_TX_SLOTS;
		for (uint16_t i = 0; i < batch; i++)
			virtq_driver_publish(&h->drv[NET_TX_QUEUE], i);
		target = (uint16_t)(virtq_driver_used_idx(&h->drv[NET_TX_QUEUE]) + batch);
		harness_notify(h, NET_TX_QUEUE);
		if (harness_wait(h, NET_TX_QUEUE, target))
			return -1;
		for (uint32_t i = 0; i < batch; i++)
			if (virtq_driver_get_used(&h->drv[NET_TX_QUEUE], &id, &len) != 1 ||
			    id >= NET_TX_SLOTS || len != 0)
				return -1;
	}
	/* Every frame reached the host's side of the tap. */
	if (net_if_rx_packets(NET_IFNAME) - before != n) {
		fprintf(stderr, "bench: %" PRIu64 " of %u frames arrived on the tap\n",
			net_if_rx_packets(NET_IFNAME) - before, n);
		return -1;
	}
	return 0;
}

static int net_host_send(struct net_bench *nb, uint32_t seq)
{
	static uint8_t frame[NET_FRAME];
	struct sockaddr_ll sll = {
	    .sll_family = AF_PACKET, .sll_ifindex = nb->ifindex, .sll_halen = 6};

	memcpy(sll.sll_addr, net_guest_mac_addr, 6);
	net_make_frame(frame, net_guest_mac_addr, net_host_mac_addr, seq);
	return sendto(nb->pkt, frame, NET_FRAME, 0, (struct sockaddr *)&sll, sizeof(sll)) ==
		       NET_FRAME
		   ? 0
		   : -1;
}

/* Check an rx completion: header + the frame with sequence number @seq. */
static int net_rx_check(struct net_bench *nb, uint32_t id, uint32_t len, uint32_t seq)
{
	static uint8_t expect[NET_FRAME];
	const uint8_t *buf = gptr(&nb->h, DATA + NET_STRIDE * id, NET_BUF);

	net_make_frame(expect, net_guest_mac_addr, net_host_mac_addr, seq);
	if (id >= NET_RX_SLOTS || len != NET_BUF ||
	    memcmp(buf + NET_VNET_HDR, expect, seq % 64 ? 18 : NET_FRAME)) {
		fprintf(stderr, "bench: bad rx frame id %u len %u (expected seq %u)\n", id, len,
			seq);
		return -1;
	}
	return 0;
}

/*
 * Host -> guest: the host sends NET_RX_BATCH frames into the tap (not
 * measured), then the device moves them into the rx buffers (measured: the
 * tap read, the copy, the used ring); the driver re-posts each buffer.
 */
static int net_rx_run(struct net_bench *nb, uint32_t n, struct sample *out)
{
	struct harness *h = &nb->h;
	struct virtq_driver *rx = &h->drv[NET_RX_QUEUE];
	double secs = 0, cpu_us = 0;
	uint32_t seq = 0, got = 0, id, len;

	for (uint16_t i = 0; i < NET_RX_SLOTS; i++) {
		virtq_driver_set_desc(rx, i, DATA + NET_STRIDE * i, NET_BUF, VRING_DESC_F_WRITE, 0);
		virtq_driver_publish(rx, i);
	}
	harness_notify(h, NET_RX_QUEUE);
	while (got < n) {
		uint32_t batch = n - got < NET_RX_BATCH ? n - got : NET_RX_BATCH;
		double deadline = now_s() + 5;
		struct meter m;
		eventfd_t irqs;

		for (uint32_t i = 0; i < batch; i++)
			if (net_host_send(nb, seq + i))
				return -1;
		meter_start(&m);
		for (uint32_t i = 0; i < batch;) {
			if (virtq_driver_get_used(rx, &id, &len) != 1) {
				if (event_loop_run_once(&h->loop, 1000) < 0 || now_s() > deadline)
					return -1;
				continue;
			}
			if (net_rx_check(nb, id, len, seq + i))
				return -1;
			virtq_driver_publish(rx, (uint16_t)id);
			i++;
		}
		harness_notify(h, NET_RX_QUEUE);
		eventfd_read(virtio_mmio_irq_fd(h->dev), &irqs);
		meter_add(&m, &secs, &cpu_us);
		seq += batch;
		got += batch;
	}
	*out = sample_of(n, (uint64_t)n * NET_FRAME, secs, cpu_us);
	return 0;
}

static void bench_net(struct row *tx, struct row *rx, int runs)
{
	for (int run = 0; run < runs; run++) {
		struct net_bench nb;
		struct meter m;
		int ret = net_bench_start(&nb, tx->skipped, sizeof(tx->skipped));

		if (!ret) {
			meter_start(&m);
			ret = net_tx_run(&nb, NET_FRAMES);
			tx->s[tx->n++] =
			    meter_stop(&m, NET_FRAMES, (uint64_t)NET_FRAMES * NET_FRAME);
			if (ret)
				snprintf(tx->skipped, sizeof(tx->skipped),
					 "device failed (see stderr)");
		}
		if (!ret) {
			ret = net_rx_run(&nb, NET_FRAMES, &rx->s[rx->n]);
			rx->n++;
			if (ret)
				snprintf(tx->skipped, sizeof(tx->skipped),
					 "device failed (see stderr)");
		}
		net_bench_stop(&nb);
		if (ret) {
			snprintf(rx->skipped, sizeof(rx->skipped), "%s", tx->skipped);
			tx->n = rx->n = 0;
			return;
		}
	}
}

/* ---- MMDS over virtio-net ---------------------------------------------------------------- */

/*
 * The guest's requests to the metadata service: a net device on a tap,
 * attached to a real MMDS (V1) as the VMM attaches it, and this program as
 * the guest's network stack. Its frames are built here, checksums included,
 * and every answer is parsed and checked here too (not with devices/mmds/'s
 * own parsers, so a bug there cannot hide in both sides).
 */
static int cmp_double(const void *a, const void *b);

#define MMDS_GETS      2000U /* requests per run on one keep-alive connection */
#define MMDS_CONNS     200U  /* short connections per run (more than the stack's table) */
#define MMDS_TX_SLOTS  16U
#define MMDS_TX_BASE   (DATA + NET_STRIDE * NET_RX_SLOTS)
#define MMDS_GUEST_IP  0x0a000002U /* 10.0.0.2 */
#define MMDS_KEEP_PORT 39999U
#define MMDS_STORE     "{\"latest\":{\"meta-data\":{\"ami-id\":\"ami-12345678\"}}}"
#define MMDS_BODY      "ami-12345678"
#define MMDS_GET       "GET /latest/meta-data/ami-id HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n"
#define MMDS_ETH_IP    0x0800U
#define MMDS_ETH_ARP   0x0806U
#define MMDS_F_FIN     0x01U
#define MMDS_F_SYN     0x02U
#define MMDS_F_PSH     0x08U
#define MMDS_F_ACK     0x10U

struct mmds_bench {
	struct harness h;
	struct net_dev *net;
	struct mmds *mmds;
	uint8_t mac[6];	  /* MMDS's, from its ARP reply */
	uint16_t tx_sent; /* tx chains published, free-running */
	uint16_t tx_done; /* tx chains completed */
	uint16_t sport;
	uint32_t seq, ack; /* the guest's next sequence number; the next byte it expects */
	double rtt_s;	   /* kick -> answer, summed since the caller reset it */
	uint8_t rx[NET_BUF];
};

/* A received TCP segment. */
struct mmds_seg {
	uint32_t seq, ack;
	uint8_t flags;
	const uint8_t *data;
	size_t len;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* The Internet checksum (RFC 1071) of @len bytes, from the partial sum @sum. */
static uint16_t inet_csum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The TCP pseudo-header's sum: addresses (host order), protocol, segment length. */
static uint32_t tcp_pseudo_sum(uint32_t saddr, uint32_t daddr, size_t len)
{
	return (saddr >> 16) + (saddr & 0xffff) + (daddr >> 16) + (daddr & 0xffff) + 6 +
	       (uint32_t)len;
}

static size_t mmds_eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, net_guest_mac_addr, 6);
	put16(f + 12, type);
	return 14;
}

/* Who has 169.254.169.254? Tell 10.0.0.2 (broadcast). */
static size_t mmds_arp_request(uint8_t *f)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	size_t n = mmds_eth(f, bcast, MMDS_ETH_ARP);
	uint8_t *a = f + n;

	put16(a, 1);	      /* Ethernet */
	put16(a + 2, 0x0800); /* IPv4 */
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1); /* request */
	memcpy(a + 8, net_guest_mac_addr, 6);
	put32(a + 14, MMDS_GUEST_IP);
	memset(a + 18, 0, 6);
	put32(a + 24, MMDS_DEFAULT_IPV4);
	return n + 28;
}

/* A TCP segment of the guest's (its seq and ack, @flags, @data), in IPv4, in Ethernet. */
static size_t mmds_tcp(struct mmds_bench *b, uint8_t *f, uint8_t flags, const char *data)
{
	size_t dlen = data ? strlen(data) : 0, n = mmds_eth(f, b->mac, MMDS_ETH_IP);
	uint8_t *ip = f + n, *t = ip + 20;

	ip[0] = 0x45;
	ip[1] = 0;
	put16(ip + 2, (uint16_t)(20 + 20 + dlen));
	put16(ip + 4, b->tx_sent);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = 6;
	put16(ip + 10, 0);
	put32(ip + 12, MMDS_GUEST_IP);
	put32(ip + 16, MMDS_DEFAULT_IPV4);
	put16(ip + 10, inet_csum(ip, 20, 0));
	put16(t, b->sport);
	put16(t + 2, 80);
	put32(t + 4, b->seq);
	put32(t + 8, flags & MMDS_F_ACK ? b->ack : 0);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 65535);
	put16(t + 16, 0);
	put16(t + 18, 0);
	memcpy(t + 20, data ? data : "", dlen);
	put16(t + 16,
	      inet_csum(t, 20 + dlen, tcp_pseudo_sum(MMDS_GUEST_IP, MMDS_DEFAULT_IPV4, 20 + dlen)));
	return n + 20 + 20 + dlen;
}

/* Reap tx completions (each one used length 0). */
static int mmds_tx_reap(struct mmds_bench *b)
{
	uint32_t id, len;

	while (virtq_driver_get_used(&b->h.drv[NET_TX_QUEUE], &id, &len) == 1) {
		if (id >= MMDS_TX_SLOTS || len != 0) {
			fprintf(stderr, "bench: mmds tx completion id %u len %u\n", id, len);
			return -1;
		}
		b->tx_done++;
	}
	return 0;
}

/* Put @len bytes of frame in the next tx slot and kick; returns the kick's time. */
static double mmds_send(struct mmds_bench *b, const uint8_t *frame, size_t len)
{
	uint16_t slot = b->tx_sent % MMDS_TX_SLOTS;
	uint64_t gpa = MMDS_TX_BASE + NET_STRIDE * slot;
	double t;

	memset(gptr(&b->h, gpa, NET_VNET_HDR), 0, NET_VNET_HDR);
	memcpy(gptr(&b->h, gpa + NET_VNET_HDR, len), frame, len);
	virtq_driver_set_desc(&b->h.drv[NET_TX_QUEUE], slot, gpa, (uint32_t)(NET_VNET_HDR + len), 0,
			      0);
	virtq_driver_publish(&b->h.drv[NET_TX_QUEUE], slot);
	b->tx_sent++;
	t = now_s();
	harness_notify(&b->h, NET_TX_QUEUE);
	return t;
}

/*
 * Run the VMM loop until the next rx frame is in the used ring; the time
 * since @kicked is added to rtt_s. The frame (no virtio header) is copied
 * to b->rx and its buffer posted again. Its length, or -1 (5 s: a stall).
 */
static ssize_t mmds_recv(struct mmds_bench *b, double kicked)
{
	struct virtq_driver *rx = &b->h.drv[NET_RX_QUEUE];
	double deadline = kicked + 5;
	uint32_t id, len;
	eventfd_t irqs;

	while (virtq_driver_get_used(rx, &id, &len) != 1) {
		if (event_loop_run_once(&b->h.loop, 1000) < 0 || now_s() > deadline) {
			fprintf(stderr, "bench: no answer from MMDS\n");
			return -1;
		}
	}
	b->rtt_s += now_s() - kicked;
	eventfd_read(virtio_mmio_irq_fd(b->h.dev), &irqs);
	if (id >= NET_RX_SLOTS || len <= NET_VNET_HDR || len > NET_BUF) {
		fprintf(stderr, "bench: mmds rx completion id %u len %u\n", id, len);
		return -1;
	}
	memcpy(b->rx, gptr(&b->h, DATA + NET_STRIDE * id + NET_VNET_HDR, len - NET_VNET_HDR),
	       len - NET_VNET_HDR);
	virtq_driver_publish(rx, (uint16_t)id);
	return mmds_tx_reap(b) ? -1 : (ssize_t)(len - NET_VNET_HDR);
}

/* A frame for the guest from MMDS: Ethernet, @type, addressed to the guest. */
static const uint8_t *mmds_eth_check(const uint8_t *f, size_t len, uint16_t type,
				     const uint8_t *src)
{
	if (len < 14 || memcmp(f, net_guest_mac_addr, 6) || (src && memcmp(f + 6, src, 6)) ||
	    get16(f + 12) != type)
		return NULL;
	return f + 14;
}

/* b->rx is MMDS's ARP reply for its address: learn its MAC. */
static int mmds_arp_check(struct mmds_bench *b, size_t len)
{
	const uint8_t *a = mmds_eth_check(b->rx, len, MMDS_ETH_ARP, NULL);

	if (!a || len < 14 + 28 || get16(a) != 1 || get16(a + 2) != 0x0800 || a[4] != 6 ||
	    a[5] != 4 || get16(a + 6) != 2 || memcmp(a + 8, b->rx + 6, 6) ||
	    get32(a + 14) != MMDS_DEFAULT_IPV4 || memcmp(a + 18, net_guest_mac_addr, 6) ||
	    get32(a + 24) != MMDS_GUEST_IP || (a[8] & 1)) {
		fprintf(stderr, "bench: bad ARP reply from MMDS\n");
		return -1;
	}
	memcpy(b->mac, a + 8, 6);
	return 0;
}

/* b->rx is a TCP segment from MMDS to this connection, checksums right: into @s. */
static int mmds_tcp_parse(struct mmds_bench *b, size_t len, struct mmds_seg *s)
{
	const uint8_t *ip = mmds_eth_check(b->rx, len, MMDS_ETH_IP, b->mac), *t;
	size_t tot, ihl, doff;

	if (!ip || len < 14 + 20 || ip[0] >> 4 != 4)
		return -1;
	ihl = (ip[0] & 15U) * 4;
	tot = get16(ip + 2);
	if (ihl < 20 || tot < ihl + 20 || tot > len - 14 || inet_csum(ip, ihl, 0) || ip[9] != 6 ||
	    get32(ip + 12) != MMDS_DEFAULT_IPV4 || get32(ip + 16) != MMDS_GUEST_IP ||
	    (get16(ip + 6) & 0x3fff))
		return -1;
	t = ip + ihl;
	doff = (size_t)(t[12] >> 4) * 4;
	if (doff < 20 || doff > tot - ihl ||
	    inet_csum(t, tot - ihl, tcp_pseudo_sum(MMDS_DEFAULT_IPV4, MMDS_GUEST_IP, tot - ihl)) ||
	    get16(t) != 80 || get16(t + 2) != b->sport)
		return -1;
	*s = (struct mmds_seg){
	    .seq = get32(t + 4),
	    .ack = get32(t + 8),
	    .flags = t[13] & 0x1f,
	    .data = t + doff,
	    .len = tot - ihl - doff,
	};
	return 0;
}

/*
 * The next frame is MMDS's segment with @flags exactly, in order (its seq is
 * the guest's ack) and acknowledging everything the guest sent; @kicked as
 * for mmds_recv().
 */
static int mmds_expect(struct mmds_bench *b, double kicked, uint8_t flags, struct mmds_seg *s)
{
	ssize_t n = mmds_recv(b, kicked);

	if (n < 0)
		return -1;
	if (mmds_tcp_parse(b, (size_t)n, s) || s->flags != flags ||
	    (!(flags & MMDS_F_SYN) && s->seq != b->ack) || s->ack != b->seq) {
		fprintf(stderr, "bench: unexpected segment from MMDS (flags %#x, want %#x)\n",
			s->flags, flags);
		return -1;
	}
	return 0;
}

/* The answer to MMDS_GET: 200, the body, the right length, keep-alive. */
static int mmds_answer_check(const struct mmds_seg *s)
{
	static const char head[] = "HTTP/1.1 200 ";
	const char *text = (const char *)s->data, *hdr_end;
	size_t body = strlen(MMDS_BODY);

	hdr_end = memmem(text, s->len, "\r\n\r\n", 4);
	if (s->len < sizeof(head) - 1 || memcmp(text, head, sizeof(head) - 1) || !hdr_end ||
	    (size_t)(hdr_end + 4 - text) + body != s->len || memcmp(hdr_end + 4, MMDS_BODY, body) ||
	    !memmem(text, s->len, "Content-Length: 12\r\n", 20)) {
		fprintf(stderr, "bench: bad MMDS answer: %.*s\n", (int)s->len, text);
		return -1;
	}
	return 0;
}

/* Three-way handshake from port @sport: SYN out, SYN-ACK back (the ACK rides the GET). */
static int mmds_connect(struct mmds_bench *b, uint16_t sport)
{
	uint8_t f[128];
	struct mmds_seg s;

	size_t n;

	b->sport = sport;
	b->seq = 0x10000000U + sport * 7919U;
	b->ack = 0;
	n = mmds_tcp(b, f, MMDS_F_SYN, NULL);
	b->seq++; /* the SYN */
	if (mmds_expect(b, mmds_send(b, f, n), MMDS_F_SYN | MMDS_F_ACK, &s) || s.len)
		return -1;
	b->ack = s.seq + 1;
	return 0;
}

/* One GET (acknowledging the previous answer), its answer checked. Adds its bytes to @bytes. */
static int mmds_get(struct mmds_bench *b, uint64_t *bytes)
{
	uint8_t f[256];
	struct mmds_seg s;
	size_t n = mmds_tcp(b, f, MMDS_F_ACK | MMDS_F_PSH, MMDS_GET);
	double kicked = mmds_send(b, f, n);

	b->seq += (uint32_t)strlen(MMDS_GET);
	if (mmds_expect(b, kicked, MMDS_F_ACK | MMDS_F_PSH, &s) || mmds_answer_check(&s))
		return -1;
	b->ack += (uint32_t)s.len;
	*bytes += s.len;
	return 0;
}

/* FIN out, FIN-ACK back, the last ACK out and taken (the connection is gone). */
static int mmds_close(struct mmds_bench *b)
{
	uint8_t f[128];
	struct mmds_seg s;
	double kicked, deadline;

	size_t n = mmds_tcp(b, f, MMDS_F_FIN | MMDS_F_ACK, NULL);

	b->seq++; /* the FIN */
	if (mmds_expect(b, mmds_send(b, f, n), MMDS_F_FIN | MMDS_F_ACK, &s) || s.len)
		return -1;
	b->ack++;
	kicked = mmds_send(b, f, mmds_tcp(b, f, MMDS_F_ACK, NULL));
	deadline = kicked + 5;
	for (;;) {
		if (mmds_tx_reap(b))
			return -1;
		if (b->tx_done == b->tx_sent)
			break;
		if (event_loop_run_once(&b->h.loop, 1000) < 0 || now_s() > deadline) {
			fprintf(stderr, "bench: MMDS did not take the last ACK\n");
			return -1;
		}
	}
	b->rtt_s += now_s() - kicked;
	return 0;
}

static void mmds_bench_stop(struct mmds_bench *b)
{
	if (b->net) {
		virtio_mmio_detach(net_mmio(b->net));
		net_destroy(b->net);
	}
	mmds_destroy(b->mmds);
	harness_fini(&b->h);
}

/*
 * A net device on the tap with a V1 MMDS holding MMDS_STORE, attached as
 * the VMM attaches it (PUT /mmds/config named the interface); the guest's
 * rx buffers posted and MMDS's MAC learned by ARP.
 */
static int mmds_bench_start(struct mmds_bench *b, char *why, size_t len)
{
	static const char *const ifaces[] = {"bench0"};
	struct net_config cfg = {
	    .iface_id = "bench0", .host_dev_name = NET_IFNAME, .has_guest_mac = true};
	struct virtq_driver *rx;
	uint8_t f[64];
	ssize_t n;
	int err = 0;

	memset(b, 0, sizeof(*b));
	memcpy(cfg.guest_mac, net_guest_mac_addr, 6);
	if (harness_init(&b->h)) {
		snprintf(why, len, "cannot create guest memory");
		return -1;
	}
	b->mmds = mmds_create(0, &err);
	if (!b->mmds || mmds_store_put(b->mmds, MMDS_STORE, strlen(MMDS_STORE)) ||
	    mmds_configure(b->mmds, MMDS_V1, htonl(MMDS_DEFAULT_IPV4), false, ifaces, 1, NULL) ||
	    !mmds_attached(b->mmds, cfg.iface_id)) {
		snprintf(why, len, "cannot set MMDS up");
		return -1;
	}
	if (net_create(&b->net, &cfg, &b->h.mem, LAYOUT_VIRTIO_START, LAYOUT_IRQ_BASE, why, len))
		return -1;
	if (net_attach_mmds(b->net, b->mmds) ||
	    harness_start(&b->h, net_mmio(b->net), NET_NUM_QUEUES)) {
		snprintf(why, len, "cannot attach MMDS or bring the device up");
		return -1;
	}
	rx = &b->h.drv[NET_RX_QUEUE];
	for (uint16_t i = 0; i < NET_RX_SLOTS; i++) {
		virtq_driver_set_desc(rx, i, DATA + NET_STRIDE * i, NET_BUF, VRING_DESC_F_WRITE, 0);
		virtq_driver_publish(rx, i);
	}
	harness_notify(&b->h, NET_RX_QUEUE);
	n = mmds_recv(b, mmds_send(b, f, mmds_arp_request(f)));
	if (n < 0 || mmds_arp_check(b, (size_t)n)) {
		snprintf(why, len, "no ARP reply from MMDS (see stderr)");
		return -1;
	}
	return 0;
}

static double median_of(double *v, uint32_t n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* MMDS_GETS requests on one connection; per request: kick of the GET to its answer. */
static int mmds_keepalive_run(struct mmds_bench *b, struct sample *out)
{
	static double rtt[MMDS_GETS];
	uint64_t bytes = 0;
	struct meter m;

	if (mmds_connect(b, MMDS_KEEP_PORT))
		return -1;
	meter_start(&m);
	for (uint32_t i = 0; i < MMDS_GETS; i++) {
		b->rtt_s = 0;
		if (mmds_get(b, &bytes))
			return -1;
		rtt[i] = b->rtt_s;
	}
	*out = meter_stop(&m, MMDS_GETS, bytes);
	out->rtt_us = median_of(rtt, MMDS_GETS) * 1e6;
	return mmds_close(b);
}

/*
 * MMDS_CONNS connections of one request each; per connection: the sum of
 * SYN -> SYN-ACK, GET -> answer, FIN -> FIN-ACK and the last ACK taken.
 */
static int mmds_connection_run(struct mmds_bench *b, struct sample *out)
{
	static double rtt[MMDS_CONNS];
	uint64_t bytes = 0;
	struct meter m;

	meter_start(&m);
	for (uint32_t i = 0; i < MMDS_CONNS; i++) {
		b->rtt_s = 0;
		if (mmds_connect(b, (uint16_t)(40000 + i)) || mmds_get(b, &bytes) || mmds_close(b))
			return -1;
		rtt[i] = b->rtt_s;
	}
	*out = meter_stop(&m, MMDS_CONNS, bytes);
	out->rtt_us = median_of(rtt, MMDS_CONNS) * 1e6;
	return 0;
}

static void bench_mmds(struct row *keep, struct row *conn, int runs)
{
	for (int run = 0; run < runs; run++) {
		static struct mmds_bench b;
		int ret = mmds_bench_start(&b, keep->skipped, sizeof(keep->skipped));

		if (!ret)
			ret = mmds_keepalive_run(&b, &keep->s[keep->n++]);
		if (!ret)
			ret = mmds_connection_run(&b, &conn->s[conn->n++]);
		if (ret && !keep->skipped[0])
			snprintf(keep->skipped, sizeof(keep->skipped), "MMDS failed (see stderr)");
		mmds_bench_stop(&b);
		if (ret) {
			snprintf(conn->skipped, sizeof(conn->skipped), "%s", keep->skipped);
			keep->n = conn->n = 0;
			return;
		}
	}
}
#endif

/* ---- virtio-vsock ---------------------------------------------------------------------- */

#ifdef HAVE_VSOCK
/* Byte @i of stream block @k: its index in the first 8 bytes, then a pattern. */
static uint8_t vs_pattern(uint32_t i)
{
	return (uint8_t)(i * 7 + (i >> 8));
}

/* The guest driver's view of one connection, and the host's socket end. */
struct vs_bench {
	struct harness h;
	struct vsock_dev *vs;
	char uds[108];
	char port_path[120];
	int listen_fd, conn_fd;
	uint16_t tx_free[VS_TX_SLOTS];
	unsigned int nr_tx_free;
	/* Flow control, free-running mod 2^32 like the counters on the wire. */
	uint32_t peer_buf_alloc, peer_fwd_cnt; /* the device's */
	uint32_t tx_cnt;		       /* payload bytes the guest sent */
	uint32_t rx_cnt;		       /* payload bytes the guest consumed */
	uint32_t rx_credit_sent;	       /* rx_cnt at the last CREDIT_UPDATE */
	bool connected;
	/* Stream positions, for checking. */
	uint64_t host_got, guest_got;
	uint8_t host_block[VS_BLOCK];
	uint32_t host_fill;
};

static int vs_check_block(const uint8_t *b, uint64_t k, bool full)
{
	if (memcmp(b, &k, sizeof(k))) {
		fprintf(stderr, "bench: vsock block %" PRIu64 " out of place\n", k);
		return -1;
	}
	for (uint32_t i = 8; full && i < VS_BLOCK; i++) {
		if (b[i] != vs_pattern(i)) {
			fprintf(stderr, "bench: vsock block %" PRIu64 " corrupted\n", k);
			return -1;
		}
	}
	return 0;
}

/* Guest tx: one packet in a free slot (header, then @len payload bytes of stream at @off). */
static int vs_send(struct vs_bench *b, uint16_t op, uint32_t len, uint64_t off)
{
	struct virtio_vsock_hdr hdr = {
	    .src_cid = htole64(VS_GUEST_CID),
	    .dst_cid = htole64(VMADDR_CID_HOST),
	    .src_port = htole32(VS_GUEST_PORT),
	    .dst_port = htole32(VS_HOST_PORT),
	    .len = htole32(len),
	    .type = htole16(VIRTIO_VSOCK_TYPE_STREAM),
	    .op = htole16(op),
	    .buf_alloc = htole32(VS_GUEST_BUF),
	    .fwd_cnt = htole32(b->rx_cnt),
	};
	uint16_t slot;
	uint64_t gpa;

	if (!b->nr_tx_free)
		return -EBUSY;
	slot = b->tx_free[--b->nr_tx_free];
	gpa = DATA + VS_TX_STRIDE * slot;
	guest_mem_write(&b->h.mem, gpa, &hdr, sizeof(hdr));
	/* The pattern is in place (vs_tx_layout); only the block indices change. */
	for (uint32_t i = 0; i < len; i += VS_BLOCK) {
		uint64_t k = (off + i) / VS_BLOCK;

		guest_mem_write(&b->h.mem, gpa + VS_HDR + i, &k, sizeof(k));
	}
	virtq_driver_set_desc(&b->h.drv[VSOCK_TXQ], slot, gpa, VS_HDR + len, 0, 0);
	virtq_driver_publish(&b->h.drv[VSOCK_TXQ], slot);
	if (op == VIRTIO_VSOCK_OP_RW)
		b->tx_cnt += len;
	if (op == VIRTIO_VSOCK_OP_CREDIT_UPDATE || op == VIRTIO_VSOCK_OP_RW)
		b->rx_credit_sent = b->rx_cnt;
	return 0;
}

static void vs_tx_layout(struct vs_bench *b)
{
	for (uint16_t s = 0; s < VS_TX_SLOTS; s++) {
		uint8_t *p = gptr(&b->h, DATA + VS_TX_STRIDE * s + VS_HDR, VS_TX_PAYLOAD);

		for (uint32_t i = 0; i < VS_TX_PAYLOAD; i++)
			p[i] = vs_pattern(i % VS_BLOCK);
		b->tx_free[b->nr_tx_free++] = s;
	}
	for (uint16_t s = 0; s < VS_RX_SLOTS; s++) {
		virtq_driver_set_desc(&b->h.drv[VSOCK_RXQ], s, VS_RX_BASE + VS_RX_STRIDE * s,
				      VS_HDR + VS_RX_PAYLOAD, VRING_DESC_F_WRITE, 0);
		virtq_driver_publish(&b->h.drv[VSOCK_RXQ], s);
	}
}

/* Payload of an rx RW packet: the host's stream, checked block by block. */
static int vs_guest_take(struct vs_bench *b, const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++) {
		uint64_t off = b->guest_got + i;

		/* Block starts wholly inside this packet: index and (1 in 16) content. */
		if (off % VS_BLOCK == 0 && len - i >= VS_BLOCK) {
			if (vs_check_block(p + i, off / VS_BLOCK, (off / VS_BLOCK) % 16 == 0))
				return -1;
			i += VS_BLOCK - 1;
		}
	}
	b->guest_got += len;
	b->rx_cnt += len;
	return 0;
}

/* Reap both queues: free tx slots, read rx packets and give their buffers back. */
static int vs_guest_reap(struct vs_bench *b, bool *progress)
{
	struct virtio_vsock_hdr hdr;
	uint32_t id, len;
	bool reposted = false;

	while (virtq_driver_get_used(&b->h.drv[VSOCK_TXQ], &id, &len) == 1) {
		b->tx_free[b->nr_tx_free++] = (uint16_t)id;
		*progress = true;
	}
	while (virtq_driver_get_used(&b->h.drv[VSOCK_RXQ], &id, &len) == 1) {
		uint64_t gpa = VS_RX_BASE + VS_RX_STRIDE * id;
		uint32_t plen;

		*progress = true;
		if (id >= VS_RX_SLOTS || len < VS_HDR ||
		    guest_mem_read(&b->h.mem, gpa, &hdr, VS_HDR))
			return -1;
		plen = le32toh(hdr.len);
		switch (le16toh(hdr.op)) {
		case VIRTIO_VSOCK_OP_RESPONSE:
			b->connected = true;
			break;
		case VIRTIO_VSOCK_OP_RW:
			if (plen != len - VS_HDR ||
			    vs_guest_take(b, gptr(&b->h, gpa + VS_HDR, plen), plen))
				return -1;
			break;
		case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
			break;
		default:
			fprintf(stderr, "bench: vsock op %u from the device\n", le16toh(hdr.op));
			return -1;
		}
		b->peer_buf_alloc = le32toh(hdr.buf_alloc);
		b->peer_fwd_cnt = le32toh(hdr.fwd_cnt);
		virtq_driver_publish(&b->h.drv[VSOCK_RXQ], (uint16_t)id);
		reposted = true;
	}
	if (reposted)
		harness_notify(&b->h, VSOCK_RXQ);
	return 0;
}

/* The host application reads what the guest sent, checking every block. */
static int vs_host_read(struct vs_bench *b, bool *progress)
{
	for (;;) {
		ssize_t n = read(b->conn_fd, b->host_block + b->host_fill, VS_BLOCK - b->host_fill);

		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		*progress = true;
		b->host_fill += (uint32_t)n;
		if (b->host_fill == VS_BLOCK) {
			uint64_t k = b->host_got / VS_BLOCK;

			if (vs_check_block(b->host_block, k, k % 16 == 0))
				return -1;
			b->host_got += VS_BLOCK;
			b->host_fill = 0;
		}
	}
}

/* One round of the VMM loop; after 10 s without progress, a stall. */
static int vs_turn(struct vs_bench *b, bool progress, double *idle_since)
{
	if (progress)
		*idle_since = now_s();
	else if (now_s() - *idle_since > 10)
		return -1;
	return event_loop_run_once(&b->h.loop, progress ? 0 : 10) < 0 ? -1 : 0;
}

/* Guest connects to host port VS_HOST_PORT; the host accepts. */
static int vs_connect(struct vs_bench *b)
{
	double idle = now_s();
	bool progress = false;

	if (vs_send(b, VIRTIO_VSOCK_OP_REQUEST, 0, 0))
		return -1;
	harness_notify(&b->h, VSOCK_TXQ);
	while (!b->connected) {
		progress = false;
		if (vs_guest_reap(b, &progress) || vs_turn(b, progress, &idle))
			return -1;
	}
	b->conn_fd = accept4(b->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	return b->conn_fd < 0 ? -1 : 0;
}

/* Guest -> host: @total bytes in packets as large as the device's credit allows. */
static int vs_tx_run(struct vs_bench *b, uint64_t total)
{
	uint64_t sent = 0;
	double idle = now_s();

	while (b->host_got < total) {
		bool progress = false, posted = false;

		for (;;) {
			uint32_t credit = b->peer_buf_alloc - (b->tx_cnt - b->peer_fwd_cnt);
			uint64_t len = total - sent;

			len = len < VS_TX_PAYLOAD ? len : VS_TX_PAYLOAD;
			len = len < credit ? len : credit - credit % VS_BLOCK;
			if (!len || vs_send(b, VIRTIO_VSOCK_OP_RW, (uint32_t)len, sent))
				break;
			sent += len;
			posted = true;
		}
		if (posted)
			harness_notify(&b->h, VSOCK_TXQ);
		if (vs_turn(b, posted, &idle) || vs_guest_reap(b, &progress) ||
		    vs_host_read(b, &progress))
			return -1;
		if (progress)
			idle = now_s();
	}
	return 0;
}

/* Host -> guest: the host writes @total bytes; the guest returns credit every 64 KiB. */
static int vs_rx_run(struct vs_bench *b, uint64_t total)
{
	static uint8_t chunk[16 * VS_BLOCK];
	uint64_t written = 0, start = b->guest_got;
	double idle = now_s();

	for (uint32_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = vs_pattern(i % VS_BLOCK);
	while (b->guest_got - start < total) {
		bool progress = false;

		while (written < total) {
			uint32_t in_block = (uint32_t)(written % sizeof(chunk));
			ssize_t n;

			/* Block indices continue the stream the guest has seen so far. */
			for (uint32_t k = 0; k < sizeof(chunk) / VS_BLOCK; k++) {
				uint64_t idx = (start + written - in_block) / VS_BLOCK + k;

				memcpy(chunk + k * VS_BLOCK, &idx, sizeof(idx));
			}
			n = write(b->conn_fd, chunk + in_block,
				  total - written < sizeof(chunk) - in_block
				      ? total - written
				      : sizeof(chunk) - in_block);
			if (n < 0 && errno == EAGAIN)
				break;
			if (n <= 0)
				return -1;
			written += (uint64_t)n;
			progress = true;
		}
		if (vs_turn(b, progress, &idle) || vs_guest_reap(b, &progress))
			return -1;
		if (b->rx_cnt - b->rx_credit_sent >= 64 * 1024) {
			if (vs_send(b, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0) == 0)
				harness_notify(&b->h, VSOCK_TXQ);
		}
		if (progress)
			idle = now_s();
	}
	return 0;
}

static int vs_bench_start(struct vs_bench *b, const char *dir, char *why, size_t len)
{
	struct vsock_config cfg = {.guest_cid = VS_GUEST_CID};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char err[256];

	memset(b, 0, sizeof(*b));
	b->listen_fd = b->conn_fd = -1;
	if (harness_init(&b->h)) {
		snprintf(why, len, "cannot create guest memory");
		return -1;
	}
	if ((size_t)snprintf(b->uds, sizeof(b->uds), "%s/ember-bench-%d.vsock", dir, getpid()) >=
		sizeof(b->uds) - 8 ||
	    (size_t)snprintf(b->port_path, sizeof(b->port_path), "%s_%u", b->uds, VS_HOST_PORT) >=
		sizeof(sa.sun_path)) {
		snprintf(why, len, "scratch dir path too long for a Unix socket");
		return -1;
	}
	/* The host application listens on <uds_path>_<port>, as Firecracker expects. */
	memcpy(sa.sun_path, b->port_path, strlen(b->port_path) + 1);
	unlink(b->port_path);
	b->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (b->listen_fd < 0 || bind(b->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(b->listen_fd, 4)) {
		snprintf(why, len, "host listener %s: %s", b->port_path, strerror(errno));
		return -1;
	}
	cfg.uds_path = b->uds;
	if (vsock_create(&b->vs, &cfg, &b->h.mem, LAYOUT_VIRTIO_START, LAYOUT_IRQ_BASE, err,
			 sizeof(err))) {
		snprintf(why, len, "%s", err);
		return -1;
	}
	if (harness_start(&b->h, vsock_mmio(b->vs), 3)) {
		snprintf(why, len, "cannot bring the device up");
		return -1;
	}
	vs_tx_layout(b);
	harness_notify(&b->h, VSOCK_RXQ);
	return vs_connect(b) ? (snprintf(why, len, "guest connection refused"), -1) : 0;
}

static void vs_bench_stop(struct vs_bench *b)
{
	if (b->conn_fd >= 0)
		close(b->conn_fd);
	if (b->listen_fd >= 0)
		close(b->listen_fd);
	unlink(b->port_path);
	if (b->vs) {
		virtio_mmio_detach(vsock_mmio(b->vs));
		vsock_destroy(b->vs);
	}
	harness_fini(&b->h);
}

static void bench_vsock(struct row *tx, struct row *rx, int runs, const char *dir)
{
	for (int run = 0; run < runs; run++) {
		static struct vs_bench b;
		struct meter m;
		int ret = vs_bench_start(&b, dir, tx->skipped, sizeof(tx->skipped));

		if (!ret) {
			meter_start(&m);
			ret = vs_tx_run(&b, VS_BYTES);
			tx->s[tx->n++] = meter_stop(&m, VS_BYTES / VS_BLOCK, VS_BYTES);
		}
		if (!ret) {
			meter_start(&m);
			ret = vs_rx_run(&b, VS_BYTES);
			rx->s[rx->n++] = meter_stop(&m, VS_BYTES / VS_BLOCK, VS_BYTES);
		}
		if (ret && !tx->skipped[0])
			snprintf(tx->skipped, sizeof(tx->skipped), "device failed (see stderr)");
		vs_bench_stop(&b);
		if (ret) {
			snprintf(rx->skipped, sizeof(rx->skipped), "%s", tx->skipped);
			tx->n = rx->n = 0;
			return;
		}
	}
}
#endif

/* ---- report ---------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct stat3 {
	double median, min, max;
};

static struct stat3 stat_of(const struct row *r, size_t field)
{
	double v[MAX_RUNS];
	int n = r->n;

	for (int i = 0; i < n; i++)
		v[i] = *(const double *)((const char *)&r->s[i] + field);
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	return (struct stat3){
	    .median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2,
	    .min = v[0],
	    .max = v[n - 1],
	};
}

static json_t *stat_json(struct stat3 s)
{
	return json_pack("{s:f, s:f, s:f}", "median", s.median, "min", s.min, "max", s.max);
}

/* Prints the table and writes the JSON; returns the number of failed rows (or -1). */
static int report(const struct row *rows, int nr, const char *json_path)
{
	json_t *results = json_array(), *root;
	int failed = 0;

	printf("\n%-44s %12s %10s %11s %5s %9s\n", "device (host side, no vCPU)", "ops/s", "MiB/s",
	       "CPU us/op", "runs", "RTT us");
	for (int i = 0; i < nr; i++) {
		const struct row *r = &rows[i];
		json_t *o = json_pack("{s:s, s:s}", "name", r->name, "op", r->op);

		if (r->limit_mib_s > 0)
			json_object_set_new(o, "limit_mib_per_s", json_real(r->limit_mib_s));
		if (!r->n && r->skip) {
			printf("%-44s skipped: %s\n", r->name, r->skipped);
			json_object_set_new(o, "skipped", json_string(r->skipped));
		} else if (!r->n) {
			/* Whatever stopped it, a run that measured nothing failed. */
			printf("%-44s FAILED: %s\n", r->name,
			       r->skipped[0] ? r->skipped : "no run completed");
			json_object_set_new(
			    o, "failed",
			    json_string(r->skipped[0] ? r->skipped : "no run completed"));
			failed++;
		} else {
			struct stat3 ops = stat_of(r, offsetof(struct sample, ops_per_s));
			struct stat3 mib = stat_of(r, offsetof(struct sample, mib_per_s));
			struct stat3 cpu = stat_of(r, offsetof(struct sample, cpu_us_per_op));

			struct stat3 rtt = stat_of(r, offsetof(struct sample, rtt_us));

			printf("%-44s %12.0f %10.1f %11.2f %5d", r->name, ops.median, mib.median,
			       cpu.median, r->n);
			if (rtt.min > 0) {
				printf(" %9.1f\n", rtt.median);
				json_object_set_new(o, "rtt_us", stat_json(rtt));
			} else {
				printf(" %9s\n", "-");
			}
			json_object_set_new(o, "ops_per_s", stat_json(ops));
			json_object_set_new(o, "mib_per_s", stat_json(mib));
			json_object_set_new(o, "cpu_us_per_op", stat_json(cpu));
			json_object_set_new(o, "runs", json_integer(r->n));
		}
		json_array_append_new(results, o);
	}
	printf("(median of the runs; CPU = user + system of the whole process per op; RTT =\n"
	       " median per request of the time from the guest's tx kick to MMDS's answer in\n"
	       " the rx used ring; a new connection counts its SYN, GET and FIN round trips)\n");
	root = json_pack("{s:o}", "results", results);
	if (!root || json_object_set_new(root, "failed", json_integer(failed)) ||
	    json_dump_file(root, json_path, JSON_INDENT(2))) {
		fprintf(stderr, "bench: cannot write %s\n", json_path);
		failed = -1;
	}
	json_decref(root);
	return failed;
}

int main(int argc, char **argv)
{
	static struct row rows[] = {
	    {.name = "virtio-blk 4 KiB random read, Sync", .op = "request"},
	    {.name = "virtio-blk 4 KiB random read, Async", .op = "request"},
	    {.name = "virtio-blk 4 KiB read, Sync, 40 MiB/s limit",
	     .op = "request",
	     .limit_mib_s = (double)LIMIT_BUCKET / MIB * 1000 / LIMIT_REFILL_MS},
	    {.name = "virtio-rng 64 KiB request", .op = "request"},
	    {.name = "virtio-net tx 1514 B frames, guest -> tap", .op = "frame"},
	    {.name = "virtio-net rx 1514 B frames, tap -> guest", .op = "frame"},
	    {.name = "virtio-vsock stream guest -> host socket", .op = "4 KiB"},
	    {.name = "virtio-vsock stream host socket -> guest", .op = "4 KiB"},
	    {.name = "mmds_get_keepalive", .op = "request"},
	    {.name = "mmds_get_new_connection", .op = "connection"},
	};
	/* The rows that need a tap: virtio-net's and MMDS's (which answers through it). */
	static const int net_rows[] = {4, 5, 8, 9};
	int nr = sizeof(rows) / sizeof(rows[0]);
	int runs = argc > 2 ? atoi(argv[2]) : 5;
	const char *dir = argc > 3 ? argv[3] : ".";
	char path[4096];
	int ret;

	if (argc < 2) {
		fprintf(stderr, "usage: %s OUT_JSON [RUNS] [SCRATCH_DIR]\n", argv[0]);
		return 2;
	}
	if (runs < 1 || runs > MAX_RUNS)
		runs = 5;
	log_set_level(LOG_WARN);

	ret = blk_make_file(dir, path, sizeof(path));
	if (ret) {
		for (int i = 0; i < 3; i++)
			snprintf(rows[i].skipped, sizeof(rows[i].skipped),
				 "cannot create the test file in %s: %s", dir, strerror(-ret));
	} else {
		bench_blk(&rows[0], path, BLOCK_IO_SYNC, runs);
		bench_blk(&rows[1], path, BLOCK_IO_ASYNC, runs);
		bench_blk(&rows[2], path, BLOCK_IO_SYNC, runs < 3 ? runs : 3);
		unlink(path);
	}
	bench_rng(&rows[3], runs);
#ifdef HAVE_NET
	if (!net_enter_netns(rows[4].skipped, sizeof(rows[4].skipped))) {
		bench_net(&rows[4], &rows[5], runs);
		bench_mmds(&rows[8], &rows[9], runs);
	} else {
		for (size_t i = 1; i < sizeof(net_rows) / sizeof(net_rows[0]); i++)
			snprintf(rows[net_rows[i]].skipped, sizeof(rows[0].skipped), "%s",
				 rows[4].skipped);
		for (size_t i = 0; i < sizeof(net_rows) / sizeof(net_rows[0]); i++)
			rows[net_rows[i]].skip = true;
	}
#else
	for (size_t i = 0; i < sizeof(net_rows) / sizeof(net_rows[0]); i++) {
		snprintf(rows[net_rows[i]].skipped, sizeof(rows[0].skipped),
			 "no virtio-net in this tree");
		rows[net_rows[i]].skip = true;
	}
#endif
#ifdef HAVE_VSOCK
	bench_vsock(&rows[6], &rows[7], runs, dir);
#else
	snprintf(rows[6].skipped, sizeof(rows[6].skipped), "no virtio-vsock in this tree");
	snprintf(rows[7].skipped, sizeof(rows[7].skipped), "no virtio-vsock in this tree");
	rows[6].skip = rows[7].skip = true;
#endif
	ret = report(rows, nr, argv[1]);
	if (ret) {
		fprintf(stderr, "bench_devices: %s\n",
			ret < 0 ? "the results could not be written"
				: "a benchmark failed (FAILED above)");
		return 1;
	}
	return 0;
}
