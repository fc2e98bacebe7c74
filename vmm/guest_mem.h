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
	uint64_t gpa;		/* guest-physical start */
	uint64_t size;		/* bytes */
	uint64_t file_offset;	/* offset of this region inside the memfd */
	uint8_t *host;		/* VMM mapping */
};

struct guest_mem {
	int fd;			/* memfd backing all regions, -1 if none */
	uint64_t size;		/* total RAM bytes */
	bool hugetlb;		/* backed by 2 MiB hugetlb pages */
	unsigned int nr_regions;
	struct guest_mem_region regions[GUEST_MEM_MAX_REGIONS];
};

/* Create RAM of @size bytes (multiple of 1 MiB), laid out around the MMIO hole. */
int guest_mem_create(struct guest_mem *mem, uint64_t size);
/* The same backed by 2 MiB hugetlb pages (@size a multiple of 2 MiB); -ENOMEM
 * when the host has too few huge pages reserved. */
int guest_mem_create_hugetlb(struct guest_mem *mem, uint64_t size);
void guest_mem_destroy(struct guest_mem *mem);

/* Host pointer for [gpa, gpa+len) or NULL if any byte is outside RAM. */
void *guest_mem_translate(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Copy helpers; -EFAULT when the range is not wholly RAM. */
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *buf, size_t len);
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *buf, size_t len);

/* Highest guest-physical address + 1 that is RAM. */
uint64_t guest_mem_end(const struct guest_mem *mem);

#endif
