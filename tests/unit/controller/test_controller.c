// SPDX-License-Identifier: Apache-2.0
/*
 * The controller state machine against a fake VM (struct vmm_ops that counts
 * calls and can be told to fail): Firecracker's pre-/post-boot rules, its
 * fault messages, "a refused request changes nothing", the GET payloads, and
 * the vm_config copy/free helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/controller/controller.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"

struct fake_vm {
	int starts, pauses, resumes, ctrl_alt_dels;
	int fail_with;		/* -errno returned by the next op, 0 to succeed */
	const char *fail_text;	/* written to the op's error buffer on failure */
	uint32_t started_vcpus; /* what start() was given */
	char started_kernel[256];
};

static int fake_result(struct fake_vm *vm, char *err, size_t errlen)
{
	int ret = vm->fail_with;

	if (ret && vm->fail_text)
		snprintf(err, errlen, "%s", vm->fail_text);
	vm->fail_with = 0;
	return ret;
}

static int fake_start(void *ctx, const struct vm_config *cfg, char *err, size_t errlen)
{
	struct fake_vm *vm = ctx;

	vm->starts++;
	vm->started_vcpus = cfg->machine.vcpu_count;
	snprintf(vm->started_kernel, sizeof(vm->started_kernel), "%s",
		 cfg->boot_source.kernel_image_path);
	return fake_result(vm, err, errlen);
}

static int fake_pause(void *ctx, char *err, size_t errlen)
{
	((struct fake_vm *)ctx)->pauses++;
	return fake_result(ctx, err, errlen);
}

static int fake_resume(void *ctx, char *err, size_t errlen)
{
	((struct fake_vm *)ctx)->resumes++;
	return fake_result(ctx, err, errlen);
}

static int fake_ctrl_alt_del(void *ctx, char *err, size_t errlen)
{
	((struct fake_vm *)ctx)->ctrl_alt_dels++;
	return fake_result(ctx, err, errlen);
}

static const struct vmm_ops fake_ops = {
    .start = fake_start,
    .pause = fake_pause,
    .resume = fake_resume,
    .send_ctrl_alt_del = fake_ctrl_alt_del,
};

struct fixture {
	struct controller c;
	struct fake_vm vm;
	char dir[64];	  /* scratch directory */
	char kernel[128]; /* an existing, readable file */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ember-ctl.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->kernel, sizeof(f->kernel), "%s/vmlinux", f->dir);
	fd = open(f->kernel, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	controller_init(&f->c, "test-vm", &fake_ops, &f->vm);
	metrics_close();
	metrics_reset();
	log_reset();
	log_set_level(LOG_OFF);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	controller_destroy(&f->c);
	metrics_close();
	log_reset();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Run @req and return the status; the response is freed, its message kept. */
static char last_fault[FAULT_MESSAGE_MAX];

static int handle(struct fixture *f, struct vmm_request *req)
{
	struct vmm_response resp;

	controller_handle(&f->c, req, &resp);
	snprintf(last_fault, sizeof(last_fault), "%s", resp.fault_message);
	vmm_response_free(&resp);
	return resp.status;
}

static int simple(struct fixture *f, enum vmm_request_type type)
{
	struct vmm_request req = {.type = type};

	return handle(f, &req);
}

static int put_machine(struct fixture *f, uint32_t vcpus, uint64_t mem, bool smt,
		       const char *cpu_template)
{
	struct vmm_request req = {.type = REQ_PUT_MACHINE_CONFIG};

	req.u.machine.vcpu_count = vcpus;
	req.u.machine.mem_size_mib = mem;
	req.u.machine.smt = smt;
	req.u.machine.cpu_template = (char *)cpu_template;
	return handle(f, &req);
}

static int put_boot(struct fixture *f, const char *kernel, const char *initrd, const char *args)
{
	struct vmm_request req = {.type = REQ_PUT_BOOT_SOURCE};

	req.u.boot_source.kernel_image_path = (char *)kernel;
	req.u.boot_source.initrd_path = (char *)initrd;
	req.u.boot_source.boot_args = (char *)args;
	return handle(f, &req);
}

static void get_config(struct fixture *f, struct vm_config *out)
{
	struct vmm_request req = {.type = REQ_GET_VM_CONFIG};
	struct vmm_response resp;

	controller_handle(&f->c, &req, &resp);
	assert_int_equal(resp.status, 200);
	assert_int_equal(vm_config_copy(out, &resp.config), 0);
	vmm_response_free(&resp);
}

static void boot(struct fixture *f)
{
	assert_int_equal(put_boot(f, f->kernel, NULL, NULL), 204);
	assert_int_equal(simple(f, REQ_INSTANCE_START), 204);
}

#define PRE_BOOT_MSG  "The requested operation is not supported before starting the microVM."
#define POST_BOOT_MSG "The requested operation is not supported after starting the microVM."
#define VCPU_MSG                                                                                   \
	"Machine config error: The number of vCPUs must be greater than 0, less than 32 and "      \
	"must be 1 or an even number if SMT is enabled."
#define MEM_MSG                                                                                    \
	"Machine config error: The memory size (MiB) is either 0, or not a multiple of the "       \
	"configured page size."

/* ---- GET payloads ---- */

static void test_initial_state(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_GET_INSTANCE_INFO};
	struct vmm_response resp;

	controller_handle(&f->c, &req, &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.info.id, "test-vm");
	assert_int_equal(resp.info.state, VMM_NOT_STARTED);
	vmm_response_free(&resp);

	req.type = REQ_GET_MACHINE_CONFIG;
	controller_handle(&f->c, &req, &resp);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.machine.vcpu_count, 1);
	assert_int_equal(resp.machine.mem_size_mib, 128);
	assert_false(resp.machine.smt);
	assert_false(resp.machine.track_dirty_pages);
	assert_int_equal(resp.machine.huge_pages, HUGE_PAGES_NONE);
	assert_null(resp.machine.cpu_template);
	vmm_response_free(&resp);

	req.type = REQ_GET_VM_CONFIG;
	controller_handle(&f->c, &req, &resp);
	assert_int_equal(resp.status, 200);
	assert_false(resp.config.has_boot_source);
	assert_false(resp.config.has_logger);
	assert_false(resp.config.has_metrics);
	assert_false(resp.config.has_serial);
	assert_int_equal(resp.config.machine.vcpu_count, 1);
	vmm_response_free(&resp);
	assert_string_equal(vmm_state_name(VMM_NOT_STARTED), "Not started");
	assert_string_equal(vmm_state_name(VMM_RUNNING), "Running");
	assert_string_equal(vmm_state_name(VMM_PAUSED), "Paused");
}

/* ---- pre-boot / post-boot rules ---- */

static void test_post_boot_requests_refused_before_boot(void **state)
{
	static const enum vmm_request_type types[] = {REQ_PAUSE_VM, REQ_RESUME_VM,
						      REQ_FLUSH_METRICS, REQ_SEND_CTRL_ALT_DEL};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_int_equal(simple(f, types[i]), 400);
		assert_string_equal(last_fault, PRE_BOOT_MSG);
	}
	assert_int_equal(f->vm.pauses + f->vm.resumes + f->vm.ctrl_alt_dels, 0);
}

static void test_pre_boot_requests_refused_after_boot(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {0};
	struct vm_config cfg;

	boot(f);
	assert_int_equal(put_machine(f, 2, 256, false, NULL), 400);
	assert_string_equal(last_fault, POST_BOOT_MSG);
	assert_int_equal(put_boot(f, f->kernel, NULL, "x"), 400);
	assert_string_equal(last_fault, POST_BOOT_MSG);
	req.type = REQ_PATCH_MACHINE_CONFIG;
	req.u.machine_patch.has_vcpu_count = true;
	req.u.machine_patch.mc.vcpu_count = 2;
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(last_fault, POST_BOOT_MSG);
	memset(&req, 0, sizeof(req));
	req.type = REQ_PUT_LOGGER;
	assert_int_equal(handle(f, &req), 400);
	req.type = REQ_PUT_METRICS;
	req.u.metrics.metrics_path = f->kernel;
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(last_fault, POST_BOOT_MSG);
	memset(&req, 0, sizeof(req));
	req.type = REQ_PUT_SERIAL;
	assert_int_equal(handle(f, &req), 400);
	assert_int_equal(simple(f, REQ_INSTANCE_START), 400);
	assert_string_equal(last_fault, POST_BOOT_MSG);
	assert_int_equal(f->vm.starts, 1);

	/* Nothing of it reached the configuration; GETs still work. */
	get_config(f, &cfg);
	assert_int_equal(cfg.machine.vcpu_count, 1);
	assert_null(cfg.boot_source.boot_args);
	assert_false(cfg.has_logger);
	assert_false(cfg.has_metrics);
	assert_false(cfg.has_serial);
	vm_config_free(&cfg);
	assert_int_equal(simple(f, REQ_GET_MACHINE_CONFIG), 200);
	assert_int_equal(simple(f, REQ_GET_INSTANCE_INFO), 200);
}

/* DELETE (hot-unplug, issue #8 5): refused before boot, and after it as Firecracker without PCI. */
static void test_hot_unplug(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_HOT_UNPLUG};
	struct vm_config cfg;

	req.u.unplug.device = UNPLUG_BLOCK;
	req.u.unplug.id = "rootfs";
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(last_fault, PRE_BOOT_MSG);
	boot(f);
	req.u.unplug.device = UNPLUG_NET;
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(last_fault, "PCI is not enabled");
	assert_int_equal(simple(f, REQ_PAUSE_VM), 204);
	req.u.unplug.device = UNPLUG_PMEM;
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(last_fault, "PCI is not enabled");
	get_config(f, &cfg);
	assert_int_equal(cfg.nr_drives, 0);
	vm_config_free(&cfg);
}

/* ---- machine configuration ---- */

static void test_put_machine_config(void **state)
{
	struct fixture *f = *state;
	struct vm_config cfg;

	assert_int_equal(put_machine(f, 4, 512, true, "T2"), 204);
	get_config(f, &cfg);
	assert_int_equal(cfg.machine.vcpu_count, 4);
	assert_int_equal(cfg.machine.mem_size_mib, 512);
	assert_true(cfg.machine.smt);
	assert_string_equal(cfg.machine.cpu_template, "T2");
	vm_config_free(&cfg);

	/*
	 * PUT replaces the whole machine config: unspecified fields go back to
	 * defaults, except the CPU template, which stays unless "None" is named
	 * (Firecracker's MachineConfigUpdate::from(MachineConfig)).
	 */
	assert_int_equal(put_machine(f, 1, 128, false, NULL), 204);
	get_config(f, &cfg);
	assert_int_equal(cfg.machine.vcpu_count, 1);
	assert_false(cfg.machine.smt);
	assert_string_equal(cfg.machine.cpu_template, "T2");
	vm_config_free(&cfg);
	assert_int_equal(put_machine(f, 1, 128, false, "None"), 204);
	get_config(f, &cfg);
	assert_null(cfg.machine.cpu_template);
	vm_config_free(&cfg);
}

static void test_machine_config_ranges(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_PUT_MACHINE_CONFIG};
	struct vm_config cfg;

	assert_int_equal(put_machine(f, 2, 256, true, "C3"), 204);
	assert_int_equal(put_machine(f, 0, 256, false, NULL), 400);
	assert_string_equal(last_fault, VCPU_MSG);
	assert_int_equal(put_machine(f, 33, 256, false, NULL), 400);
	assert_string_equal(last_fault, VCPU_MSG);
	assert_int_equal(put_machine(f, 3, 256, true, NULL), 400);
	assert_string_equal(last_fault, VCPU_MSG);
	assert_int_equal(put_machine(f, 4, 0, false, NULL), 400);
	assert_string_equal(last_fault, MEM_MSG);
	req.u.machine.vcpu_count = 1;
	req.u.machine.mem_size_mib = 129;
	req.u.machine.huge_pages = HUGE_PAGES_2M;
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(last_fault, MEM_MSG);

	/* Every refusal left the accepted config alone. */
	get_config(f, &cfg);
	assert_int_equal(cfg.machine.vcpu_count, 2);
	assert_int_equal(cfg.machine.mem_size_mib, 256);
	assert_true(cfg.machine.smt);
	assert_string_equal(cfg.machine.cpu_template, "C3");
	assert_int_equal(cfg.machine.huge_pages, HUGE_PAGES_NONE);
	vm_config_free(&cfg);

	/* Edge values that are fine. */
	assert_int_equal(put_machine(f, 32, 1, false, NULL), 204);
	assert_int_equal(put_machine(f, 1, 1, true, NULL), 204);
	req.u.machine.mem_size_mib = 130;
	assert_int_equal(handle(f, &req), 204);
}

static void test_patch_machine_config(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_PATCH_MACHINE_CONFIG};
	struct vm_config cfg;

	assert_int_equal(put_machine(f, 3, 256, false, "T2S"), 204);
	req.u.machine_patch.has_mem_size_mib = true;
	req.u.machine_patch.mc.mem_size_mib = 1024;
	req.u.machine_patch.has_track_dirty_pages = true;
	req.u.machine_patch.mc.track_dirty_pages = true;
	assert_int_equal(handle(f, &req), 204);
	get_config(f, &cfg);
	assert_int_equal(cfg.machine.vcpu_count, 3);
	assert_int_equal(cfg.machine.mem_size_mib, 1024);
	assert_true(cfg.machine.track_dirty_pages);
	assert_string_equal(cfg.machine.cpu_template, "T2S");
	vm_config_free(&cfg);

	/* smt on with an odd vCPU count is judged on the combined result, and refused. */
	memset(&req.u, 0, sizeof(req.u));
	req.u.machine_patch.has_smt = true;
	req.u.machine_patch.mc.smt = true;
	req.u.machine_patch.has_mem_size_mib = true;
	req.u.machine_patch.mc.mem_size_mib = 64;
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(last_fault, VCPU_MSG);
	get_config(f, &cfg);
	assert_false(cfg.machine.smt);
	assert_int_equal(cfg.machine.mem_size_mib, 1024);
	vm_config_free(&cfg);

	/* cpu_template "None" (NULL) clears the template. */
	memset(&req.u, 0, sizeof(req.u));
	req.u.machine_patch.has_cpu_template = true;
	assert_int_equal(handle(f, &req), 204);
	get_config(f, &cfg);
	assert_null(cfg.machine.cpu_template);
	vm_config_free(&cfg);
}

/* ---- boot source ---- */

static void test_boot_source(void **state)
{
	struct fixture *f = *state;
	char missing[160], bad_args[] = "console=ttyS0 \x01";
	struct vm_config cfg;
	char *long_args;

	assert_int_equal(put_boot(f, f->kernel, f->kernel, "console=ttyS0"), 204);
	snprintf(missing, sizeof(missing), "%s/nope", f->dir);
	assert_int_equal(put_boot(f, missing, NULL, NULL), 400);
	assert_string_equal(last_fault,
			    "Boot source error: The kernel file cannot be opened: No such "
			    "file or directory (os error 2)");
	assert_int_equal(put_boot(f, f->kernel, missing, NULL), 400);
	assert_string_equal(
	    last_fault, "Boot source error: The initrd file cannot be opened due to invalid path "
			"or invalid permissions. No such file or directory (os error 2)");
	assert_int_equal(put_boot(f, f->dir, NULL, NULL), 204); /* a directory opens O_RDONLY */
	assert_int_equal(put_boot(f, f->kernel, NULL, bad_args), 400);
	assert_string_equal(last_fault, "Boot source error: The kernel command line is invalid: "
					"String contains a non-printable ASCII character.");

	/* 2047 characters + NUL fit Firecracker's 2048-byte command line; 2048 do not. */
	long_args = malloc(VMM_CMDLINE_MAX + 1);
	assert_non_null(long_args);
	memset(long_args, 'a', VMM_CMDLINE_MAX);
	long_args[VMM_CMDLINE_MAX] = '\0';
	assert_int_equal(put_boot(f, f->kernel, NULL, long_args), 400);
	assert_string_equal(last_fault, "Boot source error: The kernel command line is invalid: "
					"Inserting string would make command line too long.");
	get_config(f, &cfg);
	assert_string_equal(cfg.boot_source.kernel_image_path, f->dir);
	vm_config_free(&cfg);
	long_args[VMM_CMDLINE_MAX - 1] = '\0';
	assert_int_equal(put_boot(f, f->kernel, f->kernel, long_args), 204);
	free(long_args);
	get_config(f, &cfg);
	assert_true(cfg.has_boot_source);
	assert_string_equal(cfg.boot_source.kernel_image_path, f->kernel);
	assert_string_equal(cfg.boot_source.initrd_path, f->kernel);
	assert_int_equal(strlen(cfg.boot_source.boot_args), VMM_CMDLINE_MAX - 1);
	vm_config_free(&cfg);
}

/* ---- InstanceStart ---- */

static void test_instance_start(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_GET_INSTANCE_INFO};
	struct vmm_response resp;

	assert_int_equal(simple(f, REQ_INSTANCE_START), 400);
	assert_string_equal(
	    last_fault, "Start microvm error: Cannot start microvm without kernel configuration.");
	assert_int_equal(f->vm.starts, 0);

	assert_int_equal(put_machine(f, 2, 64, false, NULL), 204);
	assert_int_equal(put_boot(f, f->kernel, NULL, NULL), 204);
	f->vm.fail_with = -EIO;
	f->vm.fail_text = "Cannot load the kernel: bad ELF";
	assert_int_equal(simple(f, REQ_INSTANCE_START), 400);
	assert_string_equal(last_fault, "Start microvm error: Cannot load the kernel: bad ELF");
	controller_handle(&f->c, &req, &resp);
	assert_int_equal(resp.info.state, VMM_NOT_STARTED);
	vmm_response_free(&resp);

	/* A failed start can be retried; without a detail, strerror is used. */
	f->vm.fail_with = -ENOMEM;
	f->vm.fail_text = NULL;
	assert_int_equal(simple(f, REQ_INSTANCE_START), 400);
	assert_string_equal(last_fault, "Start microvm error: Cannot allocate memory");
	assert_int_equal(simple(f, REQ_INSTANCE_START), 204);
	assert_int_equal(f->vm.starts, 3);
	assert_int_equal(f->vm.started_vcpus, 2);
	assert_string_equal(f->vm.started_kernel, f->kernel);
	controller_handle(&f->c, &req, &resp);
	assert_int_equal(resp.info.state, VMM_RUNNING);
	vmm_response_free(&resp);
}

/* ---- the running VM ---- */

static void test_pause_resume(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_GET_INSTANCE_INFO};
	struct vmm_response resp;

	boot(f);
	assert_int_equal(simple(f, REQ_RESUME_VM), 204); /* running already: nothing to do */
	assert_int_equal(f->vm.resumes, 0);
	assert_int_equal(simple(f, REQ_PAUSE_VM), 204);
	assert_int_equal(simple(f, REQ_PAUSE_VM), 204);
	assert_int_equal(f->vm.pauses, 1);
	controller_handle(&f->c, &req, &resp);
	assert_int_equal(resp.info.state, VMM_PAUSED);
	vmm_response_free(&resp);

	f->vm.fail_with = -EINVAL;
	f->vm.fail_text = "vCPU 0 did not resume";
	assert_int_equal(simple(f, REQ_RESUME_VM), 400);
	assert_string_equal(last_fault, "Internal VMM error: vCPU 0 did not resume");
	controller_handle(&f->c, &req, &resp);
	assert_int_equal(resp.info.state, VMM_PAUSED);
	vmm_response_free(&resp);
	assert_int_equal(simple(f, REQ_RESUME_VM), 204);
	assert_int_equal(f->vm.resumes, 2);
	controller_handle(&f->c, &req, &resp);
	assert_int_equal(resp.info.state, VMM_RUNNING);
	vmm_response_free(&resp);

	/* Pre-boot-only requests stay refused while paused too. */
	assert_int_equal(simple(f, REQ_PAUSE_VM), 204);
	assert_int_equal(put_machine(f, 1, 128, false, NULL), 400);
	assert_string_equal(last_fault, POST_BOOT_MSG);
}

static void test_ctrl_alt_del(void **state)
{
	struct fixture *f = *state;

	boot(f);
	assert_int_equal(simple(f, REQ_SEND_CTRL_ALT_DEL), 204);
	f->vm.fail_with = -EBUSY;
	f->vm.fail_text = NULL;
	assert_int_equal(simple(f, REQ_SEND_CTRL_ALT_DEL), 400);
	assert_string_equal(last_fault, "Internal VMM error: Device or resource busy");
	assert_int_equal(f->vm.ctrl_alt_dels, 2);
}

/* ---- logger, metrics, serial ---- */

static void test_logger(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_PUT_LOGGER};
	char path[128], buf[4096] = "";
	struct vm_config cfg;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/missing/log", f->dir);
	req.u.logger.log_path = path;
	req.u.logger.level = LOG_DEBUG;
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(last_fault, "Logger error: Failed to open target file: No such file or "
					"directory (os error 2)");
	assert_int_equal(log_get_level(), LOG_OFF); /* untouched */
	get_config(f, &cfg);
	assert_false(cfg.has_logger);
	vm_config_free(&cfg);

	snprintf(path, sizeof(path), "%s/log", f->dir);
	req.u.logger.has_show_level = true;
	req.u.logger.show_level = true;
	assert_int_equal(handle(f, &req), 204);
	assert_int_equal(log_get_level(), LOG_DEBUG);
	log_info("marker %d", 42);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	assert_non_null(strstr(buf, ":Info] marker 42\n"));
	get_config(f, &cfg);
	assert_true(cfg.has_logger);
	assert_string_equal(cfg.logger.log_path, path);
	assert_int_equal(cfg.logger.level, LOG_DEBUG);
	assert_true(cfg.logger.show_level);
	assert_false(cfg.logger.show_log_origin);
	vm_config_free(&cfg);

	/* Again without path or flags: those stay, the level goes back to Info. */
	memset(&req.u.logger, 0, sizeof(req.u.logger));
	req.u.logger.level = LOG_INFO;
	assert_int_equal(handle(f, &req), 204);
	assert_int_equal(log_get_level(), LOG_INFO);
	log_warn("second %d", 7);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, ":Warn] second 7\n"));

	/* Issue #8 (6): `module` keeps only the records of that source path. */
	memset(&req.u.logger, 0, sizeof(req.u.logger));
	req.u.logger.level = LOG_INFO;
	req.u.logger.module = "vmm::devices";
	assert_int_equal(handle(f, &req), 204);
	log_warn("filtered %d", 8);
	log_msg(LOG_WARN, "devices/virtio/block.c", 1, "kept %d", 9);
	memset(&req.u.logger, 0, sizeof(req.u.logger)); /* no module: the filter stays */
	req.u.logger.level = LOG_INFO;
	assert_int_equal(handle(f, &req), 204);
	log_warn("filtered %d", 10);
	req.u.logger.module = "";
	assert_int_equal(handle(f, &req), 204);
	log_warn("all again %d", 11);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_null(strstr(buf, "filtered"));
	assert_non_null(strstr(buf, "kept 9\n"));
	assert_non_null(strstr(buf, "all again 11\n"));
	get_config(f, &cfg);
	assert_string_equal(cfg.logger.log_path, path);
	assert_int_equal(cfg.logger.level, LOG_INFO);
	assert_true(cfg.logger.show_level);
	vm_config_free(&cfg);
}

static void test_metrics(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_PUT_METRICS};
	char path[128], buf[4096] = "";
	struct vm_config cfg;
	ssize_t n;
	int fd;

	/* Like Firecracker (open_file_nonblock), the file is created but not its directory. */
	snprintf(path, sizeof(path), "%s/missing/metrics", f->dir);
	req.u.metrics.metrics_path = path;
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(last_fault,
			    "Metrics error: Cannot initialize the metrics system due to "
			    "bad user input: No such file or directory (os error 2)");
	snprintf(path, sizeof(path), "%s/metrics", f->dir);
	assert_int_equal(handle(f, &req), 204);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(last_fault,
			    "Metrics error: Cannot initialize the metrics system due to "
			    "bad user input: Reinitialization of metrics not allowed.");
	get_config(f, &cfg);
	assert_true(cfg.has_metrics);
	assert_string_equal(cfg.metrics.metrics_path, path);
	vm_config_free(&cfg);

	boot(f);
	metric_add(&g_metrics.vcpu.exit_io_out, 7);
	assert_int_equal(simple(f, REQ_FLUSH_METRICS), 204);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "\"exit_io_out\":7"));
	assert_int_equal(buf[n - 1], '\n');
}

static void test_flush_metrics_without_sink(void **state)
{
	struct fixture *f = *state;

	boot(f);
	/* Firecracker: FlushMetrics succeeds, there is just nowhere to write. */
	assert_int_equal(simple(f, REQ_FLUSH_METRICS), 204);
}

static void test_serial(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_PUT_SERIAL};
	struct vm_config cfg;

	req.u.serial.serial_out_path = f->kernel;
	assert_int_equal(handle(f, &req), 204);
	req.u.serial.serial_out_path = NULL;
	assert_int_equal(handle(f, &req), 204);
	get_config(f, &cfg);
	assert_true(cfg.has_serial);
	assert_null(cfg.serial.serial_out_path);
	vm_config_free(&cfg);
}

/* ---- vm_config helpers ---- */

static void test_vm_config_copy_free(void **state)
{
	struct vm_config a, b;

	(void)state;
	vm_config_init(&a);
	a.machine.vcpu_count = 8;
	a.machine.cpu_template = strdup("T2");
	a.has_boot_source = true;
	a.boot_source.kernel_image_path = strdup("/k");
	a.boot_source.boot_args = strdup("quiet");
	a.has_logger = true;
	a.logger.log_path = strdup("/l");
	a.logger.level = LOG_TRACE;
	a.has_metrics = true;
	a.metrics.metrics_path = strdup("/m");
	a.has_serial = true;
	a.serial.serial_out_path = strdup("/s");

	assert_int_equal(vm_config_copy(&b, &a), 0);
	/* Deep: nothing shared. */
	assert_ptr_not_equal(a.machine.cpu_template, b.machine.cpu_template);
	assert_ptr_not_equal(a.boot_source.kernel_image_path, b.boot_source.kernel_image_path);
	assert_ptr_not_equal(a.logger.log_path, b.logger.log_path);
	assert_ptr_not_equal(a.metrics.metrics_path, b.metrics.metrics_path);
	assert_ptr_not_equal(a.serial.serial_out_path, b.serial.serial_out_path);
	vm_config_free(&a);
	assert_int_equal(b.machine.vcpu_count, 8);
	assert_string_equal(b.machine.cpu_template, "T2");
	assert_string_equal(b.boot_source.kernel_image_path, "/k");
	assert_null(b.boot_source.initrd_path);
	assert_string_equal(b.boot_source.boot_args, "quiet");
	assert_string_equal(b.logger.log_path, "/l");
	assert_int_equal(b.logger.level, LOG_TRACE);
	assert_string_equal(b.metrics.metrics_path, "/m");
	assert_string_equal(b.serial.serial_out_path, "/s");

	/* free() leaves the defaults, ready for reuse. */
	vm_config_free(&b);
	assert_false(b.has_boot_source);
	assert_null(b.boot_source.kernel_image_path);
	assert_int_equal(b.machine.vcpu_count, VMM_DEFAULT_VCPUS);
	assert_int_equal(b.machine.mem_size_mib, VMM_DEFAULT_MEM_MIB);
	vm_config_free(&b);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_initial_state),
	    T(test_post_boot_requests_refused_before_boot),
	    T(test_pre_boot_requests_refused_after_boot),
	    T(test_hot_unplug),
	    T(test_put_machine_config),
	    T(test_machine_config_ranges),
	    T(test_patch_machine_config),
	    T(test_boot_source),
	    T(test_instance_start),
	    T(test_pause_resume),
	    T(test_ctrl_alt_del),
	    T(test_logger),
	    T(test_metrics),
	    T(test_flush_metrics_without_sink),
	    T(test_serial),
	    cmocka_unit_test(test_vm_config_copy_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
