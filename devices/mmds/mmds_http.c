// SPDX-License-Identifier: Apache-2.0
/*
 * The MMDS HTTP responder: one guest request in, Firecracker's MMDS answer
 * out (its convert_to_response and micro_http's response layout). Requests
 * are parsed by http_parser (Node's, Debian's libhttp-parser); the answer
 * comes from the store (GET) or the token authority (PUT /latest/api/token).
 *
 * Everything here is guest input: the bytes are only read through the
 * parser, each request is answered exactly once, and no request can make
 * the responder keep more than the caller's buffer.
 */
#include "devices/mmds/mmds_priv.h"

#include <errno.h>
#include <http_parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vmm/base/metrics.h"

#define PATH_TO_TOKEN "/latest/api/token"

#define MSG_INVALID_TOKEN "MMDS token not valid."
#define MSG_INVALID_URI	  "Invalid URI."
#define MSG_NOT_ALLOWED	  "Not allowed HTTP method."
#define MSG_NO_TOKEN                                                                               \
	"No MMDS token provided. Use `X-metadata-token` or `X-aws-ec2-metadata-token` header to "  \
	"specify the session token."
#define MSG_NO_TTL                                                                                 \
	"Token time to live value not found. Use `X-metadata-token-ttl-seconds` or "               \
	"`X-aws-ec2-metadata-token-ttl-seconds` header to specify the token's lifetime."
#define MSG_UNSUPPORTED_TYPE "Cannot retrieve value. The value has an unsupported type."

static const char *const token_headers[] = {"X-metadata-token", "X-aws-ec2-metadata-token", NULL};
static const char *const ttl_headers[] = {"X-metadata-token-ttl-seconds",
					  "X-aws-ec2-metadata-token-ttl-seconds", NULL};
static const char *const forwarded_headers[] = {"X-Forwarded-For", NULL};

struct header {
	char *name, *value;
	size_t name_len, value_len;
};

/* What the parser callbacks collect of one request. */
struct req {
	char *url;
	size_t url_len;
	struct header *hdrs;
	size_t nr_hdrs;
	bool in_value; /* the last callback was a value: a new field starts a new header */
	bool complete;
	bool oom;
};

/* Append N bytes to a NUL-terminated growing string. */
static int append(char **s, size_t *len, const char *at, size_t n)
{
	char *p = realloc(*s, *len + n + 1);

	if (!p)
		return -1;
	memcpy(p + *len, at, n);
	*len += n;
	p[*len] = '\0';
	*s = p;
	return 0;
}

static struct req *req_of(http_parser *p)
{
	return p->data;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct req *r = req_of(p);

	r->oom = append(&r->url, &r->url_len, at, n) != 0;
	return r->oom;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct req *r = req_of(p);
	struct header *h;

	if (!r->nr_hdrs || r->in_value) {
		h = realloc(r->hdrs, (r->nr_hdrs + 1) * sizeof(*h));
		if (!h) {
			r->oom = true;
			return 1;
		}
		r->hdrs = h;
		memset(&h[r->nr_hdrs++], 0, sizeof(*h));
		r->in_value = false;
	}
	h = &r->hdrs[r->nr_hdrs - 1];
	r->oom = append(&h->name, &h->name_len, at, n) != 0;
	return r->oom;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct req *r = req_of(p);
	struct header *h = &r->hdrs[r->nr_hdrs - 1];

	r->in_value = true;
	r->oom = append(&h->value, &h->value_len, at, n) != 0;
	return r->oom;
}

static int on_message_complete(http_parser *p)
{
	/* One request per call: stop right after it, the rest is the next one's. */
	req_of(p)->complete = true;
	http_parser_pause(p, 1);
	return 0;
}

static void req_free(struct req *r)
{
	for (size_t i = 0; i < r->nr_hdrs; i++) {
		free(r->hdrs[i].name);
		free(r->hdrs[i].value);
	}
	free(r->hdrs);
	free(r->url);
}

/* micro_http trims header values; http_parser leaves trailing blanks. */
static const char *trimmed(struct header *h)
{
	char *v = h->value ? h->value : "";
	size_t n = strlen(v);

	while (*v == ' ' || *v == '\t')
		v++, n--;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		v[--n] = '\0';
	return v;
}

/* Firecracker's get_header_value_pair: the first header named (any case) in NAMES. */
static struct header *find_header(struct req *r, const char *const *names)
{
	for (size_t i = 0; i < r->nr_hdrs; i++)
		for (const char *const *n = names; *n; n++)
			if (r->hdrs[i].name && !strcasecmp(r->hdrs[i].name, *n))
				return &r->hdrs[i];
	return NULL;
}

/* ---- responses (micro_http's layout) ---- */

struct resp {
	int minor; /* HTTP/1.<minor> */
	int status;
	bool json; /* Content-Type */
	bool allow_get_put;
	const char *extra_name, *extra_value; /* one custom header, or NULL */
	const char *body;
	size_t body_len;
};

static int write_resp(const struct resp *rs, char **out, size_t *out_len)
{
	char extra[512] = "";
	char *head = NULL, *all;
	int n;

	if (rs->extra_name)
		snprintf(extra, sizeof(extra), "%s: %s\r\n", rs->extra_name, rs->extra_value);
	n = asprintf(&head,
		     "HTTP/1.%d %d \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n"
		     "%s%sContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
		     rs->minor, rs->status, rs->allow_get_put ? "Allow: GET, PUT\r\n" : "", extra,
		     rs->json ? "application/json" : "text/plain", rs->body_len);
	if (n < 0)
		return -ENOMEM;
	all = realloc(head, (size_t)n + rs->body_len + 1);
	if (!all) {
		free(head);
		return -ENOMEM;
	}
	memcpy(all + n, rs->body, rs->body_len);
	all[(size_t)n + rs->body_len] = '\0';
	*out = all;
	*out_len = (size_t)n + rs->body_len;
	return 0;
}

static int text_resp(int minor, int status, const char *body, char **out, size_t *out_len)
{
	struct resp rs = {.minor = minor, .status = status, .body = body, .body_len = strlen(body)};

	return write_resp(&rs, out, out_len);
}

/* ---- the request's path ---- */

/* micro_http's Uri::get_abs_path: the path of "http://host/path", or "/path" itself. */
static const char *abs_path(const char *url)
{
	static const char scheme[] = "http://";
	const char *slash;

	if (!url)
		return "";
	if (!strncmp(url, scheme, strlen(scheme))) {
		slash = strchr(url + strlen(scheme), '/');
		return slash ? slash : "";
	}
	return url[0] == '/' ? url : "";
}

/* Firecracker's sanitize_uri: every run of '/' becomes one. */
static char *sanitize(const char *path)
{
	char *s = malloc(strlen(path) + 1), *w = s;

	if (!s)
		return NULL;
	for (const char *p = path; *p; p++)
		if (!(*p == '/' && w > s && w[-1] == '/'))
			*w++ = *p;
	*w = '\0';
	return s;
}

/* ---- GET ---- */

static bool wants_json(struct req *r)
{
	static const char *const accept[] = {"Accept", NULL};
	struct header *h = find_header(r, accept);

	return h && !strcasecmp(trimmed(h), "application/json");
}

static int get_value(struct mmds *m, struct req *r, int minor, char **out, size_t *out_len)
{
	const char *uri = abs_path(r->url);
	char *path = sanitize(uri), *body = NULL, *msg = NULL;
	bool json = wants_json(r);
	int status, ret;

	if (!path)
		return -ENOMEM;
	status = mmds_store_get(m, path, json, &body);
	free(path);
	if (status == 200) {
		struct resp rs = {.minor = minor, .status = 200, .json = json, .body = body};

		if (!body)
			return -ENOMEM;
		rs.body_len = strlen(body);
		ret = write_resp(&rs, out, out_len);
		free(body);
		return ret;
	}
	if (status == 501)
		return text_resp(minor, 501, MSG_UNSUPPORTED_TYPE, out, out_len);
	if (asprintf(&msg, "Resource not found: %s.", uri) < 0)
		return -ENOMEM;
	ret = text_resp(minor, 404, msg, out, out_len);
	free(msg);
	return ret;
}

/* V1 answers with or without a token (a bad one is only counted); V2 needs a valid one. */
static int get(struct mmds *m, struct req *r, int minor, uint64_t now_ns, char **out,
	       size_t *out_len)
{
	struct header *tok = find_header(r, token_headers);
	bool valid = tok && mmds_token_valid(m, trimmed(tok), now_ns);

	if (!tok)
		metric_inc(&g_metrics.mmds.rx_no_token);
	else if (!valid)
		metric_inc(&g_metrics.mmds.rx_invalid_token);
	if (m->version == MMDS_V2 && !tok)
		return text_resp(minor, 401, MSG_NO_TOKEN, out, out_len);
	if (m->version == MMDS_V2 && !valid)
		return text_resp(minor, 401, MSG_INVALID_TOKEN, out, out_len);
	return get_value(m, r, minor, out, out_len);
}

/* ---- PUT /latest/api/token ---- */

/* Rust's u32::from_str: an optional '+', then decimal digits only. */
static bool parse_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;

	if (*s == '+')
		s++;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* A text/plain error whose body is formatted. */
static int fail_fmt(int minor, int status, char **out, size_t *out_len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail_fmt(int minor, int status, char **out, size_t *out_len, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (ret < 0)
		return -ENOMEM;
	ret = text_resp(minor, status, msg, out, out_len);
	free(msg);
	return ret;
}

/* 200 with a new token, the TTL echoed in the header the guest named it with. */
static int send_token(struct mmds *m, const char *header, uint32_t ttl, int minor, uint64_t now_ns,
		      char **out, size_t *out_len)
{
	struct resp rs = {.minor = minor, .status = 200, .extra_name = header};
	char ttl_text[16], *token = mmds_token_new(m, ttl, now_ns);
	int ret;

	if (!token)
		return -ENOMEM;
	snprintf(ttl_text, sizeof(ttl_text), "%u", ttl);
	rs.extra_value = ttl_text;
	rs.body = token;
	rs.body_len = strlen(token);
	ret = write_resp(&rs, out, out_len);
	free(token);
	return ret;
}

/* Firecracker's respond_to_put_request, its checks in its order. */
static int put_token(struct mmds *m, struct req *r, int minor, uint64_t now_ns, char **out,
		     size_t *out_len)
{
	struct header *h = find_header(r, forwarded_headers);
	const char *uri = abs_path(r->url), *value;
	char *path;
	uint32_t ttl;
	bool found;

	if (h)
		return fail_fmt(minor, 400, out, out_len,
				"Invalid header. Reason: Unsupported header name. Key: %s",
				h->name);
	path = sanitize(uri);
	if (!path)
		return -ENOMEM;
	found = !strcmp(path, PATH_TO_TOKEN);
	free(path);
	if (!found)
		return fail_fmt(minor, 404, out, out_len, "Resource not found: %s.", uri);
	h = find_header(r, ttl_headers);
	if (!h)
		return text_resp(minor, 400, MSG_NO_TTL, out, out_len);
	value = trimmed(h);
	if (!parse_u32(value, &ttl))
		return fail_fmt(minor, 400, out, out_len,
				"Invalid header. Reason: Invalid value. Key:%s; Value:%s", h->name,
				value);
	if (ttl < MMDS_TOKEN_TTL_MIN || ttl > MMDS_TOKEN_TTL_MAX)
		return fail_fmt(minor, 400, out, out_len,
				"Invalid time to live value provided for token: %u. Please "
				"provide a value between %d and %d.",
				ttl, MMDS_TOKEN_TTL_MIN, MMDS_TOKEN_TTL_MAX);
	return send_token(m, h->name, ttl, minor, now_ns, out, out_len);
}

/* ---- one request ---- */

static int not_allowed(int minor, char **out, size_t *out_len)
{
	struct resp rs = {.minor = minor,
			  .status = 405,
			  .allow_get_put = true,
			  .body = MSG_NOT_ALLOWED,
			  .body_len = strlen(MSG_NOT_ALLOWED)};

	return write_resp(&rs, out, out_len);
}

static int answer(struct mmds *m, http_parser *p, struct req *r, uint64_t now_ns, char **out,
		  size_t *out_len)
{
	int minor = p->http_minor;

	if (p->http_major != 1 || p->http_minor > 1)
		return text_resp(1, 501, "Unsupported HTTP version.", out, out_len);
	if (p->method != HTTP_GET && p->method != HTTP_PUT && p->method != HTTP_PATCH &&
	    p->method != HTTP_DELETE)
		return text_resp(1, 501, "Unsupported HTTP method.", out, out_len);
	if (!*abs_path(r->url))
		return text_resp(minor, 400, MSG_INVALID_URI, out, out_len);
	if (p->method == HTTP_GET)
		return get(m, r, minor, now_ns, out, out_len);
	if (p->method == HTTP_PUT)
		return put_token(m, r, minor, now_ns, out, out_len);
	return not_allowed(minor, out, out_len);
}

/* A request the parser refused: micro_http's status and text, then close. */
static int refuse(enum http_errno e, char **out, size_t *out_len)
{
	if (e == HPE_INVALID_METHOD)
		return text_resp(1, 501, "Unsupported HTTP method.", out, out_len);
	if (e == HPE_INVALID_VERSION)
		return text_resp(1, 501, "Unsupported HTTP version.", out, out_len);
	return text_resp(1, 400, "Invalid request.", out, out_len);
}

ssize_t mmds_http_respond(struct mmds *m, const uint8_t *buf, size_t len, uint64_t now_ns,
			  char **out, size_t *out_len, bool *close_after)
{
	static const http_parser_settings settings = {
	    .on_url = on_url,
	    .on_header_field = on_header_field,
	    .on_header_value = on_header_value,
	    .on_message_complete = on_message_complete,
	};
	struct req r = {0};
	http_parser p;
	enum http_errno e;
	size_t used;
	int ret;

	*out = NULL;
	*out_len = 0;
	*close_after = false;
	http_parser_init(&p, HTTP_REQUEST);
	p.data = &r;
	used = http_parser_execute(&p, &settings, (const char *)buf, len);
	e = HTTP_PARSER_ERRNO(&p);
	if (r.oom) {
		req_free(&r);
		return -ENOMEM;
	}
	if (e != HPE_OK && e != HPE_PAUSED) {
		/* Where a broken request ends is unknowable: drop it all and close. */
		req_free(&r);
		*close_after = true;
		ret = refuse(e, out, out_len);
		return ret ? ret : (ssize_t)len;
	}
	if (!r.complete) {
		req_free(&r);
		return 0;
	}
	*close_after = !http_should_keep_alive(&p);
	ret = answer(m, &p, &r, now_ns, out, out_len);
	req_free(&r);
	return ret ? ret : (ssize_t)(used ? used : len);
}
