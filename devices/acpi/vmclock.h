/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VMClock (Linux's drivers/ptp/ptp_vmclock.c, ACPI "AMZNC10C"/"VMCLOCK"), as
 * Firecracker 1.16 provides it: one page of guest memory holding struct
 * vmclock_abi. Like Firecracker, Ember gives no clock data (clock_status
 * UNKNOWN, counter_id INVALID); what matters to a clone is that
 * disruption_marker and vm_generation_counter move at every restore,
 * under the seqlock seq_count (odd while an update is under way), and that
 * the guest is notified (flags VM_GEN_COUNTER_PRESENT | NOTIFICATION_PRESENT).
 *
 * The VMM keeps its own copy of the structure and writes it out, so whatever
 * a guest scribbles on the page never comes back from a snapshot. VMM thread
 * only, vCPUs stopped.
 */
#ifndef EMBER_VMCLOCK_H
#define EMBER_VMCLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "devices/irq.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/base/vmstate.h"

/* include/uapi/linux/vmclock-abi.h */
#define VMCLOCK_MAGIC			    0x4b4c4356 /* "VCLK" */
#define VMCLOCK_VERSION			    1
#define VMCLOCK_PAGE_SIZE		    0x1000U
#define VMCLOCK_COUNTER_INVALID		    0xff
#define VMCLOCK_STATUS_UNKNOWN		    0
#define VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT (1ULL << 8)
#define VMCLOCK_FLAG_NOTIFICATION_PRESENT   (1ULL << 9)

/* Little-endian, naturally aligned: x86-64's own layout. */
struct vmclock_abi {
	uint32_t magic;
	uint32_t size;
	uint16_t version;
	uint8_t counter_id;
	uint8_t time_type;
	uint32_t seq_count;
	uint64_t disruption_marker;
	uint64_t flags;
	uint8_t pad[2];
	uint8_t clock_status;
	uint8_t leap_second_smearing_hint;
	int16_t tai_offset_sec;
	uint8_t leap_indicator;
	uint8_t counter_period_shift;
	uint64_t counter_value;
	uint64_t counter_period_frac_sec;
	uint64_t counter_period_esterror_rate_frac_sec;
	uint64_t counter_period_maxerror_rate_frac_sec;
	uint64_t time_sec;
	uint64_t time_frac_sec;
	uint64_t time_esterror_nanosec;
	uint64_t time_maxerror_nanosec;
	uint64_t vm_generation_counter;
};

_Static_assert(sizeof(struct vmclock_abi) == 112, "struct vmclock_abi is 112 bytes");
_Static_assert(offsetof(struct vmclock_abi, seq_count) == 12, "seq_count at 12");
_Static_assert(offsetof(struct vmclock_abi, disruption_marker) == 16, "disruption_marker at 16");
_Static_assert(offsetof(struct vmclock_abi, clock_status) == 34, "clock_status at 34");
_Static_assert(offsetof(struct vmclock_abi, vm_generation_counter) == 104, "vm_gen at 104");

struct vmclock {
	uint64_t addr; /* guest-physical, page aligned */
	struct irq_line irq;
	struct vmclock_abi abi; /* what the guest has been given */
};

/* The device at @addr, notifying on @irq; nothing written yet. */
void vmclock_init(struct vmclock *c, uint64_t addr, const struct irq_line *irq);

/* The initial structure into guest memory. 0 or -EFAULT (@addr not RAM). */
int vmclock_activate(struct vmclock *c, const struct guest_mem *mem);

/* Section payload: u64 addr, u32 gsi, the structure (u32 length + bytes). */
void vmclock_save(const struct vmclock *c, struct vmstate_writer *w);
/* 0, or -EINVAL when the section is malformed or names another address or GSI. */
int vmclock_restore(struct vmclock *c, struct vmstate_reader *r);

/*
 * After a restore, as Firecracker's do_post_restore: seq_count made odd,
 * disruption_marker and vm_generation_counter incremented, seq_count made
 * even again (each store ordered after the previous one), then the
 * notification. 0 or -errno.
 */
int vmclock_new_generation(struct vmclock *c, const struct guest_mem *mem);

#endif
