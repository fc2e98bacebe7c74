// SPDX-License-Identifier: Apache-2.0
/*
 * The controller: Firecracker's PrebootApiController and RuntimeApiController
 * in one state machine. Every handler builds the new configuration in a
 * temporary and swaps it in only once everything succeeded, so a refused
 * request changes nothing. Fault messages are Firecracker's texts.
 */
#include "vmm/controller/controller.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/controller/controller_balloon.h"
#include "vmm/controller/controller_devices.h"
#include "vmm/controller/controller_snapshot.h"
#include "vmm/controller/controller_mmds.h"
#include "vmm/controller/controller_pmem.h"
#include "vmm/controller/controller_memory_hotplug.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"

#define NOT_SUPPORTED_POST_BOOT                                                                    \
	"The requested operation is not supported after starting the microVM."
#define NOT_SUPPORTED_PRE_BOOT                                                                     \
	"The requested operation is not supported before starting the microVM."
/*
 * Firecracker 1.16 hot-plugs and hot-unplugs virtio devices on its PCI
 * transport only (VmmActionError::PciNotEnabled otherwise); Ember's devices
 * are virtio-mmio.
 */
#define PCI_NOT_ENABLED "PCI is not enabled"
#define INVALID_VCPU_COUNT                                                                         \
	"The number of vCPUs must be greater than 0, less than 32 and must be 1 or an even "       \
	"number if SMT is enabled."
#define INVALID_MEMORY_SIZE                                                                        \
	"The memory size (MiB) is either 0, or not a multiple of the configured page size."

void controller_init(struct controller *c, const char *instance_id, const struct vmm_ops *ops,
		     void *ops_ctx)
{
	memset(c, 0, sizeof(*c));
	vm_config_init(&c->cfg);
	c->state = VMM_NOT_STARTED;
	snprintf(c->instance_id, sizeof(c->instance_id), "%s", instance_id);
	c->ops = ops;
	c->ops_ctx = ops_ctx;
}

void controller_destroy(struct controller *c)
{
	vm_config_free(&c->cfg);
}

/* Rust's Display of an io::Error from the OS: "<strerror> (os error N)". */
static void fail_os(struct vmm_response *resp, const char *prefix, int err)
{
	vmm_response_fail(resp, "%s%s (os error %d)", prefix, strerror(err), err);
}

static void fail_nomem(struct vmm_response *resp)
{
	fail_os(resp, "Internal VMM error: ", ENOMEM);
}

/* ---- machine configuration ---- */

/* Firecracker's VmConfig::update checks, in its order. */
static bool machine_config_check(const struct machine_config *mc, struct vmm_response *resp)
{
	if (mc->vcpu_count == 0 || mc->vcpu_count > VMM_MAX_VCPUS ||
	    (mc->smt && mc->vcpu_count > 1 && mc->vcpu_count % 2)) {
		vmm_response_fail(resp, "Machine config error: " INVALID_VCPU_COUNT);
		return false;
	}
	if (mc->mem_size_mib == 0 || (mc->huge_pages == HUGE_PAGES_2M && mc->mem_size_mib % 2)) {
		vmm_response_fail(resp, "Machine config error: " INVALID_MEMORY_SIZE);
		return false;
	}
	return true;
}

/* Check @next and swap it in; @next is consumed either way. */
static void machine_config_commit(struct controller *c, struct machine_config *next,
				  struct vmm_response *resp)
{
	if (!machine_config_check(next, resp) ||
	    !controller_balloon_fits(c, next->mem_size_mib, resp)) {
		machine_config_free(next);
		return;
	}
	machine_config_free(&c->cfg.machine);
	c->cfg.machine = *next;
	vmm_response_ok(resp);
}

/* @dst (without a template) takes a copy of @src's, static or custom. 0 or -ENOMEM. */
static int copy_template(struct machine_config *dst, const struct machine_config *src)
{
	if (src->cpu_template) {
		dst->cpu_template = strdup(src->cpu_template);
		if (!dst->cpu_template)
			return -ENOMEM;
	}
	if (src->cpu_config) {
		dst->cpu_config = cpu_template_dup(src->cpu_config);
		if (!dst->cpu_config)
			return -ENOMEM;
	}
	return 0;
}

static void put_machine_config(struct controller *c, const struct machine_config *mc,
			       struct vmm_response *resp)
{
	struct machine_config next;

	if (machine_config_copy(&next, mc)) {
		fail_nomem(resp);
		return;
	}
	/*
	 * As Firecracker's MachineConfig::update: without cpu_template the
	 * template in effect stays (static or PUT /cpu-config's), "None" drops it.
	 */
	if (next.cpu_template && !strcmp(next.cpu_template, "None")) {
		free(next.cpu_template);
		next.cpu_template = NULL;
	} else if (!next.cpu_template && copy_template(&next, &c->cfg.machine)) {
		machine_config_free(&next);
		fail_nomem(resp);
		return;
	}
	machine_config_commit(c, &next, resp);
}

/* PUT /cpu-config: the custom template replaces any template, static or custom. */
static void put_cpu_config(struct controller *c, const struct cpu_template *t,
			   struct vmm_response *resp)
{
	struct cpu_template *next = cpu_template_dup(t);

	if (!next) {
		fail_nomem(resp);
		return;
	}
	free(c->cfg.machine.cpu_template);
	c->cfg.machine.cpu_template = NULL;
	cpu_template_free(c->cfg.machine.cpu_config);
	c->cfg.machine.cpu_config = next;
	vmm_response_ok(resp);
}

static void patch_machine_config(struct controller *c, const struct machine_config_patch *p,
				 struct vmm_response *resp)
{
	struct machine_config next;

	if (machine_config_copy(&next, &c->cfg.machine)) {
		fail_nomem(resp);
		return;
	}
	if (p->has_vcpu_count)
		next.vcpu_count = p->mc.vcpu_count;
	if (p->has_mem_size_mib)
		next.mem_size_mib = p->mc.mem_size_mib;
	if (p->has_smt)
		next.smt = p->mc.smt;
	if (p->has_track_dirty_pages)
		next.track_dirty_pages = p->mc.track_dirty_pages;
	if (p->has_huge_pages)
		next.huge_pages = p->mc.huge_pages;
	if (p->has_cpu_template) {
		/* A static template (or "None") replaces a custom one too. */
		cpu_template_free(next.cpu_config);
		next.cpu_config = NULL;
		free(next.cpu_template);
		next.cpu_template = p->mc.cpu_template ? strdup(p->mc.cpu_template) : NULL;
		if (p->mc.cpu_template && !next.cpu_template) {
			machine_config_free(&next);
			fail_nomem(resp);
			return;
		}
	}
	machine_config_commit(c, &next, resp);
}

/* ---- boot source ---- */

/* Firecracker opens the images when the boot source is set, not at boot. */
static bool image_readable(const char *path, const char *prefix, struct vmm_response *resp)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fail_os(resp, prefix, errno);
		return false;
	}
	close(fd);
	return true;
}

/* linux-loader's Cmdline checks: printable ASCII, shorter than the capacity. */
static bool cmdline_valid(const char *args, struct vmm_response *resp)
{
	for (const char *p = args; *p; p++) {
		if (*p < ' ' || *p > '~') {
			vmm_response_fail(
			    resp, "Boot source error: The kernel command line is invalid: String "
				  "contains a non-printable ASCII character.");
			return false;
		}
	}
	if (strlen(args) >= VMM_CMDLINE_MAX) {
		vmm_response_fail(
		    resp, "Boot source error: The kernel command line is invalid: Inserting "
			  "string would make command line too long.");
		return false;
	}
	return true;
}

static void put_boot_source(struct controller *c, const struct boot_source_config *bs,
			    struct vmm_response *resp)
{
	struct boot_source_config next;

	if (!image_readable(bs->kernel_image_path,
			    "Boot source error: The kernel file cannot be opened: ", resp))
		return;
	if (bs->initrd_path &&
	    !image_readable(bs->initrd_path,
			    "Boot source error: The initrd file cannot be opened due to invalid "
			    "path or invalid permissions. ",
			    resp))
		return;
	if (!cmdline_valid(bs->boot_args ? bs->boot_args : VMM_DEFAULT_BOOT_ARGS, resp))
		return;
	if (boot_source_config_copy(&next, bs)) {
		fail_nomem(resp);
		return;
	}
	boot_source_config_free(&c->cfg.boot_source);
	c->cfg.boot_source = next;
	c->cfg.has_boot_source = true;
	vmm_response_ok(resp);
}

/* ---- logger, metrics, serial ---- */

/*
 * Firecracker's Logger::update: level always applies (Info when left out);
 * log_path, show_level and show_log_origin only when given.
 */
static void put_logger(struct controller *c, const struct logger_config *lc,
		       struct vmm_response *resp)
{
	const struct logger_config *cur = &c->cfg.logger;
	struct logger_config next;
	int ret;

	if (logger_config_copy(&next, lc)) {
		fail_nomem(resp);
		return;
	}
	if ((!lc->log_path && cur->log_path && !(next.log_path = strdup(cur->log_path))) ||
	    (!lc->module && cur->module && !(next.module = strdup(cur->module)))) {
		logger_config_free(&next);
		fail_nomem(resp);
		return;
	}
	if (!lc->has_show_level)
		next.show_level = cur->show_level;
	if (!lc->has_show_log_origin)
		next.show_log_origin = cur->show_log_origin;
	next.has_show_level = next.has_show_log_origin = false;
	/* The only step that can fail goes first: nothing changes if it does. */
	if (lc->log_path) {
		ret = log_set_path(lc->log_path);
		if (ret) {
			logger_config_free(&next);
			fail_os(resp, "Logger error: Failed to open target file: ", -ret);
			return;
		}
	}
	log_set_level(lc->level);
	if (lc->has_show_level || lc->has_show_log_origin)
		log_set_show(next.show_level, next.show_log_origin);
	if (lc->module)
		log_set_module(lc->module);
	logger_config_free(&c->cfg.logger);
	c->cfg.logger = next;
	c->cfg.has_logger = true;
	vmm_response_ok(resp);
}

static void put_metrics(struct controller *c, const struct metrics_config *mc,
			struct vmm_response *resp)
{
	struct metrics_config next = {0};
	int ret;

	if (metrics_config_copy(&next, mc)) {
		fail_nomem(resp);
		return;
	}
	ret = metrics_init(mc->metrics_path);
	if (ret) {
		metrics_config_free(&next);
		if (ret == -EALREADY) {
			vmm_response_fail(resp,
					  "Metrics error: Cannot initialize the metrics system due "
					  "to bad user input: Reinitialization of metrics not "
					  "allowed.");
			return;
		}
		fail_os(resp,
			"Metrics error: Cannot initialize the metrics system due to bad "
			"user input: ",
			-ret);
		return;
	}
	metrics_config_free(&c->cfg.metrics);
	c->cfg.metrics = next;
	c->cfg.has_metrics = true;
	vmm_response_ok(resp);
}

static void put_serial(struct controller *c, const struct serial_config *sc,
		       struct vmm_response *resp)
{
	struct serial_config next = {0};

	if (serial_config_copy(&next, sc)) {
		fail_nomem(resp);
		return;
	}
	serial_config_free(&c->cfg.serial);
	c->cfg.serial = next;
	c->cfg.has_serial = true;
	vmm_response_ok(resp);
}

/* ---- the running VM ---- */

static void instance_start(struct controller *c, struct vmm_response *resp)
{
	char err[FAULT_MESSAGE_MAX - 64] = "";
	int ret;

	if (!c->cfg.has_boot_source) {
		vmm_response_fail(resp, "Start microvm error: Cannot start microvm without kernel "
					"configuration.");
		return;
	}
	ret = c->ops->start(c->ops_ctx, &c->cfg, err, sizeof(err));
	if (ret) {
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(-ret));
		log_error("Failed to start the microVM: %s", err);
		vmm_response_fail(resp, "Start microvm error: %s", err);
		return;
	}
	c->state = VMM_RUNNING;
	log_info("The microVM is running.");
	vmm_response_ok(resp);
}

/* Run one vmm_ops call that takes only an error buffer; Firecracker's wording on failure. */
static int run_op(struct controller *c, int (*op)(void *, char *, size_t),
		  struct vmm_response *resp)
{
	char err[FAULT_MESSAGE_MAX - 64] = "";
	int ret = op(c->ops_ctx, err, sizeof(err));

	if (ret) {
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(-ret));
		vmm_response_fail(resp, "Internal VMM error: %s", err);
		return ret;
	}
	vmm_response_ok(resp);
	return 0;
}

/* Pausing a paused VM (or resuming a running one) succeeds without touching it. */
static void set_paused(struct controller *c, bool pause, struct vmm_response *resp)
{
	enum vmm_state target = pause ? VMM_PAUSED : VMM_RUNNING;

	if (c->state == target) {
		vmm_response_ok(resp);
		return;
	}
	if (!run_op(c, pause ? c->ops->pause : c->ops->resume, resp))
		c->state = target;
}

static void flush_metrics(struct vmm_response *resp)
{
	int ret = metrics_flush();

	/* Firecracker succeeds when no metrics sink is configured: nothing to write. */
	if (ret && ret != -ENOENT) {
		fail_os(resp, "Internal VMM error: Metrics error: Failed to write metrics: ", -ret);
		return;
	}
	vmm_response_ok(resp);
}

/* ---- dispatch ---- */

static bool pre_boot_only(enum vmm_request_type type)
{
	switch (type) {
	case REQ_PUT_MACHINE_CONFIG:
	case REQ_PATCH_MACHINE_CONFIG:
	case REQ_PUT_CPU_CONFIG:
	case REQ_PUT_BOOT_SOURCE:
	case REQ_PUT_LOGGER:
	case REQ_PUT_METRICS:
	case REQ_PUT_SERIAL:
	case REQ_INSTANCE_START:
	case REQ_PUT_DRIVE:
	case REQ_PUT_NET:
	case REQ_PUT_VSOCK:
	case REQ_PUT_ENTROPY:
	case REQ_PUT_MMDS_CONFIG:
	case REQ_LOAD_SNAPSHOT:
	case REQ_PUT_BALLOON:
	case REQ_PUT_MEMORY_HOTPLUG:
		return true;
	default:
		return false;
	}
}

static bool post_boot_only(enum vmm_request_type type)
{
	switch (type) {
	case REQ_SEND_CTRL_ALT_DEL:
	case REQ_FLUSH_METRICS:
	case REQ_PAUSE_VM:
	case REQ_RESUME_VM:
	case REQ_PATCH_DRIVE:
	case REQ_PATCH_NET:
	case REQ_CREATE_SNAPSHOT:
	case REQ_HOT_UNPLUG:
	case REQ_PATCH_PMEM:
	case REQ_PATCH_BALLOON:
	case REQ_PATCH_BALLOON_STATS:
	case REQ_GET_BALLOON_STATS:
	case REQ_BALLOON_HINTING_START:
	case REQ_BALLOON_HINTING_STOP:
	case REQ_GET_BALLOON_HINTING:
	case REQ_PATCH_MEMORY_HOTPLUG:
	case REQ_GET_MEMORY_HOTPLUG:
		return true;
	default:
		return false;
	}
}

static void get_payload(struct controller *c, enum vmm_request_type type, struct vmm_response *resp)
{
	int ret = 0;

	switch (type) {
	case REQ_GET_INSTANCE_INFO:
		snprintf(resp->info.id, sizeof(resp->info.id), "%s", c->instance_id);
		resp->info.state = c->state;
		break;
	case REQ_GET_MACHINE_CONFIG:
		ret = machine_config_copy(&resp->machine, &c->cfg.machine);
		break;
	default: /* REQ_GET_VM_CONFIG */
		ret = vm_config_copy(&resp->config, &c->cfg);
		break;
	}
	if (ret) {
		fail_nomem(resp);
		return;
	}
	resp->status = 200;
}

void controller_handle(struct controller *c, const struct vmm_request *req,
		       struct vmm_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	vm_config_init(&resp->config);
	/* Firecracker 1.16 hot-plugs drives and interfaces after boot, on PCI only. */
	if (c->state != VMM_NOT_STARTED &&
	    (req->type == REQ_PUT_DRIVE || req->type == REQ_PUT_NET || req->type == REQ_PUT_PMEM)) {
		vmm_response_fail(resp, PCI_NOT_ENABLED);
		return;
	}
	if (c->state != VMM_NOT_STARTED && pre_boot_only(req->type)) {
		vmm_response_fail(resp, NOT_SUPPORTED_POST_BOOT);
		return;
	}
	if (c->state == VMM_NOT_STARTED && post_boot_only(req->type)) {
		vmm_response_fail(resp, NOT_SUPPORTED_PRE_BOOT);
		return;
	}
	/* Firecracker marks the boot path even when the request then fails. */
	if (controller_configures_boot(req->type))
		c->boot_path = true;

	switch (req->type) {
	case REQ_GET_INSTANCE_INFO:
	case REQ_GET_MACHINE_CONFIG:
	case REQ_GET_VM_CONFIG:
		get_payload(c, req->type, resp);
		return;
	case REQ_PUT_MACHINE_CONFIG:
		put_machine_config(c, &req->u.machine, resp);
		return;
	case REQ_PATCH_MACHINE_CONFIG:
		patch_machine_config(c, &req->u.machine_patch, resp);
		return;
	case REQ_PUT_CPU_CONFIG:
		put_cpu_config(c, req->u.cpu_config, resp);
		return;
	case REQ_PUT_BOOT_SOURCE:
		put_boot_source(c, &req->u.boot_source, resp);
		return;
	case REQ_PUT_LOGGER:
		put_logger(c, &req->u.logger, resp);
		return;
	case REQ_PUT_METRICS:
		put_metrics(c, &req->u.metrics, resp);
		return;
	case REQ_PUT_SERIAL:
		put_serial(c, &req->u.serial, resp);
		return;
	case REQ_INSTANCE_START:
		instance_start(c, resp);
		return;
	case REQ_SEND_CTRL_ALT_DEL:
		run_op(c, c->ops->send_ctrl_alt_del, resp);
		return;
	case REQ_FLUSH_METRICS:
		flush_metrics(resp);
		return;
	case REQ_PAUSE_VM:
	case REQ_RESUME_VM:
		set_paused(c, req->type == REQ_PAUSE_VM, resp);
		return;
	case REQ_PUT_DRIVE:
		controller_put_drive(c, &req->u.drive, resp);
		return;
	case REQ_PATCH_DRIVE:
		controller_patch_drive(c, &req->u.drive_update, resp);
		return;
	case REQ_PUT_NET:
		controller_put_net(c, &req->u.net, resp);
		return;
	case REQ_PATCH_NET:
		controller_patch_net(c, &req->u.net_update, resp);
		return;
	case REQ_PUT_VSOCK:
		controller_put_vsock(c, &req->u.vsock, resp);
		return;
	case REQ_PUT_ENTROPY:
		controller_put_entropy(c, &req->u.entropy, resp);
		return;
	case REQ_PUT_PMEM:
		controller_put_pmem(c, &req->u.pmem, resp);
		return;
	case REQ_PATCH_PMEM:
		controller_patch_pmem(c, &req->u.pmem_update, resp);
		return;
	case REQ_CREATE_SNAPSHOT:
		controller_create_snapshot(c, &req->u.snapshot_create, resp);
		return;
	case REQ_LOAD_SNAPSHOT:
		controller_load_snapshot(c, &req->u.snapshot_load, resp);
		return;
	case REQ_GET_MMDS:
	case REQ_PUT_MMDS:
	case REQ_PATCH_MMDS:
	case REQ_PUT_MMDS_CONFIG:
		controller_mmds(c, req, resp);
		return;
	case REQ_HOT_UNPLUG:
		vmm_response_fail(resp, PCI_NOT_ENABLED);
		return;
	default:
		break;
	}
	if (controller_is_balloon_request(req->type)) {
		controller_balloon(c, req, resp);
		return;
	}
	if (controller_is_memory_hotplug_request(req->type)) {
		controller_memory_hotplug(c, req, resp);
		return;
	}
	vmm_response_fail(resp, "Invalid request type %d.", (int)req->type);
}
