/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KVM state of one vCPU, for snapshots: what Firecracker's VcpuState
 * holds on x86_64. Captured on the vCPU's own thread while it is parked
 * (vcpu_group_run_parked(), which first lets KVM finish the exit userspace
 * handled last, so the state lies between two instructions), encoded into a
 * "VCPU" vmstate section by the VMM thread; decoded and applied on restore
 * before the vCPU thread starts.
 *
 * Capture order is KVM's (and Firecracker's): MP state first, because
 * KVM_GET_MP_STATE runs kvm_apic_accept_events() which may change the LAPIC;
 * vCPU events last, as the other GET ioctls can change what they report.
 * Apply order: CPUID, MP state, regs, sregs, XSAVE (or FPU), XCRs, debug
 * registers, LAPIC, MSRs (after the LAPIC: TSC_DEADLINE only sticks in
 * TSC-deadline mode), vCPU events.
 */
#ifndef EMBER_VCPU_STATE_H
#define EMBER_VCPU_STATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/base/vmstate.h"

struct vcpu;

#define VCPU_STATE_TAG	      VMSTATE_TAG('V', 'C', 'P', 'U')
#define VCPU_STATE_MAX_CPUID  256U
#define VCPU_STATE_MAX_MSRS   1024U
#define VCPU_STATE_XSAVE_MAX  (64U << 10)
#define MSR_IA32_TSC_DEADLINE 0x000006e0

struct vcpu_saved_state {
	struct kvm_mp_state mp_state;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	bool has_xsave; /* else the legacy FPU state */
	struct kvm_xsave *xsave;
	size_t xsave_size;
	struct kvm_fpu fpu;
	bool has_xcrs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs debugregs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_cpuid2 *cpuid; /* nent entries */
	struct kvm_msrs *msrs;	  /* nmsrs entries */
	uint32_t tsc_khz;	  /* 0: KVM could not tell */
};

/* Whether Firecracker serialises MSR @index (its allowlist, minus IA32_MCG_CTL). */
bool vcpu_state_msr_serializable(uint32_t index);

/* KVM_GET_MSR_INDEX_LIST on /dev/kvm, filtered by the allowlist. Malloc'ed. 0 or -errno. */
int vcpu_state_msr_list(int kvm_fd, struct kvm_msr_list **out);

/* On the vCPU thread, parked. MSRs KVM refuses to read are left out. 0 or -errno. */
int vcpu_state_capture(struct vcpu *v, const struct kvm_msr_list *msrs, struct vcpu_saved_state *s);

/* One "VCPU" section, instance @id. Errors stay in the writer. */
void vcpu_state_encode(const struct vcpu_saved_state *s, uint32_t id, struct vmstate_writer *w);

/* From a "VCPU" section payload, every size checked. 0 or -EINVAL / -ENOMEM. */
int vcpu_state_decode(struct vmstate_reader *r, struct vcpu_saved_state *s);

/* Load @s into vCPU @v (not running). 0 or -errno with the failing step in @err. */
int vcpu_state_apply(struct vcpu *v, const struct vcpu_saved_state *s, char *err, size_t errlen);

void vcpu_state_free(struct vcpu_saved_state *s);

#endif
