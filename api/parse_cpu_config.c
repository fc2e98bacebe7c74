// SPDX-License-Identifier: Apache-2.0
/*
 * PUT /cpu-config: Firecracker's CustomCpuTemplate. serde rules: only the
 * template itself denies unknown keys (its leaf, register and MSR entries
 * skip them); kvm_capabilities, cpuid_modifiers and msr_modifiers default to
 * empty; every entry field is required. Numbers are strings ("0x1f",
 * "0b101"), bitmaps "0b" + 0/1/x per bit. Nothing here touches the VM: the
 * controller takes the template (pre-boot only) and vmm/kvm applies it.
 */
#include "api/parse_cpu_config.h"
#include "vmm/config/cpu_template.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* serde's custom error text for the field being decoded (json_de wants a const char *). */
static _Thread_local char custom_msg[512];

/* Rust's ParseIntError kinds, as from_str_radix() reports them. */
enum int_error { INT_OK, INT_EMPTY, INT_INVALID_DIGIT, INT_POS_OVERFLOW };

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

/* Rust's u32/u64::from_str_radix(): a leading '+' is allowed, digits checked in order. */
static enum int_error from_str_radix(const char *s, unsigned int radix, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return INT_EMPTY;
	if (s[0] == '+' || s[0] == '-') {
		if (!s[1])
			return INT_INVALID_DIGIT;
		if (s[0] == '+')
			s++;
	}
	for (; *s; s++) {
		unsigned int d = (unsigned int)digit_value(*s);

		if (d >= radix)
			return INT_INVALID_DIGIT;
		if (v > (max - d) / radix)
			return INT_POS_OVERFLOW;
		v = v * radix + d;
	}
	*out = v;
	return INT_OK;
}

static const char *int_error_debug(enum int_error e)
{
	switch (e) {
	case INT_EMPTY:
		return "ParseIntError { kind: Empty }";
	case INT_INVALID_DIGIT:
		return "ParseIntError { kind: InvalidDigit }";
	default:
		return "ParseIntError { kind: PosOverflow }";
	}
}

static const char *int_error_display(enum int_error e)
{
	switch (e) {
	case INT_EMPTY:
		return "cannot parse integer from empty string";
	case INT_INVALID_DIGIT:
		return "invalid digit found in string";
	default:
		return "number too large to fit in target type";
	}
}

int cpu_config_parse_u32(const char *s, uint32_t *out, char *msg, size_t len)
{
	enum int_error e;
	uint64_t v = 0;

	if (!strncmp(s, "0b", 2)) {
		e = from_str_radix(s + 2, 2, UINT32_MAX, &v);
	} else if (!strncmp(s, "0x", 2)) {
		e = from_str_radix(s + 2, 16, UINT32_MAX, &v);
	} else {
		snprintf(msg, len,
			 "No supported number system prefix found in value [%s]. Make sure to "
			 "prefix the number with '0x' for hexadecimal numbers or '0b' for binary "
			 "numbers.",
			 s);
		return -EINVAL;
	}
	if (e != INT_OK) {
		snprintf(msg, len, "Failed to parse string [%s] as a number for CPU template - %s",
			 s, int_error_debug(e));
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

int cpu_config_parse_bitmap(const char *s, unsigned int bits, uint64_t *filter, uint64_t *value,
			    char *msg, size_t len)
{
	const char *digits = strncmp(s, "0b", 2) ? s : s + 2;
	uint64_t f = 0, v = 0;
	unsigned int i = 0;

	/* From the least significant end, as Firecracker does: "too long" wins over a bad char. */
	for (size_t k = strlen(digits); k-- > 0;) {
		unsigned char c = (unsigned char)digits[k];

		if (i == bits) {
			snprintf(msg, len,
				 "Failed to parse string [%s] as a bitmap - string is too long", s);
			return -EINVAL;
		}
		if (c == '_')
			continue;
		if (c != 'x' && c != '0' && c != '1') {
			/* Rust prints the byte (a u8) as a number. */
			snprintf(msg, len,
				 "Failed to parse string [%s] as a bitmap - unknown character: %u",
				 s, c);
			return -EINVAL;
		}
		if (c != 'x')
			f |= 1ULL << i;
		if (c == '1')
			v |= 1ULL << i;
		i++;
	}
	*filter = f;
	*value = v;
	return 0;
}

int cpu_config_parse_kvm_cap(const char *s, uint32_t *cap, int *remove, char *msg, size_t len)
{
	const char *num = s[0] == '!' ? s + 1 : s;
	uint64_t v = 0;
	enum int_error e = from_str_radix(num, 10, UINT32_MAX, &v);

	if (e != INT_OK) {
		snprintf(msg, len,
			 "Failed to parse string [%s] as a kvm capability - can not convert to "
			 "numeric: %s",
			 s, int_error_display(e));
		return -EINVAL;
	}
	*cap = (uint32_t)v;
	*remove = s[0] == '!';
	return 0;
}

/* ---- json_de callbacks: validate in place, the builder re-reads the string ---- */

static int check_u32(const char *s, int *out, const char **msg)
{
	uint32_t v;

	if (cpu_config_parse_u32(s, &v, custom_msg, sizeof(custom_msg))) {
		*msg = custom_msg;
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

static int check_bitmap(const char *s, unsigned int bits, const char **msg)
{
	uint64_t f, v;

	if (cpu_config_parse_bitmap(s, bits, &f, &v, custom_msg, sizeof(custom_msg))) {
		*msg = custom_msg;
		return -EINVAL;
	}
	return 0;
}

static int check_bitmap32(const char *s, int *out, const char **msg)
{
	*out = 0;
	return check_bitmap(s, 32, msg);
}

static int check_bitmap64(const char *s, int *out, const char **msg)
{
	*out = 0;
	return check_bitmap(s, 64, msg);
}

static int check_kvm_cap(const char *s, int *out, const char **msg)
{
	uint32_t cap;

	if (cpu_config_parse_kvm_cap(s, &cap, out, custom_msg, sizeof(custom_msg))) {
		*msg = custom_msg;
		return -EINVAL;
	}
	return 0;
}

static int check_register(const char *s, int *out, const char **msg)
{
	static const char *const names[] = {"eax", "ebx", "ecx", "edx"};

	for (int i = 0; i < 4; i++) {
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	}
	*msg = "Invalid CPUID register. Must be one of [eax, ebx, ecx, edx]";
	return -EINVAL;
}

/* ---- schema ---- */

enum { REG_REGISTER, REG_BITMAP, REG_NR };
enum { LEAF_LEAF, LEAF_SUBLEAF, LEAF_FLAGS, LEAF_MODIFIERS, LEAF_NR };
enum { MSR_ADDR, MSR_BITMAP, MSR_NR };
enum { TPL_KVM_CAPS, TPL_CPUID, TPL_MSRS, TPL_NR };

static const struct jde_field reg_fields[] = {
    [REG_REGISTER] = JDE_CUSTOM_FIELD("register", JDE_REQUIRED, check_register),
    [REG_BITMAP] = JDE_CUSTOM_FIELD("bitmap", JDE_REQUIRED, check_bitmap32),
};
static const struct jde_struct reg_schema = {"CpuidRegisterModifier", reg_fields, REG_NR, true};

static const struct jde_field leaf_fields[] = {
    [LEAF_LEAF] = JDE_CUSTOM_FIELD("leaf", JDE_REQUIRED, check_u32),
    [LEAF_SUBLEAF] = JDE_CUSTOM_FIELD("subleaf", JDE_REQUIRED, check_u32),
    [LEAF_FLAGS] = JDE_FIELD("flags", JDE_U32, JDE_REQUIRED),
    [LEAF_MODIFIERS] = JDE_SEQ_FIELD("modifiers", JDE_REQUIRED, &reg_schema),
};
static const struct jde_struct leaf_schema = {"CpuidLeafModifier", leaf_fields, LEAF_NR, true};

static const struct jde_field msr_fields[] = {
    [MSR_ADDR] = JDE_CUSTOM_FIELD("addr", JDE_REQUIRED, check_u32),
    [MSR_BITMAP] = JDE_CUSTOM_FIELD("bitmap", JDE_REQUIRED, check_bitmap64),
};
static const struct jde_struct msr_schema = {"RegisterModifier", msr_fields, MSR_NR, true};

static const struct jde_field template_fields[] = {
    [TPL_KVM_CAPS] = {.name = "kvm_capabilities",
		      .kind = JDE_STRSEQ,
		      .presence = JDE_DEFAULT,
		      .custom = check_kvm_cap},
    [TPL_CPUID] = JDE_SEQ_FIELD("cpuid_modifiers", JDE_DEFAULT, &leaf_schema),
    [TPL_MSRS] = JDE_SEQ_FIELD("msr_modifiers", JDE_DEFAULT, &msr_schema),
};
static const struct jde_struct template_schema = {"CustomCpuTemplate", template_fields, TPL_NR,
						  false};

/* ---- decoded fields -> struct cpu_template (every string was checked above) ---- */

static uint32_t reread_u32(const struct jde_value *v)
{
	uint32_t out = 0;
	char msg[8];

	cpu_config_parse_u32(v->s, &out, msg, sizeof(msg));
	return out;
}

static void reread_bitmap(const struct jde_value *v, unsigned int bits, uint64_t *f, uint64_t *val)
{
	char msg[8];

	*f = *val = 0;
	cpu_config_parse_bitmap(v->s, bits, f, val, msg, sizeof(msg));
}

static int build_leaf(struct jde_value *v, struct cpuid_leaf_modifier *leaf)
{
	struct jde_value *mods = &v[LEAF_MODIFIERS];
	struct cpuid_reg_modifier *regs =
	    calloc(mods->nr_items ? mods->nr_items : 1, sizeof(*regs));

	if (!regs)
		return -ENOMEM;
	leaf->leaf = reread_u32(&v[LEAF_LEAF]);
	leaf->subleaf = reread_u32(&v[LEAF_SUBLEAF]);
	leaf->flags = (uint32_t)v[LEAF_FLAGS].u;
	for (size_t k = 0; k < mods->nr_items; k++) {
		struct jde_value *r = &mods->items[k * REG_NR];
		uint64_t f, val;

		regs[k].reg = (enum cpuid_register)r[REG_REGISTER].e;
		reread_bitmap(&r[REG_BITMAP], 32, &f, &val);
		regs[k].filter = (uint32_t)f;
		regs[k].value = (uint32_t)val;
	}
	leaf->mods = regs;
	leaf->nr_mods = mods->nr_items;
	return 0;
}

static int build_template(struct jde_value *v, struct cpu_template *t)
{
	struct jde_value *caps = &v[TPL_KVM_CAPS], *leaves = &v[TPL_CPUID], *msrs = &v[TPL_MSRS];
	struct kvm_cap_modifier *kc = calloc(caps->nr_items + 1, sizeof(*kc));
	struct cpuid_leaf_modifier *lm = calloc(leaves->nr_items + 1, sizeof(*lm));
	struct msr_modifier *mm = calloc(msrs->nr_items + 1, sizeof(*mm));

	/* Owned by @t from here: cpu_template_free() releases whatever was built. */
	t->kvm_caps = kc;
	t->cpuid = lm;
	t->msrs = mm;
	if (!kc || !lm || !mm)
		return -ENOMEM;
	for (size_t k = 0; k < caps->nr_items; k++) {
		int remove = 0;
		char msg[8];

		cpu_config_parse_kvm_cap(caps->items[k].s, &kc[k].cap, &remove, msg, sizeof(msg));
		kc[k].remove = remove;
	}
	t->nr_kvm_caps = caps->nr_items;
	for (size_t k = 0; k < leaves->nr_items; k++) {
		if (build_leaf(&leaves->items[k * LEAF_NR], &lm[k]))
			return -ENOMEM;
		t->nr_cpuid = k + 1;
	}
	for (size_t k = 0; k < msrs->nr_items; k++) {
		struct jde_value *m = &msrs->items[k * MSR_NR];

		mm[k].addr = reread_u32(&m[MSR_ADDR]);
		reread_bitmap(&m[MSR_BITMAP], 64, &mm[k].filter, &mm[k].value);
	}
	t->nr_msrs = msrs->nr_items;
	return 0;
}

static int build_put(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
		     char *err, size_t errlen)
{
	struct cpu_template *t = calloc(1, sizeof(*t));

	(void)info;
	(void)err;
	(void)errlen;
	if (!t)
		return -ENOMEM;
	if (build_template(v, t)) {
		cpu_template_free(t);
		return -ENOMEM;
	}
	req->type = REQ_PUT_CPU_CONFIG;
	req->u.cpu_config = t;
	return 0;
}

const struct body_parser put_cpu_config_parser = {
    &template_schema,
    build_put,
    &g_metrics.put_api_requests.cpu_cfg_count,
    &g_metrics.put_api_requests.cpu_cfg_fails,
};
