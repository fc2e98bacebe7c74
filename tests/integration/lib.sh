#!/usr/bin/env bash
# Shared helpers for integration tests. A test script sources this file,
# defines functions named test_*, and ends with `run_tests "$@"`.
#
# Protocol read by tests/run.sh: first one line naming every case the script
# will run, then one line per test case:
#   PLAN: <script> <n> <case>...
#   PASS: <script>/<case>
#   FAIL: <script>/<case>: <reason>
#   SKIP: <script>/<case>: <reason>
#
# Environment: EMBER_BUILD (build dir holding ember, ember-jailer, guest/),
# EMBER_RESPONSES (file collecting every API response for the OpenAPI check),
# EMBER_TEST_KVM (set by tests/run.sh from tests/kvm_mode.sh: "none: <reason>"
# makes every KVM case skip with that reason).
# KEEP_TMP=1 keeps each case's scratch dir (/tmp/ember-it.*) for a look afterwards.

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
# Inside a test case: mark it skipped with a reason and stop it. A case that
# already failed stays a failure (run_tests reports FAIL, naming both).
skip() { _skip_msg="$*"; return 0; }

need_kvm() {
	case ${EMBER_TEST_KVM:-} in
	none*)
		local why=${EMBER_TEST_KVM#none}
		why=${why#:}
		skip "no KVM:${why:- EMBER_TEST_KVM=none}"
		return 1 ;;
	esac
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

# wait_until SECONDS CMD... : retry CMD every 20 ms until it succeeds or
# SECONDS pass (a bound on a real condition, not a guessed duration).
wait_until() {
	local end
	end=$(($(date +%s%N) / 1000000 + $(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }')))
	shift
	while :; do
		"$@" && return 0
		[ $(($(date +%s%N) / 1000000)) -lt "$end" ] || return 1
		sleep 0.02
	done
}

# holds_for SECONDS CMD... : CMD keeps succeeding, checked every 20 ms,
# through a bounded window of SECONDS; returns 1 the moment it fails. For
# checks that something does NOT happen (output while paused, ...): no event
# says "it would have happened by now", so each use picks a window in which a
# running guest would have done it many times over, and says so.
holds_for() {
	local end
	end=$(($(date +%s%N) / 1000000 + $(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }')))
	shift
	while :; do
		"$@" || return 1
		[ $(($(date +%s%N) / 1000000)) -lt "$end" ] || return 0
		sleep 0.02
	done
}

# size_is FILE BYTES: FILE is exactly BYTES long (for holds_for).
size_is() { [ "$(stat -c %s "$1" 2>/dev/null)" = "$2" ]; }
# lacks FILE TEXT: FILE does not contain TEXT (for holds_for).
lacks() { ! grep -qF -- "$2" "$1" 2>/dev/null; }

# err_mark / err_since: the stderr a step produced, without truncating
# $TMP/err (the sanitizer check at the end of the case reads all of it).
ERR_MARK=0
err_mark() { ERR_MARK=$(stat -c %s "$TMP/err" 2>/dev/null || echo 0); }
err_since() { tail -c +$((ERR_MARK + 1)) "$TMP/err" 2>/dev/null; }

# ---- ember process + API client (curl --unix-socket) ------------------------
EMBER_PID=""
SOCK=""

# start_ember [args...]: spawn ember with an API socket in $TMP; stdout/stderr
# go to $TMP/out and $TMP/err (appended: a case that starts ember twice keeps
# the first run's stderr for the sanitizer check). Waits until the socket accepts.
start_ember() {
	SOCK=$TMP/api.sock
	"$EMBER" --api-sock "$SOCK" "$@" >"$TMP/out" 2>>"$TMP/err" </dev/null &
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
	# --max-time: a VMM thread that never answers must fail the case, not
	# hang the suite (the nested host ends a run silent for 900 s).
	local args=(-s -S --max-time "${EMBER_API_MAX_TIME:-300}" --unix-socket "$SOCK" -X "$method"
		-D "$TMP/hdr" -o "$TMP/body" -w '%{http_code}' "http://localhost$path")
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
	[ "$STATUS" = "$want" ] || fail "$1 $2: expected $want, got $STATUS $BODY$(curl_error)"
}

# What curl said when it got no (complete) answer: a 000 needs its reason.
curl_error() {
	[ "$STATUS" = 000 ] && [ -s "$TMP/curl-err" ] && printf ' (curl: %s)' "$(tr '\n' ' ' <"$TMP/curl-err")"
	return 0
}

# api_err METHOD PATH JSON SUBSTRING: must answer 400 with a fault_message containing SUBSTRING.
api_err() {
	api "$1" "$2" "$3"
	[ "$STATUS" = 400 ] || { fail "$1 $2: expected 400, got $STATUS $BODY"; return; }
	assert_contains "$BODY" '"fault_message"' "$1 $2 body"
	[ -z "${4-}" ] || assert_contains "$BODY" "$4" "$1 $2 fault_message"
}

# ---- runner -----------------------------------------------------------------
# Every case first prints the PLAN line (tests/run.sh fails each planned case
# that never reports, e.g. when the script dies half-way), then exactly one
# PASS/FAIL/SKIP line per case. A case that failed and then skipped is a FAIL.
run_tests() {
	local fn filter=${1-} fns=() f
	for fn in $(declare -F | awk '{print $3}' | grep '^test_'); do
		[ -z "$filter" ] || [ "$fn" = "$filter" ] || continue
		fns+=("$fn")
	done
	echo "PLAN: $SCRIPT_NAME ${#fns[@]}${fns[*]+ ${fns[*]#test_}}"
	for fn in "${fns[@]+"${fns[@]}"}"; do
		_fail_msg=""; _skip_msg=""; EMBER_PID=""
		_new_tmp
		"$fn"
		stop_ember
		# A sanitizer report from any ember run fails the case: every stderr
		# file of the case ($TMP/err, a spawned instance's <dir>/err, ...).
		for f in $(find "$TMP" -type f -name '*err*' 2>/dev/null); do
			grep -qE 'Sanitizer|runtime error:' "$f" && fail "sanitizer report in ${f#"$TMP"/}"
		done
		if [ -n "$_fail_msg" ]; then
			echo "FAIL: $SCRIPT_NAME/${fn#test_}: $_fail_msg${_skip_msg:+ (then skipped: $_skip_msg)}"
			[ -f "$TMP/err" ] && sed 's/^/    ember stderr: /' "$TMP/err" | tail -20
		elif [ -n "$_skip_msg" ]; then
			echo "SKIP: $SCRIPT_NAME/${fn#test_}: $_skip_msg"
		else
			echo "PASS: $SCRIPT_NAME/${fn#test_}"
		fi
		[ -n "${KEEP_TMP-}" ] || rm -rf "$TMP"
	done
	return 0
}
