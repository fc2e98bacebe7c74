// SPDX-License-Identifier: Apache-2.0
/*
 * The controller's pmem requests against a fake VM: PUT /pmem/{id} (add in
 * order, replace by id, one root device among pmem devices and drives, with
 * Firecracker 1.16's fault messages, nothing changed by a refused request;
 * post-boot "PCI is not enabled"), PATCH /pmem/{id} (post-boot only, no-op
 * without a rate limiter, unknown id, the VM's update and its failure), and
 * the "pmem" list's deep copy.
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

#define PMEM_ERR "Pmem config error: "

struct fake_vm {
	int starts, pmem_updates, snapshots;
	int fail_with;
	struct pmem_update last; /* strings not owned */
};

static int fake_start(void *ctx, const struct vm_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	(void)err;
	(void)errlen;
	((struct fake_vm *)ctx)->starts++;
	return 0;
}

static int fake_update_pmem(void *ctx, const struct pmem_update *u, char *err, size_t errlen)
{
	struct fake_vm *vm = ctx;
	int ret = vm->fail_with;

	vm->pmem_updates++;
	vm->last = *u;
	if (ret)
		snprintf(err, errlen, "Failed to find the device on the bus.");
	vm->fail_with = 0;
	return ret;
}

static int fake_op(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	(void)err;
	(void)errlen;
	return 0;
}

static int fake_create_snapshot(void *ctx, const struct vm_config *cfg,
				const struct snapshot_create_params *p, char *err, size_t errlen)
{
	((struct fake_vm *)ctx)->snapshots++;
	assert_int_equal(cfg->nr_pmems, 1);
	(void)p;
	(void)err;
	(void)errlen;
	return 0;
}

static const struct vmm_ops fake_ops = {
    .start = fake_start,
    .pause = fake_op,
    .resume = fake_op,
    .create_snapshot = fake_create_snapshot,
    .update_pmem = fake_update_pmem,
};

struct fixture {
	struct controller c;
	struct fake_vm vm;
};

static char last_fault[FAULT_MESSAGE_MAX];

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	controller_init(&f->c, "test-vm", &fake_ops, &f->vm);
	metrics_reset();
	log_set_level(LOG_OFF);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	controller_destroy(&f->c);
	free(f);
	return 0;
}

static int handle(struct fixture *f, struct vmm_request *req)
{
	struct vmm_response resp;

	controller_handle(&f->c, req, &resp);
	snprintf(last_fault, sizeof(last_fault), "%s", resp.fault_message);
	vmm_response_free(&resp);
	return resp.status;
}

static int put_pmem(struct fixture *f, const char *id, const char *path, bool root, bool ro)
{
	struct vmm_request req = {.type = REQ_PUT_PMEM};

	req.u.pmem = (struct pmem_config){
	    .id = (char *)id, .path_on_host = (char *)path, .root_device = root, .read_only = ro};
	return handle(f, &req);
}

static int put_drive(struct fixture *f, const char *id, bool root)
{
	struct vmm_request req = {.type = REQ_PUT_DRIVE};

	req.u.drive.drive_id = (char *)id;
	req.u.drive.path_on_host = "/dev/null";
	req.u.drive.is_root_device = root;
	return handle(f, &req);
}

static int patch_pmem(struct fixture *f, const char *id, bool limiter)
{
	struct vmm_request req = {.type = REQ_PATCH_PMEM};

	req.u.pmem_update.id = (char *)id;
	req.u.pmem_update.has_rate_limiter = limiter;
	req.u.pmem_update.rate_limiter.has_ops = limiter;
	req.u.pmem_update.rate_limiter.ops.size = 9;
	req.u.pmem_update.rate_limiter.ops.refill_time_ms = 1000;
	return handle(f, &req);
}

static void start_vm(struct fixture *f)
{
	struct vmm_request req = {.type = REQ_PUT_BOOT_SOURCE};

	req.u.boot_source.kernel_image_path = "/proc/self/exe";
	assert_int_equal(handle(f, &req), 204);
	req = (struct vmm_request){.type = REQ_INSTANCE_START};
	assert_int_equal(handle(f, &req), 204);
	assert_int_equal(f->vm.starts, 1);
}

static void test_put_order_and_replace(void **state)
{
	struct fixture *f = *state;

	/* The file is not looked at before InstanceStart, as in Firecracker. */
	assert_int_equal(put_pmem(f, "a", "/nonexistent", false, false), 204);
	assert_int_equal(put_pmem(f, "b", "/b", false, true), 204);
	assert_int_equal(put_pmem(f, "a", "/a2", true, false), 204);
	assert_int_equal(f->c.cfg.nr_pmems, 2);
	assert_string_equal(f->c.cfg.pmems[0].id, "a");
	assert_string_equal(f->c.cfg.pmems[0].path_on_host, "/a2");
	assert_true(f->c.cfg.pmems[0].root_device);
	assert_string_equal(f->c.cfg.pmems[1].id, "b");
	assert_true(f->c.cfg.pmems[1].read_only);
	assert_true(f->c.boot_path);
}

static void test_root_rules(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(put_pmem(f, "a", "/a", true, false), 204);
	/* A second root pmem device. */
	assert_int_equal(put_pmem(f, "b", "/b", true, false), 400);
	assert_string_equal(last_fault, PMEM_ERR "A root pmem device already exist");
	assert_int_equal(f->c.cfg.nr_pmems, 1);
	/* The root device replaced by itself is fine, made non-root too. */
	assert_int_equal(put_pmem(f, "a", "/a", true, true), 204);
	/* A root drive while a pmem device is root. */
	assert_int_equal(put_drive(f, "rootfs", true), 400);
	assert_string_equal(last_fault, "Drive config error: Attempt to add block as a root device "
					"while the root device defined as a pmem device");
	assert_int_equal(f->c.cfg.nr_drives, 0);
	assert_int_equal(put_drive(f, "data", false), 204);
	assert_int_equal(put_pmem(f, "a", "/a", false, false), 204);
	/* Now a root drive, and a root pmem device is refused. */
	assert_int_equal(put_drive(f, "rootfs", true), 204);
	assert_int_equal(put_pmem(f, "a", "/a", true, false), 400);
	assert_string_equal(last_fault, PMEM_ERR "Attempt to add pmem as a root device while the "
						 "root device defined as a block device");
	assert_false(f->c.cfg.pmems[0].root_device);
	assert_int_equal(put_pmem(f, "c", "/c", true, false), 400);
	assert_int_equal(f->c.cfg.nr_pmems, 1);
}

static void test_pre_and_post_boot(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(patch_pmem(f, "a", true), 400);
	assert_string_equal(
	    last_fault, "The requested operation is not supported before starting the microVM.");
	assert_int_equal(put_pmem(f, "a", "/a", false, false), 204);
	start_vm(f);
	/* Firecracker 1.16 hot-plugs after boot, on PCI only. */
	assert_int_equal(put_pmem(f, "b", "/b", false, false), 400);
	assert_string_equal(last_fault, "PCI is not enabled");
	assert_int_equal(f->c.cfg.nr_pmems, 1);
}

static void test_patch(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(put_pmem(f, "a", "/a", false, false), 204);
	start_vm(f);
	/* No rate limiter: nothing to do, whatever the id. */
	assert_int_equal(patch_pmem(f, "zzz", false), 204);
	assert_int_equal(f->vm.pmem_updates, 0);
	assert_int_equal(patch_pmem(f, "zzz", true), 400);
	assert_string_equal(last_fault, PMEM_ERR
			    "Unable to patch the pmem device: Failed perform action on "
			    "device: Device not found Please verify the request arguments.");
	assert_int_equal(f->vm.pmem_updates, 0);
	assert_int_equal(patch_pmem(f, "a", true), 204);
	assert_int_equal(f->vm.pmem_updates, 1);
	assert_string_equal(f->vm.last.id, "a");
	assert_true(f->c.cfg.pmems[0].has_rate_limiter);
	assert_int_equal(f->c.cfg.pmems[0].rate_limiter.ops.size, 9);
	/* The VM refuses: the configuration keeps what it had. */
	f->c.cfg.pmems[0].rate_limiter.ops.size = 1;
	f->vm.fail_with = -ENODEV;
	assert_int_equal(patch_pmem(f, "a", true), 400);
	assert_string_equal(last_fault, PMEM_ERR "Unable to patch the pmem device: Failed to find "
						 "the device on the bus. Please verify the "
						 "request arguments.");
	assert_int_equal(f->c.cfg.pmems[0].rate_limiter.ops.size, 1);
}

/* A paused VM with pmem devices is snapshotted like any other (the VM saves them). */
static void test_snapshot(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_PAUSE_VM};

	assert_int_equal(put_pmem(f, "a", "/a", false, false), 204);
	start_vm(f);
	assert_int_equal(handle(f, &req), 204);
	req = (struct vmm_request){.type = REQ_CREATE_SNAPSHOT};
	req.u.snapshot_create.snapshot_path = "/tmp/s";
	req.u.snapshot_create.mem_file_path = "/tmp/m";
	assert_int_equal(handle(f, &req), 204);
	assert_int_equal(f->vm.snapshots, 1);
}

static void test_copy(void **state)
{
	struct fixture *f = *state;
	struct vm_config copy;

	assert_int_equal(put_pmem(f, "a", "/a", true, true), 204);
	assert_int_equal(put_pmem(f, "b", "/b", false, false), 204);
	assert_int_equal(vm_config_copy(&copy, &f->c.cfg), 0);
	assert_int_equal(copy.nr_pmems, 2);
	assert_ptr_not_equal(copy.pmems, f->c.cfg.pmems);
	assert_ptr_not_equal(copy.pmems[0].id, f->c.cfg.pmems[0].id);
	assert_string_equal(copy.pmems[1].path_on_host, "/b");
	assert_true(copy.pmems[0].read_only);
	vm_config_free(&copy);
	assert_int_equal(copy.nr_pmems, 0);
	assert_null(copy.pmems);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_put_order_and_replace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_root_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pre_and_post_boot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_patch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
