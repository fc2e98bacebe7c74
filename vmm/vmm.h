/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The running microVM: guest memory, the KVM VM, buses, legacy devices and
 * vCPUs, assembled from a vm_config at InstanceStart. Lives on the VMM
 * thread; implements the controller's struct vmm_ops.
 */
#ifndef EMBER_VMM_H
#define EMBER_VMM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <termios.h>

#include "devices/acpi/vmclock.h"
#include "devices/acpi/vmgenid.h"
#include "devices/bus.h"
#include "vmm/controller/vmm_ops.h"
#include "vmm/base/event_loop.h"
#include "vmm/mem/guest_mem.h"
#include "vmm/kvm/kvm_vm.h"
#include "vmm/snapshot/uffd.h"
#include "vmm/kvm/vcpu.h"
#include "vmm/vmm_devices.h"

struct serial;
struct i8042;
struct boot_timer;
struct seccomp_filters;

struct vmm_options {
	bool boot_timer;	/* --boot-timer */
	uint64_t start_wall_us; /* process start, for the boot timer */
	uint64_t start_cpu_us;
	const struct seccomp_filters *seccomp; /* NULL: --no-seccomp */
	size_t mmds_size_limit;		       /* --mmds-size-limit (0: the default) */
};

struct mmds;

struct vmm {
	struct event_loop *loop;
	struct vmm_options opts;
	bool started;
	struct mmds *mmds; /* the data store, before and after boot (devices/mmds) */

	struct guest_mem mem;
	struct kvm_vm vm;
	struct bus pio_bus;
	struct bus mmio_bus;
	struct vcpu_group vcpus;
	struct vcpu_env vcpu_env;

	struct serial *serial;
	int serial_out_fd; /* 1 or an opened serial_out_path */
	bool stdin_polled;
	int rx_ready_evt; /* eventfd: guest drained the UART RX FIFO */
	bool stdin_raw;
	struct termios stdin_saved;
	struct i8042 *i8042;
	struct boot_timer *boot_timer;
	struct vmm_devices devices; /* virtio-mmio: block, net, vsock, rng */
	struct vmgenid vmgenid;	    /* for clones: new at every boot and restore */
	struct vmclock vmclock;
	struct uffd_backend uffd; /* restored with the Uffd backend */

	int exit_evt;	      /* eventfd: the VM has ended */
	atomic_int exit_code; /* -1 while running */
};

extern const struct vmm_ops kvm_vmm_ops;

int vmm_init(struct vmm *vmm, struct event_loop *loop, const struct vmm_options *opts);
void vmm_destroy(struct vmm *vmm);

/*
 * Do the configuration-independent part of VM creation now (open /dev/kvm,
 * capabilities, supported CPUID), while the VMM thread would otherwise wait
 * for the first request. A failure is reported again, properly, by
 * InstanceStart.
 */
void vmm_prepare(struct vmm *vmm);

/*
 * End the VM with @code (first caller wins); safe from any thread. The
 * vCPUs are halted at once: the calling vCPU runs no further guest code,
 * the others leave KVM_RUN at their next exit or at vmm_halt_vcpus().
 */
void vmm_request_exit(struct vmm *vmm, int code);
/* VMM thread, once the exit is seen: kick every vCPU out of KVM_RUN. */
void vmm_halt_vcpus(struct vmm *vmm);
/* -1 while the VM has not ended. */
int vmm_exit_code(struct vmm *vmm);

#endif
