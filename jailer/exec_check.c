// SPDX-License-Identifier: Apache-2.0
/*
 * Will the binary be exec-able inside the jail? execve() is the very last
 * step, after privileges are gone, when the jail could no longer be fully
 * cleaned up; so the usual reasons it would fail are checked up front: a
 * dynamically linked ELF (or a #! script) whose interpreter is not in the
 * jail, and a jail on a noexec or nodev mount.
 */
#include "jailer/jailer.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

static int elf_interpreter(int fd, const Elf64_Ehdr *eh, char *out, size_t len)
{
	Elf64_Phdr ph;
	unsigned int i;

	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_phentsize != sizeof(ph))
		return 0; /* not ours to judge: let execve() decide */
	for (i = 0; i < eh->e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh->e_phoff + (uint64_t)i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph))
			return -ENOEXEC;
		if (ph.p_type != PT_INTERP)
			continue;
		if (ph.p_filesz < 2 || ph.p_filesz > len)
			return -ENOEXEC;
		if (pread(fd, out, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz ||
		    out[ph.p_filesz - 1] != '\0')
			return -ENOEXEC;
		return 0;
	}
	return 0;
}

static int script_interpreter(const char *head, size_t n, char *out, size_t len)
{
	size_t i = 2, start, end;

	while (i < n && (head[i] == ' ' || head[i] == '\t'))
		i++;
	start = i;
	while (i < n && head[i] != ' ' && head[i] != '\t' && head[i] != '\n')
		i++;
	end = i;
	if (end == start || end - start >= len)
		return -ENOEXEC;
	memcpy(out, head + start, end - start);
	out[end - start] = '\0';
	return 0;
}

int exec_interpreter(int fd, char *out, size_t len)
{
	char head[256];
	Elf64_Ehdr eh;
	ssize_t n;

	out[0] = '\0';
	n = pread(fd, head, sizeof(head), 0);
	if (n < 0)
		return -errno;
	if (n >= 2 && head[0] == '#' && head[1] == '!')
		return script_interpreter(head, (size_t)n, out, len);
	if ((size_t)n < sizeof(eh) || memcmp(head, ELFMAG, SELFMAG))
		return 0;
	memcpy(&eh, head, sizeof(eh));
	return elf_interpreter(fd, &eh, out, len);
}

/* Does @path exist when resolved with @rootfd as "/" (symlinks included)? */
static bool exists_in_root(int rootfd, const char *path)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
	int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int exec_check_jail(int exec_fd, const char *exec_file, int basefd, const char *jail_rel,
		    const char *jail_dir)
{
	char interp[PATH_MAX];
	struct statvfs vfs;
	int rootfd, ret;

	if (fstatvfs(basefd, &vfs) == 0 && (vfs.f_flag & (ST_NOEXEC | ST_NODEV))) {
		jail_err("the chroot base is on a %s mount: %s",
			 vfs.f_flag & ST_NOEXEC ? "noexec" : "nodev",
			 vfs.f_flag & ST_NOEXEC ? "the binary could not run"
						: "the device nodes in the jail would not work");
		return -EPERM;
	}
	ret = exec_interpreter(exec_fd, interp, sizeof(interp));
	if (ret) {
		jail_err("exec file '%s' is not a valid executable", exec_file);
		return ret;
	}
	if (!interp[0])
		return 0;
	rootfd = openat(basefd, jail_rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd >= 0 && exists_in_root(rootfd, interp)) {
		close(rootfd);
		return 0;
	}
	if (rootfd >= 0)
		close(rootfd);
	jail_err("exec file '%s' needs the interpreter %s, which is not in the jail: use a "
		 "statically linked binary, or put the interpreter and libraries into %s first",
		 exec_file, interp, jail_dir);
	return -ENOENT;
}
