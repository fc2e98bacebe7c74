/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed decoding of JSON objects with Firecracker's error texts.
 *
 * Firecracker deserializes request bodies with serde_json into Rust structs
 * and returns serde's message verbatim ("unknown field `foo`, expected one of
 * `vcpu_count`, ... at line 1 column 6"). jansson checks the syntax; this
 * module then walks the (valid) text in document order against a table of
 * fields (struct jde_struct) so the first error, its wording and its
 * line/column are the ones serde would report.
 */
#ifndef EMBER_JSON_DE_H
#define EMBER_JSON_DE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jde_kind {
	JDE_U8,	   /* Rust u8 */
	JDE_USIZE, /* Rust usize (64-bit) */
	JDE_BOOL,
	JDE_STRING, /* String: "a string" */
	JDE_PATH,   /* PathBuf: a string, "path string" in errors */
	JDE_ENUM,   /* unit variants, spelled exactly */
	JDE_CUSTOM, /* a string checked by a callback (e.g. case-insensitive) */
	JDE_STRUCT, /* nested object */
	JDE_U16,    /* Rust u16 */
	JDE_U32,    /* Rust u32 */
	JDE_U64,    /* Rust u64 */
	JDE_SEQ,    /* Vec<sub>: an array of sub objects */
	JDE_STRSEQ, /* Vec<String>: items[] hold the strings (.s) */
};

enum jde_presence {
	JDE_REQUIRED, /* plain field: must be present; null is a type error */
	JDE_DEFAULT,  /* #[serde(default)]: may be absent; null is a type error */
	JDE_OPTION,   /* Option<T>: may be absent or null */
};

struct jde_struct;

struct jde_field {
	const char *name;
	enum jde_kind kind;
	enum jde_presence presence;
	const char *const *variants;  /* JDE_ENUM: NULL-terminated, declaration order */
	const struct jde_struct *sub; /* JDE_STRUCT */
	/*
	 * JDE_CUSTOM (and each JDE_STRSEQ item, when set): 0 with *out set, or
	 * -EINVAL with *msg set to serde's custom error.
	 */
	int (*custom)(const char *s, int *out, const char **msg);
	/*
	 * JDE_STRUCT: the Rust type is #[serde(untagged)] enum <untagged> { Path(PathBuf),
	 * <struct> }: a string is taken as the path (in .s); anything else that is not the
	 * struct is serde's "data did not match any variant of untagged enum <untagged>".
	 */
	const char *untagged;
};

/* Table entries: JDE_FIELD("smt", JDE_BOOL, JDE_DEFAULT), ... */
#define JDE_FIELD(n, k, p)                                                                         \
	{                                                                                          \
		.name = (n), .kind = (k), .presence = (p)                                          \
	}
#define JDE_ENUM_FIELD(n, p, v)                                                                    \
	{                                                                                          \
		.name = (n), .kind = JDE_ENUM, .presence = (p), .variants = (v)                    \
	}
#define JDE_CUSTOM_FIELD(n, p, fn)                                                                 \
	{                                                                                          \
		.name = (n), .kind = JDE_CUSTOM, .presence = (p), .custom = (fn)                   \
	}
#define JDE_STRUCT_FIELD(n, p, st)                                                                 \
	{                                                                                          \
		.name = (n), .kind = JDE_STRUCT, .presence = (p), .sub = (st)                      \
	}
#define JDE_SEQ_FIELD(n, p, st)                                                                    \
	{                                                                                          \
		.name = (n), .kind = JDE_SEQ, .presence = (p), .sub = (st)                         \
	}

struct jde_struct {
	const char *name; /* Rust type name: "expected struct <name>" */
	const struct jde_field *fields;
	size_t nr_fields;
	/* The Rust type lacks #[serde(deny_unknown_fields)]: unknown keys are skipped. */
	bool ignore_unknown;
};

/* One decoded field; an array of nr_fields of these per struct. */
struct jde_value {
	bool seen;	       /* the key was present (maybe with null) */
	bool set;	       /* present and not null */
	uint64_t u;	       /* JDE_U8, JDE_U16, JDE_U32, JDE_U64, JDE_USIZE */
	bool b;		       /* JDE_BOOL */
	int e;		       /* JDE_ENUM: variant index; JDE_CUSTOM: callback's value */
	char *s;	       /* JDE_STRING, JDE_PATH, JDE_CUSTOM: owned, NUL-terminated */
	struct jde_value *sub; /* JDE_STRUCT: owned array of sub->nr_fields */
	/* JDE_SEQ: nr_items elements, each sub->nr_fields values, one after the other. */
	struct jde_value *items;
	size_t nr_items;
};

/*
 * Decode @text (a whole JSON document, @len bytes) as one @st object into
 * @vals (st->nr_fields entries, zeroed here). 0, -EINVAL with serde's message
 * (including " at line L column C") in @err, or -ENOMEM.
 */
int jde_parse(const char *text, size_t len, const struct jde_struct *st, struct jde_value *vals,
	      char *err, size_t errlen);

/*
 * Check that @text (@len bytes) is one JSON value of any type, as serde_json
 * parses a serde_json::Value: 0, or -EINVAL with serde's syntax message
 * (" at line L column C") in @err, or -ENOMEM.
 */
int jde_check_value(const char *text, size_t len, char *err, size_t errlen);

/* Free what jde_parse() allocated in @vals (safe on zeroed values). */
void jde_free(const struct jde_struct *st, struct jde_value *vals);

/* Take ownership of a decoded string (NULL when unset). */
char *jde_take_str(struct jde_value *v);

#endif
