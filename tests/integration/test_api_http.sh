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

run_tests "$@"
