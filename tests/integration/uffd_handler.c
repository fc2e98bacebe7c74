// SPDX-License-Identifier: Apache-2.0
/*
 * A page-fault handler for the Uffd memory backend of PUT /snapshot/load,
 * speaking Firecracker's handshake (as its examples/uffd handlers do):
 *
 *   uffd_handler SOCKET MEMORY_FILE
 *
 * Listens on the Unix socket SOCKET, accepts the VMM's connection, receives
 * one message: the JSON array of region mappings
 *   [{"base_host_virt_addr", "size", "offset", "page_size"(, "page_size_kib")}]
 * with the userfaultfd as SCM_RIGHTS. Then every missing-page fault in a
 * region is served with UFFDIO_COPY from MEMORY_FILE at the region's offset,
 * except in pages the VMM gave back (UFFD_EVENT_REMOVE: the balloon, an
 * unplugged virtio-mem block), served zero from then on, as Firecracker's
 * docs ask of a handler.
 * Prints "uffd_handler: listening" once the socket is bound and, when the
 * VMM goes away (socket closed), "uffd_handler: served <n> pages" and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_REGIONS 8
#define MSG_MAX	    65536

struct region {
	uint64_t base, size, offset, page_size;
	uint8_t *removed; /* one byte per page: given back, serve zeros */
};

static uint8_t *zeros; /* one page of the largest page size */

static struct region regions[MAX_REGIONS];
static unsigned int nr_regions;

static int listen_on(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0 || strlen(path) >= sizeof(addr.sun_path))
		return -1;
	strcpy(addr.sun_path, path);
	unlink(path);
	if (bind(s, (struct sockaddr *)&addr, sizeof(addr)) || listen(s, 1))
		return -1;
	return s;
}

/* The handshake: JSON text plus the uffd. Returns the uffd or -1. */
static int receive_handshake(int conn, char *msg, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = {.iov_base = msg, .iov_len = len - 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctrl.buf,
			    .msg_controllen = sizeof(ctrl.buf)};
	struct cmsghdr *c;
	ssize_t n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
	int fd;

	if (n <= 0)
		return -1;
	msg[n] = '\0';
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

static uint64_t field(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);

	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static int parse_mappings(const char *msg)
{
	json_error_t jerr;
	json_t *arr = json_loads(msg, 0, &jerr), *m;
	size_t i;

	if (!json_is_array(arr)) {
		fprintf(stderr, "uffd_handler: bad mappings: %s\n", jerr.text);
		return -1;
	}
	json_array_foreach(arr, i, m)
	{
		struct region *r = &regions[nr_regions];

		if (nr_regions == MAX_REGIONS)
			break;
		r->base = field(m, "base_host_virt_addr");
		r->size = field(m, "size");
		r->offset = field(m, "offset");
		/* Older Firecracker sends only page_size_kib (in bytes despite its name). */
		r->page_size =
		    field(m, "page_size") ? field(m, "page_size") : field(m, "page_size_kib");
		if (!r->size || !r->page_size || r->page_size & (r->page_size - 1) ||
		    r->size % r->page_size)
			break;
		r->removed = calloc(r->size / r->page_size, 1);
		if (!r->removed)
			break;
		nr_regions++;
	}
	json_decref(arr);
	return nr_regions ? 0 : -1;
}

static int alloc_zeros(void)
{
	uint64_t max = 0;

	for (unsigned int i = 0; i < nr_regions; i++)
		if (regions[i].page_size > max)
			max = regions[i].page_size;
	zeros = calloc(1, max);
	return zeros ? 0 : -1;
}

/* UFFD_EVENT_REMOVE of [start, end): those pages read zero from now on. */
static void mark_removed(uint64_t start, uint64_t end)
{
	for (unsigned int i = 0; i < nr_regions; i++) {
		const struct region *r = &regions[i];
		uint64_t lo = start > r->base ? start : r->base;
		uint64_t hi = end < r->base + r->size ? end : r->base + r->size;

		if (lo >= hi)
			continue;
		for (uint64_t a = lo & ~(r->page_size - 1); a < hi; a += r->page_size)
			r->removed[(a - r->base) / r->page_size] = 1;
	}
}

/* Copy the page holding @addr from the memory file. 1 served, 0 already there, -1 error. */
static int serve(int uffd, const uint8_t *mem, uint64_t mem_size, uint64_t addr)
{
	for (unsigned int i = 0; i < nr_regions; i++) {
		const struct region *r = &regions[i];
		uint64_t page = addr & ~(r->page_size - 1), off;
		struct uffdio_copy copy;

		if (addr < r->base || addr - r->base >= r->size)
			continue;
		off = r->offset + (page - r->base);
		if (off + r->page_size > mem_size)
			return -1;
		copy = (struct uffdio_copy){
		    .dst = page, .src = (uint64_t)(uintptr_t)(mem + off), .len = r->page_size};
		if (r->removed[(page - r->base) / r->page_size])
			copy.src = (uint64_t)(uintptr_t)zeros;
		if (ioctl(uffd, UFFDIO_COPY, &copy) == 0)
			return 1;
		return errno == EEXIST ? 0 : -1;
	}
	return -1;
}

int main(int argc, char **argv)
{
	char *msg = malloc(MSG_MAX);
	uint64_t served = 0;
	struct stat st;
	uint8_t *mem;
	int ls, conn, uffd, memfd;

	if (argc != 3 || !msg) {
		fprintf(stderr, "usage: %s SOCKET MEMORY_FILE\n", argv[0]);
		return 2;
	}
	memfd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (memfd < 0 || fstat(memfd, &st)) {
		perror("uffd_handler: memory file");
		return 1;
	}
	mem = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, memfd, 0);
	ls = listen_on(argv[1]);
	if (mem == MAP_FAILED || ls < 0) {
		perror("uffd_handler: setup");
		return 1;
	}
	printf("uffd_handler: listening\n");
	fflush(stdout);
	conn = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	uffd = conn < 0 ? -1 : receive_handshake(conn, msg, MSG_MAX);
	if (uffd < 0 || parse_mappings(msg) || alloc_zeros()) {
		fprintf(stderr, "uffd_handler: no valid handshake\n");
		return 1;
	}
	for (;;) {
		struct pollfd pfd[2] = {{.fd = uffd, .events = POLLIN},
					{.fd = conn, .events = POLLIN}};
		struct uffd_msg ev;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		/* The VMM closed its end: it exited. */
		if (pfd[1].revents & (POLLIN | POLLHUP)) {
			ssize_t n = recv(conn, msg, 1, MSG_DONTWAIT);

			if (n == 0 || (n < 0 && errno != EAGAIN))
				break;
		}
		if (pfd[0].revents & (POLLERR | POLLHUP))
			break;
		while (read(uffd, &ev, sizeof(ev)) == sizeof(ev)) {
			int ret;

			if (ev.event == UFFD_EVENT_REMOVE)
				mark_removed(ev.arg.remove.start, ev.arg.remove.end);
			if (ev.event != UFFD_EVENT_PAGEFAULT)
				continue;
			ret = serve(uffd, mem, (uint64_t)st.st_size, ev.arg.pagefault.address);
			if (ret < 0) {
				fprintf(stderr, "uffd_handler: cannot serve 0x%llx: %s\n",
					(unsigned long long)ev.arg.pagefault.address,
					strerror(errno));
				return 1;
			}
			served += (uint64_t)ret;
		}
	}
	printf("uffd_handler: served %llu pages\n", (unsigned long long)served);
	fflush(stdout); /* before a sanitizer's exit-time report could cut it off */
	for (unsigned int i = 0; i < nr_regions; i++)
		free(regions[i].removed);
	free(zeros);
	free(msg);
	return 0;
}
