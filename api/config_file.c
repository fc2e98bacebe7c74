// SPDX-License-Identifier: Apache-2.0
#include "api/config_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_parse.h"
#include "api/parse_cpu_config.h"
#include "api/parse_mmds.h"
#include "vmm/base/log.h"

/*
 * The sections, in Firecracker's VmmConfig key order (the order of the keys
 * in GET /vm/config and in "expected one of" errors; "serial" is Ember's).
 * @apply ranks the order they are applied in, Firecracker's
 * VmResources::from_json: logger and metrics first, the machine before the
 * boot source, devices after. A list section is a JSON array whose entries
 * each become one request, in array order. A null section (and an empty
 * list) makes no request, so GET /vm/config's output can come back as input.
 */
static const struct config_section {
	const char *key;
	const struct body_parser *parser;
	enum jde_presence presence;
	bool list;
	unsigned int apply;
} sections[] = {
    {"balloon", &put_balloon_parser, JDE_OPTION, false, 90},
    {"drives", &put_drive_parser, JDE_DEFAULT, true, 60},
    {"boot-source", &put_boot_source_parser, JDE_REQUIRED, false, 50},
    {"cpu-config", &put_cpu_config_parser, JDE_OPTION, false, 40},
    {"logger", &put_logger_parser, JDE_OPTION, false, 10},
    {"machine-config", &put_machine_config_parser, JDE_OPTION, false, 30},
    {"metrics", &put_metrics_parser, JDE_OPTION, false, 20},
    {"mmds-config", &put_mmds_config_parser, JDE_OPTION, false, 100},
    {"network-interfaces", &put_net_parser, JDE_DEFAULT, true, 70},
    {"vsock", &put_vsock_parser, JDE_OPTION, false, 80},
    {"entropy", &put_entropy_parser, JDE_OPTION, false, 110},
    {"pmem", &put_pmem_parser, JDE_DEFAULT, true, 120},
    {"memory-hotplug", &put_memory_hotplug_parser, JDE_OPTION, false, 140},
    {"serial", &put_serial_parser, JDE_OPTION, false, 130},
};

#define NR_SECTIONS (sizeof(sections) / sizeof(sections[0]))

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
		log_warn_unrestricted("%s", info.deprecation);
	(*n)++;
	return 0;
}

/*
 * "cpu-config" as a path (Firecracker's CustomCpuTemplateOrPath::Path): the
 * file's template, decoded on its own as Firecracker's from_json does, with
 * ResourcesError's texts. Bounded: a template is a small file.
 */
#define CPU_CONFIG_FILE_MAX (1 << 20)

static int build_from_file(size_t s, const char *path, struct vmm_request *reqs, size_t *n,
			   char *err, size_t errlen)
{
	const struct jde_struct *schema = sections[s].parser->schema;
	struct jde_value *vals = calloc(schema->nr_fields, sizeof(*vals));
	char *text = calloc(1, CPU_CONFIG_FILE_MAX + 1), msg[FAULT_MESSAGE_MAX];
	FILE *f = NULL;
	size_t len = 0;
	int ret = -ENOMEM;

	if (!vals || !text)
		goto out;
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "File operation error: %s (os error %d)", strerror(-ret),
			 -ret);
		goto out;
	}
	errno = 0;
	len = fread(text, 1, CPU_CONFIG_FILE_MAX + 1, f);
	if (ferror(f) || len > CPU_CONFIG_FILE_MAX) {
		ret = ferror(f) ? (errno ? -errno : -EIO) : -EFBIG;
		snprintf(err, errlen, "File operation error: %s (os error %d)", strerror(-ret),
			 -ret);
		goto out;
	}
	ret = jde_parse(text, len, schema, vals, msg, sizeof(msg));
	if (ret == -EINVAL)
		snprintf(err, errlen, "Invalid JSON: %s", msg);
	if (!ret)
		ret = build_one(s, vals, reqs, n, err, errlen);
out:
	if (f)
		fclose(f);
	if (vals)
		jde_free(schema, vals);
	free(vals);
	free(text);
	return ret;
}

/* The requests of section @s, appended to @reqs. */
static int build_section(size_t s, struct jde_value *v, struct vmm_request *reqs, size_t *n,
			 char *err, size_t errlen)
{
	const struct config_section *sec = &sections[s];
	size_t nf = sec->parser->schema->nr_fields;
	int ret = 0;

	if (!sec->list && v->set && v->s)
		ret = build_from_file(s, v->s, reqs, n, err, errlen);
	else if (!sec->list && v->set)
		ret = build_one(s, v->sub, reqs, n, err, errlen);
	for (size_t k = 0; sec->list && k < v->nr_items && !ret; k++)
		ret = build_one(s, &v->items[k * nf], reqs, n, err, errlen);
	return ret;
}

/* The section applied after rank @after, NR_SECTIONS when none is. */
static size_t next_section(unsigned int after, bool first)
{
	size_t next = NR_SECTIONS;

	for (size_t s = 0; s < NR_SECTIONS; s++) {
		if ((first || sections[s].apply > after) &&
		    (next == NR_SECTIONS || sections[s].apply < sections[next].apply))
			next = s;
	}
	return next;
}

static int build_requests(struct jde_value *vals, struct vmm_request **out, size_t *nr, char *err,
			  size_t errlen)
{
	size_t total = count_requests(vals), n = 0;
	struct vmm_request *reqs = calloc(total ? total : 1, sizeof(*reqs));
	int ret = 0;

	if (!reqs)
		return -ENOMEM;
	for (size_t s = next_section(0, true); s < NR_SECTIONS && !ret;
	     s = next_section(sections[s].apply, false))
		ret = build_section(s, &vals[s], reqs, &n, err, errlen);
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
	struct jde_value vals[NR_SECTIONS];
	struct jde_struct schema = {"VmmConfig", fields, NR_SECTIONS, false};
	char msg[FAULT_MESSAGE_MAX];
	int ret;

	*reqs = NULL;
	*nr = 0;
	for (size_t s = 0; s < NR_SECTIONS; s++) {
		fields[s] = (struct jde_field)JDE_STRUCT_FIELD(
		    sections[s].key, sections[s].presence, sections[s].parser->schema);
		if (sections[s].list)
			fields[s].kind = JDE_SEQ;
		/* Firecracker's "cpu-config": a template, or the path of a file holding one. */
		if (sections[s].parser == &put_cpu_config_parser)
			fields[s].untagged = "CustomCpuTemplateOrPath";
	}
	ret = jde_parse(json_text, strlen(json_text), &schema, vals, msg, sizeof(msg));
	if (ret == -EINVAL)
		snprintf(err, errlen, "Invalid JSON: %s", msg);
	else if (ret)
		snprintf(err, errlen, "%s", strerror(-ret));
	if (ret)
		return ret;
	ret = build_requests(vals, reqs, nr, err, errlen);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "%s", strerror(ENOMEM));
	jde_free(&schema, vals);
	return ret;
}
