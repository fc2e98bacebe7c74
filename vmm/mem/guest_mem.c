// SPDX-License-Identifier: Apache-2.0
#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/memfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void guest_mem_reset(struct guest_mem *mem)
{
	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
	mem->file_fd = -1;
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

/* <linux/mman.h>'s value; that header clashes with <sys/mman.h>. */
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

/* Map the standard layout with @flags (MAP_PRIVATE ...) from @fd (or anonymous, -1). */
static int guest_mem_map_private(struct guest_mem *mem, uint64_t size, int flags, int fd)
{
	uint64_t low = size < LAYOUT_MMIO_START ? size : LAYOUT_MMIO_START;
	uint64_t gpa[2] = {0, LAYOUT_4G}, len[2] = {low, size - low};

	guest_mem_reset(mem);
	if (size == 0 || size % MIB)
		return -EINVAL;
	for (unsigned int i = 0; i < 2 && len[i]; i++) {
		struct guest_mem_region *r = &mem->regions[i];
		uint64_t off = i ? low : 0;
		void *host =
		    mmap(NULL, len[i], PROT_READ | PROT_WRITE, flags, fd, fd < 0 ? 0 : (off_t)off);

		if (host == MAP_FAILED) {
			int ret = -errno;

			guest_mem_destroy(mem);
			return ret;
		}
		*r = (struct guest_mem_region){gpa[i], len[i], off, host};
		mem->nr_regions++;
	}
	mem->size = size;
	return 0;
}

int guest_mem_create_from_file(struct guest_mem *mem, uint64_t size, int fd)
{
	/* MAP_NORESERVE: a clone commits only the pages it writes. */
	int ret = guest_mem_map_private(mem, size, MAP_PRIVATE | MAP_NORESERVE, fd);

	if (ret)
		return ret;
	/* Above stdio: a zeroed struct guest_mem (file_fd 0) must never close stdin. */
	mem->file_fd = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	if (mem->file_fd < 0) {
		ret = -errno;
		guest_mem_destroy(mem);
	}
	return ret;
}

int guest_mem_create_anon(struct guest_mem *mem, uint64_t size, bool hugetlb)
{
	int ret;

	if (hugetlb && size % (2 * MIB))
		return -EINVAL;
	ret = guest_mem_map_private(mem, size,
				    MAP_PRIVATE | MAP_ANONYMOUS |
					(hugetlb ? MAP_HUGETLB | MAP_HUGE_2MB : MAP_NORESERVE),
				    -1);
	mem->hugetlb = !ret && hugetlb;
	return ret;
}

void guest_mem_destroy(struct guest_mem *mem)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++)
		munmap(mem->regions[i].host, mem->regions[i].size);
	if (mem->fd >= 0)
		close(mem->fd);
	if (mem->file_fd > STDERR_FILENO)
		close(mem->file_fd);
	free(mem->vmm_dirty);
	guest_mem_reset(mem);
}

/* Set the bits of the pages of [off, off+len) of the file; atomic: any thread may write RAM. */
static void guest_mem_mark(const struct guest_mem *mem, uint64_t off, uint64_t len)
{
	uint64_t first = off / GUEST_MEM_PAGE_SIZE;
	uint64_t last = (off + (len ? len : 1) - 1) / GUEST_MEM_PAGE_SIZE;

	for (uint64_t p = first; p <= last; p++)
		__atomic_fetch_or(&mem->vmm_dirty[p / 64], 1ULL << (p % 64), __ATOMIC_RELAXED);
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
		if (mem->vmm_dirty)
			guest_mem_mark(mem, r->file_offset + (gpa - r->gpa), len);
		return r->host + (gpa - r->gpa);
	}
	return NULL;
}

uint64_t guest_mem_bitmap_words(const struct guest_mem *mem)
{
	uint64_t pages = (mem->size + GUEST_MEM_PAGE_SIZE - 1) / GUEST_MEM_PAGE_SIZE;

	return (pages + 63) / 64;
}

int guest_mem_track_dirty(struct guest_mem *mem)
{
	if (mem->vmm_dirty)
		return 0;
	mem->vmm_dirty = calloc(guest_mem_bitmap_words(mem), sizeof(uint64_t));
	return mem->vmm_dirty ? 0 : -ENOMEM;
}

void guest_mem_take_dirty(const struct guest_mem *mem, uint64_t *bitmap)
{
	if (!mem->vmm_dirty)
		return;
	for (uint64_t i = 0; i < guest_mem_bitmap_words(mem); i++)
		bitmap[i] |= __atomic_exchange_n(&mem->vmm_dirty[i], 0, __ATOMIC_RELAXED);
}

void guest_mem_return_dirty(const struct guest_mem *mem, const uint64_t *bitmap)
{
	if (!mem->vmm_dirty)
		return;
	for (uint64_t i = 0; i < guest_mem_bitmap_words(mem); i++)
		__atomic_fetch_or(&mem->vmm_dirty[i], bitmap[i], __ATOMIC_RELAXED);
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

/* The region holding [gpa, gpa+len), or NULL. */
static const struct guest_mem_region *guest_mem_region_of(const struct guest_mem *mem, uint64_t gpa,
							  uint64_t len)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r;
	}
	return NULL;
}

/* Punch the whole 2 MiB pages of [off, off+len) out of a hugetlb memfd. */
static int guest_mem_punch_huge(const struct guest_mem *mem, uint64_t off, uint64_t len)
{
	uint64_t start = (off + 2 * MIB - 1) & ~(2 * MIB - 1), end = (off + len) & ~(2 * MIB - 1);

	if (end <= start)
		return 0;
	if (fallocate(mem->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)start,
		      (off_t)(end - start)) < 0)
		return -errno;
	return 0;
}

int guest_mem_discard(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	const struct guest_mem_region *r = guest_mem_region_of(mem, gpa, len);
	uint8_t *host;
	uint64_t off;

	if (!r || !len)
		return -EFAULT;
	if ((gpa | len) % GUEST_MEM_PAGE_SIZE)
		return -EINVAL;
	host = guest_mem_translate(mem, gpa, len); /* marks the range when tracking */
	off = r->file_offset + (gpa - r->gpa);
	if (mem->fd >= 0 && mem->hugetlb)
		return guest_mem_punch_huge(mem, off, len);
	if (mem->fd >= 0) {
		if (fallocate(mem->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			      (off_t)len) < 0)
			return -errno;
		return 0;
	}
	if (mem->file_fd >= 0) {
		if (mmap(host, len, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
			 0) == MAP_FAILED)
			return -errno;
		return 0;
	}
	if (madvise(host, len, MADV_DONTNEED) < 0)
		return -errno;
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
