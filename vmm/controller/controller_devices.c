// SPDX-License-Identifier: Apache-2.0
/*
 * PUT/PATCH /drives, /network-interfaces, PUT /vsock and /entropy: the rules
 * of Firecracker's BlockBuilder, NetBuilder, VsockBuilder and
 * EntropyDeviceBuilder, and its fault messages. Every handler checks first
 * and changes the configuration last, so a refused request changes nothing
 * (Firecracker itself drops an interface whose replacement fails to open;
 * Ember keeps it).
 */
#include "vmm/controller/controller_devices.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/virtio/block.h"
#include "devices/virtio/block_async.h"
#include "devices/virtio/net.h"
#include "devices/virtio/tap.h"
#include "devices/virtio/vsock.h"
#include "vmm/controller/controller_pmem.h"

#define DRIVE_ERR "Drive config error: "
#define NET_ERR	  "Network config error: "
#define VSOCK_ERR "Vsock config error: "
/* Firecracker 1.16's FindDeviceError::DeviceNotFound behind VmmError::FindDeviceError. */
#define DEVICE_NOT_FOUND "Failed perform action on device: Device not found"
#define CREATE_DRIVE_ERR DRIVE_ERR "Unable to create the virtio block device: "
#define PATCH_DRIVE_ERR	 DRIVE_ERR "Unable to patch the block device: "
#define PATCH_DRIVE_HINT " Please verify the request arguments."
#define PATCH_NET_ERR	 NET_ERR "Unable to update the net device: "

static void fail_nomem(struct vmm_response *resp)
{
	vmm_response_fail(resp, "Internal VMM error: %s (os error %d)", strerror(ENOMEM), ENOMEM);
}

/* ---- rate limiters ---- */

void rate_limiter_config_update(bool *has, struct rate_limiter_config *rl,
				const struct rate_limiter_config *update)
{
	if (update->has_bandwidth) {
		rl->has_bandwidth = true;
		rl->bandwidth = update->bandwidth;
	}
	if (update->has_ops) {
		rl->has_ops = true;
		rl->ops = update->ops;
	}
	*has = rl->has_bandwidth || rl->has_ops;
}

/* ---- drives ---- */

static int drive_index(const struct vm_config *cfg, const char *drive_id)
{
	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		if (!strcmp(cfg->drives[i].drive_id, drive_id))
			return (int)i;
	return -1;
}

static int root_drive_index(const struct vm_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		if (cfg->drives[i].is_root_device)
			return (int)i;
	return -1;
}

/*
 * Firecracker's DiskProperties::new(): open the file read-write unless the
 * drive is read-only and find its size. On failure the detail is
 * VirtioBlockError::BackingFile's "<io error> <path>".
 */
static bool backing_file_opens(const char *path, bool read_only, char *detail, size_t len)
{
	int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		err = errno;
	else if (lseek(fd, 0, SEEK_END) < 0)
		err = errno;
	if (fd >= 0)
		close(fd);
	if (err)
		snprintf(detail, len, "Error manipulating the backing file: %s (os error %d) %s",
			 strerror(err), err, path);
	return !err;
}

/* Firecracker creates the drive's I/O engine at PUT time: an Async drive needs an io_uring. */
static bool io_engine_works(enum drive_io_engine engine, char *detail, size_t len)
{
	struct block_async *ring;
	char err[256] = "";

	if (engine != DRIVE_IO_ASYNC)
		return true;
	if (block_async_create(&ring, BLOCK_QUEUE_SIZE, err, sizeof(err))) {
		snprintf(detail, len, "Error coming from the IO engine: %s", err);
		return false;
	}
	block_async_destroy(ring);
	return true;
}

/* Firecracker's BlockBuilder::insert(): replace by id, the root drive always first. */
static void drive_insert(struct vm_config *cfg, int pos, struct drive_config *next)
{
	struct drive_config tmp;

	if (pos >= 0) {
		drive_config_free(&cfg->drives[pos]);
		cfg->drives[pos] = *next;
		if (pos != 0 && next->is_root_device) {
			tmp = cfg->drives[0];
			cfg->drives[0] = cfg->drives[pos];
			cfg->drives[pos] = tmp;
		}
		return;
	}
	if (next->is_root_device) {
		memmove(&cfg->drives[1], &cfg->drives[0], cfg->nr_drives * sizeof(cfg->drives[0]));
		cfg->drives[0] = *next;
	} else {
		cfg->drives[cfg->nr_drives] = *next;
	}
	cfg->nr_drives++;
}

/*
 * A vhost-user drive (Firecracker's VhostUserBlockConfig: a socket and none
 * of the virtio-blk fields). Firecracker connects to the backend at once;
 * where that fails Ember answers as it does, else it refuses: it has no
 * vhost-user backend.
 */
static void refuse_vhost_user(const char *socket_path, struct vmm_response *resp)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd, err = 0;

	if (strlen(socket_path) >= sizeof(addr.sun_path)) {
		vmm_response_fail(resp, CREATE_DRIVE_ERR
				  "Vhost user backend error: Vhost-user error: "
				  "Failed to connect to UDS Unix stream: path must "
				  "be shorter than SUN_LEN");
		return;
	}
	memcpy(addr.sun_path, socket_path, strlen(socket_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		err = errno;
	if (fd >= 0)
		close(fd);
	if (err && err != EAGAIN && err != EINPROGRESS)
		vmm_response_fail(resp,
				  CREATE_DRIVE_ERR
				  "Vhost user backend error: Vhost-user error: "
				  "Failed to connect to UDS Unix stream: %s (os error "
				  "%d)",
				  strerror(err), err);
	else
		vmm_response_fail(resp,
				  CREATE_DRIVE_ERR "Vhost user backend error: vhost-user "
						   "block devices are not supported by Ember");
}

/*
 * Firecracker's Block::new(): virtio-blk for a path without socket,
 * vhost-user for a socket alone, else "Invalid block config.".
 */
static bool block_device_creates(const struct drive_config *d, struct vmm_response *resp)
{
	char detail[FAULT_MESSAGE_MAX / 2];

	if (d->path_on_host && !d->socket) {
		if (backing_file_opens(d->path_on_host, d->is_read_only, detail, sizeof(detail)) &&
		    io_engine_works(d->io_engine, detail, sizeof(detail)))
			return true;
		vmm_response_fail(resp, CREATE_DRIVE_ERR "Virtio backend error: %s", detail);
		return false;
	}
	if (d->socket && !d->path_on_host && !d->has_is_read_only && !d->has_rate_limiter &&
	    !d->has_io_engine) {
		refuse_vhost_user(d->socket, resp);
		return false;
	}
	vmm_response_fail(resp, CREATE_DRIVE_ERR "Invalid block config.");
	return false;
}

void controller_put_drive(struct controller *c, const struct drive_config *d,
			  struct vmm_response *resp)
{
	struct vm_config *cfg = &c->cfg;
	int pos = drive_index(cfg, d->drive_id), root = root_drive_index(cfg);
	struct drive_config next, *grown;

	if (d->is_root_device && controller_has_root_pmem(cfg)) {
		vmm_response_fail(resp, DRIVE_ERR "Attempt to add block as a root device while the "
						  "root device defined as a pmem device");
		return;
	}
	if (d->is_root_device && root >= 0 && root != pos) {
		vmm_response_fail(resp, DRIVE_ERR "A root block device already exists!");
		return;
	}
	if (!block_device_creates(d, resp))
		return;
	if (pos < 0) {
		grown = realloc(cfg->drives, (cfg->nr_drives + 1) * sizeof(*grown));
		if (!grown) {
			fail_nomem(resp);
			return;
		}
		cfg->drives = grown;
	}
	if (drive_config_copy(&next, d)) {
		fail_nomem(resp);
		return;
	}
	drive_insert(cfg, pos, &next);
	vmm_response_ok(resp);
}

void controller_patch_drive(struct controller *c, const struct drive_update *u,
			    struct vmm_response *resp)
{
	int pos = drive_index(&c->cfg, u->drive_id);
	char err[FAULT_MESSAGE_MAX / 2] = "";
	struct drive_config *d;
	char *path = NULL;
	int ret;

	if (pos < 0) {
		vmm_response_fail(resp, PATCH_DRIVE_ERR DEVICE_NOT_FOUND PATCH_DRIVE_HINT);
		return;
	}
	d = &c->cfg.drives[pos];
	/* Neither field: Firecracker's update of a vhost-user drive, refused for virtio-blk. */
	if (!u->path_on_host && !u->has_rate_limiter) {
		vmm_response_fail(
		    resp, PATCH_DRIVE_ERR
		    "Block: Running method expected different backend." PATCH_DRIVE_HINT);
		return;
	}
	if (u->path_on_host) {
		if (!backing_file_opens(u->path_on_host, d->is_read_only, err, sizeof(err))) {
			vmm_response_fail(resp,
					  PATCH_DRIVE_ERR
					  "Block: Virtio backend error: %s" PATCH_DRIVE_HINT,
					  err);
			return;
		}
		path = strdup(u->path_on_host);
		if (!path) {
			fail_nomem(resp);
			return;
		}
	}
	ret = c->ops->update_drive(c->ops_ctx, u, err, sizeof(err));
	if (ret) {
		free(path);
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(-ret));
		vmm_response_fail(resp, PATCH_DRIVE_ERR "Block: %s" PATCH_DRIVE_HINT, err);
		return;
	}
	if (path) {
		free(d->path_on_host);
		d->path_on_host = path;
	}
	if (u->has_rate_limiter)
		rate_limiter_config_update(&d->has_rate_limiter, &d->rate_limiter,
					   &u->rate_limiter);
	vmm_response_ok(resp);
}

/* ---- network interfaces ---- */

static int net_index(const struct vm_config *cfg, const char *iface_id)
{
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		if (!strcmp(cfg->nets[i].iface_id, iface_id))
			return (int)i;
	return -1;
}

/* Firecracker's NetBuilder::build(): no other interface may have the same guest MAC. */
static bool mac_is_free(const struct vm_config *cfg, int pos, const struct net_config *n,
			struct vmm_response *resp)
{
	const uint8_t *m = n->guest_mac;

	if (!n->has_guest_mac)
		return true;
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		if ((int)i == pos || !cfg->nets[i].has_guest_mac ||
		    memcmp(cfg->nets[i].guest_mac, m, sizeof(n->guest_mac)))
			continue;
		vmm_response_fail(
		    resp,
		    NET_ERR "The MAC address is already in use: %02x:%02x:%02x:%02x:%02x:%02x",
		    m[0], m[1], m[2], m[3], m[4], m[5]);
		return false;
	}
	return true;
}

/*
 * What Firecracker's Net::new() reports when the tap cannot be opened. A tap
 * another interface already uses is busy there (it holds the tap open);
 * Ember only checks the name here, so it answers that EBUSY itself.
 */
static bool tap_opens(const struct vm_config *cfg, int pos, const struct net_config *n,
		      struct vmm_response *resp)
{
	char err[FAULT_MESSAGE_MAX / 2] = "";
	int fd;

	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		if ((int)i == pos || strcmp(cfg->nets[i].host_dev_name, n->host_dev_name))
			continue;
		vmm_response_fail(
		    resp,
		    NET_ERR "Could not create the network device: Open tap device failed: Error "
			    "while creating ifreq structure: %s (os error %d). Invalid TUN/TAP "
			    "Backend provided by %s. Check our documentation on setting up the "
			    "network devices.",
		    strerror(EBUSY), EBUSY, n->host_dev_name);
		return false;
	}
	fd = net_tap_open(n->host_dev_name, err, sizeof(err));
	if (fd < 0) {
		vmm_response_fail(resp, NET_ERR "Could not create the network device: %s", err);
		return false;
	}
	close(fd);
	return true;
}

void controller_put_net(struct controller *c, const struct net_config *n, struct vmm_response *resp)
{
	struct vm_config *cfg = &c->cfg;
	int pos = net_index(cfg, n->iface_id);
	struct net_config next, *grown;

	if (!mac_is_free(cfg, pos, n, resp))
		return;
	if (n->has_mtu && n->mtu < NET_MTU_MIN) {
		vmm_response_fail(resp,
				  NET_ERR
				  "Could not create the network device: MTU %u is out of range "
				  "[%u, 65535]",
				  n->mtu, NET_MTU_MIN);
		return;
	}
	if (!tap_opens(cfg, pos, n, resp))
		return;
	if (pos < 0) {
		grown = realloc(cfg->nets, (cfg->nr_nets + 1) * sizeof(*grown));
		if (!grown) {
			fail_nomem(resp);
			return;
		}
		cfg->nets = grown;
	}
	if (net_config_copy(&next, n)) {
		fail_nomem(resp);
		return;
	}
	/* An update keeps the interface's place (and so its virtio-mmio slot). */
	if (pos >= 0) {
		net_config_free(&cfg->nets[pos]);
		cfg->nets[pos] = next;
	} else {
		cfg->nets[cfg->nr_nets++] = next;
	}
	vmm_response_ok(resp);
}

void controller_patch_net(struct controller *c, const struct net_update *u,
			  struct vmm_response *resp)
{
	int pos = net_index(&c->cfg, u->iface_id);
	char err[FAULT_MESSAGE_MAX / 2] = "";
	struct net_config *n;
	int ret;

	if (pos < 0) {
		vmm_response_fail(resp, PATCH_NET_ERR DEVICE_NOT_FOUND);
		return;
	}
	ret = c->ops->update_net(c->ops_ctx, u, err, sizeof(err));
	if (ret) {
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(-ret));
		vmm_response_fail(resp, PATCH_NET_ERR "%s", err);
		return;
	}
	n = &c->cfg.nets[pos];
	if (u->has_rx_rate_limiter)
		rate_limiter_config_update(&n->has_rx_rate_limiter, &n->rx_rate_limiter,
					   &u->rx_rate_limiter);
	if (u->has_tx_rate_limiter)
		rate_limiter_config_update(&n->has_tx_rate_limiter, &n->tx_rate_limiter,
					   &u->tx_rate_limiter);
	vmm_response_ok(resp);
}

/* ---- vsock ---- */

/*
 * Firecracker binds uds_path when the vsock is configured (VsockUnixBackend
 * binds and listens); its failure reads "Cannot create backend for vsock
 * device: Error binding to the host-side Unix socket: <io::Error>". Ember
 * binds to check, then removes the socket: the device binds it again at
 * InstanceStart.
 */
#define VSOCK_BIND_ERR                                                                             \
	VSOCK_ERR "Cannot create backend for vsock device: Error binding to the host-side Unix "   \
		  "socket: "

static bool uds_path_binds(const char *path, struct vmm_response *resp)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd, err = 0;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		vmm_response_fail(resp, VSOCK_BIND_ERR "path must be shorter than SUN_LEN");
		return false;
	}
	memcpy(addr.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		err = errno;
	else
		unlink(path);
	if (fd >= 0)
		close(fd);
	if (err)
		vmm_response_fail(resp, VSOCK_BIND_ERR "%s (os error %d)", strerror(err), err);
	return !err;
}

/*
 * Like Firecracker's VsockBuilder::insert(), which drops the configured
 * device before it creates the new one: a replacement that fails leaves no
 * vsock. Any guest_cid is taken (Firecracker's swagger asks for 3 or more,
 * its code does not check).
 */
void controller_put_vsock(struct controller *c, const struct vsock_config *v,
			  struct vmm_response *resp)
{
	struct vsock_config next;

	if (c->cfg.has_vsock) {
		vsock_config_free(&c->cfg.vsock);
		c->cfg.has_vsock = false;
	}
	if (!uds_path_binds(v->uds_path, resp))
		return;
	if (vsock_config_copy(&next, v)) {
		fail_nomem(resp);
		return;
	}
	c->cfg.vsock = next;
	c->cfg.has_vsock = true;
	vmm_response_ok(resp);
}

/* ---- entropy ---- */

void controller_put_entropy(struct controller *c, const struct entropy_config *e,
			    struct vmm_response *resp)
{
	c->cfg.entropy = *e;
	c->cfg.has_entropy = true;
	vmm_response_ok(resp);
}
