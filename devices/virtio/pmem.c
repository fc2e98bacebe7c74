// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-pmem: the guest reads and writes the mapped file directly (KVM
 * slot); the device only answers flush requests, on the VMM thread.
 */
#include "devices/virtio/pmem.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/base/log.h"
#include "devices/virtio/virtio_mmio.h"

#define PMEM_REQ_FLUSH	  0U /* VIRTIO_PMEM_REQ_TYPE_FLUSH */
#define PMEM_RESP_OK	  0U
#define PMEM_RESP_EIO	  1U
#define PMEM_MSG_LEN	  4U
#define PMEM_FLUSH_UNDONE (-1)

struct pmem_dev {
	struct virtio_mmio_dev *mmio;
	const struct guest_mem *mem;
	struct virtio_limiter limiter;
	uint8_t *host;
	uint64_t region_size, file_size, gpa;
	bool read_only;
};

uint64_t pmem_aligned_size(uint64_t file_size)
{
	if (file_size > UINT64_MAX - (PMEM_ALIGN - 1))
		return 0;
	return (file_size + PMEM_ALIGN - 1) & ~(PMEM_ALIGN - 1);
}

/*
 * The region: anonymous memory of the aligned size, the file mapped over its
 * start, so the guest sees a whole number of 2 MiB sections.
 */
static int pmem_map(struct pmem_dev *p, int fd)
{
	int prot = PROT_READ | (p->read_only ? 0 : PROT_WRITE);
	void *region, *file;

	region =
	    mmap(NULL, p->region_size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (region == MAP_FAILED)
		return -errno;
	file = mmap(region, p->file_size, prot, MAP_SHARED | MAP_NORESERVE | MAP_FIXED, fd, 0);
	if (file == MAP_FAILED) {
		int err = errno;

		munmap(region, p->region_size);
		return -err;
	}
	p->host = region;
	return 0;
}

static int pmem_open(struct pmem_dev *p, const char *path, char *err, size_t errlen)
{
	int fd = open(path, (p->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	struct stat st;
	int ret = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (st.st_size == 0) {
		snprintf(err, errlen, "Error backing file size is 0");
		ret = -EINVAL;
		goto out;
	}
	p->file_size = (uint64_t)st.st_size;
	p->region_size = pmem_aligned_size(p->file_size);
	ret = p->region_size ? pmem_map(p, fd) : -EFBIG;
out:
	if (ret && !err[0])
		snprintf(err, errlen, "Error accessing backing file: %s (os error %d)",
			 strerror(-ret), -ret);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* msync of the file's pages: the status every request of this pass gets. */
static uint32_t pmem_flush(struct pmem_dev *p)
{
	if (msync(p->host, p->file_size, MS_SYNC) == 0)
		return PMEM_RESP_OK;
	log_error("virtio-pmem: msync: %s", strerror(errno));
	return PMEM_RESP_EIO;
}

/* A well-formed request: 4 readable bytes saying FLUSH, then 4 writable bytes. */
static const char *pmem_check(struct pmem_dev *p, const struct virtq_chain *c)
{
	uint32_t type;

	if (c->nr_read < 1 || c->segs[0].len != PMEM_MSG_LEN)
		return "the request type is not one 4-byte readable descriptor";
	if (c->nr < 2 || c->nr_read != 1 || !c->segs[1].write || c->segs[1].len != PMEM_MSG_LEN)
		return "the status is not one 4-byte writable descriptor";
	if (virtq_chain_read(p->mem, c, 0, &type, sizeof(type)) != sizeof(type))
		return "unreadable request";
	if (le32toh(type) != PMEM_REQ_FLUSH)
		return "unknown request type";
	return NULL;
}

static void pmem_process_queue(struct virtio_mmio_dev *dev, unsigned int q)
{
	struct pmem_dev *p = virtio_mmio_backend(dev);
	struct virtq_chain *c = &dev->chain;
	int64_t status = PMEM_FLUSH_UNDONE;
	uint16_t pending = 0;

	/* One flush covers the pass: the limiter is asked once, before any request is taken. */
	if (virtq_avail_pending(virtio_mmio_queue(dev, q), p->mem, &pending) == 0 && pending &&
	    !virtio_limiter_allows(&p->limiter, p->file_size, 1))
		return;
	while (virtio_mmio_next_chain(dev, q, c) > 0) {
		const char *why = pmem_check(p, c);
		uint32_t le;

		if (why) {
			virtio_mmio_log_guest_error(dev, "malformed request: %s", why);
			virtio_mmio_complete(dev, q, c->head, 0);
			continue;
		}
		if (status == PMEM_FLUSH_UNDONE)
			status = pmem_flush(p);
		le = htole32((uint32_t)status);
		if (virtq_chain_write(p->mem, c, 0, &le, sizeof(le)) != sizeof(le)) {
			virtio_mmio_complete(dev, q, c->head, 0);
			continue;
		}
		virtio_mmio_complete(dev, q, c->head, sizeof(le));
	}
	virtio_mmio_signal_used(dev, q);
}

static void pmem_config_read(struct virtio_mmio_dev *dev, uint32_t offset, uint8_t *data,
			     uint32_t len)
{
	struct pmem_dev *p = virtio_mmio_backend(dev);
	uint64_t cfg[2] = {htole64(p->gpa), htole64(p->region_size)};

	memcpy(data, (uint8_t *)cfg + offset, len);
}

static const struct virtio_device_ops pmem_ops = {
    .name = "pmem",
    .device_id = VIRTIO_ID_PMEM,
    .num_queues = 1,
    .queue_max_size = PMEM_QUEUE_SIZE,
    .config_size = PMEM_CONFIG_SIZE,
    .config_read = pmem_config_read,
    .process_queue = pmem_process_queue,
};

int pmem_create(struct pmem_dev **out, const char *path, bool read_only, uint64_t gpa,
		const struct guest_mem *mem, uint64_t base, uint32_t gsi, char *err, size_t errlen)
{
	struct pmem_dev *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;
	p->mem = mem;
	p->read_only = read_only;
	p->gpa = gpa;
	if (errlen)
		err[0] = '\0';
	ret = pmem_open(p, path, err, errlen);
	if (ret) {
		free(p);
		return ret;
	}
	ret = virtio_mmio_create(&p->mmio, &pmem_ops, p, mem, base, gsi, VIRTIO_COMMON_FEATURES);
	if (ret) {
		snprintf(err, errlen, "%s", strerror(-ret));
		munmap(p->host, p->region_size);
		free(p);
		return ret;
	}
	*out = p;
	return 0;
}

void pmem_destroy(struct pmem_dev *p)
{
	if (!p)
		return;
	virtio_mmio_destroy(p->mmio);
	munmap(p->host, p->region_size);
	free(p);
}

struct virtio_mmio_dev *pmem_mmio(struct pmem_dev *p)
{
	return p->mmio;
}

void *pmem_host(const struct pmem_dev *p)
{
	return p->host;
}

uint64_t pmem_region_size(const struct pmem_dev *p)
{
	return p->region_size;
}

uint64_t pmem_file_size(const struct pmem_dev *p)
{
	return p->file_size;
}

uint64_t pmem_gpa(const struct pmem_dev *p)
{
	return p->gpa;
}

bool pmem_read_only(const struct pmem_dev *p)
{
	return p->read_only;
}

void pmem_set_limiter(struct pmem_dev *p, const struct virtio_limiter *lim)
{
	virtio_mmio_lock(p->mmio);
	p->limiter = *lim;
	virtio_mmio_unlock(p->mmio);
}
