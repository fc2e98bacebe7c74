// SPDX-License-Identifier: Apache-2.0
#include "api/config_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_parse.h"
#include "vmm/base/log.h"

/*
 * The sections in the order they are applied (Firecracker's
 * VmResources::from_json; "serial" is Ember's). A list section is a JSON
 * array whose entries each become one request, in array order.
 */
static const struct {
	const char *key;
	const struct body_parser *parser;
	enum jde_presence presence;
	bool list;
} sections[] = {
    {"logger", &put_logger_parser, JDE_OPTION, false},
    {"metrics", &put_metrics_parser, JDE_OPTION, false},
    {"machine-config", &put_machine_config_parser, JDE_OPTION, false},
    {"boot-source", &put_boot_source_parser, JDE_REQUIRED, false},
    {"serial", &put_serial_parser, JDE_OPTION, false},
    {"drives", &put_drive_parser, JDE_DEFAULT, true},
    {"network-interfaces", &put_net_parser, JDE_DEFAULT, true},
    {"vsock", &put_vsock_parser, JDE_OPTION, false},
    {"entropy", &put_entropy_parser, JDE_OPTION, false},
};

#define NR_SECTIONS (sizeof(sections) / sizeof(sections[0]))

/* Field order of the error messages: the keys as GET /vm/config writes them. */
static const unsigned int key_order[NR_SECTIONS] = {5, 3, 0, 2, 1, 6, 7, 8, 4};

static void free_requests(struct vmm_request *reqs, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		vmm_request_free(&reqs[i]);
	free(reqs);
}

/* How many requests the decoded sections make. */
static size_t count_requests(const struct jde_value *vals)
{
	size_t n = 0;

	for (size_t s = 0; s < NR_SECTIONS; s++)
		n += sections[s].list ? vals[s].nr_items : vals[s].set;
	return n;
}

/* One request from the decoded fields @v of section @s, appended to @reqs. */
static int build_one(size_t s, struct jde_value *v, struct vmm_request *reqs, size_t *n, char *err,
		     size_t errlen)
{
	struct parse_info info;
	int ret = api_build_request(sections[s].parser, NULL, v, &reqs[*n], &info, err, errlen);

	if (ret)
		return ret;
	if (info.deprecated)
		log_warn("%s", info.deprecation);
	(*n)++;
	return 0;
}

static int build_requests(struct jde_value *vals, struct vmm_request **out, size_t *nr, char *err,
			  size_t errlen)
{
	size_t total = count_requests(vals), n = 0;
	struct vmm_request *reqs = calloc(total ? total : 1, sizeof(*reqs));
	int ret = 0;

	if (!reqs)
		return -ENOMEM;
	for (size_t s = 0; s < NR_SECTIONS && !ret; s++) {
		struct jde_value *v = &vals[s];
		size_t nf = sections[s].parser->schema->nr_fields;

		if (!sections[s].list && v->set)
			ret = build_one(s, v->sub, reqs, &n, err, errlen);
		for (size_t k = 0; sections[s].list && k < v->nr_items && !ret; k++)
			ret = build_one(s, &v->items[k * nf], reqs, &n, err, errlen);
	}
	if (ret) {
		free_requests(reqs, n);
		return ret;
	}
	*out = reqs;
	*nr = n;
	return 0;
}

int config_file_parse(const char *json_text, struct vmm_request **reqs, size_t *nr, char *err,
		      size_t errlen)
{
	struct jde_field fields[NR_SECTIONS];
	struct jde_value by_key[NR_SECTIONS], vals[NR_SECTIONS];
	struct jde_struct schema = {"VmmConfig", fields, NR_SECTIONS, false};
	char msg[FAULT_MESSAGE_MAX];
	int ret;

	*reqs = NULL;
	*nr = 0;
	for (size_t k = 0; k < NR_SECTIONS; k++) {
		unsigned int s = key_order[k];

		fields[k] = (struct jde_field)JDE_STRUCT_FIELD(
		    sections[s].key, sections[s].presence, sections[s].parser->schema);
		if (sections[s].list)
			fields[k].kind = JDE_SEQ;
	}
	ret = jde_parse(json_text, strlen(json_text), &schema, by_key, msg, sizeof(msg));
	if (ret == -EINVAL)
		snprintf(err, errlen, "Invalid JSON: %s", msg);
	else if (ret)
		snprintf(err, errlen, "%s", strerror(-ret));
	if (ret)
		return ret;
	for (size_t k = 0; k < NR_SECTIONS; k++)
		vals[key_order[k]] = by_key[k];
	ret = build_requests(vals, reqs, nr, err, errlen);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "%s", strerror(ENOMEM));
	jde_free(&schema, by_key);
	return ret;
}
