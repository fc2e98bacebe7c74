/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applying a CPU template (vmm/config/cpu_template.h) to a vCPU, as
 * Firecracker's apply_template_to_cpuid() / apply_template_to_msrs(): pure
 * functions over the CPUID entries and an MSR list, so they are tested
 * without KVM. vcpu.c applies the CPUID modifiers to KVM's supported CPUID
 * before Ember's normalization and KVM_SET_CPUID2, reads the template's MSRs
 * (after the CPUID is set: KVM checks MSRs against it) and writes them back
 * modified.
 */
#ifndef EMBER_KVM_CPU_TEMPLATE_H
#define EMBER_KVM_CPU_TEMPLATE_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/config/cpu_template.h"

/*
 * Apply @t's CPUID modifiers to the entries of @cpuid whose function and
 * index are the modifier's leaf and subleaf; each such entry's flags become
 * the modifier's. 0, or -ENOENT with *leaf and *subleaf naming the first
 * modifier without an entry (@cpuid may then be partly modified).
 */
int cpu_template_apply_cpuid(struct kvm_cpuid2 *cpuid, const struct cpu_template *t, uint32_t *leaf,
			     uint32_t *subleaf);

/*
 * Apply @t's MSR modifiers to @msrs (@nr entries holding the current values,
 * as KVM_GET_MSRS returns them). 0, or -ENOENT with *addr naming the first
 * modifier whose MSR is not in @msrs.
 */
int cpu_template_apply_msrs(struct kvm_msr_entry *msrs, size_t nr, const struct cpu_template *t,
			    uint32_t *addr);

struct machine_config;

/*
 * The template a VM of @mc boots with: PUT /cpu-config's, the static one it
 * names if this host may use it, or none (*out NULL). 0, or -EINVAL with
 * Firecracker's "Failed to get CPU template: ..." in @err.
 */
int cpu_template_for_vm(const struct machine_config *mc, const struct cpu_template **out, char *err,
			size_t errlen);

/*
 * Before any vCPU: the KVM capabilities @t requires ("n") are there (on
 * @kvm_fd), and every CPUID entry it changes is in @supported. 0, or
 * -EINVAL with Firecracker's message in @err.
 */
int cpu_template_check(const struct cpu_template *t, int kvm_fd, const struct kvm_cpuid2 *supported,
		       char *err, size_t errlen);

/*
 * A restore on this host of a VM that booted with @t: every feature bit @t
 * sets to 1 (in the CPUID feature registers: leaves 1, 6, 7, 0xd.1,
 * 0x80000001, 0x80000007, 0x80000008 EBX) must be one KVM supports here
 * (@supported), except those Ember's normalization sets itself. 0, or
 * -EINVAL naming the first missing bit in @err.
 */
int cpu_template_host_check(const struct cpu_template *t, const struct kvm_cpuid2 *supported,
			    char *err, size_t errlen);

#endif
