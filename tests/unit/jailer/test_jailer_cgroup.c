// SPDX-License-Identifier: Apache-2.0
/*
 * ember-jailer cgroup handling: /proc/mounts, /proc/self/cgroup and
 * /proc/misc parsing on canned v1, v2 and hybrid layouts; planning (which
 * hierarchy, version mismatch, unavailable controllers); and applying a plan
 * to a directory tree laid out like a cgroup filesystem, including rollback.
 */
#include "jailer/args.c"
#include "jailer/cgroup.c"
#include "jailer/cgroup_mounts.c"
#include "jailer/fsutil.c"
#include "jailer/msg.c"
#include "jailer/undo.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>

static const char hybrid_mounts[] =
    "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
    "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n"
    "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0\n"
    "cgroup /sys/fs/cgroup/cpuset cgroup rw,relatime,cpuset 0 0\n"
    "cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0\n"
    "cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0\n"
    "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n";

static const char v2_mounts[] =
    "proc /proc proc rw,relatime 0 0\n"
    "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n";

static const char v1_mounts[] = "cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n"
				"cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n";

static void parses_hybrid_v1_v2_and_escapes(void **state)
{
	struct cgroup_mounts m;

	(void)state;
	assert_int_equal(cgroup_mounts_parse(hybrid_mounts, &m), 0);
	assert_int_equal(m.n_v1, 4);
	assert_string_equal(m.v1[0].dir, "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(m.v1[0].opts, "rw,nosuid,nodev,noexec,relatime,cpu,cpuacct");
	assert_string_equal(m.v1[3].dir, "/sys/fs/cgroup/systemd");
	assert_true(m.has_v2);
	assert_string_equal(m.v2_dir, "/sys/fs/cgroup/unified");

	assert_int_equal(cgroup_mounts_parse(v2_mounts, &m), 0);
	assert_int_equal(m.n_v1, 0);
	assert_true(m.has_v2);
	assert_string_equal(m.v2_dir, "/sys/fs/cgroup");

	assert_int_equal(cgroup_mounts_parse(v1_mounts, &m), 0);
	assert_int_equal(m.n_v1, 2);
	assert_false(m.has_v2);

	/* Octal escapes in mount points; a final line without newline; junk lines. */
	assert_int_equal(
	    cgroup_mounts_parse("garbage\n\ncgroup /my\\040cg\\134x cgroup rw,pids 0 0", &m), 0);
	assert_int_equal(m.n_v1, 1);
	assert_string_equal(m.v1[0].dir, "/my cg\\x");

	assert_int_equal(cgroup_mounts_parse("", &m), 0);
	assert_int_equal(m.n_v1, 0);
	assert_false(m.has_v2);
}

static void finds_v1_hierarchy_by_exact_controller(void **state)
{
	struct cgroup_mounts m;

	(void)state;
	cgroup_mounts_parse(hybrid_mounts, &m);
	assert_string_equal(cgroup_v1_mount_for(&m, "cpu"), "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(cgroup_v1_mount_for(&m, "cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(cgroup_v1_mount_for(&m, "cpuset"), "/sys/fs/cgroup/cpuset");
	assert_string_equal(cgroup_v1_mount_for(&m, "pids"), "/sys/fs/cgroup/pids");
	assert_null(cgroup_v1_mount_for(&m, "memory"));
	assert_null(cgroup_v1_mount_for(&m, "cp"));
	assert_null(cgroup_v1_mount_for(&m, "relatime,cpu"));
	assert_null(cgroup_v1_mount_for(&m, ""));

	assert_true(cgroup_list_has("cpuset cpu io memory pids", ' ', "cpu"));
	assert_true(cgroup_list_has("cpuset cpu io memory pids\n", ' ', "pids"));
	assert_false(cgroup_list_has("cpuset io", ' ', "cpu"));
	assert_false(cgroup_list_has("", ' ', "cpu"));
	assert_true(cgroup_list_has("a,,b", ',', "b"));
}

static void finds_own_cgroup_path(void **state)
{
	const char self[] = "9:name=systemd:/\n"
			    "8:pids:/user.slice\n"
			    "4:cpu,cpuacct:/a/b c\n"
			    "0::/init.scope\n";
	char out[64];

	(void)state;
	assert_int_equal(cgroup_self_path(self, 1, "cpu", out, sizeof(out)), 0);
	assert_string_equal(out, "/a/b c");
	assert_int_equal(cgroup_self_path(self, 1, "cpuacct", out, sizeof(out)), 0);
	assert_string_equal(out, "/a/b c");
	assert_int_equal(cgroup_self_path(self, 1, "pids", out, sizeof(out)), 0);
	assert_string_equal(out, "/user.slice");
	assert_int_equal(cgroup_self_path(self, 2, "pids", out, sizeof(out)), 0);
	assert_string_equal(out, "/init.scope");
	assert_int_equal(cgroup_self_path(self, 1, "memory", out, sizeof(out)), -ENOENT);
	assert_int_equal(cgroup_self_path("1:cpu:/x\n", 2, "cpu", out, sizeof(out)), -ENOENT);
	assert_int_equal(cgroup_self_path(self, 1, "cpu", out, 4), -ENAMETOOLONG);
}

static void builds_relative_path_and_reads_proc_misc(void **state)
{
	const char misc[] = "234 btrfs-control\n"
			    "200 tun\n"
			    "257 userfaultfd\n"
			    "232 kvm\n"
			    " 60 device-mapper\n";
	unsigned int minor = 0;
	char out[16];

	(void)state;
	assert_int_equal(cgroup_rel_path(out, sizeof(out), "ember", "vm-1"), 0);
	assert_string_equal(out, "ember/vm-1");
	assert_int_equal(cgroup_rel_path(out, sizeof(out), "all/vms", "vm-1"), 0);
	assert_string_equal(out, "all/vms/vm-1");
	assert_int_equal(cgroup_rel_path(out, sizeof(out), "a-long-parent", "id"), -ENAMETOOLONG);

	assert_int_equal(proc_misc_minor(misc, "userfaultfd", &minor), 0);
	assert_int_equal(minor, 257);
	assert_int_equal(proc_misc_minor(misc, "kvm", &minor), 0);
	assert_int_equal(minor, 232);
	assert_int_equal(proc_misc_minor(misc, "device-mapper", &minor), 0);
	assert_int_equal(minor, 60);
	assert_int_equal(proc_misc_minor(misc, "vsock", &minor), -ENOENT);
	assert_int_equal(proc_misc_minor(misc, "kv", &minor), -ENOENT);
}

/* ---- planning -------------------------------------------------------------- */

static const char *fake_v2_controllers;

static const char *fake_controllers(const char *dir, char *buf, size_t len)
{
	(void)dir;
	if (!fake_v2_controllers)
		return NULL;
	snprintf(buf, len, "%s", fake_v2_controllers);
	return buf;
}

static void args_with(struct jail_args *a, int version, const char *const *specs, size_t n)
{
	char err[256];
	size_t i;

	memset(a, 0, sizeof(*a));
	a->id = "vm-1";
	a->cgroup_version = version;
	for (i = 0; i < n; i++)
		assert_int_equal(jail_cgroup_arg_parse(specs[i], &a->cgroups[i], err, sizeof(err)),
				 0);
	a->n_cgroups = n;
}

static void plans_v1_hierarchies(void **state)
{
	const char *specs[] = {"cpu.shares=512", "cpuacct.usage=0", "pids.max=10", "cpuset.cpus=0"};
	struct cgroup_plan *p = malloc(sizeof(*p));
	struct jail_args a;
	char err[512];

	(void)state;
	fake_v2_controllers = "hugetlb";
	args_with(&a, 1, specs, 4);
	assert_int_equal(
	    cgroup_plan_build(p, &a, "ember", hybrid_mounts, fake_controllers, err, sizeof(err)),
	    0);
	assert_string_equal(p->rel, "ember/vm-1");
	/* cpu and cpuacct share one co-mounted hierarchy. */
	assert_int_equal(p->n_hier, 3);
	assert_string_equal(p->hier[0].mount, "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(p->hier[1].mount, "/sys/fs/cgroup/pids");
	assert_string_equal(p->hier[2].mount, "/sys/fs/cgroup/cpuset");
	assert_int_equal(p->arg_hier[0], 0);
	assert_int_equal(p->arg_hier[1], 0);
	assert_int_equal(p->arg_hier[2], 1);
	assert_int_equal(p->arg_hier[3], 2);
	assert_false(p->hier[0].cpuset);
	assert_true(p->hier[2].cpuset);

	a.parent_cgroup = "all/vms";
	assert_int_equal(
	    cgroup_plan_build(p, &a, "ember", hybrid_mounts, fake_controllers, err, sizeof(err)),
	    0);
	assert_string_equal(p->rel, "all/vms/vm-1");

	/* No --cgroup: nothing to plan, not even /proc/mounts is needed. */
	a.n_cgroups = 0;
	assert_int_equal(cgroup_plan_build(p, &a, "ember", "", fake_controllers, err, 512), 0);
	assert_int_equal(p->n_hier, 0);
	free(p);
}

static void plans_v2_unified(void **state)
{
	const char *specs[] = {"pids.max=10", "memory.max=1G", "cgroup.max.depth=2"};
	struct cgroup_plan *p = malloc(sizeof(*p));
	struct jail_args a;
	char err[512];

	(void)state;
	fake_v2_controllers = "cpuset cpu io memory pids";
	args_with(&a, 2, specs, 3);
	assert_int_equal(cgroup_plan_build(p, &a, "ember", v2_mounts, fake_controllers, err, 512),
			 0);
	assert_int_equal(p->n_hier, 1);
	assert_string_equal(p->hier[0].mount, "/sys/fs/cgroup");
	assert_false(p->hier[0].cpuset);
	free(p);
}

static void expect_plan_error(int version, const char *spec, const char *mounts,
			      const char *v2ctrls, const char *needle)
{
	struct cgroup_plan *p = malloc(sizeof(*p));
	struct jail_args a;
	char err[512] = "";

	fake_v2_controllers = v2ctrls;
	args_with(&a, version, &spec, 1);
	assert_int_equal(cgroup_plan_build(p, &a, "ember", mounts, fake_controllers, err, 512),
			 -EINVAL);
	if (!strstr(err, needle))
		fail_msg("plan error '%s' does not contain '%s'", err, needle);
	free(p);
}

static void refuses_version_mismatch_and_missing_controllers(void **state)
{
	(void)state;
	expect_plan_error(2, "pids.max=1", v1_mounts, NULL,
			  "cgroup version mismatch: --cgroup-version 2 but no cgroup2 hierarchy "
			  "is mounted (this host uses cgroup v1: pass --cgroup-version 1)");
	expect_plan_error(1, "pids.max=1", v2_mounts, "pids",
			  "cgroup version mismatch: --cgroup-version 1 but no cgroup v1 hierarchy "
			  "is mounted (this host uses cgroup v2: pass --cgroup-version 2)");
	expect_plan_error(1, "pids.max=1", "", NULL, "no cgroup v1 hierarchy is mounted");
	/* Hybrid: a controller only one of the versions has. */
	expect_plan_error(2, "cpu.shares=1", hybrid_mounts, "hugetlb",
			  "cgroup controller 'cpu' (for cpu.shares) is not available in the "
			  "cgroup v2 hierarchy at /sys/fs/cgroup/unified (cgroup version "
			  "mismatch: it is mounted as cgroup v1, pass --cgroup-version 1)");
	expect_plan_error(1, "hugetlb.2MB.max=1", hybrid_mounts, "hugetlb",
			  "cgroup controller 'hugetlb' (for hugetlb.2MB.max) is not mounted as a "
			  "cgroup v1 hierarchy (cgroup version mismatch: it is in the v2 "
			  "hierarchy, pass --cgroup-version 2)");
	/* Unknown everywhere: no mismatch hint. */
	expect_plan_error(1, "bogus.x=1", hybrid_mounts, "hugetlb",
			  "cgroup controller 'bogus' (for bogus.x) is not mounted as a cgroup v1 "
			  "hierarchy");
	expect_plan_error(2, "bogus.x=1", v2_mounts, "pids",
			  "is not available in the cgroup v2 hierarchy at /sys/fs/cgroup");
	/* Unreadable cgroup.controllers: nothing is available. */
	expect_plan_error(2, "pids.max=1", v2_mounts, NULL, "'pids' (for pids.max)");
}

/* ---- applying, on a directory tree shaped like a cgroup filesystem ------------ */

static char tree[64];

static int make_tree(void **state)
{
	(void)state;
	strcpy(tree, "/tmp/ember-jailer-cg.XXXXXX");
	return mkdtemp(tree) ? 0 : -1;
}

static int remove_tree(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tree);
	return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *rel, const char *content)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void sub(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void expect_content(const char *rel, const char *want)
{
	char path[256], buf[256] = "";
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_string_equal(buf, want);
}

static bool exists(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	return access(path, F_OK) == 0;
}

/* A plan whose single hierarchy is the temporary tree. */
static void tree_plan(struct cgroup_plan *p, struct jail_args *a, int version, const char *spec,
		      const char *parent)
{
	args_with(a, version, &spec, 1);
	a->parent_cgroup = parent;
	memset(p, 0, sizeof(*p));
	p->version = version;
	cgroup_rel_path(p->rel, sizeof(p->rel), parent, a->id);
	p->hier[0].mount = tree;
	p->hier[0].cpuset = version == 1 && !strcmp(a->cgroups[0].controller, "cpuset");
	p->n_hier = 1;
	p->arg_hier[0] = 0;
}

static void v2_apply_writes_value_enables_controller_and_attaches(void **state)
{
	struct cgroup_plan *p = malloc(sizeof(*p));
	struct undo_log u;
	struct jail_args a;
	char pid[24];

	(void)state;
	/* The microVM's cgroup exists already (Firecracker tolerates that), with its files. */
	put("cgroup.subtree_control", "cpu");
	sub("fc");
	put("fc/cgroup.subtree_control", "");
	sub("fc/vm-1");
	put("fc/vm-1/pids.max", "max");
	put("fc/vm-1/cgroup.procs", "");
	tree_plan(p, &a, 2, "pids.max=77", "fc");
	undo_init(&u);
	assert_int_equal(cgroup_plan_apply(p, &a, &u), 0);
	expect_content("fc/vm-1/pids.max", "77\n");
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	expect_content("fc/vm-1/cgroup.procs", pid);
	/* "+pids" reached every ancestor's subtree_control, not the leaf. */
	expect_content("cgroup.subtree_control", "+pids");
	expect_content("fc/cgroup.subtree_control", "+pids");
	assert_false(exists("fc/vm-1/cgroup.subtree_control"));
	/* Undo would disable pids in both ancestors and (when this process has a v2
	 * cgroup to go back to) move it back; nothing was created, so no rmdir. */
	assert_true(u.n == 2 || u.n == 3);
	assert_int_equal(u.e[0].kind, UNDO_WRITE);
	assert_string_equal(u.e[0].name, "cgroup.subtree_control");
	assert_string_equal(u.e[0].data, "-pids");
	assert_int_equal(u.e[1].kind, UNDO_WRITE);
	assert_string_equal(u.e[1].data, "-pids");
	if (u.n == 3) {
		assert_int_equal(u.e[2].kind, UNDO_WRITE);
		assert_string_equal(u.e[2].name, "cgroup.procs");
		assert_string_equal(u.e[2].data, "0");
	}
	undo_forget(&u);
	free(p);
}

static void unknown_file_rolls_back_created_directories(void **state)
{
	struct cgroup_plan *p = malloc(sizeof(*p));
	struct undo_log u;
	struct jail_args a;

	(void)state;
	put("cgroup.subtree_control", "");
	tree_plan(p, &a, 2, "pids.nonexistent=1", "a/b");
	undo_init(&u);
	/* Parent "a" is created by us, but has no subtree_control: that fails first. */
	assert_int_equal(cgroup_plan_apply(p, &a, &u), -ENOENT);
	assert_true(exists("a"));
	undo_rollback(&u);
	assert_false(exists("a"));
	expect_content("cgroup.subtree_control", "-pids");

	/* v1: no subtree_control; the missing file is reported after mkdir, then undone. */
	sub("pre");
	tree_plan(p, &a, 1, "cpu.no_such_knob=1", "pre/x");
	undo_init(&u);
	assert_int_equal(cgroup_plan_apply(p, &a, &u), -ENOENT);
	assert_true(exists("pre/x/vm-1"));
	undo_rollback(&u);
	assert_false(exists("pre/x"));
	assert_true(exists("pre")); /* it was there before: kept */
	free(p);
}

static void v1_cpuset_inherits_cpus_and_mems(void **state)
{
	struct cgroup_plan *p = malloc(sizeof(*p));
	struct undo_log u;
	struct jail_args a;
	char pid[24];

	(void)state;
	put("cpuset.cpus", "0-3\n");
	put("cpuset.mems", "0\n");
	sub("fc");
	put("fc/cpuset.cpus", "\n");
	put("fc/cpuset.mems", "");
	sub("fc/vm-1");
	put("fc/vm-1/cpuset.cpus", "");
	put("fc/vm-1/cpuset.mems", "");
	put("fc/vm-1/tasks", "");
	tree_plan(p, &a, 1, "cpuset.cpus=2", "fc");
	undo_init(&u);
	assert_int_equal(cgroup_plan_apply(p, &a, &u), 0);
	expect_content("fc/cpuset.cpus", "0-3");
	expect_content("fc/cpuset.mems", "0");
	expect_content("fc/vm-1/cpuset.mems", "0");
	expect_content("fc/vm-1/cpuset.cpus", "2\n");
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	expect_content("fc/vm-1/tasks", pid);
	undo_forget(&u);

	/* Nothing to inherit from: a clear error. */
	put("cpuset.mems", "");
	put("fc/cpuset.mems", "");
	undo_init(&u);
	assert_int_equal(cgroup_plan_apply(p, &a, &u), -EINVAL);
	undo_rollback(&u);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_hybrid_v1_v2_and_escapes),
	    cmocka_unit_test(finds_v1_hierarchy_by_exact_controller),
	    cmocka_unit_test(finds_own_cgroup_path),
	    cmocka_unit_test(builds_relative_path_and_reads_proc_misc),
	    cmocka_unit_test(plans_v1_hierarchies),
	    cmocka_unit_test(plans_v2_unified),
	    cmocka_unit_test(refuses_version_mismatch_and_missing_controllers),
	    cmocka_unit_test_setup_teardown(v2_apply_writes_value_enables_controller_and_attaches,
					    make_tree, remove_tree),
	    cmocka_unit_test_setup_teardown(unknown_file_rolls_back_created_directories, make_tree,
					    remove_tree),
	    cmocka_unit_test_setup_teardown(v1_cpuset_inherits_cpus_and_mems, make_tree,
					    remove_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
