/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vmgenid scenario: find VMGenID, VMClock and the GED's interrupts the
 * way Linux does, through the ACPI tables (RSDP at 0xe0000 -> XSDT -> FADT
 * -> DSDT: the VGEN device's ADDR package, the VCLK device's QWordMemory,
 * the GED_ device's two Interrupt descriptors), print what they hold, then
 * sleep and report every change a notification brings (README).
 */
#ifndef GUEST_VMGENID_H
#define GUEST_VMGENID_H

#include "types.h"

__noreturn void scenario_vmgenid(void);

#endif
