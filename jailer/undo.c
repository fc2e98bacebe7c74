// SPDX-License-Identifier: Apache-2.0
/*
 * Undo log: every host object the jailer creates (jail directories, the
 * copied binary, device nodes, cgroup directories, cgroup membership) is
 * recorded relative to a directory fd, and so is the owner and mode of every
 * directory that existed before and is handed to the jailed uid (the jail
 * root, /dev, /run). fds keep working after pivot_root, when the host paths
 * are no longer reachable, so a failure at any step can be rolled back the
 * same way.
 */
#include "jailer/jailer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void undo_init(struct undo_log *u)
{
	u->e = NULL;
	u->n = 0;
	u->cap = 0;
}

static struct undo_entry *undo_new(struct undo_log *u, int dirfd, const char *name)
{
	struct undo_entry *e;

	if (strlen(name) >= sizeof(e->name))
		return NULL;
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 16;
		struct undo_entry *ne = realloc(u->e, cap * sizeof(*ne));

		if (!ne)
			return NULL;
		u->e = ne;
		u->cap = cap;
	}
	e = &u->e[u->n];
	e->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (e->dirfd < 0)
		return NULL;
	strcpy(e->name, name);
	e->data[0] = '\0';
	u->n++;
	return e;
}

int undo_push_remove(struct undo_log *u, int dirfd, const char *name, bool is_dir)
{
	struct undo_entry *e = undo_new(u, dirfd, name);

	if (!e)
		return -ENOMEM;
	e->kind = is_dir ? UNDO_RMDIR : UNDO_UNLINK;
	return 0;
}

int undo_push_write(struct undo_log *u, int dirfd, const char *name, const char *data)
{
	struct undo_entry *e;

	if (strlen(data) >= sizeof(e->data))
		return -EINVAL;
	e = undo_new(u, dirfd, name);
	if (!e)
		return -ENOMEM;
	e->kind = UNDO_WRITE;
	strcpy(e->data, data);
	return 0;
}

int undo_push_owner(struct undo_log *u, int fd, const char *shown)
{
	struct undo_entry *e;
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	e = undo_new(u, fd, shown);
	if (!e)
		return -ENOMEM;
	e->kind = UNDO_OWNER;
	e->uid = st.st_uid;
	e->gid = st.st_gid;
	e->mode = st.st_mode & 07777;
	return 0;
}

static void undo_one(const struct undo_entry *e)
{
	static const char *const verbs[] = {[UNDO_UNLINK] = "remove",
					    [UNDO_RMDIR] = "remove",
					    [UNDO_WRITE] = "restore",
					    [UNDO_OWNER] = "restore the owner and mode of"};
	int ret = 0;

	switch (e->kind) {
	case UNDO_UNLINK:
		ret = unlinkat(e->dirfd, e->name, 0) ? -errno : 0;
		break;
	case UNDO_RMDIR:
		ret = unlinkat(e->dirfd, e->name, AT_REMOVEDIR) ? -errno : 0;
		break;
	case UNDO_WRITE:
		ret = fs_write_existing(e->dirfd, e->name, e->data);
		break;
	case UNDO_OWNER:
		/* chown first: it may clear set-id bits, which the chmod puts back. */
		ret = fchown(e->dirfd, e->uid, e->gid) || fchmod(e->dirfd, e->mode) ? -errno : 0;
		break;
	}
	if (ret && ret != -ENOENT)
		jail_warn("cleanup: could not %s '%s': %s", verbs[e->kind], e->name,
			  strerror(-ret));
}

void undo_rollback(struct undo_log *u)
{
	while (u->n) {
		struct undo_entry *e = &u->e[--u->n];

		undo_one(e);
		close(e->dirfd);
	}
	free(u->e);
	undo_init(u);
}

void undo_forget(struct undo_log *u)
{
	while (u->n)
		close(u->e[--u->n].dirfd);
	free(u->e);
	undo_init(u);
}
