// SPDX-License-Identifier: Apache-2.0
/*
 * C entry of the test guest, called by startup_64 (entry.S) on its own
 * stack and GDT, still on the loader's page tables, interrupts disabled.
 * Reports what the VMM handed over (command line, memory, CPUs, e820 map)
 * and runs the scenario.
 */
#include "boot_params.h"
#include "boot_timer.h"
#include "cmdline.h"
#include "mptable.h"
#include "paging.h"
#include "print.h"
#include "pvh.h"
#include "scenarios.h"
#include "serial.h"
#include "traps.h"

#define MIB (1UL << 20)

/* Copied out of guest RAM the VMM owns before anything parses it. */
static char cmdline[CMDLINE_MAX];

__noreturn void guest_main(const uint8_t *boot_params);

void guest_main(const uint8_t *boot_params)
{
	size_t len;

	serial_init();
	print_str("ember-test-guest: booted\n");
	pvh_report();
	paging_init();
	traps_init();

	len = bp_read_cmdline(boot_params, cmdline, sizeof(cmdline));
	if (cmdline_has(cmdline, "ember.boottimer"))
		boot_timer_signal();

	print_str("cmdline: ");
	print_mem(cmdline, len);
	print_str("\nmem: ");
	print_dec((bp_e820_ram_bytes(boot_params) + MIB / 2) / MIB);
	print_str(" MiB\ncpus: ");
	print_dec(mptable_count_cpus());
	print_str("\ne820: ");
	print_dec(bp_e820_count(boot_params));
	print_str(" entries\n");

	scenario_run(cmdline);
}
