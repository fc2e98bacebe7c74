// SPDX-License-Identifier: Apache-2.0
/*
 * --config-file parsing: sections, their order, Firecracker's "Invalid JSON"
 * errors with positions in the whole document, and the resulting requests
 * applied to a real controller.
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
#include <unistd.h>

#include "api/api_json.h"
#include "api/config_file.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"

static struct vmm_request *reqs;
static size_t nr;
static char err[FAULT_MESSAGE_MAX];

static void free_reqs(void)
{
	for (size_t i = 0; i < nr; i++)
		vmm_request_free(&reqs[i]);
	free(reqs);
	reqs = NULL;
	nr = 0;
}

static void expect_error(const char *json, const char *msg)
{
	assert_int_equal(config_file_parse(json, &reqs, &nr, err, sizeof(err)), -EINVAL);
	assert_null(reqs);
	assert_int_equal(nr, 0);
	assert_string_equal(err, msg);
}

static void test_all_sections_in_order(void **state)
{
	const char *json =
	    "{\n"
	    "  \"serial\": {\"serial_out_path\": \"/tmp/serial\"},\n"
	    "  \"boot-source\": {\"kernel_image_path\": \"/k\", \"boot_args\": \"a=b\"},\n"
	    "  \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 256},\n"
	    "  \"metrics\": {\"metrics_path\": \"/m\"},\n"
	    "  \"logger\": {\"level\": \"Debug\"}\n"
	    "}\n";

	(void)state;
	assert_int_equal(config_file_parse(json, &reqs, &nr, err, sizeof(err)), 0);
	assert_int_equal(nr, 5);
	/* Applied like Firecracker: logger and metrics first, then the machine, then boot. */
	assert_int_equal(reqs[0].type, REQ_PUT_LOGGER);
	assert_int_equal(reqs[0].u.logger.level, LOG_DEBUG);
	assert_int_equal(reqs[1].type, REQ_PUT_METRICS);
	assert_string_equal(reqs[1].u.metrics.metrics_path, "/m");
	assert_int_equal(reqs[2].type, REQ_PUT_MACHINE_CONFIG);
	assert_int_equal(reqs[2].u.machine.vcpu_count, 2);
	assert_int_equal(reqs[2].u.machine.mem_size_mib, 256);
	assert_int_equal(reqs[3].type, REQ_PUT_BOOT_SOURCE);
	assert_string_equal(reqs[3].u.boot_source.kernel_image_path, "/k");
	assert_string_equal(reqs[3].u.boot_source.boot_args, "a=b");
	assert_int_equal(reqs[4].type, REQ_PUT_SERIAL);
	assert_string_equal(reqs[4].u.serial.serial_out_path, "/tmp/serial");
	free_reqs();
}

static void test_optional_sections(void **state)
{
	(void)state;
	assert_int_equal(config_file_parse("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
					   "\"logger\": null, \"machine-config\": null}",
					   &reqs, &nr, err, sizeof(err)),
			 0);
	assert_int_equal(nr, 1);
	assert_int_equal(reqs[0].type, REQ_PUT_BOOT_SOURCE);
	free_reqs();
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("{}", "Invalid JSON: missing field `boot-source` at line 1 column 2");
	expect_error("{\"boot-source\": null}",
		     "Invalid JSON: invalid type: null, expected struct BootSourceConfig at line 1 "
		     "column 20");
	expect_error(
	    "{\n  \"drive\": []\n}",
	    "Invalid JSON: unknown field `drive`, expected one of `balloon`, `drives`, "
	    "`boot-source`, "
	    "`cpu-config`, `logger`, `machine-config`, `metrics`, `mmds-config`, "
	    "`network-interfaces`, `vsock`, `entropy`, `pmem`, `memory-hotplug`, `serial` at "
	    "line 2 column 9");
	/* Errors inside a section are positioned in the whole document. */
	expect_error("{\n  \"boot-source\": {\"kernel_image_path\": \"/k\"},\n"
		     "  \"machine-config\": {\n    \"vcpu_count\": 2\n  }\n}",
		     "Invalid JSON: missing field `mem_size_mib` at line 5 column 3");
	expect_error("{\"machine-config\": \"big\"}",
		     "Invalid JSON: invalid type: string \"big\", expected struct MachineConfig at "
		     "line 1 column 24");
	expect_error("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"logger\": {\"lvl\": 1}}",
		     "Invalid JSON: unknown field `lvl`, expected one of `log_path`, `level`, "
		     "`show_level`, `show_log_origin`, `module` at line 1 column 61");
	expect_error("{\"boot-source\": {", "Invalid JSON: EOF while parsing an object at line 1 "
					    "column 17");
	expect_error("", "Invalid JSON: EOF while parsing a value at line 1 column 0");
}

/*
 * Sections as GET /vm/config writes them when empty (null, an empty list)
 * are accepted; "memory-hotplug" is a MemoryHotplugConfig
 * (tests/unit/api/test_api_memory_hotplug.c), "pmem" a list of PmemConfig
 * (tests/unit/api/test_api_pmem.c); null or a number is not a list.
 */
static void test_empty_sections(void **state)
{
	(void)state;
	assert_int_equal(config_file_parse("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
					   "\"cpu-config\": null, \"pmem\": [], "
					   "\"memory-hotplug\": null}",
					   &reqs, &nr, err, sizeof(err)),
			 0);
	assert_int_equal(nr, 1);
	free_reqs();
	/* Refused before anything is built: the error is the whole answer. */
	expect_error(
	    "{\"logger\": {\"level\": \"Debug\"}, \"boot-source\": {\"kernel_image_path\": "
	    "\"/k\"}, \"memory-hotplug\": {}}",
	    "Invalid JSON: missing field `total_size_mib` at line 1 column 95");
	expect_error("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"pmem\": null}",
		     "Invalid JSON: invalid type: null, expected a sequence at line 1 column 57");
	expect_error(
	    "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"pmem\": [1]}",
	    "Invalid JSON: invalid type: integer `1`, expected struct PmemConfig at line 1 "
	    "column 55");
}

/* The serial section with its rate_limiter, applied after the devices. */
static void test_serial_section(void **state)
{
	(void)state;
	assert_int_equal(
	    config_file_parse("{\"serial\": {\"serial_out_path\": \"/s\", \"rate_limiter\": "
			      "{\"size\": 10, \"refill_time\": 100}}, \"entropy\": {}, "
			      "\"boot-source\": {\"kernel_image_path\": \"/k\"}}",
			      &reqs, &nr, err, sizeof(err)),
	    0);
	assert_int_equal(nr, 3);
	assert_int_equal(reqs[0].type, REQ_PUT_BOOT_SOURCE);
	assert_int_equal(reqs[1].type, REQ_PUT_ENTROPY);
	assert_int_equal(reqs[2].type, REQ_PUT_SERIAL);
	assert_string_equal(reqs[2].u.serial.serial_out_path, "/s");
	assert_true(reqs[2].u.serial.has_rate_limiter);
	assert_int_equal(reqs[2].u.serial.rate_limiter.size, 10);
	assert_int_equal(reqs[2].u.serial.rate_limiter.refill_time_ms, 100);
	free_reqs();
}

/* Issue #8 (2): a float with a huge exponent overflowed a stack buffer here too. */
static void test_float_in_section(void **state)
{
	char want[FAULT_MESSAGE_MAX];

	(void)state;
	snprintf(want, sizeof(want),
		 "Invalid JSON: invalid type: floating point `1%0300d.0`, expected usize at line 1 "
		 "column 58",
		 0);
	expect_error("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 1e300}}", want);
}

/* ---- applied to a controller ---- */

static int started;

static int fake_start(void *ctx, const struct vm_config *cfg, char *e, size_t len)
{
	(void)ctx;
	(void)e;
	(void)len;
	started = cfg->machine.vcpu_count;
	return 0;
}

static int fake_op(void *ctx, char *e, size_t len)
{
	(void)ctx;
	(void)e;
	(void)len;
	return 0;
}

static const struct vmm_ops ops = {
    .start = fake_start, .pause = fake_op, .resume = fake_op, .send_ctrl_alt_del = fake_op};

static void test_feeds_controller(void **state)
{
	char dir[] = "/tmp/ember-cfg.XXXXXX", json[512], log_path[64];
	struct vmm_request start = {.type = REQ_INSTANCE_START};
	struct vmm_response resp;
	struct controller c;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(log_path, sizeof(log_path), "%s/log", dir);
	snprintf(json, sizeof(json),
		 "{\"boot-source\": {\"kernel_image_path\": \"%s\"}, \"machine-config\": "
		 "{\"vcpu_count\": 4, \"mem_size_mib\": 64, \"smt\": true}, \"logger\": "
		 "{\"log_path\": \"%s\", \"level\": \"Off\"}}",
		 log_path, log_path);
	f = fopen(log_path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(config_file_parse(json, &reqs, &nr, err, sizeof(err)), 0);
	controller_init(&c, "cfg", &ops, NULL);
	for (size_t i = 0; i <= nr; i++) {
		controller_handle(&c, i < nr ? &reqs[i] : &start, &resp);
		assert_int_equal(resp.status, 204);
		vmm_response_free(&resp);
	}
	free_reqs();
	assert_int_equal(started, 4);
	assert_true(c.cfg.machine.smt);
	assert_string_equal(c.cfg.boot_source.kernel_image_path, log_path);
	assert_int_equal(c.state, VMM_RUNNING);
	controller_destroy(&c);
	log_reset();
	unlink(log_path);
	rmdir(dir);
}

/* What GET /vm/config writes is a valid config file, and says the same again. */
static void test_vm_config_round_trip(void **state)
{
	char path[] = "/tmp/ember-rt.XXXXXX";
	struct drive_config drive = {
	    .drive_id = "root", .path_on_host = path, .is_root_device = true};
	struct vmm_request start = {.type = REQ_INSTANCE_START};
	struct vmm_response resp;
	struct controller c;
	struct vm_config cfg;
	char *text, *again;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	vm_config_init(&cfg);
	cfg.has_boot_source = true;
	cfg.boot_source.kernel_image_path = path;
	cfg.boot_source.boot_args = "console=ttyS0";
	cfg.machine.vcpu_count = 2;
	cfg.drives = &drive;
	cfg.nr_drives = 1;
	cfg.has_serial = true;
	cfg.serial.serial_out_path = "/s";
	cfg.serial.has_rate_limiter = true;
	cfg.serial.rate_limiter = (struct token_bucket_config){.size = 7, .refill_time_ms = 9};
	text = api_json_vm_config(&cfg);
	assert_non_null(text);
	if (config_file_parse(text, &reqs, &nr, err, sizeof(err)))
		fail_msg("%s: %s", text, err);
	controller_init(&c, "cfg", &ops, NULL);
	for (size_t i = 0; i <= nr; i++) {
		controller_handle(&c, i < nr ? &reqs[i] : &start, &resp);
		if (resp.status != 204)
			fail_msg("request %zu: %s", i, resp.fault_message);
		vmm_response_free(&resp);
	}
	free_reqs();
	again = api_json_vm_config(&c.cfg);
	assert_non_null(again);
	assert_string_equal(again, text);
	free(again);
	free(text);
	controller_destroy(&c);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_sections_in_order),
	    cmocka_unit_test(test_optional_sections),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_float_in_section),
	    cmocka_unit_test(test_feeds_controller),
	    cmocka_unit_test(test_empty_sections),
	    cmocka_unit_test(test_serial_section),
	    cmocka_unit_test(test_vm_config_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
