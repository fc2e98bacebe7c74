// SPDX-License-Identifier: Apache-2.0
#include "guest_mem.h"
#include "layout.h"

#include <errno.h>
#include <linux/memfd.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void guest_mem_reset(struct guest_mem *mem)
{
	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
}

static int guest_mem_map_region(struct guest_mem *mem, uint64_t gpa, uint64_t size, uint64_t off)
{
	struct guest_mem_region *r = &mem->regions[mem->nr_regions];
	void *host;

	/*
	 * MAP_SHARED on the memfd: snapshots can write the file and restores
	 * can map it. MAP_NORESERVE: RAM the guest never touches costs nothing.
	 * Not for hugetlb: there the reservation at mmap time is what turns a
	 * host short of huge pages into an error now instead of a SIGBUS later.
	 */
	host = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | (mem->hugetlb ? 0 : MAP_NORESERVE), mem->fd, (off_t)off);
	if (host == MAP_FAILED)
		return -errno;
	r->gpa = gpa;
	r->size = size;
	r->file_offset = off;
	r->host = host;
	mem->nr_regions++;
	return 0;
}

static int guest_mem_create_memfd(struct guest_mem *mem, uint64_t size, unsigned int memfd_flags,
				  uint64_t granule)
{
	uint64_t low, high;
	int ret;

	guest_mem_reset(mem);
	if (size == 0 || size % granule)
		return -EINVAL;

	mem->hugetlb = memfd_flags & MFD_HUGETLB;
	mem->fd = memfd_create("ember-guest-mem", MFD_CLOEXEC | memfd_flags);
	if (mem->fd < 0)
		return -errno;
	if (ftruncate(mem->fd, (off_t)size) < 0) {
		ret = -errno;
		goto fail;
	}

	low = size < LAYOUT_MMIO_START ? size : LAYOUT_MMIO_START;
	high = size - low;
	ret = guest_mem_map_region(mem, 0, low, 0);
	if (ret)
		goto fail;
	if (high) {
		ret = guest_mem_map_region(mem, LAYOUT_4G, high, low);
		if (ret)
			goto fail;
	}
	mem->size = size;
	return 0;
fail:
	guest_mem_destroy(mem);
	return ret;
}

int guest_mem_create(struct guest_mem *mem, uint64_t size)
{
	return guest_mem_create_memfd(mem, size, 0, MIB);
}

int guest_mem_create_hugetlb(struct guest_mem *mem, uint64_t size)
{
	return guest_mem_create_memfd(mem, size, MFD_HUGETLB | MFD_HUGE_2MB, 2 * MIB);
}

void guest_mem_destroy(struct guest_mem *mem)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++)
		munmap(mem->regions[i].host, mem->regions[i].size);
	if (mem->fd >= 0)
		close(mem->fd);
	guest_mem_reset(mem);
}

void *guest_mem_translate(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];

		/* Written so that no sum can wrap: gpa - r->gpa only when gpa >= r->gpa. */
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *buf, size_t len)
{
	const void *src = guest_mem_translate(mem, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(buf, src, len);
	return 0;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *buf, size_t len)
{
	void *dst = guest_mem_translate(mem, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, buf, len);
	return 0;
}

uint64_t guest_mem_end(const struct guest_mem *mem)
{
	const struct guest_mem_region *r;

	if (!mem->nr_regions)
		return 0;
	r = &mem->regions[mem->nr_regions - 1];
	return r->gpa + r->size;
}
