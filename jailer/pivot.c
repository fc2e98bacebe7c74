// SPDX-License-Identifier: Apache-2.0
/*
 * Enter the jail: a private mount namespace in which the jail directory is
 * bind-mounted onto itself (pivot_root needs the new root to be a mount
 * point), then pivot_root into it and lazily detach the old root, so nothing
 * of the host's filesystem stays reachable. Same sequence as Firecracker,
 * with one difference: the jail directory is never looked up by path again
 * after it was made and checked. The bind mount is a clone of the tree at
 * the directory fd the jailer holds (open_tree), attached on top of that
 * same fd (move_mount), and entered through the clone's fd (fchdir): a jail
 * path renamed and replaced by a symlink in the meantime changes nothing.
 *
 * open_tree() clones only mounts of the caller's own mount namespace, so the
 * namespace is entered first, before the chroot base is opened (every fd of
 * the jail's directories is then one of this namespace).
 */
#include "jailer/jailer.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define OLD_ROOT "old_root"

static int fail(const char *what, int err)
{
	jail_err("%s: %s", what, strerror(err));
	return -err;
}

int jail_enter_mount_ns(void)
{
	if (unshare(CLONE_NEWNS))
		return fail("cannot create a new mount namespace", errno);
	/* Our mounts must not propagate back to the host (and pivot_root refuses shared ones). */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL))
		return fail("cannot make the mounts private to the jail", errno);
	return 0;
}

/*
 * Before pivot_root succeeded: take the bind mount off the jail directory again
 * (through its fd; the host's /proc is still there), or the rollback could not
 * remove a jail root this run made (EBUSY).
 */
static int fail_detach(int tree, const char *what, int err)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", tree);
	umount2(path, MNT_DETACH);
	close(tree);
	return fail(what, err);
}

int jail_pivot_root(int jail_fd)
{
	int tree, err;

	tree = open_tree(jail_fd, "",
			 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0)
		return fail("cannot bind-mount the jail directory onto itself (open_tree)", errno);
	if (move_mount(tree, "", jail_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)) {
		err = errno;
		close(tree);
		return fail("cannot bind-mount the jail directory onto itself (move_mount)", err);
	}
	/* @tree is the root of the mount just attached: the new root. */
	if (fchdir(tree))
		return fail_detach(tree, "cannot enter the jail directory", errno);
	if (mkdir(OLD_ROOT, 0700))
		return fail_detach(tree, "cannot create " OLD_ROOT " in the jail", errno);
	if (syscall(SYS_pivot_root, ".", OLD_ROOT)) {
		err = errno;
		rmdir(OLD_ROOT);
		return fail_detach(tree, "pivot_root into the jail failed", err);
	}
	close(tree);
	/* pivot_root does not move the cwd: go to the new root explicitly. */
	if (chdir("/"))
		return fail("cannot chdir to the jail root", errno);
	if (umount2(OLD_ROOT, MNT_DETACH))
		return fail("cannot detach the old root", errno);
	if (rmdir(OLD_ROOT))
		return fail("cannot remove " OLD_ROOT " from the jail", errno);
	return 0;
}
