// SPDX-License-Identifier: Apache-2.0
#include "vmm/boot/elf_notes.h"
#include "vmm/base/errmsg.h"

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define PVH_NOTE_NAME "Xen" /* with its NUL: n_namesz 4 */

struct note {
	Elf64_Nhdr hdr;
	const uint8_t *name;
	const uint8_t *desc;
};

static uint64_t pad(uint64_t n, uint64_t align)
{
	return (n + align - 1) & ~(align - 1);
}

/*
 * Read the note at *@off into @n and move *@off past it. Sizes are padded in
 * 64 bits, so a size near UINT32_MAX cannot wrap.
 */
static int note_next(const uint8_t *buf, size_t len, size_t *off, uint64_t align, unsigned int idx,
		     struct note *n, char *err, size_t errlen)
{
	size_t left = len - *off;
	uint64_t name_len, desc_len;

	if (left < sizeof(n->hdr))
		return err_set(err, errlen, -ENOEXEC,
			       "ELF note %u: header is truncated (%zu bytes left in the segment)",
			       idx, left);
	memcpy(&n->hdr, buf + *off, sizeof(n->hdr));
	left -= sizeof(n->hdr);
	name_len = pad(n->hdr.n_namesz, align);
	desc_len = pad(n->hdr.n_descsz, align);
	if (name_len > left || desc_len > left - name_len)
		return err_set(
		    err, errlen, -ENOEXEC,
		    "ELF note %u: name (%u bytes) and descriptor (%u bytes) run past the "
		    "end of the note segment (%zu bytes left)",
		    idx, n->hdr.n_namesz, n->hdr.n_descsz, left);
	n->name = buf + *off + sizeof(n->hdr);
	n->desc = n->name + name_len;
	*off += sizeof(n->hdr) + name_len + desc_len;
	return 0;
}

static bool note_is_pvh(const struct note *n)
{
	return n->hdr.n_type == XEN_ELFNOTE_PHYS32_ENTRY &&
	       n->hdr.n_namesz == sizeof(PVH_NOTE_NAME) &&
	       memcmp(n->name, PVH_NOTE_NAME, sizeof(PVH_NOTE_NAME)) == 0;
}

/* The descriptor: a 32-bit address, alone or as a 64-bit value (Linux's _ASM_PTR). */
static int note_pvh_entry(const struct note *n, uint32_t *entry, char *err, size_t errlen)
{
	uint64_t value = 0;

	if (n->hdr.n_descsz != 4 && n->hdr.n_descsz != 8)
		return err_set(err, errlen, -ENOEXEC,
			       "ELF PVH entry note has a %u-byte descriptor, expected 4 or 8",
			       n->hdr.n_descsz);
	memcpy(&value, n->desc, n->hdr.n_descsz);
	if (value > UINT32_MAX)
		return err_set(err, errlen, -ENOEXEC,
			       "ELF PVH entry point %#llx is not a 32-bit address",
			       (unsigned long long)value);
	*entry = (uint32_t)value;
	return 0;
}

int elf_notes_find_pvh(const uint8_t *buf, size_t len, uint64_t align, uint32_t *entry, char *err,
		       size_t errlen)
{
	bool found = false;
	uint32_t pvh = 0;
	size_t off = 0;
	int ret;

	if (align <= 1)
		align = 4;
	if (align != 4 && align != 8)
		return err_set(err, errlen, -ENOEXEC,
			       "ELF note segment alignment %llu is neither 4 nor 8",
			       (unsigned long long)align);
	for (unsigned int idx = 0; off < len; idx++) {
		struct note n;

		ret = note_next(buf, len, &off, align, idx, &n, err, errlen);
		if (ret)
			return ret;
		if (!note_is_pvh(&n))
			continue;
		if (found)
			return err_set(err, errlen, -ENOEXEC,
				       "ELF kernel has more than one PVH entry note");
		ret = note_pvh_entry(&n, &pvh, err, errlen);
		if (ret)
			return ret;
		found = true;
	}
	if (found)
		*entry = pvh; /* only once the whole segment parsed */
	return found;
}
