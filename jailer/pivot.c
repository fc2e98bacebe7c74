// SPDX-License-Identifier: Apache-2.0
/*
 * Enter the jail: a private mount namespace in which the jail directory is
 * bind-mounted onto itself (pivot_root needs the new root to be a mount
 * point), then pivot_root into it and lazily detach the old root, so nothing
 * of the host's filesystem stays reachable. Same sequence as Firecracker.
 */
#include "jailer/jailer.h"

#include <errno.h>
#include <sched.h>
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

/* Before pivot_root succeeded the host view is still there: undo what we did to it. */
static int fail_before_pivot(const char *jail_dir, const char *what, int err, bool made_old)
{
	if (made_old)
		rmdir(OLD_ROOT);
	umount2(jail_dir, MNT_DETACH);
	return fail(what, err);
}

int jail_pivot_root(const char *jail_dir)
{
	if (unshare(CLONE_NEWNS))
		return fail("cannot create a new mount namespace", errno);
	/* Our mounts must not propagate back to the host (and pivot_root refuses shared ones). */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL))
		return fail("cannot make the mounts private to the jail", errno);
	if (mount(jail_dir, jail_dir, NULL, MS_BIND | MS_REC, NULL))
		return fail("cannot bind-mount the jail directory onto itself", errno);
	if (chdir(jail_dir))
		return fail_before_pivot(jail_dir, "cannot enter the jail directory", errno, false);
	if (mkdir(OLD_ROOT, 0700))
		return fail_before_pivot(jail_dir, "cannot create " OLD_ROOT " in the jail", errno,
					 false);
	if (syscall(SYS_pivot_root, ".", OLD_ROOT))
		return fail_before_pivot(jail_dir, "pivot_root into the jail failed", errno, true);
	/* pivot_root does not move the cwd: go to the new root explicitly. */
	if (chdir("/"))
		return fail("cannot chdir to the jail root", errno);
	if (umount2(OLD_ROOT, MNT_DETACH))
		return fail("cannot detach the old root", errno);
	if (rmdir(OLD_ROOT))
		return fail("cannot remove " OLD_ROOT " from the jail", errno);
	return 0;
}
