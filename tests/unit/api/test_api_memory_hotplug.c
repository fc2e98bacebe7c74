// SPDX-License-Identifier: Apache-2.0
/*
 * PUT/PATCH/GET /hotplug/memory: Firecracker 1.16's MemoryHotplugConfig
 * (defaults block 2 MiB, slot 128 MiB) and MemoryHotplugSizeUpdate, serde's
 * errors, the routes and their metrics, the config file's "memory-hotplug",
 * the GET /vm/config form and GET /hotplug/memory's status.
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

static int parse(const struct body_parser *p, const char *body, struct vmm_request *req)
{
	struct parse_info info;

	err[0] = '\0';
	return api_parse_body(p, NULL, body, strlen(body), req, &info, err, sizeof(err));
}

static void expect_fault(const struct body_parser *p, const char *body, const char *message)
{
	struct vmm_request req;

	assert_int_equal(parse(p, body, &req), -EINVAL);
	assert_string_equal(err, message);
}

static int setup(void **state)
{
	(void)state;
	metrics_reset();
	log_set_level(LOG_OFF);
	return 0;
}

static void test_put_all_fields(void **state)
{
	struct vmm_request req;

	(void)state;
	assert_int_equal(parse(&put_memory_hotplug_parser,
			       "{\"total_size_mib\": 2048, \"block_size_mib\": 64, "
			       "\"slot_size_mib\": 256}",
			       &req),
			 0);
	assert_int_equal(req.type, REQ_PUT_MEMORY_HOTPLUG);
	assert_int_equal(req.u.memory_hotplug.total_size_mib, 2048);
	assert_int_equal(req.u.memory_hotplug.block_size_mib, 64);
	assert_int_equal(req.u.memory_hotplug.slot_size_mib, 256);
	vmm_request_free(&req);
	/* The largest usize decodes; the controller bounds it. */
	assert_int_equal(
	    parse(&put_memory_hotplug_parser, "{\"total_size_mib\": 18446744073709551615}", &req),
	    0);
	assert_true(req.u.memory_hotplug.total_size_mib == UINT64_MAX);
	vmm_request_free(&req);
}

static void test_put_defaults(void **state)
{
	struct vmm_request req;

	(void)state;
	assert_int_equal(parse(&put_memory_hotplug_parser, "{\"total_size_mib\": 1024}", &req), 0);
	assert_int_equal(req.u.memory_hotplug.total_size_mib, 1024);
	assert_int_equal(req.u.memory_hotplug.block_size_mib, 2);
	assert_int_equal(req.u.memory_hotplug.slot_size_mib, 128);
	vmm_request_free(&req);
}

static void test_put_errors(void **state)
{
	(void)state;
	expect_fault(&put_memory_hotplug_parser, "{}",
		     DE "missing field `total_size_mib` at line 1 column 2.");
	expect_fault(&put_memory_hotplug_parser, "{\"total_size_mib\": \"bar\"}",
		     DE "invalid type: string \"bar\", expected usize at line 1 column 24.");
	expect_fault(&put_memory_hotplug_parser, "{\"total_size_mib\": -1}",
		     DE "invalid value: integer `-1`, expected usize at line 1 column 21.");
	expect_fault(&put_memory_hotplug_parser, "{\"total_size_mib\": 18446744073709551616}",
		     DE "invalid type: floating point `18446744073709552000.0`, expected usize at "
			"line 1 column 39.");
	expect_fault(&put_memory_hotplug_parser,
		     "{\"total_size_mib\": 1, \"block_size_mib\": null}",
		     DE "invalid type: null, expected usize at line 1 column 44.");
	expect_fault(&put_memory_hotplug_parser, "{\"total_size_mib\": 1, \"slot_size_mib\": 1.5}",
		     DE "invalid type: floating point `1.5`, expected usize at line 1 column 42.");
	expect_fault(&put_memory_hotplug_parser, "{\"total_size_mib\": 1, \"size\": 1}",
		     DE "unknown field `size`, expected one of `total_size_mib`, `block_size_mib`, "
			"`slot_size_mib` at line 1 column 28.");
	expect_fault(&put_memory_hotplug_parser, "[]",
		     DE "invalid type: sequence, expected struct MemoryHotplugConfig at line 1 "
			"column 0.");
	expect_fault(&put_memory_hotplug_parser, "invalid_payload",
		     DE "expected value at line 1 column 1.");
}

static void test_patch(void **state)
{
	struct vmm_request req;

	(void)state;
	assert_int_equal(parse(&patch_memory_hotplug_parser, "{\"requested_size_mib\": 512}", &req),
			 0);
	assert_int_equal(req.type, REQ_PATCH_MEMORY_HOTPLUG);
	assert_int_equal(req.u.memory_hotplug_requested_mib, 512);
	vmm_request_free(&req);
	expect_fault(&patch_memory_hotplug_parser, "{}",
		     DE "missing field `requested_size_mib` at line 1 column 2.");
	expect_fault(&patch_memory_hotplug_parser,
		     "{\"requested_size_mib\": 1, \"total_size_mib\": 2}",
		     DE "unknown field `total_size_mib`, expected `requested_size_mib` at line 1 "
			"column 42.");
	expect_fault(&patch_memory_hotplug_parser, "{\"requested_size_mib\": true}",
		     DE "invalid type: boolean `true`, expected usize at line 1 column 27.");
}

static void expect_route(const char *method, const char *path, const char *body,
			 enum vmm_request_type type)
{
	static struct api_call call;
	static struct api_reply reply;

	assert_int_equal(api_route(method, path, body, body ? strlen(body) : 0, &call, &reply),
			 API_ROUTE_VMM);
	assert_int_equal(call.req.type, type);
	api_call_free(&call);
}

static void expect_route_fault(const char *method, const char *path, const char *body,
			       const char *text)
{
	static struct api_call call;
	static struct api_reply reply;

	assert_int_equal(api_route(method, path, body, body ? strlen(body) : 0, &call, &reply),
			 API_ROUTE_REPLY);
	assert_int_equal(reply.status, 400);
	assert_non_null(strstr(reply.body, text));
	api_reply_free(&reply);
}

static void test_routes(void **state)
{
	(void)state;
	metrics_reset();
	expect_route("PUT", "/hotplug/memory", "{\"total_size_mib\": 128}", REQ_PUT_MEMORY_HOTPLUG);
	expect_route("PATCH", "/hotplug/memory", "{\"requested_size_mib\": 2}",
		     REQ_PATCH_MEMORY_HOTPLUG);
	expect_route("GET", "/hotplug/memory", NULL, REQ_GET_MEMORY_HOTPLUG);
	expect_route_fault("PUT", "/hotplug/memory", "{}", "missing field `total_size_mib`");
	expect_route_fault("PATCH", "/hotplug/memory", "{\"x\": 1}", "unknown field `x`");
	expect_route_fault("PUT", "/hotplug/cpu", "{\"total_size_mib\": 128}",
			   "Invalid request method and/or path: PUT hotplug.");
	expect_route_fault("GET", "/hotplug", NULL,
			   "Invalid request method and/or path: GET hotplug.");
	expect_route_fault("PUT", "/hotplug/memory", NULL, "Empty PUT request.");
	/* Firecracker's {put,patch,get}_api_requests.hotplug_memory_count/_fails. */
	assert_int_equal(g_metrics.put_api_requests.hotplug_memory_count, 2);
	assert_int_equal(g_metrics.put_api_requests.hotplug_memory_fails, 1);
	assert_int_equal(g_metrics.patch_api_requests.hotplug_memory_count, 2);
	assert_int_equal(g_metrics.patch_api_requests.hotplug_memory_fails, 1);
	assert_int_equal(g_metrics.get_api_requests.hotplug_memory_count, 1);
}

static void test_config_file(void **state)
{
	struct vmm_request *reqs = NULL;
	size_t nr = 0;

	(void)state;
	assert_int_equal(config_file_parse("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
					   "\"memory-hotplug\": {\"total_size_mib\": 512, "
					   "\"slot_size_mib\": 256}}",
					   &reqs, &nr, err, sizeof(err)),
			 0);
	assert_int_equal(nr, 2);
	assert_int_equal(reqs[1].type, REQ_PUT_MEMORY_HOTPLUG);
	assert_int_equal(reqs[1].u.memory_hotplug.total_size_mib, 512);
	assert_int_equal(reqs[1].u.memory_hotplug.block_size_mib, 2);
	assert_int_equal(reqs[1].u.memory_hotplug.slot_size_mib, 256);
	for (size_t i = 0; i < nr; i++)
		vmm_request_free(&reqs[i]);
	free(reqs);
	reqs = NULL;
	/* null is no section, as GET /vm/config writes it without one. */
	assert_int_equal(config_file_parse("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
					   "\"memory-hotplug\": null}",
					   &reqs, &nr, err, sizeof(err)),
			 0);
	assert_int_equal(nr, 1);
	for (size_t i = 0; i < nr; i++)
		vmm_request_free(&reqs[i]);
	free(reqs);
	reqs = NULL;
	assert_int_equal(config_file_parse("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
					   "\"memory-hotplug\": {}}",
					   &reqs, &nr, err, sizeof(err)),
			 -EINVAL);
	assert_null(reqs);
	assert_string_equal(err,
			    "Invalid JSON: missing field `total_size_mib` at line 1 column 65");
}

static void test_vm_config_json(void **state)
{
	struct vm_config cfg;
	char *text;

	(void)state;
	vm_config_init(&cfg);
	text = api_json_vm_config(&cfg);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"memory-hotplug\":null"));
	free(text);
	cfg.has_memory_hotplug = true;
	cfg.memory_hotplug = (struct memory_hotplug_config){
	    .total_size_mib = 1024, .block_size_mib = 4, .slot_size_mib = 256};
	text = api_json_vm_config(&cfg);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"memory-hotplug\":{\"total_size_mib\":1024,"
				     "\"block_size_mib\":4,\"slot_size_mib\":256}"));
	free(text);
}

/* GET /hotplug/memory: Firecracker's VirtioMemStatus, fields in its order. */
static void test_status_json(void **state)
{
	const struct memory_hotplug_status st = {2, 1024, 128, 6, 8};
	char *text = api_json_memory_hotplug_status(&st);

	(void)state;
	assert_non_null(text);
	assert_string_equal(text, "{\"block_size_mib\":2,\"total_size_mib\":1024,\"slot_size_mib\":"
				  "128,\"plugged_size_mib\":6,\"requested_size_mib\":8}");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_all_fields), cmocka_unit_test(test_put_defaults),
	    cmocka_unit_test(test_put_errors),	   cmocka_unit_test(test_patch),
	    cmocka_unit_test(test_routes),	   cmocka_unit_test(test_config_file),
	    cmocka_unit_test(test_vm_config_json), cmocka_unit_test(test_status_json),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
