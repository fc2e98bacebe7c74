// SPDX-License-Identifier: Apache-2.0
/*
 * The pmem devices' configuration: Firecracker's PmemBuilder::build() (add
 * or replace by id, in first-PUT order, one root device) and its update of
 * the flush rate limiter on the running VM.
 */
#include "vmm/controller/controller_pmem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PMEM_ERR "Pmem config error: "
#define PATCH_PMEM_ERR                                                                             \
	PMEM_ERR "Unable to patch the pmem device: Failed perform action on device: Device not "   \
		 "found Please verify the request arguments."

static int pmem_index(const struct vm_config *cfg, const char *id)
{
	for (unsigned int i = 0; i < cfg->nr_pmems; i++)
		if (!strcmp(cfg->pmems[i].id, id))
			return (int)i;
	return -1;
}

bool controller_has_root_pmem(const struct vm_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_pmems; i++)
		if (cfg->pmems[i].root_device)
			return true;
	return false;
}

static bool has_root_drive(const struct vm_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		if (cfg->drives[i].is_root_device)
			return true;
	return false;
}

void controller_put_pmem(struct controller *c, const struct pmem_config *p,
			 struct vmm_response *resp)
{
	struct vm_config *cfg = &c->cfg;
	int pos = pmem_index(cfg, p->id);
	struct pmem_config next, *grown;

	if (p->root_device && has_root_drive(cfg)) {
		vmm_response_fail(resp, PMEM_ERR "Attempt to add pmem as a root device while the "
						 "root device defined as a block device");
		return;
	}
	/* Replacing the root device by itself is fine; any other second root is not. */
	if (p->root_device && controller_has_root_pmem(cfg) &&
	    (pos < 0 || !cfg->pmems[pos].root_device)) {
		vmm_response_fail(resp, PMEM_ERR "A root pmem device already exist");
		return;
	}
	if (pmem_config_copy(&next, p)) {
		vmm_response_fail(resp, "Internal VMM error: %s (os error %d)", strerror(ENOMEM),
				  ENOMEM);
		return;
	}
	if (pos >= 0) {
		pmem_config_free(&cfg->pmems[pos]);
		cfg->pmems[pos] = next;
		vmm_response_ok(resp);
		return;
	}
	grown = realloc(cfg->pmems, (cfg->nr_pmems + 1) * sizeof(*grown));
	if (!grown) {
		pmem_config_free(&next);
		vmm_response_fail(resp, "Internal VMM error: %s (os error %d)", strerror(ENOMEM),
				  ENOMEM);
		return;
	}
	cfg->pmems = grown;
	cfg->pmems[cfg->nr_pmems++] = next;
	vmm_response_ok(resp);
}

/* Firecracker changes nothing (and succeeds, whatever the id) without a rate limiter. */
void controller_patch_pmem(struct controller *c, const struct pmem_update *u,
			   struct vmm_response *resp)
{
	int pos = pmem_index(&c->cfg, u->id);
	char err[FAULT_MESSAGE_MAX / 2] = "";
	struct pmem_config *p;
	int ret;

	if (!u->has_rate_limiter) {
		vmm_response_ok(resp);
		return;
	}
	if (pos < 0) {
		vmm_response_fail(resp, PATCH_PMEM_ERR);
		return;
	}
	ret = c->ops->update_pmem(c->ops_ctx, u, err, sizeof(err));
	if (ret) {
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(-ret));
		vmm_response_fail(resp,
				  PMEM_ERR "Unable to patch the pmem device: %s Please verify the "
					   "request arguments.",
				  err);
		return;
	}
	p = &c->cfg.pmems[pos];
	rate_limiter_config_update(&p->has_rate_limiter, &p->rate_limiter, &u->rate_limiter);
	vmm_response_ok(resp);
}
