// SPDX-License-Identifier: Apache-2.0
/*
 * The MMDS data store: one JSON value (jansson), replaced by PUT, merged by
 * PATCH (RFC 7396, as Firecracker's json_patch), read by the API and by the
 * guest through a path (a JSON pointer), as JSON or as IMDS text.
 *
 * Sizes and bodies are Firecracker's: serde_json writes compact JSON with
 * object keys sorted (its Map is a BTreeMap) and floats in ryu's shortest
 * form, so the size limit and the GET bodies are measured and written that
 * way here too, by this file's own writer rather than json_dumps().
 */
#include "devices/mmds/mmds_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/base/sort.h"

/* ---- serde_json's writer ---- */

struct out {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->oom)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		char *buf;

		while (cap < o->len + n + 1)
			cap *= 2;
		buf = realloc(o->buf, cap);
		if (!buf) {
			o->oom = true;
			return;
		}
		o->buf = buf;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* serde_json's escapes: the short forms it has, \u00xx (lower case) for other controls. */
static void put_string(struct out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
		const char *e = NULL;

		switch (c) {
		case '"':
			e = "\\\"";
			break;
		case '\\':
			e = "\\\\";
			break;
		case '\b':
			e = "\\b";
			break;
		case '\f':
			e = "\\f";
			break;
		case '\n':
			e = "\\n";
			break;
		case '\r':
			e = "\\r";
			break;
		case '\t':
			e = "\\t";
			break;
		default:
			if (c < 0x20)
				e = esc;
		}
		if (e)
			puts_(o, e);
		else
			put(o, s + i, 1);
	}
	put(o, "\"", 1);
}

/* The shortest digits that read back as V, laid out as ryu (serde_json) does. */
static void put_real(struct out *o, double v)
{
	char sci[40], digits[24], buf[64];
	int exp10 = 0, kk, len = 0, p;
	char *s, *e;

	for (p = 1; p <= 17; p++) {
		snprintf(sci, sizeof(sci), "%.*e", p - 1, v);
		if (strtod(sci, NULL) == v)
			break;
	}
	s = sci;
	if (*s == '-') {
		put(o, "-", 1);
		s++;
	}
	for (e = s; *e && *e != 'e'; e++)
		if (*e != '.')
			digits[len++] = *e;
	while (len > 1 && digits[len - 1] == '0')
		len--;
	digits[len] = '\0';
	if (*e == 'e')
		exp10 = atoi(e + 1);
	kk = exp10 + 1;
	if (len == 1 && digits[0] == '0')
		snprintf(buf, sizeof(buf), "0.0");
	else if (len <= kk && kk <= 16)
		snprintf(buf, sizeof(buf), "%s%.*s.0", digits, kk - len, "0000000000000000");
	else if (kk > 0 && kk <= 16)
		snprintf(buf, sizeof(buf), "%.*s.%s", kk, digits, digits + kk);
	else if (kk > -5 && kk <= 0)
		snprintf(buf, sizeof(buf), "0.%.*s%s", -kk, "00000", digits);
	else if (len == 1)
		snprintf(buf, sizeof(buf), "%se%d", digits, kk - 1);
	else
		snprintf(buf, sizeof(buf), "%c.%se%d", digits[0], digits + 1, kk - 1);
	puts_(o, buf);
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An object's keys in serde's (byte) order; malloc'd, NULL on ENOMEM or when empty. */
static const char **sorted_keys(const json_t *obj, size_t *nr)
{
	const char **keys;
	const char *k;
	json_t *v;
	size_t i = 0;

	*nr = json_object_size(obj);
	if (!*nr)
		return NULL;
	keys = malloc(*nr * sizeof(*keys));
	if (!keys)
		return NULL;
	json_object_foreach((json_t *)obj, k, v)
	{
		(void)v;
		keys[i++] = k;
	}
	sort_in_place(keys, *nr, sizeof(*keys), cmp_keys); /* not qsort(): see sort.h */
	return keys;
}

static void put_value(struct out *o, const json_t *v)
{
	char num[32];
	const char **keys;
	size_t nr;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		keys = sorted_keys(v, &nr);
		if (nr && !keys) {
			o->oom = true;
			return;
		}
		put(o, "{", 1);
		for (size_t i = 0; i < nr; i++) {
			if (i)
				put(o, ",", 1);
			put_string(o, keys[i], strlen(keys[i]));
			put(o, ":", 1);
			put_value(o, json_object_get(v, keys[i]));
		}
		put(o, "}", 1);
		free(keys);
		return;
	case JSON_ARRAY:
		put(o, "[", 1);
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				put(o, ",", 1);
			put_value(o, json_array_get(v, i));
		}
		put(o, "]", 1);
		return;
	case JSON_STRING:
		put_string(o, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		puts_(o, num);
		return;
	case JSON_REAL:
		put_real(o, json_real_value(v));
		return;
	case JSON_TRUE:
		puts_(o, "true");
		return;
	case JSON_FALSE:
		puts_(o, "false");
		return;
	default:
		puts_(o, "null");
	}
}

char *mmds_json_dump(const json_t *v, size_t *len)
{
	struct out o = {0};

	put_value(&o, v);
	if (o.oom || !o.buf) {
		free(o.buf);
		return NULL;
	}
	if (len)
		*len = o.len;
	return o.buf;
}

/* ---- PUT / PATCH / GET /mmds ---- */

static json_t *load(const char *text, size_t len)
{
	/* Any value, as serde_json::Value; strings may hold \u0000 as in Rust. */
	return json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
}

/* Takes NEXT: it becomes the store if it fits the limit, else it is dropped. */
static int replace_if_fits(struct mmds *m, json_t *next)
{
	size_t len;
	char *text = mmds_json_dump(next, &len);

	if (!text) {
		json_decref(next);
		return -ENOMEM;
	}
	free(text);
	if (len > m->size_limit) {
		json_decref(next);
		return -EFBIG;
	}
	json_decref(m->data);
	m->data = next;
	return 0;
}

int mmds_store_put(struct mmds *m, const char *text, size_t len)
{
	json_t *v = load(text, len);

	if (!v)
		return -EINVAL;
	return replace_if_fits(m, v);
}

/* RFC 7396 MergePatch(target, patch), in place; the result may be a new value. */
static json_t *merge_patch(json_t *target, json_t *patch)
{
	const char *key;
	json_t *pv;

	if (!json_is_object(patch)) {
		json_decref(target);
		return json_incref(patch);
	}
	if (!json_is_object(target)) {
		json_decref(target);
		target = json_object();
		if (!target)
			return NULL;
	}
	json_object_foreach(patch, key, pv)
	{
		json_t *cur, *next;

		if (json_is_null(pv)) {
			json_object_del(target, key);
			continue;
		}
		cur = json_incref(json_object_get(target, key));
		next = merge_patch(cur ? cur : json_null(), pv);
		if (!next || json_object_set_new(target, key, next)) {
			json_decref(target);
			return NULL;
		}
	}
	return target;
}

int mmds_store_patch(struct mmds *m, const char *text, size_t len)
{
	json_t *patch, *next;

	if (!m->data)
		return -ENODATA;
	patch = load(text, len);
	if (!patch)
		return -EINVAL;
	/* Patch a deep copy: the store stays as it was if the result is too big. */
	next = json_deep_copy(m->data);
	next = next ? merge_patch(next, patch) : NULL;
	json_decref(patch);
	if (!next)
		return -ENOMEM;
	return replace_if_fits(m, next);
}

char *mmds_store_dump(const struct mmds *m)
{
	if (!m->data || json_is_null(m->data))
		return strdup("{}");
	return mmds_json_dump(m->data, NULL);
}

/* serde_json's parse_index: decimal, no sign, no leading zero. */
static bool array_index(const char *tok, size_t *idx)
{
	char *end;

	if (!*tok || *tok == '+' || *tok == '-' || (tok[0] == '0' && tok[1]))
		return false;
	for (const char *p = tok; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	errno = 0;
	*idx = strtoull(tok, &end, 10);
	return !errno && !*end;
}

/* One reference token, ~1 -> '/' first, then ~0 -> '~' (serde_json's order). */
static void unescape_token(char *tok)
{
	char *w = tok;

	for (char *r = tok; *r; r++)
		*w++ = (r[0] == '~' && r[1] == '1') ? (r++, '/') : *r;
	*w = '\0';
	w = tok;
	for (char *r = tok; *r; r++)
		*w++ = (r[0] == '~' && r[1] == '0') ? (r++, '~') : *r;
	*w = '\0';
}

/* serde_json's Value::pointer. NULL when nothing is there. */
static const json_t *pointer(const json_t *root, const char *ptr)
{
	char *copy, *tok, *next;
	const json_t *v = root;
	size_t idx;

	if (!*ptr)
		return root;
	if (*ptr != '/')
		return NULL;
	copy = strdup(ptr + 1);
	if (!copy)
		return NULL;
	for (tok = copy; v && tok; tok = next) {
		next = strchr(tok, '/');
		if (next)
			*next++ = '\0';
		unescape_token(tok);
		if (json_is_object(v))
			v = json_object_get(v, tok);
		else if (json_is_array(v) && array_index(tok, &idx))
			v = json_array_get(v, idx);
		else
			v = NULL;
	}
	free(copy);
	return v;
}

/* Firecracker's format_imds: an object's keys (objects with a '/'), or a string. */
static int format_imds(const json_t *v, char **body)
{
	struct out o = {0};
	const char **keys;
	size_t nr;

	if (json_is_string(v)) {
		put(&o, json_string_value(v), json_string_length(v));
	} else if (json_is_object(v)) {
		keys = sorted_keys(v, &nr);
		if (nr && !keys)
			return 200;
		for (size_t i = 0; i < nr; i++) {
			if (i)
				put(&o, "\n", 1);
			puts_(&o, keys[i]);
			if (json_is_object(json_object_get(v, keys[i])))
				put(&o, "/", 1);
		}
		free(keys);
	} else {
		return 501;
	}
	if (!o.buf && !o.oom)
		o.buf = strdup("");
	*body = o.oom ? (free(o.buf), NULL) : o.buf;
	return 200;
}

int mmds_store_get(const struct mmds *m, const char *path, bool json, char **body)
{
	size_t n = strlen(path);
	char *ptr = strndup(path, n && path[n - 1] == '/' ? n - 1 : n);
	const json_t *v;
	json_t *null = NULL;

	*body = NULL;
	if (!ptr)
		return 200; /* body NULL: out of memory */
	if (!m->data)
		null = json_null();
	v = pointer(m->data ? m->data : null, ptr);
	free(ptr);
	if (!v)
		return 404;
	/* EC2's IMDS ignores Accept: imds_compat answers IMDS text whatever was asked. */
	if (json && !m->imds_compat) {
		*body = mmds_json_dump(v, NULL);
		return 200;
	}
	return format_imds(v, body);
}
