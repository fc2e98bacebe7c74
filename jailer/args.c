// SPDX-License-Identifier: Apache-2.0
/*
 * ember-jailer command line, compatible with Firecracker's jailer: options are
 * "--name value" (or "--name=value"), single-value options may appear once,
 * --cgroup and --resource-limit repeat, "--" ends the jailer's options and
 * forwards the rest to the jailed binary. Pure: no I/O, no global state.
 */
#include "jailer/jailer.h"
#include "vmm/base/version.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum opt_id {
	OPT_ID,
	OPT_EXEC_FILE,
	OPT_UID,
	OPT_GID,
	OPT_ALLOW_ROOT,
	OPT_CHROOT_BASE,
	OPT_NETNS,
	OPT_DAEMONIZE,
	OPT_NEW_PID_NS,
	OPT_CGROUP,
	OPT_CGROUP_VERSION,
	OPT_PARENT_CGROUP,
	OPT_RESOURCE_LIMIT,
	OPT_VERSION,
	OPT_HELP,
	OPT_COUNT
};

struct opt_def {
	const char *name;
	bool takes_value;
	bool repeatable;
};

static const struct opt_def opt_defs[OPT_COUNT] = {
    [OPT_ID] = {"id", true, false},
    [OPT_EXEC_FILE] = {"exec-file", true, false},
    [OPT_UID] = {"uid", true, false},
    [OPT_GID] = {"gid", true, false},
    [OPT_ALLOW_ROOT] = {"allow-root", false, false},
    [OPT_CHROOT_BASE] = {"chroot-base-dir", true, false},
    [OPT_NETNS] = {"netns", true, false},
    [OPT_DAEMONIZE] = {"daemonize", false, false},
    [OPT_NEW_PID_NS] = {"new-pid-ns", false, false},
    [OPT_CGROUP] = {"cgroup", true, true},
    [OPT_CGROUP_VERSION] = {"cgroup-version", true, false},
    [OPT_PARENT_CGROUP] = {"parent-cgroup", true, false},
    [OPT_RESOURCE_LIMIT] = {"resource-limit", true, true},
    [OPT_VERSION] = {"version", false, false},
    [OPT_HELP] = {"help", false, false},
};

const char *jail_usage_text(void)
{
	return "ember-jailer v" EMBER_VERSION "\n"
	       "Builds a jail for one ember microVM and execs the given binary inside it.\n\n"
	       "Usage: ember-jailer --id ID --exec-file FILE --uid UID --gid GID [options]"
	       " [-- ARGS...]\n"
	       "  --id ID                    microVM id: letters, digits and '-', 1..64 chars\n"
	       "  --exec-file FILE           binary to copy into the jail and exec (a regular\n"
	       "                             file, not a symlink; statically linked, or its\n"
	       "                             loader and libraries must already be in the jail)\n"
	       "  --uid UID, --gid GID       ids the binary runs as (0 is refused, see below)\n"
	       "  --allow-root               allow --uid 0 / --gid 0 (the process then keeps\n"
	       "                             root's capabilities: for debugging only)\n"
	       "  --chroot-base-dir DIR      existing base directory (default " JAIL_DEFAULT_BASE
	       ");\n"
	       "                             the jail is DIR/<exec-file name>/<id>/root\n"
	       "  --netns PATH               network namespace to join (e.g. /run/netns/NAME)\n"
	       "  --daemonize                detach: new session, stdio on /dev/null\n"
	       "  --new-pid-ns               exec the binary as pid 1 of a new PID namespace\n"
	       "  --cgroup FILE=VALUE        write VALUE to FILE (e.g. cpu.shares=512) in the\n"
	       "                             microVM's cgroup; repeatable\n"
	       "  --cgroup-version 1|2       cgroup hierarchy to use (default 1)\n"
	       "  --parent-cgroup PATH       relative parent of the microVM's cgroup (default:\n"
	       "                             the exec file's name); cgroup = PATH/<id>\n"
	       "  --resource-limit R=N       fsize=BYTES or no-file=N (default no-file=2048);\n"
	       "                             repeatable\n"
	       "  --version, --help\n\n"
	       "Arguments after -- are passed to the binary, after the jailer's own\n"
	       "--id ID --start-time-us US --start-time-cpu-us US.\n"
	       "The binary's pid is written to <jail>/<exec-file name>.pid.\n";
}

int jail_id_validate(const char *id, char *err, size_t errlen)
{
	size_t len = strlen(id), i;

	if (len == 0)
		return jail_fmt_err(err, errlen, "invalid --id: it must not be empty");
	if (len > JAIL_ID_MAX)
		return jail_fmt_err(err, errlen,
				    "invalid --id: %zu characters long, at most %d are allowed",
				    len, JAIL_ID_MAX);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)id[i];

		if (!(isascii(c) && isalnum(c)) && c != '-')
			return jail_fmt_err(err, errlen,
					    "invalid --id '%s': character '%c' at position %zu "
					    "(only letters, digits and '-' are allowed)",
					    id, isprint(c) ? c : '?', i);
	}
	return 0;
}

int jail_parse_id_number(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!*s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v >= UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!*s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* A cgroup interface file name: "<controller>.<property>[.<more>]", no '/'. */
static bool cg_file_char_ok(char c)
{
	return isascii((unsigned char)c) && (isalnum((unsigned char)c) || c == '_' || c == '.');
}

int jail_cgroup_arg_parse(const char *spec, struct jail_cgroup_arg *out, char *err, size_t errlen)
{
	const char *eq = strchr(spec, '='), *dot;
	size_t flen, i;

	if (!eq || eq == spec || !eq[1] || strchr(eq + 1, '='))
		return jail_fmt_err(err, errlen,
				    "invalid --cgroup '%s': expected <file>=<value>, e.g. "
				    "cpu.shares=512",
				    spec);
	flen = (size_t)(eq - spec);
	if (flen >= sizeof(out->file))
		return jail_fmt_err(err, errlen, "invalid --cgroup '%s': file name too long", spec);
	for (i = 0; i < flen; i++)
		if (!cg_file_char_ok(spec[i]))
			return jail_fmt_err(err, errlen,
					    "invalid cgroup file in '%s': only letters, digits, "
					    "'_' and '.' are allowed",
					    spec);
	memcpy(out->file, spec, flen);
	out->file[flen] = '\0';
	dot = strchr(out->file, '.');
	if (!dot || dot == out->file || !dot[1] || dot[1] == '.' || out->file[flen - 1] == '.')
		return jail_fmt_err(err, errlen,
				    "invalid cgroup file '%s': expected <controller>.<property>",
				    out->file);
	if ((size_t)(dot - out->file) >= sizeof(out->controller))
		return jail_fmt_err(err, errlen, "invalid cgroup file '%s': controller too long",
				    out->file);
	if (!strcmp(out->file, "cgroup.procs") || !strcmp(out->file, "cgroup.threads") ||
	    !strcmp(out->file, "cgroup.subtree_control"))
		return jail_fmt_err(err, errlen,
				    "cgroup file '%s' is managed by the jailer and cannot be set",
				    out->file);
	memcpy(out->controller, out->file, (size_t)(dot - out->file));
	out->controller[dot - out->file] = '\0';
	out->value = eq + 1;
	return 0;
}

int jail_parent_cgroup_validate(const char *path, char *err, size_t errlen)
{
	const char *p = path;

	if (!*path)
		return jail_fmt_err(err, errlen, "invalid --parent-cgroup: it must not be empty");
	if (*path == '/')
		return jail_fmt_err(err, errlen,
				    "invalid --parent-cgroup '%s': must be a relative path", path);
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return jail_fmt_err(err, errlen,
					    "invalid --parent-cgroup '%s': empty, '.' or '..' "
					    "components are not allowed",
					    path);
		p += n;
		if (*p == '/')
			p++;
	}
	if (path[strlen(path) - 1] == '/')
		return jail_fmt_err(
		    err, errlen, "invalid --parent-cgroup '%s': trailing '/' is not allowed", path);
	return 0;
}

int jail_rlimit_arg_parse(const char *spec, struct jail_args *a, char *err, size_t errlen)
{
	const char *eq = strchr(spec, '=');
	uint64_t v;

	if (!eq)
		return jail_fmt_err(err, errlen,
				    "invalid --resource-limit '%s': expected fsize=N or no-file=N",
				    spec);
	if (parse_u64(eq + 1, &v))
		return jail_fmt_err(err, errlen,
				    "invalid --resource-limit '%s': '%s' is not a number", spec,
				    eq + 1);
	if ((size_t)(eq - spec) == 5 && !strncmp(spec, "fsize", 5)) {
		a->have_fsize = true;
		a->fsize = v;
	} else if ((size_t)(eq - spec) == 7 && !strncmp(spec, "no-file", 7)) {
		a->no_file = v;
	} else {
		return jail_fmt_err(
		    err, errlen,
		    "invalid --resource-limit '%s': unknown resource (known: fsize, "
		    "no-file)",
		    spec);
	}
	return 0;
}

static int find_opt(const char *name, size_t len)
{
	int i;

	for (i = 0; i < OPT_COUNT; i++)
		if (strlen(opt_defs[i].name) == len && !strncmp(opt_defs[i].name, name, len))
			return i;
	return -1;
}

static int apply_id_number(const char *opt, const char *v, uint32_t *out, bool *have, char *err,
			   size_t errlen)
{
	if (jail_parse_id_number(v, out))
		return jail_fmt_err(err, errlen, "invalid --%s '%s': expected a number below %u",
				    opt, v, UINT32_MAX);
	*have = true;
	return 0;
}

static int apply_cgroup_version(struct jail_args *a, const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "1") && strcmp(v, "2"))
		return jail_fmt_err(err, errlen, "invalid --cgroup-version '%s': expected 1 or 2",
				    v);
	a->cgroup_version = v[0] - '0';
	return 0;
}

static int apply_cgroup(struct jail_args *a, const char *v, char *err, size_t errlen)
{
	if (a->n_cgroups == JAIL_MAX_CGROUPS)
		return jail_fmt_err(err, errlen, "too many --cgroup options (at most %d)",
				    JAIL_MAX_CGROUPS);
	if (jail_cgroup_arg_parse(v, &a->cgroups[a->n_cgroups], err, errlen))
		return -EINVAL;
	a->n_cgroups++;
	return 0;
}

static int apply_opt(struct jail_args *a, int id, const char *v, char *err, size_t errlen)
{
	uint32_t n = 0;
	bool have = false;
	int ret;

	switch (id) {
	case OPT_ID:
		a->id = v;
		return 0;
	case OPT_EXEC_FILE:
		a->exec_file = v;
		return 0;
	case OPT_UID:
		ret = apply_id_number("uid", v, &n, &have, err, errlen);
		a->uid = n;
		a->have_uid = have;
		return ret;
	case OPT_GID:
		ret = apply_id_number("gid", v, &n, &have, err, errlen);
		a->gid = n;
		a->have_gid = have;
		return ret;
	case OPT_ALLOW_ROOT:
		a->allow_root = true;
		return 0;
	case OPT_CHROOT_BASE:
		a->chroot_base = v;
		return 0;
	case OPT_NETNS:
		a->netns = v;
		return 0;
	case OPT_DAEMONIZE:
		a->daemonize = true;
		return 0;
	case OPT_NEW_PID_NS:
		a->new_pid_ns = true;
		return 0;
	case OPT_CGROUP:
		return apply_cgroup(a, v, err, errlen);
	case OPT_CGROUP_VERSION:
		return apply_cgroup_version(a, v, err, errlen);
	case OPT_PARENT_CGROUP:
		a->parent_cgroup = v;
		return 0;
	case OPT_RESOURCE_LIMIT:
		return jail_rlimit_arg_parse(v, a, err, errlen);
	case OPT_VERSION:
		a->show_version = true;
		return 0;
	case OPT_HELP:
		a->show_help = true;
		return 0;
	}
	return -EINVAL;
}

static void args_defaults(struct jail_args *a)
{
	memset(a, 0, sizeof(*a));
	a->chroot_base = JAIL_DEFAULT_BASE;
	a->cgroup_version = 1;
	a->no_file = JAIL_DEFAULT_NO_FILE;
	a->uid = (uid_t)-1;
	a->gid = (gid_t)-1;
}

/* Checks that need every option seen: required ones, root, the id, paths. */
static int args_check(const struct jail_args *a, char *err, size_t errlen)
{
	if (!a->id)
		return jail_fmt_err(err, errlen, "missing required option --id");
	if (!a->exec_file)
		return jail_fmt_err(err, errlen, "missing required option --exec-file");
	if (!a->have_uid)
		return jail_fmt_err(err, errlen, "missing required option --uid");
	if (!a->have_gid)
		return jail_fmt_err(err, errlen, "missing required option --gid");
	if (jail_id_validate(a->id, err, errlen))
		return -EINVAL;
	if (!*a->exec_file)
		return jail_fmt_err(err, errlen, "invalid --exec-file: it must not be empty");
	if (!*a->chroot_base)
		return jail_fmt_err(err, errlen, "invalid --chroot-base-dir: it must not be empty");
	if (a->netns && !*a->netns)
		return jail_fmt_err(err, errlen, "invalid --netns: it must not be empty");
	if ((a->uid == 0 || a->gid == 0) && !a->allow_root)
		return jail_fmt_err(
		    err, errlen,
		    "refusing to run the jailed binary as root (--uid %u --gid %u): "
		    "pass --allow-root to allow it",
		    (unsigned int)a->uid, (unsigned int)a->gid);
	if (a->parent_cgroup && jail_parent_cgroup_validate(a->parent_cgroup, err, errlen))
		return -EINVAL;
	return 0;
}

int jail_args_parse(struct jail_args *a, int argc, char **argv, char *err, size_t errlen)
{
	unsigned int seen = 0;
	int i, ret;

	args_defaults(a);
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *name, *eq, *value = NULL;
		size_t len;
		int id;

		if (!strcmp(arg, "--")) {
			a->extra_args = &argv[i + 1];
			a->n_extra = argc - i - 1;
			break;
		}
		if (strncmp(arg, "--", 2) || !arg[2])
			return jail_fmt_err(err, errlen,
					    "unexpected argument '%s' (arguments for the jailed "
					    "binary go after --)",
					    arg);
		name = arg + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		id = find_opt(name, len);
		if (id < 0)
			return jail_fmt_err(err, errlen, "unknown option '%.*s'", (int)len + 2,
					    arg);
		if (!opt_defs[id].takes_value && eq)
			return jail_fmt_err(err, errlen, "option --%s takes no value",
					    opt_defs[id].name);
		if (opt_defs[id].takes_value) {
			if (eq)
				value = eq + 1;
			else if (i + 1 < argc)
				value = argv[++i];
			else
				return jail_fmt_err(err, errlen, "option --%s needs a value",
						    opt_defs[id].name);
		}
		if (!opt_defs[id].repeatable && (seen & (1u << id)))
			return jail_fmt_err(err, errlen, "option --%s given more than once",
					    opt_defs[id].name);
		seen |= 1u << id;
		ret = apply_opt(a, id, value, err, errlen);
		if (ret)
			return ret;
	}
	if (a->show_help || a->show_version)
		return 0;
	return args_check(a, err, errlen);
}
