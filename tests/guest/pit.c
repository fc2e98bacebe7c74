// SPDX-License-Identifier: Apache-2.0
#include "io.h"
#include "pit.h"

#define PIT_CH0	     0x40
#define PIT_MODE     0x43
#define PIT_INPUT_HZ 1193182
/* Channel 0, access lobyte/hibyte, mode 2, binary. */
#define PIT_CH0_LOHI_MODE2 0x34

#define PIT_DIVISOR ((PIT_INPUT_HZ + PIT_HZ / 2) / PIT_HZ)

_Static_assert(PIT_DIVISOR <= 0xffff, "the PIT reload value is 16 bits");

void pit_start_periodic(void)
{
	outb(PIT_CH0_LOHI_MODE2, PIT_MODE);
	outb(PIT_DIVISOR & 0xff, PIT_CH0);
	outb(PIT_DIVISOR >> 8, PIT_CH0);
}
