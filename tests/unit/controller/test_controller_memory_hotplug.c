// SPDX-License-Identifier: Apache-2.0
/*
 * The controller's memory-hotplug requests against a fake VM: PUT
 * /hotplug/memory with every MemoryHotplugConfig::validate() rule and text of
 * Firecracker 1.16 plus Ember's bound (nothing stored when refused), the
 * pre-/post-boot rules of PUT, PATCH and GET, the running VM's device
 * (PATCH's errors with Firecracker's prefix, GET's status, "Device not
 * found" without one), a snapshot with a region taken, the boot path
 * that forbids a snapshot load, and the configuration in GET /vm/config.
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
#include "vmm/controller/controller_memory_hotplug.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"

#define CFG_ERR "Memory hotplug config error: "

static int starts, snapshots;
static bool has_device;
static int update_ret;
static uint64_t last_requested;

static int fake_start(void *ctx, const struct vm_config *cfg, char *err, size_t errlen)
{
	(void)ctx;
	(void)err;
	(void)errlen;
	has_device = cfg->has_memory_hotplug;
	starts++;
	return 0;
}

static int fake_op(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	(void)err;
	(void)errlen;
	return 0;
}

static int fake_snapshot(void *ctx, const struct vm_config *cfg,
			 const struct snapshot_create_params *p, char *err, size_t errlen)
{
	(void)ctx;
	(void)cfg;
	(void)p;
	(void)err;
	(void)errlen;
	snapshots++;
	return 0;
}

static int fake_update(void *ctx, uint64_t requested_mib, char *err, size_t errlen)
{
	(void)ctx;
	if (!has_device)
		return -ENODEV;
	if (update_ret)
		snprintf(err, errlen,
			 "Failed to create memory hotplug device: Device is not active");
	else
		last_requested = requested_mib;
	return update_ret;
}

static int fake_status(void *ctx, struct memory_hotplug_status *out)
{
	(void)ctx;
	if (!has_device)
		return -ENODEV;
	*out = (struct memory_hotplug_status){2, 1024, 128, 6, last_requested};
	return 0;
}

static const struct vmm_ops fake_ops = {
    .start = fake_start,
    .pause = fake_op,
    .resume = fake_op,
    .create_snapshot = fake_snapshot,
    .memory_hotplug_update = fake_update,
    .memory_hotplug_status = fake_status,
};

static char last_fault[FAULT_MESSAGE_MAX];

static int setup(void **state)
{
	struct controller *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	controller_init(c, "test-vm", &fake_ops, NULL);
	metrics_reset();
	log_set_level(LOG_OFF);
	starts = snapshots = 0;
	has_device = false;
	update_ret = 0;
	last_requested = 0;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	controller_destroy(*state);
	free(*state);
	return 0;
}

static int handle(struct controller *c, struct vmm_request *req)
{
	struct vmm_response resp;

	controller_handle(c, req, &resp);
	snprintf(last_fault, sizeof(last_fault), "%s", resp.fault_message);
	vmm_response_free(&resp);
	return resp.status;
}

static int put(struct controller *c, uint64_t total, uint64_t block, uint64_t slot)
{
	struct vmm_request req = {.type = REQ_PUT_MEMORY_HOTPLUG};

	req.u.memory_hotplug = (struct memory_hotplug_config){
	    .total_size_mib = total, .block_size_mib = block, .slot_size_mib = slot};
	return handle(c, &req);
}

static void expect_refused(struct controller *c, uint64_t total, uint64_t block, uint64_t slot,
			   const char *text)
{
	assert_int_equal(put(c, total, block, slot), 400);
	assert_string_equal(last_fault, text);
	assert_false(c->cfg.has_memory_hotplug);
}

static void test_put_valid(void **state)
{
	struct controller *c = *state;

	assert_int_equal(put(c, 1024, 2, 128), 204);
	assert_true(c->cfg.has_memory_hotplug);
	assert_int_equal(c->cfg.memory_hotplug.total_size_mib, 1024);
	/* A second PUT replaces the first. */
	assert_int_equal(put(c, 2048, 64, 64 * 2), 204);
	assert_int_equal(c->cfg.memory_hotplug.total_size_mib, 2048);
	assert_int_equal(c->cfg.memory_hotplug.block_size_mib, 64);
	assert_int_equal(c->cfg.memory_hotplug.slot_size_mib, 128);
	/* Ember's bound itself is allowed. */
	assert_int_equal(put(c, MEMORY_HOTPLUG_MAX_TOTAL_MIB, 2, 128), 204);
}

static void test_put_rules(void **state)
{
	struct controller *c = *state;

	expect_refused(c, 1024, 1, 128, CFG_ERR "Block size must not be lower than 2 MiB");
	expect_refused(c, 1024, 0, 128, CFG_ERR "Block size must not be lower than 2 MiB");
	expect_refused(c, 1024, 3, 128, CFG_ERR "Block size must be a power of 2");
	expect_refused(c, 1024, 2, 1, CFG_ERR "Slot size must not be lower than 128 MiB");
	expect_refused(c, 1024, 4, 130,
		       CFG_ERR "Slot size must be a multiple of block size (4 MiB)");
	expect_refused(c, 64, 2, 128,
		       CFG_ERR "Total size must not be lower than slot size (128 MiB)");
	expect_refused(c, 1000, 2, 128,
		       CFG_ERR "Total size must be a multiple of slot size (128 MiB)");
	expect_refused(c, MEMORY_HOTPLUG_MAX_TOTAL_MIB + 128, 2, 128,
		       CFG_ERR "Total size must not be greater than 1048576 MiB");
	/* Sizes whose bytes would wrap 64 bits. */
	expect_refused(c, 1ULL << 63, 1ULL << 62, 1ULL << 63,
		       CFG_ERR "Total size must not be greater than 1048576 MiB");
	expect_refused(c, UINT64_MAX, 2, 128,
		       CFG_ERR "Total size must be a multiple of slot size (128 MiB)");
	expect_refused(c, 1024, 1ULL << 63, 128,
		       CFG_ERR
		       "Slot size must be a multiple of block size (9223372036854775808 MiB)");
	/* A refused PUT keeps the previous configuration. */
	assert_int_equal(put(c, 256, 2, 128), 204);
	assert_int_equal(put(c, 256, 3, 128), 400);
	assert_true(c->cfg.has_memory_hotplug);
	assert_int_equal(c->cfg.memory_hotplug.total_size_mib, 256);
}

static int simple(struct controller *c, enum vmm_request_type type)
{
	struct vmm_request req = {.type = type};

	if (type == REQ_PATCH_MEMORY_HOTPLUG)
		req.u.memory_hotplug_requested_mib = 128;
	return handle(c, &req);
}

static void test_pre_boot(void **state)
{
	struct controller *c = *state;

	assert_int_equal(simple(c, REQ_PATCH_MEMORY_HOTPLUG), 400);
	assert_string_equal(
	    last_fault, "The requested operation is not supported before starting the microVM.");
	assert_int_equal(simple(c, REQ_GET_MEMORY_HOTPLUG), 400);
	assert_string_equal(
	    last_fault, "The requested operation is not supported before starting the microVM.");
}

static int start(struct controller *c)
{
	struct vmm_request req = {.type = REQ_PUT_BOOT_SOURCE};

	req.u.boot_source.kernel_image_path = "/dev/null";
	assert_int_equal(handle(c, &req), 204);
	return simple(c, REQ_INSTANCE_START);
}

static void test_post_boot_without_device(void **state)
{
	struct controller *c = *state;

	assert_int_equal(start(c), 204);
	assert_int_equal(starts, 1);
	assert_int_equal(put(c, 1024, 2, 128), 400);
	assert_string_equal(last_fault,
			    "The requested operation is not supported after starting the microVM.");
	assert_false(c->cfg.has_memory_hotplug);
	assert_int_equal(simple(c, REQ_PATCH_MEMORY_HOTPLUG), 400);
	assert_string_equal(last_fault, "Memory hotplug update error: Failed perform action on "
					"device: Device not found");
	assert_int_equal(simple(c, REQ_GET_MEMORY_HOTPLUG), 400);
	assert_string_equal(
	    last_fault, "Internal VMM error: Failed perform action on device: Device not found");
}

static void test_post_boot_with_device(void **state)
{
	struct controller *c = *state;
	struct vmm_request req = {.type = REQ_GET_MEMORY_HOTPLUG};
	struct vmm_response resp;

	assert_int_equal(put(c, 1024, 2, 128), 204);
	assert_int_equal(start(c), 204);
	assert_true(has_device);
	assert_int_equal(simple(c, REQ_PATCH_MEMORY_HOTPLUG), 204);
	assert_int_equal(last_requested, 128);
	controller_handle(c, &req, &resp);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.memory_hotplug.block_size_mib, 2);
	assert_int_equal(resp.memory_hotplug.total_size_mib, 1024);
	assert_int_equal(resp.memory_hotplug.slot_size_mib, 128);
	assert_int_equal(resp.memory_hotplug.plugged_size_mib, 6);
	assert_int_equal(resp.memory_hotplug.requested_size_mib, 128);
	vmm_response_free(&resp);
	update_ret = -EAGAIN;
	assert_int_equal(simple(c, REQ_PATCH_MEMORY_HOTPLUG), 400);
	assert_string_equal(last_fault, "Memory hotplug update error: Failed to create memory "
					"hotplug device: Device is not active");
	/* A snapshot of a VM with the device goes to the VM like any other. */
	req = (struct vmm_request){.type = REQ_PAUSE_VM};
	assert_int_equal(handle(c, &req), 204);
	req = (struct vmm_request){.type = REQ_CREATE_SNAPSHOT};
	req.u.snapshot_create.snapshot_path = "/s";
	req.u.snapshot_create.mem_file_path = "/m";
	assert_int_equal(handle(c, &req), 204);
	assert_int_equal(snapshots, 1);
}

static void test_boot_path(void **state)
{
	struct controller *c = *state;
	struct vmm_request req = {.type = REQ_LOAD_SNAPSHOT};

	/* Firecracker marks the boot path even for a refused PUT. */
	assert_int_equal(put(c, 1024, 3, 128), 400);
	assert_true(c->boot_path);
	req.u.snapshot_load.snapshot_path = "/s";
	req.u.snapshot_load.backend_path = "/m";
	assert_int_equal(handle(c, &req), 400);
	assert_non_null(
	    strstr(last_fault, "not allowed after configuring boot-specific resources"));
}

static void test_vm_config(void **state)
{
	struct controller *c = *state;
	struct vmm_request req = {.type = REQ_GET_VM_CONFIG};
	struct vmm_response resp;

	assert_int_equal(put(c, 512, 4, 256), 204);
	controller_handle(c, &req, &resp);
	assert_int_equal(resp.status, 200);
	assert_true(resp.config.has_memory_hotplug);
	assert_int_equal(resp.config.memory_hotplug.total_size_mib, 512);
	assert_int_equal(resp.config.memory_hotplug.block_size_mib, 4);
	assert_int_equal(resp.config.memory_hotplug.slot_size_mib, 256);
	vmm_response_free(&resp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_put_valid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_put_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pre_boot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_post_boot_without_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_post_boot_with_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_boot_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vm_config, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
