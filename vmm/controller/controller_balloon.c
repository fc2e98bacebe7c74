// SPDX-License-Identifier: Apache-2.0
/*
 * Balloon requests with Firecracker's rules and texts. Before boot the
 * balloon is configuration only (c->cfg.balloon); after boot the running
 * device answers through vmm_ops, and a successful PATCH updates the
 * configuration too, so GET /balloon and GET /vm/config (and a snapshot)
 * report the current target, as Firecracker's device config() does.
 */
#include "vmm/controller/controller_balloon.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/base/log.h"

/* BalloonConfigError, behind VmmActionError::BalloonConfig. */
#define CONFIG_PREFIX  "Balloon config error: "
#define NOT_FOUND_PRE  CONFIG_PREFIX "No balloon device found."
#define TOO_MANY_PAGES CONFIG_PREFIX "Amount of pages requested is too large."
/* VmmActionError::BalloonUpdate and InternalVmm around a VmmError. */
#define UPDATE_PREFIX	  "Balloon update error: "
#define INTERNAL_PREFIX	  "Internal VMM error: "
#define DEVICE_NOT_FOUND  "Failed perform action on device: Device not found"
#define BALLOON_MIB_PAGES 256U /* 4 KiB pages per MiB */

bool controller_is_balloon_request(enum vmm_request_type type)
{
	switch (type) {
	case REQ_PUT_BALLOON:
	case REQ_PATCH_BALLOON:
	case REQ_PATCH_BALLOON_STATS:
	case REQ_GET_BALLOON:
	case REQ_GET_BALLOON_STATS:
	case REQ_BALLOON_HINTING_START:
	case REQ_BALLOON_HINTING_STOP:
	case REQ_GET_BALLOON_HINTING:
		return true;
	default:
		return false;
	}
}

bool controller_balloon_fits(const struct controller *c, uint64_t mem_size_mib,
			     struct vmm_response *resp)
{
	if (!c->cfg.has_balloon || mem_size_mib >= c->cfg.balloon.amount_mib)
		return true;
	vmm_response_fail(resp, "Machine config error: The memory size (MiB) is smaller than the "
				"previously set balloon device target size.");
	return false;
}

/* PUT /balloon (pre-boot): replaces any earlier balloon configuration. */
static void put_balloon(struct controller *c, const struct balloon_config *b,
			struct vmm_response *resp)
{
	/* Balloon::new also refuses a target whose page count overflows u32. */
	if (b->amount_mib > c->cfg.machine.mem_size_mib ||
	    b->amount_mib > UINT32_MAX / BALLOON_MIB_PAGES) {
		vmm_response_fail(resp, TOO_MANY_PAGES);
		return;
	}
	c->cfg.balloon = *b;
	c->cfg.has_balloon = true;
	vmm_response_ok(resp);
}

/* GET /balloon: the configuration (after boot: with the current target). */
static void get_balloon(struct controller *c, struct vmm_response *resp)
{
	if (!c->cfg.has_balloon) {
		vmm_response_fail(resp, c->state == VMM_NOT_STARTED
					    ? NOT_FOUND_PRE
					    : INTERNAL_PREFIX DEVICE_NOT_FOUND);
		return;
	}
	resp->balloon = c->cfg.balloon;
	resp->status = 200;
}

/* A failed runtime op: @prefix then the op's VmmError text (or strerror). */
static void fail_op(struct vmm_response *resp, const char *prefix, int ret, const char *err)
{
	if (ret == -ENODEV)
		err = DEVICE_NOT_FOUND;
	vmm_response_fail(resp, "%s%s", prefix, err[0] ? err : strerror(-ret));
}

static void patch_balloon(struct controller *c, uint32_t amount_mib, struct vmm_response *resp)
{
	char err[FAULT_MESSAGE_MAX - 64] = "";
	int ret = c->ops->balloon_update(c->ops_ctx, amount_mib, err, sizeof(err));

	if (ret) {
		fail_op(resp, UPDATE_PREFIX, ret, err);
		return;
	}
	c->cfg.balloon.amount_mib = amount_mib;
	vmm_response_ok(resp);
}

static void patch_balloon_stats(struct controller *c, uint16_t interval_s,
				struct vmm_response *resp)
{
	char err[FAULT_MESSAGE_MAX - 64] = "";
	int ret = c->ops->balloon_update_stats(c->ops_ctx, interval_s, err, sizeof(err));

	if (ret) {
		fail_op(resp, UPDATE_PREFIX, ret, err);
		return;
	}
	c->cfg.balloon.stats_polling_interval_s = interval_s;
	vmm_response_ok(resp);
}

static void get_balloon_stats(struct controller *c, struct vmm_response *resp)
{
	char err[FAULT_MESSAGE_MAX - 64] = "";
	int ret = c->ops->balloon_stats(c->ops_ctx, &resp->balloon_stats, err, sizeof(err));

	if (ret) {
		fail_op(resp, INTERNAL_PREFIX, ret, err);
		return;
	}
	resp->status = 200;
}

static void balloon_hinting(struct controller *c, enum balloon_hinting_op op, bool ack,
			    struct vmm_response *resp)
{
	char err[FAULT_MESSAGE_MAX - 64] = "";
	int ret = c->ops->balloon_hinting(c->ops_ctx, op, ack, err, sizeof(err));

	if (ret) {
		fail_op(resp, UPDATE_PREFIX, ret, err);
		return;
	}
	vmm_response_ok(resp);
}

static void get_balloon_hinting(struct controller *c, struct vmm_response *resp)
{
	char err[FAULT_MESSAGE_MAX - 64] = "";
	int ret = c->ops->balloon_hinting_status(c->ops_ctx, &resp->hinting, err, sizeof(err));

	if (ret) {
		fail_op(resp, UPDATE_PREFIX, ret, err);
		return;
	}
	resp->status = 200;
}

void controller_balloon(struct controller *c, const struct vmm_request *req,
			struct vmm_response *resp)
{
	switch (req->type) {
	case REQ_PUT_BALLOON:
		put_balloon(c, &req->u.balloon, resp);
		return;
	case REQ_GET_BALLOON:
		get_balloon(c, resp);
		return;
	case REQ_PATCH_BALLOON:
		patch_balloon(c, req->u.balloon_amount_mib, resp);
		return;
	case REQ_PATCH_BALLOON_STATS:
		patch_balloon_stats(c, req->u.balloon_stats_interval_s, resp);
		return;
	case REQ_GET_BALLOON_STATS:
		get_balloon_stats(c, resp);
		return;
	case REQ_BALLOON_HINTING_START:
	case REQ_BALLOON_HINTING_STOP:
		balloon_hinting(c,
				req->type == REQ_BALLOON_HINTING_START ? BALLOON_HINTING_START
								       : BALLOON_HINTING_STOP,
				req->u.balloon_ack_on_stop, resp);
		return;
	default: /* REQ_GET_BALLOON_HINTING */
		get_balloon_hinting(c, resp);
		return;
	}
}
