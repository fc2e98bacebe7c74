// SPDX-License-Identifier: Apache-2.0
#include "devices/acpi/vmgenid.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/random.h>

void vmgenid_init(struct vmgenid *g, uint64_t addr, const struct irq_line *irq)
{
	memset(g, 0, sizeof(*g));
	g->addr = addr;
	g->irq = *irq;
}

/* getrandom(2) from the kernel's CRNG, as Firecracker's aws-lc rand::fill. */
static int random_id(uint8_t id[VMGENID_SIZE])
{
	size_t got = 0;

	while (got < VMGENID_SIZE) {
		ssize_t n = getrandom(id + got, VMGENID_SIZE - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		got += (size_t)n;
	}
	return 0;
}

/* A new ID written whole or not at all: the guest never sees half of one. */
static int write_new_id(struct vmgenid *g, const struct guest_mem *mem)
{
	uint8_t id[VMGENID_SIZE];
	int ret;

	do {
		ret = random_id(id);
	} while (!ret && !memcmp(id, g->id, sizeof(id)));
	if (!ret)
		ret = guest_mem_write(mem, g->addr, id, sizeof(id));
	if (ret) {
		log_error("vmgenid: cannot write a new generation ID at 0x%" PRIx64 ": %s", g->addr,
			  strerror(-ret));
		return ret;
	}
	memcpy(g->id, id, sizeof(id));
	return 0;
}

int vmgenid_activate(struct vmgenid *g, const struct guest_mem *mem)
{
	return write_new_id(g, mem);
}

void vmgenid_save(const struct vmgenid *g, struct vmstate_writer *w)
{
	vmstate_put_u64(w, g->addr);
	vmstate_put_u32(w, g->irq.gsi);
	vmstate_put_bytes(w, g->id, sizeof(g->id));
}

int vmgenid_restore(struct vmgenid *g, struct vmstate_reader *r)
{
	uint64_t addr = vmstate_get_u64(r);
	uint32_t gsi = vmstate_get_u32(r);
	uint8_t id[VMGENID_SIZE];

	vmstate_get_bytes(r, id, sizeof(id));
	if (vmstate_reader_end(r) || addr != g->addr || gsi != g->irq.gsi)
		return -EINVAL;
	memcpy(g->id, id, sizeof(id));
	return 0;
}

int vmgenid_new_generation(struct vmgenid *g, const struct guest_mem *mem)
{
	int ret = write_new_id(g, mem);

	if (ret)
		return ret;
	ret = irq_line_pulse(&g->irq);
	if (ret)
		log_error("vmgenid: cannot notify the guest on GSI %u: %s", g->irq.gsi,
			  strerror(-ret));
	else
		log_debug("vmgenid: new generation ID, guest notified on GSI %u", g->irq.gsi);
	return ret;
}
