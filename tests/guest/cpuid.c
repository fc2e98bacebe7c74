// SPDX-License-Identifier: Apache-2.0
#include "cpuid.h"
#include "print.h"
#include "reset.h"

#define MSR_IA32_PAT 0x277

static const struct {
	uint32_t leaf, subleaf;
} leaves[] = {{0x0, 0}, {0x1, 0}, {0x7, 0}, {0xd, 1}, {0x80000001, 0}};

static void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(subleaf));
}

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

/* "cpuid: <leaf>.<subleaf> eax=<hex> ebx=<hex> ecx=<hex> edx=<hex>" per leaf. */
__noreturn void scenario_cpuid(void)
{
	static const char *const names[4] = {" eax=", " ebx=", " ecx=", " edx="};
	uint32_t r[4];

	for (unsigned int i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		cpuid(leaves[i].leaf, leaves[i].subleaf, r);
		print_str("cpuid: ");
		print_hex(leaves[i].leaf);
		print_str(".");
		print_hex(leaves[i].subleaf);
		for (unsigned int k = 0; k < 4; k++) {
			print_str(names[k]);
			print_hex(r[k]);
		}
		print_str("\n");
	}
	/* IA32_PAT, which every x86-64 CPU has: what an MSR modifier of 0x277 set. */
	print_str("cpuid: pat=");
	print_hex(rdmsr(MSR_IA32_PAT));
	print_str("\n");
	print_str("cpuid: done\n");
	machine_reset();
}
