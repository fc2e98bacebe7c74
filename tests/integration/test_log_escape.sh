#!/usr/bin/env bash
# One message, one log line (issue #8, defect 7): control characters that an
# API client puts into a resource id or path ("PUT /drives/a%0ab", an ESC in
# a path) reach ember's log as \xNN, never raw, so no request can forge a log
# line or drive the terminal that shows the log.
. "$(dirname "$0")/lib.sh"

test_request_path_and_body_cannot_forge_log_lines() {
	local log lines
	start_ember --log-path "$TMP/log" --level Debug || return
	api PUT /drives/a%0ab '{"drive_id": "a\nb", "path_on_host": "/x", "is_root_device": false, "is_read_only": true}'
	assert_eq 400 "$STATUS" "PUT /drives/a%0ab"
	api PUT /drives/x%1b%5b31m '{"drive_id": "x", "path_on_host": "/x", "is_root_device": false, "is_read_only": true}'
	api PUT /actions '{"action_type": "SendCtrlAltDel"}'
	stop_ember
	log=$(cat "$TMP/log")
	# Every line is a whole log line: it starts with the timestamp.
	lines=$(grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+ \[' "$TMP/log")
	assert_eq 0 "$lines" "log lines not starting with a timestamp ($log)"
	assert_contains "$log" 'request on "/drives/a\x0ab"' "escaped request path"
	assert_contains "$log" 'request on "/drives/x\x1b[31m"' "escaped ESC"
	if LC_ALL=C grep -q $'\x1b' "$TMP/log"; then fail "a raw ESC reached the log"; fi
}

run_tests "$@"
