// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock driven the way a guest driver does it (rings and packets in
 * real guest memory, registers through the bus ops) against real Unix
 * sockets on the host side: host- and guest-initiated connections, data both
 * ways byte for byte, credit, shutdown/RST/timeouts closing the host fds,
 * malformed packets.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/base/event_loop.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "vmm/base/metrics.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtq_driver.h"
#include "devices/virtio/vsock.h"
#include "devices/virtio/vsock_packet.h"
#include "vmm/base/vmstate.h"

#define RAM_SIZE   (4 * MIB)
#define BASE	   (LAYOUT_VIRTIO_START + 0x5000)
#define GSI	   11
#define CID	   42
#define QSIZE	   16
#define RING(q)	   (0x10000ULL + 0x4000ULL * (q))
#define NR_RX	   8
#define RX_BUF(i)  (0x100000ULL + 0x11000ULL * (i))
#define RX_LEN	   (VSOCK_HDR_SIZE + 4096)
#define NR_TX	   8
#define TX_BUF(i)  (0x200000ULL + 0x11000ULL * (i))
#define EV_BUF	   0x300000ULL
#define HOST_FIRST (1U << 30) /* first local port of a host-initiated connection */
#define GPORT	   1025	      /* the guest's port */

struct fx {
	struct guest_mem mem;
	struct event_loop loop;
	struct virtq_driver q[3];
	struct vsock_dev *vs;
	struct virtio_mmio_dev *dev;
	char dir[32];
	char uds[64];
	unsigned int tx_slot;
	uint32_t rx_len; /* rx buffer length posted */
	/* The guest's side of the credit protocol. */
	uint32_t buf_alloc, fwd_cnt;
};

static struct fx fixture;

/* ---- plumbing ----------------------------------------------------------------- */

static void pump(struct fx *f)
{
	while (event_loop_run_once(&f->loop, 5) > 0)
		;
}

static void post_rx(struct fx *f, uint16_t i)
{
	virtq_driver_set_desc(&f->q[VSOCK_RXQ], i, RX_BUF(i), f->rx_len, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->q[VSOCK_RXQ], i);
}

static void notify(struct fx *f, unsigned int q)
{
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	pump(f);
}

static int setup_with(void **state, uint32_t rx_len)
{
	struct fx *f = &fixture;
	struct vsock_config cfg = {.guest_cid = CID};
	char err[256];

	memset(f, 0, sizeof(*f));
	metrics_reset();
	strcpy(f->dir, "/tmp/ember-vsock-ut.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->uds, sizeof(f->uds), "%.31s/v.sock", f->dir);
	cfg.uds_path = f->uds;
	if (guest_mem_create(&f->mem, RAM_SIZE) || event_loop_init(&f->loop))
		return -1;
	if (vsock_create(&f->vs, &cfg, &f->mem, BASE, GSI, err, sizeof(err))) {
		fprintf(stderr, "vsock_create: %s\n", err);
		return -1;
	}
	f->dev = vsock_mmio(f->vs);
	if (virtio_mmio_attach(f->dev, &f->loop))
		return -1;
	if (!(virtio_mmio_driver_negotiate(f->dev, VIRTIO_COMMON_FEATURES) &
	      VIRTIO_CONFIG_S_FEATURES_OK))
		return -1;
	for (unsigned int q = 0; q < 3; q++) {
		if (virtq_driver_init(&f->q[q], &f->mem, RING(q), QSIZE) ||
		    virtio_mmio_driver_setup_queue(f->dev, q, &f->q[q]) != 1)
			return -1;
	}
	if (!(virtio_mmio_driver_ok(f->dev) & VIRTIO_CONFIG_S_DRIVER_OK))
		return -1;
	f->rx_len = rx_len;
	for (uint16_t i = 0; i < NR_RX; i++)
		post_rx(f, i);
	f->buf_alloc = 64 * 1024;
	pump(f);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, RX_LEN);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char path[320];
	DIR *d = opendir(f->dir);
	struct dirent *e;

	virtio_mmio_detach(f->dev);
	vsock_destroy(f->vs);
	event_loop_destroy(&f->loop);
	guest_mem_destroy(&f->mem);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", f->dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(f->dir);
	return 0;
}

static unsigned int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* ---- the guest's packets ------------------------------------------------------ */

static struct vsock_hdr ghdr(struct fx *f, uint16_t op, uint32_t src_port, uint32_t dst_port)
{
	return (struct vsock_hdr){
	    .src_cid = CID,
	    .dst_cid = VSOCK_HOST_CID,
	    .src_port = src_port,
	    .dst_port = dst_port,
	    .type = VIRTIO_VSOCK_TYPE_STREAM,
	    .op = op,
	    .buf_alloc = f->buf_alloc,
	    .fwd_cnt = f->fwd_cnt,
	};
}

/* One tx chain of @desc_len bytes: the header then @len bytes of @data. */
static void guest_send_raw(struct fx *f, const struct vsock_hdr *h, const void *data, uint32_t len,
			   uint32_t desc_len)
{
	struct virtio_vsock_hdr wire;
	uint16_t slot = (uint16_t)(f->tx_slot++ % NR_TX);
	uint32_t id, used;

	vsock_hdr_encode(h, &wire);
	assert_int_equal(guest_mem_write(&f->mem, TX_BUF(slot), &wire, sizeof(wire)), 0);
	if (len)
		assert_int_equal(guest_mem_write(&f->mem, TX_BUF(slot) + VSOCK_HDR_SIZE, data, len),
				 0);
	virtq_driver_set_desc(&f->q[VSOCK_TXQ], slot, TX_BUF(slot), desc_len, 0, 0);
	virtq_driver_publish(&f->q[VSOCK_TXQ], slot);
	notify(f, VSOCK_TXQ);
	/* tx buffers are always consumed, with nothing written. */
	assert_int_equal(virtq_driver_get_used(&f->q[VSOCK_TXQ], &id, &used), 1);
	assert_int_equal(id, slot);
	assert_int_equal(used, 0);
}

static void guest_send(struct fx *f, uint16_t op, uint32_t src_port, uint32_t dst_port,
		       const void *data, uint32_t len)
{
	struct vsock_hdr h = ghdr(f, op, src_port, dst_port);

	h.len = len;
	guest_send_raw(f, &h, data, len, VSOCK_HDR_SIZE + len);
}

/* The next packet the device put in an rx buffer (which is posted again): 1, or 0. */
static int guest_recv(struct fx *f, struct vsock_hdr *h, uint8_t *data)
{
	struct virtio_vsock_hdr wire;
	uint32_t id, used;

	if (!virtq_driver_get_used(&f->q[VSOCK_RXQ], &id, &used))
		return 0;
	assert_true(id < NR_RX);
	assert_true(used >= VSOCK_HDR_SIZE);
	assert_int_equal(guest_mem_read(&f->mem, RX_BUF(id), &wire, sizeof(wire)), 0);
	vsock_hdr_decode(&wire, h);
	/* The used length is exactly header + payload. */
	assert_int_equal(used, VSOCK_HDR_SIZE + h->len);
	assert_true(h->len <= f->rx_len - VSOCK_HDR_SIZE);
	if (data && h->len)
		assert_int_equal(guest_mem_read(&f->mem, RX_BUF(id) + VSOCK_HDR_SIZE, data, h->len),
				 0);
	post_rx(f, (uint16_t)id);
	notify(f, VSOCK_RXQ);
	return 1;
}

/* A packet from the host side must be there; checks the fields every packet has. */
static void expect_pkt(struct fx *f, struct vsock_hdr *h, uint8_t *data, uint16_t op)
{
	pump(f);
	assert_int_equal(guest_recv(f, h, data), 1);
	assert_int_equal(h->op, op);
	assert_int_equal(h->src_cid, VSOCK_HOST_CID);
	assert_int_equal(h->dst_cid, CID);
	assert_int_equal(h->type, VIRTIO_VSOCK_TYPE_STREAM);
	if (op != VIRTIO_VSOCK_OP_RST) {
		assert_int_equal(h->buf_alloc, 64 * 1024);
	}
}

static void expect_nothing(struct fx *f)
{
	struct vsock_hdr h;

	pump(f);
	assert_int_equal(guest_recv(f, &h, NULL), 0);
}

/* ---- host side ---------------------------------------------------------------- */

static int unix_connect(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static int unix_listen(struct fx *f, uint32_t port)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%.63s_%u", f->uds, port);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	return fd;
}

static void write_all(int fd, const void *buf, size_t len)
{
	assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Read exactly @len bytes, running the device meanwhile. */
static void read_exact(struct fx *f, int fd, void *buf, size_t len)
{
	size_t got = 0;

	for (int tries = 0; got < len && tries < 400; tries++) {
		ssize_t n = recv(fd, (uint8_t *)buf + got, len - got, MSG_DONTWAIT);

		if (n > 0)
			got += (size_t)n;
		else if (n == 0)
			break;
		else
			pump(f);
	}
	assert_int_equal(got, len);
}

/* The stream must be at its end (0 bytes, not EAGAIN). */
static void expect_eof(struct fx *f, int fd)
{
	char c;
	ssize_t n = -1;

	for (int tries = 0; tries < 100; tries++) {
		n = recv(fd, &c, 1, MSG_DONTWAIT);
		if (n >= 0 || errno != EAGAIN)
			break;
		pump(f);
	}
	assert_int_equal(n, 0);
}

/* Closed by the device: EOF, or ECONNRESET when it closed with our bytes unread. */
static void expect_closed(struct fx *f, int fd)
{
	char c;
	ssize_t n = -1;

	for (int tries = 0; tries < 100; tries++) {
		n = recv(fd, &c, 1, MSG_DONTWAIT);
		if (n >= 0 || errno != EAGAIN)
			break;
		pump(f);
	}
	assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
}

/* Host-initiated connection to guest port @port up to "OK <lp>\n". Returns the client fd. */
static int host_connect(struct fx *f, uint32_t port, uint32_t *local_port)
{
	struct vsock_hdr h;
	char line[32], want[32];
	int fd = unix_connect(f->uds);

	snprintf(line, sizeof(line), "CONNECT %u\n", port);
	write_all(fd, line, strlen(line));
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_port, port);
	assert_true(h.src_port >= HOST_FIRST && h.src_port < (1U << 31));
	assert_int_equal(h.len, 0);
	guest_send(f, VIRTIO_VSOCK_OP_RESPONSE, port, h.src_port, NULL, 0);
	snprintf(want, sizeof(want), "OK %u\n", h.src_port);
	read_exact(f, fd, line, strlen(want));
	assert_memory_equal(line, want, strlen(want));
	*local_port = h.src_port;
	return fd;
}

/* Guest-initiated connection from GPORT to host port @port, accepted on @lfd. */
static int guest_connect(struct fx *f, int lfd, uint32_t port)
{
	struct vsock_hdr h;
	int fd;

	guest_send(f, VIRTIO_VSOCK_OP_REQUEST, GPORT, port, NULL, 0);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_RESPONSE);
	assert_int_equal(h.src_port, port);
	assert_int_equal(h.dst_port, GPORT);
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245U + 12345U;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* ---- tests -------------------------------------------------------------------- */

static void test_identity_and_config(void **state)
{
	struct fx *f = *state;
	uint8_t b[8];

	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_VSOCK);
	for (unsigned int q = 0; q < 3; q++) {
		virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_QUEUE_SEL, q);
		assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	}
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_QUEUE_SEL, 3);
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	/* guest_cid, little-endian, read whole or in halves. */
	virtio_mmio_bus_ops.read(f->dev, VIRTIO_MMIO_CONFIG, b, 8);
	assert_memory_equal(b, ((uint8_t[]){CID, 0, 0, 0, 0, 0, 0, 0}), 8);
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_CONFIG), CID);
	assert_int_equal(virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_CONFIG + 4), 0);
	virtio_mmio_bus_ops.read(f->dev, VIRTIO_MMIO_CONFIG + 8, b, 4);
	assert_int_equal(g_metrics.virtio.config_out_of_range, 1);
	assert_int_equal(vsock_guest_cid(f->vs), CID);
	/* The listener exists as a socket file. */
	struct stat st;
	assert_int_equal(stat(f->uds, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
}

static void test_host_initiated_data_both_ways(void **state)
{
	struct fx *f = *state;
	struct vsock_hdr h;
	uint8_t buf[4096];
	uint32_t lp, lp2;
	int fd = host_connect(f, 1234, &lp), fd2;
	const char *to_guest = "hello from the host\n", *to_host = "hello from the guest\n";

	assert_int_equal(lp, HOST_FIRST);
	assert_int_equal(vsock_connection_count(f->vs), 1);
	write_all(fd, to_guest, strlen(to_guest));
	expect_pkt(f, &h, buf, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(h.src_port, lp);
	assert_int_equal(h.dst_port, 1234);
	assert_int_equal(h.len, strlen(to_guest));
	assert_memory_equal(buf, to_guest, strlen(to_guest));
	f->fwd_cnt += h.len;

	guest_send(f, VIRTIO_VSOCK_OP_RW, 1234, lp, to_host, (uint32_t)strlen(to_host));
	read_exact(f, fd, buf, strlen(to_host));
	assert_memory_equal(buf, to_host, strlen(to_host));
	assert_int_equal(g_metrics.vsock.tx_bytes_count, strlen(to_host));
	assert_int_equal(g_metrics.vsock.rx_bytes_count, strlen(to_guest));

	/* A second host connection gets the next local port. */
	fd2 = host_connect(f, 1234, &lp2);
	assert_int_equal(lp2, HOST_FIRST + 1);
	assert_int_equal(vsock_connection_count(f->vs), 2);
	close(fd2);
	close(fd);
}

static void test_bytes_after_connect_line_are_data(void **state)
{
	struct fx *f = *state;
	struct vsock_hdr h;
	uint8_t buf[64];
	char line[32];
	int fd = unix_connect(f->uds);

	/* The line and the first data in one write: nothing past '\n' is lost. */
	write_all(fd, "connect 77 \r\nearly bytes", 24);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_port, 77);
	expect_nothing(f); /* no data before the guest accepted */
	guest_send(f, VIRTIO_VSOCK_OP_RESPONSE, 77, h.src_port, NULL, 0);
	read_exact(f, fd, line, 14);
	assert_memory_equal(line, "OK 1073741824\n", 14);
	expect_pkt(f, &h, buf, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(h.len, 11);
	assert_memory_equal(buf, "early bytes", 11);
	close(fd);
}

static void test_guest_initiated_data_both_ways(void **state)
{
	struct fx *f = *state;
	int lfd = unix_listen(f, 52), fd;
	struct vsock_hdr h;
	uint8_t buf[64];

	fd = guest_connect(f, lfd, 52);
	assert_int_equal(vsock_connection_count(f->vs), 1);
	guest_send(f, VIRTIO_VSOCK_OP_RW, GPORT, 52, "ping", 4);
	read_exact(f, fd, buf, 4);
	assert_memory_equal(buf, "ping", 4);
	write_all(fd, "pong!", 5);
	expect_pkt(f, &h, buf, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(h.src_port, 52);
	assert_int_equal(h.dst_port, GPORT);
	assert_int_equal(h.len, 5);
	assert_memory_equal(buf, "pong!", 5);
	assert_int_equal(g_metrics.vsock.conns_added, 1);
	close(fd);
	close(lfd);
}

static void test_guest_connect_without_listener_gets_rst(void **state)
{
	struct fx *f = *state;
	struct vsock_hdr h;
	unsigned int fds = count_fds();

	guest_send(f, VIRTIO_VSOCK_OP_REQUEST, GPORT, 53, NULL, 0);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(h.src_port, 53);
	assert_int_equal(h.dst_port, GPORT);
	assert_int_equal(h.len, 0);
	assert_int_equal(vsock_connection_count(f->vs), 0);
	assert_int_equal(g_metrics.vsock.conns_refused, 1);
	assert_int_equal(count_fds(), fds);
	expect_nothing(f);
}

/* Host -> guest: never more than the guest's credit, all bytes in order. */
static void test_credit_limits_host_to_guest(void **state)
{
	struct fx *f = *state;
	static uint8_t sent[100000], got[100000];
	uint32_t lp, in_flight_max = 0, total = 0;
	struct vsock_hdr h;
	int fd, rounds = 0;
	size_t written = 0;

	f->buf_alloc = 3000;
	fd = host_connect(f, 9, &lp);
	fill_pattern(sent, sizeof(sent), 1);
	while (total < sizeof(sent) && rounds++ < 1000) {
		ssize_t n = written < sizeof(sent)
				? send(fd, sent + written, sizeof(sent) - written, MSG_DONTWAIT)
				: 0;

		if (n > 0)
			written += (size_t)n;
		pump(f);
		while (guest_recv(f, &h, got + total)) {
			if (h.op == VIRTIO_VSOCK_OP_CREDIT_REQUEST)
				continue;
			assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
			total += h.len;
			/* Bytes the guest holds unconsumed never exceed its buf_alloc. */
			if (total - f->fwd_cnt > in_flight_max)
				in_flight_max = total - f->fwd_cnt;
			assert_true(total - f->fwd_cnt <= f->buf_alloc);
		}
		/* The guest consumes everything, then says so. */
		if (total != f->fwd_cnt) {
			f->fwd_cnt = total;
			guest_send(f, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 9, lp, NULL, 0);
		}
	}
	assert_int_equal(total, sizeof(sent));
	assert_memory_equal(got, sent, sizeof(sent));
	assert_int_equal(in_flight_max, 3000);
	close(fd);
}

/* With no credit left the device asks for it (once) and sends nothing else. */
static void test_credit_request_when_exhausted(void **state)
{
	struct fx *f = *state;
	uint8_t data[2000], buf[4096];
	struct vsock_hdr h;
	uint32_t lp;
	int fd;

	f->buf_alloc = 1000;
	fd = host_connect(f, 9, &lp);
	fill_pattern(data, sizeof(data), 7);
	write_all(fd, data, sizeof(data));
	expect_pkt(f, &h, buf, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(h.len, 1000);
	assert_memory_equal(buf, data, 1000);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_CREDIT_REQUEST);
	expect_nothing(f);
	/* Credit back (the guest consumed 1000): the rest arrives. */
	f->fwd_cnt = 1000;
	guest_send(f, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 9, lp, NULL, 0);
	expect_pkt(f, &h, buf, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(h.len, 1000);
	assert_memory_equal(buf, data + 1000, 1000);
	close(fd);
}

/* Guest -> host in bulk, the guest respecting our credit and waiting for updates. */
static void test_guest_to_host_bulk_with_credit(void **state)
{
	struct fx *f = *state;
	static uint8_t sent[300000], got[300000];
	int lfd = unix_listen(f, 60), fd;
	uint32_t tx_cnt = 0, peer_fwd = 0, peer_alloc = 64 * 1024;
	size_t received = 0;
	struct vsock_hdr h;
	int rounds = 0;

	fill_pattern(sent, sizeof(sent), 3);
	fd = guest_connect(f, lfd, 60);
	while (received < sizeof(sent) && rounds++ < 5000) {
		uint32_t credit = peer_alloc - (tx_cnt - peer_fwd);
		uint32_t chunk = sizeof(sent) - tx_cnt;

		if (chunk > 4096)
			chunk = 4096;
		if (chunk > credit)
			chunk = credit;
		if (chunk) {
			guest_send(f, VIRTIO_VSOCK_OP_RW, GPORT, 60, sent + tx_cnt, chunk);
			tx_cnt += chunk;
		}
		/* The host reads slowly: a little each round. */
		if (rounds % 4 == 0) {
			size_t want = sizeof(got) - received < 8192 ? sizeof(got) - received : 8192;
			ssize_t n = recv(fd, got + received, want, MSG_DONTWAIT);

			if (n > 0)
				received += (size_t)n;
			pump(f);
		}
		while (guest_recv(f, &h, NULL)) {
			assert_true(h.op == VIRTIO_VSOCK_OP_CREDIT_UPDATE ||
				    h.op == VIRTIO_VSOCK_OP_RW);
			peer_fwd = h.fwd_cnt;
			peer_alloc = h.buf_alloc;
		}
	}
	assert_int_equal(received, sizeof(sent));
	assert_memory_equal(got, sent, sizeof(sent));
	assert_int_equal(g_metrics.vsock.credit_violations, 0);
	assert_true(g_metrics.vsock.rx_packets_count > 2); /* credit updates were sent */
	close(fd);
	close(lfd);
}

/* A guest that ignores its credit while the host does not read is reset. */
static void test_credit_violation_resets(void **state)
{
	struct fx *f = *state;
	static uint8_t data[64 * 1024];
	int lfd = unix_listen(f, 61), fd;
	struct vsock_hdr h;
	int sent = 0;

	fd = guest_connect(f, lfd, 61);
	fill_pattern(data, sizeof(data), 5);
	/* Socket buffers take some; past them and our 64 KiB it is a violation. */
	while (!g_metrics.vsock.credit_violations && sent < 200) {
		guest_send(f, VIRTIO_VSOCK_OP_RW, GPORT, 61, data, sizeof(data));
		sent++;
	}
	assert_int_equal(g_metrics.vsock.credit_violations, 1);
	/* The guest gets an RST (maybe after credit updates), the host stream its end. */
	pump(f);
	do
		assert_int_equal(guest_recv(f, &h, NULL), 1);
	while (h.op == VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	assert_int_equal(h.op, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(h.src_port, 61);
	assert_int_equal(vsock_connection_count(f->vs), 0);
	{
		static uint8_t got[64 * 1024];
		size_t total = 0;
		ssize_t n;

		/* What did reach the host is an uncorrupted prefix, then EOF. */
		while ((n = recv(fd, got, sizeof(got), MSG_DONTWAIT)) > 0) {
			for (ssize_t i = 0; i < n; i++)
				assert_int_equal(got[i], data[(total + (size_t)i) % sizeof(data)]);
			total += (size_t)n;
		}
		assert_int_equal(n, 0);
		assert_true(total >= 64 * 1024);
	}
	close(fd);
	close(lfd);
}

static void test_rst_and_shutdown_close_host_fds(void **state)
{
	struct fx *f = *state;
	unsigned int fds_before = count_fds();
	int lfd = unix_listen(f, 70), gfd, hfd;
	struct vsock_hdr h;
	uint32_t lp;

	gfd = guest_connect(f, lfd, 70);
	hfd = host_connect(f, 80, &lp);
	assert_int_equal(vsock_connection_count(f->vs), 2);
	assert_int_equal(count_fds(), fds_before + 1 /* lfd */ + 2 /* clients */ + 2 /* ours */);

	/* The guest resets the host-initiated one: its stream is closed at once. */
	guest_send(f, VIRTIO_VSOCK_OP_RST, 80, lp, NULL, 0);
	expect_eof(f, hfd);
	assert_int_equal(vsock_connection_count(f->vs), 1);
	expect_nothing(f); /* no RST answers an RST */

	/* The guest shuts the other down both ways: RST back, stream closed. */
	h = ghdr(f, VIRTIO_VSOCK_OP_SHUTDOWN, GPORT, 70);
	h.flags = VSOCK_SHUTDOWN_BOTH;
	guest_send_raw(f, &h, NULL, 0, VSOCK_HDR_SIZE);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(h.src_port, 70);
	expect_eof(f, gfd);
	assert_int_equal(vsock_connection_count(f->vs), 0);

	close(gfd);
	close(hfd);
	close(lfd);
	assert_int_equal(count_fds(), fds_before);
	assert_int_equal(g_metrics.vsock.conns_added, 2);
	assert_int_equal(g_metrics.vsock.conns_removed, 2);
}

static void test_host_close_and_half_close(void **state)
{
	struct fx *f = *state;
	int lfd = unix_listen(f, 90), fd;
	struct vsock_hdr h;
	uint8_t buf[64];
	uint32_t lp;

	/* Full close: SHUTDOWN both ways to the guest, its RST ends the connection. */
	fd = host_connect(f, 91, &lp);
	write_all(fd, "bye", 3);
	close(fd);
	expect_pkt(f, &h, buf, VIRTIO_VSOCK_OP_RW);
	assert_memory_equal(buf, "bye", 3);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VSOCK_SHUTDOWN_BOTH);
	assert_int_equal(vsock_connection_count(f->vs), 1);
	guest_send(f, VIRTIO_VSOCK_OP_RST, 91, lp, NULL, 0);
	assert_int_equal(vsock_connection_count(f->vs), 0);

	/* Half close: the guest learns the host sends no more, and can still answer. */
	fd = guest_connect(f, lfd, 90);
	write_all(fd, "request", 7);
	shutdown(fd, SHUT_WR);
	expect_pkt(f, &h, buf, VIRTIO_VSOCK_OP_RW);
	assert_memory_equal(buf, "request", 7);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VIRTIO_VSOCK_SHUTDOWN_SEND);
	guest_send(f, VIRTIO_VSOCK_OP_RW, GPORT, 90, "answer", 6);
	read_exact(f, fd, buf, 6);
	assert_memory_equal(buf, "answer", 6);
	/* The guest closes too: the host reads EOF, the guest gets the final RST. */
	h = ghdr(f, VIRTIO_VSOCK_OP_SHUTDOWN, GPORT, 90);
	h.flags = VSOCK_SHUTDOWN_BOTH;
	guest_send_raw(f, &h, NULL, 0, VSOCK_HDR_SIZE);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_RST);
	expect_eof(f, fd);
	assert_int_equal(vsock_connection_count(f->vs), 0);
	close(fd);
	close(lfd);
}

/* The host client gives up before the guest accepted: the guest's half-open socket is reset. */
static void test_host_hangs_up_while_connecting(void **state)
{
	struct fx *f = *state;
	unsigned int fds_before = count_fds();
	struct vsock_hdr h;
	int fd = unix_connect(f->uds);

	write_all(fd, "CONNECT 300\n", 12);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_REQUEST);
	close(fd);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(h.dst_port, 300);
	assert_int_equal(vsock_connection_count(f->vs), 0);
	assert_int_equal(count_fds(), fds_before);
	/* A RESPONSE arriving late is refused. */
	guest_send(f, VIRTIO_VSOCK_OP_RESPONSE, 300, h.src_port, NULL, 0);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_RST);
}

/* Half-close, then the full close: SHUTDOWN(SEND), then SHUTDOWN(RCV|SEND) and a timeout. */
static void test_half_close_then_hang_up(void **state)
{
	struct fx *f = *state;
	struct vsock_hdr h;
	uint32_t lp;
	int fd = host_connect(f, 310, &lp);

	shutdown(fd, SHUT_WR);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VIRTIO_VSOCK_SHUTDOWN_SEND);
	expect_nothing(f);
	close(fd);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_SHUTDOWN);
	assert_int_equal(h.flags, VSOCK_SHUTDOWN_BOTH);
	assert_int_equal(vsock_connection_count(f->vs), 1);
	/* Data from the guest racing the SHUTDOWN is dropped, not answered. */
	guest_send(f, VIRTIO_VSOCK_OP_RW, 310, lp, "late", 4);
	expect_nothing(f);
	/* The guest never sends its RST: the device does after 2 s. */
	for (int i = 0; i < 40 && !g_metrics.vsock.conn_timeouts; i++)
		event_loop_run_once(&f->loop, 100);
	assert_int_equal(g_metrics.vsock.conn_timeouts, 1);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(vsock_connection_count(f->vs), 0);
}

static void test_guest_half_close_reaches_host(void **state)
{
	struct fx *f = *state;
	int lfd = unix_listen(f, 95), fd;
	struct vsock_hdr h;
	uint8_t buf[16];

	fd = guest_connect(f, lfd, 95);
	guest_send(f, VIRTIO_VSOCK_OP_RW, GPORT, 95, "last", 4);
	h = ghdr(f, VIRTIO_VSOCK_OP_SHUTDOWN, GPORT, 95);
	h.flags = VIRTIO_VSOCK_SHUTDOWN_SEND;
	guest_send_raw(f, &h, NULL, 0, VSOCK_HDR_SIZE);
	read_exact(f, fd, buf, 4);
	assert_memory_equal(buf, "last", 4);
	expect_eof(f, fd); /* the guest's end of data */
	/* The other direction still works. */
	write_all(fd, "reply", 5);
	expect_pkt(f, &h, buf, VIRTIO_VSOCK_OP_RW);
	assert_memory_equal(buf, "reply", 5);
	close(fd);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_RST); /* host gone, guest done sending */
	assert_int_equal(vsock_connection_count(f->vs), 0);
	close(lfd);
}

static void test_connect_timeout(void **state)
{
	struct fx *f = *state;
	unsigned int fds_before = count_fds();
	struct timespec start, now;
	struct vsock_hdr h;
	int fd = unix_connect(f->uds);

	write_all(fd, "CONNECT 5000\n", 13);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_REQUEST);
	/* The guest never answers: after 2 s it gets an RST, the host client EOF without OK. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		event_loop_run_once(&f->loop, 100);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (!g_metrics.vsock.conn_timeouts && now.tv_sec - start.tv_sec < 5);
	assert_int_equal(g_metrics.vsock.conn_timeouts, 1);
	assert_true((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
		    1900);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(h.dst_port, 5000);
	expect_eof(f, fd);
	assert_int_equal(vsock_connection_count(f->vs), 0);
	close(fd);
	assert_int_equal(count_fds(), fds_before);
}

static void test_bad_connect_lines(void **state)
{
	struct fx *f = *state;
	const char *bad[] = {"HELLO 5\n", "CONNECT abc\n", "CONNECT\n", "CONNECT 4294967296\n",
			     "CONNECT 5 but this line is far too long\n"};
	unsigned int fds_before = count_fds();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = unix_connect(f->uds);

		write_all(fd, bad[i], strlen(bad[i]));
		expect_closed(f, fd);
		close(fd);
	}
	/* A client that leaves before finishing its line. */
	{
		int fd = unix_connect(f->uds);

		write_all(fd, "CONN", 4);
		pump(f);
		close(fd);
		pump(f);
	}
	assert_int_equal(g_metrics.vsock.host_connect_errors, 6);
	assert_int_equal(vsock_connection_count(f->vs), 0);
	assert_int_equal(count_fds(), fds_before);
	expect_nothing(f);
}

static void test_malformed_packets(void **state)
{
	struct fx *f = *state;
	static uint8_t big[VSOCK_MAX_PKT_PAYLOAD + 16];
	struct vsock_hdr h;
	int lfd, fd;
	uint8_t buf[16];

	/* Shorter than a header: dropped, counted, no answer. */
	h = ghdr(f, VIRTIO_VSOCK_OP_REQUEST, GPORT, 52);
	guest_send_raw(f, &h, NULL, 0, 20);
	assert_int_equal(g_metrics.vsock.malformed_pkts, 1);
	expect_nothing(f);

	/* len past the buffer: RST. */
	h = ghdr(f, VIRTIO_VSOCK_OP_RW, GPORT, 52);
	h.len = 1000;
	guest_send_raw(f, &h, "0123456789", 10, VSOCK_HDR_SIZE + 10);
	assert_int_equal(g_metrics.vsock.malformed_pkts, 2);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(h.src_port, 52);
	assert_int_equal(h.dst_port, GPORT);

	/* len above 64 KiB even though the buffer holds it. */
	h = ghdr(f, VIRTIO_VSOCK_OP_RW, GPORT, 52);
	h.len = sizeof(big);
	guest_send_raw(f, &h, big, sizeof(big), VSOCK_HDR_SIZE + sizeof(big));
	assert_int_equal(g_metrics.vsock.malformed_pkts, 3);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_RST);

	/* Wrong CIDs: dropped silently. */
	h = ghdr(f, VIRTIO_VSOCK_OP_REQUEST, GPORT, 52);
	h.src_cid = CID + 1;
	guest_send_raw(f, &h, NULL, 0, VSOCK_HDR_SIZE);
	h = ghdr(f, VIRTIO_VSOCK_OP_REQUEST, GPORT, 52);
	h.dst_cid = 7;
	guest_send_raw(f, &h, NULL, 0, VSOCK_HDR_SIZE);
	h = ghdr(f, VIRTIO_VSOCK_OP_REQUEST, GPORT, 52);
	h.src_cid |= 1ULL << 40;
	guest_send_raw(f, &h, NULL, 0, VSOCK_HDR_SIZE);
	assert_int_equal(g_metrics.vsock.wrong_cid_pkts, 3);
	expect_nothing(f);

	/* Unknown op, op 0, a datagram type: RST. */
	h = ghdr(f, 99, GPORT, 52);
	guest_send_raw(f, &h, NULL, 0, VSOCK_HDR_SIZE);
	h = ghdr(f, VIRTIO_VSOCK_OP_INVALID, GPORT, 52);
	guest_send_raw(f, &h, NULL, 0, VSOCK_HDR_SIZE);
	h = ghdr(f, VIRTIO_VSOCK_OP_REQUEST, GPORT, 52);
	h.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	guest_send_raw(f, &h, NULL, 0, VSOCK_HDR_SIZE);
	assert_int_equal(g_metrics.vsock.invalid_op_pkts, 3);
	for (int i = 0; i < 3; i++)
		expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_RST);

	/* Packets for no connection: RST, except for an RST. */
	guest_send(f, VIRTIO_VSOCK_OP_RW, GPORT, 52, "x", 1);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_RST);
	guest_send(f, VIRTIO_VSOCK_OP_RESPONSE, GPORT, 52, NULL, 0);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_RST);
	guest_send(f, VIRTIO_VSOCK_OP_RST, GPORT, 52, NULL, 0);
	expect_nothing(f);

	/* A malformed packet for a live connection resets it. */
	lfd = unix_listen(f, 52);
	fd = guest_connect(f, lfd, 52);
	h = ghdr(f, VIRTIO_VSOCK_OP_RW, GPORT, 52);
	h.len = 500;
	guest_send_raw(f, &h, "abc", 3, VSOCK_HDR_SIZE + 3);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_RST);
	expect_eof(f, fd);
	close(fd);

	/* After all that the device still serves a proper connection. */
	fd = guest_connect(f, lfd, 52);
	guest_send(f, VIRTIO_VSOCK_OP_RW, GPORT, 52, "fine", 4);
	read_exact(f, fd, buf, 4);
	assert_memory_equal(buf, "fine", 4);
	close(fd);
	close(lfd);
	assert_int_equal(
	    virtio_mmio_driver_read(f->dev, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
}

/* Reset the device and bring it up again on fresh rings with no rx buffer posted. */
static void reinit_without_rx(struct fx *f)
{
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(virtio_mmio_driver_negotiate(f->dev, VIRTIO_COMMON_FEATURES) &
			     VIRTIO_CONFIG_S_FEATURES_OK,
			 VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int q = 0; q < 3; q++) {
		assert_int_equal(virtq_driver_init(&f->q[q], &f->mem, RING(q), QSIZE), 0);
		assert_int_equal(virtio_mmio_driver_setup_queue(f->dev, q, &f->q[q]), 1);
	}
	assert_true(virtio_mmio_driver_ok(f->dev) & VIRTIO_CONFIG_S_DRIVER_OK);
	pump(f);
}

static void test_bad_rx_buffers(void **state)
{
	struct fx *f = *state;
	uint32_t id, len;
	struct vsock_hdr h;

	reinit_without_rx(f);
	/* Too small for a header, then device-readable: both refused, then a good one. */
	virtq_driver_set_desc(&f->q[VSOCK_RXQ], 0, RX_BUF(0), 40, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->q[VSOCK_RXQ], 0);
	virtq_driver_set_desc(&f->q[VSOCK_RXQ], 1, RX_BUF(1), 100, 0, 0);
	virtq_driver_publish(&f->q[VSOCK_RXQ], 1);
	post_rx(f, 2);
	guest_send(f, VIRTIO_VSOCK_OP_REQUEST, GPORT, 4321, NULL, 0);
	pump(f);
	assert_int_equal(virtq_driver_get_used(&f->q[VSOCK_RXQ], &id, &len), 1);
	assert_int_equal(id, 0);
	assert_int_equal(len, 0);
	assert_int_equal(virtq_driver_get_used(&f->q[VSOCK_RXQ], &id, &len), 1);
	assert_int_equal(id, 1);
	assert_int_equal(len, 0);
	assert_int_equal(g_metrics.vsock.malformed_pkts, 2);
	/* The RST for the refused connection lands in the good buffer. */
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_RST);
	assert_int_equal(h.src_port, 4321);
}

static void test_device_reset_closes_everything(void **state)
{
	struct fx *f = *state;
	unsigned int fds_before = count_fds();
	int lfd = unix_listen(f, 100), gfd, hfd;
	uint32_t lp;

	gfd = guest_connect(f, lfd, 100);
	hfd = host_connect(f, 101, &lp);
	assert_int_equal(vsock_connection_count(f->vs), 2);
	virtio_mmio_driver_write(f->dev, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(vsock_connection_count(f->vs), 0);
	expect_eof(f, gfd);
	expect_eof(f, hfd);
	close(gfd);
	close(hfd);
	close(lfd);
	assert_int_equal(count_fds(), fds_before);
}

static void test_packets_wait_for_rx_buffers(void **state)
{
	struct fx *f = *state;
	struct vsock_hdr h;
	uint8_t buf[64];
	uint32_t lp;
	int fd;

	reinit_without_rx(f);
	fd = unix_connect(f->uds);
	write_all(fd, "CONNECT 7\n", 10);
	pump(f);
	assert_int_equal(vsock_connection_count(f->vs), 1);
	expect_nothing(f);
	/* The REQUEST goes out as soon as a buffer comes. */
	post_rx(f, 0);
	notify(f, VSOCK_RXQ);
	expect_pkt(f, &h, NULL, VIRTIO_VSOCK_OP_REQUEST);
	lp = h.src_port;
	guest_send(f, VIRTIO_VSOCK_OP_RESPONSE, 7, lp, NULL, 0);
	read_exact(f, fd, buf, 14);
	close(fd);
}

static void test_transport_reset_event(void **state)
{
	struct fx *f = *state;
	uint32_t id, len, val = 0xffffffff;

	assert_int_equal(vsock_send_transport_reset(f->vs), -ENOBUFS);
	assert_int_equal(guest_mem_write(&f->mem, EV_BUF, &val, 4), 0);
	virtq_driver_set_desc(&f->q[VSOCK_EVQ], 0, EV_BUF, 8, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->q[VSOCK_EVQ], 0);
	notify(f, VSOCK_EVQ);
	/* The buffer is kept until there is an event. */
	assert_int_equal(virtq_driver_get_used(&f->q[VSOCK_EVQ], &id, &len), 0);
	assert_int_equal(vsock_send_transport_reset(f->vs), 0);
	assert_int_equal(virtq_driver_get_used(&f->q[VSOCK_EVQ], &id, &len), 1);
	assert_int_equal(id, 0);
	assert_int_equal(len, 4);
	assert_int_equal(guest_mem_read(&f->mem, EV_BUF, &val, 4), 0);
	assert_int_equal(val, VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
}

/*
 * Snapshot: the guest is told to drop its connections (TRANSPORT_RESET in
 * the saved memory), ours are closed, and a restored device keeps the CID.
 */
static void test_snapshot_resets_transport_and_keeps_cid(void **state)
{
	struct fx *f = *state;
	struct vsock_config cfg = {.guest_cid = 77};
	struct vmstate_writer w;
	struct vmstate_reader r = {0};
	struct vsock_dev *b;
	uint32_t id, len, val = 0xffffffff, lp;
	char path[96], err[256];
	uint8_t cid[8];
	int fd;

	fd = host_connect(f, 33, &lp);
	assert_int_equal(guest_mem_write(&f->mem, EV_BUF, &val, 4), 0);
	virtq_driver_set_desc(&f->q[VSOCK_EVQ], 0, EV_BUF, 4, VRING_DESC_F_WRITE, 0);
	virtq_driver_publish(&f->q[VSOCK_EVQ], 0);
	notify(f, VSOCK_EVQ);

	vmstate_writer_init_raw(&w);
	assert_int_equal(virtio_mmio_save(f->dev, &w), 0);
	assert_int_equal(virtq_driver_get_used(&f->q[VSOCK_EVQ], &id, &len), 1);
	assert_int_equal(len, 4);
	assert_int_equal(guest_mem_read(&f->mem, EV_BUF, &val, 4), 0);
	assert_int_equal(val, VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	assert_int_equal(vsock_connection_count(f->vs), 0);
	expect_eof(f, fd);
	close(fd);

	/* A new device (new process) configured with another CID takes the saved one. */
	snprintf(path, sizeof(path), "%.63s.restored", f->uds);
	cfg.uds_path = path;
	assert_int_equal(vsock_create(&b, &cfg, &f->mem, BASE, GSI, err, sizeof(err)), 0);
	r.p = w.buf;
	r.len = w.len;
	assert_int_equal(virtio_mmio_restore(vsock_mmio(b), &r), 0);
	assert_int_equal(vmstate_reader_end(&r), 0);
	assert_int_equal(vsock_guest_cid(b), CID);
	virtio_mmio_bus_ops.read(vsock_mmio(b), VIRTIO_MMIO_CONFIG, cid, 8);
	assert_memory_equal(cid, ((uint8_t[]){CID, 0, 0, 0, 0, 0, 0, 0}), 8);
	vsock_destroy(b);
	vmstate_writer_free(&w);
}

/* ---- creation errors (no fixture) ------------------------------------------------- */

static void test_create_errors_and_stale_socket(void **state)
{
	char dir[] = "/tmp/ember-vsock-ut.XXXXXX", path[64], err[256];
	struct vsock_config cfg = {.guest_cid = 3, .uds_path = path};
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct guest_mem mem;
	struct vsock_dev *vs;
	struct stat st;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(guest_mem_create(&mem, RAM_SIZE), 0);
	snprintf(path, sizeof(path), "%s/v.sock", dir);

	/* Any guest_cid, as in Firecracker. */
	cfg.guest_cid = 2;
	assert_int_equal(vsock_create(&vs, &cfg, &mem, BASE, GSI, err, sizeof(err)), 0);
	assert_int_equal(vsock_guest_cid(vs), 2);
	vsock_destroy(vs);
	cfg.guest_cid = 3;

	/* A socket file whose owner is gone is replaced. */
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	assert_int_equal(vsock_create(&vs, &cfg, &mem, BASE, GSI, err, sizeof(err)), 0);

	/* A live one is not: a second device on the same path fails. */
	{
		struct vsock_dev *vs2;

		assert_int_equal(vsock_create(&vs2, &cfg, &mem, BASE, GSI, err, sizeof(err)),
				 -EADDRINUSE);
		assert_non_null(strstr(err, path));
	}
	vsock_destroy(vs);
	/* Destroy removed the socket file. */
	assert_int_equal(stat(path, &st), -1);

	/* Not a socket: left alone, error. */
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	assert_int_equal(vsock_create(&vs, &cfg, &mem, BASE, GSI, err, sizeof(err)), -EADDRINUSE);
	assert_int_equal(stat(path, &st), 0);
	unlink(path);

	/* Directory missing. */
	snprintf(path, sizeof(path), "%s/nope/v.sock", dir);
	assert_int_equal(vsock_create(&vs, &cfg, &mem, BASE, GSI, err, sizeof(err)), -ENOENT);
	rmdir(dir);
	guest_mem_destroy(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identity_and_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_host_initiated_data_both_ways, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bytes_after_connect_line_are_data, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_guest_initiated_data_both_ways, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guest_connect_without_listener_gets_rst, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_credit_limits_host_to_guest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_credit_request_when_exhausted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guest_to_host_bulk_with_credit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_credit_violation_resets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rst_and_shutdown_close_host_fds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_host_close_and_half_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_host_hangs_up_while_connecting, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_half_close_then_hang_up, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guest_half_close_reaches_host, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connect_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_connect_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_packets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_rx_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_device_reset_closes_everything, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_packets_wait_for_rx_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transport_reset_event, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_resets_transport_and_keeps_cid, setup,
					    teardown),
	    cmocka_unit_test(test_create_errors_and_stale_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
