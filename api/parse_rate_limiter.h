/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "rate_limiter" object shared by drives, network interfaces and the
 * entropy device: Firecracker's RateLimiterConfig {bandwidth, ops}, each an
 * optional TokenBucketConfig {size, one_time_burst, refill_time}. Parsed into
 * struct rate_limiter_config (vmm_config.h) and written back for GET.
 */
#ifndef EMBER_PARSE_RATE_LIMITER_H
#define EMBER_PARSE_RATE_LIMITER_H

#include <jansson.h>
#include <stdbool.h>

#include "api/json_de.h"
#include "vmm/config/vmm_config.h"

/* For JDE_STRUCT_FIELD("rate_limiter", JDE_OPTION, &rate_limiter_schema). */
extern const struct jde_struct rate_limiter_schema;

/* One TokenBucketConfig, e.g. PUT /serial's "rate_limiter". */
extern const struct jde_struct token_bucket_schema;

/* A decoded bucket field -> *@has and @tb (absent or null: *@has false, @tb zeroed). */
void api_token_bucket_from(const struct jde_value *v, bool *has, struct token_bucket_config *tb);

/* A decoded rate_limiter field -> *@has and @out (absent or null: *@has false). */
void api_rate_limiter_from(const struct jde_value *v, bool *has, struct rate_limiter_config *out);

/*
 * The GET form, as Firecracker derives it from the live limiter: a bucket
 * with size or refill_time 0 is disabled and shows as null, a one_time_burst
 * of 0 as null, and a limiter without an enabled bucket as null. New
 * reference (json_null() when unset), NULL on ENOMEM.
 */
json_t *api_json_rate_limiter(bool has, const struct rate_limiter_config *rl);
/* One bucket in that form: null when absent or disabled. */
json_t *api_json_token_bucket(bool has, const struct token_bucket_config *tb);

#endif
