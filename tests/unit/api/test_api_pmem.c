// SPDX-License-Identifier: Apache-2.0
/*
 * PUT/PATCH /pmem/{id}: Firecracker 1.16's PmemConfig and
 * PmemDeviceUpdateConfig, every field and its default, serde's errors, the
 * path/body id rule, the routes, the config-file "pmem" list and the GET
 * /vm/config form.
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

static int parse(const struct body_parser *p, const char *path_id, const char *body,
		 struct vmm_request *req)
{
	struct parse_info info;

	err[0] = '\0';
	return api_parse_body(p, path_id, body, strlen(body), req, &info, err, sizeof(err));
}

static void expect_fault(const struct body_parser *p, const char *path_id, const char *body,
			 const char *message)
{
	struct vmm_request req;

	assert_int_equal(parse(p, path_id, body, &req), -EINVAL);
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
	struct pmem_config *p = &req.u.pmem;

	(void)state;
	assert_int_equal(parse(&put_pmem_parser, "pmem0",
			       "{\"id\": \"pmem0\", \"path_on_host\": \"/img\", \"root_device\": "
			       "true, \"read_only\": true, \"rate_limiter\": {\"ops\": {\"size\": "
			       "10, \"refill_time\": 100}}}",
			       &req),
			 0);
	assert_int_equal(req.type, REQ_PUT_PMEM);
	assert_string_equal(p->id, "pmem0");
	assert_string_equal(p->path_on_host, "/img");
	assert_true(p->root_device);
	assert_true(p->read_only);
	assert_true(p->has_rate_limiter);
	assert_false(p->rate_limiter.has_bandwidth);
	assert_true(p->rate_limiter.has_ops);
	assert_int_equal(p->rate_limiter.ops.size, 10);
	assert_int_equal(p->rate_limiter.ops.refill_time_ms, 100);
	vmm_request_free(&req);
}

static void test_put_defaults(void **state)
{
	struct vmm_request req;
	struct pmem_config *p = &req.u.pmem;

	(void)state;
	assert_int_equal(
	    parse(&put_pmem_parser, "p_1", "{\"id\": \"p_1\", \"path_on_host\": \"f\"}", &req), 0);
	assert_false(p->root_device);
	assert_false(p->read_only);
	assert_false(p->has_rate_limiter);
	vmm_request_free(&req);
	/* rate_limiter is an Option: null is no limiter. */
	assert_int_equal(parse(&put_pmem_parser, "p",
			       "{\"id\": \"p\", \"path_on_host\": \"f\", \"rate_limiter\": null}",
			       &req),
			 0);
	assert_false(p->has_rate_limiter);
	vmm_request_free(&req);
}

static void test_put_errors(void **state)
{
	(void)state;
	expect_fault(&put_pmem_parser, "p", "{\"path_on_host\": \"f\"}",
		     DE "missing field `id` at line 1 column 21.");
	expect_fault(&put_pmem_parser, "p", "{\"id\": \"p\"}",
		     DE "missing field `path_on_host` at line 1 column 11.");
	expect_fault(&put_pmem_parser, "p", "{\"id\": \"p\", \"path_on_host\": \"f\", \"ro\": 1}",
		     DE "unknown field `ro`, expected one of `id`, `path_on_host`, `root_device`, "
			"`read_only`, `rate_limiter` at line 1 column 37.");
	/* serde(default) bools take no null. */
	expect_fault(&put_pmem_parser, "p",
		     "{\"id\": \"p\", \"path_on_host\": \"f\", \"root_device\": null}",
		     DE "invalid type: null, expected a boolean at line 1 column 52.");
	expect_fault(&put_pmem_parser, "p",
		     "{\"id\": \"p\", \"path_on_host\": \"f\", \"read_only\": \"yes\"}",
		     DE "invalid type: string \"yes\", expected a boolean at line 1 column 51.");
	expect_fault(&put_pmem_parser, "p", "{\"id\": \"p\", \"path_on_host\": 5}",
		     DE "invalid type: integer `5`, expected a string at line 1 column 29.");
	expect_fault(&put_pmem_parser, "p", "{\"id\": 1, \"path_on_host\": \"f\"}",
		     DE "invalid type: integer `1`, expected a string at line 1 column 8.");
	expect_fault(&put_pmem_parser, "p",
		     "{\"id\": \"p\", \"path_on_host\": \"f\", \"rate_limiter\": {\"bw\": {}}}",
		     DE "unknown field `bw`, expected `bandwidth` or `ops` at line 1 column 54.");
	expect_fault(&put_pmem_parser, "p", "[]",
		     DE "invalid type: sequence, expected struct PmemConfig at line 1 column 0.");
	expect_fault(&put_pmem_parser, "q", "{\"id\": \"p\", \"path_on_host\": \"f\"}",
		     "The id from the path does not match the id from the body!");
}

static void test_patch(void **state)
{
	struct vmm_request req;
	struct pmem_update *u = &req.u.pmem_update;

	(void)state;
	assert_int_equal(parse(&patch_pmem_parser, "p",
			       "{\"id\": \"p\", \"rate_limiter\": {\"bandwidth\": {\"size\": 4096, "
			       "\"refill_time\": 10}}}",
			       &req),
			 0);
	assert_int_equal(req.type, REQ_PATCH_PMEM);
	assert_string_equal(u->id, "p");
	assert_true(u->has_rate_limiter);
	assert_true(u->rate_limiter.has_bandwidth);
	assert_int_equal(u->rate_limiter.bandwidth.size, 4096);
	vmm_request_free(&req);
	assert_int_equal(parse(&patch_pmem_parser, "p", "{\"id\": \"p\"}", &req), 0);
	assert_false(u->has_rate_limiter);
	vmm_request_free(&req);
	expect_fault(&patch_pmem_parser, "p", "{\"id\": \"p\", \"path_on_host\": \"f\"}",
		     DE "unknown field `path_on_host`, expected `id` or `rate_limiter` at line 1 "
			"column 26.");
	expect_fault(&patch_pmem_parser, "p", "{}", DE "missing field `id` at line 1 column 2.");
	expect_fault(&patch_pmem_parser, "q", "{\"id\": \"p\"}",
		     "The id from the path does not match the id from the body!");
}

static void test_routes(void **state)
{
	static struct api_call call;
	static struct api_reply reply;
	const char *body = "{\"id\": \"p\", \"path_on_host\": \"f\"}";

	(void)state;
	metrics_reset();
	assert_int_equal(api_route("PUT", "/pmem/p", body, strlen(body), &call, &reply),
			 API_ROUTE_VMM);
	assert_int_equal(call.req.type, REQ_PUT_PMEM);
	api_call_free(&call);
	assert_int_equal(api_route("PATCH", "/pmem/p", "{\"id\": \"p\"}", 11, &call, &reply),
			 API_ROUTE_VMM);
	assert_int_equal(call.req.type, REQ_PATCH_PMEM);
	api_call_free(&call);
	assert_int_equal(api_route("PUT", "/pmem/a-b", body, strlen(body), &call, &reply),
			 API_ROUTE_REPLY);
	assert_int_equal(reply.status, 400);
	assert_non_null(strstr(reply.body, "API Resource IDs can only contain alphanumeric"));
	api_reply_free(&reply);
	assert_int_equal(api_route("PUT", "/pmem", body, strlen(body), &call, &reply),
			 API_ROUTE_REPLY);
	assert_int_equal(reply.status, 400);
	api_reply_free(&reply);
	/* Firecracker's put_api_requests.pmem_count/_fails and patch_api_requests'. */
	assert_true(g_metrics.put_api_requests.pmem_count >= 2);
	assert_true(g_metrics.put_api_requests.pmem_fails >= 1);
	assert_int_equal(g_metrics.patch_api_requests.pmem_count, 1);
	assert_int_equal(g_metrics.patch_api_requests.pmem_fails, 0);
}

static void test_config_file(void **state)
{
	struct vmm_request *reqs = NULL;
	size_t nr = 0;

	(void)state;
	assert_int_equal(config_file_parse("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
					   "\"pmem\": [{\"id\": \"a\", \"path_on_host\": \"/a\", "
					   "\"root_device\": true}, {\"id\": \"b\", "
					   "\"path_on_host\": \"/b\", \"read_only\": true}]}",
					   &reqs, &nr, err, sizeof(err)),
			 0);
	assert_int_equal(nr, 3);
	assert_int_equal(reqs[1].type, REQ_PUT_PMEM);
	assert_string_equal(reqs[1].u.pmem.id, "a");
	assert_true(reqs[1].u.pmem.root_device);
	assert_int_equal(reqs[2].type, REQ_PUT_PMEM);
	assert_string_equal(reqs[2].u.pmem.path_on_host, "/b");
	assert_true(reqs[2].u.pmem.read_only);
	for (size_t i = 0; i < nr; i++)
		vmm_request_free(&reqs[i]);
	free(reqs);
	reqs = NULL;
	assert_int_equal(config_file_parse("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
					   "\"pmem\": [{\"id\": \"a\"}]}",
					   &reqs, &nr, err, sizeof(err)),
			 -EINVAL);
	assert_null(reqs);
	assert_string_equal(err, "Invalid JSON: missing field `path_on_host` at line 1 column 65");
}

static void test_vm_config_json(void **state)
{
	struct vm_config cfg;
	struct pmem_config pm[2] = {
	    {.id = "a", .path_on_host = "/a", .root_device = true},
	    {.id = "b",
	     .path_on_host = "/b",
	     .read_only = true,
	     .has_rate_limiter = true,
	     .rate_limiter = {.has_ops = true, .ops = {.size = 5, .refill_time_ms = 7}}},
	};
	char *text;

	(void)state;
	vm_config_init(&cfg);
	cfg.pmems = pm;
	cfg.nr_pmems = 2;
	text = api_json_vm_config(&cfg);
	assert_non_null(text);
	assert_non_null(strstr(text,
			       "\"pmem\":[{\"id\":\"a\",\"path_on_host\":\"/a\","
			       "\"root_device\":true,\"read_only\":false,\"rate_limiter\":"
			       "null},{\"id\":\"b\",\"path_on_host\":\"/b\",\"root_device\":"
			       "false,\"read_only\":true,\"rate_limiter\":{\"bandwidth\":null,"
			       "\"ops\":{\"size\":5,\"one_time_burst\":null,\"refill_time\":"
			       "7}}}]"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_all_fields), cmocka_unit_test(test_put_defaults),
	    cmocka_unit_test(test_put_errors),	   cmocka_unit_test(test_patch),
	    cmocka_unit_test(test_routes),	   cmocka_unit_test(test_config_file),
	    cmocka_unit_test(test_vm_config_json),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
