// SPDX-License-Identifier: Apache-2.0
/* Bus: registration rules, lookup boundaries and dispatch. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "devices/bus.h"

/* A device that records its last access and answers reads with offset-derived bytes. */
struct rec_dev {
	int id;
	int reads, writes;
	uint64_t offset;
	uint32_t len;
	uint8_t data[8];
};

static void rec_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct rec_dev *d = dev;

	d->reads++;
	d->offset = offset;
	d->len = len;
	for (uint32_t i = 0; i < len; i++)
		data[i] = (uint8_t)(d->id * 16 + offset + i);
}

static void rec_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct rec_dev *d = dev;

	d->writes++;
	d->offset = offset;
	d->len = len;
	memcpy(d->data, data, len);
}

static const struct bus_device_ops rec_ops = {.read = rec_read, .write = rec_write};
static const struct bus_device_ops no_ops = {0};

static int setup(void **state)
{
	static struct bus bus;

	bus_init(&bus);
	*state = &bus;
	return 0;
}

static int teardown(void **state)
{
	bus_destroy(*state);
	return 0;
}

static void test_register_rejects_bad_ranges(void **state)
{
	struct bus *bus = *state;
	struct rec_dev d = {.id = 1};

	assert_int_equal(bus_register(bus, 0x1000, 0, &rec_ops, &d), -EINVAL);
	/* base + len == 2^64 wraps to 0. */
	assert_int_equal(bus_register(bus, UINT64_MAX - 0xf, 0x10, &rec_ops, &d), -EINVAL);
	assert_int_equal(bus_register(bus, UINT64_MAX, 1, &rec_ops, &d), -EINVAL);
	assert_int_equal(bus_register(bus, 1, UINT64_MAX, &rec_ops, &d), -EINVAL);
	assert_int_equal(bus_register(bus, 0x1000, 8, NULL, &d), -EINVAL);
	assert_int_equal(bus->nr, 0);
	/* One byte short of wrapping is fine. */
	assert_int_equal(bus_register(bus, UINT64_MAX - 0xf, 0xf, &rec_ops, &d), 0);
	assert_int_equal(bus_register(bus, 0, UINT64_MAX - 0xf, &rec_ops, &d), 0);
	assert_int_equal(bus->nr, 2);
}

static void test_register_overlaps(void **state)
{
	struct bus *bus = *state;
	struct rec_dev a = {.id = 1}, b = {.id = 2};

	assert_int_equal(bus_register(bus, 0x100, 0x10, &rec_ops, &a), 0);
	assert_int_equal(bus_register(bus, 0x100, 0x10, &rec_ops, &b), -EEXIST); /* identical */
	assert_int_equal(bus_register(bus, 0x104, 0x4, &rec_ops, &b), -EEXIST);	 /* inside */
	assert_int_equal(bus_register(bus, 0x0, 0x1000, &rec_ops, &b), -EEXIST); /* covering */
	assert_int_equal(bus_register(bus, 0xf8, 0x9, &rec_ops, &b), -EEXIST);	 /* left straddle */
	assert_int_equal(bus_register(bus, 0x10f, 0x8, &rec_ops, &b), -EEXIST); /* right straddle */
	assert_int_equal(bus->nr, 1);

	assert_int_equal(bus_register(bus, 0xf0, 0x10, &rec_ops, &b), 0);  /* adjacent left */
	assert_int_equal(bus_register(bus, 0x110, 0x10, &rec_ops, &b), 0); /* adjacent right */
	assert_int_equal(bus->nr, 3);

	/* Into a gap between two ranges: both neighbours are checked. */
	assert_int_equal(bus_register(bus, 0x200, 0x10, &rec_ops, &a), 0);
	assert_int_equal(bus_register(bus, 0x11f, 0x2, &rec_ops, &b), -EEXIST);
	assert_int_equal(bus_register(bus, 0x1ff, 0x2, &rec_ops, &b), -EEXIST);
	assert_int_equal(bus_register(bus, 0x120, 0xe0, &rec_ops, &b), 0); /* fills the gap */
	assert_int_equal(bus->nr, 5);

	for (unsigned int i = 1; i < bus->nr; i++)
		assert_true(bus->ranges[i - 1].base + bus->ranges[i - 1].len <=
			    bus->ranges[i].base);
}

static void test_find_requires_whole_access(void **state)
{
	struct bus *bus = *state;
	struct rec_dev a = {.id = 1}, b = {.id = 2};

	assert_int_equal(bus_register(bus, 0x100, 0x10, &rec_ops, &a), 0);
	assert_int_equal(bus_register(bus, 0x110, 0x10, &rec_ops, &b), 0);

	assert_ptr_equal(bus_find(bus, 0x100, 1)->dev, &a);
	assert_ptr_equal(bus_find(bus, 0x108, 8)->dev, &a); /* ends exactly at the end */
	assert_ptr_equal(bus_find(bus, 0x10f, 1)->dev, &a);
	assert_ptr_equal(bus_find(bus, 0x110, 4)->dev, &b);
	assert_null(bus_find(bus, 0x10e, 4)); /* straddles a's end into b */
	assert_null(bus_find(bus, 0x11e, 4)); /* straddles b's end into nothing */
	assert_null(bus_find(bus, 0xff, 2));  /* starts before a */
	assert_null(bus_find(bus, 0xff, 1));
	assert_null(bus_find(bus, 0x120, 1));
	assert_null(bus_find(bus, 0x100, 0));
	assert_null(bus_find(bus, 0, 1));
}

static void test_find_u64_wrap(void **state)
{
	struct bus *bus = *state;
	struct rec_dev top = {.id = 1}, low = {.id = 2};

	/* [2^64 - 16, 2^64 - 1): the highest range the rules allow. */
	assert_int_equal(bus_register(bus, UINT64_MAX - 0xf, 0xf, &rec_ops, &top), 0);
	assert_int_equal(bus_register(bus, 0, 0x10, &rec_ops, &low), 0);

	assert_ptr_equal(bus_find(bus, UINT64_MAX - 1, 1)->dev, &top);
	assert_ptr_equal(bus_find(bus, UINT64_MAX - 8, 8)->dev, &top);
	assert_null(bus_find(bus, UINT64_MAX - 1, 2)); /* reaches UINT64_MAX */
	assert_null(bus_find(bus, UINT64_MAX - 1, 8)); /* wraps past 2^64 */
	assert_null(bus_find(bus, UINT64_MAX, 1));
	assert_null(bus_find(bus, UINT64_MAX, 8)); /* would wrap into low */
	assert_ptr_equal(bus_find(bus, 0, 8)->dev, &low);
}

static void test_dispatch(void **state)
{
	struct bus *bus = *state;
	struct rec_dev a = {.id = 1}, b = {.id = 2};
	uint8_t buf[8];
	const uint8_t out[4] = {0xde, 0xad, 0xbe, 0xef};

	assert_int_equal(bus_register(bus, 0x3f8, 8, &rec_ops, &a), 0);
	assert_int_equal(bus_register(bus, 0xd0000000, 0x1000, &rec_ops, &b), 0);

	memset(buf, 0xaa, sizeof(buf));
	assert_true(bus_read(bus, 0x3fd, buf, 1));
	assert_int_equal(a.reads, 1);
	assert_int_equal(a.offset, 5);
	assert_int_equal(a.len, 1);
	assert_int_equal(buf[0], 16 + 5);
	assert_int_equal(buf[1], 0xaa);

	assert_true(bus_write(bus, 0xd0000100, out, 4));
	assert_int_equal(b.writes, 1);
	assert_int_equal(b.offset, 0x100);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, out, 4);

	/* Unclaimed and partially claimed accesses reach nobody. */
	memset(buf, 0xaa, sizeof(buf));
	assert_false(bus_read(bus, 0x3f0, buf, 1));
	assert_false(bus_read(bus, 0x3ff, buf, 2));
	assert_false(bus_write(bus, 0xd0000ffe, out, 4));
	assert_false(bus_write(bus, 0x80, out, 1));
	assert_int_equal(buf[0], 0xaa);
	assert_int_equal(a.reads, 1);
	assert_int_equal(a.writes, 0);
	assert_int_equal(b.writes, 1);
}

static void test_device_without_ops(void **state)
{
	struct bus *bus = *state;
	uint8_t buf[4] = {1, 2, 3, 4};

	assert_int_equal(bus_register(bus, 0x80, 1, &no_ops, NULL), 0);
	assert_true(bus_read(bus, 0x80, buf, 1));
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[1], 2);
	assert_true(bus_write(bus, 0x80, buf, 1));
}

/* Enough ranges, registered out of order, to grow the array and exercise the search. */
static void test_many_ranges(void **state)
{
	struct bus *bus = *state;
	static struct rec_dev devs[200];
	unsigned int n = sizeof(devs) / sizeof(devs[0]);
	uint8_t byte;

	for (unsigned int i = 0; i < n; i++) {
		/* 0, 101, 2, 103, ... permutes the slots (101 is coprime with 200). */
		unsigned int slot = (i * 101) % n;

		devs[slot].id = (int)slot;
		assert_int_equal(
		    bus_register(bus, 0x1000 + slot * 0x20, 0x10, &rec_ops, &devs[slot]), 0);
	}
	assert_int_equal(bus->nr, n);
	for (unsigned int slot = 0; slot < n; slot++) {
		uint64_t base = 0x1000 + slot * 0x20;

		assert_ptr_equal(bus_find(bus, base, 1)->dev, &devs[slot]);
		assert_ptr_equal(bus_find(bus, base + 0xc, 4)->dev, &devs[slot]);
		assert_null(bus_find(bus, base + 0x10, 1)); /* the gap after it */
		assert_null(bus_find(bus, base + 0xf, 2));
		assert_true(bus_read(bus, base + 3, &byte, 1));
		assert_int_equal(devs[slot].offset, 3);
	}
	bus_destroy(bus);
	assert_int_equal(bus->nr, 0);
	assert_null(bus_find(bus, 0x1000, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_register_rejects_bad_ranges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_register_overlaps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_find_requires_whole_access, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_find_u64_wrap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dispatch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_device_without_ops, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_ranges, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
