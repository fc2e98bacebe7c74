// SPDX-License-Identifier: Apache-2.0
#include "api/api_json.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/parse_rate_limiter.h"

/* Indexed by enum huge_pages. */
static const char *const huge_pages_names[] = {"None", "2M"};

const char *api_level_name(enum log_level level)
{
	static const char *const names[] = {"Off", "Error", "Warning", "Info", "Debug", "Trace"};

	return (unsigned int)level < sizeof(names) / sizeof(names[0]) ? names[level] : "Info";
}

static const char *huge_pages_name(enum huge_pages hp)
{
	return (unsigned int)hp < sizeof(huge_pages_names) / sizeof(huge_pages_names[0])
		   ? huge_pages_names[hp]
		   : "None";
}

/* NULL strings become JSON null, as serde writes a None Option. */
static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/*
 * jansson's integers are signed 64-bit: a u64 above INT64_MAX goes in as
 * the string "\0ember-u64:<digits>" and dump() writes it back as the bare
 * number serde writes. No string of the configuration can look like it: C
 * strings hold no NUL.
 */
#define U64_MARK "ember-u64:"

json_t *api_json_u64(uint64_t v)
{
	char text[48];
	int n;

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	n = snprintf(text, sizeof(text), "%c" U64_MARK "%" PRIu64, '\0', v);
	return json_stringn(text, (size_t)n);
}

/* Each "\u0000ember-u64:<digits>" string token of @text -> <digits>, in place. */
static void unmark_u64(char *text)
{
	static const char quoted[] = "\"\\u0000" U64_MARK;
	char *p = text;

	while ((p = strstr(p, quoted))) {
		char *digits = p + strlen(quoted);
		size_t n = strspn(digits, "0123456789");

		if (!n || digits[n] != '"') {
			p++;
			continue;
		}
		memmove(p, digits, n);
		memmove(p + n, digits + n + 1, strlen(digits + n + 1) + 1);
		p += n;
	}
}

/* Serialize and release @root. */
static char *dump(json_t *root)
{
	char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;

	json_decref(root);
	if (text)
		unmark_u64(text);
	return text;
}

char *api_json_instance_info(const struct instance_info *info, const char *vmm_version)
{
	return dump(json_pack("{s:s, s:s, s:s, s:s}", "id", info->id, "state",
			      vmm_state_name(info->state), "vmm_version", vmm_version, "app_name",
			      API_APP_NAME));
}

char *api_json_version(const char *vmm_version)
{
	return dump(json_pack("{s:s}", "firecracker_version", vmm_version));
}

static json_t *machine_config_json(const struct machine_config *mc)
{
	json_t *o = json_pack("{s:I, s:o, s:b}", "vcpu_count", (json_int_t)mc->vcpu_count,
			      "mem_size_mib", api_json_u64(mc->mem_size_mib), "smt", mc->smt);

	if (!o)
		return NULL;
	/* Firecracker leaves cpu_template out when there is none. */
	if (mc->cpu_template &&
	    json_object_set_new(o, "cpu_template", json_string(mc->cpu_template)))
		goto fail;
	if (json_object_set_new(o, "track_dirty_pages", json_boolean(mc->track_dirty_pages)) ||
	    json_object_set_new(o, "huge_pages", json_string(huge_pages_name(mc->huge_pages))))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

char *api_json_machine_config(const struct machine_config *mc)
{
	return dump(machine_config_json(mc));
}

static json_t *boot_source_json(const struct vm_config *cfg)
{
	const struct boot_source_config *bs = &cfg->boot_source;

	/* Not configured: Firecracker's BootSourceConfig::default(), not null. */
	if (!cfg->has_boot_source)
		return json_pack("{s:s, s:n, s:n}", "kernel_image_path", "", "initrd_path",
				 "boot_args");
	return json_pack("{s:s, s:o, s:o}", "kernel_image_path", bs->kernel_image_path,
			 "initrd_path", str_or_null(bs->initrd_path), "boot_args",
			 str_or_null(bs->boot_args));
}

static json_t *serial_json(const struct vm_config *cfg)
{
	if (!cfg->has_serial)
		return json_null();
	return json_pack(
	    "{s:o, s:o}", "serial_out_path", str_or_null(cfg->serial.serial_out_path),
	    "rate_limiter",
	    api_json_token_bucket(cfg->serial.has_rate_limiter, &cfg->serial.rate_limiter));
}

/*
 * Firecracker's BlockDeviceConfig, field for field and in its order, as a
 * virtio-blk drive writes it (no vhost-user "socket").
 */
static json_t *drive_json(const struct drive_config *d)
{
	return json_pack(
	    "{s:s, s:o, s:b, s:s, s:b, s:s, s:o, s:s, s:n}", "drive_id", d->drive_id, "partuuid",
	    str_or_null(d->partuuid), "is_root_device", d->is_root_device, "cache_type",
	    d->cache_type == DRIVE_CACHE_WRITEBACK ? "Writeback" : "Unsafe", "is_read_only",
	    d->is_read_only, "path_on_host", d->path_on_host, "rate_limiter",
	    api_json_rate_limiter(d->has_rate_limiter, &d->rate_limiter), "io_engine",
	    d->io_engine == DRIVE_IO_ASYNC ? "Async" : "Sync", "socket");
}

static json_t *mac_or_null(bool has, const uint8_t mac[6])
{
	char s[18];

	if (!has)
		return json_null();
	snprintf(s, sizeof(s), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	return json_string(s);
}

/* NetworkInterfaceConfig; "mtu" is an Option without skip_serializing_if: null when unset. */
static json_t *net_json(const struct net_config *n)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:o}", "iface_id", n->iface_id, "host_dev_name", n->host_dev_name,
		      "guest_mac", mac_or_null(n->has_guest_mac, n->guest_mac));

	if (!o)
		return NULL;
	if (json_object_set_new(o, "mtu", n->has_mtu ? json_integer(n->mtu) : json_null()) ||
	    json_object_set_new(
		o, "rx_rate_limiter",
		api_json_rate_limiter(n->has_rx_rate_limiter, &n->rx_rate_limiter)) ||
	    json_object_set_new(
		o, "tx_rate_limiter",
		api_json_rate_limiter(n->has_tx_rate_limiter, &n->tx_rate_limiter))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *drives_json(const struct vm_config *cfg)
{
	json_t *a = json_array();

	for (unsigned int i = 0; a && i < cfg->nr_drives; i++) {
		if (json_array_append_new(a, drive_json(&cfg->drives[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *nets_json(const struct vm_config *cfg)
{
	json_t *a = json_array();

	for (unsigned int i = 0; a && i < cfg->nr_nets; i++) {
		if (json_array_append_new(a, net_json(&cfg->nets[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* VsockDeviceConfig without the deprecated vsock_id, which Firecracker never writes. */
static json_t *vsock_json(const struct vm_config *cfg)
{
	if (!cfg->has_vsock)
		return json_null();
	return json_pack("{s:I, s:s}", "guest_cid", (json_int_t)cfg->vsock.guest_cid, "uds_path",
			 cfg->vsock.uds_path);
}

static json_t *entropy_json(const struct vm_config *cfg)
{
	if (!cfg->has_entropy)
		return json_null();
	return json_pack(
	    "{s:o}", "rate_limiter",
	    api_json_rate_limiter(cfg->entropy.has_rate_limiter, &cfg->entropy.rate_limiter));
}

/* PmemConfig, its fields in Firecracker's order (rate_limiter null when unset). */
static json_t *pmem_json(const struct pmem_config *p)
{
	return json_pack("{s:s, s:s, s:b, s:b, s:o}", "id", p->id, "path_on_host", p->path_on_host,
			 "root_device", p->root_device, "read_only", p->read_only, "rate_limiter",
			 api_json_rate_limiter(p->has_rate_limiter, &p->rate_limiter));
}

static json_t *pmems_json(const struct vm_config *cfg)
{
	json_t *a = json_array();

	for (unsigned int i = 0; a && i < cfg->nr_pmems; i++) {
		if (json_array_append_new(a, pmem_json(&cfg->pmems[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *balloon_json(const struct balloon_config *b)
{
	return json_pack("{s:I, s:b, s:I, s:b, s:b}", "amount_mib", (json_int_t)b->amount_mib,
			 "deflate_on_oom", b->deflate_on_oom, "stats_polling_interval_s",
			 (json_int_t)b->stats_polling_interval_s, "free_page_hinting",
			 b->free_page_hinting, "free_page_reporting", b->free_page_reporting);
}

static json_t *vm_balloon_json(const struct vm_config *cfg)
{
	return cfg->has_balloon ? balloon_json(&cfg->balloon) : json_null();
}

char *api_json_balloon(const struct balloon_config *b)
{
	return dump(balloon_json(b));
}

/* BalloonStats' field names, by VIRTIO_BALLOON_S_* tag. */
static const char *const balloon_stat_names[BALLOON_NR_STATS] = {
    "swap_in",	      "swap_out",	  "major_faults", "minor_faults",	 "free_memory",
    "total_memory",   "available_memory", "disk_caches",  "hugetlb_allocations", "hugetlb_failures",
    "oom_kill",	      "alloc_stall",	  "async_scan",	  "direct_scan",	 "async_reclaim",
    "direct_reclaim",
};

char *api_json_balloon_stats(const struct balloon_stats *st)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I}", "target_pages", (json_int_t)st->target_pages,
			      "actual_pages", (json_int_t)st->actual_pages, "target_mib",
			      (json_int_t)st->target_mib, "actual_mib", (json_int_t)st->actual_mib);

	for (unsigned int t = 0; o && t < BALLOON_NR_STATS; t++) {
		if ((st->present & (1U << t)) &&
		    json_object_set_new(o, balloon_stat_names[t], api_json_u64(st->values[t]))) {
			json_decref(o);
			o = NULL;
		}
	}
	return dump(o);
}

char *api_json_balloon_hinting(const struct balloon_hinting_status *h)
{
	return dump(
	    json_pack("{s:I, s:o}", "host_cmd", (json_int_t)h->host_cmd, "guest_cmd",
		      h->has_guest_cmd ? json_integer((json_int_t)h->guest_cmd) : json_null()));
}

/* Firecracker's MmdsConfig as VmResources rebuilds it: null until PUT /mmds/config. */
static json_t *mmds_config_json(const struct vm_config *cfg)
{
	const struct mmds_config *mc = &cfg->mmds_config;
	char addr[INET_ADDRSTRLEN] = "";
	json_t *ifaces = json_array();

	if (!cfg->has_mmds_config || !ifaces) {
		json_decref(ifaces);
		return json_null();
	}
	for (unsigned int i = 0; i < mc->nr_network_interfaces; i++)
		json_array_append_new(ifaces, json_string(mc->network_interfaces[i]));
	inet_ntop(AF_INET, &mc->ipv4_address, addr, sizeof(addr));
	return json_pack("{s:s, s:o, s:s, s:b}", "version", mc->v2 ? "V2" : "V1",
			 "network_interfaces", ifaces, "ipv4_address", addr, "imds_compat",
			 mc->imds_compat);
}

char *api_json_memory_hotplug_status(const struct memory_hotplug_status *s)
{
	return dump(json_pack(
	    "{s:I, s:I, s:I, s:I, s:I}", "block_size_mib", (json_int_t)s->block_size_mib,
	    "total_size_mib", (json_int_t)s->total_size_mib, "slot_size_mib",
	    (json_int_t)s->slot_size_mib, "plugged_size_mib", (json_int_t)s->plugged_size_mib,
	    "requested_size_mib", (json_int_t)s->requested_size_mib));
}

/* Firecracker's MemoryHotplugConfig, null when none was PUT. */
static json_t *memory_hotplug_json(const struct vm_config *cfg)
{
	const struct memory_hotplug_config *m = &cfg->memory_hotplug;

	if (!cfg->has_memory_hotplug)
		return json_null();
	return json_pack("{s:I, s:I, s:I}", "total_size_mib", (json_int_t)m->total_size_mib,
			 "block_size_mib", (json_int_t)m->block_size_mib, "slot_size_mib",
			 (json_int_t)m->slot_size_mib);
}

/*
 * Firecracker's VmmConfig as GET /vm/config writes it (From<&VmResources>),
 * key for key in its order: "logger", "metrics" and "cpu-config" are always
 * null there (they are not kept as resources). "serial" is Ember's
 * (Firecracker skips its serial config), last. One key per line: a NULL
 * builder result fails the set.
 */
char *api_json_vm_config(const struct vm_config *cfg)
{
	json_t *o = json_object();

	if (!o || json_object_set_new(o, "balloon", vm_balloon_json(cfg)) ||
	    json_object_set_new(o, "drives", drives_json(cfg)) ||
	    json_object_set_new(o, "boot-source", boot_source_json(cfg)) ||
	    json_object_set_new(o, "cpu-config", json_null()) ||
	    json_object_set_new(o, "logger", json_null()) ||
	    json_object_set_new(o, "machine-config", machine_config_json(&cfg->machine)) ||
	    json_object_set_new(o, "metrics", json_null()) ||
	    json_object_set_new(o, "mmds-config", mmds_config_json(cfg)) ||
	    json_object_set_new(o, "network-interfaces", nets_json(cfg)) ||
	    json_object_set_new(o, "vsock", vsock_json(cfg)) ||
	    json_object_set_new(o, "entropy", entropy_json(cfg)) ||
	    json_object_set_new(o, "pmem", pmems_json(cfg)) ||
	    json_object_set_new(o, "memory-hotplug", memory_hotplug_json(cfg)) ||
	    json_object_set_new(o, "serial", serial_json(cfg))) {
		json_decref(o);
		return NULL;
	}
	return dump(o);
}

char *api_json_fault(const char *message)
{
	return dump(json_pack("{s:s}", "fault_message", message));
}
