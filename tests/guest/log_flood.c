// SPDX-License-Identifier: Apache-2.0
/*
 * log-flood: guest errors the VMM logs, in bursts. Each of LOG_FLOOD_BURSTS
 * bursts is LOG_FLOOD_WRITES 1-byte writes to the first virtio device's
 * MagicValue register (read-only, 32-bit only: every write is an "ignored
 * write" the VMM logs as a guest error), the bursts LOG_FLOOD_GAP_TICKS PIT
 * ticks apart. A VMM that logged them all would write 500 lines; its log
 * rate limit is what keeps them few.
 */
#include "io.h"
#include "pic.h"
#include "pit.h"
#include "print.h"
#include "reset.h"
#include "traps.h"
#include "virtio_scenarios.h"

#define LOG_FLOOD_BURSTS    5
#define LOG_FLOOD_WRITES    100
#define LOG_FLOOD_GAP_TICKS 110 /* 1.1 s at PIT_HZ */

static volatile uint64_t flood_ticks;

static void flood_timer_irq(void)
{
	flood_ticks++;
}

static void sleep_ticks(uint64_t n)
{
	uint64_t until = flood_ticks + n;

	for (;;) {
		cpu_cli();
		if (flood_ticks >= until)
			return;
		cpu_sti_hlt();
	}
}

void scenario_log_flood(const char *cmdline)
{
	struct virtio_dev *dev = virtio_probe_first(cmdline, VIRTIO_ID_RNG, "log-flood");

	if (!dev)
		machine_reset();
	pic_init();
	irq_set_handler(PIT_IRQ, flood_timer_irq);
	pit_start_periodic();
	pic_unmask(PIT_IRQ);
	for (unsigned int burst = 0; burst < LOG_FLOOD_BURSTS; burst++) {
		if (burst)
			sleep_ticks(LOG_FLOOD_GAP_TICKS);
		for (unsigned int i = 0; i < LOG_FLOOD_WRITES; i++)
			mmio_write8(dev->base, 0);
		print_str("log-flood: burst ");
		print_dec(burst + 1);
		print_str("\n");
	}
	print_str("log-flood: done\n");
	machine_reset();
}
