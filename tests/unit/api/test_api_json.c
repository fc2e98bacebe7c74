// SPDX-License-Identifier: Apache-2.0
/*
 * GET response bodies, byte for byte: Firecracker's keys, key order, null
 * versus absent, compact serde_json formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_json.h"

static void expect_json(char *got, const char *want)
{
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_instance_info_and_version(void **state)
{
	struct instance_info info = {.id = "anonymous-instance", .state = VMM_NOT_STARTED};

	(void)state;
	expect_json(api_json_instance_info(&info, "0.1.0"),
		    "{\"id\":\"anonymous-instance\",\"state\":\"Not started\",\"vmm_version\":"
		    "\"0.1.0\",\"app_name\":\"Firecracker\"}");
	info.state = VMM_PAUSED;
	snprintf(info.id, sizeof(info.id), "vm-1");
	expect_json(api_json_instance_info(&info, "0.1.0"),
		    "{\"id\":\"vm-1\",\"state\":\"Paused\",\"vmm_version\":\"0.1.0\",\"app_name\":"
		    "\"Firecracker\"}");
	expect_json(api_json_version("0.1.0"), "{\"firecracker_version\":\"0.1.0\"}");
}

static void test_machine_config(void **state)
{
	struct machine_config mc = {.vcpu_count = 1, .mem_size_mib = 128};

	(void)state;
	/* No template: the key is left out, as Firecracker does. */
	expect_json(api_json_machine_config(&mc),
		    "{\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,\"track_dirty_pages\":"
		    "false,\"huge_pages\":\"None\"}");
	mc = (struct machine_config){.vcpu_count = 32,
				     .mem_size_mib = 1ULL << 40,
				     .smt = true,
				     .track_dirty_pages = true,
				     .huge_pages = HUGE_PAGES_2M,
				     .cpu_template = "T2S"};
	expect_json(api_json_machine_config(&mc),
		    "{\"vcpu_count\":32,\"mem_size_mib\":1099511627776,\"smt\":true,"
		    "\"cpu_template\":\"T2S\",\"track_dirty_pages\":true,\"huge_pages\":\"2M\"}");
}

static void test_vm_config(void **state)
{
	struct vm_config cfg;

	(void)state;
	vm_config_init(&cfg);
	expect_json(
	    api_json_vm_config(&cfg),
	    "{\"drives\":[],\"boot-source\":null,\"logger\":null,\"machine-config\":{"
	    "\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,\"track_dirty_pages\":false,"
	    "\"huge_pages\":\"None\"},\"metrics\":null,\"network-interfaces\":[],\"vsock\":"
	    "null,\"entropy\":null,\"serial\":null}");

	cfg.has_boot_source = true;
	cfg.boot_source.kernel_image_path = "/k/vmlinux";
	cfg.has_logger = true;
	cfg.logger.level = LOG_WARN;
	cfg.logger.show_log_origin = true;
	cfg.has_metrics = true;
	cfg.metrics.metrics_path = "/m";
	cfg.has_serial = true;
	expect_json(
	    api_json_vm_config(&cfg),
	    "{\"drives\":[],\"boot-source\":{\"kernel_image_path\":\"/k/vmlinux\","
	    "\"initrd_path\":null,\"boot_args\":null},\"logger\":{\"log_path\":null,\"level\":"
	    "\"Warning\","
	    "\"show_level\":false,\"show_log_origin\":true},\"machine-config\":{"
	    "\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,\"track_dirty_pages\":false,"
	    "\"huge_pages\":\"None\"},\"metrics\":{\"metrics_path\":\"/m\"},"
	    "\"network-interfaces\":[],\"vsock\":null,\"entropy\":null,\"serial\":{"
	    "\"serial_out_path\":null}}");

	cfg.boot_source.initrd_path = "/i";
	cfg.boot_source.boot_args = "console=ttyS0 \"x\"\n";
	cfg.logger.log_path = "/l";
	cfg.serial.serial_out_path = "/s";
	expect_json(api_json_vm_config(&cfg),
		    "{\"drives\":[],\"boot-source\":{\"kernel_image_path\":\"/k/vmlinux\","
		    "\"initrd_path\":\"/i\","
		    "\"boot_args\":\"console=ttyS0 \\\"x\\\"\\n\"},\"logger\":{\"log_path\":\"/l\","
		    "\"level\":\"Warning\",\"show_level\":false,\"show_log_origin\":true},"
		    "\"machine-config\":{\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,"
		    "\"track_dirty_pages\":false,\"huge_pages\":\"None\"},\"metrics\":{"
		    "\"metrics_path\":\"/m\"},\"network-interfaces\":[],\"vsock\":null,"
		    "\"entropy\":null,\"serial\":{\"serial_out_path\":\"/s\"}}");
}

/* Issue #8 (6): u64 values above INT64_MAX are written as the numbers they are. */
static void test_u64_values(void **state)
{
	struct machine_config mc = {.vcpu_count = 1, .mem_size_mib = UINT64_MAX};
	struct vm_config cfg;

	(void)state;
	expect_json(api_json_machine_config(&mc),
		    "{\"vcpu_count\":1,\"mem_size_mib\":18446744073709551615,\"smt\":false,"
		    "\"track_dirty_pages\":false,\"huge_pages\":\"None\"}");
	vm_config_init(&cfg);
	cfg.has_entropy = true;
	cfg.entropy.has_rate_limiter = true;
	cfg.entropy.rate_limiter.has_ops = true;
	cfg.entropy.rate_limiter.ops.size = 9223372036854775808ULL;
	cfg.entropy.rate_limiter.ops.one_time_burst = UINT64_MAX;
	cfg.entropy.rate_limiter.ops.refill_time_ms = INT64_MAX;
	expect_json(api_json_vm_config(&cfg),
		    "{\"drives\":[],\"boot-source\":null,\"logger\":null,\"machine-config\":{"
		    "\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,\"track_dirty_pages\":"
		    "false,\"huge_pages\":\"None\"},\"metrics\":null,\"network-interfaces\":[],"
		    "\"vsock\":null,\"entropy\":{\"rate_limiter\":{\"bandwidth\":null,\"ops\":{"
		    "\"size\":9223372036854775808,\"one_time_burst\":18446744073709551615,"
		    "\"refill_time\":9223372036854775807}}},\"serial\":null}");
	/* A string that merely looks like the marker stays a string. */
	cfg.has_entropy = false;
	cfg.has_metrics = true;
	cfg.metrics.metrics_path = "\\u0000ember-u64:12";
	expect_json(api_json_vm_config(&cfg),
		    "{\"drives\":[],\"boot-source\":null,\"logger\":null,\"machine-config\":{"
		    "\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,\"track_dirty_pages\":"
		    "false,\"huge_pages\":\"None\"},\"metrics\":{\"metrics_path\":"
		    "\"\\\\u0000ember-u64:12\"},\"network-interfaces\":[],\"vsock\":null,"
		    "\"entropy\":null,\"serial\":null}");
}

static void test_fault_and_levels(void **state)
{
	(void)state;
	expect_json(api_json_fault("Empty PUT request."),
		    "{\"fault_message\":\"Empty PUT request.\"}");
	expect_json(api_json_fault("a `b` \"c\"\\"), "{\"fault_message\":\"a `b` \\\"c\\\"\\\\\"}");
	assert_string_equal(api_level_name(LOG_OFF), "Off");
	assert_string_equal(api_level_name(LOG_ERROR), "Error");
	assert_string_equal(api_level_name(LOG_WARN), "Warning");
	assert_string_equal(api_level_name(LOG_INFO), "Info");
	assert_string_equal(api_level_name(LOG_DEBUG), "Debug");
	assert_string_equal(api_level_name(LOG_TRACE), "Trace");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_instance_info_and_version),
	    cmocka_unit_test(test_machine_config),
	    cmocka_unit_test(test_vm_config),
	    cmocka_unit_test(test_u64_values),
	    cmocka_unit_test(test_fault_and_levels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
