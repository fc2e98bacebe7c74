// SPDX-License-Identifier: Apache-2.0
#include "vmm/snapshot/snapshot_pmem.h"

#include <errno.h>
#include <stdlib.h>

static void encode_bucket(const struct token_bucket_config *b, struct vmstate_writer *w)
{
	vmstate_put_u64(w, b->size);
	vmstate_put_u64(w, b->one_time_burst);
	vmstate_put_u64(w, b->refill_time_ms);
}

static void decode_bucket(struct vmstate_reader *r, struct token_bucket_config *b)
{
	b->size = vmstate_get_u64(r);
	b->one_time_burst = vmstate_get_u64(r);
	b->refill_time_ms = vmstate_get_u64(r);
}

void snapshot_pmem_encode(const struct vm_config *cfg, struct vmstate_writer *w)
{
	if (!cfg->nr_pmems)
		return;
	vmstate_section_begin(w, SNAPSHOT_PMEM_TAG, 0);
	vmstate_put_u32(w, cfg->nr_pmems);
	for (unsigned int i = 0; i < cfg->nr_pmems; i++) {
		const struct pmem_config *p = &cfg->pmems[i];

		vmstate_put_str(w, p->id);
		vmstate_put_str(w, p->path_on_host);
		vmstate_put_bool(w, p->root_device);
		vmstate_put_bool(w, p->read_only);
		vmstate_put_bool(w, p->has_rate_limiter);
		vmstate_put_bool(w, p->rate_limiter.has_bandwidth);
		encode_bucket(&p->rate_limiter.bandwidth, w);
		vmstate_put_bool(w, p->rate_limiter.has_ops);
		encode_bucket(&p->rate_limiter.ops, w);
	}
	vmstate_section_end(w);
}

int snapshot_pmem_decode(struct vmstate_reader *r, struct vm_config *cfg)
{
	uint32_t nr = vmstate_get_u32(r);

	if (r->err || nr == 0 || nr > VMM_MAX_VIRTIO_DEVICES - cfg->nr_drives - cfg->nr_nets)
		return r->err ? r->err : -EINVAL;
	cfg->pmems = calloc(nr, sizeof(*cfg->pmems));
	if (!cfg->pmems)
		return -ENOMEM;
	for (; cfg->nr_pmems < nr && !r->err; cfg->nr_pmems++) {
		struct pmem_config *p = &cfg->pmems[cfg->nr_pmems];

		p->id = vmstate_get_str(r);
		p->path_on_host = vmstate_get_str(r);
		p->root_device = vmstate_get_bool(r);
		p->read_only = vmstate_get_bool(r);
		p->has_rate_limiter = vmstate_get_bool(r);
		p->rate_limiter.has_bandwidth = vmstate_get_bool(r);
		decode_bucket(r, &p->rate_limiter.bandwidth);
		p->rate_limiter.has_ops = vmstate_get_bool(r);
		decode_bucket(r, &p->rate_limiter.ops);
		if (!r->err && (!p->id || !p->path_on_host))
			r->err = -EINVAL;
	}
	return vmstate_reader_end(r);
}
