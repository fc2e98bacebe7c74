// SPDX-License-Identifier: Apache-2.0
/* Releasing the request parameters of params.h. */
#include "vmm/config/params.h"

#include <stdlib.h>
#include <string.h>

void drive_update_free(struct drive_update *u)
{
	free(u->drive_id);
	free(u->path_on_host);
	u->drive_id = u->path_on_host = NULL;
}

void net_update_free(struct net_update *u)
{
	free(u->iface_id);
	u->iface_id = NULL;
}

void snapshot_create_params_free(struct snapshot_create_params *p)
{
	free(p->snapshot_path);
	free(p->mem_file_path);
	p->snapshot_path = p->mem_file_path = NULL;
}

void snapshot_load_params_free(struct snapshot_load_params *p)
{
	for (unsigned int i = 0; i < p->nr_net_overrides; i++) {
		free(p->net_overrides[i].iface_id);
		free(p->net_overrides[i].host_dev_name);
	}
	free(p->net_overrides);
	free(p->snapshot_path);
	free(p->backend_path);
	free(p->vsock_uds_path);
	memset(p, 0, sizeof(*p));
}
