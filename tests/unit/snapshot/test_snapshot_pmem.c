// SPDX-License-Identifier: Apache-2.0
/*
 * The snapshot's "PMEM" section: the pmem devices' configuration
 * round-trips exactly in order, none is written without pmem devices, and a
 * truncated section, a count of 0 or more devices than the VM may have, or
 * a device without id or path is refused, leaving what was decoded for
 * vm_config_free().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/snapshot/snapshot_pmem.h"
#include "tests/unit/snapshot/section_test.h"

static struct pmem_config sample[2] = {
    {.id = "root", .path_on_host = "/images/root.img", .root_device = true, .read_only = true},
    {.id = "data",
     .path_on_host = "/images/data.img",
     .has_rate_limiter = true,
     .rate_limiter = {.has_bandwidth = true,
		      .bandwidth = {.size = 1 << 20, .one_time_burst = 4096, .refill_time_ms = 100},
		      .has_ops = true,
		      .ops = {.size = 5, .refill_time_ms = 1000}}},
};

/* Encode @cfg into @w (a whole file) and find its PMEM section; false if there is none. */
static bool encode(struct vm_config *cfg, struct vmstate_writer *w, struct vmstate_file *f,
		   struct vmstate_reader *r)
{
	return section_encode(snapshot_pmem_encode, SNAPSHOT_PMEM_TAG, cfg, w, f, r);
}

static void test_round_trip(void **state)
{
	struct vm_config cfg, back;
	struct vmstate_writer w;
	struct vmstate_file f;
	struct vmstate_reader r;

	(void)state;
	vm_config_init(&cfg);
	vm_config_init(&back);
	assert_false(encode(&cfg, &w, &f, &r));
	vmstate_writer_free(&w);
	cfg.pmems = sample;
	cfg.nr_pmems = 2;
	assert_true(encode(&cfg, &w, &f, &r));
	assert_int_equal(snapshot_pmem_decode(&r, &back), 0);
	assert_int_equal(back.nr_pmems, 2);
	assert_string_equal(back.pmems[0].id, "root");
	assert_string_equal(back.pmems[0].path_on_host, "/images/root.img");
	assert_true(back.pmems[0].root_device);
	assert_true(back.pmems[0].read_only);
	assert_false(back.pmems[0].has_rate_limiter);
	assert_string_equal(back.pmems[1].id, "data");
	assert_false(back.pmems[1].root_device);
	assert_false(back.pmems[1].read_only);
	assert_true(back.pmems[1].has_rate_limiter);
	assert_memory_equal(&back.pmems[1].rate_limiter, &sample[1].rate_limiter,
			    sizeof(sample[1].rate_limiter));
	vmstate_writer_free(&w);
	vm_config_free(&back);
}

/* A section whose bytes are @body (a PMEM section written by hand). */
static int decode_raw(void (*body)(struct vmstate_writer *), struct vm_config *back)
{
	struct vmstate_writer w;
	struct vmstate_file f;
	struct vmstate_reader r;
	char err[128];
	int ret;

	vmstate_writer_init(&w);
	vmstate_section_begin(&w, SNAPSHOT_PMEM_TAG, 0);
	body(&w);
	vmstate_section_end(&w);
	assert_int_equal(vmstate_writer_finish(&w), 0);
	assert_int_equal(vmstate_open(&f, w.buf, w.len, err, sizeof(err)), 0);
	assert_true(vmstate_find(&f, SNAPSHOT_PMEM_TAG, 0, &r));
	ret = snapshot_pmem_decode(&r, back);
	vmstate_writer_free(&w);
	return ret;
}

static void zero_devices(struct vmstate_writer *w)
{
	vmstate_put_u32(w, 0);
}

static void too_many(struct vmstate_writer *w)
{
	vmstate_put_u32(w, VMM_MAX_VIRTIO_DEVICES);
}

static void truncated(struct vmstate_writer *w)
{
	vmstate_put_u32(w, 1);
	vmstate_put_str(w, "p");
	vmstate_put_str(w, "/p");
	vmstate_put_bool(w, false);
}

static void no_path(struct vmstate_writer *w)
{
	struct token_bucket_config b = {0};

	vmstate_put_u32(w, 1);
	vmstate_put_str(w, "p");
	vmstate_put_str(w, NULL);
	for (int i = 0; i < 3; i++)
		vmstate_put_bool(w, false);
	vmstate_put_bool(w, false);
	vmstate_put_u64(w, b.size);
	vmstate_put_u64(w, b.one_time_burst);
	vmstate_put_u64(w, b.refill_time_ms);
	vmstate_put_bool(w, false);
	vmstate_put_u64(w, b.size);
	vmstate_put_u64(w, b.one_time_burst);
	vmstate_put_u64(w, b.refill_time_ms);
}

static void test_malformed(void **state)
{
	void (*bodies[])(struct vmstate_writer *) = {zero_devices, truncated, no_path};
	struct vm_config back;

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		vm_config_init(&back);
		assert_int_equal(decode_raw(bodies[i], &back), -EINVAL);
		vm_config_free(&back);
	}
	/* Room for the drives and nets the configuration already has. */
	vm_config_init(&back);
	back.nr_drives = 1;
	assert_int_equal(decode_raw(too_many, &back), -EINVAL);
	back.nr_drives = 0;
	vm_config_free(&back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
