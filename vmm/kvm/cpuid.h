/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-vCPU CPUID, derived from KVM_GET_SUPPORTED_CPUID the way Firecracker's
 * normalization does (docs/cpu_templates/cpuid-normalization.md): APIC IDs
 * and topology that match the MP table (APIC ID = vCPU index, one package,
 * optional 2-way SMT), the hypervisor and TSC-deadline bits, and no
 * performance-monitoring or frequency-control features.
 *
 * Brand string: Ember keeps whatever brand KVM reports. Recent KVM reports
 * none (leaves 0x80000002-4 all zero); then the brand is "Ember vCPU", so a
 * guest never sees an empty model name.
 *
 * Typical use, per vCPU:
 *	n = supported->nent + CPUID_EXTRA_ENTRIES;
 *	cpuid = malloc(sizeof(*cpuid) + n * sizeof(cpuid->entries[0]));
 *	copy supported (header + nent entries) into cpuid;
 *	cpuid_add_topology_subleaves(cpuid, n);
 *	cpuid_normalize(cpuid, vcpu_id, nr_vcpus, smt);
 *	KVM_SET_CPUID2
 */
#ifndef EMBER_CPUID_H
#define EMBER_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

/* Most entries cpuid_add_topology_subleaves() appends (leaf 0xb and 0x1f subleaf 1). */
#define CPUID_EXTRA_ENTRIES 2

/*
 * KVM (since Linux 6.2) reports only subleaf 0 of the extended topology leaves
 * 0xb and 0x1f; Linux needs subleaf 1 (the core level) to see one package.
 * Append a zeroed subleaf 1 for each such leaf that has subleaf 0 but not 1,
 * as Firecracker does; cpuid_normalize() fills it. @max_nent is the room in
 * cpuid->entries. 0, or -ENOSPC (nothing added) if it does not fit.
 */
int cpuid_add_topology_subleaves(struct kvm_cpuid2 *cpuid, uint32_t max_nent);

/*
 * Normalize @cpuid in place for vCPU @vcpu_id of @nr_vcpus (1..LAYOUT_MAX_VCPUS),
 * with two threads per core if @smt. Only entries present are changed; none
 * is added or removed. 0, or -EINVAL for a bad id or count.
 */
int cpuid_normalize(struct kvm_cpuid2 *cpuid, uint32_t vcpu_id, uint32_t nr_vcpus, bool smt);

/* The entry for @function/@index (index ignored for unindexed leaves), or NULL. */
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *cpuid, uint32_t function, uint32_t index);

#endif
