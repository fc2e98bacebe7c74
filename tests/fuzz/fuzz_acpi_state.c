// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: the VGEN and VCLK sections of a vmstate file (a snapshot is
 * outside input: whoever hands ember a snapshot chooses its bytes), then
 * Firecracker's post-restore step on what they restored. The input is
 *
 *	u8 n, n bytes of VGEN payload, the rest: VCLK payload
 *
 * and each device is built at the address and GSI its payload names (so
 * most inputs restore, and the writes that follow see any address: the
 * end of guest RAM, past it, wrapping around 2^64), or at Ember's fixed
 * ones when the payload is too short to name them.
 *
 * Checked, beyond the sanitizers: a refused section changes nothing; after
 * a restore, a new generation succeeds exactly when the memory is guest
 * RAM, and then guest memory holds the device's new ID or structure
 * (seq_count even, both counters one up), never the saved ID.
 *
 * Seeds (tests/fuzz/corpus/acpi_state): the sections Ember writes for a
 * fresh VM, one with the ID at the last bytes of RAM, one with a VMClock
 * page straddling the end, and truncated ones.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/acpi/vmclock.h"
#include "devices/acpi/vmgenid.h"
#include "vmm/base/log.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"

#define RAM (1 * MIB)

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void fuzz_vmgenid(const struct guest_mem *mem, const uint8_t *p, size_t n)
{
	struct irq_line none = {.gsi = n >= 12 ? (uint32_t)le(p + 8, 4) : 5};
	struct vmstate_reader r = {p, n, 0, 0};
	struct vmgenid g, before;
	uint8_t saved[VMGENID_SIZE];

	vmgenid_init(&g, n >= 8 ? le(p, 8) : LAYOUT_VMGENID_ADDR, &none);
	before = g;
	if (vmgenid_restore(&g, &r)) {
		if (memcmp(&g, &before, sizeof(g)))
			abort(); /* a refused section changed the device */
		return;
	}
	memcpy(saved, g.id, sizeof(saved));
	if (vmgenid_new_generation(&g, mem)) {
		if (guest_mem_translate(mem, g.addr, VMGENID_SIZE))
			abort(); /* RAM, yet no new generation */
		if (memcmp(g.id, saved, sizeof(saved)))
			abort(); /* failed, yet the ID moved */
		return;
	}
	if (!memcmp(g.id, saved, sizeof(saved)) ||
	    memcmp(guest_mem_translate(mem, g.addr, VMGENID_SIZE), g.id, VMGENID_SIZE))
		abort();
}

static void fuzz_vmclock(const struct guest_mem *mem, const uint8_t *p, size_t n)
{
	struct irq_line none = {.gsi = n >= 12 ? (uint32_t)le(p + 8, 4) : 6};
	struct vmstate_reader r = {p, n, 0, 0};
	struct vmclock c, before;
	struct vmclock_abi saved;
	const struct vmclock_abi *page;

	vmclock_init(&c, n >= 8 ? le(p, 8) : LAYOUT_VMCLOCK_ADDR, &none);
	before = c;
	if (vmclock_restore(&c, &r)) {
		if (memcmp(&c, &before, sizeof(c)))
			abort();
		return;
	}
	saved = c.abi;
	if (vmclock_new_generation(&c, mem)) {
		if (memcmp(&c.abi, &saved, sizeof(saved)))
			abort(); /* failed, yet the structure moved */
		return;
	}
	page = guest_mem_translate(mem, c.addr, sizeof(*page));
	if (!page || memcmp(page, &c.abi, sizeof(c.abi)) || c.abi.seq_count % 2 ||
	    c.abi.disruption_marker != saved.disruption_marker + 1 ||
	    c.abi.vm_generation_counter != saved.vm_generation_counter + 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_mem mem;
	static int ready;
	size_t n;

	if (!ready) {
		log_set_level(LOG_OFF);
		if (guest_mem_create(&mem, RAM))
			abort();
		ready = 1;
	}
	if (size < 1)
		return 0;
	n = data[0] < size - 1 ? data[0] : size - 1;
	fuzz_vmgenid(&mem, data + 1, n);
	fuzz_vmclock(&mem, data + 1 + n, size - 1 - n);
	return 0;
}
