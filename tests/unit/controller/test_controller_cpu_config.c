// SPDX-License-Identifier: Apache-2.0
/*
 * PUT /cpu-config in the controller, against a fake VM: pre-boot only with
 * Firecracker's text, the custom template replaces a static one and the
 * reverse (Firecracker keeps one CpuTemplateType), a PUT /machine-config
 * without a static template keeps the custom one, a PATCH naming one drops
 * it, and the template reaches start() as configured.
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
#include <unistd.h>

#include "vmm/controller/controller.h"
#include "vmm/base/log.h"

#define POST_BOOT_MSG "The requested operation is not supported after starting the microVM."

static const struct cpuid_reg_modifier regs[] = {{CPUID_REG_EBX, 0x20, 0}};
static const struct cpuid_leaf_modifier leaves[] = {{7, 0, 1, regs, 1}};
static const struct cpu_template sample = {.cpuid = leaves, .nr_cpuid = 1};

struct fake_vm {
	int starts;
	size_t started_nr_cpuid; /* the custom template start() saw, 0 if none */
	char started_static[8];
};

static int fake_start(void *ctx, const struct vm_config *cfg, char *err, size_t errlen)
{
	struct fake_vm *vm = ctx;

	(void)err;
	(void)errlen;
	vm->starts++;
	vm->started_nr_cpuid = cfg->machine.cpu_config ? cfg->machine.cpu_config->nr_cpuid : 0;
	snprintf(vm->started_static, sizeof(vm->started_static), "%s",
		 cfg->machine.cpu_template ? cfg->machine.cpu_template : "");
	return 0;
}

static const struct vmm_ops fake_ops = {.start = fake_start};

struct fixture {
	struct controller c;
	struct fake_vm vm;
	char kernel[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	snprintf(f->kernel, sizeof(f->kernel), "/tmp/ember-cpucfg.XXXXXX");
	fd = mkstemp(f->kernel);
	assert_true(fd >= 0);
	close(fd);
	controller_init(&f->c, "test-vm", &fake_ops, &f->vm);
	log_set_level(LOG_OFF);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	controller_destroy(&f->c);
	unlink(f->kernel);
	free(f);
	return 0;
}

static char last_fault[FAULT_MESSAGE_MAX];

static int handle(struct fixture *f, struct vmm_request *req)
{
	struct vmm_response resp;

	controller_handle(&f->c, req, &resp);
	snprintf(last_fault, sizeof(last_fault), "%s", resp.fault_message);
	vmm_response_free(&resp);
	return resp.status;
}

/* The request owns nothing here: the controller copies what it keeps. */
static int put_cpu_config(struct fixture *f)
{
	struct vmm_request req = {.type = REQ_PUT_CPU_CONFIG};

	req.u.cpu_config = (struct cpu_template *)&sample;
	return handle(f, &req);
}

static int put_machine(struct fixture *f, const char *cpu_template)
{
	struct vmm_request req = {.type = REQ_PUT_MACHINE_CONFIG};

	req.u.machine.vcpu_count = 1;
	req.u.machine.mem_size_mib = 128;
	req.u.machine.cpu_template = (char *)cpu_template;
	return handle(f, &req);
}

static int patch_template(struct fixture *f, const char *cpu_template)
{
	struct vmm_request req = {.type = REQ_PATCH_MACHINE_CONFIG};

	req.u.machine_patch.has_cpu_template = true;
	req.u.machine_patch.mc.cpu_template = (char *)cpu_template;
	return handle(f, &req);
}

static void test_put_and_start(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_PUT_BOOT_SOURCE};

	assert_int_equal(put_cpu_config(f), 204);
	assert_non_null(f->c.cfg.machine.cpu_config);
	assert_ptr_not_equal(f->c.cfg.machine.cpu_config, &sample);
	/* A second PUT replaces the first. */
	assert_int_equal(put_cpu_config(f), 204);
	/* PUT /machine-config without cpu_template keeps it. */
	assert_int_equal(put_machine(f, NULL), 204);
	assert_non_null(f->c.cfg.machine.cpu_config);
	req.u.boot_source.kernel_image_path = f->kernel;
	assert_int_equal(handle(f, &req), 204);
	memset(&req, 0, sizeof(req));
	req.type = REQ_INSTANCE_START;
	assert_int_equal(handle(f, &req), 204);
	assert_int_equal(f->vm.starts, 1);
	assert_int_equal(f->vm.started_nr_cpuid, 1);
	assert_string_equal(f->vm.started_static, "");
	/* After boot: refused, nothing changed. */
	assert_int_equal(put_cpu_config(f), 400);
	assert_string_equal(last_fault, POST_BOOT_MSG);
}

static void test_static_and_custom_exclusive(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(put_machine(f, "T2A"), 204);
	assert_string_equal(f->c.cfg.machine.cpu_template, "T2A");
	/* The custom template replaces the static one. */
	assert_int_equal(put_cpu_config(f), 204);
	assert_null(f->c.cfg.machine.cpu_template);
	assert_non_null(f->c.cfg.machine.cpu_config);
	/* A PATCH naming a static template replaces the custom one. */
	assert_int_equal(patch_template(f, "C3"), 204);
	assert_string_equal(f->c.cfg.machine.cpu_template, "C3");
	assert_null(f->c.cfg.machine.cpu_config);
	/* "None" clears either. */
	assert_int_equal(put_cpu_config(f), 204);
	assert_int_equal(patch_template(f, NULL), 204);
	assert_null(f->c.cfg.machine.cpu_template);
	assert_null(f->c.cfg.machine.cpu_config);
	/* PUT /machine-config naming "None" drops the custom template (it keeps it otherwise). */
	assert_int_equal(put_cpu_config(f), 204);
	assert_int_equal(put_machine(f, "None"), 204);
	assert_null(f->c.cfg.machine.cpu_template);
	assert_null(f->c.cfg.machine.cpu_config);
	/* A PUT /machine-config naming a static template replaces the custom one. */
	assert_int_equal(put_cpu_config(f), 204);
	assert_int_equal(put_machine(f, "T2"), 204);
	assert_string_equal(f->c.cfg.machine.cpu_template, "T2");
	assert_null(f->c.cfg.machine.cpu_config);
	/* ... and one without cpu_template keeps the static one. */
	assert_int_equal(put_machine(f, NULL), 204);
	assert_string_equal(f->c.cfg.machine.cpu_template, "T2");
}

/* A refused PUT /machine-config leaves the custom template as it was. */
static void test_refused_machine_config_keeps_template(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_PUT_MACHINE_CONFIG};
	const struct cpu_template *before;

	assert_int_equal(put_cpu_config(f), 204);
	before = f->c.cfg.machine.cpu_config;
	req.u.machine.vcpu_count = 0;
	req.u.machine.mem_size_mib = 128;
	assert_int_equal(handle(f, &req), 400);
	assert_ptr_equal(f->c.cfg.machine.cpu_config, before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_put_and_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_static_and_custom_exclusive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_machine_config_keeps_template, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
