// SPDX-License-Identifier: Apache-2.0
#include "io.h"
#include "print.h"
#include "reset.h"

#define I8042_STATUS	      0x64
#define I8042_COMMAND	      0x64
#define I8042_STR_IBF	      0x02 /* input buffer full: controller busy */
#define I8042_CMD_PULSE_RESET 0xfe

/* Linux's kb_wait() gives up after 0x10000 polls; so does the guest. */
#define I8042_MAX_POLLS 0x10000

/*
 * The VMM may take a moment to act on the reset (it stops the vCPU from
 * another thread), so only after this many TSC cycles (about a second at
 * 1 GHz, less on faster hosts) is the reset declared failed.
 */
#define RESET_TIMEOUT_CYCLES (1UL << 30)

static void i8042_wait_input_empty(void)
{
	unsigned int polls;

	for (polls = 0; polls < I8042_MAX_POLLS; polls++) {
		if (!(inb(I8042_STATUS) & I8042_STR_IBF))
			return;
		cpu_pause();
	}
}

void machine_reset_request(void)
{
	i8042_wait_input_empty();
	outb(I8042_CMD_PULSE_RESET, I8042_COMMAND);
}

void machine_reset(void)
{
	uint64_t start;

	cpu_cli();
	machine_reset_request();
	start = rdtsc();
	while (rdtsc() - start < RESET_TIMEOUT_CYCLES)
		cpu_pause();
	print_str("reset failed\n");
	halt_forever();
}
