// SPDX-License-Identifier: Apache-2.0
/*
 * VMClock: the page a guest reads (struct vmclock_abi, byte for byte as
 * Linux's vmclock-abi.h lays it out), the snapshot section, and Firecracker's
 * post-restore update: seq_count back to even, disruption_marker and
 * vm_generation_counter one up, one edge on the GED's line. A guest's writes
 * to the page do not survive a restore.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "devices/acpi/vmclock.h"
#include "tests/unit/devices/fake_irq.h"
#include "vmm/base/log.h"
#include "vmm/mem/layout.h"

#define ADDR LAYOUT_VMCLOCK_ADDR
#define GSI  8

struct fixture {
	struct guest_mem mem;
	struct fake_irq irq;
	struct vmclock c;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	if (guest_mem_create(&f.mem, 1 * MIB))
		return -1;
	fake_irq_init(&f.irq, GSI);
	vmclock_init(&f.c, ADDR, &f.irq.line);
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

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static const uint8_t *page(struct fixture *f)
{
	const uint8_t *p = guest_mem_translate(&f->mem, ADDR, VMCLOCK_PAGE_SIZE);

	assert_non_null(p);
	return p;
}

static struct vmstate_reader reader_of(const struct vmstate_writer *w)
{
	return (struct vmstate_reader){w->buf, w->len, 0, 0};
}

/* What ptp_vmclock checks at probe, at the offsets of vmclock-abi.h. */
static void test_activate_page_bytes(void **state)
{
	struct fixture *f = *state;
	const uint8_t *p;

	assert_int_equal(vmclock_activate(&f->c, &f->mem), 0);
	p = page(f);
	assert_memory_equal(p, "VCLK", 4);		      /* magic 0x4b4c4356, LE */
	assert_int_equal(le(p + 4, 4), 0x1000);		      /* size */
	assert_int_equal(le(p + 8, 2), 1);		      /* version */
	assert_int_equal(p[10], 0xff);			      /* counter_id: INVALID */
	assert_int_equal(p[11], 0);			      /* time_type */
	assert_int_equal(le(p + 12, 4), 0);		      /* seq_count */
	assert_int_equal(le(p + 16, 8), 0);		      /* disruption_marker */
	assert_int_equal(le(p + 24, 8), (1 << 8) | (1 << 9)); /* VM_GEN_COUNTER, NOTIFICATION */
	assert_int_equal(p[34], 0);			      /* clock_status: UNKNOWN */
	assert_int_equal(le(p + 104, 8), 0);		      /* vm_generation_counter */
	for (size_t i = 112; i < VMCLOCK_PAGE_SIZE; i++)
		assert_int_equal(p[i], 0);
	assert_int_equal(fake_irq_count(&f->irq), 0);
}

static void test_restore_moves_the_markers(void **state)
{
	struct fixture *f = *state;
	struct vmstate_writer w;
	struct vmstate_reader r;
	struct vmclock restored;
	uint8_t *p;

	assert_int_equal(vmclock_activate(&f->c, &f->mem), 0);
	vmstate_writer_init_raw(&w);
	vmclock_save(&f->c, &w);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.len, 8 + 4 + 4 + sizeof(struct vmclock_abi));

	/* The guest scribbles on its page: the VMM's copy wins. */
	p = guest_mem_translate(&f->mem, ADDR, VMCLOCK_PAGE_SIZE);
	memset(p, 0xaa, 112);

	vmclock_init(&restored, ADDR, &f->irq.line);
	r = reader_of(&w);
	assert_int_equal(vmclock_restore(&restored, &r), 0);
	assert_int_equal(vmclock_new_generation(&restored, &f->mem), 0);
	assert_memory_equal(p, "VCLK", 4);
	assert_int_equal(le(p + 12, 4), 2); /* odd during the update, even after */
	assert_int_equal(le(p + 16, 8), 1); /* disruption_marker */
	assert_int_equal(le(p + 104, 8), 1);
	assert_int_equal(le(p + 24, 8), (1 << 8) | (1 << 9));
	assert_memory_equal(p, &restored.abi, sizeof(restored.abi));
	assert_string_equal(fake_irq_history(&f->irq), "10");
	assert_int_equal(f->irq.wrong_gsi, 0);

	/* Snapshot of the clone, restored again: the markers keep counting. */
	vmstate_writer_free(&w);
	vmstate_writer_init_raw(&w);
	vmclock_save(&restored, &w);
	vmclock_init(&f->c, ADDR, &f->irq.line);
	r = reader_of(&w);
	assert_int_equal(vmclock_restore(&f->c, &r), 0);
	assert_int_equal(vmclock_new_generation(&f->c, &f->mem), 0);
	assert_int_equal(le(p + 12, 4), 4);
	assert_int_equal(le(p + 16, 8), 2);
	assert_int_equal(le(p + 104, 8), 2);
	vmstate_writer_free(&w);
}

static void test_restore_rejects_mismatches(void **state)
{
	struct fixture *f = *state;
	struct vmstate_writer w;
	struct vmstate_reader r;
	struct vmclock other;
	struct vmclock_abi bad = f->c.abi;

	vmstate_writer_init_raw(&w);
	vmclock_save(&f->c, &w);
	vmclock_init(&other, ADDR + 0x1000, &f->irq.line);
	r = reader_of(&w);
	assert_int_equal(vmclock_restore(&other, &r), -EINVAL);
	f->irq.line.gsi = GSI + 1;
	vmclock_init(&other, ADDR, &f->irq.line);
	r = reader_of(&w);
	assert_int_equal(vmclock_restore(&other, &r), -EINVAL);
	f->irq.line.gsi = GSI;
	vmstate_writer_free(&w);

	/* A structure that is not a VMClock's, or of another length. */
	vmclock_init(&other, ADDR, &f->irq.line);
	bad.magic = 0;
	vmstate_writer_init_raw(&w);
	vmstate_put_u64(&w, ADDR);
	vmstate_put_u32(&w, GSI);
	vmstate_put_blob(&w, &bad, sizeof(bad));
	r = reader_of(&w);
	assert_int_equal(vmclock_restore(&other, &r), -EINVAL);
	vmstate_writer_free(&w);
	vmstate_writer_init_raw(&w);
	vmstate_put_u64(&w, ADDR);
	vmstate_put_u32(&w, GSI);
	vmstate_put_blob(&w, &f->c.abi, sizeof(f->c.abi) - 8);
	r = reader_of(&w);
	assert_int_equal(vmclock_restore(&other, &r), -EINVAL);
	vmstate_writer_free(&w);
	assert_int_equal(other.abi.magic, VMCLOCK_MAGIC); /* nothing adopted */
}

static void test_not_guest_ram(void **state)
{
	struct fixture *f = *state;
	struct vmclock c;

	vmclock_init(&c, 1 * MIB - 64, &f->irq.line); /* straddles the end */
	assert_int_equal(vmclock_activate(&c, &f->mem), -EFAULT);
	assert_int_equal(vmclock_new_generation(&c, &f->mem), -EFAULT);
	assert_int_equal(c.abi.disruption_marker, 0);
	assert_int_equal(fake_irq_count(&f->irq), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_activate_page_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore_moves_the_markers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore_rejects_mismatches, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_guest_ram, setup, teardown),
	};

	log_set_level(LOG_OFF);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
