/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An address-range bus: the PIO bus and the MMIO bus are each one of these.
 * Devices register [base, base+len) with their ops; overlapping ranges are
 * refused. The bus is filled before vCPUs start and is read-only afterwards,
 * so lookups need no lock; each device serialises its own state.
 */
#ifndef EMBER_BUS_H
#define EMBER_BUS_H

#include <stdbool.h>
#include <stdint.h>

struct bus_device_ops {
	/* @offset is relative to the registered base; @len is 1..8. */
	void (*read)(void *dev, uint64_t offset, uint8_t *data, uint32_t len);
	void (*write)(void *dev, uint64_t offset, const uint8_t *data, uint32_t len);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_device_ops *ops;
	void *dev;
};

struct bus {
	struct bus_range *ranges; /* sorted by base */
	unsigned int nr;
	unsigned int cap;
};

void bus_init(struct bus *bus);
void bus_destroy(struct bus *bus);

/* 0, -EINVAL (len 0 or base+len wraps), -EEXIST (overlap), -ENOMEM. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_device_ops *ops,
		 void *dev);

/* The range containing all of [addr, addr+len), or NULL. */
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, uint32_t len);

/* Dispatch an access; false when no device claims all of it. */
bool bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len);
bool bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len);

#endif
