/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fake interrupt controller for unit tests: an irq_line whose set_level
 * calls are recorded, so a test can assert the exact sequence of levels a
 * device drove. Thread safe (devices may be poked from several threads).
 *
 *	struct fake_irq irq;
 *	fake_irq_init(&irq, 4);
 *	dev = serial_create(-1, &irq.line);
 *	...
 *	assert_string_equal(fake_irq_history(&irq), "10");	// raised, then lowered
 */
#ifndef EMBER_TEST_FAKE_IRQ_H
#define EMBER_TEST_FAKE_IRQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/irq.h"

#define FAKE_IRQ_MAX_CALLS 256

struct fake_irq {
	struct irq_line line; /* hand &fake.line to the device */
	pthread_mutex_t lock;
	unsigned int nr_calls;	/* every call, even past FAKE_IRQ_MAX_CALLS */
	unsigned int wrong_gsi; /* calls whose gsi differed from line.gsi */
	bool level;		/* the level of the last call */
	int ret;		/* what set_level returns (0, or a -errno to inject) */
	char history[FAKE_IRQ_MAX_CALLS + 1]; /* '0'/'1' per call, NUL terminated */
};

void fake_irq_init(struct fake_irq *fake, uint32_t gsi);
/* Forget the recorded calls (the current level is kept). */
void fake_irq_clear(struct fake_irq *fake);
void fake_irq_destroy(struct fake_irq *fake);

unsigned int fake_irq_count(struct fake_irq *fake);
bool fake_irq_level(struct fake_irq *fake);
/* The levels set since init/clear as a string of '0' and '1', oldest first. */
const char *fake_irq_history(struct fake_irq *fake);

#endif
