/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cpuid scenario: print the CPUID leaves a CPU template changes (the
 * vendor, features, structured extended features, extended features), one
 * line each, and IA32_PAT (what an MSR modifier changes), then reset (README).
 */
#ifndef GUEST_CPUID_H
#define GUEST_CPUID_H

#include "types.h"

__noreturn void scenario_cpuid(void);

#endif
