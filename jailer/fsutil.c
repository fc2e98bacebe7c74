// SPDX-License-Identifier: Apache-2.0
/*
 * Filesystem helpers for building the jail. Everything is relative to a
 * directory fd and never follows a symlink in the last component, so a jail
 * directory prepared by someone else cannot redirect our writes to the host.
 * And no directory of the jail's path may be someone else's: its owner could
 * rename it and put a symlink in its place between our checks and our use.
 */
#include "jailer/jailer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (128 * 1024)

static int open_dir_nofollow(int dirfd, const char *name, const char *what)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		int err = errno;

		if (err == ELOOP || err == ENOTDIR)
			jail_err("%s exists but is not a directory (or is a symlink)", what);
		else
			jail_err("cannot open %s: %s", what, strerror(err));
		return -err;
	}
	return fd;
}

/*
 * The directory open at @fd must be root's (the jailer's euid, which is 0) and
 * writable by nobody else. Checked on the directory we hold, made by this run
 * or before: one made now is root's with @mode, unless someone put their own
 * in its place between mkdirat() and open.
 */
static int check_dir_safe(int fd, const char *what)
{
	struct stat st;

	if (fstat(fd, &st)) {
		int err = errno;

		jail_err("cannot stat %s: %s", what, strerror(err));
		return -err;
	}
	if (st.st_uid != geteuid()) {
		jail_err("refusing to use %s: it is owned by uid %u, not root (its owner could "
			 "replace it while the jail is built)",
			 what, (unsigned int)st.st_uid);
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		jail_err("refusing to use %s: it is writable by its group or others (mode %04o); "
			 "only root may write to the directories of the jail's path",
			 what, (unsigned int)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int fs_mkdirat_tracked(struct undo_log *u, int dirfd, const char *name, mode_t mode,
		       const char *what, int *out_fd)
{
	bool created = false;
	int fd, ret;

	if (mkdirat(dirfd, name, mode) == 0) {
		created = true;
		ret = undo_push_remove(u, dirfd, name, true);
		if (ret) {
			unlinkat(dirfd, name, AT_REMOVEDIR);
			jail_err("cannot record %s for cleanup: %s", what, strerror(-ret));
			return ret;
		}
	} else if (errno != EEXIST) {
		ret = -errno;
		jail_err("cannot create directory %s: %s", what, strerror(-ret));
		return ret;
	}
	fd = open_dir_nofollow(dirfd, name, what);
	if (fd < 0)
		return fd;
	ret = check_dir_safe(fd, what);
	if (ret) {
		close(fd);
		return ret;
	}
	/* mkdirat() applies the umask; a directory we made gets exactly @mode. */
	if (created && fchmod(fd, mode)) {
		ret = -errno;
		jail_err("cannot chmod %s: %s", what, strerror(-ret));
		close(fd);
		return ret;
	}
	if (out_fd)
		*out_fd = fd;
	else
		close(fd);
	return 0;
}

int fs_mkdir_p_at(struct undo_log *u, int basefd, const char *relpath, mode_t mode,
		  const char *what, int *out_fd)
{
	char shown[PATH_MAX], comp[NAME_MAX + 1];
	const char *p = relpath;
	int fd, next, ret;

	fd = fcntl(basefd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	snprintf(shown, sizeof(shown), "%s", what);
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || n > NAME_MAX || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.')) {
			jail_err("invalid path component in '%s'", relpath);
			close(fd);
			return -EINVAL;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown), "/%s", comp);
		ret = fs_mkdirat_tracked(u, fd, comp, mode, shown, &next);
		close(fd);
		if (ret)
			return ret;
		fd = next;
		p += n;
		if (*p == '/')
			p++;
	}
	if (out_fd)
		*out_fd = fd;
	else
		close(fd);
	return 0;
}

static void explain_existing(int dirfd, const char *name, const char *what)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		jail_err("refusing to copy: %s already exists and is a symlink", what);
	else if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_nlink > 1)
		jail_err("refusing to copy: %s already exists and is a hard link", what);
	else
		jail_err("refusing to copy: %s already exists", what);
}

static int copy_fd(int srcfd, int dstfd)
{
	char *buf = malloc(COPY_CHUNK);
	off_t off = 0;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = pread(srcfd, buf, COPY_CHUNK, off), done = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : 0;
			break;
		}
		while (done < n) {
			ssize_t w = write(dstfd, buf + done, (size_t)(n - done));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				ret = -errno;
				goto out;
			}
			done += w;
		}
		off += n;
	}
out:
	free(buf);
	return ret;
}

int fs_copy_new_file(struct undo_log *u, int srcfd, int dirfd, const char *name, mode_t mode,
		     uid_t uid, gid_t gid, const char *what)
{
	int fd, ret;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		if (ret == -EEXIST)
			explain_existing(dirfd, name, what);
		else
			jail_err("cannot create %s: %s", what, strerror(-ret));
		return ret;
	}
	ret = undo_push_remove(u, dirfd, name, false);
	if (ret) {
		unlinkat(dirfd, name, 0);
		close(fd);
		jail_err("cannot record %s for cleanup: %s", what, strerror(-ret));
		return ret;
	}
	ret = copy_fd(srcfd, fd);
	if (ret)
		jail_err("cannot copy into %s: %s", what, strerror(-ret));
	/* chown before chmod: chown clears set-id bits, chmod sets the final mode. */
	if (!ret && fchown(fd, uid, gid)) {
		ret = -errno;
		jail_err("cannot chown %s to %u:%u: %s", what, (unsigned int)uid, (unsigned int)gid,
			 strerror(-ret));
	}
	if (!ret && fchmod(fd, mode)) {
		ret = -errno;
		jail_err("cannot chmod %s: %s", what, strerror(-ret));
	}
	if (close(fd) && !ret) {
		ret = -errno;
		jail_err("cannot write %s: %s", what, strerror(-ret));
	}
	return ret;
}

int fs_write_existing(int dirfd, const char *name, const char *data)
{
	size_t len = strlen(data);
	ssize_t n;
	int fd, ret = 0;

	/* O_TRUNC is a no-op on kernel interface files and replaces a plain file's value. */
	fd = openat(dirfd, name, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Kernel interface files take one value per write(). */
	n = write(fd, data, len);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	close(fd);
	return ret;
}

ssize_t fs_read_small(int dirfd, const char *name, char *buf, size_t len)
{
	size_t got = 0;
	int fd;

	if (!len)
		return -EINVAL;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < len - 1) {
		ssize_t n = read(fd, buf + got, len - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			close(fd);
			return -err;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	while (got && buf[got - 1] == '\n')
		got--;
	buf[got] = '\0';
	return (ssize_t)got;
}

int fs_read_all(const char *path, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int fd;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		free(buf);
		return -err;
	}
	for (;;) {
		ssize_t n;

		if (cap - len < 2) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				close(fd);
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			close(fd);
			free(buf);
			return -err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	return 0;
}
