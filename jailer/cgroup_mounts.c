// SPDX-License-Identifier: Apache-2.0
/*
 * Where the cgroup hierarchies are: parsers for /proc/mounts,
 * /proc/self/cgroup and /proc/misc text. Pure functions on strings, so they
 * are unit tested with canned v1, v2 and hybrid layouts.
 */
#include "jailer/jailer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copy one line of @text into @buf; returns the start of the next line or NULL at the end. */
static const char *next_line(const char *text, char *buf, size_t len, bool *truncated)
{
	size_t n = strcspn(text, "\n");

	if (!*text)
		return NULL;
	*truncated = n >= len;
	if (n >= len)
		n = len - 1;
	memcpy(buf, text, n);
	buf[n] = '\0';
	text += strcspn(text, "\n");
	return *text ? text + 1 : text;
}

/* /proc/mounts escapes ' ', '\t', '\n' and '\\' in paths as \ooo octal. */
static void unescape_octal(char *s)
{
	char *w = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
}

static bool copy_field(char *dst, size_t len, const char *src)
{
	if (strlen(src) >= len)
		return false;
	strcpy(dst, src);
	return true;
}

static void mounts_add(struct cgroup_mounts *m, char *dir, const char *type, const char *opts)
{
	unescape_octal(dir);
	if (!strcmp(type, "cgroup") && m->n_v1 < CG_MAX_V1_MOUNTS) {
		if (copy_field(m->v1[m->n_v1].dir, CG_PATH_MAX, dir) &&
		    copy_field(m->v1[m->n_v1].opts, CG_PATH_MAX, opts))
			m->n_v1++;
	} else if (!strcmp(type, "cgroup2") && !m->has_v2) {
		m->has_v2 = copy_field(m->v2_dir, CG_PATH_MAX, dir);
	}
}

int cgroup_mounts_parse(const char *text, struct cgroup_mounts *m)
{
	char line[1024];
	bool truncated;

	memset(m, 0, sizeof(*m));
	while ((text = next_line(text, line, sizeof(line), &truncated))) {
		char *save = NULL, *dir, *type, *opts;

		if (truncated || !strtok_r(line, " \t", &save))
			continue;
		dir = strtok_r(NULL, " \t", &save);
		type = strtok_r(NULL, " \t", &save);
		opts = strtok_r(NULL, " \t", &save);
		if (dir && type && opts)
			mounts_add(m, dir, type, opts);
	}
	return 0;
}

bool cgroup_list_has(const char *list, char sep, const char *word)
{
	size_t wlen = strlen(word);

	if (!wlen)
		return false;
	while (*list) {
		size_t n = strcspn(list, (char[]){sep, '\n', '\0'});

		if (n == wlen && !strncmp(list, word, n))
			return true;
		list += n;
		while (*list == sep || *list == '\n')
			list++;
	}
	return false;
}

const char *cgroup_v1_mount_for(const struct cgroup_mounts *m, const char *controller)
{
	size_t i;

	for (i = 0; i < m->n_v1; i++)
		if (cgroup_list_has(m->v1[i].opts, ',', controller))
			return m->v1[i].dir;
	return NULL;
}

/* One "hierarchy-id:controllers:path" line of /proc/self/cgroup. */
static bool self_line_matches(const char *hid, const char *ctrls, int version,
			      const char *controller)
{
	if (version == 2)
		return !strcmp(hid, "0") && !*ctrls;
	return *ctrls && cgroup_list_has(ctrls, ',', controller);
}

int cgroup_self_path(const char *text, int version, const char *controller, char *out, size_t len)
{
	char line[PATH_MAX + 256];
	bool truncated;

	while ((text = next_line(text, line, sizeof(line), &truncated))) {
		char *c1 = strchr(line, ':'), *c2;

		if (truncated || !c1)
			continue;
		c2 = strchr(c1 + 1, ':');
		if (!c2)
			continue;
		*c1 = '\0';
		*c2 = '\0';
		if (!self_line_matches(line, c1 + 1, version, controller))
			continue;
		if (strlen(c2 + 1) >= len || c2[1] != '/')
			return -ENAMETOOLONG;
		strcpy(out, c2 + 1);
		return 0;
	}
	return -ENOENT;
}

int cgroup_rel_path(char *out, size_t len, const char *parent, const char *id)
{
	size_t plen = strlen(parent), ilen = strlen(id);

	if (plen + 1 + ilen + 1 > len)
		return -ENAMETOOLONG;
	memcpy(out, parent, plen);
	out[plen] = '/';
	memcpy(out + plen + 1, id, ilen + 1);
	return 0;
}

int proc_misc_minor(const char *text, const char *name, unsigned int *minor)
{
	char line[256], dev[64];
	bool truncated;
	unsigned int m;

	while ((text = next_line(text, line, sizeof(line), &truncated))) {
		if (!truncated && sscanf(line, "%u %63s", &m, dev) == 2 && !strcmp(dev, name)) {
			*minor = m;
			return 0;
		}
	}
	return -ENOENT;
}
