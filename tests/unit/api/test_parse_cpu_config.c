// SPDX-License-Identifier: Apache-2.0
/*
 * PUT /cpu-config and the config file's "cpu-config": Firecracker's
 * CustomCpuTemplate with every field, and every error with serde's and
 * Firecracker's exact text (bitmaps, prefixed numbers, registers, KVM
 * capabilities), as Firecracker 1.16 answers them.
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

#include "api/config_file.h"
#include "api/parse_cpu_config.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"

#define DE DESERIALIZE_ERROR_PREFIX

static char err[FAULT_MESSAGE_MAX];

static int parse(const char *body, struct vmm_request *req)
{
	struct parse_info info;

	err[0] = '\0';
	return api_parse_body(&put_cpu_config_parser, NULL, body, strlen(body), req, &info, err,
			      sizeof(err));
}

/* The body must be refused with exactly DE + @message + ".". */
static void expect_fault(const char *body, const char *message)
{
	struct vmm_request req;
	char want[FAULT_MESSAGE_MAX];

	assert_int_equal(parse(body, &req), -EINVAL);
	snprintf(want, sizeof(want), "%s%s.", DE, message);
	assert_string_equal(err, want);
}

/* One CPUID leaf modifier of @body_leaf (a JSON object) must be refused with @message. */
static void expect_leaf_fault(const char *leaf, const char *message)
{
	char body[1024];

	snprintf(body, sizeof(body), "{\"cpuid_modifiers\": [%s]}", leaf);
	expect_fault(body, message);
}

static int setup(void **state)
{
	(void)state;
	metrics_reset();
	log_set_level(LOG_OFF);
	return 0;
}

/* ---- the string forms ---- */

static void test_bitmap(void **state)
{
	char long_map[70], want[256], msg[256];
	uint64_t f, v;

	(void)state;
	assert_int_equal(cpu_config_parse_bitmap("0bxxxxxxxxxxxxxxxxxxxxxxxxxx0xxxx1", 32, &f, &v,
						 msg, sizeof(msg)),
			 0);
	assert_int_equal(f, 0x21);
	assert_int_equal(v, 0x1);
	/* All 32 bits set by the template. */
	assert_int_equal(cpu_config_parse_bitmap("0b10000000000000000000000000000001", 32, &f, &v,
						 msg, sizeof(msg)),
			 0);
	assert_int_equal(f, 0xffffffff);
	assert_int_equal(v, 0x80000001);
	/* As Firecracker: "0b" is optional, '_' is skipped, missing high bits are x. */
	assert_int_equal(cpu_config_parse_bitmap("1_0x", 32, &f, &v, msg, sizeof(msg)), 0);
	assert_int_equal(f, 0x6);
	assert_int_equal(v, 0x4);
	assert_int_equal(cpu_config_parse_bitmap("0b", 32, &f, &v, msg, sizeof(msg)), 0);
	assert_int_equal(f, 0);
	/* 64 bits for an MSR: "0b1", 62 x, "0". */
	memset(long_map, 'x', sizeof(long_map) - 1);
	memcpy(long_map, "0b1", 3);
	long_map[65] = '0';
	long_map[66] = '\0';
	assert_int_equal(cpu_config_parse_bitmap(long_map, 64, &f, &v, msg, sizeof(msg)), 0);
	assert_true(f == 0x8000000000000001ULL);
	assert_true(v == 0x8000000000000000ULL);
	/* Too long: 33 digits (the check comes before the 33rd digit is looked at). */
	assert_int_equal(cpu_config_parse_bitmap("0bz00000000000000000000000000000000", 32, &f, &v,
						 msg, sizeof(msg)),
			 -EINVAL);
	assert_string_equal(msg, "Failed to parse string [0bz00000000000000000000000000000000] "
				 "as a bitmap - string is too long");
	/* 65 digits for 64 bits. */
	long_map[66] = 'x';
	long_map[67] = '\0';
	assert_int_equal(cpu_config_parse_bitmap(long_map, 64, &f, &v, msg, sizeof(msg)), -EINVAL);
	snprintf(want, sizeof(want), "Failed to parse string [%s] as a bitmap - string is too long",
		 long_map);
	assert_string_equal(msg, want);
	/* A bad character: Rust prints the byte as a number. */
	assert_int_equal(cpu_config_parse_bitmap("0b1y0", 32, &f, &v, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg,
			    "Failed to parse string [0b1y0] as a bitmap - unknown character: 121");
	assert_int_equal(cpu_config_parse_bitmap("0B10", 32, &f, &v, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg,
			    "Failed to parse string [0B10] as a bitmap - unknown character: 66");
	assert_int_equal(cpu_config_parse_bitmap("1\xc3\xa9", 32, &f, &v, msg, sizeof(msg)),
			 -EINVAL);
	assert_string_equal(msg, "Failed to parse string [1\xc3\xa9] as a bitmap - unknown "
				 "character: 169");
}

static void test_number(void **state)
{
	uint32_t v;
	char msg[256];

	(void)state;
	assert_int_equal(cpu_config_parse_u32("0x8000001d", &v, msg, sizeof(msg)), 0);
	assert_int_equal(v, 0x8000001d);
	assert_int_equal(cpu_config_parse_u32("0xFFffFFff", &v, msg, sizeof(msg)), 0);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(cpu_config_parse_u32("0b101", &v, msg, sizeof(msg)), 0);
	assert_int_equal(v, 5);
	assert_int_equal(cpu_config_parse_u32("0x+7", &v, msg, sizeof(msg)),
			 0); /* from_str_radix */
	assert_int_equal(v, 7);
	assert_int_equal(cpu_config_parse_u32("7", &v, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg,
			    "No supported number system prefix found in value [7]. Make sure "
			    "to prefix the number with '0x' for hexadecimal numbers or '0b' for "
			    "binary numbers.");
	assert_int_equal(cpu_config_parse_u32("0X7", &v, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(cpu_config_parse_u32("0x", &v, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "Failed to parse string [0x] as a number for CPU template - "
				 "ParseIntError { kind: Empty }");
	assert_int_equal(cpu_config_parse_u32("0xg", &v, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "Failed to parse string [0xg] as a number for CPU template - "
				 "ParseIntError { kind: InvalidDigit }");
	assert_int_equal(cpu_config_parse_u32("0b102", &v, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "Failed to parse string [0b102] as a number for CPU template - "
				 "ParseIntError { kind: InvalidDigit }");
	assert_int_equal(cpu_config_parse_u32("0x-1", &v, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "Failed to parse string [0x-1] as a number for CPU template - "
				 "ParseIntError { kind: InvalidDigit }");
	assert_int_equal(cpu_config_parse_u32("0x+", &v, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "Failed to parse string [0x+] as a number for CPU template - "
				 "ParseIntError { kind: InvalidDigit }");
	assert_int_equal(cpu_config_parse_u32("0x100000000", &v, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "Failed to parse string [0x100000000] as a number for CPU "
				 "template - ParseIntError { kind: PosOverflow }");
}

static void test_kvm_cap(void **state)
{
	uint32_t cap;
	int remove;
	char msg[256];

	(void)state;
	assert_int_equal(cpu_config_parse_kvm_cap("56", &cap, &remove, msg, sizeof(msg)), 0);
	assert_int_equal(cap, 56);
	assert_int_equal(remove, 0);
	assert_int_equal(cpu_config_parse_kvm_cap("!4294967295", &cap, &remove, msg, sizeof(msg)),
			 0);
	assert_int_equal(cap, 4294967295U);
	assert_int_equal(remove, 1);
	assert_int_equal(cpu_config_parse_kvm_cap("0x5", &cap, &remove, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "Failed to parse string [0x5] as a kvm capability - can not "
				 "convert to numeric: invalid digit found in string");
	assert_int_equal(cpu_config_parse_kvm_cap("!", &cap, &remove, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "Failed to parse string [!] as a kvm capability - can not "
				 "convert to numeric: cannot parse integer from empty string");
	assert_int_equal(cpu_config_parse_kvm_cap("4294967296", &cap, &remove, msg, sizeof(msg)),
			 -EINVAL);
	assert_string_equal(msg, "Failed to parse string [4294967296] as a kvm capability - can "
				 "not convert to numeric: number too large to fit in target type");
}

/* ---- whole templates ---- */

static void test_full_template(void **state)
{
	struct vmm_request req;
	const struct cpu_template *t;

	(void)state;
	assert_int_equal(
	    parse("{\"kvm_capabilities\": [\"33\", \"!56\"],"
		  " \"cpuid_modifiers\": [{\"leaf\": \"0x7\", \"subleaf\": \"0b0\", \"flags\": 1,"
		  "   \"modifiers\": [{\"register\": \"eax\", \"bitmap\": \"0b1x\"},"
		  "                   {\"register\": \"ebx\", \"bitmap\": \"0bxxxx_xxxx_0\"},"
		  "                   {\"register\": \"ecx\", \"bitmap\": \"1\", \"comment\": 1},"
		  "                   {\"register\": \"edx\", \"bitmap\": \"0\"}],"
		  "   \"unknown\": null},"
		  "  {\"leaf\": \"0x80000001\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": "
		  "[]}],"
		  " \"msr_modifiers\": [{\"addr\": \"0x10a\", \"bitmap\": \"0b1_0xx\", \"x\": 2}]}",
		  &req),
	    0);
	assert_int_equal(req.type, REQ_PUT_CPU_CONFIG);
	t = req.u.cpu_config;
	assert_int_equal(t->nr_kvm_caps, 2);
	assert_int_equal(t->kvm_caps[0].cap, 33);
	assert_false(t->kvm_caps[0].remove);
	assert_int_equal(t->kvm_caps[1].cap, 56);
	assert_true(t->kvm_caps[1].remove);
	assert_int_equal(t->nr_cpuid, 2);
	assert_int_equal(t->cpuid[0].leaf, 7);
	assert_int_equal(t->cpuid[0].subleaf, 0);
	assert_int_equal(t->cpuid[0].flags, 1);
	assert_int_equal(t->cpuid[0].nr_mods, 4);
	assert_int_equal(t->cpuid[0].mods[0].reg, CPUID_REG_EAX);
	assert_int_equal(t->cpuid[0].mods[0].filter, 0x2);
	assert_int_equal(t->cpuid[0].mods[0].value, 0x2);
	assert_int_equal(t->cpuid[0].mods[1].reg, CPUID_REG_EBX);
	assert_int_equal(t->cpuid[0].mods[1].filter, 0x1);
	assert_int_equal(t->cpuid[0].mods[1].value, 0x0);
	assert_int_equal(t->cpuid[0].mods[2].reg, CPUID_REG_ECX);
	assert_int_equal(t->cpuid[0].mods[2].value, 0x1);
	assert_int_equal(t->cpuid[0].mods[3].reg, CPUID_REG_EDX);
	assert_int_equal(t->cpuid[0].mods[3].filter, 0x1);
	assert_int_equal(t->cpuid[1].leaf, 0x80000001);
	assert_int_equal(t->cpuid[1].nr_mods, 0);
	assert_int_equal(t->nr_msrs, 1);
	assert_int_equal(t->msrs[0].addr, 0x10a);
	assert_true(t->msrs[0].filter == 0xc);
	assert_true(t->msrs[0].value == 0x8);
	vmm_request_free(&req);
	assert_int_equal(g_metrics.put_api_requests.cpu_cfg_count, 1);
	assert_int_equal(g_metrics.put_api_requests.cpu_cfg_fails, 0);

	/* Every list defaults to empty. */
	assert_int_equal(parse("{ }", &req), 0);
	assert_int_equal(req.u.cpu_config->nr_cpuid + req.u.cpu_config->nr_msrs +
			     req.u.cpu_config->nr_kvm_caps,
			 0);
	vmm_request_free(&req);
}

static void test_template_errors(void **state)
{
	(void)state;
	expect_fault("{\"cpuid\": []}",
		     "unknown field `cpuid`, expected one of `kvm_capabilities`, "
		     "`cpuid_modifiers`, `msr_modifiers` at line 1 column 8");
	expect_fault("\"x\"", "invalid type: string \"x\", expected struct CustomCpuTemplate at "
			      "line 1 column 3");
	expect_fault("{\"kvm_capabilities\": [\"1\", \"x\"]}",
		     "Failed to parse string [x] as a kvm capability - can not convert to numeric: "
		     "invalid digit found in string at line 1 column 30");
	expect_fault("{\"kvm_capabilities\": [1]}",
		     "invalid type: integer `1`, expected a string at line 1 column 23");
	expect_fault("{\"kvm_capabilities\": null}",
		     "invalid type: null, expected a sequence at line 1 column 25");
	expect_fault("{\"msr_modifiers\": [{\"addr\": \"0x10a\"}]}",
		     "missing field `bitmap` at line 1 column 36");
	expect_fault("{\"msr_modifiers\": [{\"addr\": \"266\", \"bitmap\": \"0\"}]}",
		     "No supported number system prefix found in value [266]. Make sure to prefix "
		     "the number with '0x' for hexadecimal numbers or '0b' for binary numbers. at "
		     "line 1 column 33");
	expect_fault("{\"msr_modifiers\": [{\"addr\": \"0x10a\", \"bitmap\": \"0b2\"}]}",
		     "Failed to parse string [0b2] as a bitmap - unknown character: 50 at line 1 "
		     "column 52");
	assert_int_equal(g_metrics.put_api_requests.cpu_cfg_fails, 8);
}

static void test_leaf_errors(void **state)
{
	(void)state;
	expect_leaf_fault("{\"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": []}",
			  "missing field `leaf` at line 1 column 68");
	expect_leaf_fault("{\"leaf\": \"0x0\", \"flags\": 0, \"modifiers\": []}",
			  "missing field `subleaf` at line 1 column 65");
	expect_leaf_fault("{\"leaf\": \"0x0\", \"subleaf\": \"0x0\", \"modifiers\": []}",
			  "missing field `flags` at line 1 column 71");
	expect_leaf_fault("{\"leaf\": \"0x0\", \"subleaf\": \"0x0\", \"flags\": 0}",
			  "missing field `modifiers` at line 1 column 66");
	expect_leaf_fault("{\"leaf\": 7, \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": []}",
			  "invalid type: integer `7`, expected a string at line 1 column 31");
	expect_leaf_fault(
	    "{\"leaf\": \"0xz\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": []}",
	    "Failed to parse string [0xz] as a number for CPU template - ParseIntError "
	    "{ kind: InvalidDigit } at line 1 column 35");
	expect_leaf_fault("{\"leaf\": \"0x1\", \"subleaf\": \"0x1ffffffff\", \"flags\": 0, "
			  "\"modifiers\": []}",
			  "Failed to parse string [0x1ffffffff] as a number for CPU template - "
			  "ParseIntError { kind: PosOverflow } at line 1 column 61");
	expect_leaf_fault(
	    "{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": \"1\", \"modifiers\": []}",
	    "invalid type: string \"1\", expected u32 at line 1 column 67");
	expect_leaf_fault(
	    "{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": -1, \"modifiers\": []}",
	    "invalid value: integer `-1`, expected u32 at line 1 column 66");
	expect_leaf_fault("{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": "
			  "[{\"register\": \"rax\", \"bitmap\": \"0\"}]}",
			  "Invalid CPUID register. Must be one of [eax, ebx, ecx, edx] at line 1 "
			  "column 99");
	expect_leaf_fault("{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": "
			  "[{\"register\": \"eax\"}]}",
			  "missing field `bitmap` at line 1 column 100");
	expect_leaf_fault(
	    "{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": "
	    "[{\"register\": \"eax\", \"bitmap\": "
	    "\"0b000000000000000000000000000000000\"}]}",
	    "Failed to parse string [0b000000000000000000000000000000000] as a bitmap "
	    "- string is too long at line 1 column 148");
}

/* ---- the config file's "cpu-config" section ---- */

static void test_config_file(void **state)
{
	struct vmm_request *reqs = NULL;
	size_t nr = 0;

	(void)state;
	/* Applied after machine-config, whatever the key order (Firecracker's from_json). */
	assert_int_equal(
	    config_file_parse("{\"cpu-config\": {\"cpuid_modifiers\": [{\"leaf\": \"0x1\", "
			      "\"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": []}]}, "
			      "\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 64}, "
			      "\"boot-source\": {\"kernel_image_path\": \"/k\"}}",
			      &reqs, &nr, err, sizeof(err)),
	    0);
	assert_int_equal(nr, 3);
	assert_int_equal(reqs[0].type, REQ_PUT_MACHINE_CONFIG);
	assert_int_equal(reqs[1].type, REQ_PUT_CPU_CONFIG);
	assert_int_equal(reqs[1].u.cpu_config->nr_cpuid, 1);
	assert_int_equal(reqs[2].type, REQ_PUT_BOOT_SOURCE);
	for (size_t i = 0; i < nr; i++)
		vmm_request_free(&reqs[i]);
	free(reqs);
	assert_int_equal(config_file_parse("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
					   "\"cpu-config\": {\"msr_modifiers\": [{\"addr\": "
					   "\"0x10a\", \"bitmap\": \"0bq\"}]}}",
					   &reqs, &nr, err, sizeof(err)),
			 -EINVAL);
	assert_null(reqs);
	assert_string_equal(err, "Invalid JSON: data did not match any variant of untagged enum "
				 "CustomCpuTemplateOrPath at line 1 column 114");
	assert_int_equal(config_file_parse("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
					   "\"cpu-config\": 5}",
					   &reqs, &nr, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "Invalid JSON: data did not match any variant of untagged enum "
				 "CustomCpuTemplateOrPath at line 1 column 60");
	/* null: no template. */
	assert_int_equal(config_file_parse("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
					   "\"cpu-config\": null}",
					   &reqs, &nr, err, sizeof(err)),
			 0);
	assert_int_equal(nr, 1);
	vmm_request_free(&reqs[0]);
	free(reqs);
}

/* Firecracker's other form: the path of a file holding the template. */
static void test_config_file_path(void **state)
{
	char dir[] = "/tmp/ember-cpucfg-XXXXXX", path[64], doc[256];
	struct vmm_request *reqs = NULL;
	size_t nr = 0;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.json", dir);
	snprintf(doc, sizeof(doc),
		 "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, \"cpu-config\": \"%s\"}",
		 path);
	/* Missing: std::fs::read_to_string's error. */
	assert_int_equal(config_file_parse(doc, &reqs, &nr, err, sizeof(err)), -ENOENT);
	assert_null(reqs);
	assert_string_equal(err, "File operation error: No such file or directory (os error 2)");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"msr_modifiers\": [{\"addr\": \"0x277\", \"bitmap\": \"0b1\"}]}", f);
	fclose(f);
	assert_int_equal(config_file_parse(doc, &reqs, &nr, err, sizeof(err)), 0);
	assert_int_equal(nr, 2);
	assert_int_equal(reqs[0].type, REQ_PUT_CPU_CONFIG);
	assert_int_equal(reqs[0].u.cpu_config->nr_msrs, 1);
	assert_int_equal(reqs[0].u.cpu_config->msrs[0].addr, 0x277);
	for (size_t i = 0; i < nr; i++)
		vmm_request_free(&reqs[i]);
	free(reqs);
	/* The file's own errors, positions in the file, as CustomCpuTemplate::try_from. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"msr_modifiers\": [{\"addr\": \"0x277\", \"bitmap\": \"0b3\"}]}", f);
	fclose(f);
	assert_int_equal(config_file_parse(doc, &reqs, &nr, err, sizeof(err)), -EINVAL);
	assert_null(reqs);
	assert_string_equal(err, "Invalid JSON: Failed to parse string [0b3] as a bitmap - unknown "
				 "character: 51 at line 1 column 52");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_bitmap, setup),
	    cmocka_unit_test_setup(test_number, setup),
	    cmocka_unit_test_setup(test_kvm_cap, setup),
	    cmocka_unit_test_setup(test_full_template, setup),
	    cmocka_unit_test_setup(test_template_errors, setup),
	    cmocka_unit_test_setup(test_leaf_errors, setup),
	    cmocka_unit_test_setup(test_config_file, setup),
	    cmocka_unit_test_setup(test_config_file_path, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
