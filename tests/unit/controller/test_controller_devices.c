// SPDX-License-Identifier: Apache-2.0
/*
 * The controller's device requests against a fake VM: PUT/PATCH /drives,
 * /network-interfaces, PUT /vsock and /entropy with Firecracker's rules and
 * exact fault messages (pre-/post-boot, second root drive, replace by id,
 * duplicate MAC and tap, unknown ids on PATCH, host resources checked at PUT
 * time), "a refused request changes nothing", PATCH limiter semantics, and
 * the deep copy/free of the device configuration.
 *
 * The tap cases need root: the group runs in its own network namespace, so
 * the taps it opens exist only there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/controller/controller.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"

/* ---- a fake VM that records the PATCH calls ---- */

struct fake_vm {
	int starts, drive_updates, net_updates;
	int fail_with; /* -errno for the next update, 0 to succeed */
	const char *fail_text;
	struct drive_update last_drive; /* strings not owned */
	struct net_update last_net;
};

static int fake_start(void *ctx, const struct vm_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	(void)err;
	(void)errlen;
	((struct fake_vm *)ctx)->starts++;
	return 0;
}

static int fake_op(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	(void)err;
	(void)errlen;
	return 0;
}

static int fake_result(struct fake_vm *vm, char *err, size_t errlen)
{
	int ret = vm->fail_with;

	if (ret && vm->fail_text)
		snprintf(err, errlen, "%s", vm->fail_text);
	vm->fail_with = 0;
	return ret;
}

static int fake_update_drive(void *ctx, const struct drive_update *u, char *err, size_t errlen)
{
	struct fake_vm *vm = ctx;

	vm->drive_updates++;
	vm->last_drive = *u;
	return fake_result(vm, err, errlen);
}

static int fake_update_net(void *ctx, const struct net_update *u, char *err, size_t errlen)
{
	struct fake_vm *vm = ctx;

	vm->net_updates++;
	vm->last_net = *u;
	return fake_result(vm, err, errlen);
}

static const struct vmm_ops fake_ops = {
    .start = fake_start,
    .pause = fake_op,
    .resume = fake_op,
    .send_ctrl_alt_del = fake_op,
    .update_drive = fake_update_drive,
    .update_net = fake_update_net,
};

struct fixture {
	struct controller c;
	struct fake_vm vm;
	char dir[64];
	char disk_a[128], disk_b[128], kernel[128];
};

static char last_fault[FAULT_MESSAGE_MAX];

static void make_file(const char *path, size_t size)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ember-ctldev.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->disk_a, sizeof(f->disk_a), "%s/a.img", f->dir);
	snprintf(f->disk_b, sizeof(f->disk_b), "%s/b.img", f->dir);
	snprintf(f->kernel, sizeof(f->kernel), "%s/vmlinux", f->dir);
	make_file(f->disk_a, 4096);
	make_file(f->disk_b, 8192);
	make_file(f->kernel, 16);
	controller_init(&f->c, "test-vm", &fake_ops, &f->vm);
	metrics_reset();
	log_reset();
	log_set_level(LOG_OFF);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	controller_destroy(&f->c);
	log_reset();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int handle(struct fixture *f, struct vmm_request *req)
{
	struct vmm_response resp;

	controller_handle(&f->c, req, &resp);
	snprintf(last_fault, sizeof(last_fault), "%s", resp.fault_message);
	vmm_response_free(&resp);
	return resp.status;
}

static int put_drive(struct fixture *f, const char *id, const char *path, bool root)
{
	struct vmm_request req = {.type = REQ_PUT_DRIVE};

	req.u.drive.drive_id = (char *)id;
	req.u.drive.path_on_host = (char *)path;
	req.u.drive.is_root_device = root;
	return handle(f, &req);
}

static void start_vm(struct fixture *f)
{
	struct vmm_request req = {.type = REQ_PUT_BOOT_SOURCE};

	req.u.boot_source.kernel_image_path = f->kernel;
	assert_int_equal(handle(f, &req), 204);
	req = (struct vmm_request){.type = REQ_INSTANCE_START};
	assert_int_equal(handle(f, &req), 204);
	assert_int_equal(f->vm.starts, 1);
}

static void assert_drive_ids(struct fixture *f, const char *const *ids, unsigned int nr)
{
	assert_int_equal(f->c.cfg.nr_drives, nr);
	for (unsigned int i = 0; i < nr; i++)
		assert_string_equal(f->c.cfg.drives[i].drive_id, ids[i]);
}

/* ---- drives ---- */

static void test_drive_put_and_replace(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_PUT_DRIVE};
	struct drive_config *d;

	assert_int_equal(put_drive(f, "data", f->disk_a, false), 204);
	req.u.drive = (struct drive_config){
	    .drive_id = "data",
	    .path_on_host = f->disk_b,
	    .partuuid = "0eaa91a0-01",
	    .is_read_only = true,
	    .cache_type = DRIVE_CACHE_WRITEBACK,
	    .has_rate_limiter = true,
	    .rate_limiter = {.has_ops = true, .ops = {.size = 10, .refill_time_ms = 1000}},
	};
	/* Same id: updated in place, every field replaced. */
	assert_int_equal(handle(f, &req), 204);
	assert_int_equal(f->c.cfg.nr_drives, 1);
	d = &f->c.cfg.drives[0];
	assert_string_equal(d->path_on_host, f->disk_b);
	assert_ptr_not_equal(d->path_on_host, f->disk_b); /* a copy */
	assert_string_equal(d->partuuid, "0eaa91a0-01");
	assert_true(d->is_read_only);
	assert_int_equal(d->cache_type, DRIVE_CACHE_WRITEBACK);
	assert_true(d->has_rate_limiter);
	assert_int_equal(d->rate_limiter.ops.size, 10);
	assert_int_equal(d->rate_limiter.ops.refill_time_ms, 1000);
}

static void test_drive_root_goes_first(void **state)
{
	struct fixture *f = *state;
	static const char *const after_root[] = {"root", "a", "b"};
	static const char *const after_swap[] = {"b", "a", "root"};

	assert_int_equal(put_drive(f, "a", f->disk_a, false), 204);
	assert_int_equal(put_drive(f, "b", f->disk_b, false), 204);
	assert_int_equal(put_drive(f, "root", f->disk_a, true), 204);
	assert_drive_ids(f, after_root, 3);
	/* Firecracker's update of a non-root drive to root (after unsetting the old one) swaps. */
	assert_int_equal(put_drive(f, "root", f->disk_a, false), 204);
	assert_int_equal(put_drive(f, "b", f->disk_b, true), 204);
	assert_drive_ids(f, after_swap, 3);
	assert_true(f->c.cfg.drives[0].is_root_device);
}

static void test_drive_second_root_refused(void **state)
{
	struct fixture *f = *state;
	static const char *const ids[] = {"root", "data"};

	assert_int_equal(put_drive(f, "root", f->disk_a, true), 204);
	assert_int_equal(put_drive(f, "data", f->disk_b, false), 204);
	assert_int_equal(put_drive(f, "other", f->disk_b, true), 400);
	assert_string_equal(last_fault, "Drive config error: A root block device already exists!");
	assert_int_equal(put_drive(f, "data", f->disk_b, true), 400);
	assert_string_equal(last_fault, "Drive config error: A root block device already exists!");
	assert_drive_ids(f, ids, 2);
	assert_false(f->c.cfg.drives[1].is_root_device);
	/* The root drive itself may be replaced as root. */
	assert_int_equal(put_drive(f, "root", f->disk_b, true), 204);
	assert_string_equal(f->c.cfg.drives[0].path_on_host, f->disk_b);
}

static void test_drive_missing_file(void **state)
{
	struct fixture *f = *state;
	char missing[160], expect[512];

	assert_int_equal(put_drive(f, "root", f->disk_a, true), 204);
	snprintf(missing, sizeof(missing), "%s/nope.img", f->dir);
	snprintf(expect, sizeof(expect),
		 "Drive config error: Unable to create the virtio block device: Virtio backend "
		 "error: Error manipulating the backing file: No such file or directory (os error "
		 "2) %s",
		 missing);
	assert_int_equal(put_drive(f, "root", missing, true), 400);
	assert_string_equal(last_fault, expect);
	/* Nothing changed. */
	assert_int_equal(f->c.cfg.nr_drives, 1);
	assert_string_equal(f->c.cfg.drives[0].path_on_host, f->disk_a);
	/* A directory opens read-only but not read-write. */
	assert_int_equal(put_drive(f, "dir", f->dir, false), 400);
	snprintf(expect, sizeof(expect),
		 "Drive config error: Unable to create the virtio block device: Virtio backend "
		 "error: Error manipulating the backing file: Is a directory (os error 21) %s",
		 f->dir);
	assert_string_equal(last_fault, expect);
	assert_int_equal(f->c.cfg.nr_drives, 1);
}

/*
 * Issue #8 (6): Firecracker's Block::new() picks the backend from the
 * fields: a path without socket is virtio-blk, a socket alone vhost-user
 * (which Ember has not), anything else "Invalid block config.". The root
 * drive rule comes first.
 */
static void test_drive_backend_choice(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_PUT_DRIVE};
	char sock[160];

	req.u.drive = (struct drive_config){.drive_id = "a", .is_root_device = true};
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(
	    last_fault,
	    "Drive config error: Unable to create the virtio block device: Invalid block "
	    "config.");
	req.u.drive.path_on_host = f->disk_a;
	req.u.drive.socket = "/s";
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(
	    last_fault,
	    "Drive config error: Unable to create the virtio block device: Invalid block "
	    "config.");
	/* vhost-user, and none listens there: Firecracker's connect error. */
	snprintf(sock, sizeof(sock), "%s/vhost.sock", f->dir);
	req.u.drive = (struct drive_config){.drive_id = "a", .socket = sock};
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(
	    last_fault, "Drive config error: Unable to create the virtio block device: Vhost user "
			"backend error: Vhost-user error: Failed to connect to UDS Unix stream: "
			"No such file or directory (os error 2)");
	/* With is_read_only given it is no vhost-user config either. */
	req.u.drive.has_is_read_only = true;
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(
	    last_fault,
	    "Drive config error: Unable to create the virtio block device: Invalid block "
	    "config.");
	assert_int_equal(f->c.cfg.nr_drives, 0);
	/* The second root drive is refused before the backend is looked at. */
	assert_int_equal(put_drive(f, "root", f->disk_a, true), 204);
	req.u.drive = (struct drive_config){.drive_id = "b", .is_root_device = true};
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(last_fault, "Drive config error: A root block device already exists!");
	assert_int_equal(f->c.cfg.nr_drives, 1);
}

static void test_drive_async_engine(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_PUT_DRIVE};
	int status;

	req.u.drive = (struct drive_config){
	    .drive_id = "a", .path_on_host = f->disk_a, .io_engine = DRIVE_IO_ASYNC};
	status = handle(f, &req);
	/* The host decides; either the drive is taken or the reason is Firecracker-shaped. */
	if (status == 204) {
		assert_int_equal(f->c.cfg.drives[0].io_engine, DRIVE_IO_ASYNC);
		return;
	}
	assert_int_equal(status, 400);
	assert_non_null(strstr(last_fault, "Drive config error: Unable to create the virtio block "
					   "device: Virtio backend error: Error coming from the IO "
					   "engine: "));
	assert_int_equal(f->c.cfg.nr_drives, 0);
}

static void test_drive_post_boot_rules(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_PATCH_DRIVE};

	req.u.drive_update.drive_id = "root";
	req.u.drive_update.path_on_host = f->disk_b;
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(
	    last_fault, "The requested operation is not supported before starting the microVM.");
	assert_int_equal(f->vm.drive_updates, 0);
	assert_int_equal(put_drive(f, "root", f->disk_a, true), 204);
	start_vm(f);
	/* Firecracker 1.16 hot-plugs after boot, on PCI only. */
	assert_int_equal(put_drive(f, "data", f->disk_b, false), 400);
	assert_string_equal(last_fault, "PCI is not enabled");
	assert_int_equal(f->c.cfg.nr_drives, 1);
}

static void test_drive_patch(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_PATCH_DRIVE};
	struct drive_config *d;
	char missing[160], expect[512];

	assert_int_equal(put_drive(f, "root", f->disk_a, true), 204);
	start_vm(f);
	d = &f->c.cfg.drives[0];

	/* Unknown id: the VM is not asked. */
	req.u.drive_update.drive_id = "nope";
	req.u.drive_update.path_on_host = f->disk_b;
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(last_fault,
			    "Drive config error: Unable to patch the block device: Failed perform "
			    "action on device: Device not found Please verify the request "
			    "arguments.");
	assert_int_equal(f->vm.drive_updates, 0);

	/* Neither path nor limiter: Firecracker's vhost-user update, refused for virtio-blk. */
	req.u.drive_update.drive_id = "root";
	req.u.drive_update.path_on_host = NULL;
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(last_fault,
			    "Drive config error: Unable to patch the block device: Block: Running "
			    "method expected different backend. Please verify the request "
			    "arguments.");
	assert_int_equal(f->vm.drive_updates, 0);

	/* A new file that does not open: refused before the VM is asked. */
	snprintf(missing, sizeof(missing), "%s/gone.img", f->dir);
	req.u.drive_update.drive_id = "root";
	req.u.drive_update.path_on_host = missing;
	assert_int_equal(handle(f, &req), 400);
	snprintf(expect, sizeof(expect),
		 "Drive config error: Unable to patch the block device: Block: Virtio backend "
		 "error: Error manipulating the backing file: No such file or directory (os error "
		 "2) %s Please verify the request arguments.",
		 missing);
	assert_string_equal(last_fault, expect);
	assert_int_equal(f->vm.drive_updates, 0);

	/* The VM refuses: nothing changes. */
	req.u.drive_update.path_on_host = f->disk_b;
	f->vm.fail_with = -EIO;
	f->vm.fail_text = "backend on fire";
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(last_fault,
			    "Drive config error: Unable to patch the block device: "
			    "Block: backend on fire Please verify the request arguments.");
	assert_string_equal(d->path_on_host, f->disk_a);

	/* Success: the VM got the update, the configuration follows. */
	req.u.drive_update.has_rate_limiter = true;
	req.u.drive_update.rate_limiter = (struct rate_limiter_config){
	    .has_bandwidth = true, .bandwidth = {.size = 4096, .refill_time_ms = 100}};
	assert_int_equal(handle(f, &req), 204);
	assert_int_equal(f->vm.drive_updates, 2);
	assert_string_equal(f->vm.last_drive.drive_id, "root");
	assert_string_equal(f->vm.last_drive.path_on_host, f->disk_b);
	assert_true(f->vm.last_drive.has_rate_limiter);
	assert_string_equal(d->path_on_host, f->disk_b);
	assert_true(d->has_rate_limiter);
	assert_true(d->rate_limiter.has_bandwidth);
	assert_int_equal(d->rate_limiter.bandwidth.size, 4096);
	assert_false(d->rate_limiter.has_ops);

	/* Limiter only: the path stays, a given bucket replaces, a missing one stays. */
	req.u.drive_update.path_on_host = NULL;
	req.u.drive_update.rate_limiter =
	    (struct rate_limiter_config){.has_ops = true, .ops = {.size = 5, .refill_time_ms = 10}};
	assert_int_equal(handle(f, &req), 204);
	assert_string_equal(d->path_on_host, f->disk_b);
	assert_int_equal(d->rate_limiter.bandwidth.size, 4096);
	assert_int_equal(d->rate_limiter.ops.size, 5);
}

/* ---- network interfaces ---- */

static bool have_tap;

/* Taps get opened for real: as root, in a network namespace of our own. */
static int net_group_setup(void **state)
{
	(void)state;
	have_tap =
	    geteuid() == 0 && unshare(CLONE_NEWNET) == 0 && access("/dev/net/tun", R_OK) == 0;
	return 0;
}

static int put_net(struct fixture *f, const char *id, const char *tap, const char *mac)
{
	struct vmm_request req = {.type = REQ_PUT_NET};
	struct net_config *n = &req.u.net;

	n->iface_id = (char *)id;
	n->host_dev_name = (char *)tap;
	if (mac) {
		n->has_guest_mac = true;
		assert_int_equal(sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &n->guest_mac[0],
					&n->guest_mac[1], &n->guest_mac[2], &n->guest_mac[3],
					&n->guest_mac[4], &n->guest_mac[5]),
				 6);
	}
	return handle(f, &req);
}

static void test_net_put_rules(void **state)
{
	struct fixture *f = *state;

	if (!have_tap) {
		skip();
		return;
	}
	assert_int_equal(put_net(f, "eth0", "tap0", "06:00:AC:10:00:02"), 204);
	assert_int_equal(put_net(f, "eth1", "tap1", NULL), 204);
	assert_int_equal(f->c.cfg.nr_nets, 2);
	assert_false(f->c.cfg.nets[1].has_guest_mac);

	/* Another interface with the same MAC (printed lowercase, like Firecracker). */
	assert_int_equal(put_net(f, "eth2", "tap2", "06:00:ac:10:00:02"), 400);
	assert_string_equal(last_fault, "Network config error: The MAC address is already in use: "
					"06:00:ac:10:00:02");
	/* Another interface on the same tap. */
	assert_int_equal(put_net(f, "eth2", "tap0", NULL), 400);
	assert_string_equal(
	    last_fault, "Network config error: Could not create the network device: Open tap "
			"device failed: Error while creating ifreq structure: Device or "
			"resource busy (os error 16). Invalid TUN/TAP Backend provided by tap0. "
			"Check our documentation on setting up the network devices.");
	/* A name the kernel cannot take. */
	assert_int_equal(put_net(f, "eth2", "a_tap_name_too_long", NULL), 400);
	assert_string_equal(last_fault, "Network config error: Could not create the network "
					"device: Open tap device failed: Invalid interface name");
	assert_int_equal(f->c.cfg.nr_nets, 2);

	/* The same interface may keep its MAC and tap; an update stays in its place. */
	assert_int_equal(put_net(f, "eth0", "tap0", "06:00:ac:10:00:02"), 204);
	assert_int_equal(put_net(f, "eth0", "tap5", "06:00:ac:10:00:09"), 204);
	assert_int_equal(f->c.cfg.nr_nets, 2);
	assert_string_equal(f->c.cfg.nets[0].iface_id, "eth0");
	assert_string_equal(f->c.cfg.nets[0].host_dev_name, "tap5");
	assert_int_equal(f->c.cfg.nets[0].guest_mac[5], 9);
	/* The old MAC is free again. */
	assert_int_equal(put_net(f, "eth1", "tap1", "06:00:ac:10:00:02"), 204);
}

static void test_net_mtu(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_PUT_NET};

	req.u.net = (struct net_config){
	    .iface_id = "eth0", .host_dev_name = "tap0", .has_mtu = true, .mtu = 67};
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(last_fault, "Network config error: Could not create the network "
					"device: MTU 67 is out of range [68, 65535]");
	assert_int_equal(f->c.cfg.nr_nets, 0);
	if (!have_tap)
		return;
	req.u.net.mtu = 68;
	assert_int_equal(handle(f, &req), 204);
	assert_int_equal(f->c.cfg.nets[0].mtu, 68);
}

static void test_net_patch(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_PATCH_NET};
	struct net_config *n;

	if (!have_tap) {
		skip();
		return;
	}
	req.u.net_update.iface_id = "eth0";
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(
	    last_fault, "The requested operation is not supported before starting the microVM.");
	assert_int_equal(put_net(f, "eth0", "tap0", NULL), 204);
	start_vm(f);
	assert_int_equal(put_net(f, "eth1", "tap1", NULL), 400);
	assert_string_equal(last_fault, "PCI is not enabled");

	req.u.net_update.iface_id = "eth9";
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(last_fault, "Network config error: Unable to update the net device: "
					"Failed perform action on device: Device not found");
	assert_int_equal(f->vm.net_updates, 0);

	req.u.net_update = (struct net_update){
	    .iface_id = "eth0",
	    .has_tx_rate_limiter = true,
	    .tx_rate_limiter = {.has_bandwidth = true,
				.bandwidth = {.size = 1000000, .refill_time_ms = 100}},
	};
	f->vm.fail_with = -EINVAL;
	f->vm.fail_text = "no";
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(last_fault,
			    "Network config error: Unable to update the net device: no");
	n = &f->c.cfg.nets[0];
	assert_false(n->has_tx_rate_limiter);
	assert_int_equal(handle(f, &req), 204);
	assert_int_equal(f->vm.net_updates, 2);
	assert_true(f->vm.last_net.has_tx_rate_limiter);
	assert_false(f->vm.last_net.has_rx_rate_limiter);
	assert_true(n->has_tx_rate_limiter);
	assert_int_equal(n->tx_rate_limiter.bandwidth.size, 1000000);
	assert_false(n->has_rx_rate_limiter);
}

/* ---- vsock and entropy ---- */

static int put_vsock(struct fixture *f, uint32_t cid, const char *path)
{
	struct vmm_request req = {.type = REQ_PUT_VSOCK};

	req.u.vsock.guest_cid = cid;
	req.u.vsock.uds_path = (char *)path;
	req.u.vsock.vsock_id = "vsock0";
	return handle(f, &req);
}

static void test_vsock(void **state)
{
	struct fixture *f = *state;
	char path[160], bad[160], expect[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/v.sock", f->dir);

	snprintf(bad, sizeof(bad), "%s/no/such/dir/v.sock", f->dir);
	assert_int_equal(put_vsock(f, 3, bad), 400);
	assert_string_equal(
	    last_fault, "Vsock config error: Cannot create backend for vsock device: Error binding "
			"to the host-side Unix socket: No such file or directory (os error 2)");

	/* A path in use: Firecracker's bind fails with EADDRINUSE. */
	make_file(path, 0);
	assert_int_equal(put_vsock(f, 3, path), 400);
	snprintf(expect, sizeof(expect),
		 "Vsock config error: Cannot create backend for vsock device: Error binding to the "
		 "host-side Unix socket: Address already in use (os error 98)");
	assert_string_equal(last_fault, expect);
	assert_false(f->c.cfg.has_vsock);
	unlink(path);

	/* Accepted: the bind was a check, no socket is left behind; PUT again replaces. */
	assert_int_equal(put_vsock(f, 3, path), 204);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(put_vsock(f, 52, path), 204);
	assert_true(f->c.cfg.has_vsock);
	assert_int_equal(f->c.cfg.vsock.guest_cid, 52);
	assert_string_equal(f->c.cfg.vsock.uds_path, path);
	assert_string_equal(f->c.cfg.vsock.vsock_id, "vsock0");
	/* Issue #8 (6): a replacement that fails leaves no vsock, as in Firecracker. */
	snprintf(expect, sizeof(expect), "%s/%0120d", f->dir, 0);
	assert_int_equal(put_vsock(f, 53, expect), 400);
	assert_string_equal(
	    last_fault, "Vsock config error: Cannot create backend for vsock device: Error binding "
			"to the host-side Unix socket: path must be shorter than SUN_LEN");
	assert_false(f->c.cfg.has_vsock);
	/* Any guest_cid: Firecracker's code does not check its swagger's minimum of 3. */
	assert_int_equal(put_vsock(f, 2, path), 204);
	assert_int_equal(f->c.cfg.vsock.guest_cid, 2);
	assert_int_equal(put_vsock(f, 0, path), 204);
	assert_int_equal(put_vsock(f, 52, path), 204);
	start_vm(f);
	assert_int_equal(put_vsock(f, 7, path), 400);
	assert_int_equal(f->c.cfg.vsock.guest_cid, 52);
}

static void test_entropy(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_PUT_ENTROPY};

	assert_int_equal(handle(f, &req), 204);
	assert_true(f->c.cfg.has_entropy);
	assert_false(f->c.cfg.entropy.has_rate_limiter);
	req.u.entropy = (struct entropy_config){
	    .has_rate_limiter = true,
	    .rate_limiter = {.has_bandwidth = true, .bandwidth = {.size = 16, .refill_time_ms = 1}},
	};
	assert_int_equal(handle(f, &req), 204);
	assert_int_equal(f->c.cfg.entropy.rate_limiter.bandwidth.size, 16);
	start_vm(f);
	assert_int_equal(handle(f, &req), 400);
	assert_string_equal(last_fault,
			    "The requested operation is not supported after starting the microVM.");
}

/* ---- GET /vm/config and the config copies ---- */

static void test_vm_config_copy(void **state)
{
	struct fixture *f = *state;
	struct vmm_request req = {.type = REQ_GET_VM_CONFIG};
	struct vmm_response resp;
	char path[160];

	assert_int_equal(put_drive(f, "root", f->disk_a, true), 204);
	assert_int_equal(put_drive(f, "data", f->disk_b, false), 204);
	snprintf(path, sizeof(path), "%s/v.sock", f->dir);
	assert_int_equal(put_vsock(f, 3, path), 204);
	if (have_tap)
		assert_int_equal(put_net(f, "eth0", "tap0", "02:00:00:00:00:01"), 204);

	controller_handle(&f->c, &req, &resp);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.config.nr_drives, 2);
	for (unsigned int i = 0; i < 2; i++) {
		assert_string_equal(resp.config.drives[i].drive_id, f->c.cfg.drives[i].drive_id);
		assert_ptr_not_equal(resp.config.drives[i].drive_id, f->c.cfg.drives[i].drive_id);
		assert_ptr_not_equal(resp.config.drives[i].path_on_host,
				     f->c.cfg.drives[i].path_on_host);
	}
	assert_true(resp.config.has_vsock);
	assert_string_equal(resp.config.vsock.uds_path, path);
	assert_ptr_not_equal(resp.config.vsock.uds_path, f->c.cfg.vsock.uds_path);
	assert_ptr_not_equal(resp.config.vsock.vsock_id, f->c.cfg.vsock.vsock_id);
	assert_int_equal(resp.config.nr_nets, f->c.cfg.nr_nets);
	if (have_tap) {
		assert_string_equal(resp.config.nets[0].host_dev_name, "tap0");
		assert_ptr_not_equal(resp.config.nets[0].host_dev_name,
				     f->c.cfg.nets[0].host_dev_name);
		assert_memory_equal(resp.config.nets[0].guest_mac, f->c.cfg.nets[0].guest_mac, 6);
	}
	/* Freed whole (ASan checks) and reset to the defaults. */
	vmm_response_free(&resp);
	assert_null(resp.config.drives);
	assert_int_equal(resp.config.nr_drives, 0);
	assert_null(resp.config.vsock.uds_path);
	assert_int_equal(resp.config.machine.vcpu_count, VMM_DEFAULT_VCPUS);
}

static void test_device_config_copy_free(void **state)
{
	struct drive_config d = {.drive_id = "x", .path_on_host = "/p", .partuuid = "u"}, dc;
	struct net_config n = {.iface_id = "eth0",
			       .host_dev_name = "tap0",
			       .has_mtu = true,
			       .mtu = 9000},
			  nc;
	struct vsock_config v = {.guest_cid = 3, .uds_path = "/s"}, vc;

	(void)state;
	assert_int_equal(drive_config_copy(&dc, &d), 0);
	assert_string_equal(dc.partuuid, "u");
	assert_ptr_not_equal(dc.partuuid, d.partuuid);
	drive_config_free(&dc);
	assert_null(dc.drive_id);
	assert_null(dc.partuuid);
	assert_int_equal(net_config_copy(&nc, &n), 0);
	assert_int_equal(nc.mtu, 9000);
	assert_string_equal(nc.host_dev_name, "tap0");
	net_config_free(&nc);
	assert_null(nc.host_dev_name);
	assert_int_equal(vsock_config_copy(&vc, &v), 0);
	assert_null(vc.vsock_id);
	assert_string_equal(vc.uds_path, "/s");
	vsock_config_free(&vc);
	assert_null(vc.uds_path);
}

static void test_rate_limiter_update_rules(void **state)
{
	struct rate_limiter_config rl = {0}, up;
	bool has = false;

	(void)state;
	up = (struct rate_limiter_config){.has_ops = true, .ops = {.size = 1, .refill_time_ms = 2}};
	rate_limiter_config_update(&has, &rl, &up);
	assert_true(has);
	assert_true(rl.has_ops);
	assert_false(rl.has_bandwidth);
	/* An update without buckets changes nothing. */
	up = (struct rate_limiter_config){0};
	rate_limiter_config_update(&has, &rl, &up);
	assert_true(has);
	assert_int_equal(rl.ops.size, 1);
	/* A bucket of size 0 replaces (and so disables) the old one. */
	up = (struct rate_limiter_config){.has_ops = true, .ops = {.size = 0, .refill_time_ms = 5}};
	rate_limiter_config_update(&has, &rl, &up);
	assert_int_equal(rl.ops.size, 0);
	assert_int_equal(rl.ops.refill_time_ms, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_drive_put_and_replace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drive_root_goes_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drive_second_root_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drive_missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drive_backend_choice, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drive_async_engine, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drive_post_boot_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drive_patch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_net_put_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_net_mtu, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_net_patch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vsock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_entropy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vm_config_copy, setup, teardown),
	    cmocka_unit_test(test_device_config_copy_free),
	    cmocka_unit_test(test_rate_limiter_update_rules),
	};

	return cmocka_run_group_tests(tests, net_group_setup, NULL);
}
