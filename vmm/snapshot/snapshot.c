// SPDX-License-Identifier: Apache-2.0
/*
 * Snapshot create and load orchestration; see snapshot.h for the file
 * layout and the guarantees. The pieces live elsewhere: vmstate.c (format),
 * vcpu_state.c and vm_state.c (KVM), snapshot_config.c (CONF),
 * snapshot_mem.c (memory file), uffd.c (Uffd backend), and the devices' own
 * save/restore functions.
 */
#include "vmm/snapshot/snapshot.h"
#include "vmm/base/log.h"
#include "vmm/snapshot/snapshot_config.h"
#include "vmm/snapshot/snapshot_mmds.h"
#include "vmm/snapshot/snapshot_pmem.h"
#include "vmm/snapshot/snapshot_hotplug.h"
#include "vmm/snapshot/snapshot_cpu_template.h"
#include "vmm/kvm/cpu_template.h"
#include "vmm/snapshot/snapshot_mem.h"
#include "vmm/snapshot/uffd.h"
#include "vmm/kvm/vcpu_state.h"
#include "vmm/kvm/vm_state.h"
#include "vmm/kvm/kvm_vm.h"
#include "vmm/kvm/vcpu.h"
#include "vmm/mem/guest_mem.h"
#include "devices/acpi/vmclock.h"
#include "devices/acpi/vmgenid.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/serial.h"
#include "devices/virtio/virtio_mmio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void errorf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void errorf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "<prefix>: <strerror> (os error N)": Rust's io::Error after Firecracker's prefix. */
static int os_errorf(char *err, size_t errlen, int ret, const char *prefix)
{
	errorf(err, errlen, "%s: %s (os error %d)", prefix, strerror(-ret), -ret);
	return ret;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- files written under a temporary name ------------------------------------------ */

struct temp_file {
	const char *path; /* the requested name */
	char *tmp;	  /* ".<name>.ember-<pid>-<ns>" in the same directory */
	int fd;
};

/*
 * Same directory as @path, so the final rename() is atomic; a name of our
 * own (pid and monotonic nanoseconds, O_EXCL) rather than mkostemp(), whose
 * random suffix costs a getrandom() the VMM thread's seccomp filter does not
 * need otherwise. 0 or -errno.
 */
static int temp_open(struct temp_file *t, const char *path)
{
	struct timespec ts;
	char *d = strdup(path), *b = strdup(path);
	int ret = -ENOMEM;

	t->path = path;
	t->fd = -1;
	t->tmp = NULL;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (d && b &&
	    asprintf(&t->tmp, "%s/.%s.ember-%d-%lld%09ld", dirname(d), basename(b), (int)getpid(),
		     (long long)ts.tv_sec, ts.tv_nsec) < 0)
		t->tmp = NULL;
	free(d);
	free(b);
	if (!t->tmp)
		return ret;
	t->fd = open(t->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (t->fd >= 0)
		return 0;
	ret = -errno;
	free(t->tmp);
	t->tmp = NULL;
	return ret;
}

/* Drop the temporary file (a failed create leaves nothing behind). */
static void temp_discard(struct temp_file *t)
{
	if (t->fd >= 0)
		close(t->fd);
	if (t->tmp)
		unlink(t->tmp);
	free(t->tmp);
	t->fd = -1;
	t->tmp = NULL;
}

static int temp_sync(struct temp_file *t)
{
	return fsync(t->fd) < 0 ? -errno : 0;
}

/* The directory entry too: a rename is only durable once its directory is synced. */
static void sync_dir_of(const char *path)
{
	char *d = strdup(path);
	int fd = d ? open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(d);
}

static int temp_commit(struct temp_file *t)
{
	if (rename(t->tmp, t->path) < 0)
		return -errno;
	sync_dir_of(t->path);
	free(t->tmp);
	t->tmp = NULL;
	close(t->fd);
	t->fd = -1;
	return 0;
}

static int write_buf(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- create: state ---------------------------------------------------------------- */

struct vcpu_capture {
	const struct kvm_msr_list *msrs;
	struct vcpu_saved_state *states; /* by vCPU id */
};

/* On each vCPU's thread (vcpu_group_run_parked()). */
static int capture_vcpu(struct vcpu *v, void *opaque)
{
	struct vcpu_capture *c = opaque;

	return vcpu_state_capture(v, c->msrs, &c->states[v->id]);
}

static int save_vcpus(const struct snapshot_machine *m, struct vmstate_writer *w, char *err,
		      size_t errlen)
{
	unsigned int n = m->vcpus->nr_vcpus;
	struct vcpu_capture c = {NULL, calloc(n, sizeof(*c.states))};
	struct kvm_msr_list *msrs = NULL;
	int ret;

	if (!c.states)
		return os_errorf(err, errlen, -ENOMEM, "Cannot save the microVM state");
	ret = vcpu_state_msr_list(m->vm->kvm_fd, &msrs);
	c.msrs = msrs;
	if (!ret)
		ret = vcpu_group_run_parked(m->vcpus, capture_vcpu, &c);
	if (ret) {
		os_errorf(err, errlen, ret,
			  "Cannot save the microVM state: Cannot save Vcpu state");
	} else {
		for (unsigned int i = 0; i < n; i++)
			vcpu_state_encode(&c.states[i], i, w);
	}
	for (unsigned int i = 0; i < n; i++)
		vcpu_state_free(&c.states[i]);
	free(c.states);
	free(msrs);
	return ret;
}

/* Devices first: completing their in-flight I/O may raise interrupts the irqchip must hold. */
static int save_devices(const struct snapshot_machine *m, struct vmstate_writer *w, char *err,
			size_t errlen)
{
	for (unsigned int i = 0; i < m->nr_virtio; i++) {
		int ret;

		vmstate_section_begin(w, SNAPSHOT_VIRTIO_TAG, i);
		ret = virtio_mmio_save(m->virtio[i], w);
		vmstate_section_end(w);
		if (ret)
			return os_errorf(err, errlen, ret,
					 "Cannot save the microVM state: Cannot save devices");
	}
	vmstate_section_begin(w, SNAPSHOT_UART_TAG, 0);
	serial_save(m->serial, w);
	vmstate_section_end(w);
	vmstate_section_begin(w, SNAPSHOT_I8042_TAG, 0);
	i8042_save(m->i8042, w);
	vmstate_section_end(w);
	vmstate_section_begin(w, SNAPSHOT_VMGENID_TAG, 0);
	vmgenid_save(m->vmgenid, w);
	vmstate_section_end(w);
	vmstate_section_begin(w, SNAPSHOT_VMCLOCK_TAG, 0);
	vmclock_save(m->vmclock, w);
	vmstate_section_end(w);
	return 0;
}

static int save_vm(const struct snapshot_machine *m, struct vmstate_writer *w, char *err,
		   size_t errlen)
{
	struct vm_saved_state vs;
	int ret = vm_state_capture(m->vm, &vs);

	if (ret)
		return os_errorf(err, errlen, ret,
				 "Cannot save the microVM state: Cannot save Vm state");
	vm_state_encode(&vs, w);
	return 0;
}

/* The whole vmstate, CRC included, in @w. */
static int build_vmstate(const struct snapshot_machine *m, const struct vm_config *cfg,
			 struct vmstate_writer *w, char *err, size_t errlen)
{
	int ret;

	vmstate_writer_init(w);
	snapshot_config_encode(cfg, w);
	snapshot_mmds_encode(cfg, w);
	snapshot_pmem_encode(cfg, w);
	snapshot_hotplug_encode(cfg, w);
	snapshot_cpu_template_encode(cfg, w);
	ret = save_devices(m, w, err, errlen);
	if (!ret)
		ret = save_vcpus(m, w, err, errlen);
	if (!ret)
		ret = save_vm(m, w, err, errlen);
	if (!ret) {
		ret = vmstate_writer_finish(w);
		if (ret)
			os_errorf(err, errlen, ret, "Cannot serialize the microVM state");
	}
	return ret;
}

static int write_vmstate(const struct vmstate_writer *w, struct temp_file *t, const char *path,
			 char *err, size_t errlen)
{
	int ret = temp_open(t, path);

	if (ret)
		return os_errorf(err, errlen, ret,
				 "Cannot perform open on the snapshot backing file");
	ret = write_buf(t->fd, w->buf, w->len);
	if (ret)
		return os_errorf(err, errlen, ret,
				 "Cannot perform write on the snapshot backing file");
	ret = temp_sync(t);
	if (ret)
		return os_errorf(err, errlen, ret,
				 "Cannot perform sync_all on the snapshot backing file");
	return 0;
}

/* ---- create: memory ----------------------------------------------------------------- */

/*
 * Full, or Diff with @dirty (the pages dirtied since the last snapshot).
 * Returns the bytes written or -errno.
 */
static int64_t write_memory(const struct snapshot_machine *m, const uint64_t *dirty,
			    struct temp_file *t, const char *path, char *err, size_t errlen)
{
	int64_t written;
	int ret = temp_open(t, path);

	if (ret)
		return os_errorf(err, errlen, ret,
				 "Cannot perform open on the memory backing file");
	written = dirty ? snapshot_mem_write_pages(m->mem, t->fd, dirty)
			: snapshot_mem_write_full(m->mem, t->fd);
	if (written >= 0 && m->hotplug) {
		int64_t more = snapshot_mem_write_hotplug(m->hotplug, t->fd, m->mem->size, dirty);

		written = more < 0 ? more : written + more;
	}
	if (written < 0)
		return os_errorf(err, errlen, (int)written, "Cannot write memory file");
	ret = temp_sync(t);
	if (ret)
		return os_errorf(err, errlen, ret,
				 "Cannot perform sync_all on the memory backing file");
	return written;
}

/* Both files in place, memory first: a vmstate under its name always has its memory. */
static int commit_files(struct temp_file *mem, struct temp_file *state, char *err, size_t errlen)
{
	int ret = temp_commit(mem);

	if (ret)
		return os_errorf(err, errlen, ret,
				 "Cannot perform rename on the memory backing file");
	ret = temp_commit(state);
	if (ret) {
		unlink(mem->path);
		return os_errorf(err, errlen, ret,
				 "Cannot perform rename on the snapshot backing file");
	}
	return 0;
}

int snapshot_create(const struct snapshot_machine *m, const struct vm_config *cfg,
		    const struct snapshot_create_params *p, char *err, size_t errlen)
{
	struct temp_file state = {.fd = -1}, mem = {.fd = -1};
	struct vmstate_writer w = {0};
	bool tracking = cfg->machine.track_dirty_pages;
	uint64_t *dirty = NULL, start = now_us();
	int64_t written = 0;
	int ret;

	if (tracking) {
		dirty = calloc(guest_mem_bitmap_words(m->mem), sizeof(*dirty));
		if (!dirty)
			return os_errorf(err, errlen, -ENOMEM, "Cannot get dirty bitmap");
	}
	ret = build_vmstate(m, cfg, &w, err, errlen);
	if (!ret)
		ret = write_vmstate(&w, &state, p->snapshot_path, err, errlen);
	/* After the devices completed their I/O into guest memory (build_vmstate). */
	if (!ret && tracking) {
		ret = snapshot_mem_take_dirty(m->mem, m->vm, dirty);
		if (ret)
			os_errorf(err, errlen, ret, "Cannot get dirty bitmap");
	}
	if (!ret) {
		written = write_memory(m, p->type == SNAPSHOT_DIFF ? dirty : NULL, &mem,
				       p->mem_file_path, err, errlen);
		ret = written < 0 ? (int)written : 0;
	}
	if (!ret)
		ret = commit_files(&mem, &state, err, errlen);
	if (ret) {
		temp_discard(&mem);
		temp_discard(&state);
		/* The next snapshot must still see these pages as dirty. */
		if (dirty)
			guest_mem_return_dirty(m->mem, dirty);
	} else {
		log_info("'create %s snapshot' took %" PRIu64 " us: %zu bytes of state, %" PRId64
			 " bytes of memory",
			 p->type == SNAPSHOT_DIFF ? "diff" : "full", now_us() - start, w.len,
			 written);
	}
	vmstate_writer_free(&w);
	free(dirty);
	return ret;
}

/* ---- load: reading the vmstate -------------------------------------------------------- */

/* Everything decoded and checked before the VM is built. */
struct restore_plan {
	struct vmstate_file file;
	uint8_t *data;
	struct vcpu_saved_state *vcpus;
	unsigned int nr_vcpus;
	struct vm_saved_state vm;
	bool clock_realtime;
	struct cpu_template *cpu_template; /* the VM's, checked against the host; NULL: none */
	const char *mem_file;		   /* File backend: the memory file; NULL: Uffd */
};

static void plan_free(struct restore_plan *plan)
{
	for (unsigned int i = 0; plan->vcpus && i < plan->nr_vcpus; i++)
		vcpu_state_free(&plan->vcpus[i]);
	free(plan->vcpus);
	free(plan->data);
	cpu_template_free(plan->cpu_template);
	memset(plan, 0, sizeof(*plan));
}

#define STATE_FILE_ERR "Failed to get snapshot state from file: "
#define LOAD_STATE_ERR STATE_FILE_ERR "Failed to load snapshot state from file: "
#define SERDE_ERR      LOAD_STATE_ERR "An error occured with serialization/deserialization: "

static int section_error(char *err, size_t errlen, uint32_t tag, uint32_t instance,
			 const char *problem)
{
	char name[5];

	vmstate_tag_name(tag, name);
	errorf(err, errlen, SERDE_ERR "section %s %u %s", name, instance, problem);
	return -EINVAL;
}

static int find_section(const struct restore_plan *plan, uint32_t tag, uint32_t instance,
			struct vmstate_reader *r, char *err, size_t errlen)
{
	if (vmstate_find(&plan->file, tag, instance, r))
		return 0;
	return section_error(err, errlen, tag, instance, "is missing");
}

static int read_state_file(struct restore_plan *plan, const char *path, char *err, size_t errlen)
{
	char why[512];
	size_t len;
	int ret = vmstate_read_file(path, &plan->data, &len, why, sizeof(why));

	if (ret) {
		errorf(err, errlen, STATE_FILE_ERR "%s", why);
		return ret;
	}
	ret = vmstate_open(&plan->file, plan->data, len, why, sizeof(why));
	if (ret)
		errorf(err, errlen, LOAD_STATE_ERR "%s", why);
	return ret;
}

static int decode_config(struct restore_plan *plan, struct vm_config *snap, char *err,
			 size_t errlen)
{
	struct vmstate_reader r;
	int ret = find_section(plan, SNAPSHOT_CONF_TAG, 0, &r, err, errlen);

	if (ret)
		return ret;
	ret = snapshot_config_decode(&r, snap);
	if (ret)
		return section_error(err, errlen, SNAPSHOT_CONF_TAG, 0, "is malformed");
	/* Optional: only a VM whose MMDS was configured has one. */
	if (vmstate_find(&plan->file, SNAPSHOT_MMDS_TAG, 0, &r) && snapshot_mmds_decode(&r, snap))
		return section_error(err, errlen, SNAPSHOT_MMDS_TAG, 0, "is malformed");
	/* Optional: only a VM with pmem devices has one; their files are mapped again. */
	if (vmstate_find(&plan->file, SNAPSHOT_PMEM_TAG, 0, &r) && snapshot_pmem_decode(&r, snap))
		return section_error(err, errlen, SNAPSHOT_PMEM_TAG, 0, "is malformed");
	/* Optional too: a custom CPU template (older snapshots have none). */
	if (vmstate_find(&plan->file, SNAPSHOT_CPUT_TAG, 0, &r) &&
	    snapshot_cpu_template_decode(&r, snap))
		return section_error(err, errlen, SNAPSHOT_CPUT_TAG, 0, "is malformed");
	/* Optional: only a VM with memory hotplug has one. */
	if (vmstate_find(&plan->file, SNAPSHOT_MHPL_TAG, 0, &r) &&
	    snapshot_hotplug_decode(&r, snap))
		return section_error(err, errlen, SNAPSHOT_MHPL_TAG, 0, "is malformed");
	return 0;
}

/* The CPU template the snapshot's VM booted with (custom, or static by name), for restore_state. */
static int select_cpu_template(struct restore_plan *plan, const struct vm_config *snap, char *err,
			       size_t errlen)
{
	const struct cpu_template *t = NULL;
	char why[256];
	int ret = cpu_template_for_vm(&snap->machine, &t, why, sizeof(why));

	if (ret) {
		errorf(err, errlen, "Failed to build microVM from snapshot: %s", why);
		return ret;
	}
	if (!t)
		return 0;
	plan->cpu_template = cpu_template_dup(t);
	return plan->cpu_template ? 0 : os_errorf(err, errlen, -ENOMEM, LOAD_STATE_ERR "decoding");
}

static int decode_machine_state(struct restore_plan *plan, char *err, size_t errlen)
{
	struct vmstate_reader r;
	int ret;

	plan->vcpus = calloc(plan->nr_vcpus, sizeof(*plan->vcpus));
	if (!plan->vcpus)
		return os_errorf(err, errlen, -ENOMEM, LOAD_STATE_ERR "decoding");
	for (unsigned int i = 0; i < plan->nr_vcpus; i++) {
		ret = find_section(plan, VCPU_STATE_TAG, i, &r, err, errlen);
		if (ret)
			return ret;
		if (vcpu_state_decode(&r, &plan->vcpus[i]))
			return section_error(err, errlen, VCPU_STATE_TAG, i, "is malformed");
	}
	ret = find_section(plan, VM_STATE_TAG, 0, &r, err, errlen);
	if (ret)
		return ret;
	if (vm_state_decode(&r, &plan->vm))
		return section_error(err, errlen, VM_STATE_TAG, 0, "is malformed");
	return 0;
}

/* network_overrides and vsock_override, applied to the snapshot's configuration. */
static int apply_overrides(const struct snapshot_load_params *p, struct vm_config *snap, char *err,
			   size_t errlen)
{
	for (unsigned int i = 0; i < p->nr_net_overrides; i++) {
		const struct net_override *o = &p->net_overrides[i];
		struct net_config *n = NULL;
		char *name;

		for (unsigned int j = 0; j < snap->nr_nets; j++)
			if (!strcmp(snap->nets[j].iface_id, o->iface_id))
				n = &snap->nets[j];
		if (!n) {
			errorf(err, errlen, STATE_FILE_ERR "Unknown Network Device.");
			return -ENODEV;
		}
		name = strdup(o->host_dev_name);
		if (!name)
			return os_errorf(err, errlen, -ENOMEM, STATE_FILE_ERR "override");
		free(n->host_dev_name);
		n->host_dev_name = name;
	}
	if (p->vsock_uds_path) {
		char *path;

		if (!snap->has_vsock) {
			errorf(err, errlen, STATE_FILE_ERR "Unknown Vsock Device.");
			return -ENODEV;
		}
		path = strdup(p->vsock_uds_path);
		if (!path)
			return os_errorf(err, errlen, -ENOMEM, STATE_FILE_ERR "override");
		free(snap->vsock.uds_path);
		snap->vsock.uds_path = path;
	}
	return 0;
}

#define SWAP(a, b)                                                                                 \
	do {                                                                                       \
		__typeof__(a) tmp_ = (a);                                                          \
		(a) = (b);                                                                         \
		(b) = tmp_;                                                                        \
	} while (0)

/*
 * The snapshot's machine and devices take the place of @cfg's (which a load
 * only allows to be the defaults); serial, logger and metrics stay. @snap
 * gets the old ones, for vm_config_free().
 */
static void adopt_config(struct vm_config *cfg, struct vm_config *snap, bool track_dirty_pages)
{
	SWAP(cfg->has_mmds_config, snap->has_mmds_config);
	SWAP(cfg->mmds_config, snap->mmds_config);
	SWAP(cfg->machine, snap->machine);
	SWAP(cfg->drives, snap->drives);
	SWAP(cfg->nr_drives, snap->nr_drives);
	SWAP(cfg->nets, snap->nets);
	SWAP(cfg->nr_nets, snap->nr_nets);
	SWAP(cfg->pmems, snap->pmems);
	SWAP(cfg->nr_pmems, snap->nr_pmems);
	SWAP(cfg->has_vsock, snap->has_vsock);
	SWAP(cfg->vsock, snap->vsock);
	SWAP(cfg->has_entropy, snap->has_entropy);
	SWAP(cfg->entropy, snap->entropy);
	SWAP(cfg->has_balloon, snap->has_balloon);
	SWAP(cfg->balloon, snap->balloon);
	SWAP(cfg->has_memory_hotplug, snap->has_memory_hotplug);
	SWAP(cfg->memory_hotplug, snap->memory_hotplug);
	cfg->machine.track_dirty_pages = track_dirty_pages;
}

/* ---- load: guest memory -------------------------------------------------------------- */

#define GUEST_MEM_ERR "Failed to load guest memory: "

static int memory_from_file(const struct snapshot_machine *m, const struct vm_config *cfg,
			    const char *path, char *err, size_t errlen)
{
	uint64_t size = cfg->machine.mem_size_mib << 20;
	struct stat st;
	int fd, ret;

	if (cfg->machine.huge_pages == HUGE_PAGES_2M) {
		errorf(err, errlen,
		       GUEST_MEM_ERR "Error creating guest memory from file: Cannot restore "
				     "hugetlbfs backed snapshot by mapping the memory file. Please "
				     "use uffd.");
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return os_errorf(err, errlen, -errno,
				 GUEST_MEM_ERR "Error creating guest memory from file: Failed to "
					       "load guest memory");
	ret = fstat(fd, &st) < 0 ? -errno : 0;
	/* A short file would turn guest accesses past its end into SIGBUS. */
	if (!ret && (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < size)) {
		close(fd);
		errorf(err, errlen,
		       GUEST_MEM_ERR "Error creating guest memory from file: Failed to restore "
				     "guest memory: the memory file %s is %lld bytes, the snapshot "
				     "needs %" PRIu64,
		       path, (long long)st.st_size, size);
		return -EINVAL;
	}
	if (!ret)
		ret = guest_mem_create_from_file(m->mem, size, fd);
	close(fd);
	if (ret)
		return os_errorf(err, errlen, ret,
				 GUEST_MEM_ERR "Error creating guest memory from file: Failed to "
					       "restore guest memory");
	return 0;
}

static int memory_from_uffd(const struct snapshot_machine *m, const struct vm_config *cfg,
			    const char *path, char *err, size_t errlen)
{
	/*
	 * virtio-mem's whole region goes to the handler too (Firecracker 1.16),
	 * so it is mapped now and the device, built later, borrows it. Its size
	 * comes from the MHPL section, bounded by its decoder.
	 */
	uint64_t hotplug_size =
	    cfg->has_memory_hotplug ? cfg->memory_hotplug.total_size_mib << 20 : 0;
	char why[512];
	int ret = guest_mem_create_anon(m->mem, cfg->machine.mem_size_mib << 20,
					cfg->machine.huge_pages == HUGE_PAGES_2M);

	if (ret)
		return os_errorf(err, errlen, ret,
				 GUEST_MEM_ERR "Error creating guest memory from uffd: Failed to "
					       "restore guest memory");
	ret = uffd_backend_connect(m->uffd, m->mem, hotplug_size, path, why, sizeof(why));
	if (ret) {
		guest_mem_destroy(m->mem);
		errorf(err, errlen, GUEST_MEM_ERR "Error creating guest memory from uffd: %s", why);
	}
	return ret;
}

/* ---- load: state into the new VM ------------------------------------------------------- */

static int restore_devices(const struct snapshot_machine *m, const struct restore_plan *plan,
			   char *err, size_t errlen)
{
	struct vmstate_reader r;
	int ret;

	for (unsigned int i = 0; i < m->nr_virtio; i++) {
		ret = find_section(plan, SNAPSHOT_VIRTIO_TAG, i, &r, err, errlen);
		if (!ret && virtio_mmio_restore(m->virtio[i], &r))
			ret = section_error(err, errlen, SNAPSHOT_VIRTIO_TAG, i,
					    "does not match the device");
		if (ret)
			return ret;
	}
	ret = find_section(plan, SNAPSHOT_UART_TAG, 0, &r, err, errlen);
	if (!ret && (serial_restore(m->serial, &r) || vmstate_reader_end(&r)))
		ret = section_error(err, errlen, SNAPSHOT_UART_TAG, 0, "is malformed");
	if (!ret)
		ret = find_section(plan, SNAPSHOT_I8042_TAG, 0, &r, err, errlen);
	if (!ret && (i8042_restore(m->i8042, &r) || vmstate_reader_end(&r)))
		ret = section_error(err, errlen, SNAPSHOT_I8042_TAG, 0, "is malformed");
	if (!ret)
		ret = find_section(plan, SNAPSHOT_VMGENID_TAG, 0, &r, err, errlen);
	if (!ret && vmgenid_restore(m->vmgenid, &r))
		ret = section_error(err, errlen, SNAPSHOT_VMGENID_TAG, 0,
				    "does not match the device");
	if (!ret)
		ret = find_section(plan, SNAPSHOT_VMCLOCK_TAG, 0, &r, err, errlen);
	if (!ret && vmclock_restore(m->vmclock, &r))
		ret = section_error(err, errlen, SNAPSHOT_VMCLOCK_TAG, 0,
				    "does not match the device");
	return ret;
}

/*
 * Clones must know they are clones: a new generation ID and VMClock
 * disruption, each announced by its GED interrupt, held by the restored
 * irqchip until the vCPUs run.
 */
static int new_generation(const struct snapshot_machine *m, char *err, size_t errlen)
{
	int ret = vmgenid_new_generation(m->vmgenid, m->mem);

	if (!ret)
		ret = vmclock_new_generation(m->vmclock, m->mem);
	if (ret)
		os_errorf(err, errlen, ret, "Cannot notify the guest of its new generation");
	return ret;
}

/* snapshot_build_fn callback: the vCPUs and devices exist, nothing runs yet. */
static int restore_state(const struct snapshot_machine *m, void *ctx, char *err, size_t errlen)
{
	const struct restore_plan *plan = ctx;
	char why[256];
	int ret = 0;

	/* The saved CPUID shows the guest what the template exposed: this host must have it. */
	if (plan->cpu_template)
		ret = cpu_template_host_check(plan->cpu_template, m->vm->supported_cpuid, why,
					      sizeof(why));
	for (unsigned int i = 0; !ret && i < plan->nr_vcpus; i++)
		ret = vcpu_state_apply(&m->vcpus->vcpus[i], &plan->vcpus[i], why, sizeof(why));
	if (!ret)
		ret = vm_state_apply(m->vm, &plan->vm, plan->clock_realtime, why, sizeof(why));
	if (ret) {
		errorf(err, errlen, "%s", why);
		return ret;
	}
	ret = restore_devices(m, plan, why, sizeof(why));
	if (ret) {
		errorf(err, errlen, "Cannot restore devices: %s", why);
		return ret;
	}
	/*
	 * After the device: its restored state says which blocks are plugged.
	 * Uffd: nothing to copy, the handler fills the region's pages on fault.
	 */
	if (m->hotplug && plan->mem_file) {
		ret = snapshot_hotplug_load(m->hotplug, plan->mem_file, m->mem->size, why,
					    sizeof(why));
		if (ret) {
			errorf(err, errlen, GUEST_MEM_ERR "%s", why);
			return ret;
		}
	}
	return new_generation(m, err, errlen);
}

int snapshot_load(const struct snapshot_machine *m, const struct snapshot_load_params *p,
		  struct vm_config *cfg, char *err, size_t errlen)
{
	struct restore_plan plan = {
	    .clock_realtime = p->clock_realtime,
	    .mem_file = p->backend_type == MEM_BACKEND_UFFD ? NULL : p->backend_path,
	};
	struct vm_config snap;
	uint64_t start = now_us();
	int ret;

	vm_config_init(&snap);
	ret = read_state_file(&plan, p->snapshot_path, err, errlen);
	if (!ret)
		ret = decode_config(&plan, &snap, err, errlen);
	if (!ret)
		ret = select_cpu_template(&plan, &snap, err, errlen);
	if (!ret) {
		plan.nr_vcpus = snap.machine.vcpu_count;
		ret = decode_machine_state(&plan, err, errlen);
	}
	if (!ret)
		ret = apply_overrides(p, &snap, err, errlen);
	if (!ret) {
		adopt_config(cfg, &snap, p->track_dirty_pages);
		ret = p->backend_type == MEM_BACKEND_UFFD
			  ? memory_from_uffd(m, cfg, p->backend_path, err, errlen)
			  : memory_from_file(m, cfg, p->backend_path, err, errlen);
	}
	if (!ret && p->track_dirty_pages) {
		ret = guest_mem_track_dirty(m->mem);
		if (ret) {
			guest_mem_destroy(m->mem);
			uffd_backend_close(m->uffd);
			os_errorf(err, errlen, ret, GUEST_MEM_ERR "dirty page tracking");
		}
	}
	/* From here on a failure tears down everything, memory included. */
	if (!ret) {
		char why[512] = ""; /* half of the API's fault message */

		ret = m->build_restored(m->vmm, cfg, restore_state, &plan, why, sizeof(why));
		if (ret)
			errorf(err, errlen, "Failed to build microVM from snapshot: %s", why);
	}
	if (!ret)
		log_info("'load snapshot' took %" PRIu64 " us", now_us() - start);
	plan_free(&plan);
	vm_config_free(&snap);
	return ret;
}
