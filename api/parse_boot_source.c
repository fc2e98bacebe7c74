// SPDX-License-Identifier: Apache-2.0
/*
 * PUT /boot-source, as Firecracker's BootSourceConfig. Whether the files open
 * and the command line is acceptable is checked by the controller, which is
 * where Firecracker checks it too (so config-file boots get the same errors).
 */
#include "api/api_parse.h"

enum { BS_KERNEL, BS_INITRD, BS_ARGS, BS_NR };

static const struct jde_field boot_source_fields[] = {
    [BS_KERNEL] = JDE_FIELD("kernel_image_path", JDE_STRING, JDE_REQUIRED),
    [BS_INITRD] = JDE_FIELD("initrd_path", JDE_STRING, JDE_OPTION),
    [BS_ARGS] = JDE_FIELD("boot_args", JDE_STRING, JDE_OPTION),
};

static const struct jde_struct boot_source_schema = {"BootSourceConfig", boot_source_fields, BS_NR,
						     false};

static int build(struct jde_value *v, struct vmm_request *req, struct parse_info *info, char *err,
		 size_t errlen)
{
	(void)info;
	(void)err;
	(void)errlen;
	req->type = REQ_PUT_BOOT_SOURCE;
	req->u.boot_source.kernel_image_path = jde_take_str(&v[BS_KERNEL]);
	req->u.boot_source.initrd_path = jde_take_str(&v[BS_INITRD]);
	req->u.boot_source.boot_args = jde_take_str(&v[BS_ARGS]);
	return 0;
}

const struct body_parser put_boot_source_parser = {
    &boot_source_schema,
    build,
    &g_metrics.put_api_requests.boot_source_count,
    &g_metrics.put_api_requests.boot_source_fails,
};
