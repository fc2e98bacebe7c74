// SPDX-License-Identifier: Apache-2.0
#include "vmm/boot/mptable.h"
#include "vmm/mem/layout.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#define EBDA_SIZE (LAYOUT_EBDA_END - LAYOUT_EBDA_START)
/* APIC ID 0xff is the broadcast ID; the IOAPIC takes ID nr_cpus. */
#define MP_MAX_CPUS 254
#define MP_MAX_IRQ  0xff /* srcbusirq and dstirq are bytes */

/* Appends entries to the table being built. */
struct mp_writer {
	uint8_t *buf;
	size_t pos;
	uint16_t nr_entries;
};

static void mp_put_entry(struct mp_writer *w, const void *entry, size_t len)
{
	memcpy(w->buf + w->pos, entry, len);
	w->pos += len;
	w->nr_entries++;
}

/* The byte that makes @len bytes at @buf sum to 0 (mod 256). */
static uint8_t mp_checksum(const uint8_t *buf, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += buf[i];
	return (uint8_t)(0x100 - sum);
}

uint64_t mptable_size(uint32_t nr_cpus, uint32_t irq_max)
{
	return sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
	       (uint64_t)nr_cpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
	       sizeof(struct mpc_ioapic) + ((uint64_t)irq_max + 1) * sizeof(struct mpc_intsrc) +
	       2 * sizeof(struct mpc_intsrc);
}

static void mp_put_cpus(struct mp_writer *w, uint32_t nr_cpus)
{
	for (uint32_t i = 0; i < nr_cpus; i++) {
		struct mpc_cpu cpu = {
		    .type = MP_PROCESSOR,
		    .apicid = (uint8_t)i,
		    .apicver = MP_APIC_VERSION,
		    .cpuflag = CPU_ENABLED | (i == 0 ? CPU_BOOTPROCESSOR : 0),
		    .cpufeature = MP_CPU_SIGNATURE,
		    .featureflag = MP_CPU_FEATURES,
		};

		mp_put_entry(w, &cpu, sizeof(cpu));
	}
}

static void mp_put_bus_ioapic(struct mp_writer *w, uint8_t ioapic_id)
{
	struct mpc_bus bus = {.type = MP_BUS, .busid = 0};
	struct mpc_ioapic ioapic = {
	    .type = MP_IOAPIC,
	    .apicid = ioapic_id,
	    .apicver = MP_IOAPIC_VERSION,
	    .flags = MPC_APIC_USABLE,
	    .apicaddr = (uint32_t)LAYOUT_IOAPIC_ADDR,
	};

	memcpy(bus.bustype, MP_BUS_ISA, sizeof(bus.bustype));
	mp_put_entry(w, &bus, sizeof(bus));
	mp_put_entry(w, &ioapic, sizeof(ioapic));
}

/* ISA IRQ n -> IOAPIC pin n; LINT0 of the BSP is the 8259 (ExtINT), LINT1 NMI. */
static void mp_put_irqs(struct mp_writer *w, uint8_t ioapic_id, uint32_t irq_max)
{
	struct mpc_intsrc extint = {
	    .type = MP_LINTSRC,
	    .irqtype = MP_IRQ_EXTINT,
	    .dstapic = 0,
	    .dstirq = 0,
	};
	struct mpc_intsrc nmi = {
	    .type = MP_LINTSRC,
	    .irqtype = MP_IRQ_NMI,
	    .dstapic = MP_APIC_ALL,
	    .dstirq = 1,
	};

	for (uint32_t irq = 0; irq <= irq_max; irq++) {
		struct mpc_intsrc src = {
		    .type = MP_INTSRC,
		    .irqtype = MP_IRQ_INT,
		    .srcbus = 0,
		    .srcbusirq = (uint8_t)irq,
		    .dstapic = ioapic_id,
		    .dstirq = (uint8_t)irq,
		};

		mp_put_entry(w, &src, sizeof(src));
	}
	mp_put_entry(w, &extint, sizeof(extint));
	mp_put_entry(w, &nmi, sizeof(nmi));
}

static void mp_put_header(uint8_t *buf, size_t table_len, uint16_t nr_entries)
{
	struct mpf_intel mpf = {
	    .signature = {'_', 'M', 'P', '_'},
	    .physptr = (uint32_t)(LAYOUT_EBDA_START + sizeof(struct mpf_intel)),
	    .length = 1,
	    .specification = MP_SPEC_REV,
	};
	struct mpc_table mpc = {
	    .signature = {'P', 'C', 'M', 'P'},
	    .length = (uint16_t)table_len,
	    .spec = MP_SPEC_REV,
	    .oemcount = nr_entries,
	    .lapic = (uint32_t)LAYOUT_LAPIC_ADDR,
	};
	uint8_t *table = buf + sizeof(mpf);

	memcpy(mpc.oem, MP_OEM, sizeof(mpc.oem));
	memcpy(mpc.productid, MP_PRODUCT_ID, sizeof(mpc.productid));
	memcpy(table, &mpc, sizeof(mpc));
	table[offsetof(struct mpc_table, checksum)] = mp_checksum(table, table_len);

	mpf.checksum = mp_checksum((const uint8_t *)&mpf, sizeof(mpf));
	memcpy(buf, &mpf, sizeof(mpf));
}

int mptable_write(const struct guest_mem *mem, uint32_t nr_cpus, uint32_t irq_max)
{
	uint8_t buf[EBDA_SIZE] = {0};
	struct mp_writer w = {.buf = buf};
	uint8_t ioapic_id;

	if (nr_cpus == 0 || nr_cpus > MP_MAX_CPUS || irq_max > MP_MAX_IRQ)
		return -EINVAL;
	if (mptable_size(nr_cpus, irq_max) > sizeof(buf))
		return -E2BIG;
	ioapic_id = (uint8_t)nr_cpus;

	/* Entries first, the headers' lengths and checksums cover them. */
	w.pos = sizeof(struct mpf_intel) + sizeof(struct mpc_table);
	mp_put_cpus(&w, nr_cpus);
	mp_put_bus_ioapic(&w, ioapic_id);
	mp_put_irqs(&w, ioapic_id, irq_max);
	mp_put_header(buf, w.pos - sizeof(struct mpf_intel), w.nr_entries);

	/* The whole EBDA, so nothing from a previous boot is left behind. */
	return guest_mem_write(mem, LAYOUT_EBDA_START, buf, sizeof(buf));
}
