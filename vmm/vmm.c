// SPDX-License-Identifier: Apache-2.0
#include "vmm/vmm.h"
#include "vmm/base/errmsg.h"
#include "vmm/mem/layout.h"
#include "vmm/boot/loader.h"
#include "vmm/base/log.h"
#include "vmm/boot/mptable.h"
#include "vmm/boot/acpi.h"
#include "vmm/boot/virtio_discovery.h"
#include "vmm/seccomp/seccomp_filters.h"
#include "vmm/snapshot/snapshot.h"
#include "vmm/boot/x86_boot.h"
#include "vmm/kvm/cpu_template.h"
#include "devices/legacy/boot_timer.h"
#include "devices/mmds/mmds.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/serial.h"
#include "devices/virtio/balloon.h"
#include "devices/virtio/mem.h"
#include "devices/virtio/virtio_mmio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

int vmm_init(struct vmm *vmm, struct event_loop *loop, const struct vmm_options *opts)
{
	int ret = -ENOMEM;

	memset(vmm, 0, sizeof(*vmm));
	vmm->loop = loop;
	vmm->opts = *opts;
	vmm->mem.fd = vmm->mem.file_fd = -1;
	vmm->vm.kvm_fd = vmm->vm.vm_fd = -1;
	vmm->serial_out_fd = -1;
	vmm->rx_ready_evt = -1;
	uffd_backend_init(&vmm->uffd);
	atomic_init(&vmm->exit_code, -1);
	bus_init(&vmm->pio_bus);
	bus_init(&vmm->mmio_bus);
	vmm->exit_evt = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vmm->exit_evt < 0)
		return -errno;
	vmm->mmds = mmds_create(opts->mmds_size_limit, &ret);
	return vmm->mmds ? 0 : ret;
}

void vmm_prepare(struct vmm *vmm)
{
	char err[256];

	if (kvm_vm_prepare(&vmm->vm, err, sizeof(err)))
		log_debug("KVM not prepared ahead of InstanceStart: %s", err);
}

void vmm_request_exit(struct vmm *vmm, int code)
{
	int none = -1;
	uint64_t one = 1;

	if (!atomic_compare_exchange_strong(&vmm->exit_code, &none, code))
		return;
	/*
	 * The first request ends the guest at once: a Linux that asked for a
	 * reset keeps asking (and logging it) while it still runs.
	 */
	if (vmm->vcpus.vcpus)
		vcpu_group_halt(&vmm->vcpus);
	if (write(vmm->exit_evt, &one, sizeof(one)) < 0)
		log_error("cannot signal VM exit: %s", strerror(errno));
}

void vmm_halt_vcpus(struct vmm *vmm)
{
	if (vmm->vcpus.vcpus)
		vcpu_group_halt_all(&vmm->vcpus);
}

int vmm_exit_code(struct vmm *vmm)
{
	return atomic_load(&vmm->exit_code);
}

static void vmm_vcpu_request_exit(void *ctx, int code)
{
	vmm_request_exit(ctx, code);
}

/* i8042 command 0xFE: Linux's `reboot=k`. Ember has no reboot: the process ends. */
static void vmm_i8042_reset(void *ctx)
{
	log_info("Received reset signal from the guest (i8042); stopping the microVM");
	vmm_request_exit(ctx, 0);
}

/* ---- stdin -> serial RX ---------------------------------------------------- */

static void vmm_stdin_restore(struct vmm *vmm)
{
	if (vmm->stdin_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &vmm->stdin_saved);
	vmm->stdin_raw = false;
}

static void vmm_stdin_unpoll(struct vmm *vmm)
{
	if (vmm->stdin_polled)
		event_loop_del(vmm->loop, STDIN_FILENO);
	vmm->stdin_polled = false;
}

static void vmm_stdin_detach(struct vmm *vmm)
{
	vmm_stdin_unpoll(vmm);
	vmm_stdin_restore(vmm);
	if (vmm->rx_ready_evt >= 0) {
		event_loop_del(vmm->loop, vmm->rx_ready_evt);
		close(vmm->rx_ready_evt);
	}
	vmm->rx_ready_evt = -1;
}

static void vmm_stdin_ready(void *opaque, uint32_t events)
{
	struct vmm *vmm = opaque;
	uint8_t buf[64];
	size_t space = serial_rx_space(vmm->serial);
	ssize_t n;

	(void)events;
	if (space == 0) {
		/* Guest is not draining its FIFO: stop reading until it does. */
		vmm_stdin_unpoll(vmm);
		return;
	}
	n = read(STDIN_FILENO, buf, space < sizeof(buf) ? space : sizeof(buf));
	if (n > 0) {
		serial_enqueue_input(vmm->serial, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* EOF or error: nothing more will come. */
	vmm_stdin_unpoll(vmm);
}

static void vmm_stdin_poll(struct vmm *vmm)
{
	if (!vmm->stdin_polled &&
	    !event_loop_add(vmm->loop, STDIN_FILENO, EPOLLIN, vmm_stdin_ready, vmm))
		vmm->stdin_polled = true;
}

/*
 * The guest read from its RX FIFO (on a vCPU thread): there is room for more
 * input again. The event loop is the VMM thread's, so only signal it.
 */
static void vmm_serial_rx_ready(void *ctx)
{
	struct vmm *vmm = ctx;
	uint64_t one = 1;

	if (write(vmm->rx_ready_evt, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("cannot signal serial RX space: %s", strerror(errno));
}

static void vmm_rx_ready_event(void *opaque, uint32_t events)
{
	struct vmm *vmm = opaque;
	uint64_t v;

	(void)events;
	if (read(vmm->rx_ready_evt, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	vmm_stdin_poll(vmm);
}

/* Serial input comes from stdin when it is a terminal (put in raw mode) or a pipe. */
static void vmm_stdin_attach(struct vmm *vmm)
{
	struct stat st;

	if (fstat(STDIN_FILENO, &st) < 0)
		return;
	if (isatty(STDIN_FILENO)) {
		struct termios raw;

		if (tcgetattr(STDIN_FILENO, &vmm->stdin_saved) == 0) {
			raw = vmm->stdin_saved;
			raw.c_lflag &= ~(ICANON | ECHO | ISIG);
			vmm->stdin_raw = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
		}
	} else if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode)) {
		return;
	}
	vmm->rx_ready_evt = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vmm->rx_ready_evt < 0 ||
	    event_loop_add(vmm->loop, vmm->rx_ready_evt, EPOLLIN, vmm_rx_ready_event, vmm)) {
		log_error("serial input disabled: cannot watch the UART RX FIFO");
		vmm_stdin_restore(vmm);
		return;
	}
	serial_set_rx_ready_cb(vmm->serial, vmm_serial_rx_ready, vmm);
	vmm_stdin_poll(vmm);
}

/* ---- devices ----------------------------------------------------------------- */

static int vmm_open_serial_out(struct vmm *vmm, const struct vm_config *cfg, char *err,
			       size_t errlen)
{
	const char *path = cfg->has_serial ? cfg->serial.serial_out_path : NULL;

	if (!path) {
		vmm->serial_out_fd = STDOUT_FILENO;
		return 0;
	}
	/* O_NONBLOCK: a FIFO nobody reads must not stall a vCPU. */
	vmm->serial_out_fd =
	    open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
	if (vmm->serial_out_fd < 0) {
		int ret = -errno;

		err_set(err, errlen, 0, "Cannot open the serial output file %s: %s", path,
			strerror(-ret));
		return ret;
	}
	return 0;
}

static int vmm_setup_legacy_devices(struct vmm *vmm, const struct vm_config *cfg, char *err,
				    size_t errlen)
{
	struct irq_line com1_irq, kbd_irq;
	int ret;

	ret = vmm_open_serial_out(vmm, cfg, err, errlen);
	if (ret)
		return ret;
	kvm_vm_irq_line(&vmm->vm, LAYOUT_COM1_IRQ, &com1_irq);
	kvm_vm_irq_line(&vmm->vm, LAYOUT_I8042_IRQ, &kbd_irq);
	vmm->serial = serial_create(vmm->serial_out_fd, &com1_irq);
	vmm->i8042 = i8042_create(&kbd_irq, vmm_i8042_reset, vmm);
	if (!vmm->serial || !vmm->i8042) {
		err_set(err, errlen, 0, "Cannot create the legacy devices: out of memory");
		return -ENOMEM;
	}
	if (cfg->has_serial && cfg->serial.has_rate_limiter)
		serial_set_out_limit(vmm->serial, &cfg->serial.rate_limiter);
	ret = bus_register(&vmm->pio_bus, LAYOUT_COM1_PORT, 8, &serial_bus_ops, vmm->serial);
	if (!ret)
		ret = bus_register(&vmm->pio_bus, LAYOUT_I8042_PORT, 5, &i8042_bus_ops, vmm->i8042);
	if (!ret && vmm->opts.boot_timer) {
		vmm->boot_timer =
		    boot_timer_create(vmm->opts.start_wall_us, vmm->opts.start_cpu_us);
		ret = vmm->boot_timer ? bus_register(&vmm->mmio_bus, LAYOUT_BOOT_TIMER_ADDR,
						     LAYOUT_BOOT_TIMER_SIZE, &boot_timer_bus_ops,
						     vmm->boot_timer)
				      : -ENOMEM;
	}
	if (ret)
		err_set(err, errlen, 0, "Cannot register the legacy devices: %s", strerror(-ret));
	return ret;
}

/* ---- kernel and boot structures -------------------------------------------- */

static int vmm_open_image(const char *what, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		err_set(err, errlen, 0, "Cannot open the %s image %s: %s", what, path,
			strerror(errno));
	return fd < 0 ? -errno : fd;
}

_Static_assert(VMM_MAX_VIRTIO_DEVICES <= ACPI_MAX_VIRTIO, "every device fits the DSDT");
_Static_assert(LAYOUT_IRQ_BASE + VMM_MAX_VIRTIO_DEVICES + 1 <= LAYOUT_IRQ_MAX,
	       "two GSIs left for VMGenID and VMClock");

/*
 * VMGenID and VMClock take the two GSIs after the virtio devices', the
 * order in which Firecracker allocates them; at boot and at a restore alike,
 * so a snapshot's devices are where its DSDT says.
 */
static void vmm_setup_clone_devs(struct vmm *vmm)
{
	uint32_t gsi = LAYOUT_IRQ_BASE + vmm->devices.nr;
	struct irq_line irq;

	kvm_vm_irq_line(&vmm->vm, gsi, &irq);
	vmgenid_init(&vmm->vmgenid, LAYOUT_VMGENID_ADDR, &irq);
	kvm_vm_irq_line(&vmm->vm, gsi + 1, &irq);
	vmclock_init(&vmm->vmclock, LAYOUT_VMCLOCK_ADDR, &irq);
}

/* A fresh generation ID and the VMClock page, at boot. */
static int vmm_activate_clone_devs(struct vmm *vmm, char *err, size_t errlen)
{
	int ret = vmgenid_activate(&vmm->vmgenid, &vmm->mem);

	if (!ret)
		ret = vmclock_activate(&vmm->vmclock, &vmm->mem);
	if (ret)
		err_set(err, errlen, 0, "Cannot write the VMGenID and VMClock memory: %s",
			strerror(-ret));
	return ret;
}

/*
 * The ACPI tables: CPUs, IOAPIC and legacy devices always; the virtio
 * devices only when @in_dsdt, i.e. when they are not on the command line.
 */
static int vmm_write_acpi(struct vmm *vmm, const struct vm_config *cfg, bool in_dsdt, char *err,
			  size_t errlen)
{
	struct acpi_config acpi = {
	    .nr_cpus = cfg->machine.vcpu_count,
	    .has_clone_devs = true,
	    .clone = {vmm->vmgenid.addr, vmm->vmgenid.irq.gsi, vmm->vmclock.addr,
		      vmm->vmclock.irq.gsi},
	};
	int ret;

	for (unsigned int i = 0; in_dsdt && i < vmm->devices.nr; i++) {
		const struct virtio_mmio_dev *m = vmm->devices.devs[i].mmio;

		acpi.virtio[acpi.nr_virtio++] =
		    (struct acpi_virtio_dev){virtio_mmio_base(m), virtio_mmio_gsi(m)};
	}
	ret = acpi_write(&vmm->mem, &acpi);
	if (ret) {
		err_set(err, errlen, 0, "Cannot write the ACPI tables: %s", strerror(-ret));
		return ret;
	}
	return vmm_activate_clone_devs(vmm, err, errlen);
}

/*
 * Command line, zero page, MP table and ACPI tables, once the kernel is in
 * memory: which way the virtio devices are announced depends on the kernel
 * and its arguments (vmm/boot/virtio_discovery.h).
 */
static int vmm_write_boot_tables(struct vmm *vmm, const struct vm_config *cfg,
				 const struct kernel_info *ki, uint64_t initrd_addr,
				 uint64_t initrd_size, char *err, size_t errlen)
{
	const struct boot_source_config *bs = &cfg->boot_source;
	const char *args = bs->boot_args ? bs->boot_args : VMM_DEFAULT_BOOT_ARGS;
	enum virtio_discovery how = virtio_discovery_choose(&vmm->mem, ki, args);
	char cmdline[VMM_CMDLINE_MAX];
	int ret;

	if (vmm->devices.nr)
		log_info("virtio devices announced %s", how == VIRTIO_DISCOVERY_ACPI
							    ? "in the ACPI DSDT"
							    : "on the kernel command line");
	ret = vmm_devices_cmdline(&vmm->devices, cfg, args, how == VIRTIO_DISCOVERY_CMDLINE,
				  cmdline, sizeof(cmdline), err, errlen);
	if (!ret)
		ret = x86_boot_write_tables(&vmm->mem, ki, cmdline, initrd_addr, initrd_size, err,
					    errlen);
	if (ret)
		return ret;
	/* The MP table stays for kernels without ACPI (as in Firecracker). */
	ret = mptable_write(&vmm->mem, cfg->machine.vcpu_count, LAYOUT_IRQ_MAX);
	if (ret) {
		err_set(err, errlen, 0, "Cannot write the MP table: %s", strerror(-ret));
		return ret;
	}
	return vmm_write_acpi(vmm, cfg, how == VIRTIO_DISCOVERY_ACPI, err, errlen);
}

static int vmm_load_guest(struct vmm *vmm, const struct vm_config *cfg, struct kernel_info *ki,
			  char *err, size_t errlen)
{
	const struct boot_source_config *bs = &cfg->boot_source;
	uint64_t initrd_addr = 0, initrd_size = 0;
	int fd, ret;

	fd = vmm_open_image("kernel", bs->kernel_image_path, err, errlen);
	if (fd < 0)
		return fd;
	ret = loader_load_kernel(&vmm->mem, fd, ki, err, errlen);
	close(fd);
	if (ret)
		return ret;
	log_info("Kernel entered through %s at %#llx",
		 ki->has_pvh_entry ? "its PVH entry" : "the 64-bit boot protocol",
		 (unsigned long long)(ki->has_pvh_entry ? ki->pvh_entry : ki->entry));
	if (bs->initrd_path) {
		fd = vmm_open_image("initrd", bs->initrd_path, err, errlen);
		if (fd < 0)
			return fd;
		ret =
		    loader_load_initrd(&vmm->mem, fd, ki, &initrd_addr, &initrd_size, err, errlen);
		close(fd);
		if (ret)
			return ret;
	}
	return vmm_write_boot_tables(vmm, cfg, ki, initrd_addr, initrd_size, err, errlen);
}

/* @ki NULL: a restore, whose vCPU state comes from the snapshot instead. */
static int vmm_setup_vcpus(struct vmm *vmm, const struct vm_config *cfg,
			   const struct kernel_info *ki, char *err, size_t errlen)
{
	struct vcpu_boot boot = {
	    .supported_cpuid = vmm->vm.supported_cpuid,
	    .kernel = ki,
	    .smt = cfg->machine.smt,
	};
	int ret;

	vmm->vcpu_env = (struct vcpu_env){
	    .pio = &vmm->pio_bus,
	    .mmio = &vmm->mmio_bus,
	    .request_exit = vmm_vcpu_request_exit,
	    .ctx = vmm,
	    .seccomp = vmm->opts.seccomp,
	};
	/* A boot applies the CPU template (a restore gets the saved CPUID and MSRs). */
	if (ki) {
		ret = cpu_template_for_vm(&cfg->machine, &boot.cpu_template, err, errlen);
		if (!ret && boot.cpu_template)
			ret = cpu_template_check(boot.cpu_template, vmm->vm.kvm_fd,
						 vmm->vm.supported_cpuid, err, errlen);
		if (ret)
			return ret;
		if (err && errlen) {
			boot.err = err;
			boot.errlen = errlen;
			err[0] = '\0';
		}
	}
	ret = vcpu_group_init(&vmm->vcpus, cfg->machine.vcpu_count);
	if (ret) {
		err_set(err, errlen, 0, "Cannot allocate vCPUs: %s", strerror(-ret));
		return ret;
	}
	for (uint32_t i = 0; i < cfg->machine.vcpu_count; i++) {
		struct vcpu *v = &vmm->vcpus.vcpus[i];

		ret = vcpu_create(v, &vmm->vm, i, &vmm->vcpus, &vmm->vcpu_env);
		if (!ret && ki)
			ret = vcpu_configure(v, &boot);
		if (ret) {
			/* The template's own error (boot.err) is the whole answer. */
			if (!boot.err || !err[0])
				err_set(err, errlen, 0, "Cannot configure vCPU %u: %s", i,
					strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* Undo whatever a (possibly partial) start built. */
static void vmm_teardown(struct vmm *vmm)
{
	vcpu_group_destroy(&vmm->vcpus);
	vmm_stdin_detach(vmm);
	vmm_devices_teardown(&vmm->devices);
	bus_destroy(&vmm->pio_bus);
	bus_destroy(&vmm->mmio_bus);
	bus_init(&vmm->pio_bus);
	bus_init(&vmm->mmio_bus);
	if (vmm->serial)
		serial_destroy(vmm->serial);
	if (vmm->i8042)
		i8042_destroy(vmm->i8042);
	if (vmm->boot_timer)
		boot_timer_destroy(vmm->boot_timer);
	vmm->serial = NULL;
	vmm->i8042 = NULL;
	vmm->boot_timer = NULL;
	if (vmm->serial_out_fd > STDERR_FILENO)
		close(vmm->serial_out_fd);
	vmm->serial_out_fd = -1;
	if (vmm->vm.vm_fd >= 0 || vmm->vm.kvm_fd >= 0)
		kvm_vm_destroy(&vmm->vm);
	guest_mem_destroy(&vmm->mem);
	uffd_backend_close(&vmm->uffd);
}

/*
 * Common tail of a boot and a restore, given the result so far (@ret): start
 * the vCPU threads (parked when @paused), then install the VMM thread's
 * filter, after the vCPU threads exist (they must not inherit it) and before
 * this thread goes back to its event loop, where guest-driven work (device
 * notifications, serial input) is handled. Any failure tears it all down.
 */
static int vmm_finish_start(struct vmm *vmm, int ret, bool paused, char *err, size_t errlen)
{
	if (!ret) {
		vmm_stdin_attach(vmm);
		/* A restored VM waits for resume with its devices quiesced too. */
		if (paused)
			vmm_devices_pause(&vmm->devices);
		ret = paused ? vcpu_group_start_paused(&vmm->vcpus) : vcpu_group_start(&vmm->vcpus);
		if (ret)
			err_set(err, errlen, 0, "Cannot start vCPU threads: %s", strerror(-ret));
	}
	if (!ret) {
		ret = seccomp_install(vmm->opts.seccomp, SECCOMP_VMM);
		if (ret)
			err_set(err, errlen, 0, "Cannot install the VMM seccomp filter: %s",
				strerror(-ret));
	}
	if (ret) {
		vmm_teardown(vmm);
		return ret;
	}
	vmm->started = true;
	return 0;
}

static int vmm_create_memory(struct vmm *vmm, const struct machine_config *mc, char *err,
			     size_t errlen)
{
	uint64_t size = mc->mem_size_mib * MIB;
	int ret;

	if (mc->huge_pages != HUGE_PAGES_2M) {
		ret = guest_mem_create(&vmm->mem, size);
	} else if (size % (2 * MIB)) {
		err_set(err, errlen, 0, "With 2M huge pages, mem_size_mib must be a multiple of 2");
		return -EINVAL;
	} else {
		ret = guest_mem_create_hugetlb(&vmm->mem, size);
	}
	if (ret)
		err_set(err, errlen, 0, "Cannot allocate guest memory%s: %s",
			mc->huge_pages == HUGE_PAGES_2M ? " from 2M huge pages" : "",
			strerror(-ret));
	return ret;
}

static int vmm_start(void *ctx, const struct vm_config *cfg, char *err, size_t errlen)
{
	struct vmm *vmm = ctx;
	struct vmm_device_env devices_env = {.mem = &vmm->mem,
					     .vm = &vmm->vm,
					     .mmio_bus = &vmm->mmio_bus,
					     .loop = vmm->loop,
					     .mmds = vmm->mmds};
	struct kernel_info ki;
	int ret;

	ret = vmm_create_memory(vmm, &cfg->machine, err, errlen);
	if (ret)
		return ret;
	ret = kvm_vm_create(&vmm->vm, &vmm->mem, cfg->machine.track_dirty_pages, err, errlen);
	if (!ret)
		ret = vmm_setup_legacy_devices(vmm, cfg, err, errlen);
	if (!ret)
		ret = vmm_devices_setup(&vmm->devices, &devices_env, cfg, err, errlen);
	if (!ret) {
		vmm_setup_clone_devs(vmm);
		ret = vmm_load_guest(vmm, cfg, &ki, err, errlen);
	}
	if (!ret)
		ret = vmm_setup_vcpus(vmm, cfg, &ki, err, errlen);
	return vmm_finish_start(vmm, ret, false, err, errlen);
}

/* The parts snapshot/ saves and restores (see struct snapshot_machine). */
static int vmm_build_restored(void *ctx, const struct vm_config *cfg, snapshot_restore_fn restore,
			      void *rctx, char *err, size_t errlen);

static void vmm_snapshot_view(struct vmm *vmm, struct snapshot_machine *m)
{
	*m = (struct snapshot_machine){
	    .mem = &vmm->mem,
	    .uffd = &vmm->uffd,
	    .vm = &vmm->vm,
	    .vcpus = &vmm->vcpus,
	    .serial = vmm->serial,
	    .i8042 = vmm->i8042,
	    .vmgenid = &vmm->vmgenid,
	    .vmclock = &vmm->vmclock,
	    .hotplug = vmm_devices_mem(&vmm->devices),
	    .vmm = vmm,
	    .build_restored = vmm_build_restored,
	};
	for (unsigned int i = 0; i < vmm->devices.nr && i < SNAPSHOT_MAX_VIRTIO; i++)
		m->virtio[m->nr_virtio++] = vmm->devices.devs[i].mmio;
}

/*
 * The restore path of InstanceStart: vmm->mem already holds the snapshot's
 * RAM; the VM is built from @cfg as at boot but without a kernel, @restore
 * loads the saved state into the new vCPUs, irqchip and devices, and the
 * vCPU threads start parked. On error everything is torn down, guest
 * memory included.
 */
static int vmm_build_restored(void *ctx, const struct vm_config *cfg, snapshot_restore_fn restore,
			      void *rctx, char *err, size_t errlen)
{
	struct vmm *vmm = ctx;
	struct snapshot_machine view;
	/* A Uffd restore mapped virtio-mem's region already (uffd.h). */
	struct vmm_device_env devices_env = {.mem = &vmm->mem,
					     .vm = &vmm->vm,
					     .mmio_bus = &vmm->mmio_bus,
					     .loop = vmm->loop,
					     .mmds = vmm->mmds,
					     .mem_host = vmm->uffd.hotplug,
					     .mem_host_size = vmm->uffd.hotplug_size};
	int ret;

	ret = kvm_vm_create(&vmm->vm, &vmm->mem, cfg->machine.track_dirty_pages, err, errlen);
	if (!ret)
		ret = vmm_setup_legacy_devices(vmm, cfg, err, errlen);
	/* The restored nets are attached to MMDS as they were (the controller rebinds tokens). */
	if (!ret && cfg->has_mmds_config)
		ret = mmds_configure_from(vmm->mmds, &cfg->mmds_config, NULL);
	if (!ret)
		ret = vmm_devices_setup(&vmm->devices, &devices_env, cfg, err, errlen);
	if (!ret) {
		vmm_setup_clone_devs(vmm);
		ret = vmm_setup_vcpus(vmm, cfg, NULL, err, errlen);
	}
	if (!ret)
		if (!ret) {
			vmm_snapshot_view(vmm, &view);
			ret = restore(&view, rctx, err, errlen);
		}
	return vmm_finish_start(vmm, ret, true, err, errlen);
}

static int vmm_pause(void *ctx, char *err, size_t errlen)
{
	struct vmm *vmm = ctx;

	(void)err;
	(void)errlen;
	vcpu_group_pause(&vmm->vcpus);
	/* Only now: a vCPU still in KVM_RUN could notify a queue. */
	vmm_devices_pause(&vmm->devices);
	return 0;
}

static int vmm_resume(void *ctx, char *err, size_t errlen)
{
	struct vmm *vmm = ctx;

	(void)err;
	(void)errlen;
	/* The devices catch up on what arrived while paused before the guest looks. */
	vmm_devices_resume(&vmm->devices);
	vcpu_group_resume(&vmm->vcpus);
	return 0;
}

static int vmm_send_ctrl_alt_del(void *ctx, char *err, size_t errlen)
{
	struct vmm *vmm = ctx;
	int ret = i8042_send_ctrl_alt_del(vmm->i8042);

	if (ret)
		err_set(err, errlen, 0, "Cannot send Ctrl+Alt+Del: %s", strerror(-ret));
	return ret;
}

static int vmm_update_drive(void *ctx, const struct drive_update *u, char *err, size_t errlen)
{
	struct vmm *vmm = ctx;

	return vmm_devices_update_drive(&vmm->devices, u, err, errlen);
}

static int vmm_update_net(void *ctx, const struct net_update *u, char *err, size_t errlen)
{
	struct vmm *vmm = ctx;

	return vmm_devices_update_net(&vmm->devices, u, err, errlen);
}

static int vmm_update_pmem(void *ctx, const struct pmem_update *u, char *err, size_t errlen)
{
	struct vmm *vmm = ctx;

	return vmm_devices_update_pmem(&vmm->devices, u, err, errlen);
}

static int vmm_create_snapshot(void *ctx, const struct vm_config *cfg,
			       const struct snapshot_create_params *p, char *err, size_t errlen)
{
	struct snapshot_machine view;

	vmm_snapshot_view(ctx, &view);
	return snapshot_create(&view, cfg, p, err, errlen);
}

static int vmm_load_snapshot(void *ctx, const struct snapshot_load_params *p, struct vm_config *cfg,
			     char *err, size_t errlen)
{
	struct snapshot_machine view;

	vmm_snapshot_view(ctx, &view);
	return snapshot_load(&view, p, cfg, err, errlen);
}

/* The balloon behind a runtime balloon request; -ENODEV (the controller's text) when none. */
static struct balloon_dev *vmm_balloon(void *ctx)
{
	struct vmm *vmm = ctx;

	return vmm_devices_balloon(&vmm->devices);
}

/* Firecracker's VmmError::VirtioMem texts. */
static int vmm_memory_hotplug_update(void *ctx, uint64_t requested_mib, char *err, size_t errlen)
{
	struct vmm *vmm = ctx;
	struct mem_dev *m = vmm_devices_mem(&vmm->devices);
	int ret;

	if (!m)
		return -ENODEV;
	ret = requested_mib > (UINT64_MAX >> 20) ? -EINVAL
						 : mem_set_requested(m, requested_mib << 20);
	if (ret == -EAGAIN)
		err_set(err, errlen, 0,
			"Failed to create memory hotplug device: Device is not active");
	else if (ret == -EINVAL && requested_mib > (UINT64_MAX >> 20))
		err_set(err, errlen, 0,
			"Failed to create memory hotplug device: Size %llu MiB is invalid: it must "
			"be a multiple of block size and less than the total size",
			(unsigned long long)requested_mib);
	else if (ret == -EINVAL)
		err_set(
		    err, errlen, 0,
		    "Failed to create memory hotplug device: Size %llu is invalid: it must be a "
		    "multiple of block size and less than the total size",
		    (unsigned long long)(requested_mib << 20));
	return ret;
}

static int vmm_memory_hotplug_status(void *ctx, struct memory_hotplug_status *out)
{
	struct vmm *vmm = ctx;
	struct mem_dev *m = vmm_devices_mem(&vmm->devices);
	struct mem_status st;

	if (!m)
		return -ENODEV;
	mem_status(m, &st);
	*out = (struct memory_hotplug_status){st.block_size >> 20, st.region_size >> 20,
					      st.slot_size >> 20, st.plugged_size >> 20,
					      st.requested_size >> 20};
	return 0;
}

static int vmm_balloon_update(void *ctx, uint32_t amount_mib, char *err, size_t errlen)
{
	struct balloon_dev *b = vmm_balloon(ctx);

	return b ? balloon_set_target(b, amount_mib, err, errlen) : -ENODEV;
}

static int vmm_balloon_update_stats(void *ctx, uint16_t interval_s, char *err, size_t errlen)
{
	struct balloon_dev *b = vmm_balloon(ctx);

	return b ? balloon_set_stats_interval(b, interval_s, err, errlen) : -ENODEV;
}

static int vmm_balloon_stats(void *ctx, struct balloon_stats *out, char *err, size_t errlen)
{
	struct balloon_dev *b = vmm_balloon(ctx);

	return b ? balloon_get_stats(b, out, err, errlen) : -ENODEV;
}

static int vmm_balloon_hinting(void *ctx, enum balloon_hinting_op op, bool ack_on_stop, char *err,
			       size_t errlen)
{
	struct balloon_dev *b = vmm_balloon(ctx);

	return b ? balloon_hinting(b, op, ack_on_stop, err, errlen) : -ENODEV;
}

static int vmm_balloon_hinting_status(void *ctx, struct balloon_hinting_status *out, char *err,
				      size_t errlen)
{
	struct balloon_dev *b = vmm_balloon(ctx);

	return b ? balloon_hinting_status(b, out, err, errlen) : -ENODEV;
}

const struct vmm_ops kvm_vmm_ops = {
    .start = vmm_start,
    .pause = vmm_pause,
    .resume = vmm_resume,
    .send_ctrl_alt_del = vmm_send_ctrl_alt_del,
    .update_drive = vmm_update_drive,
    .update_net = vmm_update_net,
    .update_pmem = vmm_update_pmem,
    .create_snapshot = vmm_create_snapshot,
    .load_snapshot = vmm_load_snapshot,
    .balloon_update = vmm_balloon_update,
    .balloon_update_stats = vmm_balloon_update_stats,
    .balloon_stats = vmm_balloon_stats,
    .balloon_hinting = vmm_balloon_hinting,
    .balloon_hinting_status = vmm_balloon_hinting_status,
    .memory_hotplug_update = vmm_memory_hotplug_update,
    .memory_hotplug_status = vmm_memory_hotplug_status,
};

void vmm_destroy(struct vmm *vmm)
{
	vmm_teardown(vmm);
	if (vmm->exit_evt >= 0)
		close(vmm->exit_evt);
	vmm->exit_evt = -1;
	mmds_destroy(vmm->mmds);
	vmm->mmds = NULL;
}
