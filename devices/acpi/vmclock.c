// SPDX-License-Identifier: Apache-2.0
#include "devices/acpi/vmclock.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

void vmclock_init(struct vmclock *c, uint64_t addr, const struct irq_line *irq)
{
	memset(c, 0, sizeof(*c));
	c->addr = addr;
	c->irq = *irq;
	c->abi = (struct vmclock_abi){
	    .magic = VMCLOCK_MAGIC,
	    .size = VMCLOCK_PAGE_SIZE,
	    .version = VMCLOCK_VERSION,
	    .counter_id = VMCLOCK_COUNTER_INVALID,
	    .clock_status = VMCLOCK_STATUS_UNKNOWN,
	    .flags = VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT | VMCLOCK_FLAG_NOTIFICATION_PRESENT,
	};
}

int vmclock_activate(struct vmclock *c, const struct guest_mem *mem)
{
	int ret = guest_mem_write(mem, c->addr, &c->abi, sizeof(c->abi));

	if (ret)
		log_error("vmclock: cannot write the VMClock page at 0x%" PRIx64 ": %s", c->addr,
			  strerror(-ret));
	return ret;
}

void vmclock_save(const struct vmclock *c, struct vmstate_writer *w)
{
	vmstate_put_u64(w, c->addr);
	vmstate_put_u32(w, c->irq.gsi);
	vmstate_put_blob(w, &c->abi, sizeof(c->abi));
}

int vmclock_restore(struct vmclock *c, struct vmstate_reader *r)
{
	uint64_t addr = vmstate_get_u64(r);
	uint32_t gsi = vmstate_get_u32(r);
	struct vmclock_abi abi;

	vmstate_get_blob(r, &abi, sizeof(abi));
	if (vmstate_reader_end(r) || addr != c->addr || gsi != c->irq.gsi ||
	    abi.magic != VMCLOCK_MAGIC || abi.size != VMCLOCK_PAGE_SIZE)
		return -EINVAL;
	c->abi = abi;
	return 0;
}

/* One field of the page, stored with release order after every earlier store. */
static void store_u32(uint32_t *guest, uint32_t v)
{
	__atomic_store_n(guest, v, __ATOMIC_RELEASE);
}

static void store_u64(uint64_t *guest, uint64_t v)
{
	__atomic_store_n(guest, v, __ATOMIC_RELEASE);
}

int vmclock_new_generation(struct vmclock *c, const struct guest_mem *mem)
{
	struct vmclock_abi *page = guest_mem_translate(mem, c->addr, sizeof(*page));
	int ret;

	if (!page || c->addr % _Alignof(struct vmclock_abi)) {
		log_error("vmclock: the VMClock page at 0x%" PRIx64 " is not guest RAM", c->addr);
		return -EFAULT;
	}
	/* The whole structure first: the guest may have written over its page. */
	c->abi.seq_count |= 1;
	store_u32(&page->seq_count, c->abi.seq_count);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(page, &c->abi, sizeof(c->abi));
	__atomic_thread_fence(__ATOMIC_RELEASE);
	c->abi.disruption_marker++;
	c->abi.vm_generation_counter++;
	store_u64(&page->disruption_marker, c->abi.disruption_marker);
	store_u64(&page->vm_generation_counter, c->abi.vm_generation_counter);
	c->abi.seq_count++;
	store_u32(&page->seq_count, c->abi.seq_count);
	ret = irq_line_pulse(&c->irq);
	if (ret)
		log_error("vmclock: cannot notify the guest on GSI %u: %s", c->irq.gsi,
			  strerror(-ret));
	else
		log_debug("vmclock: disruption marker %" PRIu64 ", guest notified on GSI %u",
			  c->abi.disruption_marker, c->irq.gsi);
	return ret;
}
