// SPDX-License-Identifier: Apache-2.0
#include "vmm/snapshot/snapshot_hotplug.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_MIB (VIRTIO_MEM_MAX_REGION >> 20)

void snapshot_hotplug_encode(const struct vm_config *cfg, struct vmstate_writer *w)
{
	if (!cfg->has_memory_hotplug)
		return;
	vmstate_section_begin(w, SNAPSHOT_MHPL_TAG, 0);
	vmstate_put_u64(w, cfg->memory_hotplug.total_size_mib);
	vmstate_put_u64(w, cfg->memory_hotplug.block_size_mib);
	vmstate_put_u64(w, cfg->memory_hotplug.slot_size_mib);
	vmstate_section_end(w);
}

int snapshot_hotplug_decode(struct vmstate_reader *r, struct vm_config *cfg)
{
	struct memory_hotplug_config m;

	m.total_size_mib = vmstate_get_u64(r);
	m.block_size_mib = vmstate_get_u64(r);
	m.slot_size_mib = vmstate_get_u64(r);
	if (vmstate_reader_end(r))
		return -EINVAL;
	/* Bounded so that the byte sizes cannot wrap; the device checks the rest. */
	if (!m.total_size_mib || m.total_size_mib > MAX_MIB || !m.block_size_mib ||
	    m.block_size_mib > MAX_MIB || !m.slot_size_mib || m.slot_size_mib > MAX_MIB)
		return -EINVAL;
	cfg->memory_hotplug = m;
	cfg->has_memory_hotplug = true;
	return 0;
}

struct hotplug_load {
	int fd;
	uint64_t file_offset;
};

/* pread all of [host, host+len) from @off. 0 or -errno (-EIO at the file's end). */
static int read_all(int fd, uint8_t *host, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, host, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		host += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/*
 * One run of plugged blocks: only the file's data extents are read, the
 * holes stay untouched (zero) anonymous memory.
 */
static int load_plugged_run(void *ctx, uint64_t off, uint8_t *host, uint64_t len)
{
	const struct hotplug_load *h = ctx;
	uint64_t start = h->file_offset + off, end = start + len, pos = start;

	while (pos < end) {
		off_t data = lseek(h->fd, (off_t)pos, SEEK_DATA), hole;
		uint64_t stop;
		int ret;

		if (data < 0 && errno == ENXIO)
			return 0;
		if (data < 0 && errno == EINVAL) /* no SEEK_DATA here: read it all */
			return read_all(h->fd, host + (pos - start), end - pos, pos);
		if (data < 0)
			return -errno;
		if ((uint64_t)data >= end)
			return 0;
		hole = lseek(h->fd, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		stop = (uint64_t)hole < end ? (uint64_t)hole : end;
		ret = read_all(h->fd, host + ((uint64_t)data - start), stop - (uint64_t)data,
			       (uint64_t)data);
		if (ret)
			return ret;
		pos = stop;
	}
	return 0;
}

int snapshot_hotplug_load(struct mem_dev *d, const char *path, uint64_t file_offset, char *err,
			  size_t errlen)
{
	struct hotplug_load h = {open(path, O_RDONLY | O_CLOEXEC), file_offset};
	uint64_t need = file_offset + mem_region_size(d);
	struct stat st;
	int ret;

	if (h.fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "Cannot open the memory file: %s (os error %d)",
			 strerror(-ret), -ret);
		return ret;
	}
	ret = fstat(h.fd, &st) < 0 ? -errno : 0;
	if (!ret && (uint64_t)st.st_size < need) {
		snprintf(err, errlen,
			 "the memory file %s is %lld bytes, the snapshot's hotplug region needs "
			 "%" PRIu64,
			 path, (long long)st.st_size, need);
		close(h.fd);
		return -EINVAL;
	}
	if (!ret)
		ret = mem_for_each_plugged(d, load_plugged_run, &h);
	close(h.fd);
	if (ret)
		snprintf(err, errlen, "Cannot read the hotplugged memory: %s (os error %d)",
			 strerror(-ret), -ret);
	return ret;
}
