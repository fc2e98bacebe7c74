/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember-jailer: builds a chroot jail, cgroups, namespaces and resource limits
 * for one ember process, drops to an unprivileged uid/gid and execs it.
 * Command line and steps follow Firecracker's jailer (docs/jailer.md).
 *
 * Every step that creates something on the host records how to take it back
 * in an undo log, so a failed run leaves nothing a retry would trip over.
 */
#ifndef EMBER_JAILER_H
#define EMBER_JAILER_H

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JAIL_ID_MAX	     64
#define JAIL_DEFAULT_BASE    "/srv/jailer"
#define JAIL_DEFAULT_NO_FILE 2048
#define JAIL_MAX_CGROUPS     32
#define JAIL_CG_FILE_MAX     64
#define JAIL_CG_CTRL_MAX     32

/* ---- messages (msg.c): "ember-jailer: error: ..." on stderr ---------------- */
void jail_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void jail_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* jail_err() of "<message>: <strerror(errno)>"; returns -errno (saved before printing). */
int jail_syserr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Format into @buf (for pure functions that report to their caller); returns -EINVAL. */
int jail_fmt_err(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- command line (args.c), pure ------------------------------------------ */
struct jail_cgroup_arg {
	char file[JAIL_CG_FILE_MAX];	   /* e.g. "cpu.shares" */
	char controller[JAIL_CG_CTRL_MAX]; /* e.g. "cpu" */
	const char *value;		   /* points into argv */
};

struct jail_args {
	const char *id;
	const char *exec_file;
	uid_t uid;
	gid_t gid;
	bool have_uid, have_gid;
	bool allow_root;
	const char *chroot_base;
	const char *netns;
	bool daemonize;
	bool new_pid_ns;
	int cgroup_version;
	const char *parent_cgroup; /* NULL: the exec file's name */
	struct jail_cgroup_arg cgroups[JAIL_MAX_CGROUPS];
	size_t n_cgroups;
	bool have_fsize;
	uint64_t fsize;
	uint64_t no_file;
	char **extra_args; /* everything after "--" */
	int n_extra;
	bool show_help, show_version;
};

/* Parse argv (argv[0] is the program). 0, or -EINVAL with a message in @err. */
int jail_args_parse(struct jail_args *a, int argc, char **argv, char *err, size_t errlen);
int jail_id_validate(const char *id, char *err, size_t errlen);
int jail_cgroup_arg_parse(const char *spec, struct jail_cgroup_arg *out, char *err, size_t errlen);
int jail_parent_cgroup_validate(const char *path, char *err, size_t errlen);
/* "fsize=N" or "no-file=N" into @a. */
int jail_rlimit_arg_parse(const char *spec, struct jail_args *a, char *err, size_t errlen);
/* Decimal uid/gid; (uint32_t)-1 is refused (it means "unchanged" to the kernel). */
int jail_parse_id_number(const char *s, uint32_t *out);
const char *jail_usage_text(void);

/* ---- undo log (undo.c) ---------------------------------------------------- */
enum undo_kind { UNDO_UNLINK, UNDO_RMDIR, UNDO_WRITE, UNDO_OWNER };

struct undo_entry {
	enum undo_kind kind;
	int dirfd;		 /* owned (a dup), O_CLOEXEC; UNDO_OWNER: the object itself */
	char name[NAME_MAX + 1]; /* UNDO_OWNER: only shown in messages */
	char data[48];		 /* UNDO_WRITE payload */
	uid_t uid;		 /* UNDO_OWNER: what to put back */
	gid_t gid;
	mode_t mode;
};

struct undo_log {
	struct undo_entry *e;
	size_t n, cap;
};

void undo_init(struct undo_log *u);
/* Record that @name under @dirfd was created by this run. */
int undo_push_remove(struct undo_log *u, int dirfd, const char *name, bool is_dir);
/* Record that writing @data to @name under @dirfd reverts a change. */
int undo_push_write(struct undo_log *u, int dirfd, const char *name, const char *data);
/* Record the current owner and mode of the object open at @fd (@shown names it in
 * messages), to be put back on rollback: for what existed before this run. */
int undo_push_owner(struct undo_log *u, int fd, const char *shown);
/* Take back everything, newest first; failures are warnings. Empties the log. */
void undo_rollback(struct undo_log *u);
/* Keep everything (success); closes the log's fds. */
void undo_forget(struct undo_log *u);

/* ---- filesystem helpers (fsutil.c); @what names the object in messages --- */
/* mkdir @name under @dirfd (tracked if created), refuse symlinks; *@out_fd = the dir.
 * The directory, made now or before, must belong to root and be writable by root
 * alone: anyone else could swap it while the jail is built (-EPERM, naming @what). */
int fs_mkdirat_tracked(struct undo_log *u, int dirfd, const char *name, mode_t mode,
		       const char *what, int *out_fd);
/* mkdir -p of a relative path of plain components under @basefd. */
int fs_mkdir_p_at(struct undo_log *u, int basefd, const char *relpath, mode_t mode,
		  const char *what, int *out_fd);
/* Copy @srcfd to a new file @name under @dirfd (O_EXCL|O_NOFOLLOW), chown, chmod. */
int fs_copy_new_file(struct undo_log *u, int srcfd, int dirfd, const char *name, mode_t mode,
		     uid_t uid, gid_t gid, const char *what);
/* Write all of @data to an existing file (no create, no follow). 0 or -errno. */
int fs_write_existing(int dirfd, const char *name, const char *data);
/* Read a small file into @buf (NUL-terminated, trailing newline stripped). Length or -errno. */
ssize_t fs_read_small(int dirfd, const char *name, char *buf, size_t len);
/* Read a whole (proc) file into a malloc'd NUL-terminated buffer. 0 or -errno. */
int fs_read_all(const char *path, char **out);

/* ---- cgroup discovery (cgroup_mounts.c), pure ---------------------------- */
#define CG_MAX_V1_MOUNTS 32
#define CG_PATH_MAX	 256

struct cgroup_mounts {
	struct {
		char dir[CG_PATH_MAX];
		char opts[CG_PATH_MAX];
	} v1[CG_MAX_V1_MOUNTS];
	size_t n_v1;
	char v2_dir[CG_PATH_MAX];
	bool has_v2;
};

/* Parse /proc/mounts text. Keeps cgroup (v1) and the first cgroup2 entry. */
int cgroup_mounts_parse(const char *text, struct cgroup_mounts *m);
/* v1 mount dir whose options list @controller, or NULL. */
const char *cgroup_v1_mount_for(const struct cgroup_mounts *m, const char *controller);
/* Is @word an element of the @sep-separated @list? */
bool cgroup_list_has(const char *list, char sep, const char *word);
/* This process's cgroup path (e.g. "/" or "/a/b") in the hierarchy of @controller (v1) or
 * the unified one (v2), from /proc/self/cgroup text. 0 or -ENOENT. */
int cgroup_self_path(const char *text, int version, const char *controller, char *out, size_t len);
/* "<parent>/<id>" relative to the hierarchy root. 0 or -ENAMETOOLONG. */
int cgroup_rel_path(char *out, size_t len, const char *parent, const char *id);
/* Minor number of misc device @name from /proc/misc text. 0 or -ENOENT. */
int proc_misc_minor(const char *text, const char *name, unsigned int *minor);

/* ---- cgroup setup (cgroup.c) ----------------------------------------------- */
struct cgroup_plan {
	struct cgroup_mounts mounts;
	int version;
	char rel[PATH_MAX]; /* "<parent>/<id>" */
	/* one hierarchy per distinct mount dir; cgroup i lives in hier[arg_hier[i]] */
	struct {
		const char *mount; /* into mounts */
		bool cpuset;
	} hier[JAIL_MAX_CGROUPS];
	size_t n_hier;
	size_t arg_hier[JAIL_MAX_CGROUPS];
};

/* Reads the cgroup.controllers list of a v2 hierarchy root into @buf; NULL if unreadable. */
typedef const char *(*cgroup_controllers_fn)(const char *dir, char *buf, size_t len);

/* Validate the --cgroup arguments against the mounted hierarchies (creates nothing). */
int cgroup_plan_build(struct cgroup_plan *p, const struct jail_args *a, const char *exec_name,
		      const char *proc_mounts, cgroup_controllers_fn controllers_of, char *err,
		      size_t errlen);
/* Create the cgroups, write the values, move this process in. Tracked in @u. */
int cgroup_plan_apply(const struct cgroup_plan *p, const struct jail_args *a, struct undo_log *u);
/* The real cgroup_controllers_fn: reads <dir>/cgroup.controllers. */
const char *cgroup_controllers_file(const char *dir, char *buf, size_t len);

/* ---- exec checks (exec_check.c) ------------------------------------------- */
/* Interpreter of an ELF (PT_INTERP) or #! script into @out ("" if none). 0 or -errno. */
int exec_interpreter(int fd, char *out, size_t len);
/* Refuse up front what would make execve() fail in the jail: noexec/nodev base, missing
 * interpreter. Logs the reason. */
int exec_check_jail(int exec_fd, const char *exec_file, int basefd, const char *jail_rel,
		    const char *jail_dir);

/* ---- jail steps ------------------------------------------------------------ */
/* New mount namespace (before any jail directory is opened), / made a slave of the host's. */
int jail_enter_mount_ns(void);
/* Bind the jail directory open at @jail_fd on itself, pivot_root into it, drop the old
 * root. No path is resolved: @jail_fd must be of this mount namespace. */
int jail_pivot_root(int jail_fd);
/* /, /dev, /dev/net, /run (0700) and the device nodes (0600), owned by uid:gid. */
struct jail_devices {
	bool have_uffd;
	unsigned int uffd_minor;
};
int jail_make_nodes(struct undo_log *u, int rootfd, uid_t uid, gid_t gid,
		    const struct jail_devices *dev);
/* setgroups(0), setresgid, setresuid, no_new_privs; then verify no capability is left. */
int jail_drop_privileges(uid_t uid, gid_t gid);
/* Number of capabilities in the effective or permitted set of this process, or -errno. */
int jail_caps_count(void);

#endif
