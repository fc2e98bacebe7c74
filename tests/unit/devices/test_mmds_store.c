// SPDX-License-Identifier: Apache-2.0
/*
 * The MMDS data store: PUT/PATCH/GET /mmds semantics (RFC 7396's merge
 * patch examples, Firecracker's not-initialized and size-limit errors with
 * the store unchanged), serde_json's serialization (sorted keys, escapes,
 * floats), guest paths (JSON pointer, arrays, trailing '/'), IMDS text, and
 * the configuration (link-local check, attached interfaces).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/mmds/mmds_priv.h"

static struct mmds *new_mmds(size_t limit)
{
	int err = 0;
	struct mmds *m = mmds_create(limit, &err);

	assert_non_null(m);
	assert_int_equal(err, 0);
	return m;
}

static int put(struct mmds *m, const char *s)
{
	return mmds_store_put(m, s, strlen(s));
}

static int patch(struct mmds *m, const char *s)
{
	return mmds_store_patch(m, s, strlen(s));
}

static void assert_store(struct mmds *m, const char *want)
{
	char *got = mmds_store_dump(m);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_empty_store_dumps_braces(void **state)
{
	struct mmds *m = new_mmds(0);

	(void)state;
	assert_store(m, "{}");
	mmds_destroy(m);
}

static void test_put_replaces_and_sorts_keys(void **state)
{
	struct mmds *m = new_mmds(0);

	(void)state;
	assert_int_equal(put(m, "{\"b\": 1, \"a\": {\"z\": true, \"y\": null}}"), 0);
	assert_store(m, "{\"a\":{\"y\":null,\"z\":true},\"b\":1}");
	assert_int_equal(put(m, "{\"c\": [1, \"x\", 2.5]}"), 0);
	assert_store(m, "{\"c\":[1,\"x\",2.5]}");
	/* serde_json::Value takes any JSON value. */
	assert_int_equal(put(m, "\"text\""), 0);
	assert_store(m, "\"text\"");
	assert_int_equal(put(m, "{not json"), -EINVAL);
	assert_store(m, "\"text\"");
	mmds_destroy(m);
}

static void test_patch_before_put_refused(void **state)
{
	struct mmds *m = new_mmds(0);

	(void)state;
	assert_int_equal(patch(m, "{\"a\": 1}"), -ENODATA);
	assert_store(m, "{}");
	mmds_destroy(m);
}

/* RFC 7396, Appendix A: target, patch, result. */
static const char *const rfc7396[][3] = {
    {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
    {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
    {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
    {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
    {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
    {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
    {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
    {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
    {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
    {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
    {"{\"a\":\"foo\"}", "null", "{}"},
    {"{\"a\":\"foo\"}", "\"bar\"", "\"bar\""},
    {"{\"e\":null}", "{\"a\":1}", "{\"a\":1,\"e\":null}"},
    {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
    {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
};

static void test_merge_patch_rfc7396(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc7396) / sizeof(rfc7396[0]); i++) {
		struct mmds *m = new_mmds(0);

		assert_int_equal(put(m, rfc7396[i][0]), 0);
		assert_int_equal(patch(m, rfc7396[i][1]), 0);
		/* A null result is Firecracker's "{}" on GET /mmds. */
		assert_store(m, rfc7396[i][2]);
		mmds_destroy(m);
	}
}

static void test_size_limit(void **state)
{
	/* {"a":"xxxx"} is 12 bytes serialized, whatever the blanks sent. */
	struct mmds *m = new_mmds(12);

	(void)state;
	assert_int_equal(put(m, "{ \"a\" : \"xxxx\" }"), 0);
	assert_int_equal(put(m, "{\"a\":\"xxxxx\"}"), -EFBIG);
	assert_store(m, "{\"a\":\"xxxx\"}");
	assert_int_equal(patch(m, "{\"b\":1}"), -EFBIG);
	assert_store(m, "{\"a\":\"xxxx\"}");
	assert_int_equal(patch(m, "{\"a\":\"yyyy\"}"), 0);
	assert_store(m, "{\"a\":\"yyyy\"}");
	/* Shrinking by a patch is fine. */
	assert_int_equal(patch(m, "{\"a\":null}"), 0);
	assert_store(m, "{}");
	mmds_destroy(m);

	m = new_mmds(0);
	assert_int_equal(m->size_limit, MMDS_DEFAULT_SIZE_LIMIT);
	mmds_destroy(m);
}

static void test_serde_escapes_and_numbers(void **state)
{
	struct mmds *m = new_mmds(0);

	(void)state;
	assert_int_equal(put(m, "[\"q\\\"b\\\\/\\n\\t\\u0001\\u007f\\u00e9\", -24, 12.12, 1e20, "
				"1.5e-7, 0.0001, 100.0, -0.0, 1e15, 123456789012]"),
			 0);
	assert_store(m, "[\"q\\\"b\\\\/\\n\\t\\u0001\x7f\xc3\xa9\",-24,12.12,1e20,1.5e-7,0.0001,"
			"100.0,-0.0,1000000000000000.0,123456789012]");
	mmds_destroy(m);
}

static int get(struct mmds *m, const char *path, bool json, char **body)
{
	return mmds_store_get(m, path, json, body);
}

static void assert_get(struct mmds *m, const char *path, bool json, int status, const char *want)
{
	char *body = NULL;

	assert_int_equal(get(m, path, json, &body), status);
	if (want) {
		assert_non_null(body);
		assert_string_equal(body, want);
	} else {
		assert_null(body);
	}
	free(body);
}

static void test_get_paths(void **state)
{
	struct mmds *m = new_mmds(0);

	(void)state;
	assert_int_equal(
	    put(m, "{\"name\":{\"first\":\"John\",\"second\":\"Doe\"},\"age\":43,"
		   "\"phones\":[\"+401234567\",\"+441234567\"],\"a/b\":{\"c~d\":\"x\"},\"latest\":"
		   "{\"meta-data\":{\"ami-id\":\"ami-1\",\"local\":{}}}}"),
	    0);
	assert_get(m, "/", true, 200,
		   "{\"a/b\":{\"c~d\":\"x\"},\"age\":43,\"latest\":{\"meta-data\":{\"ami-id\":"
		   "\"ami-1\",\"local\":{}}},\"name\":{\"first\":\"John\",\"second\":\"Doe\"},"
		   "\"phones\":[\"+401234567\",\"+441234567\"]}");
	assert_get(m, "/", false, 200, "a/b/\nage\nlatest/\nname/\nphones");
	assert_get(m, "/name", false, 200, "first\nsecond");
	assert_get(m, "/name/", true, 200, "{\"first\":\"John\",\"second\":\"Doe\"}");
	assert_get(m, "/name/first", false, 200, "John");
	assert_get(m, "/name/first", true, 200, "\"John\"");
	assert_get(m, "/latest/meta-data/", false, 200, "ami-id\nlocal/");
	assert_get(m, "/latest/meta-data/local", false, 200, "");
	assert_get(m, "/age", true, 200, "43");
	assert_get(m, "/age", false, 501, NULL);
	assert_get(m, "/phones", false, 501, NULL);
	assert_get(m, "/phones/1", false, 200, "+441234567");
	assert_get(m, "/phones/1", true, 200, "\"+441234567\"");
	assert_get(m, "/phones/01", true, 404, NULL);
	assert_get(m, "/phones/2", true, 404, NULL);
	assert_get(m, "/phones/-1", true, 404, NULL);
	assert_get(m, "/phones/+1", true, 404, NULL);
	assert_get(m, "/a~1b/c~0d", false, 200, "x");
	assert_get(m, "/invalid", true, 404, NULL);
	assert_get(m, "/name/first/x", true, 404, NULL);
	assert_get(m, "name", true, 404, NULL);
	mmds_destroy(m);
}

static void test_imds_compat_ignores_accept(void **state)
{
	struct mmds *m = new_mmds(0);
	const char *ifaces[] = {"eth0"};

	(void)state;
	assert_int_equal(put(m, "{\"k\":{\"v\":\"1\"},\"n\":5}"), 0);
	assert_int_equal(
	    mmds_configure(m, MMDS_V1, htonl(MMDS_DEFAULT_IPV4), true, ifaces, 1, "id"), 0);
	assert_get(m, "/", true, 200, "k/\nn");
	assert_get(m, "/k/v", true, 200, "1");
	assert_get(m, "/n", true, 501, NULL);
	mmds_destroy(m);
}

static void test_get_before_put(void **state)
{
	struct mmds *m = new_mmds(0);

	(void)state;
	assert_get(m, "/", true, 200, "null");
	assert_get(m, "/", false, 501, NULL);
	assert_get(m, "/a", true, 404, NULL);
	mmds_destroy(m);
}

static void test_config(void **state)
{
	struct mmds *m = new_mmds(0);
	const char *ifaces[] = {"eth0", "net_1"};

	(void)state;
	assert_int_equal(mmds_ipv4_addr(m), htonl(MMDS_DEFAULT_IPV4));
	assert_int_equal(mmds_get_version(m), MMDS_V1);
	assert_false(mmds_attached(m, "eth0"));
	assert_false(mmds_attached(NULL, "eth0"));
	assert_true(mmds_ipv4_valid(inet_addr("169.254.0.0")));
	assert_true(mmds_ipv4_valid(inet_addr("169.254.255.255")));
	assert_true(mmds_ipv4_valid(inet_addr("169.254.170.2")));
	assert_false(mmds_ipv4_valid(inet_addr("169.255.169.254")));
	assert_false(mmds_ipv4_valid(inet_addr("10.0.0.1")));
	assert_false(mmds_ipv4_valid(inet_addr("254.169.0.1")));
	assert_int_equal(
	    mmds_configure(m, MMDS_V2, inet_addr("169.254.170.2"), false, ifaces, 2, "vm1"), 0);
	assert_true(mmds_attached(m, "eth0"));
	assert_true(mmds_attached(m, "net_1"));
	assert_false(mmds_attached(m, "eth"));
	assert_int_equal(mmds_get_version(m), MMDS_V2);
	assert_int_equal(mmds_ipv4_addr(m), inet_addr("169.254.170.2"));
	assert_false(mmds_imds_compat(m));
	assert_string_equal(m->token_aad, "microvmid=vm1");
	/* A later configuration replaces the interface list. */
	assert_int_equal(
	    mmds_configure(m, MMDS_V1, htonl(MMDS_DEFAULT_IPV4), true, ifaces + 1, 1, "vm1"), 0);
	assert_false(mmds_attached(m, "eth0"));
	assert_true(mmds_attached(m, "net_1"));
	assert_true(mmds_imds_compat(m));
	mmds_destroy(m);
	mmds_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_store_dumps_braces),
	    cmocka_unit_test(test_put_replaces_and_sorts_keys),
	    cmocka_unit_test(test_patch_before_put_refused),
	    cmocka_unit_test(test_merge_patch_rfc7396),
	    cmocka_unit_test(test_size_limit),
	    cmocka_unit_test(test_serde_escapes_and_numbers),
	    cmocka_unit_test(test_get_paths),
	    cmocka_unit_test(test_imds_compat_ignores_accept),
	    cmocka_unit_test(test_get_before_put),
	    cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
