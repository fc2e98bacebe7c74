/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fake VMM side shared by the API fuzz targets (fuzz_http.c,
 * fuzz_config.c): the real controller with a VM that does nothing, on the
 * fuzzing thread, reset before every input.
 *
 * The controller checks host resources itself (opens drives and images,
 * creates log, metrics and serial files, binds the vsock socket, opens
 * taps): before a request reaches it, every host path in it is confined to
 * FUZZ_API_DIR (a name of its own there is kept, anything else becomes a
 * file that does not exist), so no input can create, truncate or block on
 * (a FIFO) a file elsewhere. As root the target also gets a network
 * namespace of its own for the taps. Routing, JSON decoding and validation
 * see the input unchanged.
 */
#ifndef EMBER_FUZZ_API_H
#define EMBER_FUZZ_API_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "vmm/controller/controller.h"

#define FUZZ_API_DIR "/tmp/ember-fuzz-api"

static int fz_ok(void *ctx, char *err, size_t errlen)
{
	(void)ctx;
	(void)err;
	(void)errlen;
	return 0;
}

static int fz_start(void *ctx, const struct vm_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	return fz_ok(ctx, err, errlen);
}

static int fz_update_drive(void *ctx, const struct drive_update *u, char *err, size_t errlen)
{
	(void)u;
	return fz_ok(ctx, err, errlen);
}

static int fz_update_net(void *ctx, const struct net_update *u, char *err, size_t errlen)
{
	(void)u;
	return fz_ok(ctx, err, errlen);
}

/* Every other create fails, to reach both answers. */
static int fz_create_snapshot(void *ctx, const struct vm_config *cfg,
			      const struct snapshot_create_params *p, char *err, size_t errlen)
{
	static unsigned int n;

	(void)ctx;
	(void)cfg;
	(void)p;
	if (n++ % 2) {
		snprintf(err, errlen, "fuzzing");
		return -EIO;
	}
	return 0;
}

static int fz_load_snapshot(void *ctx, const struct snapshot_load_params *p, struct vm_config *cfg,
			    char *err, size_t errlen)
{
	(void)p;
	(void)cfg;
	return fz_ok(ctx, err, errlen);
}

static const struct vmm_ops fz_ops = {
    .start = fz_start,
    .pause = fz_ok,
    .resume = fz_ok,
    .send_ctrl_alt_del = fz_ok,
    .update_drive = fz_update_drive,
    .update_net = fz_update_net,
    .create_snapshot = fz_create_snapshot,
    .load_snapshot = fz_load_snapshot,
};

/* @*path confined to FUZZ_API_DIR: "<dir>/<name>" stays, anything else is "<dir>/elsewhere". */
static void fz_confine(char **path)
{
	static const char prefix[] = FUZZ_API_DIR "/";
	const char *name;

	if (!*path)
		return;
	name = *path + strlen(prefix);
	if (!strncmp(*path, prefix, strlen(prefix)) && *name && !strchr(name, '/') &&
	    strcmp(name, ".") && strcmp(name, ".."))
		return;
	free(*path);
	*path = strdup(FUZZ_API_DIR "/elsewhere");
	if (!*path)
		abort();
}

static void fz_confine_request(struct vmm_request *r)
{
	switch (r->type) {
	case REQ_PUT_BOOT_SOURCE:
		fz_confine(&r->u.boot_source.kernel_image_path);
		fz_confine(&r->u.boot_source.initrd_path);
		break;
	case REQ_PUT_LOGGER:
		fz_confine(&r->u.logger.log_path);
		break;
	case REQ_PUT_METRICS:
		fz_confine(&r->u.metrics.metrics_path);
		break;
	case REQ_PUT_SERIAL:
		fz_confine(&r->u.serial.serial_out_path);
		break;
	case REQ_PUT_DRIVE:
		fz_confine(&r->u.drive.path_on_host);
		fz_confine(&r->u.drive.socket);
		break;
	case REQ_PATCH_DRIVE:
		fz_confine(&r->u.drive_update.path_on_host);
		break;
	case REQ_PUT_VSOCK:
		fz_confine(&r->u.vsock.uds_path);
		break;
	case REQ_CREATE_SNAPSHOT:
		fz_confine(&r->u.snapshot_create.snapshot_path);
		fz_confine(&r->u.snapshot_create.mem_file_path);
		break;
	case REQ_LOAD_SNAPSHOT:
		fz_confine(&r->u.snapshot_load.snapshot_path);
		fz_confine(&r->u.snapshot_load.backend_path);
		fz_confine(&r->u.snapshot_load.vsock_uds_path);
		break;
	default:
		break;
	}
}

static struct controller fz_ctrl;

/*
 * The VMM thread's handler: confine the request's paths, then the controller.
 * The request is the API thread's (waiting for this answer), which frees it.
 */
static void fz_handle(void *ctx, const struct vmm_request *req, struct vmm_response *resp)
{
	(void)ctx;
	fz_confine_request((struct vmm_request *)req);
	controller_handle(&fz_ctrl, req, resp);
}

/* Once per process: the scratch files the seeds name, the network namespace, quiet logs. */
static void fz_api_init(void)
{
	static const char *const files[] = {"disk.img", "disk2.img", "vmlinux", "initrd"};

	log_set_level(LOG_OFF);
	if (geteuid() == 0 && unshare(CLONE_NEWNET))
		perror("fuzz: unshare(CLONE_NEWNET)");
	mkdir(FUZZ_API_DIR, 0700);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[128];
		int fd;

		snprintf(path, sizeof(path), FUZZ_API_DIR "/%s", files[i]);
		fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (fd >= 0) {
			if (ftruncate(fd, 1 << 20)) {
				/* A smaller file is as good a seed. */
			}
			close(fd);
		}
	}
	controller_init(&fz_ctrl, "fuzz", &fz_ops, NULL);
}

/* Before each input: a fresh controller, logger and metrics. */
static void fz_api_reset(void)
{
	controller_destroy(&fz_ctrl);
	controller_init(&fz_ctrl, "fuzz", &fz_ops, NULL);
	/* Quiet even when an input turns the log on (the replay checks its output). */
	log_reset();
	log_set_level(LOG_OFF);
	if (log_set_path("/dev/null"))
		abort();
	metrics_close();
	metrics_reset();
}

#endif
