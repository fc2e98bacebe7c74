// SPDX-License-Identifier: Apache-2.0
/*
 * The controller's balloon requests with Firecracker's rules and exact
 * texts: PUT before boot only (target within guest memory), GET before and
 * after boot, the runtime requests refused before boot, the machine's memory
 * never below the balloon's target, and after boot the device's answers
 * (here a real virtio-balloon on real guest memory behind the fake VM's
 * balloon ops, without a driver unless a test brings it up).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/controller/controller.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "devices/virtio/balloon.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtq_driver.h"

struct fake_vm {
	struct guest_mem mem;
	struct balloon_dev *b; /* built at start from the configuration */
};

static int fake_start(void *ctx, const struct vm_config *cfg, char *err, size_t errlen)
{
	struct fake_vm *vm = ctx;

	(void)err;
	(void)errlen;
	assert_int_equal(guest_mem_create(&vm->mem, cfg->machine.mem_size_mib * MIB), 0);
	if (cfg->has_balloon)
		assert_int_equal(
		    balloon_create(&vm->b, &cfg->balloon, &vm->mem, LAYOUT_VIRTIO_START, 5), 0);
	return 0;
}

static int fake_update(void *ctx, uint32_t amount_mib, char *err, size_t errlen)
{
	struct fake_vm *vm = ctx;

	return vm->b ? balloon_set_target(vm->b, amount_mib, err, errlen) : -ENODEV;
}

static int fake_update_stats(void *ctx, uint16_t interval_s, char *err, size_t errlen)
{
	struct fake_vm *vm = ctx;

	return vm->b ? balloon_set_stats_interval(vm->b, interval_s, err, errlen) : -ENODEV;
}

static int fake_stats(void *ctx, struct balloon_stats *out, char *err, size_t errlen)
{
	struct fake_vm *vm = ctx;

	return vm->b ? balloon_get_stats(vm->b, out, err, errlen) : -ENODEV;
}

static int fake_hinting(void *ctx, enum balloon_hinting_op op, bool ack, char *err, size_t errlen)
{
	struct fake_vm *vm = ctx;

	return vm->b ? balloon_hinting(vm->b, op, ack, err, errlen) : -ENODEV;
}

static int fake_hinting_status(void *ctx, struct balloon_hinting_status *out, char *err,
			       size_t errlen)
{
	struct fake_vm *vm = ctx;

	return vm->b ? balloon_hinting_status(vm->b, out, err, errlen) : -ENODEV;
}

static const struct vmm_ops fake_ops = {
    .start = fake_start,
    .balloon_update = fake_update,
    .balloon_update_stats = fake_update_stats,
    .balloon_stats = fake_stats,
    .balloon_hinting = fake_hinting,
    .balloon_hinting_status = fake_hinting_status,
};

struct fixture {
	struct controller c;
	struct fake_vm vm;
	struct vmm_response resp;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	controller_init(&f->c, "test-vm", &fake_ops, &f->vm);
	f->c.cfg.has_boot_source = true; /* the fake start needs no kernel */
	log_set_level(LOG_OFF);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	balloon_destroy(f->vm.b);
	guest_mem_destroy(&f->vm.mem);
	controller_destroy(&f->c);
	vmm_response_free(&f->resp);
	free(f);
	return 0;
}

static void handle(struct fixture *f, const struct vmm_request *req)
{
	vmm_response_free(&f->resp);
	controller_handle(&f->c, req, &f->resp);
}

static void expect_ok(struct fixture *f, const struct vmm_request *req, int status)
{
	handle(f, req);
	assert_int_equal(f->resp.status, status);
}

static void expect_fail(struct fixture *f, const struct vmm_request *req, const char *message)
{
	handle(f, req);
	assert_int_equal(f->resp.status, 400);
	assert_string_equal(f->resp.fault_message, message);
}

static struct vmm_request put(uint32_t mib, uint16_t stats, bool hinting)
{
	return (struct vmm_request){.type = REQ_PUT_BALLOON,
				    .u.balloon = {.amount_mib = mib,
						  .deflate_on_oom = true,
						  .stats_polling_interval_s = stats,
						  .free_page_hinting = hinting}};
}

static void start(struct fixture *f)
{
	struct vmm_request req = {.type = REQ_INSTANCE_START};

	expect_ok(f, &req, 204);
}

static void test_pre_boot(void **state)
{
	struct fixture *f = *state;
	struct vmm_request get = {.type = REQ_GET_BALLOON}, req;
	struct vmm_request machine = {.type = REQ_PUT_MACHINE_CONFIG};
	static const enum vmm_request_type runtime[] = {
	    REQ_PATCH_BALLOON,	       REQ_PATCH_BALLOON_STATS,	 REQ_GET_BALLOON_STATS,
	    REQ_BALLOON_HINTING_START, REQ_BALLOON_HINTING_STOP, REQ_GET_BALLOON_HINTING};

	expect_fail(f, &get, "Balloon config error: No balloon device found.");
	req = put(129, 0, false); /* the default machine has 128 MiB */
	expect_fail(f, &req, "Balloon config error: Amount of pages requested is too large.");
	assert_false(f->c.cfg.has_balloon);
	req = put(128, 3, false);
	expect_ok(f, &req, 204);
	expect_ok(f, &get, 200);
	assert_int_equal(f->resp.balloon.amount_mib, 128);
	assert_int_equal(f->resp.balloon.stats_polling_interval_s, 3);
	assert_true(f->resp.balloon.deflate_on_oom);
	/* A PUT replaces the configuration. */
	req = put(16, 0, true);
	expect_ok(f, &req, 204);
	expect_ok(f, &get, 200);
	assert_int_equal(f->resp.balloon.amount_mib, 16);
	assert_true(f->resp.balloon.free_page_hinting);
	/* The machine cannot shrink below the balloon's target. */
	machine.u.machine = f->c.cfg.machine;
	machine.u.machine.cpu_template = NULL;
	machine.u.machine.mem_size_mib = 15;
	expect_fail(f, &machine,
		    "Machine config error: The memory size (MiB) is smaller than the previously "
		    "set balloon device target size.");
	assert_int_equal(f->c.cfg.machine.mem_size_mib, 128);
	machine.u.machine.mem_size_mib = 16;
	expect_ok(f, &machine, 204);
	for (size_t i = 0; i < sizeof(runtime) / sizeof(runtime[0]); i++) {
		req = (struct vmm_request){.type = runtime[i]};
		expect_fail(
		    f, &req,
		    "The requested operation is not supported before starting the microVM.");
	}
	/* PUT /balloon is a boot resource: no snapshot load afterwards. */
	assert_true(f->c.boot_path);
}

static void test_post_boot_without_balloon(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_GET_BALLOON};

	start(f);
	expect_fail(f, &req,
		    "Internal VMM error: Failed perform action on device: Device not found");
	req = (struct vmm_request){.type = REQ_GET_BALLOON_STATS};
	expect_fail(f, &req,
		    "Internal VMM error: Failed perform action on device: Device not found");
	req = (struct vmm_request){.type = REQ_PATCH_BALLOON, .u.balloon_amount_mib = 1};
	expect_fail(f, &req,
		    "Balloon update error: Failed perform action on device: Device not found");
	req = (struct vmm_request){.type = REQ_PATCH_BALLOON_STATS};
	expect_fail(f, &req,
		    "Balloon update error: Failed perform action on device: Device not found");
	req = (struct vmm_request){.type = REQ_GET_BALLOON_HINTING};
	expect_fail(f, &req,
		    "Balloon update error: Failed perform action on device: Device not found");
	req = put(1, 0, false);
	expect_fail(f, &req,
		    "The requested operation is not supported after starting the microVM.");
}

static void test_post_boot(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = put(4, 0, false), get = {.type = REQ_GET_BALLOON};

	expect_ok(f, &req, 204);
	start(f);
	expect_ok(f, &get, 200);
	assert_int_equal(f->resp.balloon.amount_mib, 4);
	req = (struct vmm_request){.type = REQ_GET_BALLOON_STATS};
	expect_fail(f, &req,
		    "Internal VMM error: Balloon: Received stats query when stats are disabled.");
	req =
	    (struct vmm_request){.type = REQ_PATCH_BALLOON_STATS, .u.balloon_stats_interval_s = 1};
	expect_fail(f, &req,
		    "Balloon update error: Balloon: Statistics cannot be enabled/disabled after "
		    "activation.");
	req = (struct vmm_request){.type = REQ_PATCH_BALLOON, .u.balloon_amount_mib = 8};
	expect_fail(f, &req, "Balloon update error: Balloon: Device not activated yet.");
	req = (struct vmm_request){.type = REQ_BALLOON_HINTING_START};
	expect_fail(f, &req,
		    "Balloon update error: Balloon: Attempting to use hinting when not enabled");
	req = (struct vmm_request){.type = REQ_GET_BALLOON_HINTING};
	expect_fail(f, &req,
		    "Balloon update error: Balloon: Attempting to use hinting when not enabled");
	expect_ok(f, &get, 200);
	assert_int_equal(f->resp.balloon.amount_mib, 4); /* nothing changed */
}

/* With the driver up, a PATCH moves the target, and GET /balloon and /vm/config follow. */
static void test_post_boot_driver(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = put(4, 2, false), get = {.type = REQ_GET_BALLOON};
	struct virtio_mmio_dev *dev;
	struct virtq_driver drv;

	expect_ok(f, &req, 204);
	start(f);
	dev = balloon_mmio(f->vm.b);
	assert_true(virtio_mmio_driver_negotiate(dev, VIRTIO_COMMON_FEATURES) &
		    VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int q = 0; q < 3; q++) {
		assert_int_equal(virtq_driver_init(&drv, &f->vm.mem, 0x10000 + q * 0x2000, 16), 0);
		assert_int_equal(virtio_mmio_driver_setup_queue(dev, q, &drv), 1);
	}
	assert_true(virtio_mmio_driver_ok(dev) & VIRTIO_CONFIG_S_DRIVER_OK);
	req = (struct vmm_request){.type = REQ_PATCH_BALLOON, .u.balloon_amount_mib = 129};
	expect_fail(f, &req,
		    "Balloon update error: Balloon: Requested memory should be less than "
		    "129MiB");
	req.u.balloon_amount_mib = 100;
	expect_ok(f, &req, 204);
	expect_ok(f, &get, 200);
	assert_int_equal(f->resp.balloon.amount_mib, 100);
	req =
	    (struct vmm_request){.type = REQ_PATCH_BALLOON_STATS, .u.balloon_stats_interval_s = 9};
	expect_ok(f, &req, 204);
	req = (struct vmm_request){.type = REQ_GET_BALLOON_STATS};
	expect_ok(f, &req, 200);
	assert_int_equal(f->resp.balloon_stats.target_pages, 100 * 256);
	assert_int_equal(f->resp.balloon_stats.target_mib, 100);
	req = (struct vmm_request){.type = REQ_GET_VM_CONFIG};
	expect_ok(f, &req, 200);
	assert_true(f->resp.config.has_balloon);
	assert_int_equal(f->resp.config.balloon.amount_mib, 100);
	assert_int_equal(f->resp.config.balloon.stats_polling_interval_s, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pre_boot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_post_boot_without_balloon, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_post_boot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_post_boot_driver, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
