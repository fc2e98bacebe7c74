// SPDX-License-Identifier: Apache-2.0
/*
 * Routing as Firecracker's parsed_request.rs does it: first path segment,
 * body rules per method, exact fault messages; and VMM answers -> replies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_route.h"
#include "vmm/base/log.h"
#include "vmm/base/metrics.h"
#include "vmm/base/version.h"

static struct api_call call;
static struct api_reply reply;

static enum api_route_result route(const char *method, const char *path, const char *body)
{
	return api_route(method, path, body, body ? strlen(body) : 0, &call, &reply);
}

/* Must be answered on the API thread with @status and exactly @body. */
static void expect_reply(const char *method, const char *path, const char *body, int status,
			 const char *want)
{
	assert_int_equal(route(method, path, body), API_ROUTE_REPLY);
	assert_int_equal(reply.status, status);
	assert_non_null(reply.body);
	assert_string_equal(reply.body, want);
	api_reply_free(&reply);
	api_call_free(&call);
}

static void expect_fault(const char *method, const char *path, const char *body, const char *msg)
{
	char want[FAULT_MESSAGE_MAX + 32];

	snprintf(want, sizeof(want), "{\"fault_message\":\"%s\"}", msg);
	expect_reply(method, path, body, 400, want);
}

/* Must go to the VMM thread as a request of @type. */
static void expect_vmm(const char *method, const char *path, const char *body,
		       enum vmm_request_type type)
{
	assert_int_equal(route(method, path, body), API_ROUTE_VMM);
	assert_int_equal(call.req.type, type);
	assert_null(reply.body);
	api_call_free(&call);
}

static int setup(void **state)
{
	(void)state;
	metrics_reset();
	log_set_level(LOG_OFF);
	return 0;
}

static void test_get_routes(void **state)
{
	char version[64];

	(void)state;
	expect_vmm("GET", "/", NULL, REQ_GET_INSTANCE_INFO);
	expect_vmm("GET", "//", NULL, REQ_GET_INSTANCE_INFO);
	expect_vmm("GET", "/machine-config", NULL, REQ_GET_MACHINE_CONFIG);
	expect_vmm("GET", "/machine-config/", NULL, REQ_GET_MACHINE_CONFIG);
	expect_vmm("GET", "/vm/config", NULL, REQ_GET_VM_CONFIG);
	snprintf(version, sizeof(version), "{\"firecracker_version\":\"%s\"}", EMBER_VERSION);
	expect_reply("GET", "/version", NULL, 200, version);
	assert_int_equal(g_metrics.get_api_requests.instance_info_count, 2);
	assert_int_equal(g_metrics.get_api_requests.machine_cfg_count, 2);
	assert_int_equal(g_metrics.get_api_requests.vm_config_count, 1);
	assert_int_equal(g_metrics.get_api_requests.version_count, 1);
}

static void test_get_errors(void **state)
{
	(void)state;
	expect_fault("GET", "/vm", NULL, "Invalid request method and/or path: GET vm.");
	expect_fault("GET", "/vm/", NULL, "Invalid request method and/or path: GET vm.");
	expect_fault("GET", "/vm/state", NULL, "Invalid request method and/or path: GET vm.");
	expect_fault("GET", "/boot-source", NULL,
		     "Invalid request method and/or path: GET boot-source.");
	expect_fault("GET", "/foo/bar", NULL, "Invalid request method and/or path: GET foo.");
	/* Any GET with a body, known resource or not. */
	expect_fault("GET", "/", "{}", "GET request cannot have a body.");
	expect_fault("GET", "/nope", "x", "GET request cannot have a body.");
}

static void test_put_patch_routes(void **state)
{
	(void)state;
	expect_vmm("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 64}",
		   REQ_PUT_MACHINE_CONFIG);
	assert_int_equal(route("PUT", "/machine-config", "{\"vcpu_count\":2,\"mem_size_mib\":64}"),
			 API_ROUTE_VMM);
	assert_int_equal(call.req.u.machine.vcpu_count, 2);
	api_call_free(&call);
	expect_vmm("PATCH", "/machine-config", "{\"smt\": true}", REQ_PATCH_MACHINE_CONFIG);
	expect_vmm("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}", REQ_PUT_BOOT_SOURCE);
	expect_vmm("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", REQ_INSTANCE_START);
	/* Only the first segment counts, as in Firecracker. */
	expect_vmm("PUT", "/actions/anything", "{\"action_type\": \"FlushMetrics\"}",
		   REQ_FLUSH_METRICS);
	expect_vmm("PUT", "/logger", "{\"level\": \"Debug\"}", REQ_PUT_LOGGER);
	expect_vmm("PUT", "/metrics", "{\"metrics_path\": \"/m\"}", REQ_PUT_METRICS);
	expect_vmm("PUT", "/serial", "{\"serial_out_path\": \"/s\"}", REQ_PUT_SERIAL);
	expect_vmm("PATCH", "/vm", "{\"state\": \"Paused\"}", REQ_PAUSE_VM);
	expect_vmm("PATCH", "/vm", "{\"state\": \"Resumed\"}", REQ_RESUME_VM);
}

static void test_put_patch_errors(void **state)
{
	(void)state;
	expect_fault("PUT", "/machine-config", NULL, "Empty PUT request.");
	expect_fault("PUT", "/nowhere", NULL, "Empty PUT request.");
	expect_fault("PATCH", "/vm", NULL, "Empty PATCH request.");
	expect_fault("PUT", "/nowhere", "{}", "Invalid request method and/or path: PUT nowhere.");
	expect_fault("PUT", "/", "{}", "Invalid request method and/or path: PUT .");
	expect_fault("PATCH", "/boot-source", "{}",
		     "Invalid request method and/or path: PATCH boot-source.");
	expect_fault("PUT", "/vm", "{\"state\": \"Paused\"}",
		     "Invalid request method and/or path: PUT vm.");
	expect_fault("PUT", "/version", "{}", "Invalid request method and/or path: PUT version.");
	expect_fault("PUT", "/actions", "{\"action_type\": \"Boot\"}",
		     DESERIALIZE_ERROR_PREFIX
		     "unknown variant `Boot`, expected one of `FlushMetrics`, `InstanceStart`, "
		     "`SendCtrlAltDel` at line 1 column 22.");
	expect_fault("PATCH", "/machine-config", "{}", "Empty PATCH request.");
	assert_int_equal(g_metrics.put_api_requests.actions_fails, 1);
	assert_int_equal(g_metrics.patch_api_requests.machine_cfg_fails, 1);
}

static void test_unsupported_methods(void **state)
{
	static const char want[] = "{ \"error\": \"Invalid HTTP Method: Unsupported HTTP method.\n"
				   "All previous unanswered requests will be dropped.\" }";

	(void)state;
	expect_reply("POST", "/actions", "{}", 400, want);
	expect_reply("OPTIONS", "/", NULL, 400, want);
	expect_reply("get", "/", NULL, 400, want); /* methods are case-sensitive */
}

/* DELETE as Firecracker 1.16 routes it (issue #8, 5): hot-unplug, refused by the VMM thread. */
static void test_delete_routes(void **state)
{
	(void)state;
	assert_int_equal(route("DELETE", "/drives/rootfs", NULL), API_ROUTE_VMM);
	assert_int_equal(call.req.type, REQ_HOT_UNPLUG);
	assert_int_equal(call.req.u.unplug.device, UNPLUG_BLOCK);
	assert_string_equal(call.req.u.unplug.id, "rootfs");
	api_call_free(&call);
	assert_int_equal(route("DELETE", "/network-interfaces/eth0/x", NULL), API_ROUTE_VMM);
	assert_int_equal(call.req.u.unplug.device, UNPLUG_NET);
	assert_string_equal(call.req.u.unplug.id, "eth0");
	api_call_free(&call);
	assert_int_equal(route("DELETE", "/pmem/p_1", NULL), API_ROUTE_VMM);
	assert_int_equal(call.req.u.unplug.device, UNPLUG_PMEM);
	api_call_free(&call);
	expect_fault("DELETE", "/drives", NULL, "The ID cannot be empty.");
	expect_fault("DELETE", "/drives/", NULL, "The ID cannot be empty.");
	expect_fault("DELETE", "/pmem//x", NULL, "The ID cannot be empty.");
	expect_fault("DELETE", "/network-interfaces/eth-0", NULL,
		     "API Resource IDs can only contain alphanumeric characters and underscores.");
	/* A body is refused on any path, before the path is looked at. */
	expect_fault("DELETE", "/drives/rootfs", "{}", "Empty Delete request.");
	expect_fault("DELETE", "/nope", "x", "Empty Delete request.");
	expect_fault("DELETE", "/machine-config", NULL,
		     "Invalid request method and/or path: DELETE machine-config.");
	expect_fault("DELETE", "/", NULL, "Invalid request method and/or path: DELETE .");
}

/* micro_http's request-line and header checks and Uri::get_abs_path() (issue #8, 4). */
static void test_http_level_checks(void **state)
{
	char buf[256];
	uint64_t len = 7;

	(void)state;
	assert_null(api_http_line_error("GET", "/", "HTTP/1.1"));
	assert_null(api_http_line_error("DELETE", "/drives/x", "HTTP/1.0"));
	assert_string_equal(api_http_line_error("HEAD", "/", "HTTP/2.0"),
			    "Invalid HTTP Method: Unsupported HTTP method.");
	assert_string_equal(api_http_line_error("PUT", "", "HTTP/2.0"),
			    "Invalid URI: Empty URI not allowed.");
	assert_string_equal(api_http_line_error("PUT", "/\xed\xa0\x80", "HTTP/1.1"),
			    "Invalid URI: Cannot parse URI as UTF-8.");
	assert_null(api_http_line_error("PUT", "/\xf0\x9f\x98\x80", "HTTP/1.1"));
	assert_string_equal(api_http_line_error("PUT", "/", "HTTP/1.2"),
			    "Invalid HTTP Version: Unsupported HTTP version.");

	assert_null(api_http_header_error("Content-Length", "+12", &len, buf, sizeof(buf)));
	assert_int_equal(len, 12);
	assert_null(api_http_header_error("CONTENT-LENGTH", "4294967295", &len, buf, sizeof(buf)));
	assert_int_equal(len, 4294967295U);
	assert_string_equal(
	    api_http_header_error("Content-Length", "4294967296", &len, buf, sizeof(buf)),
	    "Invalid header. Reason: Invalid value. Key:Content-Length; Value: 4294967296");
	assert_null(api_http_header_error("Accept-Encoding", "gzip", &len, buf, sizeof(buf)));
	assert_null(api_http_header_error("Accept-Encoding", "identity;q=0.5", &len, buf, 256));
	assert_string_equal(
	    api_http_header_error("accept-encoding", "br,identity;q=0 ,x", &len, buf, sizeof(buf)),
	    "Invalid header. Reason: Invalid value. Key:Accept-Encoding; Value:identity;q=0 ");
	assert_null(api_http_header_error("X-Custom", "", &len, buf, sizeof(buf)));

	assert_string_equal(api_request_path("/drives/a?b"), "/drives/a?b");
	assert_string_equal(api_request_path("http://localhost:80/vm/config"), "/vm/config");
	assert_string_equal(api_request_path("http://localhost"), "");
	assert_string_equal(api_request_path("https://localhost/version"), "");
	assert_string_equal(api_request_path("version"), "");
}

static void test_reply_from_response(void **state)
{
	struct vmm_response resp;

	(void)state;
	assert_int_equal(route("GET", "/", NULL), API_ROUTE_VMM);
	memset(&resp, 0, sizeof(resp));
	resp.status = 200;
	snprintf(resp.info.id, sizeof(resp.info.id), "abc");
	resp.info.state = VMM_RUNNING;
	api_reply_from_response(&call, &resp, &reply);
	assert_int_equal(reply.status, 200);
	assert_false(reply.deprecated);
	assert_string_equal(reply.body,
			    "{\"id\":\"abc\",\"state\":\"Running\",\"vmm_version\":\"" EMBER_VERSION
			    "\",\"app_name\":\"Firecracker\"}");
	api_reply_free(&reply);
	api_call_free(&call);

	assert_int_equal(route("GET", "/machine-config", NULL), API_ROUTE_VMM);
	resp.machine = (struct machine_config){.vcpu_count = 3, .mem_size_mib = 64};
	api_reply_from_response(&call, &resp, &reply);
	assert_string_equal(reply.body, "{\"vcpu_count\":3,\"mem_size_mib\":64,\"smt\":false,"
					"\"track_dirty_pages\":false,\"huge_pages\":\"None\"}");
	api_reply_free(&reply);
	api_call_free(&call);

	/* Deprecation is reported whatever the outcome. */
	assert_int_equal(
	    route("PUT", "/machine-config",
		  "{\"vcpu_count\": 1, \"mem_size_mib\": 8, \"cpu_template\": \"None\"}"),
	    API_ROUTE_VMM);
	assert_true(call.info.deprecated);
	memset(&resp, 0, sizeof(resp));
	resp.status = 204;
	api_reply_from_response(&call, &resp, &reply);
	assert_int_equal(reply.status, 204);
	assert_null(reply.body);
	assert_true(reply.deprecated);
	resp.status = 400;
	snprintf(resp.fault_message, sizeof(resp.fault_message), "Machine config error: x.");
	api_reply_from_response(&call, &resp, &reply);
	assert_int_equal(reply.status, 400);
	assert_true(reply.deprecated);
	assert_string_equal(reply.body, "{\"fault_message\":\"Machine config error: x.\"}");
	api_reply_free(&reply);
	api_call_free(&call);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_get_routes, setup),
	    cmocka_unit_test_setup(test_get_errors, setup),
	    cmocka_unit_test_setup(test_put_patch_routes, setup),
	    cmocka_unit_test_setup(test_put_patch_errors, setup),
	    cmocka_unit_test_setup(test_unsupported_methods, setup),
	    cmocka_unit_test_setup(test_delete_routes, setup),
	    cmocka_unit_test(test_http_level_checks),
	    cmocka_unit_test_setup(test_reply_from_response, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
