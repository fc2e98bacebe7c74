// SPDX-License-Identifier: Apache-2.0
/*
 * Firecracker's seccomp JSON filter format (seccompiler), for --seccomp-filter:
 *
 *   { "vmm" | "api" | "vcpu": {
 *       "default_action": ACTION, "filter_action": ACTION,
 *       "filter": [ { "syscall": "name", "comment"?: "...",
 *                     "args"?: [ { "index": 0..5, "type": "dword" | "qword",
 *                                  "op": "eq" | "ne" | "lt" | "le" | "gt" | "ge"
 *                                        | { "masked_eq": MASK },
 *                                  "val": N, "comment"?: "..." } ] } ] } }
 *
 *   ACTION: "allow" | "trap" | "kill_process" | "kill_thread" | "log"
 *           | { "errno": N } | { "trace": N }
 *
 * All three categories are required and no other key is accepted (as
 * Firecracker). Unknown keys anywhere are errors rather than silently
 * ignored: a typo must not quietly weaken a filter. A "dword" condition, with
 * any operator, compares the low 32 bits of the argument only, as
 * Firecracker's seccompiler emits it (one 32-bit load and compare of the low
 * word, whatever the upper half holds): the rule records the type and
 * seccomp_compile() does the rest. Values are JSON integers 0..2^63-1.
 */
#include "vmm/seccomp/json.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where in the document an error is: "vcpu.filter[3].args[0]". */
struct where {
	char path[96];
	char *err;
	size_t errlen;
};

static int json_fail(const struct where *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int json_fail(const struct where *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(w->err, w->errlen, "%s: ", w->path);
	if (n < 0 || (size_t)n >= w->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(w->err + n, w->errlen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The path of member @key, or of element @index when >= 0 (cut short if very deep). */
static struct where where_sub(const struct where *w, const char *key, long index)
{
	struct where sub = *w;
	int n;

	if (index >= 0)
		n = snprintf(sub.path, sizeof(sub.path), "%s[%ld]", w->path, index);
	else
		n = snprintf(sub.path, sizeof(sub.path), "%s.%s", w->path, key);
	if (n < 0)
		snprintf(sub.path, sizeof(sub.path), "%s", w->path);
	return sub;
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* Every key of @obj must be one of @allowed (NULL-terminated). */
static int check_keys(const json_t *obj, const char *const *allowed, const struct where *w)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		const char *const *a = allowed;

		while (*a && strcmp(*a, key))
			a++;
		if (!*a)
			return json_fail(w, "unknown key \"%s\"", key);
	}
	return 0;
}

static int get_u64(const json_t *obj, const char *key, uint64_t max, uint64_t *out,
		   const struct where *w)
{
	struct where sub = where_sub(w, key, -1);
	json_t *v = json_object_get(obj, key);
	json_int_t i;

	if (!v)
		return json_fail(w, "missing \"%s\"", key);
	if (!json_is_integer(v))
		return json_fail(&sub, "must be an integer, not %s", json_type_name(v));
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return json_fail(&sub, "%lld is out of range (0 to %llu)", (long long)i,
				 (unsigned long long)max);
	*out = (uint64_t)i;
	return 0;
}

static const char *get_string(const json_t *obj, const char *key, const struct where *w, int *ret)
{
	json_t *v = json_object_get(obj, key);

	if (!v) {
		*ret = json_fail(w, "missing \"%s\"", key);
		return NULL;
	}
	if (!json_is_string(v)) {
		struct where sub = where_sub(w, key, -1);

		*ret = json_fail(&sub, "must be a string, not %s", json_type_name(v));
		return NULL;
	}
	return json_string_value(v);
}

/* "comment" may be anywhere a key is allowed, but only as a string. */
static int check_comment(const json_t *obj, const struct where *w)
{
	json_t *v = json_object_get(obj, "comment");
	struct where sub = where_sub(w, "comment", -1);

	if (v && !json_is_string(v))
		return json_fail(&sub, "must be a string, not %s", json_type_name(v));
	return 0;
}

/* ---- actions ----------------------------------------------------------------- */

static const struct {
	const char *name;
	uint32_t action;
} simple_actions[] = {
    {"allow", SCMP_ACT_ALLOW},
    {"trap", SCMP_ACT_TRAP},
    {"kill_process", SCMP_ACT_KILL_PROCESS},
    {"kill_thread", SCMP_ACT_KILL_THREAD},
    {"log", SCMP_ACT_LOG},
};

#define ACTION_CHOICES                                                                             \
	"\"allow\", \"trap\", \"kill_process\", \"kill_thread\", \"log\", {\"errno\": N} or "      \
	"{\"trace\": N}"

static int parse_action(const json_t *v, uint32_t *out, const struct where *w)
{
	uint64_t n;
	int ret;

	if (json_is_string(v)) {
		for (size_t i = 0; i < sizeof(simple_actions) / sizeof(simple_actions[0]); i++) {
			if (!strcmp(json_string_value(v), simple_actions[i].name)) {
				*out = simple_actions[i].action;
				return 0;
			}
		}
		return json_fail(w, "unknown action \"%s\" (expected " ACTION_CHOICES ")",
				 json_string_value(v));
	}
	if (json_is_object(v) && json_object_size(v) == 1) {
		/* errno: the kernel caps SECCOMP_RET_ERRNO data at MAX_ERRNO. */
		if (json_object_get(v, "errno")) {
			ret = get_u64(v, "errno", 4095, &n, w);
			*out = SCMP_ACT_ERRNO((uint32_t)n);
			return ret;
		}
		if (json_object_get(v, "trace")) {
			ret = get_u64(v, "trace", 0xffff, &n, w);
			*out = SCMP_ACT_TRACE((uint32_t)n);
			return ret;
		}
	}
	return json_fail(w, "bad action: %s (expected " ACTION_CHOICES ")", json_type_name(v));
}

/* ---- conditions -------------------------------------------------------------- */

static const struct {
	const char *name;
	enum scmp_compare op;
} simple_ops[] = {
    {"eq", SCMP_CMP_EQ}, {"ne", SCMP_CMP_NE}, {"lt", SCMP_CMP_LT},
    {"le", SCMP_CMP_LE}, {"gt", SCMP_CMP_GT}, {"ge", SCMP_CMP_GE},
};

#define OP_CHOICES "\"eq\", \"ne\", \"lt\", \"le\", \"gt\", \"ge\" or {\"masked_eq\": MASK}"

/* Sets op and, for masked_eq, datum_a (the mask). */
static int parse_op(const json_t *arg, struct scmp_arg_cmp *cmp, const struct where *w)
{
	struct where sub = where_sub(w, "op", -1);
	json_t *v = json_object_get(arg, "op");

	if (!v)
		return json_fail(w, "missing \"op\"");
	if (json_is_string(v)) {
		for (size_t i = 0; i < sizeof(simple_ops) / sizeof(simple_ops[0]); i++) {
			if (!strcmp(json_string_value(v), simple_ops[i].name)) {
				cmp->op = simple_ops[i].op;
				return 0;
			}
		}
		if (!strcmp(json_string_value(v), "masked_eq"))
			return json_fail(&sub, "masked_eq needs its mask: {\"masked_eq\": MASK}");
		return json_fail(&sub, "unknown operator \"%s\" (expected " OP_CHOICES ")",
				 json_string_value(v));
	}
	if (json_is_object(v) && json_object_size(v) == 1 && json_object_get(v, "masked_eq")) {
		cmp->op = SCMP_CMP_MASKED_EQ;
		return get_u64(v, "masked_eq", INT64_MAX, &cmp->datum_a, &sub);
	}
	return json_fail(&sub, "bad operator: %s (expected " OP_CHOICES ")", json_type_name(v));
}

static int parse_arg(const json_t *arg, struct scmp_arg_cmp *cmp, bool *is_dword,
		     const struct where *w)
{
	static const char *const keys[] = {"index", "type", "op", "val", "comment", NULL};
	const char *type;
	uint64_t index, val;
	bool dword;
	int ret = 0;

	if (!json_is_object(arg))
		return json_fail(w, "must be an object, not %s", json_type_name(arg));
	ret = check_keys(arg, keys, w);
	if (!ret)
		ret = check_comment(arg, w);
	if (!ret)
		ret = get_u64(arg, "index", SECCOMP_MAX_ARGS - 1, &index, w);
	if (ret)
		return ret;
	type = get_string(arg, "type", w, &ret);
	if (!type)
		return ret;
	if (strcmp(type, "dword") && strcmp(type, "qword")) {
		struct where sub = where_sub(w, "type", -1);

		return json_fail(&sub, "unknown type \"%s\" (expected \"dword\" or \"qword\")",
				 type);
	}
	dword = type[0] == 'd';
	memset(cmp, 0, sizeof(*cmp));
	ret = parse_op(arg, cmp, w);
	if (!ret)
		ret = get_u64(arg, "val", dword ? UINT32_MAX : INT64_MAX, &val, w);
	if (ret)
		return ret;
	cmp->arg = (unsigned int)index;
	*is_dword = dword;
	if (cmp->op == SCMP_CMP_MASKED_EQ) {
		cmp->datum_b = val;
		if (dword)
			cmp->datum_a &= 0xffffffffULL;
	} else if (cmp->op == SCMP_CMP_EQ && dword) {
		/* The kernel reads a 32-bit argument: ignore whatever is in the upper half. */
		cmp->op = SCMP_CMP_MASKED_EQ;
		cmp->datum_a = 0xffffffffULL;
		cmp->datum_b = val;
	} else {
		/* ne/lt/le/gt/ge: on the low word, by seccomp_compile() (policy.h). */
		cmp->datum_a = val;
	}
	return 0;
}

/* ---- rules and filters ------------------------------------------------------- */

static int parse_rule(const json_t *rule, struct seccomp_rule *out, const struct where *w)
{
	static const char *const keys[] = {"syscall", "args", "comment", NULL};
	struct where sub;
	const char *name;
	json_t *args, *arg;
	size_t i;
	int ret = 0;

	if (!json_is_object(rule))
		return json_fail(w, "must be an object, not %s", json_type_name(rule));
	ret = check_keys(rule, keys, w);
	if (!ret)
		ret = check_comment(rule, w);
	if (ret)
		return ret;
	name = get_string(rule, "syscall", w, &ret);
	if (!name)
		return ret;
	memset(out, 0, sizeof(*out));
	/* Names that exist only on other architectures resolve to negative numbers. */
	out->syscall = seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE, name);
	if (out->syscall < 0) {
		sub = where_sub(w, "syscall", -1);
		return json_fail(&sub, "unknown syscall \"%s\" on this architecture", name);
	}
	args = json_object_get(rule, "args");
	if (!args)
		return 0;
	sub = where_sub(w, "args", -1);
	if (!json_is_array(args))
		return json_fail(&sub, "must be an array, not %s", json_type_name(args));
	if (json_array_size(args) > SECCOMP_MAX_ARGS)
		return json_fail(&sub, "%zu conditions, at most %d", json_array_size(args),
				 SECCOMP_MAX_ARGS);
	json_array_foreach(args, i, arg)
	{
		struct where at = where_sub(&sub, NULL, (long)i);
		bool dword = false;

		ret = parse_arg(arg, &out->args[i], &dword, &at);
		if (ret)
			return ret;
		if (dword)
			out->dword |= (uint8_t)(1u << i);
	}
	return 0;
}

static int parse_filter(const json_t *obj, struct seccomp_policy *out, const struct where *w)
{
	static const char *const keys[] = {"default_action", "filter_action", "filter", "comment",
					   NULL};
	struct where sub;
	json_t *v, *rule;
	size_t i;
	int ret;

	if (!json_is_object(obj))
		return json_fail(w, "must be an object, not %s", json_type_name(obj));
	ret = check_keys(obj, keys, w);
	if (!ret)
		ret = check_comment(obj, w);
	if (ret)
		return ret;
	for (i = 0; i < 2; i++) {
		const char *key = i ? "filter_action" : "default_action";

		v = json_object_get(obj, key);
		if (!v)
			return json_fail(w, "missing \"%s\"", key);
		sub = where_sub(w, key, -1);
		ret = parse_action(v, i ? &out->filter_action : &out->default_action, &sub);
		if (ret)
			return ret;
	}
	v = json_object_get(obj, "filter");
	sub = where_sub(w, "filter", -1);
	if (!v)
		return json_fail(w, "missing \"filter\"");
	if (!json_is_array(v))
		return json_fail(&sub, "must be an array, not %s", json_type_name(v));
	out->rules = calloc(json_array_size(v) ? json_array_size(v) : 1, sizeof(*out->rules));
	if (!out->rules)
		return json_fail(w, "out of memory");
	json_array_foreach(v, i, rule)
	{
		struct where at = where_sub(&sub, NULL, (long)i);

		ret = parse_rule(rule, &out->rules[i], &at);
		if (ret)
			return ret;
		out->nr_rules++;
	}
	return 0;
}

static int parse_document(const json_t *root, struct seccomp_policy *out, char *err, size_t errlen)
{
	struct where w = {.path = "(top level)", .err = err, .errlen = errlen};
	const char *key;
	json_t *v;
	int ret;

	if (!json_is_object(root))
		return json_fail(&w, "must be an object, not %s", json_type_name(root));
	json_object_foreach((json_t *)root, key, v)
	{
		unsigned int t = 0;

		while (t < SECCOMP_NR_THREADS && strcmp(key, seccomp_thread_name(t)))
			t++;
		if (t == SECCOMP_NR_THREADS)
			return json_fail(&w,
					 "unknown thread category \"%s\" (expected \"vmm\", "
					 "\"api\" and \"vcpu\")",
					 key);
	}
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++) {
		v = json_object_get(root, seccomp_thread_name(t));
		if (!v)
			return json_fail(&w, "missing thread category \"%s\"",
					 seccomp_thread_name(t));
		snprintf(w.path, sizeof(w.path), "%s", seccomp_thread_name(t));
		ret = parse_filter(v, &out[t], &w);
		snprintf(w.path, sizeof(w.path), "(top level)");
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_root(json_t *root, const json_error_t *jerr, const char *source,
		      struct seccomp_policy *out, char *err, size_t errlen)
{
	char why[256];
	int ret;

	memset(out, 0, SECCOMP_NR_THREADS * sizeof(*out));
	if (!root) {
		snprintf(err, errlen, "%s: invalid JSON at line %d, column %d: %s", source,
			 jerr->line, jerr->column, jerr->text);
		return -EINVAL;
	}
	ret = parse_document(root, out, why, sizeof(why));
	json_decref(root);
	if (ret) {
		snprintf(err, errlen, "%s: %s", source, why);
		for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++)
			seccomp_policy_free(&out[t]);
	}
	return ret;
}

int seccomp_json_parse(const char *text, size_t len, struct seccomp_policy *out, char *err,
		       size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);

	return parse_root(root, &jerr, "seccomp filter", out, err, errlen);
}

int seccomp_json_load(const char *path, struct seccomp_policy *out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	FILE *f = fopen(path, "re");

	if (!f) {
		int ret = -errno;

		memset(out, 0, SECCOMP_NR_THREADS * sizeof(*out));
		snprintf(err, errlen, "cannot open the seccomp filter file %s: %s", path,
			 strerror(-ret));
		return ret;
	}
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	return parse_root(root, &jerr, path, out, err, errlen);
}
