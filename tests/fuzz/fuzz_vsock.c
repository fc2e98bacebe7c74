// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: virtio-vsock's tx packet parser (header, len, type, op,
 * credit fields, connection state machine) and rx delivery, against a
 * hostile guest, with real host Unix sockets on the other side (no root).
 *
 * The device listens on a private uds_path; the harness listens on
 * "<uds_path>_1024" and "<uds_path>_52", so a guest REQUEST to those ports
 * connects. The input (fuzz_dev.h) sets up the rx (0), tx (1) and event (2)
 * queues and the guest memory image. Its host data is written to every host
 * stream the guest connected to (rx payload for the guest) and, with target
 * flag bit 0, first used as a host-initiated connection to uds_path (so it
 * should start "CONNECT <port>\n"). Rounds: the input's kicks, accept and
 * write, the VMM loop, then rx and tx kicked again and the loop once more.
 *
 * Checked, beyond the sanitizers: the host streams receive exactly the bytes
 * the device counted as forwarded (vsock.tx_bytes_count), and the guest is
 * never given more payload (rx_bytes_count) than the host wrote.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/base/event_loop.h"
#include "tests/fuzz/fuzz_dev.h"
#include "vmm/mem/layout.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/vsock.h"

#define FUZZ_VSOCK_CID	      3
#define FUZZ_VSOCK_MAX_HOST   32
#define FUZZ_VSOCK_HOST_FIRST 0x01 /* target_flags: host-initiated connection */

static const unsigned int listen_ports[] = {1024, 52};
#define NR_LISTENERS (sizeof(listen_ports) / sizeof(listen_ports[0]))

static struct {
	struct guest_mem mem;
	struct event_loop loop;
	struct vsock_dev *vs;
	char dir[64];
	char uds_path[108];
	int listen_fd[NR_LISTENERS];
	int host_fd[FUZZ_VSOCK_MAX_HOST];
	unsigned int nr_host;
	int host_first; /* the host-initiated stream, or -1 */
	uint8_t buf[256 * 1024];
} fz;

static int unix_listen(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 64))
		abort();
	return fd;
}

static void fuzz_init(void)
{
	struct vsock_config cfg = {.guest_cid = FUZZ_VSOCK_CID};
	char err[256], path[128];

	log_set_level(LOG_OFF);
	if (guest_mem_create(&fz.mem, FUZZ_DEV_RAM) || event_loop_init(&fz.loop))
		abort();
	snprintf(fz.dir, sizeof(fz.dir), "/tmp/ember-fuzz-vsock-XXXXXX");
	if (!mkdtemp(fz.dir))
		abort();
	snprintf(fz.uds_path, sizeof(fz.uds_path), "%s/v.sock", fz.dir);
	cfg.uds_path = fz.uds_path;
	if (vsock_create(&fz.vs, &cfg, &fz.mem, LAYOUT_VIRTIO_START, 5, err, sizeof(err))) {
		fprintf(stderr, "fuzz: %s\n", err);
		abort();
	}
	fz.host_first = -1;
	if (virtio_mmio_attach(vsock_mmio(fz.vs), &fz.loop))
		abort();
	for (size_t i = 0; i < NR_LISTENERS; i++) {
		snprintf(path, sizeof(path), "%s_%u", fz.uds_path, listen_ports[i]);
		fz.listen_fd[i] = unix_listen(path);
	}
}

/* Write all of @data that fits now; returns how much went. */
static size_t host_write(int fd, const uint8_t *data, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, data + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return done;
}

static void host_connect(const struct fuzz_dev_input *in, uint64_t *written)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		abort();
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", fz.uds_path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		close(fd);
		return;
	}
	fz.host_first = fd;
	fz.host_fd[fz.nr_host++] = fd;
	/* The handshake line is not payload for the guest but is counted: the bound stays safe. */
	*written += host_write(fd, in->host, in->host_len);
}

/* Take the streams the guest connected, and send each the host data. */
static void host_accept(const struct fuzz_dev_input *in, uint64_t *written)
{
	for (size_t i = 0; i < NR_LISTENERS; i++) {
		int fd;

		while ((fd = accept4(fz.listen_fd[i], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >=
		       0) {
			if (fz.nr_host == FUZZ_VSOCK_MAX_HOST) {
				close(fd);
				continue;
			}
			fz.host_fd[fz.nr_host++] = fd;
			*written += host_write(fd, in->host, in->host_len);
		}
	}
}

/* The "OK <port>\n" the device answers a host-initiated CONNECT with is not payload. */
static size_t ok_line_len(const uint8_t *buf, size_t len)
{
	const uint8_t *nl;

	if (len < 3 || memcmp(buf, "OK ", 3))
		return 0;
	nl = memchr(buf, '\n', len);
	return nl ? (size_t)(nl - buf) + 1 : 0;
}

/* Everything the device forwarded to the host streams, in bytes. */
static uint64_t host_read_all(void)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < fz.nr_host; i++) {
		bool first = fz.host_fd[i] == fz.host_first;
		ssize_t n;

		while ((n = read(fz.host_fd[i], fz.buf, sizeof(fz.buf))) > 0) {
			total += (uint64_t)n;
			if (first)
				total -= ok_line_len(fz.buf, (size_t)n);
			first = false;
		}
	}
	return total;
}

static void host_close_all(void)
{
	for (unsigned int i = 0; i < fz.nr_host; i++)
		close(fz.host_fd[i]);
	fz.nr_host = 0;
	fz.host_first = -1;
}

static void run_loop(unsigned int rounds)
{
	for (unsigned int i = 0; i < rounds; i++)
		event_loop_run_once(&fz.loop, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	struct fuzz_dev_input in;
	struct virtio_mmio_dev *dev;
	uint64_t tx_bytes, rx_bytes, written = 0, forwarded;
	bool active;

	if (!initialised) {
		fuzz_init();
		initialised = 1;
	}
	if (!fuzz_dev_parse(data, size, &in))
		return 0;
	dev = vsock_mmio(fz.vs);
	fuzz_dev_load_image(&fz.mem, &in);
	tx_bytes = g_metrics.vsock.tx_bytes_count;
	rx_bytes = g_metrics.vsock.rx_bytes_count;

	fuzz_dev_bring_up(dev, &in, 3);
	if (in.h.target_flags & FUZZ_VSOCK_HOST_FIRST)
		host_connect(&in, &written);
	run_loop(2);
	fuzz_dev_kicks(dev, &in, 3);
	host_accept(&in, &written);
	run_loop(3);
	virtio_mmio_kick(dev, VSOCK_TXQ);
	virtio_mmio_kick(dev, VSOCK_RXQ);
	run_loop(2);

	forwarded = host_read_all();
	if (forwarded != g_metrics.vsock.tx_bytes_count - tx_bytes)
		__builtin_trap();
	if (g_metrics.vsock.rx_bytes_count - rx_bytes > written)
		__builtin_trap();

	/*
	 * A reset of a running driver drops every connection. (One that never
	 * went live resets nothing: host CONNECTs taken meanwhile wait for it.)
	 */
	active = dev->activated;
	fuzz_dev_reset(dev);
	host_close_all();
	host_accept(&in, &written);
	host_close_all();
	run_loop(1);
	if (active && vsock_connection_count(fz.vs))
		__builtin_trap();
	return 0;
}
