#!/usr/bin/env bash
# HTTP-level behaviour of the real ember binary through curl, as Firecracker
# 1.16 has it (issue #8): DELETE routes (hot-unplug, refused: Ember has no
# PCI), micro_http's errors for what libmicrohttpd lets through. Every
# response is logged for the OpenAPI check.
. "$(dirname "$0")/lib.sh"

HTTP_TAIL='\nAll previous unanswered requests will be dropped." }'

# expect_fault METHOD PATH JSON|- MESSAGE: a 400 whose body is exactly {"fault_message": MESSAGE}.
expect_fault() {
	if [ "$3" = - ]; then api "$1" "$2"; else api "$1" "$2" "$3"; fi
	assert_eq 400 "$STATUS" "$1 $2 status"
	assert_eq "{\"fault_message\":\"$4\"}" "$BODY" "$1 $2 body"
	assert_contains "$HEADERS" "Server: Firecracker API" "$1 $2 headers"
}

boot_halting_guest() {
	api_ok PUT /boot-source "{\"kernel_image_path\": \"$GUEST_ELF\", \"boot_args\": \"console=ttyS0 ember.test=halt-forever\"}"
	api_ok PUT /actions '{"action_type": "InstanceStart"}'
	wait_for grep -q halting "$TMP/out" || { fail "guest did not reach halt: $(cat "$TMP/out")"; return 1; }
}

test_delete_before_boot() {
	start_ember || return
	local pre='The requested operation is not supported before starting the microVM.'
	expect_fault DELETE /drives/rootfs - "$pre"
	expect_fault DELETE /network-interfaces/eth0 - "$pre"
	expect_fault DELETE /pmem/pmem0 - "$pre"
	expect_fault DELETE /drives - 'The ID cannot be empty.'
	expect_fault DELETE /drives/root-fs - 'API Resource IDs can only contain alphanumeric characters and underscores.'
	expect_fault DELETE /drives/rootfs '{}' 'Empty Delete request.'
	expect_fault DELETE /machine-config - 'Invalid request method and/or path: DELETE machine-config.'
}

test_delete_after_boot() {
	need_kvm || return
	start_ember || return
	api_ok PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$GUEST_ELF\", \"is_root_device\": true, \"is_read_only\": true}"
	boot_halting_guest || return
	expect_fault DELETE /drives/rootfs - 'PCI is not enabled'
	expect_fault DELETE /network-interfaces/eth0 - 'PCI is not enabled'
	api_ok GET /vm/config
	assert_contains "$BODY" '"drive_id":"rootfs"' "the drive is still configured"
}

# What micro_http refuses that libmicrohttpd lets through: its 400 {"error"}.
test_http_errors() {
	start_ember || return
	local out
	out=$(curl -s -S --unix-socket "$SOCK" -X POST -D - http://localhost/ 2>&1 | tr -d '\r')
	assert_contains "$out" "HTTP/1.1 400" "POST status"
	assert_contains "$out" "Server: Firecracker API" "POST headers"
	assert_contains "$out" '{ "error": "Invalid HTTP Method: Unsupported HTTP method.' "POST body"
	out=$(curl -s -S --unix-socket "$SOCK" -X PUT -H 'Content-Length: 4294967296' \
		http://localhost/machine-config 2>&1 | tr -d '\r')
	assert_eq "$(printf '{ "error": "Invalid header. Reason: Invalid value. Key:Content-Length; Value: 4294967296%b' "$HTTP_TAIL")" \
		"$out" "Content-Length above u32"
	# The target as sent: no percent-decoding, the query is part of the path.
	expect_fault GET '/machine-config?x=1' - 'Invalid request method and/or path: GET machine-config?x=1.'
	expect_fault GET '/%6dachine-config' - 'Invalid request method and/or path: GET %6dachine-config.'
}

# ---- what libmicrohttpd answers by itself (mk/patches/libmicrohttpd-*.patch) --
# Raw bytes over the socket (tests/integration/http_raw.py): requests curl
# would not send. Each answer is compared whole (but for libmicrohttpd's Date
# header), with what happens to the connection next. Firecracker's own
# answers differ from these in three ways that are Ember's in general, not
# these paths': its status line has no reason phrase ("HTTP/1.1 400 "), it
# sends no Date, and it always says "Connection: keep-alive", even where its
# parser has lost track of the stream (a bad header, a request line it
# cannot split): Ember closes those connections and says so.
HTTP_RAW=$ROOT/tests/integration/http_raw.py

# raw_answer BYTES: sets RAW (the answer, one line) and RAW_THEN ("open (...)" or "closed").
raw_answer() {
	local out
	out=$(timeout 30 python3 "$HTTP_RAW" "$SOCK" "$1" 2>&1)
	RAW=$(printf '%s\n' "$out" | head -n 1)
	RAW_THEN=$(printf '%s\n' "$out" | sed -n 's/^then: //p')
}

# micro_http_error close|open REASON: Ember's bytes for micro_http's 400
# {"error": REASON...}, as http_raw.py prints them.
micro_http_error() {
	local body="{ \"error\": \"$2\\nAll previous unanswered requests will be dropped.\" }"
	local conn=""
	[ "$1" = close ] && conn='Connection: close\r\n'
	printf 'HTTP/1.1 400 Bad Request\\r\\n%sServer: Firecracker API\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n%s' \
		"$conn" $((${#body} - 1)) "$body"
}

# expect_raw BYTES close|open REASON: the answer is micro_http's error, and
# the connection closes, or answers the next request.
expect_raw() {
	raw_answer "$1"
	assert_eq "$(micro_http_error "$2" "$3")" "$RAW" "answer to $1"
	if [ "$2" = close ]; then
		assert_eq closed "$RAW_THEN" "connection after $1"
	else
		assert_eq "open (HTTP/1.1 200 OK)" "$RAW_THEN" "connection after $1"
	fi
}

command -v python3 >/dev/null || HTTP_RAW=""
need_python() { [ -n "$HTTP_RAW" ] || { skip "needs python3"; return 1; }; }

# Content-Length that is no number or above 2^64-1: libmicrohttpd's HTML 400
# or 413, sent with its status line and headers twice; now micro_http's
# error quoting the value (its end unknown, the body is not read: closed).
test_content_length_not_a_number() {
	need_python || return
	start_ember || return
	local key='Invalid header. Reason: Invalid value. Key:Content-Length; Value: '
	expect_raw 'PATCH /machine-config HTTP/1.1\r\nContent-Length: alpha\r\nContent-Type: application/json\r\n\r\nwhatever body' \
		close "${key}alpha"
	expect_raw 'PUT /machine-config HTTP/1.1\r\nContent-Length: -5\r\n\r\n' close "${key}-5"
	expect_raw 'PUT /machine-config HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n{}' \
		close "${key}18446744073709551616"
	expect_raw 'PUT /machine-config HTTP/1.1\r\nContent-Length: \r\n\r\n' close "$key"
}

# What micro_http reads as a number (Rust's u32::from_str of the trimmed
# value) is one: the body is read and the request served.
test_content_length_plus_and_blanks() {
	need_python || return
	start_ember || return
	local missing='{"fault_message":"An error occurred when deserializing the json body of a request: missing field `vcpu_count` at line 1 column 2."}'
	local head='HTTP/1.1 400 Bad Request\r\nServer: Firecracker API\r\nContent-Type: application/json\r\nContent-Length: 131\r\n\r\n'
	raw_answer 'PUT /machine-config HTTP/1.1\r\nContent-Length: +2\r\n\r\n{}'
	assert_eq "$head$missing" "$RAW" "Content-Length: +2"
	assert_eq "open (HTTP/1.1 200 OK)" "$RAW_THEN" "connection after Content-Length: +2"
	raw_answer 'PUT /machine-config HTTP/1.1\r\nContent-Length: 2 \t\r\n\r\n{}'
	assert_eq "$head$missing" "$RAW" "Content-Length with trailing blanks"
	assert_eq "open (HTTP/1.1 200 OK)" "$RAW_THEN" "connection after trailing blanks"
}

# Versions other than HTTP/1.x: libmicrohttpd's 505 (or 400) HTML page; now
# micro_http's 400, after its method and URI checks, the connection kept.
test_http_version() {
	need_python || return
	start_ember || return
	local version='Invalid HTTP Version: Unsupported HTTP version.'
	expect_raw 'GET /version HTTP/2.0\r\n\r\n' open "$version"
	expect_raw 'GET /version HTTP/0.9\r\n\r\n' open "$version"
	expect_raw 'GET /version http/1.1\r\n\r\n' open "$version"
	expect_raw 'GET /version HTTP/1.10\r\n\r\n' open "$version"
	expect_raw 'PUT /machine-config HTTP/2.0\r\nContent-Length: 2\r\n\r\n{}' close "$version"
	expect_raw 'POST /version HTTP/2.0\r\n\r\n' open 'Invalid HTTP Method: Unsupported HTTP method.'
	# No version at all: micro_http cannot split the line.
	expect_raw 'GET /version\r\n\r\n' close 'Invalid request.'
}

# A request line without a space: libmicrohttpd closed the connection with
# no answer; now micro_http's "Invalid request.".
test_request_line_garbage() {
	need_python || return
	start_ember || return
	expect_raw 'garbage\r\n\r\n' close 'Invalid request.'
	expect_raw '\x00\xff\x01\r\n\r\n' close 'Invalid request.'
	api_ok GET /version
}

# A header line without a colon: libmicrohttpd's HTML 400; now micro_http's
# reason quoting the line.
test_header_line_without_colon() {
	need_python || return
	start_ember || return
	local why='Invalid header. Reason: Header is incorrectly formatted. Key: '
	expect_raw 'GET /version HTTP/1.1\r\nbadheader\r\n\r\n' close "${why}badheader"
	expect_raw 'GET /version HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n' close "${why}no colon here"
}

# Malformed chunked bodies (Ember reads them; micro_http has no chunked
# uploads): libmicrohttpd's HTML 400; now "Invalid request.".
test_chunked_malformed() {
	need_python || return
	start_ember || return
	expect_raw 'PUT /machine-config HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n' close 'Invalid request.'
}

# Regression: an error libmicrohttpd queued while it parsed the headers had
# its status line and headers sent twice. Here: more cookies than its memory
# pool holds (Firecracker ignores cookies; libmicrohttpd parses them).
test_error_sent_once() {
	need_python || return
	start_ember || return
	local cookies
	cookies=$(printf 'a=1;%.0s' $(seq 1 2000))
	expect_raw "GET /version HTTP/1.1\r\nCookie: $cookies\r\n\r\n" close 'Invalid request.'
	raw_answer 'PATCH /machine-config HTTP/1.1\r\nContent-Length: alpha\r\n\r\nx'
	assert_eq 1 "$(grep -o 'HTTP/1.1 ' <<<"$RAW" | wc -l)" "status lines in $RAW"
	api_ok GET /version
}

run_tests "$@"
