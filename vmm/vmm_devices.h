/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's virtio-mmio devices, created at InstanceStart from the vm_config.
 *
 * Slot i gets the 4 KiB window LAYOUT_VIRTIO_START + i * LAYOUT_VIRTIO_STRIDE
 * and GSI LAYOUT_IRQ_BASE + i, at most VMM_MAX_VIRTIO_DEVICES (17: GSIs 5-21;
 * the two GSIs after the last device's go to VMGenID and VMClock) devices.
 * Slots are handed out the way Firecracker attaches devices: the
 * drives in configuration order (the root drive is always first, so it is
 * /dev/vda), then the network interfaces in configuration order, then the
 * pmem devices in configuration order (/dev/pmem0, 1, ...), then the vsock, then the entropy
 * device, then the balloon (last, unlike Firecracker, which attaches it first: the other devices
 * keep the addresses they had).
 *
 * Each device gets its transport on the MMIO bus, one ioeventfd per queue on
 * QueueNotify (datamatch = queue index), an irqfd on its GSI, its eventfds on
 * the VMM event loop, and a rate limiter per direction (block and rng: one;
 * net: rx and tx) that always exists, so PATCH can set limits later.
 *
 * Everything runs on the VMM thread, before the vCPUs start (setup) or after
 * they are gone (teardown); the updates run on the VMM thread while the
 * guest runs and take the devices' locks.
 */
#ifndef EMBER_VMM_DEVICES_H
#define EMBER_VMM_DEVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/config/params.h"
#include "vmm/config/vmm_config.h"

struct guest_mem;
struct kvm_vm;
struct bus;
struct event_loop;
struct rate_limiter;
struct virtio_mmio_dev;
struct mmds;

/* What the devices are attached to. */
struct vmm_device_env {
	const struct guest_mem *mem;
	struct kvm_vm *vm;
	struct bus *mmio_bus;
	struct event_loop *loop;
	struct mmds *mmds; /* net devices PUT /mmds/config named are attached to it; NULL: none */
	/*
	 * virtio-mem's region when mapped beforehand (a Uffd restore registers
	 * it with the page-fault handler), which the device borrows; NULL: the
	 * device maps its own.
	 */
	void *mem_host;
	uint64_t mem_host_size;
};

enum vmm_device_type {
	VMM_DEV_BLOCK = 1,
	VMM_DEV_NET,
	VMM_DEV_VSOCK,
	VMM_DEV_RNG,
	VMM_DEV_BALLOON,
	VMM_DEV_PMEM,
	VMM_DEV_MEM
};

#define VMM_DEVICE_MAX_LIMITERS 2 /* net: rx, tx */

struct vmm_device {
	enum vmm_device_type type;
	char *id;  /* drive_id or iface_id; NULL for vsock and rng */
	void *dev; /* struct block_dev *, struct net_dev *, ... */
	struct virtio_mmio_dev *mmio;
	struct rate_limiter *limiters[VMM_DEVICE_MAX_LIMITERS];
};

struct vmm_devices {
	struct vmm_device_env env;
	struct vmm_device devs[VMM_MAX_VIRTIO_DEVICES];
	unsigned int nr;
	/* Next guest-physical address for a pmem region, and pmem devices made so far. */
	uint64_t pmem_next_gpa;
	unsigned int nr_pmems;
};

/* The running VM's virtio-mem device, NULL if none. */
struct mem_dev *vmm_devices_mem(struct vmm_devices *d);

/* An empty set (safe to tear down). */
void vmm_devices_init(struct vmm_devices *d);

/*
 * Create and wire every device of @cfg. 0, or -errno with the reason in
 * @err; on error the devices created so far stay in @d for
 * vmm_devices_teardown().
 */
int vmm_devices_setup(struct vmm_devices *d, const struct vmm_device_env *env,
		      const struct vm_config *cfg, char *err, size_t errlen);

/*
 * The kernel command line: @base, then for each device (slot order) what
 * Firecracker adds: "root=/dev/vda" (or "root=PARTUUID=<partuuid>") and "ro"
 * or "rw" before the root drive's entry, and, when @mmio_args (the devices
 * are not in the DSDT: see vmm/boot/virtio_discovery.h),
 * "virtio_mmio.device=4K@0x<base>:<gsi>". 0, or -E2BIG when the result does
 * not fit VMM_CMDLINE_MAX bytes (NUL included), with @err filled.
 */
int vmm_devices_cmdline(const struct vmm_devices *d, const struct vm_config *cfg, const char *base,
			bool mmio_args, char *out, size_t len, char *err, size_t errlen);

/* Destroy every device (limiters first); @d is empty again. */
void vmm_devices_teardown(struct vmm_devices *d);

/*
 * Quiesce every device and freeze its rate limiters while the VM is paused
 * (virtio_mmio_pause(), rate_limiter_pause()), and undo it. VMM thread, with
 * the vCPUs parked: pause after parking them, resume before they run.
 */
void vmm_devices_pause(struct vmm_devices *d);
void vmm_devices_resume(struct vmm_devices *d);

/*
 * PATCH /drives: a new backing file (config interrupt to the guest), then
 * the limiter update. PATCH /network-interfaces: the rx/tx limiter updates.
 * 0 or -errno with @err filled (-ENODEV: no such device).
 */
int vmm_devices_update_drive(struct vmm_devices *d, const struct drive_update *u, char *err,
			     size_t errlen);
int vmm_devices_update_net(struct vmm_devices *d, const struct net_update *u, char *err,
			   size_t errlen);
/* PATCH /pmem: the flush limiter update. 0 or -ENODEV with @err filled. */
int vmm_devices_update_pmem(struct vmm_devices *d, const struct pmem_update *u, char *err,
			    size_t errlen);

/* The balloon device, NULL when the VM has none (struct balloon_dev *). */
struct balloon_dev *vmm_devices_balloon(struct vmm_devices *d);

#endif
