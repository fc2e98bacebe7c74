/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY, type 18, owner "Xen"),
 * as Linux emits it: a pointer-sized physical address. Linked only into
 * test-guest-pvh.elf, whose loader then enters pvh_start (pvh_entry.S).
 */
	.section .note.pvh, "a", @note
	.balign	4
	.long	4				/* n_namesz: "Xen" and its NUL */
	.long	8				/* n_descsz */
	.long	18				/* n_type: XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz	"Xen"
	.balign	4
	.quad	pvh_start
	.balign	4

	.section .note.GNU-stack, "", @progbits
