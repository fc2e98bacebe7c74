// SPDX-License-Identifier: Apache-2.0
/*
 * ember-jailer command line: options, defaults, "--" forwarding, and every
 * validation rule (id, uid/gid and root, cgroup and rlimit specs, parent
 * cgroup). The jailer's sources are not in libember.a, so the unit under
 * test is compiled in here.
 */
#include "jailer/args.c"
#include "jailer/msg.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define MAX_ARGV 80

struct argv_buf {
	char *v[MAX_ARGV];
	int n;
};

/* Build argv from a NULL-terminated list (argv[0] = "ember-jailer"). */
static struct argv_buf mkargv(const char *first, ...)
{
	struct argv_buf b = {.n = 0};
	const char *s;
	va_list ap;

	b.v[b.n++] = "ember-jailer";
	va_start(ap, first);
	for (s = first; s; s = va_arg(ap, const char *))
		b.v[b.n++] = (char *)s;
	va_end(ap);
	b.v[b.n] = NULL;
	return b;
}

static int parse(struct jail_args *a, struct argv_buf *b, char *err)
{
	err[0] = '\0';
	return jail_args_parse(a, b->n, b->v, err, 512);
}

#define BASIC "--id", "vm-1", "--exec-file", "/usr/bin/ember", "--uid", "123", "--gid", "100"

static void full_command_line(void **state)
{
	struct argv_buf b =
	    mkargv(BASIC, "--chroot-base-dir", "/tmp/jails", "--netns", "/run/netns/a",
		   "--daemonize", "--new-pid-ns", "--cgroup", "cpu.shares=512", "--cgroup",
		   "cpuset.cpus=0-1", "--cgroup-version", "2", "--parent-cgroup", "all/vms",
		   "--resource-limit", "fsize=1048576", "--resource-limit", "no-file=100", "--",
		   "--api-sock", "/run/e.sock", "--id", "x", NULL);
	struct jail_args a;
	char err[512];

	(void)state;
	assert_int_equal(parse(&a, &b, err), 0);
	assert_string_equal(a.id, "vm-1");
	assert_string_equal(a.exec_file, "/usr/bin/ember");
	assert_int_equal(a.uid, 123);
	assert_int_equal(a.gid, 100);
	assert_false(a.allow_root);
	assert_string_equal(a.chroot_base, "/tmp/jails");
	assert_string_equal(a.netns, "/run/netns/a");
	assert_true(a.daemonize);
	assert_true(a.new_pid_ns);
	assert_int_equal(a.cgroup_version, 2);
	assert_string_equal(a.parent_cgroup, "all/vms");
	assert_int_equal(a.n_cgroups, 2);
	assert_string_equal(a.cgroups[0].file, "cpu.shares");
	assert_string_equal(a.cgroups[0].controller, "cpu");
	assert_string_equal(a.cgroups[0].value, "512");
	assert_string_equal(a.cgroups[1].file, "cpuset.cpus");
	assert_string_equal(a.cgroups[1].controller, "cpuset");
	assert_string_equal(a.cgroups[1].value, "0-1");
	assert_true(a.have_fsize);
	assert_int_equal(a.fsize, 1048576);
	assert_int_equal(a.no_file, 100);
	/* Everything after "--" is forwarded untouched, even jailer-like options. */
	assert_int_equal(a.n_extra, 4);
	assert_ptr_equal(a.extra_args, &b.v[b.n - 4]);
	assert_string_equal(a.extra_args[0], "--api-sock");
	assert_string_equal(a.extra_args[3], "x");
	assert_false(a.show_help);
	assert_false(a.show_version);
}

static void defaults_follow_firecracker(void **state)
{
	struct argv_buf b = mkargv(BASIC, NULL);
	struct jail_args a;
	char err[512];

	(void)state;
	assert_int_equal(parse(&a, &b, err), 0);
	assert_string_equal(a.chroot_base, "/srv/jailer");
	assert_int_equal(a.cgroup_version, 1);
	assert_int_equal(a.no_file, 2048);
	assert_false(a.have_fsize);
	assert_null(a.parent_cgroup);
	assert_null(a.netns);
	assert_false(a.daemonize);
	assert_false(a.new_pid_ns);
	assert_int_equal(a.n_cgroups, 0);
	assert_int_equal(a.n_extra, 0);
}

static void equals_form_and_empty_forwarding(void **state)
{
	struct argv_buf b = mkargv("--id=a-b", "--exec-file=/x", "--uid=1", "--gid=2",
				   "--cgroup=pids.max=10", "--", NULL);
	struct jail_args a;
	char err[512];

	(void)state;
	assert_int_equal(parse(&a, &b, err), 0);
	assert_string_equal(a.id, "a-b");
	assert_string_equal(a.exec_file, "/x");
	assert_int_equal(a.uid, 1);
	assert_int_equal(a.gid, 2);
	assert_string_equal(a.cgroups[0].file, "pids.max");
	assert_string_equal(a.cgroups[0].value, "10");
	assert_int_equal(a.n_extra, 0);
}

static void expect_error(struct argv_buf b, const char *needle)
{
	struct jail_args a;
	char err[512];

	assert_int_equal(parse(&a, &b, err), -EINVAL);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not contain '%s'", err, needle);
}

static void id_rules(void **state)
{
	char err[512], long_id[JAIL_ID_MAX + 2];

	(void)state;
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[JAIL_ID_MAX + 1] = '\0';
	assert_int_equal(jail_id_validate(long_id, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "65 characters long, at most 64"));
	long_id[JAIL_ID_MAX] = '\0';
	assert_int_equal(jail_id_validate(long_id, err, sizeof(err)), 0);
	assert_int_equal(jail_id_validate("551e7604-e35c-42b3-b825-416853441234", err, 512), 0);
	assert_int_equal(jail_id_validate("", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "must not be empty"));
	assert_int_equal(jail_id_validate("../x", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "character '.' at position 0"));
	assert_int_equal(jail_id_validate("a_b", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "character '_' at position 1"));
	assert_int_equal(jail_id_validate("a/b", err, sizeof(err)), -EINVAL);
	/* Non-ASCII letters are not "alphanumeric" here: ids become path components. */
	assert_int_equal(jail_id_validate("caf\xc3\xa9", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "position 3"));

	expect_error(mkargv("--id", "../x", "--exec-file", "/x", "--uid", "1", "--gid", "1", NULL),
		     "invalid --id '../x'");
	expect_error(mkargv("--id", "", "--exec-file", "/x", "--uid", "1", "--gid", "1", NULL),
		     "invalid --id: it must not be empty");
}

static void uid_gid_and_root(void **state)
{
	uint32_t v;

	(void)state;
	assert_int_equal(jail_parse_id_number("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(jail_parse_id_number("4294967294", &v), 0);
	assert_int_equal(v, 4294967294u);
	assert_int_equal(jail_parse_id_number("4294967295", &v), -EINVAL);
	assert_int_equal(jail_parse_id_number("-1", &v), -EINVAL);
	assert_int_equal(jail_parse_id_number("+1", &v), -EINVAL);
	assert_int_equal(jail_parse_id_number("12a", &v), -EINVAL);
	assert_int_equal(jail_parse_id_number("", &v), -EINVAL);
	assert_int_equal(jail_parse_id_number("99999999999999999999", &v), -EINVAL);

	expect_error(mkargv("--id", "a", "--exec-file", "/x", "--uid", "x1", "--gid", "1", NULL),
		     "invalid --uid 'x1'");
	expect_error(mkargv("--id", "a", "--exec-file", "/x", "--uid", "1", "--gid", "-5", NULL),
		     "invalid --gid '-5'");
	expect_error(mkargv("--id", "a", "--exec-file", "/x", "--uid", "0", "--gid", "1", NULL),
		     "refusing to run the jailed binary as root (--uid 0 --gid 1): pass "
		     "--allow-root");
	expect_error(mkargv("--id", "a", "--exec-file", "/x", "--uid", "1", "--gid", "0", NULL),
		     "refusing to run the jailed binary as root");

	struct argv_buf b = mkargv("--id", "a", "--exec-file", "/x", "--uid", "0", "--gid", "0",
				   "--allow-root", NULL);
	struct jail_args a;
	char err[512];

	assert_int_equal(parse(&a, &b, err), 0);
	assert_true(a.allow_root);
	assert_int_equal(a.uid, 0);
	assert_int_equal(a.gid, 0);
}

static void required_repeated_unknown(void **state)
{
	(void)state;
	expect_error(mkargv("--exec-file", "/x", "--uid", "1", "--gid", "1", NULL),
		     "missing required option --id");
	expect_error(mkargv("--id", "a", "--uid", "1", "--gid", "1", NULL),
		     "missing required option --exec-file");
	expect_error(mkargv("--id", "a", "--exec-file", "/x", "--gid", "1", NULL),
		     "missing required option --uid");
	expect_error(mkargv("--id", "a", "--exec-file", "/x", "--uid", "1", NULL),
		     "missing required option --gid");
	expect_error(mkargv(BASIC, "--id", "b", NULL), "option --id given more than once");
	expect_error(mkargv(BASIC, "--daemonize", "--daemonize", NULL),
		     "option --daemonize given more than once");
	expect_error(mkargv(BASIC, "--bogus", NULL), "unknown option '--bogus'");
	expect_error(mkargv(BASIC, "--bogus=3", NULL), "unknown option '--bogus'");
	expect_error(mkargv(BASIC, "-d", NULL), "unexpected argument '-d'");
	expect_error(mkargv(BASIC, "stray", NULL), "unexpected argument 'stray'");
	expect_error(mkargv(BASIC, "--daemonize=yes", NULL), "option --daemonize takes no value");
	expect_error(mkargv(BASIC, "--netns", NULL), "option --netns needs a value");
	expect_error(mkargv(BASIC, "--netns", "", NULL), "invalid --netns");
	expect_error(mkargv(BASIC, "--chroot-base-dir", "", NULL), "invalid --chroot-base-dir");
	expect_error(mkargv("--id", "a", "--exec-file", "", "--uid", "1", "--gid", "1", NULL),
		     "invalid --exec-file");
}

static void help_and_version_need_nothing_else(void **state)
{
	struct argv_buf b = mkargv("--help", NULL), v = mkargv("--version", NULL);
	const char *usage = jail_usage_text();
	const char *opts[] = {"--id",
			      "--exec-file",
			      "--uid",
			      "--gid",
			      "--allow-root",
			      "--chroot-base-dir",
			      "--netns",
			      "--daemonize",
			      "--new-pid-ns",
			      "--cgroup ",
			      "--cgroup-version",
			      "--parent-cgroup",
			      "--resource-limit",
			      "--version",
			      "--help",
			      "--start-time-us",
			      "--start-time-cpu-us"};
	struct jail_args a;
	char err[512];
	size_t i;

	(void)state;
	assert_int_equal(parse(&a, &b, err), 0);
	assert_true(a.show_help);
	assert_int_equal(parse(&a, &v, err), 0);
	assert_true(a.show_version);
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (!strstr(usage, opts[i]))
			fail_msg("usage does not mention %s", opts[i]);
}

static void cgroup_specs(void **state)
{
	struct jail_cgroup_arg c;
	char err[512];
	const char *bad[][2] = {
	    {"cpu.shares", "expected <file>=<value>"},
	    {"=5", "expected <file>=<value>"},
	    {"cpu.shares=", "expected <file>=<value>"},
	    {"a.b=c=d", "expected <file>=<value>"},
	    {"nodot=1", "expected <controller>.<property>"},
	    {".x=1", "expected <controller>.<property>"},
	    {"x.=1", "expected <controller>.<property>"},
	    {"cpu..x=1", "expected <controller>.<property>"},
	    {"../x=1", "only letters, digits, '_' and '.'"},
	    {"a/b.c=1", "only letters, digits, '_' and '.'"},
	    {"cpu shares=1", "only letters, digits, '_' and '.'"},
	    {"cgroup.procs=1", "managed by the jailer"},
	    {"cgroup.threads=1", "managed by the jailer"},
	    {"cgroup.subtree_control=+cpu", "managed by the jailer"},
	    {"averyveryveryveryverylongcontrollername.x=1", "controller too long"},
	};
	size_t i;

	(void)state;
	assert_int_equal(jail_cgroup_arg_parse("hugetlb.2MB.max=4194304", &c, err, 512), 0);
	assert_string_equal(c.file, "hugetlb.2MB.max");
	assert_string_equal(c.controller, "hugetlb");
	assert_string_equal(c.value, "4194304");
	assert_int_equal(jail_cgroup_arg_parse("cgroup.max.descendants=3", &c, err, 512), 0);
	assert_string_equal(c.controller, "cgroup");
	assert_int_equal(jail_cgroup_arg_parse("memory.limit_in_bytes=1G", &c, err, 512), 0);
	assert_string_equal(c.value, "1G");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(jail_cgroup_arg_parse(bad[i][0], &c, err, 512), -EINVAL);
		if (!strstr(err, bad[i][1]))
			fail_msg("'%s': error '%s' lacks '%s'", bad[i][0], err, bad[i][1]);
	}
}

static void too_many_cgroups(void **state)
{
	struct argv_buf b = mkargv(BASIC, NULL);
	struct jail_args a;
	char err[512];
	int i;

	(void)state;
	for (i = 0; i <= JAIL_MAX_CGROUPS; i++) {
		b.v[b.n++] = "--cgroup";
		b.v[b.n++] = "cpu.shares=2";
	}
	b.v[b.n] = NULL;
	assert_int_equal(parse(&a, &b, err), -EINVAL);
	assert_non_null(strstr(err, "too many --cgroup options"));
	b.n -= 2;
	b.v[b.n] = NULL;
	assert_int_equal(parse(&a, &b, err), 0);
	assert_int_equal(a.n_cgroups, JAIL_MAX_CGROUPS);
}

static void resource_limits(void **state)
{
	struct jail_args a;
	char err[512];

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_int_equal(jail_rlimit_arg_parse("fsize=0", &a, err, 512), 0);
	assert_true(a.have_fsize);
	assert_int_equal(a.fsize, 0);
	assert_int_equal(jail_rlimit_arg_parse("no-file=18446744073709551615", &a, err, 512), 0);
	assert_int_equal(a.no_file, UINT64_MAX);
	assert_int_equal(jail_rlimit_arg_parse("no-file=1", &a, err, 512), 0);
	assert_int_equal(a.no_file, 1);
	assert_int_equal(jail_rlimit_arg_parse("no-file=abc", &a, err, 512), -EINVAL);
	assert_non_null(strstr(err, "'abc' is not a number"));
	assert_int_equal(jail_rlimit_arg_parse("no-file=-1", &a, err, 512), -EINVAL);
	assert_int_equal(jail_rlimit_arg_parse("no-file=18446744073709551616", &a, err, 512),
			 -EINVAL);
	assert_int_equal(jail_rlimit_arg_parse("nofile=1", &a, err, 512), -EINVAL);
	assert_non_null(strstr(err, "unknown resource"));
	assert_int_equal(jail_rlimit_arg_parse("fsize", &a, err, 512), -EINVAL);
	assert_non_null(strstr(err, "expected fsize=N or no-file=N"));
	assert_int_equal(jail_rlimit_arg_parse("fsizes=1", &a, err, 512), -EINVAL);
	expect_error(mkargv(BASIC, "--resource-limit", "cpu=1", NULL), "unknown resource");
	expect_error(mkargv(BASIC, "--cgroup-version", "3", NULL), "expected 1 or 2");
	expect_error(mkargv(BASIC, "--cgroup-version", "", NULL), "expected 1 or 2");
}

static void parent_cgroup_rules(void **state)
{
	const char *good[] = {"a", "a/b", "all_uvms/external-uvms", "x.y"};
	const char *bad[] = {"", "/abs", "..", "../x", "a/../b", "a/./b", ".", "a//b", "a/"};
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(jail_parent_cgroup_validate(good[i], err, sizeof(err)), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (jail_parent_cgroup_validate(bad[i], err, sizeof(err)) != -EINVAL)
			fail_msg("parent cgroup '%s' accepted", bad[i]);
		assert_non_null(strstr(err, "invalid --parent-cgroup"));
	}
	expect_error(mkargv(BASIC, "--parent-cgroup", "../up", NULL), "invalid --parent-cgroup");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(full_command_line),
	    cmocka_unit_test(defaults_follow_firecracker),
	    cmocka_unit_test(equals_form_and_empty_forwarding),
	    cmocka_unit_test(id_rules),
	    cmocka_unit_test(uid_gid_and_root),
	    cmocka_unit_test(required_repeated_unknown),
	    cmocka_unit_test(help_and_version_need_nothing_else),
	    cmocka_unit_test(cgroup_specs),
	    cmocka_unit_test(too_many_cgroups),
	    cmocka_unit_test(resource_limits),
	    cmocka_unit_test(parent_cgroup_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
