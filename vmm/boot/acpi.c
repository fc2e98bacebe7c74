// SPDX-License-Identifier: Apache-2.0
#include "vmm/boot/acpi.h"
#include "vmm/boot/aml.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define VIRTIO_MMIO_SIZE 0x1000U /* one 4 KiB window per device */
#define LNRO_VIRTIO_MMIO "LNRO0005"
#define PNP_COM		 "PNP0501" /* 16550A-compatible UART */
#define PNP_I8042_KBD	 "PNP0303" /* IBM Enhanced keyboard (101/102-key, PS/2 mouse support) */
#define COM1_PORTS	 8
#define ACPI_STA_PRESENT 0x0f /* present, enabled, shown in UI, functioning */
#define VMGENID_HID	 "VMGENCTR"
#define VMGENID_CID	 "VM_Gen_Counter"
#define VMCLOCK_HID	 "AMZNC10C"
#define VMCLOCK_CID	 "VMCLOCK"
#define ACPI_GED_HID	 "ACPI0013"
#define ACPI_NOTIFY_DEV	 0x80 /* device-specific notification */

/* The byte that makes @len bytes at @p sum to 0 (mod 256). */
static uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)(0x100 - sum);
}

static void sdt_header(struct acpi_sdt_header *h, const char *signature, size_t len,
		       uint8_t revision, const char *table_id)
{
	memcpy(h->signature, signature, sizeof(h->signature));
	h->length = (uint32_t)len;
	h->revision = revision;
	h->checksum = 0;
	memcpy(h->oem_id, ACPI_OEM_ID, sizeof(h->oem_id));
	memcpy(h->oem_table_id, table_id, sizeof(h->oem_table_id));
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, sizeof(h->creator_id));
	h->creator_revision = ACPI_CREATOR_REVISION;
}

/*
 * Append a finished table (length set, checksum 0) to the table area at the
 * next ACPI_TABLE_ALIGN boundary, seal its checksum and return its guest
 * address in @addr.
 */
static int area_put(struct aml_buf *area, const void *table, size_t len, uint64_t *addr)
{
	static const uint8_t zeros[ACPI_TABLE_ALIGN];
	size_t off;

	aml_bytes(area, zeros,
		  (ACPI_TABLE_ALIGN - area->len % ACPI_TABLE_ALIGN) % ACPI_TABLE_ALIGN);
	off = area->len;
	aml_bytes(area, table, len);
	if (aml_error(area))
		return aml_error(area);
	area->data[off + offsetof(struct acpi_sdt_header, checksum)] =
	    acpi_checksum(area->data + off, len);
	*addr = LAYOUT_ACPI_START + off;
	return 0;
}

/* ---- DSDT ------------------------------------------------------------------ */

static void dsdt_com1(struct aml_buf *b)
{
	size_t dev = aml_device_open(b, "COM1"), crs;

	aml_name(b, "_HID");
	aml_eisaid(b, PNP_COM);
	aml_name(b, "_UID");
	aml_integer(b, 0);
	aml_name(b, "_DDN");
	aml_string(b, "COM1");
	aml_name(b, "_CRS");
	crs = aml_restemplate_open(b);
	aml_interrupt(b, AML_IRQ_CONSUMER | AML_IRQ_EDGE, LAYOUT_COM1_IRQ);
	aml_io(b, LAYOUT_COM1_PORT, LAYOUT_COM1_PORT, 1, COM1_PORTS);
	aml_restemplate_close(b, crs);
	aml_close(b, dev);
}

/*
 * Without it Linux's i8042 driver finds no controller (the FADT does not set
 * the 8042 boot flag) and SendCtrlAltDel would reach nobody. _STA is a
 * method, as in Firecracker's table; the command port is listed so Linux
 * does not complain about a controller with a data port only.
 */
static void dsdt_i8042(struct aml_buf *b)
{
	size_t dev = aml_device_open(b, "PS2_"), sta, crs;

	aml_name(b, "_HID");
	aml_eisaid(b, PNP_I8042_KBD);
	sta = aml_method_open(b, "_STA", 0, false);
	aml_return(b);
	aml_integer(b, ACPI_STA_PRESENT);
	aml_close(b, sta);
	aml_name(b, "_CRS");
	crs = aml_restemplate_open(b);
	aml_io(b, LAYOUT_I8042_PORT, LAYOUT_I8042_PORT, 1, 1);
	aml_io(b, ACPI_RESET_PORT, ACPI_RESET_PORT, 1, 1);
	aml_interrupt(b, AML_IRQ_CONSUMER | AML_IRQ_EDGE, LAYOUT_I8042_IRQ);
	aml_restemplate_close(b, crs);
	aml_close(b, dev);
}

/*
 * Linux's virtio_mmio driver binds LNRO0005 (ARM's "virtio-mmio" ACPI ID).
 * Edge-triggered, active-high, exclusive: the irqfd pulses the line, as in
 * Firecracker's DSDT. _CCA: DMA is cache-coherent.
 */
static void dsdt_virtio(struct aml_buf *b, unsigned int index, const struct acpi_virtio_dev *d)
{
	/* V000, V001, ...: index < ACPI_MAX_VIRTIO, so three digits always fit. */
	char name[] = {'V', (char)('0' + index / 100 % 10), (char)('0' + index / 10 % 10),
		       (char)('0' + index % 10), '\0'};
	size_t dev, crs;

	dev = aml_device_open(b, name);
	aml_name(b, "_HID");
	aml_string(b, LNRO_VIRTIO_MMIO);
	aml_name(b, "_UID");
	aml_integer(b, index);
	aml_name(b, "_CCA");
	aml_integer(b, 1);
	aml_name(b, "_CRS");
	crs = aml_restemplate_open(b);
	aml_memory32_fixed(b, true, (uint32_t)d->base, VIRTIO_MMIO_SIZE);
	aml_interrupt(b, AML_IRQ_CONSUMER | AML_IRQ_EDGE, d->gsi);
	aml_restemplate_close(b, crs);
	aml_close(b, dev);
}

/* Linux's vmgenid driver reads ADDR: a Package of the ID's address, low then high 32 bits. */
static void dsdt_vmgenid(struct aml_buf *b, uint64_t addr)
{
	size_t dev = aml_device_open(b, "VGEN"), pkg;

	aml_name(b, "_HID");
	aml_string(b, VMGENID_HID);
	aml_name(b, "_CID");
	aml_string(b, VMGENID_CID);
	aml_name(b, "_DDN");
	aml_string(b, VMGENID_CID);
	aml_name(b, "ADDR");
	pkg = aml_package_open(b, 2);
	aml_integer(b, (uint32_t)addr);
	aml_integer(b, addr >> 32);
	aml_close(b, pkg);
	aml_close(b, dev);
}

static void dsdt_vmclock(struct aml_buf *b, uint64_t addr)
{
	size_t dev = aml_device_open(b, "VCLK"), sta, crs;

	aml_name(b, "_HID");
	aml_string(b, VMCLOCK_HID);
	aml_name(b, "_CID");
	aml_string(b, VMCLOCK_CID);
	aml_name(b, "_DDN");
	aml_string(b, VMCLOCK_CID);
	sta = aml_method_open(b, "_STA", 0, false);
	aml_return(b);
	aml_integer(b, ACPI_STA_PRESENT);
	aml_close(b, sta);
	aml_name(b, "_CRS");
	crs = aml_restemplate_open(b);
	aml_qword_memory(b, true, false, addr, addr + LAYOUT_VMCLOCK_SIZE - 1);
	aml_restemplate_close(b, crs);
	aml_close(b, dev);
}

/* If (LEqual (Arg0, @gsi)) { Notify (@path, 0x80) } */
static void evt_notify_if(struct aml_buf *b, uint32_t gsi, const char *path)
{
	size_t cond = aml_if_open(b);

	aml_lequal(b);
	aml_arg(b, 0);
	aml_integer(b, gsi);
	aml_notify(b, path, ACPI_NOTIFY_DEV);
	aml_close(b, cond);
}

/*
 * Hardware-reduced ACPI has no GPE blocks: its events come through a GED,
 * whose driver (Linux's evged) calls _EVT with the GSI that fired.
 */
static void dsdt_ged(struct aml_buf *b, const struct acpi_clone_devs *c)
{
	size_t dev = aml_device_open(b, "GED_"), crs, evt;

	aml_name(b, "_HID");
	aml_string(b, ACPI_GED_HID);
	aml_name(b, "_CRS");
	crs = aml_restemplate_open(b);
	aml_interrupt(b, AML_IRQ_CONSUMER | AML_IRQ_EDGE, c->vmgenid_gsi);
	aml_interrupt(b, AML_IRQ_CONSUMER | AML_IRQ_EDGE, c->vmclock_gsi);
	aml_restemplate_close(b, crs);
	evt = aml_method_open(b, "_EVT", 1, true);
	evt_notify_if(b, c->vmgenid_gsi, "\\_SB_.VGEN");
	evt_notify_if(b, c->vmclock_gsi, "\\_SB_.VCLK");
	aml_close(b, evt);
	aml_close(b, dev);
}

/*
 * Scope(\_SB_) { COM1, PS2_, V000... in slot order, so the root drive is
 * vda, then VGEN, VCLK, GED_ }.
 */
static void dsdt_body(struct aml_buf *b, const struct acpi_config *cfg)
{
	size_t sb = aml_scope_open(b, "\\_SB_");

	dsdt_com1(b);
	dsdt_i8042(b);
	for (unsigned int i = 0; i < cfg->nr_virtio; i++)
		dsdt_virtio(b, i, &cfg->virtio[i]);
	if (cfg->has_clone_devs) {
		dsdt_vmgenid(b, cfg->clone.vmgenid_addr);
		dsdt_vmclock(b, cfg->clone.vmclock_addr);
		dsdt_ged(b, &cfg->clone);
	}
	aml_close(b, sb);
}

static int put_dsdt(struct aml_buf *area, const struct acpi_config *cfg, uint64_t *addr)
{
	struct acpi_sdt_header h = {0};
	struct aml_buf dsdt;
	int ret;

	aml_init(&dsdt);
	aml_bytes(&dsdt, &h, sizeof(h)); /* filled in once the body's size is known */
	dsdt_body(&dsdt, cfg);
	ret = aml_error(&dsdt);
	if (!ret && dsdt.len > UINT32_MAX)
		ret = -E2BIG;
	if (!ret) {
		sdt_header(&h, "DSDT", dsdt.len, ACPI_DSDT_REVISION, "EMBRDSDT");
		memcpy(dsdt.data, &h, sizeof(h));
		ret = area_put(area, dsdt.data, dsdt.len, addr);
	}
	aml_free(&dsdt);
	return ret;
}

/* ---- FADT, MADT, XSDT, RSDP ------------------------------------------------ */

static int put_fadt(struct aml_buf *area, uint64_t dsdt, uint64_t *addr)
{
	struct acpi_fadt f = {0};

	sdt_header(&f.header, "FACP", sizeof(f), ACPI_FADT_REVISION, "EMBRFACP");
	f.flags = ACPI_FADT_F_HW_REDUCED_ACPI | ACPI_FADT_F_PWR_BUTTON | ACPI_FADT_F_SLP_BUTTON |
		  ACPI_FADT_F_RESET_REG_SUP;
	f.iapc_boot_arch = ACPI_FADT_IAPC_VGA_NOT_PRESENT | ACPI_FADT_IAPC_MSI_NOT_SUPPORTED |
			   ACPI_FADT_IAPC_PCIE_ASPM_CONTROLS | ACPI_FADT_IAPC_CMOS_RTC_NOT_PRESENT;
	f.reset_reg = (struct acpi_gas){
	    .space_id = ACPI_GAS_SYSTEM_IO,
	    .bit_width = 8,
	    .access_size = ACPI_GAS_ACCESS_BYTE,
	    .address = ACPI_RESET_PORT,
	};
	f.reset_value = ACPI_RESET_VALUE;
	f.minor_revision = ACPI_FADT_MINOR_REVISION;
	/* Only the 64-bit pointer, as Firecracker: a guest must not see two that differ. */
	f.x_dsdt = dsdt;
	memcpy(f.hypervisor_vendor_id, ACPI_HYPERVISOR_ID, sizeof(f.hypervisor_vendor_id));
	return area_put(area, &f, sizeof(f), addr);
}

static int put_madt(struct aml_buf *area, uint32_t nr_cpus, uint64_t *addr)
{
	uint8_t buf[sizeof(struct acpi_madt) + sizeof(struct acpi_madt_ioapic) +
		    ACPI_MAX_CPUS * sizeof(struct acpi_madt_lapic)];
	struct acpi_madt madt = {.lapic_address = (uint32_t)LAYOUT_LAPIC_ADDR};
	struct acpi_madt_ioapic ioapic = {
	    .type = ACPI_MADT_IOAPIC,
	    .length = sizeof(ioapic),
	    .ioapic_id = ACPI_IOAPIC_ID,
	    .address = (uint32_t)LAYOUT_IOAPIC_ADDR,
	    .gsi_base = 0,
	};
	size_t len = sizeof(madt);

	memcpy(buf + len, &ioapic, sizeof(ioapic));
	len += sizeof(ioapic);
	for (uint32_t i = 0; i < nr_cpus; i++) {
		struct acpi_madt_lapic lapic = {
		    .type = ACPI_MADT_LAPIC,
		    .length = sizeof(lapic),
		    .processor_uid = (uint8_t)i,
		    .apic_id = (uint8_t)i,
		    .flags = ACPI_MADT_ENABLED,
		};

		memcpy(buf + len, &lapic, sizeof(lapic));
		len += sizeof(lapic);
	}
	sdt_header(&madt.header, "APIC", len, ACPI_MADT_REVISION, "EMBRAPIC");
	memcpy(buf, &madt, sizeof(madt));
	return area_put(area, buf, len, addr);
}

static int put_xsdt(struct aml_buf *area, const uint64_t *tables, size_t n, uint64_t *addr)
{
	uint8_t buf[sizeof(struct acpi_sdt_header) + 2 * sizeof(uint64_t)];
	size_t len = sizeof(struct acpi_sdt_header) + n * sizeof(uint64_t);
	struct acpi_sdt_header h;

	if (len > sizeof(buf))
		return -E2BIG;
	sdt_header(&h, "XSDT", len, ACPI_XSDT_REVISION, "EMBRXSDT");
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), tables, n * sizeof(uint64_t));
	return area_put(area, buf, len, addr);
}

static void build_rsdp(uint8_t out[LAYOUT_RSDP_SIZE], uint64_t xsdt)
{
	struct acpi_rsdp r = {
	    .revision = ACPI_RSDP_REVISION,
	    .length = sizeof(r),
	    .xsdt_address = xsdt,
	};

	memcpy(r.signature, "RSD PTR ", sizeof(r.signature));
	memcpy(r.oem_id, ACPI_OEM_ID, sizeof(r.oem_id));
	/* The ACPI 1.0 checksum first: the extended one covers it. */
	r.checksum = acpi_checksum(&r, ACPI_RSDP_V1_LEN);
	r.extended_checksum = acpi_checksum(&r, sizeof(r));
	memcpy(out, &r, sizeof(r));
}

/* ---- build and write ------------------------------------------------------- */

/* A GSI the GED can take: an IOAPIC pin no virtio device has. */
static bool ged_gsi_ok(const struct acpi_config *cfg, uint32_t gsi)
{
	if (gsi > LAYOUT_IRQ_MAX)
		return false;
	for (unsigned int i = 0; i < cfg->nr_virtio; i++)
		if (cfg->virtio[i].gsi == gsi)
			return false;
	return true;
}

static int check_clone_devs(const struct acpi_config *cfg)
{
	const struct acpi_clone_devs *c = &cfg->clone;

	if (!ged_gsi_ok(cfg, c->vmgenid_gsi) || !ged_gsi_ok(cfg, c->vmclock_gsi) ||
	    c->vmgenid_gsi == c->vmclock_gsi)
		return -EINVAL;
	if (c->vmgenid_addr > UINT64_MAX - LAYOUT_VMGENID_SIZE ||
	    c->vmclock_addr > UINT64_MAX - LAYOUT_VMCLOCK_SIZE)
		return -EINVAL;
	return 0;
}

static int check_config(const struct acpi_config *cfg)
{
	if (cfg->nr_cpus == 0 || cfg->nr_cpus > ACPI_MAX_CPUS || cfg->nr_virtio > ACPI_MAX_VIRTIO)
		return -EINVAL;
	for (unsigned int i = 0; i < cfg->nr_virtio; i++)
		if (cfg->virtio[i].base > LAYOUT_4G - VIRTIO_MMIO_SIZE) /* Memory32Fixed */
			return -EINVAL;
	return cfg->has_clone_devs ? check_clone_devs(cfg) : 0;
}

int acpi_build(const struct acpi_config *cfg, struct acpi_tables *t)
{
	struct aml_buf area;
	uint64_t sdts[2];
	int ret;

	memset(t, 0, sizeof(*t));
	ret = check_config(cfg);
	if (ret)
		return ret;
	aml_init(&area);
	ret = put_dsdt(&area, cfg, &t->dsdt);
	if (!ret)
		ret = put_fadt(&area, t->dsdt, &t->fadt);
	if (!ret)
		ret = put_madt(&area, cfg->nr_cpus, &t->madt);
	sdts[0] = t->fadt;
	sdts[1] = t->madt;
	if (!ret)
		ret = put_xsdt(&area, sdts, 2, &t->xsdt);
	if (!ret && area.len > LAYOUT_ACPI_SIZE)
		ret = -E2BIG;
	if (ret) {
		aml_free(&area);
		memset(t, 0, sizeof(*t));
		return ret;
	}
	t->data = area.data;
	t->len = area.len;
	build_rsdp(t->rsdp, t->xsdt);
	return 0;
}

void acpi_tables_free(struct acpi_tables *t)
{
	free(t->data);
	memset(t, 0, sizeof(*t));
}

int acpi_write(const struct guest_mem *mem, const struct acpi_config *cfg)
{
	struct acpi_tables t;
	int ret = acpi_build(cfg, &t);

	if (ret)
		return ret;
	/* Both ranges checked first: the guest sees all of the tables or none. */
	if (!guest_mem_translate(mem, LAYOUT_ACPI_START, t.len) ||
	    !guest_mem_translate(mem, LAYOUT_RSDP_ADDR, sizeof(t.rsdp)))
		ret = -EFAULT;
	if (!ret)
		ret = guest_mem_write(mem, LAYOUT_ACPI_START, t.data, t.len);
	if (!ret)
		ret = guest_mem_write(mem, LAYOUT_RSDP_ADDR, t.rsdp, sizeof(t.rsdp));
	acpi_tables_free(&t);
	return ret;
}
