/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A seccomp policy as data: per thread category, the rules of the syscalls
 * it may make. The built-in allowlists (seccomp_policy.c) and the JSON
 * loader (seccomp_json.c) produce policies; seccomp.c compiles them to BPF.
 */
#ifndef EMBER_SECCOMP_POLICY_H
#define EMBER_SECCOMP_POLICY_H

#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>

#define SECCOMP_MAX_ARGS 6

enum seccomp_thread { SECCOMP_VMM, SECCOMP_API, SECCOMP_VCPU, SECCOMP_NR_THREADS };

/* "vmm", "api", "vcpu": the JSON keys. */
const char *seccomp_thread_name(enum seccomp_thread t);

/*
 * One rule: @syscall with every condition in @args true (AND). The conditions
 * end at the first entry with op 0. Several rules for one syscall are OR-ed.
 *
 * Bit i of @dword: args[i] compares the low 32 bits of the argument only
 * (Firecracker's "dword"), whatever is in its upper half, which the kernel
 * ignores for a 32-bit parameter. libseccomp compares all 64 bits, so
 * seccomp_compile() rewrites such a condition into masked comparisons.
 */
struct seccomp_rule {
	int syscall;
	struct scmp_arg_cmp args[SECCOMP_MAX_ARGS];
	uint8_t dword;
};

struct seccomp_policy {
	uint32_t default_action;    /* SCMP_ACT_*: syscalls no rule matches */
	uint32_t filter_action;	    /* SCMP_ACT_*: syscalls a rule matches */
	struct seccomp_rule *rules; /* heap */
	size_t nr_rules;
};

unsigned int seccomp_rule_nr_args(const struct seccomp_rule *r);
void seccomp_policy_free(struct seccomp_policy *p);

/* The built-in allowlist of @t (default trap, filter allow). 0 or -ENOMEM. */
int seccomp_default_policy(enum seccomp_thread t, struct seccomp_policy *out);

#endif
