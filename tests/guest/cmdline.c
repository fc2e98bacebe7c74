// SPDX-License-Identifier: Apache-2.0
#include "cmdline.h"
#include "string.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/*
 * From *@p on, find the next word that is @name, bare (@value NULL) or as
 * "name=value", and leave *@p just after it. False when no word is left.
 */
static bool cmdline_next_match(const char **p, const char *name, const char **value, size_t *len)
{
	size_t name_len = strlen(name);
	const char *s = *p;

	while (*s) {
		const char *word;
		size_t word_len;

		while (is_blank(*s))
			s++;
		word = s;
		while (*s && !is_blank(*s))
			s++;
		word_len = (size_t)(s - word);
		if (word_len < name_len || memcmp(word, name, name_len) != 0)
			continue;
		if (word_len == name_len) {
			*value = NULL;
			*len = 0;
		} else if (word[name_len] == '=') {
			*value = word + name_len + 1;
			*len = word_len - name_len - 1;
		} else {
			continue;
		}
		*p = s;
		return true;
	}
	*p = s;
	return false;
}

/* The last word named @name: like Linux, a parameter given twice takes its last value. */
static bool cmdline_find_last(const char *p, const char *name, const char **value, size_t *len)
{
	const char *v;
	size_t l;
	bool found = false;

	while (cmdline_next_match(&p, name, &v, &l)) {
		found = true;
		*value = v;
		*len = l;
	}
	return found;
}

bool cmdline_has(const char *cmdline, const char *name)
{
	const char *value = NULL;
	size_t len = 0;

	return cmdline_find_last(cmdline, name, &value, &len);
}

bool cmdline_get(const char *cmdline, const char *name, const char **value, size_t *len)
{
	const char *v = NULL;
	size_t l = 0;

	if (!cmdline_find_last(cmdline, name, &v, &l) || !v)
		return false;
	*value = v;
	*len = l;
	return true;
}

bool cmdline_next(const char **cursor, const char *name, const char **value, size_t *len)
{
	const char *v;
	size_t l;

	while (cmdline_next_match(cursor, name, &v, &l)) {
		if (v) {
			*value = v;
			*len = l;
			return true;
		}
	}
	return false;
}
