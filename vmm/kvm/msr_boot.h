/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MSR values every vCPU gets before it first runs, as Firecracker sets them:
 * SYSENTER/SYSCALL state cleared, TSC at 0, fast strings on, and the MTRR
 * default type write-back so guest RAM is cacheable before Linux touches the
 * MTRRs.
 */
#ifndef EMBER_MSR_BOOT_H
#define EMBER_MSR_BOOT_H

#include <linux/kvm.h>
#include <stddef.h>

#define MSR_IA32_TSC	      0x00000010
#define MSR_IA32_SYSENTER_CS  0x00000174
#define MSR_IA32_SYSENTER_ESP 0x00000175
#define MSR_IA32_SYSENTER_EIP 0x00000176
#define MSR_IA32_MISC_ENABLE  0x000001a0
#define MSR_MTRR_DEF_TYPE     0x000002ff
#define MSR_STAR	      0xc0000081
#define MSR_LSTAR	      0xc0000082
#define MSR_CSTAR	      0xc0000083
#define MSR_SYSCALL_MASK      0xc0000084
#define MSR_KERNEL_GS_BASE    0xc0000102

#define MSR_IA32_MISC_ENABLE_FAST_STRING (1ULL << 0)
#define MTRR_DEF_TYPE_ENABLE		 (1ULL << 11)
#define MTRR_TYPE_WRBACK		 6

/* How many entries msr_boot_entries() writes. */
#define MSR_BOOT_NR_ENTRIES 11

/*
 * Fill @out with the boot MSRs and return how many (MSR_BOOT_NR_ENTRIES).
 * All or nothing: if @max is smaller, nothing is written and 0 is returned.
 */
size_t msr_boot_entries(struct kvm_msr_entry *out, size_t max);

#endif
