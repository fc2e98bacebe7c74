// SPDX-License-Identifier: Apache-2.0
#include "vmm/snapshot/snapshot_mmds.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/mmds/mmds.h"

void snapshot_mmds_encode(const struct vm_config *cfg, struct vmstate_writer *w)
{
	const struct mmds_config *mc = &cfg->mmds_config;

	if (!cfg->has_mmds_config)
		return;
	vmstate_section_begin(w, SNAPSHOT_MMDS_TAG, 0);
	vmstate_put_bool(w, mc->v2);
	vmstate_put_bool(w, mc->has_ipv4_address);
	vmstate_put_u32(w, mc->ipv4_address);
	vmstate_put_bool(w, mc->imds_compat);
	vmstate_put_u32(w, mc->nr_network_interfaces);
	for (unsigned int i = 0; i < mc->nr_network_interfaces; i++)
		vmstate_put_str(w, mc->network_interfaces[i]);
	vmstate_section_end(w);
}

static bool is_net(const struct vm_config *cfg, const char *id)
{
	for (unsigned int i = 0; id && i < cfg->nr_nets; i++)
		if (!strcmp(cfg->nets[i].iface_id, id))
			return true;
	return false;
}

int snapshot_mmds_decode(struct vmstate_reader *r, struct vm_config *cfg)
{
	struct mmds_config *mc = &cfg->mmds_config;
	uint32_t nr;

	cfg->has_mmds_config = true;
	mc->v2 = vmstate_get_bool(r);
	mc->has_ipv4_address = vmstate_get_bool(r);
	mc->ipv4_address = vmstate_get_u32(r);
	mc->imds_compat = vmstate_get_bool(r);
	nr = vmstate_get_u32(r);
	/* What PUT /mmds/config accepts: 1..nets, each a net of the snapshot. */
	if (r->err || nr == 0 || nr > cfg->nr_nets ||
	    (mc->has_ipv4_address && !mmds_ipv4_valid(mc->ipv4_address)))
		return r->err ? r->err : -EINVAL;
	mc->network_interfaces = calloc(nr, sizeof(*mc->network_interfaces));
	if (!mc->network_interfaces)
		return -ENOMEM;
	for (; mc->nr_network_interfaces < nr && !r->err; mc->nr_network_interfaces++) {
		mc->network_interfaces[mc->nr_network_interfaces] = vmstate_get_str(r);
		if (!r->err && !is_net(cfg, mc->network_interfaces[mc->nr_network_interfaces]))
			r->err = -EINVAL;
	}
	return vmstate_reader_end(r);
}
