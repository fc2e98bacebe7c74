// SPDX-License-Identifier: Apache-2.0
#include "api/json_de.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The document is syntactically valid (jansson accepted it) before any of the
 * walking below runs, so the helpers that skip tokens need no error paths.
 */
struct jde_doc {
	const char *text;
	size_t len;
	char *err;
	size_t errlen;
};

/* ---- positions ---- */

/*
 * serde_json reports the line (1-based) and the column as the number of
 * bytes of that line before @index, where @index is how far it had read.
 */
static void jde_position(const struct jde_doc *doc, size_t index, unsigned int *line,
			 unsigned int *col)
{
	size_t sol = 0;

	*line = 1;
	for (size_t i = 0; i < index && i < doc->len; i++) {
		if (doc->text[i] == '\n') {
			(*line)++;
			sol = i + 1;
		}
	}
	*col = (unsigned int)(index - sol);
}

static int jde_fail(const struct jde_doc *doc, size_t index, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int jde_fail(const struct jde_doc *doc, size_t index, const char *fmt, ...)
{
	unsigned int line, col;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(doc->err, doc->errlen, fmt, ap);
	va_end(ap);
	jde_position(doc, index, &line, &col);
	if (n >= 0 && (size_t)n < doc->errlen)
		snprintf(doc->err + n, doc->errlen - n, " at line %u column %u", line, col);
	return -EINVAL;
}

/* ---- token skipping (valid JSON only) ---- */

static size_t skip_ws(const struct jde_doc *doc, size_t i)
{
	while (i < doc->len && doc->text[i] && strchr(" \t\r\n", doc->text[i]))
		i++;
	return i;
}

/* @i at the opening quote; returns the index just past the closing one. */
static size_t skip_string(const struct jde_doc *doc, size_t i)
{
	for (i++; i < doc->len && doc->text[i] != '"'; i++)
		if (doc->text[i] == '\\')
			i++;
	return i + 1;
}

static size_t skip_value(const struct jde_doc *doc, size_t i)
{
	int depth = 0;

	if (doc->text[i] != '{' && doc->text[i] != '[') {
		if (doc->text[i] == '"')
			return skip_string(doc, i);
		while (i < doc->len && !strchr(",}] \t\r\n", doc->text[i]))
			i++;
		return i;
	}
	while (i < doc->len) {
		char c = doc->text[i];

		if (c == '"') {
			i = skip_string(doc, i);
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if ((c == '}' || c == ']') && --depth == 0)
			return i + 1;
		i++;
	}
	return i;
}

/* ---- value decoding ---- */

/* Decode the JSON string token [start, end) (escapes resolved). NULL on ENOMEM. */
static char *decode_string(const struct jde_doc *doc, size_t start, size_t end)
{
	json_t *j = json_loadb(doc->text + start, end - start, JSON_DECODE_ANY, NULL);
	char *s = NULL;

	if (j && json_is_string(j))
		s = strdup(json_string_value(j));
	json_decref(j);
	return s;
}

static bool is_number_start(char c)
{
	return c == '-' || (c >= '0' && c <= '9');
}

static bool is_float_token(const struct jde_doc *doc, size_t start, size_t end)
{
	for (size_t i = start; i < end; i++)
		if (strchr(".eE", doc->text[i]))
			return true;
	return false;
}

/* ---- numbers, as serde_json reads them ---- */

/*
 * serde_json keeps an integer as u64 (or, negative, as i64) and reads
 * everything else as f64: a fraction or exponent, an integer beyond those
 * ranges, and "-0".
 */
enum number_kind { NUM_U64, NUM_I64, NUM_F64 };

/* serde's overflow!(a * 10 + b, max) */
static bool mul10_add_overflows(uint64_t a, uint64_t b, uint64_t max)
{
	return a >= max / 10 && (a > max / 10 || b > max % 10);
}

static enum number_kind number_kind(const struct jde_doc *doc, size_t i, size_t end, uint64_t *u)
{
	bool negative = doc->text[i] == '-';
	uint64_t mag = 0;

	if (is_float_token(doc, i, end))
		return NUM_F64;
	for (size_t p = i + negative; p < end; p++) {
		uint64_t d = (uint64_t)(doc->text[p] - '0');

		if (mul10_add_overflows(mag, d, UINT64_MAX))
			return NUM_F64;
		mag = mag * 10 + d;
	}
	*u = mag;
	if (!negative)
		return NUM_U64;
	return mag == 0 || mag > (uint64_t)INT64_MAX + 1 ? NUM_F64 : NUM_I64;
}

static double pow10_exact(int n)
{
	char text[8];

	snprintf(text, sizeof(text), "1e%d", n); /* a Rust literal: correctly rounded */
	return strtod(text, NULL);
}

/* serde_json's f64_from_parts() (without its float_roundtrip feature): -ERANGE past f64. */
static int f64_from_parts(bool positive, uint64_t significand, int32_t exponent, double *out)
{
	double f = (double)significand;

	for (;;) {
		int32_t mag = exponent < 0 ? -exponent : exponent;

		if (mag <= 308) {
			if (exponent >= 0) {
				f *= pow10_exact(mag);
				if (isinf(f))
					return -ERANGE;
			} else {
				f /= pow10_exact(mag);
			}
			break;
		}
		if (f == 0.0)
			break;
		if (exponent >= 0)
			return -ERANGE;
		f /= 1e308;
		exponent += 308;
	}
	*out = positive ? f : -f;
	return 0;
}

static int32_t saturating_add(int32_t a, int32_t b)
{
	int64_t r = (int64_t)a + b;

	return r > INT32_MAX ? INT32_MAX : r < INT32_MIN ? INT32_MIN : (int32_t)r;
}

/*
 * The f64 serde_json makes of the (valid JSON) number token [i, end): the
 * significand keeps the digits that fit a u64 (later integer digits scale
 * the exponent, later fraction digits are dropped), then f64_from_parts().
 * -ERANGE where serde_json reports "number out of range".
 */
static int serde_f64(const struct jde_doc *doc, size_t i, size_t end, double *out)
{
	const char *t = doc->text;
	bool positive = t[i] != '-', positive_exp = true, full = false;
	uint64_t sig = 0;
	int32_t exp10 = 0, e = 0;
	size_t p = i + !positive;

	for (; p < end && t[p] >= '0' && t[p] <= '9'; p++) {
		uint64_t d = (uint64_t)(t[p] - '0');

		if (full || mul10_add_overflows(sig, d, UINT64_MAX)) {
			full = true;
			exp10++;
		} else {
			sig = sig * 10 + d;
		}
	}
	/* Fraction digits are added while they fit (even after a long integer), then dropped. */
	full = false;
	if (p < end && t[p] == '.') {
		for (p++; p < end && t[p] >= '0' && t[p] <= '9'; p++) {
			uint64_t d = (uint64_t)(t[p] - '0');

			if (full || mul10_add_overflows(sig, d, UINT64_MAX)) {
				full = true;
				continue;
			}
			sig = sig * 10 + d;
			exp10--;
		}
	}
	if (p < end && (t[p] == 'e' || t[p] == 'E')) {
		p++;
		if (t[p] == '+' || t[p] == '-')
			positive_exp = t[p++] == '+';
		for (; p < end && t[p] >= '0' && t[p] <= '9'; p++) {
			int32_t d = t[p] - '0';

			if (e >= INT32_MAX / 10 && (e > INT32_MAX / 10 || d > INT32_MAX % 10)) {
				/* serde_json: an error rather than infinity, else zero. */
				if (sig && positive_exp)
					return -ERANGE;
				*out = positive ? 0.0 : -0.0;
				return 0;
			}
			e = e * 10 + d;
		}
		exp10 = positive_exp ? saturating_add(exp10, e) : saturating_add(exp10, -e);
	}
	return f64_from_parts(positive, sig, exp10, out);
}

/*
 * Rust's Display of an f64 (shortest digits that round-trip, never an
 * exponent) plus serde_json's ".0" for integral values. Without an exponent
 * 1e308 is 309 digits and 5e-324 is "0." and 323 digits: @buf needs
 * JDE_FLOAT_TEXT_MAX bytes; a shorter one gets a truncated (terminated) text.
 */
#define JDE_FLOAT_TEXT_MAX 400

struct text_buf {
	char *buf;
	size_t size, len; /* len < size once anything is written */
};

static void put_char(struct text_buf *t, char c)
{
	if (t->len + 1 < t->size) {
		t->buf[t->len++] = c;
		t->buf[t->len] = '\0';
	}
}

static void put_chars(struct text_buf *t, const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i]; i++)
		put_char(t, s[i]);
}

static void format_float(double v, char *buf, size_t size)
{
	struct text_buf t = {buf, size, 0};
	char digits[32], tmp[40], *e;
	int exp, nd = 0;

	if (size)
		buf[0] = '\0';
	for (int prec = 0; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	e = strchr(tmp, 'e');
	if (!e) /* not finite: jansson refuses those before any of this runs */
		return;
	exp = atoi(e + 1);
	*e = '\0';
	for (char *p = tmp; *p && nd < (int)sizeof(digits) - 1; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	digits[nd] = '\0';
	if (signbit(v))
		put_char(&t, '-');
	if (exp < 0) {
		put_chars(&t, "0.", 2);
		for (int i = 0; i < -exp - 1; i++)
			put_char(&t, '0');
		put_chars(&t, digits, (size_t)nd);
		return;
	}
	for (int i = 0; i <= exp; i++)
		put_char(&t, i < nd ? digits[i] : '0');
	if (nd > exp + 1) {
		put_char(&t, '.');
		put_chars(&t, digits + exp + 1, (size_t)nd);
	} else {
		put_chars(&t, ".0", 2);
	}
}

/* Rust's Debug of a str: quoted, with \" \\ \n \r \t \0 and \u{..} escapes. */
static void debug_str(const char *s, char *buf, size_t size)
{
	size_t pos = 0;

	pos += snprintf(buf, size, "\"");
	for (; *s && pos < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			pos += snprintf(buf + pos, size - pos, "\\%c", c);
		else if (c == '\n')
			pos += snprintf(buf + pos, size - pos, "\\n");
		else if (c == '\r')
			pos += snprintf(buf + pos, size - pos, "\\r");
		else if (c == '\t')
			pos += snprintf(buf + pos, size - pos, "\\t");
		else if (c < 0x20 || c == 0x7f)
			pos += snprintf(buf + pos, size - pos, "\\u{%x}", c);
		else
			pos += snprintf(buf + pos, size - pos, "%c", c);
	}
	if (pos < size)
		snprintf(buf + pos, size - pos, "\"");
}

/*
 * "invalid type: <what was there>, expected <exp>", positioned like serde:
 * after a scalar, or at a '[' / '{' it did not enter.
 */
static int invalid_type(const struct jde_doc *doc, size_t i, const char *exp)
{
	size_t end = skip_value(doc, i);
	char c = doc->text[i], what[JDE_FLOAT_TEXT_MAX];

	switch (c) {
	case '{':
		return jde_fail(doc, i, "invalid type: map, expected %s", exp);
	case '[':
		return jde_fail(doc, i, "invalid type: sequence, expected %s", exp);
	case 't':
	case 'f':
		return jde_fail(doc, end, "invalid type: boolean `%s`, expected %s",
				c == 't' ? "true" : "false", exp);
	case 'n':
		return jde_fail(doc, end, "invalid type: null, expected %s", exp);
	case '"': {
		char *s = decode_string(doc, i, end);

		if (!s)
			return -ENOMEM;
		debug_str(s, what, sizeof(what));
		free(s);
		return jde_fail(doc, end, "invalid type: string %s, expected %s", what, exp);
	}
	default:
		break;
	}
	if (number_kind(doc, i, end, &(uint64_t){0}) == NUM_F64) {
		double f;

		if (serde_f64(doc, i, end, &f))
			return jde_fail(doc, end, "number out of range");
		format_float(f, what, sizeof(what));
		return jde_fail(doc, end, "invalid type: floating point `%s`, expected %s", what,
				exp);
	}
	return jde_fail(doc, end, "invalid type: integer `%.*s`, expected %s", (int)(end - i),
			doc->text + i, exp);
}

/* serde's OneOf: "`a`", "`a` or `b`", "one of `a`, `b`, `c`". */
static void one_of(char *buf, size_t size, const char *const *names, size_t nr)
{
	size_t pos = 0;

	if (nr == 1) {
		snprintf(buf, size, "`%s`", names[0]);
		return;
	}
	if (nr == 2) {
		snprintf(buf, size, "`%s` or `%s`", names[0], names[1]);
		return;
	}
	pos = snprintf(buf, size, "one of ");
	for (size_t i = 0; i < nr && pos < size; i++)
		pos += snprintf(buf + pos, size - pos, "%s`%s`", i ? ", " : "", names[i]);
}

static int de_struct(const struct jde_doc *doc, size_t *pos, const struct jde_struct *st,
		     struct jde_value *vals);

static int de_unsigned(const struct jde_doc *doc, size_t i, size_t end, uint64_t max,
		       const char *exp, struct jde_value *v)
{
	uint64_t u = 0;

	if (!is_number_start(doc->text[i]))
		return invalid_type(doc, i, exp);
	switch (number_kind(doc, i, end, &u)) {
	case NUM_F64:
		return invalid_type(doc, i, exp);
	case NUM_I64:
		break;
	case NUM_U64:
		if (u <= max) {
			v->u = u;
			v->set = true;
			return 0;
		}
		break;
	}
	return jde_fail(doc, end, "invalid value: integer `%.*s`, expected %s", (int)(end - i),
			doc->text + i, exp);
}

static int de_enum(const struct jde_doc *doc, size_t i, size_t end, const struct jde_field *f,
		   struct jde_value *v)
{
	char list[512];
	size_t nr = 0;
	char *s;

	/* serde_json takes a unit variant only from a string. */
	if (doc->text[i] != '"')
		return jde_fail(doc, i + 1, "expected value");
	s = decode_string(doc, i, end);
	if (!s)
		return -ENOMEM;
	for (nr = 0; f->variants[nr]; nr++) {
		if (!strcmp(s, f->variants[nr])) {
			free(s);
			v->e = (int)nr;
			v->set = true;
			return 0;
		}
	}
	one_of(list, sizeof(list), f->variants, nr);
	jde_fail(doc, end, "unknown variant `%s`, expected %s", s, list);
	free(s);
	return -EINVAL;
}

static int de_custom(const struct jde_doc *doc, size_t i, size_t end, const struct jde_field *f,
		     struct jde_value *v)
{
	const char *msg = NULL;
	char *s;
	int ret;

	if (doc->text[i] != '"')
		return invalid_type(doc, i, "a string");
	s = decode_string(doc, i, end);
	if (!s)
		return -ENOMEM;
	ret = f->custom(s, &v->e, &msg);
	if (ret) {
		free(s);
		return jde_fail(doc, end, "%s", msg ? msg : "invalid value");
	}
	/* Kept for values an int cannot hold (a MAC address): the builder re-reads it. */
	v->s = s;
	v->set = true;
	return 0;
}

static int de_sub_struct(const struct jde_doc *doc, size_t *pos, const struct jde_field *f,
			 struct jde_value *v)
{
	/* At least one value: a struct of no fields (all keys skipped) is still a struct. */
	v->sub = calloc(f->sub->nr_fields ? f->sub->nr_fields : 1, sizeof(*v->sub));
	if (!v->sub)
		return -ENOMEM;
	v->set = true;
	return de_struct(doc, pos, f->sub, v->sub);
}

/* @f->sub, or a path string instead (@f->untagged: serde's untagged enum of both). */
static int de_untagged(const struct jde_doc *doc, size_t *pos, const struct jde_field *f,
		       struct jde_value *v)
{
	size_t i = *pos, end = skip_value(doc, i);
	int ret = -EINVAL;

	if (doc->text[i] == '"') {
		*pos = end;
		v->s = decode_string(doc, i, end);
		v->set = v->s != NULL;
		return v->s ? 0 : -ENOMEM;
	}
	if (doc->text[i] == '{')
		ret = de_sub_struct(doc, pos, f, v);
	*pos = end;
	/* serde tries each variant on the buffered value and reports none of their errors. */
	if (ret == -EINVAL)
		return jde_fail(doc, end, "data did not match any variant of untagged enum %s",
				f->untagged);
	return ret;
}

/* A JSON array of @f->sub objects (serde's Vec<T>). */
static int de_seq(const struct jde_doc *doc, size_t *pos, const struct jde_field *f,
		  struct jde_value *v)
{
	size_t i = *pos, nf = f->sub->nr_fields;
	int ret;

	if (doc->text[i] != '[')
		return invalid_type(doc, i, "a sequence");
	v->set = true;
	for (i = skip_ws(doc, i + 1); doc->text[i] != ']'; i = skip_ws(doc, i)) {
		struct jde_value *items =
		    realloc(v->items, ((v->nr_items + 1) * nf + 1) * sizeof(*items));

		if (!items)
			return -ENOMEM;
		v->items = items;
		memset(&items[v->nr_items * nf], 0, nf * sizeof(*items));
		v->nr_items++;
		ret = de_struct(doc, &i, f->sub, &items[(v->nr_items - 1) * nf]);
		if (ret)
			return ret;
		i = skip_ws(doc, i);
		if (doc->text[i] == ',')
			i++;
	}
	*pos = i + 1;
	return 0;
}

/*
 * A JSON array of strings (serde's Vec<String>), each kept in items[k].s;
 * with @f->custom, each is checked by it (a Vec of a type parsed from a string).
 */
static int de_strseq(const struct jde_doc *doc, size_t *pos, const struct jde_field *f,
		     struct jde_value *v)
{
	size_t i = *pos, end;
	const char *msg = NULL;

	if (doc->text[i] != '[')
		return invalid_type(doc, i, "a sequence");
	v->set = true;
	for (i = skip_ws(doc, i + 1); doc->text[i] != ']'; i = skip_ws(doc, i)) {
		struct jde_value *items = realloc(v->items, (v->nr_items + 1) * sizeof(*items));

		if (!items)
			return -ENOMEM;
		v->items = items;
		memset(&items[v->nr_items], 0, sizeof(*items));
		if (doc->text[i] != '"')
			return invalid_type(doc, i, "a string");
		end = skip_value(doc, i);
		items[v->nr_items].s = decode_string(doc, i, end);
		if (!items[v->nr_items].s)
			return -ENOMEM;
		if (f->custom && f->custom(items[v->nr_items].s, &items[v->nr_items].e, &msg)) {
			free(items[v->nr_items].s);
			items[v->nr_items].s = NULL;
			return jde_fail(doc, end, "%s", msg ? msg : "invalid value");
		}
		items[v->nr_items++].set = true;
		i = skip_ws(doc, end);
		if (doc->text[i] == ',')
			i++;
	}
	*pos = i + 1;
	return 0;
}

/* Decode the value at *pos for field @f; *pos moves past it. */
static int de_field(const struct jde_doc *doc, size_t *pos, const struct jde_field *f,
		    struct jde_value *v)
{
	size_t i = *pos, end = skip_value(doc, i);
	char c = doc->text[i];

	v->seen = true;
	*pos = end;
	if (c == 'n' && f->presence == JDE_OPTION)
		return 0;
	switch (f->kind) {
	case JDE_U8:
		return de_unsigned(doc, i, end, UINT8_MAX, "u8", v);
	case JDE_USIZE:
		return de_unsigned(doc, i, end, UINT64_MAX, "usize", v);
	case JDE_U16:
		return de_unsigned(doc, i, end, UINT16_MAX, "u16", v);
	case JDE_U32:
		return de_unsigned(doc, i, end, UINT32_MAX, "u32", v);
	case JDE_U64:
		return de_unsigned(doc, i, end, UINT64_MAX, "u64", v);
	case JDE_BOOL:
		if (c != 't' && c != 'f')
			return invalid_type(doc, i, "a boolean");
		v->b = c == 't';
		v->set = true;
		return 0;
	case JDE_STRING:
	case JDE_PATH:
		if (c != '"')
			return invalid_type(doc, i,
					    f->kind == JDE_PATH ? "path string" : "a string");
		v->s = decode_string(doc, i, end);
		v->set = v->s != NULL;
		return v->s ? 0 : -ENOMEM;
	case JDE_ENUM:
		return de_enum(doc, i, end, f, v);
	case JDE_CUSTOM:
		return de_custom(doc, i, end, f, v);
	case JDE_STRUCT:
		*pos = i;
		return f->untagged ? de_untagged(doc, pos, f, v) : de_sub_struct(doc, pos, f, v);
	case JDE_SEQ:
		*pos = i;
		return de_seq(doc, pos, f, v);
	case JDE_STRSEQ:
		*pos = i;
		return de_strseq(doc, pos, f, v);
	}
	return -EINVAL;
}

static const struct jde_field *find_field(const struct jde_struct *st, const char *key, size_t *idx)
{
	for (size_t i = 0; i < st->nr_fields; i++) {
		if (!strcmp(st->fields[i].name, key)) {
			*idx = i;
			return &st->fields[i];
		}
	}
	return NULL;
}

static int unknown_field(const struct jde_doc *doc, size_t at, const struct jde_struct *st,
			 const char *key)
{
	const char *names[32];
	char list[768];
	size_t nr = st->nr_fields < 32 ? st->nr_fields : 32;

	for (size_t i = 0; i < nr; i++)
		names[i] = st->fields[i].name;
	if (!nr)
		return jde_fail(doc, at, "unknown field `%s`, there are no fields", key);
	one_of(list, sizeof(list), names, nr);
	return jde_fail(doc, at, "unknown field `%s`, expected %s", key, list);
}

/* One "key": value member at *pos; *pos moves past the value. */
static int de_member(const struct jde_doc *doc, size_t *pos, const struct jde_struct *st,
		     struct jde_value *vals)
{
	size_t key_end = skip_string(doc, *pos), idx = 0;
	const struct jde_field *f;
	char *key = decode_string(doc, *pos, key_end);
	int ret;

	if (!key)
		return -ENOMEM;
	f = find_field(st, key, &idx);
	if (!f && st->ignore_unknown) {
		/* serde skips the value whatever it is (the syntax is already checked). */
		free(key);
		*pos = skip_ws(doc, skip_ws(doc, key_end) + 1);
		*pos = skip_value(doc, *pos);
		return 0;
	}
	if (!f)
		ret = unknown_field(doc, key_end, st, key);
	else if (vals[idx].seen)
		ret = jde_fail(doc, key_end, "duplicate field `%s`", key);
	else
		ret = 0;
	free(key);
	if (ret)
		return ret;
	*pos = skip_ws(doc, skip_ws(doc, key_end) + 1); /* past ':' */
	return de_field(doc, pos, f, &vals[idx]);
}

static int de_struct(const struct jde_doc *doc, size_t *pos, const struct jde_struct *st,
		     struct jde_value *vals)
{
	char exp[96];
	size_t i = *pos;
	int ret;

	if (doc->text[i] != '{') {
		snprintf(exp, sizeof(exp), "struct %s", st->name);
		return invalid_type(doc, i, exp);
	}
	for (i = skip_ws(doc, i + 1); doc->text[i] != '}'; i = skip_ws(doc, i)) {
		ret = de_member(doc, &i, st, vals);
		if (ret)
			return ret;
		i = skip_ws(doc, i);
		if (doc->text[i] == ',')
			i++;
	}
	i++; /* serde consumes the '}' before checking for missing fields */
	for (size_t f = 0; f < st->nr_fields; f++)
		if (st->fields[f].presence == JDE_REQUIRED && !vals[f].seen)
			return jde_fail(doc, i, "missing field `%s`", st->fields[f].name);
	*pos = i;
	return 0;
}

/* ---- syntax errors: jansson's diagnosis in serde_json's words ---- */

/* Length of the token jansson quotes in "... near 'tok'" (0 if none). */
static size_t near_token_len(const char *text)
{
	const char *start = strstr(text, "near '"), *end;

	if (!start)
		return 0;
	start += strlen("near '");
	end = strrchr(start, '\'');
	return end && end >= start ? (size_t)(end - start) : 0;
}

static char prev_non_ws(const struct jde_doc *doc, size_t i)
{
	while (i > 0) {
		char c = doc->text[--i];

		if (!strchr(" \t\r\n", c))
			return c;
	}
	return '\0';
}

static const char *eof_message(const struct jde_doc *doc, const char *text)
{
	/* After a comma serde_json expects the next value, not the end of the object. */
	if (prev_non_ws(doc, doc->len) == ',')
		return "EOF while parsing a value";
	if (strstr(text, "premature end of input"))
		return "EOF while parsing a string";
	if (strstr(text, "']' expected"))
		return "EOF while parsing a list";
	if (strstr(text, "expected near end of file"))
		return "EOF while parsing an object";
	return "EOF while parsing a value";
}

static const char *syntax_message(const struct jde_doc *doc, const json_error_t *e,
				  size_t tok_start)
{
	const char *t = e->text;
	char c = tok_start < doc->len ? doc->text[tok_start] : '\0';

	if (strstr(t, "unexpected newline") || strstr(t, "control character"))
		return "control character (\\u0000-\\u001F) found while parsing a string";
	if (strstr(t, "invalid escape") || strstr(t, "invalid Unicode"))
		return "invalid escape";
	if ((c == '}' || c == ']') && prev_non_ws(doc, tok_start) == ',')
		return "trailing comma";
	if (strstr(t, "string or '}' expected"))
		return "key must be a string";
	if (strstr(t, "':' expected"))
		return "expected `:`";
	if (strstr(t, "'}' expected"))
		return "expected `,` or `}`";
	if (strstr(t, "']' expected"))
		return "expected `,` or `]`";
	if (strstr(t, "invalid token") && is_number_start(c))
		return "invalid number";
	if (strstr(t, "invalid token") && strchr("tfn", c) && c)
		return "expected ident";
	return "expected value";
}

static int syntax_error(const struct jde_doc *doc, const json_error_t *e)
{
	size_t pos = e->position > 0 ? (size_t)e->position : 0, tok;

	switch (json_error_code(e)) {
	case json_error_out_of_memory:
		return -ENOMEM;
	case json_error_premature_end_of_input:
		return jde_fail(doc, pos, "%s", eof_message(doc, e->text));
	case json_error_end_of_input_expected:
		tok = pos - near_token_len(e->text);
		return jde_fail(doc, tok + 1, "trailing characters");
	case json_error_invalid_utf8:
		return jde_fail(doc, pos + 1, "invalid unicode code point");
	case json_error_numeric_overflow:
		return jde_fail(doc, pos, "number out of range");
	case json_error_stack_overflow:
		return jde_fail(doc, pos, "recursion limit exceeded");
	case json_error_null_character:
		return jde_fail(doc, pos, "\\u0000 is not allowed in a string");
	case json_error_invalid_syntax:
		if (strstr(e->text, "unexpected newline") || strstr(e->text, "invalid escape"))
			return jde_fail(doc, pos + (strstr(e->text, "newline") ? 1 : 0), "%s",
					syntax_message(doc, e, pos));
		tok = pos - near_token_len(e->text);
		return jde_fail(doc, tok + 1, "%s", syntax_message(doc, e, tok));
	default:
		return jde_fail(doc, pos, "%s", e->text);
	}
}

/* ---- entry points ---- */

int jde_parse(const char *text, size_t len, const struct jde_struct *st, struct jde_value *vals,
	      char *err, size_t errlen)
{
	struct jde_doc doc = {text, len, err, errlen};
	json_error_t e;
	json_t *root;
	size_t pos;
	int ret;

	memset(vals, 0, st->nr_fields * sizeof(*vals));
	err[0] = '\0';
	/* Integers as reals: jansson's own integers stop at 2^63-1, serde's u64 does not. */
	root = json_loadb(text, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &e);
	if (!root)
		return syntax_error(&doc, &e);
	json_decref(root);
	/* jansson stops at an embedded NUL only with JSON_DISABLE_EOF_CHECK: none here. */
	pos = skip_ws(&doc, 0);
	ret = de_struct(&doc, &pos, st, vals);
	if (ret)
		jde_free(st, vals);
	return ret;
}

int jde_check_value(const char *text, size_t len, char *err, size_t errlen)
{
	struct jde_doc doc = {text, len, err, errlen};
	json_error_t e;
	json_t *root;

	err[0] = '\0';
	/* The flags the MMDS store loads it with (devices/mmds/mmds_store.c). */
	root = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	if (!root)
		return syntax_error(&doc, &e);
	json_decref(root);
	return 0;
}

void jde_free(const struct jde_struct *st, struct jde_value *vals)
{
	for (size_t i = 0; i < st->nr_fields; i++) {
		if (vals[i].sub) {
			jde_free(st->fields[i].sub, vals[i].sub);
			free(vals[i].sub);
		}
		for (size_t k = 0; k < vals[i].nr_items; k++) {
			if (st->fields[i].kind == JDE_STRSEQ)
				free(vals[i].items[k].s);
			else
				jde_free(st->fields[i].sub,
					 &vals[i].items[k * st->fields[i].sub->nr_fields]);
		}
		free(vals[i].items);
		free(vals[i].s);
		memset(&vals[i], 0, sizeof(vals[i]));
	}
}

char *jde_take_str(struct jde_value *v)
{
	char *s = v->s;

	v->s = NULL;
	return s;
}
