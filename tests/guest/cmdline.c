// SPDX-License-Identifier: Apache-2.0
#include "cmdline.h"
#include "string.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/*
 * Walk the words; for each one named @name, remember where its value starts
 * (or NULL when it is bare). Returns whether any word matched.
 */
static bool cmdline_find_last(const char *p, const char *name, const char **value, size_t *len)
{
	size_t name_len = strlen(name);
	bool found = false;

	while (*p) {
		const char *word, *eq;
		size_t word_len;

		while (is_blank(*p))
			p++;
		word = p;
		while (*p && !is_blank(*p))
			p++;
		word_len = (size_t)(p - word);
		if (word_len < name_len || memcmp(word, name, name_len) != 0)
			continue;
		if (word_len == name_len) {
			found = true;
			*value = NULL;
			*len = 0;
		} else if (word[name_len] == '=') {
			eq = word + name_len;
			found = true;
			*value = eq + 1;
			*len = word_len - name_len - 1;
		}
	}
	return found;
}

bool cmdline_has(const char *cmdline, const char *name)
{
	const char *value;
	size_t len;

	return cmdline_find_last(cmdline, name, &value, &len);
}

bool cmdline_get(const char *cmdline, const char *name, const char **value, size_t *len)
{
	const char *v;
	size_t l;

	if (!cmdline_find_last(cmdline, name, &v, &l) || !v)
		return false;
	*value = v;
	*len = l;
	return true;
}
