// SPDX-License-Identifier: Apache-2.0
/*
 * acpi_dump DIR [VCPUS [VIRTIO_DEVICES]]: build the ACPI tables Ember gives
 * a guest with VCPUS vCPUs (default 2) and VIRTIO_DEVICES virtio-mmio
 * devices in slots 0.. (default 4), plus VMGenID, VMClock and their GED on
 * the next two GSIs when those exist (as Ember always builds them: at most
 * 17 virtio devices), and write each table as
 * DIR/<signature>.dat (xsdt, facp, apic, dsdt), the raw form `iasl -d`
 * disassembles. The RSDP has no SDT header, which iasl cannot take as a
 * binary: tests/unit/boot/test_acpi.c checks it. Used by
 * tests/integration/test_acpi.sh; no KVM needed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot/acpi.h"
#include "vmm/mem/layout.h"

static int write_file(const char *dir, const char *name, const void *p, size_t len)
{
	char path[4096];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "acpi_dump: %s: %s\n", path, strerror(errno));
		return 1;
	}
	n = fwrite(p, 1, len, f);
	if (fclose(f) || n != len) {
		fprintf(stderr, "acpi_dump: cannot write %s\n", path);
		return 1;
	}
	return 0;
}

/* The table at guest address @gpa, its length from its own header. */
static int dump_table(const char *dir, const char *name, const struct acpi_tables *t, uint64_t gpa)
{
	const uint8_t *p = t->data + (gpa - LAYOUT_ACPI_START);
	struct acpi_sdt_header h;

	memcpy(&h, p, sizeof(h));
	return write_file(dir, name, p, h.length);
}

int main(int argc, char **argv)
{
	struct acpi_config cfg = {.nr_cpus = 2, .nr_virtio = 4};
	struct acpi_tables t;
	int ret;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: acpi_dump DIR [VCPUS [VIRTIO_DEVICES]]\n");
		return 2;
	}
	if (argc > 2)
		cfg.nr_cpus = (uint32_t)strtoul(argv[2], NULL, 0);
	if (argc > 3)
		cfg.nr_virtio = (unsigned int)strtoul(argv[3], NULL, 0);
	for (unsigned int i = 0; i < cfg.nr_virtio && i < ACPI_MAX_VIRTIO; i++)
		cfg.virtio[i] = (struct acpi_virtio_dev){
		    LAYOUT_VIRTIO_START + i * LAYOUT_VIRTIO_STRIDE, LAYOUT_IRQ_BASE + i};
	if (LAYOUT_IRQ_BASE + cfg.nr_virtio + 1 <= LAYOUT_IRQ_MAX) {
		cfg.has_clone_devs = true;
		cfg.clone = (struct acpi_clone_devs){
		    LAYOUT_VMGENID_ADDR, LAYOUT_IRQ_BASE + cfg.nr_virtio, LAYOUT_VMCLOCK_ADDR,
		    LAYOUT_IRQ_BASE + cfg.nr_virtio + 1};
	}
	ret = acpi_build(&cfg, &t);
	if (ret) {
		fprintf(stderr, "acpi_dump: cannot build the tables: %s\n", strerror(-ret));
		return 1;
	}
	ret = dump_table(argv[1], "xsdt", &t, t.xsdt) || dump_table(argv[1], "facp", &t, t.fadt) ||
	      dump_table(argv[1], "apic", &t, t.madt) || dump_table(argv[1], "dsdt", &t, t.dsdt);
	acpi_tables_free(&t);
	return ret;
}
