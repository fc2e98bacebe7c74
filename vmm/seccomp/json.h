/* SPDX-License-Identifier: Apache-2.0 */
/* Firecracker's seccomp JSON filter format -> policies (see seccomp_json.c). */
#ifndef EMBER_SECCOMP_JSON_H
#define EMBER_SECCOMP_JSON_H

#include <stddef.h>

#include "vmm/seccomp/policy.h"

/*
 * Parse a Firecracker JSON filter file (all three thread categories required)
 * into @out[SECCOMP_NR_THREADS]. 0 or -EINVAL / -errno with @err filled.
 */
int seccomp_json_parse(const char *text, size_t len, struct seccomp_policy *out, char *err,
		       size_t errlen);
int seccomp_json_load(const char *path, struct seccomp_policy *out, char *err, size_t errlen);

#endif
