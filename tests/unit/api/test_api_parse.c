// SPDX-License-Identifier: Apache-2.0
/*
 * Request body parsers: every resource with valid input and every class of
 * error, checked against Firecracker's (serde_json's) exact fault messages.
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

#include "api/api_parse.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"

#define DE DESERIALIZE_ERROR_PREFIX

static char err[FAULT_MESSAGE_MAX];

static int parse(const struct body_parser *p, const char *body, struct vmm_request *req,
		 struct parse_info *info)
{
	err[0] = '\0';
	return api_parse_body(p, NULL, body, strlen(body), req, info, err, sizeof(err));
}

/* The body must be refused with exactly @message. */
static void expect_fault(const struct body_parser *p, const char *body, const char *message)
{
	struct vmm_request req;
	struct parse_info info;

	assert_int_equal(parse(p, body, &req, &info), -EINVAL);
	assert_string_equal(err, message);
}

static int setup(void **state)
{
	(void)state;
	metrics_reset();
	log_set_level(LOG_OFF); /* deprecation warnings are expected here */
	return 0;
}

/* ---- PUT /machine-config ---- */

static void test_machine_put_all_fields(void **state)
{
	struct vmm_request req;
	struct parse_info info;

	(void)state;
	assert_int_equal(parse(&put_machine_config_parser,
			       "{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"smt\": true, "
			       "\"track_dirty_pages\": true, \"huge_pages\": \"2M\"}",
			       &req, &info),
			 0);
	assert_int_equal(req.type, REQ_PUT_MACHINE_CONFIG);
	assert_int_equal(req.u.machine.vcpu_count, 2);
	assert_int_equal(req.u.machine.mem_size_mib, 256);
	assert_true(req.u.machine.smt);
	assert_true(req.u.machine.track_dirty_pages);
	assert_int_equal(req.u.machine.huge_pages, HUGE_PAGES_2M);
	assert_null(req.u.machine.cpu_template);
	assert_false(info.deprecated);
	vmm_request_free(&req);
}

static void test_machine_put_defaults(void **state)
{
	struct vmm_request req;
	struct parse_info info;

	(void)state;
	assert_int_equal(parse(&put_machine_config_parser,
			       "{\"mem_size_mib\": 18446744073, \"vcpu_count\": 32}", &req, &info),
			 0);
	assert_int_equal(req.u.machine.vcpu_count, 32);
	assert_int_equal(req.u.machine.mem_size_mib, 18446744073ULL);
	assert_false(req.u.machine.smt);
	assert_false(req.u.machine.track_dirty_pages);
	assert_int_equal(req.u.machine.huge_pages, HUGE_PAGES_NONE);
	assert_false(info.deprecated);
	/* Ranges are the controller's: 0 vCPUs parses (Firecracker: u8). */
	vmm_request_free(&req);
	assert_int_equal(
	    parse(&put_machine_config_parser, "{\"vcpu_count\":0,\"mem_size_mib\":0}", &req, &info),
	    0);
	assert_int_equal(req.u.machine.vcpu_count, 0);
	vmm_request_free(&req);
}

static void test_machine_put_cpu_template_deprecated(void **state)
{
	struct vmm_request req;
	struct parse_info info;

	(void)state;
	assert_int_equal(
	    parse(&put_machine_config_parser,
		  "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"T2\"}", &req,
		  &info),
	    0);
	assert_true(info.deprecated);
	assert_string_equal(info.deprecation,
			    "PUT /machine-config: cpu_template field is deprecated.");
	assert_string_equal(req.u.machine.cpu_template, "T2");
	assert_int_equal(g_metrics.deprecated_api.deprecated_http_api_calls, 1);
	vmm_request_free(&req);

	/* "None" is deprecated too and names no template (NULL: the field was left out). */
	assert_int_equal(
	    parse(&put_machine_config_parser,
		  "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"None\"}", &req,
		  &info),
	    0);
	assert_true(info.deprecated);
	assert_string_equal(req.u.machine.cpu_template, "None");
	vmm_request_free(&req);

	/* null is Option::None: not a use of the field. */
	assert_int_equal(parse(&put_machine_config_parser,
			       "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": null}",
			       &req, &info),
			 0);
	assert_false(info.deprecated);
	assert_int_equal(g_metrics.deprecated_api.deprecated_http_api_calls, 2);
	vmm_request_free(&req);
}

static void test_machine_put_unknown_field(void **state)
{
	(void)state;
	expect_fault(&put_machine_config_parser, "{\"foo\": 1}",
		     DE "unknown field `foo`, expected one of `vcpu_count`, `mem_size_mib`, `smt`, "
			"`cpu_template`, `track_dirty_pages`, `huge_pages` at line 1 column 6.");
	/* The first problem in document order wins, as in serde. */
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": 2, \"gdb\": \"x\", \"smt\": 5}",
		     DE "unknown field `gdb`, expected one of `vcpu_count`, `mem_size_mib`, `smt`, "
			"`cpu_template`, `track_dirty_pages`, `huge_pages` at line 1 column 23.");
}

static void test_machine_put_missing_fields(void **state)
{
	(void)state;
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": 2}",
		     DE "missing field `mem_size_mib` at line 1 column 17.");
	expect_fault(&put_machine_config_parser, "{}",
		     DE "missing field `vcpu_count` at line 1 column 2.");
	expect_fault(&put_machine_config_parser, "{\n  \"mem_size_mib\": 1024\n}",
		     DE "missing field `vcpu_count` at line 3 column 1.");
}

static void test_machine_put_wrong_types(void **state)
{
	(void)state;
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": \"2\", \"mem_size_mib\": 1}",
		     DE "invalid type: string \"2\", expected u8 at line 1 column 18.");
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": true}",
		     DE "invalid type: boolean `true`, expected u8 at line 1 column 19.");
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": null}",
		     DE "invalid type: null, expected u8 at line 1 column 19.");
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": 1.5}",
		     DE "invalid type: floating point `1.5`, expected u8 at line 1 column 18.");
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": 1e2}",
		     DE "invalid type: floating point `100.0`, expected u8 at line 1 column 18.");
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": [2]}",
		     DE "invalid type: sequence, expected u8 at line 1 column 15.");
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": {}}",
		     DE "invalid type: map, expected u8 at line 1 column 15.");
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": 1, \"mem_size_mib\": \"x\"}",
		     DE "invalid type: string \"x\", expected usize at line 1 column 37.");
	expect_fault(&put_machine_config_parser,
		     "{\"vcpu_count\": 1, \"mem_size_mib\": 1, \"smt\": \"yes\"}",
		     DE "invalid type: string \"yes\", expected a boolean at line 1 column 49.");
	expect_fault(&put_machine_config_parser,
		     "{\"vcpu_count\": 1, \"mem_size_mib\": 1, \"smt\": null}",
		     DE "invalid type: null, expected a boolean at line 1 column 48.");
}

static void test_machine_put_out_of_range_integers(void **state)
{
	(void)state;
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": 256}",
		     DE "invalid value: integer `256`, expected u8 at line 1 column 18.");
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": -1}",
		     DE "invalid value: integer `-1`, expected u8 at line 1 column 17.");
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": 1, \"mem_size_mib\": -5}",
		     DE "invalid value: integer `-5`, expected usize at line 1 column 36.");
}

static void test_machine_put_bad_enum(void **state)
{
	(void)state;
	expect_fault(&put_machine_config_parser,
		     "{\"vcpu_count\": 1, \"mem_size_mib\": 2, \"huge_pages\": \"1G\"}",
		     DE "unknown variant `1G`, expected `None` or `2M` at line 1 column 55.");
	expect_fault(&put_machine_config_parser,
		     "{\"vcpu_count\": 1, \"mem_size_mib\": 2, \"cpu_template\": \"T3\"}",
		     DE "unknown variant `T3`, expected one of `C3`, `T2`, `T2S`, `None`, `T2CL`, "
			"`T2A` at line 1 column 57.");
	/* serde_json only takes a unit variant from a string. */
	expect_fault(&put_machine_config_parser,
		     "{\"vcpu_count\": 1, \"mem_size_mib\": 2, \"huge_pages\": 2}",
		     DE "expected value at line 1 column 52.");
	expect_fault(&put_machine_config_parser,
		     "{\"vcpu_count\": 1, \"mem_size_mib\": 2, \"huge_pages\": null}",
		     DE "expected value at line 1 column 52.");
}

static void test_machine_put_duplicate_field(void **state)
{
	(void)state;
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": 1, \"vcpu_count\": 1}",
		     DE "duplicate field `vcpu_count` at line 1 column 30.");
}

static void test_body_not_an_object(void **state)
{
	(void)state;
	expect_fault(&put_machine_config_parser, "[1]",
		     DE
		     "invalid type: sequence, expected struct MachineConfig at line 1 column 0.");
	expect_fault(
	    &put_machine_config_parser, "\"x\"",
	    DE "invalid type: string \"x\", expected struct MachineConfig at line 1 column 3.");
	expect_fault(&put_boot_source_parser, "  42",
		     DE "invalid type: integer `42`, expected struct BootSourceConfig at line 1 "
			"column 4.");
	expect_fault(&put_actions_parser, "null",
		     DE "invalid type: null, expected struct ActionBody at line 1 column 4.");
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_fault(&put_actions_parser, "invalid_payload",
		     DE "expected value at line 1 column 1.");
	expect_fault(&put_actions_parser, "  ", DE "EOF while parsing a value at line 1 column 2.");
	expect_fault(&put_actions_parser, "{",
		     DE "EOF while parsing an object at line 1 column 1.");
	expect_fault(&put_actions_parser, "{\"action_type\"",
		     DE "EOF while parsing an object at line 1 column 14.");
	expect_fault(&put_actions_parser, "{\"action_type\": \"InstanceStart\",",
		     DE "EOF while parsing a value at line 1 column 32.");
	expect_fault(&put_actions_parser, "{\"action_type\": \"InstanceStart\",}",
		     DE "trailing comma at line 1 column 33.");
	expect_fault(&put_actions_parser, "{\"action_type\": \"InstanceStart\"}x",
		     DE "trailing characters at line 1 column 33.");
	expect_fault(&put_actions_parser, "{action_type: 1}",
		     DE "key must be a string at line 1 column 2.");
	expect_fault(&put_actions_parser, "{\"action_type\" 1}",
		     DE "expected `:` at line 1 column 16.");
	expect_fault(&put_actions_parser, "{\"action_type\": 1 \"x\": 2}",
		     DE "expected `,` or `}` at line 1 column 19.");
	expect_fault(&put_actions_parser, "{\"action_type\": \"Inst\nanceStart\"}",
		     DE
		     "control character (\\u0000-\\u001F) found while parsing a string at line 2 "
		     "column 0.");
	expect_fault(&put_actions_parser, "{\"action_type\": \"\\q\"}",
		     DE "invalid escape at line 1 column 19.");
	expect_fault(&put_actions_parser, "{\"action_type\": -}",
		     DE "invalid number at line 1 column 17.");
}

/* ---- PATCH /machine-config ---- */

static void test_machine_patch_fields(void **state)
{
	struct vmm_request req;
	struct parse_info info;

	(void)state;
	assert_int_equal(parse(&patch_machine_config_parser,
			       "{\"mem_size_mib\": 512, \"smt\": false, \"vcpu_count\": null}",
			       &req, &info),
			 0);
	assert_int_equal(req.type, REQ_PATCH_MACHINE_CONFIG);
	assert_true(req.u.machine_patch.has_mem_size_mib);
	assert_int_equal(req.u.machine_patch.mc.mem_size_mib, 512);
	assert_true(req.u.machine_patch.has_smt);
	assert_false(req.u.machine_patch.mc.smt);
	assert_false(req.u.machine_patch.has_vcpu_count);
	assert_false(req.u.machine_patch.has_track_dirty_pages);
	assert_false(req.u.machine_patch.has_huge_pages);
	assert_false(req.u.machine_patch.has_cpu_template);
	assert_false(info.deprecated);
	vmm_request_free(&req);

	assert_int_equal(
	    parse(&patch_machine_config_parser, "{\"cpu_template\": \"C3\"}", &req, &info), 0);
	assert_true(req.u.machine_patch.has_cpu_template);
	assert_string_equal(req.u.machine_patch.mc.cpu_template, "C3");
	assert_true(info.deprecated);
	assert_string_equal(info.deprecation,
			    "PATCH /machine-config: cpu_template field is deprecated.");
	vmm_request_free(&req);
}

static void test_machine_patch_empty(void **state)
{
	(void)state;
	expect_fault(&patch_machine_config_parser, "{}", "Empty PATCH request.");
	expect_fault(&patch_machine_config_parser, "{\"smt\": null, \"huge_pages\": null}",
		     "Empty PATCH request.");
	expect_fault(&patch_machine_config_parser, "{\"smtx\": true}",
		     DE
		     "unknown field `smtx`, expected one of `vcpu_count`, `mem_size_mib`, `smt`, "
		     "`cpu_template`, `track_dirty_pages`, `huge_pages` at line 1 column 7.");
}

/* ---- PUT /boot-source ---- */

static void test_boot_source(void **state)
{
	struct vmm_request req;
	struct parse_info info;

	(void)state;
	assert_int_equal(parse(&put_boot_source_parser,
			       "{\"kernel_image_path\": \"/k\", \"initrd_path\": \"/i\", "
			       "\"boot_args\": \"console=ttyS0 \\\"q\\\"\"}",
			       &req, &info),
			 0);
	assert_int_equal(req.type, REQ_PUT_BOOT_SOURCE);
	assert_string_equal(req.u.boot_source.kernel_image_path, "/k");
	assert_string_equal(req.u.boot_source.initrd_path, "/i");
	assert_string_equal(req.u.boot_source.boot_args, "console=ttyS0 \"q\"");
	vmm_request_free(&req);

	assert_int_equal(parse(&put_boot_source_parser,
			       "{\"kernel_image_path\": \"/k\", \"initrd_path\": null}", &req,
			       &info),
			 0);
	assert_null(req.u.boot_source.initrd_path);
	assert_null(req.u.boot_source.boot_args);
	vmm_request_free(&req);
}

static void test_boot_source_errors(void **state)
{
	(void)state;
	expect_fault(&put_boot_source_parser, "{\"boot_args\": \"x\"}",
		     DE "missing field `kernel_image_path` at line 1 column 18.");
	expect_fault(&put_boot_source_parser, "{\"kernel_image_path\": \"/k\", \"boot_args\": 7}",
		     DE "invalid type: integer `7`, expected a string at line 1 column 42.");
	expect_fault(&put_boot_source_parser, "{\"kernel\": \"/k\"}",
		     DE
		     "unknown field `kernel`, expected one of `kernel_image_path`, `initrd_path`, "
		     "`boot_args` at line 1 column 9.");
	/* Strings are shown the way Rust's Debug shows them. */
	expect_fault(&put_boot_source_parser, "{\"kernel_image_path\": \"/k\", \"initrd_path\": 1}",
		     DE "invalid type: integer `1`, expected a string at line 1 column 44.");
	expect_fault(&put_boot_source_parser, "{\"kernel_image_path\": true}",
		     DE "invalid type: boolean `true`, expected a string at line 1 column 26.");
}

/* ---- PUT /actions, PATCH /vm ---- */

static void test_actions(void **state)
{
	static const struct {
		const char *name;
		enum vmm_request_type type;
	} actions[] = {
	    {"InstanceStart", REQ_INSTANCE_START},
	    {"FlushMetrics", REQ_FLUSH_METRICS},
	    {"SendCtrlAltDel", REQ_SEND_CTRL_ALT_DEL},
	};
	struct vmm_request req;
	struct parse_info info;
	char body[64];

	(void)state;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		snprintf(body, sizeof(body), "{\"action_type\": \"%s\"}", actions[i].name);
		assert_int_equal(parse(&put_actions_parser, body, &req, &info), 0);
		assert_int_equal(req.type, actions[i].type);
	}
	expect_fault(&put_actions_parser, "{\"action_type\": \"Reboot\"}",
		     DE
		     "unknown variant `Reboot`, expected one of `FlushMetrics`, `InstanceStart`, "
		     "`SendCtrlAltDel` at line 1 column 24.");
	expect_fault(&put_actions_parser, "{\"action_type\": \"instancestart\"}",
		     DE "unknown variant `instancestart`, expected one of `FlushMetrics`, "
			"`InstanceStart`, `SendCtrlAltDel` at line 1 column 31.");
	expect_fault(&put_actions_parser,
		     "{\"action_type\": \"InstanceStart\", \"payload\": \"x\"}",
		     DE "unknown field `payload`, expected `action_type` at line 1 column 42.");
	expect_fault(&put_actions_parser, "{}",
		     DE "missing field `action_type` at line 1 column 2.");
}

static void test_patch_vm(void **state)
{
	struct vmm_request req;
	struct parse_info info;

	(void)state;
	assert_int_equal(parse(&patch_vm_parser, "{\"state\": \"Paused\"}", &req, &info), 0);
	assert_int_equal(req.type, REQ_PAUSE_VM);
	assert_int_equal(parse(&patch_vm_parser, "{\"state\": \"Resumed\"}", &req, &info), 0);
	assert_int_equal(req.type, REQ_RESUME_VM);
	expect_fault(&patch_vm_parser, "{\"state\": \"Running\"}",
		     DE
		     "unknown variant `Running`, expected `Paused` or `Resumed` at line 1 column "
		     "19.");
	expect_fault(&patch_vm_parser, "{\"invalid\": \"Paused\"}",
		     DE "unknown field `invalid`, expected `state` at line 1 column 10.");
}

/* ---- PUT /logger, /metrics, /serial ---- */

static void test_logger(void **state)
{
	struct vmm_request req;
	struct parse_info info;

	(void)state;
	assert_int_equal(parse(&put_logger_parser,
			       "{\"log_path\": \"/tmp/l\", \"level\": \"WaRnInG\", \"show_level\": "
			       "true, \"show_log_origin\": true}",
			       &req, &info),
			 0);
	assert_int_equal(req.type, REQ_PUT_LOGGER);
	assert_string_equal(req.u.logger.log_path, "/tmp/l");
	assert_int_equal(req.u.logger.level, LOG_WARN);
	assert_true(req.u.logger.has_show_level);
	assert_true(req.u.logger.show_level);
	assert_true(req.u.logger.has_show_log_origin);
	assert_true(req.u.logger.show_log_origin);
	vmm_request_free(&req);

	/* Everything optional: no level means Info, no flag means "leave it". */
	assert_int_equal(parse(&put_logger_parser, "{}", &req, &info), 0);
	assert_null(req.u.logger.log_path);
	assert_int_equal(req.u.logger.level, LOG_INFO);
	assert_false(req.u.logger.has_show_level);
	assert_false(req.u.logger.has_show_log_origin);
	vmm_request_free(&req);

	assert_int_equal(parse(&put_logger_parser, "{\"level\": \"trace\"}", &req, &info), 0);
	assert_int_equal(req.u.logger.level, LOG_TRACE);
	assert_int_equal(parse(&put_logger_parser, "{\"level\": \"Off\"}", &req, &info), 0);
	assert_int_equal(req.u.logger.level, LOG_OFF);
	assert_int_equal(parse(&put_logger_parser, "{\"level\": \"warn\"}", &req, &info), 0);
	assert_int_equal(req.u.logger.level, LOG_WARN);
}

static void test_logger_errors(void **state)
{
	(void)state;
	expect_fault(&put_logger_parser, "{\"level\": \"Verbose\"}",
		     DE "Invalid LevelFilter at line 1 column 19.");
	expect_fault(&put_logger_parser, "{\"level\": 3}",
		     DE "invalid type: integer `3`, expected a string at line 1 column 11.");
	expect_fault(&put_logger_parser, "{\"log_path\": 3}",
		     DE "invalid type: integer `3`, expected path string at line 1 column 14.");
	expect_fault(&put_logger_parser, "{\"modules\": \"api_server\"}",
		     DE "unknown field `modules`, expected one of `log_path`, `level`, "
			"`show_level`, `show_log_origin`, `module` at line 1 column 10.");
	expect_fault(&put_logger_parser, "{\"module\": 1}",
		     DE "invalid type: integer `1`, expected a string at line 1 column 12.");
}

/* Issue #8 (6): PUT /logger takes Firecracker's `module` filter. */
static void test_logger_module(void **state)
{
	struct vmm_request req;
	struct parse_info info;

	(void)state;
	assert_int_equal(parse(&put_logger_parser, "{\"module\": \"vmm::devices\"}", &req, &info),
			 0);
	assert_string_equal(req.u.logger.module, "vmm::devices");
	vmm_request_free(&req);
	assert_int_equal(parse(&put_logger_parser, "{\"module\": null}", &req, &info), 0);
	assert_null(req.u.logger.module);
	vmm_request_free(&req);
}

static void test_metrics_and_serial(void **state)
{
	struct vmm_request req;
	struct parse_info info;

	(void)state;
	assert_int_equal(parse(&put_metrics_parser, "{\"metrics_path\": \"/tmp/m\"}", &req, &info),
			 0);
	assert_int_equal(req.type, REQ_PUT_METRICS);
	assert_string_equal(req.u.metrics.metrics_path, "/tmp/m");
	vmm_request_free(&req);
	expect_fault(&put_metrics_parser, "{}",
		     DE "missing field `metrics_path` at line 1 column 2.");
	expect_fault(&put_metrics_parser, "{\"metrics_path\": null}",
		     DE "invalid type: null, expected path string at line 1 column 21.");
	/* MetricsConfig skips unknown keys: a missing metrics_path is the error. */
	expect_fault(&put_metrics_parser, "{\"path\": \"x\"}",
		     DE "missing field `metrics_path` at line 1 column 13.");

	assert_int_equal(
	    parse(&put_serial_parser, "{\"serial_out_path\": \"/tmp/s\"}", &req, &info), 0);
	assert_int_equal(req.type, REQ_PUT_SERIAL);
	assert_string_equal(req.u.serial.serial_out_path, "/tmp/s");
	vmm_request_free(&req);
	assert_int_equal(parse(&put_serial_parser, "{}", &req, &info), 0);
	assert_null(req.u.serial.serial_out_path);
	assert_false(req.u.serial.has_rate_limiter);
	expect_fault(&put_serial_parser, "{\"serial_out_path\": \"/s\", \"rate\": 1}",
		     DE "unknown field `rate`, expected `serial_out_path` or `rate_limiter` at "
			"line 1 column 32.");
}

/* PUT /serial's rate_limiter: one TokenBucketConfig (bytes), Firecracker 1.16. */
static void test_serial_rate_limiter(void **state)
{
	struct vmm_request req;
	struct parse_info info;

	(void)state;
	assert_int_equal(parse(&put_serial_parser,
			       "{\"serial_out_path\": \"/s\", \"rate_limiter\": {\"size\": 100, "
			       "\"one_time_burst\": 5, \"refill_time\": 1000}}",
			       &req, &info),
			 0);
	assert_string_equal(req.u.serial.serial_out_path, "/s");
	assert_true(req.u.serial.has_rate_limiter);
	assert_int_equal(req.u.serial.rate_limiter.size, 100);
	assert_int_equal(req.u.serial.rate_limiter.one_time_burst, 5);
	assert_int_equal(req.u.serial.rate_limiter.refill_time_ms, 1000);
	vmm_request_free(&req);
	/* Without a path (the limit applies to stdout); null is no limiter; unknown keys skipped.
	 */
	assert_int_equal(parse(&put_serial_parser,
			       "{\"rate_limiter\": {\"size\": 0, \"refill_time\": 0, \"x\": 1}}",
			       &req, &info),
			 0);
	assert_null(req.u.serial.serial_out_path);
	assert_true(req.u.serial.has_rate_limiter);
	assert_int_equal(req.u.serial.rate_limiter.size, 0);
	vmm_request_free(&req);
	assert_int_equal(parse(&put_serial_parser, "{\"rate_limiter\": null}", &req, &info), 0);
	assert_false(req.u.serial.has_rate_limiter);
	vmm_request_free(&req);
	expect_fault(&put_serial_parser, "{\"rate_limiter\": {\"size\": 1}}",
		     DE "missing field `refill_time` at line 1 column 28.");
	expect_fault(&put_serial_parser, "{\"rate_limiter\": {\"refill_time\": 1}}",
		     DE "missing field `size` at line 1 column 35.");
	expect_fault(&put_serial_parser, "{\"rate_limiter\": {\"size\": -1, \"refill_time\": 1}}",
		     DE "invalid value: integer `-1`, expected u64 at line 1 column 28.");
	expect_fault(&put_serial_parser, "{\"rate_limiter\": 5}",
		     DE "invalid type: integer `5`, expected struct TokenBucketConfig at line 1 "
			"column 18.");
	/* A RateLimiterConfig is not what PUT /serial takes: its keys are skipped, then missing. */
	expect_fault(&put_serial_parser,
		     "{\"rate_limiter\": {\"bandwidth\": {\"size\": 1, \"refill_time\": 1}}}",
		     DE "missing field `size` at line 1 column 61.");
}

/* ---- decoding details ---- */

static void test_escapes_and_values(void **state)
{
	struct vmm_request req;
	struct parse_info info;

	(void)state;
	/* Keys and strings are unescaped before matching. */
	assert_int_equal(
	    parse(&put_metrics_parser, "{\"metrics\\u005fpath\": \"/a\\/b\\u00e9\"}", &req, &info),
	    0);
	assert_string_equal(req.u.metrics.metrics_path, "/a/b\xc3\xa9");
	vmm_request_free(&req);
	/* Rust's Debug of the offending string, and Display of floats. */
	expect_fault(
	    &put_machine_config_parser, "{\"vcpu_count\": \"a\\\"b\\n\\t\\u0001\"}",
	    DE "invalid type: string \"a\\\"b\\n\\t\\u{1}\", expected u8 at line 1 column 31.");
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": 0.000001}",
		     DE
		     "invalid type: floating point `0.000001`, expected u8 at line 1 column 23.");
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": -2.5E0}",
		     DE "invalid type: floating point `-2.5`, expected u8 at line 1 column 21.");
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": 1e20}",
		     DE "invalid type: floating point `100000000000000000000.0`, expected u8 at "
			"line 1 column 19.");
}

/* vcpu_count @value must be refused as "floating point `@shown`" ending at column @col. */
static void expect_float_fault(const char *value, const char *shown, int col)
{
	char body[128], want[FAULT_MESSAGE_MAX];

	snprintf(body, sizeof(body), "{\"vcpu_count\": %s, \"mem_size_mib\": 128}", value);
	snprintf(want, sizeof(want),
		 DE "invalid type: floating point `%s`, expected u8 at line 1 column %d.", shown,
		 col);
	expect_fault(&put_machine_config_parser, body, want);
}

/* @lead, then @zeros '0's, then @tail: Rust's Display of a float without exponent. */
static const char *digits_text(char *buf, size_t size, const char *lead, int zeros,
			       const char *tail)
{
	size_t n = (size_t)snprintf(buf, size, "%s", lead);

	assert_true(n + (size_t)zeros + strlen(tail) < size);
	memset(buf + n, '0', (size_t)zeros);
	snprintf(buf + n + zeros, size - n - (size_t)zeros, "%s", tail);
	return buf;
}

/*
 * Issue #8 (2): a float with a large or tiny exponent, in any field, overflowed
 * format_float's stack buffer. serde shows it in full, without an exponent.
 */
static void test_float_extremes(void **state)
{
	char shown[512];

	(void)state;
	expect_float_fault("1e300", digits_text(shown, sizeof(shown), "1", 300, ".0"), 20);
	expect_float_fault("1e-300", digits_text(shown, sizeof(shown), "0.", 299, "1"), 21);
	expect_float_fault("-1e-300", digits_text(shown, sizeof(shown), "-0.", 299, "1"), 22);
	expect_float_fault("1.7976931348623157e308",
			   digits_text(shown, sizeof(shown), "17976931348623157", 292, ".0"), 37);
	expect_float_fault("5e-324", digits_text(shown, sizeof(shown), "0.", 323, "5"), 21);
	expect_float_fault("4.9e-324", digits_text(shown, sizeof(shown), "0.", 323, "5"), 23);
	expect_float_fault("1e-400", "0.0", 21);
	expect_float_fault("-0.0", "-0.0", 19);
	expect_float_fault("0e0", "0.0", 18);
	/* Any field of any route reaches the same code: a bool, a nested u64. */
	snprintf(shown, sizeof(shown),
		 DE "invalid type: floating point `1%0300d.0`, expected a boolean at line 1 "
		    "column 63.",
		 0);
	expect_fault(&put_drive_parser,
		     "{\"drive_id\": \"d\", \"path_on_host\": \"/x\", \"is_root_device\": 1e300}",
		     shown);
	snprintf(shown, sizeof(shown),
		 DE "invalid type: floating point `0.%0299d1`, expected u64 at line 1 column 40.",
		 0);
	expect_fault(&put_entropy_parser,
		     "{\"rate_limiter\": {\"ops\": {\"size\": 1e-300, \"refill_time\": 1}}}",
		     shown);
}

/*
 * Issue #8 (6): integers as serde_json reads them. A u64 takes up to 2^64-1
 * (jansson alone stops at 2^63-1); beyond, an integer is an f64, and so is
 * "-0"; a negative integer within i64 is an integer out of range.
 */
static void test_integer_ranges(void **state)
{
	struct vmm_request req;
	struct parse_info info;

	(void)state;
	assert_int_equal(parse(&put_entropy_parser,
			       "{\"rate_limiter\": {\"ops\": {\"size\": 18446744073709551615, "
			       "\"one_time_burst\": 9223372036854775808, \"refill_time\": "
			       "18446744073709551615}}}",
			       &req, &info),
			 0);
	assert_true(req.u.entropy.rate_limiter.ops.size == UINT64_MAX);
	assert_true(req.u.entropy.rate_limiter.ops.one_time_burst == 9223372036854775808ULL);
	assert_true(req.u.entropy.rate_limiter.ops.refill_time_ms == UINT64_MAX);
	vmm_request_free(&req);
	assert_int_equal(parse(&put_machine_config_parser,
			       "{\"vcpu_count\": 1, \"mem_size_mib\": 18446744073709551615}", &req,
			       &info),
			 0);
	assert_true(req.u.machine.mem_size_mib == UINT64_MAX);
	vmm_request_free(&req);
	expect_fault(&put_entropy_parser,
		     "{\"rate_limiter\": {\"ops\": {\"size\": 18446744073709551616}}}",
		     DE "invalid type: floating point `18446744073709552000.0`, expected u64 at "
			"line 1 column 54.");
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": 100000000000000000000000}",
		     DE "invalid type: floating point `100000000000000000000000.0`, expected u8 at "
			"line 1 column 39.");
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": -0}",
		     DE "invalid type: floating point `-0.0`, expected u8 at line 1 column 17.");
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": -9223372036854775808}",
		     DE "invalid value: integer `-9223372036854775808`, expected u8 at line 1 "
			"column 35.");
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": -9223372036854775809}",
		     DE
		     "invalid type: floating point `-9223372036854776000.0`, expected u8 at line "
		     "1 column 35.");
	/* Past f64 is a number error wherever it is. */
	expect_fault(&put_machine_config_parser, "{\"vcpu_count\": 1e400}",
		     DE "number out of range at line 1 column 20.");
}

/*
 * Issue #8 (6): the types without deny_unknown_fields skip unknown keys,
 * whatever their value: TokenBucketConfig, MetricsConfig, NetworkOverride,
 * VsockOverride. Known keys are still checked, duplicates still refused.
 */
static void test_unknown_keys_skipped(void **state)
{
	struct vmm_request req;
	struct parse_info info;

	(void)state;
	assert_int_equal(
	    parse(&put_entropy_parser,
		  "{\"rate_limiter\": {\"bandwidth\": {\"size\": 5, \"x\": [1, {\"y\": "
		  "null}], \"refill_time\": 7, \"one_time_brust\": 1}}}",
		  &req, &info),
	    0);
	assert_int_equal(req.u.entropy.rate_limiter.bandwidth.size, 5);
	assert_int_equal(req.u.entropy.rate_limiter.bandwidth.refill_time_ms, 7);
	assert_int_equal(req.u.entropy.rate_limiter.bandwidth.one_time_burst, 0);
	vmm_request_free(&req);
	expect_fault(&put_entropy_parser,
		     "{\"rate_limiter\": {\"ops\": {\"x\": 1, \"size\": true}}}",
		     DE "invalid type: boolean `true`, expected u64 at line 1 column 46.");
	expect_fault(&put_entropy_parser,
		     "{\"rate_limiter\": {\"ops\": {\"size\": 1, \"size\": 2}}}",
		     DE "duplicate field `size` at line 1 column 43.");
	/* RateLimiterConfig itself denies them. */
	expect_fault(&put_entropy_parser, "{\"rate_limiter\": {\"ops\": null, \"x\": 1}}",
		     DE "unknown field `x`, expected `bandwidth` or `ops` at line 1 column 34.");

	assert_int_equal(parse(&put_metrics_parser,
			       "{\"flush\": {\"a\": 1}, \"metrics_path\": \"/m\", \"z\": 0}", &req,
			       &info),
			 0);
	assert_string_equal(req.u.metrics.metrics_path, "/m");
	vmm_request_free(&req);

	assert_int_equal(
	    parse(&put_snapshot_load_parser,
		  "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"network_overrides\": "
		  "[{\"iface_id\": \"eth0\", \"mtu\": 9000, \"host_dev_name\": \"tap1\"}], "
		  "\"vsock_override\": {\"uds_path\": \"/v\", \"cid\": 4}}",
		  &req, &info),
	    0);
	assert_int_equal(req.u.snapshot_load.nr_net_overrides, 1);
	assert_string_equal(req.u.snapshot_load.net_overrides[0].host_dev_name, "tap1");
	assert_string_equal(req.u.snapshot_load.vsock_uds_path, "/v");
	vmm_request_free(&req);
}

static void test_metrics_counted(void **state)
{
	struct vmm_request req;
	struct parse_info info;

	(void)state;
	assert_int_equal(
	    parse(&put_boot_source_parser, "{\"kernel_image_path\": \"/k\"}", &req, &info), 0);
	vmm_request_free(&req);
	expect_fault(&put_boot_source_parser, "{}",
		     DE "missing field `kernel_image_path` at line 1 column 2.");
	expect_fault(&patch_vm_parser, "{}", DE "missing field `state` at line 1 column 2.");
	assert_int_equal(g_metrics.put_api_requests.boot_source_count, 2);
	assert_int_equal(g_metrics.put_api_requests.boot_source_fails, 1);
	assert_int_equal(g_metrics.patch_api_requests.vm_count, 1);
	assert_int_equal(g_metrics.patch_api_requests.vm_fails, 1);
	assert_int_equal(g_metrics.put_api_requests.actions_count, 0);
}

/* Resource IDs in paths (for /drives/{id} and the like), Firecracker's checked_id(). */
static void test_checked_id(void **state)
{
	(void)state;
	assert_int_equal(api_checked_id("rootfs_1", err, sizeof(err)), 0);
	assert_int_equal(api_checked_id("", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "The ID cannot be empty.");
	assert_int_equal(api_checked_id("root-fs", err, sizeof(err)), -EINVAL);
	assert_string_equal(
	    err, "API Resource IDs can only contain alphanumeric characters and underscores.");
	assert_int_equal(api_checked_id("a/b", err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_machine_put_all_fields, setup),
	    cmocka_unit_test_setup(test_machine_put_defaults, setup),
	    cmocka_unit_test_setup(test_machine_put_cpu_template_deprecated, setup),
	    cmocka_unit_test_setup(test_machine_put_unknown_field, setup),
	    cmocka_unit_test_setup(test_machine_put_missing_fields, setup),
	    cmocka_unit_test_setup(test_machine_put_wrong_types, setup),
	    cmocka_unit_test_setup(test_machine_put_out_of_range_integers, setup),
	    cmocka_unit_test_setup(test_machine_put_bad_enum, setup),
	    cmocka_unit_test_setup(test_machine_put_duplicate_field, setup),
	    cmocka_unit_test_setup(test_body_not_an_object, setup),
	    cmocka_unit_test_setup(test_syntax_errors, setup),
	    cmocka_unit_test_setup(test_machine_patch_fields, setup),
	    cmocka_unit_test_setup(test_machine_patch_empty, setup),
	    cmocka_unit_test_setup(test_boot_source, setup),
	    cmocka_unit_test_setup(test_boot_source_errors, setup),
	    cmocka_unit_test_setup(test_actions, setup),
	    cmocka_unit_test_setup(test_patch_vm, setup),
	    cmocka_unit_test_setup(test_logger, setup),
	    cmocka_unit_test_setup(test_logger_errors, setup),
	    cmocka_unit_test_setup(test_logger_module, setup),
	    cmocka_unit_test_setup(test_metrics_and_serial, setup),
	    cmocka_unit_test_setup(test_serial_rate_limiter, setup),
	    cmocka_unit_test_setup(test_escapes_and_values, setup),
	    cmocka_unit_test_setup(test_float_extremes, setup),
	    cmocka_unit_test_setup(test_integer_ranges, setup),
	    cmocka_unit_test_setup(test_unknown_keys_skipped, setup),
	    cmocka_unit_test_setup(test_metrics_counted, setup),
	    cmocka_unit_test(test_checked_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
