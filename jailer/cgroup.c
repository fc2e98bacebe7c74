// SPDX-License-Identifier: Apache-2.0
/*
 * The microVM's cgroup: <hierarchy>/<parent-cgroup>/<id> in every v1
 * hierarchy that holds a requested controller, or in the unified v2 one.
 * Planning (which hierarchy, is the controller there at all) happens before
 * anything is created; applying creates the directories, writes the values
 * and then moves the jailer in, so the exec'd binary inherits the cgroup.
 */
#include "jailer/jailer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CG_DIR_MODE  0755
#define CG_VALUE_MAX 4096

const char *cgroup_controllers_file(const char *dir, char *buf, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	return fs_read_small(AT_FDCWD, path, buf, len) < 0 ? NULL : buf;
}

static bool v2_has_controller(const struct cgroup_mounts *m, const char *ctrl,
			      cgroup_controllers_fn controllers_of)
{
	char buf[1024];
	const char *list;

	if (!m->has_v2)
		return false;
	list = controllers_of(m->v2_dir, buf, sizeof(buf));
	return list && cgroup_list_has(list, ' ', ctrl);
}

static int plan_check_version(const struct cgroup_mounts *m, int version, char *err, size_t errlen)
{
	if (version == 1 && !m->n_v1)
		return jail_fmt_err(
		    err, errlen,
		    "cgroup version mismatch: --cgroup-version 1 but no cgroup v1 "
		    "hierarchy is mounted%s",
		    m->has_v2 ? " (this host uses cgroup v2: pass --cgroup-version 2)" : "");
	if (version == 2 && !m->has_v2)
		return jail_fmt_err(err, errlen,
				    "cgroup version mismatch: --cgroup-version 2 but no cgroup2 "
				    "hierarchy is mounted%s",
				    m->n_v1 ? " (this host uses cgroup v1: pass --cgroup-version 1)"
					    : "");
	return 0;
}

/* The hierarchy (mount dir) holding @arg's controller, or NULL with a message. */
static const char *plan_mount_for(const struct cgroup_mounts *m, int version,
				  const struct jail_cgroup_arg *arg,
				  cgroup_controllers_fn controllers_of, char *err, size_t errlen)
{
	const char *ctrl = arg->controller;

	if (version == 1) {
		const char *dir = cgroup_v1_mount_for(m, ctrl);

		if (!dir)
			jail_fmt_err(
			    err, errlen,
			    "cgroup controller '%s' (for %s) is not mounted as a cgroup v1 "
			    "hierarchy%s",
			    ctrl, arg->file,
			    v2_has_controller(m, ctrl, controllers_of)
				? " (cgroup version mismatch: it is in the v2 hierarchy, "
				  "pass --cgroup-version 2)"
				: "");
		return dir;
	}
	/* "cgroup.*" are the core interface files every v2 cgroup has. */
	if (!strcmp(ctrl, "cgroup") || v2_has_controller(m, ctrl, controllers_of))
		return m->v2_dir;
	jail_fmt_err(
	    err, errlen,
	    "cgroup controller '%s' (for %s) is not available in the cgroup v2 hierarchy at "
	    "%s%s",
	    ctrl, arg->file, m->v2_dir,
	    cgroup_v1_mount_for(m, ctrl) ? " (cgroup version mismatch: it is mounted as "
					   "cgroup v1, pass --cgroup-version 1)"
					 : "");
	return NULL;
}

static size_t plan_hier_index(struct cgroup_plan *p, const char *mount)
{
	size_t i;

	for (i = 0; i < p->n_hier; i++)
		if (!strcmp(p->hier[i].mount, mount))
			return i;
	p->hier[i].mount = mount;
	p->hier[i].cpuset = false;
	p->n_hier++;
	return i;
}

int cgroup_plan_build(struct cgroup_plan *p, const struct jail_args *a, const char *exec_name,
		      const char *proc_mounts, cgroup_controllers_fn controllers_of, char *err,
		      size_t errlen)
{
	size_t i;
	int ret;

	memset(p, 0, sizeof(*p));
	p->version = a->cgroup_version;
	if (!a->n_cgroups)
		return 0;
	cgroup_mounts_parse(proc_mounts, &p->mounts);
	ret = plan_check_version(&p->mounts, p->version, err, errlen);
	if (ret)
		return ret;
	if (cgroup_rel_path(p->rel, sizeof(p->rel), a->parent_cgroup ? a->parent_cgroup : exec_name,
			    a->id))
		return jail_fmt_err(err, errlen, "cgroup path too long");
	for (i = 0; i < a->n_cgroups; i++) {
		const char *mount = plan_mount_for(&p->mounts, p->version, &a->cgroups[i],
						   controllers_of, err, errlen);
		size_t h;

		if (!mount)
			return -EINVAL;
		h = plan_hier_index(p, mount);
		p->arg_hier[i] = h;
		if (p->version == 1 && !strcmp(a->cgroups[i].controller, "cpuset"))
			p->hier[h].cpuset = true;
	}
	return 0;
}

/* v2: a controller must be enabled in the parent's subtree_control to be usable below. */
static int enable_controller(struct undo_log *u, int dirfd, const char *shown, const char *ctrl)
{
	char buf[1024], cmd[JAIL_CG_CTRL_MAX + 2];
	ssize_t n;
	int ret;

	if (!strcmp(ctrl, "cgroup"))
		return 0;
	n = fs_read_small(dirfd, "cgroup.subtree_control", buf, sizeof(buf));
	if (n >= 0 && cgroup_list_has(buf, ' ', ctrl))
		return 0;
	snprintf(cmd, sizeof(cmd), "+%s", ctrl);
	ret = fs_write_existing(dirfd, "cgroup.subtree_control", cmd);
	if (ret) {
		jail_err("cannot enable cgroup controller '%s' in %s/cgroup.subtree_control: %s",
			 ctrl, shown, strerror(-ret));
		return ret;
	}
	cmd[0] = '-';
	ret = undo_push_write(u, dirfd, "cgroup.subtree_control", cmd);
	if (ret)
		jail_err("cannot record cgroup change for cleanup: %s", strerror(-ret));
	return ret;
}

static int enable_all(struct undo_log *u, int dirfd, const char *shown, const struct jail_args *a)
{
	size_t i;
	int ret;

	for (i = 0; i < a->n_cgroups; i++) {
		ret = enable_controller(u, dirfd, shown, a->cgroups[i].controller);
		if (ret)
			return ret;
	}
	return 0;
}

/* v1 cpuset: a new cgroup starts with empty cpus/mems and takes no task until they are set. */
static int inherit_if_empty(int parentfd, int childfd, const char *file, const char *shown)
{
	char buf[CG_VALUE_MAX];
	ssize_t n;
	int ret;

	n = fs_read_small(childfd, file, buf, sizeof(buf));
	if (n != 0)
		return n < 0 ? (int)n : 0;
	n = fs_read_small(parentfd, file, buf, sizeof(buf));
	if (n <= 0) {
		jail_err("cannot inherit %s for %s: the parent's value is %s", file, shown,
			 n < 0 ? strerror((int)-n) : "empty");
		return n < 0 ? (int)n : -EINVAL;
	}
	ret = fs_write_existing(childfd, file, buf);
	if (ret)
		jail_err("cannot write %s/%s: %s", shown, file, strerror(-ret));
	return ret;
}

static int cpuset_inherit(int parentfd, int childfd, const char *shown)
{
	int ret = inherit_if_empty(parentfd, childfd, "cpuset.cpus", shown);

	return ret ? ret : inherit_if_empty(parentfd, childfd, "cpuset.mems", shown);
}

/* mkdir -p p->rel under one hierarchy, preparing each level; *@leaf_fd = the microVM cgroup. */
static int make_hier_dirs(const struct cgroup_plan *p, size_t h, const struct jail_args *a,
			  struct undo_log *u, int mountfd, int *leaf_fd)
{
	char shown[PATH_MAX], comp[NAME_MAX + 1];
	const char *rel = p->rel;
	int fd, next, ret = 0;

	fd = fcntl(mountfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	snprintf(shown, sizeof(shown), "%s", p->hier[h].mount);
	while (*rel && !ret) {
		size_t n = strcspn(rel, "/");

		if (p->version == 2)
			ret = enable_all(u, fd, shown, a);
		if (ret)
			break;
		snprintf(comp, sizeof(comp), "%.*s", (int)n, rel);
		snprintf(shown + strlen(shown), sizeof(shown) - strlen(shown), "/%s", comp);
		ret = fs_mkdirat_tracked(u, fd, comp, CG_DIR_MODE, shown, &next);
		if (ret)
			break;
		if (p->hier[h].cpuset)
			ret = cpuset_inherit(fd, next, shown);
		close(fd);
		fd = next;
		rel += n;
		if (*rel == '/')
			rel++;
	}
	if (ret) {
		close(fd);
		return ret;
	}
	*leaf_fd = fd;
	return 0;
}

static int write_values(const struct cgroup_plan *p, const struct jail_args *a, const int *leaf)
{
	char buf[CG_VALUE_MAX];
	size_t i;
	int ret;

	for (i = 0; i < a->n_cgroups; i++) {
		const struct jail_cgroup_arg *c = &a->cgroups[i];
		const char *mount = p->hier[p->arg_hier[i]].mount;

		if (snprintf(buf, sizeof(buf), "%s\n", c->value) >= (int)sizeof(buf)) {
			jail_err("cgroup value for %s is too long", c->file);
			return -EINVAL;
		}
		ret = fs_write_existing(leaf[p->arg_hier[i]], c->file, buf);
		if (ret == -ENOENT) {
			jail_err("unknown cgroup file '%s': %s/%s/%s does not exist", c->file,
				 mount, p->rel, c->file);
			return ret;
		}
		if (ret) {
			jail_err("cannot write '%s' to %s/%s/%s: %s", c->value, mount, p->rel,
				 c->file, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* Remember where this process was, so a rollback can move it out before rmdir. */
static void record_origin(const struct cgroup_plan *p, size_t h, const char *self_cgroup,
			  const char *ctrl, int mountfd, struct undo_log *u)
{
	char path[PATH_MAX];
	int fd;

	if (!self_cgroup || cgroup_self_path(self_cgroup, p->version, ctrl, path, sizeof(path)))
		goto fail;
	fd = openat(mountfd, path[1] ? path + 1 : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	if (undo_push_write(u, fd, "cgroup.procs", "0")) {
		close(fd);
		goto fail;
	}
	close(fd);
	return;
fail:
	jail_warn("cannot find this process's current cgroup under %s; if a later step fails, "
		  "%s/%s may be left behind",
		  p->hier[h].mount, p->hier[h].mount, p->rel);
}

static int attach(const struct cgroup_plan *p, const struct jail_args *a, struct undo_log *u,
		  const int *mountfd, const int *leaf)
{
	const char *procs = p->version == 1 ? "tasks" : "cgroup.procs";
	char *self = NULL, pid[24];
	size_t h, i;
	int ret = 0;

	if (fs_read_all("/proc/self/cgroup", &self))
		self = NULL;
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	for (h = 0; h < p->n_hier && !ret; h++) {
		for (i = 0; p->arg_hier[i] != h; i++)
			;
		record_origin(p, h, self, a->cgroups[i].controller, mountfd[h], u);
		ret = fs_write_existing(leaf[h], procs, pid);
		if (ret)
			jail_err("cannot move the process into cgroup %s/%s: %s", p->hier[h].mount,
				 p->rel, strerror(-ret));
	}
	free(self);
	return ret;
}

int cgroup_plan_apply(const struct cgroup_plan *p, const struct jail_args *a, struct undo_log *u)
{
	int mountfd[JAIL_MAX_CGROUPS], leaf[JAIL_MAX_CGROUPS];
	size_t h, opened = 0;
	int ret = 0;

	for (h = 0; h < JAIL_MAX_CGROUPS; h++)
		mountfd[h] = leaf[h] = -1;
	for (h = 0; h < p->n_hier && !ret; h++) {
		mountfd[h] = open(p->hier[h].mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (mountfd[h] < 0) {
			ret = -errno;
			jail_err("cannot open cgroup hierarchy %s: %s", p->hier[h].mount,
				 strerror(-ret));
			break;
		}
		ret = make_hier_dirs(p, h, a, u, mountfd[h], &leaf[h]);
		if (ret) {
			close(mountfd[h]);
			break;
		}
		opened++;
	}
	/* All values first: some (cpuset) must be set before a task may join. */
	if (!ret)
		ret = write_values(p, a, leaf);
	if (!ret)
		ret = attach(p, a, u, mountfd, leaf);
	for (h = 0; h < opened; h++) {
		close(leaf[h]);
		close(mountfd[h]);
	}
	return ret;
}
