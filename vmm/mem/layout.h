/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest-physical memory map of an Ember x86-64 microVM. One place for every
 * fixed address so the boot code, the devices and the tests agree. The values
 * follow Firecracker's x86_64 layout, so guests see what they would there.
 */
#ifndef EMBER_LAYOUT_H
#define EMBER_LAYOUT_H

#include <stdint.h>

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

/* Real-mode area (below 1 MiB). */
#define LAYOUT_GDT_ADDR	  0x500ULL /* 5-entry Linux boot GDT: 0x500-0x527 */
#define LAYOUT_IDT_ADDR	  0x528ULL /* after the GDT; 8 zero bytes */
#define LAYOUT_BOOT_STACK 0x8ff0ULL
/*
 * PVH boot (Firecracker's addresses): struct hvm_start_info, RBX at entry,
 * then the module list (the initrd), and the memory map at the zero page's
 * address, which a PVH boot does not write.
 */
#define LAYOUT_PVH_INFO	   0x6000ULL
#define LAYOUT_PVH_MODLIST 0x6040ULL
#define LAYOUT_PVH_MEMMAP  0x7000ULL
#define LAYOUT_ZERO_PAGE   0x7000ULL /* struct boot_params, RSI at entry */
#define LAYOUT_PML4	   0x9000ULL
#define LAYOUT_PDPTE	   0xa000ULL
#define LAYOUT_PDE	   0xb000ULL /* 4 pages: identity map of 4 GiB with 2 MiB pages */
#define LAYOUT_CMDLINE	   0x20000ULL
#define LAYOUT_CMDLINE_MAX 2048U      /* Firecracker's limit, incl. NUL */
#define LAYOUT_EBDA_START  0x9fc00ULL /* MP floating pointer + table live here */
#define LAYOUT_EBDA_END	   0xa0000ULL
#define LAYOUT_HIMEM_START 0x100000ULL /* protected-mode kernel is loaded at 1 MiB */

/*
 * System data, Firecracker's [0x9fc00, 0xe0000): the MP table in the EBDA,
 * then the ACPI tables (DSDT, FADT, MADT, XSDT), then at the top the VMClock
 * page and the 16-byte VM generation ID, where Firecracker's allocator puts
 * them (last fit: the ID first, 8-byte aligned, then the page-aligned page
 * below it). The e820 map marks the whole range reserved. The RSDP sits
 * right after it at 0xe0000, the start of the BIOS area [0xe0000, 1 MiB)
 * that Linux scans for "RSD PTR ", and boot_params.acpi_rsdp_addr points at
 * it as well.
 */
#define LAYOUT_SYSTEM_MEM_START LAYOUT_EBDA_START
#define LAYOUT_SYSTEM_MEM_END	LAYOUT_RSDP_ADDR
#define LAYOUT_ACPI_START	LAYOUT_EBDA_END
#define LAYOUT_ACPI_SIZE	(LAYOUT_VMCLOCK_ADDR - LAYOUT_ACPI_START) /* 248 KiB */
#define LAYOUT_VMCLOCK_ADDR	0xde000ULL /* struct vmclock_abi, one page */
#define LAYOUT_VMCLOCK_SIZE	0x1000ULL
#define LAYOUT_VMGENID_ADDR	(LAYOUT_RSDP_ADDR - LAYOUT_VMGENID_SIZE) /* 0xdfff0 */
#define LAYOUT_VMGENID_SIZE	16ULL
#define LAYOUT_RSDP_ADDR	0xe0000ULL
#define LAYOUT_RSDP_SIZE	36ULL /* ACPI 2.0+ RSDP */

/* 32-bit MMIO hole: [MMIO_START, 4 GiB) is never RAM. */
#define LAYOUT_MMIO_START 0xd0000000ULL
#define LAYOUT_MMIO_SIZE  (768 * MIB)
#define LAYOUT_4G	  (4 * GIB)

/* Boot timer: guest writes byte 123 here (Firecracker's magic address). */
#define LAYOUT_BOOT_TIMER_ADDR LAYOUT_MMIO_START
#define LAYOUT_BOOT_TIMER_SIZE 0x1000ULL
#define BOOT_TIMER_MAGIC       123

/* virtio-mmio slots follow the boot timer, 4 KiB apart, one IRQ each. */
#define LAYOUT_VIRTIO_START  (LAYOUT_MMIO_START + 0x1000ULL)
#define LAYOUT_VIRTIO_STRIDE 0x1000ULL

/* KVM's own pages, at the top of the hole below the IOAPIC/LAPIC. */
#define LAYOUT_KVM_IDENTITY_MAP 0xfffbc000ULL
#define LAYOUT_KVM_TSS		0xfffbd000ULL /* 3 pages */

#define LAYOUT_IOAPIC_ADDR 0xfec00000ULL
#define LAYOUT_LAPIC_ADDR  0xfee00000ULL

/* Legacy I/O ports and ISA IRQs. */
#define LAYOUT_COM1_PORT  0x3f8
#define LAYOUT_COM1_IRQ	  4
#define LAYOUT_I8042_PORT 0x60 /* data 0x60, status/command 0x64 */
#define LAYOUT_I8042_IRQ  1

/* GSIs handed to virtio-mmio devices: [IRQ_BASE, IRQ_MAX]. */
#define LAYOUT_IRQ_BASE 5
#define LAYOUT_IRQ_MAX	23

#define LAYOUT_MAX_VCPUS 32

#endif
