/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's static CPU templates, selected by name through the
 * deprecated machine-config "cpu_template" field. Each is allowed only on
 * the host CPUs Firecracker allows it on: its vendor, and one of its
 * family/model/stepping values (Firecracker's get_cpu_template()).
 */
#ifndef EMBER_STATIC_TEMPLATES_H
#define EMBER_STATIC_TEMPLATES_H

#include <stdint.h>

#include "vmm/config/cpu_template.h"

enum static_template { STATIC_T2, STATIC_T2S, STATIC_T2CL, STATIC_C3, STATIC_T2A, STATIC_NR };

/* Firecracker's GetCpuTemplateError texts. */
#define CPU_TEMPLATE_VENDOR_MISMATCH "CPU vendor mismatched between actual CPU and CPU template."
#define CPU_TEMPLATE_BAD_MODEL	     "The current CPU model is not permitted to apply the CPU template."

/*
 * The template named @name ("T2", "T2S", "T2CL", "C3", "T2A") for a host
 * whose CPUID leaf 0 vendor string is @vendor (12 bytes, EBX EDX ECX) and
 * leaf 1 EAX is @leaf1_eax. NULL with *why set to Firecracker's message when
 * the host may not use it, or "Invalid static CPU template: <name>" for an
 * unknown name.
 */
const struct cpu_template *static_template_for_host(const char *name, const char vendor[12],
						    uint32_t leaf1_eax, const char **why);

#endif
