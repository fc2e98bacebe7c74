// SPDX-License-Identifier: Apache-2.0
#include "vmm/snapshot/uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define HUGE_PAGE_SIZE (2ULL << 20)

void uffd_backend_init(struct uffd_backend *b)
{
	b->uffd = -1;
	b->sock = -1;
	b->hotplug = NULL;
	b->hotplug_size = 0;
}

void uffd_backend_close(struct uffd_backend *b)
{
	if (b->sock >= 0)
		close(b->sock);
	if (b->uffd >= 0)
		close(b->uffd);
	if (b->hotplug)
		munmap(b->hotplug, b->hotplug_size);
	uffd_backend_init(b);
}

/* Rust's io::Error display, after Firecracker's prefix. */
static int uffd_error(char *err, size_t errlen, const char *what, int e)
{
	snprintf(err, errlen, "%s: %s (os error %d)", what, strerror(e), e);
	return -e;
}

static int uffd_create(void)
{
	struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_EVENT_REMOVE};
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

/* One GuestRegionUffdMapping appended to @arr. 0 or -ENOMEM. */
static int append_mapping(json_t *arr, const void *host, uint64_t size, uint64_t offset,
			  uint64_t page)
{
	json_t *m = json_pack("{s:I, s:I, s:I, s:I, s:I}", "base_host_virt_addr",
			      (json_int_t)(uintptr_t)host, "size", (json_int_t)size, "offset",
			      (json_int_t)offset, "page_size", (json_int_t)page, "page_size_kib",
			      (json_int_t)page);

	return m && !json_array_append_new(arr, m) ? 0 : -ENOMEM;
}

char *uffd_mappings_json(const struct guest_mem *mem, const void *hotplug, uint64_t hotplug_size)
{
	json_t *arr = json_array();
	uint64_t page = mem->hugetlb ? HUGE_PAGE_SIZE : GUEST_MEM_PAGE_SIZE;
	int ret = arr ? 0 : -ENOMEM;
	char *text;

	for (unsigned int i = 0; !ret && i < mem->nr_regions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];

		ret = append_mapping(arr, r->host, r->size, r->file_offset, page);
	}
	/* After RAM in the memory file, as Firecracker numbers its regions' offsets. */
	if (!ret && hotplug)
		ret = append_mapping(arr, hotplug, hotplug_size, mem->size, GUEST_MEM_PAGE_SIZE);
	text = ret ? NULL : json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return text;
}

/* One message: the mappings, with the uffd as SCM_RIGHTS. */
static int uffd_send(int sock, const char *msg, int uffd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = strlen(msg)};
	struct msghdr mh = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = ctrl.buf,
	    .msg_controllen = sizeof(ctrl.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	ssize_t n;

	memset(&ctrl, 0, sizeof(ctrl));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &uffd, sizeof(int));
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == iov.iov_len ? 0 : -EMSGSIZE;
}

static int uffd_connect_socket(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int sock;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int ret = -errno;

		close(sock);
		return ret;
	}
	return sock;
}

static int uffd_register(int uffd, void *host, uint64_t len, char *err, size_t errlen)
{
	struct uffdio_register reg = {
	    .range = {.start = (uint64_t)(uintptr_t)host, .len = len},
	    .mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0)
		return uffd_error(err, errlen,
				  "Failed to register memory address range with the userfaultfd "
				  "object",
				  errno);
	return 0;
}

/* The hotplug region as the device would map it itself (see mem_create()). */
static int map_hotplug(struct uffd_backend *b, uint64_t size, char *err, size_t errlen)
{
	void *host = mmap(NULL, size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (host == MAP_FAILED)
		return uffd_error(err, errlen, "Failed to restore guest memory", errno);
	b->hotplug = host;
	b->hotplug_size = size;
	return 0;
}

int uffd_backend_connect(struct uffd_backend *b, const struct guest_mem *mem, uint64_t hotplug_size,
			 const char *path, char *err, size_t errlen)
{
	char *msg;
	int ret = 0;

	uffd_backend_init(b);
	b->uffd = uffd_create();
	if (b->uffd < 0)
		return uffd_error(err, errlen, "Failed to UFFD object", -b->uffd);
	for (unsigned int i = 0; !ret && i < mem->nr_regions; i++)
		ret =
		    uffd_register(b->uffd, mem->regions[i].host, mem->regions[i].size, err, errlen);
	if (!ret && hotplug_size)
		ret = map_hotplug(b, hotplug_size, err, errlen);
	if (!ret && b->hotplug)
		ret = uffd_register(b->uffd, b->hotplug, b->hotplug_size, err, errlen);
	if (ret)
		goto fail;
	b->sock = uffd_connect_socket(path);
	if (b->sock < 0) {
		ret = uffd_error(err, errlen, "Failed to connect to UDS Unix stream", -b->sock);
		goto fail;
	}
	msg = uffd_mappings_json(mem, b->hotplug, b->hotplug_size);
	ret = msg ? uffd_send(b->sock, msg, b->uffd) : -ENOMEM;
	free(msg);
	if (ret) {
		uffd_error(err, errlen, "Failed to sends file descriptor", -ret);
		goto fail;
	}
	return 0;
fail:
	uffd_backend_close(b);
	return ret;
}
