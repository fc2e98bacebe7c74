/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PVH entry of test-guest-pvh.elf (pvh_entry.S, its ELF note pvh_note.S).
 * The VMM enters pvh_start in 32-bit protected mode, paging off, EBX = struct
 * hvm_start_info (Xen's start_info.h). The stub records the state it found
 * in pvh_state, enters long mode on its own identity map and calls
 * pvh_boot_params(), which turns the start info into the struct boot_params
 * that startup_64 takes; from there the guest runs as after a 64-bit boot
 * protocol entry. pvh_report() prints what the entry saw, so a test can
 * compare it with what the PVH ABI requires.
 */
#ifndef GUEST_PVH_H
#define GUEST_PVH_H

/* Offsets of struct pvh_state, for pvh_entry.S. */
#define PVH_ST_ENTERED 0
#define PVH_ST_EFLAGS  4
#define PVH_ST_EBX     8
#define PVH_ST_CR0     12
#define PVH_ST_CR4     16
#define PVH_ST_EFER    20
#define PVH_ST_CS      24
#define PVH_ST_DS      28

#ifndef __ASSEMBLER__
#include "types.h"

struct pvh_state {
	uint32_t entered; /* 1 once pvh_start ran: 0 after a 64-bit entry */
	uint32_t eflags;
	uint32_t ebx;
	uint32_t cr0;
	uint32_t cr4;
	uint32_t efer; /* low half */
	uint32_t cs;
	uint32_t ds;
};

/* Called by pvh_entry.S in long mode: the boot_params built from @start_info. */
const uint8_t *pvh_boot_params(uint32_t start_info);

/* After a PVH entry, print the entry state and the start info; else nothing. */
void pvh_report(void);
#endif

#endif
