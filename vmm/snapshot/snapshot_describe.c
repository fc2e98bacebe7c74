// SPDX-License-Identifier: Apache-2.0
/*
 * ember --describe-snapshot FILE: the format version, whether this Ember can
 * load the file, then what it holds. A file that would not load (bad CRC,
 * another version) still gets its header described, so an operator can see
 * which Ember wrote it.
 */
#include "vmm/snapshot/snapshot.h"
#include "vmm/snapshot/snapshot_config.h"
#include "vmm/snapshot/snapshot_hotplug.h"
#include "vmm/snapshot/snapshot_pmem.h"
#include "vmm/kvm/vcpu_state.h"
#include "vmm/kvm/vm_state.h"
#include "devices/virtio/virtio_mmio.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *mp_state_name(uint32_t s)
{
	switch (s) {
	case KVM_MP_STATE_RUNNABLE:
		return "runnable";
	case KVM_MP_STATE_UNINITIALIZED:
		return "uninitialized (waiting for INIT/SIPI)";
	case KVM_MP_STATE_INIT_RECEIVED:
		return "INIT received";
	case KVM_MP_STATE_HALTED:
		return "halted";
	case KVM_MP_STATE_SIPI_RECEIVED:
		return "SIPI received";
	default:
		return "other";
	}
}

static void describe_config(const struct vm_config *cfg, FILE *out)
{
	const struct machine_config *mc = &cfg->machine;

	fprintf(out,
		"machine: %u vCPU%s, %" PRIu64 " MiB, smt %s, huge pages %s, "
		"dirty page tracking %s\n",
		mc->vcpu_count, mc->vcpu_count == 1 ? "" : "s", mc->mem_size_mib,
		mc->smt ? "on" : "off", mc->huge_pages == HUGE_PAGES_2M ? "2M" : "None",
		mc->track_dirty_pages ? "on" : "off");
	for (unsigned int i = 0; i < cfg->nr_drives; i++) {
		const struct drive_config *d = &cfg->drives[i];

		fprintf(out, "drive %s: %s%s%s, io engine %s\n", d->drive_id, d->path_on_host,
			d->is_root_device ? " (root)" : "", d->is_read_only ? " read-only" : "",
			d->io_engine == DRIVE_IO_ASYNC ? "Async" : "Sync");
	}
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		const struct net_config *n = &cfg->nets[i];
		const uint8_t *m = n->guest_mac;

		fprintf(out, "network interface %s: tap %s", n->iface_id, n->host_dev_name);
		if (n->has_guest_mac)
			fprintf(out, ", guest MAC %02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
				m[3], m[4], m[5]);
		fputc('\n', out);
	}
	if (cfg->has_vsock)
		fprintf(out, "vsock: guest CID %u, socket %s\n", cfg->vsock.guest_cid,
			cfg->vsock.uds_path);
	if (cfg->has_entropy)
		fprintf(out, "entropy device\n");
	if (cfg->has_balloon)
		fprintf(out, "balloon: %u MiB, deflate_on_oom %d, statistics every %u s\n",
			cfg->balloon.amount_mib, cfg->balloon.deflate_on_oom,
			cfg->balloon.stats_polling_interval_s);
}

static void describe_vcpu(struct vmstate_reader *r, uint32_t id, FILE *out)
{
	struct vcpu_saved_state s;

	if (vcpu_state_decode(r, &s)) {
		fprintf(out, "vCPU %u: malformed\n", id);
		return;
	}
	fprintf(out,
		"vCPU %u: rip 0x%llx rsp 0x%llx cr0 0x%llx cr3 0x%llx efer 0x%llx, %s, %u MSRs, %u "
		"CPUID entries, %s, TSC %u kHz\n",
		id, s.regs.rip, s.regs.rsp, s.sregs.cr0, s.sregs.cr3, s.sregs.efer,
		mp_state_name(s.mp_state.mp_state), s.msrs->nmsrs, s.cpuid->nent,
		s.has_xsave ? "XSAVE" : "FPU", s.tsc_khz);
	vcpu_state_free(&s);
}

static void describe_vm(struct vmstate_reader *r, FILE *out)
{
	struct vm_saved_state s;

	if (vm_state_decode(r, &s)) {
		fprintf(out, "irqchip/PIT/clock: malformed\n");
		return;
	}
	fprintf(
	    out,
	    "irqchip: PIC master IMR 0x%02x IRR 0x%02x, slave IMR 0x%02x; PIT channel 0 mode %u "
	    "count %u; KVM clock %llu ns\n",
	    s.chips[0].chip.pic.imr, s.chips[0].chip.pic.irr, s.chips[1].chip.pic.imr,
	    s.pit.channels[0].mode, s.pit.channels[0].count, s.clock.clock);
}

static void describe_pmem(struct vmstate_reader *r, FILE *out)
{
	struct vm_config cfg;

	vm_config_init(&cfg);
	if (snapshot_pmem_decode(r, &cfg))
		fprintf(out, "pmem: malformed\n");
	for (unsigned int i = 0; i < cfg.nr_pmems; i++) {
		const struct pmem_config *p = &cfg.pmems[i];

		if (p->id && p->path_on_host)
			fprintf(out, "pmem %s: %s%s%s\n", p->id, p->path_on_host,
				p->root_device ? " (root)" : "", p->read_only ? " read-only" : "");
	}
	vm_config_free(&cfg);
}

static void describe_section(uint32_t tag, uint32_t inst, struct vmstate_reader *r, FILE *out)
{
	struct vm_config cfg;

	if (tag == SNAPSHOT_CONF_TAG) {
		vm_config_init(&cfg);
		if (snapshot_config_decode(r, &cfg))
			fprintf(out, "configuration: malformed\n");
		else
			describe_config(&cfg, out);
		vm_config_free(&cfg);
	} else if (tag == SNAPSHOT_MHPL_TAG) {
		vm_config_init(&cfg);
		if (snapshot_hotplug_decode(r, &cfg))
			fprintf(out, "memory hotplug: malformed\n");
		else
			fprintf(out,
				"memory hotplug: %" PRIu64 " MiB, blocks of %" PRIu64
				" MiB, slots of %" PRIu64 " MiB\n",
				cfg.memory_hotplug.total_size_mib,
				cfg.memory_hotplug.block_size_mib,
				cfg.memory_hotplug.slot_size_mib);
		vm_config_free(&cfg);
	} else if (tag == SNAPSHOT_PMEM_TAG) {
		describe_pmem(r, out);
	} else if (tag == VCPU_STATE_TAG) {
		describe_vcpu(r, inst, out);
	} else if (tag == VM_STATE_TAG) {
		describe_vm(r, out);
	} else if (tag == SNAPSHOT_VIRTIO_TAG) {
		fprintf(out, "slot %u: ", inst);
		if (virtio_mmio_describe_state(r, out))
			fprintf(out, "slot %u: malformed\n", inst);
	}
}

int snapshot_describe(const char *path, FILE *out)
{
	struct vmstate_version v;
	struct vmstate_file f;
	struct vmstate_reader r;
	uint32_t tag, inst;
	uint8_t *data;
	size_t len, pos = 0;
	char err[512], name[5];
	int ret;

	ret = vmstate_read_file(path, &data, &len, err, sizeof(err));
	if (ret) {
		fprintf(out, "%s: %s\n", path, err);
		return ret;
	}
	fprintf(out, "%s: Ember snapshot state, %zu bytes\n", path, len);
	if (vmstate_peek_version(data, len, &v) == 0)
		fprintf(out, "format version: %u.%u.%u (this Ember reads %u.0 to %u.%u)\n", v.major,
			v.minor, v.patch, VMSTATE_VERSION_MAJOR, VMSTATE_VERSION_MAJOR,
			VMSTATE_VERSION_MINOR);
	ret = vmstate_open(&f, data, len, err, sizeof(err));
	if (ret) {
		fprintf(out, "cannot be loaded: %s\n", err);
		free(data);
		return ret;
	}
	fprintf(out, "sections:\n");
	while (vmstate_next(&f, &pos, &tag, &inst, &r)) {
		vmstate_tag_name(tag, name);
		fprintf(out, "  %s %-3u %8zu bytes\n", name, inst, r.len);
	}
	pos = 0;
	while (vmstate_next(&f, &pos, &tag, &inst, &r))
		describe_section(tag, inst, &r, out);
	free(data);
	return 0;
}
