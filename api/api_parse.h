/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request bodies -> struct vmm_request. One body_parser per resource and
 * method: the field table (what serde would accept, in Firecracker's field
 * order) and a build step that turns the decoded fields into a request.
 * New endpoints add a parser here and a route in api_route.c.
 */
#ifndef EMBER_API_PARSE_H
#define EMBER_API_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/controller/controller.h"
#include "api/json_de.h"
#include "vmm/base/metrics.h"

#define DESERIALIZE_ERROR_PREFIX "An error occurred when deserializing the json body of a request: "

/* The context of one parse, and what it learned besides the request itself. */
struct parse_info {
	const char *path_id;   /* in: {id} of a /resource/{id} route, NULL if absent */
	bool deprecated;       /* answer with "Deprecation: true" */
	char deprecation[128]; /* Firecracker's deprecation warning, logged */
};

struct body_parser {
	const struct jde_struct *schema;
	/* Decoded fields -> @req (strings are taken from @v). 0 or -EINVAL + fault_message. */
	int (*build)(struct jde_value *v, struct vmm_request *req, struct parse_info *info,
		     char *err, size_t errlen);
	metric_t *count; /* every request (NULL: not counted) */
	metric_t *fails; /* requests whose body was refused (NULL: not counted) */
};

extern const struct body_parser put_machine_config_parser;
extern const struct body_parser patch_machine_config_parser;
extern const struct body_parser put_boot_source_parser;
extern const struct body_parser put_actions_parser;
extern const struct body_parser patch_vm_parser;
extern const struct body_parser put_logger_parser;
extern const struct body_parser put_metrics_parser;
extern const struct body_parser put_serial_parser;
extern const struct body_parser put_drive_parser;
extern const struct body_parser patch_drive_parser;
extern const struct body_parser put_net_parser;
extern const struct body_parser patch_net_parser;
extern const struct body_parser put_vsock_parser;
extern const struct body_parser put_entropy_parser;
extern const struct body_parser put_pmem_parser;
extern const struct body_parser patch_pmem_parser;
extern const struct body_parser put_memory_hotplug_parser;
extern const struct body_parser patch_memory_hotplug_parser;
extern const struct body_parser put_snapshot_create_parser;
extern const struct body_parser put_snapshot_load_parser;
extern const struct body_parser put_balloon_parser;
extern const struct body_parser patch_balloon_parser;
extern const struct body_parser patch_balloon_stats_parser;
extern const struct body_parser patch_balloon_hinting_start_parser;

/*
 * Parse an API request body with @p into @req (zeroed here); @path_id is the
 * {id} path segment for routes that take one, else NULL. 0, or -EINVAL with
 * the complete fault_message in @err, or -ENOMEM.
 */
int api_parse_body(const struct body_parser *p, const char *path_id, const char *body, size_t len,
		   struct vmm_request *req, struct parse_info *info, char *err, size_t errlen);

/* Build @req from already decoded fields (config file sections). */
int api_build_request(const struct body_parser *p, const char *path_id, struct jde_value *v,
		      struct vmm_request *req, struct parse_info *info, char *err, size_t errlen);

/*
 * Firecracker's check of a resource ID from the path or a body: not empty,
 * only alphanumerics (ASCII here) and '_'. 0 or -EINVAL with its message.
 */
int api_checked_id(const char *id, char *err, size_t errlen);

/*
 * A /resource/{id} body names the resource again: Firecracker refuses it when
 * the two differ. Config-file entries have no path (info->path_id NULL) and
 * pass. 0 or -EINVAL with the message.
 */
int api_body_id_matches(const struct parse_info *info, const char *body_id, char *err,
			size_t errlen);

#endif
