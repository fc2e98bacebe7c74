#!/usr/bin/env bash
# Shared helpers for integration tests. A test script sources this file,
# defines functions named test_*, and ends with `run_tests "$@"`.
#
# Protocol read by tests/run.sh, one line per test case:
#   PASS: <script>/<case>
#   FAIL: <script>/<case>: <reason>
#   SKIP: <script>/<case>: <reason>
#
# Environment: EMBER_BUILD (build dir holding ember, ember-jailer, guest/),
# EMBER_RESPONSES (file collecting every API response for the OpenAPI check).

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${EMBER_BUILD:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
EMBER=$BUILD/ember
GUEST_ELF=$BUILD/guest/test-guest.elf
GUEST_BZ=$BUILD/guest/test-guest.bzImage
SCRIPT_NAME=$(basename "${0%.sh}")

_fail_msg=""
_skip_msg=""

# Inside a test case: record a failure (the case continues; first reason wins).
fail() { [ -n "$_fail_msg" ] || _fail_msg="$*"; return 1; }
# Inside a test case: mark it skipped with a reason and stop it.
skip() { _skip_msg="$*"; return 0; }

need_kvm() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || { skip "no usable /dev/kvm"; return 1; }
}
need_root() {
	[ "$(id -u)" = 0 ] || { skip "needs root"; return 1; }
}

assert_eq() { # expected actual [what]
	[ "$1" = "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}
assert_contains() { # haystack needle [what]
	case $1 in *"$2"*) ;; *) fail "${3:-output} does not contain '$2'" ;; esac
}
assert_not_contains() {
	case $1 in *"$2"*) fail "${3:-output} unexpectedly contains '$2'" ;; *) ;; esac
}

# A fresh scratch dir per test case, removed afterwards.
TMP=""
_new_tmp() { TMP=$(mktemp -d /tmp/ember-it.XXXXXX); }

# wait_for CMD... : retry up to ~5 s (50 x 0.1 s).
wait_for() {
	local i
	for i in $(seq 1 50); do "$@" && return 0; sleep 0.1; done
	return 1
}

# ---- ember process + API client (curl --unix-socket) ------------------------
EMBER_PID=""
SOCK=""

# start_ember [args...]: spawn ember with an API socket in $TMP; stdout/stderr
# go to $TMP/out and $TMP/err. Waits until the socket accepts.
start_ember() {
	SOCK=$TMP/api.sock
	"$EMBER" --api-sock "$SOCK" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null &
	EMBER_PID=$!
	wait_for test -S "$SOCK" || { fail "API socket never appeared: $(cat "$TMP/err")"; return 1; }
}

# wait_exit [timeout_s]: wait for ember to exit, sets EXIT_CODE (or "timeout").
wait_exit() {
	local t=${1:-20} i
	EXIT_CODE=timeout
	for i in $(seq 1 $((t * 10))); do
		if ! kill -0 "$EMBER_PID" 2>/dev/null; then
			wait "$EMBER_PID"; EXIT_CODE=$?; EMBER_PID=""; return 0
		fi
		sleep 0.1
	done
	return 1
}

stop_ember() {
	[ -n "$EMBER_PID" ] || return 0
	kill -9 "$EMBER_PID" 2>/dev/null
	wait "$EMBER_PID" 2>/dev/null
	EMBER_PID=""
}

# api METHOD PATH [JSON]: sets STATUS, BODY, HEADERS; logs for the schema check.
api() {
	local method=$1 path=$2 data=${3-}
	local args=(-s -S --unix-socket "$SOCK" -X "$method" -D "$TMP/hdr" -o "$TMP/body"
		-w '%{http_code}' "http://localhost$path")
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
	STATUS=$(curl "${args[@]}" 2>"$TMP/curl-err") || STATUS=000
	BODY=$(cat "$TMP/body" 2>/dev/null)
	HEADERS=$(tr -d '\r' <"$TMP/hdr" 2>/dev/null)
	if [ -n "${EMBER_RESPONSES:-}" ]; then
		printf '%s\t%s\t%s\t%s\n' "$method" "${path%%\?*}" "$STATUS" \
			"$(printf '%s' "$BODY" | tr -d '\n')" >>"$EMBER_RESPONSES"
	fi
}

# api_ok METHOD PATH [JSON]: the call must answer 204 (PUT/PATCH) or 200 (GET).
api_ok() {
	api "$@"
	local want=204
	[ "$1" = GET ] && want=200
	[ "$STATUS" = "$want" ] || fail "$1 $2: expected $want, got $STATUS $BODY"
}

# api_err METHOD PATH JSON SUBSTRING: must answer 400 with a fault_message containing SUBSTRING.
api_err() {
	api "$1" "$2" "$3"
	[ "$STATUS" = 400 ] || { fail "$1 $2: expected 400, got $STATUS $BODY"; return; }
	assert_contains "$BODY" '"fault_message"' "$1 $2 body"
	[ -z "${4-}" ] || assert_contains "$BODY" "$4" "$1 $2 fault_message"
}

# ---- runner -----------------------------------------------------------------
run_tests() {
	local fn filter=${1-}
	for fn in $(declare -F | awk '{print $3}' | grep '^test_'); do
		[ -z "$filter" ] || [ "$fn" = "$filter" ] || continue
		_fail_msg=""; _skip_msg=""; EMBER_PID=""
		_new_tmp
		"$fn"
		stop_ember
		# A sanitizer report from any ember run fails the case.
		if [ -f "$TMP/err" ] && grep -qE 'Sanitizer|runtime error:' "$TMP/err"; then
			fail "sanitizer report in ember stderr"
		fi
		if [ -n "$_skip_msg" ]; then
			echo "SKIP: $SCRIPT_NAME/${fn#test_}: $_skip_msg"
		elif [ -n "$_fail_msg" ]; then
			echo "FAIL: $SCRIPT_NAME/${fn#test_}: $_fail_msg"
			[ -f "$TMP/err" ] && sed 's/^/    ember stderr: /' "$TMP/err" | tail -20
		else
			echo "PASS: $SCRIPT_NAME/${fn#test_}"
		fi
		rm -rf "$TMP"
	done
}
