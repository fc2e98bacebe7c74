#!/usr/bin/env bash
# One message, one log line (issue #8, defect 7): control characters that an
# API client puts into a resource id or path ("PUT /drives/a%0ab", an ESC in
# a path) reach ember's log as \xNN, never raw, so no request can forge a log
# line or drive the terminal that shows the log.
. "$(dirname "$0")/lib.sh"

# raw_request BYTES: send BYTES (Python escapes: \x1b, \r) to the API socket
# as they are, bypassing curl (which would refuse or encode control bytes).
raw_request() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1"))
s.recv(4096)' "$SOCK" "$1"
}

test_request_path_and_body_cannot_forge_log_lines() {
	local log lines
	start_ember --log-path "$TMP/log" --level Debug || return
	# Percent-encoded: logged as sent (routing uses the target as sent, like Firecracker).
	api PUT /drives/a%0ab '{"drive_id": "a\nb", "path_on_host": "/x", "is_root_device": false, "is_read_only": true}'
	assert_eq 400 "$STATUS" "PUT /drives/a%0ab"
	# Raw control bytes in the request target reach the logger: ESC, and a CR.
	raw_request 'GET /drives/x\x1b[31m HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n'
	raw_request 'GET /drives/y\rforged HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n'
	api PUT /actions '{"action_type": "SendCtrlAltDel"}'
	stop_ember
	log=$(cat "$TMP/log")
	# Every line is a whole log line: it starts with the timestamp.
	lines=$(grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+ \[' "$TMP/log")
	assert_eq 0 "$lines" "log lines not starting with a timestamp ($log)"
	assert_contains "$log" 'request on "/drives/a%0ab"' "percent-encoded request path"
	assert_contains "$log" 'request on "/drives/x\x1b[31m"' "escaped ESC"
	if LC_ALL=C grep -q $'\x1b' "$TMP/log"; then fail "a raw ESC reached the log"; fi
	if LC_ALL=C grep -q $'\r' "$TMP/log"; then fail "a raw CR reached the log"; fi
}

run_tests "$@"
