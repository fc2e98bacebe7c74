// SPDX-License-Identifier: Apache-2.0
/*
 * The balloon's API surface: Firecracker's routes below /balloon (with their
 * "Unrecognized ... request path" texts and the body-less hinting PATCHes),
 * the bodies (fields, defaults, serde errors), the GET answers' JSON
 * (config, statistics with only what the guest reported, hinting status),
 * the "balloon" key of GET /vm/config and the config file's section.
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

static struct api_call call;
static struct api_reply reply;

static int setup(void **state)
{
	(void)state;
	metrics_reset();
	log_set_level(LOG_OFF);
	return 0;
}

static enum api_route_result route(const char *method, const char *path, const char *body)
{
	return api_route(method, path, body, body ? strlen(body) : 0, &call, &reply);
}

static void expect_vmm(const char *method, const char *path, const char *body,
		       enum vmm_request_type type)
{
	assert_int_equal(route(method, path, body), API_ROUTE_VMM);
	assert_int_equal(call.req.type, type);
}

static void expect_fault(const char *method, const char *path, const char *body,
			 const char *message)
{
	char want[1024];

	assert_int_equal(route(method, path, body), API_ROUTE_REPLY);
	assert_int_equal(reply.status, 400);
	snprintf(want, sizeof(want), "{\"fault_message\":\"%s\"}", message);
	assert_string_equal(reply.body, want);
	api_reply_free(&reply);
}

static void test_get_routes(void **state)
{
	(void)state;
	expect_vmm("GET", "/balloon", NULL, REQ_GET_BALLOON);
	expect_vmm("GET", "/balloon/", NULL, REQ_GET_BALLOON);
	expect_vmm("GET", "/balloon/statistics", NULL, REQ_GET_BALLOON_STATS);
	expect_vmm("GET", "/balloon/statistics/more", NULL, REQ_GET_BALLOON_STATS);
	expect_vmm("GET", "/balloon/hinting/status", NULL, REQ_GET_BALLOON_HINTING);
	expect_fault("GET", "/balloon/stats", NULL, "Unrecognized GET request path `stats`.");
	expect_fault("GET", "/balloon//statistics", NULL, "Unrecognized GET request path ``.");
	expect_fault("GET", "/balloon/hinting", NULL, "Unrecognized GET request path `/hinting/`.");
	expect_fault("GET", "/balloon/hinting/", NULL,
		     "Unrecognized GET request path `/hinting/`.");
	expect_fault("GET", "/balloon/hinting/start", NULL,
		     "Unrecognized GET request path `/hinting/start`.");
	expect_fault("GET", "/balloon", "{}", "GET request cannot have a body.");
	expect_fault("DELETE", "/balloon", NULL,
		     "Invalid request method and/or path: DELETE balloon.");
	/* Not counted in Firecracker's API metrics. */
	assert_int_equal(g_metrics.get_api_requests.vm_config_count, 0);
}

static void test_put(void **state)
{
	struct balloon_config *b = &call.req.u.balloon;

	(void)state;
	expect_vmm(
	    "PUT", "/balloon",
	    "{\"amount_mib\": 64, \"deflate_on_oom\": true, \"stats_polling_interval_s\": 5, "
	    "\"free_page_hinting\": true, \"free_page_reporting\": true}",
	    REQ_PUT_BALLOON);
	assert_int_equal(b->amount_mib, 64);
	assert_true(b->deflate_on_oom);
	assert_int_equal(b->stats_polling_interval_s, 5);
	assert_true(b->free_page_hinting && b->free_page_reporting);
	/* Defaults; Firecracker ignores what follows /balloon on a PUT. */
	expect_vmm("PUT", "/balloon/anything", "{\"amount_mib\": 0, \"deflate_on_oom\": false}",
		   REQ_PUT_BALLOON);
	assert_int_equal(b->amount_mib, 0);
	assert_false(b->deflate_on_oom || b->free_page_hinting || b->free_page_reporting);
	assert_int_equal(b->stats_polling_interval_s, 0);
	expect_vmm("PUT", "/balloon", "{\"amount_mib\": 4294967295, \"deflate_on_oom\": false}",
		   REQ_PUT_BALLOON);
	assert_int_equal(b->amount_mib, UINT32_MAX);

	expect_fault("PUT", "/balloon", NULL, "Empty PUT request.");
	expect_fault("PUT", "/balloon", "{\"amount_mib\": 1}",
		     DE "missing field `deflate_on_oom` at line 1 column 17.");
	expect_fault("PUT", "/balloon", "{\"deflate_on_oom\": true}",
		     DE "missing field `amount_mib` at line 1 column 24.");
	expect_fault("PUT", "/balloon", "{\"amount_mib\": -1, \"deflate_on_oom\": true}",
		     DE "invalid value: integer `-1`, expected u32 at line 1 column 17.");
	expect_fault("PUT", "/balloon",
		     "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"stats_polling_interval_s\": "
		     "65536}",
		     DE "invalid value: integer `65536`, expected u16 at line 1 column 75.");
	expect_fault("PUT", "/balloon", "{\"amount_mib\": 1, \"deflate_on_oom\": 1}",
		     DE "invalid type: integer `1`, expected a boolean at line 1 column 37.");
	expect_fault("PUT", "/balloon", "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"x\": 1}",
		     DE "unknown field `x`, expected one of `amount_mib`, `deflate_on_oom`, "
			"`stats_polling_interval_s`, `free_page_hinting`, `free_page_reporting` "
			"at line 1 column 45.");
}

static void test_patch(void **state)
{
	(void)state;
	expect_vmm("PATCH", "/balloon", "{\"amount_mib\": 12}", REQ_PATCH_BALLOON);
	assert_int_equal(call.req.u.balloon_amount_mib, 12);
	/* Firecracker takes any other sub-path with a body as the size update. */
	expect_vmm("PATCH", "/balloon/whatever", "{\"amount_mib\": 3}", REQ_PATCH_BALLOON);
	expect_vmm("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 7}",
		   REQ_PATCH_BALLOON_STATS);
	assert_int_equal(call.req.u.balloon_stats_interval_s, 7);
	expect_fault("PATCH", "/balloon", NULL, "Empty PATCH request.");
	expect_fault("PATCH", "/balloon/statistics", NULL, "Empty PATCH request.");
	expect_fault("PATCH", "/balloon", "{\"amount_mib\": 1, \"deflate_on_oom\": true}",
		     DE "unknown field `deflate_on_oom`, expected `amount_mib` at line 1 column "
			"34.");
	expect_fault("PATCH", "/balloon/statistics", "{\"amount_mib\": 1}",
		     DE "unknown field `amount_mib`, expected `stats_polling_interval_s` at line "
			"1 column 13.");
}

static void test_hinting_routes(void **state)
{
	(void)state;
	/* Start: no body, or a body; acknowledge_on_stop defaults to true, unknown keys pass. */
	expect_vmm("PATCH", "/balloon/hinting/start", NULL, REQ_BALLOON_HINTING_START);
	assert_true(call.req.u.balloon_ack_on_stop);
	expect_vmm("PATCH", "/balloon/hinting/start", "{}", REQ_BALLOON_HINTING_START);
	assert_true(call.req.u.balloon_ack_on_stop);
	expect_vmm("PATCH", "/balloon/hinting/start", "{\"acknowledge_on_stop\": false, \"x\": 1}",
		   REQ_BALLOON_HINTING_START);
	assert_false(call.req.u.balloon_ack_on_stop);
	expect_vmm("PATCH", "/balloon/hinting/stop", NULL, REQ_BALLOON_HINTING_STOP);
	expect_vmm("PATCH", "/balloon/hinting/stop", "garbage", REQ_BALLOON_HINTING_STOP);
	expect_fault("PATCH", "/balloon/hinting/start", "{\"acknowledge_on_stop\": 1}",
		     DE "invalid type: integer `1`, expected a boolean at line 1 column 25.");
	expect_fault("PATCH", "/balloon/hinting", NULL,
		     "Unrecognized PATCH request path `/hinting/`.");
	expect_fault("PATCH", "/balloon/hinting/go", "{}",
		     "Unrecognized PATCH request path `/hinting/go`.");
}

static void test_json(void **state)
{
	struct balloon_config b = {256, true, 1, false, true};
	struct balloon_stats st = {
	    .target_pages = 512, .actual_pages = 300, .target_mib = 2, .actual_mib = 1};
	struct balloon_hinting_status hs = {.host_cmd = 2};
	char *s;

	(void)state;
	s = api_json_balloon(&b);
	assert_string_equal(s, "{\"amount_mib\":256,\"deflate_on_oom\":true,"
			       "\"stats_polling_interval_s\":1,\"free_page_hinting\":false,"
			       "\"free_page_reporting\":true}");
	free(s);
	st.present = (1U << 0) | (1U << 4) | (1U << 15);
	st.values[0] = 3;
	st.values[4] = UINT64_MAX;
	st.values[15] = 9;
	s = api_json_balloon_stats(&st);
	assert_string_equal(s,
			    "{\"target_pages\":512,\"actual_pages\":300,\"target_mib\":2,"
			    "\"actual_mib\":1,\"swap_in\":3,\"free_memory\":18446744073709551615,"
			    "\"direct_reclaim\":9}");
	free(s);
	s = api_json_balloon_hinting(&hs);
	assert_string_equal(s, "{\"host_cmd\":2,\"guest_cmd\":null}");
	free(s);
	hs.has_guest_cmd = true;
	hs.guest_cmd = 0;
	s = api_json_balloon_hinting(&hs);
	assert_string_equal(s, "{\"host_cmd\":2,\"guest_cmd\":0}");
	free(s);
}

static void test_reply_from_response(void **state)
{
	struct vmm_response resp;

	(void)state;
	memset(&resp, 0, sizeof(resp));
	vm_config_init(&resp.config);
	resp.status = 200;
	resp.balloon.amount_mib = 5;
	resp.hinting.host_cmd = 1;
	call.req.type = REQ_GET_BALLOON;
	api_reply_from_response(&call, &resp, &reply);
	assert_non_null(strstr(reply.body, "\"amount_mib\":5"));
	api_reply_free(&reply);
	call.req.type = REQ_GET_BALLOON_STATS;
	api_reply_from_response(&call, &resp, &reply);
	assert_string_equal(reply.body, "{\"target_pages\":0,\"actual_pages\":0,\"target_mib\":0,"
					"\"actual_mib\":0}");
	api_reply_free(&reply);
	call.req.type = REQ_GET_BALLOON_HINTING;
	api_reply_from_response(&call, &resp, &reply);
	assert_string_equal(reply.body, "{\"host_cmd\":1,\"guest_cmd\":null}");
	api_reply_free(&reply);
	vmm_response_free(&resp);
}

static void test_vm_config_and_file(void **state)
{
	struct vm_config cfg;
	struct vmm_request *reqs;
	size_t nr = 0;
	bool found = false;
	char err[1024];
	char *s;

	(void)state;
	vm_config_init(&cfg);
	s = api_json_vm_config(&cfg);
	assert_true(!strncmp(s, "{\"balloon\":null,", 16));
	free(s);
	cfg.has_balloon = true;
	cfg.balloon.amount_mib = 7;
	s = api_json_vm_config(&cfg);
	assert_true(!strncmp(s, "{\"balloon\":{\"amount_mib\":7,\"deflate_on_oom\":false,", 50));
	free(s);
	vm_config_free(&cfg);

	assert_int_equal(config_file_parse("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
					   "\"balloon\": {\"amount_mib\": 9, \"deflate_on_oom\": "
					   "true, \"stats_polling_interval_s\": 2}}",
					   &reqs, &nr, err, sizeof(err)),
			 0);
	for (size_t i = 0; i < nr; i++) {
		if (reqs[i].type == REQ_PUT_BALLOON) {
			assert_int_equal(reqs[i].u.balloon.amount_mib, 9);
			assert_int_equal(reqs[i].u.balloon.stats_polling_interval_s, 2);
			found = true;
		}
		vmm_request_free(&reqs[i]);
	}
	assert_true(found);
	free(reqs);
	assert_int_equal(config_file_parse("{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
					   "\"balloon\": {\"amount_mib\": 9}}",
					   &reqs, &nr, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "missing field `deflate_on_oom`"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_get_routes, setup),
	    cmocka_unit_test_setup(test_put, setup),
	    cmocka_unit_test_setup(test_patch, setup),
	    cmocka_unit_test_setup(test_hinting_routes, setup),
	    cmocka_unit_test_setup(test_json, setup),
	    cmocka_unit_test_setup(test_reply_from_response, setup),
	    cmocka_unit_test_setup(test_vm_config_and_file, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
