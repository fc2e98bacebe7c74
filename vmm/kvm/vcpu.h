/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vCPUs: one thread each, running KVM_RUN and dispatching PIO/MMIO exits to
 * the buses. Pause and stop kick every vCPU out of KVM_RUN with a signal plus
 * kvm_run->immediate_exit (no polling), then park it on a condition variable.
 */
#ifndef EMBER_VCPU_H
#define EMBER_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct bus;
struct kvm_run;
struct kvm_vm;
struct kvm_cpuid2;
struct seccomp_filters;
struct kernel_info;
struct cpu_template;

/* What a vCPU needs from the VM around it. */
struct vcpu_env {
	const struct bus *pio;
	const struct bus *mmio;
	/* The guest ended the VM (reset, triple fault, fatal exit); first caller wins. */
	void (*request_exit)(void *ctx, int exit_code);
	void *ctx;
	/* Installed by each vCPU thread before its first KVM_RUN; NULL: none. */
	const struct seccomp_filters *seccomp;
};

enum vcpu_run_state { VCPUS_RUN, VCPUS_PAUSE, VCPUS_STOP };

struct vcpu;

/* Work a parked vCPU does on its own thread (snapshot state capture). 0 or -errno. */
typedef int (*vcpu_task_fn)(struct vcpu *v, void *ctx);

/* Shared by all vCPUs of one VM. */
struct vcpu_group {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum vcpu_run_state want;
	unsigned int nr_parked;
	unsigned int nr_vcpus;
	struct vcpu *vcpus;
	/* vcpu_group_run_parked(): the current task, its round and what is left of it. */
	vcpu_task_fn task;
	void *task_ctx;
	unsigned int task_round;
	unsigned int task_pending;
	int task_err;
};

struct vcpu {
	uint32_t id;
	int fd;
	struct kvm_run *run;
	int run_size;
	pthread_t thread;
	bool thread_started;
	const struct vcpu_env *env;
	struct vcpu_group *group;
	int stats_fd;		 /* KVM_GET_STATS_FD, -1 if unsupported */
	unsigned int task_round; /* last vcpu_group_run_parked() round run */
};

/* Boot state for every vCPU: the kernel's 64-bit entry, CPUID, MSRs, LAPIC. */
struct vcpu_boot {
	const struct kvm_cpuid2 *supported_cpuid;
	const struct kernel_info *kernel;
	bool smt;
	/* NULL, or a template checked by cpu_template_check() against this VM. */
	const struct cpu_template *cpu_template;
	/* Where a template MSR KVM lacks is reported, in Firecracker's words. */
	char *err;
	size_t errlen;
};

int vcpu_group_init(struct vcpu_group *g, unsigned int nr_vcpus);
void vcpu_group_destroy(struct vcpu_group *g);

int vcpu_create(struct vcpu *v, struct kvm_vm *vm, uint32_t id, struct vcpu_group *g,
		const struct vcpu_env *env);
int vcpu_configure(struct vcpu *v, const struct vcpu_boot *boot);
void vcpu_destroy(struct vcpu *v);

/* Start all threads; they run until paused or stopped. */
int vcpu_group_start(struct vcpu_group *g);
/* Return once every vCPU is out of KVM_RUN and parked (at once when halted). */
void vcpu_group_pause(struct vcpu_group *g);
/* Let parked vCPUs run again; a halted group stays halted. */
void vcpu_group_resume(struct vcpu_group *g);
/*
 * The guest ended the VM: no vCPU enters KVM_RUN again; each thread leaves
 * its loop at its next exit (the caller's own at once). Sends no signal and
 * does not wait, so a vCPU thread may call it (the i8042 reset arrives on
 * one) under its seccomp filter. Pause, resume and parked tasks become
 * no-ops.
 */
void vcpu_group_halt(struct vcpu_group *g);
/* Halt, and kick every vCPU out of KVM_RUN now (VMM thread: sends signals). */
void vcpu_group_halt_all(struct vcpu_group *g);
/* Halt, then join every vCPU thread. */
void vcpu_group_stop(struct vcpu_group *g);

/* Start all threads parked, as after vcpu_group_pause() (a restored VM waits for resume). */
int vcpu_group_start_paused(struct vcpu_group *g);
/*
 * With the group paused: every started vCPU thread first lets KVM complete
 * the exit it handled last (KVM_RUN with immediate_exit: the data of a
 * PIO/MMIO read is taken, a PIO write's instruction is skipped, no further
 * guest instruction runs), then runs @fn. All vCPUs in parallel; returns
 * once each is done, with the first error. A snapshot's vCPU state is then
 * between two instructions, so a restored guest neither repeats nor loses one.
 */
int vcpu_group_run_parked(struct vcpu_group *g, vcpu_task_fn fn, void *ctx);

/* Install the kick signal handler (once per process, before any vCPU runs). */
int vcpu_signals_init(void);

/* Read a named per-vCPU KVM statistic (e.g. "insn_emulation"); -ENOENT if absent. */
int vcpu_read_stat(struct vcpu *v, const char *name, uint64_t *value);

#endif
