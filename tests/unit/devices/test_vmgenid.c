// SPDX-License-Identifier: Apache-2.0
/*
 * VMGenID: a fresh random ID in guest memory at activation, kept in the
 * snapshot section with its address and GSI, and a different one, then one
 * edge on the GED's line, at every restore. Sections that do not match the
 * device, and memory that is not guest RAM, are errors with nothing changed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "devices/acpi/vmgenid.h"
#include "tests/unit/devices/fake_irq.h"
#include "vmm/base/log.h"
#include "vmm/mem/layout.h"

#define ADDR LAYOUT_VMGENID_ADDR
#define GSI  7

struct fixture {
	struct guest_mem mem;
	struct fake_irq irq;
	struct vmgenid g;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	if (guest_mem_create(&f.mem, 1 * MIB))
		return -1;
	fake_irq_init(&f.irq, GSI);
	vmgenid_init(&f.g, ADDR, &f.irq.line);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fake_irq_destroy(&f->irq);
	guest_mem_destroy(&f->mem);
	return 0;
}

static void guest_id(struct fixture *f, uint8_t id[VMGENID_SIZE])
{
	assert_int_equal(guest_mem_read(&f->mem, ADDR, id, VMGENID_SIZE), 0);
}

static struct vmstate_reader reader_of(const struct vmstate_writer *w)
{
	return (struct vmstate_reader){w->buf, w->len, 0, 0};
}

static void test_activate_writes_a_random_id(void **state)
{
	struct fixture *f = *state;
	static const uint8_t zero[VMGENID_SIZE];
	uint8_t id[VMGENID_SIZE], around[2];
	struct vmgenid other;

	assert_int_equal(vmgenid_activate(&f->g, &f->mem), 0);
	guest_id(f, id);
	assert_memory_equal(id, f->g.id, VMGENID_SIZE);
	assert_memory_not_equal(id, zero, VMGENID_SIZE);
	/* Exactly 16 bytes: the neighbours are untouched. */
	assert_int_equal(guest_mem_read(&f->mem, ADDR - 1, around, 1), 0);
	assert_int_equal(around[0], 0);
	/* No notification at boot: the guest reads the ID when its driver binds. */
	assert_int_equal(fake_irq_count(&f->irq), 0);
	/* Another VM gets another ID. */
	vmgenid_init(&other, ADDR, &f->irq.line);
	assert_int_equal(vmgenid_activate(&other, &f->mem), 0);
	assert_memory_not_equal(other.id, id, VMGENID_SIZE);
}

static void test_save_restore_new_generation(void **state)
{
	struct fixture *f = *state;
	struct vmstate_writer w;
	struct vmstate_reader r;
	uint8_t saved[VMGENID_SIZE], now[VMGENID_SIZE];
	struct vmgenid restored;

	assert_int_equal(vmgenid_activate(&f->g, &f->mem), 0);
	memcpy(saved, f->g.id, sizeof(saved));
	vmstate_writer_init_raw(&w);
	vmgenid_save(&f->g, &w);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.len, 8 + 4 + VMGENID_SIZE);

	/* The restored device has the saved ID until the new generation. */
	vmgenid_init(&restored, ADDR, &f->irq.line);
	r = reader_of(&w);
	assert_int_equal(vmgenid_restore(&restored, &r), 0);
	assert_memory_equal(restored.id, saved, VMGENID_SIZE);
	assert_int_equal(vmgenid_new_generation(&restored, &f->mem), 0);
	guest_id(f, now);
	assert_memory_not_equal(now, saved, VMGENID_SIZE);
	assert_memory_equal(now, restored.id, VMGENID_SIZE);
	/* One edge on the GED's GSI: _EVT runs Notify (VGEN, 0x80). */
	assert_string_equal(fake_irq_history(&f->irq), "10");
	assert_int_equal(f->irq.wrong_gsi, 0);

	/* A second clone of the same snapshot gets yet another ID. */
	vmgenid_init(&restored, ADDR, &f->irq.line);
	r = reader_of(&w);
	assert_int_equal(vmgenid_restore(&restored, &r), 0);
	assert_int_equal(vmgenid_new_generation(&restored, &f->mem), 0);
	assert_memory_not_equal(restored.id, saved, VMGENID_SIZE);
	assert_memory_not_equal(restored.id, now, VMGENID_SIZE);
	vmstate_writer_free(&w);
}

/* A section for another address or GSI, short, or with bytes left over. */
static void test_restore_rejects_mismatches(void **state)
{
	struct fixture *f = *state;
	struct vmstate_writer w;
	struct vmstate_reader r;
	struct vmgenid other;
	uint8_t id[VMGENID_SIZE];

	assert_int_equal(vmgenid_activate(&f->g, &f->mem), 0);
	memcpy(id, f->g.id, sizeof(id));
	vmstate_writer_init_raw(&w);
	vmgenid_save(&f->g, &w);

	vmgenid_init(&other, ADDR + 16, &f->irq.line);
	r = reader_of(&w);
	assert_int_equal(vmgenid_restore(&other, &r), -EINVAL);
	f->irq.line.gsi = GSI + 1;
	vmgenid_init(&other, ADDR, &f->irq.line);
	r = reader_of(&w);
	assert_int_equal(vmgenid_restore(&other, &r), -EINVAL);
	f->irq.line.gsi = GSI;
	vmgenid_init(&other, ADDR, &f->irq.line);
	r = reader_of(&w);
	r.len--;
	assert_int_equal(vmgenid_restore(&other, &r), -EINVAL);
	vmstate_put_u8(&w, 0);
	r = reader_of(&w);
	assert_int_equal(vmgenid_restore(&other, &r), -EINVAL);
	/* Nothing adopted from a rejected section. */
	assert_memory_not_equal(other.id, id, VMGENID_SIZE);
	vmstate_writer_free(&w);
}

/* An address outside guest RAM: -EFAULT, nothing notified, the old ID kept. */
static void test_not_guest_ram(void **state)
{
	struct fixture *f = *state;
	struct vmgenid g;
	uint8_t id[VMGENID_SIZE];

	vmgenid_init(&g, 1 * MIB - 8, &f->irq.line); /* straddles the end */
	assert_int_equal(vmgenid_activate(&g, &f->mem), -EFAULT);
	memcpy(id, g.id, sizeof(id));
	assert_int_equal(vmgenid_new_generation(&g, &f->mem), -EFAULT);
	assert_memory_equal(g.id, id, VMGENID_SIZE);
	assert_int_equal(fake_irq_count(&f->irq), 0);
}

/* A failing interrupt line is reported, after the ID is in place. */
static void test_notify_failure(void **state)
{
	struct fixture *f = *state;

	f->irq.ret = -EIO;
	assert_int_equal(vmgenid_new_generation(&f->g, &f->mem), -EIO);
	f->irq.ret = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_activate_writes_a_random_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_save_restore_new_generation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore_rejects_mismatches, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_guest_ram, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notify_failure, setup, teardown),
	};

	log_set_level(LOG_OFF);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
