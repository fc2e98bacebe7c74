// SPDX-License-Identifier: Apache-2.0
/*
 * The device endpoints' request parsing: PUT/PATCH /drives/{id},
 * /network-interfaces/{id}, PUT /vsock, /entropy and the shared rate_limiter
 * object. Every field, every class of error with Firecracker's (serde's)
 * exact text and position, the {id} rules of the router, the GET /vm/config
 * form of devices and limiters, and the config-file "drives" and
 * "network-interfaces" arrays.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_json.h"
#include "api/api_parse.h"
#include "api/api_route.h"
#include "api/config_file.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"

#define DE DESERIALIZE_ERROR_PREFIX

static char err[FAULT_MESSAGE_MAX];

static int parse_id(const struct body_parser *p, const char *path_id, const char *body,
		    struct vmm_request *req, struct parse_info *info)
{
	err[0] = '\0';
	return api_parse_body(p, path_id, body, strlen(body), req, info, err, sizeof(err));
}

/* The body (for path id @path_id) must be refused with exactly @message. */
static void expect_fault(const struct body_parser *p, const char *path_id, const char *body,
			 const char *message)
{
	struct vmm_request req;
	struct parse_info info;

	assert_int_equal(parse_id(p, path_id, body, &req, &info), -EINVAL);
	assert_string_equal(err, message);
}

static int setup(void **state)
{
	(void)state;
	metrics_reset();
	log_set_level(LOG_OFF); /* deprecation warnings are expected here */
	return 0;
}

/* ---- PUT /drives ---- */

static void test_drive_all_fields(void **state)
{
	struct vmm_request req;
	struct parse_info info;
	struct drive_config *d = &req.u.drive;

	(void)state;
	assert_int_equal(
	    parse_id(
		&put_drive_parser, "rootfs",
		"{\"drive_id\": \"rootfs\", \"path_on_host\": \"/img\", \"is_root_device\": true,"
		" \"partuuid\": \"0eaa91a0-01\", \"is_read_only\": true, \"cache_type\": "
		"\"Writeback\", \"io_engine\": \"Async\", \"rate_limiter\": {\"bandwidth\": "
		"{\"size\": 1048576, \"one_time_burst\": 4096, \"refill_time\": 1000}, "
		"\"ops\": {\"size\": 100, \"refill_time\": 10}}}",
		&req, &info),
	    0);
	assert_int_equal(req.type, REQ_PUT_DRIVE);
	assert_string_equal(d->drive_id, "rootfs");
	assert_string_equal(d->path_on_host, "/img");
	assert_true(d->is_root_device);
	assert_string_equal(d->partuuid, "0eaa91a0-01");
	assert_true(d->is_read_only);
	assert_int_equal(d->cache_type, DRIVE_CACHE_WRITEBACK);
	assert_int_equal(d->io_engine, DRIVE_IO_ASYNC);
	assert_true(d->has_rate_limiter);
	assert_true(d->rate_limiter.has_bandwidth);
	assert_int_equal(d->rate_limiter.bandwidth.size, 1048576);
	assert_int_equal(d->rate_limiter.bandwidth.one_time_burst, 4096);
	assert_int_equal(d->rate_limiter.bandwidth.refill_time_ms, 1000);
	assert_true(d->rate_limiter.has_ops);
	assert_int_equal(d->rate_limiter.ops.size, 100);
	assert_int_equal(d->rate_limiter.ops.one_time_burst, 0);
	assert_int_equal(d->rate_limiter.ops.refill_time_ms, 10);
	assert_false(info.deprecated);
	vmm_request_free(&req);
	assert_int_equal(g_metrics.put_api_requests.drive_count, 1);
	assert_int_equal(g_metrics.put_api_requests.drive_fails, 0);
}

static void test_drive_defaults(void **state)
{
	struct vmm_request req;
	struct parse_info info;
	struct drive_config *d = &req.u.drive;

	(void)state;
	assert_int_equal(
	    parse_id(&put_drive_parser, "d1",
		     "{\"drive_id\": \"d1\", \"path_on_host\": \"/x\", "
		     "\"is_root_device\": false, \"partuuid\": null, \"is_read_only\": "
		     "null, \"rate_limiter\": null}",
		     &req, &info),
	    0);
	assert_false(d->is_root_device);
	assert_null(d->partuuid);
	assert_false(d->is_read_only);
	assert_int_equal(d->cache_type, DRIVE_CACHE_UNSAFE);
	assert_int_equal(d->io_engine, DRIVE_IO_SYNC);
	assert_false(d->has_rate_limiter);
	vmm_request_free(&req);
	/* A rate limiter without buckets is still a rate limiter (GET shows null). */
	assert_int_equal(parse_id(&put_drive_parser, "d1",
				  "{\"drive_id\": \"d1\", \"path_on_host\": \"/x\", "
				  "\"is_root_device\": false, \"rate_limiter\": {\"ops\": null}}",
				  &req, &info),
			 0);
	assert_true(d->has_rate_limiter);
	assert_false(d->rate_limiter.has_ops);
	assert_false(d->rate_limiter.has_bandwidth);
	vmm_request_free(&req);
}

static void test_drive_errors(void **state)
{
	const struct body_parser *p = &put_drive_parser;

	(void)state;
	/* Issue #8 (6): drive_id and is_root_device are the required fields, in that order. */
	expect_fault(p, "a", "{\"path_on_host\": \"/x\"}",
		     DE "missing field `drive_id` at line 1 column 22.");
	expect_fault(p, "a", "{\"drive_id\": \"a\", \"path_on_host\": \"/x\"}",
		     DE "missing field `is_root_device` at line 1 column 39.");
	expect_fault(p, "a", "{\"drive_id\": \"a\"}",
		     DE "missing field `is_root_device` at line 1 column 17.");
	expect_fault(p, "a",
		     "{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": true, "
		     "\"sockets\": \"/s\"}",
		     DE "unknown field `sockets`, expected one of `drive_id`, `partuuid`, "
			"`is_root_device`, `cache_type`, `is_read_only`, `path_on_host`, "
			"`rate_limiter`, `io_engine`, `socket` at line 1 column 73.");
	expect_fault(p, "a", "{\"drive_id\": \"a\", \"is_root_device\": true, \"socket\": 1}",
		     DE "invalid type: integer `1`, expected a string at line 1 column 53.");
	expect_fault(p, "a",
		     "{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": \"yes\"}",
		     DE "invalid type: string \"yes\", expected a boolean at line 1 column 63.");
	expect_fault(p, "a",
		     "{\"drive_id\": 7, \"path_on_host\": \"/x\", \"is_root_device\": true}",
		     DE "invalid type: integer `7`, expected a string at line 1 column 14.");
	expect_fault(p, "a",
		     "{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": true, "
		     "\"cache_type\": \"WriteThrough\"}",
		     DE
		     "unknown variant `WriteThrough`, expected `Unsafe` or `Writeback` at line 1 "
		     "column 92.");
	expect_fault(p, "a",
		     "{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": true, "
		     "\"io_engine\": \"sync\"}",
		     DE "unknown variant `sync`, expected `Async` or `Sync` at line 1 column 83.");
	expect_fault(p, "a",
		     "{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": true, "
		     "\"cache_type\": null}",
		     DE "expected value at line 1 column 79.");
	/* The body names another drive than the path. */
	expect_fault(p, "b",
		     "{\"drive_id\": \"a\", \"path_on_host\": \"/x\", \"is_root_device\": true}",
		     "The id from the path does not match the id from the body!");
	assert_int_equal(g_metrics.put_api_requests.drive_fails, 11);
}

/* ---- the rate_limiter object ---- */

static void test_rate_limiter_errors(void **state)
{
	const struct body_parser *p = &put_entropy_parser;

	(void)state;
	expect_fault(p, NULL, "{\"rate_limiter\": {\"ops\": {\"size\": 100}}}",
		     DE "missing field `refill_time` at line 1 column 38.");
	expect_fault(p, NULL, "{\"rate_limiter\": {\"ops\": {\"refill_time\": 100}}}",
		     DE "missing field `size` at line 1 column 45.");
	expect_fault(p, NULL, "{\"rate_limiter\": {\"ops\": {\"size\": -1, \"refill_time\": 1}}}",
		     DE "invalid value: integer `-1`, expected u64 at line 1 column 36.");
	expect_fault(p, NULL, "{\"rate_limiter\": {\"ops\": {\"size\": 1.5, \"refill_time\": 1}}}",
		     DE "invalid type: floating point `1.5`, expected u64 at line 1 column 37.");
	expect_fault(p, NULL,
		     "{\"rate_limiter\": {\"bandwidth\": {\"size\": 1, \"refill_time\": 1, "
		     "\"refill_time\": 2}}}",
		     DE "duplicate field `refill_time` at line 1 column 74.");
	expect_fault(p, NULL, "{\"rate_limiter\": {\"bw\": {}}}",
		     DE "unknown field `bw`, expected `bandwidth` or `ops` at line 1 column 22.");
	expect_fault(p, NULL, "{\"rate_limiter\": {\"ops\": [1]}}",
		     DE "invalid type: sequence, expected struct TokenBucketConfig at line 1 "
			"column 25.");
	expect_fault(p, NULL, "{\"rate_limiter\": 5}",
		     DE "invalid type: integer `5`, expected struct RateLimiterConfig at line 1 "
			"column 18.");
	expect_fault(p, NULL, "{\"ratelimiter\": {}}",
		     DE
		     "unknown field `ratelimiter`, expected `rate_limiter` at line 1 column 14.");
}

/* ---- PATCH /drives ---- */

static void test_drive_patch(void **state)
{
	const struct body_parser *p = &patch_drive_parser;
	struct vmm_request req;
	struct parse_info info;

	(void)state;
	assert_int_equal(
	    parse_id(p, "d", "{\"drive_id\": \"d\", \"path_on_host\": \"/new\"}", &req, &info), 0);
	assert_int_equal(req.type, REQ_PATCH_DRIVE);
	assert_string_equal(req.u.drive_update.drive_id, "d");
	assert_string_equal(req.u.drive_update.path_on_host, "/new");
	assert_false(req.u.drive_update.has_rate_limiter);
	vmm_request_free(&req);
	assert_int_equal(
	    parse_id(p, "d",
		     "{\"drive_id\": \"d\", \"rate_limiter\": {\"bandwidth\": {\"size\": "
		     "5000, \"refill_time\": 100}}}",
		     &req, &info),
	    0);
	assert_null(req.u.drive_update.path_on_host);
	assert_true(req.u.drive_update.has_rate_limiter);
	assert_int_equal(req.u.drive_update.rate_limiter.bandwidth.size, 5000);
	vmm_request_free(&req);

	/* Issue #8 (6): drive_id alone parses (the controller answers it). */
	assert_int_equal(parse_id(p, "d", "{\"drive_id\": \"d\"}", &req, &info), 0);
	assert_null(req.u.drive_update.path_on_host);
	assert_false(req.u.drive_update.has_rate_limiter);
	vmm_request_free(&req);
	assert_int_equal(
	    parse_id(p, "d",
		     "{\"drive_id\": \"d\", \"path_on_host\": null, \"rate_limiter\": null}", &req,
		     &info),
	    0);
	vmm_request_free(&req);
	expect_fault(p, "d",
		     "{\"drive_id\": \"d\", \"path_on_host\": \"/x\", \"is_read_only\": true}",
		     DE "unknown field `is_read_only`, expected one of `drive_id`, `path_on_host`, "
			"`rate_limiter` at line 1 column 54.");
	expect_fault(p, "e", "{\"drive_id\": \"d\", \"path_on_host\": \"/x\"}",
		     "The id from the path does not match the id from the body!");
	assert_int_equal(g_metrics.patch_api_requests.drive_count, 6);
	assert_int_equal(g_metrics.patch_api_requests.drive_fails, 2);
}

/* ---- network interfaces ---- */

static void test_net_all_fields(void **state)
{
	struct vmm_request req;
	struct parse_info info;
	struct net_config *n = &req.u.net;
	static const uint8_t mac[6] = {0x06, 0x00, 0xac, 0x10, 0xff, 0x0b};

	(void)state;
	assert_int_equal(parse_id(&put_net_parser, "eth0",
				  "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", "
				  "\"guest_mac\": \"06:00:AC:10:fF:0b\", \"mtu\": 9000, "
				  "\"rx_rate_limiter\": {\"ops\": {\"size\": 10, \"refill_time\": "
				  "100}}, \"tx_rate_limiter\": {\"bandwidth\": {\"size\": 20, "
				  "\"refill_time\": 200}}}",
				  &req, &info),
			 0);
	assert_int_equal(req.type, REQ_PUT_NET);
	assert_string_equal(n->iface_id, "eth0");
	assert_string_equal(n->host_dev_name, "tap0");
	assert_true(n->has_guest_mac);
	assert_memory_equal(n->guest_mac, mac, 6);
	assert_true(n->has_mtu);
	assert_int_equal(n->mtu, 9000);
	assert_true(n->has_rx_rate_limiter);
	assert_true(n->rx_rate_limiter.has_ops);
	assert_false(n->rx_rate_limiter.has_bandwidth);
	assert_int_equal(n->rx_rate_limiter.ops.size, 10);
	assert_true(n->has_tx_rate_limiter);
	assert_int_equal(n->tx_rate_limiter.bandwidth.refill_time_ms, 200);
	vmm_request_free(&req);

	assert_int_equal(parse_id(&put_net_parser, "eth0",
				  "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}", &req,
				  &info),
			 0);
	assert_false(n->has_guest_mac);
	assert_false(n->has_mtu);
	assert_false(n->has_rx_rate_limiter);
	assert_false(n->has_tx_rate_limiter);
	vmm_request_free(&req);
}

static void test_net_errors(void **state)
{
	const struct body_parser *p = &put_net_parser;
	static const char *const bad_macs[] = {
	    "06:00:00:00:00",
	    "06:00:00:00:00:00:00",
	    "6:00:00:00:00:00",
	    "06:00:00:00:00:0g",
	    "06-00-00-00-00-00",
	    "06:00:00:00:00:000",
	    "",
	};
	char body[160];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_macs) / sizeof(bad_macs[0]); i++) {
		char msg[256];
		int n = snprintf(body, sizeof(body),
				 "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"guest_mac\": "
				 "\"%s\"}",
				 bad_macs[i]);

		snprintf(msg, sizeof(msg),
			 DE "The provided MAC address is invalid. at line 1 column %d.", n - 1);
		expect_fault(p, "e", body, msg);
	}
	expect_fault(p, "e", "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"mtu\": 65536}",
		     DE "invalid value: integer `65536`, expected u16 at line 1 column 52.");
	expect_fault(p, "e", "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"guest_mac\": 6}",
		     DE "invalid type: integer `6`, expected a string at line 1 column 54.");
	expect_fault(p, "e", "{\"iface_id\": \"e\"}",
		     DE "missing field `host_dev_name` at line 1 column 17.");
	expect_fault(p, "e",
		     "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"allow_mmds\": true}",
		     DE "unknown field `allow_mmds`, expected one of `iface_id`, `host_dev_name`, "
			"`guest_mac`, `mtu`, `rx_rate_limiter`, `tx_rate_limiter` at line 1 column "
			"52.");
	expect_fault(p, "x", "{\"iface_id\": \"e\", \"host_dev_name\": \"t\"}",
		     "The id from the path [x] does not match the id from the body [e]!");
	/* A '+' sign is a valid u8 prefix in Rust: "+a" parses as 0x0a. */
	{
		struct vmm_request req;
		struct parse_info info;

		assert_int_equal(parse_id(p, "e",
					  "{\"iface_id\": \"e\", \"host_dev_name\": \"t\", "
					  "\"guest_mac\": \"+a:00:00:00:00:01\"}",
					  &req, &info),
				 0);
		assert_int_equal(req.u.net.guest_mac[0], 0x0a);
		vmm_request_free(&req);
	}
}

static void test_net_patch(void **state)
{
	const struct body_parser *p = &patch_net_parser;
	struct vmm_request req;
	struct parse_info info;

	(void)state;
	assert_int_equal(parse_id(p, "eth0",
				  "{\"iface_id\": \"eth0\", \"tx_rate_limiter\": {\"bandwidth\": "
				  "{\"size\": 1000000, \"refill_time\": 100, \"one_time_burst\": "
				  "null}, \"ops\": null}}",
				  &req, &info),
			 0);
	assert_int_equal(req.type, REQ_PATCH_NET);
	assert_string_equal(req.u.net_update.iface_id, "eth0");
	assert_false(req.u.net_update.has_rx_rate_limiter);
	assert_true(req.u.net_update.has_tx_rate_limiter);
	assert_true(req.u.net_update.tx_rate_limiter.has_bandwidth);
	assert_false(req.u.net_update.tx_rate_limiter.has_ops);
	vmm_request_free(&req);
	/* Firecracker accepts a PATCH that changes nothing. */
	assert_int_equal(parse_id(p, "eth0", "{\"iface_id\": \"eth0\"}", &req, &info), 0);
	vmm_request_free(&req);
	expect_fault(p, "eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap1\"}",
		     DE "unknown field `host_dev_name`, expected one of `iface_id`, "
			"`rx_rate_limiter`, `tx_rate_limiter` at line 1 column 36.");
	expect_fault(p, "eth1", "{\"iface_id\": \"eth0\"}",
		     "The id from the path [eth1] does not match the id from the body [eth0]!");
	assert_int_equal(g_metrics.patch_api_requests.network_fails, 2);
}

/* ---- vsock and entropy ---- */

static void test_vsock(void **state)
{
	const struct body_parser *p = &put_vsock_parser;
	struct vmm_request req;
	struct parse_info info;

	(void)state;
	assert_int_equal(
	    parse_id(p, NULL, "{\"guest_cid\": 3, \"uds_path\": \"/v.sock\"}", &req, &info), 0);
	assert_int_equal(req.type, REQ_PUT_VSOCK);
	assert_int_equal(req.u.vsock.guest_cid, 3);
	assert_string_equal(req.u.vsock.uds_path, "/v.sock");
	assert_null(req.u.vsock.vsock_id);
	assert_false(info.deprecated);
	vmm_request_free(&req);

	assert_int_equal(parse_id(p, NULL,
				  "{\"vsock_id\": \"vsock1\", \"guest_cid\": 4294967295, "
				  "\"uds_path\": \"/v\"}",
				  &req, &info),
			 0);
	assert_int_equal(req.u.vsock.guest_cid, 4294967295u);
	assert_string_equal(req.u.vsock.vsock_id, "vsock1");
	assert_true(info.deprecated);
	assert_string_equal(info.deprecation, "PUT /vsock: vsock_id field is deprecated.");
	vmm_request_free(&req);
	assert_int_equal(g_metrics.deprecated_api.deprecated_http_api_calls, 1);
	/* null is no vsock_id: not deprecated. */
	assert_int_equal(parse_id(p, NULL,
				  "{\"vsock_id\": null, \"guest_cid\": 5, \"uds_path\": \"/v\"}",
				  &req, &info),
			 0);
	assert_false(info.deprecated);
	vmm_request_free(&req);

	expect_fault(p, NULL, "{\"guest_cid\": 4294967296, \"uds_path\": \"/v\"}",
		     DE "invalid value: integer `4294967296`, expected u32 at line 1 column 24.");
	expect_fault(p, NULL, "{\"guest_cid\": 3}",
		     DE "missing field `uds_path` at line 1 column 16.");
	expect_fault(p, NULL, "{\"uds_path\": \"/v\"}",
		     DE "missing field `guest_cid` at line 1 column 18.");
	expect_fault(p, NULL, "{\"guest_cid\": 3, \"uds_path\": \"/v\", \"cid\": 3}",
		     DE
		     "unknown field `cid`, expected one of `vsock_id`, `guest_cid`, `uds_path` at "
		     "line 1 column 40.");
}

static void test_entropy(void **state)
{
	struct vmm_request req;
	struct parse_info info;

	(void)state;
	assert_int_equal(parse_id(&put_entropy_parser, NULL, "{}", &req, &info), 0);
	assert_int_equal(req.type, REQ_PUT_ENTROPY);
	assert_false(req.u.entropy.has_rate_limiter);
	vmm_request_free(&req);
	assert_int_equal(parse_id(&put_entropy_parser, NULL,
				  "{\"rate_limiter\": {\"bandwidth\": {\"size\": 1000, "
				  "\"one_time_burst\": 0, \"refill_time\": 100}}}",
				  &req, &info),
			 0);
	assert_true(req.u.entropy.has_rate_limiter);
	assert_int_equal(req.u.entropy.rate_limiter.bandwidth.size, 1000);
	vmm_request_free(&req);
	assert_int_equal(g_metrics.put_api_requests.entropy_count, 2);
}

/* ---- the router's {id} rules ---- */

static struct api_call call;
static struct api_reply reply;

static void expect_route_fault(const char *method, const char *path, const char *body,
			       const char *message)
{
	char want[512];

	assert_int_equal(api_route(method, path, body, strlen(body), &call, &reply),
			 API_ROUTE_REPLY);
	assert_int_equal(reply.status, 400);
	snprintf(want, sizeof(want), "{\"fault_message\":\"%s\"}", message);
	assert_string_equal(reply.body, want);
	api_reply_free(&reply);
}

static void expect_route_vmm(const char *method, const char *path, const char *body,
			     enum vmm_request_type type)
{
	assert_int_equal(api_route(method, path, body, strlen(body), &call, &reply), API_ROUTE_VMM);
	assert_int_equal(call.req.type, type);
	api_call_free(&call);
}

static void test_routes(void **state)
{
	static const char drive[] =
	    "{\"drive_id\": \"a_1\", \"path_on_host\": \"/x\", \"is_root_device\": false}";

	(void)state;
	expect_route_vmm("PUT", "/drives/a_1", drive, REQ_PUT_DRIVE);
	expect_route_vmm("PATCH", "/drives/a_1",
			 "{\"drive_id\": \"a_1\", \"path_on_host\": \"/y\"}", REQ_PATCH_DRIVE);
	expect_route_vmm("PUT", "/network-interfaces/eth0",
			 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}", REQ_PUT_NET);
	expect_route_vmm("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\"}",
			 REQ_PATCH_NET);
	expect_route_vmm("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/v\"}",
			 REQ_PUT_VSOCK);
	expect_route_vmm("PUT", "/entropy", "{}", REQ_PUT_ENTROPY);

	/* The path id is checked before the body is read. */
	expect_route_fault("PUT", "/drives/a-1", "not json",
			   "API Resource IDs can only contain alphanumeric characters and "
			   "underscores.");
	expect_route_fault("PUT", "/drives", drive, "The ID cannot be empty.");
	expect_route_fault("PUT", "/drives/", drive, "The ID cannot be empty.");
	expect_route_fault("PATCH", "/network-interfaces/e.0", "{}",
			   "API Resource IDs can only contain alphanumeric characters and "
			   "underscores.");
	expect_route_fault("PUT", "/drives/b", drive,
			   "The id from the path does not match the id from the body!");
	expect_route_fault("PATCH", "/vsock", "{}",
			   "Invalid request method and/or path: PATCH vsock.");
	expect_route_fault("PATCH", "/entropy", "{}",
			   "Invalid request method and/or path: PATCH entropy.");
	assert_int_equal(api_route("GET", "/drives/a", NULL, 0, &call, &reply), API_ROUTE_REPLY);
	assert_string_equal(
	    reply.body, "{\"fault_message\":\"Invalid request method and/or path: GET drives.\"}");
	api_reply_free(&reply);
	assert_int_equal(api_route("PUT", "/entropy", NULL, 0, &call, &reply), API_ROUTE_REPLY);
	assert_string_equal(reply.body, "{\"fault_message\":\"Empty PUT request.\"}");
	api_reply_free(&reply);
}

/* ---- GET /vm/config ---- */

static void test_vm_config_json(void **state)
{
	struct drive_config drives[2] = {
	    {.drive_id = "rootfs",
	     .path_on_host = "/r.img",
	     .is_root_device = true,
	     .is_read_only = true},
	    {.drive_id = "data",
	     .path_on_host = "/d.img",
	     .partuuid = "p-1",
	     .cache_type = DRIVE_CACHE_WRITEBACK,
	     .io_engine = DRIVE_IO_ASYNC,
	     .has_rate_limiter = true,
	     /* bandwidth disabled (size 0) shows as null; one_time_burst 0 as null */
	     .rate_limiter = {.has_bandwidth = true,
			      .bandwidth = {.size = 0, .refill_time_ms = 5},
			      .has_ops = true,
			      .ops = {.size = 10, .refill_time_ms = 100}}},
	};
	struct net_config nets[2] = {
	    {.iface_id = "eth0",
	     .host_dev_name = "tap0",
	     .has_guest_mac = true,
	     .guest_mac = {0xaa, 0xfc, 0, 0, 0, 1},
	     .has_mtu = true,
	     .mtu = 1500,
	     .has_tx_rate_limiter = true,
	     .tx_rate_limiter = {.has_bandwidth = true,
				 .bandwidth = {.size = 1000000,
					       .one_time_burst = 7,
					       .refill_time_ms = 100}}},
	    /* a limiter whose only bucket is disabled is no limiter at all */
	    {.iface_id = "eth1",
	     .host_dev_name = "tap1",
	     .has_rx_rate_limiter = true,
	     .rx_rate_limiter = {.has_ops = true, .ops = {.size = 5, .refill_time_ms = 0}}},
	};
	struct vm_config cfg;
	char *json;

	(void)state;
	vm_config_init(&cfg);
	cfg.drives = drives;
	cfg.nr_drives = 2;
	cfg.nets = nets;
	cfg.nr_nets = 2;
	cfg.has_vsock = true;
	cfg.vsock = (struct vsock_config){.vsock_id = "old", .guest_cid = 3, .uds_path = "/v.sock"};
	cfg.has_entropy = true;
	json = api_json_vm_config(&cfg);
	assert_non_null(json);
	/* The devices' keys; test_api_json.c checks the rest of the body. */
	assert_non_null(strstr(
	    json,
	    "\"drives\":[{\"drive_id\":\"rootfs\",\"partuuid\":null,\"is_root_device\":true,"
	    "\"cache_type\":\"Unsafe\",\"is_read_only\":true,\"path_on_host\":\"/r.img\","
	    "\"rate_limiter\":null,\"io_engine\":\"Sync\",\"socket\":null},{\"drive_id\":\"data\","
	    "\"partuuid\":\"p-1\",\"is_root_device\":false,\"cache_type\":\"Writeback\","
	    "\"is_read_only\":false,\"path_on_host\":\"/d.img\",\"rate_limiter\":{\"bandwidth\":"
	    "null,\"ops\":{\"size\":10,\"one_time_burst\":null,\"refill_time\":100}},"
	    "\"io_engine\":\"Async\",\"socket\":null}],"));
	assert_non_null(strstr(
	    json,
	    "\"network-interfaces\":[{\"iface_id\":\"eth0\","
	    "\"host_dev_name\":\"tap0\",\"guest_mac\":\"aa:fc:00:00:00:01\",\"mtu\":1500,"
	    "\"rx_rate_limiter\":null,\"tx_rate_limiter\":{\"bandwidth\":{\"size\":1000000,"
	    "\"one_time_burst\":7,\"refill_time\":100},\"ops\":null}},{\"iface_id\":\"eth1\","
	    "\"host_dev_name\":\"tap1\",\"guest_mac\":null,\"mtu\":null,\"rx_rate_limiter\":null,"
	    "\"tx_rate_limiter\":null}],\"vsock\":{\"guest_cid\":3,\"uds_path\":\"/v.sock\"},"
	    "\"entropy\":{\"rate_limiter\":null},"));
	free(json);
}

/* ---- config file ---- */

static void test_config_file_devices(void **state)
{
	const char *text =
	    "{\n"
	    "  \"entropy\": {},\n"
	    "  \"network-interfaces\": [\n"
	    "    {\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"},\n"
	    "    {\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\"}\n"
	    "  ],\n"
	    "  \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/v\"},\n"
	    "  \"drives\": [\n"
	    "    {\"drive_id\": \"root\", \"path_on_host\": \"/r\", \"is_root_device\": true},\n"
	    "    {\"drive_id\": \"any-id.ok\", \"path_on_host\": \"/d\", \"is_root_device\": "
	    "false}\n"
	    "  ],\n"
	    "  \"boot-source\": {\"kernel_image_path\": \"/k\"}\n"
	    "}\n";
	static const enum vmm_request_type order[] = {
	    REQ_PUT_BOOT_SOURCE, REQ_PUT_DRIVE, REQ_PUT_DRIVE,	 REQ_PUT_NET,
	    REQ_PUT_NET,	 REQ_PUT_VSOCK, REQ_PUT_ENTROPY,
	};
	struct vmm_request *reqs;
	size_t nr;

	(void)state;
	assert_int_equal(config_file_parse(text, &reqs, &nr, err, sizeof(err)), 0);
	assert_int_equal(nr, 7);
	for (size_t i = 0; i < nr; i++)
		assert_int_equal(reqs[i].type, order[i]);
	assert_string_equal(reqs[1].u.drive.drive_id, "root");
	/* No path id in a config file: Firecracker does not check drive ids there. */
	assert_string_equal(reqs[2].u.drive.drive_id, "any-id.ok");
	assert_string_equal(reqs[3].u.net.iface_id, "eth0");
	assert_string_equal(reqs[4].u.net.host_dev_name, "tap1");
	assert_int_equal(reqs[5].u.vsock.guest_cid, 3);
	for (size_t i = 0; i < nr; i++)
		vmm_request_free(&reqs[i]);
	free(reqs);

	assert_int_equal(config_file_parse("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
					   "\"drives\": []}",
					   &reqs, &nr, err, sizeof(err)),
			 0);
	assert_int_equal(nr, 1);
	vmm_request_free(&reqs[0]);
	free(reqs);
}

static void test_config_file_device_errors(void **state)
{
	struct vmm_request *reqs;
	size_t nr;

	(void)state;
	assert_int_equal(
	    config_file_parse("{\"boot-source\": {\"kernel_image_path\": \"/k\"},\n"
			      "  \"drives\": [{\"drive_id\": \"r\", \"path_on_host\": "
			      "\"/r\", \"is_root_device\": true},\n"
			      "             {\"drive_id\": \"d\", \"is_root_device\": 1}]}",
			      &reqs, &nr, err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(err, "Invalid JSON: invalid type: integer `1`, expected a boolean at "
				 "line 3 column 50");
	assert_int_equal(config_file_parse("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
					   "\"drives\": {}}",
					   &reqs, &nr, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "Invalid JSON: invalid type: map, expected a sequence at line 1 "
				 "column 55");
	assert_int_equal(config_file_parse("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
					   "\"network-interfaces\": null}",
					   &reqs, &nr, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "Invalid JSON: invalid type: null, expected a sequence at line 1 "
				 "column 71");
	assert_int_equal(config_file_parse("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
					   "\"drives\": [7]}",
					   &reqs, &nr, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "Invalid JSON: invalid type: integer `7`, expected struct "
				 "BlockDeviceConfig at line 1 column 57");
	assert_null(reqs);
	assert_int_equal(nr, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_drive_all_fields, setup),
	    cmocka_unit_test_setup(test_drive_defaults, setup),
	    cmocka_unit_test_setup(test_drive_errors, setup),
	    cmocka_unit_test_setup(test_rate_limiter_errors, setup),
	    cmocka_unit_test_setup(test_drive_patch, setup),
	    cmocka_unit_test_setup(test_net_all_fields, setup),
	    cmocka_unit_test_setup(test_net_errors, setup),
	    cmocka_unit_test_setup(test_net_patch, setup),
	    cmocka_unit_test_setup(test_vsock, setup),
	    cmocka_unit_test_setup(test_entropy, setup),
	    cmocka_unit_test_setup(test_routes, setup),
	    cmocka_unit_test_setup(test_vm_config_json, setup),
	    cmocka_unit_test_setup(test_config_file_devices, setup),
	    cmocka_unit_test_setup(test_config_file_device_errors, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
