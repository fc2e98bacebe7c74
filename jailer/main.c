// SPDX-License-Identifier: Apache-2.0
/*
 * ember-jailer entry: the steps of Firecracker's jailer, in its order.
 *
 *   sanitize (fds >= 3 closed, environment cleared) -> parse -> own mount
 *   namespace -> validate -> jail dir + copy of the binary -> netns ->
 *   rlimits -> cgroups -> bind mount of the jail + pivot_root -> /dev nodes,
 *   /run -> daemonize -> pid file (new PID namespace) -> drop to uid/gid ->
 *   exec
 *
 * The mount namespace comes before the chroot base is opened (Firecracker
 * unshares it just before pivot_root): the jail is bind-mounted and entered
 * through the directory fds opened and checked while it was made, never by
 * path, and those must belong to the namespace it is mounted in.
 *
 * Everything this run creates is in the undo log until exec; any failure
 * rolls it back. After pivot_root the process ends with _exit(): the host's
 * /proc is gone, and sanitizer exit hooks would only fail on it.
 */
#include "jailer/jailer.h"
#include "vmm/base/version.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_JAIL_ERROR 1

struct jail_ctx {
	struct jail_args args;
	char base[PATH_MAX]; /* canonical --chroot-base-dir */
	char exec_name[NAME_MAX + 1];
	char jail_rel[PATH_MAX]; /* <exec_name>/<id>/root, under base */
	char jail_dir[PATH_MAX]; /* base/jail_rel */
	mode_t exec_mode;
	int exec_fd, base_fd, host_root_fd, devnull_fd;
	struct jail_devices dev;
	struct cgroup_plan *plan;
	struct undo_log undo;
	uint64_t start_us, start_cpu_us;
	bool pivoted, forked;
};

static uint64_t clock_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Nothing the caller had open or exported may reach the jailed binary. */
static void sanitize_process(void)
{
	struct rlimit rl;
	long fd, max = 65536;

	if (close_range(3, ~0U, 0)) {
		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < (rlim_t)max)
			max = (long)rl.rlim_cur;
		for (fd = 3; fd < max; fd++)
			close((int)fd);
	}
	clearenv();
}

/* ---- validation: nothing is created before all of it passed ------------- */

static int check_base(struct jail_ctx *c)
{
	struct stat st;

	if (!realpath(c->args.chroot_base, c->base)) {
		int err = errno;

		jail_err("chroot base directory '%s': %s%s", c->args.chroot_base, strerror(err),
			 err == ENOENT ? " (create it first)" : "");
		return -err;
	}
	if (stat(c->base, &st) || !S_ISDIR(st.st_mode)) {
		jail_err("chroot base '%s' is not a directory", c->base);
		return -ENOTDIR;
	}
	c->base_fd = open(c->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->base_fd < 0) {
		return jail_syserr("cannot open chroot base directory '%s'", c->base);
	}
	return 0;
}

static int check_exec_file(struct jail_ctx *c)
{
	const char *path = c->args.exec_file, *name = strrchr(path, '/');
	struct stat lst, st;

	name = name ? name + 1 : path;
	if (lstat(path, &lst)) {
		return jail_syserr("exec file '%s'", path);
	}
	if (S_ISLNK(lst.st_mode)) {
		jail_err("exec file '%s' is a symlink: pass the file it points to", path);
		return -ELOOP;
	}
	if (!S_ISREG(lst.st_mode) || !(lst.st_mode & 0111)) {
		jail_err("exec file '%s' is not an executable regular file", path);
		return -EINVAL;
	}
	if (!*name || strlen(name) + strlen(".pid") > NAME_MAX) {
		jail_err("exec file '%s': bad file name", path);
		return -EINVAL;
	}
	c->exec_fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (c->exec_fd < 0 || fstat(c->exec_fd, &st) || st.st_ino != lst.st_ino ||
	    st.st_dev != lst.st_dev) {
		jail_err("exec file '%s' cannot be opened or changed while being checked", path);
		return -EINVAL;
	}
	strcpy(c->exec_name, name);
	c->exec_mode = (lst.st_mode & 0755) | 0500;
	return 0;
}

static int check_netns(const struct jail_ctx *c)
{
	struct stat st;

	if (!c->args.netns)
		return 0;
	if (stat(c->args.netns, &st)) {
		return jail_syserr("network namespace '%s'", c->args.netns);
	}
	return 0;
}

static int build_paths(struct jail_ctx *c)
{
	int n = snprintf(c->jail_rel, sizeof(c->jail_rel), "%s/%s/root", c->exec_name, c->args.id);

	if (n < 0 || (size_t)n >= sizeof(c->jail_rel))
		return -ENAMETOOLONG;
	n = snprintf(c->jail_dir, sizeof(c->jail_dir), "%s/%s", strcmp(c->base, "/") ? c->base : "",
		     c->jail_rel);
	if (n < 0 || (size_t)n >= sizeof(c->jail_dir)) {
		jail_err("jail path too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

static void find_userfaultfd(struct jail_ctx *c)
{
	char *misc;

	if (fs_read_all("/proc/misc", &misc))
		return;
	c->dev.have_uffd = !proc_misc_minor(misc, "userfaultfd", &c->dev.uffd_minor);
	free(misc);
}

static int plan_cgroups(struct jail_ctx *c)
{
	char err[512], *mounts = NULL;
	int ret;

	if (!c->args.n_cgroups)
		return 0;
	c->plan = malloc(sizeof(*c->plan));
	if (!c->plan)
		return -ENOMEM;
	ret = fs_read_all("/proc/mounts", &mounts);
	if (ret) {
		jail_err("cannot read /proc/mounts: %s", strerror(-ret));
		return ret;
	}
	ret = cgroup_plan_build(c->plan, &c->args, c->exec_name, mounts, cgroup_controllers_file,
				err, sizeof(err));
	free(mounts);
	if (ret)
		jail_err("%s", err);
	return ret;
}

static int validate(struct jail_ctx *c)
{
	int ret;

	if (geteuid() != 0) {
		jail_err("must run as root (it creates device nodes, cgroups and namespaces)");
		return -EPERM;
	}
	/* Still the host's /dev/null (the daemon's stdio, as the host sees it). */
	if (c->args.daemonize) {
		c->devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (c->devnull_fd < 0) {
			return jail_syserr("cannot open /dev/null");
		}
	}
	/* Then the jail's own namespace: it is entered through the fds opened from here on. */
	ret = jail_enter_mount_ns();
	if (!ret)
		ret = check_exec_file(c);
	if (!ret)
		ret = check_base(c);
	if (!ret)
		ret = build_paths(c);
	if (!ret)
		ret = exec_check_jail(c->exec_fd, c->args.exec_file, c->base_fd, c->jail_rel,
				      c->jail_dir);
	if (!ret)
		ret = check_netns(c);
	if (!ret)
		ret = plan_cgroups(c);
	if (ret)
		return ret;
	find_userfaultfd(c);
	return 0;
}

/* ---- host-side steps ------------------------------------------------------ */

static int make_jail_dir(struct jail_ctx *c)
{
	char shown[PATH_MAX + NAME_MAX + 2];
	int ret;

	ret = fs_mkdir_p_at(&c->undo, c->base_fd, c->jail_rel, 0755,
			    strcmp(c->base, "/") ? c->base : "", &c->host_root_fd);
	if (ret)
		return ret;
	snprintf(shown, sizeof(shown), "%s/%s", c->jail_dir, c->exec_name);
	return fs_copy_new_file(&c->undo, c->exec_fd, c->host_root_fd, c->exec_name, c->exec_mode,
				c->args.uid, c->args.gid, shown);
}

static int join_netns(const char *path)
{
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return jail_syserr("cannot open network namespace '%s'", path);
	}
	if (setns(fd, CLONE_NEWNET)) {
		ret = -errno;
		jail_err("cannot join network namespace '%s': %s", path,
			 ret == -EINVAL ? "not a network namespace" : strerror(-ret));
	}
	close(fd);
	return ret;
}

static int set_limit(int resource, const char *name, uint64_t value)
{
	struct rlimit rl = {.rlim_cur = value, .rlim_max = value};

	if (setrlimit(resource, &rl)) {
		return jail_syserr("cannot set resource limit %s=%llu", name,
				   (unsigned long long)value);
	}
	return 0;
}

static int set_limits(const struct jail_args *a)
{
	int ret = 0;

	if (a->have_fsize)
		ret = set_limit(RLIMIT_FSIZE, "fsize", a->fsize);
	return ret ? ret : set_limit(RLIMIT_NOFILE, "no-file", a->no_file);
}

static int host_steps(struct jail_ctx *c)
{
	int ret = make_jail_dir(c);

	if (!ret && c->args.netns)
		ret = join_netns(c->args.netns);
	if (!ret)
		ret = set_limits(&c->args);
	if (!ret && c->plan)
		ret = cgroup_plan_apply(c->plan, &c->args, &c->undo);
	return ret;
}

/* ---- inside the jail ------------------------------------------------------ */

/* Double fork (as Firecracker): the daemon is neither a group nor a session leader. */
static int daemonize(struct jail_ctx *c)
{
	pid_t pid = fork();

	if (pid < 0)
		goto fail;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		goto fail;
	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid > 0)
		_exit(0);
	c->forked = true;
	if (dup2(c->devnull_fd, 0) < 0 || dup2(c->devnull_fd, 1) < 0 || dup2(c->devnull_fd, 2) < 0)
		goto fail;
	close(c->devnull_fd);
	c->devnull_fd = -1;
	return 0;
fail:
	return jail_syserr("cannot daemonize");
}

static int write_pid(int fd, pid_t pid)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);

	return write(fd, buf, (size_t)n) == n ? 0 : -EIO;
}

/* In a new PID namespace the child is pid 1 there; the parent records its host pid. */
static int fork_into_pid_ns(struct jail_ctx *c, int pidfd)
{
	pid_t child;

	if (unshare(CLONE_NEWPID)) {
		return jail_syserr("cannot create a new PID namespace");
	}
	child = fork();
	if (child < 0) {
		return jail_syserr("cannot fork into the new PID namespace");
	}
	if (child == 0) {
		c->forked = true;
		return 0;
	}
	if (write_pid(pidfd, child) || close(pidfd)) {
		jail_err("cannot write the pid file");
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return -EIO;
	}
	_exit(0);
}

/* <exec_name>.pid in the jail root holds the pid of the process that runs the binary. */
static int pid_file_and_ns(struct jail_ctx *c, int rootfd)
{
	char name[NAME_MAX + 8]; /* exec_name is checked to leave room for ".pid" */
	int fd, ret;

	snprintf(name, sizeof(name), "%s.pid", c->exec_name);
	fd = openat(rootfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		return jail_syserr("cannot create /%s in the jail", name);
	}
	ret = undo_push_remove(&c->undo, rootfd, name, false);
	if (ret) {
		unlinkat(rootfd, name, 0);
		close(fd);
		return ret;
	}
	if (c->args.new_pid_ns) {
		ret = fork_into_pid_ns(c, fd);
		if (ret || c->forked)
			close(fd);
		return ret;
	}
	ret = write_pid(fd, getpid());
	if (close(fd) || ret) {
		jail_err("cannot write the pid file");
		return -EIO;
	}
	return 0;
}

static int jail_steps(struct jail_ctx *c)
{
	int rootfd, ret;

	c->pivoted = true;
	ret = jail_pivot_root(c->host_root_fd);
	if (ret)
		return ret;
	rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		return jail_syserr("cannot open the jail root");
	}
	ret = jail_make_nodes(&c->undo, rootfd, c->args.uid, c->args.gid, &c->dev);
	if (!ret && c->args.daemonize)
		ret = daemonize(c);
	if (!ret)
		ret = pid_file_and_ns(c, rootfd);
	close(rootfd);
	if (!ret)
		ret = jail_drop_privileges(c->args.uid, c->args.gid);
	return ret;
}

static int exec_binary(struct jail_ctx *c)
{
	char path[NAME_MAX + 2], start[24], start_cpu[24];
	char *envp[] = {NULL};
	char **argv;
	int i, n = 0, err;

	argv = calloc((size_t)c->args.n_extra + 8, sizeof(*argv));
	if (!argv)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/%s", c->exec_name);
	snprintf(start, sizeof(start), "%llu", (unsigned long long)c->start_us);
	/* A forked process starts its CPU clock at 0; an exec keeps the jailer's. */
	snprintf(start_cpu, sizeof(start_cpu), "%llu",
		 c->forked ? 0ULL : (unsigned long long)c->start_cpu_us);
	argv[n++] = path;
	argv[n++] = "--id";
	argv[n++] = (char *)c->args.id;
	argv[n++] = "--start-time-us";
	argv[n++] = start;
	argv[n++] = "--start-time-cpu-us";
	argv[n++] = start_cpu;
	for (i = 0; i < c->args.n_extra; i++)
		argv[n++] = c->args.extra_args[i];
	argv[n] = NULL;
	fflush(NULL);
	execve(path, argv, envp);
	err = errno;
	jail_err("cannot exec %s inside the jail: %s%s", path, strerror(err),
		 err == ENOENT ? " (a dynamically linked binary needs its loader and libraries "
				 "inside the jail)"
			       : "");
	free(argv);
	return -err;
}

static void ctx_init(struct jail_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->start_us = clock_us(CLOCK_MONOTONIC);
	c->start_cpu_us = clock_us(CLOCK_PROCESS_CPUTIME_ID);
	c->exec_fd = c->base_fd = c->host_root_fd = c->devnull_fd = -1;
	undo_init(&c->undo);
}

static void ctx_close(struct jail_ctx *c)
{
	int *fds[] = {&c->exec_fd, &c->base_fd, &c->host_root_fd, &c->devnull_fd};
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	free(c->plan);
	c->plan = NULL;
}

static int fail_exit(struct jail_ctx *c)
{
	undo_rollback(&c->undo);
	ctx_close(c);
	fflush(NULL);
	if (c->pivoted)
		_exit(EXIT_JAIL_ERROR);
	return EXIT_JAIL_ERROR;
}

static int parse(struct jail_ctx *c, int argc, char **argv)
{
	char err[512];

	if (jail_args_parse(&c->args, argc, argv, err, sizeof(err))) {
		jail_err("%s", err);
		fprintf(stderr, "Try 'ember-jailer --help'.\n");
		return EXIT_JAIL_ERROR;
	}
	if (c->args.show_help) {
		fputs(jail_usage_text(), stdout);
		return 0;
	}
	if (c->args.show_version) {
		printf("ember-jailer v%s\n", EMBER_VERSION);
		return 0;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct jail_ctx ctx;
	int ret;

	ctx_init(&ctx);
	sanitize_process();
	ret = parse(&ctx, argc, argv);
	if (ret >= 0)
		return ret;
	if (validate(&ctx) || host_steps(&ctx))
		return fail_exit(&ctx);
	free(ctx.plan);
	ctx.plan = NULL;
	if (jail_steps(&ctx))
		return fail_exit(&ctx);
	exec_binary(&ctx);
	return fail_exit(&ctx);
}
