/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An interrupt line as a device sees it. Legacy devices drive the level
 * (the in-kernel PIC/IOAPIC does edge detection, as on real ISA hardware);
 * unit tests plug in a fake that records the calls.
 */
#ifndef EMBER_IRQ_H
#define EMBER_IRQ_H

#include <stdbool.h>
#include <stdint.h>

struct irq_ops {
	int (*set_level)(void *ctx, uint32_t gsi, bool level);
};

struct irq_line {
	const struct irq_ops *ops;
	void *ctx;
	uint32_t gsi;
};

static inline int irq_line_set(const struct irq_line *line, bool level)
{
	if (!line->ops)
		return 0;
	return line->ops->set_level(line->ctx, line->gsi, level);
}

/* Rising then falling edge: an edge-triggered pulse. */
static inline int irq_line_pulse(const struct irq_line *line)
{
	int ret = irq_line_set(line, true);

	return ret ? ret : irq_line_set(line, false);
}

#endif
