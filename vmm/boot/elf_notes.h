/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PVH entry note of an ELF vmlinux: XEN_ELFNOTE_PHYS32_ENTRY (type 18,
 * owner "Xen"), whose descriptor is the 32-bit physical address of the
 * kernel's PVH entry (Linux: pvh_start_xen, emitted as a pointer-sized value
 * by arch/x86/platform/pvh/head.S). Firecracker boots through it when it is
 * there, and so does Ember.
 *
 * The bytes are one PT_NOTE segment of the kernel file, so untrusted: every
 * size is checked against what is left of the segment before it is used,
 * and a segment that does not parse is an error (as in Firecracker's
 * linux-loader), not a silent fall-back to the other boot protocol.
 */
#ifndef EMBER_ELF_NOTES_H
#define EMBER_ELF_NOTES_H

#include <stddef.h>
#include <stdint.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18

/*
 * Look for the PVH entry note in the PT_NOTE segment @buf of @len bytes
 * whose p_align is @align (0, 1 and 4: 4-byte padding; 8: 8-byte). Returns 1
 * with *@entry set, 0 if the segment has no such note, or -ENOEXEC with a
 * message in @err if the segment is malformed.
 */
int elf_notes_find_pvh(const uint8_t *buf, size_t len, uint64_t align, uint32_t *entry, char *err,
		       size_t errlen);

#endif
