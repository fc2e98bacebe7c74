/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Boot timer pseudo-device (Firecracker's --boot-timer): the guest's init
 * writes the byte BOOT_TIMER_MAGIC (123) at offset 0 of the MMIO page at
 * LAYOUT_BOOT_TIMER_ADDR, and the VMM logs, at Info level,
 *   Guest-boot-time =  12345 us 12 ms,   2345 CPU us 2 CPU ms
 * measured from the start timestamps given at create. Every such write logs
 * one line, as in Firecracker. Register with
 *
 *	bus_register(&mmio_bus, LAYOUT_BOOT_TIMER_ADDR, LAYOUT_BOOT_TIMER_SIZE,
 *		     &boot_timer_bus_ops, timer);
 *
 * The timestamps are Firecracker's: "wall" is CLOCK_MONOTONIC and "cpu" is
 * CLOCK_PROCESS_CPUTIME_ID, both in microseconds; take them with
 * boot_timer_now() so the clocks match. The device has no mutable state, so
 * it needs no lock.
 */
#ifndef EMBER_BOOT_TIMER_H
#define EMBER_BOOT_TIMER_H

#include <stdint.h>

#include "devices/bus.h"

struct boot_timer;

/* Current CLOCK_MONOTONIC and process CPU time, in microseconds. */
void boot_timer_now(uint64_t *wall_us, uint64_t *cpu_us);

/* NULL on allocation failure. */
struct boot_timer *boot_timer_create(uint64_t start_wall_us, uint64_t start_cpu_us);
void boot_timer_destroy(struct boot_timer *timer);

extern const struct bus_device_ops boot_timer_bus_ops;

#endif
