/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Real-mode part of the test guest's bzImage: the boot sector and one setup
 * sector, holding the setup header at 0x1f1 (Documentation/arch/x86/boot.rst,
 * protocol 2.15). The protected-mode kernel (objcopy -O binary of
 * test-guest.elf) follows it in the file. Only the 64-bit entry is usable;
 * the 16-bit entry (and a BIOS booting the boot sector) halts.
 *
 * __syssize, __init_size and __kernel_info_offset come from test-guest.elf,
 * linked in with --just-symbols.
 */

#define SETUP_SECTS		1
#define LOADED_HIGH		0x01		/* loadflags: kernel at 0x100000 */
#define XLF_KERNEL_64		0x01		/* xloadflags: has the 64-bit entry at +0x200 */
#define KERNEL_LOAD_ADDR	0x100000
#define KERNEL_ALIGN		0x100000
#define KERNEL_MIN_ALIGN_LG2	20
#define CMDLINE_SIZE		2047		/* longest command line, NUL excluded */
#define INITRD_ADDR_MAX		0x7fffffff

	.code16
	.section .header, "a"

/* Boot sector: nothing bootable from a BIOS. */
	.globl	_start
_start:
	cli
bootsect_halt:
	hlt
	jmp	bootsect_halt

	.org	0x1f1
	.globl	hdr, header, start_of_setup
hdr:
setup_sects:		.byte	SETUP_SECTS
root_flags:		.word	0
syssize:		.long	__syssize		/* protected-mode part, 16-byte units */
ram_size:		.word	0
vid_mode:		.word	0xffff			/* "normal" */
root_dev:		.word	0
boot_flag:		.word	0xaa55

/* 0x200: the 16-bit entry; the jump's byte offset also marks the header's end. */
			.byte	0xeb			/* jmp short start_of_setup */
			.byte	start_of_setup - header
header:			.ascii	"HdrS"
version:		.word	0x020f
realmode_swtch:		.long	0
start_sys_seg:		.word	0x1000			/* obsolete */
kernel_version:		.word	version_string - 0x200
type_of_loader:		.byte	0
loadflags:		.byte	LOADED_HIGH
setup_move_size:	.word	0x8000
code32_start:		.long	KERNEL_LOAD_ADDR
ramdisk_image:		.long	0
ramdisk_size:		.long	0
bootsect_kludge:	.long	0
heap_end_ptr:		.word	0
ext_loader_ver:		.byte	0
ext_loader_type:	.byte	0
cmd_line_ptr:		.long	0
initrd_addr_max:	.long	INITRD_ADDR_MAX
kernel_alignment:	.long	KERNEL_ALIGN
relocatable_kernel:	.byte	0
min_alignment:		.byte	KERNEL_MIN_ALIGN_LG2
xloadflags:		.word	XLF_KERNEL_64
cmdline_size:		.long	CMDLINE_SIZE
hardware_subarch:	.long	0
hardware_subarch_data:	.quad	0
payload_offset:		.long	0
payload_length:		.long	0
setup_data:		.quad	0
pref_address:		.quad	KERNEL_LOAD_ADDR
init_size:		.long	__init_size
handover_offset:	.long	0
kernel_info_offset:	.long	__kernel_info_offset

/* 0x26c: end of the 2.15 header. */
start_of_setup:
	cli
setup_halt:
	hlt
	jmp	setup_halt

version_string:
	.asciz	"ember-test-guest"

	.org	(SETUP_SECTS + 1) * 512

	.section .note.GNU-stack, "", @progbits
