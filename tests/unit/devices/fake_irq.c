// SPDX-License-Identifier: Apache-2.0
#include "tests/unit/devices/fake_irq.h"

#include <string.h>

static int fake_irq_set_level(void *ctx, uint32_t gsi, bool level)
{
	struct fake_irq *fake = ctx;
	int ret;

	pthread_mutex_lock(&fake->lock);
	if (fake->nr_calls < FAKE_IRQ_MAX_CALLS) {
		fake->history[fake->nr_calls] = level ? '1' : '0';
		fake->history[fake->nr_calls + 1] = '\0';
	}
	fake->nr_calls++;
	if (gsi != fake->line.gsi)
		fake->wrong_gsi++;
	fake->level = level;
	ret = fake->ret;
	pthread_mutex_unlock(&fake->lock);
	return ret;
}

static const struct irq_ops fake_irq_ops = {.set_level = fake_irq_set_level};

void fake_irq_init(struct fake_irq *fake, uint32_t gsi)
{
	memset(fake, 0, sizeof(*fake));
	pthread_mutex_init(&fake->lock, NULL);
	fake->line.ops = &fake_irq_ops;
	fake->line.ctx = fake;
	fake->line.gsi = gsi;
}

void fake_irq_clear(struct fake_irq *fake)
{
	pthread_mutex_lock(&fake->lock);
	fake->nr_calls = 0;
	fake->wrong_gsi = 0;
	fake->history[0] = '\0';
	pthread_mutex_unlock(&fake->lock);
}

void fake_irq_destroy(struct fake_irq *fake)
{
	pthread_mutex_destroy(&fake->lock);
}

unsigned int fake_irq_count(struct fake_irq *fake)
{
	unsigned int n;

	pthread_mutex_lock(&fake->lock);
	n = fake->nr_calls;
	pthread_mutex_unlock(&fake->lock);
	return n;
}

bool fake_irq_level(struct fake_irq *fake)
{
	bool level;

	pthread_mutex_lock(&fake->lock);
	level = fake->level;
	pthread_mutex_unlock(&fake->lock);
	return level;
}

const char *fake_irq_history(struct fake_irq *fake)
{
	/* The buffer lives in @fake; callers read it after the device went quiet. */
	return fake->history;
}
