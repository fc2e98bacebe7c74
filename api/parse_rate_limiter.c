// SPDX-License-Identifier: Apache-2.0
/*
 * Firecracker's RateLimiterConfig and TokenBucketConfig; refill_time is in
 * milliseconds. TokenBucketConfig lacks deny_unknown_fields: unknown keys
 * in a bucket are skipped, as serde does (a misspelt optional key such as
 * "one_time_brust" is silently ignored there, in Firecracker too).
 */
#include "api/parse_rate_limiter.h"

#include <string.h>

#include "api/api_json.h"

enum { TB_SIZE, TB_BURST, TB_REFILL, TB_NR };

static const struct jde_field token_bucket_fields[] = {
    [TB_SIZE] = JDE_FIELD("size", JDE_U64, JDE_REQUIRED),
    [TB_BURST] = JDE_FIELD("one_time_burst", JDE_U64, JDE_OPTION),
    [TB_REFILL] = JDE_FIELD("refill_time", JDE_U64, JDE_REQUIRED),
};

const struct jde_struct token_bucket_schema = {"TokenBucketConfig", token_bucket_fields, TB_NR,
					       true};

enum { RL_BANDWIDTH, RL_OPS, RL_NR };

static const struct jde_field rate_limiter_fields[] = {
    [RL_BANDWIDTH] = JDE_STRUCT_FIELD("bandwidth", JDE_OPTION, &token_bucket_schema),
    [RL_OPS] = JDE_STRUCT_FIELD("ops", JDE_OPTION, &token_bucket_schema),
};

const struct jde_struct rate_limiter_schema = {"RateLimiterConfig", rate_limiter_fields, RL_NR,
					       false};

void api_token_bucket_from(const struct jde_value *v, bool *has, struct token_bucket_config *tb)
{
	*has = v->set;
	memset(tb, 0, sizeof(*tb));
	if (!v->set)
		return;
	tb->size = v->sub[TB_SIZE].u;
	tb->one_time_burst = v->sub[TB_BURST].set ? v->sub[TB_BURST].u : 0;
	tb->refill_time_ms = v->sub[TB_REFILL].u;
}

void api_rate_limiter_from(const struct jde_value *v, bool *has, struct rate_limiter_config *out)
{
	memset(out, 0, sizeof(*out));
	*has = v->set;
	if (!v->set)
		return;
	api_token_bucket_from(&v->sub[RL_BANDWIDTH], &out->has_bandwidth, &out->bandwidth);
	api_token_bucket_from(&v->sub[RL_OPS], &out->has_ops, &out->ops);
}

static bool bucket_enabled(bool has, const struct token_bucket_config *tb)
{
	return has && tb->size && tb->refill_time_ms;
}

json_t *api_json_token_bucket(bool has, const struct token_bucket_config *tb)
{
	if (!bucket_enabled(has, tb))
		return json_null();
	return json_pack("{s:o, s:o, s:o}", "size", api_json_u64(tb->size), "one_time_burst",
			 tb->one_time_burst ? api_json_u64(tb->one_time_burst) : json_null(),
			 "refill_time", api_json_u64(tb->refill_time_ms));
}

json_t *api_json_rate_limiter(bool has, const struct rate_limiter_config *rl)
{
	if (!has || (!bucket_enabled(rl->has_bandwidth, &rl->bandwidth) &&
		     !bucket_enabled(rl->has_ops, &rl->ops)))
		return json_null();
	return json_pack("{s:o, s:o}", "bandwidth",
			 api_json_token_bucket(rl->has_bandwidth, &rl->bandwidth), "ops",
			 api_json_token_bucket(rl->has_ops, &rl->ops));
}
