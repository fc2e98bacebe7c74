// SPDX-License-Identifier: Apache-2.0
/*
 * PUT /logger and PUT /metrics: where Ember's human-readable log and its
 * metrics lines go. Like Firecracker's Logger::update, a PUT /logger without
 * `level` sets the default (Info) and one without show_level/show_log_origin
 * keeps those as they are, and one without `module` the module filter.
 */
#include "api/api_parse.h"

#include <errno.h>

#include "vmm/base/log.h"

enum { LOG_F_PATH, LOG_F_LEVEL, LOG_F_SHOW_LEVEL, LOG_F_SHOW_ORIGIN, LOG_F_MODULE, LOG_F_NR };

/* Firecracker's LevelFilter: case-insensitive, "Warn" and "Warning" alike. */
static int parse_level(const char *s, int *out, const char **msg)
{
	enum log_level level;

	if (log_level_parse(s, &level)) {
		*msg = "Invalid LevelFilter";
		return -EINVAL;
	}
	*out = (int)level;
	return 0;
}

static const struct jde_field logger_fields[] = {
    [LOG_F_PATH] = JDE_FIELD("log_path", JDE_PATH, JDE_OPTION),
    [LOG_F_LEVEL] = JDE_CUSTOM_FIELD("level", JDE_OPTION, parse_level),
    [LOG_F_SHOW_LEVEL] = JDE_FIELD("show_level", JDE_BOOL, JDE_OPTION),
    [LOG_F_SHOW_ORIGIN] = JDE_FIELD("show_log_origin", JDE_BOOL, JDE_OPTION),
    [LOG_F_MODULE] = JDE_FIELD("module", JDE_STRING, JDE_OPTION),
};

static const struct jde_struct logger_schema = {"LoggerConfig", logger_fields, LOG_F_NR, false};

static int build_logger(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
			char *err, size_t errlen)
{
	struct logger_config *lc = &req->u.logger;

	(void)info;
	(void)err;
	(void)errlen;
	req->type = REQ_PUT_LOGGER;
	lc->log_path = jde_take_str(&v[LOG_F_PATH]);
	lc->level = v[LOG_F_LEVEL].set ? (enum log_level)v[LOG_F_LEVEL].e : LOG_INFO;
	lc->has_show_level = v[LOG_F_SHOW_LEVEL].set;
	lc->show_level = v[LOG_F_SHOW_LEVEL].b;
	lc->has_show_log_origin = v[LOG_F_SHOW_ORIGIN].set;
	lc->show_log_origin = v[LOG_F_SHOW_ORIGIN].b;
	lc->module = jde_take_str(&v[LOG_F_MODULE]);
	return 0;
}

const struct body_parser put_logger_parser = {
    &logger_schema,
    build_logger,
    &g_metrics.put_api_requests.logger_count,
    &g_metrics.put_api_requests.logger_fails,
};

static const struct jde_field metrics_fields[] = {
    JDE_FIELD("metrics_path", JDE_PATH, JDE_REQUIRED),
};

/* MetricsConfig lacks deny_unknown_fields: other keys are skipped. */
static const struct jde_struct metrics_schema = {"MetricsConfig", metrics_fields, 1, true};

static int build_metrics(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
			 char *err, size_t errlen)
{
	(void)info;
	(void)err;
	(void)errlen;
	req->type = REQ_PUT_METRICS;
	req->u.metrics.metrics_path = jde_take_str(&v[0]);
	return 0;
}

const struct body_parser put_metrics_parser = {
    &metrics_schema,
    build_metrics,
    &g_metrics.put_api_requests.metrics_count,
    &g_metrics.put_api_requests.metrics_fails,
};
