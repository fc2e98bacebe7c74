// SPDX-License-Identifier: Apache-2.0
/*
 * Dropping root. Supplementary groups go first (that needs CAP_SETGID), then
 * the gid, then the uid: once all three uids are non-zero the kernel clears
 * the permitted and effective capability sets. no_new_privs makes sure no
 * set-uid file can give any of it back.
 */
#include "jailer/jailer.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int jail_caps_count(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	int i, count = 0;

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		count += __builtin_popcount(data[i].effective | data[i].permitted);
	return count;
}

int jail_drop_privileges(uid_t uid, gid_t gid)
{
	int caps;

	if (setgroups(0, NULL))
		goto fail;
	if (setresgid(gid, gid, gid))
		goto fail;
	if (setresuid(uid, uid, uid))
		goto fail;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		goto fail;
	if (uid == 0)
		return 0; /* --allow-root: root keeps its capabilities by definition */
	caps = jail_caps_count();
	if (caps != 0) {
		jail_err("capabilities remain after dropping to uid %u: %s", (unsigned int)uid,
			 caps < 0 ? strerror(-caps) : "refusing to continue");
		return caps < 0 ? caps : -EPERM;
	}
	return 0;
fail:
	caps = -errno;
	jail_err("cannot drop privileges to %u:%u: %s", (unsigned int)uid, (unsigned int)gid,
		 strerror(-caps));
	return caps;
}
