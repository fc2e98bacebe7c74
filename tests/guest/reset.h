/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Machine reset the way Linux does with reboot=k: pulse the CPU reset line
 * through the i8042 keyboard controller. Ember, like Firecracker, ends the
 * microVM when it sees this.
 */
#ifndef GUEST_RESET_H
#define GUEST_RESET_H

#include "types.h"

/* One reset request through the i8042, returning if the machine still runs. */
void machine_reset_request(void);

/* Reset; if the machine is still running about a second later, say so and halt forever. */
__noreturn void machine_reset(void);

#endif
