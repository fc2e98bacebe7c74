/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel MultiProcessor Specification 1.4 tables: how a guest without ACPI
 * finds its CPUs, its IOAPIC and the ISA IRQ routing. The floating pointer
 * and the configuration table are written at the start of the EBDA
 * (LAYOUT_EBDA_START, the last KiB of base memory Linux scans), which the
 * e820 map leaves out of RAM.
 */
#ifndef EMBER_MPTABLE_H
#define EMBER_MPTABLE_H

#include <stdint.h>

#include "vmm/mem/guest_mem.h"

/* Entry layouts (MP spec 1.4, chapter 4). Little-endian, packed. */
struct mpf_intel {
	char signature[4];     /* "_MP_" */
	uint32_t physptr;      /* configuration table address */
	uint8_t length;	       /* in 16-byte units: 1 */
	uint8_t specification; /* 4 = version 1.4 */
	uint8_t checksum;      /* all 16 bytes sum to 0 */
	uint8_t feature1;      /* 0: a configuration table is present */
	uint8_t feature2;      /* bit 7 clear: no IMCR, virtual wire mode */
	uint8_t feature3[3];
} __attribute__((packed));

struct mpc_table {
	char signature[4]; /* "PCMP" */
	uint16_t length;   /* base table, header included */
	uint8_t spec;	   /* 4 */
	uint8_t checksum;  /* base table sums to 0 */
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount; /* number of entries */
	uint32_t lapic;	   /* local APIC address */
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type; /* MP_PROCESSOR */
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;      /* CPU_ENABLED | CPU_BOOTPROCESSOR */
	uint32_t cpufeature;  /* signature: stepping, model, family */
	uint32_t featureflag; /* CPUID.1:EDX subset */
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type; /* MP_BUS */
	uint8_t busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type; /* MP_IOAPIC */
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags; /* MPC_APIC_USABLE */
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type;	  /* MP_INTSRC or MP_LINTSRC */
	uint8_t irqtype;  /* MP_IRQ_INT, MP_IRQ_NMI, MP_IRQ_EXTINT */
	uint16_t irqflag; /* polarity/trigger: 0 = conforms to the bus */
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic; /* MP_APIC_ALL = every local APIC */
	uint8_t dstirq;	 /* IOAPIC pin or LINTn */
} __attribute__((packed));

_Static_assert(sizeof(struct mpf_intel) == 16, "MP floating pointer is 16 bytes");
_Static_assert(sizeof(struct mpc_table) == 44, "MP config header is 44 bytes");
_Static_assert(sizeof(struct mpc_cpu) == 20, "processor entry is 20 bytes");
_Static_assert(sizeof(struct mpc_bus) == 8, "bus entry is 8 bytes");
_Static_assert(sizeof(struct mpc_ioapic) == 8, "IOAPIC entry is 8 bytes");
_Static_assert(sizeof(struct mpc_intsrc) == 8, "interrupt entry is 8 bytes");

#define MP_PROCESSOR 0
#define MP_BUS	     1
#define MP_IOAPIC    2
#define MP_INTSRC    3
#define MP_LINTSRC   4

#define MP_IRQ_INT    0
#define MP_IRQ_NMI    1
#define MP_IRQ_EXTINT 3

#define CPU_ENABLED	  1
#define CPU_BOOTPROCESSOR 2
#define MPC_APIC_USABLE	  1
#define MP_APIC_ALL	  0xff

#define MP_SPEC_REV	  4
#define MP_APIC_VERSION	  0x14	/* KVM's local APIC */
#define MP_IOAPIC_VERSION 0x11	/* KVM's IOAPIC */
#define MP_CPU_SIGNATURE  0x600 /* family 6, as Firecracker and QEMU announce */
#define MP_CPU_FEATURES	  0x201 /* CPUID.1:EDX APIC | FPU */
#define MP_OEM		  "EMBER   "
#define MP_PRODUCT_ID	  "MICROVM     "
#define MP_BUS_ISA	  "ISA   "

/*
 * Write the MP tables for @nr_cpus CPUs (APIC IDs 0..nr_cpus-1, CPU 0 the
 * BSP) and ISA IRQs 0..@irq_max routed to the same IOAPIC pins. The IOAPIC's
 * ID is nr_cpus. -EINVAL for a bad count, -E2BIG if the tables outgrow the
 * EBDA, -EFAULT if the EBDA is not RAM.
 */
int mptable_write(const struct guest_mem *mem, uint32_t nr_cpus, uint32_t irq_max);

/* Bytes the tables take for @nr_cpus and @irq_max (floating pointer included). */
uint64_t mptable_size(uint32_t nr_cpus, uint32_t irq_max);

#endif
