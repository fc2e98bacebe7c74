// SPDX-License-Identifier: Apache-2.0
/*
 * Policy -> BPF with libseccomp. Used at build time, by the generator of the
 * built-in filters (gen_filters.c), and at run time only for a
 * --seccomp-filter JSON file: the default filters ember installs were
 * compiled by this same code when ember was built (seccomp.c).
 */
#include "vmm/seccomp/seccomp_filters.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void seccomp_program_free(struct seccomp_program *p)
{
	if (p->allocated)
		free((void *)p->insns);
	p->insns = NULL;
	p->len = 0;
	p->allocated = false;
}

/* ---- policy -> BPF ----------------------------------------------------------- */

static int compile_error(char *err, size_t errlen, int ret, const char *what, int syscall_nr)
{
	char *name =
	    syscall_nr >= 0 ? seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, syscall_nr) : NULL;

	if (name)
		snprintf(err, errlen, "%s (%s): %s", what, name, strerror(-ret));
	else
		snprintf(err, errlen, "%s: %s", what, strerror(-ret));
	free(name);
	return ret;
}

/* libseccomp writes BPF only to a file descriptor: read it back from a memfd. */
static int export_program(scmp_filter_ctx ctx, struct seccomp_program *out, char *err,
			  size_t errlen)
{
	int fd = memfd_create("ember-seccomp-bpf", MFD_CLOEXEC);
	struct sock_filter *insns;
	off_t size;
	int ret;

	if (fd < 0)
		return compile_error(err, errlen, -errno, "memfd_create", -1);
	ret = seccomp_export_bpf(ctx, fd);
	if (ret) {
		compile_error(err, errlen, ret, "libseccomp cannot generate the BPF", -1);
		goto out;
	}
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % sizeof(struct sock_filter)) {
		ret = compile_error(err, errlen, -EINVAL, "libseccomp generated no BPF", -1);
		goto out;
	}
	if (size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		snprintf(err, errlen, "the filter needs %lld BPF instructions, the kernel takes %d",
			 (long long)(size / sizeof(struct sock_filter)), BPF_MAXINSNS);
		ret = -E2BIG;
		goto out;
	}
	insns = malloc(size);
	if (!insns) {
		ret = compile_error(err, errlen, -ENOMEM, "BPF", -1);
		goto out;
	}
	if (pread(fd, insns, size, 0) != size) {
		ret = compile_error(err, errlen, -EIO, "reading the BPF back", -1);
		free(insns);
		goto out;
	}
	out->insns = insns;
	out->len = (unsigned short)(size / sizeof(struct sock_filter));
	out->allocated = true;
out:
	close(fd);
	return ret;
}

/* ---- dword conditions ------------------------------------------------------------ */

/*
 * Firecracker's seccompiler emits a "dword" condition as one 32-bit load of
 * the argument's low word and one compare: the upper half is never looked at.
 * libseccomp has no 32-bit compare (it checks both halves of a 64-bit
 * argument), so such a condition becomes alternatives (OR), each a masked
 * compare whose mask and value lie in the low word:
 *
 *   x > v    the highest bit in which x differs from v is a 0 bit i of v:
 *            bits 31..i+1 as in v, bit i set (one alternative per 0 bit of v)
 *   x < v    the same for each 1 bit i of v, bit i clear
 *   x != v   some bit differs (one alternative per bit)
 *   x >= v   x > v - 1, true for any x when v is 0; x <= v   x < v + 1
 *   x == v   (x & 0xffffffff) == v
 *
 * A rule with several such conditions becomes one rule per combination of
 * their alternatives, at most DWORD_MAX_RULES (BPF size).
 */
#define DWORD_MASK	0xffffffffULL
#define DWORD_MAX_RULES 1024

struct dword_alts {
	bool always;	/* true for any argument: the condition is dropped */
	unsigned int n; /* alternatives; 0 (and not always): true for none */
	struct scmp_arg_cmp c[32];
};

static void alt_add(struct dword_alts *a, unsigned int arg, uint64_t mask, uint64_t value)
{
	a->c[a->n++] = (struct scmp_arg_cmp){
	    .arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask, .datum_b = value};
}

/* low word > @v (or < @v when @less), @v <= DWORD_MASK. */
static void dword_order(struct dword_alts *a, unsigned int arg, uint64_t v, bool less)
{
	for (unsigned int i = 0; i < 32; i++) {
		uint64_t bit = 1ULL << i, from_i = DWORD_MASK & ~(bit - 1);

		if (((v & bit) != 0) != less)
			continue;
		alt_add(a, arg, from_i, less ? (v & from_i) & ~bit : (v & from_i) | bit);
	}
}

static void dword_alternatives(const struct scmp_arg_cmp *c, struct dword_alts *a)
{
	uint64_t v = c->datum_a;

	a->always = false;
	a->n = 0;
	switch (c->op) {
	case SCMP_CMP_EQ:
		if (v <= DWORD_MASK)
			alt_add(a, c->arg, DWORD_MASK, v);
		break;
	case SCMP_CMP_MASKED_EQ:
		alt_add(a, c->arg, c->datum_a & DWORD_MASK, c->datum_b);
		break;
	case SCMP_CMP_NE:
		a->always = v > DWORD_MASK;
		for (unsigned int i = 0; i < 32 && !a->always; i++)
			alt_add(a, c->arg, 1ULL << i, ~v & (1ULL << i));
		break;
	case SCMP_CMP_GT:
		if (v < DWORD_MASK)
			dword_order(a, c->arg, v, false);
		break;
	case SCMP_CMP_GE:
		a->always = v == 0;
		if (v && v <= DWORD_MASK)
			dword_order(a, c->arg, v - 1, false);
		break;
	case SCMP_CMP_LT:
		a->always = v > DWORD_MASK;
		if (v <= DWORD_MASK)
			dword_order(a, c->arg, v, true);
		break;
	case SCMP_CMP_LE:
		a->always = v >= DWORD_MASK;
		if (v < DWORD_MASK)
			dword_order(a, c->arg, v + 1, true);
		break;
	default: /* not a comparison: libseccomp refuses it below */
		a->c[a->n++] = *c;
		break;
	}
}

/* @r into @ctx, its dword conditions on the low word only. */
static int add_rule(scmp_filter_ctx ctx, uint32_t action, const struct seccomp_rule *r, char *err,
		    size_t errlen)
{
	struct dword_alts alts[SECCOMP_MAX_ARGS];
	struct scmp_arg_cmp cmp[SECCOMP_MAX_ARGS];
	unsigned int nargs = seccomp_rule_nr_args(r), kept[SECCOMP_MAX_ARGS];
	unsigned int idx[SECCOMP_MAX_ARGS] = {0}, k = 0, j;
	size_t total = 1;
	int ret;

	if (!r->dword) {
		ret = seccomp_rule_add_exact_array(ctx, action, r->syscall, nargs, r->args);
		return ret ? compile_error(err, errlen, ret, "libseccomp rejects a rule",
					   r->syscall)
			   : 0;
	}
	for (unsigned int i = 0; i < nargs; i++) {
		if (r->dword & (1u << i)) {
			dword_alternatives(&r->args[i], &alts[i]);
		} else {
			alts[i].always = false;
			alts[i].n = 1;
			alts[i].c[0] = r->args[i];
		}
		if (alts[i].always)
			continue;
		if (!alts[i].n)
			return 0; /* no argument matches: the rule allows nothing */
		kept[k++] = i;
		total *= alts[i].n;
		if (total > DWORD_MAX_RULES) {
			char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, r->syscall);

			snprintf(err, errlen,
				 "a rule for %s: its dword comparisons need more than %d "
				 "rules; split it",
				 name ? name : "?", DWORD_MAX_RULES);
			free(name);
			return -E2BIG;
		}
	}
	/* Every combination of the alternatives: an odometer over the kept conditions. */
	for (;;) {
		for (j = 0; j < k; j++)
			cmp[j] = alts[kept[j]].c[idx[j]];
		ret = seccomp_rule_add_exact_array(ctx, action, r->syscall, k, cmp);
		if (ret)
			return compile_error(err, errlen, ret, "libseccomp rejects a rule",
					     r->syscall);
		for (j = 0; j < k && ++idx[j] == alts[kept[j]].n; j++)
			idx[j] = 0;
		if (j == k)
			return 0;
	}
}

int seccomp_compile(const struct seccomp_policy *p, struct seccomp_program *out, char *err,
		    size_t errlen)
{
	scmp_filter_ctx ctx;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	/* libseccomp's answer would be a bare EACCES. */
	if (p->nr_rules && p->filter_action == p->default_action) {
		snprintf(err, errlen,
			 "filter_action and default_action are the same action, "
			 "the rules would change nothing");
		return -EINVAL;
	}
	ctx = seccomp_init(p->default_action);
	if (!ctx) {
		snprintf(err, errlen, "libseccomp rejects the default action %#x",
			 p->default_action);
		return -EINVAL;
	}
	/* Another ABI (int 0x80, x32) from this 64-bit process is never legitimate. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (ret) {
		compile_error(err, errlen, ret, "setting the bad-architecture action", -1);
		goto out;
	}
	/* A binary search over syscall numbers rather than a linear scan (best effort). */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; i < p->nr_rules; i++) {
		ret = add_rule(ctx, p->filter_action, &p->rules[i], err, errlen);
		if (ret)
			goto out;
	}
	ret = export_program(ctx, out, err, errlen);
out:
	seccomp_release(ctx);
	return ret;
}
