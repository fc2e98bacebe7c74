// SPDX-License-Identifier: Apache-2.0
#include "vmm/kvm/vcpu.h"
#include "devices/bus.h"
#include "vmm/base/errmsg.h"
#include "vmm/kvm/cpu_template.h"
#include "vmm/kvm/cpuid.h"
#include "vmm/kvm/kvm_vm.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "vmm/kvm/msr_boot.h"
#include "vmm/seccomp/seccomp_filters.h"
#include "vmm/boot/x86_boot.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define APIC_LVT_LINT0	 0x350
#define APIC_LVT_LINT1	 0x360
#define APIC_MODE_NMI	 0x4
#define APIC_MODE_EXTINT 0x7
#define MAX_BOOT_MSRS	 32

/* The vCPU thread's kvm_run, so the kick handler can set immediate_exit. */
static _Thread_local struct kvm_run *tls_run;

static void vcpu_kick_handler(int sig)
{
	(void)sig;
	if (tls_run)
		tls_run->immediate_exit = 1;
}

static int vcpu_kick_signal(void)
{
	return SIGRTMIN;
}

int vcpu_signals_init(void)
{
	struct sigaction sa = {.sa_handler = vcpu_kick_handler};

	/* No SA_RESTART: the signal must make KVM_RUN return -EINTR. */
	sigemptyset(&sa.sa_mask);
	return sigaction(vcpu_kick_signal(), &sa, NULL) < 0 ? -errno : 0;
}

int vcpu_group_init(struct vcpu_group *g, unsigned int nr_vcpus)
{
	memset(g, 0, sizeof(*g));
	g->vcpus = calloc(nr_vcpus, sizeof(*g->vcpus));
	if (!g->vcpus)
		return -ENOMEM;
	for (unsigned int i = 0; i < nr_vcpus; i++)
		g->vcpus[i].fd = g->vcpus[i].stats_fd = -1;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->want = VCPUS_RUN;
	g->nr_vcpus = nr_vcpus;
	return 0;
}

void vcpu_group_destroy(struct vcpu_group *g)
{
	if (!g->vcpus)
		return;
	vcpu_group_stop(g);
	for (unsigned int i = 0; i < g->nr_vcpus; i++)
		vcpu_destroy(&g->vcpus[i]);
	free(g->vcpus);
	g->vcpus = NULL;
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

int vcpu_create(struct vcpu *v, struct kvm_vm *vm, uint32_t id, struct vcpu_group *g,
		const struct vcpu_env *env)
{
	v->id = id;
	v->group = g;
	v->env = env;
	v->stats_fd = -1;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0)
		return -errno;
	v->run_size = vm->vcpu_mmap_size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		int ret = -errno;

		v->run = NULL;
		close(v->fd);
		v->fd = -1;
		return ret;
	}
	return 0;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	if (v->stats_fd >= 0)
		close(v->stats_fd);
	v->run = NULL;
	v->fd = v->stats_fd = -1;
}

static int vcpu_set_cpuid(struct vcpu *v, const struct vcpu_boot *boot)
{
	const struct kvm_cpuid2 *sup = boot->supported_cpuid;
	/* Room for the topology subleaves KVM may not report (leaf 0xb subleaf 1). */
	uint32_t max_nent = sup->nent + CPUID_EXTRA_ENTRIES;
	struct kvm_cpuid2 *cpuid = malloc(sizeof(*cpuid) + max_nent * sizeof(cpuid->entries[0]));
	int ret;

	if (!cpuid)
		return -ENOMEM;
	memcpy(cpuid, sup, sizeof(*sup) + sup->nent * sizeof(sup->entries[0]));
	/* As Firecracker: the template changes KVM's CPUID, normalization comes after. */
	ret = boot->cpu_template ? cpu_template_apply_cpuid(cpuid, boot->cpu_template,
							    &(uint32_t){0}, &(uint32_t){0})
				 : 0;
	if (!ret)
		ret = cpuid_add_topology_subleaves(cpuid, max_nent);
	if (!ret)
		ret = cpuid_normalize(cpuid, v->id, v->group->nr_vcpus, boot->smt);
	if (!ret && ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0)
		ret = -errno;
	free(cpuid);
	return ret;
}

/*
 * The template's MSRs into @msrs: their current values (the CPUID is set, so
 * they are those of this CPU model), modified. Firecracker's MsrNotSupported
 * when KVM does not have one.
 */
static int vcpu_template_msrs(struct vcpu *v, const struct vcpu_boot *boot, struct kvm_msrs *msrs)
{
	const struct cpu_template *t = boot->cpu_template;
	uint32_t addr = 0;
	int n;

	msrs->nmsrs = (uint32_t)t->nr_msrs;
	for (size_t i = 0; i < t->nr_msrs; i++)
		msrs->entries[i] = (struct kvm_msr_entry){.index = t->msrs[i].addr};
	n = ioctl(v->fd, KVM_GET_MSRS, msrs);
	if (n < 0)
		return -errno;
	/* KVM_GET_MSRS stops at the first MSR it does not know. */
	msrs->nmsrs = (uint32_t)n;
	if (cpu_template_apply_msrs(msrs->entries, msrs->nmsrs, t, &addr))
		return err_set(boot->err, boot->errlen, -ENOENT,
			       "System configuration error: Failed to create guest config: "
			       "Template changes an MSR entry not supported by KVM: Register "
			       "Address: %x",
			       addr);
	return 0;
}

static int vcpu_set_msrs(struct vcpu *v, const struct vcpu_boot *boot)
{
	size_t nr_tpl = boot->cpu_template ? boot->cpu_template->nr_msrs : 0;
	size_t max = nr_tpl + MAX_BOOT_MSRS;
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + max * sizeof(msrs->entries[0]));
	int n, ret = 0;

	if (!msrs)
		return -ENOMEM;
	if (nr_tpl)
		ret = vcpu_template_msrs(v, boot, msrs);
	/* The boot MSRs come after the template's, so they win, as in Firecracker. */
	if (!ret)
		msrs->nmsrs += msr_boot_entries(msrs->entries + msrs->nmsrs, max - msrs->nmsrs);
	n = ret ? 0 : ioctl(v->fd, KVM_SET_MSRS, msrs);
	if (!ret && n < 0)
		ret = -errno;
	/* KVM_SET_MSRS returns how many it set; a short count names the bad MSR. */
	if (!ret && (uint32_t)n != msrs->nmsrs) {
		log_error("vcpu %u: KVM_SET_MSRS stopped at MSR %#x", v->id,
			  msrs->entries[n].index);
		ret = -EINVAL;
	}
	free(msrs);
	return ret;
}

static int vcpu_set_regs(struct vcpu *v, const struct vcpu_boot *boot)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	x86_boot_sregs(&sregs, boot->kernel);
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	memset(&regs, 0, sizeof(regs));
	x86_boot_regs(&regs, boot->kernel);
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	memset(&fpu, 0, sizeof(fpu));
	x86_boot_fpu(&fpu);
	return ioctl(v->fd, KVM_SET_FPU, &fpu) < 0 ? -errno : 0;
}

static void apic_set_delivery_mode(struct kvm_lapic_state *lapic, unsigned int reg, uint32_t mode)
{
	uint32_t val;

	memcpy(&val, &lapic->regs[reg], sizeof(val));
	val = (val & ~0x700u) | (mode << 8);
	memcpy(&lapic->regs[reg], &val, sizeof(val));
}

/* LINT0 = ExtINT (the 8259 PIC), LINT1 = NMI, as the MP table announces. */
static int vcpu_set_lint(struct vcpu *v)
{
	struct kvm_lapic_state lapic;

	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	apic_set_delivery_mode(&lapic, APIC_LVT_LINT0, APIC_MODE_EXTINT);
	apic_set_delivery_mode(&lapic, APIC_LVT_LINT1, APIC_MODE_NMI);
	return ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0 ? -errno : 0;
}

int vcpu_configure(struct vcpu *v, const struct vcpu_boot *boot)
{
	int ret;

	ret = vcpu_set_cpuid(v, boot);
	if (!ret)
		ret = vcpu_set_msrs(v, boot);
	if (!ret)
		ret = vcpu_set_regs(v, boot);
	if (!ret)
		ret = vcpu_set_lint(v);
	return ret;
}

static void vcpu_log_regs(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return;
	log_error("vcpu %u: rip=%#llx rsp=%#llx rflags=%#llx rax=%#llx rbx=%#llx rcx=%#llx "
		  "rdx=%#llx rsi=%#llx rdi=%#llx cr0=%#llx cr3=%#llx cr4=%#llx efer=%#llx cs=%#x",
		  v->id, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, s.cr0,
		  s.cr3, s.cr4, s.efer, s.cs.selector);
}

static void vcpu_handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint64_t span = (uint64_t)run->io.size * run->io.count;

	/* The kernel fills these, but a bad offset would make us scribble. */
	if (run->io.data_offset >= (uint64_t)v->run_size ||
	    span > (uint64_t)v->run_size - run->io.data_offset)
		return;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			metric_inc(&g_metrics.vcpu.exit_io_out);
			bus_write(v->env->pio, run->io.port, data, run->io.size);
		} else {
			metric_inc(&g_metrics.vcpu.exit_io_in);
			/* Nothing there: an ISA bus floats high. */
			if (!bus_read(v->env->pio, run->io.port, data, run->io.size))
				memset(data, 0xff, run->io.size);
		}
	}
}

static void vcpu_handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len > 8 ? 8 : run->mmio.len;

	if (run->mmio.is_write) {
		metric_inc(&g_metrics.vcpu.exit_mmio_write);
		if (!bus_write(v->env->mmio, run->mmio.phys_addr, run->mmio.data, len))
			log_debug("vcpu %u: unhandled MMIO write at %#llx", v->id,
				  run->mmio.phys_addr);
	} else {
		metric_inc(&g_metrics.vcpu.exit_mmio_read);
		if (!bus_read(v->env->mmio, run->mmio.phys_addr, run->mmio.data, len))
			memset(run->mmio.data, 0, len);
	}
}

/* Returns -1 to keep running, or the process exit code the VM ends with. */
static int vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(v);
		return -1;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(v);
		return -1;
	case KVM_EXIT_HLT:
	case KVM_EXIT_INTR:
		return -1;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault is how `reboot=t` reboots; like Firecracker, a clean stop. */
		log_info("vcpu %u: Received KVM_EXIT_SHUTDOWN signal", v->id);
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
		case KVM_SYSTEM_EVENT_RESET:
			log_info("vcpu %u: Received KVM_SYSTEM_EVENT: type %u", v->id,
				 run->system_event.type);
			return 0;
		default:
			log_error("vcpu %u: Received KVM_SYSTEM_EVENT: unexpected type %u", v->id,
				  run->system_event.type);
			return 1;
		}
	case KVM_EXIT_FAIL_ENTRY:
		log_error("vcpu %u: KVM_EXIT_FAIL_ENTRY, hardware entry failure reason %#llx",
			  v->id, (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vcpu_log_regs(v);
		metric_inc(&g_metrics.vcpu.failures);
		return 1;
	case KVM_EXIT_INTERNAL_ERROR:
		log_error("vcpu %u: KVM_EXIT_INTERNAL_ERROR, suberror %u", v->id,
			  run->internal.suberror);
		vcpu_log_regs(v);
		metric_inc(&g_metrics.vcpu.failures);
		return 1;
	default:
		log_error("vcpu %u: unexpected KVM exit reason %u", v->id, run->exit_reason);
		vcpu_log_regs(v);
		metric_inc(&g_metrics.vcpu.failures);
		return 1;
	}
}

/*
 * KVM finishes a PIO/MMIO exit only when KVM_RUN is entered again. With
 * immediate_exit set it does just that and returns -EINTR before running
 * the guest; a string instruction may need another round trip to userspace
 * first (KVM_RUN returns 0 with the next exit), which is handled like any.
 */
static int vcpu_complete_pending_io(struct vcpu *v)
{
	int ret = 0, code;

	v->run->immediate_exit = 1;
	for (;;) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno != EINTR && errno != EAGAIN)
				ret = -errno;
			break;
		}
		code = vcpu_handle_exit(v);
		if (code >= 0) {
			/* The guest ended the VM on its way out, as vcpu_thread() would see it. */
			v->env->request_exit(v->env->ctx, code);
			break;
		}
	}
	v->run->immediate_exit = 0;
	return ret;
}

/* Called parked, with the group lock held: run a task posted since the last one. */
static void vcpu_run_task(struct vcpu *v, bool done)
{
	struct vcpu_group *g = v->group;
	vcpu_task_fn fn = g->task;
	void *ctx = g->task_ctx;
	int ret;

	if (!fn || v->task_round == g->task_round)
		return;
	v->task_round = g->task_round;
	pthread_mutex_unlock(&g->lock);
	ret = done ? 0 : vcpu_complete_pending_io(v);
	if (!ret)
		ret = fn(v, ctx);
	pthread_mutex_lock(&g->lock);
	if (ret && !g->task_err)
		g->task_err = ret;
	g->task_pending--;
	pthread_cond_broadcast(&g->cond);
}

/*
 * Park while the group wants PAUSE (or forever once this vCPU has ended the
 * VM, until STOP), running the tasks posted meanwhile. Returns false when
 * the thread must exit.
 */
static bool vcpu_park(struct vcpu *v, bool done)
{
	struct vcpu_group *g = v->group;
	bool keep_running;

	pthread_mutex_lock(&g->lock);
	while (g->want == VCPUS_PAUSE || (done && g->want != VCPUS_STOP)) {
		g->nr_parked++;
		pthread_cond_broadcast(&g->cond);
		vcpu_run_task(v, done);
		pthread_cond_wait(&g->cond, &g->lock);
		vcpu_run_task(v, done);
		g->nr_parked--;
	}
	keep_running = g->want != VCPUS_STOP;
	pthread_mutex_unlock(&g->lock);
	return keep_running;
}

/* Before the guest runs on this thread; without its filter the vCPU ends the VM. */
static bool vcpu_install_seccomp(struct vcpu *v)
{
	int ret = seccomp_install(v->env->seccomp, SECCOMP_VCPU);

	if (!ret)
		return true;
	log_error("vcpu %u: cannot install the seccomp filter: %s", v->id, strerror(-ret));
	v->env->request_exit(v->env->ctx, 1);
	vcpu_park(v, true);
	return false;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	char name[16];
	sigset_t set;

	snprintf(name, sizeof(name), "fc_vcpu %u", v->id);
	log_set_thread_name(name);
	pthread_setname_np(pthread_self(), name);
	tls_run = v->run;
	sigemptyset(&set);
	sigaddset(&set, vcpu_kick_signal());
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (!vcpu_install_seccomp(v)) {
		tls_run = NULL;
		return NULL;
	}

	while (vcpu_park(v, false)) {
		int code;

		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			log_error("vcpu %u: KVM_RUN failed: %s", v->id, strerror(errno));
			metric_inc(&g_metrics.vcpu.failures);
			code = 1;
		} else {
			code = vcpu_handle_exit(v);
			if (code < 0)
				continue;
		}
		v->env->request_exit(v->env->ctx, code);
		vcpu_park(v, true);
		break;
	}
	tls_run = NULL;
	return NULL;
}

int vcpu_group_start(struct vcpu_group *g)
{
	sigset_t set, old;
	int ret = 0;

	/* Threads start with the kick signal blocked and unblock it once tls_run is set. */
	sigemptyset(&set);
	sigaddset(&set, vcpu_kick_signal());
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (unsigned int i = 0; i < g->nr_vcpus; i++) {
		ret = -pthread_create(&g->vcpus[i].thread, NULL, vcpu_thread, &g->vcpus[i]);
		if (ret)
			break;
		g->vcpus[i].thread_started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

static void vcpu_group_kick(struct vcpu_group *g)
{
	for (unsigned int i = 0; i < g->nr_vcpus; i++) {
		struct vcpu *v = &g->vcpus[i];

		if (v->thread_started)
			pthread_kill(v->thread, vcpu_kick_signal());
	}
}

static unsigned int vcpu_group_nr_started(const struct vcpu_group *g)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < g->nr_vcpus; i++)
		n += g->vcpus[i].thread_started;
	return n;
}

void vcpu_group_pause(struct vcpu_group *g)
{
	unsigned int nr = vcpu_group_nr_started(g);

	pthread_mutex_lock(&g->lock);
	if (g->want == VCPUS_STOP) {
		/* Halted: the threads are leaving, none runs the guest again. */
		pthread_mutex_unlock(&g->lock);
		return;
	}
	g->want = VCPUS_PAUSE;
	pthread_mutex_unlock(&g->lock);
	vcpu_group_kick(g);
	pthread_mutex_lock(&g->lock);
	while (g->nr_parked < nr && g->want != VCPUS_STOP)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

int vcpu_group_start_paused(struct vcpu_group *g)
{
	pthread_mutex_lock(&g->lock);
	g->want = VCPUS_PAUSE;
	pthread_mutex_unlock(&g->lock);
	return vcpu_group_start(g);
}

int vcpu_group_run_parked(struct vcpu_group *g, vcpu_task_fn fn, void *ctx)
{
	unsigned int nr = vcpu_group_nr_started(g);
	int ret;

	pthread_mutex_lock(&g->lock);
	/* Threads started paused may not have reached their park yet. */
	while (g->nr_parked < nr && g->want != VCPUS_STOP)
		pthread_cond_wait(&g->cond, &g->lock);
	if (g->want == VCPUS_STOP) {
		pthread_mutex_unlock(&g->lock);
		return -ESHUTDOWN;
	}
	g->task = fn;
	g->task_ctx = ctx;
	g->task_round++;
	g->task_pending = nr;
	g->task_err = 0;
	pthread_cond_broadcast(&g->cond);
	while (g->task_pending)
		pthread_cond_wait(&g->cond, &g->lock);
	g->task = NULL;
	ret = g->task_err;
	pthread_mutex_unlock(&g->lock);
	return ret;
}

void vcpu_group_resume(struct vcpu_group *g)
{
	pthread_mutex_lock(&g->lock);
	if (g->want != VCPUS_STOP)
		g->want = VCPUS_RUN;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

void vcpu_group_halt(struct vcpu_group *g)
{
	pthread_mutex_lock(&g->lock);
	g->want = VCPUS_STOP;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

void vcpu_group_halt_all(struct vcpu_group *g)
{
	vcpu_group_halt(g);
	vcpu_group_kick(g);
}

void vcpu_group_stop(struct vcpu_group *g)
{
	vcpu_group_halt_all(g);
	for (unsigned int i = 0; i < g->nr_vcpus; i++) {
		struct vcpu *v = &g->vcpus[i];

		if (v->thread_started) {
			pthread_join(v->thread, NULL);
			v->thread_started = false;
		}
	}
}

int vcpu_read_stat(struct vcpu *v, const char *name, uint64_t *value)
{
	struct kvm_stats_header hdr;
	size_t desc_size;
	char *descs;
	int ret = -ENOENT;

	if (v->stats_fd < 0) {
		v->stats_fd = ioctl(v->fd, KVM_GET_STATS_FD, NULL);
		if (v->stats_fd < 0) {
			v->stats_fd = -1;
			return -errno;
		}
	}
	if (pread(v->stats_fd, &hdr, sizeof(hdr), 0) != sizeof(hdr))
		return -EIO;
	desc_size = sizeof(struct kvm_stats_desc) + hdr.name_size;
	descs = calloc(hdr.num_desc, desc_size);
	if (!descs)
		return -ENOMEM;
	if (pread(v->stats_fd, descs, hdr.num_desc * desc_size, hdr.desc_offset) !=
	    (ssize_t)(hdr.num_desc * desc_size)) {
		free(descs);
		return -EIO;
	}
	for (uint32_t i = 0; i < hdr.num_desc; i++) {
		struct kvm_stats_desc *d = (struct kvm_stats_desc *)(descs + i * desc_size);

		if (strncmp(d->name, name, hdr.name_size))
			continue;
		ret = pread(v->stats_fd, value, sizeof(*value), hdr.data_offset + d->offset) ==
			      sizeof(*value)
			  ? 0
			  : -EIO;
		break;
	}
	free(descs);
	return ret;
}
