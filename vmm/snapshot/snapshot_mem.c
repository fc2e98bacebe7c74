// SPDX-License-Identifier: Apache-2.0
/*
 * Writing guest RAM into a snapshot memory file. Everything is written from
 * the VMM's mapping of guest memory (memfd, MAP_PRIVATE file or anonymous
 * alike), in runs of adjacent pages, with pwrite: one syscall per run.
 */
#include "vmm/snapshot/snapshot_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define PAGE	      GUEST_MEM_PAGE_SIZE
#define MAX_RUN_BYTES (64ULL << 20) /* one pwrite */

/* pwrite all of [buf, buf+len) at @off. 0 or -errno. */
static int write_all(int fd, const uint8_t *buf, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;

	for (size_t i = 0; i < PAGE / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

/*
 * Write the non-zero pages of [start, end) (offsets into region @r) at the
 * matching file offsets, adjacent pages in one pwrite. Adds to *written.
 */
static int write_nonzero_range(const struct guest_mem_region *r, int fd, uint64_t start,
			       uint64_t end, int64_t *written)
{
	uint64_t run = start, off;
	int ret;

	for (off = start; off < end; off += PAGE) {
		bool zero = page_is_zero(r->host + off);

		if (!zero && off - run < MAX_RUN_BYTES)
			continue;
		if (off > run) {
			ret = write_all(fd, r->host + run, off - run, r->file_offset + run);
			if (ret)
				return ret;
			*written += (int64_t)(off - run);
		}
		run = zero ? off + PAGE : off;
	}
	if (end > run) {
		ret = write_all(fd, r->host + run, end - run, r->file_offset + run);
		if (ret)
			return ret;
		*written += (int64_t)(end - run);
	}
	return 0;
}

/* /proc/self/pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst). */
#define PM_PRESENT     (1ULL << 63)
#define PM_SWAPPED     (1ULL << 62)
#define PM_FILE_SHARED (1ULL << 61) /* file page or shared anonymous */
#define PM_CHUNK       4096	    /* entries per read */

/* Set the bits of the pages of region @r where @file_fd has data. */
static int mark_file_data(int file_fd, const struct guest_mem_region *r, uint64_t *bits)
{
	uint64_t pos = r->file_offset, end = r->file_offset + r->size;

	while (pos < end) {
		off_t data = lseek(file_fd, (off_t)pos, SEEK_DATA), hole;

		if (data < 0)
			return errno == ENXIO ? 0 : -errno;
		hole = lseek(file_fd, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		for (uint64_t p = (uint64_t)data / PAGE;
		     p * PAGE < (uint64_t)hole && p * PAGE < end; p++)
			bits[(p - r->file_offset / PAGE) / 64] |=
			    1ULL << ((p - r->file_offset / PAGE) % 64);
		pos = (uint64_t)hole;
	}
	return 0;
}

/* Set the bits of the pages of @r that are private anonymous copies (written since the load). */
static int mark_private_copies(const struct guest_mem_region *r, uint64_t *bits)
{
	uint64_t entries[PM_CHUNK], n = r->size / PAGE;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (lseek(fd, (off_t)((uintptr_t)r->host / PAGE * sizeof(uint64_t)), SEEK_SET) < 0)
		ret = -errno;
	for (uint64_t p = 0; !ret && p < n; p += PM_CHUNK) {
		uint64_t want = n - p < PM_CHUNK ? n - p : PM_CHUNK;
		ssize_t got = read(fd, entries, want * sizeof(entries[0]));

		if (got != (ssize_t)(want * sizeof(entries[0]))) {
			ret = got < 0 ? -errno : -EIO;
			break;
		}
		for (uint64_t i = 0; i < want; i++) {
			uint64_t e = entries[i];

			if ((e & PM_SWAPPED) || ((e & PM_PRESENT) && !(e & PM_FILE_SHARED)))
				bits[(p + i) / 64] |= 1ULL << ((p + i) % 64);
		}
	}
	close(fd);
	return ret;
}

/*
 * RAM privately mapped from a memory file (a restored VM): a page can hold
 * something other than zeroes only where the file has data or where the
 * guest (or the VMM) wrote since the load. Everything else reads back as the
 * file's hole: zeroes, so it is neither read nor written. Without
 * /proc/self/pagemap (a jail without /proc) every page is read instead.
 */
static int write_private_region(const struct guest_mem *mem, const struct guest_mem_region *r,
				int fd, int64_t *written)
{
	uint64_t n = r->size / PAGE, *bits = calloc((n + 63) / 64, sizeof(*bits));
	int ret;

	if (!bits)
		return -ENOMEM;
	ret = mark_private_copies(r, bits);
	if (ret) {
		free(bits);
		return write_nonzero_range(r, fd, 0, r->size, written);
	}
	ret = mark_file_data(mem->file_fd, r, bits);
	for (uint64_t p = 0; !ret && p < n;) {
		uint64_t q = p;

		while (q < n && (bits[q / 64] & (1ULL << (q % 64))))
			q++;
		if (q > p)
			ret = write_nonzero_range(r, fd, p * PAGE, q * PAGE, written);
		p = q + 1;
	}
	free(bits);
	return ret;
}

/*
 * The pages of region @r that may not be zero: the memfd's data extents, the
 * pages a private mapping has from its file or its own writes, or (anonymous
 * RAM of a Uffd restore, whose missing pages the handler still has) all.
 */
static int write_region_full(const struct guest_mem *mem, const struct guest_mem_region *r, int fd,
			     int64_t *written)
{
	uint64_t pos = 0;

	if (mem->fd < 0 && mem->file_fd >= 0)
		return write_private_region(mem, r, fd, written);
	if (mem->fd < 0)
		return write_nonzero_range(r, fd, 0, r->size, written);
	while (pos < r->size) {
		off_t data = lseek(mem->fd, (off_t)(r->file_offset + pos), SEEK_DATA);
		off_t hole;
		uint64_t start, end;
		int ret;

		if (data < 0 && errno == ENXIO)
			return 0; /* no data after pos */
		/* A memfd without SEEK_DATA (hugetlbfs on older kernels): read it all. */
		if (data < 0 && errno == EINVAL && pos == 0)
			return write_nonzero_range(r, fd, 0, r->size, written);
		if (data < 0)
			return -errno;
		if ((uint64_t)data >= r->file_offset + r->size)
			return 0;
		hole = lseek(mem->fd, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		/* Extents are page (or huge page) aligned in a memfd; clamp to the region. */
		start = ((uint64_t)data - r->file_offset) & ~(PAGE - 1);
		end = (uint64_t)hole - r->file_offset;
		end = end > r->size ? r->size : (end + PAGE - 1) & ~(PAGE - 1);
		ret = write_nonzero_range(r, fd, start, end, written);
		if (ret)
			return ret;
		pos = end;
	}
	return 0;
}

int64_t snapshot_mem_write_full(const struct guest_mem *mem, int fd)
{
	int64_t written = 0;
	int ret;

	if (ftruncate(fd, (off_t)mem->size) < 0)
		return -errno;
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		ret = write_region_full(mem, &mem->regions[i], fd, &written);
		if (ret)
			return ret;
	}
	return written;
}

static bool bit_set(const uint64_t *bitmap, uint64_t page)
{
	return bitmap[page / 64] & (1ULL << (page % 64));
}

int64_t snapshot_mem_write_pages(const struct guest_mem *mem, int fd, const uint64_t *bitmap)
{
	int64_t written = 0;

	if (ftruncate(fd, (off_t)mem->size) < 0)
		return -errno;
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		uint64_t first = r->file_offset / PAGE, n = r->size / PAGE, p = 0;

		while (p < n) {
			uint64_t q;
			int ret;

			if (!bit_set(bitmap, first + p)) {
				p++;
				continue;
			}
			for (q = p + 1;
			     q < n && bit_set(bitmap, first + q) && (q - p) * PAGE < MAX_RUN_BYTES;
			     q++)
				;
			ret = write_all(fd, r->host + p * PAGE, (q - p) * PAGE,
					r->file_offset + p * PAGE);
			if (ret)
				return ret;
			written += (int64_t)((q - p) * PAGE);
			p = q;
		}
	}
	return written;
}

struct hotplug_write {
	int fd;
	uint64_t file_offset; /* of the region's start */
	bool all;
	int64_t written;
};

/* One run of plugged blocks: whole (Diff) or its non-zero pages (Full). */
static int write_plugged_run(void *ctx, uint64_t off, uint8_t *host, uint64_t len)
{
	struct hotplug_write *h = ctx;
	const struct guest_mem_region run = {
	    .size = len, .file_offset = h->file_offset + off, .host = host};
	int ret;

	if (!h->all)
		return write_nonzero_range(&run, h->fd, 0, len, &h->written);
	for (uint64_t done = 0; done < len; done += MAX_RUN_BYTES) {
		uint64_t n = len - done < MAX_RUN_BYTES ? len - done : MAX_RUN_BYTES;

		ret = write_all(h->fd, host + done, n, run.file_offset + done);
		if (ret)
			return ret;
		h->written += (int64_t)n;
	}
	return 0;
}

int64_t snapshot_mem_write_hotplug(struct mem_dev *d, int fd, uint64_t file_offset, bool all)
{
	struct hotplug_write h = {fd, file_offset, all, 0};
	int ret;

	if (ftruncate(fd, (off_t)(file_offset + mem_region_size(d))) < 0)
		return -errno;
	ret = mem_for_each_plugged(d, write_plugged_run, &h);
	return ret ? ret : h.written;
}

int snapshot_mem_take_dirty(const struct guest_mem *mem, struct kvm_vm *vm, uint64_t *bitmap)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		/*
		 * Region starts are multiples of 1 MiB, i.e. of 64 pages: the
		 * slot's bitmap is a run of whole words of the file bitmap.
		 */
		uint64_t *slot_bits = bitmap + r->file_offset / PAGE / 64;
		uint64_t words = (r->size / PAGE + 63) / 64;
		uint64_t *tmp = calloc(words, sizeof(*tmp));
		struct kvm_dirty_log log = {.slot = i, .dirty_bitmap = tmp};

		if (!tmp)
			return -ENOMEM;
		if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
			int ret = -errno;

			free(tmp);
			return ret;
		}
		for (uint64_t w = 0; w < words; w++)
			slot_bits[w] |= tmp[w];
		free(tmp);
	}
	guest_mem_take_dirty(mem, bitmap);
	return 0;
}
