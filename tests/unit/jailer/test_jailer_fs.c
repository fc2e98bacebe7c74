// SPDX-License-Identifier: Apache-2.0
/*
 * ember-jailer filesystem pieces on a temporary directory: mkdir -p with
 * exact modes and symlink refusal, copying the binary (content byte for
 * byte, owner, mode, refusal of an existing destination), the undo log
 * (only what this run created is removed, newest first), and the exec checks
 * (ELF PT_INTERP and #! interpreters, resolved inside the jail root).
 */
#include "jailer/exec_check.c"
#include "jailer/fsutil.c"
#include "jailer/msg.c"
#include "jailer/undo.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>

static char tmp[64];
static int tmpfd = -1;

static int setup(void **state)
{
	(void)state;
	strcpy(tmp, "/tmp/ember-jailer-fs.XXXXXX");
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

static mode_t mode_of(const char *rel)
{
	struct stat st;

	assert_int_equal(fstatat(tmpfd, rel, &st, AT_SYMLINK_NOFOLLOW), 0);
	return st.st_mode;
}

static bool exists(const char *rel)
{
	struct stat st;

	return fstatat(tmpfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void write_file(const char *rel, const void *data, size_t len, mode_t mode)
{
	int fd = openat(tmpfd, rel, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void mkdir_p_exact_modes_and_rollback(void **state)
{
	struct undo_log u;
	mode_t old = umask(077);
	int fd = -1;

	(void)state;
	assert_int_equal(mkdirat(tmpfd, "a", 0700), 0); /* pre-existing: must survive */
	undo_init(&u);
	assert_int_equal(fs_mkdir_p_at(&u, tmpfd, "a/b/c", 0755, tmp, &fd), 0);
	umask(old);
	assert_true(fd >= 0);
	/* The returned fd is the leaf. */
	assert_int_equal(mkdirat(fd, "probe", 0700), 0);
	assert_true(exists("a/b/c/probe"));
	assert_int_equal(unlinkat(fd, "probe", AT_REMOVEDIR), 0);
	close(fd);
	/* Created ones get exactly 0755 despite the umask; the existing one is untouched. */
	assert_int_equal(mode_of("a/b") & 07777, 0755);
	assert_int_equal(mode_of("a/b/c") & 07777, 0755);
	assert_int_equal(mode_of("a") & 07777, 0700);
	assert_int_equal(u.n, 2);
	assert_int_equal(u.e[0].kind, UNDO_RMDIR);
	assert_string_equal(u.e[0].name, "b");
	assert_string_equal(u.e[1].name, "c");
	undo_rollback(&u);
	assert_int_equal(u.n, 0);
	assert_false(exists("a/b"));
	assert_true(exists("a"));

	/* Again, on top of what exists: nothing new, nothing to undo. */
	assert_int_equal(mkdirat(tmpfd, "a/x", 0700), 0);
	undo_init(&u);
	assert_int_equal(fs_mkdir_p_at(&u, tmpfd, "a/x", 0755, tmp, NULL), 0);
	assert_int_equal(u.n, 0);
	undo_forget(&u);
	assert_int_equal(fs_mkdir_p_at(&u, tmpfd, "a/../etc", 0755, tmp, NULL), -EINVAL);
	assert_int_equal(fs_mkdir_p_at(&u, tmpfd, "a//b", 0755, tmp, NULL), -EINVAL);
	assert_int_equal(u.n, 0);
}

static void mkdir_refuses_symlinks_and_files(void **state)
{
	struct undo_log u;

	(void)state;
	assert_int_equal(mkdirat(tmpfd, "elsewhere", 0700), 0);
	assert_int_equal(symlinkat("elsewhere", tmpfd, "link"), 0);
	write_file("file", "x", 1, 0600);
	undo_init(&u);
	/* O_DIRECTORY | O_NOFOLLOW on a symlink: ENOTDIR. */
	assert_int_equal(fs_mkdir_p_at(&u, tmpfd, "link/sub", 0755, tmp, NULL), -ENOTDIR);
	assert_int_equal(fs_mkdir_p_at(&u, tmpfd, "file/sub", 0755, tmp, NULL), -ENOTDIR);
	/* Nothing was made through the link. */
	assert_false(exists("elsewhere/sub"));
	assert_int_equal(u.n, 0);
	/* A failure below a created directory leaves it in the log for rollback. */
	assert_int_equal(fs_mkdir_p_at(&u, tmpfd, "new/..", 0755, tmp, NULL), -EINVAL);
	assert_true(exists("new"));
	assert_int_equal(u.n, 1);
	undo_rollback(&u);
	assert_false(exists("new"));
}

/*
 * A directory of the jail's path that someone else owns, or may write to, lets
 * them rename it and put a symlink to any host directory in its place while
 * the jailer works on it: refused, whether it is an ancestor or the jail root,
 * and nothing is made below it.
 */
static void mkdir_refuses_foreign_or_writable_directories(void **state)
{
	static const mode_t writable[] = {0775, 0757, 0777, 01777};
	struct undo_log u;
	size_t i;

	(void)state;
	if (geteuid() != 0)
		skip(); /* chown to another uid */
	assert_int_equal(mkdirat(tmpfd, "a", 0755), 0);
	assert_int_equal(fchownat(tmpfd, "a", 4321, 4322, AT_SYMLINK_NOFOLLOW), 0);
	undo_init(&u);
	assert_int_equal(fs_mkdir_p_at(&u, tmpfd, "a/b/c", 0755, tmp, NULL), -EPERM);
	assert_false(exists("a/b"));
	assert_int_equal(u.n, 0);
	/* As the last component too (a pre-made jail root). */
	assert_int_equal(fs_mkdir_p_at(&u, tmpfd, "a", 0755, tmp, NULL), -EPERM);
	assert_int_equal(fchownat(tmpfd, "a", 0, 4322, AT_SYMLINK_NOFOLLOW), 0);
	for (i = 0; i < sizeof(writable) / sizeof(writable[0]); i++) {
		assert_int_equal(fchmodat(tmpfd, "a", writable[i], 0), 0);
		assert_int_equal(fs_mkdir_p_at(&u, tmpfd, "a/b", 0755, tmp, NULL), -EPERM);
		assert_false(exists("a/b"));
	}
	/* Root's, writable by root alone (any group): fine, and left as it was. */
	assert_int_equal(fchmodat(tmpfd, "a", 0750, 0), 0);
	assert_int_equal(fs_mkdir_p_at(&u, tmpfd, "a/b", 0755, tmp, NULL), 0);
	assert_int_equal(mode_of("a") & 07777, 0750);
	assert_int_equal(u.n, 1);
	undo_rollback(&u);
	assert_false(exists("a/b"));
}

static void copy_is_exact_and_refuses_existing_destinations(void **state)
{
	static unsigned char data[300 * 1024 + 7]; /* more than one copy chunk */
	static unsigned char back[sizeof(data)];
	struct undo_log u;
	struct stat st;
	size_t i;
	int src, fd, bin;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 131 + (i >> 9));
	write_file("src", data, sizeof(data), 0700);
	src = openat(tmpfd, "src", O_RDONLY | O_CLOEXEC);
	assert_true(src >= 0);
	assert_int_equal(mkdirat(tmpfd, "jail", 0755), 0);
	fd = openat(tmpfd, "jail", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	undo_init(&u);
	assert_int_equal(fs_copy_new_file(&u, src, fd, "bin", 0751, getuid(), getgid(), "bin"), 0);
	assert_int_equal(fstatat(fd, "bin", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0751);
	assert_int_equal(st.st_size, sizeof(data));
	assert_int_equal(st.st_uid, getuid());
	assert_int_equal(st.st_gid, getgid());
	bin = openat(fd, "bin", O_RDONLY | O_CLOEXEC);
	assert_int_equal(pread(bin, back, sizeof(back), 0), (ssize_t)sizeof(back));
	close(bin);
	assert_memory_equal(back, data, sizeof(data));

	/* A second copy to the same name is refused (O_EXCL), whatever is there. */
	assert_int_equal(fs_copy_new_file(&u, src, fd, "bin", 0751, getuid(), getgid(), "bin"),
			 -EEXIST);
	write_file("victim", "keep", 4, 0600);
	assert_int_equal(symlinkat("../victim", fd, "sym"), 0);
	assert_int_equal(fs_copy_new_file(&u, src, fd, "sym", 0751, getuid(), getgid(), "sym"),
			 -EEXIST);
	assert_int_equal(linkat(tmpfd, "victim", fd, "hard", 0), 0);
	assert_int_equal(fs_copy_new_file(&u, src, fd, "hard", 0751, getuid(), getgid(), "hard"),
			 -EEXIST);
	assert_int_equal(fs_read_small(tmpfd, "victim", (char *)back, 16), 4);
	assert_memory_equal(back, "keep", 4);

	/* Rollback removes only the copy this run made. */
	assert_int_equal(u.n, 1);
	undo_rollback(&u);
	assert_int_equal(faccessat(fd, "bin", F_OK, 0), -1);
	assert_int_equal(faccessat(fd, "sym", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	close(fd);
	close(src);
}

static void write_existing_and_read_small(void **state)
{
	struct undo_log u;
	char buf[8];

	(void)state;
	assert_int_equal(fs_write_existing(tmpfd, "absent", "1"), -ENOENT);
	assert_false(exists("absent"));
	write_file("target", "old value", 9, 0600);
	assert_int_equal(symlinkat("target", tmpfd, "link"), 0);
	assert_int_equal(fs_write_existing(tmpfd, "link", "x"), -ELOOP);
	assert_int_equal(fs_write_existing(tmpfd, "target", "new\n"), 0);
	assert_int_equal(fs_read_small(tmpfd, "target", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "new");
	write_file("long", "0123456789\n", 11, 0600);
	assert_int_equal(fs_read_small(tmpfd, "long", buf, sizeof(buf)), 7);
	assert_string_equal(buf, "0123456");

	/* UNDO_WRITE puts the recorded value back. */
	undo_init(&u);
	assert_int_equal(undo_push_write(&u, tmpfd, "target", "restored"), 0);
	assert_int_equal(undo_push_write(&u, tmpfd, "target",
					 "0123456789012345678901234567890123"
					 "456789012345678901"),
			 -EINVAL);
	undo_rollback(&u);
	assert_int_equal(fs_read_small(tmpfd, "target", buf, sizeof(buf)), 7);
	assert_string_equal(buf, "restore");
}

/* A minimal 64-bit ELF: header, one PT_INTERP program header, the path. */
static void write_elf(const char *rel, const char *interp, bool nul)
{
	unsigned char img[256];
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	size_t len = strlen(interp) + (nul ? 1 : 0);

	memset(img, 0, sizeof(img));
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = 1;
	memset(&ph, 0, sizeof(ph));
	ph.p_type = PT_INTERP;
	ph.p_offset = sizeof(eh) + sizeof(ph);
	ph.p_filesz = len;
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + sizeof(eh), &ph, sizeof(ph));
	memcpy(img + ph.p_offset, interp, strlen(interp));
	write_file(rel, img, sizeof(img), 0755);
}

static int open_rel(const char *rel)
{
	int fd = openat(tmpfd, rel, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void finds_interpreters(void **state)
{
	char out[PATH_MAX];
	int fd;

	(void)state;
	write_elf("dyn", "/lib64/ld-test.so.2", true);
	fd = open_rel("dyn");
	assert_int_equal(exec_interpreter(fd, out, sizeof(out)), 0);
	assert_string_equal(out, "/lib64/ld-test.so.2");
	assert_int_equal(exec_interpreter(fd, out, 5), -ENOEXEC);
	close(fd);
	write_elf("bad", "/lib64/ld-test.so.2", false);
	fd = open_rel("bad");
	assert_int_equal(exec_interpreter(fd, out, sizeof(out)), -ENOEXEC);
	close(fd);
	write_file("script", "#!  /bin/sh -e\necho\n", 20, 0755);
	fd = open_rel("script");
	assert_int_equal(exec_interpreter(fd, out, sizeof(out)), 0);
	assert_string_equal(out, "/bin/sh");
	close(fd);
	write_file("data", "just some data", 14, 0755);
	fd = open_rel("data");
	assert_int_equal(exec_interpreter(fd, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	close(fd);
	/* A real dynamically linked binary of this system. */
	fd = open("/bin/true", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		assert_int_equal(exec_interpreter(fd, out, sizeof(out)), 0);
		assert_non_null(strstr(out, "ld-linux"));
		close(fd);
	}
}

static void interpreter_must_be_inside_the_jail(void **state)
{
	char jail[128];
	int fd;

	(void)state;
	write_elf("dyn", "/lib64/ld-test.so.2", true);
	fd = open_rel("dyn");
	snprintf(jail, sizeof(jail), "%s/x/vm/root", tmp);
	/* Jail not made yet: the interpreter cannot be there. */
	assert_int_equal(exec_check_jail(fd, "dyn", tmpfd, "x/vm/root", jail), -ENOENT);
	assert_int_equal(mkdirat(tmpfd, "x", 0755), 0);
	assert_int_equal(mkdirat(tmpfd, "x/vm", 0755), 0);
	assert_int_equal(mkdirat(tmpfd, "x/vm/root", 0755), 0);
	assert_int_equal(mkdirat(tmpfd, "x/vm/root/usr", 0755), 0);
	assert_int_equal(mkdirat(tmpfd, "x/vm/root/usr/lib64", 0755), 0);
	/* An absolute symlink resolves against the jail root, not the host's. */
	assert_int_equal(symlinkat("/usr/lib64", tmpfd, "x/vm/root/lib64"), 0);
	assert_int_equal(exec_check_jail(fd, "dyn", tmpfd, "x/vm/root", jail), -ENOENT);
	write_file("x/vm/root/usr/lib64/ld-test.so.2", "", 0, 0755);
	assert_int_equal(exec_check_jail(fd, "dyn", tmpfd, "x/vm/root", jail), 0);
	close(fd);
	/* A file without an interpreter needs nothing. */
	write_file("static",
		   "\x7f"
		   "ELF",
		   4, 0755);
	fd = open_rel("static");
	assert_int_equal(exec_check_jail(fd, "static", tmpfd, "nowhere", jail), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(mkdir_p_exact_modes_and_rollback, setup, teardown),
	    cmocka_unit_test_setup_teardown(mkdir_refuses_symlinks_and_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(mkdir_refuses_foreign_or_writable_directories, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(copy_is_exact_and_refuses_existing_destinations, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(write_existing_and_read_small, setup, teardown),
	    cmocka_unit_test_setup_teardown(finds_interpreters, setup, teardown),
	    cmocka_unit_test_setup_teardown(interpreter_must_be_inside_the_jail, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
