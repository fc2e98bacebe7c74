/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel and initrd loading for the Linux x86 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst). Two kernel formats:
 *
 *  - ELF64 vmlinux: every PT_LOAD is copied to its p_paddr; the entry is
 *    e_entry, which for x86-64 vmlinux is the physical startup_64 (as in
 *    Firecracker). A PVH entry note in a PT_NOTE makes the kernel boot
 *    through PVH instead (pvh.h).
 *  - bzImage: the protected-mode part is copied to 1 MiB and entered at its
 *    64-bit entry, load address + 0x200. The setup header is kept so the
 *    zero page can carry the kernel's own header, as the protocol demands.
 *
 * Everything read from the file is untrusted: sizes and offsets are checked
 * before use, and guest memory is only reached through guest_mem_translate().
 * Errors are negative errno with a one-line explanation in @err; nothing is
 * logged here, the caller reports the error once.
 */
#ifndef EMBER_LOADER_H
#define EMBER_LOADER_H

#include <asm/bootparam.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/mem/guest_mem.h"
#include "vmm/boot/elf_notes.h"

/* Offset of the 64-bit entry point in a bzImage's protected-mode kernel. */
#define BZIMAGE_ENTRY64_OFFSET 0x200
/* The setup header lives at this offset in the bzImage and in the zero page. */
#define BZIMAGE_HDR_OFFSET  0x1f1
#define BZIMAGE_MIN_VERSION 0x0206     /* cmdline_size, needed to bound the cmdline */
#define BZIMAGE_HDR_MAGIC   0x53726448 /* "HdrS" */

enum kernel_format {
	KERNEL_FORMAT_ELF,
	KERNEL_FORMAT_BZIMAGE,
};

struct kernel_info {
	enum kernel_format format;
	uint64_t entry;	    /* 64-bit entry point: RIP of the boot vCPU */
	uint64_t load_addr; /* lowest guest-physical byte written */
	uint64_t load_end;  /* end of the bytes written (ELF: incl. zeroed bss) */
	/*
	 * End of all RAM the kernel claims before it reads the e820 map: for a
	 * bzImage this includes init_size at its run-time address. The initrd
	 * must be placed above it.
	 */
	uint64_t kernel_end;
	/*
	 * ELF with the PVH entry note (elf_notes.h): the kernel is booted through
	 * PVH at pvh_entry, inside a loaded segment's file bytes, as Firecracker
	 * does; otherwise through the 64-bit Linux boot protocol at entry.
	 */
	bool has_pvh_entry;
	uint64_t pvh_entry;
	/* bzImage: the image's header (bytes past its declared end zeroed). ELF: zero. */
	struct setup_header hdr;
};

/* Load the kernel in @fd into @mem. 0, or -errno with a message in @err. */
int loader_load_kernel(const struct guest_mem *mem, int fd, struct kernel_info *ki, char *err,
		       size_t errlen);

/*
 * Load the initrd in @fd page-aligned as high as possible below the end of
 * low RAM and the kernel's initrd_addr_max, above ki->kernel_end. Returns its
 * guest-physical address and size. 0, or -errno with a message in @err.
 */
int loader_load_initrd(const struct guest_mem *mem, int fd, const struct kernel_info *ki,
		       uint64_t *addr, uint64_t *size, char *err, size_t errlen);

#endif
