// SPDX-License-Identifier: Apache-2.0
#include "vmm/kvm/msr_boot.h"

#include <stdint.h>
#include <string.h>

static const struct {
	uint32_t index;
	uint64_t data;
} boot_msrs[] = {
    {MSR_IA32_SYSENTER_CS, 0},
    {MSR_IA32_SYSENTER_ESP, 0},
    {MSR_IA32_SYSENTER_EIP, 0},
    {MSR_STAR, 0},
    {MSR_CSTAR, 0},
    {MSR_KERNEL_GS_BASE, 0},
    {MSR_SYSCALL_MASK, 0},
    {MSR_LSTAR, 0},
    {MSR_IA32_TSC, 0},
    {MSR_IA32_MISC_ENABLE, MSR_IA32_MISC_ENABLE_FAST_STRING},
    /* Memory outside any variable MTRR is write-back, not uncached. */
    {MSR_MTRR_DEF_TYPE, MTRR_DEF_TYPE_ENABLE | MTRR_TYPE_WRBACK},
};

_Static_assert(sizeof(boot_msrs) / sizeof(boot_msrs[0]) == MSR_BOOT_NR_ENTRIES,
	       "MSR_BOOT_NR_ENTRIES matches the table");

size_t msr_boot_entries(struct kvm_msr_entry *out, size_t max)
{
	if (max < MSR_BOOT_NR_ENTRIES)
		return 0;
	for (size_t i = 0; i < MSR_BOOT_NR_ENTRIES; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].index = boot_msrs[i].index;
		out[i].data = boot_msrs[i].data;
	}
	return MSR_BOOT_NR_ENTRIES;
}
