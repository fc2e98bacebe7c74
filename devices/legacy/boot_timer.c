// SPDX-License-Identifier: Apache-2.0
#include "devices/legacy/boot_timer.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/mem/layout.h"
#include "vmm/base/log.h"

struct boot_timer {
	uint64_t start_wall_us;
	uint64_t start_cpu_us;
};

static uint64_t clock_us(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void boot_timer_now(uint64_t *wall_us, uint64_t *cpu_us)
{
	*wall_us = clock_us(CLOCK_MONOTONIC);
	*cpu_us = clock_us(CLOCK_PROCESS_CPUTIME_ID);
}

/* A start in the future (a caller's mistake) reads as 0, not as a wrapped u64. */
static uint64_t elapsed_us(uint64_t now, uint64_t start)
{
	return now > start ? now - start : 0;
}

static void boot_timer_bus_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	(void)dev;
	(void)offset;
	memset(data, 0, len); /* nothing to read; zeros rather than stale bytes */
}

static void boot_timer_bus_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct boot_timer *timer = dev;
	uint64_t now_wall, now_cpu, wall, cpu;

	/* Only a byte-wide write at offset 0 is the signal. */
	if (len != 1 || offset != 0 || data[0] != BOOT_TIMER_MAGIC)
		return;
	boot_timer_now(&now_wall, &now_cpu);
	wall = elapsed_us(now_wall, timer->start_wall_us);
	cpu = elapsed_us(now_cpu, timer->start_cpu_us);
	log_info("Guest-boot-time = %6" PRIu64 " us %" PRIu64 " ms, %6" PRIu64 " CPU us %" PRIu64
		 " CPU ms",
		 wall, wall / 1000, cpu, cpu / 1000);
}

const struct bus_device_ops boot_timer_bus_ops = {.read = boot_timer_bus_read,
						  .write = boot_timer_bus_write};

struct boot_timer *boot_timer_create(uint64_t start_wall_us, uint64_t start_cpu_us)
{
	struct boot_timer *timer = malloc(sizeof(*timer));

	if (!timer)
		return NULL;
	timer->start_wall_us = start_wall_us;
	timer->start_cpu_us = start_cpu_us;
	return timer;
}

void boot_timer_destroy(struct boot_timer *timer)
{
	free(timer);
}
