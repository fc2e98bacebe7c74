// SPDX-License-Identifier: Apache-2.0
/* The Firecracker JSON seccomp filter loader: every field, every error class. */
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
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/seccomp/seccomp_filters.h"
#include "vmm/seccomp/json.h"

static const char valid_doc[] =
    "{\n"
    "  \"vmm\": {\n"
    "    \"default_action\": \"trap\",\n"
    "    \"filter_action\": \"allow\",\n"
    "    \"comment\": \"the main thread\",\n"
    "    \"filter\": [\n"
    "      { \"syscall\": \"read\" },\n"
    "      { \"syscall\": \"ioctl\", \"comment\": \"KVM_RUN\",\n"
    "        \"args\": [ { \"index\": 1, \"type\": \"dword\", \"op\": \"eq\", \"val\": 44672,\n"
    "                      \"comment\": \"dword eq: low half only\" } ] },\n"
    "      { \"syscall\": \"mmap\",\n"
    "        \"args\": [ { \"index\": 2, \"type\": \"qword\", \"op\": { \"masked_eq\": 4 },\n"
    "                      \"val\": 0 },\n"
    "                    { \"index\": 3, \"type\": \"dword\", \"op\": \"ne\", \"val\": 16 } ] },\n"
    "      { \"syscall\": \"lseek\",\n"
    "        \"args\": [ { \"index\": 0, \"type\": \"qword\", \"op\": \"eq\", \"val\": 9 },\n"
    "                    { \"index\": 1, \"type\": \"qword\", \"op\": \"lt\", \"val\": 1 },\n"
    "                    { \"index\": 2, \"type\": \"qword\", \"op\": \"le\", \"val\": 2 } ] },\n"
    "      { \"syscall\": \"pread64\",\n"
    "        \"args\": [ { \"index\": 4, \"type\": \"qword\", \"op\": \"gt\", \"val\": 3 },\n"
    "                    { \"index\": 5, \"type\": \"qword\", \"op\": \"ge\", \"val\": "
    "9007199254740993 },\n"
    "                    { \"index\": 0, \"type\": \"dword\", \"op\": { \"masked_eq\": 8589934591 "
    "},\n"
    "                      \"val\": 5 } ] }\n"
    "    ]\n"
    "  },\n"
    "  \"api\": { \"default_action\": \"kill_process\", \"filter_action\": { \"errno\": 13 },\n"
    "           \"filter\": [ { \"syscall\": \"execve\" } ] },\n"
    "  \"vcpu\": { \"default_action\": \"allow\", \"filter_action\": \"kill_thread\",\n"
    "            \"filter\": [] }\n"
    "}\n";

static void free_all(struct seccomp_policy *p)
{
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++)
		seccomp_policy_free(&p[t]);
}

static void assert_cmp(const struct scmp_arg_cmp *c, unsigned int arg, enum scmp_compare op,
		       uint64_t a, uint64_t b)
{
	assert_int_equal(c->arg, arg);
	assert_int_equal(c->op, op);
	assert_true(c->datum_a == a);
	assert_true(c->datum_b == b);
}

static void test_valid_document(void **state)
{
	struct seccomp_policy p[SECCOMP_NR_THREADS];
	const struct seccomp_rule *r;
	char err[256] = "";

	(void)state;
	assert_int_equal(seccomp_json_parse(valid_doc, strlen(valid_doc), p, err, sizeof(err)), 0);
	assert_string_equal(err, "");

	assert_int_equal(p[SECCOMP_VMM].default_action, SCMP_ACT_TRAP);
	assert_int_equal(p[SECCOMP_VMM].filter_action, SCMP_ACT_ALLOW);
	assert_int_equal(p[SECCOMP_VMM].nr_rules, 5);
	r = p[SECCOMP_VMM].rules;
	assert_int_equal(r[0].syscall, SYS_read);
	assert_int_equal(seccomp_rule_nr_args(&r[0]), 0);

	assert_int_equal(r[1].syscall, SYS_ioctl);
	assert_int_equal(seccomp_rule_nr_args(&r[1]), 1);
	assert_cmp(&r[1].args[0], 1, SCMP_CMP_MASKED_EQ, 0xffffffffULL, 44672);
	assert_int_equal(r[1].dword, 1);

	assert_int_equal(r[2].syscall, SYS_mmap);
	assert_int_equal(seccomp_rule_nr_args(&r[2]), 2);
	assert_cmp(&r[2].args[0], 2, SCMP_CMP_MASKED_EQ, 4, 0);
	assert_cmp(&r[2].args[1], 3, SCMP_CMP_NE, 16, 0);
	/* dword ne: compiled on the low word (seccomp_compile), recorded as such. */
	assert_int_equal(r[2].dword, 2);

	assert_int_equal(r[3].syscall, SYS_lseek);
	assert_int_equal(seccomp_rule_nr_args(&r[3]), 3);
	assert_cmp(&r[3].args[0], 0, SCMP_CMP_EQ, 9, 0);
	assert_cmp(&r[3].args[1], 1, SCMP_CMP_LT, 1, 0);
	assert_cmp(&r[3].args[2], 2, SCMP_CMP_LE, 2, 0);
	assert_int_equal(r[3].dword, 0);

	/* A 64-bit value beyond double precision survives; a dword mask is cut to 32 bits. */
	assert_int_equal(r[4].syscall, SYS_pread64);
	assert_cmp(&r[4].args[0], 4, SCMP_CMP_GT, 3, 0);
	assert_cmp(&r[4].args[1], 5, SCMP_CMP_GE, 9007199254740993ULL, 0);
	assert_cmp(&r[4].args[2], 0, SCMP_CMP_MASKED_EQ, 0xffffffffULL, 5);
	assert_int_equal(r[4].dword, 4);

	assert_int_equal(p[SECCOMP_API].default_action, SCMP_ACT_KILL_PROCESS);
	assert_int_equal(p[SECCOMP_API].filter_action, SCMP_ACT_ERRNO(13));
	assert_int_equal(p[SECCOMP_API].nr_rules, 1);
	assert_int_equal(p[SECCOMP_API].rules[0].syscall, SYS_execve);

	assert_int_equal(p[SECCOMP_VCPU].default_action, SCMP_ACT_ALLOW);
	assert_int_equal(p[SECCOMP_VCPU].filter_action, SCMP_ACT_KILL_THREAD);
	assert_int_equal(p[SECCOMP_VCPU].nr_rules, 0);
	free_all(p);
}

/* The remaining actions, each in a minimal document. */
static void test_every_action(void **state)
{
	static const struct {
		const char *json;
		uint32_t action;
	} cases[] = {
	    {"\"allow\"", SCMP_ACT_ALLOW},
	    {"\"trap\"", SCMP_ACT_TRAP},
	    {"\"kill_process\"", SCMP_ACT_KILL_PROCESS},
	    {"\"kill_thread\"", SCMP_ACT_KILL_THREAD},
	    {"\"log\"", SCMP_ACT_LOG},
	    {"{\"errno\": 0}", SCMP_ACT_ERRNO(0)},
	    {"{\"errno\": 4095}", SCMP_ACT_ERRNO(4095)},
	    {"{\"trace\": 7}", SCMP_ACT_TRACE(7)},
	};
	struct seccomp_policy p[SECCOMP_NR_THREADS];
	char doc[512], err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(doc, sizeof(doc),
			 "{\"vmm\": {\"default_action\": %s, \"filter_action\": \"allow\", "
			 "\"filter\": []}, \"api\": {\"default_action\": \"trap\", "
			 "\"filter_action\": %s, \"filter\": []}, \"vcpu\": {\"default_action\": "
			 "\"trap\", \"filter_action\": \"allow\", \"filter\": []}}",
			 cases[i].json, cases[i].json);
		assert_int_equal(seccomp_json_parse(doc, strlen(doc), p, err, sizeof(err)), 0);
		assert_int_equal(p[SECCOMP_VMM].default_action, cases[i].action);
		assert_int_equal(p[SECCOMP_API].filter_action, cases[i].action);
		free_all(p);
	}
}

/* A bad document: -EINVAL, nothing allocated, and @expect in the message. */
static void expect_error(const char *doc, const char *expect)
{
	struct seccomp_policy p[SECCOMP_NR_THREADS];
	char err[512] = "";

	assert_int_equal(seccomp_json_parse(doc, strlen(doc), p, err, sizeof(err)), -EINVAL);
	if (!strstr(err, expect))
		fail_msg("error \"%s\" does not contain \"%s\"", err, expect);
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++) {
		assert_null(p[t].rules);
		assert_int_equal(p[t].nr_rules, 0);
	}
}

/* A document whose vcpu filter is @vcpu_filter, the others fine. */
static void expect_vcpu_error(const char *vcpu_filter, const char *expect)
{
	char doc[1024];

	snprintf(doc, sizeof(doc),
		 "{\"vmm\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", "
		 "\"filter\": [{\"syscall\": \"read\"}]}, \"api\": {\"default_action\": \"trap\", "
		 "\"filter_action\": \"allow\", \"filter\": []}, \"vcpu\": %s}",
		 vcpu_filter);
	expect_error(doc, expect);
}

#define VCPU_RULE(rule)                                                                            \
	"{\"default_action\": \"trap\", \"filter_action\": \"allow\", \"filter\": "                \
	"[{\"syscall\": \"write\"}, " rule "]}"
#define VCPU_ARG(arg) VCPU_RULE("{\"syscall\": \"ioctl\", \"args\": [" arg "]}")

static void test_error_syntax(void **state)
{
	(void)state;
	expect_error("{\"vmm\": {\n  \"default_action\": \"trap\",,\n", "invalid JSON at line 2");
	expect_error("", "invalid JSON");
	expect_error("[]", "(top level): must be an object, not an array");
	expect_error("{\"vmm\": {}, \"vmm\": {}}", "invalid JSON"); /* duplicate key */
}

static void test_error_thread_category(void **state)
{
	(void)state;
	expect_error("{\"vmm\": {}, \"api\": {}, \"vcpu\": {}, \"vcpus\": {}}",
		     "unknown thread category \"vcpus\"");
	expect_error("{\"vmm\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", "
		     "\"filter\": []}, \"api\": {\"default_action\": \"trap\", "
		     "\"filter_action\": \"allow\", \"filter\": []}}",
		     "missing thread category \"vcpu\"");
	expect_error("{}", "missing thread category \"vmm\"");
}

static void test_error_filter_object(void **state)
{
	(void)state;
	expect_vcpu_error("[]", "vcpu: must be an object, not an array");
	expect_vcpu_error("{\"default_action\": \"trap\", \"filter\": []}",
			  "vcpu: missing \"filter_action\"");
	expect_vcpu_error("{\"default_action\": \"trap\", \"filter_action\": \"allow\"}",
			  "vcpu: missing \"filter\"");
	expect_vcpu_error("{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
			  "\"filter\": {}}",
			  "vcpu.filter: must be an array, not an object");
	expect_vcpu_error("{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
			  "\"filter\": [], \"filters\": []}",
			  "vcpu: unknown key \"filters\"");
	expect_vcpu_error("{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
			  "\"filter\": [], \"comment\": 5}",
			  "vcpu.comment: must be a string, not an integer");
}

static void test_error_action(void **state)
{
	(void)state;
	expect_vcpu_error("{\"default_action\": \"deny\", \"filter_action\": \"allow\", "
			  "\"filter\": []}",
			  "vcpu.default_action: unknown action \"deny\"");
	expect_vcpu_error("{\"default_action\": \"trap\", \"filter_action\": 1, \"filter\": []}",
			  "vcpu.filter_action: bad action: an integer");
	expect_vcpu_error("{\"default_action\": {\"errno\": 4096}, \"filter_action\": \"allow\", "
			  "\"filter\": []}",
			  "vcpu.default_action.errno: 4096 is out of range (0 to 4095)");
	expect_vcpu_error("{\"default_action\": {\"errno\": \"EPERM\"}, \"filter_action\": "
			  "\"allow\", \"filter\": []}",
			  "vcpu.default_action.errno: must be an integer, not a string");
	expect_vcpu_error("{\"default_action\": {\"signal\": 9}, \"filter_action\": \"allow\", "
			  "\"filter\": []}",
			  "vcpu.default_action: bad action: an object");
}

static void test_error_rule(void **state)
{
	(void)state;
	expect_vcpu_error(VCPU_RULE("{\"syscall\": \"no_such_call\"}"),
			  "vcpu.filter[1].syscall: unknown syscall \"no_such_call\"");
	/* Exists on i386 (socketcall), not on x86_64. */
	expect_vcpu_error(VCPU_RULE("{\"syscall\": \"socketcall\"}"),
			  "unknown syscall \"socketcall\" on this architecture");
	expect_vcpu_error(VCPU_RULE("{\"syscall\": 16}"),
			  "vcpu.filter[1].syscall: must be a string, not an integer");
	expect_vcpu_error(VCPU_RULE("{\"args\": []}"), "vcpu.filter[1]: missing \"syscall\"");
	expect_vcpu_error(VCPU_RULE("\"read\""), "vcpu.filter[1]: must be an object, not a string");
	expect_vcpu_error(VCPU_RULE("{\"syscall\": \"read\", \"arg\": []}"),
			  "vcpu.filter[1]: unknown key \"arg\"");
	expect_vcpu_error(VCPU_RULE("{\"syscall\": \"read\", \"args\": {}}"),
			  "vcpu.filter[1].args: must be an array, not an object");
	expect_vcpu_error(VCPU_RULE("{\"syscall\": \"read\", \"args\": [1,2,3,4,5,6,7]}"),
			  "vcpu.filter[1].args: 7 conditions, at most 6");
}

static void test_error_arg(void **state)
{
	(void)state;
	expect_vcpu_error(VCPU_ARG("{\"index\": 1, \"type\": \"dword\", \"op\": \"equal\", "
				   "\"val\": 1}"),
			  "vcpu.filter[1].args[0].op: unknown operator \"equal\"");
	expect_vcpu_error(VCPU_ARG("{\"index\": 1, \"type\": \"dword\", \"op\": \"masked_eq\", "
				   "\"val\": 1}"),
			  "vcpu.filter[1].args[0].op: masked_eq needs its mask");
	expect_vcpu_error(VCPU_ARG("{\"index\": 1, \"type\": \"dword\", \"op\": [\"eq\"], "
				   "\"val\": 1}"),
			  "vcpu.filter[1].args[0].op: bad operator: an array");
	expect_vcpu_error(VCPU_ARG("{\"index\": 1, \"type\": \"dword\", \"val\": 1}"),
			  "vcpu.filter[1].args[0]: missing \"op\"");
	expect_vcpu_error(VCPU_ARG("{\"index\": 6, \"type\": \"dword\", \"op\": \"eq\", "
				   "\"val\": 1}"),
			  "vcpu.filter[1].args[0].index: 6 is out of range (0 to 5)");
	expect_vcpu_error(VCPU_ARG("{\"index\": \"1\", \"type\": \"dword\", \"op\": \"eq\", "
				   "\"val\": 1}"),
			  "vcpu.filter[1].args[0].index: must be an integer, not a string");
	expect_vcpu_error(VCPU_ARG("{\"index\": 1, \"type\": \"word\", \"op\": \"eq\", "
				   "\"val\": 1}"),
			  "vcpu.filter[1].args[0].type: unknown type \"word\"");
	expect_vcpu_error(VCPU_ARG("{\"index\": 1, \"op\": \"eq\", \"val\": 1}"),
			  "vcpu.filter[1].args[0]: missing \"type\"");
	expect_vcpu_error(
	    VCPU_ARG("{\"index\": 1, \"type\": \"dword\", \"op\": \"eq\", "
		     "\"val\": 4294967296}"),
	    "vcpu.filter[1].args[0].val: 4294967296 is out of range (0 to 4294967295)");
	expect_vcpu_error(VCPU_ARG("{\"index\": 1, \"type\": \"qword\", \"op\": \"eq\", "
				   "\"val\": -1}"),
			  "vcpu.filter[1].args[0].val: -1 is out of range");
	expect_vcpu_error(
	    VCPU_ARG("{\"index\": 1, \"type\": \"qword\", \"op\": \"eq\", "
		     "\"val\": 1.5}"),
	    "vcpu.filter[1].args[0].val: must be an integer, not a number with a fraction");
	expect_vcpu_error(VCPU_ARG("{\"index\": 1, \"type\": \"qword\", \"op\": \"eq\"}"),
			  "vcpu.filter[1].args[0]: missing \"val\"");
	expect_vcpu_error(VCPU_ARG("{\"index\": 1, \"type\": \"qword\", \"op\": \"eq\", "
				   "\"val\": 1, \"value\": 2}"),
			  "vcpu.filter[1].args[0]: unknown key \"value\"");
	expect_vcpu_error(VCPU_ARG("7"),
			  "vcpu.filter[1].args[0]: must be an object, not an integer");
}

/* seccomp_json_load and seccomp_filters_load on files. */
static void test_files(void **state)
{
	char path[] = "/tmp/ember-seccomp-json-XXXXXX";
	struct seccomp_policy p[SECCOMP_NR_THREADS];
	struct seccomp_filters f;
	char err[512];
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, valid_doc, strlen(valid_doc)), (ssize_t)strlen(valid_doc));
	close(fd);

	assert_int_equal(seccomp_json_load(path, p, err, sizeof(err)), 0);
	assert_int_equal(p[SECCOMP_VMM].nr_rules, 5);
	free_all(p);

	/* The compiled filters: a real BPF program for each thread. */
	assert_int_equal(seccomp_filters_load(&f, path, err, sizeof(err)), 0);
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++) {
		assert_non_null(f.prog[t].insns);
		assert_true(f.prog[t].len > 0);
	}
	seccomp_filters_free(&f);
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++)
		assert_int_equal(f.prog[t].len, 0);

	/* A parse error names the file. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"vmm\": 1}", 10), 10);
	close(fd);
	assert_int_equal(seccomp_filters_load(&f, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "vmm: must be an object, not an integer"));
	assert_null(f.prog[SECCOMP_VMM].insns);

	unlink(path);
	assert_int_equal(seccomp_filters_load(&f, path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot open the seccomp filter file"));
	assert_non_null(strstr(err, path));
}

/* A rule whose action is the default action: a clear load error naming the file. */
static void test_compile_error(void **state)
{
	static const char doc[] =
	    "{\"vmm\": {\"default_action\": \"allow\", \"filter_action\": \"allow\", "
	    "\"filter\": [{\"syscall\": \"read\"}]}, \"api\": {\"default_action\": \"trap\", "
	    "\"filter_action\": \"allow\", \"filter\": []}, \"vcpu\": {\"default_action\": "
	    "\"trap\", \"filter_action\": \"allow\", \"filter\": []}}";
	char path[] = "/tmp/ember-seccomp-json-XXXXXX";
	struct seccomp_filters f;
	char err[512];
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
	close(fd);
	assert_true(seccomp_filters_load(&f, path, err, sizeof(err)) < 0);
	unlink(path);
	if (!strstr(err, ": vmm filter: filter_action and default_action are the same action"))
		fail_msg("unexpected error: %s", err);
	assert_memory_equal(err, path, strlen(path));
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++)
		assert_null(f.prog[t].insns);
}

/* dword comparisons multiply into rules: a rule that would need too many is refused, named. */
static void test_dword_expansion_limit(void **state)
{
	static const char doc[] =
	    "{\"vmm\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", "
	    "\"filter\": [{\"syscall\": \"read\", \"args\": ["
	    "{\"index\": 0, \"type\": \"dword\", \"op\": \"ne\", \"val\": 1}, "
	    "{\"index\": 1, \"type\": \"dword\", \"op\": \"ne\", \"val\": 1}, "
	    "{\"index\": 2, \"type\": \"dword\", \"op\": \"ne\", \"val\": 1}]}]}, "
	    "\"api\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", "
	    "\"filter\": [{\"syscall\": \"read\", \"args\": ["
	    "{\"index\": 0, \"type\": \"dword\", \"op\": \"ne\", \"val\": 1}, "
	    "{\"index\": 2, \"type\": \"dword\", \"op\": \"lt\", \"val\": 1024}, "
	    "{\"index\": 1, \"type\": \"dword\", \"op\": \"ge\", \"val\": 0}]}]}, "
	    "\"vcpu\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", "
	    "\"filter\": []}}";
	struct seccomp_policy p[SECCOMP_NR_THREADS];
	struct seccomp_program prog;
	char err[256] = "";

	(void)state;
	assert_int_equal(seccomp_json_parse(doc, strlen(doc), p, err, sizeof(err)), 0);
	/* 32 * 32 * 32 alternatives: too many. */
	assert_int_equal(seccomp_compile(&p[SECCOMP_VMM], &prog, err, sizeof(err)), -E2BIG);
	if (!strstr(err, "a rule for read: its dword comparisons need more than 1024 rules"))
		fail_msg("unexpected error: %s", err);
	assert_null(prog.insns);
	/* 32 * 1, "ge 0" holds for anything: fine. */
	assert_int_equal(seccomp_compile(&p[SECCOMP_API], &prog, err, sizeof(err)), 0);
	assert_true(prog.len > 0 && prog.len <= BPF_MAXINSNS);
	seccomp_program_free(&prog);
	free_all(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_document),
	    cmocka_unit_test(test_every_action),
	    cmocka_unit_test(test_error_syntax),
	    cmocka_unit_test(test_error_thread_category),
	    cmocka_unit_test(test_error_filter_object),
	    cmocka_unit_test(test_error_action),
	    cmocka_unit_test(test_error_rule),
	    cmocka_unit_test(test_error_arg),
	    cmocka_unit_test(test_files),
	    cmocka_unit_test(test_compile_error),
	    cmocka_unit_test(test_dword_expansion_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
