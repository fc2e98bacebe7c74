// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: the snapshot state file (PUT /snapshot/load snapshot_path,
 * ember --describe-snapshot): whoever hands ember a snapshot chooses its
 * bytes. The first input byte picks how the rest is used:
 *
 *	bit 0 clear: a list of sections { u8 kind, u8 instance, u16 length,
 *	             payload }, written as a valid file (header, framing, CRC),
 *	             so the section decoders see every payload;
 *	bit 0 set:   the whole file, its last 8 bytes replaced by the right
 *	             CRC when bit 1 is set, so the header and the section
 *	             framing are reached too.
 *
 * A file that opens goes through what a load decodes before touching KVM,
 * in the load's order (vm configuration, then MMDS, pmem, CPU template and
 * memory hotplug sections into the same configuration; each vCPU's and the
 * VM's KVM state), and through --describe-snapshot.
 *
 * Checked, beyond the sanitizers (leaks included in the replay): a decoded
 * configuration encodes to sections that decode again to one that encodes
 * to the very same bytes, and describing a file that opens prints its
 * sections.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/base/crc64.h"
#include "vmm/base/log.h"
#include "vmm/base/vmstate.h"
#include "vmm/kvm/vcpu_state.h"
#include "vmm/kvm/vm_state.h"
#include "vmm/snapshot/snapshot.h"
#include "vmm/snapshot/snapshot_config.h"
#include "vmm/snapshot/snapshot_cpu_template.h"
#include "vmm/snapshot/snapshot_hotplug.h"
#include "vmm/snapshot/snapshot_mmds.h"
#include "vmm/snapshot/snapshot_pmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int section_decode_fn(struct vmstate_reader *r, struct vm_config *cfg);
typedef void section_encode_fn(const struct vm_config *cfg, struct vmstate_writer *w);

/* The configuration sections, in the order a load decodes them. */
static const struct {
	uint32_t tag;
	section_decode_fn *decode;
	section_encode_fn *encode;
} config_sections[] = {
    {SNAPSHOT_CONF_TAG, snapshot_config_decode, snapshot_config_encode},
    {SNAPSHOT_MMDS_TAG, snapshot_mmds_decode, snapshot_mmds_encode},
    {SNAPSHOT_PMEM_TAG, snapshot_pmem_decode, snapshot_pmem_encode},
    {SNAPSHOT_CPUT_TAG, snapshot_cpu_template_decode, snapshot_cpu_template_encode},
    {SNAPSHOT_MHPL_TAG, snapshot_hotplug_decode, snapshot_hotplug_encode},
};
#define NR_CONFIG_SECTIONS (sizeof(config_sections) / sizeof(config_sections[0]))

/* Section kinds of the structured input: the above, then the KVM state and a device. */
static const uint32_t kinds[] = {
    SNAPSHOT_CONF_TAG, SNAPSHOT_MMDS_TAG, SNAPSHOT_PMEM_TAG, SNAPSHOT_CPUT_TAG,
    SNAPSHOT_MHPL_TAG, VCPU_STATE_TAG,	  VM_STATE_TAG,	     SNAPSHOT_VIRTIO_TAG,
};

/* As the load's decode_config: the CONF section required, the others if present. 0 or -1. */
static int decode_config(const struct vmstate_file *f, struct vm_config *cfg)
{
	struct vmstate_reader r;

	if (!vmstate_find(f, SNAPSHOT_CONF_TAG, 0, &r))
		return -1;
	for (size_t i = 0; i < NR_CONFIG_SECTIONS; i++) {
		if (i > 0 && !vmstate_find(f, config_sections[i].tag, 0, &r))
			continue;
		if (config_sections[i].decode(&r, cfg))
			return -1;
	}
	return 0;
}

/* Every configuration section of @cfg, as a whole file in @w. */
static void encode_config(const struct vm_config *cfg, struct vmstate_writer *w)
{
	vmstate_writer_init(w);
	for (size_t i = 0; i < NR_CONFIG_SECTIONS; i++)
		config_sections[i].encode(cfg, w);
	if (vmstate_writer_finish(w))
		abort(); /* only -ENOMEM or -E2BIG: a decoded config is far smaller */
}

/* decode -> encode -> decode -> encode must give the same bytes twice. */
static void check_config(const struct vmstate_file *f)
{
	struct vmstate_writer w1, w2;
	struct vmstate_file f1;
	struct vm_config cfg, again;
	char err[256];

	vm_config_init(&cfg);
	vm_config_init(&again);
	if (decode_config(f, &cfg) == 0) {
		encode_config(&cfg, &w1);
		if (vmstate_open(&f1, w1.buf, w1.len, err, sizeof(err)) ||
		    decode_config(&f1, &again))
			abort(); /* what Ember wrote must load */
		encode_config(&again, &w2);
		if (w1.len != w2.len || memcmp(w1.buf, w2.buf, w1.len))
			abort(); /* a field lost or changed on the way */
		vmstate_writer_free(&w1);
		vmstate_writer_free(&w2);
	}
	vm_config_free(&cfg);
	vm_config_free(&again);
}

/* Each vCPU's and the VM's KVM state, as a load decodes them. */
static void check_kvm_state(const struct vmstate_file *f)
{
	struct vmstate_reader r;
	uint32_t tag, inst;
	size_t pos = 0;

	while (vmstate_next(f, &pos, &tag, &inst, &r)) {
		if (tag == VCPU_STATE_TAG) {
			struct vcpu_saved_state s;

			memset(&s, 0, sizeof(s));
			vcpu_state_decode(&r, &s);
			vcpu_state_free(&s);
		} else if (tag == VM_STATE_TAG) {
			struct vm_saved_state s;

			vm_state_decode(&r, &s);
		}
	}
}

/* --describe-snapshot on the file (through a memfd), output kept in memory. */
static void check_describe(const uint8_t *file, size_t len, bool opens)
{
	char path[64], *out = NULL;
	size_t out_len = 0;
	FILE *o;
	int fd = memfd_create("fuzz-snapshot", MFD_CLOEXEC);

	if (fd < 0 || write(fd, file, len) != (ssize_t)len)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	o = open_memstream(&out, &out_len);
	if (!o)
		abort();
	snapshot_describe(path, o);
	fclose(o);
	if (opens && !strstr(out, "sections:\n"))
		abort();
	free(out);
	close(fd);
}

/* The structured input as a valid file in @w. */
static void build_file(const uint8_t *p, size_t n, struct vmstate_writer *w)
{
	vmstate_writer_init(w);
	while (n >= 4) {
		size_t len = (size_t)p[2] | (size_t)p[3] << 8;

		vmstate_section_begin(w, kinds[p[0] % (sizeof(kinds) / sizeof(kinds[0]))], p[1]);
		p += 4;
		n -= 4;
		if (len > n)
			len = n;
		vmstate_put_bytes(w, p, len);
		vmstate_section_end(w);
		p += len;
		n -= len;
	}
	if (vmstate_writer_finish(w))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmstate_writer w = {0};
	struct vmstate_file f;
	const uint8_t *file;
	uint8_t *raw = NULL;
	size_t len;
	char err[256];
	bool opens;

	log_set_level(LOG_OFF);
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		len = size - 1;
		raw = malloc(len ? len : 1);
		if (!raw)
			abort();
		memcpy(raw, data + 1, len);
		if ((data[0] & 2) && len >= VMSTATE_CRC_SIZE) {
			uint64_t crc = crc64(0, raw, len - VMSTATE_CRC_SIZE);

			for (unsigned int i = 0; i < VMSTATE_CRC_SIZE; i++)
				raw[len - VMSTATE_CRC_SIZE + i] = (uint8_t)(crc >> (8 * i));
		}
		file = raw;
	} else {
		build_file(data + 1, size - 1, &w);
		file = w.buf;
		len = w.len;
	}
	opens = vmstate_open(&f, file, len, err, sizeof(err)) == 0;
	if (!opens && !err[0])
		abort(); /* a refusal says why */
	if (opens) {
		check_config(&f);
		check_kvm_state(&f);
	}
	check_describe(file, len, opens);
	free(raw);
	vmstate_writer_free(&w);
	return 0;
}
