/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How the guest kernel learns about its virtio-mmio devices: from the DSDT
 * (LNRO0005 devices, see acpi.h) or from `virtio_mmio.device=` entries on
 * its command line. Never both: a kernel built with ACPI and with
 * CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES would register every device twice and
 * fail the second time (-EBUSY on the MMIO window, an error per device in
 * dmesg); Firecracker accepts that, Ember does not.
 *
 * The rule, in order:
 *  1. `acpi=off` in the boot arguments: the command line (the kernel will
 *     not read the DSDT).
 *  2. The loaded kernel image contains the parameter name
 *     "virtio_mmio.device": it is built with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES
 *     (the name is the kernel_param's, compiled into vmlinux): the command
 *     line, the form it has always been given. Kernels without ACPI
 *     (Firecracker's classic microVM configs, Ember's test guest) need it;
 *     kernels with both get their devices once.
 *  3. Otherwise the DSDT: kernels without the command-line parameter, such as
 *     Debian's (virtio_mmio a module, no CMDLINE_DEVICES), find their
 *     devices only through ACPI.
 *
 * Step 2 reads an uncompressed kernel (ELF vmlinux, or a bzImage whose
 * payload is not compressed). A compressed bzImage hides the name: it gets
 * the DSDT, which a kernel with ACPI reads whatever else it supports; a
 * compressed kernel WITHOUT ACPI must be booted with `acpi=off` to get the
 * command-line form. The MP table is written in every case.
 */
#ifndef EMBER_VIRTIO_DISCOVERY_H
#define EMBER_VIRTIO_DISCOVERY_H

#include <stdbool.h>

#include "vmm/boot/loader.h"
#include "vmm/mem/guest_mem.h"

#define VIRTIO_CMDLINE_PARAM "virtio_mmio.device"

enum virtio_discovery {
	VIRTIO_DISCOVERY_ACPI,	  /* LNRO0005 devices in the DSDT */
	VIRTIO_DISCOVERY_CMDLINE, /* virtio_mmio.device= entries */
};

/* @token is one of the space-separated kernel arguments in @args (before "--"). */
bool cmdline_has_arg(const char *args, const char *token);

/* The kernel loaded as @ki contains VIRTIO_CMDLINE_PARAM (see above). */
bool kernel_takes_virtio_cmdline(const struct guest_mem *mem, const struct kernel_info *ki);

/* The rule above, for the kernel loaded as @ki and its @boot_args (may be NULL). */
enum virtio_discovery virtio_discovery_choose(const struct guest_mem *mem,
					      const struct kernel_info *ki, const char *boot_args);

#endif
