// SPDX-License-Identifier: Apache-2.0
#include "vmm/snapshot/snapshot_config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void encode_bucket(const struct token_bucket_config *b, struct vmstate_writer *w)
{
	vmstate_put_u64(w, b->size);
	vmstate_put_u64(w, b->one_time_burst);
	vmstate_put_u64(w, b->refill_time_ms);
}

static void encode_limiter(bool has, const struct rate_limiter_config *rl, struct vmstate_writer *w)
{
	vmstate_put_bool(w, has);
	vmstate_put_bool(w, rl->has_bandwidth);
	encode_bucket(&rl->bandwidth, w);
	vmstate_put_bool(w, rl->has_ops);
	encode_bucket(&rl->ops, w);
}

static void encode_drive(const struct drive_config *d, struct vmstate_writer *w)
{
	vmstate_put_str(w, d->drive_id);
	vmstate_put_str(w, d->path_on_host);
	vmstate_put_bool(w, d->is_root_device);
	vmstate_put_str(w, d->partuuid);
	vmstate_put_bool(w, d->is_read_only);
	vmstate_put_u8(w, (uint8_t)d->cache_type);
	vmstate_put_u8(w, (uint8_t)d->io_engine);
	encode_limiter(d->has_rate_limiter, &d->rate_limiter, w);
}

static void encode_net(const struct net_config *n, struct vmstate_writer *w)
{
	vmstate_put_str(w, n->iface_id);
	vmstate_put_str(w, n->host_dev_name);
	vmstate_put_bool(w, n->has_guest_mac);
	vmstate_put_bytes(w, n->guest_mac, sizeof(n->guest_mac));
	vmstate_put_bool(w, n->has_mtu);
	vmstate_put_u16(w, n->mtu);
	encode_limiter(n->has_rx_rate_limiter, &n->rx_rate_limiter, w);
	encode_limiter(n->has_tx_rate_limiter, &n->tx_rate_limiter, w);
}

static void encode_balloon(const struct balloon_config *b, struct vmstate_writer *w)
{
	vmstate_put_u32(w, b->amount_mib);
	vmstate_put_bool(w, b->deflate_on_oom);
	vmstate_put_u16(w, b->stats_polling_interval_s);
	vmstate_put_bool(w, b->free_page_hinting);
	vmstate_put_bool(w, b->free_page_reporting);
}

void snapshot_config_encode(const struct vm_config *cfg, struct vmstate_writer *w)
{
	const struct machine_config *mc = &cfg->machine;

	vmstate_section_begin(w, SNAPSHOT_CONF_TAG, 0);
	vmstate_put_u32(w, mc->vcpu_count);
	vmstate_put_u64(w, mc->mem_size_mib);
	vmstate_put_bool(w, mc->smt);
	vmstate_put_bool(w, mc->track_dirty_pages);
	vmstate_put_u8(w, (uint8_t)mc->huge_pages);
	vmstate_put_str(w, mc->cpu_template);
	vmstate_put_u32(w, cfg->nr_drives);
	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		encode_drive(&cfg->drives[i], w);
	vmstate_put_u32(w, cfg->nr_nets);
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		encode_net(&cfg->nets[i], w);
	vmstate_put_bool(w, cfg->has_vsock);
	if (cfg->has_vsock) {
		vmstate_put_str(w, cfg->vsock.vsock_id);
		vmstate_put_u32(w, cfg->vsock.guest_cid);
		vmstate_put_str(w, cfg->vsock.uds_path);
	}
	vmstate_put_bool(w, cfg->has_entropy);
	if (cfg->has_entropy)
		encode_limiter(cfg->entropy.has_rate_limiter, &cfg->entropy.rate_limiter, w);
	vmstate_put_bool(w, cfg->has_balloon);
	if (cfg->has_balloon)
		encode_balloon(&cfg->balloon, w);
	vmstate_section_end(w);
}

/* ---- decoding ----------------------------------------------------------------- */

static void decode_bucket(struct vmstate_reader *r, struct token_bucket_config *b)
{
	b->size = vmstate_get_u64(r);
	b->one_time_burst = vmstate_get_u64(r);
	b->refill_time_ms = vmstate_get_u64(r);
}

static void decode_limiter(struct vmstate_reader *r, bool *has, struct rate_limiter_config *rl)
{
	*has = vmstate_get_bool(r);
	rl->has_bandwidth = vmstate_get_bool(r);
	decode_bucket(r, &rl->bandwidth);
	rl->has_ops = vmstate_get_bool(r);
	decode_bucket(r, &rl->ops);
}

/* An enum stored as u8: only its declared values. */
static unsigned int decode_enum(struct vmstate_reader *r, unsigned int max)
{
	uint8_t v = vmstate_get_u8(r);

	if (v > max && !r->err)
		r->err = -EINVAL;
	return r->err ? 0 : v;
}

static void decode_drive(struct vmstate_reader *r, struct drive_config *d)
{
	d->drive_id = vmstate_get_str(r);
	d->path_on_host = vmstate_get_str(r);
	d->is_root_device = vmstate_get_bool(r);
	d->partuuid = vmstate_get_str(r);
	d->is_read_only = vmstate_get_bool(r);
	d->cache_type = (enum drive_cache_type)decode_enum(r, DRIVE_CACHE_WRITEBACK);
	d->io_engine = (enum drive_io_engine)decode_enum(r, DRIVE_IO_ASYNC);
	decode_limiter(r, &d->has_rate_limiter, &d->rate_limiter);
	if (!r->err && (!d->drive_id || !d->path_on_host))
		r->err = -EINVAL;
}

static void decode_net(struct vmstate_reader *r, struct net_config *n)
{
	n->iface_id = vmstate_get_str(r);
	n->host_dev_name = vmstate_get_str(r);
	n->has_guest_mac = vmstate_get_bool(r);
	vmstate_get_bytes(r, n->guest_mac, sizeof(n->guest_mac));
	n->has_mtu = vmstate_get_bool(r);
	n->mtu = vmstate_get_u16(r);
	decode_limiter(r, &n->has_rx_rate_limiter, &n->rx_rate_limiter);
	decode_limiter(r, &n->has_tx_rate_limiter, &n->tx_rate_limiter);
	if (!r->err && (!n->iface_id || !n->host_dev_name))
		r->err = -EINVAL;
}

static int decode_machine(struct vmstate_reader *r, struct machine_config *mc)
{
	mc->vcpu_count = vmstate_get_u32(r);
	mc->mem_size_mib = vmstate_get_u64(r);
	mc->smt = vmstate_get_bool(r);
	mc->track_dirty_pages = vmstate_get_bool(r);
	mc->huge_pages = (enum huge_pages)decode_enum(r, HUGE_PAGES_2M);
	mc->cpu_template = vmstate_get_str(r);
	if (r->err)
		return r->err;
	/* The memory size becomes a mapping size: keep it to what the API accepts. */
	if (mc->vcpu_count == 0 || mc->vcpu_count > VMM_MAX_VCPUS || mc->mem_size_mib == 0 ||
	    mc->mem_size_mib > (1ULL << 32))
		return -EINVAL;
	return 0;
}

static int decode_devices(struct vmstate_reader *r, struct vm_config *cfg)
{
	uint32_t nr_drives, nr_nets;

	nr_drives = vmstate_get_u32(r);
	if (r->err || nr_drives > VMM_MAX_VIRTIO_DEVICES)
		return r->err ? r->err : -EINVAL;
	cfg->drives = calloc(nr_drives ? nr_drives : 1, sizeof(*cfg->drives));
	if (!cfg->drives)
		return -ENOMEM;
	for (; cfg->nr_drives < nr_drives && !r->err; cfg->nr_drives++)
		decode_drive(r, &cfg->drives[cfg->nr_drives]);
	nr_nets = vmstate_get_u32(r);
	/* nr_drives is at most the limit: no sum that could wrap. */
	if (r->err || nr_nets > VMM_MAX_VIRTIO_DEVICES - nr_drives)
		return r->err ? r->err : -EINVAL;
	cfg->nets = calloc(nr_nets ? nr_nets : 1, sizeof(*cfg->nets));
	if (!cfg->nets)
		return -ENOMEM;
	for (; cfg->nr_nets < nr_nets && !r->err; cfg->nr_nets++)
		decode_net(r, &cfg->nets[cfg->nr_nets]);
	cfg->has_vsock = vmstate_get_bool(r);
	if (cfg->has_vsock) {
		cfg->vsock.vsock_id = vmstate_get_str(r);
		cfg->vsock.guest_cid = vmstate_get_u32(r);
		cfg->vsock.uds_path = vmstate_get_str(r);
		if (!r->err && !cfg->vsock.uds_path)
			return -EINVAL;
	}
	cfg->has_entropy = vmstate_get_bool(r);
	if (cfg->has_entropy)
		decode_limiter(r, &cfg->entropy.has_rate_limiter, &cfg->entropy.rate_limiter);
	cfg->has_balloon = vmstate_get_bool(r);
	if (cfg->has_balloon) {
		cfg->balloon.amount_mib = vmstate_get_u32(r);
		cfg->balloon.deflate_on_oom = vmstate_get_bool(r);
		cfg->balloon.stats_polling_interval_s = vmstate_get_u16(r);
		cfg->balloon.free_page_hinting = vmstate_get_bool(r);
		cfg->balloon.free_page_reporting = vmstate_get_bool(r);
	}
	return vmstate_reader_end(r);
}

int snapshot_config_decode(struct vmstate_reader *r, struct vm_config *cfg)
{
	int ret;

	machine_config_free(&cfg->machine);
	ret = decode_machine(r, &cfg->machine);
	return ret ? ret : decode_devices(r, cfg);
}
