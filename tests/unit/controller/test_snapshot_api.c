// SPDX-License-Identifier: Apache-2.0
/*
 * PUT /snapshot/create and /snapshot/load through the router and parser
 * (Firecracker's bodies, errors and deprecations), and the controller's
 * snapshot rules against a fake VM: create only after boot, Diff only with
 * dirty tracking, only while Paused; load only in a fresh process, its
 * configuration adopted, Paused unless resume_vm.
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

#include "api/api_route.h"
#include "vmm/controller/controller.h"
#include "vmm/controller/controller_snapshot.h"

/* ---- router and parser -------------------------------------------------------- */

static enum api_route_result route(const char *path, const char *body, struct api_call *call,
				   struct api_reply *reply)
{
	return api_route("PUT", path, body, strlen(body), call, reply);
}

static void assert_refused(const char *path, const char *body, const char *message)
{
	struct api_call call;
	struct api_reply reply;
	char want[1024];

	assert_int_equal(route(path, body, &call, &reply), API_ROUTE_REPLY);
	assert_int_equal(reply.status, 400);
	snprintf(want, sizeof(want), "{\"fault_message\":\"%s\"}", message);
	assert_string_equal(reply.body, want);
	api_reply_free(&reply);
	api_call_free(&call);
}

static void test_create_body(void **state)
{
	struct api_call call;
	struct api_reply reply;
	const struct snapshot_create_params *p = &call.req.u.snapshot_create;

	(void)state;
	assert_int_equal(
	    route("/snapshot/create",
		  "{\"snapshot_path\": \"/s/vm.snap\", \"mem_file_path\": \"/s/vm.mem\"}", &call,
		  &reply),
	    API_ROUTE_VMM);
	assert_int_equal(call.req.type, REQ_CREATE_SNAPSHOT);
	assert_string_equal(p->snapshot_path, "/s/vm.snap");
	assert_string_equal(p->mem_file_path, "/s/vm.mem");
	assert_int_equal(p->type, SNAPSHOT_FULL); /* Firecracker's default */
	api_call_free(&call);
	assert_int_equal(route("/snapshot/create",
			       "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"a\", "
			       "\"mem_file_path\": \"b\"}",
			       &call, &reply),
			 API_ROUTE_VMM);
	assert_int_equal(call.req.u.snapshot_create.type, SNAPSHOT_DIFF);
	assert_false(call.info.deprecated);
	api_call_free(&call);
}

static void test_create_errors(void **state)
{
	(void)state;
	assert_refused("/snapshot/create", "{\"snapshot_path\": \"a\"}",
		       "An error occurred when deserializing the json body of a request: missing "
		       "field `mem_file_path` at line 1 column 22.");
	assert_refused("/snapshot/create",
		       "{\"snapshot_type\": \"Incremental\", \"snapshot_path\": \"a\", "
		       "\"mem_file_path\": \"b\"}",
		       "An error occurred when deserializing the json body of a request: unknown "
		       "variant `Incremental`, expected `Diff` or `Full` at line 1 column 31.");
	assert_refused("/snapshot/create",
		       "{\"snapshot_path\": \"a\", \"mem_file_path\": \"b\", \"version\": \"1.0\"}",
		       "An error occurred when deserializing the json body of a request: unknown "
		       "field `version`, expected one of `snapshot_type`, `snapshot_path`, "
		       "`mem_file_path` at line 1 column 54.");
}

static void test_load_body(void **state)
{
	struct api_call call;
	struct api_reply reply;
	const struct snapshot_load_params *p = &call.req.u.snapshot_load;

	(void)state;
	assert_int_equal(
	    route("/snapshot/load",
		  "{\"snapshot_path\": \"vm.snap\", \"mem_backend\": {\"backend_type\": "
		  "\"Uffd\", \"backend_path\": \"/run/uffd.sock\"}, \"resume_vm\": true, "
		  "\"track_dirty_pages\": true, \"network_overrides\": [{\"iface_id\": "
		  "\"eth0\", \"host_dev_name\": \"tap9\"}], \"vsock_override\": "
		  "{\"uds_path\": \"/run/v2.sock\"}, \"clock_realtime\": true}",
		  &call, &reply),
	    API_ROUTE_VMM);
	assert_int_equal(call.req.type, REQ_LOAD_SNAPSHOT);
	assert_string_equal(p->snapshot_path, "vm.snap");
	assert_int_equal(p->backend_type, MEM_BACKEND_UFFD);
	assert_string_equal(p->backend_path, "/run/uffd.sock");
	assert_true(p->resume_vm);
	assert_true(p->track_dirty_pages);
	assert_true(p->clock_realtime);
	assert_int_equal(p->nr_net_overrides, 1);
	assert_string_equal(p->net_overrides[0].iface_id, "eth0");
	assert_string_equal(p->net_overrides[0].host_dev_name, "tap9");
	assert_string_equal(p->vsock_uds_path, "/run/v2.sock");
	assert_false(call.info.deprecated);
	api_call_free(&call);
}

/* mem_file_path and enable_diff_snapshots still work, as deprecated spellings. */
static void test_load_deprecated_fields(void **state)
{
	struct api_call call;
	struct api_reply reply;
	const struct snapshot_load_params *p = &call.req.u.snapshot_load;

	(void)state;
	assert_int_equal(route("/snapshot/load",
			       "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", "
			       "\"enable_diff_snapshots\": true}",
			       &call, &reply),
			 API_ROUTE_VMM);
	assert_int_equal(p->backend_type, MEM_BACKEND_FILE);
	assert_string_equal(p->backend_path, "m");
	assert_true(p->track_dirty_pages);
	assert_false(p->resume_vm);
	assert_true(call.info.deprecated);
	assert_string_equal(
	    call.info.deprecation,
	    "PUT /snapshot/load: mem_file_path and enable_diff_snapshots fields are "
	    "deprecated.");
	api_call_free(&call);
}

static void test_load_errors(void **state)
{
	(void)state;
	assert_refused("/snapshot/load", "{\"snapshot_path\": \"s\"}",
		       "An error occurred when deserializing the json body of a request: missing "
		       "field: either `mem_backend` or `mem_file_path` is required.");
	assert_refused("/snapshot/load",
		       "{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", \"mem_backend\": "
		       "{\"backend_type\": \"File\", \"backend_path\": \"m\"}}",
		       "An error occurred when deserializing the json body of a request: too many "
		       "fields: either `mem_backend` or `mem_file_path` exclusively is required.");
	assert_refused("/snapshot/load",
		       "{\"snapshot_path\": \"s\", \"mem_backend\": {\"backend_path\": \"m\"}}",
		       "An error occurred when deserializing the json body of a request: missing "
		       "field `backend_type` at line 1 column 59.");
	assert_refused("/snapshot/load",
		       "{\"snapshot_path\": \"s\", \"mem_backend\": {\"backend_type\": \"Disk\", "
		       "\"backend_path\": \"m\"}}",
		       "An error occurred when deserializing the json body of a request: unknown "
		       "variant `Disk`, expected `File` or `Uffd` at line 1 column 61.");
	assert_refused("/snapshot/load", "{\"mem_file_path\": \"m\"}",
		       "An error occurred when deserializing the json body of a request: missing "
		       "field `snapshot_path` at line 1 column 22.");
}

/* Issue #8 (6): Firecracker's parse_put_snapshot() answers these itself. */
static void test_unknown_operation(void **state)
{
	(void)state;
	assert_refused("/snapshot/delete", "{\"snapshot_path\": \"s\"}",
		       "Invalid request method and/or path: PUT /snapshot/delete.");
	assert_refused("/snapshot//create", "{}",
		       "Invalid request method and/or path: PUT /snapshot/.");
	assert_refused("/snapshot", "{}", "Missing snapshot operation type.");
	assert_refused("/snapshot/", "{}", "Missing snapshot operation type.");
}

/* ---- controller -------------------------------------------------------------------- */

struct fake_vm {
	unsigned int creates, loads, resumes;
	int fail; /* -errno returned by the next op */
	const char *why;
	struct snapshot_create_params last_create;
};

static int fake_start(void *ctx, const struct vm_config *cfg, char *err, size_t errlen)
{
	(void)ctx;
	(void)cfg;
	(void)err;
	(void)errlen;
	return 0;
}

static int fake_pause(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	(void)err;
	(void)errlen;
	return 0;
}

static int fake_resume(void *ctx, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	((struct fake_vm *)ctx)->resumes++;
	return 0;
}

static int fake_create(void *ctx, const struct vm_config *cfg,
		       const struct snapshot_create_params *p, char *err, size_t errlen)
{
	struct fake_vm *vm = ctx;

	(void)cfg;
	vm->creates++;
	vm->last_create = *p;
	if (vm->fail)
		snprintf(err, errlen, "%s", vm->why);
	return vm->fail;
}

/* What a real load does to the configuration: the snapshot's machine. */
static int fake_load(void *ctx, const struct snapshot_load_params *p, struct vm_config *cfg,
		     char *err, size_t errlen)
{
	struct fake_vm *vm = ctx;

	vm->loads++;
	if (vm->fail) {
		snprintf(err, errlen, "%s", vm->why);
		cfg->machine.vcpu_count = 7; /* a failed load must not leak into the controller */
		return vm->fail;
	}
	cfg->machine.vcpu_count = 2;
	cfg->machine.mem_size_mib = 512;
	cfg->machine.track_dirty_pages = p->track_dirty_pages;
	return 0;
}

static const struct vmm_ops fake_ops = {
    .start = fake_start,
    .pause = fake_pause,
    .resume = fake_resume,
    .create_snapshot = fake_create,
    .load_snapshot = fake_load,
};

static void handle(struct controller *c, struct vmm_request *req, struct vmm_response *resp)
{
	controller_handle(c, req, resp);
	vmm_response_free(resp);
}

static struct vmm_request load_request(bool resume)
{
	struct vmm_request req = {.type = REQ_LOAD_SNAPSHOT};

	req.u.snapshot_load.snapshot_path = "/s/vm.snap";
	req.u.snapshot_load.backend_path = "/s/vm.mem";
	req.u.snapshot_load.resume_vm = resume;
	return req;
}

static void test_create_rules(void **state)
{
	struct fake_vm vm = {0};
	struct controller c;
	struct vmm_response resp;
	struct vmm_request create = {.type = REQ_CREATE_SNAPSHOT},
			   start = {.type = REQ_INSTANCE_START}, pause = {.type = REQ_PAUSE_VM};

	(void)state;
	create.u.snapshot_create = (struct snapshot_create_params){"/s/a", "/s/b", SNAPSHOT_FULL};
	controller_init(&c, "id", &fake_ops, &vm);
	handle(&c, &create, &resp);
	assert_string_equal(
	    resp.fault_message,
	    "The requested operation is not supported before starting the microVM.");
	/* Boot without going through the boot-source checks: the fake starts anything. */
	c.cfg.has_boot_source = true;
	handle(&c, &start, &resp);
	assert_int_equal(resp.status, 204);
	handle(&c, &create, &resp);
	assert_int_equal(resp.status, 400);
	assert_string_equal(resp.fault_message, SAVE_WHILE_RUNNING);
	handle(&c, &pause, &resp);
	create.u.snapshot_create.type = SNAPSHOT_DIFF;
	handle(&c, &create, &resp);
	assert_string_equal(resp.fault_message, DIFF_NOT_ALLOWED);
	assert_int_equal(vm.creates, 0);
	create.u.snapshot_create.type = SNAPSHOT_FULL;
	handle(&c, &create, &resp);
	assert_int_equal(resp.status, 204);
	assert_int_equal(vm.creates, 1);
	assert_string_equal(vm.last_create.snapshot_path, "/s/a");
	/* A failed create: Firecracker's prefix, and the VM stays Paused. */
	vm.fail = -ENOSPC;
	vm.why = "Cannot write memory file: No space left on device (os error 28)";
	handle(&c, &create, &resp);
	assert_string_equal(resp.fault_message, "Create snapshot error: Cannot write memory file: "
						"No space left on device (os error 28)");
	assert_int_equal(c.state, VMM_PAUSED);
	controller_destroy(&c);
}

static void test_load_rules(void **state)
{
	struct fake_vm vm = {0};
	struct controller c;
	struct vmm_response resp;
	struct vmm_request load = load_request(false), again = load_request(false),
			   logger = {.type = REQ_PUT_LOGGER},
			   machine = {.type = REQ_PUT_MACHINE_CONFIG},
			   info = {.type = REQ_GET_MACHINE_CONFIG};

	(void)state;
	/* The logger (and metrics, serial) may be set first... */
	controller_init(&c, "id", &fake_ops, &vm);
	logger.u.logger.level = LOG_INFO;
	handle(&c, &logger, &resp);
	assert_int_equal(resp.status, 204);
	/* ...and a failed load leaves a fresh process, configuration untouched. */
	vm.fail = -ENOENT;
	vm.why = "Failed to get snapshot state from file: Failed to open snapshot file: No such "
		 "file or directory (os error 2)";
	handle(&c, &load, &resp);
	assert_string_equal(
	    resp.fault_message,
	    "Load snapshot error: Failed to restore from snapshot: Failed to get "
	    "snapshot state from file: Failed to open snapshot file: No such file or "
	    "directory (os error 2)");
	assert_int_equal(c.state, VMM_NOT_STARTED);
	assert_int_equal(c.cfg.machine.vcpu_count, 1);
	vm.fail = 0;
	handle(&c, &load, &resp);
	assert_int_equal(resp.status, 204);
	assert_int_equal(c.state, VMM_PAUSED);
	assert_int_equal(vm.resumes, 0);
	/* GET /machine-config reports the snapshot's machine. */
	controller_handle(&c, &info, &resp);
	assert_int_equal(resp.machine.vcpu_count, 2);
	assert_int_equal(resp.machine.mem_size_mib, 512);
	vmm_response_free(&resp);
	/* A second load is post-boot. */
	handle(&c, &again, &resp);
	assert_string_equal(resp.fault_message,
			    "The requested operation is not supported after starting the microVM.");
	controller_destroy(&c);

	/* Any boot-specific configuration first, even refused, forbids the load. */
	controller_init(&c, "id", &fake_ops, &vm);
	machine.u.machine.vcpu_count = 0; /* invalid: refused, but the boot path is taken */
	machine.u.machine.mem_size_mib = 128;
	handle(&c, &machine, &resp);
	assert_int_equal(resp.status, 400);
	handle(&c, &load, &resp);
	assert_string_equal(resp.fault_message, LOAD_NOT_ALLOWED);
	assert_int_equal(vm.loads, 2);
	controller_destroy(&c);
}

static void test_load_and_resume(void **state)
{
	struct fake_vm vm = {0};
	struct controller c;
	struct vmm_response resp;
	struct vmm_request load = load_request(true), get = {.type = REQ_GET_INSTANCE_INFO};

	(void)state;
	controller_init(&c, "id", &fake_ops, &vm);
	load.u.snapshot_load.track_dirty_pages = true;
	handle(&c, &load, &resp);
	assert_int_equal(resp.status, 204);
	assert_int_equal(vm.resumes, 1);
	controller_handle(&c, &get, &resp);
	assert_int_equal(resp.info.state, VMM_RUNNING);
	vmm_response_free(&resp);
	assert_true(c.cfg.machine.track_dirty_pages);
	controller_destroy(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_body),	    cmocka_unit_test(test_create_errors),
	    cmocka_unit_test(test_load_body),	    cmocka_unit_test(test_load_deprecated_fields),
	    cmocka_unit_test(test_load_errors),	    cmocka_unit_test(test_unknown_operation),
	    cmocka_unit_test(test_create_rules),    cmocka_unit_test(test_load_rules),
	    cmocka_unit_test(test_load_and_resume),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
