// SPDX-License-Identifier: Apache-2.0
#include "vmgenid.h"
#include "io.h"
#include "pic.h"
#include "print.h"
#include "reset.h"
#include "string.h"
#include "traps.h"

#define RSDP_ADDR      0xe0000ULL
#define SDT_HEADER     36
#define FADT_X_DSDT    140
#define VMGENID_SIZE   16
#define AML_PACKAGE_OP 0x12

/* Little-endian loads from identity-mapped guest memory. */
static uint64_t load_le(uint64_t addr, unsigned int n)
{
	const volatile uint8_t *p = (const volatile uint8_t *)addr;
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The table @sig listed in the XSDT, or 0. */
static uint64_t find_table(const char *sig)
{
	uint64_t xsdt, len;

	if (memcmp((const void *)RSDP_ADDR, "RSD PTR ", 8))
		return 0;
	xsdt = load_le(RSDP_ADDR + 24, 8);
	len = load_le(xsdt + 4, 4);
	for (uint64_t e = xsdt + SDT_HEADER; e + 8 <= xsdt + len; e += 8) {
		uint64_t t = load_le(e, 8);

		if (!memcmp((const void *)t, sig, 4))
			return t;
	}
	return 0;
}

/* The first @n bytes of @pat in [@from, @end), or 0. */
static uint64_t find_bytes(uint64_t from, uint64_t end, const void *pat, size_t n)
{
	for (uint64_t p = from; p + n <= end; p++)
		if (!memcmp((const void *)p, pat, n))
			return p;
	return 0;
}

/* An AML integer (Zero, One, Byte/Word/DWord/QWordConst) at *@p, advancing it. */
static bool aml_integer(uint64_t *p, uint64_t *v)
{
	static const unsigned int width[] = {[0x0a] = 1, [0x0b] = 2, [0x0c] = 4, [0x0e] = 8};
	uint8_t op = (uint8_t)load_le(*p, 1);

	*p += 1;
	if (op <= 1) {
		*v = op;
		return true;
	}
	if (op > 0x0e || !width[op])
		return false;
	*v = load_le(*p, width[op]);
	*p += width[op];
	return true;
}

struct found {
	uint64_t genid, vmclock;
	uint32_t genid_irq, vmclock_irq;
};

/* Name (ADDR, Package (2) {low, high}): what Linux's vmgenid driver evaluates. */
static bool find_genid(uint64_t dsdt, uint64_t end, struct found *f)
{
	uint64_t p = find_bytes(dsdt, end, "ADDR\x12", 5), lo, hi;

	if (!p)
		return false;
	p += 5;
	p += 1 + (load_le(p, 1) >> 6); /* PkgLength: lead byte plus 0-3 more */
	if (load_le(p, 1) != 2)
		return false;
	p++;
	if (!aml_integer(&p, &lo) || !aml_integer(&p, &hi))
		return false;
	f->genid = lo | hi << 32;
	return true;
}

static bool find_devices(struct found *f)
{
	static const uint8_t qword_mem[] = {0x8a, 0x2b, 0x00, 0x00};
	static const uint8_t ext_irq[] = {0x89, 0x06, 0x00};
	uint64_t fadt = find_table("FACP"), dsdt, end, vclk, ged, irq;

	if (!fadt)
		return false;
	dsdt = load_le(fadt + FADT_X_DSDT, 8);
	end = dsdt + load_le(dsdt + 4, 4);
	if (!find_genid(dsdt, end, f))
		return false;
	vclk = find_bytes(dsdt, end, "VCLK", 4);
	vclk = vclk ? find_bytes(vclk, end, qword_mem, sizeof(qword_mem)) : 0;
	ged = find_bytes(dsdt, end, "GED_", 4);
	irq = ged ? find_bytes(ged, end, ext_irq, sizeof(ext_irq)) : 0;
	if (!vclk || !irq || !find_bytes(irq + 9, end, ext_irq, sizeof(ext_irq)))
		return false;
	f->vmclock = load_le(vclk + 14, 8);
	f->genid_irq = (uint32_t)load_le(irq + 5, 4);
	irq = find_bytes(irq + 9, end, ext_irq, sizeof(ext_irq));
	f->vmclock_irq = (uint32_t)load_le(irq + 5, 4);
	return true;
}

static volatile uint32_t genid_irqs, vmclock_irqs;

static void genid_irq(void)
{
	genid_irqs++;
}

static void vmclock_irq(void)
{
	vmclock_irqs++;
}

static void print_genid(const struct found *f, uint32_t irqs)
{
	uint8_t id[VMGENID_SIZE];

	memcpy(id, (const void *)f->genid, sizeof(id));
	print_str("vmgenid: id ");
	print_hex_bytes(id, sizeof(id));
	print_str(" irqs ");
	print_dec(irqs);
	print_str("\n");
}

/* struct vmclock_abi: magic 0, size 4, version 8, counter_id 10, seq_count 12, ... */
static void print_vmclock(const struct found *f, uint32_t irqs)
{
	uint64_t a = f->vmclock;

	print_str("vmclock: magic ");
	print_hex(load_le(a, 4));
	print_str(" size ");
	print_hex(load_le(a + 4, 4));
	print_str(" version ");
	print_dec(load_le(a + 8, 2));
	print_str(" counter_id ");
	print_hex(load_le(a + 10, 1));
	print_str(" seq ");
	print_dec(load_le(a + 12, 4));
	print_str(" disruption ");
	print_dec(load_le(a + 16, 8));
	print_str(" flags ");
	print_hex(load_le(a + 24, 8));
	print_str(" status ");
	print_dec(load_le(a + 34, 1));
	print_str(" generation ");
	print_dec(load_le(a + 104, 8));
	print_str(" irqs ");
	print_dec(irqs);
	print_str("\n");
}

__noreturn void scenario_vmgenid(void)
{
	struct found f;
	uint32_t seen_genid = 0, seen_vmclock = 0;

	if (!find_devices(&f)) {
		print_str("vmgenid: not found in the DSDT\n");
		machine_reset();
	}
	print_str("vmgenid: addr ");
	print_hex(f.genid);
	print_str(" irq ");
	print_dec(f.genid_irq);
	print_str(" vmclock addr ");
	print_hex(f.vmclock);
	print_str(" irq ");
	print_dec(f.vmclock_irq);
	print_str("\n");
	print_genid(&f, 0);
	print_vmclock(&f, 0);
	if (f.genid_irq > 7 || f.vmclock_irq > 7) { /* the master 8259 only */
		print_str("vmgenid: irqs beyond the master PIC\n");
		machine_reset();
	}
	pic_init();
	irq_set_handler(f.genid_irq, genid_irq);
	irq_set_handler(f.vmclock_irq, vmclock_irq);
	pic_unmask(f.genid_irq);
	pic_unmask(f.vmclock_irq);
	print_str("vmgenid: waiting\n");
	/* Only the GED's interrupts wake this loop: each wake-up is a notification. */
	for (;;) {
		cpu_cli();
		if (genid_irqs != seen_genid) {
			seen_genid = genid_irqs;
			print_genid(&f, seen_genid);
		}
		if (vmclock_irqs != seen_vmclock) {
			seen_vmclock = vmclock_irqs;
			print_vmclock(&f, seen_vmclock);
		}
		cpu_sti_hlt();
	}
}
