// SPDX-License-Identifier: Apache-2.0
/*
 * Address-range bus: a sorted array of non-overlapping ranges, looked up by
 * binary search. Registration happens before the vCPUs start; afterwards the
 * array is only read, so the lookup path takes no lock.
 */
#include "devices/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BUS_INITIAL_CAP 8

void bus_init(struct bus *bus)
{
	bus->ranges = NULL;
	bus->nr = 0;
	bus->cap = 0;
}

void bus_destroy(struct bus *bus)
{
	free(bus->ranges);
	bus_init(bus);
}

/* Index of the last range with base <= @addr, or -1 when there is none. */
static int bus_floor(const struct bus *bus, uint64_t addr)
{
	int lo = 0, hi = (int)bus->nr - 1, found = -1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;

		if (bus->ranges[mid].base <= addr) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

/* Written so that no intermediate sum can wrap. */
static bool range_contains(const struct bus_range *r, uint64_t addr, uint64_t len)
{
	return addr >= r->base && len <= r->len && addr - r->base <= r->len - len;
}

static bool ranges_overlap(uint64_t a_base, uint64_t a_len, uint64_t b_base, uint64_t b_len)
{
	/* Neither range wraps (checked at registration), so ends are exact. */
	return a_base < b_base + b_len && b_base < a_base + a_len;
}

static int bus_grow(struct bus *bus)
{
	unsigned int cap = bus->cap ? bus->cap * 2 : BUS_INITIAL_CAP;
	struct bus_range *ranges;

	if (cap < bus->cap)
		return -ENOMEM;
	ranges = realloc(bus->ranges, (size_t)cap * sizeof(*ranges));
	if (!ranges)
		return -ENOMEM;
	bus->ranges = ranges;
	bus->cap = cap;
	return 0;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_device_ops *ops,
		 void *dev)
{
	int prev, pos, ret;

	if (len == 0 || len > UINT64_MAX - base || !ops)
		return -EINVAL;

	/* Only the neighbours of the insertion point can overlap a sorted, disjoint set. */
	prev = bus_floor(bus, base);
	pos = prev + 1;
	if (prev >= 0 && ranges_overlap(bus->ranges[prev].base, bus->ranges[prev].len, base, len))
		return -EEXIST;
	if ((unsigned int)pos < bus->nr &&
	    ranges_overlap(bus->ranges[pos].base, bus->ranges[pos].len, base, len))
		return -EEXIST;

	if (bus->nr == bus->cap) {
		ret = bus_grow(bus);
		if (ret)
			return ret;
	}
	memmove(&bus->ranges[pos + 1], &bus->ranges[pos],
		(size_t)(bus->nr - pos) * sizeof(bus->ranges[0]));
	bus->ranges[pos] = (struct bus_range){.base = base, .len = len, .ops = ops, .dev = dev};
	bus->nr++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, uint32_t len)
{
	int idx;

	if (len == 0)
		return NULL;
	idx = bus_floor(bus, addr);
	if (idx < 0 || !range_contains(&bus->ranges[idx], addr, len))
		return NULL;
	return &bus->ranges[idx];
}

bool bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len)
{
	const struct bus_range *r = bus_find(bus, addr, len);

	if (!r)
		return false;
	if (r->ops->read)
		r->ops->read(r->dev, addr - r->base, data, len);
	else
		memset(data, 0, len); /* a write-only device reads as zeros */
	return true;
}

bool bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, uint32_t len)
{
	const struct bus_range *r = bus_find(bus, addr, len);

	if (!r)
		return false;
	if (r->ops->write)
		r->ops->write(r->dev, addr - r->base, data, len);
	return true;
}
