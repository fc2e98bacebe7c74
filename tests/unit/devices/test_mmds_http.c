// SPDX-License-Identifier: Apache-2.0
/*
 * The MMDS HTTP responder and V2 tokens: whole responses byte for byte as
 * Firecracker's MMDS writes them (status line, headers, body) for every
 * status it answers (200, 400, 401, 404, 405, 501), JSON vs IMDS text,
 * tokens accepted, expired, forged, from another key or instance refused,
 * V1's token-optional GETs and their metrics, partial and pipelined input.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/mmds/mmds_priv.h"
#include "vmm/base/metrics.h"

#define NOW   (1000ULL * 1000000000ULL) /* CLOCK_MONOTONIC at 1000 s */
#define SEC   1000000000ULL
#define HEAD  "Server: Firecracker API\r\nConnection: keep-alive\r\n"
#define PLAIN "Content-Type: text/plain\r\n"
#define JSON  "Content-Type: application/json\r\n"

static struct mmds *setup_mmds(enum mmds_version v, bool imds_compat)
{
	const char *ifaces[] = {"eth0"};
	const char *data = "{\"age\":43,\"name\":{\"first\":\"John\",\"second\":\"Doe\"},"
			   "\"latest\":{\"meta-data\":{\"ami-id\":\"ami-12\"}}}";
	struct mmds *m = mmds_create(0, NULL);

	assert_non_null(m);
	assert_int_equal(mmds_store_put(m, data, strlen(data)), 0);
	assert_int_equal(
	    mmds_configure(m, v, htonl(MMDS_DEFAULT_IPV4), imds_compat, ifaces, 1, "vm-1"), 0);
	return m;
}

struct answer {
	ssize_t used;
	char *out;
	size_t len;
	bool close;
};

static struct answer ask_at(struct mmds *m, const char *req, uint64_t now)
{
	struct answer a;

	a.used =
	    mmds_http_respond(m, (const uint8_t *)req, strlen(req), now, &a.out, &a.len, &a.close);
	if (a.used > 0) {
		assert_non_null(a.out);
		assert_int_equal(strlen(a.out), a.len);
	}
	return a;
}

static struct answer ask(struct mmds *m, const char *req)
{
	return ask_at(m, req, NOW);
}

/* micro_http's layout of a response: status line, headers, EXTRA headers, body. */
static char *resp(const char *status_line, const char *extra, const char *ctype, const char *body)
{
	char *s = NULL;

	assert_true(asprintf(&s,
			     "%s\r\n" HEAD "%sContent-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
			     status_line, extra, ctype, strlen(body), body) > 0);
	return s;
}

/* REQ is answered whole with exactly the response described. */
static void expect_resp(struct mmds *m, const char *req, const char *status_line, const char *extra,
			const char *ctype, const char *body)
{
	char *want = resp(status_line, extra, ctype, body);
	struct answer a = ask(m, req);

	assert_int_equal(a.used, strlen(req));
	assert_string_equal(a.out, want);
	free(a.out);
	free(want);
}

/* REQ is answered whole with exactly WANT. */
static void expect(struct mmds *m, const char *req, const char *want)
{
	struct answer a = ask(m, req);

	assert_int_equal(a.used, strlen(req));
	assert_string_equal(a.out, want);
	free(a.out);
}

/* The body of a 200 answer to REQ (caller frees). */
static char *body_of(struct answer a)
{
	char *b = strstr(a.out, "\r\n\r\n");

	assert_non_null(b);
	b = strdup(b + 4);
	free(a.out);
	return b;
}

static char *new_token(struct mmds *m, uint32_t ttl, uint64_t now)
{
	char req[256];
	struct answer a;

	snprintf(req, sizeof(req),
		 "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: %u\r\n\r\n", ttl);
	a = ask_at(m, req, now);
	assert_int_equal(a.used, strlen(req));
	assert_non_null(strstr(a.out, "HTTP/1.1 200 \r\n"));
	return body_of(a);
}

static void test_get_imds_and_json(void **state)
{
	struct mmds *m = setup_mmds(MMDS_V1, false);

	(void)state;
	expect_resp(m, "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 200 ", "", "text/plain",
		    "age\nlatest/\nname/");
	expect_resp(
	    m, "GET http://169.254.169.254/name HTTP/1.1\r\nAccept: application/json\r\n\r\n",
	    "HTTP/1.1 200 ", "", "application/json", "{\"first\":\"John\",\"second\":\"Doe\"}");
	expect_resp(m, "GET /latest/meta-data/ HTTP/1.1\r\nAccept: */*\r\n\r\n", "HTTP/1.1 200 ",
		    "", "text/plain", "ami-id");
	expect_resp(m, "GET //latest///meta-data//ami-id HTTP/1.1\r\nAccept:\r\n\r\n",
		    "HTTP/1.1 200 ", "", "text/plain", "ami-12");
	expect_resp(m, "GET /age HTTP/1.1\r\nAccept: application/json\r\n\r\n", "HTTP/1.1 200 ", "",
		    "application/json", "43");
	mmds_destroy(m);
}

static void test_imds_compat(void **state)
{
	struct mmds *m = setup_mmds(MMDS_V1, true);

	(void)state;
	/* Text whatever Accept says, under the content type that was asked for. */
	expect_resp(m, "GET /name HTTP/1.1\r\nAccept: application/json\r\n\r\n", "HTTP/1.1 200 ",
		    "", "application/json", "first\nsecond");
	mmds_destroy(m);
}

static void test_errors(void **state)
{
	struct mmds *m = setup_mmds(MMDS_V1, false);
	struct answer a;

	(void)state;
	expect_resp(m, "GET /invalid HTTP/1.1\r\n\r\n", "HTTP/1.1 404 ", "", "text/plain",
		    "Resource not found: /invalid.");
	expect(
	    m, "GET /age HTTP/1.1\r\n\r\n",
	    "HTTP/1.1 501 \r\n" HEAD PLAIN
	    "Content-Length: 57\r\n\r\nCannot retrieve value. The value has an unsupported type.");
	expect_resp(m, "PATCH / HTTP/1.1\r\n\r\n", "HTTP/1.1 405 ", "Allow: GET, PUT\r\n",
		    "text/plain", "Not allowed HTTP method.");
	expect_resp(m, "DELETE /name HTTP/1.1\r\n\r\n", "HTTP/1.1 405 ", "Allow: GET, PUT\r\n",
		    "text/plain", "Not allowed HTTP method.");
	expect_resp(m, "POST / HTTP/1.1\r\n\r\n", "HTTP/1.1 501 ", "", "text/plain",
		    "Unsupported HTTP method.");
	expect_resp(m, "GET / HTTP/2.0\r\n\r\n", "HTTP/1.1 501 ", "", "text/plain",
		    "Unsupported HTTP version.");
	expect_resp(m, "GET http://169.254.169.254 HTTP/1.1\r\n\r\n", "HTTP/1.1 400 ", "",
		    "text/plain", "Invalid URI.");
	/* Malformed: 400, everything dropped, the connection closed. */
	a = ask(m, "GET / HTTP/1.1\r\nNo colon here\r\n\r\nGET / HTTP/1.1\r\n\r\n");
	assert_int_equal(a.used,
			 strlen("GET / HTTP/1.1\r\nNo colon here\r\n\r\nGET / HTTP/1.1\r\n\r\n"));
	assert_true(a.close);
	assert_string_equal(a.out, "HTTP/1.1 400 \r\n" HEAD PLAIN
				   "Content-Length: 16\r\n\r\nInvalid request.");
	free(a.out);
	/* Not a method at all: micro_http's 501. */
	a = ask(m, "\x01\x02garbage\r\n\r\n");
	assert_true(a.close);
	assert_string_equal(a.out, "HTTP/1.1 501 \r\n" HEAD PLAIN
				   "Content-Length: 24\r\n\r\nUnsupported HTTP method.");
	free(a.out);
	a = ask(m, "get / HTTP/1.1\r\n\r\n");
	assert_true(a.close);
	assert_non_null(strstr(a.out, "HTTP/1.1 501 \r\n"));
	free(a.out);
	mmds_destroy(m);
}

static void test_partial_and_pipelined(void **state)
{
	static const char one[] = "GET /name/first HTTP/1.1\r\nHost: x\r\n\r\n";
	struct mmds *m = setup_mmds(MMDS_V1, false);
	char two[256];
	struct answer a;
	char *out = (char *)"untouched";
	size_t out_len = 7;
	bool close = true;

	(void)state;
	for (size_t n = 0; n < strlen(one); n++) {
		ssize_t r =
		    mmds_http_respond(m, (const uint8_t *)one, n, NOW, &out, &out_len, &close);

		assert_int_equal(r, 0);
		assert_null(out);
		assert_int_equal(out_len, 0);
	}
	/* A request with a body is whole only with its body. */
	a = ask(m, "PUT /latest/api/token HTTP/1.1\r\nContent-Length: 5\r\n"
		   "X-metadata-token-ttl-seconds: 5\r\n\r\nab");
	assert_int_equal(a.used, 0);
	snprintf(two, sizeof(two), "%s%s", one, "GET /age HTTP/1.1\r\n\r\n");
	a = ask(m, two);
	assert_int_equal(a.used, strlen(one));
	assert_false(a.close);
	assert_string_equal(a.out, "HTTP/1.1 200 \r\n" HEAD PLAIN "Content-Length: 4\r\n\r\nJohn");
	free(a.out);
	/* HTTP/1.0 without keep-alive: answered in kind, then closed. */
	a = ask(m, "GET /name/first HTTP/1.0\r\n\r\n");
	assert_true(a.close);
	assert_string_equal(a.out, "HTTP/1.0 200 \r\n" HEAD PLAIN "Content-Length: 4\r\n\r\nJohn");
	free(a.out);
	a = ask(m, "GET /name/first HTTP/1.1\r\nConnection: close\r\n\r\n");
	assert_true(a.close);
	free(a.out);
	mmds_destroy(m);
}

static void test_token_put(void **state)
{
	struct mmds *m = setup_mmds(MMDS_V2, false);
	struct answer a;
	char *tok;

	(void)state;
	a = ask(m, "PUT http://169.254.169.254/latest/api/token HTTP/1.1\r\n"
		   "X-metadata-token-ttl-seconds: 60\r\n\r\n");
	assert_true(a.used > 0);
	assert_non_null(strstr(a.out,
			       "HTTP/1.1 200 \r\n" HEAD "X-metadata-token-ttl-seconds: 60\r\n" PLAIN
			       "Content-Length: 48\r\n\r\n"));
	tok = body_of(a);
	assert_int_equal(strlen(tok), 48);
	assert_true(mmds_token_valid(m, tok, NOW));
	free(tok);
	/* The EC2 header is echoed as the guest spelled it. */
	a = ask(m, "PUT /latest//api/token HTTP/1.1\r\nx-aws-ec2-metadata-token-ttl-seconds: "
		   "21600\r\n\r\n");
	assert_non_null(strstr(a.out, "\r\nx-aws-ec2-metadata-token-ttl-seconds: 21600\r\n"));
	free(a.out);
	expect_resp(
	    m, "PUT /latest/api/token HTTP/1.1\r\n\r\n", "HTTP/1.1 400 ", "", "text/plain",
	    "Token time to live value not found. Use "
	    "`X-metadata-token-ttl-seconds` or `X-aws-ec2-metadata-token-ttl-seconds` header "
	    "to specify the token's lifetime.");
	expect_resp(m, "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 0\r\n\r\n",
		    "HTTP/1.1 400 ", "", "text/plain",
		    "Invalid time to live value provided for token: 0. "
		    "Please provide a value between 1 and 21600.");
	a = ask(m, "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 21601\r\n\r\n");
	assert_non_null(strstr(a.out, "token: 21601. Please"));
	free(a.out);
	expect_resp(m,
		    "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: abc \r\n\r\n",
		    "HTTP/1.1 400 ", "", "text/plain",
		    "Invalid header. Reason: Invalid value. "
		    "Key:X-metadata-token-ttl-seconds; Value:abc");
	a = ask(
	    m,
	    "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 4294967296\r\n\r\n");
	assert_non_null(strstr(a.out, "HTTP/1.1 400 \r\n"));
	assert_non_null(strstr(a.out, "Value:4294967296"));
	free(a.out);
	expect_resp(m,
		    "PUT /latest/api/token HTTP/1.1\r\nX-Forwarded-For: 203.0.113.195\r\n"
		    "X-metadata-token-ttl-seconds: 60\r\n\r\n",
		    "HTTP/1.1 400 ", "", "text/plain",
		    "Invalid header. Reason: Unsupported header name. Key: "
		    "X-Forwarded-For");
	expect_resp(m, "PUT /token HTTP/1.1\r\nX-metadata-token-ttl-seconds: 60\r\n\r\n",
		    "HTTP/1.1 404 ", "", "text/plain", "Resource not found: /token.");
	mmds_destroy(m);
}

static void test_v2_tokens(void **state)
{
	struct mmds *m = setup_mmds(MMDS_V2, false), *other = setup_mmds(MMDS_V2, false);
	const char *ifaces[] = {"eth0"};
	char req[512], *tok, *foreign;
	uint64_t no_token, invalid;

	(void)state;
	no_token = atomic_load(&g_metrics.mmds.rx_no_token);
	invalid = atomic_load(&g_metrics.mmds.rx_invalid_token);
	expect_resp(m, "GET /name/first HTTP/1.1\r\n\r\n", "HTTP/1.1 401 ", "", "text/plain",
		    "No MMDS token provided. Use `X-metadata-token` or "
		    "`X-aws-ec2-metadata-token` header to specify the session token.");
	assert_int_equal(atomic_load(&g_metrics.mmds.rx_no_token), no_token + 1);

	tok = new_token(m, 60, NOW);
	snprintf(req, sizeof(req), "GET /name/first HTTP/1.1\r\nX-metadata-token: %s\r\n\r\n", tok);
	expect(m, req, "HTTP/1.1 200 \r\n" HEAD PLAIN "Content-Length: 4\r\n\r\nJohn");
	snprintf(req, sizeof(req),
		 "GET /name/first HTTP/1.1\r\nX-AWS-EC2-Metadata-Token: %s\r\n\r\n", tok);
	expect(m, req, "HTTP/1.1 200 \r\n" HEAD PLAIN "Content-Length: 4\r\n\r\nJohn");
	assert_int_equal(atomic_load(&g_metrics.mmds.rx_invalid_token), invalid);

	/* Expired: valid until just before NOW + 60 s. */
	assert_true(mmds_token_valid(m, tok, NOW + 60 * SEC - 1000000));
	assert_false(mmds_token_valid(m, tok, NOW + 60 * SEC));
	snprintf(req, sizeof(req), "GET /name/first HTTP/1.1\r\nX-metadata-token: %s\r\n\r\n", tok);
	{
		struct answer a = ask_at(m, req, NOW + 61 * SEC);

		assert_string_equal(a.out, "HTTP/1.1 401 \r\n" HEAD PLAIN
					   "Content-Length: 21\r\n\r\nMMDS token not valid.");
		free(a.out);
	}
	assert_int_equal(atomic_load(&g_metrics.mmds.rx_invalid_token), invalid + 1);

	/* Forged: any flipped byte breaks the tag. */
	for (size_t i = 0; i < strlen(tok); i++) {
		char *forged = strdup(tok);

		forged[i] = forged[i] == 'A' ? 'B' : 'A';
		assert_false(mmds_token_valid(m, forged, NOW));
		free(forged);
	}
	assert_false(mmds_token_valid(m, "", NOW));
	assert_false(mmds_token_valid(m, "not base64 at all!", NOW));
	assert_false(mmds_token_valid(
	    m, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    NOW));
	/* Another MMDS (another key) does not accept it, nor does another instance id. */
	assert_false(mmds_token_valid(other, tok, NOW));
	foreign = new_token(other, 60, NOW);
	assert_false(mmds_token_valid(m, foreign, NOW));
	assert_int_equal(
	    mmds_configure(m, MMDS_V2, htonl(MMDS_DEFAULT_IPV4), false, ifaces, 1, "vm-2"), 0);
	assert_false(mmds_token_valid(m, tok, NOW));
	free(foreign);
	free(tok);
	mmds_destroy(other);
	mmds_destroy(m);
}

static void test_v1_tokens_optional(void **state)
{
	struct mmds *m = setup_mmds(MMDS_V1, false);
	uint64_t no_token = atomic_load(&g_metrics.mmds.rx_no_token);
	uint64_t invalid = atomic_load(&g_metrics.mmds.rx_invalid_token);
	char req[256], *tok;

	(void)state;
	expect_resp(m, "GET /name/first HTTP/1.1\r\n\r\n", "HTTP/1.1 200 ", "", "text/plain",
		    "John");
	assert_int_equal(atomic_load(&g_metrics.mmds.rx_no_token), no_token + 1);
	/* A bad token is counted, and still answered. */
	expect_resp(m, "GET /name/first HTTP/1.1\r\nX-metadata-token: INVALID_TOKEN\r\n\r\n",
		    "HTTP/1.1 200 ", "", "text/plain", "John");
	assert_int_equal(atomic_load(&g_metrics.mmds.rx_invalid_token), invalid + 1);
	/* V1 issues tokens too. */
	tok = new_token(m, 1, NOW);
	snprintf(req, sizeof(req), "GET /name/first HTTP/1.1\r\nX-metadata-token: %s\r\n\r\n", tok);
	expect(m, req, "HTTP/1.1 200 \r\n" HEAD PLAIN "Content-Length: 4\r\n\r\nJohn");
	assert_int_equal(atomic_load(&g_metrics.mmds.rx_invalid_token), invalid + 1);
	assert_int_equal(atomic_load(&g_metrics.mmds.rx_no_token), no_token + 1);
	free(tok);
	mmds_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_imds_and_json),
	    cmocka_unit_test(test_imds_compat),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_partial_and_pipelined),
	    cmocka_unit_test(test_token_put),
	    cmocka_unit_test(test_v2_tokens),
	    cmocka_unit_test(test_v1_tokens_optional),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
