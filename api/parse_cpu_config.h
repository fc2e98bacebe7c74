/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PUT /cpu-config and the config file's "cpu-config": Firecracker's
 * CustomCpuTemplate (x86_64) with serde's and Firecracker's error texts.
 * The string forms are exposed for unit tests; each returns 0, or -EINVAL
 * with Firecracker's message in @msg.
 */
#ifndef EMBER_PARSE_CPU_CONFIG_H
#define EMBER_PARSE_CPU_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "api/api_parse.h"

extern const struct body_parser put_cpu_config_parser;

/*
 * A bitmap of @bits (32 or 64) bits: an optional "0b", then up to @bits of
 * 0, 1 or x (most significant first, missing high bits are x), '_' ignored.
 */
int cpu_config_parse_bitmap(const char *s, unsigned int bits, uint64_t *filter, uint64_t *value,
			    char *msg, size_t len);
/* A leaf, subleaf or MSR address: "0x" + hex or "0b" + binary. */
int cpu_config_parse_u32(const char *s, uint32_t *out, char *msg, size_t len);
/* A KVM capability: decimal "n" (required) or "!n" (not required). */
int cpu_config_parse_kvm_cap(const char *s, uint32_t *cap, int *remove, char *msg, size_t len);

#endif
