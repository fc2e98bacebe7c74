// SPDX-License-Identifier: Apache-2.0
/*
 * ember-jailer steps that need root, each run for real (in a child process
 * where it changes the process): device nodes and directories with their
 * modes, owners and numbers; pivot_root into a jail; dropping privileges.
 * Skipped when not root.
 */
#include "jailer/devices.c"
#include "jailer/fsutil.c"
#include "jailer/msg.c"
#include "jailer/pivot.c"
#include "jailer/privs.c"
#include "jailer/undo.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define T_UID 4321
#define T_GID 4322

static char tmp[64];
static int tmpfd = -1;

static int setup(void **state)
{
	(void)state;
	strcpy(tmp, "/tmp/ember-jailer-nodes.XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	tmpfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return tmpfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	close(tmpfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static void need_root(void)
{
	if (geteuid() != 0)
		skip();
}

static void expect_node(const char *rel, mode_t type, mode_t mode, unsigned int maj,
			unsigned int min)
{
	struct stat st;

	if (fstatat(tmpfd, rel, &st, AT_SYMLINK_NOFOLLOW))
		fail_msg("%s: %s", rel, strerror(errno));
	assert_int_equal(st.st_mode & S_IFMT, type);
	assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(st.st_uid, T_UID);
	assert_int_equal(st.st_gid, T_GID);
	if (type == S_IFCHR) {
		assert_int_equal(major(st.st_rdev), maj);
		assert_int_equal(minor(st.st_rdev), min);
	}
}

static void expect_owner(const char *rel, mode_t type, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;

	if (fstatat(tmpfd, rel, &st, AT_SYMLINK_NOFOLLOW))
		fail_msg("%s: %s", rel, strerror(errno));
	assert_int_equal(st.st_mode & S_IFMT, type);
	assert_int_equal(st.st_mode & 07777, mode);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
}

static int count_entries(int dirfd)
{
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3), n = 0;
	DIR *d = fdopendir(fd);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static void nodes_have_modes_owners_and_numbers(void **state)
{
	struct jail_devices dev = {.have_uffd = true, .uffd_minor = 123};
	struct undo_log u;
	mode_t old;

	(void)state;
	need_root();
	undo_init(&u);
	old = umask(022);
	assert_int_equal(jail_make_nodes(&u, tmpfd, T_UID, T_GID, &dev), 0);
	umask(old);
	expect_node(".", S_IFDIR, 0700, 0, 0);
	expect_node("dev", S_IFDIR, 0700, 0, 0);
	expect_node("dev/net", S_IFDIR, 0700, 0, 0);
	expect_node("run", S_IFDIR, 0700, 0, 0);
	expect_node("dev/net/tun", S_IFCHR, 0600, 10, 200);
	expect_node("dev/kvm", S_IFCHR, 0600, 10, 232);
	expect_node("dev/urandom", S_IFCHR, 0600, 1, 9);
	expect_node("dev/userfaultfd", S_IFCHR, 0600, 10, 123);
	assert_int_equal(count_entries(tmpfd), 2);
	undo_rollback(&u);
	assert_int_equal(count_entries(tmpfd), 0);

	/* Without userfaultfd on the host there is no node for it. */
	dev.have_uffd = false;
	undo_init(&u);
	assert_int_equal(jail_make_nodes(&u, tmpfd, T_UID, T_GID, &dev), 0);
	assert_int_equal(faccessat(tmpfd, "dev/userfaultfd", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	undo_rollback(&u);
}

static void existing_node_fails_and_keeps_what_was_there(void **state)
{
	struct jail_devices dev = {.have_uffd = false};
	struct undo_log u;
	int fd;

	(void)state;
	need_root();
	assert_int_equal(mkdirat(tmpfd, "dev", 0755), 0);
	assert_int_equal(fchmodat(tmpfd, "dev", 0751, 0), 0);
	assert_int_equal(fchmodat(tmpfd, ".", 0710, 0), 0);
	fd = openat(tmpfd, "dev/kvm", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	close(fd);
	undo_init(&u);
	assert_int_equal(jail_make_nodes(&u, tmpfd, T_UID, T_GID, &dev), -EEXIST);
	undo_rollback(&u);
	/* dev and dev/kvm were there before; dev/net and /run were ours and are gone. */
	assert_int_equal(faccessat(tmpfd, "dev/kvm", F_OK, 0), 0);
	assert_int_equal(faccessat(tmpfd, "dev/net", F_OK, 0), -1);
	assert_int_equal(faccessat(tmpfd, "run", F_OK, 0), -1);
	/* The root and dev were handed to uid:gid on the way: they are root's again. */
	expect_owner(".", S_IFDIR, 0710, 0, 0);
	expect_owner("dev", S_IFDIR, 0751, 0, 0);
}

/* Pre-existing jail directories of a run that fails later get their owner and mode back. */
static void rollback_restores_preexisting_directories(void **state)
{
	struct jail_devices dev = {.have_uffd = false};
	struct undo_log u;

	(void)state;
	need_root();
	assert_int_equal(fchmodat(tmpfd, ".", 0755, 0), 0);
	assert_int_equal(mkdirat(tmpfd, "run", 0700), 0);
	assert_int_equal(fchmodat(tmpfd, "run", 01750, 0), 0);
	assert_int_equal(fchownat(tmpfd, "run", 0, 7, AT_SYMLINK_NOFOLLOW), 0);
	undo_init(&u);
	assert_int_equal(jail_make_nodes(&u, tmpfd, T_UID, T_GID, &dev), 0);
	expect_node(".", S_IFDIR, 0700, 0, 0);
	expect_node("run", S_IFDIR, 0700, 0, 0);
	undo_rollback(&u);
	expect_owner(".", S_IFDIR, 0755, 0, 0);
	expect_owner("run", S_IFDIR, 01750, 0, 7);
	assert_int_equal(faccessat(tmpfd, "dev", F_OK, 0), -1);
}

/* Run @fn in a child; its exit code is the number of the first failed check. */
static int in_child(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn());
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int child_drop(void)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (setgroups(2, (gid_t[]){5, 6}) || getgroups(0, NULL) != 2)
		return 1;
	if (jail_drop_privileges(T_UID, T_GID))
		return 2;
	getresuid(&r, &e, &s);
	getresgid(&rg, &eg, &sg);
	if (r != T_UID || e != T_UID || s != T_UID || rg != T_GID || eg != T_GID || sg != T_GID)
		return 3;
	if (getgroups(0, NULL) != 0)
		return 4;
	if (jail_caps_count() != 0)
		return 5;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 6;
	if (setuid(0) == 0 || errno != EPERM)
		return 7;
	return 0;
}

static void drops_to_uid_gid_without_capabilities(void **state)
{
	(void)state;
	need_root();
	assert_true(jail_caps_count() > 0);
	assert_int_equal(in_child(child_drop), 0);
}

static char jail_path[128];
static bool swap_jail_path;

/* As the jailer: own mount namespace, open the jail directory, later pivot into it by fd. */
static int child_pivot(void)
{
	char cwd[64], moved[160];
	int fd;

	if (jail_enter_mount_ns())
		return 1;
	fd = open(jail_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	if (swap_jail_path) {
		/* What the owner of a jail directory could do while the jailer works. */
		snprintf(moved, sizeof(moved), "%s.moved", jail_path);
		if (rename(jail_path, moved) || symlink("decoy", jail_path))
			return 6;
	}
	if (jail_pivot_root(fd))
		return 1;
	close(fd);
	if (access("/marker", F_OK))
		return 2;
	if (access("/decoy_marker", F_OK) == 0)
		return 7;
	if (access(jail_path, F_OK) == 0 || access("/tmp", F_OK) == 0 || access("/proc", F_OK) == 0)
		return 3;
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/"))
		return 4;
	if (access("/old_root", F_OK) == 0)
		return 5;
	return 0;
}

static bool host_mountinfo_mentions(const char *path)
{
	char *text = NULL;
	bool found;

	assert_int_equal(fs_read_all("/proc/self/mountinfo", &text), 0);
	found = strstr(text, path) != NULL;
	free(text);
	return found;
}

static void make_jail_and_decoy(void)
{
	int fd;

	snprintf(jail_path, sizeof(jail_path), "%s/root", tmp);
	assert_int_equal(mkdirat(tmpfd, "root", 0755), 0);
	fd = openat(tmpfd, "root/marker", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	close(fd);
	assert_int_equal(mkdirat(tmpfd, "decoy", 0755), 0);
	fd = openat(tmpfd, "decoy/decoy_marker", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	close(fd);
}

static void pivots_into_the_jail_only_in_the_child(void **state)
{
	(void)state;
	need_root();
	make_jail_and_decoy();
	swap_jail_path = false;
	assert_int_equal(in_child(child_pivot), 0);
	/* The bind mount lived in the child's mount namespace only. */
	assert_false(host_mountinfo_mentions(jail_path));
	assert_int_equal(faccessat(tmpfd, "root/old_root", F_OK, 0), -1);
}

/*
 * The jail path is renamed and replaced by a symlink to another directory
 * after the jailer opened it: the jail is still the directory it opened.
 */
static void pivots_into_the_directory_held_not_the_path(void **state)
{
	(void)state;
	need_root();
	make_jail_and_decoy();
	swap_jail_path = true;
	assert_int_equal(in_child(child_pivot), 0);
	assert_false(host_mountinfo_mentions(tmp));
	assert_int_equal(faccessat(tmpfd, "root.moved/old_root", F_OK, 0), -1);
	assert_int_equal(faccessat(tmpfd, "decoy/old_root", F_OK, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(nodes_have_modes_owners_and_numbers, setup, teardown),
	    cmocka_unit_test_setup_teardown(existing_node_fails_and_keeps_what_was_there, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(rollback_restores_preexisting_directories, setup,
					    teardown),
	    cmocka_unit_test(drops_to_uid_gid_without_capabilities),
	    cmocka_unit_test_setup_teardown(pivots_into_the_jail_only_in_the_child, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(pivots_into_the_directory_held_not_the_path, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
