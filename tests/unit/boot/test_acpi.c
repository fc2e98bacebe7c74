// SPDX-License-Identifier: Apache-2.0
/*
 * The ACPI tables read back as raw bytes at ACPI 6.5 offsets, the way a
 * guest finds them: the RSDP by scanning the BIOS area, the XSDT from it, the
 * FADT and MADT from the XSDT, the DSDT from the FADT. Checksums are
 * recomputed here; the DSDT is compared with hand-assembled AML; placement
 * is checked against the rest of the memory map and the e820 map.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot/acpi.h"
#include "vmm/boot/mptable.h"
#include "vmm/boot/x86_boot.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static void config(struct acpi_config *cfg, uint32_t cpus, unsigned int devices)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nr_cpus = cpus;
	cfg->nr_virtio = devices;
	for (unsigned int i = 0; i < devices; i++)
		cfg->virtio[i] = (struct acpi_virtio_dev){LAYOUT_VIRTIO_START + i * 0x1000ULL,
							  LAYOUT_IRQ_BASE + i};
}

/* The table at @gpa inside the built area, after checking its common header. */
static const uint8_t *table(const struct acpi_tables *t, uint64_t gpa, const char *sig,
			    uint8_t revision)
{
	const uint8_t *p;
	uint32_t len;

	assert_true(gpa >= LAYOUT_ACPI_START && gpa + 36 <= LAYOUT_ACPI_START + t->len);
	assert_int_equal(gpa % ACPI_TABLE_ALIGN, 0);
	p = t->data + (gpa - LAYOUT_ACPI_START);
	len = get32(p + 4);
	assert_memory_equal(p, sig, 4);
	assert_true(gpa + len <= LAYOUT_ACPI_START + t->len);
	assert_int_equal(p[8], revision);
	assert_int_equal(sum(p, len), 0);
	assert_memory_equal(p + 10, "EMBER ", 6);
	assert_memory_equal(p + 16, "EMBR", 4); /* OEM table ID "EMBR" + signature */
	assert_memory_equal(p + 20, sig, 4);
	assert_int_equal(get32(p + 24), ACPI_OEM_REVISION);
	assert_memory_equal(p + 28, "EMBR", 4);
	assert_int_equal(get32(p + 32), ACPI_CREATOR_REVISION);
	return p;
}

/* ---- RSDP and XSDT ----------------------------------------------------------- */

static void test_rsdp(void **state)
{
	struct acpi_config cfg;
	struct acpi_tables t;
	const uint8_t *r;

	(void)state;
	config(&cfg, 2, 4);
	assert_int_equal(acpi_build(&cfg, &t), 0);
	r = t.rsdp;
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(sum(r, 20), 0); /* ACPI 1.0 checksum */
	assert_int_equal(sum(r, 36), 0); /* extended checksum */
	assert_memory_equal(r + 9, "EMBER ", 6);
	assert_int_equal(r[15], 2);		 /* revision: XSDT present */
	assert_int_equal(get32(r + 16), 0);	 /* no RSDT */
	assert_int_equal(get32(r + 20), 36);	 /* length */
	assert_int_equal(get64(r + 24), t.xsdt); /* XSDT address */
	assert_int_equal(r[33] | r[34] | r[35], 0);
	acpi_tables_free(&t);
}

static void test_xsdt_points_at_fadt_and_madt(void **state)
{
	struct acpi_config cfg;
	struct acpi_tables t;
	const uint8_t *x;

	(void)state;
	config(&cfg, 2, 4);
	assert_int_equal(acpi_build(&cfg, &t), 0);
	x = table(&t, t.xsdt, "XSDT", 1);
	assert_int_equal(get32(x + 4), 36 + 2 * 8);
	assert_int_equal(get64(x + 36), t.fadt);
	assert_int_equal(get64(x + 44), t.madt);
	table(&t, get64(x + 36), "FACP", 6);
	table(&t, get64(x + 44), "APIC", 6);
	/* Order and no overlap: DSDT, FADT, MADT, XSDT. */
	assert_int_equal(t.dsdt, LAYOUT_ACPI_START);
	assert_true(t.dsdt + get32(t.data + 4) <= t.fadt);
	assert_true(t.fadt + 276 <= t.madt);
	assert_true(t.madt + get32(t.data + (t.madt - LAYOUT_ACPI_START) + 4) <= t.xsdt);
	assert_int_equal(t.xsdt + 52, LAYOUT_ACPI_START + t.len);
	acpi_tables_free(&t);
}

/* ---- FADT ---------------------------------------------------------------------- */

static void test_fadt(void **state)
{
	static const uint8_t reset_reg[12] = {1, 8, 0, 1, 0x64, 0, 0, 0, 0, 0, 0, 0};
	struct acpi_config cfg;
	struct acpi_tables t;
	const uint8_t *f;

	(void)state;
	config(&cfg, 2, 4);
	assert_int_equal(acpi_build(&cfg, &t), 0);
	f = table(&t, t.fadt, "FACP", 6);
	assert_int_equal(get32(f + 4), 276);
	assert_int_equal(get32(f + 36), 0); /* FIRMWARE_CTRL: no FACS (hardware-reduced) */
	assert_int_equal(get32(f + 40), 0); /* DSDT: only the 64-bit X_DSDT is set */
	assert_int_equal(get16(f + 46), 0); /* SCI_INT: none */
	/* IAPC_BOOT_ARCH: VGA not present, MSI not supported, PCIe ASPM controls, no CMOS RTC. */
	assert_int_equal(get16(f + 109), 0x003c);
	/* Flags: PWR_BUTTON(4) | SLP_BUTTON(5) | RESET_REG_SUP(10) | HW_REDUCED_ACPI(20). */
	assert_int_equal(get32(f + 112), 0x00100430);
	/* RESET_REG: SystemIO, 8 bits, offset 0, byte access, port 0x64; value 0xfe. */
	assert_memory_equal(f + 116, reset_reg, sizeof(reset_reg));
	assert_int_equal(f[128], 0xfe);
	assert_int_equal(get16(f + 129), 0); /* ARM_BOOT_ARCH */
	assert_int_equal(f[131], 5);	     /* FADT minor version: 6.5 */
	assert_int_equal(get64(f + 132), 0); /* X_FIRMWARE_CTRL */
	assert_int_equal(get64(f + 140), t.dsdt);
	/* Every PM/GPE block and the sleep registers are absent. */
	for (size_t off = 148; off < 268; off++)
		assert_int_equal(f[off], 0);
	assert_memory_equal(f + 268, "EMBERKVM", 8);
	table(&t, get64(f + 140), "DSDT", 2);
	acpi_tables_free(&t);
}

/* ---- MADT ------------------------------------------------------------------------ */

static void check_madt(uint32_t cpus)
{
	static const uint8_t ioapic[12] = {1, 12, 0, 0, 0x00, 0x00, 0xc0, 0xfe, 0, 0, 0, 0};
	struct acpi_config cfg;
	struct acpi_tables t;
	const uint8_t *m;

	config(&cfg, cpus, 0);
	assert_int_equal(acpi_build(&cfg, &t), 0);
	m = table(&t, t.madt, "APIC", 6);
	assert_int_equal(get32(m + 4), 44 + 12 + 8 * cpus);
	assert_int_equal(get32(m + 36), 0xfee00000); /* Local APIC address */
	assert_int_equal(get32(m + 40), 0);	     /* no PCAT_COMPAT */
	assert_memory_equal(m + 44, ioapic, sizeof(ioapic));
	for (uint32_t i = 0; i < cpus; i++) {
		const uint8_t lapic[8] = {0, 8, (uint8_t)i, (uint8_t)i, 1, 0, 0, 0};

		assert_memory_equal(m + 56 + 8 * i, lapic, sizeof(lapic));
	}
	acpi_tables_free(&t);
}

static void test_madt_1_2_32_cpus(void **state)
{
	(void)state;
	check_madt(1);
	check_madt(2);
	check_madt(32);
	check_madt(ACPI_MAX_CPUS);
}

/* ---- DSDT ------------------------------------------------------------------------ */

/* Scope (\_SB) { COM1 ... as iasl encodes Firecracker's legacy devices. */
static const uint8_t dsdt_legacy[] = {
    /* Device (COM1) */
    0x5b, 0x82, 0x3c, 'C', 'O', 'M', '1', 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01,
    0x08, '_', 'U', 'I', 'D', 0x00, 0x08, '_', 'D', 'D', 'N', 0x0d, 'C', 'O', 'M', '1', 0x00, 0x08,
    '_', 'C', 'R', 'S', 0x11, 0x16, 0x0a, 0x13, 0x89, 0x06, 0x00, 0x03, 0x01, 0x04, 0x00, 0x00,
    0x00, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x79, 0x00,
    /* Device (PS2_) with Method (_STA) { Return (0x0F) } */
    0x5b, 0x82, 0x3d, 'P', 'S', '2', '_', 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x03, 0x03,
    0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f, 0x08, '_', 'C', 'R', 'S', 0x11, 0x1e,
    0x0a, 0x1b, 0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01, 0x01, 0x47, 0x01, 0x64, 0x00, 0x64, 0x00,
    0x01, 0x01, 0x89, 0x06, 0x00, 0x03, 0x01, 0x01, 0x00, 0x00, 0x00, 0x79, 0x00};

/* Device (Vnnn) for slot @i, hand-assembled: _UID Zero/One/ByteConst. */
static size_t virtio_aml(uint8_t *out, unsigned int i)
{
	uint32_t base = (uint32_t)(LAYOUT_VIRTIO_START + i * 0x1000ULL), gsi = 5 + i;
	uint8_t uid[2] = {(uint8_t)(i <= 1 ? i : 0x0a), (uint8_t)i};
	size_t uid_len = i <= 1 ? 1 : 2;
	uint8_t body[80];
	size_t n = 0;

	memcpy(body, (uint8_t[]){'V', '0', (uint8_t)('0' + i / 10), (uint8_t)('0' + i % 10)}, 4);
	n = 4;
	memcpy(body + n, "\x08_HID\x0dLNRO0005", 15); /* with the string's NUL */
	n += 15;
	memcpy(body + n, "\x08_UID", 5);
	n += 5;
	memcpy(body + n, uid, uid_len);
	n += uid_len;
	memcpy(body + n, "\x08_CCA\x01", 6);
	n += 6;
	memcpy(body + n,
	       (uint8_t[]){0x08,
			   '_',
			   'C',
			   'R',
			   'S',
			   0x11,
			   0x1a,
			   0x0a,
			   0x17,
			   0x86,
			   0x09,
			   0x00,
			   0x01,
			   (uint8_t)base,
			   (uint8_t)(base >> 8),
			   (uint8_t)(base >> 16),
			   (uint8_t)(base >> 24),
			   0x00,
			   0x10,
			   0x00,
			   0x00,
			   0x89,
			   0x06,
			   0x00,
			   0x03,
			   0x01,
			   (uint8_t)gsi,
			   0x00,
			   0x00,
			   0x00,
			   0x79,
			   0x00},
	       32);
	n += 32;
	/* Bodies of 63-64 bytes: always a 2-byte PkgLength. */
	out[0] = 0x5b;
	out[1] = 0x82;
	out[2] = (uint8_t)(0x40 | ((n + 2) & 0xf));
	out[3] = (uint8_t)((n + 2) >> 4);
	memcpy(out + 4, body, n);
	return n + 4;
}

/*
 * VGEN, VCLK and GED_ with the ID at 0xdfff0, the page at 0xde000 and GSIs
 * @gsi and @gsi + 1, hand-assembled as iasl encodes Firecracker's devices.
 */
static size_t clone_aml(uint8_t *out, uint8_t gsi)
{
	const uint8_t vgen[] = {
	    0x5b, 0x82, 0x4d, 0x04, 'V', 'G', 'E', 'N', /* Device (VGEN), 77 bytes */
	    0x08, '_', 'H', 'I', 'D', 0x0d, 'V', 'M', 'G', 'E', 'N', 'C', 'T', 'R', 0x00, 0x08, '_',
	    'C', 'I', 'D', 0x0d, 'V', 'M', '_', 'G', 'e', 'n', '_', 'C', 'o', 'u', 'n', 't', 'e',
	    'r', 0x00, 0x08, '_', 'D', 'D', 'N', 0x0d, 'V', 'M', '_', 'G', 'e', 'n', '_', 'C', 'o',
	    'u', 'n', 't', 'e', 'r', 0x00,
	    /* Name (ADDR, Package (2) {0x000DFFF0, Zero}) */
	    0x08, 'A', 'D', 'D', 'R', 0x12, 0x08, 0x02, 0x0c, 0xf0, 0xff, 0x0d, 0x00, 0x00};
	const uint8_t vclk[] = {
	    0x5b, 0x82, 0x44, 0x07, 'V',  'C',	'L',  'K', /* Device (VCLK), 116 bytes */
	    0x08, '_',	'H',  'I',  'D',  0x0d, 'A',  'M',  'Z',  'N',	'C',  '1',  '0',  'C',
	    0x00, 0x08, '_',  'C',  'I',  'D',	0x0d, 'V',  'M',  'C',	'L',  'O',  'C',  'K',
	    0x00, 0x08, '_',  'D',  'D',  'N',	0x0d, 'V',  'M',  'C',	'L',  'O',  'C',  'K',
	    0x00, 0x14, 0x09, '_',  'S',  'T',	'A',  0x00, 0xa4, 0x0a, 0x0f, /* _STA: Return (0x0F)
									       */
	    0x08, '_',	'C',  'R',  'S',  0x11, 0x33, 0x0a, 0x30,	      /* Buffer (48) */
	    0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x02, /* QWordMemory, Cacheable, RO */
	    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x0d, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0xff, 0xef, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x79, 0x00};
	const uint8_t ged[] = {0x5b, 0x82, 0x4f, 0x05, 'G',
			       'E',  'D',  '_', /* Device (GED_), 95 bytes */
			       0x08, '_',  'H',	 'I',  'D',
			       0x0d, 'A',  'C',	 'P',  'I',
			       '0',  '0',  '1',	 '3',  0x00,
			       0x08, '_',  'C',	 'R',  'S',
			       0x11, 0x17, 0x0a, 0x14, /* Buffer (20) */
			       0x89, 0x06, 0x00, 0x03, 0x01,
			       gsi,  0x00, 0x00, 0x00, 0x89,
			       0x06, 0x00, 0x03, 0x01, (uint8_t)(gsi + 1),
			       0x00, 0x00, 0x00, 0x79, 0x00,
			       0x14, 0x2c, '_',	 'E',  'V',
			       'T',  0x09, /* Method (_EVT, 1, Serialized) */
			       0xa0, 0x12, 0x93, 0x68, 0x0a,
			       gsi,  0x86, 0x5c, 0x2e, '_',
			       'S',  'B',  '_',	 'V',  'G',
			       'E',  'N',  0x0a, 0x80, 0xa0,
			       0x12, 0x93, 0x68, 0x0a, (uint8_t)(gsi + 1),
			       0x86, 0x5c, 0x2e, '_',  'S',
			       'B',  '_',  'V',	 'C',  'L',
			       'K',  0x0a, 0x80};

	memcpy(out, vgen, sizeof(vgen));
	memcpy(out + sizeof(vgen), vclk, sizeof(vclk));
	memcpy(out + sizeof(vgen) + sizeof(vclk), ged, sizeof(ged));
	return sizeof(vgen) + sizeof(vclk) + sizeof(ged);
}

static void clone_config(struct acpi_config *cfg)
{
	cfg->has_clone_devs = true;
	cfg->clone = (struct acpi_clone_devs){
	    LAYOUT_VMGENID_ADDR,
	    LAYOUT_IRQ_BASE + cfg->nr_virtio,
	    LAYOUT_VMCLOCK_ADDR,
	    LAYOUT_IRQ_BASE + cfg->nr_virtio + 1,
	};
}

static void check_dsdt_with(unsigned int devices, bool clone_devs)
{
	uint8_t want[4096];
	struct acpi_config cfg;
	struct acpi_tables t;
	size_t n = 0, body;
	const uint8_t *d;

	config(&cfg, 1, devices);
	if (clone_devs)
		clone_config(&cfg);
	assert_int_equal(acpi_build(&cfg, &t), 0);
	d = table(&t, t.dsdt, "DSDT", 2);

	n = 3; /* ScopeOp + 2-byte PkgLength, filled in below */
	memcpy(want + n, "\\_SB_", 5);
	n += 5;
	memcpy(want + n, dsdt_legacy, sizeof(dsdt_legacy));
	n += sizeof(dsdt_legacy);
	for (unsigned int i = 0; i < devices; i++)
		n += virtio_aml(want + n, i);
	if (clone_devs)
		n += clone_aml(want + n, (uint8_t)(LAYOUT_IRQ_BASE + devices));
	body = n - 1; /* everything after the opcode counts, the PkgLength too */
	want[0] = 0x10;
	want[1] = (uint8_t)(0x40 | (body & 0xf));
	want[2] = (uint8_t)(body >> 4);
	assert_int_equal(get32(d + 4), 36 + n);
	assert_memory_equal(d + 36, want, n);
	acpi_tables_free(&t);
}

static void check_dsdt(unsigned int devices)
{
	check_dsdt_with(devices, false);
}

static void test_dsdt_bytes(void **state)
{
	(void)state;
	check_dsdt(0); /* command-line form: legacy devices only */
	check_dsdt(1);
	check_dsdt(4);
	check_dsdt(ACPI_MAX_VIRTIO);
}

/* What Ember always builds: VMGenID, VMClock and the GED after the virtio devices. */
static void test_dsdt_clone_devices(void **state)
{
	(void)state;
	check_dsdt_with(0, true);
	check_dsdt_with(1, true);
	check_dsdt_with(17, true); /* the most Ember configures: GSIs 22 and 23 */
}

/* ---- errors ----------------------------------------------------------------------- */

static void test_bad_configs(void **state)
{
	struct acpi_config cfg;
	struct acpi_tables t;

	(void)state;
	config(&cfg, 0, 0);
	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
	assert_null(t.data);
	config(&cfg, ACPI_MAX_CPUS + 1, 0);
	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
	config(&cfg, 1, 0);
	cfg.nr_virtio = ACPI_MAX_VIRTIO + 1;
	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
	config(&cfg, 1, 1);
	cfg.virtio[0].base = LAYOUT_4G; /* Memory32Fixed cannot describe it */
	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
	assert_null(t.data);
	assert_int_equal(t.len, 0);
}

/* The GED's GSIs must be IOAPIC pins of their own; the memory must not wrap. */
static void test_bad_clone_configs(void **state)
{
	struct acpi_config cfg;
	struct acpi_tables t;

	(void)state;
	config(&cfg, 1, 2);
	clone_config(&cfg);
	cfg.clone.vmgenid_gsi = LAYOUT_IRQ_BASE + 1; /* V001's */
	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
	assert_null(t.data);
	clone_config(&cfg);
	cfg.clone.vmclock_gsi = cfg.clone.vmgenid_gsi;
	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
	clone_config(&cfg);
	cfg.clone.vmclock_gsi = LAYOUT_IRQ_MAX + 1;
	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
	clone_config(&cfg);
	cfg.clone.vmgenid_gsi = 256; /* would not even fit _EVT's comparison */
	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
	clone_config(&cfg);
	cfg.clone.vmgenid_addr = UINT64_MAX - 8;
	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
	clone_config(&cfg);
	cfg.clone.vmclock_addr = UINT64_MAX - 0xfff;
	assert_int_equal(acpi_build(&cfg, &t), -EINVAL);
	assert_null(t.data);
	/* An ID above 4 GiB is fine: ADDR carries both halves. */
	clone_config(&cfg);
	cfg.clone.vmgenid_addr = 0x123456780ULL;
	assert_int_equal(acpi_build(&cfg, &t), 0);
	acpi_tables_free(&t);
}

/* ---- placement ------------------------------------------------------------------- */

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static void test_placement_in_the_memory_map(void **state)
{
	struct acpi_config cfg;
	struct acpi_tables t;

	(void)state;
	/* The largest tables Ember builds fit the area. */
	config(&cfg, LAYOUT_MAX_VCPUS, ACPI_MAX_VIRTIO);
	assert_int_equal(acpi_build(&cfg, &t), 0);
	assert_true(t.len <= LAYOUT_ACPI_SIZE);
	/* Nothing else lives there: MP table (EBDA), boot structures, the kernel. */
	assert_false(overlaps(LAYOUT_ACPI_START, t.len, LAYOUT_EBDA_START,
			      mptable_size(LAYOUT_MAX_VCPUS, LAYOUT_IRQ_MAX)));
	assert_true(LAYOUT_EBDA_START + mptable_size(LAYOUT_MAX_VCPUS, LAYOUT_IRQ_MAX) <=
		    LAYOUT_ACPI_START);
	assert_false(overlaps(LAYOUT_ACPI_START, t.len, LAYOUT_ZERO_PAGE, 4096));
	assert_false(overlaps(LAYOUT_ACPI_START, t.len, LAYOUT_CMDLINE, LAYOUT_CMDLINE_MAX));
	assert_false(overlaps(LAYOUT_ACPI_START, t.len, LAYOUT_PML4, 0x7000));
	assert_true(LAYOUT_ACPI_START + LAYOUT_ACPI_SIZE <= LAYOUT_RSDP_ADDR);
	/* VMClock's page, then the generation ID, between the tables and the RSDP. */
	assert_true(LAYOUT_ACPI_START + LAYOUT_ACPI_SIZE <= LAYOUT_VMCLOCK_ADDR);
	assert_int_equal(LAYOUT_VMCLOCK_ADDR % 4096, 0);
	assert_true(LAYOUT_VMCLOCK_ADDR + LAYOUT_VMCLOCK_SIZE <= LAYOUT_VMGENID_ADDR);
	assert_int_equal(LAYOUT_VMGENID_ADDR % 8, 0);
	assert_int_equal(LAYOUT_VMGENID_ADDR + LAYOUT_VMGENID_SIZE, LAYOUT_RSDP_ADDR);
	assert_int_equal(LAYOUT_VMGENID_ADDR, 0xdfff0); /* where Firecracker's allocator puts it */
	assert_int_equal(LAYOUT_VMCLOCK_ADDR, 0xde000);
	/* The RSDP: 16-byte aligned inside the BIOS area Linux scans, below the kernel. */
	assert_int_equal(LAYOUT_RSDP_ADDR % 16, 0);
	assert_true(LAYOUT_RSDP_ADDR >= 0xe0000 && LAYOUT_RSDP_ADDR + 36 <= 0x100000);
	assert_true(LAYOUT_RSDP_ADDR + 36 <= LAYOUT_HIMEM_START);
	acpi_tables_free(&t);
}

/* The e820 map the kernel gets reserves the tables; no RAM entry covers them or the RSDP. */
static void test_e820_reserves_the_tables(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki = {
	    .format = KERNEL_FORMAT_ELF,
	    .entry = 0x1000000,
	    .load_addr = 0x1000000,
	    .load_end = 0x1800000,
	    .kernel_end = 0x1800000,
	};
	struct acpi_config cfg;
	struct acpi_tables t;
	const uint8_t *zp;
	char err[256];
	bool reserved = false;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, 128 * MIB), 0);
	assert_int_equal(x86_boot_write_tables(&mem, &ki, "", 0, 0, err, sizeof(err)), 0);
	config(&cfg, LAYOUT_MAX_VCPUS, ACPI_MAX_VIRTIO);
	assert_int_equal(acpi_build(&cfg, &t), 0);
	zp = guest_mem_translate(&mem, LAYOUT_ZERO_PAGE, 4096);
	assert_non_null(zp);
	assert_int_equal(get64(zp + 0x070), LAYOUT_RSDP_ADDR); /* acpi_rsdp_addr */
	for (unsigned int i = 0; i < zp[0x1e8]; i++) {
		const uint8_t *e = zp + 0x2d0 + 20 * i;
		uint64_t addr = get64(e), size = get64(e + 8);
		uint32_t type = get32(e + 16);

		if (type == 1) {
			assert_false(overlaps(addr, size, LAYOUT_ACPI_START, t.len));
			assert_false(overlaps(addr, size, LAYOUT_RSDP_ADDR, 36));
		}
		if (type == 1) { /* the guest must never use the clone devices' memory */
			assert_false(
			    overlaps(addr, size, LAYOUT_VMCLOCK_ADDR, LAYOUT_VMCLOCK_SIZE));
			assert_false(
			    overlaps(addr, size, LAYOUT_VMGENID_ADDR, LAYOUT_VMGENID_SIZE));
		}
		if (type == 2 && addr <= LAYOUT_ACPI_START &&
		    addr + size >= LAYOUT_VMGENID_ADDR + LAYOUT_VMGENID_SIZE)
			reserved = true;
	}
	assert_true(reserved);
	acpi_tables_free(&t);
	guest_mem_destroy(&mem);
}

/* ---- guest memory ------------------------------------------------------------------ */

/* Linux's scan: "RSD PTR " on a 16-byte boundary in [0xe0000, 1 MiB), checksum ok. */
static const uint8_t *find_rsdp(const struct guest_mem *mem)
{
	const uint8_t *bios = guest_mem_translate(mem, 0xe0000, 0x20000);

	assert_non_null(bios);
	for (size_t off = 0; off < 0x20000; off += 16)
		if (!memcmp(bios + off, "RSD PTR ", 8) && sum(bios + off, 20) == 0)
			return bios + off;
	return NULL;
}

static void test_write_to_guest_memory(void **state)
{
	struct guest_mem mem;
	struct acpi_config cfg;
	struct acpi_tables t;
	const uint8_t *rsdp, *xsdt, *fadt, *dsdt;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, 128 * MIB), 0);
	config(&cfg, 2, 4);
	assert_int_equal(acpi_write(&mem, &cfg), 0);
	assert_int_equal(acpi_build(&cfg, &t), 0);
	rsdp = find_rsdp(&mem);
	assert_non_null(rsdp);
	assert_ptr_equal(rsdp, guest_mem_translate(&mem, LAYOUT_RSDP_ADDR, 36));
	assert_memory_equal(rsdp, t.rsdp, 36);
	xsdt = guest_mem_translate(&mem, get64(rsdp + 24), 52);
	assert_non_null(xsdt);
	assert_memory_equal(xsdt, "XSDT", 4);
	fadt = guest_mem_translate(&mem, get64(xsdt + 36), 276);
	assert_non_null(fadt);
	assert_memory_equal(fadt, "FACP", 4);
	dsdt = guest_mem_translate(&mem, get64(fadt + 140), 36);
	assert_non_null(dsdt);
	assert_memory_equal(dsdt, "DSDT", 4);
	assert_memory_equal(guest_mem_translate(&mem, LAYOUT_ACPI_START, t.len), t.data, t.len);
	acpi_tables_free(&t);
	guest_mem_destroy(&mem);
}

/* RAM too small for the table area: -EFAULT, and not even the RSDP is written. */
static void test_write_is_all_or_nothing(void **state)
{
	struct guest_mem mem = {.fd = -1, .file_fd = -1, .nr_regions = 1};
	struct acpi_config cfg;
	uint8_t *ram = calloc(1, 0x100000);

	(void)state;
	assert_non_null(ram);
	mem.size = LAYOUT_ACPI_START + 16; /* tables do not fit, RSDP range is not RAM */
	mem.regions[0] = (struct guest_mem_region){.gpa = 0, .size = mem.size, .host = ram};
	config(&cfg, 2, 4);
	assert_int_equal(acpi_write(&mem, &cfg), -EFAULT);
	for (size_t i = LAYOUT_ACPI_START; i < mem.size; i++)
		assert_int_equal(ram[i], 0);
	/* Tables that fit but an RSDP that does not: still nothing. */
	mem.size = mem.regions[0].size = LAYOUT_RSDP_ADDR;
	assert_int_equal(acpi_write(&mem, &cfg), -EFAULT);
	for (size_t i = LAYOUT_ACPI_START; i < mem.size; i++)
		assert_int_equal(ram[i], 0);
	/* Bad configuration: nothing either. */
	mem.size = mem.regions[0].size = 0x100000;
	config(&cfg, 0, 0);
	assert_int_equal(acpi_write(&mem, &cfg), -EINVAL);
	for (size_t i = LAYOUT_ACPI_START; i < mem.size; i++)
		assert_int_equal(ram[i], 0);
	free(ram);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rsdp),
	    cmocka_unit_test(test_xsdt_points_at_fadt_and_madt),
	    cmocka_unit_test(test_fadt),
	    cmocka_unit_test(test_madt_1_2_32_cpus),
	    cmocka_unit_test(test_dsdt_bytes),
	    cmocka_unit_test(test_dsdt_clone_devices),
	    cmocka_unit_test(test_bad_configs),
	    cmocka_unit_test(test_bad_clone_configs),
	    cmocka_unit_test(test_placement_in_the_memory_map),
	    cmocka_unit_test(test_e820_reserves_the_tables),
	    cmocka_unit_test(test_write_to_guest_memory),
	    cmocka_unit_test(test_write_is_all_or_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
