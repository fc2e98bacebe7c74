// SPDX-License-Identifier: Apache-2.0
/*
 * The jail's own directories and device nodes, made from inside the jail
 * (after pivot_root) so no path can point outside it. Modes follow
 * Firecracker: directories 0700 and character devices 0600, all owned by the
 * jailed uid:gid so the unprivileged process can use them and nobody else can.
 */
#include "jailer/jailer.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define JAIL_DIR_MODE 0700
#define JAIL_DEV_MODE 0600

struct jail_node {
	const char *dir; /* "" = jail root, else "dev" or "dev/net" */
	const char *name;
	unsigned int major, minor;
	bool optional; /* a failure is a warning (Firecracker: /dev/urandom) */
};

/*
 * Hand a jail directory to uid:gid. What it was before is recorded first: a
 * directory that existed before this run (the jail root always can) gets its
 * owner and mode back if the run fails.
 */
static int own_dir(struct undo_log *u, int fd, uid_t uid, gid_t gid, const char *shown)
{
	int ret = undo_push_owner(u, fd, shown);

	if (ret) {
		jail_err("cannot record the owner of %s in the jail: %s", shown, strerror(-ret));
		return ret;
	}
	if (fchmod(fd, JAIL_DIR_MODE) || fchown(fd, uid, gid)) {
		int err = errno;

		jail_err("cannot set mode/owner of %s in the jail: %s", shown, strerror(err));
		return -err;
	}
	return 0;
}

static int jail_dir(struct undo_log *u, int parentfd, const char *name, const char *shown,
		    uid_t uid, gid_t gid, int *out_fd)
{
	int ret = fs_mkdirat_tracked(u, parentfd, name, JAIL_DIR_MODE, shown, out_fd);

	if (ret)
		return ret;
	ret = own_dir(u, *out_fd, uid, gid, shown);
	if (ret)
		close(*out_fd);
	return ret;
}

/*
 * The node is made with its final mode (umask 0 around mknodat) and chowned
 * through an O_PATH fd of the node itself, checked to be what we made: the
 * name is never followed again. fchmodat() has no "don't follow" on kernels
 * before 6.6 (and there is no /proc in the jail to chmod an O_PATH fd by), so
 * no chmod at all; chown leaves the permission bits of a device node alone.
 */
static int make_node(struct undo_log *u, int dirfd, const char *shown, const struct jail_node *n,
		     uid_t uid, gid_t gid)
{
	dev_t rdev = makedev(n->major, n->minor);
	struct stat st;
	mode_t old_mask;
	int ret, fd;

	old_mask = umask(0);
	ret = mknodat(dirfd, n->name, S_IFCHR | JAIL_DEV_MODE, rdev) ? -errno : 0;
	umask(old_mask);
	if (ret) {
		if (n->optional)
			jail_warn("cannot create %s in the jail: %s (continuing without it)", shown,
				  strerror(-ret));
		else
			jail_err("cannot create %s in the jail: %s", shown, strerror(-ret));
		return n->optional ? 0 : ret;
	}
	ret = undo_push_remove(u, dirfd, n->name, false);
	if (ret) {
		unlinkat(dirfd, n->name, 0);
		jail_err("cannot record %s for cleanup: %s", shown, strerror(-ret));
		return ret;
	}
	/* O_PATH: the device itself is not opened; O_NOFOLLOW: a symlink is not followed. */
	fd = openat(dirfd, n->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		jail_err("cannot open %s in the jail: %s", shown, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) || !S_ISCHR(st.st_mode) || st.st_rdev != rdev ||
	    (st.st_mode & 07777) != JAIL_DEV_MODE) {
		jail_err("%s in the jail was replaced while it was being made", shown);
		close(fd);
		return -EEXIST;
	}
	if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH)) {
		ret = -errno;
		jail_err("cannot set the owner of %s in the jail: %s", shown, strerror(-ret));
		close(fd);
		return ret;
	}
	close(fd);
	return 0;
}

static int make_nodes(struct undo_log *u, int devfd, int netfd, uid_t uid, gid_t gid,
		      const struct jail_devices *dev)
{
	const struct jail_node nodes[] = {
	    {"dev/net", "tun", 10, 200, false},
	    {"dev", "kvm", 10, 232, false},
	    {"dev", "urandom", 1, 9, true},
	    {"dev", "userfaultfd", 10, dev->uffd_minor, false},
	};
	size_t i, count = dev->have_uffd ? 4 : 3;
	int ret;

	for (i = 0; i < count; i++) {
		char shown[64];
		int fd = strcmp(nodes[i].dir, "dev") ? netfd : devfd;

		strcpy(shown, "/");
		strcat(shown, nodes[i].dir);
		strcat(shown, "/");
		strcat(shown, nodes[i].name);
		ret = make_node(u, fd, shown, &nodes[i], uid, gid);
		if (ret)
			return ret;
	}
	return 0;
}

int jail_make_nodes(struct undo_log *u, int rootfd, uid_t uid, gid_t gid,
		    const struct jail_devices *dev)
{
	int devfd = -1, netfd = -1, runfd = -1, ret;

	/* The binary creates its API socket in the jail: the root is its own. */
	ret = own_dir(u, rootfd, uid, gid, "/");
	if (!ret)
		ret = jail_dir(u, rootfd, "dev", "/dev", uid, gid, &devfd);
	if (!ret)
		ret = jail_dir(u, devfd, "net", "/dev/net", uid, gid, &netfd);
	if (!ret)
		ret = jail_dir(u, rootfd, "run", "/run", uid, gid, &runfd);
	if (!ret)
		ret = make_nodes(u, devfd, netfd, uid, gid, dev);
	if (devfd >= 0)
		close(devfd);
	if (netfd >= 0)
		close(netfd);
	if (runfd >= 0)
		close(runfd);
	return ret;
}
