// SPDX-License-Identifier: Apache-2.0
/*
 * GET response bodies, byte for byte: Firecracker's keys, key order, null
 * versus absent, compact serde_json formatting. GET /vm/config is checked
 * key by key (its keys' order as a whole, each value byte for byte).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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

/*
 * Firecracker's VmmConfig keys in their order, then Ember's "serial": every
 * key of a GET /vm/config body must be one of these, in this order. Other
 * parts add theirs (balloon, mmds-config) and check their own values.
 */
static const char *const vm_config_keys[] = {
    "balloon",	      "drives",	     "boot-source",
    "cpu-config",     "logger",	     "machine-config",
    "metrics",	      "mmds-config", "network-interfaces",
    "vsock",	      "entropy",     "pmem",
    "memory-hotplug", "serial",
};
#define NR_VM_CONFIG_KEYS (sizeof(vm_config_keys) / sizeof(vm_config_keys[0]))

static void expect_key_order(const char *text, const char *const *must_have, size_t nr_must)
{
	json_t *root = json_loads(text, 0, NULL);
	size_t next = 0, found = 0;

	assert_non_null(root);
	for (void *it = json_object_iter(root); it; it = json_object_iter_next(root, it)) {
		const char *key = json_object_iter_key(it);

		while (next < NR_VM_CONFIG_KEYS && strcmp(vm_config_keys[next], key))
			next++;
		if (next == NR_VM_CONFIG_KEYS)
			fail_msg("key `%s` not in Firecracker's order (or unknown): %s", key, text);
		next++;
	}
	for (size_t i = 0; i < nr_must; i++)
		found += json_object_get(root, must_have[i]) != NULL;
	assert_int_equal(found, nr_must);
	json_decref(root);
}

/* Top-level @key of @text is exactly @value (compact JSON). */
static void expect_key(const char *text, const char *key, const char *value)
{
	char needle[1024];
	const char *at;

	snprintf(needle, sizeof(needle), "\"%s\":%s", key, value);
	at = strstr(text, needle);
	if (!at || (at[strlen(needle)] != ',' && at[strlen(needle)] != '}'))
		fail_msg("no %s in %s", needle, text);
}

static void test_vm_config(void **state)
{
	static const char *const ours[] = {
	    "drives",	      "boot-source", "cpu-config",	   "logger",
	    "machine-config", "metrics",     "network-interfaces", "vsock",
	    "entropy",	      "pmem",	     "memory-hotplug",	   "serial",
	};
	struct vm_config cfg;
	char *text;

	(void)state;
	vm_config_init(&cfg);
	text = api_json_vm_config(&cfg);
	assert_non_null(text);
	expect_key_order(text, ours, sizeof(ours) / sizeof(ours[0]));
	expect_key(text, "drives", "[]");
	/* Not configured: Firecracker's BootSourceConfig::default(). */
	expect_key(text, "boot-source",
		   "{\"kernel_image_path\":\"\",\"initrd_path\":null,\"boot_args\":null}");
	expect_key(text, "cpu-config", "null");
	expect_key(text, "logger", "null");
	expect_key(text, "machine-config",
		   "{\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,\"track_dirty_pages\":"
		   "false,\"huge_pages\":\"None\"}");
	expect_key(text, "metrics", "null");
	expect_key(text, "network-interfaces", "[]");
	expect_key(text, "vsock", "null");
	expect_key(text, "entropy", "null");
	expect_key(text, "pmem", "[]");
	expect_key(text, "memory-hotplug", "null");
	expect_key(text, "serial", "null");
	free(text);

	/* Logger and metrics are not resources in Firecracker: null even when set. */
	cfg.has_boot_source = true;
	cfg.boot_source.kernel_image_path = "/k/vmlinux";
	cfg.has_logger = true;
	cfg.logger.level = LOG_WARN;
	cfg.has_metrics = true;
	cfg.metrics.metrics_path = "/m";
	cfg.has_serial = true;
	text = api_json_vm_config(&cfg);
	assert_non_null(text);
	expect_key_order(text, ours, sizeof(ours) / sizeof(ours[0]));
	expect_key(
	    text, "boot-source",
	    "{\"kernel_image_path\":\"/k/vmlinux\",\"initrd_path\":null,\"boot_args\":null}");
	expect_key(text, "logger", "null");
	expect_key(text, "metrics", "null");
	expect_key(text, "serial", "{\"serial_out_path\":null,\"rate_limiter\":null}");
	free(text);

	cfg.boot_source.initrd_path = "/i";
	cfg.boot_source.boot_args = "console=ttyS0 \"x\"\n";
	cfg.serial.serial_out_path = "/s";
	cfg.serial.has_rate_limiter = true;
	cfg.serial.rate_limiter = (struct token_bucket_config){.size = 100, .refill_time_ms = 1000};
	text = api_json_vm_config(&cfg);
	assert_non_null(text);
	expect_key(text, "boot-source",
		   "{\"kernel_image_path\":\"/k/vmlinux\",\"initrd_path\":\"/i\","
		   "\"boot_args\":\"console=ttyS0 \\\"x\\\"\\n\"}");
	expect_key(text, "serial",
		   "{\"serial_out_path\":\"/s\",\"rate_limiter\":{\"size\":100,\"one_time_burst\":"
		   "null,\"refill_time\":1000}}");
	free(text);
	/* A disabled bucket (size or refill_time 0) is no limiter: null, as the others. */
	cfg.serial.rate_limiter.refill_time_ms = 0;
	text = api_json_vm_config(&cfg);
	expect_key(text, "serial", "{\"serial_out_path\":\"/s\",\"rate_limiter\":null}");
	free(text);
}

/* Drives and network interfaces: every field of Firecracker's configs, nulls included. */
static void test_vm_config_devices(void **state)
{
	struct drive_config drive = {.drive_id = "root",
				     .path_on_host = "/r.img",
				     .is_root_device = true,
				     .cache_type = DRIVE_CACHE_WRITEBACK,
				     .io_engine = DRIVE_IO_ASYNC};
	struct net_config net = {.iface_id = "eth0", .host_dev_name = "tap0"};
	struct vm_config cfg;
	char *text;

	(void)state;
	vm_config_init(&cfg);
	cfg.drives = &drive;
	cfg.nr_drives = 1;
	cfg.nets = &net;
	cfg.nr_nets = 1;
	text = api_json_vm_config(&cfg);
	assert_non_null(text);
	expect_key(text, "drives",
		   "[{\"drive_id\":\"root\",\"partuuid\":null,\"is_root_device\":true,"
		   "\"cache_type\":\"Writeback\",\"is_read_only\":false,\"path_on_host\":"
		   "\"/r.img\",\"rate_limiter\":null,\"io_engine\":\"Async\",\"socket\":null}]");
	expect_key(text, "network-interfaces",
		   "[{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"guest_mac\":null,"
		   "\"mtu\":null,\"rx_rate_limiter\":null,\"tx_rate_limiter\":null}]");
	free(text);
	drive.partuuid = "0eaa91a0-01";
	drive.is_read_only = true;
	net.has_mtu = true;
	net.mtu = 9000;
	net.has_guest_mac = true;
	memcpy(net.guest_mac, "\x06\x00\xac\x10\x00\x02", 6);
	text = api_json_vm_config(&cfg);
	assert_non_null(text);
	expect_key(text, "drives",
		   "[{\"drive_id\":\"root\",\"partuuid\":\"0eaa91a0-01\",\"is_root_device\":true,"
		   "\"cache_type\":\"Writeback\",\"is_read_only\":true,\"path_on_host\":"
		   "\"/r.img\",\"rate_limiter\":null,\"io_engine\":\"Async\",\"socket\":null}]");
	expect_key(text, "network-interfaces",
		   "[{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"guest_mac\":"
		   "\"06:00:ac:10:00:02\",\"mtu\":9000,\"rx_rate_limiter\":null,"
		   "\"tx_rate_limiter\":null}]");
	free(text);
}

/* Issue #8 (6): u64 values above INT64_MAX are written as the numbers they are. */
static void test_u64_values(void **state)
{
	struct machine_config mc = {.vcpu_count = 1, .mem_size_mib = UINT64_MAX};
	struct vm_config cfg;
	char *text;

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
	text = api_json_vm_config(&cfg);
	assert_non_null(text);
	expect_key(
	    text, "entropy",
	    "{\"rate_limiter\":{\"bandwidth\":null,\"ops\":{\"size\":9223372036854775808,"
	    "\"one_time_burst\":18446744073709551615,\"refill_time\":9223372036854775807}}}");
	free(text);
	/* A string that merely looks like the marker stays a string. */
	cfg.has_entropy = false;
	cfg.has_serial = true;
	cfg.serial.serial_out_path = "\\u0000ember-u64:12";
	text = api_json_vm_config(&cfg);
	assert_non_null(text);
	expect_key(text, "serial",
		   "{\"serial_out_path\":\"\\\\u0000ember-u64:12\",\"rate_limiter\":null}");
	free(text);
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
	    cmocka_unit_test(test_vm_config_devices),
	    cmocka_unit_test(test_u64_values),
	    cmocka_unit_test(test_fault_and_levels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
