/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ACPI tables for an x86-64 microVM, as Firecracker builds them: how a guest
 * kernel with ACPI finds its CPUs, its IOAPIC and, through the DSDT, the
 * virtio-mmio devices (LNRO0005), the COM1 UART (PNP0501) and the i8042
 * (PNP0303). A kernel without CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES, such as
 * Debian's, can find its devices no other way.
 *
 *   RSDP (rev 2) at LAYOUT_RSDP_ADDR -> XSDT -> FADT -> DSDT
 *                                           -> MADT
 *
 * The tables live in [LAYOUT_ACPI_START, +LAYOUT_ACPI_SIZE), which the e820
 * map reserves, in the order DSDT, FADT, MADT, XSDT, each 8-byte aligned.
 *
 * FADT: revision 6.5, hardware-reduced (no PM/GPE blocks, no SCI, no FACS),
 * power and sleep buttons not fixed-feature, no VGA, no MSI, no ASPM, as
 * Firecracker announces, and no CMOS RTC: there is none at ports 0x70/0x71,
 * and Linux's rtc_cmos otherwise probes for it for 15-18 s of guest boot. Unlike Firecracker it has
 * a reset register, so `reboot=acpi` (and Linux's default reboot order, which tries ACPI first)
 * works: the i8042's command port, 0x64, written with 0xfe, the pulse-reset
 * command the emulated i8042 already implements. A reset by ACPI therefore
 * ends the VM exactly as `reboot=k` does, with no extra device.
 *
 * DSDT, for clones (Firecracker's VMGenID and VMClock devices, whose memory
 * lies at the top of the reserved system area, vmm/mem/layout.h):
 *   VGEN  _HID "VMGENCTR", _CID/_DDN "VM_Gen_Counter", ADDR = Package {low
 *         32 bits, high 32 bits} of the 16-byte generation ID (what Linux's
 *         vmgenid driver evaluates);
 *   VCLK  _HID "AMZNC10C", _CID/_DDN "VMCLOCK", _STA 0x0f, _CRS the VMClock
 *         page as cacheable read-only QWordMemory (Linux's ptp_vmclock);
 *   GED_  _HID "ACPI0013" (Generic Event Device): one edge-triggered,
 *         active-high interrupt per device; its _EVT(gsi) runs
 *         Notify(\_SB_.VGEN, 0x80) or Notify(\_SB_.VCLK, 0x80), so the VMM
 *         announces a new ID by pulsing the device's GSI.
 *
 * MADT: one enabled Local APIC per vCPU (APIC ID = ACPI UID = index) and the
 * IOAPIC (ID 0, KVM's reset value, GSI base 0); no PC-AT 8259 flag and no
 * interrupt source overrides: KVM routes ISA IRQ n to IOAPIC pin n, which is
 * what a guest assumes without overrides (Firecracker's table, too).
 */
#ifndef EMBER_ACPI_H
#define EMBER_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"

#define ACPI_OEM_ID	      "EMBER "
#define ACPI_OEM_REVISION     1
#define ACPI_CREATOR_ID	      "EMBR"
#define ACPI_CREATOR_REVISION 1
#define ACPI_HYPERVISOR_ID    "EMBERKVM" /* FADT Hypervisor Vendor Identity */
#define ACPI_TABLE_ALIGN      8

#define ACPI_MAX_VIRTIO (LAYOUT_IRQ_MAX - LAYOUT_IRQ_BASE + 1)
#define ACPI_MAX_CPUS	254 /* 8-bit APIC IDs, 0xff is broadcast */

/* ---- table layouts (ACPI 6.5, chapter 5). Little-endian, packed. ---------- */

struct acpi_sdt_header {
	char signature[4];
	uint32_t length; /* header included */
	uint8_t revision;
	uint8_t checksum; /* whole table sums to 0 */
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* first 20 bytes sum to 0 */
	char oem_id[6];
	uint8_t revision; /* 2: ACPI 2.0+, XSDT */
	uint32_t rsdt_address;
	uint32_t length; /* 36 */
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* all 36 bytes sum to 0 */
	uint8_t reserved[3];
} __attribute__((packed));

/* Generic Address Structure. */
struct acpi_gas {
	uint8_t space_id; /* ACPI_GAS_* */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size; /* ACPI_GAS_ACCESS_* */
	uint64_t address;
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_sdt_header header;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch; /* ACPI_FADT_IAPC_* */
	uint8_t reserved1;
	uint32_t flags; /* ACPI_FADT_F_* */
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_revision;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	char hypervisor_vendor_id[8];
} __attribute__((packed));

struct acpi_madt {
	struct acpi_sdt_header header;
	uint32_t lapic_address;
	uint32_t flags; /* bit 0 PCAT_COMPAT: clear */
} __attribute__((packed));

struct acpi_madt_lapic {
	uint8_t type;	/* ACPI_MADT_LAPIC */
	uint8_t length; /* 8 */
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags; /* ACPI_MADT_ENABLED */
} __attribute__((packed));

struct acpi_madt_ioapic {
	uint8_t type;	/* ACPI_MADT_IOAPIC */
	uint8_t length; /* 12 */
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_sdt_header) == 36, "SDT header is 36 bytes");
_Static_assert(sizeof(struct acpi_rsdp) == LAYOUT_RSDP_SIZE, "RSDP 2.0 is 36 bytes");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS is 12 bytes");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT 6.5 is 276 bytes");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT header is 44 bytes");
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "Local APIC entry is 8 bytes");
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "IOAPIC entry is 12 bytes");

#define ACPI_RSDP_REVISION		    2
#define ACPI_RSDP_V1_LEN		    20 /* what the first checksum covers */
#define ACPI_XSDT_REVISION		    1
#define ACPI_FADT_REVISION		    6
#define ACPI_FADT_MINOR_REVISION	    5
#define ACPI_MADT_REVISION		    6
#define ACPI_DSDT_REVISION		    2 /* 64-bit AML integers */
#define ACPI_FADT_F_PWR_BUTTON		    (1U << 4)
#define ACPI_FADT_F_SLP_BUTTON		    (1U << 5)
#define ACPI_FADT_F_RESET_REG_SUP	    (1U << 10)
#define ACPI_FADT_F_HW_REDUCED_ACPI	    (1U << 20)
#define ACPI_FADT_IAPC_VGA_NOT_PRESENT	    (1U << 2)
#define ACPI_FADT_IAPC_MSI_NOT_SUPPORTED    (1U << 3)
#define ACPI_FADT_IAPC_PCIE_ASPM_CONTROLS   (1U << 4)
#define ACPI_FADT_IAPC_CMOS_RTC_NOT_PRESENT (1U << 5)
#define ACPI_GAS_SYSTEM_IO		    1
#define ACPI_GAS_ACCESS_BYTE		    1
#define ACPI_RESET_PORT			    (LAYOUT_I8042_PORT + 4) /* i8042 command port */
#define ACPI_RESET_VALUE		    0xfe /* i8042: pulse the reset line */
#define ACPI_MADT_LAPIC			    0
#define ACPI_MADT_IOAPIC		    1
#define ACPI_MADT_ENABLED		    1
#define ACPI_IOAPIC_ID			    0

/* One virtio-mmio device: its 4 KiB window and its GSI. */
struct acpi_virtio_dev {
	uint64_t base;
	uint32_t gsi;
};

/* VMGenID and VMClock: guest addresses and the GSIs the GED listens on. */
struct acpi_clone_devs {
	uint64_t vmgenid_addr;
	uint32_t vmgenid_gsi;
	uint64_t vmclock_addr;
	uint32_t vmclock_gsi;
};

struct acpi_config {
	uint32_t nr_cpus;
	/* 0 when the devices are announced on the command line instead. */
	unsigned int nr_virtio;
	struct acpi_virtio_dev virtio[ACPI_MAX_VIRTIO];
	bool has_clone_devs; /* VGEN, VCLK and GED_ in the DSDT */
	struct acpi_clone_devs clone;
};

/* The tables in host memory, laid out byte for byte as they go to the guest. */
struct acpi_tables {
	uint8_t rsdp[LAYOUT_RSDP_SIZE]; /* for LAYOUT_RSDP_ADDR */
	uint8_t *data;			/* for LAYOUT_ACPI_START */
	size_t len;
	uint64_t dsdt, fadt, madt, xsdt; /* guest-physical addresses */
};

/*
 * Build every table for @cfg. 0, or -EINVAL (bad vCPU or device count, a
 * device above 4 GiB, a clone device's GSI outside the IOAPIC's pins or
 * shared, its memory wrapping around), -E2BIG (outgrows LAYOUT_ACPI_SIZE) or -ENOMEM, with
 * nothing left allocated. acpi_tables_free() releases a built set.
 */
int acpi_build(const struct acpi_config *cfg, struct acpi_tables *t);
void acpi_tables_free(struct acpi_tables *t);

/*
 * Build the tables and write them to guest memory: all of them or, on any
 * error (the above, or -EFAULT when the table area is not RAM), none.
 */
int acpi_write(const struct guest_mem *mem, const struct acpi_config *cfg);

#endif
