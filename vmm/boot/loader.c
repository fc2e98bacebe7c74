// SPDX-License-Identifier: Apache-2.0
#include "vmm/base/errmsg.h"
#include "vmm/boot/elf_notes.h"
#include "vmm/boot/loader.h"
#include "vmm/mem/layout.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE_SIZE	      0x1000ULL
#define SECTOR_SIZE	      512ULL
#define BZIMAGE_DEFAULT_SECTS 4	    /* setup_sects == 0 means 4 (boot.rst) */
#define BZIMAGE_JUMP_OFFSET   0x201 /* 0x202 + this byte = end of the setup header */
/* Protocols before 2.03 have no initrd_addr_max field; this was the limit. */
#define INITRD_ADDR_MAX_DEFAULT 0x37ffffffULL
/* vmlinux notes are a few hundred bytes; do not read more than this. */
#define ELF_NOTES_MAX (64U * 1024)

/* Bytes inspected to tell the formats apart and to copy the setup header. */
#define KERNEL_HEAD_SIZE (BZIMAGE_HDR_OFFSET + sizeof(struct setup_header))
_Static_assert(KERNEL_HEAD_SIZE >= sizeof(Elf64_Ehdr), "head must hold an ELF header");

/* pread exactly @len bytes at @off: -EIO if the file ends first. */
static int read_exact(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int regular_file_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Copy file bytes [off, off+len) to guest-physical @gpa. */
static int read_to_guest(const struct guest_mem *mem, int fd, uint64_t off, uint64_t gpa,
			 uint64_t len)
{
	void *dst = guest_mem_translate(mem, gpa, len);

	if (!dst)
		return -EFAULT;
	return read_exact(fd, dst, len, off);
}

/* End of the RAM region at guest-physical 0: everything below the MMIO hole. */
static uint64_t low_ram_end(const struct guest_mem *mem)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++)
		if (mem->regions[i].gpa == 0)
			return mem->regions[i].size;
	return 0;
}

/* ---- ELF vmlinux -------------------------------------------------------- */

static int elf_check_header(const Elf64_Ehdr *eh, uint64_t fsize, char *err, size_t errlen)
{
	uint64_t ph_bytes = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);

	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return err_set(err, errlen, -ENOEXEC, "ELF kernel is not 64-bit (class %u)",
			       eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return err_set(err, errlen, -ENOEXEC, "ELF kernel is not little-endian");
	if (eh->e_machine != EM_X86_64)
		return err_set(err, errlen, -ENOEXEC,
			       "ELF kernel is for machine %u, not x86-64 (%u)", eh->e_machine,
			       EM_X86_64);
	if (eh->e_type != ET_EXEC)
		return err_set(err, errlen, -ENOEXEC, "ELF kernel is not an executable (e_type %u)",
			       eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return err_set(err, errlen, -ENOEXEC,
			       "ELF kernel has program header entries of %u bytes, expected %zu",
			       eh->e_phentsize, sizeof(Elf64_Phdr));
	if (eh->e_phnum == 0 || eh->e_phnum == PN_XNUM)
		return err_set(err, errlen, -ENOEXEC,
			       "ELF kernel has an unsupported program header count (%u)",
			       eh->e_phnum);
	if (eh->e_phoff > fsize || ph_bytes > fsize - eh->e_phoff)
		return err_set(err, errlen, -ENOEXEC,
			       "ELF program header table [%#llx, +%#llx) lies beyond the end of "
			       "the file (%llu bytes)",
			       (unsigned long long)eh->e_phoff, (unsigned long long)ph_bytes,
			       (unsigned long long)fsize);
	return 0;
}

static int elf_check_load_segment(const struct guest_mem *mem, const Elf64_Phdr *ph,
				  unsigned int idx, uint64_t fsize, char *err, size_t errlen)
{
	if (ph->p_filesz > ph->p_memsz)
		return err_set(err, errlen, -ENOEXEC,
			       "ELF segment %u: file size %#llx exceeds memory size %#llx", idx,
			       (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
	if (ph->p_offset > fsize || ph->p_filesz > fsize - ph->p_offset)
		return err_set(err, errlen, -ENOEXEC,
			       "ELF segment %u: file bytes [%#llx, +%#llx) lie beyond the end of "
			       "the file (%llu bytes)",
			       idx, (unsigned long long)ph->p_offset,
			       (unsigned long long)ph->p_filesz, (unsigned long long)fsize);
	/* Below 1 MiB live the zero page, page tables, cmdline and MP table. */
	if (ph->p_paddr < LAYOUT_HIMEM_START)
		return err_set(err, errlen, -ENOEXEC,
			       "ELF segment %u: load address %#llx is below 1 MiB", idx,
			       (unsigned long long)ph->p_paddr);
	/* Translation fails on any overflow; < 4 GiB keeps it in the identity map. */
	if (!guest_mem_translate(mem, ph->p_paddr, ph->p_memsz) || ph->p_paddr >= LAYOUT_4G)
		return err_set(err, errlen, -ENOMEM,
			       "ELF segment %u: [%#llx, +%#llx) is outside guest RAM below 4 GiB "
			       "(%llu MiB of RAM)",
			       idx, (unsigned long long)ph->p_paddr,
			       (unsigned long long)ph->p_memsz,
			       (unsigned long long)(mem->size / MIB));
	return 0;
}

/*
 * Read one PT_NOTE segment and look for the PVH entry in it. Notes are not
 * loaded, so the segment only has to lie in the file; ELF_NOTES_MAX bounds
 * what a hostile header can make Ember allocate.
 */
static int elf_read_pvh_note(int fd, const Elf64_Phdr *ph, unsigned int idx, uint64_t fsize,
			     uint32_t *entry, char *err, size_t errlen)
{
	uint8_t *buf;
	int ret;

	if (ph->p_filesz > ELF_NOTES_MAX)
		return err_set(err, errlen, -ENOEXEC,
			       "ELF note segment %u is %llu bytes, more than the %u Ember reads",
			       idx, (unsigned long long)ph->p_filesz, ELF_NOTES_MAX);
	if (ph->p_offset > fsize || ph->p_filesz > fsize - ph->p_offset)
		return err_set(err, errlen, -ENOEXEC,
			       "ELF note segment %u: file bytes [%#llx, +%#llx) lie beyond the end "
			       "of the file (%llu bytes)",
			       idx, (unsigned long long)ph->p_offset,
			       (unsigned long long)ph->p_filesz, (unsigned long long)fsize);
	if (!ph->p_filesz)
		return 0;
	buf = malloc(ph->p_filesz);
	if (!buf)
		return err_set(err, errlen, -ENOMEM, "Out of memory reading ELF notes");
	ret = read_exact(fd, buf, ph->p_filesz, ph->p_offset);
	if (ret)
		err_set(err, errlen, ret, "Cannot read ELF note segment %u: %s", idx,
			strerror(-ret));
	else
		ret = elf_notes_find_pvh(buf, ph->p_filesz, ph->p_align, entry, err, errlen);
	free(buf);
	return ret;
}

static bool elf_entry_is_loaded(const Elf64_Phdr *phdrs, unsigned int phnum, uint64_t entry)
{
	for (unsigned int i = 0; i < phnum; i++) {
		const Elf64_Phdr *ph = &phdrs[i];

		if (ph->p_type == PT_LOAD && entry >= ph->p_paddr &&
		    entry - ph->p_paddr < ph->p_memsz)
			return true;
	}
	return false;
}

/* The PVH entry is 32-bit code: it must be in bytes the file provides, not in bss. */
static bool elf_pvh_entry_is_loaded(const Elf64_Phdr *phdrs, unsigned int phnum, uint64_t entry)
{
	for (unsigned int i = 0; i < phnum; i++) {
		const Elf64_Phdr *ph = &phdrs[i];

		if (ph->p_type == PT_LOAD && entry >= ph->p_paddr &&
		    entry - ph->p_paddr < ph->p_filesz)
			return true;
	}
	return false;
}

/* Every PT_NOTE: at most one PVH entry note over all of them, inside the image. */
static int elf_check_notes(int fd, const Elf64_Ehdr *eh, const Elf64_Phdr *phdrs, uint64_t fsize,
			   struct kernel_info *ki, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		uint32_t entry = 0;
		int ret;

		if (phdrs[i].p_type != PT_NOTE)
			continue;
		ret = elf_read_pvh_note(fd, &phdrs[i], i, fsize, &entry, err, errlen);
		if (ret < 0)
			return ret;
		if (!ret)
			continue;
		if (ki->has_pvh_entry)
			return err_set(err, errlen, -ENOEXEC,
				       "ELF kernel has more than one PVH entry note");
		if (!elf_pvh_entry_is_loaded(phdrs, eh->e_phnum, entry))
			return err_set(
			    err, errlen, -ENOEXEC,
			    "ELF PVH entry point %#x is not inside the bytes of a loaded "
			    "segment",
			    entry);
		ki->has_pvh_entry = true;
		ki->pvh_entry = entry;
	}
	return 0;
}

static int elf_check_segments(const struct guest_mem *mem, int fd, const Elf64_Ehdr *eh,
			      const Elf64_Phdr *phdrs, uint64_t fsize, struct kernel_info *ki,
			      char *err, size_t errlen)
{
	unsigned int nr_load = 0;
	int ret;

	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		if (phdrs[i].p_type != PT_LOAD)
			continue;
		ret = elf_check_load_segment(mem, &phdrs[i], i, fsize, err, errlen);
		if (ret)
			return ret;
		nr_load++;
	}
	if (!nr_load)
		return err_set(err, errlen, -ENOEXEC, "ELF kernel has no PT_LOAD segment");
	if (!elf_entry_is_loaded(phdrs, eh->e_phnum, eh->e_entry))
		return err_set(err, errlen, -ENOEXEC,
			       "ELF entry point %#llx is not inside a loaded segment",
			       (unsigned long long)eh->e_entry);
	return elf_check_notes(fd, eh, phdrs, fsize, ki, err, errlen);
}

static int elf_load_segments(const struct guest_mem *mem, int fd, const Elf64_Ehdr *eh,
			     const Elf64_Phdr *phdrs, struct kernel_info *ki)
{
	int ret;

	ki->load_addr = UINT64_MAX;
	ki->load_end = 0;
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = &phdrs[i];

		if (ph->p_type != PT_LOAD)
			continue;
		ret = read_to_guest(mem, fd, ph->p_offset, ph->p_paddr, ph->p_filesz);
		if (ret)
			return ret;
		/* bss: zero explicitly, the RAM may hold a previous boot's bytes. */
		memset((uint8_t *)guest_mem_translate(mem, ph->p_paddr, ph->p_memsz) + ph->p_filesz,
		       0, ph->p_memsz - ph->p_filesz);
		if (ph->p_paddr < ki->load_addr)
			ki->load_addr = ph->p_paddr;
		if (ph->p_paddr + ph->p_memsz > ki->load_end)
			ki->load_end = ph->p_paddr + ph->p_memsz;
	}
	return 0;
}

static int elf_load(const struct guest_mem *mem, int fd, uint64_t fsize, const uint8_t *head,
		    struct kernel_info *ki, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	Elf64_Phdr *phdrs;
	size_t ph_bytes;
	int ret;

	if (fsize < sizeof(eh))
		return err_set(err, errlen, -ENOEXEC,
			       "ELF kernel is truncated: %llu bytes, the ELF header alone is %zu",
			       (unsigned long long)fsize, sizeof(eh));
	memcpy(&eh, head, sizeof(eh));
	ret = elf_check_header(&eh, fsize, err, errlen);
	if (ret)
		return ret;

	ph_bytes = (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
	phdrs = malloc(ph_bytes);
	if (!phdrs)
		return err_set(err, errlen, -ENOMEM, "Out of memory reading ELF headers");
	ret = read_exact(fd, phdrs, ph_bytes, eh.e_phoff);
	if (ret) {
		err_set(err, errlen, ret, "Cannot read the ELF program headers: %s",
			strerror(-ret));
		goto out;
	}
	ret = elf_check_segments(mem, fd, &eh, phdrs, fsize, ki, err, errlen);
	if (ret)
		goto out;
	ret = elf_load_segments(mem, fd, &eh, phdrs, ki);
	if (ret) {
		err_set(err, errlen, ret, "Cannot load the ELF kernel: %s", strerror(-ret));
		goto out;
	}
	ki->format = KERNEL_FORMAT_ELF;
	ki->entry = eh.e_entry;
	ki->kernel_end = ki->load_end;
out:
	free(phdrs);
	return ret;
}

/* ---- bzImage ------------------------------------------------------------ */

/*
 * Copy the setup header as the protocol defines its extent: from 0x1f1 to
 * 0x202 + the byte at 0x201. Fields past that end are not in this kernel's
 * header and stay zero.
 */
static void bzimage_copy_header(const uint8_t *head, struct setup_header *hdr)
{
	size_t end = 0x202 + head[BZIMAGE_JUMP_OFFSET];

	if (end > KERNEL_HEAD_SIZE)
		end = KERNEL_HEAD_SIZE;
	memset(hdr, 0, sizeof(*hdr));
	memcpy(hdr, head + BZIMAGE_HDR_OFFSET, end - BZIMAGE_HDR_OFFSET);
}

static int bzimage_check_header(const struct setup_header *hdr, char *err, size_t errlen)
{
	if (hdr->version < BZIMAGE_MIN_VERSION)
		return err_set(err, errlen, -ENOEXEC,
			       "Kernel boot protocol %u.%02u is too old: Ember needs 2.06 or "
			       "newer",
			       hdr->version >> 8, hdr->version & 0xff);
	if (!(hdr->xloadflags & XLF_KERNEL_64))
		return err_set(err, errlen, -ENOEXEC,
			       "bzImage has no 64-bit entry point (XLF_KERNEL_64 not set)");
	if (hdr->relocatable_kernel &&
	    (!hdr->kernel_alignment || (hdr->kernel_alignment & (hdr->kernel_alignment - 1))))
		return err_set(err, errlen, -ENOEXEC,
			       "bzImage kernel_alignment %#x is not a power of two",
			       hdr->kernel_alignment);
	return 0;
}

/*
 * Where the kernel runs after it moves itself, per the 64-bit entry of
 * arch/x86/boot/compressed/head_64.S: a relocatable kernel runs at its load
 * address rounded up to kernel_alignment, but never below LOAD_PHYSICAL_ADDR
 * (pref_address); a non-relocatable one always at pref_address.
 */
static uint64_t bzimage_runtime_start(const struct setup_header *hdr, uint64_t load)
{
	uint64_t start = load;

	if (hdr->relocatable_kernel) {
		uint64_t align = hdr->kernel_alignment;

		start = (load + align - 1) & ~(align - 1);
		if (start < hdr->pref_address)
			start = hdr->pref_address;
	} else if (hdr->pref_address) {
		start = hdr->pref_address;
	}
	return start;
}

/*
 * Load address. A relocatable kernel could go straight to pref_address; Ember
 * loads every bzImage at 1 MiB, the protocol's classic address, and lets the
 * decompressor move itself (it always does for the 64-bit entry). A
 * non-relocatable kernel is loaded where code32_start says, as required.
 */
static int bzimage_load_addr(const struct setup_header *hdr, uint64_t *load, char *err,
			     size_t errlen)
{
	if (hdr->relocatable_kernel) {
		*load = LAYOUT_HIMEM_START;
		return 0;
	}
	if (hdr->code32_start < LAYOUT_HIMEM_START)
		return err_set(err, errlen, -ENOEXEC,
			       "Non-relocatable bzImage wants to load at %#x, below 1 MiB",
			       hdr->code32_start);
	*load = hdr->code32_start;
	return 0;
}

static int bzimage_check_fit(const struct guest_mem *mem, const struct setup_header *hdr,
			     uint64_t load, uint64_t size, struct kernel_info *ki, char *err,
			     size_t errlen)
{
	uint64_t run = bzimage_runtime_start(hdr, load);

	if (!guest_mem_translate(mem, load, size))
		return err_set(err, errlen, -ENOMEM,
			       "Kernel (%llu bytes at %#llx) does not fit in guest RAM (%llu MiB)",
			       (unsigned long long)size, (unsigned long long)load,
			       (unsigned long long)(mem->size / MIB));
	/* init_size: contiguous RAM the kernel uses at run time before reading e820. */
	if (!guest_mem_translate(mem, run, hdr->init_size))
		return err_set(err, errlen, -ENOMEM,
			       "Kernel needs %u bytes of RAM at %#llx to decompress (init_size); "
			       "guest RAM is %llu MiB",
			       hdr->init_size, (unsigned long long)run,
			       (unsigned long long)(mem->size / MIB));
	ki->load_addr = load;
	ki->load_end = load + size;
	ki->kernel_end = run + hdr->init_size > ki->load_end ? run + hdr->init_size : ki->load_end;
	return 0;
}

static int bzimage_load(const struct guest_mem *mem, int fd, uint64_t fsize, const uint8_t *head,
			struct kernel_info *ki, char *err, size_t errlen)
{
	struct setup_header *hdr = &ki->hdr;
	uint64_t setup_size, kernel_size, load = 0;
	int ret;

	bzimage_copy_header(head, hdr);
	ret = bzimage_check_header(hdr, err, errlen);
	if (ret)
		return ret;

	setup_size =
	    ((hdr->setup_sects ? hdr->setup_sects : BZIMAGE_DEFAULT_SECTS) + 1ULL) * SECTOR_SIZE;
	if (fsize <= setup_size + BZIMAGE_ENTRY64_OFFSET)
		return err_set(err, errlen, -ENOEXEC,
			       "bzImage is truncated: %llu bytes, setup code is %llu bytes and "
			       "no 64-bit entry follows",
			       (unsigned long long)fsize, (unsigned long long)setup_size);
	kernel_size = fsize - setup_size;
	/* syssize counts the protected-mode part in 16-byte paragraphs. */
	if ((uint64_t)hdr->syssize * 16 > kernel_size)
		return err_set(err, errlen, -ENOEXEC,
			       "bzImage is truncated: protected-mode kernel is %llu bytes, its "
			       "header says %llu",
			       (unsigned long long)kernel_size,
			       (unsigned long long)hdr->syssize * 16);

	ret = bzimage_load_addr(hdr, &load, err, errlen);
	if (!ret)
		ret = bzimage_check_fit(mem, hdr, load, kernel_size, ki, err, errlen);
	if (ret)
		return ret;
	ret = read_to_guest(mem, fd, setup_size, load, kernel_size);
	if (ret)
		return err_set(err, errlen, ret, "Cannot load the bzImage kernel: %s",
			       strerror(-ret));
	ki->format = KERNEL_FORMAT_BZIMAGE;
	ki->entry = load + BZIMAGE_ENTRY64_OFFSET;
	return 0;
}

/* ---- entry points ------------------------------------------------------- */

static bool head_is_elf(const uint8_t *head, uint64_t fsize)
{
	return fsize >= SELFMAG && memcmp(head, ELFMAG, SELFMAG) == 0;
}

static bool head_is_bzimage(const uint8_t *head, uint64_t fsize)
{
	uint32_t magic;

	if (fsize < 0x202 + sizeof(magic))
		return false;
	memcpy(&magic, head + 0x202, sizeof(magic));
	return magic == BZIMAGE_HDR_MAGIC;
}

int loader_load_kernel(const struct guest_mem *mem, int fd, struct kernel_info *ki, char *err,
		       size_t errlen)
{
	uint8_t head[KERNEL_HEAD_SIZE] = {0};
	uint64_t fsize = 0;
	int ret;

	memset(ki, 0, sizeof(*ki));
	ret = regular_file_size(fd, &fsize);
	if (ret)
		return err_set(err, errlen, ret, "Cannot read the kernel image: %s",
			       ret == -EINVAL ? "not a regular file" : strerror(-ret));
	ret = read_exact(fd, head, fsize < sizeof(head) ? fsize : sizeof(head), 0);
	if (ret)
		return err_set(err, errlen, ret, "Cannot read the kernel image: %s",
			       strerror(-ret));
	if (head_is_elf(head, fsize))
		return elf_load(mem, fd, fsize, head, ki, err, errlen);
	if (head_is_bzimage(head, fsize))
		return bzimage_load(mem, fd, fsize, head, ki, err, errlen);
	return err_set(err, errlen, -ENOEXEC,
		       "Kernel image is neither ELF nor bzImage (no ELF magic, no \"HdrS\" at "
		       "0x202)");
}

static uint64_t initrd_top(const struct guest_mem *mem, const struct kernel_info *ki)
{
	uint64_t top = low_ram_end(mem);
	uint64_t max = INITRD_ADDR_MAX_DEFAULT;

	if (ki->format != KERNEL_FORMAT_BZIMAGE)
		return top;
	if (ki->hdr.version >= 0x0203)
		max = ki->hdr.initrd_addr_max;
	/* initrd_addr_max is the highest address the initrd may occupy. */
	return max + 1 < top ? max + 1 : top;
}

int loader_load_initrd(const struct guest_mem *mem, int fd, const struct kernel_info *ki,
		       uint64_t *addr, uint64_t *size, char *err, size_t errlen)
{
	uint64_t fsize = 0, top, bottom, gpa;
	int ret;

	ret = regular_file_size(fd, &fsize);
	if (ret)
		return err_set(err, errlen, ret, "Cannot read the initrd: %s",
			       ret == -EINVAL ? "not a regular file" : strerror(-ret));
	if (!fsize)
		return err_set(err, errlen, -EINVAL, "Initrd file is empty");

	top = initrd_top(mem, ki);
	bottom = (ki->kernel_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	if (fsize > top || ((top - fsize) & ~(PAGE_SIZE - 1)) < bottom)
		return err_set(err, errlen, -ENOMEM,
			       "Initrd (%llu bytes) does not fit in guest RAM between the kernel "
			       "end %#llx and %#llx",
			       (unsigned long long)fsize, (unsigned long long)bottom,
			       (unsigned long long)top);
	gpa = (top - fsize) & ~(PAGE_SIZE - 1);
	ret = read_to_guest(mem, fd, 0, gpa, fsize);
	if (ret)
		return err_set(err, errlen, ret, "Cannot load the initrd: %s", strerror(-ret));
	*addr = gpa;
	*size = fsize;
	return 0;
}
