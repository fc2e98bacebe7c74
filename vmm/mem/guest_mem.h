/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest memory: one memfd, mapped into the VMM, split into at most two
 * guest-physical regions around the 32-bit MMIO hole.
 *
 * guest_mem_translate() is THE way from a guest-physical address to a host
 * pointer. Every device and loader goes through it (or through the
 * read/write helpers built on it): it checks that [gpa, gpa+len) lies wholly
 * inside one RAM region, without integer overflow, and returns NULL otherwise.
 */
#ifndef EMBER_GUEST_MEM_H
#define EMBER_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 2

struct guest_mem_region {
	uint64_t gpa;	      /* guest-physical start */
	uint64_t size;	      /* bytes */
	uint64_t file_offset; /* offset of this region inside the memfd */
	uint8_t *host;	      /* VMM mapping */
};

struct guest_mem {
	int fd;	       /* memfd backing all regions, -1 if none (restored RAM) */
	uint64_t size; /* total RAM bytes */
	bool hugetlb;  /* backed by 2 MiB hugetlb pages */
	unsigned int nr_regions;
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
	/*
	 * Pages the VMM wrote (devices, loaders), one bit per 4 KiB page of
	 * RAM in file-offset order; NULL unless tracked. KVM's dirty log sees
	 * only the guest's own writes; a Diff snapshot needs both.
	 */
	uint64_t *vmm_dirty;
	int file_fd; /* the MAP_PRIVATE source of restored RAM, else -1 */
};

#define GUEST_MEM_PAGE_SIZE 4096ULL

/* Create RAM of @size bytes (multiple of 1 MiB), laid out around the MMIO hole. */
int guest_mem_create(struct guest_mem *mem, uint64_t size);
/* The same backed by 2 MiB hugetlb pages (@size a multiple of 2 MiB); -ENOMEM
 * when the host has too few huge pages reserved. */
int guest_mem_create_hugetlb(struct guest_mem *mem, uint64_t size);
/*
 * Snapshot restore: the same layout mapped MAP_PRIVATE from @fd, a memory
 * file of at least @size bytes. Pages load lazily on first touch, guest
 * writes stay private, and every VM restored from one file shares its page
 * cache. A dup of @fd is kept as file_fd (where the file has holes, RAM the
 * guest did not write reads as zero: a later snapshot need not read it);
 * mem->fd is -1.
 */
int guest_mem_create_from_file(struct guest_mem *mem, uint64_t size, int fd);
/* Snapshot restore with a page-fault handler (Uffd): anonymous private memory. */
int guest_mem_create_anon(struct guest_mem *mem, uint64_t size, bool hugetlb);
void guest_mem_destroy(struct guest_mem *mem);

/*
 * Host pointer for [gpa, gpa+len) or NULL if any byte is outside RAM. With
 * dirty tracking on, the range counts as written by the VMM: the caller may
 * write through the pointer.
 */
void *guest_mem_translate(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Track the pages the VMM writes (vmm_dirty). 0 or -ENOMEM. */
int guest_mem_track_dirty(struct guest_mem *mem);
/* u64 words of a bitmap with one bit per 4 KiB page of RAM. */
uint64_t guest_mem_bitmap_words(const struct guest_mem *mem);
/* OR the VMM-written page bits into @bitmap and clear them (atomically per word). */
void guest_mem_take_dirty(const struct guest_mem *mem, uint64_t *bitmap);
/* OR @bitmap back in (a snapshot that consumed the bits failed). */
void guest_mem_return_dirty(const struct guest_mem *mem, const uint64_t *bitmap);

/* Copy helpers; -EFAULT when the range is not wholly RAM. */
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *buf, size_t len);
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *buf, size_t len);

/*
 * Give the RAM of [gpa, gpa+len) back to the host (virtio-balloon); the
 * guest reads zeros there afterwards. The range must be 4 KiB aligned and
 * wholly in one region. How depends on the backing: the memfd gets a hole
 * punched (fallocate: MADV_DONTNEED would only drop this mapping's view of
 * the shared pages); restored RAM (MAP_PRIVATE of a memory file) gets fresh
 * anonymous memory mapped over it (MADV_DONTNEED would bring the file's
 * contents back); anonymous RAM (Uffd restore) gets MADV_DONTNEED. Hugetlb
 * memfds release only the whole 2 MiB pages inside the range. With dirty
 * tracking on, the range counts as written by the VMM (a Diff snapshot
 * must carry the zeros). 0, -EFAULT (not RAM), -EINVAL (unaligned) or
 * -errno.
 */
int guest_mem_discard(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Highest guest-physical address + 1 that is RAM. */
uint64_t guest_mem_end(const struct guest_mem *mem);

#endif
