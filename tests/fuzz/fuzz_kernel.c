// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: the kernel image, the one file Ember parses that the user
 * hands over and the VMM thread reads at InstanceStart. The input is the
 * file: loader_load_kernel() reads it (ELF headers, PT_LOAD and PT_NOTE
 * segments, the PVH entry note, bzImage setup headers) into 64 MiB of guest
 * RAM, and when it accepts it the boot tables are written for the protocol
 * it chose (PVH start info, or zero page and page tables). The same bytes
 * also go straight to the note parser as one note segment, 4- and 8-byte
 * aligned, so it sees arbitrary notes and not only those in a valid ELF.
 *
 * Checked, beyond the sanitizers: every refusal has a message; the parser
 * answers found/absent/-ENOEXEC only; an accepted PVH kernel has an ELF
 * entry inside what was loaded and below 4 GiB, and its start info is in
 * guest RAM with the magic; the boot vCPU would start where the loader said.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/base/log.h"
#include "vmm/boot/elf_notes.h"
#include "vmm/boot/loader.h"
#include "vmm/boot/pvh.h"
#include "vmm/boot/x86_boot.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"

#define FUZZ_KERNEL_RAM (64 * MIB)

static struct {
	struct guest_mem mem;
	int fd;
} fz;

static void fuzz_init(void)
{
	log_set_level(LOG_OFF);
	if (guest_mem_create(&fz.mem, FUZZ_KERNEL_RAM))
		abort();
	fz.fd = memfd_create("fuzz-kernel", MFD_CLOEXEC);
	if (fz.fd < 0)
		abort();
}

static void fuzz_notes(const uint8_t *data, size_t size, uint64_t align)
{
	char err[256] = "";
	uint32_t entry = 0;
	int ret = elf_notes_find_pvh(data, size, align, &entry, err, sizeof(err));

	if (ret != 0 && ret != 1 && ret != -ENOEXEC)
		abort();
	if (ret < 0 && !err[0])
		abort();
}

static int write_file(const uint8_t *data, size_t size)
{
	if (ftruncate(fz.fd, 0) || (size && pwrite(fz.fd, data, size, 0) != (ssize_t)size))
		return -1;
	return 0;
}

static void check_pvh(const struct kernel_info *ki)
{
	const struct hvm_start_info *si;
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	if (ki->format != KERNEL_FORMAT_ELF || ki->pvh_entry >= LAYOUT_4G ||
	    ki->pvh_entry < ki->load_addr || ki->pvh_entry >= ki->load_end)
		abort();
	si = guest_mem_translate(&fz.mem, LAYOUT_PVH_INFO, sizeof(*si));
	if (!si || si->magic != HVM_START_MAGIC || si->memmap_paddr != LAYOUT_PVH_MEMMAP)
		abort();
	x86_boot_regs(&regs, ki);
	memset(&sregs, 0, sizeof(sregs));
	x86_boot_sregs(&sregs, ki);
	if (regs.rip != ki->pvh_entry || regs.rbx != LAYOUT_PVH_INFO || (sregs.cr0 & (1U << 31)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	struct kernel_info ki;
	char err[256] = "";
	int ret;

	if (!initialised) {
		fuzz_init();
		initialised = 1;
	}
	fuzz_notes(data, size, 4);
	fuzz_notes(data, size, 8);
	if (write_file(data, size))
		abort();
	ret = loader_load_kernel(&fz.mem, fz.fd, &ki, err, sizeof(err));
	if (ret) {
		if (!err[0])
			abort();
		return 0;
	}
	if (ki.has_pvh_entry && ki.format != KERNEL_FORMAT_ELF)
		abort();
	/* Tables for the protocol chosen; a cmdline the bzImage's header may refuse. */
	ret = x86_boot_write_tables(&fz.mem, &ki, "console=ttyS0", 0, 0, err, sizeof(err));
	if (ret) {
		if (!err[0] || ki.has_pvh_entry)
			abort();
		return 0;
	}
	if (ki.has_pvh_entry)
		check_pvh(&ki);
	return 0;
}
